/*
 * test_admin.c: ts-admin (bin/ts-admin, run as operators run it) on SQLite and
 * PostgreSQL pairs with the data increments at read_new: every command, bad
 * input and its exit codes, the audit row without the tokens; and the tenant
 * wallet credited by purchases, two threads at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "test_repo.h"
#include "ts_tenant.h"

#define TOKEN "7000:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawA"
#define TOKEN2 "7001:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawB"
#define SECRET "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"   /* what no output and no audit row holds */

typedef struct run {
    int rc;
    char *out, *err;
    cJSON *json;        /* stdout parsed, with --json */
} run;

/* ts-admin --json --legacy L --new N ARGS... with env (NULL: none). */
static run admin_env(repo_fx *fx, const char *const *env, const char *const *args)
{
    const char *argv[24] = {"bin/ts-admin", "--json", "--legacy", fx->pair.legacy.url, "--new",
                            fx->pair.nw.url};
    int n = 6;
    for (int i = 0; args[i]; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    run r = {0};
    r.rc = ts_test_run(argv, env, &r.out, &r.err);
    r.json = cJSON_Parse(r.out);
    /* Whatever the command, the bot token's secret is never printed. */
    assert_null(strstr(r.out, SECRET));
    assert_null(strstr(r.err, SECRET));
    return r;
}

#define ADMIN(fx, ...) admin_env(fx, NULL, (const char *const[]){__VA_ARGS__, NULL})

static void run_free(run *r)
{
    free(r->out);
    free(r->err);
    cJSON_Delete(r->json);
}

static int64_t num(const cJSON *j, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    assert_true(cJSON_IsNumber(v));
    return (int64_t)v->valuedouble;
}

static const char *str(const cJSON *j, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

static void expect_rc(run *r, int want)
{
    if (r->rc != want)
        fail_msg("exit %d, want %d: %s%s", r->rc, want, r->out, r->err);
}

/* bot create with the token from the environment; the new id. */
static int64_t create(repo_fx *fx, const char *token, char api[TS_REPO_API_TOKEN_SIZE])
{
    char env[128];
    snprintf(env, sizeof env, "TS_TENANT_TOKEN=%s", token);
    run r = admin_env(fx, (const char *const[]){env, NULL},
                      (const char *const[]){"bot", "create", "--name", "Tenant shop",
                                            "--language", "en", "--admin-chat", "9100", NULL});
    expect_rc(&r, 0);
    int64_t id = num(r.json, "id");
    snprintf(api, TS_REPO_API_TOKEN_SIZE, "%s", str(r.json, "api_token"));
    char masked[16];
    snprintf(masked, sizeof masked, "%.5s****", token);   /* the public bot id only */
    assert_string_equal(str(r.json, "telegram_bot_token"), masked);
    run_free(&r);
    return id;
}

/* NOUN delete ID ITEM: deleted, then a second time no such one (exit 4 saying says). */
static void delete_twice(repo_fx *fx, const char *noun, const char *ids, const char *item,
                         const char *says)
{
    run r = ADMIN(fx, noun, "delete", ids, item);
    expect_rc(&r, 0);
    assert_int_equal(num(r.json, "deleted"), atoll(item));
    run_free(&r);
    r = ADMIN(fx, noun, "delete", ids, item);
    expect_rc(&r, 4);
    assert_non_null(strstr(r.err, says));
    run_free(&r);
}

/* A tenant bot for a test: its id, also as text in ids (24 bytes). */
static int64_t tenant(repo_fx *fx, char *ids)
{
    char api[TS_REPO_API_TOKEN_SIZE];
    int64_t id = create(fx, TOKEN, api);
    snprintf(ids, 24, "%lld", (long long)id);
    return id;
}

static void test_bot_commands(void **state)
{
    repo_fx *fx = *state;
    char api[TS_REPO_API_TOKEN_SIZE], where[160], ids[24];
    ts_bot b;
    int64_t id = create(fx, TOKEN, api);
    snprintf(ids, sizeof ids, "%lld", (long long)id);
    assert_int_equal(strlen(api), 68);
    /* only the API token's hash is stored, and it finds the bot */
    snprintf(where, sizeof where, "api_token_hash = '%s'", api);
    assert_int_equal(repo_count(fx->pair.nw.url, "bots", where), 0);
    ts_tx *tx = repo_begin(fx, 1);
    EXPECT(fx, ts_repo_bot_by_api_token(tx, api, &b, &fx->err), 1);
    assert_int_equal(b.id, id);
    assert_string_equal(b.telegram_bot_token, TOKEN);
    assert_int_equal(b.admin_chat_id, 9100);
    repo_commit(fx, tx);

    run r = ADMIN(fx, "bot", "list");
    expect_rc(&r, 0);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "items")), 2);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(r.json, "next")));
    run_free(&r);
    /* quotes, a semicolon, Persian text: bound, stored as given */
    const char *odd = "O'Brien\"; DROP TABLE bots; -- فروشگاه";
    r = ADMIN(fx, "bot", "update", ids, "--name", odd, "--support", "shop_help",
              "--card-to-card", "on", "--zarinpal-merchant", "abcd-1234");
    expect_rc(&r, 0);
    assert_string_equal(str(r.json, "name"), odd);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r.json, "card_to_card_enabled")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r.json, "zarinpal_merchant_set")));
    assert_null(strstr(r.out, "abcd-1234"));
    run_free(&r);
    r = ADMIN(fx, "bot", "deactivate", ids);
    expect_rc(&r, 0);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(r.json, "is_active")));
    run_free(&r);
    r = ADMIN(fx, "bot", "activate", ids);
    expect_rc(&r, 0);
    run_free(&r);
    r = ADMIN(fx, "bot", "show", ids);
    expect_rc(&r, 0);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r.json, "is_active")));
    assert_string_equal(str(r.json, "support_username"), "shop_help");
    run_free(&r);
    /* text output: masked as well */
    const char *argv[] = {"bin/ts-admin", "--legacy", fx->pair.legacy.url, "--new",
                          fx->pair.nw.url, "bot", "show", ids, NULL};
    char *out, *err;
    assert_int_equal(ts_test_run(argv, NULL, &out, &err), 0);
    assert_non_null(strstr(out, "telegram_bot_token: 7000:****"));
    assert_null(strstr(out, SECRET));
    free(out);
    free(err);

    r = ADMIN(fx, "bot", "delete", "1", "--confirm");
    expect_rc(&r, 3);
    assert_non_null(strstr(r.err, "master"));
    run_free(&r);
    r = ADMIN(fx, "bot", "delete", ids);
    expect_rc(&r, 3);
    assert_non_null(strstr(r.err, "--confirm"));
    run_free(&r);
    r = ADMIN(fx, "bot", "delete", ids, "--confirm");
    expect_rc(&r, 0);
    run_free(&r);
    r = ADMIN(fx, "bot", "show", ids);
    expect_rc(&r, 4);
    run_free(&r);
    assert_int_equal(repo_count(fx->pair.nw.url, "bots", "id = 1"), 1);
}

