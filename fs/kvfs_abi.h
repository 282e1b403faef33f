/*
 * kvfs_abi.h - the ioctl ABI between the kvfs daemon and libkvfs-gpu
 * (DESIGN.md 4).  One header, included by both and installed with the
 * library's headers; docs/gpu.md describes how the library uses it.
 *
 * Version 2 has one request, INFO: "how is this open file served?".  The
 * data itself never goes through an ioctl: where the daemon says the open
 * file is served by the kernel from the file's memory pages (FUSE
 * passthrough), a client maps the fd (mmap MAP_SHARED) and copies; anywhere
 * else it uses read(2)/write(2).  Version 1 (a shared arena with RESERVE,
 * COMMIT, PIN and UNPIN of arena extents) is gone: its INFO request (the
 * same command number, version 1 in the first field) gets EINVAL, and its
 * other commands ENOTTY, so a version-1 library falls back to pread/pwrite.
 *
 * INFO is a FUSE "restricted" ioctl: the argument is one fixed-size struct
 * whose size is encoded in the command (_IOWR), copied in and out by the
 * kernel in one round trip.  Fields are fixed-width and little-endian with
 * no implicit padding (asserted below).  "in" fields are read by the
 * daemon, "out" fields written by it (their values in a request are
 * ignored); reserved fields must be 0 in a request and are 0 in a reply.
 *
 * Errors (ioctl returns -1 with errno): ENOTTY a command that is not INFO
 * (including version 1's RESERVE, COMMIT, PIN, UNPIN), or INFO on a kvfs
 * control file (/.kvfs/...); EINVAL a version other than KVFS_ABI_VERSION,
 * flags other than 0, a reserved field not 0, or an argument of the wrong
 * size.  Any file system but kvfs answers ENOTTY (or EINVAL) too.
 */
#ifndef KVFS_ABI_H
#define KVFS_ABI_H

#include <linux/ioctl.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the kvfs ioctl ABI is little-endian; kvfs supports little-endian hosts only"
#endif

#define KVFS_ABI_VERSION 2

/* ioctl type byte: 'k'; numbers from 0x40 stay clear of other users of 'k'. */
#define KVFS_IOC_TYPE 'k'

/* out_flags of struct kvfs_ioc_info */
/* This open file's read, write and mmap are served by the kernel from the
 * file's memory pages (FUSE passthrough): map the fd (MAP_SHARED) and copy;
 * nothing else is needed for the bytes to be the file's. */
#define KVFS_INFO_PASSTHROUGH 0x1u
/* The fd is a directory (file_size is 0). */
#define KVFS_INFO_DIR         0x2u
#define KVFS_INFO_ALL         (KVFS_INFO_PASSTHROUGH | KVFS_INFO_DIR)

/* The mapping alignment the daemon suggests: its memory pages are huge
 * pages where the kernel allows, so mappings sized and placed in multiples
 * of 2 MiB keep them whole. */
#define KVFS_MAP_ALIGN (2u << 20)

/* KVFS_IOC_INFO, on any open kvfs file or directory. */
struct kvfs_ioc_info {
	uint32_t version;        /* in: KVFS_ABI_VERSION */
	uint32_t flags;          /* in: 0 */
	uint32_t out_flags;      /* out: KVFS_INFO_* */
	uint32_t map_align;      /* out: suggested mapping alignment (a power of
				    two, KVFS_MAP_ALIGN today) */
	uint64_t file_size;      /* out: the file's size (0 for a directory) */
	uint64_t reserved[29];   /* 0 */
};

#define KVFS_IOC_INFO _IOWR(KVFS_IOC_TYPE, 0x40, struct kvfs_ioc_info)

/* The layout is the ABI: any change here is a new KVFS_ABI_VERSION. */
_Static_assert(sizeof(struct kvfs_ioc_info) == 256, "INFO layout");
_Static_assert(offsetof(struct kvfs_ioc_info, flags) == 4, "INFO layout");
_Static_assert(offsetof(struct kvfs_ioc_info, out_flags) == 8, "INFO layout");
_Static_assert(offsetof(struct kvfs_ioc_info, map_align) == 12, "INFO layout");
_Static_assert(offsetof(struct kvfs_ioc_info, file_size) == 16, "INFO layout");
_Static_assert(offsetof(struct kvfs_ioc_info, reserved) == 24, "INFO layout");
/* FUSE restricted ioctls carry at most 16383 bytes (the _IOC_SIZE field). */
_Static_assert(sizeof(struct kvfs_ioc_info) <= 16383, "restricted ioctl size");

#endif
