/*
 * kvfs-bench-index.c - makes the state of a kvfs that holds N stored files,
 * without writing N files through FUSE: the restart benchmark of `make bench`
 * (tools/bench.sh, docs/bench.md (g)).
 *
 * Input: a state directory and an SSD store that a kvfs made and left (start
 * kvfs once with ssd=DIR,ssd_size=SIZE and unmount), so the slab headers, the
 * schema and the index's meta keys ssd_id/ssd_dir exist.  Output: N rows of
 * regular files added to the root directory in ONE transaction, each named
 * like a ds4 prefix (<40 hex>.kv) and holding --size bytes (0 or 4096).  A
 * 4096-byte file gets a map of one chunk on its own 4 KiB run of a slab:
 * runs never overlap, and the bytes there are what fallocate() left, zeros,
 * so every file is valid (its chunk and file checksums are those of 4096
 * zeros).  A 0-byte file has a map of no chunks.  Prints the name of the
 * last file added (a name to probe) on stdout.
 *
 * Holds the state directory's lock (kvfs.lock) while it writes, so it never
 * runs beside a daemon.  Single-threaded; a tool, so it dies on error.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crc32c.h"
#include "index.h"
#include "map.h"
#include "ssd.h"

static _Noreturn void die(const char *fmt, ...);
#include "bench_util.h"

static _Noreturn void die(const char *fmt, ...)
{
	va_list ap;

	fputs("kvfs-bench-index: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: kvfs-bench-index --state DIR --ssd DIR --files N [--size 0|4096]\n"
		"  adds N stored files of --size bytes (default 4096) to the root of the\n"
		"  index in DIR/index.db, on distinct 4 KiB runs of the store in --ssd;\n"
		"  start kvfs once with those state= and ssd= first.  Prints the name of\n"
		"  the last file added.\n");
	exit(2);
}

/* <40 hex>.kv: ds4-server's name for a prefix, from i (unique per i,
 * because the first 16 hex digits are a bijection of i). */
static void file_name(char *out, size_t size, uint64_t i)
{
	uint64_t h = mix64(i);

	snprintf(out, size, "%016" PRIx64 "%016" PRIx64 "%08" PRIx32 ".kv", h,
		 mix64(h ^ 1), (uint32_t)mix64(h ^ 2));
}

struct store {
	uint64_t id;
	uint64_t slab_size;      /* data bytes per slab */
	uint32_t nslabs;
};

/* Reads the slab headers (ssd.h) of DIR: the store's id, slab size, count. */
static void read_store(const char *dir, struct store *s)
{
	struct kvfs_slab_hdr h;
	char path[PATH_MAX];

	memset(s, 0, sizeof(*s));
	for (uint32_t i = 0;; i++) {
		if (kvfs_slab_path(path, sizeof(path), dir, i) < 0)
			die("%s: path too long", dir);
		int fd = open(path, O_RDONLY);

		if (fd < 0 && errno == ENOENT && i > 0)
			break;
		if (fd < 0)
			die("%s: %s (start kvfs once with ssd=%s first)", path,
			    strerror(errno), dir);
		if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
		    kvfs_slab_hdr_check(&h, i) < 0)
			die("%s: not a kvfs slab (bad header)", path);
		close(fd);
		if (i == 0) {
			s->id = le64toh(h.store_id);
			s->slab_size = le64toh(h.slab_size);
		} else if (le64toh(h.store_id) != s->id ||
			   le64toh(h.slab_size) != s->slab_size) {
			die("%s: belongs to another store", path);
		}
		s->nslabs = i + 1;
	}
}

/* The SSD offset of data unit k (units of 4096 bytes, headers skipped). */
static uint64_t unit_soff(const struct store *s, uint64_t k)
{
	uint64_t per = s->slab_size / KVFS_SSD_UNIT;

	return k / per * (KVFS_SSD_HDR + s->slab_size) + KVFS_SSD_HDR +
	       k % per * KVFS_SSD_UNIT;
}

static void exec_or_die(sqlite3 *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		die("%s: %s", sql, err ? err : sqlite3_errmsg(db));
}

static int64_t query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		die("%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* The index must belong to the store in --ssd (meta ssd_id, main.c). */
static void check_pairing(sqlite3 *db, const struct store *s, const char *state)
{
	char want[32];
	sqlite3_stmt *st;
	const char *have = NULL;

	snprintf(want, sizeof(want), "%016" PRIx64, s->id);
	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'ssd_id'", -1,
			       &st, NULL) != SQLITE_OK)
		die("%s/index.db: %s", state, sqlite3_errmsg(db));
	if (sqlite3_step(st) == SQLITE_ROW)
		have = (const char *)sqlite3_column_text(st, 0);
	if (!have || strcmp(have, want) != 0)
		die("%s/index.db does not belong to store %s (start kvfs once with both)",
		    state, want);
	sqlite3_finalize(st);
}

