/*
 * fuzz_fastpath.c - libFuzzer target for the daemon's side of libkvfs-gpu's
 * protocol (fs/fastpath.c): INFO's decoding of untrusted bytes, for any
 * command number and sizes, mixed with write(2), truncation and the
 * passthrough flag of the handles changing underneath.
 *
 * Each input is a script of records run against a fresh file of a real
 * namespace with three handles (read-write, read-only, write-only) and the
 * root directory.  Besides the sanitizers, the oracle is: a reply is never
 * longer than the room given; a well-formed INFO succeeds exactly when its
 * version, flags and reserved fields are right, and then reports the
 * file's size, the open's passthrough flag, DIR for the directory, the
 * alignment and zeros in every reserved field.  Build and run: `make fuzz`
 * (tests use a few seconds of it).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fastpath.h"
#include "kvfs.h"
#include "log.h"
#include "ns.h"

#define MEM (4u << 20)

static struct kvfs_mem mem;
static struct kvfs_ns ns;
static struct kvfs_ctx ctx = { .tid = (1 << 22) + 1, .tgid = (1 << 22) + 1 };

static void cleanup(void)
{
	kvfs_ns_release(&ns);
	kvfs_mem_close(&mem);
}

static void init(void)
{
	if (kvfs_mem_open(&mem, MEM, KVFS_MEM_NOMOUNT, NULL) != 0 ||
	    kvfs_ns_init(&ns, &mem, NULL, getuid(), getgid()) != 0 || kvfs_ns_load(&ns) != 0)
		abort();
	kvfs_log_set_level(KVFS_LOG_ERR);
	atexit(cleanup);
}

/* The input, consumed front to back; zeros once it runs out. */
struct in {
	const uint8_t *p;
	size_t n;
};

static uint64_t take(struct in *in, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes; i++) {
		v |= (uint64_t)(in->n ? *in->p : 0) << (8 * i);
		if (in->n) {
			in->p++;
			in->n--;
		}
	}
	return v;
}

/* An offset or length: small and unit-related mostly, anything sometimes. */
static uint64_t take_num(struct in *in)
{
	uint8_t kind = (uint8_t)take(in, 1);

	switch (kind & 3) {
	case 0:
		return take(in, 2);
	case 1:
		return take(in, 1) * 4096u; /* pages */
	case 2:
		return take(in, 3);
	default:
		return take(in, 8);
	}
}

/* A well-formed INFO with fields from the input; checks the outcome. */
static void info(struct in *in, struct kvfs_handle *h, int is_dir, struct kvfs_inode *ino)
{
	struct kvfs_ioc_info r;
	uint8_t which = (uint8_t)take(in, 1);
	int ok;

	memset(&r, 0, sizeof(r));
	r.version = KVFS_ABI_VERSION;
	if (which & 1)
		r.version = (uint32_t)take(in, 4);
	if (which & 2)
		r.flags = (uint32_t)take(in, 4);
	if (which & 4)
		r.reserved[take(in, 1) % 29] = take_num(in);
	if (which & 8) {	/* out fields: ignored */
		r.out_flags = (uint32_t)take(in, 4);
		r.file_size = take(in, 8);
	}
	ok = r.version == KVFS_ABI_VERSION && r.flags == 0;
	for (int i = 0; i < 29; i++)
		ok &= r.reserved[i] == 0;
	if (kvfs_fastpath_ioctl(&ns, h, KVFS_IOC_INFO, &r, sizeof(r), &r, sizeof(r)) !=
	    (ok ? (ssize_t)sizeof(r) : -EINVAL))
		abort();
	if (!ok)
		return;
	if (r.version != KVFS_ABI_VERSION || r.flags || r.map_align != KVFS_MAP_ALIGN ||
	    (r.out_flags & ~KVFS_INFO_ALL))
		abort();
	if (is_dir ? r.out_flags != KVFS_INFO_DIR || r.file_size
		   : r.out_flags != (h->passthrough ? KVFS_INFO_PASSTHROUGH : 0) ||
		     r.file_size != ino->size)
		abort();
	for (int i = 0; i < 29; i++)
		if (r.reserved[i])
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct in in = { data, size };
	struct kvfs_handle *h[4];
	struct kvfs_entry e;
	struct kvfs_inode *ino;

	if (!ready) {
		init();
		ready = 1;
	}
	if (kvfs_ns_create(&ns, &ctx, ns.root, "f", 0644, O_RDWR, &e, &h[0]) != 0)
		abort();
	ino = e.ino;
	if (kvfs_file_open(&ns, &ctx, ino, O_RDONLY, 0, &h[1]) != 0 ||
	    kvfs_file_open(&ns, &ctx, ino, O_WRONLY, 0, &h[2]) != 0 ||
	    kvfs_ns_opendir(&ns, &ctx, ns.root, &h[3]) != 0)
		abort();
	for (int steps = 0; in.n && steps < 64; steps++) {
		uint8_t op = (uint8_t)take(&in, 1);
		int hi = (op >> 4) & 3;
		struct kvfs_handle *hh = h[hi];
		ssize_t r;

		switch (op & 7) {
		case 0: {	/* raw bytes for any command: the decoder */
			unsigned int cmd = (unsigned int)take(&in, 4);
			size_t isz = (size_t)take(&in, 2) & 0x3fff, osz = (size_t)take(&in, 2) & 0x3fff;
			uint8_t *ib = malloc(isz ? isz : 1), *ob = malloc(osz ? osz : 1);

			if (!ib || !ob)
				abort();
			if (op & 8)	/* mostly our own type and numbers */
				cmd = (cmd & ~0xffffu) | ((unsigned)KVFS_IOC_TYPE << 8) | (0x40 + (cmd & 7));
			for (size_t i = 0; i < isz; i++)
				ib[i] = (uint8_t)take(&in, 1);
			r = kvfs_fastpath_ioctl(&ns, hh, cmd, isz ? ib : NULL, isz, ob, osz);
			if (r > (ssize_t)osz || (r >= 0 && r != (ssize_t)sizeof(struct kvfs_ioc_info)))
				abort();
			free(ib);
			free(ob);
			break;
		}
		case 1:
		case 2:
			info(&in, hh, hi == 3, ino);
			break;
		case 3: {	/* write(2) of a few bytes */
			char buf[256];
			uint64_t off = take_num(&in) & ((1ull << 22) - 1);
			size_t len = (size_t)take(&in, 1);

			memset(buf, (int)op, sizeof(buf));
			if (len)
				(void)kvfs_file_write(&ns, h[0], buf, len, off);
			break;
		}
		case 4: {	/* truncate */
			struct stat st = { .st_size = (off_t)(take_num(&in) & ((1ull << 22) - 1)) };
			struct stat out;

			(void)kvfs_file_setattr(&ns, &ctx, ino, &st, KVFS_SET_SIZE, &out);
			break;
		}
		default:	/* an open becomes passthrough, or stops being one */
			if (hi < 3)
				hh->passthrough = !hh->passthrough;
			break;
		}
	}
	for (int i = 0; i < 3; i++) {
		/* As the open path set it: the toggles above only model what
		 * INFO must report, no binding was ever counted. */
		h[i]->passthrough = 0;
		kvfs_file_release(&ns, h[i]);
	}
	kvfs_ns_releasedir(&ns, h[3]);
	if (kvfs_ns_unlink(&ns, &ctx, ns.root, "f") != 0)
		abort();
	kvfs_ns_forget(&ns, ino, 1);
	return 0;
}
