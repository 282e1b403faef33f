/*
 * backing.h - the memory tier: one backing file per memory-resident kvfs
 * file, in a tmpfs of the daemon's own.
 *
 * A kvfs file's bytes in memory are the bytes of its backing file, at the
 * same offsets.  That is what lets the kernel serve the file itself (FUSE
 * passthrough binds an open kvfs file to its backing file: read, write and
 * mmap then never reach the daemon), and what the daemon reads and writes
 * when it serves the file itself.
 *
 * Where they live (kvfs_mem_open):
 * - With CAP_SYS_ADMIN, in a tmpfs the daemon mounts for itself at
 *   <state>/mem (the "named" tier: it outlives the daemon; each backing
 *   file is named after its inode's id, so a daemon restarted after a clean
 *   exit adopts the files whose marks match their index rows, and sweeps
 *   the rest), or, where that cannot be attached, attached nowhere
 *   (fsopen/fsmount: invisible to every other process, backing files are
 *   O_TMPFILEs whose memory goes with their last descriptor).  Mounted
 *   huge=within_size: files of 2 MiB and more get transparent huge pages,
 *   smaller ones do not pay a huge page each (docs/design.md, "The memory
 *   tier").  It is mem= plus half as much again for the bytes passthrough
 *   writers put there (the kernel's writes: the daemon can neither see nor
 *   refuse them) until the daemon reclaims; the daemon's own allocations
 *   stay inside mem=.
 * - Otherwise in KVFS_MEM_FALLBACK_DIR (a tmpfs every Linux host has), as
 *   O_TMPFILEs; mem= is then the daemon's own count of the bytes it
 *   allocated.
 *
 * Sizes: a backing file is exactly as long as its kvfs file once it exists
 * (the invariant passthrough needs: the kernel takes EOF from the backing
 * file); bytes past the size are never allocated.  A file may have a hole
 * anywhere (demotion punches everything past the head).
 *
 * Locking: none inside, except the tier's counters (atomics), the warm
 * reserve's unit map and the feeder's list (kvfs_data_feed, which also
 * tries the fed file's own lock).  The caller holds the owning inode's
 * lock: shared for read/seek/crc/walk, exclusive for everything that
 * changes the file or `bytes`.
 *
 * Every function that changes a file is all-or-nothing on error: memory is
 * allocated first (fallocate), and a failure to get it changes nothing.
 */
#ifndef KVFS_BACKING_H
#define KVFS_BACKING_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* Where backing files go when the daemon cannot mount a tmpfs. */
#define KVFS_MEM_FALLBACK_DIR "/dev/shm"

/* Flags of kvfs_mem_open(). */
#define KVFS_MEM_WARM    0x1 /* warm the tier's pages now (kvfs_mem_warm_start) */
#define KVFS_MEM_NOMOUNT 0x2 /* never mount: use KVFS_MEM_FALLBACK_DIR (tests) */
#define KVFS_MEM_NOHUGE  0x4 /* the tmpfs without huge pages (huge=never) */

/* Writers whose sizes the lend hint remembers (kvfs_mem_lend_hint): a
 * large file is forgotten after this many others, where a hint decaying
 * by 1/8 a writer kept lending 256 MiB files' pages to 64 KiB ones for
 * 40 writers (docs/bench.md, stage 14). */
#define KVFS_LEND_WINDOW 8

