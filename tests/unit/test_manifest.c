/* test_manifest.c: the increment manifest loads, rejects what is wrong by name,
   and converts rows between the legacy and the new schema both ways. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ts_conform.h"
#include "ts_manifest.h"
#include "ts_schema_def.h"
#include "ts_store.h"

/* ---- helpers ----------------------------------------------------------- */

/* JSON written with single quotes, for readable test manifests. */
static char *J(const char *s)
{
    char *out = strdup(s);
    assert_non_null(out);
    for (char *p = out; *p; p++)
        if (*p == '\'')
            *p = '"';
    return out;
}

/*
 * The legacy store the test manifests are read against, as every program
 * reads its manifest (ts_manifest_load_live): the real bot's tables, and a
 * card-to-card plugin's table the bot's schema does not have (a user's
 * database holds such tables), whose own words for states and receipt kinds
 * the value maps translate.
 */
static ts_store *legacy_store(void)
{
    static ts_store *s;
    ts_error err;
    if (s == NULL &&
        (ts_store_open("sqlite::memory:", &s, &err) || ts_store_script(s, ts_real_schema_sqlite, &err) ||
         ts_store_script(s,
                         "CREATE TABLE c2c_receipts (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                         "user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE, "
                         "amount_kopeks BIGINT NOT NULL, status VARCHAR(20) NOT NULL DEFAULT 'new', "
                         "receipt_type VARCHAR(20) NOT NULL DEFAULT 'photo', receipt_file_id VARCHAR(255), "
                         "receipt_text TEXT, card_index INTEGER, card_label VARCHAR(100), "
                         "reviewed_by_telegram_id BIGINT, rejection_reason VARCHAR(1024), "
                         "transaction_id INTEGER REFERENCES transactions (id) ON DELETE SET NULL, "
                         "created_at TIMESTAMPTZ, processed_at TIMESTAMPTZ)", &err)))
        fail_msg("the test's legacy store: %s", err.msg);
    return s;
}

/* Load json (single quotes for double) against legacy_store(); 0 or -1. */
static int load(const char *json_sq, ts_manifest **m, ts_error *err)
{
    char *json = J(json_sq), path[] = "/tmp/test_manifest_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, json, strlen(json)), (ssize_t)strlen(json));
    close(fd);
    int rc = ts_manifest_load_live(path, legacy_store(), m, err);
    unlink(path);
    free(json);
    return rc;
}

static ts_manifest *load_ok(const char *json_sq)
{
    ts_manifest *m = NULL;
    ts_error err = {0};
    if (load(json_sq, &m, &err) != 0)
        fail_msg("expected the manifest to load, got: %s", err.msg);
    return m;
}

/* The manifest must be refused, and the message contain every needle. */
static void expect_reject(const char *json_sq, const char *needle1, const char *needle2)
{
    ts_manifest *m = (ts_manifest *)&m; /* must be reset to NULL */
    ts_error err = {0};
    int rc = load(json_sq, &m, &err);
    if (rc == 0) {
        ts_manifest_free(m);
        fail_msg("expected a rejection containing \"%s\"", needle1);
    }
    assert_null(m);
    assert_int_equal(err.code, TS_E_INVALID);
    if (strstr(err.msg, needle1) == NULL || (needle2 && strstr(err.msg, needle2) == NULL))
        fail_msg("message \"%s\" lacks \"%s\"%s%s", err.msg, needle1, needle2 ? " or " : "",
                 needle2 ? needle2 : "");
}

static void set(const ts_table *t, ts_value *row, const char *col, ts_value v)
{
    int i = ts_table_column_index(t, col);
    if (i < 0)
        fail_msg("%s has no column %s", t->name, col);
    row[i] = v;
}

static const ts_value *get(const ts_table *t, const ts_value *row, const char *col)
{
    int i = ts_table_column_index(t, col);
    if (i < 0)
        fail_msg("%s has no column %s", t->name, col);
    return &row[i];
}

static void assert_text(const ts_value *v, const char *s)
{
    char buf[256];
    if (v->type != TS_TEXT || v->len != strlen(s) || memcmp(v->s, s, v->len) != 0)
        fail_msg("expected '%s', got %s", s, ts_value_format(v, buf, sizeof buf));
}

static void assert_rows_equal(const ts_table *t, const ts_value *a, const ts_value *b)
{
    char x[256], y[256];
    for (int i = 0; i < t->ncols; i++)
        if (!ts_value_equal(&a[i], &b[i]))
            fail_msg("%s.%s: %s != %s", t->name, t->cols[i].name,
                     ts_value_format(&a[i], x, sizeof x), ts_value_format(&b[i], y, sizeof y));
}

static const ts_tmap *tmap_of(const ts_manifest *m, const char *new_table)
{
    const ts_tmap *tm = ts_manifest_tmap_for_new(m, new_table);
    assert_non_null(tm);
    return tm;
}

/* ---- the default manifest ------------------------------------------------ */

