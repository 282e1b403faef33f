/*
 * test_ctl.c - the control directory and what it says (fs/ctl.c), eviction
 * (kvfs_ns_evict and user.kvfs.evict), the last-access attribute, and the
 * request counters (fs/opstat.c), all without FUSE.
 *
 * The fixture is a daemon's struct kvfs with a memory arena, a namespace and
 * the control files, but no index and no kernel: the namespace hooks that
 * would talk to the kernel are recorded instead.  The formats are checked
 * by parsing them: a small JSON validator and the Prometheus text rules.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <cmocka.h>

#include "ctl.h"
#include "kvfs.h"
#include "ns.h"
#include "opstat.h"

#include "t_core.h"

#define MEM (16u << 20)

struct fixture {
	struct kvfs kv;
	struct kvfs_ctx a, b;
	int deleted;                    /* delete_entry calls */
	char deleted_name[256];
	struct kvfs_inode *deleted_parent;
};

static void t_delete_entry(void *arg, struct kvfs_inode *parent,
			   struct kvfs_inode *ino, const char *name)
{
	struct fixture *f = (struct fixture *)((char *)arg - offsetof(struct fixture, kv));

	(void)ino;
	f->deleted++;
	f->deleted_parent = parent;
	snprintf(f->deleted_name, sizeof(f->deleted_name), "%s", name);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct kvfs *kv = &f->kv;

	assert_non_null(f);
	kv->opts.state = strdup("/var/lib/kvfs/t");
	kv->opts.mem = MEM;
	kv->opts.threads = 8;
	kv->opts.prefault = 1;
	kv->mountpoint = "/mnt/a \"quoted\" \\ path";
	t_core_open(kv, &(struct t_core_cfg){ .mem = MEM, .ctl = 1 });
	kv->ns.hooks.delete_entry = t_delete_entry;
	f->a = (struct kvfs_ctx){ .uid = 0, .gid = 0, .tid = 1001, .tgid = 1001 };
	f->b = (struct kvfs_ctx){ .uid = 0, .gid = 0, .tid = 2002, .tgid = 2002 };
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	t_core_close(&f->kv);
	kvfs_opts_release(&f->kv.opts);
	free(f);
	return 0;
}

/* A published file of len bytes in dir, as process a. */
static struct kvfs_inode *t_file(struct fixture *f, struct kvfs_inode *dir,
				 const char *name, size_t len)
{
	return t_file_publish(&f->kv.ns, &f->a, dir, name, len, 1);
}

/* Reads a whole open file through the read path, 4 KiB per call, into
 * out[0, size - 1), NUL-terminated; returns its length. */
static size_t t_read(struct fixture *f, struct kvfs_handle *h, char *out,
		     size_t size)
{
	ssize_t n = t_file_read(&f->kv.ns, h, 0, out, size, 4096);

	assert_true(n >= 0 && (size_t)n < size);
	out[n] = '\0';
	return (size_t)n;
}

/* The content of control file `name`, as an open and reads give it. */
static char *t_ctl(struct fixture *f, const char *name)
{
	struct kvfs_ns *ns = &f->kv.ns;
	struct kvfs_entry dir, e;
	struct kvfs_handle *h;
	char *buf = malloc(1 << 20);

	assert_non_null(buf);
	assert_int_equal(kvfs_ns_lookup(ns, &f->a, ns->root, KVFS_CTL_NAME, &dir), 0);
	assert_int_equal(kvfs_ns_lookup(ns, &f->a, dir.ino, name, &e), 0);
	assert_int_equal(kvfs_file_open(ns, &f->a, e.ino, O_RDONLY, 1, &h), 0);
	assert_false(h->cached);
	t_read(f, h, buf, 1 << 20);
	kvfs_file_release(ns, h);
	kvfs_ns_forget(ns, e.ino, 1);
	kvfs_ns_forget(ns, dir.ino, 1);
	return buf;
}

/* ---- a small JSON validator: returns the end of one value, or NULL ---- */

static const char *j_ws(const char *p)
{
	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
		p++;
	return p;
}

