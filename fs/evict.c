/*
 * evict.c - making room: the mechanism that frees memory and SSD space.
 * Which files go first is policy.c's business; this file gathers the
 * candidates, asks the policy for an order, and frees.
 *
 * Three ways to free, cheapest first:
 *   demote       drop the memory of a file the SSD holds current, all but
 *                its head (BOTH -> SSD in tier.h's state machine): no I/O;
 *   flush cold   write cold files only memory holds to the SSD, so they
 *                can be demoted (write_policy=back, or a flusher behind);
 *   evict        take cold files out of the namespace (DESIGN.md 3.6),
 *                leaf-first, never pinned ones: memory-only mode frees
 *                their memory, and a full SSD frees their runs.
 *
 * Threads: FUSE workers (a write or promotion that found memory full) and
 * the flusher (SSD full; the memory watermark).  Nothing here is called
 * with a lock held.  Victims are locked with trylock, so a file busy in a
 * read or write is skipped rather than waited for.  mem_room and ssd_room
 * serialize reclaimers of each kind: a second one waits, then finds the
 * room already made.  Both come before ns->lock (docs/design.md, "Lock
 * order").
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "index.h"
#include "log.h"
#include "ns.h"
#include "policy.h"
#include "ssd.h"
#include "store.h"

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

static uint64_t mem_free(struct kvfs_store *st)
{
	return kvfs_mem_free(st->ns->mem);
}

/* Slack added to every request, so that one reclaim serves many writes:
 * 1/32 of the tier. */
static uint64_t slack(uint64_t capacity)
{
	return capacity / 32;
}

/* A policy candidate for ino (caller holds ns->lock and ino->lock). */
static void cand_fill(struct kvfs_policy_cand *c, struct kvfs_inode *ino,
		      uint64_t bytes)
{
	memset(c, 0, sizeof(*c));
	c->obj = ino;
	c->dir = ino->parent ? ino->parent->id : 0;
	c->name = ino->name;
	c->parent = ino->kv_parent;
	c->hits = atomic_load(&ino->hits);
	c->last_access_ns = atomic_load(&ino->last_access_ns);
	c->mtime_ns = ts_ns(&ino->mtime);
	c->bytes = bytes;
	c->pinned = ino->pinned;
}

struct cands {
	struct kvfs_policy_cand *v;
	size_t n, cap;
};

static struct kvfs_policy_cand *cands_add(struct cands *cs)
{
	if (cs->n == cs->cap) {
		size_t cap = cs->cap ? 2 * cs->cap : 256;
		struct kvfs_policy_cand *v = realloc(cs->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		cs->v = v;
		cs->cap = cap;
	}
	return &cs->v[cs->n++];
}

/* Demotion and flushing order by score alone (no names involved). */
struct scored {
	struct kvfs_inode *ino;
	double score;
	uint64_t bytes;
};

struct scored_list {
	struct scored *v;
	size_t n, cap;
};

static void scored_add(struct scored_list *l, struct kvfs_store *st,
		       struct kvfs_inode *ino, uint64_t bytes, int64_t now)
{
	struct kvfs_policy_cand c;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 256;
		struct scored *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return; /* fewer candidates: still correct */
		l->v = v;
		l->cap = cap;
	}
	cand_fill(&c, ino, bytes);
	l->v[l->n++] = (struct scored){ ino, kvfs_policy_score(st->evict_policy, &c, now),
					bytes };
}

static int cmp_score(const void *a, const void *b)
{
	double x = ((const struct scored *)a)->score;
	double y = ((const struct scored *)b)->score;

	return x < y ? -1 : x > y;
}

/* ---- demotion ---- */

/* Drops ino's memory but its head if it is BOTH.  Caller
 * holds ino->lock for writing.  Returns the bytes freed. */
