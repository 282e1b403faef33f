/*
 * ops.c - the FUSE adaptor: the low-level operations table.
 *
 * Each handler translates the request (nodeids, the caller's identity) into
 * a call of the core (ns.c, file.c, xattr.c), which returns 0 or -errno, and
 * then replies exactly once.  No state of its own; everything hangs off
 * struct kvfs (fuse_req_userdata).  Handlers are entered with no lock held;
 * create takes the new inode's lock itself (docs/design.md, "Lock order").
 *
 * Timeouts: attributes and published names are cached by the kernel for
 * KVFS_TIMEOUT seconds, since every change to them goes through this kernel
 * (or is invalidated through notify.c); unpublished names get 0 so other
 * processes keep asking (and keep missing).  An unpublished file's
 * attributes are its creator's alone, and caching them spares a GETATTR at
 * every open of a new file (the kernel checks the mode it opens with).
 * Misses of names that do not exist are cached as negative entries.
 * Kernel-cache invalidations go through notify.c.
 */
#define FUSE_USE_VERSION 312

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <time.h>

#include "fastpath.h"
#include "index.h"
#include "kvfs.h"
#include "log.h"
#include "ops.h"

#define KVFS_TIMEOUT 3600.0

static struct kvfs *kv_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static struct kvfs_inode *ino_of(fuse_req_t req, fuse_ino_t n)
{
	struct kvfs_inode *ino;

	if (n == FUSE_ROOT_ID)
		return kv_of(req)->ns.root;
	ino = (struct kvfs_inode *)(uintptr_t)n;
	KVFS_ASSERT(ino->magic == KVFS_INODE_MAGIC);
	return ino;
}

fuse_ino_t kvfs_nodeid(struct kvfs *kv, struct kvfs_inode *ino)
{
	return ino == kv->ns.root ? FUSE_ROOT_ID : (fuse_ino_t)(uintptr_t)ino;
}

static struct kvfs_handle *fh_of(struct fuse_file_info *fi)
{
	return (struct kvfs_handle *)(uintptr_t)fi->fh;
}

static struct kvfs_ctx ctx_of(fuse_req_t req)
{
	const struct fuse_ctx *c = fuse_req_ctx(req);
	struct kvfs_ctx ctx = {
		.uid = c->uid, .gid = c->gid, .tid = c->pid, .umask = c->umask,
	};

	return ctx;
}

static void entry_param(struct kvfs *kv, const struct kvfs_entry *e,
			struct fuse_entry_param *p)
{
	memset(p, 0, sizeof(*p));
	p->ino = kvfs_nodeid(kv, e->ino);
	p->generation = 1;
	p->attr = e->st;
	p->attr_timeout = KVFS_TIMEOUT;
	p->entry_timeout = e->published ? KVFS_TIMEOUT : 0.0;
}

static void reply_entry(fuse_req_t req, int r, const struct kvfs_entry *e)
{
	struct fuse_entry_param p;

	if (r) {
		fuse_reply_err(req, -r);
		return;
	}
	entry_param(kv_of(req), e, &p);
	if (fuse_reply_entry(req, &p) == -ENOENT) {
		/* The request was interrupted: the kernel will not count this
		 * lookup, so neither may we. */
		kvfs_ns_forget(&kv_of(req)->ns, e->ino, 1);
	}
}

