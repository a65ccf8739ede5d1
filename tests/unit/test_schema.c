/* test_schema.c: the schemas apply idempotently on both engines and enforce tenancy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_catalog.h"
#include "ts_schema.h"
#include "ts_test.h"

typedef ts_test_store_fx fixture;

static void apply(ts_store *s, const ts_schema *sc)
{
    ts_error err;
    if (ts_schema_apply(s, sc, &err))
        fail_msg("apply %s: %s", sc->name, err.msg);
}

/* What a new store holds: the multi-tenant tables, the control plane, the journal. */
static void apply_new_store(ts_store *s)
{
    apply(s, ts_schema_new());
    apply(s, ts_schema_control());
    apply(s, ts_schema_journal());
}

static void exec_ok(ts_store *s, const char *sql, const ts_value *p, int np)
{
    ts_error err;
    if (ts_store_exec(s, sql, p, np, NULL, &err))
        fail_msg("%s: %s", sql, err.msg);
}

static int64_t count(ts_store *s, const char *sql)
{
    ts_error err;
    int64_t n = -1;
    if (ts_store_query_int(s, sql, NULL, 0, &n, &err) < 0)
        fail_msg("%s: %s", sql, err.msg);
    return n;
}

static void assert_tables_exist(ts_store *s, const ts_schema *sc)
{
    ts_error err;
    int version, exists;
    assert_int_equal(ts_schema_applied_version(s, sc, &version, &err), 0);
    assert_int_equal(version, sc->version);
    for (int i = 0; i < sc->ntables; i++) {
        assert_int_equal(ts_store_table_exists(s, sc->tables[i].name, &exists, &err), 0);
        if (!exists)
            fail_msg("table %s of schema %s missing", sc->tables[i].name, sc->name);
    }
}

/* Applying a new store's schemas twice creates each table once and records the version. */
static void test_apply_new_twice(void **state)
{
    fixture *fx = *state;
    apply_new_store(fx->store);
    apply_new_store(fx->store);
    assert_tables_exist(fx->store, ts_schema_new());
    assert_tables_exist(fx->store, ts_schema_control());
    assert_tables_exist(fx->store, ts_schema_journal());
}

/* The same for a legacy store. */
static void test_apply_legacy_twice(void **state)
{
    fixture *fx = *state;
    apply(fx->store, ts_schema_legacy());
    apply(fx->store, ts_schema_legacy());
    assert_tables_exist(fx->store, ts_schema_legacy());
}

/* Pointing the new store at the legacy one is refused, not merged. */
static void test_legacy_and_new_apart(void **state)
{
    fixture *fx = *state;
    ts_error err;
    apply(fx->store, ts_schema_legacy());
    assert_int_equal(ts_schema_apply(fx->store, ts_schema_new(), &err), -1);
    assert_int_equal(err.code, TS_E_STATE);
    assert_non_null(strstr(err.msg, "legacy schema"));
}

/* A store recorded at a newer schema version is refused, and left alone. */
static void test_newer_version_refused(void **state)
{
    fixture *fx = *state;
    ts_error err;
    apply_new_store(fx->store);
    exec_ok(fx->store, "UPDATE ts_schema_version SET version = 99 WHERE name = 'new'", NULL, 0);
    assert_int_equal(ts_schema_apply(fx->store, ts_schema_new(), &err), -1);
    assert_int_equal(err.code, TS_E_STATE);
    assert_non_null(strstr(err.msg, "version 99"));
    assert_int_equal(count(fx->store, "SELECT version FROM ts_schema_version WHERE name = 'new'"), 99);
}

static void add_bot(ts_store *s, int64_t id, const char *token)
{
    ts_value p[2] = {ts_int(id), ts_text(token)};
    exec_ok(s, "INSERT INTO bots (id, name, telegram_bot_token) VALUES ($1, 'bot', $2)", p, 2);
}


