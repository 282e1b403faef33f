/*
 * test_tbuf.c - per-thread buffers (fs/tbuf.c): kept between calls, grown
 * on demand, separate per thread, and freed when the thread exits (a
 * leak of 1 MiB per exited FUSE worker before they were).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <malloc.h>
#include <pthread.h>
#include <string.h>

#include "tbuf.h"

#define MiB (1u << 20)

static struct kvfs_tbuf tb = KVFS_TBUF_INIT;

static void test_kept_and_grown(void **state)
{
	char *a, *b, *c;

	(void)state;
	a = kvfs_tbuf_get(&tb, 4096);
	assert_non_null(a);
	memset(a, 7, 4096);
	b = kvfs_tbuf_get(&tb, 100);
	assert_ptr_equal(a, b); /* large enough: the same one */
	c = kvfs_tbuf_get(&tb, 2 * MiB);
	assert_non_null(c);
	memset(c, 1, 2 * MiB); /* all of it is the caller's */
	assert_ptr_equal(kvfs_tbuf_get(&tb, MiB), c);
}

static void *take_one(void *arg)
{
	char *p = kvfs_tbuf_get(&tb, MiB);

	if (p)
		memset(p, 3, MiB);
	*(char **)arg = p;
	return NULL;
}

/* Another thread has a buffer of its own; 32 threads that each took 1 MiB
 * and exited leave nothing allocated behind them. */
static void test_freed_at_exit(void **state)
{
	char *mine = kvfs_tbuf_get(&tb, MiB), *theirs[32];
	pthread_t t[32];
	size_t before, after;
	struct mallinfo2 mi;

	(void)state;
	assert_non_null(mine);
	mi = mallinfo2();
	before = mi.uordblks + mi.hblkhd;
	for (int i = 0; i < 32; i++)
		assert_int_equal(pthread_create(&t[i], NULL, take_one, &theirs[i]), 0);
	for (int i = 0; i < 32; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_non_null(theirs[i]);
		assert_true(theirs[i] != mine);
	}
	mi = mallinfo2();
	after = mi.uordblks + mi.hblkhd;
	assert_true(after < before + 4 * MiB); /* 32 MiB if they were kept */
	assert_ptr_equal(kvfs_tbuf_get(&tb, MiB), mine);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kept_and_grown),
		cmocka_unit_test(test_freed_at_exit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
