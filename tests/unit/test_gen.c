/* test_gen.c: the fixture generator: determinism, the awkward cases, refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_catalog.h"
#include "ts_gen.h"
#include "ts_schema.h"
#include "ts_test.h"

#define USERS 300
#define MAX_TABLES 64
#define REAL_TABLES 48 /* fixtures/real-schema */

typedef struct digests {
    ts_digest table[MAX_TABLES];
    ts_digest total;
} digests;

static void digest_url(const char *url, digests *d)
{
    ts_store *s;
    ts_error err;
    assert_true(ts_schema_legacy()->ntables <= MAX_TABLES);
    if (ts_store_open(url, &s, &err) || ts_gen_digest(s, d->table, &d->total, &err))
        fail_msg("%s", err.msg);
    ts_store_close(s);
}

/* The digest of legacy table name. */
static const ts_digest *of(const digests *d, const char *name)
{
    const ts_table *t = ts_schema_table(ts_schema_legacy(), name);
    assert_non_null(t);
    return &d->table[t - ts_schema_legacy()->tables];
}

/* Counts finished tables, and checks progress reports are sane. */
static void on_progress(void *ctx, const ts_gen_progress *p)
{
    int *finished = ctx;
    assert_non_null(p->table);
    assert_true(p->done <= p->total);
    assert_true(p->rows >= 0);
    *finished += p->finished;
}

static int gen_into(const char *url, uint64_t seed, int64_t users, ts_error *err)
{
    int finished = 0;
    ts_gen_opts o = {seed, users, on_progress, &finished};
    ts_store *s;
    int64_t rows = 0;
    if (ts_store_open(url, &s, err))
        return -1;
    int rc = ts_gen_fill(s, &o, &rows, err);
    ts_store_close(s);
    if (rc == 0) {
        assert_int_equal(finished, REAL_TABLES); /* every table of the bot's */
        assert_true(rows > users);
    }
    return rc;
}

static void gen_ok(const char *url, uint64_t seed, int64_t users)
{
    ts_error err;
    if (gen_into(url, seed, users, &err))
        fail_msg("%s", err.msg);
}

/* The number of tables in the store (tenantshift's own aside). */
static int count_tables(const char *url)
{
    ts_store *s;
    ts_schema *live;
    ts_error err;
    if (ts_store_open(url, &s, &err) || ts_catalog_read(s, "legacy", &live, &err))
        fail_msg("%s", err.msg);
    int n = live->ntables;
    ts_schema_free(live);
    ts_store_close(s);
    return n;
}

/* ---- determinism ------------------------------------------------------------- */

static void test_same_seed_same_digest(void **state)
{
    (void)state;
    ts_test_target a, b, c;
    digests da, db, dc;

    assert_int_equal(ts_test_store_url(TS_ENGINE_SQLITE, &a), 0);
    assert_int_equal(ts_test_store_url(TS_ENGINE_SQLITE, &b), 0);
    assert_int_equal(ts_test_store_url(TS_ENGINE_SQLITE, &c), 0);
    gen_ok(a.url, 42, USERS);
    /* a store that already has the bot's tables gets the same data */
    ts_test_load_real_schema(b.url);
    gen_ok(b.url, 42, USERS);
    gen_ok(c.url, 43, USERS);
    digest_url(a.url, &da);
    digest_url(b.url, &db);
    digest_url(c.url, &dc);

    assert_int_equal(of(&da, "users")->rows, USERS);
    assert_string_equal(da.total.hex, db.total.hex);
    assert_int_equal(da.total.rows, db.total.rows);
    assert_string_not_equal(da.total.hex, dc.total.hex);
    assert_string_not_equal(of(&da, "users")->hex, of(&dc, "users")->hex); /* not just counts */
    assert_string_not_equal(of(&da, "faq_pages")->hex, of(&dc, "faq_pages")->hex);
    ts_test_target_cleanup(&a);
    ts_test_target_cleanup(&b);
    ts_test_target_cleanup(&c);
}

