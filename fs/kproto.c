/*
 * kproto.c - the INIT patch of kproto.h.
 *
 * Owns struct kvfs_kproto: nothing else writes it.  Called by FUSE workers
 * from kconn.c's read and writev hooks for every request and reply, so the
 * common case (not INIT) is a length check and one compare.  A reply that
 * does not look like libfuse's INIT reply (short, an error, unexpected
 * iovec layout) is left alone: the mount then works as without the patch
 * (shared mmap of direct-I/O files gives ENODEV), and /.kvfs/config says
 * the kernel refused it.
 */
#include "kproto.h"

#include <linux/fuse.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

_Static_assert(sizeof(struct fuse_in_header) == 40, "fuse_in_header");
_Static_assert(sizeof(struct fuse_out_header) == 16, "fuse_out_header");
_Static_assert(offsetof(struct fuse_init_in, flags2) == 16, "fuse_init_in.flags2");
_Static_assert(offsetof(struct fuse_init_out, flags) == 12, "fuse_init_out.flags");
_Static_assert(offsetof(struct fuse_init_out, flags2) == 32, "fuse_init_out.flags2");

int kvfs_kproto_can_back(void)
{
	char line[256];
	unsigned long long eff = 0;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	return (eff >> 21) & 1; /* CAP_SYS_ADMIN */
}

void kvfs_kproto_init(struct kvfs_kproto *kp, uint64_t want)
{
	memset(kp, 0, sizeof(*kp));
	kp->want = want;
}

void kvfs_kproto_request(struct kvfs_kproto *kp, const void *buf, size_t len)
{
	struct fuse_in_header h;
	struct fuse_init_in in;
	uint64_t flags;

	if (len < sizeof(h))
		return;
	memcpy(&h, buf, sizeof(h));
	if (h.opcode != FUSE_INIT)
		return;
	memset(&in, 0, sizeof(in));
	/* Kernels before 5.17 send the 16-byte fuse_init_in (no flags2). */
	memcpy(&in, (const char *)buf + sizeof(h),
	       len - sizeof(h) < sizeof(in) ? len - sizeof(h) : sizeof(in));
	flags = in.flags;
	if (in.flags & FUSE_INIT_EXT)
		flags |= (uint64_t)in.flags2 << 32;
	atomic_store(&kp->offered, flags);
	atomic_store(&kp->init_unique, h.unique);
	atomic_store(&kp->init_seen, 1);
}

void kvfs_kproto_reply(struct kvfs_kproto *kp, struct iovec *iov, int count)
{
	struct fuse_out_header *oh;
	struct fuse_init_out *out;
	uint64_t add, unique = atomic_load(&kp->init_unique);

	if (unique == 0 || count < 1 || iov[0].iov_len != sizeof(*oh))
		return;
	oh = iov[0].iov_base;
	if (oh->unique != unique)
		return;
	atomic_store(&kp->init_unique, 0); /* once */
	add = kp->want & atomic_load(&kp->offered) & ~0xffffffffull;
	if (oh->error != 0 || count < 2 ||
	    iov[1].iov_len < offsetof(struct fuse_init_out, flags2) + sizeof(out->flags2))
		return; /* not the reply we know how to extend: leave it */
	out = iov[1].iov_base;
	if (add) {
		out->flags |= FUSE_INIT_EXT;
		out->flags2 |= (uint32_t)(add >> 32);
	}
	atomic_store(&kp->granted, add);
	atomic_store(&kp->init_patched, 1);
}
