/*
 * t_data.h - the test data every kvfs test makes and checks, one
 * definition for the unit tests (tests/unit/) and the integration helpers
 * (tests/integration/, through t_util.h).  Header-only, libc only.
 *
 * Two generators, both from splitmix64 (t_mix), fixed because bytes made
 * by one program or run are checked by another:
 *   t_pattern  the `pattern` helper's streams: byte p of stream s (s below
 *              2^32) is byte p % 8 (little-endian) of t_mix(s * 2^32 + p / 8),
 *              so any slice [off, off + len) can be made or checked alone
 *              (cmp against `pattern SEED SIZE` in the scripts).  A stream
 *              runs 32 GiB before it repeats another seed's words, so data
 *              misplaced within a file or taken from another stream shows.
 *   t_fill     a buffer-relative stream for any 64-bit key: the 8 bytes
 *              at i are t_mix(t_mix(key) + i), a tail byte that word's low
 *              byte.  Keys that differ give unrelated bytes.
 * t_hash is the checksum of self-checking files (not cryptographic: it
 * catches torn, short, zeroed and misplaced data, not an adversary).
 */
#ifndef KVFS_T_DATA_H
#define KVFS_T_DATA_H

#include <endian.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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
static inline void t_pattern(void *buf, size_t len, uint64_t seed, uint64_t off)
{
	unsigned char *b = buf;
	size_t i = 0;

	/* The head up to a word boundary of the stream, then whole words,
	 * then the tail: about 5 GB/s. */
	while (i < len && ((off + i) & 7)) {
		uint64_t p = off + i, w = t_pattern_word(seed, p >> 3);

		b[i++] = ((const unsigned char *)&w)[p & 7];
	}
	for (; i + 8 <= len; i += 8) {
		uint64_t w = t_pattern_word(seed, (off + i) >> 3);

		memcpy(b + i, &w, 8);
	}
	if (i < len) {
		uint64_t w = t_pattern_word(seed, (off + i) >> 3);

		memcpy(b + i, &w, len - i);
	}
}

/* Where buf[0, len) first differs from bytes [off, off + len) of pattern
 * stream seed: an index into buf, or len if it does not. */
static inline size_t t_pattern_diff(const void *buf, size_t len, uint64_t seed, uint64_t off)
{
	const unsigned char *b = buf;
	unsigned char want[4096];

	for (size_t done = 0; done < len;) {
		size_t n = len - done < sizeof(want) ? len - done : sizeof(want);

		t_pattern(want, n, seed, off + done);
		if (memcmp(b + done, want, n) != 0)
			for (size_t i = 0; i < n; i++)
				if (b[done + i] != want[i])
					return done + i;
		done += n;
	}
	return len;
}

/* buf[0, len) from key: with base = t_mix(key), the 8 bytes at i are
 * t_mix(base + i), a tail byte at i is t_mix(base + i)'s low byte (host
 * byte order: made and checked within one process). */
static inline void t_fill(void *buf, size_t len, uint64_t key)
{
	unsigned char *b = buf;
	uint64_t base = t_mix(key);
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		uint64_t w = t_mix(base + i);

		memcpy(b + i, &w, 8);
	}
	for (; i < len; i++)
		b[i] = (unsigned char)t_mix(base + i);
}

/* A 64-bit hash of p[0, len). */
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

#endif
