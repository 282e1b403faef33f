/*
 * maps.c - a context's cache of kvfs file mappings (internal.h).
 *
 * A kvfs file whose open is served by the kernel from its memory pages
 * (FUSE passthrough) is moved by mapping the fd MAP_SHARED and copying: the
 * mapping IS the file's pages.  Mapping and, with CUDA, registering
 * (cuMemHostRegister pins every page, milliseconds per GiB) cost far more
 * than one transfer, so a context keeps each file mapped, whole, across
 * transfers and registers each mapping once.  A file that grows past a
 * mapping gets a new, larger one (a registration is never resized); the
 * old one is unmapped when the last transfer using it ends.
 *
 * Bounds: KVFS_GPU_MAPS_MAX mappings and KVFS_GPU_MAPS_BYTES mapped bytes
 * per context, least recently used dropped first; kvfs_gpu_close() drops
 * all.  A mapping keeps its file open (the daemon cannot free an unlinked
 * file's memory until it is dropped), which is what the bounds limit; and
 * each new mapping first drops those of files unlinked meanwhile (a statx
 * per mapping, answered by the kernel's cached attributes: no request to
 * the daemon; see unlinked()).
 *
 * Threads: any; `lock` guards the list and the refs, never held across
 * mmap, munmap or a registration.  gpu.c's locks are never taken here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

int kvfs_gpu_ioctl(int fd, unsigned long cmd, void *arg)
{
	while (ioctl(fd, cmd, arg) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

void kvfs_gpu_maps_init(struct kvfs_gpu_maps *c, const struct kvfs_gpu_backend *be)
{
	memset(c, 0, sizeof(*c));
	c->be = be;
	pthread_mutex_init(&c->lock, NULL);
}

static void unmap(struct kvfs_gpu_maps *c, struct kvfs_gpu_map *m)
{
	if (m->registered)
		c->be->host_unregister(m->base);
	munmap(m->base, m->len);
	free(m);
}

/*
 * Whether m's file has been unlinked, as this kernel knows without asking
 * the daemon: statx of the mapping's /proc/self/map_files entry with
 * AT_STATX_DONT_SYNC (unlinks through this kernel drop the link count at
 * once).  Not through a descriptor: kvfs publishes a file at its creator's
 * close only once the creator holds no descriptor of it.  map_files needs
 * CAP_SYS_ADMIN (or CAP_CHECKPOINT_RESTORE); without it this says 0.
 */
static int unlinked(const struct kvfs_gpu_map *m)
{
	struct statx sx;
	char path[80];

	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)m->base,
		 (unsigned long)(m->base + m->len));
	return statx(AT_FDCWD, path, AT_STATX_DONT_SYNC, STATX_NLINK, &sx) == 0 &&
	       (sx.stx_mask & STATX_NLINK) && sx.stx_nlink == 0;
}

/* Takes m off the list and drops the cache's reference; returns m if that
 * was the last one (the caller unmaps it after unlocking).  Under lock. */
static struct kvfs_gpu_map *uncache(struct kvfs_gpu_maps *c, struct kvfs_gpu_map *m)
{
	if (m->prev)
		m->prev->next = m->next;
	else
		c->head = m->next;
	if (m->next)
		m->next->prev = m->prev;
	else
		c->tail = m->prev;
	m->next = m->prev = NULL;
	m->cached = 0;
	c->n--;
	c->bytes -= m->len;
	return --m->refs == 0 ? m : NULL;
}

static void push_front(struct kvfs_gpu_maps *c, struct kvfs_gpu_map *m)
{
	m->prev = NULL;
	m->next = c->head;
	if (c->head)
		c->head->prev = m;
	else
		c->tail = m;
	c->head = m;
}

void kvfs_gpu_maps_release(struct kvfs_gpu_maps *c)
{
	struct kvfs_gpu_map *m;

	while ((m = c->head) != NULL) {
		m = uncache(c, m);
		if (m)
			unmap(c, m);
	}
	pthread_mutex_destroy(&c->lock);
}

static struct kvfs_gpu_map *find_locked(struct kvfs_gpu_maps *c, uint64_t dev, uint64_t ino)
{
	for (struct kvfs_gpu_map *m = c->head; m; m = m->next)
		if (m->dev == dev && m->ino == ino)
			return m;
	return NULL;
}

static uint64_t page_up(uint64_t x)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);

	return (x + page - 1) & ~(page - 1);
}

/*
 * Grows m's registration to [0, cover) in place: only while no transfer
 * but the caller's uses m (a registration may not change under a DMA in
 * flight).  Returns whether m now covers `cover`.  Under lock.
 */
