/*
 * file.c - a regular file's data and attributes: open, read, write, flush
 * (where files are published), release, fsync, setattr, lseek, fallocate.
 *
 * Called from FUSE worker threads through ops.c.  The bytes live in the
 * memory tier's backing file of the inode (backing.h); inode->lock guards them and the
 * attributes (shared for reads, exclusive for changes), and ns->lock is taken
 * first where open counts or the publish state change (the whole order:
 * docs/design.md, "Lock order").
 *
 * Checksums.  Every file carries the CRC-32C of its content.  While a file
 * is unpublished its checksum is left stale, and publishing queues it to the
 * hasher thread (hasher.c), off the write path.  Without a hasher (unit
 * tests), and for published files, it is kept current as bytes are written,
 * so an in-place rewrite costs what it writes (DESIGN.md 3.4):
 *   1. an append (or a write past EOF) extends the CRC over the new bytes
 *      (and the zeros of any hole);
 *   2. an overwrite of at most KVFS_PATCH_MAX existing bytes patches the CRC
 *      with the XOR of old and new bytes (crc32c.h explains the algebra);
 *   3. anything else (a larger overwrite, a shrinking truncate, a punched
 *      hole) marks the CRC stale; it is recomputed when the last writer
 *      closes (by the hasher), or when someone asks for user.kvfs.crc32c;
 *   4. while the hasher's pass runs over a stale CRC (a file just
 *      published), an overwrite as in 2 patches the pass's delta instead
 *      of waiting for the pass (hash_note_write, hasher.c);
 *   5. a passthrough writer's bytes never pass through here.  At its
 *      flush the backing file's size and mtime tell whether write(2) or
 *      a first store into a mapped page changed it (pt_absorb); at its
 *      release (of a handle open for reading too) and at fsync, where
 *      they do not, the CRC is computed again and compared (pt_verify: a
 *      store into a page already written moves no mtime).  A change
 *      counts the whole file as changed: CRC stale, every chunk marked;
 *      the flusher writes those whose CRC moved (store.c, same_crc).
 *
 * Passthrough.  Where the kernel granted it (ns->passthrough), an open of
 * a file whose bytes memory holds whole is bound to the file's backing file
 * (pt_bind): the kernel then serves its read, write and mmap itself.  The
 * kernel requires every open of an inode to be bound while one is, so a
 * bound inode stays whole in memory (no demotion: evict.c) until its last
 * bound handle is released.  Opens of files the SSD holds (a header scan
 * reads 52 bytes; promoting would read the whole file) and writable opens
 * while memory is short (the daemon's writes make room; the kernel's
 * cannot) are served by the daemon.
 *
 * Opens.  A read-only open takes ns->lock shared (its open count is atomic,
 * ns.h), so opens and header reads of published files never queue behind
 * one another or behind a writer's create, rename or publish; an open for
 * writing (it counts a writer, may truncate) and a release that may free
 * the inode take it exclusive.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "crc32c.h"
#include "index.h"
#include "log.h"
#include "ns.h"
#include "tbuf.h"

/* Largest overwrite whose old bytes are read to patch the CRC: 64 KiB covers
 * header and trailer rewrites; larger overwrites are rare and recompute. */
#define KVFS_PATCH_MAX (64u * 1024)

static int64_t now_ns(void)
{
	struct timespec ts;

	kvfs_now(&ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Recomputes a stale CRC.  Caller holds ino->lock for writing. */
static void crc_refresh(struct kvfs_ns *ns, struct kvfs_inode *ino)
{
	(void)ns;
	if (ino->crc_valid)
		return;
	ino->crc = kvfs_data_crc(&ino->data, ino->size);
	ino->crc_valid = 1;
}

void kvfs_file_crc_refresh(struct kvfs_ns *ns, struct kvfs_inode *ino)
{
	crc_refresh(ns, ino);
}

/*
 * Set-id bits (Linux's rules; the kernel leaves them to kvfs, since libfuse
 * asks for FUSE_HANDLE_KILLPRIV, and kproto for FUSE_HANDLE_KILLPRIV_V2
 * with passthrough).  A change of a regular file's data (a
 * write, a truncate, an O_TRUNC open) or of its owner (chown) takes away
 *   - S_ISUID;
 *   - S_ISGID when the file is group-executable, or when the caller is not
 *     in the file's group (without S_IXGRP the bit marks mandatory locking,
 *     and a member of the group keeps it);
 * except that a caller with CAP_FSETID keeps both across a data change (a
 * chown takes S_ISUID from anyone, and S_ISGID by the rule above with
 * CAP_FSETID counting as membership).  The caller's capability and groups
 * come from /proc, read with no lock held, and only for a set-id file.
 */
static int caller_fsetid(struct kvfs_ctx *ctx)
{
	int r = kvfs_proc_has_cap(ctx->tid, CAP_FSETID);

	return r >= 0 ? r : ctx->uid == 0; /* /proc cannot tell: root has it */
}

static uint32_t setid_lost(struct kvfs_ctx *ctx, uint32_t mode, gid_t gid,
			   int chown)
{
	uint32_t lost;
	int fsetid;

	if (!ctx || !S_ISREG(mode) || !(mode & (S_ISUID | S_ISGID)))
		return 0;
	fsetid = caller_fsetid(ctx);
	if (fsetid && !chown)
		return 0;
	lost = mode & S_ISUID;
	if ((mode & S_ISGID) &&
	    ((mode & S_IXGRP) ||
	     (!fsetid && ctx->gid != gid && !kvfs_proc_in_group(ctx->tid, gid))))
		lost |= S_ISGID;
	return lost;
}

/* setid_lost() for ino as it is now; takes and drops ino->lock. */
static uint32_t setid_lost_now(struct kvfs_ctx *ctx, struct kvfs_inode *ino,
			       int chown)
{
	uint32_t mode;
	gid_t gid;

	pthread_rwlock_rdlock(&ino->lock);
	mode = ino->mode;
	gid = ino->gid;
	pthread_rwlock_unlock(&ino->lock);
	return setid_lost(ctx, mode, gid, chown);
}

/* Takes the bits of `lost` still set away, with a new ctime; 1 if any
 * were.  Caller holds ino->lock for writing. */
static int setid_drop(struct kvfs_inode *ino, uint32_t lost)
{
	lost &= ino->mode;
	if (!lost)
		return 0;
	ino->mode &= ~lost;
	kvfs_now(&ino->ctime);
	ino->dirty = 1;
	return 1;
}

/* The kernel caches the mode (attribute timeout of an hour) and a write
 * or an open refreshes only sizes and times: tell it the mode changed. */
static void setid_notify(struct kvfs_ns *ns, struct kvfs_inode *ino)
{
	if (ns->hooks.inval_inode)
		ns->hooks.inval_inode(ns->hooks.arg, ino, UINT64_MAX, 0);
}

int kvfs_file_write_setid(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
			  struct kvfs_inode *ino)
{
	uint32_t lost = setid_lost_now(ctx, ino, 0);
	int dropped;

	if (!lost)
		return 0;
	/* Recorded with the write itself, at the writer's close. */
	pthread_rwlock_wrlock(&ino->lock);
	dropped = setid_drop(ino, lost);
	pthread_rwlock_unlock(&ino->lock);
	if (dropped)
		setid_notify(ns, ino);
	return dropped;
}

/* A control file (ctl.c): its content is generated now, into the handle, so
 * every read of this open sees one snapshot.  Read-only; direct I/O, since
 * the content changes behind the kernel's back at every open. */
static int ctl_open(struct kvfs_ns *ns, struct kvfs_inode *ino, int flags,
		    struct kvfs_handle **fh)
{
	struct kvfs_handle *h;
	ssize_t n;

	if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC))
		return -EACCES;
	if (!ns->hooks.ctl_fill)
		return -ENOENT;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	n = ns->hooks.ctl_fill(ns->hooks.arg, ino->ctl, &h->ctl_buf);
	if (n < 0) {
		free(h);
		return (int)n;
	}
	h->ino = ino;
	h->flags = flags;
	h->ctl_len = (size_t)n;
	pthread_rwlock_wrlock(&ns->lock);
	ino->nopen++;
	pthread_rwlock_unlock(&ns->lock);
	*fh = h;
	return 0;
}

