/*
 * test_shim.c: stage routing, dual-write, journal, fencing, shadow reads and
 * the kill switch, on three store pairs: two SQLite files (one transaction),
 * two PostgreSQL schemas (one transaction), SQLite legacy with PostgreSQL new
 * (the journal).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ts_clock.h"
#include "ts_control.h"
#include "ts_gen.h"
#include "ts_repo.h"
#include "ts_shim.h"
#include "ts_test.h"

typedef struct fixture {
    ts_test_pair pair;
    ts_shim *sh;
    char kill_file[512];
} fixture;

static fixture fixtures[3];

static ts_shim *open_shim(fixture *fx, double shadow_fraction)
{
    ts_shim *sh;
    ts_error err;
    ts_shim_config cfg = {fx->pair.legacy.url, fx->pair.nw.url, NULL, "test", 1, shadow_fraction,
                          300, fx->kill_file, 0};
    if (ts_shim_open(&cfg, &sh, &err))
        fail_msg("shim open: %s", err.msg);
    return sh;
}

static int setup(void **state, ts_pair_kind kind)
{
    fixture *fx = &fixtures[kind];
    memset(fx, 0, sizeof *fx);
    if (ts_test_pair_make(kind, &fx->pair))
        return -1;
    ts_test_temp_path(fx->kill_file, sizeof fx->kill_file, ".kill");
    unlink(fx->kill_file);
    ts_test_set_stage(fx->pair.nw.url, "1.1", "expanded");
    fx->sh = open_shim(fx, 1.0);
    *state = fx;
    return 0;
}

static int setup_sqlite(void **state) { return setup(state, TS_PAIR_SQLITE); }
static int setup_pg(void **state) { return setup(state, TS_PAIR_PG); }
static int setup_cross(void **state) { return setup(state, TS_PAIR_CROSS); }

static int teardown(void **state)
{
    fixture *fx = *state;
    ts_shim_close(fx->sh);
    unlink(fx->kill_file);
    ts_test_pair_cleanup(&fx->pair);
    return 0;
}

static void stage(fixture *fx, const char *inc, const char *st)
{
    ts_error err;
    ts_test_set_stage(fx->pair.nw.url, inc, st);
    if (ts_shim_refresh(fx->sh, &err))
        fail_msg("refresh: %s", err.msg);
}

static int64_t count_where(const char *url, const char *table, const char *where)
{
    char sql[256];
    assert_true(snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE %s", table, where) <
                (int)sizeof sql);
    return ts_test_int(url, sql);
}

static ts_tx *begin(fixture *fx, int64_t bot)
{
    ts_tx *tx;
    ts_error err;
    ts_ctx ctx = {bot, bot == ts_shim_master_bot_id(fx->sh)};
    if (ts_shim_begin(fx->sh, &ctx, &tx, &err))
        fail_msg("begin: %s", err.msg);
    return tx;
}

static void commit(ts_tx *tx)
{
    ts_error err;
    if (ts_tx_commit(tx, &err))
        fail_msg("commit: %s", err.msg);
}

static int64_t add_user(fixture *fx, int64_t bot, int64_t telegram_id, const char *username)
{
    ts_error err;
    int64_t id = 0;
    ts_tx *tx = begin(fx, bot);
    ts_set v[3] = {{"telegram_id", ts_int(telegram_id)}, {"username", ts_text(username)},
                   {"balance_kopeks", ts_int(100)}};
    if (ts_tx_insert(tx, "users", v, 3, &id, &err))
        fail_msg("insert user: %s", err.msg);
    commit(tx);
    return id;
}

/* The username the shim reads for a telegram_id, or "" when no row. */
static void read_username(fixture *fx, int64_t bot, int64_t telegram_id, char *out, size_t n)
{
    ts_error err;
    ts_result *r;
    ts_tx *tx = begin(fx, bot);
    ts_cond c = {"telegram_id", ts_int(telegram_id)};
    if (ts_tx_select(tx, "users", &c, 1, NULL, 0, &r, &err))
        fail_msg("select: %s", err.msg);
    snprintf(out, n, "%s", ts_result_count(r) ? ts_result_text(r, 0, "username") : "");
    ts_result_free(r);
    commit(tx);
}

/*
 * The stage matrix: at every stage, where an insert and an update land,
 * where a read is answered from, and where a delete takes effect.
 */
