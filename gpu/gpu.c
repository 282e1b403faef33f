/*
 * gpu.c - libkvfs-gpu's contexts and transfers (kvfs_gpu.h).
 *
 * Owns struct kvfs_gpu (backend, the arenas this context holds references
 * on, a bounce buffer, counters) and struct kvfs_gpu_io.  A transfer is:
 *   write: RESERVE the file range (more replies while extents remain), copy
 *          the caller's buffers into the listed arena extents, wait for the
 *          copies, COMMIT;
 *   read:  PIN the range (clamped to EOF), copy the extents (or zeros for
 *          holes) into the caller's buffers, wait, UNPIN.
 * Any failure after RESERVE or PIN ends the lease (UNPIN) before returning,
 * so nothing half-copied is ever committed.  An fd the daemon does not serve
 * (ENOTTY, EOPNOTSUPP, an ABI it does not speak, an arena this process may
 * not map) takes the fallback path: pwrite/pread through a bounce buffer.
 *
 * Threads: any number may share a context.  `lock` guards the context's
 * arena list, `bounce_lock` the bounce buffer; counters are atomics.  The
 * process-wide arena table lives in arenas.c.  Lock order: `lock` before
 * arenas.c's `arenas_lock`; `bounce_lock` alone (docs/design.md, "Lock
 * order").
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "kvfs_abi.h"
#include "kvfs_gpu.h"

/* Bounce buffer of the fallback path: 8 MiB, two KV pages of a large model
 * per copy, small enough to pin in every process. */
#define BOUNCE_SIZE (8u << 20)

struct kvfs_gpu {
	const struct kvfs_gpu_backend *be;
	pthread_mutex_t lock;
	struct kvfs_gpu_arena **arenas;    /* guarded by lock: references held */
	uint64_t *refused;                 /* guarded by lock: arena ids we may
					      not map; their fds fall back */
	unsigned narenas, nrefused;
	pthread_mutex_t bounce_lock;
	void *bounce;                      /* guarded by bounce_lock */
	struct {
		atomic_uint_fast64_t writes, reads, bytes_written, bytes_read;
		atomic_uint_fast64_t fast, fallback, fallback_bytes, copies;
		atomic_uint_fast64_t ioctls, arenas, unregistered, errors;
	} st;
};

enum { IO_DONE, IO_COMMIT, IO_UNPIN };

struct kvfs_gpu_io {
	int fd;
	int write;
	int state;           /* IO_DONE: result is final; else wait finishes */
	int fellback;        /* went through the fallback path */
	ssize_t result;
	uint64_t lease, off, len;
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

/* Adds a reference the caller holds to the context's list (or drops it if
 * another thread added the same arena meanwhile).  Caller holds g->lock. */
static int ctx_keep(struct kvfs_gpu *g, struct kvfs_gpu_arena *a)
{
	struct kvfs_gpu_arena **v;

	for (unsigned i = 0; i < g->narenas; i++)
		if (g->arenas[i] == a) {
			kvfs_gpu_arena_put(a);
			return 0;
		}
	v = realloc(g->arenas, (g->narenas + 1) * sizeof(*v));
	if (!v) {
		kvfs_gpu_arena_put(a);
		return -ENOMEM;
	}
	g->arenas = v;
	g->arenas[g->narenas++] = a;
	atomic_fetch_add(&g->st.arenas, 1);
	return 0;
}

/* Maps (or finds) the arena of fd; 0 or -errno.  Caller holds no lock. */
static int ctx_attach(struct kvfs_gpu *g, int fd, uint64_t id,
		      struct kvfs_gpu_arena **out)
{
	struct kvfs_gpu_arena *a;
	int r, registered;

