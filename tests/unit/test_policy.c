/*
 * test_policy.c - unit tests of the eviction policy (fs/policy.c): scores
 * under hybrid, LRU and LFU; pinned files dropped; leaf-first chains,
 * siblings, parents in other directories, cycles, pinned parents and
 * children; 200,000 random candidates checked against the rules; parsing
 * of policy names.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

#define SEC  1000000000ll
#define NOW  (1800000000ll * SEC)   /* 2027: absolute times, as the daemon has */

/* A candidate whose obj is its test id, last read `ago` seconds before NOW. */
static struct kvfs_policy_cand t_cand(uintptr_t id, const char *name,
				      const char *parent, int64_t ago,
				      uint64_t hits)
{
	struct kvfs_policy_cand c = {
		.obj = (void *)id, .dir = 1, .name = name, .parent = parent,
		.hits = hits, .last_access_ns = NOW - ago * SEC,
		.mtime_ns = NOW - 100000 * SEC, .bytes = 4096,
	};

	return c;
}

static uintptr_t t_id(const struct kvfs_policy_cand *c)
{
	return (uintptr_t)c->obj;
}

/* Asserts that v[0..n) holds the ids want[0..n) in that order. */
static void t_expect(const struct kvfs_policy_cand *v, const uintptr_t *want,
		     size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (t_id(&v[i]) != want[i]) {
			fprintf(stderr, "position %zu: id %zu, want %zu\n", i,
				(size_t)t_id(&v[i]), (size_t)want[i]);
			fail();
		}
}

static void t_order(enum kvfs_evict_policy p, struct kvfs_policy_cand *v,
		    size_t n, ssize_t want_count)
{
	assert_int_equal(kvfs_policy_order(p, v, n, NOW), want_count);
}

static void test_lru_recency(void **state)
{
	struct kvfs_policy_cand v[] = {
		t_cand(1, "a", NULL, 60, 0), t_cand(2, "b", NULL, 3600, 0),
		t_cand(3, "c", NULL, 5, 0), t_cand(4, "d", NULL, 600, 0),
	};
	const uintptr_t want[] = { 2, 4, 1, 3 };

	(void)state;
	t_order(KVFS_EVICT_LRU, v, 4, 4);
	t_expect(v, want, 4);
}

/* last_access 0 (never read): mtime stands in; otherwise the later wins. */
static void test_mtime_stands_in(void **state)
{
	struct kvfs_policy_cand v[] = {
		t_cand(1, "a", NULL, 60, 0), t_cand(2, "b", NULL, 0, 0),
		t_cand(3, "c", NULL, 30, 0),
	};
	const uintptr_t want[] = { 1, 2, 3 };

	(void)state;
	v[1].last_access_ns = 0;
	v[1].mtime_ns = NOW - 45 * SEC;
	v[2].last_access_ns = NOW - 90 * SEC;  /* written since: mtime counts */
	v[2].mtime_ns = NOW - 30 * SEC;
	t_order(KVFS_EVICT_HYBRID, v, 3, 3);
	t_expect(v, want, 3);
}

/*
 * Hybrid: each hit is worth a minute, so 10 hits read an hour ago score
 * -60 min + 10 min = -50 min, colder than 0 hits 5 minutes ago: evicted
 * first.  10 hits read 8 minutes ago score +2 min and outlive the 5-minute
 * file, which LRU would keep instead.
 */
static void test_hybrid_hits(void **state)
{
	struct kvfs_policy_cand v[] = {
		t_cand(1, "hot-old", NULL, 3600, 10),
		t_cand(2, "cold-new", NULL, 300, 0),
	};
	struct kvfs_policy_cand w[] = {
		t_cand(1, "hot", NULL, 480, 10),
		t_cand(2, "cold", NULL, 300, 0),
	};
	const uintptr_t old_first[] = { 1, 2 }, cold_first[] = { 2, 1 };

	(void)state;
	assert_true(kvfs_policy_score(KVFS_EVICT_HYBRID, &v[0], NOW) <
		    kvfs_policy_score(KVFS_EVICT_HYBRID, &v[1], NOW));
	t_order(KVFS_EVICT_HYBRID, v, 2, 2);
	t_expect(v, old_first, 2);
	t_order(KVFS_EVICT_HYBRID, w, 2, 2);
	t_expect(w, cold_first, 2);
	t_order(KVFS_EVICT_LRU, w, 2, 2);
	t_expect(w, old_first, 2);
}

