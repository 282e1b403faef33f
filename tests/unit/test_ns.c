/*
 * test_ns.c - the namespace without FUSE: publish states, rename, unlink
 * while open, ENOSPC, checksums, xattrs, and a round trip through the index.
 *
 * Two callers are simulated with kvfs_ctx values whose tgid is preset, so
 * "process A" and "process B" need no real processes.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <cmocka.h>

#include "crc32c.h"
#include "index.h"
#include "kvfs.h"
#include "ns.h"

#define MEM (16u << 20)

struct fixture {
	struct kvfs_mem mem;
	struct kvfs_ns ns;
	struct kvfs_ctx a, b;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(kvfs_mem_open(&f->mem, MEM, 0), 0);
	assert_int_equal(kvfs_ns_init(&f->ns, &f->mem, NULL, getuid(), getgid()), 0);
	assert_int_equal(kvfs_ns_load(&f->ns), 0);
	/* Process ids above the kernel's largest pid_max (2^22) never exist,
	 * so /proc reports them holding no descriptors. */
	f->a = (struct kvfs_ctx){ .tid = (1 << 22) + 1, .tgid = (1 << 22) + 1 };
	f->b = (struct kvfs_ctx){ .tid = (1 << 22) + 2, .tgid = (1 << 22) + 2 };
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	kvfs_ns_release(&f->ns);
	kvfs_mem_close(&f->mem);
	free(f);
	return 0;
}

static void fill(char *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)((i * 2654435761u + seed) >> 13);
}

/* Creates `name` as ctx, writes len pattern bytes and closes it. */
static struct kvfs_inode *make_file_in(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
				       const char *name, size_t len, unsigned seed)
{
	struct kvfs_handle *h;
	struct kvfs_entry e;
	char *buf = malloc(len ? len : 1);

	assert_non_null(buf);
	fill(buf, len, seed);
	assert_int_equal(kvfs_ns_create(ns, ctx, ns->root, name, 0644,
					O_WRONLY, &e, &h), 0);
	if (len)
		assert_int_equal(kvfs_file_write(ns, h, buf, len, 0), (ssize_t)len);
	assert_int_equal(kvfs_file_flush(ns, ctx, h), 0);
	kvfs_file_release(ns, h);
	kvfs_ns_forget(ns, e.ino, 1);
	free(buf);
	return e.ino;
}

#define make_file(f, ctx, name, len, seed) make_file_in(&(f)->ns, ctx, name, len, seed)

static void read_all(struct fixture *f, struct kvfs_handle *h, uint64_t off,
		     char *out, size_t len)
{
	struct iovec iov[64];
	ssize_t n;
	size_t done = 0;
	int niov;
	void *bounce;

	n = kvfs_file_read_begin(&f->ns, h, off, len, iov, 64, &niov, &bounce);
	assert_true(n >= 0);
	for (int i = 0; i < niov; i++) {
		memcpy(out + done, iov[i].iov_base, iov[i].iov_len);
		done += iov[i].iov_len;
	}
	kvfs_file_read_done(&f->ns, h, bounce);
	assert_int_equal(done, (size_t)n);
	assert_int_equal(n, (ssize_t)len);
}

static void test_unpublished_is_private(void **state)
{
	struct fixture *f = *state;
	struct kvfs_handle *h, *hb;
	struct kvfs_entry e, l;

	assert_int_equal(kvfs_ns_create(&f->ns, &f->a, f->ns.root, "x.kv", 0644,
					O_WRONLY, &e, &h), 0);
	assert_false(e.published);
	assert_int_equal(kvfs_file_write(&f->ns, h, "hello", 5, 0), 5);

	/* B misses it, may not cache the miss, and cannot take the name. */
	assert_int_equal(kvfs_ns_lookup(&f->ns, &f->b, f->ns.root, "x.kv", &l), -ENOENT);
	assert_false(l.published);
	assert_int_equal(kvfs_ns_create(&f->ns, &f->b, f->ns.root, "x.kv", 0644,
					O_WRONLY, &l, &hb), -EBUSY);
	/* A sees it. */
	assert_int_equal(kvfs_ns_lookup(&f->ns, &f->a, f->ns.root, "x.kv", &l), 0);
	assert_ptr_equal(l.ino, e.ino);
	kvfs_ns_forget(&f->ns, l.ino, 1);

	/* B's flush (a forked child closing its copy) does not publish. */
	assert_int_equal(kvfs_file_flush(&f->ns, &f->b, h), 0);
	assert_int_equal(kvfs_ns_lookup(&f->ns, &f->b, f->ns.root, "x.kv", &l), -ENOENT);
	/* A's flush does. */
	assert_int_equal(kvfs_file_flush(&f->ns, &f->a, h), 0);
	assert_int_equal(kvfs_ns_lookup(&f->ns, &f->b, f->ns.root, "x.kv", &l), 0);
	assert_true(l.published);
	assert_int_equal(l.st.st_size, 5);
	kvfs_ns_forget(&f->ns, l.ino, 1);
	kvfs_file_release(&f->ns, h);
	kvfs_ns_forget(&f->ns, e.ino, 1);
}