static void test_default_loads_in_dependency_order(void **state)
{
    static const char *const ids[] = {"1.1", "1.5", "2.1", "2.3", "2.4", "3.2", "3.3", "2.5"};
    ts_manifest *m;
    ts_error err;
    (void)state;
    if (ts_manifest_load_default(&m, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(ts_manifest_count(m), 8);
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        assert_non_null(ts_manifest_find(m, ids[i]));
    assert_null(ts_manifest_find(m, "4.1"));
    for (int i = 0; i < ts_manifest_count(m); i++) {
        const ts_increment *inc = ts_manifest_at(m, i);
        for (int d = 0; d < inc->ndeps; d++) {
            int seen = 0;
            for (int j = 0; j < i; j++)
                seen |= ts_manifest_at(m, j) == inc->deps[d];
            if (!seen)
                fail_msg("%s comes before its dependency %s", inc->id, inc->deps[d]->id);
        }
    }
    assert_null(ts_manifest_at(m, 8));
    assert_int_equal(ts_manifest_constant(m, "master_bot_id")->i, 1);
    ts_manifest_free(m);
}

static void test_default_covers_the_schemas(void **state)
{
    ts_manifest *m;
    ts_error err;
    (void)state;
    assert_int_equal(ts_manifest_load_default(&m, &err), 0);
    const ts_increment *i11 = ts_manifest_find(m, "1.1"), *i25 = ts_manifest_find(m, "2.5");
    assert_int_equal(i11->kind, TS_INC_DATA);
    assert_int_equal(i11->ncreates, 5);
    /* The payment tables reference users and transactions: made with 3.3. */
    assert_int_equal(ts_manifest_find(m, "3.3")->ncreates, 2);
    assert_int_equal(i11->ntmaps, 0);
    assert_int_equal(ts_manifest_find(m, "1.5")->kind, TS_INC_BEHAVIOUR);
    assert_int_equal(i25->kind, TS_INC_BEHAVIOUR);
    assert_int_equal(i25->ndeps, 6);
    assert_true(ts_manifest_depends_on(m, i25, i11));
    assert_false(ts_manifest_depends_on(m, i11, i25));
    assert_true(ts_manifest_depends_on(m, ts_manifest_find(m, "3.3"), ts_manifest_find(m, "2.1")));

    /* Every legacy table moves with exactly one increment. */
    const ts_schema *legacy = ts_schema_legacy();
    for (int t = 0; t < legacy->ntables; t++) {
        const ts_increment *owner = ts_manifest_owner(m, legacy->tables[t].name);
        if (owner == NULL)
            fail_msg("legacy table %s is not mapped", legacy->tables[t].name);
    }
    /* Every new table is created or filled. */
    const ts_schema *nw = ts_schema_new();
    for (int t = 0; t < nw->ntables; t++)
        if (ts_manifest_owner(m, nw->tables[t].name) == NULL)
            fail_msg("new table %s belongs to no increment", nw->tables[t].name);
    assert_string_equal(ts_manifest_owner(m, "users")->id, "2.1");
    assert_string_equal(ts_manifest_owner(m, "bot_feature_flags")->id, "2.4");
    assert_string_equal(ts_manifest_owner(m, "card_to_card_payments")->id, "3.3");
    assert_string_equal(ts_manifest_owner(m, "yookassa_payments")->id, "3.3");
    /* the real bot's 48 tables and tenantshift's ts_processed_updates */
    assert_int_equal(legacy->ntables, 49);
    assert_string_equal(ts_manifest_owner(m, "zarinpal_payments")->id, "3.3");
    assert_null(ts_manifest_owner(m, "ts_journal"));
    ts_manifest_free(m);
}

static void test_load_file(void **state)
{
    char path[] = "/tmp/tenantshift-manifest-XXXXXX";
    ts_manifest *m;
    ts_error err;
    (void)state;
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *json = "{\"format\": 1, \"increments\": [{\"id\": \"1.1\", \"name\": \"t\", "
                       "\"kind\": \"data\", \"creates\": [\"bots\"]}]}";
    assert_int_equal(write(fd, json, strlen(json)), (ssize_t)strlen(json));
    close(fd);
    assert_int_equal(ts_manifest_load_file(path, &m, &err), 0);
    assert_int_equal(ts_manifest_count(m), 1);
    ts_manifest_free(m);

    /* Errors name the file. */
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_int_equal(write(fd, "{\"format\": 2}", 13), 13);
    close(fd);
    assert_int_equal(ts_manifest_load_file(path, &m, &err), -1);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "\"format\" must be 1"));
    unlink(path);

    assert_int_equal(ts_manifest_load_file(path, &m, &err), -1);
    assert_int_equal(err.code, TS_E_IO);
    assert_non_null(strstr(err.msg, path));

    /* A FIFO is refused at once, not waited on for a writer; a directory too. */
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_int_equal(ts_manifest_load_file(path, &m, &err), -1);
    assert_null(m);
    assert_non_null(strstr(err.msg, "is not a regular file"));
    unlink(path);
    assert_int_equal(ts_manifest_load_file("/tmp", &m, &err), -1);
    assert_non_null(strstr(err.msg, "is not a regular file"));
}

/* ---- rejections ---------------------------------------------------------- */

/* A small valid manifest, and pieces to vary it with. */
/* The columns of system_settings that neither of its new tables has. */
#define SS_DROP "'drop':{'id':'x','description':'x','created_at':'x','updated_at':'x'}"

#define HEAD "'format':1,'constants':{'master_bot_id':1},'value_maps':{" \
             "'st':{'new':'pending','confirmed':'approved','declined':'rejected'," \
             "'canceled':'cancelled'},'rt':{'photo':'image','text':'text','photo_text':'both'}," \
             "'flags':{'A_ENABLED':'a','B_ENABLED':'b'},'sw':{'true':true,'false':false}},"
#define I11 "{'id':'1.1','name':'tenant-tables','kind':'data','creates':['bots'," \
            "'bot_feature_flags','bot_configurations','tenant_payment_cards'," \
            "'card_to_card_payments']}"
#define USERS "{'legacy':'users','new':'users','key':['id']}"
#define I21(tables) "{'id':'2.1','name':'users','kind':'data','depends':['1.1'],'tables':[" \
                    tables "]}"
#define M(incs) "{" HEAD "'increments':[" incs "]}"

/* c2c_receipts -> card_to_card_payments with a replaceable middle. */
#define C2C_COLS "'receipt_image_file_id':{'from':'receipt_file_id'}," \
                 "'admin_reviewed_by':{'from':'reviewed_by_telegram_id'}," \
                 "'admin_reviewed_at':{'from':'processed_at'}," \
                 "'admin_notes':{'from':'rejection_reason'}," \
                 "'status':{'from':'status','map':'st'}," \
                 "'receipt_type':{'from':'receipt_type','map':'rt'}"
#define C2C(cols, drop) "{'legacy':'c2c_receipts','new':'card_to_card_payments','key':['id']," \
                        "'columns':{" cols "},'drop':{" drop "}}"
#define C2C_DROP "'card_index':'gone','card_label':'gone'"
#define TRACK ",'tracking_number':{'from':'id','format':'C2C%016X'}"
#define I33(tables) "{'id':'3.3','name':'payments','kind':'data','depends':['2.1'],'tables':[" \
                    tables "]}"

/* The card-to-card plugin's receipts mapped as the tests below read them. */
#define C2C_MANIFEST M(I11 "," I21(USERS) "," I33(C2C(C2C_COLS TRACK, C2C_DROP)))

static void test_the_test_manifest_loads(void **state)
{
    (void)state;
    ts_manifest *m = load_ok(M(I11 "," I21(USERS) "," I33(C2C(C2C_COLS TRACK, C2C_DROP))));
    assert_int_equal(ts_manifest_count(m), 3);
    ts_manifest_free(m);
}

