/*
 * xattr.c - extended attributes: the cache metadata kvfs exposes, and any
 * other user.* attribute stored as given.
 *
 *   user.kvfs.tier    read-only: where the bytes live: "memory" (only
 *                     there), "memory+ssd" (stored, and in memory too),
 *                     "ssd" (stored; memory holds only the head)
 *   user.kvfs.hits    read-only: reads of the file since it was published
 *   user.kvfs.crc32c  read-only: CRC-32C of the content, 8 hex digits
 *   user.kvfs.pin     "1" while pinned; set "1"/"0", or remove to unpin
 *   user.kvfs.parent  the prefix entry this file extends (a name in the
 *                     same directory); set, get, remove
 *   user.kvfs.last_access  read-only: when the file was last read, seconds
 *                     since the epoch with 9 decimals; absent until then
 *   user.kvfs.evict   write-only: setting "1" evicts the file now
 *                     (kvfs_ns_evict; EBUSY while pinned)
 * Other user.kvfs.* names are reserved (EINVAL); other namespaces are not
 * supported (getxattr ENODATA, setxattr EOPNOTSUPP).  Symbolic links carry
 * none: set and remove are EPERM, get ENODATA, the list empty (Linux
 * refuses user.* on links before kvfs is asked).  security.* is answered
 * before any lock is taken: the kernel asks for security.capability around
 * every write once xattrs are supported.
 *
 * Called from FUSE worker threads; takes ns->lock shared (recording reads the
 * inode's name) and then inode->lock (docs/design.md, "Lock order").
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/limits.h>
#include <sys/xattr.h>

#include "index.h"
#include "ns.h"

#define KV_PREFIX "user.kvfs."

enum kv_attr {
	KV_NONE, KV_TIER, KV_HITS, KV_CRC, KV_PIN, KV_PARENT, KV_LAST_ACCESS,
	KV_EVICT, KV_UNKNOWN
};

static enum kv_attr kv_attr_of(const char *name)
{
	static const char *const names[] = {
		[KV_TIER] = "tier", [KV_HITS] = "hits", [KV_CRC] = "crc32c",
		[KV_PIN] = "pin", [KV_PARENT] = "parent",
		[KV_LAST_ACCESS] = "last_access", [KV_EVICT] = "evict",
	};

	if (strncmp(name, KV_PREFIX, strlen(KV_PREFIX)) != 0)
		return KV_NONE;
	name += strlen(KV_PREFIX);
	for (int i = KV_TIER; i <= KV_EVICT; i++)
		if (strcmp(name, names[i]) == 0)
			return i;
	return KV_UNKNOWN;
}

static int is_user(const char *name)
{
	return strncmp(name, "user.", 5) == 0 && name[5] != '\0';
}

/* Attributes nobody sets or removes: kvfs computes them. */
static int read_only(enum kv_attr a)
{
	return a == KV_TIER || a == KV_HITS || a == KV_CRC || a == KV_LAST_ACCESS;
}

static struct kvfs_xattr *find(struct kvfs_inode *ino, const char *name,
			       struct kvfs_xattr ***pprev)
{
	struct kvfs_xattr **pp = &ino->xattrs;

	while (*pp && strcmp((*pp)->name, name) != 0)
		pp = &(*pp)->next;
	if (pprev)
		*pprev = pp;
	return *pp;
}

/* Copies a value out under getxattr(2)'s rules. */
static ssize_t reply_value(const void *value, size_t len, void *buf, size_t size)
{
	if (size == 0)
		return (ssize_t)len;
	if (len > size)
		return -ERANGE;
	memcpy(buf, value, len);
	return (ssize_t)len;
}

static int store(struct kvfs_inode *ino, const char *name, const void *value,
		 size_t size, int flags)
{
	struct kvfs_xattr **pp, *old = find(ino, name, &pp), *x;
	size_t total = ino->xattr_bytes + size - (old ? old->size : 0);

	if ((flags & XATTR_CREATE) && old)
		return -EEXIST;
	if ((flags & XATTR_REPLACE) && !old)
		return -ENODATA;
	if (total > KVFS_XATTRS_MAX)
		return -ENOSPC;
	x = malloc(sizeof(*x) + size);
	if (!x || !(x->name = strdup(name))) {
		free(x);
		return -ENOMEM;
	}
	memcpy(x->value, value, size);
	x->size = size;
	if (old) {
		x->next = old->next;
		free(old->name);
		free(old);
	} else {
		x->next = NULL;
	}
	*pp = x;
	ino->xattr_bytes = total;
	return 0;
}

