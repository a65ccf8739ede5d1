/*
 * test_migrate.c: ts-migrate, mostly through the binary (bin/ts-migrate, or
 * $TS_MIGRATE_BIN), on SQLite, PostgreSQL and cross-engine store pairs whose
 * legacy side the fixture generator fills; the backfill's live-write rule
 * through the C API.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "ts_backfill.h"
#include "ts_canon.h"
#include "ts_catalog.h"
#include "ts_fill.h"
#include "ts_gen.h"
#include "ts_mig.h"
#include "ts_shim.h"
#include "ts_test.h"

#define TOKEN "4242:MASTER-token-for-tests"
#define OUT_MAX 65536

typedef struct mpair {
    ts_pair_kind kind;
    ts_test_target legacy, nw;
    const char *manifest;   /* --manifest, NULL: the built-in one */
} mpair;

static const char *bin(void)
{
    const char *b = getenv("TS_MIGRATE_BIN");
    return b && *b ? b : "bin/ts-migrate";
}

/* Start ts-migrate with the pair's stores and test-friendly defaults; output to fd. */
static pid_t spawn(const mpair *p, int fd, va_list ap)
{
    const char *argv[64];
    int k = 0;
    argv[k++] = bin();
    argv[k++] = "--legacy";
    argv[k++] = p->legacy.url;
    argv[k++] = "--new";
    argv[k++] = p->nw.url;
    argv[k++] = "--master-token";
    argv[k++] = TOKEN;
    argv[k++] = "--actor";
    argv[k++] = "tester";
    if (p->manifest) {
        argv[k++] = "--manifest";
        argv[k++] = p->manifest;
    }
    for (const char *a; k < 62 && (a = va_arg(ap, const char *)) != NULL;)
        argv[k++] = a;
    argv[k] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

static pid_t spawn_list(const mpair *p, int fd, ...)
{
    va_list ap;
    va_start(ap, fd);
    pid_t pid = spawn(p, fd, ap);
    va_end(ap);
    return pid;
}

static int wait_rc(pid_t pid)
{
    int st;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Run ts-migrate to the end; out gets stdout and stderr. Returns the exit code. */
static int mig(const mpair *p, char *out, ...)
{
    int fds[2];
    va_list ap;
    static char scratch[OUT_MAX];
    char *buf = out ? out : scratch;
    size_t len = 0;
    if (pipe(fds))
        fail_msg("pipe");
    va_start(ap, out);
    pid_t pid = spawn(p, fds[1], ap);
    va_end(ap);
    close(fds[1]);
    for (ssize_t n; (n = read(fds[0], buf + len, OUT_MAX - 1 - len)) > 0;)
        len += (size_t)n;
    close(fds[0]);
    buf[len] = '\0';
    return wait_rc(pid);
}

/* ts-migrate that must succeed. */
#define OK(p, ...)                                                                     \
    do {                                                                               \
        char o_[OUT_MAX];                                                              \
        int rc_ = mig(p, o_, __VA_ARGS__, NULL);                                       \
        if (rc_ != 0)                                                                  \
            fail_msg("ts-migrate %s exited %d:\n%s", #__VA_ARGS__, rc_, o_);           \
    } while (0)

/* ts-migrate that must exit with code and say msg. */
#define EXPECT(p, code, msg, ...)                                                      \
    do {                                                                               \
        char o_[OUT_MAX];                                                              \
        int rc_ = mig(p, o_, __VA_ARGS__, NULL);                                       \
        if (rc_ != (code) || strstr(o_, msg) == NULL)                                  \
            fail_msg("ts-migrate %s exited %d (want %d, \"%s\"):\n%s", #__VA_ARGS__, rc_, \
                     code, msg, o_);                                                   \
    } while (0)

static int make_pair(ts_pair_kind kind, mpair *p, int64_t users)
{
    ts_store *s;
    ts_error err;
    memset(p, 0, sizeof *p);
    p->kind = kind;
    if (ts_test_store_url(kind == TS_PAIR_PG ? TS_ENGINE_PG : TS_ENGINE_SQLITE, &p->legacy) ||
        ts_test_store_url(kind == TS_PAIR_SQLITE ? TS_ENGINE_SQLITE : TS_ENGINE_PG, &p->nw))
        return 1;
    ts_gen_opts o = {7, users, NULL, NULL};
    if (ts_store_open(p->legacy.url, &s, &err) || ts_gen_fill(s, &o, NULL, &err))
        fail_msg("generating legacy data: %s", err.msg);
    ts_store_close(s);
    OK(p, "init");
    return 0;
}

static void drop_pair(mpair *p)
{
    ts_test_target_cleanup(&p->legacy);
    ts_test_target_cleanup(&p->nw);
}

static const char *stage_of(const mpair *p, const char *id, char *out, size_t n)
{
    ts_store *s;
    ts_error err;
    ts_value v = ts_text(id);
    if (ts_store_open(p->nw.url, &s, &err) ||
        ts_store_query_text(s, "SELECT stage FROM ts_increments WHERE id = $1", &v, 1, out, n, &err) != 1)
        fail_msg("stage of %s: %s", id, err.msg);
    ts_store_close(s);
    return out;
}

static int64_t count(const char *url, const char *sql)
{
    return ts_test_int(url, sql);
}

static int has_table(const char *url, const char *table)
{
    ts_store *s;
    ts_error err;
    int yes;
    if (ts_store_open(url, &s, &err) || ts_store_table_exists(s, table, &yes, &err))
        fail_msg("table %s: %s", table, err.msg);
    ts_store_close(s);
    return yes;
}

static const char *const data_incs[] = {"1.1", "2.1", "2.3", "2.4", "3.2", "3.3"};
#define NDATA 6

/* Every data increment one stage at a time up to `upto` (backfilling before
   shadow): dependencies first, except into new_only, which dependents enter
   first (docs/architecture.md, "Stage order across increments"). */
static void walk_to(const mpair *p, const char *upto)
{
    static const char *const stages[] = {"expanded", "dual_write", "shadow", "read_new", "new_only"};
    for (int s = 0; s < 5; s++) {
        int last = strcmp(stages[s], "new_only") == 0;
        for (int k = 0; k < NDATA; k++) {
            int i = last ? NDATA - 1 - k : k;
            if (strcmp(stages[s], "shadow") == 0)
                OK(p, "backfill", data_incs[i], "--batch", "97");
            OK(p, "advance", data_incs[i], "--to", stages[s], "--min-compared", "0");
        }
        if (strcmp(stages[s], upto) == 0)
            return;
    }
}

/* Every data increment back to read_new from new_only: dependencies first. */
static void all_back_to_read_new(const mpair *p)
{
    char st[32];
    for (int i = 0; i < NDATA; i++)
        if (strcmp(stage_of(p, data_incs[i], st, sizeof st), "new_only") == 0)
            OK(p, "rollback", data_incs[i], "--to", "read_new");
}

/* ---- full walks ------------------------------------------------------------------------ */

static void walk(ts_pair_kind kind)
{
    mpair p;
    char st[32];
    if (make_pair(kind, &p, 120)) {
        skip();
        return;
    }
    int64_t legacy_users = count(p.legacy.url, "SELECT count(*) FROM users");
    walk_to(&p, "new_only");
    OK(&p, "advance", "1.5");
    OK(&p, "advance", "2.5");
    assert_int_equal(count(p.nw.url, "SELECT count(*) FROM users WHERE bot_id = 1"), legacy_users);
    assert_int_equal(count(p.nw.url, "SELECT count(*) FROM yookassa_payments WHERE bot_id = 1"),
                     count(p.legacy.url, "SELECT count(*) FROM yookassa_payments"));

    /* Full rollback of everything, dependents first. */
    EXPECT(&p, 3, "2.5 (multi-bot) depends on it and is on", "rollback", "2.1", "--to", "legacy");
    OK(&p, "rollback", "2.5");
    OK(&p, "rollback", "1.5");
    /* Out of new_only parents first, then down dependents first. */
    EXPECT(&p, 3, "2.3 (subscriptions), which it depends on, is at new_only", "rollback", "3.3",
           "--to", "read_new");
    all_back_to_read_new(&p);
    for (int i = NDATA - 1; i >= 0; i--)
        OK(&p, "rollback", data_incs[i], "--to", "legacy");
    for (int i = 0; i < NDATA; i++)
        assert_string_equal(stage_of(&p, data_incs[i], st, sizeof st), "legacy");
    assert_false(has_table(p.nw.url, "users"));
    assert_false(has_table(p.nw.url, "bots"));
    assert_int_equal(count(p.legacy.url, "SELECT count(*) FROM users"), legacy_users);

    /* Forward again, to the end: contract retires the legacy tables. */
    walk_to(&p, "new_only");
    for (int i = 0; i < NDATA; i++)
        OK(&p, "contract", data_incs[i], "--confirm", "--soak", "0");
    for (int i = 0; i < NDATA; i++)
        assert_string_equal(stage_of(&p, data_incs[i], st, sizeof st), "contracted");
    assert_false(has_table(p.legacy.url, "users"));
    assert_int_equal(count(p.nw.url, "SELECT count(*) FROM users WHERE bot_id = 1"), legacy_users);
    EXPECT(&p, 3, "cannot leave contracted", "rollback", "2.1", "--to", "new_only");
    drop_pair(&p);
}

static void test_walk_sqlite(void **state) { (void)state; walk(TS_PAIR_SQLITE); }
static void test_walk_pg(void **state) { (void)state; walk(TS_PAIR_PG); }
static void test_walk_cross(void **state) { (void)state; walk(TS_PAIR_CROSS); }

/* Advance inc from legacy through expanded to dual_write. */
static void to_dual_write(mpair *p, const char *inc)
{
    OK(p, "advance", inc);
    OK(p, "advance", inc);
}

/* A ts_mig on the pair for the C API: chunks of 25, its output discarded. */
static int mig_open(const mpair *p, ts_mig *g, ts_error *err)
{
    ts_mig_opts o = {0};
    o.legacy_url = p->legacy.url;
    o.new_url = p->nw.url;
    o.actor = "tester";
    o.batch = 25;
    o.ack_timeout_ms = 1000;
    o.liveness_ms = 10000;
    o.lock_ttl_s = 60;
    if (ts_mig_open(g, &o, err))
        return -1;
    g->out = fopen("/dev/null", "w");
    return 0;
}

static void mig_close(ts_mig *g)
{
    fclose(g->out);
    ts_mig_close(g);
}

/* ts_backfill_run of inc through the C API (test hooks set by the caller). */
static int backfill_api(const mpair *p, const char *inc, ts_error *err)
{
    ts_mig g;
    ts_mlock lock = {0};
    if (mig_open(p, &g, err))
        return -1;
    int rc = ts_backfill_run(&g, &lock, ts_manifest_find(g.m, inc), err);
    mig_close(&g);
    return rc;
}

/* ---- kill -9 of a backfill ---------------------------------------------------------------- */

static void kill_resume(ts_pair_kind kind)
{
    mpair p;
    if (make_pair(kind, &p, 3000)) {
        skip();
        return;
    }
    to_dual_write(&p, "1.1");
    to_dual_write(&p, "2.1");
    srand(12345);
    int kills = 0;
    for (int i = 0; i < 40 && kills < 22; i++) {
        int devnull = open("/dev/null", O_WRONLY);
        /* Rate-limited so that 22 runs cannot finish it: each is cut short. */
        pid_t pid = spawn_list(&p, devnull, "backfill", "2.1", "--batch", "13", "--max-rate",
                               "1000", NULL);
        close(devnull);
        struct timespec t = {0, (long)(20 + rand() % 150) * 1000000L};
        nanosleep(&t, NULL);
        kill(pid, SIGKILL);
        if (wait_rc(pid) == 128 + SIGKILL)
            kills++;
    }
    assert_true(kills >= 20);
    OK(&p, "backfill", "2.1", "--batch", "13");
    assert_int_equal(count(p.nw.url, "SELECT count(*) FROM users WHERE bot_id = 1"),
                     count(p.legacy.url, "SELECT count(*) FROM users"));
    assert_int_equal(count(p.nw.url, "SELECT count(*) FROM promo_groups WHERE bot_id = 1"),
                     count(p.legacy.url, "SELECT count(*) FROM promo_groups"));
    assert_int_equal(count(p.nw.url, "SELECT rows_done FROM ts_backfill WHERE table_name = 'users'"),
                     count(p.legacy.url, "SELECT count(*) FROM users"));
    /* The dual_write -> shadow gate runs the diff: clean. */
    OK(&p, "advance", "1.1");
    OK(&p, "advance", "2.1", "--to", "shadow");
    drop_pair(&p);
}

static void test_kill_resume_sqlite(void **state) { (void)state; kill_resume(TS_PAIR_SQLITE); }
static void test_kill_resume_pg(void **state) { (void)state; kill_resume(TS_PAIR_PG); }
/* Cross-engine: staged chunks with their foreign keys checked per chunk. */
static void test_kill_resume_cross(void **state) { (void)state; kill_resume(TS_PAIR_CROSS); }

/* ---- unlock --force during a backfill ------------------------------------------------------ */

/* The run stops with a clear error at its next chunk, and no chunk commits
   after the unlock. */
static void unlock_during_backfill(ts_pair_kind kind)
{
    mpair p;
    char out[OUT_MAX];
    if (make_pair(kind, &p, 3000)) {
        skip();
        return;
    }
    to_dual_write(&p, "1.1");
    to_dual_write(&p, "2.1");
    int fds[2];
    if (pipe(fds))
        fail_msg("pipe");
    /* Rate-limited: far from done when the lock is broken. */
    pid_t pid = spawn_list(&p, fds[1], "backfill", "2.1", "--batch", "13", "--max-rate", "500",
                           NULL);
    close(fds[1]);
    struct timespec t = {0, 700 * 1000000L};
    nanosleep(&t, NULL);
    assert_int_equal(mig(&p, out, "unlock", "--force", NULL), 0);
    assert_non_null(strstr(out, "unlocked (locked by tester"));
    int64_t at_unlock = count(p.nw.url, "SELECT COALESCE(sum(rows_done), 0) FROM ts_backfill");
    size_t len = 0;
    for (ssize_t n; (n = read(fds[0], out + len, OUT_MAX - 1 - len)) > 0;)
        len += (size_t)n;
    close(fds[0]);
    out[len] = '\0';
    assert_int_equal(wait_rc(pid), 75);
    if (strstr(out, "the migration lock was taken away from this run") == NULL)
        fail_msg("backfill output does not say the lock was lost:\n%s", out);
    assert_true(at_unlock > 0);
    assert_int_equal(count(p.nw.url, "SELECT COALESCE(sum(rows_done), 0) FROM ts_backfill"),
                     at_unlock);
    assert_true(at_unlock < count(p.legacy.url, "SELECT count(*) FROM users"));
    /* resumable: a new run takes the lock and finishes */
    OK(&p, "backfill", "2.1", "--batch", "500");
    assert_int_equal(count(p.nw.url, "SELECT count(*) FROM users WHERE bot_id = 1"),
                     count(p.legacy.url, "SELECT count(*) FROM users"));
    drop_pair(&p);
}

static void test_unlock_backfill_sqlite(void **state) { (void)state; unlock_during_backfill(TS_PAIR_SQLITE); }
static void test_unlock_backfill_pg(void **state) { (void)state; unlock_during_backfill(TS_PAIR_PG); }
static void test_unlock_backfill_cross(void **state) { (void)state; unlock_during_backfill(TS_PAIR_CROSS); }

/* ---- operators ------------------------------------------------------------------------ */

static void test_concurrent_advance(void **state)
{
    mpair p;
    char st[32];
    (void)state;
    if (make_pair(TS_PAIR_SQLITE, &p, 50)) {
        skip();
        return;
    }
    for (int round = 0; round < 5; round++) {
        int fds[2][2], rc[2], wins = 0;
        pid_t pid[2];
        for (int i = 0; i < 2; i++) {
            if (pipe(fds[i]))
                fail_msg("pipe");
            pid[i] = spawn_list(&p, fds[i][1], "advance", "1.1", "--to", "expanded", NULL);
            close(fds[i][1]);
        }
        for (int i = 0; i < 2; i++) {
            char buf[4096];
            while (read(fds[i][0], buf, sizeof buf) > 0)
                ;
            close(fds[i][0]);
            rc[i] = wait_rc(pid[i]);
            wins += rc[i] == 0;
            /* The loser: locked (75), or too late (3: already at expanded; 6: stale). */
            if (rc[i] != 0 && rc[i] != 75 && rc[i] != 3 && rc[i] != 6)
                fail_msg("round %d: loser exited %d", round, rc[i]);
        }
        assert_int_equal(wins, 1);
        assert_string_equal(stage_of(&p, "1.1", st, sizeof st), "expanded");
        OK(&p, "rollback", "1.1");
    }
    assert_int_equal(count(p.nw.url, "SELECT version FROM ts_increments WHERE id = '1.1'"), 11);
    drop_pair(&p);
}

static void test_lock_holder_named(void **state)
{
    mpair p;
    char sql[512], host[128] = "";
    (void)state;
    if (make_pair(TS_PAIR_SQLITE, &p, 10)) {
        skip();
        return;
    }
    gethostname(host, sizeof host - 1);
    /* A live holder: this test process. */
    snprintf(sql, sizeof sql, "INSERT INTO ts_lock (name, actor, host, pid, command, acquired_at, "
             "heartbeat_at) VALUES ('migrate', 'alice', '%s', %ld, 'backfill 2.1', "
             "'2030-01-01T00:00:00Z', '2030-01-01T00:00:00Z')", host, (long)getpid());
    ts_test_exec(p.nw.url, sql);
    char want[256];
    snprintf(want, sizeof want, "locked by alice@%s pid %ld since 2030-01-01T00:00:00Z (backfill 2.1)",
             host, (long)getpid());
    EXPECT(&p, 75, want, "advance", "1.1");
    EXPECT(&p, 0, "unlocked (locked by alice", "unlock", "--force");
    OK(&p, "advance", "1.1");
    assert_int_equal(count(p.nw.url, "SELECT count(*) FROM ts_audit WHERE command = 'unlock' AND "
                           "result = 'ok' AND error LIKE 'broke: locked by alice%'"), 1);
    assert_int_equal(count(p.nw.url, "SELECT count(*) FROM ts_audit WHERE command = 'advance' AND "
                           "result = 'refused' AND error LIKE 'locked by alice%'"), 1);
    /* A dead holder's lease is taken over. */
    ts_test_exec(p.nw.url, "INSERT INTO ts_lock (name, actor, host, pid, command, acquired_at, "
                           "heartbeat_at) VALUES ('migrate', 'bob', 'gone-host', 1, 'x', "
                           "'2020-01-01T00:00:00Z', '2020-01-01T00:00:00Z')");
    OK(&p, "advance", "1.1");
    drop_pair(&p);
}

/* A pair whose legacy (which 0) or new (1) store is url instead. */
static mpair with_url(const mpair *p, int which, const char *url)
{
    mpair q = *p;
    assert_true(snprintf(which ? q.nw.url : q.legacy.url, sizeof q.nw.url, "%s", url) <
                (int)sizeof q.nw.url);
    return q;
}

/* The exit code classes of docs/runbook.md that neither a gate nor a lock makes:
   usage (2), which also covers a store refusing the credentials, and unreachable (7). */
static void test_exit_codes(void **state)
{
    mpair p, q;
    char url[1400];
    (void)state;
    if (make_pair(TS_PAIR_SQLITE, &p, 10)) {
        skip();
        return;
    }
    q = with_url(&p, 0, "mysql://db/bot");
    EXPECT(&q, 2, "'mysql://db/bot' has an unknown scheme", "status");
    q = with_url(&p, 1, "postgresql:///bot?schema=bad-name");
    EXPECT(&q, 2, "new store (--new, the config's \"new\" or TS_NEW_URL)", "status");
    EXPECT(&p, 2, "--to: unknown stage 'expandd'", "advance", "1.1", "--to", "expandd");
    EXPECT(&p, 2, "--to for 1.5 (bot-context): unknown stage 'read_new'", "advance", "1.5", "--to",
           "read_new");
    EXPECT(&p, 2, "unknown stage 'on'", "rollback", "2.1", "--to", "on");
    EXPECT(&p, 2, "unknown command 'advanse'", "advanse", "1.1");
    EXPECT(&p, 2, "unknown or incomplete option '--bacth'", "backfill", "2.1", "--bacth", "10");
    /* Nothing was changed by any of them. */
    assert_int_equal(count(p.nw.url, "SELECT count(*) FROM ts_increments WHERE version <> 1"), 0);
    /* Unreachable is worth a retry: 7. */
    q = with_url(&p, 1, "postgresql://127.0.0.1:1/bot?schema=mt");
    EXPECT(&q, 7, "cannot connect to PostgreSQL", "status");
    /* A wrong or missing password is not: 2, and the password is not shown. */
    if (ts_test_pg_auth_url("wr0ngpw", NULL, url, sizeof url) == 0) {
        char out[OUT_MAX];
        q = with_url(&p, 1, url);
        EXPECT(&q, 2, "password authentication failed", "status");
        assert_int_equal(mig(&q, out, "plan", NULL), 2);
        assert_null(strstr(out, "wr0ngpw"));
        assert_int_equal(ts_test_pg_auth_url(NULL, NULL, url, sizeof url), 0);
        q = with_url(&p, 1, url);
        EXPECT(&q, 2, "retrying does not help", "status");
    }
    OK(&p, "status");
    drop_pair(&p);
}

static void test_illegal_transitions(void **state)
{
    mpair p;
    char out[OUT_MAX];
    (void)state;
    if (make_pair(TS_PAIR_SQLITE, &p, 30)) {
        skip();
        return;
    }
    EXPECT(&p, 3, "cannot skip from legacy to dual_write", "advance", "1.1", "--to", "dual_write");
    EXPECT(&p, 3, "1.1 (tenant-tables) is at legacy and must be at expanded or later first",
           "advance", "2.1");
    EXPECT(&p, 2, "unknown increment '9.9'", "advance", "9.9");
    EXPECT(&p, 2, "advance needs an increment id", "advance");
    EXPECT(&p, 3, "backfill runs at dual_write", "backfill", "1.1");
    OK(&p, "advance", "1.1");
    /* Dry run: the DDL is printed, nothing changes. */
    assert_int_equal(mig(&p, out, "advance", "2.1", "--dry-run", NULL), 0);
    assert_non_null(strstr(out, "CREATE TABLE IF NOT EXISTS"));
    assert_non_null(strstr(out, "UPDATE ts_increments SET stage = 'expanded'"));
    assert_false(has_table(p.nw.url, "users"));
    for (int i = 0; i < 4; i++)
        OK(&p, "advance", "1.1", "--min-compared", "0");
    EXPECT(&p, 3, "use 'ts-migrate contract 1.1 --confirm'", "advance", "1.1");
    EXPECT(&p, 3, "add --confirm", "contract", "1.1", "--soak", "0");
    EXPECT(&p, 3, "soak", "contract", "1.1", "--confirm", "--soak", "1h");
    OK(&p, "contract", "1.1", "--confirm", "--soak", "0");
    EXPECT(&p, 3, "cannot leave contracted", "rollback", "1.1");
    /* Every attempt is audited, the token never in full. */
    assert_int_equal(count(p.nw.url, "SELECT count(*) FROM ts_audit WHERE args LIKE '%token-for-tests%'"), 0);
    assert_true(count(p.nw.url, "SELECT count(*) FROM ts_audit WHERE result = 'refused'") >= 7);
    assert_int_equal(mig(&p, out, "status", "--audit", "3", "--json", NULL), 0);
    assert_non_null(strstr(out, "\"command\":"));
    drop_pair(&p);
}

/* An operator's --reason is kept with the stage change and in the audit's
   arguments, its secrets masked: a bot token keeps its public id, a URL its
   user, password= its name. */
static void test_reason_masked(void **state)
{
    mpair p;
    (void)state;
    if (make_pair(TS_PAIR_SQLITE, &p, 10)) {
        skip();
        return;
    }
    OK(&p, "advance", "1.1", "--reason",
       "ticket 7: bot https://api.telegram.org/bot777000:AAEabcdefghijklmnopqrstuvwxyz0123/getMe "
       "was 12:short, db postgresql://ops:hunter2@db:5432/x?sslmode=require&password=s3cret");
    OK(&p, "advance", "1.1", "--reason=token 888111:ZZZabcdefghijklmnopqrstuvwxyz_-01");
    static const char *const secrets[] = {"AAEabc", "hunter2", "s3cret", "ZZZabc"};
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++) {
        char sql[256];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM ts_audit WHERE args LIKE '%%%s%%'",
                 secrets[i]);
        assert_int_equal(count(p.nw.url, sql), 0);
        snprintf(sql, sizeof sql, "SELECT count(*) FROM ts_increments WHERE reason LIKE '%%%s%%'",
                 secrets[i]);
        assert_int_equal(count(p.nw.url, sql), 0);
    }
    assert_int_equal(count(p.nw.url, "SELECT count(*) FROM ts_audit WHERE args LIKE "
                           "'%bot777000:****/getMe was 12:short, db postgresql://ops:****@db:5432/x"
                           "?sslmode=require&password=****%'"), 1);
    assert_int_equal(count(p.nw.url, "SELECT count(*) FROM ts_increments WHERE id = '1.1' AND "
                           "reason = 'token 888111:****'"), 1);
    drop_pair(&p);
}

/* A process row with a fresh heartbeat that reports version v of 1.1. */
static void fake_process(const mpair *p, const char *id, int64_t pid, const char *beat, int v)
{
    char sql[512];
    snprintf(sql, sizeof sql, "INSERT INTO ts_processes (id, host, pid, program, started_at, "
             "heartbeat_at, versions, counters, kill_switch) VALUES ('%s', 'bothost', %lld, "
             "'ts-bot', '2020-01-01T00:00:00Z', '%s', '{\"1.1\": %d}', '{}', FALSE)",
             id, (long long)pid, beat, v);
    ts_test_exec(p->nw.url, sql);
}

static void test_lagging_process(void **state)
{
    mpair p;
    char now[TS_TIME_MAX];
    (void)state;
    if (make_pair(TS_PAIR_SQLITE, &p, 10)) {
        skip();
        return;
    }
    ts_time_now(now);
    fake_process(&p, "bothost:77:x", 77, now, 1);
    fake_process(&p, "deadhost:78:x", 78, "2020-01-01T00:00:00Z", 1);
    EXPECT(&p, 4, "bothost pid 77 (ts-bot) reports version 1", "advance", "1.1", "--ack-timeout", "0.6");
    /* Phase one happened: the stage changed; the process is named, never skipped silently. */
    char st[32];
    assert_string_equal(stage_of(&p, "1.1", st, sizeof st), "expanded");
    assert_int_equal(count(p.nw.url, "SELECT count(*) FROM ts_audit WHERE command = 'advance' "
                           "AND result = 'failed' AND error LIKE '%bothost pid 77 (ts-bot)%'"), 1);
    ts_test_exec(p.nw.url, "UPDATE ts_processes SET versions = '{\"1.1\": 2}' WHERE pid = 77");
    EXPECT(&p, 0, "moved 1.1", "advance", "1.1", "--ack-timeout", "0.4", "--force");
    assert_int_equal(count(p.nw.url, "SELECT count(*) FROM ts_audit WHERE command = 'advance' "
                           "AND error LIKE '%forced past 1 process%bothost pid 77%'"), 1);
    /* Stale processes are listed, not waited on. */
    ts_test_exec(p.nw.url, "DELETE FROM ts_processes WHERE pid = 77");
    OK(&p, "advance", "1.1", "--ack-timeout", "5");
    drop_pair(&p);
}

/* ---- rollback from new_only after writes made at new_only ---------------------------- */

static void new_only_writes(ts_pair_kind kind)
{
    mpair p;
    ts_shim *sh;
    ts_tx *tx;
    ts_error err;
    int64_t id, changed;
    if (make_pair(kind, &p, 40)) {
        skip();
        return;
    }
    walk_to(&p, "new_only");
    ts_shim_config cfg = {p.legacy.url, p.nw.url, NULL, "test", 1, 0, 300, NULL, 0};
    if (ts_shim_open(&cfg, &sh, &err))
        fail_msg("shim: %s", err.msg);
    ts_ctx ctx = ts_shim_master(sh);
    ts_set ins[3] = {{"telegram_id", ts_int(990001)}, {"username", ts_text("written_at_new_only")},
                     {"language", ts_text("fa")}};
    ts_set upd = {"username", ts_text("renamed_at_new_only")};
    ts_cond c3 = {"id", ts_int(3)}, c5 = {"id", ts_int(5000)};
    /* The user deleted is one both stores have and nothing references (the
       real bot's references to users do not cascade). */
    ts_test_exec(p.legacy.url, "INSERT INTO users (id, telegram_id, " TS_TEST_USER_REQUIRED ") "
                               "VALUES (5000, 990002, " TS_TEST_USER_REQUIRED_VALUES ")");
    ts_test_exec(p.nw.url, "INSERT INTO users (bot_id, id, telegram_id, " TS_TEST_USER_REQUIRED ") "
                           "VALUES (1, 5000, 990002, " TS_TEST_USER_REQUIRED_VALUES ")");
    if (ts_shim_begin(sh, &ctx, &tx, &err) || ts_tx_insert(tx, "users", ins, 3, &id, &err) ||
        ts_tx_update(tx, "users", &c3, 1, &upd, 1, &changed, &err) ||
        ts_tx_delete(tx, "users", &c5, 1, &changed, &err) || ts_tx_commit(tx, &err))
        fail_msg("writing at new_only: %s", err.msg);
    ts_shim_close(sh);
    assert_int_equal(count(p.legacy.url, "SELECT count(*) FROM users WHERE telegram_id = 990001"), 0);

    char out[OUT_MAX];
    assert_int_equal(mig(&p, out, "rollback", "2.1", "--to", "read_new", NULL), 0);
    assert_non_null(strstr(out, "replayed 3 change journal entries"));
    assert_non_null(strstr(out, "diff of 2.1: clean"));
    assert_int_equal(count(p.legacy.url, "SELECT count(*) FROM users WHERE telegram_id = 990001 "
                                         "AND username = 'written_at_new_only'"), 1);
    assert_int_equal(count(p.legacy.url, "SELECT count(*) FROM users WHERE id = 3 AND "
                                         "username = 'renamed_at_new_only'"), 1);
    assert_int_equal(count(p.legacy.url, "SELECT count(*) FROM users WHERE id = 5000"), 0);
    /* Legacy ids continue above the rows written in new. */
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM users WHERE id = %lld", (long long)id);
    assert_int_equal(count(p.legacy.url, sql), 1);
    drop_pair(&p);
}

static void test_new_only_writes_sqlite(void **state) { (void)state; new_only_writes(TS_PAIR_SQLITE); }
static void test_new_only_writes_pg(void **state) { (void)state; new_only_writes(TS_PAIR_PG); }
static void test_new_only_writes_cross(void **state) { (void)state; new_only_writes(TS_PAIR_CROSS); }

/* Walk every data increment to new_only and open a shim on the pair. */
static ts_shim *at_new_only(mpair *p)
{
    ts_shim *sh;
    ts_error err;
    walk_to(p, "new_only");
    ts_shim_config cfg = {p->legacy.url, p->nw.url, NULL, "test", 1, 0, 300, NULL, 0};
    if (ts_shim_open(&cfg, &sh, &err))
        fail_msg("shim: %s", err.msg);
    return sh;
}

/*
 * The replay copies current rows, so an entry's row can reference a row whose
 * own entry comes later: user 3 renamed (entry 1), a promo group created
 * (entry 2), user 3 moved into it (entry 3). Replayed by id, entry 1 would
 * insert a reference to a group legacy does not have yet; replayed parents
 * first, the rollback goes through and the diff is clean.
 */
static void replay_by_foreign_keys(ts_pair_kind kind)
{
    mpair p;
    ts_tx *tx;
    ts_error err;
    int64_t group, changed;
    if (make_pair(kind, &p, 40)) {
        skip();
        return;
    }
    ts_shim *sh = at_new_only(&p);
    ts_ctx ctx = ts_shim_master(sh);
    ts_set rename = {"username", ts_text("renamed_first")};
    ts_set grp = {"name", ts_text("created_at_new_only")};
    ts_cond c3 = {"id", ts_int(3)};
    if (ts_shim_begin(sh, &ctx, &tx, &err) || ts_tx_update(tx, "users", &c3, 1, &rename, 1,
                                                          &changed, &err) || ts_tx_commit(tx, &err) ||
        ts_shim_begin(sh, &ctx, &tx, &err) || ts_tx_insert(tx, "promo_groups", &grp, 1, &group, &err) ||
        ts_tx_commit(tx, &err))
        fail_msg("writing at new_only: %s", err.msg);
    ts_set move = {"promo_group_id", ts_int(group)};
    if (ts_shim_begin(sh, &ctx, &tx, &err) || ts_tx_update(tx, "users", &c3, 1, &move, 1,
                                                          &changed, &err) || ts_tx_commit(tx, &err))
        fail_msg("writing at new_only: %s", err.msg);
    ts_shim_close(sh);

    char out[OUT_MAX], sql[160];
    int rc = mig(&p, out, "rollback", "2.1", "--to", "read_new", NULL);
    if (rc != 0 || !strstr(out, "diff of 2.1: clean"))
        fail_msg("rollback exited %d:\n%s", rc, out);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM users WHERE id = 3 AND promo_group_id = %lld "
             "AND username = 'renamed_first'", (long long)group);
    assert_int_equal(count(p.legacy.url, sql), 1);
    drop_pair(&p);
}

