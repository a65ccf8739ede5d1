/*
 * support.c: the benchmarks' clock and median (bench_support.h).
 */
#include "bench_support.h"

#include <stdlib.h>
#include <time.h>

#include "ts_clock.h"

double bench_now(void) { return ts_clock_seconds(); }

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof v[0], cmp_double);
    return v[n / 2];
}
