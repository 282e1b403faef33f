/*
 * gpu_io.c - drives libkvfs-gpu (host backend) against a real file for the
 * test_gpu_*.sh scripts.  Page data is stream SEED of the `pattern` helper
 * (byte p of the file is byte p of the stream), so `pattern SEED SIZE` is
 * the reference for cmp.
 *
 *   gpu_io write  FILE SEED NPAGES PAGE [BATCH]  NPAGES scattered pages, BATCH per
 *                                                pwritev (default 10), at offset 0
 *   gpu_io read   FILE SEED LEN PAGE             scatter LEN bytes into pages, check
 *   gpu_io mixed  FILE SEED                      fast path and write(2) on one file
 *   gpu_io async  FILE SEED NPAGES PAGE          several writes, then reads, in flight
 *   gpu_io fallback FILE SEED LEN                a file outside kvfs: counted fallback
 *   gpu_io attach MOUNT                          a context attached to the mount
 *   gpu_io info   PATH                           print the arena's path, size and mode
 *   gpu_io backend                               print the backend KVFS_GPU_AUTO picks
 *   gpu_io hang   FILE OFF LEN                   RESERVE, scribble, print "reserved",
 *                                                sleep until killed (no COMMIT)
 *
 * FILE may be fd:N, a descriptor the caller opened (for a test run as a user
 * who could not open the path).  Every command but hang, info and backend
 * prints "OK" and the context's counters, and exits 0;
 * a failure prints why and exits 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvfs_abi.h"
#include "kvfs_gpu.h"
#include "t_util.h"

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "gpu_io: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

/* buf[0, len) must be bytes [off, off + len) of stream seed. */
static void check(const unsigned char *buf, size_t len, uint64_t seed, uint64_t off,
		  const char *what)
{
	size_t i = t_pattern_diff(buf, len, seed, off);
	unsigned char want;

	if (i == len)
		return;
	t_pattern(&want, 1, seed, off + i);
	die("%s: byte %llu differs (got %u, want %u)", what, (unsigned long long)(off + i),
	    buf[i], want);
}

static uint64_t num(const char *s)
{
	uint64_t v;

	if (t_parse_size(s, &v) < 0)
		die("not a number: %s", s);
	return v;
}

static struct kvfs_gpu *ctx(void)
{
	struct kvfs_gpu *g;
	int r = kvfs_gpu_open(&g, NULL, KVFS_GPU_HOST);

	if (r < 0)
		die("kvfs_gpu_open: %s", strerror(-r));
	return g;
}

static void report(struct kvfs_gpu *g)
{
	struct kvfs_gpu_stats s;

	kvfs_gpu_get_stats(g, &s);
	printf("OK writes=%llu reads=%llu fast=%llu fallback=%llu fallback_bytes=%llu "
	       "copies=%llu ioctls=%llu arenas=%llu errors=%llu\n",
	       (unsigned long long)s.writes, (unsigned long long)s.reads,
	       (unsigned long long)s.fast, (unsigned long long)s.fallback,
	       (unsigned long long)s.fallback_bytes, (unsigned long long)s.copies,
	       (unsigned long long)s.ioctls, (unsigned long long)s.arenas,
	       (unsigned long long)s.errors);
}

static void expect_fast(struct kvfs_gpu *g)
{
	struct kvfs_gpu_stats s;

	kvfs_gpu_get_stats(g, &s);
	if (s.fallback || !s.fast || s.errors)
		die("expected the fast path only (fast=%llu fallback=%llu errors=%llu)",
		    (unsigned long long)s.fast, (unsigned long long)s.fallback,
		    (unsigned long long)s.errors);
}

/* npages pages of `page` bytes, placed in a pool twice as large in a
 * scrambled order, as a paged KV cache scatters them. */
struct pages {
	unsigned char *pool;
	struct iovec *iov;
	uint64_t n, page;
};

static void pages_make(struct pages *p, uint64_t n, uint64_t page)
{
	uint64_t *slot = malloc(2 * n * sizeof(*slot)), x = 12345, j, t;

	p->n = n;
	p->page = page;
	p->pool = malloc(2 * n * page);
	p->iov = calloc(n, sizeof(*p->iov));
	if (!p->pool || !p->iov || !slot)
		die("out of memory for %llu pages", (unsigned long long)n);
	/* A fixed shuffle of the pool's 2n slots; page i goes to slot[i]. */
	for (uint64_t i = 0; i < 2 * n; i++)
		slot[i] = i;
	for (uint64_t i = 2 * n - 1; i > 0; i--) {
		x = t_mix(x);
		j = x % (i + 1);
		t = slot[i];
		slot[i] = slot[j];
		slot[j] = t;
	}
	for (uint64_t i = 0; i < n; i++) {
		p->iov[i].iov_base = p->pool + slot[i] * page;
		p->iov[i].iov_len = page;
	}
	free(slot);
}

