/*
 * ts_clock.h: the one monotonic clock, for intervals, timeouts and deadlines.
 * It never goes back and means nothing as a date (timestamps: ts_time_now).
 */
#ifndef TS_CLOCK_H
#define TS_CLOCK_H

#include <stdint.h>

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t ts_clock_ms(void);
/* Seconds, with their fraction, on the same clock: for durations reported. */
double ts_clock_seconds(void);

#endif
