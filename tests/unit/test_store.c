/*
 * test_store.c - the tier machinery (fs/store.c, fs/evict.c) over real
 * parts: a 16 MiB memory arena, an index in a temp state directory and a
 * 64 MiB SSD store in another, with no flusher thread (each test stores
 * files itself through kvfs_store_fsync or kvfs_store_flush_files).
 *
 * Covered: a stored file's round trip through the index and a restart
 * (head load, SSD reads, promotion), a flipped byte on the SSD caught by
 * its chunk's checksum, the eviction order on a full SSD (coldest first,
 * never pinned, leaf-first), memory reclaim by demotion (and by flushing
 * cold files first), rule 4 of the durability protocol (old runs are
 * freed only once the row that stopped pointing at them has committed),
 * the writers' backpressure (admit.c: a bound open demotes before it is
 * bound, a served one waits for another writer's release), and a flush
 * batch's overlapping writes (the next file begun while one is in flight,
 * alone when its lock is busy).
 *
 * Temp directories live under $KVFS_TEST_TMP or /tmp, which must support
 * fallocate (ext4, xfs, tmpfs); each test removes its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "t_core.h"
#include "t_slabs.h"
#include "t_util.h"

#include "crc32c.h"
#include "index.h"
#include "map.h"
#include "ns.h"
#include "ssd.h"
#include "store.h"

#define MiB (1ull << 20)
#define T_MEM (16 * MiB)
#define T_SSD (64 * MiB)

/* Rule 4's test holds the index writer with this gate (t_hold_writer). */
static sem_t t_gate;
static int t_gate_held;   /* teardown lets the writer go after a failure */

struct fixture {
	char state[256], ssd_dir[256];
	struct kvfs kv;
	struct t_core_cfg cfg;
	struct kvfs_ctx a;
	int open;
};

static void t_open(struct fixture *f)
{
	t_core_open(&f->kv, &f->cfg);
	f->open = 1;
}

static void t_close(struct fixture *f)
{
	t_core_close(&f->kv);
	f->open = 0;
}

static void t_reopen(struct fixture *f)
{
	t_close(f);
	t_open(f);
}

static int t_setup_wp(void **state, enum kvfs_write_policy wp)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	t_tmpdir(f->state, sizeof(f->state), "store-state");
	t_tmpdir(f->ssd_dir, sizeof(f->ssd_dir), "store-ssd");
	f->cfg = (struct t_core_cfg){
		.mem = T_MEM, .state = f->state, .ssd = f->ssd_dir, .ssd_size = T_SSD,
		.store = 1, .write_policy = wp, .evict_policy = KVFS_EVICT_HYBRID,
	};
	f->a = t_ctx(1);
	t_open(f);
	*state = f;
	return 0;
}

static int t_setup(void **state)
{
	return t_setup_wp(state, KVFS_WRITE_BACK);
}

static int t_teardown(void **state)
{
	struct fixture *f = *state;

	if (t_gate_held) {
		sem_post(&t_gate);
		t_gate_held = 0;
	}
	if (f->open)
		t_close(f);
	assert_int_equal(t_rmtree(f->state), 0);
	assert_int_equal(t_rmtree(f->ssd_dir), 0);
	free(f);
	return 0;
}

/* Creates /name as a, writes len bytes of stream seed, closes (publishes) it. */
static struct kvfs_inode *t_make(struct fixture *f, const char *name, size_t len,
				 unsigned seed)
{
	return t_file_publish(&f->kv.ns, &f->a, f->kv.ns.root, name, len, seed);
}

/* The inode named /name (no lookup count kept: it stays while named). */
static struct kvfs_inode *t_find(struct fixture *f, const char *name)
{
	struct kvfs_entry e;
	int r = kvfs_ns_lookup(&f->kv.ns, &f->a, f->kv.ns.root, name, &e);

	if (r == -ENOENT)
		return NULL;
	assert_int_equal(r, 0);
	kvfs_ns_forget(&f->kv.ns, e.ino, 1);
	return e.ino;
}

/* Reads [off, off + len) through a handle, 256 KiB per call: the bytes
 * read, or -errno. */
static ssize_t t_read_h(struct fixture *f, struct kvfs_handle *h, uint64_t off,
			char *out, size_t len)
{
	return t_file_read(&f->kv.ns, h, off, out, len, 256 * 1024);
}

