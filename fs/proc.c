/*
 * proc.c - which process a FUSE request comes from.
 *
 * FUSE reports the calling thread's id.  Publish-on-close hides a new file
 * from every process but its creator, so kvfs needs the thread's process
 * (thread group) id: read once per request from /proc/<tid>/status, and only
 * when an unpublished inode is involved (rare), so no cache is kept.
 * Called from any FUSE worker thread; no shared state.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ns.h"

static pid_t read_tgid(pid_t tid)
{
	char path[64], buf[1024];
	ssize_t n;
	char *p;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return tid;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return tid;
	buf[n] = '\0';
	p = strstr(buf, "\nTgid:");
	if (!p)
		return tid;
	return (pid_t)strtol(p + 6, NULL, 10);
}

pid_t kvfs_ctx_tgid(struct kvfs_ctx *ctx)
{
	/* A thread that has exited (tid unknown) is its own process: it then
	 * matches no owner but itself, which hides unpublished files from it. */
	if (ctx->tgid == 0)
		ctx->tgid = ctx->tid > 0 ? read_tgid(ctx->tid) : ctx->tid;
	return ctx->tgid;
}
