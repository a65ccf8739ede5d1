/*
 * test_store.c: the store interface, each test on SQLite and on PostgreSQL.
 *
 * Every test gets a fresh store: a new SQLite file, or a new PostgreSQL schema
 * on the server in TS_TEST_PG_URL (see ts_test.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "ts_store.h"
#include "ts_test.h"

typedef struct fixture {
    ts_test_target t;
    ts_store *s;
    ts_error err;
} fixture;

/* Fail with the store's error message, which says more than "-1 != 0". */
#define OK(f, call)                                                                       \
    do {                                                                                  \
        if ((call) != 0)                                                                  \
            fail_msg("%s: %s failed: %s", ts_store_engine_name((f)->s), #call, (f)->err.msg); \
    } while (0)

/* The test's fixture; skips the test when its engine is not available. */
static fixture *fx(void **state)
{
    fixture *f = *state;
    if (f->s == NULL)
        skip();
    return f;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ts_store_close(f->s);
    ts_test_target_cleanup(&f->t);
    free(f);
    return 0;
}

static int is_pg(const fixture *f) { return f->t.engine == TS_ENGINE_PG; }

/* Portable DDL: the two engines spell timestamp and blob columns differently. */
static const char *time_type(const fixture *f) { return is_pg(f) ? "TIMESTAMPTZ" : "TIMESTAMP"; }
static const char *blob_type(const fixture *f) { return is_pg(f) ? "BYTEA" : "BLOB"; }

static int64_t count(fixture *f, const char *sql)
{
    int64_t n = -1;
    if (ts_store_query_int(f->s, sql, NULL, 0, &n, &f->err) != 1)
        fail_msg("%s: %s: %s", ts_store_engine_name(f->s), sql, f->err.msg);
    return n;
}

/* ---- values ---- */

enum { C_ID, C_I, C_D, C_T, C_B, C_TS, C_BL, NCOLS };
static const char *const COLS[NCOLS] = {"id", "i", "d", "t", "b", "ts", "bl"};
static const ts_type TYPES[NCOLS] = {TS_INT, TS_INT, TS_DOUBLE, TS_TEXT, TS_BOOL, TS_TIME, TS_BLOB};

#define MAX_SAMPLES 16

typedef struct sample {
    ts_value v[NCOLS];     /* as written */
    const char *ts_back;   /* how ts reads back when not as written */
} sample;

static unsigned char all_bytes[256];
static const char nul_bytes[] = {'a', 0, 'b', 0, 0, (char)0xff};

static ts_value txt(const char *s) { return ts_text(s); }

/* Values that break naive code: limits, NUL bytes, escapes, unicode, zones. */
static int samples(const fixture *f, sample *out)
{
    int n = 0;
    sample *s;

    for (int i = 0; i < 256; i++)
        all_bytes[i] = (unsigned char)i;
#define ADD(i, d, t, b, ts, bl, back)                                          \
    (s = &out[n], s->v[C_ID] = ts_int(n + 1), s->v[C_I] = (i), s->v[C_D] = (d), \
     s->v[C_T] = (t), s->v[C_B] = (b), s->v[C_TS] = (ts), s->v[C_BL] = (bl), s->ts_back = (back), n++)
    ADD(ts_null(), ts_null(), ts_null(), ts_null(), ts_null(), ts_null(), NULL);
    ADD(ts_int(0), ts_double(0.0), txt(""), ts_bool(0), ts_time("1970-01-01T00:00:00Z"),
        ts_blob("", 0), NULL);
    ADD(ts_int(INT64_MAX), ts_double(0.1),
        txt("\xd8\xb3\xd9\x84\xd8\xa7\xd9\x85 \xe2\x80\x8f\xd8\xaf\xd9\x86\xdb\x8c\xd8\xa7\xe2\x80\x8e "
            "\xf0\x9f\x91\x8b\xf0\x9f\x8f\xbd \xe6\x97\xa5\xe6\x9c\xac \xc3\xb1"),
        ts_bool(1), ts_time("9999-12-31T23:59:59.999999Z"), ts_blob(nul_bytes, sizeof nul_bytes),
        NULL);
    ADD(ts_int(INT64_MIN), ts_double(1e308), txt("'; DROP TABLE x; --"), ts_bool(1),
        ts_time("2024-02-29T12:34:56.5Z"), ts_blob(all_bytes, sizeof all_bytes), NULL);
    ADD(ts_int(-1), ts_double(-1e-308), txt("back\\slash \\N \\\\ \\t \\x41"), ts_bool(0),
        ts_time("2024-01-01T03:00:00+03:00"), ts_blob("\\x41", 4), "2024-01-01T00:00:00Z");
    ADD(ts_int(42), ts_double(4.9406564584124654e-324), txt("tab\there\nnew line\r\ncrlf"),
        ts_bool(1), ts_time("1999-12-31 23:59:59.000001"), ts_blob("\0", 1),
        "1999-12-31T23:59:59.000001Z");
    ADD(ts_int(7), ts_double(DBL_MAX), txt("\"double\" 'single' `back` $1 %s %n ? :x"),
        ts_bool(0), ts_time("2000-01-01T00:00:00.123Z"), ts_null(), NULL);
    /* -0.0: SQLite keeps integral reals as integers, so only the value survives, not the sign. */
    ADD(ts_int(8), ts_double(-0.0), ts_null(), ts_null(), ts_null(), ts_blob("\\N", 2), NULL);
    ADD(ts_int(9), ts_double(INFINITY), txt("\\"), ts_bool(1), ts_time("0001-01-01T00:00:00Z"),
        ts_blob("\t\n\r\\", 4), NULL);
    /* PostgreSQL's infinite timestamps read and write as the words it prints. */
    ADD(ts_int(10), ts_double(-INFINITY), txt("NULL"), ts_bool(0), ts_time("infinity"), ts_null(),
        NULL);
    ADD(ts_int(11), ts_double(1.0 / 3.0), txt("\\N"), ts_null(), ts_time("-infinity"), ts_null(),
        NULL);
    ADD(ts_int(12), ts_double(DBL_MIN), txt(" "), ts_null(), ts_null(), ts_null(), NULL);
    /* SQLite stores NaN as NULL; PostgreSQL keeps it. */
    if (is_pg(f))
        ADD(ts_int(13), ts_double(NAN), ts_null(), ts_null(), ts_null(), ts_null(), NULL);
#undef ADD
    return n;
}

static void create_vals(fixture *f, const char *table)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "CREATE TABLE %s (id BIGINT PRIMARY KEY, i BIGINT, d DOUBLE PRECISION, t TEXT, "
             "b BOOLEAN, ts %s, bl %s)", table, time_type(f), blob_type(f));
    OK(f, ts_store_script(f->s, sql, &f->err));
}

