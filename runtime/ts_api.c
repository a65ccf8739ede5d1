/* ts_api.c: routing, authentication, input and errors of the management API. */
#include "ts_api.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "ts_clock.h"
#include "ts_control.h"
#include "ts_httpc.h"
#include "ts_log.h"
#include "ts_repo.h"
#include "ts_tenant.h"

#define SLOTS 256                /* addresses whose failures are remembered */
#define DELAY_MAX_MS 60000
#define TOKEN_MAX 128            /* longer is no token of ours: not even hashed */
#define TS_API_ORDER_MAX 256     /* plans one order request names */
#define INTERVAL_MAX 525600      /* a card rotation's minutes: at most a year */

typedef struct failures {
    char addr[64];
    int count;
    long long until_ms, last_ms;
} failures;

struct ts_api {
    ts_shim *sh;
    failures slot[SLOTS];
};

ts_api *ts_api_new(ts_shim *sh)
{
    ts_api *a = calloc(1, sizeof *a);
    if (a != NULL)
        a->sh = sh;
    return a;
}

void ts_api_free(ts_api *a) { free(a); }

/* ---- answers ---------------------------------------------------------------------------- */

static void answer_json(ts_http_reply *r, int status, const cJSON *j)
{
    char *s = cJSON_PrintUnformatted(j);
    r->status = status;
    if (s == NULL) {
        r->body.oom = 1;
        return;
    }
    ts_buf_puts(&r->body, s);
    ts_buf_puts(&r->body, "\n");
    free(s);
}

/* {"error": code, "message": text}: code is stable, text for people. */
static void fail(ts_http_reply *r, int status, const char *code, const char *message)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "error", code);
    cJSON_AddStringToObject(j, "message", message);
    answer_json(r, status, j);
    cJSON_Delete(j);
}

/* An operation's error as its status; the message of a 5xx is logged, not shown. */
static void fail_op(ts_http_reply *r, const ts_error *err)
{
    char q[1100];
    switch (err->code) {
    case TS_E_INVALID: fail(r, 422, "invalid", err->msg); return;
    case TS_E_NOTFOUND: fail(r, 404, "not_found", err->msg); return;
    case TS_E_STATE: case TS_E_CONSTRAINT: fail(r, 409, "conflict", err->msg); return;
    default: break;
    }
    ts_log(TS_LOG_ERROR, "api_failed", "code=%s error=%s", ts_code_name(err->code),
           ts_log_value(err->msg, q, sizeof q));
    if (ts_error_retryable(err))
        fail(r, 503, "unavailable", "a store is unreachable or busy: retry");
    else
        fail(r, 500, "internal", "the operation failed: see ts-bot's log");
}

/* ---- failed authentication, per address ------------------------------------------------- */

static failures *slot_of(ts_api *a, const char *addr, int make)
{
    failures *oldest = &a->slot[0];
    for (int i = 0; i < SLOTS; i++) {
        if (strcmp(a->slot[i].addr, addr) == 0)
            return &a->slot[i];
        if (a->slot[i].last_ms < oldest->last_ms)
            oldest = &a->slot[i];
    }
    if (!make)
        return NULL;
    /* full: the address that failed longest ago is forgotten */
    memset(oldest, 0, sizeof *oldest);
    snprintf(oldest->addr, sizeof oldest->addr, "%s", addr);
    return oldest;
}

static void failed_auth(ts_api *a, const char *addr)
{
    failures *f = slot_of(a, addr, 1);
    long long now = ts_clock_ms();
    f->last_ms = now;
    if (++f->count >= TS_API_FREE_FAILURES) {
        int shift = f->count - TS_API_FREE_FAILURES;
        long long delay = shift >= 6 ? DELAY_MAX_MS : 1000LL << shift;
        f->until_ms = now + (delay < DELAY_MAX_MS ? delay : DELAY_MAX_MS);
    }
    ts_log(TS_LOG_WARN, "api_auth_failed", "client=%.64s failures=%d", addr, f->count);
}

