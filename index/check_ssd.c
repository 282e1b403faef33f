/*
 * check_ssd.c - the stored-data half of the offline check (kvfsctl fsck):
 * verifies the file rows that carry a chunk map (map.h) against the SSD
 * tier's slab files.
 *
 * Owns, for one call: the SSD directory's fd, flock()ed shared so that no
 * daemon starts on the store during the check (and one running is found),
 * one read-only slab fd at a time, a one-chunk buffer, and the list of runs.  It
 * never uses kvfs_ssd_open(), which takes the directory for writing and
 * makes missing slabs.  Single-threaded; check.c calls it after the parent
 * walk has decided which rows the daemon would load: only those matter.
 *
 *   1. the directory (opts->ssd_dir, else meta "ssd_dir") and every slab
 *      header, checked with ssd.c's own test (slab.h): a slab missing,
 *      damaged, or of another store than meta "ssd_id" is a store problem,
 *      which no repair of the index fixes;
 *   2. each loadable file row with a map, in id order: the map decodes,
 *      each run lies inside one slab's data, each chunk's CRC-32C matches,
 *      then the head's and the whole file's checksum;
 *   3. the runs sorted by SSD offset: a run sharing bytes with a run of a
 *      file loaded before it (lower id: the daemon's load order) condemns
 *      the later file, which the daemon's load would drop;
 *   4. one report per file: the worst thing found, and its first chunk.
 * SSD space no row points at is free space (store.c, rule 5): nothing to
 * report.  Memory: 24 bytes per run, 24 bytes per slab.
 */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_int.h"
#include "crc32c.h"
#include "map.h"
#include "ssd.h"

#define PHASE         "verifying stored data"

enum { SLAB_OK, SLAB_MISSING, SLAB_DAMAGED, SLAB_FOREIGN };
static const char *const slab_is[] = {
	[SLAB_OK] = "sound", [SLAB_MISSING] = "missing",
	[SLAB_DAMAGED] = "damaged", [SLAB_FOREIGN] = "another store's",
};

/* Why a file's data is bad (crow.why under D_BAD_DATA). */
enum { W_CRC, W_READ, W_SHORT, W_HEAD, W_FILE };

struct slab {
	uint8_t state;
	uint64_t id, size;      /* from a header that checks */
};

struct run {
	uint64_t soff;
	uint32_t len, row, chunk;
};

/* Runs of rows lo <= hi (row indices, so ids) that share SSD bytes. */
struct edge {
	uint32_t lo, hi, chunk; /* chunk: hi's */
	uint64_t soff;
};

struct store {
	const char *dir;
	int dirfd;
	uint64_t want_id;       /* meta "ssd_id"; 0: none recorded */
	uint64_t stride;        /* KVFS_SSD_HDR + slab size; 0: unusable */
	uint32_t nslabs;        /* the highest slab number seen + 1 */
	struct slab *slab;
	uint32_t cur;           /* the slab open as cur_fd (runs come in order:
				   one fd at a time, whatever the slab count) */
	int cur_fd;
	char *buf;              /* one chunk */
	struct run *runs;
	size_t nruns, rcap;
	struct edge *edges;
	size_t nedges, ecap;
	uint64_t done, total;   /* progress, in file bytes */
};

/* ---- step 1: the directory and the slab headers ---- */

/* meta's value of key: 0, -ENOENT (none, or no meta table), -errno. */
static int meta_get(struct checker *c, const char *key, char *buf, size_t n)
{
	sqlite3_stmt *st;
	const char *v;
	int rc, r = -ENOENT;

	if (sqlite3_prepare_v2(c->db, "SELECT value FROM meta WHERE key = ?1", -1,
			       &st, NULL) != SQLITE_OK)
		return -ENOENT;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && (v = (const char *)sqlite3_column_text(st, 0)) != NULL)
		r = strlen(v) < n ? (strcpy(buf, v), 0) : -ERANGE;
	else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		r = kvfs_sql_errno(c->db, rc);
	sqlite3_finalize(st);
	return r;
}

static void store_problem(struct checker *c, struct store *s, uint32_t i,
			  const char *what)
{
	char path[4200];

	kvfs_slab_path(path, sizeof(path), s->dir, i);
	kvfs_check_report(c, KVFS_CHECK_STORE, 1, 0, 0, path,
			  "%s: the daemon refuses the store; restore the slab, or "
			  "move %s aside to start empty", what, s->dir);
}

