/*
 * test_extmap.c - unit tests of the per-file extent map (fs/extmap.c) over a
 * small memory tier: random writes, reads, truncates and punches against a
 * reference buffer; holes; rollback on ENOSPC; growth of sequential writers;
 * iovecs; SEEK_DATA/SEEK_HOLE; the checksum.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crc32c.h"
#include "extmap.h"

#include "t_util.h"

#define UNIT KVFS_ALLOC_UNIT
#define MiB (1u << 20)

static uint64_t t_used_units(struct kvfs_mem *mem)
{
	return mem->alloc.nunits - kvfs_alloc_free_units(&mem->alloc);
}

/* Reads [off, off + len) and compares it with ref. */
static void t_expect(const struct kvfs_extmap *m, const struct kvfs_mem *mem,
		     uint64_t off, size_t len, const unsigned char *ref)
{
	unsigned char *buf = malloc(len ? len : 1);

	assert_non_null(buf);
	memset(buf, 0x5a, len);
	kvfs_extmap_read(m, mem, off, buf, len);
	assert_memory_equal(buf, ref, len);
	free(buf);
}

static int t_setup(void **state)
{
	struct kvfs_mem *mem = malloc(sizeof(*mem));

	if (!mem || kvfs_mem_open(mem, 32u * MiB, 0) < 0)
		return -1;
	*state = mem;
	return 0;
}

static int t_teardown(void **state)
{
	struct kvfs_mem *mem = *state;

	assert_int_equal(kvfs_alloc_free_units(&mem->alloc), mem->alloc.nunits);
	kvfs_mem_close(mem);
	free(mem);
	return 0;
}

static void test_holes_read_zero(void **state)
{
	struct kvfs_mem *mem = *state;
	unsigned char *ref = calloc(3 * MiB, 1);
	struct kvfs_extmap m;

	kvfs_extmap_init(&m);
	t_fill(ref + MiB + 100, 5000, 1);
	assert_int_equal(kvfs_extmap_write(&m, mem, MiB + 100, ref + MiB + 100, 5000), 5000);
	assert_int_equal(m.bytes, 2 * UNIT);  /* bytes 1M+100 .. 1M+5100 */
	t_expect(&m, mem, 0, 3 * MiB, ref);
	t_expect(&m, mem, 1ull << 40, 4096, ref);  /* far past the end */
	assert_int_equal(kvfs_extmap_check(&m), 0);
	kvfs_extmap_release(&m, mem);
	free(ref);
}

/* Stale arena bytes must never show through a new unit or a truncation.
 * A three-unit tier forces the second file onto the first one's units. */
static void test_tail_zeroed(void **state)
{
	unsigned char junk[3 * UNIT], zero[3 * UNIT] = { 0 };
	struct kvfs_extmap a, b;
	struct kvfs_mem mem;

	(void)state;
	assert_int_equal(kvfs_mem_open(&mem, 3 * UNIT, 0), 0);
	memset(junk, 0xee, sizeof(junk));
	kvfs_extmap_init(&a);
	kvfs_extmap_init(&b);
	assert_int_equal(kvfs_extmap_write(&a, &mem, 0, junk, sizeof(junk)), sizeof(junk));
	kvfs_extmap_release(&a, &mem);
	assert_int_equal(kvfs_extmap_write(&b, &mem, 10, "x", 1), 1);
	assert_int_equal(kvfs_extmap_alloc(&b, &mem, 0, 3 * UNIT), 0);
	assert_int_equal(kvfs_alloc_free_units(&mem.alloc), 0);
	t_expect(&b, &mem, 0, 10, zero);
	t_expect(&b, &mem, 11, 3 * UNIT - 11, zero);

	/* Truncate into a unit, then extend: the old tail reads zero. */
	assert_int_equal(kvfs_extmap_write(&b, &mem, 0, junk, sizeof(junk)), sizeof(junk));
	assert_int_equal(kvfs_extmap_truncate(&b, &mem, 5000), 0);
	assert_int_equal(kvfs_extmap_check(&b), 0);
	assert_int_equal(b.bytes, 2 * UNIT);
	assert_int_equal(kvfs_extmap_write(&b, &mem, 3 * UNIT, "y", 1), 1);
	t_expect(&b, &mem, 5000, 3 * UNIT - 5000, zero);
	t_expect(&b, &mem, 0, 5000, junk);
	kvfs_extmap_release(&b, &mem);
	kvfs_mem_close(&mem);
}