static void test_stage_matrix(void **state)
{
    fixture *fx = *state;
    const char *L = fx->pair.legacy.url, *N = fx->pair.nw.url;
    static const struct {
        const char *stage;
        int in_legacy, in_new;
        char reads_from; /* 'L' or 'N' */
    } rows[] = {
        {"legacy", 1, 0, 'L'},     {"expanded", 1, 0, 'L'}, {"dual_write", 1, 1, 'L'},
        {"shadow", 1, 1, 'L'},     {"read_new", 1, 1, 'N'}, {"new_only", 0, 1, 'N'},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char where[64], name[32], got[64], sql[256];
        int64_t tg = 5000 + (int64_t)i;
        ts_error err;
        stage(fx, "2.1", rows[i].stage);
        snprintf(name, sizeof name, "user-%s", rows[i].stage);
        int64_t id = add_user(fx, 1, tg, name);
        assert_true(id > 0);

        ts_tx *tx = begin(fx, 1);
        ts_cond c = {"id", ts_int(id)};
        ts_set add = {"balance_kopeks", ts_int(50), 1};
        int64_t changed = 0;
        if (ts_tx_update(tx, "users", &c, 1, &add, 1, &changed, &err))
            fail_msg("update at %s: %s", rows[i].stage, err.msg);
        assert_int_equal(changed, 1);
        commit(tx);

        snprintf(where, sizeof where, "telegram_id = %lld AND balance_kopeks = 150", (long long)tg);
        if (count_where(L, "users", where) != rows[i].in_legacy ||
            count_where(N, "users", where) != rows[i].in_new)
            fail_msg("stage %s: row in legacy %lld (want %d), in new %lld (want %d)", rows[i].stage,
                     (long long)count_where(L, "users", where), rows[i].in_legacy,
                     (long long)count_where(N, "users", where), rows[i].in_new);
        /* Every secondary write is in place: nothing left in either journal. */
        assert_int_equal(count_where(L, "ts_journal", "kind = 'drift'"), 0);
        assert_int_equal(count_where(N, "ts_journal", "kind = 'drift'"), 0);
        if (rows[i].in_legacy && rows[i].in_new) {
            snprintf(sql, sizeof sql, "SELECT id FROM users WHERE telegram_id = %lld", (long long)tg);
            assert_int_equal(ts_test_int(L, sql), ts_test_int(N, sql)); /* same key both sides */
        }

        /* Tell the sides apart, then see which one answers. */
        snprintf(sql, sizeof sql, "UPDATE users SET username = 'from-legacy' WHERE telegram_id = %lld",
                 (long long)tg);
        ts_test_exec(L, sql);
        snprintf(sql, sizeof sql, "UPDATE users SET username = 'from-new' WHERE telegram_id = %lld",
                 (long long)tg);
        ts_test_exec(N, sql);
        read_username(fx, 1, tg, got, sizeof got);
        assert_string_equal(got, rows[i].reads_from == 'L' ? "from-legacy" : "from-new");

        tx = begin(fx, 1);
        if (ts_tx_delete(tx, "users", &c, 1, &changed, &err))
            fail_msg("delete at %s: %s", rows[i].stage, err.msg);
        assert_int_equal(changed, 1);
        commit(tx);
        snprintf(where, sizeof where, "telegram_id = %lld", (long long)tg);
        assert_int_equal(count_where(L, "users", where), 0);
        assert_int_equal(count_where(N, "users", where), 0);
    }
    /* Writes made at new_only are journaled for a replay into legacy. */
    assert_true(count_where(N, "ts_journal", "kind = 'change'") >= 3);
}


static void kill_self(const char *point)
{
    const char *want = getenv("TS_TEST_CRASH_AT");
    if (want && strcmp(want, point) == 0)
        raise(SIGKILL);
}

/* Run one dual-write insert in a child that dies at a fault point. */
static void crash_at(fixture *fx, const char *point, int64_t telegram_id)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setenv("TS_TEST_CRASH_AT", point, 1);
        ts_shim_fault_hook = kill_self;
        /* A fresh shim: the parent's connections are not the child's to use. */
        ts_shim *sh = open_shim(fx, 1.0);
        fx->sh = sh;
        add_user(fx, 1, telegram_id, "crash");
        _exit(0); /* not reached when the fault fires */
    }
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

/*
 * A crash between the primary's commit and the secondary's write leaves a
 * pending journal entry; repair converges, with nothing lost or doubled, also
 * when the crash comes after the secondary write but before the entry settles.
 */