static void test_replay_by_foreign_keys_sqlite(void **state) { (void)state; replay_by_foreign_keys(TS_PAIR_SQLITE); }
static void test_replay_by_foreign_keys_pg(void **state) { (void)state; replay_by_foreign_keys(TS_PAIR_PG); }
static void test_replay_by_foreign_keys_cross(void **state) { (void)state; replay_by_foreign_keys(TS_PAIR_CROSS); }

/*
 * An entry legacy refuses (here a trigger) stops the rollback at read_new
 * with the entry named; status shows it stuck; going lower is refused while
 * it is not in legacy; once the cause is gone, repair applies it and the
 * rollback goes on.
 */
static void test_stuck_replay_holds_rollback(void **state)
{
    (void)state;
    mpair p;
    ts_tx *tx;
    ts_error err;
    int64_t id;
    char out[OUT_MAX], stage[32];
    if (make_pair(TS_PAIR_SQLITE, &p, 20)) {
        skip();
        return;
    }
    ts_shim *sh = at_new_only(&p);
    ts_ctx ctx = ts_shim_master(sh);
    ts_set ins[3] = {{"telegram_id", ts_int(990002)}, {"username", ts_text("stuck")},
                     {"language", ts_text("fa")}};
    if (ts_shim_begin(sh, &ctx, &tx, &err) || ts_tx_insert(tx, "users", ins, 3, &id, &err) ||
        ts_tx_commit(tx, &err))
        fail_msg("writing at new_only: %s", err.msg);
    ts_shim_close(sh);
    ts_test_exec(p.legacy.url, "CREATE TRIGGER refuse BEFORE INSERT ON users "
                               "BEGIN SELECT RAISE(ABORT, 'legacy refuses new users'); END");

    int rc = mig(&p, out, "rollback", "2.1", "--to", "read_new", NULL);
    if (rc != 1 || !strstr(out, "1 change journal entry cannot be applied and stay pending") ||
        !strstr(out, "(users [") || !strstr(out, "legacy refuses new users"))
        fail_msg("rollback exited %d:\n%s", rc, out);
    assert_string_equal(stage_of(&p, "2.1", stage, sizeof stage), "read_new");
    EXPECT(&p, 0, "journal stuck: 1 entries do not apply; the first: entry", "status");
    EXPECT(&p, 3, "1 change journal entries are not in legacy yet", "rollback", "2.1", "--to",
           "shadow");
    assert_string_equal(stage_of(&p, "2.1", stage, sizeof stage), "read_new");

    ts_test_exec(p.legacy.url, "DROP TRIGGER refuse");
    EXPECT(&p, 0, "repair: applied 0 drift and 1 change journal entries; pending: 0 drift, 0 "
                  "change", "repair");
    assert_int_equal(count(p.legacy.url, "SELECT count(*) FROM users WHERE telegram_id = 990002"), 1);
    all_back_to_read_new(&p);
    EXPECT(&p, 0, "rolled back 3.3", "rollback", "3.3", "--to", "shadow");
    drop_pair(&p);
}

