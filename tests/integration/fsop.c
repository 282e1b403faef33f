/*
 * fsop.c - one file-system call per run, for the integration scripts.
 *
 *   fsop OP ARGS...
 *
 * Prints "OK" (plus a result for calls that return one) or the errno name of
 * the failure ("ENOENT"), and exits 0 either way: the script compares the
 * outcome with what the contract promises (t_fsop in lib.sh).  Exit 2 means
 * the helper itself was misused.  Shell tools hide errno behind messages;
 * this does not.  Self-contained: libc and t_util.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "t_util.h"

static int fail(int err)
{
	printf("%s\n", t_ename(err));
	return 0;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: fsop stat|lstat|unlink|rmdir|readdir|listxattr|statfs PATH\n"
		"       fsop mkdir PATH | creat PATH | open PATH FLAGS (rdonly,wronly,rdwr,creat,excl,trunc,append,direct)\n"
		"       fsop rename OLD NEW [noreplace|exchange]\n"
		"       fsop getxattr PATH NAME | setxattr PATH NAME VALUE [create|replace] | removexattr PATH NAME\n"
		"       fsop truncate PATH LEN | pwrite PATH OFF STRING | pread PATH OFF LEN\n");
	return 2;
}

static int parse_flags(const char *s, int *flags)
{
	static const struct { const char *name; int flag; } tab[] = {
		{ "rdonly", O_RDONLY }, { "wronly", O_WRONLY }, { "rdwr", O_RDWR },
		{ "creat", O_CREAT }, { "excl", O_EXCL }, { "trunc", O_TRUNC },
		{ "append", O_APPEND }, { "direct", O_DIRECT }, { "directory", O_DIRECTORY },
	};
	char buf[256], *tok, *save;

	*flags = 0;
	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		size_t i;

		for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
			if (strcmp(tok, tab[i].name) == 0)
				break;
		if (i == sizeof(tab) / sizeof(tab[0]))
			return -1;
		*flags |= tab[i].flag;
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int do_readdir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;

	if (!d)
		return fail(errno);
	errno = 0;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			names = realloc(names, cap * sizeof(*names));
			if (!names)
				return fail(ENOMEM);
		}
		names[n++] = strdup(de->d_name);
	}
	if (errno)
		return fail(errno);
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	printf("OK");
	for (size_t i = 0; i < n; i++) {
		printf(" %s", names[i]);
		free(names[i]);
	}
	printf("\n");
	free(names);
	return 0;
}

static int do_listxattr(const char *path)
{
	char buf[65536], *names[1024];
	ssize_t len = listxattr(path, buf, sizeof(buf));
	size_t n = 0;

	if (len < 0)
		return fail(errno);
	for (char *p = buf; p < buf + len && n < 1024; p += strlen(p) + 1)
		names[n++] = p;
	qsort(names, n, sizeof(*names), cmp_str);
	printf("OK");
	for (size_t i = 0; i < n; i++)
		printf(" %s", names[i]);
	printf("\n");
	return 0;
}

int main(int argc, char **argv)
{
	const char *op, *path;
	struct stat st;

	if (argc < 3)
		return usage();
	op = argv[1];
	path = argv[2];

	if (strcmp(op, "stat") == 0 || strcmp(op, "lstat") == 0) {
		int r = op[0] == 's' ? stat(path, &st) : lstat(path, &st);

		if (r < 0)
			return fail(errno);
		printf("OK size=%lld type=%s mode=%o nlink=%lu uid=%u gid=%u blocks=%lld\n",
		       (long long)st.st_size,
		       S_ISREG(st.st_mode) ? "reg" : S_ISDIR(st.st_mode) ? "dir" : "other",
		       (unsigned)(st.st_mode & 07777), (unsigned long)st.st_nlink,
		       (unsigned)st.st_uid, (unsigned)st.st_gid, (long long)st.st_blocks);
		return 0;
	}
	if (strcmp(op, "unlink") == 0)
		return unlink(path) < 0 ? fail(errno) : (printf("OK\n"), 0);
	if (strcmp(op, "rmdir") == 0)
		return rmdir(path) < 0 ? fail(errno) : (printf("OK\n"), 0);
	if (strcmp(op, "mkdir") == 0)
		return mkdir(path, 0755) < 0 ? fail(errno) : (printf("OK\n"), 0);
	if (strcmp(op, "readdir") == 0)
		return do_readdir(path);
	if (strcmp(op, "listxattr") == 0)
		return do_listxattr(path);
	if (strcmp(op, "statfs") == 0) {
		struct statvfs sv;

		if (statvfs(path, &sv) < 0)
			return fail(errno);
		printf("OK bsize=%lu frsize=%lu blocks=%llu bfree=%llu bavail=%llu namemax=%lu\n",
		       sv.f_bsize, sv.f_frsize, (unsigned long long)sv.f_blocks,
		       (unsigned long long)sv.f_bfree, (unsigned long long)sv.f_bavail,
		       sv.f_namemax);
		return 0;
	}
	if (strcmp(op, "creat") == 0 || strcmp(op, "open") == 0) {
		int flags = O_CREAT | O_WRONLY | O_TRUNC, fd;

		if (op[0] == 'o' && (argc < 4 || parse_flags(argv[3], &flags) < 0))
			return usage();
		fd = open(path, flags, 0644);
		if (fd < 0)
			return fail(errno);
		if (close(fd) < 0)
			return fail(errno);
		printf("OK\n");
		return 0;
	}
	if (strcmp(op, "rename") == 0) {
		unsigned flags = 0;

		if (argc < 4)
			return usage();
		if (argc > 4) {
			if (strcmp(argv[4], "noreplace") == 0)
				flags = RENAME_NOREPLACE;
			else if (strcmp(argv[4], "exchange") == 0)
				flags = RENAME_EXCHANGE;
			else
				return usage();
		}
		if (renameat2(AT_FDCWD, path, AT_FDCWD, argv[3], flags) < 0)
			return fail(errno);
		printf("OK\n");
		return 0;
	}
	if (strcmp(op, "getxattr") == 0) {
		static char buf[65537];
		ssize_t n;

		if (argc < 4)
			return usage();
		n = getxattr(path, argv[3], buf, sizeof(buf) - 1);
		if (n < 0)
			return fail(errno);
		buf[n] = 0;
		printf("OK %s\n", buf);
		return 0;
	}
	if (strcmp(op, "setxattr") == 0) {
		int flags = 0;

		if (argc < 5)
			return usage();
		if (argc > 5)
			flags = strcmp(argv[5], "create") == 0 ? XATTR_CREATE : XATTR_REPLACE;
		if (setxattr(path, argv[3], argv[4], strlen(argv[4]), flags) < 0)
			return fail(errno);
		printf("OK\n");
		return 0;
	}
	if (strcmp(op, "removexattr") == 0) {
		if (argc < 4)
			return usage();
		return removexattr(path, argv[3]) < 0 ? fail(errno) : (printf("OK\n"), 0);
	}
	if (strcmp(op, "truncate") == 0) {
		if (argc < 4)
			return usage();
		return truncate(path, strtoll(argv[3], NULL, 0)) < 0 ? fail(errno)
								    : (printf("OK\n"), 0);
	}
	if (strcmp(op, "pwrite") == 0 || strcmp(op, "pread") == 0) {
		int wr = op[1] == 'w', fd;
		off_t off;
		ssize_t n;
		size_t len;
		char *buf;

		if (argc < 5)
			return usage();
		off = strtoll(argv[3], NULL, 0);
		len = wr ? strlen(argv[4]) : (size_t)strtoull(argv[4], NULL, 0);
		buf = wr ? argv[4] : malloc(len + 1);
		if (!buf)
			return fail(ENOMEM);
		fd = open(path, wr ? O_WRONLY : O_RDONLY);
		if (fd < 0)
			return fail(errno);
		n = wr ? pwrite(fd, buf, len, off) : pread(fd, buf, len, off);
		if (n < 0)
			return fail(errno);
		if (close(fd) < 0)
			return fail(errno);
		if (wr) {
			printf("OK %zd\n", n);
		} else {
			buf[n] = 0;
			printf("OK %s\n", buf);
			free(buf);
		}
		return 0;
	}
	return usage();
}
