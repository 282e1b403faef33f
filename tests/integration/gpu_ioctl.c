/*
 * gpu_ioctl.c - every fast-path ioctl with malformed input, against a real
 * kvfs mount: each must fail with its errno (kvfs_abi.h) and the daemon must
 * keep serving.
 *
 *   gpu_ioctl MOUNT OUTSIDE_FILE
 *
 * Prints one "ok:" line per check; a wrong result prints "FAIL:" and the
 * exit status is 1.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvfs_abi.h"
#include "t_util.h"

/* One ioctl's outcome: r (0 or -1 with errno) against want (0: success). */
static void expect(const char *what, int r, int want)
{
	int got = r < 0 ? errno : 0;

	T_CHECK(got == want, "%s: expected %s, got %s", what, t_ename(want), t_ename(got));
}

static int xopen(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC, 0644);

	if (fd < 0) {
		printf("FAIL: open %s: %s\n", path, strerror(errno));
		exit(1);
	}
	return fd;
}

static struct kvfs_ioc_map *map(uint64_t off, uint64_t len)
{
	static struct kvfs_ioc_map m;

	memset(&m, 0, sizeof(m));
	m.version = KVFS_ABI_VERSION;
	m.off = off;
	m.len = len;
	return &m;
}

static struct kvfs_ioc_commit *commit(uint64_t lease, uint64_t off, uint64_t len)
{
	static struct kvfs_ioc_commit c;

	memset(&c, 0, sizeof(c));
	c.version = KVFS_ABI_VERSION;
	c.lease = lease;
	c.off = off;
	c.len = len;
	return &c;
}

static struct kvfs_ioc_lease *lease(uint64_t id)
{
	static struct kvfs_ioc_lease q;

	memset(&q, 0, sizeof(q));
	q.version = KVFS_ABI_VERSION;
	q.lease = id;
	return &q;
}

static void check_header(int fd)
{
	struct kvfs_ioc_info info = { .version = KVFS_ABI_VERSION };
	char big[200];

	expect("INFO", ioctl(fd, KVFS_IOC_INFO, &info), 0);
	info = (struct kvfs_ioc_info){ .version = 0 };
	expect("INFO version 0", ioctl(fd, KVFS_IOC_INFO, &info), EINVAL);
	info = (struct kvfs_ioc_info){ .version = KVFS_ABI_VERSION + 1 };
	expect("INFO of a newer ABI version", ioctl(fd, KVFS_IOC_INFO, &info), EINVAL);
	info = (struct kvfs_ioc_info){ .version = KVFS_ABI_VERSION, .flags = 4 };
	expect("INFO with unknown flags", ioctl(fd, KVFS_IOC_INFO, &info), EINVAL);
	info = (struct kvfs_ioc_info){ .version = KVFS_ABI_VERSION, .reserved = { 1 } };
	expect("INFO with a reserved field set", ioctl(fd, KVFS_IOC_INFO, &info), EINVAL);
	memset(big, 0, sizeof(big));
	*(uint32_t *)big = KVFS_ABI_VERSION;
	expect("INFO with a 200-byte struct", ioctl(fd, _IOWR(KVFS_IOC_TYPE, 0x40, char[200]), big),
	       EINVAL);
	expect("RESERVE with a 100-byte struct",
	       ioctl(fd, _IOWR(KVFS_IOC_TYPE, 0x41, char[100]), big), EINVAL);
	expect("INFO as _IOR", ioctl(fd, _IOR(KVFS_IOC_TYPE, 0x40, struct kvfs_ioc_info), &info),
	       EINVAL);
	expect("INFO as _IOW", ioctl(fd, _IOW(KVFS_IOC_TYPE, 0x40, struct kvfs_ioc_info), &info),
	       EINVAL);
	expect("unknown command number", ioctl(fd, _IOWR(KVFS_IOC_TYPE, 0x7e, char[64]), big),
	       ENOTTY);
	expect("another driver's type", ioctl(fd, _IOWR('q', 0x41, char[64]), big), ENOTTY);
	expect("_IO without an argument", ioctl(fd, _IO(KVFS_IOC_TYPE, 0x44), 0), EINVAL);
}

