/*
 * test_fastpath.c - the daemon's side of the GPU fast path without FUSE:
 * reservations (invisible until COMMIT, given back at release), commits in
 * pieces, continuation replies, pins against truncation, and the errno of
 * every malformed request.  The "client" writes through arena pointers, as
 * libkvfs-gpu does through its mapping.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "crc32c.h"
#include "fastpath.h"
#include "kvfs.h"
#include "ns.h"

#include "t_core.h"
#include "t_util.h"

#define MEM (16u << 20)
#define U   ((uint64_t)KVFS_ALLOC_UNIT)

struct fixture {
	struct kvfs kv;             /* arena and namespace, no index */
	struct kvfs_ctx a;
	char dir[256], path[300];   /* the shared arena file, when used */
};

static int setup_common(void **state, int shared)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct t_core_cfg cfg = { .mem = MEM };

	assert_non_null(f);
	if (shared) {
		t_tmpdir(f->dir, sizeof(f->dir), "fp");
		snprintf(f->path, sizeof(f->path), "%s/test.arena", f->dir);
		cfg.arena_path = f->path;
	}
	t_core_open(&f->kv, &cfg);
	f->a = t_ctx(1);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_common(state, 1);
}

static int setup_memfd(void **state)
{
	return setup_common(state, 0);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	t_core_close(&f->kv);
	if (f->dir[0]) {
		assert_int_equal(access(f->path, F_OK), -1);	/* removed at close */
		assert_int_equal(t_rmtree(f->dir), 0);
	}
	free(f);
	return 0;
}

static long ioc(struct fixture *f, struct kvfs_handle *h, unsigned int cmd, void *arg)
{
	size_t n = _IOC_SIZE(cmd);

	return kvfs_fastpath_ioctl(&f->kv.ns, &f->a, h, cmd, arg, n, arg, n);
}

static struct kvfs_handle *create(struct fixture *f, const char *name, int flags)
{
	struct kvfs_handle *h;
	struct kvfs_entry e;

	assert_int_equal(kvfs_ns_create(&f->kv.ns, &f->a, f->kv.ns.root, name, 0644, flags,
					&e, &h), 0);
	return h;
}

static void close_handle(struct fixture *f, struct kvfs_handle *h)
{
	struct kvfs_inode *ino = h->ino;

	assert_int_equal(kvfs_file_flush(&f->kv.ns, &f->a, h), 0);
	kvfs_file_release(&f->kv.ns, h);
	kvfs_ns_forget(&f->kv.ns, ino, 1);
}

static uint64_t free_units(struct fixture *f)
{
	return kvfs_alloc_free_units(&f->kv.mem.alloc);
}

static struct kvfs_ioc_map *map_req(uint64_t off, uint64_t len)
{
	struct kvfs_ioc_map *m = calloc(1, sizeof(*m));

	assert_non_null(m);
	m->version = KVFS_ABI_VERSION;
	m->off = off;
	m->len = len;
	return m;
}

static long commit(struct fixture *f, struct kvfs_handle *h, uint64_t lease,
		   uint64_t off, uint64_t len)
{
	struct kvfs_ioc_commit c = { .version = KVFS_ABI_VERSION, .lease = lease,
				     .off = off, .len = len };

	long r = ioc(f, h, KVFS_IOC_COMMIT, &c);

	return r == (long)sizeof(c) ? 0 : r;
}

static long unpin(struct fixture *f, struct kvfs_handle *h, uint64_t lease)
{
	struct kvfs_ioc_lease q = { .version = KVFS_ABI_VERSION, .lease = lease };

	long r = ioc(f, h, KVFS_IOC_UNPIN, &q);

	return r == (long)sizeof(q) ? 0 : r;
}

