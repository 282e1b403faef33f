/*
 * kvfs-bench.c - the benchmark driver behind `make bench` (tools/bench.sh).
 *
 * Runs the same measurements, in one process and one run, on every target
 * directory given as LABEL=DIR, next to a single-thread memcpy (the staged
 * copy kvfs exists to remove):
 *   (a) one file (256 MiB) written with 1 MiB write()s, timed through close()
 *       because kvfs publishes at close, then written again at once
 *       (O_TRUNC: the warm write), read back with 1 MiB read()s (warm:
 *       a disk directory's page cache), then dropped from caches where
 *       the filesystem allows it and read back again;
 *   (b) SGLang HiCache pages: 500 files of 8 MiB, each written to
 *       <64 hex>.bin.tmp.<pid> and renamed to <64 hex>.bin, 1000 stat()
 *       probes of which half miss (ENOENT), and each page read back with
 *       open + fstat + ONE read() of the whole file;
 *   (c) memcpy of a pre-faulted 256 MiB buffer, and for context how fast
 *       fresh anonymous pages can be touched (what tmpfs and the page cache
 *       pay per new page; a prefaulted arena does not); and memcpy in (a)'s
 *       pattern after (a)'s quiet: 1 MiB pieces from a hot buffer into
 *       memory (huge pages) left untouched for the settle time, and back.
 *       On this VM memory untouched for a second copies slower for its first
 *       tens of ms (docs/bench.md, stage 14), and (a) runs right after its
 *       settle: this is its like-for-like base;
 * and on the SSD tier, a kvfs with ssd= (labels kvfs-ssd*) against raw
 * O_DIRECT I/O in a directory on the same filesystem (label ssd):
 *   (d) spill: twice the memory tier written as 8 MiB files (write, close),
 *       after the files of (f), written first, are on the disk (untimed),
 *       timed until the flush queue is drained and every file is on the SSD;
 *       raw: the same bytes in 8 MiB O_DIRECT writes, then fdatasync;
 *   (e) cold read of the older half of those files, SSD-only by then (tier
 *       xattr "ssd"): open, fstat, ONE read() of 8 MiB; raw: O_DIRECT reads;
 *   (f) a ds4-server scan of 1,000 SSD-only files of 1 MiB: readdir, then
 *       stat + open + read of the first 52 bytes + close of each, twice; raw:
 *       the same files in a plain directory, page cache warm.  kvfs must not
 *       read the SSD for it (ssd_reads of .kvfs/stats.json);
 *   (h) ds4-server's hit path on the memory tier (kvfs against disk and
 *       tmpfs): a scan of 1,000 files of 1 MiB (readdir, then stat + fopen
 *       + fread 48 + 4 bytes + fclose of every <40 hex>.kv), 100 times
 *       alone and 100 times while a second process publishes 32 MiB files
 *       into the same directory (temp name, rename, unlink of the one
 *       before), as ds4's worker does beside its HTTP thread: the median
 *       and the 99th percentile of the scan times, and on kvfs the daemon's
 *       requests per scanned file (.kvfs/stats.json); then a header rewrite
 *       (fopen "r+b", fread 52, fseek, fwrite 48, fclose) of a 512 MiB file
 *       right after its publish, timed;
 *   (i) names (kvfs and disk targets): 192 files of 16 KiB written as
 *       <64 hex>.bin.tmp.<pid> and renamed (untimed), then access(F_OK) of each
 *       final name (vLLM's probe), stat() of each once (the first stat after
 *       the rename), and the same stats x5;
 *       then 400 never-written names stat()ed once (the first-ever miss) and
 *       x5 again (misses the kernel caches).  kvfs targets also report the
 *       daemon requests (lookup + getattr) per first stat and per first miss;
 *   (g) restart (--restart-exec): the time from exec of a kvfs whose index
 *       holds 1,000,000 files to the first successful stat() of one of them
 *       through the mount, with the index in the page cache and (as root)
 *       without.
 *   (m) the same with --restart-read, for a kvfs that kept its memory tier
 *       (4 GiB of 8 MiB files, bench.sh): until the probe file has been
 *       read whole, and the SSD reads (ssd_io_reads) the restarted daemon
 *       made by then, which should be none.
 * Only (d) syncs (kvfs's flusher before it commits; fdatasync on raw);
 * nothing else calls fsync.  Every measurement is repeated (--repeat,
 * default 3; target order rotates per repetition) and the median is
 * reported.  Before each timed phase the driver waits for the machine to go
 * quiet (--settle), and it measures how much CPU anything else used during
 * each phase, so a run disturbed by other work is flagged rather than
 * believed.  Targets labelled kvfs* are compared with the targets labelled
 * tmpfs and disk, and with memcpy (kvfs-ssd* with ssd), against the goals of
 * the issue.  Every block read back is checked against stamps written into
 * it, so a broken filesystem fails the run instead of producing a number.
 * Single-threaded; dies on any unexpected error after removing the files it
 * created (and stopping the daemon (g) started).
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
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

static _Noreturn void die(const char *fmt, ...);
#include "bench_util.h"

#define MIB			(1024UL * 1024UL)
#define KVFS_BENCH_IO		MIB		/* (a) request size */
#define KVFS_BENCH_STAMP	16		/* bytes of one stamp */
#define KVFS_BENCH_MAGIC	0x6b7666732d62656eULL	/* "kvfs-ben" */
#define KVFS_BENCH_MAX_TARGETS	8
#define KVFS_BENCH_MAX_REPEAT	BENCH_MAX_REPEAT
#define KVFS_BENCH_MAX_META	16
#define KVFS_BENCH_OTHER_WARN	0.25	/* of one CPU, see cpu_other() */
#define KVFS_BENCH_MAX_WATCH	4	/* --watch-pid */
#define KVFS_BENCH_SPILL_FILE	(8 * MIB)	/* (d), (e) file and request size */
#define KVFS_BENCH_HEAD		52	/* (f) ds4-server's header read */
#define KVFS_BENCH_RESTART_GOAL	2.0	/* (g) seconds */
#define KVFS_BENCH_H_WRITER	(32 * MIB)	/* (h) the busy writer's files */
#define KVFS_BENCH_H_TAIL_GOAL	3.0	/* (h) p99 scan <= 3x the median */
#define KVFS_BENCH_H_REWRITE_GOAL 1.0	/* (h) ms */
#define KVFS_BENCH_NAMES	192	/* (i) files written by temp + rename */
#define KVFS_BENCH_NAME_SIZE	(16 * 1024)	/* (i) HiCache's smallest pages */
#define KVFS_BENCH_MISSES	400	/* (i) names never written */
#define KVFS_BENCH_AGAIN	5	/* (i) rounds of the same stats */

enum metric {
	M_A_WRITE, M_A_REWRITE, M_A_READ, M_A_READ_WARM,
	M_B_WRITE, M_B_WRITE_MB, M_B_PROBE, M_B_PROBE_AGAIN,
	M_B_READ, M_B_READ_MB, M_B_READ_WARM, M_B_READ_WARM_MB,
	M_B_TOTAL,
	M_D_SPILL, M_D_WRITE, M_E_COLD, M_E_NOT_SSD, M_F_SCAN, M_F_SCAN_AGAIN,
	M_F_NOT_SSD, M_F_SSD_READS,
	M_H_SCAN, M_H_SCAN_TAIL, M_H_BUSY, M_H_BUSY_TAIL, M_H_TRIPS, M_H_REWRITE,
	M_I_ACCESS_FIRST, M_I_STAT_FIRST, M_I_STAT_AGAIN, M_I_MISS_FIRST, M_I_MISS_AGAIN,
	M_I_REQ_ACCESS, M_I_REQ_STAT, M_I_REQ_MISS,
	M_NR
};

static const struct {
	const char *key;	/* JSON name */
	const char *row;	/* table row */
} metric_info[M_NR] = {
	[M_A_WRITE]        = { "a_write_mbps",            "(a) seq write MB/s" },
	[M_A_REWRITE]      = { "a_rewrite_mbps",          "(a) rewrite MB/s" },
	[M_A_READ]         = { "a_read_mbps",             "(a) seq read MB/s" },
	[M_A_READ_WARM]    = { "a_read_warm_mbps",        "(a) read MB/s, warm" },
	[M_B_WRITE]        = { "b_write_files_per_s",     "(b) write+rename files/s" },
	[M_B_WRITE_MB]     = { "b_write_mbps",            "(b) write+rename MB/s" },
	[M_B_PROBE]        = { "b_probes_per_s",          "(b) stat probes/s" },
	[M_B_PROBE_AGAIN]  = { "b_probes_again_per_s",    "(b) same probes again/s" },
	[M_B_READ]         = { "b_read_files_per_s",      "(b) read files/s" },
	[M_B_READ_MB]      = { "b_read_mbps",             "(b) read MB/s" },
	[M_B_READ_WARM]    = { "b_read_warm_files_per_s", "(b) read files/s, warm" },
	[M_B_READ_WARM_MB] = { "b_read_warm_mbps",        "(b) read MB/s, warm" },
	[M_B_TOTAL]        = { "b_total_files_per_s",     "(b) all files/s" },
	[M_D_SPILL]        = { "d_spill_mbps",            "(d) spill MB/s, on SSD" },
	[M_D_WRITE]        = { "d_write_mbps",            "(d) spill MB/s, closed" },
	[M_E_COLD]         = { "e_cold_read_mbps",        "(e) cold read MB/s" },
	[M_E_NOT_SSD]      = { "e_files_not_ssd_only",    "(e) files not SSD-only" },
	[M_F_SCAN]         = { "f_scans_per_s",           "(f) ds4 scans/s" },
	[M_F_SCAN_AGAIN]   = { "f_scans_again_per_s",     "(f) ds4 scans/s, again" },
	[M_F_NOT_SSD]      = { "f_files_not_ssd_only",    "(f) files not SSD-only" },
	[M_F_SSD_READS]    = { "f_new_ssd_reads",         "(f) SSD reads in scans" },
	[M_H_SCAN]         = { "h_scan_files_per_s",      "(h) ds4 scan files/s" },
	[M_H_SCAN_TAIL]    = { "h_scan_p99_over_median",  "(h) scan p99/median" },
	[M_H_BUSY]         = { "h_busy_scan_files_per_s", "(h) scan+writer files/s" },
	[M_H_BUSY_TAIL]    = { "h_busy_p99_over_median",  "(h) +writer p99/median" },
	[M_H_TRIPS]        = { "h_requests_per_file",     "(h) daemon requests/file" },
	[M_H_REWRITE]      = { "h_rewrite_ms",            "(h) header rewrite ms" },
	[M_I_ACCESS_FIRST] = { "i_access_first_per_s",    "(i) access after rename/s" },
	[M_I_STAT_FIRST]   = { "i_stat_first_per_s",      "(i) stat after rename/s" },
	[M_I_STAT_AGAIN]   = { "i_stat_again_per_s",      "(i) same stats again/s" },
	[M_I_MISS_FIRST]   = { "i_miss_first_per_s",      "(i) first-ever misses/s" },
	[M_I_MISS_AGAIN]   = { "i_miss_again_per_s",      "(i) same misses again/s" },
	[M_I_REQ_ACCESS]   = { "i_requests_per_first_access", "(i) requests/first access" },
	[M_I_REQ_STAT]     = { "i_requests_per_first_stat", "(i) requests/first stat" },
	[M_I_REQ_MISS]     = { "i_requests_per_first_miss", "(i) requests/first miss" },
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
	{ "a_rewrite_vs_memcpy",   M_A_REWRITE,   "memcpy", 0 },
	{ "a_rewrite_vs_tmpfs",    M_A_REWRITE,   "tmpfs",  0 },
	{ "a_read_vs_memcpy",      M_A_READ,      "memcpy", 0.35 },
	/* Issue 12's goals, against memcpy measured as (a) is: after the quiet. */
	{ "a_write_vs_memcpy_quiet", M_A_WRITE,   "memcpy_quiet_write", 0.90 },
	{ "a_read_vs_memcpy_quiet",  M_A_READ,    "memcpy_quiet_read",  0.70 },
	/* What kvfs adds to the kernel's own write path (--kernel-tier). */
	{ "a_write_vs_kernel_tmpfs", M_A_WRITE,   "kernel_tmpfs_write", 0 },
	{ "a_read_vs_tmpfs",       M_A_READ,      "tmpfs",  0 },
	/* and against an ext4 directory's page cache, both ways */
	{ "a_write_vs_disk",       M_A_WRITE,     "disk",   1.00 },
	{ "a_read_warm_vs_disk",   M_A_READ_WARM, "disk",   1.00 },
	{ "b_total_vs_disk",       M_B_TOTAL,     "disk",   1.20 },
	{ "b_write_vs_disk",       M_B_WRITE,     "disk",   1.20 },
	{ "b_probes_vs_disk",      M_B_PROBE,     "disk",   1.20 },
	{ "b_probes_again_vs_disk", M_B_PROBE_AGAIN, "disk", 1.20 },
	{ "b_read_vs_disk",        M_B_READ,      "disk",   1.20 },
	{ "b_read_warm_vs_disk",   M_B_READ_WARM, "disk",   1.20 },
	{ "d_spill_vs_ssd",        M_D_SPILL,     "ssd",    0.80 },
	{ "e_cold_read_vs_ssd",    M_E_COLD,      "ssd",    0.80 },
	{ "f_scan_vs_ssd",         M_F_SCAN,      "ssd",    0.80 },
	{ "f_scan_again_vs_ssd",   M_F_SCAN_AGAIN, "ssd",   0.80 },
	{ "h_scan_vs_disk",        M_H_SCAN,      "disk",   0.50 },
	{ "h_busy_scan_vs_disk",   M_H_BUSY,      "disk",   0.50 },
	{ "i_access_first_vs_disk", M_I_ACCESS_FIRST, "disk", 0 },
	{ "i_stat_first_vs_disk",  M_I_STAT_FIRST, "disk",  0.50 },
	{ "i_stat_again_vs_disk",  M_I_STAT_AGAIN, "disk",  0.50 },
	{ "i_miss_first_vs_disk",  M_I_MISS_FIRST, "disk",  0 },
	{ "i_miss_again_vs_disk",  M_I_MISS_AGAIN, "disk",  0.50 },
};
#define NR_RATIOS (sizeof(ratio_defs) / sizeof(ratio_defs[0]))

