/*
 * arena.c - the memory tier's arena: a private sealed memfd mapped once,
 * and the optional background thread that faults it in.
 *
 * Owns the memfd, the mapping and the prefault thread.
 * Open and close run on the main thread (mount and unmount); the prefault
 * thread touches only the page tables (never the bytes) and publishes its
 * progress in `faulted`.  No lock: `prefault_stop` and `faulted` are
 * atomics, everything else is written before the thread starts or after it
 * is joined.  Allocating and zeroing units is not done here (alloc.c,
 * extmap.c).
 */
#include "arena.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "log.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22  /* Linux 5.14 */
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

/*
 * Prefault chunk: 16 MiB.  On the 2-core development VM populating fresh
 * shmem runs at 0.1-1.2 GB/s (the hypervisor backs each guest page on first
 * touch), so a chunk takes 15-160 ms: that bounds how long
 * kvfs_arena_close() waits for the thread to notice prefault_stop.  The
 * madvise call per chunk costs nothing next to 4096 page faults.
 */
#define ARENA_PREFAULT_CHUNK (16ull << 20)

/*
 * Nice value of the prefault thread: it is background work, and on a small
 * machine it must not take a core from the FUSE threads; idle cores still
 * run it at full speed.
 */
#define ARENA_PREFAULT_NICE 10

/*
 * Faults in [p, p + len) without changing a byte.  MADV_POPULATE_WRITE
 * allocates each shmem page and maps it writable, as a write fault would,
 * but writes nothing, so it cannot race with a writer that already owns
 * units in this range.  Before Linux 5.14 it is EINVAL; the fallback is a
 * read of one byte per page.  On shmem a read fault allocates the page too
 * (there is no shared zero page for tmpfs), and a shared writable mapping is
 * mapped writable on a read fault, so it is just as complete.  A
 * read-modify-write of a byte (the obvious "touch") is NOT safe: a writer's
 * store between the read and the write back would be lost.
 * Returns 0 or -errno.
 */
static int arena_populate(char *p, uint64_t len)
{
	volatile const char *v = p;
	uint64_t off;
	int e;

	while (madvise(p, len, MADV_POPULATE_WRITE) < 0) {
		e = errno;
		if (e == EINTR || e == EAGAIN)
			continue;
		if (e != EINVAL)
			return -e;
		for (off = 0; off < len; off += KVFS_ALLOC_UNIT)
			(void)v[off];
		return 0;
	}
	return 0;
}

/* fallocate(2) of [off, off + len) of the arena's file: allocates the
 * pages now, so no later fault can fail.  0 or -errno. */
static int arena_allocate(struct kvfs_arena *a, uint64_t off, uint64_t len)
{
	while (fallocate(a->fd, 0, (off_t)off, (off_t)len) < 0) {
		if (errno != EINTR)
			return errno == ENOSPC || errno == ENOMEM ? -ENOSPC : -errno;
	}
	return 0;
}

int kvfs_arena_back(struct kvfs_arena *a, uint64_t off, uint64_t len)
{
	int rc;

	if (off + len <= atomic_load_explicit(&a->faulted, memory_order_acquire))
		return 0;
	rc = arena_allocate(a, off, len);
	if (rc == -EOPNOTSUPP || rc == -ENOSYS)
		return 0; /* nothing to reserve with: as before, on faith */
	if (rc < 0 && atomic_fetch_add(&a->unbacked, len) == 0)
		kvfs_err("arena: %s has no room for the memory tier's pages (%s): "
			 "pages it refuses are left unused and writes that need them "
			 "fail with ENOSPC (stats: memory_unbacked_bytes)",
			 "memfd", strerror(-rc));
	return rc;
}