/* The same seed on PostgreSQL gives the digest SQLite gives, in every table. */
static void test_engines_agree(void **state)
{
    (void)state;
    ts_test_target sq, pg;
    digests dsq, dpg;

    if (ts_test_store_url(TS_ENGINE_PG, &pg) != 0)
        skip();
    assert_int_equal(ts_test_store_url(TS_ENGINE_SQLITE, &sq), 0);
    gen_ok(sq.url, 7, USERS);
    gen_ok(pg.url, 7, USERS);
    digest_url(sq.url, &dsq);
    digest_url(pg.url, &dpg);
    for (int i = 0; i < ts_schema_legacy()->ntables; i++) {
        if (strcmp(dsq.table[i].hex, dpg.table[i].hex) != 0)
            fail_msg("table %s differs between SQLite and PostgreSQL",
                     ts_schema_legacy()->tables[i].name);
        assert_int_equal(dsq.table[i].rows, dpg.table[i].rows);
    }
    assert_string_equal(dsq.total.hex, dpg.total.hex);
    ts_test_target_cleanup(&sq);
    ts_test_target_cleanup(&pg);
}

/* ---- every table, every column ------------------------------------------------ */

/*
 * On every engine: the store looks like the bot's (its 48 tables and no
 * other: ts_processed_updates is ts-migrate init's), every table has rows,
 * every NOT NULL column is filled in every row, and every nullable column
 * holds a value somewhere, with the references the bot's keys make intact.
 */
static void test_every_table_and_column_filled(void **state)
{
    (void)state;
    ts_test_target t[TS_TEST_MAX_ENGINES];
    int n = ts_test_store_urls(t);
    for (int e = 0; e < n; e++) {
        ts_store *s;
        ts_schema *live;
        ts_error err;
        ts_buf sql = {0};
        gen_ok(t[e].url, 3, USERS);
        if (ts_store_open(t[e].url, &s, &err) || ts_catalog_read(s, "legacy", &live, &err))
            fail_msg("%s", err.msg);
        assert_int_equal(live->ntables, REAL_TABLES);
        assert_null(ts_schema_table(live, "ts_processed_updates"));
        for (int i = 0; i < live->ntables; i++) {
            const ts_table *lt = &live->tables[i];
            int64_t rows = 0, filled = 0;
            assert_int_equal(ts_store_query_int_sql(s, lt->name, "SELECT count(*) FROM %s", NULL,
                                                    0, &rows, &err), 1);
            if (rows == 0)
                fail_msg("%s: table %s has no rows", t[e].url, lt->name);
            for (int c = 0; c < lt->ncols; c++) {
                ts_buf_printf(&sql, "SELECT count(\"%s\") FROM %%s", lt->cols[c].name);
                assert_false(sql.oom);
                assert_int_equal(ts_store_query_int_sql(s, lt->name, sql.s, NULL, 0, &filled,
                                                        &err), 1);
                sql.len = 0;
                if (lt->cols[c].notnull ? filled != rows : filled == 0)
                    fail_msg("%s: column %s.%s has values in %lld of %lld rows", t[e].url,
                             lt->name, lt->cols[c].name, (long long)filled, (long long)rows);
            }
        }
        if (ts_store_engine(s) == TS_ENGINE_SQLITE)
            assert_int_equal(ts_test_int(t[e].url, "SELECT count(*) FROM pragma_foreign_key_check"),
                             0);
        ts_buf_free(&sql);
        ts_schema_free(live);
        ts_store_close(s);
        ts_test_target_cleanup(&t[e]);
    }
}

/* ---- the awkward cases --------------------------------------------------------- */

typedef struct awkward {
    const char *what;
    const char *sql;  /* SELECT count(*) ... on SQLite; must be > 0 */
} awkward;