/* ---- orphans ------------------------------------------------------------------------------ */

static void test_orphans(void **state)
{
    mpair p;
    char path[512], line[4096];
    (void)state;
    if (make_pair(TS_PAIR_SQLITE, &p, 20)) {
        skip();
        return;
    }
    for (int s = 0; s < 4; s++) {
        if (s == 2)
            OK(&p, "backfill", "2.1");
        OK(&p, "advance", "1.1", "--min-compared", "0");
        OK(&p, "advance", "2.1", "--min-compared", "0");
    }
    ts_test_exec(p.nw.url, "INSERT INTO bots (id, name, telegram_bot_token) VALUES (2, 'tenant', '2:T');"
                           "INSERT INTO users (bot_id, id, telegram_id, language, " TS_TEST_USER_REQUIRED ") "
                           "VALUES (2, 100000, 5, 'fa', " TS_TEST_USER_REQUIRED_VALUES ")");
    EXPECT(&p, 3, "1 rows the legacy store cannot hold (users=1): export them", "rollback", "2.1");
    ts_test_temp_path(path, sizeof path, ".jsonl");
    unlink(path);
    OK(&p, "rollback", "2.1", "--to", "expanded", "--export-orphans", path);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    assert_non_null(strstr(line, "{\"table\":\"users\",\"row\":{\"bot_id\":{\"i\":\"2\"}"));
    assert_null(fgets(line, sizeof line, f));
    fclose(f);
    /* Below dual_write the master copies are gone; an existing export is never overwritten. */
    assert_int_equal(count(p.nw.url, "SELECT count(*) FROM users WHERE bot_id = 1"), 0);
    EXPECT(&p, 1, "is never overwritten", "rollback", "2.1", "--to", "legacy", "--export-orphans", path);
    unlink(path);
    drop_pair(&p);
}


