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
    assert_int_equal(cJSON_GetArraySize(a.json), 1);
    assert_int_equal(jnum(cJSON_GetArrayItem(a.json, 0), "id"), b1);
    cJSON_Delete(a.json);
    a = call(fx, "GET", "/bots", xtok(fx->master_token), NULL, -1);
    assert_int_equal(cJSON_GetArraySize(a.json), 3);
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
    size_t big = TS_HTTP_BODY_MAX + 10;
    char *huge = malloc(big + 1);
    memset(huge, ' ', big);
    memcpy(huge, "{\"name\":\"x\"", 11);
    huge[big - 1] = '}';
    huge[big] = '\0';
    a = call(fx, "PATCH", path, t, huge, (long)big);
    assert_int_equal(a.status, 413);
    assert_string_equal(jstr(a.json, "error"), "too_large");
    cJSON_Delete(a.json);
    free(huge);
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
    char t1[TS_REPO_API_TOKEN_SIZE], t[200], p[128], body[160];
    int64_t b1 = make_tenant(fx, TENANT_TG, "Shop", t1), ids[3];
    snprintf(t, sizeof t, "%s", xtok(t1));
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
        cmocka_unit_test_prestate(test_cli_issues_token, &sqlite_kind),
    };
    return cmocka_run_group_tests_name("e2e api", tests, NULL, NULL);
}
