/*
 * opstat.h - per-operation request counters and latency histograms.
 *
 * The FUSE adaptor (optimer.c) records every request's handling time here;
 * the control files (ctl.c) read them for /.kvfs/stats and /.kvfs/metrics.
 * FUSE-free: an operation is an index into kvfs_op_names, not a libfuse type.
 *
 * Cost: recording is a handful of relaxed atomic adds on the operation's own
 * cache line (one bucket, the sum, and rarely the max), so the read and write
 * paths pay tens of nanoseconds per request, not a lock.  Readers take no
 * lock either: a snapshot is a set of relaxed loads, so it may miss requests
 * recorded while it is being taken, but every number in it only grows from
 * one snapshot to the next, and its count is the sum of its buckets, which
 * keeps a Prometheus histogram consistent with itself.
 */
#ifndef KVFS_OPSTAT_H
#define KVFS_OPSTAT_H

#include <stdatomic.h>
#include <stdint.h>

enum kvfs_op {
	KVFS_OP_LOOKUP, KVFS_OP_FORGET, KVFS_OP_GETATTR, KVFS_OP_SETATTR,
	KVFS_OP_MKNOD, KVFS_OP_MKDIR, KVFS_OP_UNLINK, KVFS_OP_RMDIR,
	KVFS_OP_RENAME, KVFS_OP_LINK, KVFS_OP_SYMLINK, KVFS_OP_CREATE,
	KVFS_OP_OPEN, KVFS_OP_READ, KVFS_OP_WRITE, KVFS_OP_FLUSH,
	KVFS_OP_RELEASE, KVFS_OP_FSYNC, KVFS_OP_OPENDIR, KVFS_OP_READDIR,
	KVFS_OP_READDIRPLUS, KVFS_OP_RELEASEDIR, KVFS_OP_FSYNCDIR,
	KVFS_OP_STATFS, KVFS_OP_SETXATTR, KVFS_OP_GETXATTR, KVFS_OP_LISTXATTR,
	KVFS_OP_REMOVEXATTR, KVFS_OP_LSEEK, KVFS_OP_FALLOCATE, KVFS_OP_IOCTL,
	KVFS_OP_COUNT
};

/* Lower-case names as libfuse spells the operations: "lookup", "read"... */
extern const char *const kvfs_op_names[KVFS_OP_COUNT];

/*
 * Histogram buckets: upper bounds 10 us, 30 us, 100 us, ... 3 s, then one
 * for everything slower.  Steps of about 3x resolve a FUSE round trip (tens
 * of microseconds) as well as a 1 MiB copy or an fsync (milliseconds).
 */
#define KVFS_OPSTAT_NBUCKET 13
extern const uint64_t kvfs_opstat_bound_ns[KVFS_OPSTAT_NBUCKET - 1];

struct kvfs_opstat {
	atomic_uint_fast64_t bucket[KVFS_OPSTAT_NBUCKET]; /* not cumulative */
	atomic_uint_fast64_t sum_ns;
	atomic_uint_fast64_t max_ns;
} __attribute__((aligned(64)));   /* one operation per cache line set */

struct kvfs_opstats {
	struct kvfs_opstat op[KVFS_OP_COUNT];
};

/* A copy of one operation's numbers.  count = the sum of bucket[]. */
struct kvfs_opstat_snap {
	uint64_t count, sum_ns, max_ns;
	uint64_t bucket[KVFS_OPSTAT_NBUCKET];
};

/* Zeroes every counter (the struct may also start zeroed). */
void kvfs_opstats_init(struct kvfs_opstats *s);

/* Records one request of `op` that took `ns` nanoseconds.  Any thread. */
void kvfs_opstat_record(struct kvfs_opstats *s, enum kvfs_op op, uint64_t ns);

/* Copies one operation's numbers.  Any thread. */
void kvfs_opstat_read(struct kvfs_opstats *s, enum kvfs_op op,
		      struct kvfs_opstat_snap *out);

#endif
