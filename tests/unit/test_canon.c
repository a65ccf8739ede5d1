/* test_canon.c: the canonical row encoding, its hasher and table digests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_canon.h"
#include "ts_test.h"

/* The encoding of n values, malloc'd; its length in *len. */
static char *enc(const ts_value *v, const ts_coltype *types, int n, size_t *len)
{
    ts_buf b = {0};
    ts_canon_row(&b, v, types, n);
    assert_false(b.oom);
    *len = b.len;
    return ts_buf_take(&b);
}

static int same_encoding(const ts_value *a, int na, const ts_value *b, int nb)
{
    size_t la, lb;
    char *ea = enc(a, NULL, na, &la), *eb = enc(b, NULL, nb, &lb);
    int same = la == lb && memcmp(ea, eb, la) == 0;
    free(ea);
    free(eb);
    return same;
}

static int same_value(ts_value a, ts_value b)
{
    return same_encoding(&a, 1, &b, 1);
}

/* The same value read from two columns of a declared type. */
static int same_as(ts_coltype t, ts_value a, ts_value b)
{
    size_t la, lb;
    char *ea = enc(&a, &t, 1, &la), *eb = enc(&b, &t, 1, &lb);
    int same = la == lb && memcmp(ea, eb, la) == 0;
    free(ea);
    free(eb);
    return same;
}

/* The documented format, byte for byte. */
static void test_golden_bytes(void **state)
{
    (void)state;
    ts_value v[] = {ts_null(), ts_bool(1), ts_int(-2), ts_text("ab"), ts_double(1.0),
                    ts_time("2024-01-02 03:04:05+00"), ts_blob("\x00\xff", 2)};
    static const char want[] =
        "R\0\0\0\0\0\0\0\x07"
        "N"
        "B\x01"
        "I\xff\xff\xff\xff\xff\xff\xff\xfe"
        "S\0\0\0\0\0\0\0\x02" "ab"
        "D\x3f\xf0\0\0\0\0\0\0"
        "T\0\0\0\0\0\0\0\x14" "2024-01-02T03:04:05Z"
        "X\0\0\0\0\0\0\0\x02" "\x00\xff";
    size_t len;
    char *e = enc(v, NULL, 7, &len);
    assert_int_equal(len, sizeof want - 1);
    assert_memory_equal(e, want, len);
    free(e);
}

static void test_null_empty_text_zero_false_differ(void **state)
{
    (void)state;
    ts_value v[] = {ts_null(), ts_text(""), ts_text("NULL"), ts_int(0), ts_bool(0),
                    ts_double(0.0), ts_blob("", 0), ts_text("0"), ts_text("false")};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        for (size_t j = 0; j < sizeof v / sizeof v[0]; j++)
            if (i != j && same_value(v[i], v[j]))
                fail_msg("values %zu and %zu encode alike", i, j);
}

static void test_int_differs_from_its_digits(void **state)
{
    (void)state;
    assert_false(same_value(ts_int(12), ts_text("12")));
    assert_false(same_value(ts_int(1), ts_bool(1)));
    assert_false(same_value(ts_int(1), ts_double(1.0)));
    assert_false(same_value(ts_time("2024-01-02T03:04:05Z"), ts_text("2024-01-02T03:04:05Z")));
    assert_true(same_value(ts_int(INT64_MIN), ts_int(INT64_MIN)));
    assert_false(same_value(ts_int(INT64_MIN), ts_int(INT64_MAX)));
}

static void test_no_concatenation_ambiguity(void **state)
{
    (void)state;
    ts_value a[] = {ts_text("ab"), ts_text("c")}, b[] = {ts_text("a"), ts_text("bc")};
    ts_value c[] = {ts_text("abc"), ts_null()}, d[] = {ts_text("abc")};
    assert_false(same_encoding(a, 2, b, 2));
    assert_false(same_encoding(c, 2, d, 1));
    assert_false(same_encoding(a, 2, d, 1));
}

/* Row boundaries count too: rows [x] [y z] do not hash like [x y] [z]. */
static void test_row_boundaries(void **state)
{
    (void)state;
    ts_value x[] = {ts_int(1), ts_int(2), ts_int(3)};
    ts_hasher h;
    char h1[TS_DIGEST_HEX], h2[TS_DIGEST_HEX];
    assert_int_equal(ts_hasher_init(&h, NULL), 0);
    assert_int_equal(ts_hasher_row(&h, x, NULL, 1, NULL), 0);
    assert_int_equal(ts_hasher_row(&h, x + 1, NULL, 2, NULL), 0);
    assert_int_equal(ts_hasher_final(&h, h1, NULL), 0);
    assert_int_equal(ts_hasher_init(&h, NULL), 0);
    assert_int_equal(ts_hasher_row(&h, x, NULL, 2, NULL), 0);
    assert_int_equal(ts_hasher_row(&h, x + 2, NULL, 1, NULL), 0);
    assert_int_equal(ts_hasher_final(&h, h2, NULL), 0);
    assert_string_not_equal(h1, h2);
}

