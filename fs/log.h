/*
 * log.h - the daemon's logger and its one assertion macro.
 *
 * Messages go to stderr while the daemon runs in the foreground and to syslog
 * once it has daemonized; kvfs_log_to_syslog() switches.  The logger is one of
 * the few process-wide globals kvfs allows (see STYLE.md, "State"); it is safe
 * to call from any thread.
 *
 * KVFS_ASSERT is for programming errors only (a lookup count going negative,
 * a lock not held).  Never assert on disk content, user input or syscall
 * results: return -EIO or -EINVAL instead.
 */
#ifndef KVFS_LOG_H
#define KVFS_LOG_H

#include <stdarg.h>

enum kvfs_log_level { KVFS_LOG_ERR, KVFS_LOG_WARN, KVFS_LOG_INFO, KVFS_LOG_DEBUG };

void kvfs_log(enum kvfs_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void kvfs_log_set_level(enum kvfs_log_level level);
void kvfs_log_to_syslog(void);

#define kvfs_err(...)   kvfs_log(KVFS_LOG_ERR, __VA_ARGS__)
#define kvfs_warn(...)  kvfs_log(KVFS_LOG_WARN, __VA_ARGS__)
#define kvfs_info(...)  kvfs_log(KVFS_LOG_INFO, __VA_ARGS__)
#define kvfs_debug(...) kvfs_log(KVFS_LOG_DEBUG, __VA_ARGS__)

_Noreturn void kvfs_assert_fail(const char *expr, const char *file, int line);

#define KVFS_ASSERT(expr) \
	((expr) ? (void)0 : kvfs_assert_fail(#expr, __FILE__, __LINE__))

/* Debug-build-only checks of an object's invariants (kvfs_<module>_check()). */
#ifdef KVFS_DEBUG
#define KVFS_DCHECK(expr) KVFS_ASSERT(expr)
#else
#define KVFS_DCHECK(expr) ((void)0)
#endif

#endif
