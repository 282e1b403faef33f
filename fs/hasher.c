/*
 * hasher.c - computes the CRC-32C of published files off the write path.
 *
 * Keeping a new file's checksum current while it is written costs a second
 * pass over every byte in the FUSE thread that serves the write (18% of the
 * write path in a profile on the 2-core VM).  Instead, a file's checksum is
 * left stale while it is unpublished, and when the file is published its
 * inode is queued here; one thread computes the checksum under the inode's
 * read lock and records it in the index.  In-place rewrites of a published
 * file still patch a valid checksum inline (file.c): they are small.
 *
 * The queue holds an open reference on each inode (nopen), so an unlink or
 * rename-replace in the meantime cannot free it.  That reference pins
 * nothing else (kvfs_inode_users): eviction takes a queued file, and a
 * queued file that loses its name has its job let go at once
 * (kvfs_hasher_kick, reap_dead), not at its turn.
 *
 * A pass waits for a quiet moment (issue 12): it starts, and goes on from
 * step to step, only after HASH_QUIET_NS without a FUSE request
 * (ns->busy_ns), or once the job has waited q->defer_ns (option
 * hash_defer=; 0: at once).  On a 2-core host a pass beside the requests
 * it follows took a core and memory bandwidth from them: ds4-server's
 * scans and loads, which come right after its header rewrites and the
 * passes they queue, ran 30-50% slower.  Repeated rewrites of a file while
 * its job waits cost one pass.
 *
 * A pass never makes a writer wait for it (issue 11: a header rewrite right
 * after the publish of a 512 MiB file waited 34-41 ms).  It hashes
 * KVFS_HASH_STEP bytes at a time with no lock held (hash_step), and keeps
 * its place in ino->hash_pos, the step in progress in [hash_pos,
 * hash_end).  An in-place write during the pass (file.c, hash_note_write)
 * adds to ino->hash_delta the CRC change of the part the pass has already
 * hashed, marks the step torn if it touches it (the step runs again), and
 * counts itself in hash_patches; the rest the pass reads new.  At the end
 * the checksum is the pass's CRC XOR the delta (crc32c.h explains the
 * algebra).  Any other change of the data (an append, a truncation, a
 * large overwrite, a fast-path commit) moves data_gen past what the patches
 * account for, and the pass starts over, up to three times; after that the
 * CRC stays stale until someone reads user.kvfs.crc32c or the next writer
 * closes.
 *
 * Threads: the hasher thread; kvfs_hasher_queue() is called by FUSE threads
 * with ns->lock held for writing and the inode's lock.  The queue's mutex
 * guards head/tail/stop; its place in the lock order: docs/design.md, "Lock
 * order".  The hash_* fields of an inode are guarded by its lock; the
 * hasher alone writes hash_pos, hash_end and clears hash_torn, under the
 * read lock, which excludes every writer.  A step reads arena bytes with no
 * lock: an extent freed meanwhile stays mapped (the arena), and every
 * change that frees one moves data_gen or the size, so such a step is
 * thrown away.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/uio.h>

#include "clock.h"
#include "crc32c.h"
#include "log.h"
#include "ns.h"

/* Bytes per step: 1 MiB takes about 70 us at the 14 GB/s measured for a
 * 512 MiB file; a write into the step being hashed makes it run again. */
#define KVFS_HASH_STEP (1u << 20)

/* No request for this long is a quiet moment: a deferred pass may run. */
#define HASH_QUIET_NS (20ull * 1000 * 1000)

struct hash_job {
	struct hash_job *next;
	struct kvfs_inode *ino;
	uint64_t due_ns;        /* runs by then, quiet or not; 0: at once */
};

struct kvfs_hasher {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct hash_job *head, **tail;
	int stop;
	int reap;               /* a queued file lost its name (kvfs_hasher_kick) */
	uint64_t defer_ns;      /* hash_defer=: a job's longest wait; 0: none */
	pthread_t thread;
	struct kvfs_ns *ns;
};

/* A queued file that lost its name (unlinked, evicted, replaced) needs no
 * checksum. */
static int job_dead(const struct kvfs_inode *ino)
{
	return ino->nlink == 0 || ino->gone;
}

/* Is the pass over (or is there nothing to do): the CRC set by someone
 * else, the bytes not all in memory (whoever changes that sets the CRC),
 * or the file without a name (no one will ask)?  Caller holds ns->lock and
 * ino->lock. */
static int pass_over(const struct kvfs_inode *ino)
{
	return ino->crc_valid || !ino->t.resident || job_dead(ino);
}

/* Starts a pass: 1 if there is nothing to do (pass_over).  Caller holds
 * ns->lock and ino->lock for writing. */
static int pass_start(struct kvfs_inode *ino, uint64_t *gen)
{
	if (pass_over(ino))
		return 1;
	ino->hash_active = 1;
	ino->hash_pos = ino->hash_end = 0;
	ino->hash_torn = 0;
	ino->hash_size = ino->size;
	ino->hash_delta = 0;
	ino->hash_patches = 0;
	*gen = ino->data_gen;
	return 0;
}

/* Has the data changed in a way the patches do not cover?  Caller holds
 * ino->lock. */
