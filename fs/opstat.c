/*
 * opstat.c - per-operation request counters and latency histograms.
 *
 * Written by every FUSE worker thread (through optimer.c), read by whoever
 * opens a control file.  No locks: relaxed atomics only (opstat.h says why a
 * snapshot is still consistent enough to publish).  FUSE-free.
 */
#include <string.h>

#include "opstat.h"

const char *const kvfs_op_names[KVFS_OP_COUNT] = {
	[KVFS_OP_LOOKUP] = "lookup", [KVFS_OP_FORGET] = "forget",
	[KVFS_OP_GETATTR] = "getattr", [KVFS_OP_SETATTR] = "setattr",
	[KVFS_OP_MKNOD] = "mknod", [KVFS_OP_MKDIR] = "mkdir",
	[KVFS_OP_UNLINK] = "unlink", [KVFS_OP_RMDIR] = "rmdir",
	[KVFS_OP_RENAME] = "rename", [KVFS_OP_LINK] = "link",
	[KVFS_OP_SYMLINK] = "symlink", [KVFS_OP_CREATE] = "create",
	[KVFS_OP_OPEN] = "open", [KVFS_OP_READ] = "read",
	[KVFS_OP_WRITE] = "write", [KVFS_OP_FLUSH] = "flush",
	[KVFS_OP_RELEASE] = "release", [KVFS_OP_FSYNC] = "fsync",
	[KVFS_OP_OPENDIR] = "opendir", [KVFS_OP_READDIR] = "readdir",
	[KVFS_OP_READDIRPLUS] = "readdirplus",
	[KVFS_OP_RELEASEDIR] = "releasedir", [KVFS_OP_FSYNCDIR] = "fsyncdir",
	[KVFS_OP_STATFS] = "statfs", [KVFS_OP_SETXATTR] = "setxattr",
	[KVFS_OP_GETXATTR] = "getxattr", [KVFS_OP_LISTXATTR] = "listxattr",
	[KVFS_OP_REMOVEXATTR] = "removexattr", [KVFS_OP_LSEEK] = "lseek",
	[KVFS_OP_FALLOCATE] = "fallocate", [KVFS_OP_IOCTL] = "ioctl",
};

const uint64_t kvfs_opstat_bound_ns[KVFS_OPSTAT_NBUCKET - 1] = {
	10000, 30000, 100000, 300000,                    /* 10 us .. 300 us */
	1000000, 3000000, 10000000, 30000000,            /* 1 ms .. 30 ms */
	100000000, 300000000, 1000000000, 3000000000u,   /* 100 ms .. 3 s */
};

void kvfs_opstats_init(struct kvfs_opstats *s)
{
	memset(s, 0, sizeof(*s));
}

void kvfs_opstat_record(struct kvfs_opstats *s, enum kvfs_op op, uint64_t ns)
{
	struct kvfs_opstat *o = &s->op[op];
	uint_fast64_t max;
	int b = 0;

	/* Most requests land in the first few buckets: a linear scan wins. */
	while (b < KVFS_OPSTAT_NBUCKET - 1 && ns > kvfs_opstat_bound_ns[b])
		b++;
	atomic_fetch_add_explicit(&o->bucket[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&o->sum_ns, ns, memory_order_relaxed);
	max = atomic_load_explicit(&o->max_ns, memory_order_relaxed);
	while (ns > max &&
	       !atomic_compare_exchange_weak_explicit(&o->max_ns, &max, ns,
						      memory_order_relaxed,
						      memory_order_relaxed))
		;
}

void kvfs_opstat_read(struct kvfs_opstats *s, enum kvfs_op op,
		      struct kvfs_opstat_snap *out)
{
	struct kvfs_opstat *o = &s->op[op];

	out->count = 0;
	for (int b = 0; b < KVFS_OPSTAT_NBUCKET; b++) {
		out->bucket[b] = atomic_load_explicit(&o->bucket[b], memory_order_relaxed);
		out->count += out->bucket[b];
	}
	out->sum_ns = atomic_load_explicit(&o->sum_ns, memory_order_relaxed);
	out->max_ns = atomic_load_explicit(&o->max_ns, memory_order_relaxed);
}
