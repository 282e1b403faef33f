/*
 * top.c - `kvfsctl top MNT`: a live view of a mount, refreshed every second
 * from /.kvfs/metrics, until q (or Ctrl-C, SIGTERM, SIGHUP).
 *
 * On a terminal it switches to the alternate screen with the input in raw
 * mode (no echo, no line buffering) and restores both on every way out: q,
 * a signal (the handler only sets a flag; the loop restores), or die()
 * (atexit).  Each frame is clipped to the window, so 80x24 shows the header,
 * the tier and counter lines and the busiest operations.  Without a
 * terminal it prints plain frames (one by default; -n COUNT).
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "kvfsctl.h"
#include "opstat.h"

static volatile sig_atomic_t stop_signal;
static struct termios saved_tty;
static int tty_raw;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static void tty_restore(void)
{
	static const char leave[] = "\033[?25h\033[?1049l";

	if (!tty_raw)
		return;
	tty_raw = 0;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
	if (write(STDOUT_FILENO, leave, sizeof(leave) - 1) < 0) {
		/* nothing left to tell anyone */
	}
}

static int tty_enter(void)
{
	static const char enter[] = "\033[?1049h\033[?25l\033[H\033[2J";
	struct termios raw;

	if (tcgetattr(STDIN_FILENO, &saved_tty) != 0)
		return -1;
	raw = saved_tty;
	raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);   /* ISIG stays: Ctrl-C works */
	raw.c_cc[VMIN] = 0;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) != 0)
		return -1;
	tty_raw = 1;
	atexit(tty_restore);
	if (write(STDOUT_FILENO, enter, sizeof(enter) - 1) < 0)
		return -1;
	return 0;
}

static void signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: poll() returns EINTR and the loop sees the flag. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/* ---- one sample and the frame ---- */

struct sample {
	double t;                     /* CLOCK_MONOTONIC seconds */
	char *text;
	struct metrics m;
};

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int sample_take(const struct kvfs_mount *mnt, struct sample *s)
{
	s->t = mono();
	if (kvfsctl_read_ctl(mnt, "metrics", &s->text) < 0)
		return -1;
	metrics_parse(&s->m, s->text);
	return 0;
}

static void sample_release(struct sample *s)
{
	metrics_release(&s->m);
	free(s->text);
	memset(s, 0, sizeof(*s));
}

/* A frame: lines of at most `cols` characters, at most `rows` of them. */
struct frame {
	char line[64][256];
	int n, rows, cols;
};

static void put(struct frame *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct frame *f, const char *fmt, ...)
{
	va_list ap;

	if (f->n >= f->rows || f->n >= 64)
		return;
	va_start(ap, fmt);
	vsnprintf(f->line[f->n], sizeof(f->line[0]), fmt, ap);
	va_end(ap);
	if (f->cols > 0 && f->cols < (int)sizeof(f->line[0]))
		f->line[f->n][f->cols] = '\0';
	f->n++;
}

static double val(const struct sample *s, const char *key)
{
	return metrics_get(&s->m, key, 0);
}

/* Per-second rate of a counter between two samples; NAN without a past. */
static double rate(const struct sample *now, const struct sample *past,
		   const char *key)
{
	if (!past || now->t <= past->t)
		return NAN;
	return (val(now, key) - val(past, key)) / (now->t - past->t);
}

static const char *fmt_rate(double r, const char *unit, char *buf, size_t size)
{
	if (isnan(r))
		snprintf(buf, size, "-");
	else if (r >= 1e9)
		snprintf(buf, size, "%.1fG%s", r / 1e9, unit);
	else if (r >= 1e6)
		snprintf(buf, size, "%.1fM%s", r / 1e6, unit);
	else if (r >= 1e4)
		snprintf(buf, size, "%.1fk%s", r / 1e3, unit);
	else
		snprintf(buf, size, "%.1f%s", r, unit);
	return buf;
}