/* Writes the pattern into the extents of reply m, which cover [start, m->next). */
static void fill_extents(struct fixture *f, const struct kvfs_ioc_map *m,
			 uint64_t start, unsigned seed)
{
	uint64_t pos = start;

	for (uint32_t i = 0; i < m->count; i++) {
		unsigned char *p = kvfs_arena_ptr(&f->kv.mem.arena, m->ext[i].aoff);

		assert_true(m->ext[i].aoff != KVFS_IOC_HOLE);
		t_pattern(p, m->ext[i].len, seed, pos);
		pos += m->ext[i].len;
	}
	assert_int_equal(pos, m->next);
}

/* Reads [off, off + len) through the POSIX read path, all of it. */
static void read_back(struct fixture *f, struct kvfs_handle *h, uint64_t off,
		      unsigned char *out, size_t len)
{
	assert_int_equal(t_file_read(&f->kv.ns, h, off, out, len, len), (ssize_t)len);
}

static void check_pattern(struct fixture *f, struct kvfs_handle *h, uint64_t off,
			  size_t len, unsigned seed)
{
	unsigned char *buf = malloc(len);
	size_t i;

	assert_non_null(buf);
	read_back(f, h, off, buf, len);
	i = t_pattern_diff(buf, len, seed, off);
	if (i != len)
		fail_msg("byte %zu of [%llu, +%zu) differs", i, (unsigned long long)off, len);
	free(buf);
}

static void test_info(void **state)
{
	struct fixture *f = *state;
	struct kvfs_ioc_info info = { .version = KVFS_ABI_VERSION };
	struct kvfs_handle *h = create(f, "a", O_RDWR), *d;
	struct stat st;

	assert_int_equal(ioc(f, h, KVFS_IOC_INFO, &info), sizeof(info));
	assert_string_equal(info.arena_path, f->path);
	assert_int_equal(info.arena_size, MEM);
	assert_int_equal(info.unit, U);
	assert_int_equal(info.max_extents, KVFS_IOC_MAP_EXTENTS);
	assert_true(info.arena_id != 0);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(info.arena_dev, (uint64_t)st.st_dev);
	assert_int_equal(info.arena_ino, (uint64_t)st.st_ino);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* A directory answers INFO (libkvfs-gpu attaches to a mount that way)
	 * and nothing else. */
	assert_int_equal(kvfs_ns_opendir(&f->kv.ns, &f->a, f->kv.ns.root, &d), 0);
	memset(&info, 0, sizeof(info));
	info.version = KVFS_ABI_VERSION;
	assert_int_equal(ioc(f, d, KVFS_IOC_INFO, &info), sizeof(info));
	assert_int_equal(info.file_size, 0);
	struct kvfs_ioc_map *m = map_req(0, U);
	assert_int_equal(ioc(f, d, KVFS_IOC_RESERVE, m), -EISDIR);
	assert_int_equal(ioc(f, d, KVFS_IOC_PIN, m), -EISDIR);
	free(m);
	kvfs_ns_releasedir(&f->kv.ns, d);
	close_handle(f, h);
}

/* A private memfd arena: nobody can map it, so no command is served. */
static void test_without_shared_arena(void **state)
{
	struct fixture *f = *state;
	struct kvfs_ioc_info info = { .version = KVFS_ABI_VERSION };
	struct kvfs_handle *h = create(f, "a", O_RDWR);
	struct kvfs_ioc_map *m = map_req(0, U);

	assert_int_equal(ioc(f, h, KVFS_IOC_INFO, &info), -EOPNOTSUPP);
	assert_int_equal(ioc(f, h, KVFS_IOC_RESERVE, m), -EOPNOTSUPP);
	assert_int_equal(ioc(f, h, KVFS_IOC_PIN, m), -EOPNOTSUPP);
	close_handle(f, h);
	free(m);
}

/* Only callers who could open the arena file may reserve, commit or pin:
 * the others could publish units holding another file's old bytes. */
