/*
 * cuda.c - the CUDA backend: the driver API, loaded at run time.
 *
 * libcuda.so.1 is dlopen()ed on first use, once per process, and the few
 * entry points needed are looked up by their versioned names: the library
 * has no link-time dependency on CUDA and builds where no CUDA is installed.
 * The driver types, constants and entry points used are declared in
 * cuda_drv.h (checked against cuda.h by tests/unit/test_cuda_decls.c).
 * CUresult codes become -errno in cu_errno() and nowhere else (STYLE.md,
 * "Errors").
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
#include <string.h>

#include "cuda_drv.h"
#include "internal.h"

static struct kcu_api cu;   /* written once under init_once, read-only after */
static kcu_context primary; /* device 0's primary context, likewise */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_err;

/* The one place a kcu_result becomes an errno. */
static int cu_errno(kcu_result r)
{
	switch (r) {
	case KCU_SUCCESS:
		return 0;
	case KCU_ERROR_INVALID_VALUE:
		return -EINVAL;
	case KCU_ERROR_OUT_OF_MEMORY:
		return -ENOMEM;
	case KCU_ERROR_NOT_INITIALIZED:
	case KCU_ERROR_DEINITIALIZED:
	case KCU_ERROR_STUB_LIBRARY:
	case KCU_ERROR_NO_DEVICE:
	case KCU_ERROR_INVALID_DEVICE:
	case KCU_ERROR_DEVICE_UNAVAILABLE:
		return -ENODEV;
	case KCU_ERROR_INVALID_CONTEXT:
	case KCU_ERROR_INVALID_HANDLE:
		return -EBADF;
	case KCU_ERROR_NOT_FOUND:
	case KCU_ERROR_HOST_MEMORY_NOT_REGISTERED:
		return -ENOENT;
	case KCU_ERROR_NOT_READY:
		return -EAGAIN;
	case KCU_ERROR_ILLEGAL_ADDRESS:
		return -EFAULT;
	case KCU_ERROR_HOST_MEMORY_ALREADY_REGISTERED:
		return -EEXIST;
	case KCU_ERROR_NOT_PERMITTED:
		return -EPERM;
	case KCU_ERROR_NOT_SUPPORTED:
		return -EOPNOTSUPP;
	default:
		return -EIO;
	}
}

#define KCU_SYMBOL(name, sym, params) { offsetof(struct kcu_api, name), sym },

static void cuda_init(void)
{
	static const struct { size_t at; const char *sym; } syms[] = {
		KCU_LIBRARY_ENTRIES(KCU_SYMBOL)
	};
	kcu_device dev;
	void *lib;
	int n = 0;

	lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		init_err = -ENOENT;
		return;
	}
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		void *f = dlsym(lib, syms[i].sym);

		if (!f) {
			init_err = -ENOSYS;
			return;
		}
		memcpy((char *)&cu + syms[i].at, &f, sizeof(f));
	}
	init_err = cu_errno(cu.cuInit(0));
	if (init_err == 0)
		init_err = cu_errno(cu.cuDeviceGetCount(&n));
	if (init_err == 0 && n < 1)
		init_err = -ENODEV;
	if (init_err == 0)
		init_err = cu_errno(cu.cuDeviceGet(&dev, 0));
	if (init_err == 0)
		init_err = cu_errno(cu.cuDevicePrimaryCtxRetain(&primary, dev));
}

/*
 * cuPointerGetAttribute, asked again under the primary context when the
 * calling thread has none current: an engine's I/O thread that never
 * touched CUDA must not take a device pointer for host memory.
 */
static kcu_result pointer_attr(void *data, unsigned int attr, const void *p)
{
	kcu_deviceptr dp = (kcu_deviceptr)(uintptr_t)p;
	kcu_result r = cu.cuPointerGetAttribute(data, attr, dp);
	kcu_context old;

	if (r == KCU_ERROR_INVALID_CONTEXT && cu.cuCtxPushCurrent(primary) == KCU_SUCCESS) {
		r = cu.cuPointerGetAttribute(data, attr, dp);
		(void)cu.cuCtxPopCurrent(&old);
	}
	return r;
}

/* Pushes the context a copy on `stream` involving device pointer `dev`
 * belongs to (the primary context for neither). */
static int ctx_enter(void *stream, const void *dev)
{
	kcu_context ctx = NULL;
	kcu_result r = KCU_SUCCESS;

	if (stream)
		r = cu.cuStreamGetCtx((kcu_stream)stream, &ctx);
	else if (dev)
		r = pointer_attr(&ctx, KCU_POINTER_ATTRIBUTE_CONTEXT, dev);
	if (r != KCU_SUCCESS)
		return cu_errno(r);
	return cu_errno(cu.cuCtxPushCurrent(ctx ? ctx : primary));
}

static void ctx_leave(void)
{
	kcu_context old;

	(void)cu.cuCtxPopCurrent(&old);
}

static int cuda_register(void *p, size_t n)
{
	int r = ctx_enter(NULL, NULL);

	if (r)
		return r;
	r = cu_errno(cu.cuMemHostRegister(p, n, KCU_MEMHOSTREGISTER_PORTABLE));
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

	if (pointer_attr(&type, KCU_POINTER_ATTRIBUTE_MEMORY_TYPE, p) != KCU_SUCCESS)
		return 0;
	return type == KCU_MEMORYTYPE_DEVICE || type == KCU_MEMORYTYPE_UNIFIED;
}

static int cuda_to_host(void *dst, const void *dev, size_t n, void *stream)
{
	int r = ctx_enter(stream, dev);

	if (r)
		return r;
	r = cu_errno(cu.cuMemcpyDtoHAsync(dst, (kcu_deviceptr)(uintptr_t)dev, n,
					  (kcu_stream)stream));
	ctx_leave();
	return r;
}

static int cuda_to_device(void *dev, const void *src, size_t n, void *stream)
{
	int r = ctx_enter(stream, dev);

	if (r)
		return r;
	r = cu_errno(cu.cuMemcpyHtoDAsync((kcu_deviceptr)(uintptr_t)dev, src, n,
					  (kcu_stream)stream));
	ctx_leave();
	return r;
}

static int cuda_sync(void *stream, const void *dev)
{
	int r = ctx_enter(stream, dev);

	if (r)
		return r;
	r = cu_errno(cu.cuStreamSynchronize((kcu_stream)stream));
	ctx_leave();
	return r;
}

static int cuda_alloc_host(void **p, size_t n)
{
	int r = ctx_enter(NULL, NULL);

	if (r)
		return r;
	r = cu_errno(cu.cuMemHostAlloc(p, n, KCU_MEMHOSTALLOC_PORTABLE));
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
