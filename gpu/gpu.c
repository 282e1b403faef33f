/*
 * gpu.c - libkvfs-gpu's contexts and transfers (kvfs_gpu.h).
 *
 * Owns struct kvfs_gpu (backend, its mapping cache, a bounce buffer,
 * counters) and struct kvfs_gpu_io.  A transfer on a kvfs file whose open
 * the kernel serves from the file's memory pages (INFO says
 * KVFS_INFO_PASSTHROUGH; or any kvfs file with KVFS_GPU_MAP=1) is "mapped":
 *   write: fallocate(fd, 0, off, len), so the file covers the range (its
 *          size only ever grows) with memory behind every page (a full
 *          tmpfs is -ENOSPC here, not SIGBUS in a copy); copy into the
 *          cached MAP_SHARED mapping of the file (maps.c); wait for the
 *          copies; msync the range if the open is daemon-served;
 *   read:  fstat, clamp to EOF, copy out of the mapping, wait.
 * Every other fd takes the fallback path: pwrite/pread, through a bounce
 * buffer for device memory (host memory directly).  A mapping that cannot
 * be made (an O_WRONLY fd, a kernel that refuses to map the file) falls
 * back too, for that transfer.  A transfer whose buffers are all host
 * memory takes pwritev/preadv on every fd unless KVFS_GPU_MAP=1: the
 * kernel's write fills a new file page in one pass, where a copy into a
 * mapping makes the kernel zero the page first, and no mapping is made
 * (docs/gpu.md, "Host memory").
 *
 * Threads: any number may share a context.  The mapping cache has its own
 * lock (maps.c); `bounce_lock` guards the bounce buffer; `grow_lock`
 * serializes growing a file with ftruncate where fallocate is not
 * supported; counters are atomics.  No two of these are held at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "kvfs_abi.h"
#include "kvfs_gpu.h"

/* Bounce buffer of the fallback path: 8 MiB, two KV pages of a large model
 * per copy, small enough to pin in every process. */
#define BOUNCE_SIZE (8u << 20)

struct kvfs_gpu {
	const struct kvfs_gpu_backend *be;
	struct kvfs_gpu_maps maps;
	int map_env;                       /* KVFS_GPU_MAP: 1 maps every kvfs
					      file, 0 none, -1 (unset) the
					      passthrough opens */
	pthread_mutex_t grow_lock;
	pthread_mutex_t bounce_lock;
	void *bounce;                      /* guarded by bounce_lock */
	struct {
		atomic_uint_fast64_t writes, reads, bytes_written, bytes_read;
		atomic_uint_fast64_t mapped, fallback, fallback_bytes, copies;
		atomic_uint_fast64_t ioctls, errors;
	} st;
};

struct kvfs_gpu_io {
	int fd;
	int write;
	int done;            /* result is final; else finish() waits */
	int fellback;        /* went through the fallback path */
	ssize_t result;
	struct kvfs_gpu_map *map;  /* a reference, until finish() */
	uint64_t off, len;
	void *stream;
	const void *dev;     /* a device buffer of the transfer, or NULL */
};

/* ---- contexts ---- */

static const struct kvfs_gpu_backend *pick_backend(unsigned flags, int *err)
{
	const char *env = getenv("KVFS_GPU_BACKEND");
	const struct kvfs_gpu_backend *be;

	*err = 0;
	if (flags == KVFS_GPU_AUTO && env && strcmp(env, "host") == 0)
		flags = KVFS_GPU_HOST;
	else if (flags == KVFS_GPU_AUTO && env && strcmp(env, "cuda") == 0)
		flags = KVFS_GPU_CUDA;
	if (flags == KVFS_GPU_HOST)
		return &kvfs_gpu_host_backend;
	be = kvfs_gpu_cuda_backend(err);
	if (be || flags == KVFS_GPU_CUDA)
		return be;
	*err = 0;
	return &kvfs_gpu_host_backend;
}