static void test_crash_then_repair(void **state)
{
    fixture *fx = *state;
    const char *L = fx->pair.legacy.url, *N = fx->pair.nw.url;
    ts_error err;
    int64_t applied = 0, left = -1;
    stage(fx, "2.1", "dual_write");

    crash_at(fx, "after_primary_commit", 7001);
    assert_int_equal(count_where(L, "users", "telegram_id = 7001"), 1);
    assert_int_equal(count_where(N, "users", "telegram_id = 7001"), 0);
    assert_int_equal(count_where(L, "ts_journal", "kind = 'drift'"), 1);

    crash_at(fx, "before_journal_settle", 7002);
    assert_int_equal(count_where(N, "users", "telegram_id = 7002"), 1);
    assert_int_equal(count_where(L, "ts_journal", "kind = 'drift'"), 2);

    /* A repair that dies after writing a row but before removing its entry. */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setenv("TS_TEST_CRASH_AT", "after_secondary_write", 1);
        ts_shim_fault_hook = kill_self;
        ts_shim *sh = open_shim(fx, 1.0);
        ts_shim_repair(sh, &applied, &left, &err);
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(count_where(N, "users", "telegram_id = 7001"), 1);
    assert_int_equal(count_where(L, "ts_journal", "kind = 'drift'"), 2);

    if (ts_shim_repair(fx->sh, &applied, &left, &err))
        fail_msg("repair: %s", err.msg);
    assert_int_equal(applied, 1 + 1);
    assert_int_equal(left, 0);
    assert_int_equal(count_where(N, "users", "telegram_id IN (7001, 7002)"), 2);
    assert_int_equal(count_where(L, "users", "telegram_id IN (7001, 7002)"), 2);
    /* A second repair finds nothing to do and changes nothing. */
    assert_int_equal(ts_shim_repair(fx->sh, &applied, &left, &err), 0);
    assert_int_equal(count_where(N, "users", "telegram_id IN (7001, 7002)"), 2);
}

/* A process that still routes by an old stage is refused, then re-routes. */
/* A shim that polls rarely: it will not notice the next stage change by itself.
   manifest_path NULL: the manifest compiled in. */
static ts_shim *open_slow(fixture *fx, const char *manifest_path)
{
    ts_shim *slow;
    ts_error err;
    ts_shim_config cfg = {fx->pair.legacy.url, fx->pair.nw.url, manifest_path, "slow",
                          3600 * 1000, 0, 300, NULL, 0};
    if (ts_shim_open(&cfg, &slow, &err))
        fail_msg("open: %s", err.msg);
    return slow;
}

static void test_stale_version_refused(void **state)
{
    fixture *fx = *state;
    ts_error err;
    stage(fx, "2.1", "dual_write");
    ts_shim *slow = open_slow(fx, NULL);
    ts_test_set_stage(fx->pair.nw.url, "2.1", "shadow");
    ts_test_set_stage(fx->pair.nw.url, "2.1", "read_new");
    ts_test_set_stage(fx->pair.nw.url, "2.1", "new_only");

    ts_tx *tx;
    ts_ctx master = ts_shim_master(slow);
    ts_set v = {"telegram_id", ts_int(8001)};
    assert_int_equal(ts_shim_begin(slow, &master, &tx, &err), 0);
    assert_int_equal(ts_tx_insert(tx, "users", &v, 1, NULL, &err), -1);
    assert_int_equal(err.code, TS_E_STALE);
    assert_true(ts_error_retryable(&err));
    ts_tx_rollback(tx);
    assert_int_equal(count_where(fx->pair.legacy.url, "users", "telegram_id = 8001"), 0);
    assert_int_equal(count_where(fx->pair.nw.url, "users", "telegram_id = 8001"), 0);

    /* The retry routes by new_only: new store only. */
    assert_int_equal(ts_shim_begin(slow, &master, &tx, &err), 0);
    if (ts_tx_insert(tx, "users", &v, 1, NULL, &err) || ts_tx_commit(tx, &err))
        fail_msg("retry: %s", err.msg);
    assert_int_equal(count_where(fx->pair.legacy.url, "users", "telegram_id = 8001"), 0);
    assert_int_equal(count_where(fx->pair.nw.url, "users", "telegram_id = 8001"), 1);
    ts_shim_close(slow);
}

