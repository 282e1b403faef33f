/*
 * kvfs.h - the daemon: its options and the one struct all its state hangs
 * off (passed to libfuse as userdata).  No FUSE types here, so the option
 * code is testable without FUSE.
 */
#ifndef KVFS_KVFS_H
#define KVFS_KVFS_H

#include <stdint.h>
#include <sys/types.h>

#include "backing.h"
#include "kproto.h"
#include "ns.h"
#include "opstat.h"
#include "wake.h"

#define KVFS_VERSION "0.1.0"

/* Files at least this large, or opened for writing, use direct I/O under
 * io=auto: the arena already holds them, and a multi-GiB checkpoint must
 * not be cached twice (DESIGN.md 5). */
#define KVFS_DIRECT_MIN (1u << 20)

/* hash_defer= default, milliseconds: a published or rewritten file's
 * checksum pass waits at most this long for a moment without requests
 * (fs/hasher.c). */
#define KVFS_HASH_DEFER_MS 2000

enum kvfs_io { KVFS_IO_AUTO, KVFS_IO_DIRECT, KVFS_IO_CACHED };

/* passthrough=: the kernel serves opens from backing files where it and
 * the daemon's privileges allow (auto), never (off: io= decides), or it
 * must be possible (on: the daemon refuses to start without CAP_SYS_ADMIN). */
enum kvfs_pt { KVFS_PT_AUTO, KVFS_PT_OFF, KVFS_PT_ON };

struct kvfs_opts {
	char *state;          /* state directory (owned) */
	char *mountpoint;     /* first non-option argument, as given (owned) */
	uint64_t mem;         /* arena bytes */
	enum kvfs_io io;
	int prefault;
	int hugepages;
	unsigned threads;     /* max FUSE worker threads */
	unsigned hash_defer_ms; /* longest a checksum pass waits for quiet */
	char *ssd;            /* SSD tier directory, or NULL: memory only */
	uint64_t ssd_size;    /* 0: default (decided at open, main.c) */
	enum kvfs_write_policy write_policy;
	enum kvfs_evict_policy evict_policy;
	/* Raw strings from the command line, validated by kvfs_opts_check(). */
	char *mem_str, *io_str, *prefault_str, *hugepages_str, *threads_str;
	char *passthrough_str, *hash_defer_str;
	enum kvfs_pt passthrough;
	char *wake_here_str;
	enum kvfs_wake_mode wake_here;
	char *arena_group_str; /* obsolete (ABI 2): accepted, warned about, unused */
	char *ssd_size_str, *write_policy_str, *evict_policy_str;
};

/* Parses "64G", "512M", "1048576" (K/M/G/T are powers of 1024; a trailing
 * B or iB is accepted).  Returns 0 or -EINVAL (also for 0 and overflow). */
int kvfs_parse_size(const char *s, uint64_t *out);

/* Validates the raw strings and fills the typed fields, applying defaults.
 * `phys` is the machine's memory in bytes.  On error writes one line for the
 * user into msg (without a trailing newline) and returns -EINVAL. */
int kvfs_opts_check(struct kvfs_opts *o, uint64_t phys, char *msg, size_t msgsz);

/* Default state directory for this user (malloc'd), or NULL on ENOMEM. */
char *kvfs_default_state_dir(void);

void kvfs_opts_release(struct kvfs_opts *o);

struct kvfs {
	struct kvfs_opts opts;
	struct kvfs_mem mem;
	struct kvfs_index *index;
	struct kvfs_ssd *ssd;       /* the SSD tier, or NULL */
	struct kvfs_store store;    /* tiers, flusher, eviction */
	int store_ready;            /* store initialised (teardown) */
	int clean_exit;             /* the session ended normally */
	struct kvfs_ns ns;
	int lock_fd;           /* state/kvfs.lock, flock'ed for our lifetime */
	void *se;              /* struct fuse_session *, owned by main.c */
	struct kvfs_notify *notify; /* kernel cache invalidations (ops.c) */
	const char *mountpoint;     /* absolute; owned by main.c */
	int64_t start_ns;           /* CLOCK_REALTIME at mount (ctl.c) */
	struct kvfs_opstats opstats; /* per-request counters (optimer.c) */
	struct kvfs_kproto kproto;  /* INIT flags past libfuse's (kproto.c) */
	int dev_fd;                 /* the session's /dev/fuse fd (kconn.c) */
	struct kvfs_wake wake;      /* the kernel's wake_here, at start (wake.c) */
};

#endif
