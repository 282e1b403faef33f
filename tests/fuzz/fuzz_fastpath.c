/*
 * fuzz_fastpath.c - libFuzzer target for the daemon's fast-path ioctls
 * (fs/fastpath.c): their decoding of untrusted bytes, and the leases the
 * decoded requests create, commit and drop, mixed with write(2),
 * truncation and hole punching on the same file.
 *
 * Each input is a script of records run against a fresh file of a real
 * namespace (a 4 MiB shared arena) with three handles (read-write, read-only,
 * write-only) and the root directory.  Besides the sanitizers, the oracle is:
 * every extent a reply lists lies inside the arena; the file's extent map
 * stays valid; and once the handles are released and the file removed, every
 * arena unit is free again.  Build and run: `make fuzz` (tests use a few
 * seconds of it).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
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

#define ARENA (4u << 20)

static struct kvfs_mem mem;
static struct kvfs_ns ns;
static struct kvfs_ctx ctx = { .tid = (1 << 22) + 1, .tgid = (1 << 22) + 1 };
/* A caller who may not map the arena (mode 0600, owned by us). */
static struct kvfs_ctx stranger = { .uid = 4242, .gid = 4242, .tid = (1 << 22) + 2,
				    .tgid = (1 << 22) + 2 };
static char dir[64], path[128];
static uint64_t total_units;

static void cleanup(void)
{
	kvfs_ns_release(&ns);
	kvfs_mem_close(&mem);
	rmdir(dir);
}

static void init(void)
{
	strcpy(dir, "/tmp/kvfs-fuzz.XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/fuzz.arena", dir);
	if (kvfs_mem_open_file(&mem, path, ARENA, 0, (gid_t)-1) != 0 ||
	    kvfs_ns_init(&ns, &mem, NULL, getuid(), getgid()) != 0 || kvfs_ns_load(&ns) != 0)
		abort();
	total_units = kvfs_alloc_free_units(&mem.alloc);
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
		return take(in, 1) * (uint64_t)KVFS_ALLOC_UNIT;
	case 2:
		return take(in, 3);
	default:
		return take(in, 8);
	}
}