static void test_doubles(void **state)
{
    (void)state;
    assert_true(same_value(ts_double(-0.0), ts_double(0.0)));
    assert_true(same_value(ts_double(NAN), ts_double(-NAN)));
    assert_false(same_value(ts_double(0.1), ts_double(nextafter(0.1, 1.0))));
    assert_false(same_value(ts_double(INFINITY), ts_double(-INFINITY)));
    assert_true(same_value(ts_double(1e-300), ts_double(1e-300)));
}

/* What engines hand back differently folds together under the declared type. */
static void test_declared_types_fold_engine_differences(void **state)
{
    (void)state;
    /* SQLite REAL written as integer by another tool comes back as an integer */
    assert_true(same_as(TS_COL_DOUBLE, ts_int(42), ts_double(42.0)));
    assert_true(same_as(TS_COL_DOUBLE, ts_int(-3), ts_double(-3.0)));
    /* an integral double in an integer column is that integer ... */
    assert_true(same_as(TS_COL_INT, ts_double(5.0), ts_int(5)));
    assert_true(same_as(TS_COL_ID, ts_double(-9223372036854775808.0), ts_int(INT64_MIN)));
    /* ... but not a fraction, nor 2^63, which no int64 holds */
    assert_false(same_as(TS_COL_INT, ts_double(5.5), ts_int(5)));
    ts_value two63 = ts_double(9223372036854775808.0);
    assert_int_equal(ts_canon_coerce(&two63, TS_COL_INT).type, TS_DOUBLE);
    /* booleans stored as integers, any nonzero true */
    assert_true(same_as(TS_COL_BOOL, ts_int(1), ts_bool(1)));
    assert_true(same_as(TS_COL_BOOL, ts_int(2), ts_bool(1)));
    assert_true(same_as(TS_COL_BOOL, ts_int(0), ts_bool(0)));
    /* a driver that set type BOOL on a raw 2 still encodes true */
    ts_value raw2 = ts_bool(1);
    raw2.i = 2;
    assert_true(same_value(raw2, ts_bool(1)));
    /* legacy timestamp text, PostgreSQL's and canonical forms of one instant */
    assert_true(same_as(TS_COL_TIME, ts_text("2024-01-02 03:04:05.500000"),
                        ts_time("2024-01-02T03:04:05.5Z")));
    assert_true(same_as(TS_COL_TIME, ts_time("2024-01-02 06:34:05+03:30"),
                        ts_time("2024-01-02T03:04:05Z")));
    assert_false(same_as(TS_COL_TIME, ts_time("2024-01-02T03:04:05Z"),
                         ts_time("2024-01-02T03:04:06Z")));
    /* text that is no timestamp is hashed as it is, still apart from NULL and '' */
    assert_false(same_as(TS_COL_TIME, ts_text("never"), ts_null()));
    assert_false(same_as(TS_COL_TIME, ts_text(""), ts_null()));
    /* a BLOB SQLite kept in a TEXT column is the text of its bytes, no more */
    assert_true(same_as(TS_COL_TEXT, ts_blob("abc", 3), ts_text("abc")));
    assert_false(same_as(TS_COL_TEXT, ts_blob("abd", 3), ts_text("abc")));
    /* NULL stays NULL whatever the column */
    assert_true(same_as(TS_COL_INT, ts_null(), ts_null()));
    assert_false(same_as(TS_COL_TEXT, ts_null(), ts_text("")));
}

/* What a catalog names: timestamps without a time zone as SQLite's text and
   PostgreSQL's value, NUMERIC as SQLite keeps it, JSON as a value. */
