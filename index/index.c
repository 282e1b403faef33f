/*
 * index.c - the SQLite layer: kvfs's durable record of inodes, names, xattrs.
 *
 * Owns <state>/index.db (WAL mode), its schema and the migrations between
 * schema versions, every SQL statement kvfs runs, the queue of pending
 * changes, and the one writer thread that applies that queue.  It does not
 * decide what is stored: fs/ns.c queues rows and reads them back at start.
 *
 * Threads: open, load, drop_files, drop_unstored, count_stored and close run
 * on main(); put, del, xattr_put, xattr_del, after_commit, meta_get,
 * meta_set, sync, max_id and stats on any thread (FUSE workers);
 * writer_main() is the only thread that writes once open has returned, and
 * the one that runs after_commit callbacks (holding neither lock).
 * Locks: q_lock guards the queue, the sequence numbers, first_err and the
 * counters; db_lock guards the sqlite3 handle and every prepared statement
 * (the writer holds it for a whole batch).  Neither is taken while the other
 * is held (their place among the daemon's locks: docs/design.md, "Lock
 * order").  SQLite result codes become -errno in kvfs_sql_errno() (sql.c, the
 * table the offline check uses too) and nowhere else.
 */
#include "clock.h"
#include "index.h"
#include "log.h"
#include "sql.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/*
 * How long the writer waits for a lock another process holds (an operator's
 * sqlite3 shell, a tool) before it gives up on a batch with -EBUSY.  Only one
 * daemon uses a state directory, so in practice this never expires.
 */
#define KVFS_INDEX_BUSY_MS 5000

/*
 * How long the writer lets a queue of hit counts and access times alone
 * (OP_TOUCH: what a reader's close records) wait for company before it
 * commits.  Without it a header scan committed one transaction per file
 * it closed, each a wake-up of the writer and SQLite's locks and WAL write;
 * with it, a scan's closes share a few.  These are soft state (eviction
 * hints): a crash loses at most this much of them, never a file.
 */
#define KVFS_INDEX_TOUCH_LINGER_MS 100

/*
 * Durability rules (what kvfs_index_sync() promises, and why it holds).
 *
 *  1. A change is recorded once the COMMIT of the batch that contains it
 *     returns SQLITE_OK.  Batches commit in queue order, so the index never
 *     holds a later change without every earlier successful one.
 *  2. Ordinary commits run at synchronous=NORMAL.  In WAL mode such a commit
 *     is atomic and survives the daemon's death (kill -9: its WAL frames are
 *     in the kernel), but a power loss or kernel crash may take the latest
 *     commits back.  SQLite syncs the WAL before each checkpoint, so a
 *     checkpoint never makes that window larger.
 *  3. A sync with `durable` set makes the commit of the batch that holds its
 *     barrier run at synchronous=FULL: SQLite fsyncs the WAL before COMMIT
 *     returns.  fsync covers the whole file, so every earlier commit still in
 *     the WAL (rule 2) becomes durable with it.
 *  4. If that batch has no changes but an earlier commit is not yet synced
 *     (writer's `unsynced`), the writer commits one row of its own (meta
 *     'sync_gen') at FULL, because an empty transaction writes and syncs
 *     nothing.  If nothing is unsynced, the barrier costs no I/O at all.
 *  5. synchronous returns to NORMAL after each FULL commit: one fsync per
 *     durability point, never one per batch.
 *  6. A failed batch is rolled back whole and not retried (the in-memory
 *     namespace stays authoritative); the first failure since the previous
 *     sync is what that sync returns.
 *  7. An after_commit callback asks for FULL like a durable barrier, and runs
 *     only after the COMMIT of its batch returned: what it frees is no
 *     longer referenced by any row that a power loss could bring back.  Its
 *     err is the first failure since the previous callback (writer's
 *     `after_err`), because failed changes are not retried.
 *  8. kvfs_index_meta_set() is a change and a durable barrier in one op,
 *     living on its caller's stack like a barrier; its own batch's result is
 *     what it returns.
 */

/* A queued change, barrier or callback.  Barriers and meta ops live on
 * their callers' stacks (op_on_stack()); the writer frees the others. */
enum op_kind {
	OP_PUT, OP_DEL, OP_XATTR_PUT, OP_XATTR_DEL,     /* changes */
	OP_TOUCH,       /* change: hits and last access alone */
	OP_META,        /* change and durable barrier; on its caller's stack */
	OP_BARRIER,     /* on its sync caller's stack */
	OP_AFTER,       /* an after_commit callback */
};

struct ix_op {
	struct ix_op *next;
	enum op_kind kind;
	uint64_t seq;                   /* position in the queue, from 1 */
	int durable;                    /* OP_BARRIER: sync at FULL */
	int res;                        /* OP_META: its batch's result */
	struct kvfs_index_row row;      /* OP_PUT; row.id for every kind */
	const char *xname;              /* OP_XATTR_*: points into buf; OP_META:
					   the key, borrowed from the caller */
	const void *value;              /* OP_XATTR_PUT: points into buf; OP_META:
					   the text or NULL, borrowed */
	size_t size;
	void (*fn)(void *arg, int err); /* OP_AFTER */
	void *arg;
	char buf[];                     /* copies of the strings and the value */
};

/* Ops that change the database (and count in the statistics). */
static int op_is_change(enum op_kind kind)
{
	return kind != OP_BARRIER && kind != OP_AFTER;
}

/* Ops that live on their caller's stack: the writer never frees them and
 * never touches them once done_seq has passed them. */
static int op_on_stack(enum op_kind kind)
{
	return kind == OP_BARRIER || kind == OP_META;
}

/*
 * The statements the writer and the readers run again and again.  PRAGMA
 * synchronous is not among them: SQLite applies it while preparing, so a
 * prepared copy does nothing when stepped; it goes through sqlite3_exec().
 */
