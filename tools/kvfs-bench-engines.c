/*
 * kvfs-bench-engines.c - the engine benchmark of `make bench` (tools/bench.sh):
 * what issue 12's "Benchmarks" section holds the memory tier to, measured on
 * kvfs beside the directories it must beat, in one run.
 *
 *   engines  the five call sequences of ENGINES.md (ds4-server, SGLang
 *            HiCache, vLLM's fs tier, LMCache, llm-d), each a whole session
 *            (store ~1 GiB, look up, load everything back) on kvfs* and on
 *            the target labelled disk; store, lookup, load and session
 *            seconds, and disk / kvfs (speed) per engine;
 *   mmap     a 256 MiB file, written just before, mapped MAP_SHARED and
 *            PROT_READ and copied out (twice), on kvfs* and disk, beside a
 *            memcpy of the same size in the same repetition;
 *   rand     4 KiB pread()s at random aligned offsets of a 1 GiB file, one
 *            thread and two, on kvfs* and on the target labelled tmpfs: IOPS.
 *
 * Every byte read is compared with what was written (outside the timed
 * intervals, except in rand, where each 4 KiB read is checked inline on
 * every target alike).  Repetitions (--repeat) alternate the targets, the
 * order rotating per repetition; medians are reported.  Before each timed
 * session the target is synced (syncfs, untimed) and the machine left to go
 * quiet (--settle), and CPU used by anything but this process and the
 * daemons (--watch-pid) is measured and flagged.  Nothing calls fsync.
 * --verify-only runs every sequence once, small, and checks it: the
 * integration test of the engines' call sequences (test_engines.sh).
 * Single-threaded except rand's second reader; dies on any unexpected error
 * after removing its work directories.  Needs nothing but libc.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <mntent.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static _Noreturn void die(const char *fmt, ...);
#include "bench_util.h"

#define MIB			(1024UL * 1024UL)
#define BLK			4096UL		/* alignment, rand's read size */
#define EB_MAX_TARGETS		8
#define EB_MAX_REPEAT		32	/* <= BENCH_MAX_REPEAT */
#define EB_MAX_WATCH		4
#define EB_OTHER_WARN		0.25		/* of one CPU */
#define EB_PAT_FILE		(64 * MIB)	/* largest region one file copies */
#define EB_PAT_SIZE		(EB_PAT_FILE + 4096 * BLK)	/* + 4096 start offsets */
#define EB_BUF_SIZE		(EB_PAT_FILE + MIB)
#define EB_GOAL_ENGINE		1.5		/* issue 12: each >= 1.5x ext4 */
#define EB_GOAL_MMAP		0.7		/* mmap read >= 0.7x memcpy */
#define EB_GOAL_RAND		0.5		/* >= 0.5x tmpfs IOPS */

enum role { ROLE_OTHER, ROLE_KVFS, ROLE_DISK, ROLE_TMPFS };
enum engine { E_DS4, E_SGLANG, E_VLLM, E_LMCACHE, E_LLMD, E_NR };
enum part { P_STORE, P_LOOKUP, P_LOAD, P_SESSION, P_NR };
enum phase { PH_ENGINES = 1, PH_MMAP = 2, PH_RAND = 4 };

static const char *const engine_name[E_NR] = { "ds4", "sglang", "vllm", "lmcache", "llmd" };
static const char *const part_name[P_NR] = { "store", "lookup", "load", "session" };

/* Per engine: files of one session and their sizes before --verify-only's or
 * --quick's scaling; step is the granularity (4 KiB where O_DIRECT needs it). */
static const struct eng_size {
	unsigned files;
	size_t min, max, step;
} eng_size[E_NR] = {
	[E_DS4]     = { 24, 20 * MIB, 63 * MIB, 1 },		/* payload; ~1.0 GiB */
	[E_SGLANG]  = { 240, 1 * MIB, 8 * MIB, 256 * 1024 },	/* ~1.1 GiB */
	[E_VLLM]    = { 800, MIB / 2, 2 * MIB, BLK },		/* ~1.0 GiB */
	[E_LMCACHE] = { 52, 8 * MIB, 32 * MIB, 256 * 1024 },	/* ~1.0 GiB */
	[E_LLMD]    = { 170, 4 * MIB, 8 * MIB, 256 * 1024 },	/* ~1.0 GiB */
};

struct target {
	const char *label;
	char path[PATH_MAX];		/* realpath of the directory */
	char work[PATH_MAX];		/* path/kvfs-bench-engines.<pid>, ours */
	char fstype[64];
	enum role role;
	bool has_eng, has_mmap, has_rand;
	double eng[E_NR][P_NR][EB_MAX_REPEAT];	/* seconds */
	double mmap_mbps[EB_MAX_REPEAT], mmap_again_mbps[EB_MAX_REPEAT];
	int mmap_errno;			/* 0, or why the mapping failed */
	double rand1[EB_MAX_REPEAT], rand2[EB_MAX_REPEAT];	/* IOPS */
	double other;			/* max share of a CPU used by others */
	int o_direct;			/* vLLM's probe: 1 ok, 0 fell back */
	int o_tmpfile;			/* llm-d: 1 O_TMPFILE + linkat, 0 rename */
};

struct bench {
	unsigned repeat;
	double settle;
	unsigned phases;
	unsigned engines;		/* bit e: engine e runs (all) */
	bool verify_only;
	unsigned size_div, count_div;	/* engine scaling (1, 1 normally) */
	size_t mmap_size, rand_size;
	unsigned rand_reads;
	unsigned fds;			/* --fds: descriptors held open */
	const char *json;
	long watch_pid[EB_MAX_WATCH];
	unsigned nwatch;
	struct target t[EB_MAX_TARGETS];
	unsigned nt;
	char *pat;			/* EB_PAT_SIZE of pseudo-random bytes */
	char *buf;			/* EB_BUF_SIZE, read destination */
	char *big_src, *big_dst;	/* mmap_size each, memcpy and mmap copy */
	double memcpy_mbps[EB_MAX_REPEAT];
	double memcpy_quiet_mbps[EB_MAX_REPEAT];	/* one copy right after a settle */
	uint64_t tag;			/* makes each session's names and data unique */
};

/* Whether engine e's sessions run (--engines). */
static bool engine_on(const struct bench *b, unsigned e)
{
	return b->engines & (1u << e);
}

/* What one session measured and what it moved. */
struct sess {
	struct bench *b;
	struct target *t;
	uint64_t tag;
	char dir[PATH_MAX];
	double tm[P_NR];
	unsigned files;
	uint64_t bytes;
};

/* The one global: what die() must remove (tools may die, STYLE.md). */
static struct bench *cleanup_bench;

static void remove_work(struct target *t);

static _Noreturn void die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "kvfs-bench-engines: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (cleanup_bench)
		for (unsigned i = 0; i < cleanup_bench->nt; i++)
			remove_work(&cleanup_bench->t[i]);
	exit(1);
}

static void *xalloc(size_t n)
{
	void *p;

	if (posix_memalign(&p, BLK, n) != 0)
		die("out of memory (%zu bytes)", n);
	memset(p, 0, n);		/* pre-touched: no first-touch cost timed */
	return p;
}

/* n lowercase hex digits of a hash of seed (a stand-in for SHA-1/SHA-256). */
static void hexname(char *out, unsigned n, uint64_t seed)
{
	static const char hx[] = "0123456789abcdef";
	uint64_t w = 0;

	for (unsigned i = 0; i < n; i++) {
		if (i % 16 == 0)
			w = mix64(seed + i);
		out[i] = hx[w & 15];
		w >>= 4;
	}
	out[n] = '\0';
}

/* ---- data: what every file holds, and the check of every byte ---------- */

/*
 * File i of a session copies pat from a start of its own: i * 997 mod 4096
 * is distinct for the 4096 files a session may have at most, so a file
 * served under another file's name, or a stale one, compares unequal.
 */
static const char *expect(const struct bench *b, uint64_t tag, unsigned i)
{
	return b->pat + ((i * 997ULL + tag) % 4096) * BLK;
}

static void check(const char *got, const char *want, size_t len, const char *what,
		  const char *path)
{
	if (memcmp(got, want, len) == 0)
		return;
	for (size_t i = 0; i < len; i++)
		if (got[i] != want[i])
			die("%s: %s differs at byte %zu of %zu (got 0x%02x, want 0x%02x)", path,
			    what, i, len, (unsigned char)got[i], (unsigned char)want[i]);
}

/* mmap's and rand's files: 4 KiB blocks, each a slice of pat chosen by its
 * offset, starting with a stamp of the offset and the run. */
static const char *block_src(const struct bench *b, uint64_t off, uint64_t tag)
{
	return b->pat + ((off / BLK * 997 + tag) % (EB_PAT_FILE / BLK)) * BLK;
}

static void block_fill(const struct bench *b, char *dst, uint64_t off, uint64_t tag)
{
	uint64_t st[2] = { off, mix64(off ^ tag) };

	memcpy(dst, block_src(b, off, tag), BLK);
	memcpy(dst, st, sizeof(st));
}

static bool block_ok(const struct bench *b, const char *p, uint64_t off, uint64_t tag)
{
	uint64_t st[2] = { off, mix64(off ^ tag) };

	return memcmp(p, st, sizeof(st)) == 0 &&
	       memcmp(p + sizeof(st), block_src(b, off, tag) + sizeof(st), BLK - sizeof(st)) == 0;
}

