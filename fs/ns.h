/*
 * ns.h - the daemon's namespace: inodes, names, open handles, publish state.
 *
 * This is the core the FUSE adaptor (ops.c) drives; it never includes
 * fuse_lowlevel.h, so unit tests and tools link it without FUSE.  Every
 * function returns 0 (or a size) or -errno and changes nothing on error,
 * unless it says otherwise.
 *
 * Inode identity.  A kvfs inode has three ids:
 *   - id:     the persistent inode number, st_ino and the index row's key;
 *             allocated from a counter above the largest stored id, never
 *             reused while the state directory lives.
 *   - nodeid: what the kernel calls the inode: the address of the struct
 *             kvfs_inode (FUSE_ROOT_ID for the root).  Valid while the kernel
 *             holds a lookup count on it, which is what keeps the struct alive.
 *   - name:   (parent, name), one per inode: kvfs has no hard links.
 * Types: directories, regular files and symbolic links.  A link is only its
 * target, fixed at birth (no data, no tier state, never on ns->files, never
 * evicted); FIFOs, sockets, devices and hard links are refused with EPERM.
 * An inode is freed when it has no name (nlink == 0), no kernel lookups and no
 * open handles; only then is its backing file closed.
 *
 * Publish states (DESIGN.md 3.1).  A file made by create() is UNPUBLISHED:
 * only its creating process (owner_tgid, all its threads) can look it up or
 * list it; others get ENOENT, and an attempt by another process to create the
 * same name gets EBUSY.  When the creating process closes the last handle
 * open for writing (its flush; or, failing that, the handle's release) the
 * file becomes PUBLISHED, visible to all, and its row is queued to the index.
 * The creator's flush does not publish itself: it marks the close (closed_h)
 * and the handle's release, which the kernel queues before close(2) returns,
 * publishes.  A request that meets the file hidden meanwhile settles it
 * first (kvfs_file_settle), so no process that learns of the close can miss
 * the file.
 * Directories, symbolic links and mknod'ed files are published at birth.
 *
 * Locking (the order of all the daemon's locks, and the threads that take
 * them: docs/design.md, "Lock order"):
 *   ns->lock     (rwlock) the tree: dir tables, parent/name/nlink of every
 *                inode, the publish state and owner, nwriters, and the
 *                freeing of inodes.  nlookup and nopen are atomic so that
 *                lookups, read-only opens and their releases can take the
 *                lock shared: an open count may grow under the shared lock,
 *                and may drop under it while the inode has a name (nothing
 *                can free it then); only the exclusive holder frees, and it
 *                sees every count.
 *   inode->lock  (rwlock) attributes, data (backing file), xattrs, crc, hits;
 *                taken after ns->lock, one inode's at a time.
 */
#ifndef KVFS_NS_H
#define KVFS_NS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "admit.h"
#include "backing.h"
#include "store.h"

struct kvfs_index;

#define KVFS_NAME_MAX     255
#define KVFS_XATTR_MAX    65536          /* per value, as XATTR_SIZE_MAX */
#define KVFS_XATTRS_MAX   (256u * 1024)  /* all user xattrs of one inode */
#define KVFS_BLKSIZE      (1u << 20)     /* st_blksize of a file being
					    written (unpublished): Python's
					    buffered writes go in 1 MiB */
#define KVFS_BLKSIZE_READ 4096u          /* st_blksize of a published file:
					    Python's buffered reader (and
					    stdio, below 8 KiB) fills its
					    buffer with st_blksize bytes, so a
					    52-byte header probe moves 4 KiB,
					    not 1 MiB (issue 11); reads larger
					    than the buffer bypass it */
#define KVFS_BLKSIZE_SSD  KVFS_BLKSIZE_READ /* the same for a file only the
					    SSD holds: a probe asks for its
					    head, not 1 MiB of the SSD */
#define KVFS_MAX_FILESIZE (1ull << 52)   /* far above any memory tier; EFBIG past it */
#define KVFS_LINK_MAX     4095           /* bytes of a symlink target, as
					    PATH_MAX less its NUL */