static void test_reject_malformed_json(void **state)
{
    (void)state;
    expect_reject("{'format':1,\n  'increments': [}", "not valid JSON", "line 2 column 18");
    expect_reject("", "not valid JSON", "line 1");
    expect_reject(M(I11) " trailing", "not valid JSON", NULL);
    expect_reject("[1]", "the manifest: must be a JSON object", NULL);
}

static void test_reject_unknown_fields_and_kinds(void **state)
{
    (void)state;
    expect_reject("{'format':1,'increments':[" I11 "],'extra':1}", "the manifest: unknown field "
                  "\"extra\"", "the fields are format, constants, value_maps, increments");
    expect_reject("{'format':2,'increments':[" I11 "]}", "\"format\" must be 1", NULL);
    expect_reject("{'increments':[" I11 "]}", "\"format\" must be 1", NULL);
    expect_reject(M("{'id':'1.1','name':'x','kind':'data','creates':['bots'],'dependz':[]}"),
                  "increment #1: unknown field \"dependz\"", NULL);
    expect_reject(M("{'id':'1.1','name':'x','kind':'magic','creates':['bots']}"),
                  "increment \"1.1\": unknown kind \"magic\"", NULL);
    expect_reject(M("{'id':'1.1','name':'x','kind':'behaviour','creates':['bots']}"),
                  "increment \"1.1\": a behaviour increment", NULL);
    expect_reject(M("{'id':'1.1','name':'x','kind':'data'}"),
                  "increment \"1.1\": a data increment needs", NULL);
    expect_reject(M(I11 "," I21("{'legacy':'users','new':'users','key':['id'],'colums':{}}")),
                  "increment \"2.1\" table #1: unknown field \"colums\"", NULL);
    expect_reject(M(I11 "," I21(C2C(C2C_COLS TRACK ",'admin_notes':{'form':'x'}", C2C_DROP))),
                  "card_to_card_payments \"columns\": \"admin_notes\" appears twice", NULL);
    expect_reject(M(I11 "," I21(C2C(C2C_COLS ",'tracking_number':{'form':'id'}", C2C_DROP))),
                  "column \"tracking_number\": unknown field \"form\"", NULL);
    expect_reject(M(I11 "," I21(C2C(C2C_COLS ",'tracking_number':{'from':'id','map':'st',"
                                   "'format':'%d'}", C2C_DROP))),
                  "column \"tracking_number\": give exactly one source", NULL);
    expect_reject(M("{'id':'1.1','id':'1.2','name':'x','kind':'data','creates':['bots']}"),
                  "increment #1: \"id\" appears twice", NULL);
    expect_reject("{'format':1,'increments':[]}", "lists no increments", NULL);
}

static void test_reject_bad_ids_and_dependencies(void **state)
{
    (void)state;
    expect_reject(M(I11 "," I11), "increment \"1.1\": the id is used twice", "#1 and #2");
    expect_reject(M("{'id':'one','name':'x','kind':'data','creates':['bots']}"),
                  "increment #1: id \"one\" is not an id of the plan", NULL);
    expect_reject(M("{'id':'1.1','name':'Tenant Tables','kind':'data','creates':['bots']}"),
                  "increment \"1.1\": name \"Tenant Tables\"", NULL);
    expect_reject(M(I11 ",{'id':'2.5','name':'x','kind':'behaviour','depends':['9.9']}"),
                  "increment \"2.5\": depends on \"9.9\", which is not in the manifest", NULL);
    expect_reject(M(I11 ",{'id':'2.5','name':'x','kind':'behaviour','depends':['1.1','1.1']}"),
                  "increment \"2.5\": depends on \"1.1\" twice", NULL);
    expect_reject(M(I11 ",{'id':'2.5','name':'x','kind':'behaviour','depends':[1]}"),
                  "increment \"2.5\": every entry of \"depends\"", NULL);
    expect_reject(M(I11 ",{'id':'2.4','name':'a','kind':'behaviour','depends':['2.6','1.1']},"
                    "{'id':'2.5','name':'b','kind':'behaviour','depends':['2.4']},"
                    "{'id':'2.6','name':'c','kind':'behaviour','depends':['2.5']}"),
                  "dependency cycle 2.4 -> 2.6 -> 2.5 -> 2.4", NULL);
    expect_reject(M(I11 ",{'id':'2.5','name':'x','kind':'behaviour','depends':['2.5']}"),
                  "dependency cycle 2.5 -> 2.5", NULL);
}

static void test_reject_unknown_tables_and_columns(void **state)
{
    (void)state;
    expect_reject(M(I11 "," I21("{'legacy':'userz','new':'users','key':['id']}")),
                  "increment \"2.1\" table #1: \"userz\" is not a legacy table", NULL);
    expect_reject(M(I11 "," I21("{'legacy':'users','new':'bot_users','key':['id']}")),
                  "increment \"2.1\" table #1: \"bot_users\" is not a table of the new schema",
                  NULL);
    expect_reject(M(I11 "," I21("{'new':'users','key':['id']}")),
                  "increment \"2.1\" table #1: \"legacy\" is missing", NULL);
    expect_reject(M(I11 "," I33(C2C(C2C_COLS ",'tracking_number':{'from':'nope','format':'%d'}",
                                   C2C_DROP))),
                  "table c2c_receipts -> card_to_card_payments column \"tracking_number\": legacy "
                  "table c2c_receipts has no column \"nope\"", NULL);
    expect_reject(M(I11 "," I33(C2C(C2C_COLS TRACK ",'nope':{'from':'id'}", C2C_DROP))),
                  "column \"nope\": new table card_to_card_payments has no such column", NULL);
    expect_reject(M(I11 "," I33(C2C(C2C_COLS TRACK, C2C_DROP ",'nope':'x'"))),
                  "drop \"nope\": legacy table c2c_receipts has no such column", NULL);
    expect_reject(M("{'id':'1.1','name':'x','kind':'data','creates':['bots','no_such']}"),
                  "increment \"1.1\": created table \"no_such\" is not a table", NULL);
    expect_reject(M("{'id':'1.1','name':'x','kind':'data','creates':['bots','users']}"),
                  "increment \"1.1\": \"users\" has a legacy twin", NULL);
}

