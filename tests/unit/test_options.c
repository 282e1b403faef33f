/*
 * test_options.c - size parsing and the validation of kvfs's -o options:
 * every bad value is refused with a line that names the option.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "kvfs.h"

#define GiB (1ull << 30)

static void test_parse_size(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(kvfs_parse_size("4096", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(kvfs_parse_size("64K", &v), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(kvfs_parse_size("512m", &v), 0);
	assert_int_equal(v, 512ull << 20);
	assert_int_equal(kvfs_parse_size("2GiB", &v), 0);
	assert_int_equal(v, 2 * GiB);
	assert_int_equal(kvfs_parse_size("1T", &v), 0);
	assert_int_equal(v, 1ull << 40);
	assert_int_equal(kvfs_parse_size("3GB", &v), 0);
	assert_int_equal(v, 3 * GiB);
	const char *bad[] = { "", "abc", "-1G", "0", "1X", "1GG", "12 G", "G",
			      "99999999999999999999", "17000000000T", NULL };
	for (int i = 0; bad[i]; i++)
		assert_int_equal(kvfs_parse_size(bad[i], &v), -EINVAL);
}

static void check_fails(const char *field_val, const char *want_in_msg)
{
	struct kvfs_opts o = { 0 };
	char msg[256] = "";
	char *eq = strchr(field_val, '=');
	char *val = strdup(eq + 1);

	if (strncmp(field_val, "mem=", 4) == 0)
		o.mem_str = val;
	else if (strncmp(field_val, "io=", 3) == 0)
		o.io_str = val;
	else if (strncmp(field_val, "wake_here=", 10) == 0)
		o.wake_here_str = val;
	else if (strncmp(field_val, "passthrough=", 12) == 0)
		o.passthrough_str = val;
	else if (strncmp(field_val, "prefault=", 9) == 0)
		o.prefault_str = val;
	else if (strncmp(field_val, "threads=", 8) == 0)
		o.threads_str = val;
	else if (strncmp(field_val, "hash_defer=", 11) == 0)
		o.hash_defer_str = val;
	else if (strncmp(field_val, "arena_group=", 12) == 0)
		o.arena_group_str = val;
	else
		fail_msg("unknown field %s", field_val);
	assert_int_equal(kvfs_opts_check(&o, 24 * GiB, msg, sizeof(msg)), -EINVAL);
	if (!strstr(msg, want_in_msg))
		fail_msg("message '%s' lacks '%s'", msg, want_in_msg);
	assert_true(strncmp(msg, "kvfs: ", 6) == 0);
	kvfs_opts_release(&o);
}

static void test_bad_options(void **state)
{
	(void)state;
	check_fails("mem=abc", "mem=abc is not a size");
	check_fails("mem=64G", "exceeds physical memory (24.0 GiB)");
	check_fails("mem=1K", "too small");
	check_fails("io=fast", "io=fast is not one of auto, direct, cached");
	check_fails("wake_here=yes", "wake_here=yes is not one of auto, 0, 1");
	check_fails("passthrough=on", "passthrough=on is not one of auto, 0, 1");
	check_fails("prefault=maybe", "prefault=maybe");
	check_fails("threads=0", "threads=0");
	check_fails("threads=9x", "threads=9x");
	check_fails("hash_defer=soon", "hash_defer=soon must be milliseconds");
	check_fails("hash_defer=-5", "hash_defer=-5");
	check_fails("hash_defer=60001", "from 0 to 60000");
}

static void test_defaults(void **state)
{
	struct kvfs_opts o = { 0 };
	char msg[256];

	(void)state;
	assert_int_equal(kvfs_opts_check(&o, 24 * GiB, msg, sizeof(msg)), 0);
	assert_int_equal(o.mem, 6 * GiB);
	assert_int_equal(o.io, KVFS_IO_AUTO);
	assert_int_equal(o.prefault, 1);
	assert_int_equal(o.threads, 8);
	assert_int_equal(o.hash_defer_ms, KVFS_HASH_DEFER_MS);
	assert_int_equal(o.wake_here, KVFS_WAKE_AUTO);
	assert_int_equal(o.passthrough, KVFS_PT_AUTO);
	assert_non_null(o.state);
	assert_true(strlen(o.state) > 0);
	kvfs_opts_release(&o);

	o.mem_str = strdup("256M");
	o.io_str = strdup("cached");
	o.state = strdup("/tmp/x");
	/* arena_group= is obsolete: any value is accepted (main() warns). */
	o.arena_group_str = strdup("no-such-group-kvfs");
	assert_int_equal(kvfs_opts_check(&o, 24 * GiB, msg, sizeof(msg)), 0);
	kvfs_opts_release(&o);
	o.mem_str = strdup("256M");
	o.io_str = strdup("cached");
	o.state = strdup("/tmp/x");
	assert_int_equal(kvfs_opts_check(&o, 24 * GiB, msg, sizeof(msg)), 0);
	assert_int_equal(o.mem, 256ull << 20);
	assert_int_equal(o.io, KVFS_IO_CACHED);
	assert_string_equal(o.state, "/tmp/x");
	kvfs_opts_release(&o);
	o.hash_defer_str = strdup("0");
	o.wake_here_str = strdup("0");
	o.passthrough_str = strdup("1");
	assert_int_equal(kvfs_opts_check(&o, 24 * GiB, msg, sizeof(msg)), 0);
	assert_int_equal(o.hash_defer_ms, 0);
	assert_int_equal(o.wake_here, KVFS_WAKE_OFF);
	assert_int_equal(o.passthrough, KVFS_PT_ON);
	kvfs_opts_release(&o);
	o.wake_here_str = strdup("1");
	o.passthrough_str = strdup("0");
	assert_int_equal(kvfs_opts_check(&o, 24 * GiB, msg, sizeof(msg)), 0);
	assert_int_equal(o.wake_here, KVFS_WAKE_ON);
	assert_int_equal(o.passthrough, KVFS_PT_OFF);
	kvfs_opts_release(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_bad_options),
		cmocka_unit_test(test_defaults),
	};

	return cmocka_run_group_tests_name("options", tests, NULL, NULL);
}
