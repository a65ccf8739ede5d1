/*
 * bench_real_schema.c: the backfill and the diff on the real bot's schema.
 *
 * The RemnaWave bot's 48 tables (fixtures/real-schema/), each filled with
 * ROWS rows by ts_fill_live (seed 1), a manifest drafted from the live
 * catalog (ts_mdraft_run: 47 tables in 47 increments, system_settings
 * ignored), the new tables made as 'advance' makes them. Per round, each
 * into a fresh new schema or database, interleaved:
 *
 *  1. same PostgreSQL (two schemas of one database): ts_backfill_run of every
 *     drafted increment, in manifest order, versus one
 *     INSERT INTO new.t (bot_id, cols) SELECT $1, cols FROM legacy.t per table
 *     in one transaction, in the same order;
 *  2. cross-engine (legacy SQLite file -> new PostgreSQL schema): the same
 *     backfill versus pgloader loading the same 47 tables from the SQLite
 *     file into a fresh database (skipped when pgloader is not installed);
 *  3. ts-verify's diff of every increment of the first copy (legacy against
 *     the master bot's rows) versus SELECT count(*) FROM (legacy EXCEPT ALL
 *     new) and the reverse, per table, every column (JSON columns as jsonb:
 *     json has no equality, and diff compares JSON as values).
 *
 * Medians of ROUNDS rounds; ratios against the goals of the issue "Adopt the
 * team's real database" with MET or MISSED (backfill >= 0.8x INSERT ...
 * SELECT, >= 1.0x pgloader; diff <= 1.0x EXCEPT ALL).
 *
 *   bench_real_schema [ROWS [BATCH]]   default 5000 rows per table, batch the
 *                                      ts-migrate default; run from the source
 *                                      tree; PostgreSQL from TS_TEST_PG_URL
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_support.h"
#include "ts_backfill.h"
#include "ts_diff.h"
#include "ts_fill.h"
#include "ts_mdraft.h"
#include "ts_mexpand.h"
#include "ts_mig.h"

#define ROUNDS 3
#define DDL_PG "fixtures/real-schema/remnabot-2025-12-12.pg.sql"
#define DDL_SQLITE "fixtures/real-schema/remnabot-2025-12-12.sqlite.sql"

static int batch = TS_BACKFILL_BATCH_DEFAULT;

static const char *verdict(int met) { return met ? "MET" : "MISSED"; }

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    ts_buf b = {0};
    char chunk[4096];
    size_t n;
    if (f == NULL) {
        fprintf(stderr, "bench_real_schema: cannot read %s (run from the source tree)\n", path);
        exit(1);
    }
    while ((n = fread(chunk, 1, sizeof chunk - 1, f)) > 0) {
        chunk[n] = '\0';
        ts_buf_puts(&b, chunk);
    }
    fclose(f);
    return b.s;
}

/* The real schema at url, ROWS rows per table; returns the rows written. */
static int64_t load_real(const char *url, const char *ddl_path, int rows)
{
    ts_store *s;
    ts_error err;
    int64_t n = 0;
    char *ddl = read_file(ddl_path);
    ts_fill_opts o = {1, rows};
    if (ts_store_open(url, &s, &err) || ts_store_script(s, ddl, &err) ||
        ts_fill_live(s, &o, &n, &err))
        bench_die("loading the real schema", &err);
    if (ts_store_engine(s) == TS_ENGINE_PG && ts_store_script(s, "ANALYZE", &err))
        bench_die("analyze", &err);
    ts_store_close(s);
    free(ddl);
    return n;
}

/* ts-migrate manifest draft of the store at url, into path. */
static void draft(const char *url, const char *path)
{
    ts_error err;
    FILE *f = fopen(path, "w");
    if (f == NULL)
        bench_die(path, NULL);
    if (ts_mdraft_run(url, f, &err))
        bench_die("manifest draft", &err);
    fclose(f);
}