static void check_value(const fixture *f, const sample *s, int col, ts_value got)
{
    ts_value want = s->v[col];
    char a[200], b[200];
    const char *engine = ts_store_engine_name(f->s);

    if (col == C_TS && s->ts_back != NULL)
        want = ts_time(s->ts_back);
    if (want.type == TS_NULL) {
        if (got.type != TS_NULL)
            fail_msg("%s: row %" PRId64 " %s: want NULL, got %s", engine, s->v[C_ID].i, COLS[col],
                     ts_value_format(&got, b, sizeof b));
        return;
    }
    if (got.type != TYPES[col])
        fail_msg("%s: row %" PRId64 " %s: want type %d, got %d (%s)", engine, s->v[C_ID].i,
                 COLS[col], TYPES[col], got.type, ts_value_format(&got, b, sizeof b));
    if (want.type == TS_DOUBLE && isnan(want.d)) {
        assert_true(isnan(got.d));
        return;
    }
    if (!ts_value_equal(&want, &got))
        fail_msg("%s: row %" PRId64 " %s: want %s, got %s", engine, s->v[C_ID].i, COLS[col],
                 ts_value_format(&want, a, sizeof a), ts_value_format(&got, b, sizeof b));
}

static void check_vals(fixture *f, const char *table, const sample *smp, int n)
{
    char sql[128];
    ts_rows *r;
    int k = 0, rc;

    snprintf(sql, sizeof sql, "SELECT id, i, d, t, b, ts, bl FROM %s ORDER BY id", table);
    OK(f, ts_store_query(f->s, sql, NULL, 0, &r, &f->err));
    assert_int_equal(ts_rows_ncols(r), NCOLS);
    for (int c = 0; c < NCOLS; c++)
        assert_string_equal(ts_rows_name(r, c), COLS[c]);
    while ((rc = ts_rows_next(r, &f->err)) == 1) {
        assert_true(k < n);
        for (int c = 0; c < NCOLS; c++)
            check_value(f, &smp[k], c, ts_rows_get(r, c));
        k++;
    }
    if (rc < 0)
        fail_msg("%s: reading %s: %s", ts_store_engine_name(f->s), table, f->err.msg);
    ts_rows_close(r);
    assert_int_equal(k, n);
}

/* Every value type written with bound parameters and with the bulk path
   (COPY on PostgreSQL, whose text format needs its own escaping) reads back equal. */
static void test_round_trip(void **state)
{
    fixture *f = fx(state);
    sample smp[MAX_SAMPLES];
    int n = samples(f, smp);
    ts_bulk *b;

    create_vals(f, "vals");
    create_vals(f, "vals_bulk");
    for (int i = 0; i < n; i++)
        OK(f, ts_store_exec(f->s, "INSERT INTO vals (id, i, d, t, b, ts, bl) "
                                  "VALUES ($1, $2, $3, $4, $5, $6, $7)",
                            smp[i].v, NCOLS, NULL, &f->err));
    check_vals(f, "vals", smp, n);

    OK(f, ts_bulk_begin(f->s, "vals_bulk", COLS, NCOLS, &b, &f->err));
    for (int i = 0; i < n; i++)
        OK(f, ts_bulk_add(b, smp[i].v, &f->err));
    OK(f, ts_bulk_finish(b, &f->err));
    check_vals(f, "vals_bulk", smp, n);
}

/* NULL and '' are different values, for text and for blobs. */
static void test_null_vs_empty(void **state)
{
    fixture *f = fx(state);
    sample smp[MAX_SAMPLES];

    create_vals(f, "vals");
    samples(f, smp);
    for (int i = 0; i < 2; i++) /* row 1 all NULL, row 2 empty text and blob */
        OK(f, ts_store_exec(f->s, "INSERT INTO vals (id, i, d, t, b, ts, bl) "
                                  "VALUES ($1, $2, $3, $4, $5, $6, $7)",
                            smp[i].v, NCOLS, NULL, &f->err));
    assert_int_equal(count(f, "SELECT count(*) FROM vals WHERE t IS NULL"), 1);
    assert_int_equal(count(f, "SELECT count(*) FROM vals WHERE t = ''"), 1);
    assert_int_equal(count(f, "SELECT count(*) FROM vals WHERE bl IS NULL"), 1);
    assert_int_equal(count(f, "SELECT count(*) FROM vals WHERE length(bl) = 0"), 1);
}

/* A hostile string is data, never SQL: stored verbatim, the table survives. */
static void test_sql_special_strings(void **state)
{
    fixture *f = fx(state);
    static const char *const evil[] = {
        "'; DROP TABLE x; --", "x'); DROP TABLE x; --", "\\", "\\'", "''", "\"", "$1", "?",
        "%s%s%n", "\\x00", "E'\\n'", "/* c */ --", ";",
    };
    char buf[64];

    OK(f, ts_store_script(f->s, "CREATE TABLE x (id BIGINT PRIMARY KEY, t TEXT)", &f->err));
    for (size_t i = 0; i < sizeof evil / sizeof evil[0]; i++) {
        ts_value p[2] = {ts_int((int64_t)i), ts_text(evil[i])};
        OK(f, ts_store_exec(f->s, "INSERT INTO x (id, t) VALUES ($1, $2)", p, 2, NULL, &f->err));
    }
    for (size_t i = 0; i < sizeof evil / sizeof evil[0]; i++) {
        ts_value p = ts_int((int64_t)i);
        assert_int_equal(ts_store_query_text(f->s, "SELECT t FROM x WHERE id = $1", &p, 1, buf,
                                             sizeof buf, &f->err), 1);
        assert_string_equal(buf, evil[i]);
        p = ts_text(evil[i]);
        assert_int_equal(ts_store_query_text(f->s, "SELECT t FROM x WHERE t = $1", &p, 1, buf,
                                             sizeof buf, &f->err), 1);
    }
    assert_int_equal(count(f, "SELECT count(*) FROM x"), sizeof evil / sizeof evil[0]);
}

/* ---- transactions ---- */

