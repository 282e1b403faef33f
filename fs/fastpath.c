/*
 * fastpath.c - the daemon's side of the GPU fast path: reservations, commits
 * and pins ("leases") of arena extents of an open file (DESIGN.md 4).
 *
 * Owns the leases: each hangs off its inode (ino->leases) and names the
 * handle it belongs to; ino->lock guards the list, the leases and the
 * handle's lease counters (lock order: docs/design.md).  Called from FUSE
 * worker threads through ops.c (kvfs_fastpath_ioctl) and from file.c
 * (release, busy).  Does not include
 * FUSE and does not talk to the kernel: cache invalidation goes through
 * ns->hooks.inval_inode.
 *
 * A reservation, and why it is made this way:
 *   1. RESERVE of [off, end) walks the file's map over the units it covers.
 *      Units the file already has are handed out in place (an overwrite,
 *      visible as the bytes land, as with write(2)).  Holes get new units
 *      from the allocator that are NOT put into the file: they are the
 *      reservation's own ("shadow" units), so no reader can ever see them
 *      before COMMIT, and they need no zeroing except the bytes of the first
 *      and last unit outside [off, end).  Zeroing 256 MiB before a client
 *      overwrites it would halve the fast path's speed.
 *   2. The list of pieces (in place or shadow, in file order) is fixed at
 *      RESERVE, so every continuation reply describes the same units.
 *   3. COMMIT of [a, b) hands the shadow units in it to the file's map
 *      (kvfs_extmap_adopt: taken over where the file still has a hole,
 *      copied where something wrote there since), grows the size to b,
 *      marks the CRC stale (recomputed when the last writer closes, as for
 *      any large overwrite) and asks the kernel to drop its caches.  a and b
 *      must be unit boundaries or the reservation's ends, so that a commit
 *      never covers half of a unit another commit will need.
 *   4. Release (or UNPIN) gives the uncommitted shadow units back and zeroes
 *      in-place bytes past the file's size (units past EOF read as zeros:
 *      extmap.h), so a client that dies before COMMIT publishes nothing.
 * Only callers who could open the arena file themselves may RESERVE, COMMIT
 * or PIN (may_map): committing units one was merely handed would otherwise
 * show another file's old bytes to someone who cannot see the arena.
 * Units a lease lists are never freed under it: truncation, O_TRUNC and hole
 * punching of a leased range fail with EBUSY (kvfs_fastpath_busy).  The SSD
 * tier promotes a file into the arena before RESERVE, COMMIT or PIN lists
 * it (kvfs_file_lock_resident), and demotion skips leased files.
 */
#include "fastpath.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"

#define U ((uint64_t)KVFS_ALLOC_UNIT)

/* Runs asked of the allocator per call while filling a hole. */
#define FP_RUNS 16

enum { PIECE_INPLACE, PIECE_SHADOW, PIECE_DONE };
enum { LEASE_RESERVE, LEASE_PIN };

/* A unit-aligned piece of a reservation, in file order. */
struct piece {
	uint64_t foff, aoff, len;
	int state;
};

struct kvfs_lease {
	struct kvfs_lease *next;    /* on ino->leases */
	struct kvfs_handle *h;      /* owner */
	uint64_t id;                /* unique within h, never 0 */
	int kind;
	uint64_t off, end;          /* the leased bytes */
	/* LEASE_RESERVE: pieces covering [round_down(off), round_up(end)). */
	struct piece *p;
	uint32_t np, cap;
	uint32_t nleft;             /* pieces not yet DONE */
};

static uint64_t round_down(uint64_t x)
{
	return x / U * U;
}

static uint64_t round_up(uint64_t x)
{
	return (x + U - 1) / U * U;
}

static uint64_t piece_end(const struct piece *p)
{
	return p->foff + p->len;
}

/* ---- leases ---- */

