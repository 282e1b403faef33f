/*
 * test_slab.c - unit tests of the slab file format (fs/slab.c): the names
 * the daemon and the offline check both accept, and the header check,
 * field by field.  The literal names pin the on-disk format.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <endian.h>
#include <errno.h>
#include <string.h>

#include "crc32c.h"
#include "slab.h"

static void test_names(void **state)
{
	char buf[KVFS_SLAB_NAME_MAX], small[12];

	(void)state;
	assert_int_equal(kvfs_slab_name(buf, sizeof(buf), 7, ""), 0);
	assert_string_equal(buf, "kvfs-slab-0007");
	assert_int_equal(kvfs_slab_name(buf, sizeof(buf), 12345, ".tmp"), 0);
	assert_string_equal(buf, "kvfs-slab-12345.tmp");
	assert_int_equal(kvfs_slab_name(buf, sizeof(buf), UINT32_MAX, ".tmp"), 0);
	assert_int_equal(kvfs_slab_name(small, sizeof(small), 0, ""), -ENAMETOOLONG);
	assert_int_equal(kvfs_slab_path(buf, sizeof(buf), "/ssd", 3), 0);
	assert_string_equal(buf, "/ssd/kvfs-slab-0003");
	assert_int_equal(kvfs_slab_path(small, sizeof(small), "/ssd", 3), -ENAMETOOLONG);
	assert_int_equal(kvfs_slab_path(small, sizeof(small), "/a-long-dir", 3),
			 -ENAMETOOLONG);
}

/* Only the canonical spelling, and only below KVFS_SLABS_MAX: the daemon
 * and fsck used to disagree on names past 16 Mi. */
static void test_numbers(void **state)
{
	char buf[KVFS_SLAB_NAME_MAX];

	(void)state;
	assert_int_equal(kvfs_slab_number("kvfs-slab-0000"), 0);
	assert_int_equal(kvfs_slab_number("kvfs-slab-0042"), 42);
	assert_int_equal(kvfs_slab_number("kvfs-slab-12345"), 12345);
	assert_int_equal(kvfs_slab_number("kvfs-slab-16777215"), 16777215);
	assert_int_equal(kvfs_slab_number("kvfs-slab-16777216"), -EINVAL);
	assert_int_equal(kvfs_slab_number("kvfs-slab-4294967296"), -EINVAL);
	assert_int_equal(kvfs_slab_number("kvfs-slab-99999999999999999999999"), -EINVAL);
	assert_int_equal(kvfs_slab_number("kvfs-slab-42"), -EINVAL);
	assert_int_equal(kvfs_slab_number("kvfs-slab-00042"), -EINVAL);
	assert_int_equal(kvfs_slab_number("kvfs-slab-0042.tmp"), -EINVAL);
	assert_int_equal(kvfs_slab_number("kvfs-slab-+042"), -EINVAL);
	assert_int_equal(kvfs_slab_number("kvfs-slab-"), -EINVAL);
	assert_int_equal(kvfs_slab_number("kvfs-slab0042"), -EINVAL);
	assert_int_equal(kvfs_slab_number("index.db"), -EINVAL);
	/* Every name kvfs_slab_name makes parses back. */
	for (uint32_t i = 0; i < KVFS_SLABS_MAX; i = i * 3 + 1) {
		kvfs_slab_name(buf, sizeof(buf), i, "");
		assert_int_equal(kvfs_slab_number(buf), (long)i);
	}
}

/* Recomputes the CRC, so that only the field under test is wrong. */
static void t_reseal(struct kvfs_slab_hdr *h)
{
	h->crc = htole32(kvfs_crc32c(0, h, offsetof(struct kvfs_slab_hdr, crc)));
}

static void test_header(void **state)
{
	struct kvfs_slab_hdr good, h;

	(void)state;
	kvfs_slab_hdr_fill(&good, 0x1234abcdull, 5, 16ull << 20);
	assert_memory_equal(good.magic, "KVFSSLAB", 8);
	assert_int_equal(le64toh(good.store_id), 0x1234abcdull);
	assert_int_equal(le64toh(good.slab), 5);
	assert_int_equal(kvfs_slab_hdr_check(&good, 5), 0);
	assert_int_equal(kvfs_slab_hdr_check(&good, 4), -EUCLEAN);

	h = good;
	h.zero[100] = 1; /* any byte: the CRC */
	assert_int_equal(kvfs_slab_hdr_check(&h, 5), -EUCLEAN);
	h = good;
	h.magic[0] = 'k';
	t_reseal(&h);
	assert_int_equal(kvfs_slab_hdr_check(&h, 5), -EUCLEAN);
	h = good;
	h.version = htole32(KVFS_SLAB_VERSION + 1);
	t_reseal(&h);
	assert_int_equal(kvfs_slab_hdr_check(&h, 5), -EUCLEAN);
	h = good;
	h.hdr_size = htole32(8192);
	t_reseal(&h);
	assert_int_equal(kvfs_slab_hdr_check(&h, 5), -EUCLEAN);
	h = good;
	h.store_id = 0;
	t_reseal(&h);
	assert_int_equal(kvfs_slab_hdr_check(&h, 5), -EUCLEAN);
	/* Slab sizes: nonzero, whole units, at most 1 GiB. */
	kvfs_slab_hdr_fill(&h, 1, 0, KVFS_SLAB_SIZE_MAX);
	assert_int_equal(kvfs_slab_hdr_check(&h, 0), 0);
	kvfs_slab_hdr_fill(&h, 1, 0, KVFS_SLAB_SIZE_MAX + KVFS_SSD_UNIT);
	assert_int_equal(kvfs_slab_hdr_check(&h, 0), -EUCLEAN);
	kvfs_slab_hdr_fill(&h, 1, 0, 0);
	assert_int_equal(kvfs_slab_hdr_check(&h, 0), -EUCLEAN);
	kvfs_slab_hdr_fill(&h, 1, 0, (16ull << 20) + 512);
	assert_int_equal(kvfs_slab_hdr_check(&h, 0), -EUCLEAN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_header),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
