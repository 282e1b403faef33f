/*
 * test_map.c - unit tests of the chunk map's blob (index/map.c): round trips
 * of empty, small, holed and large maps; byte-exact layout of the header;
 * rejection (-EUCLEAN) of every single-byte change, every truncation, and of
 * blobs whose CRC is right but whose content breaks a rule of map.h.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crc32c.h"
#include "map.h"

#define MIB (1ull << 20)

/* A map of a file of `size` bytes, every chunk stored (holes: see t_hole). */
static struct kvfs_map t_map(uint64_t size)
{
	struct kvfs_map m = { .size = size, .n = kvfs_map_nchunks(size) };
	uint32_t i;

	m.file_crc = size ? 0x12345678u : 0;
	m.c = calloc(m.n ? m.n : 1, sizeof(*m.c));
	assert_non_null(m.c);
	for (i = 0; i < m.n; i++) {
		m.c[i].len = kvfs_map_chunk_len(size, i);
		m.c[i].soff = 4096 + (uint64_t)i * 2 * KVFS_CHUNK;
		m.c[i].crc = 0xa0000000u + i;
	}
	m.head_crc = m.n ? 0xcafef00du : 0;
	return m;
}

static void t_hole(struct kvfs_map *m, uint32_t i)
{
	m->c[i].len = 0;
	m->c[i].soff = 0;
	m->c[i].crc = 0;
	if (i == 0)
		m->head_crc = 0;
}

static void t_put32(unsigned char *p, uint32_t v)
{
	for (int k = 0; k < 4; k++)
		p[k] = (unsigned char)(v >> 8 * k);
}

static uint32_t t_get32(const unsigned char *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Recomputes the trailing CRC after a deliberate edit. */
static void t_recrc(unsigned char *b, size_t len)
{
	t_put32(b + len - 4, kvfs_crc32c(0, b, len - 4));
}

static unsigned char *t_encode(const struct kvfs_map *m, size_t *len)
{
	void *blob = NULL;
	ssize_t n = kvfs_map_encode(m, &blob);

	assert_true(n == (ssize_t)(32 + 16 * (size_t)m->n + 4));
	assert_non_null(blob);
	*len = (size_t)n;
	return blob;
}

static void t_expect_bad(const unsigned char *b, size_t len)
{
	struct kvfs_map out = { .n = 77, .c = (struct kvfs_chunk *)&out };

	assert_int_equal(kvfs_map_decode(b, len, &out), -EUCLEAN);
	/* On error out is untouched. */
	assert_int_equal(out.n, 77);
	assert_ptr_equal(out.c, (struct kvfs_chunk *)&out);
}

static void t_round_trip(const struct kvfs_map *m)
{
	struct kvfs_map out;
	unsigned char *b;
	size_t len;

	b = t_encode(m, &len);
	memset(&out, 0xaa, sizeof(out));
	assert_int_equal(kvfs_map_decode(b, len, &out), 0);
	assert_true(out.size == m->size);
	assert_int_equal(out.n, m->n);
	assert_int_equal(out.file_crc, m->file_crc);
	assert_int_equal(out.head_crc, m->head_crc);
	if (m->n)
		assert_memory_equal(out.c, m->c, m->n * sizeof(*m->c));
	else
		assert_null(out.c);
	kvfs_map_release(&out);
	assert_null(out.c);
	free(b);
}

/* ---- round trips ---- */

static void test_round_trip_empty(void **state)
{
	struct kvfs_map m = t_map(0);
	unsigned char *b;
	size_t len;

	(void)state;
	t_round_trip(&m);
	/* The layout, byte by byte, for the one map every reader can check. */
	b = t_encode(&m, &len);
	assert_int_equal(len, 36);
	assert_memory_equal(b, "kmap", 4);          /* 0x70616d6b little-endian */
	assert_int_equal(b[4], KVFS_MAP_VERSION);
	for (size_t i = 5; i < 32; i++)
		assert_int_equal(b[i], 0);
	assert_int_equal(t_get32(b + 32), kvfs_crc32c(0, b, 32));
	free(b);
	free(m.c);
}

static void test_round_trip_one_chunk(void **state)
{
	uint64_t sizes[] = { 1, 4095, 4096, 4097, MIB - 1, MIB };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct kvfs_map m = t_map(sizes[i]);

		assert_int_equal(m.n, 1);
		t_round_trip(&m);
		free(m.c);
	}
}