/* Opens /name, checks [off, off + len) against the pattern, closes. */
static void t_expect(struct fixture *f, const char *name, uint64_t off,
		     size_t len, unsigned seed)
{
	struct kvfs_inode *ino = t_find(f, name);
	struct kvfs_handle *h;
	char *got = malloc(len), *want = malloc(off + len);

	assert_non_null(ino);
	assert_non_null(got);
	assert_non_null(want);
	t_pattern(want, off + len, seed, 0);
	assert_int_equal(kvfs_file_open(&f->kv.ns, &f->a, ino, O_RDONLY, 0, &h), 0);
	assert_int_equal(t_read_h(f, h, off, got, len), (ssize_t)len);
	assert_memory_equal(got, want + off, len);
	kvfs_file_release(&f->kv.ns, h);
	free(got);
	free(want);
}

static void t_tier(struct fixture *f, struct kvfs_inode *ino, const char *want)
{
	char buf[32];
	ssize_t n = kvfs_xattr_get(&f->kv.ns, ino, "user.kvfs.tier", buf, sizeof(buf) - 1);

	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, want);
}

static void t_present(struct fixture *f, const char *names, const char *want);

static uint64_t mem_free(struct fixture *f)
{
	return kvfs_mem_free(&f->kv.mem);
}

/* ---- a stored file through a restart ---- */

static void test_store_round_trip(void **state)
{
	struct fixture *f = *state;
	size_t len = 2 * MiB + MiB / 2 + 123; /* 3 chunks, the last partial */
	struct kvfs_inode *ino = t_make(f, "r.kv", len, 7);
	struct kvfs_map before;
	uint64_t free0;
	char *want = malloc(len);

	assert_non_null(want);
	t_pattern(want, len, 7, 0);
	t_tier(f, ino, "memory");
	free0 = kvfs_ssd_free(f->kv.ssd);
	assert_int_equal(kvfs_store_fsync(&f->kv.store, ino), 0);
	assert_true(ino->t.has_stored);
	assert_int_equal(ino->t.stored_gen, ino->data_gen);
	assert_int_equal(ino->t.stored.n, 3);
	assert_int_equal(ino->t.stored.size, len);
	assert_int_equal(ino->t.stored.file_crc, kvfs_crc32c(0, want, len));
	assert_int_equal(ino->t.stored.c[2].len, MiB / 2 + 4096);
	assert_int_equal(kvfs_ssd_free(f->kv.ssd), free0 - (2 * MiB + MiB / 2 + 4096));
	t_tier(f, ino, "memory+ssd");
	/* A second fsync of current data has nothing to do. */
	assert_int_equal(kvfs_store_fsync(&f->kv.store, ino), 0);
	assert_int_equal(atomic_load(&f->kv.store.stats.flushes), 1);
	before = ino->t.stored;
	before.c = malloc(3 * sizeof(*before.c));
	assert_non_null(before.c);
	memcpy(before.c, ino->t.stored.c, 3 * sizeof(*before.c));

	t_reopen(f);
	ino = t_find(f, "r.kv");
	assert_non_null(ino);
	/* The row's map came back as it was stored, and the allocator was
	 * rebuilt from it (rule 5). */
	assert_true(ino->t.has_stored);
	assert_false(ino->t.resident);
	assert_int_equal(ino->size, len);
	assert_int_equal(ino->t.stored.n, before.n);
	assert_int_equal(ino->t.stored.head_crc, before.head_crc);
	assert_memory_equal(ino->t.stored.c, before.c, 3 * sizeof(*before.c));
	assert_int_equal(kvfs_ssd_free(f->kv.ssd), free0 - (2 * MiB + MiB / 2 + 4096));
	assert_int_equal(kvfs_ssd_check(f->kv.ssd), 0);
	t_tier(f, ino, "ssd");

	/* A read in the middle: served from the SSD, nothing promoted. */
	t_expect(f, "r.kv", MiB + 5, 70000, 7);
	assert_int_equal(atomic_load(&f->kv.store.stats.promotions), 0);
	assert_false(ino->t.resident);
	/* A read of the head alone loads the head. */
	t_expect(f, "r.kv", 0, 100, 7);
	assert_int_equal(atomic_load(&f->kv.store.stats.head_loads), 1);
	assert_false(ino->t.resident);
	/* A sequential read from 0 promotes, and reads back every byte. */
	t_expect(f, "r.kv", 0, len, 7);
	assert_int_equal(atomic_load(&f->kv.store.stats.promotions), 1);
	assert_true(ino->t.resident);
	t_tier(f, ino, "memory+ssd");
	assert_int_equal(atomic_load(&f->kv.store.stats.crc_errors), 0);
	free(before.c);
	free(want);
}

static void t_sql(struct fixture *f, const char *sql)
{
	char path[300], *err = NULL;
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/index.db", f->state);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
	sqlite3_close(db);
}

