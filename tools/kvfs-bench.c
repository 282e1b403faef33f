/*
 * kvfs-bench.c - the benchmark driver behind `make bench` (tools/bench.sh).
 *
 * Runs the same measurements, in one process and one run, on every target
 * directory given as LABEL=DIR, next to a single-thread memcpy (the staged
 * copy kvfs exists to remove):
 *   (a) one file (256 MiB) written with 1 MiB write()s, timed through close()
 *       because kvfs publishes at close, then dropped from caches where the
 *       filesystem allows it and read back with 1 MiB read()s;
 *   (b) SGLang HiCache pages: 500 files of 8 MiB, each written to
 *       <64 hex>.bin.tmp.<pid> and renamed to <64 hex>.bin, 1000 stat()
 *       probes of which half miss (ENOENT), and each page read back with
 *       open + fstat + ONE read() of the whole file;
 *   (c) memcpy of a pre-faulted 256 MiB buffer, and for context how fast
 *       fresh anonymous pages can be touched (what tmpfs and the page cache
 *       pay per new page; a prefaulted arena does not).
 * Nothing calls fsync.  Every measurement is repeated (--repeat, default 3;
 * target order rotates per repetition) and the median is reported.  Before
 * each timed phase the driver waits for the machine to go quiet (--settle),
 * and it measures how much CPU anything else used during each phase, so a
 * run disturbed by other work is flagged rather than believed.  Targets
 * labelled kvfs* are compared with the targets labelled tmpfs and disk, and
 * with memcpy, against the goals of the issue.  Every block read back is
 * checked against stamps written into it, so a broken filesystem fails the
 * run instead of producing a number.  Single-threaded; dies on any
 * unexpected error after removing the files it created.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mntent.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define MIB			(1024UL * 1024UL)
#define KVFS_BENCH_IO		MIB		/* (a) request size */
#define KVFS_BENCH_STAMP	16		/* bytes of one stamp */
#define KVFS_BENCH_MAGIC	0x6b7666732d62656eULL	/* "kvfs-ben" */
#define KVFS_BENCH_MAX_TARGETS	8
#define KVFS_BENCH_MAX_REPEAT	64
#define KVFS_BENCH_MAX_META	16
#define KVFS_BENCH_OTHER_WARN	0.25	/* of one CPU, see cpu_other() */

enum metric {
	M_A_WRITE, M_A_READ,
	M_B_WRITE, M_B_WRITE_MB, M_B_PROBE, M_B_PROBE_AGAIN,
	M_B_READ, M_B_READ_MB, M_B_READ_WARM, M_B_READ_WARM_MB,
	M_B_TOTAL,
	M_NR
};

static const struct {
	const char *key;	/* JSON name */
	const char *row;	/* table row */
} metric_info[M_NR] = {
	[M_A_WRITE]        = { "a_write_mbps",            "(a) seq write MB/s" },
	[M_A_READ]         = { "a_read_mbps",             "(a) seq read MB/s" },
	[M_B_WRITE]        = { "b_write_files_per_s",     "(b) write+rename files/s" },
	[M_B_WRITE_MB]     = { "b_write_mbps",            "(b) write+rename MB/s" },
	[M_B_PROBE]        = { "b_probes_per_s",          "(b) stat probes/s" },
	[M_B_PROBE_AGAIN]  = { "b_probes_again_per_s",    "(b) same probes again/s" },
	[M_B_READ]         = { "b_read_files_per_s",      "(b) read files/s" },
	[M_B_READ_MB]      = { "b_read_mbps",             "(b) read MB/s" },
	[M_B_READ_WARM]    = { "b_read_warm_files_per_s", "(b) read files/s, warm" },
	[M_B_READ_WARM_MB] = { "b_read_warm_mbps",        "(b) read MB/s, warm" },
	[M_B_TOTAL]        = { "b_total_files_per_s",     "(b) all files/s" },
};

/* Ratios of medians, kvfs* targets over a base ("memcpy" or a label). */
static const struct ratio_def {
	const char *name;
	enum metric m;
	const char *base;
	double goal;		/* 0: shown for information, no goal */
} ratio_defs[] = {
	{ "a_write_vs_memcpy",     M_A_WRITE,     "memcpy", 0.30 },
	{ "a_write_vs_tmpfs",      M_A_WRITE,     "tmpfs",  2.00 },
	{ "a_read_vs_memcpy",      M_A_READ,      "memcpy", 0.35 },
	{ "a_read_vs_tmpfs",       M_A_READ,      "tmpfs",  0 },
	{ "b_total_vs_disk",       M_B_TOTAL,     "disk",   1.20 },
	{ "b_write_vs_disk",       M_B_WRITE,     "disk",   1.20 },
	{ "b_probes_vs_disk",      M_B_PROBE,     "disk",   1.20 },
	{ "b_probes_again_vs_disk", M_B_PROBE_AGAIN, "disk", 1.20 },
	{ "b_read_vs_disk",        M_B_READ,      "disk",   1.20 },
	{ "b_read_warm_vs_disk",   M_B_READ_WARM, "disk",   1.20 },
};
#define NR_RATIOS (sizeof(ratio_defs) / sizeof(ratio_defs[0]))

struct target {
	const char *label;
	char path[PATH_MAX];		/* realpath of the directory */
	char work[PATH_MAX];		/* path/kvfs-bench.<pid>, ours */
	char fstype[64];
	double m[M_NR][KVFS_BENCH_MAX_REPEAT];
	double other[KVFS_BENCH_MAX_REPEAT];	/* see cpu_other() */
	double steal[KVFS_BENCH_MAX_REPEAT];
};

/* CPU ticks (USER_HZ) so far: all CPUs running, stolen, this process, the daemon. */
struct cpu_mark {
	unsigned long long run, steal, self, watched;
	double t;
};

