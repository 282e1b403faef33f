/*
 * fake_cuda.c - a stand-in for the CUDA driver (libcuda.so.1), for tests.
 *
 * This is not a GPU and not an emulator.  It models the part of the driver
 * API's contract that libkvfs-gpu relies on -- contexts current per thread,
 * pinned against pageable host memory, the order of work on a stream -- so
 * that the library's use of the API can be checked where no GPU exists.  It
 * moves no data over PCIe: "device" bytes live in host memory, and its
 * timings mean nothing.  It implements every entry of gpu/cuda_drv.h's
 * KCU_LIBRARY_ENTRIES and KCU_TEST_ENTRIES with exactly those prototypes
 * (checked at the bottom), and exports fake_cuda_counters() and
 * fake_cuda_ctx_depth() (fake_cuda.h) for tests to look at.
 *
 * The model:
 *  1. One device.  Device memory is a 2 GiB range reserved PROT_NONE, so
 *     host code that dereferences a device pointer dies of SIGSEGV (a bug in
 *     the caller, caught); its bytes live in a separate read/write "shadow"
 *     mapping at the same offsets.  cuMemAlloc is first-fit, 4 KiB aligned,
 *     and fills new blocks with 0xa5 (device memory is not zeroed, and a
 *     transfer that forgot a range must not pass for a hole).  Any device
 *     pointer or range not inside one live block is KCU_ERROR_INVALID_VALUE,
 *     for copies, memsets, frees and cuPointerGetAttribute alike.
 *  2. Contexts: one primary context.  Each thread has its own stack of
 *     current contexts (64 deep at most: a caller that pushes without
 *     popping fails soon, with KCU_ERROR_OUT_OF_MEMORY).  Popping an empty
 *     stack is KCU_ERROR_INVALID_CONTEXT and counts as an underflow.
 *     cuCtxSetCurrent replaces the top (pushes onto an empty stack; NULL
 *     pops, as the driver documents).  Everything the driver runs in a
 *     context (copies, memsets, memory, host registration, streams,
 *     cuPointerGetAttribute) is KCU_ERROR_INVALID_CONTEXT on a thread with
 *     none current.  Every call before a successful cuInit(0) is
 *     KCU_ERROR_NOT_INITIALIZED.
 *  3. Pinned memory: ranges given to cuMemHostRegister (which must be mapped:
 *     every page is touched, as pinning faults it in; overlapping one already
 *     known is KCU_ERROR_HOST_MEMORY_ALREADY_REGISTERED) and blocks from
 *     cuMemHostAlloc/cuMemAllocHost.  cuPointerGetAttribute says DEVICE for
 *     device pointers, HOST for pinned memory, and KCU_ERROR_INVALID_VALUE
 *     for other host memory, as the driver does for memory it does not know.
 *  4. Streams: each stream (and the NULL stream) has a FIFO and a worker
 *     thread that runs each op after FAKE_CUDA_DELAY_US (default 150 us), so
 *     a caller that reads a destination without cuStreamSynchronize sees the
 *     old bytes.  An async copy is queued when its whole host range is
 *     pinned (memsets always are); otherwise it waits for the stream to
 *     drain and copies in the caller's thread (the driver stages pageable
 *     memory) and counts as a pageable copy.  Every stream is modelled as
 *     non-blocking: the NULL stream does not wait for others, which can only
 *     hide fewer missing synchronizations.  cuMemcpyHtoD/DtoH (synchronous)
 *     drain the NULL stream, then copy.  Freeing or unregistering memory
 *     first drains every stream, so no queued op touches freed memory.
 *
 * Fault injection, read from the environment at the first cuInit:
 *   FAKE_CUDA_DEVICES=0     cuDeviceGetCount reports no device (1 otherwise)
 *   FAKE_CUDA_INIT=code     cuInit returns code (34: the driver's stub library)
 *   FAKE_CUDA_REGISTER=code cuMemHostRegister fails with code (800: not permitted)
 *   FAKE_CUDA_FAIL_COPY=n   the n-th async copy or memset since cuInit (from 1)
 *                           fails: its call succeeds, it writes nothing, the ops
 *                           queued behind it on its stream are skipped (a
 *                           faulted device runs nothing more), and the next
 *                           cuStreamSynchronize of that stream returns
 *                           KCU_ERROR_ILLEGAL_ADDRESS, once.  (The real driver
 *                           keeps the context unusable; the stand-in lets a
 *                           test go on to see how the caller recovered.)
 *   FAKE_CUDA_DELAY_US=us   the workers' delay per op (0 to 1000000)
 * A value that is not a number in range makes cuInit say so on stderr and
 * return KCU_ERROR_INVALID_VALUE.
 *
 * Locks: `lock` guards the device blocks, the host ranges and the list of
 * streams; each stream's `mu` guards its queue.  Order: lock, then a mu;
 * workers take only their own mu.  Counters are atomics.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "cuda_drv.h"
#include "fake_cuda.h"

#define DEV_SPAN   (2ull << 30)  /* device memory: 2 GiB, reserved, never backed */
#define DEV_ALIGN  4096u
#define DEV_POISON 0xa5
#define CTX_MAX    64            /* a real stack is deeper; no sane caller nests 64 */