static void test_release_publishes_without_owner_flush(void **state)
{
	struct fixture *f = *state;
	struct kvfs_handle *h;
	struct kvfs_entry e, l;

	assert_int_equal(kvfs_ns_create(&f->ns, &f->a, f->ns.root, "y", 0644,
					O_WRONLY, &e, &h), 0);
	kvfs_file_release(&f->ns, h);
	assert_int_equal(kvfs_ns_lookup(&f->ns, &f->b, f->ns.root, "y", &l), 0);
	kvfs_ns_forget(&f->ns, l.ino, 1);
	kvfs_ns_forget(&f->ns, e.ino, 1);
}

static void test_readdir_hides_unpublished(void **state)
{
	struct fixture *f = *state;
	struct kvfs_handle *h, *d;
	struct kvfs_entry e;
	int seen_a = 0, seen_b = 0;

	make_file(f, &f->a, "done", 10, 1);
	assert_int_equal(kvfs_ns_create(&f->ns, &f->a, f->ns.root, "busy", 0644,
					O_WRONLY, &e, &h), 0);
	assert_int_equal(kvfs_ns_opendir(&f->ns, &f->b, f->ns.root, &d), 0);
	assert_int_equal(kvfs_ns_readdir_snapshot(&f->ns, &f->b, d), 0);
	for (size_t i = 0; i < d->nents; i++) {
		seen_b += strcmp(d->ents[i].name, "busy") == 0;
		seen_a += strcmp(d->ents[i].name, "done") == 0;
	}
	assert_int_equal(d->nents, 3); /* ".", "..", "done" */
	assert_int_equal(seen_b, 0);
	assert_int_equal(seen_a, 1);
	assert_int_equal(kvfs_ns_readdir_snapshot(&f->ns, &f->a, d), 0);
	assert_int_equal(d->nents, 4);
	kvfs_ns_releasedir(&f->ns, d);
	kvfs_file_release(&f->ns, h);
	kvfs_ns_forget(&f->ns, e.ino, 1);
}

static void test_rename_replace_keeps_old_reader(void **state)
{
	struct fixture *f = *state;
	struct kvfs_handle *h;
	struct kvfs_entry l;
	char buf[8192], want[8192];

	make_file(f, &f->a, "final", sizeof(buf), 7);
	make_file(f, &f->a, "final.tmp", 100, 9);
	assert_int_equal(kvfs_ns_lookup(&f->ns, &f->b, f->ns.root, "final", &l), 0);
	assert_int_equal(kvfs_file_open(&f->ns, &f->b, l.ino, O_RDONLY, 0, &h), 0);

	assert_int_equal(kvfs_ns_rename(&f->ns, &f->a, f->ns.root, "final.tmp",
					f->ns.root, "final", 0), 0);
	fill(want, sizeof(want), 7);
	read_all(f, h, 0, buf, sizeof(buf));
	assert_memory_equal(buf, want, sizeof(buf));
	kvfs_file_release(&f->ns, h);
	kvfs_ns_forget(&f->ns, l.ino, 1); /* frees the replaced inode */

	assert_int_equal(kvfs_ns_lookup(&f->ns, &f->b, f->ns.root, "final", &l), 0);
	assert_int_equal(l.st.st_size, 100);
	kvfs_ns_forget(&f->ns, l.ino, 1);
	assert_int_equal(kvfs_ns_lookup(&f->ns, &f->b, f->ns.root, "final.tmp", &l), -ENOENT);
	assert_true(l.published); /* a true miss: cacheable */
}