/* 1: the caller is authenticated as *bot; 0: answered (401, 429) or failed (5xx). */
static int authenticate(ts_api *a, const ts_http_request *req, ts_bot *bot, ts_http_reply *r)
{
    failures *f = slot_of(a, req->client, 0);
    long long now = ts_clock_ms();
    if (f != NULL && f->until_ms > now) {
        r->retry_after = (int)((f->until_ms - now + 999) / 1000);
        fail(r, 429, "too_many_failures", "too many failed authentications from this "
             "address: wait for Retry-After seconds");
        return 0;
    }
    if (req->token == NULL || *req->token == '\0') {
        failed_auth(a, req->client);
        fail(r, 401, "unauthenticated", "an API token is needed: X-API-Token or "
             "Authorization: Bearer");
        return 0;
    }
    ts_error err;
    ts_tx *tx;
    int64_t master = ts_shim_master_bot_id(a->sh);
    ts_ctx ctx = {master, 1};
    int rc = strlen(req->token) > TOKEN_MAX ? 0 : -1;
    if (rc < 0 && ts_shim_begin(a->sh, &ctx, &tx, &err) == 0) {
        rc = ts_repo_bot_by_api_token(tx, req->token, bot, &err);
        ts_tx_rollback(tx);   /* it only read */
    }
    if (rc < 0) {
        fail_op(r, &err);
        return 0;
    }
    if (rc == 0) {
        failed_auth(a, req->client);
        fail(r, 401, "unauthenticated", "the API token is not valid");
        return 0;
    }
    if (f != NULL)
        memset(f, 0, sizeof *f);
    return 1;
}

/* ---- input ------------------------------------------------------------------------------ */

/* The body as a JSON object; NULL when answered (400 not JSON, 422 not an object). */
static cJSON *body_object(const ts_http_request *req, ts_http_reply *r)
{
    if (strlen(req->body) != req->body_len || !ts_utf8_valid(req->body, req->body_len)) {
        fail(r, 400, "bad_request", "the body is not UTF-8 text");
        return NULL;
    }
    cJSON *j = cJSON_ParseWithOpts(req->body, NULL, 1);
    if (j == NULL) {
        fail(r, 400, "bad_request", "the body is not a JSON text");
        return NULL;
    }
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        fail(r, 422, "invalid", "the body must be a JSON object");
        return NULL;
    }
    return j;
}

/* A JSON number that is an integer a double holds exactly. */
static int json_int(const cJSON *v, int64_t *out)
{
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (!(d == floor(d) && fabs(d) <= 9007199254740992.0))
        return 0;
    *out = (int64_t)d;
    return 1;
}

/* The fields of e in body into op (create, update). 0, or -1 with err (TS_E_INVALID). */
static int fields_of(ts_tenant_entity e, const cJSON *body, ts_tenant_op *op, ts_error *err)
{
    for (const cJSON *m = body->child; m; m = m->next) {
        int kind = ts_tenant_field_kind(e, m->string);
        int64_t i;
        for (int k = 0; k < op->nfields; k++)
            if (strcmp(op->fields[k].col, m->string) == 0)
                return ts_fail(err, TS_E_INVALID, "%s: given twice", m->string);
        if (e == TS_TENANT_BOT && strcmp(m->string, "telegram_bot_token") == 0) {
            if (op->token != NULL || !cJSON_IsString(m))
                return ts_fail(err, TS_E_INVALID, "telegram_bot_token: expected one string");
            if (ts_tenant_check_token(m->valuestring, err))
                return -1;
            op->token = m->valuestring;
            continue;
        }
        if (kind < 0)
            return ts_fail(err, TS_E_INVALID, "%.64s: no such %s field", m->string,
                           ts_tenant_entity_name(e));
        if (kind == TS_TENANT_INT && !json_int(m, &i))
            return ts_fail(err, TS_E_INVALID, "%s: expected an integer", m->string);
        if (kind == TS_TENANT_INT && ts_tenant_check_int(e, m->string, i, err))
            return -1;
        if (kind == TS_TENANT_BOOL && !cJSON_IsBool(m))
            return ts_fail(err, TS_E_INVALID, "%s: expected true or false", m->string);
        if (kind == TS_TENANT_TEXT &&
            (!cJSON_IsString(m) || ts_tenant_check_field(m->string, m->string, m->valuestring, err)))
            return cJSON_IsString(m) ? -1 : ts_fail(err, TS_E_INVALID, "%s: expected a string",
                                                   m->string);
        op->fields[op->nfields++] =
            (ts_set){m->string, kind == TS_TENANT_INT    ? ts_int(i)
                                : kind == TS_TENANT_BOOL ? ts_bool(cJSON_IsTrue(m))
                                                         : ts_text(m->valuestring)};
    }
    return 0;
}