/* ---- configuration and process-wide state ---- */

static struct {
	long devices, init_rc, register_rc, fail_copy, delay_us;
	int bad;                     /* a FAKE_CUDA_* value was not understood */
} cfg;

static pthread_once_t setup_once = PTHREAD_ONCE_INIT;
static int setup_err;                /* an mmap or thread failed at setup */
static atomic_int initialized;       /* a cuInit(0) succeeded */

static char *dev_base;               /* the PROT_NONE reservation */
static char *shadow;                 /* the bytes, at the same offsets */

struct block {                       /* a live cuMemAlloc block */
	struct block *next;          /* by offset */
	uint64_t off, len;
};

struct range {                       /* pinned host memory */
	struct range *next;
	char *base;
	size_t len;
	int alloc;                   /* from cuMemHostAlloc (else registered) */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct block *blocks;         /* guarded by lock */
static struct range *ranges;         /* guarded by lock */

static struct {
	atomic_uint_fast64_t async_copies, bytes_async, pageable_copies;
	atomic_uint_fast64_t registrations, registered_bytes, host_allocs, device_allocs;
	atomic_uint_fast64_t inflight, ctx_underflows, max_ctx_depth, faults;
	atomic_uint_fast64_t numbered;   /* async calls so far, for FAIL_COPY */
} count;

/* ---- contexts ---- */

struct CUctx_st {
	atomic_uint retains;
};

static struct CUctx_st primary;

static _Thread_local kcu_context ctx_stack[CTX_MAX];
static _Thread_local int ctx_depth;

static kcu_context current(void)
{
	return ctx_depth ? ctx_stack[ctx_depth - 1] : NULL;
}

/* What every entry point checks first: cuInit was called. */
static kcu_result ready(void)
{
	return atomic_load(&initialized) ? KCU_SUCCESS : KCU_ERROR_NOT_INITIALIZED;
}

/* ... and those the driver runs in a context: one is current. */
static kcu_result in_context(void)
{
	kcu_result r = ready();

	if (r == KCU_SUCCESS && !current())
		r = KCU_ERROR_INVALID_CONTEXT;
	return r;
}

static void note_depth(void)
{
	uint_fast64_t seen = atomic_load(&count.max_ctx_depth);

	while ((uint_fast64_t)ctx_depth > seen &&
	       !atomic_compare_exchange_weak(&count.max_ctx_depth, &seen, (uint_fast64_t)ctx_depth))
		;
}

/* ---- streams ---- */

enum { OP_COPY, OP_MEMSET };

struct op {
	struct op *next;
	int kind;
	int fault;                   /* FAKE_CUDA_FAIL_COPY chose this one */
	void *dst;                   /* host memory or the shadow */
	const void *src;
	unsigned char c;
	size_t n;
};

struct CUstream_st {
	struct CUstream_st *next;    /* created streams, guarded by lock */
	pthread_t worker;
	pthread_mutex_t mu;          /* guards the rest */
	pthread_cond_t work, idle;
	struct op *head, *tail;
	int busy;                    /* the worker runs an op it dequeued */
	int stop;                    /* destroyed: run what is queued, then exit */
	int faulted;                 /* an op failed: skip the rest until a sync */
	kcu_result err;              /* what the next cuStreamSynchronize returns */
};

static struct CUstream_st null_stream;
static struct CUstream_st *streams;  /* guarded by lock */

static void run_op(struct op *op)
{
	if (op->kind == OP_MEMSET)
		memset(op->dst, op->c, op->n);
	else
		memcpy(op->dst, op->src, op->n);
}

static void delay(void)
{
	struct timespec ts = { cfg.delay_us / 1000000, cfg.delay_us % 1000000 * 1000 };

	if (cfg.delay_us == 0)
		return;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* A stream's worker: runs its ops in order, each after the delay. */
static void *worker(void *arg)
{
	struct CUstream_st *s = arg;
	struct op *op;
	int skip;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!s->head && !s->stop)
			pthread_cond_wait(&s->work, &s->mu);
		if (!s->head)
			break;
		op = s->head;
		s->head = op->next;
		if (!s->head)
			s->tail = NULL;
		if (op->fault) {
			s->faulted = 1;
			s->err = KCU_ERROR_ILLEGAL_ADDRESS;
		}
		skip = s->faulted;
		s->busy = 1;
		pthread_mutex_unlock(&s->mu);
		delay();
		if (!skip)
			run_op(op);
		free(op);
		atomic_fetch_sub(&count.inflight, 1);
		pthread_mutex_lock(&s->mu);
		s->busy = 0;
		if (!s->head)
			pthread_cond_broadcast(&s->idle);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* Sets up a stream and starts its worker; 0 or an errno. */
static int stream_init(struct CUstream_st *s)
{
	int e;

	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->work, NULL);
	pthread_cond_init(&s->idle, NULL);
	e = pthread_create(&s->worker, NULL, worker, s);
	if (e) {
		pthread_cond_destroy(&s->idle);
		pthread_cond_destroy(&s->work);
		pthread_mutex_destroy(&s->mu);
	}
	return e;
}

/* Waits until nothing is queued or running.  Caller holds s->mu. */
static void drain_locked(struct CUstream_st *s)
{
	while (s->head || s->busy)
		pthread_cond_wait(&s->idle, &s->mu);
}

/* Drains every stream.  Caller holds lock (workers never take it). */
static void drain_all(void)
{
	pthread_mutex_lock(&null_stream.mu);
	drain_locked(&null_stream);
	pthread_mutex_unlock(&null_stream.mu);
	for (struct CUstream_st *s = streams; s; s = s->next) {
		pthread_mutex_lock(&s->mu);
		drain_locked(s);
		pthread_mutex_unlock(&s->mu);
	}
}

/* The stream behind a handle (NULL: the NULL stream), or NULL if it is
 * not a live one. */
static struct CUstream_st *stream_get(kcu_stream h)
{
	struct CUstream_st *s;