static void test_bad_input(void **state)
{
    repo_fx *fx = *state;
    char api[TS_REPO_API_TOKEN_SIZE], ids[24];
    int64_t id = create(fx, TOKEN, api);
    snprintf(ids, sizeof ids, "%lld", (long long)id);
    const struct { const char *args[8]; int rc; const char *says; } cases[] = {
        {{"bot", "create", "--name", "x", "--token", TOKEN}, 3, "already uses"},
        {{"bot", "update", "1", "--token", TOKEN}, 3, "already uses"},
        {{"bot", "create", "--name", "x", "--token", "7002:" SECRET "!"}, 2, "malformed"},
        {{"bot", "create", "--name", "x"}, 2, "Telegram token"},
        {{"bot", "create", "--token", TOKEN2}, 2, "--name"},
        {{"bot", "create", "--name", "bad\xff\xfe", "--token", TOKEN2}, 2, "UTF-8"},
        {{"bot", "create", "--name", "tab\there", "--token", TOKEN2}, 2, "control"},
        {{"bot", "update", ids, "--language", "en'; --"}, 2, "language"},
        {{"bot", "update", ids}, 2, "at least one"},
        {{"bot", "show", "12x"}, 2, "bot ID"},
        {{"bot", "show", "999"}, 4, "no bot 999"},
        {{"bot", "fly", "1"}, 2, "unknown command"},
        {{"flags", "set", ids, "a'b", "on"}, 2, "flag KEY"},
        {{"flags", "set", ids, "k", "maybe"}, 2, "on or off"},
        {{"config", "set", ids, "k", "{not json"}, 2, "JSON"},
        {{"config", "set", ids, "k", "\"\xc3\x28\""}, 2, "JSON"},
        {{"wallet", "show"}, 2, "bot ID"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run r = admin_env(fx, NULL, cases[i].args);
        if (r.rc != cases[i].rc || strstr(r.err, cases[i].says) == NULL)
            fail_msg("case %zu (%s %s): exit %d, want %d saying '%s': %s", i, cases[i].args[0],
                     cases[i].args[1], r.rc, cases[i].rc, cases[i].says, r.err);
        run_free(&r);
    }
    assert_int_equal(repo_count(fx->pair.nw.url, "bots", "1 = 1"), 2);
    /* the secret of a malformed token is not in the audit either */
    assert_int_equal(repo_count(fx->pair.nw.url, "ts_audit", "args LIKE '%" SECRET "%' OR error "
                                "LIKE '%" SECRET "%'"), 0);
    /* a store that does not answer */
    const char *argv[] = {"bin/ts-admin", "--legacy", "postgresql://127.0.0.1:1/none", "--new",
                          "postgresql://127.0.0.1:1/none", "bot", "list", NULL};
    char *out, *err;
    assert_int_equal(ts_test_run(argv, NULL, &out, &err), 7);
    free(out);
    free(err);
    run r = ADMIN(fx, "bot", "delete", ids, "--confirm");
    expect_rc(&r, 0);
    run_free(&r);
}

static void test_flags_config(void **state)
{
    repo_fx *fx = *state;
    char ids[24];
    tenant(fx, ids);
    run r = ADMIN(fx, "flags", "set", ids, "card_to_card", "on", "{\"limit\": 5}");
    expect_rc(&r, 0);
    run_free(&r);
    r = ADMIN(fx, "flags", "set", ids, "zarinpal", "off");
    expect_rc(&r, 0);
    run_free(&r);
    r = ADMIN(fx, "flags", "list", ids);
    expect_rc(&r, 0);
    assert_int_equal(cJSON_GetArraySize(r.json), 2);
    const cJSON *f0 = cJSON_GetArrayItem(r.json, 0);
    assert_string_equal(str(f0, "key"), "card_to_card");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(f0, "enabled")));
    assert_int_equal(num(cJSON_GetObjectItem(f0, "config"), "limit"), 5);
    run_free(&r);
    r = ADMIN(fx, "flags", "unset", ids, "zarinpal");
    expect_rc(&r, 0);
    assert_string_equal(str(r.json, "result"), "unset");
    run_free(&r);
    r = ADMIN(fx, "flags", "unset", ids, "zarinpal");
    expect_rc(&r, 0);
    assert_string_equal(str(r.json, "result"), "was not set");
    run_free(&r);
    /* the tenant's flags are its own: the master has none of them */
    ts_tx *tx = repo_begin(fx, 1);
    EXPECT(fx, ts_repo_flag_enabled(tx, "card_to_card", &fx->err), 0);
    repo_commit(fx, tx);

    r = ADMIN(fx, "config", "set", ids, "welcome.text", "\"Salam, it's \\\"us\\\"\"");
    expect_rc(&r, 0);
    run_free(&r);
    r = ADMIN(fx, "config", "list", ids);
    expect_rc(&r, 0);
    assert_int_equal(cJSON_GetArraySize(r.json), 1);
    assert_string_equal(str(cJSON_GetArrayItem(r.json, 0), "value"), "Salam, it's \"us\"");
    run_free(&r);
    r = ADMIN(fx, "config", "unset", ids, "welcome.text");
    expect_rc(&r, 0);
    run_free(&r);
    r = ADMIN(fx, "config", "list", ids);
    assert_int_equal(cJSON_GetArraySize(r.json), 0);
    run_free(&r);
    r = ADMIN(fx, "bot", "delete", ids, "--confirm");
    expect_rc(&r, 0);
    run_free(&r);
}

