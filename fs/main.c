/*
 * main.c - the kvfs daemon: options, start-up, the FUSE session, shutdown.
 *
 * Start-up is ordered so that every error a user can cause is reported on
 * the terminal with one line and exit status 1, before `kvfs` returns:
 *   1. parse and validate options (no side effects yet);
 *   2. take the state directory's lock (one daemon per state directory);
 *   3. unless -f, fork: the parent waits on a pipe for the child's verdict
 *      and exits with it, so `kvfs` returns only once the mount is in place
 *      (threads do not survive fork, so none may exist before this point);
 *   4. open the memory tier and the index, rebuild the namespace, mount;
 *   5. tell the parent, detach from the terminal, serve until unmounted.
 * Shutdown (unmount, SIGTERM, SIGINT) drains the index queue before exit.
 */
#define FUSE_USE_VERSION 312

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "ctl.h"
#include "index.h"
#include "kconn.h"
#include "ssd.h"
#include "kvfs.h"
#include "log.h"
#include "ops.h"

#define OPT(name, field) { name "=%s", offsetof(struct kvfs_opts, field), 0 }

static const struct fuse_opt opt_spec[] = {
	OPT("state", state),
	OPT("mem", mem_str),
	OPT("io", io_str),
	OPT("passthrough", passthrough_str),
	OPT("wake_here", wake_here_str),
	OPT("prefault", prefault_str),
	OPT("hugepages", hugepages_str),
	OPT("threads", threads_str),
	OPT("hash_defer", hash_defer_str),
	OPT("arena_group", arena_group_str),
	OPT("ssd", ssd),
	OPT("ssd_size", ssd_size_str),
	OPT("write_policy", write_policy_str),
	OPT("evict_policy", evict_policy_str),
	FUSE_OPT_END
};

/* Keeps the first non-option argument (the mountpoint) so it is checked by
 * kvfs, with kvfs's message, before libfuse's own parsing looks at it. */
static int opt_proc(void *data, const char *arg, int key, struct fuse_args *out)
{
	struct kvfs_opts *o = data;

	(void)out;
	if (key == FUSE_OPT_KEY_NONOPT && !o->mountpoint)
		o->mountpoint = strdup(arg);
	return 1; /* keep it for fuse_parse_cmdline */
}

static void usage(const char *prog)
{
	printf("usage: %s MOUNTPOINT [-f] [-d] [-o OPTION[,OPTION...]]\n\n"
	       "kvfs options:\n"
	       "    -o state=DIR       index and lock file (default: /var/lib/kvfs as root,\n"
	       "                       else $XDG_STATE_HOME/kvfs or ~/.local/state/kvfs)\n"
	       "    -o mem=SIZE        memory tier, K/M/G/T suffixes (default: 1/4 of RAM)\n"
	       "    -o io=MODE         auto (default): direct I/O for files >= 1 MiB or opened\n"
	       "                       for writing; direct: always; cached: never\n"
	       "                       (mmap works in every mode on kernel 6.6+)\n"
	       "    -o passthrough=M   auto (default): the kernel serves reads, writes and\n"
	       "                       mmap of files memory holds whole (FUSE passthrough,\n"
	       "                       kernel 6.9+, needs CAP_SYS_ADMIN), else io= applies;\n"
	       "                       0: never; 1: refuse to start without CAP_SYS_ADMIN\n"
	       "    -o wake_here=M     auto (default): turn on the kernel's fuse wake_here\n"
	       "                       where it has one and the daemon may (both sides of a\n"
	       "                       round trip on one CPU; the whole host's setting);\n"
	       "                       0: leave it alone; 1: refuse to start if it cannot\n"
	       "    -o prefault=0|1    hold the tier's free room as warm pages, lent to writers (default 1)\n"
	       "    -o hugepages=0|1   huge pages for files of 2 MiB and more (tmpfs huge=within_size;\n"
	       "                       default 1)\n"
	       "    -o threads=N       most FUSE worker threads (default 8)\n"
	       "    -o hash_defer=MS   longest a file's checksum waits for a moment without\n"
	       "                       requests before it is computed (default 2000; 0: at once)\n"
	       "    -o arena_group=G   obsolete: accepted with a warning, does nothing\n"
	       "    -o ssd=DIR         SSD tier: slab files in DIR (default: none; memory\n"
	       "                       only, and files are evicted when memory is full)\n"
	       "    -o ssd_size=SIZE   bytes of slabs in DIR (default: what DIR's slabs hold\n"
	       "                       already, else half of the free space, at most 1T)\n"
	       "    -o write_policy=P  through (default): files go to the SSD once published;\n"
	       "                       back: only when memory needs their room\n"
	       "    -o evict_policy=P  hybrid (default: recency, each hit worth a minute),\n"
	       "                       lru, or lfu\n"
	       "kvfs adds default_permissions, subtype=kvfs and fsname=kvfs.\n\n",
	       prog);
}

