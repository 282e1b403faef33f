/*
 * promote.c - reading the SSD tier back: reads served from the SSD through
 * a buffer, a file's head loaded back after a restart, and promotion (SSD
 * -> BOTH in tier.h's state machine), step by step so that the reader who
 * started it is answered as soon as its own chunks are in.
 *
 * Every chunk read is verified against its CRC-32C from the file's chunk
 * map; a mismatch is -EIO for the reader, logged with the path, and counted
 * (crc_errors).  Threads: FUSE workers (reads, writes and pins that need a
 * file in memory).  Locks: store.h, in the order of docs/design.md ("Lock
 * order"); a promotion fills the extmap with no inode lock held, and
 * nothing else may change it meanwhile (t.promoting).  The tier state
 * changes through tier.c's verbs.
 */
#include "store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "log.h"
#include "ns.h"
#include "ssd.h"
#include "store_int.h"

/* ---- reading from the SSD ---- */

/* Logs a checksum mismatch or read error with the file's path. */
static void log_bad(struct kvfs_store *st, struct kvfs_inode *ino, uint32_t i,
		    int err)
{
	char path[4096];

	kvfs_ns_path(st->ns, ino, path, sizeof(path));
	if (err == -EUCLEAN) {
		atomic_fetch_add(&st->stats.crc_errors, 1);
		kvfs_err("kvfs: %s: chunk %u does not match its checksum on the SSD; reads fail with EIO",
			 path, i);
	} else {
		kvfs_err("kvfs: %s: reading chunk %u from the SSD: %s", path, i,
			 strerror(-err));
	}
}

int kvfs_store_read(struct kvfs_store *st, struct kvfs_inode *ino,
		    uint64_t off, void *buf, uint64_t len)
{
	const struct kvfs_map *m = &ino->t.stored;
	uint32_t c0 = (uint32_t)(off / KVFS_CHUNK);
	uint32_t c1 = (uint32_t)((off + len - 1) / KVFS_CHUNK);
	uint32_t nc = c1 - c0 + 1;
	struct kvfs_ssd_io *io = calloc(nc, sizeof(*io));
	char *tmp = NULL;
	int r = -ENOMEM;

	if (!io || posix_memalign((void **)&tmp, 4096, (size_t)nc * KVFS_CHUNK))
		goto out;
	for (uint32_t k = 0; k < nc; k++)
		io[k] = (struct kvfs_ssd_io){ .soff = m->c[c0 + k].soff,
					      .len = m->c[c0 + k].len,
					      .buf = tmp + (size_t)k * KVFS_CHUNK };
	/* Hole chunks (len 0) read as zeros; skip them in the batch. */
	{
		struct kvfs_ssd_io *live = calloc(nc, sizeof(*live));
		int nl = 0;

		if (!live)
			goto out;
		for (uint32_t k = 0; k < nc; k++) {
			if (io[k].len)
				live[nl++] = io[k];
			else
				memset(io[k].buf, 0, KVFS_CHUNK);
		}
		r = nl ? kvfs_ssd_read(st->ssd, live, nl) : 0;
		free(live);
	}
	atomic_fetch_add(&st->stats.ssd_reads, 1);
	for (uint32_t k = 0; k < nc && r == 0; k++) {
		const struct kvfs_chunk *c = &m->c[c0 + k];

		if (c->len && kvfs_crc32c(0, io[k].buf, c->len) != c->crc)
			r = -EUCLEAN;
		if (r)
			log_bad(st, ino, c0 + k, r);
		else if (c->len < KVFS_CHUNK)
			memset((char *)io[k].buf + c->len, 0, KVFS_CHUNK - c->len);
	}
	if (r) {
		if (r != -EUCLEAN)
			log_bad(st, ino, c0, r);
		r = -EIO;
		goto out;
	}
	memcpy(buf, tmp + (off - (uint64_t)c0 * KVFS_CHUNK), len);
	atomic_fetch_add(&st->stats.ssd_read_bytes, len);
out:
	free(tmp);
	free(io);
	return r;
}

