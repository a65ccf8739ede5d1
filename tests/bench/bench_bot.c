/*
 * bench_bot.c: ts-bot end to end, updates per second through a fake Telegram
 * server, at legacy and at dual_write on PostgreSQL (two schemas of one
 * database, so a dual-write is one transaction).
 *
 * For each stage: a fresh store pair, one plan (price 0, so every purchase
 * writes a subscription and a transaction without a top-up), then
 * build/tools/ts-traffic preloads UPDATES updates of the start-buy mix
 * (/start and a purchase in turn, USERS users) and the bot -- ts_app on the
 * shim in ts_bot's event loop, in this process -- serves them all: parse,
 * unit of work with the update recorded first, handler, commit, the reply
 * sent to the fake server, the offset confirmed. ts-traffic times from its
 * first non-empty getUpdates to the last confirmation. Prints updates/s per
 * stage and the ratio dual_write / legacy against the goals (>= 0.8x, and
 * >= 2,000 updates/s at legacy).
 *
 *   bench_bot [UPDATES [USERS]]   default 20000 and 2000;
 *                                 PostgreSQL from TS_TEST_PG_URL (skipped when unset),
 *                                 ts-traffic from TS_TRAFFIC (default build/tools/ts-traffic)
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ts_app.h"
#include "ts_bot.h"
#include "ts_control.h"
#include "ts_log.h"
#include "ts_repo.h"
#include "ts_schema.h"

#define TOKEN "1000:BENCH-token"

static const char *const data_incs[] = {"2.1", "2.3", "2.4", "3.2", "3.3"};

typedef struct pair {
    char legacy_url[1200], new_url[1200], legacy_schema[64], new_schema[64];
} pair;

static int fail(const char *what, const ts_error *err)
{
    fprintf(stderr, "bench_bot: %s: %s\n", what, err->msg);
    return -1;
}

static void drop_schema(const char *url, const char *schema)
{
    ts_store *s;
    ts_error err;
    char sql[128];
    if (ts_store_open(url, &s, &err))
        return;
    snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS \"%s\" CASCADE", schema);
    ts_store_script(s, sql, &err);
    ts_store_close(s);
}

/* Both schemas, the control plane, the master bot, every data increment at stage. */
static int pair_make(const char *pg, const char *stage, pair *p)
{
    ts_error err;
    ts_manifest *m = NULL;
    ts_store *l = NULL, *n = NULL;
    int rc = -1;
    char sep = strchr(pg, '?') ? '&' : '?';
    snprintf(p->legacy_schema, sizeof p->legacy_schema, "bench_bot_l_%ld_%s", (long)getpid(), stage);
    snprintf(p->new_schema, sizeof p->new_schema, "bench_bot_n_%ld_%s", (long)getpid(), stage);
    snprintf(p->legacy_url, sizeof p->legacy_url, "%s%cschema=%s", pg, sep, p->legacy_schema);
    snprintf(p->new_url, sizeof p->new_url, "%s%cschema=%s", pg, sep, p->new_schema);
    if (ts_store_open(p->legacy_url, &l, &err) || ts_store_open(p->new_url, &n, &err) ||
        ts_manifest_load_default(&m, &err) || ts_schema_apply(l, ts_schema_legacy(), &err) ||
        ts_schema_apply(n, ts_schema_new(), &err) || ts_control_init(l, n, m, &err)) {
        fail("preparing the stores", &err);
        goto out;
    }
    ts_value bot[2] = {*ts_manifest_constant(m, "master_bot_id"), ts_text(TOKEN)};
    const char *set = "UPDATE ts_increments SET stage = $1, version = version + 1 WHERE id = $2";
    ts_value s[2] = {ts_text("expanded"), ts_text("1.1")};
    if (ts_store_exec(n, "INSERT INTO bots (id, name, telegram_bot_token, is_master) "
                         "VALUES ($1, 'master', $2, TRUE)", bot, 2, NULL, &err) ||
        ts_store_exec(n, set, s, 2, NULL, &err)) {
        fail("the master bot", &err);
        goto out;
    }
    for (size_t i = 0; i < sizeof data_incs / sizeof data_incs[0]; i++) {
        s[0] = ts_text(strcmp(data_incs[i], "3.3") == 0 && strcmp(stage, "legacy") == 0
                           ? "expanded" : stage);
        s[1] = ts_text(data_incs[i]);
        if (ts_store_exec(n, set, s, 2, NULL, &err)) {
            fail("the stages", &err);
            goto out;
        }
    }
    rc = 0;
out:
    ts_manifest_free(m);
    ts_store_close(l);
    ts_store_close(n);
    return rc;
}

static int seed(ts_shim *sh)
{
    ts_error err;
    ts_tx *tx;
    ts_ctx ctx = ts_shim_master(sh);
    ts_plan p = {.name = "Bench", .period_days = 30, .price_kopeks = 0, .traffic_limit_gb = 10,
                 .device_limit = 1, .is_active = 1, .sort_order = 1};
    int64_t id;
    if (ts_shim_begin(sh, &ctx, &tx, &err) || ts_repo_plan_create(tx, &p, &id, &err) ||
        ts_tx_commit(tx, &err))
        return fail("seeding the plan", &err);
    return 0;
}

static const char *traffic_url;
static const char *env(const char *name)
{
    static const struct { const char *k, *v; } fixed[] = {
        {"TS_BOT_TOKEN", TOKEN}, {"TS_HTTP_PORT", "0"}, {"TS_POLL_TIMEOUT", "1"},
        {"TS_LEGACY_URL", "sqlite::memory:"}, {"TS_NEW_URL", "sqlite::memory:"}};
    if (strcmp(name, "TS_TELEGRAM_URL") == 0)
        return traffic_url;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (strcmp(name, fixed[i].k) == 0)
            return fixed[i].v;
    return NULL;
}

