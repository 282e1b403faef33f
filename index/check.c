/*
 * check.c - offline verification and repair of an index (kvfsctl fsck).
 *
 * Owns its own SQLite connection to <dir>/index.db and every statement the
 * check runs; shares nothing with index.c's writer (which must not be
 * running: the caller holds the state directory's lock).  Single-threaded.
 *
 * The check mirrors what the daemon's start does with the rows (index.c's
 * load, ns.c's load_row), so "unreachable" means exactly "the daemon would
 * not load this row":
 *   1. read every row into memory (id, parent, name, mode, ctime);
 *   2. mark rows the daemon refuses on their own: a bad name, a type other
 *      than file, directory or symbolic link (with a target), and all but one of several rows with the same
 *      (parent, name) (the one kept has the newest ctime: rename writes the
 *      moved row's ctime);
 *   3. walk each row's parent chain to the root (each row is resolved once,
 *      so the walk is linear): a missing or non-directory parent makes an
 *      orphan, a chain that comes back to itself a cycle, and every row
 *      below a refused one is unreachable;
 *   4. find xattrs whose row does not exist;
 *   5. verify the data of the file rows that step 3 found loadable and
 *      that carry a chunk map, against the SSD tier (check_ssd.c).
 * Memory usage: about 90 bytes per row plus its name.
 */
#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "check_int.h"
#include "index.h"

const char *const kvfs_check_kind_names[KVFS_CHECK_NKIND] = {
	[KVFS_CHECK_INTEGRITY] = "integrity", [KVFS_CHECK_SCHEMA] = "schema",
	[KVFS_CHECK_ROOT] = "root", [KVFS_CHECK_ORPHAN] = "orphan",
	[KVFS_CHECK_CYCLE] = "cycle", [KVFS_CHECK_UNREACHABLE] = "unreachable",
	[KVFS_CHECK_BAD_NAME] = "bad-name", [KVFS_CHECK_BAD_TYPE] = "bad-type",
	[KVFS_CHECK_DUPLICATE] = "duplicate",
	[KVFS_CHECK_XATTR_ORPHAN] = "orphan-xattr",
	[KVFS_CHECK_BAD_MAP] = "bad-map", [KVFS_CHECK_BAD_RUN] = "bad-run",
	[KVFS_CHECK_OVERLAP] = "overlap", [KVFS_CHECK_BAD_DATA] = "bad-data",
	[KVFS_CHECK_UNVERIFIED] = "unverified", [KVFS_CHECK_STORE] = "ssd-store",
	[KVFS_CHECK_MEMORY_FILE] = "memory-file",
};

#define NONE KVFS_CHECK_NONE
#define NAME_MAX_BYTES 255       /* as KVFS_NAME_MAX in fs/ns.h */
#define PATH_DEPTH_MAX 64        /* components shown in a problem's path */

/* Refusals found in step 2. */
#define F_BAD_NAME   0x1
#define F_BAD_TYPE   0x2
#define F_DUPLICATE  0x4
#define F_EXTRA_ROOT 0x8

/* In id order, which is the daemon's load order of files (check_ssd.c's
 * overlaps depend on it).  Schema version 1 has no map column, versions 1
 * and 2 no target: the last column says whether a symlink's target is one
 * the daemon loads (1 to 4095 bytes, as KVFS_LINK_MAX in fs/ns.h). */
static const char sql_rows[] =
	"SELECT id, parent, name, mode, ctime_ns, size, map IS NOT NULL,"
	" target IS NOT NULL AND length(CAST(target AS BLOB)) BETWEEN 1 AND 4095"
	" AND instr(target, char(0)) = 0"
	" FROM inodes ORDER BY id";
static const char sql_rows_v2[] =
	"SELECT id, parent, name, mode, ctime_ns, size, map IS NOT NULL, 0"
	" FROM inodes ORDER BY id";
static const char sql_rows_v1[] =
	"SELECT id, parent, name, mode, ctime_ns, size, 0, 0 FROM inodes ORDER BY id";
static const char sql_xattr_orphans[] =
	"SELECT ino, COUNT(*) FROM xattrs WHERE ino NOT IN (SELECT id FROM inodes)"
	" GROUP BY ino";
