/*
 * gpu_cuda.c - libkvfs-gpu's CUDA backend against a real mount.  The
 * driver is loaded with dlopen and its entry points declared by
 * gpu/cuda_drv.h, as the library does, so this builds without CUDA.
 *
 *   gpu_cuda MOUNT OUTSIDE_FILE    the full run, below
 *   gpu_cuda copyfail MOUNT        a copy that fails (stand-in driver only)
 *   gpu_cuda probe                 only whether CUDA is usable (0 or 77)
 *
 * The full run: 64 scattered 1 MiB device pages gathered into a file with
 * kvfs_gpu_pwritev and checked with read(2); scattered back into other
 * device pages with kvfs_gpu_preadv and checked with cuMemcpyDtoH; the
 * bandwidth of both against cuMemcpy of the same pages to and from a pinned
 * buffer, for a new file each time (the mapping and its registration
 * included) and for the same file again (the cached registration), medians
 * of 7 runs; the same pair asynchronously on a stream of its own
 * (non-blocking) into a second file; a read from a thread with no context
 * current; a hole read into a device page (zeros); one file transferred
 * over and over (mapped and registered once, not per transfer); device
 * pages to a file outside kvfs (the bounce-buffer fallback), and an async
 * write there that must wait for the work already queued on its
 * non-blocking stream; the library's counters.  Transfers on kvfs files
 * take the mapped path under KVFS_GPU_MAP=1 (or on passthrough opens),
 * else the fallback; the expected counters follow.
 *
 * On the stand-in driver (tests/fake/fake_cuda.c, recognized by its
 * fake_cuda_counters symbol) there is no bandwidth to measure, and each
 * kvfs_gpu_* call is checked for how it used the driver: nothing left in
 * flight when it returned (unless it was an *_async call), the calling
 * thread's context stack as it was (pushes and pops balanced), no pop of an
 * empty stack, one driver copy for each copy the library counts, no copy
 * staged through pageable memory unless a mapping could not be
 * registered; and after kvfs_gpu_close() no registration or pinned buffer
 * left.  copyfail runs with FAKE_CUDA_FAIL_COPY=1: the first asynchronous
 * copy of a transfer overwriting a file fails, and the write must return
 * -EFAULT, write nothing of the device's bytes and leave the range
 * writable.
 *
 * Exits 77 with "SKIP: ..." where there is no CUDA driver or device, 1 with
 * "FAIL: ..." on any error or violation.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "cuda_drv.h"
#include "fake_cuda.h"
#include "kvfs_gpu.h"
#include "t_util.h"

#define NPAGES 64
#define PAGE   (1u << 20)
#define ALL    ((size_t)NPAGES * PAGE)

static struct kcu_api cu;            /* what the library calls too */
static struct kcu_test_api ct;       /* what only this program calls */
/* The stand-in's extras; NULL on a real driver. */
static fake_cuda_counters_fn *fake_counters;
static fake_cuda_ctx_depth_fn *fake_depth;

static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("FAIL: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	exit(1);
}

#define CU(call) do { if ((call) != KCU_SUCCESS) fail("%s", #call); } while (0)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct sym {
	size_t at;
	const char *name;
};

#define LIB_SYM(name, sym, params) { offsetof(struct kcu_api, name), sym },
#define TEST_SYM(name, sym, params) { offsetof(struct kcu_test_api, name), sym },

static void load_table(void *lib, void *table, const struct sym *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		void *f = dlsym(lib, s[i].name);

		if (!f)
			fail("libcuda.so.1 exports no %s", s[i].name);
		memcpy((char *)table + s[i].at, &f, sizeof(f));
	}
}

