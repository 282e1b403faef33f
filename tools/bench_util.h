/*
 * bench_util.h - the small pieces the benchmark drivers share
 * (kvfs-bench.c, kvfs-bench-engines.c, kvfs-bench-index.c): the clock,
 * splitmix64, medians, a write that finishes or dies, a buffer on huge
 * pages, and the mount that holds a path.  Header-only, static functions:
 * each tool is one program.
 *
 * The including file declares `static _Noreturn void die(const char *fmt,
 * ...)` first: each tool cleans up its own way before it exits.
 */
#ifndef KVFS_BENCH_UTIL_H
#define KVFS_BENCH_UTIL_H

#include <errno.h>
#include <mntent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* Most repetitions a median is taken of. */
#define BENCH_MAX_REPEAT 64

static inline double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* splitmix64: data patterns, stamps, and names that look like hashes. */
static inline uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median of v[0..n), 1 <= n <= BENCH_MAX_REPEAT. */
static inline double median(const double *v, unsigned n)
{
	double s[BENCH_MAX_REPEAT];

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* The summary's ratio table: its header, then one row per ratio with its
 * goal, met or SHORT (goal 0: none). */
static inline void print_ratio_head(void)
{
	printf("\n%-44s %9s %9s\n", "ratio (of medians)", "measured", "goal");
}

static inline void print_ratio_row(const char *name, double value, double goal)
{
	if (goal > 0)
		printf("%-44s %9.3f   >= %4.2f  %s\n", name, value, goal,
		       value >= goal ? "met" : "SHORT");
	else
		printf("%-44s %9.3f %9s\n", name, value, "-");
}

/* {"median": M, "runs": [...]} of v[0..n), `digits` decimals. */
static inline void json_runs(FILE *f, const double *v, unsigned n, int digits)
{
	fprintf(f, "{\"median\": %.*f, \"runs\": [", digits, median(v, n));
	for (unsigned i = 0; i < n; i++)
		fprintf(f, "%s%.*f", i ? ", " : "", digits, v[i]);
	fprintf(f, "]}");
}

/* A huge page (x86-64's PMD size): kvfs's tier and its lend go by them. */
#define BENCH_HUGE_PAGE (2ul << 20)

/* n bytes, 2 MiB aligned, on transparent huge pages where THP allows
 * (MADV_HUGEPAGE), touched: the base a memory tier of huge pages is
 * compared with (after a quiet, 4 KiB-mapped memory copies slower here:
 * docs/bench.md, stage 14). */
static inline void *bench_alloc_huge(size_t n)
{
	void *p;

	if (posix_memalign(&p, BENCH_HUGE_PAGE, n) != 0)
		die("out of memory (%zu bytes)", n);
	(void)madvise(p, n, MADV_HUGEPAGE);
	memset(p, 0, n);
	return p;
}

/* Writes all of buf, or dies naming path. */
static inline void write_full(int fd, const char *buf, size_t len, const char *path)
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

/* The type and mount point of the mount holding path (the longest
 * mount-point prefix of /proc/mounts); "unknown" and "" if none is found.
 * mnt may be NULL. */
static inline void find_mount(const char *path, char *fstype, size_t fsz,
			      char *mnt, size_t msz)
{
	FILE *f = setmntent("/proc/mounts", "r");
	struct mntent *me;
	size_t best = 0;

	snprintf(fstype, fsz, "unknown");
	if (mnt)
		snprintf(mnt, msz, "%s", "");
	if (!f)
		return;
	while ((me = getmntent(f))) {
		size_t n = strlen(me->mnt_dir);

		if (strncmp(path, me->mnt_dir, n) != 0)
			continue;
		if (path[n] != '/' && path[n] != '\0' && strcmp(me->mnt_dir, "/") != 0)
			continue;
		if (n >= best) {
			best = n;
			snprintf(fstype, fsz, "%s", me->mnt_type);
			if (mnt)
				snprintf(mnt, msz, "%s", me->mnt_dir);
		}
	}
	endmntent(f);
}

#endif