static void encode(uint64_t size, uint64_t soff, void **blob, int *len)
{
	static uint32_t zcrc;
	struct kvfs_chunk c = { 0 };
	struct kvfs_map m = { .size = size };
	ssize_t n;

	if (!zcrc)
		zcrc = kvfs_crc32c_zeros(0, 4096);
	if (size) {
		c = (struct kvfs_chunk){ soff, 4096, zcrc };
		m.n = 1;
		m.c = &c;
		m.file_crc = m.head_crc = zcrc;
	}
	n = kvfs_map_encode(&m, blob);
	if (n < 0)
		die("out of memory");
	*len = (int)n;
}

static void insert_files(sqlite3 *db, const struct store *s, uint64_t files,
			 uint64_t size, char *last, size_t lastsz)
{
	static const char sql[] =
		"INSERT INTO inodes (id, parent, name, mode, uid, gid, size, atime_ns,"
		" mtime_ns, ctime_ns, crc32c, flags, hits, last_access_ns, kv_parent, map)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?8, ?9, ?10, 0, ?8, NULL, ?11)";
	struct timespec ts;
	sqlite3_stmt *st;
	int64_t root, id;
	char name[64];

	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;

	root = query_int(db, "SELECT id FROM inodes WHERE parent = 0");
	if (root < 0)
		die("the index has no root directory (start kvfs once first)");
	id = query_int(db, "SELECT COALESCE(MAX(id), 0) FROM inodes");
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		die("%s", sqlite3_errmsg(db));
	for (uint64_t i = 0; i < files; i++) {
		void *blob;
		int len;

		encode(size, size ? unit_soff(s, i) : 0, &blob, &len);
		file_name(name, sizeof(name), i);
		sqlite3_bind_int64(st, 1, ++id);
		sqlite3_bind_int64(st, 2, root);
		sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, S_IFREG | 0644);
		sqlite3_bind_int64(st, 5, getuid());
		sqlite3_bind_int64(st, 6, getgid());
		sqlite3_bind_int64(st, 7, (int64_t)size);
		sqlite3_bind_int64(st, 8, now);
		sqlite3_bind_int64(st, 9, size ? kvfs_crc32c_zeros(0, size) : 0);
		sqlite3_bind_int64(st, 10, KVFS_ROW_CRC_VALID);
		sqlite3_bind_blob(st, 11, blob, len, SQLITE_TRANSIENT);
		if (sqlite3_step(st) != SQLITE_DONE)
			die("inserting file %" PRIu64 ": %s", i, sqlite3_errmsg(db));
		sqlite3_reset(st);
		free(blob);
	}
	sqlite3_finalize(st);
	snprintf(last, lastsz, "%s", name);
}

int main(int argc, char **argv)
{
	const char *state = NULL, *ssd = NULL;
	uint64_t files = 0, size = 4096, units;
	char path[PATH_MAX], last[64] = "";
	struct store s;
	sqlite3 *db;
	int lock;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--state") == 0)
			state = argv[i + 1];
		else if (strcmp(argv[i], "--ssd") == 0)
			ssd = argv[i + 1];
		else if (strcmp(argv[i], "--files") == 0)
			files = strtoull(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--size") == 0)
			size = strtoull(argv[i + 1], NULL, 10);
		else
			usage();
	}
	if (!state || !ssd || files == 0 || argc % 2 == 0 || (size != 0 && size != 4096))
		usage();
	read_store(ssd, &s);
	units = s.nslabs * (s.slab_size / KVFS_SSD_UNIT);
	if (size && files > units)
		die("the store in %s holds %" PRIu64 " runs of 4 KiB, not %" PRIu64
		    "; make it with a larger ssd_size=", ssd, units, files);
	snprintf(path, sizeof(path), "%s/kvfs.lock", state);
	lock = open(path, O_RDWR);
	if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB) != 0)
		die("%s: %s (start kvfs once with state=%s first, and stop it)", path,
		    lock < 0 ? strerror(errno) : "in use by a kvfs daemon", state);
	snprintf(path, sizeof(path), "%s/index.db", state);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		die("%s: %s", path, sqlite3_errmsg(db));
	if (query_int(db, "PRAGMA user_version") != KVFS_INDEX_VERSION)
		die("%s: schema version is not %d", path, KVFS_INDEX_VERSION);
	check_pairing(db, &s, state);
	if (query_int(db, "SELECT COUNT(*) FROM inodes WHERE (mode & 61440) = 32768") != 0)
		die("%s already holds files; start from a fresh state directory", path);
	/* One transaction, nothing synced until the end: a tool's bulk load. */
	exec_or_die(db, "PRAGMA synchronous = OFF");
	exec_or_die(db, "PRAGMA cache_size = -262144");
	exec_or_die(db, "BEGIN IMMEDIATE");
	insert_files(db, &s, files, size, last, sizeof(last));
	exec_or_die(db, "COMMIT");
	/* Leave no WAL behind for the daemon's start to replay. */
	exec_or_die(db, "PRAGMA wal_checkpoint(TRUNCATE)");
	if (sqlite3_close(db) != SQLITE_OK)
		die("%s: close failed", path);
	close(lock);
	printf("%s\n", last);
	return 0;
}