	if (!h)
		return &null_stream;
	pthread_mutex_lock(&lock);
	for (s = streams; s && s != h; s = s->next)
		;
	pthread_mutex_unlock(&lock);
	return s;
}

static void enqueue(struct CUstream_st *s, struct op *op)
{
	atomic_fetch_add(&count.inflight, 1);
	pthread_mutex_lock(&s->mu);
	if (s->tail)
		s->tail->next = op;
	else
		s->head = op;
	s->tail = op;
	pthread_cond_signal(&s->work);
	pthread_mutex_unlock(&s->mu);
}

/* Runs op in the caller's thread once s has drained, holding s->mu so
 * that nothing queued meanwhile overtakes it.  On a stream whose device
 * faulted nothing runs: the fault is reported. */
static kcu_result run_now(struct CUstream_st *s, struct op *op)
{
	kcu_result r = KCU_SUCCESS;

	pthread_mutex_lock(&s->mu);
	drain_locked(s);
	if (s->faulted)
		r = KCU_ERROR_ILLEGAL_ADDRESS;
	else
		run_op(op);
	pthread_mutex_unlock(&s->mu);
	return r;
}

/* ---- memory ---- */

/* The shadow bytes of [p, p + n) if a live block holds all of it, else
 * NULL.  Caller holds lock. */
static char *dev_bytes(kcu_deviceptr p, size_t n)
{
	uint64_t off;

	if (p < (uintptr_t)dev_base || p - (uintptr_t)dev_base >= DEV_SPAN)
		return NULL;
	off = p - (uintptr_t)dev_base;
	for (struct block *b = blocks; b && b->off <= off; b = b->next)
		if (off - b->off < b->len && n <= b->len - (off - b->off))
			return shadow + off;
	return NULL;
}

/* Whether host range [p, p + n) touches the device reservation. */
static int in_dev_span(const void *p, size_t n)
{
	uintptr_t a = (uintptr_t)p, base = (uintptr_t)dev_base;

	return a < base + DEV_SPAN && (n > UINTPTR_MAX - a || a + n > base);
}

/* The pinned range holding all of [p, p + n), or NULL.  Caller holds lock. */
static struct range *pinned(const void *p, size_t n)
{
	uintptr_t a = (uintptr_t)p;