static void pages_free(struct pages *p)
{
	free(p->pool);
	free(p->iov);
}

/* FILE may be "fd:N", a descriptor inherited open (flags then unused). */
static int open_or_die(const char *path, int flags)
{
	int fd = strncmp(path, "fd:", 3) == 0 ? dup(atoi(path + 3))
					       : open(path, flags | O_CLOEXEC, 0644);

	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	return fd;
}

static int cmd_write(char **av, int ac)
{
	uint64_t seed = num(av[1]), n = num(av[2]), page = num(av[3]);
	uint64_t batch = ac > 4 ? num(av[4]) : 10;
	struct kvfs_gpu *g = ctx();
	struct pages p;
	int fd = open_or_die(av[0], O_CREAT | O_WRONLY | O_TRUNC);

	pages_make(&p, n, page);
	for (uint64_t i = 0; i < n; i++)
		t_pattern(p.iov[i].iov_base, page, seed, i * page);
	for (uint64_t i = 0; i < n; i += batch) {
		int cnt = (int)(n - i < batch ? n - i : batch);
		ssize_t r = cnt == 1
			? kvfs_gpu_pwrite(g, fd, p.iov[i].iov_base, page, i * page)
			: kvfs_gpu_pwritev(g, fd, &p.iov[i], cnt, i * page);

		if (r != (ssize_t)(cnt * page))
			die("kvfs_gpu_pwritev of pages %llu..: %s", (unsigned long long)i,
			    r < 0 ? strerror((int)-r) : "short");
	}
	if (close(fd) != 0)
		die("close: %s", strerror(errno));
	expect_fast(g);
	report(g);
	kvfs_gpu_close(g);
	pages_free(&p);
	return 0;
}

static int cmd_read(char **av)
{
	uint64_t seed = num(av[1]), len = num(av[2]), page = num(av[3]);
	uint64_t n = (len + page - 1) / page;
	struct kvfs_gpu *g = ctx();
	struct pages p;
	int fd = open_or_die(av[0], O_RDONLY);
	ssize_t r;

	pages_make(&p, n + 1, page);	/* one more page than the file fills */
	memset(p.pool, 0xee, 2 * (n + 1) * page);
	r = kvfs_gpu_preadv(g, fd, p.iov, (int)(n + 1), 0);
	if (r != (ssize_t)len)
		die("kvfs_gpu_preadv: %s (want %llu bytes, short only at EOF)",
		    r < 0 ? strerror((int)-r) : "wrong length", (unsigned long long)len);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t l = (i + 1) * page <= len ? page : len - i * page;

		check(p.iov[i].iov_base, l, seed, i * page, "fast-path read");
	}
	/* Past EOF: nothing. */
	r = kvfs_gpu_pread(g, fd, p.pool, page, len + page);
	if (r != 0)
		die("kvfs_gpu_pread past EOF returned %zd", r);
	close(fd);
	expect_fast(g);
	report(g);
	kvfs_gpu_close(g);
	pages_free(&p);
	return 0;
}

static void posix_pwrite(int fd, uint64_t seed, uint64_t off, size_t len)
{
	unsigned char *b = malloc(len);

	t_pattern(b, len, seed, off);
	if (pwrite(fd, b, len, (off_t)off) != (ssize_t)len)
		die("pwrite: %s", strerror(errno));
	free(b);
}

static void fast_pwrite(struct kvfs_gpu *g, int fd, uint64_t seed, uint64_t off,
			size_t len)
{
	unsigned char *b = malloc(len);
	ssize_t r;

	t_pattern(b, len, seed, off);
	r = kvfs_gpu_pwrite(g, fd, b, len, off);
	if (r != (ssize_t)len)
		die("kvfs_gpu_pwrite [%llu, +%zu): %s", (unsigned long long)off, len,
		    r < 0 ? strerror((int)-r) : "short");
	free(b);
}

/* Fast-path and POSIX writes interleaved, overlapping and unaligned, on
 * two descriptors of one file; read(2) must see the pattern throughout. */