/* Who is asking: from the FUSE request (or a test). */
struct kvfs_ctx {
	uid_t uid;
	gid_t gid;
	pid_t tid;     /* the calling thread (FUSE reports thread ids) */
	pid_t tgid;    /* its process; 0 until resolved by kvfs_ctx_tgid() */
	mode_t umask;
	/* A file this request found hidden only until its creator's close
	 * is settled (closed_h set), held open for kvfs_file_settle: the
	 * namespace call settles it and tries again (ns.c). */
	struct kvfs_inode *pending;
};

/* The process of ctx->tid, read from /proc once per ctx (proc.c). */
pid_t kvfs_ctx_tgid(struct kvfs_ctx *ctx);
/* Whether ctx's thread belongs to process tgid; cheaper than comparing
 * kvfs_ctx_tgid when the answer is yes (a flush from the creator). */
int kvfs_ctx_in_process(struct kvfs_ctx *ctx, pid_t tgid);
/* 1 if process tgid has a descriptor open on st_ino `id`, 0 if not, -errno
 * if /proc cannot tell (proc.c). */
int kvfs_proc_holds(pid_t tgid, uint64_t id);
/* 1 if thread tid has gid among its supplementary groups, else 0 (also
 * when /proc cannot tell). */
int kvfs_proc_in_group(pid_t tid, gid_t gid);
/* 1 if thread tid has capability `cap` (CAP_*) in its effective set, 0 if
 * not, -ENOENT if /proc cannot tell (proc.c). */
int kvfs_proc_has_cap(pid_t tid, int cap);

struct kvfs_xattr {
	struct kvfs_xattr *next;
	char *name;
	size_t size;
	char value[];
};

struct kvfs_dir {
	struct kvfs_inode **bucket; /* chained through inode->hnext */
	size_t nbucket;             /* power of two */
	size_t count;
	uint32_t nsubdirs;          /* for st_nlink */
};

struct kvfs_inode {
	uint32_t magic;                 /* KVFS_INODE_MAGIC while alive */
	uint64_t id;                    /* constant */
	int is_dir;                     /* constant */
	int ctl;                        /* constant: KVFS_CTL_* for the control
					   directory and its files, else 0 */
	char *link;                     /* constant: a symbolic link's target
					   (S_IFLNK, size = its length); NULL
					   for every other type */

	/* Guarded by ns->lock. */
	struct kvfs_inode *parent;      /* NULL for root and unlinked inodes */
	char *name;
	struct kvfs_inode *hnext;
	uint64_t hash;                  /* of name, set by dir_insert: valid
					   while in a directory's table */
	struct kvfs_dir dir;            /* directories only */
	uint32_t nlink;                 /* 1 while named (dirs: 2 + subdirs) */
	int tmpfile;                    /* made by O_TMPFILE, not yet linked */
	atomic_uint_fast32_t nopen;     /* atomic: see the lock order above */
	uint32_t nwriters;
	int published;
	pid_t owner_tgid;               /* creator, while unpublished */
	struct kvfs_handle *closed_h;   /* the creator closed this writer; its
					   release publishes (file.c,
					   kvfs_file_flush); NULL once settled */
	int in_index;                   /* a row exists or is queued */
	int hashing;                    /* queued to the hasher (hasher.c) */
	atomic_uint_fast64_t nlookup;   /* kernel lookups; atomic, see above */

	/* Guarded by lock. */
	pthread_rwlock_t lock;
	uint32_t mode, uid, gid;
	uint64_t size;
	struct timespec atime, mtime, ctime;
	struct kvfs_data data;      /* the backing file (backing.h) */
	struct kvfs_xattr *xattrs;
	size_t xattr_bytes;
	uint32_t crc;
	int crc_valid;                  /* crc matches the data */
	/* The hasher's pass over a stale CRC, in steps (hasher.c): while
	 * hash_active, [0, hash_pos) of the hash_size bytes are hashed and
	 * [hash_pos, hash_end) is being hashed; an in-place write patches
	 * hash_delta for the part already hashed, sets hash_torn if it
	 * touches the step in progress, and counts itself in hash_patches
	 * (file.c), so the pass need not start over and the writer need not
	 * wait. */
	int hash_active, hash_torn;
	uint64_t hash_pos, hash_end, hash_size;
	uint64_t hash_patches;          /* data_gen steps the delta covers */
	uint32_t hash_delta;
	atomic_uint_fast64_t hits;            /* atomic: bumped under the read lock */
	atomic_int_fast64_t last_access_ns;   /* likewise */
	int pinned;
	char *kv_parent;
	uint64_t data_gen;              /* bumped by every data change */
	uint64_t cached_gen;            /* data_gen when last opened cached */
	uint32_t ncached;               /* open handles using the page cache */
	uint32_t npassthrough;          /* open handles bound to the backing file:
					   while > 0 every open must be, the
					   memory stays whole (file.c) */
	atomic_uint npt_writers;        /* of those, open for writing */
	uint32_t nserved;               /* open handles the daemon serves while
					   passthrough is on: while > 0 new
					   opens are served too (file.c) */
	struct timespec pt_mtime;       /* the backing file's mtime when last
					   taken in (file.c, pt_absorb) */
	int dirty;                      /* row changed since last queued */
	struct kvfs_tier t;             /* tier state (tier.h) */
	int gone;                       /* evicted with no opens: its data is
					   freed, it can never be opened again */

