/*
 * kvfs-gpu-bench.c - libkvfs-gpu's benchmark, run by `make bench`
 * (tools/bench.sh calls it with the kvfs mount and a local-disk directory).
 *
 * One file of --size bytes (default 256 MiB) made of --page pages (default
 * 4 MiB) that lie scattered in a pool twice as large, as a paged KV cache
 * holds them, moved five ways, side by side in one run:
 *   memcpy   single-thread memcpy of the pages into a contiguous buffer: the
 *            copy the library does (the bar: library >= 0.9x of it);
 *   library  libkvfs-gpu (host backend): one kvfs_gpu_pwritev gathering
 *            every page into the file (host memory: pwritev, the kernel
 *            filling the file's pages), timed without and with the close
 *            that publishes the file;
 *   mapped   the same write through a second context opened with
 *            KVFS_GPU_MAP=1: fallocate, then copies into the file's mapping,
 *            which is what a DMA from a GPU does (the kernel zeroes each new
 *            page at its first touch, then the copy fills it);
 *   posix    pwrite() of each page through the mount, and close();
 *   staged   what kvfs exists to remove: pwrite() of each page to a temp
 *            file on the local disk, then a copy of it into the mount under
 *            a temp name (4 MiB read/write), and rename();
 *   and back: kvfs_gpu_preadv scattering the file into the pages, against
 *            memcpy and pread() of each page through the mount.
 * The host backend is measured: it shows what the library and the daemon
 * add to the copy itself.  The path is the library's choice: host-memory
 * writes take pwritev; reads are mapped on passthrough opens (on a
 * daemon-served open only under KVFS_GPU_MAP=1, whose writes are then
 * msync()ed through the daemon: not the passthrough figure), else pread;
 * the counters printed say which.
 * Device<->file bandwidth against cuMemcpy is measured by
 * tests/integration/gpu_cuda.c where a GPU exists.
 * Each figure is the median of --repeat runs (default 3) after one warm-up;
 * every file read back is checked.  Dies on any error, removing its files.
 *
 *   kvfs-gpu-bench [--repeat N] [--size SIZE] [--page SIZE] [--json FILE] MOUNT DISKDIR
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "kvfs_gpu.h"

#define MAX_REPEAT 32
#define COPY_CHUNK (4u << 20)

enum { R_MEMCPY, R_FAST, R_FAST_CLOSE, R_MAPPED, R_POSIX, R_STAGED, R_MEMCPY_IN,
       R_FAST_IN, R_POSIX_IN, R_NR };

static const char *const names[R_NR] = {
	"memcpy (pages -> buffer)", "library write", "library write + close",
	"library write, mapped (as a DMA)",
	"POSIX pwrite via mount + close", "staged: disk temp + copy + rename",
	"memcpy (buffer -> pages)", "library read", "POSIX pread via mount",
};

static const char *mnt, *disk;
static char fpath[4096], spath[4096], stmp[4096], dpath[4096];

static void cleanup(void)
{
	unlink(fpath);
	unlink(spath);
	unlink(stmp);
	unlink(dpath);
}

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "kvfs-gpu-bench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	cleanup();
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t size_arg(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 10);

	switch (*end) {
	case 'K': case 'k': v <<= 10; end++; break;
	case 'M': case 'm': v <<= 20; end++; break;
	case 'G': case 'g': v <<= 30; end++; break;
	}
	if (*end || v == 0)
		die("not a size: %s", s);
	return v;
}

static int xopen(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC, 0644);

	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	return fd;
}

static void xclose(int fd, const char *what)
{
	if (close(fd) != 0)
		die("close %s: %s", what, strerror(errno));
}

static void write_all(int fd, const char *p, size_t n, uint64_t off, const char *what)
{
	ssize_t w;

	while (n) {
		w = pwrite(fd, p, n, (off_t)off);
		if (w <= 0)
			die("pwrite %s: %s", what, w < 0 ? strerror(errno) : "wrote nothing");
		p += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
}

static void read_all(int fd, char *p, size_t n, uint64_t off, const char *what)
{
	ssize_t r;

	while (n) {
		r = pread(fd, p, n, (off_t)off);
		if (r <= 0)
			die("pread %s: %s", what, r < 0 ? strerror(errno) : "early EOF");
		p += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
}

struct bench {
	uint64_t size, page, npages;
	char *pool, *flat;
	struct iovec *iov;
	struct kvfs_gpu *g;
	struct kvfs_gpu *gm;     /* KVFS_GPU_MAP=1: every write mapped */
	unsigned repeat;
	double t[R_NR][MAX_REPEAT];
};

