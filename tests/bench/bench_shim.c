/*
 * bench_shim.c: what the shim's routing costs the bot, per stage.
 *
 * For each stage of increments 2.1 (users, processed updates) and 2.3
 * (subscriptions, transactions) -- legacy, dual_write, shadow at fraction 1.0
 * and 0.01, read_new -- on a store pair of its own (two schemas of one
 * PostgreSQL database, and two SQLite files ATTACHed), it preloads users
 * through the repositories, then times two mixes, each operation one unit of
 * work:
 *   write mix: alternately create a user / a purchase (debit, subscription
 *              created or extended, transaction, first-payment flag), each
 *              recording its Telegram update first as the bot does;
 *   read mix:  user by telegram id, active subscription, last transactions.
 * Rounds interleave the stages (each round runs every stage once), so drift
 * of the machine hits them alike; each stage reports its median round.
 * Prints ops/s per stage, statements per operation
 * (from the shim's access counters: selects and written rows per side), and
 * the cost ratios against legacy with the goals of issue 3. Times nothing it
 * asserts; exits non-zero only when something fails.
 *
 *   bench_shim [OPS]     write units per round, READS times as many read units
 *                        (default 150);
 *                        PostgreSQL from TS_TEST_PG_URL (skipped when unset)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_support.h"
#include "ts_control.h"
#include "ts_repo.h"
#include "ts_schema.h"

#define ROUNDS 5
#define READS 4 /* read units per write unit: reads are cheap, and short rounds are noise */
#define PRELOAD 500
#define TG_BASE 100000000

typedef struct stage_cfg {
    const char *label, *stage;
    double shadow_fraction;
} stage_cfg;

static const stage_cfg stages[] = {
    {"legacy", "legacy", 1.0},
    {"dual_write", "dual_write", 1.0},
    {"shadow(1.0)", "shadow", 1.0},
    {"shadow(0.01)", "shadow", 0.01},
    {"read_new", "read_new", 1.0},
};
#define NSTAGES (int)(sizeof stages / sizeof stages[0])

static const char *const tables[] = {"users", "ts_processed_updates", "subscriptions",
                                     "transactions"};

typedef struct result {
    double write_ops, read_ops;   /* per second, median round */
    double write_stmts, read_stmts; /* per operation */
} result;

/* A pair of stores for one stage: where they are, to remove them afterwards. */
typedef struct pair {
    char legacy_url[1024], new_url[1024];
    char legacy_path[512], new_path[512]; /* SQLite */
    char legacy_schema[64], new_schema[64]; /* PostgreSQL */
} pair;

static int fail(const char *what, const ts_error *err)
{
    fprintf(stderr, "bench_shim: %s: %s\n", what, err ? err->msg : "failed");
    return -1;
}

/* ---- store pairs --------------------------------------------------------------- */

static int pair_urls(const char *pg, int n, pair *p)
{
    const char *dir = getenv("TMPDIR");
    memset(p, 0, sizeof *p);
    if (pg == NULL) {
        snprintf(p->legacy_path, sizeof p->legacy_path, "%s/bench-shim-%ld-%d-legacy.db",
                 dir && *dir ? dir : "/tmp", (long)getpid(), n);
        snprintf(p->new_path, sizeof p->new_path, "%s/bench-shim-%ld-%d-new.db",
                 dir && *dir ? dir : "/tmp", (long)getpid(), n);
        snprintf(p->legacy_url, sizeof p->legacy_url, "sqlite:%s", p->legacy_path);
        snprintf(p->new_url, sizeof p->new_url, "sqlite:%s", p->new_path);
        return 0;
    }
    char sep = strchr(pg, '?') ? '&' : '?';
    snprintf(p->legacy_schema, sizeof p->legacy_schema, "bench_l_%ld_%d", (long)getpid(), n);
    snprintf(p->new_schema, sizeof p->new_schema, "bench_n_%ld_%d", (long)getpid(), n);
    snprintf(p->legacy_url, sizeof p->legacy_url, "%s%cschema=%s", pg, sep, p->legacy_schema);
    snprintf(p->new_url, sizeof p->new_url, "%s%cschema=%s", pg, sep, p->new_schema);
    return 0;
}

