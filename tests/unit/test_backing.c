/*
 * test_backing.c - unit tests of the memory tier (fs/backing.c) on a real
 * tmpfs: the daemon's own (a private mount, as root) and the fallback
 * directory.
 *
 * Every test checks what the backing file holds against a reference buffer
 * kept by the test, and the tier's byte count against what fstat says.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "backing.h"
#include "crc32c.h"

#define MiB (1ull << 20)

static void fill(char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (char)(seed + i * 131 + (i >> 12));
}

/* Reads [off, off + len) back and compares it with want. */
static void expect(const struct kvfs_data *d, uint64_t off, const char *want,
		   size_t len)
{
	char *got = malloc(len);

	assert_non_null(got);
	assert_int_equal(kvfs_data_read(d, off, got, len), 0);
	assert_memory_equal(got, want, len);
	free(got);
}

static int open_tier(struct kvfs_mem *mem, uint64_t size, unsigned flags)
{
	int r = kvfs_mem_open(mem, size, flags, NULL);

	assert_int_equal(r, 0);
	return mem->own_tmpfs;
}

static void test_write_read_truncate(void **state)
{
	struct kvfs_mem mem;
	struct kvfs_data d;
	size_t len = 3 * MiB + 123;
	char *want = calloc(1, 5 * MiB);
	struct stat st;

	(void)state;
	open_tier(&mem, 64 * MiB, 0);
	kvfs_data_init(&d, 1);
	assert_int_equal(d.fd, -1);
	/* no backing file: reads as zeros, seeks as one hole */
	expect(&d, 0, want, 4096);
	assert_int_equal(kvfs_data_seek(&d, 0, SEEK_DATA, 100), -ENXIO);
	assert_int_equal(kvfs_data_seek(&d, 10, SEEK_HOLE, 100), 10);

	fill(want + 100, len, 7);
	assert_int_equal(kvfs_data_write(&d, &mem, 100, want + 100, len), (ssize_t)len);
	assert_true(d.fd >= 0);
	assert_int_equal(fstat(d.fd, &st), 0);
	assert_int_equal(st.st_size, 100 + len); /* the size follows the write */
	expect(&d, 0, want, 100 + len);
	assert_int_equal(d.bytes, (uint64_t)st.st_blocks * 512);
	assert_true(kvfs_mem_used(&mem) >= d.bytes);
	/* past the backing file's end: zeros */
	expect(&d, 100 + len, want + 100 + len, 4096);

	/* shrink: bytes past the size are gone, and come back as zeros */
	assert_int_equal(kvfs_data_truncate(&d, &mem, 2 * MiB + 5), 0);
	assert_int_equal(fstat(d.fd, &st), 0);
	assert_int_equal(st.st_size, 2 * MiB + 5);
	memset(want + 2 * MiB + 5, 0, 5 * MiB - (2 * MiB + 5));
	assert_int_equal(kvfs_data_truncate(&d, &mem, 4 * MiB), 0);
	expect(&d, 0, want, 4 * MiB);
	/* the growth is a hole */
	assert_int_equal(kvfs_data_seek(&d, 3 * MiB, SEEK_DATA, 4 * MiB), -ENXIO);
	assert_int_equal(kvfs_data_check(&d, 4 * MiB), 0);

	kvfs_data_release(&d, &mem);
	assert_int_equal(d.fd, -1);
	assert_int_equal(d.bytes, 0);
	assert_int_equal(atomic_load(&mem.used), 0);
	kvfs_mem_close(&mem);
	free(want);
}

static void test_punch_seek_crc(void **state)
{
	struct kvfs_mem mem;
	struct kvfs_data d;
	size_t len = 8 * MiB;
	char *want = malloc(len);
	uint64_t before;

	(void)state;
	open_tier(&mem, 64 * MiB, 0);
	kvfs_data_init(&d, 1);
	fill(want, len, 3);
	assert_int_equal(kvfs_data_write(&d, &mem, 0, want, len), (ssize_t)len);
	assert_int_equal(kvfs_data_crc(&d, len), kvfs_crc32c(0, want, len));
	before = d.bytes;
	/* demotion's punch: everything past the head, the size stays */
	assert_int_equal(kvfs_data_punch(&d, &mem, 4096, len - 4096), 0);
	memset(want + 4096, 0, len - 4096);
	expect(&d, 0, want, len);
	assert_true(d.bytes < before);
	assert_true(d.bytes <= 2 * MiB); /* at most the huge page of the head */
	assert_int_equal(kvfs_data_seek(&d, 0, SEEK_HOLE, len) <= 2 * (int64_t)MiB, 1);
	assert_int_equal(kvfs_data_seek(&d, 4096, SEEK_DATA, len) < 0 ||
			 kvfs_data_seek(&d, 4096, SEEK_DATA, len) < 2 * (int64_t)MiB, 1);
	assert_int_equal(kvfs_data_crc(&d, len), kvfs_crc32c(0, want, len));
	assert_int_equal(kvfs_data_crc_range(&d, kvfs_crc32c(0, want, 10), 10, 5000),
			 kvfs_crc32c(0, want, 5010));
	/* a partial page punch zeroes just those bytes */
	fill(want + 3 * MiB, 8192, 9);
	assert_int_equal(kvfs_data_write(&d, &mem, 3 * MiB, want + 3 * MiB, 8192), 8192);
	assert_int_equal(kvfs_data_punch(&d, &mem, 3 * MiB + 100, 50), 0);
	memset(want + 3 * MiB + 100, 0, 50);
	expect(&d, 3 * MiB, want + 3 * MiB, 8192);
	kvfs_data_release(&d, &mem);
	kvfs_mem_close(&mem);
	free(want);
}

