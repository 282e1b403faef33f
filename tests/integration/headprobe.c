/*
 * headprobe.c - ds4-server's header access, for the integration scripts.
 *
 *   headprobe read PATH       fopen "rb", fread 48 + 4 bytes, fclose; prints
 *                             the 52 bytes in hex
 *   headprobe rewrite PATH N  N header rewrites as ds4 does on a hit: fopen
 *                             "r+b", fread 52, fseek, fwrite 48, fclose; the
 *                             i-th at offset i * (size / N) rounded down to
 *                             4 KiB, with 48 bytes that differ per i
 *
 * glibc's stdio, with its own buffer: what the engine does, not a raw read.
 * Exit 0 on success, 1 with a message on a failed call, 2 on misuse.
 * Self-contained: libc only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int fail(const char *what, const char *path)
{
	fprintf(stderr, "headprobe: %s %s: %s\n", what, path, strerror(errno));
	return 1;
}

static int probe(const char *path)
{
	unsigned char hdr[52];
	FILE *f = fopen(path, "rb");

	if (!f)
		return fail("fopen", path);
	if (fread(hdr, 1, 48, f) != 48 || fread(hdr + 48, 1, 4, f) != 4) {
		fclose(f);
		errno = EIO;
		return fail("fread (short)", path);
	}
	fclose(f);
	for (int i = 0; i < 52; i++)
		printf("%02x", hdr[i]);
	printf("\n");
	return 0;
}

static int rewrite(const char *path, long n)
{
	unsigned char hdr[52];
	struct stat st;

	if (stat(path, &st) < 0)
		return fail("stat", path);
	for (long i = 0; i < n; i++) {
		long off = (long)((st.st_size / n * i) & ~4095L);
		FILE *f = fopen(path, "r+b");

		if (!f)
			return fail("fopen r+b", path);
		if (fseek(f, off, SEEK_SET) != 0 || fread(hdr, 1, 52, f) != 52 ||
		    fseek(f, off, SEEK_SET) != 0) {
			fclose(f);
			return fail("fread", path);
		}
		for (int k = 0; k < 48; k++)
			hdr[k] = (unsigned char)(hdr[k] ^ (i * 31 + k + 1));
		if (fwrite(hdr, 1, 48, f) != 48 || fclose(f) != 0)
			return fail("fwrite/fclose", path);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "read") == 0)
		return probe(argv[2]);
	if (argc == 4 && strcmp(argv[1], "rewrite") == 0 && atol(argv[3]) > 0)
		return rewrite(argv[2], atol(argv[3]));
	fprintf(stderr, "usage: headprobe read PATH | headprobe rewrite PATH N\n");
	return 2;
}
