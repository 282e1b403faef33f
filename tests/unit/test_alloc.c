/*
 * test_alloc.c - unit tests of the bitmap extent allocator (fs/alloc.c).
 *
 * Every test checks outcomes: the runs returned, the free count, and the
 * bitmap itself against a reference array of bools kept by the test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "log.h"

static int t_bit(const struct kvfs_alloc *a, uint64_t u)
{
	return (int)(a->bits[u / 64] >> (u % 64) & 1);
}

static void test_init_take_give(void **state)
{
	struct kvfs_alloc a;
	struct kvfs_run runs[4];
	int nruns;

	(void)state;
	assert_int_equal(kvfs_alloc_init(&a, 1000), 0);
	assert_int_equal(kvfs_alloc_free_units(&a), 1000);
	assert_int_equal(kvfs_alloc_check(&a), 0);
	assert_int_equal(kvfs_alloc_take(&a, 10, UINT64_MAX, runs, 4, &nruns), 10);
	assert_int_equal(nruns, 1);
	assert_int_equal(runs[0].start, 0);
	assert_int_equal(runs[0].len, 10);
	assert_int_equal(kvfs_alloc_free_units(&a), 990);
	assert_int_equal(kvfs_alloc_take(&a, 0, UINT64_MAX, runs, 4, &nruns), -EINVAL);
	assert_int_equal(kvfs_alloc_take(&a, 1, UINT64_MAX, runs, 0, &nruns), -EINVAL);
	assert_int_equal(kvfs_alloc_give(&a, 0, 10), 0);
	assert_int_equal(kvfs_alloc_free_units(&a), 1000);
	assert_int_equal(kvfs_alloc_check(&a), 0);
	kvfs_alloc_release(&a);
	kvfs_alloc_release(&a); /* safe twice */
}

static void test_fragmentation(void **state)
{
	struct kvfs_alloc a;
	struct kvfs_run runs[200];
	uint64_t u;
	int nruns, i;

	(void)state;
	assert_int_equal(kvfs_alloc_init(&a, 256), 0);
	assert_int_equal(kvfs_alloc_take_at(&a, 0, 256), 0);
	for (u = 0; u < 256; u += 2)
		assert_int_equal(kvfs_alloc_give(&a, u, 1), 0);
	assert_int_equal(kvfs_alloc_free_units(&a), 128);
	/* 100 units exist only as 100 one-unit runs. */
	assert_int_equal(kvfs_alloc_take(&a, 100, UINT64_MAX, runs, 200, &nruns), 100);
	assert_int_equal(nruns, 100);
	for (i = 0; i < nruns; i++) {
		assert_int_equal(runs[i].len, 1);
		assert_int_equal(runs[i].start % 2, 0);
		assert_int_equal(t_bit(&a, runs[i].start), 1);
	}
	/* max_runs caps the answer: 28 left as singles, 5 runs allowed. */
	assert_int_equal(kvfs_alloc_take(&a, 28, UINT64_MAX, runs, 5, &nruns), 5);
	assert_int_equal(nruns, 5);
	assert_int_equal(kvfs_alloc_free_units(&a), 23);
	assert_int_equal(kvfs_alloc_check(&a), 0);
	kvfs_alloc_release(&a);
}

static void test_exhaustion(void **state)
{
	struct kvfs_alloc a;
	struct kvfs_run runs[4];
	int nruns;

	(void)state;
	assert_int_equal(kvfs_alloc_init(&a, 130), 0); /* not a multiple of 64 */
	assert_int_equal(kvfs_alloc_take(&a, 1000, UINT64_MAX, runs, 4, &nruns), 130);
	assert_int_equal(nruns, 1);
	assert_int_equal(runs[0].len, 130);
	assert_int_equal(kvfs_alloc_take(&a, 1, UINT64_MAX, runs, 4, &nruns), -ENOSPC);
	assert_int_equal(nruns, 0);
	assert_int_equal(kvfs_alloc_take(&a, 1, 5, runs, 4, &nruns), -ENOSPC);
	assert_int_equal(kvfs_alloc_free_units(&a), 0);
	assert_int_equal(kvfs_alloc_check(&a), 0);
	/* Give back a run in the middle; a big request gets just that. */
	assert_int_equal(kvfs_alloc_give(&a, 64, 3), 0);
	assert_int_equal(kvfs_alloc_take(&a, 50, UINT64_MAX, runs, 4, &nruns), 3);
	assert_int_equal(nruns, 1);
	assert_int_equal(runs[0].start, 64);
	assert_int_equal(kvfs_alloc_check(&a), 0);
	kvfs_alloc_release(&a);
}