struct target {
	const char *label;
	char path[PATH_MAX];		/* realpath of the directory */
	char work[PATH_MAX];		/* path/kvfs-bench.<pid>, ours */
	char mnt[PATH_MAX];		/* the mount point holding path */
	char fstype[64];
	bool ssd_role;			/* runs (d)-(f) instead of (a), (b) */
	bool has[M_NR];			/* measured */
	double m[M_NR][KVFS_BENCH_MAX_REPEAT];
	double other[KVFS_BENCH_MAX_REPEAT];	/* see cpu_other() */
	double steal[KVFS_BENCH_MAX_REPEAT];
};

/* CPU ticks (USER_HZ) so far: all CPUs running, stolen, this process, the
 * daemons (--watch-pid, and the one (g) started). */
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
	long watch_pid[KVFS_BENCH_MAX_WATCH];	/* kvfs daemons (--watch-pid) */
	unsigned nwatch;
	long child_pid;			/* (g): the daemon being timed, or 0 */
	unsigned retries;		/* of a disturbed phase, see run_measured() */
	unsigned remeasured;		/* phases measured again */
	const char *json;
	const char *meta[KVFS_BENCH_MAX_META];	/* KEY=VALUE for the JSON */
	unsigned nmeta;
	struct target t[KVFS_BENCH_MAX_TARGETS];
	unsigned nt;
	double memcpy_mbps[KVFS_BENCH_MAX_REPEAT];
	double touch_mbps[KVFS_BENCH_MAX_REPEAT];	/* first touch of fresh pages */
	double quiet_w_mbps[KVFS_BENCH_MAX_REPEAT];	/* (a)'s pattern after the quiet */
	double quiet_r_mbps[KVFS_BENCH_MAX_REPEAT];
	/* --kernel-tier, --kernel-reserve: (a)'s write into the kernel's own
	 * tmpfs with pages lent from a warm reserve as kvfs's are, after the
	 * same quiet (run_kernel_quiet) */
	const char *ktier, *kreserve;
	char kres_path[PATH_MAX];	/* the reserve file, removed at exit */
	int kres_fd;
	double kernel_w_mbps[KVFS_BENCH_MAX_REPEAT];
	size_t memcpy_size;
	char *wbuf;			/* write source, buf_size */
	char *rbuf;			/* read destination, same size */
	size_t buf_size;		/* max(IO, b_size, 8 MiB with (d)) */
	char **probe_path;		/* (b) probes, rebuilt per run */
	uint64_t seq;			/* makes every run's data and names unique */
	/* (d)-(f) */
	size_t spill_size;		/* (d) bytes; 0: twice the memory tier */
	unsigned scan_files;		/* (f) */
	size_t scan_size;
	int dropped_caches;		/* (e) slabs without O_DIRECT: drop_caches */
	/* (h) */
	unsigned h_files, h_scans;
	size_t h_size, h_rewrite_size;
	/* (g) */
	char **restart_argv;		/* --restart-exec, split at spaces */
	const char *restart_mnt;
	const char *restart_probe;	/* a file name at the mount's root */
	const char *restart_log;
	unsigned long restart_files;	/* what the index holds, for the record */
	double restart_s[KVFS_BENCH_MAX_REPEAT];
	double restart_cold_s[KVFS_BENCH_MAX_REPEAT];
	double restart_other[KVFS_BENCH_MAX_REPEAT];	/* see cpu_other() */
	bool restart_cold;		/* root: the cold variant runs */
	/* (m): --restart-read, a daemon that keeps its memory tier */
	bool restart_read;
	double restart_ssd_reads[KVFS_BENCH_MAX_REPEAT];
};

/* The one global: what die() must remove (tools may die, STYLE.md). */
static struct bench *cleanup_bench;

static void remove_work(struct target *t);
static void restart_stop(struct bench *b);
static bool is_kvfs(const struct target *t);

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
		if (cleanup_bench->kres_path[0])
			unlink(cleanup_bench->kres_path);
		restart_stop(cleanup_bench);
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

	m->t = now();
	cpu_jiffies(&m->run, &m->steal, &total);
	m->self = task_ticks("/proc/self/stat");
	m->watched = 0;
	for (unsigned i = 0; i < b->nwatch; i++) {
		snprintf(path, sizeof(path), "/proc/%ld/stat", b->watch_pid[i]);
		m->watched += task_ticks(path);
	}
	if (b->child_pid) {
		snprintf(path, sizeof(path), "/proc/%ld/stat", b->child_pid);
		m->watched += task_ticks(path);
	}
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
 * (a)'s pattern by memcpy, each after the same quiet as (a)'s settle:
 * a_size bytes in 1 MiB pieces from the hot write buffer into `big`
 * (touched before the quiet, as a kvfs's warm pages are), then from `big`
 * into the read buffer.  MB/s into *w and *r.
 */
static void run_memcpy_quiet(struct bench *b, char *big, double *w, double *r)
{
	static volatile char sink;
	double t0;

	quiet(b);
	t0 = now();
	for (size_t off = 0; off < b->a_size; off += KVFS_BENCH_IO)
		memcpy(big + off, b->wbuf, KVFS_BENCH_IO);
	*w = b->a_size / 1e6 / (now() - t0);
	sink = big[b->a_size / 2];
	quiet(b);
	t0 = now();
	for (size_t off = 0; off < b->a_size; off += KVFS_BENCH_IO)
		memcpy(b->rbuf, big + off, KVFS_BENCH_IO);
	*r = b->a_size / 1e6 / (now() - t0);
	sink = b->rbuf[KVFS_BENCH_IO / 2];
	(void)sink;
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

/* Frees one unit of --kernel-reserve at `off` and allocates the same
 * size of fd at `off` (past EOF), on this thread, as kvfs's lend does
 * (backing.h, kvfs_data_prealloc). */
static void kernel_lend(struct bench *b, int fd, const char *path, size_t off, size_t n)
{
	if (fallocate(b->kres_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
		      (off_t)n) != 0)
		die("--kernel-reserve: punch: %s", strerror(errno));
	if (fallocate(fd, FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)n) != 0)
		die("fallocate %s: %s", path, strerror(errno));
}

/* `lend`: first give the new file its pages from --kernel-reserve, a huge
 * page at a time, as kvfs gives a writer's open the size writers left
 * lately (run_kernel_quiet). */
static double a_write_lent(struct bench *b, const char *path, uint64_t tag, bool lend)
{
	double t0 = now();
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);

	if (fd < 0)
		die("create %s: %s", path, strerror(errno));
	for (size_t off = 0; lend && off < b->a_size; off += BENCH_HUGE_PAGE)
		kernel_lend(b, fd, path, off, b->a_size - off < BENCH_HUGE_PAGE ?
			    b->a_size - off : BENCH_HUGE_PAGE);
	for (size_t off = 0; off < b->a_size; off += KVFS_BENCH_IO) {
		size_t n = b->a_size - off < KVFS_BENCH_IO ? b->a_size - off : KVFS_BENCH_IO;

		stamp_range(b->wbuf, n, off, tag);
		write_full(fd, b->wbuf, n, path);
	}
	close_or_die(fd, path);
	return b->a_size / 1e6 / (now() - t0);
}

static double a_write(struct bench *b, const char *path, uint64_t tag)
{
	return a_write_lent(b, path, tag, false);
}

/*
 * (a)'s write, after the same quiet, into the kernel's own tmpfs
 * (--kernel-tier: huge=within_size, as kvfs's memory tier) with the pages
 * lent from a warm reserve (--kernel-reserve: huge=always, as kvfs's),
 * in-process: the write path kvfs's passthrough hands to the kernel,
 * without kvfs, so a_write_vs_kernel_tmpfs is what kvfs adds to it.
 */
static void kernel_reserve_fill(struct bench *b)
{
	for (size_t off = 0; off < b->a_size; off += KVFS_BENCH_IO) {
		size_t n = b->a_size - off < KVFS_BENCH_IO ? b->a_size - off : KVFS_BENCH_IO;

		if (pwrite(b->kres_fd, b->rbuf, n, (off_t)off) != (ssize_t)n)
			die("--kernel-reserve: write: %s", errno ? strerror(errno) : "short");
	}
}

