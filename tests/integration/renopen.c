/*
 * renopen.c - rename and unlink of files that are open (test_rename_unlink.sh).
 *
 *   renopen replace DIR     a reader process holds DIR/f (16 MiB) open and has
 *                           read half of it; another process renames DIR/g over
 *                           DIR/f; the reader reads the rest and rereads all of
 *                           it: every byte is the OLD content.  New opens get
 *                           the new content.  After the reader closes, the old
 *                           file's space is freed (statvfs).
 *   renopen unlink DIR      DIR/f (32 MiB) is opened O_RDWR, then unlinked: the
 *                           name is gone, the handle keeps reading and writing
 *                           (nlink 0), a new file can take the name, the space
 *                           stays allocated until the close, then is freed.
 *
 * Prints "FAIL: what: expected X, got Y" per failed check; exit 1 if any.
 * Self-contained: libc and t_util.h.  File contents are the pattern helper's
 * streams (t_pattern).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "t_util.h"

static int make(const char *path, size_t size, uint64_t seed)
{
	unsigned char *buf = malloc(size);
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644), err = 0;

	if (!buf || fd < 0)
		return -errno;
	t_pattern(buf, size, seed, 0);
	if (write(fd, buf, size) != (ssize_t)size)
		err = -errno;
	if (close(fd) < 0 && !err)
		err = -errno;
	free(buf);
	return err;
}

/* Read [off, off + len) through fd and compare with stream seed; NULL if equal. */
static const char *verify(int fd, size_t off, size_t len, uint64_t seed)
{
	static char why[256];
	unsigned char *got = malloc(len ? len : 1);
	size_t done = 0, bad;

	if (!got)
		return "out of memory";
	while (done < len) {
		ssize_t n = pread(fd, got + done, len - done, (off_t)(off + done));

		if (n <= 0) {
			snprintf(why, sizeof(why), "pread at %zu returned %zd (%s)", off + done, n,
				 n < 0 ? t_ename(errno) : "EOF");
			free(got);
			return why;
		}
		done += (size_t)n;
	}
	bad = t_pattern_diff(got, len, seed, off);
	free(got);
	if (bad == len)
		return NULL;
	snprintf(why, sizeof(why), "byte %zu differs", off + bad);
	return why;
}

/* One byte through a pipe, to order the two processes. */
static void sig(int fd)
{
	if (write(fd, "x", 1) != 1)
		perror("renopen: pipe write");
}

static void await(int fd)
{
	char c;

	if (read(fd, &c, 1) != 1)
		perror("renopen: pipe read");
}

static long long used_bytes(const char *dir)
{
	struct statvfs sv;

	if (statvfs(dir, &sv) < 0)
		return -1;
	return (long long)(sv.f_blocks - sv.f_bfree) * (long long)sv.f_frsize;
}

/* Wait up to 5 s (release is asynchronous) for used bytes to drop to <= limit. */
static long long wait_used_below(const char *dir, long long limit)
{
	long long u = used_bytes(dir);

	for (int i = 0; i < 100 && u > limit; i++) {
		usleep(50 * 1000);
		u = used_bytes(dir);
	}
	return u;
}

static int replace(const char *dir)
{
	const size_t oldsz = 16u << 20, newsz = (1u << 20) + 5;
	char f[4096], g[4096];
	int sync1[2], sync2[2], st, fd, err;
	long long used_held, used_after;
	const char *why;
	struct stat sb;
	pid_t pid;

	snprintf(f, sizeof(f), "%s/f", dir);
	snprintf(g, sizeof(g), "%s/g", dir);
	err = make(f, oldsz, 1);
	T_CHECK(err == 0, "create f (16 MiB): %s", t_ename(-err));
	err = make(g, newsz, 2);
	T_CHECK(err == 0, "create g (1 MiB + 5): %s", t_ename(-err));
	if (pipe(sync1) < 0 || pipe(sync2) < 0)
		return 2;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		/* The reader: open f, read half, wait for the rename, read the rest. */
		fd = open(f, O_RDONLY);
		T_CHECK(fd >= 0, "reader: open f: %s", t_ename(fd < 0 ? errno : 0));
		why = verify(fd, 0, oldsz / 2, 1);
		T_CHECK(!why, "reader: first half of old f before the rename: %s", why ? why : "OK");
		sig(sync1[1]);
		await(sync2[0]);
		why = verify(fd, oldsz / 2, oldsz - oldsz / 2, 1);
		T_CHECK(!why, "reader: second half of OLD f after the rename: %s", why ? why : "OK");
		why = verify(fd, 0, oldsz, 1);
		T_CHECK(!why, "reader: all of OLD f reread after the rename: %s", why ? why : "OK");
		T_CHECK(fstat(fd, &sb) == 0 && (size_t)sb.st_size == oldsz,
			"reader: fstat size of the replaced file: expected %zu, got %lld", oldsz,
			(long long)sb.st_size);
		sig(sync1[1]);
		await(sync2[0]);
		close(fd);
		fflush(stdout);
		_exit(t_nfail ? 1 : 0);
	}
	await(sync1[0]);
	err = rename(g, f) < 0 ? errno : 0;
	T_CHECK(err == 0, "rename g over f while a reader holds f: %s", t_ename(err));
	sig(sync2[1]);
	await(sync1[0]);
	err = stat(g, &sb) < 0 ? errno : 0;
	T_CHECK(err == ENOENT, "stat g after the rename: expected ENOENT, got %s", t_ename(err));
	fd = open(f, O_RDONLY);
	T_CHECK(fd >= 0, "open f after the rename: %s", t_ename(fd < 0 ? errno : 0));
	if (fd >= 0) {
		why = verify(fd, 0, newsz, 2);
		T_CHECK(!why, "new opens of f get the NEW content: %s", why ? why : "OK");
		T_CHECK(fstat(fd, &sb) == 0 && (size_t)sb.st_size == newsz,
			"fstat size of f after the rename: expected %zu, got %lld", newsz,
			(long long)sb.st_size);
		close(fd);
	}
	used_held = used_bytes(dir);
	sig(sync2[1]);	/* the reader closes the old file */
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		t_nfail++;
	used_after = wait_used_below(dir, used_held - (long long)oldsz * 9 / 10);
	T_CHECK(used_after <= used_held - (long long)oldsz * 9 / 10,
		"space of the replaced 16 MiB file freed after the reader's close: used %lld -> %lld",
		used_held, used_after);
	return t_nfail ? 1 : 0;
}

