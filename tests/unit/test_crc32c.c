/*
 * test_crc32c.c - unit tests of CRC-32C (fs/crc32c.c): the check value, the
 * SSE4.2 and table paths against each other and against a bit-at-a-time
 * reference, the shift/zeros identities, and in-place patching.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "crc32c.h"

/* Not in crc32c.h: the two paths, exported from crc32c.c for this test. */
uint32_t kvfs_crc32c_raw_sw(uint32_t crc, const void *buf, size_t len);
uint32_t kvfs_crc32c_raw_hw(uint32_t crc, const void *buf, size_t len);

/* One bit at a time, straight from the definition. */
static uint32_t t_crc_bitwise(uint32_t crc, const unsigned char *p, size_t len)
{
	int k;

	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
	}
	return ~crc;
}

static unsigned char *t_random_buf(size_t len)
{
	unsigned char *b = malloc(len ? len : 1);
	size_t i;

	assert_non_null(b);
	for (i = 0; i < len; i++)
		b[i] = (unsigned char)rand();
	return b;
}

static void test_check_value(void **state)
{
	(void)state;
	assert_int_equal(kvfs_crc32c(0, "123456789", 9), 0xE3069283u);
	assert_int_equal(~kvfs_crc32c_raw_sw(~0u, "123456789", 9), 0xE3069283u);
	assert_int_equal(~kvfs_crc32c_raw_hw(~0u, "123456789", 9), 0xE3069283u);
	assert_int_equal(kvfs_crc32c(0, "", 0), 0);
	/* Continuing equals one pass. */
	assert_int_equal(kvfs_crc32c(kvfs_crc32c(0, "1234", 4), "56789", 5), 0xE3069283u);
}

/* Lengths around every path boundary: byte tail, 8-byte loop, the 3-way
 * loop (3 x 8 KiB) and several rounds of it; every start alignment. */
static void test_paths_agree(void **state)
{
	static const size_t lens[] = { 0, 1, 7, 8, 9, 15, 63, 64, 65, 1000, 4096,
				       24575, 24576, 24577, 24583, 49152, 49160,
				       100000, 1 << 20 };
	unsigned char *b = t_random_buf((1 << 20) + 64);
	size_t i, align;
	uint32_t sw, hw;

	(void)state;
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		for (align = 0; align < 16; align++) {
			sw = kvfs_crc32c_raw_sw(0x12345678u, b + align, lens[i]);
			hw = kvfs_crc32c_raw_hw(0x12345678u, b + align, lens[i]);
			assert_int_equal(sw, hw);
			if (lens[i] <= 100000 && align < 3)
				assert_int_equal(~kvfs_crc32c_raw_sw(~0x5u, b + align, lens[i]),
						 t_crc_bitwise(0x5u, b + align, lens[i]));
		}
	}
	for (i = 0; i < 300; i++) {
		size_t len = (size_t)rand() % 200000, off = (size_t)rand() % 64;

		assert_int_equal(kvfs_crc32c_raw_sw((uint32_t)i, b + off, len),
				 kvfs_crc32c_raw_hw((uint32_t)i, b + off, len));
	}
	free(b);
}

static void test_identities(void **state)
{
	unsigned char *b = t_random_buf(70000), *z = calloc(70000, 1);
	uint32_t s, a;
	size_t i, la, lb;

	(void)state;
	assert_non_null(z);
	assert_int_equal(kvfs_crc32c_raw(0, z, 70000), 0);
	assert_int_equal(kvfs_crc32c_shift(0x9abcdefu, 0), 0x9abcdefu);
	for (i = 0; i < 200; i++) {
		la = (size_t)rand() % 35000;
		lb = (size_t)rand() % 35000;
		s = (uint32_t)rand();
		/* raw(s, A || B) == shift(raw(s, A), |B|) ^ raw(0, B) */
		a = kvfs_crc32c_raw(s, b, la);
		assert_int_equal(kvfs_crc32c_raw(s, b, la + lb),
				 kvfs_crc32c_shift(a, lb) ^ kvfs_crc32c_raw(0, b + la, lb));
		/* shift by zeros == feeding zeros */
		assert_int_equal(kvfs_crc32c_shift(s, lb), kvfs_crc32c_raw(s, z, lb));
		/* zeros == standard CRC over a zero tail */
		a = kvfs_crc32c(0, b, la);
		assert_int_equal(kvfs_crc32c_zeros(a, lb), kvfs_crc32c(a, z, lb));
		/* shift composes */
		assert_int_equal(kvfs_crc32c_shift(kvfs_crc32c_shift(s, la), lb),
				 kvfs_crc32c_shift(s, la + lb));
	}
	/* Huge shifts compose too (uses the high powers of the table). */
	s = 0xdeadbeefu;
	assert_int_equal(kvfs_crc32c_shift(kvfs_crc32c_shift(s, 1ull << 40), 1ull << 40),
			 kvfs_crc32c_shift(s, 1ull << 41));
	assert_int_equal(kvfs_crc32c_shift(kvfs_crc32c_shift(s, UINT64_MAX - 5), 5),
			 kvfs_crc32c_shift(s, UINT64_MAX));
	free(b);
	free(z);
}

static void test_patch(void **state)
{
	const size_t n = 300000;
	unsigned char *f = t_random_buf(n), *old = malloc(4096);
	uint32_t crc = kvfs_crc32c(0, f, n);
	size_t off, len, i, k;

	(void)state;
	assert_non_null(old);
	for (i = 0; i < 300; i++) {
		len = (size_t)rand() % 4096;
		switch (i % 3) {
		case 0: off = 0; break;                          /* a header */
		case 1: off = n - len; break;                    /* a trailer */
		default: off = (size_t)rand() % (n - len + 1); break;
		}
		memcpy(old, f + off, len);
		for (k = 0; k < len; k++)
			f[off + k] = (unsigned char)rand();
		crc = kvfs_crc32c_patch(crc, n, off, old, f + off, len);
		assert_int_equal(crc, kvfs_crc32c(0, f, n));
	}
	/* An unchanged rewrite does not change the checksum. */
	assert_int_equal(kvfs_crc32c_patch(crc, n, 10, f + 10, f + 10, 48), crc);
	free(f);
	free(old);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_value),
		cmocka_unit_test(test_paths_agree),
		cmocka_unit_test(test_identities),
		cmocka_unit_test(test_patch),
	};

	srand(4242);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
