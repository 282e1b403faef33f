/*
 * store.c - the SSD tier's writing side: the flush queue and its thread,
 * the durable commit of a stored version, what a stored version's runs
 * become when it is replaced, and fsync.  Reading back (promotion, reads
 * served from the SSD) is promote.c's, making room evict.c's; the tier
 * state (tier.h) changes only through tier.c's verbs.
 *
 * Threads: the flusher thread (kvfs_store_start) drains the queue that
 * publishes and data changes feed under write_policy=through; FUSE worker
 * threads call fsync and, through writer_done, the queue; main calls
 * init/start/stop.
 * Locks: store.h; their order: docs/design.md, "Lock order".  The flusher
 * holds an open reference (nopen) on every queued inode, so a queued inode
 * is never freed under it.
 *
 * Durability protocol.  The order of these steps is the whole of crash
 * safety (DESIGN.md 3.5); after any crash an index row never points at
 * bytes that are not on the SSD:
 *   1. A stored version is written to runs freshly taken from the SSD
 *      allocator, never over a run that any row may point at.
 *   2. Those writes complete and are synced (kvfs_ssd_sync) before the
 *      row that points at them is queued to the index.
 *   3. The row (size, checksums and chunk map in one blob) is committed in
 *      one SQLite transaction; fsync waits for that commit, durably.
 *   4. Runs of the version it replaces (or of a deleted file) go back to
 *      the allocator only after the transaction that stopped pointing at
 *      them has committed (kvfs_index_after_commit).
 *   5. At start the allocator is rebuilt from the committed maps alone, so
 *      runs written but never committed (a crash between 1 and 3) and runs
 *      whose release was pending are free again without a scan of the
 *      slabs.  A row without a map (never stored) is dropped.
 */
#include "store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crc32c.h"
#include "index.h"
#include "log.h"
#include "ns.h"
#include "ssd.h"
#include "store_int.h"

/* Files written per flusher batch before one sync covers them all: a
 * batch bounds how long a row waits for its sync. */
#define FLUSH_BATCH_FILES 64

/* Chunk-sized zeros for the holes of a chunk being written (O_DIRECT needs
 * an aligned buffer). */
static _Alignas(4096) char zero_chunk[KVFS_CHUNK];

struct flush {
	struct kvfs_inode *ino;  /* set once claimed (ino->t.flushing), which
				    the batch lets go at its end */
	uint64_t gen;
	struct kvfs_map m;
	uint8_t *fresh;   /* [m.n]: 1 where this flush took the run (the
			     others are the stored copy's, reused) */
	/* While its write is in flight (flush_begin to flush_end, ino->lock
	 * held shared): */
	struct kvfs_data_view v;
	struct iovec_list l;
	int later;        /* chunk CRCs still to compute (flush_crcs) */
	struct kvfs_ssd_pending *io;
	int written;      /* flush_end succeeded: commit after the sync */
};

/* ---- run bookkeeping ---- */

static void map_give(struct kvfs_store *st, struct kvfs_map *m)
{
	for (uint32_t i = 0; i < m->n; i++)
		if (m->c[i].len)
			kvfs_ssd_give(st->ssd, m->c[i].soff, m->c[i].len);
	kvfs_map_release(m);
}

struct deferred_give {
	struct kvfs_store *st;
	struct kvfs_map m;
};

static void give_committed(void *arg, int err)
{
	struct deferred_give *d = arg;

	if (err == 0) {
		map_give(d->st, &d->m);
	} else {
		/* The old row may still point at the runs: keep them until the
		 * next start rebuilds the allocator from what committed. */
		kvfs_warn("kvfs: index commit failed (%s); %u SSD runs stay in use until restart",
			  strerror(-err), d->m.n);
		kvfs_map_release(&d->m);
	}
	free(d);
}

/* Rule 4: gives m's runs back once everything queued so far has committed.
 * Takes m over (leaves it empty). */
static void map_give_after_commit(struct kvfs_store *st, struct kvfs_map *m)
{
	struct kvfs_index *ix = st->ns->index;
	struct deferred_give *d;

	if (!ix) {
		map_give(st, m);
		return;
	}
	d = malloc(sizeof(*d));
	if (d) {
		/* Filled before it is queued: the index writer may run
		 * give_committed() before kvfs_index_after_commit() returns. */
		d->st = st;
		d->m = *m;
		if (kvfs_index_after_commit(ix, give_committed, d) == 0) {
			memset(m, 0, sizeof(*m));
			return;
		}
		free(d);
	}
	/* Cannot wait for the commit: leak the runs until restart rather
	 * than risk overwriting bytes a row points at. */
	kvfs_map_release(m);
}

