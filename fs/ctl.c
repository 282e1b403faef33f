/*
 * ctl.c - the control directory /.kvfs: stats, stats.json, metrics, config.
 *
 * Owns the content of the control files and the creation of their inodes
 * (through ns.c, which keeps the directory out of the root's listing).  A
 * file's content is generated when it is opened (kvfs_ctl_fill, the
 * namespace's ctl_fill hook) from one snapshot of the daemon's counters, so
 * every read of one open sees the same numbers and `cat` needs no size.
 *
 * Called on FUSE worker threads with no lock held; takes none of its own.
 * The counters it reads are atomics (namespace, requests) or copied under
 * their owner's lock (index queue, allocator).  FUSE-free.
 *
 * Tiers: the memory tier is always present; the SSD tier is reported as
 * absent with zeros until it exists, so the formats (and dashboards built
 * on them) do not change when it lands.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "index.h"
#include "log.h"
#include "ssd.h"

static const struct {
	const char *name;
	int kind;
} ctl_files[] = {
	{ "stats", KVFS_CTL_STATS },
	{ "stats.json", KVFS_CTL_STATS_JSON },
	{ "metrics", KVFS_CTL_METRICS },
	{ "config", KVFS_CTL_CONFIG },
};

static int64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int kvfs_ctl_init(struct kvfs *kv)
{
	int r = kvfs_ns_ctl_mkdir(&kv->ns);

	for (size_t i = 0; r == 0 && i < sizeof(ctl_files) / sizeof(ctl_files[0]); i++)
		r = kvfs_ns_ctl_mkfile(&kv->ns, ctl_files[i].name, ctl_files[i].kind);
	if (r)
		return r;
	kv->start_ns = realtime_ns();
	kv->ns.hooks.ctl_fill = kvfs_ctl_fill;
	kv->ns.hooks.arg = kv;
	return 0;
}

static void counter(struct kvfs_ctl_snap *s, const char *name,
		    const char *metric, const char *type, const char *help,
		    uint64_t value)
{
	KVFS_ASSERT(s->nstore < KVFS_CTL_NSTORE);
	s->store[s->nstore++] = (struct kvfs_ctl_counter){ name, metric, type, help,
							   value };
}

#define C(x) atomic_load(&st->stats.x)

/* The SSD tier and the store's movements between the tiers. */
static void snap_store(struct kvfs *kv, struct kvfs_ctl_snap *s)
{
	struct kvfs_store *st = &kv->store;
	struct kvfs_ctl_tier *ssd = &s->tier[1];
	struct kvfs_ssd_stats io = { 0 };

	if (!kv->store_ready)
		return;
	s->write_policy = st->write_policy == KVFS_WRITE_BACK ? "back" : "through";
	s->evict_policy = kvfs_policy_name(st->evict_policy);
	if (st->ssd) {
		ssd->present = 1;
		ssd->capacity_bytes = kvfs_ssd_capacity(st->ssd);
		ssd->used_bytes = ssd->capacity_bytes - kvfs_ssd_free(st->ssd);
		ssd->files = C(stored_files);
		kvfs_ssd_stats(st->ssd, &io);
		s->ssd_direct = io.direct;
	}
	counter(s, "memory_hits", "kvfs_memory_read_hits_total", "counter",
		"Reads served from the memory tier.", C(mem_hits));
	counter(s, "ssd_reads", "kvfs_ssd_reads_total", "counter",
		"Reads that had to go to the SSD tier (misses of the memory tier).",
		C(ssd_reads));
	counter(s, "ssd_read_bytes", "kvfs_ssd_read_bytes_total", "counter",
		"Bytes read from the SSD to serve reads.", C(ssd_read_bytes));
	counter(s, "head_loads", "kvfs_ssd_head_loads_total", "counter",
		"File heads loaded back into memory from the SSD.", C(head_loads));
	counter(s, "ssd_io_reads", "kvfs_ssd_io_reads_total", "counter",
		"Transfers read from the slabs (all causes).", io.reads);
	counter(s, "ssd_io_read_bytes", "kvfs_ssd_io_read_bytes_total", "counter",
		"Bytes read from the slabs (all causes).", io.read_bytes);
	counter(s, "ssd_io_writes", "kvfs_ssd_io_writes_total", "counter",
		"Transfers written to the slabs.", io.writes);
	counter(s, "ssd_io_write_bytes", "kvfs_ssd_io_write_bytes_total", "counter",
		"Bytes written to the slabs.", io.write_bytes);
	counter(s, "ssd_io_errors", "kvfs_ssd_io_errors_total", "counter",
		"Slab transfers or syncs that failed.", io.errors);
	counter(s, "flushes", "kvfs_flushes_total", "counter",
		"Files written to the SSD tier and committed.", C(flushes));
	counter(s, "flushed_bytes", "kvfs_flushed_bytes_total", "counter",
		"Bytes of files written to the SSD tier.", C(flushed_bytes));
	counter(s, "flush_unchanged_bytes", "kvfs_flush_unchanged_bytes_total",
		"counter", "Bytes of chunks marked changed that a flush found the "
		"same by their checksum and did not write again.",
		C(flush_unchanged_bytes));
	counter(s, "flush_overlapped", "kvfs_flush_overlapped_total", "counter",
		"Files whose write to the SSD began while the one before "
		"was still in flight.", C(flush_overlapped));
	counter(s, "flush_errors", "kvfs_flush_errors_total", "counter",
		"Flushes that failed (the files stay in memory).", C(flush_errors));
	counter(s, "flush_queue", "kvfs_flush_queue_files", "gauge",
		"Files waiting for the flusher.", C(queue_depth));
	counter(s, "draining_slabs", "kvfs_ssd_draining_slabs", "gauge",
		"Slabs past ssd_size that still hold files (readable, no new data).",
		st->ssd ? kvfs_ssd_draining(st->ssd) : 0);
	counter(s, "promotions", "kvfs_store_promotions_total", "counter",
		"Files read back from the SSD into memory.", C(promotions));
	counter(s, "promoted_bytes", "kvfs_promoted_bytes_total", "counter",
		"Bytes of the files promoted.", C(promoted_bytes));
	counter(s, "demotions", "kvfs_demotions_total", "counter",
		"Files whose memory was dropped (the SSD holds them).", C(demotions));
	counter(s, "demoted_bytes", "kvfs_demoted_bytes_total", "counter",
		"Memory freed by demotions.", C(demoted_bytes));
	counter(s, "ssd_evictions", "kvfs_ssd_evictions_total", "counter",
		"Files evicted to make room on the SSD tier.", C(ssd_evictions));
	counter(s, "ssd_evicted_bytes", "kvfs_ssd_evicted_bytes_total", "counter",
		"SSD bytes of the files evicted for room.", C(ssd_evicted_bytes));
	counter(s, "memory_evictions", "kvfs_memory_evictions_total", "counter",
		"Files evicted to make room in memory (no SSD tier).", C(mem_evictions));
	counter(s, "memory_evicted_bytes", "kvfs_memory_evicted_bytes_total", "counter",
		"Memory bytes of the files evicted for room.", C(mem_evicted_bytes));
	counter(s, "checksum_errors", "kvfs_checksum_errors_total", "counter",
		"Chunks read from the SSD that did not match their checksum.",
		C(crc_errors));
	counter(s, "stored_files", "kvfs_ssd_files", "gauge",
		"Files with a copy on the SSD tier.", C(stored_files));
	counter(s, "ssd_only_files", "kvfs_ssd_only_files", "gauge",
		"Files whose data only the SSD holds (memory has the head).",
		C(ssd_only_files));
}

