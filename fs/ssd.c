/*
 * ssd.c - the SSD tier's slab store (see ssd.h for the layout and contract).
 *
 * Owns: the flock()ed directory fd, one fd per slab, the io_uring rings, and
 * the allocator of slab space
 * (alloc.c, one unit = KVFS_SSD_UNIT, over every slab's file bytes, headers
 * permanently taken).  It does not know what the bytes mean: chunk maps and
 * checksums of data are index/map.c's; ordering writes against the index is
 * the caller's (write, kvfs_ssd_sync, then commit the row).
 *
 * Threads: open and close run on main; everything else on any thread.
 * Locks: each ring's `lock` guards that ring (its SQ/CQ, `ok`) for the
 * whole of one batch; the allocator has its own mutex (their order:
 * docs/design.md, "Lock order").  Slab fds, sizes and the id are
 * constant after open and kvfs_ssd_seal (both on main, before any other
 * thread uses the store); dirty flags and stats counters are atomics.
 */
#include "ssd.h"

#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <unistd.h>

#include "alloc.h"
#include "log.h"

/*
 * Rings: 4 x 64.  A batch holds one ring from its first submission to its
 * last completion, so 4 rings let 4 batches run at once (the flusher's
 * two, overlapping, among them: kvfs_ssd_write_begin); 64 in flight
 * per ring is past the queue depth where an NVMe drive stops gaining
 * throughput for 64 KiB-1 MiB transfers, and bounds a ring's memory.
 */
#define SSD_RINGS 4
#define SSD_DEPTH 64u

/* Slab size: size / 8 (so growing the store adds slabs of a useful size),
 * in multiples of 4 MiB, between 16 MiB and 1 GiB (a transfer's length must
 * fit an int, and a slab's fd count stays low for large stores). */
#define SSD_SLAB_ALIGN (4ull << 20)
#define SSD_SLAB_MIN   (16ull << 20)
#define SSD_SLAB_MAX   KVFS_SLAB_SIZE_MAX

struct ssd_ring {
	pthread_mutex_t lock;
	struct io_uring uring;   /* guarded by lock */
	int ok;                  /* uring is set up; else pread/pwrite */
};

struct kvfs_ssd {
	char *dir;
	int dirfd;               /* flock()ed while open: one process per store */
	uint64_t id;
	uint64_t slab_size;      /* data bytes per slab */
	uint64_t stride;         /* KVFS_SSD_HDR + slab_size: file bytes per slab */
	uint32_t nslabs;         /* slab files open: what ssd_size needs, or more */
	uint32_t nactive;        /* slabs new data goes to; [nactive, nslabs)
				    drain (see kvfs_ssd_seal) */
	int sealed;              /* the draining slabs' free units are taken */
	int *fds;                /* [nslabs] */
	atomic_int *dirty;       /* [nslabs]: a write completed since last sync */
	int direct;              /* every slab opened with O_DIRECT */
	int uring;               /* every ring set up at open */
	int is_new;              /* no slab existed before this open */
	struct kvfs_alloc alloc;
	struct ssd_ring rings[SSD_RINGS];
	int nrings_init;         /* rings whose lock was initialized */
	atomic_uint next_ring;   /* round-robin start for ring_get() */
	atomic_uint_fast64_t reads, read_bytes, writes, write_bytes, syncs, errors;
};

#define MSG(...) do { if (msg && msgsz) snprintf(msg, msgsz, __VA_ARGS__); } while (0)

/* 1288490188 -> "1.2 GiB"; 8 GiB -> "8 GiB". */
static const char *human(uint64_t v, char *buf, size_t size)
{
	static const char *const units[] = { "bytes", "KiB", "MiB", "GiB", "TiB",
					     "PiB", "EiB" };
	unsigned u = 0;

	while (u < 6 && v >= (1ull << (10 * (u + 1))))
		u++;
	if (v % (1ull << (10 * u)) == 0)
		snprintf(buf, size, "%llu %s", (unsigned long long)(v >> (10 * u)), units[u]);
	else
		snprintf(buf, size, "%.1f %s", (double)v / (double)(1ull << (10 * u)), units[u]);
	return buf;
}

/* ---- opening: the directory, the slabs ---- */