/* Gives back the runs of f's map that f took itself (not reused ones). */
static void give_fresh(struct kvfs_store *st, struct flush *f)
{
	for (uint32_t i = 0; f->fresh && i < f->m.n; i++)
		if (f->fresh[i] && f->m.c[i].len)
			kvfs_ssd_give(st->ssd, f->m.c[i].soff, f->m.c[i].len);
	kvfs_map_release(&f->m);
	free(f->fresh);
	f->fresh = NULL;
}

/* The old copy's runs that the new map no longer uses: the runs to free
 * once the new row commits (rule 4).  Takes old over. */
static void keep_unused(struct kvfs_map *old, const struct kvfs_map *m)
{
	uint32_t k = 0;

	for (uint32_t i = 0; i < old->n; i++) {
		const struct kvfs_chunk *c = &old->c[i];

		if (!c->len || (i < m->n && m->c[i].len == c->len &&
				m->c[i].soff == c->soff))
			continue;
		old->c[k++] = *c;
	}
	old->n = k;
}

int kvfs_store_init(struct kvfs_store *st, struct kvfs_ns *ns,
		    struct kvfs_ssd *ssd, enum kvfs_write_policy wp,
		    enum kvfs_evict_policy ep)
{
	memset(st, 0, sizeof(*st));
	st->ns = ns;
	st->ssd = ssd;
	st->write_policy = wp;
	st->evict_policy = ep;
	if (pthread_mutex_init(&st->lock, NULL) != 0)
		return -ENOMEM;
	if (pthread_mutex_init(&st->room_lock, NULL) != 0 ||
	    pthread_mutex_init(&st->plock, NULL) != 0 ||
	    pthread_cond_init(&st->pcond, NULL) != 0 ||
	    pthread_mutex_init(&st->ssd_room_lock, NULL) != 0 ||
	    pthread_cond_init(&st->wake, NULL) != 0) {
		pthread_mutex_destroy(&st->lock);
		return -ENOMEM;
	}
	ns->store = st;
	return 0;
}

void kvfs_store_release(struct kvfs_store *st)
{
	KVFS_ASSERT(!st->running);
	pthread_cond_destroy(&st->wake);
	pthread_mutex_destroy(&st->room_lock);
	pthread_mutex_destroy(&st->ssd_room_lock);
	pthread_mutex_destroy(&st->plock);
	pthread_cond_destroy(&st->pcond);
	pthread_mutex_destroy(&st->lock);
}

int kvfs_store_adopt(struct kvfs_store *st, struct kvfs_inode *ino,
		     struct kvfs_map *m)
{
	uint32_t i;
	int r = 0;

	for (i = 0; i < m->n && r == 0; i++)
		if (m->c[i].len)
			r = kvfs_ssd_take_at(st->ssd, m->c[i].soff, m->c[i].len);
	if (r) {
		for (uint32_t j = 0; j + 1 < i; j++)
			if (m->c[j].len)
				kvfs_ssd_give(st->ssd, m->c[j].soff, m->c[j].len);
		return -EUCLEAN;
	}
	ino->size = m->size;
	ino->crc = m->file_crc;
	ino->crc_valid = 1;
	kvfs_tier_adopt(st, ino, m);
	KVFS_DCHECK(kvfs_inode_check(ino) == 0);
	return 0;
}

void kvfs_store_forget(struct kvfs_store *st, struct kvfs_inode *ino)
{
	struct kvfs_map old;

	kvfs_data_release(&ino->data, st->ns->mem);
	if (kvfs_tier_forget(st, ino, &old))
		map_give_after_commit(st, &old); /* rule 4 */
}

/* ---- the flush queue ---- */

void kvfs_store_queue(struct kvfs_store *st, struct kvfs_inode *ino)
{
	if (!st || !st->ssd || st->write_policy != KVFS_WRITE_THROUGH)
		return;
	pthread_mutex_lock(&st->lock);
	if (!ino->t.queued && !st->stop) {
		ino->t.queued = 1;
		ino->nopen++; /* caller holds ns->lock for writing */
		ino->t.qnext = NULL;
		if (st->qtail)
			st->qtail->t.qnext = ino;
		else
			st->qhead = ino;
		st->qtail = ino;
		atomic_fetch_add(&st->stats.queue_depth, 1);
		pthread_cond_signal(&st->wake);
	}
	pthread_mutex_unlock(&st->lock);
}

void kvfs_store_kick(struct kvfs_store *st)
{
	if (!st || !st->ssd)
		return;
	pthread_mutex_lock(&st->lock);
	st->kicked = 1;
	pthread_cond_signal(&st->wake);
	pthread_mutex_unlock(&st->lock);
}

/* Pops up to max queued inodes (their references come along). */
static int queue_pop(struct kvfs_store *st, struct kvfs_inode **out, int max)
{
	int n = 0;

	while (n < max && st->qhead) {
		struct kvfs_inode *ino = st->qhead;

		st->qhead = ino->t.qnext;
		if (!st->qhead)
			st->qtail = NULL;
		ino->t.qnext = NULL;
		ino->t.queued = 0;
		out[n++] = ino;
		atomic_fetch_sub(&st->stats.queue_depth, 1);
	}
	return n;
}