/* The driver the library loaded (dlopen of the same name finds it). */
static void load(void)
{
	static const struct sym lib_syms[] = { KCU_LIBRARY_ENTRIES(LIB_SYM) };
	static const struct sym test_syms[] = { KCU_TEST_ENTRIES(TEST_SYM) };
	void *lib = dlopen("libcuda.so.1", RTLD_NOW);
	void *f;

	if (!lib)
		fail("dlopen libcuda.so.1 after the library loaded it: %s", dlerror());
	load_table(lib, &cu, lib_syms, sizeof(lib_syms) / sizeof(lib_syms[0]));
	load_table(lib, &ct, test_syms, sizeof(test_syms) / sizeof(test_syms[0]));
	if ((f = dlsym(lib, "fake_cuda_counters")) != NULL)
		memcpy(&fake_counters, &f, sizeof(f));
	if ((f = dlsym(lib, "fake_cuda_ctx_depth")) != NULL)
		memcpy(&fake_depth, &f, sizeof(f));
	if (!fake_counters != !fake_depth)
		fail("libcuda.so.1 exports one of the stand-in's symbols but not the other");
}

/* Makes device 0's primary context current on the calling thread. */
static void use_primary(void)
{
	kcu_device d;
	kcu_context ctx;

	CU(cu.cuDeviceGet(&d, 0));
	CU(cu.cuDevicePrimaryCtxRetain(&ctx, d));
	CU(ct.cuCtxSetCurrent(ctx));
}

/* n device pages holding host[0, n * PAGE), and their iovecs. */
static void dev_pages(kcu_deviceptr *dev, struct iovec *iov, int n, const unsigned char *host)
{
	for (int i = 0; i < n; i++) {
		CU(ct.cuMemAlloc(&dev[i], PAGE));
		CU(ct.cuMemcpyHtoD(dev[i], host + (size_t)i * PAGE, PAGE));
		iov[i] = (struct iovec){ (void *)(uintptr_t)dev[i], PAGE };
	}
}

/* Whether the n device pages hold want[0, n * PAGE); scratch is as large. */
static int dev_equal(const kcu_deviceptr *dev, int n, const unsigned char *want,
		     unsigned char *scratch)
{
	for (int i = 0; i < n; i++)
		CU(ct.cuMemcpyDtoH(scratch + (size_t)i * PAGE, dev[i], PAGE));
	return memcmp(scratch, want, (size_t)n * PAGE) == 0;
}

static int file_equal(int fd, const unsigned char *want, size_t len, unsigned char *scratch)
{
	return pread(fd, scratch, len, 0) == (ssize_t)len && memcmp(scratch, want, len) == 0;
}

/* ---- the stand-in's view of each call ---- */

struct watch {
	struct fake_cuda_counters c;
	uint64_t copies;             /* the library's count of copies */
	int depth;
};

/* Every copy the stand-in saw: queued, staged or failed. */
static uint64_t driver_copies(const struct fake_cuda_counters *c)
{
	return c->async_copies + c->pageable_copies + c->faults;
}

static void watch_start(struct watch *w, struct kvfs_gpu *g)
{
	struct kvfs_gpu_stats st;

	if (fake_counters) {
		kvfs_gpu_get_stats(g, &st);
		w->copies = st.copies;
		fake_counters(&w->c);
		w->depth = fake_depth();
	}
}

/*
 * After a kvfs_gpu_* call returned, on the stand-in: with `idle` (this
 * program queued nothing itself and the call was not an *_async one)
 * nothing may be in flight; the thread's context stack is as it was; no
 * pop of an empty stack; each copy the library counted was one driver copy
 * (one DMA per piece, nothing split or added); no staged (pageable) copy,
 * which `fast_path` allows where a mapping could not be registered.
 */
static void watch_check(const struct watch *w, struct kvfs_gpu *g, const char *what,
			int idle, int fast_path)
{
	struct fake_cuda_counters c;
	struct kvfs_gpu_stats st;

	if (!fake_counters)
		return;
	fake_counters(&c);
	kvfs_gpu_get_stats(g, &st);
	if (idle && c.inflight)
		fail("%s: %llu driver ops still in flight after it returned", what,
		     (unsigned long long)c.inflight);
	if (fake_depth() != w->depth)
		fail("%s: context stack %d deep after the call, %d before: pushes and pops"
		     " unbalanced", what, fake_depth(), w->depth);
	if (c.ctx_underflows)
		fail("%s: %llu pops of an empty context stack", what,
		     (unsigned long long)c.ctx_underflows);
	if (driver_copies(&c) - driver_copies(&w->c) != st.copies - w->copies)
		fail("%s: %llu driver copies for %llu copies of the library", what,
		     (unsigned long long)(driver_copies(&c) - driver_copies(&w->c)),
		     (unsigned long long)(st.copies - w->copies));
	if (c.pageable_copies != w->c.pageable_copies && !(fast_path && st.unregistered))
		fail("%s: %llu copies staged through pageable memory, where the host side"
		     " should have been pinned", what,
		     (unsigned long long)(c.pageable_copies - w->c.pageable_copies));
}

