/*
 * internal.h - what the files of libkvfs-gpu share and the library does not
 * export: the backend interface (host.c, cuda.c) and the process-wide table
 * of mapped arenas (arenas.c).  gpu.c drives both.
 */
#ifndef KVFS_GPU_INTERNAL_H
#define KVFS_GPU_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#define KVFS_GPU_API __attribute__((visibility("default")))

/*
 * A copy engine.  Every function returns 0 or -errno (CUDA codes are
 * translated in cuda.c, nowhere else).  "dev" pointers are device memory for
 * CUDA; is_device() says whether a caller's buffer is one (host memory is
 * copied with memcpy by gpu.c).  Copies are queued on `stream` (NULL: the
 * default stream) and complete at sync(stream, dev) for the same stream and
 * a device pointer of the same device.
 */
struct kvfs_gpu_backend {
	const char *name;
	/* Makes [p, p + n) (an arena mapping) a DMA target.  An error only
	 * makes copies slower. */
	int (*host_register)(void *p, size_t n);
	void (*host_unregister)(void *p);
	int (*is_device)(const void *p);
	int (*to_host)(void *dst, const void *dev, size_t n, void *stream);
	int (*to_device)(void *dev, const void *src, size_t n, void *stream);
	int (*zero_device)(void *dev, size_t n, void *stream);
	int (*sync)(void *stream, const void *dev);
	/* Page-locked host memory for bounce buffers. */
	int (*alloc_host)(void **p, size_t n);
	void (*free_host)(void *p);
};

extern const struct kvfs_gpu_backend kvfs_gpu_host_backend;

/* Loads libcuda.so.1 and initializes it (once per process).  Returns the
 * backend, or NULL with *err set: -ENOENT no driver library, -ENOSYS a
 * symbol missing, -ENODEV no device, or the translated CUDA error. */
const struct kvfs_gpu_backend *kvfs_gpu_cuda_backend(int *err);

/* One daemon's arena, mapped once per process and shared by contexts. */
struct kvfs_gpu_arena {
	struct kvfs_gpu_arena *next;   /* process-wide list (arenas.c) */
	uint64_t id;                   /* kvfs_ioc_info.arena_id */
	uint64_t size;
	char *base;
	const struct kvfs_gpu_backend *be; /* registered with this one, or NULL */
	unsigned refs;                 /* contexts holding it */
};

/*
 * The arena `id` that the kvfs file (or directory) fd belongs to: taken from
 * the table, or mapped now (INFO on fd, open, check identity, mmap, register
 * with be).  A reference is taken; kvfs_gpu_arena_put() gives it back.
 * id 0 means "whatever fd's daemon says".  Errors: -errno of INFO, open or
 * mmap; -ESTALE if the daemon's arena is no longer `id` (it restarted).
 */
int kvfs_gpu_arena_get(const struct kvfs_gpu_backend *be, int fd, uint64_t id,
		       struct kvfs_gpu_arena **out, int *registered);
void kvfs_gpu_arena_put(struct kvfs_gpu_arena *a);

/* ioctl(2) that returns 0 or -errno, retrying EINTR. */
int kvfs_gpu_ioctl(int fd, unsigned long cmd, void *arg);

#endif