/* ---- small I/O helpers: die with the path on anything unexpected -------- */

static void xclose(int fd, const char *path)
{
	if (close(fd) < 0)
		die("close %s: %s", path, strerror(errno));
}

static void xrename(const char *from, const char *to)
{
	if (rename(from, to) < 0) {
		int e = errno;

		(void)unlink(from);
		die("rename %s -> %s: %s", from, to, strerror(e));
	}
}

/* Writes buf to tmp (O_CREAT|O_TRUNC, one buffered write) and renames it
 * over path: SGLang's and LMCache's store. */
static void store_renamed(const char *tmp, const char *path, const char *buf, size_t size)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		die("open %s: %s", tmp, strerror(errno));
	write_full(fd, buf, size, tmp);
	xclose(fd, tmp);
	xrename(tmp, path);
}

/* Python's os.makedirs(exist_ok=True): mkdir, and the parents on ENOENT. */
static void makedirs(char *path)
{
	char *slash;

	if (mkdir(path, 0755) == 0 || errno == EEXIST)
		return;
	if (errno != ENOENT || !(slash = strrchr(path, '/')) || slash == path)
		die("mkdir %s: %s", path, strerror(errno));
	*slash = '\0';
	makedirs(path);
	*slash = '/';
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		die("mkdir %s: %s", path, strerror(errno));
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st; (void)type; (void)ftw;
	(void)remove(path);
	return 0;
}

static void rm_tree(const char *path)
{
	(void)nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* exists: stat() says so, ENOENT says not; anything else is an error. */
static bool exists(const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0)
		return true;
	if (errno != ENOENT)
		die("stat %s: %s", path, strerror(errno));
	return false;
}

static size_t eng_file_size(const struct bench *b, enum engine e, uint64_t seed)
{
	const struct eng_size *s = &eng_size[e];
	size_t step = s->step, lo = s->min / b->size_div, hi = s->max / b->size_div;

	lo = lo / step * step;
	hi = hi / step * step;
	if (lo < step)
		lo = step;
	if (hi < lo)
		hi = lo;
	return lo + (size_t)(mix64(seed) % ((hi - lo) / step + 1)) * step;
}

static unsigned eng_files(const struct bench *b, enum engine e)
{
	unsigned n = eng_size[e].files / b->count_div;

	return n < 4 ? 4 : n;
}

/* ---- timing ------------------------------------------------------------- */

static void part_add(struct sess *s, enum part p, double t0)
{
	double d = now() - t0;

	if (p != P_SESSION)
		s->tm[p] += d;
	s->tm[P_SESSION] += d;
}

static void cpu_jiffies(unsigned long long *run, unsigned long long *total)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");

	if (!f || fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
			 &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) != 8)
		v[3] = 1;
	if (f)
		fclose(f);
	*run = v[0] + v[1] + v[2] + v[5] + v[6];
	*total = *run + v[3] + v[4] + v[7];
}

static unsigned long long task_ticks(long pid)
{
	unsigned long long ut = 0, st = 0;
	char path[64], line[1024], *p;
	FILE *f;

	snprintf(path, sizeof(path), pid ? "/proc/%ld/stat" : "/proc/self/stat", pid);
	if (!(f = fopen(path, "r")))
		return 0;
	p = fgets(line, sizeof(line), f) ? strrchr(line, ')') : NULL;
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &ut, &st) != 2)
		ut = st = 0;
	fclose(f);
	return ut + st;
}

/* CPU ticks used by everything but this process and the watched daemons. */
static unsigned long long others_ticks(const struct bench *b)
{
	unsigned long long run, total, mine = task_ticks(0);

	cpu_jiffies(&run, &total);
	for (unsigned i = 0; i < b->nwatch; i++)
		mine += task_ticks(b->watch_pid[i]);
	return run - mine;
}

/*
 * Untimed, before every timed session: syncfs the target (the last phase's
 * writeback), wait --settle seconds, then until the CPUs are 90% idle over
 * 250 ms (10 s at most): on a 2-CPU VM the aftermath of the last phase
 * (writeback, the guest handing freed pages back) would otherwise land in
 * the next measurement.  kvfs-bench does the same.
 */
static void settle(const struct bench *b, const struct target *t)
{
	struct timespec ts = { (time_t)b->settle, (long)((b->settle - (time_t)b->settle) * 1e9) };
	struct timespec step = { 0, 250000000 };
	unsigned long long r0, t0, r1, t1;
	int fd = open(t->work, O_RDONLY | O_DIRECTORY);
	double start;

	if (fd >= 0) {
		(void)syncfs(fd);
		close(fd);
	}
	if (b->settle <= 0)
		return;
	nanosleep(&ts, NULL);
	start = now();
	do {
		cpu_jiffies(&r0, &t0);
		nanosleep(&step, NULL);
		cpu_jiffies(&r1, &t1);
	} while (t1 > t0 && (r1 - r0) * 10 > t1 - t0 && now() - start < 10);
}

struct other_mark {
	unsigned long long ticks;
	double t;
};

static void other_start(const struct bench *b, struct other_mark *m)
{
	m->ticks = others_ticks(b);
	m->t = now();
}

/* Records the share of one CPU others used since m (2 ticks per CPU forgiven). */
static void other_stop(const struct bench *b, const struct other_mark *m, struct target *t)
{
	double hz = (double)sysconf(_SC_CLK_TCK), dt = now() - m->t;
	double ticks = (double)((long long)others_ticks(b) - (long long)m->ticks) -
		       2.0 * sysconf(_SC_NPROCESSORS_ONLN);
	double v = ticks <= 0 || dt <= 0 ? 0 : ticks / hz / dt;

	if (v > t->other)
		t->other = v;
}

/* ---- ds4-server --------------------------------------------------------- */

/* ds4's 48-byte header, as this benchmark lays it out. */
struct ds4_hdr {
	char magic[4];			/* "KVC" */
	uint32_t version;
	uint32_t tokens;
	uint32_t hits;
	uint64_t created;
	uint64_t last_used;
	uint64_t payload;		/* bytes of payload */
	uint64_t id;			/* tag << 16 | file index */
};
_Static_assert(sizeof(struct ds4_hdr) == 48, "ds4 header is 48 bytes");
#define DS4_HEAD	52		/* header + u32 text length */
#define DS4_TRAILER	16

struct ds4_file {
	char name[48];			/* <40 hex>.kv */
	uint32_t text;			/* T */
	uint64_t payload;
	uint32_t hits;
	uint64_t last_used;
	bool stored;
};

static uint64_t ds4_total(const struct ds4_file *f)
{
	return DS4_HEAD + f->text + f->payload + DS4_TRAILER;
}

static void ds4_trailer(char *out, uint64_t tag, unsigned i)
{
	uint64_t v = mix64(tag ^ i);

	memcpy(out, "KVCEND\0\0", 8);
	memcpy(out + 8, &v, 8);
}

/* fopen wb of <name>.kv.tmp.<pid>, stdio writes in uneven pieces, fflush,
 * fclose, stat, rename. */
static void ds4_store(struct sess *s, struct ds4_file *fs, unsigned i)
{
	struct ds4_file *f = &fs[i];
	struct ds4_hdr h = { .magic = "KVC", .version = 1, .tokens = f->text / 4,
			     .created = i, .last_used = i, .payload = f->payload,
			     .id = s->tag << 16 | i };
	char path[PATH_MAX + 64], tmp[PATH_MAX + 96], trailer[DS4_TRAILER];
	const char *src = expect(s->b, s->tag, i);
	uint64_t left = f->text + f->payload, piece;
	struct stat st;
	FILE *fp;
	unsigned k = 0;

	snprintf(path, sizeof(path), "%s/%s", s->dir, f->name);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	ds4_trailer(trailer, s->tag, i);
	if (!(fp = fopen(tmp, "wb")))
		die("fopen %s: %s", tmp, strerror(errno));
	if (fwrite(&h, sizeof(h), 1, fp) != 1 || fwrite(&f->text, 4, 1, fp) != 1)
		goto fail;
	while (left) {
		piece = MIB + mix64(s->tag + i * 131 + k++) % (4 * MIB);	/* 1-5 MiB */
		if (piece > left)
			piece = left;
		if (fwrite(src, 1, piece, fp) != piece)
			goto fail;
		src += piece;
		left -= piece;
	}
	if (fwrite(trailer, DS4_TRAILER, 1, fp) != 1 || fflush(fp) != 0)
		goto fail;
	if (fclose(fp) != 0) {
		fp = NULL;
		goto fail;
	}
	if (stat(tmp, &st) < 0 || (uint64_t)st.st_size != ds4_total(f)) {
		(void)unlink(tmp);
		die("stat %s: %s (size %lld, want %llu)", tmp, strerror(errno),
		    (long long)st.st_size, (unsigned long long)ds4_total(f));
	}
	xrename(tmp, path);
	f->stored = true;
	s->bytes += ds4_total(f);
	return;
fail:
	{
		int e = errno;

		if (fp)
			fclose(fp);
		(void)unlink(tmp);
		die("write %s: %s", tmp, strerror(e));
	}
}