/* ---- routes ----------------------------------------------------------------------------- */

typedef enum scope { ANY, OWN, MASTER } scope;   /* who may: any caller, the bot's own or
                                                    the master's token, the master's only */

typedef struct route {
    const char *method;
    const char *shape;        /* a path: "#" stands for a bot id, "*" for a key */
    ts_tenant_verb verb;
    scope who;
    int body;                 /* takes a JSON object */
    int created;              /* answers 201 */
    int paged;                /* a list: ?limit=N&after=ID */
} route;

static const route routes[] = {
    {"GET", "/bots", TS_TENANT_BOT_LIST, ANY, 0, 0, 1},
    {"POST", "/bots", TS_TENANT_BOT_CREATE, MASTER, 1, 1},
    {"GET", "/bots/#", TS_TENANT_BOT_SHOW, OWN, 0, 0},
    {"PATCH", "/bots/#", TS_TENANT_BOT_UPDATE, OWN, 1, 0},
    {"DELETE", "/bots/#", TS_TENANT_BOT_DELETE, MASTER, 0, 0},
    {"POST", "/bots/#/activate", TS_TENANT_BOT_ACTIVATE, MASTER, 0, 0},
    {"POST", "/bots/#/deactivate", TS_TENANT_BOT_DEACTIVATE, MASTER, 0, 0},
    {"POST", "/bots/#/token", TS_TENANT_BOT_TOKEN, OWN, 0, 0},
    {"GET", "/bots/#/flags", TS_TENANT_FLAG_LIST, OWN, 0, 0},
    {"GET", "/bots/#/flags/*", TS_TENANT_FLAG_GET, OWN, 0, 0},
    {"PUT", "/bots/#/flags/*", TS_TENANT_FLAG_SET, OWN, 1, 0},
    {"DELETE", "/bots/#/flags/*", TS_TENANT_FLAG_UNSET, OWN, 0, 0},
    {"GET", "/bots/#/config", TS_TENANT_CONFIG_LIST, OWN, 0, 0},
    {"GET", "/bots/#/config/*", TS_TENANT_CONFIG_GET, OWN, 0, 0},
    {"PUT", "/bots/#/config/*", TS_TENANT_CONFIG_SET, OWN, 1, 0},
    {"DELETE", "/bots/#/config/*", TS_TENANT_CONFIG_UNSET, OWN, 0, 0},
    {"GET", "/bots/#/wallet", TS_TENANT_WALLET, OWN, 0, 0},
    {"GET", "/bots/#/plans", TS_TENANT_PLAN_LIST, OWN, 0, 0},
    {"POST", "/bots/#/plans", TS_TENANT_PLAN_CREATE, OWN, 1, 1},
    {"PUT", "/bots/#/plans/order", TS_TENANT_PLAN_ORDER, OWN, 1, 0},
    {"GET", "/bots/#/plans/#", TS_TENANT_PLAN_GET, OWN, 0, 0},
    {"PATCH", "/bots/#/plans/#", TS_TENANT_PLAN_UPDATE, OWN, 1, 0},
    {"DELETE", "/bots/#/plans/#", TS_TENANT_PLAN_DELETE, OWN, 0, 0},
    {"POST", "/bots/#/plans/#/activate", TS_TENANT_PLAN_ACTIVATE, OWN, 0, 0},
    {"POST", "/bots/#/plans/#/deactivate", TS_TENANT_PLAN_DEACTIVATE, OWN, 0, 0},
    {"GET", "/bots/#/cards", TS_TENANT_CARD_LIST, OWN, 0, 0, 1},
    {"POST", "/bots/#/cards", TS_TENANT_CARD_CREATE, OWN, 1, 1},
    /* before "/cards/#": these words are no card ids */
    {"GET", "/bots/#/cards/rotation", TS_TENANT_CARD_ROTATION, OWN, 0, 0},
    {"PUT", "/bots/#/cards/rotation", TS_TENANT_CARD_ROTATE, OWN, 1, 0},
    {"GET", "/bots/#/cards/stats", TS_TENANT_CARD_STATS, OWN, 0, 0},
    {"GET", "/bots/#/cards/#", TS_TENANT_CARD_GET, OWN, 0, 0},
    {"PATCH", "/bots/#/cards/#", TS_TENANT_CARD_UPDATE, OWN, 1, 0},
    {"DELETE", "/bots/#/cards/#", TS_TENANT_CARD_DELETE, OWN, 0, 0},
};