KVFS_GPU_API int kvfs_gpu_open(struct kvfs_gpu **out, const char *mount, unsigned flags)
{
	struct kvfs_ioc_info info = { .version = KVFS_ABI_VERSION };
	const char *env = getenv("KVFS_GPU_MAP");
	struct kvfs_gpu *g;
	int r = 0, fd;

	*out = NULL;
	if (flags & ~(unsigned)(KVFS_GPU_HOST | KVFS_GPU_CUDA) ||
	    flags == (KVFS_GPU_HOST | KVFS_GPU_CUDA))
		return -EINVAL;
	if (mount) {	/* only: is it a kvfs this library speaks to? */
		fd = open(mount, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		r = kvfs_gpu_ioctl(fd, KVFS_IOC_INFO, &info);
		close(fd);
		if (r == -EINVAL)	/* an older kvfs, or not kvfs at all */
			r = -ENOTTY;
		if (r < 0)
			return r;
	}
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->be = pick_backend(flags, &r);
	if (!g->be) {
		free(g);
		return r;
	}
	kvfs_gpu_maps_init(&g->maps, g->be);
	pthread_mutex_init(&g->grow_lock, NULL);
	pthread_mutex_init(&g->bounce_lock, NULL);
	g->map_env = !env || !*env ? -1 : strcmp(env, "1") == 0 ? 1 : 0;
	if (mount)
		atomic_fetch_add(&g->st.ioctls, 1);
	*out = g;
	return 0;
}

KVFS_GPU_API void kvfs_gpu_close(struct kvfs_gpu *g)
{
	if (!g)
		return;
	kvfs_gpu_maps_release(&g->maps);
	if (g->bounce)
		g->be->free_host(g->bounce);
	pthread_mutex_destroy(&g->grow_lock);
	pthread_mutex_destroy(&g->bounce_lock);
	free(g);
}

KVFS_GPU_API const char *kvfs_gpu_backend(const struct kvfs_gpu *g)
{
	return g->be->name;
}

KVFS_GPU_API void kvfs_gpu_get_stats(const struct kvfs_gpu *g, struct kvfs_gpu_stats *s)
{
	struct kvfs_gpu *m = (struct kvfs_gpu *)g;	/* atomics, read only */

	s->writes = atomic_load(&m->st.writes);
	s->reads = atomic_load(&m->st.reads);
	s->bytes_written = atomic_load(&m->st.bytes_written);
	s->bytes_read = atomic_load(&m->st.bytes_read);
	s->mapped = atomic_load(&m->st.mapped);
	s->fallback = atomic_load(&m->st.fallback);
	s->fallback_bytes = atomic_load(&m->st.fallback_bytes);
	s->copies = atomic_load(&m->st.copies);
	s->ioctls = atomic_load(&m->st.ioctls);
	s->maps = atomic_load(&m->maps.maps);
	s->registrations = atomic_load(&m->maps.registrations);
	s->unregistered = atomic_load(&m->maps.unregistered);
	s->evictions = atomic_load(&m->maps.evictions);
	s->unlinked = atomic_load(&m->maps.unlinked);
	s->errors = atomic_load(&m->st.errors);
}

/* ---- the caller's buffers ---- */

struct cursor {
	const struct iovec *iov;
	int n, i;
	size_t at;           /* bytes of iov[i] done */
};

/* Sums iov lengths; -EINVAL for bad vectors or a sum past 2^63. */
static int64_t iov_total(const struct iovec *iov, int n)
{
	uint64_t t = 0;

	if (n < 0 || (n > 0 && !iov))
		return -EINVAL;
	for (int i = 0; i < n; i++) {
		if (iov[i].iov_len > (uint64_t)INT64_MAX - t || (!iov[i].iov_base && iov[i].iov_len))
			return -EINVAL;
		t += iov[i].iov_len;
	}
	return (int64_t)t;
}

/*
 * Copies n bytes between the file mapping at `map` and the cursor's
 * buffers: into the mapping for a write, out of it for a read.  Device
 * buffers go through the backend on `stream`; *dev remembers one for the
 * sync.
 */
static int copy_range(struct kvfs_gpu *g, struct cursor *c, char *map, size_t n,
		      int write, void *stream, const void **dev)
{
	const struct kvfs_gpu_backend *be = g->be;
	size_t room, take;
	char *buf;
	int r;

	while (n && c->i < c->n) {
		room = c->iov[c->i].iov_len - c->at;
		if (room == 0) {
			c->i++;
			c->at = 0;
			continue;
		}
		take = room < n ? room : n;
		buf = (char *)c->iov[c->i].iov_base + c->at;
		if (be->is_device(buf)) {
			*dev = buf;
			r = write ? be->to_host(map, buf, take, stream)
				  : be->to_device(buf, map, take, stream);
			if (r)
				return r;
		} else if (write) {
			memcpy(map, buf, take);
		} else {
			memcpy(buf, map, take);
		}
		atomic_fetch_add(&g->st.copies, 1);
		map += take;
		n -= take;
		c->at += take;
	}
	return n ? -EIO : 0;
}

/* ---- the mapped path ---- */

/*
 * Whether fd is to be mapped: 1 (*sync set for a daemon-served open that
 * KVFS_GPU_MAP=1 maps anyway), 0 for the fallback path (not kvfs, an older
 * kvfs, a daemon-served open), or -errno.  *align gets the alignment.
 */
static int want_map(struct kvfs_gpu *g, int fd, int *sync, uint32_t *align)
{
	struct kvfs_ioc_info info;
	int r;

	memset(&info, 0, sizeof(info));
	info.version = KVFS_ABI_VERSION;
	atomic_fetch_add(&g->st.ioctls, 1);
	r = kvfs_gpu_ioctl(fd, KVFS_IOC_INFO, &info);
	if (r == -ENOTTY || r == -EINVAL || r == -ENOSYS || r == -EOPNOTSUPP || r == -EBADF)
		return 0;	/* not kvfs, or not one of this ABI: fall back */
	if (r < 0)
		return r;
	if (info.out_flags & KVFS_INFO_DIR)
		return 0;	/* pread/pwrite give the caller EISDIR */
	*align = info.map_align;
	*sync = !(info.out_flags & KVFS_INFO_PASSTHROUGH);
	if (g->map_env == 0)
		return 0;	/* KVFS_GPU_MAP=0: the fallback path only */
	return !*sync || g->map_env == 1;
}

/* Makes the file cover [off, end): its size grows, never shrinks. */
static int cover(struct kvfs_gpu *g, int fd, uint64_t off, uint64_t end)
{
	struct stat st;
	int r = 0;

	while (fallocate(fd, 0, (off_t)off, (off_t)(end - off)) != 0) {
		if (errno == EINTR)
			continue;
		if (errno != EOPNOTSUPP)
			return -errno;
		/* No fallocate: grow with ftruncate, one thread at a time (a
		 * process outside this context can still race it). */
		pthread_mutex_lock(&g->grow_lock);
		if (fstat(fd, &st) != 0)
			r = -errno;
		else if ((uint64_t)st.st_size < end && ftruncate(fd, (off_t)end) != 0)
			r = -errno;
		pthread_mutex_unlock(&g->grow_lock);
		return r;
	}
	return 0;
}

/*
 * Sets io->map to a mapping of fd's file (status st) usable for [off, end),
 * after making the file cover that range for a write (before any mapping
 * of it is registered: pages past EOF cannot be).  Returns 0 with no map
 * for the fallback path, or -errno.
 */
static int get_map(struct kvfs_gpu *g, int fd, const struct stat *st, uint64_t off,
		   uint64_t end, int write, struct kvfs_gpu_io *io)
{
	uint64_t dev = (uint64_t)st->st_dev, ino = (uint64_t)st->st_ino;
	uint64_t size = (uint64_t)st->st_size;
	uint32_t align = KVFS_MAP_ALIGN;
	struct kvfs_gpu_map *known;
	int sync = 0, r;

	/* A cached mapping says the file is mapped; else the daemon does. */
	known = kvfs_gpu_maps_find(&g->maps, dev, ino, 0, 0, 0);
	if (known) {
		sync = known->sync;
		kvfs_gpu_maps_put(&g->maps, known);
	} else {
		r = want_map(g, fd, &sync, &align);
		if (r <= 0)
			return r;
	}
	if (write) {
		r = cover(g, fd, off, end);
		if (r < 0)
			return r;
		size = size > end ? size : end;
	}
	io->map = kvfs_gpu_maps_find(&g->maps, dev, ino, size, end, write);
	r = 0;
	if (!io->map) {
		r = kvfs_gpu_maps_new(&g->maps, fd, dev, ino, size, end, align, write, sync,
				      &io->map);
		/* The kernel would not map it (an O_WRONLY fd, a file system
		 * that cannot): this transfer falls back. */
		if (r == -EACCES || r == -ENODEV || r == -EINVAL || r == -EPERM)
			r = 0;
	}
	return r;
}

/* Waits for io's copies, makes a daemon-served write visible to reads
 * (msync: they bypass the page cache), and drops the mapping.  Returns
 * the transfer's byte count or -errno. */
static ssize_t finish(struct kvfs_gpu *g, struct kvfs_gpu_io *io)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), a;
	int r = 0;

	if (io->done)
		return io->result;
	if (io->dev)
		r = g->be->sync(io->stream, io->dev);
	if (r == 0 && io->write && io->map->sync && io->len) {
		a = io->off & ~(page - 1);
		if (msync(io->map->base + a, io->off + io->len - a, MS_SYNC) != 0)
			r = -errno;
	}
	kvfs_gpu_maps_put(&g->maps, io->map);
	io->map = NULL;
	io->done = 1;
	io->result = r < 0 ? r : (ssize_t)io->len;
	return io->result;
}

