/*
 * test_e2e_api.c: the management API (/api/v1/) over real HTTP against a
 * running ts-bot: every endpoint, the authentication matrix, the slowdown of
 * failed authentication, bad input (malformed, oversized, wrong types,
 * SQL-special and invalid UTF-8), the audit, concurrent updates of one bot;
 * on SQLite and PostgreSQL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_e2e.h"
#include "ts_api.h"

#define TENANT_TG "7100:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawC"
#define OTHER_TG "7200:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawD"

typedef struct api_fx {
    e2e e;
    int64_t master;
    char master_token[TS_REPO_API_TOKEN_SIZE];
} api_fx;

typedef struct answer {
    long status;
    cJSON *json;               /* NULL when the body is no JSON */
    char retry_after[16];
} answer;

static size_t header_line(char *p, size_t size, size_t n, void *arg)
{
    answer *a = arg;
    if (n * size > 13 && strncasecmp(p, "Retry-After:", 12) == 0)
        snprintf(a->retry_after, sizeof a->retry_after, "%.*s", (int)strcspn(p + 13, "\r\n"),
                 p + 13);
    return size * n;
}

/* method path with auth ("X-API-Token: t", "Authorization: Bearer t" or
   NULL) and a body (NULL: none) of len bytes (-1: strlen). */
static answer call(api_fx *fx, const char *method, const char *path, const char *auth,
                   const char *body, long len)
{
    char url[512];
    answer a = {0};
    ts_buf out = {0};
    struct curl_slist *h = NULL;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/v1%s", ts_bot_http_port(fx->e.bot), path);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, e2e_body_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_line);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &a);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    if (auth)
        h = curl_slist_append(h, auth);
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, len < 0 ? (long)strlen(body) : len);
    }
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a.status);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    a.json = out.s ? cJSON_Parse(out.s) : NULL;
    ts_buf_free(&out);
    return a;
}

/* "X-API-Token: <token>": the last AUTH_LIVE stay valid; keep a copy for longer */
#define AUTH_LIVE 4
static char auth_buf[AUTH_LIVE][200];
static int auth_next;
static const char *xtok(const char *token)
{
    char *b = auth_buf[auth_next++ % AUTH_LIVE];
    snprintf(b, 200, "X-API-Token: %s", token);
    return b;
}
static const char *bearer(const char *token)
{
    char *b = auth_buf[auth_next++ % AUTH_LIVE];
    snprintf(b, 200, "Authorization: Bearer %s", token);
    return b;
}

/* The status, the answer dropped. */
static long status_of(api_fx *fx, const char *method, const char *path, const char *auth,
                      const char *body)
{
    answer a = call(fx, method, path, auth, body, -1);
    cJSON_Delete(a.json);
    return a.status;
}

static const char *jstr(const cJSON *j, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

static int64_t jnum(const cJSON *j, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
    assert_true(cJSON_IsNumber(v));
    return (int64_t)v->valuedouble;
}

/* The items of a page ({"items": [...], "next": ...}). */
static const cJSON *items(const cJSON *page)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(page, "items");
    assert_true(cJSON_IsArray(v));
    return v;
}

/* A running ts-bot on a fresh store pair of the test's kind, the master bot
   with an api token; skips when PostgreSQL is not there. */
static api_fx *api_open(void **state)
{
    ts_pair_kind kind = *(ts_pair_kind *)*state;
    static api_fx fx;
    ts_error err;
    ts_tx *tx;
    if (e2e_pair(&fx.e, kind, "read_new") != 0)
        skip();
    ts_test_set_stage(fx.e.pair.nw.url, "1.5", "on");
    ts_test_set_stage(fx.e.pair.nw.url, "2.5", "on");
    e2e_open_shim(&fx.e);
    fx.master = ts_shim_master_bot_id(fx.e.sh);
    ts_ctx ctx = {fx.master, 1};
    e2e_check(ts_shim_begin(fx.e.sh, &ctx, &tx, &err), &err, "begin");
    assert_int_equal(ts_repo_bot_issue_api_token(tx, fx.master, fx.master_token, &err), 1);
    e2e_check(ts_tx_commit(tx, &err), &err, "commit");
    e2e_start(&fx.e);
    return &fx;
}

/* A tenant made through the API; its api token into token. */
static int64_t make_tenant(api_fx *fx, const char *tg, const char *name, char *token)
{
    char body[256];
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"telegram_bot_token\":\"%s\","
             "\"default_language\":\"en\"}", name, tg);
    answer a = call(fx, "POST", "/bots", xtok(fx->master_token), body, -1);
    assert_int_equal(a.status, 201);
    int64_t id = jnum(a.json, "id");
    snprintf(token, TS_REPO_API_TOKEN_SIZE, "%s", jstr(a.json, "api_token"));
    assert_int_equal(strncmp(token, "tsk_", 4), 0);
    cJSON_Delete(a.json);
    return id;
}

/* method path with a body over TS_HTTP_BODY_MAX that starts as a JSON object
   with head ("{\"name\":\"x\""): 413, before anything is parsed. */
static void expect_too_large(api_fx *fx, const char *method, const char *path, const char *auth,
                             const char *head)
{
    size_t big = TS_HTTP_BODY_MAX + 10;
    char *huge = malloc(big + 1);
    memset(huge, ' ', big);
    memcpy(huge, head, strlen(head));
    huge[big - 1] = '}';
    huge[big] = '\0';
    answer a = call(fx, method, path, auth, huge, (long)big);
    assert_int_equal(a.status, 413);
    assert_string_equal(jstr(a.json, "error"), "too_large");
    cJSON_Delete(a.json);
    free(huge);
}

/* The test's tenant "Shop" and its "X-API-Token: ..." header in auth (200 bytes). */
static int64_t shop(api_fx *fx, char *auth)
{
    char token[TS_REPO_API_TOKEN_SIZE];
    int64_t id = make_tenant(fx, TENANT_TG, "Shop", token);
    snprintf(auth, 200, "%s", xtok(token));
    return id;
}

static void test_auth_matrix(void **state)
{
    api_fx *fx = api_open(state);
    char t1[TS_REPO_API_TOKEN_SIZE], t2[TS_REPO_API_TOKEN_SIZE], path[64], other[sizeof path + 16];
    int64_t b1 = make_tenant(fx, TENANT_TG, "Shop", t1);
    int64_t b2 = make_tenant(fx, OTHER_TG, "Other", t2);
    snprintf(path, sizeof path, "/bots/%lld", (long long)b1);
    snprintf(other, sizeof other, "/bots/%lld/flags", (long long)b2);
    assert_int_equal(status_of(fx, "GET", path, NULL, NULL), 401);
    assert_int_equal(status_of(fx, "GET", path, xtok("tsk_0000"), NULL), 401);
    assert_int_equal(status_of(fx, "GET", path, bearer(t2), NULL), 403);
    assert_int_equal(status_of(fx, "GET", other, xtok(t1), NULL), 403);
    assert_int_equal(status_of(fx, "GET", path, bearer(t1), NULL), 200);
    assert_int_equal(status_of(fx, "GET", path, xtok(t1), NULL), 200);
    assert_int_equal(status_of(fx, "GET", path, xtok(fx->master_token), NULL), 200);
    assert_int_equal(status_of(fx, "GET", other, bearer(fx->master_token), NULL), 200);
    /* the master's operations are not a tenant's, even on itself */
    assert_int_equal(status_of(fx, "POST", "/bots", xtok(t1), "{\"name\":\"x\"}"), 403);
    assert_int_equal(status_of(fx, "DELETE", path, xtok(t1), NULL), 403);
    snprintf(other, sizeof other, "%s/deactivate", path);
    assert_int_equal(status_of(fx, "POST", other, xtok(t1), NULL), 403);
    /* a tenant lists only itself, the master every bot */
    answer a = call(fx, "GET", "/bots", xtok(t1), NULL, -1);
    assert_int_equal(a.status, 200);
    assert_int_equal(cJSON_GetArraySize(items(a.json)), 1);
    assert_int_equal(jnum(cJSON_GetArrayItem(items(a.json), 0), "id"), b1);
    cJSON_Delete(a.json);
    a = call(fx, "GET", "/bots", xtok(fx->master_token), NULL, -1);
    assert_int_equal(cJSON_GetArraySize(items(a.json)), 3);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(a.json, "next")));
    cJSON_Delete(a.json);
    /* an error is JSON; the unknown path too, the wrong method 405 */
    a = call(fx, "GET", path, NULL, NULL, -1);
    assert_string_equal(jstr(a.json, "error"), "unauthenticated");
    cJSON_Delete(a.json);
    assert_int_equal(status_of(fx, "GET", "/nothing", xtok(t1), NULL), 404);
    assert_int_equal(status_of(fx, "PUT", "/bots", xtok(t1), "{}"), 405);
    /* only the hash is stored */
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM bots WHERE api_token_hash = '%s'", t1);
    assert_int_equal(ts_test_int(fx->e.pair.nw.url, sql), 0);
    e2e_close(&fx->e);
}