static int cmd_mixed(char **av)
{
	uint64_t seed = num(av[1]), size = 9u << 20, off;
	struct kvfs_gpu *g = ctx();
	int fd = open_or_die(av[0], O_CREAT | O_RDWR | O_TRUNC);
	int fd2 = open_or_die(av[0], O_WRONLY);
	unsigned char *buf = malloc(size);
	ssize_t got;

	fast_pwrite(g, fd, seed, 0, 1u << 20);			/* append */
	posix_pwrite(fd2, seed, 1u << 20, 1u << 20);		/* append by write(2) */
	fast_pwrite(g, fd, seed, 3u << 20, 1u << 20);		/* past a hole */
	posix_pwrite(fd, seed, 2u << 20, 1u << 20);		/* fill the hole */
	fast_pwrite(g, fd, seed, 100, 5000);			/* overwrite in place, unaligned */
	posix_pwrite(fd2, seed, (4u << 20) + 77, (1u << 20) - 77);	/* append, unaligned */
	fast_pwrite(g, fd2, seed, (5u << 20) + 3, (4u << 20) - 3);	/* append, unaligned start */
	posix_pwrite(fd, seed, 5u << 20, 3);			/* the gap of 3 bytes */
	posix_pwrite(fd, seed, 4u << 20, 77);
	fast_pwrite(g, fd2, seed, (2u << 20) - 10, 20);		/* across units, in place */
	for (off = 0; off < size; off += (size_t)got) {
		got = pread(fd, buf + off, size - off, (off_t)off);
		if (got <= 0)
			die("read(2) at %llu: %s", (unsigned long long)off,
			    got < 0 ? strerror(errno) : "EOF too early");
	}
	check(buf, size, seed, 0, "read(2) after mixed writes");
	if (pread(fd, buf, 1, (off_t)size) != 0)
		die("the file is longer than %llu bytes", (unsigned long long)size);
	/* And the fast path reads what write(2) wrote. */
	memset(buf, 0, size);
	got = kvfs_gpu_pread(g, fd, buf, size, 0);
	if (got != (ssize_t)size)
		die("kvfs_gpu_pread: %s", got < 0 ? strerror((int)-got) : "short");
	check(buf, size, seed, 0, "fast-path read after mixed writes");
	close(fd2);
	close(fd);
	expect_fast(g);
	report(g);
	kvfs_gpu_close(g);
	free(buf);
	return 0;
}

static int cmd_async(char **av)
{
	uint64_t seed = num(av[1]), n = num(av[2]), page = num(av[3]);
	struct kvfs_gpu_io *io[8];
	struct kvfs_gpu *g = ctx();
	struct pages p;
	int fd = open_or_die(av[0], O_CREAT | O_RDWR | O_TRUNC);
	int r;

	if (n % 8)
		die("NPAGES must be a multiple of 8");
	pages_make(&p, n, page);
	for (uint64_t i = 0; i < n; i++)
		t_pattern(p.iov[i].iov_base, page, seed, i * page);
	for (uint64_t i = 0; i < n; i += 8) {
		for (int k = 0; k < 8; k++) {
			r = kvfs_gpu_pwrite_async(g, fd, p.iov[i + k].iov_base, page,
						  (i + k) * page, NULL, &io[k]);
			if (r < 0)
				die("kvfs_gpu_pwrite_async: %s", strerror(-r));
		}
		for (int k = 7; k >= 0; k--)	/* waited out of order */
			if (kvfs_gpu_wait(g, io[k]) != (ssize_t)page)
				die("kvfs_gpu_wait (write)");
	}
	memset(p.pool, 0, 2 * n * page);
	for (uint64_t i = 0; i < n; i += 4) {
		r = kvfs_gpu_preadv_async(g, fd, &p.iov[i], 4, i * page, NULL, &io[0]);
		if (r < 0)
			die("kvfs_gpu_preadv_async: %s", strerror(-r));
		if (kvfs_gpu_wait(g, io[0]) != (ssize_t)(4 * page))
			die("kvfs_gpu_wait (read)");
	}
	for (uint64_t i = 0; i < n; i++)
		check(p.iov[i].iov_base, page, seed, i * page, "async read");
	close(fd);
	expect_fast(g);
	report(g);
	kvfs_gpu_close(g);
	pages_free(&p);
	return 0;
}

/* A file outside kvfs: the same calls work, through pwrite/pread. */
static int cmd_fallback(char **av)
{
	uint64_t seed = num(av[1]), len = num(av[2]);
	struct kvfs_gpu *g = ctx();
	struct kvfs_gpu_stats s;
	unsigned char *b = malloc(len);
	int fd = open_or_die(av[0], O_CREAT | O_RDWR | O_TRUNC);
	ssize_t r;

	t_pattern(b, len, seed, 0);
	r = kvfs_gpu_pwrite(g, fd, b, len, 0);
	if (r != (ssize_t)len)
		die("kvfs_gpu_pwrite (fallback): %s", r < 0 ? strerror((int)-r) : "short");
	memset(b, 0, len);
	r = kvfs_gpu_pread(g, fd, b, len + 4096, 0);	/* short at EOF */
	if (r != (ssize_t)len)
		die("kvfs_gpu_pread (fallback): %zd", r);
	check(b, len, seed, 0, "fallback read");
	kvfs_gpu_get_stats(g, &s);
	if (s.fallback != 2 || s.fast != 0 || s.fallback_bytes != 2 * len)
		die("fallback not counted: fallback=%llu fast=%llu bytes=%llu",
		    (unsigned long long)s.fallback, (unsigned long long)s.fast,
		    (unsigned long long)s.fallback_bytes);
	close(fd);
	report(g);
	kvfs_gpu_close(g);
	free(b);
	return 0;
}

