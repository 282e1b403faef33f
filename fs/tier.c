/*
 * tier.c - the tier state machine of a published regular file (tier.h):
 * every write of ino->t's state, one verb per transition, the checker
 * asserted after each, and the store's counters that follow the states.
 *
 * No I/O and no locks here: callers (store.c, promote.c, evict.c, file.c,
 * ns.c) move the bytes, hold the locks tier.h names, then call the verb.
 * Threads: whichever thread made the move (FUSE workers, the flusher,
 * main at load).
 */
#include "tier.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "ns.h"
#include "store.h"

/* The most memory a head may hold: its page, or the huge page holding it
 * when the tmpfs could not split it at the demotion's punch. */
#define KVFS_HEAD_MEM_MAX (2u << 20)

static uint64_t map_bytes(const struct kvfs_map *m)
{
	uint64_t b = 0;

	for (uint32_t i = 0; i < m->n; i++)
		b += m->c[i].len;
	return b;
}

uint64_t kvfs_tier_ssd_bytes(const struct kvfs_tier *t)
{
	return t->has_stored ? t->stored_bytes : 0;
}

int kvfs_tier_check(const struct kvfs_inode *ino)
{
	const struct kvfs_tier *t = &ino->t;
	const char *bad = NULL;

	if (!t->resident && !t->has_stored)
		bad = "not resident and not stored";
	else if (!t->resident && !atomic_load(&t->promoting) &&
		 ino->data.bytes > KVFS_HEAD_MEM_MAX)
		bad = "not resident but more than the head in memory";
	else if (t->has_stored && t->stored_bytes != map_bytes(&t->stored))
		bad = "stored_bytes does not match the stored runs";
	else if (kvfs_inode_stored(ino) && t->stored.size != ino->size)
		bad = "current copy of another size";
	else if (atomic_load(&t->promoting) && atomic_load(&t->ready) > ino->size)
		bad = "promotion ready past the end";
	if (!bad)
		return 0;
	kvfs_err("tier state of inode %llu: %s", (unsigned long long)ino->id, bad);
	return -EUCLEAN;
}

/* ---- lifecycle ---- */

void kvfs_tier_init(struct kvfs_tier *t)
{
	memset(t, 0, sizeof(*t));
	t->resident = 1;
}

void kvfs_tier_release(struct kvfs_tier *t)
{
	kvfs_map_release(&t->stored);
	free(t->changed);
	t->changed = NULL;
	t->has_stored = 0;
}

/* ---- helpers: one field and the counter that follows it ---- */

/* Sets t.resident, keeping the count of SSD-only files (st may be NULL). */
static void set_resident(struct kvfs_store *st, struct kvfs_inode *ino,
			 int resident)
{
	resident = !!resident;
	if (st && ino->t.resident != resident)
		atomic_fetch_add(&st->stats.ssd_only_files, resident ? -1 : 1);
	ino->t.resident = resident;
}

/* A fresh "nothing changed" array for a newly stored copy (NULL if out of
 * memory: then every chunk counts as changed, which is only slower). */
static void changed_reset(struct kvfs_tier *t)
{
	free(t->changed);
	t->changed = t->stored.n ? calloc(t->stored.n, 1) : NULL;
}

/* Marks the chunks of [off, off + len) changed (kvfs_tier_changed()). */
static void mark_changed(struct kvfs_tier *t, uint64_t off, uint64_t len)
{
	uint64_t end = len > UINT64_MAX - off ? UINT64_MAX : off + len;
	uint64_t c0 = off / KVFS_CHUNK, c1;

	if (!t->has_stored || !t->changed || len == 0 || c0 >= t->stored.n)
		return;
	c1 = (end - 1) / KVFS_CHUNK;
	if (c1 >= t->stored.n)
		c1 = t->stored.n - 1;
	memset(t->changed + c0, 1, c1 - c0 + 1);
}

/* Installs m as the stored copy of the present data (takes it over); the
 * caller keeps the counters. */
static void install(struct kvfs_inode *ino, struct kvfs_map *m)
{
	struct kvfs_tier *t = &ino->t;

	t->stored = *m;
	memset(m, 0, sizeof(*m));
	t->stored_bytes = map_bytes(&t->stored);
	t->has_stored = 1;
	t->stored_gen = ino->data_gen;
	changed_reset(t);
}

/* Takes the stored copy out into *old (zeroed if none), undoing its
 * counts.  Returns 1 if there was one. */
static int uninstall(struct kvfs_store *st, struct kvfs_tier *t,
		     struct kvfs_map *old)
{
	memset(old, 0, sizeof(*old));
	if (!t->has_stored)
		return 0;
	atomic_fetch_sub(&st->stats.stored_files, 1);
	atomic_fetch_sub(&st->stats.stored_bytes, t->stored_bytes);
	*old = t->stored;
	memset(&t->stored, 0, sizeof(t->stored));
	t->has_stored = 0;
	t->stored_bytes = 0;
	free(t->changed);
	t->changed = NULL;
	return 1;
}

/* ---- data changes ---- */

void kvfs_tier_changed(struct kvfs_inode *ino, uint64_t off, uint64_t len)
{
	mark_changed(&ino->t, off, len);
	ino->data_gen++;
	KVFS_DCHECK(kvfs_tier_check(ino) == 0); /* BOTH -> MEM */
}

