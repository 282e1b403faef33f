/*
 * t_util.h - what the integration helper programs share (pattern, publish,
 * renopen, stress, randops, fsop, gpu_io, gpu_cuda): the test-data
 * generators and their check, a payload hash, errno names, a counting
 * CHECK, and a readdir probe.  Header-only (static inline), libc only, so
 * every program stays one .c file; found by #include "t_util.h" from this
 * directory, with no -I.
 *
 * Two data generators, both from splitmix64 (t_mix), each fixed because
 * files written by one program or run are checked by another:
 *   t_pattern  the `pattern` helper's streams: byte p of stream s is byte
 *              p % 8 (little-endian) of t_mix(s * 2^32 + p / 8), so any
 *              slice [off, off + len) can be regenerated alone (cmp against
 *              `pattern SEED SIZE` in the scripts).
 *   t_fill     a buffer-relative stream: the 8 bytes at i are
 *              t_mix(base + i), a tail byte is t_mix(base + i)'s low byte;
 *              cheap per-buffer data keyed by any 64-bit value.
 * Programs that fork or run threads share nothing here but t_nfail (which
 * each process counts for itself) and t_ename's thread-local buffers.
 */
#ifndef KVFS_T_UTIL_H
#define KVFS_T_UTIL_H

#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* renameat2()'s flags, for a libc whose <stdio.h> lacks them. */
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

/* splitmix64's output function (Steele, Lea, Flood 2014). */
static inline uint64_t t_mix(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ull;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
	return x ^ (x >> 31);
}

/* Word k of pattern stream seed, in file byte order. */
static inline uint64_t t_pattern_word(uint64_t seed, uint64_t k)
{
	return htole64(t_mix((seed << 32) + k));
}

/* buf[0, len) = bytes [off, off + len) of pattern stream seed. */
static inline void t_pattern(unsigned char *buf, size_t len, uint64_t seed, uint64_t off)
{
	size_t i = 0;

	/* The head up to a word boundary of the stream, then whole words,
	 * then the tail: about 5 GB/s. */
	while (i < len && ((off + i) & 7)) {
		uint64_t p = off + i, w = t_pattern_word(seed, p >> 3);

		buf[i++] = ((const unsigned char *)&w)[p & 7];
	}
	for (; i + 8 <= len; i += 8) {
		uint64_t w = t_pattern_word(seed, (off + i) >> 3);

		memcpy(buf + i, &w, 8);
	}
	if (i < len) {
		uint64_t w = t_pattern_word(seed, (off + i) >> 3);

		memcpy(buf + i, &w, len - i);
	}
}

/* Where buf[0, len) first differs from bytes [off, off + len) of pattern
 * stream seed: an index into buf, or len if it does not. */
static inline size_t t_pattern_diff(const unsigned char *buf, size_t len, uint64_t seed,
				    uint64_t off)
{
	unsigned char want[4096];

	for (size_t done = 0; done < len;) {
		size_t n = len - done < sizeof(want) ? len - done : sizeof(want);

		t_pattern(want, n, seed, off + done);
		if (memcmp(buf + done, want, n) != 0)
			for (size_t i = 0; i < n; i++)
				if (buf[done + i] != want[i])
					return done + i;
		done += n;
	}
	return len;
}

/* buf[0, len): the 8 bytes at i are t_mix(base + i), a tail byte at i is
 * t_mix(base + i)'s low byte (host byte order: within one process). */
static inline void t_fill(unsigned char *buf, size_t len, uint64_t base)
{
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		uint64_t w = t_mix(base + i);

		memcpy(buf + i, &w, 8);
	}
	for (; i < len; i++)
		buf[i] = (unsigned char)t_mix(base + i);
}

/* A 64-bit hash of p[0, len) for self-checking files (not cryptographic:
 * it catches torn, short, zeroed and misplaced data, not an adversary). */
static inline uint64_t t_hash(const unsigned char *p, size_t len)
{
	uint64_t h = 0x243F6A8885A308D3ull ^ len;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		uint64_t w;

		memcpy(&w, p + i, 8);
		h = t_mix(h ^ w);
	}
	for (; i < len; i++)
		h = t_mix(h ^ p[i]);
	return h;
}

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
