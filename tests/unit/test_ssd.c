/*
 * test_ssd.c - unit tests of the SSD slab store (fs/ssd.c): making a store
 * in a temp directory (slab files, headers, slab size), writes and reads
 * from plain buffers and from a registered "arena" compared byte for byte,
 * data and id surviving a reopen, growing, the allocator (runs never cross
 * slabs, exact lengths, ENOSPC, bad gives), batches deeper than a ring,
 * threads sharing the rings, sync, and every open error the machine can
 * produce (missing dir, a file, too small, too big, damaged, missing or
 * foreign slabs, a store in use, read-only when not root).
 *
 * Stores live in t_tmpdir directories (under $KVFS_TEST_TMP or /tmp, which
 * must support fallocate: ext4, xfs, tmpfs); each test removes its own.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ssd.h"

#include "t_util.h"

#define MiB (1ull << 20)
#define T_SIZE (64 * MiB)        /* smallest store: 4 slabs of 16 MiB */
#define T_SLAB (16 * MiB)
#define T_STRIDE (KVFS_SSD_HDR + T_SLAB)

static char t_dir[256];
static int t_nfds;  /* open fds when the test began */

static int t_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static int t_setup(void **state)
{
	(void)state;
	t_tmpdir(t_dir, sizeof(t_dir), "ssd");
	t_nfds = t_count_fds();
	return 0;
}

static int t_teardown(void **state)
{
	int nfds = t_count_fds();

	(void)state;
	assert_int_equal(t_rmtree(t_dir), 0);
	assert_int_equal(nfds, t_nfds); /* nothing leaked, errors included */
	return 0;
}

static struct kvfs_ssd *t_open(uint64_t size)
{
	struct kvfs_ssd *s = NULL;
	char msg[256] = "";
	int rc = kvfs_ssd_open(&s, t_dir, size, msg, sizeof(msg));

	if (rc)
		fprintf(stderr, "open: %d %s\n", rc, msg);
	assert_int_equal(rc, 0);
	assert_non_null(s);
	assert_int_equal(kvfs_ssd_check(s), 0);
	return s;
}

static int t_open_err(uint64_t size, char *msg, size_t msgsz)
{
	struct kvfs_ssd *s = (struct kvfs_ssd *)1;
	int rc = kvfs_ssd_open(&s, t_dir, size, msg, msgsz);

	assert_null(s);
	return rc;
}

static void *t_buf(size_t len)
{
	void *p = aligned_alloc(KVFS_SSD_UNIT, len);

	assert_non_null(p);
	return p;
}

/* buf holds t_fill(seed)'s bytes (data misplaced or from another run
 * differs). */
static void t_check(const void *buf, size_t len, uint64_t seed)
{
	void *want = malloc(len);

	assert_non_null(want);
	t_fill(want, len, seed);
	assert_memory_equal(buf, want, len);
	free(want);
}

static int t_exists(const char *name)
{
	char path[400];

	snprintf(path, sizeof(path), "%s/%s", t_dir, name);
	return access(path, F_OK) == 0;
}

static int64_t t_file_size(const char *name)
{
	char path[400];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", t_dir, name);
	return stat(path, &st) == 0 ? st.st_size : -1;
}

/* Writes one run with pattern `seed` and reads it back. */
static void t_write_run(struct kvfs_ssd *s, uint64_t soff, uint32_t len, uint64_t seed)
{
	struct kvfs_ssd_io io = { soff, len, t_buf(len), 1 };

	t_fill(io.buf, len, seed);
	assert_int_equal(kvfs_ssd_write(s, &io, 1), 0);
	assert_int_equal(io.res, (int)len);
	free(io.buf);
}

static void t_read_run(struct kvfs_ssd *s, uint64_t soff, uint32_t len, uint64_t seed)
{
	struct kvfs_ssd_io io = { soff, len, t_buf(len), 1 };

	memset(io.buf, 0xee, len);
	assert_int_equal(kvfs_ssd_read(s, &io, 1), 0);
	assert_int_equal(io.res, (int)len);
	t_check(io.buf, len, seed);
	free(io.buf);
}

