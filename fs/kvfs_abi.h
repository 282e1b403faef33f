/*
 * kvfs_abi.h - the fast-path ioctl ABI between the kvfs daemon and
 * libkvfs-gpu (DESIGN.md 4).  One header, included by both and installed
 * with the library's headers; docs/gpu.md describes the protocol.
 *
 * The ioctls are FUSE "restricted" ioctls: each argument is one fixed-size
 * struct whose size is encoded in the command (_IOWR), at most 16383 bytes,
 * copied in and out by the kernel in one round trip (no retries).  Every
 * struct starts with `version` (KVFS_ABI_VERSION) and `flags`; fields are
 * fixed-width and little-endian, with no implicit padding (sizes and offsets
 * are asserted below), so 32-bit clients on a 64-bit kernel see the same
 * layout.  Fields marked "in" are read by the daemon, "out" written by it;
 * reserved fields must be 0 in requests and are 0 in replies.
 *
 * The protocol, in short:
 *   INFO     on any kvfs file or directory: ABI version, the arena file to
 *            map (path, size, identity) and the allocation unit.
 *   RESERVE  on a file open for writing: arena space for [off, off + len).
 *            The reply lists extents (arena offset, length) covering the
 *            range in file order; a range with more extents than one reply
 *            holds continues with KVFS_MAP_MORE.  Nothing is visible in the
 *            file until COMMIT.
 *   COMMIT   [off, off + len) of a reservation now holds the data: it
 *            becomes the file's content, the size grows to cover it, and the
 *            kernel's caches of the file are dropped.
 *   PIN      on a file open for reading: lists the arena extents of
 *            [off, off + len) (clamped to EOF; holes read as zeros) and keeps
 *            them from being freed until UNPIN.
 *   UNPIN    ends a pin, or abandons what is left uncommitted of a
 *            reservation.
 * Reservations and pins ("leases") belong to the open file (the struct
 * file the fd refers to) and end at its last close: a client that dies
 * between RESERVE and COMMIT publishes nothing of that range.
 *
 * Errors (ioctl returns -1 with errno): ENOTTY an unknown command, or a kvfs
 * control file; EINVAL a size, version, flag, reserved field, range or lease
 * id that is wrong; EBADF RESERVE/COMMIT on a file not open for writing, PIN
 * on one not open for reading; EPERM RESERVE/COMMIT/PIN by a process that
 * may not open the arena file; EISDIR anything but INFO on a directory;
 * ENOSPC the arena is full; EBUSY RESERVE of bytes another reservation
 * holds (and, from truncate, O_TRUNC or hole punching, a leased range);
 * EMFILE too many leases on one open file; EOPNOTSUPP the daemon has no
 * shared arena (every command; see docs/gpu.md).
 */
#ifndef KVFS_ABI_H
#define KVFS_ABI_H

#include <linux/ioctl.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the kvfs ioctl ABI is little-endian; kvfs supports little-endian hosts only"
#endif

#define KVFS_ABI_VERSION 1

/* ioctl type byte: 'k'; numbers from 0x40 stay clear of other users of 'k'. */
#define KVFS_IOC_TYPE 'k'

/* Arena offset of an extent that is a hole: the range reads as zeros. */
#define KVFS_IOC_HOLE UINT64_MAX

/* KVFS_IOC_INFO */
struct kvfs_ioc_info {
	uint32_t version;        /* in: KVFS_ABI_VERSION */
	uint32_t flags;          /* in: 0 */
	uint64_t arena_id;       /* out: random, new at every daemon start */
	uint64_t arena_size;     /* out: bytes */
	uint64_t arena_dev;      /* out: st_dev of the arena file */
	uint64_t arena_ino;      /* out: st_ino of the arena file */
	uint32_t unit;           /* out: allocation unit in bytes */
	uint32_t max_extents;    /* out: KVFS_IOC_MAP_EXTENTS */
	uint64_t file_size;      /* out: the file's size (0 for a directory) */
	uint64_t reserved[3];
	char arena_path[176];    /* out: NUL-terminated path to open and mmap */
};

/* One piece of a mapping, in file order. */
struct kvfs_ioc_extent {
	uint64_t aoff;           /* arena offset, or KVFS_IOC_HOLE */
	uint64_t len;            /* bytes */
};

#define KVFS_IOC_MAP_SIZE    8192
#define KVFS_IOC_MAP_HEADER  64
#define KVFS_IOC_MAP_EXTENTS ((KVFS_IOC_MAP_SIZE - KVFS_IOC_MAP_HEADER) / 16)