static void test_reject_keys(void **state)
{
    (void)state;
    expect_reject(M(I11 "," I21("{'legacy':'users','new':'users'}")),
                  "table users -> users: \"key\" is missing", NULL);
    expect_reject(M(I11 "," I21("{'legacy':'users','new':'users','key':[]}")),
                  "table users -> users: \"key\" is empty", NULL);
    expect_reject(M(I11 "," I21("{'legacy':'users','new':'users','key':['uid']}")),
                  "table users -> users: key column \"uid\" is not a column", NULL);
    expect_reject(M(I11 "," I21("{'legacy':'users','new':'users','key':['id','id']}")),
                  "key column \"id\" is listed twice", NULL);
    /* Mapped only through a JSON encoding: not a key in the new table. */
    expect_reject(M(I11 "," I21("{'legacy':'system_settings','new':'bot_configurations',"
                                "'key':['value'],'columns':{'config_key':{'from':'key'},"
                                "'config_value':{'from':'value','json':'string'}}," SS_DROP "}")),
                  "table system_settings -> bot_configurations: key column value is not mapped",
                  NULL);
    /* Mapped, but to no primary key or unique of the new table. */
    expect_reject(M(I11 "," I21("{'legacy':'users','new':'users','key':['telegram_id','username']}")),
                  "table users -> users: the key maps to columns that are neither the primary "
                  "key (bot_id, id)", NULL);
}

static void test_reject_lost_or_unfilled_columns(void **state)
{
    (void)state;
    /* A column of a table the live store has (adopted, not declared) that the
       mapping leaves out loads, and fails closed where rows move: ts_conform
       names it, so init, advance, backfill and diff refuse. */
    ts_manifest *m = load_ok(M(I11 "," I21(USERS) "," I33(C2C(C2C_COLS TRACK, "'card_label':'gone'"))));
    ts_error err;
    ts_problems pr = {0};
    assert_int_equal(ts_conform_legacy(legacy_store(), m, NULL, &pr, &err), 0);
    ts_problems_fail(&pr, &err, TS_E_SCHEMA, "the legacy store", "map them");
    assert_non_null(strstr(err.msg, "c2c_receipts.card_index"));
    ts_problems_free(&pr);
    ts_manifest_free(m);
    expect_reject(M(I11 "," I33(C2C(C2C_COLS TRACK, C2C_DROP ",'amount_kopeks':'x'"))),
                  "drop \"amount_kopeks\": the legacy column is NOT NULL without a default",
                  NULL);
    expect_reject(M(I11 "," I33(C2C(C2C_COLS TRACK, "'card_index':'','card_label':'gone'"))),
                  "drop \"card_index\": give the reason", NULL);
    expect_reject(M(I11 "," I33(C2C(C2C_COLS TRACK ",'card_id':{'from':'card_index'}",
                                   C2C_DROP))),
                  "legacy column card_index is dropped and also read", NULL);
    expect_reject(M(I11 "," I33(C2C(C2C_COLS, C2C_DROP))),
                  "column \"tracking_number\": NOT NULL without a default, and nothing fills it",
                  NULL);
    /* Renamed away and only derived from: rollback could not restore it. */
    expect_reject(M(I11 "," I33(C2C(C2C_COLS TRACK ",'id':{'from':'card_index'}",
                                   "'card_label':'gone'"))),
                  "legacy column id only feeds one-way (format) columns", NULL);
}

static void test_reject_bad_maps_constants_and_types(void **state)
{
    (void)state;
    expect_reject(M(I11 "," I33(C2C(C2C_COLS TRACK ",'card_id':{'const':'nope'}", C2C_DROP))),
                  "column \"card_id\": constant \"nope\" is not defined", NULL);
    expect_reject(M(I11 "," I33(C2C(C2C_COLS ",'tracking_number':{'from':'id','map':'nope'}",
                                   C2C_DROP))),
                  "column \"tracking_number\": value map \"nope\" is not defined", NULL);
    expect_reject(M(I11 "," I33(C2C(C2C_COLS TRACK ",'admin_reviewed_by':{'from':'processed_at'}",
                                   C2C_DROP))),
                  "\"admin_reviewed_by\" appears twice", NULL);
    expect_reject(M(I11 "," I33(C2C(C2C_COLS ",'tracking_number':{'from':'id','format':'%s'}",
                                   C2C_DROP))),
                  "column \"tracking_number\": format \"%s\" is not", NULL);
    expect_reject(M(I11 "," I33(C2C(C2C_COLS ",'tracking_number':{'from':'id','format':"
                                   "'TRACKING-%016X'}", C2C_DROP))),
                  "can make 25 characters, more than the column's 19", NULL);
    expect_reject(M(I11 "," I33(C2C(C2C_COLS TRACK ",'card_id':{'value':'x'}", C2C_DROP))),
                  "column \"card_id\": the value does not fit the integer column", NULL);
    expect_reject(M(I11 "," I33(C2C(C2C_COLS TRACK ",'card_id':{'from':'card_label'}",
                                   "'card_index':'gone'"))),
                  "column \"card_id\": legacy column card_label is text but the new column is "
                  "integer", NULL);
    expect_reject("{'format':1,'constants':{'bot id':1},'increments':[" I11 "]}",
                  "constant \"bot id\": the name \"bot id\" is not a plain identifier", NULL);
    expect_reject("{'format':1,'constants':{'x':1.5},'increments':[" I11 "]}",
                  "constant \"x\": must be a string, an integer", NULL);
    expect_reject("{'format':1,'value_maps':{'m':{}},'increments':[" I11 "]}",
                  "value map \"m\": is empty", NULL);
    expect_reject("{'format':1,'value_maps':{'m':{'a':'x','b':true}},'increments':[" I11 "]}",
                  "value map \"m\" entry \"b\": every value of a map must have the same type",
                  NULL);
    expect_reject("{'format':1,'increments':[" I11 "," I21(USERS) "]}",
                  "column \"bot_id\": bot_id of legacy rows comes from the constant "
                  "\"master_bot_id\", which is not defined", NULL);
}