#undef C

void kvfs_ctl_snapshot(struct kvfs *kv, struct kvfs_ctl_snap *s)
{
	struct kvfs_ns_stats *ns = &kv->ns.stats;
	struct kvfs_ctl_tier *mem = &s->tier[0];
	uint64_t free_bytes;

	memset(s, 0, sizeof(*s));
	s->now_ns = realtime_ns();
	s->start_ns = kv->start_ns;
	s->pid = getpid();
	s->version = KVFS_VERSION;
	s->mountpoint = kv->mountpoint ? kv->mountpoint : "";
	s->state = kv->opts.state ? kv->opts.state : "";

	free_bytes = kvfs_mem_free(&kv->mem);
	mem->name = "memory";
	mem->present = 1;
	mem->capacity_bytes = kv->mem.size;
	mem->used_bytes = mem->capacity_bytes - free_bytes;
	mem->files = atomic_load(&ns->files) - (kv->store_ready ?
		     atomic_load(&kv->store.stats.ssd_only_files) : 0);
	s->tier[1].name = "ssd";
	snap_store(kv, s);
	s->warmed_bytes = atomic_load(&kv->mem.warmed);
	s->warm_bytes = atomic_load(&kv->mem.warm_held);
	s->lent_bytes = atomic_load(&kv->mem.lent);
	s->fed_bytes = atomic_load(&kv->mem.fed);
	s->frag_bytes = kvfs_mem_freed_small(&kv->mem);
	s->mem_where = kvfs_mem_where(&kv->mem);

	s->files = atomic_load(&ns->files);
	s->dirs = atomic_load(&ns->dirs);
	s->published = atomic_load(&ns->published);
	s->closes_deferred = atomic_load(&ns->closes_deferred);
	s->closes_scanned = atomic_load(&ns->closes_scanned);
	s->bytes_read = atomic_load(&ns->bytes_read);
	s->bytes_written = atomic_load(&ns->bytes_written);
	s->file_hits = atomic_load(&ns->hits);
	s->enospc = atomic_load(&ns->enospc);
	s->opens_passthrough = atomic_load(&ns->opens_passthrough);
	s->opens_served = atomic_load(&ns->opens_served);
	s->pt_absorbed = atomic_load(&ns->pt_absorbed);
	s->tmpfiles = atomic_load(&kv->kproto.tmpfiles);
	s->writer_waits = atomic_load(&kv->ns.admit.waits);
	s->writer_wait_ms = atomic_load(&kv->ns.admit.wait_ms);
	s->writers_no_room = atomic_load(&kv->ns.admit.no_room);
	s->passthrough = atomic_load(&kv->ns.passthrough);
	s->crc_pending = atomic_load(&ns->crc_pending);
	s->crc_passes = atomic_load(&ns->crc_passes);
	s->crc_patched_writes = atomic_load(&ns->crc_patched_writes);
	s->lookup_hits = atomic_load(&ns->lookup_hits);
	s->lookup_misses = atomic_load(&ns->lookup_misses);
	s->evictions = atomic_load(&ns->evictions);
	s->evicted_bytes = atomic_load(&ns->evicted_bytes);
	s->evict_refused = atomic_load(&ns->evict_refused);
	s->promotions = kv->store_ready ? atomic_load(&kv->store.stats.promotions) : 0;
	if (kv->index) {
		s->have_index = 1;
		kvfs_index_stats(kv->index, &s->index);
	}
	for (int op = 0; op < KVFS_OP_COUNT; op++)
		kvfs_opstat_read(&kv->opstats, op, &s->op[op]);
}

