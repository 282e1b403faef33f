/*
 * policy.c - the eviction order: scores candidates and sorts them leaf-first
 * (rules and their edge cases: policy.h).  Owns nothing between calls: each
 * kvfs_policy_order() allocates its work space, orders the caller's array
 * in place and frees what it took.
 *
 * It does not free, lock or look anything up: the mechanism (store.c)
 * gathers the candidates under its own locks and may call this from any
 * thread; calls share no state.  Only candidates are nodes of the parent
 * graph: a live parent the mechanism could not free is not evicted by this
 * pass, so the leaf-first rule has nothing to order for it.
 */
#include "policy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/*
 * The order is built in three steps:
 *   1. rank: sort (score, bytes descending, index) once; from then on a
 *      candidate is compared by its rank, one integer, so the heap below
 *      never touches the candidates (a million of them are ~72 MB);
 *   2. link: a hash table of (dir, name) -> index turns each parent name
 *      into parent[i], and counts each candidate's children in nkids[];
 *   3. Kahn: a min-heap of ranks holds the candidates with no child left;
 *      emitting one takes one child from its parent, which joins the heap
 *      at zero.  When the heap runs dry, unblock() lets pinned files go,
 *      then breaks cycles at their coldest member.
 * Indices are uint32_t (half the memory of size_t); work space is about
 * 25 bytes per candidate plus a 24-byte scratch entry (sort keys, then the
 * hash table), 49 bytes in all.
 */
#define NONE UINT32_MAX
#define MAX_CANDS (UINT32_MAX - 1)

enum { WAIT, QUEUED, PINNED };  /* QUEUED: in the ready heap or emitted */

struct sort_key {
	double score;
	uint64_t bytes;
	uint32_t i;
};

struct work {
	const struct kvfs_policy_cand *v;
	uint32_t *rank;     /* rank[i]: i's place in the cold-first order */
	uint32_t *byrank;   /* byrank[r]: the candidate of rank r */
	uint32_t *parent;   /* index of the candidate named as parent, or NONE */
	uint32_t *nkids;    /* children not yet emitted (pinned ones included) */
	uint32_t *ready;    /* min-heap of the ranks of nodes with no child left */
	uint32_t *out;      /* the order, then the permutation to apply */
	uint8_t *state;
	void *scratch;      /* the sort keys, then the hash table */
	uint32_t *hash;
	size_t n, nhash, nready, nout;
	size_t cursor;      /* ranks below it are not WAIT (cycle breaking) */
};

/* ---- scores ---- */

int kvfs_policy_parse(const char *s, enum kvfs_evict_policy *out)
{
	static const enum kvfs_evict_policy all[] = {
		KVFS_EVICT_HYBRID, KVFS_EVICT_LRU, KVFS_EVICT_LFU,
	};
	size_t i;

	if (!s)
		return -EINVAL;
	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(s, kvfs_policy_name(all[i])) == 0) {
			*out = all[i];
			return 0;
		}
	return -EINVAL;
}

const char *kvfs_policy_name(enum kvfs_evict_policy p)
{
	switch (p) {
	case KVFS_EVICT_HYBRID: return "hybrid";
	case KVFS_EVICT_LRU:    return "lru";
	case KVFS_EVICT_LFU:    return "lfu";
	}
	return "unknown";
}

/*
 * t - now in nanoseconds as a double.  Scores are relative to now so that a
 * double keeps nanosecond precision for ages under ~104 days (2^53 ns);
 * absolute times near 1.7e18 ns would round to 256 ns.
 */
static double since_now(int64_t t, int64_t now)
{
	int64_t d;

	if (__builtin_sub_overflow(t, now, &d))
		return (double)t - (double)now;
	return (double)d;
}

double kvfs_policy_score(enum kvfs_evict_policy p,
			 const struct kvfs_policy_cand *c, int64_t now_ns)
{
	int64_t t = c->last_access_ns > c->mtime_ns ? c->last_access_ns
						     : c->mtime_ns;
	double rel = since_now(t, now_ns);   /* <= 0 unless clocks disagree */
	uint64_t h;

	switch (p) {
	case KVFS_EVICT_LRU:
		return rel;
	case KVFS_EVICT_LFU:
		/* hits + a fraction in (0, 0.5] that grows with recency: an
		 * age of 0 gives 0.5, one second 0.25, an hour ~1.4e-4.  Exact
		 * while hits < 2^52; beyond that time stops breaking ties. */
		if (rel > 0)
			rel = 0;
		return (double)c->hits + 0.5 / (1.0 - rel / 1e9);
	case KVFS_EVICT_HYBRID:
	default:
		h = c->hits < KVFS_POLICY_HIT_CAP ? c->hits : KVFS_POLICY_HIT_CAP;
		return rel + (double)h * (double)KVFS_POLICY_HIT_NS;
	}
}