static struct kvfs_lease *lease_find(struct kvfs_inode *ino,
				     const struct kvfs_handle *h, uint64_t id)
{
	struct kvfs_lease *l;

	for (l = ino->leases; l; l = l->next)
		if (l->h == h && l->id == id)
			return l;
	return NULL;
}

static struct kvfs_lease *lease_new(struct kvfs_handle *h, int kind,
				    uint64_t off, uint64_t end)
{
	struct kvfs_lease *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->h = h;
	l->kind = kind;
	l->off = off;
	l->end = end;
	return l;
}

static void lease_link(struct kvfs_inode *ino, struct kvfs_lease *l)
{
	l->id = ++l->h->lease_seq;
	l->next = ino->leases;
	ino->leases = l;
	l->h->nleases++;
}

/* Ends a reservation's uncommitted rest: shadow units go back to the
 * allocator, in-place bytes past EOF are zeroed (rule 4 at the top). */
/* In-place bytes below EOF may have been overwritten by the client without
 * a COMMIT (as with write(2), they are visible as they land): the data
 * changed, so the SSD copy is stale and the checksum must be recomputed. */
static void inplace_changed(struct kvfs_inode *ino, const struct kvfs_lease *l,
			    const struct piece *p)
{
	uint64_t a = p->foff > l->off ? p->foff : l->off;
	uint64_t b = piece_end(p) < l->end ? piece_end(p) : l->end;

	if (b > ino->size)
		b = ino->size;
	if (a >= b)
		return;
	kvfs_tier_changed(ino, a, b - a);
	ino->dirty = 1;
	ino->crc_valid = 0;
}

static void reserve_abandon(struct kvfs_ns *ns, struct kvfs_inode *ino,
			    struct kvfs_lease *l)
{
	struct piece *p;
	uint64_t z0, z1;

	for (uint32_t i = 0; i < l->np; i++) {
		p = &l->p[i];
		if (p->state == PIECE_SHADOW) {
			(void)kvfs_alloc_give(&ns->mem->alloc, p->aoff / U, p->len / U);
		} else if (p->state == PIECE_INPLACE) {
			z0 = p->foff > ino->size ? p->foff : ino->size;
			z0 = z0 > l->off ? z0 : l->off;
			z1 = piece_end(p) < l->end ? piece_end(p) : l->end;
			if (z0 < z1)
				memset(kvfs_arena_ptr(&ns->mem->arena, p->aoff + (z0 - p->foff)),
				       0, z1 - z0);
			inplace_changed(ino, l, p);
		}
		p->state = PIECE_DONE;
	}
	l->nleft = 0;
}

/* Unlinks and frees l, abandoning what it still holds. */
static void lease_drop(struct kvfs_ns *ns, struct kvfs_inode *ino,
		       struct kvfs_lease *l)
{
	struct kvfs_lease **pp;

	for (pp = &ino->leases; *pp != l; pp = &(*pp)->next)
		KVFS_ASSERT(*pp);
	*pp = l->next;
	KVFS_ASSERT(l->h->nleases > 0);
	l->h->nleases--;
	if (l->kind == LEASE_RESERVE)
		reserve_abandon(ns, ino, l);
	free(l->p);
	free(l);
}

void kvfs_fastpath_release(struct kvfs_ns *ns, struct kvfs_handle *h)
{
	struct kvfs_inode *ino = h->ino;
	struct kvfs_lease *l, *next;

	if (h->nleases == 0)	/* no ioctl runs on a handle being released */
		return;
	pthread_rwlock_wrlock(&ino->lock);
	for (l = ino->leases; l; l = next) {
		next = l->next;
		if (l->h == h)
			lease_drop(ns, ino, l);
	}
	pthread_rwlock_unlock(&ino->lock);
}

static int overlaps(uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1)
{
	return a0 < b1 && b0 < a1;
}