static void put_ref(struct kvfs_store *st, struct kvfs_inode *ino)
{
	pthread_rwlock_wrlock(&st->ns->lock);
	kvfs_ns_put_open(st->ns, ino);
	pthread_rwlock_unlock(&st->ns->lock);
}

/* ---- writing a stored version (rules 1 and 2) ---- */

/* Describes chunk i's stored bytes as transfers from the view of the
 * backing file (zeros for holes) and computes its CRC (unless crc is
 * NULL: chunk_crcs does it later).  Returns 1 if the chunk has data, 0 if
 * it is all hole, -ENOMEM. */
static int chunk_pieces(struct kvfs_inode *ino, const struct kvfs_data_view *v,
			uint32_t i, uint32_t len, uint64_t soff,
			struct iovec_list *l, uint32_t *crc)
{
	struct kvfs_data_walk w;
	uint64_t start = (uint64_t)i * KVFS_CHUNK, bytes, pos = start, seg;
	char *p;
	int data = 0, r;

	/* The walk covers the file's bytes; the rest of the last 4 KiB is
	 * the page that holds EOF, zeros past it. */
	bytes = ino->size - start < len ? ino->size - start : len;
	kvfs_data_walk_init(&w, &ino->data, v, start, bytes);
	while (kvfs_data_walk_next(&w, &p, &seg))
		data |= p != KVFS_DATA_HOLE;
	if (!data)
		return 0;
	if (crc)
		*crc = 0;
	kvfs_data_walk_init(&w, &ino->data, v, start, bytes);
	while (kvfs_data_walk_next(&w, &p, &seg)) {
		/* A data piece that ends at EOF takes the rest of its page. */
		if (p != KVFS_DATA_HOLE && pos + seg == start + bytes)
			seg = start + len - pos;
		while (seg) { /* holes: the zero chunk, 1 MiB at most a piece */
			uint64_t n = p == KVFS_DATA_HOLE && seg > KVFS_CHUNK ? KVFS_CHUNK : seg;
			void *buf = p == KVFS_DATA_HOLE ? zero_chunk : p;

			if (crc)
				*crc = kvfs_crc32c(*crc, buf, n);
			r = iol_add(l, soff + (pos - start), (uint32_t)n, buf);
			if (r)
				return r;
			pos += n;
			seg -= n;
			if (p != KVFS_DATA_HOLE)
				p += n;
		}
	}
	if (pos < start + len) { /* a hole at EOF: the page's zeros */
		if (crc)
			*crc = kvfs_crc32c(*crc, zero_chunk, start + len - pos);
		r = iol_add(l, soff + (pos - start), (uint32_t)(start + len - pos),
			    zero_chunk);
		if (r)
			return r;
	}
	return 1;
}

/* Whether chunk i of the new version can keep the stored copy's run:
 * unchanged since it was stored, and of the same stored length. */
static int reusable(const struct kvfs_inode *ino, const struct kvfs_map *m,
		    uint32_t i)
{
	const struct kvfs_tier *t = &ino->t;

	return t->has_stored && t->changed && i < t->stored.n && !t->changed[i] &&
	       t->stored.c[i].len == (t->stored.c[i].len ?
				      kvfs_map_chunk_len(m->size, i) : 0);
}

/* Whether chunk i, marked changed, still holds the stored copy's bytes:
 * a stored run of the same length whose CRC the chunk's new CRC (in m,
 * just computed) matches.  A bound writer's change marks every chunk
 * (file.c, rule 5): this is what keeps its flush to the chunks it
 * rewrote.  Equal CRC-32Cs of different 1 MiB chunks are possible (one in
 * 2^32 for unrelated bytes; never for a change within 32 consecutive
 * bits). */
static int same_crc(const struct kvfs_inode *ino, const struct kvfs_map *m,
		    uint32_t i)
{
	const struct kvfs_tier *t = &ino->t;

	return t->has_stored && i < t->stored.n && t->stored.c[i].len &&
	       t->stored.c[i].len == kvfs_map_chunk_len(m->size, i) &&
	       t->stored.c[i].crc == m->c[i].crc;
}

/* Takes runs for every changed chunk, reuses the stored runs of the
 * others and of changed chunks whose bytes turn out the same, and lists
 * the transfers.  A file with no stored copy has nothing to compare: its
 * chunks' CRCs are left to chunk_crcs, during the writes (`later`).  On
 * error gives back what it took. */
static int plan_chunks(struct kvfs_store *st, struct kvfs_inode *ino,
		       const struct kvfs_data_view *v, struct flush *f,
		       struct iovec_list *l, int later)
{
	struct kvfs_map *m = &f->m;
	uint64_t near = UINT64_MAX;
	int r = 0;

