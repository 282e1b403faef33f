/*
 * kconn.h - custom I/O on the FUSE session (kconn.c), part of the FUSE
 * adaptor: the daemon's requests and replies pass through kproto.c, and
 * passthrough backing ids are registered on the connection.
 */
#ifndef KVFS_KCONN_H
#define KVFS_KCONN_H

struct kvfs;
struct fuse_session;

/* After fuse_session_mount(): routes the session's reads and writes through
 * kproto.  Returns 0 or -errno (libfuse's). */
int kvfs_kconn_attach(struct kvfs *kv, struct fuse_session *se);
/* Before the session goes: no more backing ids are made or closed (the
 * kernel drops them all with the connection). */
void kvfs_kconn_detach(struct kvfs *kv);

#endif