/* Reads slab i's header (its state, id and size). */
static void slab_read(struct checker *c, struct store *s, uint32_t i)
{
	struct slab *sl = &s->slab[i];
	struct kvfs_slab_hdr h;
	char name[KVFS_SLAB_NAME_MAX], last[KVFS_SLAB_NAME_MAX], what[128];
	struct stat st;
	int fd;

	kvfs_slab_name(name, sizeof(name), i, "");
	fd = openat(s->dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		sl->state = e == ENOENT ? SLAB_MISSING : SLAB_DAMAGED;
		kvfs_slab_name(last, sizeof(last), s->nslabs - 1, "");
		if (e == ENOENT)
			snprintf(what, sizeof(what), "missing (slabs up to %s exist)", last);
		else
			snprintf(what, sizeof(what), "cannot be opened: %s", strerror(e));
		store_problem(c, s, i, what);
		return;
	}
	if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    kvfs_slab_hdr_check(&h, i) < 0) {
		sl->state = SLAB_DAMAGED;
		store_problem(c, s, i, "its header is damaged");
	} else if (fstat(fd, &st) != 0 ||
		   (uint64_t)st.st_size < KVFS_SSD_HDR + le64toh(h.slab_size)) {
		sl->state = SLAB_DAMAGED;
		store_problem(c, s, i, "shorter than its header says");
	} else {
		sl->state = SLAB_OK;
		sl->id = le64toh(h.store_id);
		sl->size = le64toh(h.slab_size);
	}
	close(fd);
}

/* A read-only fd of sound slab i, or -1 (then the slab is marked damaged,
 * and said so). */
static int slab_fd(struct checker *c, struct store *s, uint32_t i)
{
	char name[KVFS_SLAB_NAME_MAX], what[128];

	if (s->cur_fd >= 0 && s->cur == i)
		return s->cur_fd;
	if (s->cur_fd >= 0)
		close(s->cur_fd);
	kvfs_slab_name(name, sizeof(name), i, "");
	s->cur = i;
	s->cur_fd = openat(s->dirfd, name, O_RDONLY | O_CLOEXEC);
	if (s->cur_fd < 0) {
		snprintf(what, sizeof(what), "cannot be opened: %s", strerror(errno));
		s->slab[i].state = SLAB_DAMAGED;
		store_problem(c, s, i, what);
	}
	return s->cur_fd;
}

/* The store's id and slab size: the index's id if recorded, else slab 0's
 * (the first sound slab's).  Slabs of another id or size are not used. */
static void slabs_agree(struct checker *c, struct store *s)
{
	uint64_t id = s->want_id, size = 0, other = 0;
	uint32_t i, nok = 0, nmatch = 0;

	for (i = 0; i < s->nslabs; i++) {
		if (s->slab[i].state != SLAB_OK)
			continue;
		nok++;
		if (!id)
			id = s->slab[i].id;
		if (s->slab[i].id == id) {
			nmatch++;
			size = size ? size : s->slab[i].size;
		} else {
			other = s->slab[i].id;
		}
	}
	if (nok && !nmatch) {
		kvfs_check_report(c, KVFS_CHECK_STORE, 1, 0, 0, s->dir,
				  "holds SSD store %016" PRIx64 ", but the index belongs to "
				  "store %016" PRIx64 ": pass --ssd with the index's SSD "
				  "directory", other, id);
		for (i = 0; i < s->nslabs; i++)
			s->slab[i].state = s->slab[i].state == SLAB_OK ? SLAB_FOREIGN :
					   s->slab[i].state;
		return;
	}
	for (i = 0; i < s->nslabs; i++) {
		struct slab *sl = &s->slab[i];
		char what[128];

		if (sl->state != SLAB_OK || (sl->id == id && sl->size == size))
			continue;
		sl->state = sl->id == id ? SLAB_DAMAGED : SLAB_FOREIGN;
		snprintf(what, sizeof(what), sl->id == id ?
			 "its slab size differs from the other slabs'" :
			 "belongs to SSD store %016" PRIx64 ", not %016" PRIx64,
			 sl->id, id);
		store_problem(c, s, i, what);
	}
	s->stride = size ? KVFS_SSD_HDR + size : 0;
}

/*
 * Opens the directory and reads every slab header.  Returns 0 (s->stride
 * 0 if no data can be read; reported), -EBUSY (a daemon holds it), or
 * -errno.  nstored: stored files (for the messages).
 */