	r = kvfs_gpu_arena_get(g->be, fd, id, &a, &registered);
	atomic_fetch_add(&g->st.ioctls, 1);
	if (r < 0)
		return r;
	if (!registered)
		atomic_fetch_add(&g->st.unregistered, 1);
	pthread_mutex_lock(&g->lock);
	r = ctx_keep(g, a);
	pthread_mutex_unlock(&g->lock);
	*out = a;
	return r;
}

KVFS_GPU_API int kvfs_gpu_open(struct kvfs_gpu **out, const char *mount, unsigned flags)
{
	struct kvfs_gpu_arena *a;
	struct kvfs_gpu *g;
	int r, fd;

	*out = NULL;
	if (flags & ~(unsigned)(KVFS_GPU_HOST | KVFS_GPU_CUDA) ||
	    flags == (KVFS_GPU_HOST | KVFS_GPU_CUDA))
		return -EINVAL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	pthread_mutex_init(&g->lock, NULL);
	pthread_mutex_init(&g->bounce_lock, NULL);
	g->be = pick_backend(flags, &r);
	if (!g->be)
		goto fail;
	if (mount) {
		fd = open(mount, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			r = -errno;
			goto fail;
		}
		r = ctx_attach(g, fd, 0, &a);
		close(fd);
		if (r < 0)
			goto fail;
	}
	*out = g;
	return 0;
fail:
	kvfs_gpu_close(g);
	return r;
}

KVFS_GPU_API void kvfs_gpu_close(struct kvfs_gpu *g)
{
	if (!g)
		return;
	for (unsigned i = 0; i < g->narenas; i++)
		kvfs_gpu_arena_put(g->arenas[i]);
	if (g->bounce)
		g->be->free_host(g->bounce);
	free(g->arenas);
	free(g->refused);
	pthread_mutex_destroy(&g->lock);
	pthread_mutex_destroy(&g->bounce_lock);
	free(g);
}

KVFS_GPU_API const char *kvfs_gpu_backend(const struct kvfs_gpu *g)
{
	return g->be->name;
}

KVFS_GPU_API void kvfs_gpu_get_stats(const struct kvfs_gpu *g, struct kvfs_gpu_stats *s)
{
	s->writes = atomic_load(&g->st.writes);
	s->reads = atomic_load(&g->st.reads);
	s->bytes_written = atomic_load(&g->st.bytes_written);
	s->bytes_read = atomic_load(&g->st.bytes_read);
	s->fast = atomic_load(&g->st.fast);
	s->fallback = atomic_load(&g->st.fallback);
	s->fallback_bytes = atomic_load(&g->st.fallback_bytes);
	s->copies = atomic_load(&g->st.copies);
	s->ioctls = atomic_load(&g->st.ioctls);
	s->arenas = atomic_load(&g->st.arenas);
	s->unregistered = atomic_load(&g->st.unregistered);
	s->errors = atomic_load(&g->st.errors);
}

/* The context's arena `id`, attaching it through fd the first time.  -errno
 * if this process cannot map it (remembered: later calls fall back). */
static int ctx_arena(struct kvfs_gpu *g, int fd, uint64_t id,
		     struct kvfs_gpu_arena **out)
{
	uint64_t *v;
	int r;

	pthread_mutex_lock(&g->lock);
	for (unsigned i = 0; i < g->narenas; i++)
		if (g->arenas[i]->id == id) {
			*out = g->arenas[i];
			pthread_mutex_unlock(&g->lock);
			return 0;
		}
	for (unsigned i = 0; i < g->nrefused; i++)
		if (g->refused[i] == id) {
			pthread_mutex_unlock(&g->lock);
			return -EACCES;
		}
	pthread_mutex_unlock(&g->lock);
	r = ctx_attach(g, fd, id, out);
	if (r < 0 && r != -ENOMEM) {
		pthread_mutex_lock(&g->lock);
		v = realloc(g->refused, (g->nrefused + 1) * sizeof(*v));
		if (v) {
			g->refused = v;
			g->refused[g->nrefused++] = id;
		}
		pthread_mutex_unlock(&g->lock);
	}
	return r;
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
 * Copies n bytes between the arena at `arena` and the cursor's buffers:
 * into the arena for a write, out of it for a read (arena NULL: a hole,
 * zeros).  Device buffers go through the backend on `stream`; *dev
 * remembers one for the sync.
 */
static int copy_range(struct kvfs_gpu *g, struct cursor *c, char *arena, size_t n,
		      int write, void *stream, const void **dev)
{
	const struct kvfs_gpu_backend *be = g->be;
	size_t room, take;
	char *buf;
	int r = 0;

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
			if (write)
				r = be->to_host(arena, buf, take, stream);
			else if (arena)
				r = be->to_device(buf, arena, take, stream);
			else
				r = be->zero_device(buf, take, stream);
			if (r)
				return r;
		} else if (write) {
			memcpy(arena, buf, take);
		} else if (arena) {
			memcpy(buf, arena, take);
		} else {
			memset(buf, 0, take);
		}
		atomic_fetch_add(&g->st.copies, 1);
		if (arena)
			arena += take;
		n -= take;
		c->at += take;
	}
	return n ? -EIO : 0;
}

/* ---- the fast path ---- */

static int lease_end(struct kvfs_gpu *g, int fd, uint64_t lease)
{
	struct kvfs_ioc_lease q = { .version = KVFS_ABI_VERSION, .lease = lease };

	atomic_fetch_add(&g->st.ioctls, 1);
	return kvfs_gpu_ioctl(fd, KVFS_IOC_UNPIN, &q);
}