struct bench {
	size_t a_size;			/* (a) file size */
	size_t b_size;			/* (b) file size */
	unsigned b_files;
	unsigned probes;
	unsigned repeat;
	double settle;			/* seconds of quiet before each timed phase */
	long watch_pid;			/* the kvfs daemon, 0 if not given */
	unsigned retries;		/* of a disturbed phase, see run_measured() */
	unsigned remeasured;		/* phases measured again */
	const char *json;
	const char *meta[KVFS_BENCH_MAX_META];	/* KEY=VALUE for the JSON */
	unsigned nmeta;
	struct target t[KVFS_BENCH_MAX_TARGETS];
	unsigned nt;
	double memcpy_mbps[KVFS_BENCH_MAX_REPEAT];
	double touch_mbps[KVFS_BENCH_MAX_REPEAT];	/* first touch of fresh pages */
	size_t memcpy_size;
	char *wbuf;			/* write source, max(IO, b_size) */
	char *rbuf;			/* read destination, same size */
	char **probe_path;		/* (b) probes, rebuilt per run */
	uint64_t seq;			/* makes every run's data and names unique */
};

/* The one global: what die() must remove (tools may die, STYLE.md). */
static struct bench *cleanup_bench;

static void remove_work(struct target *t);
static double median(const double *v, unsigned n);

static _Noreturn void die(const char *fmt, ...)
{
	static bool dying;
	va_list ap;

	fputs("kvfs-bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (cleanup_bench && !dying) {
		dying = true;
		for (unsigned i = 0; i < cleanup_bench->nt; i++)
			remove_work(&cleanup_bench->t[i]);
	}
	exit(1);
}

static void *xmalloc(size_t n)
{
	void *p = NULL;

	/* 2 MiB alignment lets THP back the big buffers where it is enabled. */
	if (posix_memalign(&p, n >= 2 * MIB ? 2 * MIB : 4096, n))
		die("out of memory allocating %zu bytes", n);
	return p;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* splitmix64: the data pattern, the stamps and the file names. */
static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/*
 * Stamps: 16 bytes at the start and at the end of every 1 MiB block of a
 * file, derived from the run's tag and the block's file offset.  A block
 * from another file, another run, another offset, or zeros fails the check.
 */
static void stamp_at(char *p, uint64_t tag, uint64_t off)
{
	uint64_t s[2] = { KVFS_BENCH_MAGIC ^ off, mix64(tag ^ mix64(off)) };

	memcpy(p, s, sizeof(s));
}

static bool stamp_ok(const char *p, uint64_t tag, uint64_t off)
{
	uint64_t s[2] = { KVFS_BENCH_MAGIC ^ off, mix64(tag ^ mix64(off)) };

	return memcmp(p, s, sizeof(s)) == 0;
}

/* Stamps buf[0..len), which holds file bytes [off, off + len). */
static void stamp_range(char *buf, size_t len, uint64_t off, uint64_t tag)
{
	for (size_t b = 0; b < len; b += MIB) {
		size_t n = len - b < MIB ? len - b : MIB;

		stamp_at(buf + b, tag, off + b);
		stamp_at(buf + b + n - KVFS_BENCH_STAMP, tag, off + b + n - KVFS_BENCH_STAMP);
	}
}

static void check_range(const char *buf, size_t len, uint64_t off, uint64_t tag,
			const char *path)
{
	for (size_t b = 0; b < len; b += MIB) {
		size_t n = len - b < MIB ? len - b : MIB;
		uint64_t end = off + b + n - KVFS_BENCH_STAMP;

		if (!stamp_ok(buf + b, tag, off + b) ||
		    !stamp_ok(buf + b + n - KVFS_BENCH_STAMP, tag, end))
			die("%s: wrong data in the block at offset %llu: the filesystem "
			    "returned bytes that were not written there",
			    path, (unsigned long long)(off + b));
	}
}

static void write_full(int fd, const char *buf, size_t len, const char *path)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("write %s: %s", path, n < 0 ? strerror(errno) : "wrote 0 bytes");
		buf += n;
		len -= (size_t)n;
	}
}

/* Reads up to len bytes; returns fewer only at end of file. */
static size_t read_full(int fd, char *buf, size_t len, const char *path)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("read %s: %s", path, strerror(errno));
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return done;
}

static void close_or_die(int fd, const char *path)
{
	if (close(fd) < 0)
		die("close %s: %s", path, strerror(errno));
}

/*
 * Drops a file from the caches where the filesystem allows it: writes dirty
 * pages back (data only, not the fsync the measurement avoids) so that
 * POSIX_FADV_DONTNEED can drop them.  Untimed.  tmpfs keeps its pages (they
 * are the file); kvfs with direct I/O has none to drop.
 */
static void drop_cache(const char *path)
{
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	(void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE |
			      SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
}

/*
 * Ticks of all CPUs so far, from /proc/stat: run (user, nice, system, irq,
 * softirq), steal (the hypervisor ran something else, or backed guest memory
 * the guest just touched) and the total including idle and iowait.
 */
static void cpu_jiffies(unsigned long long *run, unsigned long long *steal,
			unsigned long long *total)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");

	if (!f || fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
			 &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) != 8)
		v[3] = 1;
	if (f)
		fclose(f);
	*run = v[0] + v[1] + v[2] + v[5] + v[6];
	*steal = v[7];
	*total = *run + v[3] + v[4] + v[7];
}

/*
 * Untimed, before every timed phase: wait --settle seconds, then until the
 * CPUs are at least 90% idle over 250 ms (10 s at most).  On a 2-CPU VM the
 * last phase's aftermath (writeback, discards, the guest returning freed
 * pages to the host, which it does 2 s after they are freed) would
 * otherwise land in whichever measurement comes next.
 */