enum {
	ST_BEGIN, ST_COMMIT, ST_ROLLBACK, ST_PUT, ST_DEL_INODE, ST_DEL_XATTRS,
	ST_XATTR_PUT, ST_XATTR_DEL, ST_SYNC_GEN, ST_MAX_ID, ST_META_GET,
	ST_META_SET, ST_META_DEL, ST_TOUCH, ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
	[ST_BEGIN]       = "BEGIN IMMEDIATE",
	[ST_COMMIT]      = "COMMIT",
	[ST_ROLLBACK]    = "ROLLBACK",
	/* An upsert updates in place; INSERT OR REPLACE deletes and reinserts
	 * and measured 3x slower (1,000,000 puts: 9 s against 3 s). */
	[ST_PUT]         = "INSERT INTO inodes (id, parent, name, mode, uid,"
			   " gid, size, atime_ns, mtime_ns, ctime_ns, crc32c,"
			   " flags, hits, last_access_ns, kv_parent, map, target)"
			   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
			   " ?11, ?12, ?13, ?14, ?15, ?16, ?17) ON CONFLICT (id)"
			   " DO UPDATE"
			   " SET parent = ?2, name = ?3, mode = ?4, uid = ?5,"
			   " gid = ?6, size = ?7, atime_ns = ?8, mtime_ns = ?9,"
			   " ctime_ns = ?10, crc32c = ?11, flags = ?12,"
			   " hits = ?13, last_access_ns = ?14, kv_parent = ?15,"
			   " map = ?16, target = ?17",
	[ST_DEL_INODE]   = "DELETE FROM inodes WHERE id = ?1",
	[ST_DEL_XATTRS]  = "DELETE FROM xattrs WHERE ino = ?1",
	[ST_XATTR_PUT]   = "INSERT INTO xattrs (ino, name, value)"
			   " VALUES (?1, ?2, ?3)"
			   " ON CONFLICT (ino, name) DO UPDATE SET value = ?3",
	[ST_XATTR_DEL]   = "DELETE FROM xattrs WHERE ino = ?1 AND name = ?2",
	[ST_SYNC_GEN]    = "INSERT INTO meta (key, value) VALUES ('sync_gen', 1)"
			   " ON CONFLICT (key) DO UPDATE SET value = value + 1",
	[ST_MAX_ID]      = "SELECT COALESCE(MAX(id), 0) FROM inodes",
	[ST_META_GET]    = "SELECT value FROM meta WHERE key = ?1",
	[ST_META_SET]    = "INSERT INTO meta (key, value) VALUES (?1, ?2)"
			   " ON CONFLICT (key) DO UPDATE SET value = ?2",
	[ST_META_DEL]    = "DELETE FROM meta WHERE key = ?1",
	[ST_TOUCH]       = "UPDATE inodes SET hits = ?2, last_access_ns = ?3"
			   " WHERE id = ?1",
};

/*
 * File types, spelled as literals because the partial index below only
 * serves queries whose WHERE clause repeats its expression word for word
 * (a bound parameter would not match).
 */
_Static_assert(S_IFMT == 61440 && S_IFDIR == 16384 && S_IFREG == 32768,
	       "the SQL below spells S_IFMT, S_IFDIR and S_IFREG as literals");
#define SQL_IS_DIR(col) "(" col " & 61440) = 16384"
#define SQL_IS_REG(col) "(" col " & 61440) = 32768"

/*
 * Schema migrations: migrations[v] takes a database from user_version v to
 * v + 1, inside one transaction with the user_version update, so a crash
 * leaves either version, never half of one.  Append; never edit a step that
 * has shipped.
 *
 * (parent, name) is deliberately not UNIQUE: fs/ns.c applies a rename as an
 * ordered put of the moved row and del of the replaced one, and between the
 * two both rows carry the same name.  inodes_dirs indexes directories only,
 * so the load walks the tree without touching the (many) file rows.
 *
 * inodes.map (version 2) is a file's encoded chunk map (map.h), NULL while
 * the file has no copy on the SSD tier.  inodes.target (version 3) is a
 * symbolic link's target, NULL for every other type.
 */
static const char *const migrations[] = {
	/* 0 -> 1: the first schema. */
	"CREATE TABLE inodes ("
	" id INTEGER PRIMARY KEY, parent INTEGER NOT NULL, name TEXT NOT NULL,"
	" mode INTEGER NOT NULL, uid INTEGER NOT NULL, gid INTEGER NOT NULL,"
	" size INTEGER NOT NULL, atime_ns INTEGER NOT NULL,"
	" mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL,"
	" crc32c INTEGER NOT NULL, flags INTEGER NOT NULL,"
	" hits INTEGER NOT NULL, last_access_ns INTEGER NOT NULL,"
	" kv_parent TEXT);"
	"CREATE INDEX inodes_parent_name ON inodes (parent, name);"
	"CREATE INDEX inodes_dirs ON inodes (parent) WHERE " SQL_IS_DIR("mode") ";"
	"CREATE TABLE xattrs (ino INTEGER NOT NULL, name TEXT NOT NULL,"
	" value BLOB NOT NULL, PRIMARY KEY (ino, name)) WITHOUT ROWID;"
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;"
	"INSERT INTO meta (key, value) VALUES ('sync_gen', 0);",
	/* 1 -> 2: the SSD tier's chunk map of each stored file. */
	"ALTER TABLE inodes ADD COLUMN map BLOB;",
	/* 2 -> 3: symbolic links' targets. */
	"ALTER TABLE inodes ADD COLUMN target TEXT;",
};
_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == KVFS_INDEX_VERSION,
	       "one migration step per schema version");

/*
 * Load order.  Only directories have children, so the walk from the root
 * (parent 0) visits directories alone, through inodes_dirs, each with its
 * depth.  Every row has one parent and ids are unique, so each directory is
 * reached at most once and the recursion ends even on a damaged table with
 * cycles (a cycle is never reachable from the root).  The load then sends
 *   1. the reachable directories by depth: a parent always comes before its
 *      children whatever their ids (a directory renamed into a newer one has
 *      a smaller id than its new parent);
 *   2. every other row whose parent is a reachable directory, in table order
 *      (NOT INDEXED: otherwise SQLite drives this from inodes_parent_name,
 *      one directory at a time in name order, and seeks the table once per
 *      row; with hashed names in one directory those seeks are random: a
 *      kvfs with 1,000,000 files in one directory took 5.9 s from exec to
 *      its first lookup, 2.6-3.7 s with this alone);
 *   3. the xattrs of the rows sent, scanning xattrs once (CROSS JOIN keeps
 *      SQLite from driving the join from inodes).
 * Rows no path from the root reaches are counted and left in place.
 * Measured: 1,000,000 rows (10,000 directories) and 333,333 xattrs load in
 * about 1.0 s, callbacks included, against 4.2 s for a recursive walk over
 * every row followed by a sort.
 */
#define DIRS_CTE \
	"WITH RECURSIVE dirs (id, depth) AS (" \
	" SELECT id, 0 FROM inodes WHERE parent = 0 AND " SQL_IS_DIR("mode") \
	" UNION ALL" \
	" SELECT i.id, d.depth + 1 FROM dirs d JOIN inodes i" \
	" ON i.parent = d.id AND " SQL_IS_DIR("i.mode") ") "
#define ROW_COLUMNS \
	"SELECT i.id, i.parent, i.name, i.mode, i.uid, i.gid, i.size," \
	" i.atime_ns, i.mtime_ns, i.ctime_ns, i.crc32c, i.flags, i.hits," \
	" i.last_access_ns, i.kv_parent, i.map, i.target"

static const char sql_load_dirs[] = DIRS_CTE ROW_COLUMNS
	" FROM dirs d JOIN inodes i ON i.id = d.id ORDER BY d.depth, i.id";