/* Page i's bytes: a stamp of (i, word) per 8 bytes, cheap and checkable. */
static void stamp(char *p, uint64_t page, uint64_t i)
{
	uint64_t *w = (uint64_t *)p;

	for (uint64_t k = 0; k < page / 8; k++)
		w[k] = (i << 32) ^ k ^ 0x6b7666736770756bull;
}

static void verify(const char *p, uint64_t page, uint64_t i, const char *what)
{
	const uint64_t *w = (const uint64_t *)p;

	for (uint64_t k = 0; k < page / 8; k++)
		if (w[k] != ((i << 32) ^ k ^ 0x6b7666736770756bull))
			die("%s: page %llu is wrong at word %llu", what, (unsigned long long)i,
			    (unsigned long long)k);
}

static void setup(struct bench *b)
{
	uint64_t *slot, x = 88172645463325252ull, j, t;

	b->npages = b->size / b->page;
	b->pool = aligned_alloc(4096, 2 * b->size);
	b->flat = aligned_alloc(4096, b->size);
	b->iov = calloc(b->npages, sizeof(*b->iov));
	slot = calloc(2 * b->npages, sizeof(*slot));
	if (!b->pool || !b->flat || !b->iov || !slot)
		die("out of memory");
	memset(b->pool, 0, 2 * b->size);	/* fault everything in first */
	memset(b->flat, 0, b->size);
	for (uint64_t i = 0; i < 2 * b->npages; i++)
		slot[i] = i;
	for (uint64_t i = 2 * b->npages - 1; i > 0; i--) {	/* xorshift shuffle */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		j = x % (i + 1);
		t = slot[i];
		slot[i] = slot[j];
		slot[j] = t;
	}
	for (uint64_t i = 0; i < b->npages; i++) {
		b->iov[i].iov_base = b->pool + slot[i] * b->page;
		b->iov[i].iov_len = b->page;
		stamp(b->iov[i].iov_base, b->page, i);
	}
	free(slot);
}

static void scramble_pages(struct bench *b)
{
	for (uint64_t i = 0; i < b->npages; i++)
		memset(b->iov[i].iov_base, 0xee, 64);
}

static void verify_pages(struct bench *b, const char *what)
{
	for (uint64_t i = 0; i < b->npages; i++)
		verify(b->iov[i].iov_base, b->page, i, what);
}