/*
 * Starts a mapped transfer: the copies are queued on `stream` and io says
 * what finish() must do.  Returns 0, or -errno (nothing left in flight);
 * *fallback set means "not mapped here, nothing done".
 */
static int mapped(struct kvfs_gpu *g, int fd, const struct iovec *iov, int iovcnt,
		  uint64_t off, uint64_t total, int write, void *stream,
		  struct kvfs_gpu_io *io, int *fallback)
{
	struct cursor c = { iov, iovcnt, 0, 0 };
	const void *dev = NULL;
	struct stat st;
	int r, fl;

	*fallback = 0;
	if (fstat(fd, &st) != 0)
		return -errno;
	if (!S_ISREG(st.st_mode)) {
		*fallback = 1;
		return 0;
	}
	if (write) {
		fl = fcntl(fd, F_GETFL);
		if (fl < 0)
			return -errno;
		if ((fl & O_ACCMODE) == O_RDONLY)
			return -EBADF;	/* as pwrite(2) */
	} else if ((uint64_t)st.st_size <= off) {
		/* At or past EOF: nothing to read.  Mapped if the file is. */
		io->map = kvfs_gpu_maps_find(&g->maps, (uint64_t)st.st_dev,
					     (uint64_t)st.st_ino, 0, 0, 0);
		*fallback = io->map == NULL;
		io->len = 0;
		return 0;
	} else if ((uint64_t)st.st_size - off < total) {
		total = (uint64_t)st.st_size - off;
	}
	r = get_map(g, fd, &st, off, off + total, write, io);
	if (r < 0)
		return r;
	if (!io->map) {
		*fallback = 1;
		return 0;
	}
	if (r == 0 && total)
		r = copy_range(g, &c, io->map->base + off, total, write, stream, &dev);
	io->off = off;
	io->len = total;
	io->stream = stream;
	io->dev = dev;
	if (r < 0) {
		if (dev)	/* no copy may still run into the mapping */
			(void)g->be->sync(stream, dev);
		kvfs_gpu_maps_put(&g->maps, io->map);
		io->map = NULL;
		return r;
	}
	return 0;
}