static void test_round_trip_holes(void **state)
{
	struct kvfs_map m = t_map(5 * MIB + 100);

	(void)state;
	assert_int_equal(m.n, 6);
	t_hole(&m, 0);
	t_hole(&m, 2);
	t_hole(&m, 5);          /* the short last chunk */
	t_round_trip(&m);
	free(m.c);
	m = t_map(3 * MIB);     /* all hole */
	for (uint32_t i = 0; i < m.n; i++)
		t_hole(&m, i);
	t_round_trip(&m);
	free(m.c);
}

static void test_round_trip_1000_chunks(void **state)
{
	struct kvfs_map m = t_map(1000 * MIB - 12345);
	uint32_t i;

	(void)state;
	assert_int_equal(m.n, 1000);
	for (i = 0; i < m.n; i++) {
		m.c[i].soff = ((uint64_t)1 << 40) + (uint64_t)i * 7 * 4096;
		m.c[i].crc = i * 2654435761u;
	}
	t_hole(&m, 500);
	t_round_trip(&m);
	free(m.c);
}

static void test_release_twice(void **state)
{
	struct kvfs_map m = t_map(2 * MIB);

	(void)state;
	kvfs_map_release(&m);
	kvfs_map_release(&m);
	assert_null(m.c);
	kvfs_map_release(NULL);
}

/* ---- rejection ---- */

/* CRC-32C catches every error burst of up to 32 bits: no single-byte change
 * of any value may decode. */
static void test_every_byte_flip_rejected(void **state)
{
	struct kvfs_map m = t_map(3 * MIB + 5);
	unsigned char *b;
	size_t len, i;
	unsigned x;

	(void)state;
	t_hole(&m, 1);
	b = t_encode(&m, &len);
	for (i = 0; i < len; i++) {
		for (x = 1; x < 256; x++) {
			b[i] ^= (unsigned char)x;
			t_expect_bad(b, len);
			b[i] ^= (unsigned char)x;
		}
	}
	t_round_trip(&m);       /* and the original still decodes */
	free(b);
	free(m.c);
}

static void test_truncated_rejected(void **state)
{
	struct kvfs_map m = t_map(4 * MIB);
	unsigned char *b, *longer;
	size_t len, i;

	(void)state;
	b = t_encode(&m, &len);
	for (i = 0; i < len; i++)
		t_expect_bad(b, i);
	t_expect_bad(NULL, 0);
	/* One byte too many, and one whole chunk too many with a right CRC. */
	longer = calloc(1, len + 16);
	assert_non_null(longer);
	memcpy(longer, b, len);
	t_expect_bad(longer, len + 1);
	t_recrc(longer, len + 16);
	t_expect_bad(longer, len + 16);
	free(longer);
	free(b);
	free(m.c);
}

/* n that disagrees with size, with the blob otherwise consistent. */
static void test_n_mismatch_rejected(void **state)
{
	struct kvfs_map m = t_map(3 * MIB);
	unsigned char *b;
	size_t len;

	(void)state;
	m.size = 3 * MIB + 1;   /* needs 4 chunks, has 3 */
	b = t_encode(&m, &len);
	t_expect_bad(b, len);
	free(b);
	m.size = 2 * MIB;       /* needs 2 chunks, has 3 */
	b = t_encode(&m, &len);
	t_expect_bad(b, len);
	free(b);
	m.size = 0;             /* needs none */
	m.file_crc = 0;
	b = t_encode(&m, &len);
	t_expect_bad(b, len);
	free(b);
	/* A size whose chunk count wraps 32 bits must not pass as 3 chunks. */
	m.size = ((uint64_t)1 << 52) + 3 * MIB;
	b = t_encode(&m, &len);
	t_expect_bad(b, len);
	free(b);
	m.size = UINT64_MAX;    /* and no overflow in the count */
	b = t_encode(&m, &len);
	t_expect_bad(b, len);
	free(b);
	free(m.c);
}

