/*
 * fastpath.h - the daemon's side of the GPU library's protocol (DESIGN.md
 * 4, kvfs_abi.h): the INFO ioctl, which tells libkvfs-gpu whether an open
 * file's bytes are served by the kernel (FUSE passthrough: map the fd) or
 * by the daemon (use read/write).  docs/gpu.md has the protocol.
 *
 * FUSE-free: ops.c hands over the command and the argument bytes the kernel
 * delivered and replies with what comes back, so unit tests and the fuzzer
 * drive the same code.  Locks: takes the inode's lock shared for the size.
 */
#ifndef KVFS_FASTPATH_H
#define KVFS_FASTPATH_H

#include <stdint.h>
#include <sys/types.h>

#include "kvfs_abi.h"
#include "ns.h"

/*
 * Runs one ioctl on handle h (a file or a directory).  `in` holds the
 * in_size argument bytes the kernel copied from the caller (any alignment);
 * the reply is written to out (room for out_size bytes).  Returns the
 * reply's length, or -errno (kvfs_abi.h lists them); never trusts a byte
 * of the input.  Takes ino->lock (shared).
 */
ssize_t kvfs_fastpath_ioctl(struct kvfs_ns *ns, struct kvfs_handle *h,
			    unsigned int cmd, const void *in, size_t in_size,
			    void *out, size_t out_size);

#endif