/* A counter of /proc/vmstat, -1 where the kernel has none. */
static long long vmstat(const char *key)
{
	char name[64];
	long long v, found = -1;
	FILE *f = fopen("/proc/vmstat", "r");

	if (!f)
		return -1;
	while (fscanf(f, "%63s %lld", name, &v) == 2)
		if (strcmp(name, key) == 0)
			found = v;
	fclose(f);
	return found;
}

/* Demotion's drop: the head stays, byte for byte, in one small page; the
 * rest is a hole; in a huge-page tier no huge page is split for it (each
 * goes back whole: a punch after the head split the first). */
static void test_drop_tail(void **state)
{
	struct kvfs_mem mem;
	struct kvfs_data d;
	size_t len = 8 * MiB + 12345;
	char *want = malloc(len);
	long long split0, split1;
	struct stat st;

	(void)state;
	assert_non_null(want);
	open_tier(&mem, 64 * MiB, 0);
	kvfs_data_init(&d, 1);
	fill(want, len, 5);
	assert_int_equal(kvfs_data_write(&d, &mem, 0, want, len), (ssize_t)len);
	split0 = vmstat("thp_split_page");
	assert_int_equal(kvfs_data_drop_tail(&d, &mem, 4096, len), 0);
	split1 = vmstat("thp_split_page");
	memset(want + 4096, 0, len - 4096);
	expect(&d, 0, want, len);
	assert_int_equal(kvfs_data_seek(&d, 4096, SEEK_DATA, len), -ENXIO);
	if (mem.huge) {
		assert_int_equal(d.bytes, (uint64_t)sysconf(_SC_PAGESIZE));
		assert_true(split1 == split0); /* both -1 without THP counters */
	} else {
		assert_true(d.bytes <= 2 * MiB);
	}
	assert_int_equal(kvfs_data_crc(&d, len), kvfs_crc32c(0, want, len));
	assert_int_equal(kvfs_data_seek(&d, 5000, SEEK_HOLE, len), 5000);
	/* A promotion's allocation gives the file its size and pages back. */
	assert_int_equal(kvfs_data_alloc(&d, &mem, 4096, len - 4096, len), 0);
	assert_int_equal(fstat(d.fd, &st), 0);
	assert_int_equal(st.st_size, len);
	assert_true(kvfs_data_allocated(&d) >= len);
	expect(&d, 0, want, len);
	/* under one huge page (its pages may be large ones too) */
	assert_int_equal(kvfs_data_truncate(&d, &mem, 0), 0);
	fill(want, MiB, 6);
	assert_int_equal(kvfs_data_write(&d, &mem, 0, want, MiB), (ssize_t)MiB);
	assert_int_equal(kvfs_data_drop_tail(&d, &mem, 4096, MiB), 0);
	memset(want + 4096, 0, MiB - 4096);
	expect(&d, 0, want, MiB);
	assert_int_equal(d.bytes, 4096);
	kvfs_data_release(&d, &mem);
	kvfs_mem_close(&mem);
	free(want);
}

/* How many pages (folios) of the kernel's hold [0, len) of fd: the heads
 * of compound pages and the small pages, found through pagemap and
 * kpageflags (root only).  -1 where those cannot be read.  The mapping
 * is made with THP off for this process: khugepaged scans the processes
 * that map files, and it collapsed the 1 MiB pages it found mapped here
 * into huge ones while a concurrent build kept it awake (2 runs in 30). */