	/* Guarded by ns->lock: every regular file, for the store's scans. */
	struct kvfs_inode *fnext, *fprev;
};

#define KVFS_INODE_MAGIC 0x6b76696eu /* "kvin" */

/* The SSD holds a copy of exactly the present data ("current" in store.h's
 * state machine).  Caller holds ino->lock (either mode). */
static inline int kvfs_inode_stored(const struct kvfs_inode *ino)
{
	return ino->t.has_stored && ino->t.stored_gen == ino->data_gen;
}

/* Called to drop kernel caches the daemon made stale; may be NULL.
 * delete_entry: `name` left `parent` behind the kernel's back (eviction);
 * `ino` is the inode that had it.  The hooks queue and return: they may be
 * called with ns->lock held.  ctl_fill: generates the content of a control
 * file (KVFS_CTL_* kind) into a malloc'd buffer; returns its length or
 * -errno.  Called with no lock held. */
struct kvfs_ns_hooks {
	void (*inval_inode)(void *arg, struct kvfs_inode *ino, uint64_t off,
			    uint64_t len);
	void (*inval_entry)(void *arg, struct kvfs_inode *parent, const char *name);
	void (*delete_entry)(void *arg, struct kvfs_inode *parent,
			     struct kvfs_inode *ino, const char *name);
	ssize_t (*ctl_fill)(void *arg, int kind, char **buf);
	/* Registers a backing file for passthrough opens: its id (> 0), or
	 * -errno (kconn.c).  NULL: no passthrough. */
	int32_t (*bind)(void *arg, int fd);
	void *arg;
};

struct kvfs_ns_stats {
	atomic_uint_fast64_t files, dirs, published, unpublished_dropped;
	atomic_uint_fast64_t bytes_written, bytes_read, hits;
	atomic_uint_fast64_t lookup_hits, lookup_misses;  /* as the daemon sees them */
	atomic_uint_fast64_t evictions, evicted_bytes, evict_refused;
	atomic_uint_fast64_t enospc;                      /* writes refused for space */
	/* The hasher (hasher.c): files queued and not yet done, passes that
	 * set a CRC, and in-place writes patched into a running pass. */
	atomic_uint_fast64_t crc_pending, crc_passes, crc_patched_writes;
	/* Opens of regular files the kernel serves from the backing file,
	 * and those the daemon serves (file.c, "Passthrough"). */
	atomic_uint_fast64_t opens_passthrough, opens_served;
	atomic_uint_fast64_t pt_absorbed;  /* passthrough writers' changes taken in */
	/* Creators' closes whose publish waited for the release, and those
	 * a request settled by reading the creator's descriptors instead
	 * (file.c, kvfs_file_settle). */
	atomic_uint_fast64_t closes_deferred, closes_scanned;
};

