/*
 * test_index.c - unit tests for index/index.c, the SQLite layer.
 *
 * Each test gets a fresh directory (t_tmpdir, removed afterwards), drives
 * the index through its public API, and checks outcomes: what a reopen
 * loads, what a second SQLite connection sees, the -errno of each failure.
 * The helpers (t_*) open that second connection themselves.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "index.h"
#include "log.h"
#include "map.h"
#include "sql.h"

#include "t_util.h"

#define T_DIR_MODE (S_IFDIR | 0755)
#define T_REG_MODE (S_IFREG | 0644)

struct t_env {
	char dir[64];
	char db[96];
};

/* ---- helpers ---- */

static int t_setup(void **state)
{
	struct t_env *env = calloc(1, sizeof(*env));

	assert_non_null(env);
	t_tmpdir(env->dir, sizeof(env->dir), "index");
	snprintf(env->db, sizeof(env->db), "%s/index.db", env->dir);
	*state = env;
	return 0;
}

static int t_teardown(void **state)
{
	struct t_env *env = *state;

	assert_int_equal(t_rmtree(env->dir), 0);
	free(env);
	return 0;
}

static struct kvfs_index *t_open(const struct t_env *env)
{
	struct kvfs_index *ix = NULL;

	assert_int_equal(kvfs_index_open(&ix, env->dir), 0);
	assert_non_null(ix);
	return ix;
}