/* ---- the backfill rule, through the C API ------------------------------------------------ */

typedef struct deleter {
    const mpair *p;
    volatile int done;
    char err[1024];
} deleter;

static int64_t victim; /* a user of the first chunk nobody refers to */

static void *delete_victim(void *arg)
{
    deleter *d = arg;
    ts_shim *sh;
    ts_tx *tx;
    ts_error err;
    int64_t changed;
    ts_shim_config cfg = {d->p->legacy.url, d->p->nw.url, NULL, "test", 1, 0, 300, NULL, 0};
    ts_cond c = {"id", ts_int(victim)};
    for (int attempt = 0; attempt < 20; attempt++) {
        if (ts_shim_open(&cfg, &sh, &err) == 0) {
            ts_ctx ctx = ts_shim_master(sh);
            int rc = ts_shim_begin(sh, &ctx, &tx, &err) || ts_tx_delete(tx, "users", &c, 1, &changed, &err) ||
                     ts_tx_commit(tx, &err);
            ts_shim_close(sh);
            if (rc == 0)
                break;
        }
        snprintf(d->err, sizeof d->err, "%s", err.msg);
    }
    d->done = 1;
    return NULL;
}

static deleter *hook_deleter;
static pthread_t hook_thread;
static int hook_calls, done_during_chunk = -1;

static void on_chunk(const char *point, const char *table)
{
    if (strcmp(point, "chunk_read") != 0 || strcmp(table, "users") != 0 || hook_calls++ != 0 ||
        hook_deleter == NULL)
        return;
    pthread_create(&hook_thread, NULL, delete_victim, hook_deleter);
    struct timespec t = {0, 400 * 1000000L};
    nanosleep(&t, NULL);
    done_during_chunk = hook_deleter->done;
}

static void backfill_rule(ts_pair_kind kind)
{
    mpair p;
    ts_error err;
    if (make_pair(kind, &p, 60)) {
        skip();
        return;
    }
    /* The victim: one that no row references (the real bot's references to
       users do not cascade), there before dual_write, so the backfill copies
       it, in its first chunk (id 0: below the generated ones). */
    ts_test_exec(p.legacy.url, "INSERT INTO users (id, telegram_id, " TS_TEST_USER_REQUIRED ") "
                               "VALUES (0, 990061, " TS_TEST_USER_REQUIRED_VALUES ")");
    to_dual_write(&p, "1.1");
    to_dual_write(&p, "2.1");
    /* A row new already has (as a dual-write leaves it) is newer: never overwritten. */
    ts_test_exec(p.nw.url, "INSERT INTO users (bot_id, id, telegram_id, username, language, "
                           TS_TEST_USER_REQUIRED ") VALUES (1, 7, 990007, 'written_by_dual_write', "
                           "'fa', " TS_TEST_USER_REQUIRED_VALUES ")");
    victim = 0;
    deleter d = {&p, 0, ""};
    hook_deleter = &d;
    hook_calls = 0;
    done_during_chunk = -1;
    ts_backfill_hook = on_chunk;
    int rc = backfill_api(&p, "2.1", &err);
    ts_backfill_hook = NULL;
    hook_deleter = NULL;
    pthread_join(hook_thread, NULL);
    if (rc)
        fail_msg("backfill: %s", err.msg);
    assert_int_equal(d.done, 1);
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM users WHERE id = %lld", (long long)victim);
    if (d.err[0] && count(p.legacy.url, sql) != 0)
        fail_msg("the delete failed: %s", d.err);
    /* The delete waited for the chunk that had read the user ... */
    assert_int_equal(done_during_chunk, 0);
    /* ... and then removed it from both: not resurrected by the copy. */
    assert_int_equal(count(p.legacy.url, sql), 0);
    assert_int_equal(count(p.nw.url, sql), 0);
    assert_int_equal(count(p.nw.url, "SELECT count(*) FROM users WHERE id = 7 AND "
                                     "username = 'written_by_dual_write'"), 1);
    assert_int_equal(count(p.nw.url, "SELECT count(*) FROM users WHERE bot_id = 1"),
                     count(p.legacy.url, "SELECT count(*) FROM users"));
    /* Forward references (referrals into later chunks) were set by the second pass. */
    assert_int_equal(count(p.nw.url, "SELECT count(*) FROM users WHERE referred_by_id IS NOT NULL AND id <> 7"),
                     count(p.legacy.url, "SELECT count(*) FROM users WHERE referred_by_id IS NOT NULL AND id <> 7"));
    drop_pair(&p);
}

/*
 * A column the bot adds to a legacy table after its increment made the new
 * tables (it adds columns at start-up) stops what would leave its values
 * behind: manifest check names it and says to sync (exit 1), advance and
 * backfill refuse (exit 3) and change nothing. sync --dry-run shows the
 * ALTER and changes nothing; sync adds the column and copies its values;
 * then the backfill runs, the diff gate compares the column (a change only
 * legacy has refuses the advance) and rollback works.
 */
static void drift_refused(ts_pair_kind kind)
{
    mpair p;
    char stage[32], out[OUT_MAX];
    if (make_pair(kind, &p, 30)) {
        skip();
        return;
    }
    to_dual_write(&p, "1.1");
    to_dual_write(&p, "2.1");
    EXPECT(&p, 0, "the manifest accounts for every table and column", "manifest", "check");
    /* A shim that read the tables before: it refuses the increment's writes
       (they could not carry the column), reads on. */
    ts_shim *sh;
    ts_tx *tx;
    ts_error err;
    ts_result *res;
    ts_shim_config cfg = {p.legacy.url, p.nw.url, NULL, "test", 1, 0, 300, NULL, 0};
    if (ts_shim_open(&cfg, &sh, &err))
        fail_msg("shim: %s", err.msg);
    ts_test_exec(p.legacy.url, "ALTER TABLE users ADD COLUMN xray_uuid VARCHAR(255)");
    ts_test_exec(p.legacy.url, "UPDATE users SET xray_uuid = 'v-' || id WHERE id % 3 = 0");
    usleep(2100 * 1000); /* the shim looks at the tables every 2 s */
    if (ts_shim_tick(sh, &err))
        fail_msg("tick: %s", err.msg);
    ts_ctx ctx = ts_shim_master(sh);
    ts_set ins = {"telegram_id", ts_int(770001)};
    int64_t uid;
    assert_int_equal(ts_shim_begin(sh, &ctx, &tx, &err), 0);
    assert_int_equal(ts_tx_select(tx, "users", NULL, 0, "id", 1, &res, &err), 0);
    ts_result_free(res);
    assert_int_equal(ts_tx_insert(tx, "users", &ins, 1, &uid, &err), -1);
    assert_int_equal(err.code, TS_E_SCHEMA);
    assert_non_null(strstr(err.msg, "increment 2.1: column users.xray_uuid was added to the "
                                    "legacy store after test read its tables"));
    ts_tx_rollback(tx);
    ts_shim_close(sh);
    EXPECT(&p, 1, "column users.xray_uuid is in the legacy store but not in the new store's "
                  "users, which increment 2.1 made before the column came: run 'ts-migrate sync "
                  "2.1'", "manifest", "check");
    EXPECT(&p, 3, "the legacy store does not match the manifest: 1 problem: column "
                  "users.xray_uuid", "backfill", "2.1");
    assert_int_equal(count(p.nw.url, "SELECT count(*) FROM users"), 0);
    EXPECT(&p, 3, "'ts-migrate manifest check' lists them all", "advance", "2.1");
    assert_string_equal(stage_of(&p, "2.1", stage, sizeof stage), "dual_write");
    assert_int_equal(count(p.nw.url, "SELECT count(*) FROM ts_audit WHERE command = 'backfill' "
                                     "AND result = 'refused'"), 1);

    assert_int_equal(mig(&p, out, "sync", "2.1", "--dry-run", NULL), 0);
    assert_non_null(strstr(out, "ADD COLUMN  \"xray_uuid\" "));
    EXPECT(&p, 1, "run 'ts-migrate sync 2.1'", "manifest", "check");
    EXPECT(&p, 3, "sync carries legacy columns into new tables between expanded and read_new",
           "sync", "2.3");
    EXPECT(&p, 2, "unknown increment", "sync", "9.9");
    EXPECT(&p, 0, "synced 2.1: users.xray_uuid added to new, the values of 30 legacy rows "
                  "copied", "sync", "2.1");
    EXPECT(&p, 0, "2.1: the new tables have every column the legacy tables have", "sync", "2.1");
    OK(&p, "backfill", "2.1");
    assert_int_equal(count(p.nw.url, "SELECT count(*) FROM users WHERE xray_uuid = 'v-' || id"),
                     10);
    assert_int_equal(count(p.nw.url, "SELECT count(*) FROM users WHERE xray_uuid IS NOT NULL"), 10);
    /* The diff gate compares the column: a value only legacy has refuses. */
    OK(&p, "advance", "1.1");
    ts_test_exec(p.legacy.url, "UPDATE users SET xray_uuid = 'changed' WHERE id = 4");
    EXPECT(&p, 3, "diff: users: 0 missing, 0 extra, 1 changed (first: {\"kind\":\"changed\","
                  "\"key\":{\"id\":4},\"columns\":[{\"column\":\"xray_uuid\",\"legacy\":"
                  "\"changed\",\"new\":null}]})", "advance", "2.1");
    ts_test_exec(p.legacy.url, "UPDATE users SET xray_uuid = NULL WHERE id = 4");
    OK(&p, "advance", "2.1");
    assert_string_equal(stage_of(&p, "2.1", stage, sizeof stage), "shadow");
    OK(&p, "rollback", "2.1", "--to", "expanded");
    assert_string_equal(stage_of(&p, "2.1", stage, sizeof stage), "expanded");
    EXPECT(&p, 2, "manifest needs what to do", "manifest");
    EXPECT(&p, 2, "unknown manifest command 'draw'", "manifest", "draw");
    drop_pair(&p);
}

/* A column added while the backfill runs stops it at the next chunk; the
   checkpoint stays, and once the column is accounted for (here: gone) the
   backfill resumes and finishes. */
static const char *alter_url;

static void on_chunk_alter(const char *point, const char *table)
{
    if (strcmp(point, "chunk_start") == 0 && strcmp(table, "users") == 0 && hook_calls++ == 0)
        ts_test_exec(alter_url, "ALTER TABLE users ADD COLUMN xray_uuid VARCHAR(255)");
}