/* ---- step 1: ranks ---- */

static int key_cmp(const void *pa, const void *pb)
{
	const struct sort_key *a = pa, *b = pb;

	if (a->score != b->score)
		return a->score < b->score ? -1 : 1;
	if (a->bytes != b->bytes)
		return a->bytes > b->bytes ? -1 : 1;   /* free more first */
	return a->i < b->i ? -1 : a->i > b->i;
}

static void rank_all(struct work *w, enum kvfs_evict_policy p, int64_t now_ns)
{
	struct sort_key *k = w->scratch;
	size_t i;

	for (i = 0; i < w->n; i++) {
		k[i].score = kvfs_policy_score(p, &w->v[i], now_ns);
		k[i].bytes = w->v[i].bytes;
		k[i].i = (uint32_t)i;
	}
	qsort(k, w->n, sizeof(*k), key_cmp);
	for (i = 0; i < w->n; i++) {
		w->byrank[i] = k[i].i;
		w->rank[k[i].i] = (uint32_t)i;
	}
}

/* ---- step 2: links, (dir, name) -> index, linear probing ---- */

static uint64_t key_hash(uint64_t dir, const char *name)
{
	uint64_t h = 0xcbf29ce484222325ull ^ (dir * 0x9e3779b97f4a7c15ull);

	for (; *name; name++)            /* FNV-1a */
		h = (h ^ (unsigned char)*name) * 0x100000001b3ull;
	return h ^ (h >> 29);
}

/* The slot holding (dir, name), or the empty slot where it would go. */
static size_t slot_of(const struct work *w, uint64_t dir, const char *name)
{
	size_t mask = w->nhash - 1, s = key_hash(dir, name) & mask;

	while (w->hash[s] != NONE) {
		const struct kvfs_policy_cand *c = &w->v[w->hash[s]];

		if (c->dir == dir && strcmp(c->name, name) == 0)
			break;
		s = (s + 1) & mask;
	}
	return s;
}

/*
 * Fills parent[] and nkids[].  A name given twice in one directory keeps
 * its first candidate; a self-named parent, an empty or unknown name, or a
 * name in another directory is no link.
 */
static void link_parents(struct work *w)
{
	size_t i, s;

	w->hash = w->scratch;
	memset(w->hash, 0xff, w->nhash * sizeof(*w->hash));
	for (i = 0; i < w->n; i++) {
		w->nkids[i] = 0;
		w->parent[i] = NONE;
		if (!w->v[i].name)
			continue;
		s = slot_of(w, w->v[i].dir, w->v[i].name);
		if (w->hash[s] == NONE)
			w->hash[s] = (uint32_t)i;
	}
	for (i = 0; i < w->n; i++) {
		const char *p = w->v[i].parent;

		if (!p || !*p)
			continue;
		s = slot_of(w, w->v[i].dir, p);
		if (w->hash[s] == NONE || w->hash[s] == i)
			continue;
		w->parent[i] = w->hash[s];
		w->nkids[w->hash[s]]++;
	}
}

/* ---- step 3: Kahn's order over a heap of ranks ---- */