static void test_failed_auth_slowed(void **state)
{
    api_fx *fx = api_open(state);
    for (int i = 0; i < TS_API_FREE_FAILURES; i++)
        assert_int_equal(status_of(fx, "GET", "/bots", xtok("tsk_wrong"), NULL), 401);
    /* now even the right token waits */
    answer a = call(fx, "GET", "/bots", xtok(fx->master_token), NULL, -1);
    assert_int_equal(a.status, 429);
    assert_string_equal(a.retry_after, "1");
    cJSON_Delete(a.json);
    e2e_sleep_ms(1100);
    assert_int_equal(status_of(fx, "GET", "/bots", xtok(fx->master_token), NULL), 200);
    /* a success forgot the failures */
    assert_int_equal(status_of(fx, "GET", "/bots", xtok("tsk_wrong"), NULL), 401);
    assert_int_equal(status_of(fx, "GET", "/bots", xtok(fx->master_token), NULL), 200);
    e2e_close(&fx->e);
}

static void test_bots(void **state)
{
    api_fx *fx = api_open(state);
    char m[200];
    snprintf(m, sizeof m, "%s", xtok(fx->master_token));
    char t1[TS_REPO_API_TOKEN_SIZE], path[64], sub[96], sql[160];
    int64_t b1 = make_tenant(fx, TENANT_TG, "Shop", t1);
    snprintf(path, sizeof path, "/bots/%lld", (long long)b1);

    answer a = call(fx, "GET", path, m, NULL, -1);
    assert_int_equal(a.status, 200);
    assert_string_equal(jstr(a.json, "name"), "Shop");
    assert_string_equal(jstr(a.json, "default_language"), "en");
    assert_string_equal(jstr(a.json, "telegram_bot_token"), "7100:****");
    assert_null(cJSON_GetObjectItem(a.json, "api_token"));
    cJSON_Delete(a.json);

    /* a tenant changes its own bot */
    a = call(fx, "PATCH", path, xtok(t1), "{\"support_username\":\"shop_help\","
             "\"card_to_card_enabled\":true,\"admin_chat_id\":-1001234}", -1);
    assert_int_equal(a.status, 200);
    assert_string_equal(jstr(a.json, "support_username"), "shop_help");
    assert_int_equal(jnum(a.json, "admin_chat_id"), -1001234);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(a.json, "card_to_card_enabled")));
    assert_string_equal(jstr(a.json, "name"), "Shop");   /* untouched */
    cJSON_Delete(a.json);

    snprintf(sub, sizeof sub, "%s/deactivate", path);
    a = call(fx, "POST", sub, m, NULL, -1);
    assert_int_equal(a.status, 200);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(a.json, "is_active")));
    cJSON_Delete(a.json);
    snprintf(sub, sizeof sub, "%s/activate", path);
    a = call(fx, "POST", sub, m, NULL, -1);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(a.json, "is_active")));
    cJSON_Delete(a.json);
    snprintf(sub, sizeof sub, "/bots/%lld/deactivate", (long long)fx->master);
    assert_int_equal(status_of(fx, "POST", sub, m, NULL), 409);

    /* duplicates: another bot's Telegram token */
    assert_int_equal(status_of(fx, "POST", "/bots", m, "{\"name\":\"Dup\",\"telegram_bot_token\":\""
                               TENANT_TG "\"}"), 409);
    assert_int_equal(status_of(fx, "PATCH", path, m, "{\"telegram_bot_token\":\""
                               TS_TEST_MASTER_TOKEN "\"}"), 409);
    /* unknown bots */
    assert_int_equal(status_of(fx, "GET", "/bots/999999", m, NULL), 404);
    assert_int_equal(status_of(fx, "PATCH", "/bots/999999", m, "{\"name\":\"x\"}"), 404);
    assert_int_equal(status_of(fx, "GET", "/bots/abc", m, NULL), 404);
    assert_int_equal(status_of(fx, "GET", "/bots/0", m, NULL), 404);

    /* a new api token: the old one stops working */
    char t1b[TS_REPO_API_TOKEN_SIZE];
    snprintf(sub, sizeof sub, "%s/token", path);
    a = call(fx, "POST", sub, xtok(t1), NULL, -1);
    assert_int_equal(a.status, 200);
    snprintf(t1b, sizeof t1b, "%s", jstr(a.json, "api_token"));
    cJSON_Delete(a.json);
    assert_int_equal(status_of(fx, "GET", path, xtok(t1), NULL), 401);
    assert_int_equal(status_of(fx, "GET", path, xtok(t1b), NULL), 200);

    /* delete cascades: its flags go with it; the master is refused */
    snprintf(sub, sizeof sub, "%s/flags/promo_codes", path);
    assert_int_equal(status_of(fx, "PUT", sub, m, "{\"enabled\":true}"), 200);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM bot_feature_flags WHERE bot_id = %lld",
             (long long)b1);
    assert_int_equal(ts_test_int(fx->e.pair.nw.url, sql), 1);
    a = call(fx, "DELETE", path, m, NULL, -1);
    assert_int_equal(a.status, 200);
    assert_int_equal(jnum(a.json, "deleted"), b1);
    cJSON_Delete(a.json);
    assert_int_equal(ts_test_int(fx->e.pair.nw.url, sql), 0);
    assert_int_equal(status_of(fx, "GET", path, m, NULL), 404);
    assert_int_equal(status_of(fx, "DELETE", path, m, NULL), 404);
    snprintf(sub, sizeof sub, "/bots/%lld", (long long)fx->master);
    assert_int_equal(status_of(fx, "DELETE", sub, m, NULL), 409);
    e2e_close(&fx->e);
}

