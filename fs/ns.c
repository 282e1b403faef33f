/*
 * ns.c - the namespace tree: directories, names, lookups, publish visibility,
 * rename and unlink, and the lifetime of inodes.
 *
 * Owns every struct kvfs_inode, the per-directory hash tables of names, and
 * symbolic links (an inode whose only content is its target, ino->link).
 * Called from FUSE worker threads (through ops.c) and from main() at start and
 * exit.  ns->lock guards the tree (ns.h; the lock order: docs/design.md,
 * "Lock order"); every
 * function here takes it itself, so callers hold nothing.
 *
 * What this file does not do: file data and attributes (file.c), extended
 * attributes (xattr.c), and anything that talks to the kernel (ops.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "index.h"
#include "log.h"
#include "ns.h"
#include "ssd.h"

#define DIR_MIN_BUCKETS 16

void kvfs_now(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

static int64_t ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

static struct timespec ns_ts(int64_t ns)
{
	struct timespec ts = { ns / 1000000000, ns % 1000000000 };

	if (ts.tv_nsec < 0) {
		ts.tv_nsec += 1000000000;
		ts.tv_sec--;
	}
	return ts;
}

int kvfs_inode_check(const struct kvfs_inode *ino)
{
	if (ino->magic != KVFS_INODE_MAGIC)
		return -EUCLEAN;
	if (ino->is_dir != !!S_ISDIR(ino->mode))
		return -EUCLEAN;
	if (ino->nwriters > ino->nopen)
		return -EUCLEAN;
	if (!ino->is_dir && kvfs_data_check(&ino->data, ino->size) != 0)
		return -EUCLEAN;
	if (!!S_ISLNK(ino->mode) != !!ino->link ||
	    (ino->link && (ino->size != strlen(ino->link) || ino->data.bytes)))
		return -EUCLEAN;
	if (!ino->is_dir && kvfs_tier_check(ino) != 0)
		return -EUCLEAN;
	return 0;
}

/* ---- directory tables: chained hash of names, guarded by ns->lock ---- */

/*
 * Eight bytes per step, then splitmix64's finalizer (the table uses the low
 * bits; 1,000,000 names fill 1 Mi buckets as evenly as random).  On a
 * 44-byte ds4 name: 11 ns, against 53 ns for the byte-at-a-time FNV-1a it
 * replaced.  Each inode keeps its hash (dir_insert), so growing a table
 * reads no names: loading one directory of 1,000,000 files spent 0.43 s in
 * dir_reserve() before, 0.09 s after.
 */
static uint64_t name_hash(const char *s)
{
	size_t n = strlen(s);
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n, w;

	for (; n >= 8; s += 8, n -= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
		h ^= h >> 29;
	}
	for (w = 0; n > 0; n--)
		w = w << 8 | (unsigned char)s[n - 1];
	h = (h ^ w) * 0x94d049bb133111ebull;
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 32);
}

static struct kvfs_inode *dir_find(const struct kvfs_inode *dir, const char *name)
{
	struct kvfs_inode *p;
	uint64_t h;

	if (!dir->dir.nbucket)
		return NULL;
	h = name_hash(name);
	p = dir->dir.bucket[h & (dir->dir.nbucket - 1)];
	while (p && (p->hash != h || strcmp(p->name, name) != 0))
		p = p->hnext;
	return p;
}

/* Makes room for `want` entries so a later dir_insert cannot fail. */
static int dir_reserve(struct kvfs_inode *dir, size_t want)
{
	struct kvfs_dir *d = &dir->dir;
	struct kvfs_inode **nb, *p, *next;
	size_t n = d->nbucket ? d->nbucket : DIR_MIN_BUCKETS;

	/* At most one name per two buckets: a miss (every create, and every
	 * row at load, checks the name is free) then mostly finds an empty
	 * bucket without touching any inode: 0.6 s less to load 1,000,000
	 * files into one directory. */
	if (d->nbucket && want <= d->nbucket / 2)
		return 0;
	while (n < 2 * want)
		n *= 2;
	nb = calloc(n, sizeof(*nb));
	if (!nb)
		return -ENOMEM;
	for (size_t i = 0; i < d->nbucket; i++) {
		for (p = d->bucket[i]; p; p = next) {
			uint64_t b = p->hash & (n - 1);

			next = p->hnext;
			p->hnext = nb[b];
			nb[b] = p;
		}
	}
	free(d->bucket);
	d->bucket = nb;
	d->nbucket = n;
	return 0;
}

static void dir_insert(struct kvfs_inode *dir, struct kvfs_inode *ino)
{
	struct kvfs_dir *d = &dir->dir;
	uint64_t b;

	KVFS_ASSERT(d->nbucket >= d->count + 1);
	ino->hash = name_hash(ino->name);
	b = ino->hash & (d->nbucket - 1);
	ino->hnext = d->bucket[b];
	d->bucket[b] = ino;
	d->count++;
	if (ino->is_dir)
		d->nsubdirs++;
	ino->parent = dir;
}

static void dir_remove(struct kvfs_inode *dir, struct kvfs_inode *ino)
{
	struct kvfs_dir *d = &dir->dir;
	struct kvfs_inode **pp = &d->bucket[ino->hash & (d->nbucket - 1)];

	while (*pp != ino) {
		KVFS_ASSERT(*pp != NULL);
		pp = &(*pp)->hnext;
	}
	*pp = ino->hnext;
	ino->hnext = NULL;
	ino->parent = NULL;
	d->count--;
	if (ino->is_dir)
		d->nsubdirs--;
}

/* ---- inode lifetime ---- */

static struct kvfs_inode *inode_new(struct kvfs_ns *ns, mode_t mode, uid_t uid,
				    gid_t gid, const char *name)
{
	struct kvfs_inode *ino = calloc(1, sizeof(*ino));

	if (!ino)
		return NULL;
	ino->name = strdup(name);
	if (!ino->name || pthread_rwlock_init(&ino->lock, NULL) != 0) {
		free(ino->name);
		free(ino);
		return NULL;
	}
	ino->magic = KVFS_INODE_MAGIC;
	ino->id = atomic_fetch_add(&ns->next_id, 1);
	ino->is_dir = S_ISDIR(mode);
	ino->mode = mode;
	ino->uid = uid;
	ino->gid = gid;
	ino->nlink = ino->is_dir ? 2 : 1;
	ino->published = 1;
	ino->crc_valid = 1; /* the checksum of no bytes is 0 */
	kvfs_now(&ino->mtime);
	ino->atime = ino->ctime = ino->mtime;
	kvfs_data_init(&ino->data, ino->id);
	kvfs_tier_init(&ino->t);
	if (S_ISREG(mode)) { /* callers hold ns->lock for writing, or load */
		ino->fnext = ns->files;
		if (ns->files)
			ns->files->fprev = ino;
		ns->files = ino;
	}
	return ino;
}

