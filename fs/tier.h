/*
 * tier.h - the tier state of a published regular file: where its bytes
 * are (memory, SSD or both), one verb per transition (tier.c).
 *
 * Owns struct kvfs_tier (ino->t) and the store's counters that follow its
 * states (ssd_only_files, stored_files, stored_bytes).  It does no I/O and
 * takes no lock: the SSD reads and writes, the flush queue, the locking and
 * the policies stay with their callers (store.c, promote.c, evict.c,
 * file.c, ns.c), which call a verb once the bytes are where the new state
 * says.  Nothing else writes a field of ino->t, except the flush queue's
 * links (t.queued, t.qnext: store.c's, under store->lock); `make` checks it
 * (tools/check-tier.sh).
 *
 * The state machine (DESIGN.md 2, 3.5, 3.6).  Two facts describe it:
 * `resident` (memory holds all of the file's data) and `current` (the SSD
 * holds a copy of exactly the present data: kvfs_inode_stored(), ns.h).
 *
 *   MEM   resident, not current   written, not yet on the SSD (or changed
 *                                 since): only memory has these bytes
 *   BOTH  resident, current       flushed: memory can be dropped at once
 *   SSD   not resident, current   memory holds only the head (the first
 *                                 KVFS_HEAD bytes), once loaded
 *
 *   MEM  -> BOTH  kvfs_tier_stored(): flush_commit() (store.c), after the
 *                 chunks were written and synced
 *   BOTH -> MEM   kvfs_tier_changed(): any change of the data (file.c,
 *                 fastpath commits); kvfs_tier_emptied(): O_TRUNC or a
 *                 truncate to 0, from any state
 *   BOTH -> SSD   kvfs_tier_demoted(): demote_one() (evict.c), reclaim
 *                 dropped all but the head
 *   SSD  -> SSD   kvfs_tier_head_loaded(): the head read back (promote.c);
 *                 BOTH when the head is the whole file
 *   SSD  -> BOTH  kvfs_tier_promote_begin(), kvfs_tier_promote_ready() per
 *                 step, then kvfs_tier_promoted() (promote.c), after a
 *                 sequential reader, a writer or a fast-path pin had the
 *                 chunks read back and verified; kvfs_tier_promote_failed()
 *                 goes back to SSD.  While it runs, t.promoting
 *   load  -> BOTH or SSD  kvfs_tier_adopt(): a stored row at start (ns.c
 *                 through kvfs_store_adopt); kvfs_tier_adopt_kept(): the
 *                 memory a clean exit kept, MEM or BOTH
 *   any  -> gone  kvfs_tier_forget(): unlink, rename-replace or eviction;
 *                 memory is freed at the last close, SSD runs once the
 *                 row's deletion commits (store.c gives them back)
 * "Not resident and not current" never exists: only current data may leave
 * memory.  Without ssd= every file is MEM, and reclaim evicts whole files.
 * kvfs_tier_check() states the invariants; each verb asserts it in the
 * test build (KVFS_DCHECK) where the state must be whole.
 *
 * Locks: the fields are guarded by the inode's lock, held for writing by
 * every verb's caller, except t.promoting/t.ready (atomics, changed only
 * under store->plock: kvfs_tier_promote_*), and t.queued/t.qnext
 * (store->lock).  Order: docs/design.md, "Lock order".
 */
#ifndef KVFS_TIER_H
#define KVFS_TIER_H

#include <stdatomic.h>
#include <stdint.h>

#include "map.h"

struct kvfs_inode;
struct kvfs_store;

/* Per inode (struct kvfs_inode.t). */
struct kvfs_tier {
	struct kvfs_map stored;     /* the SSD copy; valid when has_stored */
	uint64_t stored_gen;        /* ino->data_gen when it was taken */
	uint64_t stored_bytes;      /* sum of the runs' lengths */
	uint8_t *changed;           /* [stored.n]: 1 once chunk i's bytes may
				       differ from its stored copy; a flush
				       rewrites those chunks and reuses the
				       runs of the others (NULL: all changed) */
	int has_stored;
	int resident;               /* memory holds every data byte */
	int head_loaded;            /* not resident: memory holds the head */
	int err;                    /* last failed flush (-errno), for fsync */
	atomic_int promoting;       /* SSD -> BOTH in progress (promote.c):
				       the file is allocated and filling */
	atomic_uint_fast64_t ready; /* while promoting: [0, ready) is in
				       memory and verified */
	atomic_int flushing;        /* a flush has the file's write in flight
				       (store.c): another one skips it */
	/* The flush queue's links, store.c's (store->lock). */
	int queued;                 /* on the flush queue */
	struct kvfs_inode *qnext;
};

/* A new or loaded inode's tier state: MEM, nothing stored. */
void kvfs_tier_init(struct kvfs_tier *t);
/* Frees what t holds (an inode freed without a store: no runs to give
 * back, no counters). */
void kvfs_tier_release(struct kvfs_tier *t);

/* Bytes of a file's stored copy on the SSD (0 if none). */
uint64_t kvfs_tier_ssd_bytes(const struct kvfs_tier *t);

/*
 * The state machine's invariants for one inode: not resident implies an
 * SSD copy (never "not resident and not current"), a non-resident file
 * holds at most its head in memory (unless promoting), the stored map's
 * byte count matches its runs, and a current copy has the file's size.
 * Caller holds ino->lock (either mode).  Returns 0 or -EUCLEAN (logged).
 */