static void ds4_check_head(const struct sess *s, const struct ds4_file *fs, unsigned n,
			   const char *head, const char *name)
{
	struct ds4_hdr h;
	uint32_t text;
	unsigned i;

	memcpy(&h, head, sizeof(h));
	memcpy(&text, head + sizeof(h), 4);
	i = (unsigned)(h.id & 0xffff);
	if (memcmp(h.magic, "KVC", 4) != 0 || h.version != 1 || h.id >> 16 != s->tag ||
	    i >= n || strcmp(fs[i].name, name) != 0 || h.payload != fs[i].payload ||
	    text != fs[i].text || h.hits != fs[i].hits || h.last_used != fs[i].last_used)
		die("%s/%s: wrong ds4 header (id %llx, hits %u, want file %u's)", s->dir, name,
		    (unsigned long long)h.id, h.hits, i);
}

/* The lookup of every request: readdir, and for each 43-character name
 * stat, fopen rb, fread 48 + 4, fclose.  Returns the names seen. */
static unsigned ds4_scan(struct sess *s, const struct ds4_file *fs, unsigned n)
{
	char path[PATH_MAX + 260], head[DS4_HEAD];	/* dir + "/" + a d_name */
	unsigned seen = 0;
	struct dirent *de;
	struct stat st;
	double t0 = now(), t1;
	DIR *d = opendir(s->dir);
	FILE *fp;

	if (!d)
		die("opendir %s: %s", s->dir, strerror(errno));
	while ((errno = 0, de = readdir(d))) {
		size_t len = strlen(de->d_name);

		if (len != 43 || strcmp(de->d_name + 40, ".kv") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", s->dir, de->d_name);
		if (stat(path, &st) < 0)
			die("stat %s: %s", path, strerror(errno));
		if (!(fp = fopen(path, "rb")))
			die("fopen %s: %s", path, strerror(errno));
		if (fread(head, 1, DS4_HEAD, fp) != DS4_HEAD)
			die("fread %s: short header", path);
		fclose(fp);
		t1 = now();
		ds4_check_head(s, fs, n, head, de->d_name);	/* untimed */
		seen++;
		t0 += now() - t1;
	}
	if (errno)
		die("readdir %s: %s", s->dir, strerror(errno));
	closedir(d);
	part_add(s, P_LOOKUP, t0);
	return seen;
}

/* A hit: fopen r+b, fread 52, fseek 0, rewrite the header, fclose. */
static void ds4_hit(struct sess *s, struct ds4_file *fs, unsigned i, uint64_t clock)
{
	char path[PATH_MAX + 64], head[DS4_HEAD];
	struct ds4_hdr h;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", s->dir, fs[i].name);
	if (!(fp = fopen(path, "r+b")))
		die("fopen %s r+b: %s", path, strerror(errno));
	if (fread(head, 1, DS4_HEAD, fp) != DS4_HEAD)
		die("fread %s: short header", path);
	memcpy(&h, head, sizeof(h));
	h.hits++;
	h.last_used = clock;
	if (fseek(fp, 0, SEEK_SET) != 0 || fwrite(&h, sizeof(h), 1, fp) != 1 || fclose(fp) != 0)
		die("rewrite header of %s: %s", path, strerror(errno));
	fs[i].hits++;
	fs[i].last_used = clock;
}

/* Load: fopen rb and large freads of the whole file; checked untimed. */
static void ds4_load(struct sess *s, const struct ds4_file *fs, unsigned n, unsigned i)
{
	char path[PATH_MAX + 64], trailer[DS4_TRAILER];
	const struct ds4_file *f = &fs[i];
	double t0 = now();
	size_t got = 0, r;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", s->dir, f->name);
	if (!(fp = fopen(path, "rb")))
		die("fopen %s: %s", path, strerror(errno));
	while ((r = fread(s->b->buf + got, 1, got + 8 * MIB > EB_BUF_SIZE ?
						EB_BUF_SIZE - got : 8 * MIB, fp)) > 0)
		got += r;
	if (ferror(fp))
		die("fread %s: %s", path, strerror(errno));
	fclose(fp);
	part_add(s, P_LOAD, t0);
	if (got != ds4_total(f))
		die("%s: read %zu bytes, the file has %llu", path, got,
		    (unsigned long long)ds4_total(f));
	ds4_check_head(s, fs, n, s->b->buf, f->name);
	check(s->b->buf + DS4_HEAD, expect(s->b, s->tag, i), f->text + f->payload,
	      "text and payload", path);
	ds4_trailer(trailer, s->tag, i);
	check(s->b->buf + DS4_HEAD + f->text + f->payload, trailer, DS4_TRAILER, "trailer", path);
}

/*
 * A ds4-server session: each request scans the directory (lookup) and, on
 * a miss, stores its prefix; then each file is hit (scan, header rewrite)
 * and loaded; then everything is evicted (unlink) while a reader holds the
 * first file open, and that reader still reads its header.
 */
static void run_ds4(struct sess *s)
{
	unsigned n = eng_files(s->b, E_DS4), seen;
	struct ds4_file *fs = calloc(n, sizeof(*fs));
	char path[PATH_MAX + 64], head[DS4_HEAD];
	double t0;
	int fd;

	if (!fs)
		die("out of memory");
	for (unsigned i = 0; i < n; i++) {
		hexname(fs[i].name, 40, s->tag * 7919 + i);
		strcat(fs[i].name, ".kv");
		fs[i].text = 512 + (uint32_t)(mix64(s->tag ^ (i + 1000)) % 4096);
		fs[i].payload = eng_file_size(s->b, E_DS4, s->tag * 31 + i) - fs[i].text;
		fs[i].last_used = i;
	}
	for (unsigned i = 0; i < n; i++) {
		if ((seen = ds4_scan(s, fs, n)) != i)
			die("%s: a scan saw %u ds4 files, %u were stored", s->dir, seen, i);
		t0 = now();
		ds4_store(s, fs, i);
		part_add(s, P_STORE, t0);
	}
	for (unsigned i = 0; i < n; i++) {
		if ((seen = ds4_scan(s, fs, n)) != n)
			die("%s: a scan saw %u ds4 files, %u were stored", s->dir, seen, n);
		t0 = now();
		ds4_hit(s, fs, i, n + i);
		part_add(s, P_LOOKUP, t0);
		ds4_load(s, fs, n, i);
	}
	snprintf(path, sizeof(path), "%s/%s", s->dir, fs[0].name);
	if ((fd = open(path, O_RDONLY)) < 0)
		die("open %s: %s", path, strerror(errno));
	t0 = now();
	for (unsigned i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", s->dir, fs[i].name);
		if (unlink(path) < 0)
			die("unlink %s: %s", path, strerror(errno));
	}
	part_add(s, P_SESSION, t0);
	if (pread(fd, head, DS4_HEAD, 0) != DS4_HEAD)
		die("%s/%s: read after unlink: %s", s->dir, fs[0].name, strerror(errno));
	ds4_check_head(s, fs, n, head, fs[0].name);
	close(fd);
	s->files = n;
	free(fs);
}

/* ---- SGLang HiCache ----------------------------------------------------- */

static void sglang_path(char *out, size_t size, const struct sess *s, uint64_t chain,
			unsigned i)
{
	char hex[65];

	hexname(hex, 64, chain * 1000003 + i);	/* chained: page i of chain */
	snprintf(out, size, "%s/%s_m8b_tp0_r0.bin", s->dir, hex);
}

/* batch_exists: stat in page order, stopping at the first miss. */
static unsigned sglang_exists(struct sess *s, uint64_t chain, unsigned n)
{
	char path[PATH_MAX + 96];
	double t0 = now();
	unsigned i;

	for (i = 0; i < n; i++) {
		sglang_path(path, sizeof(path), s, chain, i);
		if (!exists(path))
			break;
	}
	part_add(s, P_LOOKUP, t0);
	return i;
}

static void sglang_store(struct sess *s, uint64_t chain, unsigned i)
{
	char path[PATH_MAX + 96], tmp[PATH_MAX + 192], uuid[33];
	size_t size = eng_file_size(s->b, E_SGLANG, s->tag * 31 + i);
	double t0 = now();

	sglang_path(path, sizeof(path), s, chain, i);
	if (exists(path))
		die("%s exists before it was stored", path);
	hexname(uuid, 32, s->tag ^ mix64(i));
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld.%ld.%s", path, (long)getpid(), (long)gettid(),
		 uuid);
	store_renamed(tmp, path, expect(s->b, s->tag, i), size);
	part_add(s, P_STORE, t0);
	s->bytes += size;
}