static void inode_free(struct kvfs_ns *ns, struct kvfs_inode *ino)
{
	if (ino->ctl)
		; /* never counted */
	else if (ino->is_dir)
		atomic_fetch_sub(&ns->stats.dirs, 1);
	else
		atomic_fetch_sub(&ns->stats.files, 1);
	if (S_ISREG(ino->mode)) {
		if (ino->fprev)
			ino->fprev->fnext = ino->fnext;
		else if (ns->files == ino)
			ns->files = ino->fnext;
		if (ino->fnext)
			ino->fnext->fprev = ino->fprev;
	}
	if (ns->store) {
		kvfs_store_forget(ns->store, ino);
	} else {
		kvfs_data_release(&ino->data, ns->mem);
		kvfs_tier_release(&ino->t);
	}
	kvfs_xattr_free_all(ino);
	free(ino->link);
	free(ino->dir.bucket);
	free(ino->kv_parent);
	free(ino->name);
	pthread_rwlock_destroy(&ino->lock);
	ino->magic = 0;
	free(ino);
}

/* Frees the inode if nothing refers to it any more.  Caller holds ns->lock
 * for writing and made the transition that may have dropped the last ref. */
static void maybe_free(struct kvfs_ns *ns, struct kvfs_inode *ino)
{
	if (ino->nlink == 0 && ino->nopen == 0 &&
	    atomic_load(&ino->nlookup) == 0 && ino != ns->root)
		inode_free(ns, ino);
}

static int name_check(const char *name)
{
	size_t len = strlen(name);

	if (len == 0)
		return -ENOENT;
	if (len > KVFS_NAME_MAX)
		return -ENAMETOOLONG;
	if (strchr(name, '/'))
		return -EINVAL;
	return 0;
}

/* A symlink target kvfs stores: 1 to KVFS_LINK_MAX bytes. */
static int link_ok(const char *target)
{
	return target && *target && strnlen(target, KVFS_LINK_MAX + 1) <= KVFS_LINK_MAX;
}

/* Gives a new symlink inode its target (and size).  0 or -ENOMEM. */
static int link_set(struct kvfs_inode *ino, const char *target)
{
	ino->link = strdup(target);
	if (!ino->link)
		return -ENOMEM;
	ino->size = strlen(target);
	return 0;
}

/* Can ctx see ino?  Everyone sees published inodes; an unpublished one is
 * seen by its creating process only.  One whose creator has closed it, its
 * release not yet handled (closed_h), is noted in ctx, held open, the first
 * such only: the call settles it and tries again (settle_retry).  Caller
 * holds ns->lock (either way). */
static int visible(struct kvfs_ctx *ctx, struct kvfs_inode *ino)
{
	if (ino->published || (ctx && kvfs_ctx_in_process(ctx, ino->owner_tgid)))
		return 1;
	if (ctx && ino->closed_h && !ctx->pending) {
		atomic_fetch_add(&ino->nopen, 1); /* may grow under the shared lock */
		ctx->pending = ino;
	}
	return 0;
}

/* Tries of a call that keeps meeting closes to settle (each settles one;
 * others may come meanwhile): then it answers as the file stands. */
#define SETTLE_TRIES 4

/* After an attempt that met a close to settle (visible()): settles it and
 * says whether to try again.  Caller holds no lock. */
static int settle_retry(struct kvfs_ns *ns, struct kvfs_ctx *ctx, int *tries)
{
	struct kvfs_inode *ino = ctx ? ctx->pending : NULL;

	if (!ino)
		return 0;
	ctx->pending = NULL;
	kvfs_file_settle(ns, ino);
	return ++*tries < SETTLE_TRIES;
}

void kvfs_inode_stat(const struct kvfs_inode *ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino->id;
	st->st_mode = ino->mode;
	st->st_nlink = ino->is_dir ? 2 + ino->dir.nsubdirs : ino->nlink;
	st->st_uid = ino->uid;
	st->st_gid = ino->gid;
	st->st_size = ino->is_dir ? 4096 * (1 + ino->dir.count / 64) : ino->size;
	st->st_blksize = ino->is_dir || !ino->published ? KVFS_BLKSIZE :
			 !ino->t.resident ? KVFS_BLKSIZE_SSD : KVFS_BLKSIZE_READ;
	st->st_blocks = (ino->t.resident ? ino->data.bytes :
			 kvfs_tier_ssd_bytes(&ino->t)) / 512;
	st->st_atim = ino->atime;
	st->st_mtim = ino->mtime;
	st->st_ctim = ino->ctime;
	/* Bound writers change the backing file behind the daemon's back
	 * (file.c, "Passthrough"): every attribute reply says what it holds,
	 * or the kernel would take the old size from it. */
	if (!ino->is_dir && atomic_load(&ino->npt_writers) && ino->data.fd >= 0) {
		struct stat b;

		if (fstat(ino->data.fd, &b) == 0) {
			st->st_size = b.st_size;
			st->st_blocks = b.st_blocks;
			if (b.st_mtim.tv_sec != ino->pt_mtime.tv_sec ||
			    b.st_mtim.tv_nsec != ino->pt_mtime.tv_nsec)
				st->st_mtim = st->st_ctim = b.st_mtim; /* written */
		}
	}
}

/* Fills out and takes one kernel lookup.  Caller holds ns->lock. */
static void entry_fill(struct kvfs_inode *ino, struct kvfs_entry *out)
{
	atomic_fetch_add(&ino->nlookup, 1);
	pthread_rwlock_rdlock(&ino->lock);
	kvfs_inode_stat(ino, &out->st);
	pthread_rwlock_unlock(&ino->lock);
	out->ino = ino;
	out->published = ino->published;
}

void kvfs_ns_record(struct kvfs_ns *ns, struct kvfs_inode *ino, int xattrs)
{
	struct kvfs_index_row row = {
		.id = ino->id,
		.parent = ino->parent ? ino->parent->id : 0,
		.name = ino->name,
		.mode = ino->mode, .uid = ino->uid, .gid = ino->gid,
		.size = ino->size,
		.atime_ns = ts_ns(&ino->atime),
		.mtime_ns = ts_ns(&ino->mtime),
		.ctime_ns = ts_ns(&ino->ctime),
		.crc32c = ino->crc,
		.flags = (ino->crc_valid ? KVFS_ROW_CRC_VALID : 0) |
			 (ino->pinned ? KVFS_ROW_PINNED : 0),
		.hits = atomic_load(&ino->hits),
		.last_access_ns = atomic_load(&ino->last_access_ns),
		.kv_parent = ino->kv_parent,
		.target = ino->link,
	};

	void *blob = NULL;
	ssize_t blen;

	if (!ns->index || !ino->published || ino->ctl ||
	    (!ino->parent && ino != ns->root))
		return;
	if (ino->t.has_stored) {
		/* The row describes the stored version: a restart brings back
		 * what the SSD holds, never newer bytes only memory had. */
		blen = kvfs_map_encode(&ino->t.stored, &blob);
		if (blen < 0)
			return; /* -ENOMEM: the next change records it */
		row.map = blob;
		row.map_len = (size_t)blen;
		row.size = ino->t.stored.size;
		row.crc32c = ino->t.stored.file_crc;
		row.flags |= KVFS_ROW_CRC_VALID;
	}
	/* A failed queue (-ENOMEM) loses only this record: the namespace in
	 * memory stays right, and the next change of the inode records it. */
	if (kvfs_index_put(ns->index, &row) == 0)
		ino->in_index = 1;
	ino->dirty = 0;
	for (struct kvfs_xattr *x = xattrs ? ino->xattrs : NULL; x; x = x->next)
		kvfs_index_xattr_put(ns->index, ino->id, x->name, x->value, x->size);
	free(blob);
}