static void check_reply(const struct kvfs_ioc_map *m)
{
	if (m->count > KVFS_IOC_MAP_EXTENTS)
		abort();
	for (uint32_t i = 0; i < m->count; i++) {
		const struct kvfs_ioc_extent *e = &m->ext[i];

		if (e->len == 0)
			abort();
		if (e->aoff == KVFS_IOC_HOLE)
			continue;
		if (e->aoff > mem.arena.size || e->len > mem.arena.size - e->aoff)
			abort();
		/* Touch it, as a client would: ASan sees out-of-bounds use. */
		memset(kvfs_arena_ptr(&mem.arena, e->aoff), 0xa5, e->len);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct in in = { data, size };
	struct kvfs_handle *h[4];
	uint64_t leases[16] = { 0 };
	struct kvfs_ioc_map *m = calloc(1, sizeof(*m));
	struct kvfs_entry e;
	struct kvfs_inode *ino;
	unsigned nl = 0;

	if (!ready) {
		init();
		ready = 1;
	}
	if (!m || kvfs_ns_create(&ns, &ctx, ns.root, "f", 0644, O_RDWR, &e, &h[0]) != 0)
		abort();
	ino = e.ino;
	if (kvfs_file_open(&ns, &ctx, ino, O_RDONLY, 0, &h[1]) != 0 ||
	    kvfs_file_open(&ns, &ctx, ino, O_WRONLY, 0, &h[2]) != 0 ||
	    kvfs_ns_opendir(&ns, &ctx, ns.root, &h[3]) != 0)
		abort();
	for (int steps = 0; in.n && steps < 64; steps++) {
		uint8_t op = (uint8_t)take(&in, 1);
		struct kvfs_handle *hh = h[(op >> 4) & 3];
		struct kvfs_ctx *who = (op & 0xc0) == 0xc0 ? &stranger : &ctx;
		ssize_t r;

		switch (op & 7) {
		case 0: {	/* raw bytes for any command: the decoder */
			unsigned int cmd = (unsigned int)take(&in, 4);
			size_t isz = (size_t)take(&in, 2) & 0x3fff, osz = (size_t)take(&in, 2) & 0x3fff;
			uint8_t *ib = malloc(isz ? isz : 1), *ob = malloc(osz ? osz : 1);

			if (op & 8)	/* mostly our own commands */
				cmd = (cmd & ~0xffffu) | ((unsigned)KVFS_IOC_TYPE << 8) | (0x40 + (cmd & 7));
			for (size_t i = 0; i < isz; i++)
				ib[i] = (uint8_t)take(&in, 1);
			r = kvfs_fastpath_ioctl(&ns, who, hh, cmd, ib, isz, ob, osz);
			if (r > (ssize_t)osz)
				abort();
			free(ib);
			free(ob);
			break;
		}
		case 1:		/* RESERVE or PIN, maybe a continuation */
		case 2:
			memset(m, 0, sizeof(*m));
			m->version = KVFS_ABI_VERSION;
			m->off = take_num(&in);
			m->len = take_num(&in);
			if (op & 8) {
				m->flags = KVFS_MAP_MORE;
				m->lease = leases[take(&in, 1) % 16];
				m->next = take_num(&in);
			}
			r = kvfs_fastpath_ioctl(&ns, who, hh, (op & 7) == 1 ? KVFS_IOC_RESERVE : KVFS_IOC_PIN,
						m, sizeof(*m), m, sizeof(*m));
			if (r == (ssize_t)sizeof(*m)) {
				check_reply(m);
				leases[nl++ % 16] = m->lease;
			}
			break;
		case 3: {	/* COMMIT */
			struct kvfs_ioc_commit c = { .version = KVFS_ABI_VERSION };

			c.lease = leases[take(&in, 1) % 16];
			c.off = take_num(&in);
			c.len = take_num(&in);
			(void)kvfs_fastpath_ioctl(&ns, who, hh, KVFS_IOC_COMMIT, &c, sizeof(c), &c, sizeof(c));
			break;
		}
		case 4: {	/* UNPIN */
			struct kvfs_ioc_lease q = { .version = KVFS_ABI_VERSION };

			q.lease = leases[take(&in, 1) % 16];
			(void)kvfs_fastpath_ioctl(&ns, who, hh, KVFS_IOC_UNPIN, &q, sizeof(q), &q, sizeof(q));
			break;
		}
		case 5: {	/* write(2) of a few bytes */
			char buf[256];
			uint64_t off = take_num(&in) & ((1ull << 40) - 1);
			size_t len = (size_t)take(&in, 1);

			memset(buf, (int)op, sizeof(buf));
			if (len)
				(void)kvfs_file_write(&ns, h[0], buf, len, off);
			break;
		}
		case 6: {	/* truncate */
			struct stat st = { .st_size = (off_t)(take_num(&in) & ((1ull << 40) - 1)) };
			struct stat out;

			(void)kvfs_file_setattr(&ns, &ctx, ino, &st, KVFS_SET_SIZE, &out);
			break;
		}
		default: {	/* punch a hole */
			uint64_t off = take_num(&in) & ((1ull << 40) - 1);
			uint64_t len = take_num(&in) & ((1ull << 40) - 1);

			if (len)
				(void)kvfs_file_fallocate(&ns, h[0], FALLOC_FL_PUNCH_HOLE |
							  FALLOC_FL_KEEP_SIZE, off, len);
			break;
		}
		}
		if (kvfs_extmap_check(&ino->data) != 0 || kvfs_alloc_check(&mem.alloc) != 0)
			abort();
	}
	for (int i = 0; i < 3; i++)
		kvfs_file_release(&ns, h[i]);
	kvfs_ns_releasedir(&ns, h[3]);
	if (ino->leases)
		abort();	/* every lease ends with its handle */
	if (kvfs_ns_unlink(&ns, &ctx, ns.root, "f") != 0)
		abort();
	kvfs_ns_forget(&ns, ino, 1);
	if (kvfs_alloc_free_units(&mem.alloc) != total_units)
		abort();	/* a unit leaked */
	free(m);
	return 0;
}