static void test_rename_flags_and_errors(void **state)
{
	struct fixture *f = *state;
	struct kvfs_entry d1, d2, l;
	struct kvfs_inode *root = f->ns.root;

	make_file(f, &f->a, "p", 1, 1);
	make_file(f, &f->a, "q", 2, 2);
	assert_int_equal(kvfs_ns_rename(&f->ns, &f->a, root, "p", root, "q",
					RENAME_NOREPLACE), -EEXIST);
	assert_int_equal(kvfs_ns_rename(&f->ns, &f->a, root, "p", root, "q",
					RENAME_NOREPLACE | RENAME_EXCHANGE), -EINVAL);
	assert_int_equal(kvfs_ns_rename(&f->ns, &f->a, root, "p", root, "q",
					RENAME_EXCHANGE), 0);
	assert_int_equal(kvfs_ns_lookup(&f->ns, &f->a, root, "p", &l), 0);
	assert_int_equal(l.st.st_size, 2);
	kvfs_ns_forget(&f->ns, l.ino, 1);

	assert_int_equal(kvfs_ns_mkdir(&f->ns, &f->a, root, "d", 0755, &d1), 0);
	assert_int_equal(kvfs_ns_mkdir(&f->ns, &f->a, d1.ino, "sub", 0755, &d2), 0);
	assert_int_equal(kvfs_ns_rename(&f->ns, &f->a, root, "d", d2.ino, "x", 0), -EINVAL);
	assert_int_equal(kvfs_ns_rename(&f->ns, &f->a, root, "p", root, "d", 0), -EISDIR);
	assert_int_equal(kvfs_ns_rename(&f->ns, &f->a, d1.ino, "sub", root, "p", 0), -ENOTDIR);
	assert_int_equal(kvfs_ns_mkdir(&f->ns, &f->a, root, "e", 0755, &l), 0);
	kvfs_ns_forget(&f->ns, l.ino, 1);
	assert_int_equal(kvfs_ns_rename(&f->ns, &f->a, root, "e", root, "d", 0), -ENOTEMPTY);
	assert_int_equal(kvfs_ns_rmdir(&f->ns, &f->a, root, "d"), -ENOTEMPTY);
	assert_int_equal(kvfs_ns_rename(&f->ns, &f->a, d1.ino, "sub", root, "sub2", 0), 0);
	assert_int_equal(kvfs_ns_rmdir(&f->ns, &f->a, root, "d"), 0);
	assert_int_equal(kvfs_ns_rmdir(&f->ns, &f->a, root, "p"), -ENOTDIR);
	assert_int_equal(kvfs_ns_unlink(&f->ns, &f->a, root, "sub2"), -EISDIR);
	kvfs_ns_forget(&f->ns, d1.ino, 1);
	kvfs_ns_forget(&f->ns, d2.ino, 1);
	assert_int_equal(kvfs_ns_rename(&f->ns, &f->a, root, "nope", root, "x", 0), -ENOENT);
}

static void test_unlink_while_open(void **state)
{
	struct fixture *f = *state;
	uint64_t free0 = kvfs_alloc_free_units(&f->mem.alloc);
	struct kvfs_inode *ino;
	struct kvfs_handle *h;
	struct kvfs_entry l;
	char buf[100000], want[100000];

	make_file(f, &f->a, "u", sizeof(buf), 3);
	assert_true(kvfs_alloc_free_units(&f->mem.alloc) < free0);
	assert_int_equal(kvfs_ns_lookup(&f->ns, &f->a, f->ns.root, "u", &l), 0);
	ino = l.ino;
	assert_int_equal(kvfs_file_open(&f->ns, &f->a, ino, O_RDWR, 0, &h), 0);
	assert_int_equal(kvfs_ns_unlink(&f->ns, &f->a, f->ns.root, "u"), 0);
	assert_int_equal(kvfs_ns_lookup(&f->ns, &f->a, f->ns.root, "u", &l), -ENOENT);

	fill(want, sizeof(want), 3);
	read_all(f, h, 0, buf, sizeof(buf));
	assert_memory_equal(buf, want, sizeof(buf));
	assert_int_equal(kvfs_file_write(&f->ns, h, "tail", 4, sizeof(buf)), 4);
	kvfs_file_release(&f->ns, h);
	assert_true(kvfs_alloc_free_units(&f->mem.alloc) < free0); /* lookup held */
	kvfs_ns_forget(&f->ns, ino, 1);
	assert_int_equal(kvfs_alloc_free_units(&f->mem.alloc), free0);
}