static void remove_file(const char *path)
{
    static const char *const ext[] = {"", "-journal", "-wal", "-shm"};
    char f[600];
    for (size_t i = 0; path[0] && i < sizeof ext / sizeof ext[0]; i++) {
        snprintf(f, sizeof f, "%s%s", path, ext[i]);
        unlink(f);
    }
}

static void drop_schema(const char *url, const char *schema)
{
    ts_store *s;
    ts_error err;
    char sql[128];
    if (schema[0] == '\0' || ts_store_open(url, &s, &err))
        return;
    snprintf(sql, sizeof sql, "DROP SCHEMA \"%s\" CASCADE", schema);
    ts_store_script(s, sql, &err);
    ts_store_close(s);
}

static void pair_remove(pair *p)
{
    remove_file(p->legacy_path);
    remove_file(p->new_path);
    drop_schema(p->legacy_url, p->legacy_schema);
    drop_schema(p->new_url, p->new_schema);
}

/* Both schemas, the control plane, the master bot, the stage of 2.1 and 2.3. */
static int pair_make(const pair *p, const char *stage)
{
    ts_error err;
    ts_manifest *m = NULL;
    ts_store *l = NULL, *n = NULL;
    int rc = -1;
    if (ts_store_open(p->legacy_url, &l, &err) || ts_store_open(p->new_url, &n, &err) ||
        ts_manifest_load_default(&m, &err) || ts_schema_apply(l, ts_schema_legacy(), &err) ||
        ts_schema_apply(n, ts_schema_new(), &err) || ts_control_init(l, n, m, &err)) {
        fail("preparing the stores", &err);
        goto out;
    }
    ts_value bot[2] = {*ts_manifest_constant(m, "master_bot_id"), ts_text("1:BENCH")};
    ts_value s1[2] = {ts_text("expanded"), ts_text("1.1")}, s2[2] = {ts_text(stage), ts_text("2.1")},
             s3[2] = {ts_text(stage), ts_text("2.3")};
    const char *set = "UPDATE ts_increments SET stage = $1, version = version + 1 WHERE id = $2";
    if (ts_store_exec(n, "INSERT INTO bots (id, name, telegram_bot_token, is_master) "
                         "VALUES ($1, 'master', $2, TRUE)", bot, 2, NULL, &err) ||
        ts_store_exec(n, set, s1, 2, NULL, &err) || ts_store_exec(n, set, s2, 2, NULL, &err) ||
        ts_store_exec(n, set, s3, 2, NULL, &err)) {
        fail("the master bot and stages", &err);
        goto out;
    }
    rc = 0;
out:
    ts_manifest_free(m);
    ts_store_close(l);
    ts_store_close(n);
    return rc;
}

/* ---- the mixes ---------------------------------------------------------------------- */

typedef struct run {
    ts_shim *sh;
    ts_ctx ctx;
    int64_t update_id, next_tg;
    int64_t user_ids[PRELOAD];
    unsigned rng;
} run;

static unsigned next_rand(run *r)
{
    r->rng = r->rng * 1103515245u + 12345u;
    return r->rng >> 8;
}

/* One unit of work running op; committed. */
typedef int (*op_fn)(run *r, ts_tx *tx, ts_error *err);

static int unit(run *r, op_fn op, ts_error *err)
{
    ts_tx *tx;
    if (ts_shim_begin(r->sh, &r->ctx, &tx, err))
        return -1;
    if (op(r, tx, err) < 0) {
        ts_tx_rollback(tx);
        return -1;
    }
    return ts_tx_commit(tx, err);
}

static int op_create_user(run *r, ts_tx *tx, ts_error *err)
{
    int64_t id;
    ts_user_new u = {++r->next_tg, "bench", "Bench", "User", "fa", 0, 0};
    return ts_repo_user_create(tx, &u, &id, NULL, err);
}