static void test_drift_stops_backfill_pg(void **state)
{
    (void)state;
    mpair p;
    ts_error err;
    if (make_pair(TS_PAIR_PG, &p, 60)) {
        skip();
        return;
    }
    to_dual_write(&p, "1.1");
    to_dual_write(&p, "2.1");
    alter_url = p.legacy.url;
    hook_calls = 0;
    ts_backfill_hook = on_chunk_alter;
    int rc = backfill_api(&p, "2.1", &err);
    ts_backfill_hook = NULL;
    assert_int_equal(rc, -1);
    assert_int_equal(err.code, TS_E_SCHEMA);
    if (!strstr(err.msg, "backfill of 2.1 stopped after 25 rows of users") ||
        !strstr(err.msg, "column users.xray_uuid"))
        fail_msg("%s", err.msg);
    assert_int_equal(count(p.nw.url, "SELECT count(*) FROM users"), 25);
    ts_test_exec(p.legacy.url, "ALTER TABLE users DROP COLUMN xray_uuid");
    if (backfill_api(&p, "2.1", &err))
        fail_msg("resume: %s", err.msg);
    assert_int_equal(count(p.nw.url, "SELECT count(*) FROM users"), 60);
    drop_pair(&p);
}

/* A legacy value the manifest cannot map stops the backfill naming the row. */
static void test_backfill_names_the_bad_row(void **state)
{
    (void)state;
    mpair p;
    if (make_pair(TS_PAIR_SQLITE, &p, 10)) {
        skip();
        return;
    }
    ts_test_exec(p.legacy.url, "DELETE FROM system_settings WHERE key = 'TRIAL_ENABLED'");
    ts_test_exec(p.legacy.url, "INSERT INTO system_settings (key, value) VALUES "
                               "('TRIAL_ENABLED', 'maybe')");
    to_dual_write(&p, "1.1");
    to_dual_write(&p, "2.4");
    EXPECT(&p, 1, "legacy row of system_settings with key='TRIAL_ENABLED'", "backfill", "2.4");
    drop_pair(&p);
}

static void test_drift_refused_sqlite(void **state) { (void)state; drift_refused(TS_PAIR_SQLITE); }
static void test_drift_refused_pg(void **state) { (void)state; drift_refused(TS_PAIR_PG); }

/* ---- manifests made from the built-in one ----------------------------------------- */

/* shim/manifest.json, parsed. */
static cJSON *builtin_manifest(void)
{
    FILE *f = fopen("shim/manifest.json", "r");
    static char text[1 << 20];
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f)
        fclose(f);
    text[n] = '\0';
    cJSON *m = cJSON_Parse(text);
    assert_non_null(cJSON_GetObjectItem(m, "increments"));
    return m;
}

/* Write m to path, and free it. */
static void save_manifest(cJSON *m, const char *path)
{
    char *out = cJSON_Print(m);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(out, f);
    fclose(f);
    free(out);
    cJSON_Delete(m);
}

/* ---- live columns and tables no declaration names ----------------------------- */

/* The built-in manifest with one more increment, 3.4, moving vpn_nodes
   (a table only the live store has), written to path. */
static void write_squads_manifest(const char *path)
{
    cJSON *m = builtin_manifest(), *incs = cJSON_GetObjectItem(m, "increments");
    cJSON *inc = cJSON_Parse("{\"id\": \"3.4\", \"name\": \"squads\", \"kind\": \"data\", "
                             "\"depends\": [\"2.1\"], \"tables\": [{\"legacy\": \"vpn_nodes\", "
                             "\"new\": \"vpn_nodes\", \"key\": [\"id\"]}]}");
    cJSON_AddItemToArray(incs, inc);
    for (cJSON *i = incs->child; i; i = i->next)
        if (strcmp(cJSON_GetObjectItem(i, "id")->valuestring, "2.5") == 0)
            cJSON_AddItemToArray(cJSON_GetObjectItem(i, "depends"), cJSON_CreateString("3.4"));
    save_manifest(m, path);
}

/*
 * A legacy store with columns and a table tenantshift never declared (as the
 * real bot's has): every one of them is carried into new with its values by
 * the backfill, compared by the diff gate (timestamps without a time zone,
 * NUMERIC, JSON, BOOLEAN, BIGINT across engines too), a change in one of them
 * refuses the advance, and rollback to legacy leaves legacy's values as they were.
 */
static void live_columns_and_tables(ts_pair_kind kind)
{
    mpair p;
    ts_store *s;
    ts_error err;
    char manifest[600], stage[32];
    memset(&p, 0, sizeof p);
    p.kind = kind;
    if (ts_test_store_url(kind == TS_PAIR_PG ? TS_ENGINE_PG : TS_ENGINE_SQLITE, &p.legacy) ||
        ts_test_store_url(kind == TS_PAIR_SQLITE ? TS_ENGINE_SQLITE : TS_ENGINE_PG, &p.nw)) {
        skip();
        return;
    }
    ts_gen_opts o = {7, 40, NULL, NULL};
    if (ts_store_open(p.legacy.url, &s, &err) || ts_gen_fill(s, &o, NULL, &err))
        fail_msg("generating legacy data: %s", err.msg);
    ts_store_close(s);
    int pg = kind == TS_PAIR_PG;
    const char *ts = pg ? "TIMESTAMP" : "DATETIME";
    char sql[1024];
    snprintf(sql, sizeof sql, "ALTER TABLE users ADD COLUMN panel_ref VARCHAR(255); "
             "ALTER TABLE users ADD COLUMN made_first_gift BOOLEAN NOT NULL DEFAULT FALSE; "
             "ALTER TABLE users ADD COLUMN lifetime_bytes BIGINT; "
             "ALTER TABLE users ADD COLUMN promo_expires %s; "
             "ALTER TABLE users ADD COLUMN settings JSON; "
             "ALTER TABLE users ADD COLUMN ratio NUMERIC(10, 2)", ts);
    ts_test_exec(p.legacy.url, sql);
    ts_test_exec(p.legacy.url, "UPDATE users SET panel_ref = 'u-' || id, "
                               "made_first_gift = (id % 2 = 0), "
                               "lifetime_bytes = id * 1099511627776, "
                               "promo_expires = '2025-01-02 03:04:05.25', "
                               "settings = '{\"b\": [1, 2], \"a\": \"x\"}', ratio = 12.5 "
                               "WHERE id % 2 = 1");
    snprintf(sql, sizeof sql, "CREATE TABLE vpn_nodes (id %s PRIMARY KEY, "
             "user_id INTEGER REFERENCES users (id) ON DELETE CASCADE, "
             "name VARCHAR(64) NOT NULL UNIQUE, meta JSON, created %s, price NUMERIC, "
             "CHECK (length(name) > 0))", pg ? "SERIAL" : "INTEGER", ts);
    ts_test_exec(p.legacy.url, sql);
    ts_test_exec(p.legacy.url, "INSERT INTO vpn_nodes (user_id, name, meta, created, price) "
                               "SELECT id, 'sq-' || id, '{\"n\": 1}', '2024-05-06 07:08:09', 3.25 "
                               "FROM users WHERE id % 4 = 0");
    int squads = count(p.legacy.url, "SELECT count(*) FROM vpn_nodes");
    assert_true(squads > 0);
    /* Without the increment that moves it, the table is refused. */
    EXPECT(&p, 3, "table vpn_nodes (6 columns) is not accounted for", "init");
    ts_test_temp_path(manifest, sizeof manifest, ".json");
    write_squads_manifest(manifest);
    p.manifest = manifest;
    OK(&p, "init");
    EXPECT(&p, 0, "the manifest accounts for every table and column", "manifest", "check");
    to_dual_write(&p, "1.1");
    to_dual_write(&p, "2.1");
    to_dual_write(&p, "3.4");
    OK(&p, "backfill", "2.1");
    OK(&p, "backfill", "3.4");
    assert_int_equal(count(p.nw.url, "SELECT count(*) FROM users WHERE panel_ref = 'u-' || id "
                                     "AND lifetime_bytes = id * 1099511627776 AND ratio = 12.5 "
                                     "AND settings IS NOT NULL AND promo_expires IS NOT NULL"),
                     count(p.legacy.url, "SELECT count(*) FROM users WHERE id % 2 = 1"));
    assert_int_equal(count(p.nw.url, "SELECT count(*) FROM users WHERE made_first_gift"),
                     count(p.legacy.url, "SELECT count(*) FROM users WHERE made_first_gift"));
    assert_int_equal(count(p.nw.url, "SELECT count(*) FROM vpn_nodes WHERE bot_id = 1 AND "
                                     "name = 'sq-' || user_id AND price = 3.25"), squads);
    /* The twin's keys carry bot_id, the unique and the reference too. */
    ts_test_exec(p.nw.url, "INSERT INTO bots (id, name, telegram_bot_token, is_master) "
                           "VALUES (77, 'other', '77:other', FALSE)");
    ts_test_exec(p.nw.url, "INSERT INTO vpn_nodes (bot_id, id, user_id, name) "
                           "SELECT 77, id, NULL, name FROM vpn_nodes WHERE bot_id = 1");
    ts_test_exec(p.nw.url, "DELETE FROM bots WHERE id = 77");
    assert_int_equal(count(p.nw.url, "SELECT count(*) FROM vpn_nodes"), squads);

    /* The diff gate compares every carried column: clean, then a change refuses. */
    OK(&p, "advance", "1.1");
    OK(&p, "advance", "2.1");
    ts_test_exec(p.nw.url, "UPDATE vpn_nodes SET price = 3.5 WHERE id = "
                           "(SELECT min(id) FROM vpn_nodes)");
    EXPECT(&p, 3, "\"column\":\"price\"", "advance", "3.4");
    ts_test_exec(p.nw.url, "UPDATE vpn_nodes SET price = 3.25");
    OK(&p, "advance", "3.4");
    assert_string_equal(stage_of(&p, "3.4", stage, sizeof stage), "shadow");

    /* Back to legacy: legacy's values are as they were. */
    OK(&p, "rollback", "3.4", "--to", "legacy");
    OK(&p, "rollback", "2.1", "--to", "legacy");
    assert_int_equal(count(p.legacy.url, "SELECT count(*) FROM users WHERE panel_ref = 'u-' || id"),
                     count(p.legacy.url, "SELECT count(*) FROM users WHERE id % 2 = 1"));
    assert_int_equal(count(p.legacy.url, "SELECT count(*) FROM vpn_nodes"), squads);
    unlink(manifest);
    drop_pair(&p);
}

static void test_live_columns_sqlite(void **state) { (void)state; live_columns_and_tables(TS_PAIR_SQLITE); }
static void test_live_columns_pg(void **state) { (void)state; live_columns_and_tables(TS_PAIR_PG); }
static void test_live_columns_cross(void **state) { (void)state; live_columns_and_tables(TS_PAIR_CROSS); }

/* ---- manifest draft on a schema tenantshift has never seen ----------------------- */

/* manifest draft of the pair's legacy store, saved at path (n bytes) and used
   by p from now on; the draft parsed (out holds its text). */
static cJSON *use_draft(mpair *p, char *path, size_t n, char *out)
{
    assert_int_equal(mig(p, out, "manifest", "draft", NULL), 0);
    ts_test_temp_path(path, n, ".json");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(out, f);
    fclose(f);
    p->manifest = path;
    cJSON *doc = cJSON_Parse(out);
    assert_non_null(cJSON_GetObjectItem(doc, "increments"));
    return doc;
}

/* Every increment of the draft back to legacy, dependents first. */
static void rollback_all(mpair *p, const cJSON *doc)
{
    const cJSON *incs = cJSON_GetObjectItem(doc, "increments");
    char stage[32];
    for (int k = cJSON_GetArraySize(incs) - 1; k >= 0; k--) {
        const char *id = cJSON_GetObjectItem(cJSON_GetArrayItem(incs, k), "id")->valuestring;
        if (strcmp(stage_of(p, id, stage, sizeof stage), "legacy") != 0)
            OK(p, "rollback", id, "--to", "legacy");
    }
}


/* A dozen tables: text and composite keys, self references, a reference
   cycle between two tables, JSON, NUMERIC, timestamps, a table without any
   key, NOT NULL columns without defaults, a unique besides the key. */