static const char *j_value(const char *p);

static const char *j_string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	for (; *p != '"'; p++) {
		if ((unsigned char)*p < 0x20)
			return NULL;
		if (*p == '\\') {
			p++;
			if (*p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (!isxdigit((unsigned char)p[i]))
						return NULL;
				p += 4;
			} else if (!strchr("\"\\/bfnrt", *p)) {
				return NULL;
			}
		}
	}
	return p + 1;
}

static const char *j_seq(const char *p, char close, int object)
{
	p = j_ws(p + 1);
	if (*p == close)
		return p + 1;
	for (;;) {
		if (object) {
			p = j_string(j_ws(p));
			if (!p || *(p = j_ws(p)) != ':')
				return NULL;
			p++;
		}
		p = j_value(p);
		if (!p)
			return NULL;
		p = j_ws(p);
		if (*p == close)
			return p + 1;
		if (*p++ != ',')
			return NULL;
	}
}

static const char *j_value(const char *p)
{
	char *end;

	p = j_ws(p);
	if (*p == '{')
		return j_seq(p, '}', 1);
	if (*p == '[')
		return j_seq(p, ']', 0);
	if (*p == '"')
		return j_string(p);
	if (!strncmp(p, "true", 4) || !strncmp(p, "null", 4))
		return p + 4;
	if (!strncmp(p, "false", 5))
		return p + 5;
	if (*p != '-' && !isdigit((unsigned char)*p))
		return NULL;
	strtod(p, &end);
	return end == p ? NULL : end;
}

static void assert_json(const char *text)
{
	const char *end = j_value(text);

	if (!end || *j_ws(end) != '\0')
		fail_msg("invalid JSON near offset %td: %.60s", end ? end - text : -1,
			 end ? end : text);
}

/* ---- the Prometheus text rules ---- */

struct t_family {
	char name[256];
	char type[32];
};

/* Checks every rule the tests of issue 5 name, and returns the samples of
 * `want` (its value; -1 if absent). */
static double assert_prometheus(char *text, const char *want)
{
	struct t_family fam[256];
	int nfam = 0;
	double found = -1;
	char *save = NULL;

	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[256], type[32], *brace, *sp, *end;
		int known = 0;

		if (sscanf(line, "# TYPE %255s %31s", name, type) == 2) {
			assert_true(strncmp(name, "kvfs_", 5) == 0);
			assert_true(!strcmp(type, "counter") || !strcmp(type, "gauge") ||
				    !strcmp(type, "histogram"));
			if (!strcmp(type, "counter"))
				assert_non_null(strstr(name, "_total"));
			for (int i = 0; i < nfam; i++)
				assert_string_not_equal(fam[i].name, name); /* declared once */
			assert_true(nfam < 256);
			snprintf(fam[nfam].name, sizeof(fam[0].name), "%s", name);
			snprintf(fam[nfam].type, sizeof(fam[0].type), "%s", type);
			nfam++;
			continue;
		}
		if (line[0] == '#') {
			assert_true(strncmp(line, "# HELP kvfs_", 12) == 0);
			continue;
		}
		sp = strrchr(line, ' ');
		assert_non_null(sp);
		strtod(sp + 1, &end);
		assert_true(end != sp + 1 && *end == '\0');
		snprintf(name, sizeof(name), "%.*s", (int)(sp - line), line);
		if (want && strcmp(name, want) == 0)
			found = strtod(sp + 1, NULL);
		brace = strchr(name, '{');
		if (brace) {
			assert_int_equal(name[strlen(name) - 1], '}');
			*brace = '\0';
		}
		for (int i = 0; i < nfam && !known; i++) {
			size_t n = strlen(fam[i].name);

			if (!strcmp(fam[i].name, name))
				known = 1;
			else if (!strcmp(fam[i].type, "histogram") &&
				 !strncmp(fam[i].name, name, n) &&
				 (!strcmp(name + n, "_bucket") || !strcmp(name + n, "_sum") ||
				  !strcmp(name + n, "_count")))
				known = 1;
		}
		if (!known)
			fail_msg("sample %s has no # TYPE line before it", name);
	}
	return found;
}