int kvfs_fastpath_busy(const struct kvfs_inode *ino, uint64_t off, uint64_t len)
{
	uint64_t end = len > UINT64_MAX - off ? UINT64_MAX : off + len;
	const struct kvfs_lease *l;

	for (l = ino->leases; l; l = l->next) {
		if (l->kind == LEASE_PIN) {
			if (overlaps(l->off, l->end, off, end))
				return -EBUSY;
			continue;
		}
		/* Shadow units are not the file's: only in-place ones count. */
		for (uint32_t i = 0; i < l->np; i++)
			if (l->p[i].state == PIECE_INPLACE &&
			    overlaps(l->p[i].foff, piece_end(&l->p[i]), off, end))
				return -EBUSY;
	}
	return 0;
}

/* ---- a reservation's pieces ---- */

/* Room for one more piece.  0 or -ENOMEM. */
static int pieces_grow(struct kvfs_lease *l)
{
	struct piece *p;
	uint32_t cap;

	if (l->np < l->cap)
		return 0;
	if (l->cap > UINT32_MAX / 2)
		return -ENOMEM;
	cap = l->cap ? 2 * l->cap : 8;
	p = realloc(l->p, (size_t)cap * sizeof(*p));
	if (!p)
		return -ENOMEM;
	l->p = p;
	l->cap = cap;
	return 0;
}

/* Appends a piece, joining it to the last one where both are contiguous. */
static int piece_push(struct kvfs_lease *l, uint64_t foff, uint64_t aoff,
		      uint64_t len, int state)
{
	struct piece *p;

	if (l->np) {
		p = &l->p[l->np - 1];
		if (p->state == state && piece_end(p) == foff && p->aoff + p->len == aoff) {
			p->len += len;
			return 0;
		}
	}
	if (pieces_grow(l) < 0)
		return -ENOMEM;
	l->p[l->np++] = (struct piece){ foff, aoff, len, state };
	l->nleft++;
	return 0;
}

/* Takes shadow units for the hole [foff, foff + len), preferring arena unit
 * *near.  On error the units taken so far are on l (as SHADOW pieces). */
