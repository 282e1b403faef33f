/*
 * gpu_ioctl.c - the INFO ioctl (kvfs_abi.h, version 2) against a real kvfs
 * mount: its reply on files, descriptors of every access mode and the root
 * directory; and every malformed request with its errno (a version-1
 * request, flags, reserved fields, sizes, directions, version 1's other
 * commands, control files, a file outside kvfs), the daemon serving on.
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
#include <sys/stat.h>
#include <unistd.h>

#include "kvfs_abi.h"
#include "t_util.h"

/* Version 1's commands, gone in version 2: their numbers and sizes. */
#define V1_RESERVE _IOWR(KVFS_IOC_TYPE, 0x41, char[8192])
#define V1_COMMIT  _IOWR(KVFS_IOC_TYPE, 0x42, char[64])
#define V1_PIN     _IOWR(KVFS_IOC_TYPE, 0x43, char[8192])
#define V1_UNPIN   _IOWR(KVFS_IOC_TYPE, 0x44, char[32])

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

static struct kvfs_ioc_info *req(void)
{
	static struct kvfs_ioc_info info;

	memset(&info, 0, sizeof(info));
	info.version = KVFS_ABI_VERSION;
	return &info;
}

/* INFO on fd succeeds and says: out_flags `flags`, size `size`. */
static void check_reply(const char *what, int fd, uint32_t flags, uint64_t size)
{
	struct kvfs_ioc_info *r = req();
	int zero = 1;

	/* Out fields of the request are ignored, whatever they hold. */
	r->out_flags = 0xffffffffu;
	r->map_align = 7;
	r->file_size = 12345;
	expect(what, ioctl(fd, KVFS_IOC_INFO, r), 0);
	for (size_t i = 0; i < sizeof(r->reserved) / sizeof(r->reserved[0]); i++)
		zero &= r->reserved[i] == 0;
	T_CHECK(r->version == KVFS_ABI_VERSION && r->flags == 0 && zero,
		"%s: reply version %u flags %u, reserved zero %d", what, r->version,
		r->flags, zero);
	T_CHECK(r->out_flags == flags, "%s: out_flags %#x, want %#x", what, r->out_flags, flags);
	T_CHECK(r->map_align == KVFS_MAP_ALIGN, "%s: map_align %u", what, r->map_align);
	T_CHECK(r->file_size == size, "%s: file_size %llu, want %llu", what,
		(unsigned long long)r->file_size, (unsigned long long)size);
}

static void check_malformed(int fd)
{
	struct kvfs_ioc_info *r;
	char big[8192];

	r = req();
	r->version = 1;	/* a version-1 library's INFO: same number and size */
	expect("INFO of ABI version 1", ioctl(fd, KVFS_IOC_INFO, r), EINVAL);
	r = req();
	r->version = 0;
	expect("INFO version 0", ioctl(fd, KVFS_IOC_INFO, r), EINVAL);
	r = req();
	r->version = KVFS_ABI_VERSION + 1;
	expect("INFO of a newer ABI version", ioctl(fd, KVFS_IOC_INFO, r), EINVAL);
	r = req();
	r->flags = 1;
	expect("INFO with flags 1", ioctl(fd, KVFS_IOC_INFO, r), EINVAL);
	r = req();
	r->flags = 0x80000000u;
	expect("INFO with flags bit 31", ioctl(fd, KVFS_IOC_INFO, r), EINVAL);
	r = req();
	r->reserved[0] = 1;
	expect("INFO with the first reserved field set", ioctl(fd, KVFS_IOC_INFO, r), EINVAL);
	r = req();
	r->reserved[28] = 1ull << 63;
	expect("INFO with the last reserved field set", ioctl(fd, KVFS_IOC_INFO, r), EINVAL);

	memset(big, 0, sizeof(big));
	*(uint32_t *)big = KVFS_ABI_VERSION;
	expect("INFO's number with a 200-byte struct",
	       ioctl(fd, _IOWR(KVFS_IOC_TYPE, 0x40, char[200]), big), EINVAL);
	expect("INFO's number with a 264-byte struct",
	       ioctl(fd, _IOWR(KVFS_IOC_TYPE, 0x40, char[264]), big), EINVAL);
	expect("INFO as _IOR", ioctl(fd, _IOR(KVFS_IOC_TYPE, 0x40, struct kvfs_ioc_info), req()),
	       EINVAL);
	expect("INFO as _IOW", ioctl(fd, _IOW(KVFS_IOC_TYPE, 0x40, struct kvfs_ioc_info), req()),
	       EINVAL);
	expect("INFO's number as _IO", ioctl(fd, _IO(KVFS_IOC_TYPE, 0x40), 0), EINVAL);

	expect("version 1's RESERVE", ioctl(fd, V1_RESERVE, big), ENOTTY);
	expect("version 1's COMMIT", ioctl(fd, V1_COMMIT, big), ENOTTY);
	expect("version 1's PIN", ioctl(fd, V1_PIN, big), ENOTTY);
	expect("version 1's UNPIN", ioctl(fd, V1_UNPIN, big), ENOTTY);
	expect("unknown command number", ioctl(fd, _IOWR(KVFS_IOC_TYPE, 0x7e, char[64]), big),
	       ENOTTY);
	expect("another driver's type", ioctl(fd, _IOWR('q', 0x40, struct kvfs_ioc_info), big),
	       ENOTTY);
}