struct kvfs_ns {
	pthread_rwlock_t lock;
	struct kvfs_inode *root;
	struct kvfs_mem *mem;
	struct kvfs_index *index;       /* NULL: nothing is recorded (tests) */
	struct kvfs_ns_hooks hooks;
	struct kvfs_inode *ctl;         /* the control directory, or NULL (ctl.c) */
	struct kvfs_hasher *hasher;     /* checksums off the write path, or NULL
					   (then computed inline; hasher.c) */
	atomic_uint_fast64_t busy_ns;   /* the last FUSE request's arrival
					   (kvfs_ns_busy); the hasher waits
					   for quiet */
	struct kvfs_store *store;       /* tiers and eviction, or NULL (tests):
					   then memory only, ENOSPC when full */
	struct kvfs_inode *files;       /* list of regular files (fnext) */
	atomic_uint_fast64_t next_id;
	atomic_int passthrough;         /* the kernel granted passthrough and the
					   options allow it: opens may be bound */
	struct kvfs_ns_stats stats;
	struct kvfs_admit admit;        /* writers' backpressure (admit.h) */
	/* Closes waiting for their release (closed_h set): how many, under
	 * ns->lock; settle_gen counts the settled ones, under settle_lock, and
	 * settle_cond wakes the requests waiting for them (file.c). */
	atomic_uint nclosing;
	pthread_mutex_t settle_lock;
	pthread_cond_t settle_cond;
	uint64_t settle_gen;
	uid_t root_uid;
	gid_t root_gid;
};

/* An open file or directory. */
struct kvfs_handle {
	struct kvfs_inode *ino;
	int flags;          /* open(2) flags */
	int writer;         /* counted in ino->nwriters until flushed */
	int cached;         /* uses the kernel page cache (not direct I/O) */
	int counted_hit;    /* this handle's first read was counted */
	uint64_t next_off;  /* where this handle's last read ended */
	int no_promote;     /* promotion found no room: read via the SSD */
	int no_head;        /* likewise for loading the head */
	atomic_int promote_more; /* a read of this handle started a promotion
				    that read_done finishes */
	int keep_cache;     /* cached open of unchanged data: keep kernel pages */
	int sync_publish;   /* fsync came before publish: sync when published */
	int setid_dropped;  /* its O_TRUNC open took set-id bits away and
			       queued the kernel's notice (file.c) */
	int passthrough;    /* the kernel serves this open's read, write and mmap
			       from the file's backing file (FUSE passthrough);
			       set at open, constant after; INFO reports it
			       (fastpath.c) */
	int pt_writer;      /* passthrough and open for writing: counted in
			       ino->npt_writers until released */
	int pt_counted;     /* served with passthrough on: in ino->nserved */
	/* Backpressure (admit.h): listed among the admitted writers, with
	 * the bytes its file held at the open; adm_* under ns->admit.lock. */
	int admitted;
	int adm_bound;      /* growth read from the backing file */
	uint64_t adm_base;
	struct kvfs_handle *adm_next, *adm_prev;
	char *ctl_buf;      /* control files: the content generated at open */
	size_t ctl_len;
	/* Directory snapshot (opendir), rebuilt when readdir starts at 0. */
	struct kvfs_dirent *ents;
	size_t nents;
};

struct kvfs_dirent {
	char *name;
	uint64_t id;
	uint32_t mode;
};

/* What lookup/create/mkdir return: the inode (lookup count taken) and attrs. */
struct kvfs_entry {
	struct kvfs_inode *ino;
	struct stat st;
	int published;      /* timeouts: 0 while unpublished */
};

/* Setup and teardown (main thread only). */
int kvfs_ns_init(struct kvfs_ns *ns, struct kvfs_mem *mem,
		 struct kvfs_index *index, uid_t uid, gid_t gid);
/* Rebuilds directories (and any rows present) from the index. */
int kvfs_ns_load(struct kvfs_ns *ns);
/* At a clean exit (before the index closes): marks the backing file of
 * every whole, published, checksummed file for a restart to adopt
 * (backing.h, named tiers only).  Returns how many. */
uint64_t kvfs_ns_keep_memory(struct kvfs_ns *ns);
/* Frees every inode, closing their backing files.  Queues nothing. */
void kvfs_ns_release(struct kvfs_ns *ns);

/* Tree operations (ns.c). */
int kvfs_ns_lookup(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
		   struct kvfs_inode *parent, const char *name,
		   struct kvfs_entry *out);
void kvfs_ns_forget(struct kvfs_ns *ns, struct kvfs_inode *ino, uint64_t n);
int kvfs_ns_getattr(struct kvfs_ns *ns, struct kvfs_inode *ino, struct stat *st);
int kvfs_ns_mknod(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
		  struct kvfs_inode *parent, const char *name, mode_t mode,
		  struct kvfs_entry *out);
int kvfs_ns_mkdir(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
		  struct kvfs_inode *parent, const char *name, mode_t mode,
		  struct kvfs_entry *out);