static const awkward cases[] = {
    {"username '' and username NULL",
     "SELECT (SELECT count(*) FROM users WHERE username = '') * "
     "(SELECT count(*) FROM users WHERE username IS NULL)"},
    {"an RTL name with ZWNJ", "SELECT count(*) FROM users WHERE first_name = "
                              "char(0x200f) || 'نیما' || char(0x200c) || 'جان'"},
    {"emoji", "SELECT count(*) FROM users WHERE first_name LIKE '%🚀%'"},
    {"combining marks",
     "SELECT count(*) FROM users WHERE first_name LIKE '%e' || char(0x308) || '%'"},
    {"SQL text", "SELECT count(*) FROM users WHERE username = 'Robert''); DROP TABLE users;--'"},
    {"backslashes and quotes", "SELECT count(*) FROM users WHERE last_name = 'C:\\Users\\bob\\' "
                               "AND first_name = 'O''Brien \"Bob\"'"},
    {"the strings 'NULL' and '\\N'",
     "SELECT (SELECT count(*) FROM users WHERE last_name = 'NULL') * "
     "(SELECT count(*) FROM users WHERE last_name = '\\N')"},
    {"a max-length multi-byte name",
     "SELECT count(*) FROM users WHERE length(first_name) = 255 "
     "AND length(CAST(first_name AS BLOB)) = 510"},
    {"max-length username and referral code (VARCHAR(20))",
     "SELECT (SELECT count(*) FROM users WHERE length(username) = 255) * "
     "(SELECT count(*) FROM users WHERE length(referral_code) = 20) * "
     "(SELECT count(*) = 0 FROM users WHERE length(referral_code) > 20)"},
    {"max-length message, title and URL",
     "SELECT (SELECT count(*) FROM ticket_messages WHERE length(message_text) = 4096) * "
     "(SELECT count(*) FROM tickets WHERE length(title) = 255) * "
     "(SELECT count(*) FROM subscriptions WHERE length(subscription_url) = 1024)"},
    /* (bounds rather than equality: SQLite keeps SQLAlchemy's spelling, PostgreSQL its type) */
    {"an epoch timestamp", "SELECT count(*) FROM users WHERE created_at < '1970-01-02'"},
    {"a far-future timestamp",
     "SELECT (SELECT count(*) FROM users WHERE last_activity > '9999-12-31 23:59:59.99') * "
     "(SELECT count(*) FROM subscriptions WHERE end_date > '9999-12-31 23:59:59.99')"},
    {"telegram ids at both int64 extremes, and none NULL",
     "SELECT count(*) * (SELECT count(*) = 0 FROM users WHERE telegram_id IS NULL) FROM users "
     "WHERE telegram_id IN (9223372036854775807, -9223372036854775808)"},
    {"2^53 + 1 kept exact, in the BIGINT column",
     "SELECT count(*) FROM users WHERE auto_promo_group_threshold_kopeks = 9007199254740993"},
    {"balances and amounts at the int32 extremes",
     "SELECT (SELECT count(*) FROM users WHERE balance_kopeks = 2147483647) * "
     "(SELECT count(*) FROM users WHERE balance_kopeks = -2147483648) * "
     "(SELECT count(*) FROM transactions WHERE amount_kopeks = -2147483648)"},
    {"zero and negative amounts",
     "SELECT (SELECT count(*) FROM transactions WHERE amount_kopeks = 0) * "
     "(SELECT count(*) FROM transactions WHERE amount_kopeks < 0) * "
     "(SELECT count(*) FROM referral_earnings WHERE amount_kopeks < 0)"},
    {"blocked and soft-deleted users",
     "SELECT (SELECT count(*) FROM users WHERE status = 'blocked') * "
     "(SELECT count(*) FROM users WHERE status = 'deleted')"},
    {"a self-referral", "SELECT count(*) FROM users WHERE referred_by_id = id"},
    {"a referral cycle of two",
     "SELECT count(*) FROM users a JOIN users b ON a.referred_by_id = b.id "
     "WHERE b.referred_by_id = a.id AND a.id <> b.id"},
    {"a referral chain of three",
     "SELECT count(*) FROM users a JOIN users b ON a.referred_by_id = b.id "
     "JOIN users c ON b.referred_by_id = c.id "
     "WHERE a.id <> b.id AND b.id <> c.id AND a.id <> c.id"},
    {"one external id from two payment methods",
     "SELECT count(*) FROM (SELECT external_id FROM transactions WHERE external_id IS NOT NULL "
     "GROUP BY external_id HAVING count(DISTINCT payment_method) > 1)"},
    {"trial, paid and expired subscriptions",
     "SELECT (SELECT count(*) FROM subscriptions WHERE is_trial) * "
     "(SELECT count(*) FROM subscriptions WHERE NOT is_trial) * "
     "(SELECT count(*) FROM subscriptions WHERE status = 'expired')"},
    {"every transaction type",
     "SELECT count(DISTINCT type) = 5 FROM transactions"},
    {"one default promo group", "SELECT count(*) = 1 FROM promo_groups WHERE is_default"},
    {"feature switches and a quoted setting",
     "SELECT (SELECT count(*) FROM system_settings "
     "        WHERE key = 'CARD_TO_CARD_ENABLED' AND value = 'true') * "
     "(SELECT count(*) FROM system_settings WHERE key = 'TRIAL_ENABLED' AND value = '1') * "
     "(SELECT count(*) FROM system_settings WHERE value LIKE '%''%\"%') * "
     "(SELECT count(*) FROM system_settings WHERE value = '') * "
     "(SELECT count(*) FROM system_settings WHERE value IS NULL)"},
    /* consistency the bot relies on */
    {"used_promocodes matches promocode_uses",
     "SELECT count(*) = 0 FROM users u WHERE used_promocodes <> "
     "(SELECT count(*) FROM promocode_uses p WHERE p.user_id = u.id)"},
    {"the filler's tables refer to the generator's rows",
     "SELECT (SELECT count(*) FROM subscription_events e JOIN users u ON u.id = e.user_id) * "
     "(SELECT count(*) FROM user_promo_groups g JOIN promo_groups p ON p.id = g.promo_group_id)"},
    {"foreign keys hold", "SELECT count(*) = 0 FROM pragma_foreign_key_check"},
};

