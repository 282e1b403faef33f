/*
 * optimer.c - times every FUSE request: the operations table main() hands to
 * libfuse is ops.c's, with each handler wrapped to count the request and the
 * time from its arrival to the handler's return (the reply is sent inside
 * the handler) in struct kvfs's opstats (opstat.h), and to stamp the
 * namespace busy (kvfs_ns_busy: the hasher waits for a quiet moment).
 *
 * Part of the FUSE adaptor.  The handlers stay as they are; an operation
 * ops.c does not implement stays NULL (libfuse answers ENOSYS), and one this
 * file does not know is passed through untimed.  Cost per request: two
 * clock_gettime(CLOCK_MONOTONIC) calls (vDSO, no system call), the
 * relaxed atomic adds of kvfs_opstat_record() and one relaxed store.
 *
 * The request is gone once the handler replied, so the wrappers read the
 * userdata before calling it.  Any FUSE worker thread; no state here.
 */
#define FUSE_USE_VERSION 312

#include <fuse_lowlevel.h>

#include "clock.h"
#include "kvfs.h"
#include "ops.h"

#define TIMED(name, OP, params, args)                                        \
	static void t_##name params                                          \
	{                                                                    \
		struct kvfs *kv = fuse_req_userdata(req);                     \
		uint64_t t0 = kvfs_mono_ns();                                \
		kvfs_ns_busy(&kv->ns, t0);                                   \
		kvfs_ops.name args;                                          \
		kvfs_opstat_record(&kv->opstats, KVFS_OP_##OP, kvfs_mono_ns() - t0); \
	}

typedef struct fuse_file_info fi_t;

TIMED(lookup, LOOKUP, (fuse_req_t req, fuse_ino_t p, const char *n), (req, p, n))
TIMED(forget, FORGET, (fuse_req_t req, fuse_ino_t i, uint64_t n), (req, i, n))
TIMED(forget_multi, FORGET, (fuse_req_t req, size_t c, struct fuse_forget_data *f),
      (req, c, f))
TIMED(getattr, GETATTR, (fuse_req_t req, fuse_ino_t i, fi_t *fi), (req, i, fi))
TIMED(setattr, SETATTR, (fuse_req_t req, fuse_ino_t i, struct stat *a, int s, fi_t *fi),
      (req, i, a, s, fi))
TIMED(mknod, MKNOD, (fuse_req_t req, fuse_ino_t p, const char *n, mode_t m, dev_t d),
      (req, p, n, m, d))
TIMED(mkdir, MKDIR, (fuse_req_t req, fuse_ino_t p, const char *n, mode_t m),
      (req, p, n, m))
TIMED(unlink, UNLINK, (fuse_req_t req, fuse_ino_t p, const char *n), (req, p, n))
TIMED(rmdir, RMDIR, (fuse_req_t req, fuse_ino_t p, const char *n), (req, p, n))
TIMED(rename, RENAME, (fuse_req_t req, fuse_ino_t p, const char *n, fuse_ino_t np,
		       const char *nn, unsigned int f), (req, p, n, np, nn, f))
TIMED(link, LINK, (fuse_req_t req, fuse_ino_t i, fuse_ino_t np, const char *nn),
      (req, i, np, nn))
TIMED(symlink, SYMLINK, (fuse_req_t req, const char *l, fuse_ino_t p, const char *n),
      (req, l, p, n))
TIMED(create, CREATE, (fuse_req_t req, fuse_ino_t p, const char *n, mode_t m, fi_t *fi),
      (req, p, n, m, fi))
TIMED(open, OPEN, (fuse_req_t req, fuse_ino_t i, fi_t *fi), (req, i, fi))
TIMED(read, READ, (fuse_req_t req, fuse_ino_t i, size_t s, off_t o, fi_t *fi),
      (req, i, s, o, fi))
TIMED(write, WRITE, (fuse_req_t req, fuse_ino_t i, const char *b, size_t s, off_t o,
		     fi_t *fi), (req, i, b, s, o, fi))
TIMED(write_buf, WRITE, (fuse_req_t req, fuse_ino_t i, struct fuse_bufvec *b, off_t o,
			 fi_t *fi), (req, i, b, o, fi))
TIMED(flush, FLUSH, (fuse_req_t req, fuse_ino_t i, fi_t *fi), (req, i, fi))
TIMED(release, RELEASE, (fuse_req_t req, fuse_ino_t i, fi_t *fi), (req, i, fi))
TIMED(fsync, FSYNC, (fuse_req_t req, fuse_ino_t i, int d, fi_t *fi), (req, i, d, fi))
TIMED(opendir, OPENDIR, (fuse_req_t req, fuse_ino_t i, fi_t *fi), (req, i, fi))
TIMED(readdir, READDIR, (fuse_req_t req, fuse_ino_t i, size_t s, off_t o, fi_t *fi),
      (req, i, s, o, fi))
TIMED(readdirplus, READDIRPLUS, (fuse_req_t req, fuse_ino_t i, size_t s, off_t o,
				 fi_t *fi), (req, i, s, o, fi))
TIMED(releasedir, RELEASEDIR, (fuse_req_t req, fuse_ino_t i, fi_t *fi), (req, i, fi))
TIMED(fsyncdir, FSYNCDIR, (fuse_req_t req, fuse_ino_t i, int d, fi_t *fi),
      (req, i, d, fi))
TIMED(statfs, STATFS, (fuse_req_t req, fuse_ino_t i), (req, i))
TIMED(setxattr, SETXATTR, (fuse_req_t req, fuse_ino_t i, const char *n, const char *v,
			   size_t s, int f), (req, i, n, v, s, f))
TIMED(getxattr, GETXATTR, (fuse_req_t req, fuse_ino_t i, const char *n, size_t s),
      (req, i, n, s))
TIMED(listxattr, LISTXATTR, (fuse_req_t req, fuse_ino_t i, size_t s), (req, i, s))
TIMED(removexattr, REMOVEXATTR, (fuse_req_t req, fuse_ino_t i, const char *n),
      (req, i, n))
TIMED(lseek, LSEEK, (fuse_req_t req, fuse_ino_t i, off_t o, int w, fi_t *fi),
      (req, i, o, w, fi))
TIMED(fallocate, FALLOCATE, (fuse_req_t req, fuse_ino_t i, int m, off_t o, off_t l,
			     fi_t *fi), (req, i, m, o, l, fi))
TIMED(ioctl, IOCTL, (fuse_req_t req, fuse_ino_t i, unsigned int c, void *a, fi_t *fi,
		     unsigned f, const void *ib, size_t is, size_t os),
      (req, i, c, a, fi, f, ib, is, os))

#define WRAP(name) do { if (out->name) out->name = t_##name; } while (0)

void kvfs_optimer_ops(struct fuse_lowlevel_ops *out)
{
	*out = kvfs_ops;
	WRAP(lookup); WRAP(forget); WRAP(forget_multi); WRAP(getattr);
	WRAP(setattr); WRAP(mknod); WRAP(mkdir); WRAP(unlink); WRAP(rmdir);
	WRAP(rename); WRAP(link); WRAP(symlink); WRAP(create); WRAP(open);
	WRAP(read); WRAP(write); WRAP(write_buf); WRAP(flush); WRAP(release);
	WRAP(fsync); WRAP(opendir); WRAP(readdir); WRAP(readdirplus);
	WRAP(releasedir); WRAP(fsyncdir); WRAP(statfs); WRAP(setxattr);
	WRAP(getxattr); WRAP(listxattr); WRAP(removexattr); WRAP(lseek);
	WRAP(fallocate); WRAP(ioctl);
}