static void test_flags_config_wallet(void **state)
{
    api_fx *fx = api_open(state);
    char t1[TS_REPO_API_TOKEN_SIZE], p[128];
    int64_t b1 = make_tenant(fx, TENANT_TG, "Shop", t1);
    char t[200];
    snprintf(t, sizeof t, "%s", xtok(t1));
#define AT(fmt) (snprintf(p, sizeof p, "/bots/%lld" fmt, (long long)b1), p)
    answer a = call(fx, "PUT", AT("/flags/card_to_card"), t,
                    "{\"enabled\":true,\"config\":{\"limit\":5}}", -1);
    assert_int_equal(a.status, 200);
    assert_string_equal(jstr(a.json, "result"), "set");
    cJSON_Delete(a.json);
    a = call(fx, "GET", AT("/flags/card_to_card"), t, NULL, -1);
    assert_int_equal(a.status, 200);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(a.json, "enabled")));
    assert_int_equal(jnum(cJSON_GetObjectItem(a.json, "config"), "limit"), 5);
    cJSON_Delete(a.json);
    assert_int_equal(status_of(fx, "PUT", AT("/flags/zarinpal"), t, "{\"enabled\":false}"), 200);
    a = call(fx, "GET", AT("/flags"), t, NULL, -1);
    assert_int_equal(cJSON_GetArraySize(a.json), 2);
    cJSON_Delete(a.json);
    a = call(fx, "DELETE", AT("/flags/zarinpal"), t, NULL, -1);
    assert_string_equal(jstr(a.json, "result"), "unset");
    cJSON_Delete(a.json);
    a = call(fx, "DELETE", AT("/flags/zarinpal"), t, NULL, -1);
    assert_string_equal(jstr(a.json, "result"), "was not set");
    cJSON_Delete(a.json);
    assert_int_equal(status_of(fx, "GET", AT("/flags/zarinpal"), t, NULL), 404);
    assert_int_equal(status_of(fx, "PUT", AT("/flags/x"), t, "{\"enabled\":\"yes\"}"), 422);
    assert_int_equal(status_of(fx, "PUT", AT("/flags/x"), t, "{\"enabled\":true,\"y\":1}"), 422);
    assert_int_equal(status_of(fx, "PUT", AT("/flags/bad%%20key"), t, "{\"enabled\":true}"), 400);

    /* configuration: any JSON value, SQL-special text stored as given */
    const char *odd = "{\"value\":\"Salam'); DROP TABLE bots; -- \\\"us\\\" \\u0633\"}";
    assert_int_equal(status_of(fx, "PUT", AT("/config/welcome.text"), t, odd), 200);
    a = call(fx, "GET", AT("/config/welcome.text"), t, NULL, -1);
    assert_int_equal(a.status, 200);
    assert_string_equal(jstr(a.json, "value"), "Salam'); DROP TABLE bots; -- \"us\" \xd8\xb3");
    cJSON_Delete(a.json);
    assert_int_equal(status_of(fx, "PUT", AT("/config/limits"), t, "{\"value\":{\"a\":[1,2]}}"),
                     200);
    a = call(fx, "GET", AT("/config"), t, NULL, -1);
    assert_int_equal(cJSON_GetArraySize(a.json), 2);
    cJSON_Delete(a.json);
    assert_int_equal(status_of(fx, "PUT", AT("/config/x"), t, "{\"val\":1}"), 422);
    assert_int_equal(status_of(fx, "DELETE", AT("/config/limits"), t, NULL), 200);
    assert_int_equal(status_of(fx, "GET", AT("/config/limits"), t, NULL), 404);

    a = call(fx, "GET", AT("/wallet"), t, NULL, -1);
    assert_int_equal(a.status, 200);
    assert_int_equal(jnum(a.json, "bot_id"), b1);
    assert_int_equal(jnum(a.json, "wallet_balance_kopeks"), 0);
    assert_int_equal(jnum(a.json, "traffic_sold_bytes"), 0);
    assert_int_equal(jnum(a.json, "traffic_consumed_bytes"), 0);
    assert_int_equal(jnum(a.json, "purchases"), 0);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(a.json, "credited_on_purchase")));
    cJSON_Delete(a.json);
#undef AT
    e2e_close(&fx->e);
}

static void test_bad_input(void **state)
{
    api_fx *fx = api_open(state);
    char t1[TS_REPO_API_TOKEN_SIZE], path[64];
    int64_t b1 = make_tenant(fx, TENANT_TG, "Shop", t1);
    char t[200];
    snprintf(t, sizeof t, "%s", xtok(t1));
    snprintf(path, sizeof path, "/bots/%lld", (long long)b1);
    assert_int_equal(status_of(fx, "PATCH", path, t, "{\"name\":"), 400);
    assert_int_equal(status_of(fx, "PATCH", path, t, ""), 400);
    assert_int_equal(status_of(fx, "PATCH", path, t, "[1]"), 422);
    assert_int_equal(status_of(fx, "PATCH", path, t, "{}"), 422);
    assert_int_equal(status_of(fx, "PATCH", path, t, "{\"name\":5}"), 422);
    assert_int_equal(status_of(fx, "PATCH", path, t, "{\"admin_chat_id\":1.5}"), 422);
    assert_int_equal(status_of(fx, "PATCH", path, t, "{\"admin_chat_id\":\"1\"}"), 422);
    assert_int_equal(status_of(fx, "PATCH", path, t, "{\"zarinpal_enabled\":1}"), 422);
    assert_int_equal(status_of(fx, "PATCH", path, t, "{\"is_master\":true}"), 422);
    assert_int_equal(status_of(fx, "PATCH", path, t, "{\"name\":\"a\",\"name\":\"b\"}"), 422);
    assert_int_equal(status_of(fx, "PATCH", path, t, "{\"default_language\":\"x'--\"}"), 422);
    assert_int_equal(status_of(fx, "PATCH", path, t, "{\"telegram_bot_token\":\"nope\"}"), 422);
    assert_int_equal(status_of(fx, "PATCH", path, t, "{\"name\":\"a\\u0001b\"}"), 422);
    /* invalid UTF-8, raw and in the bytes of a string: refused, never stored */
    assert_int_equal(status_of(fx, "PATCH", path, t, "{\"name\":\"\xff\xfe\"}"), 400);
    assert_int_equal(status_of(fx, "PATCH", path, t, "{\"name\":\"\xc3\"}"), 400);
    answer a = call(fx, "PATCH", path, t, "{\"name\":\"a\0b\"}", 14);
    assert_int_equal(a.status, 400);
    cJSON_Delete(a.json);
    assert_int_equal(status_of(fx, "PATCH", path, t, "{\"name\":\"\\udc80\"}"), 400);
    /* SQL-special text is data */
    const char *sqlish = "Robert'); DROP TABLE bots;-- \\\" %_ \xd8\xb3";
    char body[128];
    snprintf(body, sizeof body, "{\"name\":\"%s\"}", sqlish);
    a = call(fx, "PATCH", path, t, body, -1);
    assert_int_equal(a.status, 200);
    assert_string_equal(jstr(a.json, "name"), "Robert'); DROP TABLE bots;-- \" %_ \xd8\xb3");
    cJSON_Delete(a.json);
    /* oversized: 413, by Content-Length and when streamed */
    expect_too_large(fx, "PATCH", path, t, "{\"name\":\"x\"");
    /* a bad key in the path: 400, an overlong one too */
    char key[200] = "/flags/";
    memset(key + 7, 'k', 150);
    key[157] = '\0';
    char kp[256];
    snprintf(kp, sizeof kp, "%s%s", path, key);
    assert_int_equal(status_of(fx, "GET", kp, t, NULL), 400);
    snprintf(kp, sizeof kp, "%s/config/%%FF", path);
    assert_int_equal(status_of(fx, "GET", kp, t, NULL), 400);
    a = call(fx, "GET", path, t, NULL, -1);
    assert_string_equal(jstr(a.json, "name"), "Robert'); DROP TABLE bots;-- \" %_ \xd8\xb3");
    cJSON_Delete(a.json);
    assert_int_equal(ts_test_int(fx->e.pair.nw.url, "SELECT count(*) FROM bots"), 2);
    e2e_close(&fx->e);
}

static void test_audit(void **state)
{
    api_fx *fx = api_open(state);
    char t1[TS_REPO_API_TOKEN_SIZE], path[64], sql[512];
    int64_t b1 = make_tenant(fx, TENANT_TG, "Shop", t1);
    snprintf(path, sizeof path, "/bots/%lld", (long long)b1);
    assert_int_equal(status_of(fx, "PATCH", path, xtok(t1), "{\"telegram_bot_token\":\""
                               OTHER_TG "\"}"), 200);
    assert_int_equal(status_of(fx, "PATCH", path, xtok(t1), "{\"name\":7}"), 422);
    assert_int_equal(status_of(fx, "GET", path, xtok(t1), NULL), 200);
    snprintf(sql, sizeof sql, "/bots/%lld/flags/x", (long long)fx->master);
    assert_int_equal(status_of(fx, "PUT", sql, xtok(t1), "{\"enabled\":true}"), 403);
    const char *nw = fx->e.pair.nw.url;
    snprintf(sql, sizeof sql, "SELECT count(*) FROM ts_audit WHERE actor = 'api:%lld' AND "
             "command = 'POST /api/v1/bots' AND result = 'ok' AND args = "
             "'fields=name,telegram_bot_token,default_language' AND error = 'created bot %lld'",
             (long long)fx->master, (long long)b1);
    assert_int_equal(ts_test_int(nw, sql), 1);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM ts_audit WHERE actor = 'api:%lld' AND "
             "command = 'PATCH /api/v1/bots/#' AND args = 'bot_id=%lld fields=telegram_bot_token'",
             (long long)b1, (long long)b1);
    assert_int_equal(ts_test_int(nw, sql), 1);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM ts_audit WHERE actor = 'api:%lld' AND "
             "result = 'refused'", (long long)b1);
    assert_int_equal(ts_test_int(nw, sql), 2);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM ts_audit WHERE command = "
             "'PUT /api/v1/bots/#/flags/*' AND args = 'bot_id=%lld' AND result = 'refused'",
             (long long)fx->master);
    assert_int_equal(ts_test_int(nw, sql), 1);
    /* reads are not changes; no token anywhere */
    assert_int_equal(ts_test_int(nw, "SELECT count(*) FROM ts_audit WHERE command LIKE 'GET%'"), 0);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM ts_audit WHERE coalesce(args, '') || "
             "coalesce(error, '') || command LIKE '%%tsk_%%' OR coalesce(args, '') || "
             "coalesce(error, '') LIKE '%%AAHdq%%'");
    assert_int_equal(ts_test_int(nw, sql), 0);
    e2e_close(&fx->e);
}