static const char sql_load_others[] = DIRS_CTE ROW_COLUMNS
	" FROM inodes i NOT INDEXED WHERE NOT " SQL_IS_DIR("i.mode")
	" AND i.parent IN (SELECT id FROM dirs)";
static const char sql_load_xattrs[] = DIRS_CTE
	"SELECT x.ino, x.name, x.value FROM xattrs x"
	" CROSS JOIN inodes i ON i.id = x.ino"
	" WHERE i.parent IN (SELECT id FROM dirs) OR i.id IN (SELECT id FROM dirs)";
static const char sql_count_rows[] = "SELECT COUNT(*) FROM inodes";
static const char sql_drop_xattrs[] = "DELETE FROM xattrs WHERE ino IN"
	" (SELECT id FROM inodes WHERE " SQL_IS_REG("mode") ")";
static const char sql_drop_files[] =
	"DELETE FROM inodes WHERE " SQL_IS_REG("mode");
/* Driven from xattrs, one seek into inodes per xattr: usually there are few
 * xattrs, and the IN (SELECT ...) form scanned every row of inodes for its
 * list first (0.12 s of the start with 1,000,000 files). */
static const char sql_drop_unstored_xattrs[] = "DELETE FROM xattrs WHERE EXISTS"
	" (SELECT 1 FROM inodes i WHERE i.id = xattrs.ino AND " SQL_IS_REG("i.mode")
	" AND i.map IS NULL)";
static const char sql_drop_unstored[] =
	"DELETE FROM inodes WHERE " SQL_IS_REG("mode") " AND map IS NULL";
static const char sql_count_stored[] =
	"SELECT COUNT(*) FROM inodes WHERE " SQL_IS_REG("mode")
	" AND map IS NOT NULL";

struct kvfs_index {
	char *path;                     /* <dir>/index.db, for messages */

	pthread_mutex_t db_lock;
	sqlite3 *db;                    /* db_lock */
	sqlite3_stmt *st[ST_COUNT];     /* db_lock */

	pthread_mutex_t q_lock;
	pthread_cond_t q_cond;          /* writer: the queue became non-empty */
	pthread_cond_t done_cond;       /* sync: a batch finished */
	struct ix_op *head, *tail;      /* q_lock */
	uint64_t nhard;                 /* q_lock: queued ops that are not
					   OP_TOUCH (they end the linger) */
	uint64_t enq_seq;               /* q_lock: seq of the last queued op */
	uint64_t done_seq;              /* q_lock: seq of the last applied op */
	int first_err;                  /* q_lock: first failure since a sync */
	int stop;                       /* q_lock: close() asked the writer */
	uint64_t max_put_id;            /* q_lock: largest id ever queued */
	struct kvfs_index_stats stats;  /* q_lock */

	pthread_t writer;
	int unsynced;                   /* writer: a NORMAL commit since FULL */
	int after_err;                  /* writer: first failure since the last
					   after_commit callback (rule 7) */
	uint64_t fail_streak;           /* writer: batches failed in a row */
};

/* Damaged databases get advice; everything else gets the reason. */
static void report(const struct kvfs_index *ix, int rc, int err,
		   const char *what, const char *detail)
{
	if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB)
		kvfs_err("kvfs: index %s is damaged (%s: %s); move it aside, with "
			 "any index.db-wal and index.db-shm beside it, to start "
			 "with an empty index", ix->path, what, detail);
	else if (err == -EROFS)
		kvfs_err("kvfs: index %s cannot be written (%s: %s); remount "
			 "its filesystem read-write or choose another state=",
			 ix->path, what, strerror(-err));
	else if (err == -EACCES)
		kvfs_err("kvfs: index %s cannot be written (%s: %s); fix the "
			 "permissions of the file and of its directory, or choose "
			 "another state=", ix->path, what, strerror(-err));
	else
		kvfs_err("kvfs: index %s: %s failed: %s (%s)", ix->path, what,
			 detail, strerror(-err));
}

/* Runs a prepared statement to completion; 0 or -errno. */
static int stmt_run(struct kvfs_index *ix, int which)
{
	sqlite3_stmt *st = ix->st[which];
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	sqlite3_reset(st);
	return kvfs_sql_errno(ix->db, rc);
}

/* Runs one-off SQL (no result rows wanted); logs what failed. */
static int exec_sql(struct kvfs_index *ix, const char *sql, const char *what)
{
	int rc = sqlite3_exec(ix->db, sql, NULL, NULL, NULL);
	int err = kvfs_sql_errno(ix->db, rc);

	if (err)
		report(ix, rc, err, what, sqlite3_errmsg(ix->db));
	return err;
}

/* Runs one-off SQL returning one integer (a PRAGMA, a count). */
static int query_int(struct kvfs_index *ix, const char *sql, int64_t *out,
		     const char *what)
{
	sqlite3_stmt *st = NULL;
	int rc, err;

	rc = sqlite3_prepare_v2(ix->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			*out = sqlite3_column_int64(st, 0);
	}
	err = kvfs_sql_errno(ix->db, rc);
	if (err)
		report(ix, rc, err, what, sqlite3_errmsg(ix->db));
	sqlite3_finalize(st);
	return err;
}

/* ---- open and close ---- */

/*
 * A database file is a whole number of pages (512 bytes at least), or empty.
 * SQLite itself treats a file shorter than one page as empty, so a file cut
 * inside its first page would be silently reinitialized; catch it here.
 */
static int check_file(struct kvfs_index *ix)
{
	struct stat sb;

	if (stat(ix->path, &sb) < 0)
		return 0;       /* absent (created below) or reported by open */
	if (!S_ISREG(sb.st_mode)) {
		kvfs_err("kvfs: index %s is not a regular file; move it aside "
			 "to start with an empty index", ix->path);
		return S_ISDIR(sb.st_mode) ? -EISDIR : -EINVAL;
	}
	if (sb.st_size % 512 == 0)
		return 0;
	kvfs_err("kvfs: index %s is damaged (its size, %lld bytes, is not a "
		 "whole number of pages: truncated?); move it aside, with any "
		 "index.db-wal and index.db-shm beside it, to start with an "
		 "empty index", ix->path, (long long)sb.st_size);
	return -EIO;
}

/*
 * SQLite falls back to read-only when it cannot open the file for writing,
 * and reports a missing file when it cannot create one; ask the filesystem
 * which it really was.
 */
static int writable_errno(const struct kvfs_index *ix, const char *dir)
{
	if (access(ix->path, F_OK) == 0)
		return access(ix->path, W_OK) < 0 ? -errno : 0;
	if (access(dir, F_OK) < 0)
		return -errno;
	return access(dir, W_OK | X_OK) < 0 ? -errno : 0;
}