/* ---- operations ---- */

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	/* 1 MiB requests: the biggest lever on FUSE throughput (DESIGN.md 5). */
	conn->max_write = 1u << 20;
	conn->max_readahead = 1u << 20;
	conn->max_background = 64;
	conn->congestion_threshold = 48;
	conn->want |= FUSE_CAP_ATOMIC_O_TRUNC & conn->capable;
	conn->want |= FUSE_CAP_ASYNC_DIO & conn->capable;
	conn->want |= FUSE_CAP_READDIRPLUS & conn->capable;
	conn->want |= FUSE_CAP_READDIRPLUS_AUTO & conn->capable;
	conn->want |= FUSE_CAP_PARALLEL_DIROPS & conn->capable;
	/* A symlink's target never changes (ns.h): let the kernel keep it. */
	conn->want |= FUSE_CAP_CACHE_SYMLINKS & conn->capable;
	/* The writeback cache would hold a new file's bytes in the kernel past
	 * close and break publish-on-close; splice measured no gain. */
	conn->want &= ~(FUSE_CAP_WRITEBACK_CACHE | FUSE_CAP_SPLICE_READ |
			FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE);
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct kvfs *kv = kv_of(req);
	struct kvfs_ctx ctx = ctx_of(req);
	struct kvfs_entry e;
	int r = kvfs_ns_lookup(&kv->ns, &ctx, ino_of(req, parent), name, &e);

	if (r == -ENOENT && e.published) {
		struct fuse_entry_param p = { .ino = 0, .entry_timeout = KVFS_TIMEOUT };

		fuse_reply_entry(req, &p); /* a cached negative entry */
		return;
	}
	reply_entry(req, r, &e);
}

/* The root's lookup count is implicit and never reaches 0: a forget of it
 * (sent at unmount by some kernels) changes nothing. */