static void heap_push(uint32_t *h, size_t *len, uint32_t x)
{
	size_t i = (*len)++;

	while (i > 0 && x < h[(i - 1) / 2]) {
		h[i] = h[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h[i] = x;
}

static uint32_t heap_pop(uint32_t *h, size_t *len)
{
	uint32_t top = h[0], x = h[--*len];
	size_t i = 0, c;

	while ((c = 2 * i + 1) < *len) {
		if (c + 1 < *len && h[c + 1] < h[c])
			c++;
		if (x <= h[c])
			break;
		h[i] = h[c];
		i = c;
	}
	h[i] = x;
	return top;
}

static void make_ready(struct work *w, uint32_t i)
{
	if (w->state[i] == WAIT && w->nkids[i] == 0) {
		w->state[i] = QUEUED;
		heap_push(w->ready, &w->nready, w->rank[i]);
	}
}

/* i has left the graph (emitted, or pinned and let go): one child fewer
 * for its parent. */
static void leave(struct work *w, uint32_t i)
{
	uint32_t p = w->parent[i];

	if (p != NONE && w->nkids[p] > 0) {
		w->nkids[p]--;
		make_ready(w, p);
	}
}

/*
 * The ready heap ran dry with nodes still waiting.  The first time, they
 * are ancestors of pinned files and cycles: let the pinned files go, so
 * their ancestors follow everything else, leaf-first.  After that only
 * cycle members wait (each node has one parent, so a node off every cycle
 * has a finite tree of children, all emitted by now): queue the coldest of
 * them and let its cycle unwind from there.
 */
static void unblock(struct work *w, int *pins_released)
{
	size_t i;

	if (!*pins_released) {
		*pins_released = 1;
		for (i = 0; i < w->n; i++)
			if (w->state[i] == PINNED)
				leave(w, (uint32_t)i);
		if (w->nready)
			return;
	}
	while (w->cursor < w->n && w->state[w->byrank[w->cursor]] != WAIT)
		w->cursor++;
	if (w->cursor < w->n) {
		w->state[w->byrank[w->cursor]] = QUEUED;
		heap_push(w->ready, &w->nready, (uint32_t)w->cursor);
	}
}

/* Fills out[0..nfree) with the non-pinned candidates in eviction order. */
static void topo_order(struct work *w, size_t nfree)
{
	int pins_released = 0;
	size_t i;

	for (i = 0; i < w->n; i++)
		make_ready(w, w->byrank[i]);   /* in rank order: no sifting */
	while (w->nout < nfree) {
		uint32_t c;

		if (!w->nready)
			unblock(w, &pins_released);
		KVFS_ASSERT(w->nready > 0);  /* a waiting node is always left */
		c = w->byrank[heap_pop(w->ready, &w->nready)];
		w->out[w->nout++] = c;
		leave(w, c);
	}
}

/* v[k] = old v[out[k]] for every k, in place, by following the cycles of
 * the permutation; out becomes the identity. */
static void permute(struct kvfs_policy_cand *v, uint32_t *out, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		struct kvfs_policy_cand tmp;

		if (out[i] == i)
			continue;
		tmp = v[i];
		for (j = i; out[j] != i;) {
			size_t next = out[j];

			v[j] = v[next];
			out[j] = (uint32_t)j;
			j = next;
		}
		v[j] = tmp;
		out[j] = (uint32_t)j;
	}
}

/* ---- the entry point ---- */

static int work_alloc(struct work *w, size_t n)
{
	size_t nhash = 2;

	while (nhash < 2 * n)             /* load factor <= 1/2 */
		nhash *= 2;
	w->n = n;
	w->nhash = nhash;
	/* sort keys, then a hash table of nhash <= 4n words */
	w->scratch = malloc(n * sizeof(struct sort_key) > nhash * sizeof(uint32_t)
			    ? n * sizeof(struct sort_key) : nhash * sizeof(uint32_t));
	/* rank, byrank, parent, nkids, ready, out: 6n words; state: n bytes */
	w->rank = malloc(n * (6 * sizeof(uint32_t) + 1));
	if (!w->scratch || !w->rank) {
		free(w->scratch);
		free(w->rank);
		return -ENOMEM;
	}
	w->byrank = w->rank + n;
	w->parent = w->byrank + n;
	w->nkids = w->parent + n;
	w->ready = w->nkids + n;
	w->out = w->ready + n;
	w->state = (uint8_t *)(w->out + n);
	w->nready = w->nout = w->cursor = 0;
	return 0;
}

ssize_t kvfs_policy_order(enum kvfs_evict_policy p,
			  struct kvfs_policy_cand *v, size_t n, int64_t now_ns)
{
	struct work w = { .v = v };
	size_t i, nfree = 0;

	if (n == 0)
		return 0;
	if (n > MAX_CANDS || n > SIZE_MAX / 64)
		return -E2BIG;
	if (work_alloc(&w, n) < 0)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		w.state[i] = v[i].pinned ? PINNED : WAIT;
		nfree += !v[i].pinned;
	}
	rank_all(&w, p, now_ns);
	link_parents(&w);
	topo_order(&w, nfree);
	for (i = 0; i < n; i++)          /* pinned last, in input order */
		if (w.state[i] == PINNED)
			w.out[w.nout++] = (uint32_t)i;
	permute(v, w.out, n);
	free(w.scratch);
	free(w.rank);
	return (ssize_t)nfree;
}
