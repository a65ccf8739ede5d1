/* ts_tenant.c: the tenant operations of ts-admin and the management API. */
#include "ts_tenant.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_log.h"
#include "ts_tg.h"

#define LOWER "abcdefghijklmnopqrstuvwxyz"
#define UPPER "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define DIGITS "0123456789"

/* ---- input ------------------------------------------------------------------------------ */

/* Text for a column of at most max characters: well-formed UTF-8, no control
   characters, not empty. Quotes and the like are fine: every value is bound. */
static int check_text(const char *what, const char *s, size_t max, ts_error *err)
{
    size_t chars = 0, len = strlen(s);
    if (len == 0 || !ts_utf8_valid(s, len))
        return ts_fail(err, TS_E_INVALID, "%s: %s", what, len ? "not valid UTF-8" : "empty");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return ts_fail(err, TS_E_INVALID, "%s: control characters are not allowed", what);
        chars += (*p & 0xc0) != 0x80;
    }
    if (chars > max)
        return ts_fail(err, TS_E_INVALID, "%s: %zu characters, at most %zu", what, chars, max);
    return 0;
}

/* s is 1 to max characters, each of set. */
static int check_chars(const char *what, const char *s, const char *set, size_t max,
                       const char *expect, ts_error *err)
{
    size_t n = strlen(s);
    if (n == 0 || n > max || s[strspn(s, set)] != '\0')
        return ts_fail(err, TS_E_INVALID, "%s '%.40s': expected %s", what,
                       ts_utf8_valid(s, n) ? s : "(not UTF-8)", expect);
    return 0;
}

int ts_tenant_check_json(const char *what, const char *s, ts_error *err)
{
    cJSON *j = ts_utf8_valid(s, strlen(s)) ? cJSON_ParseWithOpts(s, NULL, 1) : NULL;
    if (j == NULL)
        return ts_fail(err, TS_E_INVALID, "%s: not a JSON text in UTF-8 (quote it for the "
                       "shell: '{\"a\": 1}', '\"text\"')", what);
    cJSON_Delete(j);
    return 0;
}

int ts_tenant_check_token(const char *token, ts_error *err)
{
    char red[64];
    if (!ts_tg_token_valid(token) || strlen(token) > 255)
        return ts_fail(err, TS_E_INVALID, "Telegram bot token %s is malformed: expected <bot "
                       "id>:<secret> from @BotFather", ts_redact(token, red, sizeof red));
    return 0;
}

int ts_tenant_check_key(int flag, const char *key, ts_error *err)
{
    return check_chars(flag ? "flag KEY" : "config KEY", key, LOWER UPPER DIGITS "_.-",
                       flag ? TS_TENANT_FLAG_KEY_MAX : TS_TENANT_CONFIG_KEY_MAX,
                       "letters, digits, '_', '.' and '-'", err);
}

#define ANY_INT INT64_MIN

static const struct field {
    ts_tenant_entity e;
    const char *col;
    ts_tenant_kind kind;
    int64_t min;                  /* integers */
} fields[] = {
    {TS_TENANT_BOT, "name", TS_TENANT_TEXT, 0},
    {TS_TENANT_BOT, "default_language", TS_TENANT_TEXT, 0},
    {TS_TENANT_BOT, "support_username", TS_TENANT_TEXT, 0},
    {TS_TENANT_BOT, "zarinpal_merchant_id", TS_TENANT_TEXT, 0},
    {TS_TENANT_BOT, "admin_chat_id", TS_TENANT_INT, ANY_INT},
    {TS_TENANT_BOT, "admin_topic_id", TS_TENANT_INT, ANY_INT},
    {TS_TENANT_BOT, "card_receipt_topic_id", TS_TENANT_INT, ANY_INT},
    {TS_TENANT_BOT, "notification_group_id", TS_TENANT_INT, ANY_INT},
    {TS_TENANT_BOT, "notification_topic_id", TS_TENANT_INT, ANY_INT},
    {TS_TENANT_BOT, "card_to_card_enabled", TS_TENANT_BOOL, 0},
    {TS_TENANT_BOT, "zarinpal_enabled", TS_TENANT_BOOL, 0},
    {TS_TENANT_BOT, "zarinpal_sandbox", TS_TENANT_BOOL, 0},
    {TS_TENANT_PLAN, "name", TS_TENANT_TEXT, 0},
    {TS_TENANT_PLAN, "period_days", TS_TENANT_INT, 1},
    {TS_TENANT_PLAN, "price_kopeks", TS_TENANT_INT, 0},
    {TS_TENANT_PLAN, "traffic_limit_gb", TS_TENANT_INT, 0},   /* 0: unlimited */
    {TS_TENANT_PLAN, "device_limit", TS_TENANT_INT, 1},
    {TS_TENANT_PLAN, "is_active", TS_TENANT_BOOL, 0},
    {TS_TENANT_PLAN, "sort_order", TS_TENANT_INT, ANY_INT},
    {TS_TENANT_CARD, "card_number", TS_TENANT_TEXT, 0},
    {TS_TENANT_CARD, "card_holder_name", TS_TENANT_TEXT, 0},
    {TS_TENANT_CARD, "weight", TS_TENANT_INT, 0},             /* 0: never drawn (weighted) */
    {TS_TENANT_CARD, "is_active", TS_TENANT_BOOL, 0},
};