/* Encodes m as it is and expects its decode to fail with -EUCLEAN. */
static void t_expect_bad_map(const struct kvfs_map *m)
{
	unsigned char *b;
	size_t len;

	b = t_encode(m, &len);
	t_expect_bad(b, len);
	free(b);
}

static void test_bad_len_rejected(void **state)
{
	struct kvfs_map m = t_map(2 * MIB + 5000);     /* last chunk: 8192 */
	uint32_t keep;

	(void)state;
	assert_int_equal(m.c[2].len, 8192);
	t_round_trip(&m);
	keep = m.c[2].len;
	m.c[2].len = 4096;              /* too short for its bytes */
	t_expect_bad_map(&m);
	m.c[2].len = 12288;             /* longer than its bytes need */
	t_expect_bad_map(&m);
	m.c[2].len = 5000;              /* not whole units */
	t_expect_bad_map(&m);
	m.c[2].len = keep;
	keep = m.c[0].len;
	m.c[0].len = KVFS_CHUNK + 4096; /* past KVFS_CHUNK */
	t_expect_bad_map(&m);
	m.c[0].len = KVFS_CHUNK - 4096;
	t_expect_bad_map(&m);
	m.c[0].len = keep;
	t_round_trip(&m);
	free(m.c);
}

static void test_bad_fields_rejected(void **state)
{
	struct kvfs_map m = t_map(2 * MIB);
	unsigned char *b;
	size_t len;
	uint64_t keep;

	(void)state;
	keep = m.c[1].soff;
	m.c[1].soff = keep + 512;       /* not 4096-aligned */
	t_expect_bad_map(&m);
	m.c[1].soff = UINT64_MAX - 4095; /* the run would wrap */
	t_expect_bad_map(&m);
	m.c[1].soff = keep;
	t_hole(&m, 1);
	m.c[1].soff = 4096;             /* a hole with an offset */
	t_expect_bad_map(&m);
	m.c[1].soff = 0;
	m.c[1].crc = 1;                 /* a hole with a checksum */
	t_expect_bad_map(&m);
	m.c[1].crc = 0;
	t_round_trip(&m);
	t_hole(&m, 0);
	m.head_crc = 7;                 /* head_crc of a hole */
	t_expect_bad_map(&m);
	m.head_crc = 0;
	t_round_trip(&m);
	free(m.c);

	m = t_map(0);
	m.file_crc = 1;                 /* the checksum of no bytes is 0 */
	t_expect_bad_map(&m);
	m.file_crc = 0;
	m.head_crc = 1;
	t_expect_bad_map(&m);
	m.head_crc = 0;

	/* Header fields with a recomputed CRC: magic, version, flags, reserved. */
	b = t_encode(&m, &len);
	for (size_t off = 0; off < 24; off++) {
		if (off >= 8 && off < 20)       /* n, file_crc, head_crc */
			continue;
		b[off] ^= 0x10;
		t_recrc(b, len);
		t_expect_bad(b, len);
		b[off] ^= 0x10;
	}
	t_recrc(b, len);
	t_put32(b + 4, 2);              /* version 2, flags 0 */
	t_recrc(b, len);
	t_expect_bad(b, len);
	free(b);
	free(m.c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_empty),
		cmocka_unit_test(test_round_trip_one_chunk),
		cmocka_unit_test(test_round_trip_holes),
		cmocka_unit_test(test_round_trip_1000_chunks),
		cmocka_unit_test(test_release_twice),
		cmocka_unit_test(test_every_byte_flip_rejected),
		cmocka_unit_test(test_truncated_rejected),
		cmocka_unit_test(test_n_mismatch_rejected),
		cmocka_unit_test(test_bad_len_rejected),
		cmocka_unit_test(test_bad_fields_rejected),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