/*
 * Fencing is per increment however many the manifest has (it allows 256):
 * with 62 behaviour increments before the real ones, 2.1 and 2.3 sit at
 * indexes 64 and 65. Fencing 2.1 must not count as fencing 2.3, so a write to
 * 2.3 routed with a stale version is still refused.
 */
static void test_fencing_past_64_increments(void **state)
{
    fixture *fx = *state;
    ts_error err;
    extern const char ts_manifest_default_json[];
    cJSON *j = cJSON_Parse(ts_manifest_default_json);
    assert_non_null(j);
    cJSON *incs = cJSON_GetObjectItem(j, "increments");
    for (int i = 62; i >= 1; i--) {
        char id[16], name[32];
        snprintf(id, sizeof id, "0.%d", i);
        snprintf(name, sizeof name, "padding-%d", i);
        cJSON *inc = cJSON_CreateObject();
        cJSON_AddStringToObject(inc, "id", id);
        cJSON_AddStringToObject(inc, "name", name);
        cJSON_AddStringToObject(inc, "kind", "behaviour");
        cJSON_InsertItemInArray(incs, 0, inc);
    }
    char path[512], *text = cJSON_Print(j);
    ts_test_temp_path(path, sizeof path, "-manifest.json");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    cJSON_free(text);
    cJSON_Delete(j);

    /* Register the padding increments, as ts-migrate init would. */
    ts_manifest *m;
    ts_store *l, *n;
    if (ts_manifest_load_file(path, &m, &err) || ts_store_open(fx->pair.legacy.url, &l, &err) ||
        ts_store_open(fx->pair.nw.url, &n, &err) || ts_control_init(l, n, m, &err))
        fail_msg("init: %s", err.msg);
    assert_int_equal(ts_manifest_count(m), 70);
    assert_string_equal(ts_manifest_at(m, 64)->id, "2.1");
    assert_string_equal(ts_manifest_at(m, 65)->id, "2.3");
    ts_store_close(l);
    ts_store_close(n);
    ts_manifest_free(m);

    stage(fx, "2.1", "dual_write");
    stage(fx, "2.3", "dual_write");
    ts_shim *slow = open_slow(fx, path);
    ts_test_set_stage(fx->pair.nw.url, "2.3", "shadow");

    ts_tx *tx;
    ts_ctx master = ts_shim_master(slow);
    ts_set u = {"telegram_id", ts_int(8101)};
    int64_t user_id;
    assert_int_equal(ts_shim_begin(slow, &master, &tx, &err), 0);
    if (ts_tx_insert(tx, "users", &u, 1, &user_id, &err))
        fail_msg("insert user: %s", err.msg);
    ts_set t[3] = {{"user_id", ts_int(user_id)}, {"type", ts_text("deposit")},
                   {"amount_kopeks", ts_int(100)}};
    /* Roll back before asserting: a failure must not leave the unit holding locks. */
    int rc = ts_tx_insert(tx, "transactions", t, 3, NULL, &err);
    ts_tx_rollback(tx);
    ts_shim_close(slow);
    unlink(path);
    assert_int_equal(rc, -1);
    assert_int_equal(err.code, TS_E_STALE);
    assert_non_null(strstr(err.msg, "increment 2.3"));
    assert_int_equal(count_where(fx->pair.legacy.url, "users", "telegram_id = 8101"), 0);
    assert_int_equal(count_where(fx->pair.nw.url, "users", "telegram_id = 8101"), 0);
}

/* On PostgreSQL a stage change is pushed: a process that polls hourly still
   applies it at its next tick. */
static void test_notify_refreshes(void **state)
{
    fixture *fx = *state;
    ts_error err;
    ts_shim *slow;
    ts_store *op;
    ts_stage st;
    int64_t v;
    ts_shim_config cfg = {fx->pair.legacy.url, fx->pair.nw.url, NULL, "slow", 3600 * 1000, 0, 300,
                          NULL, 0};
    if (ts_shim_open(&cfg, &slow, &err) || ts_store_open(fx->pair.nw.url, &op, &err))
        fail_msg("open: %s", err.msg);
    assert_int_equal(ts_shim_stage(slow, "2.1", &st, &v), 0);
    assert_int_equal(st, TS_STAGE_LEGACY);
    if (ts_control_set_stage(op, "2.1", TS_STAGE_LEGACY, v, TS_STAGE_EXPANDED, "test", "notify", &err))
        fail_msg("set stage: %s", err.msg);
    /* The notification travels asynchronously: give it up to two seconds. */
    for (int i = 0; i < 200 && st != TS_STAGE_EXPANDED; i++) {
        usleep(10 * 1000);
        ts_shim_tick(slow, &err);
        ts_shim_stage(slow, "2.1", &st, &v);
    }
    assert_int_equal(st, TS_STAGE_EXPANDED);
    ts_store_close(op);
    ts_shim_close(slow);
}

