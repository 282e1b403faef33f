/*
 * ops.h - the FUSE adaptor's entry points for main.c.  Includes FUSE: only
 * the adaptor (ops.c, notify.c, optimer.c, main.c) may include this header.
 */
#ifndef KVFS_OPS_H
#define KVFS_OPS_H

#include <fuse_lowlevel.h>

#include "kvfs.h"

extern const struct fuse_lowlevel_ops kvfs_ops;

/* kvfs_ops with every handler timed into kv->opstats (optimer.c). */
void kvfs_optimer_ops(struct fuse_lowlevel_ops *out);

/* The kernel's nodeid of an inode (ops.c). */
fuse_ino_t kvfs_nodeid(struct kvfs *kv, struct kvfs_inode *ino);

/* Starts/stops the thread that sends kernel-cache invalidations (notify.c). */
int kvfs_notify_start(struct kvfs *kv, struct fuse_session *se);
void kvfs_notify_stop(struct kvfs *kv);
/* Waits (up to KVFS_NOTIFY_WAIT_MS) until everything queued so far is sent. */
void kvfs_notify_flush(struct kvfs *kv);

#endif