/* ---- formatting helpers ---- */

/* 1536 -> "1.5K" (powers of 1024, as mem= reads them); below 1024 exact. */
static const char *human_bytes(uint64_t v, char *buf, size_t size)
{
	static const char units[] = "KMGTPE";
	double d = (double)v;
	int u = -1;

	if (v < 1024) {
		snprintf(buf, size, "%" PRIu64, v);
		return buf;
	}
	while (d >= 1024 && u < 5) {
		d /= 1024;
		u++;
	}
	snprintf(buf, size, "%.1f%c", d, units[u]);
	return buf;
}

/* 12345 -> "12.3us". */
static const char *human_ns(uint64_t ns, char *buf, size_t size)
{
	if (ns < 1000)
		snprintf(buf, size, "%" PRIu64 "ns", ns);
	else if (ns < 1000000)
		snprintf(buf, size, "%.1fus", ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, size, "%.1fms", ns / 1e6);
	else
		snprintf(buf, size, "%.2fs", ns / 1e9);
	return buf;
}

static double ratio(uint64_t part, uint64_t whole)
{
	return whole ? (double)part / (double)whole : 0.0;
}

void kvfs_ctl_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* A Prometheus label value: \, " and newline escaped. */
static void prom_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

/* ---- stats: for people ---- */

static void stats_tiers(FILE *f, const struct kvfs_ctl_snap *s)
{
	char c[32], u[32], fr[32], p[32];

	fprintf(f, "%-8s %-7s %11s %11s %11s %10s\n", "tier", "present",
		"capacity", "used", "free", "files");
	for (int i = 0; i < KVFS_CTL_NTIER; i++) {
		const struct kvfs_ctl_tier *t = &s->tier[i];

		if (!t->present) {
			fprintf(f, "%-8s %-7s %11s %11s %11s %10s\n", t->name,
				"no", "-", "-", "-", "-");
			continue;
		}
		fprintf(f, "%-8s %-7s %11s %11s %11s %10" PRIu64 "\n", t->name,
			"yes", human_bytes(t->capacity_bytes, c, sizeof(c)),
			human_bytes(t->used_bytes, u, sizeof(u)),
			human_bytes(t->capacity_bytes - t->used_bytes, fr, sizeof(fr)),
			t->files);
	}
	fprintf(f, "memory tier: %s; warm reserve: %s held, %s lent\n", s->mem_where,
		human_bytes(s->warm_bytes, p, sizeof(p)),
		human_bytes(s->lent_bytes, c, sizeof(c)));
	fprintf(f, "gpu library: %" PRIu64 " INFO ioctls\n", s->op[KVFS_OP_IOCTL].count);
}

