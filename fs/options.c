/*
 * options.c - validation of the daemon's own -o options and their defaults.
 *
 * FUSE-free so unit tests cover it.  main() hands over the raw strings that
 * libfuse's option parser collected; every problem becomes one line naming
 * the option and what to do, which main() prints before exiting 1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvfs.h"
#include "ssd.h"

int kvfs_parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "KMGT";
	unsigned long long v;
	const char *u;
	char *end;
	int shift = 0;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	if (*end) {
		u = strchr(units, end[0] & ~0x20);
		if (!u)
			return -EINVAL;
		shift = 10 * (int)(u - units + 1);
		end++;
		if ((*end | 0x20) == 'i')
			end++;
		if ((*end | 0x20) == 'b')
			end++;
		if (*end)
			return -EINVAL;
	}
	if (v == 0 || v > (UINT64_MAX >> shift))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

static int parse_bool(const char *s, int *out)
{
	if (strcmp(s, "1") == 0 || strcmp(s, "yes") == 0 || strcmp(s, "on") == 0)
		*out = 1;
	else if (strcmp(s, "0") == 0 || strcmp(s, "no") == 0 || strcmp(s, "off") == 0)
		*out = 0;
	else
		return -EINVAL;
	return 0;
}

/* passthrough= and wake_here=: "auto", "0" or "1", as 0, 1, 2 (both
 * enums list AUTO, OFF, ON in that order).  Returns 0 or -EINVAL. */
_Static_assert(KVFS_PT_AUTO == 0 && KVFS_PT_OFF == 1 && KVFS_PT_ON == 2 &&
	       KVFS_WAKE_AUTO == 0 && KVFS_WAKE_OFF == 1 && KVFS_WAKE_ON == 2,
	       "parse_auto01's order");
static int parse_auto01(const char *s, int *out)
{
	static const char *const names[] = { "auto", "0", "1" };

	for (int i = 0; i < 3; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = i;
			return 0;
		}
	return -EINVAL;
}

char *kvfs_default_state_dir(void)
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	char *p = NULL;

	if (geteuid() == 0)
		return strdup("/var/lib/kvfs");
	if (xdg && *xdg) {
		if (asprintf(&p, "%s/kvfs", xdg) < 0)
			return NULL;
		return p;
	}
	if (asprintf(&p, "%s/.local/state/kvfs", home && *home ? home : ".") < 0)
		return NULL;
	return p;
}

#define FAIL(...) do { snprintf(msg, msgsz, __VA_ARGS__); return -EINVAL; } while (0)

/* ssd=, ssd_size=, write_policy=, evict_policy=.  Whether the directory
 * exists and has room is kvfs_ssd_open()'s to say, at start. */
static int check_tiers(struct kvfs_opts *o, char *msg, size_t msgsz)
{
	o->ssd_size = 0;
	if (o->ssd && !*o->ssd)
		FAIL("kvfs: ssd= needs a directory");
	if (o->ssd_size_str) {
		if (!o->ssd)
			FAIL("kvfs: ssd_size=%s needs ssd=DIR", o->ssd_size_str);
		if (kvfs_parse_size(o->ssd_size_str, &o->ssd_size) != 0)
			FAIL("kvfs: ssd_size=%s is not a size (use a number with an optional K, M, G or T suffix)",
			     o->ssd_size_str);
		if (o->ssd_size < KVFS_SSD_MIN)
			FAIL("kvfs: ssd_size=%s is too small; use at least ssd_size=%lluM",
			     o->ssd_size_str, (unsigned long long)(KVFS_SSD_MIN >> 20));
	}
	o->write_policy = KVFS_WRITE_THROUGH;
	if (o->write_policy_str) {
		if (!o->ssd)
			FAIL("kvfs: write_policy=%s needs ssd=DIR", o->write_policy_str);
		if (strcmp(o->write_policy_str, "through") == 0)
			o->write_policy = KVFS_WRITE_THROUGH;
		else if (strcmp(o->write_policy_str, "back") == 0)
			o->write_policy = KVFS_WRITE_BACK;
		else
			FAIL("kvfs: write_policy=%s is not one of through, back",
			     o->write_policy_str);
	}
	o->evict_policy = KVFS_EVICT_HYBRID;
	if (o->evict_policy_str &&
	    kvfs_policy_parse(o->evict_policy_str, &o->evict_policy) != 0)
		FAIL("kvfs: evict_policy=%s is not one of hybrid, lru, lfu",
		     o->evict_policy_str);
	return 0;
}

