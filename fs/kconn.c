/*
 * kconn.c - the daemon's connection to /dev/fuse through libfuse's custom
 * I/O (libfuse 3.14: fuse_session_custom_io), so that kproto.c sees every
 * request and can patch replies; and the passthrough backing ids, which
 * are ioctls on that connection.  Part of the FUSE adaptor.
 *
 * libfuse passes the session's userdata (struct kvfs) to both hooks.  With
 * custom I/O libfuse does not splice; kvfs turned splice off anyway (ops.c,
 * measured no gain).  Threads: every FUSE worker, concurrently; the bind
 * hook runs under the inode's lock (file.c), the unbind hook wherever a
 * backing file is closed (backing.c).
 */
#define FUSE_USE_VERSION 312

#include <errno.h>
#include <fuse_lowlevel.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kconn.h"
#include "kvfs.h"
#include "log.h"

/* The kernel's backing-file ioctls on /dev/fuse (linux/fuse.h of 6.9+;
 * Debian 12's header predates them). */
struct kconn_backing_map {
	int32_t fd;
	uint32_t flags;   /* 0 */
	uint64_t padding; /* 0 */
};
#define KCONN_IOC_BACKING_OPEN  _IOW(229, 1, struct kconn_backing_map)
#define KCONN_IOC_BACKING_CLOSE _IOW(229, 2, uint32_t)

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
	struct kvfs *kv = userdata;
	int before = atomic_load(&kv->kproto.init_patched);

	kvfs_kproto_reply(&kv->kproto, iov, count);
	/* Opens may be bound from the first request after INIT's reply. */
	if (!before && atomic_load(&kv->kproto.init_patched) &&
	    kvfs_kproto_passthrough(&kv->kproto))
		atomic_store(&kv->ns.passthrough, 1);
	return writev(fd, iov, count);
}

/* ns->hooks.bind: registers fd as a backing file. */
static int32_t conn_bind(void *arg, int fd)
{
	struct kvfs *kv = arg;
	struct kconn_backing_map map = { .fd = fd };
	int id = ioctl(kv->dev_fd, KCONN_IOC_BACKING_OPEN, &map);

	if (id <= 0) {
		int e = id < 0 ? errno : EINVAL;
		static atomic_int told;

		if (!atomic_exchange(&told, 1))
			kvfs_warn("kvfs: the kernel refused a passthrough backing file (%s); such opens are served by the daemon",
				  strerror(e));
		return -e;
	}
	return id;
}

/* kvfs_mem.unbind: forgets a backing id. */
static void conn_unbind(void *arg, int32_t id)
{
	struct kvfs *kv = arg;
	uint32_t u = (uint32_t)id;

	if (kv->dev_fd >= 0)
		(void)ioctl(kv->dev_fd, KCONN_IOC_BACKING_CLOSE, &u);
}

/* kproto's backing_of: the backing id of an open's handle, or 0. */
static int32_t conn_backing_of(void *arg, uint64_t fh)
{
	const struct kvfs_handle *h = (const struct kvfs_handle *)(uintptr_t)fh;

	(void)arg;
	/* The handle lives until RELEASE, which cannot come before this
	 * reply; its inode's id is constant while the handle is bound. */
	return h && h->passthrough ? h->ino->data.bound : 0;
}

int kvfs_kconn_attach(struct kvfs *kv, struct fuse_session *se)
{
	static const struct fuse_custom_io io = {
		.read = conn_read,
		.writev = conn_writev,
	};
	uint64_t want = KVFS_FUSE_DIRECT_IO_ALLOW_MMAP;

	kv->dev_fd = fuse_session_fd(se);
	/* Every INIT flag kvfs knows how to use; kproto grants what the
	 * kernel offers.  Passthrough needs CAP_SYS_ADMIN for the backing
	 * ids, and the option's consent. */
	if (kv->opts.passthrough != KVFS_PT_OFF && kvfs_kproto_can_back())
		want |= KVFS_FUSE_PASSTHROUGH | KVFS_FUSE_HANDLE_KILLPRIV_V2;
	kvfs_kproto_init(&kv->kproto, want);
	kv->kproto.backing_of = conn_backing_of;
	kv->kproto.backing_arg = kv;
	kv->ns.hooks.bind = conn_bind;
	kv->mem.unbind = conn_unbind;
	kv->mem.unbind_arg = kv;
	return fuse_session_custom_io(se, &io, kv->dev_fd);
}

void kvfs_kconn_detach(struct kvfs *kv)
{
	atomic_store(&kv->ns.passthrough, 0);
	kv->ns.hooks.bind = NULL;
	kv->mem.unbind = NULL;
	kv->dev_fd = -1;
}