/*
 * Whether an error of RESERVE or PIN means "this fd is not served by a
 * kvfs fast path" (fall back) rather than a real error: not kvfs (ENOTTY,
 * ENOSYS), a kvfs without a shared arena (EOPNOTSUPP), or one whose arena
 * this process may not map (EPERM).  EINVAL is ambiguous (an old driver's
 * unknown ioctl, or a kvfs of another ABI version, or a bad range): INFO
 * settles it.
 */
static int not_served(struct kvfs_gpu *g, int fd, int err)
{
	struct kvfs_ioc_info info;
	int r;

	if (err == -ENOTTY || err == -EOPNOTSUPP || err == -ENOSYS || err == -EPERM)
		return 1;
	if (err != -EINVAL)
		return 0;
	memset(&info, 0, sizeof(info));
	info.version = KVFS_ABI_VERSION;
	atomic_fetch_add(&g->st.ioctls, 1);
	r = kvfs_gpu_ioctl(fd, KVFS_IOC_INFO, &info);
	return r == -ENOTTY || r == -EINVAL || r == -EOPNOTSUPP;
}

/* Checks that reply m lists [start, m->next) inside the arena (and no
 * holes for a write: a reservation has none). */
static int reply_ok(const struct kvfs_ioc_map *m, uint64_t start,
		    const struct kvfs_gpu_arena *a, int write)
{
	uint64_t sum = 0;

	if (m->count > KVFS_IOC_MAP_EXTENTS || m->next <= start || m->next > m->end)
		return 0;
	for (uint32_t i = 0; i < m->count; i++) {
		const struct kvfs_ioc_extent *e = &m->ext[i];

		if (e->len == 0 || e->len > m->next - start - sum)
			return 0;
		if (e->aoff == KVFS_IOC_HOLE ? write
		    : e->aoff > a->size || e->len > a->size - e->aoff)
			return 0;
		sum += e->len;
	}
	return sum == m->next - start;
}

/* Waits for the copies of io, then commits (write) or unpins (read).
 * Returns the transfer's byte count or -errno. */
static ssize_t finish(struct kvfs_gpu *g, struct kvfs_gpu_io *io)
{
	struct kvfs_ioc_commit c = { .version = KVFS_ABI_VERSION };
	int r = 0, r2;

	if (io->state == IO_DONE)
		return io->result;
	if (io->dev)
		r = g->be->sync(io->stream, io->dev);
	if (io->state == IO_COMMIT && r == 0) {
		c.lease = io->lease;
		c.off = io->off;
		c.len = io->len;
		atomic_fetch_add(&g->st.ioctls, 1);
		r = kvfs_gpu_ioctl(io->fd, KVFS_IOC_COMMIT, &c);
		if (r == 0)
			return (ssize_t)io->len;
	}
	/* A read's pin ends either way; a write that failed gives up its
	 * reservation, so nothing half-copied is committed. */
	r2 = lease_end(g, io->fd, io->lease);
	if (r == 0 && r2 < 0 && io->state == IO_COMMIT)
		r = r2;
	return r < 0 ? r : (ssize_t)io->len;
}

/*
 * Moves the range through the arena up to the copies: RESERVE or PIN, then
 * the copies queued on `stream`; *io says what finish() must do.  Returns 0
 * or -errno (the lease already ended); *fallback set means "not served
 * here, nothing done".
 */
static int fast(struct kvfs_gpu *g, int fd, const struct iovec *iov, int iovcnt,
		uint64_t off, uint64_t total, int write, void *stream,
		struct kvfs_gpu_io *io, int *fallback)
{
	unsigned long cmd = write ? KVFS_IOC_RESERVE : KVFS_IOC_PIN;
	struct cursor c = { iov, iovcnt, 0, 0 };
	struct kvfs_gpu_arena *a = NULL;
	struct kvfs_ioc_map *m;
	const void *dev = NULL;
	uint64_t lease, pos = off, end;
	int r;