	for (struct range *r = ranges; r; r = r->next) {
		uintptr_t b = (uintptr_t)r->base;

		if (a >= b && a - b < r->len && n <= r->len - (a - b))
			return r;
	}
	return NULL;
}

static int overlaps_pinned(const void *p, size_t n)
{
	uintptr_t a = (uintptr_t)p;

	for (struct range *r = ranges; r; r = r->next) {
		uintptr_t b = (uintptr_t)r->base;

		if (a < b + r->len && b < a + n)
			return 1;
	}
	return 0;
}

static kcu_result pin(void *p, size_t n, int alloc)
{
	struct range *r = malloc(sizeof(*r));

	if (!r)
		return KCU_ERROR_OUT_OF_MEMORY;
	pthread_mutex_lock(&lock);
	if (overlaps_pinned(p, n)) {
		pthread_mutex_unlock(&lock);
		free(r);
		return KCU_ERROR_HOST_MEMORY_ALREADY_REGISTERED;
	}
	*r = (struct range){ ranges, p, n, alloc };
	ranges = r;
	pthread_mutex_unlock(&lock);
	return KCU_SUCCESS;
}

/* Forgets the pinned range starting at p (of the kind `alloc`), once no
 * queued op can touch it; its length, or 0 if there is none. */
static size_t unpin(void *p, int alloc)
{
	struct range **pp, *r;
	size_t n = 0;

	pthread_mutex_lock(&lock);
	for (pp = &ranges; *pp && ((*pp)->base != p || (*pp)->alloc != alloc); pp = &(*pp)->next)
		;
	if ((r = *pp) != NULL) {
		drain_all();
		*pp = r->next;
		n = r->len;
		free(r);
	}
	pthread_mutex_unlock(&lock);
	return n;
}

/*
 * Checks that [p, p + n) is mapped (mincore fails with ENOMEM on a hole)
 * and touches one byte per page, as pinning faults every page in.
 */
static kcu_result touch(const void *p, size_t n)
{
	long pg = sysconf(_SC_PAGESIZE);
	uintptr_t start = (uintptr_t)p & ~(uintptr_t)(pg - 1);
	size_t len = (uintptr_t)p + n - start;
	unsigned char *vec = malloc((len + (size_t)pg - 1) / (size_t)pg);
	int r;

	if (!vec)
		return KCU_ERROR_OUT_OF_MEMORY;
	r = mincore((void *)start, len, vec);
	free(vec);
	if (r != 0)
		return errno == ENOMEM ? KCU_ERROR_INVALID_VALUE : KCU_ERROR_OUT_OF_MEMORY;
	for (uintptr_t a = start; a < (uintptr_t)p + n; a += (uintptr_t)pg)
		(void)*(volatile const char *)(a < (uintptr_t)p ? (uintptr_t)p : a);
	return KCU_SUCCESS;
}

/* ---- setup and configuration ---- */

/* FAKE_CUDA_<name> as a number in [0, max], or dflt if unset. */
static long env_num(const char *name, long dflt, long max)
{
	const char *v = getenv(name);
	char *end;
	long x;

	if (!v)
		return dflt;
	errno = 0;
	x = strtol(v, &end, 10);
	if (errno || end == v || *end || x < 0 || x > max) {
		fprintf(stderr, "fake_cuda: %s=%s is not a number from 0 to %ld\n", name, v, max);
		cfg.bad = 1;
		return dflt;
	}
	return x;
}

static void setup(void)
{
	cfg.devices = env_num("FAKE_CUDA_DEVICES", 1, 1);
	cfg.init_rc = env_num("FAKE_CUDA_INIT", 0, 999);
	cfg.register_rc = env_num("FAKE_CUDA_REGISTER", 0, 999);
	cfg.fail_copy = env_num("FAKE_CUDA_FAIL_COPY", 0, LONG_MAX);
	cfg.delay_us = env_num("FAKE_CUDA_DELAY_US", 150, 1000000);
	dev_base = mmap(NULL, DEV_SPAN, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			-1, 0);
	shadow = mmap(NULL, DEV_SPAN, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (dev_base == MAP_FAILED || shadow == MAP_FAILED || stream_init(&null_stream) != 0)
		setup_err = 1;
}

kcu_result cuInit(unsigned int flags)
{
	if (flags != 0)
		return KCU_ERROR_INVALID_VALUE;
	pthread_once(&setup_once, setup);
	if (cfg.bad)
		return KCU_ERROR_INVALID_VALUE;
	if (setup_err)
		return KCU_ERROR_OUT_OF_MEMORY;
	if (cfg.init_rc)
		return (kcu_result)cfg.init_rc;
	atomic_store(&initialized, 1);
	return KCU_SUCCESS;
}

/* ---- devices and contexts ---- */

kcu_result cuDeviceGetCount(int *n)
{
	kcu_result r = ready();

	if (r == KCU_SUCCESS && !n)
		r = KCU_ERROR_INVALID_VALUE;
	if (r == KCU_SUCCESS)
		*n = (int)cfg.devices;
	return r;
}

kcu_result cuDeviceGet(kcu_device *dev, int ordinal)
{
	kcu_result r = ready();

	if (r == KCU_SUCCESS && !dev)
		r = KCU_ERROR_INVALID_VALUE;
	else if (r == KCU_SUCCESS && (ordinal < 0 || ordinal >= cfg.devices))
		r = KCU_ERROR_INVALID_DEVICE;
	if (r == KCU_SUCCESS)
		*dev = ordinal;
	return r;
}

kcu_result cuDevicePrimaryCtxRetain(kcu_context *ctx, kcu_device dev)
{
	kcu_result r = ready();

	if (r == KCU_SUCCESS && !ctx)
		r = KCU_ERROR_INVALID_VALUE;
	else if (r == KCU_SUCCESS && (dev < 0 || dev >= cfg.devices))
		r = KCU_ERROR_INVALID_DEVICE;
	if (r == KCU_SUCCESS) {
		atomic_fetch_add(&primary.retains, 1);
		*ctx = &primary;
	}
	return r;
}

/* The one context that exists, once retained. */
static int valid_ctx(kcu_context ctx)
{
	return ctx == &primary && atomic_load(&primary.retains) > 0;
}

kcu_result cuCtxPushCurrent_v2(kcu_context ctx)
{
	kcu_result r = ready();

	if (r != KCU_SUCCESS)
		return r;
	if (!valid_ctx(ctx))
		return KCU_ERROR_INVALID_CONTEXT;
	if (ctx_depth == CTX_MAX)
		return KCU_ERROR_OUT_OF_MEMORY;
	ctx_stack[ctx_depth++] = ctx;
	note_depth();
	return KCU_SUCCESS;
}

kcu_result cuCtxPopCurrent_v2(kcu_context *ctx)
{
	kcu_result r = ready();

	if (r != KCU_SUCCESS)
		return r;
	if (ctx_depth == 0) {
		atomic_fetch_add(&count.ctx_underflows, 1);
		return KCU_ERROR_INVALID_CONTEXT;
	}
	ctx_depth--;
	if (ctx)
		*ctx = ctx_stack[ctx_depth];
	return KCU_SUCCESS;
}

kcu_result cuCtxSetCurrent(kcu_context ctx)
{
	kcu_result r = ready();

	if (r != KCU_SUCCESS)
		return r;
	if (!ctx) {
		if (ctx_depth)
			ctx_depth--;
		return KCU_SUCCESS;
	}
	if (!valid_ctx(ctx))
		return KCU_ERROR_INVALID_CONTEXT;
	if (ctx_depth == 0)
		ctx_depth = 1;
	ctx_stack[ctx_depth - 1] = ctx;
	note_depth();
	return KCU_SUCCESS;
}

kcu_result cuPointerGetAttribute(void *data, unsigned int attribute, kcu_deviceptr ptr)
{
	kcu_result r = in_context();
	int dev, host;

	if (r != KCU_SUCCESS)
		return r;
	if (!data)
		return KCU_ERROR_INVALID_VALUE;
	pthread_mutex_lock(&lock);
	dev = dev_bytes(ptr, 1) != NULL;
	host = !dev && pinned((const void *)(uintptr_t)ptr, 1) != NULL;
	pthread_mutex_unlock(&lock);
	if (!dev && !host)
		return KCU_ERROR_INVALID_VALUE;	/* memory the driver does not know */
	if (attribute == KCU_POINTER_ATTRIBUTE_MEMORY_TYPE)
		*(unsigned int *)data = dev ? KCU_MEMORYTYPE_DEVICE : KCU_MEMORYTYPE_HOST;
	else if (attribute == KCU_POINTER_ATTRIBUTE_CONTEXT)
		*(kcu_context *)data = &primary;
	else
		return KCU_ERROR_INVALID_VALUE;
	return KCU_SUCCESS;
}

/* ---- device memory ---- */

kcu_result cuMemAlloc_v2(kcu_deviceptr *p, size_t n)
{
	kcu_result r = in_context();
	struct block **pp, *b;
	uint64_t at = 0, len;

	if (r != KCU_SUCCESS)
		return r;
	if (!p || n == 0 || n > DEV_SPAN)
		return KCU_ERROR_INVALID_VALUE;
	len = (n + DEV_ALIGN - 1) & ~(uint64_t)(DEV_ALIGN - 1);
	if (!(b = malloc(sizeof(*b))))
		return KCU_ERROR_OUT_OF_MEMORY;
	pthread_mutex_lock(&lock);
	for (pp = &blocks; *pp && (*pp)->off - at < len; pp = &(*pp)->next)
		at = (*pp)->off + (*pp)->len;	/* first fit: the gap before *pp is too small */
	if (DEV_SPAN - at < len) {
		pthread_mutex_unlock(&lock);
		free(b);
		return KCU_ERROR_OUT_OF_MEMORY;
	}
	*b = (struct block){ *pp, at, len };
	*pp = b;
	memset(shadow + at, DEV_POISON, len);
	pthread_mutex_unlock(&lock);
	atomic_fetch_add(&count.device_allocs, 1);
	*p = (uintptr_t)dev_base + at;
	return KCU_SUCCESS;
}

kcu_result cuMemFree_v2(kcu_deviceptr p)
{
	kcu_result r = in_context();
	struct block **pp, *b;

	if (r != KCU_SUCCESS)
		return r;
	pthread_mutex_lock(&lock);
	for (pp = &blocks; *pp && (uintptr_t)dev_base + (*pp)->off != p; pp = &(*pp)->next)
		;
	if (!(b = *pp)) {
		pthread_mutex_unlock(&lock);
		return KCU_ERROR_INVALID_VALUE;
	}
	drain_all();
	*pp = b->next;
	(void)madvise(shadow + b->off, b->len, MADV_DONTNEED);	/* give the memory back */
	pthread_mutex_unlock(&lock);
	free(b);
	atomic_fetch_sub(&count.device_allocs, 1);
	return KCU_SUCCESS;
}

/* ---- pinned host memory ---- */

kcu_result cuMemHostRegister_v2(void *p, size_t n, unsigned int flags)
{
	kcu_result r = in_context();

	if (r != KCU_SUCCESS)
		return r;
	if (cfg.register_rc)
		return (kcu_result)cfg.register_rc;
	if (!p || n == 0 || n > UINTPTR_MAX - (uintptr_t)p || (flags & ~0xfu) ||
	    in_dev_span(p, n))
		return KCU_ERROR_INVALID_VALUE;
	r = touch(p, n);
	if (r == KCU_SUCCESS)
		r = pin(p, n, 0);
	if (r == KCU_SUCCESS) {
		atomic_fetch_add(&count.registrations, 1);
		atomic_fetch_add(&count.registered_bytes, n);
	}
	return r;
}

kcu_result cuMemHostUnregister(void *p)
{
	kcu_result r = in_context();
	size_t n;

	if (r != KCU_SUCCESS)
		return r;
	n = unpin(p, 0);
	if (n == 0)
		return KCU_ERROR_HOST_MEMORY_NOT_REGISTERED;
	atomic_fetch_sub(&count.registrations, 1);
	atomic_fetch_sub(&count.registered_bytes, n);
	return KCU_SUCCESS;
}

kcu_result cuMemHostAlloc(void **pp, size_t n, unsigned int flags)
{
	kcu_result r = in_context();
	void *p;

	if (r != KCU_SUCCESS)
		return r;
	if (!pp || n == 0 || (flags & ~0xfu))
		return KCU_ERROR_INVALID_VALUE;
	p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return KCU_ERROR_OUT_OF_MEMORY;
	r = pin(p, n, 1);
	if (r != KCU_SUCCESS) {
		munmap(p, n);
		return r;
	}
	atomic_fetch_add(&count.host_allocs, 1);
	*pp = p;
	return KCU_SUCCESS;
}

kcu_result cuMemAllocHost_v2(void **pp, size_t n)
{
	return cuMemHostAlloc(pp, n, 0);
}

kcu_result cuMemFreeHost(void *p)
{
	kcu_result r = in_context();
	size_t n;

	if (r != KCU_SUCCESS)
		return r;
	n = unpin(p, 1);
	if (n == 0)
		return KCU_ERROR_INVALID_VALUE;
	munmap(p, n);
	atomic_fetch_sub(&count.host_allocs, 1);
	return KCU_SUCCESS;
}

/* ---- copies ---- */

/*
 * Resolves a copy between host memory and device memory (or a memset: host
 * NULL) into op.  *is_pinned says whether the host side is pinned (a memset
 * counts as pinned).  KCU_ERROR_INVALID_VALUE for device ranges outside a
 * live block and host ranges that are missing or inside device memory.
 */
static kcu_result resolve(struct op *op, int to_dev, void *host, kcu_deviceptr dev,
			  size_t n, int *is_pinned)
{
	char *bytes;

	pthread_mutex_lock(&lock);
	bytes = dev_bytes(dev, n);
	*is_pinned = op->kind == OP_MEMSET || pinned(host, n) != NULL;
	pthread_mutex_unlock(&lock);
	if (!bytes || (op->kind == OP_COPY && (!host || in_dev_span(host, n))))
		return KCU_ERROR_INVALID_VALUE;
	op->dst = to_dev ? bytes : host;
	op->src = to_dev ? host : bytes;
	return KCU_SUCCESS;
}

/* An async copy or memset on stream h: queued if its host side is pinned,
 * else done now (the driver stages pageable memory). */
static kcu_result async_op(struct op *tmpl, int to_dev, void *host, kcu_deviceptr dev,
			   kcu_stream h)
{
	struct CUstream_st *s;
	struct op *op;
	kcu_result r = in_context();
	int is_pinned;

	if (r != KCU_SUCCESS)
		return r;
	if (!(s = stream_get(h)))
		return KCU_ERROR_INVALID_HANDLE;
	if (tmpl->n == 0)
		return KCU_SUCCESS;
	r = resolve(tmpl, to_dev, host, dev, tmpl->n, &is_pinned);
	if (r != KCU_SUCCESS)
		return r;
	tmpl->fault = cfg.fail_copy &&
		      atomic_fetch_add(&count.numbered, 1) + 1 == (uint_fast64_t)cfg.fail_copy;
	if (!is_pinned && !tmpl->fault) {
		atomic_fetch_add(&count.pageable_copies, 1);
		return run_now(s, tmpl);
	}
	if (!(op = malloc(sizeof(*op))))
		return KCU_ERROR_OUT_OF_MEMORY;
	*op = *tmpl;
	atomic_fetch_add(tmpl->fault ? &count.faults : &count.async_copies, 1);
	if (!tmpl->fault)
		atomic_fetch_add(&count.bytes_async, tmpl->n);
	enqueue(s, op);
	return KCU_SUCCESS;
}

kcu_result cuMemcpyDtoHAsync_v2(void *dst, kcu_deviceptr src, size_t n, kcu_stream s)
{
	struct op op = { .kind = OP_COPY, .n = n };

	return async_op(&op, 0, dst, src, s);
}

kcu_result cuMemcpyHtoDAsync_v2(kcu_deviceptr dst, const void *src, size_t n, kcu_stream s)
{
	struct op op = { .kind = OP_COPY, .n = n };

	return async_op(&op, 1, (void *)src, dst, s);
}

kcu_result cuMemsetD8Async(kcu_deviceptr dst, unsigned char c, size_t n, kcu_stream s)
{
	struct op op = { .kind = OP_MEMSET, .c = c, .n = n };

	return async_op(&op, 1, NULL, dst, s);
}

/* A synchronous copy: after the NULL stream's work, in the caller's thread. */
static kcu_result sync_copy(int to_dev, void *host, kcu_deviceptr dev, size_t n)
{
	struct op op = { .kind = OP_COPY, .n = n };
	kcu_result r = in_context();
	int is_pinned;

	if (r != KCU_SUCCESS || n == 0)
		return r;
	r = resolve(&op, to_dev, host, dev, n, &is_pinned);
	return r == KCU_SUCCESS ? run_now(&null_stream, &op) : r;
}

kcu_result cuMemcpyHtoD_v2(kcu_deviceptr dst, const void *src, size_t n)
{
	return sync_copy(1, (void *)src, dst, n);
}

kcu_result cuMemcpyDtoH_v2(void *dst, kcu_deviceptr src, size_t n)
{
	return sync_copy(0, dst, src, n);
}

/* ---- stream calls ---- */

kcu_result cuStreamCreate(kcu_stream *h, unsigned int flags)
{
	kcu_result r = in_context();
	struct CUstream_st *s;

	if (r != KCU_SUCCESS)
		return r;
	if (!h || (flags & ~KCU_STREAM_NON_BLOCKING))
		return KCU_ERROR_INVALID_VALUE;
	if (!(s = malloc(sizeof(*s))))
		return KCU_ERROR_OUT_OF_MEMORY;
	if (stream_init(s) != 0) {
		free(s);
		return KCU_ERROR_OUT_OF_MEMORY;
	}
	pthread_mutex_lock(&lock);
	s->next = streams;
	streams = s;
	pthread_mutex_unlock(&lock);
	*h = s;
	return KCU_SUCCESS;
}

/* Runs what the stream has queued, then frees it. */
kcu_result cuStreamDestroy_v2(kcu_stream h)
{
	kcu_result r = in_context();
	struct CUstream_st **pp, *s;

	if (r != KCU_SUCCESS)
		return r;
	pthread_mutex_lock(&lock);
	for (pp = &streams; *pp && *pp != h; pp = &(*pp)->next)
		;
	if ((s = *pp) != NULL)
		*pp = s->next;
	pthread_mutex_unlock(&lock);
	if (!s)
		return KCU_ERROR_INVALID_HANDLE;
	pthread_mutex_lock(&s->mu);
	s->stop = 1;
	pthread_cond_signal(&s->work);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->worker, NULL);
	pthread_cond_destroy(&s->idle);
	pthread_cond_destroy(&s->work);
	pthread_mutex_destroy(&s->mu);
	free(s);
	return KCU_SUCCESS;
}

/* Waits for the stream's work; reports (once) a fault among it. */
kcu_result cuStreamSynchronize(kcu_stream h)
{
	kcu_result r = in_context();
	struct CUstream_st *s;

	if (r != KCU_SUCCESS)
		return r;
	if (!(s = stream_get(h)))
		return KCU_ERROR_INVALID_HANDLE;
	pthread_mutex_lock(&s->mu);
	drain_locked(s);
	r = s->err;
	s->err = KCU_SUCCESS;
	s->faulted = 0;
	pthread_mutex_unlock(&s->mu);
	return r;
}

/* A created stream belongs to the primary context (the only one); the NULL
 * stream to whatever context is current. */
kcu_result cuStreamGetCtx(kcu_stream h, kcu_context *ctx)
{
	kcu_result r = ready();

	if (r != KCU_SUCCESS)
		return r;
	if (!ctx)
		return KCU_ERROR_INVALID_VALUE;
	if (!h) {
		*ctx = current();
		return *ctx ? KCU_SUCCESS : KCU_ERROR_INVALID_CONTEXT;
	}
	if (!stream_get(h))
		return KCU_ERROR_INVALID_HANDLE;
	*ctx = &primary;
	return KCU_SUCCESS;
}

/* ---- what tests see (fake_cuda.h) ---- */

void fake_cuda_counters(struct fake_cuda_counters *out)
{
	*out = (struct fake_cuda_counters){
		.async_copies = atomic_load(&count.async_copies),
		.bytes_async = atomic_load(&count.bytes_async),
		.pageable_copies = atomic_load(&count.pageable_copies),
		.registrations = atomic_load(&count.registrations),
		.registered_bytes = atomic_load(&count.registered_bytes),
		.host_allocs = atomic_load(&count.host_allocs),
		.device_allocs = atomic_load(&count.device_allocs),
		.inflight = atomic_load(&count.inflight),
		.ctx_underflows = atomic_load(&count.ctx_underflows),
		.max_ctx_depth = atomic_load(&count.max_ctx_depth),
		.faults = atomic_load(&count.faults),
	};
}

int fake_cuda_ctx_depth(void)
{
	return ctx_depth;
}

/*
 * Every definition above has the type of its entry in cuda_drv.h's tables
 * (as the code that dlsym()s it will call it), and none is missing: the
 * list below names each entry's field and the function exported under the
 * entry's symbol, and has as many lines as the two tables together.
 */
#define FAKE_ENTRIES(X)                                                  \
	X(kcu_api, cuInit, cuInit)                                       \
	X(kcu_api, cuDeviceGetCount, cuDeviceGetCount)                   \
	X(kcu_api, cuDeviceGet, cuDeviceGet)                             \
	X(kcu_api, cuDevicePrimaryCtxRetain, cuDevicePrimaryCtxRetain)   \
	X(kcu_api, cuCtxPushCurrent, cuCtxPushCurrent_v2)                \
	X(kcu_api, cuCtxPopCurrent, cuCtxPopCurrent_v2)                  \
	X(kcu_api, cuPointerGetAttribute, cuPointerGetAttribute)         \
	X(kcu_api, cuStreamGetCtx, cuStreamGetCtx)                       \
	X(kcu_api, cuStreamSynchronize, cuStreamSynchronize)             \
	X(kcu_api, cuMemHostRegister, cuMemHostRegister_v2)              \
	X(kcu_api, cuMemHostUnregister, cuMemHostUnregister)             \
	X(kcu_api, cuMemHostAlloc, cuMemHostAlloc)                       \
	X(kcu_api, cuMemFreeHost, cuMemFreeHost)                         \
	X(kcu_api, cuMemcpyDtoHAsync, cuMemcpyDtoHAsync_v2)              \
	X(kcu_api, cuMemcpyHtoDAsync, cuMemcpyHtoDAsync_v2)              \
	X(kcu_test_api, cuMemsetD8Async, cuMemsetD8Async)                \
	X(kcu_test_api, cuCtxSetCurrent, cuCtxSetCurrent)                \
	X(kcu_test_api, cuMemAlloc, cuMemAlloc_v2)                       \
	X(kcu_test_api, cuMemFree, cuMemFree_v2)                         \
	X(kcu_test_api, cuMemAllocHost, cuMemAllocHost_v2)               \
	X(kcu_test_api, cuMemcpyHtoD, cuMemcpyHtoD_v2)                   \
	X(kcu_test_api, cuMemcpyDtoH, cuMemcpyDtoH_v2)                   \
	X(kcu_test_api, cuStreamCreate, cuStreamCreate)                  \
	X(kcu_test_api, cuStreamDestroy, cuStreamDestroy_v2)

#define SAME_TYPE(api, field, fn)                                                  \
	_Static_assert(__builtin_types_compatible_p(__typeof__(((struct api *)0)->field), \
						    __typeof__(&fn)),                 \
		       #fn ": not the prototype of cuda_drv.h's " #field);
FAKE_ENTRIES(SAME_TYPE)

#define ONE(a, b, c) +1
_Static_assert(0 KCU_LIBRARY_ENTRIES(ONE) KCU_TEST_ENTRIES(ONE) == 0 FAKE_ENTRIES(ONE),
	       "an entry of gpu/cuda_drv.h has no definition here");