static uint64_t physical_memory(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);

	return pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size : 0;
}

static int mkdir_p(const char *path)
{
	char *p = strdup(path), *s;
	int r = 0;

	if (!p)
		return -ENOMEM;
	for (s = p + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;

		*s = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST) {
			r = -errno;
			break;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
	return r;
}

/* Takes DIR/kvfs.lock.  Returns the fd, or -1 after printing why not. */
static int lock_state(const char *dir)
{
	char path[4096], pid[32] = "";
	struct stat st;
	int fd, r;

	r = mkdir_p(dir);
	if (r == 0 && (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)))
		r = -ENOTDIR;
	snprintf(path, sizeof(path), "%s/kvfs.lock", dir);
	fd = r ? -1 : open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (r || fd < 0) {
		kvfs_err("kvfs: state directory %s is not writable: %s", dir,
			 strerror(r ? -r : errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		ssize_t n = pread(fd, pid, sizeof(pid) - 1, 0);

		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		kvfs_err("kvfs: state directory %s is in use by another kvfs daemon (pid %s)",
			 dir, *pid ? pid : "unknown");
		close(fd);
		return -1;
	}
	return fd;
}

static void write_pid(int fd)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());

	if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n)
		kvfs_warn("kvfs: could not record the pid in the lock file: %s",
			  strerror(errno));
}

/* Step 3: returns in the child (with *report set to the pipe's write end)
 * or in the foreground process; the parent exits here. */
static void daemonize(int *report)
{
	int fds[2];
	char status = 1;
	pid_t pid;

	if (pipe(fds) != 0 || (pid = fork()) < 0) {
		kvfs_err("kvfs: cannot start the daemon: %s", strerror(errno));
		exit(1);
	}
	if (pid > 0) {
		close(fds[1]);
		if (read(fds[0], &status, 1) != 1)
			status = 1; /* the child died before reporting */
		_exit(status);
	}
	close(fds[0]);
	setsid();
	*report = fds[1];
}

static void detach(int report)
{
	char ok = 0;
	int fd = open("/dev/null", O_RDWR);

	if (report < 0)
		return;
	if (write(report, &ok, 1) != 1) {
		/* The parent is gone; nobody is waiting for the verdict. */
	}
	close(report);
	if (chdir("/") != 0) {
		/* Not fatal: only keeps a directory busy. */
	}
	kvfs_log_to_syslog();
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
}

/*
 * The memory tier (backing.h): the daemon's own tmpfs where it may mount
 * one, else backing files in /dev/shm; either way it says which.
 */
static int open_mem(struct kvfs *kv, unsigned flags)
{
	const char *mem = kv->opts.mem_str ? kv->opts.mem_str : "(default)";
	char keep[4096];
	int r;

	if (kv->opts.arena_group_str)
		kvfs_warn("kvfs: arena_group=%s no longer does anything (the GPU library maps kvfs files, which their permissions govern: docs/gpu.md); remove it",
			  kv->opts.arena_group_str);
	/* The tier in <state>/mem outlives the daemon: a restart adopts what
	 * a clean exit kept (ns.c, load_kept). */
	r = snprintf(keep, sizeof(keep), "%s/mem", kv->opts.state);
	r = kvfs_mem_open(&kv->mem, kv->opts.mem, flags,
			  r > 0 && (size_t)r < sizeof(keep) ? keep : NULL);
	if (r)
		kvfs_err("kvfs: cannot open a memory tier of mem=%s: %s", mem,
			 strerror(-r));
	return r;
}

