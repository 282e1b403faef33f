/*
 * alloc.c - bitmap extent allocator (see alloc.h for the contract).
 *
 * Owns the bitmap: one bit per unit, 1 = in use.  The bits of the last word
 * past nunits are kept set, so a scan for a free unit can never return one
 * that does not exist.  Searches are next-fit from `hint` and work on whole
 * 64-bit words (ctz of the word or its complement), so a 6 GiB memory tier
 * (1.5M units, 24K words, 192 KiB of bitmap) is scanned end to end in a few
 * microseconds.
 *
 * Threads: any.  `lock` guards bits, nfree and hint; nunits is constant.
 * It is a leaf of the lock order (docs/design.md, "Lock order").
 * It does not know what the units hold: zeroing is the caller's (extmap.c).
 */
#include "alloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define WORD_BITS 64u

/* Bits [lo, hi) of one word set, 0 <= lo < hi <= 64. */
static uint64_t mask(unsigned lo, unsigned hi)
{
	uint64_t m = hi == WORD_BITS ? ~0ull : (1ull << hi) - 1;

	return m & ~((1ull << lo) - 1);
}

/*
 * First unit in [from, to) whose bit equals `used`, or `to` if none.
 * `from` < `to` <= nunits rounded up to a word.
 */
static uint64_t scan(const uint64_t *bits, uint64_t from, uint64_t to, int used)
{
	uint64_t i = from / WORD_BITS;
	uint64_t w = used ? bits[i] : ~bits[i];
	uint64_t pos;

	w &= ~0ull << (from % WORD_BITS);
	while (!w) {
		if (++i * WORD_BITS >= to)
			return to;
		w = used ? bits[i] : ~bits[i];
	}
	pos = i * WORD_BITS + (uint64_t)__builtin_ctzll(w);
	return pos < to ? pos : to;
}

/* Sets (used != 0) or clears the bits of [start, start + len), len > 0. */
static void set_range(uint64_t *bits, uint64_t start, uint64_t len, int used)
{
	uint64_t end = start + len;
	uint64_t i = start / WORD_BITS, last = (end - 1) / WORD_BITS;

	for (; i <= last; i++) {
		unsigned lo = i == start / WORD_BITS ? start % WORD_BITS : 0;
		unsigned hi = i == last ? (unsigned)((end - 1) % WORD_BITS) + 1 : WORD_BITS;
		uint64_t m = (lo == 0 && hi == WORD_BITS) ? ~0ull : mask(lo, hi);

		if (used)
			bits[i] |= m;
		else
			bits[i] &= ~m;
	}
}

/* 1 if every unit of [start, start + len) is `used`, else 0; len > 0. */
static int range_is(const uint64_t *bits, uint64_t start, uint64_t len, int used)
{
	return scan(bits, start, start + len, !used) == start + len;
}

int kvfs_alloc_init(struct kvfs_alloc *a, uint64_t nunits)
{
	uint64_t nwords = (nunits + WORD_BITS - 1) / WORD_BITS;
	int rc;

	memset(a, 0, sizeof(*a));
	if (nwords > SIZE_MAX / sizeof(uint64_t))
		return -ENOMEM;
	a->bits = calloc(nwords ? nwords : 1, sizeof(uint64_t));
	if (!a->bits)
		return -ENOMEM;
	rc = pthread_mutex_init(&a->lock, NULL);
	if (rc) {
		free(a->bits);
		a->bits = NULL;
		return -rc;
	}
	if (nunits % WORD_BITS)
		a->bits[nwords - 1] = ~mask(0, nunits % WORD_BITS);
	a->nunits = nunits;
	a->nfree = nunits;
	return 0;
}

void kvfs_alloc_release(struct kvfs_alloc *a)
{
	if (!a->bits)
		return;
	pthread_mutex_destroy(&a->lock);
	free(a->bits);
	a->bits = NULL;
	a->nunits = a->nfree = a->hint = 0;
}

/* Takes the free run at `start` up to `want` units; returns its length. */
static uint64_t take_run_at(struct kvfs_alloc *a, uint64_t start, uint64_t want)
{
	uint64_t limit = a->nunits - start < want ? a->nunits : start + want;
	uint64_t end = scan(a->bits, start, limit, 1);

	set_range(a->bits, start, end - start, 1);
	a->nfree -= end - start;
	return end - start;
}

/* Next free unit at or after `from`, wrapping once; nfree > 0. */
static uint64_t next_free(struct kvfs_alloc *a, uint64_t from)
{
	uint64_t u = from < a->nunits ? scan(a->bits, from, a->nunits, 0) : a->nunits;

	if (u == a->nunits)
		u = scan(a->bits, 0, a->nunits, 0);
	return u;
}

int64_t kvfs_alloc_take(struct kvfs_alloc *a, uint64_t want, uint64_t near,
			struct kvfs_run *runs, int max_runs, int *nruns)
{
	uint64_t taken = 0, u, got;
	int n = 0;

	*nruns = 0;
	if (want == 0 || max_runs <= 0)
		return -EINVAL;
	if (want > INT64_MAX)
		want = INT64_MAX;
	pthread_mutex_lock(&a->lock);
	if (a->nfree == 0) {
		pthread_mutex_unlock(&a->lock);
		return -ENOSPC;
	}
	if (near < a->nunits && !(a->bits[near / WORD_BITS] >> (near % WORD_BITS) & 1)) {
		got = take_run_at(a, near, want);
		runs[n++] = (struct kvfs_run){ near, got };
		taken += got;
		a->hint = near + got;
	}
	while (taken < want && n < max_runs && a->nfree) {
		u = next_free(a, a->hint);
		got = take_run_at(a, u, want - taken);
		runs[n++] = (struct kvfs_run){ u, got };
		taken += got;
		a->hint = u + got;
	}
	pthread_mutex_unlock(&a->lock);
	*nruns = n;
	return (int64_t)taken;
}

