/*
 * fastpath.h - the daemon's side of the GPU fast path (DESIGN.md 4): the
 * ioctls of kvfs_abi.h on an open file, which reserve, commit and pin arena
 * extents for libkvfs-gpu.  docs/gpu.md has the protocol and its decisions.
 *
 * FUSE-free: ops.c hands over the command and the argument bytes the kernel
 * delivered and replies with what comes back, so unit tests and the fuzzer
 * drive the same code.  Locks: each call takes the inode's lock itself
 * (exclusive); leases hang off the inode and are guarded by that lock.
 */
#ifndef KVFS_FASTPATH_H
#define KVFS_FASTPATH_H

#include <stdint.h>
#include <sys/types.h>

#include "kvfs_abi.h"
#include "ns.h"

/* Most leases (reservations plus pins) one open file may hold: each costs
 * memory, and a client needs one per transfer in flight. */
#define KVFS_FP_MAX_LEASES 1024

/*
 * Runs one fast-path ioctl of caller ctx on handle h (a file or a
 * directory).  `in` holds the in_size argument bytes the kernel copied from
 * the caller (any alignment); the reply is written to out (room for
 * out_size bytes).  Returns the reply's length, or -errno (kvfs_abi.h lists
 * them); never trusts a byte of the input.  RESERVE, COMMIT and PIN are for
 * callers who could open the arena file themselves (-EPERM otherwise; see
 * may_map() in fastpath.c).  Takes ino->lock.
 */
ssize_t kvfs_fastpath_ioctl(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
			    struct kvfs_handle *h, unsigned int cmd,
			    const void *in, size_t in_size, void *out,
			    size_t out_size);

/*
 * Ends every lease of h: pins are dropped; of a reservation, the units
 * never committed are given back to the arena, and in-place bytes past the
 * file's size are zeroed again, so nothing of it is published.  Called when
 * the open file is released (before it can publish).  Takes ino->lock.
 */
void kvfs_fastpath_release(struct kvfs_ns *ns, struct kvfs_handle *h);

/*
 * -EBUSY if a lease covers any byte of [off, off + len) (len may run past
 * 2^64: it saturates), else 0.  Everything that frees or moves a file's
 * units calls this first: truncation, O_TRUNC, hole punching; later the SSD
 * tier's demotion and eviction.  Caller holds ino->lock (either mode).
 */
int kvfs_fastpath_busy(const struct kvfs_inode *ino, uint64_t off, uint64_t len);

#endif