static void test_permissions(void **state)
{
	struct fixture *f = *state;
	struct kvfs_handle *h = create(f, "perm", O_RDWR);
	struct kvfs_ioc_map *m = map_req(0, U);
	struct kvfs_ioc_info info = { .version = KVFS_ABI_VERSION };
	struct kvfs_ctx root = f->a;
	struct stat st;

	assert_int_equal(fstat(f->kv.mem.arena.fd, &st), 0);
	/* Someone else, not in the arena's group (mode 0600). */
	f->a.uid = st.st_uid + 4242;
	f->a.gid = st.st_gid + 4242;
	assert_int_equal(ioc(f, h, KVFS_IOC_RESERVE, m), -EPERM);
	assert_int_equal(ioc(f, h, KVFS_IOC_PIN, m), -EPERM);
	assert_int_equal(commit(f, h, 1, 0, U), -EPERM);
	assert_int_equal(ioc(f, h, KVFS_IOC_INFO, &info), sizeof(info));	/* harmless */
	/* ... until the arena is shared with that group (arena_group=). */
	assert_int_equal(fchown(f->kv.mem.arena.fd, (uid_t)-1, f->a.gid), 0);
	assert_int_equal(fchmod(f->kv.mem.arena.fd, 0660), 0);
	assert_int_equal(ioc(f, h, KVFS_IOC_RESERVE, m), sizeof(*m));
	assert_int_equal(commit(f, h, m->lease, 0, U), 0);
	/* The owner may, and root always may. */
	assert_int_equal(fchmod(f->kv.mem.arena.fd, 0600), 0);
	f->a.uid = st.st_uid;
	assert_int_equal(ioc(f, h, KVFS_IOC_PIN, m), sizeof(*m));
	f->a = root;
	f->a.uid = 0;
	assert_int_equal(ioc(f, h, KVFS_IOC_PIN, m), sizeof(*m));
	close_handle(f, h);
	free(m);
}

/* Reserve, fill, commit: invisible before, exact after, CRC right at close. */
static void test_reserve_commit(void **state)
{
	struct fixture *f = *state;
	struct kvfs_handle *h = create(f, "f", O_RDWR);
	uint64_t len = 3 * U + 100, before = free_units(f);
	struct kvfs_ioc_map *m = map_req(0, len);
	struct stat st;

	assert_int_equal(ioc(f, h, KVFS_IOC_RESERVE, m), sizeof(*m));
	assert_true(m->lease != 0);
	assert_int_equal(m->end, len);
	assert_int_equal(m->next, len);
	assert_int_equal(m->arena_id, f->kv.mem.arena.id);
	assert_int_equal(free_units(f), before - 4);
	fill_extents(f, m, 0, 1);
	kvfs_ns_getattr(&f->kv.ns, h->ino, &st);
	assert_int_equal(st.st_size, 0);		/* nothing visible yet */
	assert_int_equal(h->ino->data.bytes, 0);	/* not even allocated to it */
	assert_int_equal(commit(f, h, m->lease, 0, len), 0);
	kvfs_ns_getattr(&f->kv.ns, h->ino, &st);
	assert_int_equal(st.st_size, len);
	check_pattern(f, h, 0, len, 1);
	/* The whole reservation is committed: the lease is gone. */
	assert_int_equal(h->nleases, 0);
	assert_int_equal(unpin(f, h, m->lease), -EINVAL);
	assert_int_equal(kvfs_file_flush(&f->kv.ns, &f->a, h), 0);
	{
		unsigned char *buf = malloc(len);

		read_back(f, h, 0, buf, len);
		assert_true(h->ino->crc_valid);
		assert_int_equal(h->ino->crc, kvfs_crc32c(0, buf, len));
		free(buf);
	}
	{
		struct kvfs_inode *ino = h->ino;

		kvfs_file_release(&f->kv.ns, h);
		assert_int_equal(kvfs_inode_check(ino), 0);
		kvfs_ns_forget(&f->kv.ns, ino, 1);
	}
	free(m);
}

