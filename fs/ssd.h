/*
 * ssd.h - the SSD tier's space: preallocated slab files under ssd=DIR, read
 * and written with O_DIRECT through io_uring, and the allocator of their
 * space.
 *
 * Layout.  DIR holds slab files kvfs-slab-NNNN (NNNN = 0000, 0001, ...).
 * Each is KVFS_SSD_HDR bytes of header (struct kvfs_slab_hdr: magic,
 * version, store id, slab number, slab data size, CRC-32C) followed by
 * slab_size bytes of data, allocated with fallocate() when the slab is
 * made.  The slab size is chosen when the store is made and read back from
 * the headers ever after, so a later ssd_size only changes the number of
 * slabs.
 *
 * Addresses.  An SSD offset ("soff") names a byte of the store: slab
 * soff / (KVFS_SSD_HDR + slab_size), at that remainder within its file.
 * The header's units are permanently allocated, so no allocated run ever
 * crosses from one slab into the next, and soff is also the byte offset
 * inside the slab file.
 *
 * This module owns the slab fds, the io_uring rings and the allocator; it
 * knows nothing of files, chunks or the index.  Thread-safe: any thread may
 * call any function after kvfs_ssd_open() returns; open/close are main's.
 */
#ifndef KVFS_SSD_H
#define KVFS_SSD_H

#include <stddef.h>
#include <stdint.h>

#define KVFS_SSD_UNIT 4096u                  /* allocation and I/O alignment */
#define KVFS_SSD_HDR  KVFS_SSD_UNIT          /* header bytes at each slab's start */
#define KVFS_SSD_MIN  (64ull << 20)          /* smallest ssd_size accepted */

struct kvfs_ssd;

/* One transfer: len bytes between SSD offset soff and buf.  soff, len and
 * buf are multiples of KVFS_SSD_UNIT; len > 0.  res: bytes moved or -errno,
 * set by kvfs_ssd_read/write. */
struct kvfs_ssd_io {
	uint64_t soff;
	uint32_t len;
	void *buf;
	int res;
};

/*
 * Opens the store in `dir`, making or adding slab files until they hold
 * `size` bytes of data (size rounded up to whole slabs).  A store made
 * before with a different slab size keeps its slab size; slabs past the
 * ones `size` needs are left on disk, unused.  On error writes one line for
 * the user into msg ("ssd=/x: no such directory", "... is read-only", "...
 * has 1.2 GiB free, ssd_size=8G needs 6.8 GiB more; choose a smaller
 * ssd_size="), and returns -errno with nothing left open.
 */
int kvfs_ssd_open(struct kvfs_ssd **out, const char *dir, uint64_t size,
		  char *msg, size_t msgsz);
void kvfs_ssd_close(struct kvfs_ssd *s);

/* The store's random 64-bit id (from the slab headers); the index records
 * it so a state directory is never used with another store's slabs. */
uint64_t kvfs_ssd_id(const struct kvfs_ssd *s);
/* Data bytes (sum of slab sizes) and bytes free right now. */
uint64_t kvfs_ssd_capacity(const struct kvfs_ssd *s);
uint64_t kvfs_ssd_free(const struct kvfs_ssd *s);

/*
 * Registers [base, base + size) (the memory arena) as io_uring fixed
 * buffers in every ring, so transfers to and from it are DMA without a
 * per-I/O page pin.  May be called once, at any time after open (main calls
 * it when the arena is faulted in).  Returns 0, or -errno (RLIMIT_MEMLOCK)
 * and transfers keep working without fixed buffers.
 */
int kvfs_ssd_register(struct kvfs_ssd *s, void *base, uint64_t size);

/*
 * Takes one contiguous run of `len` bytes (a multiple of KVFS_SSD_UNIT,
 * at most one slab), preferring the run that starts at `near` (the end of
 * the caller's previous run; UINT64_MAX for none).  Returns 0 with *soff
 * set, or -ENOSPC (no run that long is free).
 */
int kvfs_ssd_alloc(struct kvfs_ssd *s, uint32_t len, uint64_t near,
		   uint64_t *soff);
/* Gives a run back.  Returns 0, or -EINVAL for a run not allocated (logged). */
int kvfs_ssd_give(struct kvfs_ssd *s, uint64_t soff, uint32_t len);
/* Marks a run allocated while rebuilding from the index at start.  Returns
 * 0, -EBUSY if any of it is taken, -EINVAL if it is outside the store. */
int kvfs_ssd_take_at(struct kvfs_ssd *s, uint64_t soff, uint32_t len);

/*
 * Moves every transfer of v[0..n), in parallel (as deep a queue as the
 * ring allows), and waits for all of them.  Returns 0 when each moved its
 * whole length, else the first -errno (a short transfer is -EIO); every
 * v[i].res is set either way.  Blocks only the calling thread.
 */
int kvfs_ssd_write(struct kvfs_ssd *s, struct kvfs_ssd_io *v, int n);
int kvfs_ssd_read(struct kvfs_ssd *s, struct kvfs_ssd_io *v, int n);

/* Makes every write completed before the call durable (fdatasync of each
 * slab written since the last sync).  Returns 0 or the first -errno. */
int kvfs_ssd_sync(struct kvfs_ssd *s);

struct kvfs_ssd_stats {
	uint64_t reads, read_bytes, writes, write_bytes, syncs, errors;
	int fixed;          /* arena registered as fixed buffers */
	int direct;         /* slabs opened with O_DIRECT */
};
void kvfs_ssd_stats(struct kvfs_ssd *s, struct kvfs_ssd_stats *out);

#endif
