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

static void die(const char *what, const ts_error *err)
{
    fprintf(stderr, "bench_real_schema: %s: %s\n", what, err ? err->msg : "failed");
    exit(1); /* a benchmark program: nothing to unwind */
}

static const char *verdict(int met) { return met ? "MET" : "MISSED"; }

static void url_with_schema(char *out, size_t n, const char *pg, const char *schema)
{
    snprintf(out, n, "%s%cschema=%s", pg, strchr(pg, '?') ? '&' : '?', schema);
}

static void exec_url(const char *url, const char *sql)
{
    ts_store *s;
    ts_error err;
    if (ts_store_open(url, &s, &err) || ts_store_script(s, sql, &err))
        die(sql, &err);
    ts_store_close(s);
}

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
        die("loading the real schema", &err);
    if (ts_store_engine(s) == TS_ENGINE_PG && ts_store_script(s, "ANALYZE", &err))
        die("analyze", &err);
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
        die(path, NULL);
    if (ts_mdraft_run(url, f, &err))
        die("manifest draft", &err);
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
        die("open", &err);
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
                die("count", &err);
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
        die("init", &err);
    for (int i = 0; i < ts_manifest_count(g->m); i++) {
        const ts_increment *inc = ts_manifest_at(g->m, i);
        ts_value p = ts_text(inc->id);
        if (ts_mexpand_create(g, inc, &err))
            die("expand", &err);
        if (ts_store_exec_sql(g->nw, "ts_increments", "UPDATE %s SET stage = 'dual_write', "
                              "version = version + 2 WHERE id = $1", &p, 1, NULL, &err))
            die("stage", &err);
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
        die("conform", &err);
    }
    for (int i = 0; i < ts_manifest_count(g.m); i++) {
        const ts_increment *inc = ts_manifest_at(g.m, i);
        if (inc->ntmaps > 0 && ts_backfill_run(&g, &lock, inc, &err)) {
            stderr = saved;
            die("backfill", &err);
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
            die("column name", &err);
        ts_buf_printf(out, "%s%s%s", c ? ", " : "", q,
                      jsonb && t->cols[c].type == TS_COL_JSON ? "::jsonb" : "");
    }
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
        die("begin", &err);
    for (int i = 0; i < ts_manifest_count(g.m); i++) {
        const ts_increment *inc = ts_manifest_at(g.m, i);
        for (int k = 0; k < inc->ntmaps; k++) {
            const ts_tmap *tm = &inc->tmaps[k];
            char lq[TS_QNAME_MAX], nq[TS_QNAME_MAX];
            ts_buf cols = {0}, sql = {0};
            if (ts_store_table(g.legacy, tm->legacy->name, lq, &err) ||
                ts_store_table(g.nw, tm->target->name, nq, &err))
                die("table name", &err);
            column_list(tm->legacy, 0, &cols);
            ts_buf_printf(&sql, "INSERT INTO %s (\"bot_id\", %s) SELECT $1, %s FROM %s", nq,
                          cols.s, cols.s, lq);
            if (ts_store_exec(g.nw, sql.s, &bot, 1, NULL, &err))
                die(sql.s, &err);
            ts_buf_free(&cols);
            ts_buf_free(&sql);
        }
    }
    if (ts_store_commit(g.nw, &err))
        die("commit", &err);
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

/* pgloader of the tables (names, table_names) from the SQLite file into database db. */
static double run_pgloader(const char *sqlite_path, const char *pg, const char *db,
                           const char *names)
{
    const char *port = strstr(pg, "port="), *user = strstr(pg, "user=");
    ts_buf load = {0}, cmd = {0};
    if (port == NULL)
        die("pgloader setup (TS_TEST_PG_URL needs port=)", NULL);
    ts_buf_printf(&load, "%s.load", sqlite_path);
    FILE *f = fopen(load.s, "w");
    if (f == NULL)
        die(load.s, NULL);
    fprintf(f, "LOAD DATABASE FROM sqlite://%s INTO postgresql://%.*s@127.0.0.1:%.*s/%s\n"
            " WITH include drop, create tables, create indexes, reset sequences\n"
            " INCLUDING ONLY TABLE NAMES LIKE %s;\n", sqlite_path,
            user ? (int)strcspn(user + 5, "&") : 8, user ? user + 5 : "postgres",
            (int)strcspn(port + 5, "&"), port + 5, db, names);
    fclose(f);
    ts_buf_printf(&cmd, "pgloader --quiet '%s' > '%s.log' 2>&1", load.s, sqlite_path);
    double t0 = bench_now();
    int rc = system(cmd.s);
    double t = bench_now() - t0;
    unlink(load.s);
    ts_buf_free(&load);
    ts_buf_free(&cmd);
    if (rc != 0) {
        fprintf(stderr, "bench_real_schema: pgloader failed (exit %d): see %s.log\n", rc,
                sqlite_path);
        return -1;
    }
    return t;
}

/* ts-verify diff of every data increment; *diffs gets the differences found. */
static double run_diff(const char *legacy_url, const char *new_url, const char *manifest,
                       int64_t *diffs)
{
    ts_store *legacy, *nw;
    ts_manifest *m;
    ts_error err;
    ts_vreport r;
    ts_vlog lg;
    ts_diff_opts o = {TS_DIFF_CHUNK_DEFAULT, 0, 0};
    if (ts_store_open(legacy_url, &legacy, &err) || ts_store_open(new_url, &nw, &err) ||
        ts_manifest_load_live(manifest, legacy, &m, &err))
        die("diff setup", &err);
    const ts_increment **incs = calloc((size_t)ts_manifest_count(m) + 1, sizeof *incs);
    int ninc;
    if (incs == NULL || ts_diff_select(m, NULL, 0, incs, &ninc, &err))
        die("diff select", incs ? &err : NULL);
    ts_vreport_init(&r, "diff", 100);
    double t = bench_now();
    if (ts_vlog_open(&lg, NULL, 0, "l", "n", o.chunk, &err) ||
        ts_diff_run(legacy, nw, incs, ninc, &o, &r, &lg, &err))
        die("diff", &err);
    t = bench_now() - t;
    *diffs = 0;
    for (int i = 0; i < r.ntables; i++)
        *diffs += r.tables[i].c.kinds[TS_DK_CHANGED] + r.tables[i].c.kinds[TS_DK_MISSING] +
                  r.tables[i].c.kinds[TS_DK_EXTRA];
    ts_vlog_close(&lg);
    ts_vreport_free(&r);
    free(incs);
    ts_manifest_free(m);
    ts_store_close(nw);
    ts_store_close(legacy);
    return t;
}

/* SELECT count(*) FROM (legacy EXCEPT ALL new) and the reverse, per moved
   table; *rows gets the rows they found. */
static double run_except(const char *legacy_url, const char *new_url, const char *manifest,
                         int64_t *rows)
{
    ts_mig g;
    ts_error err;
    mig_open(&g, legacy_url, new_url, manifest);
    ts_value bot = ts_int(g.master);
    *rows = 0;
    double t0 = bench_now();
    for (int i = 0; i < ts_manifest_count(g.m); i++) {
        const ts_increment *inc = ts_manifest_at(g.m, i);
        for (int k = 0; k < inc->ntmaps; k++) {
            const ts_tmap *tm = &inc->tmaps[k];
            char lq[TS_QNAME_MAX], nq[TS_QNAME_MAX];
            ts_buf cols = {0}, sql = {0};
            int64_t a = 0, b = 0;
            if (ts_store_table(g.legacy, tm->legacy->name, lq, &err) ||
                ts_store_table(g.nw, tm->target->name, nq, &err))
                die("table name", &err);
            column_list(tm->legacy, 1, &cols);
            ts_buf_printf(&sql, "SELECT count(*) FROM (SELECT %s FROM %s EXCEPT ALL SELECT %s "
                          "FROM %s WHERE \"bot_id\" = $1) x", cols.s, lq, cols.s, nq);
            if (ts_store_query_int(g.legacy, sql.s, &bot, 1, &a, &err) < 0)
                die(sql.s, &err);
            ts_buf_free(&sql);
            ts_buf_printf(&sql, "SELECT count(*) FROM (SELECT %s FROM %s WHERE \"bot_id\" = $1 "
                          "EXCEPT ALL SELECT %s FROM %s) x", cols.s, nq, cols.s, lq);
            if (ts_store_query_int(g.legacy, sql.s, &bot, 1, &b, &err) < 0)
                die(sql.s, &err);
            ts_buf_free(&sql);
            ts_buf_free(&cols);
            *rows += a + b;
        }
    }
    double t = bench_now() - t0;
    mig_close(&g);
    return t;
}

static void drop_new_schemas(const char *pg)
{
    char sql[512];
    for (int r = 0; r < ROUNDS; r++) {
        snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS rs_new1_%d CASCADE; DROP SCHEMA IF EXISTS "
                 "rs_new2_%d CASCADE; DROP SCHEMA IF EXISTS rs_new3_%d CASCADE", r, r, r);
        exec_url(pg, sql);
    }
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
    url_with_schema(l, sizeof l, pg, "rs_legacy");
    exec_url(pg, "DROP SCHEMA IF EXISTS rs_legacy CASCADE");
    drop_new_schemas(pg);
    /* Outside a transaction block: one statement each. */
    exec_url(pg, "DROP DATABASE IF EXISTS rs_pgloader");
    exec_url(pg, "CREATE DATABASE rs_pgloader");

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
        url_with_schema(n1, sizeof n1, pg, s1);
        url_with_schema(n2, sizeof n2, pg, s2);
        url_with_schema(n3, sizeof n3, pg, s3);
        tb[r] = run_backfill(l, n1, mpg);
        ti[r] = run_insert_select(l, n2, mpg);
        exec_url(pg, "ANALYZE");
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
        tp[r] = pgloader_ok ? run_pgloader(path, pg, "rs_pgloader", names.s) : -1;
        pgloader_ok &= tp[r] > 0;
        printf("  round %d: backfill %.2fs, INSERT SELECT %.2fs, diff %.2fs, EXCEPT ALL %.2fs, "
               "cross-engine backfill %.2fs, pgloader %.2fs\n", r + 1, tb[r], ti[r], td[r], te[r],
               tc[r], tp[r]);
        fflush(stdout);
        drop_new_schemas(pg); /* keep the server's buffers for the next round's copies */
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
    exec_url(pg, "DROP SCHEMA rs_legacy CASCADE");
    exec_url(pg, "DROP DATABASE IF EXISTS rs_pgloader");
    unlink(path);
    unlink(mpg);
    unlink(msq);
    return 0;
}
