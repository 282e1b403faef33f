/*
 * cuda.c - the CUDA backend: the driver API, loaded at run time.
 *
 * libcuda.so.1 is dlopen()ed on first use, once per process, and the few
 * entry points needed are looked up by their versioned names: the library
 * has no link-time dependency on CUDA and builds where no CUDA is installed.
 * The handful of driver types and constants used are declared here, with
 * the values of the driver API's cuda.h.  CUresult codes become -errno in
 * cu_errno() and nowhere else (STYLE.md, "Errors").
 *
 * Contexts: a copy runs in the context that owns its stream (cuStreamGetCtx)
 * or, on the default stream, the one that owns the device pointer
 * (cuPointerGetAttribute), pushed for the call and popped after it, so the
 * caller's current context is never disturbed.  Host registrations and
 * bounce buffers are made in device 0's primary context with the PORTABLE
 * flag, which makes them pinned for every context.
 *
 * Threads: initialization runs once (pthread_once); everything after it is
 * stateless here (the driver is thread-safe).
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include "internal.h"

typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
typedef struct CUctx_st *CUcontext;
typedef struct CUstream_st *CUstream;

enum {
	CUDA_SUCCESS = 0,
	CUDA_ERROR_INVALID_VALUE = 1,
	CUDA_ERROR_OUT_OF_MEMORY = 2,
	CUDA_ERROR_NOT_INITIALIZED = 3,
	CUDA_ERROR_DEINITIALIZED = 4,
	CUDA_ERROR_STUB_LIBRARY = 34,
	CUDA_ERROR_DEVICE_UNAVAILABLE = 46,
	CUDA_ERROR_NO_DEVICE = 100,
	CUDA_ERROR_INVALID_DEVICE = 101,
	CUDA_ERROR_INVALID_CONTEXT = 201,
	CUDA_ERROR_INVALID_HANDLE = 400,
	CUDA_ERROR_NOT_FOUND = 500,
	CUDA_ERROR_NOT_READY = 600,
	CUDA_ERROR_ILLEGAL_ADDRESS = 700,
	CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED = 712,
	CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED = 713,
	CUDA_ERROR_NOT_PERMITTED = 800,
	CUDA_ERROR_NOT_SUPPORTED = 801,
};

#define CU_POINTER_ATTRIBUTE_CONTEXT     1
#define CU_POINTER_ATTRIBUTE_MEMORY_TYPE 2
#define CU_MEMORYTYPE_HOST    1
#define CU_MEMORYTYPE_DEVICE  2
#define CU_MEMORYTYPE_UNIFIED 4
#define CU_MEMHOSTREGISTER_PORTABLE 0x1
#define CU_MEMHOSTALLOC_PORTABLE    0x1

static struct {
	void *lib;
	CUcontext primary;
	CUresult (*cuInit)(unsigned);
	CUresult (*cuDeviceGetCount)(int *);
	CUresult (*cuDeviceGet)(CUdevice *, int);
	CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
	CUresult (*cuCtxPushCurrent)(CUcontext);
	CUresult (*cuCtxPopCurrent)(CUcontext *);
	CUresult (*cuPointerGetAttribute)(void *, int, CUdeviceptr);
	CUresult (*cuStreamGetCtx)(CUstream, CUcontext *);
	CUresult (*cuStreamSynchronize)(CUstream);
	CUresult (*cuMemHostRegister)(void *, size_t, unsigned);
	CUresult (*cuMemHostUnregister)(void *);
	CUresult (*cuMemHostAlloc)(void **, size_t, unsigned);
	CUresult (*cuMemFreeHost)(void *);
	CUresult (*cuMemcpyDtoHAsync)(void *, CUdeviceptr, size_t, CUstream);
	CUresult (*cuMemcpyHtoDAsync)(CUdeviceptr, const void *, size_t, CUstream);
	CUresult (*cuMemsetD8Async)(CUdeviceptr, unsigned char, size_t, CUstream);
} cu; /* written once under init_once, read-only after */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_err;