static void quiet(const struct bench *b)
{
	struct timespec ts = { (time_t)b->settle, (long)((b->settle - (time_t)b->settle) * 1e9) };
	struct timespec step = { 0, 250000000 };
	unsigned long long b0, s0, t0, b1, s1, t1;
	double start;

	if (b->settle <= 0)
		return;
	nanosleep(&ts, NULL);
	start = now();
	do {
		cpu_jiffies(&b0, &s0, &t0);
		nanosleep(&step, NULL);
		cpu_jiffies(&b1, &s1, &t1);
	} while (t1 > t0 && (b1 + s1 - b0 - s0) * 10 > t1 - t0 && now() - start < 10);
}

/* utime + stime of a process (all its threads), 0 if it cannot be read. */
static unsigned long long task_ticks(const char *stat_path)
{
	unsigned long long ut = 0, st = 0;
	char line[1024], *p;
	FILE *f = fopen(stat_path, "r");

	if (!f)
		return 0;
	p = fgets(line, sizeof(line), f) ? strrchr(line, ')') : NULL;
	/* after "pid (comm)": state ppid pgrp session tty tpgid flags minflt
	 * cminflt majflt cmajflt utime stime */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &ut, &st) != 2)
		ut = st = 0;
	fclose(f);
	return ut + st;
}

static void cpu_mark(const struct bench *b, struct cpu_mark *m)
{
	unsigned long long total;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%ld/stat", b->watch_pid);
	m->t = now();
	cpu_jiffies(&m->run, &m->steal, &total);
	m->self = task_ticks("/proc/self/stat");
	m->watched = b->watch_pid ? task_ticks(path) : 0;
}

/*
 * The share of one CPU that everything except this process and the daemon
 * used since m0: other processes, but also kernel threads, so writeback
 * and discards of the disk target count too.  On 2 CPUs, a competitor
 * using one of them halves what a FUSE filesystem (client + daemon) gets;
 * such runs are flagged.  Steal is kept apart: in a VM it is mostly the host
 * backing guest pages touched for the first time.  Records the maxima per
 * target and repetition.
 */
static void cpu_other(const struct bench *b, const struct cpu_mark *m0, struct target *t,
		      unsigned rep)
{
	struct cpu_mark m1;
	double ticks, v;

	cpu_mark(b, &m1);
	double hz = (double)sysconf(_SC_CLK_TCK), dt = m1.t - m0->t;

	/* CPU time is sampled per tick: forgive 2 ticks per CPU, which on a
	 * 50 ms phase would otherwise read as a neighbour using 40% of a CPU. */
	ticks = (double)(m1.run - m0->run) - (double)(m1.self - m0->self) -
		(double)(m1.watched - m0->watched) - 2.0 * sysconf(_SC_NPROCESSORS_ONLN);
	v = ticks < 0 ? 0 : ticks / hz / dt;
	t->other[rep] = v > t->other[rep] ? v : t->other[rep];
	v = (double)(m1.steal - m0->steal) / hz / dt;
	t->steal[rep] = v > t->steal[rep] ? v : t->steal[rep];
}

/* Untimed: finish the previous phase's writeback, let the machine go quiet. */
static void settle(const struct bench *b, const struct target *t)
{
	int fd = open(t->work, O_RDONLY | O_DIRECTORY);

	if (fd < 0)
		die("open %s: %s", t->work, strerror(errno));
	(void)syncfs(fd);
	close(fd);
	quiet(b);
}

static void xunlink(const char *path)
{
	if (unlink(path) < 0)
		die("unlink %s: %s", path, strerror(errno));
}

/* ---- (c) memcpy ------------------------------------------------------- */

/* The median of 5 copies: one copy is ~30 ms, easily hit by a host hiccup. */
static double run_memcpy(struct bench *b, char *src, char *dst)
{
	static volatile char sink;
	double v[5];

	for (int i = 0; i < 5; i++) {
		double t0 = now();

		memcpy(dst, src, b->memcpy_size);
		v[i] = b->memcpy_size / 1e6 / (now() - t0);
		sink = dst[b->memcpy_size / 2 + (size_t)i];
	}
	(void)sink;
	return median(v, 5);
}

/*
 * Machine context: how fast the kernel hands out fresh pages (fault + zero;
 * in a VM whose host reclaims free guest memory, a host fault too).  tmpfs
 * and the page cache pay this per new page; a prefaulted arena does not.
 */
static double run_touch(struct bench *b)
{
	double t0 = now();
	char *p = mmap(NULL, b->memcpy_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap %zu bytes: %s", b->memcpy_size, strerror(errno));
	for (size_t off = 0; off < b->memcpy_size; off += 4096)
		p[off] = 1;
	double dt = now() - t0;

	munmap(p, b->memcpy_size);
	return b->memcpy_size / 1e6 / dt;
}

/* ---- (a) one big file ------------------------------------------------- */

static double a_write(struct bench *b, const char *path, uint64_t tag)
{
	double t0 = now();
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);

	if (fd < 0)
		die("create %s: %s", path, strerror(errno));
	for (size_t off = 0; off < b->a_size; off += KVFS_BENCH_IO) {
		size_t n = b->a_size - off < KVFS_BENCH_IO ? b->a_size - off : KVFS_BENCH_IO;

		stamp_range(b->wbuf, n, off, tag);
		write_full(fd, b->wbuf, n, path);
	}
	close_or_die(fd, path);
	return b->a_size / 1e6 / (now() - t0);
}

static double a_read(struct bench *b, const char *path, uint64_t tag)
{
	double t0 = now();
	size_t off = 0, n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	while ((n = read_full(fd, b->rbuf, KVFS_BENCH_IO, path)) > 0) {
		if (off + n > b->a_size)
			die("%s: longer than the %zu bytes written", path, b->a_size);
		check_range(b->rbuf, n, off, tag, path);
		off += n;
	}
	close_or_die(fd, path);
	double dt = now() - t0;

	if (off != b->a_size)
		die("%s: read %zu bytes back, wrote %zu", path, off, b->a_size);
	return b->a_size / 1e6 / dt;
}