void kvfs_tier_emptied(struct kvfs_store *st, struct kvfs_inode *ino)
{
	set_resident(st, ino, 1); /* nothing left to be elsewhere */
	kvfs_tier_changed(ino, 0, UINT64_MAX);
}

/* ---- flushes ---- */

void kvfs_tier_stored(struct kvfs_store *st, struct kvfs_inode *ino,
		      struct kvfs_map *m, struct kvfs_map *old)
{
	struct kvfs_tier *t = &ino->t;

	/* The counts move by the difference only: a reader of the stats
	 * never sees the file missing in between. */
	memset(old, 0, sizeof(*old));
	if (t->has_stored) {
		atomic_fetch_sub(&st->stats.stored_bytes, t->stored_bytes);
		*old = t->stored;
	} else {
		atomic_fetch_add(&st->stats.stored_files, 1);
	}
	install(ino, m);
	atomic_fetch_add(&st->stats.stored_bytes, t->stored_bytes);
	t->err = 0;
	KVFS_DCHECK(kvfs_tier_check(ino) == 0); /* MEM -> BOTH */
}

void kvfs_tier_flush_failed(struct kvfs_inode *ino, int err)
{
	ino->t.err = err;
}

void kvfs_tier_flush_retry(struct kvfs_inode *ino)
{
	ino->t.err = 0;
}

/* ---- demotion, head loads, promotion ---- */

void kvfs_tier_demoted(struct kvfs_store *st, struct kvfs_inode *ino, int head)
{
	KVFS_DCHECK(kvfs_inode_stored(ino));
	set_resident(st, ino, 0);
	ino->t.head_loaded = head;
	KVFS_DCHECK(kvfs_tier_check(ino) == 0); /* BOTH -> SSD */
}

void kvfs_tier_head_loaded(struct kvfs_store *st, struct kvfs_inode *ino)
{
	ino->t.head_loaded = 1;
	if (ino->size <= KVFS_HEAD)
		set_resident(st, ino, 1);
	KVFS_DCHECK(kvfs_tier_check(ino) == 0); /* SSD, or BOTH */
}

int kvfs_tier_flush_claim(struct kvfs_inode *ino)
{
	return atomic_exchange(&ino->t.flushing, 1) == 0;
}

void kvfs_tier_flush_done(struct kvfs_inode *ino)
{
	KVFS_DCHECK(atomic_load(&ino->t.flushing));
	atomic_store(&ino->t.flushing, 0);
}

void kvfs_tier_promote_begin(struct kvfs_inode *ino, uint64_t ready)
{
	KVFS_DCHECK(!ino->t.resident && !atomic_load(&ino->t.promoting));
	atomic_store(&ino->t.ready, ready);
	atomic_store(&ino->t.promoting, 1);
	KVFS_DCHECK(kvfs_tier_check(ino) == 0); /* SSD, promoting */
}

void kvfs_tier_promote_ready(struct kvfs_inode *ino, uint64_t ready)
{
	/* No inode lock: only what the promoter alone changes is checked. */
	KVFS_DCHECK(atomic_load(&ino->t.promoting));
	KVFS_DCHECK(ready >= atomic_load(&ino->t.ready));
	atomic_store(&ino->t.ready, ready);
}

void kvfs_tier_promoted(struct kvfs_store *st, struct kvfs_inode *ino)
{
	set_resident(st, ino, 1);
	ino->t.head_loaded = 1;
	atomic_store(&ino->t.ready, 0);
	atomic_store(&ino->t.promoting, 0);
	KVFS_DCHECK(kvfs_tier_check(ino) == 0); /* SSD -> BOTH */
}

void kvfs_tier_promote_failed(struct kvfs_inode *ino)
{
	atomic_store(&ino->t.ready, 0);
	atomic_store(&ino->t.promoting, 0);
	KVFS_DCHECK(kvfs_tier_check(ino) == 0); /* back to SSD */
}

/* ---- a restart ---- */

void kvfs_tier_adopt(struct kvfs_store *st, struct kvfs_inode *ino,
		     struct kvfs_map *m)
{
	KVFS_DCHECK(!ino->t.has_stored); /* a fresh inode */
	install(ino, m);
	atomic_fetch_add(&st->stats.stored_files, 1);
	atomic_fetch_add(&st->stats.stored_bytes, ino->t.stored_bytes);
	set_resident(st, ino, ino->t.stored.size == 0);
	ino->t.head_loaded = 0;
	KVFS_DCHECK(kvfs_tier_check(ino) == 0); /* load -> BOTH or SSD */
}

void kvfs_tier_adopt_kept(struct kvfs_store *st, struct kvfs_inode *ino)
{
	set_resident(st, ino, 1);
	ino->t.head_loaded = 1;
	KVFS_DCHECK(kvfs_tier_check(ino) == 0); /* load -> MEM or BOTH */
}

/* ---- the end ---- */

int kvfs_tier_forget(struct kvfs_store *st, struct kvfs_inode *ino,
		     struct kvfs_map *old)
{
	int had;

	set_resident(st, ino, 1);
	ino->t.head_loaded = 0;
	had = uninstall(st, &ino->t, old);
	KVFS_DCHECK(kvfs_tier_check(ino) == 0); /* any -> gone */
	return had;
}