static int dir_open(struct kvfs_ssd *s, char *msg, size_t msgsz)
{
	struct stat st;
	int e;

	if (stat(s->dir, &st) < 0) {
		e = errno;
		if (e == ENOENT)
			MSG("ssd=%s: no such directory", s->dir);
		else
			MSG("ssd=%s: %s", s->dir, strerror(e));
		return -e;
	}
	if (!S_ISDIR(st.st_mode)) {
		MSG("ssd=%s is not a directory", s->dir);
		return -ENOTDIR;
	}
	if (access(s->dir, W_OK) < 0) {
		MSG("ssd=%s is read-only (%s); choose a writable directory", s->dir,
		    strerror(errno));
		return -EROFS;
	}
	s->dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0) {
		e = errno;
		MSG("ssd=%s: %s", s->dir, strerror(e));
		return -e;
	}
	if (flock(s->dirfd, LOCK_EX | LOCK_NB) < 0) {
		e = errno;
		MSG("ssd=%s is in use by another kvfs (%s)", s->dir, strerror(e));
		return e == EWOULDBLOCK ? -EBUSY : -e;
	}
	return 0;
}

/* Counts the slab files: *have = N when they are exactly 0..N-1. */
static int slab_count(struct kvfs_ssd *s, uint32_t *have, char *msg, size_t msgsz)
{
	uint64_t n = 0, max = 0;
	char name[KVFS_SLAB_NAME_MAX] = "";
	struct dirent *d;
	DIR *dp;
	int fd, e;
	long k;

	fd = dup(s->dirfd);
	dp = fd < 0 ? NULL : fdopendir(fd);
	if (!dp) {
		e = errno;
		if (fd >= 0)
			close(fd);
		MSG("ssd=%s: %s", s->dir, strerror(e));
		return -e;
	}
	while ((d = readdir(dp)) != NULL) {
		k = kvfs_slab_number(d->d_name);
		if (k < 0)
			continue;
		n++;
		max = (uint64_t)k + 1 > max ? (uint64_t)k + 1 : max;
	}
	closedir(dp);
	for (k = 0; n != max && (uint64_t)k < max; k++) {
		kvfs_slab_name(name, sizeof(name), (uint32_t)k, "");
		if (faccessat(s->dirfd, name, F_OK, 0) < 0)
			break;
	}
	if (n != max) {
		MSG("ssd=%s: %s is missing; move %s aside to make a new store",
		    s->dir, name, s->dir);
		return -EUCLEAN;
	}
	*have = (uint32_t)n;
	return 0;
}

/* Opens slab i, O_DIRECT if the filesystem allows it, into s->fds[i]. */
static int slab_open(struct kvfs_ssd *s, uint32_t i, char *msg, size_t msgsz)
{
	int flags = O_RDWR | O_CLOEXEC, e;
	char name[KVFS_SLAB_NAME_MAX];

	kvfs_slab_name(name, sizeof(name), i, "");
	s->fds[i] = openat(s->dirfd, name, flags | O_DIRECT);
	if (s->fds[i] < 0 && errno == EINVAL) {
		s->fds[i] = openat(s->dirfd, name, flags);
		s->direct = 0;
	}
	if (s->fds[i] >= 0)
		return 0;
	e = errno;
	if (e == EROFS || e == EACCES || e == EPERM) {
		MSG("ssd=%s is read-only (%s: %s)", s->dir, name, strerror(e));
		return -EROFS;
	}
	if (e == EMFILE)
		MSG("ssd=%s: too many open files for %u slabs; raise the limit "
		    "(ulimit -n, LimitNOFILE=)", s->dir, s->nslabs);
	else
		MSG("ssd=%s: %s: %s", s->dir, name, strerror(e));
	return -e;
}

/* Reads and checks slab i's header; slab 0's sets the id and slab size. */
static int slab_verify(struct kvfs_ssd *s, uint32_t i, char *msg, size_t msgsz)
{
	struct kvfs_slab_hdr *h = NULL;
	char name[KVFS_SLAB_NAME_MAX];
	struct stat st;
	ssize_t got;
	int rc = -EUCLEAN;

	if (posix_memalign((void **)&h, KVFS_SSD_UNIT, sizeof(*h)))
		return -ENOMEM;
	kvfs_slab_name(name, sizeof(name), i, "");
	got = pread(s->fds[i], h, sizeof(*h), 0);
	if (got < 0) {
		rc = -errno;
		MSG("ssd=%s: reading the header of %s: %s", s->dir, name, strerror(-rc));
		goto out;
	}
	if (got != (ssize_t)sizeof(*h) || kvfs_slab_hdr_check(h, i) < 0) {
		MSG("ssd=%s: %s has a damaged header; move %s aside to make a new "
		    "store", s->dir, name, s->dir);
		goto out;
	}
	if (i == 0) {
		s->id = le64toh(h->store_id);
		s->slab_size = le64toh(h->slab_size);
		s->stride = KVFS_SSD_HDR + s->slab_size;
	} else if (le64toh(h->store_id) != s->id || le64toh(h->slab_size) != s->slab_size) {
		MSG("ssd=%s: %s belongs to another store; move %s aside to make a "
		    "new store", s->dir, name, s->dir);
		goto out;
	}
	if (fstat(s->fds[i], &st) < 0 || (uint64_t)st.st_size < s->stride) {
		MSG("ssd=%s: %s is shorter than its header says; move %s aside to "
		    "make a new store", s->dir, name, s->dir);
		goto out;
	}
	rc = 0;
out:
	free(h);
	return rc;
}

