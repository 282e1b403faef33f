/*
 * notify.c - the queue of kernel-cache invalidations.
 *
 * The core asks (through ns->hooks) for the kernel to forget data, attributes
 * or names that the daemon changed behind its back: pages of a file written
 * through direct I/O while others have it cached, a name removed by eviction.
 * Sending a notification from a request handler could deadlock against the
 * very request being served (libfuse's rule for notify_inval_*), so handlers
 * queue them and one thread sends them.  The queue's mutex guards its list;
 * the hooks may be called with ns->lock and an inode's lock held, and the
 * thread sends with no lock held (docs/design.md, "Lock order").  Part of
 * the FUSE adaptor.
 */
#define FUSE_USE_VERSION 312

#include <errno.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kvfs.h"
#include "log.h"
#include "ops.h"

/* NOTICE_INODE: nodeid's data [off, off+len), or only its attributes when
 * off is (uint64_t)-1; NOTICE_ENTRY: the name in directory nodeid. */
enum notice_kind { NOTICE_INODE, NOTICE_ENTRY };

struct notice {
	struct notice *next;
	enum notice_kind kind;
	uint64_t seq;
	fuse_ino_t nodeid;
	uint64_t off, len;
	char name[];
};

/* How long a handler waits for its invalidations (kvfs_notify_flush): they
 * take the kernel's lock on a directory, which another request of the same
 * directory may hold while it waits for this reply (an unlink of the file
 * being evicted); the wait ends there, and the invalidation follows. */
#define KVFS_NOTIFY_WAIT_MS 1000

struct kvfs_notify {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_cond_t sent_cond;       /* sent moved */
	struct notice *head, **tail;
	uint64_t queued, sent;          /* seq of the last notice queued, sent */
	int stop;
	pthread_t thread;
	struct fuse_session *se;
};

static void *notify_main(void *arg)
{
	struct kvfs_notify *q = arg;
	struct notice *n;

	pthread_setname_np(pthread_self(), "kvfs-notify"); /* top -H, ps -L */
	pthread_mutex_lock(&q->lock);
	for (;;) {
		while (!q->head && !q->stop)
			pthread_cond_wait(&q->cond, &q->lock);
		if (!q->head)
			break;
		n = q->head;
		q->head = n->next;
		if (!q->head)
			q->tail = &q->head;
		pthread_mutex_unlock(&q->lock);
		/* ENOENT: the kernel already forgot the inode; nothing cached.
		 * A nodeid freed and reused since costs one spurious lookup. */
		if (n->kind == NOTICE_INODE)
			fuse_lowlevel_notify_inval_inode(q->se, n->nodeid, (off_t)n->off,
							 (off_t)n->len);
		else
			fuse_lowlevel_notify_inval_entry(q->se, n->nodeid, n->name,
							 strlen(n->name));
		pthread_mutex_lock(&q->lock);
		q->sent = n->seq;
		pthread_cond_broadcast(&q->sent_cond);
		free(n);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

static void notice_queue(struct kvfs_notify *q, struct notice *n)
{
	pthread_mutex_lock(&q->lock);
	n->seq = ++q->queued;
	*q->tail = n;
	q->tail = &n->next;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

static void notify_inval_inode(void *arg, struct kvfs_inode *ino, uint64_t off,
			       uint64_t len)
{
	struct kvfs *kv = arg;
	struct kvfs_notify *q = kv->notify;
	struct notice *n;

	if (!q || !(n = calloc(1, sizeof(*n))))
		return; /* best effort: stale pages last until the next open */
	n->kind = NOTICE_INODE;
	n->nodeid = kvfs_nodeid(kv, ino);
	n->off = off;
	n->len = len;
	notice_queue(q, n);
}

/* Names: the kernel keeps a dentry until told (entry timeout 3600 s). */
static void notify_inval_entry(void *arg, struct kvfs_inode *parent,
			       const char *name)
{
	struct kvfs *kv = arg;
	struct kvfs_notify *q = kv->notify;
	size_t len = strlen(name) + 1;
	struct notice *n;

	if (!q || !(n = calloc(1, sizeof(*n) + len)))
		return; /* best effort: the name stays cached until it times out */
	n->kind = NOTICE_ENTRY;
	n->nodeid = kvfs_nodeid(kv, parent);
	memcpy(n->name, name, len);
	notice_queue(q, n);
}

/*
 * A name taken away behind the kernel's back (eviction): drop the dentry,
 * and the inode's attributes so open descriptors see nlink 0.  Not
 * notify_delete: it takes the kernel's lock on the child, which the
 * evicting setxattr holds until kvfs_notify_flush() lets it reply.
 */
static void notify_delete_entry(void *arg, struct kvfs_inode *parent,
				struct kvfs_inode *ino, const char *name)
{
	notify_inval_entry(arg, parent, name);
	notify_inval_inode(arg, ino, (uint64_t)-1, 0);
}

/* Waits (KVFS_NOTIFY_WAIT_MS at most) until every notice queued so far has
 * been sent, so that a request that changed names behind the kernel's back
 * replies only once the kernel has forgotten them. */
void kvfs_notify_flush(struct kvfs *kv)
{
	struct kvfs_notify *q = kv->notify;
	struct timespec until;

	if (!q)
		return;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += (long)KVFS_NOTIFY_WAIT_MS % 1000 * 1000000;
	until.tv_sec += KVFS_NOTIFY_WAIT_MS / 1000 + until.tv_nsec / 1000000000;
	until.tv_nsec %= 1000000000;
	pthread_mutex_lock(&q->lock);
	for (uint64_t want = q->queued; q->sent < want && !q->stop;)
		if (pthread_cond_timedwait(&q->sent_cond, &q->lock, &until) != 0)
			break;
	pthread_mutex_unlock(&q->lock);
}

int kvfs_notify_start(struct kvfs *kv, struct fuse_session *se)
{
	struct kvfs_notify *q = calloc(1, sizeof(*q));

	if (!q)
		return -ENOMEM;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	pthread_cond_init(&q->sent_cond, NULL);
	q->tail = &q->head;
	q->se = se;
	if (pthread_create(&q->thread, NULL, notify_main, q) != 0) {
		free(q);
		return -EAGAIN;
	}
	kv->notify = q;
	kv->ns.hooks.inval_inode = notify_inval_inode;
	kv->ns.hooks.inval_entry = notify_inval_entry;
	kv->ns.hooks.delete_entry = notify_delete_entry;
	kv->ns.hooks.arg = kv;
	return 0;
}

void kvfs_notify_stop(struct kvfs *kv)
{
	struct kvfs_notify *q = kv->notify;

	if (!q)
		return;
	kv->ns.hooks.inval_inode = NULL;
	kv->ns.hooks.inval_entry = NULL;
	kv->ns.hooks.delete_entry = NULL;
	pthread_mutex_lock(&q->lock);
	q->stop = 1;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
	pthread_join(q->thread, NULL);
	kv->notify = NULL;
	free(q);
}