/* Concurrent clients each changing their own field of one bot (and their own
   flag): every last write is there, none lost. */
#define WRITERS 4
#define ROUNDS 15
typedef struct writer { api_fx *fx; int n; char path[64]; long bad; } writer;

static void *write_loop(void *arg)
{
    writer *w = arg;
    static const char *const cols[WRITERS] = {"admin_topic_id", "card_receipt_topic_id",
                                              "notification_group_id", "notification_topic_id"};
    char body[128], fp[128], auth[200];
    snprintf(auth, sizeof auth, "X-API-Token: %s", w->fx->master_token);
    for (int i = 1; i <= ROUNDS; i++) {
        snprintf(body, sizeof body, "{\"%s\":%d}", cols[w->n], w->n * 1000 + i);
        answer a = call(w->fx, "PATCH", w->path, auth, body, -1);
        w->bad += a.status != 200;
        cJSON_Delete(a.json);
        snprintf(fp, sizeof fp, "%s/flags/f%d", w->path, w->n);
        a = call(w->fx, "PUT", fp, auth, i % 2 ? "{\"enabled\":true}" : "{\"enabled\":false}", -1);
        w->bad += a.status != 200;
        cJSON_Delete(a.json);
    }
    return NULL;
}

static void test_concurrent_updates(void **state)
{
    api_fx *fx = api_open(state);
    char t1[TS_REPO_API_TOKEN_SIZE];
    int64_t b1 = make_tenant(fx, TENANT_TG, "Shop", t1);
    writer w[WRITERS];
    pthread_t th[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        w[i] = (writer){fx, i, "", 0};
        snprintf(w[i].path, sizeof w[i].path, "/bots/%lld", (long long)b1);
        pthread_create(&th[i], NULL, write_loop, &w[i]);
    }
    for (int i = 0; i < WRITERS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].bad, 0);
    }
    answer a = call(fx, "GET", w[0].path, xtok(t1), NULL, -1);
    assert_int_equal(jnum(a.json, "admin_topic_id"), ROUNDS);
    assert_int_equal(jnum(a.json, "card_receipt_topic_id"), 1000 + ROUNDS);
    assert_int_equal(jnum(a.json, "notification_group_id"), 2000 + ROUNDS);
    assert_int_equal(jnum(a.json, "notification_topic_id"), 3000 + ROUNDS);
    cJSON_Delete(a.json);
    char fp[96];
    snprintf(fp, sizeof fp, "%s/flags", w[0].path);
    a = call(fx, "GET", fp, xtok(t1), NULL, -1);
    assert_int_equal(cJSON_GetArraySize(a.json), WRITERS);
    cJSON *f;
    cJSON_ArrayForEach(f, a.json) assert_true(cJSON_IsTrue(cJSON_GetObjectItem(f, "enabled")));
    cJSON_Delete(a.json);
    e2e_close(&fx->e);
}

/* ts-admin bot token: how an operator gets the master bot its first api token. */
static void test_cli_issues_token(void **state)
{
    api_fx *fx = api_open(state);
    char *out, *err, id[24];
    snprintf(id, sizeof id, "%lld", (long long)fx->master);
    const char *argv[] = {"bin/ts-admin", "--json", "--legacy", fx->e.pair.legacy.url, "--new",
                          fx->e.pair.nw.url, "bot", "token", id, NULL};
    assert_int_equal(ts_test_run(argv, NULL, &out, &err), 0);
    cJSON *j = cJSON_Parse(out);
    char tok[TS_REPO_API_TOKEN_SIZE];
    snprintf(tok, sizeof tok, "%s", jstr(j, "api_token"));
    cJSON_Delete(j);
    free(out);
    free(err);
    assert_int_equal(status_of(fx, "GET", "/bots", xtok(fx->master_token), NULL), 401);
    assert_int_equal(status_of(fx, "GET", "/bots", xtok(tok), NULL), 200);
    const char *argv2[] = {"bin/ts-admin", "--legacy", fx->e.pair.legacy.url, "--new",
                           fx->e.pair.nw.url, "bot", "token", "424242", NULL};
    assert_int_equal(ts_test_run(argv2, NULL, &out, &err), 4);
    free(out);
    free(err);
    e2e_close(&fx->e);
}

static void test_plans(void **state)
{
    api_fx *fx = api_open(state);
    char t[200], p[128], body[160];
    int64_t b1 = shop(fx, t), ids[3];
#define AT(fmt, ...) (snprintf(p, sizeof p, "/bots/%lld" fmt, (long long)b1, __VA_ARGS__), p)
    static const char *const names[3] = {"Bronze", "Silver", "Gold"};
    for (int i = 0; i < 3; i++) {
        snprintf(body, sizeof body, "{\"name\":\"%s\",\"period_days\":%d,\"price_kopeks\":%d,"
                 "\"traffic_limit_gb\":50,\"sort_order\":%d}", names[i], 30 * (i + 1),
                 90000 * (i + 1), i + 1);
        answer a = call(fx, "POST", AT("/plans%s", ""), t, body, -1);
        assert_int_equal(a.status, 201);
        ids[i] = jnum(a.json, "id");
        assert_true(cJSON_IsTrue(cJSON_GetObjectItem(a.json, "is_active")));
        assert_int_equal(jnum(a.json, "device_limit"), 1);
        cJSON_Delete(a.json);
    }
    answer a = call(fx, "GET", AT("/plans/%lld", (long long)ids[1]), t, NULL, -1);
    assert_int_equal(a.status, 200);
    assert_string_equal(jstr(a.json, "name"), "Silver");
    assert_int_equal(jnum(a.json, "price_kopeks"), 180000);
    cJSON_Delete(a.json);
    a = call(fx, "PATCH", AT("/plans/%lld", (long long)ids[1]), t,
             "{\"price_kopeks\":170000,\"device_limit\":2}", -1);
    assert_int_equal(jnum(a.json, "price_kopeks"), 170000);
    assert_int_equal(jnum(a.json, "device_limit"), 2);
    assert_int_equal(jnum(a.json, "period_days"), 60);
    cJSON_Delete(a.json);
    a = call(fx, "POST", AT("/plans/%lld/deactivate", (long long)ids[0]), t, NULL, -1);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(a.json, "is_active")));
    cJSON_Delete(a.json);
    assert_int_equal(status_of(fx, "POST", AT("/plans/%lld/activate", (long long)ids[0]), t,
                               NULL), 200);
    /* the order: Gold, Bronze, Silver */
    snprintf(body, sizeof body, "{\"order\":[%lld,%lld,%lld]}", (long long)ids[2],
             (long long)ids[0], (long long)ids[1]);
    a = call(fx, "PUT", AT("/plans/order%s", ""), t, body, -1);
    assert_int_equal(a.status, 200);
    assert_string_equal(jstr(cJSON_GetArrayItem(a.json, 0), "name"), "Gold");
    assert_string_equal(jstr(cJSON_GetArrayItem(a.json, 2), "name"), "Silver");
    cJSON_Delete(a.json);
    /* an unknown plan in the order changes nothing */
    snprintf(body, sizeof body, "{\"order\":[%lld,999999]}", (long long)ids[1]);
    assert_int_equal(status_of(fx, "PUT", AT("/plans/order%s", ""), t, body), 404);
    a = call(fx, "GET", AT("/plans%s", ""), t, NULL, -1);
    assert_int_equal(cJSON_GetArraySize(a.json), 3);
    assert_string_equal(jstr(cJSON_GetArrayItem(a.json, 0), "name"), "Gold");
    cJSON_Delete(a.json);
    snprintf(body, sizeof body, "{\"order\":[%lld,%lld]}", (long long)ids[1], (long long)ids[1]);
    assert_int_equal(status_of(fx, "PUT", AT("/plans/order%s", ""), t, body), 422);
    /* bad input */
    assert_int_equal(status_of(fx, "POST", AT("/plans%s", ""), t, "{\"name\":\"x\"}"), 422);
    assert_int_equal(status_of(fx, "POST", AT("/plans%s", ""), t,
                               "{\"name\":\"x\",\"period_days\":0,\"price_kopeks\":1}"), 422);
    assert_int_equal(status_of(fx, "PATCH", AT("/plans/%lld", (long long)ids[0]), t,
                               "{\"price_kopeks\":-1}"), 422);
    assert_int_equal(status_of(fx, "PATCH", AT("/plans/%lld", (long long)ids[0]), t,
                               "{\"bot_id\":1}"), 422);
    assert_int_equal(status_of(fx, "GET", AT("/plans/%s", "abc"), t, NULL), 404);
    assert_int_equal(status_of(fx, "GET", AT("/plans/%d", 999999), t, NULL), 404);
    /* another bot's plan is not this bot's: the master's plan id under the tenant */
    char mp[64], mt[200];
    snprintf(mp, sizeof mp, "/bots/%lld/plans", (long long)fx->master);
    snprintf(mt, sizeof mt, "%s", xtok(fx->master_token));
    a = call(fx, "POST", mp, mt, "{\"name\":\"Master\",\"period_days\":30,\"price_kopeks\":1}", -1);
    assert_int_equal(a.status, 201);
    int64_t master_plan = jnum(a.json, "id");
    cJSON_Delete(a.json);
    assert_int_equal(status_of(fx, "GET", AT("/plans/%lld", (long long)master_plan), t, NULL), 404);
    assert_int_equal(status_of(fx, "DELETE", AT("/plans/%lld", (long long)master_plan), t, NULL),
                     404);
    a = call(fx, "DELETE", AT("/plans/%lld", (long long)ids[0]), t, NULL, -1);
    assert_int_equal(a.status, 200);
    assert_int_equal(jnum(a.json, "deleted"), ids[0]);
    cJSON_Delete(a.json);
    assert_int_equal(status_of(fx, "GET", AT("/plans/%lld", (long long)ids[0]), t, NULL), 404);
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM ts_audit WHERE command = "
             "'PATCH /api/v1/bots/#/plans/#' AND args = 'bot_id=%lld plan_id=%lld "
             "fields=price_kopeks,device_limit'", (long long)b1, (long long)ids[1]);
    assert_int_equal(ts_test_int(fx->e.pair.nw.url, sql), 1);
