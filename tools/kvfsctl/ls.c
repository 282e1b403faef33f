/*
 * ls.c - `kvfsctl ls` (files with their cache metadata) and `kvfsctl du`
 * (bytes and files per tier).
 *
 * Both read what any process can: stat(2) and the user.kvfs.* extended
 * attributes (tier, hits, last_access, pin, parent), one getxattr each, so
 * a listing costs a few FUSE requests per file.
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>

#include "kvfsctl.h"

struct entry {
	char *path;             /* as shown: relative to the argument */
	int is_dir;
	uint64_t size, allocated;
	char tier[32];
	uint64_t hits;
	double last_access;     /* seconds since the epoch; 0: never read */
	int pinned;
	char parent[256];       /* user.kvfs.parent, "" if none */
};

struct listing {
	struct entry *v;
	size_t n, cap;
};

enum sort_key { SORT_NAME, SORT_SIZE, SORT_HITS, SORT_ATIME, SORT_TIER };

/* One xattr as a string; "" when absent. */
static void get_attr(const char *path, const char *name, char *buf, size_t size)
{
	ssize_t n = getxattr(path, name, buf, size - 1);

	buf[n > 0 ? n : 0] = '\0';
}

static void fill_entry(struct entry *e, const char *path, const char *shown,
		       const struct stat *sb)
{
	char v[64];

	memset(e, 0, sizeof(*e));
	e->path = xstrdup(shown);
	e->is_dir = S_ISDIR(sb->st_mode);
	e->size = (uint64_t)sb->st_size;
	e->allocated = (uint64_t)sb->st_blocks * 512;
	if (e->is_dir) {
		snprintf(e->tier, sizeof(e->tier), "-");
		return;
	}
	get_attr(path, "user.kvfs.tier", e->tier, sizeof(e->tier));
	get_attr(path, "user.kvfs.hits", v, sizeof(v));
	e->hits = strtoull(v, NULL, 10);
	get_attr(path, "user.kvfs.last_access", v, sizeof(v));
	e->last_access = strtod(v, NULL);
	get_attr(path, "user.kvfs.pin", v, sizeof(v));
	e->pinned = v[0] == '1';
	get_attr(path, "user.kvfs.parent", e->parent, sizeof(e->parent));
}

static struct entry *add(struct listing *l)
{
	if (l->n == l->cap)
		l->v = xrealloc(l->v, (l->cap = l->cap ? 2 * l->cap : 256) * sizeof(*l->v));
	return &l->v[l->n++];
}

static void list_dir(struct listing *l, const char *dir, const char *shown,
		     int all, int recurse)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d) {
		warnx("%s: %s", dir, strerror(errno));
		return;
	}
	while ((de = readdir(d))) {
		char path[PATH_MAX], name[PATH_MAX];
		struct stat sb;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    (!all && de->d_name[0] == '.'))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		snprintf(name, sizeof(name), "%s%s%s", shown, *shown ? "/" : "",
			 de->d_name);
		if (lstat(path, &sb) != 0)
			continue; /* gone since readdir */
		fill_entry(add(l), path, name, &sb);
		if (recurse && S_ISDIR(sb.st_mode))
			list_dir(l, path, name, all, recurse);
	}
	closedir(d);
}

static enum sort_key sort_by;
static int sort_reverse;

static int compare(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int r = 0;

	switch (sort_by) {
	case SORT_SIZE:
		r = x->size < y->size ? 1 : x->size > y->size ? -1 : 0;
		break;
	case SORT_HITS:
		r = x->hits < y->hits ? 1 : x->hits > y->hits ? -1 : 0;
		break;
	case SORT_ATIME:
		r = x->last_access < y->last_access ? 1 :
		    x->last_access > y->last_access ? -1 : 0;
		break;
	case SORT_TIER:
		r = strcmp(x->tier, y->tier);
		break;
	case SORT_NAME:
		break;
	}
	if (r == 0)
		r = strcmp(x->path, y->path);
	return sort_reverse ? -r : r;
}

static void when(double t, char *buf, size_t size)
{
	time_t s = (time_t)t;
	struct tm tm;

	if (t <= 0) {
		snprintf(buf, size, "-");
		return;
	}
	localtime_r(&s, &tm);
	strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
}

