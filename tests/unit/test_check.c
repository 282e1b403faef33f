/*
 * test_check.c - offline verification and repair of an index
 * (index/check.c, behind `kvfsctl fsck`).
 *
 * Each test makes an index with the daemon's own schema (kvfs_index_open),
 * writes rows with plain SQL the way damage would leave them, runs the
 * check, and asserts what it names: the kind, the row, the path.  Repairs
 * are checked by checking again, and by what the daemon's load then sees.
 *
 * Stored files get a real SSD store (kvfs_ssd_open, 64 MiB: 4 slabs of
 * 16 MiB) in <dir>/ssd: their data is written with kvfs_ssd_write, their
 * rows carry the encoded map, and the index's meta records the store as
 * the daemon does (ssd_id, ssd_dir).  Damage is then made on disk.
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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "t_slabs.h"
#include "t_util.h"

#include "check.h"
#include "crc32c.h"
#include "index.h"
#include "map.h"
#include "ssd.h"

#define DIR_MODE (S_IFDIR | 0755)
#define REG_MODE (S_IFREG | 0644)

struct t_env {
	char dir[96];
	char db[112];
	char ssd_dir[112];
	struct kvfs_ssd *ssd;    /* open while stored files are written */
	struct kvfs_map last;    /* the map of the last stored file */
	/* What the last check reported. */
	char seen[64][160];  /* "kind path id" */
	int nseen;
};

static int t_setup(void **state)
{
	struct t_env *env = calloc(1, sizeof(*env));
	struct kvfs_index *ix;

	assert_non_null(env);
	t_tmpdir(env->dir, sizeof(env->dir), "check");
	snprintf(env->db, sizeof(env->db), "%s/index.db", env->dir);
	/* The daemon's schema, empty. */
	assert_int_equal(kvfs_index_open(&ix, env->dir), 0);
	kvfs_index_close(ix);
	*state = env;
	return 0;
}