/* ---- the full run ---- */

struct no_ctx_read {
	struct kvfs_gpu *g;
	int fd;
	const struct iovec *iov;
	ssize_t got;
};

/* An I/O thread that never touched CUDA: the library must find the
 * context of the pages itself. */
static void *no_ctx_reader(void *arg)
{
	struct no_ctx_read *r = arg;
	struct watch w;

	watch_start(&w, r->g);
	if (fake_depth && w.depth != 0)
		fail("a new thread starts with a current context");
	r->got = kvfs_gpu_preadv(r->g, r->fd, r->iov, NPAGES, 0);
	watch_check(&w, r->g, "kvfs_gpu_preadv from a thread with no context", 1, 1);
	return NULL;
}

struct run {
	struct kvfs_gpu *g;
	kcu_deviceptr dev[NPAGES], back[NPAGES], fresh[NPAGES];
	struct iovec iov[NPAGES], biov[NPAGES], fiov[NPAGES];
	unsigned char *host, *other, *check;
};

/* The pages of fd (written from t->dev) read by a new thread into
 * t->back, reset first. */
static void run_no_ctx(struct run *t, int fd)
{
	struct no_ctx_read r = { .g = t->g, .fd = fd, .iov = t->biov };
	pthread_t th;

	for (int i = 0; i < NPAGES; i++)
		CU(ct.cuMemcpyHtoD(t->back[i], t->other + (size_t)i * PAGE, PAGE));
	if (pthread_create(&th, NULL, no_ctx_reader, &r) != 0 || pthread_join(th, NULL) != 0)
		fail("a thread for kvfs_gpu_preadv");
	if (r.got != (ssize_t)ALL || !dev_equal(t->back, NPAGES, t->host, t->check))
		fail("kvfs_gpu_preadv from a thread with no context: %zd", r.got);
}

/* A hole (fd extended by ftruncate) read into a device page: zeros. */
static void run_hole(struct run *t, int fd)
{
	unsigned char *zeros = calloc(1, PAGE);
	struct watch w;

	if (!zeros)
		fail("out of memory");
	if (ftruncate(fd, (off_t)(ALL + PAGE)) != 0)
		fail("ftruncate: %s", strerror(errno));
	watch_start(&w, t->g);
	if (kvfs_gpu_pread(t->g, fd, t->biov[0].iov_base, PAGE, ALL) != (ssize_t)PAGE)
		fail("kvfs_gpu_pread of a hole into a device page");
	watch_check(&w, t->g, "kvfs_gpu_pread (a hole)", 1, 1);
	if (!dev_equal(&t->back[0], 1, zeros, t->check))
		fail("a hole read into a device page is not zeros");
	free(zeros);
}

#define BW_REPS 7

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/*
 * The figures (printed for a real driver only): the 64 scattered pages into
 * a new file (device -> file: one DMA per page, after mapping the file and
 * registering the mapping) and back into device pages (file -> device),
 * then the same pair again on that file (the registration cached), against
 * cuMemcpy of the same pages to and from one pinned buffer; medians of
 * BW_REPS runs after a warm-up.  The difference between the new-file and
 * the same-file write is the cost of mapping and registering one file.
 */