/* flags of struct kvfs_ioc_map */
#define KVFS_MAP_MORE 0x1        /* continue listing lease `lease` from `next` */

/*
 * KVFS_IOC_RESERVE and KVFS_IOC_PIN.  A first call (flags 0) takes the
 * lease and lists extents from `off`; while reply.next < reply.end, call
 * again with flags KVFS_MAP_MORE, the same `lease` and `next` (any offset
 * inside the lease may be asked for).  ext[0..count) covers exactly
 * [start, next) where start is `off`, or `next` as passed with MORE.
 * PIN of a range at or past EOF takes no lease: lease 0, end == off.
 */
struct kvfs_ioc_map {
	uint32_t version;        /* in: KVFS_ABI_VERSION */
	uint32_t flags;          /* in: 0 or KVFS_MAP_MORE */
	uint64_t off;            /* in: first byte (ignored with MORE) */
	uint64_t len;            /* in: bytes, > 0 (ignored with MORE) */
	uint64_t lease;          /* out; in with MORE */
	uint64_t next;           /* in with MORE: where to resume; out: see above */
	uint64_t end;            /* out: end of the leased range */
	uint64_t arena_id;       /* out: which arena the offsets refer to */
	uint32_t count;          /* out: extents in ext[] */
	uint32_t reserved;
	struct kvfs_ioc_extent ext[KVFS_IOC_MAP_EXTENTS];
};

/* KVFS_IOC_COMMIT.  [off, off + len) lies inside reservation `lease` and
 * holds none of it committed before; off and off + len are each a multiple
 * of `unit` or an end of the reservation. */
struct kvfs_ioc_commit {
	uint32_t version;        /* in: KVFS_ABI_VERSION */
	uint32_t flags;          /* in: 0 */
	uint64_t lease;          /* in */
	uint64_t off;            /* in */
	uint64_t len;            /* in: > 0 */
	uint64_t size;           /* out: the file's size afterwards */
	uint64_t reserved[3];
};

/* KVFS_IOC_UNPIN */
struct kvfs_ioc_lease {
	uint32_t version;        /* in: KVFS_ABI_VERSION */
	uint32_t flags;          /* in: 0 */
	uint64_t lease;          /* in */
	uint64_t reserved[2];
};

#define KVFS_IOC_INFO    _IOWR(KVFS_IOC_TYPE, 0x40, struct kvfs_ioc_info)
#define KVFS_IOC_RESERVE _IOWR(KVFS_IOC_TYPE, 0x41, struct kvfs_ioc_map)
#define KVFS_IOC_COMMIT  _IOWR(KVFS_IOC_TYPE, 0x42, struct kvfs_ioc_commit)
#define KVFS_IOC_PIN     _IOWR(KVFS_IOC_TYPE, 0x43, struct kvfs_ioc_map)
#define KVFS_IOC_UNPIN   _IOWR(KVFS_IOC_TYPE, 0x44, struct kvfs_ioc_lease)

/* The layout is the ABI: any change here is a new KVFS_ABI_VERSION. */
_Static_assert(sizeof(struct kvfs_ioc_info) == 256, "INFO layout");
_Static_assert(offsetof(struct kvfs_ioc_info, unit) == 40, "INFO layout");
_Static_assert(offsetof(struct kvfs_ioc_info, arena_path) == 80, "INFO layout");
_Static_assert(sizeof(struct kvfs_ioc_extent) == 16, "extent layout");
_Static_assert(offsetof(struct kvfs_ioc_map, count) == 56, "MAP layout");
_Static_assert(offsetof(struct kvfs_ioc_map, ext) == KVFS_IOC_MAP_HEADER, "MAP layout");
_Static_assert(sizeof(struct kvfs_ioc_map) == KVFS_IOC_MAP_SIZE, "MAP layout");
_Static_assert(sizeof(struct kvfs_ioc_commit) == 64, "COMMIT layout");
_Static_assert(offsetof(struct kvfs_ioc_commit, size) == 32, "COMMIT layout");
_Static_assert(sizeof(struct kvfs_ioc_lease) == 32, "UNPIN layout");
/* FUSE restricted ioctls carry at most 16383 bytes (the _IOC_SIZE field). */
_Static_assert(KVFS_IOC_MAP_SIZE <= 16383, "restricted ioctl size");

#endif