static int folios(int fd, size_t len)
{
	long ps = sysconf(_SC_PAGESIZE);
	int thp_off = prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) == 0;
	volatile const char *m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	int pm = open("/proc/self/pagemap", O_RDONLY), kf = open("/proc/kpageflags", O_RDONLY);
	int n = 0;

	assert_true(m != MAP_FAILED);
	for (size_t off = 0; off < len && n >= 0; off += (size_t)ps) {
		uint64_t ent = 0, flags = 0, pfn;

		(void)m[off]; /* mapped now */
		if (pm < 0 || kf < 0 ||
		    pread(pm, &ent, 8, (off_t)((uintptr_t)(m + off) / (uintptr_t)ps * 8)) != 8 ||
		    (pfn = ent & ((1ull << 55) - 1)) == 0 ||
		    pread(kf, &flags, 8, (off_t)(pfn * 8)) != 8) {
			n = -1;
			break;
		}
		n += !(flags & (1ull << 16)); /* not a tail page (KPF_COMPOUND_TAIL) */
	}
	munmap((void *)m, len);
	if (thp_off)
		(void)prctl(PR_SET_THP_DISABLE, 0, 0, 0, 0);
	if (pm >= 0)
		close(pm);
	if (kf >= 0)
		close(kf);
	return n;
}

/* Writes `len` bytes into d's backing file as the kernel does for a bound
 * writer, and grows it. */
static void kernel_write(struct kvfs_data *d, const char *buf, size_t len)
{
	assert_int_equal(pwrite(d->fd, buf, len, 0), (ssize_t)len);
}

/* A huge-page tier remembers what it freed in 1 MiB pages (a file of 1 to
 * 2 MiB has one, a preallocation's pieces are such), and its next
 * allocations (a bound writer's preallocation, the daemon's own) take that
 * much in 1 MiB pages, the rest in huge pages. */
static void test_prealloc_pieces(void **state)
{
	struct kvfs_mem mem;
	struct kvfs_data a, b, c, e;
	char *buf = malloc(8 * MiB);
	int whole;

	(void)state;
	assert_non_null(buf);
	if (!open_tier(&mem, 64 * MiB, 0) || !mem.huge) {
		kvfs_mem_close(&mem);
		free(buf);
		skip(); /* needs its own huge-page tmpfs */
	}
	fill(buf, 8 * MiB, 3);
	assert_int_equal(atomic_load(&mem.frag), 0);
	/* Freed: a 1 MiB file (one 1 MiB page), a 3 MiB one (a huge page and
	 * a 1 MiB one), a demoted 1.5 MiB one; not an 8 MiB one. */
	kvfs_data_init(&a, 1);
	kvfs_data_init(&b, 2);
	kvfs_data_init(&c, 3);
	kvfs_data_init(&e, 4);
	assert_int_equal(kvfs_data_write(&a, &mem, 0, buf, MiB), (ssize_t)MiB);
	assert_int_equal(kvfs_data_write(&b, &mem, 0, buf, 3 * MiB), (ssize_t)(3 * MiB));
	assert_int_equal(kvfs_data_write(&c, &mem, 0, buf, 8 * MiB), (ssize_t)(8 * MiB));
	assert_int_equal(kvfs_data_write(&e, &mem, 0, buf, 3 * MiB / 2), (ssize_t)(3 * MiB / 2));
	assert_int_equal(atomic_load(&mem.frag), 0);
	kvfs_data_release(&a, &mem);
	assert_int_equal(atomic_load(&mem.frag), MiB);
	kvfs_data_release(&b, &mem);
	kvfs_data_release(&c, &mem);
	assert_int_equal(atomic_load(&mem.frag), 2 * MiB);
	assert_int_equal(kvfs_data_drop_tail(&e, &mem, 4096, 3 * MiB / 2), 0);
	assert_int_equal(atomic_load(&mem.frag), 3 * MiB);
	kvfs_data_release(&e, &mem); /* its head's small page: nothing more */
	assert_int_equal(atomic_load(&mem.frag), 3 * MiB);

	/* A writer of 8 MiB takes the 3 MiB in pieces, the rest whole. */
	kvfs_data_init(&b, 5);
	assert_true(kvfs_data_fd(&b, &mem, 0) >= 0);
	kvfs_data_prealloc(&b, &mem, 8 * MiB);
	assert_int_equal(b.pieces, 3 * MiB);
	assert_int_equal(atomic_load(&mem.frag), 0);
	assert_int_equal(kvfs_data_allocated(&b), 8 * MiB);
	assert_int_equal(b.pre_end, 8 * MiB);
	/* One with nothing to take is all huge pages. */
	kvfs_data_init(&c, 6);
	assert_true(kvfs_data_fd(&c, &mem, 0) >= 0);
	kvfs_data_prealloc(&c, &mem, 8 * MiB);
	assert_int_equal(c.pieces, 0);
	kernel_write(&b, buf, 8 * MiB);
	kernel_write(&c, buf, 8 * MiB);
	/* The pages: c's huge ones at 0, 2, 4 and 6 MiB where the kernel
	 * had huge pages free; then b's first 3 MiB are three pages of
	 * 1 MiB (one allocation would have made them a huge page and one). */
	whole = folios(c.fd, 8 * MiB);
	if (whole != 4) {
		print_message("%s: page sizes unchecked\n", whole < 0 ?
			      "pagemap or kpageflags unreadable" : "no huge pages free");
	} else {
		assert_int_equal(folios(b.fd, 3 * MiB), 3);
		assert_int_equal(folios(b.fd, 8 * MiB), 6);
	}
	kvfs_data_trim(&b, &mem);
	kvfs_data_trim(&c, &mem);
	expect(&b, 0, buf, 8 * MiB);
	/* Freed, b gives its pieces back; c (all huge pages) nothing. */
	kvfs_data_release(&b, &mem);
	kvfs_data_release(&c, &mem);
	assert_int_equal(atomic_load(&mem.frag), 3 * MiB);

	/* A writer that leaves less than it was given keeps the pieces its
	 * bytes fill; the one its end splits is no longer one. */
	kvfs_data_init(&b, 7);
	assert_true(kvfs_data_fd(&b, &mem, 0) >= 0);
	kvfs_data_prealloc(&b, &mem, 8 * MiB);
	assert_int_equal(b.pieces, 3 * MiB);
	assert_int_equal(atomic_load(&mem.frag), 0);
	kernel_write(&b, buf, 3 * MiB / 2);
	kvfs_data_trim(&b, &mem);
	assert_int_equal(b.pieces, MiB);
	assert_int_equal(kvfs_data_allocated(&b), 3 * MiB / 2);
	expect(&b, 0, buf, 3 * MiB / 2);
	kvfs_data_release(&b, &mem);
	assert_int_equal(atomic_load(&mem.frag), MiB);
	/* The daemon's own allocations (a promotion) take them too: whole
	 * pieces inside the range only. */
	kvfs_data_init(&c, 8);
	assert_int_equal(kvfs_data_alloc(&c, &mem, 4096, 3 * MiB - 4096, 3 * MiB), 0);
	assert_int_equal(c.pieces, MiB);
	assert_int_equal(atomic_load(&mem.frag), 0);
	assert_true(kvfs_data_allocated(&c) >= 3 * MiB - 4096);
	kvfs_data_release(&c, &mem);
	assert_int_equal(atomic_load(&mem.frag), MiB);
	assert_int_equal(kvfs_mem_freed_small(&mem), MiB);
	/* The count lapses 2 s after the last free: such pages may have
	 * merged into free huge ones by then. */
	usleep(2100 * 1000);
	assert_int_equal(kvfs_mem_freed_small(&mem), 0);
	kvfs_data_init(&c, 9);
	assert_true(kvfs_data_fd(&c, &mem, 0) >= 0);
	kvfs_data_prealloc(&c, &mem, 8 * MiB);
	assert_int_equal(c.pieces, 0);
	assert_int_equal(atomic_load(&mem.frag), 0);
	kvfs_data_release(&c, &mem);
	kvfs_mem_close(&mem);
	free(buf);
}

