/*
 * slab.h - the on-disk format of the SSD tier's slab files, defined once:
 * their names (kvfs-slab-NNNN) and their header.  The daemon's store
 * (ssd.c), the offline check (index/check_ssd.c), the tools and the tests
 * name, parse and check slabs only through this module, so that the
 * daemon and `kvfsctl fsck` can never disagree on what a slab is.
 *
 * Pure functions over caller-owned buffers: no state, no locks, no I/O;
 * any thread.  Nothing here opens a slab; ssd.h says how the store uses
 * them (layout, addresses, caveats).
 */
#ifndef KVFS_SLAB_H
#define KVFS_SLAB_H

#include <stddef.h>
#include <stdint.h>

#define KVFS_SSD_UNIT 4096u                  /* allocation and I/O alignment */
#define KVFS_SSD_HDR  KVFS_SSD_UNIT          /* header bytes at each slab's start */

/*
 * Names.  Slab i is the file KVFS_SLAB_PREFIX followed by i in decimal, at
 * least 4 digits, zero-padded: kvfs-slab-0000, ..., kvfs-slab-12345.  Only
 * that canonical spelling is a slab ("kvfs-slab-01", "kvfs-slab-0000.tmp"
 * are not).  Slab numbers stay below KVFS_SLABS_MAX: 16 Mi slabs is 16 PiB
 * of 1 GiB slabs and 16 times the most fds a Linux process may hold
 * (fs.nr_open's default 1 Mi), so no store that can be opened reaches it,
 * and a name past it is not a slab (a checker sizing a table by the
 * highest slab number seen stays bounded: 24 bytes x 16 Mi = 384 MiB).
 */
#define KVFS_SLAB_PREFIX   "kvfs-slab-"
#define KVFS_SLABS_MAX     (1u << 24)
/* Room for any slab name with a suffix of up to 8 bytes, and its NUL. */
#define KVFS_SLAB_NAME_MAX 32

/*
 * The header at the start of every slab file.  All fields little-endian;
 * crc is the CRC-32C of the 4092 bytes before it.  A slab whose header
 * fails kvfs_slab_hdr_check() makes kvfs_ssd_open() refuse the store
 * (-EUCLEAN) and fsck report it.
 */
#define KVFS_SLAB_MAGIC    "KVFSSLAB"        /* 8 bytes, no NUL */
#define KVFS_SLAB_VERSION  1u
/* The largest slab data size: a transfer's length must fit an int. */
#define KVFS_SLAB_SIZE_MAX (1ull << 30)

struct kvfs_slab_hdr {
	char magic[8];         /* KVFS_SLAB_MAGIC */
	uint32_t version;      /* KVFS_SLAB_VERSION */
	uint32_t hdr_size;     /* KVFS_SSD_HDR */
	uint64_t store_id;     /* random, nonzero, the same in every slab */
	uint64_t slab;         /* this slab's number: kvfs-slab-NNNN */
	uint64_t slab_size;    /* data bytes after the header, all slabs alike */
	uint64_t created;      /* seconds since the epoch */
	uint8_t zero[KVFS_SSD_HDR - 52];
	uint32_t crc;          /* CRC-32C of all bytes above */
};
_Static_assert(sizeof(struct kvfs_slab_hdr) == KVFS_SSD_HDR, "slab header size");
_Static_assert(offsetof(struct kvfs_slab_hdr, version) == 8, "slab header layout");
_Static_assert(offsetof(struct kvfs_slab_hdr, hdr_size) == 12, "slab header layout");
_Static_assert(offsetof(struct kvfs_slab_hdr, store_id) == 16, "slab header layout");
_Static_assert(offsetof(struct kvfs_slab_hdr, slab) == 24, "slab header layout");
_Static_assert(offsetof(struct kvfs_slab_hdr, slab_size) == 32, "slab header layout");
_Static_assert(offsetof(struct kvfs_slab_hdr, created) == 40, "slab header layout");
_Static_assert(offsetof(struct kvfs_slab_hdr, zero) == 48, "slab header layout");
_Static_assert(offsetof(struct kvfs_slab_hdr, crc) == KVFS_SSD_HDR - 4,
	       "slab header crc is its last 4 bytes");

/* Writes slab i's file name, followed by suffix ("" or ".tmp"), into buf.
 * Returns 0, or -ENAMETOOLONG (buf then holds a truncated name). */
int kvfs_slab_name(char *buf, size_t size, uint32_t i, const char *suffix);
/* Writes "dir/" and slab i's file name into buf.  0 or -ENAMETOOLONG. */
int kvfs_slab_path(char *buf, size_t size, const char *dir, uint32_t i);
/* The slab number of a canonical slab file name (< KVFS_SLABS_MAX), or
 * -EINVAL for any other name. */
long kvfs_slab_number(const char *name);

/* Fills *h as the header of slab `slab` of store `id` (nonzero), with
 * `slab_size` data bytes, created now; computes its CRC. */
void kvfs_slab_hdr_fill(struct kvfs_slab_hdr *h, uint64_t id, uint32_t slab,
			uint64_t slab_size);
/* 0 if *h is a sound header of slab `slab`: magic, CRC, version, header
 * size, slab number, a slab size that is a nonzero multiple of
 * KVFS_SSD_UNIT up to KVFS_SLAB_SIZE_MAX, a nonzero store id.  Else
 * -EUCLEAN.  Whether it matches the other slabs is the caller's check. */
int kvfs_slab_hdr_check(const struct kvfs_slab_hdr *h, uint32_t slab);

#endif
