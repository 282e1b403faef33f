/*
 * admit.c - backpressure for writers with an SSD tier (admit.h): a
 * writable open waits, reclaiming, until memory has room for what the
 * writer may write, so that a writer outrunning the SSD is slowed at its
 * open instead of failing with ENOSPC in write(2).
 *
 * Owns the list of admitted writers and the accounting over it.  Making
 * room is evict.c's (kvfs_store_reclaim); which opens are bound is
 * file.c's (kvfs_file_bind calls in here first).
 *
 * Threads: FUSE workers.  Locks: a->lock alone (admit.h); the reclaimer is
 * called with it dropped.
 */
#include "admit.h"

#include <errno.h>

#include "backing.h"
#include "clock.h"
#include "ns.h"
#include "store.h"

/* How often a waiting open looks again when no release wakes it: the
 * flusher's demotions also make room. */
#define ADMIT_POLL_MS 50

/* With no other writer open, the looks (ADMIT_POLL_MS apart) a waiting
 * open takes before it goes on without room: nothing is left to come
 * back but what the flusher is storing now. */
#define ADMIT_IDLE_LOOKS 3

int kvfs_admit_init(struct kvfs_admit *a)
{
	a->writers = NULL;
	a->n = 0;
	if (pthread_mutex_init(&a->lock, NULL) != 0)
		return -ENOMEM;
	if (kvfs_cond_init_monotonic(&a->released) != 0) {
		pthread_mutex_destroy(&a->lock);
		return -ENOMEM;
	}
	return 0;
}

void kvfs_admit_release(struct kvfs_admit *a)
{
	pthread_cond_destroy(&a->released);
	pthread_mutex_destroy(&a->lock);
}

/* What one writer may write: half of mem=, the largest file the promise
 * covers ("no ENOSPC while the SSD has room, for files smaller than
 * mem=/2, from 1 or 4 writers at once"). */
static uint64_t reserve(const struct kvfs_ns *ns)
{
	return ns->mem->size / 2;
}

/* Bytes h's file holds in memory now.  A bound writer's backing file
 * stays open while it is bound (backing.h), so its fd is read without the
 * inode's lock; a served writer's count is the daemon's own (written under
 * the inode's lock; a stale value only shifts the estimate). */
static uint64_t writer_bytes(const struct kvfs_handle *h)
{
	if (h->adm_bound)
		return kvfs_data_allocated(&h->ino->data);
	return __atomic_load_n(&h->ino->data.bytes, __ATOMIC_RELAXED);
}

/* The bytes a new writer's file already holds, before it is bound. */
static uint64_t own_bytes(struct kvfs_inode *ino)
{
	uint64_t b;

	pthread_rwlock_rdlock(&ino->lock);
	b = kvfs_data_allocated(&ino->data);
	pthread_rwlock_unlock(&ino->lock);
	return b;
}

/*
 * How far memory is from holding one more writer: 0 when it fits.  `out`:
 * every listed writer's reservation less its growth since its open, plus
 * this one's.  A bound writer fits when the tmpfs's free blocks cover
 * `out`.  A served one fits when mem='s free bytes cover it, or else when
 * what cannot be reclaimed while the writers are open (their files, plus
 * `out`) fits in mem=: its writes make the rest of the room themselves.
 * Caller holds a->lock.
 */
static uint64_t shortfall(struct kvfs_ns *ns, int bind)
{
	struct kvfs_admit *a = &ns->admit;
	uint64_t r = reserve(ns), out = r, held = 0, have;

	for (struct kvfs_handle *w = a->writers; w; w = w->adm_next) {
		uint64_t now = writer_bytes(w);
		uint64_t grown = now > w->adm_base ? now - w->adm_base : 0;

		out += grown < r ? r - grown : 0;
		held += now;
	}
	if (bind) {
		have = kvfs_mem_room(ns->mem);
		return out > have ? out - have : 0;
	}
	if (kvfs_mem_free(ns->mem) >= out)
		return 0;
	held += out;
	return held > ns->mem->size ? held - ns->mem->size : 0;
}

static int64_t mono_ms(void)
{
	return (int64_t)(kvfs_mono_ns() / 1000000);
}

int kvfs_admit_writer(struct kvfs_ns *ns, struct kvfs_handle *h, int bind)
{
	struct kvfs_admit *a = &ns->admit;
	struct kvfs_store *st = ns->store;
	int64_t t0 = mono_ms(), left;
	uint64_t base = own_bytes(h->ino), s, last = UINT64_MAX;
	int fits = 0, waited = 0, idle = 0;

	pthread_mutex_lock(&a->lock);
	for (;;) {
		s = shortfall(ns, bind);
		if (s == 0) {
			fits = 1;
			break;
		}
		left = KVFS_ADMIT_WAIT_MS - (mono_ms() - t0);
		if (left <= 0)
			break;
		waited = 1;
		/* Free what can be freed (demote, flush cold files and
		 * demote) while that brings the shortfall down; a bound
		 * writer's shortfall is in the tmpfs, which the reclaimer
		 * counts against mem= alone: ask for this much more free. */
		if (bind && st && st->ssd && s < last) {
			uint64_t want = kvfs_mem_free(ns->mem) + s;
			int r;

			last = s;
			pthread_mutex_unlock(&a->lock);
			r = kvfs_store_reclaim(st, want, h->ino);
			pthread_mutex_lock(&a->lock);
			if (r == 0)
				continue;
		}
		/* Nothing more to free now: room comes back with another
		 * writer's release (its file can then be stored and
		 * demoted).  With no other writer there is nothing to wait
		 * for, once a few more looks (the flusher may be storing the
		 * last writer's file) found nothing either. */
		if (a->n == 0 && ++idle > ADMIT_IDLE_LOOKS)
			break;
		kvfs_cond_wait_ms(&a->released, &a->lock,
				  (uint64_t)(left < ADMIT_POLL_MS ? left : ADMIT_POLL_MS));
		last = UINT64_MAX; /* things moved: reclaiming may help again */
	}
	h->adm_base = base;
	h->adm_bound = 0;
	h->adm_prev = NULL;
	h->adm_next = a->writers;
	if (a->writers)
		a->writers->adm_prev = h;
	a->writers = h;
	a->n++;
	h->admitted = 1;
	pthread_mutex_unlock(&a->lock);
	if (waited) {
		atomic_fetch_add(&a->waits, 1);
		atomic_fetch_add(&a->wait_ms, (uint64_t)(mono_ms() - t0));
	}
	if (!fits)
		atomic_fetch_add(&a->no_room, 1);
	return fits;
}

void kvfs_admit_bound(struct kvfs_ns *ns, struct kvfs_handle *h)
{
	pthread_mutex_lock(&ns->admit.lock);
	h->adm_bound = h->passthrough;
	pthread_mutex_unlock(&ns->admit.lock);
}

void kvfs_admit_done(struct kvfs_ns *ns, struct kvfs_handle *h)
{
	struct kvfs_admit *a = &ns->admit;

	if (!h->admitted)
		return;
	pthread_mutex_lock(&a->lock);
	if (h->adm_prev)
		h->adm_prev->adm_next = h->adm_next;
	else
		a->writers = h->adm_next;
	if (h->adm_next)
		h->adm_next->adm_prev = h->adm_prev;
	a->n--;
	h->admitted = 0;
	pthread_cond_broadcast(&a->released);
	pthread_mutex_unlock(&a->lock);
}
