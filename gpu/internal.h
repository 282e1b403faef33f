/*
 * internal.h - what the files of libkvfs-gpu share and the library does not
 * export: the backend interface (host.c, cuda.c) and a context's cache of
 * file mappings (maps.c).  gpu.c drives both.
 */
#ifndef KVFS_GPU_INTERNAL_H
#define KVFS_GPU_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
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
	/* Makes [p, p + n) (a file mapping) a DMA target.  An error only
	 * makes copies slower. */
	int (*host_register)(void *p, size_t n);
	void (*host_unregister)(void *p);
	int (*is_device)(const void *p);
	int (*to_host)(void *dst, const void *dev, size_t n, void *stream);
	int (*to_device)(void *dev, const void *src, size_t n, void *stream);
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

/*
 * The mappings of one context (maps.c): kvfs files mapped whole, keyed by
 * (st_dev, st_ino), most recently used first, at most KVFS_GPU_MAPS_MAX of
 * them and KVFS_GPU_MAPS_BYTES mapped bytes (the least recently used go
 * first; one in use by a transfer is unmapped when that transfer ends), and
 * files unlinked meanwhile dropped whenever a new mapping is made.
 * Each mapping is registered with the backend once, when it is made, and
 * unregistered when it is unmapped.  `lock` guards the list and every
 * mapping's `refs`; the counters are atomics.
 */
#define KVFS_GPU_MAPS_MAX   64
#define KVFS_GPU_MAPS_BYTES (64ull << 30)

struct kvfs_gpu_map {
	struct kvfs_gpu_map *next, *prev; /* the cache's list (under lock) */
	uint64_t dev, ino;
	char *base;
	size_t len;          /* bytes mapped, a multiple of the alignment; past
			        EOF (room to grow) nothing is touched */
	uint64_t cover;      /* [0, cover) is registered and usable: file bytes,
			        rounded up to a page (registering pages past
			        EOF fails) */
	int writable;        /* mapped PROT_WRITE too */
	int sync;            /* daemon-served open (KVFS_GPU_MAP=1): a write
			        must msync before it returns */
	int registered;      /* host_register succeeded */
	int cached;          /* on the list (else unmapped at refs 0) */
	unsigned refs;       /* the cache's one while cached, plus transfers' */
};

struct kvfs_gpu_maps {
	const struct kvfs_gpu_backend *be;
	pthread_mutex_t lock;
	struct kvfs_gpu_map *head, *tail;  /* under lock */
	unsigned n;                         /* under lock */
	uint64_t bytes;                     /* under lock: sum of len */
	atomic_uint_fast64_t maps, registrations, unregistered, evictions, unlinked;
};

void kvfs_gpu_maps_init(struct kvfs_gpu_maps *c, const struct kvfs_gpu_backend *be);
/* Unmaps everything; no transfer may be in flight. */
void kvfs_gpu_maps_release(struct kvfs_gpu_maps *c);

/* The cached mapping of (dev, ino), now `size` bytes, usable for [0, need)
 * (writable if `write`), with a reference taken, or NULL.  A mapping whose
 * registration is short of `need` has it redone in place, when no other
 * transfer uses it. */
struct kvfs_gpu_map *kvfs_gpu_maps_find(struct kvfs_gpu_maps *c, uint64_t dev,
					uint64_t ino, uint64_t size, uint64_t need,
					int write);

/*
 * Maps fd (whose file is (dev, ino), `size` bytes now) for [0, need) at
 * least, registers the mapping, and caches it in place of any older one of
 * the same file.  A reference is taken.  `align` is the mapping alignment
 * (a power of two), `sync` goes into the mapping.  Returns 0 or -errno of
 * mmap (-EACCES: fd is not open for reading, or for writing when `write`).
 */
int kvfs_gpu_maps_new(struct kvfs_gpu_maps *c, int fd, uint64_t dev, uint64_t ino,
		      uint64_t size, uint64_t need, uint32_t align, int write, int sync,
		      struct kvfs_gpu_map **out);

/* Gives back a reference; the last one of an uncached mapping unmaps it. */
void kvfs_gpu_maps_put(struct kvfs_gpu_maps *c, struct kvfs_gpu_map *m);

/* ioctl(2) that returns 0 or -errno, retrying EINTR. */
int kvfs_gpu_ioctl(int fd, unsigned long cmd, void *arg);

#endif
