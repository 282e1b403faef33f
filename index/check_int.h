/*
 * check_int.h - what the two halves of the offline check share: check.c
 * (the rows) and check_ssd.c (the stored data).  Internal to index/; the
 * interface is check.h.
 */
#ifndef KVFS_CHECK_INT_H
#define KVFS_CHECK_INT_H

#include <sqlite3.h>
#include <stdint.h>

#include "check.h"
#include "sql.h"       /* kvfs_sql_errno(): SQLite codes to -errno */

#define KVFS_CHECK_NONE UINT32_MAX

/* Resolution of a row by the parent walk (check.c). */
enum { S_UNKNOWN, S_VISIT, S_OK, S_BROKEN, S_UNDER };

/* What check_ssd.c found of a loadable file row with a map. */
enum {
	D_NONE,        /* no map, or not looked at */
	D_OK,          /* every chunk verified */
	D_UNVERIFIED,  /* some chunk lies in a slab that cannot be read */
	D_BAD_DATA,    /* a checksum fails, or a chunk cannot be read */
	D_BAD_RUN,     /* a run lies outside the store */
	D_BAD_MAP,     /* the map does not decode */
	D_OVERLAP,     /* shares SSD bytes with a file the daemon loads first */
};

struct crow {
	uint64_t id, parent;
	char *name;
	int64_t ctime_ns;
	uint64_t size;
	uint32_t mode;
	uint32_t pidx;          /* index of the parent row, or NONE */
	uint32_t cause;         /* S_UNDER: the refused row above; D_OVERLAP:
				   the row loaded first */
	uint8_t flags, state, kind;
	uint8_t has_map, data, why;  /* data: D_*; why: its detail (check_ssd.c) */
	uint32_t chunk, nbad;   /* the first bad chunk; how many are bad */
	uint64_t soff;          /* that chunk's SSD offset */
	int err;                /* a read's -errno */
};

struct checker {
	sqlite3 *db;
	const struct kvfs_check_opts *o;
	struct kvfs_check_result *res;
	uint64_t version;       /* the schema's user_version */
	struct crow *r;         /* every row, in id order */
	uint32_t n;
	uint32_t *map;          /* id -> index + 1, open addressing */
	size_t nmap;
	uint32_t root;          /* the root row, or NONE */
	int root_missing;       /* no row with parent 0: a root is recreated */
	int root_not_dir;
	uint32_t *stack;
	char path[4096];
};

void kvfs_check_progress(struct checker *c, const char *phase, uint64_t done,
			 uint64_t total);
void kvfs_check_report(struct checker *c, enum kvfs_check_kind kind, int error,
		       int repairable, uint64_t id, const char *path,
		       const char *fmt, ...) __attribute__((format(printf, 7, 8)));
/* The row's path, in c->path (valid until the next call). */
const char *kvfs_check_path(struct checker *c, uint32_t i);
/* The row of `id`, or KVFS_CHECK_NONE. */
uint32_t kvfs_check_row(const struct checker *c, uint64_t id);
/* A file row the daemon's start would load. */
int kvfs_check_loadable_file(const struct checker *c, uint32_t i);

/*
 * check_ssd.c: verifies the loadable file rows that have a map against
 * the SSD tier's slabs, setting each one's `data` and reporting what it
 * finds.  Returns 0 (whatever it found), -EBUSY when a running daemon
 * holds the SSD directory, -ENOMEM, or -EIO from the index.
 */
int kvfs_check_data(struct checker *c);

#endif
