/*
 * kproto.c - the INIT patch of kproto.h.
 *
 * Owns struct kvfs_kproto: nothing else writes it.  Called by FUSE workers
 * from kconn.c's read and writev hooks for every request and reply, so the
 * common case (not INIT) is a length check and one compare.  A reply that
 * does not look like libfuse's INIT reply (short, an error, unexpected
 * iovec layout) is left alone: the mount then works as without the patch
 * (shared mmap of direct-I/O files gives ENODEV), and /.kvfs/config says
 * the kernel refused it.
 */
#include "kproto.h"

#include <linux/fuse.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

_Static_assert(sizeof(struct fuse_in_header) == 40, "fuse_in_header");
_Static_assert(sizeof(struct fuse_out_header) == 16, "fuse_out_header");
_Static_assert(offsetof(struct fuse_init_in, flags2) == 16, "fuse_init_in.flags2");
_Static_assert(offsetof(struct fuse_init_out, flags) == 12, "fuse_init_out.flags");
_Static_assert(offsetof(struct fuse_init_out, flags2) == 32, "fuse_init_out.flags2");

int kvfs_kproto_can_back(void)
{
	char line[256];
	unsigned long long eff = 0;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	return (eff >> 21) & 1; /* CAP_SYS_ADMIN */
}

void kvfs_kproto_init(struct kvfs_kproto *kp, uint64_t want)
{
	memset(kp, 0, sizeof(*kp));
	kp->want = want;
}

/* ---- OPEN and CREATE: the uniques whose replies may need a patch ---- */

/* Notes an OPEN or CREATE.  Open addressing from unique % SLOTS; `probe`
 * keeps the longest distance any entry went, so a lookup knows when to
 * stop. */
static void open_note(struct kvfs_kproto *kp, uint64_t unique, int create)
{
	uint64_t v = unique << 1 | (uint64_t)create;

	for (uint32_t d = 0; d < KVFS_KPROTO_SLOTS; d++) {
		atomic_uint_fast64_t *slot = &kp->opens[(unique + d) % KVFS_KPROTO_SLOTS];
		uint_fast64_t zero = 0;

		if (atomic_compare_exchange_strong(slot, &zero, v)) {
			uint_fast32_t p = atomic_load(&kp->probe);

			while (d > p && !atomic_compare_exchange_weak(&kp->probe, &p, d))
				;
			atomic_fetch_add(&kp->pending, 1);
			return;
		}
	}
	atomic_fetch_add(&kp->opens_missed, 1);
}

/* Takes unique's entry back: 1 OPEN, 2 CREATE, 0 not one of ours. */
static int open_take(struct kvfs_kproto *kp, uint64_t unique)
{
	uint32_t probe = (uint32_t)atomic_load(&kp->probe);

	for (uint32_t d = 0; d <= probe && d < KVFS_KPROTO_SLOTS; d++) {
		atomic_uint_fast64_t *slot = &kp->opens[(unique + d) % KVFS_KPROTO_SLOTS];
		uint_fast64_t v = atomic_load(slot);

		if (v >> 1 == unique && v &&
		    atomic_compare_exchange_strong(slot, &v, 0)) {
			atomic_fetch_sub(&kp->pending, 1);
			return (v & 1) ? 2 : 1;
		}
	}
	return 0;
}

/* Binds an OPEN or CREATE reply's handle to its backing file, where the
 * daemon gave it one.  libfuse 3.14 builds OPEN's reply as the header and
 * one fuse_open_out, CREATE's as the header and one fuse_entry_out
 * followed by the fuse_open_out; anything else is left alone. */