static void test_truncate_punch(void **state)
{
	struct kvfs_mem *mem = *state;
	unsigned char *ref = malloc(MiB);
	struct kvfs_extmap m;

	kvfs_extmap_init(&m);
	t_fill(ref, MiB, 7);
	assert_int_equal(kvfs_extmap_write(&m, mem, 0, ref, MiB), MiB);
	assert_int_equal(m.n, 1);
	/* A punch inside one extent splits it and frees the whole units. */
	assert_int_equal(kvfs_extmap_punch(&m, mem, 8 * UNIT + 100, 20 * UNIT), 0);
	memset(ref + 8 * UNIT + 100, 0, 20 * UNIT);
	assert_int_equal(m.n, 2);
	assert_int_equal(m.bytes, MiB - 19 * UNIT);
	assert_int_equal(t_used_units(mem), m.bytes / UNIT);
	t_expect(&m, mem, 0, MiB, ref);
	/* Inside one unit: only zeroing. */
	assert_int_equal(kvfs_extmap_punch(&m, mem, 3, 10), 0);
	memset(ref + 3, 0, 10);
	/* Across extents and past the end. */
	assert_int_equal(kvfs_extmap_punch(&m, mem, 5 * UNIT, UINT64_MAX), 0);
	memset(ref + 5 * UNIT, 0, MiB - 5 * UNIT);
	assert_int_equal(m.n, 1);
	assert_int_equal(m.bytes, 5 * UNIT);
	t_expect(&m, mem, 0, MiB, ref);
	assert_int_equal(kvfs_extmap_truncate(&m, mem, 0), 0);
	assert_int_equal(m.n, 0);
	assert_int_equal(m.bytes, 0);
	assert_int_equal(t_used_units(mem), 0);
	assert_int_equal(kvfs_extmap_check(&m), 0);
	kvfs_extmap_release(&m, mem);
	free(ref);
}

/* Thousands of random operations against a reference copy of the file. */
struct t_file {
	struct kvfs_extmap m;
	unsigned char *ref;  /* T_MAX bytes; zero past size */
	uint64_t size;
};

#define T_MAX (4u * MiB)

static uint64_t t_rand_len(void)
{
	switch (rand() % 4) {
	case 0: return (uint64_t)rand() % 64;
	case 1: return (uint64_t)rand() % (3 * UNIT);
	case 2: return (uint64_t)rand() % (300 * 1024);
	default: return (uint64_t)(rand() % 4 + 1) * UNIT;
	}
}

static void t_random_op(struct t_file *f, struct kvfs_mem *mem, unsigned char *buf,
			int *nospc)
{
	uint64_t len = t_rand_len(), off = (uint64_t)rand() % T_MAX;
	int op = rand() % 10;

	if (len > T_MAX - off)
		len = T_MAX - off;
	if (rand() % 3 == 0)
		off = off / UNIT * UNIT;
	if (op < 5) {
		uint64_t bytes = f->m.bytes, nfree = kvfs_alloc_free_units(&mem->alloc);
		uint32_t n = f->m.n;
		ssize_t rc;

		t_fill(buf, len, (unsigned)rand());
		rc = kvfs_extmap_write(&f->m, mem, off, buf, len);
		if (rc == -ENOSPC) {	/* all or nothing */
			assert_int_equal(f->m.bytes, bytes);
			assert_int_equal(f->m.n, n);
			assert_int_equal(kvfs_alloc_free_units(&mem->alloc), nfree);
			(*nospc)++;
			return;
		}
		assert_int_equal(rc, (ssize_t)len);
		memcpy(f->ref + off, buf, len);
		if (len && off + len > f->size)
			f->size = off + len;
	} else if (op < 7) {
		t_expect(&f->m, mem, off, len, f->ref + off);
	} else if (op < 8) {
		off = off < f->size ? off : f->size;
		assert_int_equal(kvfs_extmap_truncate(&f->m, mem, off), 0);
		memset(f->ref + off, 0, T_MAX - off);
		f->size = off;
	} else {
		assert_int_equal(kvfs_extmap_punch(&f->m, mem, off, len), 0);
		memset(f->ref + off, 0, len);
	}
}

