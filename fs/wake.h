/*
 * wake.h - where the kernel runs the two sides of a FUSE round trip
 * (wake.c): the fuse module's wake_here parameter, on kernels that have it.
 */
#ifndef KVFS_WAKE_H
#define KVFS_WAKE_H

#include <stddef.h>

/* The parameter, on kernels that carry it (a boolean: Y or N). */
#define KVFS_WAKE_PARAM "/sys/module/fuse/parameters/wake_here"

/* wake_here= of the daemon: set the parameter where it exists and the
 * daemon may (auto), leave it as it is (off), or set it or refuse to start
 * (on). */
enum kvfs_wake_mode { KVFS_WAKE_AUTO, KVFS_WAKE_OFF, KVFS_WAKE_ON };

/* What kvfs_wake_apply() found and did. */
enum kvfs_wake_state {
	KVFS_WAKE_ABSENT,	/* the kernel has no such parameter */
	KVFS_WAKE_FOUND_ON,	/* it was on already */
	KVFS_WAKE_SET,		/* it was off; this daemon turned it on */
	KVFS_WAKE_LEFT_OFF,	/* off, and wake_here=0 left it so */
	KVFS_WAKE_DENIED,	/* off, and writing it failed (err says why) */
};

struct kvfs_wake {
	enum kvfs_wake_state state;
	int err;		/* errno of the failed read or write, or 0 */
};

/* Reads the parameter at `param` (KVFS_WAKE_PARAM; tests pass a file of
 * their own) and, unless mode is KVFS_WAKE_OFF, turns it on.  Fills *w.
 * Returns 0, or -errno where mode is KVFS_WAKE_ON and the parameter is
 * absent or cannot be set (the caller refuses to start). */
int kvfs_wake_apply(struct kvfs_wake *w, const char *param, enum kvfs_wake_mode mode);

/* One line for /.kvfs/config and the log: what the kernel does now. */
const char *kvfs_wake_describe(const struct kvfs_wake *w, char *buf, size_t size);

#endif