/* A damaged map, and a map claiming runs another row holds: the load
 * drops both files (and their rows), counts only what it kept, and the
 * allocator holds only the kept file's runs. */
static void test_bad_maps_dropped_at_load_not_counted(void **state)
{
	struct fixture *f = *state;
	uint64_t cap = kvfs_ssd_capacity(f->kv.ssd);
	char *names[] = { "x", "y", "z" };

	for (int i = 0; i < 3; i++)
		assert_int_equal(kvfs_store_fsync(&f->kv.store, t_make(f, names[i], MiB, 1)), 0);
	t_close(f);
	t_sql(f, "UPDATE inodes SET map = x'00' WHERE name = 'y';"
	      "UPDATE inodes SET map = (SELECT map FROM inodes WHERE name = 'x')"
	      " WHERE name = 'z'");
	t_open(f);
	t_present(f, "x y z", "x");
	assert_int_equal(atomic_load(&f->kv.ns.stats.files), 1);
	assert_int_equal(atomic_load(&f->kv.store.stats.stored_files), 1);
	assert_int_equal(kvfs_ssd_free(f->kv.ssd), cap - MiB);
	t_expect(f, "x", 0, MiB, 1);
	t_reopen(f);   /* the dropped rows were deleted */
	t_present(f, "x y z", "x");
	assert_int_equal(atomic_load(&f->kv.ns.stats.files), 1);
}

/* ---- a flipped byte on the SSD ---- */

static void test_flipped_byte_is_eio(void **state)
{
	struct fixture *f = *state;
	size_t len = 3 * MiB;
	struct kvfs_inode *ino = t_make(f, "c.kv", len, 9);
	struct kvfs_handle *h;
	char *buf = malloc(len);

	assert_non_null(buf);
	assert_int_equal(kvfs_store_fsync(&f->kv.store, ino), 0);
	t_flip_byte(f->ssd_dir, ino->t.stored.c[1].soff + 12345);
	t_reopen(f);   /* not resident: reads go to the SSD */
	ino = t_find(f, "c.kv");

	assert_int_equal(kvfs_file_open(&f->kv.ns, &f->a, ino, O_RDONLY, 0, &h), 0);
	/* Promotion verifies every chunk: the whole read fails. */
	assert_int_equal(t_read_h(f, h, 0, buf, len), -EIO);
	assert_true(atomic_load(&f->kv.store.stats.crc_errors) > 0);
	assert_false(ino->t.resident);
	/* A read of the damaged chunk alone, through the SSD. */
	assert_int_equal(t_read_h(f, h, MiB + 4096, buf, 8192), -EIO);
	kvfs_file_release(&f->kv.ns, h);
	/* The head and the chunk after the damaged one still read. */
	t_expect(f, "c.kv", 0, 4096, 9);
	t_expect(f, "c.kv", 2 * MiB + 77, 10000, 9);
	free(buf);
}

/* ---- eviction order on a full SSD ---- */

/* Takes every free run of the SSD (as if other files held it). */
static void t_fill_ssd(struct fixture *f)
{
	uint32_t len = 16 * MiB;
	uint64_t soff;

	while (len >= KVFS_SSD_UNIT) {
		if (kvfs_ssd_alloc(f->kv.ssd, len, UINT64_MAX, &soff) != 0)
			len /= 2;
	}
	assert_int_equal(kvfs_ssd_free(f->kv.ssd), 0);
}

/* Makes /name stored on the SSD, last touched `age` seconds ago. */
static struct kvfs_inode *t_aged(struct fixture *f, const char *name, int age)
{
	struct kvfs_inode *ino = t_make(f, name, 3 * MiB, (unsigned)age);

	assert_int_equal(kvfs_store_fsync(&f->kv.store, ino), 0);
	kvfs_now(&ino->mtime);
	ino->mtime.tv_sec -= age;
	atomic_store(&ino->last_access_ns, 0);
	return ino;
}

static void t_present(struct fixture *f, const char *names, const char *want)
{
	char got[128] = "", name[16];
	const char *p = names;

	while (*p) {
		size_t n = strcspn(p, " ");

		snprintf(name, sizeof(name), "%.*s", (int)n, p);
		if (t_find(f, name))
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s",
				 *got ? " " : "", name);
		p += n + (p[n] == ' ');
	}
	assert_string_equal(got, want);
}

/*
 * An open through a name the kernel still caches after an eviction (its
 * invalidation is queued, not yet sent) reaches an inode with no data left:
 * ESTALE makes the kernel look the name up again and retry, so a writer's
 * open(O_CREAT|O_TRUNC) of the evicted name creates a new file.  It was
 * ENOENT: the writer's create failed.
 */
