/*
 * test_ns.c - the namespace without FUSE: publish states, rename, unlink
 * while open, ENOSPC, checksums, xattrs, symbolic links, set-id bits, and a
 * round trip through the index.
 *
 * Two callers are simulated with kvfs_ctx values whose tgid is preset, so
 * "process A" and "process B" need no real processes.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <cmocka.h>

#include "clock.h"
#include "crc32c.h"
#include "index.h"
#include "kvfs.h"
#include "ns.h"

#include "t_core.h"
#include "t_util.h"

#define MEM (16u << 20)

struct fixture {
	struct kvfs kv;         /* arena and namespace, no index */
	struct kvfs_ctx a, b;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	t_core_open(&f->kv, &(struct t_core_cfg){ .mem = MEM });
	f->a = t_ctx(1);
	f->b = t_ctx(2);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	t_core_close(&f->kv);
	free(f);
	return 0;
}

#define make_file(f, ctx, name, len, seed) \
	t_file_publish(&(f)->kv.ns, ctx, (f)->kv.ns.root, name, len, seed)

/* [off, off + len) of h, all of it. */
static void read_all(struct fixture *f, struct kvfs_handle *h, uint64_t off,
		     char *out, size_t len)
{
	assert_int_equal(t_file_read(&f->kv.ns, h, off, out, len, len), (ssize_t)len);
}

static void test_unpublished_is_private(void **state)
{
	struct fixture *f = *state;
	struct kvfs_handle *h, *hb;
	struct kvfs_entry e, l;

	assert_int_equal(kvfs_ns_create(&f->kv.ns, &f->a, f->kv.ns.root, "x.kv", 0644,
					O_WRONLY, &e, &h), 0);
	assert_false(e.published);
	assert_int_equal(kvfs_file_write(&f->kv.ns, h, "hello", 5, 0), 5);

	/* B misses it, may not cache the miss, and cannot take the name. */
	assert_int_equal(kvfs_ns_lookup(&f->kv.ns, &f->b, f->kv.ns.root, "x.kv", &l), -ENOENT);
	assert_false(l.published);
	assert_int_equal(kvfs_ns_create(&f->kv.ns, &f->b, f->kv.ns.root, "x.kv", 0644,
					O_WRONLY, &l, &hb), -EBUSY);
	/* A sees it. */
	assert_int_equal(kvfs_ns_lookup(&f->kv.ns, &f->a, f->kv.ns.root, "x.kv", &l), 0);
	assert_ptr_equal(l.ino, e.ino);
	kvfs_ns_forget(&f->kv.ns, l.ino, 1);

	/* B's flush (a forked child closing its copy) does not publish. */
	assert_int_equal(kvfs_file_flush(&f->kv.ns, &f->b, h), 0);
	assert_int_equal(kvfs_ns_lookup(&f->kv.ns, &f->b, f->kv.ns.root, "x.kv", &l), -ENOENT);
	/* A's flush does. */
	assert_int_equal(kvfs_file_flush(&f->kv.ns, &f->a, h), 0);
	assert_int_equal(kvfs_ns_lookup(&f->kv.ns, &f->b, f->kv.ns.root, "x.kv", &l), 0);
	assert_true(l.published);
	assert_int_equal(l.st.st_size, 5);
	kvfs_ns_forget(&f->kv.ns, l.ino, 1);
	kvfs_file_release(&f->kv.ns, h);
	kvfs_ns_forget(&f->kv.ns, e.ino, 1);
}

static void test_release_publishes_without_owner_flush(void **state)
{
	struct fixture *f = *state;
	struct kvfs_handle *h;
	struct kvfs_entry e, l;

	assert_int_equal(kvfs_ns_create(&f->kv.ns, &f->a, f->kv.ns.root, "y", 0644,
					O_WRONLY, &e, &h), 0);
	kvfs_file_release(&f->kv.ns, h);
	assert_int_equal(kvfs_ns_lookup(&f->kv.ns, &f->b, f->kv.ns.root, "y", &l), 0);
	kvfs_ns_forget(&f->kv.ns, l.ino, 1);
	kvfs_ns_forget(&f->kv.ns, e.ino, 1);
}

/* Releases a handle once another request holds its inode (visible()'s
 * hold: nopen goes from 1 to 2), as the kernel's RELEASE reaching a second
 * daemon thread while the first waits for it. */
struct late_release {
	struct kvfs_ns *ns;
	struct kvfs_handle *h;
};

static void *release_when_held(void *arg)
{
	struct late_release *l = arg;

	while (atomic_load(&l->h->ino->nopen) < 2)
		sched_yield();
	kvfs_file_release(l->ns, l->h);
	return NULL;
}

/* This process as a creator, and the next inode number that of a file it
 * holds open (fd): /proc shows it holding "the file" until fd closes. */
static struct kvfs_ctx held_creator(struct fixture *f, int *fd)
{
	char path[] = "/tmp/kvfs-test-settle-XXXXXX";
	struct stat st;

	*fd = mkstemp(path);
	assert_true(*fd >= 0);
	unlink(path);
	assert_int_equal(fstat(*fd, &st), 0);
	atomic_store(&f->kv.ns.next_id, st.st_ino);
	return (struct kvfs_ctx){ .tid = (pid_t)syscall(SYS_gettid), .tgid = getpid() };
}

/* The creator's flush publishes nothing itself; its release does, and a
 * request of another process that comes between waits for it: it sees
 * the file, never a miss.  (Read from /proc, the creator would still hold
 * it: only the release can have published it.) */