static void add_bot(fixture *fx, int64_t id)
{
    char sql[160];
    snprintf(sql, sizeof sql, "INSERT INTO bots (id, name, telegram_bot_token) VALUES "
             "(%lld, 'tenant', '%lld:tenant-token')", (long long)id, (long long)id);
    ts_test_exec(fx->pair.nw.url, sql);
}

/*
 * Tenant isolation, property style: random writes and reads for three bots;
 * no read under one bot returns another's row, every row carries the bot it
 * was written for, and a tenant cannot touch a table legacy still serves.
 */
static void test_tenant_isolation(void **state)
{
    fixture *fx = *state;
    ts_error err;
    unsigned seed = 12345;
    int64_t written[3] = {0};
    add_bot(fx, 2);
    add_bot(fx, 3);

    /* At dual_write legacy takes the writes: a tenant is refused. */
    stage(fx, "2.1", "dual_write");
    ts_tx *tx = begin(fx, 2);
    ts_set v = {"telegram_id", ts_int(1)};
    assert_int_equal(ts_tx_insert(tx, "users", &v, 1, NULL, &err), -1);
    assert_int_equal(err.code, TS_E_STATE);
    assert_non_null(strstr(err.msg, "not the master"));
    ts_tx_rollback(tx);

    stage(fx, "2.1", "shadow");
    stage(fx, "2.1", "read_new");
    for (int i = 0; i < 300; i++) {
        int64_t bot = 1 + rand_r(&seed) % 3, tg = rand_r(&seed) % 40;
        tx = begin(fx, bot);
        if (rand_r(&seed) % 2) {
            ts_set u[2] = {{"telegram_id", ts_int(tg)}, {"balance_kopeks", ts_int(bot)}};
            /* The same telegram_id may exist under another bot, not twice under one. */
            if (ts_tx_insert(tx, "users", u, 2, NULL, &err) == 0) {
                written[bot - 1]++;
            } else {
                assert_int_equal(err.code, TS_E_CONSTRAINT);
                ts_tx_rollback(tx);
                continue;
            }
        } else {
            ts_result *r;
            ts_cond c = {"telegram_id", ts_int(tg)};
            if (ts_tx_select(tx, "users", &c, 1, NULL, 0, &r, &err))
                fail_msg("select: %s", err.msg);
            assert_true(ts_result_count(r) <= 1);
            for (int k = 0; k < ts_result_count(r); k++) {
                assert_int_equal(ts_result_int(r, k, "bot_id"), bot);
                assert_int_equal(ts_result_int(r, k, "balance_kopeks"), bot);
            }
            ts_result_free(r);
            ts_cond all = {"status", ts_text("active")};
            if (ts_tx_select(tx, "users", &all, 1, "telegram_id DESC", 0, &r, &err))
                fail_msg("select all: %s", err.msg);
            for (int k = 0; k < ts_result_count(r); k++)
                assert_int_equal(ts_result_int(r, k, "bot_id"), bot);
            ts_result_free(r);
        }
        commit(tx);
    }
    for (int b = 1; b <= 3; b++) {
        char where[64];
        snprintf(where, sizeof where, "bot_id = %d AND balance_kopeks = %d", b, b);
        assert_int_equal(count_where(fx->pair.nw.url, "users", where), written[b - 1]);
    }
    assert_int_equal(count_where(fx->pair.nw.url, "users", "balance_kopeks <> bot_id"), 0);
    /* Legacy got the master's rows only. */
    assert_int_equal(count_where(fx->pair.legacy.url, "users", "1 = 1"), written[0]);
}

/* A corrupted new row is recorded as a mismatch naming the column; the caller
   still gets legacy's answer. */
