/*
 * gpu_io.c - drives libkvfs-gpu (host backend) against a real file for the
 * test_gpu_*.sh scripts.  Page data is stream SEED of the `pattern` helper
 * (byte p of the file is byte p of the stream), so `pattern SEED SIZE` is
 * the reference for cmp.
 *
 *   gpu_io write  FILE SEED NPAGES PAGE [BATCH]  NPAGES scattered pages, BATCH per
 *                                                pwritev (default 10), at offset 0
 *   gpu_io read   FILE SEED LEN PAGE             scatter LEN bytes into pages, check
 *   gpu_io mixed  FILE SEED                      library and write(2) on one file
 *   gpu_io async  FILE SEED NPAGES PAGE          several writes, then reads, in flight
 *   gpu_io grow   FILE SEED                      a file grown by odd-sized writes,
 *                                                read back after each; reads past EOF
 *   gpu_io repeat FILE SEED LEN ROUNDS           the same file written and read
 *                                                ROUNDS times: mapped (and
 *                                                registered) once
 *   gpu_io fallback FILE SEED LEN                a file outside kvfs: counted fallback
 *   gpu_io backend                               print the backend KVFS_GPU_AUTO picks
 *   gpu_io scribble FILE LEN                     write LEN bytes over and over, print
 *                                                "writing" after the first, until killed
 *
 * Which path the transfers on kvfs files must take: $GPU_IO_PATH (mapped or
 * fallback); by default mapped under KVFS_GPU_MAP=1, else fallback.  FILE may
 * be fd:N, a descriptor the caller opened.  Every command but backend and
 * scribble prints "OK" and the context's counters, and exits 0; a failure
 * prints why and exits 1.
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
	printf("OK writes=%llu reads=%llu mapped=%llu fallback=%llu fallback_bytes=%llu "
	       "copies=%llu ioctls=%llu maps=%llu registrations=%llu evictions=%llu "
	       "errors=%llu\n",
	       (unsigned long long)s.writes, (unsigned long long)s.reads,
	       (unsigned long long)s.mapped, (unsigned long long)s.fallback,
	       (unsigned long long)s.fallback_bytes, (unsigned long long)s.copies,
	       (unsigned long long)s.ioctls, (unsigned long long)s.maps,
	       (unsigned long long)s.registrations, (unsigned long long)s.evictions,
	       (unsigned long long)s.errors);
}

static int want_mapped(void)
{
	const char *p = getenv("GPU_IO_PATH"), *m = getenv("KVFS_GPU_MAP");

	if (p)
		return strcmp(p, "mapped") == 0;
	return m && strcmp(m, "1") == 0;
}

/* Every transfer took the path this run expects; every mapping made was
 * registered (the host backend's registration cannot fail; a mapping whose
 * file grew is registered again, so there may be more registrations). */
static void expect_path(struct kvfs_gpu *g)
{
	struct kvfs_gpu_stats s;
	int mapped = want_mapped();

	kvfs_gpu_get_stats(g, &s);
	if (s.errors || (mapped ? s.fallback || !s.mapped : s.mapped || !s.fallback))
		die("expected the %s path only (mapped=%llu fallback=%llu errors=%llu)",
		    mapped ? "mapped" : "fallback", (unsigned long long)s.mapped,
		    (unsigned long long)s.fallback, (unsigned long long)s.errors);
	if (s.registrations < s.maps || s.unregistered || (mapped && !s.maps) ||
	    (!mapped && s.maps))
		die("maps=%llu registrations=%llu unregistered=%llu",
		    (unsigned long long)s.maps, (unsigned long long)s.registrations,
		    (unsigned long long)s.unregistered);
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
	int fd = open_or_die(av[0], O_CREAT | O_RDWR | O_TRUNC);

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
	expect_path(g);
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

		check(p.iov[i].iov_base, l, seed, i * page, "library read");
	}
	/* Past EOF: nothing. */
	r = kvfs_gpu_pread(g, fd, p.pool, page, len + page);
	if (r != 0)
		die("kvfs_gpu_pread past EOF returned %zd", r);
	close(fd);
	expect_path(g);
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