static void test_awkward_cases_present(void **state)
{
    (void)state;
    ts_test_target t;
    ts_store *s;
    ts_error err;

    assert_int_equal(ts_test_store_url(TS_ENGINE_SQLITE, &t), 0);
    gen_ok(t.url, 1, USERS);
    assert_int_equal(ts_store_open(t.url, &s, &err), 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t n = 0;
        if (ts_store_query_int(s, cases[i].sql, NULL, 0, &n, &err) != 1)
            fail_msg("%s: %s", cases[i].what, err.msg);
        if (n <= 0)
            fail_msg("missing: %s", cases[i].what);
    }
    /* Bound, not written as literals: SQLite's own text-to-double conversion
       is off by an ulp where long double is only 64 bits wide (valgrind). */
    static const double doubles[] = {0.1, 1e-300, 123456.789, 1.7976931348623157e308};
    for (size_t i = 0; i < sizeof doubles / sizeof doubles[0]; i++) {
        ts_value p = ts_double(doubles[i]);
        int64_t n = 0;
        assert_int_equal(ts_store_query_int(s, "SELECT count(*) FROM subscriptions WHERE "
                                               "traffic_used_gb = $1", &p, 1, &n, &err), 1);
        if (n <= 0)
            fail_msg("missing: traffic_used_gb = %.17g", doubles[i]);
    }
    ts_store_close(s);
    ts_test_target_cleanup(&t);
}

/* No users: promo groups, promo codes and settings, and what the filler can
   make without users. */