static void test_open_of_evicted_file_is_estale(void **state)
{
	struct fixture *f = *state;
	struct kvfs_inode *ino = t_make(f, "ev", 64 * 1024, 7);
	struct kvfs_handle *h;
	struct kvfs_entry e;

	assert_int_equal(kvfs_ns_lookup(&f->kv.ns, &f->a, f->kv.ns.root, "ev", &e), 0);
	assert_ptr_equal(e.ino, ino); /* the kernel's reference */
	assert_int_equal(kvfs_ns_evict(&f->kv.ns, ino), 0);
	assert_null(t_find(f, "ev"));
	assert_true(ino->gone);
	assert_int_equal(kvfs_file_open(&f->kv.ns, &f->a, ino, O_WRONLY | O_TRUNC, 0, &h),
			 -ESTALE);
	assert_int_equal(kvfs_file_open(&f->kv.ns, &f->a, ino, O_RDONLY, 0, &h), -ESTALE);
	kvfs_ns_forget(&f->kv.ns, ino, 1);
}

static void test_ssd_room_evicts_in_policy_order(void **state)
{
	struct fixture *f = *state;
	const char *all = "pin par child a b";
	struct kvfs_inode *child;
	struct kvfs_handle *h;

	/* Coldest first: pin, par, a, child, b. */
	assert_int_equal(kvfs_xattr_set(&f->kv.ns, t_aged(f, "pin", 1000),
					"user.kvfs.pin", "1", 1, 0), 0);
	t_aged(f, "par", 900);
	t_aged(f, "a", 500);
	child = t_aged(f, "child", 100);
	assert_int_equal(kvfs_xattr_set(&f->kv.ns, child, "user.kvfs.parent", "par", 3, 0), 0);
	t_aged(f, "b", 50);

	/* Each call needs 4 KiB plus slack (2 MiB): one 3 MiB file. */
	t_fill_ssd(f);
	assert_int_equal(kvfs_store_ssd_room(&f->kv.store, 4096, NULL), 0);
	t_present(f, all, "pin par child b");
	assert_int_equal(kvfs_ssd_free(f->kv.ssd), 3 * MiB);

	/* The child is open, so it cannot go: nor can the parent it names. */
	assert_int_equal(kvfs_file_open(&f->kv.ns, &f->a, child, O_RDONLY, 0, &h), 0);
	t_fill_ssd(f);
	assert_int_equal(kvfs_store_ssd_room(&f->kv.store, 4096, NULL), 0);
	t_present(f, all, "pin par child");
	kvfs_file_release(&f->kv.ns, h);

	/* Leaf-first: the child goes before its colder parent. */
	t_fill_ssd(f);
	assert_int_equal(kvfs_store_ssd_room(&f->kv.store, 4096, NULL), 0);
	t_present(f, all, "pin par");
	t_fill_ssd(f);
	assert_int_equal(kvfs_store_ssd_room(&f->kv.store, 4096, NULL), 0);
	t_present(f, all, "pin");

	/* Only the pinned file is left: no room, and it stays. */
	t_fill_ssd(f);
	assert_int_equal(kvfs_store_ssd_room(&f->kv.store, 4096, NULL), -ENOSPC);
	t_present(f, all, "pin");
	assert_int_equal(atomic_load(&f->kv.store.stats.ssd_evictions), 4);
	t_expect(f, "pin", 0, 3 * MiB, 1000);
}

/* ---- memory reclaim ---- */

static void test_reclaim_demotes_stored_files(void **state)
{
	struct fixture *f = *state;
	char name[16];
	int i;

	/* 8 x 3 MiB through a 16 MiB arena: each write that finds memory
	 * full makes room by demoting the stored files before it. */
	for (i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		assert_int_equal(kvfs_store_fsync(&f->kv.store, t_make(f, name, 3 * MiB, (unsigned)i)), 0);
	}
	assert_true(atomic_load(&f->kv.store.stats.demotions) > 0);
	t_tier(f, t_find(f, "s0"), "ssd");
	t_tier(f, t_find(f, "s7"), "memory+ssd");

	/* An explicit request: frees by demotion, without evicting. */
	assert_int_equal(kvfs_store_reclaim(&f->kv.store, 14 * MiB, NULL), 0);
	assert_true(mem_free(f) >= 14 * MiB);
	t_tier(f, t_find(f, "s7"), "ssd");
	assert_int_equal(atomic_load(&f->kv.store.stats.mem_evictions), 0);
	assert_int_equal(atomic_load(&f->kv.store.stats.ssd_evictions), 0);

	/* Every file reads back (promotions demote others in turn). */
	for (i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		t_expect(f, name, 0, 3 * MiB, (unsigned)i);
	}
	assert_true(atomic_load(&f->kv.store.stats.promotions) >= 8);
}