static void test_reject_double_ownership(void **state)
{
    (void)state;
    expect_reject(M(I11 "," I21(USERS) ",{'id':'2.2','name':'again','kind':'data',"
                    "'depends':['2.1'],'tables':[" USERS "]}"),
                  "new table users is filled by increment \"2.1\" (from users) and increment "
                  "\"2.2\" (from users)", NULL);
    expect_reject(M(I11 ",{'id':'2.4','name':'f','kind':'data','depends':['1.1'],'tables':["
                    "{'legacy':'system_settings','new':'bot_feature_flags','key':['key'],"
                    "'columns':{'feature_key':{'from':'key'},'enabled':{'from':'value',"
                    "'map':'sw'}}," SS_DROP "}]},"
                    "{'id':'2.6','name':'c','kind':'data','depends':['1.1'],'tables':["
                    "{'legacy':'system_settings','new':'bot_configurations','key':['key'],"
                    "'columns':{'config_key':{'from':'key'},'config_value':{'from':'value',"
                    "'json':'string'}}," SS_DROP "}]}"),
                  "legacy table system_settings is mapped by increments \"2.4\" and \"2.6\"",
                  NULL);
    expect_reject(M(I11 ",{'id':'1.2','name':'x','kind':'data','creates':['bots']}"),
                  "increment \"1.2\": table bots is already created by increment \"1.1\"", NULL);
    /* Filled before anything creates it. */
    expect_reject(M("{'id':'1.1','name':'x','kind':'data','creates':['bots']}," I21(USERS) ","
                    I33(C2C(C2C_COLS TRACK, C2C_DROP))),
                  "increment \"3.3\" table c2c_receipts -> card_to_card_payments: no increment "
                  "it depends on (nor itself) creates card_to_card_payments", NULL);
}

/* The system_settings split of the default manifest, with a replaceable filter. */
#define FLAGS(where) "{'legacy':'system_settings','new':'bot_feature_flags','key':['key']," \
                     where "'columns':{'feature_key':{'from':'key','map':'flags'}," \
                     "'enabled':{'from':'value','map':'sw'},'config':{'value':'{}'}}," SS_DROP "}"
#define CONFS(where) "{'legacy':'system_settings','new':'bot_configurations','key':['key']," \
                     where "'columns':{'config_key':{'from':'key'}," \
                     "'config_value':{'from':'value','json':'string'}}," SS_DROP "}"
#define I24(tables) "{'id':'2.4','name':'feature-flags','kind':'data','depends':['1.1']," \
                    "'tables':[" tables "]}"
#define IN "'where':{'column':'key','in':'flags'},"
#define NOT_IN "'where':{'column':'key','not_in':'flags'},"

static void test_reject_bad_filters(void **state)
{
    (void)state;
    ts_manifest_free(load_ok(M(I11 "," I24(FLAGS(IN) "," CONFS(NOT_IN)))));
    expect_reject(M(I11 "," I24(FLAGS(IN))),
                  "increment \"2.4\" table system_settings -> bot_feature_flags: the \"where\" "
                  "filter would leave the other rows of system_settings behind", NULL);
    expect_reject(M(I11 "," I24(FLAGS(IN) "," CONFS(IN))),
                  "increment \"2.4\": legacy table system_settings is split over 2 mappings",
                  NULL);
    expect_reject(M(I11 "," I24(FLAGS(IN) "," CONFS(""))), "is split over 2 mappings", NULL);
    expect_reject(M(I11 "," I24(FLAGS("'where':{'column':'key','in':'nope'},") "," CONFS(NOT_IN))),
                  "system_settings -> bot_feature_flags \"where\": value map \"nope\" is not "
                  "defined", NULL);
    expect_reject(M(I11 "," I24(FLAGS("'where':{'column':'key','in':'flags','not_in':'flags'},")
                                "," CONFS(NOT_IN))),
                  "\"where\": give exactly one of \"in\" and \"not_in\"", NULL);
}

static void test_reject_identifiers_utf8_and_sizes(void **state)
{
    char *big, *json;
    (void)state;
    expect_reject(M(I11 "," I21("{'legacy':'users; DROP TABLE users','new':'users','key':['id']}")),
                  "legacy table \"users; DROP TABLE users\" is not a plain identifier", NULL);
    expect_reject(M(I11 "," I33(C2C(C2C_COLS TRACK ",'card id':{'from':'id'}", C2C_DROP))),
                  "the new column \"card id\" is not a plain identifier", NULL);
    expect_reject(M("{'id':'1.1','name':'x','kind':'data','creates':['bots','bot-plans']}"),
                  "created table \"bot-plans\" is not a plain identifier", NULL);
    expect_reject(M("{'id':'1.1','name':'x\xff','kind':'data','creates':['bots']}"),
                  "not valid UTF-8 at line 1", NULL);
    expect_reject("{'format':1,\n'increments':[\n{'id':'1.1','name':'\xc0\xaf'}]}",
                  "not valid UTF-8 at line 3", NULL);

    /* A 2000-byte drop reason, put where @ stands. */
    const char *tmpl = M(I11 "," I33(C2C(C2C_COLS TRACK, "'card_index':'@','card_label':'x'")));
    const char *at = strchr(tmpl, '@');
    json = calloc(1, strlen(tmpl) + 2000);
    memcpy(json, tmpl, (size_t)(at - tmpl));
    memset(json + (at - tmpl), 'x', 2000);
    strcat(json, at + 1);
    expect_reject(json, "drop \"card_index\": the reason is longer than 1024 bytes", NULL);
    free(json);

    /* A manifest over the size limit is not even parsed. */
    big = malloc(TS_MANIFEST_MAX_BYTES + 2);
    memset(big, ' ', TS_MANIFEST_MAX_BYTES + 1);
    big[TS_MANIFEST_MAX_BYTES + 1] = '\0';
    big[0] = '{';
    expect_reject(big, "more than the 1048576 a manifest may have", NULL);
    free(big);
}

/* ---- rows: c2c_receipts ---------------------------------------------------- */