int kvfs_tier_check(const struct kvfs_inode *ino);

/*
 * The verbs.  Each caller holds ino->lock for writing unless its comment
 * says otherwise.  `st` keeps the counters of store.h; where it may be NULL
 * (tests without a store) the comment says so.
 */

/*
 * BOTH -> MEM, the one verb for "the data changed": the bytes of
 * [off, off + len) differ from before (written, cut, zeroed or committed by
 * the fast path).  Marks their chunks for the next flush and moves
 * ino->data_gen, so the SSD copy is no longer current (kvfs_inode_stored())
 * and a hasher pass or flush in flight knows its bytes are old.  len may
 * run past the end (it saturates).  The caller keeps size, times, dirty
 * and the CRC itself.
 */
void kvfs_tier_changed(struct kvfs_inode *ino, uint64_t off, uint64_t len);

/* Any state -> MEM: the file's data was cut to nothing (an O_TRUNC open, a
 * truncate to 0), so nothing is elsewhere and every chunk changed.  st may
 * be NULL. */
void kvfs_tier_emptied(struct kvfs_store *st, struct kvfs_inode *ino);

/*
 * MEM -> BOTH: m (written and synced, of the present data: the caller saw
 * data_gen unchanged since it was taken) becomes the stored copy; no chunk
 * has changed since, and no flush error is pending.  Takes m over (leaves
 * it empty) and hands the replaced copy, if any, to *old (else zeroes it)
 * for the caller to give its unused runs back (store.c, rule 4).
 */
void kvfs_tier_stored(struct kvfs_store *st, struct kvfs_inode *ino,
		      struct kvfs_map *m, struct kvfs_map *old);

/* A flush of the file failed with err (-errno): fsync reports it until a
 * copy is stored or kvfs_tier_flush_retry() clears it.  The state does not
 * change: the data stays in memory. */
void kvfs_tier_flush_failed(struct kvfs_inode *ino, int err);
void kvfs_tier_flush_retry(struct kvfs_inode *ino);

/* A flush takes the file (1), unless another flush has its write in flight
 * (0: the flusher's batch and a reclaimer's flush_cold pick the same
 * coldest files, and a second write would take the SSD from the rest).
 * flush_done lets it go, committed or failed.  Not a state change: MEM
 * stays MEM until kvfs_tier_stored().  Caller holds ino->lock in either
 * mode (flush_done: none). */
int kvfs_tier_flush_claim(struct kvfs_inode *ino);
void kvfs_tier_flush_done(struct kvfs_inode *ino);

/* BOTH -> SSD: the caller dropped all of the file's memory but its head;
 * `head` says whether memory still holds the head (0: it could not be put
 * back, kvfs_data_drop_tail, and a head load reads it again).  st may be
 * NULL. */
void kvfs_tier_demoted(struct kvfs_store *st, struct kvfs_inode *ino, int head);

/* SSD: the head is in memory now (read back and verified, or a hole);
 * BOTH when the head is the whole file.  st may be NULL. */
void kvfs_tier_head_loaded(struct kvfs_store *st, struct kvfs_inode *ino);

/* SSD -> promoting: the caller allocated the whole file in memory and
 * [0, ready) is there already (the head, or nothing).  Caller holds
 * ino->lock for writing and store->plock, and wakes pcond's waiters. */
void kvfs_tier_promote_begin(struct kvfs_inode *ino, uint64_t ready);
/* Promoting: [0, ready) is read back and verified.  Caller holds
 * store->plock only (the steps run without the inode's lock; nothing else
 * changes a promoting file), and wakes pcond's waiters. */
void kvfs_tier_promote_ready(struct kvfs_inode *ino, uint64_t ready);
/* Promoting (or SSD with the whole file in its head) -> BOTH.  Caller
 * holds ino->lock for writing and store->plock.  st may be NULL. */
void kvfs_tier_promoted(struct kvfs_store *st, struct kvfs_inode *ino);
/* Promoting -> SSD: the caller punched all but the head again.  Caller
 * holds ino->lock for writing and store->plock. */
void kvfs_tier_promote_failed(struct kvfs_inode *ino);

/* Load -> BOTH (an empty file) or SSD (head not loaded): the stored row
 * read at start, whose map's runs the caller claimed on the SSD.  The
 * caller set ino->size and the CRC from m; takes m over (leaves it empty).
 * Caller holds what a load holds (nothing runs beside it). */
void kvfs_tier_adopt(struct kvfs_store *st, struct kvfs_inode *ino,
		     struct kvfs_map *m);
/* Load -> MEM or BOTH: the memory a clean exit kept holds the whole file
 * (of the row's version).  st may be NULL. */
void kvfs_tier_adopt_kept(struct kvfs_store *st, struct kvfs_inode *ino);

/*
 * Any -> gone: the inode is going away for good; the caller gave its
 * memory back.  Hands the stored copy to *old (the caller gives its runs
 * back once the row's deletion commits) and returns 1, or returns 0 with
 * *old zeroed when nothing was stored.  Caller holds ns->lock for writing.
 */
int kvfs_tier_forget(struct kvfs_store *st, struct kvfs_inode *ino,
		     struct kvfs_map *old);

#endif
