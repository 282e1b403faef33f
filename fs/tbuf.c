/*
 * tbuf.c - per-thread buffers freed at thread exit (tbuf.h).
 *
 * Threads and locks: `init_lock` only makes a key once per buffer kind;
 * each thread's buffer is its own.
 */
#include "tbuf.h"

#include <stdlib.h>

struct tbuf {
	size_t len;
	char data[];
};

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;

static int make_key(struct kvfs_tbuf *t)
{
	pthread_mutex_lock(&init_lock);
	if (!atomic_load(&t->ready) && pthread_key_create(&t->key, free) == 0)
		atomic_store(&t->ready, 1);
	pthread_mutex_unlock(&init_lock);
	return atomic_load(&t->ready) ? 0 : -1;
}

char *kvfs_tbuf_get(struct kvfs_tbuf *t, size_t size)
{
	struct tbuf *b, *nb;

	if (!atomic_load(&t->ready) && make_key(t) != 0)
		return NULL;
	b = pthread_getspecific(t->key);
	if (b && b->len >= size)
		return b->data;
	nb = malloc(sizeof(*nb) + size);
	if (!nb)
		return NULL;
	nb->len = size;
	if (pthread_setspecific(t->key, nb) != 0) {
		free(nb);
		return NULL;
	}
	free(b);
	return nb->data;
}
