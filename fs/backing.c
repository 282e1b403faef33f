/*
 * backing.c - the memory tier: the daemon's tmpfs, one O_TMPFILE backing
 * file per memory-resident kvfs file, and the thread that warms fresh
 * memory once at start (backing.h).
 *
 * Owns the tier's directory descriptor, every backing file descriptor, the
 * tier's byte count and the warming thread.  It knows nothing of inodes or
 * the SSD tier: callers pass the size where one matters.
 *
 * Threads and locks: no lock here.  Callers hold the owning inode's lock
 * (backing.h); `used` and the warming thread's fields are atomics or are
 * written before the thread starts and after it is joined.
 */
#include "backing.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <linux/magic.h>
#include <unistd.h>

#include "clock.h"
#include "crc32c.h"
#include "log.h"
#include "tbuf.h"

/* The tmpfs's huge= (docs/design.md, "The memory tier": measured). */
#define MEM_HUGE "within_size"

/* The warm reserve (kvfs_mem_warm_start): its unit (a huge page), the
 * quiet it waits for before it grows, how often it looks, its priority,
 * and what a writer is lent before any has closed. */
#define WARM_UNIT       (2ull << 20)
#define WARM_QUIET_NS   (100ull * 1000 * 1000)
#define WARM_POLL_MS    20
#define WARM_IDLE_MS    100
#define WARM_NICE       10
#define WARM_FIRST_HINT (8ull << 20)
/* A lend frees whole units; what it freed beyond what it was asked is
 * taken by the next lends first, for LEND_CREDIT_NS (a free block of a
 * huge page goes back to the host after about 2 s: "The warm reserve").
 * The least a writer is lent: small files (16-128 KiB pages of a prefix
 * cache) share a unit, where each took one of its own. */
#define LEND_CREDIT_NS  (1000ull * 1000 * 1000)
#define LEND_MIN        (64ull << 10)

/* The feeder (kvfs_data_feed): how often it looks (doubling up to
 * FEED_IDLE_MS while no fed file past half of FEED_FROM grows), the size
 * a file must have passed, how far ahead of the file's end it stays (its
 * growth over FEED_LOOKS looks, within FEED_MIN..FEED_MAX), and the least
 * it allocates at once. */
#define FEED_TICK_MS  1
#define FEED_FIRST_MS 4  /* the first look after the list was empty */
#define FEED_IDLE_MS  16 /* the longest wait between looks: none grew */
#define FEED_FROM     (16ull << 20)
#define FEED_LOOKS    4
#define FEED_MIN      (8ull << 20)
#define FEED_MAX      (64ull << 20)
#define FEED_STEP     (4ull << 20)

enum { UNIT_EMPTY, UNIT_FILLING, UNIT_HELD };

/* What a unit is filled from: in .bss, so its pages are the kernel's
 * shared zero page until written (never). */
static char warm_zeros[WARM_UNIT];

/* The largest page a huge=within_size tier gives under a huge page: a
 * file of 1 to 2 MiB (or the part of one past its last huge page) has
 * one, and freed it is too small for a huge page (alloc_range). */
#define PIECE (1ull << 20)
/* How long the count of such pages holds after the last one was freed:
 * free blocks of a huge page and up go back to the host after about 2 s
 * (docs/design.md, "The warm reserve"), and a count of pages that merged
 * into those would only cost huge pages. */
#define FRAG_TTL_NS (2ull * 1000 * 1000 * 1000)

/* pread/crc step. */
#define DATA_STEP (1u << 20)

static long page_size(void)
{
	static long ps;

	if (!ps)
		ps = sysconf(_SC_PAGESIZE);
	return ps;
}

/* ---- the tier ---- */

/* The tmpfs holds mem= and this much more: room for what bound writers
 * write (the kernel's writes, which the daemon cannot hold back) between
 * the daemon's reclaims.  Half of mem=, and at least 16 MiB; a tmpfs's
 * size costs nothing until its pages are used. */
static uint64_t headroom(uint64_t size)
{
	return size / 2 > (16ull << 20) ? size / 2 : 16ull << 20;
}

/* A tmpfs of `size` bytes, huge=`huge`, attached nowhere: its root's fd,
 * or -errno. */
static int mount_tmpfs(uint64_t size, const char *huge)
{
	char sz[32];
	int fs, mnt, root, e;

	fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
	if (fs < 0)
		return -errno;
	snprintf(sz, sizeof(sz), "%llu", (unsigned long long)size);
	if (fsconfig(fs, FSCONFIG_SET_STRING, "size", sz, 0) < 0 ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "mode", "0700", 0) < 0 ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "huge", huge, 0) < 0 ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		e = errno;
		close(fs);
		return -e;
	}
	mnt = fsmount(fs, FSMOUNT_CLOEXEC,
		      MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
	e = errno;
	close(fs);
	if (mnt < 0)
		return -e;
	/* The mount fd itself is the root directory: O_TMPFILE works on it. */
	root = mnt;
	return root;
}

/* The tier's own tmpfs: mem= and its headroom. */
static int mount_private_tmpfs(uint64_t size, int huge)
{
	return mount_tmpfs(size + headroom(size), huge ? MEM_HUGE : "never");
}

/* Whether dirfd is the root of a tmpfs mount. */
static int is_tmpfs_root(int dirfd)
{
	struct statfs sf;
	struct stat st, up;

	if (fstatfs(dirfd, &sf) != 0 || sf.f_type != TMPFS_MAGIC ||
	    fstat(dirfd, &st) != 0 || fstatat(dirfd, "..", &up, 0) != 0)
		return 0;
	return st.st_dev != up.st_dev; /* a mount's root: its parent is elsewhere */
}

/* Resizes the tmpfs at dirfd (fspick + reconfigure).  Returns 0 or -errno. */
static int resize_tmpfs(int dirfd, uint64_t size)
{
	char sz[32];
	int fs = fspick(dirfd, "", FSPICK_EMPTY_PATH | FSPICK_CLOEXEC), e = 0;

	if (fs < 0)
		return -errno;
	snprintf(sz, sizeof(sz), "%llu", (unsigned long long)(size + headroom(size)));
	if (fsconfig(fs, FSCONFIG_SET_STRING, "size", sz, 0) < 0 ||
	    fsconfig(fs, FSCONFIG_CMD_RECONFIGURE, NULL, NULL, 0) < 0)
		e = -errno;
	close(fs);
	return e;
}

/*
 * The tier in `keep` (a directory, made if missing): the tmpfs a previous
 * daemon left mounted there, or a new one attached there.  Its files are
 * named, so a restarted daemon can adopt them.  Returns the root's fd or
 * -errno.
 */
