/*
 * extmap.c - one file's memory-tier data as a sorted array of extents, and
 * the memory tier (arena + allocator) they are carved from.
 *
 * Owns the extent array of each map and the arena units it lists; it takes
 * units from and gives them back to the allocator, and zeroes every byte of
 * a new unit that the caller is not about to overwrite.  It knows nothing of
 * inodes, sizes or the SSD tier: the caller passes the file size where one
 * matters (seek, crc, truncate).
 *
 * Threads and locks: no lock here.  The caller holds the inode's lock,
 * shared for read/iov/seek/crc and exclusive for the rest (extmap.h); the
 * allocator locks itself.
 *
 * Shape of a change: every function that can fail does all of its fallible
 * work (taking units, growing the array) before it changes anything, so on
 * error it gives back what it took and returns with the map as it was.
 */
#include "extmap.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crc32c.h"
#include "log.h"

#define U ((uint64_t)KVFS_ALLOC_UNIT)

/* One past the last mappable byte: off_t's range, rounded down to a unit,
 * so rounding any offset below it up to a unit never overflows. */
#define EXTMAP_MAX_END ((uint64_t)INT64_MAX / U * U)

/* Runs asked of the allocator per call; more calls follow if needed. */
#define EXTMAP_RUNS 16

/* A segment of a walk that lies in a hole. */
#define WALK_HOLE UINT64_MAX

/* What holes in iovecs point at.  Never written.  Not const on purpose: a
 * const array would sit in .rodata and add 1 MiB to every binary, while .bss
 * costs nothing and reads of it map the kernel's shared zero page. */
static char extmap_zero[KVFS_EXTMAP_ZERO_LEN];

_Static_assert(KVFS_ALLOC_UNIT % 512 == 0, "units must suit O_DIRECT alignment");
_Static_assert(KVFS_EXTMAP_ZERO_LEN % KVFS_ALLOC_UNIT == 0,
	       "zero buffer is whole units");
_Static_assert(sizeof(struct kvfs_ext) == 24, "extent lists are copied as arrays");

static uint64_t round_up(uint64_t x)
{
	return (x + U - 1) / U * U;
}

static uint64_t round_down(uint64_t x)
{
	return x / U * U;
}

static uint64_t ext_end(const struct kvfs_ext *e)
{
	return e->foff + e->len;
}

