/*
 * ssd.h - the SSD tier's space: preallocated slab files under ssd=DIR, read
 * and written with O_DIRECT through io_uring, and the allocator of their
 * space.
 *
 * Layout.  DIR holds slab files kvfs-slab-NNNN (NNNN = 0000, 0001, ...).
 * Each is KVFS_SSD_HDR bytes of header (struct kvfs_slab_hdr in slab.h,
 * the one definition of names and header: magic, version, store id, slab
 * number, slab data size, CRC-32C) followed by slab_size bytes of data,
 * allocated with fallocate() when the slab is made.  The slab size is
 * chosen when the store is made and read back from the headers ever after,
 * so a later ssd_size only changes the number of slabs.
 *
 * Addresses.  An SSD offset ("soff") names a byte of the store: slab
 * soff / (KVFS_SSD_HDR + slab_size), at that remainder within its file.
 * The header's units are permanently allocated, so no allocated run ever
 * crosses from one slab into the next, and soff % (KVFS_SSD_HDR +
 * slab_size) is the byte offset inside that slab file (soff itself only
 * for slab 0).
 *
 * This module owns the slab fds, the io_uring rings and the allocator; it
 * knows nothing of files, chunks or the index.  Thread-safe: any thread may
 * call any function after kvfs_ssd_open() returns; open/close are main's.
 *
 * Caveats.  One process per store: open flock()s DIR (-EBUSY otherwise).
 * Each slab holds an fd for as long as the store is open, so a large store
 * needs RLIMIT_NOFILE above its slab count (8 TiB = 8192 slabs of 1 GiB).
 * Do not put DIR on a network filesystem.  Where O_DIRECT is refused the
 * slabs are opened buffered (stats.direct = 0); where io_uring is refused
 * (seccomp, io_uring_disabled) transfers fall back to pread/pwrite on the
 * calling thread (stats.uring = 0).  Both are logged once.
 */
#ifndef KVFS_SSD_H
#define KVFS_SSD_H

#include <stddef.h>
#include <stdint.h>

#include "slab.h"                            /* KVFS_SSD_UNIT, KVFS_SSD_HDR */

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
 * before with a different slab size keeps its slab size.  Slabs past the
 * ones `size` needs (ssd_size was lowered) are opened too, so that the
 * files in them stay readable, until kvfs_ssd_seal().  On error writes one line for
 * the user into msg ("ssd=/x: no such directory", "... is read-only", "...
 * has 1.2 GiB free, ssd_size=8G needs 6.8 GiB more; choose a smaller
 * ssd_size="), and returns -errno with nothing left open.
 */
int kvfs_ssd_open(struct kvfs_ssd **out, const char *dir, uint64_t size,
		  char *msg, size_t msgsz);
void kvfs_ssd_close(struct kvfs_ssd *s);

/* The store's random 64-bit id (from the slab headers; never 0); the index
 * records it so a state directory is never used with another store's slabs. */
uint64_t kvfs_ssd_id(const struct kvfs_ssd *s);
/* 1 if this open made the store (no slab file existed before), else 0. */
int kvfs_ssd_is_new(const struct kvfs_ssd *s);
/* Data bytes of the slabs ssd_size asked for, and bytes free in them now. */
uint64_t kvfs_ssd_capacity(const struct kvfs_ssd *s);
uint64_t kvfs_ssd_free(const struct kvfs_ssd *s);

/*
 * Called once the index has claimed every stored run (kvfs_ssd_take_at):
 * the slabs past ssd_size start draining.  Their free space is taken for
 * good, runs given back there are not handed out again, and the trailing
 * ones no file lies in are deleted now (a later start deletes the others
 * once their files have been evicted or rewritten).  Lowering ssd_size thus
 * loses no file.  Returns 0, or the -errno of a slab that could not be
 * deleted (logged; it stays, unused).
 */
int kvfs_ssd_seal(struct kvfs_ssd *s);
/* Slabs past ssd_size still open (holding files, after kvfs_ssd_seal). */
uint32_t kvfs_ssd_draining(const struct kvfs_ssd *s);

/*
 * Takes one contiguous run of `len` bytes (a multiple of KVFS_SSD_UNIT,
 * at most one slab), preferring the run that starts at `near` (the end of
 * the caller's previous run; UINT64_MAX for none).  Returns 0 with *soff
 * set, or -ENOSPC (no run that long is free), or -EINVAL for a len that is
 * 0, unaligned or longer than a slab.  soff is never 0 (slab 0's header).
 */
int kvfs_ssd_alloc(struct kvfs_ssd *s, uint32_t len, uint64_t near,
		   uint64_t *soff);
/* Gives a run back.  Returns 0, or -EINVAL for a run not allocated, or one
 * not inside one slab's data (logged). */
int kvfs_ssd_give(struct kvfs_ssd *s, uint64_t soff, uint32_t len);
/* Marks a run allocated while rebuilding from the index at start.  Returns
 * 0, -EBUSY if any of it is taken, -EINVAL if it is outside the store. */
int kvfs_ssd_take_at(struct kvfs_ssd *s, uint64_t soff, uint32_t len);

/*
 * Moves every transfer of v[0..n), in parallel (as deep a queue as the
 * ring allows), and waits for all of them.  Returns 0 when each moved its
 * whole length, else the first -errno (a short transfer is -EIO); every
 * v[i].res is set either way.  Blocks only the calling thread.  A transfer
 * that is unaligned or not inside one slab's data (the header included)
 * gets res -EINVAL and is not started; the others still run.  Transfers
 * of one batch must not overlap each other (they run in any order).
 */
int kvfs_ssd_write(struct kvfs_ssd *s, struct kvfs_ssd_io *v, int n);
int kvfs_ssd_read(struct kvfs_ssd *s, struct kvfs_ssd_io *v, int n);
/*
 * kvfs_ssd_write in two halves, so that the caller works while the device
 * does (checksums of the same bytes; the next file's plan and its own
 * begin: a second ring).  Begin checks the transfers, takes a ring and
 * submits the first of them; end waits for all, gives the ring back and
 * returns as kvfs_ssd_write.  Until end the buffers must stay mapped and
 * unchanged.  Begin returns 0 with *out set, -ENOMEM, or, with `try`,
 * -EAGAIN when every ring is busy (it waits for none).  A thread holding a
 * begun write takes another ring only with `try`.
 */
struct kvfs_ssd_pending;
int kvfs_ssd_write_begin(struct kvfs_ssd *s, struct kvfs_ssd_io *v, int n,
			 int try, struct kvfs_ssd_pending **out);
int kvfs_ssd_write_end(struct kvfs_ssd_pending *p);

/* Makes every write completed before the call durable (fdatasync of each
 * slab written since the last sync).  Returns 0 or the first -errno; after
 * an error, treat every write since the last successful sync as lost (a
 * later fdatasync may succeed without having saved them). */
int kvfs_ssd_sync(struct kvfs_ssd *s);

/* reads, writes: transfers moved whole; syncs: fdatasync calls; errors:
 * transfers that failed, and failed fdatasyncs. */
struct kvfs_ssd_stats {
	uint64_t reads, read_bytes, writes, write_bytes, syncs, errors;
	int direct;         /* slabs opened with O_DIRECT */
	int uring;          /* transfers go through io_uring (else pread/pwrite) */
};
void kvfs_ssd_stats(struct kvfs_ssd *s, struct kvfs_ssd_stats *out);

/* Validates the allocator and that every slab header is allocated; for
 * tests and debug builds.  Returns 0 or -EUCLEAN (logged). */
int kvfs_ssd_check(struct kvfs_ssd *s);

#endif