/* Every change leaves an audit row with the command, masked arguments, the result. */
static void test_audit(void **state)
{
    repo_fx *fx = *state;
    char api[TS_REPO_API_TOKEN_SIZE], where[200];
    const char *argv[] = {"bin/ts-admin", "--legacy", fx->pair.legacy.url, "--new",
                          fx->pair.nw.url, "--actor", "ops-anna", "--reason", "onboard shop",
                          "bot", "create", "--name", "Audited", "--tok", TOKEN2, NULL};
    char *out, *err;
    assert_int_equal(ts_test_run(argv, NULL, &out, &err), 0);
    /* text output: the api token line, once */
    const char *line = strstr(out, "api_token: tsk_");
    assert_non_null(line);
    snprintf(api, sizeof api, "%.68s", line + strlen("api_token: "));
    free(out);
    free(err);
    snprintf(where, sizeof where, "command = 'bot create' AND actor = 'ops-anna' AND result = "
             "'ok' AND args LIKE '%%--tok 7001:****%%' AND error LIKE '%%onboard shop%%'");
    assert_int_equal(repo_count(fx->pair.nw.url, "ts_audit", where), 1);
    static const char *const never[] = {SECRET, NULL};
    for (int i = 0; i < 2; i++) {
        const char *s = never[i] ? never[i] : api;
        snprintf(where, sizeof where, "args LIKE '%%%s%%' OR error LIKE '%%%s%%'", s, s);
        assert_int_equal(repo_count(fx->pair.nw.url, "ts_audit", where), 0);
    }
    run r = ADMIN(fx, "bot", "show", "4242");
    expect_rc(&r, 4);
    run_free(&r);
    assert_int_equal(repo_count(fx->pair.nw.url, "ts_audit", "command = 'bot show' AND result "
                                "= 'failed' AND error LIKE '%no bot 4242%'"), 1);
    int64_t id = ts_test_int(fx->pair.nw.url, "SELECT max(id) FROM bots");
    char ids[24];
    snprintf(ids, sizeof ids, "%lld", (long long)id);
    r = ADMIN(fx, "bot", "delete", ids, "--confirm");
    expect_rc(&r, 0);
    run_free(&r);
}