/* The handle's share of the page cache (caller holds ino->lock for
 * writing): cached_gen holds data_gen + 1 as of the last cached open, 0
 * for never.  Equal: the kernel's pages are still the file's bytes and may
 * be kept. */
static void open_cached(struct kvfs_inode *ino, struct kvfs_handle *h)
{
	if (!h->cached)
		return;
	h->keep_cache = ino->cached_gen == ino->data_gen + 1;
	ino->cached_gen = ino->data_gen + 1;
	ino->ncached++;
}

/* A read-only open: ns->lock shared, and ino->lock only for a cached open.
 * An evicted inode (gone, set under ns->lock exclusive) cannot be opened:
 * the kernel still had its name cached (the invalidation is queued,
 * notify.c), and ESTALE makes it look the name up again and retry, so an
 * open(O_CREAT) that raced with the eviction creates the file anew. */
static int open_shared(struct kvfs_ns *ns, struct kvfs_inode *ino,
		       struct kvfs_handle *h)
{
	int r = 0;

	pthread_rwlock_rdlock(&ns->lock);
	if (ino->gone) {
		r = -ESTALE;
	} else {
		ino->nopen++;
		if (h->cached) {
			pthread_rwlock_wrlock(&ino->lock);
			open_cached(ino, h);
			pthread_rwlock_unlock(&ino->lock);
		}
	}
	pthread_rwlock_unlock(&ns->lock);
	return r;
}

/* An open for writing: counts a writer and may truncate (O_TRUNC), under
 * ns->lock exclusive.  `lost` are the set-id bits a truncating open takes
 * (setid_lost_now()); *dropped says whether it took any. */
static int pt_absorb(struct kvfs_ns *ns, struct kvfs_inode *ino, int changed);
static void count_read(struct kvfs_ns *ns, struct kvfs_handle *h, uint64_t off,
		       size_t size);

/* Before the daemon acts on the size: what bound writers did to it. */
static void pt_size(struct kvfs_ns *ns, struct kvfs_inode *ino)
{
	if (atomic_load(&ino->npt_writers))
		(void)pt_absorb(ns, ino, 0);
}

static int open_writer(struct kvfs_ns *ns, struct kvfs_inode *ino,
		       struct kvfs_handle *h, uint32_t lost, int *dropped)
{
	int flags = h->flags, r = 0;

again:
	pthread_rwlock_wrlock(&ns->lock);
	pthread_rwlock_wrlock(&ino->lock);
	if (ino->gone) {
		r = -ESTALE; /* as in open_shared() */
		goto out;
	}
	/* A promotion fills the backing file with no lock held: truncation waits
	 * for it to end (store.h). */
	if ((flags & O_TRUNC) && atomic_load(&ino->t.promoting)) {
		pthread_rwlock_unlock(&ino->lock);
		pthread_rwlock_unlock(&ns->lock);
		kvfs_store_wait_ready(ns->store, ino, UINT64_MAX);
		goto again;
	}
	pt_size(ns, ino);
	if ((flags & O_TRUNC) && ino->size) {
		r = kvfs_data_truncate(&ino->data, ns->mem, 0);
		if (r == 0) {
			ino->size = 0;
			ino->crc = 0;
			ino->crc_valid = 1;
			kvfs_tier_emptied(ns->store, ino);
		}
	}
	/* POSIX: an O_TRUNC open of an existing file marks mtime and ctime
	 * for update, whatever its size was. */
	if (r == 0 && (flags & O_TRUNC)) {
		*dropped = setid_drop(ino, lost);
		ino->dirty = 1;
		kvfs_now(&ino->mtime);
		ino->ctime = ino->mtime;
	}
	if (r == 0) {
		ino->nopen++;
		ino->nwriters++;
		open_cached(ino, h);
	}
out:
	pthread_rwlock_unlock(&ino->lock);
	pthread_rwlock_unlock(&ns->lock);
	return r;
}

/* Memory is short when less than this part of the tier is free: a bound
 * writer then wakes the reclaimer (kvfs_store_keep_room keeps twice this
 * free while passthrough is on), and the writable opens admit.c does not
 * hold back (no SSD tier; in-place writers) are served by the daemon (see
 * "Passthrough"). */
#define PT_SHORT_DIV 8

/* A bound writer fills memory the daemon cannot refuse: below 1/4 of mem=
 * free, its open and its flush wake the reclaimer now, not at the
 * flusher's next second. */
static void pt_room(struct kvfs_ns *ns)
{
	if (kvfs_mem_free(ns->mem) < ns->mem->size / (PT_SHORT_DIV / 2))
		kvfs_store_kick(ns->store);
}

/* Whether an open of ino may be bound, memory aside: while the inode
 * has a bound open, every new one is (kernel rule).  Caller holds
 * ino->lock. */
static int pt_bindable(const struct kvfs_inode *ino, const struct kvfs_handle *h)
{
	if (ino->npassthrough)
		return 1;
	/* One mode per inode at a time: while the daemon serves an open of
	 * it, it serves the new ones too.  (A bound writer beside
	 * daemon-served readers of a file just promoted failed its open with
	 * EIO in 1 of about 10 runs of test_ssd_tier on a loaded machine;
	 * with one mode at a time there is no mix.) */
	if (!ino->t.resident || atomic_load(&ino->t.promoting) || ino->gone ||
	    ino->nserved)
		return 0;
	/* A write must clear set-id bits (issue 11's rule, file.c's write
	 * path); the kernel's own writes would not tell us. */
	return !(h->writer && (ino->mode & (S_ISUID | S_ISGID)));
}

/* Backpressure for a writer with an SSD tier (admit.c): a writer of new
 * content (a new or truncated file: it starts empty) waits until memory
 * has room for it, as a bound writer if it may be one.  In-place writers
 * (a header rewrite) are not held back: they keep the old rule.  Returns
 * whether it fits. */