static void run_bandwidth(struct run *t, const char *mount)
{
	double w[BW_REPS], r[BW_REPS], w2[BW_REPS], r2[BW_REPS], dtoh[BW_REPS], htod[BW_REPS];
	double t0;
	unsigned char *pinned;
	char path[4096];
	int fd;

	CU(ct.cuMemAllocHost((void **)&pinned, ALL));
	snprintf(path, sizeof(path), "%s/cuda-bw.kv", mount);
	for (int k = -1; k < BW_REPS; k++) {
		int i = k < 0 ? 0 : k;

		unlink(path);
		fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
		if (fd < 0)
			fail("open %s: %s", path, strerror(errno));
		t0 = now();
		if (kvfs_gpu_pwritev(t->g, fd, t->iov, NPAGES, 0) != (ssize_t)ALL)
			fail("kvfs_gpu_pwritev of device pages (bandwidth)");
		w[i] = now() - t0;
		t0 = now();
		if (kvfs_gpu_preadv(t->g, fd, t->biov, NPAGES, 0) != (ssize_t)ALL)
			fail("kvfs_gpu_preadv into device pages (bandwidth)");
		r[i] = now() - t0;
		t0 = now();
		if (kvfs_gpu_pwritev(t->g, fd, t->iov, NPAGES, 0) != (ssize_t)ALL)
			fail("kvfs_gpu_pwritev of device pages (bandwidth, again)");
		w2[i] = now() - t0;
		t0 = now();
		if (kvfs_gpu_preadv(t->g, fd, t->biov, NPAGES, 0) != (ssize_t)ALL)
			fail("kvfs_gpu_preadv into device pages (bandwidth, again)");
		r2[i] = now() - t0;
		close(fd);
		t0 = now();
		for (int p = 0; p < NPAGES; p++)
			CU(ct.cuMemcpyDtoH(pinned + (size_t)p * PAGE, t->dev[p], PAGE));
		dtoh[i] = now() - t0;
		t0 = now();
		for (int p = 0; p < NPAGES; p++)
			CU(ct.cuMemcpyHtoD(t->back[p], pinned + (size_t)p * PAGE, PAGE));
		htod[i] = now() - t0;
	}
	unlink(path);
	CU(cu.cuMemFreeHost(pinned));
	if (!dev_equal(t->back, NPAGES, t->host, t->check))
		fail("device pages after the bandwidth runs differ");
	if (fake_counters) {
		printf("driver: stand-in (tests/fake), no bandwidth figures\n");
		return;
	}
	printf("device->file (new file) %.2f GB/s, cuMemcpy DtoH to pinned %.2f GB/s (ratio %.2f)\n"
	       "file->device %.2f GB/s, cuMemcpy HtoD from pinned %.2f GB/s (ratio %.2f)\n"
	       "device->file (same file again) %.2f GB/s (ratio %.2f), file->device %.2f GB/s"
	       " (ratio %.2f)\n"
	       "mapping and registering one 64 MiB file: %.2f ms (median)\n",
	       ALL / median(w, BW_REPS) / 1e9, ALL / median(dtoh, BW_REPS) / 1e9,
	       median(dtoh, BW_REPS) / median(w, BW_REPS), ALL / median(r, BW_REPS) / 1e9,
	       ALL / median(htod, BW_REPS) / 1e9, median(htod, BW_REPS) / median(r, BW_REPS),
	       ALL / median(w2, BW_REPS) / 1e9, median(dtoh, BW_REPS) / median(w2, BW_REPS),
	       ALL / median(r2, BW_REPS) / 1e9, median(htod, BW_REPS) / median(r2, BW_REPS),
	       (median(w, BW_REPS) - median(w2, BW_REPS)) * 1e3);
}

/* Sync transfers: pages to MOUNT/cuda.kv and back; the same file from a
 * thread with no context, and a hole; then the bandwidth runs. */
static void run_sync(struct run *t, const char *mount)
{
	char path[4096];
	struct watch w;
	int fd;

	snprintf(path, sizeof(path), "%s/cuda.kv", mount);
	fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
	if (fd < 0)
		fail("open %s: %s", path, strerror(errno));
	watch_start(&w, t->g);
	if (kvfs_gpu_pwritev(t->g, fd, t->iov, NPAGES, 0) != (ssize_t)ALL)
		fail("kvfs_gpu_pwritev of device pages");
	watch_check(&w, t->g, "kvfs_gpu_pwritev", 1, 1);
	if (!file_equal(fd, t->host, ALL, t->check))
		fail("read(2) of the file does not match the device pages");
	watch_start(&w, t->g);
	if (kvfs_gpu_preadv(t->g, fd, t->biov, NPAGES, 0) != (ssize_t)ALL)
		fail("kvfs_gpu_preadv into device pages");
	watch_check(&w, t->g, "kvfs_gpu_preadv", 1, 1);
	if (!dev_equal(t->back, NPAGES, t->host, t->check))
		fail("device pages read back differ");
	run_no_ctx(t, fd);
	run_hole(t, fd);
	close(fd);
	run_bandwidth(t, mount);
}

