/*
 * test_kproto.c - unit tests of the INIT patch (fs/kproto.c): the flags the
 * kernel offers are noted from its INIT request; the INIT reply gains
 * FUSE_INIT_EXT and the asked-for flags2 bits the kernel offered, and only
 * those; other replies, error replies, replies of another layout and a
 * second reply with the same unique pass unchanged; an old kernel's short
 * INIT request (no flags2) offers nothing past 32 bits.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <linux/fuse.h>
#include <string.h>

#include "kproto.h"

struct t_init_req {
	struct fuse_in_header h;
	struct fuse_init_in in;
};

/* The kernel's INIT request with `flags` (flags2 in the high half). */
static size_t t_init_request(struct t_init_req *r, uint64_t unique, uint64_t flags, int ext)
{
	memset(r, 0, sizeof(*r));
	r->h.opcode = FUSE_INIT;
	r->h.unique = unique;
	r->in.major = 7;
	r->in.minor = 41;
	r->in.flags = (uint32_t)flags | (ext ? FUSE_INIT_EXT : 0);
	r->in.flags2 = (uint32_t)(flags >> 32);
	r->h.len = sizeof(*r);
	return ext ? sizeof(*r) : sizeof(r->h) + 16; /* pre-5.17: 16 bytes */
}

/* libfuse's INIT reply: the header, then fuse_init_out. */
struct t_reply {
	struct fuse_out_header oh;
	struct fuse_init_out out;
	struct iovec iov[2];
};

static void t_reply_init(struct t_reply *r, uint64_t unique, int32_t error)
{
	memset(r, 0, sizeof(*r));
	r->oh.unique = unique;
	r->oh.error = error;
	r->out.major = 7;
	r->out.minor = 38;
	r->out.flags = FUSE_ASYNC_READ;
	r->iov[0] = (struct iovec){ &r->oh, sizeof(r->oh) };
	r->iov[1] = (struct iovec){ &r->out, sizeof(r->out) };
}

static void test_init_reply_gets_offered_flags(void **state)
{
	struct kvfs_kproto kp;
	struct t_init_req req;
	struct t_reply rep;
	size_t n;

	(void)state;
	kvfs_kproto_init(&kp, KVFS_FUSE_DIRECT_IO_ALLOW_MMAP);
	n = t_init_request(&req, 2, FUSE_ASYNC_READ | KVFS_FUSE_DIRECT_IO_ALLOW_MMAP |
			   KVFS_FUSE_PASSTHROUGH, 1);
	kvfs_kproto_request(&kp, &req, n);
	assert_true(atomic_load(&kp.init_seen));

	t_reply_init(&rep, 2, 0);
	kvfs_kproto_reply(&kp, rep.iov, 2);
	assert_true(rep.out.flags & FUSE_INIT_EXT);
	assert_true(rep.out.flags & FUSE_ASYNC_READ);       /* libfuse's flags kept */
	assert_int_equal(rep.out.flags2, (uint32_t)(KVFS_FUSE_DIRECT_IO_ALLOW_MMAP >> 32));
	assert_int_equal(kvfs_kproto_granted(&kp), KVFS_FUSE_DIRECT_IO_ALLOW_MMAP);
	assert_int_equal(rep.out.max_write, 0);             /* nothing else touched */
	assert_int_equal(rep.out.minor, 38);

	/* Once: a later reply that reuses the unique is not INIT's. */
	t_reply_init(&rep, 2, 0);
	kvfs_kproto_reply(&kp, rep.iov, 2);
	assert_int_equal(rep.out.flags2, 0);
	assert_false(rep.out.flags & FUSE_INIT_EXT);
}

/* A flag of the first 32 bits (FUSE_HANDLE_KILLPRIV_V2) lands in flags,
 * with no INIT_EXT of its own; not offered, it is not added. */
static void test_low_flag_granted_where_offered(void **state)
{
	struct kvfs_kproto kp;
	struct t_init_req req;
	struct t_reply rep;

	(void)state;
	kvfs_kproto_init(&kp, KVFS_FUSE_HANDLE_KILLPRIV_V2);
	kvfs_kproto_request(&kp, &req, t_init_request(&req, 3, FUSE_ASYNC_READ |
						      KVFS_FUSE_HANDLE_KILLPRIV_V2, 1));
	t_reply_init(&rep, 3, 0);
	kvfs_kproto_reply(&kp, rep.iov, 2);
	assert_true(rep.out.flags & FUSE_HANDLE_KILLPRIV_V2);
	assert_true(rep.out.flags & FUSE_ASYNC_READ);
	assert_false(rep.out.flags & FUSE_INIT_EXT);
	assert_int_equal(rep.out.flags2, 0);
	assert_int_equal(kvfs_kproto_granted(&kp), KVFS_FUSE_HANDLE_KILLPRIV_V2);

	kvfs_kproto_init(&kp, KVFS_FUSE_HANDLE_KILLPRIV_V2 | KVFS_FUSE_DIRECT_IO_ALLOW_MMAP);
	kvfs_kproto_request(&kp, &req, t_init_request(&req, 4, FUSE_ASYNC_READ, 0));
	t_reply_init(&rep, 4, 0);
	kvfs_kproto_reply(&kp, rep.iov, 2);
	assert_int_equal(rep.out.flags, FUSE_ASYNC_READ);
	assert_int_equal(kvfs_kproto_granted(&kp), 0);
}

/* FUSE_TMPFILE becomes a CREATE of "/" in place (libfuse would answer
 * ENOSYS); anything else with that opcode is left as it is. */