/* A symbolic link `name` in parent pointing at `target` (1 to KVFS_LINK_MAX
 * bytes, else -ENOENT / -ENAMETOOLONG), mode 0777, published at once. */
int kvfs_ns_symlink(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
		    struct kvfs_inode *parent, const char *name,
		    const char *target, struct kvfs_entry *out);
/* A symbolic link's target in *target: constant while the caller holds a
 * lookup of ino, so no copy is made.  -EINVAL for other types. */
int kvfs_ns_readlink(struct kvfs_ns *ns, struct kvfs_inode *ino,
		     const char **target);
int kvfs_ns_create(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
		   struct kvfs_inode *parent, const char *name, mode_t mode,
		   int flags, struct kvfs_entry *out, struct kvfs_handle **fh);
/* open(dir, O_TMPFILE): a file with no name (nlink 0) in parent's file
 * system, open for writing by its creator; kvfs_ns_link names it once (and
 * publishes it), else its last close frees it. */
int kvfs_ns_tmpfile(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
		    struct kvfs_inode *parent, mode_t mode, int flags,
		    struct kvfs_entry *out, struct kvfs_handle **fh);
/* linkat() of an O_TMPFILE file not yet named: names and publishes it.
 * Every other hard link is -EPERM (one name per cache entry). */
int kvfs_ns_link(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
		 struct kvfs_inode *ino, struct kvfs_inode *newparent,
		 const char *newname, struct kvfs_entry *out);
int kvfs_ns_unlink(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
		   struct kvfs_inode *parent, const char *name);
int kvfs_ns_rmdir(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
		  struct kvfs_inode *parent, const char *name);
/* flags: 0, RENAME_NOREPLACE or RENAME_EXCHANGE; others -EINVAL. */
int kvfs_ns_rename(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
		   struct kvfs_inode *parent, const char *name,
		   struct kvfs_inode *newparent, const char *newname,
		   unsigned int flags);
int kvfs_ns_opendir(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
		    struct kvfs_inode *ino, struct kvfs_handle **fh);
/* Refreshes the handle's snapshot of the directory (visible names only). */
int kvfs_ns_readdir_snapshot(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
			     struct kvfs_handle *h);
/* For readdirplus: looks `name` up again in the handle's directory; on a
 * match with `id` takes a lookup count and fills out.  -ENOENT if gone. */
int kvfs_ns_readdir_entry(struct kvfs_ns *ns, struct kvfs_handle *h,
			  const struct kvfs_dirent *d, struct kvfs_entry *out);
void kvfs_ns_releasedir(struct kvfs_ns *ns, struct kvfs_handle *h);

/*
 * Eviction (DESIGN.md 3.6): takes the name away from a published, unpinned
 * regular file behind the kernel's back, as unlink does (open handles keep
 * working until their last close), drops its index row and asks the kernel
 * to forget the name (hooks.delete_entry).  -EBUSY for a pinned or
 * unpublished file, -EISDIR for a directory, -EPERM for control files,
 * -ENOENT if it has no name any more.
 */
int kvfs_ns_evict(struct kvfs_ns *ns, struct kvfs_inode *ino);
/* The same with ns->lock held for writing (the store's eviction).  An
 * evicted file with no open handle loses its data at once (ino->gone). */
int kvfs_ns_evict_locked(struct kvfs_ns *ns, struct kvfs_inode *ino);

/* Writes "/dir/name" of ino into buf (or "(inode N)" when it has no name
 * or ns->lock is busy).  Safe with ino->lock held: it only tries ns->lock. */
void kvfs_ns_path(struct kvfs_ns *ns, struct kvfs_inode *ino, char *buf,
		  size_t n);

/*
 * The control directory KVFS_CTL_NAME at the root (ctl.c fills its files):
 * a lookup of the name in the root finds it, readdir of the root does not
 * list it, and nothing in it can be created, removed, renamed or written.
 * Its inodes are never freed before kvfs_ns_release().  Main thread, after
 * kvfs_ns_load().  Returns 0 or -ENOMEM.
 */
#define KVFS_CTL_NAME ".kvfs"
#define KVFS_CTL_DIR  1                 /* ino->ctl of the directory itself */
#define KVFS_CTL_INO  0x7fffffffffff0000ull /* st_ino of the directory; its
					       files follow: never stored */