static const char *unseen_ddl(int pg)
{
    return pg ? "CREATE TABLE regions (code TEXT PRIMARY KEY, name TEXT NOT NULL);"
                "CREATE TABLE customers (id SERIAL PRIMARY KEY, region_code TEXT REFERENCES "
                "regions (code), email VARCHAR(120) NOT NULL UNIQUE, referrer_id INTEGER "
                "REFERENCES customers (id), profile JSONB, created TIMESTAMP NOT NULL);"
                "CREATE TABLE products (sku VARCHAR(32) PRIMARY KEY, title TEXT NOT NULL, "
                "price NUMERIC(10, 2) NOT NULL, active BOOLEAN NOT NULL);"
                "CREATE TABLE orders (id BIGSERIAL PRIMARY KEY, customer_id INTEGER NOT NULL "
                "REFERENCES customers (id) ON DELETE CASCADE, placed TIMESTAMPTZ, total NUMERIC);"
                "CREATE TABLE order_lines (order_id BIGINT REFERENCES orders (id), line_no INTEGER, "
                "sku VARCHAR(32) NOT NULL REFERENCES products (sku), qty INTEGER NOT NULL, "
                "PRIMARY KEY (order_id, line_no));"
                "CREATE TABLE tags (id SERIAL PRIMARY KEY, label TEXT NOT NULL UNIQUE);"
                "CREATE TABLE product_tags (sku VARCHAR(32) REFERENCES products (sku), tag_id "
                "INTEGER REFERENCES tags (id), PRIMARY KEY (sku, tag_id));"
                "CREATE TABLE audit_log (at TIMESTAMP, message TEXT);"
                "CREATE TABLE employees (id SERIAL PRIMARY KEY, manager_id INTEGER REFERENCES "
                "employees (id), name TEXT NOT NULL);"
                "CREATE TABLE departments (id SERIAL PRIMARY KEY, name TEXT NOT NULL, head_id INTEGER);"
                "CREATE TABLE heads (id SERIAL PRIMARY KEY, dept_id INTEGER REFERENCES departments (id));"
                "ALTER TABLE departments ADD FOREIGN KEY (head_id) REFERENCES heads (id);"
                "CREATE TABLE settings (key TEXT PRIMARY KEY, value JSON);"
                "CREATE TABLE shipments (id SERIAL PRIMARY KEY, order_id BIGINT UNIQUE REFERENCES "
                "orders (id), tracking VARCHAR(40))"
              : "CREATE TABLE regions (code TEXT PRIMARY KEY, name TEXT NOT NULL);"
                "CREATE TABLE customers (id INTEGER PRIMARY KEY, region_code TEXT REFERENCES "
                "regions (code), email VARCHAR(120) NOT NULL UNIQUE, referrer_id INTEGER "
                "REFERENCES customers (id), profile JSON, created DATETIME NOT NULL);"
                "CREATE TABLE products (sku VARCHAR(32) PRIMARY KEY, title TEXT NOT NULL, "
                "price NUMERIC(10, 2) NOT NULL, active BOOLEAN NOT NULL);"
                "CREATE TABLE orders (id INTEGER PRIMARY KEY AUTOINCREMENT, customer_id INTEGER "
                "NOT NULL REFERENCES customers (id) ON DELETE CASCADE, placed TIMESTAMP, total NUMERIC);"
                "CREATE TABLE order_lines (order_id INTEGER REFERENCES orders (id), line_no INTEGER, "
                "sku VARCHAR(32) NOT NULL REFERENCES products (sku), qty INTEGER NOT NULL, "
                "PRIMARY KEY (order_id, line_no));"
                "CREATE TABLE tags (id INTEGER PRIMARY KEY, label TEXT NOT NULL UNIQUE);"
                "CREATE TABLE product_tags (sku VARCHAR(32) REFERENCES products (sku), tag_id "
                "INTEGER REFERENCES tags (id), PRIMARY KEY (sku, tag_id));"
                "CREATE TABLE audit_log (at DATETIME, message TEXT);"
                "CREATE TABLE employees (id INTEGER PRIMARY KEY, manager_id INTEGER REFERENCES "
                "employees (id), name TEXT NOT NULL);"
                "CREATE TABLE departments (id INTEGER PRIMARY KEY, name TEXT NOT NULL, head_id "
                "INTEGER REFERENCES heads (id));"
                "CREATE TABLE heads (id INTEGER PRIMARY KEY, dept_id INTEGER REFERENCES departments (id));"
                "CREATE TABLE settings (key TEXT PRIMARY KEY, value JSON);"
                "CREATE TABLE shipments (id INTEGER PRIMARY KEY, order_id INTEGER UNIQUE REFERENCES "
                "orders (id), tracking VARCHAR(40))";
}