/* ---- the fallback path: pwrite/pread, through a bounce buffer for device
 * memory (like cuFile's compatibility mode) ---- */

/* Whether every buffer of iov is host memory (no DMA, no bounce). */
static int all_host(const struct kvfs_gpu *g, const struct iovec *iov, int iovcnt)
{
	for (int i = 0; i < iovcnt; i++)
		if (iov[i].iov_len && g->be->is_device(iov[i].iov_base))
			return 0;
	return 1;
}

/*
 * Moves `total` bytes between iov and the file at off with pwritev/preadv,
 * IOV_MAX buffers per call, resuming after short transfers.  Returns the
 * bytes moved (fewer only for a read that reaches EOF) or -errno.
 */
static ssize_t vec_all(int fd, const struct iovec *iov, int iovcnt, uint64_t off,
		       uint64_t total, int write)
{
	struct iovec v[IOV_MAX];
	uint64_t done = 0;
	size_t skip = 0;	/* bytes of iov[0] already moved */
	ssize_t got;
	int n;

	while (done < total) {
		while (iovcnt && iov[0].iov_len == skip) {
			iov++;
			iovcnt--;
			skip = 0;
		}
		for (n = 0; n < iovcnt && n < IOV_MAX; n++)
			v[n] = iov[n];
		v[0].iov_base = (char *)v[0].iov_base + skip;
		v[0].iov_len -= skip;
		got = write ? pwritev(fd, v, n, (off_t)(off + done))
			    : preadv(fd, v, n, (off_t)(off + done));
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (got == 0 && write)
			return -EIO;
		if (got == 0)
			break;	/* EOF */
		done += (uint64_t)got;
		for (skip += (size_t)got; iovcnt && skip >= iov[0].iov_len; iovcnt--, iov++)
			skip -= iov[0].iov_len;
	}
	return (ssize_t)done;
}