static void test_zero_users(void **state)
{
    (void)state;
    ts_test_target t;
    digests d;
    assert_int_equal(ts_test_store_url(TS_ENGINE_SQLITE, &t), 0);
    gen_ok(t.url, 1, 0);
    digest_url(t.url, &d);
    assert_int_equal(of(&d, "users")->rows, 0);
    assert_int_equal(of(&d, "promo_groups")->rows, 5);
    assert_int_equal(of(&d, "promocodes")->rows, 8);
    assert_int_equal(of(&d, "system_settings")->rows, 17);
    assert_int_equal(of(&d, "faq_pages")->rows, 5);
    assert_int_equal(of(&d, "subscription_events")->rows, 0); /* user_id is NOT NULL */
    ts_test_target_cleanup(&t);
}

/* tenantshift's own table counts as empty when absent: the digest of a
   generated store is the same before and after ts-migrate init creates it. */
static void test_digest_counts_an_absent_own_table_as_empty(void **state)
{
    (void)state;
    ts_test_target t;
    digests before, after;
    ts_store *s;
    ts_error err;
    static const char *const own[] = {"ts_processed_updates"};
    assert_int_equal(ts_test_store_url(TS_ENGINE_SQLITE, &t), 0);
    gen_ok(t.url, 1, 20);
    digest_url(t.url, &before);
    assert_int_equal(ts_store_open(t.url, &s, &err), 0);
    assert_int_equal(ts_schema_apply_tables(s, ts_schema_legacy(), own, 1, &err), 0);
    ts_store_close(s);
    digest_url(t.url, &after);
    assert_string_equal(before.total.hex, after.total.hex);
    assert_int_equal(of(&after, "ts_processed_updates")->rows, 0);
    ts_test_target_cleanup(&t);
}

/* ---- refusals ------------------------------------------------------------------- */

/* A second gen into a generated store, and a gen into a store whose only row
   is in ts_processed_updates, are refused and change nothing; on every engine. */
static void test_refuses_a_store_with_rows(void **state)
{
    (void)state;
    ts_test_target t[TS_TEST_MAX_ENGINES];
    static const char *const own[] = {"ts_processed_updates"};
    int n = ts_test_store_urls(t);
    for (int e = 0; e < n; e++) {
        digests before, after;
        ts_error err;
        gen_ok(t[e].url, 1, 50);
        digest_url(t[e].url, &before);
        assert_int_equal(gen_into(t[e].url, 1, 50, &err), -1);
        assert_int_equal(err.code, TS_E_STATE);
        assert_non_null(strstr(err.msg, "already holds rows"));
        assert_non_null(strstr(err.msg, "fresh"));
        digest_url(t[e].url, &after);
        assert_string_equal(before.total.hex, after.total.hex);
        ts_test_target_cleanup(&t[e]);
    }
    n = ts_test_store_urls(t);
    for (int e = 0; e < n; e++) {
        ts_store *s;
        ts_error err;
        ts_value row[] = {ts_int(1), ts_time("2024-01-01T00:00:00Z")};
        assert_int_equal(ts_store_open(t[e].url, &s, &err), 0);
        assert_int_equal(ts_schema_apply_tables(s, ts_schema_legacy(), own, 1, &err), 0);
        assert_int_equal(ts_store_exec_sql(s, "ts_processed_updates", "INSERT INTO %s VALUES "
                                           "($1, $2)", row, 2, NULL, &err), 0);
        ts_store_close(s);
        assert_int_equal(gen_into(t[e].url, 1, 50, &err), -1);
        assert_non_null(strstr(err.msg, "ts_processed_updates"));
        assert_int_equal(count_tables(t[e].url), 1); /* the bot's tables were not created */
        ts_test_target_cleanup(&t[e]);
    }
}

/* A store with only some of the bot's tables is refused, the missing named,
   and left as it was; on every engine. */