#undef AT
    e2e_close(&fx->e);
}


/* ---- payment cards -------------------------------------------------------------------- */

#define CARD1 "6037-9911-2233-4455"
#define CARD2 "6219 8610 5566 7788"
#define CARD3 "5022291099887766"

/* A card made through the API (auth: a header); its id. */
static int64_t make_card(api_fx *fx, int64_t bot, const char *auth, const char *number,
                         const char *holder)
{
    char p[64], body[256];
    snprintf(p, sizeof p, "/bots/%lld/cards", (long long)bot);
    snprintf(body, sizeof body, "{\"card_number\":\"%s\",\"card_holder_name\":\"%s\"}", number,
             holder);
    answer a = call(fx, "POST", p, auth, body, -1);
    assert_int_equal(a.status, 201);
    int64_t id = jnum(a.json, "id");
    cJSON_Delete(a.json);
    return id;
}

static void test_cards(void **state)
{
    api_fx *fx = api_open(state);
    char t[200], p[128], sql[300];
    int64_t b1 = shop(fx, t), c[3];
#define AT(fmt, ...) (snprintf(p, sizeof p, "/bots/%lld" fmt, (long long)b1, __VA_ARGS__), p)
    /* no cards yet: the default rotation, nowhere to set another */
    answer a = call(fx, "GET", AT("/cards/rotation%s", ""), t, NULL, -1);
    assert_int_equal(a.status, 200);
    assert_string_equal(jstr(a.json, "strategy"), "round_robin");
    assert_int_equal(jnum(a.json, "cards"), 0);
    cJSON_Delete(a.json);
    assert_int_equal(status_of(fx, "PUT", AT("/cards/rotation%s", ""), t,
                               "{\"strategy\":\"random\"}"), 409);
    a = call(fx, "GET", AT("/cards%s", ""), t, NULL, -1);
    assert_int_equal(a.status, 200);
    assert_int_equal(cJSON_GetArraySize(items(a.json)), 0);
    cJSON_Delete(a.json);

    /* create: the number masked in every answer */
    a = call(fx, "POST", AT("/cards%s", ""), t, "{\"card_number\":\"" CARD1 "\","
             "\"card_holder_name\":\"Sara Ahmadi\",\"weight\":3}", -1);
    assert_int_equal(a.status, 201);
    c[0] = jnum(a.json, "id");
    assert_string_equal(jstr(a.json, "card_number"), "****4455");
    assert_string_equal(jstr(a.json, "card_holder_name"), "Sara Ahmadi");
    assert_int_equal(jnum(a.json, "weight"), 3);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(a.json, "is_active")));
    assert_string_equal(jstr(a.json, "rotation_strategy"), "round_robin");
    assert_int_equal(jnum(a.json, "uses"), 0);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(a.json, "last_used_at")));
    char *printed = cJSON_PrintUnformatted(a.json);
    assert_null(strstr(printed, "2233"));
    free(printed);
    cJSON_Delete(a.json);
    /* SQL-special and Persian text in the holder's name is data */
    c[1] = make_card(fx, b1, t, CARD2, "O'Brien\\\"; DROP TABLE tenant_payment_cards; -- \xd8\xb3");
    a = call(fx, "GET", AT("/cards/%lld", (long long)c[1]), t, NULL, -1);
    assert_int_equal(a.status, 200);
    assert_string_equal(jstr(a.json, "card_holder_name"),
                        "O'Brien\"; DROP TABLE tenant_payment_cards; -- \xd8\xb3");
    assert_string_equal(jstr(a.json, "card_number"), "****7788");
    cJSON_Delete(a.json);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM tenant_payment_cards WHERE bot_id = %lld",
             (long long)b1);
    assert_int_equal(ts_test_int(fx->e.pair.nw.url, sql), 2);

    /* update */
    a = call(fx, "PATCH", AT("/cards/%lld", (long long)c[0]), t,
             "{\"card_holder_name\":\"Sara A.\",\"is_active\":false,\"weight\":0}", -1);
    assert_int_equal(a.status, 200);
    assert_string_equal(jstr(a.json, "card_holder_name"), "Sara A.");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(a.json, "is_active")));
    assert_int_equal(jnum(a.json, "weight"), 0);
    assert_string_equal(jstr(a.json, "card_number"), "****4455");   /* untouched */
    cJSON_Delete(a.json);
    assert_int_equal(status_of(fx, "PATCH", AT("/cards/%lld", (long long)c[0]), t,
                               "{\"is_active\":true}"), 200);

    /* the rotation: on every card, kept by the cards created after */
    a = call(fx, "PUT", AT("/cards/rotation%s", ""), t,
             "{\"strategy\":\"time_based\",\"interval_minutes\":15}", -1);
    assert_int_equal(a.status, 200);
    assert_string_equal(jstr(a.json, "strategy"), "time_based");
    assert_int_equal(jnum(a.json, "interval_minutes"), 15);
    assert_int_equal(jnum(a.json, "cards"), 2);
    cJSON_Delete(a.json);
    c[2] = make_card(fx, b1, t, CARD3, "Reza");
    a = call(fx, "GET", AT("/cards/%lld", (long long)c[2]), t, NULL, -1);
    assert_string_equal(jstr(a.json, "rotation_strategy"), "time_based");
    assert_int_equal(jnum(a.json, "rotation_interval_minutes"), 15);
    cJSON_Delete(a.json);
    assert_int_equal(status_of(fx, "PUT", AT("/cards/rotation%s", ""), t,
                               "{\"strategy\":\"weighted\"}"), 200);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM tenant_payment_cards WHERE bot_id = %lld "
             "AND rotation_strategy = 'weighted' AND rotation_interval_minutes = 15",
             (long long)b1);
    assert_int_equal(ts_test_int(fx->e.pair.nw.url, sql), 3);
    a = call(fx, "GET", AT("/cards/rotation%s", ""), t, NULL, -1);
    assert_string_equal(jstr(a.json, "strategy"), "weighted");
    cJSON_Delete(a.json);
    static const char *const bad_rotation[] = {
        "{\"strategy\":\"fastest\"}", "{\"strategy\":\"random'--\"}", "{\"strategy\":1}",
        "{}", "{\"strategy\":\"random\",\"interval_minutes\":0}",
        "{\"strategy\":\"random\",\"interval_minutes\":1.5}",
        "{\"strategy\":\"random\",\"weight\":1}",
        "{\"strategy\":\"random\",\"strategy\":\"weighted\"}"};
    for (size_t i = 0; i < sizeof bad_rotation / sizeof bad_rotation[0]; i++)
        assert_int_equal(status_of(fx, "PUT", AT("/cards/rotation%s", ""), t, bad_rotation[i]),
                         422);

    /* bad input: refused, nothing stored */
    static const struct { const char *body; long status; } bad[] = {
        {"{\"card_number\":\"6037\",\"card_holder_name\":\"x\"}", 422},            /* 4 digits */
        {"{\"card_number\":\"6037-99x1-2233-4455\",\"card_holder_name\":\"x\"}", 422},
        {"{\"card_number\":\"6037'; DROP TABLE bots;--\",\"card_holder_name\":\"x\"}", 422},
        {"{\"card_number\":\"60379911223344556677\",\"card_holder_name\":\"x\"}", 422}, /* 20 */
        {"{\"card_number\":6037991122334455,\"card_holder_name\":\"x\"}", 422},
        {"{\"card_number\":\"" CARD3 "\"}", 422},                                   /* no holder */
        {"{\"card_holder_name\":\"x\"}", 422},
        {"{\"card_number\":\"" CARD1 "\",\"card_holder_name\":\"x\"}", 409},          /* twice */
        {"{\"card_number\":\"6037 9911 2233 4455\",\"card_holder_name\":\"x\"}", 409}, /* same digits */
        {"{\"card_number\":\"5022291011112222\",\"card_holder_name\":\"a\\u0001b\"}", 422},
        {"{\"card_number\":\"5022291011112222\",\"card_holder_name\":\"\"}", 422},
        {"{\"card_number\":\"5022291011112222\",\"card_holder_name\":\"x\",\"bot_id\":1}", 422},
        {"{\"card_number\":\"5022291011112222\",\"card_holder_name\":\"x\",\"weight\":-1}", 422},
        {"{\"card_number\":\"5022291011112222\",\"card_holder_name\":\"x\","
         "\"rotation_strategy\":\"random\"}", 422},
        {"{\"card_number\":\"5022291011112222\",\"card_holder_name\":\"\xff\xfe\"}", 400},
        {"{\"card_number\":\"5022291011112222\",\"card_holder_name\":\"\\udc80\"}", 400},
        {"{\"card_number\":", 400},
        {"[]", 422},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        long st = status_of(fx, "POST", AT("/cards%s", ""), t, bad[i].body);
        if (st != bad[i].status)
            fail_msg("card case %zu: %ld, want %ld", i, st, bad[i].status);
    }
    assert_int_equal(status_of(fx, "PATCH", AT("/cards/%lld", (long long)c[1]), t, "{}"), 422);
    assert_int_equal(status_of(fx, "PATCH", AT("/cards/%lld", (long long)c[1]), t,
                               "{\"card_number\":\"" CARD1 "\"}"), 409);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM tenant_payment_cards WHERE bot_id = %lld",
             (long long)b1);
    assert_int_equal(ts_test_int(fx->e.pair.nw.url, sql), 3);
    /* oversized: 413 */
    expect_too_large(fx, "POST", AT("/cards%s", ""), t, "{\"card_holder_name\":\"x\"");
    /* unknown cards, not cards, another bot's card */
    assert_int_equal(status_of(fx, "GET", AT("/cards/%d", 999999), t, NULL), 404);
    assert_int_equal(status_of(fx, "PATCH", AT("/cards/%d", 999999), t, "{\"weight\":2}"), 404);
    assert_int_equal(status_of(fx, "GET", AT("/cards/%s", "abc"), t, NULL), 404);
    assert_int_equal(status_of(fx, "DELETE", AT("/cards/%s", "rotation"), t, NULL), 404);
    char mt[200];
    snprintf(mt, sizeof mt, "%s", xtok(fx->master_token));
    int64_t master_card = make_card(fx, fx->master, mt, "5859831122223333", "Master");
    assert_int_equal(status_of(fx, "GET", AT("/cards/%lld", (long long)master_card), t, NULL), 404);
    assert_int_equal(status_of(fx, "DELETE", AT("/cards/%lld", (long long)master_card), t, NULL),
                     404);
    a = call(fx, "GET", AT("/cards%s", ""), t, NULL, -1);
    assert_int_equal(cJSON_GetArraySize(items(a.json)), 3);
    cJSON_Delete(a.json);

    /* delete */
    a = call(fx, "DELETE", AT("/cards/%lld", (long long)c[2]), t, NULL, -1);
    assert_int_equal(a.status, 200);
    assert_int_equal(jnum(a.json, "deleted"), c[2]);
    cJSON_Delete(a.json);
    assert_int_equal(status_of(fx, "GET", AT("/cards/%lld", (long long)c[2]), t, NULL), 404);
    assert_int_equal(status_of(fx, "DELETE", AT("/cards/%lld", (long long)c[2]), t, NULL), 404);

    /* audit: the member names, never a number */
    snprintf(sql, sizeof sql, "SELECT count(*) FROM ts_audit WHERE command = "
             "'POST /api/v1/bots/#/cards' AND result = 'ok' AND args = 'bot_id=%lld "
             "fields=card_number,card_holder_name,weight' AND error = 'created card %lld'",
             (long long)b1, (long long)c[0]);
    assert_int_equal(ts_test_int(fx->e.pair.nw.url, sql), 1);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM ts_audit WHERE command = "
             "'DELETE /api/v1/bots/#/cards/#' AND args = 'bot_id=%lld card_id=%lld'",
             (long long)b1, (long long)c[2]);
    assert_int_equal(ts_test_int(fx->e.pair.nw.url, sql), 2);
    assert_int_equal(ts_test_int(fx->e.pair.nw.url, "SELECT count(*) FROM ts_audit WHERE "
                                 "command = 'PUT /api/v1/bots/#/cards/rotation' AND result = "
                                 "'refused'"), 1 + (int)(sizeof bad_rotation / sizeof bad_rotation[0]));
    assert_int_equal(ts_test_int(fx->e.pair.nw.url, "SELECT count(*) FROM ts_audit WHERE "
                                 "coalesce(args, '') || coalesce(error, '') LIKE '%2233%' OR "
                                 "coalesce(args, '') || coalesce(error, '') LIKE '%5566%' OR "
                                 "coalesce(args, '') || coalesce(error, '') LIKE '%9988%'"), 0);