const char *ts_tenant_entity_name(ts_tenant_entity e)
{
    return e == TS_TENANT_BOT ? "bot" : e == TS_TENANT_PLAN ? "plan" : "card";
}

#define CARD_DIGITS_MIN 12   /* ISO/IEC 7812: a card number has 12 to 19 digits */
#define CARD_DIGITS_MAX 19

/* Digits, with spaces or '-' between groups as people write them. The number
   is never in the message: it is a secret of the bot's. */
static int check_card_number(const char *what, const char *s, ts_error *err)
{
    size_t digits = 0, len = strlen(s);
    if (len > 32 || s[strspn(s, DIGITS " -")] != '\0' || s[0] < '0' || s[0] > '9')
        return ts_fail(err, TS_E_INVALID, "%s: expected the card's digits (spaces or '-' "
                       "between groups), at most 32 characters", what);
    for (const char *p = s; *p; p++)
        digits += *p >= '0' && *p <= '9';
    if (digits < CARD_DIGITS_MIN || digits > CARD_DIGITS_MAX)
        return ts_fail(err, TS_E_INVALID, "%s: %zu digits, expected %d to %d", what, digits,
                       CARD_DIGITS_MIN, CARD_DIGITS_MAX);
    return 0;
}

const char *ts_tenant_mask_card(const char *number, char *out, size_t n)
{
    const char *p = number + strlen(number);
    char last[5];
    int k = 4;
    last[4] = '\0';
    while (p > number && k > 0)
        if (*--p >= '0' && *p <= '9')
            last[--k] = *p;
    snprintf(out, n, "****%s", last + k);
    return out;
}

int ts_tenant_check_strategy(const char *strategy, ts_error *err)
{
    static const char *const known[] = {"round_robin", "random", "time_based", "weighted"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(strategy, known[i]) == 0)
            return 0;
    return ts_fail(err, TS_E_INVALID, "rotation strategy '%.20s': expected round_robin, random, "
                   "time_based or weighted", ts_utf8_valid(strategy, strlen(strategy))
                   ? strategy : "(not UTF-8)");
}

static const struct field *field_of(ts_tenant_entity e, const char *col)
{
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (fields[i].e == e && strcmp(fields[i].col, col) == 0)
            return &fields[i];
    return NULL;
}

int ts_tenant_field_kind(ts_tenant_entity e, const char *col)
{
    const struct field *f = field_of(e, col);
    return f ? (int)f->kind : -1;
}

int ts_tenant_check_int(ts_tenant_entity e, const char *col, int64_t v, ts_error *err)
{
    const struct field *f = field_of(e, col);
    if (f != NULL && v < f->min)
        return ts_fail(err, TS_E_INVALID, "%s: at least %lld", col, (long long)f->min);
    return 0;
}

int ts_tenant_check_field(const char *col, const char *what, const char *s, ts_error *err)
{
    if (strcmp(col, "name") == 0 || strcmp(col, "card_holder_name") == 0)
        return check_text(what, s, 255, err);
    if (strcmp(col, "card_number") == 0)
        return check_card_number(what, s, err);
    if (strcmp(col, "default_language") == 0)
        return check_chars(what, s, LOWER UPPER "-_", 5, "a language code such as fa, en or "
                           "pt-BR", err);
    if (strcmp(col, "support_username") == 0)
        return check_chars(what, s, LOWER UPPER DIGITS "_", 64, "a Telegram username (letters, "
                           "digits, _; without @)", err);
    if (strcmp(col, "zarinpal_merchant_id") == 0)
        return check_chars(what, s, LOWER UPPER DIGITS "-", 64, "a Zarinpal merchant id", err);
    return 0;
}

/* ---- output ----------------------------------------------------------------------------- */

