/*
 * test_catalog.c: the legacy schema read from the live catalog, and the
 * refusal of what the manifest does not account for (ts_catalog.h,
 * ts_conform.h), on the real bot's schema (fixtures/real-schema) and on the
 * schema tenantshift generates, on SQLite and PostgreSQL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_catalog.h"
#include "ts_conform.h"
#include "ts_manifest.h"
#include "ts_test.h"

typedef ts_test_store_fx fixture;

static void script(ts_store *s, const char *sql)
{
    ts_error err;
    if (ts_store_script(s, sql, &err))
        fail_msg("%s: %s", sql, err.msg);
}

static ts_schema *read_catalog(ts_store *s)
{
    ts_schema *sc;
    ts_error err;
    if (ts_catalog_read(s, "legacy", &sc, &err))
        fail_msg("catalog: %s", err.msg);
    return sc;
}

static const ts_column *column(const ts_schema *sc, const char *table, const char *col)
{
    const ts_table *t = ts_schema_table(sc, table);
    if (t == NULL)
        fail_msg("no table %s in the catalog", table);
    const ts_column *c = ts_table_column(t, col);
    if (c == NULL)
        fail_msg("no column %s.%s in the catalog", table, col);
    return c;
}

/* ---- the real schema, read as it is ---------------------------------------- */

static void test_real_schema_read_whole(void **state)
{
    fixture *fx = *state;
    int pg = ts_store_engine(fx->store) == TS_ENGINE_PG;
    ts_test_load_real_schema(fx->target.url);
    ts_schema *sc = read_catalog(fx->store);
    assert_int_equal(sc->ntables, 48);

    const ts_table *users = ts_schema_table(sc, "users");
    assert_non_null(users);
    assert_int_equal(users->ncols, 29);
    assert_string_equal(users->pk, "id");
    const ts_column *id = column(sc, "users", "id");
    assert_int_equal(id->type, TS_COL_INT);
    assert_int_not_equal(id->identity, TS_IDENT_NONE);   /* SERIAL / INTEGER PRIMARY KEY */
    assert_true(id->notnull);

    /* The columns the old compiled-in schema lost, with their exact types. */
    const ts_column *uuid = column(sc, "users", "remnawave_uuid");
    assert_int_equal(uuid->type, TS_COL_TEXT);
    assert_int_equal(uuid->maxlen, 255);
    assert_string_equal(uuid->sqltype, pg ? "character varying(255)" : "VARCHAR(255)");
    assert_int_equal(column(sc, "users", "has_made_first_topup")->type, TS_COL_BOOL);
    assert_int_equal(column(sc, "subscriptions", "connected_squads")->type, TS_COL_JSON);
    /* SQLAlchemy's DateTime: a wall clock, no time zone, on both engines. */
    assert_int_equal(column(sc, "users", "last_remnawave_sync")->type, TS_COL_TIMESTAMP);
    assert_false(column(sc, "users", "status")->notnull);   /* defaults live in the bot */
    assert_null(column(sc, "users", "status")->dflt);

    /* References come after what they reference, and keep their actions. */
    const ts_table *subs = ts_schema_table(sc, "subscriptions");
    assert_true(users < subs);
    int found = 0;
    for (int f = 0; f < subs->nfks; f++)
        if (strcmp(subs->fks[f].table, "users") == 0) {
            found = 1;
            assert_string_equal(subs->fks[f].cols, "user_id");
            assert_string_equal(subs->fks[f].ref_cols, "id");
        }
    assert_true(found);
    /* Unique constraints and indexes: faq_settings UNIQUE (language). */
    const ts_table *faq = ts_schema_table(sc, "faq_settings");
    assert_non_null(faq->uniques);
    assert_string_equal(faq->uniques[0], "language");
    ts_schema_free(sc);
}

/* ---- conformance: the generated schema conforms, every drift is named ---------- */

static ts_manifest *manifest(const char *json)
{
    ts_manifest *m;
    ts_error err;
    if ((json ? ts_manifest_load_json(json, &m, &err) : ts_manifest_load_default(&m, &err)))
        fail_msg("manifest: %s", err.msg);
    return m;
}

/* Every problem, joined with "\n", for strstr. */
static void problems(ts_store *s, const ts_manifest *m, char *out, size_t n, int *count)
{
    ts_problems p = {0};
    ts_error err;
    if (ts_conform_legacy(s, m, NULL, &p, &err))
        fail_msg("conform: %s", err.msg);
    out[0] = '\0';
    for (int i = 0; i < p.n; i++)
        snprintf(out + strlen(out), n - strlen(out), "%s\n", p.v[i]);
    *count = p.n;
    ts_problems_free(&p);
}

