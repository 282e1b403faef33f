/*
 * fsck.c - `kvfsctl fsck [--repair] [--ssd DIR] STATE_DIR`: checks a stopped
 * daemon's index, and the data of its stored files on the SSD tier, offline
 * (index/check.c and check_ssd.c do the work) and reports as fsck(8) does.
 *
 * It first takes the state directory's lock file (STATE_DIR/kvfs.lock, the
 * one every daemon holds for its lifetime): if a daemon holds it, fsck
 * refuses; holding it keeps a daemon from starting during the check.  The
 * SSD directory (--ssd, else the one the index records) is locked shared
 * for the check in the same way.
 *
 * Output: problems on stdout, one line each ("KIND PATH (row ID): detail"),
 * at most 20 per kind unless -v; a progress bar on stderr when it is a
 * terminal (not with -q); always a last summary line.  Exit status as fsck(8):
 * 0 clean, 1 errors were repaired, 4 errors left, 8 operational error, 16
 * usage.  Notices (rows of memory-only files) do not make a store unclean.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "check.h"
#include "kvfsctl.h"

#define FSCK_OK          0
#define FSCK_REPAIRED    1
#define FSCK_UNCORRECTED 4
#define FSCK_ERROR       8
#define FSCK_USAGE       16

#define SHOW_PER_KIND    20

struct fsck_ui {
	int verbose, bar;
	uint64_t shown[KVFS_CHECK_NKIND];
	const char *phase;
	int last_pct;
};

static void on_progress(void *arg, const char *phase, uint64_t done,
			uint64_t total)
{
	struct fsck_ui *ui = arg;
	int pct = total ? (int)(done * 100 / total) : -1, fill;
	char bar[41];

	if (!ui->bar || (phase == ui->phase && pct == ui->last_pct))
		return;
	ui->phase = phase;
	ui->last_pct = pct;
	fill = pct < 0 ? 0 : pct * 40 / 100;
	memset(bar, '#', (size_t)fill);
	memset(bar + fill, '.', (size_t)(40 - fill));
	bar[40] = '\0';
	if (pct < 0)
		fprintf(stderr, "\r\033[Kfsck: %s ...", phase);
	else
		fprintf(stderr, "\r\033[Kfsck: [%s] %3d%% %s", bar, pct, phase);
	fflush(stderr);
}

static void clear_bar(struct fsck_ui *ui)
{
	if (ui->bar && ui->phase) {
		fprintf(stderr, "\r\033[K");
		fflush(stderr);
		ui->phase = NULL;
	}
}

static void on_problem(void *arg, const struct kvfs_check_problem *p)
{
	struct fsck_ui *ui = arg;

	if (!p->error && !ui->verbose)
		return;
	if (ui->shown[p->kind]++ >= SHOW_PER_KIND && !ui->verbose)
		return;
	clear_bar(ui);
	printf("%s %s", kvfs_check_kind_names[p->kind], p->path);
	if (p->id)
		printf(" (row %llu)", (unsigned long long)p->id);
	printf(": %s%s\n", p->detail, p->repairable ? "" : " [not repairable]");
}

/* Takes STATE_DIR/kvfs.lock.  Returns the fd (-1 when there is no lock
 * file: no daemon ever ran there), or -2 after saying why fsck cannot run. */
static int lock_state(const char *dir)
{
	char path[PATH_MAX], pid[32] = "";
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/kvfs.lock", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -1 : (warnx("%s: %s", path, strerror(errno)), -2);
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return fd;
	if (errno != EWOULDBLOCK) {
		warnx("%s: cannot lock: %s", path, strerror(errno));
		close(fd);
		return -2;
	}
	n = pread(fd, pid, sizeof(pid) - 1, 0);
	pid[n > 0 ? n : 0] = '\0';
	pid[strcspn(pid, "\n")] = '\0';
	warnx("fsck: a kvfs daemon%s%s%s is running for %s; unmount it before "
	      "checking its index", *pid ? " (pid " : "", pid, *pid ? ")" : "", dir);
	close(fd);
	return -2;
}