int kvfs_xattr_load(struct kvfs_inode *ino, const char *name,
		    const void *value, size_t size)
{
	if (!is_user(name) || kv_attr_of(name) != KV_NONE || size > KVFS_XATTR_MAX)
		return 0; /* not ours to keep; skip rather than fail the start */
	return store(ino, name, value, size, 0);
}

void kvfs_xattr_free_all(struct kvfs_inode *ino)
{
	struct kvfs_xattr *x = ino->xattrs, *next;

	for (; x; x = next) {
		next = x->next;
		free(x->name);
		free(x);
	}
	ino->xattrs = NULL;
	ino->xattr_bytes = 0;
}

static int valid_entry_name(const char *v, size_t size)
{
	if (size == 0 || size > KVFS_NAME_MAX || memchr(v, '/', size) ||
	    memchr(v, '\0', size))
		return 0;
	return !(size == 1 && v[0] == '.') && !(size == 2 && v[0] == '.' && v[1] == '.');
}

/* Sets one of the settable kvfs attributes.  Caller holds ino->lock. */
static int set_kv(struct kvfs_inode *ino, enum kv_attr a, const char *v,
		  size_t size)
{
	char *copy;

	if (a == KV_PIN) {
		if (size != 1 || (v[0] != '0' && v[0] != '1'))
			return -EINVAL;
		ino->pinned = v[0] == '1';
		return 0;
	}
	if (!valid_entry_name(v, size))
		return -EINVAL;
	copy = strndup(v, size);
	if (!copy)
		return -ENOMEM;
	free(ino->kv_parent);
	ino->kv_parent = copy;
	return 0;
}

int kvfs_xattr_set(struct kvfs_ns *ns, struct kvfs_inode *ino, const char *name,
		   const void *value, size_t size, int flags)
{
	enum kv_attr a = kv_attr_of(name);
	int r;

	if (!is_user(name))
		return -EOPNOTSUPP;
	if (strlen(name) > XATTR_NAME_MAX)
		return -ERANGE;
	if (size > KVFS_XATTR_MAX)
		return -E2BIG;
	if (a == KV_UNKNOWN)
		return -EINVAL;
	if (ino->ctl || ino->link)
		return -EPERM; /* symlinks: as Linux for user.* on them */
	if (a == KV_EVICT) {
		if (size != 1 || ((const char *)value)[0] != '1')
			return -EINVAL;
		return kvfs_ns_evict(ns, ino);
	}
	if (read_only(a) || (a != KV_NONE && ino->is_dir))
		return -EPERM;
	pthread_rwlock_rdlock(&ns->lock);
	pthread_rwlock_wrlock(&ino->lock);
	if (a != KV_NONE) {
		r = set_kv(ino, a, value, size);
		if (r == 0)
			kvfs_ns_record(ns, ino, 0);
	} else {
		r = store(ino, name, value, size, flags);
		if (r == 0 && ino->in_index && ns->index)
			kvfs_index_xattr_put(ns->index, ino->id, name, value, size);
	}
	if (r == 0)
		kvfs_now(&ino->ctime);
	pthread_rwlock_unlock(&ino->lock);
	pthread_rwlock_unlock(&ns->lock);
	return r;
}

/* Formats a kvfs attribute.  Returns its length, or -ENODATA when unset.
 * Caller holds ino->lock for writing (the CRC may be recomputed). */
static int get_kv(struct kvfs_ns *ns, struct kvfs_inode *ino, enum kv_attr a,
		  char *out, size_t outsz)
{
	switch (a) {
	case KV_TIER: /* tier.h's states: MEM, BOTH, SSD */
		if (!ino->t.resident)
			return snprintf(out, outsz, "ssd");
		if (kvfs_inode_stored(ino))
			return snprintf(out, outsz, "memory+ssd");
		return snprintf(out, outsz, "memory");
	case KV_HITS:
		return snprintf(out, outsz, "%" PRIu64, (uint64_t)atomic_load(&ino->hits));
	case KV_CRC:
		kvfs_file_crc_refresh(ns, ino);
		return snprintf(out, outsz, "%08x", ino->crc);
	case KV_PIN:
		return ino->pinned ? snprintf(out, outsz, "1") : -ENODATA;
	case KV_PARENT:
		return ino->kv_parent ? snprintf(out, outsz, "%s", ino->kv_parent) : -ENODATA;
	case KV_LAST_ACCESS: {
		int64_t t = atomic_load(&ino->last_access_ns);

		if (t <= 0)
			return -ENODATA;
		return snprintf(out, outsz, "%" PRId64 ".%09" PRId64,
				t / 1000000000, t % 1000000000);
	}
	default:
		return -ENODATA;
	}
}