/* Preallocates [0, len) of fd; posix_fallocate where fallocate is missing. */
static int prealloc(int fd, uint64_t len)
{
	if (fallocate(fd, 0, 0, (off_t)len) == 0)
		return 0;
	if (errno != EOPNOTSUPP)
		return -errno;
	return -posix_fallocate(fd, 0, (off_t)len);
}

/*
 * Makes slab i: a temporary file is filled in (space, header, fsync) and
 * then renamed into place without replacing anything, so a crash leaves
 * either no slab i or a complete one, never a slab with a torn header.
 * The caller fsyncs the directory.  On error nothing is left behind.
 */
static int slab_make(struct kvfs_ssd *s, uint32_t i, char *msg, size_t msgsz)
{
	struct kvfs_slab_hdr h;
	char tmp[KVFS_SLAB_NAME_MAX], name[KVFS_SLAB_NAME_MAX], size[32];
	int fd, rc = 0;

	kvfs_slab_name(tmp, sizeof(tmp), i, ".tmp");
	kvfs_slab_name(name, sizeof(name), i, "");
	unlinkat(s->dirfd, tmp, 0); /* a crash's leftover */
	fd = openat(s->dirfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		goto fail;
	}
	kvfs_slab_hdr_fill(&h, s->id, i, s->slab_size);
	if ((rc = prealloc(fd, s->stride)) < 0)
		goto fail_file;
	if (pwrite(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) || fsync(fd) < 0) {
		rc = errno ? -errno : -EIO;
		goto fail_file;
	}
	close(fd);
	if (renameat2(s->dirfd, tmp, s->dirfd, name, RENAME_NOREPLACE) < 0) {
		rc = -errno;
		unlinkat(s->dirfd, tmp, 0);
		goto fail;
	}
	return 0;
fail_file:
	close(fd);
	unlinkat(s->dirfd, tmp, 0);
fail:
	if (rc == -EROFS || rc == -EACCES || rc == -EPERM) {
		MSG("ssd=%s is read-only (%s)", s->dir, strerror(-rc));
		return -EROFS;
	}
	MSG("ssd=%s: making %s (%s): %s", s->dir, name,
	    human(s->stride, size, sizeof(size)), strerror(-rc));
	return rc;
}

/* -ENOSPC with the message, unless the filesystem has room for the slabs. */
static int space_check(struct kvfs_ssd *s, uint64_t size, uint32_t have,
		       uint64_t need, char *msg, size_t msgsz)
{
	char a[32], b[32], c[32];
	struct statvfs vfs;
	uint64_t free, want;

	if (need <= have)
		return 0;
	if (fstatvfs(s->dirfd, &vfs) < 0) {
		int e = errno;

		MSG("ssd=%s: statvfs: %s", s->dir, strerror(e));
		return -e;
	}
	free = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	want = need - have > UINT64_MAX / s->stride ? UINT64_MAX : (need - have) * s->stride;
	if (want <= free)
		return 0;
	MSG("ssd=%s has %s free, ssd_size=%s needs %s more; choose a smaller ssd_size=",
	    s->dir, human(free, a, sizeof(a)), human(size, b, sizeof(b)),
	    human(want - free, c, sizeof(c)));
	return -ENOSPC;
}

/* A new store's id and slab size (nothing on disk yet). */
static int store_new(struct kvfs_ssd *s, uint64_t size)
{
	uint64_t slab = size / 8 / SSD_SLAB_ALIGN * SSD_SLAB_ALIGN;
	ssize_t got;

	s->slab_size = slab < SSD_SLAB_MIN ? SSD_SLAB_MIN :
		       slab > SSD_SLAB_MAX ? SSD_SLAB_MAX : slab;
	s->stride = KVFS_SSD_HDR + s->slab_size;
	do {
		got = getrandom(&s->id, sizeof(s->id), 0);
		if (got < 0 && errno != EINTR)
			return -errno;
	} while (got != (ssize_t)sizeof(s->id) || s->id == 0);
	return 0;
}