int kvfs_opts_check(struct kvfs_opts *o, uint64_t phys, char *msg, size_t msgsz)
{
	int v;

	o->mem = phys / 4;
	if (o->mem_str && kvfs_parse_size(o->mem_str, &o->mem) != 0)
		FAIL("kvfs: mem=%s is not a size (use a number with an optional K, M, G or T suffix)",
		     o->mem_str);
	if (o->mem > phys)
		FAIL("kvfs: mem=%s exceeds physical memory (%.1f GiB); choose a smaller mem=",
		     o->mem_str, phys / 1073741824.0);
	if (o->mem < 2u * KVFS_DIRECT_MIN)
		FAIL("kvfs: mem=%s is too small; use at least mem=2M", o->mem_str);
	o->io = KVFS_IO_AUTO;
	if (o->io_str) {
		if (strcmp(o->io_str, "auto") == 0)
			o->io = KVFS_IO_AUTO;
		else if (strcmp(o->io_str, "direct") == 0)
			o->io = KVFS_IO_DIRECT;
		else if (strcmp(o->io_str, "cached") == 0)
			o->io = KVFS_IO_CACHED;
		else
			FAIL("kvfs: io=%s is not one of auto, direct, cached", o->io_str);
	}
	v = KVFS_PT_AUTO;
	if (o->passthrough_str && parse_auto01(o->passthrough_str, &v) != 0)
		FAIL("kvfs: passthrough=%s is not one of auto, 0, 1", o->passthrough_str);
	o->passthrough = (enum kvfs_pt)v;
	v = KVFS_WAKE_AUTO;
	if (o->wake_here_str && parse_auto01(o->wake_here_str, &v) != 0)
		FAIL("kvfs: wake_here=%s is not one of auto, 0, 1", o->wake_here_str);
	o->wake_here = (enum kvfs_wake_mode)v;
	o->prefault = 1;
	if (o->prefault_str && parse_bool(o->prefault_str, &o->prefault) != 0)
		FAIL("kvfs: prefault=%s must be 0 or 1", o->prefault_str);
	o->hugepages = 1;
	if (o->hugepages_str && parse_bool(o->hugepages_str, &o->hugepages) != 0)
		FAIL("kvfs: hugepages=%s must be 0 or 1", o->hugepages_str);
	o->threads = 8;
	if (o->threads_str) {
		char *end;
		unsigned long t = strtoul(o->threads_str, &end, 10);

		if (*o->threads_str < '0' || *o->threads_str > '9' || *end || t < 1 || t > 256)
			FAIL("kvfs: threads=%s must be a number from 1 to 256", o->threads_str);
		o->threads = (unsigned)t;
	}
	o->hash_defer_ms = KVFS_HASH_DEFER_MS;
	if (o->hash_defer_str) {
		char *end;
		unsigned long ms = strtoul(o->hash_defer_str, &end, 10);

		if (*o->hash_defer_str < '0' || *o->hash_defer_str > '9' || *end ||
		    ms > 60000)
			FAIL("kvfs: hash_defer=%s must be milliseconds from 0 to 60000",
			     o->hash_defer_str);
		o->hash_defer_ms = (unsigned)ms;
	}
	/* arena_group_str: obsolete, accepted so fstab lines keep mounting;
	 * main() warns that it does nothing. */
	if (check_tiers(o, msg, msgsz) != 0)
		return -EINVAL;
	if (!o->state && !(o->state = kvfs_default_state_dir()))
		FAIL("kvfs: out of memory");
	if (!*o->state)
		FAIL("kvfs: state= needs a directory");
	return 0;
}

void kvfs_opts_release(struct kvfs_opts *o)
{
	free(o->state);
	free(o->mountpoint);
	free(o->mem_str);
	free(o->io_str);
	free(o->passthrough_str);
	free(o->wake_here_str);
	free(o->prefault_str);
	free(o->hugepages_str);
	free(o->threads_str);
	free(o->hash_defer_str);
	free(o->arena_group_str);
	free(o->ssd);
	free(o->ssd_size_str);
	free(o->write_policy_str);
	free(o->evict_policy_str);
	memset(o, 0, sizeof(*o));
}