static int extend(struct kvfs_gpu_maps *c, struct kvfs_gpu_map *m, uint64_t cover)
{
	if (m->refs != 2)
		return 0;
	if (m->registered)
		c->be->host_unregister(m->base);
	m->registered = c->be->host_register(m->base, (size_t)cover) == 0;
	atomic_fetch_add(m->registered ? &c->registrations : &c->unregistered, 1);
	m->cover = cover;
	return 1;
}

struct kvfs_gpu_map *kvfs_gpu_maps_find(struct kvfs_gpu_maps *c, uint64_t dev,
					uint64_t ino, uint64_t size, uint64_t need,
					int write)
{
	uint64_t cover = page_up(size > need ? size : need);
	struct kvfs_gpu_map *m;

	pthread_mutex_lock(&c->lock);
	m = find_locked(c, dev, ino);
	if (m && (need > m->len || (write && !m->writable)))
		m = NULL;
	if (m) {
		m->refs++;
		if (cover > m->len)
			cover = m->len;
		if (need > m->cover && !extend(c, m, cover)) {
			m->refs--;
			m = NULL;
		}
	}
	if (m && m != c->head) {	/* most recently used first */
		m->prev->next = m->next;
		if (m->next)
			m->next->prev = m->prev;
		else
			c->tail = m->prev;
		push_front(c, m);
	}
	pthread_mutex_unlock(&c->lock);
	return m;
}

static uint64_t round_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) & ~(a - 1);
}

int kvfs_gpu_maps_new(struct kvfs_gpu_maps *c, int fd, uint64_t dev, uint64_t ino,
		      uint64_t size, uint64_t need, uint32_t align, int write, int sync,
		      struct kvfs_gpu_map **out)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), cover;
	struct kvfs_gpu_map *m, *drop[2 * KVFS_GPU_MAPS_MAX + 2];
	int prot = PROT_READ | PROT_WRITE, nd = 0;
	void *p;

	*out = NULL;
	if (align < page || (align & (align - 1)))
		align = (uint32_t)page;
	cover = round_up(size > need ? size : need, page);
	if (cover == 0 || cover > SIZE_MAX / 4)
		return cover ? -EFBIG : -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	/* Room to grow: a file written by appends is mapped O(log n) times,
	 * not once per write.  Past EOF nothing is touched (no SIGBUS). */
	m->len = round_up(need > size / 2 ? 2 * need : size, align);
	/* Read-write where fd allows it, so later writes reuse the mapping. */
	p = mmap(NULL, m->len, prot, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED && errno == EACCES && !write) {
		prot = PROT_READ;
		p = mmap(NULL, m->len, prot, MAP_SHARED, fd, 0);
	}
	if (p == MAP_FAILED) {
		int e = -errno;

		free(m);
		return e;
	}
	atomic_fetch_add(&c->maps, 1);
	m->base = p;
	m->dev = dev;
	m->ino = ino;
	m->cover = cover;
	m->writable = prot & PROT_WRITE ? 1 : 0;
	m->sync = sync;
	/* Once per mapping: never per transfer. */
	m->registered = c->be->host_register(m->base, (size_t)cover) == 0;
	atomic_fetch_add(m->registered ? &c->registrations : &c->unregistered, 1);
	m->refs = 2;		/* the cache's and the caller's */
	m->cached = 1;
	pthread_mutex_lock(&c->lock);
	/* A mapping keeps its file, and so its memory, alive: the files
	 * unlinked since go now, as does an older mapping of this one. */
	for (struct kvfs_gpu_map *o = c->head, *next; o; o = next) {
		next = o->next;
		if (o->dev == dev && o->ino == ino) {
			if ((drop[nd] = uncache(c, o)) != NULL)
				nd++;
		} else if (unlinked(o)) {
			atomic_fetch_add(&c->unlinked, 1);
			if ((drop[nd] = uncache(c, o)) != NULL)
				nd++;
		}
	}
	push_front(c, m);
	c->n++;
	c->bytes += m->len;
	while (c->tail != m && (c->n > KVFS_GPU_MAPS_MAX || c->bytes > KVFS_GPU_MAPS_BYTES)) {
		atomic_fetch_add(&c->evictions, 1);
		if ((drop[nd] = uncache(c, c->tail)) != NULL)
			nd++;
	}
	pthread_mutex_unlock(&c->lock);
	while (nd > 0)
		unmap(c, drop[--nd]);
	*out = m;
	return 0;
}

void kvfs_gpu_maps_put(struct kvfs_gpu_maps *c, struct kvfs_gpu_map *m)
{
	int last;

	pthread_mutex_lock(&c->lock);
	last = --m->refs == 0;
	pthread_mutex_unlock(&c->lock);
	if (last)
		unmap(c, m);
}
