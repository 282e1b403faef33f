/*
 * arena.h - the memory tier's one arena.
 *
 * The arena is a private memfd of `size` bytes mapped once, read-write and
 * shared, at `base`.  Every byte of file data that lives in memory lives
 * here, at offsets handed out by the extent allocator (alloc.h).  No other
 * process maps it (the GPU library maps kvfs files instead: docs/gpu.md).
 *
 * Fresh-page faults are slow on small VMs (tmpfs writes 0.3-0.7 GB/s against
 * 15 GB/s memcpy), so kvfs_arena_open() can start a background thread that
 * faults the whole arena in, lowest offsets first (the allocator hands those
 * out first), without delaying the mount.  Writers may race with it: faulting
 * in a page never changes its contents.
 */
#ifndef KVFS_ARENA_H
#define KVFS_ARENA_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Flags for kvfs_arena_open(). */
#define KVFS_ARENA_PREFAULT 0x1 /* fault every page in from a background thread */
#define KVFS_ARENA_HUGE     0x2 /* ask for transparent huge pages (madvise) */

struct kvfs_arena {
	int fd;              /* file holding the bytes, close-on-exec */
	char *base;          /* shared mapping of all `size` bytes */
	uint64_t size;       /* bytes, a multiple of KVFS_ALLOC_UNIT */
	unsigned flags;
	pthread_t prefault_thread;
	int prefault_running;          /* thread was started and not yet joined */
	atomic_int prefault_stop;      /* set by close to stop the thread early */
	atomic_uint_fast64_t faulted;  /* bytes faulted in so far, grows to size */
	atomic_uint_fast64_t unbacked; /* bytes kvfs_arena_back() could not back */
};

/*
 * Creates and maps an arena of `size` bytes (rounded up to KVFS_ALLOC_UNIT).
 * On error returns -errno (-ENOMEM when the mapping fails) and leaves *a
 * unusable; kvfs_arena_close() is then not needed.
 */
int kvfs_arena_open(struct kvfs_arena *a, uint64_t size, unsigned flags);

/* Starts the prefault thread now (for an arena opened without
 * KVFS_ARENA_PREFAULT: the daemon starts it once the index is loaded, so
 * the two do not compete for the CPU at start).  No-op if running. */
void kvfs_arena_prefault_start(struct kvfs_arena *a);
/* Stops the prefault thread, unmaps and closes.  Safe on a zeroed struct. */
void kvfs_arena_close(struct kvfs_arena *a);

/*
 * Makes sure [off, off + len) has memory behind it before anything touches
 * it.  The arena's file is sparse tmpfs (or memfd) until the prefault
 * thread has passed, and a page that cannot be allocated then (a full
 * /dev/shm) is SIGBUS for whoever touches it first: the daemon, or a GPU
 * client.  Below the prefault's mark this is a load; above it, one
 * fallocate(2).  Returns 0, or -ENOSPC (logged once) when the file system
 * has no room: the caller must not use the range.
 */
int kvfs_arena_back(struct kvfs_arena *a, uint64_t off, uint64_t len);

/* Pointer to arena offset `off`; the caller has checked off < size. */
static inline void *kvfs_arena_ptr(const struct kvfs_arena *a, uint64_t off)
{
	return a->base + off;
}

#endif