/* Makes slabs [have, nslabs), then opens and checks all nslabs. */
static int slabs_open(struct kvfs_ssd *s, uint32_t have, char *msg, size_t msgsz)
{
	uint32_t i;
	int rc;

	for (i = have; i < s->nslabs; i++)
		if ((rc = slab_make(s, i, msg, msgsz)) < 0)
			return rc;
	if (have < s->nslabs && fsync(s->dirfd) < 0) {
		rc = -errno;
		MSG("ssd=%s: fsync: %s", s->dir, strerror(-rc));
		return rc;
	}
	for (i = 0; i < s->nslabs; i++) {
		if (s->fds[i] < 0 && (rc = slab_open(s, i, msg, msgsz)) < 0)
			return rc;
		if ((rc = slab_verify(s, i, msg, msgsz)) < 0)
			return rc;
	}
	if (!s->direct)
		kvfs_warn("ssd=%s: the filesystem refuses O_DIRECT; slabs use the "
			  "page cache", s->dir);
	return 0;
}

/* Learns or chooses the slab size, sizes the store, makes what is missing. */
static int store_load(struct kvfs_ssd *s, uint64_t size, char *msg, size_t msgsz)
{
	uint32_t have = 0, i;
	uint64_t need, open_n;
	int *fds, rc;
	char a[32];

	if ((rc = slab_count(s, &have, msg, msgsz)) < 0)
		return rc;
	s->is_new = have == 0;
	s->fds = malloc(sizeof(int));
	if (!s->fds)
		return -ENOMEM;
	s->fds[0] = -1;
	s->nslabs = 1;
	if (have > 0) {
		if ((rc = slab_open(s, 0, msg, msgsz)) < 0 ||
		    (rc = slab_verify(s, 0, msg, msgsz)) < 0)
			return rc;
	} else if ((rc = store_new(s, size)) < 0) {
		MSG("ssd=%s: getrandom: %s", s->dir, strerror(-rc));
		return rc;
	}
	need = size / s->slab_size + (size % s->slab_size != 0);
	if ((rc = space_check(s, size, have, need, msg, msgsz)) < 0)
		return rc;
	/* Slabs past what ssd_size needs are opened too: files in them stay
	 * readable, and they take no new data (kvfs_ssd_seal). */
	open_n = need > have ? need : have;
	if (open_n > KVFS_SLABS_MAX || open_n * s->stride / KVFS_SSD_UNIT > (1ull << 40)) {
		MSG("ssd=%s: ssd_size=%s needs more slabs than a store may have; "
		    "choose a smaller ssd_size=", s->dir, human(size, a, sizeof(a)));
		return -EINVAL;
	}
	/* Slab 0's fd, if open, stays in fds[0]. */
	fds = realloc(s->fds, open_n * sizeof(int));
	if (!fds)
		return -ENOMEM;
	s->fds = fds;
	for (i = 1; i < open_n; i++)
		s->fds[i] = -1;
	s->nslabs = (uint32_t)open_n;
	s->nactive = (uint32_t)need;
	s->dirty = calloc(open_n, sizeof(atomic_int));
	if (!s->dirty)
		return -ENOMEM;
	return slabs_open(s, have, msg, msgsz);
}

/* The allocator over every slab's file bytes, each header unit taken. */
static int space_init(struct kvfs_ssd *s)
{
	uint64_t per = s->stride / KVFS_SSD_UNIT;
	uint32_t i;
	int rc;

	rc = kvfs_alloc_init(&s->alloc, per * s->nslabs);
	for (i = 0; rc == 0 && i < s->nslabs; i++)
		rc = kvfs_alloc_take_at(&s->alloc, i * per, KVFS_SSD_HDR / KVFS_SSD_UNIT);
	return rc;
}

/* Sets up the rings; where io_uring is refused, I/O goes by pread/pwrite. */
static int rings_init(struct kvfs_ssd *s)
{
	int i, rc;

	for (i = 0; i < SSD_RINGS; i++) {
		if ((rc = pthread_mutex_init(&s->rings[i].lock, NULL)) != 0)
			return -rc;
		s->nrings_init++;
		rc = io_uring_queue_init(SSD_DEPTH, &s->rings[i].uring, 0);
		s->rings[i].ok = rc == 0;
		if (rc < 0 && s->uring)
			kvfs_warn("ssd=%s: io_uring unavailable (%s); transfers use "
				  "pread/pwrite", s->dir, strerror(-rc));
		if (rc < 0)
			s->uring = 0;
	}
	return 0;
}

