/*
 * negwait.c - process A of test_negative_entries.sh: a prober that misses a
 * name, waits to be told it exists, and must then find it at once.
 *
 *   negwait PATH
 *
 * Reads commands from stdin, one per line, and answers each on stdout:
 *   miss N       N rounds of stat(), access(F_OK) and open(O_RDONLY) of PATH,
 *                each must fail with ENOENT; answers "missed"
 *   hit SIZE [OLDINO]
 *                ONE stat(), access(F_OK) and open + read of PATH, at once (no
 *                sleep, no retry): each must succeed, the size be SIZE, the
 *                bytes read SIZE, and st_ino differ from OLDINO if given;
 *                answers "hit INO"
 *   quit         exits 0
 * Any unexpected outcome answers "FAIL: why" and exits 1.  The script sends
 * "hit" only after the operation that made the name appear has returned in
 * another process, so a cached negative entry the kernel kept past it shows
 * up here as ENOENT.  Self-contained: libc only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *path;

static void fail(const char *what, int err)
{
	printf("FAIL: %s %s: %s\n", what, path, err ? strerror(err) : "unexpected");
	fflush(stdout);
	exit(1);
}

static void expect_enoent(const char *what, int rc)
{
	int err = errno;

	if (rc == 0)
		fail(what, 0); /* found: the name should not exist yet */
	if (err != ENOENT)
		fail(what, err);
}

static void miss(unsigned long n)
{
	struct stat st;
	int fd;

	for (unsigned long i = 0; i < n; i++) {
		expect_enoent("stat", stat(path, &st));
		expect_enoent("access", access(path, F_OK));
		fd = open(path, O_RDONLY);
		if (fd >= 0)
			close(fd);
		expect_enoent("open", fd >= 0 ? 0 : -1);
	}
	printf("missed\n");
}

static void hit(long long size, unsigned long long oldino)
{
	static char buf[1 << 16];
	long long got = 0;
	struct stat st;
	ssize_t r;
	int fd;

	if (stat(path, &st) != 0)
		fail("stat", errno);
	if (access(path, F_OK) != 0)
		fail("access", errno);
	if (st.st_size != size) {
		printf("FAIL: stat %s: size %lld, expected %lld\n", path,
		       (long long)st.st_size, size);
		fflush(stdout);
		exit(1);
	}
	if (oldino && st.st_ino == oldino) {
		printf("FAIL: stat %s: still the old file (inode %llu)\n", path, oldino);
		fflush(stdout);
		exit(1);
	}
	fd = open(path, O_RDONLY);
	if (fd < 0)
		fail("open", errno);
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		got += r;
	if (r < 0)
		fail("read", errno);
	close(fd);
	if (got != size) {
		printf("FAIL: read %s: %lld bytes, expected %lld\n", path, got, size);
		fflush(stdout);
		exit(1);
	}
	printf("hit %llu\n", (unsigned long long)st.st_ino);
}

int main(int argc, char **argv)
{
	char line[256], cmd[16];
	unsigned long long a, b;
	int n;

	if (argc != 2) {
		fprintf(stderr, "usage: negwait PATH\n");
		return 2;
	}
	path = argv[1];
	while (fgets(line, sizeof(line), stdin)) {
		n = sscanf(line, "%15s %llu %llu", cmd, &a, &b);
		if (n >= 2 && strcmp(cmd, "miss") == 0)
			miss((unsigned long)a);
		else if (n >= 2 && strcmp(cmd, "hit") == 0)
			hit((long long)a, n == 3 ? b : 0);
		else if (n >= 1 && strcmp(cmd, "quit") == 0)
			return 0;
		else {
			fprintf(stderr, "negwait: bad command: %s", line);
			return 2;
		}
		fflush(stdout);
	}
	return 0;
}