static void test_enospc_keeps_stored(void **state)
{
	struct fixture *f = *state;
	struct kvfs_handle *h;
	struct kvfs_entry e, l;
	size_t chunk = 1 << 20;
	char *buf = malloc(chunk), *got = malloc(4 << 20), *want = malloc(4 << 20);
	uint64_t off = 0;
	ssize_t r;

	make_file(f, &f->a, "keep", 4 << 20, 11);
	fill(buf, chunk, 5);
	assert_int_equal(kvfs_ns_create(&f->ns, &f->a, f->ns.root, "fill", 0644,
					O_WRONLY, &e, &h), 0);
	while ((r = kvfs_file_write(&f->ns, h, buf, chunk, off)) > 0)
		off += (uint64_t)r;
	assert_int_equal(r, -ENOSPC);
	assert_int_equal(e.ino->size, off); /* the failed write changed nothing */
	kvfs_file_release(&f->ns, h);
	kvfs_ns_forget(&f->ns, e.ino, 1);

	assert_int_equal(kvfs_ns_lookup(&f->ns, &f->a, f->ns.root, "keep", &l), 0);
	assert_int_equal(kvfs_file_open(&f->ns, &f->a, l.ino, O_RDONLY, 0, &h), 0);
	read_all(f, h, 0, got, 1 << 20);
	fill(want, 4 << 20, 11);
	assert_memory_equal(got, want, 1 << 20);
	kvfs_file_release(&f->ns, h);
	kvfs_ns_forget(&f->ns, l.ino, 1);
	assert_int_equal(kvfs_ns_unlink(&f->ns, &f->a, f->ns.root, "fill"), 0);
	assert_int_equal(kvfs_alloc_check(&f->mem.alloc), 0);
	free(buf);
	free(got);
	free(want);
}

static void test_inplace_header_rewrite(void **state)
{
	struct fixture *f = *state;
	size_t len = 8 << 20;
	char *want = malloc(len);
	struct kvfs_inode *ino = make_file(f, &f->a, "big.kv", len, 21);
	struct kvfs_entry l;
	struct kvfs_handle *h;
	uint64_t bytes, free_units;

	fill(want, len, 21);
	assert_true(ino->crc_valid);
	assert_int_equal(ino->crc, kvfs_crc32c(0, want, len));
	bytes = ino->data.bytes;
	free_units = kvfs_alloc_free_units(&f->mem.alloc);

	assert_int_equal(kvfs_ns_lookup(&f->ns, &f->b, f->ns.root, "big.kv", &l), 0);
	assert_int_equal(kvfs_file_open(&f->ns, &f->b, l.ino, O_RDWR, 0, &h), 0);
	memset(want, 'H', 48);
	assert_int_equal(kvfs_file_write(&f->ns, h, want, 48, 0), 48);
	/* Written in place: no new space, and the checksum stays exact. */
	assert_int_equal(ino->data.bytes, bytes);
	assert_int_equal(kvfs_alloc_free_units(&f->mem.alloc), free_units);
	assert_true(ino->crc_valid);
	assert_int_equal(ino->crc, kvfs_crc32c(0, want, len));
	assert_int_equal(kvfs_file_flush(&f->ns, &f->b, h), 0);
	kvfs_file_release(&f->ns, h);
	kvfs_ns_forget(&f->ns, l.ino, 1);
	free(want);
}