/* The memory tier. */
struct kvfs_mem {
	int dirfd;             /* where O_TMPFILE makes backing files */
	int own_tmpfs;         /* dirfd is the root of the daemon's own tmpfs */
	int named;             /* that tmpfs is mounted where a restarted daemon
				  finds it, and backing files have names */
	char where[160];       /* kvfs_mem_where() */
	int huge;              /* that tmpfs has huge=within_size */
	uint64_t size;         /* mem=: bytes */
	atomic_uint_fast64_t used;   /* sum of every file's `bytes` */
	/* The warm reserve: see kvfs_mem_warm_start().  warm_lock guards
	 * warm_unit and is a leaf; the counters are read without it. */
	pthread_t warm_thread;
	int warm_running;
	atomic_int warm_stop;
	int warm_fd;                 /* the reserve's file, -1 for none */
	int warm_mnt;                /* its tmpfs, -1 for a memfd */
	pthread_mutex_t warm_lock;
	pthread_cond_t warm_wake;
	uint8_t *warm_unit;          /* per 2 MiB of the file: empty, being
					filled, or held (backing.c) */
	uint64_t warm_units;         /* entries in warm_unit */
	uint64_t warm_lend_ns;       /* CLOCK_MONOTONIC of the last lend */
	uint64_t lend_credit;        /* freed by lends beyond what they were
					asked, not yet asked for (backing.c,
					kvfs_mem_lend); with its time: */
	uint64_t lend_credit_ns;
	atomic_uint_fast64_t warm_held;  /* bytes the reserve holds now */
	atomic_uint_fast64_t warmed;     /* bytes it has touched, in all */
	atomic_uint_fast64_t lent;       /* bytes it has given back, in all */
	/* The sizes the last KVFS_LEND_WINDOW writers of new content left
	 * (a ring; what a new writer is lent is their largest,
	 * kvfs_mem_lend_hint) and the next slot. */
	atomic_uint_fast64_t lend_recent[KVFS_LEND_WINDOW];
	atomic_uint lend_next;
	/* The feeder (kvfs_data_feed): its thread, started with the warm
	 * thread; feed_lock guards the list of fed files.  The feeder holds
	 * it only to walk the list, and tries each file's own lock
	 * (backing.c, feed_main); holding that keeps the file listed. */
	pthread_t feed_thread;
	int feed_running;                /* stops on warm_stop */
	pthread_mutex_t feed_lock;
	pthread_cond_t feed_wake;
	struct kvfs_data *feed_head;
	atomic_uint_fast64_t fed;        /* bytes it has allocated, in all */
	/* Memory freed in 1 MiB pages and not yet allocated again 1 MiB at
	 * a time (kvfs_data_prealloc, kvfs_data_alloc): in a huge-page tier
	 * only, an estimate from the sizes of the files freed; it lapses
	 * 2 s after the last such free (backing.c, FRAG_TTL_NS). */
	atomic_uint_fast64_t frag;
	atomic_uint_fast64_t frag_ns;    /* CLOCK_MONOTONIC of that free */
	/* A restart's list of the backing files a named tier holds
	 * (kvfs_mem_list_kept): sorted ids, while the index loads. */
	uint64_t *kept;
	size_t nkept;
	int kept_listed;
	/* Passthrough: forgets a backing id the FUSE adaptor registered for
	 * a backing file that is being closed (kconn.c).  Set before use. */
	void (*unbind)(void *arg, int32_t id);
	void *unbind_arg;
};

/* One file's bytes in the memory tier. */
struct kvfs_data {
	int fd;          /* the backing file, or -1 while the file has none */
	uint64_t bytes;  /* its allocated bytes, as last seen (st_blocks) */
	int32_t bound;   /* its passthrough backing id, 0 for none (kconn.c) */
	uint64_t name;   /* in a named tier, the file's name: this, in hex
			    (the inode's id) */
	int kept;        /* marked for a restart: release leaves the file */
	uint64_t pre_end; /* pages allocated past EOF up to here for a bound
			     writer (kvfs_data_prealloc), 0 for none */
	uint64_t pieces;  /* bytes of it the daemon allocated 1 MiB at a time
			     (mem->frag), as far as it knows */
	/* While fed (kvfs_data_feed): the lock that guards this struct (NULL
	 * when not fed; set and cleared under it and mem->feed_lock), the
	 * list (mem->feed_lock), the size and mtime seen at the feeder's
	 * last look and how many write calls it saw grow the file, up to 2
	 * (the feeder's, under this struct's lock). */
	pthread_rwlock_t *feed_lock;
	struct kvfs_data *feed_next, *feed_prev;
	uint64_t feed_seen;
	struct timespec feed_mtime;
	int feed_grew;
};

/* A walk's piece that is a hole. */
#define KVFS_DATA_HOLE ((void *)0)

/*
 * Opens the tier: a tmpfs of `size` bytes of its own where the process may
 * mount one, else the fallback directory.  With `keep` (a directory path),
 * the tmpfs is the one a previous daemon left mounted there (resized to
 * `size`), or a new one attached there: it outlives the daemon, and its
 * files have names (kvfs_data_keep, kvfs_data_adopt).  Returns 0 or -errno.
 */
int kvfs_mem_open(struct kvfs_mem *mem, uint64_t size, unsigned flags,
		  const char *keep);
/* Stops the warming thread and closes the tier; every file's data must have
 * been released.  Safe on a zeroed struct with dirfd -1 or 0 never opened. */