static void run_a(struct bench *b, struct target *t, unsigned rep)
{
	char path[PATH_MAX + 32];
	uint64_t tag = ++b->seq;

	struct cpu_mark c;

	snprintf(path, sizeof(path), "%s/seq.bin", t->work);
	settle(b, t);
	cpu_mark(b, &c);
	t->m[M_A_WRITE][rep] = a_write(b, path, tag);
	cpu_other(b, &c, t, rep);
	drop_cache(path);
	settle(b, t);
	cpu_mark(b, &c);
	t->m[M_A_READ][rep] = a_read(b, path, tag);
	cpu_other(b, &c, t, rep);
	xunlink(path);
	fprintf(stderr, "  %-8s (a) write %8.0f MB/s  read %8.0f MB/s; other CPU %.0f%%, "
		"steal %.0f%%\n", t->label, t->m[M_A_WRITE][rep], t->m[M_A_READ][rep],
		100 * t->other[rep], 100 * t->steal[rep]);
}

/* ---- (b) HiCache pages ------------------------------------------------ */

/* <work>/<64 hex of a 256-bit name derived from seq and i><suffix> */
static void page_path(char *out, size_t size, const struct target *t, uint64_t seq,
		      unsigned i, const char *suffix)
{
	uint64_t h = mix64(seq * 0x100000001b3ULL + i);
	uint64_t w[4] = { h, mix64(h ^ 1), mix64(h ^ 2), mix64(h ^ 3) };

	snprintf(out, size, "%s/%016llx%016llx%016llx%016llx.bin%s", t->work,
		 (unsigned long long)w[0], (unsigned long long)w[1],
		 (unsigned long long)w[2], (unsigned long long)w[3], suffix);
}

static double b_write(struct bench *b, struct target *t, uint64_t seq)
{
	char tmp[PATH_MAX + 128], fin[PATH_MAX + 128], suffix[32];
	double t0 = now();

	snprintf(suffix, sizeof(suffix), ".tmp.%ld", (long)getpid());
	for (unsigned i = 0; i < b->b_files; i++) {
		page_path(tmp, sizeof(tmp), t, seq, i, suffix);
		page_path(fin, sizeof(fin), t, seq, i, "");
		int fd = open(tmp, O_CREAT | O_TRUNC | O_WRONLY, 0644);

		if (fd < 0)
			die("create %s: %s", tmp, strerror(errno));
		stamp_range(b->wbuf, b->b_size, 0, seq << 32 | i);
		write_full(fd, b->wbuf, b->b_size, tmp);
		close_or_die(fd, tmp);
		if (rename(tmp, fin) < 0)
			die("rename %s -> %s: %s", tmp, fin, strerror(errno));
	}
	return b->b_files / (now() - t0);
}

/* Probe k looks up page k/2 (present) for even k, a never-written name for odd k. */
static void b_probe_paths(struct bench *b, struct target *t, uint64_t seq)
{
	char path[PATH_MAX + 128];

	for (unsigned k = 0; k < b->probes; k++) {
		if (k % 2 == 0)
			page_path(path, sizeof(path), t, seq, (k / 2) % b->b_files, "");
		else
			page_path(path, sizeof(path), t, seq, b->b_files + k / 2, "");
		free(b->probe_path[k]);
		b->probe_path[k] = strdup(path);
		if (!b->probe_path[k])
			die("out of memory");
	}
}

static double b_probe(struct bench *b)
{
	struct stat st;
	double t0 = now();

	for (unsigned k = 0; k < b->probes; k++) {
		int rc = stat(b->probe_path[k], &st);

		if (k % 2 == 0 && rc < 0)
			die("stat %s: %s (the page was written)", b->probe_path[k],
			    strerror(errno));
		if (k % 2 == 0 && (size_t)st.st_size != b->b_size)
			die("stat %s: size %lld, wrote %zu", b->probe_path[k],
			    (long long)st.st_size, b->b_size);
		if (k % 2 == 1 && (rc == 0 || errno != ENOENT))
			die("stat %s: %s (the name was never written; want ENOENT)",
			    b->probe_path[k], rc == 0 ? "found" : strerror(errno));
	}
	return b->probes / (now() - t0);
}

/* HiCache's read: open, fstat, ONE read() of the whole file, never short. */
static double b_read(struct bench *b, struct target *t, uint64_t seq)
{
	char path[PATH_MAX + 128];
	struct stat st;
	double t0 = now();

	for (unsigned i = 0; i < b->b_files; i++) {
		page_path(path, sizeof(path), t, seq, i, "");
		int fd = open(path, O_RDONLY);

		if (fd < 0)
			die("open %s: %s", path, strerror(errno));
		if (fstat(fd, &st) < 0)
			die("fstat %s: %s", path, strerror(errno));
		if ((size_t)st.st_size != b->b_size)
			die("fstat %s: size %lld, wrote %zu", path, (long long)st.st_size,
			    b->b_size);
		ssize_t n = read(fd, b->rbuf, (size_t)st.st_size);

		if (n < 0)
			die("read %s: %s", path, strerror(errno));
		if (n != st.st_size)
			die("read %s: short read, %zd of %lld bytes in one read()", path, n,
			    (long long)st.st_size);
		check_range(b->rbuf, b->b_size, 0, seq << 32 | i, path);
		close_or_die(fd, path);
	}
	return b->b_files / (now() - t0);
}

static void b_for_each(struct bench *b, struct target *t, uint64_t seq,
		       void (*fn)(const char *))
{
	char path[PATH_MAX + 128];

	for (unsigned i = 0; i < b->b_files; i++) {
		page_path(path, sizeof(path), t, seq, i, "");
		fn(path);
	}
}

static void unlink_page(const char *path)
{
	xunlink(path);
}