/* A bot as JSON, secrets masked. */
static cJSON *bot_json(const ts_bot *b)
{
    char red[64];
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "id", (double)b->id);
    cJSON_AddStringToObject(j, "name", b->name);
    cJSON_AddStringToObject(j, "telegram_bot_token", ts_redact(b->telegram_bot_token, red, sizeof red));
    cJSON_AddBoolToObject(j, "is_master", b->is_master);
    cJSON_AddBoolToObject(j, "is_active", b->is_active);
    cJSON_AddStringToObject(j, "default_language", b->default_language);
    cJSON_AddStringToObject(j, "support_username", b->support_username);
    cJSON_AddNumberToObject(j, "admin_chat_id", (double)b->admin_chat_id);
    cJSON_AddNumberToObject(j, "admin_topic_id", (double)b->admin_topic_id);
    cJSON_AddNumberToObject(j, "card_receipt_topic_id", (double)b->card_receipt_topic_id);
    cJSON_AddNumberToObject(j, "notification_group_id", (double)b->notification_group_id);
    cJSON_AddNumberToObject(j, "notification_topic_id", (double)b->notification_topic_id);
    cJSON_AddBoolToObject(j, "card_to_card_enabled", b->card_to_card_enabled);
    cJSON_AddBoolToObject(j, "zarinpal_enabled", b->zarinpal_enabled);
    cJSON_AddBoolToObject(j, "zarinpal_sandbox", b->zarinpal_sandbox);
    /* A secret: whether there is one, not what it is. */
    cJSON_AddBoolToObject(j, "zarinpal_merchant_set", b->zarinpal_merchant_id[0] != '\0');
    cJSON_AddNumberToObject(j, "wallet_balance_kopeks", (double)b->wallet_balance_kopeks);
    cJSON_AddNumberToObject(j, "traffic_sold_bytes", (double)b->traffic_sold_bytes);
    cJSON_AddNumberToObject(j, "traffic_consumed_bytes", (double)b->traffic_consumed_bytes);
    return j;
}

/* A stored JSON text as a JSON value (a string when it is not JSON). */
static void add_json(cJSON *obj, const char *key, const char *text)
{
    cJSON *v = text ? cJSON_Parse(text) : NULL;
    cJSON_AddItemToObject(obj, key, v ? v : cJSON_CreateString(text ? text : ""));
}

/* ---- operations ------------------------------------------------------------------------- */

typedef struct run_ctx {
    const ts_tenant_op *op;
    ts_tx *tx;
    ts_bot bot;                    /* the bot named by bot_id */
    cJSON *result;
    ts_buf *note;
    char api_token[TS_REPO_API_TOKEN_SIZE];
} run_ctx;

/* A Telegram token no other bot than except has. */
static int token_free(ts_tx *tx, const char *token, int64_t except, ts_error *err)
{
    ts_bot other;
    int rc = ts_repo_bot_by_telegram_token(tx, token, &other, err);
    if (rc < 0)
        return -1;
    if (rc == 1 && other.id != except)
        return ts_fail(err, TS_E_STATE, "bot %lld already uses this Telegram token",
                       (long long)other.id);
    return 0;
}

static int bot_reload(run_ctx *r, int64_t id, ts_error *err)
{
    int rc = ts_repo_bot_get(r->tx, id, &r->bot, err);
    return rc < 0 ? -1 : rc == 0 ? ts_fail(err, TS_E_NOTFOUND, "no bot %lld: see 'ts-admin bot "
                                           "list'", (long long)id) : 0;
}

static int bot_create(run_ctx *r, ts_error *err)
{
    const ts_tenant_op *op = r->op;
    ts_bot_new nb = {0};
    int64_t id;
    for (int i = 0; i < op->nfields; i++)
        if (strcmp(op->fields[i].col, "name") == 0)
            nb.name = op->fields[i].val.s;
    if (nb.name == NULL || op->token == NULL)
        return ts_fail(err, TS_E_INVALID, "a new bot needs a name and its Telegram token");
    nb.telegram_bot_token = op->token;
    if (token_free(r->tx, op->token, 0, err) ||
        ts_repo_bot_create(r->tx, &nb, &id, r->api_token, err) ||
        ts_repo_bot_update(r->tx, id, op->fields, op->nfields, err) < 0 || bot_reload(r, id, err))
        return -1;
    ts_buf_printf(r->note, "created bot %lld", (long long)id);
    r->result = bot_json(&r->bot);
    /* The one time it is shown: ts_repo_bot_create stores only its hash. */
    cJSON_AddStringToObject(r->result, "api_token", r->api_token);
    return 0;
}

/* A page of rows: id > r->op->after, at most limit (0: all). */
typedef int (*page_fn)(const run_ctx *r, int limit, ts_result **out, ts_error *err);
typedef cJSON *(*row_fn)(const ts_result *res, int row);