static void test_double_free(void **state)
{
	struct kvfs_alloc a;
	uint64_t before[2];

	(void)state;
	assert_int_equal(kvfs_alloc_init(&a, 128), 0);
	assert_int_equal(kvfs_alloc_take_at(&a, 0, 4), 0);
	memcpy(before, a.bits, sizeof(before));
	/* [2, 6): units 4 and 5 are free, so the whole give is refused. */
	assert_int_equal(kvfs_alloc_give(&a, 2, 4), -EINVAL);
	assert_memory_equal(before, a.bits, sizeof(before));
	assert_int_equal(kvfs_alloc_free_units(&a), 124);
	assert_int_equal(kvfs_alloc_give(&a, 0, 4), 0);
	assert_int_equal(kvfs_alloc_give(&a, 0, 4), -EINVAL);
	assert_int_equal(kvfs_alloc_give(&a, 1, 1), -EINVAL);
	assert_int_equal(kvfs_alloc_free_units(&a), 128);
	/* Out of range and empty gives. */
	assert_int_equal(kvfs_alloc_give(&a, 127, 2), -EINVAL);
	assert_int_equal(kvfs_alloc_give(&a, UINT64_MAX, 2), -EINVAL);
	assert_int_equal(kvfs_alloc_give(&a, 0, 0), -EINVAL);
	assert_int_equal(kvfs_alloc_check(&a), 0);
	kvfs_alloc_release(&a);
}

static void test_near(void **state)
{
	struct kvfs_alloc a;
	struct kvfs_run runs[4];
	int nruns;

	(void)state;
	assert_int_equal(kvfs_alloc_init(&a, 1024), 0);
	assert_int_equal(kvfs_alloc_take(&a, 10, UINT64_MAX, runs, 4, &nruns), 10);
	assert_int_equal(kvfs_alloc_take(&a, 10, UINT64_MAX, runs, 4, &nruns), 10);
	assert_int_equal(runs[0].start, 10);
	/* near = 20 grows the second run in place. */
	assert_int_equal(kvfs_alloc_take(&a, 5, 20, runs, 4, &nruns), 5);
	assert_int_equal(nruns, 1);
	assert_int_equal(runs[0].start, 20);
	/* near on a freed unit below the hint wins over next fit. */
	assert_int_equal(kvfs_alloc_give(&a, 0, 10), 0);
	assert_int_equal(kvfs_alloc_take(&a, 4, 3, runs, 4, &nruns), 4);
	assert_int_equal(runs[0].start, 3);
	/* near's run is short (3..7 used now, 7..10 free): the rest elsewhere. */
	assert_int_equal(kvfs_alloc_take(&a, 8, 7, runs, 4, &nruns), 8);
	assert_int_equal(nruns, 2);
	assert_int_equal(runs[0].start, 7);
	assert_int_equal(runs[0].len, 3);
	assert_int_equal(runs[1].len, 5);
	/* near in use, or out of range: plain next fit. */
	assert_int_equal(kvfs_alloc_take(&a, 2, 3, runs, 4, &nruns), 2);
	assert_true(runs[0].start >= 25);
	assert_int_equal(kvfs_alloc_take(&a, 2, 5000, runs, 4, &nruns), 2);
	assert_int_equal(kvfs_alloc_check(&a), 0);
	kvfs_alloc_release(&a);
}

