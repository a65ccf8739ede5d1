/*
 * bench_backfill.c: ts-migrate's backfill against the obvious alternatives.
 *
 *  1. same PostgreSQL (two schemas of one database): backfill of increments
 *     2.1 (promo_groups, users) and 2.3 (subscriptions, transactions) of N
 *     generated users, chunked, checkpointed and lock-disciplined, versus one
 *     INSERT INTO new.t SELECT ... FROM legacy.t statement per table in one
 *     transaction (not resumable, not throttle-able, locks everything);
 *  2. cross-engine (legacy SQLite file -> new PostgreSQL schema): the same
 *     backfill versus pgloader copying the same four tables into a fresh
 *     database (creating them; pgloader has no bot_id mapping).
 * Each of the four copies runs ROUNDS times, interleaved (every round runs
 * all four, each into a fresh schema or database), and reports its median
 * round, so drift of the machine hits them alike.
 * Prints rows, seconds, rows/s and the ratios against the goals
 * (>= 0.7x INSERT ... SELECT, >= 1.0x pgloader).
 *
 *   bench_backfill [USERS [BATCH]]   default 100000 users, batch the ts-migrate
 *                                    default; PostgreSQL from TS_TEST_PG_URL
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_support.h"
#include "ts_backfill.h"
#include "ts_gen.h"
#include "ts_mexpand.h"
#include "ts_mig.h"

#define ROUNDS 3

static const char *const incs[] = {"1.1", "2.1", "2.3"};
static const char *const tables[] = {"promo_groups", "users", "subscriptions", "transactions"};
static const char pgloader_tables[] = "'promo_groups', 'users', 'subscriptions', 'transactions'";

static int64_t fill_legacy(const char *url, int64_t users)
{
    ts_store *s;
    ts_error err;
    int64_t rows = 0;
    ts_gen_opts o = {1, users, NULL, NULL};
    if (ts_store_open(url, &s, &err) || ts_gen_fill(s, &o, &rows, &err))
        bench_die("generating", &err);
    ts_store_close(s);
    return rows;
}

/* Rows of the benchmarked tables in a legacy store. */
static int64_t legacy_rows(const char *url)
{
    int64_t total = 0;
    ts_store *s;
    ts_error err;
    if (ts_store_open(url, &s, &err))
        bench_die("open", &err);
    for (int i = 0; i < 4; i++) {
        ts_buf sql = {0};
        int64_t n = 0;
        if (ts_store_sql(s, tables[i], "SELECT count(*) FROM %s", &sql, &err))
            bench_die("table", &err);
        if (ts_store_query_int(s, sql.s, NULL, 0, &n, &err) < 0)
            bench_die(sql.s, &err);
        ts_buf_free(&sql);
        total += n;
    }
    ts_store_close(s);
    return total;
}

/* The increments' tables in new, at dual_write: what 'advance' would have done. */
static void prepare(ts_mig *g)
{
    ts_error err;
    if (ts_control_init(g->legacy, g->nw, g->m, &err))
        bench_die("init", &err);
    for (int i = 0; i < 3; i++) {
        ts_value p = ts_text(incs[i]);
        ts_buf sql = {0};
        if (ts_mexpand_create(g, ts_manifest_find(g->m, incs[i]), &err) ||
            ts_store_sql(g->nw, "ts_increments", "UPDATE %s SET stage = 'dual_write', "
                         "version = version + 2 WHERE id = $1", &sql, &err))
            bench_die("expand", &err);
        if (ts_store_exec(g->nw, sql.s, &p, 1, NULL, &err))
            bench_die("stage", &err);
        ts_buf_free(&sql);
    }
}

static int batch = TS_BACKFILL_BATCH_DEFAULT;

static double run_backfill(const char *legacy_url, const char *new_url)
{
    ts_mig g;
    ts_mlock lock = {0};
    ts_error err;
    ts_mig_opts o = {0};
    o.legacy_url = legacy_url;
    o.new_url = new_url;
    o.actor = "bench";
    o.master_token = "1:bench-token";
    o.batch = batch;
    o.ack_timeout_ms = 1000;
    o.liveness_ms = 10000;
    o.lock_ttl_s = 60;
    if (ts_mig_open(&g, &o, &err))
        bench_die("open", &err);
    g.out = fopen("/dev/null", "w");
    prepare(&g);
    /* Progress lines would be most of the output: off for the timing. */
    fflush(stderr);
    FILE *saved = stderr;
    stderr = g.out;
    double t0 = bench_now();
    for (int i = 1; i < 3; i++)
        if (ts_backfill_run(&g, &lock, ts_manifest_find(g.m, incs[i]), &err)) {
            stderr = saved;
            bench_die("backfill", &err);
        }
    double t = bench_now() - t0;
    stderr = saved;
    fclose(g.out);
    ts_mig_close(&g);
    return t;
}