/* The SSD tier: use, movements between the tiers, the flush queue. */
static void ssd_line(struct frame *f, const struct sample *now,
		     const struct sample *past)
{
	double cap = val(now, "kvfs_tier_capacity_bytes{tier=\"ssd\"}");
	double used = val(now, "kvfs_tier_used_bytes{tier=\"ssd\"}");
	char a[32], b[32], c[32], d[32];

	if (!val(now, "kvfs_tier_present{tier=\"ssd\"}")) {
		put(f, "ssd     absent (memory only)");
		return;
	}
	put(f, "ssd     %s of %s used (%.1f%%)  flushq %.0f  reads %s  promo %s",
	    human_bytes((uint64_t)used, 0, a, sizeof(a)),
	    human_bytes((uint64_t)cap, 0, b, sizeof(b)), cap ? 100 * used / cap : 0,
	    val(now, "kvfs_flush_queue_files"),
	    fmt_rate(rate(now, past, "kvfs_ssd_reads_total"), "/s", c, sizeof(c)),
	    fmt_rate(rate(now, past, "kvfs_store_promotions_total"), "/s", d, sizeof(d)));
}

static void head_lines(struct frame *f, const struct kvfs_mount *mnt,
		       const struct sample *now, const struct sample *past)
{
	double up = difftime(time(NULL), (time_t)val(now, "kvfs_start_time_seconds"));
	double cap = val(now, "kvfs_tier_capacity_bytes{tier=\"memory\"}");
	double used = val(now, "kvfs_tier_used_bytes{tier=\"memory\"}");
	double found = rate(now, past, "kvfs_lookups_total{result=\"found\"}");
	double missed = rate(now, past, "kvfs_lookups_total{result=\"missed\"}");
	char a[32], b[32], c[32], d[32], clock[16];
	time_t t = time(NULL);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
	if (up < 0)
		up = 0;
	put(f, "kvfs top  %s  up %d:%02d:%02d  %s   (q quits)", mnt->dir,
	    (int)(up / 3600), (int)fmod(up / 60, 60), (int)fmod(up, 60), clock);
	put(f, "memory  %s of %s used (%.1f%%)   files %.0f  dirs %.0f",
	    human_bytes((uint64_t)used, 0, a, sizeof(a)),
	    human_bytes((uint64_t)cap, 0, b, sizeof(b)), cap ? 100 * used / cap : 0,
	    val(now, "kvfs_files"), val(now, "kvfs_directories"));
	ssd_line(f, now, past);
	put(f, "read %s  write %s  file hits %s  ENOSPC %.0f",
	    fmt_rate(rate(now, past, "kvfs_read_bytes_total"), "B/s", a, sizeof(a)),
	    fmt_rate(rate(now, past, "kvfs_written_bytes_total"), "B/s", b, sizeof(b)),
	    fmt_rate(rate(now, past, "kvfs_file_hits_total"), "/s", c, sizeof(c)),
	    val(now, "kvfs_write_enospc_total"));
	put(f, "lookups %s found, %s missed   evictions %s (%.0f total)",
	    fmt_rate(found, "/s", a, sizeof(a)), fmt_rate(missed, "/s", b, sizeof(b)),
	    fmt_rate(rate(now, past, "kvfs_evictions_total"), "/s", c, sizeof(c)),
	    val(now, "kvfs_evictions_total"));
	put(f, "index   %.0f pending   %s commits   %.0f failed",
	    val(now, "kvfs_index_pending"),
	    fmt_rate(rate(now, past, "kvfs_index_transactions_total"), "/s", d, sizeof(d)),
	    val(now, "kvfs_index_commit_failures_total"));
	put(f, "%s", "");
}

struct op_row {
	const char *name;
	double total, rate, avg, max;
};

static int by_activity(const void *a, const void *b)
{
	const struct op_row *x = a, *y = b;
	double rx = isnan(x->rate) ? 0 : x->rate, ry = isnan(y->rate) ? 0 : y->rate;

	if (rx != ry)
		return rx < ry ? 1 : -1;
	return x->total < y->total ? 1 : x->total > y->total ? -1 : 0;
}

