/*
 * admit.h - backpressure for writers with an SSD tier: a writable open
 * waits until memory has room for what it may write (docs/design.md,
 * "Backpressure").
 *
 * A bound writer's bytes go from the kernel into its backing file; the
 * daemon sees no write to make room in.  So room is made before the open
 * is answered: every writer of new content (a new or truncated file;
 * file.c holds back no in-place writer) reserves half of mem= (the
 * largest file the promise covers) less what it has written since its
 * open, and an open is bound only when the tmpfs's free blocks cover its
 * reservation and every reservation still outstanding.  While they do
 * not, the opening thread reclaims (demotes, flushes cold files; evict.c)
 * and, once nothing more can be freed, waits for another writer's release,
 * at most KVFS_ADMIT_WAIT_MS.  A daemon-served writer (passthrough off) is
 * held back the same way against mem=, counting only what cannot be
 * reclaimed while writers are open: the open writers' files and what they
 * may still write (the daemon's write path makes the rest of the room).
 *
 * Threads: FUSE workers (open, create, release).  `lock` guards the list
 * of admitted writers and each listed handle's adm_* fields.  It is a
 * leaf: nothing is taken under it (atomics and fstat only), and the
 * admission takes it with no other lock held (the release, under
 * ns->lock).
 */
#ifndef KVFS_ADMIT_H
#define KVFS_ADMIT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

struct kvfs_ns;
struct kvfs_handle;

/* The longest a writable open waits for room before it goes on without
 * it: then the daemon serves it (its writes make room, or fail with a
 * precise ENOSPC).  Room comes from other writers' releases and from the
 * SSD's writes; 2 s is about 2 GiB of flushing on the slowest disk
 * measured here. */
#define KVFS_ADMIT_WAIT_MS 2000

struct kvfs_admit {
	pthread_mutex_t lock;
	pthread_cond_t released;      /* an admitted writer went away */
	struct kvfs_handle *writers;  /* admitted writers (adm_next/adm_prev) */
	unsigned n;
	/* stats.json "io": opens that waited, the time they waited, and
	 * those that went on without room. */
	atomic_uint_fast64_t waits, wait_ms, no_room;
};

int kvfs_admit_init(struct kvfs_admit *a);
void kvfs_admit_release(struct kvfs_admit *a);

/*
 * Admits writer h before it is bound (`bind`: it would be, if room allows;
 * else it will be daemon-served).  Waits and reclaims as above, then lists
 * h.  Returns 1 if h fits, 0 if it went on without room (then it must not
 * be bound).  No lock may be held.
 */
int kvfs_admit_writer(struct kvfs_ns *ns, struct kvfs_handle *h, int bind);
/* After the bind: whether h's growth is read from its backing file. */
void kvfs_admit_bound(struct kvfs_ns *ns, struct kvfs_handle *h);
/* At h's release, once its file can be stored: unlists h and wakes the
 * waiters. */
void kvfs_admit_done(struct kvfs_ns *ns, struct kvfs_handle *h);
/* Writers admitted and not yet released (a hint: read without the lock). */
static inline unsigned kvfs_admit_writers(struct kvfs_admit *a)
{
	return __atomic_load_n(&a->n, __ATOMIC_RELAXED);
}

#endif