static void unrecord(struct kvfs_ns *ns, struct kvfs_inode *ino)
{
	if (ns->index && ino->in_index)
		kvfs_index_del(ns->index, ino->id);
	ino->in_index = 0;
}

/* ---- setup ---- */

int kvfs_ns_init(struct kvfs_ns *ns, struct kvfs_mem *mem,
		 struct kvfs_index *index, uid_t uid, gid_t gid)
{
	memset(ns, 0, sizeof(*ns));
	if (pthread_rwlock_init(&ns->lock, NULL) != 0)
		return -ENOMEM;
	if (kvfs_admit_init(&ns->admit) != 0) {
		pthread_rwlock_destroy(&ns->lock);
		return -ENOMEM;
	}
	if (pthread_mutex_init(&ns->settle_lock, NULL) != 0 ||
	    kvfs_cond_init_monotonic(&ns->settle_cond) != 0) {
		kvfs_admit_release(&ns->admit);
		pthread_rwlock_destroy(&ns->lock);
		return -ENOMEM;
	}
	ns->mem = mem;
	ns->index = index;
	ns->root_uid = uid;
	ns->root_gid = gid;
	atomic_store(&ns->next_id, KVFS_INDEX_ROOT_ID);
	if (index)
		atomic_store(&ns->next_id, kvfs_index_max_id(index) + 1);
	if (atomic_load(&ns->next_id) <= KVFS_INDEX_ROOT_ID)
		atomic_store(&ns->next_id, KVFS_INDEX_ROOT_ID + 1);
	return 0;
}

static struct kvfs_inode *make_root(struct kvfs_ns *ns, uint64_t id)
{
	struct kvfs_inode *root = inode_new(ns, S_IFDIR | 0755, ns->root_uid,
					    ns->root_gid, "");

	if (!root)
		return NULL;
	root->id = id;
	atomic_fetch_add(&ns->stats.dirs, 1);
	return root;
}

/* Load-time map from id to directory inode (rows arrive parents first). */
struct load_state {
	struct kvfs_ns *ns;
	struct kvfs_inode **slot; /* open addressing by id */
	size_t nslot, used;
	uint64_t skipped, bad;
	uint64_t bad_ids[1024];   /* rows to delete once the load is done */
	size_t nbad_ids;
	/* A named memory tier (backing.h): files adopted from the last run,
	 * and the rows of files neither it nor the SSD holds, to delete. */
	uint64_t adopted;
	uint64_t *gone_ids;
	size_t ngone, capgone;
};

static int load_map_put(struct load_state *ls, struct kvfs_inode *ino)
{
	if ((ls->used + 1) * 2 > ls->nslot) {
		size_t n = ls->nslot ? ls->nslot * 2 : 1024;
		struct kvfs_inode **s = calloc(n, sizeof(*s));

		if (!s)
			return -ENOMEM;
		for (size_t i = 0; i < ls->nslot; i++) {
			size_t j;

			if (!ls->slot[i])
				continue;
			for (j = ls->slot[i]->id & (n - 1); s[j]; j = (j + 1) & (n - 1))
				;
			s[j] = ls->slot[i];
		}
		free(ls->slot);
		ls->slot = s;
		ls->nslot = n;
	}
	size_t j = ino->id & (ls->nslot - 1);

	while (ls->slot[j])
		j = (j + 1) & (ls->nslot - 1);
	ls->slot[j] = ino;
	ls->used++;
	return 0;
}

static struct kvfs_inode *load_map_get(struct load_state *ls, uint64_t id)
{
	if (!ls->nslot)
		return NULL;
	for (size_t j = id & (ls->nslot - 1); ls->slot[j]; j = (j + 1) & (ls->nslot - 1))
		if (ls->slot[j]->id == id)
			return ls->slot[j];
	return NULL;
}

static void row_apply(struct kvfs_inode *ino, const struct kvfs_index_row *row)
{
	ino->mode = row->mode;
	ino->uid = row->uid;
	ino->gid = row->gid;
	ino->atime = ns_ts(row->atime_ns);
	ino->mtime = ns_ts(row->mtime_ns);
	ino->ctime = ns_ts(row->ctime_ns);
	ino->pinned = !!(row->flags & KVFS_ROW_PINNED);
	atomic_store(&ino->hits, row->hits);
	atomic_store(&ino->last_access_ns, row->last_access_ns);
	ino->in_index = 1;
}

/* A stored file's map: decoded, checked against the store and adopted.
 * A map that is damaged or claims runs already claimed drops the file
 * (logged); -ENOMEM stops nothing either, the file is just not loaded. */
static int load_stored(struct load_state *ls, struct kvfs_inode *ino,
		       const struct kvfs_index_row *row)
{
	struct kvfs_map m;
	int r = kvfs_map_decode(row->map, row->map_len, &m);

	if (r == 0) {
		r = kvfs_store_adopt(ls->ns->store, ino, &m);
		kvfs_map_release(&m);
	}
	if (r) {
		ls->bad++;
		kvfs_warn("kvfs: index row of file %llu (%s) has a %s chunk map; dropped",
			  (unsigned long long)row->id, row->name,
			  r == -ENOMEM ? "unloadable" : "damaged or overlapping");
		if (ls->nbad_ids < sizeof(ls->bad_ids) / sizeof(ls->bad_ids[0]))
			ls->bad_ids[ls->nbad_ids++] = row->id;
	}
	return r;
}

/*
 * The memory a clean exit kept for a file (backing.h, a named tier): taken
 * when its mark matches the row.  A file stored on the SSD is then BOTH
 * (the row describes the stored copy, and the kept bytes are the same);
 * one that only memory held comes back too.  Returns 1 to keep the file,
 * 0 for a file nothing holds (its row is deleted after the load), -ENOMEM.
 */
static int load_kept(struct load_state *ls, struct kvfs_inode *ino,
		     const struct kvfs_index_row *row, int stored)
{
	struct kvfs_ns *ns = ls->ns;

	/* A stored file's row describes its stored copy (load_stored set the
	 * size and CRC from it): kept memory must be that very version. */
	uint64_t size = stored ? ino->size : row->size;
	uint32_t crc = stored ? ino->crc : row->crc32c;

	if (!kvfs_data_adopt(&ino->data, ns->mem, size, crc)) {
		if (stored)
			return 1;
		if (ls->ngone == ls->capgone) {
			size_t cap = ls->capgone ? 2 * ls->capgone : 64;
			uint64_t *v = realloc(ls->gone_ids, cap * sizeof(*v));

			if (!v)
				return -ENOMEM;
			ls->gone_ids = v;
			ls->capgone = cap;
		}
		ls->gone_ids[ls->ngone++] = row->id;
		return 0;
	}
	ino->size = size;
	ino->crc = crc;
	ino->crc_valid = 1;
	kvfs_tier_adopt_kept(ns->store, ino);
	ls->adopted++;
	KVFS_DCHECK(kvfs_inode_check(ino) == 0); /* kept: MEM or BOTH */
	return 1;
}