static void mig_open(ts_mig *g, const char *legacy_url, const char *new_url, const char *manifest)
{
    ts_error err;
    ts_mig_opts o = {0};
    o.legacy_url = legacy_url;
    o.new_url = new_url;
    o.manifest_path = manifest;
    o.actor = "bench";
    o.master_token = "1:bench-token";
    o.batch = batch;
    o.ack_timeout_ms = 1000;
    o.liveness_ms = 10000;
    o.lock_ttl_s = 60;
    /* ts-migrate's default (ts_margs.c): legacy's catalog asked again at
       most every second, not before every chunk. */
    o.recheck_ms = 1000;
    if (ts_mig_open(g, &o, &err))
        bench_die("open", &err);
    g->out = fopen("/dev/null", "w");
}

static void mig_close(ts_mig *g)
{
    fclose(g->out);
    ts_mig_close(g);
}

/* Rows of the tables the manifest moves, and how many tables. */
static int64_t moved_rows(ts_mig *g, int *ntables)
{
    int64_t total = 0;
    ts_error err;
    *ntables = 0;
    for (int i = 0; i < ts_manifest_count(g->m); i++) {
        const ts_increment *inc = ts_manifest_at(g->m, i);
        for (int k = 0; k < inc->ntmaps; k++, (*ntables)++) {
            int64_t n = 0;
            if (ts_store_query_int_sql(g->legacy, inc->tmaps[k].legacy->name,
                                       "SELECT count(*) FROM %s", NULL, 0, &n, &err) < 0)
                bench_die("count", &err);
            total += n;
        }
    }
    return total;
}

/* Every increment's tables in new, at dual_write: what init and 'advance'
   twice would have done. */
static void prepare(ts_mig *g)
{
    ts_error err;
    if (ts_control_init(g->legacy, g->nw, g->m, &err))
        bench_die("init", &err);
    for (int i = 0; i < ts_manifest_count(g->m); i++) {
        const ts_increment *inc = ts_manifest_at(g->m, i);
        ts_value p = ts_text(inc->id);
        if (ts_mexpand_create(g, inc, &err))
            bench_die("expand", &err);
        if (ts_store_exec_sql(g->nw, "ts_increments", "UPDATE %s SET stage = 'dual_write', "
                              "version = version + 2 WHERE id = $1", &p, 1, NULL, &err))
            bench_die("stage", &err);
    }
}

static double run_backfill(const char *legacy_url, const char *new_url, const char *manifest)
{
    ts_mig g;
    ts_mlock lock = {0};
    ts_error err;
    mig_open(&g, legacy_url, new_url, manifest);
    prepare(&g);
    /* Progress lines would be most of the output: off for the timing. */
    fflush(stderr);
    FILE *saved = stderr;
    stderr = g.out;
    double t0 = bench_now();
    /* What ts-migrate backfill checks first (migrate/main.c), once for the
       whole run: the legacy catalog against the manifest. */
    if (ts_mig_conform(&g, &err)) {
        stderr = saved;
        bench_die("conform", &err);
    }
    for (int i = 0; i < ts_manifest_count(g.m); i++) {
        const ts_increment *inc = ts_manifest_at(g.m, i);
        if (inc->ntmaps > 0 && ts_backfill_run(&g, &lock, inc, &err)) {
            stderr = saved;
            bench_die("backfill", &err);
        }
    }
    double t = bench_now() - t0;
    stderr = saved;
    mig_close(&g);
    return t;
}

/* "a", "b", ... of a legacy table's columns, JSON ones as jsonb when asked. */
static void column_list(const ts_table *t, int jsonb, ts_buf *out)
{
    char q[TS_IDENT_MAX + 3];
    ts_error err;
    for (int c = 0; c < t->ncols; c++) {
        if (ts_quote_ident(t->cols[c].name, q, &err))
            bench_die("column name", &err);
        ts_buf_printf(out, "%s%s%s", c ? ", " : "", q,
                      jsonb && t->cols[c].type == TS_COL_JSON ? "::jsonb" : "");
    }
}

/* fn(g, tm, legacy table, new table, arg) for every table map, manifest order;
   the names quoted and schema-qualified. */