static void test_c2c_round_trip(void **state)
{
    ts_manifest *m;
    ts_error err;
    ts_buf text = {0}, text2 = {0};
    (void)state;
    m = load_ok(C2C_MANIFEST);
    const ts_tmap *tm = tmap_of(m, "card_to_card_payments");
    const ts_table *lt = tm->legacy, *nt = tm->target;
    assert_string_equal(lt->name, "c2c_receipts");
    assert_string_equal(tm->inc->id, "3.3");
    assert_ptr_equal(ts_manifest_route(m, "c2c_receipts", NULL), tm);

    ts_value l[32] = {0}, n[32] = {0}, back[32] = {0};
    set(lt, l, "id", ts_int(255));
    set(lt, l, "user_id", ts_int(7));
    set(lt, l, "amount_kopeks", ts_int(5000000));
    set(lt, l, "status", ts_text("declined"));
    set(lt, l, "receipt_type", ts_text("photo_text"));
    set(lt, l, "receipt_file_id", ts_text("AgACAgIAAxkBAAI"));
    set(lt, l, "receipt_text", ts_text("واریز شد ✅ \"ok\""));
    set(lt, l, "card_index", ts_int(2));
    set(lt, l, "card_label", ts_text("Mellat"));
    set(lt, l, "reviewed_by_telegram_id", ts_int(4242));
    set(lt, l, "rejection_reason", ts_text(""));
    set(lt, l, "transaction_id", ts_null());
    set(lt, l, "created_at", ts_time("2024-01-02T03:04:05Z"));
    set(lt, l, "processed_at", ts_time("2024-01-02T04:00:00.5Z"));

    assert_int_equal(ts_tmap_to_new(tm, l, n, &text, &err), 0);
    assert_int_equal(get(nt, n, "bot_id")->i, 1);
    assert_int_equal(get(nt, n, "id")->i, 255);
    assert_text(get(nt, n, "status"), "rejected");
    assert_text(get(nt, n, "receipt_type"), "both");
    assert_text(get(nt, n, "tracking_number"), "C2C00000000000000FF");
    assert_text(get(nt, n, "receipt_image_file_id"), "AgACAgIAAxkBAAI");
    assert_text(get(nt, n, "receipt_text"), "واریز شد ✅ \"ok\"");
    assert_int_equal(get(nt, n, "admin_reviewed_by")->i, 4242);
    assert_int_equal(get(nt, n, "admin_reviewed_at")->type, TS_TIME);
    assert_text(get(nt, n, "admin_notes"), ""); /* '' stays '', not NULL */
    assert_int_equal(get(nt, n, "transaction_id")->type, TS_NULL);
    assert_int_equal(get(nt, n, "card_id")->type, TS_NULL);
    assert_false(ts_tmap_fills(tm, ts_table_column_index(nt, "card_id")));
    assert_true(ts_tmap_fills(tm, ts_table_column_index(nt, "tracking_number")));
    assert_true(ts_tmap_fills(tm, ts_table_column_index(nt, "bot_id")));

    /* The new key is the new table's primary key: bot_id, id. */
    assert_int_equal(tm->nnew_key, 2);
    assert_string_equal(nt->cols[tm->new_key[0]].name, "bot_id");
    assert_string_equal(nt->cols[tm->new_key[1]].name, "id");

    /* Back: everything but the dropped columns, which are not restored. */
    assert_int_equal(ts_tmap_to_legacy(tm, n, back, &text2, &err), 0);
    int ci = ts_table_column_index(lt, "card_index"), cl = ts_table_column_index(lt, "card_label");
    assert_false(ts_tmap_restores(tm, ci));
    assert_false(ts_tmap_restores(tm, cl));
    assert_true(ts_tmap_restores(tm, ts_table_column_index(lt, "id")));
    assert_string_equal(tm->drop_reason[ci], "gone");
    assert_null(tm->drop_reason[0]);
    assert_int_equal(back[ci].type, TS_NULL);
    assert_int_equal(back[cl].type, TS_NULL);
    back[ci] = l[ci];
    back[cl] = l[cl];
    assert_rows_equal(lt, l, back);
    ts_buf_free(&text);
    ts_buf_free(&text2);
    ts_manifest_free(m);
}

static void test_c2c_every_mapped_value(void **state)
{
    static const char *const status[][2] = {{"new", "pending"}, {"confirmed", "approved"},
                                            {"declined", "rejected"}, {"canceled", "cancelled"}};
    static const char *const kinds[][2] = {{"photo", "image"}, {"text", "text"},
                                           {"photo_text", "both"}};
    ts_manifest *m;
    ts_error err;
    ts_buf text = {0}, btext = {0};
    (void)state;
    m = load_ok(C2C_MANIFEST);
    const ts_tmap *tm = tmap_of(m, "card_to_card_payments");
    const ts_table *lt = tm->legacy, *nt = tm->target;
    ts_value l[32] = {0}, n[32] = {0}, back[32] = {0};
    set(lt, l, "user_id", ts_int(1));
    set(lt, l, "amount_kopeks", ts_int(1));
    for (int i = 0; i < 4; i++) {
        set(lt, l, "id", ts_int(INT64_MAX - i));
        set(lt, l, "status", ts_text(status[i][0]));
        set(lt, l, "receipt_type", ts_text(kinds[i % 3][0]));
        assert_int_equal(ts_tmap_to_new(tm, l, n, &text, &err), 0);
        assert_text(get(nt, n, "status"), status[i][1]);
        assert_text(get(nt, n, "receipt_type"), kinds[i % 3][1]);
        assert_int_equal(ts_tmap_to_legacy(tm, n, back, &btext, &err), 0);
        assert_text(get(lt, back, "status"), status[i][0]);
        assert_text(get(lt, back, "receipt_type"), kinds[i % 3][0]);
    }
    set(lt, l, "id", ts_int(INT64_MAX));
    assert_int_equal(ts_tmap_to_new(tm, l, n, &text, &err), 0);
    assert_text(get(nt, n, "tracking_number"), "C2C7FFFFFFFFFFFFFFF");

    /* A legacy word the map does not know: named, with the row. */
    set(lt, l, "id", ts_int(9));
    set(lt, l, "status", ts_text("lost"));
    assert_int_equal(ts_tmap_to_new(tm, l, n, &text, &err), -1);
    assert_non_null(strstr(err.msg, "c2c_receipts row (id=9) column status: 'lost' is not in "
                                    "value map st"));
    /* A new word legacy has no spelling for. */
    set(lt, l, "status", ts_text("new"));
    assert_int_equal(ts_tmap_to_new(tm, l, n, &text, &err), 0);
    set(nt, n, "status", ts_text("refunded"));
    assert_int_equal(ts_tmap_to_legacy(tm, n, back, &btext, &err), -1);
    assert_non_null(strstr(err.msg, "card_to_card_payments row (bot_id=1, id=9) column status: "
                                    "'refunded' is no value of value map st"));
    /* NULL into a NOT NULL column. */
    set(lt, l, "status", ts_null());
    assert_int_equal(ts_tmap_to_new(tm, l, n, &text, &err), -1);
    assert_non_null(strstr(err.msg, "column status: is NULL, but the new column it fills is NOT "
                                    "NULL"));
    ts_buf_free(&text);
    ts_buf_free(&btext);
    ts_manifest_free(m);
}