static void test_xattrs(void **state)
{
	struct fixture *f = *state;
	struct kvfs_inode *ino = make_file(f, &f->a, "page.bin", 4096, 4);
	char buf[512];
	ssize_t n;

	assert_int_equal(kvfs_xattr_get(&f->ns, ino, "user.kvfs.tier", buf, sizeof(buf)), 6);
	assert_memory_equal(buf, "memory", 6);
	assert_int_equal(kvfs_xattr_set(&f->ns, ino, "user.kvfs.tier", "ssd", 3, 0), -EPERM);
	assert_int_equal(kvfs_xattr_set(&f->ns, ino, "user.kvfs.bogus", "1", 1, 0), -EINVAL);
	assert_int_equal(kvfs_xattr_get(&f->ns, ino, "user.kvfs.pin", buf, sizeof(buf)), -ENODATA);
	assert_int_equal(kvfs_xattr_set(&f->ns, ino, "user.kvfs.pin", "1", 1, 0), 0);
	assert_true(ino->pinned);
	assert_int_equal(kvfs_xattr_set(&f->ns, ino, "user.kvfs.pin", "2", 1, 0), -EINVAL);
	assert_int_equal(kvfs_xattr_set(&f->ns, ino, "user.kvfs.parent", "a/b", 3, 0), -EINVAL);
	assert_int_equal(kvfs_xattr_set(&f->ns, ino, "user.kvfs.parent", "prev.bin", 8, 0), 0);
	assert_int_equal(kvfs_xattr_set(&f->ns, ino, "user.model", "llama", 5, XATTR_CREATE), 0);
	assert_int_equal(kvfs_xattr_set(&f->ns, ino, "user.model", "x", 1, XATTR_CREATE), -EEXIST);
	assert_int_equal(kvfs_xattr_set(&f->ns, ino, "user.none", "x", 1, XATTR_REPLACE), -ENODATA);
	assert_int_equal(kvfs_xattr_set(&f->ns, ino, "trusted.x", "x", 1, 0), -EOPNOTSUPP);
	assert_int_equal(kvfs_xattr_get(&f->ns, ino, "user.model", buf, 2), -ERANGE);
	assert_int_equal(kvfs_xattr_get(&f->ns, ino, "user.model", NULL, 0), 5);

	n = kvfs_xattr_list(&f->ns, ino, buf, sizeof(buf));
	assert_int_equal(n, sizeof("user.kvfs.tier") + sizeof("user.kvfs.hits") +
			 sizeof("user.kvfs.crc32c") + sizeof("user.kvfs.pin") +
			 sizeof("user.kvfs.parent") + sizeof("user.model"));
	assert_int_equal(kvfs_xattr_list(&f->ns, ino, buf, 4), -ERANGE);
	assert_int_equal(kvfs_xattr_remove(&f->ns, ino, "user.kvfs.pin"), 0);
	assert_false(ino->pinned);
	assert_int_equal(kvfs_xattr_remove(&f->ns, ino, "user.kvfs.pin"), -ENODATA);
	assert_int_equal(kvfs_xattr_remove(&f->ns, ino, "user.model"), 0);
	assert_int_equal(kvfs_xattr_get(&f->ns, ino, "user.model", buf, sizeof(buf)), -ENODATA);
	n = kvfs_xattr_get(&f->ns, ino, "user.kvfs.crc32c", buf, sizeof(buf));
	assert_int_equal(n, 8);
}

static void test_names(void **state)
{
	struct fixture *f = *state;
	char name[300];
	struct kvfs_entry e;

	memset(name, 'n', sizeof(name));
	name[256] = '\0';
	assert_int_equal(kvfs_ns_lookup(&f->ns, &f->a, f->ns.root, name, &e), -ENAMETOOLONG);
	assert_int_equal(kvfs_ns_mkdir(&f->ns, &f->a, f->ns.root, name, 0755, &e), -ENAMETOOLONG);
	name[255] = '\0';
	assert_int_equal(kvfs_ns_mkdir(&f->ns, &f->a, f->ns.root, name, 0755, &e), 0);
	kvfs_ns_forget(&f->ns, e.ino, 1);
	assert_int_equal(kvfs_ns_mkdir(&f->ns, &f->a, f->ns.root, name, 0755, &e), -EEXIST);
	assert_int_equal(kvfs_ns_mknod(&f->ns, &f->a, f->ns.root, "fifo", S_IFIFO | 0644, &e), -EPERM);
}

static void test_truncate_and_setattr(void **state)
{
	struct fixture *f = *state;
	struct kvfs_inode *ino = make_file(f, &f->a, "t", 10000, 8);
	struct stat attr = { .st_size = 5000, .st_mode = 0600 }, out;
	char *want = calloc(1, 20000);

	assert_int_equal(kvfs_file_setattr(&f->ns, &f->a, ino, &attr,
					   KVFS_SET_SIZE | KVFS_SET_MODE, &out), 0);
	assert_int_equal(out.st_size, 5000);
	assert_int_equal(out.st_mode, S_IFREG | 0600);
	attr.st_size = 20000;
	assert_int_equal(kvfs_file_setattr(&f->ns, &f->a, ino, &attr, KVFS_SET_SIZE, &out), 0);
	/* Shrinking then growing reads back zeros past the cut. */
	fill(want, 5000, 8);
	kvfs_file_crc_refresh(&f->ns, ino);
	assert_int_equal(ino->crc, kvfs_crc32c(0, want, 20000));
	attr.st_size = -1;
	assert_int_equal(kvfs_file_setattr(&f->ns, &f->a, ino, &attr, KVFS_SET_SIZE, &out), -EINVAL);
	free(want);
}