/* ---- tests ---- */

static void test_ctl_dir_hidden_but_reachable(void **state)
{
	struct fixture *f = *state;
	struct kvfs_ns *ns = &f->kv.ns;
	struct kvfs_handle *h;
	struct kvfs_entry e, s;
	int stats = 0;

	t_file(f, ns->root, "a.kv", 10);
	assert_int_equal(kvfs_ns_opendir(ns, &f->a, ns->root, &h), 0);
	assert_int_equal(kvfs_ns_readdir_snapshot(ns, &f->a, h), 0);
	assert_int_equal(h->nents, 3); /* ".", "..", a.kv */
	for (size_t i = 0; i < h->nents; i++)
		assert_string_not_equal(h->ents[i].name, KVFS_CTL_NAME);
	kvfs_ns_releasedir(ns, h);

	assert_int_equal(kvfs_ns_lookup(ns, &f->b, ns->root, KVFS_CTL_NAME, &e), 0);
	assert_true(S_ISDIR(e.st.st_mode));
	assert_int_equal(e.st.st_ino, KVFS_CTL_INO);
	assert_int_equal(kvfs_ns_lookup(ns, &f->b, e.ino, "..", &s), 0);
	assert_ptr_equal(s.ino, ns->root);
	kvfs_ns_forget(ns, s.ino, 1);
	assert_int_equal(kvfs_ns_opendir(ns, &f->a, e.ino, &h), 0);
	assert_int_equal(kvfs_ns_readdir_snapshot(ns, &f->a, h), 0);
	assert_int_equal(h->nents, 2 + 4);
	for (size_t i = 0; i < h->nents; i++)
		stats += strcmp(h->ents[i].name, "stats") == 0;
	assert_int_equal(stats, 1);
	kvfs_ns_releasedir(ns, h);
	assert_int_equal(kvfs_ns_lookup(ns, &f->b, e.ino, "metrics", &s), 0);
	assert_true(S_ISREG(s.st.st_mode));
	assert_int_equal(s.st.st_mode & 0777, 0444);
	kvfs_ns_forget(ns, s.ino, 1);
	kvfs_ns_forget(ns, e.ino, 1);
	/* Not counted as a file or directory of the cache. */
	assert_int_equal(atomic_load(&ns->stats.files), 1);
	assert_int_equal(atomic_load(&ns->stats.dirs), 1);
}

static void test_ctl_is_read_only(void **state)
{
	struct fixture *f = *state;
	struct kvfs_ns *ns = &f->kv.ns;
	struct kvfs_entry d, e, x;
	struct kvfs_handle *h;
	struct stat st = { .st_mode = 0666 };

	assert_int_equal(kvfs_ns_lookup(ns, &f->a, ns->root, KVFS_CTL_NAME, &d), 0);
	assert_int_equal(kvfs_ns_lookup(ns, &f->a, d.ino, "stats", &e), 0);
	assert_int_equal(kvfs_ns_create(ns, &f->a, d.ino, "new", 0644, O_WRONLY, &x, &h), -EPERM);
	assert_int_equal(kvfs_ns_mkdir(ns, &f->a, d.ino, "sub", 0755, &x), -EPERM);
	assert_int_equal(kvfs_ns_mkdir(ns, &f->a, ns->root, KVFS_CTL_NAME, 0755, &x), -EEXIST);
	assert_int_equal(kvfs_ns_create(ns, &f->a, ns->root, KVFS_CTL_NAME, 0644,
					O_WRONLY, &x, &h), -EEXIST);
	assert_int_equal(kvfs_ns_unlink(ns, &f->a, d.ino, "stats"), -EPERM);
	assert_int_equal(kvfs_ns_rmdir(ns, &f->a, ns->root, KVFS_CTL_NAME), -ENOENT);
	t_file(f, ns->root, "b.kv", 1);
	assert_int_equal(kvfs_ns_rename(ns, &f->a, ns->root, "b.kv", ns->root,
					KVFS_CTL_NAME, 0), -EPERM);
	assert_int_equal(kvfs_ns_rename(ns, &f->a, d.ino, "stats", ns->root, "s", 0), -EPERM);
	assert_int_equal(kvfs_file_setattr(ns, &f->a, e.ino, &st, KVFS_SET_MODE, &st), -EPERM);
	assert_int_equal(kvfs_file_open(ns, &f->a, e.ino, O_WRONLY, 0, &h), -EACCES);
	assert_int_equal(kvfs_file_open(ns, &f->a, e.ino, O_RDONLY | O_TRUNC, 0, &h), -EACCES);
	assert_int_equal(kvfs_xattr_set(ns, e.ino, "user.x", "1", 1, 0), -EPERM);
	assert_int_equal(kvfs_xattr_set(ns, e.ino, "user.kvfs.evict", "1", 1, 0), -EPERM);
	assert_int_equal(kvfs_xattr_get(ns, e.ino, "user.kvfs.tier", NULL, 0), -ENODATA);
	assert_int_equal(kvfs_xattr_list(ns, e.ino, NULL, 0), 0);
	assert_int_equal(kvfs_ns_evict(ns, e.ino), -EPERM);
	kvfs_ns_forget(ns, e.ino, 1);
	kvfs_ns_forget(ns, d.ino, 1);
}

