/*
 * store_int.h - what store.c (flushes) and promote.c (reads from the SSD)
 * share and nobody else needs: a growing list of SSD transfers.
 */
#ifndef KVFS_STORE_INT_H
#define KVFS_STORE_INT_H

#include <errno.h>
#include <stdlib.h>

#include "ssd.h"

struct iovec_list {
	struct kvfs_ssd_io *v;
	int n, cap;
};

static inline int iol_add(struct iovec_list *l, uint64_t soff, uint32_t len, void *buf)
{
	if (l->n == l->cap) {
		int cap = l->cap ? 2 * l->cap : 64;
		struct kvfs_ssd_io *v = realloc(l->v, (size_t)cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = (struct kvfs_ssd_io){ .soff = soff, .len = len, .buf = buf };
	return 0;
}

#endif