static void test_catalog_types_compare_by_value(void **state)
{
    (void)state;
    assert_true(same_as(TS_COL_TIMESTAMP, ts_text("2024-01-02 03:04:05.000000"),
                        ts_time("2024-01-02T03:04:05Z")));
    assert_false(same_as(TS_COL_TIMESTAMP, ts_text("2024-01-02 03:04:05"),
                         ts_time("2024-01-02T03:04:06Z")));
    assert_true(same_as(TS_COL_NUMERIC, ts_int(12), ts_double(12.0)));
    assert_false(same_as(TS_COL_NUMERIC, ts_double(12.5), ts_double(12.25)));
    /* key order and whitespace do not count, values and types do */
    assert_true(same_as(TS_COL_JSON, ts_text("{\"b\": [1, 2], \"a\": {\"y\": 1, \"x\": null}}"),
                        ts_text("{\"a\":{\"x\":null,\"y\":1},\"b\":[1,2]}")));
    assert_false(same_as(TS_COL_JSON, ts_text("{\"a\": [1, 2]}"), ts_text("{\"a\": [2, 1]}")));
    assert_false(same_as(TS_COL_JSON, ts_text("{\"a\": 1}"), ts_text("{\"a\": \"1\"}")));
    assert_false(same_as(TS_COL_JSON, ts_text("{\"a\": 1}"), ts_text("{\"a\": 1, \"b\": 2}")));
    /* text that is no JSON is compared as it is, never equal to what it is not */
    assert_true(same_as(TS_COL_JSON, ts_text("{oops"), ts_text("{oops")));
    assert_false(same_as(TS_COL_JSON, ts_text("{oops"), ts_text("{oops ")));
    assert_false(same_as(TS_COL_JSON, ts_text("null"), ts_null()));
    /* only in a JSON column */
    assert_false(same_as(TS_COL_TEXT, ts_text("{\"a\": 1}"), ts_text("{\"a\":1}")));
}

static void test_hasher_is_sha256_of_the_encodings(void **state)
{
    (void)state;
    ts_value rows[3][2] = {
        {ts_int(1), ts_text("a")}, {ts_int(2), ts_null()}, {ts_int(3), ts_text("ج")},
    };
    ts_buf all = {0};
    ts_hasher h;
    char hex[TS_DIGEST_HEX], want[TS_DIGEST_HEX];
    unsigned char md[32];
    unsigned int mdlen;

    assert_int_equal(ts_hasher_init(&h, NULL), 0);
    assert_int_equal(ts_hasher_final(&h, hex, NULL), 0);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

    assert_int_equal(ts_hasher_init(&h, NULL), 0);
    for (int i = 0; i < 3; i++) {
        ts_canon_row(&all, rows[i], NULL, 2);
        assert_int_equal(ts_hasher_row(&h, rows[i], NULL, 2, NULL), 0);
    }
    assert_int_equal(h.rows, 3);
    assert_int_equal(ts_hasher_final(&h, hex, NULL), 0);
    assert_int_equal(EVP_Digest(all.s, all.len, md, &mdlen, EVP_sha256(), NULL), 1);
    for (unsigned i = 0; i < mdlen; i++)
        snprintf(want + 2 * i, 3, "%02x", md[i]);
    assert_string_equal(hex, want);
    ts_buf_free(&all);
    ts_hasher_free(&h); /* a second free of a finished hasher is harmless */
}

/* ---- table digests on real stores ------------------------------------------ */

/* A key/value table with a text primary key (the real system_settings is
   keyed by a generated id). */
static const ts_column kv_cols[] = {{"key", TS_COL_TEXT, 1}, {"value", TS_COL_TEXT}};
static const ts_table kv_table = {"kv_settings", kv_cols, 2, "key"};

static const ts_table *settings(void)
{
    return &kv_table;
}

/* Insert key/value pairs into kv_settings in the order given. */
static void put_settings(ts_store *s, const char *const (*kv)[2], int n)
{
    char qt[TS_QNAME_MAX], sql[TS_QNAME_MAX + 64];
    ts_error err;
    assert_int_equal(ts_store_table(s, "kv_settings", qt, &err), 0);
    snprintf(sql, sizeof sql, "INSERT INTO %s (\"key\", value) VALUES ($1, $2)", qt);
    for (int i = 0; i < n; i++) {
        ts_value p[] = {ts_text(kv[i][0]), ts_text(kv[i][1])};
        if (ts_store_exec(s, sql, p, 2, NULL, &err))
            fail_msg("%s", err.msg);
    }
}

/*
 * On PostgreSQL, give the key column a linguistic collation when the server has
 * ICU ('B' sorts after 'a' there), so only the digest's COLLATE "C" keeps the
 * order SQLite has.
 */
static void linguistic_keys(ts_store *s)
{
    char qt[TS_QNAME_MAX], sql[TS_QNAME_MAX + 96];
    int64_t icu;
    ts_error err;
    if (ts_store_engine(s) != TS_ENGINE_PG ||
        ts_store_query_int(s, "SELECT 1 FROM pg_collation WHERE collname = 'und-x-icu'", NULL,
                           0, &icu, &err) != 1)
        return;
    assert_int_equal(ts_store_table(s, "kv_settings", qt, &err), 0);
    snprintf(sql, sizeof sql,
             "ALTER TABLE %s ALTER COLUMN \"key\" TYPE text COLLATE \"und-x-icu\"", qt);
    if (ts_store_exec(s, sql, NULL, 0, NULL, &err))
        fail_msg("%s", err.msg);
}