static void open_patch(struct kvfs_kproto *kp, struct iovec *iov, int count,
		       int create)
{
	size_t at = create ? sizeof(struct fuse_entry_out) : 0;
	struct fuse_open_out *o;
	int32_t id;

	if (count < 2 || iov[1].iov_len != at + sizeof(*o) || !kp->backing_of)
		return;
	o = (struct fuse_open_out *)((char *)iov[1].iov_base + at);
	id = kp->backing_of(kp->backing_arg, o->fh);
	if (id <= 0)
		return;
	/* With FOPEN_DIRECT_IO the kernel would still send reads and writes;
	 * with FOPEN_KEEP_CACHE it refuses the open. */
	o->open_flags &= ~(uint32_t)(FOPEN_DIRECT_IO | FOPEN_KEEP_CACHE);
	o->open_flags |= KVFS_FOPEN_PASSTHROUGH;
	o->padding = (uint32_t)id; /* backing_id in later ABIs */
	atomic_fetch_add(&kp->opens_patched, 1);
}

void kvfs_kproto_request(struct kvfs_kproto *kp, void *buf, size_t len)
{
	struct fuse_in_header h;
	struct fuse_init_in in;
	uint64_t flags;

	if (len < sizeof(h))
		return;
	memcpy(&h, buf, sizeof(h));
	if (h.opcode == FUSE_TMPFILE &&
	    len == sizeof(h) + sizeof(struct fuse_create_in) + sizeof(KVFS_TMPFILE_NAME) &&
	    memcmp((char *)buf + len - sizeof(KVFS_TMPFILE_NAME), KVFS_TMPFILE_NAME,
		   sizeof(KVFS_TMPFILE_NAME)) == 0) {
		h.opcode = FUSE_CREATE;
		memcpy(buf, &h, sizeof(h));
		atomic_fetch_add(&kp->tmpfiles, 1);
	}
	if ((h.opcode == FUSE_OPEN || h.opcode == FUSE_CREATE) && kp->backing_of &&
	    kvfs_kproto_passthrough(kp)) {
		open_note(kp, h.unique, h.opcode == FUSE_CREATE);
		return;
	}
	if (h.opcode != FUSE_INIT)
		return;
	memset(&in, 0, sizeof(in));
	/* Kernels before 5.17 send the 16-byte fuse_init_in (no flags2). */
	memcpy(&in, (const char *)buf + sizeof(h),
	       len - sizeof(h) < sizeof(in) ? len - sizeof(h) : sizeof(in));
	flags = in.flags;
	if (in.flags & FUSE_INIT_EXT)
		flags |= (uint64_t)in.flags2 << 32;
	atomic_store(&kp->offered, flags);
	atomic_store(&kp->init_unique, h.unique);
	atomic_store(&kp->init_seen, 1);
}

void kvfs_kproto_reply(struct kvfs_kproto *kp, struct iovec *iov, int count)
{
	struct fuse_out_header *oh;
	struct fuse_init_out *out;
	uint64_t add, unique = atomic_load(&kp->init_unique);

	if (count < 1 || iov[0].iov_len != sizeof(*oh))
		return;
	oh = iov[0].iov_base;
	if (atomic_load(&kp->pending)) {
		int kind = open_take(kp, oh->unique);

		if (kind) {
			if (oh->error == 0)
				open_patch(kp, iov, count, kind == 2);
			return;
		}
	}
	if (unique == 0 || oh->unique != unique)
		return;
	atomic_store(&kp->init_unique, 0); /* once */
	add = kp->want & atomic_load(&kp->offered);
	if (oh->error != 0 || count < 2 ||
	    iov[1].iov_len < offsetof(struct fuse_init_out, flags2) + sizeof(out->flags2))
		return; /* not the reply we know how to extend: leave it */
	out = iov[1].iov_base;
	/* Passthrough needs max_stack_depth (the field 7.38 calls unused[0]):
	 * 1, the backing files' tmpfs being no stacked file system. */
	if ((add & KVFS_FUSE_PASSTHROUGH) &&
	    iov[1].iov_len < offsetof(struct fuse_init_out, unused) + sizeof(uint32_t))
		add &= ~KVFS_FUSE_PASSTHROUGH;
	out->flags |= (uint32_t)add;
	if (add >> 32) {
		out->flags |= FUSE_INIT_EXT;
		out->flags2 |= (uint32_t)(add >> 32);
	}
	if (add & KVFS_FUSE_PASSTHROUGH)
		out->unused[0] = 1;
	atomic_store(&kp->granted, add);
	atomic_store(&kp->init_patched, 1);
}