/* Waits (10 s at most) until the warm reserve holds `bytes`. */
static int reserve_holds(struct kvfs_mem *mem, uint64_t bytes)
{
	for (int i = 0; i < 1000; i++) {
		if (atomic_load(&mem->warm_held) >= bytes)
			return 1;
		usleep(10 * 1000);
	}
	return 0;
}

/* A bound writer that keeps growing is fed pages past its end from the
 * warm reserve; one written in one call is not; kvfs_data_trim gives back
 * what is past EOF and stops the feeding; the bytes and the mtime are the
 * writer's. */
static void test_feed_growing_writer(void **state)
{
	pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
	const uint64_t len = 48 * MiB, step = 2 * MiB;
	struct kvfs_mem mem;
	struct kvfs_data d, e;
	char *buf = malloc(len);
	uint64_t fed, ahead = 0;
	struct stat st;
	struct timespec mt;

	(void)state;
	assert_non_null(buf);
	if (!open_tier(&mem, 128 * MiB, KVFS_MEM_WARM) || !mem.feed_running) {
		kvfs_mem_close(&mem);
		free(buf);
		skip(); /* needs its own tmpfs and the reserve's threads */
	}
	assert_true(reserve_holds(&mem, 128 * MiB));
	fill(buf, len, 5);
	kvfs_data_init(&d, 1);
	assert_true(kvfs_data_fd(&d, &mem, 0) >= 0);
	pthread_rwlock_wrlock(&lock);
	kvfs_data_feed(&d, &mem, &lock);
	kvfs_data_feed(&d, &mem, &lock); /* fed once */
	assert_ptr_equal(mem.feed_head, &d);
	assert_null(d.feed_next);
	pthread_rwlock_unlock(&lock);
	/* The kernel's writes for a writer that grows by 2 MiB every 3 ms. */
	for (uint64_t off = 0; off < len; off += step) {
		uint64_t held;

		assert_int_equal(pwrite(d.fd, buf + off, step, (off_t)off), (ssize_t)step);
		usleep(3000);
		pthread_rwlock_rdlock(&lock);
		held = kvfs_data_allocated(&d);
		pthread_rwlock_unlock(&lock);
		if (held > off + step && held - (off + step) > ahead)
			ahead = held - (off + step);
	}
	assert_int_equal(fstat(d.fd, &st), 0);
	mt = st.st_mtim;
	fed = atomic_load(&mem.fed);
	assert_true(fed >= 4 * MiB);
	assert_true(ahead >= 4 * MiB); /* pages past EOF before the writes came */
	assert_true(atomic_load(&mem.lent) >= fed);
	usleep(50 * 1000); /* the feeder's next looks: the file no longer grows */
	pthread_rwlock_wrlock(&lock);
	/* A new writer of a fed file (one that truncated it while the old
	 * one still held it) is watched afresh. */
	kvfs_data_feed(&d, &mem, &lock);
	assert_ptr_equal(mem.feed_head, &d);
	assert_int_equal(d.feed_grew, 0);
	assert_int_equal(d.feed_seen, 0);
	kvfs_data_trim(&d, &mem);
	assert_null(d.feed_lock);
	assert_null(mem.feed_head);
	pthread_rwlock_unlock(&lock);
	assert_int_equal(kvfs_data_allocated(&d), len);
	assert_int_equal(d.bytes, len);
	expect(&d, 0, buf, len);
	assert_int_equal(fstat(d.fd, &st), 0);
	assert_int_equal(st.st_size, len);
	assert_int_equal(st.st_mtim.tv_sec, mt.tv_sec); /* the feeder's and the */
	assert_int_equal(st.st_mtim.tv_nsec, mt.tv_nsec); /* trim's left it alone */

	/* A cut frees the pages past the new size, preallocated ones too:
	 * nothing is left past EOF; a growth keeps them. */
	{
		struct kvfs_data f;
		uint64_t lent;

		kvfs_data_init(&f, 3);
		assert_true(kvfs_data_fd(&f, &mem, 0) >= 0);
		/* The preallocation lends the reserve what it allocates,
		 * a unit before each unit's allocation. */
		assert_true(reserve_holds(&mem, 8 * MiB));
		lent = atomic_load(&mem.lent);
		kvfs_data_prealloc(&f, &mem, 8 * MiB);
		assert_int_equal(atomic_load(&mem.lent) - lent, 8 * MiB);
		assert_int_equal(f.pre_end, 8 * MiB);
		assert_int_equal(kvfs_data_truncate(&f, &mem, 4 * MiB), 0);
		assert_int_equal(f.pre_end, 8 * MiB);
		assert_int_equal(kvfs_data_allocated(&f), 8 * MiB);
		assert_int_equal(kvfs_data_truncate(&f, &mem, MiB), 0);
		assert_int_equal(f.pre_end, 0);
		assert_true(kvfs_data_allocated(&f) <= MiB);
		kvfs_data_release(&f, &mem);
	}

	/* Written in one call, however long it takes: not fed.  The count
	 * from here: a feeder that lagged behind d's writes may have fed d
	 * after `fed` was read, until d's trim above stopped it. */
	fed = atomic_load(&mem.fed);
	kvfs_data_init(&e, 2);
	assert_true(kvfs_data_fd(&e, &mem, 0) >= 0);
	pthread_rwlock_wrlock(&lock);
	kvfs_data_feed(&e, &mem, &lock);
	pthread_rwlock_unlock(&lock);
	assert_int_equal(pwrite(e.fd, buf, len, 0), (ssize_t)len);
	usleep(50 * 1000);
	assert_int_equal(atomic_load(&mem.fed), fed);
	assert_int_equal(kvfs_data_allocated(&e), len);
	/* Released while fed: the feeder lets it go. */
	pthread_rwlock_wrlock(&lock);
	kvfs_data_release(&e, &mem);
	assert_null(mem.feed_head);
	pthread_rwlock_unlock(&lock);
	kvfs_data_release(&d, &mem);
	kvfs_mem_close(&mem);
	pthread_rwlock_destroy(&lock);
	free(buf);
}