/* open, fstat, ONE read of the whole file (short = error), close. */
static void sglang_load(struct sess *s, uint64_t chain, unsigned i)
{
	char path[PATH_MAX + 96];
	size_t size = eng_file_size(s->b, E_SGLANG, s->tag * 31 + i);
	double t0 = now();
	struct stat st;
	ssize_t n;
	int fd;

	sglang_path(path, sizeof(path), s, chain, i);
	if ((fd = open(path, O_RDONLY)) < 0)
		die("open %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0)
		die("fstat %s: %s", path, strerror(errno));
	if ((size_t)st.st_size != size)
		die("%s: size %lld, stored %zu", path, (long long)st.st_size, size);
	n = read(fd, s->b->buf, size);
	if (n != (ssize_t)size)
		die("read %s: %s (%zd of %zu bytes)", path, n < 0 ? strerror(errno) : "short", n,
		    size);
	close(fd);
	part_add(s, P_LOAD, t0);
	check(s->b->buf, expect(s->b, s->tag, i), size, "page", path);
}

/*
 * A HiCache session: 12 prompts, each a longer prefix of one chain of
 * pages; each prompt's batch_exists finds the pages stored so far, and the
 * rest are stored.  Then 20 scheduler steps probe the whole chain and a
 * new prompt (a miss at its first page), and every page is loaded.
 */
static void run_sglang(struct sess *s)
{
	unsigned n = eng_files(s->b, E_SGLANG), prompts = 12, done = 0, hit, want;
	uint64_t chain = s->tag, other = ~s->tag;
	char path[PATH_MAX + 96];

	for (unsigned p = 1; p <= prompts; p++) {
		want = n * p / prompts;
		if ((hit = sglang_exists(s, chain, want)) != done)
			die("%s: batch_exists found %u pages, %u are stored", s->dir, hit, done);
		for (; done < want; done++)
			sglang_store(s, chain, done);
	}
	for (unsigned r = 0; r < 20; r++) {
		if ((hit = sglang_exists(s, chain, n)) != n)
			die("%s: batch_exists found %u of %u stored pages", s->dir, hit, n);
		if (sglang_exists(s, other, n) != 0)
			die("%s: batch_exists found a page never stored", s->dir);
	}
	for (unsigned i = 0; i < n; i++)
		sglang_load(s, chain, i);
	for (unsigned i = 0; i < n; i++) {
		sglang_path(path, sizeof(path), s, chain, i);
		(void)unlink(path);
	}
	s->files = n;
}

/* ---- vLLM fs tier ------------------------------------------------------- */

struct vllm {
	char root[PATH_MAX];		/* <dir>/<model>_<12 hex>_r0 */
	bool direct;			/* the O_DIRECT probe succeeded */
	bool *stored;
};

static void vllm_path(char *out, size_t size, const struct vllm *v, const struct sess *s,
		      unsigned i)
{
	char hex[65];

	hexname(hex, 64, s->tag * 104729 + i);
	snprintf(out, size, "%s/%.3s/%.2s_g0/%s.bin", v->root, hex, hex + 3, hex);
}

/* At start: one aligned page written with O_DIRECT to a probe file. */
static bool vllm_probe(struct sess *s, const struct vllm *v)
{
	char path[PATH_MAX + 64], hex[9];
	bool ok;
	int fd;

	hexname(hex, 8, s->tag + 17);
	snprintf(path, sizeof(path), "%s/.o_direct_probe_%s.tmp", v->root, hex);
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_DIRECT, 0644);
	ok = fd >= 0 && write(fd, s->b->pat, BLK) == (ssize_t)BLK;
	if (fd >= 0)
		close(fd);
	(void)unlink(path);
	return ok;
}

static void vllm_store(struct sess *s, struct vllm *v, unsigned i)
{
	char path[PATH_MAX + 96], tmp[PATH_MAX + 128], hex[9], *slash;
	size_t size = eng_file_size(s->b, E_VLLM, s->tag * 31 + i);
	ssize_t n;
	int fd;

	vllm_path(path, sizeof(path), v, s, i);
	if (access(path, F_OK) == 0)
		return;
	if (errno != ENOENT)
		die("access %s: %s", path, strerror(errno));
	slash = strrchr(path, '/');
	*slash = '\0';
	makedirs(path);
	*slash = '/';
	hexname(hex, 8, s->tag ^ (i * 7ULL));
	snprintf(tmp, sizeof(tmp), "%s_%s.tmp", path, hex);
	fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_TRUNC | (v->direct ? O_DIRECT : 0), 0644);
	if (fd < 0)
		die("open %s: %s", tmp, strerror(errno));
	if ((n = write(fd, expect(s->b, s->tag, i), size)) != (ssize_t)size)
		die("write %s: %s (%zd of %zu)", tmp, n < 0 ? strerror(errno) : "short", n, size);
	xclose(fd, tmp);
	xrename(tmp, path);
	v->stored[i] = true;
	s->bytes += size;
}

/* open O_DIRECT, one readv into two aligned halves, checked untimed. */
static void vllm_load(struct sess *s, const struct vllm *v, unsigned i)
{
	char path[PATH_MAX + 96];
	size_t size = eng_file_size(s->b, E_VLLM, s->tag * 31 + i), half = size / 2 / BLK * BLK;
	struct iovec iov[2] = { { s->b->buf, half }, { s->b->buf + half, size - half } };
	double t0 = now();
	ssize_t n;
	int fd;

	vllm_path(path, sizeof(path), v, s, i);
	if ((fd = open(path, O_RDONLY | (v->direct ? O_DIRECT : 0))) < 0)
		die("open %s: %s", path, strerror(errno));
	if ((n = readv(fd, iov, 2)) != (ssize_t)size)
		die("readv %s: %s (%zd of %zu)", path, n < 0 ? strerror(errno) : "short", n, size);
	close(fd);
	part_add(s, P_LOAD, t0);
	check(s->b->buf, expect(s->b, s->tag, i), size, "block", path);
}

/*
 * A vLLM session: the O_DIRECT probe and config.json, then 4 prompts of a
 * quarter of the blocks each; before each prompt's blocks are stored, 5
 * scheduler steps access(F_OK) every block (stored ones hit, the others
 * miss, again and again).  Then every block is loaded.
 */
static void run_vllm(struct sess *s)
{
	unsigned n = eng_files(s->b, E_VLLM), quarter = n / 4;
	char path[PATH_MAX + 96], hex[13];
	struct vllm v;
	double t0 = now();
	int fd;

	hexname(hex, 12, s->tag * 3);
	snprintf(v.root, sizeof(v.root), "%.*s/llama-8b_%s_r0", PATH_MAX - 64, s->dir, hex);
	if (!(v.stored = calloc(n, sizeof(bool))))
		die("out of memory");
	makedirs(v.root);
	v.direct = vllm_probe(s, &v);
	snprintf(path, sizeof(path), "%s/config.json", v.root);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0)
		die("open %s: %s", path, strerror(errno));
	write_full(fd, "{\"block_size\": 16, \"dtype\": \"bfloat16\"}\n", 41, path);
	xclose(fd, path);
	part_add(s, P_STORE, t0);
	for (unsigned p = 0; p < 4; p++) {
		unsigned end = p == 3 ? n : (p + 1) * quarter;

		t0 = now();
		for (unsigned step = 0; step < 5; step++)
			for (unsigned i = 0; i < n; i++) {
				int rc;

				vllm_path(path, sizeof(path), &v, s, i);
				rc = access(path, F_OK);
				if ((rc == 0) != v.stored[i] || (rc < 0 && errno != ENOENT))
					die("access %s: %s, but the block is %s", path,
					    rc ? strerror(errno) : "found",
					    v.stored[i] ? "stored" : "not stored");
			}
		part_add(s, P_LOOKUP, t0);
		t0 = now();
		for (unsigned i = p * quarter; i < end; i++)
			vllm_store(s, &v, i);
		part_add(s, P_STORE, t0);
	}
	for (unsigned i = 0; i < n; i++)
		vllm_load(s, &v, i);
	s->t->o_direct = v.direct;
	s->files = n;
	rm_tree(v.root);
	free(v.stored);
}

/* ---- LMCache ------------------------------------------------------------ */

static void lmcache_path(char *out, size_t size, const struct sess *s, uint64_t key)
{
	char hex[17];

	hexname(hex, 16, key);
	snprintf(out, size, "%s/llama-8b@0x0@0@%s.data", s->dir, hex);
}

/*
 * An LMCache session: per chunk statvfs (free-space guard), exists, temp
 * name, one write, rename; 20 lookup rounds of every chunk and as many
 * absent ones; then each chunk loaded with one exact-size read.
 */
static void run_lmcache(struct sess *s)
{
	unsigned n = eng_files(s->b, E_LMCACHE);
	char path[PATH_MAX + 96], tmp[PATH_MAX + 128], hex[9];
	struct statvfs sv;
	double t0;
	ssize_t r;
	int fd;

	for (unsigned i = 0; i < n; i++) {
		size_t size = eng_file_size(s->b, E_LMCACHE, s->tag * 31 + i);

		t0 = now();
		if (statvfs(s->dir, &sv) < 0)
			die("statvfs %s: %s", s->dir, strerror(errno));
		if ((uint64_t)sv.f_bavail * sv.f_frsize < size)
			die("statvfs %s: %llu bytes free, a chunk needs %zu", s->dir,
			    (unsigned long long)sv.f_bavail * sv.f_frsize, size);
		lmcache_path(path, sizeof(path), s, s->tag * 1009 + i);
		if (exists(path))
			die("%s exists before it was stored", path);
		hexname(hex, 8, s->tag + i);
		snprintf(tmp, sizeof(tmp), "%s.%s.tmp", path, hex);
		store_renamed(tmp, path, expect(s->b, s->tag, i), size);
		part_add(s, P_STORE, t0);
		s->bytes += size;
	}
	t0 = now();
	for (unsigned r0 = 0; r0 < 20; r0++)
		for (unsigned i = 0; i < 2 * n; i++) {
			lmcache_path(path, sizeof(path), s,
				     i < n ? s->tag * 1009 + i : ~(s->tag * 1009 + i));
			if (exists(path) != (i < n))
				die("%s: exists() says %s", path, i < n ? "absent" : "present");
		}
	part_add(s, P_LOOKUP, t0);
	for (unsigned i = 0; i < n; i++) {
		size_t size = eng_file_size(s->b, E_LMCACHE, s->tag * 31 + i);

		lmcache_path(path, sizeof(path), s, s->tag * 1009 + i);
		t0 = now();
		if ((fd = open(path, O_RDONLY)) < 0)
			die("open %s: %s", path, strerror(errno));
		if ((r = read(fd, s->b->buf, size)) != (ssize_t)size)
			die("read %s: %s (%zd of %zu)", path, r < 0 ? strerror(errno) : "short", r,
			    size);
		close(fd);
		part_add(s, P_LOAD, t0);
		check(s->b->buf, expect(s->b, s->tag, i), size, "chunk", path);
	}
	for (unsigned i = 0; i < n; i++) {
		lmcache_path(path, sizeof(path), s, s->tag * 1009 + i);
		(void)unlink(path);
	}
	s->files = n;
}