/* ---- plans and cards ----------------------------------------------------------------------- */

static void test_plan_commands(void **state)
{
    repo_fx *fx = *state;
    char ids[24], p[3][24];
    tenant(fx, ids);
    static const char *const names[3] = {"Bronze", "Silver", "O'Brien\"; DROP TABLE bot_plans; --"};
    for (int i = 0; i < 3; i++) {
        char days[8];
        snprintf(days, sizeof days, "%d", 30 * (i + 1));
        run r = ADMIN(fx, "plans", "create", ids, "--name", names[i], "--period-days", days,
                      "--price", "90000", "--traffic-gb", "50", "--sort", days);
        expect_rc(&r, 0);
        snprintf(p[i], sizeof p[i], "%lld", (long long)num(r.json, "id"));
        assert_string_equal(str(r.json, "name"), names[i]);
        assert_int_equal(num(r.json, "device_limit"), 1);
        assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r.json, "is_active")));
        run_free(&r);
    }
    run r = ADMIN(fx, "plans", "update", ids, p[1], "--price", "170000", "--devices", "2");
    expect_rc(&r, 0);
    assert_int_equal(num(r.json, "price_kopeks"), 170000);
    assert_int_equal(num(r.json, "device_limit"), 2);
    assert_int_equal(num(r.json, "period_days"), 60);
    run_free(&r);
    r = ADMIN(fx, "plans", "show", ids, p[1]);
    expect_rc(&r, 0);
    assert_string_equal(str(r.json, "name"), "Silver");
    run_free(&r);
    r = ADMIN(fx, "plans", "deactivate", ids, p[0]);
    expect_rc(&r, 0);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(r.json, "is_active")));
    run_free(&r);
    r = ADMIN(fx, "plans", "activate", ids, p[0]);
    expect_rc(&r, 0);
    run_free(&r);
    r = ADMIN(fx, "plans", "order", ids, p[2], p[0], p[1]);
    expect_rc(&r, 0);
    assert_string_equal(str(cJSON_GetArrayItem(r.json, 0), "name"), names[2]);
    assert_string_equal(str(cJSON_GetArrayItem(r.json, 2), "name"), "Silver");
    run_free(&r);
    r = ADMIN(fx, "plans", "order", ids, p[1], "999999");   /* all or none */
    expect_rc(&r, 4);
    run_free(&r);
    r = ADMIN(fx, "plans", "list", ids);
    expect_rc(&r, 0);
    assert_int_equal(cJSON_GetArraySize(r.json), 3);
    assert_string_equal(str(cJSON_GetArrayItem(r.json, 0), "name"), names[2]);
    run_free(&r);
    /* the master's plans are not the tenant's */
    assert_int_equal(repo_count(fx->pair.nw.url, "bot_plans", "bot_id = 1"), 0);
    r = ADMIN(fx, "plans", "show", "1", p[0]);
    expect_rc(&r, 4);
    assert_non_null(strstr(r.err, "no plan"));
    run_free(&r);
    delete_twice(fx, "plans", ids, p[0], "no plan");
    /* text output: a line per plan */
    const char *argv[] = {"bin/ts-admin", "--legacy", fx->pair.legacy.url, "--new",
                          fx->pair.nw.url, "plans", "list", ids, NULL};
    char *out, *err;
    assert_int_equal(ts_test_run(argv, NULL, &out, &err), 0);
    assert_non_null(strstr(out, " name=Silver "));
    free(out);
    free(err);
    char where[160];
    /* (getopt puts the options first) */
    snprintf(where, sizeof where, "command = 'plans update' AND result = 'ok' AND args LIKE "
             "'%%--price 170000 --devices 2 plans update %s %s'", ids, p[1]);
    assert_int_equal(repo_count(fx->pair.nw.url, "ts_audit", where), 1);
    r = ADMIN(fx, "bot", "delete", ids, "--confirm");
    expect_rc(&r, 0);
    run_free(&r);
}