static int pt_admit(struct kvfs_ns *ns, struct kvfs_handle *h, int pt)
{
	int bind, fresh;

	pthread_rwlock_rdlock(&h->ino->lock);
	fresh = h->ino->size == 0;
	bind = pt && pt_bindable(h->ino, h);
	pthread_rwlock_unlock(&h->ino->lock);
	return fresh ? kvfs_admit_writer(ns, h, bind) : 1;
}

void kvfs_file_bind(struct kvfs_ns *ns, struct kvfs_handle *h)
{
	struct kvfs_inode *ino = h->ino;
	int pt = atomic_load(&ns->passthrough) && ns->hooks.bind;
	int ssd = ns->store && ns->store->ssd, fits = 1, fd, fresh;

	if (h->writer && ssd)
		fits = pt_admit(ns, h, pt);
	if (!pt) {
		atomic_fetch_add(&ns->stats.opens_served, 1);
		return;
	}
	pthread_rwlock_wrlock(&ino->lock);
	fresh = ino->size == 0; /* new content: nothing in memory yet */
	if (ino->npassthrough == 0) {
		if (!pt_bindable(ino, h))
			goto out;
		/* No room for what it may write: the daemon serves it (its
		 * writes make room, or fail with a precise ENOSPC). */
		if (h->writer && (h->admitted ? !fits : ns->store &&
		    kvfs_mem_free(ns->mem) < ns->mem->size / PT_SHORT_DIV))
			goto out;
	}
	fd = kvfs_data_fd(&ino->data, ns->mem, ino->size);
	if (fd < 0)
		goto out;
	if (ino->data.bound <= 0) {
		int32_t id = ns->hooks.bind(ns->hooks.arg, fd);

		if (id <= 0)
			goto out; /* logged by the hook */
		ino->data.bound = id;
	}
	if (ino->npassthrough == 0) { /* the baseline pt_absorb compares with */
		struct stat st;

		if (fstat(fd, &st) == 0)
			ino->pt_mtime = st.st_mtim;
	}
	h->passthrough = 1;
	ino->npassthrough++;
	/* The kernel serves the reads, from memory: the hits count at open
	 * (the file's, and the tier's memory hit). */
	if ((h->flags & O_ACCMODE) != O_WRONLY) {
		count_read(ns, h, 0, 0);
		if (ns->store)
			atomic_fetch_add(&ns->store->stats.mem_hits, 1);
	}
	if (h->writer) {
		h->pt_writer = 1;
		atomic_fetch_add(&ino->npt_writers, 1);
	}
	/* A bound writer's pages for what it will likely write: warm ones
	 * from the reserve, allocated here on the thread that freed them
	 * (backing.h, kvfs_data_prealloc); its release trims the rest. */
	if (h->pt_writer && fresh) {
		uint64_t hint = kvfs_mem_lend_hint(ns->mem);

		kvfs_data_prealloc(&ino->data, ns->mem, hint);
		/* and more as it grows past that (kvfs_data_trim stops it) */
		kvfs_data_feed(&ino->data, ns->mem, &ino->lock);
	}
out:
	if (!h->passthrough) {
		ino->nserved++;
		h->pt_counted = 1;
	}
	pthread_rwlock_unlock(&ino->lock);
	atomic_fetch_add(h->passthrough ? &ns->stats.opens_passthrough :
			 &ns->stats.opens_served, 1);
	if (h->admitted && h->passthrough)
		kvfs_admit_bound(ns, h);
	if (h->pt_writer)
		pt_room(ns);
}

/*
 * Takes in what passthrough writers did to the backing file (rule 5).  The
 * backing file's size and mtime say what write(2) and the first store to
 * each mapped page did: they move the size, the times and the bytes
 * written.  `force` (a bound writer's release, fsync) counts the bytes as
 * changed whatever they say: a store through a mapping into a page already
 * written leaves no trace.  Returns whether anything was taken as changed.
 * Caller holds ino->lock for writing.
 */
static int pt_absorb(struct kvfs_ns *ns, struct kvfs_inode *ino, int force)
{
	struct stat st;
	int moved;

	if (ino->data.fd < 0 || fstat(ino->data.fd, &st) != 0)
		return 0;
	moved = (uint64_t)st.st_size != ino->size ||
		st.st_mtim.tv_sec != ino->pt_mtime.tv_sec ||
		st.st_mtim.tv_nsec != ino->pt_mtime.tv_nsec;
	if (!moved && !force)
		return 0;
	if (moved) {
		if ((uint64_t)st.st_size > ino->size)
			atomic_fetch_add(&ns->stats.bytes_written,
					 (uint64_t)st.st_size - ino->size);
		ino->size = (uint64_t)st.st_size;
		ino->pt_mtime = st.st_mtim;
		ino->mtime = st.st_mtim;
		ino->ctime = st.st_mtim;
	}
	kvfs_data_refresh(&ino->data, ns->mem);
	kvfs_tier_changed(ino, 0, UINT64_MAX);
	ino->crc_valid = 0;
	ino->dirty = 1;
	atomic_fetch_add(&ns->stats.pt_absorbed, 1);
	return 1;
}

/*
 * The end of a bound writer (release, fsync): pt_absorb, and where the
 * size and mtime say nothing moved, whether stores through a mapping did
 * (they leave no trace once a page was written: rule 5).  A file whose
 * CRC is known is hashed again and compared (a writable open that wrote
 * nothing, the usual write-fsync-close: nothing changes, the stored copy
 * stays current); one whose CRC is being computed counts as changed,
 * which restarts that pass over the bytes as they are now.  Returns
 * whether anything was taken as changed.  At the release of a handle
 * `h` opened write-only, the hash is skipped: a shared writable mapping
 * needs a descriptor opened for reading and writing (mmap says EACCES
 * otherwise), so such a handle made no store that left no trace; another
 * handle's mappings are checked at that handle's release (a mapping holds
 * its open until munmap).  fsync passes NULL: it answers for every
 * handle.  Caller holds ino->lock for writing.
 */
static int pt_verify(struct kvfs_ns *ns, struct kvfs_inode *ino,
		     const struct kvfs_handle *h)
{
	if (pt_absorb(ns, ino, 0))
		return 1;
	if (h && (h->flags & O_ACCMODE) == O_WRONLY)
		return 0;
	if (ino->crc_valid && kvfs_data_crc(&ino->data, ino->size) == ino->crc)
		return 0;
	return pt_absorb(ns, ino, 1);
}

void kvfs_file_pt_refresh(struct kvfs_ns *ns, struct kvfs_inode *ino)
{
	if (atomic_load(&ino->npt_writers) == 0)
		return;
	pthread_rwlock_wrlock(&ino->lock);
	pt_size(ns, ino);
	pthread_rwlock_unlock(&ino->lock);
}

int kvfs_file_open(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
		   struct kvfs_inode *ino, int flags, int cached,
		   struct kvfs_handle **fh)
{
	struct kvfs_handle *h;
	uint32_t lost = 0;
	int r, dropped = 0;