/* kvfs_mem_sweep's question: was file `id` adopted? */
static int load_adopted(void *arg, uint64_t id)
{
	struct kvfs_inode *ino = load_map_get(arg, id);

	return ino && !ino->is_dir && ino->data.fd >= 0;
}

static int load_row(void *arg, const struct kvfs_index_row *row)
{
	struct load_state *ls = arg;
	struct kvfs_ns *ns = ls->ns;
	struct kvfs_inode *ino, *parent;
	int r;

	if (row->parent == 0) {
		if (!ns->root)
			ns->root = make_root(ns, row->id);
		if (!ns->root)
			return -ENOMEM;
		row_apply(ns->root, row);
		ns->root->mode = S_IFDIR | (row->mode & 07777);
		return load_map_put(ls, ns->root);
	}
	parent = load_map_get(ls, row->parent);
	/* Directories, symbolic links, and files whose data the SSD or the
	 * kept memory tier holds, come back.  A row whose parent is missing
	 * is an orphan; skip it. */
	if (!(S_ISDIR(row->mode) ||
	      (S_ISREG(row->mode) && ((row->map && ns->store && ns->store->ssd) ||
				      ns->mem->named)) ||
	      (S_ISLNK(row->mode) && link_ok(row->target))) ||
	    !parent || name_check(row->name) != 0 || dir_find(parent, row->name)) {
		ls->skipped++;
		return 0;
	}
	ino = inode_new(ns, row->mode, row->uid, row->gid, row->name);
	if (!ino)
		return -ENOMEM;
	/* Counted at once: inode_free() uncounts it on every way out below. */
	atomic_fetch_add(ino->is_dir ? &ns->stats.dirs : &ns->stats.files, 1);
	if (dir_reserve(parent, parent->dir.count + 1) != 0) {
		inode_free(ns, ino);
		return -ENOMEM;
	}
	ino->id = row->id;
	ino->data.name = row->id;
	row_apply(ino, row);
	if ((row->kv_parent && !(ino->kv_parent = strdup(row->kv_parent))) ||
	    (S_ISLNK(row->mode) && link_set(ino, row->target) != 0)) {
		inode_free(ns, ino);
		return -ENOMEM;
	}
	if (S_ISREG(row->mode)) {
		int stored = row->map && ns->store && ns->store->ssd;

		if (stored && load_stored(ls, ino, row) != 0) {
			inode_free(ns, ino);
			return 0;
		}
		r = load_kept(ls, ino, row, stored);
		if (r <= 0) {
			inode_free(ns, ino);
			return r;
		}
	}
	dir_insert(parent, ino);
	if (!ino->is_dir)
		atomic_fetch_add(&ns->stats.published, 1);
	return load_map_put(ls, ino);
}

static int load_xattr(void *arg, uint64_t id, const char *name,
		      const void *value, size_t size)
{
	struct kvfs_inode *ino = load_map_get(arg, id);

	return ino ? kvfs_xattr_load(ino, name, value, size) : 0;
}

int kvfs_ns_load(struct kvfs_ns *ns)
{
	struct load_state ls = { .ns = ns };
	int r = 0;

	if (ns->index) {
		(void)kvfs_mem_list_kept(ns->mem); /* on failure, adopt looks anyway */
		r = kvfs_index_load(ns->index, load_row, load_xattr, &ls);
		kvfs_mem_unlist_kept(ns->mem);
	}
	if (r == 0 && ns->mem->named) {
		int swept = kvfs_mem_sweep(ns->mem, load_adopted, &ls);

		if (ls.adopted || swept)
			kvfs_info("kvfs: memory tier: %llu files kept by the last run adopted, %d removed",
				  (unsigned long long)ls.adopted, swept);
	}
	free(ls.slot);
	for (size_t i = 0; r == 0 && ns->index && i < ls.ngone; i++)
		kvfs_index_del(ns->index, ls.gone_ids[i]);
	if (ls.ngone)
		kvfs_info("kvfs: %zu files of the last run were dropped: neither the SSD nor kept memory held them",
			  ls.ngone);
	free(ls.gone_ids);
	if (r != 0)
		return r < 0 ? r : -EIO;
	for (size_t i = 0; ns->index && i < ls.nbad_ids; i++)
		kvfs_index_del(ns->index, ls.bad_ids[i]);
	if (ls.skipped)
		kvfs_warn("kvfs: skipped %llu index rows with no parent directory",
			  (unsigned long long)ls.skipped);
	if (!ns->root) {
		ns->root = make_root(ns, KVFS_INDEX_ROOT_ID);
		if (!ns->root)
			return -ENOMEM;
		kvfs_ns_record(ns, ns->root, 0);
	}
	return 0;
}

uint64_t kvfs_ns_keep_memory(struct kvfs_ns *ns)
{
	uint64_t kept = 0;

	if (!ns->mem->named)
		return 0;
	pthread_rwlock_wrlock(&ns->lock);
	for (struct kvfs_inode *ino = ns->files; ino; ino = ino->fnext) {
		pthread_rwlock_wrlock(&ino->lock);
		/* Whole, named, published and checksummed: what a restart can
		 * check against the row.  Memory-only files' rows are written
		 * again so they carry this size and CRC. */
		if (ino->published && ino->nlink > 0 && !ino->ctl && ino->t.resident &&
		    ino->crc_valid && ino->data.fd >= 0 && ns->index &&
		    kvfs_data_keep(&ino->data, ns->mem, ino->size, ino->crc) == 0) {
			if (!ino->t.has_stored)
				kvfs_ns_record(ns, ino, 0);
			kept++;
		}
		pthread_rwlock_unlock(&ino->lock);
	}
	pthread_rwlock_unlock(&ns->lock);
	return kept;
}

static void free_tree(struct kvfs_ns *ns, struct kvfs_inode *dir)
{
	for (size_t i = 0; i < dir->dir.nbucket; i++) {
		struct kvfs_inode *p = dir->dir.bucket[i], *next;

		for (; p; p = next) {
			next = p->hnext;
			if (p->is_dir)
				free_tree(ns, p);
			inode_free(ns, p);
		}
	}
	free(dir->dir.bucket);
	dir->dir.bucket = NULL;
	dir->dir.nbucket = dir->dir.count = 0;
}

void kvfs_ns_release(struct kvfs_ns *ns)
{
	/* Only named inodes are reachable here; unlinked ones still open or
	 * looked up at exit are reclaimed with the arena itself. */
	if (ns->ctl) {
		free_tree(ns, ns->ctl);
		inode_free(ns, ns->ctl);
		ns->ctl = NULL;
	}
	if (ns->root) {
		free_tree(ns, ns->root);
		inode_free(ns, ns->root);
		ns->root = NULL;
	}
	kvfs_admit_release(&ns->admit);
	pthread_cond_destroy(&ns->settle_cond);
	pthread_mutex_destroy(&ns->settle_lock);
	pthread_rwlock_destroy(&ns->lock);
}