/* A client that dies before COMMIT: release gives everything back. */
static void test_release_drops_reservation(void **state)
{
	struct fixture *f = *state;
	struct kvfs_handle *h = create(f, "g", O_WRONLY);
	uint64_t before = free_units(f);
	struct kvfs_ioc_map *m = map_req(0, 64 * U);
	struct kvfs_inode *ino = h->ino;
	struct stat st;

	assert_int_equal(kvfs_file_write(&f->kv.ns, h, "head", 4, 0), 4);
	assert_int_equal(free_units(f), before - 1);
	assert_int_equal(ioc(f, h, KVFS_IOC_RESERVE, m), sizeof(*m));
	assert_int_equal(free_units(f), before - 64);
	fill_extents(f, m, 0, 2);	/* overwrites "head" in place too */
	assert_int_equal(kvfs_file_flush(&f->kv.ns, &f->a, h), 0);
	kvfs_file_release(&f->kv.ns, h);
	kvfs_ns_getattr(&f->kv.ns, ino, &st);
	assert_int_equal(st.st_size, 4);
	assert_int_equal(free_units(f), before - 1);
	/* The bytes past EOF of the in-place unit read as zeros again. */
	assert_int_equal(kvfs_file_open(&f->kv.ns, &f->a, ino, O_RDWR, 0, &h), 0);
	assert_int_equal(kvfs_file_setattr(&f->kv.ns, &f->a, ino,
					   &(struct stat){ .st_size = 2 * U },
					   KVFS_SET_SIZE, &st), 0);
	{
		unsigned char buf[2 * U], zero[2 * U - 4];

		memset(zero, 0, sizeof(zero));
		read_back(f, h, 0, buf, sizeof(buf));
		assert_memory_equal(buf + 4, zero, sizeof(zero));
	}
	kvfs_file_release(&f->kv.ns, h);
	kvfs_ns_forget(&f->kv.ns, ino, 1);
	free(m);
}

/* Commits in pieces, in any order; bad boundaries and repeats refused. */
static void test_commit_pieces(void **state)
{
	struct fixture *f = *state;
	struct kvfs_handle *h = create(f, "p", O_RDWR);
	uint64_t off = 100, len = 5 * U, before = free_units(f);
	struct kvfs_ioc_map *m = map_req(off, len);
	struct stat st;

	assert_int_equal(ioc(f, h, KVFS_IOC_RESERVE, m), sizeof(*m));
	fill_extents(f, m, off, 3);
	assert_int_equal(commit(f, h, m->lease, off, 2 * U), -EINVAL);	/* ends mid-unit */
	assert_int_equal(commit(f, h, m->lease, off + 1, U), -EINVAL);	/* starts mid-unit */
	assert_int_equal(commit(f, h, m->lease, 0, U), -EINVAL);	/* before the lease */
	assert_int_equal(commit(f, h, m->lease, 3 * U, 3 * U), -EINVAL);	/* past it */
	assert_int_equal(commit(f, h, m->lease + 1, 3 * U, off + 2 * U), -EINVAL);
	assert_int_equal(commit(f, h, m->lease, 3 * U, off + 2 * U), 0);	/* the tail */
	kvfs_ns_getattr(&f->kv.ns, h->ino, &st);
	assert_int_equal(st.st_size, off + len);
	check_pattern(f, h, 3 * U, off + 2 * U, 3);
	assert_int_equal(commit(f, h, m->lease, 3 * U, U), -EINVAL);	/* again */
	assert_int_equal(commit(f, h, m->lease, off, 3 * U - off), 0);	/* the head */
	check_pattern(f, h, off, len, 3);
	{
		unsigned char buf[100], zero[100] = { 0 };

		read_back(f, h, 0, buf, 100);
		assert_memory_equal(buf, zero, 100);	/* the edge was zeroed */
	}
	assert_int_equal(h->nleases, 0);
	assert_int_equal(free_units(f), before - 6);
	close_handle(f, h);
	free(m);
}