/* Hybrid counts at most KVFS_POLICY_HIT_CAP hits. */
static void test_hybrid_cap(void **state)
{
	struct kvfs_policy_cand a = t_cand(1, "a", NULL, 0, KVFS_POLICY_HIT_CAP);
	struct kvfs_policy_cand b = t_cand(2, "b", NULL, 0, 1000000);

	(void)state;
	assert_true(kvfs_policy_score(KVFS_EVICT_HYBRID, &a, NOW) ==
		    kvfs_policy_score(KVFS_EVICT_HYBRID, &b, NOW));
}

/* LFU: fewer hits first whatever the age; equal hits, older first. */
static void test_lfu(void **state)
{
	struct kvfs_policy_cand v[] = {
		t_cand(1, "a", NULL, 1, 5), t_cand(2, "b", NULL, 86400, 6),
		t_cand(3, "c", NULL, 2, 5), t_cand(4, "d", NULL, 7 * 86400, 0),
		t_cand(5, "e", NULL, 1, 1000),
	};
	const uintptr_t want[] = { 4, 3, 1, 2, 5 };

	(void)state;
	t_order(KVFS_EVICT_LFU, v, 5, 5);
	t_expect(v, want, 5);
}

/* Equal scores: more bytes first, then input order. */
static void test_ties(void **state)
{
	struct kvfs_policy_cand v[] = {
		t_cand(1, "a", NULL, 10, 0), t_cand(2, "b", NULL, 10, 0),
		t_cand(3, "c", NULL, 10, 0), t_cand(4, "d", NULL, 10, 0),
	};
	const uintptr_t want[] = { 3, 1, 2, 4 };

	(void)state;
	v[2].bytes = 1 << 20;
	t_order(KVFS_EVICT_LRU, v, 4, 4);
	t_expect(v, want, 4);
}

static void test_pinned_excluded(void **state)
{
	struct kvfs_policy_cand v[] = {
		t_cand(1, "a", NULL, 10, 0), t_cand(2, "b", NULL, 9000, 0),
		t_cand(3, "c", NULL, 30, 0), t_cand(4, "d", NULL, 9999, 0),
	};
	const uintptr_t want[] = { 3, 1, 2, 4 };

	(void)state;
	v[1].pinned = v[3].pinned = 1;
	t_order(KVFS_EVICT_HYBRID, v, 4, 2);
	t_expect(v, want, 4);             /* pinned after, in input order */
	assert_int_equal(kvfs_policy_order(KVFS_EVICT_HYBRID, v, 0, NOW), 0);
}

/* More candidates than 32-bit indices hold: -E2BIG, v untouched. */
static void test_too_many(void **state)
{
	struct kvfs_policy_cand v[] = {
		t_cand(1, "a", NULL, 10, 0), t_cand(2, "b", NULL, 9000, 0),
	};
	const uintptr_t want[] = { 1, 2 };

	(void)state;
	if (sizeof(size_t) <= 4)
		skip();
	assert_int_equal(kvfs_policy_order(KVFS_EVICT_LRU, v,
					   (size_t)UINT32_MAX, NOW), -E2BIG);
	t_expect(v, want, 2);
}

/* a <- b <- c (c names b, b names a): c, b, a although a is coldest. */
static void test_chain_leaf_first(void **state)
{
	struct kvfs_policy_cand v[] = {
		t_cand(1, "a", NULL, 9000, 0), t_cand(2, "b", "a", 50, 0),
		t_cand(3, "c", "b", 10, 0), t_cand(4, "x", NULL, 30, 0),
	};
	const uintptr_t want[] = { 4, 3, 2, 1 };

	(void)state;
	t_order(KVFS_EVICT_HYBRID, v, 4, 4);
	t_expect(v, want, 4);
}

/* Siblings b, c of a: both before a, coldest sibling first, unrelated
 * files interleaved by score. */
static void test_siblings(void **state)
{
	struct kvfs_policy_cand v[] = {
		t_cand(1, "a", NULL, 9000, 0), t_cand(2, "b", "a", 10, 0),
		t_cand(3, "c", "a", 20, 0), t_cand(4, "x", NULL, 15, 0),
		t_cand(5, "y", NULL, 5, 0),
	};
	const uintptr_t want[] = { 3, 4, 2, 1, 5 };

	(void)state;
	t_order(KVFS_EVICT_LRU, v, 5, 5);
	t_expect(v, want, 5);
}