/* Human size for messages. */
static const char *human(uint64_t b, char *buf, size_t n)
{
	snprintf(buf, n, "%.1f GiB", b / 1073741824.0);
	return buf;
}

/* ssd_size when none is given: what the store's slabs hold already, else
 * half of the free space of DIR's filesystem, at most 1 TiB. */
static uint64_t default_ssd_size(const char *dir)
{
	struct statvfs sv;
	uint64_t have = 0, half;
	char path[4096];
	struct stat st;

	for (unsigned i = 0; i < 100000; i++) {
		if (kvfs_slab_path(path, sizeof(path), dir, i) < 0 ||
		    stat(path, &st) != 0)
			break;
		have += (uint64_t)st.st_size - KVFS_SSD_HDR;
	}
	if (have)
		return have;
	if (statvfs(dir, &sv) != 0)
		return KVFS_SSD_MIN; /* kvfs_ssd_open says what is wrong */
	half = (uint64_t)sv.f_bavail * sv.f_frsize / 2;
	if (half > (1ull << 40))
		half = 1ull << 40;
	return half > KVFS_SSD_MIN ? half : KVFS_SSD_MIN;
}

/*
 * Records where the slabs are, as an absolute path (the daemon leaves its
 * working directory once started), for `kvfsctl fsck` and for the advice of
 * a start without ssd=; kept current when the directory moves.  Returns 0,
 * or -errno when `must` (a new pairing) and the index cannot be updated.
 */
static int record_ssd_dir(struct kvfs *kv, int must)
{
	char have[4096] = "", *abs = realpath(kv->opts.ssd, NULL);
	const char *dir = abs ? abs : kv->opts.ssd;
	int r = 0;

	if (must || kvfs_index_meta_get(kv->index, "ssd_dir", have, sizeof(have)) != 0 ||
	    strcmp(have, dir) != 0)
		r = kvfs_index_meta_set(kv->index, "ssd_dir", dir);
	if (r && must)
		kvfs_err("kvfs: cannot update the index in %s: %s", kv->opts.state, strerror(-r));
	else if (r)
		kvfs_warn("kvfs: cannot record ssd=%s in the index in %s: %s", dir,
			  kv->opts.state, strerror(-r));
	free(abs);
	return must ? r : 0;
}

/*
 * The index and the slabs belong together: the index records the store's
 * id.  A fresh index beside a store that holds data means the index was
 * lost: refuse, rather than mount an empty cache over stored data.
 */
static int pair_store(struct kvfs *kv)
{
	char want[32], have[32] = "";
	int r;

	snprintf(want, sizeof(want), "%016llx",
		 (unsigned long long)kvfs_ssd_id(kv->ssd));
	r = kvfs_index_meta_get(kv->index, "ssd_id", have, sizeof(have));
	if (r == 0 && strcmp(have, want) != 0) {
		kvfs_err("kvfs: ssd=%s holds SSD store %s, but the index in %s belongs to store %s; use the matching ssd= directory, or move one of them aside",
			 kv->opts.ssd, want, kv->opts.state, have);
		return -EINVAL;
	}
	if (r == 0)
		return record_ssd_dir(kv, 0);
	if (r != -ENOENT) {
		kvfs_err("kvfs: cannot read the index in %s: %s", kv->opts.state, strerror(-r));
		return r;
	}
	if (!kvfs_ssd_is_new(kv->ssd)) {
		kvfs_err("kvfs: the index in %s has no record of the SSD store in %s, which was made before; the index was lost or replaced: restore %s/index.db, or move the " KVFS_SLAB_PREFIX "* files of %s aside to start empty",
			 kv->opts.state, kv->opts.ssd, kv->opts.state, kv->opts.ssd);
		return -EINVAL;
	}
	r = kvfs_index_meta_set(kv->index, "ssd_id", want);
	if (r) {
		kvfs_err("kvfs: cannot update the index in %s: %s", kv->opts.state, strerror(-r));
		return r;
	}
	return record_ssd_dir(kv, 1);
}