static void forget_one(fuse_req_t req, fuse_ino_t n, uint64_t nlookup)
{
	if (n != FUSE_ROOT_ID)
		kvfs_ns_forget(&kv_of(req)->ns, ino_of(req, n), nlookup);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	forget_one(req, ino, nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		forget_one(req, forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t n, struct fuse_file_info *fi)
{
	struct kvfs_inode *ino = ino_of(req, n);
	struct stat st;

	(void)fi;
	kvfs_ns_getattr(&kv_of(req)->ns, ino, &st);
	fuse_reply_attr(req, &st, KVFS_TIMEOUT);
}

static int set_flags(int to_set)
{
	static const struct { int fuse, kvfs; } map[] = {
		{ FUSE_SET_ATTR_MODE, KVFS_SET_MODE },
		{ FUSE_SET_ATTR_UID, KVFS_SET_UID },
		{ FUSE_SET_ATTR_GID, KVFS_SET_GID },
		{ FUSE_SET_ATTR_SIZE, KVFS_SET_SIZE },
		{ FUSE_SET_ATTR_ATIME, KVFS_SET_ATIME },
		{ FUSE_SET_ATTR_MTIME, KVFS_SET_MTIME },
		{ FUSE_SET_ATTR_ATIME_NOW, KVFS_SET_ATIME_NOW },
		{ FUSE_SET_ATTR_MTIME_NOW, KVFS_SET_MTIME_NOW },
		{ FUSE_SET_ATTR_CTIME, KVFS_SET_CTIME },
		{ FUSE_SET_ATTR_KILL_SUID, KVFS_SET_KILL_SUIDGID },
		{ FUSE_SET_ATTR_KILL_SGID, KVFS_SET_KILL_SUIDGID },
	};
	int out = 0;

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (to_set & map[i].fuse)
			out |= map[i].kvfs;
	return out;
}

static void op_setattr(fuse_req_t req, fuse_ino_t n, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	struct kvfs_inode *ino = ino_of(req, n);
	struct kvfs_ctx ctx = ctx_of(req);
	struct stat st;
	int r;

	(void)fi;
	r = kvfs_file_setattr(&kv_of(req)->ns, &ctx, ino, attr, set_flags(to_set), &st);
	if (r)
		fuse_reply_err(req, -r);
	else
		fuse_reply_attr(req, &st, KVFS_TIMEOUT);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	struct kvfs_ctx ctx = ctx_of(req);
	struct kvfs_entry e;
	int r;

	(void)rdev;
	r = kvfs_ns_mknod(&kv_of(req)->ns, &ctx, ino_of(req, parent), name, mode, &e);
	reply_entry(req, r, &e);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	struct kvfs_ctx ctx = ctx_of(req);
	struct kvfs_entry e;
	int r = kvfs_ns_mkdir(&kv_of(req)->ns, &ctx, ino_of(req, parent), name, mode, &e);

	reply_entry(req, r, &e);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct kvfs_ctx ctx = ctx_of(req);

	fuse_reply_err(req, -kvfs_ns_unlink(&kv_of(req)->ns, &ctx,
					    ino_of(req, parent), name));
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct kvfs_ctx ctx = ctx_of(req);

	fuse_reply_err(req, -kvfs_ns_rmdir(&kv_of(req)->ns, &ctx,
					   ino_of(req, parent), name));
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	struct kvfs_ctx ctx = ctx_of(req);

	fuse_reply_err(req, -kvfs_ns_rename(&kv_of(req)->ns, &ctx,
					    ino_of(req, parent), name,
					    ino_of(req, newparent), newname, flags));
}

/* Only an O_TMPFILE file's first name (kvfs_ns_link): one name per cache
 * entry, no other hard links. */
static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		    const char *newname)
{
	struct kvfs_ctx ctx = ctx_of(req);
	struct kvfs_entry e;
	int r = kvfs_ns_link(&kv_of(req)->ns, &ctx, ino_of(req, ino),
			     ino_of(req, newparent), newname, &e);

	reply_entry(req, r, &e);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name)
{
	struct kvfs_ctx ctx = ctx_of(req);
	struct kvfs_entry e;
	int r = kvfs_ns_symlink(&kv_of(req)->ns, &ctx, ino_of(req, parent), name,
				link, &e);

	reply_entry(req, r, &e);
}

static void op_readlink(fuse_req_t req, fuse_ino_t n)
{
	const char *target;
	int r = kvfs_ns_readlink(&kv_of(req)->ns, ino_of(req, n), &target);

	if (r)
		fuse_reply_err(req, -r);
	else
		fuse_reply_readlink(req, target);
}

/* Page cache or direct I/O for this open (see KVFS_DIRECT_MIN). */
static int use_cache(struct kvfs *kv, struct kvfs_inode *ino, int flags)
{
	/* With passthrough, an open the kernel caches would make every
	 * passthrough open of the inode fail (EIO) while it lasts. */
	if ((flags & O_DIRECT) || atomic_load(&kv->ns.passthrough))
		return 0;
	switch (kv->opts.io) {
	case KVFS_IO_DIRECT:
		return 0;
	case KVFS_IO_CACHED:
		return 1;
	default:
		return (flags & O_ACCMODE) == O_RDONLY && ino->size < KVFS_DIRECT_MIN;
	}
}

static void open_reply(struct fuse_file_info *fi,
		       struct kvfs_handle *h)
{
	fi->fh = (uintptr_t)h;
	fi->direct_io = !h->cached;
	fi->keep_cache = h->keep_cache;
	/* A read-only handle's flush does nothing (file.c): spare the kernel
	 * the round trip at every close, a quarter of a header scan's cost. */
	fi->noflush = !h->writer;
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	struct kvfs *kv = kv_of(req);
	struct kvfs_ctx ctx = ctx_of(req);
	struct fuse_entry_param p;
	struct kvfs_handle *h;
	struct kvfs_entry e;
	int r;

	/* kproto turns FUSE_TMPFILE into a CREATE of a name no entry can have. */
	if (strcmp(name, KVFS_TMPFILE_NAME) == 0)
		r = kvfs_ns_tmpfile(&kv->ns, &ctx, ino_of(req, parent), mode,
				    fi->flags, &e, &h);
	else
		r = kvfs_ns_create(&kv->ns, &ctx, ino_of(req, parent), name, mode,
				   fi->flags, &e, &h);
	if (r) {
		fuse_reply_err(req, -r);
		return;
	}
	h->cached = kv->opts.io == KVFS_IO_CACHED && !(fi->flags & O_DIRECT) &&
		    !h->passthrough && !atomic_load(&kv->ns.passthrough);
	if (h->cached) {
		pthread_rwlock_wrlock(&e.ino->lock);
		e.ino->ncached++;
		e.ino->cached_gen = e.ino->data_gen + 1;
		pthread_rwlock_unlock(&e.ino->lock);
	}
	open_reply(fi, h);
	entry_param(kv, &e, &p);
	if (fuse_reply_create(req, &p, fi) == -ENOENT) {
		kvfs_file_release(&kv->ns, h);
		kvfs_ns_forget(&kv->ns, e.ino, 1);
	}
}

static void op_open(fuse_req_t req, fuse_ino_t n, struct fuse_file_info *fi)
{
	struct kvfs *kv = kv_of(req);
	struct kvfs_inode *ino = ino_of(req, n);
	struct kvfs_ctx ctx = ctx_of(req);
	struct kvfs_handle *h;
	int r;

	r = kvfs_file_open(&kv->ns, &ctx, ino, fi->flags,
			   use_cache(kv, ino, fi->flags), &h);
	if (r) {
		fuse_reply_err(req, -r);
		return;
	}
	open_reply(fi, h);
	/* The O_TRUNC open took set-id bits away (file.c): the kernel
	 * forgets the old mode before the caller can stat. */
	if (h->setid_dropped)
		kvfs_notify_flush(kv);
	if (fuse_reply_open(req, fi) == -ENOENT)
		kvfs_file_release(&kv->ns, h);
}

static void op_read(fuse_req_t req, fuse_ino_t n, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct kvfs *kv = kv_of(req);
	struct kvfs_handle *h = fh_of(fi);
	struct iovec iov[1];
	int niov;
	void *bounce;
	ssize_t r;

	(void)n;
	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	r = kvfs_file_read_begin(&kv->ns, h, (uint64_t)off, size, iov, &niov, &bounce);
	if (r < 0) {
		fuse_reply_err(req, (int)-r);
	} else {
		if (niov)
			fuse_reply_iov(req, iov, niov);
		else
			fuse_reply_buf(req, NULL, 0);
		kvfs_file_read_done(&kv->ns, h, bounce);
	}
}

static void op_write(fuse_req_t req, fuse_ino_t n, const char *buf, size_t size,
		     off_t off, struct fuse_file_info *fi)
{
	ssize_t r;

	(void)n;
	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	/* A write from the page cache's writeback has no caller to judge. */
	if (!fi->writepage) {
		struct kvfs_ctx ctx = ctx_of(req);

		if (kvfs_file_write_setid(&kv_of(req)->ns, &ctx, fh_of(fi)->ino))
			kvfs_notify_flush(kv_of(req)); /* stat after sees it */
	}
	r = kvfs_file_write(&kv_of(req)->ns, fh_of(fi), buf, size, (uint64_t)off);
	if (r < 0)
		fuse_reply_err(req, (int)-r);
	else
		fuse_reply_write(req, (size_t)r);
}

static void op_flush(fuse_req_t req, fuse_ino_t n, struct fuse_file_info *fi)
{
	struct kvfs_ctx ctx = ctx_of(req);

	(void)n;
	fuse_reply_err(req, -kvfs_file_flush(&kv_of(req)->ns, &ctx, fh_of(fi)));
}

static void op_release(fuse_req_t req, fuse_ino_t n, struct fuse_file_info *fi)
{
	(void)n;
	kvfs_file_release(&kv_of(req)->ns, fh_of(fi));
	fuse_reply_err(req, 0);
}

static void op_fsync(fuse_req_t req, fuse_ino_t n, int datasync,
		     struct fuse_file_info *fi)
{
	(void)n;
	fuse_reply_err(req, -kvfs_file_fsync(&kv_of(req)->ns, fh_of(fi), datasync));
}

static void op_opendir(fuse_req_t req, fuse_ino_t n, struct fuse_file_info *fi)
{
	struct kvfs_ctx ctx = ctx_of(req);
	struct kvfs_handle *h;
	int r = kvfs_ns_opendir(&kv_of(req)->ns, &ctx, ino_of(req, n), &h);

	if (r) {
		fuse_reply_err(req, -r);
		return;
	}
	fi->fh = (uintptr_t)h;
	fi->cache_readdir = 0;
	if (fuse_reply_open(req, fi) == -ENOENT)
		kvfs_ns_releasedir(&kv_of(req)->ns, h);
}

/* Adds one entry; returns its size, or 0 if it did not fit (then, for plus,
 * the lookup count it took is given back). */
static size_t add_entry(fuse_req_t req, struct kvfs_handle *h, char *buf,
			size_t room, const struct kvfs_dirent *d, off_t next, int plus)
{
	struct kvfs *kv = kv_of(req);
	struct fuse_entry_param p = { 0 };
	struct kvfs_entry e;
	size_t len;
	int dot = d->name[0] == '.' && (!d->name[1] || (d->name[1] == '.' && !d->name[2]));

	if (!plus) {
		struct stat st = { .st_ino = d->id, .st_mode = d->mode };

		len = fuse_add_direntry(req, buf, room, d->name, &st, next);
		return len <= room ? len : 0;
	}
	if (dot) {
		p.attr.st_ino = d->id;
		p.attr.st_mode = d->mode; /* ino 0: the kernel skips . and .. */
	} else if (kvfs_ns_readdir_entry(&kv->ns, h, d, &e) == 0) {
		entry_param(kv, &e, &p);
	} else {
		return SIZE_MAX; /* gone since the snapshot: skip it */
	}
	len = fuse_add_direntry_plus(req, buf, room, d->name, &p, next);
	if (len > room) {
		if (p.ino)
			kvfs_ns_forget(&kv->ns, e.ino, 1);
		return 0;
	}
	return len;
}

static void do_readdir(fuse_req_t req, fuse_ino_t n, size_t size, off_t off,
		       struct fuse_file_info *fi, int plus)
{
	struct kvfs *kv = kv_of(req);
	struct kvfs_handle *h = fh_of(fi);
	struct kvfs_ctx ctx = ctx_of(req);
	size_t used = 0, len;
	char *buf;
	int r = 0;

	(void)n;
	if (off == 0 || !h->ents)
		r = kvfs_ns_readdir_snapshot(&kv->ns, &ctx, h);
	buf = r ? NULL : malloc(size);
	if (r || !buf) {
		fuse_reply_err(req, r ? -r : ENOMEM);
		return;
	}
	/* The offset of an entry is its index in the snapshot plus one. */
	for (size_t i = (size_t)off; i < h->nents; i++) {
		len = add_entry(req, h, buf + used, size - used, &h->ents[i],
				(off_t)i + 1, plus);
		if (len == 0)
			break;
		if (len != SIZE_MAX)
			used += len;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void op_readdir(fuse_req_t req, fuse_ino_t n, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	do_readdir(req, n, size, off, fi, 0);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t n, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	do_readdir(req, n, size, off, fi, 1);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t n, struct fuse_file_info *fi)
{
	(void)n;
	kvfs_ns_releasedir(&kv_of(req)->ns, fh_of(fi));
	fuse_reply_err(req, 0);
}

static void op_fsyncdir(fuse_req_t req, fuse_ino_t n, int datasync,
			struct fuse_file_info *fi)
{
	struct kvfs *kv = kv_of(req);

	(void)n; (void)datasync; (void)fi;
	fuse_reply_err(req, kv->index ? -kvfs_index_sync(kv->index, 1) : 0);
}

/* statfs's block: the page, the unit both tiers count in. */
#define KVFS_STATFS_BLOCK 4096u

static void op_statfs(fuse_req_t req, fuse_ino_t n)
{
	struct kvfs_statfs s;
	struct statvfs v = { 0 };

	(void)n;
	kvfs_ns_statfs(&kv_of(req)->ns, &s);
	v.f_bsize = KVFS_STATFS_BLOCK;
	v.f_frsize = KVFS_STATFS_BLOCK;
	v.f_blocks = s.bytes_total / KVFS_STATFS_BLOCK;
	v.f_bfree = s.bytes_free / KVFS_STATFS_BLOCK;
	v.f_bavail = v.f_bfree;
	/* Inodes are not a bounded resource here; report room for one per free
	 * unit so df -i shows something meaningful. */
	v.f_files = s.files + v.f_bfree;
	v.f_ffree = v.f_bfree;
	v.f_favail = v.f_bfree;
	v.f_namemax = KVFS_NAME_MAX;
	fuse_reply_statfs(req, &v);
}

static void op_setxattr(fuse_req_t req, fuse_ino_t n, const char *name,
			const char *value, size_t size, int flags)
{
	struct kvfs *kv = kv_of(req);
	int r;

	if (strncmp(name, "user.", 5) != 0) {
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	r = kvfs_xattr_set(&kv->ns, ino_of(req, n), name, value, size, flags);
	/* An eviction: the evicting process must find the name gone. */
	if (r == 0 && strcmp(name, "user.kvfs.evict") == 0)
		kvfs_notify_flush(kv);
	fuse_reply_err(req, -r);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t n, const char *name,
			size_t size)
{
	char *buf = NULL;
	ssize_t r;

	/* Not ours (security.capability comes with every write): answer
	 * before taking any lock. */
	if (strncmp(name, "user.", 5) != 0) {
		fuse_reply_err(req, ENODATA);
		return;
	}
	if (size && !(buf = malloc(size))) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	r = kvfs_xattr_get(&kv_of(req)->ns, ino_of(req, n), name, buf, size);
	if (r < 0)
		fuse_reply_err(req, (int)-r);
	else if (size == 0)
		fuse_reply_xattr(req, (size_t)r);
	else
		fuse_reply_buf(req, buf, (size_t)r);
	free(buf);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t n, size_t size)
{
	char *buf = NULL;
	ssize_t r;

	if (size && !(buf = malloc(size))) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	r = kvfs_xattr_list(&kv_of(req)->ns, ino_of(req, n), buf, size);
	if (r < 0)
		fuse_reply_err(req, (int)-r);
	else if (size == 0)
		fuse_reply_xattr(req, (size_t)r);
	else
		fuse_reply_buf(req, buf, (size_t)r);
	free(buf);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t n, const char *name)
{
	fuse_reply_err(req, -kvfs_xattr_remove(&kv_of(req)->ns, ino_of(req, n), name));
}

static void op_lseek(fuse_req_t req, fuse_ino_t n, off_t off, int whence,
		     struct fuse_file_info *fi)
{
	int64_t r;

	(void)n;
	r = kvfs_file_lseek(&kv_of(req)->ns, fh_of(fi), off, whence);
	if (r < 0)
		fuse_reply_err(req, (int)-r);
	else
		fuse_reply_lseek(req, r);
}

static void op_fallocate(fuse_req_t req, fuse_ino_t n, int mode, off_t off,
			 off_t len, struct fuse_file_info *fi)
{
	(void)n;
	if (off < 0 || len <= 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	fuse_reply_err(req, -kvfs_file_fallocate(&kv_of(req)->ns, fh_of(fi), mode,
						 (uint64_t)off, (uint64_t)len));
}

/* libkvfs-gpu's INFO ioctl (kvfs_abi.h, fastpath.c).  The kernel has
 * copied in_bufsz argument bytes in; the reply is copied back to the
 * caller's struct.  Unrestricted ioctls (retries) are never ours. */
static void op_ioctl(fuse_req_t req, fuse_ino_t n, unsigned int cmd, void *arg,
		     struct fuse_file_info *fi, unsigned flags, const void *in_buf,
		     size_t in_bufsz, size_t out_bufsz)
{
	_Alignas(8) char out[sizeof(struct kvfs_ioc_info)];
	ssize_t r;

	(void)n; (void)arg;
	if (flags & FUSE_IOCTL_UNRESTRICTED) {
		fuse_reply_err(req, ENOTTY);
		return;
	}
	r = kvfs_fastpath_ioctl(&kv_of(req)->ns, fh_of(fi), cmd, in_buf, in_bufsz,
				out, out_bufsz < sizeof(out) ? out_bufsz : sizeof(out));
	if (r < 0)
		fuse_reply_err(req, (int)-r);
	else
		fuse_reply_ioctl(req, 0, out, (size_t)r);
}

const struct fuse_lowlevel_ops kvfs_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_rmdir,
	.rename = op_rename,
	.link = op_link,
	.symlink = op_symlink,
	.readlink = op_readlink,
	.create = op_create,
	.open = op_open,
	.read = op_read,
	.write = op_write,
	.flush = op_flush,
	.release = op_release,
	.fsync = op_fsync,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.releasedir = op_releasedir,
	.fsyncdir = op_fsyncdir,
	.statfs = op_statfs,
	.setxattr = op_setxattr,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.removexattr = op_removexattr,
	.lseek = op_lseek,
	.fallocate = op_fallocate,
	.ioctl = op_ioctl,
};
