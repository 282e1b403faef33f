/*
 * gpu_cuda.c - libkvfs-gpu's CUDA backend against a real mount: device pages
 * gathered into a file and scattered back, checked through read(2) and
 * through device-to-host copies, plus device-to-arena and arena-to-device
 * bandwidth against cuMemcpy to a pinned buffer.  The CUDA driver is loaded
 * with dlopen, as the library does, so this builds without CUDA.
 *
 *   gpu_cuda MOUNT OUTSIDE_FILE
 *   gpu_cuda probe                 only whether CUDA is usable (0 or 77)
 *
 * Exits 77 with "SKIP: ..." where there is no CUDA driver or device.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "kvfs_gpu.h"

#define NPAGES 64
#define PAGE   (1u << 20)

typedef int CUresult;
typedef unsigned long long CUdeviceptr;
static struct {
	CUresult (*cuDeviceGet)(int *, int);
	CUresult (*cuDevicePrimaryCtxRetain)(void **, int);
	CUresult (*cuCtxSetCurrent)(void *);
	CUresult (*cuMemAlloc)(CUdeviceptr *, size_t);
	CUresult (*cuMemFree)(CUdeviceptr);
	CUresult (*cuMemAllocHost)(void **, size_t);
	CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void *, size_t);
	CUresult (*cuMemcpyDtoH)(void *, CUdeviceptr, size_t);
} cu;

static void fail(const char *what)
{
	printf("FAIL: %s\n", what);
	exit(1);
}

#define CU(call) do { if ((call) != 0) fail(#call); } while (0)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void load(void)
{
	void *lib = dlopen("libcuda.so.1", RTLD_NOW);
	struct { void **p; const char *n; } s[] = {
		{ (void **)&cu.cuDeviceGet, "cuDeviceGet" },
		{ (void **)&cu.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain" },
		{ (void **)&cu.cuCtxSetCurrent, "cuCtxSetCurrent" },
		{ (void **)&cu.cuMemAlloc, "cuMemAlloc_v2" },
		{ (void **)&cu.cuMemFree, "cuMemFree_v2" },
		{ (void **)&cu.cuMemAllocHost, "cuMemAllocHost_v2" },
		{ (void **)&cu.cuMemcpyHtoD, "cuMemcpyHtoD_v2" },
		{ (void **)&cu.cuMemcpyDtoH, "cuMemcpyDtoH_v2" },
	};

	if (!lib)
		fail("dlopen libcuda.so.1 after the library loaded it");
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		if (!(*s[i].p = dlsym(lib, s[i].n)))
			fail(s[i].n);
}

static void pattern(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)((i * 2654435761u + seed) >> 13);
}

int main(int argc, char **argv)
{
	CUdeviceptr dev[2 * NPAGES], back[NPAGES];
	struct iovec iov[NPAGES], biov[NPAGES];
	struct kvfs_gpu_stats st;
	unsigned char *host, *check, *pinned;
	struct kvfs_gpu *g;
	char path[4096];
	double t0, t_fast_w, t_fast_r, t_memcpy;
	void *ctx;
	int r, fd, d;

	if (argc != 3 && !(argc == 2 && strcmp(argv[1], "probe") == 0)) {
		fprintf(stderr, "usage: gpu_cuda MOUNT OUTSIDE_FILE | gpu_cuda probe\n");
		return 2;
	}
	r = kvfs_gpu_open(&g, argc == 2 ? NULL : argv[1], KVFS_GPU_CUDA);
	if (r == -ENOENT || r == -ENODEV || r == -ENOSYS) {
		printf("SKIP: no CUDA %s on this machine (%s)\n",
		       r == -ENODEV ? "device" : "driver (libcuda.so.1)", strerror(-r));
		return 77;
	}
	if (r < 0) {
		printf("FAIL: kvfs_gpu_open(KVFS_GPU_CUDA): %s\n", strerror(-r));
		return 1;
	}
	if (argc == 2) {
		kvfs_gpu_close(g);
		return 0;
	}
	load();
	CU(cu.cuDeviceGet(&d, 0));
	CU(cu.cuDevicePrimaryCtxRetain(&ctx, d));
	CU(cu.cuCtxSetCurrent(ctx));
	host = malloc((size_t)NPAGES * PAGE);
	check = malloc((size_t)NPAGES * PAGE);
	CU(cu.cuMemAllocHost((void **)&pinned, (size_t)NPAGES * PAGE));
	pattern(host, (size_t)NPAGES * PAGE, 7);
	/* Scattered device pages: every other one of 2 * NPAGES allocations. */
	for (int i = 0; i < 2 * NPAGES; i++)
		CU(cu.cuMemAlloc(&dev[i], PAGE));
	for (int i = 0; i < NPAGES; i++) {
		CU(cu.cuMemcpyHtoD(dev[2 * i + 1], host + (size_t)i * PAGE, PAGE));
		iov[i] = (struct iovec){ (void *)(uintptr_t)dev[2 * i + 1], PAGE };
		CU(cu.cuMemAlloc(&back[i], PAGE));
		biov[i] = (struct iovec){ (void *)(uintptr_t)back[i], PAGE };
	}

	snprintf(path, sizeof(path), "%s/cuda.kv", argv[1]);
	fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
	if (fd < 0)
		fail("open on the mount");
	t0 = now();
	if (kvfs_gpu_pwritev(g, fd, iov, NPAGES, 0) != (ssize_t)NPAGES * PAGE)
		fail("kvfs_gpu_pwritev of device pages");
	t_fast_w = now() - t0;
	if (pread(fd, check, (size_t)NPAGES * PAGE, 0) != (ssize_t)NPAGES * PAGE ||
	    memcmp(check, host, (size_t)NPAGES * PAGE) != 0)
		fail("read(2) of the file does not match the device pages");
	t0 = now();
	if (kvfs_gpu_preadv(g, fd, biov, NPAGES, 0) != (ssize_t)NPAGES * PAGE)
		fail("kvfs_gpu_preadv into device pages");
	t_fast_r = now() - t0;
	for (int i = 0; i < NPAGES; i++)
		CU(cu.cuMemcpyDtoH(check + (size_t)i * PAGE, back[i], PAGE));
	if (memcmp(check, host, (size_t)NPAGES * PAGE) != 0)
		fail("device pages read back differ");
	close(fd);

	/* The baseline: the same pages to a pinned buffer with cuMemcpy. */
	t0 = now();
	for (int i = 0; i < NPAGES; i++)
		CU(cu.cuMemcpyDtoH(pinned + (size_t)i * PAGE, dev[2 * i + 1], PAGE));
	t_memcpy = now() - t0;
	printf("device->arena %.2f GB/s, arena->device %.2f GB/s, cuMemcpy DtoH to pinned %.2f GB/s"
	       " (ratio %.2f)\n", NPAGES * (double)PAGE / t_fast_w / 1e9,
	       NPAGES * (double)PAGE / t_fast_r / 1e9, NPAGES * (double)PAGE / t_memcpy / 1e9,
	       t_memcpy / t_fast_w);

	/* Device pages to a file outside kvfs: the bounce-buffer fallback. */
	fd = open(argv[2], O_CREAT | O_RDWR | O_TRUNC, 0644);
	if (fd < 0 || kvfs_gpu_pwritev(g, fd, iov, 4, 0) != 4 * (ssize_t)PAGE ||
	    pread(fd, check, 4 * PAGE, 0) != 4 * (ssize_t)PAGE ||
	    memcmp(check, host, 4 * PAGE) != 0)
		fail("the fallback path with device pages");
	close(fd);
	kvfs_gpu_get_stats(g, &st);
	if (st.fallback != 1 || st.fast != 2 || st.errors)
		fail("counters");
	if (st.unregistered)
		printf("note: CUDA could not register the arena; copies were staged\n");
	printf("OK cuda: fast=%llu fallback=%llu copies=%llu\n", (unsigned long long)st.fast,
	       (unsigned long long)st.fallback, (unsigned long long)st.copies);
	for (int i = 0; i < 2 * NPAGES; i++)
		cu.cuMemFree(dev[i]);
	for (int i = 0; i < NPAGES; i++)
		cu.cuMemFree(back[i]);
	kvfs_gpu_close(g);
	return 0;
}