static void stats_ops(FILE *f, const struct kvfs_ctl_snap *s)
{
	char avg[32], max[32], tot[32];

	fprintf(f, "%-14s %12s %10s %10s %12s\n", "fuse op", "requests", "avg",
		"max", "total time");
	for (int op = 0; op < KVFS_OP_COUNT; op++) {
		const struct kvfs_opstat_snap *o = &s->op[op];

		if (!o->count)
			continue;
		fprintf(f, "%-14s %12" PRIu64 " %10s %10s %12s\n", kvfs_op_names[op],
			o->count, human_ns(o->sum_ns / o->count, avg, sizeof(avg)),
			human_ns(o->max_ns, max, sizeof(max)),
			human_ns(o->sum_ns, tot, sizeof(tot)));
	}
}

void kvfs_ctl_write_stats(FILE *f, const struct kvfs_ctl_snap *s)
{
	int64_t up = (s->now_ns - s->start_ns) / 1000000000;
	char a[32], b[32];

	if (up < 0)
		up = 0;
	fprintf(f, "kvfs %s, pid %d, up %" PRId64 "h%02" PRId64 "m%02" PRId64 "s\n",
		s->version, (int)s->pid, up / 3600, up / 60 % 60, up % 60);
	fprintf(f, "mount  %s\nstate  %s\n\n", s->mountpoint, s->state);
	stats_tiers(f, s);
	fprintf(f, "\nnamespace  %" PRIu64 " files, %" PRIu64 " directories, %"
		PRIu64 " published since start\n", s->files, s->dirs, s->published);
	fprintf(f, "closes     %" PRIu64 " waited for their release, %" PRIu64
		" settled by reading the creator's descriptors\n",
		s->closes_deferred, s->closes_scanned);
	fprintf(f, "i/o        read %s, written %s, file hits %" PRIu64
		", writes refused for space (ENOSPC) %" PRIu64 "\n",
		human_bytes(s->bytes_read, a, sizeof(a)),
		human_bytes(s->bytes_written, b, sizeof(b)), s->file_hits, s->enospc);
	fprintf(f, "lookups    %" PRIu64 " found, %" PRIu64 " missed: hit rate %.1f%%"
		" (of lookups that reached the daemon)\n", s->lookup_hits,
		s->lookup_misses,
		100 * ratio(s->lookup_hits, s->lookup_hits + s->lookup_misses));
	fprintf(f, "evictions  %" PRIu64 " (%s), refused %" PRIu64
		" (pinned or being written); promotions %" PRIu64 "\n",
		s->evictions, human_bytes(s->evicted_bytes, a, sizeof(a)),
		s->evict_refused, s->promotions);
	if (s->nstore) {
		fprintf(f, "store      write_policy=%s evict_policy=%s%s%s\n",
			s->write_policy, s->evict_policy,
			s->tier[1].present && !s->ssd_direct ? ", SSD without O_DIRECT" : "",
			"");
		for (int i = 0; i < s->nstore; i++)
			fprintf(f, "  %-22s %" PRIu64 "\n", s->store[i].name,
				s->store[i].value);
	}
	if (s->have_index)
		fprintf(f, "index      %" PRIu64 " pending, %" PRIu64 " of %" PRIu64
			" changes committed in %" PRIu64 " transactions, %" PRIu64
			" failed commits\n", s->index.pending, s->index.committed,
			s->index.queued, s->index.transactions, s->index.errors);
	fputc('\n', f);
	stats_ops(f, s);
}

/* ---- stats.json: for programs ---- */

static void json_tiers(FILE *f, const struct kvfs_ctl_snap *s)
{
	fprintf(f, "  \"tiers\": {");
	for (int i = 0; i < KVFS_CTL_NTIER; i++) {
		const struct kvfs_ctl_tier *t = &s->tier[i];

		fprintf(f, "%s\n    \"%s\": {\"present\": %s, \"capacity_bytes\": %"
			PRIu64 ", \"used_bytes\": %" PRIu64 ", \"free_bytes\": %"
			PRIu64 ", \"files\": %" PRIu64 "}", i ? "," : "", t->name,
			t->present ? "true" : "false", t->capacity_bytes,
			t->used_bytes, t->capacity_bytes - t->used_bytes, t->files);
	}
	fprintf(f, "\n  },\n  \"memory_warmed_bytes\": %" PRIu64 ",\n",
		s->warmed_bytes);
	fprintf(f, "  \"memory_warm_bytes\": %" PRIu64 ",\n", s->warm_bytes);
	fprintf(f, "  \"memory_lent_bytes\": %" PRIu64 ",\n", s->lent_bytes);
	fprintf(f, "  \"memory_fed_bytes\": %" PRIu64 ",\n", s->fed_bytes);
	fprintf(f, "  \"memory_freed_small_bytes\": %" PRIu64 ",\n", s->frag_bytes);
	fprintf(f, "  \"memory_tier\": ");
	kvfs_ctl_json_str(f, s->mem_where);
	fprintf(f, ",\n  \"gpu\": {\"ioctls\": %" PRIu64 "},\n", s->op[KVFS_OP_IOCTL].count);
}