ssize_t kvfs_xattr_get(struct kvfs_ns *ns, struct kvfs_inode *ino,
		       const char *name, void *buf, size_t size)
{
	enum kv_attr a = kv_attr_of(name);
	char kv[KVFS_NAME_MAX + 1];
	struct kvfs_xattr *x;
	ssize_t r;

	if (!is_user(name) || a == KV_UNKNOWN || (a != KV_NONE && ino->is_dir) ||
	    ino->ctl || ino->link)
		return -ENODATA;
	if (a != KV_NONE) {
		pthread_rwlock_wrlock(&ino->lock);
		r = get_kv(ns, ino, a, kv, sizeof(kv));
		pthread_rwlock_unlock(&ino->lock);
		return r < 0 ? r : reply_value(kv, (size_t)r, buf, size);
	}
	pthread_rwlock_rdlock(&ino->lock);
	x = find(ino, name, NULL);
	r = x ? reply_value(x->value, x->size, buf, size) : -ENODATA;
	pthread_rwlock_unlock(&ino->lock);
	return r;
}

/* Appends one name (with its NUL) to a listxattr buffer. */
static void list_add(char *buf, size_t size, size_t *len, const char *name)
{
	size_t n = strlen(name) + 1;

	if (size && *len + n <= size)
		memcpy(buf + *len, name, n);
	*len += n;
}

ssize_t kvfs_xattr_list(struct kvfs_ns *ns, struct kvfs_inode *ino, char *buf,
			size_t size)
{
	size_t len = 0;

	(void)ns;
	if (ino->link)
		return 0; /* symlinks carry no xattrs */
	pthread_rwlock_rdlock(&ino->lock);
	if (!ino->is_dir && !ino->ctl) {
		list_add(buf, size, &len, KV_PREFIX "tier");
		list_add(buf, size, &len, KV_PREFIX "hits");
		list_add(buf, size, &len, KV_PREFIX "crc32c");
		if (ino->pinned)
			list_add(buf, size, &len, KV_PREFIX "pin");
		if (ino->kv_parent)
			list_add(buf, size, &len, KV_PREFIX "parent");
		if (atomic_load(&ino->last_access_ns) > 0)
			list_add(buf, size, &len, KV_PREFIX "last_access");
	}
	for (struct kvfs_xattr *x = ino->xattrs; x; x = x->next)
		list_add(buf, size, &len, x->name);
	pthread_rwlock_unlock(&ino->lock);
	if (size && len > size)
		return -ERANGE;
	return (ssize_t)len;
}

int kvfs_xattr_remove(struct kvfs_ns *ns, struct kvfs_inode *ino,
		      const char *name)
{
	enum kv_attr a = kv_attr_of(name);
	struct kvfs_xattr **pp, *x;
	int r = 0;

	if (!is_user(name) || a == KV_UNKNOWN || a == KV_EVICT)
		return -ENODATA;
	if (ino->ctl || ino->link || read_only(a) || (a != KV_NONE && ino->is_dir))
		return -EPERM;
	pthread_rwlock_rdlock(&ns->lock);
	pthread_rwlock_wrlock(&ino->lock);
	if (a == KV_PIN || a == KV_PARENT) {
		if (a == KV_PIN ? !ino->pinned : !ino->kv_parent)
			r = -ENODATA;
		ino->pinned = a == KV_PIN ? 0 : ino->pinned;
		if (a == KV_PARENT) {
			free(ino->kv_parent);
			ino->kv_parent = NULL;
		}
		if (r == 0)
			kvfs_ns_record(ns, ino, 0);
	} else if (!(x = find(ino, name, &pp))) {
		r = -ENODATA;
	} else {
		*pp = x->next;
		ino->xattr_bytes -= x->size;
		free(x->name);
		free(x);
		if (ino->in_index && ns->index)
			kvfs_index_xattr_del(ns->index, ino->id, name);
	}
	if (r == 0)
		kvfs_now(&ino->ctime);
	pthread_rwlock_unlock(&ino->lock);
	pthread_rwlock_unlock(&ns->lock);
	return r;
}