static int keep_tmpfs(const char *keep, uint64_t size, int huge)
{
	int fd, mnt, r;

	if (mkdir(keep, 0700) != 0 && errno != EEXIST)
		return -errno;
	fd = open(keep, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (is_tmpfs_root(fd)) {
		r = resize_tmpfs(fd, size);
		if (r == 0)
			return fd;
		kvfs_warn("kvfs: cannot resize the memory tier at %s to mem= (%s); mounting a new one",
			  keep, strerror(-r));
		close(fd);
		if (umount2(keep, MNT_DETACH) != 0)
			return -errno;
		fd = open(keep, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
	}
	close(fd);
	mnt = mount_private_tmpfs(size, huge);
	if (mnt < 0)
		return mnt;
	if (move_mount(mnt, "", AT_FDCWD, keep, MOVE_MOUNT_F_EMPTY_PATH) != 0) {
		r = -errno;
		close(mnt);
		return r;
	}
	return mnt;
}

int kvfs_mem_open(struct kvfs_mem *mem, uint64_t size, unsigned flags,
		  const char *keep)
{
	int fd = -ENOSYS;

	memset(mem, 0, sizeof(*mem));
	mem->dirfd = -1;
	mem->warm_fd = -1;
	mem->warm_mnt = -1;
	mem->size = size;
	if (!(flags & KVFS_MEM_NOMOUNT) && keep) {
		fd = keep_tmpfs(keep, size, !(flags & KVFS_MEM_NOHUGE));
		if (fd >= 0)
			mem->named = 1;
	}
	if (fd < 0 && !(flags & KVFS_MEM_NOMOUNT))
		fd = mount_private_tmpfs(size, !(flags & KVFS_MEM_NOHUGE));
	if (fd >= 0) {
		mem->dirfd = fd;
		mem->own_tmpfs = 1;
		mem->huge = !(flags & KVFS_MEM_NOHUGE);
	} else {
		if (fd != -EPERM && fd != -ENOSYS)
			kvfs_warn("kvfs: cannot mount a private tmpfs for the memory tier (%s); using %s",
				  strerror(-fd), KVFS_MEM_FALLBACK_DIR);
		mem->dirfd = open(KVFS_MEM_FALLBACK_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (mem->dirfd < 0) {
			int e = errno;

			kvfs_err("kvfs: cannot open %s for the memory tier: %s",
				 KVFS_MEM_FALLBACK_DIR, strerror(e));
			return -e;
		}
	}
	if (!mem->own_tmpfs)
		snprintf(mem->where, sizeof(mem->where), "%s", KVFS_MEM_FALLBACK_DIR);
	else if (mem->named && strlen(keep) < 100)
		snprintf(mem->where, sizeof(mem->where), "tmpfs at %s, huge=%s", keep,
			 mem->huge ? MEM_HUGE : "never");
	else
		snprintf(mem->where, sizeof(mem->where), "%s tmpfs, huge=%s",
			 mem->named ? "kept" : "private", mem->huge ? MEM_HUGE : "never");
	if (flags & KVFS_MEM_WARM)
		kvfs_mem_warm_start(mem);
	return 0;
}

/* ---- the warm reserve ---- */

/* Frees held units from the top until `bytes` are freed (at least one
 * unit when bytes > 0); returns the bytes freed.  Caller holds warm_lock. */
static uint64_t warm_free_locked(struct kvfs_mem *mem, uint64_t bytes)
{
	uint64_t freed = 0, i = mem->warm_units;

	while (i > 0 && freed < bytes) {
		uint64_t hi, lo;

		/* One run of held units, freed with one punch. */
		while (i > 0 && mem->warm_unit[i - 1] != UNIT_HELD)
			i--;
		hi = i;
		while (i > 0 && mem->warm_unit[i - 1] == UNIT_HELD &&
		       freed + (hi - i) * WARM_UNIT < bytes)
			i--;
		lo = i;
		if (lo == hi)
			break;
		if (fallocate(mem->warm_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      (off_t)(lo * WARM_UNIT), (off_t)((hi - lo) * WARM_UNIT)) != 0)
			break; /* cannot happen on a tmpfs; the pages stay held */
		memset(mem->warm_unit + lo, UNIT_EMPTY, hi - lo);
		freed += (hi - lo) * WARM_UNIT;
	}
	atomic_fetch_sub(&mem->warm_held, freed);
	return freed;
}

void kvfs_mem_lend(struct kvfs_mem *mem, uint64_t bytes)
{
	uint64_t freed = 0, now;

	if (!mem->warm_running || bytes == 0)
		return;
	pthread_mutex_lock(&mem->warm_lock);
	now = kvfs_mono_ns();
	if (now - mem->lend_credit_ns > LEND_CREDIT_NS)
		mem->lend_credit = 0;
	if (mem->lend_credit < bytes && atomic_load(&mem->warm_held) > 0) {
		freed = warm_free_locked(mem, bytes - mem->lend_credit);
		mem->lend_credit += freed;
		mem->lend_credit_ns = now;
	}
	mem->lend_credit -= mem->lend_credit < bytes ? mem->lend_credit : bytes;
	mem->warm_lend_ns = now;
	pthread_mutex_unlock(&mem->warm_lock);
	atomic_fetch_add(&mem->lent, freed);
}

uint64_t kvfs_mem_lend_hint(struct kvfs_mem *mem)
{
	uint64_t hint = 0, v;

	/* The largest of the last KVFS_LEND_WINDOW sizes (slots not yet
	 * written are 0), never under LEND_MIN. */
	if (atomic_load(&mem->lend_next) == 0)
		return WARM_FIRST_HINT;
	for (unsigned i = 0; i < KVFS_LEND_WINDOW; i++)
		if ((v = atomic_load(&mem->lend_recent[i])) > hint)
			hint = v;
	return hint < LEND_MIN ? LEND_MIN : hint;
}

void kvfs_mem_note_written(struct kvfs_mem *mem, uint64_t size)
{
	unsigned slot = atomic_fetch_add(&mem->lend_next, 1) % KVFS_LEND_WINDOW;

	atomic_store(&mem->lend_recent[slot], size);
}

/* What the reserve may hold with the tier using `used` bytes: the tier's
 * free room (so tier + reserve stay within mem=), in whole units. */
static uint64_t warm_target(struct kvfs_mem *mem, uint64_t used)
{
	uint64_t t = used < mem->size ? mem->size - used : 0;

	if (t > mem->warm_units * WARM_UNIT)
		t = mem->warm_units * WARM_UNIT;
	return t / WARM_UNIT * WARM_UNIT;
}

/* Fills one empty unit (zeros written: each page touched once, here).
 * Returns 1 if it did, 0 if none is empty, -1 on an error (tmpfs full). */
static int warm_fill_one(struct kvfs_mem *mem)
{
	uint64_t i;
	size_t done = 0;

	pthread_mutex_lock(&mem->warm_lock);
	for (i = 0; i < mem->warm_units && mem->warm_unit[i] != UNIT_EMPTY; i++)
		;
	if (i == mem->warm_units) {
		pthread_mutex_unlock(&mem->warm_lock);
		return 0;
	}
	mem->warm_unit[i] = UNIT_FILLING; /* lend skips it */
	pthread_mutex_unlock(&mem->warm_lock);
	while (done < WARM_UNIT) {
		ssize_t n = pwrite(mem->warm_fd, warm_zeros + done, WARM_UNIT - done,
				   (off_t)(i * WARM_UNIT + done));

		if (n <= 0)
			break;
		done += (size_t)n;
	}
	pthread_mutex_lock(&mem->warm_lock);
	if (done < WARM_UNIT) {
		(void)fallocate(mem->warm_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				(off_t)(i * WARM_UNIT), (off_t)WARM_UNIT);
		mem->warm_unit[i] = UNIT_EMPTY;
	} else {
		mem->warm_unit[i] = UNIT_HELD;
		atomic_fetch_add(&mem->warm_held, WARM_UNIT);
		atomic_fetch_add(&mem->warmed, WARM_UNIT);
	}
	pthread_mutex_unlock(&mem->warm_lock);
	return done < WARM_UNIT ? -1 : 1;
}

static void *warm_main(void *arg)
{
	struct kvfs_mem *mem = arg;
	uint64_t last_used = UINT64_MAX;

	pthread_setname_np(pthread_self(), "kvfs-warm"); /* top -H, ps -L */
	(void)setpriority(PRIO_PROCESS, 0, WARM_NICE); /* this thread only */
	while (!atomic_load(&mem->warm_stop)) {
		uint64_t used = kvfs_mem_used(mem), target = warm_target(mem, used);
		uint64_t held = atomic_load(&mem->warm_held), lend_ns;
		int quiet;

		pthread_mutex_lock(&mem->warm_lock);
		if (held > target) /* the tier grew: give it back */
			(void)warm_free_locked(mem, held - target);
		lend_ns = mem->warm_lend_ns;
		pthread_mutex_unlock(&mem->warm_lock);
		quiet = used == last_used && kvfs_mono_ns() - lend_ns >= WARM_QUIET_NS;
		last_used = used;
		/* Grow while quiet, a unit at a time, looking again between. */
		if (quiet && held + WARM_UNIT <= target && warm_fill_one(mem) == 1)
			continue;
		pthread_mutex_lock(&mem->warm_lock);
		if (!atomic_load(&mem->warm_stop))
			kvfs_cond_wait_ms(&mem->warm_wake, &mem->warm_lock,
					  held + WARM_UNIT > target ? WARM_IDLE_MS : WARM_POLL_MS);
		pthread_mutex_unlock(&mem->warm_lock);
	}
	return NULL;
}

/* The reserve's file: in a tmpfs of its own with huge pages where the
 * process may mount one (the tier's huge pages come back as huge pages),
 * else a memfd.  Returns 0 or -errno. */
static int warm_open(struct kvfs_mem *mem)
{
	uint64_t units = (mem->size + WARM_UNIT - 1) / WARM_UNIT;

	mem->warm_unit = calloc(units ? units : 1, 1);
	if (!mem->warm_unit)
		return -ENOMEM;
	mem->warm_units = units;
	if (mem->own_tmpfs) {
		mem->warm_mnt = mount_tmpfs(units * WARM_UNIT, mem->huge ? "always" : "never");
		if (mem->warm_mnt >= 0)
			mem->warm_fd = openat(mem->warm_mnt, ".",
					      O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	}
	if (mem->warm_fd < 0)
		mem->warm_fd = memfd_create("kvfs-warm", MFD_CLOEXEC);
	if (mem->warm_fd < 0) {
		int e = errno;

		if (mem->warm_mnt >= 0)
			close(mem->warm_mnt);
		mem->warm_mnt = -1;
		free(mem->warm_unit);
		mem->warm_unit = NULL;
		mem->warm_units = 0;
		return -e;
	}
	return 0;
}

static void feed_start(struct kvfs_mem *mem);

void kvfs_mem_warm_start(struct kvfs_mem *mem)
{
	if (mem->warm_running || mem->size == 0)
		return;
	if (warm_open(mem) != 0)
		return;
	atomic_store(&mem->warm_stop, 0);
	pthread_mutex_init(&mem->warm_lock, NULL);
	if (kvfs_cond_init_monotonic(&mem->warm_wake) != 0) {
		pthread_mutex_destroy(&mem->warm_lock);
		return;
	}
	if (pthread_create(&mem->warm_thread, NULL, warm_main, mem) != 0) {
		pthread_cond_destroy(&mem->warm_wake);
		pthread_mutex_destroy(&mem->warm_lock);
		return;
	}
	mem->warm_running = 1;
	feed_start(mem);
}

void kvfs_mem_close(struct kvfs_mem *mem)
{
	if (mem->warm_running) { /* warm_stop stops the feeder too */
		pthread_mutex_lock(&mem->warm_lock);
		atomic_store(&mem->warm_stop, 1);
		pthread_cond_signal(&mem->warm_wake);
		pthread_mutex_unlock(&mem->warm_lock);
	}
	if (mem->feed_running) { /* first: it lends from the reserve */
		pthread_mutex_lock(&mem->feed_lock);
		pthread_cond_signal(&mem->feed_wake);
		pthread_mutex_unlock(&mem->feed_lock);
		pthread_join(mem->feed_thread, NULL);
		mem->feed_running = 0;
		pthread_cond_destroy(&mem->feed_wake);
		pthread_mutex_destroy(&mem->feed_lock);
	}
	if (mem->warm_running) {
		pthread_join(mem->warm_thread, NULL);
		mem->warm_running = 0;
		pthread_cond_destroy(&mem->warm_wake);
		pthread_mutex_destroy(&mem->warm_lock);
	}
	if (mem->warm_unit) { /* warm_open made the reserve */
		close(mem->warm_fd); /* its pages go back to the kernel */
		if (mem->warm_mnt >= 0)
			close(mem->warm_mnt);
		mem->warm_fd = mem->warm_mnt = -1;
		atomic_store(&mem->warm_held, 0);
		free(mem->warm_unit);
		mem->warm_unit = NULL;
		mem->warm_units = 0;
	}
	if (mem->dirfd >= 0)
		close(mem->dirfd);
	mem->dirfd = -1;
}

uint64_t kvfs_mem_used(struct kvfs_mem *mem)
{
	struct statvfs sv;

	if (mem->own_tmpfs && fstatvfs(mem->dirfd, &sv) == 0)
		return (uint64_t)(sv.f_blocks - sv.f_bfree) * sv.f_frsize;
	return atomic_load(&mem->used);
}

uint64_t kvfs_mem_free(struct kvfs_mem *mem)
{
	uint64_t used = kvfs_mem_used(mem);

	return used < mem->size ? mem->size - used : 0;
}

uint64_t kvfs_mem_room(struct kvfs_mem *mem)
{
	struct statvfs sv;

	if (mem->own_tmpfs && fstatvfs(mem->dirfd, &sv) == 0)
		return (uint64_t)sv.f_bavail * sv.f_frsize;
	return kvfs_mem_free(mem);
}

const char *kvfs_mem_where(const struct kvfs_mem *mem)
{
	return mem->where;
}

/* ---- one file ---- */

void kvfs_data_init(struct kvfs_data *d, uint64_t name)
{
	d->fd = -1;
	d->bytes = 0;
	d->bound = 0;
	d->name = name;
	d->kept = 0;
	d->pre_end = 0;
	d->pieces = 0;
	d->feed_lock = NULL;
	d->feed_next = d->feed_prev = NULL;
}

/* The backing file's name in a named tier: the inode's id in hex. */
static void data_name(const struct kvfs_data *d, char *buf, size_t n)
{
	snprintf(buf, n, "%016llx", (unsigned long long)d->name);
}

static void set_bytes(struct kvfs_data *d, struct kvfs_mem *mem, uint64_t b)
{
	if (b >= d->bytes)
		atomic_fetch_add(&mem->used, b - d->bytes);
	else
		atomic_fetch_sub(&mem->used, d->bytes - b);
	d->bytes = b;
}

uint64_t kvfs_data_allocated(const struct kvfs_data *d)
{
	struct stat st;

	if (d->fd >= 0 && fstat(d->fd, &st) == 0)
		return (uint64_t)st.st_blocks * 512;
	return d->bytes;
}

uint64_t kvfs_data_refresh(struct kvfs_data *d, struct kvfs_mem *mem)
{
	set_bytes(d, mem, kvfs_data_allocated(d));
	return d->bytes;
}

/* n bytes of 1 MiB pages were freed just now: mem->frag counts them for
 * FRAG_TTL_NS from now (never past mem=). */
static void frag_freed(struct kvfs_mem *mem, uint64_t n)
{
	if (n && atomic_load(&mem->frag) < mem->size) {
		atomic_store(&mem->frag_ns, kvfs_mono_ns());
		atomic_fetch_add(&mem->frag, n);
	}
}

/* The 1 MiB pages a file whose `bytes` are about to be freed gives back:
 * those its preallocation took so, else the one a tail of 1 MiB or more
 * past its last huge page has (its size as allocated: the kernel chose
 * its pages by its size).  An estimate: the pages go back to the kernel
 * once no passthrough open holds them either. */
static void note_freed(struct kvfs_data *d, struct kvfs_mem *mem, uint64_t bytes)
{
	uint64_t n = d->pieces ? d->pieces : bytes % WARM_UNIT >= PIECE ? PIECE : 0;

	d->pieces = 0;
	if (!mem->huge || d->fd < 0)
		return;
	if (n > bytes)
		n = bytes / PIECE * PIECE;
	frag_freed(mem, n);
}

uint64_t kvfs_mem_freed_small(struct kvfs_mem *mem)
{
	uint64_t f = atomic_load(&mem->frag);

	return f && kvfs_mono_ns() - atomic_load(&mem->frag_ns) > FRAG_TTL_NS ? 0 : f;
}

/* Takes up to `want` bytes (whole pieces) of mem->frag; returns them. */
static uint64_t take_frag(struct kvfs_mem *mem, uint64_t want)
{
	uint_fast64_t f, n;

	if (kvfs_mem_freed_small(mem) == 0) {
		atomic_store(&mem->frag, 0); /* lapsed, or none: FRAG_TTL_NS */
		return 0;
	}
	f = atomic_load(&mem->frag);
	do {
		n = f / PIECE * PIECE;
		if (n > want)
			n = want;
	} while (n && !atomic_compare_exchange_weak(&mem->frag, &f, f - n));
	return n;
}

/*
 * Allocates [off, off + len) of d's backing file (fallocate, the size
 * unchanged): the whole 1 MiB pieces inside it one at a time, as many as
 * the tier freed lately in 1 MiB pages (mem->frag), then the rest a unit
 * (2 MiB) at a time, each right after one unit of the warm reserve is
 * freed, while `lend` bytes last, and in one call once none are left (a
 * failed call then frees what it allocated; a failed unit leaves the
 * units before it).  A huge page would come from memory the
 * host has taken back, while those pages, too small for one, would sit
 * unused; and a run of units freed at once merges into blocks larger than
 * a huge page, which the kernel splits only when it has no free huge page
 * left, taking cold ones first (docs/design.md, "The warm reserve").
 * Returns 0 or -errno.  On failure what the calls before the failed one
 * allocated stays, unless `empty` says the range had no memory before:
 * then the range is punched back to nothing and its pieces are the
 * tier's again (all or nothing, as one call would have been).
 */
static int alloc_range(struct kvfs_data *d, struct kvfs_mem *mem, uint64_t off,
		       uint64_t len, uint64_t lend, int empty)
{
	uint64_t lo = (off + PIECE - 1) / PIECE * PIECE, end = off + len, take = 0, done = 0;
	uint64_t pos, step;
	int e;

	if (mem->huge && end >= lo + PIECE)
		take = take_frag(mem, (end - lo) / PIECE * PIECE);
	if (take == 0)
		lo = off;
	else if (lo > off && fallocate(d->fd, FALLOC_FL_KEEP_SIZE, (off_t)off,
				      (off_t)(lo - off)) != 0)
		goto fail;
	while (done < take && fallocate(d->fd, FALLOC_FL_KEEP_SIZE, (off_t)(lo + done),
					(off_t)PIECE) == 0)
		done += PIECE;
	d->pieces += done;
	if (done < take)
		goto fail;
	for (pos = lo + take; pos < end; pos += step) {
		if (lend == 0) {
			step = end - pos; /* nothing more to lend: the rest at once */
		} else {
			step = WARM_UNIT - pos % WARM_UNIT; /* to the next unit */
			if (step > end - pos)
				step = end - pos;
			kvfs_mem_lend(mem, step);
			lend -= lend < step ? lend : step;
		}
		if (fallocate(d->fd, FALLOC_FL_KEEP_SIZE, (off_t)pos, (off_t)step) != 0)
			goto fail;
	}
	return 0;
fail:
	e = errno;
	atomic_fetch_add(&mem->frag, take - done);
	if (empty && fallocate(d->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       (off_t)off, (off_t)len) == 0) {
		d->pieces -= done;
		frag_freed(mem, done);
	}
	return -e;
}

void kvfs_data_release(struct kvfs_data *d, struct kvfs_mem *mem)
{
	kvfs_data_unfeed(d, mem);
	note_freed(d, mem, d->bytes);
	set_bytes(d, mem, 0);
	if (d->bound > 0 && mem->unbind)
		mem->unbind(mem->unbind_arg, d->bound);
	d->bound = 0;
	if (d->fd >= 0 && mem->named && !d->kept) {
		char name[32];

		data_name(d, name, sizeof(name));
		(void)unlinkat(mem->dirfd, name, 0);
	}
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
	d->kept = 0;
	d->pre_end = 0;
}

int kvfs_data_fd(struct kvfs_data *d, struct kvfs_mem *mem, uint64_t size)
{
	int fd;

	if (d->fd >= 0)
		return d->fd;
	if (mem->named) {
		char name[32];

		data_name(d, name, sizeof(name));
		/* A file of that name is one no row adopted (kvfs_mem_sweep
		 * removes those at start) or a leftover: it goes. */
		(void)unlinkat(mem->dirfd, name, 0);
		fd = openat(mem->dirfd, name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
	} else {
		fd = openat(mem->dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	}
	if (fd < 0)
		return errno == ENOSPC ? -ENOSPC : -errno;
	if (size && ftruncate(fd, (off_t)size) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	d->fd = fd;
	return fd;
}

/* Bytes of [off, end) that have memory (SEEK_DATA/SEEK_HOLE: by page),
 * in a file of `size` bytes; pages past the size count as holes. */
static uint64_t data_in(int fd, uint64_t off, uint64_t end, uint64_t size)
{
	uint64_t sum = 0, pos = off;

	if (end > size)
		end = size;
	while (pos < end) {
		off_t d = lseek(fd, (off_t)pos, SEEK_DATA), h;

		if (d < 0 || (uint64_t)d >= end)
			break;
		h = lseek(fd, d, SEEK_HOLE);
		if (h < 0 || (uint64_t)h > end)
			h = (off_t)end;
		sum += (uint64_t)(h - d);
		pos = (uint64_t)h;
	}
	return sum;
}

int kvfs_data_alloc(struct kvfs_data *d, struct kvfs_mem *mem, uint64_t off,
		    uint64_t len, uint64_t size)
{
	uint64_t end = off + len, need;
	struct stat st;
	int fd, r;

	if (off > INT64_MAX || len > INT64_MAX - off || size > INT64_MAX)
		return -EFBIG;
	fd = kvfs_data_fd(d, mem, 0);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) != 0)
		return -errno;
	/* The daemon's own allocations stay inside mem= (the tmpfs's
	 * headroom is for the kernel's): the pages of the range that have
	 * no memory yet must fit. */
	need = len - data_in(fd, off, end, (uint64_t)st.st_size);
	if (need && kvfs_mem_free(mem) < need)
		return -ENOSPC;
	/* All lent first and allocated in one call but for the pieces: a
	 * promotion that fails for room must leave the file with no more
	 * than its head (tier.c's check), so a range with no memory before
	 * is all or nothing (a failed fallocate frees only what it
	 * allocated; the pieces before it are alloc_range's to undo). */
	kvfs_mem_lend(mem, need);
	if (len && (r = alloc_range(d, mem, off, len, 0, need == len)) != 0)
		return r;
	if ((uint64_t)st.st_size < size && ftruncate(fd, (off_t)size) < 0)
		return -errno;
	kvfs_data_refresh(d, mem);
	return 0;
}

/* Sets fd's mtime back to st's after an fallocate: tmpfs moves it for
 * pages past EOF too, and a bound file's mtime is the backing file's
 * (file.c, pt_absorb: a moved mtime is a write). */
static void keep_mtime(int fd, const struct stat *st)
{
	struct timespec t[2] = { { .tv_nsec = UTIME_OMIT }, st->st_mtim };

	(void)futimens(fd, t);
}

void kvfs_data_prealloc(struct kvfs_data *d, struct kvfs_mem *mem, uint64_t bytes)
{
	struct stat st;

	/* A hint of one unit or less: small files, which the kernel gives
	 * small pages (huge=within_size) and a preallocated huge page would
	 * make it zero whole. */
	if (d->fd < 0 || bytes <= WARM_UNIT || kvfs_mem_free(mem) < bytes ||
	    fstat(d->fd, &st) != 0) {
		kvfs_mem_lend(mem, bytes); /* for the kernel's own allocations */
		return;
	}
	/* A full tmpfs: the writes allocate, or fail, as before; what was
	 * allocated is past EOF all the same, and kvfs_data_trim frees it. */
	if ((uint64_t)st.st_size + bytes > d->pre_end)
		d->pre_end = (uint64_t)st.st_size + bytes;
	(void)alloc_range(d, mem, (uint64_t)st.st_size, bytes, bytes, 0);
	keep_mtime(d->fd, &st);
	kvfs_data_refresh(d, mem);
}

void kvfs_data_trim(struct kvfs_data *d, struct kvfs_mem *mem)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), from;
	struct stat st;

	kvfs_data_unfeed(d, mem);
	if (d->pre_end == 0 || d->fd < 0 || fstat(d->fd, &st) != 0)
		return;
	/* From the page after EOF: the kernel splits a huge page that EOF
	 * falls in, as it would have allocated small ones there. */
	from = ((uint64_t)st.st_size + page - 1) / page * page;
	if (d->pieces > (uint64_t)st.st_size / PIECE * PIECE) /* past EOF, or split */
		d->pieces = (uint64_t)st.st_size / PIECE * PIECE;
	if (from < d->pre_end &&
	    fallocate(d->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)from,
		      (off_t)(d->pre_end - from)) == 0)
		keep_mtime(d->fd, &st);
	d->pre_end = 0;
	kvfs_data_refresh(d, mem);
}

/* ---- the feeder ---- */

static uint64_t round_unit(uint64_t b)
{
	return (b + WARM_UNIT - 1) / WARM_UNIT * WARM_UNIT;
}

/* One look at a fed file; returns whether it grew and is past half of
 * FEED_FROM (soon worth feeding: the next look comes in FEED_TICK_MS).
 * Caller holds d's lock (exclusive). */
static int feed_one(struct kvfs_mem *mem, struct kvfs_data *d)
{
	uint64_t size, grew, ahead, from, to, n, held;
	struct stat st, now;

	if (d->fd < 0 || fstat(d->fd, &st) != 0)
		return 0;
	size = (uint64_t)st.st_size;
	grew = size > d->feed_seen ? size - d->feed_seen : 0;
	/* Fed once it has grown by two write calls: a file written in one
	 * (most pages, most blocks) is not, however long the call takes,
	 * and an allocation would wait for the call to end (it takes the
	 * inode's lock) and be all past EOF.  A call sets mtime once, at
	 * its start: grown with a new mtime is grown by a new call. */
	if (grew && d->feed_grew < 2 &&
	    (st.st_mtim.tv_sec != d->feed_mtime.tv_sec ||
	     st.st_mtim.tv_nsec != d->feed_mtime.tv_nsec))
		d->feed_grew++;
	d->feed_seen = size;
	d->feed_mtime = st.st_mtim;
	if (!grew || d->feed_grew < 2 || size < FEED_FROM)
		return grew && size >= FEED_FROM / 2;
	ahead = grew * FEED_LOOKS;
	ahead = ahead < FEED_MIN ? FEED_MIN : ahead > FEED_MAX ? FEED_MAX : ahead;
	from = round_unit(size);
	if (from < d->pre_end)
		from = d->pre_end;
	to = round_unit(size + ahead);
	if (to < from + FEED_STEP)
		return 1;
	/* Warm pages only: what the reserve does not hold, the kernel's
	 * writes allocate as they would have. */
	n = to - from;
	held = atomic_load(&mem->warm_held);
	if (n > held)
		n = held;
	if (n < FEED_STEP || kvfs_mem_free(mem) < n)
		return 1;
	d->pre_end = from + n; /* kvfs_data_trim frees it, whatever is there */
	/* In huge pages, as the open's preallocation: the just-freed
	 * reserve pages are huge ones, and an allocation of 1 MiB pages
	 * takes the kernel's free 1 MiB blocks first, which on this VM are
	 * cold (docs/bench.md, stage 12: fed so, writers ran at 0.4-2.5
	 * GB/s with the kernel's free memory cold).  A writer in 1 MiB calls
	 * pays for it where memory is warm: a write into part of an
	 * allocated page not yet filled zeroes the rest first. */
	if (alloc_range(d, mem, from, n, n, 0) == 0)
		atomic_fetch_add(&mem->fed, n);
	/* The allocation moved mtime, which is the writer's: put it back,
	 * unless the writer wrote meanwhile (the size says so; it then
	 * stays at the allocation's time, within microseconds of that
	 * write).  A write between this fstat and the futimens would keep
	 * the time of the one before: a window of a few microseconds. */
	if (fstat(d->fd, &now) != 0) {
		kvfs_data_refresh(d, mem);
		return 1;
	}
	if (now.st_size == st.st_size)
		keep_mtime(d->fd, &st);
	set_bytes(d, mem, (uint64_t)now.st_blocks * 512); /* as a refresh would */
	return 1;
}

static void *feed_main(void *arg)
{
	struct kvfs_mem *mem = arg;
	uint64_t tick = FEED_TICK_MS;

	pthread_setname_np(pthread_self(), "kvfs-feed"); /* top -H, ps -L */
	pthread_mutex_lock(&mem->feed_lock);
	while (!atomic_load(&mem->warm_stop)) {
		struct kvfs_data *d;
		int grew = 0;

		if (!mem->feed_head) {
			pthread_cond_wait(&mem->feed_wake, &mem->feed_lock);
			/* Most writers are done within a few ms (pages,
			 * blocks): the first look waits for those. */
			tick = FEED_FIRST_MS;
			kvfs_cond_wait_ms(&mem->feed_wake, &mem->feed_lock, tick);
			continue;
		}
		/* A file whose lock is taken (its release, a getattr) is
		 * looked at next time.  Holding a file's lock keeps it listed
		 * (kvfs_data_unfeed needs it), so feed_lock is let go while
		 * the file is fed: its allocation waits for a write call in
		 * progress, and a release elsewhere (under ns->lock) must not
		 * wait for that in kvfs_data_unfeed. */
		for (d = mem->feed_head; d; ) {
			pthread_rwlock_t *lock = d->feed_lock;

			if (pthread_rwlock_trywrlock(lock) != 0) {
				d = d->feed_next;
				continue;
			}
			pthread_mutex_unlock(&mem->feed_lock);
			grew |= feed_one(mem, d);
			pthread_mutex_lock(&mem->feed_lock);
			d = d->feed_next;
			pthread_rwlock_unlock(lock);
		}
		tick = grew ? FEED_TICK_MS : tick * 2 > FEED_IDLE_MS ? FEED_IDLE_MS : tick * 2;
		kvfs_cond_wait_ms(&mem->feed_wake, &mem->feed_lock, tick);
	}
	pthread_mutex_unlock(&mem->feed_lock);
	return NULL;
}

/* With the warm thread: there is nothing to feed from without it. */
static void feed_start(struct kvfs_mem *mem)
{
	mem->feed_head = NULL;
	if (pthread_mutex_init(&mem->feed_lock, NULL) != 0)
		return;
	if (kvfs_cond_init_monotonic(&mem->feed_wake) != 0) {
		pthread_mutex_destroy(&mem->feed_lock);
		return;
	}
	if (pthread_create(&mem->feed_thread, NULL, feed_main, mem) == 0) {
		mem->feed_running = 1;
		return;
	}
	pthread_cond_destroy(&mem->feed_wake);
	pthread_mutex_destroy(&mem->feed_lock);
}

void kvfs_data_feed(struct kvfs_data *d, struct kvfs_mem *mem, pthread_rwlock_t *lock)
{
	if (!mem->feed_running)
		return;
	/* The caller holds lock: the feeder is not in d. */
	d->feed_seen = 0;
	d->feed_grew = 0;
	d->feed_mtime = (struct timespec){ 0, 0 };
	if (d->feed_lock) /* fed already: a new writer starts over */
		return;
	pthread_mutex_lock(&mem->feed_lock);
	d->feed_lock = lock;
	d->feed_prev = NULL;
	d->feed_next = mem->feed_head;
	if (mem->feed_head)
		mem->feed_head->feed_prev = d;
	else
		pthread_cond_signal(&mem->feed_wake); /* it sleeps till one comes */
	mem->feed_head = d;
	pthread_mutex_unlock(&mem->feed_lock);
}

void kvfs_data_unfeed(struct kvfs_data *d, struct kvfs_mem *mem)
{
	if (!d->feed_lock)
		return;
	pthread_mutex_lock(&mem->feed_lock);
	if (d->feed_prev)
		d->feed_prev->feed_next = d->feed_next;
	else
		mem->feed_head = d->feed_next;
	if (d->feed_next)
		d->feed_next->feed_prev = d->feed_prev;
	d->feed_next = d->feed_prev = NULL;
	d->feed_lock = NULL;
	pthread_mutex_unlock(&mem->feed_lock);
}

ssize_t kvfs_data_write(struct kvfs_data *d, struct kvfs_mem *mem, uint64_t off,
			const void *buf, size_t len)
{
	size_t done = 0;
	int r;

	if (off > INT64_MAX || len > INT64_MAX - off)
		return -EFBIG;
	r = kvfs_data_alloc(d, mem, off, len, 0);
	if (r)
		return r;
	while (done < len) {
		ssize_t n = pwrite(d->fd, (const char *)buf + done, len - done,
				   (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) /* cannot happen on allocated tmpfs pages */
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
	}
	return (ssize_t)len;
}

int kvfs_data_read(const struct kvfs_data *d, uint64_t off, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len && d->fd >= 0) {
		ssize_t n = pread(d->fd, (char *)buf + done, len - done,
				  (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -EIO;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	if (done < len)
		memset((char *)buf + done, 0, len - done);
	return 0;
}

int kvfs_data_truncate(struct kvfs_data *d, struct kvfs_mem *mem, uint64_t size)
{
	struct stat st;

	if (size > INT64_MAX)
		return -EFBIG;
	if (d->fd < 0) {
		int fd = size ? kvfs_data_fd(d, mem, size) : 0;

		return fd < 0 ? fd : 0;
	}
	if (fstat(d->fd, &st) != 0 || ftruncate(d->fd, (off_t)size) < 0)
		return -errno;
	/* A cut frees every page past the new size, preallocated ones too
	 * (nothing is left for kvfs_data_trim); a growth keeps them. */
	if (size < (uint64_t)st.st_size)
		d->pre_end = 0;
	if (size == 0)
		note_freed(d, mem, d->bytes); /* a truncating open: all of it */
	else if (d->pieces > size / PIECE * PIECE)
		d->pieces = size / PIECE * PIECE;
	kvfs_data_refresh(d, mem);
	return 0;
}

int kvfs_data_drop_tail(struct kvfs_data *d, struct kvfs_mem *mem, uint64_t keep,
			uint64_t size)
{
	size_t ps = (size_t)page_size();
	char head[KVFS_DATA_KEEP_MAX];
	uint64_t had = d->bytes;
	int r = 0;

	/* A small-page tier's file, or a head this cannot hold: the punch
	 * after the kept bytes.  (A huge-page tier gives a file under 2 MiB
	 * large pages too, up to its size: the same split.) */
	if (!mem->huge || d->fd < 0 || keep == 0 || keep > ps || keep > sizeof(head) ||
	    size < 2 * ps || kvfs_data_read(d, 0, head, (size_t)keep) != 0)
		return kvfs_data_punch(d, mem, keep, size > keep ? size - keep : 0);
	/* All of it, then the kept bytes into a file that short: the kernel
	 * gives them a small page (huge=within_size), and the promotion
	 * that grows the file back chooses its pages by what it allocates
	 * (alloc_range), not by a size the file already has.  A page the
	 * tmpfs refuses is an error of pwrite. */
	if (ftruncate(d->fd, 0) != 0)
		return -errno;
	note_freed(d, mem, had);
	if (pwrite(d->fd, head, (size_t)keep, 0) != (ssize_t)keep)
		r = 1;
	kvfs_data_refresh(d, mem);
	return r;
}

int kvfs_data_punch(struct kvfs_data *d, struct kvfs_mem *mem, uint64_t off,
		    uint64_t len)
{
	if (d->fd < 0 || len == 0)
		return 0;
	if (off > INT64_MAX || len > INT64_MAX - off)
		len = INT64_MAX - off;
	if (fallocate(d->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)off, (off_t)len) < 0)
		return -errno;
	kvfs_data_refresh(d, mem);
	return 0;
}

int64_t kvfs_data_seek(const struct kvfs_data *d, uint64_t off, int whence,
		       uint64_t size)
{
	off_t r;

	if (off >= size)
		return -ENXIO;
	if (d->fd < 0) /* all hole */
		return whence == SEEK_HOLE ? (int64_t)off : -ENXIO;
	r = lseek(d->fd, (off_t)off, whence);
	if (r < 0 && errno == ENXIO && whence == SEEK_HOLE)
		return (int64_t)off; /* past the backing file's end: a hole */
	if (r < 0)
		return -errno;
	if ((uint64_t)r > size) /* the backing file is never longer; be safe */
		r = (off_t)size;
	return r;
}

/* Each thread's buffer of CRC passes (tbuf.h). */
static struct kvfs_tbuf crc_buf = KVFS_TBUF_INIT;

uint32_t kvfs_data_crc_range(const struct kvfs_data *d, uint32_t crc,
			     uint64_t off, uint64_t len)
{
	char *buf = kvfs_tbuf_get(&crc_buf, DATA_STEP);
	char small[4096];
	char *b;
	size_t step;

	b = buf ? buf : small; /* no memory for the big one: slower, still right */
	step = buf ? DATA_STEP : sizeof(small);
	while (len) {
		size_t n = len < step ? (size_t)len : step;

		(void)kvfs_data_read(d, off, b, n);
		crc = kvfs_crc32c(crc, b, n);
		off += n;
		len -= n;
	}
	return crc;
}

uint32_t kvfs_data_crc(const struct kvfs_data *d, uint64_t size)
{
	return kvfs_data_crc_range(d, 0, 0, size);
}

/* ---- a restart: keeping and adopting backing files ---- */

/* The mark a clean exit leaves on a file it keeps: its size and CRC, which
 * a restarted daemon compares with the file's index row. */
#define DATA_MARK "user.kvfs.kept"

int kvfs_data_keep(struct kvfs_data *d, struct kvfs_mem *mem, uint64_t size,
		   uint32_t crc)
{
	char v[48];
	struct stat st;
	int n;

	if (!mem->named || d->fd < 0 || fstat(d->fd, &st) != 0 ||
	    (uint64_t)st.st_size != size)
		return -EINVAL;
	n = snprintf(v, sizeof(v), "%llu %08x", (unsigned long long)size, crc);
	if (fsetxattr(d->fd, DATA_MARK, v, (size_t)n, 0) != 0)
		return -errno;
	d->kept = 1;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The id a backing file's name stands for, or -1 for a name that is not
 * one (16 hex digits, data_name). */
static int name_id(const char *name, uint64_t *id)
{
	char *end;

	if (strlen(name) != 16)
		return -1;
	*id = strtoull(name, &end, 16);
	return *end == 0 ? 0 : -1;
}

/* A stream over the tier's directory, from its start; NULL with errno. */
static DIR *open_tier_dir(struct kvfs_mem *mem)
{
	int fd = dup(mem->dirfd), e;
	DIR *dir;

	if (fd < 0)
		return NULL;
	dir = fdopendir(fd);
	if (!dir) {
		e = errno;
		close(fd);
		errno = e;
		return NULL;
	}
	rewinddir(dir); /* the dup shares dirfd's offset: a listing moved it */
	return dir;
}

int kvfs_mem_list_kept(struct kvfs_mem *mem)
{
	size_t cap = 0;
	struct dirent *e;
	DIR *dir;

	if (!mem->named)
		return 0;
	dir = open_tier_dir(mem);
	if (!dir)
		return -errno;
	while ((e = readdir(dir))) {
		uint64_t id;

		if (name_id(e->d_name, &id) != 0)
			continue;
		if (mem->nkept == cap) {
			size_t c = cap ? 2 * cap : 256;
			uint64_t *v = realloc(mem->kept, c * sizeof(*v));

			if (!v) {
				closedir(dir);
				kvfs_mem_unlist_kept(mem);
				return -ENOMEM;
			}
			mem->kept = v;
			cap = c;
		}
		mem->kept[mem->nkept++] = id;
	}
	closedir(dir);
	if (mem->nkept)
		qsort(mem->kept, mem->nkept, sizeof(*mem->kept), cmp_u64);
	mem->kept_listed = 1;
	return 0;
}

void kvfs_mem_unlist_kept(struct kvfs_mem *mem)
{
	free(mem->kept);
	mem->kept = NULL;
	mem->nkept = 0;
	mem->kept_listed = 0;
}

int kvfs_data_adopt(struct kvfs_data *d, struct kvfs_mem *mem, uint64_t size,
		    uint32_t crc)
{
	char name[32], v[48], want[48];
	struct stat st;
	ssize_t n;
	int fd;

	if (!mem->named || d->fd >= 0)
		return 0;
	/* A listed tier answers "no file of that name" without an openat
	 * (a restart over 1,000,000 rows spent 3 s failing them). */
	if (mem->kept_listed &&
	    !bsearch(&d->name, mem->kept, mem->nkept, sizeof(*mem->kept), cmp_u64))
		return 0;
	data_name(d, name, sizeof(name));
	fd = openat(mem->dirfd, name, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	n = fgetxattr(fd, DATA_MARK, v, sizeof(v) - 1);
	snprintf(want, sizeof(want), "%llu %08x", (unsigned long long)size, crc);
	/* The mark goes at once: a crash from now on must not find it. */
	(void)fremovexattr(fd, DATA_MARK);
	if (n <= 0 || (size_t)n != strlen(want) || memcmp(v, want, (size_t)n) != 0 ||
	    fstat(fd, &st) != 0 || (uint64_t)st.st_size != size) {
		close(fd);
		(void)unlinkat(mem->dirfd, name, 0);
		return 0;
	}
	d->fd = fd;
	kvfs_data_refresh(d, mem);
	return 1;
}

int kvfs_mem_sweep(struct kvfs_mem *mem, int (*adopted)(void *arg, uint64_t id),
		   void *arg)
{
	int n = 0;
	DIR *dir;
	struct dirent *e;

	if (!mem->named || !(dir = open_tier_dir(mem)))
		return 0;
	while ((e = readdir(dir))) {
		uint64_t id;

		if (e->d_name[0] == '.')
			continue;
		if (name_id(e->d_name, &id) == 0 && adopted(arg, id))
			continue;
		if (unlinkat(mem->dirfd, e->d_name, 0) == 0)
			n++;
	}
	closedir(dir);
	return n;
}

/* ---- views and walks ---- */

int kvfs_data_view_open(struct kvfs_data *d, uint64_t off,
			uint64_t len, int writable, struct kvfs_data_view *v)
{
	uint64_t ps = (uint64_t)page_size(), start = off / ps * ps;
	void *p;

	memset(v, 0, sizeof(*v));
	if (len == 0)
		return -EINVAL;
	if (d->fd < 0)
		return -ENODATA;
	/* The caller allocated a writable view's range (kvfs_data_alloc,
	 * which keeps mem=); this only makes sure no page of it can be
	 * missing when the SSD's DMA lands (a tmpfs page that cannot be
	 * allocated then is EFAULT, and SIGBUS for the daemon). */
	if (writable && fallocate(d->fd, FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) < 0)
		return -errno;
	v->maplen = (size_t)(off + len - start);
	p = mmap(NULL, v->maplen, writable ? PROT_READ | PROT_WRITE : PROT_READ,
		 MAP_SHARED, d->fd, (off_t)start);
	if (p == MAP_FAILED)
		return -errno;
	v->map = p;
	v->base = (char *)p + (off - start);
	v->off = off;
	v->len = len;
	return 0;
}

void kvfs_data_view_close(struct kvfs_data_view *v)
{
	if (v->map)
		munmap(v->map, v->maplen);
	memset(v, 0, sizeof(*v));
}

void kvfs_data_walk_init(struct kvfs_data_walk *w, const struct kvfs_data *d,
			 const struct kvfs_data_view *v, uint64_t off, uint64_t len)
{
	w->d = d;
	w->v = v;
	w->pos = off;
	w->end = off + len;
	w->data_end = 0;
}

int kvfs_data_walk_next(struct kvfs_data_walk *w, char **p, uint64_t *len)
{
	off_t data, hole;

	if (w->pos >= w->end)
		return 0;
	if (w->pos < w->data_end) { /* inside a data run found before */
		*p = w->v->base + (w->pos - w->v->off);
		*len = (w->data_end < w->end ? w->data_end : w->end) - w->pos;
		w->pos += *len;
		return 1;
	}
	data = w->d->fd >= 0 ? lseek(w->d->fd, (off_t)w->pos, SEEK_DATA) : -1;
	if (data < 0 || (uint64_t)data >= w->end) { /* hole to the end */
		*p = KVFS_DATA_HOLE;
		*len = w->end - w->pos;
		w->pos = w->end;
		return 1;
	}
	if ((uint64_t)data > w->pos) {
		*p = KVFS_DATA_HOLE;
		*len = (uint64_t)data - w->pos;
		w->pos = (uint64_t)data;
		return 1;
	}
	hole = lseek(w->d->fd, (off_t)w->pos, SEEK_HOLE);
	w->data_end = hole < 0 ? w->end : (uint64_t)hole;
	if (w->data_end <= w->pos) /* cannot be: data at pos */
		w->data_end = w->end;
	return kvfs_data_walk_next(w, p, len);
}

int kvfs_data_check(const struct kvfs_data *d, uint64_t size)
{
	struct stat st;

	if (d->fd < 0)
		return d->bytes == 0 ? 0 : -EUCLEAN;
	if (fstat(d->fd, &st) != 0 || !S_ISREG(st.st_mode))
		return -EUCLEAN;
	(void)size; /* the kernel may have grown it on a passthrough open */
	return 0;
}
