/*
 * cuda_drv.h - the part of the CUDA driver API that libkvfs-gpu calls,
 * declared here so that nothing needs CUDA's headers to build.
 *
 * The types carry a kcu_ prefix (so a file may include cuda.h beside this
 * one) but have cuda.h's layout: CUresult and the enums are unsigned int,
 * CUdeviceptr is 64-bit, contexts and streams are pointers to the same
 * struct tags.  Each entry point is listed once, in an X-macro, as
 *   X(name, "exported symbol", (parameters))
 * where the symbol is the one cuda.h's name maps to (cuMemcpyDtoHAsync is
 * exported as cuMemcpyDtoHAsync_v2).  cuda.c builds its table of function
 * pointers from KCU_LIBRARY_ENTRIES; the tests that drive a device (or the
 * stand-in driver, tests/fake/fake_cuda.c) also use KCU_TEST_ENTRIES.
 * tests/unit/test_cuda_decls.c compiles every entry against the real cuda.h
 * where one is installed, so a wrong prototype, symbol or constant here
 * fails the build of that test rather than a transfer on a GPU.
 */
#ifndef KVFS_CUDA_DRV_H
#define KVFS_CUDA_DRV_H

#include <stddef.h>

typedef unsigned int kcu_result;
typedef int kcu_device;
typedef unsigned long long kcu_deviceptr;
typedef struct CUctx_st *kcu_context;
typedef struct CUstream_st *kcu_stream;

/* CUresult values (cuda.h's CUDA_ERROR_*) that cuda.c tells apart. */
#define KCU_SUCCESS                          0u
#define KCU_ERROR_INVALID_VALUE              1u
#define KCU_ERROR_OUT_OF_MEMORY              2u
#define KCU_ERROR_NOT_INITIALIZED            3u
#define KCU_ERROR_DEINITIALIZED              4u
#define KCU_ERROR_STUB_LIBRARY               34u
#define KCU_ERROR_DEVICE_UNAVAILABLE         46u
#define KCU_ERROR_NO_DEVICE                  100u
#define KCU_ERROR_INVALID_DEVICE             101u
#define KCU_ERROR_INVALID_CONTEXT            201u
#define KCU_ERROR_INVALID_HANDLE             400u
#define KCU_ERROR_NOT_FOUND                  500u
#define KCU_ERROR_NOT_READY                  600u
#define KCU_ERROR_ILLEGAL_ADDRESS            700u
#define KCU_ERROR_HOST_MEMORY_ALREADY_REGISTERED 712u
#define KCU_ERROR_HOST_MEMORY_NOT_REGISTERED 713u
#define KCU_ERROR_NOT_PERMITTED              800u
#define KCU_ERROR_NOT_SUPPORTED              801u

/* CUpointer_attribute, CUmemorytype and flag values. */
#define KCU_POINTER_ATTRIBUTE_CONTEXT        1u
#define KCU_POINTER_ATTRIBUTE_MEMORY_TYPE    2u
#define KCU_MEMORYTYPE_HOST                  1u
#define KCU_MEMORYTYPE_DEVICE                2u
#define KCU_MEMORYTYPE_UNIFIED               4u
#define KCU_MEMHOSTREGISTER_PORTABLE         0x1u
#define KCU_MEMHOSTALLOC_PORTABLE            0x1u
#define KCU_STREAM_NON_BLOCKING              0x1u

/* What libkvfs-gpu calls (gpu/cuda.c). */
#define KCU_LIBRARY_ENTRIES(X)                                                    \
	X(cuInit, "cuInit", (unsigned int flags))                                 \
	X(cuDeviceGetCount, "cuDeviceGetCount", (int *count))                     \
	X(cuDeviceGet, "cuDeviceGet", (kcu_device *dev, int ordinal))             \
	X(cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain",                   \
	  (kcu_context *ctx, kcu_device dev))                                     \
	X(cuCtxPushCurrent, "cuCtxPushCurrent_v2", (kcu_context ctx))             \
	X(cuCtxPopCurrent, "cuCtxPopCurrent_v2", (kcu_context *ctx))              \
	X(cuPointerGetAttribute, "cuPointerGetAttribute",                         \
	  (void *data, unsigned int attribute, kcu_deviceptr ptr))                \
	X(cuStreamGetCtx, "cuStreamGetCtx", (kcu_stream s, kcu_context *ctx))     \
	X(cuStreamSynchronize, "cuStreamSynchronize", (kcu_stream s))             \
	X(cuMemHostRegister, "cuMemHostRegister_v2",                              \
	  (void *p, size_t n, unsigned int flags))                                \
	X(cuMemHostUnregister, "cuMemHostUnregister", (void *p))                  \
	X(cuMemHostAlloc, "cuMemHostAlloc", (void **p, size_t n, unsigned int flags)) \
	X(cuMemFreeHost, "cuMemFreeHost", (void *p))                              \
	X(cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2",                              \
	  (void *dst, kcu_deviceptr src, size_t n, kcu_stream s))                 \
	X(cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2",                              \
	  (kcu_deviceptr dst, const void *src, size_t n, kcu_stream s))

/* What the device tests call besides (tests/integration/gpu_cuda.c). */
#define KCU_TEST_ENTRIES(X)                                                       \
	X(cuCtxSetCurrent, "cuCtxSetCurrent", (kcu_context ctx))                  \
	X(cuMemAlloc, "cuMemAlloc_v2", (kcu_deviceptr *p, size_t n))              \
	X(cuMemFree, "cuMemFree_v2", (kcu_deviceptr p))                           \
	X(cuMemAllocHost, "cuMemAllocHost_v2", (void **p, size_t n))              \
	X(cuMemcpyHtoD, "cuMemcpyHtoD_v2", (kcu_deviceptr dst, const void *src, size_t n)) \
	X(cuMemcpyDtoH, "cuMemcpyDtoH_v2", (void *dst, kcu_deviceptr src, size_t n)) \
	X(cuStreamCreate, "cuStreamCreate", (kcu_stream *s, unsigned int flags))  \
	X(cuStreamDestroy, "cuStreamDestroy_v2", (kcu_stream s))                  \
	X(cuMemsetD8Async, "cuMemsetD8Async",                                     \
	  (kcu_deviceptr dst, unsigned char c, size_t n, kcu_stream s))

#define KCU_FIELD(name, sym, params) kcu_result (*name) params;

/* Function pointers, filled by dlsym() of each entry's symbol. */
struct kcu_api {
	KCU_LIBRARY_ENTRIES(KCU_FIELD)
};

struct kcu_test_api {
	KCU_TEST_ENTRIES(KCU_FIELD)
};

#endif
