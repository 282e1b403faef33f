/*
 * test_wake.c - the wake_here parameter (fs/wake.c), on files standing in
 * for /sys/module/fuse/parameters/wake_here: turned on where it is off
 * (auto, 1), left alone with 0 and where it is on, absent kernels and a
 * daemon without the right to write it refused only under wake_here=1.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wake.h"

static char dir[] = "/tmp/kvfs-test-wake.XXXXXX", param[64];

static void put(const char *value)
{
	FILE *f = fopen(param, "w");

	assert_non_null(f);
	assert_int_equal(fputs(value, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* The file's first line, as the kernel would print it. */
static const char *value(void)
{
	static char buf[16];
	FILE *f = fopen(param, "r");

	assert_non_null(f);
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return buf;
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(param, sizeof(param), "%s/wake_here", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(param);
	return rmdir(dir);
}

/* With the parameter at `before` (NULL: as it is), applying `mode`
 * succeeds, finds `want`, and leaves the parameter at `after`. */
static void apply_ok(struct kvfs_wake *w, const char *before, enum kvfs_wake_mode mode,
		     enum kvfs_wake_state want, const char *after)
{
	if (before)
		put(before);
	assert_int_equal(kvfs_wake_apply(w, param, mode), 0);
	assert_int_equal(w->state, want);
	assert_string_equal(value(), after);
}

static void test_off_turned_on(void **state)
{
	struct kvfs_wake w;
	char line[160];

	(void)state;
	apply_ok(&w, "N\n", KVFS_WAKE_AUTO, KVFS_WAKE_SET, "Y\n");
	assert_non_null(strstr(kvfs_wake_describe(&w, line, sizeof(line)), "on (set by this daemon"));
	apply_ok(&w, "N\n", KVFS_WAKE_ON, KVFS_WAKE_SET, "Y\n");
}

static void test_left_alone(void **state)
{
	struct kvfs_wake w;
	char line[160];

	(void)state;
	apply_ok(&w, "N\n", KVFS_WAKE_OFF, KVFS_WAKE_LEFT_OFF, "N\n");
	assert_string_equal(kvfs_wake_describe(&w, line, sizeof(line)),
			    "off (wake_here=0 left it so)");
	put("Y\n");
	for (int mode = KVFS_WAKE_AUTO; mode <= KVFS_WAKE_ON; mode++)
		apply_ok(&w, NULL, mode, KVFS_WAKE_FOUND_ON, "Y\n");
}

static void test_absent(void **state)
{
	struct kvfs_wake w;
	char line[160];

	(void)state;
	unlink(param);
	assert_int_equal(kvfs_wake_apply(&w, param, KVFS_WAKE_AUTO), 0);
	assert_int_equal(w.state, KVFS_WAKE_ABSENT);
	assert_int_equal(kvfs_wake_apply(&w, param, KVFS_WAKE_OFF), 0);
	assert_int_equal(kvfs_wake_apply(&w, param, KVFS_WAKE_ON), -ENOENT);
	assert_int_equal(w.state, KVFS_WAKE_ABSENT);
	assert_non_null(strstr(kvfs_wake_describe(&w, line, sizeof(line)), "absent"));
	assert_int_equal(access(param, F_OK), -1); /* nothing was made */
}

/* Not a boolean the kernel would print: not touched, refused under 1. */
static void test_unreadable_value(void **state)
{
	struct kvfs_wake w;

	(void)state;
	put("maybe\n");
	assert_int_equal(kvfs_wake_apply(&w, param, KVFS_WAKE_AUTO), 0);
	assert_int_equal(w.state, KVFS_WAKE_DENIED);
	assert_int_equal(w.err, EINVAL);
	assert_int_equal(kvfs_wake_apply(&w, param, KVFS_WAKE_ON), -EINVAL);
	assert_string_equal(value(), "maybe\n");
}

/* A daemon that may not write the parameter (run as nobody, the file
 * root's and 0644 as sysfs makes it): auto goes on, 1 refuses. */
static void test_no_right_to_write(void **state)
{
	int status;
	pid_t pid;

	(void)state;
	if (geteuid() != 0)
		skip(); /* needs to drop to another user */
	put("N\n");
	assert_int_equal(chmod(param, 0644), 0);
	assert_int_equal(chmod(dir, 0755), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct kvfs_wake w;
		char line[160];
		int ok = setgid(65534) == 0 && setuid(65534) == 0 &&
			 kvfs_wake_apply(&w, param, KVFS_WAKE_AUTO) == 0 &&
			 w.state == KVFS_WAKE_DENIED && w.err == EACCES &&
			 strcmp(kvfs_wake_describe(&w, line, sizeof(line)),
				"not set (Permission denied)") == 0 &&
			 kvfs_wake_apply(&w, param, KVFS_WAKE_ON) == -EACCES;
		_exit(ok ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_string_equal(value(), "N\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_off_turned_on),
		cmocka_unit_test(test_left_alone),
		cmocka_unit_test(test_absent),
		cmocka_unit_test(test_unreadable_value),
		cmocka_unit_test(test_no_right_to_write),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