static void insert_id(fixture *f, int64_t id)
{
    ts_value p = ts_int(id);
    OK(f, ts_store_exec(f->s, "INSERT INTO tx (id) VALUES ($1)", &p, 1, NULL, &f->err));
}

static void test_transactions(void **state)
{
    fixture *f = fx(state);

    OK(f, ts_store_script(f->s, "CREATE TABLE tx (id BIGINT PRIMARY KEY)", &f->err));
    assert_false(ts_store_in_txn(f->s));

    OK(f, ts_store_begin(f->s, &f->err));
    assert_true(ts_store_in_txn(f->s));
    assert_int_equal(ts_store_begin(f->s, &f->err), -1); /* no nesting */
    insert_id(f, 1);
    OK(f, ts_store_commit(f->s, &f->err));
    assert_false(ts_store_in_txn(f->s));

    OK(f, ts_store_begin(f->s, &f->err));
    insert_id(f, 2);
    OK(f, ts_store_rollback(f->s, &f->err));
    assert_false(ts_store_in_txn(f->s));
    assert_int_equal(count(f, "SELECT count(*) FROM tx"), 1);

    /* rollback_to undoes the inner work and keeps the outer. */
    OK(f, ts_store_begin(f->s, &f->err));
    insert_id(f, 3);
    OK(f, ts_store_savepoint(f->s, "sp1", &f->err));
    insert_id(f, 4);
    OK(f, ts_store_savepoint(f->s, "sp2", &f->err));
    insert_id(f, 5);
    OK(f, ts_store_release(f->s, "sp2", &f->err));
    OK(f, ts_store_rollback_to(f->s, "sp1", &f->err));
    insert_id(f, 6);
    OK(f, ts_store_release(f->s, "sp1", &f->err));
    OK(f, ts_store_commit(f->s, &f->err));
    assert_int_equal(count(f, "SELECT count(*) FROM tx"), 3);
    assert_int_equal(count(f, "SELECT sum(id) FROM tx"), 1 + 3 + 6);

    assert_int_equal(ts_store_savepoint(f->s, "sp", &f->err), -1); /* outside a transaction */
}

/* A deferred query reads like any other; on PostgreSQL a bad statement
   fails at the first row instead of at the call, and the connection is held
   until the rows are read or closed. */
static void test_query_deferred(void **state)
{
    fixture *f = fx(state);
    ts_rows *r;
    ts_value min = ts_int(2);

    OK(f, ts_store_script(f->s, "CREATE TABLE tx (id BIGINT PRIMARY KEY)", &f->err));
    for (int i = 1; i <= 3; i++)
        insert_id(f, i);
    OK(f, ts_store_query_deferred(f->s, "SELECT id FROM tx WHERE id >= $1 ORDER BY id", &min, 1,
                                  &r, &f->err));
    if (is_pg(f)) { /* held: a second statement is refused, not interleaved */
        int64_t n;
        assert_int_equal(ts_store_query_int(f->s, "SELECT 1", NULL, 0, &n, &f->err), -1);
        assert_int_equal(f->err.code, TS_E_STATE);
    }
    int64_t want = 2;
    while (ts_rows_next(r, &f->err) == 1)
        assert_int_equal(ts_rows_get(r, 0).i, want++);
    assert_int_equal(want, 4);
    assert_string_equal(ts_rows_name(r, 0), "id");
    ts_rows_close(r);

    int rc = ts_store_query_deferred(f->s, "SELECT nosuch FROM tx", NULL, 0, &r, &f->err);
    if (rc == 0) {
        assert_true(is_pg(f));
        assert_int_equal(ts_rows_next(r, &f->err), -1);
        assert_int_equal(ts_rows_next(r, &f->err), 0);
        ts_rows_close(r);
    }
    assert_int_equal(f->err.code, TS_E_STORE);
    assert_non_null(strstr(f->err.msg, "nosuch"));
    assert_int_equal(count(f, "SELECT count(*) FROM tx"), 3); /* the connection is free again */
}

/* The last statement and COMMIT together: committed as one; when either
   fails nothing of the transaction stays, it is over, and the store works. */
static void test_exec_commit(void **state)
{
    fixture *f = fx(state);
    ts_value two = ts_int(2), dup = ts_int(1), orphan[2] = {ts_int(10), ts_int(999)};
    const char *ins = "INSERT INTO tx (id) VALUES ($1)";

    OK(f, ts_store_script(f->s, "CREATE TABLE tx (id BIGINT PRIMARY KEY, ref BIGINT "
                          "REFERENCES tx (id) DEFERRABLE INITIALLY DEFERRED)", &f->err));
    assert_int_equal(ts_store_exec_commit(f->s, ins, &two, 1, &f->err), -1); /* no transaction */

    OK(f, ts_store_begin(f->s, &f->err));
    insert_id(f, 1);
    OK(f, ts_store_exec_commit(f->s, ins, &two, 1, &f->err));
    assert_false(ts_store_in_txn(f->s));
    assert_int_equal(count(f, "SELECT count(*) FROM tx"), 2);

    /* The statement fails: the earlier insert goes too. */
    OK(f, ts_store_begin(f->s, &f->err));
    insert_id(f, 3);
    assert_int_equal(ts_store_exec_commit(f->s, ins, &dup, 1, &f->err), -1);
    assert_int_equal(f->err.code, TS_E_CONSTRAINT);
    assert_false(ts_store_in_txn(f->s));
    assert_int_equal(count(f, "SELECT count(*) FROM tx WHERE id = 3"), 0);

    /* COMMIT fails (a deferred foreign key): nothing stays either. */
    OK(f, ts_store_begin(f->s, &f->err));
    insert_id(f, 4);
    assert_int_equal(ts_store_exec_commit(f->s, "INSERT INTO tx (id, ref) VALUES ($1, $2)",
                                          orphan, 2, &f->err), -1);
    assert_false(ts_store_in_txn(f->s));
    assert_int_equal(count(f, "SELECT count(*) FROM tx"), 2);

    /* And the connection is ready for the next transaction. */
    OK(f, ts_store_begin(f->s, &f->err));
    insert_id(f, 5);
    ts_value six = ts_int(6);
    OK(f, ts_store_exec_commit(f->s, ins, &six, 1, &f->err));
    assert_int_equal(count(f, "SELECT count(*) FROM tx"), 4);
}

/* A duplicate key is TS_E_CONSTRAINT with the engine's code; a savepoint
   around the failed statement saves the rest of the transaction. */