/* Two files share `mem`; returns how many writes failed with ENOSPC. */
static int t_random_run(struct kvfs_mem *mem, int nops, unsigned seed)
{
	unsigned char *buf = malloc(T_MAX);
	struct t_file f[2];
	int op, i, nospc = 0;
	uint32_t max_n = 0;

	assert_non_null(buf);
	srand(seed);
	for (i = 0; i < 2; i++) {
		kvfs_extmap_init(&f[i].m);
		f[i].ref = calloc(T_MAX, 1);
		f[i].size = 0;
		assert_non_null(f[i].ref);
	}
	for (op = 0; op < nops; op++) {
		struct t_file *t = &f[rand() % 2];

		t_random_op(t, mem, buf, &nospc);
		assert_int_equal(kvfs_extmap_check(&t->m), 0);
		assert_int_equal(t_used_units(mem), (f[0].m.bytes + f[1].m.bytes) / UNIT);
		max_n = t->m.n > max_n ? t->m.n : max_n;
		if (op % 200 == 0) {
			t_expect(&t->m, mem, 0, T_MAX, t->ref);
			assert_int_equal(kvfs_extmap_crc(&t->m, mem, t->size),
					 kvfs_crc32c(0, t->ref, t->size));
		}
	}
	for (i = 0; i < 2; i++) {
		t_expect(&f[i].m, mem, 0, T_MAX, f[i].ref);
		kvfs_extmap_release(&f[i].m, mem);
		free(f[i].ref);
	}
	assert_int_equal(kvfs_alloc_check(&mem->alloc), 0);
	assert_true(max_n > 8);	/* the map really was fragmented */
	free(buf);
	return nospc;
}

static void test_random_vs_reference(void **state)
{
	assert_int_equal(t_random_run(*state, 6000, 777), 0);
}

/* The same with a tier too small for both files: writes fail and roll back. */
static void test_random_tight(void **state)
{
	struct kvfs_mem small;

	(void)state;
	assert_int_equal(kvfs_mem_open(&small, 2 * MiB, 0), 0); /* files reach 4 MiB */
	assert_true(t_random_run(&small, 6000, 778) > 10);
	assert_int_equal(kvfs_alloc_free_units(&small.alloc), small.alloc.nunits);
	kvfs_mem_close(&small);
}

static void test_enospc_rollback(void **state)
{
	struct kvfs_mem small;
	struct kvfs_extmap a, b;
	unsigned char *buf = malloc(MiB), *before = malloc(MiB);
	struct kvfs_ext saved[8];
	uint64_t free_before, bytes_before;
	uint32_t n_before;

	(void)state;
	assert_int_equal(kvfs_mem_open(&small, MiB, 0), 0); /* 256 units */
	kvfs_extmap_init(&a);
	kvfs_extmap_init(&b);
	t_fill(buf, MiB, 3);
	assert_int_equal(kvfs_extmap_write(&a, &small, 0, buf, 200 * UNIT), 200 * UNIT);
	/* b: two extents with a hole between. */
	assert_int_equal(kvfs_extmap_write(&b, &small, 0, buf, 10 * UNIT), 10 * UNIT);
	assert_int_equal(kvfs_extmap_write(&b, &small, 100 * UNIT, buf, 10 * UNIT), 10 * UNIT);
	n_before = b.n;
	bytes_before = b.bytes;
	memcpy(saved, b.v, n_before * sizeof(saved[0]));
	free_before = kvfs_alloc_free_units(&small.alloc);
	assert_int_equal(free_before, 36);
	kvfs_extmap_read(&b, &small, 0, before, MiB);
	/* Needs 90 units for the hole and 40 past the end: only 36 are free. */
	assert_int_equal(kvfs_extmap_write(&b, &small, 5, buf, 150 * UNIT), -ENOSPC);
	assert_int_equal(kvfs_extmap_alloc(&b, &small, 0, 150 * UNIT), -ENOSPC);
	assert_int_equal(b.n, n_before);
	assert_int_equal(b.bytes, bytes_before);
	assert_memory_equal(b.v, saved, n_before * sizeof(saved[0]));
	assert_int_equal(kvfs_alloc_free_units(&small.alloc), free_before);
	t_expect(&b, &small, 0, MiB, before);
	/* Limits: offsets past off_t's range. */
	assert_int_equal(kvfs_extmap_write(&b, &small, UINT64_MAX - 10, buf, 100), -EFBIG);
	assert_int_equal(kvfs_extmap_alloc(&b, &small, INT64_MAX, 1), -EFBIG);
	assert_int_equal(kvfs_alloc_check(&small.alloc), 0);
	kvfs_extmap_release(&a, &small);
	kvfs_extmap_release(&b, &small);
	assert_int_equal(kvfs_alloc_free_units(&small.alloc), 256);
	kvfs_mem_close(&small);
	free(buf);
	free(before);
}

