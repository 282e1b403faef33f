/*
 * ctl.h - the control directory /.kvfs: what its files say.
 *
 *   stats       human-readable: tiers, namespace, I/O, lookups, evictions,
 *               the index queue, FUSE requests with their latencies
 *   stats.json  the same numbers as one JSON object
 *   metrics     Prometheus text exposition format (version 0.0.4)
 *   config      the daemon's effective options, one NAME=VALUE per line
 *
 * The namespace (ns.c) holds the inodes and hides the directory from readdir
 * of the root; file.c generates a file's content at open through
 * ns->hooks.ctl_fill, which is kvfs_ctl_fill() here.  FUSE-free: everything
 * comes from struct kvfs.  docs/tooling.md lists every field and metric.
 */
#ifndef KVFS_CTL_H
#define KVFS_CTL_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "index.h"
#include "kvfs.h"

/* ino->ctl of each control file (KVFS_CTL_DIR is the directory). */
enum kvfs_ctl_kind {
	KVFS_CTL_STATS = KVFS_CTL_DIR + 1,
	KVFS_CTL_STATS_JSON,
	KVFS_CTL_METRICS,
	KVFS_CTL_CONFIG,
	KVFS_CTL_END
};

/* One tier as the control files report it.  A tier that is not configured
 * (or not built yet: the SSD tier) is present = 0 with zeros. */
struct kvfs_ctl_tier {
	const char *name;         /* "memory", "ssd" */
	int present;
	uint64_t capacity_bytes, used_bytes, files;
};

#define KVFS_CTL_NTIER 2
#define KVFS_CTL_NSTORE 27

/* Every number the control files print, read once per open. */
struct kvfs_ctl_snap {
	int64_t now_ns, start_ns;        /* CLOCK_REALTIME */
	pid_t pid;
	const char *version, *mountpoint, *state;
	struct kvfs_ctl_tier tier[KVFS_CTL_NTIER];
	uint64_t warmed_bytes;           /* the warm reserve (backing.h): touched, */
	uint64_t warm_bytes;             /* held now, */
	uint64_t lent_bytes;             /* and lent, in all */
	uint64_t fed_bytes;              /* of them, fed ahead of writers */
	uint64_t frag_bytes;             /* freed in 1 MiB pages (backing.h) */
	const char *mem_where;           /* kvfs_mem_where() */
	uint64_t files, dirs, published;
	uint64_t closes_deferred, closes_scanned; /* file.c, kvfs_file_settle */
	uint64_t bytes_read, bytes_written, file_hits, enospc;
	uint64_t opens_passthrough, opens_served, pt_absorbed;
	uint64_t tmpfiles;               /* O_TMPFILE opens (kproto.h) */
	uint64_t writer_waits, writer_wait_ms, writers_no_room; /* admit.h */
	int passthrough;                 /* the mount binds opens (file.c) */
	uint64_t crc_pending, crc_passes, crc_patched_writes;
	uint64_t lookup_hits, lookup_misses;
	uint64_t evictions, evicted_bytes, evict_refused, promotions;
	int have_index;
	struct kvfs_index_stats index;
	/* The store's counters (store.h), named for JSON and Prometheus. */
	struct kvfs_ctl_counter {
		const char *name;     /* stats.json key under "store" */
		const char *metric;   /* kvfs_* metric name, units in the name */
		const char *type;     /* "counter" or "gauge" */
		const char *help;
		uint64_t value;
	} store[KVFS_CTL_NSTORE];
	int nstore;
	const char *write_policy, *evict_policy;
	int ssd_direct;
	struct kvfs_opstat_snap op[KVFS_OP_COUNT];
};

/* Creates the control directory and its files in kv->ns and installs the
 * content hook.  Main thread, after kvfs_ns_load().  0 or -ENOMEM. */
int kvfs_ctl_init(struct kvfs *kv);

/* ns->hooks.ctl_fill: the content of control file `kind`, malloc'd into
 * *buf (never NULL on success).  Returns its length or -errno. */
ssize_t kvfs_ctl_fill(void *kv, int kind, char **buf);

/* The pieces, for tests: a snapshot of kv, and each file's writer. */
void kvfs_ctl_snapshot(struct kvfs *kv, struct kvfs_ctl_snap *s);
void kvfs_ctl_write_stats(FILE *f, const struct kvfs_ctl_snap *s);
void kvfs_ctl_write_json(FILE *f, const struct kvfs_ctl_snap *s);
void kvfs_ctl_write_metrics(FILE *f, const struct kvfs_ctl_snap *s);
void kvfs_ctl_write_config(FILE *f, const struct kvfs *kv);

/* Writes s as a JSON string (quotes; ", \ and control characters
 * escaped).  Shared with kvfsctl. */
void kvfs_ctl_json_str(FILE *f, const char *s);

#endif