/* A full tier: a write that does not fit fails whole, nothing changes. */
static void test_full_all_or_nothing(void **state)
{
	struct kvfs_mem mem;
	struct kvfs_data a, b;
	char *buf = malloc(8 * MiB), *want = malloc(8 * MiB);
	struct stat st;

	(void)state;
	if (!open_tier(&mem, 8 * MiB, 0)) {
		kvfs_mem_close(&mem);
		free(buf);
		free(want);
		skip(); /* needs its own tmpfs to be full at 8 MiB */
	}
	kvfs_data_init(&a, 1);
	kvfs_data_init(&b, 2);
	fill(want, 6 * MiB, 1);
	assert_int_equal(kvfs_data_write(&a, &mem, 0, want, 6 * MiB), (ssize_t)(6 * MiB));
	fill(buf, 4 * MiB, 2);
	assert_int_equal(kvfs_data_write(&b, &mem, 0, buf, 4 * MiB), -ENOSPC);
	assert_int_equal(fstat(b.fd, &st), 0);
	assert_int_equal(st.st_size, 0);      /* nothing written */
	assert_int_equal(st.st_blocks, 0);
	/* an overwrite inside a's allocated pages always fits */
	fill(want + MiB, MiB, 5);
	assert_int_equal(kvfs_data_write(&a, &mem, MiB, want + MiB, MiB), (ssize_t)MiB);
	expect(&a, 0, want, 6 * MiB);
	assert_true(kvfs_mem_free(&mem) < 2 * MiB + 4096);
	kvfs_data_release(&a, &mem);
	assert_true(kvfs_mem_free(&mem) >= 6 * MiB);
	assert_int_equal(kvfs_data_write(&b, &mem, 0, buf, 4 * MiB), (ssize_t)(4 * MiB));
	kvfs_data_release(&b, &mem);
	kvfs_mem_close(&mem);
	free(buf);
	free(want);
}