static void print_table(const struct listing *l, int exact)
{
	char sz[32], at[32];

	printf("%10s %-7s %7s %-19s %-3s %-20s %s\n", "SIZE", "TIER", "HITS",
	       "LAST ACCESS", "PIN", "PARENT", "NAME");
	for (size_t i = 0; i < l->n; i++) {
		const struct entry *e = &l->v[i];

		when(e->last_access, at, sizeof(at));
		if (e->is_dir) {
			printf("%10s %-7s %7s %-19s %-3s %-20s %s/\n", "-", "-", "-",
			       "-", "-", "-", e->path);
			continue;
		}
		printf("%10s %-7s %7llu %-19s %-3s %-20s %s\n",
		       human_bytes(e->size, exact, sz, sizeof(sz)),
		       e->tier[0] ? e->tier : "?", (unsigned long long)e->hits, at,
		       e->pinned ? "yes" : "-", e->parent[0] ? e->parent : "-",
		       e->path);
	}
}

static void print_json(const struct listing *l)
{
	printf("[");
	for (size_t i = 0; i < l->n; i++) {
		const struct entry *e = &l->v[i];

		printf("%s\n  {\"name\": ", i ? "," : "");
		json_string(stdout, e->path);
		printf(", \"type\": \"%s\", \"size\": %llu, \"allocated\": %llu",
		       e->is_dir ? "directory" : "file",
		       (unsigned long long)e->size, (unsigned long long)e->allocated);
		if (!e->is_dir) {
			printf(", \"tier\": ");
			json_string(stdout, e->tier);
			printf(", \"hits\": %llu, \"last_access\": ",
			       (unsigned long long)e->hits);
			if (e->last_access > 0)
				printf("%.9f", e->last_access);
			else
				printf("null");
			printf(", \"pinned\": %s, \"parent\": ", e->pinned ? "true" : "false");
			if (e->parent[0])
				json_string(stdout, e->parent);
			else
				printf("null");
		}
		printf("}");
	}
	printf("%s]\n", l->n ? "\n" : "");
}

static int parse_sort(const char *s)
{
	static const char *const keys[] = { "name", "size", "hits", "atime", "tier" };

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(s, keys[i]) == 0 || (i == SORT_ATIME && strcmp(s, "last_access") == 0))
			return (int)i;
	return -1;
}