static void test_unique_violation(void **state)
{
    fixture *f = fx(state);
    ts_value p[2] = {ts_int(2), ts_text("a")};

    OK(f, ts_store_script(f->s, "CREATE TABLE u (id BIGINT PRIMARY KEY, k TEXT UNIQUE)", &f->err));
    p[0] = ts_int(1);
    OK(f, ts_store_exec(f->s, "INSERT INTO u (id, k) VALUES ($1, $2)", p, 2, NULL, &f->err));
    p[0] = ts_int(2);
    assert_int_equal(ts_store_exec(f->s, "INSERT INTO u (id, k) VALUES ($1, $2)", p, 2, NULL,
                                   &f->err), -1);
    assert_int_equal(f->err.code, TS_E_CONSTRAINT);
    assert_false(ts_error_retryable(&f->err));
    if (is_pg(f)) {
        assert_string_equal(f->err.sqlstate, "23505");
        assert_non_null(strstr(f->err.msg, "INSERT INTO u")); /* says which statement */
    } else {
        assert_int_equal(f->err.engine_code, SQLITE_CONSTRAINT_UNIQUE);
    }

    OK(f, ts_store_begin(f->s, &f->err));
    p[0] = ts_int(3);
    p[1] = ts_text("b");
    OK(f, ts_store_exec(f->s, "INSERT INTO u (id, k) VALUES ($1, $2)", p, 2, NULL, &f->err));
    OK(f, ts_store_savepoint(f->s, "dup", &f->err));
    p[0] = ts_int(4);
    assert_int_equal(ts_store_exec(f->s, "INSERT INTO u (id, k) VALUES ($1, $2)", p, 2, NULL,
                                   &f->err), -1);
    assert_int_equal(f->err.code, TS_E_CONSTRAINT);
    OK(f, ts_store_rollback_to(f->s, "dup", &f->err));
    OK(f, ts_store_commit(f->s, &f->err));
    assert_int_equal(count(f, "SELECT count(*) FROM u"), 2);
}

/* ---- bulk load and iteration ---- */

#define BIG 10000

static void big_row(int i, char *text, size_t n, ts_value row[4])
{
    snprintf(text, n, "row %d\twith\\escapes\nand a newline", i);
    row[0] = ts_int(i + 1);
    row[1] = ts_int(i % 7);
    row[2] = ts_text(text);
    row[3] = ts_double(i * 0.5);
}

static void load_big(fixture *f)
{
    static const char *const cols[] = {"id", "grp", "t", "d"};
    char text[64];
    ts_value row[4];
    ts_bulk *b;

    OK(f, ts_store_script(f->s,
                          "CREATE TABLE big (id BIGINT PRIMARY KEY, grp BIGINT NOT NULL, t TEXT, "
                          "d DOUBLE PRECISION)", &f->err));
    OK(f, ts_bulk_begin(f->s, "big", cols, 4, &b, &f->err));
    for (int i = 0; i < BIG; i++) {
        big_row(i, text, sizeof text, row);
        OK(f, ts_bulk_add(b, row, &f->err));
    }
    OK(f, ts_bulk_finish(b, &f->err));
    assert_false(ts_store_in_txn(f->s)); /* bulk committed its own transaction */
}

static void test_bulk_load(void **state)
{
    fixture *f = fx(state);
    int64_t grp = 0, len = 0;
    char text[64];
    ts_value row[4];

    load_big(f);
    for (int i = 0; i < BIG; i++) {
        big_row(i, text, sizeof text, row);
        grp += row[1].i;
        len += (int64_t)row[2].len;
    }
    assert_int_equal(count(f, "SELECT count(*) FROM big"), BIG);
    assert_int_equal(count(f, "SELECT sum(id) FROM big"), (int64_t)BIG * (BIG + 1) / 2);
    assert_int_equal(count(f, "SELECT sum(grp) FROM big"), grp);
    assert_int_equal(count(f, "SELECT sum(length(t)) FROM big"), len);
    /* Halves add up exactly in binary floating point. */
    assert_int_equal(count(f, "SELECT CAST(sum(d) * 2 AS BIGINT) FROM big"),
                     (int64_t)BIG * (BIG - 1) / 2);
}

/* Inside the caller's transaction the load is undone by its rollback; a
   duplicate key fails the load (at add or at finish) and leaves nothing. */
static void test_bulk_txn_and_failure(void **state)
{
    fixture *f = fx(state);
    static const char *const cols[] = {"id"};
    ts_value row = ts_int(1);
    ts_bulk *b;
    int rc;

    OK(f, ts_store_script(f->s, "CREATE TABLE tx (id BIGINT PRIMARY KEY)", &f->err));
    OK(f, ts_store_begin(f->s, &f->err));
    OK(f, ts_bulk_begin(f->s, "tx", cols, 1, &b, &f->err));
    OK(f, ts_bulk_add(b, &row, &f->err));
    OK(f, ts_bulk_finish(b, &f->err));
    assert_true(ts_store_in_txn(f->s));
    OK(f, ts_store_rollback(f->s, &f->err));
    assert_int_equal(count(f, "SELECT count(*) FROM tx"), 0);

    OK(f, ts_bulk_begin(f->s, "tx", cols, 1, &b, &f->err));
    OK(f, ts_bulk_add(b, &row, &f->err));
    rc = ts_bulk_add(b, &row, &f->err);
    if (rc == 0)
        rc = ts_bulk_finish(b, &f->err);
    else
        ts_bulk_abort(b);
    assert_int_equal(rc, -1);
    assert_int_equal(f->err.code, TS_E_CONSTRAINT);
    assert_false(ts_store_in_txn(f->s));
    assert_int_equal(count(f, "SELECT count(*) FROM tx"), 0);

    /* Aborted on purpose: nothing lands, the store stays usable. */
    OK(f, ts_bulk_begin(f->s, "tx", cols, 1, &b, &f->err));
    OK(f, ts_bulk_add(b, &row, &f->err));
    ts_bulk_abort(b);
    assert_int_equal(count(f, "SELECT count(*) FROM tx"), 0);
}

/* A temporary table of the connection: created and loaded by its quoted name,
   not in the store's schema, gone with the connection. */