/* With the hasher running, a new file's checksum is left stale while it is
 * written and computed after publish.  A file unlinked right after its
 * publish is let go (the hasher skips files with no name: nobody can ask
 * for their checksum by name), and its memory comes back at the kernel's
 * forget either way. */
static void test_hasher_computes_after_publish(void **state)
{
	struct fixture *f = *state;
	size_t len = 3 << 20;
	char *want = malloc(len);
	struct kvfs_handle *h;
	struct kvfs_entry e;
	uint64_t free0 = kvfs_alloc_free_units(&f->mem.alloc);

	fill(want, len, 33);
	assert_int_equal(kvfs_hasher_start(&f->ns), 0);
	assert_int_equal(kvfs_ns_create(&f->ns, &f->a, f->ns.root, "h", 0644,
					O_WRONLY, &e, &h), 0);
	assert_int_equal(kvfs_file_write(&f->ns, h, want, len, 0), (ssize_t)len);
	assert_false(e.ino->crc_valid); /* not computed on the write path */
	assert_int_equal(kvfs_file_flush(&f->ns, &f->a, h), 0);
	kvfs_file_release(&f->ns, h);
	for (int i = 0; i < 2000 && !e.ino->crc_valid; i++)
		usleep(1000);
	assert_true(e.ino->crc_valid);
	assert_int_equal(e.ino->crc, kvfs_crc32c(0, want, len));
	assert_int_equal(kvfs_ns_unlink(&f->ns, &f->a, f->ns.root, "h"), 0);
	kvfs_ns_forget(&f->ns, e.ino, 1);
	assert_int_equal(kvfs_alloc_free_units(&f->mem.alloc), free0);

	/* Unlinked right after publish. */
	assert_int_equal(kvfs_ns_create(&f->ns, &f->a, f->ns.root, "u", 0644,
					O_WRONLY, &e, &h), 0);
	assert_int_equal(kvfs_file_write(&f->ns, h, want, len, 0), (ssize_t)len);
	assert_int_equal(kvfs_file_flush(&f->ns, &f->a, h), 0);
	kvfs_file_release(&f->ns, h);
	assert_int_equal(kvfs_ns_unlink(&f->ns, &f->a, f->ns.root, "u"), 0);
	for (int i = 0; i < 2000 && atomic_load(&f->ns.stats.crc_pending); i++)
		usleep(1000);
	assert_int_equal(atomic_load(&f->ns.stats.crc_pending), 0);
	kvfs_hasher_stop(&f->ns);
	kvfs_ns_forget(&f->ns, e.ino, 1);
	assert_int_equal(kvfs_alloc_free_units(&f->mem.alloc), free0);
	free(want);
}

static char tmpdir[64];

static void rm_state(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	assert_int_equal(system(cmd), 0);
}