static void test_stats_text_and_snapshot(void **state)
{
	struct fixture *f = *state;
	struct kvfs_ns *ns = &f->kv.ns;
	struct kvfs_entry d, e;
	struct kvfs_handle *h;
	char *text, *again = malloc(1 << 20);

	t_file(f, ns->root, "c.kv", 100000);
	text = t_ctl(f, "stats");
	assert_true(strncmp(text, "kvfs " KVFS_VERSION ", pid ", 11) == 0);
	assert_non_null(strstr(text, "\nmemory   yes"));
	assert_non_null(strstr(text, "\nssd      no"));
	assert_non_null(strstr(text, "1 files, 1 directories"));
	assert_non_null(strstr(text, "lookups"));
	free(text);

	/* One open is one snapshot: activity after the open does not show. */
	assert_int_equal(kvfs_ns_lookup(ns, &f->a, ns->root, KVFS_CTL_NAME, &d), 0);
	assert_int_equal(kvfs_ns_lookup(ns, &f->a, d.ino, "stats.json", &e), 0);
	assert_int_equal(kvfs_file_open(ns, &f->a, e.ino, O_RDONLY, 0, &h), 0);
	t_file(f, ns->root, "d.kv", 10);
	t_read(f, h, again, 1 << 20);
	assert_non_null(strstr(again, "\"files\": 1"));
	assert_null(strstr(again, "\"files\": 2"));
	kvfs_file_release(ns, h);
	kvfs_ns_forget(ns, e.ino, 1);
	kvfs_ns_forget(ns, d.ino, 1);
	free(again);
}

static void test_stats_json_is_valid(void **state)
{
	struct fixture *f = *state;
	char *text;

	t_file(f, f->kv.ns.root, "e.kv", 5000);
	kvfs_opstat_record(&f->kv.opstats, KVFS_OP_READ, 12345);
	text = t_ctl(f, "stats.json");
	assert_json(text);
	assert_non_null(strstr(text, "\"mountpoint\": \"/mnt/a \\\"quoted\\\" \\\\ path\""));
	assert_non_null(strstr(text, "\"ssd\": {\"present\": false"));
	assert_non_null(strstr(text, "\"read\": {\"requests\": 1"));
	free(text);
	text = t_ctl(f, "config");
	assert_non_null(strstr(text, "\nstate=/var/lib/kvfs/t\n"));
	assert_non_null(strstr(text, "\nmem=16777216\n"));
	assert_non_null(strstr(text, "\nio=auto\n"));
	free(text);
}

