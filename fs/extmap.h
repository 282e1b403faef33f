/*
 * extmap.h - one file's data in the memory tier: a sorted list of extents.
 *
 * An extent maps a unit-aligned range of the file to a unit-aligned range of
 * the arena.  File ranges with no extent are holes and read as zeros.  Every
 * byte inside an allocated unit that the file has not written reads as zero
 * (units are zeroed when allocated, and the tail past a truncation point is
 * zeroed), so growing a file never exposes stale arena bytes.
 *
 * Locking: none inside.  The caller holds the owning inode's lock: shared for
 * kvfs_extmap_read/iov/seek/crc, exclusive for everything that changes the map.
 * The allocator has its own lock.
 *
 * Every function that can fail is all-or-nothing: on error the map, the
 * allocator and the file's bytes are as they were.
 */
#ifndef KVFS_EXTMAP_H
#define KVFS_EXTMAP_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "alloc.h"
#include "arena.h"

/* The memory tier: the arena and the allocator of its units. */
struct kvfs_mem {
	struct kvfs_arena arena;
	struct kvfs_alloc alloc;
};

struct kvfs_ext {
	uint64_t foff; /* file offset, multiple of KVFS_ALLOC_UNIT */
	uint64_t aoff; /* arena offset, multiple of KVFS_ALLOC_UNIT */
	uint64_t len;  /* bytes, multiple of KVFS_ALLOC_UNIT, > 0 */
};

struct kvfs_extmap {
	struct kvfs_ext *v; /* sorted by foff, non-overlapping; adjacent extents
			       that are contiguous in both file and arena are merged */
	uint32_t n, cap;
	uint64_t bytes;     /* sum of len: the file's allocated bytes */
};

/* Holes in iovecs point into this many zero bytes (a read-only buffer). */
#define KVFS_EXTMAP_ZERO_LEN (1u << 20)

/* Opens the memory tier: arena of `size` bytes plus its allocator. */
int kvfs_mem_open(struct kvfs_mem *mem, uint64_t size, unsigned arena_flags);
void kvfs_mem_close(struct kvfs_mem *mem);

/*
 * kvfs_alloc_take() of arena units with memory behind every run
 * (kvfs_arena_back()): the only way units are taken for data.  A run the
 * arena cannot back (its file system is full) stays taken for good, so no
 * later call is handed it again, and the call fails with -ENOSPC after
 * giving the other runs back.
 */
int64_t kvfs_mem_take(struct kvfs_mem *mem, uint64_t want, uint64_t near,
		      struct kvfs_run *runs, int max_runs, int *nruns);

void kvfs_extmap_init(struct kvfs_extmap *m);
/* Gives every extent back to the allocator and frees the list. */
void kvfs_extmap_release(struct kvfs_extmap *m, struct kvfs_mem *mem);

/* Allocates (zeroed) every unit of [off, off + len) that is not yet mapped.
 * Returns 0, -ENOSPC (arena full) or -ENOMEM; -EFBIG if off + len overflows. */
int kvfs_extmap_alloc(struct kvfs_extmap *m, struct kvfs_mem *mem,
		      uint64_t off, uint64_t len);

/* Allocates what is missing, then copies buf to [off, off + len).
 * Returns len, or -errno with nothing changed. */
ssize_t kvfs_extmap_write(struct kvfs_extmap *m, struct kvfs_mem *mem,
			  uint64_t off, const void *buf, size_t len);

/* Copies [off, off + len) to buf, holes as zeros.  Size limits are the
 * caller's business: reading past the last extent yields zeros. */
void kvfs_extmap_read(const struct kvfs_extmap *m, const struct kvfs_mem *mem,
		      uint64_t off, void *buf, size_t len);

/* Describes [off, off + len) as iovecs into the arena (holes point at a zero
 * buffer).  Returns the number of iovecs filled, or -E2BIG if max_iov is too
 * few (iov contents then undefined). */
int kvfs_extmap_iov(const struct kvfs_extmap *m, const struct kvfs_mem *mem,
		    uint64_t off, size_t len, struct iovec *iov, int max_iov);

/* Frees every unit wholly at or past `size` and zeroes the rest of the unit
 * that holds byte size - 1.  Returns 0 or -ENOMEM (an extent had to split). */
int kvfs_extmap_truncate(struct kvfs_extmap *m, struct kvfs_mem *mem,
			 uint64_t size);

/* Frees whole units inside [off, off + len) and zeroes the partial ones at
 * either end (fallocate PUNCH_HOLE).  Returns 0 or -ENOMEM. */
int kvfs_extmap_punch(struct kvfs_extmap *m, struct kvfs_mem *mem,
		      uint64_t off, uint64_t len);

/* lseek SEEK_DATA / SEEK_HOLE for a file of `size` bytes: the next data or
 * hole offset >= off.  Returns it, or -ENXIO (off >= size, or no data left). */
int64_t kvfs_extmap_seek(const struct kvfs_extmap *m, uint64_t off, int whence,
			 uint64_t size);

/*
 * Walks [off, off + len) in file order, one piece per call of
 * kvfs_extmap_walk_next(): 1 with the piece's arena offset (KVFS_EXTMAP_HOLE
 * in a hole) and length, 0 when the range is done.  The map must not change
 * during the walk.
 */
#define KVFS_EXTMAP_HOLE UINT64_MAX
struct kvfs_extmap_walk {
	const struct kvfs_extmap *m;
	uint32_t i;
	uint64_t pos, end;
};
void kvfs_extmap_walk_init(struct kvfs_extmap_walk *w, const struct kvfs_extmap *m,
			   uint64_t off, uint64_t len);
int kvfs_extmap_walk_next(struct kvfs_extmap_walk *w, uint64_t *aoff, uint64_t *len);

/*
 * Makes the caller's arena units the file's data (the fast path's commit):
 * units[0..n) are sorted, non-overlapping, unit-aligned extents {foff, aoff,
 * len} that the caller took from the allocator.  Where the file has a hole,
 * the unit is taken over as it is; where the file already has a unit
 * (written since the caller took its own), the bytes of [s0, s1) are copied
 * from the caller's unit into the file's, and the caller's unit is freed.
 * Returns 0, or -ENOMEM with nothing changed (the units stay the caller's).
 */
int kvfs_extmap_adopt(struct kvfs_extmap *m, struct kvfs_mem *mem,
		      const struct kvfs_ext *units, uint32_t n, uint64_t s0,
		      uint64_t s1);

/* CRC-32C of the first `size` bytes, holes as zeros. */
uint32_t kvfs_extmap_crc(const struct kvfs_extmap *m, const struct kvfs_mem *mem,
			 uint64_t size);
/* The CRC-32C continued from `crc` over [off, off + len), holes as zeros
 * (the hasher's steps, hasher.c). */
uint32_t kvfs_extmap_crc_range(const struct kvfs_extmap *m,
			       const struct kvfs_mem *mem, uint32_t crc,
			       uint64_t off, uint64_t len);

/* Validates ordering, alignment, merging and `bytes`; 0 or -EUCLEAN. */
int kvfs_extmap_check(const struct kvfs_extmap *m);

#endif