static void op_lines(struct frame *f, const struct sample *now,
		     const struct sample *past)
{
	static const char h[] = "kvfs_fuse_request_duration_seconds";
	struct op_row rows[KVFS_OP_COUNT];
	char key[128], r[32], avg[32], max[32];
	int n = 0;

	for (int op = 0; op < KVFS_OP_COUNT; op++) {
		struct op_row *o = &rows[n];
		double dsum, dcount;

		snprintf(key, sizeof(key), "%s_count{op=\"%s\"}", h, kvfs_op_names[op]);
		o->total = metrics_get(&now->m, key, -1);
		if (o->total < 0)
			continue;
		o->name = kvfs_op_names[op];
		o->rate = rate(now, past, key);
		dcount = past ? o->total - metrics_get(&past->m, key, 0) : o->total;
		snprintf(key, sizeof(key), "%s_sum{op=\"%s\"}", h, kvfs_op_names[op]);
		dsum = val(now, key) - (past ? val(past, key) : 0);
		o->avg = dcount > 0 ? dsum / dcount : NAN;
		snprintf(key, sizeof(key), "kvfs_fuse_request_duration_max_seconds{op=\"%s\"}",
			 kvfs_op_names[op]);
		o->max = val(now, key);
		n++;
	}
	qsort(rows, (size_t)n, sizeof(rows[0]), by_activity);
	put(f, "%-12s %10s %10s %10s %14s", "OPERATION", "REQ/S", "AVG", "MAX", "TOTAL");
	for (int i = 0; i < n && f->n < f->rows; i++)
		put(f, "%-12s %10s %10s %10s %14.0f", rows[i].name,
		    fmt_rate(rows[i].rate, "", r, sizeof(r)),
		    isnan(rows[i].avg) ? "-" : human_secs(rows[i].avg, avg, sizeof(avg)),
		    human_secs(rows[i].max, max, sizeof(max)), rows[i].total);
}

static void draw(const struct frame *f, int tty)
{
	char *out = xmalloc(sizeof(f->line) + 64 * 8 + 16);
	size_t len = 0;

	if (tty)
		len += (size_t)sprintf(out, "\033[H");
	for (int i = 0; i < f->n; i++)
		len += (size_t)sprintf(out + len, "%s%s\n", f->line[i], tty ? "\033[K\r" : "");
	if (tty)
		len += (size_t)sprintf(out + len, "\033[J");
	else
		out[len++] = '\n';
	if (write(STDOUT_FILENO, out, len) < 0)
		stop_signal = SIGPIPE;
	free(out);
}

static void window(struct frame *f, int tty)
{
	struct winsize ws;

	f->rows = 24;
	f->cols = 0;  /* plain output: no clipping */
	if (tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0) {
		f->rows = ws.ws_row - 1; /* the cursor rests on the last line */
		f->cols = ws.ws_col;
	}
	if (f->rows > 64)
		f->rows = 64;
}

/* Waits up to `secs` for a key; returns 1 when q was pressed. */
static int wait_key(double secs, int tty)
{
	double end = mono() + secs;
	char c;

	while (!stop_signal) {
		struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
		int ms = (int)((end - mono()) * 1000);

		if (ms <= 0)
			return 0;
		if (!tty) {
			poll(NULL, 0, ms);
			continue;
		}
		if (poll(&p, 1, ms) > 0 && read(STDIN_FILENO, &c, 1) == 1 &&
		    (c == 'q' || c == 'Q'))
			return 1;
	}
	return 1;
}

int cmd_top(int argc, char **argv)
{
	struct sample now = { 0 }, past = { 0 };
	struct kvfs_mount mnt;
	struct frame *f;
	double delay = 1.0;
	long count = -1;
	int c, r, tty, have_past = 0;

	while ((c = getopt(argc, argv, "n:d:")) != -1) {
		if (c == 'n')
			count = strtol(optarg, NULL, 10);
		else if (c == 'd')
			delay = strtod(optarg, NULL);
		else
			return KVFSCTL_USAGE;
	}
	if (optind != argc - 1 || delay < 0.1 || count == 0) {
		warnx("usage: kvfsctl top [-n COUNT] [-d SECONDS (>= 0.1)] MNT");
		return KVFSCTL_USAGE;
	}
	r = kvfsctl_find_mount(argv[optind], &mnt);
	if (r)
		return r;
	tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	if (count < 0 && !tty)
		count = 1;
	signals();
	if (tty && tty_enter() != 0)
		tty = 0;
	f = xmalloc(sizeof(*f));
	r = KVFSCTL_OK;
	while (!stop_signal) {
		if (sample_take(&mnt, &now) != 0) {
			/* Say why where it stays visible: after the screen. */
			tty_restore();
			r = kvfsctl_find_mount(mnt.dir, &mnt);
			r = r ? r : KVFSCTL_FAILED;
			break;
		}
		f->n = 0;
		window(f, tty);
		head_lines(f, &mnt, &now, have_past ? &past : NULL);
		op_lines(f, &now, have_past ? &past : NULL);
		draw(f, tty);
		sample_release(&past);
		past = now;
		memset(&now, 0, sizeof(now));
		have_past = 1;
		if (count > 0 && --count == 0)
			break;
		if (wait_key(delay, tty))
			break;
	}
	sample_release(&past);
	free(f);
	tty_restore();
	return r;
}