static int store_open(struct checker *c, struct store *s, int recorded,
		      uint64_t nstored)
{
	const char *hint = recorded ? " (the SSD directory the index records; if "
				      "it moved, pass --ssd DIR)" : "";
	struct dirent *d;
	uint64_t max = 0;
	DIR *dp;
	int fd;
	long k;

	s->dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0) {
		kvfs_check_report(c, KVFS_CHECK_STORE, 1, 0, 0, s->dir,
				  "%s%s: %" PRIu64 " stored files cannot be verified",
				  strerror(errno), hint, nstored);
		return 0;
	}
	if (flock(s->dirfd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
		c->res->ssd_busy = 1;
		return -EBUSY;
	}
	fd = dup(s->dirfd);
	dp = fd < 0 ? NULL : fdopendir(fd);
	if (!dp) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		return -e;
	}
	while ((d = readdir(dp)) != NULL)
		if ((k = kvfs_slab_number(d->d_name)) >= 0 && (uint64_t)k + 1 > max)
			max = (uint64_t)k + 1;
	closedir(dp);
	c->res->slabs = max;
	if (max == 0) {
		if (nstored || s->want_id)
			kvfs_check_report(c, KVFS_CHECK_STORE, 1, 0, 0, s->dir,
					  "holds no slab files (" KVFS_SLAB_PREFIX "NNNN)%s: %"
					  PRIu64 " stored files cannot be verified", hint,
					  nstored);
		return 0;
	}
	s->nslabs = (uint32_t)max;
	s->slab = calloc(max, sizeof(*s->slab));
	if (!s->slab)
		return -ENOMEM;
	for (uint32_t i = 0; i < s->nslabs; i++)
		slab_read(c, s, i);
	slabs_agree(c, s);
	return 0;
}

/* ---- step 2: each file's chunks ---- */

/* Records a finding of row r, keeping the worst (the highest D_*). */
static void mark(struct crow *r, int data, int why, uint32_t chunk,
		 uint64_t soff, int err)
{
	if (data < r->data)
		return;
	if (data == r->data) {
		r->nbad++;
		return;
	}
	r->data = (uint8_t)data;
	r->why = (uint8_t)why;
	r->chunk = chunk;
	r->soff = soff;
	r->err = err;
	r->nbad = 1;
}

