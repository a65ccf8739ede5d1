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

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE %s", table, where);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stage_matrix, setup_sqlite, teardown),
        cmocka_unit_test_setup_teardown(test_stage_matrix, setup_pg, teardown),
        cmocka_unit_test_setup_teardown(test_stage_matrix, setup_cross, teardown),
    };
    return cmocka_run_group_tests_name("shim", tests, NULL, NULL);
}