static double run_kernel_quiet(struct bench *b)
{
	char path[PATH_MAX + 32];
	double v;

	snprintf(path, sizeof(path), "%s/seq.bin", b->ktier);
	quiet(b);
	v = a_write_lent(b, path, ++b->seq, true);
	xunlink(path);
	kernel_reserve_fill(b); /* what a reserve's warming thread does */
	return v;
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
	/* The same name again at once (O_TRUNC), into memory just written:
	 * the warm write, beside the first one's. */
	tag = ++b->seq;
	t->m[M_A_REWRITE][rep] = a_write(b, path, tag);
	cpu_other(b, &c, t, rep);
	/* Read back before the drop too: after the settle's syncfs a disk
	 * directory's pages are clean and cached (its page cache, warm). */
	settle(b, t);
	cpu_mark(b, &c);
	t->m[M_A_READ_WARM][rep] = a_read(b, path, tag);
	cpu_other(b, &c, t, rep);
	drop_cache(path);
	settle(b, t);
	cpu_mark(b, &c);
	t->m[M_A_READ][rep] = a_read(b, path, tag);
	cpu_other(b, &c, t, rep);
	xunlink(path);
	t->has[M_A_WRITE] = t->has[M_A_REWRITE] = t->has[M_A_READ] = true;
	t->has[M_A_READ_WARM] = true;
	fprintf(stderr, "  %-8s (a) write %8.0f MB/s  rewrite %8.0f MB/s  read %8.0f MB/s "
		"(warm %8.0f); other CPU %.0f%%, steal %.0f%%\n", t->label, t->m[M_A_WRITE][rep],
		t->m[M_A_REWRITE][rep], t->m[M_A_READ][rep], t->m[M_A_READ_WARM][rep],
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
	for (int k = M_B_WRITE; k <= M_B_TOTAL; k++)
		t->has[k] = true;
	fprintf(stderr, "  %-8s (b) write %6.0f files/s  probe %7.0f /s (again %7.0f)  read "
		"%6.0f files/s (warm %6.0f); other CPU %.0f%%, steal %.0f%%\n", t->label,
		m[M_B_WRITE][rep], m[M_B_PROBE][rep], m[M_B_PROBE_AGAIN][rep], m[M_B_READ][rep],
		m[M_B_READ_WARM][rep], 100 * t->other[rep], 100 * t->steal[rep]);
}

/* ---- (d)-(f) the SSD tier ---------------------------------------------- */

/*
 * A number from the kvfs mount's .kvfs/stats.json: `key` inside the object
 * that starts with `section` (e.g. "\"store\": {"); true/false read as 1/0.
 * Returns -1 when absent.  Reading it is a few FUSE requests, untimed or
 * outside the timed loops.
 */
static int64_t kvfs_stat(const struct target *t, const char *section, const char *key)
{
	static char buf[256 * 1024];
	char path[PATH_MAX + 32], pat[96], *p;
	size_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/.kvfs/stats.json", t->mnt);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		die("open %s: %s (is %s a kvfs mount?)", path, strerror(errno), t->mnt);
	n = read_full(fd, buf, sizeof(buf) - 1, path);
	close(fd);
	buf[n] = '\0';
	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	p = strstr(buf, section);
	p = p ? strstr(p, pat) : NULL;
	if (!p)
		return -1;
	p += strlen(pat);
	if (strncmp(p, "true", 4) == 0 || strncmp(p, "\"back\"", 6) == 0)
		return 1;
	if (strncmp(p, "false", 5) == 0 || *p == '"')
		return 0;
	return strtoll(p, NULL, 10);
}

#define STORE "\"store\": {"

/* <dir>/<8 hex of i><32 hex of seq and i>.kv: a ds4-server name whose
 * first 8 digits say which file it is (readdir returns names only). */
static void scan_path(char *out, size_t size, const char *dir, uint64_t seq, unsigned i)
{
	uint64_t h = mix64(seq * 0x100000001b3ULL + i);

	snprintf(out, size, "%s/%08x%016llx%016llx.kv", dir, i, (unsigned long long)h,
		 (unsigned long long)mix64(h));
}

static void sub_path(char *out, size_t size, const struct target *t, const char *sub)
{
	snprintf(out, size, "%s/%s", t->work, sub);
}

/* Writes a file of len bytes (stamped with tag) with write()s of at most
 * 8 MiB, open through close. */
static void write_file(struct bench *b, const char *path, size_t len, uint64_t tag)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);

	if (fd < 0)
		die("create %s: %s", path, strerror(errno));
	for (size_t off = 0; off < len; off += KVFS_BENCH_SPILL_FILE) {
		size_t n = len - off < KVFS_BENCH_SPILL_FILE ? len - off : KVFS_BENCH_SPILL_FILE;

		stamp_range(b->wbuf, n, off, tag);
		write_full(fd, b->wbuf, n, path);
	}
	close_or_die(fd, path);
}

static uint64_t scan_tag(uint64_t seq, unsigned i)
{
	return mix64(seq) << 20 ^ i;
}

static unsigned spill_files(const struct bench *b)
{
	return (unsigned)(b->spill_size / KVFS_BENCH_SPILL_FILE);
}

/* Files [0, n) of (d) whose tier xattr is not "ssd" (kvfs only; untimed). */
static unsigned not_ssd_only(struct bench *b, struct target *t, uint64_t seq, unsigned n,
			     bool scan)
{
	char path[PATH_MAX + 128], dir[PATH_MAX + 16], v[32];
	unsigned bad = 0;

	sub_path(dir, sizeof(dir), t, scan ? "scan" : "spill");
	for (unsigned i = 0; i < n; i++) {
		if (scan)
			scan_path(path, sizeof(path), dir, seq, i);
		else
			snprintf(path, sizeof(path), "%s/%06u.bin", dir, i);
		ssize_t len = getxattr(path, "user.kvfs.tier", v, sizeof(v) - 1);

		if (len < 0)
			die("getxattr %s user.kvfs.tier: %s", path, strerror(errno));
		v[len] = '\0';
		bad += strcmp(v, "ssd") != 0;
	}
	(void)b;
	return bad;
}

/* kvfs: waits until the flusher has committed `want` files in all and its
 * queue is empty (write_policy=back: until the queue is empty). */
static void wait_flushed(const struct target *t, int64_t want, int64_t errors0)
{
	bool back = kvfs_stat(t, STORE, "write_policy") == 1;
	double t0 = now();

	for (;;) {
		int64_t q = kvfs_stat(t, STORE, "flush_queue");
		int64_t f = kvfs_stat(t, STORE, "flushes");

		if (q < 0 || f < 0)
			die("%s/.kvfs/stats.json has no store.flush_queue or store.flushes: "
			    "is %s a kvfs with ssd=?", t->mnt, t->mnt);
		if (kvfs_stat(t, STORE, "flush_errors") > errors0)
			die("%s: the flusher reported errors (store.flush_errors in "
			    ".kvfs/stats.json)", t->label);
		if (q == 0 && (back || f >= want))
			return;
		if (now() - t0 > 600)
			die("%s: the flush queue did not drain in 10 minutes (%lld queued, "
			    "%lld of %lld flushed)", t->label, (long long)q, (long long)f,
			    (long long)want);
		usleep(500);
	}
}

/* (d) on kvfs: 8 MiB files, write + close each, until all are on the SSD. */
static double d_spill_kvfs(struct bench *b, struct target *t, uint64_t seq,
			   int64_t want, int64_t errors0, double *write_mbps)
{
	char path[PATH_MAX + 32], dir[PATH_MAX + 16];
	double t0 = now();

	sub_path(dir, sizeof(dir), t, "spill");
	for (unsigned i = 0; i < spill_files(b); i++) {
		snprintf(path, sizeof(path), "%s/%06u.bin", dir, i);
		write_file(b, path, KVFS_BENCH_SPILL_FILE, seq << 32 | i);
	}
	*write_mbps = b->spill_size / 1e6 / (now() - t0);
	wait_flushed(t, want, errors0);
	return b->spill_size / 1e6 / (now() - t0);
}

static void raw_path(char *out, size_t size, const struct target *t)
{
	snprintf(out, size, "%s/spill/raw.bin", t->work);
}

/* (d) raw: the same bytes into one preallocated file (as kvfs's slabs are),
 * 8 MiB O_DIRECT writes, then fdatasync. */
static double d_spill_raw(struct bench *b, struct target *t, uint64_t seq)
{
	char path[PATH_MAX + 32];
	double t0 = now();
	int fd;

	raw_path(path, sizeof(path), t);
	fd = open(path, O_WRONLY | O_DIRECT);
	if (fd < 0)
		die("open %s O_DIRECT: %s", path, strerror(errno));
	for (size_t off = 0; off < b->spill_size; off += KVFS_BENCH_SPILL_FILE) {
		stamp_range(b->wbuf, KVFS_BENCH_SPILL_FILE, off, seq);
		if (pwrite(fd, b->wbuf, KVFS_BENCH_SPILL_FILE, (off_t)off) !=
		    (ssize_t)KVFS_BENCH_SPILL_FILE)
			die("write %s O_DIRECT: %s", path, strerror(errno));
	}
	if (fdatasync(fd) < 0)
		die("fdatasync %s: %s", path, strerror(errno));
	close_or_die(fd, path);
	return b->spill_size / 1e6 / (now() - t0);
}

/* (e) on kvfs: the older half of the spill, as HiCache reads a page. */
static double e_cold_kvfs(struct bench *b, struct target *t, uint64_t seq, unsigned n)
{
	char path[PATH_MAX + 32], dir[PATH_MAX + 16];
	struct stat st;
	double t0 = now();

	sub_path(dir, sizeof(dir), t, "spill");
	for (unsigned i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%06u.bin", dir, i);
		int fd = open(path, O_RDONLY);

		if (fd < 0 || fstat(fd, &st) < 0)
			die("open %s: %s", path, strerror(errno));
		if ((size_t)st.st_size != KVFS_BENCH_SPILL_FILE)
			die("fstat %s: size %lld, wrote %lu", path, (long long)st.st_size,
			    KVFS_BENCH_SPILL_FILE);
		ssize_t r = read(fd, b->rbuf, KVFS_BENCH_SPILL_FILE);

		if (r != (ssize_t)KVFS_BENCH_SPILL_FILE)
			die("read %s: %s", path, r < 0 ? strerror(errno) : "short read");
		check_range(b->rbuf, KVFS_BENCH_SPILL_FILE, 0, seq << 32 | i, path);
		close_or_die(fd, path);
	}
	return n * (KVFS_BENCH_SPILL_FILE / 1e6) / (now() - t0);
}

/* (e) raw: the same number of bytes, 8 MiB O_DIRECT reads. */
static double e_cold_raw(struct bench *b, struct target *t, uint64_t seq, unsigned n)
{
	char path[PATH_MAX + 32];
	double t0 = now();
	int fd;

	raw_path(path, sizeof(path), t);
	fd = open(path, O_RDONLY | O_DIRECT);
	if (fd < 0)
		die("open %s O_DIRECT: %s", path, strerror(errno));
	for (size_t off = 0; off < n * KVFS_BENCH_SPILL_FILE; off += KVFS_BENCH_SPILL_FILE) {
		if (pread(fd, b->rbuf, KVFS_BENCH_SPILL_FILE, (off_t)off) !=
		    (ssize_t)KVFS_BENCH_SPILL_FILE)
			die("read %s O_DIRECT: %s", path, strerror(errno));
		check_range(b->rbuf, KVFS_BENCH_SPILL_FILE, off, seq, path);
	}
	close_or_die(fd, path);
	return n * (KVFS_BENCH_SPILL_FILE / 1e6) / (now() - t0);
}

/* (f) ds4-server's lookup: readdir, then stat, open, read the first 52
 * bytes and close, for every file.  Returns scans per second. */
static double f_scan(struct bench *b, struct target *t, uint64_t seq)
{
	char path[PATH_MAX + 300], dir[PATH_MAX + 16], head[KVFS_BENCH_HEAD];
	unsigned n = 0;
	struct stat st;
	struct dirent *de;
	double t0 = now();
	DIR *d;

	sub_path(dir, sizeof(dir), t, "scan");
	if (!(d = opendir(dir)))
		die("opendir %s: %s", dir, strerror(errno));
	while ((de = readdir(d))) {
		unsigned i;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st) < 0)
			die("stat %s: %s", path, strerror(errno));
		if ((size_t)st.st_size != b->scan_size)
			die("stat %s: size %lld, wrote %zu", path, (long long)st.st_size,
			    b->scan_size);
		int fd = open(path, O_RDONLY);

		if (fd < 0)
			die("open %s: %s", path, strerror(errno));
		if (read_full(fd, head, sizeof(head), path) != sizeof(head))
			die("read %s: short read of the first %d bytes", path, KVFS_BENCH_HEAD);
		close_or_die(fd, path);
		if (sscanf(de->d_name, "%8x", &i) != 1 || !stamp_ok(head, scan_tag(seq, i), 0))
			die("%s: wrong data in its first bytes", path);
		n++;
	}
	closedir(d);
	if (n != b->scan_files)
		die("readdir %s: %u files, wrote %u", dir, n, b->scan_files);
	return 1 / (now() - t0);
}