/* vec_all for one buffer. */
static ssize_t one_all(int fd, char *p, size_t n, uint64_t off, int write)
{
	struct iovec v = { p, n };

	return vec_all(fd, &v, 1, off, n, write);
}

/*
 * One device buffer through the bounce buffer, its copies on the caller's
 * stream: a non-blocking stream is not ordered with the default one, so
 * copying on the default stream could read device memory before the
 * caller's kernels on `stream` have written it.  Caller holds bounce_lock.
 */
static ssize_t bounce_one(struct kvfs_gpu *g, int fd, char *dev, size_t len,
			  uint64_t off, int write, void *stream)
{
	size_t done = 0, n;
	ssize_t got;
	int r;

	while (done < len) {
		n = len - done < BOUNCE_SIZE ? len - done : BOUNCE_SIZE;
		if (write) {
			r = g->be->to_host(g->bounce, dev + done, n, stream);
			if (r == 0) {	/* issued: counted, even if it fails later */
				atomic_fetch_add(&g->st.copies, 1);
				r = g->be->sync(stream, dev + done);
			}
			got = r < 0 ? r : one_all(fd, g->bounce, n, off + done, 1);
		} else {
			got = one_all(fd, g->bounce, n, off + done, 0);
			if (got > 0) {
				r = g->be->to_device(dev + done, g->bounce, (size_t)got, stream);
				if (r == 0) {
					atomic_fetch_add(&g->st.copies, 1);
					r = g->be->sync(stream, dev + done);
				}
				if (r < 0)
					got = r;
			}
		}
		if (got < 0)
			return got;
		done += (size_t)got;
		if ((size_t)got < n)
			break;	/* EOF */
	}
	return (ssize_t)done;
}

/* Device buffers one at a time through the bounce buffer; each run of
 * host buffers with one pwritev/preadv (vec_all). */
static ssize_t slow(struct kvfs_gpu *g, int fd, const struct iovec *iov, int iovcnt,
		    uint64_t off, int write, void *stream)
{
	ssize_t got = 0, done = 0;
	uint64_t want;
	int r, i = 0, j;

	while (i < iovcnt) {
		char *p = iov[i].iov_base;

		if (iov[i].iov_len && g->be->is_device(p)) {
			want = iov[i].iov_len;
			pthread_mutex_lock(&g->bounce_lock);
			r = g->bounce ? 0 : g->be->alloc_host(&g->bounce, BOUNCE_SIZE);
			got = r < 0 ? r : bounce_one(g, fd, p, want, off + (uint64_t)done,
						     write, stream);
			pthread_mutex_unlock(&g->bounce_lock);
			i++;
		} else {
			for (j = i, want = 0; j < iovcnt && (iov[j].iov_len == 0 ||
			     !g->be->is_device(iov[j].iov_base)); j++)
				want += iov[j].iov_len;
			got = vec_all(fd, iov + i, j - i, off + (uint64_t)done, want, write);
			i = j;
		}
		if (got < 0)
			return got;
		done += got;
		if ((uint64_t)got < want)
			break;	/* EOF */
	}
	return done;
}

/* ---- the API ---- */

static ssize_t account(struct kvfs_gpu *g, const struct kvfs_gpu_io *io, ssize_t r)
{
	if (r < 0) {
		atomic_fetch_add(&g->st.errors, 1);
		return r;
	}
	atomic_fetch_add(io->write ? &g->st.writes : &g->st.reads, 1);
	atomic_fetch_add(io->write ? &g->st.bytes_written : &g->st.bytes_read, (uint64_t)r);
	if (io->fellback) {
		atomic_fetch_add(&g->st.fallback, 1);
		atomic_fetch_add(&g->st.fallback_bytes, (uint64_t)r);
	} else {
		atomic_fetch_add(&g->st.mapped, 1);
	}
	return r;
}