/* ---- llm-d fs connector ------------------------------------------------- */

#define LLMD_DIR "llama-8b/block_size_16_blocks_per_file_16/tp_1_pp_size_1_pcp_size_1/rank_0/bfloat16"
#define LLMD_ATIME 1700000000L

static void llmd_path(char *out, size_t size, const struct sess *s, unsigned i)
{
	char hex[17];

	hexname(hex, 16, s->tag * 65537 + i);
	snprintf(out, size, "%s/" LLMD_DIR "/%.3s/%.2s/%s.bin", s->dir, hex, hex + 3, hex);
}

static void llmd_write(int fd, const char *src, size_t size, const char *path)
{
	for (size_t off = 0; off < size; off += 4 * MIB)
		write_full(fd, src + off, size - off < 4 * MIB ? size - off : 4 * MIB, path);
}

/* O_TMPFILE in the directory, 4 MiB writes, linkat (EEXIST is success);
 * where O_TMPFILE is refused, a temp name and rename.  Returns whether
 * O_TMPFILE served. */
static bool llmd_store(struct sess *s, unsigned i)
{
	char path[PATH_MAX + 160], tmp[PATH_MAX + 200], proc[64], *slash;
	size_t size = eng_file_size(s->b, E_LLMD, s->tag * 31 + i);
	const char *src = expect(s->b, s->tag, i);
	int fd;

	llmd_path(path, sizeof(path), s, i);
	slash = strrchr(path, '/');
	*slash = '\0';
	makedirs(path);
	fd = open(path, O_TMPFILE | O_WRONLY, 0644);
	*slash = '/';
	s->bytes += size;
	if (fd >= 0) {
		llmd_write(fd, src, size, path);
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) < 0 &&
		    errno != EEXIST)
			die("linkat O_TMPFILE -> %s: %s", path, strerror(errno));
		xclose(fd, path);
		return true;
	}
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL && errno != ENOSYS)
		die("open O_TMPFILE in the directory of %s: %s", path, strerror(errno));
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0)
		die("open %s: %s", tmp, strerror(errno));
	llmd_write(fd, src, size, tmp);
	xclose(fd, tmp);
	xrename(tmp, path);
	return false;
}

/* Whole-file read, then utimensat of the access time (mtime kept); the
 * times are checked untimed. */
static void llmd_load(struct sess *s, unsigned i)
{
	char path[PATH_MAX + 160];
	size_t size = eng_file_size(s->b, E_LLMD, s->tag * 31 + i), got = 0;
	struct timespec ts[2] = { { LLMD_ATIME + i, 0 }, { 0, UTIME_OMIT } };
	struct stat before, after;
	double t0;
	ssize_t r;
	int fd;

	llmd_path(path, sizeof(path), s, i);
	if (stat(path, &before) < 0)
		die("stat %s: %s", path, strerror(errno));
	t0 = now();
	if ((fd = open(path, O_RDONLY)) < 0)
		die("open %s: %s", path, strerror(errno));
	while ((r = read(fd, s->b->buf + got, EB_BUF_SIZE - got)) > 0)
		got += (size_t)r;
	if (r < 0)
		die("read %s: %s", path, strerror(errno));
	close(fd);
	if (utimensat(AT_FDCWD, path, ts, 0) < 0)
		die("utimensat %s: %s", path, strerror(errno));
	part_add(s, P_LOAD, t0);
	if (got != size)
		die("%s: read %zu bytes, stored %zu", path, got, size);
	check(s->b->buf, expect(s->b, s->tag, i), size, "block file", path);
	if (stat(path, &after) < 0)
		die("stat %s: %s", path, strerror(errno));
	if (after.st_atim.tv_sec != LLMD_ATIME + (long)i ||
	    after.st_mtim.tv_sec != before.st_mtim.tv_sec ||
	    after.st_mtim.tv_nsec != before.st_mtim.tv_nsec)
		die("%s: after utimensat(atime %ld, mtime omitted): atime %ld, mtime %ld.%09ld "
		    "(was %ld.%09ld)", path, LLMD_ATIME + (long)i, (long)after.st_atim.tv_sec,
		    (long)after.st_mtim.tv_sec, after.st_mtim.tv_nsec,
		    (long)before.st_mtim.tv_sec, before.st_mtim.tv_nsec);
}

/*
 * An llm-d session: every block file stored (O_TMPFILE + linkat), then 10
 * lookup rounds of every block and half as many absent ones, then every
 * file loaded and its access time set.
 */
static void run_llmd(struct sess *s)
{
	unsigned n = eng_files(s->b, E_LLMD), tmpfile = 0;
	char path[PATH_MAX + 160], top[PATH_MAX + 16];
	double t0;

	for (unsigned i = 0; i < n; i++) {
		t0 = now();
		tmpfile += llmd_store(s, i);
		part_add(s, P_STORE, t0);
	}
	t0 = now();
	for (unsigned r = 0; r < 10; r++)
		for (unsigned i = 0; i < n + n / 2; i++) {
			llmd_path(path, sizeof(path), s, i);
			if (exists(path) != (i < n))
				die("%s: exists() says %s", path, i < n ? "absent" : "present");
		}
	part_add(s, P_LOOKUP, t0);
	for (unsigned i = 0; i < n; i++)
		llmd_load(s, i);
	if (tmpfile != 0 && tmpfile != n)
		die("%s: O_TMPFILE served %u of %u stores", s->dir, tmpfile, n);
	s->t->o_tmpfile = tmpfile == n;
	s->files = n;
	snprintf(top, sizeof(top), "%s/llama-8b", s->dir);
	rm_tree(top);
}

static void (*const engine_run[E_NR])(struct sess *) = {
	run_ds4, run_sglang, run_vllm, run_lmcache, run_llmd,
};

/* One session of engine e on t; rep < 0: --verify-only (nothing recorded). */
static void engine_session(struct bench *b, struct target *t, enum engine e, int rep)
{
	struct sess s = { .b = b, .t = t, .tag = ++b->tag };
	struct other_mark om;

	snprintf(s.dir, sizeof(s.dir), "%s/%s", t->work, engine_name[e]);
	if (mkdir(s.dir, 0755) < 0)
		die("mkdir %s: %s", s.dir, strerror(errno));
	if (rep >= 0)
		settle(b, t);
	other_start(b, &om);
	engine_run[e](&s);
	other_stop(b, &om, t);
	rm_tree(s.dir);
	if (rep < 0) {
		printf("verify: %-8s on %-6s ok: %u files, %.1f MiB stored, loaded and checked%s\n",
		       engine_name[e], t->label, s.files, (double)s.bytes / MIB,
		       e == E_VLLM ? (t->o_direct ? " (O_DIRECT)" : " (O_DIRECT refused: buffered)") :
		       e == E_LLMD ? (t->o_tmpfile ? " (O_TMPFILE + linkat)" :
				      " (O_TMPFILE refused: temp name + rename)") : "");
		return;
	}
	for (unsigned p = 0; p < P_NR; p++)
		t->eng[e][p][rep] = s.tm[p];
	t->has_eng = true;
	printf("  %-8s %-6s run %d: store %.3f s, lookup %.3f s, load %.3f s, session %.3f s"
	       " (%u files, %.0f MiB)\n", engine_name[e], t->label, rep + 1, s.tm[P_STORE],
	       s.tm[P_LOOKUP], s.tm[P_LOAD], s.tm[P_SESSION], s.files, (double)s.bytes / MIB);
	fflush(stdout);
}

/* ---- mmap ----------------------------------------------------------------- */

/* The blocks file of mmap and rand: 1 MiB writes, untimed. */
static void blocks_write(struct bench *b, const char *path, size_t size, uint64_t tag)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	for (size_t off = 0; off < size; off += MIB) {
		size_t len = size - off < MIB ? size - off : MIB;

		for (size_t o = 0; o < len; o += BLK)
			block_fill(b, b->buf + o, off + o, tag);
		write_full(fd, b->buf, len, path);
	}
	xclose(fd, path);
}

/* open, mmap(MAP_SHARED, PROT_READ), copy out, munmap, close: MB/s, or
 * -errno where the mapping fails. */
static double mmap_read(struct bench *b, const char *path, uint64_t tag)
{
	double t0 = now(), dt;
	int fd = open(path, O_RDONLY), e;
	void *m;

	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	m = mmap(NULL, b->mmap_size, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		e = errno;
		close(fd);
		return -e;
	}
	memcpy(b->big_dst, m, b->mmap_size);
	munmap(m, b->mmap_size);
	close(fd);
	dt = now() - t0;
	for (size_t off = 0; off < b->mmap_size; off += BLK)
		if (!block_ok(b, b->big_dst + off, off, tag))
			die("%s: mmap read block at %zu differs from what was written", path, off);
	memset(b->big_dst, 0, b->mmap_size);	/* the next copy must fetch it again */
	return (double)b->mmap_size / dt / 1e6;
}