static void test_take_at(void **state)
{
	struct kvfs_alloc a;

	(void)state;
	assert_int_equal(kvfs_alloc_init(&a, 200), 0);
	assert_int_equal(kvfs_alloc_take_at(&a, 60, 10), 0);
	assert_int_equal(kvfs_alloc_take_at(&a, 69, 1), -EBUSY);
	assert_int_equal(kvfs_alloc_take_at(&a, 50, 11), -EBUSY);
	assert_int_equal(kvfs_alloc_free_units(&a), 190);
	assert_int_equal(kvfs_alloc_take_at(&a, 190, 11), -EINVAL);
	assert_int_equal(kvfs_alloc_take_at(&a, UINT64_MAX, 2), -EINVAL);
	assert_int_equal(kvfs_alloc_take_at(&a, 0, 0), -EINVAL);
	assert_int_equal(kvfs_alloc_take_at(&a, 190, 10), 0);
	assert_int_equal(kvfs_alloc_take_at(&a, 0, 60), 0);
	assert_int_equal(kvfs_alloc_free_units(&a), 120);
	assert_int_equal(t_bit(&a, 59), 1);
	assert_int_equal(t_bit(&a, 70), 0);
	assert_int_equal(kvfs_alloc_check(&a), 0);
	kvfs_alloc_release(&a);
}

/* Random operations against a reference bitmap of chars. */
struct t_state {
	struct kvfs_alloc a;
	char *ref;            /* one char per unit, 1 = in use */
	uint64_t nunits, nfree;
	struct t_held {
		uint64_t start, len;
	} *held;              /* runs the test owns */
	int nheld;
};

static void t_op_take(struct t_state *t)
{
	uint64_t near = rand() % 2 ? (uint64_t)rand() % (t->nunits + 10) : UINT64_MAX;
	struct kvfs_run runs[8];
	int64_t got;
	uint64_t u;
	int nruns, i;

	got = kvfs_alloc_take(&t->a, 1 + rand() % 100, near, runs, 1 + rand() % 8, &nruns);
	if (t->nfree == 0) {
		assert_int_equal(got, -ENOSPC);
		return;
	}
	assert_true(got > 0);
	for (i = 0; i < nruns; i++) {
		for (u = runs[i].start; u < runs[i].start + runs[i].len; u++) {
			assert_int_equal(t->ref[u], 0);
			t->ref[u] = 1;
		}
		t->held[t->nheld++] = (struct t_held){ runs[i].start, runs[i].len };
		got -= (int64_t)runs[i].len;
		t->nfree -= runs[i].len;
	}
	assert_int_equal(got, 0);
}

static void t_op_give(struct t_state *t)
{
	int k = rand() % t->nheld;
	struct t_held *h = &t->held[k];
	uint64_t start = h->start, len = h->len;

	/* Sometimes give only a head of the run, keeping the rest. */
	if (len > 1 && rand() % 2)
		len = 1 + rand() % (len - 1);
	assert_int_equal(kvfs_alloc_give(&t->a, start, len), 0);
	memset(t->ref + start, 0, len);
	t->nfree += len;
	h->start += len;
	h->len -= len;
	if (h->len == 0)
		*h = t->held[--t->nheld];
	/* The same give again is a double free (logged: not every time). */
	if (rand() % 64 == 0)
		assert_int_equal(kvfs_alloc_give(&t->a, start, len), -EINVAL);
}

static void t_op_take_at(struct t_state *t)
{
	uint64_t start = rand() % t->nunits, len = 1 + rand() % 20, u;
	int all_free = 1;

	if (len > t->nunits - start)
		len = t->nunits - start;
	for (u = start; u < start + len; u++)
		all_free &= !t->ref[u];
	assert_int_equal(kvfs_alloc_take_at(&t->a, start, len), all_free ? 0 : -EBUSY);
	if (all_free) {
		memset(t->ref + start, 1, len);
		t->held[t->nheld++] = (struct t_held){ start, len };
		t->nfree -= len;
	}
}

