/*
 * test_repo.h: what the repository tests share: a store pair with a shim at
 * a chosen stage of every data increment, units of work, checked calls.
 * Include after <cmocka.h>.
 */
#ifndef TEST_REPO_H
#define TEST_REPO_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_repo.h"
#include "ts_test.h"

typedef struct repo_fx {
    ts_pair_kind kind;
    const char *stage;      /* of 2.1, 2.3, 2.4, 3.2 and 3.3 */
    ts_test_pair pair;
    ts_shim *sh;
    ts_tx *open;            /* the unit in progress, rolled back after a failed test */
    ts_error err;           /* the last call's, for messages */
} repo_fx;

/* Make the pair, set 1.1 to expanded and the data increments to fx->stage,
   open the shim. 0 ready, -1 skip (no PostgreSQL). */
static inline int repo_fx_open(repo_fx *fx)
{
    static const char *const incs[] = {"2.1", "2.3", "2.4", "3.2", "3.3"};
    ts_shim_config cfg = {0};
    if (ts_test_pair_make(fx->kind, &fx->pair))
        return -1;
    ts_test_set_stage(fx->pair.nw.url, "1.1", "expanded");
    for (size_t i = 0; i < sizeof incs / sizeof incs[0]; i++)
        ts_test_set_stage(fx->pair.nw.url, incs[i], fx->stage);
    cfg.legacy_url = fx->pair.legacy.url;
    cfg.new_url = fx->pair.nw.url;
    cfg.program = "test_repo";
    cfg.shadow_fraction = 1.0;
    if (ts_shim_open(&cfg, &fx->sh, &fx->err))
        fail_msg("shim open: %s", fx->err.msg);
    /* ts_test_pair_make inserts the master with an explicit id; keep the bots
       sequence above it as ts-migrate's expand does. */
    if (ts_store_id_floor(ts_shim_new(fx->sh), "bots", ts_shim_master_bot_id(fx->sh), &fx->err))
        fail_msg("bots sequence: %s", fx->err.msg);
    return 0;
}

static inline void repo_fx_close(repo_fx *fx)
{
    ts_shim_close(fx->sh);
    ts_test_pair_cleanup(&fx->pair);
}

/* Per-test teardown: a test that failed mid-unit leaves it open. */
static inline int repo_test_teardown(void **state)
{
    repo_fx *fx = *state;
    ts_tx_rollback(fx->open);
    fx->open = NULL;
    return 0;
}

/*
 * Run tests as groups on store pairs at read_new: SQLite always, PostgreSQL
 * (and, with cross, SQLite -> PostgreSQL) when a server is there or required.
 * Each group opens one fixture for all its tests.
 */
static repo_fx repo_groups_fx[3];

static inline int repo_group_setup(void **state, int i, ts_pair_kind kind)
{
    repo_groups_fx[i] = (repo_fx){kind, "read_new"};
    if (repo_fx_open(&repo_groups_fx[i]))
        return -1;
    *state = &repo_groups_fx[i];
    return 0;
}

static inline int repo_setup_sqlite(void **state) { return repo_group_setup(state, 0, TS_PAIR_SQLITE); }
static inline int repo_setup_pg(void **state) { return repo_group_setup(state, 1, TS_PAIR_PG); }
static inline int repo_setup_cross(void **state) { return repo_group_setup(state, 2, TS_PAIR_CROSS); }

static inline int repo_group_teardown(void **state)
{
    repo_fx_close(*state);
    return 0;
}

static inline int repo_run_groups(const char *name, const struct CMUnitTest *tests, size_t n,
                                  int cross)
{
    const char *pg = getenv("TS_TEST_PG_URL"), *require = getenv("TS_TEST_REQUIRE_PG");
    int have_pg = (pg && *pg) || (require && strcmp(require, "1") == 0);
    char group[96];
    snprintf(group, sizeof group, "%s sqlite", name);
    int failed = _cmocka_run_group_tests(group, tests, n, repo_setup_sqlite, repo_group_teardown);
    if (have_pg) {
        snprintf(group, sizeof group, "%s postgresql", name);
        failed += _cmocka_run_group_tests(group, tests, n, repo_setup_pg, repo_group_teardown);
    }
    if (have_pg && cross) {
        snprintf(group, sizeof group, "%s cross", name);
        failed += _cmocka_run_group_tests(group, tests, n, repo_setup_cross, repo_group_teardown);
    }
    return failed;
}

static inline ts_tx *repo_begin(repo_fx *fx, int64_t bot)
{
    ts_tx *tx;
    ts_ctx ctx = {bot, bot == ts_shim_master_bot_id(fx->sh)};
    if (ts_shim_begin(fx->sh, &ctx, &tx, &fx->err))
        fail_msg("begin: %s", fx->err.msg);
    return fx->open = tx;
}

static inline void repo_rollback(repo_fx *fx, ts_tx *tx)
{
    ts_tx_rollback(tx);
    fx->open = NULL;
}

static inline void repo_commit(repo_fx *fx, ts_tx *tx)
{
    fx->open = NULL;
    if (ts_tx_commit(tx, &fx->err))
        fail_msg("commit: %s", fx->err.msg);
}

/* A repository call that must return want (its error message when it does not). */
#define EXPECT(fx, call, want)                                                            \
    do {                                                                                  \
        int rc_ = (call);                                                                 \
        if (rc_ != (want))                                                                \
            fail_msg("%s returned %d, want %d (stage %s, %s): %s", #call, rc_, (want),    \
                     (fx)->stage, ts_test_pair_name((fx)->kind), rc_ < 0 ? (fx)->err.msg : ""); \
    } while (0)

/* Count rows of a store with a WHERE clause. */
static inline int64_t repo_count(const char *url, const char *table, const char *where)
{
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE %s", table, where);
    return ts_test_int(url, sql);
}

#endif