	for (uint32_t i = 0; i < m->n && r >= 0; i++) {
		uint32_t len = kvfs_map_chunk_len(m->size, i);
		uint64_t soff;
		int n0;

		if (reusable(ino, m, i)) {
			m->c[i] = ino->t.stored.c[i];
			continue;
		}
		r = kvfs_ssd_alloc(st->ssd, len, near, &soff);
		if (r)
			break;
		n0 = l->n;
		r = chunk_pieces(ino, v, i, len, soff, l, later ? NULL : &m->c[i].crc);
		if (r <= 0) {
			kvfs_ssd_give(st->ssd, soff, len);
			continue; /* a hole: no run; or the error ends the loop */
		}
		if (!later && same_crc(ino, m, i)) {
			/* Marked changed, same bytes by their CRC: keep the
			 * stored run, write nothing. */
			l->n = n0;
			kvfs_ssd_give(st->ssd, soff, len);
			m->c[i] = ino->t.stored.c[i];
			atomic_fetch_add(&st->stats.flush_unchanged_bytes, len);
			r = 0;
			continue;
		}
		m->c[i].soff = soff;
		m->c[i].len = len;
		f->fresh[i] = 1;
		near = soff + len;
		r = 0;
	}
	if (r < 0)
		give_fresh(st, f);
	return r < 0 ? r : 0;
}

/* The CRC of each chunk plan_chunks left (`later`): of its transfers'
 * bytes, in order; run while they are being written. */
static void chunk_crcs(struct flush *f)
{
	struct kvfs_map *m = &f->m;
	int k = 0;

	for (uint32_t i = 0; i < m->n; i++) {
		uint64_t left = f->fresh[i] ? m->c[i].len : 0;

		m->c[i].crc = 0;
		for (; left && k < f->l.n; k++) {
			m->c[i].crc = kvfs_crc32c(m->c[i].crc, f->l.v[k].buf, f->l.v[k].len);
			left -= f->l.v[k].len;
		}
	}
}

/*
 * The file's CRC from its chunks' CRCs, which the flush has just computed
 * (or reuses): a CRC-32C of A then B is crc(A) shifted over |B| bytes,
 * XORed with crc(B).  Every chunk but the last is KVFS_CHUNK bytes; a hole
 * chunk has no run and counts as zeros.  The last chunk's CRC covers the
 * zeros from EOF to its page's end, so it is hashed again over its bytes
 * alone.  A changed file (a bound writer's change leaves the CRC stale)
 * thus costs one pass over its bytes here, not two.
 */
static uint32_t crc_of_chunks(const struct kvfs_inode *ino, const struct kvfs_map *m)
{
	uint64_t last = m->n ? (uint64_t)(m->n - 1) * KVFS_CHUNK : 0;
	uint32_t crc = 0, zeros = kvfs_crc32c_zeros(0, KVFS_CHUNK);

	for (uint32_t i = 0; i + 1 < m->n; i++)
		crc = kvfs_crc32c_shift(crc, KVFS_CHUNK) ^
		      (m->c[i].len ? m->c[i].crc : zeros);
	crc = kvfs_crc32c_shift(crc, m->size - last) ^
	      kvfs_data_crc_range(&ino->data, 0, last, m->size - last);
	return crc;
}

/* The file's checksum and head checksum for the map. */
static void map_sums(struct kvfs_inode *ino, struct kvfs_map *m)
{
	m->file_crc = ino->crc_valid ? ino->crc : crc_of_chunks(ino, m);
	KVFS_DCHECK(ino->crc_valid ||
		    m->file_crc == kvfs_data_crc(&ino->data, ino->size));
	if (m->n && m->c[0].len) {
		/* On the stack, so it cannot fail: a head_crc left 0 would
		 * fail every later head load of the file with EIO. */
		uint32_t hl = m->c[0].len < KVFS_HEAD ? m->c[0].len : KVFS_HEAD;
		char head[KVFS_HEAD];

		(void)kvfs_data_read(&ino->data, 0, head, hl);
		m->head_crc = kvfs_crc32c(0, head, hl);
	}
}

/* The end of what flush_begin holds: the view, the file's lock, the
 * transfer list. */
static void flush_let_go(struct flush *f)
{
	kvfs_data_view_close(&f->v);
	pthread_rwlock_unlock(&f->ino->lock);
	free(f->l.v);
	f->l = (struct iovec_list){ 0 };
}