/* One integer from a second, independent connection (NULL result: -1). */
static int64_t t_sql_int(const struct t_env *env, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	assert_int_equal(sqlite3_open_v2(env->db, &db, SQLITE_OPEN_READWRITE, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	if (sqlite3_column_type(st, 0) != SQLITE_NULL)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void t_sql_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static struct kvfs_index_row t_row(uint64_t id, uint64_t parent,
				   const char *name, uint32_t mode)
{
	struct kvfs_index_row r = {
		.id = id, .parent = parent, .name = name, .mode = mode,
		.uid = 1000, .gid = 1001, .size = id * 4096,
		.atime_ns = 1700000000123456789LL, .mtime_ns = 1700000001LL,
		.ctime_ns = -5, .crc32c = 0xdeadbeef, .flags = KVFS_ROW_CRC_VALID,
		.hits = id + 7, .last_access_ns = 42, .kv_parent = NULL,
	};
	return r;
}

static void t_put(struct kvfs_index *ix, uint64_t id, uint64_t parent,
		  const char *name, uint32_t mode)
{
	struct kvfs_index_row r = t_row(id, parent, name, mode);

	assert_int_equal(kvfs_index_put(ix, &r), 0);
}

static void t_write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

/* What a load delivered, copied, with the order checked as it arrives. */
#define T_MAX_ROWS 256
#define T_MAX_IDS  (1u << 18)

struct t_xattr {
	uint64_t id;
	char name[64];
	unsigned char value[64];
	size_t size;
};

struct t_loaded {
	struct kvfs_index_row rows[T_MAX_ROWS];
	char names[T_MAX_ROWS][64];
	char kv_parents[T_MAX_ROWS][64];
	char targets[T_MAX_ROWS][64];
	unsigned char maps[T_MAX_ROWS][256];
	size_t nrows;           /* every row delivered (may exceed T_MAX_ROWS) */
	struct t_xattr xattrs[T_MAX_ROWS];
	size_t nxattrs;
	unsigned char *seen;    /* seen[id]: row delivered */
	int order_errors;       /* a child came before its parent */
	int stop_after;         /* row_cb returns 7 after this many (0: never) */
};

static int t_row_cb(void *arg, const struct kvfs_index_row *r)
{
	struct t_loaded *l = arg;
	size_t i = l->nrows++;

	if (r->id >= T_MAX_IDS || (r->parent != 0 && !l->seen[r->parent]))
		l->order_errors++;
	else
		l->seen[r->id] = 1;
	if (i < T_MAX_ROWS) {
		l->rows[i] = *r;
		snprintf(l->names[i], sizeof(l->names[i]), "%s", r->name);
		l->rows[i].name = l->names[i];
		if (r->kv_parent) {
			snprintf(l->kv_parents[i], 64, "%s", r->kv_parent);
			l->rows[i].kv_parent = l->kv_parents[i];
		}
		if (r->target) {
			snprintf(l->targets[i], 64, "%s", r->target);
			l->rows[i].target = l->targets[i];
		}
		/* NULL exactly when the length is 0; copied, it is borrowed. */
		if ((r->map == NULL) != (r->map_len == 0) ||
		    r->map_len > sizeof(l->maps[i])) {
			l->order_errors++;
		} else if (r->map) {
			memcpy(l->maps[i], r->map, r->map_len);
			l->rows[i].map = l->maps[i];
		}
	}
	if (l->stop_after && l->nrows == (size_t)l->stop_after)
		return 7;
	return 0;
}

static int t_xattr_cb(void *arg, uint64_t id, const char *name,
		      const void *value, size_t size)
{
	struct t_loaded *l = arg;
	struct t_xattr *x;

	assert_true(id < T_MAX_IDS && l->seen[id]);  /* only loaded rows */
	assert_non_null(value);
	assert_true(l->nxattrs < T_MAX_ROWS && size <= sizeof(x->value));
	x = &l->xattrs[l->nxattrs++];
	x->id = id;
	snprintf(x->name, sizeof(x->name), "%s", name);
	memcpy(x->value, value, size);
	x->size = size;
	return 0;
}

static struct t_loaded *t_load(struct kvfs_index *ix, int expect)
{
	struct t_loaded *l = calloc(1, sizeof(*l));

	assert_non_null(l);
	l->seen = calloc(T_MAX_IDS, 1);
	assert_non_null(l->seen);
	assert_int_equal(kvfs_index_load(ix, t_row_cb, t_xattr_cb, l), expect);
	return l;
}

static void t_loaded_free(struct t_loaded *l)
{
	free(l->seen);
	free(l);
}

static const struct kvfs_index_row *t_find(const struct t_loaded *l, uint64_t id)
{
	size_t i;

	for (i = 0; i < l->nrows && i < T_MAX_ROWS; i++)
		if (l->rows[i].id == id)
			return &l->rows[i];
	return NULL;
}

static const struct t_xattr *t_find_xattr(const struct t_loaded *l, uint64_t id,
					  const char *name)
{
	size_t i;

	for (i = 0; i < l->nxattrs; i++)
		if (l->xattrs[i].id == id && strcmp(l->xattrs[i].name, name) == 0)
			return &l->xattrs[i];
	return NULL;
}

/* ---- tests ---- */

static void test_open_creates_schema(void **state)
{
	struct t_env *env = *state;
	struct kvfs_index *ix = t_open(env);
	struct t_loaded *l;

	assert_int_equal(kvfs_index_max_id(ix), 0);
	l = t_load(ix, 0);
	assert_int_equal(l->nrows, 0);
	assert_int_equal(l->nxattrs, 0);
	t_loaded_free(l);
	assert_int_equal(t_sql_int(env, "PRAGMA user_version"), KVFS_INDEX_VERSION);
	assert_int_equal(t_sql_int(env, "SELECT journal_mode = 'wal' FROM "
				   "pragma_journal_mode"), 1);
	assert_int_equal(t_sql_int(env, "SELECT COUNT(*) FROM sqlite_schema WHERE "
				   "name IN ('inodes', 'xattrs', 'meta')"), 3);
	kvfs_index_close(ix);
}

static void test_open_empty_file(void **state)
{
	struct t_env *env = *state;
	struct kvfs_index *ix;

	t_write_file(env->db, "", 0);
	ix = t_open(env);
	t_put(ix, 1, 0, "", T_DIR_MODE);
	assert_int_equal(kvfs_index_sync(ix, 0), 0);
	kvfs_index_close(ix);
	assert_int_equal(t_sql_int(env, "PRAGMA user_version"), KVFS_INDEX_VERSION);
	assert_int_equal(t_sql_int(env, "SELECT COUNT(*) FROM inodes"), 1);
}

static void test_open_missing_dir(void **state)
{
	struct t_env *env = *state;
	struct kvfs_index *ix = (struct kvfs_index *)&ix;  /* must be reset */
	char missing[128];

	snprintf(missing, sizeof(missing), "%s/no/such/dir", env->dir);
	assert_int_equal(kvfs_index_open(&ix, missing), -ENOENT);
	assert_null(ix);
}

static void test_round_trip(void **state)
{
	struct t_env *env = *state;
	static const unsigned char bin[] = { 0, 1, 2, 0xff, 0 };
	struct kvfs_index_row r = t_row(3, 2, "abc.kv", T_REG_MODE);
	const struct kvfs_index_row *g;
	const struct t_xattr *x;
	struct kvfs_index *ix = t_open(env);
	struct t_loaded *l;

	t_put(ix, 1, 0, "", T_DIR_MODE);
	t_put(ix, 2, 1, "dir", T_DIR_MODE);
	r.kv_parent = "prefix.kv";
	r.size = UINT64_MAX;            /* unsigned values keep all 64 bits */
	r.hits = (uint64_t)INT64_MAX + 5;
	r.flags = KVFS_ROW_CRC_VALID | KVFS_ROW_PINNED;
	assert_int_equal(kvfs_index_put(ix, &r), 0);
	assert_int_equal(kvfs_index_xattr_put(ix, 3, "user.a", "hello", 5), 0);
	assert_int_equal(kvfs_index_xattr_put(ix, 3, "user.bin", bin, sizeof(bin)), 0);
	assert_int_equal(kvfs_index_xattr_put(ix, 2, "user.empty", NULL, 0), 0);
	kvfs_index_close(ix);

	ix = t_open(env);
	l = t_load(ix, 0);
	assert_int_equal(l->nrows, 3);
	assert_int_equal(l->order_errors, 0);
	g = t_find(l, 3);
	assert_non_null(g);
	assert_int_equal(g->parent, 2);
	assert_string_equal(g->name, "abc.kv");
	assert_int_equal(g->mode, T_REG_MODE);
	assert_int_equal(g->uid, 1000);
	assert_int_equal(g->gid, 1001);
	assert_true(g->size == UINT64_MAX);
	assert_true(g->atime_ns == 1700000000123456789LL);
	assert_true(g->mtime_ns == 1700000001LL);
	assert_true(g->ctime_ns == -5);
	assert_true(g->crc32c == 0xdeadbeef);
	assert_int_equal(g->flags, KVFS_ROW_CRC_VALID | KVFS_ROW_PINNED);
	assert_true(g->hits == (uint64_t)INT64_MAX + 5);
	assert_true(g->last_access_ns == 42);
	assert_string_equal(g->kv_parent, "prefix.kv");
	g = t_find(l, 1);
	assert_non_null(g);
	assert_string_equal(g->name, "");
	assert_null(g->kv_parent);
	assert_int_equal(l->nxattrs, 3);
	x = t_find_xattr(l, 3, "user.a");
	assert_non_null(x);
	assert_int_equal(x->size, 5);
	assert_memory_equal(x->value, "hello", 5);
	x = t_find_xattr(l, 3, "user.bin");
	assert_non_null(x);
	assert_int_equal(x->size, sizeof(bin));
	assert_memory_equal(x->value, bin, sizeof(bin));
	x = t_find_xattr(l, 2, "user.empty");
	assert_non_null(x);
	assert_int_equal(x->size, 0);
	assert_int_equal(kvfs_index_max_id(ix), 3);
	t_loaded_free(l);
	kvfs_index_close(ix);
}

static void test_reopen_keeps_data(void **state)
{
	struct t_env *env = *state;
	struct kvfs_index *ix;
	struct t_loaded *l;
	int i;

	ix = t_open(env);
	t_put(ix, 1, 0, "", T_DIR_MODE);
	t_put(ix, 2, 1, "a", T_DIR_MODE);
	kvfs_index_close(ix);
	for (i = 0; i < 3; i++) {       /* plain reopens change nothing */
		ix = t_open(env);
		kvfs_index_close(ix);
	}
	ix = t_open(env);
	t_put(ix, 2, 1, "a-renamed", T_DIR_MODE);       /* update in place */
	t_put(ix, 9, 2, "b", T_DIR_MODE);
	kvfs_index_close(ix);               /* close commits without a sync */

	ix = t_open(env);
	l = t_load(ix, 0);
	assert_int_equal(l->nrows, 3);
	assert_string_equal(t_find(l, 2)->name, "a-renamed");
	assert_non_null(t_find(l, 9));
	assert_int_equal(kvfs_index_max_id(ix), 9);
	t_loaded_free(l);
	kvfs_index_close(ix);
	assert_int_equal(t_sql_int(env, "PRAGMA user_version"), KVFS_INDEX_VERSION);
}

static void test_newer_version_eproto(void **state)
{
	struct t_env *env = *state;
	struct kvfs_index *ix = NULL;
	char sql[64];

	snprintf(sql, sizeof(sql), "CREATE TABLE future (x); PRAGMA user_version = %d",
		 KVFS_INDEX_VERSION + 1);
	t_sql_exec(env->db, sql);
	assert_int_equal(kvfs_index_open(&ix, env->dir), -EPROTO);
	assert_null(ix);
	/* Left exactly as found: same version, no WAL mode switched on. */
	assert_int_equal(t_sql_int(env, "PRAGMA user_version"), KVFS_INDEX_VERSION + 1);
	assert_int_equal(t_sql_int(env, "SELECT journal_mode = 'delete' FROM "
				   "pragma_journal_mode"), 1);
}

static void t_expect_eio_unchanged(const struct t_env *env, const void *buf,
				   size_t len)
{
	struct kvfs_index *ix = NULL;
	unsigned char *back = malloc(len + 1);
	struct stat sb;
	int fd;

	assert_non_null(back);
	assert_int_equal(kvfs_index_open(&ix, env->dir), -EIO);
	assert_null(ix);
	/* The damaged file is the operator's evidence: never rewritten. */
	assert_int_equal(stat(env->db, &sb), 0);
	assert_int_equal(sb.st_size, len);
	fd = open(env->db, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, back, len + 1), (ssize_t)len);
	close(fd);
	assert_memory_equal(back, buf, len);
	free(back);
}

static void test_garbage_file_eio(void **state)
{
	struct t_env *env = *state;
	unsigned char buf[8192];
	size_t i;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 131 + 7);
	t_write_file(env->db, buf, sizeof(buf));        /* whole pages */
	t_expect_eio_unchanged(env, buf, sizeof(buf));
	t_write_file(env->db, "not a database\n", 15);  /* a partial page */
	t_expect_eio_unchanged(env, "not a database\n", 15);
}

/* Builds a real index of many pages and returns its bytes. */
static unsigned char *t_build_big_index(const struct t_env *env, size_t *len)
{
	struct kvfs_index *ix = t_open(env);
	unsigned char *buf;
	char name[128];
	struct stat sb;
	int fd, i;

	t_put(ix, 1, 0, "", T_DIR_MODE);
	for (i = 2; i < 3000; i++) {
		snprintf(name, sizeof(name), "%0100d.kv", i);
		t_put(ix, i, 1, name, T_REG_MODE);
	}
	kvfs_index_close(ix);
	assert_int_equal(stat(env->db, &sb), 0);
	assert_true(sb.st_size > 64 * 1024);
	*len = sb.st_size;
	buf = malloc(*len);
	assert_non_null(buf);
	fd = open(env->db, O_RDONLY);
	assert_int_equal(read(fd, buf, *len), (ssize_t)*len);
	close(fd);
	return buf;
}

static void test_truncated_file_eio(void **state)
{
	struct t_env *env = *state;
	size_t len, cut;
	unsigned char *buf = t_build_big_index(env, &len);

	cut = len / 2 / 4096 * 4096;    /* on a page boundary */
	t_write_file(env->db, buf, cut);
	t_expect_eio_unchanged(env, buf, cut);
	t_write_file(env->db, buf, 5000);       /* inside a page */
	t_expect_eio_unchanged(env, buf, 5000);
	t_write_file(env->db, buf, 50);         /* inside the header */
	t_expect_eio_unchanged(env, buf, 50);
	free(buf);
}

/*
 * A directory renamed into a directory created after it has a smaller id
 * than its new parent; the load must still deliver parents first, at any
 * depth.
 */
static void test_load_order_renamed_dirs(void **state)
{
	struct t_env *env = *state;
	struct kvfs_index *ix = t_open(env);
	struct t_loaded *l;
	uint64_t id;

	t_put(ix, 1, 0, "", T_DIR_MODE);
	t_put(ix, 50, 1, "new", T_DIR_MODE);
	t_put(ix, 5, 50, "old", T_DIR_MODE);        /* renamed under 50 */
	t_put(ix, 2, 5, "f.kv", T_REG_MODE);
	t_put(ix, 60, 5, "deeper", T_DIR_MODE);
	t_put(ix, 3, 60, "g.kv", T_REG_MODE);
	/* A chain 40 deep whose ids shrink as it descends: 140 > 139 > ... */
	t_put(ix, 140, 1, "chain", T_DIR_MODE);
	for (id = 139; id > 100; id--)
		t_put(ix, id, id + 1, "c", T_DIR_MODE);
	t_put(ix, 4, 101, "leaf.kv", T_REG_MODE);
	/* Rows no path from the root reaches: an orphan and a cycle. */
	t_put(ix, 200, 999, "orphan", T_DIR_MODE);
	t_put(ix, 201, 202, "cyc-a", T_DIR_MODE);
	t_put(ix, 202, 201, "cyc-b", T_DIR_MODE);
	assert_int_equal(kvfs_index_xattr_put(ix, 200, "user.x", "1", 1), 0);
	assert_int_equal(kvfs_index_xattr_put(ix, 4, "user.y", "2", 1), 0);
	kvfs_index_close(ix);

	ix = t_open(env);
	l = t_load(ix, 0);
	assert_int_equal(l->order_errors, 0);
	assert_int_equal(l->nrows, 6 + 40 + 1);
	assert_int_equal(l->rows[0].id, 1);
	assert_null(t_find(l, 200));
	assert_null(t_find(l, 201));
	assert_int_equal(l->nxattrs, 1);        /* not the orphan's */
	assert_non_null(t_find_xattr(l, 4, "user.y"));
	t_loaded_free(l);
	kvfs_index_close(ix);
	/* Unreachable rows are kept, not destroyed. */
	assert_int_equal(t_sql_int(env, "SELECT COUNT(*) FROM inodes"), 6 + 41 + 3);
}

static void test_load_callback_stops(void **state)
{
	struct t_env *env = *state;
	struct kvfs_index *ix = t_open(env);
	struct t_loaded *l = calloc(1, sizeof(*l));

	t_put(ix, 1, 0, "", T_DIR_MODE);
	t_put(ix, 2, 1, "a", T_DIR_MODE);
	t_put(ix, 3, 1, "b", T_DIR_MODE);
	assert_int_equal(kvfs_index_sync(ix, 0), 0);
	assert_non_null(l);
	l->seen = calloc(T_MAX_IDS, 1);
	l->stop_after = 2;
	assert_int_equal(kvfs_index_load(ix, t_row_cb, t_xattr_cb, l), 7);
	assert_int_equal(l->nrows, 2);
	assert_int_equal(l->nxattrs, 0);
	t_loaded_free(l);
	kvfs_index_close(ix);
}

static void test_drop_files(void **state)
{
	struct t_env *env = *state;
	struct kvfs_index *ix = t_open(env);
	struct t_loaded *l;

	t_put(ix, 1, 0, "", T_DIR_MODE);
	t_put(ix, 2, 1, "d", T_DIR_MODE);
	t_put(ix, 3, 2, "f1.kv", T_REG_MODE);
	t_put(ix, 4, 1, "f2.kv", T_REG_MODE);
	t_put(ix, 5, 2, "f3.bin", S_IFREG | 0600);
	t_put(ix, 6, 2, "link", S_IFLNK | 0777);
	assert_int_equal(kvfs_index_xattr_put(ix, 2, "user.dir", "d", 1), 0);
	assert_int_equal(kvfs_index_xattr_put(ix, 3, "user.kvfs.pin", "1", 1), 0);
	assert_int_equal(kvfs_index_xattr_put(ix, 3, "user.other", "o", 1), 0);
	assert_int_equal(kvfs_index_xattr_put(ix, 4, "user.f2", "x", 1), 0);
	kvfs_index_close(ix);

	ix = t_open(env);
	assert_int_equal(kvfs_index_drop_files(ix), 3);
	assert_int_equal(kvfs_index_drop_files(ix), 0);
	l = t_load(ix, 0);
	assert_int_equal(l->nrows, 3);
	assert_non_null(t_find(l, 1));
	assert_non_null(t_find(l, 2));
	assert_non_null(t_find(l, 6));
	assert_int_equal(l->nxattrs, 1);
	assert_non_null(t_find_xattr(l, 2, "user.dir"));
	t_loaded_free(l);
	kvfs_index_close(ix);
	assert_int_equal(t_sql_int(env, "SELECT COUNT(*) FROM xattrs"), 1);
	assert_int_equal(t_sql_int(env, "SELECT COUNT(*) FROM inodes"), 3);
}

static void test_sync_visible_to_other_connection(void **state)
{
	struct t_env *env = *state;
	struct kvfs_index *ix = t_open(env);
	struct kvfs_index_stats s;
	int i;

	t_put(ix, 1, 0, "", T_DIR_MODE);
	for (i = 2; i <= 100; i++)
		t_put(ix, i, 1, "x", T_REG_MODE);
	assert_int_equal(kvfs_index_xattr_put(ix, 7, "user.k", "v", 1), 0);
	assert_int_equal(kvfs_index_sync(ix, 0), 0);
	assert_int_equal(t_sql_int(env, "SELECT COUNT(*) FROM inodes"), 100);
	assert_int_equal(t_sql_int(env, "SELECT COUNT(*) FROM xattrs WHERE ino = 7"), 1);
	kvfs_index_stats(ix, &s);
	assert_int_equal(s.queued, 101);
	assert_int_equal(s.committed, 101);
	assert_int_equal(s.errors, 0);
	assert_true(s.transactions >= 1);

	t_put(ix, 101, 1, "y", T_REG_MODE);
	assert_int_equal(kvfs_index_sync(ix, 1), 0);
	assert_int_equal(t_sql_int(env, "SELECT COUNT(*) FROM inodes"), 101);
	kvfs_index_close(ix);
}

/*
 * Durability rule 4: a durable sync with nothing queued commits a sync_gen
 * bump (at FULL) only when an earlier commit was not yet synced.
 */
static void test_durable_sync_without_changes(void **state)
{
	struct t_env *env = *state;
	const char *gen = "SELECT value FROM meta WHERE key = 'sync_gen'";
	struct kvfs_index *ix = t_open(env);
	struct kvfs_index_stats s;

	assert_int_equal(kvfs_index_sync(ix, 1), 0);   /* nothing ever written */
	assert_int_equal(t_sql_int(env, gen), 0);
	t_put(ix, 1, 0, "", T_DIR_MODE);
	assert_int_equal(kvfs_index_sync(ix, 0), 0);   /* NORMAL commit */
	assert_int_equal(kvfs_index_sync(ix, 1), 0);   /* must sync it */
	assert_int_equal(t_sql_int(env, gen), 1);
	assert_int_equal(kvfs_index_sync(ix, 1), 0);   /* already synced */
	assert_int_equal(t_sql_int(env, gen), 1);
	kvfs_index_stats(ix, &s);
	assert_int_equal(s.transactions, 2);    /* the put, then the bump */
	assert_int_equal(s.committed, 1);
	/* The writer may commit the put before the barrier is queued (then
	 * bumps once more) or commit both at FULL: either way it is synced. */
	t_put(ix, 2, 1, "d", T_DIR_MODE);
	assert_int_equal(kvfs_index_sync(ix, 1), 0);
	assert_true(t_sql_int(env, gen) <= 2);
	assert_int_equal(t_sql_int(env, "SELECT COUNT(*) FROM inodes"), 2);
	kvfs_index_close(ix);
}

static void test_deletes(void **state)
{
	struct t_env *env = *state;
	struct kvfs_index *ix = t_open(env);
	struct t_loaded *l;

	t_put(ix, 1, 0, "", T_DIR_MODE);
	t_put(ix, 2, 1, "a.kv", T_REG_MODE);
	t_put(ix, 3, 1, "b.kv", T_REG_MODE);
	assert_int_equal(kvfs_index_xattr_put(ix, 2, "user.one", "1", 1), 0);
	assert_int_equal(kvfs_index_xattr_put(ix, 2, "user.two", "2", 1), 0);
	assert_int_equal(kvfs_index_xattr_put(ix, 3, "user.one", "1", 1), 0);
	assert_int_equal(kvfs_index_xattr_put(ix, 3, "user.two", "2", 1), 0);
	assert_int_equal(kvfs_index_sync(ix, 0), 0);

	assert_int_equal(kvfs_index_del(ix, 2), 0);                 /* row + xattrs */
	assert_int_equal(kvfs_index_xattr_del(ix, 3, "user.one"), 0);
	assert_int_equal(kvfs_index_xattr_del(ix, 3, "user.none"), 0);
	assert_int_equal(kvfs_index_del(ix, 12345), 0);             /* absent: no-op */
	/* rename c.kv over b.kv: put the moved row, then del the replaced */
	t_put(ix, 4, 1, "c.kv", T_REG_MODE);
	t_put(ix, 4, 1, "b.kv", T_REG_MODE);
	assert_int_equal(kvfs_index_del(ix, 3), 0);
	assert_int_equal(kvfs_index_sync(ix, 0), 0);
	assert_int_equal(t_sql_int(env, "SELECT COUNT(*) FROM inodes"), 2);
	assert_int_equal(t_sql_int(env, "SELECT COUNT(*) FROM xattrs"), 0);

	kvfs_index_close(ix);
	ix = t_open(env);
	l = t_load(ix, 0);
	assert_int_equal(l->nrows, 2);
	assert_null(t_find(l, 2));
	assert_null(t_find(l, 3));
	assert_string_equal(t_find(l, 4)->name, "b.kv");
	assert_int_equal(l->nxattrs, 0);
	t_loaded_free(l);
	kvfs_index_close(ix);
}

static void test_many_puts_few_transactions(void **state)
{
	struct t_env *env = *state;
	const uint64_t n = 100000;
	struct kvfs_index *ix = t_open(env);
	struct kvfs_index_stats s;
	char name[48];
	uint64_t i;

	t_put(ix, 1, 0, "", T_DIR_MODE);
	for (i = 2; i <= n; i++) {
		snprintf(name, sizeof(name), "%040" PRIx64 ".kv", i);
		t_put(ix, i, 1, name, T_REG_MODE);
	}
	assert_int_equal(kvfs_index_max_id(ix), n);     /* queued ids count */
	assert_int_equal(kvfs_index_sync(ix, 1), 0);
	kvfs_index_stats(ix, &s);
	print_message("  %" PRIu64 " puts in %" PRIu64 " transactions\n",
		      s.committed, s.transactions);
	assert_int_equal(s.queued, n);
	assert_int_equal(s.committed, n);
	assert_int_equal(s.errors, 0);
	assert_true(s.transactions >= 1);
	assert_true(s.transactions * 100 < n);
	assert_int_equal(t_sql_int(env, "SELECT COUNT(*) FROM inodes"), n);
	kvfs_index_close(ix);
}

/* Another process holding the write lock: the batch fails with -EBUSY,
 * the next sync reports it once, and later commits work again. */
static void test_commit_error_reported_once(void **state)
{
	struct t_env *env = *state;
	struct kvfs_index *ix = t_open(env);
	struct kvfs_index_stats s;
	sqlite3 *other = NULL;

	t_put(ix, 1, 0, "", T_DIR_MODE);
	assert_int_equal(kvfs_index_sync(ix, 0), 0);
	assert_int_equal(sqlite3_open(env->db, &other), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL),
			 SQLITE_OK);
	t_put(ix, 2, 1, "lost", T_DIR_MODE);
	assert_int_equal(kvfs_index_sync(ix, 0), -EBUSY);   /* after the timeout */
	assert_int_equal(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(other);
	assert_int_equal(kvfs_index_sync(ix, 0), 0);        /* cleared */
	t_put(ix, 3, 1, "kept", T_DIR_MODE);
	assert_int_equal(kvfs_index_sync(ix, 0), 0);
	kvfs_index_stats(ix, &s);
	assert_int_equal(s.errors, 1);
	assert_int_equal(s.queued, 3);
	assert_int_equal(s.committed, 2);
	kvfs_index_close(ix);
	assert_int_equal(t_sql_int(env, "SELECT COUNT(*) FROM inodes WHERE id = 2"), 0);
	assert_int_equal(t_sql_int(env, "SELECT COUNT(*) FROM inodes WHERE id = 3"), 1);
}

/*
 * Durability rule 2: a commit survives the daemon's death.  A child commits
 * (sync without `durable`) and is killed with SIGKILL before any close.
 */
static void t_child_commit_and_die(const struct t_env *env)
{
	struct kvfs_index *ix = NULL;
	struct kvfs_index_row r;
	uint64_t id;

	if (kvfs_index_open(&ix, env->dir) != 0)
		_exit(1);
	r = t_row(1, 0, "", T_DIR_MODE);
	if (kvfs_index_put(ix, &r) != 0)
		_exit(2);
	for (id = 2; id <= 1000; id++) {
		r = t_row(id, 1, "f.kv", T_REG_MODE);
		if (kvfs_index_put(ix, &r) != 0)
			_exit(3);
	}
	if (kvfs_index_xattr_put(ix, 500, "user.k", "v", 1) != 0 ||
	    kvfs_index_sync(ix, 0) != 0)
		_exit(4);
	r = t_row(5000, 1, "maybe.kv", T_REG_MODE);     /* may or may not land */
	kvfs_index_put(ix, &r);
	kill(getpid(), SIGKILL);
	_exit(5);
}

static void test_kill9_keeps_commits(void **state)
{
	struct t_env *env = *state;
	struct kvfs_index *ix;
	struct t_loaded *l;
	int status;
	pid_t pid;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		t_child_commit_and_die(env);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	ix = t_open(env);
	l = t_load(ix, 0);
	assert_int_equal(l->order_errors, 0);
	assert_true(l->nrows == 1000 || l->nrows == 1001);
	assert_int_equal(l->nxattrs, 1);
	assert_true(kvfs_index_max_id(ix) >= 1000);
	t_loaded_free(l);
	kvfs_index_close(ix);
}

static void test_not_a_file(void **state)
{
	struct t_env *env = *state;
	struct kvfs_index *ix = NULL;

	assert_int_equal(mkdir(env->db, 0755), 0);
	assert_int_equal(kvfs_index_open(&ix, env->dir), -EISDIR);
	assert_null(ix);
}

static void test_unwritable(void **state)
{
	struct t_env *env = *state;
	struct kvfs_index *ix = NULL;

	if (geteuid() == 0)
		skip();         /* root writes through any permission bits */
	assert_int_equal(chmod(env->dir, 0555), 0);
	assert_int_equal(kvfs_index_open(&ix, env->dir), -EACCES);
	assert_null(ix);
	assert_int_equal(chmod(env->dir, 0755), 0);
	ix = t_open(env);
	kvfs_index_close(ix);
	assert_int_equal(chmod(env->db, 0444), 0);
	assert_int_equal(kvfs_index_open(&ix, env->dir), -EACCES);
	assert_null(ix);
}

/*
 * kvfs_sql_errno() is the one SQLite-to-errno table of the daemon and of
 * kvfsctl fsck.  Until 2026-12 fsck had its own, which differed on PERM
 * (EACCES there, EPERM here), AUTH, CONSTRAINT and CANTOPEN (always
 * EACCES there): these are pinned, as is every code's primary part.
 */
static void test_sql_errno(void **state)
{
	struct t_env *env = *state;
	char path[128];
	sqlite3 *db;

	assert_int_equal(kvfs_sql_errno(NULL, SQLITE_OK), 0);
	assert_int_equal(kvfs_sql_errno(NULL, SQLITE_ROW), 0);
	assert_int_equal(kvfs_sql_errno(NULL, SQLITE_DONE), 0);
	assert_int_equal(kvfs_sql_errno(NULL, SQLITE_PERM), -EACCES);
	assert_int_equal(kvfs_sql_errno(NULL, SQLITE_AUTH), -EACCES);
	assert_int_equal(kvfs_sql_errno(NULL, SQLITE_CONSTRAINT), -EEXIST);
	assert_int_equal(kvfs_sql_errno(NULL, SQLITE_CONSTRAINT_PRIMARYKEY), -EEXIST);
	assert_int_equal(kvfs_sql_errno(NULL, SQLITE_CANTOPEN), -EACCES);
	assert_int_equal(kvfs_sql_errno(NULL, SQLITE_CORRUPT), -EIO);
	assert_int_equal(kvfs_sql_errno(NULL, SQLITE_NOTADB), -EIO);
	assert_int_equal(kvfs_sql_errno(NULL, SQLITE_IOERR_FSYNC), -EIO);
	assert_int_equal(kvfs_sql_errno(NULL, SQLITE_FULL), -ENOSPC);
	assert_int_equal(kvfs_sql_errno(NULL, SQLITE_BUSY_SNAPSHOT), -EBUSY);
	assert_int_equal(kvfs_sql_errno(NULL, SQLITE_LOCKED), -EBUSY);
	assert_int_equal(kvfs_sql_errno(NULL, SQLITE_NOMEM), -ENOMEM);
	assert_int_equal(kvfs_sql_errno(NULL, SQLITE_READONLY_DBMOVED), -EROFS);
	assert_int_equal(kvfs_sql_errno(NULL, SQLITE_MISUSE), -EIO);

	/* CANTOPEN from a real open: the system errno behind it decides. */
	snprintf(path, sizeof(path), "%s/no/such/index.db", env->dir);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL),
			 SQLITE_CANTOPEN);
	assert_int_equal(kvfs_sql_errno(db, sqlite3_errcode(db)), -ENOENT);
	sqlite3_close(db);
	/* A real constraint failure: a row already there. */
	assert_int_equal(sqlite3_open(env->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE t (k INTEGER PRIMARY KEY);"
				      "INSERT INTO t VALUES (1)", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(kvfs_sql_errno(db, sqlite3_exec(db, "INSERT INTO t VALUES (1)",
							 NULL, NULL, NULL)), -EEXIST);
	sqlite3_close(db);
}

/* ---- schema version 2: chunk maps ---- */

/* An encoded map of a file of `size` bytes, its chunks at `base`. */
static void *t_map_blob(uint64_t size, uint64_t base, size_t *len)
{
	struct kvfs_chunk c[4];
	struct kvfs_map m = { .size = size, .n = kvfs_map_nchunks(size), .c = c };
	void *blob = NULL;
	ssize_t n;
	uint32_t i;

	assert_true(m.n <= 4);
	for (i = 0; i < m.n; i++) {
		c[i].soff = base + (uint64_t)i * KVFS_CHUNK;
		c[i].len = kvfs_map_chunk_len(size, i);
		c[i].crc = 0x1000 + i;
	}
	m.file_crc = 0xabcdef01;
	m.head_crc = m.n ? 0x600d : 0;
	n = kvfs_map_encode(&m, &blob);
	assert_true(n > 0);
	*len = (size_t)n;
	return blob;
}

static void test_map_round_trip(void **state)
{
	struct t_env *env = *state;
	struct kvfs_index_row r = t_row(3, 1, "stored.kv", T_REG_MODE);
	const struct kvfs_index_row *g;
	struct kvfs_index *ix = t_open(env);
	struct kvfs_map back;
	struct t_loaded *l;
	size_t len, len2;
	void *blob = t_map_blob(3 * KVFS_CHUNK + 10, 1 << 30, &len);
	void *blob2 = t_map_blob(100, 8192, &len2);

	t_put(ix, 1, 0, "", T_DIR_MODE);
	r.map = blob;
	r.map_len = len;
	assert_int_equal(kvfs_index_put(ix, &r), 0);
	memset(blob, 0, len);           /* put copied it */
	t_put(ix, 4, 1, "memory.kv", T_REG_MODE);       /* no map */
	r = t_row(5, 1, "changed.kv", T_REG_MODE);
	r.map = blob2;
	r.map_len = len2;
	assert_int_equal(kvfs_index_put(ix, &r), 0);
	r.map = NULL;                   /* the stored copy went away */
	r.map_len = 0;
	assert_int_equal(kvfs_index_put(ix, &r), 0);
	r = t_row(6, 1, "empty-map.kv", T_REG_MODE);
	r.map = blob2;                  /* length 0: no map */
	r.map_len = 0;
	assert_int_equal(kvfs_index_put(ix, &r), 0);
	assert_int_equal(kvfs_index_sync(ix, 0), 0);
	assert_int_equal(kvfs_index_count_stored(ix), 1);
	kvfs_index_close(ix);
	assert_int_equal(t_sql_int(env, "SELECT COUNT(*) FROM inodes WHERE map IS NULL"), 4);

	free(blob);
	blob = t_map_blob(3 * KVFS_CHUNK + 10, 1 << 30, &len);
	ix = t_open(env);
	assert_int_equal(kvfs_index_count_stored(ix), 1);
	l = t_load(ix, 0);
	assert_int_equal(l->nrows, 5);
	assert_int_equal(l->order_errors, 0);
	g = t_find(l, 3);
	assert_non_null(g);
	assert_int_equal(g->map_len, len);
	assert_memory_equal(g->map, blob, len);
	assert_int_equal(kvfs_map_decode(g->map, g->map_len, &back), 0);
	assert_true(back.size == 3 * KVFS_CHUNK + 10);
	assert_int_equal(back.n, 4);
	assert_true(back.c[3].soff == (1 << 30) + 3ull * KVFS_CHUNK);
	kvfs_map_release(&back);
	assert_string_equal(g->name, "stored.kv");
	assert_true(g->crc32c == 0xdeadbeef);
	for (uint64_t id = 4; id <= 6; id++) {
		g = t_find(l, id);
		assert_non_null(g);
		assert_null(g->map);
		assert_int_equal(g->map_len, 0);
	}
	g = t_find(l, 1);
	assert_null(g->map);
	t_loaded_free(l);
	kvfs_index_close(ix);
	free(blob);
	free(blob2);
}

/* Version 1's schema, word for word as it shipped. */
static const char t_schema_v1[] =
	"CREATE TABLE inodes ("
	" id INTEGER PRIMARY KEY, parent INTEGER NOT NULL, name TEXT NOT NULL,"
	" mode INTEGER NOT NULL, uid INTEGER NOT NULL, gid INTEGER NOT NULL,"
	" size INTEGER NOT NULL, atime_ns INTEGER NOT NULL,"
	" mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL,"
	" crc32c INTEGER NOT NULL, flags INTEGER NOT NULL,"
	" hits INTEGER NOT NULL, last_access_ns INTEGER NOT NULL,"
	" kv_parent TEXT);"
	"CREATE INDEX inodes_parent_name ON inodes (parent, name);"
	"CREATE INDEX inodes_dirs ON inodes (parent) WHERE (mode & 61440) = 16384;"
	"CREATE TABLE xattrs (ino INTEGER NOT NULL, name TEXT NOT NULL,"
	" value BLOB NOT NULL, PRIMARY KEY (ino, name)) WITHOUT ROWID;"
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;"
	"INSERT INTO meta (key, value) VALUES ('sync_gen', 0);";

static void test_migrate_from_v1(void **state)
{
	struct t_env *env = *state;
	const struct kvfs_index_row *g;
	struct kvfs_index *ix;
	struct t_loaded *l;
	char sql[4096];

	snprintf(sql, sizeof(sql), "PRAGMA journal_mode = WAL; BEGIN; %s"
		 "INSERT INTO inodes VALUES (1, 0, '', %d, 0, 0, 0, 0, 0, 0, 0, 0,"
		 " 0, 0, NULL);"
		 "INSERT INTO inodes VALUES (2, 1, 'd', %d, 0, 0, 0, 0, 0, 0, 0, 0,"
		 " 0, 0, NULL);"
		 "INSERT INTO inodes VALUES (3, 2, 'f.kv', %d, 0, 0, 77, 0, 0, 0,"
		 " 99, 1, 5, 0, 'p.kv');"
		 "INSERT INTO xattrs VALUES (2, 'user.x', 'y');"
		 "PRAGMA user_version = 1; COMMIT;",
		 t_schema_v1, T_DIR_MODE, T_DIR_MODE, T_REG_MODE);
	t_sql_exec(env->db, sql);
	assert_int_equal(t_sql_int(env, "PRAGMA user_version"), 1);

	ix = t_open(env);
	assert_int_equal(t_sql_int(env, "PRAGMA user_version"), KVFS_INDEX_VERSION);
	assert_int_equal(t_sql_int(env, "SELECT COUNT(*) FROM pragma_table_info"
				   "('inodes') WHERE name = 'map' AND type = 'BLOB'"), 1);
	assert_int_equal(t_sql_int(env, "SELECT COUNT(*) FROM inodes WHERE map IS NULL"), 3);
	assert_int_equal(kvfs_index_count_stored(ix), 0);
	l = t_load(ix, 0);
	assert_int_equal(l->nrows, 3);
	assert_int_equal(l->order_errors, 0);
	g = t_find(l, 3);
	assert_non_null(g);
	assert_string_equal(g->name, "f.kv");
	assert_int_equal(g->size, 77);
	assert_int_equal(g->crc32c, 99);
	assert_string_equal(g->kv_parent, "p.kv");
	assert_null(g->map);
	assert_int_equal(g->map_len, 0);
	assert_int_equal(l->nxattrs, 1);
	t_loaded_free(l);
	/* The migrated database takes maps like a new one. */
	{
		struct kvfs_index_row r = t_row(3, 2, "f.kv", T_REG_MODE);

		r.map = "\1\2\3";
		r.map_len = 3;
		assert_int_equal(kvfs_index_put(ix, &r), 0);
	}
	kvfs_index_close(ix);
	assert_int_equal(t_sql_int(env, "SELECT length(map) FROM inodes WHERE id = 3"), 3);
	ix = t_open(env);               /* and a reopen migrates nothing */
	assert_int_equal(kvfs_index_count_stored(ix), 1);
	kvfs_index_close(ix);
	assert_int_equal(t_sql_int(env, "PRAGMA user_version"), KVFS_INDEX_VERSION);
}

/* Version 2: version 1 plus the chunk map, as it shipped. */
static void test_migrate_from_v2(void **state)
{
	struct t_env *env = *state;
	const struct kvfs_index_row *g;
	struct kvfs_index *ix;
	struct t_loaded *l;
	char sql[4096];

	snprintf(sql, sizeof(sql), "PRAGMA journal_mode = WAL; BEGIN; %s"
		 "ALTER TABLE inodes ADD COLUMN map BLOB;"
		 "INSERT INTO inodes VALUES (1, 0, '', %d, 0, 0, 0, 0, 0, 0, 0, 0,"
		 " 0, 0, NULL, NULL);"
		 "INSERT INTO inodes VALUES (2, 1, 'd', %d, 0, 0, 0, 0, 0, 0, 0, 0,"
		 " 0, 0, NULL, NULL);"
		 "INSERT INTO inodes VALUES (3, 2, 's.kv', %d, 0, 0, 3, 0, 0, 0,"
		 " 99, 1, 5, 0, NULL, x'010203');"
		 "INSERT INTO inodes VALUES (4, 2, 'm.kv', %d, 0, 0, 3, 0, 0, 0,"
		 " 99, 1, 5, 0, NULL, NULL);"
		 "PRAGMA user_version = 2; COMMIT;",
		 t_schema_v1, T_DIR_MODE, T_DIR_MODE, T_REG_MODE, T_REG_MODE);
	t_sql_exec(env->db, sql);

	ix = t_open(env);
	assert_int_equal(t_sql_int(env, "PRAGMA user_version"), 3);
	assert_int_equal(t_sql_int(env, "SELECT COUNT(*) FROM pragma_table_info"
				   "('inodes') WHERE name = 'target' AND type = 'TEXT'"), 1);
	assert_int_equal(t_sql_int(env, "SELECT COUNT(*) FROM inodes WHERE target IS NULL"), 4);
	assert_int_equal(kvfs_index_count_stored(ix), 1);
	l = t_load(ix, 0);
	assert_int_equal(l->nrows, 4);
	g = t_find(l, 3);
	assert_non_null(g);
	assert_int_equal(g->map_len, 3);
	assert_memory_equal(g->map, "\1\2\3", 3);
	assert_null(g->target);
	t_loaded_free(l);
	/* The migrated database keeps symbolic links: their target comes
	 * back, and dropping the files of the last run leaves them. */
	{
		struct kvfs_index_row r = t_row(5, 2, "link", S_IFLNK | 0777);

		r.target = "../d/s.kv";
		r.size = 9;
		assert_int_equal(kvfs_index_put(ix, &r), 0);
	}
	kvfs_index_close(ix);
	ix = t_open(env);
	assert_int_equal(kvfs_index_drop_unstored(ix), 1);   /* m.kv only */
	assert_int_equal(kvfs_index_drop_files(ix), 1);      /* s.kv */
	l = t_load(ix, 0);
	assert_int_equal(l->nrows, 3);
	g = t_find(l, 5);
	assert_non_null(g);
	assert_int_equal(g->mode, S_IFLNK | 0777);
	assert_string_equal(g->target, "../d/s.kv");
	assert_int_equal(g->size, 9);
	assert_null(g->map);
	assert_null(t_find(l, 2)->target);
	t_loaded_free(l);
	kvfs_index_close(ix);
	assert_int_equal(t_sql_int(env, "PRAGMA user_version"), 3);
}

/*
 * What an after_commit callback saw: on the writer thread, cmocka's asserts
 * cannot run, so it records and the test asserts afterwards.
 */
struct t_after {
	const struct t_env *env;
	uint64_t id;            /* the row the put before it wrote */
	int calls;
	int err;
	int order;              /* value of *counter when called */
	int *counter;
	int64_t visible;        /* rows with `id` a second connection sees */
};

static int64_t t_count_id(const char *db_path, uint64_t id)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM inodes WHERE id = ?1",
			       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void t_after_cb(void *arg, int err)
{
	struct t_after *a = arg;

	a->calls++;
	a->err = err;
	a->order = (*a->counter)++;
	a->visible = t_count_id(a->env->db, a->id);
}

static void test_after_commit_order(void **state)
{
	struct t_env *env = *state;
	const char *gen = "SELECT value FROM meta WHERE key = 'sync_gen'";
	struct kvfs_index *ix = t_open(env);
	int counter = 0, i;
	struct t_after a[4];
	char name[32];

	memset(a, 0, sizeof(a));
	for (i = 0; i < 4; i++) {
		a[i].env = env;
		a[i].counter = &counter;
		a[i].id = 100 + i;
	}
	t_put(ix, 1, 0, "", T_DIR_MODE);
	for (i = 0; i < 3; i++) {
		/* Many changes before each, so that batches split anywhere. */
		for (int j = 0; j < 2000; j++) {
			snprintf(name, sizeof(name), "f%d.%d", i, j);
			t_put(ix, 1000 + i * 2000 + j, 1, name, T_REG_MODE);
		}
		t_put(ix, a[i].id, 1, "marked", T_REG_MODE);
		assert_int_equal(kvfs_index_after_commit(ix, t_after_cb, &a[i]), 0);
	}
	/* Every callback queued before a sync has run when it returns. */
	assert_int_equal(kvfs_index_sync(ix, 0), 0);
	for (i = 0; i < 3; i++) {
		assert_int_equal(a[i].calls, 1);
		assert_int_equal(a[i].err, 0);
		assert_int_equal(a[i].order, i);
		assert_int_equal(a[i].visible, 1);
	}
	/* A callback makes its commit durable (rule 7): after a NORMAL
	 * commit, a lone callback bumps sync_gen at FULL. */
	t_put(ix, 2, 1, "normal", T_REG_MODE);
	assert_int_equal(kvfs_index_sync(ix, 0), 0);
	assert_int_equal(t_sql_int(env, gen), 0);
	a[3].id = 2;
	assert_int_equal(kvfs_index_after_commit(ix, t_after_cb, &a[3]), 0);
	assert_int_equal(kvfs_index_sync(ix, 0), 0);
	assert_int_equal(a[3].calls, 1);
	assert_int_equal(a[3].err, 0);
	assert_int_equal(t_sql_int(env, gen), 1);

	/* Pending at close: close commits, then calls it, once. */
	memset(&a[3], 0, sizeof(a[3]));
	a[3].env = env;
	a[3].counter = &counter;
	a[3].id = 200;
	t_put(ix, 200, 1, "last", T_REG_MODE);
	assert_int_equal(kvfs_index_after_commit(ix, t_after_cb, &a[3]), 0);
	kvfs_index_close(ix);
	assert_int_equal(a[3].calls, 1);
	assert_int_equal(a[3].err, 0);
	assert_int_equal(a[3].order, 4);
	assert_int_equal(a[3].visible, 1);
	for (i = 0; i < 3; i++)
		assert_int_equal(a[i].calls, 1);
}

/* A failed commit: the next callback gets its -errno (the row still points
 * at what it would free), and later ones 0 again. */
static void test_after_commit_failed(void **state)
{
	struct t_env *env = *state;
	struct kvfs_index *ix = t_open(env);
	int counter = 0;
	struct t_after a[2];
	sqlite3 *other = NULL;

	memset(a, 0, sizeof(a));
	a[0].env = a[1].env = env;
	a[0].counter = a[1].counter = &counter;
	a[0].id = 2;
	a[1].id = 3;
	t_put(ix, 1, 0, "", T_DIR_MODE);
	assert_int_equal(kvfs_index_sync(ix, 0), 0);
	assert_int_equal(sqlite3_open(env->db, &other), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL),
			 SQLITE_OK);
	t_put(ix, 2, 1, "lost", T_REG_MODE);
	assert_int_equal(kvfs_index_sync(ix, 0), -EBUSY);   /* after the timeout */
	assert_int_equal(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(other);
	/* The failed put came before this callback, with none between: its
	 * error is this one's, though the callback's own commit works. */
	assert_int_equal(kvfs_index_after_commit(ix, t_after_cb, &a[0]), 0);
	assert_int_equal(kvfs_index_sync(ix, 0), 0);
	assert_int_equal(a[0].calls, 1);
	assert_int_equal(a[0].err, -EBUSY);
	assert_int_equal(a[0].visible, 0);
	t_put(ix, 3, 1, "kept", T_REG_MODE);
	assert_int_equal(kvfs_index_after_commit(ix, t_after_cb, &a[1]), 0);
	kvfs_index_close(ix);
	assert_int_equal(a[1].calls, 1);
	assert_int_equal(a[1].err, 0);
	assert_int_equal(a[1].visible, 1);
}

static void test_drop_unstored(void **state)
{
	struct t_env *env = *state;
	struct kvfs_index_row r = t_row(3, 2, "stored.kv", T_REG_MODE);
	struct kvfs_index *ix = t_open(env);
	struct t_loaded *l;

	t_put(ix, 1, 0, "", T_DIR_MODE);
	t_put(ix, 2, 1, "d", T_DIR_MODE);
	r.map = "map-bytes";
	r.map_len = 9;
	assert_int_equal(kvfs_index_put(ix, &r), 0);
	t_put(ix, 4, 2, "memory.kv", T_REG_MODE);
	t_put(ix, 5, 1, "memory2.kv", S_IFREG | 0600);
	t_put(ix, 6, 2, "link", S_IFLNK | 0777);
	t_put(ix, 7, 2, "sub", T_DIR_MODE);
	assert_int_equal(kvfs_index_xattr_put(ix, 2, "user.dir", "d", 1), 0);
	assert_int_equal(kvfs_index_xattr_put(ix, 3, "user.kvfs.pin", "1", 1), 0);
	assert_int_equal(kvfs_index_xattr_put(ix, 4, "user.gone", "g", 1), 0);
	assert_int_equal(kvfs_index_xattr_put(ix, 5, "user.gone", "g", 1), 0);
	kvfs_index_close(ix);

	ix = t_open(env);
	assert_int_equal(kvfs_index_count_stored(ix), 1);
	assert_int_equal(kvfs_index_drop_unstored(ix), 2);
	assert_int_equal(kvfs_index_drop_unstored(ix), 0);
	assert_int_equal(kvfs_index_count_stored(ix), 1);
	l = t_load(ix, 0);
	assert_int_equal(l->nrows, 5);
	assert_non_null(t_find(l, 1));
	assert_non_null(t_find(l, 2));
	assert_non_null(t_find(l, 3));
	assert_int_equal(t_find(l, 3)->map_len, 9);
	assert_memory_equal(t_find(l, 3)->map, "map-bytes", 9);
	assert_null(t_find(l, 4));
	assert_null(t_find(l, 5));
	assert_non_null(t_find(l, 6));
	assert_non_null(t_find(l, 7));
	assert_int_equal(l->nxattrs, 2);
	assert_non_null(t_find_xattr(l, 2, "user.dir"));
	assert_non_null(t_find_xattr(l, 3, "user.kvfs.pin"));
	t_loaded_free(l);
	kvfs_index_close(ix);
	assert_int_equal(t_sql_int(env, "SELECT COUNT(*) FROM xattrs"), 2);
	assert_int_equal(t_sql_int(env, "SELECT COUNT(*) FROM inodes"), 5);
}

static void test_meta(void **state)
{
	struct t_env *env = *state;
	struct kvfs_index *ix = t_open(env);
	char buf[32];
	char name[16];
	int i;

	assert_int_equal(kvfs_index_meta_get(ix, "ssd_id", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(kvfs_index_meta_set(ix, "sync_gen", "5"), -EINVAL);
	/* Ordered after the changes queued before it, and durable at return:
	 * a second connection sees both. */
	t_put(ix, 1, 0, "", T_DIR_MODE);
	for (i = 2; i < 3000; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		t_put(ix, i, 1, name, T_REG_MODE);
	}
	assert_int_equal(kvfs_index_meta_set(ix, "ssd_id", "0123456789abcdef"), 0);
	assert_int_equal(t_sql_int(env, "SELECT COUNT(*) FROM inodes"), 2999);
	assert_int_equal(t_sql_int(env, "SELECT value = '0123456789abcdef' FROM meta"
				   " WHERE key = 'ssd_id'"), 1);
	assert_int_equal(kvfs_index_meta_get(ix, "ssd_id", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "0123456789abcdef");
	/* Too small by one (the NUL): -ERANGE, buf untouched. */
	memset(buf, 'z', sizeof(buf));
	assert_int_equal(kvfs_index_meta_get(ix, "ssd_id", buf, 16), -ERANGE);
	assert_int_equal(buf[0], 'z');
	assert_int_equal(kvfs_index_meta_get(ix, "ssd_id", buf, 17), 0);
	assert_string_equal(buf, "0123456789abcdef");
	assert_int_equal(kvfs_index_meta_set(ix, "empty", ""), 0);
	assert_int_equal(kvfs_index_meta_get(ix, "empty", buf, 1), 0);
	assert_string_equal(buf, "");
	assert_int_equal(kvfs_index_meta_get(ix, "empty", buf, 0), -ERANGE);
	assert_int_equal(kvfs_index_meta_set(ix, "gone", "x"), 0);
	assert_int_equal(kvfs_index_meta_set(ix, "gone", NULL), 0);
	assert_int_equal(kvfs_index_meta_get(ix, "gone", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(kvfs_index_meta_set(ix, "gone", NULL), 0);  /* absent */
	/* The index's own key reads like any other. */
	assert_int_equal(kvfs_index_meta_get(ix, "sync_gen", buf, sizeof(buf)), 0);
	kvfs_index_close(ix);

	ix = t_open(env);
	assert_int_equal(kvfs_index_meta_get(ix, "ssd_id", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "0123456789abcdef");
	assert_int_equal(kvfs_index_meta_set(ix, "ssd_id", "other"), 0);
	kvfs_index_close(ix);
	ix = t_open(env);
	assert_int_equal(kvfs_index_meta_get(ix, "ssd_id", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "other");
	assert_int_equal(kvfs_index_meta_get(ix, "gone", buf, sizeof(buf)), -ENOENT);
	kvfs_index_close(ix);
}

/*
 * Cut on a page boundary with no WAL: check_file() passes it, and SQLite
 * finds it at the first read (its header records more pages than the file
 * holds), which open does: -EIO at open, not a failure later in a load.
 */
/* A read's close: hits and last access change, nothing else of the row
 * does, and a row that does not exist is not created. */
static void test_touch(void **state)
{
	struct t_env *env = *state;
	struct kvfs_index *ix = t_open(env);
	const struct kvfs_index_row *r;
	struct t_loaded *l;

	t_put(ix, 1, 0, "", T_DIR_MODE);
	t_put(ix, 2, 1, "f.kv", S_IFREG | 0640);
	assert_int_equal(kvfs_index_touch(ix, 2, 99, 123456789), 0);
	assert_int_equal(kvfs_index_touch(ix, 77, 5, 6), 0);
	kvfs_index_close(ix);

	ix = t_open(env);
	l = t_load(ix, 0);
	assert_int_equal(l->nrows, 2);
	r = t_find(l, 2);
	assert_non_null(r);
	assert_int_equal(r->hits, 99);
	assert_int_equal(r->last_access_ns, 123456789);
	assert_int_equal(r->size, 2 * 4096);
	assert_int_equal(r->crc32c, 0xdeadbeef);
	assert_string_equal(r->name, "f.kv");
	assert_null(t_find(l, 77));
	t_loaded_free(l);
	kvfs_index_close(ix);
}

/* Touches alone wait for company: 500 of them, queued apart, commit as
 * a few transactions; a put behind them ends the wait (its sync returns
 * with all of them committed); close commits what lingers. */
static void test_touch_linger(void **state)
{
	struct t_env *env = *state;
	struct kvfs_index *ix = t_open(env);
	struct kvfs_index_stats a, b;
	const struct kvfs_index_row *r;
	struct t_loaded *l;

	t_put(ix, 1, 0, "", T_DIR_MODE);
	t_put(ix, 2, 1, "f.kv", S_IFREG | 0640);
	assert_int_equal(kvfs_index_sync(ix, 0), 0);
	kvfs_index_stats(ix, &a);
	for (int i = 1; i <= 500; i++) {
		assert_int_equal(kvfs_index_touch(ix, 2, (uint64_t)i, i), 0);
		if (i % 50 == 0)	/* apart: the writer would see each alone */
			usleep(1000);
	}
	t_put(ix, 3, 1, "g.kv", S_IFREG | 0640);
	assert_int_equal(kvfs_index_sync(ix, 0), 0);
	kvfs_index_stats(ix, &b);
	assert_int_equal(b.committed - a.committed, 501);
	assert_true(b.transactions - a.transactions <= 3);
	assert_int_equal(b.pending, 0);
	/* One more touch, then close at once: it is not lost. */
	assert_int_equal(kvfs_index_touch(ix, 2, 1000, 1000), 0);
	kvfs_index_close(ix);

	ix = t_open(env);
	l = t_load(ix, 0);
	r = t_find(l, 2);
	assert_non_null(r);
	assert_int_equal(r->hits, 1000);
	assert_non_null(t_find(l, 3));
	t_loaded_free(l);
	kvfs_index_close(ix);
}

static void test_truncated_at_page_found_at_open(void **state)
{
	struct t_env *env = *state;
	char wal[128];
	size_t len;
	unsigned char *buf = t_build_big_index(env, &len);

	/* close checkpointed and removed the WAL */
	snprintf(wal, sizeof(wal), "%s-wal", env->db);
	assert_true(access(wal, F_OK) != 0 && errno == ENOENT);
	t_write_file(env->db, buf, 4096 * 2);   /* header, and one more page */
	t_expect_eio_unchanged(env, buf, 4096 * 2);
	t_write_file(env->db, buf, len - 4096); /* only the last page missing */
	t_expect_eio_unchanged(env, buf, len - 4096);
	t_write_file(env->db, buf, len);        /* whole again: opens */
	kvfs_index_close(t_open(env));
	free(buf);
}

static void test_close_null(void **state)
{
	(void)state;
	kvfs_index_close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, t_setup, t_teardown)
		T(test_open_creates_schema),
		T(test_open_empty_file),
		T(test_open_missing_dir),
		T(test_round_trip),
		T(test_reopen_keeps_data),
		T(test_newer_version_eproto),
		T(test_garbage_file_eio),
		T(test_truncated_file_eio),
		T(test_load_order_renamed_dirs),
		T(test_load_callback_stops),
		T(test_drop_files),
		T(test_sync_visible_to_other_connection),
		T(test_durable_sync_without_changes),
		T(test_deletes),
		T(test_many_puts_few_transactions),
		T(test_commit_error_reported_once),
		T(test_kill9_keeps_commits),
		T(test_not_a_file),
		T(test_unwritable),
		T(test_sql_errno),
		T(test_map_round_trip),
		T(test_migrate_from_v1),
		T(test_migrate_from_v2),
		T(test_after_commit_order),
		T(test_after_commit_failed),
		T(test_drop_unstored),
		T(test_meta),
		T(test_touch),
		T(test_touch_linger),
		T(test_truncated_at_page_found_at_open),
		cmocka_unit_test(test_close_null),
#undef T
	};

	/* Expected failures log lines; keep them, they show the messages. */
	kvfs_log_set_level(KVFS_LOG_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