/* kvfs_tier_check() accepts every state a real file passes through and
 * refuses each broken one (the test build asserts it at every transition). */
static void test_tier_check_catches_broken_states(void **state)
{
	struct fixture *f = *state;
	struct kvfs_inode *ino;
	uint64_t saved;

	ino = t_make(f, "t", 3 * MiB, 7);
	assert_int_equal(kvfs_tier_check(ino), 0);             /* MEM */
	assert_int_equal(kvfs_store_fsync(&f->kv.store, ino), 0);
	assert_int_equal(kvfs_tier_check(ino), 0);             /* BOTH */
	assert_int_equal(kvfs_store_reclaim(&f->kv.store, 14 * MiB, NULL), 0);
	t_tier(f, ino, "ssd");
	assert_int_equal(kvfs_tier_check(ino), 0);             /* SSD */
	assert_int_equal(kvfs_inode_check(ino), 0);

	ino->t.has_stored = 0;                                 /* not resident, not stored */
	assert_int_equal(kvfs_tier_check(ino), -EUCLEAN);
	ino->t.has_stored = 1;
	saved = ino->t.stored_bytes;                           /* runs and count disagree */
	ino->t.stored_bytes = saved + 4096;
	assert_int_equal(kvfs_tier_check(ino), -EUCLEAN);
	assert_int_equal(kvfs_inode_check(ino), -EUCLEAN);
	ino->t.stored_bytes = saved;
	ino->size++;                                           /* current copy, other size */
	assert_int_equal(kvfs_tier_check(ino), -EUCLEAN);
	ino->size--;
	assert_int_equal(kvfs_tier_check(ino), 0);
	t_expect(f, "t", 0, 3 * MiB, 7);                       /* SSD -> BOTH */
	assert_int_equal(kvfs_tier_check(ino), 0);
}

/* write_policy=back without fsync: reclaim writes cold files to the SSD
 * first, then demotes them. */
static void test_reclaim_flushes_cold_files(void **state)
{
	struct fixture *f = *state;
	char name[16];
	int i;

	for (i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "w%d", i);
		t_make(f, name, 3 * MiB, (unsigned)i + 100);
	}
	assert_true(atomic_load(&f->kv.store.stats.flushes) > 0);
	assert_true(atomic_load(&f->kv.store.stats.demotions) > 0);
	for (i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "w%d", i);
		t_expect(f, name, 0, 3 * MiB, (unsigned)i + 100);
	}
}

/* ---- a batch's writes overlap ---- */

static void t_put_open(struct fixture *f, struct kvfs_inode *ino)
{
	pthread_rwlock_wrlock(&f->kv.ns.lock);
	kvfs_ns_put_open(&f->kv.ns, ino);
	pthread_rwlock_unlock(&f->kv.ns.lock);
}

/* Holds a file's lock for writing until the batch has written `until`
 * bytes: by then the flusher has tried the lock and gone on without it. */
struct t_holder {
	struct fixture *f;
	struct kvfs_inode *ino;
	uint64_t until;
	sem_t held;
};

static void *t_hold(void *arg)
{
	struct t_holder *h = arg;

	pthread_rwlock_wrlock(&h->ino->lock);
	sem_post(&h->held);
	while (atomic_load(&h->f->kv.store.stats.flushed_bytes) < h->until)
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	pthread_rwlock_unlock(&h->ino->lock);
	return NULL;
}

/* One batch of four files: each write after the first begins while the
 * one before is in flight; a file whose lock is busy waits for the one
 * before to end and begins alone; every version stored reads back with
 * its checksums after a restart (they were computed during the writes). */