/* Untimed: makes the directories and the scan files (and the raw target's
 * preallocated spill file). */
static void ssd_prepare(struct bench *b, struct target *t, uint64_t seq)
{
	char path[PATH_MAX + 128], dir[PATH_MAX + 16];

	sub_path(dir, sizeof(dir), t, "scan");
	if (mkdir(dir, 0755) < 0)
		die("mkdir %s: %s", dir, strerror(errno));
	for (unsigned i = 0; i < b->scan_files; i++) {
		scan_path(path, sizeof(path), dir, seq, i);
		write_file(b, path, b->scan_size, scan_tag(seq, i));
	}
	sub_path(dir, sizeof(dir), t, "spill");
	if (mkdir(dir, 0755) < 0)
		die("mkdir %s: %s", dir, strerror(errno));
	if (is_kvfs(t))
		return;
	raw_path(path, sizeof(path), t);
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);

	if (fd < 0)
		die("create %s: %s", path, strerror(errno));
	int r = posix_fallocate(fd, 0, (off_t)b->spill_size);

	if (r)
		die("fallocate %s: %s", path, strerror(r));
	close_or_die(fd, path);
}

/* syncfs on a directory of the work directory (the raw side of (d)). */
static void sync_dir(struct target *t, const char *sub)
{
	char dir[PATH_MAX + 16];
	int fd;

	sub_path(dir, sizeof(dir), t, sub);
	fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0 || syncfs(fd) < 0)
		die("syncfs %s: %s", dir, strerror(errno));
	close(fd);
}

/* Removes a directory of the work directory and its files. */
static void remove_sub(struct target *t, const char *sub)
{
	char dir[PATH_MAX + 16], path[PATH_MAX + 300];
	struct dirent *de;
	DIR *d;

	sub_path(dir, sizeof(dir), t, sub);
	if (!(d = opendir(dir)))
		return;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		xunlink(path);
	}
	closedir(d);
	if (rmdir(dir) < 0)
		die("rmdir %s: %s", dir, strerror(errno));
}

/* kvfs keeps slabs without O_DIRECT in the page cache: drop it, untimed. */
static void drop_slab_cache(struct bench *b, const struct target *t)
{
	int fd;

	if (kvfs_stat(t, STORE, "ssd_direct_io") != 0)
		return;
	sync();
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	if (fd < 0 || write(fd, "1", 1) != 1)
		die("%s reads its slabs through the page cache (ssd_direct_io false) and "
		    "/proc/sys/vm/drop_caches cannot be written (%s): (e) would not be cold; "
		    "run as root", t->label, strerror(errno));
	close(fd);
	b->dropped_caches = 1;
}

static void run_ssd(struct bench *b, struct target *t, unsigned rep)
{
	uint64_t seq = ++b->seq;
	unsigned ncold = spill_files(b) / 2;
	int64_t flushes0 = 0, errors0 = 0, reads0 = 0;
	double (*m)[KVFS_BENCH_MAX_REPEAT] = t->m;
	bool kv = is_kvfs(t);
	struct cpu_mark c;

	if (kv) {
		flushes0 = kvfs_stat(t, STORE, "flushes");
		errors0 = kvfs_stat(t, STORE, "flush_errors");
	}
	ssd_prepare(b, t, seq);
	/* The scan files go to the disk before (d), untimed, on both sides:
	 * (d) times the spill's bytes only (kvfs's flusher used to be still
	 * writing the 1 GiB of scan files while (d) ran, and the raw side's
	 * page cache wrote its copy back whenever it liked). */
	if (kv)
		wait_flushed(t, flushes0 + b->scan_files, errors0);
	else
		sync_dir(t, "scan");
	settle(b, t);
	cpu_mark(b, &c);
	if (kv)
		m[M_D_SPILL][rep] = d_spill_kvfs(b, t, seq, flushes0 + b->scan_files +
						 spill_files(b), errors0, &m[M_D_WRITE][rep]);
	else
		m[M_D_SPILL][rep] = d_spill_raw(b, t, seq);
	cpu_other(b, &c, t, rep);

	if (kv)
		m[M_F_NOT_SSD][rep] = not_ssd_only(b, t, seq, b->scan_files, true);
	settle(b, t);
	cpu_mark(b, &c);
	if (kv)
		reads0 = kvfs_stat(t, STORE, "ssd_reads");
	m[M_F_SCAN][rep] = f_scan(b, t, seq);
	m[M_F_SCAN_AGAIN][rep] = f_scan(b, t, seq);
	if (kv)
		m[M_F_SSD_READS][rep] = (double)(kvfs_stat(t, STORE, "ssd_reads") - reads0);
	cpu_other(b, &c, t, rep);

	if (kv) {
		m[M_E_NOT_SSD][rep] = not_ssd_only(b, t, seq, ncold, false);
		drop_slab_cache(b, t);
	}
	settle(b, t);
	cpu_mark(b, &c);
	m[M_E_COLD][rep] = kv ? e_cold_kvfs(b, t, seq, ncold) : e_cold_raw(b, t, seq, ncold);
	cpu_other(b, &c, t, rep);
	remove_sub(t, "spill");
	remove_sub(t, "scan");

	for (int k = M_D_SPILL; k <= M_F_SSD_READS; k++)
		t->has[k] = kv || (k != M_D_WRITE && k != M_E_NOT_SSD && k != M_F_NOT_SSD &&
				   k != M_F_SSD_READS);
	fprintf(stderr, "  %-8s (d) spill %6.0f MB/s  (f) scan %6.1f /s (again %6.1f)  (e) cold "
		"read %6.0f MB/s", t->label, m[M_D_SPILL][rep], m[M_F_SCAN][rep],
		m[M_F_SCAN_AGAIN][rep], m[M_E_COLD][rep]);
	if (kv)
		fprintf(stderr, "; written %.0f MB/s, not SSD-only %.0f + %.0f, SSD reads in "
			"scans %.0f", m[M_D_WRITE][rep], m[M_F_NOT_SSD][rep],
			m[M_E_NOT_SSD][rep], m[M_F_SSD_READS][rep]);
	fprintf(stderr, "; other CPU %.0f%%, steal %.0f%%\n", 100 * t->other[rep],
		100 * t->steal[rep]);
}

/* ---- (h) ds4's hit path ------------------------------------------------ */

/* <work>/ds4/<40 hex>.kv, the first 8 hex digits saying which file. */
static void h_path(char *out, size_t size, const struct target *t, uint64_t seq,
		   unsigned i)
{
	char dir[PATH_MAX + 16];

	sub_path(dir, sizeof(dir), t, "ds4");
	scan_path(out, size, dir, seq ^ 0x68, i);
}

/* Untimed: the scanned files, written as ds4 does (temp name, rename). */
static void h_prepare(struct bench *b, struct target *t, uint64_t seq)
{
	char dir[PATH_MAX + 16], path[PATH_MAX + 300], tmp[PATH_MAX + 340];

	sub_path(dir, sizeof(dir), t, "ds4");
	if (mkdir(dir, 0755) < 0)
		die("mkdir %s: %s", dir, strerror(errno));
	for (unsigned i = 0; i < b->h_files; i++) {
		h_path(path, sizeof(path), t, seq, i);
		snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
		write_file(b, tmp, b->h_size, scan_tag(seq, i));
		if (rename(tmp, path) < 0)
			die("rename %s: %s", tmp, strerror(errno));
	}
}

/* One scan as ds4-server does at every request: readdir, and for every
 * 43-character "<40 hex>.kv": stat, fopen "rb", fread 48 + 4, fclose.
 * Files of the busy writer are read like the others but not checked.
 * Returns seconds. */
static double h_scan(struct bench *b, struct target *t, uint64_t seq)
{
	char path[PATH_MAX + 300], dir[PATH_MAX + 16], head[KVFS_BENCH_HEAD];
	unsigned n = 0, i;
	struct dirent *de;
	struct stat st;
	double t0 = now();
	FILE *f;
	DIR *d;

	sub_path(dir, sizeof(dir), t, "ds4");
	if (!(d = opendir(dir)))
		die("opendir %s: %s", dir, strerror(errno));
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);

		if (len != 43 || strcmp(de->d_name + 40, ".kv") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st) < 0 || !(f = fopen(path, "rb"))) {
			if (errno == ENOENT && de->d_name[0] == 'w')
				continue; /* the writer's, unlinked meanwhile */
			die("stat/fopen %s: %s", path, strerror(errno));
		}
		if (fread(head, 1, 48, f) != 48 || fread(head + 48, 1, 4, f) != 4)
			die("fread %s: short read of the first %d bytes", path, KVFS_BENCH_HEAD);
		fclose(f);
		if (de->d_name[0] == 'w')
			continue;
		if (sscanf(de->d_name, "%8x", &i) != 1 || !stamp_ok(head, scan_tag(seq, i), 0))
			die("%s: wrong data in its first bytes", path);
		n++;
	}
	closedir(d);
	if (n != b->h_files)
		die("readdir %s: %u files, wrote %u", dir, n, b->h_files);
	return now() - t0;
}

/* The daemon's requests so far: the sum of every operation's "requests"
 * in .kvfs/stats.json (reading it costs a handful). */
static uint64_t h_requests(const struct target *t)
{
	static char buf[256 * 1024];
	char path[PATH_MAX + 32], *p;
	uint64_t sum = 0;
	size_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/.kvfs/stats.json", t->mnt);
	if ((fd = open(path, O_RDONLY)) < 0)
		die("open %s: %s", path, strerror(errno));
	n = read_full(fd, buf, sizeof(buf) - 1, path);
	close(fd);
	buf[n] = '\0';
	for (p = buf; (p = strstr(p, "\"requests\": ")); p += 12)
		sum += strtoull(p + 12, NULL, 10);
	return sum;
}

/* The busy writer (a child process): publishes 32 MiB files into the
 * scanned directory as w<39 hex>.kv (temp name, write()s of 4 MiB, close,
 * rename) and unlinks the one before, until killed.  Never returns. */
static _Noreturn void h_writer(struct bench *b, const struct target *t)
{
	char dir[PATH_MAX + 16], path[2][PATH_MAX + 64], tmp[PATH_MAX + 96];

	sub_path(dir, sizeof(dir), t, "ds4");
	for (unsigned long k = 0;; k++) {
		char *cur = path[k & 1];
		int fd;

		snprintf(cur, sizeof(path[0]), "%s/w%039lx.kv", dir, k);
		snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", cur, (long)getpid());
		if ((fd = open(tmp, O_CREAT | O_TRUNC | O_WRONLY, 0644)) < 0)
			_exit(1);
		for (size_t off = 0; off < KVFS_BENCH_H_WRITER; off += 4 * MIB)
			if (write(fd, b->wbuf, 4 * MIB) != (ssize_t)(4 * MIB))
				_exit(1);
		if (close(fd) < 0 || rename(tmp, cur) < 0)
			_exit(1);
		if (k > 0)
			(void)unlink(path[(k - 1) & 1]);
	}
}

/* n scans; v[] gets their times in seconds, sorted. */
static void h_scans(struct bench *b, struct target *t, uint64_t seq, double *v,
		    unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		v[i] = h_scan(b, t, seq);
	qsort(v, n, sizeof(*v), cmp_double);
}

/* Nearest-rank percentile of sorted v[0..n). */
static double h_pct(const double *v, unsigned n, double pct)
{
	unsigned k = (unsigned)(pct / 100 * n + 0.999999);

	return v[k ? k - 1 : 0];
}