static void each_table(ts_mig *g, void (*fn)(ts_mig *g, const ts_tmap *tm, const char *lq,
                                             const char *nq, void *arg), void *arg)
{
    ts_error err;
    for (int i = 0; i < ts_manifest_count(g->m); i++) {
        const ts_increment *inc = ts_manifest_at(g->m, i);
        for (int k = 0; k < inc->ntmaps; k++) {
            const ts_tmap *tm = &inc->tmaps[k];
            char lq[TS_QNAME_MAX], nq[TS_QNAME_MAX];
            if (ts_store_table(g->legacy, tm->legacy->name, lq, &err) ||
                ts_store_table(g->nw, tm->target->name, nq, &err))
                bench_die("table name", &err);
            fn(g, tm, lq, nq, arg);
        }
    }
}

static void insert_select(ts_mig *g, const ts_tmap *tm, const char *lq, const char *nq, void *arg)
{
    ts_error err;
    ts_buf cols = {0}, sql = {0};
    column_list(tm->legacy, 0, &cols);
    ts_buf_printf(&sql, "INSERT INTO %s (\"bot_id\", %s) SELECT $1, %s FROM %s", nq, cols.s,
                  cols.s, lq);
    if (ts_store_exec(g->nw, sql.s, arg, 1, NULL, &err))
        bench_die(sql.s, &err);
    ts_buf_free(&cols);
    ts_buf_free(&sql);
}

/* INSERT INTO new.t (bot_id, cols) SELECT $1, cols FROM legacy.t, per table
   in manifest order, one transaction. */
static double run_insert_select(const char *legacy_url, const char *new_url, const char *manifest)
{
    ts_mig g;
    ts_error err;
    mig_open(&g, legacy_url, new_url, manifest);
    prepare(&g);
    ts_value bot = ts_int(g.master);
    double t0 = bench_now();
    if (ts_store_begin(g.nw, &err))
        bench_die("begin", &err);
    each_table(&g, insert_select, &bot);
    if (ts_store_commit(g.nw, &err))
        bench_die("commit", &err);
    double t = bench_now() - t0;
    mig_close(&g);
    return t;
}

static int have_pgloader(void)
{
    return system("command -v pgloader > /dev/null 2>&1") == 0;
}

/* The manifest's legacy tables as 'a', 'b', ... (pgloader's list). */
static void table_names(const ts_manifest *m, ts_buf *out)
{
    int n = 0;
    for (int i = 0; i < ts_manifest_count(m); i++) {
        const ts_increment *inc = ts_manifest_at(m, i);
        for (int k = 0; k < inc->ntmaps; k++)
            ts_buf_printf(out, "%s'%s'", n++ ? ", " : "", inc->tmaps[k].legacy->name);
    }
}

/* ts-verify diff of every data increment; *diffs gets the differences found. */
static double run_diff(const char *legacy_url, const char *new_url, const char *manifest,
                       int64_t *diffs)
{
    ts_store *legacy, *nw;
    ts_manifest *m;
    ts_error err;
    if (ts_store_open(legacy_url, &legacy, &err) || ts_store_open(new_url, &nw, &err) ||
        ts_manifest_load_live(manifest, legacy, &m, &err))
        bench_die("diff setup", &err);
    const ts_increment **incs = calloc((size_t)ts_manifest_count(m) + 1, sizeof *incs);
    int ninc;
    if (incs == NULL || ts_diff_select(m, NULL, 0, incs, &ninc, &err))
        bench_die("diff select", incs ? &err : NULL);
    double t = bench_diff(legacy, nw, incs, ninc, diffs);
    free(incs);
    ts_manifest_free(m);
    ts_store_close(nw);
    ts_store_close(legacy);
    return t;
}

/* SELECT count(*) FROM (legacy EXCEPT ALL new) and the reverse: rows found
   added to *(int64_t *)arg. */
static void except_both(ts_mig *g, const ts_tmap *tm, const char *lq, const char *nq, void *arg)
{
    ts_error err;
    ts_buf cols = {0}, sql = {0};
    ts_value bot = ts_int(g->master);
    int64_t a = 0, b = 0;
    column_list(tm->legacy, 1, &cols);
    ts_buf_printf(&sql, "SELECT count(*) FROM (SELECT %s FROM %s EXCEPT ALL SELECT %s "
                  "FROM %s WHERE \"bot_id\" = $1) x", cols.s, lq, cols.s, nq);
    if (ts_store_query_int(g->legacy, sql.s, &bot, 1, &a, &err) < 0)
        bench_die(sql.s, &err);
    ts_buf_free(&sql);
    ts_buf_printf(&sql, "SELECT count(*) FROM (SELECT %s FROM %s WHERE \"bot_id\" = $1 "
                  "EXCEPT ALL SELECT %s FROM %s) x", cols.s, nq, cols.s, lq);
    if (ts_store_query_int(g->legacy, sql.s, &bot, 1, &b, &err) < 0)
        bench_die(sql.s, &err);
    ts_buf_free(&sql);
    ts_buf_free(&cols);
    *(int64_t *)arg += a + b;
}