/* What the second id of the route's path names. */
static ts_tenant_entity item_of(const route *rt)
{
    return strstr(rt->shape, "/cards") ? TS_TENANT_CARD : TS_TENANT_PLAN;
}

/* path against shape: 1 matches, with the ids (the bot's, then the plan's or card's:
   -1 when not a positive decimal) and the key (copied into key). */
static int match(const char *shape, const char *path, int64_t id[2], char *key, size_t keysz)
{
    int nid = 0;
    while (*shape && *path) {
        if (*shape == '#' || *shape == '*') {
            size_t n = strcspn(path, "/");
            if (n == 0)
                return 0;
            if (*shape == '#') {
                char *end;
                errno = 0;
                long long v = strtoll(path, &end, 10);
                /* an id that is not a positive decimal names no bot */
                id[nid++] = path[0] < '1' || path[0] > '9' || end != path + n || errno ? -1 : v;
            } else {
                /* cut, a key too long stays too long for ts_tenant_check_key */
                size_t k = n < keysz - 1 ? n : keysz - 1;
                memcpy(key, path, k);
                key[k] = '\0';
            }
            shape++, path += n;
        } else if (*shape++ != *path++) {
            return 0;
        }
    }
    return *shape == '\0' && (*path == '\0' || (path[0] == '/' && path[1] == '\0'));
}

static int changes(const route *rt) { return strcmp(rt->method, "GET") != 0; }

/* Arguments are kept short: ts_audit's args column holds 4096 characters. */
#define AUDIT_ARGS_MAX 3000

static void audit(ts_api *a, const ts_http_request *req, const route *rt, const int64_t id[2],
                  const char *key, const ts_bot *caller, const cJSON *body, int status,
                  const ts_error *err, const ts_buf *note)
{
    char actor[32], command[64];
    ts_buf args = {0}, msg = {0};
    ts_error e;
    snprintf(actor, sizeof actor, "api:%" PRId64, caller->id);
    /* the route, not the path: the command column is short, the key is in args */
    snprintf(command, sizeof command, "%s /api/v1%s", rt->method, rt->shape);
    if (id[0] > 0)
        ts_buf_printf(&args, "bot_id=%" PRId64, id[0]);
    if (id[1] > 0)
        ts_buf_printf(&args, " %s_id=%" PRId64, ts_tenant_entity_name(item_of(rt)), id[1]);
    if (key != NULL)   /* checked (NULL when not) */
        ts_buf_printf(&args, "%skey=%s", args.len ? " " : "", key);
    /* the member names only: the values may be secrets (a Telegram token) */
    for (const cJSON *m = body ? body->child : NULL; m && args.len < AUDIT_ARGS_MAX; m = m->next)
        ts_buf_printf(&args, "%s%.64s", m == body->child ? (args.len ? " fields=" : "fields=")
                                                         : ",", m->string);
    if (status >= 400)
        ts_buf_puts(&msg, err->msg);
    if (note->len)
        ts_buf_printf(&msg, "%s%s", msg.len ? "; " : "", note->s);
    ts_audit_entry en = {actor, req->client, command, args.len ? args.s : NULL, NULL, NULL, NULL,
                         status < 400 ? "ok" : status < 500 ? "refused" : "failed",
                         msg.len ? msg.s : NULL, (int64_t)getpid(), 0};
    if (ts_control_audit(ts_shim_new(a->sh), &en, &e))
        ts_log(TS_LOG_WARN, "audit_failed", "error=\"%s\" note=\"the request ran; its audit "
               "row could not be written\"", e.msg);
    ts_buf_free(&args);
    ts_buf_free(&msg);
}

