/*
 * test_tier.c - the tier state machine (fs/tier.c) on real inodes: files
 * published through the namespace over a 16 MiB memory tier, an index and
 * a 64 MiB SSD store (no flusher thread).  Each verb is driven, directly
 * or through the store code that calls it, and the test asserts the state
 * it leaves (t.resident, t.head_loaded, the stored copy, t.promoting,
 * t.ready), the store's counters that follow the states (ssd_only_files,
 * stored_files, stored_bytes), and kvfs_tier_check(), which the test build
 * also asserts inside every verb.  The last test makes each forbidden state
 * by hand and sees the checker refuse it with -EUCLEAN.
 *
 * Verbs are called holding what tier.h says their callers hold.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "t_core.h"
#include "t_util.h"

#include "ns.h"
#include "ssd.h"
#include "store.h"
#include "tier.h"

#define MiB (1ull << 20)
#define LEN (2 * MiB + MiB / 2 + 123) /* 3 chunks, the last partial */

struct fixture {
	char state[256], ssd_dir[256];
	struct kvfs kv;
	struct t_core_cfg cfg;
	struct kvfs_ctx a;
};

static int t_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	t_tmpdir(f->state, sizeof(f->state), "tier-state");
	t_tmpdir(f->ssd_dir, sizeof(f->ssd_dir), "tier-ssd");
	f->cfg = (struct t_core_cfg){
		.mem = 16 * MiB, .state = f->state, .ssd = f->ssd_dir, .ssd_size = 64 * MiB,
		.store = 1, .write_policy = KVFS_WRITE_BACK, .evict_policy = KVFS_EVICT_HYBRID,
	};
	f->a = t_ctx(1);
	t_core_open(&f->kv, &f->cfg);
	*state = f;
	return 0;
}

static int t_teardown(void **state)
{
	struct fixture *f = *state;

	t_core_close(&f->kv);
	assert_int_equal(t_rmtree(f->state), 0);
	assert_int_equal(t_rmtree(f->ssd_dir), 0);
	free(f);
	return 0;
}

#define STAT(f, x) atomic_load(&(f)->kv.store.stats.x)

static struct kvfs_inode *t_make(struct fixture *f, const char *name, size_t len,
				 unsigned seed)
{
	return t_file_publish(&f->kv.ns, &f->a, f->kv.ns.root, name, len, seed);
}

static struct kvfs_inode *t_find(struct fixture *f, const char *name)
{
	struct kvfs_entry e;

	assert_int_equal(kvfs_ns_lookup(&f->kv.ns, &f->a, f->kv.ns.root, name, &e), 0);
	kvfs_ns_forget(&f->kv.ns, e.ino, 1);
	return e.ino;
}

/* Reads all of /name and compares it with pattern stream seed. */
static void t_expect(struct fixture *f, const char *name, size_t len, unsigned seed)
{
	struct kvfs_handle *h;
	char *got = malloc(len), *want = malloc(len);

	assert_non_null(got);
	assert_non_null(want);
	t_pattern(want, len, seed, 0);
	assert_int_equal(kvfs_file_open(&f->kv.ns, &f->a, t_find(f, name), O_RDONLY, 0, &h), 0);
	assert_int_equal(t_file_read(&f->kv.ns, h, 0, got, len, 256 * 1024), (ssize_t)len);
	assert_memory_equal(got, want, len);
	kvfs_file_release(&f->kv.ns, h);
	free(got);
	free(want);
}

/* The state's two facts (tier.h): 'M' MEM, 'B' BOTH, 'S' SSD. */
static char t_state(const struct kvfs_inode *ino)
{
	if (ino->t.resident)
		return kvfs_inode_stored(ino) ? 'B' : 'M';
	assert_true(kvfs_inode_stored(ino)); /* the forbidden fourth */
	return 'S';
}

/* BOTH -> SSD as demote_one() does it: all but the head dropped, then the
 * verb. */
static void t_demote(struct fixture *f, struct kvfs_inode *ino)
{
	pthread_rwlock_wrlock(&ino->lock);
	assert_int_equal(kvfs_data_drop_tail(&ino->data, &f->kv.mem, KVFS_HEAD,
					     ino->size), 0);
	kvfs_tier_demoted(&f->kv.store, ino, 1);
	pthread_rwlock_unlock(&ino->lock);
}