static void test_open_new(void **state)
{
	struct kvfs_slab_hdr h;
	struct kvfs_ssd_stats st;
	struct kvfs_ssd *s;
	char path[400];
	int fd;

	(void)state;
	s = t_open(T_SIZE);
	assert_int_equal(kvfs_ssd_capacity(s), T_SIZE);
	assert_int_equal(kvfs_ssd_free(s), T_SIZE);
	assert_true(kvfs_ssd_id(s) != 0);
	kvfs_ssd_stats(s, &st);
	assert_int_equal(st.direct, 1);
	assert_int_equal(st.uring, 1);
	assert_int_equal(st.reads + st.writes + st.syncs + st.errors, 0);
	assert_int_equal(t_file_size("kvfs-slab-0000"), T_STRIDE);
	assert_int_equal(t_file_size("kvfs-slab-0003"), T_STRIDE);
	assert_false(t_exists("kvfs-slab-0004"));
	assert_false(t_exists("kvfs-slab-0003.tmp"));
	/* The header on disk, field by field. */
	snprintf(path, sizeof(path), "%s/kvfs-slab-0002", t_dir);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &h, sizeof(h), 0), sizeof(h));
	close(fd);
	assert_memory_equal(h.magic, "KVFSSLAB", 8);
	assert_int_equal(h.version, 1);
	assert_int_equal(h.slab, 2);
	assert_int_equal(h.slab_size, T_SLAB);
	assert_int_equal(h.store_id, kvfs_ssd_id(s));
	assert_true(h.created > 1600000000);
	kvfs_ssd_close(s);
	kvfs_ssd_close(NULL);
}

/* size / 8 in 4 MiB steps, at least 16 MiB; the size rounded up to slabs. */
static void test_slab_size(void **state)
{
	struct kvfs_ssd *s;
	char name[32];
	int i;

	(void)state;
	s = t_open(200 * MiB); /* 25 MiB -> 24 MiB slabs, 9 of them */
	assert_int_equal(kvfs_ssd_capacity(s), 9 * 24 * MiB);
	assert_int_equal(t_file_size("kvfs-slab-0000"), KVFS_SSD_HDR + 24 * MiB);
	for (i = 0; i < 9; i++) {
		assert_int_equal(kvfs_slab_name(name, sizeof(name), (uint32_t)i, ""), 0);
		assert_true(t_exists(name));
	}
	assert_false(t_exists("kvfs-slab-0009"));
	kvfs_ssd_close(s);
	/* Reopened with another size: the slab size stays 24 MiB. */
	s = t_open(100 * MiB);
	assert_int_equal(kvfs_ssd_capacity(s), 5 * 24 * MiB);
	kvfs_ssd_close(s);
}

static void test_write_read_reopen(void **state)
{
	static const uint32_t lens[] = { 4096, 65536, 1 << 20, 12288, T_SLAB, 4096 };
	uint64_t soff[6], id, near = UINT64_MAX;
	struct kvfs_ssd_stats st;
	struct kvfs_ssd *s;
	int i;

	(void)state;
	s = t_open(T_SIZE);
	for (i = 0; i < 6; i++) {
		assert_int_equal(kvfs_ssd_alloc(s, lens[i], near, &soff[i]), 0);
		t_write_run(s, soff[i], lens[i], 100 + i);
		near = soff[i] + lens[i];
	}
	for (i = 0; i < 6; i++)
		t_read_run(s, soff[i], lens[i], 100 + i);
	assert_int_equal(kvfs_ssd_sync(s), 0);
	kvfs_ssd_stats(s, &st);
	assert_int_equal(st.writes, 6);
	assert_int_equal(st.reads, 6);
	assert_int_equal(st.write_bytes, st.read_bytes);
	assert_true(st.syncs >= 2); /* the whole-slab run is in another slab */
	assert_int_equal(st.errors, 0);
	id = kvfs_ssd_id(s);
	kvfs_ssd_close(s);

	s = t_open(T_SIZE);
	assert_int_equal(kvfs_ssd_id(s), id);
	/* A new store's allocator is empty: the index takes runs back. */
	assert_int_equal(kvfs_ssd_free(s), T_SIZE);
	for (i = 0; i < 6; i++) {
		assert_int_equal(kvfs_ssd_take_at(s, soff[i], lens[i]), 0);
		t_read_run(s, soff[i], lens[i], 100 + i);
	}
	assert_int_equal(kvfs_ssd_take_at(s, soff[0], lens[0]), -EBUSY);
	assert_int_equal(kvfs_ssd_check(s), 0);
	kvfs_ssd_close(s);
}