static void test_index_restart_keeps_dirs(void **state)
{
	struct fixture *f = *state;
	struct kvfs_index *ix;
	struct kvfs_ns ns;
	struct kvfs_entry d, l;
	char buf[16];

	(void)f;
	strcpy(tmpdir, "/tmp/kvfs-test-ns-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	assert_int_equal(kvfs_index_open(&ix, tmpdir), 0);
	assert_int_equal(kvfs_ns_init(&ns, &f->mem, ix, 0, 0), 0);
	assert_int_equal(kvfs_ns_load(&ns), 0);
	assert_int_equal(kvfs_ns_mkdir(&ns, &f->a, ns.root, "models", 0750, &d), 0);
	assert_int_equal(kvfs_xattr_set(&ns, d.ino, "user.owner", "team", 4, 0), 0);
	kvfs_ns_forget(&ns, d.ino, 1);
	make_file_in(&ns, &f->a, "file", 10, 1);
	kvfs_ns_release(&ns);
	kvfs_index_close(ix);

	assert_int_equal(kvfs_index_open(&ix, tmpdir), 0);
	assert_int_equal(kvfs_index_drop_files(ix), 1);
	assert_int_equal(kvfs_ns_init(&ns, &f->mem, ix, 0, 0), 0);
	assert_int_equal(kvfs_ns_load(&ns), 0);
	assert_int_equal(kvfs_ns_lookup(&ns, &f->a, ns.root, "models", &l), 0);
	assert_int_equal(l.st.st_mode, S_IFDIR | 0750);
	assert_int_equal(kvfs_xattr_get(&ns, l.ino, "user.owner", buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "team", 4);
	kvfs_ns_forget(&ns, l.ino, 1);
	assert_int_equal(kvfs_ns_lookup(&ns, &f->a, ns.root, "file", &l), -ENOENT);
	kvfs_ns_release(&ns);
	kvfs_index_close(ix);
	rm_state();
}

/* Issue 11 item 4: in-place writes while the hasher's pass runs over a
 * just-published file patch the pass (behind it), tear its step (inside
 * it) or are read new (ahead of it), and never wait for it; the checksum
 * the pass settles on is the CRC of the final bytes.  Random 48-byte
 * rewrites from this thread race the hasher thread; rounds repeat until a
 * pass that saw rewrites completes. */
static void test_hasher_patched_by_rewrites(void **state)
{
	struct fixture *f = *state;
	size_t len = 12 << 20;
	char *want = malloc(len), hdr[48];
	struct kvfs_handle *h;
	struct kvfs_entry e;
	unsigned seed = 7;
	int settled = 0;

	assert_non_null(want);
	assert_int_equal(kvfs_hasher_start(&f->ns), 0);
	for (int round = 0; round < 20 && !settled; round++) {
		uint64_t patched0 = atomic_load(&f->ns.stats.crc_patched_writes);
		char name[16];

		snprintf(name, sizeof(name), "p%d", round);
		fill(want, len, 40 + round);
		assert_int_equal(kvfs_ns_create(&f->ns, &f->a, f->ns.root, name, 0644,
						O_RDWR, &e, &h), 0);
		assert_int_equal(kvfs_file_write(&f->ns, h, want, len, 0), (ssize_t)len);
		assert_int_equal(kvfs_file_flush(&f->ns, &f->a, h), 0); /* publish */
		for (int i = 0; i < 4000 && atomic_load(&f->ns.stats.crc_pending); i++) {
			uint64_t off = (uint64_t)rand_r(&seed) % (len - sizeof(hdr));

			for (size_t k = 0; k < sizeof(hdr); k++)
				hdr[k] = (char)rand_r(&seed);
			assert_int_equal(kvfs_file_write(&f->ns, h, hdr, sizeof(hdr), off),
					 (ssize_t)sizeof(hdr));
			memcpy(want + off, hdr, sizeof(hdr));
			if (i % 8 == 7)
				usleep(20);
		}
		kvfs_file_release(&f->ns, h);
		for (int i = 0; i < 5000 && atomic_load(&f->ns.stats.crc_pending); i++)
			usleep(1000);
		assert_int_equal(atomic_load(&f->ns.stats.crc_pending), 0);
		pthread_rwlock_rdlock(&e.ino->lock);
		if (e.ino->crc_valid) /* the hasher may give up; never be wrong */
			assert_int_equal(e.ino->crc, kvfs_crc32c(0, want, len));
		settled = e.ino->crc_valid &&
			  atomic_load(&f->ns.stats.crc_patched_writes) > patched0;
		pthread_rwlock_unlock(&e.ino->lock);
		assert_int_equal(kvfs_ns_unlink(&f->ns, &f->a, f->ns.root, name), 0);
		kvfs_ns_forget(&f->ns, e.ino, 1);
	}
	assert_true(settled);
	kvfs_hasher_stop(&f->ns);
	free(want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unpublished_is_private, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_publishes_without_owner_flush, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readdir_hides_unpublished, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename_replace_keeps_old_reader, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename_flags_and_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unlink_while_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enospc_keeps_stored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inplace_header_rewrite, setup, teardown),
		cmocka_unit_test_setup_teardown(test_xattrs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncate_and_setattr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_restart_keeps_dirs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hasher_computes_after_publish, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hasher_patched_by_rewrites, setup, teardown),
	};

	return cmocka_run_group_tests_name("ns", tests, NULL, NULL);
}