#define CARD_A "6037-9911-2233-4455"
#define CARD_B "6219861055667788"

static void test_card_commands(void **state)
{
    repo_fx *fx = *state;
    char ids[24], c[2][24], where[200];
    int64_t id = tenant(fx, ids);
    run r = ADMIN(fx, "cards", "rotation", ids, "random");
    expect_rc(&r, 3);   /* no card to keep it on */
    assert_non_null(strstr(r.err, "no payment cards"));
    run_free(&r);
    r = ADMIN(fx, "cards", "create", ids, "--card-number", CARD_A, "--holder", "Sara Ahmadi",
              "--weight", "3");
    expect_rc(&r, 0);
    snprintf(c[0], sizeof c[0], "%lld", (long long)num(r.json, "id"));
    assert_string_equal(str(r.json, "card_number"), "****4455");
    assert_int_equal(num(r.json, "weight"), 3);
    assert_null(strstr(r.out, "2233"));
    run_free(&r);
    r = ADMIN(fx, "cards", "create", ids, "--card-number=" CARD_B, "--holder", "Reza",
              "--active", "off");
    expect_rc(&r, 0);
    snprintf(c[1], sizeof c[1], "%lld", (long long)num(r.json, "id"));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(r.json, "is_active")));
    run_free(&r);
    r = ADMIN(fx, "cards", "create", ids, "--card-number", "6037 9911 2233 4455", "--holder", "x");
    expect_rc(&r, 3);   /* the same digits */
    assert_null(strstr(r.err, "2233"));
    run_free(&r);
    r = ADMIN(fx, "cards", "update", ids, c[1], "--active", "on", "--holder", "Reza K.");
    expect_rc(&r, 0);
    assert_string_equal(str(r.json, "card_holder_name"), "Reza K.");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r.json, "is_active")));
    run_free(&r);
    r = ADMIN(fx, "cards", "show", ids, c[1]);
    expect_rc(&r, 0);
    assert_string_equal(str(r.json, "card_number"), "****7788");
    run_free(&r);
    r = ADMIN(fx, "cards", "rotation", ids, "time_based", "--interval", "15");
    expect_rc(&r, 0);
    assert_string_equal(str(r.json, "strategy"), "time_based");
    assert_int_equal(num(r.json, "interval_minutes"), 15);
    assert_int_equal(num(r.json, "cards"), 2);
    run_free(&r);
    r = ADMIN(fx, "cards", "rotation", ids);
    expect_rc(&r, 0);
    assert_string_equal(str(r.json, "strategy"), "time_based");
    run_free(&r);
    snprintf(where, sizeof where, "bot_id = %lld AND rotation_strategy = 'time_based' AND "
             "rotation_interval_minutes = 15", (long long)id);
    assert_int_equal(repo_count(fx->pair.nw.url, "tenant_payment_cards", where), 2);
    r = ADMIN(fx, "cards", "stats", ids);
    expect_rc(&r, 0);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "items")), 2);
    assert_int_equal(num(cJSON_GetObjectItem(r.json, "totals"), "approved_amount_kopeks"), 0);
    run_free(&r);
    /* pages */
    r = ADMIN(fx, "cards", "list", ids, "--limit", "1");
    expect_rc(&r, 0);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "items")), 1);
    assert_int_equal(num(r.json, "next"), atoll(c[0]));
    run_free(&r);
    r = ADMIN(fx, "cards", "list", ids, "--limit", "1", "--after", c[0]);
    expect_rc(&r, 0);
    assert_int_equal(num(cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "items"), 0), "id"),
                     atoll(c[1]));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(r.json, "next")));
    run_free(&r);
    r = ADMIN(fx, "bot", "list", "--limit", "1");
    expect_rc(&r, 0);
    assert_int_equal(num(r.json, "next"), 1);
    run_free(&r);
    r = ADMIN(fx, "bot", "list", "--after", "1");
    expect_rc(&r, 0);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "items")), 1);
    assert_int_equal(num(cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "items"), 0), "id"), id);
    run_free(&r);
    /* text output: a line per card, then next; masked */
    const char *argv[] = {"bin/ts-admin", "--legacy", fx->pair.legacy.url, "--new",
                          fx->pair.nw.url, "cards", "list", ids, "--limit", "1", NULL};
    char *out, *err;
    assert_int_equal(ts_test_run(argv, NULL, &out, &err), 0);
    assert_non_null(strstr(out, " card_number=****4455 "));
    assert_non_null(strstr(out, "\nnext: "));
    assert_null(strstr(out, "2233"));
    free(out);
    free(err);
    /* the master's cards are not the tenant's */
    r = ADMIN(fx, "cards", "show", "1", c[0]);
    expect_rc(&r, 4);
    run_free(&r);
    delete_twice(fx, "cards", ids, c[0], "no card");
    /* the audit has the commands, never the numbers */
    assert_int_equal(repo_count(fx->pair.nw.url, "ts_audit", "command = 'cards create' AND "
                                "result = 'ok' AND args LIKE '%--card-number 603****%'"), 1);
    assert_int_equal(repo_count(fx->pair.nw.url, "ts_audit", "command = 'cards create' AND "
                                "args LIKE '%--card-number=621****%'"), 1);
    assert_int_equal(repo_count(fx->pair.nw.url, "ts_audit", "args LIKE '%2233%' OR args LIKE "
                                "'%5566%' OR error LIKE '%2233%' OR error LIKE '%5566%'"), 0);
    r = ADMIN(fx, "bot", "delete", ids, "--confirm");
    expect_rc(&r, 0);
    run_free(&r);
}

