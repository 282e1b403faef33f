/*
 * arenas.c - the process-wide table of kvfs arenas this process has mapped.
 *
 * Each daemon has one arena (a file in /dev/shm); a process maps it once and
 * registers the mapping with the copy backend once (for CUDA,
 * cuMemHostRegister, which pins every page: far too costly per call or per
 * context).  Contexts take references; the last one unmaps.  This table and
 * its mutex are the library's one process-wide state (STYLE.md, "State").
 * The mutex is taken after a context's lock, never before (docs/design.md,
 * "Lock order").
 *
 * Identity: INFO returns the arena's path, size, random id and the
 * st_dev/st_ino of the file.  The file opened by path must have that
 * identity, or a stale file of a restarted daemon (or anything else put at
 * that name) would be mapped and written.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "kvfs_abi.h"

static pthread_mutex_t arenas_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kvfs_gpu_arena *arenas; /* guarded by arenas_lock */

int kvfs_gpu_ioctl(int fd, unsigned long cmd, void *arg)
{
	while (ioctl(fd, cmd, arg) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

/* Maps the arena INFO describes.  Returns 0 or -errno. */
static int arena_map(const struct kvfs_ioc_info *info, char **base)
{
	struct stat st;
	void *p;
	int fd, e;

	if (memchr(info->arena_path, '\0', sizeof(info->arena_path)) == NULL ||
	    info->arena_size == 0 || info->arena_size > SIZE_MAX)
		return -EIO;	/* not what a kvfs daemon sends */
	fd = open(info->arena_path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0) {
		e = -errno;
		close(fd);
		return e;
	}
	if ((uint64_t)st.st_dev != info->arena_dev || (uint64_t)st.st_ino != info->arena_ino ||
	    (uint64_t)st.st_size < info->arena_size) {
		close(fd);
		return -ESTALE;
	}
	p = mmap(NULL, info->arena_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		 fd, 0);
	e = p == MAP_FAILED ? -errno : 0;
	close(fd);	/* the mapping keeps the file */
	if (e)
		return e;
	*base = p;
	return 0;
}

/* Registers a for DMA with be (once; a CUDA registration is never traded
 * for the host backend's, which is a no-op). */
static void arena_register(struct kvfs_gpu_arena *a, const struct kvfs_gpu_backend *be,
			   int *registered)
{
	if (a->be == be || (a->be && a->be != &kvfs_gpu_host_backend))
		return;
	if (be->host_register(a->base, a->size) != 0) {
		*registered = 0;
		return;
	}
	if (a->be)
		a->be->host_unregister(a->base);
	a->be = be;
}

static struct kvfs_gpu_arena *find(uint64_t id)
{
	struct kvfs_gpu_arena *a;

	for (a = arenas; a; a = a->next)
		if (a->id == id)
			return a;
	return NULL;
}

int kvfs_gpu_arena_get(const struct kvfs_gpu_backend *be, int fd, uint64_t id,
		       struct kvfs_gpu_arena **out, int *registered)
{
	struct kvfs_ioc_info info;
	struct kvfs_gpu_arena *a;
	int r;

	*registered = 1;
	pthread_mutex_lock(&arenas_lock);
	if (id && (a = find(id)) != NULL) {
		a->refs++;
		arena_register(a, be, registered);
		goto done;
	}
	memset(&info, 0, sizeof(info));
	info.version = KVFS_ABI_VERSION;
	r = kvfs_gpu_ioctl(fd, KVFS_IOC_INFO, &info);
	if (r == 0 && id && info.arena_id != id)
		r = -ESTALE;
	if (r == 0 && (a = find(info.arena_id)) != NULL) {
		a->refs++;
		arena_register(a, be, registered);
		goto done;
	}
	a = r ? NULL : calloc(1, sizeof(*a));
	if (r == 0 && !a)
		r = -ENOMEM;
	if (r == 0 && (r = arena_map(&info, &a->base)) < 0) {
		free(a);
		a = NULL;
	}
	if (r < 0) {
		pthread_mutex_unlock(&arenas_lock);
		return r;
	}
	a->id = info.arena_id;
	a->size = info.arena_size;
	a->refs = 1;
	/* Pins every page of the arena for DMA: once per process. */
	arena_register(a, be, registered);
	a->next = arenas;
	arenas = a;
done:
	pthread_mutex_unlock(&arenas_lock);
	*out = a;
	return 0;
}

void kvfs_gpu_arena_put(struct kvfs_gpu_arena *a)
{
	struct kvfs_gpu_arena **pp;

	pthread_mutex_lock(&arenas_lock);
	if (--a->refs > 0) {
		pthread_mutex_unlock(&arenas_lock);
		return;
	}
	for (pp = &arenas; *pp != a; pp = &(*pp)->next)
		;
	*pp = a->next;
	pthread_mutex_unlock(&arenas_lock);
	if (a->be)
		a->be->host_unregister(a->base);
	munmap(a->base, a->size);
	free(a);
}