/* A 48-byte header rewrite right after the publish of a file of
 * h_rewrite_size bytes (written untimed): milliseconds, open to close. */
static double h_rewrite(struct bench *b, struct target *t, uint64_t seq)
{
	char path[PATH_MAX + 32], tmp[PATH_MAX + 64], head[KVFS_BENCH_HEAD];
	double t0, t1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/rewrite.kv", t->work);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	write_file(b, tmp, b->h_rewrite_size, seq);
	if (rename(tmp, path) < 0)
		die("rename %s: %s", tmp, strerror(errno));
	t0 = now();
	if (!(f = fopen(path, "r+b")) || fread(head, 1, sizeof(head), f) != sizeof(head) ||
	    fseek(f, 0, SEEK_SET) != 0)
		die("fopen r+b / fread %s: %s", path, strerror(errno));
	stamp_at(head, seq + 1, 0);
	if (fwrite(head, 1, 48, f) != 48 || fclose(f) != 0)
		die("fwrite %s: %s", path, strerror(errno));
	t1 = now();
	if (!(f = fopen(path, "rb")) || fread(head, 1, 48, f) != 48)
		die("read back %s: %s", path, strerror(errno));
	fclose(f);
	if (!stamp_ok(head, seq + 1, 0))
		die("%s: the rewritten header did not read back", path);
	xunlink(path);
	return (t1 - t0) * 1e3;
}

static void run_h(struct bench *b, struct target *t, unsigned rep)
{
	uint64_t seq = ++b->seq, req0 = 0;
	double (*m)[KVFS_BENCH_MAX_REPEAT] = t->m;
	double *v = calloc(b->h_scans, sizeof(*v));
	bool kv = is_kvfs(t);
	struct cpu_mark c;
	pid_t pid;
	int status;

	if (!v)
		die("out of memory");
	h_prepare(b, t, seq);
	settle(b, t);
	cpu_mark(b, &c);
	if (kv)
		req0 = h_requests(t);
	h_scans(b, t, seq, v, b->h_scans);
	if (kv)
		m[M_H_TRIPS][rep] = (double)(h_requests(t) - req0) /
				    ((double)b->h_scans * b->h_files);
	cpu_other(b, &c, t, rep);
	m[M_H_SCAN][rep] = b->h_files / h_pct(v, b->h_scans, 50);
	m[M_H_SCAN_TAIL][rep] = h_pct(v, b->h_scans, 99) / h_pct(v, b->h_scans, 50);

	/* Beside the writer: its CPU is the point here, so not counted as
	 * interference. */
	settle(b, t);
	if ((pid = fork()) < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0)
		h_writer(b, t);
	usleep(200000); /* the writer is under way */
	h_scans(b, t, seq, v, b->h_scans);
	kill(pid, SIGKILL);
	if (waitpid(pid, &status, 0) != pid || !WIFSIGNALED(status))
		die("the (h) writer process failed (status %d)", status);
	m[M_H_BUSY][rep] = b->h_files / h_pct(v, b->h_scans, 50);
	m[M_H_BUSY_TAIL][rep] = h_pct(v, b->h_scans, 99) / h_pct(v, b->h_scans, 50);
	remove_sub(t, "ds4");
	free(v);

	settle(b, t);
	m[M_H_REWRITE][rep] = h_rewrite(b, t, seq);
	for (int k = M_H_SCAN; k <= M_H_REWRITE; k++)
		t->has[k] = kv || k != M_H_TRIPS;
	fprintf(stderr, "  %-8s (h) scan %6.0f files/s (p99 %.1fx), beside a writer %6.0f "
		"files/s (p99 %.1fx); rewrite %.3f ms", t->label, m[M_H_SCAN][rep],
		m[M_H_SCAN_TAIL][rep], m[M_H_BUSY][rep], m[M_H_BUSY_TAIL][rep],
		m[M_H_REWRITE][rep]);
	if (kv)
		fprintf(stderr, "; %.2f requests/file", m[M_H_TRIPS][rep]);
	fprintf(stderr, "; other CPU %.0f%%\n", 100 * t->other[rep]);
}

/* ---- (i) names: stat after temp + rename, misses ------------------------ */

/* (i)'s names: page_path()'s, written for i < KVFS_BENCH_NAMES. */
static char **i_paths(const struct target *t, uint64_t seq, unsigned first, unsigned n)
{
	char path[PATH_MAX + 128], **v = calloc(n, sizeof(*v));

	if (!v)
		die("out of memory");
	for (unsigned i = 0; i < n; i++) {
		page_path(path, sizeof(path), t, seq, first + i, "");
		if (!(v[i] = strdup(path)))
			die("out of memory");
	}
	return v;
}

static void i_free(char **v, unsigned n, bool unlink_them)
{
	for (unsigned i = 0; i < n; i++) {
		if (unlink_them)
			xunlink(v[i]);
		free(v[i]);
	}
	free(v);
}

/* Untimed: each file written to a temp name, closed, renamed (HiCache). */
static void i_write(struct bench *b, uint64_t seq, char **fin)
{
	char tmp[PATH_MAX + 160];

	for (unsigned i = 0; i < KVFS_BENCH_NAMES; i++) {
		snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", fin[i], (long)getpid());
		int fd = open(tmp, O_CREAT | O_TRUNC | O_WRONLY, 0644);

		if (fd < 0)
			die("create %s: %s", tmp, strerror(errno));
		stamp_range(b->wbuf, KVFS_BENCH_NAME_SIZE, 0, seq << 32 | i);
		write_full(fd, b->wbuf, KVFS_BENCH_NAME_SIZE, tmp);
		close_or_die(fd, tmp);
		if (rename(tmp, fin[i]) < 0)
			die("rename %s -> %s: %s", tmp, fin[i], strerror(errno));
	}
}

/* access(F_OK) of each of v[0..n), which must exist. */
static double i_access(char **v, unsigned n)
{
	double t0 = now();

	for (unsigned i = 0; i < n; i++)
		if (access(v[i], F_OK) != 0)
			die("access %s: %s (it was just renamed there)", v[i], strerror(errno));
	return n / (now() - t0);
}

/* rounds x stat() of each of v[0..n): present (with its size) or ENOENT. */
static double i_stat(char **v, unsigned n, unsigned rounds, bool present)
{
	struct stat st;
	double t0 = now();

	for (unsigned r = 0; r < rounds; r++)
		for (unsigned i = 0; i < n; i++) {
			int rc = stat(v[i], &st);

			if (present && rc < 0)
				die("stat %s: %s (it was just renamed there)", v[i],
				    strerror(errno));
			if (present && st.st_size != KVFS_BENCH_NAME_SIZE)
				die("stat %s: size %lld, wrote %d", v[i],
				    (long long)st.st_size, KVFS_BENCH_NAME_SIZE);
			if (!present && (rc == 0 || errno != ENOENT))
				die("stat %s: %s (never written; want ENOENT)", v[i],
				    rc == 0 ? "found" : strerror(errno));
		}
	return n * rounds / (now() - t0);
}

/* Name requests (lookup + getattr) the kvfs daemon has answered so far. */
static int64_t i_requests(const struct target *t)
{
	int64_t l = kvfs_stat(t, "\"lookup\": {", "requests");
	int64_t g = kvfs_stat(t, "\"getattr\": {", "requests");

	return (l > 0 ? l : 0) + (g > 0 ? g : 0);
}

static void run_i(struct bench *b, struct target *t, unsigned rep)
{
	uint64_t seq = ++b->seq;
	char **have = i_paths(t, seq, 0, KVFS_BENCH_NAMES);
	char **miss = i_paths(t, seq, KVFS_BENCH_NAMES, KVFS_BENCH_MISSES);
	double (*m)[KVFS_BENCH_MAX_REPEAT] = t->m;
	bool k = is_kvfs(t);
	int64_t r[5] = { 0 }, self = 0;
	struct cpu_mark c;

	i_write(b, seq, have);
	if (k) {	/* what reading the counters costs, to subtract */
		self = i_requests(t);
		self = i_requests(t) - self;
	}
	settle(b, t);
	cpu_mark(b, &c);
	r[4] = k ? i_requests(t) : 0;
	m[M_I_ACCESS_FIRST][rep] = i_access(have, KVFS_BENCH_NAMES);
	r[0] = k ? i_requests(t) : 0;
	m[M_I_STAT_FIRST][rep] = i_stat(have, KVFS_BENCH_NAMES, 1, true);
	r[1] = k ? i_requests(t) : 0;
	m[M_I_STAT_AGAIN][rep] = i_stat(have, KVFS_BENCH_NAMES, KVFS_BENCH_AGAIN, true);
	r[2] = k ? i_requests(t) : 0;
	m[M_I_MISS_FIRST][rep] = i_stat(miss, KVFS_BENCH_MISSES, 1, false);
	r[3] = k ? i_requests(t) : 0;
	m[M_I_MISS_AGAIN][rep] = i_stat(miss, KVFS_BENCH_MISSES, KVFS_BENCH_AGAIN, false);
	cpu_other(b, &c, t, rep);
	i_free(have, KVFS_BENCH_NAMES, true);
	i_free(miss, KVFS_BENCH_MISSES, false);

	m[M_I_REQ_ACCESS][rep] = (double)(r[0] - r[4] - self) / KVFS_BENCH_NAMES;
	m[M_I_REQ_STAT][rep] = (double)(r[1] - r[0] - self) / KVFS_BENCH_NAMES;
	m[M_I_REQ_MISS][rep] = (double)(r[3] - r[2] - self) / KVFS_BENCH_MISSES;
	for (int i = M_I_ACCESS_FIRST; i <= M_I_MISS_AGAIN; i++)
		t->has[i] = true;
	t->has[M_I_REQ_ACCESS] = t->has[M_I_REQ_STAT] = t->has[M_I_REQ_MISS] = k;
	fprintf(stderr, "  %-8s (i) access after rename %7.0f /s, stat %7.0f /s (again %7.0f), "
		"first miss %7.0f /s (again %7.0f)", t->label, m[M_I_ACCESS_FIRST][rep],
		m[M_I_STAT_FIRST][rep],
		m[M_I_STAT_AGAIN][rep], m[M_I_MISS_FIRST][rep], m[M_I_MISS_AGAIN][rep]);
	if (k)
		fprintf(stderr, "; requests per first access %.2f, stat %.2f, miss %.2f, "
			"during the repeats %lld", m[M_I_REQ_ACCESS][rep], m[M_I_REQ_STAT][rep],
			m[M_I_REQ_MISS][rep],
			(long long)(r[2] - r[1] - self));
	fprintf(stderr, "; other CPU %.0f%%\n", 100 * t->other[rep]);
}


/* ---- (g) restart ------------------------------------------------------ */

/* Runs argv (fusermount3 -u) and waits; returns its exit status or -1. */
static int run_cmd(char *const argv[])
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0) {
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static bool mounted_fuse(const char *dir)
{
	struct target probe = { .label = "probe" };

	if (!realpath(dir, probe.path))
		return false;
	find_mount(probe.path, probe.fstype, sizeof(probe.fstype), probe.mnt, sizeof(probe.mnt));
	return strcmp(probe.mnt, probe.path) == 0 && strncmp(probe.fstype, "fuse", 4) == 0;
}

/* Unmounts the restarted daemon and waits for it (60 s, then kills it). */
static void restart_stop(struct bench *b)
{
	char *um[] = { "fusermount3", "-u", (char *)b->restart_mnt, NULL };
	char *um2[] = { "umount", (char *)b->restart_mnt, NULL };
	pid_t pid = (pid_t)b->child_pid;
	double t0 = now();

	if (!pid)
		return;
	if (mounted_fuse(b->restart_mnt) && run_cmd(um) != 0)
		run_cmd(um2);
	while (waitpid(pid, NULL, WNOHANG) == 0) {
		if (now() - t0 > 60) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			break;
		}
		usleep(10000);
	}
	b->child_pid = 0;
}

