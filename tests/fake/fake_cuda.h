/*
 * fake_cuda.h - what a test can learn from the stand-in CUDA driver
 * (tests/fake/fake_cuda.c, built as build/fake-cuda/libcuda.so.1) beyond
 * the driver API itself: its counters and the calling thread's context
 * stack depth.  A test looks these up with dlsym() on the libcuda.so.1 it
 * loaded; a real driver does not export them, so finding them is also how a
 * test knows it runs on the stand-in.
 */
#ifndef KVFS_FAKE_CUDA_H
#define KVFS_FAKE_CUDA_H

#include <stdint.h>

/* A snapshot; "live" counts go down again, the others only up. */
struct fake_cuda_counters {
	uint64_t async_copies;     /* async copies and memsets queued on a stream */
	uint64_t bytes_async;      /* their bytes */
	uint64_t pageable_copies;  /* async-API copies done in the caller's thread
				      because the host side was not pinned */
	uint64_t registrations;    /* live cuMemHostRegister ranges */
	uint64_t registered_bytes; /* their bytes */
	uint64_t host_allocs;      /* live cuMemHostAlloc / cuMemAllocHost blocks */
	uint64_t device_allocs;    /* live cuMemAlloc blocks */
	uint64_t inflight;         /* ops queued or running, all streams, now */
	uint64_t ctx_underflows;   /* cuCtxPopCurrent with an empty stack, any thread */
	uint64_t max_ctx_depth;    /* deepest context stack seen on any thread */
	uint64_t faults;           /* copies failed by FAKE_CUDA_FAIL_COPY */
};

void fake_cuda_counters(struct fake_cuda_counters *out);
int fake_cuda_ctx_depth(void);

/* The types of the two, for dlsym(). */
typedef void fake_cuda_counters_fn(struct fake_cuda_counters *out);
typedef int fake_cuda_ctx_depth_fn(void);

#endif