int kvfs_store_load_head(struct kvfs_store *st, struct kvfs_inode *ino)
{
	const struct kvfs_map *m = &ino->t.stored;
	struct kvfs_data_view v;
	struct kvfs_ssd_io io;
	uint32_t hl;
	int r;

	if (ino->t.resident || ino->t.head_loaded || atomic_load(&ino->t.promoting))
		return 0;
	if (m->n == 0 || m->c[0].len == 0) {
		kvfs_tier_head_loaded(st, ino); /* a hole: no memory is right */
		return 0;
	}
	hl = m->c[0].len < KVFS_HEAD ? m->c[0].len : KVFS_HEAD;
	r = kvfs_data_alloc(&ino->data, st->ns->mem, 0, hl, ino->size);
	if (r == 0)
		r = kvfs_data_view_open(&ino->data, 0, hl, 1, &v);
	if (r) {
		kvfs_data_release(&ino->data, st->ns->mem);
		return r;
	}
	io = (struct kvfs_ssd_io){ .soff = m->c[0].soff, .len = hl, .buf = v.base };
	r = kvfs_ssd_read(st->ssd, &io, 1);
	atomic_fetch_add(&st->stats.ssd_reads, 1);
	if (r == 0 && kvfs_crc32c(0, io.buf, hl) != m->head_crc)
		r = -EUCLEAN;
	kvfs_data_view_close(&v);
	if (r) {
		log_bad(st, ino, 0, r);
		kvfs_data_release(&ino->data, st->ns->mem);
		return -EIO;
	}
	kvfs_tier_head_loaded(st, ino);
	atomic_fetch_add(&st->stats.head_loads, 1);
	return 0;
}

/* ---- promotion ---- */

/* Chunks read per step of a promotion: deep enough to keep the SSD busy,
 * small enough that the first reader is answered after 4 MiB, not after
 * the whole file. */
#define PROMOTE_STEP 4

/* Reads chunks [i0, i1) of the stored copy into the (allocated) backing
 * file, through a view of it, and verifies each.  With the head loaded, its
 * bytes are not read again.  The file does not change under it (store.h:
 * promoting). */
static int promote_read(struct kvfs_store *st, struct kvfs_inode *ino,
			uint32_t i0, uint32_t i1)
{
	const struct kvfs_map *m = &ino->t.stored;
	struct iovec_list l = { 0 };
	struct kvfs_data_view v;
	uint64_t skip = ino->t.head_loaded ? KVFS_HEAD : 0;
	uint64_t lo = (uint64_t)i0 * KVFS_CHUNK, hi = (uint64_t)i1 * KVFS_CHUNK;
	int r;

	if (hi > ino->size)
		hi = ino->size;
	if (lo >= hi)
		return 0;
	r = kvfs_data_view_open(&ino->data, lo, hi - lo, 1, &v);
	if (r) {
		log_bad(st, ino, i0, r);
		return -EIO;
	}
	for (uint32_t i = i0; i < i1 && r == 0; i++) {
		uint64_t start = (uint64_t)i * KVFS_CHUNK, pos = start;

		if (!m->c[i].len)
			continue;
		if (pos < skip)
			pos = skip < start + m->c[i].len ? skip : start + m->c[i].len;
		if (pos < start + m->c[i].len)
			r = iol_add(&l, m->c[i].soff + (pos - start),
				    (uint32_t)(start + m->c[i].len - pos),
				    v.base + (pos - lo));
	}
	if (r == 0 && l.n)
		r = kvfs_ssd_read(st->ssd, l.v, l.n);
	free(l.v);
	atomic_fetch_add(&st->stats.ssd_reads, 1);
	for (uint32_t i = i0; i < i1 && r == 0; i++) {
		uint64_t start = (uint64_t)i * KVFS_CHUNK;

		if (!m->c[i].len)
			continue;
		if (kvfs_crc32c(0, v.base + (start - lo), m->c[i].len) != m->c[i].crc) {
			log_bad(st, ino, i, -EUCLEAN);
			r = -EIO;
		}
	}
	kvfs_data_view_close(&v);
	if (r && r != -EIO)
		log_bad(st, ino, i0, r);
	return r ? -EIO : 0;
}

/* A promotion's progress (t.ready, t.promoting) changes under plock, and
 * every change wakes the readers waiting for their bytes: each of
 * tier.c's promotion verbs runs between these two. */
static void progress_lock(struct kvfs_store *st)
{
	pthread_mutex_lock(&st->plock);
}

static void progress_unlock(struct kvfs_store *st)
{
	pthread_cond_broadcast(&st->pcond);
	pthread_mutex_unlock(&st->plock);
}

void kvfs_store_wait_ready(struct kvfs_store *st, struct kvfs_inode *ino,
			   uint64_t need)
{
	pthread_mutex_lock(&st->plock);
	while (atomic_load(&ino->t.promoting) && atomic_load(&ino->t.ready) < need)
		pthread_cond_wait(&st->pcond, &st->plock);
	pthread_mutex_unlock(&st->plock);
}

/*
 * Step 1: allocates the whole file in memory and marks it promoting.
 * Returns 1 (started; takes an open reference, dropped by the last
 * step), 0 (nothing to do), 2 (needs room: *want set), or -EINPROGRESS.
 */
