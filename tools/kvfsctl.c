/*
 * kvfsctl.c - the operator's command for kvfs: entry point, usage, and the
 * small subcommands (stats, evict, pin, unpin).  The larger ones live in
 * tools/kvfsctl/: ls.c (ls, du), top.c, fsck.c; util.c has what they share.
 *
 * Everything but fsck talks to a live mount through files and extended
 * attributes only (/.kvfs/ control files, user.kvfs.* xattrs), so kvfsctl
 * needs no privileges beyond what the files' permissions allow.  fsck reads
 * a stopped daemon's state directory.  Exit codes: kvfsctl.h and
 * docs/tooling.md.
 */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "kvfs.h"           /* KVFS_VERSION */
#include "kvfsctl/kvfsctl.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kvfsctl COMMAND [OPTIONS] ARGS\n\n"
		"commands:\n"
		"  stats [--json|--metrics] MNT     counters of a mounted kvfs (/.kvfs/stats)\n"
		"  ls [-aRb] [--sort=KEY] [-r] [--json] [PATH...]\n"
		"                                   files with size, tier, hits, last access,\n"
		"                                   pin and parent; KEY: name size hits atime tier\n"
		"  du [-b] [--json] PATH...         bytes and files per tier\n"
		"  evict [-rv] PATH...              drop files from the cache now (pinned: refused)\n"
		"  pin PATH...  /  unpin PATH...    keep files from eviction, or allow it again\n"
		"  top [-n COUNT] [-d SECS] MNT     live view, refreshed every second; q quits\n"
		"  fsck [--repair] [--ssd DIR] [-v] [-q] STATE_DIR\n"
		"                                   check a stopped daemon's index and stored data\n"
		"                                   (fsck(8) codes)\n"
		"  --version, --help\n\n"
		"exit status: 0 done; 1 failed for some PATH; 2 usage; 3 not a kvfs mount or\n"
		"its daemon is not running.  See kvfsctl(8).\n");
}

/* ---- stats ---- */

static int cmd_stats(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "metrics", no_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	const char *file = "stats";
	struct kvfs_mount m;
	char *text;
	int c, r;

	while ((c = getopt_long(argc, argv, "jm", longopts, NULL)) != -1) {
		if (c == 'j')
			file = "stats.json";
		else if (c == 'm')
			file = "metrics";
		else
			return KVFSCTL_USAGE;
	}
	if (optind != argc - 1) {
		warnx("stats takes one mount point (kvfsctl stats MNT)");
		return KVFSCTL_USAGE;
	}
	r = kvfsctl_find_mount(argv[optind], &m);
	if (r)
		return r;
	if (kvfsctl_read_ctl(&m, file, &text) < 0)
		return KVFSCTL_FAILED;
	fputs(text, stdout);
	free(text);
	return KVFSCTL_OK;
}

/* ---- evict, pin, unpin: one xattr each ---- */

enum act { ACT_EVICT, ACT_PIN, ACT_UNPIN };

static const struct {
	const char *verb, *attr, *value;
} acts[] = {
	[ACT_EVICT] = { "evict", "user.kvfs.evict", "1" },
	[ACT_PIN] = { "pin", "user.kvfs.pin", "1" },
	[ACT_UNPIN] = { "unpin", "user.kvfs.pin", "0" },
};

/* State of one evict -r walk (nftw has no argument for it). */
static struct {
	enum act act;
	int verbose;
	unsigned failed, done;
} walk_state;

/* Applies the action to one file; 0 or -1 after saying why. */
static int act_one(enum act act, const char *path, int verbose)
{
	if (setxattr(path, acts[act].attr, acts[act].value, 1, 0) == 0) {
		if (verbose)
			printf("%s: %s\n", acts[act].verb, path);
		return 0;
	}
	switch (errno) {
	case EBUSY:
		warnx("%s: pinned or still being written: not evicted "
		      "(kvfsctl unpin %s first)", path, path);
		break;
	case EISDIR:
		warnx("%s: a directory (evict -r evicts the files below it)", path);
		break;
	case EPERM:
		warnx("%s: %s refused: %s", path, acts[act].verb, act == ACT_EVICT ?
		      "not a cache entry" : "directories cannot be pinned");
		break;
	case EINVAL:
	case ENOTSUP:
		warnx("%s: this kvfs daemon does not support %s", path, acts[act].verb);
		break;
	default:
		warnx("%s: %s: %s", path, acts[act].verb, strerror(errno));
	}
	return -1;
}

static int walk_one(const char *path, const struct stat *sb, int type,
		    struct FTW *ftw)
{
	(void)ftw;
	if (type == FTW_F && S_ISREG(sb->st_mode)) {
		if (act_one(walk_state.act, path, walk_state.verbose) == 0)
			walk_state.done++;
		else
			walk_state.failed++;
	}
	return 0;
}

static int cmd_act(enum act act, int argc, char **argv)
{
	struct kvfs_mount m;
	struct stat sb;
	int c, recurse = 0, verbose = 0, rc = KVFSCTL_OK, r;

	while ((c = getopt(argc, argv, act == ACT_EVICT ? "rv" : "v")) != -1) {
		if (c == 'r')
			recurse = 1;
		else if (c == 'v')
			verbose = 1;
		else
			return KVFSCTL_USAGE;
	}
	if (optind == argc) {
		warnx("%s needs at least one PATH", acts[act].verb);
		return KVFSCTL_USAGE;
	}
	for (int i = optind; i < argc; i++) {
		const char *path = argv[i];

		r = kvfsctl_find_mount(path, &m);
		if (r) {
			rc = rc == KVFSCTL_NOT_KVFS ? rc : r;
			continue;
		}
		if (recurse && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
			walk_state.act = act;
			walk_state.verbose = verbose;
			walk_state.failed = walk_state.done = 0;
			if (nftw(path, walk_one, 32, FTW_PHYS | FTW_MOUNT) != 0)
				warnx("%s: %s", path, strerror(errno));
			if (walk_state.failed && rc == KVFSCTL_OK)
				rc = KVFSCTL_FAILED;
			continue;
		}
		if (act_one(act, path, verbose) != 0 && rc == KVFSCTL_OK)
			rc = KVFSCTL_FAILED;
	}
	return rc;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd) {
		usage(stderr);
		return KVFSCTL_USAGE;
	}
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
	    strcmp(cmd, "help") == 0) {
		usage(stdout);
		return KVFSCTL_OK;
	}
	if (strcmp(cmd, "--version") == 0) {
		printf("kvfsctl %s\n", KVFS_VERSION);
		return KVFSCTL_OK;
	}
	/* Each command parses argv[1..] as its own argv. */
	argc--;
	argv++;
	if (strcmp(cmd, "stats") == 0)
		return cmd_stats(argc, argv);
	if (strcmp(cmd, "ls") == 0)
		return cmd_ls(argc, argv);
	if (strcmp(cmd, "du") == 0)
		return cmd_du(argc, argv);
	if (strcmp(cmd, "evict") == 0)
		return cmd_act(ACT_EVICT, argc, argv);
	if (strcmp(cmd, "pin") == 0)
		return cmd_act(ACT_PIN, argc, argv);
	if (strcmp(cmd, "unpin") == 0)
		return cmd_act(ACT_UNPIN, argc, argv);
	if (strcmp(cmd, "top") == 0)
		return cmd_top(argc, argv);
	if (strcmp(cmd, "fsck") == 0)
		return cmd_fsck(argc, argv);
	warnx("unknown command '%s' (kvfsctl --help lists them)", cmd);
	return KVFSCTL_USAGE;
}