/* Existing units are handed out in place; holes filled by write(2) after
 * RESERVE get the reservation's bytes copied in at COMMIT. */
static void test_inplace_and_filled_holes(void **state)
{
	struct fixture *f = *state;
	struct kvfs_handle *h = create(f, "o", O_RDWR);
	char buf[U];
	struct kvfs_ioc_map *m = map_req(0, 2 * U);
	struct kvfs_extmap_walk w;
	uint64_t aoff, seg, before;

	memset(buf, 'x', sizeof(buf));
	assert_int_equal(kvfs_file_write(&f->kv.ns, h, buf, U, 0), (ssize_t)U);
	kvfs_extmap_walk_init(&w, &h->ino->data, 0, U);
	assert_int_equal(kvfs_extmap_walk_next(&w, &aoff, &seg), 1);
	before = free_units(f);
	assert_int_equal(ioc(f, h, KVFS_IOC_RESERVE, m), sizeof(*m));
	assert_int_equal(m->ext[0].aoff, aoff);		/* unit 0 in place */
	assert_int_equal(free_units(f), before - 1);	/* only unit 1 is new */
	fill_extents(f, m, 0, 4);
	/* Meanwhile write(2) fills the hole at unit 1. */
	assert_int_equal(kvfs_file_write(&f->kv.ns, h, "zz", 2, U + 10), 2);
	assert_int_equal(free_units(f), before - 2);
	assert_int_equal(commit(f, h, m->lease, 0, 2 * U), 0);
	check_pattern(f, h, 0, 2 * U, 4);
	assert_int_equal(free_units(f), before - 1);	/* the copy's unit went back */
	assert_int_equal(kvfs_extmap_check(&h->ino->data), 0);
	close_handle(f, h);
	free(m);
}

/* More extents than one reply holds: continuation with KVFS_MAP_MORE. */
static void test_continuation(void **state)
{
	struct fixture *f = *state;
	struct kvfs_handle *h = create(f, "c", O_RDWR);
	uint64_t n = KVFS_IOC_MAP_EXTENTS + 300, pos = 0, lease, total = 0;
	struct kvfs_run run;
	struct kvfs_ioc_map *m = map_req(0, n * U);
	int nruns, calls = 0;

	/* Fragment the arena: take all of it, give every other unit of the
	 * first 2n back. */
	assert_int_equal(kvfs_alloc_take(&f->kv.mem.alloc, MEM / U, 0, &run, 1, &nruns),
			 (int64_t)(MEM / U));
	for (uint64_t i = 0; i < 2 * n; i += 2)
		assert_int_equal(kvfs_alloc_give(&f->kv.mem.alloc, run.start + i, 1), 0);
	assert_int_equal(ioc(f, h, KVFS_IOC_RESERVE, m), sizeof(*m));
	lease = m->lease;
	for (;;) {
		calls++;
		assert_int_equal(m->lease, lease);
		assert_true(m->count <= KVFS_IOC_MAP_EXTENTS);
		fill_extents(f, m, pos, 5);
		for (uint32_t i = 0; i < m->count; i++)
			total += m->ext[i].len;
		pos = m->next;
		if (pos == m->end)
			break;
		m->flags = KVFS_MAP_MORE;
		m->next = pos;
		assert_int_equal(ioc(f, h, KVFS_IOC_RESERVE, m), sizeof(*m));
	}
	assert_true(calls >= 2);
	assert_int_equal(total, n * U);
	/* A continuation of a pin lease id, or from outside, is refused. */
	m->next = n * U;
	assert_int_equal(ioc(f, h, KVFS_IOC_RESERVE, m), -EINVAL);
	m->next = 0;
	assert_int_equal(ioc(f, h, KVFS_IOC_PIN, m), -EINVAL);
	assert_int_equal(commit(f, h, lease, 0, n * U), 0);
	check_pattern(f, h, 0, n * U, 5);
	close_handle(f, h);
	free(m);
}