static int cmd_attach(char **av)
{
	struct kvfs_gpu *g;
	struct kvfs_gpu_stats s;
	int r = kvfs_gpu_open(&g, av[0], KVFS_GPU_HOST);

	if (r < 0) {
		printf("%s\n", strerror(-r));
		return 2;
	}
	kvfs_gpu_get_stats(g, &s);
	if (s.arenas != 1 || strcmp(kvfs_gpu_backend(g), "host") != 0)
		die("attach: arenas=%llu backend=%s", (unsigned long long)s.arenas,
		    kvfs_gpu_backend(g));
	report(g);
	kvfs_gpu_close(g);
	return 0;
}

static int cmd_info(char **av)
{
	struct kvfs_ioc_info info = { .version = KVFS_ABI_VERSION };
	int fd = open_or_die(av[0], O_RDONLY);
	struct stat st;

	if (ioctl(fd, KVFS_IOC_INFO, &info) != 0)
		die("INFO: %s", strerror(errno));
	if (stat(info.arena_path, &st) != 0)
		die("stat %s: %s", info.arena_path, strerror(errno));
	printf("%s %llu %o\n", info.arena_path, (unsigned long long)info.arena_size,
	       (unsigned)(st.st_mode & 07777));
	close(fd);
	return 0;
}

/* What kvfs_gpu_open(KVFS_GPU_AUTO) chose here: $KVFS_GPU_BACKEND, else
 * cuda where libcuda.so.1 loads and has a device, else host. */
static int cmd_backend(void)
{
	struct kvfs_gpu *g;
	int r = kvfs_gpu_open(&g, NULL, KVFS_GPU_AUTO);

	if (r < 0)
		die("kvfs_gpu_open(KVFS_GPU_AUTO): %s", strerror(-r));
	printf("%s\n", kvfs_gpu_backend(g));
	kvfs_gpu_close(g);
	return 0;
}

/* A client that dies between RESERVE and COMMIT. */
_Noreturn static void cmd_hang(char **av)
{
	struct kvfs_ioc_info info = { .version = KVFS_ABI_VERSION };
	struct kvfs_ioc_map *m = calloc(1, sizeof(*m));
	int fd = open_or_die(av[0], O_CREAT | O_RDWR), afd;
	char *arena;

	if (!m || ioctl(fd, KVFS_IOC_INFO, &info) != 0)
		die("INFO: %s", strerror(errno));
	afd = open_or_die(info.arena_path, O_RDWR);
	arena = mmap(NULL, info.arena_size, PROT_READ | PROT_WRITE, MAP_SHARED, afd, 0);
	if (arena == MAP_FAILED)
		die("mmap %s: %s", info.arena_path, strerror(errno));
	m->version = KVFS_ABI_VERSION;
	m->off = num(av[1]);
	m->len = num(av[2]);
	if (ioctl(fd, KVFS_IOC_RESERVE, m) != 0)
		die("RESERVE: %s", strerror(errno));
	for (uint32_t i = 0; i < m->count; i++)
		memset(arena + m->ext[i].aoff, 0x5a, m->ext[i].len);
	printf("reserved lease %llu, %u extents\n", (unsigned long long)m->lease, m->count);
	fflush(stdout);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	static const struct { const char *name; int args; } cmds[] = {
		{ "write", 4 }, { "read", 4 }, { "mixed", 2 }, { "async", 4 },
		{ "fallback", 3 }, { "attach", 1 }, { "info", 1 }, { "backend", 0 },
		{ "hang", 3 },
	};
	const char *c = argc > 1 ? argv[1] : "";
	size_t i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(c, cmds[i].name) == 0)
			break;
	if (i == sizeof(cmds) / sizeof(cmds[0]) || argc - 2 < cmds[i].args)
		die("usage: see the top of tests/integration/gpu_io.c");
	switch (i) {
	case 0: return cmd_write(argv + 2, argc - 2);
	case 1: return cmd_read(argv + 2);
	case 2: return cmd_mixed(argv + 2);
	case 3: return cmd_async(argv + 2);
	case 4: return cmd_fallback(argv + 2);
	case 5: return cmd_attach(argv + 2);
	case 6: return cmd_info(argv + 2);
	case 7: return cmd_backend();
	default: cmd_hang(argv + 2);
	}
}
