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
 * open/load/drop_files/drop_unstored/count_stored/close are called by main()
 * alone, and that an after_commit callback (which runs on the writer thread)
 * must not call kvfs_index_sync() or kvfs_index_meta_set(): both wait for the
 * writer.
 */
#ifndef KVFS_INDEX_H
#define KVFS_INDEX_H

#include <stddef.h>
#include <stdint.h>

#define KVFS_INDEX_VERSION 3     /* schema this code writes */
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
	const void *map;        /* encoded chunk map (map.h) of the copy on the
				   SSD tier; NULL (map_len 0): no stored copy */
	size_t map_len;
	const char *target;     /* a symbolic link's target (S_IFLNK), else
				   NULL */
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
 * xattr.  A row's strings and map are borrowed for the callback's duration.
 * A callback returning non-zero stops the load and is returned.  Call before
 * any change is queued.
 */
int kvfs_index_load(struct kvfs_index *ix,
		    int (*row_cb)(void *arg, const struct kvfs_index_row *row),
		    int (*xattr_cb)(void *arg, uint64_t id, const char *name,
				    const void *value, size_t size),
		    void *arg);

/*
 * Deletes every regular-file row and its xattrs (their data lived only in
 * memory); directories and symbolic links stay.  Returns the number of files dropped, or -errno.  Synchronous;
 * called at start before kvfs_index_load().
 */
int64_t kvfs_index_drop_files(struct kvfs_index *ix);

/*
 * Deletes every regular-file row without a map (a file whose data lived
 * only in memory) and its xattrs; rows with a map, directories and other
 * types stay.  Returns the number of rows dropped, or -errno (then nothing
 * is dropped).  Synchronous; called at start before kvfs_index_load().
 */
int64_t kvfs_index_drop_unstored(struct kvfs_index *ix);

/* Regular-file rows with a map, as committed; or -errno.  Synchronous. */
int64_t kvfs_index_count_stored(struct kvfs_index *ix);

/* Queue changes.  Each copies what it needs (the row's strings and map
 * too); returns 0 or -ENOMEM. */
int kvfs_index_put(struct kvfs_index *ix, const struct kvfs_index_row *row);
int kvfs_index_del(struct kvfs_index *ix, uint64_t id); /* and its xattrs */
/* Updates only the hits and last access of a stored row (a read's close):
 * no row is created, and nothing else of it is rewritten. */
int kvfs_index_touch(struct kvfs_index *ix, uint64_t id, uint64_t hits,
		     int64_t last_access_ns);
int kvfs_index_xattr_put(struct kvfs_index *ix, uint64_t id, const char *name,
			 const void *value, size_t size);
int kvfs_index_xattr_del(struct kvfs_index *ix, uint64_t id, const char *name);

/*
 * Waits until every change queued before the call is committed; with
 * `durable` the commit is also synced to stable storage.  Returns 0, or the
 * -errno of the first failed commit since the previous sync.
 */
int kvfs_index_sync(struct kvfs_index *ix, int durable);

/*
 * Queues fn(arg, err) in order with the changes.  The writer thread calls it
 * once the commit holding every change queued before it has returned and
 * is synced to stable storage (as kvfs_index_sync(ix, 1) would): err is 0 when every change queued since the previous after_commit was
 * committed (so, as far as that one said 0, every change before it), else
 * the -errno of the first commit that failed since then (its changes are
 * missing from the index).  Callbacks run in queue order, each exactly
 * once, before any kvfs_index_sync() queued after them returns;
 * kvfs_index_close() runs those still pending after its final commit.
 * The callback runs on the writer thread: it may queue changes, but must
 * not wait for the writer (see Thread-safety above) and should be quick,
 * since commits wait for it.  Returns 0, or -ENOMEM (fn is never called).
 *
 * Use: free what a row pointed at (its old SSD space) only once the row
 * that stopped pointing at it is committed: put, then after_commit(free).
 */
int kvfs_index_after_commit(struct kvfs_index *ix,
			    void (*fn)(void *arg, int err), void *arg);

/*
 * The meta table: small named text values of the daemon (the SSD store's
 * id, ...).  "sync_gen" is the index's own and cannot be set.
 *
 * kvfs_index_meta_get copies the committed value of `key` with its
 * terminating NUL into buf; returns 0, -ENOENT if there is none, -ERANGE
 * if it needs more than n bytes (buf untouched), or -errno.
 *
 * kvfs_index_meta_set stores `value` (NULL: deletes the key) and returns
 * once that is committed and synced to stable storage, in order with the
 * changes queued before it: 0, -EINVAL for "sync_gen", or the -errno of
 * the failed commit (then nothing of its batch is stored).
 */
int kvfs_index_meta_get(struct kvfs_index *ix, const char *key, char *buf,
			size_t n);
int kvfs_index_meta_set(struct kvfs_index *ix, const char *key,
			const char *value);

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