static int add_run(struct store *s, const struct kvfs_chunk *ch, uint32_t row,
		   uint32_t chunk)
{
	if (s->nruns == s->rcap) {
		size_t cap = s->rcap ? 2 * s->rcap : 1024;
		struct run *v = realloc(s->runs, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->runs = v;
		s->rcap = cap;
	}
	s->runs[s->nruns++] = (struct run){ ch->soff, ch->len, row, chunk };
	return 0;
}

/* Reads and verifies chunk k of m (row i).  Returns 1 if it verified, 0 if
 * not (marked), -ENOMEM. */
static int verify_chunk(struct checker *c, struct store *s, uint32_t i,
			const struct kvfs_map *m, uint32_t k)
{
	const struct kvfs_chunk *ch = &m->c[k];
	uint64_t slab = ch->soff / s->stride, off = ch->soff % s->stride;
	struct crow *r = &c->r[i];
	ssize_t got;
	int fd;

	if (slab >= s->nslabs || off < KVFS_SSD_HDR || ch->len > s->stride - off) {
		mark(r, D_BAD_RUN, 0, k, ch->soff, 0);
		return 0;
	}
	if (add_run(s, ch, i, k) != 0)
		return -ENOMEM;
	if (s->slab[slab].state != SLAB_OK || (fd = slab_fd(c, s, (uint32_t)slab)) < 0) {
		mark(r, D_UNVERIFIED, 0, k, ch->soff, 0);
		return 0;
	}
	got = pread(fd, s->buf, ch->len, (off_t)off);
	if (got != (ssize_t)ch->len) {
		mark(r, D_BAD_DATA, got < 0 ? W_READ : W_SHORT, k, ch->soff,
		     got < 0 ? -errno : 0);
		return 0;
	}
	/* A check reads everything once: keep it out of the page cache. */
	posix_fadvise(fd, (off_t)off, ch->len, POSIX_FADV_DONTNEED);
	if (kvfs_crc32c(0, s->buf, ch->len) != ch->crc) {
		mark(r, D_BAD_DATA, W_CRC, k, ch->soff, 0);
		return 0;
	}
	if (k == 0 && kvfs_crc32c(0, s->buf, ch->len < KVFS_HEAD ? ch->len : KVFS_HEAD) !=
		      m->head_crc)
		mark(r, D_BAD_DATA, W_HEAD, k, ch->soff, 0);
	return 1;
}

/* Verifies row i's data against its map m. */
static int verify_file(struct checker *c, struct store *s, uint32_t i,
		       const struct kvfs_map *m)
{
	struct crow *r = &c->r[i];
	uint32_t crc = 0;
	int whole = 1, v;

	r->data = D_OK;
	for (uint32_t k = 0; k < m->n; k++) {
		uint64_t start = (uint64_t)k * KVFS_CHUNK;
		uint64_t bytes = m->size - start < KVFS_CHUNK ? m->size - start : KVFS_CHUNK;

		if (m->c[k].len == 0) {
			crc = kvfs_crc32c_zeros(crc, bytes);
			continue;
		}
		if (!s->stride) {  /* nothing readable: reported once, above */
			mark(r, D_UNVERIFIED, 0, k, m->c[k].soff, 0);
			whole = 0;
			continue;
		}
		v = verify_chunk(c, s, i, m, k);
		if (v < 0)
			return v;
		if (v == 0) {
			whole = 0;
			continue;
		}
		crc = kvfs_crc32c(crc, s->buf, bytes);
		s->done += bytes;
		c->res->verified_bytes += bytes;
		kvfs_check_progress(c, PHASE, s->done, s->total);
	}
	if (whole && crc != m->file_crc)
		mark(r, D_BAD_DATA, W_FILE, 0, 0, 0);
	return 0;
}

static int verify_rows(struct checker *c, struct store *s)
{
	sqlite3_stmt *st;
	int rc, err = 0;

	rc = sqlite3_prepare_v2(c->db, "SELECT id, map FROM inodes WHERE map IS NOT NULL"
				" ORDER BY id", -1, &st, NULL);
	while (!err && (rc == SQLITE_OK || rc == SQLITE_ROW) &&
	       (rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint32_t i = kvfs_check_row(c, (uint64_t)sqlite3_column_int64(st, 0));
		struct kvfs_map m;

		if (i == KVFS_CHECK_NONE || !kvfs_check_loadable_file(c, i))
			continue;
		err = kvfs_map_decode(sqlite3_column_blob(st, 1),
				      (size_t)sqlite3_column_bytes(st, 1), &m);
		if (err == -EUCLEAN) {
			c->r[i].data = D_BAD_MAP;
			err = 0;
			continue;
		}
		if (err)
			break;
		err = verify_file(c, s, i, &m);
		kvfs_map_release(&m);
	}
	sqlite3_finalize(st);
	return err ? err : kvfs_sql_errno(c->db, rc);
}

/* ---- step 3: overlaps ---- */

static int by_soff(const void *a, const void *b)
{
	const struct run *x = a, *y = b;

	if (x->soff != y->soff)
		return x->soff < y->soff ? -1 : 1;
	return x->row < y->row ? -1 : x->row > y->row;
}

static int by_hi(const void *a, const void *b)
{
	const struct edge *x = a, *y = b;

	return x->hi < y->hi ? -1 : x->hi > y->hi;
}

static int add_edge(struct store *s, const struct run *a, const struct run *b)
{
	const struct run *hi = a->row > b->row ? a : b, *lo = hi == a ? b : a;

	if (s->nedges == s->ecap) {
		size_t cap = s->ecap ? 2 * s->ecap : 64;
		struct edge *v = realloc(s->edges, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->edges = v;
		s->ecap = cap;
	}
	s->edges[s->nedges++] = (struct edge){ lo->row, hi->row, hi->chunk,
					       a->soff > b->soff ? a->soff : b->soff };
	return 0;
}

/* Every pair of runs that share bytes.  The runs still open at a run's
 * start are few (one in a sound store), so the sweep is near linear. */
static int find_overlaps(struct store *s)
{
	size_t *open = NULL, nopen = 0, cap = 0;
	int err = 0;

	if (s->nruns)  /* qsort's base may not be NULL */
		qsort(s->runs, s->nruns, sizeof(*s->runs), by_soff);
	for (size_t j = 0; !err && j < s->nruns; j++) {
		const struct run *rj = &s->runs[j];
		size_t w = 0;

		for (size_t a = 0; a < nopen; a++)
			if (s->runs[open[a]].soff + s->runs[open[a]].len > rj->soff)
				open[w++] = open[a];
		nopen = w;
		for (size_t a = 0; !err && a < nopen; a++)
			err = add_edge(s, &s->runs[open[a]], rj);
		if (!err && nopen == cap) {
			size_t *v = realloc(open, (cap = cap ? 2 * cap : 16) * sizeof(*v));

			if (!v)
				err = -ENOMEM;
			else
				open = v;
		}
		if (!err)
			open[nopen++] = j;
	}
	free(open);
	if (s->nedges)
		qsort(s->edges, s->nedges, sizeof(*s->edges), by_hi);
	return err;
}

static int claims(const struct crow *r)
{
	return r->data == D_OK || r->data == D_UNVERIFIED;
}

/* In id order, as the daemon loads: a file whose run overlaps one of a
 * file kept before it (or another run of its own) is dropped. */
static void resolve_overlaps(struct checker *c, struct store *s)
{
	size_t e = 0;

	for (uint32_t i = 0; i < c->n && e < s->nedges; i++) {
		struct crow *r = &c->r[i];

		for (; e < s->nedges && s->edges[e].hi == i; e++) {
			const struct edge *x = &s->edges[e];

			if (!claims(r) || (x->lo != i && !claims(&c->r[x->lo])))
				continue;
			r->data = D_OVERLAP;
			r->cause = x->lo;
			r->chunk = x->chunk;
			r->soff = x->soff;
		}
	}
}

/* ---- step 4: reports ---- */

static void report_bad_data(struct checker *c, struct store *s, uint32_t i,
			    const char *fix)
{
	struct crow *r = &c->r[i];
	const char *path = kvfs_check_path(c, i);
	uint64_t from = (uint64_t)r->chunk * KVFS_CHUNK;
	uint64_t to = r->size - from < KVFS_CHUNK ? r->size : from + KVFS_CHUNK;
	char more[48] = "", slab[KVFS_SLAB_NAME_MAX];

	if (s->stride)
		kvfs_slab_name(slab, sizeof(slab), (uint32_t)(r->soff / s->stride), "");
	if (r->nbad > 1)
		snprintf(more, sizeof(more), " (%u chunks in all)", r->nbad);
	switch (r->why) {
	case W_CRC:
		kvfs_check_report(c, KVFS_CHECK_BAD_DATA, 1, 1, r->id, path,
				  "chunk %u (file bytes %" PRIu64 "-%" PRIu64 ") does not "
				  "match its checksum%s: reads fail with EIO; %s", r->chunk,
				  from, to - 1, more, fix);
		break;
	case W_READ:
	case W_SHORT:
		kvfs_check_report(c, KVFS_CHECK_BAD_DATA, 1, 1, r->id, path,
				  "reading chunk %u from %s: %s%s; %s",
				  r->chunk, slab, r->why == W_READ ?
				  strerror(-r->err) : "past its end", more, fix);
		break;
	case W_HEAD:
		kvfs_check_report(c, KVFS_CHECK_BAD_DATA, 1, 1, r->id, path,
				  "its first bytes do not match the map's head checksum: "
				  "reads fail with EIO; %s", fix);
		break;
	default:
		kvfs_check_report(c, KVFS_CHECK_BAD_DATA, 1, 1, r->id, path,
				  "every chunk verifies, but not the file's checksum "
				  "(user.kvfs.crc32c); %s", fix);
		break;
	}
}

static void report_file(struct checker *c, struct store *s, uint32_t i)
{
	struct crow *r = &c->r[i];
	const char *fix = c->o->repair ? "its row is deleted" : "--repair deletes its row";
	char other[4096], slab[KVFS_SLAB_NAME_MAX];

	switch (r->data) {
	case D_BAD_MAP:
		kvfs_check_report(c, KVFS_CHECK_BAD_MAP, 1, 1, r->id, kvfs_check_path(c, i),
				  "its chunk map is damaged: the daemon drops the file at "
				  "start; %s", fix);
		break;
	case D_BAD_RUN:
		kvfs_check_report(c, KVFS_CHECK_BAD_RUN, 1, 1, r->id, kvfs_check_path(c, i),
				  "chunk %u's run at SSD offset %" PRIu64 " lies outside the "
				  "store (%u slabs of %" PRIu64 " bytes): the daemon drops the "
				  "file at start; %s", r->chunk, r->soff, s->nslabs,
				  s->stride - KVFS_SSD_HDR, fix);
		break;
	case D_BAD_DATA:
		report_bad_data(c, s, i, fix);
		break;
	case D_OVERLAP:
		snprintf(other, sizeof(other), "%s", kvfs_check_path(c, r->cause));
		if (r->cause == i)
			kvfs_check_report(c, KVFS_CHECK_OVERLAP, 1, 1, r->id,
					  kvfs_check_path(c, i), "two of its chunks share SSD "
					  "bytes at offset %" PRIu64 ": the daemon drops the file "
					  "at start; %s", r->soff, fix);
		else
			kvfs_check_report(c, KVFS_CHECK_OVERLAP, 1, 1, r->id,
					  kvfs_check_path(c, i), "chunk %u shares SSD bytes at "
					  "offset %" PRIu64 " with %s (row %" PRIu64 "), which loads "
					  "first: the daemon drops this file at start; %s", r->chunk,
					  r->soff, other, c->r[r->cause].id, fix);
		break;
	case D_UNVERIFIED:
		if (!s->stride) /* the store's problem said it, once */
			break;
		kvfs_slab_name(slab, sizeof(slab), (uint32_t)(r->soff / s->stride), "");
		kvfs_check_report(c, KVFS_CHECK_UNVERIFIED, 1, 0, r->id,
				  kvfs_check_path(c, i), "chunk %u lies in %s, which is "
				  "%s: not verified", r->chunk, slab,
				  slab_is[s->slab[r->soff / s->stride].state]);
		break;
	default:
		break;
	}
}

/* ---- the entry point ---- */

static void store_release(struct store *s)
{
	if (s->cur_fd >= 0)
		close(s->cur_fd);
	if (s->dirfd >= 0)
		close(s->dirfd);  /* and its flock */
	free(s->slab);
	free(s->buf);
	free(s->runs);
	free(s->edges);
}

int kvfs_check_data(struct checker *c)
{
	struct store s = { .dirfd = -1, .cur_fd = -1 };
	char dir[sizeof(c->res->ssd_dir)] = "", id[32];
	uint64_t nstored = 0;
	int r = 0, recorded = !c->o->ssd_dir;

	for (uint32_t i = 0; i < c->n; i++) {
		if (kvfs_check_loadable_file(c, i) && c->r[i].has_map) {
			nstored++;
			s.total += c->r[i].size;
		}
	}
	c->res->stored = nstored;
	if (c->o->ssd_dir)
		snprintf(dir, sizeof(dir), "%s", c->o->ssd_dir);
	else if ((r = meta_get(c, "ssd_dir", dir, sizeof(dir))) != 0 && r != -ENOENT)
		return r;
	r = 0;
	if (meta_get(c, "ssd_id", id, sizeof(id)) == 0)
		s.want_id = strtoull(id, NULL, 16);
	if (!dir[0] && nstored) {
		kvfs_check_report(c, KVFS_CHECK_STORE, 1, 0, 0, "index.db",
				  "%" PRIu64 " stored files, but the index records no SSD "
				  "directory: pass --ssd DIR to verify them", nstored);
	} else if (dir[0]) {
		snprintf(c->res->ssd_dir, sizeof(c->res->ssd_dir), "%s", dir);
		s.dir = c->res->ssd_dir;
		if (nstored && !s.want_id)
			kvfs_check_report(c, KVFS_CHECK_STORE, 1, 0, 0, "index.db",
					  "the index records no SSD store id: the daemon "
					  "will not pair it with %s", dir);
		r = store_open(c, &s, recorded, nstored);
	}
	/* Without a readable store (stride 0) the maps are still decoded. */
	if (r == 0 && nstored) {
		kvfs_check_progress(c, PHASE, 0, s.total);
		if (s.stride && posix_memalign((void **)&s.buf, KVFS_SSD_UNIT, KVFS_CHUNK))
			r = -ENOMEM;
		if (r == 0)
			r = verify_rows(c, &s);
		if (r == 0)
			r = find_overlaps(&s);
		if (r == 0)
			resolve_overlaps(c, &s);
		for (uint32_t i = 0; r == 0 && i < c->n; i++)
			if (kvfs_check_loadable_file(c, i) && c->r[i].has_map)
				report_file(c, &s, i);
		kvfs_check_progress(c, PHASE, s.total, s.total);
	}
	store_release(&s);
	return r;
}