static double memcpy_mbps(struct bench *b)
{
	double v[3], t0;

	for (unsigned i = 0; i < 3; i++) {
		t0 = now();
		memcpy(b->big_dst, b->big_src, b->mmap_size);
		v[i] = (double)b->mmap_size / (now() - t0) / 1e6;
	}
	/* median of 3 */
	if (v[0] > v[1]) { double x = v[0]; v[0] = v[1]; v[1] = x; }
	if (v[1] > v[2]) { double x = v[1]; v[1] = v[2]; v[2] = x; }
	if (v[0] > v[1]) { double x = v[0]; v[0] = v[1]; v[1] = x; }
	return v[1];
}

/*
 * The same copy once, right after the same settle as mmap's first read:
 * on this VM memory left untouched for a second copies slower for its
 * first tens of ms (docs/bench.md, stage 14), so the first read's
 * like-for-like base is this, not the warm median of memcpy_mbps().
 */
static double memcpy_quiet_mbps(struct bench *b, const struct target *t)
{
	double t0;

	settle(b, t);
	t0 = now();
	memcpy(b->big_dst, b->big_src, b->mmap_size);
	return (double)b->mmap_size / (now() - t0) / 1e6;
}

/* The file is written just before (as an engine writes what it loads
 * later), then mapped twice: first and again. */
static void mmap_phase(struct bench *b, struct target *t, int rep)
{
	char path[PATH_MAX + 32];
	uint64_t tag = ++b->tag;
	struct other_mark om;
	double first, again;

	snprintf(path, sizeof(path), "%s/mmap.bin", t->work);
	blocks_write(b, path, b->mmap_size, tag);
	if (rep >= 0)
		settle(b, t);
	other_start(b, &om);
	first = mmap_read(b, path, tag);
	again = first < 0 ? first : mmap_read(b, path, tag);
	other_stop(b, &om, t);
	if (unlink(path) < 0)
		die("unlink %s: %s", path, strerror(errno));
	if (first < 0) {
		t->mmap_errno = (int)-first;
		if (rep >= 0)
			printf("  mmap     %-6s run %d: mmap(MAP_SHARED) failed: %s\n", t->label,
			       rep + 1, strerror(t->mmap_errno));
		else
			die("%s: mmap of a %zu-byte file: %s", t->label, b->mmap_size,
			    strerror(t->mmap_errno));
		return;
	}
	if (rep < 0) {
		printf("verify: mmap     on %-6s ok: %zu MiB mapped twice and checked\n", t->label,
		       b->mmap_size / MIB);
		return;
	}
	t->has_mmap = true;
	t->mmap_mbps[rep] = first;
	t->mmap_again_mbps[rep] = again;
	printf("  mmap     %-6s run %d: %.0f MB/s, again %.0f MB/s (memcpy %.0f MB/s, after the "
	       "settle %.0f)\n", t->label, rep + 1, first, again, b->memcpy_mbps[rep],
	       b->memcpy_quiet_mbps[rep]);
	fflush(stdout);
}

/* ---- rand ----------------------------------------------------------------- */

struct reader {
	const struct bench *b;
	const char *path;
	uint64_t tag, seed;
	unsigned reads;
	char *buf;			/* BLK, aligned */
	const char *bad;		/* set when a read was wrong */
	uint64_t bad_off;
	int err;
};

/* pread()s of 4 KiB at random aligned offsets on an fd of its own, each
 * checked (the same cost on every target). */
static void *reader_run(void *arg)
{
	struct reader *r = arg;
	uint64_t blocks = r->b->rand_size / BLK, x = r->seed;
	int fd = open(r->path, O_RDONLY);

	if (fd < 0) {
		r->err = errno;
		r->bad = "open";
		return NULL;
	}
	for (unsigned i = 0; i < r->reads; i++) {
		uint64_t off = (mix64(x++) % blocks) * BLK;
		ssize_t n = pread(fd, r->buf, BLK, (off_t)off);

		if (n != (ssize_t)BLK) {
			r->err = n < 0 ? errno : EIO;
			r->bad = n < 0 ? "pread" : "short pread";
			r->bad_off = off;
			break;
		}
		if (!block_ok(r->b, r->buf, off, r->tag)) {
			r->bad = "wrong data from pread";
			r->bad_off = off;
			break;
		}
	}
	close(fd);
	return NULL;
}

/* threads readers, reads in all: IOPS. */
static double rand_run(struct bench *b, const char *path, uint64_t tag, unsigned threads)
{
	struct reader r[2];
	pthread_t th[2];
	double t0 = now(), dt;

	for (unsigned i = 0; i < threads; i++) {
		r[i] = (struct reader){ .b = b, .path = path, .tag = tag,
					.seed = mix64(tag * 13 + i + threads * 100),
					.reads = b->rand_reads / threads,
					.buf = b->buf + i * BLK };
		if (pthread_create(&th[i], NULL, reader_run, &r[i]) != 0)
			die("pthread_create: out of resources");
	}
	for (unsigned i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	dt = now() - t0;
	for (unsigned i = 0; i < threads; i++)
		if (r[i].bad)
			die("%s: %s at offset %llu%s%s", path, r[i].bad,
			    (unsigned long long)r[i].bad_off, r[i].err ? ": " : "",
			    r[i].err ? strerror(r[i].err) : "");
	return (double)(b->rand_reads / threads * threads) / dt;
}

static void rand_phase(struct bench *b, struct target *t, int rep, uint64_t tag)
{
	char path[PATH_MAX + 32];
	struct other_mark om;
	double one, two;

	snprintf(path, sizeof(path), "%s/rand.bin", t->work);
	if (rep >= 0)
		settle(b, t);
	other_start(b, &om);
	one = rand_run(b, path, tag, 1);
	other_stop(b, &om, t);
	if (rep >= 0)
		settle(b, t);
	other_start(b, &om);
	two = rand_run(b, path, tag, 2);
	other_stop(b, &om, t);
	if (rep < 0) {
		printf("verify: rand     on %-6s ok: %u + %u checked 4 KiB preads\n", t->label,
		       b->rand_reads, b->rand_reads);
		return;
	}
	t->has_rand = true;
	t->rand1[rep] = one;
	t->rand2[rep] = two;
	printf("  rand     %-6s run %d: %.0f IOPS (1 thread), %.0f IOPS (2 threads)\n",
	       t->label, rep + 1, one, two);
	fflush(stdout);
}

/* ---- results ------------------------------------------------------------ */

static const struct target *find_role(const struct bench *b, enum role r)
{
	for (unsigned i = 0; i < b->nt; i++)
		if (b->t[i].role == r)
			return &b->t[i];
	return NULL;
}

struct ratio {
	char target[32];
	char name[48];
	const char *base;
	double value, goal;		/* goal 0: for information */
};

/* Ratios of medians, for every kvfs* target: engines as disk seconds over
 * kvfs seconds (a speed ratio, > 1: kvfs faster), mmap over memcpy and
 * over disk, rand over tmpfs. */
static unsigned collect_ratios(const struct bench *b, struct ratio *out, unsigned max)
{
	const struct target *disk = find_role(b, ROLE_DISK), *tmpfs = find_role(b, ROLE_TMPFS);
	unsigned n = 0, rp = b->repeat;

#define ADD(T, NAME, BASE, V, GOAL) do { if (n < max) { \
		snprintf(out[n].target, sizeof(out[n].target), "%s", (T)->label); \
		snprintf(out[n].name, sizeof(out[n].name), "%s", (NAME)); \
		out[n].base = (BASE); out[n].value = (V); out[n].goal = (GOAL); n++; } } while (0)
	for (unsigned i = 0; i < b->nt; i++) {
		const struct target *t = &b->t[i];
		char name[48];

		if (t->role != ROLE_KVFS)
			continue;
		if (t->has_eng && disk && disk->has_eng)
			for (unsigned e = 0; e < E_NR; e++)
				for (unsigned p = 0; p < P_NR && engine_on(b, e); p++) {
					snprintf(name, sizeof(name), "%s_%s_vs_disk", engine_name[e],
						 part_name[p]);
					ADD(t, name, "disk", median(disk->eng[e][p], rp) /
					    median(t->eng[e][p], rp),
					    p == P_SESSION ? EB_GOAL_ENGINE : 0);
				}
		if (t->has_mmap) {
			ADD(t, "mmap_read_vs_memcpy", "memcpy", median(t->mmap_mbps, rp) /
			    median(b->memcpy_mbps, rp), 0);
			ADD(t, "mmap_read_vs_memcpy_quiet", "memcpy_quiet",
			    median(t->mmap_mbps, rp) / median(b->memcpy_quiet_mbps, rp),
			    EB_GOAL_MMAP);
			ADD(t, "mmap_again_vs_memcpy", "memcpy", median(t->mmap_again_mbps, rp) /
			    median(b->memcpy_mbps, rp), 0);
			if (disk && disk->has_mmap)
				ADD(t, "mmap_read_vs_disk", "disk", median(t->mmap_mbps, rp) /
				    median(disk->mmap_mbps, rp), 0);
		}
		if (t->has_rand && tmpfs && tmpfs->has_rand) {
			ADD(t, "rand_1t_vs_tmpfs", "tmpfs", median(t->rand1, rp) /
			    median(tmpfs->rand1, rp), EB_GOAL_RAND);
			ADD(t, "rand_2t_vs_tmpfs", "tmpfs", median(t->rand2, rp) /
			    median(tmpfs->rand2, rp), EB_GOAL_RAND);
		}
	}
	if (disk && disk->has_mmap) {
		ADD(disk, "mmap_read_vs_memcpy", "memcpy", median(disk->mmap_mbps, rp) /
		    median(b->memcpy_mbps, rp), 0);
		ADD(disk, "mmap_read_vs_memcpy_quiet", "memcpy_quiet", median(disk->mmap_mbps, rp) /
		    median(b->memcpy_quiet_mbps, rp), 0);
	}