static int pass_moved(const struct kvfs_inode *ino, uint64_t gen)
{
	return ino->data_gen - ino->hash_patches != gen ||
	       ino->size != ino->hash_size;
}

/*
 * One step: the CRC of [pos, pos + n) continued from *crc.  The window is
 * copied out of the backing file under the inode's read lock (a 1 MiB copy
 * costs a quarter of hashing it), the copy is hashed
 * with no lock held (a preempted hasher never holds up a writer), and the
 * result is kept only if no write touched the window meanwhile
 * (hash_torn, set by hash_note_write in file.c); writes below the window
 * patch hash_delta, writes above it are read new.  Returns 1 when the step
 * is done (*pos advanced), 0 to take it again, -1 when the pass must start
 * over or is over.
 */
static int hash_step(struct kvfs_ns *ns, struct kvfs_inode *ino, uint64_t gen,
		     uint64_t size, uint64_t *pos, uint32_t *crc,
		     char *buf)
{
	uint64_t n = size - *pos < KVFS_HASH_STEP ? size - *pos : KVFS_HASH_STEP;
	uint32_t c = *crc;
	int cnt = 0, r;

	pthread_rwlock_rdlock(&ns->lock);
	pthread_rwlock_rdlock(&ino->lock);
	r = pass_over(ino) || pass_moved(ino, gen) ? -1 : 0;
	pthread_rwlock_unlock(&ns->lock);
	if (r == 0) {
		ino->hash_end = *pos + n; /* writers read both under the write lock */
		ino->hash_torn = 0;
		cnt = buf && kvfs_data_read(&ino->data, *pos, buf, n) == 0;
		if (!cnt) /* no buffer: hash under the lock */
			c = kvfs_data_crc_range(&ino->data, c, *pos, n);
	}
	pthread_rwlock_unlock(&ino->lock);
	if (r)
		return -1;
	if (cnt)
		c = kvfs_crc32c(c, buf, n);
	pthread_rwlock_rdlock(&ino->lock);
	if (pass_moved(ino, gen))
		r = -1;
	else if (cnt && ino->hash_torn)
		r = 0;
	else
		r = 1;
	if (r == 1) {
		*crc = c;
		*pos += n;
		ino->hash_pos = *pos;
	}
	ino->hash_end = ino->hash_pos;
	pthread_rwlock_unlock(&ino->lock);
	return r;
}

/* The hasher is done with a job: the queue's reference goes.  Caller holds
 * ns->lock for writing. */
static void job_done(struct kvfs_ns *ns, struct hash_job *j)
{
	j->ino->hashing = 0;
	kvfs_ns_put_open(ns, j->ino);
	atomic_fetch_sub(&ns->stats.crc_pending, 1);
	free(j);
}

/*
 * Lets go of the waiting jobs of files that lost their name: a deferred
 * job must not hold an unlinked file's memory (its open reference keeps
 * the inode) until its turn.  Takes ns->lock and then the queue's lock
 * (the lock order).
 */
static void reap_dead(struct kvfs_hasher *q)
{
	struct kvfs_ns *ns = q->ns;
	struct hash_job *dead = NULL, **pp;

	pthread_rwlock_wrlock(&ns->lock);
	pthread_mutex_lock(&q->lock);
	q->tail = &q->head;
	for (pp = &q->head; *pp;) {
		struct hash_job *j = *pp;

		if (job_dead(j->ino)) {
			*pp = j->next;
			j->next = dead;
			dead = j;
		} else {
			pp = &j->next;
			q->tail = &j->next;
		}
	}
	q->reap = 0;
	pthread_mutex_unlock(&q->lock);
	while (dead) {
		struct hash_job *j = dead;

		dead = j->next;
		job_done(ns, j);
	}
	pthread_rwlock_unlock(&ns->lock);
}

/* Waits for a quiet moment (above): returns once no request came for
 * HASH_QUIET_NS, at `due`, when ino lost its name, or when the hasher
 * stops (the queue drains at once then).  Meanwhile lets go of the jobs
 * of files that lost theirs. */
static void hash_yield(struct kvfs_hasher *q, const struct kvfs_inode *ino, uint64_t due)
{
	for (;;) {
		uint64_t now = kvfs_mono_ns();
		uint64_t calm = atomic_load_explicit(&q->ns->busy_ns, memory_order_relaxed) +
				HASH_QUIET_NS;
		uint64_t until = calm < due ? calm : due;
		int reap;

		/* Read without its lock: a stale answer costs one more wait,
		 * and hash_step looks again under the lock. */
		if (now >= until || job_dead(ino))
			return;
		pthread_mutex_lock(&q->lock);
		if (!q->stop && !q->reap) /* a queued job or a kick wakes it early */
			kvfs_cond_wait_ms(&q->cond, &q->lock, (until - now + 999999) / 1000000);
		if (q->stop) {
			pthread_mutex_unlock(&q->lock);
			return;
		}
		reap = q->reap;
		pthread_mutex_unlock(&q->lock);
		if (reap)
			reap_dead(q);
	}
}

