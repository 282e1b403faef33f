/*
 * store.h - tier placement: where each file's bytes live (memory backing files,
 * SSD slabs or both), and the machinery that moves them: the flusher,
 * promotion, and the eviction mechanism (the scoring is policy.c's).
 *
 * The tier state of each file (MEM, BOTH, SSD) and its transitions are
 * tier.h's: the code here moves the bytes, then calls tier.c's verb.
 *
 * Locks: the tier fields of an inode are guarded by its lock, except
 * t.queued/t.qnext (store->lock, the flush queue's mutex) and
 * t.promoting/t.ready (atomics, changed under store->plock): tier.h.  The
 * order of these, room_lock and ssd_room_lock: docs/design.md, "Lock
 * order".
 * Functions that may need to make room (reclaim, promote, flush for fsync)
 * are called with NO lock held, because making room takes other inodes'
 * locks and ns->lock.
 */
#ifndef KVFS_STORE_H
#define KVFS_STORE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "map.h"
#include "policy.h"
#include "tier.h"

struct kvfs_ns;
struct kvfs_inode;
struct kvfs_ssd;

enum kvfs_write_policy { KVFS_WRITE_THROUGH, KVFS_WRITE_BACK };

struct kvfs_store_stats {
	atomic_uint_fast64_t mem_hits, ssd_reads, ssd_read_bytes, head_loads;
	atomic_uint_fast64_t flushes, flushed_bytes, flush_errors, flush_retries;
	atomic_uint_fast64_t flush_unchanged_bytes, flush_overlapped;
	atomic_uint_fast64_t promotions, promoted_bytes, demotions, demoted_bytes;
	atomic_uint_fast64_t ssd_evictions, ssd_evicted_bytes;
	atomic_uint_fast64_t mem_evictions, mem_evicted_bytes;
	atomic_uint_fast64_t crc_errors, stored_files, stored_bytes;
	atomic_uint_fast64_t queue_depth, ssd_only_files;
	atomic_uint_fast64_t flushing;   /* files in the flusher's batch now */
};

struct kvfs_store {
	struct kvfs_ns *ns;
	struct kvfs_ssd *ssd;            /* NULL: memory only */
	enum kvfs_write_policy write_policy;
	enum kvfs_evict_policy evict_policy;

	pthread_mutex_t lock;            /* the flush queue and thread state */
	pthread_cond_t wake;             /* queue grew, room needed, or stop */
	int kicked;                      /* kvfs_store_kick() since the last wake */
	struct kvfs_inode *qhead, *qtail;
	int stop;
	int running;
	int draining;                    /* unmount: flush without evicting */
	pthread_t thread;
	pthread_mutex_t plock;           /* with pcond: promotions' progress */
	pthread_cond_t pcond;
	pthread_mutex_t room_lock;       /* one memory reclaimer at a time */
	pthread_mutex_t ssd_room_lock;   /* one SSD evictor at a time */
	struct kvfs_store_stats stats;
};

/* Sets up the store over ns (and ssd, or NULL); starts nothing. */
int kvfs_store_init(struct kvfs_store *st, struct kvfs_ns *ns,
		    struct kvfs_ssd *ssd, enum kvfs_write_policy wp,
		    enum kvfs_evict_policy ep);
/* Starts the flusher thread (with an SSD tier).  Returns 0 or -errno. */
int kvfs_store_start(struct kvfs_store *st);
/* Stops the flusher; with `drain`, first writes every published file that
 * only memory holds to the SSD while there is room (clean unmount), and
 * waits for their rows to be committed durably. */
void kvfs_store_stop(struct kvfs_store *st, int drain);
void kvfs_store_release(struct kvfs_store *st);

/*
 * The inode is going away for good (no name, no opens): gives its memory
 * back now and its SSD runs once the deletion of its row has committed.
 * Caller holds ns->lock for writing.
 */
void kvfs_store_forget(struct kvfs_store *st, struct kvfs_inode *ino);

/* Installs a stored map for an inode loaded from the index: claims its
 * runs from the SSD allocator.  Returns 0, or -EUCLEAN when a run is out
 * of range or claimed twice (the caller drops the file). */
int kvfs_store_adopt(struct kvfs_store *st, struct kvfs_inode *ino,
		     struct kvfs_map *m);