/*
 * Starts the daemon (--restart-exec, in the foreground) and stats
 * MNT/PROBE every 0.5 ms until it answers; returns the seconds from fork to
 * that answer.  Before the mount appears the stat() lands in the empty
 * directory beneath and fails with ENOENT.  Cold: the page cache is dropped
 * first (the index is read from the disk, as after a reboot).
 */
static double restart_once(struct bench *b, bool cold, unsigned rep)
{
	static struct target meter;	/* what cpu_other() fills in */
	char path[PATH_MAX + 128];
	struct target *t = &meter;
	struct stat st;
	struct cpu_mark c;
	double t0, dt;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/%s", b->restart_mnt, b->restart_probe);
	if (stat(path, &st) == 0 || mounted_fuse(b->restart_mnt))
		die("%s exists before the daemon started: is something mounted on %s?",
		    path, b->restart_mnt);
	if (cold) {
		int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);

		sync();
		if (fd < 0 || write(fd, "1", 1) != 1)
			die("cannot write /proc/sys/vm/drop_caches: %s", strerror(errno));
		close(fd);
	}
	quiet(b);
	memset(t, 0, sizeof(*t));
	cpu_mark(b, &c);
	t0 = now();
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		int log = open(b->restart_log ? b->restart_log : "/dev/null",
			       O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (log >= 0) {
			dup2(log, STDOUT_FILENO);
			dup2(log, STDERR_FILENO);
		}
		execv(b->restart_argv[0], b->restart_argv);
		_exit(127);
	}
	b->child_pid = pid;
	while (stat(path, &st) != 0) {
		if (errno != ENOENT)
			die("stat %s: %s", path, strerror(errno));
		if (waitpid(pid, NULL, WNOHANG) == pid) {
			b->child_pid = 0;
			die("the restarted kvfs exited before %s appeared (its log: %s)", path,
			    b->restart_log ? b->restart_log : "none, see --restart-log");
		}
		if (now() - t0 > 300)
			die("%s did not appear within 300 s of starting kvfs", path);
		usleep(500);
	}
	if (b->restart_read) {
		int fd = open(path, O_RDONLY);
		char *buf;
		size_t got;

		if (fd < 0)
			die("open %s: %s", path, strerror(errno));
		buf = xmalloc((size_t)st.st_size + 1);
		got = read_full(fd, buf, (size_t)st.st_size + 1, path);
		close(fd);
		free(buf);
		if (got != (size_t)st.st_size)
			die("%s: read %zu bytes of %lld", path, got, (long long)st.st_size);
	}
	dt = now() - t0;
	cpu_other(b, &c, t, 0);
	b->restart_other[rep] = t->other[0] > b->restart_other[rep] ? t->other[0] :
				b->restart_other[rep];
	if (!mounted_fuse(b->restart_mnt))
		die("%s is not a FUSE mount after the probe succeeded", b->restart_mnt);
	if (b->restart_read) {
		struct target k = { .label = "kvfs-restart" };

		snprintf(k.mnt, sizeof(k.mnt), "%s", b->restart_mnt);
		b->restart_ssd_reads[rep] = (double)kvfs_stat(&k, STORE, "ssd_io_reads");
		if (b->restart_ssd_reads[rep] < 0)
			die("%s/.kvfs/stats.json has no store.ssd_io_reads", b->restart_mnt);
	}
	restart_stop(b);
	if (b->restart_read)
		fprintf(stderr, "  restart  (m) %s read whole after %.3f s, %.0f SSD reads; other "
			"CPU %.0f%%, steal %.0f%%\n", b->restart_probe, dt,
			b->restart_ssd_reads[rep], 100 * t->other[0], 100 * t->steal[0]);
	else
		fprintf(stderr, "  restart  (g) first lookup after %.3f s%s; other CPU %.0f%%, "
			"steal %.0f%%\n", dt, cold ? " (cold page cache)" : "",
			100 * t->other[0], 100 * t->steal[0]);
	return dt;
}

static void run_restart(struct bench *b, unsigned rep)
{
	b->restart_s[rep] = restart_once(b, false, rep);
	if (b->restart_cold)
		b->restart_cold_s[rep] = restart_once(b, true, rep);
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
	find_mount(t->path, t->fstype, sizeof(t->fstype), t->mnt, sizeof(t->mnt));
	/* A slow mount must not send kvfs's I/O to the directory beneath. */
	if (is_kvfs(t) && strncmp(t->fstype, "fuse", 4) != 0)
		die("target %s=%s is not a FUSE mount (%s): mount kvfs there first",
		    t->label, t->path, t->fstype);
	/* kvfs-ssd* (a kvfs with ssd=) and ssd (raw I/O beside its slabs). */
	t->ssd_role = strncmp(t->label, "kvfs-ssd", 8) == 0 || strcmp(t->label, "ssd") == 0;
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
	if (strcmp(r->base, "memcpy_quiet_write") == 0) {
		*v = median(b->quiet_w_mbps, b->repeat);
		return true;
	}
	if (strcmp(r->base, "memcpy_quiet_read") == 0) {
		*v = median(b->quiet_r_mbps, b->repeat);
		return true;
	}
	if (strcmp(r->base, "kernel_tmpfs_write") == 0) {
		*v = median(b->kernel_w_mbps, b->repeat);
		return *v > 0;
	}
	if (!(base = find_label(b, r->base)) || !base->has[r->m])
		return false;
	*v = median(base->m[r->m], b->repeat);
	return true;
}

/* One ratio of medians, as printed and written to the JSON. */
struct ratio_val {
	const char *target, *name, *base;
	double value, goal;		/* goal 0: none */
};

#define MAX_RATIOS (KVFS_BENCH_MAX_TARGETS * NR_RATIOS + 2)

/*
 * Every ratio this run can give: kvfs* targets over their bases (both
 * measured), and (g) as the 2 s budget over the measured time, so that
 * like the others a value >= 1 meets the goal and larger is faster.
 */