static uint64_t demote_one(struct kvfs_store *st, struct kvfs_inode *ino)
{
	uint64_t before = ino->data.bytes, end;
	int r;

	/* A bound file must stay whole: the kernel reads its backing file
	 * directly (file.c, "Passthrough"). */
	if (!ino->t.resident || !kvfs_inode_stored(ino) || ino->size <= KVFS_HEAD ||
	    ino->npassthrough)
		return 0;
	end = ino->size;
	r = kvfs_data_drop_tail(&ino->data, st->ns->mem, KVFS_HEAD, end);
	if (r < 0)
		return 0;
	kvfs_tier_demoted(st, ino, r == 0);
	/* st_blocks changed: drop the kernel's copy. */
	if (st->ns->hooks.inval_inode)
		st->ns->hooks.inval_inode(st->ns->hooks.arg, ino, (uint64_t)-1, 0);
	atomic_fetch_add(&st->stats.demotions, 1);
	atomic_fetch_add(&st->stats.demoted_bytes, before - ino->data.bytes);
	KVFS_DCHECK(kvfs_inode_check(ino) == 0); /* BOTH -> SSD */
	return before - ino->data.bytes;
}

/* Demotes the coldest BOTH files until `want` bytes are free.  Returns
 * the bytes freed. */
static uint64_t demote(struct kvfs_store *st, uint64_t want,
		       struct kvfs_inode *except)
{
	struct scored_list cs = { 0 };
	int64_t now = now_ns();
	uint64_t freed = 0;

	pthread_rwlock_rdlock(&st->ns->lock);
	for (struct kvfs_inode *ino = st->ns->files; ino; ino = ino->fnext) {
		if (ino == except || ino->ctl || !ino->published ||
		    pthread_rwlock_tryrdlock(&ino->lock) != 0)
			continue;
		if (ino->t.resident && kvfs_inode_stored(ino) && ino->size > KVFS_HEAD)
			scored_add(&cs, st, ino, ino->data.bytes, now);
		pthread_rwlock_unlock(&ino->lock);
	}
	if (cs.n)  /* cs.v is NULL without candidates: qsort's base may not be */
		qsort(cs.v, cs.n, sizeof(*cs.v), cmp_score);
	for (size_t i = 0; i < cs.n && mem_free(st) < want; i++) {
		struct kvfs_inode *ino = cs.v[i].ino;

		if (pthread_rwlock_trywrlock(&ino->lock) != 0)
			continue;
		freed += demote_one(st, ino);
		pthread_rwlock_unlock(&ino->lock);
	}
	pthread_rwlock_unlock(&st->ns->lock);
	free(cs.v);
	return freed;
}

/* ---- flushing cold files ---- */

/* Writes the coldest files only memory holds (not open for writing) to
 * the SSD, about `want` bytes of them, so they can be demoted. */
static void flush_cold(struct kvfs_store *st, uint64_t want,
		       struct kvfs_inode *except)
{
	struct scored_list cs = { 0 };
	struct kvfs_inode **v;
	int64_t now = now_ns();
	uint64_t sum = 0;
	size_t n = 0;

	pthread_rwlock_wrlock(&st->ns->lock);
	for (struct kvfs_inode *ino = st->ns->files; ino; ino = ino->fnext) {
		if (ino == except || ino->ctl || !ino->published || ino->nlink == 0 ||
		    ino->nwriters || pthread_rwlock_tryrdlock(&ino->lock) != 0)
			continue;
		/* Files whose last flush failed are tried again: the SSD
		 * may have room (or work) by now. */
		if (ino->t.resident && !kvfs_inode_stored(ino))
			scored_add(&cs, st, ino, ino->data.bytes, now);
		pthread_rwlock_unlock(&ino->lock);
	}
	if (cs.n)  /* cs.v is NULL without candidates: qsort's base may not be */
		qsort(cs.v, cs.n, sizeof(*cs.v), cmp_score);
	v = malloc((cs.n ? cs.n : 1) * sizeof(*v));
	for (size_t i = 0; v && i < cs.n && sum < want; i++) {
		v[n] = cs.v[i].ino;
		v[n]->nopen++; /* keeps it alive while ns->lock is not held */
		sum += cs.v[i].bytes;
		n++;
	}
	pthread_rwlock_unlock(&st->ns->lock);
	free(cs.v);
	for (size_t i = 0; i < n; i += 64)
		kvfs_store_flush_files(st, v + i, n - i < 64 ? (int)(n - i) : 64);
	pthread_rwlock_wrlock(&st->ns->lock);
	for (size_t i = 0; i < n; i++)
		kvfs_ns_put_open(st->ns, v[i]);
	pthread_rwlock_unlock(&st->ns->lock);
	free(v);
}