static int is_flag(ts_tenant_verb v)
{
    return v == TS_TENANT_FLAG_GET || v == TS_TENANT_FLAG_SET || v == TS_TENANT_FLAG_UNSET;
}

/* {"order": [plan ids]} into op: every id once. */
static int plan_order(const cJSON *body, ts_tenant_op *op, int64_t *order, ts_error *err)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(body, "order"), *v;
    if (!cJSON_IsArray(list) || cJSON_GetArraySize(body) != 1 ||
        cJSON_GetArraySize(list) > TS_API_ORDER_MAX)
        return ts_fail(err, TS_E_INVALID, "expected {\"order\": [plan ids]}, at most %d",
                       TS_API_ORDER_MAX), 422;
    cJSON_ArrayForEach(v, list) {
        int64_t id;
        if (!json_int(v, &id) || id < 1)
            return ts_fail(err, TS_E_INVALID, "order: plan ids are positive integers"), 422;
        for (int i = 0; i < op->norder; i++)
            if (order[i] == id)
                return ts_fail(err, TS_E_INVALID, "order: plan %lld twice", (long long)id), 422;
        order[op->norder++] = id;
    }
    op->order = order;
    return 0;
}

/* s is a decimal integer of at most 18 digits (no sign, no space). */
static int decimal(const char *s, int64_t *out)
{
    size_t n = strspn(s, "0123456789");
    if (n == 0 || n > 18 || s[n] != '\0')
        return 0;
    *out = strtoll(s, NULL, 10);
    return 1;
}

static const char *printable(const char *s)
{
    return ts_utf8_valid(s, strlen(s)) ? s : "(not UTF-8)";
}

/*
 * The query of a list, ?limit=N&after=ID, into op: keyset pagination, the page
 * of the items with an id above after, in id order (an offset would skip or
 * repeat items when some are added or deleted between two pages; an id does
 * not). Other routes take no query. 0, or -1 with err.
 */
static int page_of(const route *rt, const ts_http_request *req, ts_tenant_op *op, ts_error *err)
{
    int seen[2] = {0, 0};
    op->limit = rt->paged ? TS_TENANT_PAGE_DEFAULT : 0;
    for (int i = 0; i < req->nquery; i++) {
        const ts_http_param *q = &req->query[i];
        int limit = strcmp(q->name, "limit") == 0;
        int64_t v;
        if (!rt->paged || (!limit && strcmp(q->name, "after") != 0))
            return ts_fail(err, TS_E_INVALID, "query parameter '%.32s': %s", printable(q->name),
                           rt->paged ? "a list takes limit and after" : "this path takes none");
        if (seen[limit]++)
            return ts_fail(err, TS_E_INVALID, "%s: given twice", q->name);
        if (limit && (!decimal(q->value, &v) || v < 1 || v > TS_TENANT_PAGE_MAX))
            return ts_fail(err, TS_E_INVALID, "limit '%.20s': expected an integer from 1 to %d",
                           printable(q->value), TS_TENANT_PAGE_MAX);
        if (!limit && !decimal(q->value, &v))
            return ts_fail(err, TS_E_INVALID, "after '%.20s': expected an id, the \"next\" of "
                           "the page before", printable(q->value));
        if (limit)
            op->limit = (int)v;
        else
            op->after = v;
    }
    return 0;
}