static void test_metrics_parse_and_grow(void **state)
{
	struct fixture *f = *state;
	struct kvfs_opstats *o = &f->kv.opstats;
	char *text;
	double before, after;

	kvfs_opstat_record(o, KVFS_OP_LOOKUP, 5000);
	kvfs_opstat_record(o, KVFS_OP_WRITE, 2000000);
	t_file(f, f->kv.ns.root, "f.kv", 4096);
	text = t_ctl(f, "metrics");
	before = assert_prometheus(text, "kvfs_written_bytes_total");
	free(text);
	assert_true(before >= 4096);

	t_file(f, f->kv.ns.root, "g.kv", 4096);
	kvfs_opstat_record(o, KVFS_OP_WRITE, 10);
	text = t_ctl(f, "metrics");
	assert_non_null(strstr(text, "kvfs_tier_present{tier=\"ssd\"} 0\n"));
	assert_non_null(strstr(text, "kvfs_fuse_request_duration_seconds_bucket"
			       "{op=\"write\",le=\"+Inf\"} 2\n"));
	assert_non_null(strstr(text, "kvfs_fuse_request_duration_seconds_count"
			       "{op=\"write\"} 2\n"));
	assert_non_null(strstr(text, "kvfs_fuse_request_duration_seconds_bucket"
			       "{op=\"write\",le=\"1e-05\"} 1\n"));
	assert_non_null(strstr(text, "kvfs_info{version=\"" KVFS_VERSION
			       "\",mountpoint=\"/mnt/a \\\"quoted\\\" \\\\ path\""));
	after = assert_prometheus(text, "kvfs_written_bytes_total");
	free(text);
	assert_true(after == before + 4096);
}

static void test_evict(void **state)
{
	struct fixture *f = *state;
	struct kvfs_ns *ns = &f->kv.ns;
	struct kvfs_inode *ino;
	struct kvfs_handle *h;
	struct kvfs_entry e, dir;
	char buf[8192];

	assert_int_equal(kvfs_ns_mkdir(ns, &f->a, ns->root, "m", 0755, &dir), 0);
	ino = t_file(f, dir.ino, "p.kv", 3000);
	assert_int_equal(kvfs_ns_lookup(ns, &f->a, dir.ino, "p.kv", &e), 0);
	assert_int_equal(kvfs_file_open(ns, &f->a, e.ino, O_RDONLY, 0, &h), 0);

	assert_int_equal(kvfs_xattr_set(ns, ino, "user.kvfs.pin", "1", 1, 0), 0);
	assert_int_equal(kvfs_xattr_set(ns, ino, "user.kvfs.evict", "1", 1, 0), -EBUSY);
	assert_int_equal(kvfs_xattr_set(ns, ino, "user.kvfs.pin", "0", 1, 0), 0);
	assert_int_equal(kvfs_xattr_set(ns, ino, "user.kvfs.evict", "0", 1, 0), -EINVAL);
	assert_int_equal(f->deleted, 0);
	assert_int_equal(kvfs_xattr_set(ns, ino, "user.kvfs.evict", "1", 1, 0), 0);
	assert_int_equal(f->deleted, 1);
	assert_ptr_equal(f->deleted_parent, dir.ino);
	assert_string_equal(f->deleted_name, "p.kv");

	/* Gone from the namespace and the counts; the open handle still reads. */
	assert_int_equal(kvfs_ns_lookup(ns, &f->b, dir.ino, "p.kv", &e), -ENOENT);
	assert_int_equal(t_read(f, h, buf, sizeof(buf)), 3000);
	kvfs_file_release(ns, h);
	kvfs_ns_forget(ns, ino, 1);
	assert_int_equal(kvfs_ns_evict(ns, dir.ino), -EISDIR);
	assert_int_equal(atomic_load(&ns->stats.evictions), 1);
	assert_int_equal(atomic_load(&ns->stats.evict_refused), 1);
	assert_int_equal(atomic_load(&ns->stats.evicted_bytes), 4096);
	assert_int_equal(kvfs_xattr_get(ns, dir.ino, "user.kvfs.evict", NULL, 0), -ENODATA);
	kvfs_ns_forget(ns, dir.ino, 1);
}

