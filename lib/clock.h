/*
 * clock.h: the two clocks the service uses.
 */
#ifndef CLOCK_H
#define CLOCK_H

#include <stdint.h>
#include <time.h>

/* Microseconds on the monotonic clock: for deadlines and durations. */
static inline int64_t
clock_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Seconds since the epoch: for expiries that are shared between processes. */
static inline int64_t
clock_unix_s(void)
{
	return (int64_t)time(NULL);
}

#endif /* CLOCK_H */