static void test_batch_overlaps_writes(void **state)
{
	struct fixture *f = *state;
	const size_t len = 2 * MiB + MiB / 2;
	struct kvfs_inode *v[4];
	struct t_holder h = { .f = f, .until = 2 * len };
	pthread_t th;
	char name[16], *want = malloc(len);
	int i;

	assert_non_null(want);
	for (i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "o%d", i);
		v[i] = t_make(f, name, len, (unsigned)i + 300);
		v[i]->nopen++; /* the batch's reference, as the flusher's */
	}
	assert_int_equal(kvfs_store_flush_files(&f->kv.store, v, 4), 0);
	assert_int_equal(atomic_load(&f->kv.store.stats.flushes), 4);
	assert_int_equal(atomic_load(&f->kv.store.stats.flush_overlapped), 3);
	for (i = 0; i < 4; i++) {
		t_pattern(want, len, (unsigned)i + 300, 0);
		assert_true(kvfs_inode_stored(v[i]));
		assert_int_equal(v[i]->t.stored.file_crc, kvfs_crc32c(0, want, len));
	}

	/* The third file's lock busy when its turn comes. */
	for (i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		t_put_open(f, v[i]);
		v[i] = t_make(f, name, len, (unsigned)i + 400);
		v[i]->nopen++;
	}
	h.ino = v[2];
	h.until += atomic_load(&f->kv.store.stats.flushed_bytes);
	assert_int_equal(sem_init(&h.held, 0, 0), 0);
	assert_int_equal(pthread_create(&th, NULL, t_hold, &h), 0);
	sem_wait(&h.held);
	assert_int_equal(kvfs_store_flush_files(&f->kv.store, v, 4), 0);
	pthread_join(th, NULL);
	sem_destroy(&h.held);
	assert_int_equal(atomic_load(&f->kv.store.stats.flushes), 8);
	assert_int_equal(atomic_load(&f->kv.store.stats.flush_overlapped), 3 + 2);
	for (i = 0; i < 4; i++)
		t_put_open(f, v[i]);

	t_reopen(f);
	for (i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "o%d", i);
		t_tier(f, t_find(f, name), "ssd");
		t_expect(f, name, 0, len, (unsigned)i + 300);
		snprintf(name, sizeof(name), "p%d", i);
		t_tier(f, t_find(f, name), "ssd");
		t_expect(f, name, 0, len, (unsigned)i + 400);
	}
	assert_int_equal(atomic_load(&f->kv.store.stats.crc_errors), 0);
	free(want);
}

struct t_fsyncer {
	struct fixture *f;
	struct kvfs_inode *ino;
	atomic_int done;
	int r;
};

static void *t_fsync(void *arg)
{
	struct t_fsyncer *y = arg;

	y->r = kvfs_store_fsync(&y->f->kv.store, y->ino);
	atomic_store(&y->done, 1);
	return NULL;
}

/* A file whose write another flush has in flight (the flusher's batch and
 * a reclaimer's flush_cold pick the same coldest files) is not written a
 * second time: that flush skips it, and fsync waits for the first one's
 * commit instead of failing or writing beside it. */
static void test_flush_in_flight_not_twice(void **state)
{
	struct fixture *f = *state;
	struct kvfs_store *st = &f->kv.store;
	const size_t len = 2 * MiB + MiB / 2;
	struct kvfs_inode *ino = t_make(f, "twice", len, 500);
	struct t_fsyncer y = { .f = f, .ino = ino };
	uint64_t bytes0 = atomic_load(&st->stats.flushed_bytes);
	uint64_t n0 = atomic_load(&st->stats.flushes);
	pthread_t th;

	ino->nopen++; /* the batch's reference */
	pthread_rwlock_rdlock(&ino->lock);
	assert_int_equal(kvfs_tier_flush_claim(ino), 1); /* "another flush" */
	assert_int_equal(kvfs_tier_flush_claim(ino), 0);
	pthread_rwlock_unlock(&ino->lock);

	assert_int_equal(kvfs_store_flush_files(st, &ino, 1), 0);
	assert_int_equal(atomic_load(&st->stats.flushed_bytes), bytes0);
	assert_int_equal(atomic_load(&st->stats.flushes), n0);
	assert_false(kvfs_inode_stored(ino));

	assert_int_equal(pthread_create(&th, NULL, t_fsync, &y), 0);
	usleep(50 * 1000);
	assert_int_equal(atomic_load(&y.done), 0); /* waiting, not -EIO */
	kvfs_tier_flush_done(ino);
	pthread_join(th, NULL);
	assert_int_equal(y.r, 0);
	assert_true(kvfs_inode_stored(ino));
	assert_int_equal(atomic_load(&st->stats.flushed_bytes), bytes0 + len);
	assert_int_equal(atomic_load(&st->stats.flushes), n0 + 1);
	/* The claim was let go at the commit: the next flush takes it. */
	pthread_rwlock_rdlock(&ino->lock);
	assert_int_equal(kvfs_tier_flush_claim(ino), 1);
	pthread_rwlock_unlock(&ino->lock);
	kvfs_tier_flush_done(ino);
	t_put_open(f, ino);

	t_reopen(f);
	t_tier(f, t_find(f, "twice"), "ssd");
	t_expect(f, "twice", 0, len, 500);
	assert_int_equal(atomic_load(&f->kv.store.stats.crc_errors), 0);
}