static int db_connect(struct kvfs_index *ix, const char *dir)
{
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
		    SQLITE_OPEN_NOMUTEX;        /* db_lock serializes us */
	int rc, err;

	rc = sqlite3_open_v2(ix->path, &ix->db, flags, NULL);
	if (rc != SQLITE_OK || sqlite3_db_readonly(ix->db, "main") == 1) {
		err = writable_errno(ix, dir);
		if (!err)
			err = rc != SQLITE_OK ? kvfs_sql_errno(ix->db, rc) : -EROFS;
		if (err == -ENOENT)
			kvfs_err("kvfs: index %s cannot be created: the state "
				 "directory %s does not exist", ix->path, dir);
		else
			report(ix, rc, err, "open", ix->db ?
			       sqlite3_errmsg(ix->db) : "out of memory");
		return err;
	}
	sqlite3_busy_timeout(ix->db, KVFS_INDEX_BUSY_MS);
	return 0;
}

/* Brings the schema from `from` to KVFS_INDEX_VERSION, one step at a time. */
static int migrate(struct kvfs_index *ix, int64_t from)
{
	char set_version[64];
	int64_t v;
	int err;

	for (v = from; v < KVFS_INDEX_VERSION; v++) {
		snprintf(set_version, sizeof(set_version),
			 "PRAGMA user_version = %" PRId64, v + 1);
		err = exec_sql(ix, "BEGIN IMMEDIATE", "migration");
		if (err)
			return err;
		err = exec_sql(ix, migrations[v], "migration");
		if (!err)
			err = exec_sql(ix, set_version, "migration");
		if (!err)
			err = exec_sql(ix, "COMMIT", "migration");
		if (err) {
			if (!sqlite3_get_autocommit(ix->db))
				sqlite3_exec(ix->db, "ROLLBACK", NULL, NULL, NULL);
			return err;
		}
		kvfs_info("kvfs: index %s: schema version %" PRId64 " -> %" PRId64,
			  ix->path, v, v + 1);
	}
	return 0;
}

/* Asks for WAL mode; *wal says whether SQLite granted it. */
static int set_wal(struct kvfs_index *ix, int *wal)
{
	sqlite3_stmt *st = NULL;
	const char *mode;
	int rc, err;

	rc = sqlite3_prepare_v2(ix->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		mode = (const char *)sqlite3_column_text(st, 0);
		*wal = mode && strcmp(mode, "wal") == 0;
	}
	err = kvfs_sql_errno(ix->db, rc);
	if (err)
		report(ix, rc, err, "setting WAL mode", sqlite3_errmsg(ix->db));
	sqlite3_finalize(st);
	return err;
}

/* Reads the version first: a newer database must not be touched at all. */
static int db_setup(struct kvfs_index *ix)
{
	int64_t version = 0;
	int wal = 0;
	int err;

	err = query_int(ix, "PRAGMA user_version", &version,
			"reading the schema version");
	if (err)
		return err;
	if (version > KVFS_INDEX_VERSION) {
		kvfs_err("kvfs: index %s has schema version %" PRId64 ", newer "
			 "than this kvfs understands (%d); run a newer kvfs, or "
			 "move it aside to start with an empty index",
			 ix->path, version, KVFS_INDEX_VERSION);
		return -EPROTO;
	}
	err = set_wal(ix, &wal);
	if (err)
		return err;
	if (!wal)    /* still correct, only slower: rules 2-3 hold */
		kvfs_warn("kvfs: index %s: WAL mode unavailable on this "
			  "filesystem; using a rollback journal", ix->path);
	err = exec_sql(ix, "PRAGMA synchronous = NORMAL", "setting synchronous");
	if (err)
		return err;
	return migrate(ix, version);
}

static int db_prepare(struct kvfs_index *ix)
{
	int i, rc, err;

	for (i = 0; i < ST_COUNT; i++) {
		rc = sqlite3_prepare_v3(ix->db, stmt_sql[i], -1,
					SQLITE_PREPARE_PERSISTENT, &ix->st[i], NULL);
		err = kvfs_sql_errno(ix->db, rc);
		if (err) {
			report(ix, rc, err, "preparing statements",
			       sqlite3_errmsg(ix->db));
			return err;
		}
	}
	return 0;
}

/* Finalizes and closes whatever db_open() got to.  Idempotent. */
static void db_close(struct kvfs_index *ix)
{
	int i, rc;

	for (i = 0; i < ST_COUNT; i++) {
		sqlite3_finalize(ix->st[i]);
		ix->st[i] = NULL;
	}
	if (!ix->db)
		return;
	/* The last close checkpoints the WAL into index.db and syncs it. */
	rc = sqlite3_close(ix->db);
	if (rc != SQLITE_OK)
		kvfs_err("kvfs: index %s: close failed: %s", ix->path,
			 sqlite3_errstr(rc));
	ix->db = NULL;
}

static int db_open(struct kvfs_index *ix, const char *dir)
{
	int err;

	err = check_file(ix);
	if (!err)
		err = db_connect(ix, dir);
	if (!err)
		err = db_setup(ix);
	if (!err)
		err = db_prepare(ix);
	if (err)
		db_close(ix);
	return err;
}

static int locks_init(struct kvfs_index *ix)
{
	int err;

	err = pthread_mutex_init(&ix->db_lock, NULL);
	if (err)
		goto fail;
	err = pthread_mutex_init(&ix->q_lock, NULL);
	if (err)
		goto fail_db_lock;
	err = kvfs_cond_init_monotonic(&ix->q_cond);
	if (err)
		goto fail_q_lock;
	err = pthread_cond_init(&ix->done_cond, NULL);
	if (err)
		goto fail_q_cond;
	return 0;
fail_q_cond:
	pthread_cond_destroy(&ix->q_cond);
fail_q_lock:
	pthread_mutex_destroy(&ix->q_lock);
fail_db_lock:
	pthread_mutex_destroy(&ix->db_lock);
fail:
	return -err;
}

static void locks_release(struct kvfs_index *ix)
{
	pthread_cond_destroy(&ix->done_cond);
	pthread_cond_destroy(&ix->q_cond);
	pthread_mutex_destroy(&ix->q_lock);
	pthread_mutex_destroy(&ix->db_lock);
}

static void *writer_main(void *arg);

int kvfs_index_open(struct kvfs_index **out, const char *dir)
{
	struct kvfs_index *ix;
	int err;

	*out = NULL;
	ix = calloc(1, sizeof(*ix));
	if (!ix)
		return -ENOMEM;
	err = -ENOMEM;
	if (asprintf(&ix->path, "%s/index.db", dir) < 0) {
		ix->path = NULL;
		goto fail_free;
	}
	err = locks_init(ix);
	if (err)
		goto fail_free;
	err = db_open(ix, dir);
	if (err)
		goto fail_locks;
	err = -pthread_create(&ix->writer, NULL, writer_main, ix);
	if (err) {
		kvfs_err("kvfs: index %s: cannot start the writer thread: %s",
			 ix->path, strerror(-err));
		goto fail_db;
	}
	*out = ix;
	return 0;
fail_db:
	db_close(ix);
fail_locks:
	locks_release(ix);
fail_free:
	free(ix->path);
	free(ix);
	return err;
}

