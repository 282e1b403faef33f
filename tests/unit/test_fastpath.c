/*
 * test_fastpath.c - the daemon's side of libkvfs-gpu's protocol without
 * FUSE: INFO (kvfs_abi.h, version 2) on files and directories, what it
 * reports (size as it changes, the passthrough flag of the open, the
 * mapping alignment, reserved fields zero), and the errno of every
 * malformed request, including version 1's.
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
#include <unistd.h>
#include <cmocka.h>

#include "fastpath.h"
#include "kvfs.h"
#include "ns.h"

#include "t_core.h"
#include "t_util.h"

#define MEM (16u << 20)

struct fixture {
	struct kvfs kv;             /* arena and namespace, no index */
	struct kvfs_ctx a;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct t_core_cfg cfg = { .mem = MEM };

	assert_non_null(f);
	t_core_open(&f->kv, &cfg);
	f->a = t_ctx(1);
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

/* INFO with the request and reply in one buffer, as ops.c passes them. */
static long info(struct fixture *f, struct kvfs_handle *h, struct kvfs_ioc_info *r)
{
	return kvfs_fastpath_ioctl(&f->kv.ns, h, KVFS_IOC_INFO, r, sizeof(*r), r, sizeof(*r));
}

static void req(struct kvfs_ioc_info *r)
{
	memset(r, 0, sizeof(*r));
	r->version = KVFS_ABI_VERSION;
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

static void assert_reply(const struct kvfs_ioc_info *r, uint32_t flags, uint64_t size)
{
	assert_int_equal(r->version, KVFS_ABI_VERSION);
	assert_int_equal(r->flags, 0);
	assert_int_equal(r->out_flags, flags);
	assert_int_equal(r->map_align, KVFS_MAP_ALIGN);
	assert_int_equal(r->file_size, size);
	for (size_t i = 0; i < sizeof(r->reserved) / sizeof(r->reserved[0]); i++)
		assert_int_equal(r->reserved[i], 0);
}

static void test_info_file(void **state)
{
	struct fixture *f = *state;
	struct kvfs_handle *h = create(f, "a", O_RDWR);
	struct kvfs_ioc_info r;
	char buf[5000];

	req(&r);
	assert_int_equal(info(f, h, &r), sizeof(r));
	assert_reply(&r, 0, 0);
	memset(buf, 7, sizeof(buf));
	assert_int_equal(kvfs_file_write(&f->kv.ns, h, buf, sizeof(buf), 3), sizeof(buf));
	/* The request's out fields are ignored, whatever they hold. */
	req(&r);
	r.out_flags = ~0u;
	r.map_align = 3;
	r.file_size = 99;
	assert_int_equal(info(f, h, &r), sizeof(r));
	assert_reply(&r, 0, 5003);
	/* A passthrough open (set by the open path once it exists) says so. */
	h->passthrough = 1;
	req(&r);
	assert_int_equal(info(f, h, &r), sizeof(r));
	assert_reply(&r, KVFS_INFO_PASSTHROUGH, 5003);
	h->passthrough = 0;
	close_handle(f, h);
}

static void test_info_dir(void **state)
{
	struct fixture *f = *state;
	struct kvfs_ioc_info r;
	struct kvfs_handle *d;

	assert_int_equal(kvfs_ns_opendir(&f->kv.ns, &f->a, f->kv.ns.root, &d), 0);
	req(&r);
	assert_int_equal(info(f, d, &r), sizeof(r));
	assert_reply(&r, KVFS_INFO_DIR, 0);
	kvfs_ns_releasedir(&f->kv.ns, d);
}

static void test_bad_requests(void **state)
{
	struct fixture *f = *state;
	struct kvfs_handle *h = create(f, "a", O_RDWR);
	struct kvfs_ns *ns = &f->kv.ns;
	struct kvfs_ioc_info r;
	char big[8192];

	req(&r);
	r.version = 1;		/* version 1's INFO: same command, same size */
	assert_int_equal(info(f, h, &r), -EINVAL);
	req(&r);
	r.version = 0;
	assert_int_equal(info(f, h, &r), -EINVAL);
	req(&r);
	r.version = KVFS_ABI_VERSION + 1;
	assert_int_equal(info(f, h, &r), -EINVAL);
	for (int bit = 0; bit < 32; bit++) {
		req(&r);
		r.flags = 1u << bit;
		assert_int_equal(info(f, h, &r), -EINVAL);
	}
	for (size_t i = 0; i < sizeof(r.reserved) / sizeof(r.reserved[0]); i++) {
		req(&r);
		r.reserved[i] = 1;
		assert_int_equal(info(f, h, &r), -EINVAL);
	}
	/* Sizes: what the kernel copied in, and the room for the reply. */
	req(&r);
	assert_int_equal(kvfs_fastpath_ioctl(ns, h, KVFS_IOC_INFO, &r, sizeof(r) - 1, &r,
					     sizeof(r)), -EINVAL);
	assert_int_equal(kvfs_fastpath_ioctl(ns, h, KVFS_IOC_INFO, NULL, 0, &r, sizeof(r)),
			 -EINVAL);
	assert_int_equal(kvfs_fastpath_ioctl(ns, h, KVFS_IOC_INFO, &r, sizeof(r), &r,
					     sizeof(r) - 1), -EINVAL);
	memset(big, 0, sizeof(big));
	*(uint32_t *)big = KVFS_ABI_VERSION;
	assert_int_equal(kvfs_fastpath_ioctl(ns, h, _IOWR(KVFS_IOC_TYPE, 0x40, char[264]), big,
					     264, big, 264), -EINVAL);
	assert_int_equal(kvfs_fastpath_ioctl(ns, h, _IOR(KVFS_IOC_TYPE, 0x40,
							 struct kvfs_ioc_info), NULL, 0, big,
					     sizeof(r)), -EINVAL);
	/* Version 1's other commands, unknown numbers, other types. */
	for (unsigned nr = 0x41; nr <= 0x44; nr++)
		assert_int_equal(kvfs_fastpath_ioctl(ns, h, _IOWR(KVFS_IOC_TYPE, nr, char[64]),
						     big, 64, big, 64), -ENOTTY);
	assert_int_equal(kvfs_fastpath_ioctl(ns, h, _IOWR('q', 0x40, struct kvfs_ioc_info), big,
					     sizeof(r), big, sizeof(r)), -ENOTTY);
	/* The handle still answers. */
	req(&r);
	assert_int_equal(info(f, h, &r), sizeof(r));
	close_handle(f, h);
}

/* Control files are not files libkvfs-gpu can move: ENOTTY. */
static void test_ctl(void **state)
{
	struct fixture *f = *state;
	struct kvfs_inode ctl_ino = { .ctl = KVFS_CTL_DIR, .is_dir = 1 };
	struct kvfs_handle h = { .ino = &ctl_ino };
	struct kvfs_ioc_info r;

	req(&r);
	assert_int_equal(info(f, &h, &r), -ENOTTY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_info_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_info_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctl, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