/* ---- backpressure (admit.c) ---- */

static int32_t t_bind(void *arg, int fd)
{
	(void)arg; (void)fd;
	return 1;
}

/* Closes (publishes) and releases a writer made by kvfs_ns_create. */
static void t_done(struct fixture *f, struct kvfs_handle *h, struct kvfs_inode *ino)
{
	assert_int_equal(kvfs_file_flush(&f->kv.ns, &f->a, h), 0);
	kvfs_file_release(&f->kv.ns, h);
	kvfs_ns_forget(&f->kv.ns, ino, 1);
}

/* Bound writers reserve mem=/2 each (8 MiB here) in the tmpfs (16 MiB and
 * 16 MiB of headroom): with 12 MiB of stored files in memory, the third
 * open finds 20 MiB free for 24 MiB of reservations and demotes stored
 * files before it is bound; none goes on without room.  The room made is
 * free or already the writers' (the pages each is given at its open,
 * kvfs_data_prealloc). */
static void test_admit_bound_writer_reclaims_first(void **state)
{
	struct fixture *f = *state;
	struct kvfs_ns *ns = &f->kv.ns;
	struct kvfs_handle *h[3];
	struct kvfs_entry e[3];
	uint64_t dem0, given;
	char name[16];
	int i;

	if (!f->kv.mem.own_tmpfs)
		skip(); /* the headroom is the daemon's own tmpfs's (root) */
	for (i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		assert_int_equal(kvfs_store_fsync(&f->kv.store, t_make(f, name, 3 * MiB, (unsigned)i)), 0);
	}
	dem0 = atomic_load(&f->kv.store.stats.demotions);
	ns->hooks.bind = t_bind;
	atomic_store(&ns->passthrough, 1);
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "w%d", i);
		assert_int_equal(kvfs_ns_create(ns, &f->a, ns->root, name, 0644, O_WRONLY,
						&e[i], &h[i]), 0);
		assert_int_equal(h[i]->passthrough, 1);
	}
	assert_true(atomic_load(&f->kv.store.stats.demotions) > dem0);
	given = 0;
	for (i = 0; i < 3; i++)
		given += kvfs_data_allocated(&e[i].ino->data);
	assert_true(kvfs_mem_room(&f->kv.mem) + given >= 24 * MiB);
	assert_true(atomic_load(&ns->admit.waits) >= 1);
	assert_int_equal(atomic_load(&ns->admit.no_room), 0);
	for (i = 0; i < 3; i++)
		t_done(f, h[i], e[i].ino);
	assert_int_equal(ns->admit.n, 0);
	atomic_store(&ns->passthrough, 0);
	ns->hooks.bind = NULL;
	t_expect(f, "s0", 0, 3 * MiB, 0);
}

struct t_later {
	struct fixture *f;
	struct kvfs_handle *h;
	struct kvfs_inode *ino;
	atomic_int done;
};

static void *t_release_later(void *arg)
{
	struct t_later *l = arg;
	struct timespec ts = { 0, 200 * 1000000 };

	nanosleep(&ts, NULL);
	atomic_store(&l->done, 1);
	t_done(l->f, l->h, l->ino);
	return NULL;
}

/* Served writers: two open ones reserve all of mem= (8 MiB each), so a
 * third open waits for a release, then goes on with room.  An in-place
 * writer (an existing file, not truncated) is not held back. */
static void test_admit_served_writer_waits_for_release(void **state)
{
	struct fixture *f = *state;
	struct kvfs_ns *ns = &f->kv.ns;
	struct kvfs_handle *h[3];
	struct kvfs_entry e[3];
	struct t_later l = { 0 };
	struct kvfs_inode *old = t_make(f, "old", MiB, 5);
	struct kvfs_handle *rw;
	pthread_t t;

	assert_int_equal(kvfs_ns_create(ns, &f->a, ns->root, "a", 0644, O_WRONLY, &e[0], &h[0]), 0);
	assert_int_equal(kvfs_ns_create(ns, &f->a, ns->root, "b", 0644, O_WRONLY, &e[1], &h[1]), 0);
	assert_int_equal(atomic_load(&ns->admit.waits), 0);
	assert_int_equal(kvfs_file_open(ns, &f->a, old, O_RDWR, 0, &rw), 0);
	assert_false(rw->admitted);
	assert_int_equal(kvfs_file_flush(ns, &f->a, rw), 0);
	kvfs_file_release(ns, rw);
	assert_int_equal(atomic_load(&ns->admit.waits), 0);
	l.f = f;
	l.h = h[0];
	l.ino = e[0].ino;
	assert_int_equal(pthread_create(&t, NULL, t_release_later, &l), 0);
	assert_int_equal(kvfs_ns_create(ns, &f->a, ns->root, "c", 0644, O_WRONLY, &e[2], &h[2]), 0);
	assert_int_equal(atomic_load(&l.done), 1); /* not before the release */
	assert_int_equal(atomic_load(&ns->admit.waits), 1);
	assert_int_equal(atomic_load(&ns->admit.no_room), 0);
	pthread_join(t, NULL);
	t_done(f, h[1], e[1].ino);
	t_done(f, h[2], e[2].ino);
	assert_int_equal(ns->admit.n, 0);
}