static void json_ops(FILE *f, const struct kvfs_ctl_snap *s)
{
	int first = 1;

	fprintf(f, "  \"fuse_ops\": {");
	for (int op = 0; op < KVFS_OP_COUNT; op++) {
		const struct kvfs_opstat_snap *o = &s->op[op];

		if (!o->count)
			continue;
		fprintf(f, "%s\n    \"%s\": {\"requests\": %" PRIu64
			", \"seconds_sum\": %.9f, \"seconds_avg\": %.9f"
			", \"seconds_max\": %.9f}", first ? "" : ",",
			kvfs_op_names[op], o->count, o->sum_ns / 1e9,
			o->sum_ns / 1e9 / (double)o->count, o->max_ns / 1e9);
		first = 0;
	}
	fprintf(f, "\n  }\n");
}

void kvfs_ctl_write_json(FILE *f, const struct kvfs_ctl_snap *s)
{
	fprintf(f, "{\n  \"version\": ");
	kvfs_ctl_json_str(f, s->version);
	fprintf(f, ",\n  \"pid\": %d,\n  \"mountpoint\": ", (int)s->pid);
	kvfs_ctl_json_str(f, s->mountpoint);
	fprintf(f, ",\n  \"state\": ");
	kvfs_ctl_json_str(f, s->state);
	fprintf(f, ",\n  \"start_time\": %.3f,\n  \"uptime_seconds\": %.3f,\n",
		s->start_ns / 1e9, (s->now_ns - s->start_ns) / 1e9);
	json_tiers(f, s);
	fprintf(f, "  \"namespace\": {\"files\": %" PRIu64 ", \"directories\": %"
		PRIu64 ", \"published\": %" PRIu64 ", \"closes_deferred\": %" PRIu64
		", \"closes_scanned\": %" PRIu64 "},\n", s->files, s->dirs,
		s->published, s->closes_deferred, s->closes_scanned);
	fprintf(f, "  \"io\": {\"read_bytes\": %" PRIu64 ", \"written_bytes\": %"
		PRIu64 ", \"file_hits\": %" PRIu64 ", \"enospc\": %" PRIu64
		", \"passthrough\": %s, \"opens_passthrough\": %" PRIu64
		", \"opens_served\": %" PRIu64 ", \"passthrough_changes\": %" PRIu64
		", \"tmpfiles\": %" PRIu64
		", \"writer_waits\": %" PRIu64 ", \"writer_wait_ms\": %" PRIu64
		", \"writers_without_room\": %" PRIu64 "},\n",
		s->bytes_read, s->bytes_written, s->file_hits, s->enospc,
		s->passthrough ? "true" : "false", s->opens_passthrough,
		s->opens_served, s->pt_absorbed, s->tmpfiles, s->writer_waits,
		s->writer_wait_ms, s->writers_no_room);
	fprintf(f, "  \"checksums\": {\"pending\": %" PRIu64 ", \"passes\": %"
		PRIu64 ", \"patched_writes\": %" PRIu64 "},\n", s->crc_pending,
		s->crc_passes, s->crc_patched_writes);
	fprintf(f, "  \"lookups\": {\"found\": %" PRIu64 ", \"missed\": %" PRIu64
		", \"hit_ratio\": %.4f},\n", s->lookup_hits, s->lookup_misses,
		ratio(s->lookup_hits, s->lookup_hits + s->lookup_misses));
	fprintf(f, "  \"evictions\": {\"count\": %" PRIu64 ", \"bytes\": %" PRIu64
		", \"refused\": %" PRIu64 "},\n  \"promotions\": {\"count\": %"
		PRIu64 "},\n", s->evictions, s->evicted_bytes, s->evict_refused,
		s->promotions);
	if (s->nstore) {
		fprintf(f, "  \"store\": {\"write_policy\": \"%s\", \"evict_policy\": \"%s\""
			", \"ssd_direct_io\": %s",
			s->write_policy, s->evict_policy, s->ssd_direct ? "true" : "false");
		for (int i = 0; i < s->nstore; i++)
			fprintf(f, ", \"%s\": %" PRIu64, s->store[i].name, s->store[i].value);
		fprintf(f, "},\n");
	}
	if (s->have_index)
		fprintf(f, "  \"index\": {\"pending\": %" PRIu64 ", \"queued\": %"
			PRIu64 ", \"committed\": %" PRIu64 ", \"transactions\": %"
			PRIu64 ", \"failed_commits\": %" PRIu64 "},\n",
			s->index.pending, s->index.queued, s->index.committed,
			s->index.transactions, s->index.errors);
	json_ops(f, s);
	fprintf(f, "}\n");
}