static int t_teardown(void **state)
{
	struct t_env *env = *state;

	if (env->ssd)
		kvfs_ssd_close(env->ssd);
	kvfs_map_release(&env->last);
	assert_int_equal(t_rmtree(env->dir), 0);
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

static struct kvfs_check_result t_check_ssd(struct t_env *env, int repair,
					    int want_err, const char *ssd_dir)
{
	struct kvfs_check_opts o = { .repair = repair, .problem = t_problem,
				     .arg = env, .ssd_dir = ssd_dir };
	struct kvfs_check_result r;

	env->nseen = 0;
	assert_int_equal(kvfs_index_check(env->dir, &o, &r), want_err);
	return r;
}

static struct kvfs_check_result t_check(struct t_env *env, int repair, int want_err)
{
	return t_check_ssd(env, repair, want_err, NULL);
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

/* ---- stored files ---- */

/* Opens (makes) the SSD store in <dir>/ssd and records it in the index. */
static void t_store_open(struct t_env *env)
{
	char msg[256] = "";

	snprintf(env->ssd_dir, sizeof(env->ssd_dir), "%s/ssd", env->dir);
	mkdir(env->ssd_dir, 0700);
	if (kvfs_ssd_open(&env->ssd, env->ssd_dir, 64ull << 20, msg, sizeof(msg)) != 0)
		fail_msg("kvfs_ssd_open: %s", msg);
	t_sql(env, "INSERT OR REPLACE INTO meta (key, value) VALUES ('ssd_id', '%016llx'),"
	      " ('ssd_dir', '%s')", (unsigned long long)kvfs_ssd_id(env->ssd),
	      env->ssd_dir);
}

/* The daemon is gone: the check may lock the directory. */
static void t_store_close(struct t_env *env)
{
	kvfs_ssd_close(env->ssd);
	env->ssd = NULL;
}

/* A file row whose map is m (NULL: no map). */
static void t_row_map(struct t_env *env, uint64_t id, uint64_t parent,
		      const char *name, const struct kvfs_map *m)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	void *blob = NULL;
	ssize_t len = 0;

	if (m)
		assert_true((len = kvfs_map_encode(m, &blob)) > 0);
	assert_int_equal(sqlite3_open(env->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO inodes (id, parent, name,"
		" mode, uid, gid, size, atime_ns, mtime_ns, ctime_ns, crc32c, flags,"
		" hits, last_access_ns, map) VALUES (?1, ?2, ?3, ?4, 0, 0, ?5, 0, 0, 1,"
		" 0, 1, 0, 0, ?6)", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)parent);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, REG_MODE);
	sqlite3_bind_int64(st, 5, m ? (sqlite3_int64)m->size : 0);
	if (m)
		sqlite3_bind_blob(st, 6, blob, (int)len, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(blob);
}

/*
 * Writes a stored file as the daemon's flusher would: each chunk to a run
 * taken near `near` (UINT64_MAX: anywhere), chunk `hole` (or -1) left a
 * hole, then its row with the map.  The map stays in env->last.
 */
static void t_stored(struct t_env *env, uint64_t id, uint64_t parent,
		     const char *name, uint64_t size, int hole, uint64_t near)
{
	struct kvfs_map *m = &env->last;
	struct kvfs_ssd_io io;
	char *buf;

	kvfs_map_release(m);
	memset(m, 0, sizeof(*m));
	m->size = size;
	m->n = kvfs_map_nchunks(size);
	m->c = calloc(m->n ? m->n : 1, sizeof(*m->c));
	assert_non_null(m->c);
	assert_int_equal(posix_memalign((void **)&buf, 4096, KVFS_CHUNK), 0);
	for (uint32_t k = 0; k < m->n; k++) {
		uint64_t bytes = size - (uint64_t)k * KVFS_CHUNK;
		uint32_t len = kvfs_map_chunk_len(size, k);

		bytes = bytes < KVFS_CHUNK ? bytes : KVFS_CHUNK;
		if ((int)k == hole) {
			m->file_crc = kvfs_crc32c_zeros(m->file_crc, bytes);
			continue;
		}
		memset(buf, 0, len);
		t_pattern(buf, bytes, id * 100 + k, 0);
		assert_int_equal(kvfs_ssd_alloc(env->ssd, len, near, &m->c[k].soff), 0);
		near = m->c[k].soff + len;
		io = (struct kvfs_ssd_io){ .soff = m->c[k].soff, .len = len, .buf = buf };
		assert_int_equal(kvfs_ssd_write(env->ssd, &io, 1), 0);
		m->c[k].len = len;
		m->c[k].crc = kvfs_crc32c(0, buf, len);
		if (k == 0)
			m->head_crc = kvfs_crc32c(0, buf, len < KVFS_HEAD ? len : KVFS_HEAD);
		m->file_crc = kvfs_crc32c(m->file_crc, buf, bytes);
	}
	free(buf);
	assert_int_equal(kvfs_ssd_sync(env->ssd), 0);
	t_row_map(env, id, parent, name, m);
}

/* root (1) with /d (2), /d/e (3); stored /d/e/f.kv (4, 2.5 MiB + 5),
 * /g.kv (5, 100 bytes), /h.kv (6, 3 MiB, chunk 1 a hole); and the
 * memory-only /m.kv (7). */
static void t_stored_tree(struct t_env *env)
{
	t_row(env, 1, 0, "", DIR_MODE, 1);
	t_row(env, 2, 1, "d", DIR_MODE, 1);
	t_row(env, 3, 2, "e", DIR_MODE, 1);
	t_store_open(env);
	t_stored(env, 4, 3, "f.kv", (5ull << 19) + 5, -1, UINT64_MAX);
	t_stored(env, 5, 1, "g.kv", 100, -1, UINT64_MAX);
	t_stored(env, 6, 1, "h.kv", 3ull << 20, 1, UINT64_MAX);
	t_row(env, 7, 1, "m.kv", REG_MODE, 1);
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

/* Every schema the daemon has written checks: version 1 (no map column;
 * the check does not migrate), version 2 with a stored file's map, and
 * version 3 with symbolic links. */
static void test_schema_versions(void **state)
{
	struct t_env *env = *state;
	struct kvfs_check_result r;

	assert_int_equal(KVFS_INDEX_VERSION, 3);
	t_tree(env);
	/* A link with a target of 1 to 4095 bytes loads; others do not. */
	t_row(env, 6, 2, "ok", S_IFLNK | 0777, 1);
	t_sql(env, "UPDATE inodes SET target = 'e/f.kv' WHERE id = 6");
	t_row(env, 7, 1, "empty", S_IFLNK | 0777, 1);
	t_sql(env, "UPDATE inodes SET target = '' WHERE id = 7");
	t_row(env, 8, 1, "long", S_IFLNK | 0777, 1);
	t_sql(env, "UPDATE inodes SET target = substr(hex(zeroblob(2048)), 1, 4096)"
	      " WHERE id = 8");
	t_row(env, 9, 1, "max", S_IFLNK | 0777, 1);
	t_sql(env, "UPDATE inodes SET target = substr(hex(zeroblob(2048)), 1, 4095)"
	      " WHERE id = 9");
	r = t_check(env, 0, 0);
	assert_int_equal(r.count[KVFS_CHECK_BAD_TYPE], 2);
	assert_int_equal(r.errors, 2);
	assert_seen(env, "bad-type /empty 7");
	assert_seen(env, "bad-type /long 8");
	t_sql(env, "DELETE FROM inodes WHERE id IN (7, 8)");
	r = t_check(env, 0, 0);
	assert_int_equal(r.errors, 0);
	assert_int_equal(r.rows, 7);
	/* Version 2 has no targets: a link row there is not one kvfs wrote. */
	t_sql(env, "DELETE FROM inodes WHERE id = 9");
	t_sql(env, "ALTER TABLE inodes DROP COLUMN target; PRAGMA user_version = 2");
	r = t_check(env, 0, 0);
	assert_int_equal(r.count[KVFS_CHECK_BAD_TYPE], 1);
	assert_seen(env, "bad-type /d/ok 6");
	t_sql(env, "DELETE FROM inodes WHERE id = 6");
	t_sql(env, "UPDATE inodes SET map = x'01020304' WHERE id = 4");
	r = t_check(env, 0, 0);
	assert_int_equal(r.rows, 5);
	/* A map that does not decode, and no SSD directory recorded. */
	assert_int_equal(r.count[KVFS_CHECK_BAD_MAP], 1);
	assert_int_equal(r.count[KVFS_CHECK_STORE], 1);
	assert_int_equal(r.errors, 2);
	assert_seen(env, "bad-map /d/e/f.kv 4");
	t_sql(env, "ALTER TABLE inodes DROP COLUMN map; PRAGMA user_version = 1");
	r = t_check(env, 0, 0);
	assert_int_equal(r.rows, 5);
	assert_int_equal(r.errors, 0);
	assert_int_equal(r.count[KVFS_CHECK_SCHEMA], 0);
}


/* A store the daemon would load verifies; the runs of a row deleted by
 * hand are free space, not a problem. */
static void test_stored_clean(void **state)
{
	struct t_env *env = *state;
	struct kvfs_check_result r;

	t_stored_tree(env);
	t_store_close(env);
	r = t_check(env, 0, 0);
	assert_int_equal(r.errors, 0);
	assert_int_equal(r.files, 4);
	assert_int_equal(r.stored, 3);
	assert_int_equal(r.notices, 1);   /* /m.kv only */
	assert_seen(env, "memory-file /m.kv 7");
	assert_int_equal(r.verified_bytes, (5ull << 19) + 5 + 100 + (2ull << 20));
	assert_int_equal(r.slabs, 4);
	assert_string_equal(r.ssd_dir, env->ssd_dir);

	t_sql(env, "DELETE FROM inodes WHERE id = 5");
	r = t_check(env, 0, 0);
	assert_int_equal(r.errors, 0);
	assert_int_equal(r.stored, 2);
	/* --repair drops the memory-only row and nothing else. */
	r = t_check(env, 1, 0);
	assert_int_equal(r.repaired, 1);
	assert_int_equal(t_loaded(env), 5);
}

/* A flipped byte in a chunk, and one in a head: both files named; the
 * repair deletes exactly their rows. */
static void test_flipped_byte_named_and_repaired(void **state)
{
	struct t_env *env = *state;
	struct kvfs_check_result r;
	uint64_t f1, g0;

	t_stored_tree(env);
	t_store_close(env);
	t_sql(env, "DELETE FROM inodes WHERE id = 7");
	assert_int_equal(t_check(env, 0, 0).errors, 0);
	f1 = t_map_soff(env->db, 4, 1) + 4321;   /* in chunk 1 of /d/e/f.kv */
	g0 = t_map_soff(env->db, 5, 0) + 7;      /* in the head of /g.kv */
	t_flip_byte(env->ssd_dir, f1);
	t_flip_byte(env->ssd_dir, g0);
	r = t_check(env, 0, 0);
	assert_int_equal(r.errors, 2);
	assert_int_equal(r.count[KVFS_CHECK_BAD_DATA], 2);
	assert_int_equal(r.unrepairable, 0);
	assert_seen(env, "bad-data /d/e/f.kv 4");
	assert_seen(env, "bad-data /g.kv 5");
	assert_int_equal(t_loaded(env), 6);    /* a check changes nothing */

	r = t_check(env, 1, 0);
	assert_int_equal(r.repaired, 2);
	r = t_check(env, 0, 0);
	assert_int_equal(r.errors, 0);
	assert_int_equal(r.stored, 1);         /* /h.kv */
	assert_int_equal(t_loaded(env), 4);
}

/* A map that does not decode, a run outside the store, two rows claiming
 * the same bytes (the later one is named), a file whose chunks overlap
 * each other, a file checksum that disagrees with its chunks. */
static void test_maps_runs_overlaps(void **state)
{
	struct t_env *env = *state;
	struct kvfs_check_result r;
	struct kvfs_map m;
	uint64_t stride;

	t_row(env, 1, 0, "", DIR_MODE, 1);
	t_store_open(env);
	stride = t_slab_stride(env->ssd_dir);
	t_stored(env, 10, 1, "a.kv", 2ull << 20, -1, UINT64_MAX);
	t_sql(env, "INSERT INTO inodes SELECT 11, 1, 'b.kv', mode, uid, gid, size,"
	      " atime_ns, mtime_ns, ctime_ns, crc32c, flags, hits, last_access_ns,"
	      " kv_parent, map, target FROM inodes WHERE id = 10");
	t_stored(env, 12, 1, "bad.kv", 4096, -1, UINT64_MAX);
	t_sql(env, "UPDATE inodes SET map = x'0102' WHERE id = 12");
	/* One chunk placed in slab 9 of a 4-slab store. */
	t_stored(env, 13, 1, "out.kv", 4096, -1, UINT64_MAX);
	m = env->last;
	m.c[0].soff = 9 * stride + 8192;
	t_sql(env, "DELETE FROM inodes WHERE id = 13");
	t_row_map(env, 13, 1, "out.kv", &m);
	/* Two identical chunks, both stored in one run: every checksum holds,
	 * but the daemon cannot claim the run twice. */
	t_stored(env, 14, 1, "self.kv", 1ull << 20, -1, UINT64_MAX);
	{
		struct kvfs_chunk two[2] = { env->last.c[0], env->last.c[0] };
		char *data = malloc(1 << 20);

		assert_non_null(data);
		t_pattern(data, 1 << 20, 1400, 0);
		m = env->last;
		m.size = 2ull << 20;
		m.n = 2;
		m.c = two;
		m.file_crc = kvfs_crc32c(kvfs_crc32c(0, data, 1 << 20), data, 1 << 20);
		free(data);
		t_sql(env, "DELETE FROM inodes WHERE id = 14");
		t_row_map(env, 14, 1, "self.kv", &m);
	}
	/* Sound chunks, a wrong file checksum. */
	t_stored(env, 15, 1, "sum.kv", 3000, -1, UINT64_MAX);
	m = env->last;
	m.file_crc ^= 1;
	t_sql(env, "DELETE FROM inodes WHERE id = 15");
	t_row_map(env, 15, 1, "sum.kv", &m);
	t_store_close(env);

	r = t_check(env, 0, 0);
	assert_int_equal(r.count[KVFS_CHECK_BAD_MAP], 1);
	assert_int_equal(r.count[KVFS_CHECK_BAD_RUN], 1);
	assert_int_equal(r.count[KVFS_CHECK_OVERLAP], 2);
	assert_int_equal(r.count[KVFS_CHECK_BAD_DATA], 1);
	assert_int_equal(r.errors, 5);
	assert_seen(env, "bad-map /bad.kv 12");
	assert_seen(env, "bad-run /out.kv 13");
	assert_seen(env, "overlap /b.kv 11");
	assert_seen(env, "overlap /self.kv 14");
	assert_seen(env, "bad-data /sum.kv 15");
	t_check(env, 1, 0);
	r = t_check(env, 0, 0);
	assert_int_equal(r.errors, 0);
	assert_int_equal(r.stored, 1);        /* /a.kv, loaded first, stays */
	assert_int_equal(t_loaded(env), 2);
}

/* What fsck cannot judge from the index: no directory recorded, a slab
 * missing, another store's slabs, a store in use. */
static void test_store_problems(void **state)
{
	struct t_env *env = *state;
	struct kvfs_check_result r;
	char from[160], to[160];
	uint64_t stride;

	t_row(env, 1, 0, "", DIR_MODE, 1);
	t_store_open(env);
	stride = t_slab_stride(env->ssd_dir);
	t_stored(env, 10, 1, "s0.kv", 1ull << 20, -1, UINT64_MAX);
	t_stored(env, 11, 1, "s2.kv", 1ull << 20, -1, 2 * stride + 4096);
	assert_int_equal(env->last.c[0].soff / stride, 2);

	/* The daemon holds the store. */
	r = t_check(env, 0, -EBUSY);
	assert_true(r.ssd_busy);
	t_store_close(env);
	assert_int_equal(t_check(env, 0, 0).errors, 0);

	/* No directory recorded: reported; given one, verified. */
	t_sql(env, "DELETE FROM meta WHERE key = 'ssd_dir'");
	r = t_check(env, 1, 0);
	assert_int_equal(r.count[KVFS_CHECK_STORE], 1);
	assert_int_equal(r.unrepairable, 1);
	assert_int_equal(r.stored, 2);
	r = t_check_ssd(env, 0, 0, env->ssd_dir);
	assert_int_equal(r.errors, 0);
	assert_int_equal(r.verified_bytes, 2ull << 20);

	/* Slab 2 missing: its file is not verified, and not deleted. */
	assert_int_equal(kvfs_slab_path(from, sizeof(from), env->ssd_dir, 2), 0);
	snprintf(to, sizeof(to), "%s/aside", env->ssd_dir);
	assert_int_equal(rename(from, to), 0);
	r = t_check_ssd(env, 1, 0, env->ssd_dir);
	assert_int_equal(r.count[KVFS_CHECK_STORE], 1);
	assert_int_equal(r.count[KVFS_CHECK_UNVERIFIED], 1);
	assert_seen(env, "unverified /s2.kv 11");
	assert_int_equal(r.unrepairable, 2);
	assert_int_equal(r.verified_bytes, 1ull << 20);
	assert_int_equal(t_loaded(env), 3);
	assert_int_equal(rename(to, from), 0);

	/* The index belongs to another store: one problem, nothing read. */
	t_sql(env, "UPDATE meta SET value = '00000000000000aa' WHERE key = 'ssd_id'");
	r = t_check_ssd(env, 1, 0, env->ssd_dir);
	assert_int_equal(r.count[KVFS_CHECK_STORE], 1);
	assert_int_equal(r.errors, 1);
	assert_int_equal(r.verified_bytes, 0);
	assert_int_equal(t_loaded(env), 3);
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
		cmocka_unit_test_setup_teardown(test_stored_clean, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_flipped_byte_named_and_repaired, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_maps_runs_overlaps, t_setup, t_teardown),
		cmocka_unit_test_setup_teardown(test_store_problems, t_setup, t_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