static void test_bulk_temp(void **state)
{
    fixture *f = fx(state);
    static const char *const cols[] = {"id", "t"};
    char qt[TS_QNAME_MAX], sql[TS_QNAME_MAX + 96];
    ts_value row[2] = {ts_int(1), ts_text("tab\there")};
    ts_bulk *b;
    int exists;

    OK(f, ts_store_temp_table(f->s, "stage", qt, &f->err));
    assert_string_equal(qt, ts_store_engine(f->s) == TS_ENGINE_PG ? "\"pg_temp\".\"stage\""
                                                                    : "\"temp\".\"stage\"");
    assert_int_equal(ts_store_temp_table(f->s, "bad name", qt, &f->err), -1);
    OK(f, ts_store_temp_table(f->s, "stage", qt, &f->err));
    snprintf(sql, sizeof sql, "CREATE TEMP TABLE %s (id BIGINT, t TEXT)", qt);
    OK(f, ts_store_exec(f->s, sql, NULL, 0, NULL, &f->err));
    OK(f, ts_store_begin(f->s, &f->err));
    OK(f, ts_bulk_begin_temp(f->s, "stage", cols, 2, &b, &f->err));
    OK(f, ts_bulk_add(b, row, &f->err));
    row[0] = ts_int(2);
    OK(f, ts_bulk_add(b, row, &f->err));
    OK(f, ts_bulk_finish(b, &f->err));
    OK(f, ts_store_commit(f->s, &f->err));
    snprintf(sql, sizeof sql, "SELECT sum(id) FROM %s WHERE t = 'tab\there'", qt);
    assert_int_equal(count(f, sql), 3);
    OK(f, ts_store_table_exists(f->s, "stage", &exists, &f->err));
    assert_false(exists);
    /* Another connection to the same store does not see it. */
    ts_store *other;
    OK(f, ts_store_open(f->t.url, &other, &f->err));
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", qt);
    int64_t n;
    assert_int_equal(ts_store_query_int(other, sql, NULL, 0, &n, &f->err), -1);
    ts_store_close(other);
}