/* SELECT count(*) FROM (legacy EXCEPT ALL new) and the reverse, per moved
   table; *rows gets the rows they found. */
static double run_except(const char *legacy_url, const char *new_url, const char *manifest,
                         int64_t *rows)
{
    ts_mig g;
    mig_open(&g, legacy_url, new_url, manifest);
    *rows = 0;
    double t0 = bench_now();
    each_table(&g, except_both, rows);
    double t = bench_now() - t0;
    mig_close(&g);
    return t;
}

int main(int argc, char **argv)
{
    const char *pg = getenv("TS_TEST_PG_URL");
    const char *tmp = getenv("TMPDIR");
    int rows_per_table = argc > 1 ? atoi(argv[1]) : 5000;
    if (argc > 2 && (batch = atoi(argv[2])) < 1)
        batch = TS_BACKFILL_BATCH_DEFAULT;
    char l[1024], path[512], sq[600], mpg[600], msq[600];
    double tb[ROUNDS], ti[ROUNDS], tc[ROUNDS], tp[ROUNDS], td[ROUNDS], te[ROUNDS];
    int64_t diffs = 0, excepted = 0;
    if (pg == NULL || *pg == '\0') {
        printf("bench_real_schema: TS_TEST_PG_URL not set: skipped\n");
        return 0;
    }
    if (rows_per_table < 100)
        rows_per_table = 100;
    tmp = tmp && *tmp ? tmp : "/tmp";
    snprintf(path, sizeof path, "%s/bench-real-%ld.db", tmp, (long)getpid());
    snprintf(mpg, sizeof mpg, "%s/bench-real-%ld.pg.json", tmp, (long)getpid());
    snprintf(msq, sizeof msq, "%s/bench-real-%ld.sqlite.json", tmp, (long)getpid());
    snprintf(sq, sizeof sq, "sqlite:%s", path);
    unlink(path);
    bench_url_with_schema(l, sizeof l, pg, "rs_legacy");
    bench_exec_url(pg, "DROP SCHEMA IF EXISTS rs_legacy CASCADE");
    bench_drop_round_schemas(pg, "rs_new", ROUNDS);
    /* Outside a transaction block: one statement each. */
    bench_exec_url(pg, "DROP DATABASE IF EXISTS rs_pgloader");
    bench_exec_url(pg, "CREATE DATABASE rs_pgloader");

    printf("real-schema benchmark: the RemnaWave schema (48 tables), %d rows per table "
           "(ts_fill_live, seed 1), drafted manifest, median of %d interleaved rounds\n",
           rows_per_table, ROUNDS);
    fflush(stdout);
    double t0 = bench_now();
    load_real(l, DDL_PG, rows_per_table);
    load_real(sq, DDL_SQLITE, rows_per_table);
    draft(l, mpg);
    draft(sq, msq);
    ts_mig g;
    int ntables, ntables_sq;
    mig_open(&g, l, pg, mpg);
    int64_t rows = moved_rows(&g, &ntables);
    mig_close(&g);
    mig_open(&g, sq, pg, msq);
    int64_t rows_sq = moved_rows(&g, &ntables_sq);
    ts_buf names = {0};
    table_names(g.m, &names);
    mig_close(&g);
    int pgloader_ok = have_pgloader();
    if (!pgloader_ok)
        printf("pgloader not installed: the cross-engine baseline is skipped\n");
    printf("setup: %.1f s; %d tables moved, %lld rows (SQLite: %d tables, %lld rows)\n",
           bench_now() - t0, ntables, (long long)rows, ntables_sq, (long long)rows_sq);
    fflush(stdout);

    for (int r = 0; r < ROUNDS; r++) {
        char n1[1024], n2[1024], n3[1024], s1[32], s2[32], s3[32];
        int64_t d = 0, e = 0;
        snprintf(s1, sizeof s1, "rs_new1_%d", r);
        snprintf(s2, sizeof s2, "rs_new2_%d", r);
        snprintf(s3, sizeof s3, "rs_new3_%d", r);
        bench_url_with_schema(n1, sizeof n1, pg, s1);
        bench_url_with_schema(n2, sizeof n2, pg, s2);
        bench_url_with_schema(n3, sizeof n3, pg, s3);
        tb[r] = run_backfill(l, n1, mpg);
        ti[r] = run_insert_select(l, n2, mpg);
        bench_exec_url(pg, "ANALYZE");
        /* The diff and EXCEPT ALL compare the backfilled copy; alternate who goes first. */
        if (r % 2 == 0) {
            td[r] = run_diff(l, n1, mpg, &d);
            te[r] = run_except(l, n1, mpg, &e);
        } else {
            te[r] = run_except(l, n1, mpg, &e);
            td[r] = run_diff(l, n1, mpg, &d);
        }
        diffs += d;
        excepted += e;
        tc[r] = run_backfill(sq, n3, msq);
        tp[r] = pgloader_ok ? bench_pgloader(path, pg, "rs_pgloader", names.s) : -1;
        pgloader_ok &= tp[r] > 0;
        printf("  round %d: backfill %.2fs, INSERT SELECT %.2fs, diff %.2fs, EXCEPT ALL %.2fs, "
               "cross-engine backfill %.2fs, pgloader %.2fs\n", r + 1, tb[r], ti[r], td[r], te[r],
               tc[r], tp[r]);
        fflush(stdout);
        bench_drop_round_schemas(pg, "rs_new", ROUNDS); /* keep the server's buffers for the next round's copies */
    }
    ts_buf_free(&names);
    double b = bench_median(tb, ROUNDS), i = bench_median(ti, ROUNDS);
    double c = bench_median(tc, ROUNDS), p = pgloader_ok ? bench_median(tp, ROUNDS) : -1;
    double d = bench_median(td, ROUNDS), e = bench_median(te, ROUNDS);
    printf("same PostgreSQL  backfill (batch %5d)     %7.2fs %9.0f rows/s\n", batch, b,
           (double)rows / b);
    printf("same PostgreSQL  INSERT INTO ... SELECT    %7.2fs %9.0f rows/s\n", i, (double)rows / i);
    printf("  ratio backfill / INSERT SELECT throughput: %.2fx (goal >= 0.80x: %s)\n", i / b,
           verdict(i / b >= 0.8));
    printf("SQLite -> PG     backfill (batch %5d)     %7.2fs %9.0f rows/s\n", batch, c,
           (double)rows_sq / c);
    if (p > 0) {
        printf("SQLite -> PG     pgloader                  %7.2fs %9.0f rows/s\n", p,
               (double)rows_sq / p);
        printf("  ratio backfill / pgloader throughput: %.2fx (goal >= 1.00x: %s)\n", p / c,
               verdict(p / c >= 1.0));
    } else {
        printf("  ratio backfill / pgloader throughput: skipped (no pgloader run)\n");
    }
    printf("same PostgreSQL  diff, every increment      %7.2fs %9.0f rows/s (%lld differences)\n",
           d, (double)rows / d, (long long)diffs);
    printf("same PostgreSQL  EXCEPT ALL both ways       %7.2fs %9.0f rows/s (%lld rows)\n", e,
           (double)rows / e, (long long)excepted);
    printf("  ratio diff / EXCEPT ALL time: %.2fx (goal <= 1.00x: %s)\n", d / e, verdict(d <= e));
    if (diffs != 0 || excepted != 0)
        printf("  the copies differ from legacy: the comparison is not of identical data\n");
    bench_exec_url(pg, "DROP SCHEMA rs_legacy CASCADE");
    bench_exec_url(pg, "DROP DATABASE IF EXISTS rs_pgloader");
    unlink(path);
    unlink(mpg);
    unlink(msq);
    return 0;
}
