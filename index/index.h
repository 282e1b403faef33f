/*
 * index.h - kvfs's durable record in SQLite: inodes, names, xattrs.
 *
 * The in-memory namespace (fs/ns.c) is authoritative while the daemon runs;
 * the index records every change so the next start can rebuild it.  Callers
 * queue changes (kvfs_index_put/del/xattr_*) and return at once; one writer
 * thread applies the queue in order, batching everything queued into one
 * transaction.  kvfs_index_sync() is the durability point: it returns once
 * everything queued before it is committed (and, with `durable`, fsynced).
 *
 * All SQL lives in index/; SQLite result codes are translated to -errno here
 * and nowhere else.  The database is `<state>/index.db` in WAL mode; its schema
 * version is PRAGMA user_version, migrated forward at open.
 *
 * Thread-safety: every function may be called from any thread, except that
 * open/load/close are called by main() alone.
 */
#ifndef KVFS_INDEX_H
#define KVFS_INDEX_H

#include <stddef.h>
#include <stdint.h>

#define KVFS_INDEX_VERSION 1     /* schema this code writes */
#define KVFS_INDEX_ROOT_ID 1     /* id of the root directory */

/* Row flags. */
#define KVFS_ROW_CRC_VALID 0x1   /* crc32c holds the checksum of the data */
#define KVFS_ROW_PINNED    0x2   /* user.kvfs.pin: never evicted */

struct kvfs_index;

/* One inode as stored.  Strings are borrowed for the duration of a call. */
struct kvfs_index_row {
	uint64_t id;            /* persistent inode number (st_ino) */
	uint64_t parent;        /* id of the containing directory; 0 for root */
	const char *name;       /* name in parent; "" for root */
	uint32_t mode;          /* type and permission bits (st_mode) */
	uint32_t uid, gid;
	uint64_t size;
	int64_t atime_ns, mtime_ns, ctime_ns;
	uint32_t crc32c;
	uint32_t flags;         /* KVFS_ROW_* */
	uint64_t hits;
	int64_t last_access_ns;
	const char *kv_parent;  /* user.kvfs.parent, or NULL */
};

/*
 * Opens (creating if absent) `<dir>/index.db`, migrates it to
 * KVFS_INDEX_VERSION, and starts the writer thread.  On failure logs one line
 * naming the file and what to do, and returns -errno: -EIO for a damaged
 * database ("move it aside"), -EPROTO for a schema newer than this code,
 * -EACCES/-EROFS when it cannot be written.
 */
int kvfs_index_open(struct kvfs_index **out, const char *dir);

/* Drains the queue, commits, stops the writer, closes.  NULL is a no-op. */
void kvfs_index_close(struct kvfs_index *ix);

/*
 * Reads every stored row, directories before the files and directories they
 * contain (a parent's row always comes before its children's), then every
 * xattr.  A callback returning non-zero stops the load and is returned.
 * Call before any change is queued.
 */
int kvfs_index_load(struct kvfs_index *ix,
		    int (*row_cb)(void *arg, const struct kvfs_index_row *row),
		    int (*xattr_cb)(void *arg, uint64_t id, const char *name,
				    const void *value, size_t size),
		    void *arg);

/*
 * Deletes every regular-file row and its xattrs (their data lived only in
 * memory).  Returns the number of files dropped, or -errno.  Synchronous;
 * called at start before kvfs_index_load().
 */
int64_t kvfs_index_drop_files(struct kvfs_index *ix);

/* Queue changes.  Each copies what it needs; returns 0 or -ENOMEM. */
int kvfs_index_put(struct kvfs_index *ix, const struct kvfs_index_row *row);
int kvfs_index_del(struct kvfs_index *ix, uint64_t id); /* and its xattrs */
int kvfs_index_xattr_put(struct kvfs_index *ix, uint64_t id, const char *name,
			 const void *value, size_t size);
int kvfs_index_xattr_del(struct kvfs_index *ix, uint64_t id, const char *name);

/*
 * Waits until every change queued before the call is committed; with
 * `durable` the commit is also synced to stable storage.  Returns 0, or the
 * -errno of the first failed commit since the previous sync.
 */
int kvfs_index_sync(struct kvfs_index *ix, int durable);

/* Largest id stored (0 if none): new ids start above it. */
uint64_t kvfs_index_max_id(struct kvfs_index *ix);

/* Counters for tests and statistics. */
struct kvfs_index_stats {
	uint64_t queued;        /* changes queued since open */
	uint64_t committed;     /* changes committed */
	uint64_t transactions;  /* commits */
	uint64_t errors;        /* failed commits */
	uint64_t pending;       /* queued, not yet applied (the flush queue) */
};
void kvfs_index_stats(struct kvfs_index *ix, struct kvfs_index_stats *out);

#endif