/* Async transfers on a stream of our own: pages to MOUNT/cuda-async.kv,
 * then into fresh pages. */
static void run_async(struct run *t, const char *mount)
{
	struct kvfs_gpu_io *io;
	kcu_stream s;
	char path[4096];
	struct watch w;
	int fd;

	CU(ct.cuStreamCreate(&s, KCU_STREAM_NON_BLOCKING));
	snprintf(path, sizeof(path), "%s/cuda-async.kv", mount);
	fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
	if (fd < 0)
		fail("open %s: %s", path, strerror(errno));
	watch_start(&w, t->g);
	if (kvfs_gpu_pwritev_async(t->g, fd, t->iov, NPAGES, 0, s, &io) != 0)
		fail("kvfs_gpu_pwritev_async of device pages");
	watch_check(&w, t->g, "kvfs_gpu_pwritev_async", 0, 1);
	if (kvfs_gpu_wait(t->g, io) != (ssize_t)ALL)
		fail("kvfs_gpu_wait of the async write");
	watch_check(&w, t->g, "kvfs_gpu_wait (write)", 1, 1);
	if (!file_equal(fd, t->host, ALL, t->check))
		fail("read(2) of the async-written file does not match the device pages");

	watch_start(&w, t->g);
	if (kvfs_gpu_preadv_async(t->g, fd, t->fiov, NPAGES, 0, s, &io) != 0)
		fail("kvfs_gpu_preadv_async into device pages");
	watch_check(&w, t->g, "kvfs_gpu_preadv_async", 0, 1);
	if (kvfs_gpu_wait(t->g, io) != (ssize_t)ALL)
		fail("kvfs_gpu_wait of the async read");
	watch_check(&w, t->g, "kvfs_gpu_wait (read)", 1, 1);
	if (!dev_equal(t->fresh, NPAGES, t->host, t->check))
		fail("device pages read back asynchronously differ");
	close(fd);
	CU(ct.cuStreamDestroy(s));
}

/*
 * An async fallback transfer is ordered after the work already queued on
 * the caller's stream: a page is filled on a non-blocking stream, and the
 * write queued right behind it must carry the last fill's bytes (bounce
 * copies on the default stream would not wait for the fills).
 */
static void run_fallback_order(struct run *t, int fd)
{
	unsigned char *want = t->check + PAGE;
	struct kvfs_gpu_io *io;
	kcu_deviceptr page;
	kcu_stream s;

	CU(ct.cuStreamCreate(&s, KCU_STREAM_NON_BLOCKING));
	CU(ct.cuMemAlloc(&page, PAGE));
	CU(ct.cuMemcpyHtoD(page, t->other, PAGE));
	/* Several fills, so that the stream is still busy when the write is
	 * queued (the stand-in runs each op after a delay). */
	for (int i = 0; i < 16; i++)
		CU(ct.cuMemsetD8Async(page, (unsigned char)(i == 15 ? 0x5a : i), PAGE, s));
	if (kvfs_gpu_pwrite_async(t->g, fd, (void *)(uintptr_t)page, PAGE, 0, s, &io) != 0 ||
	    kvfs_gpu_wait(t->g, io) != (ssize_t)PAGE)
		fail("kvfs_gpu_pwrite_async of a device page to a file outside kvfs");
	memset(want, 0x5a, PAGE);
	if (pread(fd, t->check, PAGE, 0) != (ssize_t)PAGE || memcmp(t->check, want, PAGE) != 0)
		fail("an async fallback write did not wait for the work queued before it"
		     " on its stream");
	CU(ct.cuMemFree(page));
	CU(ct.cuStreamDestroy(s));
}

#define REPEAT 5

/*
 * One file, sized first, written and read REPEAT times on new descriptors:
 * on the mapped path one mapping and one registration (the library's
 * counters and, on the stand-in, the driver's live registrations), never
 * one per transfer; on the fallback path none.
 */