/* ---- tree operations ---- */

static int lookup_once(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
		       struct kvfs_inode *parent, const char *name,
		       struct kvfs_entry *out)
{
	struct kvfs_inode *ino;
	int r;

	memset(out, 0, sizeof(*out));
	r = name_check(name);
	if (r)
		return r;
	pthread_rwlock_rdlock(&ns->lock);
	if (!parent->is_dir) {
		r = -ENOTDIR;
	} else if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
		ino = (name[1] && parent->parent) ? parent->parent : parent;
		entry_fill(ino, out);
	} else if (parent == ns->root && ns->ctl && strcmp(name, KVFS_CTL_NAME) == 0) {
		entry_fill(ns->ctl, out); /* not in the root's table: unlisted */
	} else if (!(ino = dir_find(parent, name))) {
		out->published = 1; /* a true miss: the kernel may cache it */
		atomic_fetch_add(&ns->stats.lookup_misses, 1);
		r = -ENOENT;
	} else if (!visible(ctx, ino)) {
		out->published = 0; /* hidden: must not be cached */
		atomic_fetch_add(&ns->stats.lookup_misses, 1);
		r = -ENOENT;
	} else {
		atomic_fetch_add(&ns->stats.lookup_hits, 1);
		entry_fill(ino, out);
	}
	pthread_rwlock_unlock(&ns->lock);
	return r;
}

int kvfs_ns_lookup(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
		   struct kvfs_inode *parent, const char *name,
		   struct kvfs_entry *out)
{
	int r, tries = 0;

	do
		r = lookup_once(ns, ctx, parent, name, out);
	while (settle_retry(ns, ctx, &tries));
	return r;
}

void kvfs_ns_forget(struct kvfs_ns *ns, struct kvfs_inode *ino, uint64_t n)
{
	pthread_rwlock_wrlock(&ns->lock);
	KVFS_ASSERT(ino->magic == KVFS_INODE_MAGIC);
	KVFS_ASSERT(atomic_load(&ino->nlookup) >= n);
	atomic_fetch_sub(&ino->nlookup, n);
	maybe_free(ns, ino);
	pthread_rwlock_unlock(&ns->lock);
}

int kvfs_ns_getattr(struct kvfs_ns *ns, struct kvfs_inode *ino, struct stat *st)
{
	if (!ino->is_dir)
		kvfs_file_pt_refresh(ns, ino);
	pthread_rwlock_rdlock(&ino->lock);
	kvfs_inode_stat(ino, st);
	pthread_rwlock_unlock(&ino->lock);
	return 0;
}

/* Is (parent, name) the control directory's name, or inside it? */
static int is_ctl_name(struct kvfs_ns *ns, struct kvfs_inode *parent,
		       const char *name)
{
	return parent->ctl ||
	       (parent == ns->root && strcmp(name, KVFS_CTL_NAME) == 0);
}

/* Checks that `name` can be created in parent by ctx.  Caller holds ns->lock
 * for writing.  An unpublished name of another process is busy, not free. */
static int can_create(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
		      struct kvfs_inode *parent, const char *name)
{
	struct kvfs_inode *old;
	int r = name_check(name);

	if (r)
		return r;
	if (!parent->is_dir)
		return -ENOTDIR;
	if (is_ctl_name(ns, parent, name))
		return parent->ctl ? -EPERM : -EEXIST;
	if (parent->nlink == 0)
		return -ENOENT; /* removed directory */
	old = dir_find(parent, name);
	if (old)
		return visible(ctx, old) ? -EEXIST : -EBUSY;
	return dir_reserve(parent, parent->dir.count + 1);
}

/* A new inode's group from a set-group-ID parent (and, for a directory,
 * the bit itself), and its count in the stats.  Caller holds ns->lock. */
static void born_in(struct kvfs_ns *ns, struct kvfs_inode *parent,
		    struct kvfs_inode *ino)
{
	if (parent->mode & S_ISGID) {
		ino->gid = parent->gid;
		if (ino->is_dir)
			ino->mode |= S_ISGID;
	}
	atomic_fetch_add(ino->is_dir ? &ns->stats.dirs : &ns->stats.files, 1);
}

/* Puts ino's name into parent, whose times move.  Caller holds ns->lock. */
static void link_name(struct kvfs_inode *parent, struct kvfs_inode *ino)
{
	dir_insert(parent, ino);
	pthread_rwlock_wrlock(&parent->lock);
	kvfs_now(&parent->mtime);
	parent->ctime = parent->mtime;
	pthread_rwlock_unlock(&parent->lock);
}

/* Links a new inode into parent.  Caller holds ns->lock. */
static void link_new(struct kvfs_ns *ns, struct kvfs_inode *parent,
		     struct kvfs_inode *ino)
{
	born_in(ns, parent, ino);
	link_name(parent, ino);
}

/* A directory, file or symlink (target non-NULL) made by mknod, mkdir or
 * symlink: published at birth. */
static int make_node_once(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
			  struct kvfs_inode *parent, const char *name,
			  mode_t mode, const char *target, struct kvfs_entry *out)
{
	struct kvfs_inode *ino;
	char *link = target ? strdup(target) : NULL;
	int r;

	memset(out, 0, sizeof(*out));
	if (target && !link)
		return -ENOMEM;
	pthread_rwlock_wrlock(&ns->lock);
	r = can_create(ns, ctx, parent, name);
	if (r)
		goto out;
	ino = inode_new(ns, mode, ctx->uid, ctx->gid, name);
	if (!ino) {
		r = -ENOMEM;
		goto out;
	}
	if (target) {
		ino->link = link;
		ino->size = strlen(link);
		link = NULL;
	}
	link_new(ns, parent, ino);
	kvfs_ns_record(ns, ino, 0);
	entry_fill(ino, out);
out:
	pthread_rwlock_unlock(&ns->lock);
	free(link); /* not taken: an error */
	return r;
}

static int make_node(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
		     struct kvfs_inode *parent, const char *name, mode_t mode,
		     const char *target, struct kvfs_entry *out)
{
	int r, tries = 0;

	do
		r = make_node_once(ns, ctx, parent, name, mode, target, out);
	while (settle_retry(ns, ctx, &tries));
	return r;
}

int kvfs_ns_mknod(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
		  struct kvfs_inode *parent, const char *name, mode_t mode,
		  struct kvfs_entry *out)
{
	/* Only regular files: a cache has no use for devices, fifos or sockets. */
	if (!S_ISREG(mode))
		return -EPERM;
	return make_node(ns, ctx, parent, name, mode, NULL, out);
}

int kvfs_ns_mkdir(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
		  struct kvfs_inode *parent, const char *name, mode_t mode,
		  struct kvfs_entry *out)
{
	return make_node(ns, ctx, parent, name, S_IFDIR | (mode & 07777), NULL, out);
}