static void apply_legacy(ts_store *s)
{
    ts_error err;
    if (ts_schema_apply(s, ts_schema_legacy(), &err))
        fail_msg("apply legacy: %s", err.msg);
}

static void test_generated_schema_conforms(void **state)
{
    fixture *fx = *state;
    ts_manifest *m = manifest(NULL);
    char out[8192];
    int n;
    ts_error err;
    apply_legacy(fx->store);
    problems(fx->store, m, out, sizeof out, &n);
    assert_int_equal(n, 0);
    assert_int_equal(ts_conform_require(fx->store, NULL, m, &err), 0);
    ts_manifest_free(m);
}

static void test_drift_is_named(void **state)
{
    fixture *fx = *state;
    int pg = ts_store_engine(fx->store) == TS_ENGINE_PG;
    ts_manifest *m = manifest(NULL);
    char out[8192];
    int n;
    ts_error err;
    apply_legacy(fx->store);
    /* What the real bot does at start-up, and what other programs do. */
    script(fx->store, "ALTER TABLE users ADD COLUMN nickname VARCHAR(255)");
    script(fx->store, "ALTER TABLE tickets DROP COLUMN priority");
    script(fx->store, "CREATE TABLE audit_trail (id INTEGER PRIMARY KEY, what TEXT)");
    if (pg)
        script(fx->store, "ALTER TABLE promo_groups ALTER COLUMN priority TYPE text");
    problems(fx->store, m, out, sizeof out, &n);
    assert_int_equal(n, pg ? 4 : 3);
    assert_non_null(strstr(out, "column users.nickname"));
    assert_non_null(strstr(out, "increment 2.1 would leave its values behind"));
    assert_non_null(strstr(out, "column tickets.priority, which increment 3.2 carries, is not "
                                "in the legacy store"));
    assert_non_null(strstr(out, "table audit_trail (2 columns) is not accounted for"));
    if (pg)
        assert_non_null(strstr(out, "column promo_groups.priority is text in the legacy store, "
                                    "but the manifest carries it as integer"));
    /* One error for the commands, with the count and what to do. */
    assert_int_equal(ts_conform_require(fx->store, NULL, m, &err), -1);
    assert_int_equal(err.code, TS_E_SCHEMA);
    assert_non_null(strstr(err.msg, pg ? "4 problems" : "3 problems"));
    assert_non_null(strstr(err.msg, "ts-migrate manifest check"));
    ts_manifest_free(m);
}

/* The fingerprint a long backfill asks between chunks: the same while nothing
   changes, another after a column or an index is added. */
static void test_fingerprint_follows_changes(void **state)
{
    fixture *fx = *state;
    char a[80], b[80], c[80], d[80];
    ts_error err;
    apply_legacy(fx->store);
    if (ts_catalog_fingerprint(fx->store, a, &err) || ts_catalog_fingerprint(fx->store, b, &err))
        fail_msg("%s", err.msg);
    assert_string_equal(a, b);
    script(fx->store, "ALTER TABLE users ADD COLUMN nickname TEXT");
    if (ts_catalog_fingerprint(fx->store, c, &err))
        fail_msg("%s", err.msg);
    assert_string_not_equal(a, c);
    script(fx->store, "CREATE INDEX users_nickname ON users (nickname)");
    if (ts_catalog_fingerprint(fx->store, d, &err))
        fail_msg("%s", err.msg);
    assert_string_not_equal(c, d);
}

/* A table declared "ignored" with a reason is accounted for; nothing else changes. */
static void test_ignored_table(void **state)
{
    fixture *fx = *state;
    ts_manifest *base = manifest(NULL);
    char out[8192];
    int n;
    apply_legacy(fx->store);
    script(fx->store, "CREATE TABLE server_health (id INTEGER PRIMARY KEY, msg TEXT)");
    problems(fx->store, base, out, sizeof out, &n);
    assert_int_equal(n, 1);
    ts_manifest_free(base);

    char *json = ts_test_read_file("shim/manifest.json");
    char *at = strstr(json, "\"increments\"");
    assert_non_null(at);
    const char *decl = "\"ignored\": {\"server_health\": \"server health history, not tenant "
                       "data\"},\n  ";
    char *edited = malloc(strlen(json) + strlen(decl) + 1);
    assert_non_null(edited);
    snprintf(edited, strlen(json) + strlen(decl) + 1, "%.*s%s%s", (int)(at - json), json, decl, at);
    ts_manifest *m = manifest(edited);
    assert_string_equal(ts_manifest_ignored(m, "server_health"),
                        "server health history, not tenant data");
    assert_null(ts_manifest_ignored(m, "users"));
    problems(fx->store, m, out, sizeof out, &n);
    assert_int_equal(n, 0);
    ts_manifest_free(m);
    free(edited);
    free(json);
}