/* {"items": the page's rows as JSON, "next": its last id when more follow, else null}. */
static int page_list(run_ctx *r, page_fn page, row_fn row, ts_error *err)
{
    const ts_tenant_op *op = r->op;
    ts_result *res;
    /* one row more than the page says whether another page follows */
    if (page(r, op->limit ? op->limit + 1 : 0, &res, err))
        return -1;
    int n = ts_result_count(res), more = op->limit && n > op->limit;
    cJSON *items = cJSON_CreateArray();
    r->result = cJSON_CreateObject();
    cJSON_AddItemToObject(r->result, "items", items);
    for (int i = 0; i < (more ? op->limit : n); i++)
        cJSON_AddItemToArray(items, row(res, i));
    if (more)
        cJSON_AddNumberToObject(r->result, "next",
                                (double)ts_result_int(res, op->limit - 1, "id"));
    else
        cJSON_AddNullToObject(r->result, "next");
    ts_result_free(res);
    return 0;
}

static cJSON *bot_row(const ts_result *res, int row)
{
    ts_bot b;
    ts_repo_bot_from(res, row, &b);
    return bot_json(&b);
}

static int bot_page(const run_ctx *r, int limit, ts_result **out, ts_error *err)
{
    /* a tenant's view: its own bot only */
    ts_cond c[2] = {{"id", ts_int(r->op->only_bot)}, {"id", ts_int(r->op->after), TS_OP_GT}};
    if (r->op->only_bot)
        return ts_tx_select(r->tx, "bots", c, 2, "id", limit, out, err);
    return ts_repo_bot_page(r->tx, r->op->after, limit, out, err);
}

static int bot_list(run_ctx *r, ts_error *err)
{
    return page_list(r, bot_page, bot_row, err);
}

static int bot_change(run_ctx *r, ts_error *err)
{
    const ts_tenant_op *op = r->op;
    int64_t id = op->bot_id;
    switch (op->verb) {
    case TS_TENANT_BOT_UPDATE: {
        ts_set f[TS_TENANT_MAX_FIELDS + 1];
        int n = op->nfields;
        memcpy(f, op->fields, sizeof f[0] * (size_t)n);
        if (op->token) {
            if (token_free(r->tx, op->token, id, err))
                return -1;
            f[n++] = (ts_set){"telegram_bot_token", ts_text(op->token)};
        }
        if (ts_repo_bot_update(r->tx, id, f, n, err) < 0)
            return -1;
        break;
    }
    case TS_TENANT_BOT_ACTIVATE:
    case TS_TENANT_BOT_DEACTIVATE: {
        int on = op->verb == TS_TENANT_BOT_ACTIVATE;
        if (r->bot.is_master && !on)
            return ts_fail(err, TS_E_STATE, "bot %lld is the master bot: it is served from the "
                           "configuration, not deactivated here", (long long)id);
        if (ts_repo_bot_set_active(r->tx, id, on, err) < 0)
            return -1;
        break;
    }
    case TS_TENANT_BOT_DELETE:
        if (!op->confirm && !r->bot.is_master)
            return ts_fail(err, TS_E_STATE, "bot delete removes bot %lld and every row it owns "
                           "(users, payments, subscriptions...): add --confirm", (long long)id);
        if (ts_repo_bot_delete(r->tx, id, err) < 0)
            return -1;
        ts_buf_printf(r->note, "deleted bot %lld", (long long)id);
        r->result = cJSON_CreateObject();
        cJSON_AddNumberToObject(r->result, "deleted", (double)id);
        return 0;
    case TS_TENANT_BOT_TOKEN:
        if (ts_repo_bot_issue_api_token(r->tx, id, r->api_token, err) < 0)
            return -1;
        ts_buf_printf(r->note, "issued a new api token for bot %lld", (long long)id);
        r->result = cJSON_CreateObject();
        cJSON_AddNumberToObject(r->result, "id", (double)id);
        cJSON_AddStringToObject(r->result, "api_token", r->api_token);
        return 0;
    default:
        break;
    }
    if (bot_reload(r, id, err))
        return -1;
    r->result = bot_json(&r->bot);
    return 0;
}

static cJSON *flag_json(const char *key, int enabled, const char *config)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "key", key);
    cJSON_AddBoolToObject(j, "enabled", enabled);
    add_json(j, "config", config);
    return j;
}

static cJSON *config_json(const char *key, const char *value)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "key", key);
    add_json(j, "value", value);
    return j;
}

static int keyed_list(run_ctx *r, int flags, ts_error *err)
{
    ts_result *res;
    if ((flags ? ts_repo_flag_list(r->tx, &res, err) : ts_repo_config_list(r->tx, &res, err)))
        return -1;
    r->result = cJSON_CreateArray();
    for (int i = 0; i < ts_result_count(res); i++)
        cJSON_AddItemToArray(r->result,
                             flags ? flag_json(ts_result_text(res, i, "feature_key"),
                                               ts_result_get(res, i, "enabled").i != 0,
                                               ts_result_text(res, i, "config"))
                                   : config_json(ts_result_text(res, i, "config_key"),
                                                 ts_result_text(res, i, "config_value")));
    ts_result_free(res);
    return 0;
}