static void test_plan_card_bad_input(void **state)
{
    repo_fx *fx = *state;
    char ids[24], where[64];
    int64_t id = tenant(fx, ids);
    const struct { const char *args[12]; int rc; const char *says; } cases[] = {
        {{"plans", "create", ids, "--name", "x"}, 2, "--period-days"},
        {{"plans", "create", ids, "--name", "x", "--period-days", "0", "--price", "1"}, 2,
         "period_days: at least 1"},
        {{"plans", "create", ids, "--name", "x", "--period-days", "3", "--price", "-1"}, 2,
         "price_kopeks"},
        {{"plans", "create", ids, "--name", "x", "--period-days", "3x", "--price", "1"}, 2,
         "--period-days"},
        {{"plans", "create", ids, "--name", "x", "--period-days", "3", "--price", "1",
          "--weight", "2"}, 2, "takes no --weight"},
        {{"plans", "update", ids, "1"}, 2, "at least one"},
        {{"plans", "update", ids, "--price", "1"}, 2, "PLAN"},
        {{"plans", "show", ids, "abc"}, 2, "PLAN"},
        {{"plans", "show", ids, "999999"}, 4, "no plan"},
        {{"plans", "order", ids}, 2, "PLAN ids"},
        {{"plans", "order", ids, "5", "5"}, 2, "twice"},
        {{"plans", "list", ids, "--limit", "2"}, 2, "--limit"},
        {{"cards", "create", ids, "--holder", "x"}, 2, "--card-number"},
        {{"cards", "create", ids, "--card-number", "6037", "--holder", "x"}, 2, "digits"},
        {{"cards", "create", ids, "--card-number", "6037'; DROP TABLE bots;--", "--holder", "x"},
         2, "digits"},
        {{"cards", "create", ids, "--card-number", "6037991122334455", "--holder", "bad\xff"}, 2,
         "UTF-8"},
        {{"cards", "create", ids, "--card-number", "6037991122334455", "--holder", "x",
          "--period-days", "3"}, 2, "takes no --period-days"},
        {{"cards", "create", ids, "--card-number", "6037991122334455", "--holder", "x",
          "--weight", "-1"}, 2, "weight"},
        {{"cards", "rotation", ids, "fastest"}, 2, "round_robin"},
        {{"cards", "rotation", ids, "random", "x"}, 2, "STRATEGY"},
        {{"cards", "rotation", ids, "--interval", "5"}, 2, "--interval"},
        {{"cards", "rotation", ids, "time_based", "--interval", "0"}, 2, "--interval"},
        {{"cards", "list", ids, "--limit", "0"}, 2, "--limit"},
        {{"cards", "list", ids, "--limit", "201"}, 2, "at most 200"},
        {{"cards", "list", ids, "--after", "x"}, 2, "--after"},
        {{"bot", "list", "--after", "-1"}, 2, "--after"},
        {{"cards", "show", ids, "999999"}, 4, "no card"},
        {{"cards", "stats"}, 2, "bot ID"},
        {{"bot", "show", ids, "--holder", "x"}, 2, "takes no --holder"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run r = admin_env(fx, NULL, cases[i].args);
        if (r.rc != cases[i].rc || strstr(r.err, cases[i].says) == NULL)
            fail_msg("case %zu (%s %s): exit %d, want %d saying '%s': %s", i, cases[i].args[0],
                     cases[i].args[1], r.rc, cases[i].rc, cases[i].says, r.err);
        assert_null(strstr(r.err, "22334455"));
        run_free(&r);
    }
    snprintf(where, sizeof where, "bot_id = %lld", (long long)id);
    assert_int_equal(repo_count(fx->pair.nw.url, "bot_plans", where), 0);
    assert_int_equal(repo_count(fx->pair.nw.url, "tenant_payment_cards", where), 0);
    run r = ADMIN(fx, "bot", "delete", ids, "--confirm");
    expect_rc(&r, 0);
    run_free(&r);
}


/* A shim of a thread's own (units of work as another process's); NULL with why in failure. */
static ts_shim *thread_shim(repo_fx *fx, char *failure, size_t n)
{
    ts_shim *sh;
    ts_error err;
    ts_shim_config cfg = {.legacy_url = fx->pair.legacy.url, .new_url = fx->pair.nw.url,
                          .program = "test_admin"};
    if (ts_shim_open(&cfg, &sh, &err) == 0)
        return sh;
    snprintf(failure, n, "shim: %s", err.msg);
    return NULL;
}

/* Two processes' units giving one bot the same card number at once: one card. */
#define RACES 8
typedef struct carder {
    repo_fx *fx;
    int64_t bot;
    int made, refused;
    char failure[sizeof ((ts_error *)0)->msg + 32]; /* "card create: " and the error */
} carder;

static void *make_cards(void *arg)
{
    carder *c = arg;
    ts_error err;
    ts_shim *sh = thread_shim(c->fx, c->failure, sizeof c->failure);
    if (sh == NULL)
        return NULL;
    for (int i = 0; i < RACES && !c->failure[0]; i++) {
        char number[24];
        snprintf(number, sizeof number, "50222910000000%02d", i);
        ts_tenant_op op = {.verb = TS_TENANT_CARD_CREATE, .bot_id = c->bot, .nfields = 2,
                           .fields = {{"card_number", ts_text(number)},
                                      {"card_holder_name", ts_text("Race")}}};
        for (int tries = 0; tries < 50; tries++) {
            cJSON *res;
            ts_buf note = {0};
            int rc = ts_tenant_run(sh, &op, &res, &note, &err);
            ts_buf_free(&note);
            if (rc == 0) {
                cJSON_Delete(res);
                c->made++;
            } else if (err.code == TS_E_STATE) {
                c->refused++;
            } else if (err.code == TS_E_BUSY) {
                continue;
            } else {
                snprintf(c->failure, sizeof c->failure, "card create: %s", err.msg);
            }
            break;
        }
    }
    ts_shim_close(sh);
    return NULL;
}

static void test_card_number_race(void **state)
{
    repo_fx *fx = *state;
    char ids[24], where[64];
    int64_t id = tenant(fx, ids);
    carder c[2] = {{fx, id, 0, 0, ""}, {fx, id, 0, 0, ""}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, make_cards, &c[i]);
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        if (c[i].failure[0])
            fail_msg("thread %d: %s", i, c[i].failure);
    }
    assert_int_equal(c[0].made + c[1].made, RACES);
    assert_int_equal(c[0].refused + c[1].refused, RACES);
    snprintf(where, sizeof where, "bot_id = %lld", (long long)id);
    assert_int_equal(repo_count(fx->pair.nw.url, "tenant_payment_cards", where), RACES);
    run r = ADMIN(fx, "bot", "delete", ids, "--confirm");
    expect_rc(&r, 0);
    run_free(&r);
}