	if (ino->is_dir)
		return -EISDIR;
	if (ino->link)
		return -ELOOP; /* the kernel follows links itself; never ours */
	if (ino->ctl)
		return ctl_open(ns, ino, flags, fh);
	/* kvfs truncates at open (FUSE_CAP_ATOMIC_O_TRUNC), so the set-id
	 * bits go here too: the kernel sends no setattr for this open. */
	if ((flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY)
		lost = setid_lost_now(ctx, ino, 0);
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->ino = ino;
	h->flags = flags;
	h->writer = (flags & O_ACCMODE) != O_RDONLY;
	h->cached = cached;
	if (!h->writer)
		r = open_shared(ns, ino, h);
	else
		r = open_writer(ns, ino, h, lost, &dropped);
	if (r) {
		free(h);
		return r;
	}
	if (dropped) {
		h->setid_dropped = 1; /* ops.c waits for the notice to go */
		setid_notify(ns, ino);
	}
	kvfs_file_bind(ns, h);
	if (h->passthrough && h->cached) {
		h->cached = 0; /* the kernel's page cache is the backing file's */
		pthread_rwlock_wrlock(&ino->lock);
		ino->ncached--;
		pthread_rwlock_unlock(&ino->lock);
	}
	*fh = h;
	return 0;
}

/* How a read of [off, off + size) of a file the memory does not hold whole
 * is served (caller holds ino->lock, shared). */
enum { SERVE_MEM, SERVE_HEAD, SERVE_PROMOTE, SERVE_SSD, SERVE_WAIT };

static int read_route(struct kvfs_handle *h, uint64_t off, size_t size)
{
	struct kvfs_inode *ino = h->ino;

	if (ino->t.resident)
		return SERVE_MEM;
	/* Being promoted: what is ready is served from memory, the rest
	 * waits for its chunks. */
	if (atomic_load(&ino->t.promoting))
		return off + size <= atomic_load(&ino->t.ready) ? SERVE_MEM : SERVE_WAIT;
	if (off + size <= KVFS_HEAD)
		return ino->t.head_loaded ? SERVE_MEM : SERVE_HEAD;
	/* From the start, or on from where this handle's last read ended:
	 * a sequential reader, who will want the rest too (store.h). */
	if (off == 0 || off == h->next_off)
		return h->no_promote ? SERVE_SSD : SERVE_PROMOTE;
	return SERVE_SSD;
}

/* Moves the file towards a state where the read can be served; called
 * with no lock held.  Returns 0 to look again, or -errno. */
static int read_prepare(struct kvfs_ns *ns, struct kvfs_handle *h, int route,
			uint64_t need)
{
	struct kvfs_inode *ino = h->ino;
	int r = 0, more;

	if (route == SERVE_HEAD) {
		pthread_rwlock_wrlock(&ino->lock);
		r = kvfs_store_load_head(ns->store, ino);
		pthread_rwlock_unlock(&ino->lock);
		if (r == -ENOSPC)
			h->no_head = 1; /* served from the SSD instead */
		return r == -ENOSPC ? 0 : r;
	}
	if (route == SERVE_WAIT) {
		kvfs_store_wait_ready(ns->store, ino, need);
		return 0;
	}
	r = kvfs_store_promote_start(ns->store, ino, need, &more);
	if (r == 0 && more)
		atomic_store(&h->promote_more, 1); /* read_done goes on */
	if (r == -EINPROGRESS)
		kvfs_store_wait_ready(ns->store, ino, need);
	if (r == -ENOSPC)
		h->no_promote = 1; /* no room: read through the SSD */
	return r == -ENOSPC || r == -EINPROGRESS ? 0 : r;
}

/* The buffer a daemon-served read of memory copies into: one per FUSE
 * thread, kept between reads (tbuf.h), so kvfs_file_read_done() must not
 * free it. */
static struct kvfs_tbuf mem_buf = KVFS_TBUF_INIT;

/* Serves [off, off + size) from the backing file (the daemon-served mode:
 * a passthrough open never asks). */
static ssize_t read_mem(struct kvfs_ns *ns, struct kvfs_handle *h, uint64_t off,
			size_t size, struct iovec *iov, int *niov, void **bounce)
{
	char *buf = kvfs_tbuf_get(&mem_buf, size);
	int r;

	if (!buf)
		return -ENOMEM;
	r = kvfs_data_read(&h->ino->data, off, buf, size);
	if (r)
		return r;
	if (ns->store)
		atomic_fetch_add(&ns->store->stats.mem_hits, 1);
	iov[0].iov_base = buf;
	iov[0].iov_len = size;
	*niov = 1;
	*bounce = NULL; /* the thread's buffer: read_done frees nothing */
	return (ssize_t)size;
}

/* Serves [off, off + size) from the SSD into a buffer of its own. */
static ssize_t read_ssd(struct kvfs_ns *ns, struct kvfs_handle *h, uint64_t off,
			size_t size, struct iovec *iov, int *niov, void **bounce)
{
	char *buf = malloc(size);
	int r;

	if (!buf)
		return -ENOMEM;
	r = kvfs_store_read(ns->store, h->ino, off, buf, size);
	if (r) {
		free(buf);
		return r;
	}
	iov[0].iov_base = buf;
	iov[0].iov_len = size;
	*niov = 1;
	*bounce = buf;
	return (ssize_t)size;
}

static void count_read(struct kvfs_ns *ns, struct kvfs_handle *h, uint64_t off,
		       size_t size)
{
	struct kvfs_inode *ino = h->ino;

	if (!h->counted_hit && ino->published) {
		h->counted_hit = 1;
		atomic_fetch_add(&ino->hits, 1);
		atomic_fetch_add(&ns->stats.hits, 1);
	}
	h->next_off = off + size;
	atomic_store(&ino->last_access_ns, now_ns());
	atomic_fetch_add(&ns->stats.bytes_read, size);
}

ssize_t kvfs_file_read_begin(struct kvfs_ns *ns, struct kvfs_handle *h,
			     uint64_t off, size_t size, struct iovec *iov,
			     int *niov, void **bounce)
{
	struct kvfs_inode *ino = h->ino;
	ssize_t n;
	int route, r;

	*niov = 0;
	*bounce = NULL;
	for (int tries = 0;; tries++) {
		pthread_rwlock_rdlock(&ino->lock);
		if (h->ctl_buf) {
			if (off >= h->ctl_len || size == 0)
				return 0;
			if (size > h->ctl_len - off)
				size = h->ctl_len - off;
			iov[0].iov_base = h->ctl_buf + off;
			iov[0].iov_len = size;
			*niov = 1;
			return (ssize_t)size;
		}
		if (off >= ino->size || size == 0)
			return 0;
		if (size > ino->size - off)
			size = ino->size - off;
		route = ns->store ? read_route(h, off, size) : SERVE_MEM;
		if (route == SERVE_HEAD && h->no_head)
			route = SERVE_SSD;
		if (route == SERVE_MEM || route == SERVE_SSD ||
		    (tries >= 3 && route != SERVE_WAIT))
			break;
		pthread_rwlock_unlock(&ino->lock);
		r = read_prepare(ns, h, route, off + size);
		if (r)
			return r;
	}
	if (route == SERVE_MEM)
		n = read_mem(ns, h, off, size, iov, niov, bounce);
	else
		n = read_ssd(ns, h, off, size, iov, niov, bounce);
	if (n < 0) {
		pthread_rwlock_unlock(&ino->lock);
		return n;
	}
	count_read(ns, h, off, size);
	return (ssize_t)size;
}

void kvfs_file_read_done(struct kvfs_ns *ns, struct kvfs_handle *h, void *bounce)
{
	struct kvfs_inode *ino = h->ino;
	/* Read before the lock goes: once it does, a release of the handle
	 * (the reply is out, the reader may close) can free h. */
	int more = atomic_exchange(&h->promote_more, 0);

	pthread_rwlock_unlock(&ino->lock);
	free(bounce);
	/* This read started a promotion and was answered as soon as its own
	 * bytes were in: now, with the reply gone, read in the rest while
	 * the reader copies out what is ready (store.h).  The promotion holds
	 * an open reference on ino. */
	if (more)
		kvfs_store_promote_finish(ns->store, ino);
}

/* A write of buf to [off, off + len) while the hasher's pass runs over a
 * stale CRC (hasher.c): an overwrite of at most KVFS_PATCH_MAX bytes inside
 * the file patches the pass's delta for the part already hashed, tears the
 * step in progress if it touches it, and counts itself, so the pass goes
 * on; anything else is not counted, and the pass starts over.  Caller
 * holds ino->lock for writing. */
static void hash_note_write(struct kvfs_ns *ns, struct kvfs_inode *ino,
			    const char *buf, size_t len, uint64_t off)
{
	size_t seen;
	char *old;

	if (!ino->hash_active || ino->size != ino->hash_size ||
	    off > ino->size || len > ino->size - off || len > KVFS_PATCH_MAX)
		return;
	seen = off < ino->hash_pos ?
	       (ino->hash_pos - off < len ? (size_t)(ino->hash_pos - off) : len) : 0;
	if (seen) {
		old = malloc(seen);
		if (!old)
			return; /* not counted: the pass starts over */
		(void)kvfs_data_read(&ino->data, off, old, seen);
		ino->hash_delta ^= kvfs_crc32c_patch(0, ino->size, off, old, buf, seen);
		free(old);
	}
	if (off < ino->hash_end && off + len > ino->hash_pos)
		ino->hash_torn = 1; /* the step in progress runs again */
	ino->hash_patches++; /* this write's data_gen step */
	atomic_fetch_add(&ns->stats.crc_patched_writes, 1);
}

/* Keeps the CRC current across a write of buf to [off, off + len) (rules 1
 * and 2 at the top of this file).  Called before the bytes change; caller
 * holds ino->lock for writing.  Cannot fail: at worst the CRC goes stale. */
static void crc_before_write(struct kvfs_ns *ns, struct kvfs_inode *ino,
			     const char *buf, size_t len, uint64_t off)
{
	size_t over = 0;

	if (!ino->published && ns->hasher) {
		ino->crc_valid = 0; /* computed off the write path at publish */
		return;
	}
	if (!ino->crc_valid) {
		hash_note_write(ns, ino, buf, len, off);
		return;
	}
	if (off < ino->size)
		over = len < ino->size - off ? len : ino->size - off;
	if (over) {
		char *old = over <= KVFS_PATCH_MAX ? malloc(over) : NULL;

		if (!old) {
			ino->crc_valid = 0;
			return;
		}
		(void)kvfs_data_read(&ino->data, off, old, over);
		ino->crc = kvfs_crc32c_patch(ino->crc, ino->size, off, old, buf, over);
		free(old);
	} else if (off > ino->size) {
		ino->crc = kvfs_crc32c_zeros(ino->crc, off - ino->size);
	}
	if (len > over)
		ino->crc = kvfs_crc32c(ino->crc, buf + over, len - over);
}

int kvfs_file_lock_resident(struct kvfs_ns *ns, struct kvfs_inode *ino)
{
	for (;;) {
		int r;

		pthread_rwlock_wrlock(&ino->lock);
		if (ino->t.resident || !ns->store)
			return 0;
		pthread_rwlock_unlock(&ino->lock);
		r = kvfs_store_promote(ns->store, ino);
		if (r)
			return r;
	}
}

/* How long a daemon-served change waits for files on their way to the
 * SSD, looking again every ROOM_POLL_MS. */
#define ROOM_WAIT_MS 2000
#define ROOM_POLL_MS 10

/*
 * A change needs memory it could not get: make room and say whether to
 * try again.  The reclaimer demotes stored files and flushes cold ones;
 * what it cannot free yet is files on their way to the SSD: queued at
 * their writer's close, in the flusher's batch, or still being written by
 * another admitted writer (admit.h).  With an SSD tier and any of those,
 * the change waits for them (a writer that outruns the SSD is slowed, not
 * failed), up to ROOM_WAIT_MS; then, or with none, -ENOSPC stands.
 */
static int room_for(struct kvfs_ns *ns, struct kvfs_inode *ino, uint64_t want,
		    int *tries)
{
	struct kvfs_store *st = ns->store;

	if (!st || (*tries)++ >= 3 + ROOM_WAIT_MS / ROOM_POLL_MS)
		return 0;
	if (kvfs_store_reclaim(st, want, ino) == 0)
		return 1;
	if (!st->ssd || (atomic_load(&st->stats.queue_depth) == 0 &&
			 atomic_load(&st->stats.flushing) == 0 &&
			 kvfs_admit_writers(&ns->admit) <= 1))
		return 0;
	kvfs_store_kick(st);
	usleep(ROOM_POLL_MS * 1000);
	return 1;
}

/*
 * A write through a handle whose writer was already declared done: the
 * flush of a dup(2)'s close came first (dd of=, shell redirections), while
 * the process still writes through the other descriptor.  The handle is a
 * writer again, so that its last flush or release records the change and
 * queues it for the SSD (writer_done).
 */
static void writer_again(struct kvfs_ns *ns, struct kvfs_handle *h)
{
	pthread_rwlock_wrlock(&ns->lock);
	if (!h->writer) {
		h->writer = 1;
		h->ino->nwriters++;
	}
	pthread_rwlock_unlock(&ns->lock);
}

ssize_t kvfs_file_write(struct kvfs_ns *ns, struct kvfs_handle *h,
			const void *buf, size_t size, uint64_t off)
{
	struct kvfs_inode *ino = h->ino;
	uint32_t crc_before, delta_before;
	uint64_t lo, patches_before;
	int valid_before, inval, tries = 0;
	ssize_t r;

	if (off > KVFS_MAX_FILESIZE || size > KVFS_MAX_FILESIZE - off)
		return -EFBIG;
	if (size == 0)
		return 0;
	if (!h->writer)
		writer_again(ns, h);
again:
	r = kvfs_file_lock_resident(ns, ino);
	if (r)
		return r;
	crc_before = ino->crc;
	valid_before = ino->crc_valid;
	delta_before = ino->hash_delta;
	patches_before = ino->hash_patches;
	crc_before_write(ns, ino, buf, size, off);
	r = kvfs_data_write(&ino->data, ns->mem, off, buf, size);
	if (r < 0) {
		ino->crc = crc_before;
		ino->crc_valid = valid_before;
		ino->hash_delta = delta_before;
		ino->hash_patches = patches_before;
		pthread_rwlock_unlock(&ino->lock);
		if (r == -ENOSPC && room_for(ns, ino, size, &tries))
			goto again;
		if (r == -ENOSPC)
			atomic_fetch_add(&ns->stats.enospc, 1);
		return r;
	}
	lo = off < ino->size ? off : ino->size; /* a gap past EOF changes too */
	if (off + size > ino->size)
		ino->size = off + size;
	kvfs_tier_changed(ino, lo, off + size - lo);
	kvfs_now(&ino->mtime);
	ino->ctime = ino->mtime;
	ino->dirty = 1;
	/* Pages cached for other opens are stale now (written via direct I/O). */
	inval = ino->ncached > 0 && !h->cached;
	pthread_rwlock_unlock(&ino->lock);
	atomic_fetch_add(&ns->stats.bytes_written, size);
	if (inval && ns->hooks.inval_inode)
		ns->hooks.inval_inode(ns->hooks.arg, ino, off, size);
	return r;
}

/* The last writer is done: publish, make the CRC current, record the row.
 * Caller holds ns->lock for writing. */
/* The end of a change (the last writer's flush, a bound writer's
 * release): the CRC to the hasher (or computed here), the file published
 * or its row recorded.  Returns whether it is to be queued for the SSD.
 * Caller holds ns->lock (either way) and ino->lock for writing. */
static int settle(struct kvfs_ns *ns, struct kvfs_inode *ino)
{
	if (!ino->crc_valid && kvfs_hasher_queue(ns, ino) != 0)
		crc_refresh(ns, ino);
	if (!ino->published) {
		/* An O_TMPFILE file is published when linked (kvfs_ns_link):
		 * it has no name to show yet, and is freed if it never gets
		 * one. */
		ino->published = 1;
		ino->owner_tgid = 0;
		if (!ino->tmpfile)
			atomic_fetch_add(&ns->stats.published, 1);
		kvfs_ns_record(ns, ino, 1);
	} else if (ino->dirty) {
		kvfs_ns_record(ns, ino, 0);
	}
	return ino->t.resident && !kvfs_inode_stored(ino);
}

/* The close of ino that waited for its release (closed_h) is decided:
 * wakes the requests waiting for it.  Caller holds ns->lock for writing. */
static void close_settled(struct kvfs_ns *ns, struct kvfs_inode *ino)
{
	ino->closed_h = NULL;
	KVFS_ASSERT(atomic_load(&ns->nclosing) > 0);
	atomic_fetch_sub(&ns->nclosing, 1);
	pthread_mutex_lock(&ns->settle_lock);
	ns->settle_gen++;
	pthread_cond_broadcast(&ns->settle_cond);
	pthread_mutex_unlock(&ns->settle_lock);
}

static void writer_done(struct kvfs_ns *ns, struct kvfs_handle *h)
{
	struct kvfs_inode *ino = h->ino;
	int queue;

	if (ino->closed_h == h)
		close_settled(ns, ino);
	h->writer = 0;
	KVFS_ASSERT(ino->nwriters > 0);
	if (--ino->nwriters > 0)
		return;
	pthread_rwlock_wrlock(&ino->lock);
	queue = settle(ns, ino);
	KVFS_DCHECK(kvfs_inode_check(ino) == 0); /* published, last writer gone */
	/* A bound writer's bytes are final only at its release (pt_settle
	 * queues the file then): storing them now would be discarded by the
	 * release's change and written twice. */
	queue = queue && atomic_load(&ino->npt_writers) == 0;
	pthread_rwlock_unlock(&ino->lock);
	if (queue)
		kvfs_store_queue(ns->store, ino); /* write_policy=through */
}

/*
 * flush comes with every close(2) of every descriptor of the open file:
 * the copies a fork inherits and closes at exec, and a dup(2) closed while
 * the original stays open.  A flush from another process publishes nothing.
 * One from the creator notes the close (closed_h) and returns: the release
 * of the handle, which the kernel queues before that close(2) returns when
 * it was the handle's last descriptor, publishes (writer_done).  A request
 * that meets the file hidden before that settles it (kvfs_file_settle).
 * Deciding here instead costs a statx of every descriptor the creator has
 * (kvfs_proc_holds, about 1 us each), and engines hold hundreds; only a
 * close after fsync does it still, so that close makes the file durable.
 */
static void close_defer(struct kvfs_ns *ns, struct kvfs_handle *h)
{
	struct kvfs_inode *ino = h->ino;

	pthread_rwlock_wrlock(&ns->lock);
	if (h->writer && !ino->published) {
		if (!ino->closed_h)
			atomic_fetch_add(&ns->nclosing, 1);
		ino->closed_h = h;
		atomic_fetch_add(&ns->stats.closes_deferred, 1);
	}
	pthread_rwlock_unlock(&ns->lock);
}

int kvfs_file_flush(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
		    struct kvfs_handle *h)
{
	struct kvfs_inode *ino = h->ino;
	int creator_done = 0;