static int promote_begin(struct kvfs_store *st, struct kvfs_inode *ino,
			 uint64_t *want)
{
	uint64_t size, lo;
	int r = 1;

	pthread_rwlock_wrlock(&st->ns->lock);
	pthread_rwlock_wrlock(&ino->lock);
	size = ino->size;
	lo = ino->t.head_loaded ? KVFS_HEAD : 0;
	if (ino->t.resident) {
		r = 0;
	} else if (atomic_load(&ino->t.promoting)) {
		r = -EINPROGRESS;
	} else if (lo >= size) { /* the loaded head is the whole file */
		progress_lock(st);
		kvfs_tier_promoted(st, ino);
		progress_unlock(st);
		r = 0;
	} else if (kvfs_data_alloc(&ino->data, st->ns->mem, lo, size - lo, size) != 0) {
		*want = size - lo; /* -ENOSPC, or -ENOMEM: room helps both */
		r = 2;
	} else {
		ino->nopen++; /* the steps run with no lock held */
		progress_lock(st);
		kvfs_tier_promote_begin(ino, lo);
		progress_unlock(st);
	}
	pthread_rwlock_unlock(&ino->lock);
	pthread_rwlock_unlock(&st->ns->lock);
	return r;
}

/* Reads chunks until [0, need) is ready.  Returns 0, 1 (the file is
 * complete: the caller ends it), or -EIO. */
static int promote_step(struct kvfs_store *st, struct kvfs_inode *ino,
			uint64_t need)
{
	uint32_t n = ino->t.stored.n;

	while (atomic_load(&ino->t.ready) < need || need == UINT64_MAX) {
		uint64_t ready = atomic_load(&ino->t.ready);
		uint32_t i0 = (uint32_t)(ready / KVFS_CHUNK), i1;
		int r;

		if (i0 >= n || ready >= ino->size)
			return 1;
		i1 = i0 + PROMOTE_STEP < n ? i0 + PROMOTE_STEP : n;
		r = promote_read(st, ino, i0, i1);
		if (r)
			return r;
		progress_lock(st);
		kvfs_tier_promote_ready(ino, (uint64_t)i1 * KVFS_CHUNK);
		progress_unlock(st);
	}
	return atomic_load(&ino->t.ready) >= ino->size;
}

/* The last step: resident (ok) or back to the head alone (failed). */
static void promote_end(struct kvfs_store *st, struct kvfs_inode *ino, int ok)
{
	uint64_t lo;

	pthread_rwlock_wrlock(&st->ns->lock);
	pthread_rwlock_wrlock(&ino->lock); /* waits for readers of ready bytes */
	lo = ino->t.head_loaded ? KVFS_HEAD : 0;
	if (!ok)
		(void)kvfs_data_punch(&ino->data, st->ns->mem, lo, ino->size - lo);
	progress_lock(st);
	if (ok)
		kvfs_tier_promoted(st, ino);
	else
		kvfs_tier_promote_failed(ino);
	progress_unlock(st);
	if (ok) {
		if (st->ns->hooks.inval_inode) /* st_blocks changed */
			st->ns->hooks.inval_inode(st->ns->hooks.arg, ino, (uint64_t)-1, 0);
		atomic_fetch_add(&st->stats.promotions, 1);
		atomic_fetch_add(&st->stats.promoted_bytes, ino->size);
	}
	KVFS_DCHECK(kvfs_inode_check(ino) == 0); /* SSD -> BOTH, or back */
	pthread_rwlock_unlock(&ino->lock);
	kvfs_ns_put_open(st->ns, ino);
	pthread_rwlock_unlock(&st->ns->lock);
}

int kvfs_store_promote_start(struct kvfs_store *st, struct kvfs_inode *ino,
			     uint64_t need, int *more)
{
	uint64_t want = 0;
	int r = 2;

	*more = 0;
	for (int tries = 0; r == 2 && tries < 4; tries++) {
		r = promote_begin(st, ino, &want);
		if (r == 2 && kvfs_store_reclaim(st, want, ino) != 0)
			break;
	}
	if (r == 2)
		return -ENOSPC;
	if (r <= 0)
		return r;
	r = promote_step(st, ino, need);
	if (r == 0) {
		*more = 1;
		return 0;
	}
	promote_end(st, ino, r == 1);
	return r == 1 ? 0 : r;
}

void kvfs_store_promote_finish(struct kvfs_store *st, struct kvfs_inode *ino)
{
	int r = promote_step(st, ino, UINT64_MAX);

	promote_end(st, ino, r == 1);
}

int kvfs_store_promote(struct kvfs_store *st, struct kvfs_inode *ino)
{
	int more, r;

	for (;;) {
		r = kvfs_store_promote_start(st, ino, UINT64_MAX, &more);
		if (r != -EINPROGRESS)
			break;
		kvfs_store_wait_ready(st, ino, UINT64_MAX);
	}
	if (r == 0 && more)
		kvfs_store_promote_finish(st, ino);
	return r;
}