static void test_close_published_by_release(void **state)
{
	struct fixture *f = *state;
	struct late_release l = { .ns = &f->kv.ns };
	struct kvfs_entry e, le;
	pthread_t t;
	int fd;
	struct kvfs_ctx me = held_creator(f, &fd);

	assert_int_equal(kvfs_ns_create(&f->kv.ns, &me, f->kv.ns.root, "r", 0644,
					O_WRONLY, &e, &l.h), 0);
	assert_int_equal(kvfs_file_write(&f->kv.ns, l.h, "hello", 5, 0), 5);
	assert_int_equal(kvfs_file_flush(&f->kv.ns, &me, l.h), 0);
	assert_false(e.ino->published);
	assert_ptr_equal(e.ino->closed_h, l.h);
	assert_int_equal(atomic_load(&f->kv.ns.stats.closes_deferred), 1);
	assert_int_equal(pthread_create(&t, NULL, release_when_held, &l), 0);
	assert_int_equal(kvfs_ns_lookup(&f->kv.ns, &f->b, f->kv.ns.root, "r", &le), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(le.published);
	assert_int_equal(le.st.st_size, 5);
	assert_null(e.ino->closed_h);
	assert_int_equal(atomic_load(&f->kv.ns.stats.closes_scanned), 0);
	assert_int_equal(atomic_load(&f->kv.ns.nclosing), 0);
	close(fd);
	kvfs_ns_forget(&f->kv.ns, le.ino, 1);
	kvfs_ns_forget(&f->kv.ns, e.ino, 1);
}

/* A release that does not come (a dup or a child holds the handle): the
 * waiting request reads the creator's descriptors after SETTLE_WAIT_MS,
 * and the file stays hidden while the creator holds it. */
static void test_close_settled_by_scan(void **state)
{
	struct fixture *f = *state;
	struct kvfs_handle *h, *d;
	struct kvfs_entry e, le;
	int fd, listed = 0;
	struct kvfs_ctx me = held_creator(f, &fd);

	assert_int_equal(kvfs_ns_create(&f->kv.ns, &me, f->kv.ns.root, "s", 0644,
					O_WRONLY, &e, &h), 0);
	assert_int_equal(kvfs_file_flush(&f->kv.ns, &me, h), 0);

	/* Held: still hidden, from lookup and readdir alike. */
	assert_int_equal(kvfs_ns_lookup(&f->kv.ns, &f->b, f->kv.ns.root, "s", &le), -ENOENT);
	assert_int_equal(atomic_load(&f->kv.ns.stats.closes_scanned), 1);
	assert_null(e.ino->closed_h);
	assert_false(e.ino->published);

	/* Its last descriptor closed, the next close settles to published. */
	close(fd);
	assert_int_equal(kvfs_file_flush(&f->kv.ns, &me, h), 0);
	assert_int_equal(kvfs_ns_opendir(&f->kv.ns, &f->b, f->kv.ns.root, &d), 0);
	assert_int_equal(kvfs_ns_readdir_snapshot(&f->kv.ns, &f->b, d), 0);
	for (size_t i = 0; i < d->nents; i++)
		listed += strcmp(d->ents[i].name, "s") == 0;
	assert_int_equal(listed, 1);
	kvfs_ns_releasedir(&f->kv.ns, d);
	assert_int_equal(atomic_load(&f->kv.ns.stats.closes_scanned), 2);
	assert_true(e.ino->published);
	assert_false(h->writer);
	kvfs_file_release(&f->kv.ns, h); /* publishes nothing twice */
	assert_int_equal(atomic_load(&f->kv.ns.stats.published), 1);
	assert_int_equal(atomic_load(&f->kv.ns.nclosing), 0);
	kvfs_ns_forget(&f->kv.ns, e.ino, 1);
}

static void test_readdir_hides_unpublished(void **state)
{
	struct fixture *f = *state;
	struct kvfs_handle *h, *d;
	struct kvfs_entry e;
	int seen_a = 0, seen_b = 0;

	make_file(f, &f->a, "done", 10, 1);
	assert_int_equal(kvfs_ns_create(&f->kv.ns, &f->a, f->kv.ns.root, "busy", 0644,
					O_WRONLY, &e, &h), 0);
	assert_int_equal(kvfs_ns_opendir(&f->kv.ns, &f->b, f->kv.ns.root, &d), 0);
	assert_int_equal(kvfs_ns_readdir_snapshot(&f->kv.ns, &f->b, d), 0);
	for (size_t i = 0; i < d->nents; i++) {
		seen_b += strcmp(d->ents[i].name, "busy") == 0;
		seen_a += strcmp(d->ents[i].name, "done") == 0;
	}
	assert_int_equal(d->nents, 3); /* ".", "..", "done" */
	assert_int_equal(seen_b, 0);
	assert_int_equal(seen_a, 1);
	assert_int_equal(kvfs_ns_readdir_snapshot(&f->kv.ns, &f->a, d), 0);
	assert_int_equal(d->nents, 4);
	kvfs_ns_releasedir(&f->kv.ns, d);
	kvfs_file_release(&f->kv.ns, h);
	kvfs_ns_forget(&f->kv.ns, e.ino, 1);
}

static void test_rename_replace_keeps_old_reader(void **state)
{
	struct fixture *f = *state;
	struct kvfs_handle *h;
	struct kvfs_entry l;
	char buf[8192], want[8192];

	make_file(f, &f->a, "final", sizeof(buf), 7);
	make_file(f, &f->a, "final.tmp", 100, 9);
	assert_int_equal(kvfs_ns_lookup(&f->kv.ns, &f->b, f->kv.ns.root, "final", &l), 0);
	assert_int_equal(kvfs_file_open(&f->kv.ns, &f->b, l.ino, O_RDONLY, 0, &h), 0);

	assert_int_equal(kvfs_ns_rename(&f->kv.ns, &f->a, f->kv.ns.root, "final.tmp",
					f->kv.ns.root, "final", 0), 0);
	t_pattern(want, sizeof(want), 7, 0);
	read_all(f, h, 0, buf, sizeof(buf));
	assert_memory_equal(buf, want, sizeof(buf));
	kvfs_file_release(&f->kv.ns, h);
	kvfs_ns_forget(&f->kv.ns, l.ino, 1); /* frees the replaced inode */

	assert_int_equal(kvfs_ns_lookup(&f->kv.ns, &f->b, f->kv.ns.root, "final", &l), 0);
	assert_int_equal(l.st.st_size, 100);
	kvfs_ns_forget(&f->kv.ns, l.ino, 1);
	assert_int_equal(kvfs_ns_lookup(&f->kv.ns, &f->b, f->kv.ns.root, "final.tmp", &l), -ENOENT);
	assert_true(l.published); /* a true miss: cacheable */
}

static void test_rename_flags_and_errors(void **state)
{
	struct fixture *f = *state;
	struct kvfs_entry d1, d2, l;
	struct kvfs_inode *root = f->kv.ns.root;

	make_file(f, &f->a, "p", 1, 1);
	make_file(f, &f->a, "q", 2, 2);
	assert_int_equal(kvfs_ns_rename(&f->kv.ns, &f->a, root, "p", root, "q",
					RENAME_NOREPLACE), -EEXIST);
	assert_int_equal(kvfs_ns_rename(&f->kv.ns, &f->a, root, "p", root, "q",
					RENAME_NOREPLACE | RENAME_EXCHANGE), -EINVAL);
	assert_int_equal(kvfs_ns_rename(&f->kv.ns, &f->a, root, "p", root, "q",
					RENAME_EXCHANGE), 0);
	assert_int_equal(kvfs_ns_lookup(&f->kv.ns, &f->a, root, "p", &l), 0);
	assert_int_equal(l.st.st_size, 2);
	kvfs_ns_forget(&f->kv.ns, l.ino, 1);

	assert_int_equal(kvfs_ns_mkdir(&f->kv.ns, &f->a, root, "d", 0755, &d1), 0);
	assert_int_equal(kvfs_ns_mkdir(&f->kv.ns, &f->a, d1.ino, "sub", 0755, &d2), 0);
	assert_int_equal(kvfs_ns_rename(&f->kv.ns, &f->a, root, "d", d2.ino, "x", 0), -EINVAL);
	assert_int_equal(kvfs_ns_rename(&f->kv.ns, &f->a, root, "p", root, "d", 0), -EISDIR);
	assert_int_equal(kvfs_ns_rename(&f->kv.ns, &f->a, d1.ino, "sub", root, "p", 0), -ENOTDIR);
	assert_int_equal(kvfs_ns_mkdir(&f->kv.ns, &f->a, root, "e", 0755, &l), 0);
	kvfs_ns_forget(&f->kv.ns, l.ino, 1);
	assert_int_equal(kvfs_ns_rename(&f->kv.ns, &f->a, root, "e", root, "d", 0), -ENOTEMPTY);
	assert_int_equal(kvfs_ns_rmdir(&f->kv.ns, &f->a, root, "d"), -ENOTEMPTY);
	assert_int_equal(kvfs_ns_rename(&f->kv.ns, &f->a, d1.ino, "sub", root, "sub2", 0), 0);
	assert_int_equal(kvfs_ns_rmdir(&f->kv.ns, &f->a, root, "d"), 0);
	assert_int_equal(kvfs_ns_rmdir(&f->kv.ns, &f->a, root, "p"), -ENOTDIR);
	assert_int_equal(kvfs_ns_unlink(&f->kv.ns, &f->a, root, "sub2"), -EISDIR);
	kvfs_ns_forget(&f->kv.ns, d1.ino, 1);
	kvfs_ns_forget(&f->kv.ns, d2.ino, 1);
	assert_int_equal(kvfs_ns_rename(&f->kv.ns, &f->a, root, "nope", root, "x", 0), -ENOENT);
}

static void test_unlink_while_open(void **state)
{
	struct fixture *f = *state;
	uint64_t free0 = kvfs_mem_free(&f->kv.mem);
	struct kvfs_inode *ino;
	struct kvfs_handle *h;
	struct kvfs_entry l;
	char buf[100000], want[100000];

	make_file(f, &f->a, "u", sizeof(buf), 3);
	assert_true(kvfs_mem_free(&f->kv.mem) < free0);
	assert_int_equal(kvfs_ns_lookup(&f->kv.ns, &f->a, f->kv.ns.root, "u", &l), 0);
	ino = l.ino;
	assert_int_equal(kvfs_file_open(&f->kv.ns, &f->a, ino, O_RDWR, 0, &h), 0);
	assert_int_equal(kvfs_ns_unlink(&f->kv.ns, &f->a, f->kv.ns.root, "u"), 0);
	assert_int_equal(kvfs_ns_lookup(&f->kv.ns, &f->a, f->kv.ns.root, "u", &l), -ENOENT);

	t_pattern(want, sizeof(want), 3, 0);
	read_all(f, h, 0, buf, sizeof(buf));
	assert_memory_equal(buf, want, sizeof(buf));
	assert_int_equal(kvfs_file_write(&f->kv.ns, h, "tail", 4, sizeof(buf)), 4);
	kvfs_file_release(&f->kv.ns, h);
	assert_true(kvfs_mem_free(&f->kv.mem) < free0); /* lookup held */
	kvfs_ns_forget(&f->kv.ns, ino, 1);
	assert_int_equal(kvfs_mem_free(&f->kv.mem), free0);
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
	t_pattern(buf, chunk, 5, 0);
	assert_int_equal(kvfs_ns_create(&f->kv.ns, &f->a, f->kv.ns.root, "fill", 0644,
					O_WRONLY, &e, &h), 0);
	while ((r = kvfs_file_write(&f->kv.ns, h, buf, chunk, off)) > 0)
		off += (uint64_t)r;
	assert_int_equal(r, -ENOSPC);
	assert_int_equal(e.ino->size, off); /* the failed write changed nothing */
	kvfs_file_release(&f->kv.ns, h);
	kvfs_ns_forget(&f->kv.ns, e.ino, 1);

	assert_int_equal(kvfs_ns_lookup(&f->kv.ns, &f->a, f->kv.ns.root, "keep", &l), 0);
	assert_int_equal(kvfs_file_open(&f->kv.ns, &f->a, l.ino, O_RDONLY, 0, &h), 0);
	read_all(f, h, 0, got, 1 << 20);
	t_pattern(want, 4 << 20, 11, 0);
	assert_memory_equal(got, want, 1 << 20);
	kvfs_file_release(&f->kv.ns, h);
	kvfs_ns_forget(&f->kv.ns, l.ino, 1);
	assert_int_equal(kvfs_ns_unlink(&f->kv.ns, &f->a, f->kv.ns.root, "fill"), 0);
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

	t_pattern(want, len, 21, 0);
	assert_true(ino->crc_valid);
	assert_int_equal(ino->crc, kvfs_crc32c(0, want, len));
	bytes = ino->data.bytes;
	free_units = kvfs_mem_free(&f->kv.mem);

	assert_int_equal(kvfs_ns_lookup(&f->kv.ns, &f->b, f->kv.ns.root, "big.kv", &l), 0);
	assert_int_equal(kvfs_file_open(&f->kv.ns, &f->b, l.ino, O_RDWR, 0, &h), 0);
	memset(want, 'H', 48);
	assert_int_equal(kvfs_file_write(&f->kv.ns, h, want, 48, 0), 48);
	/* Written in place: no new space, and the checksum stays exact. */
	assert_int_equal(ino->data.bytes, bytes);
	assert_int_equal(kvfs_mem_free(&f->kv.mem), free_units);
	assert_true(ino->crc_valid);
	assert_int_equal(ino->crc, kvfs_crc32c(0, want, len));
	assert_int_equal(kvfs_file_flush(&f->kv.ns, &f->b, h), 0);
	kvfs_file_release(&f->kv.ns, h);
	kvfs_ns_forget(&f->kv.ns, l.ino, 1);
	free(want);
}

static void test_xattrs(void **state)
{
	struct fixture *f = *state;
	struct kvfs_inode *ino = make_file(f, &f->a, "page.bin", 4096, 4);
	char buf[512];
	ssize_t n;

	assert_int_equal(kvfs_xattr_get(&f->kv.ns, ino, "user.kvfs.tier", buf, sizeof(buf)), 6);
	assert_memory_equal(buf, "memory", 6);
	assert_int_equal(kvfs_xattr_set(&f->kv.ns, ino, "user.kvfs.tier", "ssd", 3, 0), -EPERM);
	assert_int_equal(kvfs_xattr_set(&f->kv.ns, ino, "user.kvfs.bogus", "1", 1, 0), -EINVAL);
	assert_int_equal(kvfs_xattr_get(&f->kv.ns, ino, "user.kvfs.pin", buf, sizeof(buf)), -ENODATA);
	assert_int_equal(kvfs_xattr_set(&f->kv.ns, ino, "user.kvfs.pin", "1", 1, 0), 0);
	assert_true(ino->pinned);
	assert_int_equal(kvfs_xattr_set(&f->kv.ns, ino, "user.kvfs.pin", "2", 1, 0), -EINVAL);
	assert_int_equal(kvfs_xattr_set(&f->kv.ns, ino, "user.kvfs.parent", "a/b", 3, 0), -EINVAL);
	assert_int_equal(kvfs_xattr_set(&f->kv.ns, ino, "user.kvfs.parent", "prev.bin", 8, 0), 0);
	assert_int_equal(kvfs_xattr_set(&f->kv.ns, ino, "user.model", "llama", 5, XATTR_CREATE), 0);
	assert_int_equal(kvfs_xattr_set(&f->kv.ns, ino, "user.model", "x", 1, XATTR_CREATE), -EEXIST);
	assert_int_equal(kvfs_xattr_set(&f->kv.ns, ino, "user.none", "x", 1, XATTR_REPLACE), -ENODATA);
	assert_int_equal(kvfs_xattr_set(&f->kv.ns, ino, "trusted.x", "x", 1, 0), -EOPNOTSUPP);
	assert_int_equal(kvfs_xattr_get(&f->kv.ns, ino, "user.model", buf, 2), -ERANGE);
	assert_int_equal(kvfs_xattr_get(&f->kv.ns, ino, "user.model", NULL, 0), 5);

	n = kvfs_xattr_list(&f->kv.ns, ino, buf, sizeof(buf));
	assert_int_equal(n, sizeof("user.kvfs.tier") + sizeof("user.kvfs.hits") +
			 sizeof("user.kvfs.crc32c") + sizeof("user.kvfs.pin") +
			 sizeof("user.kvfs.parent") + sizeof("user.model"));
	assert_int_equal(kvfs_xattr_list(&f->kv.ns, ino, buf, 4), -ERANGE);
	assert_int_equal(kvfs_xattr_remove(&f->kv.ns, ino, "user.kvfs.pin"), 0);
	assert_false(ino->pinned);
	assert_int_equal(kvfs_xattr_remove(&f->kv.ns, ino, "user.kvfs.pin"), -ENODATA);
	assert_int_equal(kvfs_xattr_remove(&f->kv.ns, ino, "user.model"), 0);
	assert_int_equal(kvfs_xattr_get(&f->kv.ns, ino, "user.model", buf, sizeof(buf)), -ENODATA);
	n = kvfs_xattr_get(&f->kv.ns, ino, "user.kvfs.crc32c", buf, sizeof(buf));
	assert_int_equal(n, 8);
}

static void test_names(void **state)
{
	struct fixture *f = *state;
	char name[300];
	struct kvfs_entry e;

	memset(name, 'n', sizeof(name));
	name[256] = '\0';
	assert_int_equal(kvfs_ns_lookup(&f->kv.ns, &f->a, f->kv.ns.root, name, &e), -ENAMETOOLONG);
	assert_int_equal(kvfs_ns_mkdir(&f->kv.ns, &f->a, f->kv.ns.root, name, 0755, &e), -ENAMETOOLONG);
	name[255] = '\0';
	assert_int_equal(kvfs_ns_mkdir(&f->kv.ns, &f->a, f->kv.ns.root, name, 0755, &e), 0);
	kvfs_ns_forget(&f->kv.ns, e.ino, 1);
	assert_int_equal(kvfs_ns_mkdir(&f->kv.ns, &f->a, f->kv.ns.root, name, 0755, &e), -EEXIST);
	assert_int_equal(kvfs_ns_mknod(&f->kv.ns, &f->a, f->kv.ns.root, "fifo", S_IFIFO | 0644, &e), -EPERM);
}

static void test_truncate_and_setattr(void **state)
{
	struct fixture *f = *state;
	struct kvfs_inode *ino = make_file(f, &f->a, "t", 10000, 8);
	struct stat attr = { .st_size = 5000, .st_mode = 0600 }, out;
	char *want = calloc(1, 20000);

	assert_int_equal(kvfs_file_setattr(&f->kv.ns, &f->a, ino, &attr,
					   KVFS_SET_SIZE | KVFS_SET_MODE, &out), 0);
	assert_int_equal(out.st_size, 5000);
	assert_int_equal(out.st_mode, S_IFREG | 0600);
	attr.st_size = 20000;
	assert_int_equal(kvfs_file_setattr(&f->kv.ns, &f->a, ino, &attr, KVFS_SET_SIZE, &out), 0);
	/* Shrinking then growing reads back zeros past the cut. */
	t_pattern(want, 5000, 8, 0);
	kvfs_file_crc_refresh(&f->kv.ns, ino);
	assert_int_equal(ino->crc, kvfs_crc32c(0, want, 20000));
	attr.st_size = -1;
	assert_int_equal(kvfs_file_setattr(&f->kv.ns, &f->a, ino, &attr, KVFS_SET_SIZE, &out), -EINVAL);
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
	uint64_t free0 = kvfs_mem_free(&f->kv.mem);

	t_pattern(want, len, 33, 0);
	assert_int_equal(kvfs_hasher_start(&f->kv.ns, 0), 0);
	assert_int_equal(kvfs_ns_create(&f->kv.ns, &f->a, f->kv.ns.root, "h", 0644,
					O_WRONLY, &e, &h), 0);
	assert_int_equal(kvfs_file_write(&f->kv.ns, h, want, len, 0), (ssize_t)len);
	assert_false(e.ino->crc_valid); /* not computed on the write path */
	assert_int_equal(kvfs_file_flush(&f->kv.ns, &f->a, h), 0);
	kvfs_file_release(&f->kv.ns, h);
	for (int i = 0; i < 2000 && !e.ino->crc_valid; i++)
		usleep(1000);
	assert_true(e.ino->crc_valid);
	assert_int_equal(e.ino->crc, kvfs_crc32c(0, want, len));
	assert_int_equal(kvfs_ns_unlink(&f->kv.ns, &f->a, f->kv.ns.root, "h"), 0);
	kvfs_ns_forget(&f->kv.ns, e.ino, 1);
	assert_int_equal(kvfs_mem_free(&f->kv.mem), free0);

	/* Unlinked right after publish. */
	assert_int_equal(kvfs_ns_create(&f->kv.ns, &f->a, f->kv.ns.root, "u", 0644,
					O_WRONLY, &e, &h), 0);
	assert_int_equal(kvfs_file_write(&f->kv.ns, h, want, len, 0), (ssize_t)len);
	assert_int_equal(kvfs_file_flush(&f->kv.ns, &f->a, h), 0);
	kvfs_file_release(&f->kv.ns, h);
	assert_int_equal(kvfs_ns_unlink(&f->kv.ns, &f->a, f->kv.ns.root, "u"), 0);
	for (int i = 0; i < 2000 && atomic_load(&f->kv.ns.stats.crc_pending); i++)
		usleep(1000);
	assert_int_equal(atomic_load(&f->kv.ns.stats.crc_pending), 0);
	kvfs_hasher_stop(&f->kv.ns);
	kvfs_ns_forget(&f->kv.ns, e.ino, 1);
	assert_int_equal(kvfs_mem_free(&f->kv.mem), free0);
	free(want);
}

/*
 * hash_defer= (issue 12): a pass waits while requests keep coming (here
 * kvfs_ns_busy, as every FUSE request calls it), runs once they stop for
 * the quiet time (20 ms), and runs anyway at its deadline while they go
 * on.  The busy loops stamp 100 ms ahead (busy()), so that a loop held
 * up on a loaded machine still reads as busy; each phase's margins are a
 * factor of 2 or more off the times.
 */
static void busy(struct kvfs_ns *ns)
{
	kvfs_ns_busy(ns, kvfs_mono_ns() + 100ull * 1000 * 1000);
}

/* Creates and publishes `name` with len bytes of want, busy at the
 * publish (its checksum is queued then). */
static void publish_busy(struct fixture *f, const char *name, const char *want, size_t len,
			 struct kvfs_entry *e)
{
	struct kvfs_handle *h;

	assert_int_equal(kvfs_ns_create(&f->kv.ns, &f->a, f->kv.ns.root, name, 0644,
					O_WRONLY, e, &h), 0);
	assert_int_equal(kvfs_file_write(&f->kv.ns, h, want, len, 0), (ssize_t)len);
	busy(&f->kv.ns);
	assert_int_equal(kvfs_file_flush(&f->kv.ns, &f->a, h), 0); /* queued */
	kvfs_file_release(&f->kv.ns, h);
}

static void test_hasher_waits_for_quiet(void **state)
{
	struct fixture *f = *state;
	size_t len = 2 << 20;
	char *want = malloc(len);
	struct kvfs_entry e;
	uint64_t t0;

	t_pattern(want, len, 35, 0);
	assert_int_equal(kvfs_hasher_start(&f->kv.ns, 1500ull * 1000 * 1000), 0);
	for (int round = 0; round < 2; round++) {
		const char *name = round ? "q1" : "q0";

		publish_busy(f, name, want, len, &e);
		/* Busy for 300 ms: nothing computed. */
		t0 = kvfs_mono_ns();
		while (kvfs_mono_ns() - t0 < 300ull * 1000 * 1000) {
			busy(&f->kv.ns);
			usleep(2000);
		}
		assert_int_equal(atomic_load(&f->kv.ns.stats.crc_pending), 1);
		assert_false(e.ino->crc_valid);
		/* Round 0 goes quiet; round 1 stays busy until the deadline
		 * (1.5 s after the publish) has passed by a wide margin. */
		for (int i = 0; i < 5000 && atomic_load(&f->kv.ns.stats.crc_pending); i++) {
			if (round == 1)
				busy(&f->kv.ns);
			usleep(1000);
		}
		assert_int_equal(atomic_load(&f->kv.ns.stats.crc_pending), 0);
		if (round == 0) /* quiet from about 400 ms; deadline 1.5 s */
			assert_true(kvfs_mono_ns() - t0 < 1000ull * 1000 * 1000);
		assert_true(e.ino->crc_valid);
		assert_int_equal(e.ino->crc, kvfs_crc32c(0, want, len));
		assert_int_equal(kvfs_ns_unlink(&f->kv.ns, &f->a, f->kv.ns.root, name), 0);
		kvfs_ns_forget(&f->kv.ns, e.ino, 1);
	}

	/* Unlinked while its job waits: the job lets go of the file at once
	 * (its memory comes back), not at the deadline. */
	uint64_t free0 = kvfs_mem_free(&f->kv.mem);

	publish_busy(f, "q2", want, len, &e);
	assert_true(kvfs_mem_free(&f->kv.mem) < free0);
	assert_int_equal(atomic_load(&f->kv.ns.stats.crc_pending), 1);
	assert_int_equal(kvfs_ns_unlink(&f->kv.ns, &f->a, f->kv.ns.root, "q2"), 0);
	kvfs_ns_forget(&f->kv.ns, e.ino, 1);
	t0 = kvfs_mono_ns();
	while (atomic_load(&f->kv.ns.stats.crc_pending) &&
	       kvfs_mono_ns() - t0 < 300ull * 1000 * 1000) {
		busy(&f->kv.ns);
		usleep(1000);
	}
	assert_int_equal(atomic_load(&f->kv.ns.stats.crc_pending), 0);
	assert_int_equal(kvfs_mem_free(&f->kv.mem), free0);
	kvfs_hasher_stop(&f->kv.ns);
	free(want);
}

/* Symbolic links: a target and nothing else. */
static void test_symlinks(void **state)
{
	struct fixture *f = *state;
	struct kvfs_inode *file = make_file(f, &f->a, "file", 10, 2);
	struct kvfs_entry e, l;
	struct kvfs_handle *h;
	struct stat attr = { .st_size = 1, .st_uid = 7, .st_gid = 8 }, out;
	const char *t;
	char *longt = malloc(KVFS_LINK_MAX + 2);

	assert_int_equal(kvfs_ns_symlink(&f->kv.ns, &f->a, f->kv.ns.root, "l", "dir/x.kv", &e), 0);
	assert_true(e.published);
	assert_int_equal(e.st.st_mode, S_IFLNK | 0777);
	assert_int_equal(e.st.st_size, 8);
	assert_int_equal(e.st.st_blocks, 0);
	assert_int_equal(kvfs_inode_check(e.ino), 0);
	assert_int_equal(kvfs_ns_readlink(&f->kv.ns, e.ino, &t), 0);
	assert_string_equal(t, "dir/x.kv");
	assert_int_equal(kvfs_ns_readlink(&f->kv.ns, file, &t), -EINVAL);
	/* Another process sees it at once (published at birth). */
	assert_int_equal(kvfs_ns_lookup(&f->kv.ns, &f->b, f->kv.ns.root, "l", &l), 0);
	assert_ptr_equal(l.ino, e.ino);
	kvfs_ns_forget(&f->kv.ns, l.ino, 1);
	/* Names and targets kvfs refuses. */
	assert_int_equal(kvfs_ns_symlink(&f->kv.ns, &f->a, f->kv.ns.root, "l", "y", &l), -EEXIST);
	assert_int_equal(kvfs_ns_symlink(&f->kv.ns, &f->a, f->kv.ns.root, ".kvfs", "y", &l), -EEXIST);
	assert_int_equal(kvfs_ns_symlink(&f->kv.ns, &f->a, f->kv.ns.root, "e", "", &l), -ENOENT);
	memset(longt, 'a', KVFS_LINK_MAX + 1);
	longt[KVFS_LINK_MAX + 1] = '\0';
	assert_int_equal(kvfs_ns_symlink(&f->kv.ns, &f->a, f->kv.ns.root, "long", longt, &l),
			 -ENAMETOOLONG);
	longt[KVFS_LINK_MAX] = '\0';
	assert_int_equal(kvfs_ns_symlink(&f->kv.ns, &f->a, f->kv.ns.root, "long", longt, &l), 0);
	assert_int_equal(l.st.st_size, KVFS_LINK_MAX);
	kvfs_ns_forget(&f->kv.ns, l.ino, 1);
	/* No data, no xattrs, no eviction; owner and times do change. */
	assert_int_equal(kvfs_file_open(&f->kv.ns, &f->a, e.ino, O_RDONLY, 0, &h), -ELOOP);
	assert_int_equal(kvfs_file_setattr(&f->kv.ns, &f->a, e.ino, &attr, KVFS_SET_SIZE, &out),
			 -EINVAL);
	assert_int_equal(kvfs_file_setattr(&f->kv.ns, &f->a, e.ino, &attr,
					   KVFS_SET_UID | KVFS_SET_GID, &out), 0);
	assert_int_equal(out.st_uid, 7);
	assert_int_equal(out.st_mode, S_IFLNK | 0777);
	assert_int_equal(kvfs_xattr_set(&f->kv.ns, e.ino, "user.a", "b", 1, 0), -EPERM);
	assert_int_equal(kvfs_xattr_set(&f->kv.ns, e.ino, "user.kvfs.evict", "1", 1, 0), -EPERM);
	assert_int_equal(kvfs_xattr_get(&f->kv.ns, e.ino, "user.kvfs.crc32c", NULL, 0), -ENODATA);
	assert_int_equal(kvfs_xattr_list(&f->kv.ns, e.ino, NULL, 0), 0);
	assert_int_equal(kvfs_xattr_remove(&f->kv.ns, e.ino, "user.a"), -EPERM);
	assert_int_equal(kvfs_ns_evict(&f->kv.ns, e.ino), -EPERM);
	for (struct kvfs_inode *p = f->kv.ns.files; p; p = p->fnext)
		assert_ptr_not_equal(p, e.ino);   /* not among the store's files */
	/* Rename over a file, then unlink. */
	assert_int_equal(kvfs_ns_rename(&f->kv.ns, &f->a, f->kv.ns.root, "l", f->kv.ns.root,
					"file", 0), 0);
	assert_int_equal(kvfs_ns_lookup(&f->kv.ns, &f->a, f->kv.ns.root, "file", &l), 0);
	assert_ptr_equal(l.ino, e.ino);
	kvfs_ns_forget(&f->kv.ns, l.ino, 1);
	assert_int_equal(kvfs_ns_unlink(&f->kv.ns, &f->a, f->kv.ns.root, "file"), 0);
	assert_int_equal(kvfs_ns_readlink(&f->kv.ns, e.ino, &t), 0); /* still held */
	kvfs_ns_forget(&f->kv.ns, e.ino, 1);
	assert_int_equal(kvfs_ns_lookup(&f->kv.ns, &f->a, f->kv.ns.root, "file", &l), -ENOENT);
	free(longt);
}

/* Set-id bits and writers without CAP_FSETID (file.c's rules).  The
 * callers' thread ids do not exist, so /proc cannot tell and uid 0 counts
 * as privileged. */
static void test_setid_dropped(void **state)
{
	struct fixture *f = *state;
	struct kvfs_ctx u = { .uid = 1000, .gid = 1000, .tid = (1 << 22) + 3,
			      .tgid = (1 << 22) + 3 };
	struct kvfs_ctx root = { .tid = (1 << 22) + 4, .tgid = (1 << 22) + 4 };
	struct kvfs_inode *ino = make_file(f, &f->a, "s", 100, 3);
	struct stat attr = { 0 }, out;
	struct kvfs_handle *h;
	struct timespec before;

	attr.st_mode = 06777;
	assert_int_equal(kvfs_file_setattr(&f->kv.ns, &root, ino, &attr, KVFS_SET_MODE, &out), 0);
	/* Root keeps both. */
	assert_int_equal(kvfs_file_write_setid(&f->kv.ns, &root, ino), 0);
	assert_int_equal(ino->mode, S_IFREG | 06777);
	/* Anyone else loses both (g+x), with a new ctime. */
	before = ino->ctime;
	usleep(2000);
	assert_int_equal(kvfs_file_write_setid(&f->kv.ns, &u, ino), 1);
	assert_int_equal(ino->mode, S_IFREG | 0777);
	assert_true(ino->ctime.tv_sec > before.tv_sec ||
		    (ino->ctime.tv_sec == before.tv_sec && ino->ctime.tv_nsec > before.tv_nsec));
	assert_true(ino->dirty);
	assert_int_equal(kvfs_file_write_setid(&f->kv.ns, &u, ino), 0);
	/* S_ISGID without g+x: a member of the group keeps it, others not. */
	attr.st_mode = 02767;
	attr.st_gid = 1000;
	assert_int_equal(kvfs_file_setattr(&f->kv.ns, &root, ino, &attr, KVFS_SET_MODE, &out), 0);
	assert_int_equal(kvfs_file_setattr(&f->kv.ns, &root, ino, &attr, KVFS_SET_GID, &out), 0);
	assert_int_equal(out.st_mode, S_IFREG | 02767);
	assert_int_equal(kvfs_file_write_setid(&f->kv.ns, &u, ino), 0);
	u.gid = 1001;
	assert_int_equal(kvfs_file_write_setid(&f->kv.ns, &u, ino), 1);
	assert_int_equal(ino->mode, S_IFREG | 0767);
	/* An O_TRUNC open, and a truncate, by u. */
	attr.st_mode = 04777;
	assert_int_equal(kvfs_file_setattr(&f->kv.ns, &root, ino, &attr, KVFS_SET_MODE, &out), 0);
	assert_int_equal(kvfs_file_open(&f->kv.ns, &u, ino, O_RDONLY | O_TRUNC, 0, &h), 0);
	assert_int_equal(ino->mode, S_IFREG | 04777);     /* not a writer */
	kvfs_file_release(&f->kv.ns, h);
	assert_int_equal(kvfs_file_open(&f->kv.ns, &u, ino, O_WRONLY | O_TRUNC, 0, &h), 0);
	assert_int_equal(ino->mode, S_IFREG | 0777);
	assert_int_equal(ino->size, 0);
	kvfs_file_release(&f->kv.ns, h);
	assert_int_equal(kvfs_file_setattr(&f->kv.ns, &root, ino, &attr, KVFS_SET_MODE, &out), 0);
	attr.st_size = 10;
	assert_int_equal(kvfs_file_setattr(&f->kv.ns, &root, ino, &attr, KVFS_SET_SIZE, &out), 0);
	assert_int_equal(out.st_mode, S_IFREG | 04777);
	assert_int_equal(kvfs_file_setattr(&f->kv.ns, &u, ino, &attr, KVFS_SET_SIZE, &out), 0);
	assert_int_equal(out.st_mode, S_IFREG | 0777);
	/* chown takes S_ISUID from root too; an explicit mode wins. */
	attr.st_mode = 04755;
	assert_int_equal(kvfs_file_setattr(&f->kv.ns, &root, ino, &attr, KVFS_SET_MODE, &out), 0);
	attr.st_uid = 5;
	assert_int_equal(kvfs_file_setattr(&f->kv.ns, &root, ino, &attr, KVFS_SET_UID, &out), 0);
	assert_int_equal(out.st_mode, S_IFREG | 0755);
	assert_int_equal(kvfs_file_setattr(&f->kv.ns, &root, ino, &attr,
					   KVFS_SET_UID | KVFS_SET_MODE, &out), 0);
	assert_int_equal(out.st_mode, S_IFREG | 04755);
	/* Directories keep theirs. */
	{
		struct kvfs_entry d;

		assert_int_equal(kvfs_ns_mkdir(&f->kv.ns, &root, f->kv.ns.root, "sd", 02775, &d), 0);
		assert_int_equal(kvfs_file_setattr(&f->kv.ns, &u, d.ino, &attr, KVFS_SET_UID, &out), 0);
		assert_int_equal(out.st_mode, S_IFDIR | 02775);
		kvfs_ns_forget(&f->kv.ns, d.ino, 1);
	}
}

/* A daemon restart without an SSD tier: directories and their xattrs come
 * back from the index, files (their data lived in memory) are dropped. */
static void test_index_restart_keeps_dirs(void **state)
{
	struct fixture *f = *state;
	struct t_core_cfg cfg = { .mem = MEM };
	struct kvfs_index *ix;
	struct kvfs_entry d, l;
	struct kvfs *kv = calloc(1, sizeof(*kv));
	char dir[256], buf[16];

	assert_non_null(kv);
	t_tmpdir(dir, sizeof(dir), "ns");
	cfg.state = dir;
	t_core_open(kv, &cfg);
	assert_int_equal(kvfs_ns_mkdir(&kv->ns, &f->a, kv->ns.root, "models", 0750, &d), 0);
	assert_int_equal(kvfs_xattr_set(&kv->ns, d.ino, "user.owner", "team", 4, 0), 0);
	assert_int_equal(kvfs_ns_symlink(&kv->ns, &f->a, d.ino, "latest", "../file", &l), 0);
	kvfs_ns_forget(&kv->ns, l.ino, 1);
	assert_int_equal(kvfs_ns_symlink(&kv->ns, &f->a, kv->ns.root, "gone", "/nowhere", &l), 0);
	kvfs_ns_forget(&kv->ns, l.ino, 1);
	assert_int_equal(kvfs_ns_unlink(&kv->ns, &f->a, kv->ns.root, "gone"), 0);
	kvfs_ns_forget(&kv->ns, d.ino, 1);
	t_file_publish(&kv->ns, &f->a, kv->ns.root, "file", 10, 1);
	t_core_close(kv);

	/* What a memory-only daemon's start does before loading. */
	assert_int_equal(kvfs_index_open(&ix, dir), 0);
	assert_int_equal(kvfs_index_drop_files(ix), 1);
	kvfs_index_close(ix);

	t_core_open(kv, &cfg);
	assert_int_equal(kvfs_ns_lookup(&kv->ns, &f->a, kv->ns.root, "models", &l), 0);
	assert_int_equal(l.st.st_mode, S_IFDIR | 0750);
	assert_int_equal(kvfs_xattr_get(&kv->ns, l.ino, "user.owner", buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "team", 4);
	d = l;
	assert_int_equal(kvfs_ns_lookup(&kv->ns, &f->a, d.ino, "latest", &l), 0);
	assert_int_equal(l.st.st_mode, S_IFLNK | 0777);
	assert_int_equal(l.st.st_size, 7);
	{
		const char *t;

		assert_int_equal(kvfs_ns_readlink(&kv->ns, l.ino, &t), 0);
		assert_string_equal(t, "../file");
	}
	kvfs_ns_forget(&kv->ns, l.ino, 1);
	kvfs_ns_forget(&kv->ns, d.ino, 1);
	assert_int_equal(kvfs_ns_lookup(&kv->ns, &f->a, kv->ns.root, "gone", &l), -ENOENT);
	assert_int_equal(kvfs_ns_lookup(&kv->ns, &f->a, kv->ns.root, "file", &l), -ENOENT);
	t_core_close(kv);
	free(kv);
	assert_int_equal(t_rmtree(dir), 0);
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
	assert_int_equal(kvfs_hasher_start(&f->kv.ns, 0), 0);
	for (int round = 0; round < 20 && !settled; round++) {
		uint64_t patched0 = atomic_load(&f->kv.ns.stats.crc_patched_writes);
		char name[16];

		snprintf(name, sizeof(name), "p%d", round);
		t_pattern(want, len, 40 + round, 0);
		assert_int_equal(kvfs_ns_create(&f->kv.ns, &f->a, f->kv.ns.root, name, 0644,
						O_RDWR, &e, &h), 0);
		assert_int_equal(kvfs_file_write(&f->kv.ns, h, want, len, 0), (ssize_t)len);
		assert_int_equal(kvfs_file_flush(&f->kv.ns, &f->a, h), 0);
		kvfs_file_release(&f->kv.ns, h); /* publish */
		assert_int_equal(kvfs_file_open(&f->kv.ns, &f->a, e.ino, O_RDWR, 0, &h), 0);
		for (int i = 0; i < 4000 && atomic_load(&f->kv.ns.stats.crc_pending); i++) {
			uint64_t off = (uint64_t)rand_r(&seed) % (len - sizeof(hdr));

			for (size_t k = 0; k < sizeof(hdr); k++)
				hdr[k] = (char)rand_r(&seed);
			assert_int_equal(kvfs_file_write(&f->kv.ns, h, hdr, sizeof(hdr), off),
					 (ssize_t)sizeof(hdr));
			memcpy(want + off, hdr, sizeof(hdr));
			if (i % 8 == 7)
				usleep(20);
		}
		assert_int_equal(kvfs_file_flush(&f->kv.ns, &f->a, h), 0);
		kvfs_file_release(&f->kv.ns, h);
		for (int i = 0; i < 5000 && atomic_load(&f->kv.ns.stats.crc_pending); i++)
			usleep(1000);
		assert_int_equal(atomic_load(&f->kv.ns.stats.crc_pending), 0);
		pthread_rwlock_rdlock(&e.ino->lock);
		if (e.ino->crc_valid) /* the hasher may give up; never be wrong */
			assert_int_equal(e.ino->crc, kvfs_crc32c(0, want, len));
		settled = e.ino->crc_valid &&
			  atomic_load(&f->kv.ns.stats.crc_patched_writes) > patched0;
		pthread_rwlock_unlock(&e.ino->lock);
		assert_int_equal(kvfs_ns_unlink(&f->kv.ns, &f->a, f->kv.ns.root, name), 0);
		kvfs_ns_forget(&f->kv.ns, e.ino, 1);
	}
	assert_true(settled);
	kvfs_hasher_stop(&f->kv.ns);
	free(want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unpublished_is_private, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_publishes_without_owner_flush, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_published_by_release, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_settled_by_scan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readdir_hides_unpublished, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename_replace_keeps_old_reader, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename_flags_and_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unlink_while_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enospc_keeps_stored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inplace_header_rewrite, setup, teardown),
		cmocka_unit_test_setup_teardown(test_xattrs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncate_and_setattr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlinks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_setid_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_restart_keeps_dirs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hasher_computes_after_publish, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hasher_waits_for_quiet, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hasher_patched_by_rewrites, setup, teardown),
	};

	return cmocka_run_group_tests_name("ns", tests, NULL, NULL);
}