/* Each slab holds an fd for the daemon's life: a big store needs more than
 * the usual soft limit of 1024.  Best effort: the hard limit is the cap. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int open_ssd(struct kvfs *kv)
{
	uint64_t size = kv->opts.ssd_size ? kv->opts.ssd_size :
			default_ssd_size(kv->opts.ssd);
	char msg[512];
	int r;

	raise_nofile();
	r = kvfs_ssd_open(&kv->ssd, kv->opts.ssd, size, msg, sizeof(msg));
	if (r)
		kvfs_err("kvfs: %s", msg);
	return r;
}

/* After the index is open: pairs it with the slabs and drops the rows of
 * files that never reached them. */
static int adopt_ssd(struct kvfs *kv)
{
	char hb[32];
	int64_t dropped;
	int r;

	r = pair_store(kv);
	if (r)
		return r;
	/* With a kept memory tier the load decides (ns.c, load_kept). */
	dropped = kv->mem.named ? 0 : kvfs_index_drop_unstored(kv->index);
	if (dropped < 0) {
		kvfs_err("kvfs: cannot update the index in %s: %s", kv->opts.state,
			 strerror((int)-dropped));
		return (int)dropped;
	}
	if (dropped > 0)
		kvfs_info("kvfs: %lld files of the last run never reached the SSD and were dropped",
			  (long long)dropped);
	kvfs_info("kvfs: SSD tier %s: %s", kv->opts.ssd,
		  human(kvfs_ssd_capacity(kv->ssd), hb, sizeof(hb)));
	return 0;
}

/* Memory only: files of the last run are gone, unless an SSD tier held
 * them, in which case the operator forgot ssd=. */
static int open_memory_only(struct kvfs *kv)
{
	char dir[4096] = "(unknown)";
	int64_t stored = kvfs_index_count_stored(kv->index), dropped;

	if (stored > 0) {
		kvfs_index_meta_get(kv->index, "ssd_dir", dir, sizeof(dir));
		kvfs_err("kvfs: the index in %s holds %lld files stored on the SSD tier ssd=%s; mount with ssd=%s, or move %s aside to start empty",
			 kv->opts.state, (long long)stored, dir, dir, kv->opts.state);
		return -EINVAL;
	}
	dropped = kv->mem.named ? 0 : kvfs_index_drop_files(kv->index);
	if (dropped < 0) {
		kvfs_err("kvfs: cannot update the index in %s: %s", kv->opts.state,
			 strerror((int)-dropped));
		return (int)dropped;
	}
	if (dropped > 0)
		kvfs_info("kvfs: %lld files of the last run were dropped: their data lived only in memory",
			  (long long)dropped);
	return 0;
}

