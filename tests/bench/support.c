/*
 * support.c: the benchmarks' clock, median and shared steps (bench_support.h).
 */
#include "bench_support.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ts_buf.h"
#include "ts_clock.h"
#include "ts_diff.h"

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

void bench_die(const char *what, const ts_error *err)
{
    fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what,
            err ? err->msg : "failed");
    exit(1);
}

void bench_url_with_schema(char *out, size_t n, const char *pg, const char *schema)
{
    snprintf(out, n, "%s%cschema=%s", pg, strchr(pg, '?') ? '&' : '?', schema);
}

void bench_exec_url(const char *url, const char *sql)
{
    ts_store *s;
    ts_error err;
    if (ts_store_open(url, &s, &err) || ts_store_script(s, sql, &err))
        bench_die(sql, &err);
    ts_store_close(s);
}

void bench_drop_round_schemas(const char *pg, const char *prefix, int rounds)
{
    for (int r = 0; r < rounds; r++) {
        ts_buf sql = {0};
        for (int k = 1; k <= 3; k++)
            ts_buf_printf(&sql, "DROP SCHEMA IF EXISTS %s%d_%d CASCADE;", prefix, k, r);
        bench_exec_url(pg, sql.s);
        ts_buf_free(&sql);
    }
}

double bench_pgloader(const char *sqlite_path, const char *pg, const char *db, const char *names)
{
    const char *port = strstr(pg, "port="), *user = strstr(pg, "user=");
    ts_buf load = {0}, cmd = {0};
    if (port == NULL)
        bench_die("pgloader setup (TS_TEST_PG_URL needs port=)", NULL);
    ts_buf_printf(&load, "%s.load", sqlite_path);
    FILE *f = fopen(load.s, "w");
    if (f == NULL)
        bench_die(load.s, NULL);
    fprintf(f, "LOAD DATABASE FROM sqlite://%s INTO postgresql://%.*s@127.0.0.1:%.*s/%s\n"
            " WITH include drop, create tables, create indexes, reset sequences\n"
            " INCLUDING ONLY TABLE NAMES LIKE %s;\n", sqlite_path,
            user ? (int)strcspn(user + 5, "&") : 8, user ? user + 5 : "postgres",
            (int)strcspn(port + 5, "&"), port + 5, db, names);
    fclose(f);
    ts_buf_printf(&cmd, "pgloader --quiet %s > %s.log 2>&1", load.s, sqlite_path);
    double t0 = bench_now();
    int rc = system(cmd.s);
    double t = bench_now() - t0;
    unlink(load.s);
    ts_buf_free(&load);
    ts_buf_free(&cmd);
    if (rc != 0) {
        fprintf(stderr, "%s: pgloader failed (exit %d): see %s.log\n",
                program_invocation_short_name, rc, sqlite_path);
        return -1;
    }
    return t;
}

double bench_diff(ts_store *legacy, ts_store *nw, const ts_increment *const *incs, int ninc,
                  int64_t *diffs)
{
    ts_error err;
    ts_vreport r;
    ts_vlog lg;
    ts_diff_opts o = {TS_DIFF_CHUNK_DEFAULT, 0, 0};
    ts_vreport_init(&r, "diff", 100);
    double t = bench_now();
    if (ts_vlog_open(&lg, NULL, 0, "l", "n", o.chunk, &err) ||
        ts_diff_run(legacy, nw, incs, ninc, &o, &r, &lg, &err))
        bench_die("diff", &err);
    t = bench_now() - t;
    *diffs = 0;
    for (int i = 0; i < r.ntables; i++)
        *diffs += r.tables[i].c.kinds[TS_DK_CHANGED] + r.tables[i].c.kinds[TS_DK_MISSING] +
                  r.tables[i].c.kinds[TS_DK_EXTRA];
    ts_vlog_close(&lg);
    ts_vreport_free(&r);
    return t;
}