static int unlink_open(const char *dir)
{
	const size_t size = 32u << 20, extra = 1u << 20;
	unsigned char *buf = malloc(extra);
	long long used0, used1, used2, used3;
	char f[4096];
	const char *why;
	struct stat sb;
	int fd, fd2, err;
	ssize_t n;

	snprintf(f, sizeof(f), "%s/f", dir);
	err = make(f, size, 7);
	T_CHECK(err == 0, "create f (32 MiB): %s", t_ename(-err));
	used0 = used_bytes(dir);
	fd = open(f, O_RDWR);
	T_CHECK(fd >= 0, "open f O_RDWR: %s", t_ename(fd < 0 ? errno : 0));
	if (fd < 0)
		return 1;
	err = unlink(f) < 0 ? errno : 0;
	T_CHECK(err == 0, "unlink f while open: %s", t_ename(err));
	err = stat(f, &sb) < 0 ? errno : 0;
	T_CHECK(err == ENOENT, "stat f after unlink: expected ENOENT, got %s", t_ename(err));
	T_CHECK(t_listed(dir, "f") == 0, "readdir after unlink does not list f");
	T_CHECK(fstat(fd, &sb) == 0 && sb.st_nlink == 0 && (size_t)sb.st_size == size,
		"fstat of the unlinked file: expected nlink 0 size %zu, got nlink %lu size %lld",
		size, (unsigned long)sb.st_nlink, (long long)sb.st_size);
	why = verify(fd, 0, size, 7);
	T_CHECK(!why, "read all 32 MiB through the handle after unlink: %s", why ? why : "OK");

	/* Writes through the handle: extend by 1 MiB of stream 8, rewrite the head. */
	t_pattern(buf, extra, 8, size);
	n = pwrite(fd, buf, extra, (off_t)size);
	T_CHECK(n == (ssize_t)extra, "pwrite 1 MiB at EOF of the unlinked file: got %zd (%s)", n,
		t_ename(n < 0 ? errno : 0));
	why = verify(fd, size, extra, 8);
	T_CHECK(!why, "read back the appended 1 MiB: %s", why ? why : "OK");
	t_pattern(buf, 48, 9, 0);
	n = pwrite(fd, buf, 48, 0);
	T_CHECK(n == 48, "pwrite 48 bytes at 0 of the unlinked file: got %zd", n);
	why = verify(fd, 0, 48, 9);
	T_CHECK(!why, "read back the rewritten head: %s", why ? why : "OK");
	why = verify(fd, 48, size - 48, 7);
	T_CHECK(!why, "the rest of the unlinked file unchanged: %s", why ? why : "OK");
	T_CHECK(fstat(fd, &sb) == 0 && (size_t)sb.st_size == size + extra,
		"fstat size after the writes: expected %zu, got %lld", size + extra,
		(long long)sb.st_size);

	/* The name is free: a new file takes it, independent of the open one. */
	err = make(f, extra, 10);
	T_CHECK(err == 0, "create a new f while the unlinked one is open: %s", t_ename(-err));
	fd2 = open(f, O_RDONLY);
	why = fd2 < 0 ? "open failed" : verify(fd2, 0, extra, 10);
	T_CHECK(!why, "the new f has its own content: %s", why ? why : "OK");
	if (fd2 >= 0)
		close(fd2);
	why = verify(fd, 48, size - 48, 7);
	T_CHECK(!why, "the unlinked file still reads its own content: %s", why ? why : "OK");

	used1 = used_bytes(dir);
	T_CHECK(used1 >= used0, "space of the unlinked file still allocated while open: used %lld, "
		"was %lld before unlink", used1, used0);
	close(fd);
	used2 = wait_used_below(dir, used1 - (long long)size);
	T_CHECK(used2 <= used1 - (long long)size,
		"space freed after the last close of the unlinked file: used %lld -> %lld (expected a "
		"drop of at least %zu)", used1, used2, size);
	unlink(f);
	used3 = wait_used_below(dir, used2 - (long long)extra);
	T_CHECK(used3 <= used2 - (long long)extra, "space freed by unlinking a closed file: used "
		"%lld -> %lld", used2, used3);
	free(buf);
	return t_nfail ? 1 : 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	t_check_say_ok = 1;
	if (argc >= 3 && strcmp(argv[1], "replace") == 0)
		return replace(argv[2]);
	if (argc >= 3 && strcmp(argv[1], "unlink") == 0)
		return unlink_open(argv[2]);
	fprintf(stderr, "usage: renopen replace|unlink DIR\n");
	return 2;
}