static unsigned collect_ratios(const struct bench *b, struct ratio_val *out)
{
	unsigned n = 0;

	for (unsigned i = 0; i < b->nt; i++) {
		const struct target *t = &b->t[i];

		for (unsigned r = 0; r < NR_RATIOS && is_kvfs(t); r++) {
			const struct ratio_def *d = &ratio_defs[r];
			double base;

			if (!t->has[d->m] || !ratio_base(b, d, &base))
				continue;
			out[n++] = (struct ratio_val){ t->label, d->name, d->base,
				median(t->m[d->m], b->repeat) / base, d->goal };
		}
	}
	if (b->restart_argv && b->restart_read) {
		out[n++] = (struct ratio_val){ "kvfs-restart-mem", "m_restart_mem_vs_2s", "2 s",
			KVFS_BENCH_RESTART_GOAL / median(b->restart_s, b->repeat), 1.0 };
		/* 1 when no run read the SSD (the goal), else 0 */
		out[n++] = (struct ratio_val){ "kvfs-restart-mem", "m_no_ssd_reads", "0 reads",
			max_of(b->restart_ssd_reads, b->repeat) == 0 ? 1.0 : 0.0, 1.0 };
	} else if (b->restart_argv) {
		out[n++] = (struct ratio_val){ "kvfs-restart", "g_restart_vs_2s", "2 s",
			KVFS_BENCH_RESTART_GOAL / median(b->restart_s, b->repeat), 1.0 };
	}
	if (b->restart_cold)
		out[n++] = (struct ratio_val){ "kvfs-restart", "g_restart_cold_vs_2s", "2 s",
			KVFS_BENCH_RESTART_GOAL / median(b->restart_cold_s, b->repeat), 0 };
	return n;
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

/* Whether some target runs (d)-(f) (ssd) or (a), (b) (!ssd). */
static bool any_role(const struct bench *b, bool ssd)
{
	for (unsigned i = 0; i < b->nt; i++)
		if (b->t[i].ssd_role == ssd)
			return true;
	return false;
}

static void print_table(const struct bench *b)
{
	unsigned n = b->repeat;

	printf("\n");
	print_machine(stdout, false);
	printf("method: medians of %u runs, targets interleaved; MB = 10^6 bytes; ±%% = "
	       "(max-min)/median;\n  %.1f s of quiet (and syncfs) before each timed phase\n",
	       n, b->settle);
	if (any_role(b, false)) {
		printf("  (a) one %zu MiB file, 1 MiB write()s timed through close() (kvfs "
		       "publishes at close), NO fsync;\n      rewrite = the same again at once "
		       "(O_TRUNC); read back with 1 MiB read()s, warm (after\n      the settle's "
		       "syncfs: a disk's page cache), then after sync_file_range +\n      "
		       "POSIX_FADV_DONTNEED (untimed)\n", b->a_size / MIB);
		printf("  (b) %u files of %zu KiB: write <hex>.bin.tmp.<pid> + rename; %u stat() "
		       "probes, half ENOENT,\n      then the same probes again; open+fstat+one "
		       "read() per file, cold = after the cache drop,\n      warm = right after "
		       "writing; all = %u files / (write + first probes + cold read time)\n",
		       b->b_files, b->b_size / 1024, b->probes, b->b_files);
		if (b->h_files)
			printf("  (h) ds4 scan of %u files of %zu KiB (readdir + stat + fopen + fread "
			       "48+4 + fclose), %u times\n      alone and %u times beside a process "
			       "publishing %lu MiB files; files/s at the median scan,\n      p99/median "
			       "(goal <= %.0f); kvfs: daemon requests per file; then fopen r+b + fread "
			       "52 +\n      fwrite 48 + fclose of a %zu MiB file right after its publish "
			       "(goal <= %.0f ms)\n", b->h_files, b->h_size / 1024, b->h_scans,
			       b->h_scans, KVFS_BENCH_H_WRITER / MIB, KVFS_BENCH_H_TAIL_GOAL,
			       b->h_rewrite_size / MIB, KVFS_BENCH_H_REWRITE_GOAL);
		printf("  (i) %d files of %d KiB written by temp + rename, then access(F_OK) and "
		       "stat() of each\n      (the first probes after the rename), the stats x%d "
		       "again;\n      %d never-written names stat()ed "
		       "(first-ever miss) and x%d again; requests = lookup + getattr\n      "
		       "reaching the daemon, per name\n", KVFS_BENCH_NAMES,
		       KVFS_BENCH_NAME_SIZE / 1024, KVFS_BENCH_AGAIN, KVFS_BENCH_MISSES,
		       KVFS_BENCH_AGAIN);
	}
	if (any_role(b, true)) {
		printf("  (d) spill: %zu MiB as 8 MiB files (write+close), timed until the flush "
		       "queue is empty and\n      every file is on the SSD (\"closed\": until the "
		       "last close); ssd: 8 MiB O_DIRECT writes\n      into a preallocated file, "
		       "then fdatasync\n", b->spill_size / MIB);
		printf("  (e) cold read of the older %u files of (d), SSD-only: open+fstat+one 8 MiB "
		       "read(); ssd: 8 MiB\n      O_DIRECT reads of the same bytes%s\n",
		       spill_files(b) / 2, b->dropped_caches ? " (slab page cache dropped first)" : "");
		printf("  (f) ds4 scan of %u SSD-only files of %zu KiB: readdir + stat + open + read "
		       "%d bytes + close,\n      twice; ssd: a plain directory, page cache warm; "
		       "kvfs must read nothing from the SSD\n", b->scan_files, b->scan_size / 1024,
		       KVFS_BENCH_HEAD);
	}
	if (b->restart_argv && b->restart_read)
		printf("  (m) restart, memory tier kept: exec of kvfs over %lu files in memory until "
		       "one is read whole:\n      %.3f s, %.0f SSD reads at most (runs",
		       b->restart_files, median(b->restart_s, n), max_of(b->restart_ssd_reads, n));
	else if (b->restart_argv)
		printf("  (g) restart: exec of kvfs over an index of %lu files until the first stat() "
		       "of one succeeds:\n      %.3f s (runs", b->restart_files,
		       median(b->restart_s, n));
	for (unsigned i = 0; b->restart_argv && i < n; i++)
		printf(" %.3f", b->restart_s[i]);
	if (b->restart_cold) {
		printf("); page cache dropped first: %.3f s (runs", median(b->restart_cold_s, n));
		for (unsigned i = 0; i < n; i++)
			printf(" %.3f", b->restart_cold_s[i]);
	}
	if (b->restart_argv)
		printf("); other CPU %.0f%% max\n", 100 * max_of(b->restart_other, n));
	printf("  (c) memcpy, 1 thread, %zu MiB pre-faulted: %.0f MB/s ±%.0f%%; first touch of "
	       "fresh anonymous memory: %.0f MB/s ±%.0f%%\n", b->memcpy_size / MIB,
	       median(b->memcpy_mbps, n), spread(b->memcpy_mbps, n),
	       median(b->touch_mbps, n), spread(b->touch_mbps, n));
	if (median(b->quiet_w_mbps, n) > 0)	/* measured where (a) runs */
		printf("      memcpy in (a)'s pattern, %zu MiB in 1 MiB pieces right after a %.1f s "
		       "quiet as (a) is: into memory %.0f MB/s ±%.0f%%, out of it %.0f MB/s ±%.0f%%\n",
		       b->a_size / MIB, b->settle, median(b->quiet_w_mbps, n),
		       spread(b->quiet_w_mbps, n), median(b->quiet_r_mbps, n),
		       spread(b->quiet_r_mbps, n));
	double kernel = median(b->kernel_w_mbps, n);

	if (kernel > 0)	/* timed beside the quiet memcpy, so that is > 0 too */
		printf("      (a)'s write after the same quiet into the kernel's own tmpfs (%s,\n"
		       "      huge=within_size), each huge page lent from a warm reserve as kvfs's:"
		       " %.0f MB/s ±%.0f%%,\n      %.2fx the quiet memcpy\n", b->ktier, kernel,
		       spread(b->kernel_w_mbps, n), kernel / median(b->quiet_w_mbps, n));
	printf("\n");
	if (b->nt == 0)
		goto warnings; /* a restart alone: no table */
	printf("%-26s", "");
	for (unsigned i = 0; i < b->nt; i++)
		printf(" %15s", b->t[i].label);
	printf("\n%-26s", "filesystem");
	for (unsigned i = 0; i < b->nt; i++)
		printf(" %15s", b->t[i].fstype);
	printf("\n");
	for (int m = 0; m < M_NR; m++) {
		bool any = false;

		for (unsigned i = 0; i < b->nt; i++)
			any |= b->t[i].has[m];
		if (!any)
			continue;
		printf("%-26s", metric_info[m].row);
		for (unsigned i = 0; i < b->nt; i++) {
			double v = median(b->t[i].m[m], n);

			if (!b->t[i].has[m])
				printf(" %15s", "-");
			else if (spread(b->t[i].m[m], n) != spread(b->t[i].m[m], n))
				printf(" %9.0f ±  -%%", v);	/* all zero */
			else
				printf(v < 100 ? " %9.1f ±%3.0f%%" : " %9.0f ±%3.0f%%", v,
				       spread(b->t[i].m[m], n));
		}
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
		const char *why = is_kvfs(t) && !b->nwatch ?
			" (the daemon counts: no --watch-pid)" : " (kernel threads count)";

		if (max_of(t->other, n) > KVFS_BENCH_OTHER_WARN)
			printf("WARNING: something else used %.0f%% of a CPU during a timed %s phase%s;"
			       " rerun on a quiet machine\n", 100 * max_of(t->other, n), t->label, why);
		if (is_kvfs(t) && t->has[M_H_SCAN] &&
		    (median(t->m[M_H_SCAN_TAIL], n) > KVFS_BENCH_H_TAIL_GOAL ||
		     median(t->m[M_H_BUSY_TAIL], n) > KVFS_BENCH_H_TAIL_GOAL))
			printf("WARNING: %s: the (h) scans' 99th percentile is %.1fx (alone) and "
			       "%.1fx (beside the writer) the median (goal <= %.0fx)\n", t->label,
			       median(t->m[M_H_SCAN_TAIL], n), median(t->m[M_H_BUSY_TAIL], n),
			       KVFS_BENCH_H_TAIL_GOAL);
		if (is_kvfs(t) && t->has[M_H_REWRITE] &&
		    median(t->m[M_H_REWRITE], n) > KVFS_BENCH_H_REWRITE_GOAL)
			printf("WARNING: %s: the (h) header rewrite after publish took %.3f ms "
			       "(goal <= %.0f ms)\n", t->label, median(t->m[M_H_REWRITE], n),
			       KVFS_BENCH_H_REWRITE_GOAL);
		if (t->has[M_F_SSD_READS] && max_of(t->m[M_F_SSD_READS], n) > 0)
			printf("WARNING: %s read the SSD %.0f times during the (f) scans (must be 0: "
			       "the heads of SSD-only files stay in memory)\n", t->label,
			       max_of(t->m[M_F_SSD_READS], n));
		if (t->has[M_F_NOT_SSD] && (max_of(t->m[M_F_NOT_SSD], n) > 0 ||
					    max_of(t->m[M_E_NOT_SSD], n) > 0))
			printf("WARNING: %s: up to %.0f (f) and %.0f (e) files were still in memory "
			       "(tier not \"ssd\"), so (e)/(f) were not all SSD-only\n", t->label,
			       max_of(t->m[M_F_NOT_SSD], n), max_of(t->m[M_E_NOT_SSD], n));
	}
warnings:
	if (b->restart_argv && max_of(b->restart_other, n) > KVFS_BENCH_OTHER_WARN)
		printf("WARNING: something else used %.0f%% of a CPU during a timed restart (%s);"
		       " rerun on a quiet machine\n", 100 * max_of(b->restart_other, n),
		       b->restart_read ? "m" : "g");
	if (b->restart_read && max_of(b->restart_ssd_reads, n) > 0)
		printf("WARNING: the restarted kvfs read the SSD %.0f times before its first read "
		       "was served (must be 0: its memory tier was kept)\n",
		       max_of(b->restart_ssd_reads, n));
}

static void print_ratios(const struct bench *b)
{
	struct ratio_val r[MAX_RATIOS];
	unsigned n = collect_ratios(b, r);
	char name[96];

	print_ratio_head();
	for (unsigned i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%s %s", r[i].target, r[i].name);
		print_ratio_row(name, r[i].value, r[i].goal);
	}
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
		json_runs(f, t->other, b->repeat, 3);
		fprintf(f, ",\n     \"steal_cpu\": ");
		json_runs(f, t->steal, b->repeat, 3);
		fprintf(f, ",\n     \"metrics\": {");
		for (int m = 0, first = 1; m < M_NR; m++) {
			if (!t->has[m])
				continue;
			fprintf(f, "%s\n       \"%s\": ", first ? "" : ",", metric_info[m].key);
			json_runs(f, t->m[m], b->repeat, 3);
			first = 0;
		}
		fprintf(f, "}}%s\n", i + 1 < b->nt ? "," : "");
	}
	fprintf(f, "  ],\n");
}

static void json_ratios(FILE *f, const struct bench *b)
{
	struct ratio_val r[MAX_RATIOS];
	unsigned n = collect_ratios(b, r);

	fprintf(f, "  \"ratios\": [");
	for (unsigned i = 0; i < n; i++) {
		fprintf(f, "%s\n    {\"target\": ", i ? "," : "");
		json_str(f, r[i].target);
		fprintf(f, ", \"name\": \"%s\", \"base\": \"%s\", \"value\": %.4f", r[i].name,
			r[i].base, r[i].value);
		if (r[i].goal > 0)
			fprintf(f, ", \"goal\": %.2f, \"met\": %s", r[i].goal,
				r[i].value >= r[i].goal ? "true" : "false");
		fprintf(f, "}");
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
		"\"fsync\": false, \"d_synced\": true, \"mb\": 1000000, "
		"\"cache_drop\": \"sync_file_range+POSIX_FADV_DONTNEED\",\n             "
		"\"spill_bytes\": %zu, \"spill_file_bytes\": %lu, \"cold_read_files\": %u, "
		"\"scan_files\": %u, \"scan_file_bytes\": %zu, \"scan_head_bytes\": %d, "
		"\"slab_cache_dropped\": %s, \"restart_files\": %lu, \"restart_goal_s\": %.1f},\n",
		b->repeat, b->a_size, KVFS_BENCH_IO, b->b_files, b->b_size, b->probes,
		b->memcpy_size, b->settle, b->retries, b->remeasured, b->spill_size,
		KVFS_BENCH_SPILL_FILE, spill_files(b) / 2, b->scan_files, b->scan_size,
		KVFS_BENCH_HEAD, b->dropped_caches ? "true" : "false", b->restart_files,
		KVFS_BENCH_RESTART_GOAL);
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
	json_runs(f, b->memcpy_mbps, b->repeat, 3);
	fprintf(f, "},\n  \"first_touch\": {\"mbps\": ");
	json_runs(f, b->touch_mbps, b->repeat, 3);
	fprintf(f, "},\n  \"memcpy_quiet_write\": {\"mbps\": ");
	json_runs(f, b->quiet_w_mbps, b->repeat, 3);
	fprintf(f, "},\n  \"memcpy_quiet_read\": {\"mbps\": ");
	json_runs(f, b->quiet_r_mbps, b->repeat, 3);
	if (b->ktier) {
		fprintf(f, "},\n  \"kernel_tmpfs_write\": {\"mbps\": ");
		json_runs(f, b->kernel_w_mbps, b->repeat, 3);
	}
	fprintf(f, "},\n");
	if (b->restart_argv) {
		fprintf(f, "  \"%s\": {\"files\": %lu, \"%s\": ",
			b->restart_read ? "restart_mem" : "restart", b->restart_files,
			b->restart_read ? "first_read_s" : "first_lookup_s");
		json_runs(f, b->restart_s, b->repeat, 3);
		if (b->restart_read) {
			fprintf(f, ", \"ssd_reads\": ");
			json_runs(f, b->restart_ssd_reads, b->repeat, 0);
		}
		if (b->restart_cold) {
			fprintf(f, ", \"first_lookup_cold_s\": ");
			json_runs(f, b->restart_cold_s, b->repeat, 3);
		}
		fprintf(f, ", \"other_cpu\": ");
		json_runs(f, b->restart_other, b->repeat, 3);
		fprintf(f, "},\n");
	}
	json_targets(f, b);
	json_ratios(f, b);
	fprintf(f, "}\n");
	if (fclose(f) != 0)
		die("cannot write %s: %s", b->json, strerror(errno));
}

/* ---- main ------------------------------------------------------------- */

/* Prints the usage to `f` and exits with `code`: 0 for --help (on stdout),
 * 2 for a mistake (on stderr). */