#undef AT
    e2e_close(&fx->e);
}

/* Statistics: what the cards count (picks, approved receipts) and the approved amounts. */
static void test_card_stats(void **state)
{
    api_fx *fx = api_open(state);
    char t[200], p[64];
    int64_t b1 = shop(fx, t);
    int64_t c1 = make_card(fx, b1, t, CARD1, "Sara"), c2 = make_card(fx, b1, t, CARD2, "Reza");
    ts_error err;
    ts_tx *tx;
    ts_ctx ctx = {b1, 0};
    int64_t user, pay, txn;
    char tracking[TS_REPO_TRACKING_SIZE];
    /* a shim of its own: the running ts-bot's is used on the bot's thread */
    ts_shim *sh;
    ts_shim_config sc = {.legacy_url = fx->e.pair.legacy.url, .new_url = fx->e.pair.nw.url,
                         .program = "test_e2e_api"};
    e2e_check(ts_shim_open(&sc, &sh, &err), &err, "shim open");
    e2e_check(ts_shim_begin(sh, &ctx, &tx, &err), &err, "begin");
    ts_user_new nu = {880001, NULL, NULL, NULL, NULL, 0, 0};
    e2e_check(ts_repo_user_create(tx, &nu, &user, NULL, &err), &err, "user");
    for (int i = 0; i < 3; i++) {   /* round robin: c1, c2, c1 */
        ts_card picked;
        assert_int_equal(ts_repo_card_pick(tx, NULL, &picked, &err), 1);
    }
    /* c1: two approved (1000 + 2500), one pending; c2: one approved (700), one rejected */
    static const struct { int card; int64_t kopeks; int approve; } pays[] = {
        {0, 1000, 1}, {0, 2500, 1}, {0, 9999, -1}, {1, 700, 1}, {1, 5000, 0}};
    for (size_t i = 0; i < sizeof pays / sizeof pays[0]; i++) {
        ts_c2c_new n = {user, pays[i].kopeks, pays[i].card ? c2 : c1, "receipt", NULL};
        e2e_check(ts_repo_c2c_create(tx, &n, &pay, tracking, &err), &err, "c2c");
        if (pays[i].approve == 1)
            assert_int_equal(ts_repo_c2c_approve(tx, pay, 42, &txn, &err), 1);
        else if (pays[i].approve == 0)
            assert_int_equal(ts_repo_c2c_reject(tx, pay, 42, "no", &err), 1);
        if (pays[i].approve == 1)
            e2e_check(ts_repo_card_record(tx, pays[i].card ? c2 : c1, 1, &err), &err, "record");
    }
    e2e_check(ts_tx_commit(tx, &err), &err, "commit");
    ts_shim_close(sh);
    snprintf(p, sizeof p, "/bots/%lld/cards/stats", (long long)b1);
    answer a = call(fx, "GET", p, t, NULL, -1);
    assert_int_equal(a.status, 200);
    const cJSON *s1 = cJSON_GetArrayItem(items(a.json), 0), *s2 = cJSON_GetArrayItem(items(a.json), 1);
    assert_int_equal(jnum(s1, "id"), c1);
    assert_string_equal(jstr(s1, "card_number"), "****4455");
    assert_int_equal(jnum(s1, "uses"), 2);
    assert_int_equal(jnum(s1, "success_count"), 2);
    assert_int_equal(jnum(s1, "approved_payments"), 2);
    assert_int_equal(jnum(s1, "approved_amount_kopeks"), 3500);
    assert_int_equal(jnum(s2, "uses"), 1);
    assert_int_equal(jnum(s2, "approved_payments"), 1);
    assert_int_equal(jnum(s2, "approved_amount_kopeks"), 700);
    const cJSON *tot = cJSON_GetObjectItem(a.json, "totals");
    assert_int_equal(jnum(tot, "cards"), 2);
    assert_int_equal(jnum(tot, "uses"), 3);
    assert_int_equal(jnum(tot, "approved_payments"), 3);
    assert_int_equal(jnum(tot, "approved_amount_kopeks"), 4200);
    cJSON_Delete(a.json);
    /* the card list reports the same counters */
    snprintf(p, sizeof p, "/bots/%lld/cards/%lld", (long long)b1, (long long)c1);
    a = call(fx, "GET", p, t, NULL, -1);
    assert_int_equal(jnum(a.json, "uses"), 2);
    assert_true(cJSON_IsString(cJSON_GetObjectItem(a.json, "last_used_at")));
    cJSON_Delete(a.json);
    /* a deleted card's payments stay, without it */
    assert_int_equal(status_of(fx, "DELETE", p, t, NULL), 200);
    snprintf(p, sizeof p, "/bots/%lld/cards/stats", (long long)b1);
    a = call(fx, "GET", p, t, NULL, -1);
    assert_int_equal(cJSON_GetArraySize(items(a.json)), 1);
    assert_int_equal(jnum(cJSON_GetObjectItem(a.json, "totals"), "approved_amount_kopeks"), 700);
    cJSON_Delete(a.json);
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM card_to_card_payments WHERE bot_id = %lld "
             "AND card_id IS NULL", (long long)b1);
    assert_int_equal(ts_test_int(fx->e.pair.nw.url, sql), 3);
    e2e_close(&fx->e);
}

