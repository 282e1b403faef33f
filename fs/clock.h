/*
 * clock.h - the monotonic clock as the daemon uses it: a reading in
 * nanoseconds, and condition variables whose timed waits run on it (a
 * step of the wall clock neither stretches nor cuts a wait).
 */
#ifndef KVFS_CLOCK_H
#define KVFS_CLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in nanoseconds (vDSO: no system call). */
static inline uint64_t kvfs_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* pthread_cond_init whose timed waits use CLOCK_MONOTONIC.  Returns 0 or
 * an errno value. */
static inline int kvfs_cond_init_monotonic(pthread_cond_t *c)
{
	pthread_condattr_t attr;
	int err = pthread_condattr_init(&attr);

	if (err)
		return err;
	err = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (!err)
		err = pthread_cond_init(c, &attr);
	pthread_condattr_destroy(&attr);
	return err;
}

/* The CLOCK_MONOTONIC time `ms` milliseconds from now, as the timed
 * waits of kvfs_cond_init_monotonic's conditions take it. */
static inline void kvfs_deadline_ms(struct timespec *ts, uint64_t ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)(ms / 1000);
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Waits on c (made by kvfs_cond_init_monotonic) at most `ms`
 * milliseconds; the caller holds m.  A wakeup may come early. */
static inline void kvfs_cond_wait_ms(pthread_cond_t *c, pthread_mutex_t *m,
				     uint64_t ms)
{
	struct timespec ts;

	kvfs_deadline_ms(&ts, ms);
	(void)pthread_cond_timedwait(c, m, &ts);
}

#endif