/*
 * Rule 1: writes the file's present data to fresh runs, in three steps so
 * that a batch keeps the SSD busy between files (flush_batch):
 * flush_begin plans the write and submits it, flush_crcs computes what it
 * left for the time the bytes are in flight, flush_end waits for them.
 * From begin to end the file's lock is held shared: its backing file's
 * view must keep the bytes being written.
 *
 * flush_begin returns 1 with the write in flight, 0 if there is nothing
 * to do (stored already or being stored by another flush, unpublished,
 * gone, not resident, or open for writing unless `writers_ok`), or
 * -errno (-ENOSPC: the SSD has no room; the caller makes room and
 * retries).  With `try` it takes the namespace's and the file's locks and
 * a ring only if they are free, and returns -EAGAIN otherwise: the
 * flusher begins one file while it holds another's lock, against the
 * lock order (docs/design.md), which only a trylock may do.
 *
 * A file open for writing is in the middle of a new version (an O_TRUNC
 * rewrite, a header rewrite): storing it now would commit a version no
 * writer finished, and a crash would bring back a torn file.  Its last
 * writer's close queues it (writer_done); only fsync stores it before.
 * The check holds under ino->lock, taken before ns->lock is let go: a
 * writer that opens later changes data_gen only after the snapshot, and
 * flush_commit then discards it.
 */
static int flush_begin(struct kvfs_store *st, struct kvfs_inode *ino,
		       struct flush *f, int writers_ok, int try)
{
	const struct kvfs_tier *t = &ino->t;
	int live, r;

	memset(f, 0, sizeof(*f));
	if (!try)
		pthread_rwlock_rdlock(&st->ns->lock);
	else if (pthread_rwlock_tryrdlock(&st->ns->lock) != 0)
		return -EAGAIN;
	live = ino->published && ino->nlink > 0 && !ino->is_dir && !ino->ctl &&
	       (writers_ok || ino->nwriters == 0);
	if (!live) {
		pthread_rwlock_unlock(&st->ns->lock);
		return 0;
	}
	if (!try) {
		pthread_rwlock_rdlock(&ino->lock);
	} else if (pthread_rwlock_tryrdlock(&ino->lock) != 0) {
		pthread_rwlock_unlock(&st->ns->lock);
		return -EAGAIN;
	}
	pthread_rwlock_unlock(&st->ns->lock);
	/* Stored already, or being stored by another flush (the flusher's
	 * batch and a reclaimer's flush_cold pick the same coldest files):
	 * writing it a second time would only take the SSD from the rest. */
	if (!t->resident || kvfs_inode_stored(ino) || !kvfs_tier_flush_claim(ino)) {
		pthread_rwlock_unlock(&ino->lock);
		return 0;
	}
	f->ino = ino;
	f->gen = ino->data_gen;
	f->m.size = ino->size;
	f->m.n = kvfs_map_nchunks(ino->size);
	f->m.c = calloc(f->m.n ? f->m.n : 1, sizeof(*f->m.c));
	f->fresh = calloc(f->m.n ? f->m.n : 1, 1);
	r = f->m.c && f->fresh ? 0 : -ENOMEM;
	/* A view of the whole file for the transfers (no copy); a file with
	 * no backing file is all hole and needs none. */
	if (r == 0 && ino->data.fd >= 0 && ino->size)
		r = kvfs_data_view_open(&ino->data, 0, ino->size, 0, &f->v);
	/* A file with no stored copy has nothing to compare its chunks
	 * with: their CRCs wait for the write (flush_crcs). */
	f->later = !t->has_stored;
	if (r == 0)
		r = plan_chunks(st, ino, ino->data.fd >= 0 ? &f->v : NULL, f, &f->l,
				f->later);
	if (r == 0)
		r = kvfs_ssd_write_begin(st->ssd, f->l.v, f->l.n, try, &f->io);
	if (r == 0)
		return 1;
	give_fresh(st, f);
	kvfs_tier_flush_done(ino);
	flush_let_go(f);
	memset(f, 0, sizeof(*f));
	if (r != -ENOSPC && r != -EAGAIN)
		atomic_fetch_add(&st->stats.flush_errors, 1);
	return r;
}

/* The chunk CRCs flush_begin left, while the write is in flight. */
static void flush_crcs(struct flush *f)
{
	if (f->later) {
		chunk_crcs(f);
		f->later = 0;
	}
}

/*
 * Rule 3: installs a written, synced version as the file's stored copy and
 * queues its row, unless the data changed meanwhile (then the new runs,
 * which no row knows, are given back at once).  Returns 1 if installed,
 * 0 if discarded.
 */