static void test_refuses_a_store_with_some_tables(void **state)
{
    (void)state;
    ts_test_target t[TS_TEST_MAX_ENGINES];
    int n = ts_test_store_urls(t);
    for (int e = 0; e < n; e++) {
        ts_store *s;
        ts_error err;
        ts_test_load_real_schema(t[e].url);
        assert_int_equal(ts_store_open(t[e].url, &s, &err), 0);
        assert_int_equal(ts_store_exec_sql(s, "welcome_texts", "DROP TABLE %s", NULL, 0, NULL,
                                           &err), 0);
        assert_int_equal(ts_store_exec_sql(s, "yookassa_payments", "DROP TABLE %s", NULL, 0,
                                           NULL, &err), 0);
        ts_store_close(s);
        assert_int_equal(gen_into(t[e].url, 1, 50, &err), -1);
        assert_int_equal(err.code, TS_E_STATE);
        assert_non_null(strstr(err.msg, "46 of the bot's 48 tables"));
        assert_non_null(strstr(err.msg, "welcome_texts"));
        assert_non_null(strstr(err.msg, "yookassa_payments"));
        assert_int_equal(count_tables(t[e].url), 46);
        assert_int_equal(ts_test_int(t[e].url, "SELECT count(*) FROM users"), 0);
        ts_test_target_cleanup(&t[e]);
    }
}

static void test_refuses_bad_user_counts(void **state)
{
    (void)state;
    ts_test_target t;
    ts_error err;
    ts_store *s;
    int exists = 1;

    assert_int_equal(ts_test_store_url(TS_ENGINE_SQLITE, &t), 0);
    assert_int_equal(gen_into(t.url, 1, -1, &err), -1);
    assert_int_equal(err.code, TS_E_USAGE);
    assert_int_equal(gen_into(t.url, 1, TS_GEN_MAX_USERS + 1, &err), -1);
    assert_int_equal(err.code, TS_E_USAGE);
    /* refused before anything was created */
    assert_int_equal(ts_store_open(t.url, &s, &err), 0);
    assert_int_equal(ts_store_table_exists(s, "users", &exists, &err), 0);
    assert_false(exists);
    ts_store_close(s);
    ts_test_target_cleanup(&t);
}

static void test_digest_of_a_store_without_legacy_tables(void **state)
{
    (void)state;
    ts_test_target t;
    ts_digest d[MAX_TABLES], total;
    ts_store *s;
    ts_error err;
    assert_int_equal(ts_test_store_url(TS_ENGINE_SQLITE, &t), 0);
    assert_int_equal(ts_store_open(t.url, &s, &err), 0);
    assert_int_equal(ts_gen_digest(s, d, &total, &err), -1);
    assert_int_equal(err.code, TS_E_NOTFOUND);
    assert_non_null(strstr(err.msg, "ts-fixtures gen"));
    ts_store_close(s);
    ts_test_target_cleanup(&t);
}

/* ---- the command line ---------------------------------------------------------------- */

/* Parse "ts-fixtures" and the arguments up to a NULL. */
static int vparse(ts_gen_args *a, ts_error *err, va_list ap)
{
    char *argv[16] = {"ts-fixtures"};
    int argc = 1;
    char *arg;
    while ((arg = va_arg(ap, char *)) != NULL && argc < 16)
        argv[argc++] = arg;
    return ts_gen_parse_args(argc, argv, a, err);
}

static int parse_(ts_gen_args *a, ts_error *err, ...)
{
    va_list ap;
    va_start(ap, err);
    int rc = vparse(a, err, ap);
    va_end(ap);
    return rc;
}
#define PARSE(a, err, ...) parse_((a), (err), __VA_ARGS__, (char *)NULL)