static void test_sequential_one_extent(void **state)
{
	struct kvfs_mem *mem = *state;
	unsigned char *buf = malloc(MiB);
	struct kvfs_extmap a, other;
	uint64_t i;

	kvfs_extmap_init(&a);
	kvfs_extmap_init(&other);
	/* Another file already holds some units, so a does not start at 0. */
	assert_int_equal(kvfs_extmap_write(&other, mem, 0, "z", 1), 1);
	for (i = 0; i < 16; i++) {
		t_fill(buf, MiB, (unsigned)i);
		assert_int_equal(kvfs_extmap_write(&a, mem, i * MiB, buf, MiB), MiB);
	}
	assert_int_equal(a.n, 1);
	assert_int_equal(a.bytes, 16 * MiB);
	/* A 16 KiB-aligned head rewrite (ds4's 48-byte header) allocates nothing. */
	assert_int_equal(kvfs_extmap_write(&a, mem, 0, "HEADER", 6), 6);
	assert_int_equal(a.n, 1);
	/* Interleaved appenders each get extents, never overlapping. */
	assert_int_equal(kvfs_extmap_write(&other, mem, 1, buf, MiB), MiB);
	assert_int_equal(kvfs_extmap_check(&other), 0);
	assert_int_equal(t_used_units(mem), (a.bytes + other.bytes) / UNIT);
	kvfs_extmap_release(&a, mem);
	kvfs_extmap_release(&other, mem);
	free(buf);
}

static void test_iov(void **state)
{
	struct kvfs_mem *mem = *state;
	unsigned char *ref = calloc(4 * MiB, 1), *got = malloc(4 * MiB);
	struct iovec iov[16];
	struct kvfs_extmap m;
	size_t total, k;
	int n, i;

	kvfs_extmap_init(&m);
	t_fill(ref + 100, 2 * UNIT, 9);
	t_fill(ref + 3 * MiB + 50, 1000, 11);
	assert_int_equal(kvfs_extmap_write(&m, mem, 100, ref + 100, 2 * UNIT), 2 * UNIT);
	assert_int_equal(kvfs_extmap_write(&m, mem, 3 * MiB + 50, ref + 3 * MiB + 50, 1000), 1000);
	/* [7, 4 MiB - 3): extent, a hole of ~3 MiB (4 iovecs of <= 1 MiB), extent, hole */
	n = kvfs_extmap_iov(&m, mem, 7, 4 * MiB - 10, iov, 16);
	assert_true(n >= 6);
	for (i = 0, total = 0; i < n; i++) {
		char *p = iov[i].iov_base;
		int in_arena = p >= mem->arena.base && p < mem->arena.base + mem->arena.size;

		assert_true(iov[i].iov_len > 0);
		assert_true(in_arena || iov[i].iov_len <= KVFS_EXTMAP_ZERO_LEN);
		memcpy(got + total, iov[i].iov_base, iov[i].iov_len);
		total += iov[i].iov_len;
	}
	assert_int_equal(total, 4 * MiB - 10);
	assert_memory_equal(got, ref + 7, total);
	assert_int_equal(kvfs_extmap_iov(&m, mem, 7, 4 * MiB - 10, iov, n - 1), -E2BIG);
	assert_int_equal(kvfs_extmap_iov(&m, mem, 7, 0, iov, 16), 0);
	/* A range inside one extent is one iovec into the arena. */
	assert_int_equal(kvfs_extmap_iov(&m, mem, 200, 50, iov, 1), 1);
	assert_ptr_equal(iov[0].iov_base, kvfs_arena_ptr(&mem->arena, m.v[0].aoff + 200));
	for (k = 0; k < 50; k++)
		assert_int_equal(((unsigned char *)iov[0].iov_base)[k], ref[200 + k]);
	kvfs_extmap_release(&m, mem);
	free(ref);
	free(got);
}

