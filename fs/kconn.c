/*
 * kconn.c - the daemon's connection to /dev/fuse through libfuse's custom
 * I/O (libfuse 3.14: fuse_session_custom_io), so that kproto.c sees every
 * request and can patch replies.  Part of the FUSE adaptor.
 *
 * libfuse passes the session's userdata (struct kvfs) to both hooks.  With
 * custom I/O libfuse does not splice; kvfs turned splice off anyway (ops.c,
 * measured no gain).  Threads: every FUSE worker, concurrently.
 */
#define FUSE_USE_VERSION 312

#include <errno.h>
#include <fuse_lowlevel.h>
#include <unistd.h>

#include "kconn.h"
#include "kvfs.h"

static ssize_t conn_read(int fd, void *buf, size_t len, void *userdata)
{
	ssize_t n = read(fd, buf, len);
	int e = errno;

	if (n > 0)
		kvfs_kproto_request(&((struct kvfs *)userdata)->kproto, buf, (size_t)n);
	errno = e;
	return n;
}

static ssize_t conn_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	kvfs_kproto_reply(&((struct kvfs *)userdata)->kproto, iov, count);
	return writev(fd, iov, count);
}

int kvfs_kconn_attach(struct kvfs *kv, struct fuse_session *se)
{
	static const struct fuse_custom_io io = {
		.read = conn_read,
		.writev = conn_writev,
	};

	/* Every INIT flag kvfs knows how to use; kproto grants what the
	 * kernel offers. */
	kvfs_kproto_init(&kv->kproto, KVFS_FUSE_DIRECT_IO_ALLOW_MMAP);
	return fuse_session_custom_io(se, &io, fuse_session_fd(se));
}