void kvfs_mem_close(struct kvfs_mem *mem);

/*
 * The warm reserve (prefault=1).  On a VM the first touch of a guest page
 * costs 10-30x a later one (0.4-0.7 GB/s against 8-12 GB/s into a tmpfs
 * here), and a page the guest frees goes cold again within about 2 s (this
 * VM's balloon reports free pages to the host, which takes them back).
 * So touching memory once and freeing it warms nothing; the daemon holds
 * the pages instead: a background thread (nice 10) writes zeros into a
 * file of its own (a private tmpfs with huge=always, or a memfd) until it
 * holds the tier's free room (mem= less what the tier uses), 2 MiB at a
 * time, and only while the tier is quiet (no lend for 100 ms and its use
 * unchanged), so it never races a writer for the pages it just freed.
 * When the tier is about to use memory, kvfs_mem_lend frees that much of
 * the reserve first: the kernel's next allocations take those pages off
 * its free lists, still warm.  The reserve shrinks whenever the tier grows
 * past its share, so tier + reserve stay within mem=.  It never holds room
 * the tier counts: it is outside the tier's tmpfs.  No-op if running.
 */
void kvfs_mem_warm_start(struct kvfs_mem *mem);
/* Frees `bytes` of the reserve for an allocation the tier is about to
 * make: in whole 2 MiB units, what an earlier lend freed beyond what it
 * was asked (for up to 1 s) taken first, so small files lend a unit
 * between many.  Any thread; takes only warm_lock.  A no-op without a
 * reserve. */
void kvfs_mem_lend(struct kvfs_mem *mem, uint64_t bytes);
/* What a writer of new content is lent at its open (the kernel writes its
 * bytes; the daemon learns their size only at close): the largest size
 * the last KVFS_LEND_WINDOW such writers left, and 8 MiB before the
 * first. */
uint64_t kvfs_mem_lend_hint(struct kvfs_mem *mem);
/* A writer of new content left a file of `size` bytes (its release). */
void kvfs_mem_note_written(struct kvfs_mem *mem, uint64_t size);

/* Bytes the tier can still allocate (the tmpfs's free blocks, or mem=
 * minus `used`), and bytes in use. */
uint64_t kvfs_mem_free(struct kvfs_mem *mem);
uint64_t kvfs_mem_used(struct kvfs_mem *mem);
/* Bytes the kernel can still write into the tier: the tmpfs's free
 * blocks, headroom included (what a bound writer may use); without a tmpfs
 * of its own, kvfs_mem_free. */
uint64_t kvfs_mem_room(struct kvfs_mem *mem);
/* What the tier freed in 1 MiB pages lately and has not allocated again
 * (mem->frag, 0 once lapsed). */
uint64_t kvfs_mem_freed_small(struct kvfs_mem *mem);
/* "tmpfs at <state>/mem, huge=within_size" (named), "private tmpfs,
 * huge=within_size", or the fallback directory's path. */
const char *kvfs_mem_where(const struct kvfs_mem *mem);

/* `name`: the inode's id, the backing file's name in a named tier. */
void kvfs_data_init(struct kvfs_data *d, uint64_t name);
/* Closes the backing file and unbinds its backing id (its memory is freed
 * once no passthrough open holds it either) and takes its bytes off the
 * tier's count. */
void kvfs_data_release(struct kvfs_data *d, struct kvfs_mem *mem);
/*
 * The backing file, made (empty, then sized `size`) if the file has none.
 * Returns the fd, or -errno (-ENOSPC: the tier has no room for an inode).
 */
int kvfs_data_fd(struct kvfs_data *d, struct kvfs_mem *mem, uint64_t size);
/* Re-reads `bytes` from the backing file (after the kernel wrote to it on a
 * passthrough open) and fixes the tier's count.  Returns the new value. */
uint64_t kvfs_data_refresh(struct kvfs_data *d, struct kvfs_mem *mem);
/* The bytes the backing file holds now (its st_blocks), counted nowhere;
 * `bytes` where it has none. */
uint64_t kvfs_data_allocated(const struct kvfs_data *d);

/* Allocates (zeroed) every page of [off, off + len) that has no memory, and
 * grows the backing file to at least `size`; 1 MiB at a time as far as
 * mem->frag goes (kvfs_data_prealloc).  Returns 0, -ENOSPC, -EFBIG.  A
 * range that had no memory is all or nothing: on failure it has none. */