/* ---- MEM -> BOTH -> MEM: stored, changed, flush errors ---- */

static void test_stored_and_changed(void **state)
{
	struct fixture *f = *state;
	struct kvfs_inode *ino = t_make(f, "a", LEN, 1);
	uint64_t gen;

	assert_int_equal(t_state(ino), 'M');
	assert_false(ino->t.has_stored);
	assert_int_equal(STAT(f, stored_files), 0);
	assert_int_equal(kvfs_tier_check(ino), 0);

	/* kvfs_tier_stored, through flush_commit. */
	assert_int_equal(kvfs_store_fsync(&f->kv.store, ino), 0);
	assert_int_equal(t_state(ino), 'B');
	assert_int_equal(ino->t.stored.n, 3);
	assert_int_equal(ino->t.stored.size, LEN);
	assert_int_equal(ino->t.stored_bytes, 2 * MiB + MiB / 2 + 4096);
	assert_int_equal(kvfs_tier_ssd_bytes(&ino->t), ino->t.stored_bytes);
	assert_non_null(ino->t.changed);
	for (int i = 0; i < 3; i++)
		assert_int_equal(ino->t.changed[i], 0);
	assert_int_equal(STAT(f, stored_files), 1);
	assert_int_equal(STAT(f, stored_bytes), ino->t.stored_bytes);
	assert_int_equal(STAT(f, ssd_only_files), 0);

	/* kvfs_tier_changed: chunk 1 only, then from chunk 2 on (len
	 * saturates past the end). */
	pthread_rwlock_wrlock(&ino->lock);
	gen = ino->data_gen;
	kvfs_tier_changed(ino, MiB + 5, 10);
	assert_int_equal(ino->data_gen, gen + 1);
	assert_int_equal(t_state(ino), 'M');
	assert_int_equal(ino->t.changed[0], 0);
	assert_int_equal(ino->t.changed[1], 1);
	assert_int_equal(ino->t.changed[2], 0);
	kvfs_tier_changed(ino, 2 * MiB, UINT64_MAX);
	assert_int_equal(ino->t.changed[2], 1);
	assert_int_equal(ino->t.changed[0], 0);
	assert_true(ino->t.has_stored);              /* the old copy stays */
	assert_int_equal(kvfs_tier_check(ino), 0);

	/* kvfs_tier_flush_failed / _retry: the error is kept for fsync, the
	 * state does not move. */
	kvfs_tier_flush_failed(ino, -EIO);
	assert_int_equal(ino->t.err, -EIO);
	assert_int_equal(t_state(ino), 'M');
	kvfs_tier_flush_retry(ino);
	assert_int_equal(ino->t.err, 0);
	kvfs_tier_flush_failed(ino, -ENOSPC);
	pthread_rwlock_unlock(&ino->lock);

	/* Stored again: a new copy replaces the old, the error is gone, the
	 * counters still count one file. */
	assert_int_equal(kvfs_store_fsync(&f->kv.store, ino), 0);
	assert_int_equal(t_state(ino), 'B');
	assert_int_equal(ino->t.err, 0);
	assert_int_equal(ino->t.changed[1], 0);
	assert_int_equal(STAT(f, stored_files), 1);
	assert_int_equal(STAT(f, stored_bytes), ino->t.stored_bytes);
	t_expect(f, "a", LEN, 1);
}

/* ---- BOTH -> SSD -> BOTH: demoted, promotion verbs ---- */