static void test_random_vs_reference(void **state)
{
	struct t_state t = { .nunits = 5003, .nfree = 5003 };
	uint64_t u;
	int op, r;

	(void)state;
	t.held = calloc(4100, sizeof(*t.held));
	t.ref = calloc(t.nunits, 1);
	assert_non_null(t.held);
	assert_non_null(t.ref);
	srand(12345);
	assert_int_equal(kvfs_alloc_init(&t.a, t.nunits), 0);
	for (op = 0; op < 20000; op++) {
		r = rand() % 10;
		if (r < 4 && t.nheld < 4000)
			t_op_take(&t);
		else if (r < 8 && t.nheld > 0)
			t_op_give(&t);
		else if (t.nheld < 4000)
			t_op_take_at(&t);
		assert_int_equal(kvfs_alloc_free_units(&t.a), t.nfree);
		if (op % 500 == 0) {
			assert_int_equal(kvfs_alloc_check(&t.a), 0);
			for (u = 0; u < t.nunits; u++)
				assert_int_equal(t_bit(&t.a, u), t.ref[u]);
		}
	}
	assert_int_equal(kvfs_alloc_check(&t.a), 0);
	kvfs_alloc_release(&t.a);
	free(t.held);
	free(t.ref);
}

/* kvfs_alloc_take_run: exact contiguous runs, near first, next fit, wrap. */
static void test_take_run(void **state)
{
	struct kvfs_alloc a;
	uint64_t st = 0;

	(void)state;
	assert_int_equal(kvfs_alloc_init(&a, 300), 0);
	assert_int_equal(kvfs_alloc_take_run(&a, 0, UINT64_MAX, &st), -EINVAL);
	assert_int_equal(kvfs_alloc_take_run(&a, 301, UINT64_MAX, &st), -ENOSPC);
	assert_int_equal(kvfs_alloc_take_run(&a, 10, UINT64_MAX, &st), 0);
	assert_int_equal(st, 0);
	assert_int_equal(kvfs_alloc_take_run(&a, 10, UINT64_MAX, &st), 0);
	assert_int_equal(st, 10);
	/* near free: taken there, even far from the hint. */
	assert_int_equal(kvfs_alloc_take_run(&a, 5, 200, &st), 0);
	assert_int_equal(st, 200);
	/* near busy, or its run too short: next fit from the hint (205). */
	assert_int_equal(kvfs_alloc_take_run(&a, 5, 12, &st), 0);
	assert_int_equal(st, 205);
	assert_int_equal(kvfs_alloc_take_run(&a, 5, 196, &st), 0);
	assert_int_equal(st, 210);
	/* Use [0, 260); then holes of 3 units at 62 and 127 (each across a
	 * word boundary).  A run of 40 is the tail, [260, 300), exactly. */
	assert_int_equal(kvfs_alloc_take_at(&a, 20, 180), 0);
	assert_int_equal(kvfs_alloc_take_at(&a, 215, 45), 0);
	assert_int_equal(kvfs_alloc_give(&a, 62, 3), 0);
	assert_int_equal(kvfs_alloc_give(&a, 127, 3), 0);
	assert_int_equal(kvfs_alloc_take_run(&a, 40, 62, &st), 0);
	assert_int_equal(st, 260);
	/* 6 units free, but no 4 of them in a row. */
	assert_int_equal(kvfs_alloc_take_run(&a, 4, UINT64_MAX, &st), -ENOSPC);
	assert_int_equal(kvfs_alloc_free_units(&a), 6);
	/* The hint is at the end: wrap, and the hole at 62 comes first. */
	assert_int_equal(kvfs_alloc_take_run(&a, 3, UINT64_MAX, &st), 0);
	assert_int_equal(st, 62);
	assert_int_equal(kvfs_alloc_take_run(&a, 3, UINT64_MAX, &st), 0);
	assert_int_equal(st, 127);
	assert_int_equal(kvfs_alloc_take_run(&a, 1, UINT64_MAX, &st), -ENOSPC);
	assert_int_equal(kvfs_alloc_check(&a), 0);
	/* A wrapped run may straddle the hint: free [50, 70), hint at 60. */
	assert_int_equal(kvfs_alloc_give(&a, 50, 20), 0);
	assert_int_equal(kvfs_alloc_take_run(&a, 5, UINT64_MAX, &st), 0);
	assert_int_equal(st, 50);
	assert_int_equal(kvfs_alloc_give(&a, 50, 5), 0);
	assert_int_equal(kvfs_alloc_take_run(&a, 18, UINT64_MAX, &st), 0);
	assert_int_equal(st, 50);
	assert_int_equal(kvfs_alloc_check(&a), 0);
	kvfs_alloc_release(&a);
}