static void run_b(struct bench *b, struct target *t, unsigned rep)
{
	double mb = b->b_size / 1e6, tw, tp, tr;
	uint64_t seq = ++b->seq;
	double (*m)[KVFS_BENCH_MAX_REPEAT] = t->m;
	struct cpu_mark c;

	b_probe_paths(b, t, seq);
	settle(b, t);
	cpu_mark(b, &c);
	m[M_B_WRITE][rep] = b_write(b, t, seq);
	m[M_B_PROBE][rep] = b_probe(b);
	m[M_B_PROBE_AGAIN][rep] = b_probe(b);	/* what the kernel caches */
	m[M_B_READ_WARM][rep] = b_read(b, t, seq);
	cpu_other(b, &c, t, rep);
	b_for_each(b, t, seq, drop_cache);
	settle(b, t);
	cpu_mark(b, &c);
	m[M_B_READ][rep] = b_read(b, t, seq);
	cpu_other(b, &c, t, rep);
	b_for_each(b, t, seq, unlink_page);

	m[M_B_WRITE_MB][rep] = m[M_B_WRITE][rep] * mb;
	m[M_B_READ_MB][rep] = m[M_B_READ][rep] * mb;
	m[M_B_READ_WARM_MB][rep] = m[M_B_READ_WARM][rep] * mb;
	tw = b->b_files / m[M_B_WRITE][rep];
	tp = b->probes / m[M_B_PROBE][rep];
	tr = b->b_files / m[M_B_READ][rep];
	m[M_B_TOTAL][rep] = b->b_files / (tw + tp + tr);
	fprintf(stderr, "  %-8s (b) write %6.0f files/s  probe %7.0f /s (again %7.0f)  read "
		"%6.0f files/s (warm %6.0f); other CPU %.0f%%, steal %.0f%%\n", t->label,
		m[M_B_WRITE][rep], m[M_B_PROBE][rep], m[M_B_PROBE_AGAIN][rep], m[M_B_READ][rep],
		m[M_B_READ_WARM][rep], 100 * t->other[rep], 100 * t->steal[rep]);
}

/*
 * Runs phase (a) or (b) of one target again, --retries times at most, while
 * something else used more than KVFS_BENCH_OTHER_WARN of a CPU during it:
 * on 2 CPUs a busy neighbour halves what client + daemon get.  The last
 * attempt stands and stays flagged in the table if it was disturbed too.
 */
static void run_measured(struct bench *b, struct target *t, unsigned rep,
			 void (*phase)(struct bench *, struct target *, unsigned))
{
	double other = t->other[rep], steal = t->steal[rep];

	for (unsigned attempt = 0;; attempt++) {
		t->other[rep] = 0;
		t->steal[rep] = 0;
		phase(b, t, rep);
		if (t->other[rep] <= KVFS_BENCH_OTHER_WARN || attempt == b->retries)
			break;
		fprintf(stderr, "  %-8s disturbed (something else used %.0f%% of a CPU): "
			"measuring again\n", t->label, 100 * t->other[rep]);
		b->remeasured++;
	}
	t->other[rep] = t->other[rep] > other ? t->other[rep] : other;
	t->steal[rep] = t->steal[rep] > steal ? t->steal[rep] : steal;
}

/* ---- targets ------------------------------------------------------------ */

/* The filesystem type of the mount holding path (longest mount-point prefix). */
static void find_fstype(struct target *t)
{
	FILE *f = setmntent("/proc/mounts", "r");
	struct mntent *me;
	size_t best = 0;

	snprintf(t->fstype, sizeof(t->fstype), "unknown");
	if (!f)
		return;
	while ((me = getmntent(f))) {
		size_t n = strlen(me->mnt_dir);

		if (strncmp(t->path, me->mnt_dir, n) != 0)
			continue;
		if (t->path[n] != '/' && t->path[n] != '\0' && strcmp(me->mnt_dir, "/") != 0)
			continue;
		if (n >= best) {
			best = n;
			snprintf(t->fstype, sizeof(t->fstype), "%s", me->mnt_type);
		}
	}
	endmntent(f);
}

static bool is_kvfs(const struct target *t)
{
	return strncmp(t->label, "kvfs", 4) == 0;
}

static void add_target(struct bench *b, char *arg)
{
	char *eq = strchr(arg, '=');
	struct target *t;

	if (!eq || eq == arg || !eq[1])
		die("'%s' is not LABEL=DIR", arg);
	if (b->nt == KVFS_BENCH_MAX_TARGETS)
		die("at most %d targets", KVFS_BENCH_MAX_TARGETS);
	t = &b->t[b->nt];
	*eq = '\0';
	t->label = arg;
	if (!realpath(eq + 1, t->path))
		die("target %s=%s: %s", arg, eq + 1, strerror(errno));
	find_fstype(t);
	/* A slow mount must not send kvfs's I/O to the directory beneath. */
	if (is_kvfs(t) && strncmp(t->fstype, "fuse", 4) != 0)
		die("target %s=%s is not a FUSE mount (%s): mount kvfs there first",
		    t->label, t->path, t->fstype);
	b->nt++;
}

static void make_work(struct target *t)
{
	char work[PATH_MAX + 32];

	snprintf(work, sizeof(work), "%s/kvfs-bench.%ld", t->path, (long)getpid());
	if (strlen(work) >= sizeof(t->work) - 100)
		die("%s: path too long", work);
	if (mkdir(work, 0755) < 0)
		die("mkdir %s: %s", work, strerror(errno));
	memcpy(t->work, work, strlen(work) + 1);
}

/* Removes the work directory and whatever a failed run left in it. */
static void remove_work(struct target *t)
{
	char path[PATH_MAX + 300];
	struct dirent *de;
	DIR *d;

	if (!t->work[0] || !(d = opendir(t->work)))
		return;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", t->work, de->d_name);
		(void)unlink(path);
	}
	closedir(d);
	(void)rmdir(t->work);
	t->work[0] = '\0';
}