/* ---- metrics: Prometheus text format ---- */

static void prom_head(FILE *f, const char *name, const char *type,
		      const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A metric with one unlabelled sample. */
static void prom_one(FILE *f, const char *name, const char *type,
		     const char *help, uint64_t v)
{
	prom_head(f, name, type, help);
	fprintf(f, "%s %" PRIu64 "\n", name, v);
}

static void prom_tiers(FILE *f, const struct kvfs_ctl_snap *s)
{
	static const struct {
		const char *name, *help;
		size_t off;
	} g[] = {
		{ "kvfs_tier_present", "Whether the tier is configured (1) or absent (0).", 0 },
		{ "kvfs_tier_capacity_bytes", "Bytes the tier can hold.",
		  offsetof(struct kvfs_ctl_tier, capacity_bytes) },
		{ "kvfs_tier_used_bytes", "Bytes of the tier allocated to files.",
		  offsetof(struct kvfs_ctl_tier, used_bytes) },
		{ "kvfs_tier_files", "Files whose data lives in the tier.",
		  offsetof(struct kvfs_ctl_tier, files) },
	};

	for (size_t i = 0; i < sizeof(g) / sizeof(g[0]); i++) {
		prom_head(f, g[i].name, "gauge", g[i].help);
		for (int t = 0; t < KVFS_CTL_NTIER; t++) {
			const struct kvfs_ctl_tier *tier = &s->tier[t];
			uint64_t v = g[i].off ?
				*(const uint64_t *)((const char *)tier + g[i].off) :
				(uint64_t)tier->present;

			fprintf(f, "%s{tier=\"%s\"} %" PRIu64 "\n", g[i].name,
				tier->name, v);
		}
	}
}

static void prom_ops(FILE *f, const struct kvfs_ctl_snap *s)
{
	const char *h = "kvfs_fuse_request_duration_seconds";

	prom_head(f, h, "histogram",
		  "Time from a FUSE request's arrival to its reply, by operation.");
	for (int op = 0; op < KVFS_OP_COUNT; op++) {
		const struct kvfs_opstat_snap *o = &s->op[op];
		uint64_t cum = 0;

		if (!o->count)
			continue;
		for (int b = 0; b < KVFS_OPSTAT_NBUCKET - 1; b++) {
			cum += o->bucket[b];
			fprintf(f, "%s_bucket{op=\"%s\",le=\"%g\"} %" PRIu64 "\n", h,
				kvfs_op_names[op], kvfs_opstat_bound_ns[b] / 1e9, cum);
		}
		fprintf(f, "%s_bucket{op=\"%s\",le=\"+Inf\"} %" PRIu64 "\n", h,
			kvfs_op_names[op], o->count);
		fprintf(f, "%s_sum{op=\"%s\"} %.9f\n", h, kvfs_op_names[op],
			o->sum_ns / 1e9);
		fprintf(f, "%s_count{op=\"%s\"} %" PRIu64 "\n", h, kvfs_op_names[op],
			o->count);
	}
	prom_head(f, "kvfs_fuse_request_duration_max_seconds", "gauge",
		  "Longest FUSE request since the mount, by operation.");
	for (int op = 0; op < KVFS_OP_COUNT; op++)
		if (s->op[op].count)
			fprintf(f, "kvfs_fuse_request_duration_max_seconds{op=\"%s\"} %.9f\n",
				kvfs_op_names[op], s->op[op].max_ns / 1e9);
}

static void prom_index(FILE *f, const struct kvfs_ctl_snap *s)
{
	if (!s->have_index)
		return;
	prom_one(f, "kvfs_index_pending", "gauge",
		 "Changes and sync barriers queued for the index writer, not yet applied.",
		 s->index.pending);
	prom_one(f, "kvfs_index_changes_queued_total", "counter",
		 "Changes queued for the index since the mount.", s->index.queued);
	prom_one(f, "kvfs_index_changes_committed_total", "counter",
		 "Changes committed to the index since the mount.", s->index.committed);
	prom_one(f, "kvfs_index_transactions_total", "counter",
		 "SQLite transactions committed by the index writer.",
		 s->index.transactions);
	prom_one(f, "kvfs_index_commit_failures_total", "counter",
		 "Index batches whose commit failed (their changes are missing from the index).",
		 s->index.errors);
}

void kvfs_ctl_write_metrics(FILE *f, const struct kvfs_ctl_snap *s)
{
	prom_head(f, "kvfs_info", "gauge",
		  "The kvfs daemon serving this mount; always 1.");
	fprintf(f, "kvfs_info{version=");
	prom_str(f, s->version);
	fprintf(f, ",mountpoint=");
	prom_str(f, s->mountpoint);
	fprintf(f, ",state=");
	prom_str(f, s->state);
	fprintf(f, "} 1\n");
	prom_head(f, "kvfs_start_time_seconds", "gauge",
		  "When the daemon mounted, in seconds since the epoch.");
	fprintf(f, "kvfs_start_time_seconds %.3f\n", s->start_ns / 1e9);
	prom_tiers(f, s);
	prom_one(f, "kvfs_memory_warmed_bytes_total", "counter",
		 "Bytes of memory the warm reserve has touched (prefault=1).", s->warmed_bytes);
	prom_one(f, "kvfs_memory_warm_bytes", "gauge",
		 "Bytes the warm reserve holds now.", s->warm_bytes);
	prom_one(f, "kvfs_memory_lent_bytes_total", "counter",
		 "Bytes the warm reserve has freed for the memory tier.", s->lent_bytes);
	prom_one(f, "kvfs_memory_fed_bytes_total", "counter",
		 "Bytes allocated ahead of growing writers from the warm reserve.",
		 s->fed_bytes);
	prom_one(f, "kvfs_memory_freed_small_bytes", "gauge",
		 "Bytes the memory tier freed in 1 MiB pages, not yet allocated again.",
		 s->frag_bytes);
	prom_one(f, "kvfs_gpu_ioctls_total", "counter",
		 "INFO ioctls answered to the GPU library.", s->op[KVFS_OP_IOCTL].count);
	prom_one(f, "kvfs_files", "gauge", "Regular files in the namespace.", s->files);
	prom_one(f, "kvfs_directories", "gauge", "Directories in the namespace.", s->dirs);
	prom_one(f, "kvfs_published_total", "counter",
		 "Files published (made visible to all) since the mount.", s->published);
	prom_one(f, "kvfs_read_bytes_total", "counter",
		 "Bytes read from files.", s->bytes_read);
	prom_one(f, "kvfs_written_bytes_total", "counter",
		 "Bytes written to files.", s->bytes_written);
	prom_one(f, "kvfs_file_hits_total", "counter",
		 "Opens of published files that read from them.", s->file_hits);
	prom_one(f, "kvfs_write_enospc_total", "counter",
		 "Writes refused because the memory tier was full.", s->enospc);
	prom_one(f, "kvfs_opens_passthrough_total", "counter",
		 "Opens the kernel serves from the file's backing file (FUSE passthrough).",
		 s->opens_passthrough);
	prom_one(f, "kvfs_opens_served_total", "counter",
		 "Opens of regular files whose reads and writes the daemon serves.",
		 s->opens_served);
	prom_one(f, "kvfs_writer_waits_total", "counter",
		 "Writable opens that waited for memory to have room (backpressure).",
		 s->writer_waits);
	prom_head(f, "kvfs_writer_wait_seconds_total", "counter",
		  "Time writable opens waited for room.");
	fprintf(f, "kvfs_writer_wait_seconds_total %.3f\n", s->writer_wait_ms / 1000.0);
	prom_one(f, "kvfs_writers_without_room_total", "counter",
		 "Writable opens that went on without room after waiting (served by the daemon).",
		 s->writers_no_room);
	prom_head(f, "kvfs_lookups_total", "counter",
		  "Name lookups that reached the daemon, by result.");
	fprintf(f, "kvfs_lookups_total{result=\"found\"} %" PRIu64 "\n", s->lookup_hits);
	fprintf(f, "kvfs_lookups_total{result=\"missed\"} %" PRIu64 "\n", s->lookup_misses);
	prom_one(f, "kvfs_evictions_total", "counter",
		 "Files evicted from the cache.", s->evictions);
	prom_one(f, "kvfs_evicted_bytes_total", "counter",
		 "Bytes of the files evicted.", s->evicted_bytes);
	prom_one(f, "kvfs_eviction_refusals_total", "counter",
		 "Evictions refused because the file was pinned or being written.",
		 s->evict_refused);
	prom_one(f, "kvfs_promotions_total", "counter",
		 "Files promoted from the SSD tier to memory.", s->promotions);
	for (int i = 0; i < s->nstore; i++)
		prom_one(f, s->store[i].metric, s->store[i].type, s->store[i].help,
			 s->store[i].value);
	prom_index(f, s);
	prom_ops(f, s);
}

/* ---- config ---- */

static const char *io_name(enum kvfs_io io)
{
	return io == KVFS_IO_DIRECT ? "direct" : io == KVFS_IO_CACHED ? "cached" : "auto";
}

/* passthrough= and wake_here= as given (both enums list AUTO, OFF, ON:
 * options.c asserts it). */
static const char *auto01_name(int v)
{
	return v == KVFS_PT_AUTO ? "auto" : v == KVFS_PT_ON ? "1" : "0";
}

void kvfs_ctl_write_config(FILE *f, const struct kvfs *kv)
{
	const struct kvfs_opts *o = &kv->opts;
	char mem[32], wake[160];

	fprintf(f, "# kvfs %s, pid %d: effective options (defaults applied)\n",
		KVFS_VERSION, (int)getpid());
	fprintf(f, "mountpoint=%s\n", kv->mountpoint ? kv->mountpoint : "");
	fprintf(f, "state=%s\n", o->state ? o->state : "");
	fprintf(f, "mem=%" PRIu64 "\n", o->mem);
	fprintf(f, "# mem is %s\n", human_bytes(o->mem, mem, sizeof(mem)));
	fprintf(f, "io=%s\n", io_name(o->io));
	fprintf(f, "prefault=%d\n", o->prefault);
	fprintf(f, "hugepages=%d\n", o->hugepages);
	fprintf(f, "threads=%u\n", o->threads);
	fprintf(f, "hash_defer=%u\n", o->hash_defer_ms);
	if (o->arena_group_str)
		fprintf(f, "# arena_group=%s was given: obsolete, it does nothing\n",
			o->arena_group_str);
	fprintf(f, "# memory tier: %s\n", kvfs_mem_where(&kv->mem));
	if (o->ssd) {
		fprintf(f, "ssd=%s\n", o->ssd);
		if (kv->ssd)
			fprintf(f, "ssd_size=%" PRIu64 "\n", kvfs_ssd_capacity(kv->ssd));
		fprintf(f, "write_policy=%s\n",
			o->write_policy == KVFS_WRITE_BACK ? "back" : "through");
	} else {
		fprintf(f, "# no ssd=: file data lives in memory only, and cold files are evicted when it is full\n");
	}
	fprintf(f, "evict_policy=%s\n", kvfs_policy_name(o->evict_policy));
	/* Not options: what the kernel granted at INIT (kproto.h). */
	fprintf(f, "# kernel: shared mmap of direct-I/O files %s\n",
		kvfs_kproto_granted((struct kvfs_kproto *)&kv->kproto) &
		KVFS_FUSE_DIRECT_IO_ALLOW_MMAP ? "allowed" :
		"refused (ENODEV: kernel before 6.6; use io=cached to mmap)");
	/* How opens are served (file.c, "Passthrough"): by the kernel from
	 * backing files where it granted passthrough, else by the daemon. */
	fprintf(f, "passthrough=%s\n", auto01_name(o->passthrough));
	fprintf(f, "# io mode: %s; FUSE passthrough: kernel %s, CAP_SYS_ADMIN %s\n",
		atomic_load(&kv->ns.passthrough) ?
		"passthrough (the kernel serves files memory holds whole)" :
		"daemon-served",
		atomic_load(&((struct kvfs_kproto *)&kv->kproto)->offered) &
		KVFS_FUSE_PASSTHROUGH ? "offers it" : "does not offer it (6.9+)",
		kvfs_kproto_can_back() ? "held" : "not held");
	fprintf(f, "wake_here=%s\n", auto01_name(o->wake_here));
	fprintf(f, "# kernel: fuse wake_here %s\n",
		kvfs_wake_describe(&kv->wake, wake, sizeof(wake)));
}

/* ---- the hook ---- */

ssize_t kvfs_ctl_fill(void *arg, int kind, char **buf)
{
	struct kvfs *kv = arg;
	struct kvfs_ctl_snap *s = NULL;
	size_t len = 0;
	FILE *f;

	*buf = NULL;
	if (kind <= KVFS_CTL_DIR || kind >= KVFS_CTL_END)
		return -EINVAL;
	f = open_memstream(buf, &len);
	if (!f)
		return -ENOMEM;
	if (kind != KVFS_CTL_CONFIG) {
		/* Counts every close that returned before this open. */
		kvfs_file_settle_all(&kv->ns);
		s = malloc(sizeof(*s));
		if (!s) {
			fclose(f);
			free(*buf);
			*buf = NULL;
			return -ENOMEM;
		}
		kvfs_ctl_snapshot(kv, s);
	}
	switch (kind) {
	case KVFS_CTL_STATS:      kvfs_ctl_write_stats(f, s); break;
	case KVFS_CTL_STATS_JSON: kvfs_ctl_write_json(f, s); break;
	case KVFS_CTL_METRICS:    kvfs_ctl_write_metrics(f, s); break;
	default:                  kvfs_ctl_write_config(f, kv); break;
	}
	free(s);
	/* open_memstream reports a failed allocation at close. */
	if (fclose(f) != 0 || !*buf) {
		free(*buf);
		*buf = NULL;
		return -ENOMEM;
	}
	return (ssize_t)len;
}