/* The one place a CUresult becomes an errno. */
static int cu_errno(CUresult r)
{
	switch (r) {
	case CUDA_SUCCESS:
		return 0;
	case CUDA_ERROR_INVALID_VALUE:
		return -EINVAL;
	case CUDA_ERROR_OUT_OF_MEMORY:
		return -ENOMEM;
	case CUDA_ERROR_NOT_INITIALIZED:
	case CUDA_ERROR_DEINITIALIZED:
	case CUDA_ERROR_STUB_LIBRARY:
	case CUDA_ERROR_NO_DEVICE:
	case CUDA_ERROR_INVALID_DEVICE:
	case CUDA_ERROR_DEVICE_UNAVAILABLE:
		return -ENODEV;
	case CUDA_ERROR_INVALID_CONTEXT:
	case CUDA_ERROR_INVALID_HANDLE:
		return -EBADF;
	case CUDA_ERROR_NOT_FOUND:
	case CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED:
		return -ENOENT;
	case CUDA_ERROR_NOT_READY:
		return -EAGAIN;
	case CUDA_ERROR_ILLEGAL_ADDRESS:
		return -EFAULT;
	case CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED:
		return -EEXIST;
	case CUDA_ERROR_NOT_PERMITTED:
		return -EPERM;
	case CUDA_ERROR_NOT_SUPPORTED:
		return -EOPNOTSUPP;
	default:
		return -EIO;
	}
}

#define SYM(field, name) { (void **)&cu.field, name }