typedef struct loop {
    ts_bot *bot;
    volatile sig_atomic_t stop;
    int rc;
} loop;

static void *run_loop(void *arg)
{
    loop *l = arg;
    ts_error err;
    l->rc = ts_bot_run(l->bot, &l->stop, NULL, &err);
    if (l->rc != 0)
        fprintf(stderr, "bench_bot: the loop: %s\n", err.msg);
    return NULL;
}

/* Start ts-traffic; its URL on the first line, its summary on the second. */
static FILE *traffic_start(const char *bin, int updates, int users, pid_t *pid)
{
    int fd[2];
    char n[24], u[24];
    snprintf(n, sizeof n, "%d", updates);
    snprintf(u, sizeof u, "%d", users);
    if (pipe(fd) != 0 || (*pid = fork()) < 0)
        return NULL;
    if (*pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        execl(bin, bin, "--token", TOKEN, "--preload", n, "--users", u, "--mix", "start-buy",
              "--duration", "600", (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    return fdopen(fd[0], "r");
}

/* One stage: updates/s as ts-traffic measured it, or -1. */
static double stage_run(const char *pg, const char *stage, const char *bin, int updates, int users)
{
    pair p;
    ts_error err;
    ts_shim *sh = NULL;
    ts_app *app = NULL;
    ts_config cfg = {0};
    loop l = {0};
    pid_t pid;
    char url[128] = "", summary[512] = "";
    double rate = -1;
    if (pair_make(pg, stage, &p) != 0)
        goto out;
    ts_shim_config sc = {.legacy_url = p.legacy_url, .new_url = p.new_url, .program = "bench_bot",
                         .shadow_fraction = 1.0};
    if (ts_shim_open(&sc, &sh, &err) != 0) {
        fail("shim", &err);
        goto out;
    }
    if (seed(sh) != 0)
        goto out;
    FILE *t = traffic_start(bin, updates, users, &pid);
    if (t == NULL || fgets(url, sizeof url, t) == NULL) {
        fprintf(stderr, "bench_bot: %s did not start: build it with make (TS_TRAFFIC names it)\n", bin);
        goto out;
    }
    url[strcspn(url, "\n")] = '\0';
    traffic_url = url;
    if (ts_config_load(NULL, env, &cfg, &err) != 0 || ts_app_open(&cfg, sh, NULL, &app, &err) != 0) {
        fail("the bot", &err);
        kill(pid, SIGTERM);
        goto out;
    }
    ts_bot_hooks hooks = ts_app_hooks(app);
    if (ts_bot_open(&cfg, &hooks, &l.bot, &err) != 0) {
        fail("the bot", &err);
        kill(pid, SIGTERM);
        goto out;
    }
    ts_app_attach(app, l.bot);
    pthread_t th;
    pthread_create(&th, NULL, run_loop, &l);
    if (fgets(summary, sizeof summary, t) != NULL) {
        const char *r = strstr(summary, "updates_per_s=");
        if (r != NULL)
            rate = atof(r + 14);
        printf("  %-11s %s", stage, summary);
    }
    fclose(t);
    waitpid(pid, NULL, 0);
    l.stop = 1;
    pthread_join(th, NULL);
    /* where the time goes: statements the shim sent per update, by side */
    const ts_schema *schema = ts_schema_new();
    int64_t lr = 0, lw = 0, nr = 0, nw = 0;
    for (int i = 0; i < schema->ntables; i++) {
        ts_access a;
        if (ts_shim_access(sh, schema->tables[i].name, &a) == 0)
            lr += a.legacy_reads, lw += a.legacy_writes, nr += a.new_reads, nw += a.new_writes;
    }
    printf("  %-11s per update: legacy %.1f reads %.1f writes, new %.1f reads %.1f writes\n", "",
           (double)lr / updates, (double)lw / updates, (double)nr / updates, (double)nw / updates);
    ts_bot_close(l.bot);
out:
    ts_app_close(app);
    ts_config_free(&cfg);
    ts_shim_close(sh);
    drop_schema(p.legacy_url, p.legacy_schema);
    drop_schema(p.new_url, p.new_schema);
    return rate;
}

int main(int argc, char **argv)
{
    const char *pg = getenv("TS_TEST_PG_URL");
    const char *bin = getenv("TS_TRAFFIC") ? getenv("TS_TRAFFIC") : "build/tools/ts-traffic";
    int updates = argc > 1 ? atoi(argv[1]) : 20000, users = argc > 2 ? atoi(argv[2]) : 2000;
    if (pg == NULL || *pg == '\0') {
        printf("bench_bot: skipped (TS_TEST_PG_URL is not set; tests/bench/run.sh sets it)\n");
        return 0;
    }
    if (updates < 100 || users < 1) {
        fprintf(stderr, "usage: bench_bot [UPDATES >= 100 [USERS >= 1]]\n");
        return 2;
    }
    ts_log_set_level(TS_LOG_WARN);
    printf("bench_bot: %d updates, /start + purchase from %d users, PostgreSQL (two schemas)\n",
           updates, users);
    double legacy = stage_run(pg, "legacy", bin, updates, users);
    double dual = stage_run(pg, "dual_write", bin, updates, users);
    if (legacy <= 0 || dual <= 0)
        return 1;
    printf("  dual_write / legacy = %.2fx (goal >= 0.80x): %s\n", dual / legacy,
           dual / legacy >= 0.8 ? "met" : "MISSED");
    printf("  legacy %.0f updates/s (goal >= 2000): %s\n", legacy,
           legacy >= 2000 ? "met" : "MISSED");
    return 0;
}
