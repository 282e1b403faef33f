/*
 * test_check.c - offline verification and repair of an index
 * (index/check.c, behind `kvfsctl fsck`).
 *
 * Each test makes an index with the daemon's own schema (kvfs_index_open),
 * writes rows with plain SQL the way damage would leave them, runs the
 * check, and asserts what it names: the kind, the row, the path.  Repairs
 * are checked by checking again, and by what the daemon's load then sees.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "check.h"
#include "index.h"

#define DIR_MODE (S_IFDIR | 0755)
#define REG_MODE (S_IFREG | 0644)

struct t_env {
	char dir[64];
	char db[96];
	/* What the last check reported. */
	char seen[64][160];  /* "kind path id" */
	int nseen;
};

static int t_rm_one(const char *path, const struct stat *sb, int flag,
		    struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(path);
}

static int t_setup(void **state)
{
	struct t_env *env = calloc(1, sizeof(*env));
	struct kvfs_index *ix;

	if (!env)
		return -1;
	strcpy(env->dir, "/tmp/kvfs-test-check.XXXXXX");
	if (!mkdtemp(env->dir))
		return -1;
	snprintf(env->db, sizeof(env->db), "%s/index.db", env->dir);
	/* The daemon's schema, empty. */
	if (kvfs_index_open(&ix, env->dir) != 0)
		return -1;
	kvfs_index_close(ix);
	*state = env;
	return 0;
}