/* Cards are a bot's own: another tenant's token is refused on each of them. */
static void test_cards_auth(void **state)
{
    api_fx *fx = api_open(state);
    char t1[TS_REPO_API_TOKEN_SIZE], t2[TS_REPO_API_TOKEN_SIZE], own[200], other[200], m[200];
    char p[128];
    int64_t b1 = make_tenant(fx, TENANT_TG, "Shop", t1);
    make_tenant(fx, OTHER_TG, "Other", t2);
    snprintf(own, sizeof own, "%s", xtok(t1));
    snprintf(other, sizeof other, "%s", bearer(t2));
    snprintf(m, sizeof m, "%s", xtok(fx->master_token));
    int64_t c1 = make_card(fx, b1, own, CARD1, "Sara");
    static const struct { const char *method, *path, *body; long own_status; } eps[] = {
        {"GET", "/cards", NULL, 200},
        {"POST", "/cards", "{\"card_number\":\"" CARD2 "\",\"card_holder_name\":\"x\"}", 201},
        {"GET", "/cards/#", NULL, 200},
        {"PATCH", "/cards/#", "{\"weight\":5}", 200},
        {"GET", "/cards/rotation", NULL, 200},
        {"PUT", "/cards/rotation", "{\"strategy\":\"random\"}", 200},
        {"GET", "/cards/stats", NULL, 200},
        {"DELETE", "/cards/#", NULL, 200},
    };
    for (size_t i = 0; i < sizeof eps / sizeof eps[0]; i++) {
        char tail[64];
        const char *hash = strchr(eps[i].path, '#');
        if (hash)
            snprintf(tail, sizeof tail, "%.*s%lld", (int)(hash - eps[i].path), eps[i].path,
                     (long long)c1);
        else
            snprintf(tail, sizeof tail, "%s", eps[i].path);
        snprintf(p, sizeof p, "/bots/%lld%s", (long long)b1, tail);
        assert_int_equal(status_of(fx, eps[i].method, p, NULL, eps[i].body), 401);
        assert_int_equal(status_of(fx, eps[i].method, p, xtok("tsk_nope"), eps[i].body), 401);
        long st = status_of(fx, eps[i].method, p, other, eps[i].body);
        if (st != 403)
            fail_msg("%s %s with another tenant's token: %ld", eps[i].method, p, st);
        /* the master's token manages it, for reads; the changes are the tenant's own */
        if (strcmp(eps[i].method, "GET") == 0)
            assert_int_equal(status_of(fx, eps[i].method, p, m, NULL), 200);
        st = status_of(fx, eps[i].method, p, own, eps[i].body);
        if (st != eps[i].own_status)
            fail_msg("%s %s with its own token: %ld", eps[i].method, p, st);
        /* two failures per round: stay under the slowdown */
        assert_int_equal(status_of(fx, "GET", "/bots", m, NULL), 200);
    }
    /* the master changes a tenant's cards too */
    int64_t c3 = make_card(fx, b1, m, CARD3, "By master");
    snprintf(p, sizeof p, "/bots/%lld/cards/%lld", (long long)b1, (long long)c3);
    assert_int_equal(status_of(fx, "PATCH", p, m, "{\"is_active\":false}"), 200);
    assert_int_equal(status_of(fx, "DELETE", p, m, NULL), 200);
    /* the refusals of changes are audited, without numbers */
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM ts_audit WHERE command LIKE '%%/cards%%' AND "
             "result = 'refused' AND args LIKE 'bot_id=%lld%%'", (long long)b1);
    assert_int_equal(ts_test_int(fx->e.pair.nw.url, sql), 4);
    e2e_close(&fx->e);
}

/* ---- pagination ------------------------------------------------------------------------ */

/* Walk GET base?limit=N page by page; the ids in order into ids (at most max);
   how many. Each page but the last is full and names the next. */