static int keyed_get(run_ctx *r, int flags, ts_error *err)
{
    const ts_tenant_op *op = r->op;
    char *json = NULL;
    int enabled = 0;
    int rc = flags ? ts_repo_flag_get(r->tx, op->key, &enabled, &json, err)
                   : ts_repo_config_get(r->tx, op->key, &json, err);
    if (rc == 1)
        r->result = flags ? flag_json(op->key, enabled, json) : config_json(op->key, json);
    free(json);
    if (rc == 0)
        return ts_fail(err, TS_E_NOTFOUND, "bot %lld has no %s '%s'", (long long)op->bot_id,
                       flags ? "flag" : "configuration key", op->key);
    return rc < 0 ? -1 : 0;
}

static int keyed_change(run_ctx *r, int flags, ts_error *err)
{
    const ts_tenant_op *op = r->op;
    int set = op->verb == TS_TENANT_FLAG_SET || op->verb == TS_TENANT_CONFIG_SET, rc;
    if (set)
        rc = flags ? ts_repo_flag_set(r->tx, op->key, op->enabled, op->json, err)
                   : ts_repo_config_set(r->tx, op->key, op->json, err);
    else
        rc = flags ? ts_repo_flag_delete(r->tx, op->key, err)
                   : ts_repo_config_delete(r->tx, op->key, err);
    if (rc < 0)
        return -1;
    r->result = cJSON_CreateObject();
    cJSON_AddNumberToObject(r->result, "bot_id", (double)op->bot_id);
    cJSON_AddStringToObject(r->result, "key", op->key);
    /* unset of what is not set changes nothing and says so: scripts may repeat it */
    cJSON_AddStringToObject(r->result, "result", set ? "set" : rc == 1 ? "unset" : "was not set");
    return 0;
}

static int wallet_show(run_ctx *r, ts_error *err)
{
    ts_cond paid = {"type", ts_text("subscription_payment")};
    int64_t purchases, users;
    if (ts_tx_count(r->tx, "transactions", &paid, 1, &purchases, err) ||
        ts_repo_user_count(r->tx, &users, err))
        return -1;
    r->result = cJSON_CreateObject();
    cJSON_AddNumberToObject(r->result, "bot_id", (double)r->bot.id);
    cJSON_AddNumberToObject(r->result, "wallet_balance_kopeks", (double)r->bot.wallet_balance_kopeks);
    cJSON_AddNumberToObject(r->result, "traffic_sold_bytes", (double)r->bot.traffic_sold_bytes);
    cJSON_AddNumberToObject(r->result, "traffic_consumed_bytes",
                            (double)r->bot.traffic_consumed_bytes);
    cJSON_AddNumberToObject(r->result, "purchases", (double)purchases);
    cJSON_AddNumberToObject(r->result, "users", (double)users);
    /* The master's purchases are the legacy business's, not a tenant's earnings. */
    cJSON_AddBoolToObject(r->result, "credited_on_purchase", !r->bot.is_master);
    return 0;
}

static cJSON *plan_json(const ts_plan *p)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "id", (double)p->id);
    cJSON_AddStringToObject(j, "name", p->name);
    cJSON_AddNumberToObject(j, "period_days", (double)p->period_days);
    cJSON_AddNumberToObject(j, "price_kopeks", (double)p->price_kopeks);
    cJSON_AddNumberToObject(j, "traffic_limit_gb", (double)p->traffic_limit_gb);
    cJSON_AddNumberToObject(j, "device_limit", (double)p->device_limit);
    cJSON_AddBoolToObject(j, "is_active", p->is_active);
    cJSON_AddNumberToObject(j, "sort_order", (double)p->sort_order);
    return j;
}

static int plan_list(run_ctx *r, ts_error *err)
{
    ts_result *res;
    if (ts_repo_plan_list(r->tx, &res, err))
        return -1;
    r->result = cJSON_CreateArray();
    for (int i = 0; i < ts_result_count(res); i++) {
        ts_plan p;
        ts_repo_plan_from(res, i, &p);
        cJSON_AddItemToArray(r->result, plan_json(&p));
    }
    ts_result_free(res);
    return 0;
}

/* 1 done, 0 no such plan or card (TS_E_NOTFOUND set). */
static int item_found(int rc, ts_tenant_entity e, int64_t id, ts_error *err)
{
    return rc == 0 ? ts_fail(err, TS_E_NOTFOUND, "no %s %lld of this bot",
                             ts_tenant_entity_name(e), (long long)id) : rc;
}

static int item_found_plan(int rc, int64_t id, ts_error *err)
{
    return item_found(rc, TS_TENANT_PLAN, id, err);
}