/* ---- rows: users ------------------------------------------------------------- */

static void test_users_round_trip(void **state)
{
    ts_manifest *m;
    ts_error err;
    ts_buf text = {0}, btext = {0};
    (void)state;
    assert_int_equal(ts_manifest_load_default(&m, &err), 0);
    const ts_tmap *tm = tmap_of(m, "users");
    const ts_table *lt = tm->legacy, *nt = tm->target;
    assert_int_equal(nt->ncols, lt->ncols + 1);
    ts_value l[32] = {0}, n[32] = {0}, back[32] = {0};
    set(lt, l, "id", ts_int(12));
    set(lt, l, "telegram_id", ts_int(INT64_MAX));
    set(lt, l, "username", ts_text(""));
    set(lt, l, "first_name", ts_text("مریم"));
    set(lt, l, "last_name", ts_text("😀 \xe2\x80\x8f rtl"));
    set(lt, l, "status", ts_text("active"));
    set(lt, l, "language", ts_text("fa"));
    set(lt, l, "balance_kopeks", ts_int(-5));
    set(lt, l, "used_promocodes", ts_int(0));
    set(lt, l, "has_had_paid_subscription", ts_bool(1));
    set(lt, l, "referred_by_id", ts_int(12));
    set(lt, l, "created_at", ts_time("2023-12-31T23:59:59.999999Z"));
    /* columns of the real bot's that no repository declares: carried all the same */
    set(lt, l, "remnawave_uuid", ts_text("9f6c1c2e-0c1b-4a57-9d1e-2f0c8a7b6d5e"));
    set(lt, l, "auto_promo_group_assigned", ts_bool(0));
    set(lt, l, "auto_promo_group_threshold_kopeks", ts_int(0));
    set(lt, l, "promo_offer_discount_percent", ts_int(15));
    set(lt, l, "has_made_first_topup", ts_bool(1));

    assert_int_equal(ts_tmap_to_new(tm, l, n, &text, &err), 0);
    assert_int_equal(get(nt, n, "bot_id")->type, TS_INT);
    assert_int_equal(get(nt, n, "bot_id")->i, 1);
    for (int c = 0; c < lt->ncols; c++) {
        assert_true(ts_value_equal(&l[c], get(nt, n, lt->cols[c].name)));
        assert_int_equal(l[c].type, get(nt, n, lt->cols[c].name)->type);
    }
    for (int c = 0; c < nt->ncols; c++)
        assert_true(ts_tmap_fills(tm, c));
    assert_int_equal(ts_tmap_to_legacy(tm, n, back, &btext, &err), 0);
    assert_rows_equal(lt, l, back);
    assert_int_equal(get(lt, back, "username")->type, TS_TEXT);
    assert_text(get(lt, back, "remnawave_uuid"), "9f6c1c2e-0c1b-4a57-9d1e-2f0c8a7b6d5e");
    ts_buf_free(&text);
    ts_buf_free(&btext);
    ts_manifest_free(m);
}

/* ---- rows: the system_settings split ----------------------------------------------- */

static void settings_row(ts_value *row, const char *key, ts_value value)
{
    const ts_table *t = ts_schema_table(ts_schema_legacy(), "system_settings");
    set(t, row, "key", ts_text(key));
    set(t, row, "value", value);
}

static void test_settings_feature_flag(void **state)
{
    static const char *const on[] = {"true", "1", "on", "yes"};
    static const char *const off[] = {"false", "0", "off", "no"};
    ts_manifest *m;
    ts_error err;
    ts_buf text = {0}, btext = {0};
    ts_value l[8] = {0}, n[8] = {0}, back[8] = {0};
    (void)state;
    assert_int_equal(ts_manifest_load_default(&m, &err), 0);
    const ts_tmap *flags = tmap_of(m, "bot_feature_flags");
    const ts_tmap *confs = tmap_of(m, "bot_configurations");
    const ts_table *nt = flags->target, *lt = flags->legacy;

    for (int i = 0; i < 8; i++) {
        settings_row(l, "CARD_TO_CARD_ENABLED", ts_text(i < 4 ? on[i] : off[i - 4]));
        assert_true(ts_tmap_accepts(flags, l));
        assert_false(ts_tmap_accepts(confs, l));
        assert_ptr_equal(ts_manifest_route(m, "system_settings", l), flags);
        assert_int_equal(ts_tmap_to_new(flags, l, n, &text, &err), 0);
        assert_int_equal(get(nt, n, "bot_id")->i, 1);
        assert_text(get(nt, n, "feature_key"), "card_to_card");
        assert_int_equal(get(nt, n, "enabled")->type, TS_BOOL);
        assert_int_equal(get(nt, n, "enabled")->i, i < 4);
        assert_text(get(nt, n, "config"), "{}");
        /* Back: every spelling of on comes back as the first, 'true'. */
        assert_int_equal(ts_tmap_to_legacy(flags, n, back, &btext, &err), 0);
        assert_text(get(lt, back, "key"), "CARD_TO_CARD_ENABLED");
        assert_text(get(lt, back, "value"), i < 4 ? "true" : "false");
    }
    assert_int_equal(flags->nnew_key, 2);
    assert_string_equal(nt->cols[flags->new_key[1]].name, "feature_key");

    settings_row(l, "ZARINPAL_ENABLED", ts_text("maybe"));
    assert_int_equal(ts_tmap_to_new(flags, l, n, &text, &err), -1);
    assert_non_null(strstr(err.msg, "system_settings row (key='ZARINPAL_ENABLED') column value: "
                                    "'maybe' is not in value map switch"));
    settings_row(l, "ZARINPAL_ENABLED", ts_null());
    assert_int_equal(ts_tmap_to_new(flags, l, n, &text, &err), -1);
    assert_non_null(strstr(err.msg, "is NULL, but the new column it fills is NOT NULL"));

    /* A flag whose key legacy does not know. */
    set(nt, n, "feature_key", ts_text("tenant_only_feature"));
    assert_int_equal(ts_tmap_to_legacy(flags, n, back, &btext, &err), -1);
    assert_non_null(strstr(err.msg, "bot_feature_flags row (bot_id=1, "
                                    "feature_key='tenant_only_feature') column feature_key"));
    ts_buf_free(&text);
    ts_buf_free(&btext);
    ts_manifest_free(m);
}