static void test_shadow_mismatch(void **state)
{
    fixture *fx = *state;
    ts_error err;
    char got[64];
    stage(fx, "2.1", "dual_write");
    add_user(fx, 1, 9001, "shadowed");
    stage(fx, "2.1", "shadow");
    ts_test_exec(fx->pair.nw.url, "UPDATE users SET balance_kopeks = 999 WHERE telegram_id = 9001");
    read_username(fx, 1, 9001, got, sizeof got);
    assert_string_equal(got, "shadowed");
    if (ts_shim_tick(fx->sh, &err))
        fail_msg("tick: %s", err.msg);
    assert_int_equal(count_where(fx->pair.nw.url, "ts_mismatches",
                                 "table_name = 'users' AND column_name = 'balance_kopeks' AND "
                                 "legacy_value = '100' AND new_value = '999'"), 1);
    assert_int_equal(count_where(fx->pair.nw.url, "ts_mismatches", "1 = 1"), 1);
    ts_access a;
    assert_int_equal(ts_shim_access(fx->sh, "users", &a), 0);
    assert_true(a.shadow_compared >= 1);
    assert_int_equal(a.shadow_mismatched, 1);
    /* The counters reach ts_processes with the heartbeat. */
    assert_int_equal(count_where(fx->pair.nw.url, "ts_processes", "CAST(counters AS TEXT) LIKE '%\"users\"%'"), 1);
}

/* A new store that hangs (a lock held elsewhere) does not hold the caller. */
static void test_shadow_timeout(void **state)
{
    fixture *fx = *state;
    ts_error err;
    ts_store *locker;
    char got[64];
    stage(fx, "2.1", "dual_write");
    add_user(fx, 1, 9101, "waiting");
    stage(fx, "2.1", "shadow");
    if (ts_store_open(fx->pair.nw.url, &locker, &err) || ts_store_begin(locker, &err) ||
        ts_store_exec(locker, "LOCK TABLE users IN ACCESS EXCLUSIVE MODE", NULL, 0, NULL, &err))
        fail_msg("lock: %s", err.msg);
    int64_t t0 = ts_clock_ms();
    read_username(fx, 1, 9101, got, sizeof got);
    int64_t took_ms = ts_clock_ms() - t0;
    ts_store_rollback(locker, NULL);
    ts_store_close(locker);
    assert_string_equal(got, "waiting");
    /* Without the bound the read would wait for the lock forever. */
    assert_true(took_ms < 5000);
    ts_access a;
    ts_shim_access(fx->sh, "users", &a);
    assert_int_equal(a.shadow_skipped, 1);
}

/* The kill switch file sends reads back to legacy, up to read_new. */
static void test_kill_switch(void **state)
{
    fixture *fx = *state;
    ts_error err;
    char got[64];
    stage(fx, "2.1", "dual_write");
    add_user(fx, 1, 9201, "both");
    stage(fx, "2.1", "shadow");
    stage(fx, "2.1", "read_new");
    ts_test_exec(fx->pair.legacy.url, "UPDATE users SET username = 'L' WHERE telegram_id = 9201");
    read_username(fx, 1, 9201, got, sizeof got);
    assert_string_equal(got, "both");
    FILE *f = fopen(fx->kill_file, "w");
    assert_non_null(f);
    fclose(f);
    ts_shim_tick(fx->sh, &err);
    assert_true(ts_shim_kill_switch(fx->sh));
    read_username(fx, 1, 9201, got, sizeof got);
    assert_string_equal(got, "L");
    /* Writes go legacy first and still reach new. */
    add_user(fx, 1, 9202, "killed");
    assert_int_equal(count_where(fx->pair.nw.url, "users", "telegram_id = 9202"), 1);
    assert_int_equal(count_where(fx->pair.nw.url, "ts_processes", "kill_switch"), 1);
    unlink(fx->kill_file);
    ts_shim_tick(fx->sh, &err);
    read_username(fx, 1, 9201, got, sizeof got);
    assert_string_equal(got, "both");
}

/* Counts, order comparisons, insert-if-absent and locked selects, where
   legacy answers and where new does. */