/* Index of the first extent ending after `off` (holding it, or past it). */
static uint32_t ext_find(const struct kvfs_extmap *m, uint64_t off)
{
	uint32_t lo = 0, hi = m->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (ext_end(&m->v[mid]) <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Contiguous in the file and in the arena: the two belong in one extent. */
static int ext_joins(const struct kvfs_ext *a, const struct kvfs_ext *b)
{
	return ext_end(a) == b->foff && a->aoff + a->len == b->aoff;
}

static void ext_give(struct kvfs_mem *mem, uint64_t aoff, uint64_t len)
{
	/* A failure is a double free, already logged by the allocator. */
	(void)kvfs_alloc_give(&mem->alloc, aoff / U, len / U);
}

static int ext_reserve(struct kvfs_extmap *m, uint64_t need)
{
	uint64_t cap = m->cap ? (uint64_t)m->cap * 2 : 4;
	struct kvfs_ext *v;

	if (need <= m->cap)
		return 0;
	if (need > UINT32_MAX)
		return -ENOMEM;
	if (cap < need)
		cap = need;
	if (cap > UINT32_MAX)
		cap = UINT32_MAX;
	v = realloc(m->v, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	m->v = v;
	m->cap = (uint32_t)cap;
	return 0;
}

/* ---- walking a byte range: extent pieces and holes, in file order ---- */

struct walk {
	const struct kvfs_extmap *m;
	uint32_t i;    /* next extent that may intersect [pos, end) */
	uint64_t pos;  /* next file offset to describe */
	uint64_t end;
};

static void walk_init(struct walk *w, const struct kvfs_extmap *m,
		      uint64_t off, uint64_t len)
{
	w->m = m;
	w->i = ext_find(m, off);
	w->pos = off;
	w->end = off > UINT64_MAX - len ? UINT64_MAX : off + len;
}

/* Next piece: 1 with its arena offset (WALK_HOLE in a hole) and length,
 * or 0 when the range is done. */
static int walk_next(struct walk *w, uint64_t *aoff, uint64_t *seg)
{
	const struct kvfs_ext *e = w->i < w->m->n ? &w->m->v[w->i] : NULL;
	uint64_t stop;

	if (w->pos >= w->end)
		return 0;
	if (e && e->foff <= w->pos) {
		stop = ext_end(e);
		*aoff = e->aoff + (w->pos - e->foff);
		w->i++;
	} else {
		stop = e ? e->foff : w->end;
		*aoff = WALK_HOLE;
	}
	if (stop > w->end)
		stop = w->end;
	*seg = stop - w->pos;
	w->pos = stop;
	return 1;
}

/* Zeroes the mapped bytes of [off, off + len); holes are zero already. */
static void zero_range(struct kvfs_extmap *m, struct kvfs_mem *mem,
		       uint64_t off, uint64_t len)
{
	uint64_t aoff, seg;
	struct walk w;

	walk_init(&w, m, off, len);
	while (walk_next(&w, &aoff, &seg))
		if (aoff != WALK_HOLE)
			memset(kvfs_arena_ptr(&mem->arena, aoff), 0, seg);
}

/* ---- the memory tier ---- */

/* Second half of both opens: the allocator over the arena just opened
 * (rc is the arena open's result). */
static int mem_add_alloc(struct kvfs_mem *mem, int rc)
{
	if (rc < 0)
		return rc;
	rc = kvfs_alloc_init(&mem->alloc, mem->arena.size / U);
	if (rc < 0)
		kvfs_arena_close(&mem->arena);
	return rc < 0 ? rc : 0;
}

int kvfs_mem_open(struct kvfs_mem *mem, uint64_t size, unsigned arena_flags)
{
	memset(mem, 0, sizeof(*mem));
	return mem_add_alloc(mem, kvfs_arena_open(&mem->arena, size, arena_flags));
}

int64_t kvfs_mem_take(struct kvfs_mem *mem, uint64_t want, uint64_t near,
		      struct kvfs_run *runs, int max_runs, int *nruns)
{
	int64_t got = kvfs_alloc_take(&mem->alloc, want, near, runs, max_runs, nruns);
	int bad = -1;

	for (int r = 0; got > 0 && r < *nruns && bad < 0; r++)
		if (kvfs_arena_back(&mem->arena, runs[r].start * U, runs[r].len * U) < 0)
			bad = r;
	if (bad < 0)
		return got;
	for (int r = 0; r < *nruns; r++)
		if (r != bad)
			(void)kvfs_alloc_give(&mem->alloc, runs[r].start, runs[r].len);
	*nruns = 0;
	return -ENOSPC;
}

void kvfs_mem_close(struct kvfs_mem *mem)
{
	kvfs_alloc_release(&mem->alloc);
	kvfs_arena_close(&mem->arena);
}

void kvfs_extmap_init(struct kvfs_extmap *m)
{
	memset(m, 0, sizeof(*m));
}

void kvfs_extmap_release(struct kvfs_extmap *m, struct kvfs_mem *mem)
{
	uint32_t i;

	for (i = 0; i < m->n; i++)
		ext_give(mem, m->v[i].aoff, m->v[i].len);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

/* ---- allocation: new extents are gathered apart, then merged in ---- */

/* Extents taken but not yet in the map; a few fit without malloc. */
struct newlist {
	struct kvfs_ext *v;
	uint32_t n, cap;
	struct kvfs_ext inl[8];
};

static void newlist_init(struct newlist *l)
{
	l->v = l->inl;
	l->n = 0;
	l->cap = sizeof(l->inl) / sizeof(l->inl[0]);
}

static void newlist_free(struct newlist *l)
{
	if (l->v != l->inl)
		free(l->v);
}

/* Gives back every unit on the list and frees it. */
static void newlist_undo(struct newlist *l, struct kvfs_mem *mem)
{
	uint32_t i;

	for (i = 0; i < l->n; i++)
		ext_give(mem, l->v[i].aoff, l->v[i].len);
	newlist_free(l);
}

static int newlist_push(struct newlist *l, uint64_t foff, uint64_t aoff, uint64_t len)
{
	struct kvfs_ext e = { foff, aoff, len }, *v;

	if (l->n && ext_joins(&l->v[l->n - 1], &e)) {
		l->v[l->n - 1].len += len;
		return 0;
	}
	if (l->n == l->cap) {
		if (l->cap > UINT32_MAX / 2)
			return -ENOMEM;
		v = malloc(2 * (size_t)l->cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		memcpy(v, l->v, l->n * sizeof(*v));
		newlist_free(l);
		l->v = v;
		l->cap *= 2;
	}
	l->v[l->n++] = e;
	return 0;
}

/*
 * Takes units for the hole [foff, foff + len), preferring arena unit *near
 * (then wherever the allocator's next fit is), and lists them on l.  Leaves
 * *near after the last unit taken.  On error returns -errno; what it took is
 * on l (for newlist_undo) or already given back.
 */
static int fill_hole(struct newlist *l, struct kvfs_mem *mem, uint64_t foff,
		     uint64_t len, uint64_t *near)
{
	struct kvfs_run runs[EXTMAP_RUNS];
	int64_t got;
	int nruns, r, rc;

	while (len) {
		got = kvfs_mem_take(mem, len / U, *near, runs, EXTMAP_RUNS, &nruns);
		if (got < 0)
			return (int)got;
		for (r = 0; r < nruns; r++) {
			rc = newlist_push(l, foff, runs[r].start * U, runs[r].len * U);
			if (rc < 0)
				goto give_rest;
			foff += runs[r].len * U;
			len -= runs[r].len * U;
			*near = runs[r].start + runs[r].len;
		}
	}
	return 0;
give_rest:
	for (; r < nruns; r++)
		(void)kvfs_alloc_give(&mem->alloc, runs[r].start, runs[r].len);
	return rc;
}

/* Zeroes e's bytes outside [s0, s1), the part a write will fill. */
static void zero_new(struct kvfs_mem *mem, const struct kvfs_ext *e,
		     uint64_t s0, uint64_t s1)
{
	char *p = kvfs_arena_ptr(&mem->arena, e->aoff);
	uint64_t c0 = s0 > e->foff ? s0 : e->foff;
	uint64_t c1 = s1 < ext_end(e) ? s1 : ext_end(e);

	if (c0 >= c1) {
		memset(p, 0, e->len);
		return;
	}
	memset(p, 0, c0 - e->foff);
	memset(p + (c1 - e->foff), 0, ext_end(e) - c1);
}

/* Joins joinable neighbours among v[lo..hi] (hi clamped to n - 1). */
static void coalesce(struct kvfs_extmap *m, uint32_t lo, uint32_t hi)
{
	uint32_t w = lo, r;

	if (hi >= m->n)
		hi = m->n - 1;
	for (r = lo + 1; r <= hi; r++) {
		if (ext_joins(&m->v[w], &m->v[r]))
			m->v[w].len += m->v[r].len;
		else
			m->v[++w] = m->v[r];
	}
	if (w == hi)
		return;
	memmove(&m->v[w + 1], &m->v[hi + 1], (m->n - hi - 1) * sizeof(m->v[0]));
	m->n -= hi - w;
}

/*
 * Merges the sorted list l into the map, whose extents v[i0..i1) are the
 * only ones in the range l falls into.  Capacity is reserved already.
 */
static void merge_in(struct kvfs_extmap *m, uint32_t i0, uint32_t i1,
		     const struct newlist *l)
{
	uint32_t k = (i1 - i0) + l->n, w = i0 + k, r = i1, j = l->n;

	memmove(&m->v[w], &m->v[i1], (m->n - i1) * sizeof(m->v[0]));
	while (j > 0) {
		if (r > i0 && m->v[r - 1].foff > l->v[j - 1].foff)
			m->v[--w] = m->v[--r];
		else
			m->v[--w] = l->v[--j];
	}
	for (j = 0; j < l->n; j++)
		m->bytes += l->v[j].len;
	m->n += l->n;
	coalesce(m, i0 ? i0 - 1 : 0, i0 + k);
}

/*
 * Maps every unit of [off, off + len) that is unmapped; new units are zeroed
 * except where they overlap [s0, s1).  The caller checked the range.
 */
static int ext_alloc(struct kvfs_extmap *m, struct kvfs_mem *mem, uint64_t off,
		     uint64_t len, uint64_t s0, uint64_t s1)
{
	uint64_t pos = round_down(off), b = round_up(off + len), near, hole_end;
	uint32_t i0 = ext_find(m, pos), i = i0, j;
	struct newlist l;
	int rc;

	near = i0 ? (m->v[i0 - 1].aoff + m->v[i0 - 1].len) / U : UINT64_MAX;
	newlist_init(&l);
	while (pos < b) {
		if (i < m->n && m->v[i].foff <= pos) {
			pos = ext_end(&m->v[i]);
			near = (m->v[i].aoff + m->v[i].len) / U;
			i++;
			continue;
		}
		hole_end = i < m->n && m->v[i].foff < b ? m->v[i].foff : b;
		rc = fill_hole(&l, mem, pos, hole_end - pos, &near);
		if (rc < 0)
			goto undo;
		pos = hole_end;
	}
	if (l.n == 0)
		return 0;
	rc = ext_reserve(m, (uint64_t)m->n + l.n);
	if (rc < 0)
		goto undo;
	for (j = 0; j < l.n; j++)
		zero_new(mem, &l.v[j], s0, s1);
	merge_in(m, i0, i, &l);
	newlist_free(&l);
	KVFS_DCHECK(kvfs_extmap_check(m) == 0);
	return 0;
undo:
	newlist_undo(&l, mem);
	return rc;
}

int kvfs_extmap_alloc(struct kvfs_extmap *m, struct kvfs_mem *mem,
		      uint64_t off, uint64_t len)
{
	if (off > EXTMAP_MAX_END || len > EXTMAP_MAX_END - off)
		return -EFBIG;
	if (len == 0)
		return 0;
	return ext_alloc(m, mem, off, len, 0, 0);
}

ssize_t kvfs_extmap_write(struct kvfs_extmap *m, struct kvfs_mem *mem,
			  uint64_t off, const void *buf, size_t len)
{
	const char *src = buf;
	uint64_t aoff, seg;
	struct walk w;
	int rc;

	if (len > SSIZE_MAX)
		return -EINVAL;
	if (off > EXTMAP_MAX_END || len > EXTMAP_MAX_END - off)
		return -EFBIG;
	if (len == 0)
		return 0;
	rc = ext_alloc(m, mem, off, len, off, off + len);
	if (rc < 0)
		return rc;
	walk_init(&w, m, off, len);
	while (walk_next(&w, &aoff, &seg)) {
		KVFS_ASSERT(aoff != WALK_HOLE);
		memcpy(kvfs_arena_ptr(&mem->arena, aoff), src, seg);
		src += seg;
	}
	return (ssize_t)len;
}

void kvfs_extmap_read(const struct kvfs_extmap *m, const struct kvfs_mem *mem,
		      uint64_t off, void *buf, size_t len)
{
	char *dst = buf;
	uint64_t aoff, seg;
	struct walk w;

	walk_init(&w, m, off, len);
	while (walk_next(&w, &aoff, &seg)) {
		if (aoff == WALK_HOLE)
			memset(dst, 0, seg);
		else
			memcpy(dst, kvfs_arena_ptr(&mem->arena, aoff), seg);
		dst += seg;
	}
	/* Only if off + len wrapped past 2^64: nothing is mapped up there. */
	memset(dst, 0, len - (size_t)(dst - (char *)buf));
}

int kvfs_extmap_iov(const struct kvfs_extmap *m, const struct kvfs_mem *mem,
		    uint64_t off, size_t len, struct iovec *iov, int max_iov)
{
	uint64_t aoff, seg, c;
	struct walk w;
	int n = 0;

	walk_init(&w, m, off, len);
	while (walk_next(&w, &aoff, &seg)) {
		if (aoff != WALK_HOLE) {
			if (n == max_iov)
				return -E2BIG;
			iov[n].iov_base = kvfs_arena_ptr(&mem->arena, aoff);
			iov[n++].iov_len = seg;
			continue;
		}
		for (; seg; seg -= c) {
			c = seg < KVFS_EXTMAP_ZERO_LEN ? seg : KVFS_EXTMAP_ZERO_LEN;
			if (n == max_iov)
				return -E2BIG;
			iov[n].iov_base = (void *)extmap_zero;
			iov[n++].iov_len = c;
		}
	}
	return n;
}

void kvfs_extmap_walk_init(struct kvfs_extmap_walk *w, const struct kvfs_extmap *m,
			   uint64_t off, uint64_t len)
{
	struct walk in;

	walk_init(&in, m, off, len);
	*w = (struct kvfs_extmap_walk){ in.m, in.i, in.pos, in.end };
}

int kvfs_extmap_walk_next(struct kvfs_extmap_walk *w, uint64_t *aoff, uint64_t *len)
{
	struct walk in = { w->m, w->i, w->pos, w->end };
	int r = walk_next(&in, aoff, len);

	w->i = in.i;
	w->pos = in.pos;
	return r;
}

/* ---- adopting units the caller allocated (the fast path's commit) ---- */

/* Lists the parts of units[0..n) that fall into holes of the map. */
static int adopt_holes(const struct kvfs_extmap *m, const struct kvfs_ext *units,
		       uint32_t n, struct newlist *l)
{
	uint64_t aoff, seg, pos;
	struct walk w;
	uint32_t k;
	int rc;

	for (k = 0; k < n; k++) {
		pos = units[k].foff;
		walk_init(&w, m, units[k].foff, units[k].len);
		while (walk_next(&w, &aoff, &seg)) {
			if (aoff == WALK_HOLE) {
				rc = newlist_push(l, pos, units[k].aoff + (pos - units[k].foff), seg);
				if (rc < 0)
					return rc;
			}
			pos += seg;
		}
	}
	return 0;
}

/* Copies [s0, s1) of the caller's units into the file's units where the
 * file is mapped, and gives those caller units back. */
static void adopt_mapped(const struct kvfs_extmap *m, struct kvfs_mem *mem,
			 const struct kvfs_ext *units, uint32_t n, uint64_t s0,
			 uint64_t s1)
{
	uint64_t aoff, seg, pos, c0, c1, mine;
	struct walk w;
	uint32_t k;

	for (k = 0; k < n; k++) {
		pos = units[k].foff;
		walk_init(&w, m, units[k].foff, units[k].len);
		while (walk_next(&w, &aoff, &seg)) {
			mine = units[k].aoff + (pos - units[k].foff);
			if (aoff != WALK_HOLE) {
				c0 = pos > s0 ? pos : s0;
				c1 = pos + seg < s1 ? pos + seg : s1;
				if (c0 < c1)
					memcpy(kvfs_arena_ptr(&mem->arena, aoff + (c0 - pos)),
					       kvfs_arena_ptr(&mem->arena, mine + (c0 - pos)),
					       c1 - c0);
				ext_give(mem, mine, seg);
			}
			pos += seg;
		}
	}
}

int kvfs_extmap_adopt(struct kvfs_extmap *m, struct kvfs_mem *mem,
		      const struct kvfs_ext *units, uint32_t n, uint64_t s0,
		      uint64_t s1)
{
	uint64_t lo, hi;
	uint32_t i0, i1;
	struct newlist l;
	int rc;

	if (n == 0)
		return 0;
	lo = units[0].foff;
	hi = ext_end(&units[n - 1]);
	newlist_init(&l);
	rc = adopt_holes(m, units, n, &l);
	if (rc == 0)
		rc = ext_reserve(m, (uint64_t)m->n + l.n);
	if (rc < 0) {
		newlist_free(&l);
		return rc;
	}
	/* Nothing can fail from here on. */
	adopt_mapped(m, mem, units, n, s0, s1);
	if (l.n) {
		i0 = ext_find(m, lo);
		i1 = ext_find(m, hi);
		if (i1 < m->n && m->v[i1].foff < hi)
			i1++;
		merge_in(m, i0, i1, &l);
	}
	newlist_free(&l);
	KVFS_DCHECK(kvfs_extmap_check(m) == 0);
	return 0;
}

/* ---- freeing ---- */

/* Frees every unit at or past `cut` (unit-aligned); never splits. */
static void remove_tail(struct kvfs_extmap *m, struct kvfs_mem *mem, uint64_t cut)
{
	uint32_t i = ext_find(m, cut), j;
	struct kvfs_ext *e;

	if (i < m->n && m->v[i].foff < cut) {
		e = &m->v[i++];
		ext_give(mem, e->aoff + (cut - e->foff), ext_end(e) - cut);
		m->bytes -= ext_end(e) - cut;
		e->len = cut - e->foff;
	}
	for (j = i; j < m->n; j++) {
		ext_give(mem, m->v[j].aoff, m->v[j].len);
		m->bytes -= m->v[j].len;
	}
	m->n = i;
}

/* Cuts [a, b) out of the one extent v[i] that covers more on both sides. */
static int split_ext(struct kvfs_extmap *m, struct kvfs_mem *mem, uint32_t i,
		     uint64_t a, uint64_t b)
{
	struct kvfs_ext *e, right;
	int rc;

	rc = ext_reserve(m, (uint64_t)m->n + 1);
	if (rc < 0)
		return rc;
	e = &m->v[i];
	right = (struct kvfs_ext){ b, e->aoff + (b - e->foff), ext_end(e) - b };
	ext_give(mem, e->aoff + (a - e->foff), b - a);
	e->len = a - e->foff;
	memmove(&m->v[i + 2], &m->v[i + 1], (m->n - i - 1) * sizeof(*e));
	m->v[i + 1] = right;
	m->n++;
	m->bytes -= b - a;
	return 0;
}

/* Frees every unit of [a, b) (both unit-aligned, a < b).  0 or -ENOMEM. */
static int remove_mid(struct kvfs_extmap *m, struct kvfs_mem *mem,
		      uint64_t a, uint64_t b)
{
	uint32_t i = ext_find(m, a), j;
	struct kvfs_ext *e;

	if (i == m->n || m->v[i].foff >= b)
		return 0;
	e = &m->v[i];
	if (e->foff < a && ext_end(e) > b)
		return split_ext(m, mem, i, a, b);
	if (e->foff < a) {
		ext_give(mem, e->aoff + (a - e->foff), ext_end(e) - a);
		m->bytes -= ext_end(e) - a;
		e->len = a - e->foff;
		i++;
	}
	for (j = i; j < m->n && ext_end(&m->v[j]) <= b; j++) {
		ext_give(mem, m->v[j].aoff, m->v[j].len);
		m->bytes -= m->v[j].len;
	}
	if (j < m->n && m->v[j].foff < b) {
		e = &m->v[j];
		ext_give(mem, e->aoff, b - e->foff);
		m->bytes -= b - e->foff;
		e->aoff += b - e->foff;
		e->len -= b - e->foff;
		e->foff = b;
	}
	memmove(&m->v[i], &m->v[j], (m->n - j) * sizeof(*e));
	m->n -= j - i;
	return 0;
}

int kvfs_extmap_truncate(struct kvfs_extmap *m, struct kvfs_mem *mem,
			 uint64_t size)
{
	if (size >= EXTMAP_MAX_END)
		return 0;	/* nothing can be mapped at or past it */
	remove_tail(m, mem, round_up(size));
	if (size % U)
		zero_range(m, mem, size, round_up(size) - size);
	KVFS_DCHECK(kvfs_extmap_check(m) == 0);
	return 0;
}

int kvfs_extmap_punch(struct kvfs_extmap *m, struct kvfs_mem *mem,
		      uint64_t off, uint64_t len)
{
	uint64_t end, a, b;
	int rc;

	if (len == 0 || off >= EXTMAP_MAX_END)
		return 0;
	end = len > EXTMAP_MAX_END - off ? EXTMAP_MAX_END : off + len;
	a = round_up(off);
	b = round_down(end);
	if (a >= b) {	/* inside one unit, or straddling one boundary */
		zero_range(m, mem, off, end - off);
		return 0;
	}
	rc = remove_mid(m, mem, a, b);
	if (rc < 0)
		return rc;
	zero_range(m, mem, off, a - off);
	zero_range(m, mem, b, end - b);
	KVFS_DCHECK(kvfs_extmap_check(m) == 0);
	return 0;
}

int64_t kvfs_extmap_seek(const struct kvfs_extmap *m, uint64_t off, int whence,
			 uint64_t size)
{
	uint32_t i;
	uint64_t pos;

	if (whence != SEEK_DATA && whence != SEEK_HOLE)
		return -EINVAL;
	if (off >= size)
		return -ENXIO;
	i = ext_find(m, off);
	if (whence == SEEK_DATA) {
		if (i == m->n)
			return -ENXIO;
		pos = m->v[i].foff > off ? m->v[i].foff : off;
		return pos < size ? (int64_t)pos : -ENXIO;
	}
	for (pos = off; i < m->n && m->v[i].foff <= pos; i++)
		pos = ext_end(&m->v[i]);
	return (int64_t)(pos < size ? pos : size);
}

uint32_t kvfs_extmap_crc_range(const struct kvfs_extmap *m,
			       const struct kvfs_mem *mem, uint32_t crc,
			       uint64_t off, uint64_t len)
{
	uint64_t aoff, seg;
	struct walk w;

	walk_init(&w, m, off, len);
	while (walk_next(&w, &aoff, &seg)) {
		if (aoff == WALK_HOLE)
			crc = kvfs_crc32c_zeros(crc, seg);
		else
			crc = kvfs_crc32c(crc, kvfs_arena_ptr(&mem->arena, aoff), seg);
	}
	return crc;
}

uint32_t kvfs_extmap_crc(const struct kvfs_extmap *m, const struct kvfs_mem *mem,
			 uint64_t size)
{
	return kvfs_extmap_crc_range(m, mem, 0, 0, size);
}

int kvfs_extmap_check(const struct kvfs_extmap *m)
{
	const struct kvfs_ext *e;
	uint64_t bytes = 0;
	uint32_t i = 0;

	if (m->n > m->cap || (m->n && !m->v))
		goto bad;
	for (i = 0; i < m->n; i++) {
		e = &m->v[i];
		if (e->len == 0 || (e->foff | e->aoff | e->len) % U ||
		    e->foff > EXTMAP_MAX_END || e->len > EXTMAP_MAX_END - e->foff ||
		    e->aoff > UINT64_MAX - e->len)
			goto bad;
		if (i && (m->v[i - 1].foff + m->v[i - 1].len > e->foff ||
			  ext_joins(&m->v[i - 1], e)))
			goto bad;
		bytes += e->len;
	}
	if (bytes != m->bytes)
		goto bad;
	return 0;
bad:
	kvfs_err("extmap: inconsistent at extent %u of %u", i, m->n);
	return -EUCLEAN;
}