static int walk(api_fx *fx, const char *base, const char *auth, int limit, int64_t *ids, int max,
                int *pages)
{
    char p[160];
    int n = 0;
    int64_t after = 0;
    *pages = 0;
    for (;;) {
        snprintf(p, sizeof p, "%s?limit=%d&after=%lld", base, limit, (long long)after);
        answer a = call(fx, "GET", p, auth, NULL, -1);
        assert_int_equal(a.status, 200);
        const cJSON *it = items(a.json), *next = cJSON_GetObjectItem(a.json, "next"), *v;
        (*pages)++;
        assert_true(cJSON_GetArraySize(it) <= limit);
        cJSON_ArrayForEach(v, it) {
            assert_true(n < max);
            ids[n++] = jnum(v, "id");
        }
        if (cJSON_IsNull(next)) {
            cJSON_Delete(a.json);
            return n;
        }
        assert_int_equal(cJSON_GetArraySize(it), limit);
        after = (int64_t)next->valuedouble;
        assert_int_equal(after, ids[n - 1]);
        cJSON_Delete(a.json);
        assert_true(*pages < 100);
    }
}

#define NTENANTS 7

static void test_pagination(void **state)
{
    api_fx *fx = api_open(state);
    char m[200], tok[TS_REPO_API_TOKEN_SIZE], tg[64], name[32];
    int64_t made[NTENANTS + 1], seen[32];
    int pages;
    snprintf(m, sizeof m, "%s", xtok(fx->master_token));
    made[0] = fx->master;
    for (int i = 0; i < NTENANTS; i++) {
        snprintf(tg, sizeof tg, "73%02d:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawC", i);
        snprintf(name, sizeof name, "Tenant %d", i);
        made[i + 1] = make_tenant(fx, tg, name, tok);
    }
    /* every bot once, in id order, whatever the page size */
    for (int limit = 1; limit <= NTENANTS + 2; limit += 2) {
        int n = walk(fx, "/bots", m, limit, seen, 32, &pages);
        assert_int_equal(n, NTENANTS + 1);
        for (int i = 0; i < n; i++)
            assert_int_equal(seen[i], made[i]);   /* made in id order */
        assert_int_equal(pages, (NTENANTS + 1 + limit - 1) / limit);   /* no empty last page */
    }
    /* the default page holds them all; an exact last page names no next */
    answer a = call(fx, "GET", "/bots", m, NULL, -1);
    assert_int_equal(cJSON_GetArraySize(items(a.json)), NTENANTS + 1);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(a.json, "next")));
    cJSON_Delete(a.json);
    /* a bot deleted and one added between two pages: no other is skipped or repeated */
    char p[96];
    snprintf(p, sizeof p, "/bots?limit=3");
    a = call(fx, "GET", p, m, NULL, -1);
    int64_t next = jnum(a.json, "next");
    assert_int_equal(next, made[2]);
    cJSON_Delete(a.json);
    snprintf(p, sizeof p, "/bots/%lld", (long long)made[1]);
    assert_int_equal(status_of(fx, "DELETE", p, m, NULL), 200);
    int64_t late = make_tenant(fx, "7399:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawC", "Late", tok);
    snprintf(p, sizeof p, "/bots?after=%lld", (long long)next);
    a = call(fx, "GET", p, m, NULL, -1);
    assert_int_equal(cJSON_GetArraySize(items(a.json)), NTENANTS + 1 - 3 + 1);
    assert_int_equal(jnum(cJSON_GetArrayItem(items(a.json), 0), "id"), made[3]);
    assert_int_equal(jnum(cJSON_GetArrayItem(items(a.json), NTENANTS - 2), "id"), late);
    cJSON_Delete(a.json);
    /* past the end: an empty last page */
    snprintf(p, sizeof p, "/bots?after=%lld&limit=5", (long long)late);
    a = call(fx, "GET", p, m, NULL, -1);
    assert_int_equal(cJSON_GetArraySize(items(a.json)), 0);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(a.json, "next")));
    cJSON_Delete(a.json);
    /* a tenant's pages hold itself only */
    a = call(fx, "GET", "/bots?limit=1", xtok(tok), NULL, -1);
    assert_int_equal(a.status, 200);
    assert_int_equal(cJSON_GetArraySize(items(a.json)), 1);
    assert_int_equal(jnum(cJSON_GetArrayItem(items(a.json), 0), "id"), late);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(a.json, "next")));
    cJSON_Delete(a.json);
    snprintf(p, sizeof p, "/bots?after=%lld", (long long)late);
    a = call(fx, "GET", p, xtok(tok), NULL, -1);
    assert_int_equal(cJSON_GetArraySize(items(a.json)), 0);
    cJSON_Delete(a.json);
    /* bad queries: 400 naming what is wrong */
    static const struct { const char *q, *says; } bad[] = {
        {"limit=0", "limit"}, {"limit=-1", "limit"}, {"limit=201", "limit"}, {"limit=abc", "limit"},
        {"limit=1.5", "limit"}, {"limit=", "limit"}, {"limit", "limit"}, {"limit=%FF", "limit"},
        {"limit=99999999999999999999", "limit"}, {"limit=2&limit=3", "twice"},
        {"limit=+5", "limit"}, {"after=x", "after"}, {"after=-3", "after"},
        {"after=1%27%20OR%201=1", "after"}, {"offset=3", "offset"},
        {"a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9", "query parameters"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(p, sizeof p, "/bots?%s", bad[i].q);
        a = call(fx, "GET", p, m, NULL, -1);
        if (a.status != 400 || strstr(jstr(a.json, "message"), bad[i].says) == NULL)
            fail_msg("?%s: %ld, want 400 saying %s", bad[i].q, a.status, bad[i].says);
        assert_string_equal(jstr(a.json, "error"), "bad_request");
        cJSON_Delete(a.json);
    }
    /* a path that is no list takes no query */
    snprintf(p, sizeof p, "/bots/%lld?limit=2", (long long)late);
    assert_int_equal(status_of(fx, "GET", p, m, NULL), 400);
    a = call(fx, "GET", "/bots?limit=200", m, NULL, -1);
    assert_int_equal(a.status, 200);
    cJSON_Delete(a.json);

    /* the card list pages alike */
    int64_t cards[5];
    static const char *const numbers[5] = {"5022291000000001", "5022291000000002",
                                           "5022291000000003", "5022291000000004",
                                           "5022291000000005"};
    for (int i = 0; i < 5; i++)
        cards[i] = make_card(fx, late, xtok(tok), numbers[i], "Holder");
    snprintf(p, sizeof p, "/bots/%lld/cards", (long long)late);
    char own[200];
    snprintf(own, sizeof own, "%s", xtok(tok));
    int n = walk(fx, p, own, 2, seen, 32, &pages);
    assert_int_equal(n, 5);
    assert_int_equal(pages, 3);
    for (int i = 0; i < 5; i++)
        assert_int_equal(seen[i], cards[i]);
    snprintf(p, sizeof p, "/bots/%lld/cards?limit=500", (long long)late);
    assert_int_equal(status_of(fx, "GET", p, own, NULL), 400);
    snprintf(p, sizeof p, "/bots/%lld/cards/stats?limit=2", (long long)late);
    assert_int_equal(status_of(fx, "GET", p, own, NULL), 400);
    e2e_close(&fx->e);
}

static ts_pair_kind sqlite_kind = TS_PAIR_SQLITE, pg_kind = TS_PAIR_PG;

#define BOTH(t) cmocka_unit_test_prestate(t, &sqlite_kind), cmocka_unit_test_prestate(t, &pg_kind)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_auth_matrix),
        BOTH(test_failed_auth_slowed),
        BOTH(test_bots),
        BOTH(test_flags_config_wallet),
        BOTH(test_bad_input),
        BOTH(test_audit),
        BOTH(test_concurrent_updates),
        BOTH(test_plans),
        BOTH(test_cards),
        BOTH(test_card_stats),
        BOTH(test_cards_auth),
        BOTH(test_pagination),
        cmocka_unit_test_prestate(test_cli_issues_token, &sqlite_kind),
    };
    return cmocka_run_group_tests_name("e2e api", tests, NULL, NULL);
}