static void test_demoted_and_promoted(void **state)
{
	struct fixture *f = *state;
	struct kvfs_inode *ino = t_make(f, "b", LEN, 2);

	assert_int_equal(kvfs_store_fsync(&f->kv.store, ino), 0);
	t_demote(f, ino);
	assert_int_equal(t_state(ino), 'S');
	assert_true(ino->t.head_loaded);
	assert_true(ino->data.bytes <= 2 * MiB);
	assert_int_equal(STAT(f, ssd_only_files), 1);
	assert_int_equal(kvfs_tier_check(ino), 0);

	/* A promotion that fails: begin, a step, then back to SSD. */
	pthread_rwlock_wrlock(&ino->lock);
	assert_int_equal(kvfs_data_alloc(&ino->data, &f->kv.mem, KVFS_HEAD,
					 ino->size - KVFS_HEAD, ino->size), 0);
	pthread_mutex_lock(&f->kv.store.plock);
	kvfs_tier_promote_begin(ino, KVFS_HEAD);
	pthread_mutex_unlock(&f->kv.store.plock);
	assert_int_equal(atomic_load(&ino->t.promoting), 1);
	assert_int_equal(atomic_load(&ino->t.ready), KVFS_HEAD);
	assert_false(ino->t.resident);
	/* Filling is allowed only while promoting. */
	assert_int_equal(kvfs_tier_check(ino), 0);
	atomic_store(&ino->t.promoting, 0);
	assert_int_equal(kvfs_tier_check(ino), -EUCLEAN);
	atomic_store(&ino->t.promoting, 1);
	pthread_rwlock_unlock(&ino->lock);

	pthread_mutex_lock(&f->kv.store.plock);
	kvfs_tier_promote_ready(ino, MiB);
	pthread_mutex_unlock(&f->kv.store.plock);
	assert_int_equal(atomic_load(&ino->t.ready), MiB);

	pthread_rwlock_wrlock(&ino->lock);
	assert_int_equal(kvfs_data_punch(&ino->data, &f->kv.mem, KVFS_HEAD,
					 ino->size - KVFS_HEAD), 0);
	pthread_mutex_lock(&f->kv.store.plock);
	kvfs_tier_promote_failed(ino);
	pthread_mutex_unlock(&f->kv.store.plock);
	pthread_rwlock_unlock(&ino->lock);
	assert_int_equal(atomic_load(&ino->t.promoting), 0);
	assert_int_equal(atomic_load(&ino->t.ready), 0);
	assert_int_equal(t_state(ino), 'S');
	assert_int_equal(STAT(f, ssd_only_files), 1);

	/* kvfs_tier_promoted, through a real promotion: every byte back. */
	assert_int_equal(kvfs_store_promote(&f->kv.store, ino), 0);
	assert_int_equal(t_state(ino), 'B');
	assert_int_equal(atomic_load(&ino->t.promoting), 0);
	assert_int_equal(atomic_load(&ino->t.ready), 0);
	assert_int_equal(STAT(f, ssd_only_files), 0);
	assert_int_equal(STAT(f, promotions), 1);
	t_expect(f, "b", LEN, 2);
}

/* ---- a restart: adopt, head_loaded; adopt_kept ---- */

static void test_adopt_and_head_loaded(void **state)
{
	struct fixture *f = *state;
	struct kvfs_inode *big = t_make(f, "big", LEN, 3);
	struct kvfs_inode *small = t_make(f, "small", 100, 4);
	struct kvfs_inode *mem;
	uint64_t bytes;
	char *want;

	assert_int_equal(kvfs_store_fsync(&f->kv.store, big), 0);
	assert_int_equal(kvfs_store_fsync(&f->kv.store, small), 0);
	bytes = big->t.stored_bytes + small->t.stored_bytes;

	/* kvfs_tier_adopt, through the load: SSD, head not loaded. */
	t_core_close(&f->kv);
	t_core_open(&f->kv, &f->cfg);
	big = t_find(f, "big");
	small = t_find(f, "small");
	assert_int_equal(t_state(big), 'S');
	assert_int_equal(t_state(small), 'S');
	assert_false(big->t.head_loaded);
	assert_int_equal(big->size, LEN);
	assert_int_equal(STAT(f, stored_files), 2);
	assert_int_equal(STAT(f, stored_bytes), bytes);
	assert_int_equal(STAT(f, ssd_only_files), 2);

	/* kvfs_tier_head_loaded: still SSD for the big file; BOTH for the
	 * small one, whose head is all of it. */
	pthread_rwlock_wrlock(&big->lock);
	assert_int_equal(kvfs_store_load_head(&f->kv.store, big), 0);
	pthread_rwlock_unlock(&big->lock);
	assert_true(big->t.head_loaded);
	assert_int_equal(t_state(big), 'S');
	pthread_rwlock_wrlock(&small->lock);
	assert_int_equal(kvfs_store_load_head(&f->kv.store, small), 0);
	pthread_rwlock_unlock(&small->lock);
	assert_int_equal(t_state(small), 'B');
	assert_int_equal(STAT(f, ssd_only_files), 1);
	assert_int_equal(STAT(f, head_loads), 2);
	t_expect(f, "small", 100, 4);

	/* kvfs_tier_adopt_kept: memory that holds the whole stored version
	 * (as a clean exit keeps it) makes the file BOTH; a file that only
	 * memory held is MEM. */
	want = malloc(LEN);
	assert_non_null(want);
	t_pattern(want, LEN, 3, 0);
	pthread_rwlock_wrlock(&big->lock);
	assert_int_equal(kvfs_data_write(&big->data, &f->kv.mem, 0, want, LEN), (ssize_t)LEN);
	kvfs_tier_adopt_kept(&f->kv.store, big);
	pthread_rwlock_unlock(&big->lock);
	free(want);
	assert_int_equal(t_state(big), 'B');
	assert_int_equal(STAT(f, ssd_only_files), 0);
	t_expect(f, "big", LEN, 3);
	assert_int_equal(STAT(f, promotions), 0); /* served from memory */

	mem = t_make(f, "mem", 5000, 5);
	pthread_rwlock_wrlock(&mem->lock);
	kvfs_tier_adopt_kept(&f->kv.store, mem);
	pthread_rwlock_unlock(&mem->lock);
	assert_int_equal(t_state(mem), 'M');
	assert_true(mem->t.head_loaded);
	assert_int_equal(STAT(f, ssd_only_files), 0);
}