static int plan_op(run_ctx *r, ts_error *err)
{
    const ts_tenant_op *op = r->op;
    int64_t id = op->item_id;
    ts_plan p = {.is_active = 1, .device_limit = 1};
    int rc = 1;
    switch (op->verb) {
    case TS_TENANT_PLAN_LIST:
        return plan_list(r, err);
    case TS_TENANT_PLAN_CREATE:
        /* the defaults are the columns'; the fields, checked, change them */
        if (ts_repo_plan_create(r->tx, &p, &id, err) < 0 ||
            ts_repo_plan_update(r->tx, id, op->fields, op->nfields, err) < 0)
            return -1;
        break;
    case TS_TENANT_PLAN_UPDATE:
        rc = ts_repo_plan_update(r->tx, id, op->fields, op->nfields, err);
        break;
    case TS_TENANT_PLAN_ACTIVATE:
    case TS_TENANT_PLAN_DEACTIVATE: {
        ts_set s = {"is_active", ts_bool(op->verb == TS_TENANT_PLAN_ACTIVATE)};
        rc = ts_repo_plan_update(r->tx, id, &s, 1, err);
        break;
    }
    case TS_TENANT_PLAN_DELETE:
        if (item_found_plan(ts_repo_plan_delete(r->tx, id, err), id, err) < 0)
            return -1;
        r->result = cJSON_CreateObject();
        cJSON_AddNumberToObject(r->result, "deleted", (double)id);
        return 0;
    case TS_TENANT_PLAN_ORDER:
        /* sort_order 1, 2... in the order given, in one unit: all or none */
        for (int i = 0; i < op->norder; i++) {
            ts_set s = {"sort_order", ts_int(i + 1)};
            if (item_found_plan(ts_repo_plan_update(r->tx, op->order[i], &s, 1, err), op->order[i],
                           err) < 0)
                return -1;
        }
        return plan_list(r, err);
    default:
        break;
    }
    if (item_found_plan(rc, id, err) < 0 || item_found_plan(ts_repo_plan_get(r->tx, id, &p, err), id, err) < 0)
        return -1;
    r->result = plan_json(&p);
    return 0;
}


/* ---- payment cards ----------------------------------------------------------------------- */

static cJSON *card_json(const ts_card *c)
{
    char masked[16];
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "id", (double)c->id);
    /* a secret of the bot's: the last four digits tell the cards apart */
    cJSON_AddStringToObject(j, "card_number", ts_tenant_mask_card(c->card_number, masked,
                                                                  sizeof masked));
    cJSON_AddStringToObject(j, "card_holder_name", c->card_holder_name);
    cJSON_AddNumberToObject(j, "weight", (double)c->weight);
    cJSON_AddBoolToObject(j, "is_active", c->is_active);
    cJSON_AddStringToObject(j, "rotation_strategy", c->rotation_strategy);
    cJSON_AddNumberToObject(j, "rotation_interval_minutes", (double)c->rotation_interval_minutes);
    cJSON_AddNumberToObject(j, "uses", (double)c->current_usage_count);
    cJSON_AddNumberToObject(j, "success_count", (double)c->success_count);
    cJSON_AddNumberToObject(j, "failure_count", (double)c->failure_count);
    if (c->last_used_at[0])
        cJSON_AddStringToObject(j, "last_used_at", c->last_used_at);
    else
        cJSON_AddNullToObject(j, "last_used_at");
    return j;
}

static cJSON *card_row(const ts_result *res, int row)
{
    ts_card c;
    ts_repo_card_from(res, row, &c);
    return card_json(&c);
}

static int card_page(const run_ctx *r, int limit, ts_result **out, ts_error *err)
{
    return ts_repo_card_page(r->tx, r->op->after, limit, out, err);
}

static const char *field_text(const ts_tenant_op *op, const char *col)
{
    for (int i = 0; i < op->nfields; i++)
        if (strcmp(op->fields[i].col, col) == 0)
            return op->fields[i].val.s;
    return NULL;
}

/* The digits of a card number, as compared: "6037-9911..." is "60379911...". */
static void card_digits(const char *s, char out[TS_REPO_TEXT(32)])
{
    size_t k = 0;
    for (; *s && k < TS_REPO_TEXT(32) - 1; s++)
        if (*s >= '0' && *s <= '9')
            out[k++] = *s;
    out[k] = '\0';
}

/* No other card of the bot than except has this number. The bot's row is
   locked first, until the unit ends: two units giving one bot a card number
   take turns, so the second sees the first's card (no unique key says it). */