/* Step 4 up to the mount. */
static int open_store(struct kvfs *kv)
{
	/* Warming starts once the index is loaded: on a small machine it
	 * would slow a large load (1,000,000 files) by half. */
	unsigned flags = kv->opts.hugepages ? 0 : KVFS_MEM_NOHUGE;
	int r;

	if (kv->opts.passthrough == KVFS_PT_ON && !kvfs_kproto_can_back()) {
		kvfs_err("kvfs: passthrough=1 needs CAP_SYS_ADMIN (the kernel's rule for backing files); run as root or use passthrough=auto");
		return -EPERM;
	}
	r = kvfs_wake_apply(&kv->wake, KVFS_WAKE_PARAM, kv->opts.wake_here);
	if (r) {
		kvfs_err("kvfs: wake_here=1: cannot turn on %s (%s); use wake_here=auto",
			 KVFS_WAKE_PARAM, strerror(-r));
		return r;
	}
	if (kv->wake.state == KVFS_WAKE_SET)
		kvfs_info("kvfs: turned on %s: the kernel runs both sides of a FUSE round trip on one CPU (every FUSE mount of this host; wake_here=0 leaves it alone)",
			  KVFS_WAKE_PARAM);
	r = open_mem(kv, flags);
	if (r)
		return r; /* open_mem said why */
	/* The slabs first: a bad ssd= stops the start before the index (a
	 * new state directory) is made, with one line. */
	r = kv->opts.ssd ? open_ssd(kv) : 0;
	if (r)
		return r; /* open_ssd said why */
	r = kvfs_index_open(&kv->index, kv->opts.state);
	if (r)
		return r; /* kvfs_index_open said why */
	r = kv->opts.ssd ? adopt_ssd(kv) : open_memory_only(kv);
	if (r)
		return r; /* they said why */
	r = kvfs_ns_init(&kv->ns, &kv->mem, kv->index, getuid(), getgid());
	if (r == 0) {
		r = kvfs_store_init(&kv->store, &kv->ns, kv->ssd, kv->opts.write_policy,
				    kv->opts.evict_policy);
		kv->store_ready = r == 0;
	}
	if (r == 0)
		r = kvfs_ns_load(&kv->ns);
	if (r == 0 && kv->ssd)
		(void)kvfs_ssd_seal(kv->ssd); /* logs what it cannot remove */
	if (r == 0 && kv->opts.prefault)
		kvfs_mem_warm_start(&kv->mem);
	if (r) {
		kvfs_err("kvfs: cannot load the index in %s: %s", kv->opts.state,
			 strerror(-r));
		return r;
	}
	r = kvfs_ctl_init(kv);
	if (r)
		kvfs_err("kvfs: cannot create the control directory /%s: %s",
			 KVFS_CTL_NAME, strerror(-r));
	return r;
}

static int add_default_args(struct fuse_args *args)
{
	int has_fsname = 0;

	for (int i = 0; i < args->argc; i++)
		if (strstr(args->argv[i], "fsname="))
			has_fsname = 1;
	if (fuse_opt_add_arg(args, "-odefault_permissions") != 0 ||
	    fuse_opt_add_arg(args, "-osubtype=kvfs") != 0 ||
	    (!has_fsname && fuse_opt_add_arg(args, "-ofsname=kvfs") != 0))
		return -ENOMEM;
	return 0;
}

static int has_help_arg(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help") ||
		    !strcmp(argv[i], "-V") || !strcmp(argv[i], "--version"))
			return 1;
	return 0;
}