static int t_teardown(void **state)
{
	struct t_env *env = *state;

	nftw(env->dir, t_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(env);
	return 0;
}

static void t_sql(struct t_env *env, const char *fmt, ...)
{
	char sql[1024], *err = NULL;
	sqlite3 *db;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	assert_int_equal(sqlite3_open(env->db, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
	sqlite3_close(db);
}

static void t_row(struct t_env *env, uint64_t id, uint64_t parent,
		  const char *name, uint32_t mode, int64_t ctime)
{
	t_sql(env, "INSERT INTO inodes (id, parent, name, mode, uid, gid, size,"
	      " atime_ns, mtime_ns, ctime_ns, crc32c, flags, hits, last_access_ns)"
	      " VALUES (%" PRIu64 ", %" PRIu64 ", '%s', %u, 0, 0, 0, 0, 0, %" PRId64
	      ", 0, 0, 0, 0)", id, parent, name, mode, ctime);
}

/* root (1) with /d (2), /d/e (3), /d/e/f.kv (4), /g.kv (5). */
static void t_tree(struct t_env *env)
{
	t_row(env, 1, 0, "", DIR_MODE, 1);
	t_row(env, 2, 1, "d", DIR_MODE, 1);
	t_row(env, 3, 2, "e", DIR_MODE, 1);
	t_row(env, 4, 3, "f.kv", REG_MODE, 1);
	t_row(env, 5, 1, "g.kv", REG_MODE, 1);
}

static void t_problem(void *arg, const struct kvfs_check_problem *p)
{
	struct t_env *env = arg;

	if (env->nseen < 64)
		snprintf(env->seen[env->nseen++], sizeof(env->seen[0]), "%s %s %" PRIu64,
			 kvfs_check_kind_names[p->kind], p->path, p->id);
}

static struct kvfs_check_result t_check(struct t_env *env, int repair, int want_err)
{
	struct kvfs_check_opts o = { .repair = repair, .problem = t_problem, .arg = env };
	struct kvfs_check_result r;

	env->nseen = 0;
	assert_int_equal(kvfs_index_check(env->dir, &o, &r), want_err);
	return r;
}

static void assert_seen(struct t_env *env, const char *line)
{
	for (int i = 0; i < env->nseen; i++)
		if (strcmp(env->seen[i], line) == 0)
			return;
	fail_msg("the check did not report \"%s\" (%d problems reported%s%s)", line,
		 env->nseen, env->nseen ? ", first: " : "", env->nseen ? env->seen[0] : "");
}

/* What the daemon's start would load: the number of rows. */
static int t_load_row(void *arg, const struct kvfs_index_row *row)
{
	(void)row;
	(*(int *)arg)++;
	return 0;
}

static int t_loaded(struct t_env *env)
{
	struct kvfs_index *ix;
	int n = 0;

	assert_int_equal(kvfs_index_open(&ix, env->dir), 0);
	assert_int_equal(kvfs_index_load(ix, t_load_row, NULL, &n), 0);
	kvfs_index_close(ix);
	return n;
}

/* ---- tests ---- */

static void test_clean(void **state)
{
	struct t_env *env = *state;
	struct kvfs_check_result r;

	t_tree(env);
	t_sql(env, "INSERT INTO xattrs VALUES (2, 'user.model', 'llama')");
	r = t_check(env, 0, 0);
	assert_int_equal(r.rows, 5);
	assert_int_equal(r.dirs, 3);
	assert_int_equal(r.files, 2);
	assert_int_equal(r.xattrs, 1);
	assert_int_equal(r.errors, 0);
	/* Memory-only files are notices, and the check changes nothing. */
	assert_int_equal(r.notices, 2);
	assert_int_equal(r.count[KVFS_CHECK_MEMORY_FILE], 2);
	assert_seen(env, "memory-file /d/e/f.kv 4");
	r = t_check(env, 0, 0);
	assert_int_equal(r.rows, 5);
}

static void test_empty_and_missing(void **state)
{
	struct t_env *env = *state;
	struct kvfs_check_result r;

	r = t_check(env, 0, 0);
	assert_int_equal(r.rows, 0);
	assert_int_equal(r.errors, 0);
	unlink(env->db);
	t_check(env, 0, -ENOENT);
}

static void test_orphan_named_and_repaired(void **state)
{
	struct t_env *env = *state;
	struct kvfs_check_result r;

	t_tree(env);
	t_sql(env, "DELETE FROM inodes WHERE id = 2");   /* /d goes missing */
	t_sql(env, "INSERT INTO xattrs VALUES (3, 'user.a', 'b')");
	r = t_check(env, 0, 0);
	assert_int_equal(r.errors, 2);
	assert_int_equal(r.count[KVFS_CHECK_ORPHAN], 1);
	assert_int_equal(r.count[KVFS_CHECK_UNREACHABLE], 1);
	assert_seen(env, "orphan ?2/e 3");
	assert_seen(env, "unreachable ?2/e/f.kv 4");
	assert_int_equal(r.repaired, 0);

	r = t_check(env, 1, 0);
	assert_int_equal(r.errors, 2);
	assert_int_equal(r.repaired, 2 + r.notices);
	r = t_check(env, 0, 0);
	assert_int_equal(r.errors, 0);
	assert_int_equal(r.notices, 0);   /* memory-only rows dropped too */
	assert_int_equal(r.rows, 1);
	assert_int_equal(r.xattrs, 0);    /* row 3's xattr went with it */
	assert_int_equal(t_loaded(env), 1);
}

static void test_cycle(void **state)
{
	struct t_env *env = *state;
	struct kvfs_check_result r;

	t_tree(env);
	t_row(env, 10, 11, "x", DIR_MODE, 1);
	t_row(env, 11, 10, "y", DIR_MODE, 1);
	t_row(env, 12, 11, "z.kv", REG_MODE, 1);
	r = t_check(env, 0, 0);
	assert_int_equal(r.count[KVFS_CHECK_CYCLE], 2);
	assert_int_equal(r.count[KVFS_CHECK_UNREACHABLE], 1);
	assert_int_equal(r.errors, 3);
	r = t_check(env, 1, 0);
	r = t_check(env, 0, 0);
	assert_int_equal(r.errors, 0);
	assert_int_equal(r.rows, 3);      /* root, d, e */
}

static void test_names_types_duplicates(void **state)
{
	struct t_env *env = *state;
	struct kvfs_check_result r;

	t_tree(env);
	t_row(env, 20, 1, "a/b", REG_MODE, 1);
	t_row(env, 21, 1, "..", DIR_MODE, 1);
	t_row(env, 22, 1, "link", S_IFLNK | 0777, 1);
	t_row(env, 23, 1, "d", DIR_MODE, 0);      /* older than row 2 */
	t_row(env, 24, 23, "under.kv", REG_MODE, 1);
	r = t_check(env, 0, 0);
	assert_int_equal(r.count[KVFS_CHECK_BAD_NAME], 2);
	assert_int_equal(r.count[KVFS_CHECK_BAD_TYPE], 1);
	assert_int_equal(r.count[KVFS_CHECK_DUPLICATE], 1);
	assert_int_equal(r.count[KVFS_CHECK_UNREACHABLE], 1);
	assert_seen(env, "duplicate /d 23");
	assert_seen(env, "bad-type /link 22");
	assert_seen(env, "unreachable /d/under.kv 24");
	t_check(env, 1, 0);
	r = t_check(env, 0, 0);
	assert_int_equal(r.errors, 0);
	assert_int_equal(r.rows, 3);
	assert_int_equal(t_loaded(env), 3);
}

static void test_roots(void **state)
{
	struct t_env *env = *state;
	struct kvfs_check_result r;

	t_tree(env);
	t_sql(env, "DELETE FROM inodes WHERE id = 1");
	r = t_check(env, 0, 0);
	assert_int_equal(r.count[KVFS_CHECK_ROOT], 1);
	assert_int_equal(r.count[KVFS_CHECK_ORPHAN], 0); /* /d hangs off root id 1 */
	assert_int_equal(r.errors, 1);
	t_check(env, 1, 0);
	r = t_check(env, 0, 0);
	assert_int_equal(r.errors, 0);
	assert_int_equal(r.dirs, 3);      /* root recreated; d and e kept */
	assert_int_equal(t_loaded(env), 3);

	t_row(env, 30, 0, "", DIR_MODE, 1);         /* a second root */
	t_row(env, 31, 30, "under", DIR_MODE, 1);
	t_sql(env, "UPDATE inodes SET mode = %d WHERE id = 1", REG_MODE);
	r = t_check(env, 0, 0);
	assert_int_equal(r.count[KVFS_CHECK_ROOT], 2);
	assert_int_equal(r.count[KVFS_CHECK_UNREACHABLE], 1);
	t_check(env, 1, 0);
	r = t_check(env, 0, 0);
	assert_int_equal(r.errors, 0);
	assert_int_equal(t_loaded(env), 3);
}

static void test_orphan_xattrs(void **state)
{
	struct t_env *env = *state;
	struct kvfs_check_result r;

	t_tree(env);
	t_sql(env, "INSERT INTO xattrs VALUES (99, 'user.x', 'y'), (99, 'user.z', 'w')");
	r = t_check(env, 0, 0);
	assert_int_equal(r.count[KVFS_CHECK_XATTR_ORPHAN], 1);
	assert_seen(env, "orphan-xattr ?99 99");
	t_check(env, 1, 0);
	r = t_check(env, 0, 0);
	assert_int_equal(r.errors, 0);
	assert_int_equal(r.xattrs, 0);
}

static void test_newer_schema_and_damage(void **state)
{
	struct t_env *env = *state;
	struct kvfs_check_result r;
	char junk[4096];
	int fd;

	t_tree(env);
	t_sql(env, "PRAGMA user_version = %d", KVFS_INDEX_VERSION + 1);
	t_check(env, 0, -EPROTO);
	t_sql(env, "PRAGMA user_version = %d", KVFS_INDEX_VERSION);

	/* Garbage over the second page (a table's b-tree). */
	memset(junk, 0xa5, sizeof(junk));
	fd = open(env->db, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, junk, sizeof(junk), 4096), (ssize_t)sizeof(junk));
	close(fd);
	r = t_check(env, 1, 0);
	assert_true(r.count[KVFS_CHECK_INTEGRITY] >= 1);
	assert_int_equal(r.unrepairable, r.errors);
	assert_int_equal(r.repaired, 0);
}

/* Both schemas the daemon has written check: version 1 (no map column; the
 * check does not migrate) and version 2 with a stored file's map. */
static void test_schema_versions(void **state)
{
	struct t_env *env = *state;
	struct kvfs_check_result r;

	assert_int_equal(KVFS_INDEX_VERSION, 2);
	t_tree(env);
	t_sql(env, "UPDATE inodes SET map = x'01020304' WHERE id = 4");
	r = t_check(env, 0, 0);
	assert_int_equal(r.rows, 5);
	assert_int_equal(r.errors, 0);
	t_sql(env, "ALTER TABLE inodes DROP COLUMN map; PRAGMA user_version = 1");
	r = t_check(env, 0, 0);
	assert_int_equal(r.rows, 5);
	assert_int_equal(r.errors, 0);
	assert_int_equal(r.count[KVFS_CHECK_SCHEMA], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_clean, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_empty_and_missing, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_orphan_named_and_repaired, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_cycle, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_names_types_duplicates, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_roots, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_orphan_xattrs, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema_and_damage, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_schema_versions, t_setup, t_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