/* ---- the tenant wallet ------------------------------------------------------------------- */

#define PRICE 1500
#define GB 10
#define PER_THREAD 15

typedef struct buyer {
    repo_fx *fx;
    int64_t bot, user;
    int done;
    char failure[32 + sizeof ((ts_error *)0)->msg];
} buyer;

/* PER_THREAD purchases in units of work of their own shim, retried when the
   store is busy or a stage moved (as the runtime does). */
static void *buy(void *arg)
{
    buyer *b = arg;
    ts_error err;
    ts_shim *sh = thread_shim(b->fx, b->failure, sizeof b->failure);
    if (sh == NULL)
        return NULL;
    ts_ctx ctx = {b->bot, 0};
    for (int tries = 0; b->done < PER_THREAD && tries < 50 * PER_THREAD; tries++) {
        ts_tx *tx;
        ts_purchase p = {b->user, 30, PRICE, GB, 1, 0};
        ts_purchase_result res;
        int rc = ts_shim_begin(sh, &ctx, &tx, &err);
        if (rc == 0 && (rc = ts_repo_purchase(tx, &p, &res, &err)) == 1)
            rc = ts_tx_commit(tx, &err);
        else if (rc >= 0)
            ts_tx_rollback(tx), rc = rc == 0 ? ts_fail(&err, TS_E_STATE, "not enough balance") : rc;
        else
            ts_tx_rollback(tx);
        if (rc == 0) {
            b->done++;
        } else if (err.code != TS_E_BUSY && err.code != TS_E_STALE) {
            snprintf(b->failure, sizeof b->failure, "purchase: %s", err.msg);
            break;
        }
    }
    ts_shim_close(sh);
    return NULL;
}

