/*
 * ops.h - the FUSE adaptor's entry points for main.c.  Includes FUSE: only
 * ops.c and main.c may include this header.
 */
#ifndef KVFS_OPS_H
#define KVFS_OPS_H

#include <fuse_lowlevel.h>

#include "kvfs.h"

extern const struct fuse_lowlevel_ops kvfs_ops;

/* Starts/stops the thread that sends kernel-cache invalidations. */
int kvfs_notify_start(struct kvfs *kv, struct fuse_session *se);
void kvfs_notify_stop(struct kvfs *kv);

#endif