static void test_settings_configuration(void **state)
{
    static const char *const values[] = {"", "سلام \"دنیا\"\n\ttab\\ \x01 👋", "{\"not\":\"json\"}",
                                         "0"};
    static const char *const encoded[] = {"\"\"", "\"سلام \\\"دنیا\\\"\\u000a\\u0009tab\\\\ "
                                          "\\u0001 👋\"", "\"{\\\"not\\\":\\\"json\\\"}\"",
                                          "\"0\""};
    ts_manifest *m;
    ts_error err;
    ts_buf text = {0}, btext = {0};
    ts_value l[8] = {0}, n[8] = {0}, back[8] = {0};
    (void)state;
    assert_int_equal(ts_manifest_load_default(&m, &err), 0);
    const ts_tmap *flags = tmap_of(m, "bot_feature_flags");
    const ts_tmap *confs = tmap_of(m, "bot_configurations");
    const ts_table *nt = confs->target;

    for (int i = 0; i < 4; i++) {
        settings_row(l, "WELCOME_TEXT", ts_text(values[i]));
        assert_false(ts_tmap_accepts(flags, l));
        assert_true(ts_tmap_accepts(confs, l));
        assert_ptr_equal(ts_manifest_route(m, "system_settings", l), confs);
        assert_int_equal(ts_tmap_to_new(confs, l, n, &text, &err), 0);
        assert_text(get(nt, n, "config_key"), "WELCOME_TEXT");
        assert_text(get(nt, n, "config_value"), encoded[i]);
        assert_int_equal(ts_tmap_to_legacy(confs, n, back, &btext, &err), 0);
        assert_rows_equal(confs->legacy, l, back);
    }

    /* NULL and '' stay apart: JSON null and "". */
    settings_row(l, "SUPPORT_USERNAME", ts_null());
    assert_int_equal(ts_tmap_to_new(confs, l, n, &text, &err), 0);
    assert_text(get(nt, n, "config_value"), "null");
    assert_int_equal(ts_tmap_to_legacy(confs, n, back, &btext, &err), 0);
    assert_int_equal(get(confs->legacy, back, "value")->type, TS_NULL);

    /* Non-string JSON a tenant stored reads back as its JSON text. */
    set(nt, n, "config_value", ts_text("[1, 2]"));
    assert_int_equal(ts_tmap_to_legacy(confs, n, back, &btext, &err), 0);
    assert_text(get(confs->legacy, back, "value"), "[1, 2]");
    set(nt, n, "config_value", ts_text("{broken"));
    assert_int_equal(ts_tmap_to_legacy(confs, n, back, &btext, &err), -1);
    assert_non_null(strstr(err.msg, "bot_configurations row (bot_id=1, "
                                    "config_key='SUPPORT_USERNAME') column config_value: is not "
                                    "valid JSON"));

    /* The filter holds on the way back too: a feature key in configurations
       would come back as a flag. */
    set(nt, n, "config_key", ts_text("YOOKASSA_ENABLED"));
    set(nt, n, "config_value", ts_text("\"true\""));
    assert_int_equal(ts_tmap_to_legacy(confs, n, back, &btext, &err), -1);
    assert_non_null(strstr(err.msg, "bot_configurations row (bot_id=1, "
                                    "config_key='YOOKASSA_ENABLED'): as a legacy system_settings "
                                    "row it would belong to value map feature_keys"));
    ts_buf_free(&text);
    ts_buf_free(&btext);
    ts_manifest_free(m);
}

/* Produced text stays valid while the buffer grows over many columns and rows. */
static void test_text_buffer_reuse(void **state)
{
    ts_manifest *m;
    ts_error err;
    ts_buf text = {0}, btext = {0};
    ts_value l[8] = {0}, n[8] = {0};
    char big[3000];
    (void)state;
    assert_int_equal(ts_manifest_load_default(&m, &err), 0);
    const ts_tmap *confs = tmap_of(m, "bot_configurations");
    memset(big, '"', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    for (int round = 0; round < 3; round++) {
        settings_row(l, "K", ts_text(round == 1 ? big : "x"));
        assert_int_equal(ts_tmap_to_new(confs, l, n, &text, &err), 0);
        assert_int_equal(n[2].len, round == 1 ? 2 * strlen(big) + 2 : 3);
        assert_int_equal(n[2].s[0], '"');
    }
    /* Converting a row back into the buffer it borrows from is refused. */
    assert_int_equal(ts_tmap_to_legacy(confs, n, l, &text, &err), -1);
    assert_int_equal(err.code, TS_E_INTERNAL);
    assert_non_null(strstr(err.msg, "output buffer"));
    ts_buf_free(&text);
    ts_buf_free(&btext);
    ts_manifest_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_loads_in_dependency_order),
        cmocka_unit_test(test_default_covers_the_schemas),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_the_test_manifest_loads),
        cmocka_unit_test(test_reject_malformed_json),
        cmocka_unit_test(test_reject_unknown_fields_and_kinds),
        cmocka_unit_test(test_reject_bad_ids_and_dependencies),
        cmocka_unit_test(test_reject_unknown_tables_and_columns),
        cmocka_unit_test(test_reject_keys),
        cmocka_unit_test(test_reject_lost_or_unfilled_columns),
        cmocka_unit_test(test_reject_bad_maps_constants_and_types),
        cmocka_unit_test(test_reject_double_ownership),
        cmocka_unit_test(test_reject_bad_filters),
        cmocka_unit_test(test_reject_identifiers_utf8_and_sizes),
        cmocka_unit_test(test_c2c_round_trip),
        cmocka_unit_test(test_c2c_every_mapped_value),
        cmocka_unit_test(test_users_round_trip),
        cmocka_unit_test(test_settings_feature_flag),
        cmocka_unit_test(test_settings_configuration),
        cmocka_unit_test(test_text_buffer_reuse),
    };
    return cmocka_run_group_tests_name("manifest", tests, NULL, NULL);
}