static void usage_to(FILE *f, int code)
{
	fprintf(f,
		"usage: kvfs-bench [options] LABEL=DIR [LABEL=DIR...]\n"
		"  labels kvfs* must be FUSE mounts and are compared with the labels tmpfs\n"
		"  and disk and with memcpy; each DIR gets a work directory kvfs-bench.<pid>\n"
		"  --repeat N        runs of every measurement, median reported (3)\n"
		"  --a-size SIZE     (a) file size (256M)\n"
		"  --b-files N       (b) number of files (500)\n"
		"  --b-size SIZE     (b) file size (8M)\n"
		"  --probes N        (b) stat() probes, half of them misses (1000)\n"
		"  --settle S        seconds of quiet before each timed phase (3)\n"
		"  --kernel-tier DIR --kernel-reserve DIR2  also time (a)'s write, after the\n"
		"                    same quiet, into the tmpfs DIR (huge=within_size, as\n"
		"                    kvfs's tier) with each huge page lent from a warm\n"
		"                    reserve file in the tmpfs DIR2 (huge=always), as kvfs\n"
		"                    lends: the kernel's own write path, without kvfs\n"
		"  --retries N       measure a phase disturbed by other work again, N times\n"
		"                    at most (2)\n"
		"  --spill-size SIZE (d) bytes written as 8 MiB files (twice the memory tier\n"
		"                    of the first kvfs-ssd* target)\n"
		"  --scan-files N    (f) number of files (1000)\n"
		"  --scan-size SIZE  (f) file size (1M)\n"
		"  --h-files N       (h) files of the ds4 scan, 0 to skip (h) (1000)\n"
		"  --h-scans N       (h) scans alone and beside the writer (100)\n"
		"  --h-size SIZE     (h) size of the scanned files (1M)\n"
		"  --h-rewrite-size SIZE  (h) the file whose header is rewritten (512M)\n"
		"  --restart-exec CMD  (g) the kvfs command line to time, split at spaces:\n"
		"                    a daemon in the foreground (-f) over a prepared index\n"
		"  --restart-mnt DIR   (g) its mount point\n"
		"  --restart-probe NAME  (g) a file at the root of that mount\n"
		"  --restart-files N   (g) how many files its index holds (for the record)\n"
		"  --restart-log PATH  (g) where the daemon's output goes (/dev/null)\n"
		"  --restart-read    (m) a daemon that keeps its memory tier: time until the\n"
		"                    probe is read whole, and count the SSD reads it made\n"
		"  --quick           smoke test: --repeat 1 --a-size 32M --b-files 50 --probes 100\n"
		"                    --scan-files 200 --h-files 200 --h-scans 20\n"
		"                    --h-rewrite-size 64M and 0.2 s of quiet\n"
		"  --watch-pid PID   a kvfs daemon: its CPU use is not counted as\n"
		"                    interference (\"other CPU use\"); up to 4\n"
		"  --json PATH       write the results as JSON\n"
		"  --meta KEY=VALUE  record KEY in the JSON's meta object (repeatable)\n"
		"SIZE takes a K, M or G suffix (powers of 1024).\n");
	exit(code);
}

static void usage(void)
{
	usage_to(stderr, 2);
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

/* "a b  c" -> { "a", "b", "c", NULL }; no quoting. */
static char **split_args(const char *cmd)
{
	char *copy = strdup(cmd), *save = NULL, *w;
	char **argv = calloc(strlen(cmd) / 2 + 2, sizeof(*argv));
	size_t n = 0;

	if (!copy || !argv)
		die("out of memory");
	for (w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save))
		argv[n++] = w;
	if (n == 0)
		die("--restart-exec: an empty command");
	return argv;
}

static void parse_args(struct bench *b, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
			usage_to(stdout, 0);
		if (strcmp(a, "--quick") == 0) {
			b->repeat = 1, b->a_size = 32 * MIB, b->b_files = 50, b->probes = 100;
			b->scan_files = 200, b->settle = 0.2;
			b->h_files = 200, b->h_scans = 20, b->h_rewrite_size = 64 * MIB;
			continue;
		}
		if (strcmp(a, "--restart-read") == 0) {
			b->restart_read = true;
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
		else if (strcmp(a, "--kernel-tier") == 0)
			b->ktier = v;
		else if (strcmp(a, "--kernel-reserve") == 0)
			b->kreserve = v;
		else if (strcmp(a, "--retries") == 0)
			b->retries = parse_uint(a, v, 0, 10);
		else if (strcmp(a, "--watch-pid") == 0 && b->nwatch < KVFS_BENCH_MAX_WATCH)
			b->watch_pid[b->nwatch++] = (long)parse_uint(a, v, 1, 1u << 30);
		else if (strcmp(a, "--spill-size") == 0)
			b->spill_size = parse_size(a, v, 2 * KVFS_BENCH_SPILL_FILE);
		else if (strcmp(a, "--scan-files") == 0)
			b->scan_files = parse_uint(a, v, 1, 1000000);
		else if (strcmp(a, "--scan-size") == 0)
			b->scan_size = parse_size(a, v, KVFS_BENCH_HEAD);
		else if (strcmp(a, "--h-files") == 0)
			b->h_files = parse_uint(a, v, 0, 1000000);
		else if (strcmp(a, "--h-scans") == 0)
			b->h_scans = parse_uint(a, v, 1, 100000);
		else if (strcmp(a, "--h-size") == 0)
			b->h_size = parse_size(a, v, KVFS_BENCH_HEAD);
		else if (strcmp(a, "--h-rewrite-size") == 0)
			b->h_rewrite_size = parse_size(a, v, KVFS_BENCH_HEAD);
		else if (strcmp(a, "--restart-exec") == 0)
			b->restart_argv = split_args(v);
		else if (strcmp(a, "--restart-mnt") == 0)
			b->restart_mnt = v;
		else if (strcmp(a, "--restart-probe") == 0 && !strchr(v, '/'))
			b->restart_probe = v;
		else if (strcmp(a, "--restart-files") == 0)
			b->restart_files = parse_uint(a, v, 0, 4000000000u);
		else if (strcmp(a, "--restart-log") == 0)
			b->restart_log = v;
		else if (strcmp(a, "--json") == 0)
			b->json = v;
		else if (strcmp(a, "--meta") == 0 && strchr(v, '=') && b->nmeta < KVFS_BENCH_MAX_META)
			b->meta[b->nmeta++] = v;
		else
			usage();
	}
	if (b->nt == 0 && !b->restart_argv)
		usage();
	if (b->restart_argv && (!b->restart_mnt || !b->restart_probe))
		die("--restart-exec needs --restart-mnt and --restart-probe");
	if (b->restart_read && !b->restart_argv)
		die("--restart-read needs --restart-exec");
}

/*
 * (d)'s size: twice the memory tier of the first kvfs-ssd* target (its
 * stats.json), unless --spill-size says; whole 8 MiB files, at least 2.
 * (g) runs cold too when the page cache can be dropped (root).
 */
static void setup_ssd(struct bench *b)
{
	const struct target *k = NULL;
	int64_t mem;

	for (unsigned i = 0; i < b->nt && !k; i++)
		if (b->t[i].ssd_role && is_kvfs(&b->t[i]))
			k = &b->t[i];
	if (!b->spill_size && k) {
		mem = kvfs_stat(k, "\"memory\": {", "capacity_bytes");
		if (mem <= 0)
			die("%s/.kvfs/stats.json has no tiers.memory.capacity_bytes; give "
			    "--spill-size", k->mnt);
		if (kvfs_stat(k, "\"ssd\": {", "present") != 1)
			die("target %s=%s: this kvfs has no SSD tier (mount it with ssd=)",
			    k->label, k->path);
		b->spill_size = 2 * (size_t)mem;
	}
	if (!b->spill_size)
		b->spill_size = 2048 * MIB;
	b->spill_size -= b->spill_size % KVFS_BENCH_SPILL_FILE;
	if (b->spill_size < 2 * KVFS_BENCH_SPILL_FILE)
		b->spill_size = 2 * KVFS_BENCH_SPILL_FILE;
	/* (m) measures a kept memory tier: dropping the page cache changes
	 * nothing there. */
	b->restart_cold = b->restart_argv && !b->restart_read &&
			  access("/proc/sys/vm/drop_caches", W_OK) == 0;
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
		.scan_files = 1000, .scan_size = MIB,
		.h_files = 1000, .h_scans = 100, .h_size = MIB, .h_rewrite_size = 512 * MIB,
	};
	size_t buf_size;
	char *msrc, *mdst, *qbuf = NULL;
	bool runs_a = false;

	parse_args(&b, argc, argv);
	setup_ssd(&b);
	buf_size = b.b_size > KVFS_BENCH_IO ? b.b_size : KVFS_BENCH_IO;
	buf_size = buf_size > KVFS_BENCH_SPILL_FILE ? buf_size : KVFS_BENCH_SPILL_FILE;
	b.buf_size = buf_size;
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

	for (unsigned i = 0; i < b.nt; i++)
		runs_a |= !b.t[i].ssd_role;
	if (runs_a) {
		/* Huge pages where THP allows, as kvfs's memory tier has them:
		 * after a quiet, memory mapped with 4 KiB pages copied at 4.4-5.6
		 * GB/s here, with 2 MiB pages at 6.6-8.6 (warm: 9 either way).
		 * The base must be the faster of the two. */
		qbuf = bench_alloc_huge(b.a_size);
	}
	if (!b.ktier != !b.kreserve)
		die("--kernel-tier and --kernel-reserve go together");
	if (b.ktier && runs_a) {
		snprintf(b.kres_path, sizeof(b.kres_path), "%s/kvfs-bench-reserve.%ld",
			 b.kreserve, (long)getpid());
		b.kres_fd = open(b.kres_path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
		if (b.kres_fd < 0)
			die("--kernel-reserve: create %s: %s", b.kres_path, strerror(errno));
		kernel_reserve_fill(&b);
	}
	for (unsigned rep = 0; rep < b.repeat; rep++) {
		fprintf(stderr, "run %u/%u\n", rep + 1, b.repeat);
		quiet(&b);
		b.memcpy_mbps[rep] = run_memcpy(&b, msrc, mdst);
		quiet(&b);
		b.touch_mbps[rep] = run_touch(&b);
		fprintf(stderr, "  memcpy %8.0f MB/s, first touch of fresh memory %6.0f MB/s\n",
			b.memcpy_mbps[rep], b.touch_mbps[rep]);
		if (runs_a) {
			run_memcpy_quiet(&b, qbuf, &b.quiet_w_mbps[rep], &b.quiet_r_mbps[rep]);
			fprintf(stderr, "  memcpy in (a)'s pattern after the quiet: in %6.0f MB/s, "
				"out %6.0f MB/s\n", b.quiet_w_mbps[rep], b.quiet_r_mbps[rep]);
		}
		if (runs_a && b.ktier) {
			b.kernel_w_mbps[rep] = run_kernel_quiet(&b);
			fprintf(stderr, "  (a)'s write into the kernel's tmpfs, pages lent: %6.0f MB/s\n",
				b.kernel_w_mbps[rep]);
		}
		for (unsigned i = 0; i < b.nt; i++)
			if (!b.t[(i + rep) % b.nt].ssd_role)
				run_measured(&b, &b.t[(i + rep) % b.nt], rep, run_a);
		for (unsigned i = 0; i < b.nt; i++)
			if (!b.t[(i + rep) % b.nt].ssd_role)
				run_measured(&b, &b.t[(i + rep) % b.nt], rep, run_b);
		for (unsigned i = 0; i < b.nt; i++)
			if (!b.t[(i + rep) % b.nt].ssd_role && b.h_files)
				run_measured(&b, &b.t[(i + rep) % b.nt], rep, run_h);
		for (unsigned i = 0; i < b.nt; i++)
			if (!b.t[(i + rep) % b.nt].ssd_role)
				run_measured(&b, &b.t[(i + rep) % b.nt], rep, run_i);
		for (unsigned i = 0; i < b.nt; i++)
			if (b.t[(i + rep) % b.nt].ssd_role)
				run_measured(&b, &b.t[(i + rep) % b.nt], rep, run_ssd);
		if (b.restart_argv)
			run_restart(&b, rep);
	}
	for (unsigned i = 0; i < b.nt; i++)
		remove_work(&b.t[i]);
	cleanup_bench = NULL;
	if (b.kres_path[0]) {
		close(b.kres_fd);
		unlink(b.kres_path);
	}

	print_table(&b);
	print_ratios(&b);
	if (b.json) {
		write_json(&b);
		printf("\nresults: %s\n", b.json);
	}
	return 0;
}