/* Fills the store with runs of random lengths; checks every run's shape. */
static void test_alloc_runs(void **state)
{
	struct kvfs_ssd *s;
	uint64_t *offs = calloc(70000, sizeof(uint64_t)), total = 0, soff, first;
	uint32_t *lens = calloc(70000, sizeof(uint32_t)), len;
	int n = 0, i, rc;

	(void)state;
	assert_non_null(offs);
	assert_non_null(lens);
	s = t_open(T_SIZE);
	srand(4242);
	for (;;) {
		len = (1 + (uint32_t)rand() % 64) * KVFS_SSD_UNIT;
		rc = kvfs_ssd_alloc(s, len, n && rand() % 2 ? offs[n - 1] + lens[n - 1] : UINT64_MAX,
				    &soff);
		if (rc == -ENOSPC && kvfs_ssd_free(s) >= 64 * KVFS_SSD_UNIT)
			continue; /* a long run failed, others still fit */
		if (rc == -ENOSPC) {
			if (kvfs_ssd_free(s) == 0)
				break;
			len = KVFS_SSD_UNIT;
			assert_int_equal(kvfs_ssd_alloc(s, len, UINT64_MAX, &soff), 0);
		} else {
			assert_int_equal(rc, 0);
		}
		/* Inside one slab's data, aligned, exactly len. */
		assert_int_equal(soff % KVFS_SSD_UNIT, 0);
		assert_true(soff % T_STRIDE >= KVFS_SSD_HDR);
		assert_int_equal(soff / T_STRIDE, (soff + len - 1) / T_STRIDE);
		assert_true(soff + len <= 4 * T_STRIDE);
		offs[n] = soff;
		lens[n++] = len;
		total += len;
		assert_int_equal(kvfs_ssd_free(s), T_SIZE - total);
	}
	assert_int_equal(total, T_SIZE);
	assert_int_equal(kvfs_ssd_alloc(s, KVFS_SSD_UNIT, UINT64_MAX, &soff), -ENOSPC);
	assert_int_equal(kvfs_ssd_check(s), 0);
	/* Double give, gives across a slab or into a header. */
	assert_int_equal(kvfs_ssd_give(s, offs[0], lens[0]), 0);
	assert_int_equal(kvfs_ssd_give(s, offs[0], lens[0]), -EINVAL);
	assert_int_equal(kvfs_ssd_give(s, 0, KVFS_SSD_UNIT), -EINVAL);
	assert_int_equal(kvfs_ssd_give(s, T_STRIDE - KVFS_SSD_UNIT, 2 * KVFS_SSD_UNIT), -EINVAL);
	assert_int_equal(kvfs_ssd_give(s, 4 * T_STRIDE + KVFS_SSD_UNIT, KVFS_SSD_UNIT), -EINVAL);
	assert_int_equal(kvfs_ssd_give(s, offs[1] + 1, KVFS_SSD_UNIT), -EINVAL);
	for (i = 1; i < n; i++)
		assert_int_equal(kvfs_ssd_give(s, offs[i], lens[i]), 0);
	assert_int_equal(kvfs_ssd_free(s), T_SIZE);
	assert_int_equal(kvfs_ssd_check(s), 0);
	/* Whole slabs: exactly four fit; a run past a slab is refused. */
	for (i = 0; i < 4; i++) {
		assert_int_equal(kvfs_ssd_alloc(s, T_SLAB, UINT64_MAX, &soff), 0);
		assert_int_equal(soff % T_STRIDE, KVFS_SSD_HDR);
	}
	assert_int_equal(kvfs_ssd_alloc(s, T_SLAB, UINT64_MAX, &soff), -ENOSPC);
	assert_int_equal(kvfs_ssd_alloc(s, T_SLAB + KVFS_SSD_UNIT, UINT64_MAX, &soff), -EINVAL);
	assert_int_equal(kvfs_ssd_alloc(s, 0, UINT64_MAX, &soff), -EINVAL);
	assert_int_equal(kvfs_ssd_alloc(s, 100, UINT64_MAX, &soff), -EINVAL);
	for (i = 0; i < 4; i++)
		assert_int_equal(kvfs_ssd_give(s, (uint64_t)i * T_STRIDE + KVFS_SSD_HDR, T_SLAB), 0);
	/* near: taken there when free; take_at's errors. */
	assert_int_equal(kvfs_ssd_alloc(s, 8192, 2 * T_STRIDE + 40960, &soff), 0);
	assert_int_equal(soff, 2 * T_STRIDE + 40960);
	assert_int_equal(kvfs_ssd_alloc(s, 8192, soff, &first), 0);
	assert_true(first != soff);
	assert_int_equal(kvfs_ssd_take_at(s, soff, 4096), -EBUSY);
	assert_int_equal(kvfs_ssd_take_at(s, T_STRIDE, 4096), -EINVAL);
	assert_int_equal(kvfs_ssd_take_at(s, 4 * T_STRIDE + 4096, 4096), -EINVAL);
	assert_int_equal(kvfs_ssd_take_at(s, 2 * T_STRIDE - 4096, 8192), -EINVAL);
	assert_int_equal(kvfs_ssd_check(s), 0);
	kvfs_ssd_close(s);
	free(offs);
	free(lens);
}