/*
 * Start of the first free run of `want` units that lies inside [from, to),
 * or UINT64_MAX.  Each step skips a used stretch, then a free one that is
 * too short, a word at a time, so the search is linear in the bitmap.
 */
static uint64_t find_run(const uint64_t *bits, uint64_t from, uint64_t to,
			 uint64_t want)
{
	uint64_t u = from, end;

	while (u < to && to - u >= want) {
		u = scan(bits, u, to, 0);
		if (u == to || to - u < want)
			break;
		end = scan(bits, u, u + want, 1);
		if (end == u + want)
			return u;
		u = end;
	}
	return UINT64_MAX;
}

int kvfs_alloc_take_run(struct kvfs_alloc *a, uint64_t want, uint64_t near,
			uint64_t *start)
{
	uint64_t u = UINT64_MAX, hint;

	if (want == 0)
		return -EINVAL;
	if (want > a->nunits)
		return -ENOSPC;
	pthread_mutex_lock(&a->lock);
	hint = a->hint < a->nunits ? a->hint : 0;
	if (a->nfree >= want) {
		if (near < a->nunits && want <= a->nunits - near &&
		    range_is(a->bits, near, want, 0))
			u = near;
		if (u == UINT64_MAX)
			u = find_run(a->bits, hint, a->nunits, want);
		/* Wrapped: runs that start before the hint may end past it. */
		if (u == UINT64_MAX && hint > 0)
			u = find_run(a->bits, 0, hint + want - 1 < a->nunits ?
				     hint + want - 1 : a->nunits, want);
	}
	if (u != UINT64_MAX) {
		set_range(a->bits, u, want, 1);
		a->nfree -= want;
		a->hint = u + want;
		*start = u;
	}
	pthread_mutex_unlock(&a->lock);
	return u == UINT64_MAX ? -ENOSPC : 0;
}

int kvfs_alloc_take_at(struct kvfs_alloc *a, uint64_t start, uint64_t len)
{
	int rc = 0;

	if (len == 0 || start > a->nunits || len > a->nunits - start)
		return -EINVAL;
	pthread_mutex_lock(&a->lock);
	if (range_is(a->bits, start, len, 0)) {
		set_range(a->bits, start, len, 1);
		a->nfree -= len;
	} else {
		rc = -EBUSY;
	}
	pthread_mutex_unlock(&a->lock);
	return rc;
}

int64_t kvfs_alloc_take_free(struct kvfs_alloc *a, uint64_t start, uint64_t len)
{
	int64_t n = 0;

	if (start > a->nunits || len > a->nunits - start)
		return -EINVAL;
	pthread_mutex_lock(&a->lock);
	for (uint64_t u = start; u < start + len; u++) {
		if (a->bits[u / 64] >> (u % 64) & 1)
			continue;
		a->bits[u / 64] |= 1ull << (u % 64);
		n++;
	}
	a->nfree -= (uint64_t)n;
	pthread_mutex_unlock(&a->lock);
	return n;
}

int kvfs_alloc_give(struct kvfs_alloc *a, uint64_t start, uint64_t len)
{
	int rc = 0;

	if (len == 0 || start > a->nunits || len > a->nunits - start) {
		kvfs_err("alloc: give of units [%llu, +%llu) outside [0, %llu)",
			 (unsigned long long)start, (unsigned long long)len,
			 (unsigned long long)a->nunits);
		return -EINVAL;
	}
	pthread_mutex_lock(&a->lock);
	if (range_is(a->bits, start, len, 1)) {
		set_range(a->bits, start, len, 0);
		a->nfree += len;
	} else {
		rc = -EINVAL;
	}
	pthread_mutex_unlock(&a->lock);
	if (rc)
		kvfs_err("alloc: double free of units [%llu, +%llu): some already free",
			 (unsigned long long)start, (unsigned long long)len);
	return rc;
}

uint64_t kvfs_alloc_free_units(struct kvfs_alloc *a)
{
	uint64_t n;

	pthread_mutex_lock(&a->lock);
	n = a->nfree;
	pthread_mutex_unlock(&a->lock);
	return n;
}

int kvfs_alloc_check(struct kvfs_alloc *a)
{
	uint64_t nwords = (a->nunits + WORD_BITS - 1) / WORD_BITS;
	uint64_t used = 0, i;
	int rc = 0;

	pthread_mutex_lock(&a->lock);
	for (i = 0; i < nwords; i++)
		used += (uint64_t)__builtin_popcountll(a->bits[i]);
	if (a->nunits % WORD_BITS) {
		uint64_t pad = ~mask(0, a->nunits % WORD_BITS);

		if ((a->bits[nwords - 1] & pad) != pad)
			rc = -EUCLEAN;
		used -= WORD_BITS - a->nunits % WORD_BITS;
	}
	if (used > a->nunits || a->nfree != a->nunits - used || a->hint > a->nunits)
		rc = -EUCLEAN;
	pthread_mutex_unlock(&a->lock);
	if (rc)
		kvfs_err("alloc: bitmap inconsistent (nfree %llu, counted free %llu)",
			 (unsigned long long)a->nfree,
			 (unsigned long long)(a->nunits - used));
	return rc;
}
