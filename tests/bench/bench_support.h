/*
 * bench_support.h: what every benchmark measures with (tests/bench/support.c).
 */
#ifndef BENCH_SUPPORT_H
#define BENCH_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

#include "ts_error.h"
#include "ts_manifest.h"
#include "ts_store.h"

/* Seconds on a monotonic clock. */
double bench_now(void);

/* The median of v[0..n) (sorts v). */
double bench_median(double *v, int n);

/* Print "PROGRAM: what: err" and exit 1 (a benchmark: nothing to unwind). */
void bench_die(const char *what, const ts_error *err) __attribute__((noreturn));

/* The PostgreSQL URL pg with ?schema=schema (or &schema=) into out[n]. */
void bench_url_with_schema(char *out, size_t n, const char *pg, const char *schema);

/* Run sql (a script) in the store at url, on a connection of its own. */
void bench_exec_url(const char *url, const char *sql);

/* Drop the schemas PREFIX1_R, PREFIX2_R and PREFIX3_R of rounds 0..rounds-1. */
void bench_drop_round_schemas(const char *pg, const char *prefix, int rounds);

/* pgloader of the tables names ('a', 'b', ...) from the SQLite file into the
   database db of the server of pg (which needs port=): seconds, or -1 when it
   failed (its output in SQLITE_PATH.log). */
double bench_pgloader(const char *sqlite_path, const char *pg, const char *db, const char *names);

/* ts_diff_run of incs: seconds; *diffs gets the differences it found. */
double bench_diff(ts_store *legacy, ts_store *nw, const ts_increment *const *incs, int ninc,
                  int64_t *diffs);

#endif