int kvfs_data_alloc(struct kvfs_data *d, struct kvfs_mem *mem, uint64_t off,
		    uint64_t len, uint64_t size);
/*
 * A bound writer of fresh content is about to write about `bytes`: gives
 * its backing file the pages now, past EOF (FALLOC_FL_KEEP_SIZE), on this
 * thread, 2 MiB at a time, each right after kvfs_mem_lend freed one unit
 * of the reserve, so the allocation takes that page (the CPU's own free
 * list is last in, first out; units freed together merge into blocks the
 * kernel splits last) and the kernel's writes find their pages.  Lends
 * `bytes` even where it allocates nothing.  As much of it as the tier
 * freed lately in 1 MiB pages (mem->frag) is allocated 1 MiB at a time:
 * a huge page would come from memory the host has taken back, while
 * those, too small for one, sit unused (docs/design.md, "The warm
 * reserve").  Best effort: nothing is done where the tier has no such
 * room, nor for `bytes` of one huge page or less.  kvfs_data_trim gives
 * back what the writer did not use.
 */
void kvfs_data_prealloc(struct kvfs_data *d, struct kvfs_mem *mem, uint64_t bytes);
/*
 * Feeds a bound writer of fresh content that keeps growing: a thread of the
 * tier (the feeder) looks at d's size (every millisecond while a listed
 * file past 8 MiB grows, less often otherwise) and, once d has grown by
 * two write calls (mtime tells them apart) and is past 16 MiB, allocates
 * the next pages past its end ahead of the kernel's writes, as
 * kvfs_data_prealloc does at the open, from the warm reserve only (what
 * the reserve does not hold, the kernel's writes allocate as before).  It stays 4 looks' growth
 * ahead, 8 to 64 MiB.  So a writer of a file far larger than its open was
 * lent writes into touched pages to its end, which on this VM is 10-20x
 * faster than into pages the host took back (docs/design.md, "The warm
 * reserve").  `lock` guards d; the caller holds it exclusive.  The feeder
 * takes it with trywrlock (a busy file waits for the next look), so the
 * caller may hold it when it stops the feeding.  A no-op without a
 * reserve; if d is fed already (a writer that truncated it while another
 * still holds it), the feeder watches it afresh.
 */
void kvfs_data_feed(struct kvfs_data *d, struct kvfs_mem *mem, pthread_rwlock_t *lock);
/* Stops feeding d; after it the feeder no longer looks at d.  Caller holds
 * d's lock.  A no-op if d is not fed.  kvfs_data_trim and
 * kvfs_data_release call it. */
void kvfs_data_unfeed(struct kvfs_data *d, struct kvfs_mem *mem);
/* Frees the pages kvfs_data_prealloc and the feeder left past EOF, and
 * stops the feeding.  Caller makes sure no bound writer is left: none may
 * write past EOF meanwhile. */
void kvfs_data_trim(struct kvfs_data *d, struct kvfs_mem *mem);
/* Copies buf to [off, off + len); the backing file grows to cover it.
 * Returns len, or -errno (-ENOSPC) with nothing changed. */
ssize_t kvfs_data_write(struct kvfs_data *d, struct kvfs_mem *mem, uint64_t off,
			const void *buf, size_t len);
/* Copies [off, off + len) to buf, holes and bytes past the backing file's
 * end as zeros.  Returns 0 or -EIO. */
int kvfs_data_read(const struct kvfs_data *d, uint64_t off, void *buf, size_t len);
/* Sets the backing file's size (ftruncate: bytes past it are freed, the
 * gap of a growth is a hole).  Returns 0 or -errno. */
int kvfs_data_truncate(struct kvfs_data *d, struct kvfs_mem *mem, uint64_t size);
/*
 * Frees all but the first `keep` bytes (at most KVFS_DATA_KEEP_MAX and one
 * page) of a file `size` bytes long: a demotion.  In a huge-page tier the
 * backing file is cut to the kept bytes, which get a small page of their
 * own (the rest reads as zeros; kvfs_data_alloc grows it back): each of
 * the file's huge pages (or large ones: a file under 2 MiB gets them up
 * to its size) goes back whole.  A punch after the head split the first
 * one, whose other 511 pages then served no huge page while the head's
 * page stayed, and a writer's next huge page came from memory the host
 * may have taken back (docs/design.md, "The warm reserve").  Returns 0; 1
 * when the kept bytes could not be put back (no page for them: they read
 * as zeros now, and the caller counts the head as gone); or -errno with
 * nothing freed.
 */