/* 300 transfers in one batch (ring depth 64), with bad ones mixed in. */
static void test_big_batch(void **state)
{
	enum { N = 300, LEN = 64 * 1024 };
	struct kvfs_ssd_io *v = calloc(N + 4, sizeof(*v));
	char *buf = t_buf((size_t)N * LEN);
	struct kvfs_ssd_stats st;
	struct kvfs_ssd *s;
	int i;

	(void)state;
	assert_non_null(v);
	s = t_open(T_SIZE);
	for (i = 0; i < N; i++) {
		v[i].len = LEN;
		v[i].buf = buf + (size_t)i * LEN;
		assert_int_equal(kvfs_ssd_alloc(s, LEN, UINT64_MAX, &v[i].soff), 0);
		t_fill(v[i].buf, LEN, 1000 + i);
	}
	assert_int_equal(kvfs_ssd_write(s, v, N), 0);
	memset(buf, 0, (size_t)N * LEN);
	/* Read back in reverse order, plus four invalid transfers. */
	for (i = 0; i < N / 2; i++) {
		struct kvfs_ssd_io t = v[i];

		v[i] = v[N - 1 - i];
		v[N - 1 - i] = t;
	}
	v[N] = (struct kvfs_ssd_io){ T_STRIDE - 4096, 8192, buf, 0 };     /* crosses */
	v[N + 1] = (struct kvfs_ssd_io){ T_STRIDE, 4096, buf, 0 };        /* header */
	v[N + 2] = (struct kvfs_ssd_io){ 4 * T_STRIDE + 4096, 4096, buf, 0 }; /* past end */
	v[N + 3] = (struct kvfs_ssd_io){ 4096, 4096, buf + 512, 0 };      /* unaligned */
	assert_int_equal(kvfs_ssd_read(s, v, N + 4), -EINVAL);
	for (i = 0; i < N; i++) {
		assert_int_equal(v[i].res, LEN);
		t_check(v[i].buf, LEN, 1000 + (N - 1 - i));
	}
	for (i = N; i < N + 4; i++)
		assert_int_equal(v[i].res, -EINVAL);
	kvfs_ssd_stats(s, &st);
	assert_int_equal(st.writes, N);
	assert_int_equal(st.reads, N);
	assert_int_equal(st.errors, 4);
	assert_int_equal(kvfs_ssd_read(s, v, 0), 0);
	assert_int_equal(kvfs_ssd_read(s, v, -1), -EINVAL);
	kvfs_ssd_close(s);
	free(buf);
	free(v);
}

/* More threads than rings, each writing and reading its own runs. */
struct t_thread {
	struct kvfs_ssd *s;
	int id;
	int failures;
};

static void *t_worker(void *arg)
{
	enum { RUNS = 16, LEN = 32 * 1024 };
	struct t_thread *t = arg;
	struct kvfs_ssd_io v[RUNS];
	char *buf = aligned_alloc(KVFS_SSD_UNIT, RUNS * LEN), *want = malloc(LEN);
	int round, i;

	for (round = 0; buf && want && round < 20; round++) {
		for (i = 0; i < RUNS; i++) {
			v[i] = (struct kvfs_ssd_io){ 0, LEN, buf + i * LEN, 0 };
			if (kvfs_ssd_alloc(t->s, LEN, UINT64_MAX, &v[i].soff))
				t->failures++;
			t_fill(v[i].buf, LEN, (uint64_t)t->id << 32 | (uint64_t)round << 8 | i);
		}
		t->failures += kvfs_ssd_write(t->s, v, RUNS) != 0;
		memset(buf, 0, RUNS * LEN);
		t->failures += kvfs_ssd_read(t->s, v, RUNS) != 0;
		for (i = 0; i < RUNS; i++) {
			t_fill(want, LEN, (uint64_t)t->id << 32 | (uint64_t)round << 8 | i);
			t->failures += memcmp(want, v[i].buf, LEN) != 0;
			t->failures += kvfs_ssd_give(t->s, v[i].soff, LEN) != 0;
		}
	}
	t->failures += !buf || !want;
	free(buf);
	free(want);
	return NULL;
}