static int add_user(ts_store *s, int64_t bot, int64_t id, int64_t telegram_id, ts_error *err)
{
    ts_value p[3] = {ts_int(bot), ts_int(id), ts_int(telegram_id)};
    return ts_store_exec(s, "INSERT INTO users (bot_id, id, telegram_id, " TS_TEST_USER_REQUIRED ") "
                         "VALUES ($1, $2, $3, " TS_TEST_USER_REQUIRED_VALUES ")", p, 3, NULL, err);
}

/* The same telegram_id lives under two bots; twice under one bot is refused. */
static void test_telegram_id_unique_per_bot(void **state)
{
    fixture *fx = *state;
    ts_error err;
    apply_new_store(fx->store);
    add_bot(fx->store, 1, "1:aaa");
    add_bot(fx->store, 2, "2:bbb");
    assert_int_equal(add_user(fx->store, 1, 10, 4242, &err), 0);
    assert_int_equal(add_user(fx->store, 2, 11, 4242, &err), 0);
    assert_int_equal(add_user(fx->store, 1, 12, 4242, &err), -1);
    assert_int_equal(err.code, TS_E_CONSTRAINT);
    /* A user without a Telegram id is refused, as the real bot's table does. */
    ts_value p[2] = {ts_int(1), ts_int(13)};
    assert_int_equal(ts_store_exec(fx->store, "INSERT INTO users (bot_id, id, " TS_TEST_USER_REQUIRED ") "
                                   "VALUES ($1, $2, " TS_TEST_USER_REQUIRED_VALUES ")", p, 2, NULL, &err),
                     -1);
    assert_int_equal(err.code, TS_E_CONSTRAINT);
    assert_int_equal(count(fx->store, "SELECT count(*) FROM users"), 2);
}

/* A row of bot 2 cannot reference a row of bot 1; deleting a bot removes its rows. */
static void test_foreign_keys_stay_in_bot(void **state)
{
    fixture *fx = *state;
    ts_error err;
    apply_new_store(fx->store);
    add_bot(fx->store, 1, "1:aaa");
    add_bot(fx->store, 2, "2:bbb");
    assert_int_equal(add_user(fx->store, 1, 10, 1, &err), 0);
    ts_value cross[3] = {ts_int(2), ts_int(100), ts_int(10)};
    assert_int_equal(ts_store_exec(fx->store,
                                   "INSERT INTO subscriptions (bot_id, id, user_id, end_date) "
                                   "VALUES ($1, $2, $3, '2030-01-01T00:00:00Z')", cross, 3, NULL, &err),
                     -1);
    assert_int_equal(err.code, TS_E_CONSTRAINT);
    ts_value same[3] = {ts_int(1), ts_int(100), ts_int(10)};
    exec_ok(fx->store, "INSERT INTO subscriptions (bot_id, id, user_id, end_date) "
            "VALUES ($1, $2, $3, '2030-01-01T00:00:00Z')", same, 3);
    exec_ok(fx->store, "DELETE FROM bots WHERE id = 1", NULL, 0);
    assert_int_equal(count(fx->store, "SELECT count(*) FROM users"), 0);
    assert_int_equal(count(fx->store, "SELECT count(*) FROM subscriptions"), 0);
}

/* The legacy schema is the real bot's: telegram_id unique, NOT NULL columns
   without defaults, lengths; no CHECK on states (it stores 'pending' and
   more), and none of the uniques the bot does not have. */
static void test_legacy_constraints(void **state)
{
    fixture *fx = *state;
    ts_error err;
    char longname[300];
    apply(fx->store, ts_schema_legacy());
#define INSERT_USER(cols, vals) \
    "INSERT INTO users (" cols TS_TEST_USER_REQUIRED ") VALUES (" vals TS_TEST_USER_REQUIRED_VALUES ")"
    exec_ok(fx->store, INSERT_USER("telegram_id, ", "7, "), NULL, 0);
    assert_int_equal(ts_store_exec(fx->store, INSERT_USER("telegram_id, ", "7, "), NULL, 0, NULL,
                                   &err), -1);
    assert_int_equal(err.code, TS_E_CONSTRAINT);
    assert_int_equal(ts_store_exec(fx->store, "INSERT INTO users (telegram_id) VALUES (8)", NULL, 0,
                                   NULL, &err), -1);
    assert_int_equal(err.code, TS_E_CONSTRAINT);
    exec_ok(fx->store, INSERT_USER("telegram_id, status, ", "9, 'pending', "), NULL, 0);
    memset(longname, 'x', 256);
    longname[256] = '\0';
    ts_value p = ts_text(longname);
    assert_int_equal(ts_store_exec(fx->store, INSERT_USER("telegram_id, username, ", "10, $1, "), &p,
                                   1, NULL, &err), -1);
    assert_int_equal(err.code, TS_E_CONSTRAINT);
    /* the same promo code used twice by one user: the real table allows it */
    exec_ok(fx->store, "INSERT INTO promocodes (id, code, type) VALUES (1, 'X', 'balance')", NULL, 0);
    exec_ok(fx->store, "INSERT INTO promocode_uses (promocode_id, user_id) VALUES (1, 1), (1, 1)",
            NULL, 0);
#undef INSERT_USER
}