/* Library and POSIX writes interleaved, overlapping and unaligned, on
 * two descriptors of one file; read(2) must see the pattern throughout. */
static int cmd_mixed(char **av)
{
	uint64_t seed = num(av[1]), size = 9u << 20, off;
	struct kvfs_gpu *g = ctx();
	int fd = open_or_die(av[0], O_CREAT | O_RDWR | O_TRUNC);
	int fd2 = open_or_die(av[0], O_RDWR);
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
	/* And the library reads what write(2) wrote. */
	memset(buf, 0, size);
	got = kvfs_gpu_pread(g, fd, buf, size, 0);
	if (got != (ssize_t)size)
		die("kvfs_gpu_pread: %s", got < 0 ? strerror((int)-got) : "short");
	check(buf, size, seed, 0, "library read after mixed writes");
	close(fd2);
	close(fd);
	expect_path(g);
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
	expect_path(g);
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
	if (s.fallback != 2 || s.mapped != 0 || s.maps != 0 || s.fallback_bytes != 2 * len)
		die("fallback not counted: fallback=%llu mapped=%llu bytes=%llu",
		    (unsigned long long)s.fallback, (unsigned long long)s.mapped,
		    (unsigned long long)s.fallback_bytes);
	close(fd);
	report(g);
	kvfs_gpu_close(g);
	free(b);
	return 0;
}

/* Reads [off, off + len) of fd with the library and with pread(2); both
 * must be the pattern, and short exactly at EOF `size`. */
static void read_both(struct kvfs_gpu *g, int fd, uint64_t seed, uint64_t off, size_t len,
		      uint64_t size, unsigned char *buf)
{
	size_t want = off >= size ? 0 : size - off < len ? (size_t)(size - off) : len;
	ssize_t r;

	memset(buf, 0xee, len);
	r = kvfs_gpu_pread(g, fd, buf, len, off);
	if (r != (ssize_t)want)
		die("kvfs_gpu_pread [%llu, +%zu) of a %llu-byte file: %zd, want %zu",
		    (unsigned long long)off, len, (unsigned long long)size, r, want);
	check(buf, want, seed, off, "library read");
	memset(buf, 0xee, len);
	r = pread(fd, buf, len, (off_t)off);
	if (r != (ssize_t)want)
		die("pread [%llu, +%zu): %zd, want %zu", (unsigned long long)off, len, r, want);
	check(buf, want, seed, off, "read(2)");
}

/* Grows a file by writes of sizes that are no multiple of a page, some
 * leaving a hole that a later write fills; after each, the whole file and
 * a range across EOF read back right through both paths. */
static int cmd_grow(char **av)
{
	static const struct { uint64_t off, len; } w[] = {
		{ 0, 4097 }, { 4097, 12345 }, { 16442, 1 }, { 16443, (1u << 20) + 3 },
		{ (3u << 20) + 5, 777 },		/* past a hole ... */
		{ (1u << 20) + 16446, (2u << 20) - 16441 },	/* ... filled */
		{ (3u << 20) + 782, (5u << 20) - 782 },	/* across 2 MiB boundaries */
		{ 100, 200 },				/* in place, inside */
	};
	uint64_t seed = num(av[1]), size = 0, hole_from = 0, hole_to = 0;
	struct kvfs_gpu *g = ctx();
	int fd = open_or_die(av[0], O_CREAT | O_RDWR | O_TRUNC);
	unsigned char *buf = malloc(9u << 20);
	struct stat st;

	if (!buf)
		die("out of memory");
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		fast_pwrite(g, fd, seed, w[i].off, w[i].len);
		if (w[i].off > size) {
			hole_from = size;
			hole_to = w[i].off;
		} else if (w[i].off <= hole_from && w[i].off + w[i].len >= hole_to) {
			hole_from = hole_to = 0;
		}
		if (w[i].off + w[i].len > size)
			size = w[i].off + w[i].len;
		if (hole_to > hole_from) {	/* zeros until filled */
			size_t n = (size_t)(hole_to - hole_from);

			if (kvfs_gpu_pread(g, fd, buf, n, hole_from) != (ssize_t)n)
				die("kvfs_gpu_pread of the hole");
			for (size_t k = 0; k < n; k++)
				if (buf[k])
					die("hole byte %llu is %u", (unsigned long long)(hole_from + k),
					    buf[k]);
			continue;
		}
		read_both(g, fd, seed, 0, (size_t)size, size, buf);
		read_both(g, fd, seed, size - 1000, 5000, size, buf);	/* short at EOF */
		read_both(g, fd, seed, size, 4096, size, buf);		/* at EOF: 0 */
		read_both(g, fd, seed, size + 8192, 4096, size, buf);	/* past EOF: 0 */
	}
	if (fstat(fd, &st) != 0 || (uint64_t)st.st_size != size)
		die("size %llu, want %llu", (unsigned long long)st.st_size,
		    (unsigned long long)size);
	close(fd);
	expect_path(g);
	report(g);
	kvfs_gpu_close(g);
	free(buf);
	return 0;
}