static void fill_unseen(const char *url)
{
    static const char *const rows[] = {
        "INSERT INTO regions VALUES ('north', 'North'), ('s''outh', 'South -- ''; DROP'), ('', 'empty')",
        "INSERT INTO customers (id, region_code, email, referrer_id, profile, created) VALUES "
        "(1, 'north', 'a@x', NULL, '{\"vip\": true, \"tags\": [\"a\"]}', '2024-01-02 03:04:05'), "
        "(2, 's''outh', 'b@x', 1, NULL, '1970-01-01 00:00:00'), "
        "(3, NULL, 'ç@ي', 2, '{}', '2099-12-31 23:59:59.999999')",
        "UPDATE customers SET referrer_id = 3 WHERE id = 1",
        "INSERT INTO products VALUES ('SKU-1', 'One', 9.99, TRUE), ('SKU-2', 'Two 😀', 0, FALSE)",
        "INSERT INTO orders (id, customer_id, placed, total) VALUES (1, 1, '2024-02-03 04:05:06', "
        "19.98), (2, 3, NULL, NULL)",
        "INSERT INTO order_lines VALUES (1, 1, 'SKU-1', 2), (1, 2, 'SKU-2', -1), (2, 1, 'SKU-1', 1)",
        "INSERT INTO tags (id, label) VALUES (1, 'new'), (2, 'sale')",
        "INSERT INTO product_tags VALUES ('SKU-1', 1), ('SKU-1', 2), ('SKU-2', 2)",
        "INSERT INTO audit_log VALUES ('2024-01-01 00:00:00', 'no key here')",
        "INSERT INTO employees (id, manager_id, name) VALUES (1, NULL, 'boss'), (2, 1, 'dev'), "
        "(3, 2, 'intern')",
        "INSERT INTO departments (id, name, head_id) VALUES (1, 'eng', NULL)",
        "INSERT INTO heads (id, dept_id) VALUES (1, 1)",
        "UPDATE departments SET head_id = 1",
        "INSERT INTO settings VALUES ('theme', '{\"dark\": 1}'), ('empty', NULL)",
        "INSERT INTO shipments (id, order_id, tracking) VALUES (1, 1, 'TRK1'), (2, 2, NULL)",
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        ts_test_exec(url, rows[i]);
}

/*
 * manifest draft on it yields a manifest init accepts unchanged: every table
 * in an increment but the one without a key (ignored, with what to do), the
 * reference cycle in one increment (whose backfill refuses, saying why);
 * every other increment walks to shadow through the diff gate (clean) and
 * back to legacy.
 */
static void draft_walks(ts_pair_kind kind)
{
    mpair p;
    char manifest[600], out[OUT_MAX];
    memset(&p, 0, sizeof p);
    p.kind = kind;
    if (ts_test_store_url(kind == TS_PAIR_PG ? TS_ENGINE_PG : TS_ENGINE_SQLITE, &p.legacy) ||
        ts_test_store_url(kind == TS_PAIR_SQLITE ? TS_ENGINE_SQLITE : TS_ENGINE_PG, &p.nw)) {
        skip();
        return;
    }
    ts_test_exec(p.legacy.url, unseen_ddl(kind == TS_PAIR_PG));
    fill_unseen(p.legacy.url);
    EXPECT(&p, 3, "table audit_log (2 columns) is not accounted for", "init");
    cJSON *doc = use_draft(&p, manifest, sizeof manifest, out);
    assert_non_null(strstr(out, "\"audit_log\":\t\"no primary key"));
    OK(&p, "init");
    EXPECT(&p, 0, "the manifest accounts for every table and column", "manifest", "check");
    /* Every increment of the draft, in its order: walked to shadow, diff gate clean. */
    int n = 0, cycle = 0;
    for (cJSON *i = cJSON_GetObjectItem(doc, "increments")->child; i; i = i->next, n++) {
        const char *id = cJSON_GetObjectItem(i, "id")->valuestring;
        cJSON *t = cJSON_GetObjectItem(i, "tables");
        to_dual_write(&p, id);
        if (cJSON_GetArraySize(t) == 2) { /* the cycle: refused, said why */
            cycle = 1;
            EXPECT(&p, 1, "refer to each other, and the backfill copies one table at a time",
                   "backfill", id);
            OK(&p, "rollback", id, "--to", "legacy");
        } else if (t) {
            OK(&p, "backfill", id);
        }
    }
    assert_int_equal(n, 12); /* 1.1 and the 11 tables with a key, the cycle's two in one */
    assert_true(cycle);
    for (cJSON *i = cJSON_GetObjectItem(doc, "increments")->child; i; i = i->next)
        if (cJSON_GetArraySize(cJSON_GetObjectItem(i, "tables")) != 2)
            OK(&p, "advance", cJSON_GetObjectItem(i, "id")->valuestring);
    assert_int_equal(count(p.nw.url, "SELECT count(*) FROM order_lines WHERE bot_id = 1"), 3);
    assert_int_equal(count(p.nw.url, "SELECT count(*) FROM customers WHERE bot_id = 1 AND "
                                     "email = 'ç@ي'"), 1);
    rollback_all(&p, doc);
    assert_int_equal(count(p.legacy.url, "SELECT count(*) FROM order_lines"), 3);
    cJSON_Delete(doc);
    unlink(manifest);
    drop_pair(&p);
}

static void test_draft_sqlite(void **state) { (void)state; draft_walks(TS_PAIR_SQLITE); }
static void test_draft_pg(void **state) { (void)state; draft_walks(TS_PAIR_PG); }
static void test_draft_cross(void **state) { (void)state; draft_walks(TS_PAIR_CROSS); }

/* ---- the real bot's schema, end to end ------------------------------------------------ */

/* Every live table's digest, concatenated (the legacy store byte for byte). */
static void live_digest(const char *url, ts_buf *out)
{
    ts_store *s;
    ts_schema *live;
    ts_error err;
    if (ts_store_open(url, &s, &err) || ts_catalog_read(s, "legacy", &live, &err))
        fail_msg("reading %s: %s", url, err.msg);
    for (int i = 0; i < live->ntables; i++) {
        ts_digest d;
        if (ts_canon_table_digest(s, &live->tables[i], &d, &err))
            fail_msg("digest of %s: %s", live->tables[i].name, err.msg);
        ts_buf_printf(out, "%s %lld %s\n", live->tables[i].name, (long long)d.rows, d.hex);
    }
    ts_schema_free(live);
    ts_store_close(s);
}

/*
 * The real RemnaWave schema (48 tables), filled from its catalog: a drafted
 * manifest walks every table to read_new with a clean diff at every gate,
 * every live column in new with its values, then back to legacy, whose data
 * is byte for byte what it was.
 */
static void real_schema_walks(ts_pair_kind kind)
{
    mpair p;
    char manifest[600];
    static char out[OUT_MAX];
    ts_store *s;
    ts_error err;
    ts_buf before = {0}, after = {0};
    memset(&p, 0, sizeof p);
    p.kind = kind;
    if (ts_test_store_url(kind == TS_PAIR_PG ? TS_ENGINE_PG : TS_ENGINE_SQLITE, &p.legacy) ||
        ts_test_store_url(kind == TS_PAIR_SQLITE ? TS_ENGINE_SQLITE : TS_ENGINE_PG, &p.nw)) {
        skip();
        return;
    }
    ts_test_load_real_schema(p.legacy.url);
    ts_fill_opts fo = {3, 30};
    int64_t rows;
    if (ts_store_open(p.legacy.url, &s, &err) || ts_fill_live(s, &fo, &rows, &err))
        fail_msg("filling the real schema: %s", err.msg);
    ts_store_close(s);
    assert_true(rows > 40 * 10);
    live_digest(p.legacy.url, &before);

    cJSON *doc = use_draft(&p, manifest, sizeof manifest, out);
    cJSON *incs = cJSON_GetObjectItem(doc, "increments");
    OK(&p, "init");
    int tables = 0;
    for (cJSON *i = incs->child; i; i = i->next) {
        const char *id = cJSON_GetObjectItem(i, "id")->valuestring;
        to_dual_write(&p, id);
        tables += cJSON_GetArraySize(cJSON_GetObjectItem(i, "tables"));
        if (cJSON_GetObjectItem(i, "tables"))
            OK(&p, "backfill", id);
    }
    assert_int_equal(tables, 47); /* and system_settings ignored: its new shape is declared */
    for (cJSON *i = incs->child; i; i = i->next)
        OK(&p, "advance", cJSON_GetObjectItem(i, "id")->valuestring);      /* diff gate */
    for (cJSON *i = incs->child; i; i = i->next)
        OK(&p, "advance", cJSON_GetObjectItem(i, "id")->valuestring, "--min-compared", "0");
    /* Every column of the real users table in new, with its values. */
    assert_int_equal(count(p.nw.url, "SELECT count(*) FROM users WHERE bot_id = 1 AND "
                                     "remnawave_uuid IS NOT NULL AND vless_uuid IS NOT NULL"),
                     count(p.legacy.url, "SELECT count(*) FROM users WHERE remnawave_uuid IS NOT "
                                         "NULL AND vless_uuid IS NOT NULL"));
    assert_int_equal(count(p.nw.url, "SELECT count(*) FROM pal24_payments"),
                     count(p.legacy.url, "SELECT count(*) FROM pal24_payments"));
    rollback_all(&p, doc);
    live_digest(p.legacy.url, &after);
    assert_string_equal(before.s, after.s);
    ts_buf_free(&before);
    ts_buf_free(&after);
    cJSON_Delete(doc);
    unlink(manifest);
    drop_pair(&p);
}

static void test_real_schema_sqlite(void **state) { (void)state; real_schema_walks(TS_PAIR_SQLITE); }
static void test_real_schema_pg(void **state) { (void)state; real_schema_walks(TS_PAIR_PG); }
static void test_real_schema_cross(void **state) { (void)state; real_schema_walks(TS_PAIR_CROSS); }

/* ---- write defaults ------------------------------------------------------------------ */

/* Add the write defaults of json to table map t, beside those it has. */
static void add_write_defaults(cJSON *t, const char *json)
{
    cJSON *have = cJSON_GetObjectItem(t, "write_defaults"), *more = cJSON_Parse(json);
    if (have == NULL) {
        cJSON_AddItemToObject(t, "write_defaults", more);
        return;
    }
    while (more->child) {
        cJSON *item = cJSON_DetachItemViaPointer(more, more->child);
        cJSON_DeleteItemFromObject(have, item->string);
        cJSON_AddItemToObject(have, item->string, item);
    }
    cJSON_Delete(more);
}

/* The built-in manifest with a write default for users.gift_claimed. */
static void write_topup_manifest(const char *path)
{
    cJSON *m = builtin_manifest();
    for (cJSON *i = cJSON_GetObjectItem(m, "increments")->child; i; i = i->next)
        for (cJSON *t = cJSON_GetObjectItem(i, "tables") ? cJSON_GetObjectItem(i, "tables")->child
                                                         : NULL; t; t = t->next)
            if (strcmp(cJSON_GetObjectItem(t, "legacy")->valuestring, "users") == 0)
                add_write_defaults(t, "{\"gift_claimed\": false}");
    save_manifest(m, path);
}

/* One user inserted through a shim on the pair with the manifest at path;
   the insert's result. */
static int insert_user(const mpair *p, const char *path, int64_t telegram_id, ts_error *err)
{
    ts_shim *sh;
    ts_tx *tx;
    int64_t id;
    ts_shim_config cfg = {p->legacy.url, p->nw.url, path, "test", 1, 0, 300, NULL, 0};
    if (ts_shim_open(&cfg, &sh, err))
        fail_msg("shim: %s", err->msg);
    ts_ctx ctx = ts_shim_master(sh);
    ts_set ins[2] = {{"telegram_id", ts_int(telegram_id)}, {"username", ts_text("new user")}};
    int rc = ts_shim_begin(sh, &ctx, &tx, err);
    if (rc == 0 && ts_tx_insert(tx, "users", ins, 2, &id, err)) {
        ts_tx_rollback(tx);
        rc = -1;
    } else if (rc == 0) {
        rc = ts_tx_commit(tx, err);
    }
    ts_shim_close(sh);
    return rc;
}

/*
 * A NOT NULL column without a default that the bot's code does not know (the
 * real bot's gift_claimed): the bot's insert is refused by legacy;
 * with a write default in the manifest it writes it, at legacy and through
 * dual_write in both stores. A write default for a column new lacks, or of
 * the wrong type, is refused when the manifest loads.
 */
static void test_write_defaults_pg(void **state)
{
    (void)state;
    mpair p;
    ts_store *s;
    ts_error err;
    char manifest[600];
    memset(&p, 0, sizeof p);
    p.kind = TS_PAIR_PG;
    if (ts_test_store_url(TS_ENGINE_PG, &p.legacy) || ts_test_store_url(TS_ENGINE_PG, &p.nw)) {
        skip();
        return;
    }
    ts_gen_opts o = {7, 20, NULL, NULL};
    if (ts_store_open(p.legacy.url, &s, &err) || ts_gen_fill(s, &o, NULL, &err))
        fail_msg("generating legacy data: %s", err.msg);
    ts_store_close(s);
    ts_test_exec(p.legacy.url, "ALTER TABLE users ADD COLUMN gift_claimed BOOLEAN; "
                               "UPDATE users SET gift_claimed = (id % 2 = 0); "
                               "ALTER TABLE users ALTER COLUMN gift_claimed SET NOT NULL");
    OK(&p, "init");
    assert_int_equal(insert_user(&p, NULL, 880001, &err), -1);
    assert_non_null(strstr(err.msg, "gift_claimed"));

    ts_test_temp_path(manifest, sizeof manifest, ".json");
    write_topup_manifest(manifest);
    p.manifest = manifest;
    if (insert_user(&p, manifest, 880002, &err))
        fail_msg("insert with a write default: %s", err.msg);
    assert_int_equal(count(p.legacy.url, "SELECT count(*) FROM users WHERE telegram_id = 880002 "
                                         "AND NOT gift_claimed"), 1);
    to_dual_write(&p, "1.1");
    to_dual_write(&p, "2.1");
    OK(&p, "backfill", "2.1");
    if (insert_user(&p, manifest, 880003, &err))
        fail_msg("insert at dual_write: %s", err.msg);
    assert_int_equal(count(p.legacy.url, "SELECT count(*) FROM users WHERE telegram_id = 880003 "
                                         "AND NOT gift_claimed"), 1);
    assert_int_equal(count(p.nw.url, "SELECT count(*) FROM users WHERE telegram_id = 880003 "
                                     "AND NOT gift_claimed"), 1);
    /* The values the rows had are kept: a write default only fills what an insert leaves out. */
    assert_int_equal(count(p.nw.url, "SELECT count(*) FROM users WHERE gift_claimed"),
                     count(p.legacy.url, "SELECT count(*) FROM users WHERE gift_claimed"));

    static const char *const bad[][2] = {
        {"{\"no_such_column\": 1}", "new table users has no such column"},
        {"{\"has_had_paid_subscription\": \"yes\"}", "does not fit the bool column"},
        {"{\"bot_id\": 2}", "bot_id comes from the unit of work's bot"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        cJSON *m = builtin_manifest();
        cJSON *t = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(m, "increments"), 2),
                                       "tables");
        add_write_defaults(cJSON_GetArrayItem(t, 1), bad[k][0]);
        char *json = cJSON_Print(m);
        ts_manifest *mf;
        assert_int_equal(ts_manifest_load_json(json, &mf, &err), -1);
        if (!strstr(err.msg, bad[k][1]))
            fail_msg("%s: %s", bad[k][0], err.msg);
        free(json);
        cJSON_Delete(m);
    }
    unlink(manifest);
    drop_pair(&p);
}

/* Before init: a command says to run init (exit 3) and creates nothing; a
   mistyped legacy path is named (exit 2) and no empty database appears. */
static void test_before_init(void **state)
{
    (void)state;
    mpair p;
    ts_store *s;
    ts_error err;
    memset(&p, 0, sizeof p);
    p.kind = TS_PAIR_SQLITE;
    if (ts_test_store_url(TS_ENGINE_SQLITE, &p.legacy) || ts_test_store_url(TS_ENGINE_SQLITE, &p.nw))
        fail_msg("no SQLite store");
    ts_gen_opts o = {7, 5, NULL, NULL};
    if (ts_store_open(p.legacy.url, &s, &err) || ts_gen_fill(s, &o, NULL, &err))
        fail_msg("generating legacy data: %s", err.msg);
    ts_store_close(s);
    unlink(p.nw.url + 7);
    EXPECT(&p, 3, "does not exist yet: run 'ts-migrate init' first", "advance", "1.1");
    EXPECT(&p, 3, "does not exist yet: run 'ts-migrate init' first", "status");
    assert_int_equal(access(p.nw.url + 7, F_OK), -1);
    EXPECT(&p, 0, "the manifest accounts for every table and column", "manifest", "check");
    EXPECT(&p, 3, "has no control plane yet: run 'ts-migrate init' first", "advance", "1.1");
    EXPECT(&p, 3, "has no control plane yet: run 'ts-migrate init' first", "backfill", "2.1");

    mpair typo = p;
    snprintf(typo.legacy.url, sizeof typo.legacy.url, "%.1000s-typo", p.legacy.url);
    EXPECT(&typo, 2, "-typo does not exist: check the path", "status");
    assert_int_equal(access(typo.legacy.url + 7, F_OK), -1);
    OK(&p, "init");
    OK(&p, "status");
    drop_pair(&p);
}

/* status and plan only read: not audited; help COMMAND; a process's kill
   switch is shown by status, in text and JSON. */
static void test_status_and_help(void **state)
{
    (void)state;
    mpair p;
    ts_shim *sh;
    ts_error err;
    char out[OUT_MAX];
    if (make_pair(TS_PAIR_SQLITE, &p, 5)) {
        skip();
        return;
    }
    int audited = count(p.nw.url, "SELECT count(*) FROM ts_audit");
    OK(&p, "status");
    OK(&p, "plan");
    OK(&p, "status", "--json");
    OK(&p, "manifest", "check");
    assert_int_equal(count(p.nw.url, "SELECT count(*) FROM ts_audit"), audited);
    OK(&p, "advance", "1.1");
    assert_int_equal(count(p.nw.url, "SELECT count(*) FROM ts_audit"), audited + 1);

    EXPECT(&p, 0, "ts-migrate sync ID [--dry-run]", "help", "sync");
    EXPECT(&p, 0, "Exit 3 refused", "help", "advance");
    EXPECT(&p, 2, "no command 'frobnicate'", "help", "frobnicate");

    ts_shim_config cfg = {p.legacy.url, p.nw.url, NULL, "killtest", 1, 0, 300, NULL, 0};
    if (ts_shim_open(&cfg, &sh, &err))
        fail_msg("shim: %s", err.msg);
    ts_shim_set_kill_switch(sh, 1);
    usleep(1100 * 1000); /* the next heartbeat is due */
    if (ts_shim_tick(sh, &err))
        fail_msg("tick: %s", err.msg);
    assert_int_equal(mig(&p, out, "status", NULL), 0);
    assert_non_null(strstr(out, "(killtest) heartbeat"));
    assert_non_null(strstr(out, "KILL-SWITCH-ON"));
    assert_int_equal(mig(&p, out, "status", "--json", NULL), 0);
    assert_non_null(strstr(out, "\"kill_switch\":\ttrue"));
    ts_shim_close(sh);
    drop_pair(&p);
}

/* The real bot's database, as its users bring it: init takes it with the
   built-in manifest and adds tenantshift's ts_processed_updates; an older
   one without a table the manifest moves is refused, that table named,
   before anything is created. */
