/*
 * check.h - offline verification and repair of a state directory's index
 * (`kvfsctl fsck`).
 *
 * Opens <dir>/index.db directly (read-only unless repairing), never through
 * kvfs_index_open(): a check must not migrate, create or queue anything.
 * The caller makes sure no daemon uses the directory (its lock file).
 *
 * What is checked, each a kind below: SQLite's own integrity check, the
 * schema, the root row, rows the daemon's load cannot reach (a missing or
 * non-directory parent, a parent chain that loops, and everything below
 * such rows), names and file types the daemon refuses, duplicate names in
 * one directory, and xattrs whose row is gone.
 *
 * File rows.  A row without a chunk map is a file whose data lived only in
 * memory: a notice, since the next start drops it.  A row with a map is a
 * file stored on the SSD tier, and its data is verified against the slab
 * files (read-only, never through kvfs_ssd_open()): the map decodes, every
 * run lies inside one slab's data, every chunk's CRC-32C, the head's and
 * the whole file's checksum match, and no two files claim the same SSD
 * bytes (the one with the higher id, which the daemon's load drops, is the
 * one reported).  The SSD directory is opts->ssd_dir, else the index's
 * meta "ssd_dir"; its slab headers must be sound and carry the store id of
 * meta "ssd_id".  SSD space no row points at is free space (the daemon
 * rebuilds its allocator from the rows): a row deleted by hand leaves
 * nothing to report.
 *
 * --repair deletes what the daemon could not load anyway (so nothing it
 * would show is lost), recreates a missing root row, drops the rows of
 * memory-only files as the next start would, and deletes the rows of
 * stored files whose data is bad (their SSD space is free at the next
 * start); all in one transaction.  It never deletes a file it could not
 * verify (a slab missing or another store's), and never touches the
 * slabs.  SQLite-level damage is reported, never repaired here.
 */
#ifndef KVFS_CHECK_H
#define KVFS_CHECK_H

#include <stdint.h>

enum kvfs_check_kind {
	KVFS_CHECK_INTEGRITY,    /* SQLite integrity_check failed (not repairable) */
	KVFS_CHECK_SCHEMA,       /* tables missing (not repairable) */
	KVFS_CHECK_ROOT,         /* no root row, several, or not a directory */
	KVFS_CHECK_ORPHAN,       /* its parent row is missing or not a directory */
	KVFS_CHECK_CYCLE,        /* its parent chain loops */
	KVFS_CHECK_UNREACHABLE,  /* below an orphan, a cycle or a refused row */
	KVFS_CHECK_BAD_NAME,     /* empty, '/', "." or "..", or over 255 bytes */
	KVFS_CHECK_BAD_TYPE,     /* neither a regular file nor a directory */
	KVFS_CHECK_DUPLICATE,    /* a second row with the same name in a directory */
	KVFS_CHECK_XATTR_ORPHAN, /* xattrs of a row that does not exist */
	KVFS_CHECK_BAD_MAP,      /* a stored file's chunk map does not decode */
	KVFS_CHECK_BAD_RUN,      /* a chunk's run lies outside the store */
	KVFS_CHECK_OVERLAP,      /* SSD bytes a file loaded before also claims */
	KVFS_CHECK_BAD_DATA,     /* a checksum fails, or a chunk cannot be read */
	KVFS_CHECK_UNVERIFIED,   /* data in a slab that is missing, damaged or
				    another store's (not repairable) */
	KVFS_CHECK_STORE,        /* the SSD directory or a slab file: missing,
				    damaged, another store's (not repairable) */
	KVFS_CHECK_MEMORY_FILE,  /* notice: a file whose data lived in memory */
	KVFS_CHECK_NKIND
};

/* Short names for messages and JSON: "orphan", "cycle", ... */
extern const char *const kvfs_check_kind_names[KVFS_CHECK_NKIND];

struct kvfs_check_problem {
	enum kvfs_check_kind kind;
	int error;              /* 0: a notice */
	int repairable;
	uint64_t id;            /* the row's id (0 when not about one row) */
	const char *path;       /* "/a/b", or "?<parent id>/b" when unreachable */
	const char *detail;     /* one line, no trailing newline */
};

struct kvfs_check_opts {
	int repair;
	const char *ssd_dir;    /* the SSD tier's directory; NULL: the one the
				   index records (meta "ssd_dir") */
	/* Both may be NULL.  progress: phase name, work done and total (total
	 * 0: unknown).  problem: every problem, as found; strings are valid
	 * for the call only. */
	void (*progress)(void *arg, const char *phase, uint64_t done,
			 uint64_t total);
	void (*problem)(void *arg, const struct kvfs_check_problem *p);
	void *arg;
};

struct kvfs_check_result {
	uint64_t rows, dirs, files, xattrs;
	uint64_t errors, notices;       /* problems found */
	uint64_t repaired;              /* of them, fixed by the repair */
	uint64_t unrepairable;          /* errors the repair cannot fix */
	uint64_t count[KVFS_CHECK_NKIND];
	uint64_t stored;                /* loadable file rows with a map */
	uint64_t verified_bytes;        /* stored bytes read and checked */
	uint64_t slabs;                 /* slab files found */
	char ssd_dir[4096];             /* the SSD directory checked, or "" */
	int ssd_busy;                   /* -EBUSY: a daemon holds ssd_dir */
};

/*
 * Checks (and with opts->repair, repairs) <dir>/index.db.  Returns 0 when
 * the check ran, whatever it found (see *out), or -errno when it could not:
 * -ENOENT (no index.db), -EPROTO (a schema newer than this code), -EBUSY
 * (another process holds a write lock on index.db, or with out->ssd_busy a
 * daemon holds the SSD directory), -EIO, -EACCES, -ENOMEM.  A failed
 * repair is rolled back whole and returns its -errno; *out then holds what
 * the check found, with repaired = 0.
 */
int kvfs_index_check(const char *dir, const struct kvfs_check_opts *opts,
		     struct kvfs_check_result *out);

#endif
