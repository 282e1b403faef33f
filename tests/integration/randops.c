/*
 * randops.c - seeded random file operations, applied in lockstep to a kvfs
 * directory and a reference directory (tmpfs), comparing every outcome.
 *
 *   randops [-v] SEED NOPS KVFS_DIR REF_DIR
 *
 * Each operation runs on both trees: open/close (flag mixes, O_CREAT, O_EXCL,
 * O_TRUNC, O_APPEND), pwrite/write and pread/read at random offsets (beyond
 * EOF too, which makes holes) with sizes from 1 byte to 2 MiB, lseek,
 * ftruncate/truncate, rename (plain, RENAME_NOREPLACE, RENAME_EXCHANGE),
 * unlink (of open files too), stat/fstat, mkdir/rmdir/readdir, fsync, chmod.
 * The return value, errno and every byte read must match; the first
 * difference stops the run and prints the operation, both outcomes and the
 * last operations before it.  Every 20,000 operations and at the end (after
 * closing every handle) the two trees are compared byte for byte.
 *
 * All operations come from one process and thread, so kvfs's publish-on-close
 * (other processes do not see unpublished files) does not show: within the
 * creating process kvfs must behave exactly as tmpfs does.  The namespace is
 * small (3 directory slots, 8 file names in each and in the root, 8 handles)
 * so that operations collide; files stay below 6 MiB, so the whole tree stays
 * under ~250 MiB even with open unlinked files.  Self-contained: libc and
 * t_util.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "t_util.h"

#define NDIRS 3
#define NNAMES 8
#define NHANDLES 8
#define MAXLEN (2u << 20)	/* largest single read or write */
#define MAXFILE (6u << 20)	/* files stay below this */
#define LOGN 48			/* operations remembered for the report */
#define CHECK_EVERY 20000

struct handle {
	int fd[2];		/* [0] kvfs, [1] reference; fd[0] < 0: slot free */
	int flags;
	char path[32];
};

static const char *root[2];
static struct handle h[NHANDLES];
static uint64_t rng_state, seed;
static long opno;
static int verbose;
static unsigned char *wbuf, *rbuf[2];
static char oplog[LOGN][240];
static char cur[200];
static long n_ok, n_err;
static unsigned long long bytes_written, bytes_read;

static uint64_t rnd(void)
{
	rng_state += 0x9E3779B97F4A7C15ull;
	return t_mix(rng_state);
}

/* Uniform in [0, n). */
static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cur, sizeof(cur), fmt, ap);
	va_end(ap);
	snprintf(oplog[opno % LOGN], sizeof(oplog[0]), "#%ld %s", opno, cur);
	if (verbose)
		printf("#%ld %s\n", opno, cur);
}