/* One round of every measurement; r < 0 is the warm-up. */
static void round_once(struct bench *b, int r)
{
	double t0, t1, t2, v[R_NR];
	ssize_t n;
	int fd, sfd, dfd;
	char *chunk;

	t0 = now();
	for (uint64_t i = 0; i < b->npages; i++)
		memcpy(b->flat + i * b->page, b->iov[i].iov_base, b->page);
	v[R_MEMCPY] = now() - t0;

	fd = xopen(fpath, O_CREAT | O_RDWR | O_TRUNC);	/* mmap needs read access */
	t0 = now();
	n = kvfs_gpu_pwritev(b->g, fd, b->iov, (int)b->npages, 0);
	t1 = now();
	if (n != (ssize_t)b->size)
		die("kvfs_gpu_pwritev: %s", n < 0 ? strerror((int)-n) : "short");
	xclose(fd, fpath);
	t2 = now();
	v[R_FAST] = t1 - t0;
	v[R_FAST_CLOSE] = t2 - t0;

	fd = xopen(fpath, O_RDONLY);
	scramble_pages(b);
	t0 = now();
	n = kvfs_gpu_preadv(b->g, fd, b->iov, (int)b->npages, 0);
	v[R_FAST_IN] = now() - t0;
	if (n != (ssize_t)b->size)
		die("kvfs_gpu_preadv: %s", n < 0 ? strerror((int)-n) : "short");
	verify_pages(b, "library read");
	scramble_pages(b);
	t0 = now();
	for (uint64_t i = 0; i < b->npages; i++)
		read_all(fd, b->iov[i].iov_base, b->page, i * b->page, fpath);
	v[R_POSIX_IN] = now() - t0;
	verify_pages(b, "pread via the mount");
	xclose(fd, fpath);
	unlink(fpath);

	fd = xopen(fpath, O_CREAT | O_RDWR | O_TRUNC);
	t0 = now();
	n = kvfs_gpu_pwritev(b->gm, fd, b->iov, (int)b->npages, 0);
	v[R_MAPPED] = now() - t0;
	if (n != (ssize_t)b->size)
		die("kvfs_gpu_pwritev (mapped): %s", n < 0 ? strerror((int)-n) : "short");
	xclose(fd, fpath);
	fd = xopen(fpath, O_RDONLY);
	scramble_pages(b);
	n = kvfs_gpu_preadv(b->g, fd, b->iov, (int)b->npages, 0);
	if (n != (ssize_t)b->size)
		die("kvfs_gpu_preadv: %s", n < 0 ? strerror((int)-n) : "short");
	verify_pages(b, "mapped write, read back");
	xclose(fd, fpath);
	unlink(fpath);
	scramble_pages(b);
	t0 = now();
	for (uint64_t i = 0; i < b->npages; i++)
		memcpy(b->iov[i].iov_base, b->flat + i * b->page, b->page);
	v[R_MEMCPY_IN] = now() - t0;
	verify_pages(b, "memcpy");

	fd = xopen(fpath, O_CREAT | O_WRONLY | O_TRUNC);
	t0 = now();
	for (uint64_t i = 0; i < b->npages; i++)
		write_all(fd, b->iov[i].iov_base, b->page, i * b->page, fpath);
	xclose(fd, fpath);
	v[R_POSIX] = now() - t0;
	unlink(fpath);

	chunk = b->flat;	/* its bytes are not needed any more this round */
	t0 = now();
	sfd = xopen(stmp, O_CREAT | O_WRONLY | O_TRUNC);
	for (uint64_t i = 0; i < b->npages; i++)
		write_all(sfd, b->iov[i].iov_base, b->page, i * b->page, stmp);
	xclose(sfd, stmp);
	sfd = xopen(stmp, O_RDONLY);
	dfd = xopen(spath, O_CREAT | O_WRONLY | O_TRUNC);
	for (uint64_t off = 0; off < b->size; off += COPY_CHUNK) {
		size_t len = b->size - off < COPY_CHUNK ? b->size - off : COPY_CHUNK;

		read_all(sfd, chunk, len, off, stmp);
		write_all(dfd, chunk, len, off, spath);
	}
	xclose(sfd, stmp);
	xclose(dfd, spath);
	if (rename(spath, dpath) != 0)
		die("rename %s: %s", spath, strerror(errno));
	v[R_STAGED] = now() - t0;
	unlink(stmp);
	unlink(dpath);

	if (r >= 0)
		for (int k = 0; k < R_NR; k++)
			b->t[k][r] = v[k];
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median_gbs(const struct bench *b, int k)
{
	double v[MAX_REPEAT];

	for (unsigned i = 0; i < b->repeat; i++)
		v[i] = (double)b->size / b->t[k][i] / 1e9;
	qsort(v, b->repeat, sizeof(v[0]), cmp_double);
	return b->repeat % 2 ? v[b->repeat / 2] : (v[b->repeat / 2 - 1] + v[b->repeat / 2]) / 2;
}

static void report(const struct bench *b, FILE *json)
{
	static const struct { int num, den; const char *what, *goal; } ratios[] = {
		{ R_FAST, R_MEMCPY, "library write / memcpy", ">= 0.90" },
		{ R_FAST_CLOSE, R_MEMCPY, "library write + close / memcpy", "" },
		{ R_FAST_CLOSE, R_POSIX, "library write + close / POSIX pwrite", "" },
		{ R_FAST_CLOSE, R_STAGED, "library write + close / staged copy", "" },
		{ R_MAPPED, R_MEMCPY, "mapped write / memcpy", "" },
		{ R_FAST_IN, R_MEMCPY_IN, "library read / memcpy", "" },
		{ R_FAST_IN, R_POSIX_IN, "library read / POSIX pread", "" },
	};
	struct kvfs_gpu_stats st, sm;
	double g[R_NR];

	kvfs_gpu_get_stats(b->g, &st);
	kvfs_gpu_get_stats(b->gm, &sm);
	printf("\nlibkvfs-gpu (%s backend): %llu MiB in %llu pages of %llu KiB, scattered;"
	       " medians of %u runs (GB = 10^9 bytes)\n", kvfs_gpu_backend(b->g),
	       (unsigned long long)(b->size >> 20), (unsigned long long)b->npages,
	       (unsigned long long)(b->page >> 10), b->repeat);
	for (int k = 0; k < R_NR; k++) {
		g[k] = median_gbs(b, k);
		printf("  %-40s %7.2f GB/s\n", names[k], g[k]);
	}
	printf("  %-40s %7s %7s\n", "ratio (of medians)", "", "goal");
	for (size_t i = 0; i < sizeof(ratios) / sizeof(ratios[0]); i++)
		printf("  %-40s %7.2f %7s\n", ratios[i].what, g[ratios[i].num] / g[ratios[i].den],
		       ratios[i].goal);
	printf("  library: mapped transfers %llu, pwrite/pread transfers %llu, copies %llu,"
	       " ioctls %llu, maps %llu\n",
	       (unsigned long long)st.mapped, (unsigned long long)st.fallback,
	       (unsigned long long)st.copies, (unsigned long long)st.ioctls,
	       (unsigned long long)st.maps);
	printf("  mapped writes: mapped transfers %llu, pwrite/pread transfers %llu, maps %llu,"
	       " registrations %llu\n",
	       (unsigned long long)sm.mapped, (unsigned long long)sm.fallback,
	       (unsigned long long)sm.maps, (unsigned long long)sm.registrations);
	if (!json)
		return;
	fprintf(json, "{\n  \"backend\": \"%s\", \"size\": %llu, \"page\": %llu, \"repeat\": %u,\n"
		"  \"gbps\": {", kvfs_gpu_backend(b->g), (unsigned long long)b->size,
		(unsigned long long)b->page, b->repeat);
	for (int k = 0; k < R_NR; k++)
		fprintf(json, "%s\n    \"%s\": %.3f", k ? "," : "", names[k], g[k]);
	fprintf(json, "\n  },\n  \"ratios\": {");
	for (size_t i = 0; i < sizeof(ratios) / sizeof(ratios[0]); i++)
		fprintf(json, "%s\n    \"%s\": %.3f", i ? "," : "", ratios[i].what,
			g[ratios[i].num] / g[ratios[i].den]);
	fprintf(json, "\n  },\n  \"mapped\": %llu, \"fallbacks\": %llu,"
		" \"mapped_writes\": %llu\n}\n",
		(unsigned long long)st.mapped, (unsigned long long)st.fallback,
		(unsigned long long)sm.mapped);
}

int main(int argc, char **argv)
{
	struct bench *b = calloc(1, sizeof(*b));
	const char *json = NULL;
	FILE *jf = NULL;
	int i, r;

	if (!b)
		die("out of memory");
	b->size = 256u << 20;
	b->page = 4u << 20;
	b->repeat = 3;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
			b->repeat = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--size") && i + 1 < argc)
			b->size = size_arg(argv[++i]);
		else if (!strcmp(argv[i], "--page") && i + 1 < argc)
			b->page = size_arg(argv[++i]);
		else if (!strcmp(argv[i], "--json") && i + 1 < argc)
			json = argv[++i];
		else
			die("unknown option %s (see the top of tools/kvfs-gpu-bench.c)", argv[i]);
	}
	if (argc - i != 2 || b->repeat < 1 || b->repeat > MAX_REPEAT || b->page % 8 ||
	    b->size % b->page)
		die("usage: kvfs-gpu-bench [--repeat N] [--size SIZE] [--page SIZE] [--json FILE] "
		    "MOUNT DISKDIR (SIZE a multiple of PAGE)");
	mnt = argv[i];
	disk = argv[i + 1];
	snprintf(fpath, sizeof(fpath), "%s/gpubench.%d.kv", mnt, (int)getpid());
	snprintf(spath, sizeof(spath), "%s/gpubench.%d.kv.tmp", mnt, (int)getpid());
	snprintf(dpath, sizeof(dpath), "%s/gpubench.%d.staged.kv", mnt, (int)getpid());
	snprintf(stmp, sizeof(stmp), "%s/gpubench.%d.tmp", disk, (int)getpid());
	/* The host backend: it measures what the library and daemon add to a
	 * copy; the CUDA backend's bar is the DMA engine (gpu_cuda.c). */
	unsetenv("KVFS_GPU_MAP");
	r = kvfs_gpu_open(&b->g, mnt, KVFS_GPU_HOST);
	if (r < 0)
		die("kvfs_gpu_open %s: %s (is it a kvfs mount?)", mnt,
		    strerror(-r));
	setenv("KVFS_GPU_MAP", "1", 1);	/* read once, by kvfs_gpu_open */
	r = kvfs_gpu_open(&b->gm, mnt, KVFS_GPU_HOST);
	unsetenv("KVFS_GPU_MAP");
	if (r < 0)
		die("kvfs_gpu_open %s: %s", mnt, strerror(-r));
	setup(b);
	round_once(b, -1);
	for (unsigned k = 0; k < b->repeat; k++)
		round_once(b, (int)k);
	if (json && !(jf = fopen(json, "w")))
		die("%s: %s", json, strerror(errno));
	report(b, jf);
	if (jf)
		fclose(jf);
	kvfs_gpu_close(b->g);
	kvfs_gpu_close(b->gm);
	cleanup();
	return 0;
}