/* 1 if ref has a free run of `len` units anywhere. */
static int t_has_run(const char *ref, uint64_t nunits, uint64_t len)
{
	uint64_t u, n = 0;

	for (u = 0; u < nunits; u++) {
		n = ref[u] ? 0 : n + 1;
		if (n >= len)
			return 1;
	}
	return 0;
}

static void test_take_run_random(void **state)
{
	const uint64_t nunits = 3001;
	struct t_held *held = calloc(4000, sizeof(*held));
	char *ref = calloc(nunits, 1);
	struct kvfs_alloc a;
	uint64_t st, want, near, u, nfree = nunits;
	int op, k, nheld = 0, rc;

	(void)state;
	assert_non_null(held);
	assert_non_null(ref);
	srand(777);
	assert_int_equal(kvfs_alloc_init(&a, nunits), 0);
	for (op = 0; op < 20000; op++) {
		if (rand() % 2 && nheld < 4000) {
			want = 1 + (uint64_t)rand() % (rand() % 8 ? 16 : 300);
			near = rand() % 3 ? (uint64_t)rand() % (nunits + 5) : UINT64_MAX;
			rc = kvfs_alloc_take_run(&a, want, near, &st);
			if (rc == -ENOSPC) {
				assert_false(t_has_run(ref, nunits, want));
				continue;
			}
			assert_int_equal(rc, 0);
			assert_true(st + want <= nunits);
			for (u = st; u < st + want; u++)
				assert_int_equal(ref[u]++, 0);
			held[nheld++] = (struct t_held){ st, want };
			nfree -= want;
		} else if (nheld > 0) {
			k = rand() % nheld;
			assert_int_equal(kvfs_alloc_give(&a, held[k].start, held[k].len), 0);
			memset(ref + held[k].start, 0, held[k].len);
			nfree += held[k].len;
			held[k] = held[--nheld];
		}
		assert_int_equal(kvfs_alloc_free_units(&a), nfree);
	}
	for (u = 0; u < nunits; u++)
		assert_int_equal(t_bit(&a, u), ref[u]);
	assert_int_equal(kvfs_alloc_check(&a), 0);
	kvfs_alloc_release(&a);
	free(held);
	free(ref);
}

/* A 6 GiB tier: 1.5M units, taken in 1 MiB runs, freed, taken again. */
static void test_large(void **state)
{
	const uint64_t nunits = (6ull << 30) / KVFS_ALLOC_UNIT;
	struct kvfs_run runs[4];
	struct kvfs_alloc a;
	uint64_t i;
	int nruns;

	(void)state;
	assert_int_equal(kvfs_alloc_init(&a, nunits), 0);
	for (i = 0; i < nunits / 256; i++) {
		assert_int_equal(kvfs_alloc_take(&a, 256, UINT64_MAX, runs, 4, &nruns), 256);
		assert_int_equal(nruns, 1);
		assert_int_equal(runs[0].start, i * 256);
	}
	assert_int_equal(kvfs_alloc_free_units(&a), 0);
	assert_int_equal(kvfs_alloc_give(&a, nunits - 256, 256), 0);
	assert_int_equal(kvfs_alloc_give(&a, 0, 1), 0);
	/* The only free units are at both ends: the search wraps. */
	assert_int_equal(kvfs_alloc_take(&a, 300, UINT64_MAX, runs, 4, &nruns), 257);
	assert_int_equal(nruns, 2);
	assert_int_equal(kvfs_alloc_check(&a), 0);
	kvfs_alloc_release(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_take_give),
		cmocka_unit_test(test_fragmentation),
		cmocka_unit_test(test_exhaustion),
		cmocka_unit_test(test_double_free),
		cmocka_unit_test(test_near),
		cmocka_unit_test(test_take_at),
		cmocka_unit_test(test_random_vs_reference),
		cmocka_unit_test(test_take_run),
		cmocka_unit_test(test_take_run_random),
		cmocka_unit_test(test_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
