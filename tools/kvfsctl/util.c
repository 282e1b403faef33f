/*
 * util.c - kvfsctl's shared pieces: finding the kvfs mount of a path (from
 * /proc/self/mountinfo), reading the control files, formatting, and a small
 * parser of the Prometheus text the daemon writes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"       /* KVFS_CTL_NAME */
#include "kvfsctl.h"

void warnx(const char *fmt, ...)
{
	va_list ap;

	fputs("kvfsctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

_Noreturn void die(const char *fmt, ...)
{
	va_list ap;

	fputs("kvfsctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(KVFSCTL_FAILED);
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		die("out of memory");
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		die("out of memory");
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		die("out of memory");
	return p;
}

/* ---- mounts ---- */

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *d = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] && s[3]) {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*d++ = *s;
		}
	}
	*d = '\0';
}

/* Is `dir` a leading path of `path`, component by component? */
static size_t prefix_len(const char *dir, const char *path)
{
	size_t n = strlen(dir);

	if (strcmp(dir, "/") == 0)
		return 1;
	if (strncmp(dir, path, n) != 0 || (path[n] != '/' && path[n] != '\0'))
		return 0;
	return n;
}

/* Fills m with the mount whose point is the longest prefix of abs; the
 * last one wins among equals (it is mounted on top).  0, or -1 if none. */
static int mount_of(const char *abs, struct kvfs_mount *m)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[3 * PATH_MAX], root[PATH_MAX], dir[PATH_MAX], type[64];
	size_t best = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - ");
		size_t n;

		if (!sep || sscanf(line, "%*s %*s %*s %4095s %4095s", root, dir) != 2 ||
		    sscanf(sep + 3, "%63s", type) != 1)
			continue;
		unescape(root);
		unescape(dir);
		n = prefix_len(dir, abs);
		if (n && n >= best) {
			best = n;
			snprintf(m->dir, sizeof(m->dir), "%s", dir);
			snprintf(m->root, sizeof(m->root), "%s", root);
			snprintf(m->fstype, sizeof(m->fstype), "%s", type);
		}
	}
	fclose(f);
	return best ? 0 : -1;
}

/* An absolute form of path without touching it (for a dead mount, whose
 * paths cannot be resolved). */
static void lexical_abs(const char *path, char *out, size_t size)
{
	char cwd[PATH_MAX];

	int n;

	if (path[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		n = snprintf(out, size, "%s", path);
	else
		n = snprintf(out, size, "%s/%s", strcmp(cwd, "/") ? cwd : "", path);
	if (n < 0 || (size_t)n >= size)
		snprintf(out, size, "%s", path); /* too long: as given */
}

int kvfsctl_find_mount(const char *path, struct kvfs_mount *m)
{
	char abs[PATH_MAX];
	struct stat sb;
	int err = 0;

	memset(m, 0, sizeof(*m));
	if (!realpath(path, abs)) {
		err = errno;
		if (err != ENOTCONN && err != ECONNABORTED) {
			warnx("%s: %s", path, strerror(err));
			return KVFSCTL_FAILED;
		}
		lexical_abs(path, abs, sizeof(abs));
	}
	if (mount_of(abs, m) != 0) {
		warnx("%s: cannot find its mount in /proc/self/mountinfo", path);
		return KVFSCTL_NOT_KVFS;
	}
	if (strcmp(m->fstype, "fuse.kvfs") != 0) {
		warnx("%s is not a kvfs mount (it is on %s, type %s)", path, m->dir,
		      m->fstype);
		return KVFSCTL_NOT_KVFS;
	}
	if (err || (stat(m->dir, &sb) != 0 && (errno == ENOTCONN || errno == ECONNABORTED))) {
		warnx("the kvfs daemon for %s is not running (a stale mount: "
		      "unmount it with 'fusermount3 -u %s')", m->dir, m->dir);
		return KVFSCTL_NOT_KVFS;
	}
	return 0;
}

ssize_t kvfsctl_read_ctl(const struct kvfs_mount *m, const char *name,
			 char **out)
{
	char path[PATH_MAX + 64];
	size_t len = 0, cap = 65536;
	char *buf;
	ssize_t n;
	int fd;

	if (strcmp(m->root, "/") != 0) {
		warnx("%s mounts the kvfs directory %s, not its root: the control "
		      "files are at the root's /%s", m->dir, m->root, KVFS_CTL_NAME);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s/%s", strcmp(m->dir, "/") ? m->dir : "",
		 KVFS_CTL_NAME, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		warnx("%s: %s%s", path, strerror(errno), errno == ENOENT ?
		      " (a kvfs daemon without control files?)" : "");
		return -1;
	}
	buf = xmalloc(cap);
	while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (cap - len < 4096)
			buf = xrealloc(buf, cap *= 2);
	}
	if (n < 0) {
		warnx("%s: %s", path, strerror(errno));
		close(fd);
		free(buf);
		return -1;
	}
	close(fd);
	buf[len] = '\0';
	*out = buf;
	return (ssize_t)len;
}

/* ---- formatting ---- */

const char *human_bytes(uint64_t v, int exact, char *buf, size_t size)
{
	static const char units[] = "KMGTPE";
	double d = (double)v;
	int u = -1;

	if (exact || v < 1024) {
		snprintf(buf, size, "%llu", (unsigned long long)v);
		return buf;
	}
	while (d >= 1024 && u < 5) {
		d /= 1024;
		u++;
	}
	snprintf(buf, size, d < 10 ? "%.1f%c" : "%.0f%c", d, units[u]);
	return buf;
}

const char *human_secs(double s, char *buf, size_t size)
{
	if (s < 1e-6)
		snprintf(buf, size, "%.0fns", s * 1e9);
	else if (s < 1e-3)
		snprintf(buf, size, "%.1fus", s * 1e6);
	else if (s < 1)
		snprintf(buf, size, "%.1fms", s * 1e3);
	else
		snprintf(buf, size, "%.2fs", s);
	return buf;
}

void json_string(FILE *f, const char *s)
{
	kvfs_ctl_json_str(f, s);
}

/* ---- Prometheus text ---- */

void metrics_parse(struct metrics *ms, char *text)
{
	size_t cap = 0;
	char *line, *save = NULL;

	memset(ms, 0, sizeof(*ms));
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *sp, *end;
		double v;

		if (line[0] == '#' || line[0] == '\0')
			continue;
		/* The value follows the last space (label values here have none
		 * that matter: a path with a space only shifts kvfs_info). */
		sp = strrchr(line, ' ');
		if (!sp)
			continue;
		v = strtod(sp + 1, &end);
		if (end == sp + 1)
			continue;
		*sp = '\0';
		if (ms->n == cap)
			ms->v = xrealloc(ms->v, (cap = cap ? cap * 2 : 256) * sizeof(*ms->v));
		ms->v[ms->n].key = line;
		ms->v[ms->n].value = v;
		ms->n++;
	}
}

double metrics_get(const struct metrics *ms, const char *key, double dflt)
{
	for (size_t i = 0; i < ms->n; i++)
		if (strcmp(ms->v[i].key, key) == 0)
			return ms->v[i].value;
	return dflt;
}

void metrics_release(struct metrics *ms)
{
	free(ms->v);
	memset(ms, 0, sizeof(*ms));
}