/* Every tenant table's key, uniques and references include bot_id. */
static void test_tenant_tables_carry_bot_id(void **state)
{
    (void)state;
    const ts_schema *sc = ts_schema_new();
    int tenants = 0;
    for (int i = 0; i < sc->ntables; i++) {
        const ts_table *t = &sc->tables[i];
        if (!t->tenant)
            continue;
        tenants++;
        assert_non_null(ts_table_column(t, "bot_id"));
        assert_true(ts_table_column(t, "bot_id")->notnull);
        assert_int_equal(strncmp(t->pk, "bot_id", 6), 0);
        for (int u = 0; t->uniques && t->uniques[u]; u++)
            assert_int_equal(strncmp(t->uniques[u], "bot_id", 6), 0);
        for (int k = 0; k < t->nfks; k++)
            assert_int_equal(strncmp(t->fks[k].cols, "bot_id", 6), 0);
    }
    assert_true(tenants >= 15);
    assert_null(ts_schema_table(ts_schema_new(), "c2c_receipts"));
    assert_null(ts_schema_table(ts_schema_new(), "system_settings"));
}

/* The rendered DDL names each table once per engine. */
static void test_ddl_render(void **state)
{
    (void)state;
    ts_error err;
    char *ddl;
    assert_int_equal(ts_schema_ddl(ts_schema_new(), TS_ENGINE_PG, &ddl, &err), 0);
    assert_non_null(strstr(ddl, "CREATE TABLE IF NOT EXISTS \"users\""));
    assert_non_null(strstr(ddl, "GENERATED BY DEFAULT AS IDENTITY"));
    assert_non_null(strstr(ddl, "TIMESTAMPTZ"));
    free(ddl);
    assert_int_equal(ts_schema_ddl(ts_schema_legacy(), TS_ENGINE_SQLITE, &ddl, &err), 0);
    assert_non_null(strstr(ddl, "INTEGER PRIMARY KEY AUTOINCREMENT"));
    assert_null(strstr(ddl, "TIMESTAMPTZ"));
    free(ddl);
}

/*
 * A live legacy store adopted: a declared table keeps its declared columns
 * the store has (allowing NULL where it does), gains the ones it does not
 * declare; a declared column the store lacks stays in the twin only; a live
 * table nothing declares becomes a tenant twin with bot_id in every key; a
 * store made from the project's schema adopts to the same tables.
 */