static void digest_of(const char *url, const char *const (*kv)[2], int n, ts_digest *d)
{
    ts_store *s;
    ts_error err;
    char qt[TS_QNAME_MAX], sql[TS_QNAME_MAX + 64];
    if (ts_store_open(url, &s, &err) || ts_store_table(s, "kv_settings", qt, &err))
        fail_msg("%s", err.msg);
    snprintf(sql, sizeof sql, "CREATE TABLE %s (\"key\" TEXT PRIMARY KEY, value TEXT)", qt);
    if (ts_store_script(s, sql, &err))
        fail_msg("%s", err.msg);
    linguistic_keys(s);
    put_settings(s, kv, n);
    if (ts_canon_table_digest(s, settings(), d, &err))
        fail_msg("%s", err.msg);
    ts_store_close(s);
}

/*
 * Keys whose byte order differs from a linguistic collation ('B' < 'a' < '_'
 * in bytes; é after z): every engine must list them alike, in any insert order.
 */
static const char *const kv_a[][2] = {
    {"a", "1"}, {"B", NULL}, {"_x", ""}, {"é", "NULL"}, {"z", "ژ"}, {"a b", "x"},
};
static const char *const kv_b[][2] = {
    {"z", "ژ"}, {"é", "NULL"}, {"a b", "x"}, {"_x", ""}, {"B", NULL}, {"a", "1"},
};
static const char *const kv_changed[][2] = {
    {"a", "1"}, {"B", ""}, {"_x", ""}, {"é", "NULL"}, {"z", "ژ"}, {"a b", "x"},
};

static void test_table_digest_order_and_engines(void **state)
{
    (void)state;
    ts_test_target t[TS_TEST_MAX_ENGINES];
    ts_digest first = {0};
    int n = ts_test_store_urls(t);

    for (int e = 0; e < n; e++) {
        ts_test_target u;
        ts_digest d1, d2, d3;
        digest_of(t[e].url, kv_a, 6, &d1);
        assert_int_equal(ts_test_store_url(t[e].engine, &u), 0);
        digest_of(u.url, kv_b, 6, &d2);
        ts_test_target_cleanup(&u);
        assert_int_equal(ts_test_store_url(t[e].engine, &u), 0);
        digest_of(u.url, kv_changed, 6, &d3);
        ts_test_target_cleanup(&u);

        assert_int_equal(d1.rows, 6);
        assert_string_equal(d1.hex, d2.hex);      /* insert order does not matter */
        assert_string_not_equal(d1.hex, d3.hex);  /* NULL -> '' does */
        if (e == 0)
            first = d1;
        else
            assert_string_equal(first.hex, d1.hex); /* PostgreSQL digests like SQLite */
        ts_test_target_cleanup(&t[e]);
    }
}

static void test_empty_table_and_time_key(void **state)
{
    (void)state;
    static const ts_column cols[] = {{"at", TS_COL_TIME, 1}, {"v", TS_COL_TEXT}};
    static const ts_table timed = {"timed", cols, 2, "at", NULL, NULL, 0, 0};
    ts_test_target t;
    ts_store *s;
    ts_digest d;
    ts_error err;

    assert_int_equal(ts_test_store_url(TS_ENGINE_SQLITE, &t), 0);
    if (ts_store_open(t.url, &s, &err) || ts_schema_apply(s, ts_schema_legacy(), &err))
        fail_msg("%s", err.msg);
    assert_int_equal(ts_canon_table_digest(s, ts_schema_table(ts_schema_legacy(), "system_settings"),
                                           &d, &err), 0);
    assert_int_equal(d.rows, 0);
    assert_string_equal(d.hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

    assert_int_equal(ts_canon_table_digest(s, &timed, &d, &err), -1);
    assert_int_equal(err.code, TS_E_INVALID);
    assert_non_null(strstr(err.msg, "timestamp"));

    /* a table that is not there: the engine's error, with the table named */
    static const ts_table missing = {"no_such_table", cols + 1, 1, "v", NULL, NULL, 0, 0};
    assert_int_equal(ts_canon_table_digest(s, &missing, &d, &err), -1);
    assert_non_null(strstr(err.msg, "no_such_table"));
    ts_store_close(s);
    ts_test_target_cleanup(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_bytes),
        cmocka_unit_test(test_null_empty_text_zero_false_differ),
        cmocka_unit_test(test_int_differs_from_its_digits),
        cmocka_unit_test(test_no_concatenation_ambiguity),
        cmocka_unit_test(test_row_boundaries),
        cmocka_unit_test(test_doubles),
        cmocka_unit_test(test_declared_types_fold_engine_differences),
        cmocka_unit_test(test_catalog_types_compare_by_value),
        cmocka_unit_test(test_hasher_is_sha256_of_the_encodings),
        cmocka_unit_test(test_table_digest_order_and_engines),
        cmocka_unit_test(test_empty_table_and_time_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
