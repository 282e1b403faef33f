/*
 * tbuf.h - a buffer per calling thread, kept between calls and freed when
 * the thread exits.
 *
 * A fresh 1 MiB malloc per request is an mmap and 256 page faults, so the
 * daemon keeps one buffer per thread for daemon-served reads and CRC
 * passes.  libfuse's workers come and go (an idle one beyond
 * max_idle_threads exits): a __thread pointer leaked each one's buffer,
 * 1 MiB a worker; a thread-specific key frees it at the thread's exit.
 */
#ifndef KVFS_TBUF_H
#define KVFS_TBUF_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

struct kvfs_tbuf {
	atomic_int ready;    /* key made */
	pthread_key_t key;   /* its value: the thread's buffer (tbuf.c) */
};

#define KVFS_TBUF_INIT { 0 }

/* The calling thread's buffer of t, at least `size` bytes (its content
 * is not kept when it grows), or NULL without memory.  It stays the
 * thread's until the thread asks t for a larger one or exits. */
char *kvfs_tbuf_get(struct kvfs_tbuf *t, size_t size);

#endif