static void test_iterate(void **state)
{
    fixture *f = fx(state);
    char text[64];
    ts_value want[4];
    ts_rows *r;
    int n = 0, rc;

    load_big(f);
    OK(f, ts_store_query(f->s, "SELECT id, grp, t, d FROM big ORDER BY id", NULL, 0, &r, &f->err));
    while ((rc = ts_rows_next(r, &f->err)) == 1) {
        big_row(n, text, sizeof text, want);
        for (int c = 0; c < 4; c++) {
            ts_value got = ts_rows_get(r, c);
            if (!ts_value_equal(&want[c], &got))
                fail_msg("%s: row %d column %d differs", ts_store_engine_name(f->s), n, c);
        }
        n++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(ts_rows_next(r, &f->err), 0); /* stays at the end */
    ts_rows_close(r);
    assert_int_equal(n, BIG);

    /* Stop early: closing frees the connection for the next statement. */
    OK(f, ts_store_query(f->s, "SELECT id FROM big ORDER BY id", NULL, 0, &r, &f->err));
    assert_int_equal(ts_rows_next(r, &f->err), 1);
    assert_int_equal(ts_rows_get(r, 0).i, 1);
    if (is_pg(f)) {
        /* Single-row mode: the connection is busy until the result is closed. */
        assert_int_equal(ts_store_exec(f->s, "SELECT 1", NULL, 0, NULL, &f->err), -1);
        assert_non_null(strstr(f->err.msg, "close"));
    }
    ts_rows_close(r);
    assert_int_equal(count(f, "SELECT count(*) FROM big WHERE grp = 3"), 1429);

    /* An empty result holds the connection the same way until read to its end. */
    OK(f, ts_store_query(f->s, "SELECT id FROM big WHERE id < 0", NULL, 0, &r, &f->err));
    assert_int_equal(ts_rows_ncols(r), 1);
    assert_int_equal(ts_rows_next(r, &f->err), 0);
    OK(f, ts_store_exec(f->s, "SELECT 1", NULL, 0, NULL, &f->err));
    ts_rows_close(r);
}

/* ---- catalog and sequences ---- */

static void test_table_exists(void **state)
{
    fixture *f = fx(state);
    int exists = -1;

    OK(f, ts_store_table_exists(f->s, "here", &exists, &f->err));
    assert_int_equal(exists, 0);
    OK(f, ts_store_script(f->s, "CREATE TABLE here (id BIGINT)", &f->err));
    OK(f, ts_store_table_exists(f->s, "here", &exists, &f->err));
    assert_int_equal(exists, 1);
    OK(f, ts_store_table_exists(f->s, "not_here", &exists, &f->err));
    assert_int_equal(exists, 0);
    assert_int_equal(ts_store_table_exists(f->s, "bad name", &exists, &f->err), -1);
    assert_int_equal(f->err.code, TS_E_INVALID);
}

static int64_t next_id(fixture *f, const char *table)
{
    int64_t id = 0;
    OK(f, ts_store_next_id(f->s, table, &id, &f->err));
    return id;
}

static void test_sequences(void **state)
{
    fixture *f = fx(state);
    int64_t a, b;

    OK(f, ts_store_script(f->s, is_pg(f)
                              ? "CREATE TABLE s1 (id BIGINT GENERATED BY DEFAULT AS IDENTITY "
                                "PRIMARY KEY, v TEXT);"
                                "CREATE TABLE s2 (id BIGSERIAL PRIMARY KEY)"
                              : "CREATE TABLE s1 (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT);"
                                "CREATE TABLE s2 (id INTEGER PRIMARY KEY)",
                          &f->err));
    /* A floor below a fresh sequence's start changes nothing. */
    OK(f, ts_store_id_floor(f->s, "s1", 0, &f->err));
    assert_int_equal(next_id(f, "s1"), 1);
    a = next_id(f, "s1");
    assert_int_equal(a, 2);

    OK(f, ts_store_id_floor(f->s, "s1", 1000, &f->err));
    assert_int_equal(next_id(f, "s1"), 1001);
    OK(f, ts_store_id_floor(f->s, "s1", 10, &f->err)); /* never lowers */
    b = next_id(f, "s1");
    assert_int_equal(b, 1002);
    OK(f, ts_store_id_floor(f->s, "s1", b, &f->err)); /* floor == last given */
    assert_int_equal(next_id(f, "s1"), b + 1);

    /* A fresh sequence raised before its first use. */
    OK(f, ts_store_id_floor(f->s, "s2", 5, &f->err));
    assert_int_equal(next_id(f, "s2"), 6);
    for (int i = 0; i < 100; i++) {
        a = next_id(f, "s2");
        assert_true(a > 5 + i);
    }

    if (is_pg(f)) {
        OK(f, ts_store_script(f->s, "CREATE TABLE plain (id BIGINT PRIMARY KEY)", &f->err));
        assert_int_equal(ts_store_next_id(f->s, "plain", &a, &f->err), -1);
        assert_int_equal(f->err.code, TS_E_NOTFOUND);
        assert_int_equal(ts_store_id_floor(f->s, "plain", 5, &f->err), -1);
        assert_int_equal(f->err.code, TS_E_NOTFOUND);
    }
}

/* ---- PostgreSQL specifics ---- */

/* Only on PostgreSQL: text there can not hold NUL, and says so. */
static void test_pg_text_nul(void **state)
{
    fixture *f = fx(state);
    ts_value p = ts_textn("a\0b", 3);

    OK(f, ts_store_script(f->s, "CREATE TABLE n (t TEXT)", &f->err));
    assert_int_equal(ts_store_exec(f->s, "INSERT INTO n (t) VALUES ($1)", &p, 1, NULL, &f->err),
                     -1);
    assert_int_equal(f->err.code, TS_E_INVALID);
    assert_non_null(strstr(f->err.msg, "NUL"));
}

/* A statement during a COPY is refused, not sent into the COPY stream. */
static void test_pg_busy_during_bulk(void **state)
{
    fixture *f = fx(state);
    static const char *const cols[] = {"id"};
    ts_value row = ts_int(1);
    ts_bulk *b;

    OK(f, ts_store_script(f->s, "CREATE TABLE tx (id BIGINT PRIMARY KEY)", &f->err));
    OK(f, ts_bulk_begin(f->s, "tx", cols, 1, &b, &f->err));
    OK(f, ts_bulk_add(b, &row, &f->err));
    assert_int_equal(ts_store_exec(f->s, "SELECT 1", NULL, 0, NULL, &f->err), -1);
    assert_int_equal(f->err.code, TS_E_STATE);
    OK(f, ts_bulk_finish(b, &f->err));
    assert_int_equal(count(f, "SELECT count(*) FROM tx"), 1);
}

/* The server ends our session (failover, admin, crash): TS_E_CONN, retryable. */
/* Terminate the server session behind store s. */
static void kill_session(fixture *f, ts_store *s)
{
    ts_store *other;
    int64_t pid;
    assert_int_equal(ts_store_query_int(s, "SELECT pg_backend_pid()", NULL, 0, &pid, &f->err), 1);
    OK(f, ts_store_open(f->t.url, &other, &f->err));
    ts_value p = ts_int(pid);
    /* The timeout form waits until the backend is gone. */
    if (ts_store_exec(other, "SELECT pg_terminate_backend($1, 5000)", &p, 1, NULL, &f->err))
        fail_msg("terminating the backend: %s", f->err.msg);
    ts_store_close(other);
}

/* A session the server ended: inside a transaction the statement fails
   (retryable) and the transaction is over; the next statement outside one
   runs on a new connection with the store's session settings (search path,
   time zone, LISTEN, a SET) and its prepared statements made again. */
static void test_pg_lost_connection(void **state)
{
    fixture *f = fx(state);
    char tz[64], qt[TS_QNAME_MAX], sql[TS_QNAME_MAX + 64];
    int64_t n;
    int notes = 0;

    OK(f, ts_store_exec(f->s, "CREATE TABLE lost (id INTEGER PRIMARY KEY)", NULL, 0, NULL, &f->err));
    OK(f, ts_store_exec(f->s, "SET statement_timeout = 4321", NULL, 0, NULL, &f->err));
    OK(f, ts_store_listen(f->s, "lost_ch", &f->err));
    OK(f, ts_store_table(f->s, "lost", qt, &f->err));
    snprintf(sql, sizeof sql, "INSERT INTO %s (id) VALUES ($1)", qt);
    ts_value one = ts_int(1), two = ts_int(2);
    OK(f, ts_store_exec(f->s, sql, &one, 1, NULL, &f->err));   /* prepared on this session */

    unsigned long losses = ts_store_losses(f->s);
    OK(f, ts_store_begin(f->s, &f->err));
    kill_session(f, f->s);
    assert_int_equal(ts_store_exec(f->s, "SELECT 1", NULL, 0, NULL, &f->err), -1);
    assert_int_equal(f->err.code, TS_E_CONN);
    assert_true(ts_error_retryable(&f->err));
    assert_true(ts_store_losses(f->s) > losses);   /* a unit failing now runs again */
    ts_store_rollback(f->s, NULL);
    losses = ts_store_losses(f->s);

    /* a unit of work run again */
    OK(f, ts_store_begin(f->s, &f->err));
    OK(f, ts_store_exec(f->s, sql, &two, 1, NULL, &f->err));
    OK(f, ts_store_commit(f->s, &f->err));
    assert_int_equal(ts_store_losses(f->s), losses);   /* a unit that went well: no change */
    assert_int_equal(ts_store_query_int(f->s, "SELECT count(*) FROM lost", NULL, 0, &n, &f->err), 1);
    assert_int_equal(n, 2);   /* unqualified: the search path came back */
    assert_int_equal(ts_store_query_text(f->s, "SHOW TimeZone", NULL, 0, tz, sizeof tz, &f->err), 1);
    assert_string_equal(tz, "UTC");
    assert_int_equal(ts_store_query_text(f->s, "SHOW statement_timeout", NULL, 0, tz, sizeof tz,
                                         &f->err), 1);
    assert_string_equal(tz, "4321ms");
    OK(f, ts_store_exec(f->s, "NOTIFY lost_ch", NULL, 0, NULL, &f->err));
    OK(f, ts_store_notified(f->s, &notes, &f->err));
    assert_int_equal(notes, 1);

    /* outside a transaction the lost session is noticed before the statement */
    kill_session(f, f->s);
    OK(f, ts_store_check(f->s, &f->err));
    assert_int_equal(ts_store_query_int(f->s, "SELECT count(*) FROM lost", NULL, 0, &n, &f->err), 1);
}

/* The server ends a session with FATAL whatever its SQLSTATE: an idle
   transaction timing out (25P03) is a lost connection, retryable, not a
   statement error that would drop the caller's work for good. */
static void test_pg_fatal_is_lost_connection(void **state)
{
    fixture *f = fx(state);
    ts_rows *r;
    unsigned long losses = ts_store_losses(f->s);
    OK(f, ts_store_begin(f->s, &f->err));
    OK(f, ts_store_exec(f->s, "SET LOCAL idle_in_transaction_session_timeout = 100", NULL, 0,
                        NULL, &f->err));
    nanosleep(&(struct timespec){0, 400 * 1000000L}, NULL);   /* the server ends the session */
    /* a query reads its first result before libpq sees the end of file */
    assert_int_equal(ts_store_query(f->s, "SELECT 1", NULL, 0, &r, &f->err), -1);
    assert_int_equal(f->err.code, TS_E_CONN);
    assert_true(ts_error_retryable(&f->err));
    assert_true(ts_store_losses(f->s) > losses);
    ts_store_rollback(f->s, NULL);
    int64_t n;
    assert_int_equal(ts_store_query_int(f->s, "SELECT 1", NULL, 0, &n, &f->err), 1);   /* back */
}

/* A transaction an earlier statement aborted: PostgreSQL answers COMMIT with
   the tag ROLLBACK, which must be a failure, not a commit (the caller would
   acknowledge work that is gone). */
static void test_pg_commit_of_aborted_txn(void **state)
{
    fixture *f = fx(state);
    int64_t n;
    OK(f, ts_store_script(f->s, "CREATE TABLE ab (id BIGINT PRIMARY KEY)", &f->err));
    OK(f, ts_store_begin(f->s, &f->err));
    OK(f, ts_store_exec(f->s, "INSERT INTO ab (id) VALUES (1)", NULL, 0, NULL, &f->err));
    /* a failure the caller does not act on aborts the transaction */
    assert_int_equal(ts_store_exec(f->s, "SELECT 1 / 0", NULL, 0, NULL, &f->err), -1);
    assert_int_equal(ts_store_commit(f->s, &f->err), -1);
    assert_int_equal(f->err.code, TS_E_STORE);
    assert_non_null(strstr(f->err.msg, "nothing was committed"));
    assert_false(ts_store_in_txn(f->s));
    assert_int_equal(ts_store_query_int(f->s, "SELECT count(*) FROM ab", NULL, 0, &n, &f->err), 1);
    assert_int_equal(n, 0);
    /* the store goes on: a clean transaction commits */
    OK(f, ts_store_begin(f->s, &f->err));
    OK(f, ts_store_exec(f->s, "INSERT INTO ab (id) VALUES (2)", NULL, 0, NULL, &f->err));
    OK(f, ts_store_commit(f->s, &f->err));
    assert_int_equal(ts_store_query_int(f->s, "SELECT count(*) FROM ab", NULL, 0, &n, &f->err), 1);
    assert_int_equal(n, 1);
}

/* ---- URLs and connecting (no store needed) ---- */

static void test_bad_urls(void **state)
{
    static const struct {
        const char *url;
        ts_code code;
        const char *says;
    } bad[] = {
        {"", TS_E_USAGE, "sqlite:PATH"},
        {"mysql://localhost/db", TS_E_INVALID, "unknown scheme"},
        {"sqlite:", TS_E_INVALID, "sqlite:PATH"},
        {"sqlite:/tmp/x.db?schema=mt", TS_E_INVALID, "no parameters"},
        {"postgresql:///db?schema=bad-name", TS_E_INVALID, "identifier"},
        {"postgresql:///db?schema=Robert'); DROP TABLE students;--", TS_E_INVALID, "identifier"},
    };
    ts_store *s;
    ts_error err;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(ts_store_open(bad[i].url, &s, &err), -1);
        assert_null(s);
        if (err.code != bad[i].code || strstr(err.msg, bad[i].says) == NULL)
            fail_msg("'%s': got %s '%s'", bad[i].url, ts_code_name(err.code), err.msg);
    }
}