static int op_purchase(run *r, ts_tx *tx, ts_error *err)
{
    ts_purchase_result out;
    ts_purchase p = {r->user_ids[next_rand(r) % PRELOAD], 30, 1000, 50, 2, 10};
    int rc = ts_repo_purchase(tx, &p, &out, err);
    return rc == 0 ? ts_fail(err, TS_E_INTERNAL, "purchase refused: balance ran out") : rc;
}

static int op_write_mix(run *r, ts_tx *tx, ts_error *err)
{
    if (ts_repo_update_record(tx, ++r->update_id, err) < 0)
        return -1;
    return r->update_id % 2 ? op_create_user(r, tx, err) : op_purchase(r, tx, err);
}

static int op_read_mix(run *r, ts_tx *tx, ts_error *err)
{
    ts_user u;
    ts_subscription s;
    ts_result *list;
    int64_t tg = TG_BASE + (int64_t)(next_rand(r) % PRELOAD) + 1;
    if (ts_repo_user_by_telegram(tx, tg, &u, err) != 1 ||
        ts_repo_sub_active(tx, u.id, &s, err) < 0 ||
        ts_repo_txn_list(tx, u.id, 10, &list, err))
        return -1;
    ts_result_free(list);
    return 0;
}

/* Preloaded users with a balance that outlasts the purchases, and some history. */
static int preload(run *r, ts_error *err)
{
    for (int i = 0; i < PRELOAD; i++) {
        ts_tx *tx;
        ts_user_new u = {++r->next_tg, "seed", NULL, NULL, NULL, 0, 0};
        ts_purchase_result out;
        ts_purchase p = {0, 30, 1000, 50, 2, 10};
        if (ts_shim_begin(r->sh, &r->ctx, &tx, err))
            return -1;
        if (ts_repo_user_create(tx, &u, &r->user_ids[i], NULL, err) ||
            ts_repo_user_add_balance(tx, r->user_ids[i], 1000000000, err) < 0 ||
            (p.user_id = r->user_ids[i], ts_repo_purchase(tx, &p, &out, err) < 0)) {
            ts_tx_rollback(tx);
            return -1;
        }
        if (ts_tx_commit(tx, err))
            return -1;
    }
    return 0;
}

static int64_t statements(const run *r)
{
    int64_t n = 0;
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        ts_access a;
        if (ts_shim_access(r->sh, tables[i], &a) == 0)
            n += a.legacy_reads + a.legacy_writes + a.new_reads + a.new_writes;
    }
    return n;
}

/* ops/s of count units of op, and statements per op. */
static int measure(run *r, op_fn op, int count, double *ops, double *stmts, ts_error *err)
{
    int64_t before = statements(r);
    double t0 = bench_now();
    for (int i = 0; i < count; i++)
        if (unit(r, op, err))
            return -1;
    double dt = bench_now() - t0;
    *ops = count / (dt > 0 ? dt : 1e-9);
    *stmts = (double)(statements(r) - before) / count;
    return 0;
}

/* One stage's pair and shim, preloaded and warmed up. */
static int stage_open(const char *pg, int n, const stage_cfg *st, int ops, pair *p, run *r)
{
    ts_error err;
    double ignore_ops, ignore_stmts;
    pair_urls(pg, n, p);
    if (pair_make(p, st->stage))
        return -1;
    ts_shim_config cfg = {p->legacy_url, p->new_url, NULL, "bench_shim", 0, st->shadow_fraction,
                          0, NULL, 0};
    if (ts_shim_open(&cfg, &r->sh, &err))
        return fail("opening the shim", &err);
    r->ctx = ts_shim_master(r->sh);
    r->next_tg = TG_BASE;
    r->rng = 12345;
    if (preload(r, &err) ||
        measure(r, op_write_mix, ops / 5, &ignore_ops, &ignore_stmts, &err) ||
        measure(r, op_read_mix, ops / 5, &ignore_ops, &ignore_stmts, &err))
        return fail(st->label, &err);
    return 0;
}

