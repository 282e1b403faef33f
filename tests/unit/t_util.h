/*
 * t_util.h - what any unit test may share: temporary directories
 * (t_tmpdir, removed with everything in them by t_rmtree) and the test data
 * of ../t_data.h (t_pattern, t_pattern_diff).  Include after <cmocka.h>: a
 * directory that cannot be made fails the test.
 *
 * Temporary directories live under $KVFS_TEST_TMP, or /tmp, which must
 * support fallocate and O_DIRECT for the SSD tests (ext4, xfs, tmpfs).
 */
#ifndef KVFS_T_UTIL_H
#define KVFS_T_UTIL_H

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "../t_data.h"

/* Makes a new directory "kvfs-test-<what>.XXXXXX" under $KVFS_TEST_TMP or
 * /tmp, its path in buf[0, n). */
static inline void t_tmpdir(char *buf, size_t n, const char *what)
{
	const char *tmp = getenv("KVFS_TEST_TMP");
	int len = snprintf(buf, n, "%s/kvfs-test-%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", what);

	assert_true(len > 0 && (size_t)len < n);
	assert_non_null(mkdtemp(buf));
}

static inline int t_rmtree_open(const char *path, const struct stat *sb, int flag,
				struct FTW *ftw)
{
	(void)ftw;
	if (flag == FTW_D || flag == FTW_DNR)
		(void)chmod(path, (sb->st_mode & 07777) | 0700);
	return 0;
}

static inline int t_rmtree_one(const char *path, const struct stat *sb, int flag,
			       struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(path);
}

/* Removes dir and everything below it, whatever modes a test left on its
 * directories (one level of unreadable ones when not root).  Returns 0 or
 * -errno. */
static inline int t_rmtree(const char *dir)
{
	(void)chmod(dir, 0700);
	if (nftw(dir, t_rmtree_open, 16, FTW_PHYS) != 0 ||
	    nftw(dir, t_rmtree_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
		return errno ? -errno : -EIO;
	return 0;
}

#endif