	*fallback = 0;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->version = KVFS_ABI_VERSION;
	m->off = off;
	m->len = total;
	atomic_fetch_add(&g->st.ioctls, 1);
	r = kvfs_gpu_ioctl(fd, cmd, m);
	if (r < 0) {
		*fallback = not_served(g, fd, r);
		free(m);
		return r;
	}
	lease = m->lease;
	end = m->end;
	*io = (struct kvfs_gpu_io){ .fd = fd, .write = write, .state = IO_DONE };
	if (lease == 0) {	/* PIN at or past EOF: nothing to read */
		free(m);
		return 0;
	}
	r = ctx_arena(g, fd, m->arena_id, &a);
	if (r < 0) {
		lease_end(g, fd, lease);
		free(m);
		*fallback = 1;
		return r;
	}
	for (;;) {
		if (!reply_ok(m, pos, a, write) || m->end != end || m->arena_id != a->id) {
			r = -EIO;
			break;
		}
		for (uint32_t i = 0; r == 0 && i < m->count; i++) {
			char *p = m->ext[i].aoff == KVFS_IOC_HOLE ? NULL : a->base + m->ext[i].aoff;

			r = copy_range(g, &c, p, m->ext[i].len, write, stream, &dev);
		}
		pos = m->next;
		if (r < 0 || pos == end)
			break;
		m->flags = KVFS_MAP_MORE;
		m->lease = lease;
		m->next = pos;
		atomic_fetch_add(&g->st.ioctls, 1);
		r = kvfs_gpu_ioctl(fd, cmd, m);
		if (r < 0)
			break;
	}
	free(m);
	if (r < 0) {
		if (dev)	/* no copy may still run into the lease's units */
			(void)g->be->sync(stream, dev);
		lease_end(g, fd, lease);
		return r;
	}
	*io = (struct kvfs_gpu_io){ .fd = fd, .write = write,
				    .state = write ? IO_COMMIT : IO_UNPIN,
				    .lease = lease, .off = off, .len = end - off,
				    .stream = stream, .dev = dev };
	return 0;
}

/* ---- the fallback path: pwrite/pread, through a bounce buffer for device
 * memory (like cuFile's compatibility mode) ---- */

static ssize_t pwrite_all(int fd, const char *p, size_t n, uint64_t off)
{
	ssize_t w;
	size_t done = 0;

	while (done < n) {
		w = pwrite(fd, p + done, n - done, (off_t)(off + done));
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (w == 0)
			return -EIO;
		done += (size_t)w;
	}
	return (ssize_t)done;
}

/* Reads until n bytes or EOF; returns the bytes read or -errno. */
static ssize_t pread_full(int fd, char *p, size_t n, uint64_t off)
{
	ssize_t got;
	size_t done = 0;

	while (done < n) {
		got = pread(fd, p + done, n - done, (off_t)(off + done));
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (got == 0)
			break;
		done += (size_t)got;
	}
	return (ssize_t)done;
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
			if (r == 0)
				r = g->be->sync(stream, dev + done);
			got = r < 0 ? r : pwrite_all(fd, g->bounce, n, off + done);
		} else {
			got = pread_full(fd, g->bounce, n, off + done);
			if (got > 0) {
				r = g->be->to_device(dev + done, g->bounce, (size_t)got, stream);
				if (r == 0)
					r = g->be->sync(stream, dev + done);
				if (r < 0)
					got = r;
			}
		}
		if (got < 0)
			return got;
		atomic_fetch_add(&g->st.copies, 1);
		done += (size_t)got;
		if ((size_t)got < n)
			break;	/* EOF */
	}
	return (ssize_t)done;
}

static ssize_t slow(struct kvfs_gpu *g, int fd, const struct iovec *iov, int iovcnt,
		    uint64_t off, int write, void *stream)
{
	ssize_t got = 0, done = 0;
	char *p;
	int r;

	for (int i = 0; i < iovcnt; i++) {
		p = iov[i].iov_base;
		if (iov[i].iov_len == 0)
			continue;
		if (g->be->is_device(p)) {
			pthread_mutex_lock(&g->bounce_lock);
			r = g->bounce ? 0 : g->be->alloc_host(&g->bounce, BOUNCE_SIZE);
			got = r < 0 ? r : bounce_one(g, fd, p, iov[i].iov_len, off + (uint64_t)done,
						     write, stream);
			pthread_mutex_unlock(&g->bounce_lock);
		} else if (write) {
			got = pwrite_all(fd, p, iov[i].iov_len, off + (uint64_t)done);
		} else {
			got = pread_full(fd, p, iov[i].iov_len, off + (uint64_t)done);
		}
		if (got < 0)
			return got;
		done += got;
		if ((size_t)got < iov[i].iov_len)
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
		atomic_fetch_add(&g->st.fast, 1);
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

	*io = (struct kvfs_gpu_io){ .fd = fd, .write = write, .state = IO_DONE };
	if (total < 0 || off > (uint64_t)INT64_MAX || (uint64_t)total > (uint64_t)INT64_MAX - off)
		return -EINVAL;
	if (total == 0)
		return 0;
	r = fast(g, fd, iov, iovcnt, off, (uint64_t)total, write, stream, io, &fellback);
	if (!fellback)
		return r;
	n = slow(g, fd, iov, iovcnt, off, write, stream);
	if (n < 0)
		return (int)n;
	*io = (struct kvfs_gpu_io){ .fd = fd, .write = write, .state = IO_DONE,
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