static void run_repeat(struct run *t, const char *mount, int mapped)
{
	struct fake_cuda_counters c0, c1;
	struct kvfs_gpu_stats s0, s1;
	char path[4096];
	uint64_t tried;
	int fd;

	snprintf(path, sizeof(path), "%s/cuda-repeat.kv", mount);
	fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, (off_t)ALL) != 0)
		fail("open and size %s: %s", path, strerror(errno));
	close(fd);
	kvfs_gpu_get_stats(t->g, &s0);
	if (fake_counters)
		fake_counters(&c0);
	for (int k = 0; k < REPEAT; k++) {
		fd = open(path, O_RDWR);
		if (fd < 0)
			fail("open %s: %s", path, strerror(errno));
		if (kvfs_gpu_pwritev(t->g, fd, t->iov, NPAGES, 0) != (ssize_t)ALL ||
		    kvfs_gpu_preadv(t->g, fd, t->biov, NPAGES, 0) != (ssize_t)ALL)
			fail("transfer %d of the repeated file", k);
		close(fd);
	}
	if (!dev_equal(t->back, NPAGES, t->host, t->check))
		fail("device pages read back from the repeated file differ");
	kvfs_gpu_get_stats(t->g, &s1);
	/* Registrations made or refused (FAKE_CUDA_REGISTER): tried once. */
	tried = s1.registrations + s1.unregistered - s0.registrations - s0.unregistered;
	if (s1.maps - s0.maps != (uint64_t)mapped || tried != (uint64_t)mapped)
		fail("%d transfers of one file: %llu mappings, %llu registrations tried, want"
		     " %d each", 2 * REPEAT, (unsigned long long)(s1.maps - s0.maps),
		     (unsigned long long)tried, mapped);
	if (fake_counters) {
		fake_counters(&c1);
		if (c1.registrations - c0.registrations !=
		    s1.registrations - s0.registrations)
			fail("the driver holds %llu more registrations after %d transfers of one"
			     " file, the library made %llu", (unsigned long long)(c1.registrations -
									  c0.registrations),
			     2 * REPEAT, (unsigned long long)(s1.registrations - s0.registrations));
	}
}

/* Device pages to a file outside kvfs: the bounce-buffer fallback. */
static void run_fallback(struct run *t, const char *outside)
{
	struct watch w;
	int fd;

	fd = open(outside, O_CREAT | O_RDWR | O_TRUNC, 0644);
	if (fd < 0)
		fail("open %s: %s", outside, strerror(errno));
	watch_start(&w, t->g);
	if (kvfs_gpu_pwritev(t->g, fd, t->iov, 4, 0) != 4 * (ssize_t)PAGE)
		fail("kvfs_gpu_pwritev of device pages to a file outside kvfs");
	watch_check(&w, t->g, "kvfs_gpu_pwritev (fallback)", 1, 0);
	if (!file_equal(fd, t->host, 4 * PAGE, t->check))
		fail("the fallback path with device pages");
	run_fallback_order(t, fd);
	close(fd);
}

/* Whether transfers on kvfs files take the mapped path in this run. */
static int want_mapped(void)
{
	const char *m = getenv("KVFS_GPU_MAP");

	return m && strcmp(m, "1") == 0;
}