/* ---- results ------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(const double *v, unsigned n)
{
	double s[KVFS_BENCH_MAX_REPEAT];

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static double max_of(const double *v, unsigned n)
{
	double hi = v[0];

	for (unsigned i = 1; i < n; i++)
		hi = v[i] > hi ? v[i] : hi;
	return hi;
}

/* (max - min) / median, in percent */
static double spread(const double *v, unsigned n)
{
	double lo = v[0], hi = v[0];

	for (unsigned i = 1; i < n; i++) {
		lo = v[i] < lo ? v[i] : lo;
		hi = v[i] > hi ? v[i] : hi;
	}
	return 100 * (hi - lo) / median(v, n);
}

static const struct target *find_label(const struct bench *b, const char *label)
{
	for (unsigned i = 0; i < b->nt; i++)
		if (strcmp(b->t[i].label, label) == 0)
			return &b->t[i];
	return NULL;
}

/* Base value for a ratio; returns false when the base target was not run. */
static bool ratio_base(const struct bench *b, const struct ratio_def *r, double *v)
{
	const struct target *base;

	if (strcmp(r->base, "memcpy") == 0) {
		*v = median(b->memcpy_mbps, b->repeat);
		return true;
	}
	if (!(base = find_label(b, r->base)))
		return false;
	*v = median(base->m[r->m], b->repeat);
	return true;
}

static void print_machine(FILE *f, bool json)
{
	struct utsname u;
	char line[256], cpu[128] = "unknown";
	FILE *ci = fopen("/proc/cpuinfo", "r");
	double mem = (double)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE);

	while (ci && fgets(line, sizeof(line), ci)) {
		char *c = strchr(line, ':');

		if (strncmp(line, "model name", 10) == 0 && c) {
			snprintf(cpu, sizeof(cpu), "%s", c + 2);
			cpu[strcspn(cpu, "\n\"\\")] = '\0';
			break;
		}
	}
	if (ci)
		fclose(ci);
	uname(&u);
	if (json)
		fprintf(f, "  \"machine\": {\"cpus\": %ld, \"cpu\": \"%s\", \"mem_bytes\": %.0f, "
			"\"kernel\": \"%s\"},\n", sysconf(_SC_NPROCESSORS_ONLN), cpu, mem,
			u.release);
	else
		printf("machine: %ld CPUs (%s), %.1f GiB RAM, Linux %s\n",
		       sysconf(_SC_NPROCESSORS_ONLN), cpu, mem / (1 << 30), u.release);
}

static bool is_kvfs(const struct target *t);

static void print_table(const struct bench *b)
{
	unsigned n = b->repeat;

	printf("\n");
	print_machine(stdout, false);
	printf("method: medians of %u runs, targets interleaved; MB = 10^6 bytes; ±%% = "
	       "(max-min)/median;\n  %.1f s of quiet (and syncfs) before each timed phase\n",
	       n, b->settle);
	printf("  (a) one %zu MiB file, 1 MiB write()s timed through close() (kvfs publishes "
	       "at close), NO fsync;\n      read back with 1 MiB read()s after "
	       "sync_file_range + POSIX_FADV_DONTNEED (untimed)\n", b->a_size / MIB);
	printf("  (b) %u files of %zu KiB: write <hex>.bin.tmp.<pid> + rename; %u stat() "
	       "probes, half ENOENT,\n      then the same probes again; open+fstat+one read() "
	       "per file, cold = after the cache drop,\n      warm = right after writing; "
	       "all = %u files / (write + first probes + cold read time)\n",
	       b->b_files, b->b_size / 1024, b->probes, b->b_files);
	printf("  (c) memcpy, 1 thread, %zu MiB pre-faulted: %.0f MB/s ±%.0f%%; first touch of "
	       "fresh anonymous memory: %.0f MB/s ±%.0f%%\n\n", b->memcpy_size / MIB,
	       median(b->memcpy_mbps, n), spread(b->memcpy_mbps, n),
	       median(b->touch_mbps, n), spread(b->touch_mbps, n));
	printf("%-26s", "");
	for (unsigned i = 0; i < b->nt; i++)
		printf(" %15s", b->t[i].label);
	printf("\n%-26s", "filesystem");
	for (unsigned i = 0; i < b->nt; i++)
		printf(" %15s", b->t[i].fstype);
	printf("\n");
	for (int m = 0; m < M_NR; m++) {
		printf("%-26s", metric_info[m].row);
		for (unsigned i = 0; i < b->nt; i++)
			printf(" %9.0f ±%3.0f%%", median(b->t[i].m[m], n), spread(b->t[i].m[m], n));
		printf("\n");
	}
	printf("%-26s", "other CPU use, max");
	for (unsigned i = 0; i < b->nt; i++)
		printf(" %14.0f%%", 100 * max_of(b->t[i].other, n));
	printf("\n%-26s", "steal (VM), max");
	for (unsigned i = 0; i < b->nt; i++)
		printf(" %14.0f%%", 100 * max_of(b->t[i].steal, n));
	printf("\n");
	if (b->remeasured)
		printf("%u phase(s) disturbed by other work were measured again\n", b->remeasured);
	for (unsigned i = 0; i < b->nt; i++) {
		const struct target *t = &b->t[i];
		const char *why = is_kvfs(t) && !b->watch_pid ?
			" (the daemon counts: no --watch-pid)" : " (kernel threads count)";

		if (max_of(t->other, n) > KVFS_BENCH_OTHER_WARN)
			printf("WARNING: something else used %.0f%% of a CPU during a timed %s phase%s;"
			       " rerun on a quiet machine\n", 100 * max_of(t->other, n), t->label, why);
	}
}

static void print_ratios(const struct bench *b)
{
	printf("\n%-40s %9s %9s\n", "ratio (of medians)", "measured", "goal");
	for (unsigned i = 0; i < b->nt; i++) {
		const struct target *t = &b->t[i];

		if (!is_kvfs(t))
			continue;
		for (unsigned r = 0; r < NR_RATIOS; r++) {
			const struct ratio_def *d = &ratio_defs[r];
			double base, v;
			char name[64];

			if (!ratio_base(b, d, &base))
				continue;
			v = median(t->m[d->m], b->repeat) / base;
			snprintf(name, sizeof(name), "%s %s", t->label, d->name);
			if (d->goal > 0)
				printf("%-40s %9.3f   >= %4.2f  %s\n", name, v, d->goal,
				       v >= d->goal ? "met" : "SHORT");
			else
				printf("%-40s %9.3f %9s\n", name, v, "-");
		}
	}
}