static void test_evict_unpublished_refused(void **state)
{
	struct fixture *f = *state;
	struct kvfs_ns *ns = &f->kv.ns;
	struct kvfs_handle *h;
	struct kvfs_entry e;

	assert_int_equal(kvfs_ns_create(ns, &f->a, ns->root, "w.kv", 0644, O_WRONLY, &e, &h), 0);
	assert_int_equal(kvfs_ns_evict(ns, e.ino), -EBUSY);
	assert_int_equal(kvfs_file_flush(ns, &f->a, h), 0);
	kvfs_file_release(ns, h);
	assert_int_equal(kvfs_ns_evict(ns, e.ino), 0);
	assert_int_equal(kvfs_ns_evict(ns, e.ino), -ENOENT); /* already nameless */
	kvfs_ns_forget(ns, e.ino, 1);
}

static void test_last_access_attr(void **state)
{
	struct fixture *f = *state;
	struct kvfs_ns *ns = &f->kv.ns;
	struct kvfs_inode *ino = t_file(f, ns->root, "r.kv", 100);
	struct kvfs_handle *h;
	struct kvfs_entry e;
	char v[64], list[256], buf[256];
	ssize_t n;

	assert_int_equal(kvfs_xattr_get(ns, ino, "user.kvfs.last_access", v, sizeof(v)), -ENODATA);
	n = kvfs_xattr_list(ns, ino, list, sizeof(list));
	assert_true(n > 0 && !memmem(list, (size_t)n, "last_access", 11));
	assert_int_equal(kvfs_ns_lookup(ns, &f->a, ns->root, "r.kv", &e), 0);
	assert_int_equal(kvfs_file_open(ns, &f->a, e.ino, O_RDONLY, 0, &h), 0);
	t_read(f, h, buf, sizeof(buf));
	kvfs_file_release(ns, h);
	kvfs_ns_forget(ns, e.ino, 1);
	n = kvfs_xattr_get(ns, ino, "user.kvfs.last_access", v, sizeof(v) - 1);
	assert_true(n > 10);
	v[n] = '\0';
	assert_true(fabs(strtod(v, NULL) - (double)time(NULL)) < 60);
	assert_non_null(strchr(v, '.'));
	assert_int_equal(kvfs_xattr_set(ns, ino, "user.kvfs.last_access", "1", 1, 0), -EPERM);
	n = kvfs_xattr_list(ns, ino, list, sizeof(list));
	assert_non_null(memmem(list, (size_t)n, "user.kvfs.last_access", 21));
}

static void test_opstat_buckets(void **state)
{
	struct kvfs_opstats *s = calloc(1, sizeof(*s));
	struct kvfs_opstat_snap o;

	(void)state;
	kvfs_opstats_init(s);
	kvfs_opstat_record(s, KVFS_OP_READ, 0);
	kvfs_opstat_record(s, KVFS_OP_READ, 10000);        /* on the bound: le 10 us */
	kvfs_opstat_record(s, KVFS_OP_READ, 10001);        /* le 30 us */
	kvfs_opstat_record(s, KVFS_OP_READ, 5000000000ull); /* past 3 s: +Inf */
	kvfs_opstat_read(s, KVFS_OP_READ, &o);
	assert_int_equal(o.count, 4);
	assert_int_equal(o.bucket[0], 2);
	assert_int_equal(o.bucket[1], 1);
	assert_int_equal(o.bucket[KVFS_OPSTAT_NBUCKET - 1], 1);
	assert_int_equal(o.sum_ns, 5000020001ull);
	assert_int_equal(o.max_ns, 5000000000ull);
	kvfs_opstat_read(s, KVFS_OP_WRITE, &o);
	assert_int_equal(o.count, 0);
	for (int i = 0; i < KVFS_OP_COUNT; i++)
		assert_non_null(kvfs_op_names[i]);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ctl_dir_hidden_but_reachable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctl_is_read_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats_text_and_snapshot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats_json_is_valid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics_parse_and_grow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_evict, setup, teardown),
		cmocka_unit_test_setup_teardown(test_evict_unpublished_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_last_access_attr, setup, teardown),
		cmocka_unit_test(test_opstat_buckets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