/* ---- O_TRUNC / truncate to 0 from BOTH and from SSD ---- */

static void t_empty(struct fixture *f, struct kvfs_inode *ino)
{
	pthread_rwlock_wrlock(&ino->lock);
	assert_int_equal(kvfs_data_truncate(&ino->data, &f->kv.mem, 0), 0);
	ino->size = 0;
	ino->crc = 0;
	ino->crc_valid = 1;
	kvfs_tier_emptied(&f->kv.store, ino);
	pthread_rwlock_unlock(&ino->lock);
}

static void test_emptied(void **state)
{
	struct fixture *f = *state;
	struct kvfs_inode *both = t_make(f, "both", LEN, 6);
	struct kvfs_inode *ssd = t_make(f, "ssd", LEN, 7);
	uint64_t gen;

	assert_int_equal(kvfs_store_fsync(&f->kv.store, both), 0);
	assert_int_equal(kvfs_store_fsync(&f->kv.store, ssd), 0);
	t_demote(f, ssd);
	assert_int_equal(STAT(f, ssd_only_files), 1);

	gen = both->data_gen;
	t_empty(f, both);
	assert_int_equal(t_state(both), 'M');
	assert_int_equal(both->data_gen, gen + 1);
	for (int i = 0; i < 3; i++)
		assert_int_equal(both->t.changed[i], 1);

	t_empty(f, ssd);
	assert_int_equal(t_state(ssd), 'M');
	assert_int_equal(ssd->data.bytes, 0);
	assert_int_equal(STAT(f, ssd_only_files), 0);

	/* Stored again: an empty copy, no runs, still one file each. */
	assert_int_equal(kvfs_store_fsync(&f->kv.store, ssd), 0);
	assert_int_equal(t_state(ssd), 'B');
	assert_int_equal(ssd->t.stored.n, 0);
	assert_int_equal(ssd->t.stored_bytes, 0);
	assert_int_equal(STAT(f, stored_files), 2);
	assert_int_equal(STAT(f, stored_bytes), both->t.stored_bytes);
}

/* ---- any -> gone ---- */

