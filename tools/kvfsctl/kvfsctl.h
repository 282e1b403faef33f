/*
 * kvfsctl.h - what the parts of kvfsctl share: exit codes, finding the kvfs
 * mount that holds a path, reading control files, formatting.
 *
 * kvfsctl is a tool, not the daemon: it may die on out-of-memory (xmalloc)
 * and prints its own messages, each starting with "kvfsctl: ".
 */
#ifndef KVFSCTL_H
#define KVFSCTL_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* Exit codes (docs/tooling.md, kvfsctl(8)); fsck follows fsck(8) instead. */
#define KVFSCTL_OK        0
#define KVFSCTL_FAILED    1   /* an operation failed for at least one path */
#define KVFSCTL_USAGE     2
#define KVFSCTL_NOT_KVFS  3   /* not a kvfs mount, or its daemon is gone */

/* The kvfs mount that holds a path. */
struct kvfs_mount {
	char dir[PATH_MAX];     /* mount point */
	char root[PATH_MAX];    /* the mounted directory inside kvfs ("/") */
	char fstype[64];
};

/* Finds the mount holding `path` and checks it is a live kvfs mount.
 * Returns 0, or prints why not and returns KVFSCTL_NOT_KVFS (not kvfs, or
 * the daemon is not running) or KVFSCTL_FAILED (the path does not exist). */
int kvfsctl_find_mount(const char *path, struct kvfs_mount *m);

/* Reads MNT/.kvfs/<name> whole into a NUL-terminated malloc'd buffer.
 * Returns the length, or -1 after printing why. */
ssize_t kvfsctl_read_ctl(const struct kvfs_mount *m, const char *name,
			 char **out);

void *xmalloc(size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "1.5K" (powers of 1024), or exact bytes with `exact`. */
const char *human_bytes(uint64_t v, int exact, char *buf, size_t size);
/* "12.3us" */
const char *human_secs(double s, char *buf, size_t size);
/* A JSON string, with quotes. */
void json_string(FILE *f, const char *s);

/* Prometheus text, parsed: one sample per line ("name{labels}" -> value). */
struct metric {
	char *key;
	double value;
};
struct metrics {
	struct metric *v;
	size_t n;
};
void metrics_parse(struct metrics *ms, char *text);  /* modifies text */
/* The sample `key` (exactly as written, labels included), or `dflt`. */
double metrics_get(const struct metrics *ms, const char *key, double dflt);
void metrics_release(struct metrics *ms);

/* The subcommands. */
int cmd_ls(int argc, char **argv);
int cmd_du(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_fsck(int argc, char **argv);

#endif