static void test_wallet_concurrent(void **state)
{
    repo_fx *fx = *state;
    char api[TS_REPO_API_TOKEN_SIZE], ids[24];
    int64_t bot = create(fx, TOKEN, api), users[2], master_user;
    snprintf(ids, sizeof ids, "%lld", (long long)bot);
    ts_tx *tx = repo_begin(fx, bot);
    for (int i = 0; i < 2; i++) {
        ts_user_new nu = {500 + i, NULL, NULL, NULL, NULL, 0, 0};
        EXPECT(fx, ts_repo_user_create(tx, &nu, &users[i], NULL, &fx->err), 0);
        EXPECT(fx, ts_repo_user_add_balance(tx, users[i], PRICE * PER_THREAD, &fx->err), 1);
    }
    repo_commit(fx, tx);
    /* a purchase in the master bot credits no wallet */
    tx = repo_begin(fx, 1);
    ts_user_new mu = {600, NULL, NULL, NULL, NULL, 0, 0};
    EXPECT(fx, ts_repo_user_create(tx, &mu, &master_user, NULL, &fx->err), 0);
    EXPECT(fx, ts_repo_user_add_balance(tx, master_user, PRICE, &fx->err), 1);
    ts_purchase mp = {master_user, 30, PRICE, GB, 1, 0};
    ts_purchase_result res;
    EXPECT(fx, ts_repo_purchase(tx, &mp, &res, &fx->err), 1);
    repo_commit(fx, tx);

    buyer b[2] = {{fx, bot, users[0], 0, ""}, {fx, bot, users[1], 0, ""}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, buy, &b[i]);
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        if (b[i].failure[0])
            fail_msg("thread %d: %s", i, b[i].failure);
        assert_int_equal(b[i].done, PER_THREAD);
    }
    /* a failed purchase (no balance left) credits nothing: the unit rolled back */
    tx = repo_begin(fx, bot);
    ts_purchase more = {users[0], 30, PRICE, GB, 1, 0};
    EXPECT(fx, ts_repo_purchase(tx, &more, &res, &fx->err), 0);
    repo_commit(fx, tx);

    run r = ADMIN(fx, "wallet", "show", ids);
    expect_rc(&r, 0);
    assert_int_equal(num(r.json, "wallet_balance_kopeks"), 2 * PER_THREAD * PRICE);
    assert_int_equal(num(r.json, "traffic_sold_bytes"), (int64_t)2 * PER_THREAD * GB << 30);
    assert_int_equal(num(r.json, "purchases"), 2 * PER_THREAD);
    assert_int_equal(num(r.json, "users"), 2);
    run_free(&r);
    r = ADMIN(fx, "wallet", "show", "1");
    expect_rc(&r, 0);
    assert_int_equal(num(r.json, "wallet_balance_kopeks"), 0);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(r.json, "credited_on_purchase")));
    run_free(&r);
    r = ADMIN(fx, "bot", "delete", ids, "--confirm");
    expect_rc(&r, 0);
    run_free(&r);
}

#define T(fn) cmocka_unit_test_teardown(fn, repo_test_teardown)

static const struct CMUnitTest tests[] = {
    T(test_bot_commands),
    T(test_bad_input),
    T(test_flags_config),
    T(test_audit),
    T(test_plan_commands),
    T(test_card_commands),
    T(test_plan_card_bad_input),
    T(test_card_number_race),
    T(test_wallet_concurrent),
};

int main(void)
{
    return repo_run_groups("admin", tests, sizeof tests / sizeof tests[0], 0);
}