/*
 * The daemon's allocation of a range that had no memory (a promotion) is
 * all or nothing even when it starts with 1 MiB pieces: the tmpfs filling
 * between the room check and the allocation (a passthrough writer, which
 * kvfs does not see) makes the allocation after the pieces fail, and the
 * pieces go back too.  The tmpfs is left 2 MiB of room; mem= is raised past
 * it so the room check passes, as it does before such a writer.
 */
static void test_alloc_pieces_undone(void **state)
{
	struct kvfs_mem mem;
	struct kvfs_data a, c, z;
	char *buf = malloc(MiB);
	struct statvfs sv;
	uint64_t room, size;

	(void)state;
	assert_non_null(buf);
	if (!open_tier(&mem, 16 * MiB, 0) || !mem.huge) {
		kvfs_mem_close(&mem);
		free(buf);
		skip(); /* needs its own huge-page tmpfs */
	}
	fill(buf, MiB, 9);
	kvfs_data_init(&a, 1);
	assert_int_equal(kvfs_data_write(&a, &mem, 0, buf, MiB), (ssize_t)MiB);
	kvfs_data_release(&a, &mem); /* one 1 MiB page freed */
	assert_int_equal(atomic_load(&mem.frag), MiB);
	kvfs_data_init(&z, 2);
	assert_true(kvfs_data_fd(&z, &mem, 0) >= 0);
	assert_int_equal(fstatvfs(mem.dirfd, &sv), 0);
	room = (uint64_t)sv.f_bavail * sv.f_frsize;
	assert_true(room > 8 * MiB);
	assert_int_equal(fallocate(z.fd, 0, 0, (off_t)(room - 2 * MiB)), 0);
	size = mem.size;
	mem.size = 1ull << 40;
	kvfs_data_init(&c, 3);
	assert_int_equal(kvfs_data_alloc(&c, &mem, 0, 8 * MiB, 8 * MiB), -ENOSPC);
	assert_int_equal(kvfs_data_allocated(&c), 0); /* the piece went back */
	assert_int_equal(c.pieces, 0);
	assert_int_equal(atomic_load(&mem.frag), MiB);
	/* Where the range had memory, what it had stays. */
	assert_int_equal(kvfs_data_write(&c, &mem, 0, buf, MiB), (ssize_t)MiB);
	assert_int_equal(kvfs_data_alloc(&c, &mem, 0, 8 * MiB, 8 * MiB), -ENOSPC);
	expect(&c, 0, buf, MiB);
	mem.size = size;
	kvfs_data_release(&c, &mem);
	kvfs_data_release(&z, &mem);
	kvfs_mem_close(&mem);
	free(buf);
}