void kvfs_index_close(struct kvfs_index *ix)
{
	if (!ix)
		return;
	/* The writer drains everything queued before it sees `stop`. */
	pthread_mutex_lock(&ix->q_lock);
	ix->stop = 1;
	pthread_cond_signal(&ix->q_cond);
	pthread_mutex_unlock(&ix->q_lock);
	pthread_join(ix->writer, NULL);
	db_close(ix);
	locks_release(ix);
	free(ix->path);
	free(ix);
}

/* ---- the queue (any thread) ---- */

static void ix_check(const struct kvfs_index *ix)
{
	KVFS_DCHECK((ix->head == NULL) == (ix->tail == NULL));
	KVFS_DCHECK(ix->head != NULL || ix->nhard == 0);
	KVFS_DCHECK(ix->done_seq <= ix->enq_seq);
	KVFS_DCHECK(ix->stats.committed <= ix->stats.queued);
	(void)ix;
}

/* Appends `op`; the caller holds q_lock. */
static void enqueue_locked(struct kvfs_index *ix, struct ix_op *op)
{
	op->next = NULL;
	op->seq = ++ix->enq_seq;
	if (op->kind != OP_TOUCH)
		ix->nhard++;
	/* The writer sleeps on an empty queue, or lingers on one of touches
	 * alone (writer_main), which any other op ends. */
	if (!ix->tail || op->kind != OP_TOUCH)
		pthread_cond_signal(&ix->q_cond);
	if (ix->tail)
		ix->tail->next = op;
	else
		ix->head = op;
	ix->tail = op;
	if (op_is_change(op->kind))
		ix->stats.queued++;
	if (op->kind == OP_PUT && op->row.id > ix->max_put_id)
		ix->max_put_id = op->row.id;
	ix_check(ix);
}

static int enqueue(struct kvfs_index *ix, struct ix_op *op)
{
	pthread_mutex_lock(&ix->q_lock);
	enqueue_locked(ix, op);
	pthread_mutex_unlock(&ix->q_lock);
	return 0;
}

/* Allocates an op with `extra` bytes of buf; NULL when out of memory. */
static struct ix_op *op_new(enum op_kind kind, uint64_t id, size_t extra)
{
	struct ix_op *op;

	if (extra > SIZE_MAX - sizeof(*op))
		return NULL;
	op = malloc(sizeof(*op) + extra);
	if (!op)
		return NULL;
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->row.id = id;
	return op;
}

int kvfs_index_put(struct kvfs_index *ix, const struct kvfs_index_row *row)
{
	const char *name = row->name ? row->name : "";
	size_t nlen = strlen(name) + 1;
	size_t plen = row->kv_parent ? strlen(row->kv_parent) + 1 : 0;
	size_t mlen = row->map ? row->map_len : 0;
	size_t tlen = row->target ? strlen(row->target) + 1 : 0;
	struct ix_op *op;

	if (mlen > SIZE_MAX - nlen - plen - tlen)
		return -ENOMEM;
	op = op_new(OP_PUT, row->id, nlen + plen + tlen + mlen);
	if (!op)
		return -ENOMEM;
	op->row = *row;
	memcpy(op->buf, name, nlen);
	op->row.name = op->buf;
	if (row->kv_parent) {
		memcpy(op->buf + nlen, row->kv_parent, plen);
		op->row.kv_parent = op->buf + nlen;
	}
	if (row->target) {
		memcpy(op->buf + nlen + plen, row->target, tlen);
		op->row.target = op->buf + nlen + plen;
	}
	/* A map of no bytes is no map: the column stays NULL. */
	op->row.map = mlen ? op->buf + nlen + plen + tlen : NULL;
	op->row.map_len = mlen;
	if (mlen)
		memcpy(op->buf + nlen + plen + tlen, row->map, mlen);
	return enqueue(ix, op);
}

int kvfs_index_touch(struct kvfs_index *ix, uint64_t id, uint64_t hits,
		     int64_t last_access_ns)
{
	struct ix_op *op = op_new(OP_TOUCH, id, 0);

	if (!op)
		return -ENOMEM;
	op->row.hits = hits;
	op->row.last_access_ns = last_access_ns;
	return enqueue(ix, op);
}

int kvfs_index_del(struct kvfs_index *ix, uint64_t id)
{
	struct ix_op *op = op_new(OP_DEL, id, 0);

	if (!op)
		return -ENOMEM;
	return enqueue(ix, op);
}

int kvfs_index_xattr_put(struct kvfs_index *ix, uint64_t id, const char *name,
			 const void *value, size_t size)
{
	size_t nlen = strlen(name) + 1;
	struct ix_op *op;

	if (size > SIZE_MAX - nlen)
		return -ENOMEM;
	op = op_new(OP_XATTR_PUT, id, nlen + size);
	if (!op)
		return -ENOMEM;
	memcpy(op->buf, name, nlen);
	if (size)
		memcpy(op->buf + nlen, value, size);
	op->xname = op->buf;
	op->value = op->buf + nlen;     /* never NULL: binds as an empty blob */
	op->size = size;
	return enqueue(ix, op);
}

int kvfs_index_xattr_del(struct kvfs_index *ix, uint64_t id, const char *name)
{
	size_t nlen = strlen(name) + 1;
	struct ix_op *op = op_new(OP_XATTR_DEL, id, nlen);

	if (!op)
		return -ENOMEM;
	memcpy(op->buf, name, nlen);
	op->xname = op->buf;
	return enqueue(ix, op);
}

int kvfs_index_after_commit(struct kvfs_index *ix,
			    void (*fn)(void *arg, int err), void *arg)
{
	struct ix_op *op = op_new(OP_AFTER, 0, 0);

	if (!op)
		return -ENOMEM;
	op->fn = fn;
	op->arg = arg;
	return enqueue(ix, op);
}

/* Queues the stack op `op` and waits until the writer has passed it. */
static void enqueue_wait(struct kvfs_index *ix, struct ix_op *op)
{
	pthread_mutex_lock(&ix->q_lock);
	enqueue_locked(ix, op);
	while (ix->done_seq < op->seq)
		pthread_cond_wait(&ix->done_cond, &ix->q_lock);
	pthread_mutex_unlock(&ix->q_lock);
}

/* Rule 8: the op lives on this stack, and carries the key and value the
 * caller lends until the writer has applied them. */
