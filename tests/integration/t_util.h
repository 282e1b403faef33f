/*
 * t_util.h - what the integration helper programs share (pattern, publish,
 * renopen, stress, randops, fsop, gpu_io, gpu_ioctl, gpu_cuda): the test
 * data of ../t_data.h, self-checking files, errno names, a counting
 * T_CHECK, a readdir probe and size arguments.  Header-only (static
 * inline), libc only, so every program stays one .c file; found by
 * #include "t_util.h" from this directory, with no -I.
 *
 * Programs that fork or run threads share nothing here but t_nfail (which
 * each process counts for itself) and t_ename's thread-local buffers.
 */
#ifndef KVFS_T_UTIL_H
#define KVFS_T_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../t_data.h"

/* renameat2()'s flags, for a libc whose <stdio.h> lacks them. */
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

/*
 * Self-checking files (publish, stress): a T_SELF_HDR-byte header of words
 * (magic, file id, round, total size, seed, payload hash, then zeros) and a
 * payload, pattern stream seed.  A reader that sees a torn, short, zeroed,
 * stale or misplaced file finds a bad magic, another id, a size mismatch or
 * a bad hash; the round lets it check that versions never go backwards.
 * Writer and reader are one program on one host: host byte order.
 */
#define T_SELF_HDR 64
#define T_SELF_MAGIC 0x5453455453465653ull	/* "SVFSTEST" little-endian */

/* buf[0, size) (size >= T_SELF_HDR): file id's version round. */
static inline void t_self_make(unsigned char *buf, size_t size, uint64_t id, uint64_t round,
			       uint64_t seed)
{
	uint64_t h[6] = { T_SELF_MAGIC, id, round, size, seed, 0 };

	t_pattern(buf + T_SELF_HDR, size - T_SELF_HDR, seed, 0);
	h[5] = t_hash(buf + T_SELF_HDR, size - T_SELF_HDR);
	memset(buf, 0, T_SELF_HDR);
	memcpy(buf, h, sizeof(h));
}

/* NULL if buf[0, len) is a complete version of file id (its round in
 * *round), else why not. */
static inline const char *t_self_check(const unsigned char *buf, size_t len, uint64_t id,
				       uint64_t *round)
{
	uint64_t h[6];

	if (len < T_SELF_HDR)
		return "shorter than its header";
	memcpy(h, buf, sizeof(h));
	if (h[0] != T_SELF_MAGIC)
		return "bad magic (torn or zero-filled header)";
	if (h[1] != id)
		return "header names another file";
	if (h[3] != len)
		return "size differs from the size in its header (short or partial file)";
	if (h[5] != t_hash(buf + T_SELF_HDR, len - T_SELF_HDR))
		return "payload hash mismatch";
	*round = h[2];
	return NULL;
}

/* "OK" for 0, else the errno's name ("ENOENT"), or "E<n>" for a number
 * libc cannot name.  Four buffers per thread: up to four calls may stand
 * in one printf. */
static inline const char *t_ename(int err)
{
	static __thread char buf[4][16];
	static __thread unsigned k;
	const char *n;

	if (err == 0)
		return "OK";
	n = strerrorname_np(err);
	if (n)
		return n;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "E%d", err);
	return buf[k];
}

/*
 * T_CHECK(cond, fmt, ...): a failed check prints "FAIL: <what>" and counts
 * in t_nfail (exit 1 if any); the program goes on.  With t_check_say_ok
 * set, a passing one prints "ok: <what>".  A macro, so the message's
 * arguments (errno, say) are read only after cond ran.  Output is flushed:
 * the programs fork.
 */
static int t_nfail __attribute__((unused));
static int t_check_say_ok __attribute__((unused));

#define T_CHECK(cond, ...)                                       \
	do {                                                     \
		if (!(cond)) {                                   \
			printf("FAIL: " __VA_ARGS__);            \
			printf("\n");                            \
			t_nfail++;                               \
		} else if (t_check_say_ok) {                     \
			printf("ok: " __VA_ARGS__);              \
			printf("\n");                            \
		}                                                \
		fflush(stdout);                                  \
	} while (0)

/* 1 if dir lists name, 0 if not, -errno if dir cannot be read. */
static inline int t_listed(const char *dir, const char *name)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int found = 0;

	if (!d)
		return -errno;
	errno = 0;
	while ((de = readdir(d)))
		found |= strcmp(de->d_name, name) == 0;
	if (errno && !found) {
		int err = -errno;

		closedir(d);
		return err;
	}
	closedir(d);
	return found;
}

/* "4096", "0x10", "64K", "1M", "2G" (powers of 1024) into *out; 0, or -1
 * for anything else. */
static inline int t_parse_size(const char *s, uint64_t *out)
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

#endif