/* {"strategy": ..., "interval_minutes": N (optional)} into op. */
static int rotation_of(const cJSON *body, ts_tenant_op *op, ts_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, "strategy");
    for (const cJSON *m = body->child; m; m = m->next)
        if (strcmp(m->string, "strategy") != 0 && strcmp(m->string, "interval_minutes") != 0)
            return ts_fail(err, TS_E_INVALID, "%.64s: a rotation has strategy and "
                           "interval_minutes", m->string);
    if (!cJSON_IsString(v))
        return ts_fail(err, TS_E_INVALID, "strategy: expected round_robin, random, time_based "
                       "or weighted");
    if (ts_tenant_check_strategy(v->valuestring, err))
        return -1;
    op->strategy = v->valuestring;
    v = cJSON_GetObjectItemCaseSensitive(body, "interval_minutes");
    if (cJSON_GetArraySize(body) > 1 + (v != NULL))
        return ts_fail(err, TS_E_INVALID, "strategy or interval_minutes: given twice");
    if (v != NULL && (!json_int(v, &op->interval) || op->interval < 1 ||
                      op->interval > INTERVAL_MAX))
        return ts_fail(err, TS_E_INVALID, "interval_minutes: expected an integer from 1 to %d",
                       INTERVAL_MAX);
    return 0;
}

/* The operation from the route, the query, the key and the body: 0, or the
   status to refuse it with (400 a bad key or query, 422 a body that does not
   fit), err saying why. */
static int build(const route *rt, const ts_http_request *req, const cJSON *body, const char *key,
                 ts_tenant_op *op, int64_t *order, ts_error *err)
{
    const cJSON *v;
    if ((key[0] && ts_tenant_check_key(is_flag(rt->verb), key, err)) || page_of(rt, req, op, err))
        return 400;
    op->key = key[0] ? key : NULL;
    op->confirm = 1;   /* DELETE says it: the cascade is documented */
    switch (rt->verb) {
    case TS_TENANT_PLAN_CREATE:
    case TS_TENANT_PLAN_UPDATE:
        if (fields_of(TS_TENANT_PLAN, body, op, err))
            return 422;
        if (rt->verb == TS_TENANT_PLAN_CREATE &&
            (!cJSON_HasObjectItem(body, "name") || !cJSON_HasObjectItem(body, "period_days") ||
             !cJSON_HasObjectItem(body, "price_kopeks")))
            return ts_fail(err, TS_E_INVALID, "a new plan needs name, period_days and "
                           "price_kopeks"), 422;
        if (op->nfields == 0)
            return ts_fail(err, TS_E_INVALID, "give at least one field to change"), 422;
        return 0;
    case TS_TENANT_PLAN_ORDER:
        return plan_order(body, op, order, err);
    case TS_TENANT_CARD_CREATE:
    case TS_TENANT_CARD_UPDATE:
        if (fields_of(TS_TENANT_CARD, body, op, err))
            return 422;
        if (rt->verb == TS_TENANT_CARD_CREATE && (!cJSON_HasObjectItem(body, "card_number") ||
                                                  !cJSON_HasObjectItem(body, "card_holder_name")))
            return ts_fail(err, TS_E_INVALID, "a new card needs card_number and "
                           "card_holder_name"), 422;
        if (op->nfields == 0)
            return ts_fail(err, TS_E_INVALID, "give at least one field to change"), 422;
        return 0;
    case TS_TENANT_CARD_ROTATE:
        return rotation_of(body, op, err) ? 422 : 0;
    case TS_TENANT_BOT_CREATE:
    case TS_TENANT_BOT_UPDATE:
        if (fields_of(TS_TENANT_BOT, body, op, err))
            return 422;
        if (rt->verb == TS_TENANT_BOT_CREATE && (op->token == NULL ||
            !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(body, "name"))))
            return ts_fail(err, TS_E_INVALID, "a new bot needs name and telegram_bot_token"), 422;
        if (op->nfields == 0 && op->token == NULL)
            return ts_fail(err, TS_E_INVALID, "give at least one field to change"), 422;
        return 0;
    case TS_TENANT_FLAG_SET:
        for (const cJSON *m = body->child; m; m = m->next)
            if (strcmp(m->string, "enabled") != 0 && strcmp(m->string, "config") != 0)
                return ts_fail(err, TS_E_INVALID, "%.64s: a flag has enabled and config",
                               m->string), 422;
        v = cJSON_GetObjectItemCaseSensitive(body, "enabled");
        if (!cJSON_IsBool(v))
            return ts_fail(err, TS_E_INVALID, "enabled: expected true or false"), 422;
        op->enabled = cJSON_IsTrue(v);
        return 0;
    case TS_TENANT_CONFIG_SET:
        if (cJSON_GetObjectItemCaseSensitive(body, "value") == NULL || cJSON_GetArraySize(body) != 1)
            return ts_fail(err, TS_E_INVALID, "expected {\"value\": any JSON}"), 422;
        return 0;
    default:
        return 0;
    }
}