/* A parent name in another directory, or matching nothing, is no link. */
static void test_parent_other_dir(void **state)
{
	struct kvfs_policy_cand v[] = {
		t_cand(1, "a", NULL, 9000, 0), t_cand(2, "b", "a", 10, 0),
		t_cand(3, "c", "nobody", 20, 0),
	};
	const uintptr_t want[] = { 1, 3, 2 };

	(void)state;
	v[1].dir = 2;
	t_order(KVFS_EVICT_LRU, v, 3, 3);
	t_expect(v, want, 3);
}

/* a <-> b, and c naming itself: all come out; the cycle opens at its
 * coldest member; a child d of the cycle still goes before its parent. */
static void test_cycles(void **state)
{
	struct kvfs_policy_cand v[] = {
		t_cand(1, "a", "b", 100, 0), t_cand(2, "b", "a", 200, 0),
		t_cand(3, "c", "c", 150, 0), t_cand(4, "d", "a", 50, 0),
		t_cand(5, "e", NULL, 10, 0),
	};
	const uintptr_t want[] = { 3, 4, 5, 2, 1 };

	(void)state;
	/* c (150 s) is a leaf; d (50) and e (10) are leaves; a waits for b
	 * and d, b for a: once the leaves are out, b (200) opens the cycle. */
	t_order(KVFS_EVICT_LRU, v, 5, 5);
	t_expect(v, want, 5);
}

/* A pinned parent stays out, its children are ordinary leaves; the parent
 * of a pinned child comes after every other candidate. */
static void test_pinned_parent_and_child(void **state)
{
	struct kvfs_policy_cand v[] = {
		t_cand(1, "p", NULL, 9000, 0), t_cand(2, "k", "p", 10, 0),
		t_cand(3, "q", NULL, 8000, 0), t_cand(4, "r", "q", 7000, 0),
		t_cand(5, "s", "r", 6000, 0), t_cand(6, "x", NULL, 5, 0),
	};
	const uintptr_t want[] = { 2, 6, 4, 3, 1, 5 };

	(void)state;
	v[0].pinned = 1;   /* p pinned: k is a leaf */
	v[4].pinned = 1;   /* s pinned: r and q wait until the end */
	t_order(KVFS_EVICT_LRU, v, 6, 4);
	t_expect(v, want, 6);
}

/* ---- random candidates ---- */

#define T_N    200000
#define T_DIRS 64

static uint64_t t_rand(uint64_t *s)
{
	*s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
	return *s;
}

/* In each node's one-parent graph, marks cyc[i] for the nodes on cycles. */
static void t_mark_cycles(const size_t *parent, size_t n, unsigned char *cyc)
{
	unsigned char *color = calloc(n, 1);  /* 0 new, 1 on this walk, 2 done */
	size_t i, j, k;

	assert_non_null(color);
	for (i = 0; i < n; i++) {
		for (j = i; j != SIZE_MAX && color[j] == 0; j = parent[j])
			color[j] = 1;
		if (j != SIZE_MAX && color[j] == 1)   /* closed a new cycle */
			for (k = j, cyc[k] = 1; parent[k] != j; k = parent[k])
				cyc[parent[k]] = 1;
		for (j = i; j != SIZE_MAX && color[j] == 1; j = parent[j])
			color[j] = 2;
	}
	free(color);
}

/*
 * Checks the order of v[0..n) against the candidates' links (parent[id],
 * SIZE_MAX for none) and pins: each non-pinned id once before the count,
 * pinned ones after it, and every non-pinned child off a cycle before its
 * non-pinned parent.
 */