int kvfs_ns_symlink(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
		    struct kvfs_inode *parent, const char *name,
		    const char *target, struct kvfs_entry *out)
{
	memset(out, 0, sizeof(*out));
	if (!target || !*target)
		return -ENOENT; /* as symlink(2) for an empty target */
	if (!link_ok(target))
		return -ENAMETOOLONG;
	return make_node(ns, ctx, parent, name, S_IFLNK | 0777, target, out);
}

int kvfs_ns_readlink(struct kvfs_ns *ns, struct kvfs_inode *ino,
		     const char **target)
{
	(void)ns;
	if (!ino->link)
		return -EINVAL;
	*target = ino->link;
	return 0;
}

/*
 * A new regular file, open by its creator: named `name` in parent, or with
 * no name at all (name NULL: O_TMPFILE, nlink 0 until kvfs_ns_link).
 */
static int create_once(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
		       struct kvfs_inode *parent, const char *name, mode_t mode,
		       int flags, struct kvfs_entry *out, struct kvfs_handle **fh)
{
	struct kvfs_handle *h = calloc(1, sizeof(*h));
	struct kvfs_inode *ino;
	pid_t owner = kvfs_ctx_tgid(ctx); /* read /proc before taking the lock */
	int r;

	memset(out, 0, sizeof(*out));
	if (!h)
		return -ENOMEM;
	pthread_rwlock_wrlock(&ns->lock);
	if (name)
		r = can_create(ns, ctx, parent, name);
	else if (!parent->is_dir)
		r = -ENOTDIR;
	else if (parent->ctl)
		r = -EPERM;
	else
		r = parent->nlink == 0 ? -ENOENT : 0;
	if (r)
		goto fail;
	ino = inode_new(ns, S_IFREG | (mode & 07777), ctx->uid, ctx->gid,
			name ? name : "");
	if (!ino) {
		r = -ENOMEM;
		goto fail;
	}
	ino->published = 0;
	ino->owner_tgid = owner;
	born_in(ns, parent, ino);
	if (name) {
		link_name(parent, ino);
	} else {
		ino->nlink = 0;
		ino->tmpfile = 1;
	}
	/* The creating handle is the writer that publishes, even if opened
	 * O_RDONLY: its close is the end of creation. */
	ino->nopen = 1;
	ino->nwriters = 1;
	h->ino = ino;
	h->flags = flags;
	h->writer = 1;
	entry_fill(ino, out);
	pthread_rwlock_unlock(&ns->lock);
	kvfs_file_bind(ns, h);
	*fh = h;
	return 0;
fail:
	pthread_rwlock_unlock(&ns->lock);
	free(h);
	return r;
}

static int create_file(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
		       struct kvfs_inode *parent, const char *name, mode_t mode,
		       int flags, struct kvfs_entry *out, struct kvfs_handle **fh)
{
	int r, tries = 0;

	do
		r = create_once(ns, ctx, parent, name, mode, flags, out, fh);
	while (settle_retry(ns, ctx, &tries));
	return r;
}

int kvfs_ns_create(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
		   struct kvfs_inode *parent, const char *name, mode_t mode,
		   int flags, struct kvfs_entry *out, struct kvfs_handle **fh)
{
	return create_file(ns, ctx, parent, name, mode, flags, out, fh);
}

int kvfs_ns_tmpfile(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
		    struct kvfs_inode *parent, mode_t mode, int flags,
		    struct kvfs_entry *out, struct kvfs_handle **fh)
{
	return create_file(ns, ctx, parent, NULL, mode, flags, out, fh);
}

/*
 * An O_TMPFILE file gets its name: published at once, as a rename of a
 * finished temporary name would make it (the engines that use O_TMPFILE
 * link after their last write).  A writer still open goes on as the writer
 * of a published file: its close records the row again and queues the
 * file for the SSD.  The kernel refuses the link itself for O_EXCL
 * tmpfiles and for files with no name that were not made by O_TMPFILE.
 */
static int link_once(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
		     struct kvfs_inode *ino, struct kvfs_inode *newparent,
		     const char *newname, struct kvfs_entry *out)
{
	char *name = strdup(newname);
	int r, queue = 0;

	memset(out, 0, sizeof(*out));
	if (!name)
		return -ENOMEM;
	pthread_rwlock_wrlock(&ns->lock);
	if (!ino->tmpfile || ino->gone)
		r = -EPERM; /* one name per cache entry: no hard links */
	else
		r = can_create(ns, ctx, newparent, newname);
	if (r)
		goto out;
	free(ino->name);
	ino->name = name;
	name = NULL;
	link_name(newparent, ino);
	pthread_rwlock_wrlock(&ino->lock);
	ino->nlink = 1;
	ino->tmpfile = 0;
	ino->published = 1;
	ino->owner_tgid = 0;
	atomic_fetch_add(&ns->stats.published, 1);
	kvfs_now(&ino->ctime);
	/* Its writers all closed before the link (a descriptor reopened
	 * read-only kept it): their close settled it with no name, which
	 * the flusher skipped. */
	queue = ns->store && ino->nwriters == 0 && ino->t.resident &&
		!kvfs_inode_stored(ino);
	pthread_rwlock_unlock(&ino->lock);
	kvfs_ns_record(ns, ino, 1);
	entry_fill(ino, out);
	if (queue)
		kvfs_store_queue(ns->store, ino); /* as writer_done, under ns->lock */
out:
	pthread_rwlock_unlock(&ns->lock);
	free(name);
	return r;
}

int kvfs_ns_link(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
		 struct kvfs_inode *ino, struct kvfs_inode *newparent,
		 const char *newname, struct kvfs_entry *out)
{
	int r, tries = 0;

	do
		r = link_once(ns, ctx, ino, newparent, newname, out);
	while (settle_retry(ns, ctx, &tries));
	return r;
}

/* Takes a name away from its inode.  Caller holds ns->lock for writing. */
static void unlink_inode(struct kvfs_ns *ns, struct kvfs_inode *ino)
{
	struct kvfs_inode *parent = ino->parent;

	dir_remove(parent, ino);
	ino->nlink = 0;
	unrecord(ns, ino);
	if (ino->hashing)
		kvfs_hasher_kick(ns);
	pthread_rwlock_wrlock(&parent->lock);
	kvfs_now(&parent->mtime);
	parent->ctime = parent->mtime;
	pthread_rwlock_unlock(&parent->lock);
	pthread_rwlock_wrlock(&ino->lock);
	kvfs_now(&ino->ctime);
	pthread_rwlock_unlock(&ino->lock);
}

static int remove_name(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
		       struct kvfs_inode *parent, const char *name, int want_dir)
{
	struct kvfs_inode *ino;
	int r = name_check(name);