int kvfs_ns_ctl_mkdir(struct kvfs_ns *ns);
int kvfs_ns_ctl_mkfile(struct kvfs_ns *ns, const char *name, int kind);

struct kvfs_statfs {
	uint64_t bytes_total, bytes_free, files;
};
void kvfs_ns_statfs(struct kvfs_ns *ns, struct kvfs_statfs *out);

/* File operations (file.c). */
int kvfs_file_open(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
		   struct kvfs_inode *ino, int flags, int cached,
		   struct kvfs_handle **fh);
/* Copies [off, off+size) clamped to EOF into a buffer *iov (one iovec)
 * describes;
 * the inode's read lock stays held until kvfs_file_read_done() so the buffer
 * stays the thread's while the kernel copies it.  A file the
 * memory does not hold whole (store.h) is promoted first when read
 * sequentially, else served from the SSD through a buffer (*bounce). */
ssize_t kvfs_file_read_begin(struct kvfs_ns *ns, struct kvfs_handle *h,
			     uint64_t off, size_t size, struct iovec *iov,
			     int *niov, void **bounce);
/* bounce: what read_begin returned in *bounce (bytes read from the SSD
 * into a buffer of the read's own, freed here; NULL for memory, read into
 * the thread's buffer). */
/* Binds a new handle to its file's backing file where the kernel may
 * serve it (file.c, "Passthrough"): sets h->passthrough.  Caller holds no
 * lock. */
void kvfs_file_bind(struct kvfs_ns *ns, struct kvfs_handle *h);
/* Takes the size passthrough writers gave the backing file in (getattr of
 * a file open for writing through the kernel).  Cheap when none is. */
void kvfs_file_pt_refresh(struct kvfs_ns *ns, struct kvfs_inode *ino);
void kvfs_file_read_done(struct kvfs_ns *ns, struct kvfs_handle *h,
			 void *bounce);
ssize_t kvfs_file_write(struct kvfs_ns *ns, struct kvfs_handle *h,
			const void *buf, size_t size, uint64_t off);
int kvfs_file_flush(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
		    struct kvfs_handle *h);
void kvfs_file_release(struct kvfs_ns *ns, struct kvfs_handle *h);
/* Settles the close of ino that a request found pending (ctx->pending):
 * waits for the release briefly, else reads the creator's descriptors, and
 * drops the hold.  Caller holds no lock. */
void kvfs_file_settle(struct kvfs_ns *ns, struct kvfs_inode *ino);
/* Waits (briefly, as kvfs_file_settle) until no close waits for its
 * release: the stats a client reads after its close count that close.
 * Caller holds no lock. */
void kvfs_file_settle_all(struct kvfs_ns *ns);
int kvfs_file_fsync(struct kvfs_ns *ns, struct kvfs_handle *h, int datasync);
int64_t kvfs_file_lseek(struct kvfs_ns *ns, struct kvfs_handle *h,
			int64_t off, int whence);
int kvfs_file_fallocate(struct kvfs_ns *ns, struct kvfs_handle *h, int mode,
			uint64_t off, uint64_t len);

/* setattr: which fields, as FUSE_SET_ATTR_* (mirrored here without FUSE). */
#define KVFS_SET_MODE      (1 << 0)
#define KVFS_SET_UID       (1 << 1)
#define KVFS_SET_GID       (1 << 2)
#define KVFS_SET_SIZE      (1 << 3)
#define KVFS_SET_ATIME     (1 << 4)
#define KVFS_SET_MTIME     (1 << 5)
#define KVFS_SET_ATIME_NOW (1 << 7)
#define KVFS_SET_MTIME_NOW (1 << 8)
#define KVFS_SET_CTIME     (1 << 10)
#define KVFS_SET_KILL_SUIDGID (1 << 11) /* the kernel asks: drop set-id bits */
int kvfs_file_setattr(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
		      struct kvfs_inode *ino, const struct stat *attr, int to_set,
		      struct stat *out);
/*
 * A write by ctx to ino is about to change its data: take S_ISUID away, and
 * S_ISGID where the file is group-executable or ctx is not in its group
 * (Linux's rule for a caller without CAP_FSETID; a caller with it keeps
 * both).  ctime moves and the row is recorded at the writer's close.  The
 * kernel leaves this to kvfs (libfuse asks for FUSE_HANDLE_KILLPRIV).
 * Returns 1 if the mode changed (the kernel's cached attributes were then
 * queued for invalidation through hooks.inval_inode), else 0.  Cheap
 * unless the mode has a set-id bit: then /proc is read once.
 */