/* ---- eviction from the namespace ---- */

/* (directory, name) pairs that a file which cannot go now names as its
 * parent: those parents must stay (leaf-first). */
struct name_set {
	struct { uint64_t dir; const char *name; } *v;
	size_t cap; /* power of two, or 0 */
};

static uint64_t name_hash(uint64_t dir, const char *s)
{
	uint64_t h = 1469598103934665603ull ^ dir;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

static void set_add(struct name_set *ns, uint64_t dir, const char *name)
{
	size_t j;

	if (!ns->cap)
		return;
	for (j = name_hash(dir, name) & (ns->cap - 1); ns->v[j].name;
	     j = (j + 1) & (ns->cap - 1))
		if (ns->v[j].dir == dir && !strcmp(ns->v[j].name, name))
			return;
	ns->v[j].dir = dir;
	ns->v[j].name = name;
}

static int set_has(const struct name_set *ns, uint64_t dir, const char *name)
{
	if (!ns->cap)
		return 0;
	for (size_t j = name_hash(dir, name) & (ns->cap - 1); ns->v[j].name;
	     j = (j + 1) & (ns->cap - 1))
		if (ns->v[j].dir == dir && !strcmp(ns->v[j].name, name))
			return 1;
	return 0;
}

/* What evicting ino frees now in the tier (0: nothing, not a candidate).
 * Caller holds ns->lock and ino->lock. */
static uint64_t evict_gain(const struct kvfs_inode *ino, int ssd)
{
	if (kvfs_inode_users(ino) || !ino->published || ino->nlink == 0 || !ino->parent ||
	    ino->ctl || ino->pinned)
		return 0;
	return ssd ? kvfs_tier_ssd_bytes(&ino->t) : ino->data.bytes;
}

/* Gathers the candidates; files that stay mark their parents in keep. */
static int gather(struct kvfs_store *st, int ssd, struct kvfs_inode *except,
		  struct cands *cs, struct name_set *keep)
{
	size_t nfiles = 0;

	for (struct kvfs_inode *ino = st->ns->files; ino; ino = ino->fnext)
		nfiles++;
	keep->cap = 16;
	while (keep->cap < 2 * nfiles)
		keep->cap *= 2;
	keep->v = calloc(keep->cap, sizeof(*keep->v));
	if (!keep->v)
		return -ENOMEM;
	for (struct kvfs_inode *ino = st->ns->files; ino; ino = ino->fnext) {
		struct kvfs_policy_cand *c;
		uint64_t gain;

		pthread_rwlock_rdlock(&ino->lock);
		gain = ino == except ? 0 : evict_gain(ino, ssd);
		if (gain && (c = cands_add(cs)) != NULL)
			cand_fill(c, ino, gain);
		else if (ino->kv_parent && ino->parent && ino->nlink)
			set_add(keep, ino->parent->id, ino->kv_parent);
		pthread_rwlock_unlock(&ino->lock);
	}
	return 0;
}

/* Evicts the coldest candidates, leaf-first, until enough is free or
 * nothing is left.  Returns the bytes the evictions freed (SSD runs come
 * back once the index has committed the deletions). */
static uint64_t evict_names(struct kvfs_store *st, int ssd, uint64_t want,
			    struct kvfs_inode *except)
{
	struct cands cs = { 0 };
	struct name_set keep = { 0 };
	uint64_t freed = 0;
	ssize_t n = 0;
	size_t k = 0;

	pthread_rwlock_wrlock(&st->ns->lock);
	if (gather(st, ssd, except, &cs, &keep) == 0) {
		/* A candidate some staying file names as its parent stays. */
		for (size_t i = 0; i < cs.n; i++) {
			struct kvfs_policy_cand *c = &cs.v[i];

			if (!set_has(&keep, c->dir, c->name))
				cs.v[k++] = *c;
		}
		n = kvfs_policy_order(st->evict_policy, cs.v, k, now_ns());
	}
	for (ssize_t i = 0; i < n && freed < want; i++) {
		struct kvfs_inode *ino = cs.v[i].obj;

		if (kvfs_ns_evict_locked(st->ns, ino) != 0)
			continue;
		freed += cs.v[i].bytes;
		atomic_fetch_add(ssd ? &st->stats.ssd_evictions : &st->stats.mem_evictions, 1);
		atomic_fetch_add(ssd ? &st->stats.ssd_evicted_bytes :
				 &st->stats.mem_evicted_bytes, cs.v[i].bytes);
	}
	pthread_rwlock_unlock(&st->ns->lock);
	free(keep.v);
	free(cs.v);
	return freed;
}

/* ---- entry points ---- */

int kvfs_store_reclaim(struct kvfs_store *st, uint64_t want,
		       struct kvfs_inode *except)
{
	uint64_t cap = st->ns->mem->size, target, freed = 0;

	pthread_mutex_lock(&st->room_lock);
	if (mem_free(st) >= want + slack(cap) / 2) {
		pthread_mutex_unlock(&st->room_lock); /* made while we waited */
		return 0;
	}
	target = want + slack(cap);
	if (!st->ssd) {
		freed = evict_names(st, 0, target, except);
	} else {
		freed = demote(st, target, except);
		if (mem_free(st) < want) {
			flush_cold(st, target, except);
			freed += demote(st, target, except);
		}
	}
	pthread_mutex_unlock(&st->room_lock);
	return freed || mem_free(st) >= want ? 0 : -ENOSPC;
}

int kvfs_store_ssd_room(struct kvfs_store *st, uint64_t want,
			struct kvfs_inode *except)
{
	uint64_t cap = kvfs_ssd_capacity(st->ssd);

	pthread_mutex_lock(&st->ssd_room_lock);
	if (kvfs_ssd_free(st->ssd) < want + slack(cap) / 2) {
		evict_names(st, 1, want + slack(cap), except);
		/* Evicted runs come back after the deletions commit (rule 4
		 * in store.c): wait for that before looking again. */
		if (st->ns->index)
			kvfs_index_sync(st->ns->index, 0);
	}
	pthread_mutex_unlock(&st->ssd_room_lock);
	return kvfs_ssd_free(st->ssd) >= want ? 0 : -ENOSPC;
}

void kvfs_store_keep_room(struct kvfs_store *st)
{
	uint64_t cap = st->ns->mem->size, low = cap / 16, target = cap / 8;

	/* Low watermark 1/16 of the tier: below it, free up to 1/8.  With
	 * passthrough, 1/8 and 1/4: bound writers fill memory with no handler
	 * to make room (file.c, "Passthrough"), so room is made ahead. */
	if (atomic_load(&st->ns->passthrough)) {
		low = cap / 8;
		target = cap / 4;
	}
	if (!st->ssd || mem_free(st) >= low)
		return;
	pthread_mutex_lock(&st->room_lock);
	if (demote(st, target, NULL) == 0 && st->write_policy == KVFS_WRITE_BACK) {
		flush_cold(st, target, NULL);
		demote(st, target, NULL);
	}
	pthread_mutex_unlock(&st->room_lock);
}