static void *arena_prefault_main(void *arg)
{
	struct kvfs_arena *a = arg;
	uint64_t off, len;
	int rc;

	/* Linux nice values are per thread; failure only costs fairness. */
	(void)setpriority(PRIO_PROCESS, (id_t)gettid(), ARENA_PREFAULT_NICE);
	for (off = 0; off < a->size; off += len) {
		if (atomic_load_explicit(&a->prefault_stop, memory_order_relaxed))
			return NULL;
		len = a->size - off < ARENA_PREFAULT_CHUNK ? a->size - off
							   : ARENA_PREFAULT_CHUNK;
		/* Allocated first: populating a page tmpfs has no room for
		 * fails, and so would the write that faults it later. */
		rc = arena_allocate(a, off, len);
		if (rc == -EOPNOTSUPP || rc == -ENOSYS)
			rc = 0;
		if (rc == 0)
			rc = arena_populate(a->base + off, len);
		if (rc < 0) {
			kvfs_warn("arena: prefault stopped at %llu of %llu bytes: %s; "
				  "the rest is allocated as it is used",
				  (unsigned long long)off,
				  (unsigned long long)a->size, strerror(-rc));
			return NULL;
		}
		atomic_store_explicit(&a->faulted, off + len, memory_order_release);
	}
	return NULL;
}

/*
 * The memfd is sealed against shrinking and growing: other processes (the
 * GPU library) map it too, and a shrink would turn their accesses and ours
 * into SIGBUS.
 */
static int arena_create_fd(uint64_t size)
{
	int fd, e;

	fd = memfd_create("kvfs-arena", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0)
		goto fail;
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		goto fail;
	return fd;
fail:
	e = errno;
	close(fd);
	return -e;
}

static int arena_check_size(uint64_t *size)
{
	if (*size == 0 || *size > (uint64_t)INT64_MAX - KVFS_ALLOC_UNIT || *size > SIZE_MAX)
		return -EINVAL;
	*size = (*size + KVFS_ALLOC_UNIT - 1) / KVFS_ALLOC_UNIT * KVFS_ALLOC_UNIT;
	return 0;
}

/* Maps a->fd (already `size` bytes) and starts the prefault thread.  On
 * error returns -ENOMEM with a->fd still open (the caller closes it). */
static int arena_map(struct kvfs_arena *a, uint64_t size, unsigned flags)
{
	a->base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, a->fd, 0);
	if (a->base == MAP_FAILED) {
		a->base = NULL;
		return -ENOMEM;
	}
	a->size = size;
	a->flags = flags;
	/* EINVAL: no THP in this kernel; a no-op where shmem_enabled=never. */
	if ((flags & KVFS_ARENA_HUGE) && madvise(a->base, size, MADV_HUGEPAGE) < 0 &&
	    errno != EINVAL)
		kvfs_warn("arena: madvise(MADV_HUGEPAGE): %s", strerror(errno));
	if (flags & KVFS_ARENA_PREFAULT)
		kvfs_arena_prefault_start(a);
	return 0;
}

void kvfs_arena_prefault_start(struct kvfs_arena *a)
{
	int rc;

	if (a->prefault_running || !a->base)
		return;
	rc = pthread_create(&a->prefault_thread, NULL, arena_prefault_main, a);
	if (rc)	/* not fatal: pages then fault in on first write */
		kvfs_warn("arena: no prefault thread: %s", strerror(rc));
	else
		a->prefault_running = 1;
}

int kvfs_arena_open(struct kvfs_arena *a, uint64_t size, unsigned flags)
{
	int rc;

	memset(a, 0, sizeof(*a));
	a->fd = -1;
	rc = arena_check_size(&size);
	if (rc < 0)
		return rc;
	rc = arena_create_fd(size);
	if (rc < 0)
		return rc;
	a->fd = rc;
	rc = arena_map(a, size, flags);
	if (rc < 0) {
		close(a->fd);
		a->fd = -1;
	}
	return rc;
}

void kvfs_arena_close(struct kvfs_arena *a)
{
	if (!a->base)	/* zeroed, failed to open, or closed already */
		return;
	if (a->prefault_running) {
		atomic_store(&a->prefault_stop, 1);
		pthread_join(a->prefault_thread, NULL);
		a->prefault_running = 0;
	}
	munmap(a->base, a->size);
	close(a->fd);
	a->base = NULL;
	a->fd = -1;
	a->size = 0;
}