static void test_seek(void **state)
{
	struct kvfs_mem *mem = *state;
	struct kvfs_extmap m, other;
	unsigned char buf[UNIT] = { 1 };
	const uint64_t size = 2 * MiB;

	kvfs_extmap_init(&m);
	kvfs_extmap_init(&other);
	assert_int_equal(kvfs_extmap_write(&m, mem, 64 * 1024, buf, UNIT), UNIT);
	/* Next unit in the file but not in the arena: two extents, one data run. */
	assert_int_equal(kvfs_extmap_write(&other, mem, 0, buf, UNIT), UNIT);
	assert_int_equal(kvfs_extmap_write(&m, mem, 64 * 1024 + UNIT, buf, UNIT), UNIT);
	assert_int_equal(m.n, 2);
	assert_int_equal(kvfs_extmap_write(&m, mem, MiB, buf, UNIT), UNIT);

	assert_int_equal(kvfs_extmap_seek(&m, 0, SEEK_DATA, size), 64 * 1024);
	assert_int_equal(kvfs_extmap_seek(&m, 0, SEEK_HOLE, size), 0);
	assert_int_equal(kvfs_extmap_seek(&m, 64 * 1024 + 5, SEEK_DATA, size), 64 * 1024 + 5);
	assert_int_equal(kvfs_extmap_seek(&m, 64 * 1024, SEEK_HOLE, size), 64 * 1024 + 2 * UNIT);
	assert_int_equal(kvfs_extmap_seek(&m, 64 * 1024 + 2 * UNIT, SEEK_DATA, size), MiB);
	assert_int_equal(kvfs_extmap_seek(&m, MiB + 1, SEEK_HOLE, size), MiB + UNIT);
	assert_int_equal(kvfs_extmap_seek(&m, MiB + UNIT, SEEK_DATA, size), -ENXIO);
	assert_int_equal(kvfs_extmap_seek(&m, MiB + UNIT, SEEK_HOLE, size), MiB + UNIT);
	assert_int_equal(kvfs_extmap_seek(&m, size, SEEK_HOLE, size), -ENXIO);
	assert_int_equal(kvfs_extmap_seek(&m, size, SEEK_DATA, size), -ENXIO);
	/* Data past the file size does not count; the size is a hole. */
	assert_int_equal(kvfs_extmap_seek(&m, MiB + 1, SEEK_HOLE, MiB + 100), MiB + 100);
	assert_int_equal(kvfs_extmap_seek(&m, 72 * 1024 + 1, SEEK_DATA, 100 * 1024), -ENXIO);
	assert_int_equal(kvfs_extmap_seek(&m, 0, SEEK_SET, size), -EINVAL);
	kvfs_extmap_release(&m, mem);
	kvfs_extmap_release(&other, mem);
}

static void test_crc(void **state)
{
	struct kvfs_mem *mem = *state;
	unsigned char *ref = calloc(3 * MiB, 1);
	struct kvfs_extmap m;

	kvfs_extmap_init(&m);
	assert_int_equal(kvfs_extmap_crc(&m, mem, 0), 0);
	assert_int_equal(kvfs_extmap_crc(&m, mem, 3 * MiB), kvfs_crc32c(0, ref, 3 * MiB));
	t_fill(ref + 12345, 100000, 5);
	t_fill(ref + 2 * MiB, 4096, 6);
	assert_int_equal(kvfs_extmap_write(&m, mem, 12345, ref + 12345, 100000), 100000);
	assert_int_equal(kvfs_extmap_write(&m, mem, 2 * MiB, ref + 2 * MiB, 4096), 4096);
	assert_int_equal(kvfs_extmap_crc(&m, mem, 3 * MiB), kvfs_crc32c(0, ref, 3 * MiB));
	assert_int_equal(kvfs_extmap_crc(&m, mem, 2 * MiB + 7), kvfs_crc32c(0, ref, 2 * MiB + 7));
	assert_int_equal(kvfs_extmap_crc(&m, mem, 99), kvfs_crc32c(0, ref, 99));
	kvfs_extmap_release(&m, mem);
	free(ref);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_holes_read_zero, t_setup, t_teardown),
		cmocka_unit_test(test_tail_zeroed),
		cmocka_unit_test_setup_teardown(test_truncate_punch, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_random_vs_reference, t_setup, t_teardown),
		cmocka_unit_test(test_random_tight),
		cmocka_unit_test(test_enospc_rollback),
		cmocka_unit_test_setup_teardown(test_sequential_one_extent, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_iov, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_seek, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_crc, t_setup, t_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