static int card_number_free(run_ctx *r, const char *number, int64_t except, ts_error *err)
{
    ts_result *res;
    ts_cond bot = {"id", ts_int(r->op->bot_id)};
    char want[TS_REPO_TEXT(32)], have[TS_REPO_TEXT(32)];
    int rc = 0;
    if (number == NULL)
        return 0;
    if (ts_tx_select_for_update(r->tx, "bots", &bot, 1, NULL, 1, &res, err))
        return -1;
    ts_result_free(res);
    if (ts_repo_card_list(r->tx, 0, &res, err))
        return -1;
    card_digits(number, want);
    for (int i = 0; i < ts_result_count(res) && rc == 0; i++) {
        card_digits(ts_result_text(res, i, "card_number"), have);
        if (strcmp(want, have) == 0 && ts_result_int(res, i, "id") != except)
            rc = ts_fail(err, TS_E_STATE, "card %lld of this bot has this number already",
                         (long long)ts_result_int(res, i, "id"));
    }
    ts_result_free(res);
    return rc;
}

static int card_op(run_ctx *r, ts_error *err)
{
    const ts_tenant_op *op = r->op;
    int64_t id = op->item_id;
    ts_card c;
    int rc = 1;
    switch (op->verb) {
    case TS_TENANT_CARD_LIST:
        return page_list(r, card_page, card_row, err);
    case TS_TENANT_CARD_CREATE: {
        /* a new card rotates as the bot's others do: a bot uses one strategy */
        char strategy[TS_REPO_TEXT(20)];
        ts_card_new nc = {field_text(op, "card_number"), field_text(op, "card_holder_name"),
                          strategy, 0, 0};
        if (nc.card_number == NULL || nc.card_holder_name == NULL)
            return ts_fail(err, TS_E_INVALID, "a new card needs card_number and "
                           "card_holder_name");
        if (card_number_free(r, nc.card_number, 0, err) ||
            ts_repo_card_rotation(r->tx, strategy, sizeof strategy,
                                  &nc.rotation_interval_minutes, err) < 0 ||
            ts_repo_card_create(r->tx, &nc, &id, err) ||
            ts_repo_card_update(r->tx, id, op->fields, op->nfields, err) < 0)
            return -1;
        ts_buf_printf(r->note, "created card %lld", (long long)id);
        break;
    }
    case TS_TENANT_CARD_UPDATE:
        if (card_number_free(r, field_text(op, "card_number"), id, err))
            return -1;
        rc = ts_repo_card_update(r->tx, id, op->fields, op->nfields, err);
        break;
    case TS_TENANT_CARD_DELETE:
        if (item_found(ts_repo_card_delete(r->tx, id, err), TS_TENANT_CARD, id, err) < 0)
            return -1;
        ts_buf_printf(r->note, "deleted card %lld", (long long)id);
        r->result = cJSON_CreateObject();
        cJSON_AddNumberToObject(r->result, "deleted", (double)id);
        return 0;
    default:
        break;
    }
    if (item_found(rc, TS_TENANT_CARD, id, err) < 0 ||
        item_found(ts_repo_card_get(r->tx, id, &c, err), TS_TENANT_CARD, id, err) < 0)
        return -1;
    r->result = card_json(&c);
    return 0;
}

/* The bot's rotation: {"bot_id", "strategy", "interval_minutes", "cards"}. */
static int rotation_op(run_ctx *r, ts_error *err)
{
    const ts_tenant_op *op = r->op;
    char strategy[TS_REPO_TEXT(20)];
    int64_t minutes, cards, changed;
    if (ts_tx_count(r->tx, "tenant_payment_cards", NULL, 0, &cards, err))
        return -1;
    if (op->verb == TS_TENANT_CARD_ROTATE) {
        /* the strategy lives on the cards (ts_repo_card_pick): none, nowhere to keep it */
        if (cards == 0)
            return ts_fail(err, TS_E_STATE, "bot %lld has no payment cards: add one first, the "
                           "strategy is kept on its cards", (long long)op->bot_id);
        if (ts_repo_card_set_rotation(r->tx, op->strategy, op->interval, &changed, err))
            return -1;
        ts_buf_printf(r->note, "rotation %s on %lld cards", op->strategy, (long long)changed);
    }
    if (ts_repo_card_rotation(r->tx, strategy, sizeof strategy, &minutes, err) < 0)
        return -1;
    r->result = cJSON_CreateObject();
    cJSON_AddNumberToObject(r->result, "bot_id", (double)op->bot_id);
    cJSON_AddStringToObject(r->result, "strategy", strategy);
    cJSON_AddNumberToObject(r->result, "interval_minutes", (double)minutes);
    cJSON_AddNumberToObject(r->result, "cards", (double)cards);
    return 0;
}

/* Per card: the card with what its row counts (shown, payments recorded) and
   the approved payments through it; the totals of the bot. */
