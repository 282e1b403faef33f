/*
 * pattern.c - deterministic pseudo-random bytes, fast, for test data.
 *
 *   pattern SEED SIZE [OFFSET]     write bytes [OFFSET, OFFSET+SIZE) of stream SEED
 *
 * SIZE and OFFSET take K, M, G suffixes (powers of 1024).  Byte p of stream s
 * depends only on (s, p), so any slice can be regenerated: the 8-byte word k
 * is splitmix64(s * 2^32 + k) (t_pattern in t_util.h, which the other helpers
 * use to make and check the same bytes).  About 5 GB/s; /dev/urandom is 10x
 * slower.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "t_util.h"

int main(int argc, char **argv)
{
	static unsigned char buf[1 << 20];
	uint64_t seed, size, off = 0, pos;

	if (argc < 3 || t_parse_size(argv[1], &seed) < 0 || t_parse_size(argv[2], &size) < 0 ||
	    (argc > 3 && t_parse_size(argv[3], &off) < 0)) {
		fprintf(stderr, "usage: pattern SEED SIZE [OFFSET]\n");
		return 2;
	}
	for (pos = off; pos < off + size;) {
		size_t n = off + size - pos < sizeof(buf) ? (size_t)(off + size - pos) : sizeof(buf);

		t_pattern(buf, n, seed, pos);
		for (size_t done = 0; done < n;) {
			ssize_t w = write(1, buf + done, n - done);

			if (w < 0) {
				if (errno == EINTR)
					continue;
				fprintf(stderr, "pattern: write: %s\n", strerror(errno));
				return 1;
			}
			done += (size_t)w;
		}
		pos += n;
	}
	return 0;
}
