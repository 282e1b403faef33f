/*
 * fastpath.c - the daemon's side of libkvfs-gpu's protocol: INFO (kvfs_abi.h).
 *
 * The GPU library moves bytes itself, through a mapping of the kvfs fd
 * where the kernel serves the open file from its memory pages (FUSE
 * passthrough), and through read/write anywhere else; the daemon only says
 * which.  Nothing here touches file data, the memory tier or the SSD tier,
 * and nothing is held between calls: a client that dies leaves no state
 * behind.  Access is governed by the file's permissions alone (whoever
 * opened the file may map it), so there is no caller check.
 *
 * Called from FUSE worker threads through ops.c; the fuzzer and the unit
 * tests call it directly.  Takes ino->lock shared to read the size.
 */
#include "fastpath.h"

#include <errno.h>
#include <string.h>

static int all_zero(const uint64_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i])
			return 0;
	return 1;
}

static void do_info(struct kvfs_ns *ns, struct kvfs_handle *h,
		    struct kvfs_ioc_info *r)
{
	struct kvfs_inode *ino = h->ino;

	memset(r, 0, sizeof(*r));
	r->version = KVFS_ABI_VERSION;
	r->map_align = KVFS_MAP_ALIGN;
	if (ino->is_dir) {
		r->out_flags = KVFS_INFO_DIR;
		return;
	}
	if (h->passthrough)
		r->out_flags |= KVFS_INFO_PASSTHROUGH;
	kvfs_file_pt_refresh(ns, ino); /* the size bound writers gave it */
	pthread_rwlock_rdlock(&ino->lock);
	r->file_size = ino->size;
	pthread_rwlock_unlock(&ino->lock);
}

ssize_t kvfs_fastpath_ioctl(struct kvfs_ns *ns, struct kvfs_handle *h,
			    unsigned int cmd, const void *in, size_t in_size,
			    void *out, size_t out_size)
{
	struct kvfs_ioc_info a;

	if (_IOC_TYPE(cmd) != KVFS_IOC_TYPE || _IOC_NR(cmd) != _IOC_NR(KVFS_IOC_INFO) ||
	    h->ino->ctl)
		return -ENOTTY;	/* not ours, or version 1's other commands */
	/* INFO's number with another size or direction: a mismatched header. */
	if (cmd != KVFS_IOC_INFO || !in || in_size != sizeof(a) || out_size < sizeof(a))
		return -EINVAL;
	memcpy(&a, in, sizeof(a));	/* the kernel's buffer need not be aligned */
	if (a.version != KVFS_ABI_VERSION || a.flags != 0 ||
	    !all_zero(a.reserved, sizeof(a.reserved) / sizeof(a.reserved[0])))
		return -EINVAL;
	do_info(ns, h, &a);
	memcpy(out, &a, sizeof(a));
	return (ssize_t)sizeof(a);
}