/* One pass over the file, a step at a time, each after a quiet moment.
 * Returns 1 when the CRC is valid or need not be computed here, 0 to start
 * over. */
static int hash_pass(struct kvfs_hasher *q, struct kvfs_inode *ino, uint64_t due)
{
	struct kvfs_ns *ns = q->ns;
	char *buf = malloc(KVFS_HASH_STEP);
	uint64_t gen = 0, pos = 0, size;
	uint32_t crc = 0;
	int done, r = 1, torn = 0;

	pthread_rwlock_rdlock(&ns->lock);
	pthread_rwlock_wrlock(&ino->lock);
	done = pass_start(ino, &gen);
	size = ino->size;
	pthread_rwlock_unlock(&ino->lock);
	pthread_rwlock_unlock(&ns->lock);
	/* A step torn by writes 8 times in a row starts the pass over. */
	while (!done && pos < size) {
		hash_yield(q, ino, due);
		if ((r = hash_step(ns, ino, gen, size, &pos, &crc, buf)) < 0)
			break;
		if (r == 0 && ++torn >= 8)
			break;
		if (r == 1)
			torn = 0;
	}
	free(buf);
	pthread_rwlock_rdlock(&ns->lock);
	pthread_rwlock_wrlock(&ino->lock);
	if (!done && ino->hash_active && !pass_over(ino) && !pass_moved(ino, gen) &&
	    pos == size) {
		ino->crc = crc ^ ino->hash_delta;
		ino->crc_valid = 1;
		kvfs_ns_record(ns, ino, 0);
		atomic_fetch_add(&ns->stats.crc_passes, 1);
	}
	ino->hash_active = 0;
	done = pass_over(ino);
	pthread_rwlock_unlock(&ino->lock);
	pthread_rwlock_unlock(&ns->lock);
	return done;
}

/* Runs a job (up to three passes) and frees it. */
static void hash_one(struct kvfs_hasher *q, struct hash_job *j)
{
	for (int tries = 0; tries < 3; tries++)
		if (hash_pass(q, j->ino, j->due_ns))
			break;
	pthread_rwlock_wrlock(&q->ns->lock);
	job_done(q->ns, j);
	pthread_rwlock_unlock(&q->ns->lock);
}

static void *hasher_main(void *arg)
{
	struct kvfs_hasher *q = arg;
	struct hash_job *j;

	pthread_setname_np(pthread_self(), "kvfs-hash"); /* top -H, ps -L */
	pthread_mutex_lock(&q->lock);
	for (;;) {
		while (!q->head && !q->stop)
			pthread_cond_wait(&q->cond, &q->lock);
		if (!q->head)
			break; /* stopping, and the queue is drained */
		j = q->head;
		q->head = j->next;
		if (!q->head)
			q->tail = &q->head;
		pthread_mutex_unlock(&q->lock);
		hash_one(q, j);
		pthread_mutex_lock(&q->lock);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

int kvfs_hasher_start(struct kvfs_ns *ns, uint64_t defer_ns)
{
	struct kvfs_hasher *q = calloc(1, sizeof(*q));
	int r;

	if (!q)
		return -ENOMEM;
	pthread_mutex_init(&q->lock, NULL);
	r = kvfs_cond_init_monotonic(&q->cond); /* hash_yield's timed waits */
	if (r) {
		pthread_mutex_destroy(&q->lock);
		free(q);
		return -r;
	}
	q->tail = &q->head;
	q->ns = ns;
	q->defer_ns = defer_ns;
	r = pthread_create(&q->thread, NULL, hasher_main, q);
	if (r) {
		pthread_cond_destroy(&q->cond);
		pthread_mutex_destroy(&q->lock);
		free(q);
		return -r;
	}
	ns->hasher = q;
	return 0;
}

void kvfs_hasher_stop(struct kvfs_ns *ns)
{
	struct kvfs_hasher *q = ns->hasher;

	if (!q)
		return;
	pthread_mutex_lock(&q->lock);
	q->stop = 1;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
	pthread_join(q->thread, NULL); /* finishes what was queued */
	pthread_rwlock_wrlock(&ns->lock);
	ns->hasher = NULL;
	pthread_rwlock_unlock(&ns->lock);
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

int kvfs_hasher_queue(struct kvfs_ns *ns, struct kvfs_inode *ino)
{
	struct kvfs_hasher *q = ns->hasher;
	struct hash_job *j;

	if (!q)
		return -ENODEV;
	if (ino->hashing)
		return 0;
	j = malloc(sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->ino = ino;
	j->next = NULL;
	j->due_ns = q->defer_ns ? kvfs_mono_ns() + q->defer_ns : 0;
	ino->hashing = 1;
	ino->nopen++; /* the queue's reference; hash_one drops it */
	atomic_fetch_add(&ns->stats.crc_pending, 1);
	pthread_mutex_lock(&q->lock);
	*q->tail = j;
	q->tail = &j->next;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
	return 0;
}

void kvfs_hasher_kick(struct kvfs_ns *ns)
{
	struct kvfs_hasher *q = ns->hasher;

	if (!q)
		return;
	pthread_mutex_lock(&q->lock);
	q->reap = 1;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
}