/* ---- rule 4 ---- */


/* An after_commit callback that holds the index's writer until released. */
static void t_hold_writer(void *arg, int err)
{
	(void)arg; (void)err;
	while (sem_wait(&t_gate) != 0)
		;
}

/* The soff of chunk 0 in the committed row of `id`, read with SQL. */
static uint64_t t_committed_soff(struct fixture *f, uint64_t id)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/index.db", f->state);
	return t_map_soff(path, id, 0);
}

static void test_old_runs_freed_after_commit(void **state)
{
	struct fixture *f = *state;
	struct kvfs_inode *ino = t_make(f, "v.kv", MiB, 1);
	struct kvfs_handle *h;
	uint64_t old, new_soff, free_stored;
	char b = 'x';

	assert_int_equal(kvfs_store_fsync(&f->kv.store, ino), 0);
	old = ino->t.stored.c[0].soff;
	assert_int_equal(t_committed_soff(f, ino->id), old);
	free_stored = kvfs_ssd_free(f->kv.ssd);

	/* Hold the writer, then rewrite and store the file again. */
	assert_int_equal(sem_init(&t_gate, 0, 0), 0);
	assert_int_equal(kvfs_index_after_commit(f->kv.index, t_hold_writer, NULL), 0);
	t_gate_held = 1;
	assert_int_equal(kvfs_file_open(&f->kv.ns, &f->a, ino, O_WRONLY, 0, &h), 0);
	assert_int_equal(kvfs_file_write(&f->kv.ns, h, &b, 1, 10), 1);
	assert_int_equal(kvfs_file_flush(&f->kv.ns, &f->a, h), 0);
	kvfs_file_release(&f->kv.ns, h);
	assert_int_equal(kvfs_store_flush_files(&f->kv.store, &ino, 1), 0);
	new_soff = ino->t.stored.c[0].soff;
	assert_true(new_soff != old);                       /* rule 1 */

	/* Not committed yet: the row still points at the old run, which
	 * stays allocated. */
	assert_int_equal(t_committed_soff(f, ino->id), old);
	assert_int_equal(kvfs_ssd_take_at(f->kv.ssd, old, MiB), -EBUSY);
	assert_int_equal(kvfs_ssd_free(f->kv.ssd), free_stored - MiB);

	/* Committed: the row points at the new run, the old one is free. */
	t_gate_held = 0;
	sem_post(&t_gate);
	assert_int_equal(kvfs_index_sync(f->kv.index, 1), 0);
	assert_int_equal(t_committed_soff(f, ino->id), new_soff);
	assert_int_equal(kvfs_ssd_free(f->kv.ssd), free_stored);
	assert_int_equal(kvfs_ssd_take_at(f->kv.ssd, old, MiB), 0);
	assert_int_equal(kvfs_ssd_give(f->kv.ssd, old, MiB), 0);
	sem_destroy(&t_gate);

	/* Unlink: the run is given back once the deletion commits. */
	assert_int_equal(kvfs_ns_unlink(&f->kv.ns, &f->a, f->kv.ns.root, "v.kv"), 0);
	assert_int_equal(kvfs_index_sync(f->kv.index, 1), 0);
	assert_int_equal(kvfs_ssd_free(f->kv.ssd), free_stored + MiB);
	assert_int_equal(kvfs_ssd_check(f->kv.ssd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_store_round_trip, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_bad_maps_dropped_at_load_not_counted, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_flipped_byte_is_eio, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_ssd_room_evicts_in_policy_order, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_open_of_evicted_file_is_estale, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_reclaim_demotes_stored_files, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_reclaim_flushes_cold_files, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_tier_check_catches_broken_states, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_batch_overlaps_writes, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_flush_in_flight_not_twice, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_old_runs_freed_after_commit, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_admit_bound_writer_reclaims_first, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_admit_served_writer_waits_for_release, t_setup, t_teardown),
	};

	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