static void t_check_order(const struct kvfs_policy_cand *v, size_t n,
			  ssize_t count, const size_t *parent)
{
	size_t *pos = malloc(n * sizeof(*pos)), i, id, p;
	unsigned char *cyc = calloc(n, 1);

	assert_true(pos && cyc);
	memset(pos, 0xff, n * sizeof(*pos));
	for (i = 0; i < n; i++) {
		id = t_id(&v[i]);
		assert_true(id < n && pos[id] == SIZE_MAX);
		assert_int_equal(!!v[i].pinned, i >= (size_t)count);
		pos[id] = i;
	}
	t_mark_cycles(parent, n, cyc);
	for (id = 0; id < n; id++) {
		p = parent[id];
		if (p == SIZE_MAX || cyc[id] || pos[id] >= (size_t)count ||
		    pos[p] >= (size_t)count)
			continue;             /* no link, a cycle, or pinned */
		if (pos[id] > pos[p]) {
			fprintf(stderr, "id %zu at %zu, its parent %zu at %zu\n",
				id, pos[id], p, pos[p]);
			fail();
		}
	}
	free(cyc);
	free(pos);
}

/*
 * Node id lives in dir id % T_DIRS under the name "n<id>".  Its parent:
 * none, a random node of its own directory (cycles included), a node of
 * another directory (no link), or a name nobody has.  One in twenty is
 * pinned.  (test_parent_other_dir covers one name in two directories.)
 */
static void test_random_200k(void **state)
{
	struct kvfs_policy_cand *v = calloc(T_N, sizeof(*v));
	char (*names)[16] = malloc(T_N * sizeof(*names));
	size_t *parent = malloc(T_N * sizeof(*parent)), i, j, pinned = 0;
	uint64_t s = 88172645463325252ull, r;

	(void)state;
	assert_true(v && names && parent);
	for (i = 0; i < T_N; i++)
		snprintf(names[i], sizeof(names[i]), "n%zu", i);
	for (i = 0; i < T_N; i++) {
		r = t_rand(&s);
		j = (t_rand(&s) % (T_N / T_DIRS)) * T_DIRS + i % T_DIRS;
		parent[i] = SIZE_MAX;
		v[i] = t_cand(i, names[i], NULL, (int64_t)(r % 100000), r % 7);
		v[i].dir = i % T_DIRS;
		v[i].bytes = (r >> 20) % 4 * 4096;
		v[i].pinned = r % 20 == 0;
		pinned += v[i].pinned;
		if (r % 10 < 6 && j != i) {
			v[i].parent = names[j];
			parent[i] = j;
		} else if (r % 10 == 6) {
			v[i].parent = names[(j + 1) % T_N];   /* other directory */
		} else if (r % 10 == 7) {
			v[i].parent = "absent";
		}
	}
	for (i = 0; i < 3; i++) {
		enum kvfs_evict_policy p = (enum kvfs_evict_policy)i;
		ssize_t count = kvfs_policy_order(p, v, T_N, NOW);

		assert_int_equal(count, T_N - pinned);
		t_check_order(v, T_N, count, parent);
	}
	free(parent);
	free(names);
	free(v);
}

static void test_parse_name(void **state)
{
	static const char *bad[] = { "", "LRU", "hybrid ", "mru", "lfu2" };
	enum kvfs_evict_policy p = KVFS_EVICT_LFU;
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		enum kvfs_evict_policy q = (enum kvfs_evict_policy)i;

		assert_int_equal(kvfs_policy_parse(kvfs_policy_name(q), &p), 0);
		assert_int_equal(p, q);
	}
	assert_int_equal(kvfs_policy_parse("hybrid", &p), 0);
	assert_int_equal(p, KVFS_EVICT_HYBRID);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(kvfs_policy_parse(bad[i], &p), -EINVAL);
		assert_int_equal(p, KVFS_EVICT_HYBRID);   /* unchanged */
	}
	assert_int_equal(kvfs_policy_parse(NULL, &p), -EINVAL);
	assert_string_equal(kvfs_policy_name(KVFS_EVICT_LRU), "lru");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lru_recency),
		cmocka_unit_test(test_mtime_stands_in),
		cmocka_unit_test(test_hybrid_hits),
		cmocka_unit_test(test_hybrid_cap),
		cmocka_unit_test(test_lfu),
		cmocka_unit_test(test_ties),
		cmocka_unit_test(test_pinned_excluded),
		cmocka_unit_test(test_too_many),
		cmocka_unit_test(test_chain_leaf_first),
		cmocka_unit_test(test_siblings),
		cmocka_unit_test(test_parent_other_dir),
		cmocka_unit_test(test_cycles),
		cmocka_unit_test(test_pinned_parent_and_child),
		cmocka_unit_test(test_random_200k),
		cmocka_unit_test(test_parse_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