static void test_args_good(void **state)
{
    (void)state;
    ts_gen_args a;
    ts_error err;

    assert_int_equal(
        PARSE(&a, &err, "gen", "--seed", "18446744073709551615", "--out", "sqlite:x.db"), 0);
    assert_int_equal(a.cmd, TS_GEN_CMD_GEN);
    assert_true(a.seed == UINT64_MAX);
    assert_int_equal(a.users, 1000);
    assert_string_equal(a.url, "sqlite:x.db");

    assert_int_equal(PARSE(&a, &err, "gen", "--users=0", "--out=sqlite:y.db"), 0);
    assert_int_equal(a.users, 0);
    assert_int_equal(a.seed, 1);
    assert_string_equal(a.url, "sqlite:y.db");

    assert_int_equal(PARSE(&a, &err, "digest", "--url", "postgresql:///x?schema=s"), 0);
    assert_int_equal(a.cmd, TS_GEN_CMD_DIGEST);
    assert_string_equal(a.url, "postgresql:///x?schema=s");

    assert_int_equal(PARSE(&a, &err, "--help"), 0);
    assert_int_equal(a.cmd, TS_GEN_CMD_HELP);
    assert_int_equal(PARSE(&a, &err, "gen", "-h"), 0);
    assert_int_equal(a.cmd, TS_GEN_CMD_HELP);
    assert_non_null(strstr(ts_gen_usage, "--users"));
}

/* The arguments are refused, with a message that contains needle. */
static void bad_(const char *needle, ...)
{
    ts_gen_args a;
    ts_error err;
    va_list ap;
    va_start(ap, needle);
    int rc = vparse(&a, &err, ap);
    va_end(ap);
    if (rc == 0)
        fail_msg("accepted, should refuse with '%s'", needle);
    assert_int_equal(err.code, TS_E_USAGE);
    if (strstr(err.msg, needle) == NULL)
        fail_msg("message '%s' does not say '%s'", err.msg, needle);
}
#define BAD(...) bad_(__VA_ARGS__, (char *)NULL)

static void test_args_bad(void **state)
{
    (void)state;
    BAD("no command");
    BAD("unknown command 'generate'", "generate");
    BAD("needs --out", "gen", "--users", "10");
    BAD("needs --url", "digest");
    BAD("not '-5'", "gen", "--users", "-5", "--out", "sqlite:x");
    BAD("not 'abc'", "gen", "--users", "abc", "--out", "sqlite:x");
    BAD("not '12x'", "gen", "--users", "12x", "--out", "sqlite:x");
    BAD("not ''", "gen", "--users", "", "--out", "sqlite:x");
    BAD("too large", "gen", "--users", "10000001", "--out", "sqlite:x");
    BAD("too large", "gen", "--users", "99999999999999999999999", "--out", "sqlite:x");
    BAD("too large", "gen", "--seed", "18446744073709551616", "--out", "sqlite:x");
    BAD("not '-1'", "gen", "--seed", "-1", "--out", "sqlite:x");
    BAD("unknown option '--foo'", "gen", "--foo", "--out=sqlite:x");
    BAD("unknown option '--url'", "gen", "--url=sqlite:x");
    BAD("unknown option '--out'", "digest", "--out=sqlite:x");
    BAD("needs a value", "gen", "--out", "sqlite:x", "--users");
    BAD("given twice", "gen", "--out=sqlite:x", "--users=1", "--users=2");
    BAD("needs a store URL", "gen", "--out=");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_seed_same_digest),
        cmocka_unit_test(test_engines_agree),
        cmocka_unit_test(test_every_table_and_column_filled),
        cmocka_unit_test(test_awkward_cases_present),
        cmocka_unit_test(test_zero_users),
        cmocka_unit_test(test_digest_counts_an_absent_own_table_as_empty),
        cmocka_unit_test(test_refuses_a_store_with_rows),
        cmocka_unit_test(test_refuses_a_store_with_some_tables),
        cmocka_unit_test(test_refuses_bad_user_counts),
        cmocka_unit_test(test_digest_of_a_store_without_legacy_tables),
        cmocka_unit_test(test_args_good),
        cmocka_unit_test(test_args_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