static void test_real_schema_init(void **state)
{
    (void)state;
    mpair p;
    char out[OUT_MAX];
    memset(&p, 0, sizeof p);
    if (ts_test_store_url(TS_ENGINE_SQLITE, &p.legacy) ||
        ts_test_store_url(TS_ENGINE_SQLITE, &p.nw))
        fail_msg("no SQLite store");
    ts_test_load_real_schema(p.legacy.url);
    EXPECT(&p, 0, "the manifest accounts for every table and column", "manifest", "check");
    EXPECT(&p, 0, "initialized", "init");
    assert_int_equal(count(p.legacy.url, "SELECT count(*) FROM ts_processed_updates"), 0);
    EXPECT(&p, 0, "the manifest accounts for every table and column", "manifest", "check");
    drop_pair(&p);

    memset(&p, 0, sizeof p);
    if (ts_test_store_url(TS_ENGINE_SQLITE, &p.legacy) ||
        ts_test_store_url(TS_ENGINE_SQLITE, &p.nw))
        fail_msg("no SQLite store");
    ts_test_load_real_schema(p.legacy.url);
    ts_test_exec(p.legacy.url, "DROP TABLE web_api_tokens");
    int rc = mig(&p, out, "init", NULL);
    if (rc != 3 || !strstr(out, "table web_api_tokens, which increment 3.2 moves, is not in the "
                                "legacy store"))
        fail_msg("init exited %d:\n%s", rc, out);
    assert_int_equal(count(p.nw.url, "SELECT count(*) FROM sqlite_master WHERE name = "
                                     "'ts_increments'"), 0);
    assert_int_equal(count(p.legacy.url, "SELECT count(*) FROM sqlite_master WHERE name = "
                                         "'ts_processed_updates'"), 0);
    drop_pair(&p);
}

static void test_backfill_rule_sqlite(void **state) { (void)state; backfill_rule(TS_PAIR_SQLITE); }
static void test_backfill_rule_pg(void **state) { (void)state; backfill_rule(TS_PAIR_PG); }
static void test_backfill_rule_cross(void **state) { (void)state; backfill_rule(TS_PAIR_CROSS); }

/*
 * Another writer inserts a row of the chunk into new as the chunk starts and
 * commits while the chunk's insert (the COPY into the table, new holding none
 * of the range when it looked) waits on it: the insert fails on that key, the
 * chunk is retried through the staging table, which skips the row, and the
 * writer's row stays as written.
 */
typedef struct racer {
    const char *url;
    volatile int inserted;
    char err[sizeof ((ts_error *)0)->msg];
} racer;

static racer *hook_racer;

static void *race_insert(void *arg)
{
    racer *r = arg;
    ts_store *s;
    ts_error err;
    if (ts_store_open(r->url, &s, &err) || ts_store_begin(s, &err) ||
        ts_store_exec(s, "INSERT INTO users (bot_id, id, telegram_id, username, language, "
                         TS_TEST_USER_REQUIRED ") VALUES (1, 3, 990003, 'raced_in', 'fa', "
                         TS_TEST_USER_REQUIRED_VALUES ")", NULL, 0, NULL, &err)) {
        snprintf(r->err, sizeof r->err, "%s", err.msg);
        r->inserted = 1;
        return NULL;
    }
    r->inserted = 1;
    struct timespec t = {0, 300 * 1000000L};
    nanosleep(&t, NULL);
    if (ts_store_commit(s, &err))
        snprintf(r->err, sizeof r->err, "%s", err.msg);
    ts_store_close(s);
    return NULL;
}

static void on_chunk_race(const char *point, const char *table)
{
    if (strcmp(point, "chunk_start") != 0 || strcmp(table, "users") != 0 || hook_calls++ != 0)
        return;
    pthread_create(&hook_thread, NULL, race_insert, hook_racer);
    while (!hook_racer->inserted) {
        struct timespec t = {0, 5 * 1000000L};
        nanosleep(&t, NULL);
    }
}

static void test_backfill_race_cross(void **state)
{
    mpair p;
    ts_error err;
    (void)state;
    if (make_pair(TS_PAIR_CROSS, &p, 60)) {
        skip();
        return;
    }
    to_dual_write(&p, "1.1");
    to_dual_write(&p, "2.1");
    racer r = {p.nw.url, 0, ""};
    hook_racer = &r;
    hook_calls = 0;
    ts_backfill_hook = on_chunk_race;
    int rc = backfill_api(&p, "2.1", &err);
    ts_backfill_hook = NULL;
    pthread_join(hook_thread, NULL);
    hook_racer = NULL;
    if (rc)
        fail_msg("backfill: %s", err.msg);
    if (r.err[0])
        fail_msg("the other writer: %s", r.err);
    assert_int_equal(count(p.nw.url, "SELECT count(*) FROM users WHERE id = 3 AND "
                                     "username = 'raced_in'"), 1);
    assert_int_equal(count(p.nw.url, "SELECT count(*) FROM users WHERE bot_id = 1"),
                     count(p.legacy.url, "SELECT count(*) FROM users"));
    drop_pair(&p);
}

/*
 * A referenced row the new store lacks (here deleted from new by hand) fails
 * the backfill of the rows that refer to it, set-based or per row, with
 * nothing of the failing chunk kept and the per-row checks back on.
 */
static void backfill_dangling(ts_backfill_fk mode)
{
    mpair p;
    ts_mig g;
    ts_mlock lock = {0};
    ts_error err;
    char sql[256], role[32];
    if (make_pair(TS_PAIR_CROSS, &p, 60)) {
        skip();
        return;
    }
    to_dual_write(&p, "1.1");
    to_dual_write(&p, "2.1");
    OK(&p, "backfill", "2.1");
    to_dual_write(&p, "2.3");
    int64_t u = count(p.legacy.url, "SELECT min(s.user_id) FROM subscriptions s WHERE NOT EXISTS "
                                    "(SELECT 1 FROM users r WHERE r.referred_by_id = s.user_id)");
    assert_true(u > 0);
    snprintf(sql, sizeof sql, "DELETE FROM users WHERE bot_id = 1 AND id = %lld", (long long)u);
    ts_test_exec(p.nw.url, sql);
    if (mig_open(&p, &g, &err))
        fail_msg("open: %s", err.msg);
    ts_backfill_fk_checks = mode;
    int rc = ts_backfill_run(&g, &lock, ts_manifest_find(g.m, "2.3"), &err);
    ts_backfill_fk_checks = TS_BACKFILL_FK_GATHERED;
    assert_int_equal(rc, -1);
    assert_int_equal(err.code, TS_E_CONSTRAINT);
    const char *want = mode != TS_BACKFILL_FK_PER_ROW ? "have no row in users (bot_id, id)"
                                                      : "foreign key";
    if (strstr(err.msg, want) == NULL)
        fail_msg("want \"%s\" in: %s", want, err.msg);
    if (ts_store_query_text(g.nw, "SELECT current_setting('session_replication_role')", NULL, 0,
                            role, sizeof role, &err) != 1)
        fail_msg("role: %s", err.msg);
    assert_string_equal(role, "origin");
    mig_close(&g);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM subscriptions WHERE user_id = %lld", (long long)u);
    assert_int_equal(count(p.nw.url, sql), 0);
    assert_true(count(p.nw.url, "SELECT count(*) FROM subscriptions") <
                count(p.legacy.url, "SELECT count(*) FROM subscriptions"));
    drop_pair(&p);
}

static void test_backfill_dangling_gathered(void **state)
{
    (void)state;
    backfill_dangling(TS_BACKFILL_FK_GATHERED);
}
static void test_backfill_dangling_server(void **state)
{
    (void)state;
    backfill_dangling(TS_BACKFILL_FK_SERVER);
}
static void test_backfill_dangling_per_row(void **state)
{
    (void)state;
    backfill_dangling(TS_BACKFILL_FK_PER_ROW);
}

/* --dry-run names the statements of the path it would take and copies nothing:
   one statement per chunk on a shared PostgreSQL connection, the staging table
   otherwise; legacy rows are read FOR SHARE on PostgreSQL. */
static void backfill_dry_run(ts_pair_kind kind, const char *want)
{
    mpair p;
    char out[OUT_MAX];
    if (make_pair(kind, &p, 30)) {
        skip();
        return;
    }
    to_dual_write(&p, "1.1");
    to_dual_write(&p, "2.1");
    assert_int_equal(mig(&p, out, "backfill", "2.1", "--dry-run", NULL), 0);
    if (strstr(out, want) == NULL || (strstr(out, "FOR SHARE") != NULL) != (kind == TS_PAIR_PG))
        fail_msg("dry run of backfill 2.1: want \"%s\":\n%s", want, out);
    assert_int_equal(count(p.nw.url, "SELECT count(*) FROM users"), 0);
    drop_pair(&p);
}

static void test_backfill_dry_run_sqlite(void **state)
{
    (void)state;
    backfill_dry_run(TS_PAIR_SQLITE, "CREATE TEMP TABLE \"temp\".\"ts_backfill_stage\"");
}
static void test_backfill_dry_run_pg(void **state)
{
    (void)state;
    backfill_dry_run(TS_PAIR_PG, "WITH c AS MATERIALIZED (SELECT");
}
static void test_backfill_dry_run_cross(void **state)
{
    (void)state;
    backfill_dry_run(TS_PAIR_CROSS, "CREATE TEMP TABLE \"pg_temp\".\"ts_backfill_stage\"");
}

int main(void)
{
    setenv("TS_LOG_LEVEL", "warn", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exit_codes),
        cmocka_unit_test(test_illegal_transitions),
        cmocka_unit_test(test_lock_holder_named),
        cmocka_unit_test(test_reason_masked),
        cmocka_unit_test(test_concurrent_advance),
        cmocka_unit_test(test_lagging_process),
        cmocka_unit_test(test_orphans),
        cmocka_unit_test(test_backfill_names_the_bad_row),
        cmocka_unit_test(test_drift_refused_sqlite),
        cmocka_unit_test(test_drift_refused_pg),
        cmocka_unit_test(test_live_columns_sqlite),
        cmocka_unit_test(test_live_columns_pg),
        cmocka_unit_test(test_live_columns_cross),
        cmocka_unit_test(test_draft_sqlite),
        cmocka_unit_test(test_draft_pg),
        cmocka_unit_test(test_draft_cross),
        cmocka_unit_test(test_real_schema_sqlite),
        cmocka_unit_test(test_real_schema_pg),
        cmocka_unit_test(test_real_schema_cross),
        cmocka_unit_test(test_write_defaults_pg),
        cmocka_unit_test(test_before_init),
        cmocka_unit_test(test_status_and_help),
        cmocka_unit_test(test_real_schema_init),
        cmocka_unit_test(test_drift_stops_backfill_pg),
        cmocka_unit_test(test_backfill_rule_sqlite),
        cmocka_unit_test(test_backfill_rule_pg),
        cmocka_unit_test(test_backfill_rule_cross),
        cmocka_unit_test(test_backfill_race_cross),
        cmocka_unit_test(test_backfill_dangling_gathered),
        cmocka_unit_test(test_backfill_dangling_server),
        cmocka_unit_test(test_backfill_dangling_per_row),
        cmocka_unit_test(test_backfill_dry_run_sqlite),
        cmocka_unit_test(test_backfill_dry_run_pg),
        cmocka_unit_test(test_backfill_dry_run_cross),
        cmocka_unit_test(test_new_only_writes_sqlite),
        cmocka_unit_test(test_new_only_writes_pg),
        cmocka_unit_test(test_new_only_writes_cross),
        cmocka_unit_test(test_replay_by_foreign_keys_sqlite),
        cmocka_unit_test(test_replay_by_foreign_keys_pg),
        cmocka_unit_test(test_replay_by_foreign_keys_cross),
        cmocka_unit_test(test_stuck_replay_holds_rollback),
        cmocka_unit_test(test_kill_resume_sqlite),
        cmocka_unit_test(test_kill_resume_pg),
        cmocka_unit_test(test_kill_resume_cross),
        cmocka_unit_test(test_unlock_backfill_sqlite),
        cmocka_unit_test(test_unlock_backfill_pg),
        cmocka_unit_test(test_unlock_backfill_cross),
        cmocka_unit_test(test_walk_sqlite),
        cmocka_unit_test(test_walk_pg),
        cmocka_unit_test(test_walk_cross),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