static int flush_commit(struct kvfs_store *st, struct flush *f)
{
	struct kvfs_inode *ino = f->ino;
	struct kvfs_map old;
	int ok;

	pthread_rwlock_rdlock(&st->ns->lock);
	pthread_rwlock_wrlock(&ino->lock);
	ok = ino->data_gen == f->gen && ino->nlink > 0 && ino->published;
	if (ok) {
		ino->crc = f->m.file_crc; /* same bytes: the crc is current */
		ino->crc_valid = 1;
		kvfs_tier_stored(st, ino, &f->m, &old); /* takes f->m over */
		kvfs_ns_record(st->ns, ino, 0);
		if (old.c) {
			keep_unused(&old, &ino->t.stored); /* reused runs stay */
			map_give_after_commit(st, &old); /* rule 4 */
		}
		atomic_fetch_add(&st->stats.flushes, 1);
		KVFS_DCHECK(kvfs_inode_check(ino) == 0); /* MEM -> BOTH */
	} else {
		give_fresh(st, f); /* no row knows them: free at once */
		atomic_fetch_add(&st->stats.flush_retries, 1);
	}
	pthread_rwlock_unlock(&ino->lock);
	pthread_rwlock_unlock(&st->ns->lock);
	free(f->fresh);
	f->fresh = NULL;
	return ok;
}

static void set_err(struct kvfs_inode *ino, int err)
{
	pthread_rwlock_wrlock(&ino->lock);
	kvfs_tier_flush_failed(ino, err);
	pthread_rwlock_unlock(&ino->lock);
}

/* Waits for f's write, computes the file's sums and lets the file's lock
 * go.  0 (f->written: to commit after a sync) or -errno (its runs given
 * back, its file marked failed). */
static int flush_end(struct kvfs_store *st, struct flush *f)
{
	struct kvfs_inode *ino = f->ino;
	uint64_t written = 0;
	int r;

	flush_crcs(f);
	r = kvfs_ssd_write_end(f->io);
	f->io = NULL;
	if (r == 0)
		map_sums(ino, &f->m);
	else
		give_fresh(st, f);
	for (int i = 0; i < f->l.n; i++)
		written += f->l.v[i].len;
	flush_let_go(f);
	if (r) {
		atomic_fetch_add(&st->stats.flush_errors, 1);
		set_err(ino, r);
		return r;
	}
	atomic_fetch_add(&st->stats.flushed_bytes, written);
	f->written = 1;
	return 0;
}

/* Begins one file's write, making room on the SSD (evict.c) when it is
 * full.  Returns as flush_begin; on an error the file is marked failed. */
static int flush_begin_room(struct kvfs_store *st, struct kvfs_inode *ino,
			    struct flush *f, int writers_ok)
{
	int r = flush_begin(st, ino, f, writers_ok, 0);

	for (int tries = 0; r == -ENOSPC && !st->draining && tries < 4; tries++) {
		uint64_t want;

		pthread_rwlock_rdlock(&ino->lock);
		want = ino->size + (ino->size >> 3) + KVFS_CHUNK;
		pthread_rwlock_unlock(&ino->lock);
		if (kvfs_store_ssd_room(st, want, ino) != 0)
			break;
		r = flush_begin(st, ino, f, writers_ok, 0);
	}
	if (r < 0)
		set_err(ino, r);
	return r;
}

/*
 * Flushes files[0..n) as one batch: every write, one sync, then every
 * commit (rule 2).  The writes overlap: while one file's bytes are in
 * flight the next file's write is begun beside it when its locks and a
 * second ring are free (else after), so the SSD does not wait for the
 * planning between files.  Files whose data changed during the flush are
 * flushed again by the caller's next round if still queued; files open for
 * writing are skipped unless `writers_ok` (fsync).  Returns the first
 * error (the files keep their data in memory either way).
 */
static int flush_batch(struct kvfs_store *st, struct kvfs_inode **files,
		       int n, int writers_ok)
{
	struct flush *f = calloc((size_t)n, sizeof(*f));
	int nf = 0, err = 0, r, r2, prev = -1;

	if (!f)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		r = -EAGAIN;
		if (prev >= 0) {
			flush_crcs(&f[prev]);
			r = flush_begin(st, files[i], &f[i], writers_ok, 1);
			if (r == 1)
				atomic_fetch_add(&st->stats.flush_overlapped, 1);
			r2 = flush_end(st, &f[prev]);
			err = err ? err : r2;
			prev = -1;
		}
		/* Not begun beside the last one (busy, or an error, ENOSPC
		 * among them): alone, making room if the SSD is full, which
		 * needs no other file's lock held. */
		if (r < 0)
			r = flush_begin_room(st, files[i], &f[i], writers_ok);
		if (r == 1)
			prev = i;
		else if (r < 0 && !err)
			err = r;
	}
	if (prev >= 0) {
		r2 = flush_end(st, &f[prev]);
		err = err ? err : r2;
	}
	for (int i = 0; i < n; i++)
		nf += f[i].written;
	r = nf ? kvfs_ssd_sync(st->ssd) : 0;
	for (int i = 0; i < n; i++) {
		if (!f[i].written)
			continue;
		if (r == 0) {
			flush_commit(st, &f[i]);
			continue;
		}
		give_fresh(st, &f[i]);
		set_err(f[i].ino, r);
	}
	/* Committed or failed: another flush may take them now.  (The
	 * inodes stay alive: every caller holds an open reference.) */
	for (int i = 0; i < n; i++)
		if (f[i].ino)
			kvfs_tier_flush_done(f[i].ino);
	if (r && !err)
		err = r;
	free(f);
	return err;
}