/* Ignoring needs a reason, and a table cannot be moved and ignored at once. */
static void test_ignored_needs_reason(void **state)
{
    (void)state;
    char *json = ts_test_read_file("shim/manifest.json");
    char *at = strstr(json, "\"increments\"");
    static const char *const bad[][2] = {
        {"\"ignored\": {\"logs\": \"\"},", "must say why it is not moved"},
        {"\"ignored\": {\"users\": \"old\"},", "increment 2.1 moves it"},
        {"\"ignored\": {\"bad name\": \"x\"},", "ignored table \"bad name\""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t len = strlen(json) + strlen(bad[i][0]) + 1;
        char *edited = malloc(len);
        assert_non_null(edited);
        snprintf(edited, len, "%.*s%s%s", (int)(at - json), json, bad[i][0], at);
        ts_manifest *m = NULL;
        ts_error err;
        assert_int_equal(ts_manifest_load_json(edited, &m, &err), -1);
        assert_null(m);
        if (strstr(err.msg, bad[i][1]) == NULL)
            fail_msg("%s: %s", bad[i][0], err.msg);
        free(edited);
    }
    free(json);
}

/*
 * The real bot's database as it comes (fixtures/real-schema/) against the
 * compiled-in manifest: every table and column accounted for, and ts-bot's
 * inserts have a value for every NOT NULL column it does not know and for
 * every column it leaves to a default the store does not have.
 */
static void test_real_schema_conforms(void **state)
{
    fixture *fx = *state;
    ts_manifest *m;
    ts_problems p = {0};
    ts_error err;
    static char out[65536];
    int n;
    ts_test_load_real_schema(fx->target.url);
    if (ts_manifest_load_live(NULL, fx->store, &m, &err))
        fail_msg("%s", err.msg);
    problems(fx->store, m, out, sizeof out, &n);
    if (n != 0)
        fail_msg("%d problems:\n%s", n, out);
    assert_int_equal(ts_conform_require(fx->store, NULL, m, &err), 0);
    assert_int_equal(ts_conform_repositories(fx->store, m, &p, &err), 0);
    for (int i = 0; i < p.n; i++)
        fprintf(stderr, "repositories: %s\n", p.v[i]);
    assert_int_equal(p.n, 0);
    ts_problems_free(&p);
    /* every live table is moved by an increment, each column carried */
    assert_int_equal(ts_manifest_legacy_schema(m)->ntables, 49);
    assert_string_equal(ts_manifest_owner(m, "server_squads")->id, "2.1");
    ts_manifest_free(m);
}

/* SQLite's double-quoted string fallback is off: a misspelled column is an
   error, never the literal text of its name. */
static void test_sqlite_misspelled_column_is_error(void **state)
{
    fixture *fx = *state;
    ts_rows *r;
    ts_error err;
    apply_legacy(fx->store);
    assert_int_equal(ts_store_query(fx->store, "SELECT \"email_address\" FROM users", NULL, 0,
                                    &r, &err), -1);
    assert_non_null(strstr(err.msg, "email_address"));
    assert_int_equal(ts_store_exec(fx->store, "INSERT INTO promo_groups (id, name) VALUES "
                                              "(1, \"name\")", NULL, 0, NULL, &err), -1);
}

#define ON_SQLITE(fn) cmocka_unit_test_setup_teardown(fn, ts_test_setup_sqlite, ts_test_teardown_store)
#define ON_PG(fn) cmocka_unit_test_setup_teardown(fn, ts_test_setup_pg, ts_test_teardown_store)

int main(void)
{
    const struct CMUnitTest tests[] = {
        ON_SQLITE(test_real_schema_read_whole),
        ON_PG(test_real_schema_read_whole),
        ON_SQLITE(test_generated_schema_conforms),
        ON_PG(test_generated_schema_conforms),
        ON_SQLITE(test_drift_is_named),
        ON_PG(test_drift_is_named),
        ON_SQLITE(test_fingerprint_follows_changes),
        ON_PG(test_fingerprint_follows_changes),
        ON_SQLITE(test_ignored_table),
        cmocka_unit_test(test_ignored_needs_reason),
        ON_SQLITE(test_real_schema_conforms),
        ON_PG(test_real_schema_conforms),
        ON_SQLITE(test_sqlite_misspelled_column_is_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