static int card_stats(run_ctx *r, ts_error *err)
{
    ts_result *res;
    int64_t uses = 0, payments = 0, kopeks = 0;
    if (ts_repo_card_list(r->tx, 0, &res, err))
        return -1;
    cJSON *items = cJSON_CreateArray();
    r->result = cJSON_CreateObject();
    cJSON_AddNumberToObject(r->result, "bot_id", (double)r->op->bot_id);
    cJSON_AddItemToObject(r->result, "items", items);
    for (int i = 0; i < ts_result_count(res); i++) {
        ts_card c;
        int64_t n, sum;
        ts_repo_card_from(res, i, &c);
        if (ts_repo_card_approved(r->tx, c.id, &n, &sum, err)) {
            ts_result_free(res);
            return -1;
        }
        cJSON *j = card_json(&c);
        cJSON_AddNumberToObject(j, "approved_payments", (double)n);
        cJSON_AddNumberToObject(j, "approved_amount_kopeks", (double)sum);
        cJSON_AddItemToArray(items, j);
        uses += c.current_usage_count, payments += n, kopeks += sum;
    }
    cJSON *t = cJSON_CreateObject();
    cJSON_AddNumberToObject(t, "cards", ts_result_count(res));
    cJSON_AddNumberToObject(t, "uses", (double)uses);
    cJSON_AddNumberToObject(t, "approved_payments", (double)payments);
    cJSON_AddNumberToObject(t, "approved_amount_kopeks", (double)kopeks);
    cJSON_AddItemToObject(r->result, "totals", t);
    ts_result_free(res);
    return 0;
}

static int dispatch(run_ctx *r, ts_error *err)
{
    const ts_tenant_op *op = r->op;
    if (op->bot_id && bot_reload(r, op->bot_id, err))
        return -1;
    switch (op->verb) {
    case TS_TENANT_BOT_CREATE: return bot_create(r, err);
    case TS_TENANT_BOT_LIST: return bot_list(r, err);
    case TS_TENANT_BOT_SHOW: return (r->result = bot_json(&r->bot)) ? 0 : -1;
    case TS_TENANT_FLAG_LIST: return keyed_list(r, 1, err);
    case TS_TENANT_CONFIG_LIST: return keyed_list(r, 0, err);
    case TS_TENANT_FLAG_GET: return keyed_get(r, 1, err);
    case TS_TENANT_CONFIG_GET: return keyed_get(r, 0, err);
    case TS_TENANT_FLAG_SET: case TS_TENANT_FLAG_UNSET: return keyed_change(r, 1, err);
    case TS_TENANT_CONFIG_SET: case TS_TENANT_CONFIG_UNSET: return keyed_change(r, 0, err);
    case TS_TENANT_WALLET: return wallet_show(r, err);
    case TS_TENANT_PLAN_LIST: case TS_TENANT_PLAN_CREATE: case TS_TENANT_PLAN_GET:
    case TS_TENANT_PLAN_UPDATE: case TS_TENANT_PLAN_DELETE: case TS_TENANT_PLAN_ACTIVATE:
    case TS_TENANT_PLAN_DEACTIVATE: case TS_TENANT_PLAN_ORDER: return plan_op(r, err);
    case TS_TENANT_CARD_LIST: case TS_TENANT_CARD_CREATE: case TS_TENANT_CARD_GET:
    case TS_TENANT_CARD_UPDATE: case TS_TENANT_CARD_DELETE: return card_op(r, err);
    case TS_TENANT_CARD_ROTATION: case TS_TENANT_CARD_ROTATE: return rotation_op(r, err);
    case TS_TENANT_CARD_STATS: return card_stats(r, err);
    default: return bot_change(r, err);
    }
}

int ts_tenant_run(ts_shim *sh, const ts_tenant_op *op, cJSON **result, ts_buf *note,
                  ts_error *err)
{
    /* The unit runs as the bot it is about (flags, configuration and counts
       are that bot's rows); bot-wide operations as the master. */
    int64_t master = ts_shim_master_bot_id(sh);
    ts_ctx ctx = {op->bot_id ? op->bot_id : master, !op->bot_id || op->bot_id == master};
    int rc = -1;
    *result = NULL;
    /* A stage changed under the unit (TS_E_STALE): the shim has the new
       stages, so the unit is run again once, like any handler's. */
    for (int attempt = 0; attempt < 2 && rc; attempt++) {
        run_ctx r = {op, NULL, {0}, NULL, note, {0}};
        ts_buf_reset(note);
        if (ts_shim_begin(sh, &ctx, &r.tx, err))
            return -1;
        rc = dispatch(&r, err);
        if (rc == 0 && r.result == NULL)
            rc = ts_fail(err, TS_E_NOMEM, "out of memory");
        if (rc == 0)
            rc = ts_tx_commit(r.tx, err);
        else
            ts_tx_rollback(r.tx);
        if (rc == 0)
            *result = r.result;
        else
            cJSON_Delete(r.result);
        memset(r.api_token, 0, sizeof r.api_token);
        if (rc && err->code != TS_E_STALE)
            break;
    }
    return rc;
}
