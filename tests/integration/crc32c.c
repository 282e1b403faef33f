/*
 * crc32c.c - print the CRC-32C (Castagnoli) of files, as user.kvfs.crc32c does.
 *
 *   crc32c FILE...        one line per file: 8 lowercase hex digits
 *   crc32c -              standard input
 *
 * An implementation independent of the daemon's (fs/crc32c.c), so that the
 * tests check kvfs against the definition: reflected polynomial 0x82F63B78,
 * init ~0, final xor ~0; crc32c("123456789") == e3069283 (checked at start).
 * Slice-by-8 tables: about 2 GB/s, enough for the 1 GiB in-place test.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint32_t tab[8][256];

static void init_tables(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		tab[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			tab[t][i] = (tab[t - 1][i] >> 8) ^ tab[0][tab[t - 1][i] & 0xff];
}

/* Raw update: no inversion (the caller inverts at start and end). */
static uint32_t crc_update(uint32_t c, const unsigned char *p, size_t n)
{
	while (n && ((uintptr_t)p & 7)) {
		c = (c >> 8) ^ tab[0][(c ^ *p++) & 0xff];
		n--;
	}
	while (n >= 8) {
		uint32_t lo, hi;

		memcpy(&lo, p, 4);
		memcpy(&hi, p + 4, 4);
		lo ^= c;	/* little-endian hosts; see the check in main() */
		c = tab[7][lo & 0xff] ^ tab[6][(lo >> 8) & 0xff] ^
		    tab[5][(lo >> 16) & 0xff] ^ tab[4][lo >> 24] ^
		    tab[3][hi & 0xff] ^ tab[2][(hi >> 8) & 0xff] ^
		    tab[1][(hi >> 16) & 0xff] ^ tab[0][hi >> 24];
		p += 8;
		n -= 8;
	}
	while (n--)
		c = (c >> 8) ^ tab[0][(c ^ *p++) & 0xff];
	return c;
}

static int crc_fd(int fd, uint32_t *out)
{
	static unsigned char buf[1 << 20];
	uint32_t c = ~0u;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c = crc_update(c, buf, (size_t)n);
	}
	*out = ~c;
	return 0;
}

int main(int argc, char **argv)
{
	int rc = 0;

	init_tables();
	if (~crc_update(~0u, (const unsigned char *)"123456789", 9) != 0xE3069283u) {
		fprintf(stderr, "crc32c: self-test failed (big-endian host?)\n");
		return 2;
	}
	if (argc < 2) {
		fprintf(stderr, "usage: crc32c FILE... (- for standard input)\n");
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		int fd = strcmp(argv[i], "-") == 0 ? 0 : open(argv[i], O_RDONLY);
		uint32_t c = 0;
		int err;

		if (fd < 0) {
			fprintf(stderr, "crc32c: %s: %s\n", argv[i], strerror(errno));
			rc = 1;
			continue;
		}
		err = crc_fd(fd, &c);
		if (fd)
			close(fd);
		if (err) {
			fprintf(stderr, "crc32c: %s: %s\n", argv[i], strerror(-err));
			rc = 1;
			continue;
		}
		printf("%08x\n", c);
	}
	return rc;
}