/* INSERT INTO new.t (bot_id, cols) SELECT 1, cols FROM legacy.t, per table, one transaction. */
static double run_insert_select(const char *legacy_url, const char *new_url, const char *ls,
                                const char *ns)
{
    ts_mig g;
    ts_error err;
    ts_mig_opts o = {0};
    o.legacy_url = legacy_url;
    o.new_url = new_url;
    o.master_token = "1:bench-token";
    o.lock_ttl_s = 60;
    if (ts_mig_open(&g, &o, &err))
        bench_die("open", &err);
    g.out = fopen("/dev/null", "w");
    prepare(&g);
    ts_buf sql = {0};
    ts_buf_puts(&sql, "BEGIN;\n");
    for (int i = 0; i < 4; i++) {
        const ts_table *t = ts_schema_table(ts_schema_legacy(), tables[i]);
        ts_buf cols = {0};
        for (int c = 0; c < t->ncols; c++)
            ts_buf_printf(&cols, "%s\"%s\"", c ? ", " : "", t->cols[c].name);
        ts_buf_printf(&sql, "INSERT INTO \"%s\".\"%s\" (\"bot_id\", %s) SELECT 1, %s FROM \"%s\".\"%s\";\n",
                      ns, tables[i], cols.s, cols.s, ls, tables[i]);
        ts_buf_free(&cols);
    }
    ts_buf_puts(&sql, "COMMIT;\n");
    double t0 = bench_now();
    if (ts_store_script(g.nw, sql.s, &err))
        bench_die("insert select", &err);
    double t = bench_now() - t0;
    ts_buf_free(&sql);
    fclose(g.out);
    ts_mig_close(&g);
    return t;
}

int main(int argc, char **argv)
{
    const char *pg = getenv("TS_TEST_PG_URL");
    const char *tmp = getenv("TMPDIR");
    int64_t users = argc > 1 ? atoll(argv[1]) : 100000;
    if (argc > 2 && (batch = atoi(argv[2])) < 1)
        batch = TS_BACKFILL_BATCH_DEFAULT;
    char l[1024], path[512], sq[600];
    double tb[ROUNDS], ti[ROUNDS], tc[ROUNDS], tp[ROUNDS];
    if (pg == NULL || *pg == '\0') {
        printf("bench_backfill: TS_TEST_PG_URL not set: skipped\n");
        return 0;
    }
    snprintf(path, sizeof path, "%s/bench-backfill-%ld.db", tmp && *tmp ? tmp : "/tmp", (long)getpid());
    snprintf(sq, sizeof sq, "sqlite:%s", path);
    bench_url_with_schema(l, sizeof l, pg, "bf_legacy");
    bench_exec_url(pg, "DROP SCHEMA IF EXISTS bf_legacy CASCADE");
    bench_drop_round_schemas(pg, "bf_new", ROUNDS);
    /* Outside a transaction block: one statement each. */
    bench_exec_url(pg, "DROP DATABASE IF EXISTS bf_pgloader");
    bench_exec_url(pg, "CREATE DATABASE bf_pgloader");

    printf("backfill benchmark: %lld generated users, median of %d interleaved rounds\n",
           (long long)users, ROUNDS);
    fflush(stdout);
    fill_legacy(l, users);
    fill_legacy(sq, users);
    int64_t rows = legacy_rows(l);
    int pgloader_ok = 1;
    for (int r = 0; r < ROUNDS; r++) {
        char n1[1024], n2[1024], n3[1024], s1[32], s2[32], s3[32];
        snprintf(s1, sizeof s1, "bf_new1_%d", r);
        snprintf(s2, sizeof s2, "bf_new2_%d", r);
        snprintf(s3, sizeof s3, "bf_new3_%d", r);
        bench_url_with_schema(n1, sizeof n1, pg, s1);
        bench_url_with_schema(n2, sizeof n2, pg, s2);
        bench_url_with_schema(n3, sizeof n3, pg, s3);
        tb[r] = run_backfill(l, n1);
        ti[r] = run_insert_select(l, n2, "bf_legacy", s2);
        tc[r] = run_backfill(sq, n3);
        tp[r] = bench_pgloader(path, pg, "bf_pgloader", pgloader_tables);
        pgloader_ok &= tp[r] > 0;
        printf("  round %d: backfill %.2fs, INSERT SELECT %.2fs, cross-engine backfill %.2fs, "
               "pgloader %.2fs\n", r + 1, tb[r], ti[r], tc[r], tp[r]);
        fflush(stdout);
        bench_drop_round_schemas(pg, "bf_new", ROUNDS); /* keep the server's buffers for the next round's copies */
    }
    double b = bench_median(tb, ROUNDS), i = bench_median(ti, ROUNDS);
    double c = bench_median(tc, ROUNDS), p = pgloader_ok ? bench_median(tp, ROUNDS) : -1;
    printf("rows copied (promo_groups, users, subscriptions, transactions): %lld\n", (long long)rows);
    printf("same PostgreSQL  backfill (batch %5d)     %7.2fs %9.0f rows/s\n",
           batch, b, (double)rows / b);
    printf("same PostgreSQL  INSERT INTO ... SELECT    %7.2fs %9.0f rows/s\n", i, (double)rows / i);
    printf("  ratio backfill / INSERT SELECT throughput: %.2fx (goal >= 0.70x)\n", i / b);
    printf("SQLite -> PG     backfill (batch %5d)     %7.2fs %9.0f rows/s\n",
           batch, c, (double)rows / c);
    if (p > 0) {
        printf("SQLite -> PG     pgloader                  %7.2fs %9.0f rows/s\n", p, (double)rows / p);
        printf("  ratio backfill / pgloader throughput: %.2fx (goal >= 1.00x)\n", p / c);
        /* The one server-side statement into the constrained tables, against pgloader. */
        printf("  ratio INSERT SELECT / pgloader throughput: %.2fx\n", p / i);
    }
    bench_exec_url(pg, "DROP SCHEMA bf_legacy CASCADE");
    bench_exec_url(pg, "DROP DATABASE IF EXISTS bf_pgloader");
    unlink(path);
    return 0;
}