static void cuda_init(void)
{
	static const struct { void **p; const char *name; } syms[] = {
		SYM(cuInit, "cuInit"),
		SYM(cuDeviceGetCount, "cuDeviceGetCount"),
		SYM(cuDeviceGet, "cuDeviceGet"),
		SYM(cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain"),
		SYM(cuCtxPushCurrent, "cuCtxPushCurrent_v2"),
		SYM(cuCtxPopCurrent, "cuCtxPopCurrent_v2"),
		SYM(cuPointerGetAttribute, "cuPointerGetAttribute"),
		SYM(cuStreamGetCtx, "cuStreamGetCtx"),
		SYM(cuStreamSynchronize, "cuStreamSynchronize"),
		SYM(cuMemHostRegister, "cuMemHostRegister_v2"),
		SYM(cuMemHostUnregister, "cuMemHostUnregister"),
		SYM(cuMemHostAlloc, "cuMemHostAlloc"),
		SYM(cuMemFreeHost, "cuMemFreeHost"),
		SYM(cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2"),
		SYM(cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2"),
		SYM(cuMemsetD8Async, "cuMemsetD8Async"),
	};
	CUdevice dev;
	int n = 0;

	cu.lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!cu.lib) {
		init_err = -ENOENT;
		return;
	}
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		*syms[i].p = dlsym(cu.lib, syms[i].name);
		if (!*syms[i].p) {
			init_err = -ENOSYS;
			return;
		}
	}
	init_err = cu_errno(cu.cuInit(0));
	if (init_err == 0)
		init_err = cu_errno(cu.cuDeviceGetCount(&n));
	if (init_err == 0 && n < 1)
		init_err = -ENODEV;
	if (init_err == 0)
		init_err = cu_errno(cu.cuDeviceGet(&dev, 0));
	if (init_err == 0)
		init_err = cu_errno(cu.cuDevicePrimaryCtxRetain(&cu.primary, dev));
}

/* Pushes the context a copy on `stream` involving device pointer `dev`
 * belongs to (the primary context for neither). */
static int ctx_enter(void *stream, const void *dev)
{
	CUcontext ctx = NULL;
	CUresult r = CUDA_SUCCESS;

	if (stream)
		r = cu.cuStreamGetCtx((CUstream)stream, &ctx);
	else if (dev)
		r = cu.cuPointerGetAttribute(&ctx, CU_POINTER_ATTRIBUTE_CONTEXT,
					     (CUdeviceptr)(uintptr_t)dev);
	if (r != CUDA_SUCCESS)
		return cu_errno(r);
	return cu_errno(cu.cuCtxPushCurrent(ctx ? ctx : cu.primary));
}

static void ctx_leave(void)
{
	CUcontext old;

	(void)cu.cuCtxPopCurrent(&old);
}

static int cuda_register(void *p, size_t n)
{
	int r = ctx_enter(NULL, NULL);

	if (r)
		return r;
	r = cu_errno(cu.cuMemHostRegister(p, n, CU_MEMHOSTREGISTER_PORTABLE));
	ctx_leave();
	return r == -EEXIST ? 0 : r;	/* registered by someone else: fine */
}

static void cuda_unregister(void *p)
{
	if (ctx_enter(NULL, NULL) == 0) {
		(void)cu.cuMemHostUnregister(p);
		ctx_leave();
	}
}

/* Device (or managed) memory: copied by the DMA engine.  Anything else,
 * including host memory CUDA does not know (an error here), is host. */
static int cuda_is_device(const void *p)
{
	unsigned int type = 0;

	if (cu.cuPointerGetAttribute(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE,
				     (CUdeviceptr)(uintptr_t)p) != CUDA_SUCCESS)
		return 0;
	return type == CU_MEMORYTYPE_DEVICE || type == CU_MEMORYTYPE_UNIFIED;
}

static int cuda_to_host(void *dst, const void *dev, size_t n, void *stream)
{
	int r = ctx_enter(stream, dev);

	if (r)
		return r;
	r = cu_errno(cu.cuMemcpyDtoHAsync(dst, (CUdeviceptr)(uintptr_t)dev, n,
					  (CUstream)stream));
	ctx_leave();
	return r;
}

static int cuda_to_device(void *dev, const void *src, size_t n, void *stream)
{
	int r = ctx_enter(stream, dev);

	if (r)
		return r;
	r = cu_errno(cu.cuMemcpyHtoDAsync((CUdeviceptr)(uintptr_t)dev, src, n,
					  (CUstream)stream));
	ctx_leave();
	return r;
}

static int cuda_zero_device(void *dev, size_t n, void *stream)
{
	int r = ctx_enter(stream, dev);

	if (r)
		return r;
	r = cu_errno(cu.cuMemsetD8Async((CUdeviceptr)(uintptr_t)dev, 0, n, (CUstream)stream));
	ctx_leave();
	return r;
}

static int cuda_sync(void *stream, const void *dev)
{
	int r = ctx_enter(stream, dev);

	if (r)
		return r;
	r = cu_errno(cu.cuStreamSynchronize((CUstream)stream));
	ctx_leave();
	return r;
}

static int cuda_alloc_host(void **p, size_t n)
{
	int r = ctx_enter(NULL, NULL);

	if (r)
		return r;
	r = cu_errno(cu.cuMemHostAlloc(p, n, CU_MEMHOSTALLOC_PORTABLE));
	ctx_leave();
	return r;
}

static void cuda_free_host(void *p)
{
	if (ctx_enter(NULL, NULL) == 0) {
		(void)cu.cuMemFreeHost(p);
		ctx_leave();
	}
}

static const struct kvfs_gpu_backend cuda_backend = {
	.name = "cuda",
	.host_register = cuda_register,
	.host_unregister = cuda_unregister,
	.is_device = cuda_is_device,
	.to_host = cuda_to_host,
	.to_device = cuda_to_device,
	.zero_device = cuda_zero_device,
	.sync = cuda_sync,
	.alloc_host = cuda_alloc_host,
	.free_host = cuda_free_host,
};

const struct kvfs_gpu_backend *kvfs_gpu_cuda_backend(int *err)
{
	pthread_once(&init_once, cuda_init);
	*err = init_err;
	return init_err ? NULL : &cuda_backend;
}
