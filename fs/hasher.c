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
 * rename-replace in the meantime cannot free it.  If the data changes while
 * the checksum is computed (data_gen moved), it is computed again, up to
 * three times; after that it stays stale until someone reads
 * user.kvfs.crc32c or the next writer closes.
 *
 * Threads: the hasher thread; kvfs_hasher_queue() is called by FUSE threads
 * with ns->lock held for writing and the inode's lock.  The queue's mutex
 * guards head/tail/stop; its place after those two: docs/design.md, "Lock
 * order".
 */
#include <errno.h>
#include <stdlib.h>

#include "log.h"
#include "ns.h"

struct hash_job {
	struct hash_job *next;
	struct kvfs_inode *ino;
};

struct kvfs_hasher {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct hash_job *head, **tail;
	int stop;
	pthread_t thread;
	struct kvfs_ns *ns;
};

static void hash_one(struct kvfs_ns *ns, struct kvfs_inode *ino)
{
	uint64_t gen;
	uint32_t crc;
	int done = 0;

	for (int tries = 0; tries < 3 && !done; tries++) {
		pthread_rwlock_rdlock(&ino->lock);
		done = ino->crc_valid;
		gen = ino->data_gen;
		crc = done ? 0 : kvfs_extmap_crc(&ino->data, ns->mem, ino->size);
		pthread_rwlock_unlock(&ino->lock);
		if (done)
			break;
		pthread_rwlock_rdlock(&ns->lock);
		pthread_rwlock_wrlock(&ino->lock);
		if (ino->data_gen == gen && !ino->crc_valid) {
			ino->crc = crc;
			ino->crc_valid = 1;
			kvfs_ns_record(ns, ino, 0);
		}
		done = ino->crc_valid;
		pthread_rwlock_unlock(&ino->lock);
		pthread_rwlock_unlock(&ns->lock);
	}
	pthread_rwlock_wrlock(&ns->lock);
	ino->hashing = 0;
	kvfs_ns_put_open(ns, ino);
	pthread_rwlock_unlock(&ns->lock);
}

static void *hasher_main(void *arg)
{
	struct kvfs_hasher *q = arg;
	struct hash_job *j;

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
		hash_one(q->ns, j->ino);
		free(j);
		pthread_mutex_lock(&q->lock);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

int kvfs_hasher_start(struct kvfs_ns *ns)
{
	struct kvfs_hasher *q = calloc(1, sizeof(*q));
	int r;

	if (!q)
		return -ENOMEM;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	q->tail = &q->head;
	q->ns = ns;
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
	ino->hashing = 1;
	ino->nopen++; /* the queue's reference; hash_one drops it */
	pthread_mutex_lock(&q->lock);
	*q->tail = j;
	q->tail = &j->next;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
	return 0;
}
