/*
 * policy.h - which files to evict first: the scoring policy, apart from the
 * mechanism that frees (store.c).  DESIGN.md 3.6.
 *
 * The mechanism gathers candidates (one per file it could free), fills what
 * the policy needs, and asks for an order.  The policy knows nothing of
 * inodes or locks: a candidate carries an opaque pointer back.
 *
 * Rules, in priority order:
 *   1. pinned files are never candidates (kvfs_policy_order drops them);
 *   2. leaf-first: a file that another candidate names as its parent
 *      (user.kvfs.parent, a name in the same directory) comes after every
 *      candidate that names it, so a prefix is never cut above a live page;
 *   3. otherwise coldest first, by the score of the evict_policy= option.
 *
 * Rule 2 only sees candidates.  A parent that is alive but not a candidate
 * (the mechanism could not free it) does not matter: the rule keeps a file
 * from being evicted before its child, and that needs the file itself to be
 * a candidate.  A child that is not a candidate does not hold its parent
 * back.  A pinned candidate is still a node: a pinned parent is never in
 * the order but its children are ordinary leaves; the parent of a pinned
 * child (and its ancestors) come after all others but cycle members,
 * leaf-first among themselves, since evicting them cuts above a live page.
 */
#ifndef KVFS_POLICY_H
#define KVFS_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum kvfs_evict_policy {
	KVFS_EVICT_HYBRID, /* default: recency, with each hit worth extra time */
	KVFS_EVICT_LRU,    /* last access only */
	KVFS_EVICT_LFU,    /* hits, then last access */
};

/* Parses "hybrid", "lru", "lfu" (exact, lower case).  Returns 0, or
 * -EINVAL for NULL or any other string (*out then unchanged).  _name is the
 * inverse; it returns "unknown" for a value outside the enum. */
int kvfs_policy_parse(const char *s, enum kvfs_evict_policy *out);
const char *kvfs_policy_name(enum kvfs_evict_policy p);

struct kvfs_policy_cand {
	void *obj;               /* the mechanism's (an inode); not touched */
	uint64_t dir;            /* id of the containing directory */
	const char *name;        /* the file's name in dir */
	const char *parent;      /* its user.kvfs.parent, or NULL */
	uint64_t hits;
	int64_t last_access_ns;  /* 0: never read since it was written */
	int64_t mtime_ns;        /* stands in for last_access when that is 0 */
	uint64_t bytes;          /* what evicting it frees */
	int pinned;
};

/*
 * Score of one candidate at time now_ns: lower is colder (evicted first).
 * HYBRID: the later of last access and mtime, plus KVFS_POLICY_HIT_NS for
 * each hit up to KVFS_POLICY_HIT_CAP hits; LRU: the later of the two
 * times; LFU: hits, ties broken by time (encoded in one double).
 */
#define KVFS_POLICY_HIT_NS  (60ll * 1000000000)   /* one hit = one minute */
#define KVFS_POLICY_HIT_CAP 60
double kvfs_policy_score(enum kvfs_evict_policy p,
			 const struct kvfs_policy_cand *c, int64_t now_ns);

/*
 * Orders v[0..n) in place into eviction order under rules 1-3 and returns
 * how many remain (pinned ones are moved past the returned count, in their
 * input order).  A parent whose children are all earlier in the order may
 * follow them directly; cycles of parents (a names b, b names a) are broken
 * at their coldest member, and a file naming itself is no link.  Names are
 * compared within one dir; a parent name matching no candidate is ignored;
 * if two candidates share (dir, name) the first is the one named.  Ties of
 * score go to the larger bytes, then to the lower input index.
 * O(n log n) time, about 49 bytes of work space per candidate.
 * Returns -ENOMEM if it cannot allocate its work space, -E2BIG if n exceeds
 * 2^32 - 2 (v then unchanged).  Thread-safe: no state between calls.
 */
ssize_t kvfs_policy_order(enum kvfs_evict_policy p,
			  struct kvfs_policy_cand *v, size_t n, int64_t now_ns);

#endif