/* Starts a transfer: fills *io (for finish()), or returns -errno. */
static int start(struct kvfs_gpu *g, int fd, const struct iovec *iov, int iovcnt,
		 uint64_t off, int write, void *stream, struct kvfs_gpu_io *io)
{
	int64_t total = iov_total(iov, iovcnt);
	int fellback = 0, r;
	ssize_t n;

	*io = (struct kvfs_gpu_io){ .fd = fd, .write = write, .done = 1 };
	if (total < 0 || off > (uint64_t)INT64_MAX || (uint64_t)total > (uint64_t)INT64_MAX - off)
		return -EINVAL;
	if (total == 0)
		return 0;
	/* Host memory needs no mapping: the kernel copies it (file top). */
	fellback = g->map_env != 1 && all_host(g, iov, iovcnt);
	if (!fellback) {
		r = mapped(g, fd, iov, iovcnt, off, (uint64_t)total, write, stream, io,
			   &fellback);
		if (!fellback) {
			io->done = r < 0;
			return r;
		}
	}
	n = slow(g, fd, iov, iovcnt, off, write, stream);
	if (n < 0)
		return (int)n;
	*io = (struct kvfs_gpu_io){ .fd = fd, .write = write, .done = 1,
				    .fellback = 1, .result = n };
	return 0;
}

static ssize_t sync_xfer(struct kvfs_gpu *g, int fd, const struct iovec *iov,
			 int iovcnt, uint64_t off, int write)
{
	struct kvfs_gpu_io io;
	int r = start(g, fd, iov, iovcnt, off, write, NULL, &io);

	return account(g, &io, r < 0 ? r : finish(g, &io));
}

static int async_xfer(struct kvfs_gpu *g, int fd, const struct iovec *iov, int iovcnt,
		      uint64_t off, int write, void *stream, struct kvfs_gpu_io **out)
{
	struct kvfs_gpu_io *io = malloc(sizeof(*io));
	int r;

	*out = NULL;
	if (!io)
		return -ENOMEM;
	r = start(g, fd, iov, iovcnt, off, write, stream, io);
	if (r < 0) {
		account(g, io, r);
		free(io);
		return r;
	}
	*out = io;
	return 0;
}

KVFS_GPU_API ssize_t kvfs_gpu_pwrite(struct kvfs_gpu *g, int fd, const void *buf,
				     size_t len, uint64_t off)
{
	struct iovec v = { (void *)buf, len };

	return sync_xfer(g, fd, &v, 1, off, 1);
}

KVFS_GPU_API ssize_t kvfs_gpu_pread(struct kvfs_gpu *g, int fd, void *buf, size_t len,
				    uint64_t off)
{
	struct iovec v = { buf, len };

	return sync_xfer(g, fd, &v, 1, off, 0);
}

KVFS_GPU_API ssize_t kvfs_gpu_pwritev(struct kvfs_gpu *g, int fd, const struct iovec *iov,
				      int iovcnt, uint64_t off)
{
	return sync_xfer(g, fd, iov, iovcnt, off, 1);
}

KVFS_GPU_API ssize_t kvfs_gpu_preadv(struct kvfs_gpu *g, int fd, const struct iovec *iov,
				     int iovcnt, uint64_t off)
{
	return sync_xfer(g, fd, iov, iovcnt, off, 0);
}

KVFS_GPU_API int kvfs_gpu_pwrite_async(struct kvfs_gpu *g, int fd, const void *buf,
				       size_t len, uint64_t off, void *stream,
				       struct kvfs_gpu_io **io)
{
	struct iovec v = { (void *)buf, len };

	return async_xfer(g, fd, &v, 1, off, 1, stream, io);
}

KVFS_GPU_API int kvfs_gpu_pread_async(struct kvfs_gpu *g, int fd, void *buf, size_t len,
				      uint64_t off, void *stream, struct kvfs_gpu_io **io)
{
	struct iovec v = { buf, len };

	return async_xfer(g, fd, &v, 1, off, 0, stream, io);
}

KVFS_GPU_API int kvfs_gpu_pwritev_async(struct kvfs_gpu *g, int fd,
					const struct iovec *iov, int iovcnt,
					uint64_t off, void *stream,
					struct kvfs_gpu_io **io)
{
	return async_xfer(g, fd, iov, iovcnt, off, 1, stream, io);
}

KVFS_GPU_API int kvfs_gpu_preadv_async(struct kvfs_gpu *g, int fd,
				       const struct iovec *iov, int iovcnt,
				       uint64_t off, void *stream,
				       struct kvfs_gpu_io **io)
{
	return async_xfer(g, fd, iov, iovcnt, off, 0, stream, io);
}

KVFS_GPU_API ssize_t kvfs_gpu_wait(struct kvfs_gpu *g, struct kvfs_gpu_io *io)
{
	ssize_t r;

	if (!io)
		return -EINVAL;
	r = account(g, io, finish(g, io));
	free(io);
	return r;
}