static int bench_stages(const char *pg, int ops, result *res)
{
    static pair p[NSTAGES];
    static run r[NSTAGES];
    double w[NSTAGES][ROUNDS], rd[NSTAGES][ROUNDS];
    ts_error err;
    int rc = -1;
    memset(r, 0, sizeof r);
    memset(p, 0, sizeof p);
    for (int i = 0; i < NSTAGES; i++)
        if (stage_open(pg, i, &stages[i], ops, &p[i], &r[i]))
            goto out;
    for (int k = 0; k < ROUNDS; k++)
        for (int i = 0; i < NSTAGES; i++)
            if (measure(&r[i], op_write_mix, ops, &w[i][k], &res[i].write_stmts, &err) ||
                measure(&r[i], op_read_mix, READS * ops, &rd[i][k], &res[i].read_stmts, &err)) {
                fail(stages[i].label, &err);
                goto out;
            }
    for (int i = 0; i < NSTAGES; i++) {
        res[i].write_ops = bench_median(w[i], ROUNDS);
        res[i].read_ops = bench_median(rd[i], ROUNDS);
    }
    rc = 0;
out:
    for (int i = 0; i < NSTAGES; i++) {
        ts_shim_close(r[i].sh);
        pair_remove(&p[i]);
    }
    return rc;
}

static void ratio(const char *what, const char *mix, double legacy_ops, double ops, double goal)
{
    double x = legacy_ops / ops;
    printf("  %s/legacy %s cost = %.2fx", what, mix, x);
    if (goal > 0)
        printf(" (goal <= %.1fx: %s, %+.0f%%)", goal, x <= goal ? "met" : "MISSED",
               (x / goal - 1) * 100);
    printf("\n");
}

static int bench_engine(const char *name, const char *pg, int ops)
{
    result res[NSTAGES];
    printf("bench_shim %s: %d write and %d read units per round, median of %d interleaved "
           "rounds, %d preloaded users\n", name, ops, READS * ops, ROUNDS, PRELOAD);
    fflush(stdout);
    printf("  %-13s %12s %12s %12s %12s\n", "stage", "write ops/s", "read ops/s", "stmts/write",
           "stmts/read");
    if (bench_stages(pg, ops, res))
        return -1;
    for (int i = 0; i < NSTAGES; i++)
        printf("  %-13s %12.0f %12.0f %12.1f %12.1f\n", stages[i].label, res[i].write_ops,
               res[i].read_ops, res[i].write_stmts, res[i].read_stmts);
    ratio("dual_write", "write", res[0].write_ops, res[1].write_ops, pg ? 1.3 : 0);
    ratio("shadow(1.0)", "write", res[0].write_ops, res[2].write_ops, 0);
    ratio("shadow(1.0)", "read", res[0].read_ops, res[2].read_ops, 1.6);
    ratio("shadow(0.01)", "read", res[0].read_ops, res[3].read_ops, 1.6);
    ratio("read_new", "write", res[0].write_ops, res[4].write_ops, 0);
    ratio("read_new", "read", res[0].read_ops, res[4].read_ops, 0);
    return 0;
}

int main(int argc, char **argv)
{
    int ops = argc > 1 ? atoi(argv[1]) : 150;
    const char *pg = getenv("TS_TEST_PG_URL");
    if (ops < 10) {
        fprintf(stderr, "usage: [TS_TEST_PG_URL=postgresql://...] bench_shim [OPS >= 10]\n");
        return 2;
    }
    if (pg && *pg) {
        if (bench_engine("postgresql (two schemas, one transaction)", pg, ops))
            return 1;
    } else {
        printf("bench_shim: TS_TEST_PG_URL not set: PostgreSQL skipped\n");
    }
    return bench_engine("sqlite (two files, ATTACHed, one transaction)", NULL, ops) ? 1 : 0;
}