/* Nothing listens on port 1: TS_E_CONN, and the password is not in the message,
   not even when libpq quotes the malformed part of the URL that holds it. */
static void test_pg_unreachable(void **state)
{
    static const char *const urls[] = {
        "postgresql://tester:s3cretpw@127.0.0.1:1/postgres",
        "postgresql://tester:s3cret%zzpw@127.0.0.1:1/postgres",
        "postgresql://127.0.0.1:1/postgres?user=tester&password=s3cretpw",
    };
    ts_store *s;
    ts_error err;

    (void)state;
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        assert_int_equal(ts_store_open(urls[i], &s, &err), -1);
        assert_int_equal(err.code, i == 1 ? TS_E_INVALID : TS_E_CONN);
        if (strstr(err.msg, "s3cret") != NULL)
            fail_msg("password in the message: %s", err.msg);
        assert_non_null(strstr(err.msg, "127.0.0.1"));
    }
}

/* The server refusing who we are (a wrong or missing password, no such database)
   is TS_E_AUTH: not retryable, and the password stays out of the message. */
static void test_pg_auth_refused(void **state)
{
    static const struct {
        const char *password, *dbname, *says;
    } cases[] = {
        {"wr0ngpw", NULL, "password authentication failed"},
        {NULL, NULL, "no password supplied"},
        {"right", "ts_no_such_db", "does not exist"},
    };
    char url[1400];
    ts_store *s;
    ts_error err;

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (ts_test_pg_auth_url(cases[i].password, cases[i].dbname, url, sizeof url))
            skip();
        if (ts_store_open(url, &s, &err) == 0)
            fail_msg("%s: opened; the server must ask ts_password_user for its password "
                     "(tests/pg/cluster.sh sets that up)", url);
        assert_int_equal(err.code, TS_E_AUTH);
        assert_false(ts_error_retryable(&err));
        assert_non_null(strstr(err.msg, cases[i].says));
        assert_non_null(strstr(err.msg, "retrying does not help"));
        if (strstr(err.msg, "wr0ngpw") != NULL)
            fail_msg("password in the message: %s", err.msg);
    }
    assert_int_equal(ts_test_pg_auth_url("right", NULL, url, sizeof url), 0);
    if (ts_store_open(url, &s, &err))
        fail_msg("the right password: %s", err.msg);
    ts_store_close(s);
}

/* ---- registration: each store test once per engine ---- */

static int setup_engine(void **state, ts_engine engine)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    *state = f;
    if (ts_test_store_url(engine, &f->t) != 0)
        return 0; /* engine not available: the test skips */
    if (ts_store_open(f->t.url, &f->s, &f->err))
        fail_msg("opening %s: %s", f->t.url, f->err.msg);
    return 0;
}