	if (h->pt_writer) {
		pthread_rwlock_wrlock(&ino->lock);
		(void)pt_absorb(ns, ino, 0);
		pthread_rwlock_unlock(&ino->lock);
		pt_room(ns);
	}
	if (!h->writer)
		return 0;
	if (!ino->published && kvfs_ctx_in_process(ctx, ino->owner_tgid)) {
		if (!h->sync_publish) {
			close_defer(ns, h);
			return 0;
		}
		creator_done = kvfs_proc_holds(ino->owner_tgid, ino->id) == 0;
	}
	pthread_rwlock_wrlock(&ns->lock);
	if (h->writer && (ino->published || creator_done))
		writer_done(ns, h);
	pthread_rwlock_unlock(&ns->lock);
	/* An fsync before publish made nothing durable (there was no entry
	 * yet): this close, which published the file, keeps its promise. */
	if (h->sync_publish && !h->writer) {
		h->sync_publish = 0;
		return kvfs_store_fsync(ns->store, ino);
	}
	return 0;
}

/* How long a request waits for a close's release before it reads the
 * creator's descriptors instead (kvfs_file_settle): the release is queued
 * before close(2) returns and is handled in microseconds, unless a dup or
 * a child holds the handle (then it may never come) or the kernel held it
 * back behind max_background others. */
#define SETTLE_WAIT_MS 10

void kvfs_file_settle(struct kvfs_ns *ns, struct kvfs_inode *ino)
{
	struct timespec deadline;
	pid_t owner = 0;
	int held = 0, pending, timed_out = 0;

	kvfs_deadline_ms(&deadline, SETTLE_WAIT_MS);
	for (;;) {
		uint64_t gen;

		pthread_mutex_lock(&ns->settle_lock);
		gen = ns->settle_gen;
		pthread_mutex_unlock(&ns->settle_lock);
		pthread_rwlock_rdlock(&ns->lock);
		pending = ino->closed_h != NULL;
		owner = ino->owner_tgid;
		pthread_rwlock_unlock(&ns->lock);
		if (!pending || timed_out)
			break;
		pthread_mutex_lock(&ns->settle_lock);
		if (ns->settle_gen == gen)
			timed_out = pthread_cond_timedwait(&ns->settle_cond,
							   &ns->settle_lock,
							   &deadline) == ETIMEDOUT;
		pthread_mutex_unlock(&ns->settle_lock);
	}
	/* No release: decide as a flush would, from the creator's
	 * descriptors (read before taking any lock). */
	if (pending)
		held = kvfs_proc_holds(owner, ino->id);
	pthread_rwlock_wrlock(&ns->lock);
	if (pending && ino->closed_h) {
		atomic_fetch_add(&ns->stats.closes_scanned, 1);
		if (held == 0)
			writer_done(ns, ino->closed_h); /* publishes, settles */
		else
			close_settled(ns, ino); /* hidden until its next close */
	}
	kvfs_ns_put_open(ns, ino); /* the hold visible() took */
	pthread_rwlock_unlock(&ns->lock);
}

void kvfs_file_settle_all(struct kvfs_ns *ns)
{
	struct timespec deadline;
	int timed_out = 0;

	if (atomic_load(&ns->nclosing) == 0)
		return;
	kvfs_deadline_ms(&deadline, SETTLE_WAIT_MS);
	pthread_mutex_lock(&ns->settle_lock);
	while (atomic_load(&ns->nclosing) > 0 && !timed_out)
		timed_out = pthread_cond_timedwait(&ns->settle_cond, &ns->settle_lock,
						   &deadline) == ETIMEDOUT;
	pthread_mutex_unlock(&ns->settle_lock);
}

/* A published file whose last bound writer was released: what
 * writer_done left for then (settle), unless it is unlinked.  Caller holds
 * ns->lock. */
static void pt_settle(struct kvfs_ns *ns, struct kvfs_inode *ino)
{
	int queue;

	pthread_rwlock_wrlock(&ino->lock);
	queue = ino->nlink > 0 && settle(ns, ino);
	pthread_rwlock_unlock(&ino->lock);
	if (queue)
		kvfs_store_queue(ns->store, ino);
}

void kvfs_file_release(struct kvfs_ns *ns, struct kvfs_handle *h)
{
	struct kvfs_inode *ino = h->ino;
	int shared, pt_settled = 0;

	/* A reader's close of a named file frees nothing, so ns->lock shared
	 * is enough (ns.h); a writer's (it may publish) or the close of an
	 * unlinked file (it may free the inode) takes it exclusive. */
	pthread_rwlock_rdlock(&ns->lock);
	shared = !h->writer && !h->pt_writer && ino->nlink > 0;
	if (!shared) {
		pthread_rwlock_unlock(&ns->lock);
		pthread_rwlock_wrlock(&ns->lock);
	}
	if (h->writer)
		writer_done(ns, h);
	pthread_rwlock_wrlock(&ino->lock);
	if (h->cached)
		ino->ncached--;
	if (h->passthrough) {
		KVFS_ASSERT(ino->npassthrough > 0);
		ino->npassthrough--;
	} else if (h->pt_counted) {
		KVFS_ASSERT(ino->nserved > 0);
		ino->nserved--;
	}
	if (h->pt_writer) {
		/* The last bound writer: no write past EOF can come now. */
		if (atomic_fetch_sub(&ino->npt_writers, 1) == 1)
			kvfs_data_trim(&ino->data, ns->mem);
		/* Writes through a mapping may outlive the last flush (mmap,
		 * close, store, munmap): the release is their end. */
		(void)pt_verify(ns, ino, h);
		/* The last bound writer: what writer_done left for now. */
		pt_settled = ino->published && ino->nwriters == 0 &&
			     atomic_load(&ino->npt_writers) == 0;
	}
	/* What the next writer is lent (h->writer is cleared at publish). */
	if ((h->flags & O_ACCMODE) != O_RDONLY && ino->size)
		kvfs_mem_note_written(ns->mem, ino->size);
	/* Hits and access times change on reads; record them at close, alone
	 * unless something else of the row changed too (a header scan closes
	 * thousands of files a second: rewriting each row and its chunk map
	 * cost a quarter of the scan). */
	if (h->counted_hit && ino->in_index && ino->dirty)
		kvfs_ns_record(ns, ino, 0);
	else if (h->counted_hit && ino->in_index && ns->index)
		kvfs_index_touch(ns->index, ino->id, atomic_load(&ino->hits),
				 atomic_load(&ino->last_access_ns));
	pthread_rwlock_unlock(&ino->lock);
	/* Both while this open still holds the inode: without a kernel
	 * lookup left (a FORGET may be handled before this RELEASE), the put
	 * below frees an unlinked file. */
	if (pt_settled)
		pt_settle(ns, ino);
	/* Others' admissions read its size through the list; and once its
	 * file can be stored (queued just above): the opens this wakes
	 * reclaim it at once. */
	kvfs_admit_done(ns, h);
	if (shared) {
		KVFS_ASSERT(ino->nopen > 0);
		ino->nopen--; /* named: nothing to free, whatever the count */
	} else {
		kvfs_ns_put_open(ns, ino);
	}
	pthread_rwlock_unlock(&ns->lock);
	free(h->ctl_buf);
	free(h);
}

int kvfs_file_fsync(struct kvfs_ns *ns, struct kvfs_handle *h, int datasync)
{
	struct kvfs_inode *ino = h->ino;
	int record;

	(void)datasync;
	if (h->pt_writer) {
		pthread_rwlock_wrlock(&ino->lock);
		(void)pt_verify(ns, ino, NULL);
		pthread_rwlock_unlock(&ino->lock);
	}
	if (ns->store && ns->store->ssd) {
		if (h->writer && !ino->published)
			h->sync_publish = 1; /* kvfs_file_flush syncs it */
		return kvfs_store_fsync(ns->store, ino);
	}
	/* Memory only: fsync makes the metadata durable (the index row) and
	 * says nothing more; the data does not outlive the daemon. */
	pthread_rwlock_rdlock(&ns->lock);
	pthread_rwlock_wrlock(&ino->lock);
	record = ino->published && ino->dirty;
	if (record)
		kvfs_ns_record(ns, ino, 0);
	pthread_rwlock_unlock(&ino->lock);
	pthread_rwlock_unlock(&ns->lock);
	return ns->index ? kvfs_index_sync(ns->index, 1) : 0;
}

int64_t kvfs_file_lseek(struct kvfs_ns *ns, struct kvfs_handle *h,
			int64_t off, int whence)
{
	struct kvfs_inode *ino = h->ino;
	int64_t r;

	if (whence != SEEK_DATA && whence != SEEK_HOLE)
		return -EINVAL;
	if (off < 0)
		return -ENXIO;
	kvfs_file_pt_refresh(ns, ino);
	pthread_rwlock_rdlock(&ino->lock);
	if (ino->t.resident)
		r = kvfs_data_seek(&ino->data, (uint64_t)off, whence, ino->size);
	else if ((uint64_t)off >= ino->size)
		r = -ENXIO; /* on the SSD: reported as all data */
	else
		r = whence == SEEK_DATA ? off : (int64_t)ino->size;
	pthread_rwlock_unlock(&ino->lock);
	return r;
}

int kvfs_file_fallocate(struct kvfs_ns *ns, struct kvfs_handle *h, int mode,
			uint64_t off, uint64_t len)
{
	struct kvfs_inode *ino = h->ino;
	int keep = mode & FALLOC_FL_KEEP_SIZE;
	int r, tries = 0;

	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE))
		return -EOPNOTSUPP;
	if ((mode & FALLOC_FL_PUNCH_HOLE) && !keep)
		return -EINVAL; /* as the kernel requires */
	if (len == 0)
		return -EINVAL;
	if (off > KVFS_MAX_FILESIZE || len > KVFS_MAX_FILESIZE - off)
		return -EFBIG;