/* A file in the control directory, and the directory itself. */
static void check_ctl(const char *mnt)
{
	char path[4096];
	struct dirent *d = NULL;
	DIR *dp;
	int fd;

	snprintf(path, sizeof(path), "%s/.kvfs", mnt);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	T_CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
	if (fd < 0)
		return;
	expect("INFO on the control directory", ioctl(fd, KVFS_IOC_INFO, req()), ENOTTY);
	close(fd);
	dp = opendir(path);
	while (dp && (d = readdir(dp)) != NULL && d->d_name[0] == '.')
		;
	T_CHECK(dp && d, "no file in %s", path);
	if (dp && d) {
		snprintf(path, sizeof(path), "%s/.kvfs/%s", mnt, d->d_name);
		fd = xopen(path, O_RDONLY);
		expect("INFO on a control file", ioctl(fd, KVFS_IOC_INFO, req()), ENOTTY);
		close(fd);
	}
	if (dp)
		closedir(dp);
}

int main(int argc, char **argv)
{
	char path[4096], sub[4096];
	int rw, ro, wo, dir, subdir, out;
	uint32_t fl;

	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: gpu_ioctl MOUNT OUTSIDE_FILE [passthrough|served]\n");
		return 2;
	}
	t_check_say_ok = 1;
	fl = argc > 3 && strcmp(argv[3], "passthrough") == 0 ? KVFS_INFO_PASSTHROUGH : 0;
	snprintf(path, sizeof(path), "%s/ioctl.kv", argv[1]);
	snprintf(sub, sizeof(sub), "%s/ioctl.dir", argv[1]);
	rw = xopen(path, O_CREAT | O_RDWR | O_TRUNC);
	ro = xopen(path, O_RDONLY);
	wo = xopen(path, O_WRONLY);
	dir = xopen(argv[1], O_RDONLY | O_DIRECTORY);
	if (mkdir(sub, 0755) != 0 && errno != EEXIST)
		printf("FAIL: mkdir %s: %s\n", sub, strerror(errno));
	subdir = xopen(sub, O_RDONLY | O_DIRECTORY);
	out = xopen(argv[2], O_CREAT | O_RDWR);

	/* Every open of the file says how it is served (the mount's mode,
	 * argv[3]), and the live size, also what the kernel wrote. */
	check_reply("INFO on a new file", rw, fl, 0);
	T_CHECK(pwrite(rw, "0123456789", 10, 4090) == 10, "pwrite: %s", strerror(errno));
	check_reply("INFO after a write(2)", rw, fl, 4100);
	check_reply("INFO on a read-only descriptor", ro, fl, 4100);
	check_reply("INFO on a write-only descriptor", wo, fl, 4100);
	T_CHECK(ftruncate(rw, 3) == 0, "ftruncate: %s", strerror(errno));
	check_reply("INFO after truncation", ro, fl, 3);
	check_reply("INFO on the mount's root directory", dir, KVFS_INFO_DIR, 0);
	check_reply("INFO on a subdirectory", subdir, KVFS_INFO_DIR, 0);

	check_malformed(rw);
	check_malformed(dir);
	check_ctl(argv[1]);
	expect("INFO on a file outside kvfs", ioctl(out, KVFS_IOC_INFO, req()), ENOTTY);
	/* Nothing above left the daemon unable to answer. */
	check_reply("INFO after the malformed requests", rw, fl, 3);

	close(out);
	close(subdir);
	close(dir);
	close(wo);
	close(ro);
	close(rw);
	printf("%d failure(s)\n", t_nfail);
	return t_nfail ? 1 : 0;
}