static void differ(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void differ(const char *fmt, ...)
{
	va_list ap;
	long first = opno - LOGN + 1 < 0 ? 0 : opno - LOGN + 1;

	printf("FAIL: randops: difference at operation #%ld (seed %llu): %s\n  ", opno,
	       (unsigned long long)seed, cur);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n  (first value: kvfs %s, second: reference %s)\n", root[0], root[1]);
	printf("the last %ld operations:\n", opno - first + 1);
	for (long k = first; k <= opno; k++)
		printf("  %s\n", oplog[k % LOGN]);
	printf("reproduce: KVFS_SEED=%llu (randops -v %llu %ld DIR REF)\n",
	       (unsigned long long)seed, (unsigned long long)seed, opno + 1);
	fflush(stdout);
	exit(1);
}

/* Compare two (result, errno) pairs of one call. */
static void same(const char *what, long r0, int e0, long r1, int e1)
{
	if (r0 < 0 && r1 < 0 && e0 == e1) {
		n_err++;
		return;
	}
	if (r0 >= 0 && r1 >= 0 && r0 == r1) {
		n_ok++;
		return;
	}
	differ("%s: kvfs %ld (%s), reference %ld (%s)", what, r0, r0 < 0 ? t_ename(e0) : "OK",
	       r1, r1 < 0 ? t_ename(e1) : "OK");
}

static void fullpath(char *out, size_t len, int side, const char *rel)
{
	snprintf(out, len, "%s/%s", root[side], rel);
}

static void rand_file(char *out, size_t len)
{
	unsigned d = (unsigned)below(2 * NDIRS);	/* half the names in the root */

	if (d < NDIRS)
		snprintf(out, len, "d%u/f%u", d, (unsigned)below(NNAMES));
	else
		snprintf(out, len, "f%u", (unsigned)below(NNAMES));
}

static void rand_dir(char *out, size_t len)
{
	snprintf(out, len, "d%u", (unsigned)below(NDIRS));
}

/* Sizes from 1 byte to 2 MiB, most of them small. */
static size_t rand_len(void)
{
	uint64_t c = below(100);

	if (c < 45)
		return 1 + below(4096);
	if (c < 75)
		return 4096 + below(124 << 10);
	if (c < 93)
		return (128u << 10) + below(896u << 10);
	return (1u << 20) + below(1u << 20) + 1;
}

/* Offsets inside, at and beyond EOF (holes), given the current size. */
static off_t rand_off(off_t size)
{
	uint64_t c = below(100);
	off_t off;

	if (c < 45)
		off = (off_t)below((uint64_t)size + 1);
	else if (c < 65)
		off = size;
	else if (c < 85)
		off = size + (off_t)below(4u << 20);
	else
		off = (off_t)below(64 << 10);
	return off > (off_t)MAXFILE - 1 ? (off_t)below(MAXFILE) : off;
}

static off_t fd_size(int fd)
{
	struct stat st;

	return fstat(fd, &st) < 0 ? 0 : st.st_size;
}

static void fill_data(size_t len)
{
	t_fill(wbuf, len, seed ^ ((uint64_t)opno << 20));
}

static int pick_open(void)
{
	int n = 0, k, idx[NHANDLES];

	for (k = 0; k < NHANDLES; k++)
		if (h[k].fd[0] >= 0)
			idx[n++] = k;
	return n ? idx[below((uint64_t)n)] : -1;
}

static int pick_free(void)
{
	for (int k = 0; k < NHANDLES; k++)
		if (h[k].fd[0] < 0)
			return k;
	return -1;
}

static const char *flagstr(int f)
{
	static char buf[64];

	snprintf(buf, sizeof(buf), "%s%s%s%s%s",
		 (f & O_ACCMODE) == O_RDONLY ? "RDONLY" : (f & O_ACCMODE) == O_WRONLY ? "WRONLY" : "RDWR",
		 f & O_CREAT ? "|CREAT" : "", f & O_EXCL ? "|EXCL" : "",
		 f & O_TRUNC ? "|TRUNC" : "", f & O_APPEND ? "|APPEND" : "");
	return buf;
}

/* ---- the operations ------------------------------------------------------ */

static void op_open(void)
{
	static const int acc[3] = { O_RDONLY, O_WRONLY, O_RDWR };
	char rel[32], p[2][4200];
	int k = pick_free(), flags, fd[2], err[2];

	if (k < 0)
		return;
	rand_file(rel, sizeof(rel));
	flags = acc[below(3)];
	if (below(100) < 60)
		flags |= O_CREAT | (below(100) < 15 ? O_EXCL : 0);
	if ((flags & O_ACCMODE) != O_RDONLY) {
		if (below(100) < 20)
			flags |= O_TRUNC;
		if (below(100) < 10)
			flags |= O_APPEND;
	}
	note("open(%s, %s) -> h%d", rel, flagstr(flags), k);
	for (int s = 0; s < 2; s++) {
		fullpath(p[s], sizeof(p[s]), s, rel);
		fd[s] = open(p[s], flags | O_CLOEXEC, 0644);
		err[s] = errno;
	}
	if ((fd[0] < 0) != (fd[1] < 0) || (fd[0] < 0 && err[0] != err[1]))
		differ("open: kvfs %s, reference %s", fd[0] < 0 ? t_ename(err[0]) : "OK",
		       fd[1] < 0 ? t_ename(err[1]) : "OK");
	if (fd[0] < 0)
		n_err++;
	else
		n_ok++;
	if (fd[0] >= 0) {
		h[k].fd[0] = fd[0];
		h[k].fd[1] = fd[1];
		h[k].flags = flags;
		snprintf(h[k].path, sizeof(h[k].path), "%s", rel);
	}
}

static void op_close(int k)
{
	long r[2];
	int e[2];

	note("close(h%d %s)", k, h[k].path);
	for (int s = 0; s < 2; s++) {
		r[s] = close(h[k].fd[s]);
		e[s] = errno;
	}
	h[k].fd[0] = h[k].fd[1] = -1;
	same("close", r[0], e[0], r[1], e[1]);
}

static void op_write(int k, int positional)
{
	off_t size = fd_size(h[k].fd[1]), off = rand_off(size);
	size_t len = rand_len();
	long r[2];
	int e[2];

	if ((uint64_t)off + len > MAXFILE)
		len = MAXFILE - (size_t)off;
	fill_data(len);
	if (positional) {
		note("pwrite(h%d %s, off=%lld, len=%zu)", k, h[k].path, (long long)off, len);
	} else {
		off_t pos = lseek(h[k].fd[1], 0, SEEK_CUR);

		if ((uint64_t)pos + len > MAXFILE)
			len = pos < (off_t)MAXFILE ? MAXFILE - (size_t)pos : 1;
		note("write(h%d %s, len=%zu) at pos %lld", k, h[k].path, len, (long long)pos);
	}
	for (int s = 0; s < 2; s++) {
		r[s] = positional ? pwrite(h[k].fd[s], wbuf, len, off) : write(h[k].fd[s], wbuf, len);
		e[s] = errno;
	}
	same(positional ? "pwrite" : "write", r[0], e[0], r[1], e[1]);
	if (r[0] > 0)
		bytes_written += (unsigned long long)r[0];
}

static void op_read(int k, int positional)
{
	off_t size = fd_size(h[k].fd[1]), off = rand_off(size);
	size_t len = rand_len();
	long r[2];
	int e[2];

	if (positional)
		note("pread(h%d %s, off=%lld, len=%zu) size %lld", k, h[k].path, (long long)off, len,
		     (long long)size);
	else
		note("read(h%d %s, len=%zu) at pos %lld size %lld", k, h[k].path, len,
		     (long long)lseek(h[k].fd[1], 0, SEEK_CUR), (long long)size);
	for (int s = 0; s < 2; s++) {
		size_t done = 0;
		ssize_t n = 0;

		/* Loop as a careful reader would: a complete file is never short. */
		while (done < len) {
			n = positional ? pread(h[k].fd[s], rbuf[s] + done, len - done, off + (off_t)done)
				       : read(h[k].fd[s], rbuf[s] + done, len - done);
			if (n <= 0)
				break;
			done += (size_t)n;
		}
		r[s] = n < 0 && done == 0 ? -1 : (long)done;
		e[s] = errno;
	}
	same(positional ? "pread" : "read", r[0], e[0], r[1], e[1]);
	if (r[0] > 0)
		bytes_read += (unsigned long long)r[0];
	if (r[0] > 0 && memcmp(rbuf[0], rbuf[1], (size_t)r[0]) != 0) {
		size_t i = 0;

		while (rbuf[0][i] == rbuf[1][i])
			i++;
		differ("%s: the data differ first at byte %zu of %ld (file offset %lld): kvfs %02x, "
		       "reference %02x", positional ? "pread" : "read", i, r[0],
		       positional ? (long long)(off + (off_t)i) : -1LL, rbuf[0][i], rbuf[1][i]);
	}
}

static void op_lseek(int k)
{
	static const int wh[3] = { SEEK_SET, SEEK_CUR, SEEK_END };
	int w = wh[below(3)];
	off_t off = w == SEEK_SET ? (off_t)below(MAXFILE) : (off_t)below(2u << 20) - (1 << 20);
	long r[2];
	int e[2];

	note("lseek(h%d %s, %lld, %s)", k, h[k].path, (long long)off,
	     w == SEEK_SET ? "SET" : w == SEEK_CUR ? "CUR" : "END");
	for (int s = 0; s < 2; s++) {
		r[s] = (long)lseek(h[k].fd[s], off, w);
		e[s] = errno;
	}
	same("lseek", r[0], e[0], r[1], e[1]);
	/* Keep positions below the file cap. */
	if (r[1] > (long)MAXFILE)
		for (int s = 0; s < 2; s++)
			lseek(h[k].fd[s], 0, SEEK_SET);
}

static off_t rand_trunc_len(off_t size)
{
	uint64_t c = below(100);

	if (c < 20)
		return 0;
	if (c < 60)
		return (off_t)below((uint64_t)size + 1);
	return (off_t)below(MAXFILE);
}

static void op_ftruncate(int k)
{
	off_t len = rand_trunc_len(fd_size(h[k].fd[1]));
	long r[2];
	int e[2];

	note("ftruncate(h%d %s, %lld)", k, h[k].path, (long long)len);
	for (int s = 0; s < 2; s++) {
		r[s] = ftruncate(h[k].fd[s], len);
		e[s] = errno;
	}
	same("ftruncate", r[0], e[0], r[1], e[1]);
}

static void op_truncate(void)
{
	char rel[32], p[2][4200];
	struct stat st;
	off_t len;
	long r[2];
	int e[2];

	rand_file(rel, sizeof(rel));
	fullpath(p[1], sizeof(p[1]), 1, rel);
	len = rand_trunc_len(stat(p[1], &st) == 0 ? st.st_size : 0);
	note("truncate(%s, %lld)", rel, (long long)len);
	for (int s = 0; s < 2; s++) {
		fullpath(p[s], sizeof(p[s]), s, rel);
		r[s] = truncate(p[s], len);
		e[s] = errno;
	}
	same("truncate", r[0], e[0], r[1], e[1]);
}

static void op_rename(int dirs)
{
	char a[32], b[32], pa[2][4200], pb[2][4200];
	unsigned c = (unsigned)below(100), flags = c < 10 ? RENAME_NOREPLACE : c < 20 ? RENAME_EXCHANGE : 0;
	long r[2];
	int e[2];

	if (dirs) {
		rand_dir(a, sizeof(a));
		rand_dir(b, sizeof(b));
	} else {
		rand_file(a, sizeof(a));
		rand_file(b, sizeof(b));
	}
	note("rename(%s, %s%s)", a, b,
	     flags == RENAME_NOREPLACE ? ", NOREPLACE" : flags == RENAME_EXCHANGE ? ", EXCHANGE" : "");
	for (int s = 0; s < 2; s++) {
		fullpath(pa[s], sizeof(pa[s]), s, a);
		fullpath(pb[s], sizeof(pb[s]), s, b);
		r[s] = renameat2(AT_FDCWD, pa[s], AT_FDCWD, pb[s], flags);
		e[s] = errno;
	}
	same("rename", r[0], e[0], r[1], e[1]);
}

static void path_op(const char *name, int (*fn)(const char *), int dir)
{
	char rel[32], p[4200];
	long r[2];
	int e[2];

	if (dir)
		rand_dir(rel, sizeof(rel));
	else
		rand_file(rel, sizeof(rel));
	note("%s(%s)", name, rel);
	for (int s = 0; s < 2; s++) {
		fullpath(p, sizeof(p), s, rel);
		r[s] = fn(p);
		e[s] = errno;
	}
	same(name, r[0], e[0], r[1], e[1]);
}

static int do_mkdir(const char *p) { return mkdir(p, 0755); }

static void cmp_stat(const char *what, const struct stat *a, const struct stat *b)
{
	if ((a->st_mode & S_IFMT) != (b->st_mode & S_IFMT))
		differ("%s: type: kvfs %o, reference %o", what, a->st_mode & S_IFMT, b->st_mode & S_IFMT);
	if ((a->st_mode & 07777) != (b->st_mode & 07777))
		differ("%s: mode: kvfs %o, reference %o", what, a->st_mode & 07777, b->st_mode & 07777);
	if (!S_ISREG(a->st_mode))
		return;
	if (a->st_size != b->st_size)
		differ("%s: size: kvfs %lld, reference %lld", what, (long long)a->st_size,
		       (long long)b->st_size);
	if (a->st_nlink != b->st_nlink)
		differ("%s: nlink: kvfs %lu, reference %lu", what, (unsigned long)a->st_nlink,
		       (unsigned long)b->st_nlink);
}

static void op_stat(int dir)
{
	char rel[32], p[4200];
	struct stat st[2];
	long r[2];
	int e[2];

	if (dir)
		rand_dir(rel, sizeof(rel));
	else
		rand_file(rel, sizeof(rel));
	note("stat(%s)", rel);
	for (int s = 0; s < 2; s++) {
		fullpath(p, sizeof(p), s, rel);
		r[s] = stat(p, &st[s]);
		e[s] = errno;
	}
	same("stat", r[0], e[0], r[1], e[1]);
	if (r[0] == 0)
		cmp_stat("stat", &st[0], &st[1]);
}

static void op_fstat(int k)
{
	struct stat st[2];
	long r[2];
	int e[2];

	note("fstat(h%d %s)", k, h[k].path);
	for (int s = 0; s < 2; s++) {
		r[s] = fstat(h[k].fd[s], &st[s]);
		e[s] = errno;
	}
	same("fstat", r[0], e[0], r[1], e[1]);
	if (r[0] == 0)
		cmp_stat("fstat", &st[0], &st[1]);
}

static void op_fsync(int k)
{
	long r[2];
	int e[2];

	note("fsync(h%d %s)", k, h[k].path);
	for (int s = 0; s < 2; s++) {
		r[s] = fsync(h[k].fd[s]);
		e[s] = errno;
	}
	same("fsync", r[0], e[0], r[1], e[1]);
}

static void op_chmod(void)
{
	static const mode_t modes[4] = { 0644, 0600, 0755, 0444 };
	char rel[32], p[4200];
	mode_t m = modes[below(4)];
	long r[2];
	int e[2];

	rand_file(rel, sizeof(rel));
	note("chmod(%s, %o)", rel, m);
	for (int s = 0; s < 2; s++) {
		fullpath(p, sizeof(p), s, rel);
		r[s] = chmod(p, m);
		e[s] = errno;
	}
	same("chmod", r[0], e[0], r[1], e[1]);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of a directory, without . and ..; returns the count or -errno. */
static int list(const char *path, char names[][16], int max)
{
	DIR *d = opendir(path);
	struct dirent *de;
	char *ptr[64];
	char tmp[64][16];
	int n = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (n < max && n < 64)
			snprintf(tmp[n], sizeof(tmp[n]), "%.15s", de->d_name);
		n++;
	}
	closedir(d);
	if (n > max || n > 64)
		return -E2BIG;
	for (int i = 0; i < n; i++)
		ptr[i] = tmp[i];
	qsort(ptr, (size_t)n, sizeof(ptr[0]), cmp_name);
	for (int i = 0; i < n; i++)
		memcpy(names[i], ptr[i], 16);
	return n;
}

static void cmp_lists(const char *what, const char *a, const char *b)
{
	char na[64][16], nb[64][16];
	int n0 = list(a, na, 64), n1 = list(b, nb, 64);

	if (n0 < 0 || n1 < 0) {
		if (n0 != n1)
			differ("%s: readdir: kvfs %s, reference %s", what, t_ename(n0 < 0 ? -n0 : 0),
			       t_ename(n1 < 0 ? -n1 : 0));
		return;
	}
	for (int i = 0; i < n0 && i < n1; i++)
		if (strcmp(na[i], nb[i]) != 0)
			differ("%s: readdir: kvfs lists '%s' where the reference lists '%s' (%d vs %d "
			       "entries)", what, na[i], nb[i], n0, n1);
	if (n0 != n1)
		differ("%s: readdir: kvfs has %d entries, reference %d; extra: '%s'", what, n0, n1,
		       n0 > n1 ? na[n1] : nb[n0]);
}

static void op_readdir(void)
{
	char rel[32], p[2][4200];
	int which = (int)below(NDIRS + 1);

	if (which == NDIRS)
		snprintf(rel, sizeof(rel), ".");
	else
		snprintf(rel, sizeof(rel), "d%d", which);
	note("readdir(%s)", rel);
	for (int s = 0; s < 2; s++)
		fullpath(p[s], sizeof(p[s]), s, rel);
	cmp_lists("readdir", p[0], p[1]);
}

static void compare_file(const char *pa, const char *pb)
{
	int fd[2] = { open(pa, O_RDONLY), open(pb, O_RDONLY) };
	off_t off = 0;

	if (fd[0] < 0 || fd[1] < 0)
		differ("tree: open %s: kvfs %s, reference %s", pa, t_ename(fd[0] < 0 ? errno : 0),
		       t_ename(fd[1] < 0 ? errno : 0));
	for (;;) {
		ssize_t r0 = pread(fd[0], rbuf[0], MAXLEN, off);
		ssize_t r1 = pread(fd[1], rbuf[1], MAXLEN, off);

		if (r0 != r1 || (r0 > 0 && memcmp(rbuf[0], rbuf[1], (size_t)r0)))
			differ("tree: content of %s differs in [%lld, +%zd) (kvfs read %zd)", pa,
			       (long long)off, r1, r0);
		if (r0 <= 0)
			break;
		off += r0;
	}
	close(fd[0]);
	close(fd[1]);
}

/* Both trees equal below pa/pb: names, types, modes, sizes and every byte. */
static void compare_dir(const char *pa, const char *pb)
{
	char names[64][16], sub[2][4200];
	int n;

	cmp_lists(pa, pa, pb);
	n = list(pb, names, 64);
	for (int i = 0; i < n; i++) {
		struct stat st[2];

		snprintf(sub[0], sizeof(sub[0]), "%.4000s/%.15s", pa, names[i]);
		snprintf(sub[1], sizeof(sub[1]), "%.4000s/%.15s", pb, names[i]);
		for (int s = 0; s < 2; s++)
			if (stat(sub[s], &st[s]) < 0)
				differ("tree: stat %s: %s", sub[s], t_ename(errno));
		cmp_stat(sub[0], &st[0], &st[1]);
		if (S_ISDIR(st[1].st_mode))
			compare_dir(sub[0], sub[1]);
		else
			compare_file(sub[0], sub[1]);
	}
}

static void compare_trees(const char *why)
{
	note("compare the trees (%s)", why);
	compare_dir(root[0], root[1]);
}

static void one_op(void)
{
	uint64_t c = below(1000);
	int k = pick_open();

	/* Handle operations need an open handle; fall back to open. */
	if (c < 110 || (k < 0 && c < 600))
		op_open();
	else if (c < 180)
		op_close(k);
	else if (c < 350)
		op_write(k, 1);
	else if (c < 400)
		op_write(k, 0);
	else if (c < 530)
		op_read(k, 1);
	else if (c < 570)
		op_read(k, 0);
	else if (c < 600)
		op_lseek(k);
	else if (c < 650)
		k >= 0 ? op_ftruncate(k) : op_truncate();
	else if (c < 680)
		op_truncate();
	else if (c < 740)
		op_rename(0);
	else if (c < 750)
		op_rename(1);
	else if (c < 800)
		path_op("unlink", unlink, 0);
	else if (c < 850)
		op_stat(0);
	else if (c < 860)
		op_stat(1);
	else if (c < 900)
		k >= 0 ? op_fstat(k) : op_stat(0);
	else if (c < 915)
		path_op("mkdir", do_mkdir, 1);
	else if (c < 930)
		path_op("rmdir", rmdir, 1);
	else if (c < 960)
		op_readdir();
	else if (c < 970)
		k >= 0 ? op_fsync(k) : op_readdir();
	else if (c < 980)
		op_chmod();
	else
		op_open();
}

int main(int argc, char **argv)
{
	long nops;
	struct timespec t0, t1;
	int a = 1;

	if (argc > 1 && strcmp(argv[1], "-v") == 0) {
		verbose = 1;
		a++;
	}
	if (argc - a < 4) {
		fprintf(stderr, "usage: randops [-v] SEED NOPS KVFS_DIR REF_DIR\n");
		return 2;
	}
	seed = strtoull(argv[a], NULL, 0);
	nops = strtol(argv[a + 1], NULL, 0);
	root[0] = argv[a + 2];
	root[1] = argv[a + 3];
	rng_state = seed;
	wbuf = malloc(MAXLEN);
	rbuf[0] = malloc(MAXLEN);
	rbuf[1] = malloc(MAXLEN);
	if (!wbuf || !rbuf[0] || !rbuf[1])
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	umask(022);
	for (int k = 0; k < NHANDLES; k++)
		h[k].fd[0] = h[k].fd[1] = -1;
	printf("randops: seed %llu, %ld operations, kvfs %s, reference %s\n",
	       (unsigned long long)seed, nops, root[0], root[1]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* Two of the three directory slots exist at the start. */
	for (int s = 0; s < 2; s++)
		for (int d = 0; d < 2; d++) {
			char p[4200];

			snprintf(p, sizeof(p), "%s/d%d", root[s], d);
			if (mkdir(p, 0755) < 0 && errno != EEXIST) {
				printf("FAIL: randops: mkdir %s: %s\n", p, strerror(errno));
				return 1;
			}
		}
	for (opno = 0; opno < nops; opno++) {
		one_op();
		if (opno > 0 && opno % CHECK_EVERY == 0) {
			compare_trees("periodic");
			clock_gettime(CLOCK_MONOTONIC, &t1);
			printf("randops: %ld operations, %.1f s, no differences\n", opno,
			       (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
		}
	}
	for (int k = 0; k < NHANDLES; k++)
		if (h[k].fd[0] >= 0)
			op_close(k);
	compare_trees("final, all handles closed");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("randops: seed %llu: %ld operations in %.1f s, no differences "
	       "(%ld calls succeeded, %ld failed alike; %.1f MiB written, %.1f MiB read)\n",
	       (unsigned long long)seed, nops,
	       (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9, n_ok, n_err,
	       bytes_written / 1048576.0, bytes_read / 1048576.0);
	return 0;
}