static const char sql_del_row[] = "DELETE FROM inodes WHERE id = ?1";
static const char sql_del_xattrs[] = "DELETE FROM xattrs WHERE ino = ?1";
static const char sql_del_xattr_orphans[] =
	"DELETE FROM xattrs WHERE ino NOT IN (SELECT id FROM inodes)";
static const char sql_put_root[] =
	"INSERT INTO inodes (id, parent, name, mode, uid, gid, size, atime_ns,"
	" mtime_ns, ctime_ns, crc32c, flags, hits, last_access_ns)"
	" VALUES (?1, 0, '', ?2, 0, 0, 0, ?3, ?3, ?3, 0, 0, 0, 0)";
static const char sql_fix_root[] = "UPDATE inodes SET mode = ?2 WHERE id = ?1";

void kvfs_check_progress(struct checker *c, const char *phase, uint64_t done,
			 uint64_t total)
{
	if (total && done > total)
		done = total;  /* rows may say less than the maps hold */
	if (c->o->progress)
		c->o->progress(c->o->arg, phase, done, total);
}

void kvfs_check_report(struct checker *c, enum kvfs_check_kind kind, int error,
		       int repairable, uint64_t id, const char *path,
		       const char *fmt, ...)
{
	struct kvfs_check_problem p = {
		.kind = kind, .error = error, .repairable = repairable,
		.id = id, .path = path ? path : "",
	};
	char detail[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	p.detail = detail;
	c->res->count[kind]++;
	if (error)
		c->res->errors++;
	else
		c->res->notices++;
	if (error && !repairable)
		c->res->unrepairable++;
	if (c->o->problem)
		c->o->problem(c->o->arg, &p);
}

/* ---- step 1: rows into memory ---- */

static int query_u64(sqlite3 *db, const char *sql, uint64_t *out)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		*out = (uint64_t)sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return kvfs_sql_errno(db, rc);
}

uint32_t kvfs_check_row(const struct checker *c, uint64_t id)
{
	for (size_t j = id & (c->nmap - 1); c->map[j]; j = (j + 1) & (c->nmap - 1))
		if (c->r[c->map[j] - 1].id == id)
			return c->map[j] - 1;
	return NONE;
}

static int map_build(struct checker *c)
{
	c->nmap = 16;
	while (c->nmap < 2 * (size_t)c->n)
		c->nmap *= 2;
	c->map = calloc(c->nmap, sizeof(*c->map));
	if (!c->map)
		return -ENOMEM;
	for (uint32_t i = 0; i < c->n; i++) {
		size_t j = c->r[i].id & (c->nmap - 1);

		while (c->map[j])
			j = (j + 1) & (c->nmap - 1);
		c->map[j] = i + 1;
	}
	for (uint32_t i = 0; i < c->n; i++)
		c->r[i].pidx = c->r[i].parent ? kvfs_check_row(c, c->r[i].parent) : NONE;
	return 0;
}