static int check_mountpoint(const char *mnt)
{
	struct stat st;

	if (!mnt) {
		kvfs_err("kvfs: no mountpoint given (usage: kvfs MOUNTPOINT -o state=DIR,mem=SIZE)");
		return -1;
	}
	if (stat(mnt, &st) != 0) {
		kvfs_err("kvfs: mountpoint %s %s", mnt,
			 errno == ENOENT ? "does not exist" : strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		kvfs_err("kvfs: mountpoint %s is not a directory", mnt);
		return -1;
	}
	return 0;
}

static int serve(struct kvfs *kv, struct fuse_session *se,
		 const struct fuse_cmdline_opts *cl)
{
	struct fuse_loop_config *cfg;
	int r;

	if (cl->singlethread)
		return fuse_session_loop(se);
	cfg = fuse_loop_cfg_create();
	if (!cfg)
		return -ENOMEM;
	fuse_loop_cfg_set_max_threads(cfg, kv->opts.threads);
	fuse_loop_cfg_set_idle_threads(cfg, kv->opts.threads < 4 ? kv->opts.threads : 4);
	fuse_loop_cfg_set_clone_fd(cfg, (unsigned)cl->clone_fd);
	r = fuse_session_loop_mt(se, cfg);
	fuse_loop_cfg_destroy(cfg);
	return r;
}

static void teardown(struct kvfs *kv)
{
	kvfs_hasher_stop(&kv->ns);   /* finishes queued checksums, which */
	if (kv->store_ready)         /* ... the store writes out (clean exit) */
		kvfs_store_stop(&kv->store, kv->clean_exit);
	if (kv->clean_exit && kv->ns.root) { /* ... and memory is kept (restart) */
		uint64_t kept = kvfs_ns_keep_memory(&kv->ns);

		if (kept)
			kvfs_info("kvfs: memory tier: %llu files kept in %s/mem for the next start",
				  (unsigned long long)kept, kv->opts.state);
	}
	kvfs_index_close(kv->index); /* ... and this records: drains the queue */
	kv->index = NULL;
	kv->ns.store = NULL;         /* nothing is freed on the SSD from here */
	kv->ns.index = NULL;
	if (kv->ns.root)
		kvfs_ns_release(&kv->ns);
	if (kv->store_ready)
		kvfs_store_release(&kv->store);
	kvfs_ssd_close(kv->ssd);
	kvfs_mem_close(&kv->mem);
	if (kv->lock_fd >= 0)
		close(kv->lock_fd);
	kvfs_opts_release(&kv->opts);
}

int main(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts cl = { 0 };
	struct fuse_lowlevel_ops ops;
	struct fuse_session *se = NULL;
	struct kvfs kv = { .lock_fd = -1 };
	char msg[512];
	int report = -1, r = 1, e;

	if (fuse_opt_parse(&args, &kv.opts, opt_spec, opt_proc) != 0)
		goto out; /* libfuse printed the line */
	if (kv.opts.mountpoint && !has_help_arg(argc, argv) &&
	    check_mountpoint(kv.opts.mountpoint) != 0)
		goto out;
	if (fuse_parse_cmdline(&args, &cl) != 0)
		goto out;
	if (cl.show_help) {
		usage(argv[0]);
		fuse_cmdline_help();
		fuse_lowlevel_help();
		r = 0;
		goto out;
	}
	if (cl.show_version) {
		printf("kvfs %s (libfuse %s)\n", KVFS_VERSION, fuse_pkgversion());
		r = 0;
		goto out;
	}
	if (check_mountpoint(cl.mountpoint) != 0)
		goto out;
	if (kvfs_opts_check(&kv.opts, physical_memory(), msg, sizeof(msg)) != 0) {
		kvfs_err("%s", msg);
		goto out;
	}
	if (add_default_args(&args) != 0)
		goto out;
	/* libfuse validates its options here, before anything is touched; the
	 * session holds no thread or descriptor yet, so it survives the fork. */
	kvfs_optimer_ops(&ops); /* kvfs_ops, each request timed */
	se = fuse_session_new(&args, &ops, sizeof(ops), &kv);
	if (!se)
		goto out; /* libfuse named the bad option */
	if ((kv.lock_fd = lock_state(kv.opts.state)) < 0)
		goto out_session;
	if (cl.debug)
		kvfs_log_set_level(KVFS_LOG_DEBUG);
	if (!cl.foreground)
		daemonize(&report);
	write_pid(kv.lock_fd);
	kv.mountpoint = cl.mountpoint;
	if (open_store(&kv) != 0 ||
	    kvfs_hasher_start(&kv.ns, (uint64_t)kv.opts.hash_defer_ms * 1000000u) != 0 ||
	    kvfs_store_start(&kv.store) != 0)
		goto out_session;
	kv.se = se;
	if (fuse_set_signal_handlers(se) != 0)
		goto out_session;
	if (fuse_session_mount(se, cl.mountpoint) != 0)
		goto out_signals;
	if ((e = kvfs_kconn_attach(&kv, se)) != 0) {
		kvfs_err("kvfs: cannot route the FUSE session through kvfs: %s", strerror(-e));
		goto out_unmount;
	}
	if (kvfs_notify_start(&kv, se) != 0)
		goto out_unmount;
	kvfs_info("kvfs: mounted %s (mem=%llu MiB in %s, state=%s%s%s)", cl.mountpoint,
		  (unsigned long long)(kv.opts.mem >> 20), kvfs_mem_where(&kv.mem),
		  kv.opts.state, kv.ssd ? ", ssd=" : "", kv.ssd ? kv.opts.ssd : "");
	detach(report);
	report = -1;
	r = serve(&kv, se, &cl) == 0 ? 0 : 1;
	kv.clean_exit = r == 0; /* unmounted or SIGTERM: write memory out */
	kvfs_notify_stop(&kv);
out_unmount:
	kvfs_kconn_detach(&kv);
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
	kv.se = NULL;
out:
	teardown(&kv);
	free(cl.mountpoint);
	fuse_opt_free_args(&args);
	return r;
}