static void test_forget(void **state)
{
	struct fixture *f = *state;
	struct kvfs_inode *ino = t_make(f, "f", LEN, 8);
	struct kvfs_inode *mem = t_make(f, "m", 100, 9);
	struct kvfs_map old;
	uint64_t free0;

	assert_int_equal(kvfs_store_fsync(&f->kv.store, ino), 0);
	t_demote(f, ino);
	free0 = kvfs_ssd_free(f->kv.ssd);

	pthread_rwlock_wrlock(&f->kv.ns.lock);
	assert_int_equal(kvfs_tier_forget(&f->kv.store, ino, &old), 1);
	assert_int_equal(old.n, 3);
	assert_int_equal(old.size, LEN);
	assert_true(ino->t.resident);
	assert_false(ino->t.has_stored);
	assert_false(ino->t.head_loaded);
	assert_null(ino->t.changed);
	assert_int_equal(kvfs_tier_ssd_bytes(&ino->t), 0);
	assert_int_equal(STAT(f, stored_files), 0);
	assert_int_equal(STAT(f, stored_bytes), 0);
	assert_int_equal(STAT(f, ssd_only_files), 0);
	assert_int_equal(kvfs_tier_check(ino), 0);
	/* The runs are the caller's now (store.c gives them back after the
	 * row's deletion commits). */
	for (uint32_t i = 0; i < old.n; i++)
		if (old.c[i].len)
			kvfs_ssd_give(f->kv.ssd, old.c[i].soff, old.c[i].len);
	kvfs_map_release(&old);
	assert_int_equal(kvfs_ssd_free(f->kv.ssd), free0 + 2 * MiB + MiB / 2 + 4096);

	/* Nothing stored: nothing handed out. */
	assert_int_equal(kvfs_tier_forget(&f->kv.store, mem, &old), 0);
	assert_int_equal(old.n, 0);
	assert_null(old.c);
	pthread_rwlock_unlock(&f->kv.ns.lock);
}

/* ---- the checker refuses every forbidden state ---- */

static void test_check_refuses_forbidden_states(void **state)
{
	struct fixture *f = *state;
	struct kvfs_inode *ino = t_make(f, "c", LEN, 10);
	uint64_t saved;

	assert_int_equal(kvfs_store_fsync(&f->kv.store, ino), 0);
	t_demote(f, ino);
	assert_int_equal(kvfs_tier_check(ino), 0);

	/* Not resident and not stored: the newest bytes nowhere. */
	ino->t.has_stored = 0;
	assert_int_equal(kvfs_tier_check(ino), -EUCLEAN);
	assert_int_equal(kvfs_inode_check(ino), -EUCLEAN);
	ino->t.has_stored = 1;
	assert_int_equal(kvfs_tier_check(ino), 0);

	/* Not resident, whole file in memory, not promoting. */
	pthread_rwlock_wrlock(&ino->lock);
	assert_int_equal(kvfs_data_alloc(&ino->data, &f->kv.mem, KVFS_HEAD,
					 ino->size - KVFS_HEAD, ino->size), 0);
	assert_int_equal(kvfs_tier_check(ino), -EUCLEAN);
	assert_int_equal(kvfs_data_punch(&ino->data, &f->kv.mem, KVFS_HEAD,
					 ino->size - KVFS_HEAD), 0);
	pthread_rwlock_unlock(&ino->lock);
	assert_int_equal(kvfs_tier_check(ino), 0);

	/* The byte count disagrees with the runs. */
	saved = ino->t.stored_bytes;
	ino->t.stored_bytes = saved + 4096;
	assert_int_equal(kvfs_tier_check(ino), -EUCLEAN);
	ino->t.stored_bytes = saved;

	/* A current copy of another size. */
	ino->size++;
	assert_int_equal(kvfs_tier_check(ino), -EUCLEAN);
	ino->size--;

	/* A promotion ready past the end. */
	atomic_store(&ino->t.promoting, 1);
	atomic_store(&ino->t.ready, ino->size + 1);
	assert_int_equal(kvfs_tier_check(ino), -EUCLEAN);
	atomic_store(&ino->t.ready, ino->size);
	assert_int_equal(kvfs_tier_check(ino), 0);
	atomic_store(&ino->t.ready, 0);
	atomic_store(&ino->t.promoting, 0);

	assert_int_equal(kvfs_tier_check(ino), 0);
	t_expect(f, "c", LEN, 10); /* SSD -> BOTH: the file is whole */
	assert_int_equal(t_state(ino), 'B');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_stored_and_changed, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_demoted_and_promoted, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_adopt_and_head_loaded, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_emptied, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_forget, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_check_refuses_forbidden_states, t_setup, t_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