static void test_tmpfile_becomes_create(void **state)
{
	struct kvfs_kproto kp;
	struct {
		struct fuse_in_header h;
		struct fuse_create_in in;
		char name[8];
	} req;
	size_t n = sizeof(req.h) + sizeof(req.in) + 2;

	(void)state;
	kvfs_kproto_init(&kp, 0);
	memset(&req, 0, sizeof(req));
	req.h.opcode = FUSE_TMPFILE;
	req.h.unique = 11;
	req.h.len = (uint32_t)n;
	req.in.flags = 0x410001; /* O_TMPFILE | O_WRONLY */
	memcpy(req.name, "/", 2);
	kvfs_kproto_request(&kp, &req, n);
	assert_int_equal(req.h.opcode, FUSE_CREATE);
	assert_int_equal(req.h.unique, 11);
	assert_int_equal(req.in.flags, 0x410001);
	assert_int_equal(atomic_load(&kp.tmpfiles), 1);

	req.h.opcode = FUSE_TMPFILE; /* a name that is not "/": untouched */
	memcpy(req.name, "ab", 3);
	kvfs_kproto_request(&kp, &req, n + 1);
	assert_int_equal(req.h.opcode, FUSE_TMPFILE);
	assert_int_equal(atomic_load(&kp.tmpfiles), 1);
}

static void test_not_offered_not_granted(void **state)
{
	struct kvfs_kproto kp;
	struct t_init_req req;
	struct t_reply rep;

	(void)state;
	/* A 6.1 kernel: INIT_EXT but no bit 36. */
	kvfs_kproto_init(&kp, KVFS_FUSE_DIRECT_IO_ALLOW_MMAP);
	kvfs_kproto_request(&kp, &req, t_init_request(&req, 9, FUSE_ASYNC_READ, 1));
	t_reply_init(&rep, 9, 0);
	kvfs_kproto_reply(&kp, rep.iov, 2);
	assert_int_equal(rep.out.flags2, 0);
	assert_false(rep.out.flags & FUSE_INIT_EXT);
	assert_int_equal(kvfs_kproto_granted(&kp), 0);
	assert_true(atomic_load(&kp.init_patched));

	/* A pre-5.17 kernel: 16-byte INIT, whatever flags2 would have said. */
	kvfs_kproto_init(&kp, KVFS_FUSE_DIRECT_IO_ALLOW_MMAP);
	kvfs_kproto_request(&kp, &req, t_init_request(&req, 4, KVFS_FUSE_DIRECT_IO_ALLOW_MMAP, 0));
	assert_int_equal(atomic_load(&kp.offered) >> 32, 0);
	t_reply_init(&rep, 4, 0);
	kvfs_kproto_reply(&kp, rep.iov, 2);
	assert_int_equal(rep.out.flags2, 0);
}

static void test_other_replies_untouched(void **state)
{
	struct kvfs_kproto kp;
	struct t_init_req req;
	struct t_reply rep, before;

	(void)state;
	kvfs_kproto_init(&kp, KVFS_FUSE_DIRECT_IO_ALLOW_MMAP);
	/* No INIT read yet: nothing is INIT's reply. */
	t_reply_init(&rep, 0, 0);
	kvfs_kproto_reply(&kp, rep.iov, 2);
	assert_int_equal(rep.out.flags2, 0);

	kvfs_kproto_request(&kp, &req, t_init_request(&req, 7, KVFS_FUSE_DIRECT_IO_ALLOW_MMAP, 1));
	/* Another request's reply. */
	t_reply_init(&rep, 8, 0);
	before = rep;
	kvfs_kproto_reply(&kp, rep.iov, 2);
	assert_memory_equal(&rep.out, &before.out, sizeof(rep.out));
	/* A non-INIT request read in between does not change what is noted. */
	req.h.opcode = FUSE_LOOKUP;
	req.h.unique = 11;
	kvfs_kproto_request(&kp, &req, sizeof(req));
	assert_int_equal(atomic_load(&kp.init_unique), 7);
	/* INIT's reply as an error: left alone. */
	t_reply_init(&rep, 7, -EPROTO);
	kvfs_kproto_reply(&kp, rep.iov, 2);
	assert_int_equal(rep.out.flags2, 0);
	assert_false(atomic_load(&kp.init_patched));

	/* A reply too short to hold flags2 is left alone. */
	kvfs_kproto_init(&kp, KVFS_FUSE_DIRECT_IO_ALLOW_MMAP);
	kvfs_kproto_request(&kp, &req, t_init_request(&req, 5, KVFS_FUSE_DIRECT_IO_ALLOW_MMAP, 1));
	t_reply_init(&rep, 5, 0);
	rep.iov[1].iov_len = FUSE_COMPAT_22_INIT_OUT_SIZE;
	kvfs_kproto_reply(&kp, rep.iov, 2);
	assert_int_equal(rep.out.flags2, 0);
	assert_int_equal(kvfs_kproto_granted(&kp), 0);
	/* A truncated request header is ignored. */
	kvfs_kproto_init(&kp, KVFS_FUSE_DIRECT_IO_ALLOW_MMAP);
	kvfs_kproto_request(&kp, &req, 10);
	assert_false(atomic_load(&kp.init_seen));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_reply_gets_offered_flags),
		cmocka_unit_test(test_low_flag_granted_where_offered),
		cmocka_unit_test(test_tmpfile_becomes_create),
		cmocka_unit_test(test_not_offered_not_granted),
		cmocka_unit_test(test_other_replies_untouched),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