static void json_runs(FILE *f, const double *v, unsigned n)
{
	fprintf(f, "{\"median\": %.3f, \"runs\": [", median(v, n));
	for (unsigned i = 0; i < n; i++)
		fprintf(f, "%s%.3f", i ? ", " : "", v[i]);
	fprintf(f, "]}");
}

/* Labels, paths and meta values are written as given: no quotes or backslashes. */
static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++)
		fputc(*s == '"' || *s == '\\' || (unsigned char)*s < 0x20 ? '?' : *s, f);
	fputc('"', f);
}

static void json_targets(FILE *f, const struct bench *b)
{
	fprintf(f, "  \"targets\": [\n");
	for (unsigned i = 0; i < b->nt; i++) {
		const struct target *t = &b->t[i];

		fprintf(f, "    {\"label\": ");
		json_str(f, t->label);
		fprintf(f, ", \"path\": ");
		json_str(f, t->path);
		fprintf(f, ", \"fstype\": ");
		json_str(f, t->fstype);
		fprintf(f, ",\n     \"other_cpu\": ");
		json_runs(f, t->other, b->repeat);
		fprintf(f, ",\n     \"steal_cpu\": ");
		json_runs(f, t->steal, b->repeat);
		fprintf(f, ",\n     \"metrics\": {");
		for (int m = 0; m < M_NR; m++) {
			fprintf(f, "%s\n       \"%s\": ", m ? "," : "", metric_info[m].key);
			json_runs(f, t->m[m], b->repeat);
		}
		fprintf(f, "}}%s\n", i + 1 < b->nt ? "," : "");
	}
	fprintf(f, "  ],\n");
}

static void json_ratios(FILE *f, const struct bench *b)
{
	bool first = true;

	fprintf(f, "  \"ratios\": [");
	for (unsigned i = 0; i < b->nt; i++) {
		for (unsigned r = 0; r < NR_RATIOS && is_kvfs(&b->t[i]); r++) {
			const struct ratio_def *d = &ratio_defs[r];
			double base, v;

			if (!ratio_base(b, d, &base))
				continue;
			v = median(b->t[i].m[d->m], b->repeat) / base;
			fprintf(f, "%s\n    {\"target\": ", first ? "" : ",");
			json_str(f, b->t[i].label);
			fprintf(f, ", \"name\": \"%s\", \"base\": \"%s\", \"value\": %.4f", d->name,
				d->base, v);
			if (d->goal > 0)
				fprintf(f, ", \"goal\": %.2f, \"met\": %s", d->goal,
					v >= d->goal ? "true" : "false");
			fprintf(f, "}");
			first = false;
		}
	}
	fprintf(f, "\n  ]\n");
}

static void write_json(const struct bench *b)
{
	FILE *f = fopen(b->json, "w");
	time_t now_t = time(NULL);
	char when[32];

	if (!f)
		die("cannot write %s: %s", b->json, strerror(errno));
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now_t));
	fprintf(f, "{\n  \"tool\": \"kvfs-bench\",\n  \"format\": 1,\n  \"time\": \"%s\",\n", when);
	print_machine(f, true);
	fprintf(f, "  \"config\": {\"repeat\": %u, \"a_file_bytes\": %zu, \"a_io_bytes\": %lu, "
		"\"b_files\": %u, \"b_file_bytes\": %zu, \"probes\": %u, \"probe_miss_fraction\": 0.5, "
		"\"memcpy_bytes\": %zu, \"settle_s\": %.1f, \"retries\": %u, \"remeasured\": %u, "
		"\"fsync\": false, \"mb\": 1000000, "
		"\"cache_drop\": \"sync_file_range+POSIX_FADV_DONTNEED\"},\n", b->repeat,
		b->a_size, KVFS_BENCH_IO, b->b_files, b->b_size, b->probes, b->memcpy_size,
		b->settle, b->retries, b->remeasured);
	fprintf(f, "  \"meta\": {");
	for (unsigned i = 0; i < b->nmeta; i++) {
		const char *eq = strchr(b->meta[i], '=');
		char key[64];

		snprintf(key, sizeof(key), "%.*s", (int)(eq - b->meta[i]), b->meta[i]);
		fprintf(f, "%s", i ? ", " : "");
		json_str(f, key);
		fprintf(f, ": ");
		json_str(f, eq + 1);
	}
	fprintf(f, "},\n  \"memcpy\": {\"mbps\": ");
	json_runs(f, b->memcpy_mbps, b->repeat);
	fprintf(f, "},\n  \"first_touch\": {\"mbps\": ");
	json_runs(f, b->touch_mbps, b->repeat);
	fprintf(f, "},\n");
	json_targets(f, b);
	json_ratios(f, b);
	fprintf(f, "}\n");
	if (fclose(f) != 0)
		die("cannot write %s: %s", b->json, strerror(errno));
}

