/*
 * kvfs_gpu.h - libkvfs-gpu: moves GPU memory into open kvfs files and back
 * with one copy per buffer and no staging file (DESIGN.md 4, docs/gpu.md).
 *
 * Where the kernel serves an open kvfs file from the file's memory pages
 * (FUSE passthrough; the daemon says so through one ioctl, KVFS_IOC_INFO),
 * the library maps the fd (mmap MAP_SHARED), keeps the mapping cached per
 * file and, with CUDA, registers it for DMA once per mapping; a transfer is
 * then one copy between the device and the file's pages.  Any other fd (a
 * daemon-served kvfs open, a file elsewhere) works too, through pwrite/pread
 * (with a bounce buffer for device memory, like cuFile's compatibility
 * mode); host memory goes by pwritev/preadv on every fd (a write fills new
 * file pages in one pass, where a mapping's fault zeroes them first); the
 * statistics say which path each transfer took.  KVFS_GPU_MAP=1
 * in the environment maps daemon-served kvfs opens too (through the page
 * cache; each write is msync()ed before it returns): for tests and
 * measurements, not faster.
 *
 * Backends: CUDA through the driver API, loaded at run time (dlopen of
 * libcuda.so.1: no link-time dependency), or "host", where the "device"
 * buffers are ordinary host memory and copies are memcpy: the backend for
 * machines without a GPU and for tests.  With CUDA, buffers may be device,
 * managed or host pointers; the kind is detected per buffer.
 *
 * Conventions: every function returns 0 (or a byte count) or -errno.
 * Reads return fewer bytes only at EOF.  A context may be used from
 * several threads at once.  Mapped writes need an fd open O_RDWR (mmap
 * needs read access; an O_WRONLY fd falls back).  Linking: pkg-config
 * --cflags --libs kvfs-gpu (or -lkvfs_gpu -ldl -pthread with the static
 * library).  Trust: nothing beyond the file's permissions; whoever can
 * open a kvfs file can map it.
 */
#ifndef KVFS_GPU_H
#define KVFS_GPU_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KVFS_GPU_VERSION "0.2.0" /* 0.2: ABI 2, mapped transfers; new stats layout (soname .so.1) */

/* kvfs_gpu_open() flags: the backend.  KVFS_GPU_AUTO reads the environment
 * variable KVFS_GPU_BACKEND (host, cuda or auto); auto means CUDA when
 * libcuda.so.1 loads and reports a device, else host. */
#define KVFS_GPU_AUTO 0x0
#define KVFS_GPU_HOST 0x1
#define KVFS_GPU_CUDA 0x2

struct kvfs_gpu;     /* a context */
struct kvfs_gpu_io;  /* an asynchronous transfer, until kvfs_gpu_wait() */

struct kvfs_gpu_stats {
	uint64_t writes, reads;          /* transfers (sync and async) */
	uint64_t bytes_written, bytes_read;
	uint64_t mapped;                 /* transfers through a file mapping */
	uint64_t fallback;               /* transfers through pwrite/pread */
	uint64_t fallback_bytes;
	uint64_t copies;                 /* copies issued (one DMA each with CUDA) */
	uint64_t ioctls;                 /* INFO requests to the daemon */
	uint64_t maps;                   /* files mapped (new or grown mappings) */
	uint64_t registrations;          /* mappings registered for DMA: one per
					    mapping, never per transfer */
	uint64_t unregistered;           /* mappings CUDA could not register (slower) */
	uint64_t evictions;              /* mappings dropped to stay within the
					    cache's bounds (64 files, 64 GiB) */
	uint64_t unlinked;               /* mappings dropped because their file
					    was unlinked (so its memory can go) */
	uint64_t errors;                 /* transfers that returned an error */
};

/*
 * Creates a context.  `mount` is a kvfs mountpoint (or any directory or file
 * in one) to check now, or NULL.  Errors: -ENOENT (no libcuda.so.1),
 * -ENODEV (no CUDA device) when KVFS_GPU_CUDA was asked for; -ENOTTY when
 * `mount` is not in a kvfs that speaks this library's ABI.
 */