static void test_generic_ops(void **state)
{
    fixture *fx = *state;
    ts_error err;
    const char *stages[] = {"dual_write", "shadow", "read_new"};
    for (int s = 0; s < 3; s++) {
        int64_t base = 20000 + s * 100, n = -1;
        stage(fx, "2.1", stages[s]);
        if (strcmp(stages[s], "read_new") == 0) {
            /* As ts-migrate does when new starts assigning ids: above legacy's. */
            ts_store *nw;
            int64_t max = ts_test_int(fx->pair.legacy.url, "SELECT max(id) FROM users");
            if (ts_store_open(fx->pair.nw.url, &nw, &err) || ts_store_id_floor(nw, "users", max, &err))
                fail_msg("floor: %s", err.msg);
            ts_store_close(nw);
        }
        for (int i = 0; i < 3; i++)
            add_user(fx, 1, base + i, "counted");
        ts_tx *tx = begin(fx, 1);
        ts_cond gt[2] = {{"telegram_id", ts_int(base), TS_OP_GT},
                         {"telegram_id", ts_int(base + 100), TS_OP_LT}};
        if (ts_tx_count(tx, "users", gt, 2, &n, &err))
            fail_msg("count at %s: %s", stages[s], err.msg);
        assert_int_equal(n, 2);
        int inserted = -1;
        ts_set dup[2] = {{"telegram_id", ts_int(base)}, {"username", ts_text("again")}};
        if (ts_tx_insert_if_absent(tx, "users", dup, 2, &inserted, NULL, &err))
            fail_msg("insert if absent: %s", err.msg);
        assert_int_equal(inserted, 0);
        ts_result *r;
        ts_cond eq = {"telegram_id", ts_int(base)};
        if (ts_tx_select_for_update(tx, "users", &eq, 1, NULL, 0, &r, &err))
            fail_msg("select for update: %s", err.msg);
        assert_int_equal(ts_result_count(r), 1);
        assert_string_equal(ts_result_text(r, 0, "username"), "counted");
        ts_result_free(r);
        commit(tx);
    }
    /* The ids assigned by legacy and by new never collide. */
    assert_int_equal(ts_test_int(fx->pair.nw.url, "SELECT count(DISTINCT id) - count(*) FROM users"), 0);
}

/* Bad input gets a clear error and writes nothing; SQL-special text is kept verbatim. */
static void test_bad_input(void **state)
{
    fixture *fx = *state;
    ts_error err;
    char big[600], got[64];
    stage(fx, "2.1", "dual_write");
    ts_tx *tx = begin(fx, 1);
    ts_set v = {"telegram_id", ts_int(1)};
    assert_int_equal(ts_tx_insert(tx, "no_such_table", &v, 1, NULL, &err), -1);
    assert_int_equal(err.code, TS_E_INVALID);
    ts_set bad = {"no_such_column", ts_int(1)};
    assert_int_equal(ts_tx_insert(tx, "users", &bad, 1, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "no_such_column"));
    ts_set bot = {"bot_id", ts_int(2)};
    assert_int_equal(ts_tx_insert(tx, "users", &bot, 1, NULL, &err), -1);
    ts_tx_rollback(tx);

    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    tx = begin(fx, 1);
    ts_set longname[2] = {{"telegram_id", ts_int(9301)}, {"username", ts_text(big)}};
    assert_int_equal(ts_tx_insert(tx, "users", longname, 2, NULL, &err), -1);
    assert_int_equal(err.code, TS_E_CONSTRAINT);
    ts_tx_rollback(tx);

    tx = begin(fx, 1);
    ts_set utf[2] = {{"telegram_id", ts_int(9302)}, {"username", ts_text("bad \xc3\x28 utf8")}};
    assert_int_equal(ts_tx_insert(tx, "users", utf, 2, NULL, &err), -1);
    assert_int_equal(err.code, TS_E_INVALID);
    ts_tx_rollback(tx);
    assert_int_equal(count_where(fx->pair.legacy.url, "users", "telegram_id IN (9301, 9302)"), 0);
    assert_int_equal(count_where(fx->pair.nw.url, "users", "telegram_id IN (9301, 9302)"), 0);

    const char *evil = "Robert'); DROP TABLE users;-- \\ \"x\"";
    add_user(fx, 1, 9303, evil);
    read_username(fx, 1, 9303, got, sizeof got);
    assert_string_equal(got, evil);
    stage(fx, "2.1", "shadow");
    stage(fx, "2.1", "read_new");
    read_username(fx, 1, 9303, got, sizeof got);
    assert_string_equal(got, evil);

    /* An unknown increment is nothing the shim routes. */
    ts_stage st;
    int64_t ver;
    assert_int_equal(ts_shim_stage(fx->sh, "9.9", &st, &ver), -1);
}

/*
 * dual_write before the backfill has copied anything: a new user referred by
 * a legacy user brings the referrer along into new (its current legacy row,
 * and what that refers to in turn), so new's foreign keys hold and the unit
 * of work succeeds; once the tables' backfill is recorded finished, nothing
 * is looked up any more.
 */