/* Pins: clamped to EOF, holes listed, truncation and punching refused. */
static void test_pin(void **state)
{
	struct fixture *f = *state;
	struct kvfs_handle *w = create(f, "r", O_RDWR), *r;
	struct kvfs_inode *ino = w->ino;
	char buf[3 * U];
	struct kvfs_ioc_map *m = map_req(0, 100 * U);
	struct stat st;

	memset(buf, 'd', sizeof(buf));
	assert_int_equal(kvfs_file_write(&f->kv.ns, w, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	assert_int_equal(kvfs_file_fallocate(&f->kv.ns, w, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					     U, U), 0);
	close_handle(f, w);
	assert_int_equal(kvfs_ns_lookup(&f->kv.ns, &f->a, f->kv.ns.root, "r", &(struct kvfs_entry){ 0 }), 0);
	assert_int_equal(kvfs_file_open(&f->kv.ns, &f->a, ino, O_RDONLY, 0, &r), 0);
	assert_int_equal(ioc(f, r, KVFS_IOC_PIN, m), sizeof(*m));
	assert_int_equal(m->end, 3 * U);
	assert_int_equal(m->next, 3 * U);
	assert_int_equal(m->count, 3);
	assert_true(m->ext[0].aoff != KVFS_IOC_HOLE);
	assert_int_equal(m->ext[1].aoff, KVFS_IOC_HOLE);
	assert_int_equal(m->ext[1].len, U);
	assert_memory_equal(kvfs_arena_ptr(&f->kv.mem.arena, m->ext[2].aoff), buf, U);
	/* Leased units cannot be freed under the client. */
	assert_int_equal(kvfs_file_open(&f->kv.ns, &f->a, ino, O_RDWR, 0, &w), 0);
	assert_int_equal(kvfs_file_setattr(&f->kv.ns, &f->a, ino, &(struct stat){ .st_size = U },
					   KVFS_SET_SIZE, &st), -EBUSY);
	assert_int_equal(kvfs_file_fallocate(&f->kv.ns, w, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					     2 * U, U), -EBUSY);
	assert_int_equal(unpin(f, r, m->lease), 0);
	assert_int_equal(unpin(f, r, m->lease), -EINVAL);
	assert_int_equal(kvfs_file_setattr(&f->kv.ns, &f->a, ino, &(struct stat){ .st_size = U },
					   KVFS_SET_SIZE, &st), 0);
	/* At or past EOF: no lease, nothing listed. */
	m->off = 5 * U;
	assert_int_equal(ioc(f, r, KVFS_IOC_PIN, m), sizeof(*m));
	assert_int_equal(m->lease, 0);
	assert_int_equal(m->end, 5 * U);
	assert_int_equal(m->count, 0);
	/* Pins end at release too. */
	m->off = 0;
	assert_int_equal(ioc(f, r, KVFS_IOC_PIN, m), sizeof(*m));
	assert_int_equal(r->nleases, 1);
	kvfs_file_release(&f->kv.ns, r);
	assert_int_equal(ino->leases, NULL);
	kvfs_file_release(&f->kv.ns, w);
	kvfs_ns_forget(&f->kv.ns, ino, 1);
	free(m);
}

/* Every malformed request gets its errno, and changes nothing. */
static void test_bad_requests(void **state)
{
	struct fixture *f = *state;
	struct kvfs_handle *w = create(f, "b", O_RDWR), *ro, *wo;
	struct kvfs_inode *ino = w->ino;
	struct kvfs_ioc_map *m = map_req(0, U);
	uint64_t before = free_units(f);
	char raw[KVFS_IOC_MAP_SIZE + 8];

	/* Commands. */
	assert_int_equal(ioc(f, w, _IOWR('k', 0x7f, struct kvfs_ioc_map), m), -ENOTTY);
	assert_int_equal(ioc(f, w, _IOWR('j', 0x41, struct kvfs_ioc_map), m), -ENOTTY);
	assert_int_equal(kvfs_fastpath_ioctl(&f->kv.ns, &f->a, w, _IOWR('k', 0x41, char[100]), m, 100,
					     m, 100), -EINVAL);
	assert_int_equal(kvfs_fastpath_ioctl(&f->kv.ns, &f->a, w, _IOR('k', 0x41, struct kvfs_ioc_map),
					     m, sizeof(*m), m, sizeof(*m)), -EINVAL);
	assert_int_equal(kvfs_fastpath_ioctl(&f->kv.ns, &f->a, w, KVFS_IOC_RESERVE, m, sizeof(*m) - 1,
					     m, sizeof(*m)), -EINVAL);
	assert_int_equal(kvfs_fastpath_ioctl(&f->kv.ns, &f->a, w, KVFS_IOC_RESERVE, m, sizeof(*m),
					     m, sizeof(*m) - 1), -EINVAL);
	assert_int_equal(kvfs_fastpath_ioctl(&f->kv.ns, &f->a, w, KVFS_IOC_RESERVE, NULL, sizeof(*m),
					     m, sizeof(*m)), -EINVAL);
	/* An unaligned argument buffer is fine. */
	memcpy(raw + 1, m, sizeof(*m));
	assert_int_equal(kvfs_fastpath_ioctl(&f->kv.ns, &f->a, w, KVFS_IOC_PIN, raw + 1, sizeof(*m),
					     raw + 1, sizeof(*m)), sizeof(*m));
	/* Header fields. */
	m->version = 0;
	assert_int_equal(ioc(f, w, KVFS_IOC_RESERVE, m), -EINVAL);
	m->version = KVFS_ABI_VERSION + 1;
	assert_int_equal(ioc(f, w, KVFS_IOC_RESERVE, m), -EINVAL);
	m->version = KVFS_ABI_VERSION;
	m->flags = 0x80;
	assert_int_equal(ioc(f, w, KVFS_IOC_RESERVE, m), -EINVAL);
	m->flags = 0;
	m->reserved = 1;
	assert_int_equal(ioc(f, w, KVFS_IOC_RESERVE, m), -EINVAL);
	m->reserved = 0;
	struct kvfs_ioc_commit c = { .version = KVFS_ABI_VERSION, .lease = 1, .len = 1,
				     .reserved = { 0, 0, 7 } };
	assert_int_equal(ioc(f, w, KVFS_IOC_COMMIT, &c), -EINVAL);
	struct kvfs_ioc_info info = { .version = KVFS_ABI_VERSION, .flags = 1 };
	assert_int_equal(ioc(f, w, KVFS_IOC_INFO, &info), -EINVAL);
	/* Ranges, near 2^63 and 2^64 too. */
	static const uint64_t bad[][2] = {
		{ 0, 0 }, { 1ull << 63, U }, { (1ull << 63) - 1, 2 }, { UINT64_MAX, 1 },
		{ 0, UINT64_MAX }, { U, UINT64_MAX - U + 1 }, { KVFS_MAX_FILESIZE, 1 },
		{ INT64_MAX, INT64_MAX },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		m->off = bad[i][0];
		m->len = bad[i][1];
		assert_int_equal(ioc(f, w, KVFS_IOC_RESERVE, m), -EINVAL);
		assert_int_equal(ioc(f, w, KVFS_IOC_PIN, m), -EINVAL);
		assert_int_equal(commit(f, w, 1, bad[i][0], bad[i][1]), -EINVAL);
	}
	m->off = 0;
	m->len = 2 * (uint64_t)MEM;
	assert_int_equal(ioc(f, w, KVFS_IOC_RESERVE, m), -ENOSPC);
	m->len = MEM;	/* one unit short: the file has one past the range */
	assert_int_equal(kvfs_file_write(&f->kv.ns, w, "x", 1, MEM + 10 * U), 1);
	assert_int_equal(ioc(f, w, KVFS_IOC_RESERVE, m), -ENOSPC);	/* all or nothing */
	assert_int_equal(free_units(f), before - 1);
	/* Lease ids. */
	assert_int_equal(unpin(f, w, 0), -EINVAL);
	assert_int_equal(unpin(f, w, 12345), -EINVAL);
	assert_int_equal(commit(f, w, 12345, 0, U), -EINVAL);
	/* Access modes. */
	assert_int_equal(kvfs_file_open(&f->kv.ns, &f->a, ino, O_RDONLY, 0, &ro), 0);
	assert_int_equal(kvfs_file_open(&f->kv.ns, &f->a, ino, O_WRONLY, 0, &wo), 0);
	m->len = U;
	assert_int_equal(ioc(f, ro, KVFS_IOC_RESERVE, m), -EBADF);
	assert_int_equal(commit(f, ro, 1, 0, U), -EBADF);
	assert_int_equal(ioc(f, wo, KVFS_IOC_PIN, m), -EBADF);
	/* One reservation per byte: a second one over it is refused. */
	assert_int_equal(ioc(f, w, KVFS_IOC_RESERVE, m), sizeof(*m));
	uint64_t lease = m->lease;
	m->off = U / 2;
	assert_int_equal(ioc(f, wo, KVFS_IOC_RESERVE, m), -EBUSY);
	m->off = U;	/* adjacent is fine */
	assert_int_equal(ioc(f, wo, KVFS_IOC_RESERVE, m), sizeof(*m));
	/* Another handle's lease is not yours. */
	assert_int_equal(unpin(f, ro, lease), -EINVAL);
	assert_int_equal(unpin(f, w, lease), 0);
	kvfs_file_release(&f->kv.ns, ro);
	kvfs_file_release(&f->kv.ns, wo);
	close_handle(f, w);
	free(m);
}

/* A handle holds at most KVFS_FP_MAX_LEASES leases. */
static void test_lease_limit(void **state)
{
	struct fixture *f = *state;
	struct kvfs_handle *h = create(f, "l", O_RDWR);
	struct kvfs_ioc_map *m = map_req(0, 1);

	assert_int_equal(kvfs_file_write(&f->kv.ns, h, "abc", 3, 0), 3);
	for (int i = 0; i < KVFS_FP_MAX_LEASES; i++)
		assert_int_equal(ioc(f, h, KVFS_IOC_PIN, m), sizeof(*m));
	assert_int_equal(ioc(f, h, KVFS_IOC_PIN, m), -EMFILE);
	assert_int_equal(h->nleases, KVFS_FP_MAX_LEASES);
	close_handle(f, h);
	free(m);
}

/* O_TRUNC of a file with a live reservation in place is refused. */
static void test_otrunc_busy(void **state)
{
	struct fixture *f = *state;
	struct kvfs_handle *h = create(f, "t", O_RDWR), *t;
	struct kvfs_ioc_map *m = map_req(0, U);

	assert_int_equal(kvfs_file_write(&f->kv.ns, h, "abc", 3, 0), 3);
	assert_int_equal(ioc(f, h, KVFS_IOC_RESERVE, m), sizeof(*m));
	assert_int_equal(kvfs_file_open(&f->kv.ns, &f->a, h->ino, O_RDWR | O_TRUNC, 0, &t), -EBUSY);
	assert_int_equal(unpin(f, h, m->lease), 0);
	assert_int_equal(kvfs_file_open(&f->kv.ns, &f->a, h->ino, O_RDWR | O_TRUNC, 0, &t), 0);
	kvfs_file_release(&f->kv.ns, t);
	close_handle(f, h);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_info, setup, teardown),
		cmocka_unit_test_setup_teardown(test_without_shared_arena, setup_memfd, teardown),
		cmocka_unit_test_setup_teardown(test_permissions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reserve_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_drops_reservation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_pieces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inplace_and_filled_holes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_continuation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lease_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_otrunc_busy, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