int kvfs_index_meta_set(struct kvfs_index *ix, const char *key,
			const char *value)
{
	struct ix_op op;

	if (!key || strcmp(key, "sync_gen") == 0)
		return -EINVAL;
	memset(&op, 0, sizeof(op));
	op.kind = OP_META;
	op.durable = 1;
	op.xname = key;
	op.value = value;
	enqueue_wait(ix, &op);
	return op.res;
}

int kvfs_index_meta_get(struct kvfs_index *ix, const char *key, char *buf,
			size_t n)
{
	sqlite3_stmt *st;
	const char *v;
	size_t len;
	int rc, err;

	pthread_mutex_lock(&ix->db_lock);
	st = ix->st[ST_META_GET];
	rc = sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		v = (const char *)sqlite3_column_text(st, 0);
		len = (size_t)sqlite3_column_bytes(st, 0);
		if (!v)
			err = sqlite3_column_type(st, 0) == SQLITE_NULL ?
			      -ENOENT : -ENOMEM;
		else if (len >= n)
			err = -ERANGE;
		else
			err = 0;
		if (!err)
			memcpy(buf, v, len + 1);
	} else if (rc == SQLITE_DONE) {
		err = -ENOENT;
	} else {
		err = kvfs_sql_errno(ix->db, rc);
		report(ix, rc, err, "reading meta", sqlite3_errmsg(ix->db));
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);     /* `key` is the caller's */
	pthread_mutex_unlock(&ix->db_lock);
	return err;
}

/* The barrier lives on this stack: the writer never frees or touches it
 * after it advances done_seq past it. */
int kvfs_index_sync(struct kvfs_index *ix, int durable)
{
	struct ix_op barrier;
	int err;

	memset(&barrier, 0, sizeof(barrier));
	barrier.kind = OP_BARRIER;
	barrier.durable = durable != 0;
	pthread_mutex_lock(&ix->q_lock);
	enqueue_locked(ix, &barrier);
	while (ix->done_seq < barrier.seq)
		pthread_cond_wait(&ix->done_cond, &ix->q_lock);
	err = ix->first_err;
	ix->first_err = 0;
	pthread_mutex_unlock(&ix->q_lock);
	return err;
}

void kvfs_index_stats(struct kvfs_index *ix, struct kvfs_index_stats *out)
{
	pthread_mutex_lock(&ix->q_lock);
	*out = ix->stats;
	out->pending = ix->enq_seq - ix->done_seq;
	pthread_mutex_unlock(&ix->q_lock);
}

/*
 * The largest id stored, or queued and not yet committed, so a caller never
 * hands out an id a pending put already uses.  0 on an empty index; on a read
 * error the queued maximum alone (the error is logged).
 */
uint64_t kvfs_index_max_id(struct kvfs_index *ix)
{
	sqlite3_stmt *st;
	uint64_t stored = 0, queued;
	int rc;

	pthread_mutex_lock(&ix->db_lock);
	st = ix->st[ST_MAX_ID];
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		stored = (uint64_t)sqlite3_column_int64(st, 0);
	else
		report(ix, rc, kvfs_sql_errno(ix->db, rc), "reading the largest id",
		       sqlite3_errmsg(ix->db));
	sqlite3_reset(st);
	pthread_mutex_unlock(&ix->db_lock);

	pthread_mutex_lock(&ix->q_lock);
	queued = ix->max_put_id;
	pthread_mutex_unlock(&ix->q_lock);
	return stored > queued ? stored : queued;
}

/* ---- the writer thread ---- */

/* Text and blob binds borrow the op's memory until the next bind. */
static int bind_text(struct kvfs_index *ix, sqlite3_stmt *st, int i,
		     const char *s)
{
	int rc = s ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC)
		   : sqlite3_bind_null(st, i);

	return kvfs_sql_errno(ix->db, rc);
}

static int apply_put(struct kvfs_index *ix, const struct kvfs_index_row *r)
{
	sqlite3_stmt *st = ix->st[ST_PUT];
	int err;

	/* Unsigned values go in as their two's-complement bit pattern and
	 * come back unchanged in row_read(). */
	sqlite3_bind_int64(st, 1, (sqlite3_int64)r->id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)r->parent);
	sqlite3_bind_int64(st, 4, r->mode);
	sqlite3_bind_int64(st, 5, r->uid);
	sqlite3_bind_int64(st, 6, r->gid);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)r->size);
	sqlite3_bind_int64(st, 8, r->atime_ns);
	sqlite3_bind_int64(st, 9, r->mtime_ns);
	sqlite3_bind_int64(st, 10, r->ctime_ns);
	sqlite3_bind_int64(st, 11, r->crc32c);
	sqlite3_bind_int64(st, 12, r->flags);
	sqlite3_bind_int64(st, 13, (sqlite3_int64)r->hits);
	sqlite3_bind_int64(st, 14, r->last_access_ns);
	err = bind_text(ix, st, 3, r->name);
	if (!err)
		err = bind_text(ix, st, 15, r->kv_parent);
	if (!err)
		err = kvfs_sql_errno(ix->db, r->map ?
				sqlite3_bind_blob64(st, 16, r->map, r->map_len,
						    SQLITE_STATIC) :
				sqlite3_bind_null(st, 16));
	if (!err)
		err = bind_text(ix, st, 17, r->target);
	return err ? err : stmt_run(ix, ST_PUT);
}

static int apply_xattr(struct kvfs_index *ix, const struct ix_op *op)
{
	int which = op->kind == OP_XATTR_PUT ? ST_XATTR_PUT : ST_XATTR_DEL;
	sqlite3_stmt *st = ix->st[which];
	int rc, err;

	sqlite3_bind_int64(st, 1, (sqlite3_int64)op->row.id);
	err = bind_text(ix, st, 2, op->xname);
	if (!err && which == ST_XATTR_PUT) {
		rc = sqlite3_bind_blob64(st, 3, op->value, op->size, SQLITE_STATIC);
		err = kvfs_sql_errno(ix->db, rc);
	}
	return err ? err : stmt_run(ix, which);
}

static int apply_meta(struct kvfs_index *ix, const struct ix_op *op)
{
	int which = op->value ? ST_META_SET : ST_META_DEL;
	sqlite3_stmt *st = ix->st[which];
	int err;

	err = bind_text(ix, st, 1, op->xname);
	if (!err && op->value)
		err = bind_text(ix, st, 2, op->value);
	if (!err)
		err = stmt_run(ix, which);
	sqlite3_clear_bindings(st);     /* key and value are the caller's */
	return err;
}