static int full_run(struct kvfs_gpu *g, const char *mount, const char *outside)
{
	/* 6 transfers, 4 per bandwidth run (a warm-up and BW_REPS), 2 per
	 * repeat; on kvfs, mapped or not; 2 more outside kvfs */
	uint64_t n = 6 + 4 * (BW_REPS + 1) + 2 * REPEAT;
	int mapped = want_mapped();
	struct run *t = calloc(1, sizeof(*t));
	struct fake_cuda_counters c;
	struct kvfs_gpu_stats st;

	if (!t)
		fail("out of memory");
	t->g = g;
	use_primary();
	kvfs_gpu_get_stats(g, &st);
	if (fake_counters) {
		fake_counters(&c);
		if (c.registrations != 0 || st.maps != 0)
			fail("%llu host registrations before any transfer",
			     (unsigned long long)c.registrations);
	}
	t->host = malloc(ALL);
	t->other = malloc(ALL);
	t->check = malloc(ALL);
	if (!t->host || !t->other || !t->check)
		fail("out of memory");
	t_pattern(t->host, ALL, 7, 0);
	t_pattern(t->other, ALL, 99, 0);
	dev_pages(t->dev, t->iov, NPAGES, t->host);
	dev_pages(t->back, t->biov, NPAGES, t->other);
	dev_pages(t->fresh, t->fiov, NPAGES, t->other);

	run_sync(t, mount);
	run_async(t, mount);
	run_repeat(t, mount, mapped);
	run_fallback(t, outside);

	kvfs_gpu_get_stats(g, &st);
	if (st.mapped != (mapped ? n : 0) || st.fallback != (mapped ? 2 : n + 2) || st.errors)
		fail("counters: mapped=%llu (want %llu) fallback=%llu (want %llu) errors=%llu",
		     (unsigned long long)st.mapped, (unsigned long long)(mapped ? n : 0),
		     (unsigned long long)st.fallback, (unsigned long long)(mapped ? 2 : n + 2),
		     (unsigned long long)st.errors);
	if (st.unregistered)
		printf("note: CUDA could not register %llu mapping(s); copies were staged\n",
		       (unsigned long long)st.unregistered);
	printf("OK cuda: mapped=%llu fallback=%llu copies=%llu maps=%llu registrations=%llu\n",
	       (unsigned long long)st.mapped, (unsigned long long)st.fallback,
	       (unsigned long long)st.copies, (unsigned long long)st.maps,
	       (unsigned long long)st.registrations);
	for (int i = 0; i < NPAGES; i++) {
		CU(ct.cuMemFree(t->dev[i]));
		CU(ct.cuMemFree(t->back[i]));
		CU(ct.cuMemFree(t->fresh[i]));
	}
	kvfs_gpu_close(g);
	if (fake_counters) {
		fake_counters(&c);
		if (c.registrations || c.host_allocs || c.inflight)
			fail("after kvfs_gpu_close: %llu registrations, %llu pinned buffers, %llu"
			     " ops in flight", (unsigned long long)c.registrations,
			     (unsigned long long)c.host_allocs, (unsigned long long)c.inflight);
	}
	free(t->host);
	free(t->other);
	free(t->check);
	free(t);
	return 0;
}

/* ---- copyfail ---- */

#define CF_PAGES 8
#define CF_OLD   (4 * (size_t)PAGE)   /* the file before: half the range */

/*
 * The old content is written with write(2), so the failing transfer's first
 * copy is the stand-in's first asynchronous copy (FAKE_CUDA_FAIL_COPY counts
 * from cuInit).  The library issues nothing after a failed copy, so no byte
 * of the device's may land: the old bytes stay, and what lies past them is
 * zeros (on the mapped path the file was first grown to cover the range;
 * on the fallback path nothing was written, the size stays).
 */