static void check_ranges(int fd)
{
	static const struct { uint64_t off, len; const char *what; } bad[] = {
		{ 0, 0, "length 0" },
		{ 1ull << 63, 4096, "offset 2^63" },
		{ (1ull << 63) - 1, 2, "end past 2^63" },
		{ (1ull << 63) - 4096, 4096, "end at 2^63" },
		{ UINT64_MAX, 1, "offset 2^64 - 1" },
		{ 4096, UINT64_MAX - 4095, "end wrapping to 0" },
		{ 1ull << 52, 1, "offset at the 4 PiB file limit" },
		{ 0, UINT64_MAX, "length 2^64 - 1" },
	};
	char what[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(what, sizeof(what), "RESERVE %s", bad[i].what);
		expect(what, ioctl(fd, KVFS_IOC_RESERVE, map(bad[i].off, bad[i].len)), EINVAL);
		snprintf(what, sizeof(what), "PIN %s", bad[i].what);
		expect(what, ioctl(fd, KVFS_IOC_PIN, map(bad[i].off, bad[i].len)), EINVAL);
		snprintf(what, sizeof(what), "COMMIT %s", bad[i].what);
		expect(what, ioctl(fd, KVFS_IOC_COMMIT, commit(1, bad[i].off, bad[i].len)), EINVAL);
	}
	expect("RESERVE larger than the arena",
	       ioctl(fd, KVFS_IOC_RESERVE, map(0, 1ull << 40)), ENOSPC);
}

static void check_leases(int fd, int fd2)
{
	struct kvfs_ioc_map *m = map(0, 8192);
	uint64_t id;

	expect("COMMIT of an unknown lease", ioctl(fd, KVFS_IOC_COMMIT, commit(999, 0, 4096)),
	       EINVAL);
	expect("UNPIN of an unknown lease", ioctl(fd, KVFS_IOC_UNPIN, lease(999)), EINVAL);
	expect("UNPIN of lease 0", ioctl(fd, KVFS_IOC_UNPIN, lease(0)), EINVAL);
	m = map(0, 8192);
	m->flags = KVFS_MAP_MORE;
	m->lease = 999;
	expect("RESERVE continuation of an unknown lease", ioctl(fd, KVFS_IOC_RESERVE, m), EINVAL);
	m = map(0, 8192);
	m->flags = 0x10;
	expect("RESERVE with unknown flags", ioctl(fd, KVFS_IOC_RESERVE, m), EINVAL);
	m = map(0, 8192);
	m->reserved = 3;
	expect("PIN with a reserved field set", ioctl(fd, KVFS_IOC_PIN, m), EINVAL);
	m = map(0, 8192);
	expect("RESERVE", ioctl(fd, KVFS_IOC_RESERVE, m), 0);
	id = m->lease;
	expect("RESERVE over another open file's reservation",
	       ioctl(fd2, KVFS_IOC_RESERVE, map(4096, 8192)), EBUSY);
	expect("COMMIT ending inside a unit", ioctl(fd, KVFS_IOC_COMMIT, commit(id, 0, 100)),
	       EINVAL);
	expect("COMMIT past the reservation", ioctl(fd, KVFS_IOC_COMMIT, commit(id, 0, 12288)),
	       EINVAL);
	expect("COMMIT of another open file's lease",
	       ioctl(fd2, KVFS_IOC_COMMIT, commit(id, 0, 8192)), EINVAL);
	expect("COMMIT", ioctl(fd, KVFS_IOC_COMMIT, commit(id, 0, 8192)), 0);
	expect("COMMIT again", ioctl(fd, KVFS_IOC_COMMIT, commit(id, 0, 8192)), EINVAL);
	m = map(0, 4096);
	expect("PIN", ioctl(fd, KVFS_IOC_PIN, m), 0);
	id = m->lease;
	expect("ftruncate of a pinned range", ftruncate(fd2, 100), EBUSY);
	expect("COMMIT of a pin", ioctl(fd, KVFS_IOC_COMMIT, commit(id, 0, 4096)), EINVAL);
	expect("UNPIN", ioctl(fd, KVFS_IOC_UNPIN, lease(id)), 0);
	expect("UNPIN again", ioctl(fd, KVFS_IOC_UNPIN, lease(id)), EINVAL);
	expect("ftruncate after UNPIN", ftruncate(fd2, 100), 0);
}