int kvfs_store_flush_files(struct kvfs_store *st, struct kvfs_inode **files,
			   int n)
{
	return flush_batch(st, files, n, 0);
}

/* ---- the flusher thread ---- */

static void requeue_changed(struct kvfs_store *st, struct kvfs_inode **v, int n)
{
	pthread_rwlock_wrlock(&st->ns->lock);
	for (int i = 0; i < n; i++) {
		struct kvfs_inode *ino = v[i];
		int again;

		pthread_rwlock_rdlock(&ino->lock);
		/* A file open for writing is queued by its last close. */
		again = ino->t.resident && ino->nlink > 0 && ino->published &&
			!kvfs_inode_stored(ino) &&
			ino->t.err == 0 && ino->nwriters == 0;
		pthread_rwlock_unlock(&ino->lock);
		if (again)
			kvfs_store_queue(st, ino);
		kvfs_ns_put_open(st->ns, ino);
	}
	pthread_rwlock_unlock(&st->ns->lock);
}

/* Every RETRY_S seconds the flusher queues again the files whose last
 * flush failed (a full or read-only SSD that has recovered since): they
 * would otherwise wait for their next change, memory pressure or the
 * unmount.  A failing SSD costs one attempt per file per period. */
#define RETRY_S 30

static void retry_failed(struct kvfs_store *st)
{
	pthread_rwlock_wrlock(&st->ns->lock);
	for (struct kvfs_inode *ino = st->ns->files; ino; ino = ino->fnext) {
		int again;

		if (ino->ctl || !ino->published || ino->nlink == 0 || ino->nwriters)
			continue;
		pthread_rwlock_wrlock(&ino->lock);
		again = ino->t.err != 0 && ino->t.resident && !kvfs_inode_stored(ino);
		if (again)
			kvfs_tier_flush_retry(ino);
		pthread_rwlock_unlock(&ino->lock);
		if (again)
			kvfs_store_queue(st, ino);
	}
	pthread_rwlock_unlock(&st->ns->lock);
}

static void *flusher_main(void *arg)
{
	struct kvfs_store *st = arg;
	struct kvfs_inode *batch[FLUSH_BATCH_FILES];
	struct timespec until;
	int64_t last_retry = 0;
	int n;

	pthread_setname_np(pthread_self(), "kvfs-flush");
	pthread_mutex_lock(&st->lock);
	for (;;) {
		/* Wakes for work, or once a second for the watermark. */
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		while (!st->qhead && !st->stop && !st->kicked &&
		       pthread_cond_timedwait(&st->wake, &st->lock, &until) == 0)
			;
		st->kicked = 0;
		if (st->stop)
			break;
		n = queue_pop(st, batch, FLUSH_BATCH_FILES);
		pthread_mutex_unlock(&st->lock);
		if (n) {
			atomic_store(&st->stats.flushing, (uint64_t)n);
			kvfs_store_flush_files(st, batch, n);
			requeue_changed(st, batch, n);
			atomic_store(&st->stats.flushing, 0);
		}
		kvfs_store_keep_room(st);
		if (until.tv_sec - last_retry >= RETRY_S) {
			last_retry = until.tv_sec;
			retry_failed(st);
		}
		pthread_mutex_lock(&st->lock);
	}
	pthread_mutex_unlock(&st->lock);
	return NULL;
}

int kvfs_store_start(struct kvfs_store *st)
{
	int r;

	if (!st->ssd)
		return 0;
	r = pthread_create(&st->thread, NULL, flusher_main, st);
	if (r)
		return -r;
	st->running = 1;
	return 0;
}

/* Clean unmount: every published file only memory holds goes to the SSD,
 * coldest last, until the SSD is full (nothing stored is evicted for it). */