/* The fallback directory counts mem= itself. */
static void test_fallback_counts(void **state)
{
	struct kvfs_mem mem;
	struct kvfs_data d;
	char *buf = malloc(4 * MiB);

	(void)state;
	assert_int_equal(open_tier(&mem, 3 * MiB, KVFS_MEM_NOMOUNT), 0);
	assert_string_equal(kvfs_mem_where(&mem), KVFS_MEM_FALLBACK_DIR);
	kvfs_data_init(&d, 1);
	fill(buf, 4 * MiB, 4);
	assert_int_equal(kvfs_data_write(&d, &mem, 0, buf, 4 * MiB), -ENOSPC);
	assert_int_equal(kvfs_data_write(&d, &mem, 0, buf, 2 * MiB), (ssize_t)(2 * MiB));
	assert_int_equal(kvfs_mem_used(&mem), d.bytes);
	assert_true(kvfs_mem_free(&mem) <= MiB);
	expect(&d, 0, buf, 2 * MiB);
	kvfs_data_release(&d, &mem);
	assert_int_equal(kvfs_mem_used(&mem), 0);
	kvfs_mem_close(&mem);
	free(buf);
}

/* The lend hint is the largest of the last KVFS_LEND_WINDOW writers'
 * sizes: a 256 MiB file is lent to 7 small writers after it, not to the
 * 40 a hint decaying by 1/8 a writer kept it for; never under 64 KiB. */
static void test_lend_hint_window(void **state)
{
	struct kvfs_mem mem;

	(void)state;
	assert_int_equal(open_tier(&mem, 64 * MiB, KVFS_MEM_NOMOUNT), 0);
	assert_int_equal(kvfs_mem_lend_hint(&mem), 8 * MiB); /* before any */
	kvfs_mem_note_written(&mem, 256 * MiB);
	assert_int_equal(kvfs_mem_lend_hint(&mem), 256 * MiB);
	for (int i = 1; i < KVFS_LEND_WINDOW; i++) {
		kvfs_mem_note_written(&mem, 96 << 10);
		assert_int_equal(kvfs_mem_lend_hint(&mem), 256 * MiB);
	}
	kvfs_mem_note_written(&mem, 96 << 10);
	assert_int_equal(kvfs_mem_lend_hint(&mem), 96 << 10);
	kvfs_mem_note_written(&mem, 3 * MiB);
	for (int i = 1; i < KVFS_LEND_WINDOW; i++)
		kvfs_mem_note_written(&mem, 4096);
	assert_int_equal(kvfs_mem_lend_hint(&mem), 3 * MiB);
	kvfs_mem_note_written(&mem, 4096);
	assert_int_equal(kvfs_mem_lend_hint(&mem), 64 << 10); /* the floor */
	kvfs_mem_close(&mem);
}

/* Views give addresses of the file's pages; walks tell holes from data. */
static void test_view_walk(void **state)
{
	struct kvfs_mem mem;
	struct kvfs_data d;
	struct kvfs_data_view v;
	struct kvfs_data_walk w;
	char *want = calloc(1, 6 * MiB), *p;
	uint64_t seg, pos = 0, data = 0;

	(void)state;
	open_tier(&mem, 64 * MiB, KVFS_MEM_NOHUGE);
	kvfs_data_init(&d, 1);
	assert_int_equal(kvfs_data_view_open(&d, 0, 4096, 0, &v), -ENODATA);
	fill(want, MiB, 1);
	fill(want + 4 * MiB, MiB, 2);
	assert_int_equal(kvfs_data_write(&d, &mem, 0, want, MiB), (ssize_t)MiB);
	assert_int_equal(kvfs_data_write(&d, &mem, 4 * MiB, want + 4 * MiB, MiB), (ssize_t)MiB);
	assert_int_equal(kvfs_data_view_open(&d, 0, 5 * MiB, 0, &v), 0);
	kvfs_data_walk_init(&w, &d, &v, 0, 5 * MiB);
	while (kvfs_data_walk_next(&w, &p, &seg)) {
		if (p != KVFS_DATA_HOLE) {
			assert_memory_equal(p, want + pos, seg);
			data += seg;
		} else {
			assert_true(pos >= MiB && pos + seg <= 4 * MiB);
		}
		pos += seg;
	}
	assert_int_equal(pos, 5 * MiB);
	assert_int_equal(data, 2 * MiB);
	kvfs_data_view_close(&v);
	/* a writable view allocates, and what is stored through it is read */
	assert_int_equal(kvfs_data_view_open(&d, 2 * MiB, MiB, 1, &v), 0);
	fill(v.base, MiB, 3);
	fill(want + 2 * MiB, MiB, 3);
	kvfs_data_view_close(&v);
	expect(&d, 0, want, 5 * MiB);
	kvfs_data_release(&d, &mem);
	kvfs_mem_close(&mem);
	free(want);
}

static int claim_7(void *arg, uint64_t id)
{
	(void)arg;
	return id == 7;
}

/* A named tier in a directory: the tmpfs outlives its first opener, a clean
 * exit's mark lets the next open adopt a file whose size and CRC match,
 * nothing else; the mark is gone once adopted; the sweep removes the rest. */
static char keep_dir[] = "/tmp/kvfs-backing.XXXXXX";

