/*
 * bench_support.h: what every benchmark measures with (tests/bench/support.c).
 */
#ifndef BENCH_SUPPORT_H
#define BENCH_SUPPORT_H

/* Seconds on a monotonic clock. */
double bench_now(void);

/* The median of v[0..n) (sorts v). */
double bench_median(double *v, int n);

#endif