static void drain(struct kvfs_store *st)
{
	struct kvfs_inode **v = NULL;
	size_t n = 0, cap = 0, done = 0;
	int err = 0;

	pthread_rwlock_wrlock(&st->ns->lock);
	for (struct kvfs_inode *ino = st->ns->files; ino; ino = ino->fnext) {
		int want;

		pthread_rwlock_rdlock(&ino->lock);
		want = ino->published && ino->nlink > 0 && !ino->ctl &&
		       ino->t.resident && !kvfs_inode_stored(ino);
		pthread_rwlock_unlock(&ino->lock);
		if (!want)
			continue;
		if (n == cap) {
			size_t c = cap ? 2 * cap : 256;
			struct kvfs_inode **nv = realloc(v, c * sizeof(*nv));

			if (!nv)
				break;
			v = nv;
			cap = c;
		}
		ino->nopen++;
		v[n++] = ino;
	}
	pthread_rwlock_unlock(&st->ns->lock);
	st->draining = 1; /* at unmount nothing stored is evicted for room */
	for (size_t i = 0; i < n; i += FLUSH_BATCH_FILES) {
		int k = n - i < FLUSH_BATCH_FILES ? (int)(n - i) : FLUSH_BATCH_FILES;
		int r = kvfs_store_flush_files(st, v + i, k);

		err = err ? err : r;
	}
	/* Count what the SSD took: a full or failing SSD takes less. */
	for (size_t i = 0; i < n; i++) {
		struct kvfs_inode *ino = v[i];

		pthread_rwlock_rdlock(&ino->lock);
		done += kvfs_inode_stored(ino);
		pthread_rwlock_unlock(&ino->lock);
		put_ref(st, ino);
	}
	free(v);
	if (done)
		kvfs_info("kvfs: wrote %zu memory-only files to the SSD at unmount", done);
	if (done < n)
		kvfs_warn("kvfs: %zu memory-only files could not be written to the SSD at unmount (%s); they are dropped",
			  n - done, err ? strerror(-err) : "no room, or still open for writing");
}

void kvfs_store_stop(struct kvfs_store *st, int drain_mem)
{
	struct kvfs_inode *left[FLUSH_BATCH_FILES];
	int n;

	if (st->running) {
		pthread_mutex_lock(&st->lock);
		st->stop = 1;
		pthread_cond_broadcast(&st->wake);
		pthread_mutex_unlock(&st->lock);
		pthread_join(st->thread, NULL);
		st->running = 0;
	}
	/* Whatever is still queued holds references: drop them. */
	do {
		pthread_mutex_lock(&st->lock);
		n = queue_pop(st, left, FLUSH_BATCH_FILES);
		pthread_mutex_unlock(&st->lock);
		for (int i = 0; i < n; i++)
			put_ref(st, left[i]);
	} while (n);
	if (drain_mem && st->ssd)
		drain(st);
	if (st->ns->index)
		kvfs_index_sync(st->ns->index, 1);
}

/* ---- fsync ---- */

/*
 * fsync's errno for a flush that failed: ENOSPC (the SSD holds only
 * pinned data) and ENOMEM as they are; any other failure of the SSD tier
 * (a write or sync refused: EROFS on a filesystem gone read-only, EIO) is
 * EIO, which every application reads as "not durable" (EROFS from fsync
 * means "cannot be synced" to some), logged with the path and the cause.
 * The data stays in memory either way.
 */
static int fsync_error(struct kvfs_store *st, struct kvfs_inode *ino, int err)
{
	char path[4096];

	if (err == -ENOSPC || err == -ENOMEM)
		return err;
	kvfs_ns_path(st->ns, ino, path, sizeof(path));
	kvfs_err("kvfs: fsync of %s failed: the SSD tier refused it (%s); the file is in memory only",
		 path, strerror(-err));
	return -EIO;
}

int kvfs_store_fsync(struct kvfs_store *st, struct kvfs_inode *ino)
{
	struct kvfs_inode *one[1] = { ino };
	int r = 0, pub, done, err;

	for (int tries = 0; st && st->ssd && tries < 8; tries++) {
		/* Another flush (the flusher's, a reclaimer's) has its write
		 * in flight: its commit is what this waits for, and
		 * flush_batch would skip the file meanwhile. */
		while (atomic_load(&ino->t.flushing))
			usleep(1000);
		pthread_rwlock_rdlock(&st->ns->lock);
		pthread_rwlock_rdlock(&ino->lock);
		pub = ino->published && ino->nlink > 0;
		done = !ino->t.resident || kvfs_inode_stored(ino);
		pthread_rwlock_unlock(&ino->lock);
		pthread_rwlock_unlock(&st->ns->lock);
		/* An unpublished file is not an entry yet: the close that
		 * publishes it syncs it (kvfs_file_flush, h->sync_publish). */
		if (!pub || done) {
			r = 0; /* an earlier try may have left -EAGAIN */
			break;
		}
		r = flush_batch(st, one, 1, 1);
		if (r)
			return fsync_error(st, ino, r);
		pthread_rwlock_rdlock(&ino->lock);
		err = ino->t.err;
		pthread_rwlock_unlock(&ino->lock);
		if (err)
			return fsync_error(st, ino, err);
		r = -EAGAIN; /* changed while being written: go again */
	}
	if (r)
		return -EIO;
	pthread_rwlock_rdlock(&st->ns->lock);
	pthread_rwlock_wrlock(&ino->lock);
	if (ino->published && ino->dirty)
		kvfs_ns_record(st->ns, ino, 0);
	pthread_rwlock_unlock(&ino->lock);
	pthread_rwlock_unlock(&st->ns->lock);
	return st->ns->index ? kvfs_index_sync(st->ns->index, 1) : 0;
}