static void test_adopt_live_tables(void **state)
{
    ts_test_store_fx *fx = *state;
    ts_store *s = fx->store;
    ts_error err;
    ts_schema *live;
    ts_arena a = {0};
    const ts_schema *lsc, *nsc;
    int pg = ts_store_engine(s) == TS_ENGINE_PG;
    if (ts_schema_apply(s, ts_schema_legacy(), &err))
        fail_msg("legacy: %s", err.msg);
    if (ts_catalog_read(s, "legacy", &live, &err) || ts_schema_adopt(live, &a, &lsc, &nsc, &err))
        fail_msg("adopt: %s", err.msg);
    assert_int_equal(lsc->ntables, ts_schema_legacy()->ntables);
    assert_int_equal(nsc->ntables, ts_schema_new()->ntables);
    assert_int_equal(ts_schema_table(lsc, "users")->ncols,
                     ts_schema_table(ts_schema_legacy(), "users")->ncols);
    ts_schema_free(live);

    ts_test_exec(fx->target.url, "ALTER TABLE users ADD COLUMN nickname VARCHAR(36)");
    ts_test_exec(fx->target.url, pg ? "ALTER TABLE users ALTER COLUMN has_had_paid_subscription "
                                      "DROP NOT NULL" : "SELECT 1");
    ts_test_exec(fx->target.url, pg ? "ALTER TABLE users DROP COLUMN last_activity" : "SELECT 1");
    ts_test_exec(fx->target.url, pg ? "CREATE TABLE guilds (id SERIAL PRIMARY KEY, "
                                      "user_id BIGINT REFERENCES users (id), name TEXT NOT NULL, "
                                      "UNIQUE (name))"
                                    : "CREATE TABLE guilds (id INTEGER PRIMARY KEY, "
                                      "user_id INTEGER REFERENCES users (id), name TEXT NOT NULL, "
                                      "UNIQUE (name))");
    if (ts_catalog_read(s, "legacy", &live, &err) || ts_schema_adopt(live, &a, &lsc, &nsc, &err))
        fail_msg("adopt: %s", err.msg);
    assert_non_null(lsc);
    const ts_table *lu = ts_schema_table(lsc, "users"), *nu = ts_schema_table(nsc, "users");
    assert_non_null(ts_table_column(lu, "nickname"));
    assert_non_null(ts_table_column(nu, "nickname"));
    assert_string_equal(ts_table_column(nu, "nickname")->sqltype, pg ? "character varying(36)"
                                                                    : "VARCHAR(36)");
    if (pg) {
        assert_int_equal(ts_table_column(lu, "has_had_paid_subscription")->notnull, 0);
        assert_int_equal(ts_table_column(nu, "has_had_paid_subscription")->notnull, 0);
        assert_null(ts_table_column(lu, "last_activity"));
        assert_non_null(ts_table_column(nu, "last_activity"));
    }
    const ts_table *sq = ts_schema_table(nsc, "guilds");
    assert_non_null(sq);
    assert_true(sq->tenant);
    assert_string_equal(sq->pk, "bot_id, id");
    assert_string_equal(sq->uniques[0], "bot_id, name");
    assert_int_equal(ts_table_column(sq, "id")->type, TS_COL_ID);
    int to_users = 0;
    for (int i = 0; i < sq->nfks; i++)
        to_users |= strcmp(sq->fks[i].table, "users") == 0 &&
                    strcmp(sq->fks[i].cols, "bot_id, user_id") == 0;
    assert_true(to_users);
    /* Rendered for the other engine too: types that hold the same values. */
    char *ddl;
    const char *names[] = {"guilds"};
    assert_int_equal(ts_schema_tables_ddl(nsc, names, 1, 0, s, &ddl, &err), 0);
    assert_non_null(strstr(ddl, "PRIMARY KEY (\"bot_id\", \"id\")"));
    free(ddl);
    ts_arena_free(&a);
    ts_schema_free(live);
}

#define ON_BOTH(fn)                                                              \
    cmocka_unit_test_setup_teardown(fn, ts_test_setup_sqlite, ts_test_teardown_store), \
    cmocka_unit_test_setup_teardown(fn, ts_test_setup_pg, ts_test_teardown_store)

int main(void)
{
    const struct CMUnitTest tests[] = {
        ON_BOTH(test_apply_new_twice),
        ON_BOTH(test_apply_legacy_twice),
        ON_BOTH(test_legacy_and_new_apart),
        ON_BOTH(test_newer_version_refused),
        ON_BOTH(test_telegram_id_unique_per_bot),
        ON_BOTH(test_foreign_keys_stay_in_bot),
        ON_BOTH(test_legacy_constraints),
        ON_BOTH(test_adopt_live_tables),
        cmocka_unit_test(test_tenant_tables_carry_bot_id),
        cmocka_unit_test(test_ddl_render),
    };
    return cmocka_run_group_tests_name("schema", tests, NULL, NULL);
}
