/*
 * wake.c - the fuse module's wake_here parameter: with it on, the kernel
 * wakes the daemon's worker on the CPU of the process that sent the request
 * and that process, at the reply, on the worker's CPU, so the two sides of
 * a round trip run one after the other on one CPU instead of waking each
 * other across CPUs (what its place beside the scheduler's
 * wake-up-on-this-CPU helper and the measurements below say; the kernel
 * documents it nowhere).  Kernels that carry it have a boolean
 * /sys/module/fuse/parameters/wake_here, off by default; mainline has none.
 *
 * Why kvfs turns it on: with passthrough, a kvfs file's bytes never reach
 * the daemon, so what an engine waits for is round trips (OPEN of every file
 * of a ds4 header scan; LOOKUP, MKDIR, CREATE, GETXATTR, FLUSH, RENAME and
 * the directories' GETATTRs of every vLLM block).  Measured on a 2-CPU VM
 * (docs/bench.md, stage 14): a header scan's open 38-41 -> 7-8 us, its
 * close 13 -> 5; vLLM's store 0.64-0.80 -> 0.45-0.52 s.  It changes where
 * threads run, never what a request does, and it is the whole machine's
 * setting: every FUSE filesystem of the host gets it, until the next boot
 * or `echo N` (kvfs does not turn it back off at exit: another kvfs, or
 * the next start, would find it changed under it).
 *
 * Called once at start, before the mount (main.c); no threads, no locks.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "wake.h"

/* *on = the parameter's value.  Returns 0 or -errno (-EINVAL: not Y or N). */
static int read_param(const char *param, int *on)
{
	char c = 0;
	ssize_t n;
	int fd = open(param, O_RDONLY | O_CLOEXEC), e;

	if (fd < 0)
		return -errno;
	n = read(fd, &c, 1);
	e = errno;
	close(fd);
	if (n < 0)
		return -e;
	if (n == 0 || (c != 'Y' && c != 'N'))
		return -EINVAL;
	*on = c == 'Y';
	return 0;
}

static int write_on(const char *param)
{
	int fd = open(param, O_WRONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, "Y", 1) != 1)
		r = -errno;
	close(fd);
	return r;
}

int kvfs_wake_apply(struct kvfs_wake *w, const char *param, enum kvfs_wake_mode mode)
{
	int on = 0, r = read_param(param, &on);

	w->err = 0;
	if (r == -ENOENT) {
		w->state = KVFS_WAKE_ABSENT;
		return mode == KVFS_WAKE_ON ? r : 0;
	}
	if (r == 0 && on) {
		w->state = KVFS_WAKE_FOUND_ON;
		return 0;
	}
	if (r == 0 && mode == KVFS_WAKE_OFF) {
		w->state = KVFS_WAKE_LEFT_OFF;
		return 0;
	}
	if (r == 0)
		r = write_on(param);
	/* Read back: a kernel that took the write but kept N is not on. */
	if (r == 0 && (r = read_param(param, &on)) == 0 && !on)
		r = -EIO;
	if (r == 0) {
		w->state = KVFS_WAKE_SET;
		return 0;
	}
	w->state = KVFS_WAKE_DENIED;
	w->err = -r;
	return mode == KVFS_WAKE_ON ? r : 0;
}

const char *kvfs_wake_describe(const struct kvfs_wake *w, char *buf, size_t size)
{
	switch (w->state) {
	case KVFS_WAKE_ABSENT:
		snprintf(buf, size, "absent (this kernel has no %s)", KVFS_WAKE_PARAM);
		break;
	case KVFS_WAKE_FOUND_ON:
		snprintf(buf, size, "on (it was on already)");
		break;
	case KVFS_WAKE_SET:
		snprintf(buf, size, "on (set by this daemon; the whole host's FUSE mounts have it)");
		break;
	case KVFS_WAKE_LEFT_OFF:
		snprintf(buf, size, "off (wake_here=0 left it so)");
		break;
	default:
		snprintf(buf, size, "not set (%s)", strerror(w->err));
		break;
	}
	return buf;
}