static int copyfail(struct kvfs_gpu *g, const char *mount)
{
	const char *env = getenv("FAKE_CUDA_FAIL_COPY");
	unsigned char *old = malloc(CF_OLD), *new = malloc(CF_PAGES * PAGE);
	unsigned char *check = malloc(CF_PAGES * PAGE), *new_zero = malloc(CF_PAGES * PAGE);
	kcu_deviceptr dev[CF_PAGES];
	struct iovec iov[CF_PAGES];
	struct fake_cuda_counters c;
	struct kvfs_gpu_stats st;
	char path[4096];
	struct watch w;
	struct stat sb;
	ssize_t n;
	int fd;

	if (!fake_counters) {
		printf("SKIP: copyfail needs the stand-in driver (tests/fake)\n");
		return 77;
	}
	if (!env || strcmp(env, "1") != 0)
		fail("copyfail: run with FAKE_CUDA_FAIL_COPY=1 (the first copy fails)");
	size_t want;

	if (!old || !new || !check || !new_zero)
		fail("out of memory");
	use_primary();
	t_pattern(old, CF_OLD, 3, 0);
	t_pattern(new, CF_PAGES * PAGE, 4, 0);
	dev_pages(dev, iov, CF_PAGES, new);
	snprintf(path, sizeof(path), "%s/copyfail.kv", mount);
	fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
	if (fd < 0 || pwrite(fd, old, CF_OLD, 0) != (ssize_t)CF_OLD)
		fail("write(2) of the old content to %s", path);
	fake_counters(&c);
	if (c.async_copies || c.pageable_copies || c.faults)
		fail("an asynchronous copy before the transfer: the failure would miss it");

	watch_start(&w, g);
	n = kvfs_gpu_pwritev(g, fd, iov, CF_PAGES, 0);
	if (n != -EFAULT)
		fail("kvfs_gpu_pwritev with a failing copy returned %zd, want -EFAULT (%d)",
		     n, -EFAULT);
	watch_check(&w, g, "kvfs_gpu_pwritev (failing copy)", 1, 1);
	fake_counters(&c);
	if (c.faults != 1)
		fail("the stand-in failed %llu copies, want 1", (unsigned long long)c.faults);
	want = want_mapped() ? CF_PAGES * (size_t)PAGE : CF_OLD;
	if (fstat(fd, &sb) != 0 || (size_t)sb.st_size != want)
		fail("size %lld after the failed write, want %zu", (long long)sb.st_size, want);
	memcpy(new_zero, old, CF_OLD);
	memset(new_zero + CF_OLD, 0, CF_PAGES * PAGE - CF_OLD);
	if (!file_equal(fd, new_zero, want, check))
		fail("the file does not read back its old content (and zeros) after the"
		     " failed write");
	kvfs_gpu_get_stats(g, &st);
	if (st.errors != 1 || st.writes != 0)
		fail("after the failed write: errors=%llu (want 1) writes=%llu (want 0)",
		     (unsigned long long)st.errors, (unsigned long long)st.writes);

	/* The mapping was given back: the range can be written again. */
	watch_start(&w, g);
	n = kvfs_gpu_pwritev(g, fd, iov, CF_PAGES, 0);
	if (n != (ssize_t)(CF_PAGES * PAGE))
		fail("writing the range again after the failure: %s",
		     n < 0 ? strerror((int)-n) : "short");
	watch_check(&w, g, "kvfs_gpu_pwritev (after the failure)", 1, 1);
	if (!file_equal(fd, new, CF_PAGES * PAGE, check))
		fail("the file does not read back the second write");
	kvfs_gpu_get_stats(g, &st);
	if (st.errors != 1 || st.writes != 1 || (want_mapped() ? st.mapped : st.fallback) != 1)
		fail("counters: errors=%llu writes=%llu mapped=%llu fallback=%llu",
		     (unsigned long long)st.errors, (unsigned long long)st.writes,
		     (unsigned long long)st.mapped, (unsigned long long)st.fallback);
	close(fd);
	for (int i = 0; i < CF_PAGES; i++)
		CU(ct.cuMemFree(dev[i]));
	kvfs_gpu_close(g);
	printf("OK copyfail: -EFAULT, none of the device's bytes written, range writable again\n");
	free(new_zero);
	free(old);
	free(new);
	free(check);
	return 0;
}

int main(int argc, char **argv)
{
	int probe = argc == 2 && strcmp(argv[1], "probe") == 0;
	int cf = argc == 3 && strcmp(argv[1], "copyfail") == 0;
	const char *mount = probe ? NULL : cf ? argv[2] : argv[1];
	struct kvfs_gpu *g;
	int r;

	if (argc != 3 && !probe) {
		fprintf(stderr, "usage: gpu_cuda MOUNT OUTSIDE_FILE | gpu_cuda copyfail MOUNT"
			" | gpu_cuda probe\n");
		return 2;
	}
	r = kvfs_gpu_open(&g, mount, KVFS_GPU_CUDA);
	if (r == -ENOENT || r == -ENODEV || r == -ENOSYS) {
		printf("SKIP: no CUDA %s on this machine (%s)\n",
		       r == -ENODEV ? "device" : "driver (libcuda.so.1)", strerror(-r));
		return 77;
	}
	if (r < 0)
		fail("kvfs_gpu_open(KVFS_GPU_CUDA): %s", strerror(-r));
	if (probe) {
		kvfs_gpu_close(g);
		return 0;
	}
	load();
	return cf ? copyfail(g, mount) : full_run(g, mount, argv[2]);
}