static void test_threads(void **state)
{
	enum { NT = 10 };
	struct t_thread t[NT];
	pthread_t th[NT];
	struct kvfs_ssd *s;
	int i;

	(void)state;
	s = t_open(T_SIZE);
	for (i = 0; i < NT; i++) {
		t[i] = (struct t_thread){ s, i, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, t_worker, &t[i]), 0);
	}
	for (i = 0; i < NT; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(t[i].failures, 0);
	}
	assert_int_equal(kvfs_ssd_free(s), T_SIZE);
	assert_int_equal(kvfs_ssd_check(s), 0);
	kvfs_ssd_close(s);
}

/* Only slabs written since the last sync are synced. */
static void test_sync(void **state)
{
	struct kvfs_ssd_stats st;
	struct kvfs_ssd *s;

	(void)state;
	s = t_open(T_SIZE);
	assert_int_equal(kvfs_ssd_sync(s), 0);
	kvfs_ssd_stats(s, &st);
	assert_int_equal(st.syncs, 0);
	t_write_run(s, KVFS_SSD_HDR, 4096, 1);
	t_write_run(s, 2 * T_STRIDE + KVFS_SSD_HDR, 4096, 2);
	t_write_run(s, 2 * T_STRIDE + 2 * KVFS_SSD_HDR, 4096, 3);
	assert_int_equal(kvfs_ssd_sync(s), 0);
	kvfs_ssd_stats(s, &st);
	assert_int_equal(st.syncs, 2);
	assert_int_equal(kvfs_ssd_sync(s), 0);
	kvfs_ssd_stats(s, &st);
	assert_int_equal(st.syncs, 2);
	kvfs_ssd_close(s);
}