int kvfs_gpu_open(struct kvfs_gpu **g, const char *mount, unsigned flags);

/* Frees the context; transfers still in flight must be waited for first.
 * Its file mappings are unregistered and unmapped. */
void kvfs_gpu_close(struct kvfs_gpu *g);

/* "cuda" or "host". */
const char *kvfs_gpu_backend(const struct kvfs_gpu *g);

/*
 * Writes len bytes from buf (a device pointer with CUDA) to fd at off.
 * The copies run on the default stream: work queued on a non-blocking
 * stream is not waited for (synchronize it, or use the _async call).
 * Returns len or -errno: -EBADF (fd not open for writing), -ENOSPC (no
 * memory for the range), -EFBIG, -EINVAL (a bad range), -EFAULT (the
 * device faulted on a copy: CUDA_ERROR_ILLEGAL_ADDRESS), -EIO (another
 * copy failure).  On the mapped path the file first grows to cover the
 * range (never shrinks); as with write(2), a failed write may have
 * changed part of the range.
 */
ssize_t kvfs_gpu_pwrite(struct kvfs_gpu *g, int fd, const void *buf, size_t len,
			uint64_t off);

/* Reads up to len bytes of fd at off into buf.  Returns the bytes read
 * (short only at EOF) or -errno. */
ssize_t kvfs_gpu_pread(struct kvfs_gpu *g, int fd, void *buf, size_t len,
		       uint64_t off);

/* Gathers iov[0..iovcnt) (e.g. the scattered pages of a paged KV cache) into
 * the one contiguous file range starting at off.  The device buffers of
 * one transfer must be on one GPU: it waits for its copies through that
 * GPU's context (or the stream's) only. */
ssize_t kvfs_gpu_pwritev(struct kvfs_gpu *g, int fd, const struct iovec *iov,
			 int iovcnt, uint64_t off);

/* Scatters the file range starting at off into iov[0..iovcnt). */
ssize_t kvfs_gpu_preadv(struct kvfs_gpu *g, int fd, const struct iovec *iov,
			int iovcnt, uint64_t off);

/*
 * Asynchronous variants: the copies are queued on `stream` (a CUstream;
 * NULL for the default stream) and *io is set; kvfs_gpu_wait() waits for
 * them, finishes the transfer (msync where needed, the mapping's
 * reference dropped) and returns what the
 * synchronous call would have.  fd must stay open and the buffers untouched
 * until then.  Returns 0 or -errno (then no io exists).  With the host
 * backend, and for fds that take the fallback path, the copies are done
 * before these return.
 */
int kvfs_gpu_pwrite_async(struct kvfs_gpu *g, int fd, const void *buf, size_t len,
			  uint64_t off, void *stream, struct kvfs_gpu_io **io);
int kvfs_gpu_pread_async(struct kvfs_gpu *g, int fd, void *buf, size_t len,
			 uint64_t off, void *stream, struct kvfs_gpu_io **io);
int kvfs_gpu_pwritev_async(struct kvfs_gpu *g, int fd, const struct iovec *iov,
			   int iovcnt, uint64_t off, void *stream,
			   struct kvfs_gpu_io **io);
int kvfs_gpu_preadv_async(struct kvfs_gpu *g, int fd, const struct iovec *iov,
			  int iovcnt, uint64_t off, void *stream,
			  struct kvfs_gpu_io **io);

/* Waits for io, finishes it and frees it.  Returns its byte count or -errno. */
ssize_t kvfs_gpu_wait(struct kvfs_gpu *g, struct kvfs_gpu_io *io);

/* A snapshot of the context's counters. */
void kvfs_gpu_get_stats(const struct kvfs_gpu *g, struct kvfs_gpu_stats *out);

#ifdef __cplusplus
}
#endif

#endif