static int apply_op(struct kvfs_index *ix, const struct ix_op *op)
{
	int err;

	switch (op->kind) {
	case OP_PUT:
		return apply_put(ix, &op->row);
	case OP_DEL:
		sqlite3_bind_int64(ix->st[ST_DEL_XATTRS], 1, (sqlite3_int64)op->row.id);
		err = stmt_run(ix, ST_DEL_XATTRS);
		if (err)
			return err;
		sqlite3_bind_int64(ix->st[ST_DEL_INODE], 1, (sqlite3_int64)op->row.id);
		return stmt_run(ix, ST_DEL_INODE);
	case OP_XATTR_PUT:
	case OP_XATTR_DEL:
		return apply_xattr(ix, op);
	case OP_META:
		return apply_meta(ix, op);
	case OP_TOUCH:
		sqlite3_bind_int64(ix->st[ST_TOUCH], 1, (sqlite3_int64)op->row.id);
		sqlite3_bind_int64(ix->st[ST_TOUCH], 2, (sqlite3_int64)op->row.hits);
		sqlite3_bind_int64(ix->st[ST_TOUCH], 3, op->row.last_access_ns);
		return stmt_run(ix, ST_TOUCH);
	case OP_BARRIER:
	case OP_AFTER:
		return 0;
	}
	return 0;
}

/* What a batch holds, found before it is applied. */
struct batch_info {
	uint64_t changes;               /* ops other than barriers */
	uint64_t last_seq;
	int durable;                    /* some barrier asked for FULL */
	int ran;                        /* a transaction was committed */
	char why[160];                  /* SQLite's message when it failed */
};

static void batch_scan(const struct ix_op *op, struct batch_info *bi)
{
	memset(bi, 0, sizeof(*bi));     /* also empties bi->why */
	for (; op; op = op->next) {
		if (op->kind == OP_BARRIER)
			bi->durable |= op->durable;
		else if (op->kind == OP_AFTER || op->kind == OP_META)
			bi->durable = 1;        /* rules 7 and 8 */
		if (op_is_change(op->kind))
			bi->changes++;
		bi->last_seq = op->seq;
	}
}

/* Sets synchronous outside any transaction (SQLite refuses it inside). */
static int set_synchronous(struct kvfs_index *ix, int full)
{
	return kvfs_sql_errno(ix->db, sqlite3_exec(ix->db, full ?
			 "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
			 NULL, NULL, NULL));
}

/* One transaction for the whole batch (durability rules 3-5). */
static int batch_commit(struct kvfs_index *ix, const struct ix_op *op,
			struct batch_info *bi)
{
	int err = 0;

	if (bi->changes == 0 && !(bi->durable && ix->unsynced))
		return 0;
	if (bi->durable)
		err = set_synchronous(ix, 1);
	if (!err)
		err = stmt_run(ix, ST_BEGIN);
	for (; !err && op; op = op->next)
		err = apply_op(ix, op);
	if (!err && bi->changes == 0)
		err = stmt_run(ix, ST_SYNC_GEN);
	if (!err)
		err = stmt_run(ix, ST_COMMIT);
	if (err) {
		/* Keep the reason before ROLLBACK replaces it. */
		snprintf(bi->why, sizeof(bi->why), "%s", sqlite3_errmsg(ix->db));
		if (!sqlite3_get_autocommit(ix->db))
			(void)stmt_run(ix, ST_ROLLBACK);
	}
	if (bi->durable)
		(void)set_synchronous(ix, 0);   /* worst case: stays FULL, slower */
	if (!err) {
		bi->ran = 1;
		ix->unsynced = !bi->durable;
	}
	return err;
}

/* One line for the first failure of a run of them, one when it ends. */
static void batch_report(struct kvfs_index *ix, const struct batch_info *bi,
			 int err)
{
	if (err && ix->fail_streak++ == 0)
		kvfs_err("kvfs: index %s: a commit of %" PRIu64 " changes failed: "
			 "%s (%s); they are missing from the index, the mounted "
			 "filesystem is unaffected; further failures are counted "
			 "until a commit succeeds", ix->path, bi->changes,
			 strerror(-err), bi->why);
	if (!err && ix->fail_streak) {
		kvfs_warn("kvfs: index %s: commits succeed again after %" PRIu64
			  " failed batches", ix->path, ix->fail_streak);
		ix->fail_streak = 0;
	}
}

/*
 * After the batch's commit returned `err`: runs the callbacks in queue order
 * (rule 7), gives each meta op its result, frees what the writer owns.
 * Holds no lock: callbacks may queue changes.
 */
static void batch_finish(struct kvfs_index *ix, struct ix_op *batch, int err)
{
	struct ix_op *op, *next;

	for (op = batch; op; op = next) {
		next = op->next;
		if (err && op_is_change(op->kind) && !ix->after_err)
			ix->after_err = err;
		if (op->kind == OP_META)
			op->res = err;
		if (op->kind == OP_AFTER) {
			op->fn(op->arg, ix->after_err);
			ix->after_err = 0;
		}
		/* Stack ops belong to their waiters, who return once
		 * done_seq moves. */
		if (!op_on_stack(op->kind))
			free(op);
	}
}

static void batch_run(struct kvfs_index *ix, struct ix_op *batch)
{
	struct batch_info bi;
	int err;

	batch_scan(batch, &bi);
	pthread_mutex_lock(&ix->db_lock);
	err = batch_commit(ix, batch, &bi);
	batch_report(ix, &bi, err);
	pthread_mutex_unlock(&ix->db_lock);
	batch_finish(ix, batch, err);
	pthread_mutex_lock(&ix->q_lock);
	ix->done_seq = bi.last_seq;
	if (err) {
		ix->stats.errors++;
		if (!ix->first_err)
			ix->first_err = err;
	} else {
		ix->stats.committed += bi.changes;
		ix->stats.transactions += bi.ran;
	}
	ix_check(ix);
	pthread_cond_broadcast(&ix->done_cond);
	pthread_mutex_unlock(&ix->q_lock);
}

/* With only touches queued: waits up to KVFS_INDEX_TOUCH_LINGER_MS for
 * more, or less if another op or close() comes.  Caller holds q_lock. */
static void linger(struct kvfs_index *ix)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_nsec += KVFS_INDEX_TOUCH_LINGER_MS * 1000000L;
	until.tv_sec += until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	while (!ix->nhard && !ix->stop &&
	       pthread_cond_timedwait(&ix->q_cond, &ix->q_lock, &until) != ETIMEDOUT)
		;
}

/* Takes everything queued, applies it, repeats; drains before stopping. */
static void *writer_main(void *arg)
{
	struct kvfs_index *ix = arg;
	struct ix_op *batch;

	pthread_setname_np(pthread_self(), "kvfs-index"); /* top -H, ps -L */
	for (;;) {
		pthread_mutex_lock(&ix->q_lock);
		while (!ix->head && !ix->stop)
			pthread_cond_wait(&ix->q_cond, &ix->q_lock);
		if (ix->head && !ix->nhard)
			linger(ix);
		batch = ix->head;
		ix->head = ix->tail = NULL;
		ix->nhard = 0;
		pthread_mutex_unlock(&ix->q_lock);
		if (!batch)
			return NULL;    /* stopping, and nothing left */
		batch_run(ix, batch);
	}
}

