/*
 * alloc.h - extent allocator over a linear space of fixed-size units.
 *
 * The memory tier hands out arena space in units of KVFS_ALLOC_UNIT bytes; a
 * file is a list of extents (extmap.h), so the allocator may answer a request
 * with several runs instead of one.  It prefers a run that starts at `near`
 * (the unit just after a file's last extent), so sequential writes grow one
 * extent instead of many.
 *
 * Representation: a bitmap, one bit per unit (1 = in use), and a next-fit
 * hint.  One mutex guards everything; all functions are thread-safe.
 * The SSD tier reuses it over its slab files (same unit), taking one run
 * per request with kvfs_alloc_take_run().
 */
#ifndef KVFS_ALLOC_H
#define KVFS_ALLOC_H

#include <pthread.h>
#include <stdint.h>

/* Memory-tier unit: one page, so 16 KiB KV pages waste nothing. */
#define KVFS_ALLOC_UNIT 4096u

struct kvfs_run {
	uint64_t start; /* first unit */
	uint64_t len;   /* units, > 0 */
};

struct kvfs_alloc {
	pthread_mutex_t lock;
	uint64_t *bits;   /* guarded by lock; bit set = unit in use */
	uint64_t nunits;  /* constant after init */
	uint64_t nfree;   /* guarded by lock */
	uint64_t hint;    /* guarded by lock; where the next search starts */
};

/* Sets up an allocator of `nunits` free units.  Returns 0 or -ENOMEM. */
int kvfs_alloc_init(struct kvfs_alloc *a, uint64_t nunits);

/* Frees the bitmap.  Safe on a zeroed struct. */
void kvfs_alloc_release(struct kvfs_alloc *a);

/*
 * Takes up to `want` units as at most `max_runs` runs, trying a run that
 * starts at unit `near` first (pass UINT64_MAX for no preference).  Returns
 * the number of units taken (1..want) with the runs in runs[0..*nruns), or
 * -ENOSPC when no unit is free (nothing taken), or -EINVAL for want == 0 or
 * max_runs == 0.  Callers needing all-or-nothing give back what they took.
 */
int64_t kvfs_alloc_take(struct kvfs_alloc *a, uint64_t want, uint64_t near,
			struct kvfs_run *runs, int max_runs, int *nruns);

/*
 * Takes one contiguous run of exactly `want` units (the SSD tier's slabs
 * need runs, not lists of extents): the run at `near` if it is free, else
 * the first that fits at or after the hint, wrapping once.  Returns 0 with
 * *start set, -ENOSPC when no free run is that long (nothing taken), or
 * -EINVAL for want == 0.  Cost: one pass over the bitmap at worst, skipping
 * whole 64-bit words that are all used (or all free, inside a run).
 */
int kvfs_alloc_take_run(struct kvfs_alloc *a, uint64_t want, uint64_t near,
			uint64_t *start);

/*
 * Takes exactly the run [start, start + len) if all of it is free (used to
 * rebuild state at start-up and to extend an extent in place).  Returns 0,
 * -EBUSY if any unit is in use (nothing taken), or -EINVAL if out of range.
 */
int kvfs_alloc_take_at(struct kvfs_alloc *a, uint64_t start, uint64_t len);

/* Takes every unit of [start, start + len) that is free.  Returns how many
 * it took, or -EINVAL if the range is out of bounds. */
int64_t kvfs_alloc_take_free(struct kvfs_alloc *a, uint64_t start, uint64_t len);

/*
 * Returns [start, start + len) to the free pool.  Returns 0, or -EINVAL if
 * the range is out of bounds or any unit in it is already free (a double
 * free: logged, and nothing is changed).
 */
int kvfs_alloc_give(struct kvfs_alloc *a, uint64_t start, uint64_t len);

/* Free units right now (a snapshot). */
uint64_t kvfs_alloc_free_units(struct kvfs_alloc *a);

/* Validates nfree against the bitmap; for tests and debug builds. */
int kvfs_alloc_check(struct kvfs_alloc *a);

#endif