/* The route of the request, its id and key; NULL answered (404, 405). */
static const route *find_route(const ts_http_request *req, int64_t id[2], char *key,
                               size_t keysz, ts_http_reply *r)
{
    int path_known = 0;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (!match(routes[i].shape, req->path, id, key, keysz))
            continue;
        path_known = 1;
        if (strcmp(routes[i].method, req->method) == 0)
            return &routes[i];
    }
    if (path_known)
        fail(r, 405, "method_not_allowed", "this method is not served on this path");
    else
        fail(r, 404, "not_found", "no such API path");
    return NULL;
}

void ts_api_handle(void *arg, const ts_http_request *req, ts_http_reply *r)
{
    ts_api *a = arg;
    int64_t ids[2] = {0, 0}, order[TS_API_ORDER_MAX];
    char key[TS_TENANT_CONFIG_KEY_MAX + 2] = "";
    const route *rt = find_route(req, ids, key, sizeof key, r);
    int64_t id = ids[0];
    ts_bot caller;
    if (rt == NULL || !authenticate(a, req, &caller, r))
        return;
    if ((rt->who == MASTER && !caller.is_master) ||
        (rt->who == OWN && !caller.is_master && id != caller.id)) {
        ts_error err;
        ts_buf none = {0};
        ts_fail(&err, TS_E_STATE, "forbidden: bot %" PRId64 "'s token", caller.id);
        fail(r, 403, "forbidden", "this token manages only its own bot, and does not create, "
             "delete, activate or deactivate bots");
        if (changes(rt))   /* an attempt on another bot is worth a trace */
            audit(a, req, rt, ids, NULL, &caller, NULL, r->status, &err, &none);
        return;
    }
    if (id < 0 || ids[1] < 0) {
        fail(r, 404, "not_found", id < 0 ? "no such bot" : item_of(rt) == TS_TENANT_CARD
                                                             ? "no such card" : "no such plan");
        return;
    }
    cJSON *body = NULL;
    if (rt->body && (body = body_object(req, r)) == NULL)
        return;
    ts_tenant_op op = {.verb = rt->verb, .bot_id = id, .item_id = ids[1],
                       .only_bot = caller.is_master ? 0 : caller.id};
    ts_buf note = {0};
    ts_error err = {0};
    char *json = NULL;
    int status = build(rt, req, body, key, &op, order, &err);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, rt->verb == TS_TENANT_FLAG_SET
                                                                 ? "config" : "value");
    if (status == 0 && v != NULL &&
        (json = cJSON_PrintUnformatted(v)) == NULL)
        status = 500, ts_fail(&err, TS_E_NOMEM, "out of memory");
    op.json = json;
    cJSON *result;
    if (status != 0) {
        fail(r, status, status == 400 ? "bad_request" : status == 422 ? "invalid" : "internal",
             err.msg);
    } else if (ts_tenant_run(a->sh, &op, &result, &note, &err) == 0) {
        answer_json(r, rt->created ? 201 : 200, result);
        cJSON_Delete(result);
    } else {
        fail_op(r, &err);
    }
    if (changes(rt))
        audit(a, req, rt, ids, op.key, &caller, body, r->status, &err, &note);
    ts_buf_free(&note);
    free(json);
    cJSON_Delete(body);
}