	if (r)
		return r;
	pthread_rwlock_wrlock(&ns->lock);
	ino = parent->is_dir ? dir_find(parent, name) : NULL;
	if (!parent->is_dir)
		r = -ENOTDIR;
	else if (parent->ctl)
		r = -EPERM;
	else if (!ino || !visible(ctx, ino))
		r = -ENOENT;
	else if (want_dir && !ino->is_dir)
		r = -ENOTDIR;
	else if (!want_dir && ino->is_dir)
		r = -EISDIR;
	else if (want_dir && ino->dir.count)
		r = -ENOTEMPTY;
	if (r == 0) {
		unlink_inode(ns, ino);
		maybe_free(ns, ino);
	}
	pthread_rwlock_unlock(&ns->lock);
	return r;
}

static int remove_settled(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
			  struct kvfs_inode *parent, const char *name, int want_dir)
{
	int r, tries = 0;

	do
		r = remove_name(ns, ctx, parent, name, want_dir);
	while (settle_retry(ns, ctx, &tries));
	return r;
}

int kvfs_ns_unlink(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
		   struct kvfs_inode *parent, const char *name)
{
	return remove_settled(ns, ctx, parent, name, 0);
}

int kvfs_ns_rmdir(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
		  struct kvfs_inode *parent, const char *name)
{
	return remove_settled(ns, ctx, parent, name, 1);
}

/* Is `dir` equal to `ancestor` or inside it?  Caller holds ns->lock. */
static int is_within(const struct kvfs_inode *dir, const struct kvfs_inode *ancestor)
{
	for (; dir; dir = dir->parent)
		if (dir == ancestor)
			return 1;
	return 0;
}

/* After a rename: new ctime, and the new (parent, name) to the index. */
static void touch_moved(struct kvfs_ns *ns, struct kvfs_inode *ino)
{
	pthread_rwlock_wrlock(&ino->lock);
	kvfs_now(&ino->ctime);
	if (ino->in_index)
		kvfs_ns_record(ns, ino, 0);
	pthread_rwlock_unlock(&ino->lock);
}

/* Moves ino to (newparent, name); `name` is already allocated and room in
 * newparent was reserved.  Caller holds ns->lock for writing. */
static void move_inode(struct kvfs_ns *ns, struct kvfs_inode *ino,
		       struct kvfs_inode *newparent, char *name)
{
	dir_remove(ino->parent, ino);
	free(ino->name);
	ino->name = name;
	dir_insert(newparent, ino);
	touch_moved(ns, ino);
}

static int rename_check(struct kvfs_inode *src, struct kvfs_inode *dst,
			struct kvfs_inode *newparent, unsigned int flags)
{
	if (src->is_dir && is_within(newparent, src))
		return -EINVAL;
	if (flags & RENAME_EXCHANGE) {
		if (!dst)
			return -ENOENT;
		if (dst->is_dir && is_within(src->parent, dst))
			return -EINVAL;
		return 0;
	}
	if (!dst)
		return 0;
	if (flags & RENAME_NOREPLACE)
		return -EEXIST;
	if (src->is_dir && !dst->is_dir)
		return -ENOTDIR;
	if (!src->is_dir && dst->is_dir)
		return -EISDIR;
	if (dst->is_dir && dst->dir.count)
		return -ENOTEMPTY;
	return 0;
}

static int do_rename(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
		     struct kvfs_inode *parent, const char *name,
		     struct kvfs_inode *newparent, const char *newname,
		     unsigned int flags)
{
	struct kvfs_inode *src, *dst, *oldparent;
	char *n1 = NULL, *n2 = NULL;
	int r;

	src = dir_find(parent, name);
	if (!src || !visible(ctx, src))
		return -ENOENT;
	dst = dir_find(newparent, newname);
	if (dst && !visible(ctx, dst))
		return -EBUSY;
	if (src == dst)
		return 0;
	r = rename_check(src, dst, newparent, flags);
	if (r)
		return r;
	n1 = strdup(newname);
	n2 = (flags & RENAME_EXCHANGE) ? strdup(name) : NULL;
	if (!n1 || ((flags & RENAME_EXCHANGE) && !n2) ||
	    dir_reserve(newparent, newparent->dir.count + 1) != 0 ||
	    dir_reserve(parent, parent->dir.count + 1) != 0) {
		free(n1);
		free(n2);
		return -ENOMEM;
	}
	oldparent = src->parent;
	if (flags & RENAME_EXCHANGE) {
		dir_remove(newparent, dst);
		dir_remove(oldparent, src);
		free(src->name);
		src->name = n1;
		free(dst->name);
		dst->name = n2;
		dir_insert(newparent, src);
		dir_insert(oldparent, dst);
		touch_moved(ns, src);
		touch_moved(ns, dst);
		return 0;
	}
	if (dst) {
		unlink_inode(ns, dst);
		maybe_free(ns, dst);
	}
	move_inode(ns, src, newparent, n1);
	return 0;
}

int kvfs_ns_rename(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
		   struct kvfs_inode *parent, const char *name,
		   struct kvfs_inode *newparent, const char *newname,
		   unsigned int flags)
{
	int r, tries = 0;

	if ((flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) ||
	    (flags & RENAME_NOREPLACE && flags & RENAME_EXCHANGE))
		return -EINVAL;
	r = name_check(name);
	if (!r)
		r = name_check(newname);
	if (r)
		return r;
	if (!parent->is_dir || !newparent->is_dir)
		return -ENOTDIR;
	if (is_ctl_name(ns, parent, name) || is_ctl_name(ns, newparent, newname))
		return -EPERM;
	do {
		pthread_rwlock_wrlock(&ns->lock);
		r = do_rename(ns, ctx, parent, name, newparent, newname, flags);
		pthread_rwlock_unlock(&ns->lock);
	} while (settle_retry(ns, ctx, &tries));
	return r;
}

/* ---- directories ---- */

int kvfs_ns_opendir(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
		    struct kvfs_inode *ino, struct kvfs_handle **fh)
{
	struct kvfs_handle *h;

	(void)ctx;
	if (!ino->is_dir)
		return -ENOTDIR;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->ino = ino;
	pthread_rwlock_wrlock(&ns->lock);
	ino->nopen++;
	pthread_rwlock_unlock(&ns->lock);
	*fh = h;
	return 0;
}

static void snapshot_free(struct kvfs_handle *h)
{
	for (size_t i = 0; i < h->nents; i++)
		free(h->ents[i].name);
	free(h->ents);
	h->ents = NULL;
	h->nents = 0;
}

static int snapshot_add(struct kvfs_handle *h, size_t *cap, const char *name,
			uint64_t id, uint32_t mode)
{
	if (h->nents == *cap) {
		size_t n = *cap ? *cap * 2 : 64;
		struct kvfs_dirent *e = realloc(h->ents, n * sizeof(*e));

		if (!e)
			return -ENOMEM;
		h->ents = e;
		*cap = n;
	}
	h->ents[h->nents].name = strdup(name);
	if (!h->ents[h->nents].name)
		return -ENOMEM;
	h->ents[h->nents].id = id;
	h->ents[h->nents].mode = mode;
	h->nents++;
	return 0;
}

static int snapshot_once(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
			 struct kvfs_handle *h)
{
	struct kvfs_inode *dir = h->ino, *up;
	size_t cap = 0;
	int r;