#undef ADD
	return n;
}

static void print_results(const struct bench *b)
{
	struct ratio r[128];
	unsigned n, rp = b->repeat;
	char name[96];

	printf("\nkvfs-bench-engines: medians of %u runs, targets alternating; seconds per "
	       "session (less is better); MB = 10^6 bytes\n", rp);
	if (b->phases & PH_ENGINES) {
		printf("%-9s %-8s %9s %9s %9s %9s\n", "engine", "target", "store s", "lookup s",
		       "load s", "session s");
		for (unsigned e = 0; e < E_NR; e++)
			for (unsigned i = 0; i < b->nt; i++) {
				const struct target *t = &b->t[i];

				if (!t->has_eng || !engine_on(b, e))
					continue;
				printf("%-9s %-8s %9.3f %9.3f %9.3f %9.3f\n", engine_name[e],
				       t->label, median(t->eng[e][P_STORE], rp),
				       median(t->eng[e][P_LOOKUP], rp),
				       median(t->eng[e][P_LOAD], rp),
				       median(t->eng[e][P_SESSION], rp));
			}
		for (unsigned i = 0; i < b->nt; i++)
			if (b->t[i].has_eng)
				printf("  %s: vLLM's O_DIRECT probe %s; llm-d stored with %s\n",
				       b->t[i].label, b->t[i].o_direct ? "succeeded" :
				       "failed (buffered I/O)", b->t[i].o_tmpfile ?
				       "O_TMPFILE + linkat" : "a temp name + rename (O_TMPFILE refused)");
	}
	if (b->phases & PH_MMAP) {
		printf("mmap read of %zu MiB (MAP_SHARED, copied out): memcpy %.0f MB/s, the same "
		       "copy right after the settle %.0f MB/s\n", b->mmap_size / MIB,
		       median(b->memcpy_mbps, rp), median(b->memcpy_quiet_mbps, rp));
		for (unsigned i = 0; i < b->nt; i++) {
			const struct target *t = &b->t[i];

			if (t->has_mmap)
				printf("  %-8s %7.0f MB/s, again %7.0f MB/s\n", t->label,
				       median(t->mmap_mbps, rp), median(t->mmap_again_mbps, rp));
			else if (t->mmap_errno)
				printf("  %-8s mmap failed: %s\n", t->label, strerror(t->mmap_errno));
		}
	}
	if (b->phases & PH_RAND) {
		printf("4 KiB random preads of a %zu MiB file, %u reads: IOPS\n",
		       b->rand_size / MIB, b->rand_reads);
		for (unsigned i = 0; i < b->nt; i++)
			if (b->t[i].has_rand)
				printf("  %-8s %9.0f (1 thread) %9.0f (2 threads)\n", b->t[i].label,
				       median(b->t[i].rand1, rp), median(b->t[i].rand2, rp));
	}
	for (unsigned i = 0; i < b->nt; i++)
		if (b->t[i].other > EB_OTHER_WARN)
			printf("WARNING: %s: other processes used up to %.0f%% of a CPU during a "
			       "timed phase; its figures may be low\n", b->t[i].label,
			       100 * b->t[i].other);
	n = collect_ratios(b, r, 128);
	if (!n)
		return;
	print_ratio_head();
	for (unsigned i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%.31s %.47s", r[i].target, r[i].name);
		print_ratio_row(name, r[i].value, r[i].goal);
	}
}

static void write_json(const struct bench *b)
{
	FILE *f = fopen(b->json, "w");
	struct ratio r[128];
	unsigned n, rp = b->repeat;
	struct utsname u;

	if (!f)
		die("cannot write %s: %s", b->json, strerror(errno));
	time_t tnow = time(NULL);
	char when[32];

	uname(&u);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&tnow));
	fprintf(f, "{\n  \"format\": 1,\n  \"tool\": \"kvfs-bench-engines\",\n  \"time\": \"%s\",\n",
		when);
	fprintf(f, "  \"machine\": {\"cpus\": %ld, \"kernel\": \"%s\"},\n",
		sysconf(_SC_NPROCESSORS_ONLN), u.release);
	fprintf(f, "  \"config\": {\"repeat\": %u, \"settle_s\": %.1f, \"fsync\": false, "
		"\"mmap_bytes\": %zu, \"rand_file_bytes\": %zu, \"rand_reads\": %u, "
		"\"extra_fds\": %u, \"engine_files\": {", rp, b->settle, b->mmap_size,
		b->rand_size, b->rand_reads, b->fds);
	for (unsigned e = 0; e < E_NR; e++)
		fprintf(f, "%s\"%s\": %u", e ? ", " : "", engine_name[e], eng_files(b, e));
	fprintf(f, "}},\n  \"memcpy_mbps\": ");
	json_runs(f, b->memcpy_mbps, (b->phases & PH_MMAP) ? rp : 1, 4);
	fprintf(f, ",\n  \"memcpy_quiet_mbps\": ");
	json_runs(f, b->memcpy_quiet_mbps, (b->phases & PH_MMAP) ? rp : 1, 4);
	fprintf(f, ",\n  \"targets\": [");
	for (unsigned i = 0; i < b->nt; i++) {
		const struct target *t = &b->t[i];
		bool first = true;

		fprintf(f, "%s\n    {\"label\": \"%s\", \"path\": \"%s\", \"fstype\": \"%s\", "
			"\"other_cpu_max\": %.3f, \"vllm_o_direct\": %s, \"llmd_o_tmpfile\": %s, "
			"\"mmap_error\": \"%s\", \"metrics\": {", i ? "," : "", t->label, t->path,
			t->fstype, t->other, t->o_direct ? "true" : "false",
			t->o_tmpfile ? "true" : "false", t->mmap_errno ? strerror(t->mmap_errno) : "");
		if (t->has_eng)
			for (unsigned e = 0; e < E_NR; e++)
				for (unsigned p = 0; p < P_NR && engine_on(b, e); p++) {
					fprintf(f, "%s\n      \"%s_%s_s\": ", first ? "" : ",",
						engine_name[e], part_name[p]);
					json_runs(f, t->eng[e][p], rp, 4);
					first = false;
				}
#define MET(HAS, KEY, V) if (HAS) { fprintf(f, "%s\n      \"%s\": ", first ? "" : ",", KEY); \
		json_runs(f, V, rp, 4); first = false; }
		MET(t->has_mmap, "mmap_read_mbps", t->mmap_mbps);
		MET(t->has_mmap, "mmap_again_mbps", t->mmap_again_mbps);
		MET(t->has_rand, "rand_1t_iops", t->rand1);
		MET(t->has_rand, "rand_2t_iops", t->rand2);
#undef MET
		fprintf(f, "}}");
	}
	fprintf(f, "\n  ],\n  \"ratios\": [");
	n = collect_ratios(b, r, 128);
	for (unsigned i = 0; i < n; i++) {
		fprintf(f, "%s\n    {\"target\": \"%s\", \"name\": \"%s\", \"base\": \"%s\", "
			"\"value\": %.3f", i ? "," : "", r[i].target, r[i].name, r[i].base,
			r[i].value);
		if (r[i].goal > 0)
			fprintf(f, ", \"goal\": %.2f, \"met\": %s", r[i].goal,
				r[i].value >= r[i].goal ? "true" : "false");
		fprintf(f, "}");
	}
	fprintf(f, "\n  ]\n}\n");
	if (fclose(f) != 0)
		die("cannot write %s: %s", b->json, strerror(errno));
}

/* ---- targets and main --------------------------------------------------- */

static void add_target(struct bench *b, char *arg)
{
	char *eq = strchr(arg, '=');
	struct target *t;

	if (!eq || eq == arg || !eq[1])
		die("'%s' is not LABEL=DIR", arg);
	if (b->nt == EB_MAX_TARGETS)
		die("at most %d targets", EB_MAX_TARGETS);
	t = &b->t[b->nt];
	*eq = '\0';
	t->label = arg;
	if (!realpath(eq + 1, t->path))
		die("target %s=%s: %s", arg, eq + 1, strerror(errno));
	find_mount(t->path, t->fstype, sizeof(t->fstype), NULL, 0);
	t->role = strncmp(arg, "kvfs", 4) == 0 ? ROLE_KVFS : strcmp(arg, "disk") == 0 ?
		  ROLE_DISK : strcmp(arg, "tmpfs") == 0 ? ROLE_TMPFS : ROLE_OTHER;
	/* A slow mount must not send kvfs's I/O to the directory beneath. */
	if (t->role == ROLE_KVFS && strncmp(t->fstype, "fuse", 4) != 0)
		die("target %s=%s is not a FUSE mount (%s): mount kvfs there first", t->label,
		    t->path, t->fstype);
	if (t->role == ROLE_OTHER)
		die("target label %s: use kvfs* (measured), disk (the engines' and mmap's "
		    "base) or tmpfs (rand's base)", arg);
	b->nt++;
}