int cmd_ls(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "sort", required_argument, NULL, 's' },
		{ "reverse", no_argument, NULL, 'r' },
		{ "bytes", no_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	struct listing l = { 0 };
	int c, json = 0, all = 0, recurse = 0, exact = 0, rc = KVFSCTL_OK, k;
	char *dot[] = { ".", NULL };
	char **paths;
	int npaths;

	sort_by = SORT_NAME;
	while ((c = getopt_long(argc, argv, "aRrbS:t", longopts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'a': all = 1; break;
		case 'R': recurse = 1; break;
		case 'r': sort_reverse = 1; break;
		case 'b': exact = 1; break;
		case 'S': sort_by = SORT_SIZE; break;
		case 't': sort_by = SORT_ATIME; break;
		case 's':
			k = parse_sort(optarg);
			if (k < 0) {
				warnx("--sort=%s: use name, size, hits, atime or tier", optarg);
				return KVFSCTL_USAGE;
			}
			sort_by = (enum sort_key)k;
			break;
		default:
			return KVFSCTL_USAGE;
		}
	}
	paths = optind < argc ? argv + optind : dot;
	npaths = optind < argc ? argc - optind : 1;
	for (int i = 0; i < npaths; i++) {
		struct kvfs_mount m;
		struct stat sb;
		int r = kvfsctl_find_mount(paths[i], &m);

		if (r) {
			rc = rc == KVFSCTL_NOT_KVFS ? rc : r;
			continue;
		}
		if (stat(paths[i], &sb) != 0) {
			warnx("%s: %s", paths[i], strerror(errno));
			rc = rc ? rc : KVFSCTL_FAILED;
		} else if (S_ISDIR(sb.st_mode)) {
			list_dir(&l, paths[i], npaths > 1 ? paths[i] : "", all, recurse);
		} else {
			fill_entry(add(&l), paths[i], paths[i], &sb);
		}
	}
	qsort(l.v, l.n, sizeof(*l.v), compare);
	if (json)
		print_json(&l);
	else if (l.n || rc == KVFSCTL_OK)
		print_table(&l, exact);
	for (size_t i = 0; i < l.n; i++)
		free(l.v[i].path);
	free(l.v);
	return rc;
}

/* ---- du ---- */

#define DU_MAX_TIERS 8

struct du_tier {
	char name[32];
	uint64_t files, bytes, allocated;
};

static struct {
	struct du_tier t[DU_MAX_TIERS];
	int n;
	uint64_t dirs;
} du;

static struct du_tier *du_tier(const char *name)
{
	for (int i = 0; i < du.n; i++)
		if (strcmp(du.t[i].name, name) == 0)
			return &du.t[i];
	if (du.n == DU_MAX_TIERS)
		return &du.t[DU_MAX_TIERS - 1]; /* lumped with the last */
	snprintf(du.t[du.n].name, sizeof(du.t[0].name), "%s", name);
	return &du.t[du.n++];
}

static int du_one(const char *path, const struct stat *sb, int type,
		  struct FTW *ftw)
{
	char tier[32];
	struct du_tier *t;

	(void)ftw;
	if (type == FTW_D) {
		du.dirs++;
		return 0;
	}
	if (type != FTW_F || !S_ISREG(sb->st_mode))
		return 0;
	get_attr(path, "user.kvfs.tier", tier, sizeof(tier));
	t = du_tier(tier[0] ? tier : "unknown");
	t->files++;
	t->bytes += (uint64_t)sb->st_size;
	t->allocated += (uint64_t)sb->st_blocks * 512;
	return 0;
}

static void du_print(const char *path, int json, int exact)
{
	struct du_tier total = { .name = "total" };
	char a[32], b[32];

	for (int i = 0; i < du.n; i++) {
		total.files += du.t[i].files;
		total.bytes += du.t[i].bytes;
		total.allocated += du.t[i].allocated;
	}
	if (json) {
		printf("{\"path\": ");
		json_string(stdout, path);
		printf(", \"directories\": %llu, \"tiers\": {", (unsigned long long)du.dirs);
		for (int i = 0; i < du.n; i++) {
			printf("%s\"%s\": {\"files\": %llu, \"bytes\": %llu, "
			       "\"allocated_bytes\": %llu}", i ? ", " : "", du.t[i].name,
			       (unsigned long long)du.t[i].files,
			       (unsigned long long)du.t[i].bytes,
			       (unsigned long long)du.t[i].allocated);
		}
		printf("}, \"total\": {\"files\": %llu, \"bytes\": %llu, "
		       "\"allocated_bytes\": %llu}}\n", (unsigned long long)total.files,
		       (unsigned long long)total.bytes,
		       (unsigned long long)total.allocated);
		return;
	}
	printf("%-8s %10s %12s %12s\n", "TIER", "FILES", "SIZE", "ALLOCATED");
	for (int i = 0; i <= du.n; i++) {
		const struct du_tier *t = i < du.n ? &du.t[i] : &total;

		printf("%-8s %10llu %12s %12s%s%s\n", t->name,
		       (unsigned long long)t->files, human_bytes(t->bytes, exact, a, sizeof(a)),
		       human_bytes(t->allocated, exact, b, sizeof(b)),
		       i == du.n ? "  " : "", i == du.n ? path : "");
	}
}

int cmd_du(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "bytes", no_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	int c, json = 0, exact = 0, rc = KVFSCTL_OK;

	while ((c = getopt_long(argc, argv, "b", longopts, NULL)) != -1) {
		if (c == 'j')
			json = 1;
		else if (c == 'b')
			exact = 1;
		else
			return KVFSCTL_USAGE;
	}
	if (optind == argc) {
		warnx("du needs at least one PATH");
		return KVFSCTL_USAGE;
	}
	for (int i = optind; i < argc; i++) {
		struct kvfs_mount m;
		int r = kvfsctl_find_mount(argv[i], &m);

		if (r) {
			rc = rc == KVFSCTL_NOT_KVFS ? rc : r;
			continue;
		}
		memset(&du, 0, sizeof(du));
		/* Every tier kvfs has, even empty, so scripts find each one. */
		du_tier("memory");
		du_tier("memory+ssd");
		du_tier("ssd");
		if (nftw(argv[i], du_one, 32, FTW_PHYS | FTW_MOUNT) != 0) {
			warnx("%s: %s", argv[i], strerror(errno));
			rc = rc ? rc : KVFSCTL_FAILED;
			continue;
		}
		du_print(argv[i], json, exact);
	}
	return rc;
}
