/*
 * kproto.h - what kvfs adds to the FUSE protocol between the kernel and
 * libfuse.  libfuse 3.14 speaks protocol 7.38 and knows nothing of the
 * kernel's later INIT flags; kvfs reads every request and patches replies
 * on their way (fs/kconn.c installs the hooks through libfuse's custom I/O).
 * The INIT reply gains FUSE_DIRECT_IO_ALLOW_MMAP (kernel 6.6+), so a file
 * opened with direct I/O can still be mapped shared (numpy.memmap,
 * torch.load(mmap=True)); the kernel serves the mapping from its page cache
 * and sends its dirty pages as WRITE requests.  Where asked, it gains
 * FUSE_PASSTHROUGH with max_stack_depth 1, and OPEN and CREATE replies of
 * handles the daemon bound to their backing file gain FOPEN_PASSTHROUGH
 * and the backing id: the kernel then serves read, write and mmap of that
 * open from the backing file (docs/design.md, "The kernel protocol").
 *
 * FUSE-free: linux/fuse.h is the kernel's ABI, not libfuse.  Threads: FUSE
 * workers call both verbs; the kernel sends INIT first and nothing else
 * until it is answered, and every field is atomic.
 */
#ifndef KVFS_KPROTO_H
#define KVFS_KPROTO_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* INIT flags past 32 bits travel in flags2 (FUSE_INIT_EXT).  Defined here:
 * Debian 12's linux/fuse.h (protocol 7.38) predates them. */
#define KVFS_FUSE_DIRECT_IO_ALLOW_MMAP (1ull << 36) /* kernel 6.6+ */
#define KVFS_FUSE_PASSTHROUGH          (1ull << 37) /* kernel 6.9+ */
/* In the first 32 bits, known to Debian 12's linux/fuse.h but not asked
 * for by libfuse 3.14: the daemon kills set-id bits itself (it does, by
 * Linux's rules: file.c), so the kernel marks the mount SB_NOSEC and stops
 * asking for security.capability before every write of a passthrough open
 * (once per inode after each attribute refresh instead). */
#define KVFS_FUSE_HANDLE_KILLPRIV_V2   (1ull << 28) /* kernel 5.11+ */

/* OPEN and CREATE requests whose replies may still be patched: their
 * uniques, noted as read, taken back when replied to.  Slots are few: the
 * kernel has at most max_background + one synchronous request per calling
 * thread in flight.  A unique that finds no slot is counted and its reply
 * goes out unpatched: that open is daemon-served (see kproto.c for why
 * that is safe). */
#define KVFS_KPROTO_SLOTS 1024

/* Open-reply flags from the kernel's ABI past Debian 12's linux/fuse.h. */
#define KVFS_FOPEN_PASSTHROUGH (1u << 7) /* kernel 6.9+ */

struct kvfs_kproto {
	uint64_t want;                  /* INIT flags to ask for (set before mount) */
	atomic_uint_fast64_t init_unique; /* the INIT request's unique, 0 before */
	atomic_uint_fast64_t offered;   /* the kernel's INIT flags (flags | flags2 << 32) */
	atomic_uint_fast64_t granted;   /* the flags kvfs added to the INIT reply */
	atomic_int init_seen;           /* an INIT request was read */
	atomic_int init_patched;        /* its reply was patched (or needed nothing) */
	/* Passthrough: the backing id of an open's handle (fuse_open_out.fh),
	 * 0 to leave the reply alone.  Set before mount. */
	int32_t (*backing_of)(void *arg, uint64_t fh);
	void *backing_arg;
	atomic_uint_fast64_t opens[KVFS_KPROTO_SLOTS]; /* unique << 1 | is_create */
	atomic_int pending;             /* entries in opens[] */
	atomic_uint_fast32_t probe;     /* the farthest an entry sits from its slot */
	atomic_uint_fast64_t opens_patched; /* replies given FOPEN_PASSTHROUGH */
	atomic_uint_fast64_t opens_missed;  /* OPEN/CREATE with no free slot */
	atomic_uint_fast64_t tmpfiles;      /* FUSE_TMPFILE turned into CREATE */
};

/* Asks for `want` (KVFS_FUSE_* bits) in the INIT reply, where offered. */
void kvfs_kproto_init(struct kvfs_kproto *kp, uint64_t want);

/* A request of `len` bytes as read from /dev/fuse: notes INIT, OPEN and
 * CREATE.  FUSE_TMPFILE (open(dir, O_TMPFILE), which libfuse 3.14 would
 * answer ENOSYS) has CREATE's layout and reply; it is turned in place into
 * a CREATE of the name KVFS_TMPFILE_NAME, which no directory entry can
 * have, and kvfs's create takes that as O_TMPFILE. */
void kvfs_kproto_request(struct kvfs_kproto *kp, void *buf, size_t len);

/* The name a FUSE_TMPFILE request carries (the kernel's unhashed dentry). */
#define KVFS_TMPFILE_NAME "/"

/* A reply about to be written (iov[0] the fuse_out_header): patches the
 * INIT reply, and OPEN and CREATE replies whose handle has a backing id
 * (FOPEN_PASSTHROUGH), in place.  Anything else passes unchanged. */
void kvfs_kproto_reply(struct kvfs_kproto *kp, struct iovec *iov, int count);

/* Whether this process holds CAP_SYS_ADMIN, which the kernel requires of
 * whoever registers passthrough backing files (FUSE_DEV_IOC_BACKING_OPEN). */
int kvfs_kproto_can_back(void);

/* Whether the kernel granted passthrough (after INIT). */
static inline int kvfs_kproto_passthrough(struct kvfs_kproto *kp)
{
	return (atomic_load(&kp->granted) & KVFS_FUSE_PASSTHROUGH) != 0;
}
/* The flags the kernel accepted from kvfs (0 before INIT). */
static inline uint64_t kvfs_kproto_granted(struct kvfs_kproto *kp)
{
	return atomic_load(&kp->granted);
}

#endif