/* A failed check leaves test_keep_adopt at once: its kept tmpfs goes. */
static int keep_teardown(void **state)
{
	char keep[64];

	(void)state;
	snprintf(keep, sizeof(keep), "%s/mem", keep_dir);
	(void)umount2(keep, MNT_DETACH);
	rmdir(keep);
	rmdir(keep_dir);
	return 0;
}

static void test_keep_adopt(void **state)
{
	char *dir = keep_dir, keep[64], *buf = malloc(3 * MiB);
	struct kvfs_mem mem;
	struct kvfs_data d, e, f;
	uint32_t crc;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(keep, sizeof(keep), "%s/mem", dir);
	assert_int_equal(kvfs_mem_open(&mem, 64 * MiB, 0, keep), 0);
	if (!mem.named) {
		kvfs_mem_close(&mem);
		rmdir(dir);
		free(buf);
		skip(); /* not root: no tmpfs to keep */
	}
	fill(buf, 3 * MiB, 11);
	crc = kvfs_crc32c(0, buf, 3 * MiB);
	kvfs_data_init(&d, 7);
	kvfs_data_init(&e, 8);
	assert_int_equal(kvfs_data_write(&d, &mem, 0, buf, 3 * MiB), (ssize_t)(3 * MiB));
	assert_int_equal(kvfs_data_write(&e, &mem, 0, buf, MiB), (ssize_t)MiB);
	assert_int_equal(kvfs_data_keep(&d, &mem, 3 * MiB + 1, crc), -EINVAL); /* size */
	assert_int_equal(kvfs_data_keep(&d, &mem, 3 * MiB, crc), 0);
	kvfs_data_release(&d, &mem);  /* kept: stays */
	kvfs_data_release(&e, &mem);  /* not kept: removed */
	kvfs_mem_close(&mem);

	/* "Restart": the same directory, the tmpfs found there. */
	assert_int_equal(kvfs_mem_open(&mem, 64 * MiB, 0, keep), 0);
	assert_true(mem.named);
	kvfs_data_init(&f, 7);
	assert_int_equal(kvfs_data_adopt(&f, &mem, 3 * MiB, crc ^ 1), 0); /* row differs */
	kvfs_data_init(&d, 7);
	assert_int_equal(kvfs_data_adopt(&d, &mem, 3 * MiB, crc), 0); /* removed above */
	kvfs_mem_close(&mem);

	assert_int_equal(kvfs_mem_open(&mem, 64 * MiB, 0, keep), 0);
	kvfs_data_init(&d, 7);
	assert_int_equal(kvfs_data_write(&d, &mem, 0, buf, 3 * MiB), (ssize_t)(3 * MiB));
	assert_int_equal(kvfs_data_keep(&d, &mem, 3 * MiB, crc), 0);
	kvfs_data_release(&d, &mem);
	kvfs_data_init(&e, 9);
	assert_int_equal(kvfs_data_write(&e, &mem, 0, buf, MiB), (ssize_t)MiB);
	assert_int_equal(kvfs_data_keep(&e, &mem, MiB, kvfs_crc32c(0, buf, MiB)), 0);
	kvfs_data_release(&e, &mem);
	kvfs_mem_close(&mem);
	assert_int_equal(kvfs_mem_open(&mem, 64 * MiB, 0, keep), 0);
	kvfs_data_init(&d, 7);
	assert_int_equal(kvfs_data_adopt(&d, &mem, 3 * MiB, crc), 1);
	expect(&d, 0, buf, 3 * MiB);
	assert_true(d.bytes >= 3 * MiB);
	assert_int_equal(kvfs_mem_sweep(&mem, claim_7, NULL), 1); /* file 9 */
	kvfs_data_release(&d, &mem);  /* not kept again: removed */
	kvfs_mem_close(&mem);
	/* The mark went at adoption: a crash now could not adopt it. */
	assert_int_equal(kvfs_mem_open(&mem, 64 * MiB, 0, keep), 0);
	kvfs_data_init(&d, 7);
	assert_int_equal(kvfs_data_adopt(&d, &mem, 3 * MiB, crc), 0);
	kvfs_mem_close(&mem);
	assert_int_equal(umount(keep), 0);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_read_truncate),
		cmocka_unit_test(test_punch_seek_crc),
		cmocka_unit_test(test_drop_tail),
		cmocka_unit_test(test_prealloc_pieces),
		cmocka_unit_test(test_feed_growing_writer),
		cmocka_unit_test(test_full_all_or_nothing),
		cmocka_unit_test(test_alloc_pieces_undone),
		cmocka_unit_test(test_fallback_counts),
		cmocka_unit_test(test_lend_hint_window),
		cmocka_unit_test(test_view_walk),
		cmocka_unit_test_teardown(test_keep_adopt, keep_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