int kvfs_file_write_setid(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
			  struct kvfs_inode *ino);

/* Extended attributes (xattr.c).  get/list follow getxattr(2): size 0 asks
 * for the length; a short buffer is -ERANGE. */
int kvfs_xattr_set(struct kvfs_ns *ns, struct kvfs_inode *ino, const char *name,
		   const void *value, size_t size, int flags);
ssize_t kvfs_xattr_get(struct kvfs_ns *ns, struct kvfs_inode *ino,
		       const char *name, void *buf, size_t size);
ssize_t kvfs_xattr_list(struct kvfs_ns *ns, struct kvfs_inode *ino, char *buf,
			size_t size);
int kvfs_xattr_remove(struct kvfs_ns *ns, struct kvfs_inode *ino,
		      const char *name);
/* Adds a stored xattr while loading from the index (no queueing). */
int kvfs_xattr_load(struct kvfs_inode *ino, const char *name,
		    const void *value, size_t size);
void kvfs_xattr_free_all(struct kvfs_inode *ino);

/* Internals shared by ns.c, file.c and xattr.c. */
void kvfs_inode_stat(const struct kvfs_inode *ino, struct stat *st);
/* Queues the inode's row (and, with xattrs, all its xattrs) to the index.
 * Caller holds ns->lock (any mode) and ino->lock (any mode). */
void kvfs_ns_record(struct kvfs_ns *ns, struct kvfs_inode *ino, int xattrs);
void kvfs_now(struct timespec *ts);
/* Drops one open count and frees the inode if that was its last reference.
 * Caller holds ns->lock for writing. */
void kvfs_ns_put_open(struct kvfs_ns *ns, struct kvfs_inode *ino);
/* A FUSE request arrived at `now` (kvfs_mono_ns): the hasher's passes
 * wait for a quiet moment (hasher.c).  Any thread.  The stamp moves in
 * steps of a millisecond or more, so that most requests only read its
 * cache line (shared with the fields every handler reads) and the quiet
 * time (20 ms) is measured to within one step. */
static inline void kvfs_ns_busy(struct kvfs_ns *ns, uint64_t now)
{
	if (now - atomic_load_explicit(&ns->busy_ns, memory_order_relaxed) >= 1000000u)
		atomic_store_explicit(&ns->busy_ns, now, memory_order_relaxed);
}

/* The checksum thread (hasher.c); a job waits for a quiet moment at most
 * defer_ns (hash_defer=; 0: not at all).  queue: caller holds ns->lock for
 * writing; returns 0, or -ENODEV/-ENOMEM (then compute inline). */
struct kvfs_hasher;
int kvfs_hasher_start(struct kvfs_ns *ns, uint64_t defer_ns);
void kvfs_hasher_stop(struct kvfs_ns *ns);
int kvfs_hasher_queue(struct kvfs_ns *ns, struct kvfs_inode *ino);
/* A queued file lost its name: the hasher lets go of its job (and of the
 * open reference that holds its memory) now, not at its turn.  Caller
 * holds ns->lock for writing. */
void kvfs_hasher_kick(struct kvfs_ns *ns);

/* Opens of ino other than the hasher's queue's reference (hasher.c): that
 * one only keeps the inode alive, and pins neither the file nor its
 * memory.  Caller holds ns->lock. */
static inline uint32_t kvfs_inode_users(const struct kvfs_inode *ino)
{
	return (uint32_t)ino->nopen - (ino->hashing ? 1u : 0u);
}

/* Takes ino->lock for writing with the whole file in memory, promoting it
 * from the SSD first if needed (file.c).  No lock held on entry.  Returns 0
 * (locked) or -errno (not locked). */
int kvfs_file_lock_resident(struct kvfs_ns *ns, struct kvfs_inode *ino);

/* Recomputes a stale CRC; caller holds ino->lock for writing. */
void kvfs_file_crc_refresh(struct kvfs_ns *ns, struct kvfs_inode *ino);
int kvfs_inode_check(const struct kvfs_inode *ino);

#endif