static int take_units(struct kvfs_ns *ns, struct kvfs_lease *l, uint64_t foff,
		      uint64_t len, uint64_t *near)
{
	struct kvfs_run runs[FP_RUNS];
	int64_t got;
	int nruns, r, rc = 0;

	while (len) {
		got = kvfs_mem_take(ns->mem, len / U, *near, runs, FP_RUNS, &nruns);
		if (got < 0)
			return (int)got;
		for (r = 0; r < nruns; r++) {
			if (rc == 0)
				rc = piece_push(l, foff, runs[r].start * U, runs[r].len * U,
						PIECE_SHADOW);
			if (rc < 0) {	/* not on the list: give it back here */
				(void)kvfs_alloc_give(&ns->mem->alloc, runs[r].start, runs[r].len);
				continue;
			}
			foff += runs[r].len * U;
			len -= runs[r].len * U;
			*near = runs[r].start + runs[r].len;
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Zeroes the bytes of new (shadow) edge units outside [l->off, l->end):
 * after COMMIT they are file bytes that were never written. */
static void zero_edges(struct kvfs_ns *ns, struct kvfs_lease *l)
{
	const struct piece *first = &l->p[0], *last = &l->p[l->np - 1];
	uint64_t hi = piece_end(last);

	if (first->state == PIECE_SHADOW && l->off > first->foff)
		memset(kvfs_arena_ptr(&ns->mem->arena, first->aoff), 0, l->off - first->foff);
	if (last->state == PIECE_SHADOW && hi > l->end)
		memset(kvfs_arena_ptr(&ns->mem->arena, last->aoff + (l->end - last->foff)),
		       0, hi - l->end);
}

/* Builds a reservation's pieces (rules 1 and 2).  Caller holds ino->lock
 * for writing.  On error everything taken is given back. */
static int reserve_build(struct kvfs_ns *ns, struct kvfs_inode *ino,
			 struct kvfs_lease *l)
{
	uint64_t lo = round_down(l->off), hi = round_up(l->end);
	uint64_t pos = lo, aoff, seg, near = UINT64_MAX;
	struct kvfs_extmap_walk w;
	int rc = 0;

	kvfs_extmap_walk_init(&w, &ino->data, lo, hi - lo);
	while (rc == 0 && kvfs_extmap_walk_next(&w, &aoff, &seg)) {
		if (aoff != KVFS_EXTMAP_HOLE) {
			rc = piece_push(l, pos, aoff, seg, PIECE_INPLACE);
			near = (aoff + seg) / U;
		} else {
			rc = take_units(ns, l, pos, seg, &near);
		}
		pos += seg;
	}
	if (rc < 0) {	/* nothing was handed out: only give the units back */
		for (uint32_t i = 0; i < l->np; i++)
			if (l->p[i].state == PIECE_SHADOW)
				(void)kvfs_alloc_give(&ns->mem->alloc, l->p[i].aoff / U,
						      l->p[i].len / U);
		return rc;
	}
	zero_edges(ns, l);
	return 0;
}

/* Whether another reservation (of any handle) covers a byte of [off, end):
 * one writer per byte at a time, or abandoning one could zero the other's
 * bytes (rule 4). */
static int reserved_by_other(const struct kvfs_inode *ino, uint64_t off, uint64_t end)
{
	const struct kvfs_lease *l;

	for (l = ino->leases; l; l = l->next)
		if (l->kind == LEASE_RESERVE && l->nleft && overlaps(l->off, l->end, off, end))
			return 1;
	return 0;
}

/* Index of the piece holding file offset `off` (inside the pieces). */
static uint32_t piece_find(const struct kvfs_lease *l, uint64_t off)
{
	uint32_t lo = 0, hi = l->np, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (piece_end(&l->p[mid]) <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Splits the piece holding unit-aligned `at` so that a piece starts there. */
static int piece_split(struct kvfs_lease *l, uint64_t at)
{
	uint32_t i = piece_find(l, at);
	struct piece *p;

	if (i == l->np || l->p[i].foff == at)
		return 0;
	if (pieces_grow(l) < 0)
		return -ENOMEM;
	p = &l->p[i];
	memmove(p + 2, p + 1, (l->np - 1 - i) * sizeof(*p));
	p[1] = (struct piece){ at, p->aoff + (at - p->foff), piece_end(p) - at, p->state };
	p->len = at - p->foff;
	l->np++;
	if (p->state != PIECE_DONE)
		l->nleft++;
	return 0;
}

/* ---- replies: extents in file order ---- */

static void emit(struct kvfs_ioc_map *m, uint64_t aoff, uint64_t len)
{
	struct kvfs_ioc_extent *e = m->count ? &m->ext[m->count - 1] : NULL;

	if (e && aoff != KVFS_IOC_HOLE && e->aoff != KVFS_IOC_HOLE &&
	    e->aoff + e->len == aoff) {
		e->len += len;
		return;
	}
	m->ext[m->count].aoff = aoff;
	m->ext[m->count++].len = len;
}

/* Lists a reservation from `start`.  -EINVAL if start lies in a committed
 * piece: its units are the file's now, or free. */
static int list_reserve(const struct kvfs_lease *l, uint64_t start,
			struct kvfs_ioc_map *m)
{
	uint64_t pos = start, n;
	uint32_t i = piece_find(l, start);
	const struct piece *p;

	for (; pos < l->end && m->count < KVFS_IOC_MAP_EXTENTS && i < l->np; i++) {
		p = &l->p[i];
		if (p->state == PIECE_DONE)
			break;
		n = (piece_end(p) < l->end ? piece_end(p) : l->end) - pos;
		emit(m, p->aoff + (pos - p->foff), n);
		pos += n;
	}
	if (pos == start && pos < l->end)
		return -EINVAL;
	m->next = pos;
	return 0;
}

/* Lists a pin from `start`, from the file's map (its units cannot be freed
 * while pinned; holes may fill, which only changes zeros into data). */
static void list_pin(const struct kvfs_inode *ino, const struct kvfs_lease *l,
		     uint64_t start, struct kvfs_ioc_map *m)
{
	struct kvfs_extmap_walk w;
	uint64_t aoff, seg, pos = start;

	kvfs_extmap_walk_init(&w, &ino->data, start, l->end - start);
	while (m->count < KVFS_IOC_MAP_EXTENTS && kvfs_extmap_walk_next(&w, &aoff, &seg)) {
		emit(m, aoff == KVFS_EXTMAP_HOLE ? KVFS_IOC_HOLE : aoff, seg);
		pos += seg;
	}
	m->next = pos;
}

/* ---- the commands (caller of each: do_ioctl, request validated) ---- */

static int can_write(const struct kvfs_handle *h)
{
	return (h->flags & O_ACCMODE) != O_RDONLY;
}

static int can_read(const struct kvfs_handle *h)
{
	return (h->flags & O_ACCMODE) != O_WRONLY;
}

static int range_ok(uint64_t off, uint64_t len)
{
	return len > 0 && off <= KVFS_MAX_FILESIZE && len <= KVFS_MAX_FILESIZE - off;
}

static void do_info(struct kvfs_ns *ns, struct kvfs_handle *h,
		    struct kvfs_ioc_info *r)
{
	const struct kvfs_arena *a = &ns->mem->arena;

	r->arena_id = a->id;
	r->arena_size = a->size;
	r->arena_dev = a->dev;
	r->arena_ino = a->ino;
	r->unit = KVFS_ALLOC_UNIT;
	r->max_extents = KVFS_IOC_MAP_EXTENTS;
	pthread_rwlock_rdlock(&h->ino->lock);
	r->file_size = h->ino->is_dir ? 0 : h->ino->size;
	pthread_rwlock_unlock(&h->ino->lock);
	/* Fits: kvfs_arena_path() names are far shorter (checked at start). */
	strncpy(r->arena_path, a->path, sizeof(r->arena_path) - 1);
}

/* A continuation (KVFS_MAP_MORE) of reservation or pin `kind`. */
static int map_more(struct kvfs_handle *h, int kind, struct kvfs_ioc_map *m)
{
	struct kvfs_inode *ino = h->ino;
	struct kvfs_lease *l;
	int r = 0;

	pthread_rwlock_rdlock(&ino->lock);
	l = lease_find(ino, h, m->lease);
	if (!l || l->kind != kind || m->next < l->off || m->next >= l->end) {
		r = -EINVAL;
	} else {
		m->end = l->end;
		if (kind == LEASE_RESERVE)
			r = list_reserve(l, m->next, m);
		else
			list_pin(ino, l, m->next, m);
	}
	pthread_rwlock_unlock(&ino->lock);
	return r;
}

static int reserve_once(struct kvfs_ns *ns, struct kvfs_handle *h,
		      struct kvfs_ioc_map *m)
{
	struct kvfs_inode *ino = h->ino;
	struct kvfs_lease *l;
	int r;

	if (!can_write(h))
		return -EBADF;
	if (m->flags & KVFS_MAP_MORE)
		return map_more(h, LEASE_RESERVE, m);
	m->lease = 0;
	if (!range_ok(m->off, m->len))
		return -EINVAL;
	if (m->len > ns->mem->arena.size)
		return -ENOSPC;
	l = lease_new(h, LEASE_RESERVE, m->off, m->off + m->len);
	if (!l)
		return -ENOMEM;
	r = kvfs_file_lock_resident(ns, ino);
	if (r) {
		free(l);
		return r;
	}
	if (h->nleases >= KVFS_FP_MAX_LEASES)
		r = -EMFILE;
	else if (reserved_by_other(ino, l->off, l->end))
		r = -EBUSY;
	else
		r = reserve_build(ns, ino, l);
	if (r == 0) {
		lease_link(ino, l);
		m->lease = l->id;
		m->end = l->end;
		r = list_reserve(l, l->off, m);
	}
	pthread_rwlock_unlock(&ino->lock);
	if (r < 0) {
		free(l->p);
		free(l);
	}
	return r;
}

/* A reservation that finds the arena full makes room (demoting or
 * evicting cold files, store.h) and tries again, like a write. */
static int do_reserve(struct kvfs_ns *ns, struct kvfs_handle *h,
		      struct kvfs_ioc_map *m)
{
	int r = reserve_once(ns, h, m);

	for (int tries = 0; r == -ENOSPC && ns->store && tries < 3 &&
	     !(m->flags & KVFS_MAP_MORE) && m->len <= ns->mem->arena.size; tries++) {
		if (kvfs_store_reclaim(ns->store, m->len, h->ino) != 0)
			break;
		r = reserve_once(ns, h, m);
	}
	return r;
}

/* Step 3 of the rules at the top, for pieces [i0, i1) of l: hands the shadow
 * units to the file.  All or nothing. */
static int commit_units(struct kvfs_ns *ns, struct kvfs_inode *ino,
			struct kvfs_lease *l, uint32_t i0, uint32_t i1,
			uint64_t a, uint64_t b)
{
	struct kvfs_ext *u;
	uint32_t i, n = 0;
	int r;

	for (i = i0; i < i1; i++)
		n += l->p[i].state == PIECE_SHADOW;
	if (n == 0)
		return 0;
	u = malloc((size_t)n * sizeof(*u));
	if (!u)
		return -ENOMEM;
	for (n = 0, i = i0; i < i1; i++)
		if (l->p[i].state == PIECE_SHADOW)
			u[n++] = (struct kvfs_ext){ l->p[i].foff, l->p[i].aoff, l->p[i].len };
	r = kvfs_extmap_adopt(&ino->data, ns->mem, u, n, a, b);
	free(u);
	return r;
}

static int do_commit(struct kvfs_ns *ns, struct kvfs_handle *h,
		     struct kvfs_ioc_commit *c)
{
	struct kvfs_inode *ino = h->ino;
	struct kvfs_lease *l;
	uint64_t a = c->off, b;
	uint32_t i, i0, i1;
	int r = -EINVAL;

	if (!can_write(h))
		return -EBADF;
	if (!range_ok(c->off, c->len))
		return -EINVAL;
	b = a + c->len;
	r = kvfs_file_lock_resident(ns, ino);
	if (r)
		return r;
	r = -EINVAL;
	l = lease_find(ino, h, c->lease);
	if (!l || l->kind != LEASE_RESERVE || a < l->off || b > l->end ||
	    (a != l->off && a % U) || (b != l->end && b % U))
		goto out;
	r = piece_split(l, round_down(a));
	if (r == 0)
		r = piece_split(l, round_up(b));
	if (r < 0)
		goto out;
	i0 = piece_find(l, round_down(a));
	i1 = piece_find(l, round_up(b));
	for (i = i0; i < i1; i++)
		if (l->p[i].state == PIECE_DONE)
			r = -EINVAL;	/* committed before */
	if (r == 0)
		r = commit_units(ns, ino, l, i0, i1, a, b);
	if (r < 0)
		goto out;
	for (i = i0; i < i1; i++)
		l->p[i].state = PIECE_DONE;
	l->nleft -= i1 - i0;
	kvfs_tier_changed(ino, a < ino->size ? a : ino->size,
			  b - (a < ino->size ? a : ino->size));
	if (b > ino->size)
		ino->size = b;
	kvfs_now(&ino->mtime);
	ino->ctime = ino->mtime;
	ino->dirty = 1;
	ino->crc_valid = 0;	/* recomputed at the last writer's close */
	c->size = ino->size;
	if (l->nleft == 0)
		lease_drop(ns, ino, l);
out:
	pthread_rwlock_unlock(&ino->lock);
	if (r == 0) {
		atomic_fetch_add(&ns->stats.bytes_written, c->len);
		/* The data and the size changed behind the kernel's back. */
		if (ns->hooks.inval_inode)
			ns->hooks.inval_inode(ns->hooks.arg, ino, a, c->len);
	}
	return r;
}

static int do_pin(struct kvfs_ns *ns, struct kvfs_handle *h,
		  struct kvfs_ioc_map *m)
{
	struct kvfs_inode *ino = h->ino;
	struct kvfs_lease *l;
	struct timespec now;
	int r = 0;

	if (!can_read(h))
		return -EBADF;
	if (m->flags & KVFS_MAP_MORE)
		return map_more(h, LEASE_PIN, m);
	m->lease = 0;
	if (!range_ok(m->off, m->len))
		return -EINVAL;
	l = lease_new(h, LEASE_PIN, m->off, m->off + m->len);
	if (!l)
		return -ENOMEM;
	/* A file the SSD alone holds is promoted into the arena before its
	 * extents are listed (DESIGN.md 4); demotion skips leased files. */
	r = kvfs_file_lock_resident(ns, ino);
	if (r) {
		free(l);
		return r;
	}
	if (l->end > ino->size)
		l->end = ino->size;
	m->next = m->off;
	m->end = m->off;
	if (l->off >= l->end) {		/* at or past EOF: nothing to pin */
		free(l);
		l = NULL;
	} else if (h->nleases >= KVFS_FP_MAX_LEASES) {
		r = -EMFILE;
	} else {
		lease_link(ino, l);
		m->lease = l->id;
		m->end = l->end;
		list_pin(ino, l, l->off, m);
		if (!h->counted_hit && ino->published) {
			h->counted_hit = 1;
			atomic_fetch_add(&ino->hits, 1);
			atomic_fetch_add(&ns->stats.hits, 1);
		}
		kvfs_now(&now);
		atomic_store(&ino->last_access_ns,
			     (int64_t)now.tv_sec * 1000000000 + now.tv_nsec);
		atomic_fetch_add(&ns->stats.bytes_read, l->end - l->off);
	}
	pthread_rwlock_unlock(&ino->lock);
	if (r < 0)
		free(l);
	return r;
}

static int do_unpin(struct kvfs_ns *ns, struct kvfs_handle *h,
		    const struct kvfs_ioc_lease *q)
{
	struct kvfs_inode *ino = h->ino;
	struct kvfs_lease *l;

	pthread_rwlock_wrlock(&ino->lock);
	l = lease_find(ino, h, q->lease);
	if (l)
		lease_drop(ns, ino, l);
	pthread_rwlock_unlock(&ino->lock);
	return l ? 0 : -EINVAL;
}

/* ---- decoding ---- */

union fp_arg {
	struct kvfs_ioc_info info;
	struct kvfs_ioc_map map;
	struct kvfs_ioc_commit commit;
	struct kvfs_ioc_lease lease;
};

static int all_zero(const uint64_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i])
			return 0;
	return 1;
}

/* The size of the command's struct, or 0 for a command that is not ours. */
static size_t cmd_size(unsigned int cmd)
{
	if (_IOC_TYPE(cmd) != KVFS_IOC_TYPE)
		return 0;
	switch (_IOC_NR(cmd)) {
	case _IOC_NR(KVFS_IOC_INFO):
		return sizeof(struct kvfs_ioc_info);
	case _IOC_NR(KVFS_IOC_RESERVE):
	case _IOC_NR(KVFS_IOC_PIN):
		return sizeof(struct kvfs_ioc_map);
	case _IOC_NR(KVFS_IOC_COMMIT):
		return sizeof(struct kvfs_ioc_commit);
	case _IOC_NR(KVFS_IOC_UNPIN):
		return sizeof(struct kvfs_ioc_lease);
	}
	return 0;
}

/* Checks the fields every request has: version, flags, reserved. */
static int check_header(unsigned int cmd, const union fp_arg *a)
{
	uint32_t version = a->info.version, flags = a->info.flags;

	if (version != KVFS_ABI_VERSION)
		return -EINVAL;
	switch (cmd) {
	case KVFS_IOC_INFO:
		return flags == 0 && all_zero(a->info.reserved, 3) ? 0 : -EINVAL;
	case KVFS_IOC_RESERVE:
	case KVFS_IOC_PIN:
		return (flags & ~(uint32_t)KVFS_MAP_MORE) == 0 && a->map.reserved == 0
		       ? 0 : -EINVAL;
	case KVFS_IOC_COMMIT:
		return flags == 0 && all_zero(a->commit.reserved, 3) ? 0 : -EINVAL;
	default:
		return flags == 0 && all_zero(a->lease.reserved, 2) ? 0 : -EINVAL;
	}
}

/*
 * Whether the caller could open the arena file read-write itself.  RESERVE
 * and COMMIT let a caller publish arena units it was merely handed, so a
 * caller who cannot see the arena could otherwise commit units still holding
 * another file's old bytes and read them back; PIN is only useful with the
 * arena mapped.  Follows the file's owner, group and mode as they are now
 * (root, as for open(2), always may).
 */
static int may_map(const struct kvfs_ns *ns, struct kvfs_ctx *ctx)
{
	struct stat st;

	if (ctx->uid == 0)
		return 1;
	if (fstat(ns->mem->arena.fd, &st) != 0)
		return 0;
	if (ctx->uid == st.st_uid)
		return (st.st_mode & 0600) == 0600;
	if (ctx->gid == st.st_gid || kvfs_proc_in_group(ctx->tid, st.st_gid))
		return (st.st_mode & 0060) == 0060;
	return (st.st_mode & 0006) == 0006;
}

ssize_t kvfs_fastpath_ioctl(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
			    struct kvfs_handle *h, unsigned int cmd,
			    const void *in, size_t in_size, void *out,
			    size_t out_size)
{
	size_t size = cmd_size(cmd);
	union fp_arg a;
	int r;

	if (size == 0 || h->ino->ctl)
		return -ENOTTY;
	if (_IOC_DIR(cmd) != (_IOC_READ | _IOC_WRITE) || _IOC_SIZE(cmd) != size ||
	    !in || in_size != size || out_size < size)
		return -EINVAL;
	memcpy(&a, in, size);	/* the kernel's buffer need not be aligned */
	r = check_header(cmd, &a);
	if (r < 0)
		return r;
	if (h->ino->is_dir && cmd != KVFS_IOC_INFO)
		return -EISDIR;
	if (!ns->mem->arena.path)
		return -EOPNOTSUPP;	/* a private memfd arena: nobody can map it */
	if ((cmd == KVFS_IOC_RESERVE || cmd == KVFS_IOC_COMMIT || cmd == KVFS_IOC_PIN) &&
	    !may_map(ns, ctx))
		return -EPERM;
	switch (cmd) {
	case KVFS_IOC_INFO:
		memset(&a.info, 0, sizeof(a.info));
		a.info.version = KVFS_ABI_VERSION;
		do_info(ns, h, &a.info);
		break;
	case KVFS_IOC_RESERVE:
	case KVFS_IOC_PIN:
		a.map.count = 0;
		a.map.arena_id = ns->mem->arena.id;
		r = cmd == KVFS_IOC_RESERVE ? do_reserve(ns, h, &a.map) : do_pin(ns, h, &a.map);
		break;
	case KVFS_IOC_COMMIT:
		r = do_commit(ns, h, &a.commit);
		break;
	default:
		r = do_unpin(ns, h, &a.lease);
		break;
	}
	if (r < 0)
		return r;
	memcpy(out, &a, size);
	return (ssize_t)size;
}