/* The file's data changed or was published: queue it for the SSD under
 * write_policy=through.  Caller holds ns->lock for writing (it takes an
 * open reference on the inode until the flusher is done). */
void kvfs_store_queue(struct kvfs_store *st, struct kvfs_inode *ino);

/*
 * Makes the file resident: reads every chunk back from the SSD into
 * memory, verifying each.  No lock held by the caller.  Returns 0 (also
 * when it already was), -ENOSPC (no room even after reclaim), -EIO (a
 * media error or checksum mismatch, logged with the path).
 */
int kvfs_store_promote(struct kvfs_store *st, struct kvfs_inode *ino);

/*
 * Promotion in steps, for a sequential reader: makes [0, need) resident
 * and verified and returns 0 with *more set when chunks remain, which the
 * caller finishes with kvfs_store_promote_finish() once it has replied, so
 * the SSD reads of the rest overlap the copies of what is ready.  Other
 * readers wait for their range (kvfs_store_wait_ready).  While it runs the
 * file is not resident, and nothing else changes its extmap: writers,
 * truncation and pins wait for it.  No lock held by the caller.  Returns
 * 0, -EINPROGRESS (another thread is promoting it: wait), -ENOSPC, -EIO.
 */
int kvfs_store_promote_start(struct kvfs_store *st, struct kvfs_inode *ino,
			     uint64_t need, int *more);
void kvfs_store_promote_finish(struct kvfs_store *st, struct kvfs_inode *ino);
/* Waits until [0, need) of a promoting file is ready, or the promotion is
 * over (then the caller looks at the file again).  No lock held. */
void kvfs_store_wait_ready(struct kvfs_store *st, struct kvfs_inode *ino,
			   uint64_t need);

/*
 * Frees at least `want` bytes of memory if it can: drops the memory of
 * cold files the SSD holds (demotion), flushing cold files first when
 * needed; without an SSD, evicts cold files from the namespace.  No lock
 * held by the caller.  Returns 0 if it freed anything, else -ENOSPC.
 */
int kvfs_store_reclaim(struct kvfs_store *st, uint64_t want,
		       struct kvfs_inode *except);

/*
 * Frees at least `want` bytes on the SSD by evicting the coldest unpinned
 * stored files from the namespace, leaf-first (evict.c); never `except`.
 * No lock held.  Returns 0 if it freed enough, else -ENOSPC.
 */
int kvfs_store_ssd_room(struct kvfs_store *st, uint64_t want,
			struct kvfs_inode *except);

/* The flusher's periodic duty (evict.c): keeps free memory above the low
 * watermark by demoting cold stored files.  No lock held. */
void kvfs_store_keep_room(struct kvfs_store *st);
/* Wakes the flusher for a kvfs_store_keep_room() now, not at its next
 * second: memory filled behind the daemon's back (passthrough writers). */
void kvfs_store_kick(struct kvfs_store *st);

/*
 * Writes files[0..n) to the SSD as one batch (each write, one sync, each
 * commit) and queues their rows; files open for writing are skipped (their
 * last close queues them).  The caller holds a reference on each (an open
 * count) and no lock.  Returns 0 or the first -errno.
 */
int kvfs_store_flush_files(struct kvfs_store *st, struct kvfs_inode **files,
			   int n);

/*
 * fsync: returns once the file's data and row are durable on the SSD tier
 * (or, without one, the row).  No lock held by the caller.  Returns 0,
 * -ENOSPC, -ENOMEM, or -EIO when the SSD tier failed (logged with the
 * cause; the data stays in memory).
 */
int kvfs_store_fsync(struct kvfs_store *st, struct kvfs_inode *ino);

/*
 * Reads [off, off + len) of a non-resident file from the SSD into buf
 * (len <= 2 chunks' worth is typical; any length works), verifying every
 * chunk it touches.  Caller holds ino->lock (shared is enough).  Returns
 * 0, -ENOMEM or -EIO.
 */
int kvfs_store_read(struct kvfs_store *st, struct kvfs_inode *ino,
		    uint64_t off, void *buf, uint64_t len);

/* Loads the head of a non-resident file into memory.  Caller holds
 * ino->lock for writing.  Returns 0, -ENOSPC or -EIO. */
int kvfs_store_load_head(struct kvfs_store *st, struct kvfs_inode *ino);

#endif
