/*
 * arena.c - the memory tier's shared arena: a file mapped once (in
 * /dev/shm for the daemon, so fast-path clients can map it too; a sealed
 * memfd for tests and tools), and the optional background thread that
 * faults it in.
 *
 * Owns the file, its name in /dev/shm, the mapping and the prefault thread.
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
			 a->path ? a->path : "memfd", strerror(-rc));
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

/* A new arena id: random, so a client can tell a restarted daemon's arena
 * from the one it mapped before.  Never 0 (0 means "none" to clients). */
static uint64_t arena_new_id(void)
{
	struct timespec ts;
	uint64_t id = 0;

	if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != sizeof(id)) {
		clock_gettime(CLOCK_REALTIME, &ts);
		id = ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^
		     ((uint64_t)getpid() << 16);
	}
	return id ? id : 1;
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
	struct stat st;

	a->base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, a->fd, 0);
	if (a->base == MAP_FAILED) {
		a->base = NULL;
		return -ENOMEM;
	}
	a->size = size;
	a->flags = flags;
	a->id = arena_new_id();
	if (fstat(a->fd, &st) == 0) {
		a->dev = (uint64_t)st.st_dev;
		a->ino = (uint64_t)st.st_ino;
	}
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

/* ---- the shared arena file ---- */

int kvfs_arena_path(char *buf, size_t n, const char *state, uid_t uid)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
	int len;

	for (const char *p = state; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
	len = snprintf(buf, n, "%s/kvfs-%u-%016llx.arena", KVFS_ARENA_DIR,
		       (unsigned)uid, (unsigned long long)h);
	return len < 0 || (size_t)len >= n ? -ENAMETOOLONG : 0;
}

/*
 * Whether the file at `path` is an arena of `uid` that no daemon holds:
 * then 1, and it has been unlinked.  0 if it is held (-EBUSY to callers),
 * -EEXIST if it is not ours to remove.
 */
static int arena_remove_stale(const char *path, uid_t uid)
{
	struct stat st;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 1 : -EEXIST;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != uid) {
		close(fd);
		return -EEXIST;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
		/* No daemon holds it: its owner died without cleaning up. */
		r = unlink(path) == 0 || errno == ENOENT ? 1 : -errno;
	}
	close(fd);
	return r;
}

int kvfs_arena_gc(const char *dir, uid_t uid)
{
	char prefix[32], path[512];
	struct dirent *d;
	size_t plen, len;
	int n = 0;
	DIR *dp;

	snprintf(prefix, sizeof(prefix), "kvfs-%u-", (unsigned)uid);
	plen = strlen(prefix);
	dp = opendir(dir);
	if (!dp)
		return 0;
	while ((d = readdir(dp)) != NULL) {
		len = strlen(d->d_name);
		if (strncmp(d->d_name, prefix, plen) != 0 || len < plen + 6 ||
		    strcmp(d->d_name + len - 6, ".arena") != 0)
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, d->d_name) >= sizeof(path))
			continue;
		if (arena_remove_stale(path, uid) == 1)
			n++;
	}
	closedir(dp);
	return n;
}

/* Mode, owner and size of the new, still nameless file fd. */
static int arena_file_setup(int fd, uint64_t size, gid_t gid)
{
	if (gid != (gid_t)-1 && (fchown(fd, (uid_t)-1, gid) != 0 || fchmod(fd, 0660) != 0))
		return -errno;
	if (ftruncate(fd, (off_t)size) != 0)
		return -errno;
	return 0;
}

/*
 * Creates the arena file at `path`, locked, with its final mode, owner and
 * size before the name appears: an O_TMPFILE is set up, then linked.  A
 * stale file at `path` is removed first.  Returns the fd or -errno.
 */
static int arena_create_file(const char *path, uint64_t size, gid_t gid)
{
	char dir[512], self[64];
	const char *slash = strrchr(path, '/');
	int fd, r, tries;

	if (!slash || (size_t)(slash - path) >= sizeof(dir))
		return -EINVAL;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	/* The lock is what tells a live arena from a stale one (gc). */
	r = flock(fd, LOCK_EX | LOCK_NB) == 0 ? arena_file_setup(fd, size, gid) : -errno;
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	for (tries = 0; r == 0 && tries < 3; tries++) {
		if (linkat(AT_FDCWD, self, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0)
			return fd;
		r = -errno;
		if (r != -EEXIST)
			break;
		r = arena_remove_stale(path, geteuid());
		if (r == 0)
			r = -EBUSY;
		else if (r == 1)
			r = 0;
	}
	close(fd);
	return r ? r : -EEXIST;
}

int kvfs_arena_open_file(struct kvfs_arena *a, const char *path, uint64_t size,
			 unsigned flags, gid_t gid)
{
	struct statvfs vfs;
	char dir[512];
	const char *slash = strrchr(path, '/');
	int rc;

	memset(a, 0, sizeof(*a));
	a->fd = -1;
	rc = arena_check_size(&size);
	if (rc < 0)
		return rc;
	if (!slash || (size_t)(slash - path) >= sizeof(dir))
		return -EINVAL;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	/* A tmpfs file is sparse: without this check a full /dev/shm shows up
	 * later as SIGBUS on a write into the arena. */
	if (statvfs(dir, &vfs) == 0 && (uint64_t)vfs.f_bavail * vfs.f_frsize < size)
		return -ENOSPC;
	a->path = strdup(path);
	if (!a->path)
		return -ENOMEM;
	rc = arena_create_file(path, size, gid);
	if (rc < 0)
		goto fail;
	a->fd = rc;
	rc = arena_map(a, size, flags);
	if (rc == 0)
		return 0;
	unlink(path);
	close(a->fd);
	a->fd = -1;
fail:
	free(a->path);
	a->path = NULL;
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
	if (a->path) {
		struct stat st;

		/* Only if the name is still ours: never a successor's file. */
		if (stat(a->path, &st) == 0 && (uint64_t)st.st_dev == a->dev &&
		    (uint64_t)st.st_ino == a->ino)
			unlink(a->path);
		free(a->path);
		a->path = NULL;
	}
	close(a->fd);
	a->base = NULL;
	a->fd = -1;
	a->size = 0;
}