again:
	r = kvfs_file_lock_resident(ns, ino);
	if (r)
		return r;
	pt_size(ns, ino);
	if (mode & FALLOC_FL_PUNCH_HOLE) {
		uint64_t end = off + len < ino->size ? off + len : ino->size;

		r = off < end ? kvfs_data_punch(&ino->data, ns->mem, off, end - off) : 0;
		if (r == 0 && off < end)
			ino->crc_valid = 0;
	} else {
		r = kvfs_data_alloc(&ino->data, ns->mem, off, len,
				    keep ? 0 : off + len);
		if (r == 0 && !keep && off + len > ino->size) {
			if (ino->crc_valid)
				ino->crc = kvfs_crc32c_zeros(ino->crc, off + len - ino->size);
			ino->size = off + len;
		}
	}
	if (r == 0) {
		kvfs_tier_changed(ino, off, len);
		ino->dirty = 1;
		kvfs_now(&ino->ctime);
		if (!keep || (mode & FALLOC_FL_PUNCH_HOLE))
			ino->mtime = ino->ctime;
	}
	pthread_rwlock_unlock(&ino->lock);
	if (r == -ENOSPC && room_for(ns, ino, len, &tries))
		goto again;
	return r;
}

/* Changes the size.  Caller holds ino->lock for writing. */
static int set_size(struct kvfs_ns *ns, struct kvfs_inode *ino, uint64_t size)
{
	int r;

	pt_size(ns, ino);
	if (size > KVFS_MAX_FILESIZE)
		return -EFBIG;
	if (size == ino->size)
		return 0;
	if (!ino->t.resident && size)
		return -EAGAIN; /* demoted since the caller promoted it */
	/* The backing file follows the size both ways. */
	r = kvfs_data_truncate(&ino->data, ns->mem, size);
	if (r)
		return r;
	if (size < ino->size) {
		ino->crc_valid = size == 0 ? 1 : 0;
		if (size == 0)
			ino->crc = 0;
	} else if (ino->crc_valid) {
		ino->crc = kvfs_crc32c_zeros(ino->crc, size - ino->size);
	}
	/* Everything between the old and the new end changed (cut or zeroed),
	 * and so did the chunk of the old end. */
	if (size == 0)
		kvfs_tier_emptied(ns->store, ino); /* nothing left elsewhere */
	else if (size < ino->size)
		kvfs_tier_changed(ino, size, ino->size - size);
	else
		kvfs_tier_changed(ino, ino->size, size - ino->size);
	ino->size = size;
	kvfs_now(&ino->mtime);
	return 0;
}