	snapshot_free(h);
	pthread_rwlock_rdlock(&ns->lock);
	up = dir->parent ? dir->parent : dir;
	r = snapshot_add(h, &cap, ".", dir->id, dir->mode);
	if (!r)
		r = snapshot_add(h, &cap, "..", up->id, up->mode);
	for (size_t i = 0; !r && i < dir->dir.nbucket; i++) {
		for (struct kvfs_inode *p = dir->dir.bucket[i]; p && !r; p = p->hnext)
			if (visible(ctx, p))
				r = snapshot_add(h, &cap, p->name, p->id, p->mode);
	}
	pthread_rwlock_unlock(&ns->lock);
	if (r)
		snapshot_free(h);
	return r;
}

int kvfs_ns_readdir_snapshot(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
			     struct kvfs_handle *h)
{
	int r, tries = 0;

	do
		r = snapshot_once(ns, ctx, h);
	while (settle_retry(ns, ctx, &tries));
	return r;
}

int kvfs_ns_readdir_entry(struct kvfs_ns *ns, struct kvfs_handle *h,
			  const struct kvfs_dirent *d, struct kvfs_entry *out)
{
	struct kvfs_inode *ino;
	int r = -ENOENT;

	memset(out, 0, sizeof(*out));
	pthread_rwlock_rdlock(&ns->lock);
	ino = dir_find(h->ino, d->name);
	if (ino && ino->id == d->id) {
		entry_fill(ino, out);
		r = 0;
	}
	pthread_rwlock_unlock(&ns->lock);
	return r;
}

void kvfs_ns_releasedir(struct kvfs_ns *ns, struct kvfs_handle *h)
{
	pthread_rwlock_wrlock(&ns->lock);
	h->ino->nopen--;
	maybe_free(ns, h->ino);
	pthread_rwlock_unlock(&ns->lock);
	snapshot_free(h);
	free(h);
}

int kvfs_ns_evict_locked(struct kvfs_ns *ns, struct kvfs_inode *ino)
{
	struct kvfs_inode *parent = ino->parent;
	uint64_t bytes;
	int r = 0, pinned;

	pthread_rwlock_rdlock(&ino->lock);
	pinned = ino->pinned;
	bytes = ino->t.resident ? ino->data.bytes : kvfs_tier_ssd_bytes(&ino->t);
	pthread_rwlock_unlock(&ino->lock);
	if (ino->ctl || ino->link)
		r = -EPERM; /* a symlink holds no data to give back */
	else if (ino->is_dir)
		r = -EISDIR;
	else if (!parent || ino->nlink == 0)
		r = -ENOENT;
	else if (pinned || !ino->published)
		r = -EBUSY;
	if (r) {
		if (r == -EBUSY)
			atomic_fetch_add(&ns->stats.evict_refused, 1);
		return r;
	}
	/* The hook queues a copy of the name. */
	if (ns->hooks.delete_entry)
		ns->hooks.delete_entry(ns->hooks.arg, parent, ino, ino->name);
	unlink_inode(ns, ino);
	atomic_fetch_add(&ns->stats.evictions, 1);
	atomic_fetch_add(&ns->stats.evicted_bytes, bytes);
	/* The kernel may hold the inode for a while yet; its bytes are of no
	 * use to anyone once no handle is open, and the cache needs them. */
	if (kvfs_inode_users(ino) == 0 && ns->store) {
		pthread_rwlock_wrlock(&ino->lock);
		ino->gone = 1;
		kvfs_store_forget(ns->store, ino);
		pthread_rwlock_unlock(&ino->lock);
	}
	maybe_free(ns, ino);
	return 0;
}

int kvfs_ns_evict(struct kvfs_ns *ns, struct kvfs_inode *ino)
{
	int r;

	pthread_rwlock_wrlock(&ns->lock);
	r = kvfs_ns_evict_locked(ns, ino);
	pthread_rwlock_unlock(&ns->lock);
	return r;
}

/* Prepends "/name" of each ancestor; returns the start within buf. */
static char *path_build(const struct kvfs_inode *ino, char *buf, size_t n)
{
	char *p = buf + n - 1;

	*p = '\0';
	for (; ino && ino->parent; ino = ino->parent) {
		size_t len = strlen(ino->name);

		if ((size_t)(p - buf) < len + 1)
			return NULL;
		p -= len;
		memcpy(p, ino->name, len);
		*--p = '/';
	}
	return ino ? p : NULL;
}

void kvfs_ns_path(struct kvfs_ns *ns, struct kvfs_inode *ino, char *buf,
		  size_t n)
{
	char *p = NULL;

	if (pthread_rwlock_tryrdlock(&ns->lock) == 0) {
		p = ino->nlink ? path_build(ino, buf, n) : NULL;
		if (p)
			memmove(buf, p, strlen(p) + 1);
		pthread_rwlock_unlock(&ns->lock);
	}
	if (!p)
		snprintf(buf, n, "(inode %llu)", (unsigned long long)ino->id);
}

/* ---- the control directory ---- */

int kvfs_ns_ctl_mkdir(struct kvfs_ns *ns)
{
	struct kvfs_inode *dir;

	KVFS_ASSERT(ns->root && !ns->ctl);
	dir = inode_new(ns, S_IFDIR | 0555, ns->root_uid, ns->root_gid,
			KVFS_CTL_NAME);
	if (!dir)
		return -ENOMEM;
	dir->id = KVFS_CTL_INO;
	dir->ctl = KVFS_CTL_DIR;
	dir->parent = ns->root; /* for "..", without a place in its table */
	ns->ctl = dir;
	return 0;
}

int kvfs_ns_ctl_mkfile(struct kvfs_ns *ns, const char *name, int kind)
{
	struct kvfs_inode *ino;

	KVFS_ASSERT(ns->ctl && kind > KVFS_CTL_DIR);
	if (dir_reserve(ns->ctl, ns->ctl->dir.count + 1) != 0)
		return -ENOMEM;
	ino = inode_new(ns, S_IFREG | 0444, ns->root_uid, ns->root_gid, name);
	if (!ino)
		return -ENOMEM;
	ino->id = KVFS_CTL_INO + (uint64_t)kind;
	ino->ctl = kind;
	dir_insert(ns->ctl, ino);
	return 0;
}

void kvfs_ns_statfs(struct kvfs_ns *ns, struct kvfs_statfs *out)
{
	/* With an SSD tier the filesystem holds what the SSD holds; memory is
	 * a cache in front of it. */
	if (ns->store && ns->store->ssd) {
		out->bytes_total = kvfs_ssd_capacity(ns->store->ssd);
		out->bytes_free = kvfs_ssd_free(ns->store->ssd);
	} else {
		out->bytes_total = ns->mem->size;
		out->bytes_free = kvfs_mem_free(ns->mem);
	}
	out->files = atomic_load(&ns->stats.files) + atomic_load(&ns->stats.dirs);
}

void kvfs_ns_put_open(struct kvfs_ns *ns, struct kvfs_inode *ino)
{
	KVFS_ASSERT(ino->nopen > 0);
	ino->nopen--;
	maybe_free(ns, ino);
}
