/*
 * host.c - the host backend: "device" buffers are host memory and every
 * copy is a memcpy, done before the call returns (streams are ignored).
 * Used where no GPU exists, when asked for (KVFS_GPU_HOST or
 * KVFS_GPU_BACKEND=host), and by the tests.  Its buffers are host memory,
 * which gpu.c moves with pwritev/preadv; under KVFS_GPU_MAP=1 (the tests)
 * they take the mapped path, every path of the library but the DMA engine
 * itself.  Stateless and thread-safe.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int host_register(void *p, size_t n)
{
	(void)p; (void)n;
	return 0;
}

static void host_unregister(void *p)
{
	(void)p;
}

/* Every buffer is host memory here: gpu.c copies it with memcpy and the
 * fallback path writes it without a bounce buffer. */
static int host_is_device(const void *p)
{
	(void)p;
	return 0;
}

static int host_to_host(void *dst, const void *dev, size_t n, void *stream)
{
	(void)stream;
	memcpy(dst, dev, n);
	return 0;
}

static int host_to_device(void *dev, const void *src, size_t n, void *stream)
{
	(void)stream;
	memcpy(dev, src, n);
	return 0;
}

static int host_sync(void *stream, const void *dev)
{
	(void)stream; (void)dev;
	return 0;
}

static int host_alloc(void **p, size_t n)
{
	*p = malloc(n);
	return *p ? 0 : -ENOMEM;
}

static void host_free(void *p)
{
	free(p);
}

const struct kvfs_gpu_backend kvfs_gpu_host_backend = {
	.name = "host",
	.host_register = host_register,
	.host_unregister = host_unregister,
	.is_device = host_is_device,
	.to_host = host_to_host,
	.to_device = host_to_device,
	.sync = host_sync,
	.alloc_host = host_alloc,
	.free_host = host_free,
};