/* ---- main ------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr,
		"usage: kvfs-bench [options] LABEL=DIR [LABEL=DIR...]\n"
		"  labels kvfs* must be FUSE mounts and are compared with the labels tmpfs\n"
		"  and disk and with memcpy; each DIR gets a work directory kvfs-bench.<pid>\n"
		"  --repeat N        runs of every measurement, median reported (3)\n"
		"  --a-size SIZE     (a) file size (256M)\n"
		"  --b-files N       (b) number of files (500)\n"
		"  --b-size SIZE     (b) file size (8M)\n"
		"  --probes N        (b) stat() probes, half of them misses (1000)\n"
		"  --settle S        seconds of quiet before each timed phase (3)\n"
		"  --retries N       measure a phase disturbed by other work again, N times\n"
		"                    at most (2)\n"
		"  --quick           smoke test: --repeat 1 --a-size 32M --b-files 50 --probes 100\n"
		"                    and 0.2 s of quiet\n"
		"  --watch-pid PID   the kvfs daemon: its CPU use is not counted as\n"
		"                    interference (\"other CPU use\")\n"
		"  --json PATH       write the results as JSON\n"
		"  --meta KEY=VALUE  record KEY in the JSON's meta object (repeatable)\n"
		"SIZE takes a K, M or G suffix (powers of 1024).\n");
	exit(2);
}

static size_t parse_size(const char *opt, const char *s, size_t min)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	switch (*end) {
	case 'G': case 'g': v <<= 10; /* fall through */
	case 'M': case 'm': v <<= 10; /* fall through */
	case 'K': case 'k': v <<= 10; end++; break;
	default: break;
	}
	if (end == s || *end || v < min || v > (1ULL << 40))
		die("%s %s is not a size of at least %zu bytes (use e.g. 8M)", opt, s, min);
	return (size_t)v;
}

static unsigned parse_uint(const char *opt, const char *s, unsigned lo, unsigned hi)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (end == s || *end || v < lo || v > hi)
		die("%s %s is not a number from %u to %u", opt, s, lo, hi);
	return (unsigned)v;
}

static double parse_seconds(const char *opt, const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || !(v >= 0 && v <= 60))
		die("%s %s is not a number of seconds from 0 to 60", opt, s);
	return v;
}

static void parse_args(struct bench *b, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--quick") == 0) {
			b->repeat = 1, b->a_size = 32 * MIB, b->b_files = 50, b->probes = 100;
			b->settle = 0.2;
			continue;
		}
		if (strncmp(a, "--", 2) != 0) {
			add_target(b, argv[i]);
			continue;
		}
		if (!v)
			usage();
		i++;
		if (strcmp(a, "--repeat") == 0)
			b->repeat = parse_uint(a, v, 1, KVFS_BENCH_MAX_REPEAT);
		else if (strcmp(a, "--a-size") == 0)
			b->a_size = parse_size(a, v, 2 * KVFS_BENCH_STAMP);
		else if (strcmp(a, "--b-size") == 0)
			b->b_size = parse_size(a, v, 2 * KVFS_BENCH_STAMP);
		else if (strcmp(a, "--b-files") == 0)
			b->b_files = parse_uint(a, v, 1, 10000000);
		else if (strcmp(a, "--probes") == 0)
			b->probes = parse_uint(a, v, 2, 10000000);
		else if (strcmp(a, "--settle") == 0)
			b->settle = parse_seconds(a, v);
		else if (strcmp(a, "--retries") == 0)
			b->retries = parse_uint(a, v, 0, 10);
		else if (strcmp(a, "--watch-pid") == 0)
			b->watch_pid = (long)parse_uint(a, v, 1, 1u << 30);
		else if (strcmp(a, "--json") == 0)
			b->json = v;
		else if (strcmp(a, "--meta") == 0 && strchr(v, '=') && b->nmeta < KVFS_BENCH_MAX_META)
			b->meta[b->nmeta++] = v;
		else
			usage();
	}
	if (b->nt == 0)
		usage();
}

/* Buffers are filled with a pattern, which also faults every page in. */
static void fill(char *buf, size_t len, uint64_t seed)
{
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t x = mix64(seed + i);

		memcpy(buf + i, &x, 8);
	}
	for (; i < len; i++)
		buf[i] = (char)mix64(seed + i);
}

int main(int argc, char **argv)
{
	static struct bench b = {
		.a_size = 256 * MIB, .b_size = 8 * MIB, .b_files = 500, .probes = 1000,
		.repeat = 3, .memcpy_size = 256 * MIB, .settle = 3, .retries = 2,
	};
	size_t buf_size;
	char *msrc, *mdst;

	parse_args(&b, argc, argv);
	buf_size = b.b_size > KVFS_BENCH_IO ? b.b_size : KVFS_BENCH_IO;
	b.wbuf = xmalloc(buf_size);
	b.rbuf = xmalloc(buf_size);
	msrc = xmalloc(b.memcpy_size);
	mdst = xmalloc(b.memcpy_size);
	fill(b.wbuf, buf_size, 1);
	fill(b.rbuf, buf_size, 2);
	fill(msrc, b.memcpy_size, 3);
	memset(mdst, 0, b.memcpy_size);
	b.probe_path = calloc(b.probes, sizeof(*b.probe_path));
	if (!b.probe_path)
		die("out of memory");
	cleanup_bench = &b;
	for (unsigned i = 0; i < b.nt; i++)
		make_work(&b.t[i]);

	for (unsigned rep = 0; rep < b.repeat; rep++) {
		fprintf(stderr, "run %u/%u\n", rep + 1, b.repeat);
		quiet(&b);
		b.memcpy_mbps[rep] = run_memcpy(&b, msrc, mdst);
		quiet(&b);
		b.touch_mbps[rep] = run_touch(&b);
		fprintf(stderr, "  memcpy %8.0f MB/s, first touch of fresh memory %6.0f MB/s\n",
			b.memcpy_mbps[rep], b.touch_mbps[rep]);
		for (unsigned i = 0; i < b.nt; i++)
			run_measured(&b, &b.t[(i + rep) % b.nt], rep, run_a);
		for (unsigned i = 0; i < b.nt; i++)
			run_measured(&b, &b.t[(i + rep) % b.nt], rep, run_b);
	}
	for (unsigned i = 0; i < b.nt; i++)
		remove_work(&b.t[i]);
	cleanup_bench = NULL;

	print_table(&b);
	print_ratios(&b);
	if (b.json) {
		write_json(&b);
		printf("\nresults: %s\n", b.json);
	}
	return 0;
}
