/*
 * t_core.h - the daemon's core for unit tests: a struct kvfs built in the
 * order fs/main.c builds it and taken down in the order of its teardown,
 * without FUSE, a kernel or threads the test did not ask for.  Always a
 * memory arena and a loaded namespace; as struct t_core_cfg asks, the
 * arena as a named file (the GPU fast path's shared arena), an index, an
 * SSD store, the tier machinery (with no flusher thread: tests store files
 * themselves) and the control directory (which reads kv->opts).  And the
 * few steps every test of the core repeats: a caller (t_ctx), a published
 * file (t_file_publish), a read through the read path (t_file_read).
 * Include after <cmocka.h>: a part that cannot be built fails the test.
 */
#ifndef KVFS_T_CORE_H
#define KVFS_T_CORE_H

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "alloc.h"
#include "ctl.h"
#include "index.h"
#include "kvfs.h"
#include "ns.h"
#include "ssd.h"
#include "store.h"

#include "../t_data.h"

struct t_core_cfg {
	uint64_t mem;               /* memory tier bytes */
	const char *state;          /* the index's directory; NULL: no index */
	const char *ssd;            /* the SSD store's directory; NULL: none */
	uint64_t ssd_size;
	int store;                  /* kvfs_store_init with the policies below */
	enum kvfs_write_policy write_policy;
	enum kvfs_evict_policy evict_policy;
	int ctl;                    /* the control directory */
};

/* Builds kv's core as cfg asks; kv->opts is the caller's (kept as it is). */
static inline void t_core_open(struct kvfs *kv, const struct t_core_cfg *cfg)
{
	char msg[256] = "";

	assert_int_equal(kvfs_mem_open(&kv->mem, cfg->mem, 0, NULL), 0);
	kv->ssd = NULL;
	if (cfg->ssd && kvfs_ssd_open(&kv->ssd, cfg->ssd, cfg->ssd_size, msg, sizeof(msg)) != 0)
		fail_msg("kvfs_ssd_open: %s", msg);
	kv->index = NULL;
	if (cfg->state)
		assert_int_equal(kvfs_index_open(&kv->index, cfg->state), 0);
	assert_int_equal(kvfs_ns_init(&kv->ns, &kv->mem, kv->index, getuid(), getgid()), 0);
	kv->store_ready = 0;
	if (cfg->store) {
		assert_int_equal(kvfs_store_init(&kv->store, &kv->ns, kv->ssd, cfg->write_policy,
						 cfg->evict_policy), 0);
		kv->store_ready = 1;
	}
	assert_int_equal(kvfs_ns_load(&kv->ns), 0);
	if (cfg->ctl)
		assert_int_equal(kvfs_ctl_init(kv), 0);
}

/* As the daemon's teardown (not a clean exit): stop the hasher and the
 * store, drain the index, then free the namespace with nothing given back
 * on the SSD.  kv can be opened again. */
static inline void t_core_close(struct kvfs *kv)
{
	kvfs_hasher_stop(&kv->ns);
	if (kv->store_ready)
		kvfs_store_stop(&kv->store, 0);
	kvfs_index_close(kv->index);
	kv->index = NULL;
	kv->ns.store = NULL;
	kv->ns.index = NULL;
	kvfs_ns_release(&kv->ns);
	if (kv->store_ready)
		kvfs_store_release(&kv->store);
	kv->store_ready = 0;
	kvfs_ssd_close(kv->ssd);
	kv->ssd = NULL;
	kvfs_mem_close(&kv->mem);
}

/* A caller in process k (1, 2, ...) as root: process ids above the kernel's
 * largest pid_max (2^22) never exist, so /proc says they hold no
 * descriptors, and their flush and release publish. */
static inline struct kvfs_ctx t_ctx(unsigned k)
{
	return (struct kvfs_ctx){ .tid = (1 << 22) + k, .tgid = (1 << 22) + k };
}

/* Creates dir/name as ctx, writes len bytes of pattern stream seed (the
 * arena must hold them), closes it, which publishes it.  Returns its inode,
 * with no lookup count kept: it lives while it is named. */
static inline struct kvfs_inode *t_file_publish(struct kvfs_ns *ns, struct kvfs_ctx *ctx,
						struct kvfs_inode *dir, const char *name,
						size_t len, unsigned seed)
{
	struct kvfs_handle *h;
	struct kvfs_entry e;
	char *buf = malloc(len ? len : 1);

	assert_non_null(buf);
	t_pattern(buf, len, seed, 0);
	assert_int_equal(kvfs_ns_create(ns, ctx, dir, name, 0644, O_WRONLY, &e, &h), 0);
	if (len)
		assert_int_equal(kvfs_file_write(ns, h, buf, len, 0), (ssize_t)len);
	assert_int_equal(kvfs_file_flush(ns, ctx, h), 0);
	kvfs_file_release(ns, h);
	kvfs_ns_forget(ns, e.ino, 1);
	free(buf);
	return e.ino;
}

/* Reads [off, off + len) of h into buf as the FUSE read handler does
 * (kvfs_file_read_begin, copy out of the iovecs, kvfs_file_read_done), at
 * most piece bytes per call.  Returns the bytes read, short only at EOF, or
 * the first -errno. */
static inline ssize_t t_file_read(struct kvfs_ns *ns, struct kvfs_handle *h, uint64_t off,
				  void *buf, size_t len, size_t piece)
{
	struct iovec iov[1];
	char *out = buf;
	size_t done = 0;
	ssize_t n = 0;

	while (done < len) {
		size_t got = 0;
		void *bounce;
		int niov;

		n = kvfs_file_read_begin(ns, h, off + done, len - done < piece ? len - done : piece,
					 iov, &niov, &bounce);
		if (n < 0)
			break;	/* nothing held */
		for (int i = 0; i < niov; i++) {
			memcpy(out + done + got, iov[i].iov_base, iov[i].iov_len);
			got += iov[i].iov_len;
		}
		kvfs_file_read_done(ns, h, bounce);	/* also after 0: EOF */
		assert_int_equal(got, (size_t)n);
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return n < 0 ? n : (ssize_t)done;
}

#endif