static void test_parents_before_backfill(void **state)
{
    fixture *fx = *state;
    ts_store *l;
    ts_error err;
    int64_t rows, id;
    char sql[256];
    ts_gen_opts o = {7, 40, NULL, NULL};
    if (ts_store_open(fx->pair.legacy.url, &l, &err) || ts_gen_fill(l, &o, &rows, &err))
        fail_msg("legacy data: %s", err.msg);
    ts_store_close(l);
    stage(fx, "2.1", "dual_write");
    int64_t referrer = ts_test_int(fx->pair.legacy.url, "SELECT min(id) FROM users "
                                                        "WHERE referred_by_id IS NOT NULL");
    assert_true(referrer > 0);
    snprintf(sql, sizeof sql, "SELECT referred_by_id FROM users WHERE id = %lld",
             (long long)referrer);
    int64_t grand = ts_test_int(fx->pair.legacy.url, sql);
    assert_int_equal(ts_test_int(fx->pair.nw.url, "SELECT count(*) FROM users"), 0);

    ts_tx *tx = begin(fx, 1);
    ts_user_new u = {880001, "referred", NULL, NULL, NULL, referrer, 0};
    if (ts_repo_user_create(tx, &u, &id, NULL, &err))
        fail_msg("create: %s", err.msg);
    commit(tx);

    /* The referrer is in new as legacy has it, and so is its own referrer. */
    snprintf(sql, sizeof sql, "bot_id = 1 AND id = %lld", (long long)referrer);
    assert_int_equal(count_where(fx->pair.nw.url, "users", sql), 1);
    snprintf(sql, sizeof sql, "bot_id = 1 AND id = %lld", (long long)grand);
    assert_int_equal(count_where(fx->pair.nw.url, "users", sql), 1);
    snprintf(sql, sizeof sql, "bot_id = 1 AND id = %lld AND referred_by_id = %lld", (long long)id,
             (long long)referrer);
    assert_int_equal(count_where(fx->pair.nw.url, "users", sql), 1);

    /* Backfilled: new holds every legacy row, so nothing is read from legacy for it. */
    ts_test_exec(fx->pair.nw.url, "INSERT INTO ts_backfill (increment_id, table_name, rows_done, "
                                  "rows_total, started_at, updated_at, finished_at) VALUES "
                                  "('2.1', 'users', 0, 0, '2026-01-01T00:00:00Z', "
                                  "'2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'), "
                                  "('2.1', 'promo_groups', 0, 0, '2026-01-01T00:00:00Z', "
                                  "'2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')");
    stage(fx, "2.1", "dual_write");
    ts_access before, after;
    assert_int_equal(ts_shim_access(fx->sh, "users", &before), 0);
    tx = begin(fx, 1);
    ts_user_new v = {880002, "referred2", NULL, NULL, NULL, referrer, 0};
    if (ts_repo_user_create(tx, &v, &id, NULL, &err))
        fail_msg("create: %s", err.msg);
    commit(tx);
    assert_int_equal(ts_shim_access(fx->sh, "users", &after), 0);
    assert_int_equal(after.legacy_reads, before.legacy_reads);
}

#define ON_ALL(fn)                                                \
    cmocka_unit_test_setup_teardown(fn, setup_sqlite, teardown), \
    cmocka_unit_test_setup_teardown(fn, setup_pg, teardown),     \
    cmocka_unit_test_setup_teardown(fn, setup_cross, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        ON_ALL(test_stage_matrix),
        cmocka_unit_test_setup_teardown(test_crash_then_repair, setup_cross, teardown),
        ON_ALL(test_stale_version_refused),
        ON_ALL(test_fencing_past_64_increments),
        ON_ALL(test_tenant_isolation),
        cmocka_unit_test_setup_teardown(test_notify_refreshes, setup_pg, teardown),
        ON_ALL(test_shadow_mismatch),
        cmocka_unit_test_setup_teardown(test_shadow_timeout, setup_pg, teardown),
        cmocka_unit_test_setup_teardown(test_shadow_timeout, setup_cross, teardown),
        ON_ALL(test_kill_switch),
        ON_ALL(test_bad_input),
        ON_ALL(test_generic_ops),
        ON_ALL(test_parents_before_backfill),
    };
    return cmocka_run_group_tests_name("shim", tests, NULL, NULL);
}