/* One file written and read ROUNDS times: mapped once, registered once. */
static int cmd_repeat(char **av)
{
	uint64_t seed = num(av[1]), len = num(av[2]), rounds = num(av[3]);
	struct kvfs_gpu *g = ctx();
	struct kvfs_gpu_stats s;
	unsigned char *buf = malloc(len);
	int fd;

	if (!buf)
		die("out of memory");
	fd = open_or_die(av[0], O_CREAT | O_RDWR | O_TRUNC);
	if (ftruncate(fd, (off_t)len) != 0)	/* sized first: one mapping */
		die("ftruncate: %s", strerror(errno));
	close(fd);
	for (uint64_t i = 0; i < rounds; i++) {
		fd = open_or_die(av[0], O_RDWR);	/* a new descriptor each round */
		fast_pwrite(g, fd, seed + i, 0, len);
		memset(buf, 0, len);
		if (kvfs_gpu_pread(g, fd, buf, len, 0) != (ssize_t)len)
			die("kvfs_gpu_pread, round %llu", (unsigned long long)i);
		check(buf, len, seed + i, 0, "repeated read");
		close(fd);
	}
	expect_path(g);
	kvfs_gpu_get_stats(g, &s);
	if (want_mapped() && (s.maps != 1 || s.registrations != 1))
		die("%llu rounds made %llu mappings and %llu registrations, want 1 each",
		    (unsigned long long)rounds, (unsigned long long)s.maps,
		    (unsigned long long)s.registrations);
	report(g);
	kvfs_gpu_close(g);
	free(buf);
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

/* A client killed while it writes. */
_Noreturn static void cmd_scribble(char **av)
{
	uint64_t len = num(av[1]);
	unsigned char *b = malloc(len);
	struct kvfs_gpu *g = ctx();
	int fd = open_or_die(av[0], O_CREAT | O_RDWR);

	if (!b)
		die("out of memory");
	for (uint64_t i = 0;; i++) {
		memset(b, (int)(i & 0xff), len);
		if (kvfs_gpu_pwrite(g, fd, b, len, 0) != (ssize_t)len)
			die("kvfs_gpu_pwrite");
		if (i == 0) {
			expect_path(g);
			printf("writing\n");
			fflush(stdout);
		}
	}
}

int main(int argc, char **argv)
{
	static const struct { const char *name; int args; } cmds[] = {
		{ "write", 4 }, { "read", 4 }, { "mixed", 2 }, { "async", 4 },
		{ "grow", 2 }, { "repeat", 4 }, { "fallback", 3 }, { "backend", 0 },
		{ "scribble", 2 },
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
	case 4: return cmd_grow(argv + 2);
	case 5: return cmd_repeat(argv + 2);
	case 6: return cmd_fallback(argv + 2);
	case 7: return cmd_backend();
	default: cmd_scribble(argv + 2);
	}
}