int kvfs_ssd_open(struct kvfs_ssd **out, const char *dir, uint64_t size,
		  char *msg, size_t msgsz)
{
	struct kvfs_ssd *s;
	char a[32];
	int rc;

	*out = NULL;
	if (msg && msgsz)
		msg[0] = '\0';
	if (size < KVFS_SSD_MIN) {
		MSG("ssd=%s: ssd_size=%s is too small; use at least ssd_size=%s", dir,
		    human(size, a, sizeof(a)), "64M");
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s || !(s->dir = strdup(dir))) {
		free(s);
		return -ENOMEM;
	}
	s->dirfd = -1;
	s->direct = s->uring = 1;
	if ((rc = dir_open(s, msg, msgsz)) < 0 ||
	    (rc = store_load(s, size, msg, msgsz)) < 0 ||
	    (rc = space_init(s)) < 0 || (rc = rings_init(s)) < 0) {
		if (rc == -ENOMEM)
			MSG("ssd=%s: out of memory", dir);
		else if (msg && msgsz && !msg[0])
			MSG("ssd=%s: %s", dir, strerror(-rc));
		kvfs_ssd_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

void kvfs_ssd_close(struct kvfs_ssd *s)
{
	uint32_t i;
	int r;

	if (!s)
		return;
	for (r = 0; r < s->nrings_init; r++) {
		if (s->rings[r].ok)
			io_uring_queue_exit(&s->rings[r].uring);
		pthread_mutex_destroy(&s->rings[r].lock);
	}
	for (i = 0; s->fds && i < s->nslabs; i++)
		if (s->fds[i] >= 0)
			close(s->fds[i]);
	if (s->dirfd >= 0)
		close(s->dirfd);
	kvfs_alloc_release(&s->alloc);
	free(s->dirty);
	free(s->fds);
	free(s->dir);
	free(s);
}

uint64_t kvfs_ssd_id(const struct kvfs_ssd *s)
{
	return s->id;
}

uint64_t kvfs_ssd_capacity(const struct kvfs_ssd *s)
{
	return (uint64_t)s->nactive * s->slab_size;
}

uint64_t kvfs_ssd_free(const struct kvfs_ssd *s)
{
	uint64_t f = kvfs_alloc_free_units((struct kvfs_alloc *)&s->alloc) * KVFS_SSD_UNIT;
	uint64_t cap = kvfs_ssd_capacity(s);

	return f < cap ? f : cap; /* before kvfs_ssd_seal, draining slabs count */
}

uint32_t kvfs_ssd_draining(const struct kvfs_ssd *s)
{
	return s->nslabs - s->nactive;
}

int kvfs_ssd_seal(struct kvfs_ssd *s)
{
	uint64_t per = s->stride / KVFS_SSD_UNIT;
	uint32_t i, removed = 0, was = s->nslabs;
	char name[KVFS_SLAB_NAME_MAX];
	int64_t took;
	int rc = 0;

	if (s->sealed)
		return 0;
	s->sealed = 1;
	/* Trailing slabs no file lies in (only the header unit taken) go. */
	for (i = s->nslabs; i > s->nactive; i--) {
		took = kvfs_alloc_take_free(&s->alloc, (uint64_t)(i - 1) * per, per);
		if (took != (int64_t)per - 1 || removed != was - i)
			continue;
		kvfs_slab_name(name, sizeof(name), i - 1, "");
		if (unlinkat(s->dirfd, name, 0) < 0) {
			rc = -errno;
			kvfs_warn("ssd=%s: removing the unused %s: %s", s->dir, name,
				  strerror(errno));
			continue;
		}
		close(s->fds[i - 1]);
		s->fds[i - 1] = -1;
		removed++;
	}
	s->nslabs -= removed;
	if (removed && fsync(s->dirfd) < 0)
		rc = -errno;
	if (removed)
		kvfs_info("ssd=%s: removed %u slab%s that ssd_size no longer needs", s->dir,
			  removed, removed == 1 ? "" : "s");
	if (s->nslabs > s->nactive)
		kvfs_info("ssd=%s: %u slab%s past ssd_size still hold files: they stay "
			  "readable, take no new data and are removed at a start that "
			  "finds them empty", s->dir, s->nslabs - s->nactive,
			  s->nslabs - s->nactive == 1 ? "" : "s");
	KVFS_DCHECK(kvfs_ssd_check(s) == 0); /* every file's runs claimed, sealed */
	return rc;
}

/* ---- space ---- */

/* Slab of [soff, soff + len) if it lies inside one slab's data, else -1. */
static int64_t slab_of(const struct kvfs_ssd *s, uint64_t soff, uint64_t len)
{
	uint64_t slab = soff / s->stride, off = soff % s->stride;

	if (len == 0 || len % KVFS_SSD_UNIT || soff % KVFS_SSD_UNIT ||
	    slab >= s->nslabs || off < KVFS_SSD_HDR || len > s->stride - off)
		return -1;
	return (int64_t)slab;
}

int kvfs_ssd_is_new(const struct kvfs_ssd *s)
{
	return s->is_new;
}

int kvfs_ssd_alloc(struct kvfs_ssd *s, uint32_t len, uint64_t near,
		   uint64_t *soff)
{
	uint64_t start;
	int rc;

	if (len == 0 || len % KVFS_SSD_UNIT || len > s->slab_size)
		return -EINVAL;
	if (near % KVFS_SSD_UNIT)
		near = UINT64_MAX;
	rc = kvfs_alloc_take_run(&s->alloc, len / KVFS_SSD_UNIT,
				 near == UINT64_MAX ? near : near / KVFS_SSD_UNIT, &start);
	if (rc == 0)
		*soff = start * KVFS_SSD_UNIT;
	return rc;
}

int kvfs_ssd_give(struct kvfs_ssd *s, uint64_t soff, uint32_t len)
{
	int64_t slab = slab_of(s, soff, len);

	if (slab < 0) {
		kvfs_err("ssd: give of [%llu, +%u) is not inside one slab's data",
			 (unsigned long long)soff, len);
		return -EINVAL;
	}
	if (s->sealed && slab >= s->nactive)
		return 0; /* a draining slab: its space is not handed out again */
	return kvfs_alloc_give(&s->alloc, soff / KVFS_SSD_UNIT, len / KVFS_SSD_UNIT);
}

int kvfs_ssd_take_at(struct kvfs_ssd *s, uint64_t soff, uint32_t len)
{
	if (slab_of(s, soff, len) < 0)
		return -EINVAL;
	return kvfs_alloc_take_at(&s->alloc, soff / KVFS_SSD_UNIT, len / KVFS_SSD_UNIT);
}

int kvfs_ssd_check(struct kvfs_ssd *s)
{
	uint64_t per = s->stride / KVFS_SSD_UNIT, u;
	uint32_t i, bad = UINT32_MAX;
	int rc = kvfs_alloc_check(&s->alloc);

	pthread_mutex_lock(&s->alloc.lock);
	for (i = 0; i < s->nslabs && bad == UINT32_MAX; i++) {
		u = i * per;
		if (!(s->alloc.bits[u / 64] >> (u % 64) & 1))
			bad = i;
	}
	pthread_mutex_unlock(&s->alloc.lock);
	if (bad != UINT32_MAX) {
		kvfs_err("ssd=%s: the header of slab %u is not allocated", s->dir, bad);
		rc = -EUCLEAN;
	}
	return rc;
}

/* ---- transfers ---- */

/*
 * One batch on one ring.  While it runs, v[i].res >= 0 is the bytes of
 * transfer i moved so far and res < 0 its final error; res == len is done.
 * inflight counts transfers with an SQE prepared and no final completion
 * yet; `queued` those prepared but not yet consumed by the kernel, so
 * inflight - queued are in the kernel.  inflight <= SSD_DEPTH, the SQ size,
 * so io_uring_get_sqe() cannot fail.
 */
struct batch {
	struct kvfs_ssd *s;
	struct ssd_ring *r;
	struct kvfs_ssd_io *v;
	int n, write, next;
	unsigned inflight, queued;
	int err;                 /* a hard submit error: finish, start nothing */
};

/* Prepares an SQE for the rest of transfer i. */
static void prep(struct batch *b, int i)
{
	struct kvfs_ssd_io *io = &b->v[i];
	uint64_t done = (uint64_t)io->res, slab = io->soff / b->s->stride;
	uint64_t off = io->soff % b->s->stride + done;
	struct io_uring_sqe *sqe = io_uring_get_sqe(&b->r->uring);
	int fd = b->s->fds[slab];
	char *buf = (char *)io->buf + done;
	unsigned len = io->len - (unsigned)done;

	KVFS_ASSERT(sqe != NULL);
	if (b->write)
		io_uring_prep_write(sqe, fd, buf, len, off);
	else
		io_uring_prep_read(sqe, fd, buf, len, off);
	io_uring_sqe_set_data64(sqe, (uint64_t)i);
	b->inflight++;
	b->queued++;
}

/* Handles one completion: done, failed, or resubmitted for the rest. */
static void complete(struct batch *b, uint64_t i, int res)
{
	struct kvfs_ssd_io *io = &b->v[i];

	KVFS_ASSERT(i < (uint64_t)b->n && b->inflight > b->queued);
	b->inflight--;
	if ((res == -EAGAIN || res == -EINTR) && !b->err) {
		prep(b, (int)i);
		return;
	}
	if (res <= 0) {
		io->res = res < 0 ? res : -EIO; /* 0: past the end of the file */
		return;
	}
	io->res += res;
	if ((unsigned)io->res < io->len) {
		if (b->err)
			io->res = -EIO;
		else
			prep(b, (int)i);
	}
}

static void reap(struct batch *b)
{
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0;

	io_uring_for_each_cqe(&b->r->uring, head, cqe) {
		complete(b, cqe->user_data, cqe->res);
		seen++;
	}
	io_uring_cq_advance(&b->r->uring, seen);
}

/*
 * After a hard submit error: waits for what the kernel has, fails what it
 * never took, and remakes the ring, whose SQ still holds those SQEs (the
 * next batch must not submit them).  Where the ring cannot be remade,
 * its batches go by pread/pwrite.
 */
static void batch_abort(struct batch *b)
{
	struct ssd_ring *r = b->r;
	struct io_uring_cqe *cqe;
	int i, rc;

	kvfs_err("ssd=%s: io_uring submit failed: %s; remaking the ring",
		 b->s->dir, strerror(-b->err));
	while (b->inflight > b->queued) {
		rc = io_uring_wait_cqe(&r->uring, &cqe);
		if (rc == -EINTR || rc == -EAGAIN)
			continue;
		if (rc < 0)
			break;
		reap(b);
	}
	for (i = 0; i < b->n; i++)
		if (b->v[i].res >= 0 && (unsigned)b->v[i].res < b->v[i].len)
			b->v[i].res = b->err;
	io_uring_queue_exit(&r->uring);
	r->ok = io_uring_queue_init(SSD_DEPTH, &r->uring, 0) == 0;
}

/* Submits what is prepared and waits for one completion.  0 or -errno. */
static int submit_wait(struct batch *b)
{
	struct io_uring_cqe *cqe;
	int rc = io_uring_submit_and_wait(&b->r->uring, 1);

	if (rc >= 0) {
		b->queued -= (unsigned)rc < b->queued ? (unsigned)rc : b->queued;
		return 0;
	}
	if (rc == -EINTR)
		return 0;
	if (rc != -EAGAIN && rc != -EBUSY)
		return rc;
	/* Out of kernel resources: wait for what it has, or a moment. */
	if (b->inflight > b->queued)
		io_uring_wait_cqe(&b->r->uring, &cqe);
	else
		nanosleep(&(struct timespec){ .tv_nsec = 100000 }, NULL);
	return 0;
}

/* Prepares SQEs for the next transfers, as many as the ring takes. */
static void batch_fill(struct batch *b)
{
	while (b->inflight < SSD_DEPTH && b->next < b->n) {
		if (b->v[b->next].res == 0)
			prep(b, b->next);
		b->next++;
	}
}

/* Keeps the ring full until every valid transfer of the batch is final. */
static void batch_uring(struct batch *b)
{
	for (;;) {
		batch_fill(b);
		if (b->inflight == 0)
			return;
		b->err = submit_wait(b);
		if (b->err) {
			batch_abort(b);
			return;
		}
		reap(b);
	}
}

/* The same without io_uring: each transfer in turn, on this thread. */
static void batch_sync(struct batch *b)
{
	struct kvfs_ssd_io *io;
	ssize_t got;
	uint64_t off;
	int i, fd;

	for (i = 0; i < b->n; i++) {
		io = &b->v[i];
		while (io->res >= 0 && (unsigned)io->res < io->len) {
			fd = b->s->fds[io->soff / b->s->stride];
			off = io->soff % b->s->stride + (unsigned)io->res;
			got = b->write ? pwrite(fd, (char *)io->buf + io->res, io->len - io->res, (off_t)off)
				       : pread(fd, (char *)io->buf + io->res, io->len - io->res, (off_t)off);
			if (got < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			io->res = got < 0 ? -errno : got == 0 ? -EIO : io->res + (int)got;
		}
	}
}

/* A free ring if one is, else (unless `try`: NULL) the next in turn;
 * returned locked. */
static struct ssd_ring *ring_get(struct kvfs_ssd *s, int try)
{
	unsigned start = atomic_fetch_add(&s->next_ring, 1), i;
	struct ssd_ring *r;

	for (i = 0; i < SSD_RINGS; i++) {
		r = &s->rings[(start + i) % SSD_RINGS];
		if (pthread_mutex_trylock(&r->lock) == 0)
			return r;
	}
	if (try)
		return NULL;
	r = &s->rings[start % SSD_RINGS];
	pthread_mutex_lock(&r->lock);
	return r;
}

/* Counts the batch, marks written slabs dirty; the first error or 0. */
static int batch_finish(struct kvfs_ssd *s, struct kvfs_ssd_io *v, int n, int write)
{
	int64_t slab;
	int i, rc = 0;

	for (i = 0; i < n; i++) {
		slab = slab_of(s, v[i].soff, v[i].len);
		if (write && slab >= 0)
			atomic_store(&s->dirty[slab], 1);
		if (v[i].res >= 0 && (unsigned)v[i].res == v[i].len) {
			atomic_fetch_add(write ? &s->writes : &s->reads, 1);
			atomic_fetch_add(write ? &s->write_bytes : &s->read_bytes, v[i].len);
			continue;
		}
		if (v[i].res >= 0)
			v[i].res = -EIO;
		atomic_fetch_add(&s->errors, 1);
		rc = rc ? rc : v[i].res;
	}
	return rc;
}

/* Checks the transfers, takes a ring and, with io_uring, submits the
 * first of them.  0, or -EAGAIN (`try` and every ring busy). */
static int io_begin(struct batch *b, struct kvfs_ssd *s, struct kvfs_ssd_io *v,
		    int n, int write, int try)
{
	int rc;

	*b = (struct batch){ .s = s, .v = v, .n = n, .write = write };
	for (int i = 0; i < n; i++)
		v[i].res = slab_of(s, v[i].soff, v[i].len) >= 0 &&
			   (uintptr_t)v[i].buf % KVFS_SSD_UNIT == 0 ? 0 : -EINVAL;
	if (n == 0)
		return 0; /* no ring needed */
	b->r = ring_get(s, try);
	if (!b->r)
		return -EAGAIN;
	if (b->r->ok) {
		batch_fill(b);
		/* An error leaves them queued: io_end submits them again,
		 * or reports it. */
		rc = io_uring_submit(&b->r->uring);
		if (rc > 0)
			b->queued -= (unsigned)rc < b->queued ? (unsigned)rc : b->queued;
	}
	return 0;
}

/* Waits for every transfer of b (without io_uring: moves them now) and
 * gives its ring back.  0 or the first -errno. */
static int io_end(struct batch *b)
{
	if (b->r) {
		if (b->r->ok)
			batch_uring(b);
		else
			batch_sync(b);
		pthread_mutex_unlock(&b->r->lock);
	}
	return batch_finish(b->s, b->v, b->n, b->write);
}

static int ssd_io(struct kvfs_ssd *s, struct kvfs_ssd_io *v, int n, int write)
{
	struct batch b;

	if (n < 0)
		return -EINVAL;
	(void)io_begin(&b, s, v, n, write, 0); /* cannot fail without try */
	return io_end(&b);
}

int kvfs_ssd_write(struct kvfs_ssd *s, struct kvfs_ssd_io *v, int n)
{
	return ssd_io(s, v, n, 1);
}

/* A write begun and not yet ended. */
struct kvfs_ssd_pending {
	struct batch b;
};

int kvfs_ssd_write_begin(struct kvfs_ssd *s, struct kvfs_ssd_io *v, int n,
			 int try, struct kvfs_ssd_pending **out)
{
	struct kvfs_ssd_pending *p;
	int rc;

	if (n < 0)
		return -EINVAL;
	p = malloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	rc = io_begin(&p->b, s, v, n, 1, try);
	if (rc) {
		free(p);
		return rc;
	}
	*out = p;
	return 0;
}

int kvfs_ssd_write_end(struct kvfs_ssd_pending *p)
{
	int rc = io_end(&p->b);

	free(p);
	return rc;
}

int kvfs_ssd_read(struct kvfs_ssd *s, struct kvfs_ssd_io *v, int n)
{
	return ssd_io(s, v, n, 0);
}

int kvfs_ssd_sync(struct kvfs_ssd *s)
{
	char name[KVFS_SLAB_NAME_MAX];
	uint32_t i;
	int rc = 0, e;

	for (i = 0; i < s->nslabs; i++) {
		if (!atomic_exchange(&s->dirty[i], 0))
			continue;
		atomic_fetch_add(&s->syncs, 1);
		if (fdatasync(s->fds[i]) == 0)
			continue;
		e = errno;
		atomic_store(&s->dirty[i], 1); /* still not durable: next sync retries */
		atomic_fetch_add(&s->errors, 1);
		kvfs_slab_name(name, sizeof(name), i, "");
		kvfs_err("ssd=%s: fdatasync of %s: %s", s->dir, name, strerror(e));
		rc = rc ? rc : -e;
	}
	return rc;
}

void kvfs_ssd_stats(struct kvfs_ssd *s, struct kvfs_ssd_stats *out)
{
	out->reads = atomic_load(&s->reads);
	out->read_bytes = atomic_load(&s->read_bytes);
	out->writes = atomic_load(&s->writes);
	out->write_bytes = atomic_load(&s->write_bytes);
	out->syncs = atomic_load(&s->syncs);
	out->errors = atomic_load(&s->errors);
	out->direct = s->direct;
	out->uring = s->uring;
}