static int name_ok(const char *name, int bytes)
{
	return bytes > 0 && bytes <= NAME_MAX_BYTES && (int)strlen(name) == bytes &&
	       !strchr(name, '/') && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

static int add_row(struct checker *c, sqlite3_stmt *st, uint64_t cap)
{
	struct crow *r = &c->r[c->n];
	const char *name = (const char *)sqlite3_column_text(st, 2);
	int bytes = sqlite3_column_bytes(st, 2);

	if (c->n >= cap || c->n == NONE - 1)
		return -EAGAIN; /* rows appeared since the count */
	memset(r, 0, sizeof(*r));
	r->id = (uint64_t)sqlite3_column_int64(st, 0);
	r->parent = (uint64_t)sqlite3_column_int64(st, 1);
	r->mode = (uint32_t)sqlite3_column_int64(st, 3);
	r->ctime_ns = sqlite3_column_int64(st, 4);
	r->size = (uint64_t)sqlite3_column_int64(st, 5);
	r->has_map = sqlite3_column_int(st, 6) != 0;
	r->name = strdup(name ? name : "");
	if (!r->name)
		return -ENOMEM;
	if (r->parent && !name_ok(r->name, name ? bytes : 0))
		r->flags |= F_BAD_NAME;
	if (!S_ISDIR(r->mode) && !S_ISREG(r->mode) &&
	    !(S_ISLNK(r->mode) && sqlite3_column_int(st, 7) != 0))
		r->flags |= F_BAD_TYPE;
	c->n++;
	return 0;
}

static int load_rows(struct checker *c)
{
	sqlite3_stmt *st;
	uint64_t total = 0;
	int rc, err;

	err = query_u64(c->db, "SELECT COUNT(*) FROM inodes", &total);
	if (err)
		return err;
	if (total >= NONE - 1)
		return -EFBIG;
	c->r = calloc(total ? total : 1, sizeof(*c->r));
	c->stack = calloc(total + 1, sizeof(*c->stack));
	if (!c->r || !c->stack)
		return -ENOMEM;
	rc = sqlite3_prepare_v2(c->db, c->version >= 3 ? sql_rows :
				c->version == 2 ? sql_rows_v2 : sql_rows_v1, -1,
				&st, NULL);
	while ((rc == SQLITE_OK || rc == SQLITE_ROW) &&
	       (rc = sqlite3_step(st)) == SQLITE_ROW) {
		err = add_row(c, st, total);
		if (err)
			break;
		if ((c->n & 4095) == 0)
			kvfs_check_progress(c, "reading rows", c->n, total);
	}
	sqlite3_finalize(st);
	if (!err)
		err = kvfs_sql_errno(c->db, rc);
	kvfs_check_progress(c, "reading rows", c->n, total);
	return err ? err : map_build(c);
}

/* ---- step 2: refusals of single rows ---- */

static int by_parent_name(const void *a, const void *b, void *arg)
{
	const struct crow *r = arg;
	const struct crow *x = &r[*(const uint32_t *)a], *y = &r[*(const uint32_t *)b];

	if (x->parent != y->parent)
		return x->parent < y->parent ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* The row kept of several with one name: newest ctime, then highest id. */
static int keeps(const struct crow *x, const struct crow *y)
{
	return x->ctime_ns != y->ctime_ns ? x->ctime_ns > y->ctime_ns : x->id > y->id;
}

static void mark_duplicates(struct checker *c)
{
	uint32_t *v = c->stack, n = 0, i, j, best;

	for (i = 0; i < c->n; i++)
		if (c->r[i].parent && !(c->r[i].flags & F_BAD_NAME))
			v[n++] = i;
	qsort_r(v, n, sizeof(*v), by_parent_name, c->r);
	for (i = 0; i < n; i = j) {
		best = v[i];
		for (j = i + 1; j < n && by_parent_name(&v[i], &v[j], c->r) == 0; j++)
			if (keeps(&c->r[v[j]], &c->r[best]))
				best = v[j];
		for (uint32_t k = i; k < j; k++)
			if (v[k] != best)
				c->r[v[k]].flags |= F_DUPLICATE;
	}
}

static void find_root(struct checker *c)
{
	c->root = NONE;
	for (uint32_t i = 0; i < c->n; i++) {
		if (c->r[i].parent != 0)
			continue;
		if (c->root == NONE || c->r[i].id == KVFS_INDEX_ROOT_ID ||
		    (c->r[c->root].id != KVFS_INDEX_ROOT_ID && c->r[i].id < c->r[c->root].id))
			c->root = i;
	}
	for (uint32_t i = 0; i < c->n; i++)
		if (c->r[i].parent == 0 && i != c->root)
			c->r[i].flags |= F_EXTRA_ROOT;
	c->root_missing = c->root == NONE && c->n > 0;
	c->root_not_dir = c->root != NONE && !S_ISDIR(c->r[c->root].mode);
}

/* ---- step 3: the parent walk ---- */

static int is_dir_row(const struct checker *c, uint32_t i)
{
	return i == c->root || S_ISDIR(c->r[i].mode);
}

/* A row whose parent is resolved and fine: refused only for itself. */
static void resolve_self(struct crow *r)
{
	static const struct { uint8_t flag, kind; } why[] = {
		{ F_BAD_NAME, KVFS_CHECK_BAD_NAME },
		{ F_BAD_TYPE, KVFS_CHECK_BAD_TYPE },
		{ F_DUPLICATE, KVFS_CHECK_DUPLICATE },
	};

	r->state = S_OK;
	for (size_t k = 0; k < sizeof(why) / sizeof(why[0]); k++) {
		if (r->flags & why[k].flag) {
			r->state = S_BROKEN;
			r->kind = why[k].kind;
			return;
		}
	}
}

/* Resolves row i, whose parent row p is resolved (p == NONE: the root is
 * missing and will be recreated, which counts as fine). */
static void resolve_child(struct checker *c, uint32_t i, uint32_t p)
{
	struct crow *r = &c->r[i];

	if (p != NONE && c->r[p].state == S_BROKEN) {
		r->state = S_UNDER;
		r->cause = p;
	} else if (p != NONE && c->r[p].state == S_UNDER) {
		r->state = S_UNDER;
		r->cause = c->r[p].cause;
	} else if (p != NONE && !is_dir_row(c, p)) {
		r->state = S_BROKEN;
		r->kind = KVFS_CHECK_ORPHAN;
	} else {
		resolve_self(r);
	}
}

static void walk(struct checker *c, uint32_t i)
{
	uint32_t *st = c->stack, len = 0, j = i;

	/* Climb until a resolved row, the root, a dead end, or a row already on
	 * the stack (a loop).  st[0] is i; each st[m]'s parent is st[m + 1]. */
	while (c->r[j].state == S_UNKNOWN) {
		struct crow *r = &c->r[j];

		r->state = S_VISIT;
		st[len++] = j;
		if (j == c->root) {
			r->state = S_OK;
		} else if (r->flags & F_EXTRA_ROOT) {
			r->state = S_BROKEN;
			r->kind = KVFS_CHECK_ROOT;
		} else if (r->pidx == NONE) {
			if (c->root_missing && r->parent == KVFS_INDEX_ROOT_ID) {
				resolve_child(c, j, NONE);
			} else {
				r->state = S_BROKEN;
				r->kind = KVFS_CHECK_ORPHAN;
			}
		} else {
			j = r->pidx;
			continue;
		}
		break;
	}
	if (len == 0)
		return; /* resolved by an earlier walk */
	if (c->r[st[len - 1]].state == S_VISIT) {
		/* The climb stopped at st[len - 1]'s parent j. */
		if (c->r[j].state == S_VISIT) {
			uint32_t k = len;

			while (st[k - 1] != j)
				k--;
			for (uint32_t m = k - 1; m < len; m++) {
				c->r[st[m]].state = S_BROKEN;
				c->r[st[m]].kind = KVFS_CHECK_CYCLE;
			}
			len = k - 1;
		} else {
			resolve_child(c, st[len - 1], j);
		}
	}
	for (uint32_t m = len; m-- > 0;)
		if (c->r[st[m]].state == S_VISIT)
			resolve_child(c, st[m], st[m + 1]);
}

/* "/a/b" for a reachable row; "?<id>/x/y" below a missing parent id; a
 * leading "..." when the chain is too long or loops. */
const char *kvfs_check_path(struct checker *c, uint32_t i)
{
	const char *part[PATH_DEPTH_MAX];
	size_t n = 0, len = 0, size = sizeof(c->path);
	uint32_t j = i;

	c->path[0] = '\0';
	for (;;) {
		if (j == c->root)
			break;
		if (n == PATH_DEPTH_MAX) {
			len = (size_t)snprintf(c->path, size, "...");
			break;
		}
		part[n++] = c->r[j].name;
		if (c->r[j].pidx != NONE) {
			j = c->r[j].pidx;
			continue;
		}
		if (!(c->root_missing && c->r[j].parent == KVFS_INDEX_ROOT_ID) &&
		    c->r[j].parent != 0)
			len = (size_t)snprintf(c->path, size, "?%" PRIu64, c->r[j].parent);
		break;
	}
	while (n > 0 && len < size - 1)
		len += (size_t)snprintf(c->path + len, size - len, "/%s", part[--n]);
	if (!c->path[0])
		snprintf(c->path, size, "/");
	return c->path;
}

/* ---- reports ---- */

static void report_row(struct checker *c, uint32_t i)
{
	struct crow *r = &c->r[i];
	const char *path = kvfs_check_path(c, i);

	switch (r->state) {
	case S_OK:
		if (S_ISREG(r->mode) && i != c->root && !r->has_map)
			kvfs_check_report(c, KVFS_CHECK_MEMORY_FILE, 0, 1, r->id, path,
					  "file row of the last run: its data lived only "
					  "in memory, the next start drops it");
		return;
	case S_UNDER:
		kvfs_check_report(c, KVFS_CHECK_UNREACHABLE, 1, 1, r->id, path,
				  "below refused row %" PRIu64 " (%s): the daemon cannot load it",
				  c->r[r->cause].id, kvfs_check_kind_names[c->r[r->cause].kind]);
		return;
	default:
		break;
	}
	switch (r->kind) {
	case KVFS_CHECK_ROOT:
		kvfs_check_report(c, r->kind, 1, 1, r->id, path,
				  "a second root row (parent 0) besides row %" PRIu64,
				  c->root == NONE ? 0 : c->r[c->root].id);
		break;
	case KVFS_CHECK_ORPHAN:
		kvfs_check_report(c, r->kind, 1, 1, r->id, path, r->pidx == NONE ?
				  "its parent row %" PRIu64 " does not exist" :
				  "its parent row %" PRIu64 " is not a directory", r->parent);
		break;
	case KVFS_CHECK_CYCLE:
		kvfs_check_report(c, r->kind, 1, 1, r->id, path,
				  "its chain of parents loops back to itself (parent %" PRIu64 ")",
				  r->parent);
		break;
	case KVFS_CHECK_BAD_NAME:
		kvfs_check_report(c, r->kind, 1, 1, r->id, path,
				  "a name kvfs refuses (empty, '/', '.', '..' or over 255 bytes)");
		break;
	case KVFS_CHECK_BAD_TYPE:
		kvfs_check_report(c, r->kind, 1, 1, r->id, path,
				  S_ISLNK(r->mode) ? "a symbolic link (mode 0%o) without "
				  "a target kvfs loads (1 to 4095 bytes)" :
				  "mode 0%o is neither a regular file, a directory nor "
				  "a symbolic link", r->mode);
		break;
	case KVFS_CHECK_DUPLICATE:
		kvfs_check_report(c, r->kind, 1, 1, r->id, path,
				  "another row in directory %" PRIu64 " has this name and a newer ctime",
				  r->parent);
		break;
	default:
		break;
	}
}

static void check_rows(struct checker *c)
{
	find_root(c);
	mark_duplicates(c);
	if (c->root_missing)
		kvfs_check_report(c, KVFS_CHECK_ROOT, 1,
				  kvfs_check_row(c, KVFS_INDEX_ROOT_ID) == NONE,
				  KVFS_INDEX_ROOT_ID, "/",
				  "no root row (parent 0): nothing below it can load; "
				  "--repair recreates it as row %d", KVFS_INDEX_ROOT_ID);
	if (c->root_not_dir)
		kvfs_check_report(c, KVFS_CHECK_ROOT, 1, 1, c->r[c->root].id, "/",
				  "the root row's mode 0%o is not a directory",
				  c->r[c->root].mode);
	for (uint32_t i = 0; i < c->n; i++) {
		walk(c, i);
		if ((i & 4095) == 0)
			kvfs_check_progress(c, "checking rows", i, c->n);
	}
	for (uint32_t i = 0; i < c->n; i++) {
		struct crow *r = &c->r[i];

		if (S_ISDIR(r->mode) || i == c->root)
			c->res->dirs++;
		else
			c->res->files++;
		report_row(c, i);
	}
	kvfs_check_progress(c, "checking rows", c->n, c->n);
}

static int check_xattrs(struct checker *c)
{
	sqlite3_stmt *st;
	int rc, err;

	err = query_u64(c->db, "SELECT COUNT(*) FROM xattrs", &c->res->xattrs);
	if (err)
		return err;
	rc = sqlite3_prepare_v2(c->db, sql_xattr_orphans, -1, &st, NULL);
	while ((rc == SQLITE_OK || rc == SQLITE_ROW) &&
	       (rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t id = (uint64_t)sqlite3_column_int64(st, 0);
		char path[32];

		snprintf(path, sizeof(path), "?%" PRIu64, id);
		kvfs_check_report(c, KVFS_CHECK_XATTR_ORPHAN, 1, 1, id, path,
				  "%lld xattrs of row %" PRIu64 ", which does not exist",
				  (long long)sqlite3_column_int64(st, 1), id);
	}
	sqlite3_finalize(st);
	return kvfs_sql_errno(c->db, rc);
}

/* SQLite's own check.  Returns 0 (clean or not: see the problems), -errno
 * when it cannot run. */
static int check_integrity(struct checker *c, int *damaged)
{
	sqlite3_stmt *st;
	int rc, n = 0;

	*damaged = 0;
	kvfs_check_progress(c, "sqlite integrity check", 0, 0);
	rc = sqlite3_prepare_v2(c->db, "PRAGMA integrity_check(50)", -1, &st, NULL);
	while ((rc == SQLITE_OK || rc == SQLITE_ROW) &&
	       (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *msg = (const char *)sqlite3_column_text(st, 0);

		if (n++ == 0 && msg && strcmp(msg, "ok") == 0)
			break;
		*damaged = 1;
		kvfs_check_report(c, KVFS_CHECK_INTEGRITY, 1, 0, 0, "index.db",
				  "%s (move index.db aside, with index.db-wal and -shm)",
				  msg ? msg : "damaged");
	}
	sqlite3_finalize(st);
	rc = rc == SQLITE_ROW ? SQLITE_OK : rc;
	if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB) {
		*damaged = 1;
		kvfs_check_report(c, KVFS_CHECK_INTEGRITY, 1, 0, 0, "index.db",
				  "%s (move index.db aside, with index.db-wal and -shm)",
				  sqlite3_errstr(rc));
		return 0;
	}
	return kvfs_sql_errno(c->db, rc);
}

/* The tables the checks read; a newer schema is not ours to judge. */
static int check_schema(struct checker *c, int *usable)
{
	uint64_t version = 0, tables = 0;
	int err;

	*usable = 0;
	err = query_u64(c->db, "PRAGMA user_version", &version);
	if (err)
		return err;
	if (version > KVFS_INDEX_VERSION)
		return -EPROTO;
	err = query_u64(c->db, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'"
			" AND name IN ('inodes', 'xattrs')", &tables);
	if (err)
		return err;
	if (version == 0 && tables == 0)
		return 0; /* created and never used: nothing to check */
	c->version = version;
	if (tables != 2 || version == 0) {
		kvfs_check_report(c, KVFS_CHECK_SCHEMA, 1, 0, 0, "index.db",
				  "schema version %" PRIu64 " without the inodes and xattrs "
				  "tables; move index.db aside", version);
		return 0;
	}
	*usable = 1;
	return 0;
}

/* ---- repair ---- */

static int step_id(sqlite3_stmt *st, uint64_t id, int64_t v)
{
	int rc;

	sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
	if (sqlite3_bind_parameter_count(st) >= 2)
		sqlite3_bind_int64(st, 2, v);
	if (sqlite3_bind_parameter_count(st) >= 3)
		sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL) * 1000000000);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return kvfs_sql_errno(sqlite3_db_handle(st), rc);
}

int kvfs_check_loadable_file(const struct checker *c, uint32_t i)
{
	return c->r[i].state == S_OK && i != c->root && S_ISREG(c->r[i].mode);
}

/* Does the repair delete row i?  Everything the daemon could not load, the
 * rows of memory-only files, and stored files whose data is bad; never a
 * file whose data could not be verified. */
static int doomed(const struct checker *c, uint32_t i)
{
	const struct crow *r = &c->r[i];

	if (r->state != S_OK)
		return 1;
	if (!kvfs_check_loadable_file(c, i))
		return 0;
	if (!r->has_map)
		return 1;
	return r->data == D_BAD_DATA || r->data == D_BAD_RUN ||
	       r->data == D_BAD_MAP || r->data == D_OVERLAP;
}

static int repair_rows(struct checker *c)
{
	sqlite3_stmt *del = NULL, *delx = NULL, *root = NULL;
	int err = 0;

	if (sqlite3_prepare_v2(c->db, sql_del_row, -1, &del, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(c->db, sql_del_xattrs, -1, &delx, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(c->db, c->root_missing ? sql_put_root : sql_fix_root,
			       -1, &root, NULL) != SQLITE_OK)
		err = kvfs_sql_errno(c->db, sqlite3_errcode(c->db));
	/* A root id taken by another row cannot be recreated (reported as
	 * unrepairable); the rest is still repaired. */
	if (!err && c->root_missing && kvfs_check_row(c, KVFS_INDEX_ROOT_ID) == NONE)
		err = step_id(root, KVFS_INDEX_ROOT_ID, S_IFDIR | 0755);
	if (!err && c->root_not_dir)
		err = step_id(root, c->r[c->root].id, S_IFDIR | 0755);
	for (uint32_t i = 0; !err && i < c->n; i++) {
		if (!doomed(c, i))
			continue;
		err = step_id(delx, c->r[i].id, 0);
		if (!err)
			err = step_id(del, c->r[i].id, 0);
		if ((i & 4095) == 0)
			kvfs_check_progress(c, "repairing", i, c->n);
	}
	if (!err)
		err = kvfs_sql_errno(c->db, sqlite3_exec(c->db, sql_del_xattr_orphans,
							 NULL, NULL, NULL));
	sqlite3_finalize(del);
	sqlite3_finalize(delx);
	sqlite3_finalize(root);
	return err;
}

static int repair(struct checker *c)
{
	uint64_t fixable = c->res->errors + c->res->notices - c->res->unrepairable;
	int err;

	if (fixable == 0)
		return 0;
	err = kvfs_sql_errno(c->db, sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL));
	if (err)
		return err;
	err = repair_rows(c);
	if (!err)
		err = kvfs_sql_errno(c->db, sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL));
	if (err) {
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
		return err;
	}
	c->res->repaired = fixable;
	kvfs_check_progress(c, "repairing", c->n, c->n);
	return 0;
}

/* ---- the entry point ---- */

static int open_db(struct checker *c, const char *dir, int repair)
{
	char path[4096];
	struct stat sb;
	int rc;

	snprintf(path, sizeof(path), "%s/index.db", dir);
	if (stat(path, &sb) != 0)
		return -errno;
	if (!S_ISREG(sb.st_mode))
		return -EINVAL;
	rc = sqlite3_open_v2(path, &c->db, repair ? SQLITE_OPEN_READWRITE :
			     SQLITE_OPEN_READONLY, NULL);
	if (rc != SQLITE_OK)
		return kvfs_sql_errno(c->db, rc);
	sqlite3_busy_timeout(c->db, 2000);
	return 0;
}

static void checker_release(struct checker *c)
{
	for (uint32_t i = 0; c->r && i < c->n; i++)
		free(c->r[i].name);
	free(c->r);
	free(c->map);
	free(c->stack);
	sqlite3_close(c->db);
}

int kvfs_index_check(const char *dir, const struct kvfs_check_opts *opts,
		     struct kvfs_check_result *out)
{
	struct checker c = { .o = opts, .res = out, .root = NONE };
	int err, damaged = 0, usable = 0;

	memset(out, 0, sizeof(*out));
	err = open_db(&c, dir, opts->repair);
	if (!err)
		err = check_integrity(&c, &damaged);
	if (!err && !damaged)
		err = check_schema(&c, &usable);
	if (!err && usable)
		err = load_rows(&c);
	if (!err && usable) {
		out->rows = c.n;
		check_rows(&c);
		err = check_xattrs(&c);
	}
	if (!err && usable)
		err = kvfs_check_data(&c);
	if (!err && usable && opts->repair)
		err = repair(&c);
	checker_release(&c);
	return err;
}