#define KVFS_DATA_KEEP_MAX 65536
int kvfs_data_drop_tail(struct kvfs_data *d, struct kvfs_mem *mem, uint64_t keep,
			uint64_t size);
/* Frees [off, off + len), zeroing partial pages (PUNCH_HOLE; the size
 * stays).  Returns 0 or -errno. */
int kvfs_data_punch(struct kvfs_data *d, struct kvfs_mem *mem, uint64_t off,
		    uint64_t len);
/* lseek SEEK_DATA / SEEK_HOLE in a file of `size` bytes; -ENXIO at or past
 * the size, or when no data is left. */
int64_t kvfs_data_seek(const struct kvfs_data *d, uint64_t off, int whence,
		       uint64_t size);
/* CRC-32C of [0, size), and continued from `crc` over [off, off + len);
 * holes as zeros. */
uint32_t kvfs_data_crc(const struct kvfs_data *d, uint64_t size);
uint32_t kvfs_data_crc_range(const struct kvfs_data *d, uint32_t crc,
			     uint64_t off, uint64_t len);

/*
 * A view: [off, off + len) of the backing file mapped shared (writable or
 * not), for the SSD tier's transfers, which need addresses (O_DIRECT from
 * and into these pages, no copy).  A writable view's range must have been
 * allocated with kvfs_data_alloc (which keeps mem=).  Views must not be
 * touched where the file has holes unless writable (kvfs_data_walk tells
 * them apart).  Returns 0, -ENODATA (no backing file) or -errno.
 */
struct kvfs_data_view {
	char *base;     /* the byte at `off` */
	void *map;      /* what to munmap */
	size_t maplen;
	uint64_t off, len;
};
int kvfs_data_view_open(struct kvfs_data *d, uint64_t off,
			uint64_t len, int writable, struct kvfs_data_view *v);
void kvfs_data_view_close(struct kvfs_data_view *v);

/*
 * Walks [off, off + len) of a view in file order, one piece per call: 1 with
 * the piece's address in the view (KVFS_DATA_HOLE in a hole) and length, 0
 * when done.  Holes come from SEEK_HOLE/SEEK_DATA (no allocation).
 */
struct kvfs_data_walk {
	const struct kvfs_data *d;
	const struct kvfs_data_view *v;
	uint64_t pos, end;
	uint64_t data_end;  /* end of the data run pos is in, or 0: ask again */
};
void kvfs_data_walk_init(struct kvfs_data_walk *w, const struct kvfs_data *d,
			 const struct kvfs_data_view *v, uint64_t off, uint64_t len);
int kvfs_data_walk_next(struct kvfs_data_walk *w, char **p, uint64_t *len);

/* Lists the backing files a named tier holds, so that kvfs_data_adopt
 * tries to open only those; kvfs_mem_unlist_kept frees the list.  Returns
 * 0 (also for an unnamed tier: nothing to list) or -errno (then adopt
 * opens every name, as without a list). */
int kvfs_mem_list_kept(struct kvfs_mem *mem);
void kvfs_mem_unlist_kept(struct kvfs_mem *mem);
/*
 * A restart (named tiers only).  kvfs_data_keep marks a file, at a clean
 * exit, with its size and CRC and makes its release leave it in place
 * (-EINVAL: not a named tier, no file, or another size).
 * kvfs_data_adopt opens the file a previous daemon kept under d's name if
 * its mark matches `size` and `crc` (the index row), and takes the mark
 * off, so a crash later cannot adopt a file changed since: 1 adopted, 0
 * not (a file without a matching mark is removed).  kvfs_mem_sweep removes
 * every file whose id `adopted` does not claim; returns how many.
 */
int kvfs_data_keep(struct kvfs_data *d, struct kvfs_mem *mem, uint64_t size,
		   uint32_t crc);
int kvfs_data_adopt(struct kvfs_data *d, struct kvfs_mem *mem, uint64_t size,
		    uint32_t crc);
int kvfs_mem_sweep(struct kvfs_mem *mem, int (*adopted)(void *arg, uint64_t id),
		   void *arg);

/* Validates fd and bytes against the backing file; 0 or -EUCLEAN. */
int kvfs_data_check(const struct kvfs_data *d, uint64_t size);

#endif
