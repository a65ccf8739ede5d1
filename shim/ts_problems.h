/*
 * ts_problems.h: every problem of a check, not just the first.
 *
 * Comparing a manifest with a live catalog finds many things at once (three
 * tables nobody accounted for, a missing column, a type change); an operator
 * fixes them in one go only if all are named. Checks add what they find here,
 * and the caller turns the list into one error (ts_problems_fail) or prints it
 * whole (ts-migrate manifest check).
 */
#ifndef TS_PROBLEMS_H
#define TS_PROBLEMS_H

#include "ts_error.h"

typedef struct ts_problems {
    char **v;
    int n, cap;
    int oom;
} ts_problems;

void ts_problems_add(ts_problems *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Fill err with code and "<what>: <n> problem(s): first; second; ... (and K more: <hint>)",
   as many as fit, and return -1; return 0 when there are none. */
int ts_problems_fail(const ts_problems *p, ts_error *err, ts_code code, const char *what,
                     const char *hint);
void ts_problems_free(ts_problems *p);

#endif