static void summary(const char *dir, const struct kvfs_check_result *res,
		    int repair)
{
	char hb[32];
	int first = 1;

	printf("%s: %llu rows (%llu directories, %llu files), %llu xattrs", dir,
	       (unsigned long long)res->rows, (unsigned long long)res->dirs,
	       (unsigned long long)res->files, (unsigned long long)res->xattrs);
	if (res->stored)
		printf(", %llu stored files (%s verified)",
		       (unsigned long long)res->stored,
		       human_bytes(res->verified_bytes, 0, hb, sizeof(hb)));
	printf(": ");
	if (res->errors == 0) {
		printf("clean");
	} else {
		printf("%llu errors (", (unsigned long long)res->errors);
		for (int k = 0; k < KVFS_CHECK_NKIND; k++) {
			if (k == KVFS_CHECK_MEMORY_FILE || !res->count[k])
				continue;
			printf("%s%s %llu", first ? "" : ", ", kvfs_check_kind_names[k],
			       (unsigned long long)res->count[k]);
			first = 0;
		}
		printf(")");
	}
	if (res->notices)
		printf(", %llu memory-only file rows (dropped at the next start)",
		       (unsigned long long)res->notices);
	if (repair && res->repaired) {
		printf("; repaired: %llu errors fixed",
		       (unsigned long long)(res->errors - res->unrepairable));
		if (res->notices)
			printf(", %llu memory-only file rows dropped",
			       (unsigned long long)res->notices);
	}
	if (res->unrepairable)
		printf("; %llu not repairable", (unsigned long long)res->unrepairable);
	else if (!repair && res->errors)
		printf("; run kvfsctl fsck --repair %s", dir);
	printf("\n");
}

int cmd_fsck(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "repair", no_argument, NULL, 'y' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "ssd", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	struct fsck_ui ui = { .last_pct = -2 };
	struct kvfs_check_opts opts = {
		.progress = on_progress, .problem = on_problem, .arg = &ui,
	};
	struct kvfs_check_result res;
	const char *dir;
	int c, quiet = 0, fd, err;

	while ((c = getopt_long(argc, argv, "yvqs:", longopts, NULL)) != -1) {
		if (c == 'y')
			opts.repair = 1;
		else if (c == 's')
			opts.ssd_dir = optarg;
		else if (c == 'v')
			ui.verbose = 1;
		else if (c == 'q')
			quiet = 1;
		else
			return FSCK_USAGE;
	}
	if (optind != argc - 1) {
		warnx("usage: kvfsctl fsck [--repair] [--ssd DIR] [-v] [-q] STATE_DIR");
		return FSCK_USAGE;
	}
	dir = argv[optind];
	ui.bar = !quiet && isatty(STDERR_FILENO);
	fd = lock_state(dir);
	if (fd == -2)
		return FSCK_ERROR;
	err = kvfs_index_check(dir, &opts, &res);
	clear_bar(&ui);
	if (fd >= 0)
		close(fd);
	if (err == -ENOENT) {
		warnx("fsck: %s/index.db does not exist (is %s a kvfs state directory?)",
		      dir, dir);
		return FSCK_ERROR;
	}
	if (err == -EBUSY && res.ssd_busy) {
		warnx("fsck: the SSD directory %s is in use by a running kvfs daemon; "
		      "unmount it before checking", res.ssd_dir);
		return FSCK_ERROR;
	}
	if (err == -EPROTO) {
		warnx("fsck: %s/index.db has a newer schema than this kvfsctl "
		      "understands; use a newer kvfsctl", dir);
		return FSCK_ERROR;
	}
	if (err) {
		warnx("fsck: %s/index.db: %s%s", dir, strerror(-err),
		      opts.repair ? " (nothing was repaired)" : "");
		summary(dir, &res, 0);
		return FSCK_ERROR;
	}
	summary(dir, &res, opts.repair);
	if (res.errors == 0)
		return FSCK_OK;
	if (opts.repair && res.unrepairable == 0)
		return FSCK_REPAIRED;
	return FSCK_UNCORRECTED;
}