/* ---- start-up reads and the file drop (main thread, before changes) ---- */

static void row_read(sqlite3_stmt *st, struct kvfs_index_row *r)
{
	r->id = (uint64_t)sqlite3_column_int64(st, 0);
	r->parent = (uint64_t)sqlite3_column_int64(st, 1);
	r->name = (const char *)sqlite3_column_text(st, 2);
	if (!r->name)
		r->name = "";
	r->mode = (uint32_t)sqlite3_column_int64(st, 3);
	r->uid = (uint32_t)sqlite3_column_int64(st, 4);
	r->gid = (uint32_t)sqlite3_column_int64(st, 5);
	r->size = (uint64_t)sqlite3_column_int64(st, 6);
	r->atime_ns = sqlite3_column_int64(st, 7);
	r->mtime_ns = sqlite3_column_int64(st, 8);
	r->ctime_ns = sqlite3_column_int64(st, 9);
	r->crc32c = (uint32_t)sqlite3_column_int64(st, 10);
	r->flags = (uint32_t)sqlite3_column_int64(st, 11);
	r->hits = (uint64_t)sqlite3_column_int64(st, 12);
	r->last_access_ns = sqlite3_column_int64(st, 13);
	r->kv_parent = (const char *)sqlite3_column_text(st, 14);
	/* Blob before bytes, as SQLite asks; an empty blob reads as none. */
	r->map = sqlite3_column_blob(st, 15);
	r->map_len = r->map ? (size_t)sqlite3_column_bytes(st, 15) : 0;
	if (r->map_len == 0)
		r->map = NULL;
	r->target = (const char *)sqlite3_column_text(st, 16);
}

/* Steps `sql`, calling `each` per row; its non-zero return stops the scan. */
static int scan(struct kvfs_index *ix, const char *sql, const char *what,
		int (*each)(sqlite3_stmt *st, void *ctx), void *ctx)
{
	sqlite3_stmt *st = NULL;
	int rc, stop = 0, err;

	rc = sqlite3_prepare_v2(ix->db, sql, -1, &st, NULL);
	while (rc == SQLITE_OK || rc == SQLITE_ROW) {
		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW)
			break;
		stop = each(st, ctx);
		if (stop)
			break;
	}
	err = kvfs_sql_errno(ix->db, rc);
	if (err)
		report(ix, rc, err, what, sqlite3_errmsg(ix->db));
	sqlite3_finalize(st);
	return stop ? stop : err;
}

struct load_ctx {
	int (*row_cb)(void *arg, const struct kvfs_index_row *row);
	int (*xattr_cb)(void *arg, uint64_t id, const char *name,
			const void *value, size_t size);
	void *arg;
	int64_t rows;
};

static int load_row(sqlite3_stmt *st, void *ctx)
{
	struct load_ctx *lc = ctx;
	struct kvfs_index_row r;

	row_read(st, &r);
	lc->rows++;
	return lc->row_cb ? lc->row_cb(lc->arg, &r) : 0;
}

static int load_xattr(sqlite3_stmt *st, void *ctx)
{
	struct load_ctx *lc = ctx;
	const char *name = (const char *)sqlite3_column_text(st, 1);
	const void *value = sqlite3_column_blob(st, 2);
	size_t size = (size_t)sqlite3_column_bytes(st, 2);

	if (!lc->xattr_cb)
		return 0;
	/* SQLite returns NULL for an empty blob; callers may memcpy from it. */
	return lc->xattr_cb(lc->arg, (uint64_t)sqlite3_column_int64(st, 0),
			    name ? name : "", value ? value : "", size);
}

/*
 * The callbacks run with db_lock held: they may queue changes but must not
 * call kvfs_index_max_id() or kvfs_index_drop_files().
 */
int kvfs_index_load(struct kvfs_index *ix,
		    int (*row_cb)(void *arg, const struct kvfs_index_row *row),
		    int (*xattr_cb)(void *arg, uint64_t id, const char *name,
				    const void *value, size_t size),
		    void *arg)
{
	struct load_ctx lc = { row_cb, xattr_cb, arg, 0 };
	int64_t total = 0;
	int err;

	pthread_mutex_lock(&ix->db_lock);
	err = scan(ix, sql_load_dirs, "loading directories", load_row, &lc);
	if (!err)
		err = scan(ix, sql_load_others, "loading rows", load_row, &lc);
	if (!err)
		err = scan(ix, sql_load_xattrs, "loading xattrs", load_xattr, &lc);
	if (!err)
		err = query_int(ix, sql_count_rows, &total, "counting rows");
	pthread_mutex_unlock(&ix->db_lock);
	if (!err && total > lc.rows)
		kvfs_warn("kvfs: index %s: %" PRId64 " rows are not reachable "
			  "from the root (no chain of directories leads to "
			  "them) and were not loaded; they stay in the index", ix->path,
			  total - lc.rows);
	return err;
}

/* Deletes the xattrs, then the rows, each chosen by its SQL; one
 * transaction.  Returns the rows deleted or -errno (nothing deleted). */
static int64_t drop_rows(struct kvfs_index *ix, const char *xattrs_sql,
			 const char *rows_sql, const char *what)
{
	int64_t dropped = 0;
	int err;

	pthread_mutex_lock(&ix->db_lock);
	err = exec_sql(ix, "BEGIN IMMEDIATE", what);
	if (err)
		goto out;
	err = exec_sql(ix, xattrs_sql, what);
	if (!err)
		err = exec_sql(ix, rows_sql, what);
	if (!err)
		dropped = sqlite3_changes64(ix->db);
	if (!err)
		err = exec_sql(ix, "COMMIT", what);
	if (err && !sqlite3_get_autocommit(ix->db))
		sqlite3_exec(ix->db, "ROLLBACK", NULL, NULL, NULL);
out:
	pthread_mutex_unlock(&ix->db_lock);
	return err ? err : dropped;
}

int64_t kvfs_index_drop_files(struct kvfs_index *ix)
{
	return drop_rows(ix, sql_drop_xattrs, sql_drop_files, "dropping files");
}

int64_t kvfs_index_drop_unstored(struct kvfs_index *ix)
{
	return drop_rows(ix, sql_drop_unstored_xattrs, sql_drop_unstored,
			 "dropping files without a stored copy");
}

int64_t kvfs_index_count_stored(struct kvfs_index *ix)
{
	int64_t n = 0;
	int err;

	pthread_mutex_lock(&ix->db_lock);
	err = query_int(ix, sql_count_stored, &n, "counting stored files");
	pthread_mutex_unlock(&ix->db_lock);
	return err ? err : n;
}