/* A bigger size adds slabs and keeps data; a smaller one leaves them. */
static void test_grow(void **state)
{
	struct kvfs_ssd *s;
	uint64_t id, far;
	int fd;

	(void)state;
	s = t_open(T_SIZE);
	id = kvfs_ssd_id(s);
	t_write_run(s, 3 * T_STRIDE + KVFS_SSD_HDR, 1 << 20, 7);
	kvfs_ssd_close(s);
	/* A crash's leftover temp file is replaced, never counted as a slab. */
	fd = openat(AT_FDCWD, t_dir, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	close(openat(fd, "kvfs-slab-0005.tmp", O_CREAT | O_WRONLY, 0600));
	/* Nor is a name past KVFS_SLABS_MAX (fsck ignores it too): the store
	 * is not "missing" 16 Mi slabs, and the file is left alone. */
	close(openat(fd, "kvfs-slab-16777216", O_CREAT | O_WRONLY, 0600));
	close(fd);

	s = t_open(2 * T_SIZE);
	assert_int_equal(kvfs_ssd_capacity(s), 2 * T_SIZE);
	assert_int_equal(kvfs_ssd_free(s), 2 * T_SIZE);
	assert_int_equal(kvfs_ssd_id(s), id);
	assert_true(t_exists("kvfs-slab-0007"));
	assert_false(t_exists("kvfs-slab-0008"));
	assert_false(t_exists("kvfs-slab-0005.tmp"));
	assert_true(t_exists("kvfs-slab-16777216"));
	t_read_run(s, 3 * T_STRIDE + KVFS_SSD_HDR, 1 << 20, 7);
	far = 7 * T_STRIDE + KVFS_SSD_HDR;
	t_write_run(s, far, 65536, 8);
	kvfs_ssd_close(s);

	s = t_open(2 * T_SIZE);
	t_read_run(s, far, 65536, 8);
	kvfs_ssd_close(s);
}

/* Lowering ssd_size loses no file: the slabs past it stay readable, take
 * no new data, and go once no file lies in them. */
static void test_shrink(void **state)
{
	uint64_t far = 7 * T_STRIDE + KVFS_SSD_HDR, mid = 5 * T_STRIDE + KVFS_SSD_HDR, soff;
	struct kvfs_ssd *s;
	int n = 0;

	(void)state;
	s = t_open(2 * T_SIZE);                 /* 8 slabs */
	t_write_run(s, far, 65536, 8);
	t_write_run(s, mid, 65536, 9);
	kvfs_ssd_close(s);

	s = t_open(T_SIZE);                     /* ssd_size now needs 4 */
	assert_int_equal(kvfs_ssd_capacity(s), T_SIZE);
	/* The index claims both files' runs: they are still there. */
	assert_int_equal(kvfs_ssd_take_at(s, far, 65536), 0);
	assert_int_equal(kvfs_ssd_take_at(s, mid, 65536), 0);
	assert_int_equal(kvfs_ssd_seal(s), 0);
	assert_int_equal(kvfs_ssd_draining(s), 4); /* slab 7 holds a file: 4-7 stay */
	assert_true(t_exists("kvfs-slab-0007"));
	t_read_run(s, far, 65536, 8);
	t_read_run(s, mid, 65536, 9);
	assert_int_equal(kvfs_ssd_free(s), T_SIZE);
	/* New data goes to slabs 0-3 only, until they are full. */
	while (kvfs_ssd_alloc(s, 1 << 20, UINT64_MAX, &soff) == 0) {
		assert_true(soff < 4 * T_STRIDE);
		n++;
	}
	assert_int_equal(n, 4 * (T_SLAB >> 20));
	/* A run given back in a draining slab is not handed out again. */
	assert_int_equal(kvfs_ssd_give(s, mid, 65536), 0);
	assert_int_equal(kvfs_ssd_alloc(s, 65536, UINT64_MAX, &soff), -ENOSPC);
	assert_int_equal(kvfs_ssd_free(s), 0);
	assert_int_equal(kvfs_ssd_check(s), 0);
	kvfs_ssd_close(s);

	/* The file in slab 7 is still claimed, the one in slab 5 is gone:
	 * nothing trails slab 7, so all four stay. */
	s = t_open(T_SIZE);
	assert_int_equal(kvfs_ssd_take_at(s, far, 65536), 0);
	assert_int_equal(kvfs_ssd_seal(s), 0);
	assert_int_equal(kvfs_ssd_draining(s), 4);
	kvfs_ssd_close(s);

	/* No file left past ssd_size: the four slabs are deleted. */
	s = t_open(T_SIZE);
	assert_int_equal(kvfs_ssd_seal(s), 0);
	assert_int_equal(kvfs_ssd_draining(s), 0);
	assert_true(t_exists("kvfs-slab-0003"));
	assert_false(t_exists("kvfs-slab-0004"));
	assert_false(t_exists("kvfs-slab-0007"));
	assert_int_equal(kvfs_ssd_check(s), 0);
	kvfs_ssd_close(s);
	s = t_open(T_SIZE);                     /* and it opens as a 4-slab store */
	assert_int_equal(kvfs_ssd_seal(s), 0);
	assert_int_equal(kvfs_ssd_capacity(s), T_SIZE);
	assert_int_equal(kvfs_ssd_free(s), T_SIZE);
	kvfs_ssd_close(s);
}

static void test_open_errors(void **state)
{
	char msg[256], path[400];
	struct kvfs_ssd *s;
	int fd;

	(void)state;
	assert_int_equal(t_open_err(KVFS_SSD_MIN - 1, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "too small"));
	/* 1 PiB: refused before anything is made. */
	assert_int_equal(t_open_err(1ull << 50, msg, sizeof(msg)), -ENOSPC);
	assert_non_null(strstr(msg, "free, ssd_size=1 PiB needs"));
	assert_non_null(strstr(msg, "choose a smaller ssd_size="));
	assert_false(t_exists("kvfs-slab-0000"));
	/* Missing directory, and a file in its place. */
	snprintf(path, sizeof(path), "%s/none", t_dir);
	assert_int_equal(kvfs_ssd_open(&s, path, T_SIZE, msg, sizeof(msg)), -ENOENT);
	assert_non_null(strstr(msg, "no such directory"));
	snprintf(path, sizeof(path), "%s/file", t_dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(kvfs_ssd_open(&s, path, T_SIZE, msg, sizeof(msg)), -ENOTDIR);
	assert_non_null(strstr(msg, "is not a directory"));
	assert_int_equal(unlink(path), 0);
	/* In use by another open. */
	s = t_open(T_SIZE);
	assert_int_equal(t_open_err(T_SIZE, msg, sizeof(msg)), -EBUSY);
	assert_non_null(strstr(msg, "in use"));
	kvfs_ssd_close(s);
}

/*
 * Read-only: for root, a read-only bind mount of the directory in a child's
 * own mount namespace (skipped where that is not allowed); for anyone else
 * chmod 0555, which does not stop root.
 */
static void t_read_only_child(void)
{
	struct kvfs_ssd *s;
	char msg[256];

	if (unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount(t_dir, t_dir, NULL, MS_BIND, NULL) < 0 ||
	    mount(NULL, t_dir, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
		_exit(77);
	if (kvfs_ssd_open(&s, t_dir, T_SIZE, msg, sizeof(msg)) != -EROFS ||
	    !strstr(msg, "is read-only"))
		_exit(1);
	_exit(0);
}

static void test_read_only(void **state)
{
	char msg[256];
	int status, round;
	pid_t pid;

	(void)state;
	if (geteuid() != 0) {
		assert_int_equal(chmod(t_dir, 0555), 0);
		assert_int_equal(t_open_err(T_SIZE, msg, sizeof(msg)), -EROFS);
		assert_non_null(strstr(msg, "is read-only"));
		assert_int_equal(chmod(t_dir, 0755), 0);
		return;
	}
	/* Empty, then with a store in it. */
	for (round = 0; round < 2; round++) {
		if (round == 1)
			kvfs_ssd_close(t_open(T_SIZE));
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			t_read_only_child();
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		if (WEXITSTATUS(status) == 77)
			skip(); /* no mount namespace here */
		assert_int_equal(WEXITSTATUS(status), 0);
	}
}

/* Flips one byte of a slab file. */
static void t_flip(const char *name, off_t off)
{
	char path[400];
	unsigned char c;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", t_dir, name);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, off), 1);
	c ^= 0x40;
	assert_int_equal(pwrite(fd, &c, 1, off), 1);
	close(fd);
}

static void test_damaged(void **state)
{
	char msg[256], other[300], cmd[800];
	struct kvfs_ssd *s;

	(void)state;
	kvfs_ssd_close(t_open(T_SIZE));
	t_flip("kvfs-slab-0000", 20);
	assert_int_equal(t_open_err(T_SIZE, msg, sizeof(msg)), -EUCLEAN);
	assert_non_null(strstr(msg, "kvfs-slab-0000 has a damaged header; move"));
	t_flip("kvfs-slab-0000", 20);
	t_flip("kvfs-slab-0002", 4095); /* the CRC itself */
	assert_int_equal(t_open_err(T_SIZE, msg, sizeof(msg)), -EUCLEAN);
	assert_non_null(strstr(msg, "kvfs-slab-0002 has a damaged header"));
	t_flip("kvfs-slab-0002", 4095);
	kvfs_ssd_close(t_open(T_SIZE));
	/* A missing slab in the middle. */
	snprintf(cmd, sizeof(cmd), "mv %s/kvfs-slab-0001 %s/saved", t_dir, t_dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(t_open_err(T_SIZE, msg, sizeof(msg)), -EUCLEAN);
	assert_non_null(strstr(msg, "kvfs-slab-0001 is missing"));
	/* Another store's slab in its place. */
	snprintf(other, sizeof(other), "%s/other", t_dir);
	assert_int_equal(mkdir(other, 0755), 0);
	assert_int_equal(kvfs_ssd_open(&s, other, T_SIZE, msg, sizeof(msg)), 0);
	kvfs_ssd_close(s);
	snprintf(cmd, sizeof(cmd), "cp %s/kvfs-slab-0001 %s/", other, t_dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(t_open_err(T_SIZE, msg, sizeof(msg)), -EUCLEAN);
	assert_non_null(strstr(msg, "kvfs-slab-0001 belongs to another store"));
	snprintf(cmd, sizeof(cmd), "mv %s/saved %s/kvfs-slab-0001", t_dir, t_dir);
	assert_int_equal(system(cmd), 0);
	kvfs_ssd_close(t_open(T_SIZE));
	/* A truncated slab. */
	snprintf(cmd, sizeof(cmd), "truncate -s 1M %s/kvfs-slab-0003", t_dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(t_open_err(T_SIZE, msg, sizeof(msg)), -EUCLEAN);
	assert_non_null(strstr(msg, "kvfs-slab-0003 is shorter"));
}

/* A slab cut short under an open store: a read past its end is -EIO, one
 * across its end moves the part before it (resubmitting) and then -EIO. */
static void test_short_read(void **state)
{
	char *buf = t_buf(2 * MiB), path[400];
	uint64_t base = 3 * T_STRIDE;
	struct kvfs_ssd_io v[3];
	struct kvfs_ssd *s;

	(void)state;
	s = t_open(T_SIZE);
	t_write_run(s, base + KVFS_SSD_HDR, 1 << 20, 9);
	snprintf(path, sizeof(path), "%s/kvfs-slab-0003", t_dir);
	assert_int_equal(truncate(path, KVFS_SSD_HDR + MiB / 2), 0);
	v[0] = (struct kvfs_ssd_io){ base + KVFS_SSD_HDR, 1 << 20, buf, 0 };
	v[1] = (struct kvfs_ssd_io){ base + 2 * MiB, 4096, buf + MiB, 0 };
	v[2] = (struct kvfs_ssd_io){ KVFS_SSD_HDR, 4096, buf + MiB + 4096, 0 };
	assert_int_equal(kvfs_ssd_read(s, v, 3), -EIO);
	assert_int_equal(v[0].res, -EIO);
	assert_int_equal(v[1].res, -EIO);
	assert_int_equal(v[2].res, 4096);
	t_check(buf, MiB / 2, 9); /* t_fill's first half is the data's first half */
	kvfs_ssd_close(s);
	free(buf);
}

/*
 * A filesystem that refuses O_DIRECT and a kernel that refuses io_uring,
 * both made by a seccomp filter in a child: openat with O_DIRECT fails
 * EINVAL, io_uring_setup ENOSYS.  The store opens buffered, moves data by
 * pread/pwrite, and says so in its stats.
 */
#if defined(__x86_64__)
#define T_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define T_ARCH AUDIT_ARCH_AARCH64
#endif

#ifdef T_ARCH
#define T_CHILD_CHECK(e) do { if (!(e)) _exit(__LINE__ & 0x7f ? __LINE__ & 0x7f : 1); } while (0)

static void t_refuse_direct_and_uring(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, T_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_openat, 0, 3),
		/* The low 32 bits of the flags (little-endian args). */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, O_DIRECT, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EINVAL),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };

	T_CHILD_CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
	T_CHILD_CHECK(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0);
}

static void t_fallback_child(void)
{
	enum { N = 100, LEN = 16384 };
	struct kvfs_ssd_io v[N];
	char *buf = aligned_alloc(KVFS_SSD_UNIT, N * LEN), *want = malloc(LEN);
	struct kvfs_ssd_stats st;
	struct kvfs_ssd *s;
	char msg[256];
	int i;

	T_CHILD_CHECK(buf && want);
	t_refuse_direct_and_uring();
	T_CHILD_CHECK(kvfs_ssd_open(&s, t_dir, T_SIZE, msg, sizeof(msg)) == 0);
	kvfs_ssd_stats(s, &st);
	T_CHILD_CHECK(st.direct == 0 && st.uring == 0);
	T_CHILD_CHECK(kvfs_ssd_take_at(s, KVFS_SSD_HDR, 65536) == 0); /* the parent's */
	for (i = 0; i < N; i++) {
		v[i] = (struct kvfs_ssd_io){ 0, LEN, buf + i * LEN, 0 };
		T_CHILD_CHECK(kvfs_ssd_alloc(s, LEN, UINT64_MAX, &v[i].soff) == 0);
		t_fill(v[i].buf, LEN, 5000 + i);
	}
	T_CHILD_CHECK(kvfs_ssd_write(s, v, N) == 0);
	T_CHILD_CHECK(kvfs_ssd_sync(s) == 0);
	memset(buf, 0, N * LEN);
	T_CHILD_CHECK(kvfs_ssd_read(s, v, N) == 0);
	for (i = 0; i < N; i++) {
		t_fill(want, LEN, 5000 + i);
		T_CHILD_CHECK(v[i].res == LEN && memcmp(want, v[i].buf, LEN) == 0);
	}
	v[0].soff = 0; /* the header: refused here too */
	T_CHILD_CHECK(kvfs_ssd_read(s, v, 1) == -EINVAL);
	kvfs_ssd_close(s);
	_exit(0);
}
#endif

static void test_fallbacks(void **state)
{
#ifdef T_ARCH
	struct kvfs_ssd *s;
	int status;
	pid_t pid;

	(void)state;
	s = t_open(T_SIZE); /* made normally; the child reopens it */
	t_write_run(s, KVFS_SSD_HDR, 65536, 77);
	kvfs_ssd_close(s);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		t_fallback_child();
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0); /* else the failing line & 0x7f */
	/* What the child wrote by pwrite, read here by io_uring and O_DIRECT. */
	s = t_open(T_SIZE);
	t_read_run(s, KVFS_SSD_HDR, 65536, 77);
	kvfs_ssd_close(s);
#else
	(void)state;
	skip();
#endif
}

#define T(f) cmocka_unit_test_setup_teardown(f, t_setup, t_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_open_new),
		T(test_slab_size),
		T(test_write_read_reopen),
		T(test_alloc_runs),
		T(test_big_batch),
		T(test_threads),
		T(test_sync),
		T(test_short_read),
		T(test_fallbacks),
		T(test_grow),
		T(test_shrink),
		T(test_open_errors),
		T(test_read_only),
		T(test_damaged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