/* A file in the control directory, if this kvfs has one. */
static void check_ctl(const char *mnt)
{
	char path[4096];
	struct dirent *d;
	DIR *dp;
	int fd;

	snprintf(path, sizeof(path), "%s/.kvfs", mnt);
	dp = opendir(path);
	if (!dp)
		return;
	while ((d = readdir(dp)) != NULL && d->d_name[0] == '.')
		;
	if (d) {
		snprintf(path, sizeof(path), "%s/.kvfs/%s", mnt, d->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			struct kvfs_ioc_info info = { .version = KVFS_ABI_VERSION };

			expect("INFO on a control file", ioctl(fd, KVFS_IOC_INFO, &info), ENOTTY);
			close(fd);
		}
	}
	closedir(dp);
}

int main(int argc, char **argv)
{
	char path[4096];
	int rw, rw2, ro, wo, dir, out;
	struct kvfs_ioc_info info = { .version = KVFS_ABI_VERSION };

	if (argc != 3) {
		fprintf(stderr, "usage: gpu_ioctl MOUNT OUTSIDE_FILE\n");
		return 2;
	}
	t_check_say_ok = 1;
	snprintf(path, sizeof(path), "%s/ioctl.kv", argv[1]);
	rw = xopen(path, O_CREAT | O_RDWR | O_TRUNC);
	rw2 = xopen(path, O_RDWR);
	ro = xopen(path, O_RDONLY);
	wo = xopen(path, O_WRONLY);
	dir = xopen(argv[1], O_RDONLY | O_DIRECTORY);
	out = xopen(argv[2], O_CREAT | O_RDWR);

	check_header(rw);
	check_ranges(rw);
	check_leases(rw, rw2);

	expect("RESERVE on a read-only descriptor", ioctl(ro, KVFS_IOC_RESERVE, map(0, 4096)), EBADF);
	expect("COMMIT on a read-only descriptor", ioctl(ro, KVFS_IOC_COMMIT, commit(1, 0, 4096)),
	       EBADF);
	expect("PIN on a write-only descriptor", ioctl(wo, KVFS_IOC_PIN, map(0, 4096)), EBADF);
	expect("PIN on a read-only descriptor", ioctl(ro, KVFS_IOC_PIN, map(0, 4096)), 0);
	expect("INFO on a write-only descriptor", ioctl(wo, KVFS_IOC_INFO, &info), 0);

	expect("INFO on the mount's root directory", ioctl(dir, KVFS_IOC_INFO, &info), 0);
	expect("RESERVE on a directory", ioctl(dir, KVFS_IOC_RESERVE, map(0, 4096)), EISDIR);
	expect("COMMIT on a directory", ioctl(dir, KVFS_IOC_COMMIT, commit(1, 0, 4096)), EISDIR);
	expect("PIN on a directory", ioctl(dir, KVFS_IOC_PIN, map(0, 4096)), EISDIR);
	expect("UNPIN on a directory", ioctl(dir, KVFS_IOC_UNPIN, lease(1)), EISDIR);
	expect("an unknown command on a directory",
	       ioctl(dir, _IOWR(KVFS_IOC_TYPE, 0x7e, char[64]), path), ENOTTY);

	expect("INFO on a file outside kvfs", ioctl(out, KVFS_IOC_INFO, &info), ENOTTY);
	check_ctl(argv[1]);

	close(out);
	close(dir);
	close(wo);
	close(ro);
	close(rw2);
	close(rw);
	printf("%d failure(s)\n", t_nfail);
	return t_nfail ? 1 : 0;
}