static void set_time(struct timespec *dst, const struct timespec *src, int now)
{
	if (now)
		kvfs_now(dst);
	else
		*dst = *src;
}

int kvfs_file_setattr(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
		      struct kvfs_inode *ino, const struct stat *attr, int to_set,
		      struct stat *out)
{
	uint32_t lost = 0;
	int r = 0, tries = 0;

	if (ino->ctl)
		return -EPERM;
	if ((to_set & KVFS_SET_SIZE) && ino->is_dir)
		return -EISDIR;
	if ((to_set & KVFS_SET_SIZE) && (attr->st_size < 0 || ino->link))
		return -EINVAL;
	/* Set-id bits (see setid_lost): a truncate or the kernel's request
	 * by the data rule, a chown by its own; an explicit mode wins. */
	if (!(to_set & KVFS_SET_MODE)) {
		if (to_set & (KVFS_SET_SIZE | KVFS_SET_KILL_SUIDGID))
			lost = setid_lost_now(ctx, ino, 0);
		if (to_set & (KVFS_SET_UID | KVFS_SET_GID))
			lost |= setid_lost_now(ctx, ino, 1);
	}
	/* A size change needs the data in memory; a file the SSD alone holds
	 * comes back first (truncation to 0 needs nothing back). */
again:
	if ((to_set & KVFS_SET_SIZE) && attr->st_size > 0 && ns->store &&
	    (r = kvfs_store_promote(ns->store, ino)) != 0)
		return r;
	pthread_rwlock_rdlock(&ns->lock);
	pthread_rwlock_wrlock(&ino->lock);
	if (to_set & KVFS_SET_SIZE)
		r = set_size(ns, ino, (uint64_t)attr->st_size);
	if (r == -EAGAIN && tries++ < 3) {
		pthread_rwlock_unlock(&ino->lock);
		pthread_rwlock_unlock(&ns->lock);
		goto again;
	}
	if (r == 0) {
		if (to_set & KVFS_SET_MODE)
			ino->mode = (ino->mode & S_IFMT) | (attr->st_mode & 07777);
		if (to_set & KVFS_SET_UID)
			ino->uid = attr->st_uid;
		if (to_set & KVFS_SET_GID)
			ino->gid = attr->st_gid;
		setid_drop(ino, lost);
		if (to_set & (KVFS_SET_ATIME | KVFS_SET_ATIME_NOW))
			set_time(&ino->atime, &attr->st_atim, to_set & KVFS_SET_ATIME_NOW);
		if (to_set & (KVFS_SET_MTIME | KVFS_SET_MTIME_NOW))
			set_time(&ino->mtime, &attr->st_mtim, to_set & KVFS_SET_MTIME_NOW);
		kvfs_now(&ino->ctime);
		if (to_set & KVFS_SET_CTIME)
			ino->ctime = attr->st_ctim;
		ino->dirty = 1;
		kvfs_ns_record(ns, ino, 0);
		kvfs_inode_stat(ino, out);
	}
	pthread_rwlock_unlock(&ino->lock);
	pthread_rwlock_unlock(&ns->lock);
	return r;
}