static void make_work(struct target *t)
{
	char work[PATH_MAX];

	snprintf(work, sizeof(work), "%.*s/kvfs-bench-engines.%ld", PATH_MAX - 64, t->path,
		 (long)getpid());
	memcpy(t->work, work, sizeof(work));
	if (mkdir(t->work, 0755) < 0)
		die("mkdir %s: %s", t->work, strerror(errno));
}

static void remove_work(struct target *t)
{
	if (!t->work[0])
		return;
	rm_tree(t->work);
	t->work[0] = '\0';
}

static void usage(FILE *f, int code)
{
	fprintf(f,
		"usage: kvfs-bench-engines [options] LABEL=DIR [LABEL=DIR...]\n"
		"  labels: kvfs* (FUSE mounts, measured), disk (an ext4 directory: the base of\n"
		"  engines and mmap), tmpfs (the base of rand); each DIR gets a work directory\n"
		"  kvfs-bench-engines.<pid>, removed at the end\n"
		"  --repeat N      runs of every measurement, median reported (3)\n"
		"  --settle S      seconds of quiet before each timed phase (2)\n"
		"  --phases LIST   any of engines,mmap,rand (all); engines and mmap run on\n"
		"                  kvfs* and disk, rand on kvfs* and tmpfs\n"
		"  --engines LIST  the engine sessions to run, any of ds4,sglang,vllm,\n"
		"                  lmcache,llmd (all)\n"
		"  --rand-reads N  4 KiB preads per rand measurement (100000)\n"
		"  --fds N         hold N more descriptors open (of /dev/null) throughout, as\n"
		"                  an engine's process does (CUDA, sockets): kvfs read each of\n"
		"                  them at a new file's close until stage 13 (0)\n"
		"  --quick         smoke test: one run, engine sessions a quarter the size\n"
		"  --verify-only   every sequence once, small, checked; no figures (a test)\n"
		"  --watch-pid PID a kvfs daemon: its CPU is not counted as interference\n"
		"  --json PATH     write the results as JSON\n");
	exit(code);
}

static unsigned parse_uint(const char *opt, const char *s, unsigned lo, unsigned hi)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (end == s || *end || v < lo || v > hi)
		die("%s %s is not a number from %u to %u", opt, s, lo, hi);
	return (unsigned)v;
}

static void parse_args(struct bench *b, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
			usage(stdout, 0);
		if (strcmp(a, "--verify-only") == 0) {
			b->verify_only = true;
			continue;
		}
		if (strcmp(a, "--quick") == 0) {
			b->repeat = 1;
			b->size_div = 2;
			b->count_div = 2;
			b->settle = 0.5;
			continue;
		}
		if (a[0] != '-') {
			add_target(b, argv[i]);
			continue;
		}
		if (!v)
			usage(stderr, 2);
		i++;
		if (strcmp(a, "--repeat") == 0) {
			b->repeat = parse_uint(a, v, 1, EB_MAX_REPEAT);
		} else if (strcmp(a, "--settle") == 0) {
			char *end;

			b->settle = strtod(v, &end);
			if (end == v || *end || b->settle < 0 || b->settle > 60)
				die("--settle %s is not 0-60 seconds", v);
		} else if (strcmp(a, "--rand-reads") == 0) {
			b->rand_reads = parse_uint(a, v, 2, 100000000);
		} else if (strcmp(a, "--fds") == 0) {
			b->fds = parse_uint(a, v, 0, 1000000);
		} else if (strcmp(a, "--json") == 0) {
			b->json = v;
		} else if (strcmp(a, "--watch-pid") == 0) {
			if (b->nwatch == EB_MAX_WATCH)
				die("at most %d --watch-pid", EB_MAX_WATCH);
			b->watch_pid[b->nwatch++] = (long)parse_uint(a, v, 1, INT_MAX);
		} else if (strcmp(a, "--engines") == 0) {
			b->engines = 0;
			for (unsigned e = 0; e < E_NR; e++)
				if (strstr(v, engine_name[e]))
					b->engines |= 1u << e;
			if (!b->engines)
				die("--engines %s: name ds4, sglang, vllm, lmcache or llmd", v);
		} else if (strcmp(a, "--phases") == 0) {
			b->phases = (strstr(v, "engines") ? PH_ENGINES : 0) |
				    (strstr(v, "mmap") ? PH_MMAP : 0) | (strstr(v, "rand") ? PH_RAND : 0);
			if (!b->phases)
				die("--phases %s: name engines, mmap or rand", v);
		} else {
			usage(stderr, 2);
		}
	}
	if (!b->nt)
		usage(stderr, 2);
}

/* --fds: n descriptors of /dev/null, open until exit (the soft limit
 * raised to fit where the hard one allows). */
static void hold_fds(unsigned n)
{
	struct rlimit rl;

	if (n == 0)
		return;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)n + 64) {
		rl.rlim_cur = rl.rlim_max < (rlim_t)n + 64 ? rl.rlim_max : (rlim_t)n + 64;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	for (unsigned i = 0; i < n; i++)
		if (open("/dev/null", O_RDONLY | O_CLOEXEC) < 0)
			die("--fds %u: open /dev/null (descriptor %u): %s", n, i, strerror(errno));
	printf("holding %u more descriptors open (--fds)\n", n);
}

static bool on(const struct target *t, enum phase ph)
{
	if (t->role == ROLE_KVFS)
		return true;
	return ph == PH_RAND ? t->role == ROLE_TMPFS : t->role == ROLE_DISK;
}

int main(int argc, char **argv)
{
	static struct bench bench = { .repeat = 3, .settle = 2, .size_div = 1, .count_div = 1,
				      .phases = PH_ENGINES | PH_MMAP | PH_RAND,
				      .engines = (1u << E_NR) - 1,
				      .mmap_size = 256 * MIB, .rand_size = 1024 * MIB,
				      .rand_reads = 100000 };
	struct bench *b = &bench;
	unsigned rp;

	setvbuf(stdout, NULL, _IOLBF, 0);
	parse_args(b, argc, argv);
	if (b->verify_only) {
		b->repeat = 1;
		b->settle = 0;
		b->size_div = 16;
		b->count_div = 6;
		b->mmap_size = 16 * MIB;
		b->rand_size = 32 * MIB;
		b->rand_reads = 2000;
	}
	hold_fds(b->fds);
	b->tag = mix64((uint64_t)getpid() ^ (uint64_t)time(NULL)) & 0xffffffffffULL;
	b->pat = xalloc(EB_PAT_SIZE);
	for (size_t i = 0; i < EB_PAT_SIZE / 8; i++) {
		uint64_t w = mix64(i ^ b->tag);

		memcpy(b->pat + i * 8, &w, 8);
	}
	b->buf = xalloc(EB_BUF_SIZE);
	if (b->phases & PH_MMAP) {
		/* Huge pages where THP allows (the memory tier has them): after a
		 * quiet, 4 KiB-mapped memory copied at 4.4-5.6 GB/s here, 2
		 * MiB-mapped at 6.6-8.6, so the base must have them too. */
		b->big_src = bench_alloc_huge(b->mmap_size);
		b->big_dst = bench_alloc_huge(b->mmap_size);
		memcpy(b->big_src, b->pat, b->mmap_size < EB_PAT_SIZE ? b->mmap_size : EB_PAT_SIZE);
	}
	cleanup_bench = b;
	for (unsigned i = 0; i < b->nt; i++)
		make_work(&b->t[i]);
	rp = b->verify_only ? 1 : b->repeat;

	if (b->phases & PH_ENGINES)
		for (unsigned e = 0; e < E_NR; e++)
			for (unsigned r = 0; r < rp && engine_on(b, e); r++)
				for (unsigned k = 0; k < b->nt; k++) {
					struct target *t = &b->t[(k + r) % b->nt];

					if (on(t, PH_ENGINES))
						engine_session(b, t, e, b->verify_only ? -1 : (int)r);
				}
	if (b->phases & PH_MMAP)
		for (unsigned r = 0; r < rp; r++) {
			b->memcpy_mbps[r] = memcpy_mbps(b);
			for (unsigned k = 0; k < b->nt; k++)
				if (on(&b->t[k], PH_MMAP)) {
					b->memcpy_quiet_mbps[r] = memcpy_quiet_mbps(b, &b->t[k]);
					break;
				}
			for (unsigned k = 0; k < b->nt; k++) {
				struct target *t = &b->t[(k + r) % b->nt];

				if (on(t, PH_MMAP))
					mmap_phase(b, t, b->verify_only ? -1 : (int)r);
			}
		}
	if (b->phases & PH_RAND) {
		uint64_t tag = ++b->tag;
		char path[PATH_MAX + 32];

		for (unsigned k = 0; k < b->nt; k++)
			if (on(&b->t[k], PH_RAND)) {
				snprintf(path, sizeof(path), "%s/rand.bin", b->t[k].work);
				blocks_write(b, path, b->rand_size, tag);
			}
		for (unsigned r = 0; r < rp; r++)
			for (unsigned k = 0; k < b->nt; k++) {
				struct target *t = &b->t[(k + r) % b->nt];

				if (on(t, PH_RAND))
					rand_phase(b, t, b->verify_only ? -1 : (int)r, tag);
			}
	}
	for (unsigned i = 0; i < b->nt; i++)
		remove_work(&b->t[i]);
	if (b->verify_only) {
		printf("verify: all sequences ok\n");
		return 0;
	}
	print_results(b);
	if (b->json)
		write_json(b);
	return 0;
}