static int setup_sqlite(void **state) { return setup_engine(state, TS_ENGINE_SQLITE); }
static int setup_pg(void **state) { return setup_engine(state, TS_ENGINE_PG); }

#define BOTH(fn)                                                    \
    {#fn "/sqlite", fn, setup_sqlite, teardown, NULL}, \
    {#fn "/postgresql", fn, setup_pg, teardown, NULL}

/* SQLite keeps timestamps in the spelling SQLAlchemy (the bot's ORM) writes and
   parses; they read back canonical, as PostgreSQL's do. */
static void test_sqlite_time_spelling(void **state)
{
    fixture *f = fx(state);
    char text[64];
    OK(f, ts_store_exec(f->s, "CREATE TABLE ts_spell (id INTEGER PRIMARY KEY, at TIMESTAMP)",
                        NULL, 0, NULL, &f->err));
    ts_value v[3] = {ts_time("2024-01-31T15:30:00+03:30"), ts_time("2024-02-01T00:00:00.5Z"),
                     ts_time("infinity")};
    for (int i = 0; i < 3; i++) {
        ts_value p[2] = {ts_int(i + 1), v[i]};
        OK(f, ts_store_exec(f->s, "INSERT INTO ts_spell (id, at) VALUES ($1, $2)", p, 2, NULL,
                            &f->err));
    }
    static const char *const stored[] = {"2024-01-31 12:00:00.000000",
                                         "2024-02-01 00:00:00.500000", "infinity"};
    static const char *const canon[] = {"2024-01-31T12:00:00Z", "2024-02-01T00:00:00.5Z",
                                        "infinity"};
    for (int i = 0; i < 3; i++) {
        char sql[96];
        ts_value id = ts_int(i + 1);
        snprintf(sql, sizeof sql, "SELECT '' || at FROM ts_spell WHERE id = $1");
        assert_int_equal(ts_store_query_text(f->s, sql, &id, 1, text, sizeof text, &f->err), 1);
        assert_string_equal(text, stored[i]);
        ts_rows *r;
        OK(f, ts_store_query(f->s, "SELECT at FROM ts_spell WHERE id = $1", &id, 1, &r, &f->err));
        assert_int_equal(ts_rows_next(r, &f->err), 1);
        ts_value got = ts_rows_get(r, 0);
        assert_int_equal(got.type, TS_TIME);
        assert_int_equal(got.len, strlen(canon[i]));
        assert_memory_equal(got.s, canon[i], got.len);
        ts_rows_close(r);
    }
}

/* Timestamps tenantshift cannot carry say why; infinity it carries, and it
   sorts after (before) every real time. */
static void test_time_words(void **state)
{
    (void)state;
    char out[TS_TIME_MAX];
    ts_error err;
    int64_t inf, ninf, real;
    assert_int_equal(ts_time_canon("infinity", 8, out, &err), 0);
    assert_string_equal(out, "infinity");
    assert_int_equal(ts_time_canon("-infinity", 9, out, &err), 0);
    assert_string_equal(out, "-infinity");
    assert_int_equal(ts_time_to_unix("infinity", &inf, &err), 0);
    assert_int_equal(ts_time_to_unix("-infinity", &ninf, &err), 0);
    assert_int_equal(ts_time_to_unix("9999-12-31T23:59:58Z", &real, &err), 0);
    assert_true(inf > real && ninf < 0);
    assert_true(inf < INT64_MAX / 1000000);   /* microseconds do not overflow */
    const char *bc = "0044-03-15 12:00:00+00 BC";
    assert_int_equal(ts_time_canon(bc, strlen(bc), out, &err), -1);
    assert_non_null(strstr(err.msg, "before the year 1"));
    assert_int_equal(ts_time_canon("Infinity!", 9, out, &err), -1);
    assert_non_null(strstr(err.msg, "is not a timestamp"));
}

/* Seconds since the epoch written back as the canonical text, fraction
   without trailing zeros, every year of four digits. */
static void test_time_from_unix(void **state)
{
    (void)state;
    char out[TS_TIME_MAX];
    static const struct {
        int64_t secs;
        int32_t usec;
        const char *want;
    } cases[] = {
        {0, 0, "1970-01-01T00:00:00Z"},
        {-1, 0, "1969-12-31T23:59:59Z"},
        {1704164645, 500000, "2024-01-02T03:04:05.5Z"},
        {1704164645, 120, "2024-01-02T03:04:05.00012Z"},
        {1704164645, 999999, "2024-01-02T03:04:05.999999Z"},
        {INT64_C(253402300799), 0, "9999-12-31T23:59:59Z"},
        {INT64_C(-62135596800), 1, "0001-01-01T00:00:00.000001Z"},
        {951782400, 0, "2000-02-29T00:00:00Z"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ts_time_from_unix(cases[i].secs, cases[i].usec, out);
        assert_string_equal(out, cases[i].want);
        int64_t back;
        ts_error err;
        assert_int_equal(ts_time_to_unix(out, &back, &err), 0);
        assert_true(back == cases[i].secs);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_round_trip),
        BOTH(test_null_vs_empty),
        BOTH(test_sql_special_strings),
        BOTH(test_transactions),
        BOTH(test_exec_commit),
        BOTH(test_query_deferred),
        BOTH(test_unique_violation),
        BOTH(test_bulk_load),
        BOTH(test_bulk_txn_and_failure),
        BOTH(test_bulk_temp),
        BOTH(test_iterate),
        BOTH(test_table_exists),
        BOTH(test_sequences),
        {"test_pg_text_nul", test_pg_text_nul, setup_pg, teardown, NULL},
        {"test_pg_busy_during_bulk", test_pg_busy_during_bulk, setup_pg, teardown, NULL},
        {"test_pg_lost_connection", test_pg_lost_connection, setup_pg, teardown, NULL},
        {"test_pg_commit_of_aborted_txn", test_pg_commit_of_aborted_txn, setup_pg, teardown, NULL},
        {"test_pg_fatal_is_lost_connection", test_pg_fatal_is_lost_connection, setup_pg, teardown,
         NULL},
        cmocka_unit_test(test_time_words),
        cmocka_unit_test(test_time_from_unix),
        {"test_sqlite_time_spelling", test_sqlite_time_spelling, setup_sqlite, teardown, NULL},
        cmocka_unit_test(test_bad_urls),
        cmocka_unit_test(test_pg_unreachable),
        cmocka_unit_test(test_pg_auth_refused),
    };
    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
