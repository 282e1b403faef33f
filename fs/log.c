/*
 * log.c - stderr or syslog logging for the daemon and its tools.
 *
 * Global state: the level and the sink, set once at start by main() before
 * any worker thread exists, then only read.  Each message is formatted into
 * one buffer and written with one call so lines from threads do not mix.
 */
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <unistd.h>

static enum kvfs_log_level log_level = KVFS_LOG_INFO;
static int log_syslog;

void kvfs_log_set_level(enum kvfs_log_level level)
{
	log_level = level;
}

void kvfs_log_to_syslog(void)
{
	openlog("kvfs", LOG_PID, LOG_DAEMON);
	log_syslog = 1;
}

void kvfs_log(enum kvfs_log_level level, const char *fmt, ...)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char line[1024];
	va_list ap;
	int n;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	if (log_syslog) {
		syslog(prio[level], "%s", line);
		return;
	}
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0) {
		/* Nowhere left to report a failing stderr. */
	}
}

void kvfs_assert_fail(const char *expr, const char *file, int line)
{
	kvfs_log(KVFS_LOG_ERR, "kvfs: assertion failed: %s (%s:%d)", expr, file, line);
	abort();
}
