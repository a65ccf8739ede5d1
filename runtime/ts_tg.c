/* ts_tg.c: Telegram Bot API protocol helpers and the blocking client. */
#include "ts_tg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_log.h"

const char *const ts_tg_allowed_updates[] = {"message", "callback_query", NULL};

struct ts_tg {
    char base[TS_TG_URL_MAX / 2];
    char *token;
    char name[64];   /* redacted token */
    ts_httpc *http;
};

/* ---- keyboards ------------------------------------------------------------ */

static void kb_bad(ts_kb *kb, const char *what, const char *text)
{
    if (kb->bad[0] == '\0')
        snprintf(kb->bad, sizeof kb->bad, "inline button \"%.40s\": %s", text ? text : "", what);
}

void ts_kb_row(ts_kb *kb)
{
    if (kb->rows == NULL && (kb->rows = cJSON_CreateArray()) == NULL)
        return kb_bad(kb, "out of memory", "");
    if (!cJSON_AddItemToArray(kb->rows, cJSON_CreateArray()))
        kb_bad(kb, "out of memory", "");
}

static void kb_add(ts_kb *kb, const char *text, const char *key, const char *value)
{
    if (text == NULL || *text == '\0')
        return kb_bad(kb, "empty button text: every button needs a label", text);
    if (value == NULL || *value == '\0')
        return kb_bad(kb, "empty callback data or URL", text);
    if (strcmp(key, "callback_data") == 0 && strlen(value) > TS_TG_CALLBACK_DATA_MAX)
        return kb_bad(kb, "callback data longer than 64 bytes (Bot API limit): shorten it", text);
    if (kb->rows == NULL || cJSON_GetArraySize(kb->rows) == 0)
        ts_kb_row(kb);
    cJSON *row = cJSON_GetArrayItem(kb->rows, cJSON_GetArraySize(kb->rows) - 1);
    cJSON *b = cJSON_CreateObject();
    if (row == NULL || b == NULL || !cJSON_AddStringToObject(b, "text", text) ||
        !cJSON_AddStringToObject(b, key, value) || !cJSON_AddItemToArray(row, b)) {
        cJSON_Delete(b);
        kb_bad(kb, "out of memory", text);
    }
}

void ts_kb_button(ts_kb *kb, const char *text, const char *data)
{
    kb_add(kb, text, "callback_data", data);
}

void ts_kb_url(ts_kb *kb, const char *text, const char *url) { kb_add(kb, text, "url", url); }

void ts_kb_free(ts_kb *kb)
{
    cJSON_Delete(kb->rows);
    kb->rows = NULL;
    kb->bad[0] = '\0';
}

/* ---- protocol ------------------------------------------------------------- */

int ts_tg_token_valid(const char *token)
{
    if (token == NULL)
        return 0;
    size_t id = strspn(token, "0123456789");
    if (id == 0 || token[id] != ':' || token[id + 1] == '\0')
        return 0;
    const char *secret = token + id + 1;
    return secret[strspn(secret, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                 "0123456789_-")] == '\0';
}

int ts_tg_method_url(const char *base, const char *token, const char *method, char *out, size_t n)
{
    size_t bl = strlen(base);
    while (bl > 0 && base[bl - 1] == '/')   /* "https://x/" and "https://x" alike */
        bl--;
    int k = snprintf(out, n, "%.*s/bot%s/%s", (int)bl, base, token, method);
    return k < 0 || (size_t)k >= n ? -1 : 0;
}

static cJSON *updates_params(int64_t offset, int timeout_s, int limit,
                             const char *const *allowed)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *a = cJSON_AddArrayToObject(o, "allowed_updates");
    for (int i = 0; a != NULL && allowed != NULL && allowed[i] != NULL; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(allowed[i]));
    if (offset != 0)
        cJSON_AddNumberToObject(o, "offset", (double)offset);
    cJSON_AddNumberToObject(o, "timeout", timeout_s);
    if (limit > 0)
        cJSON_AddNumberToObject(o, "limit", limit);
    return o;
}

char *ts_tg_get_updates_body(int64_t offset, int timeout_s, int limit,
                             const char *const *allowed)
{
    cJSON *o = updates_params(offset, timeout_s, limit, allowed);
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}

static int retry_after_s(const cJSON *reply)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(reply, "parameters");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(p, "retry_after");
    return cJSON_IsNumber(r) && r->valuedouble > 0 && r->valuedouble < 86400 ? r->valueint : 0;
}

int ts_tg_retry_after_ms(const char *body, size_t len)
{
    cJSON *j = cJSON_ParseWithLength(body, len);
    int s = retry_after_s(j);
    cJSON_Delete(j);
    return s > 0 ? s * 1000 : -1;
}

/* What the operator can do about a refused call. */
static const char *hint(long status)
{
    switch (status) {
    case 400: return "the request was refused: check its parameters";
    case 401: case 404: return "the bot token is wrong or revoked: check it with @BotFather";
    case 403: return "the user blocked the bot or the bot is not in that chat";
    case 409: return "another process polls this bot or a webhook is set: stop it or call deleteWebhook";
    case 429: return "rate limited: retry later";
    default: return status >= 500 ? "Telegram failed: retry later" : "see Telegram's description";
    }
}

static ts_code code_of(long status)
{
    if (status == 429) return TS_E_BUSY;
    if (status >= 500 || status == 0) return TS_E_CONN;
    if (status == 401 || status == 404) return TS_E_USAGE;
    if (status == 403 || status == 409) return TS_E_STATE;
    return TS_E_INVALID;
}

int ts_tg_parse_reply(long status, const char *body, size_t len, const char *label,
                      cJSON **result, int *retry_after, ts_error *err)
{
    *result = NULL;
    if (retry_after)
        *retry_after = 0;
    cJSON *j = cJSON_ParseWithLength(body ? body : "", body ? len : 0);
    const cJSON *ok = cJSON_GetObjectItemCaseSensitive(j, "ok");
    if (!cJSON_IsBool(ok)) {
        cJSON_Delete(j);
        return ts_fail(err, code_of(status == 200 ? 502 : status),
                       "%s: HTTP %ld with a body that is not a Bot API reply (%zu bytes): "
                       "check the Telegram base URL", label, status, len);
    }
    if (cJSON_IsTrue(ok)) {
        *result = cJSON_DetachItemFromObjectCaseSensitive(j, "result");
        cJSON_Delete(j);
        return *result ? 0 : ts_fail(err, TS_E_INVALID, "%s: ok reply without a result", label);
    }
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "description");
    const cJSON *ec = cJSON_GetObjectItemCaseSensitive(j, "error_code");
    long code = cJSON_IsNumber(ec) ? (long)ec->valuedouble : status;
    if (retry_after)
        *retry_after = retry_after_s(j);
    ts_fail(err, code_of(code), "%s: Telegram error %ld: %s (%s)", label, code,
            cJSON_IsString(d) ? d->valuestring : "no description", hint(code));
    cJSON_Delete(j);
    return -1;
}

/* ---- client --------------------------------------------------------------- */

int ts_tg_token_check(const char *token, ts_error *err)
{
    char red[64];
    return ts_tg_token_valid(token)
               ? 0
               : ts_fail(err, TS_E_USAGE,
                         "bot token %s is malformed: expected <bot id>:<secret> from @BotFather",
                         ts_redact(token, red, sizeof red));
}

int ts_tg_open(const char *base, const char *token, const ts_httpc_opts *opts, ts_tg **out,
               ts_error *err)
{
    if (ts_tg_token_check(token, err) != 0)
        return -1;
    if (base == NULL)
        base = TS_TG_DEFAULT_URL;
    ts_tg *tg = calloc(1, sizeof *tg);
    if (tg == NULL || (tg->token = strdup(token)) == NULL) {
        free(tg);
        return ts_fail(err, TS_E_NOMEM, "out of memory opening the Telegram client");
    }
    if ((size_t)snprintf(tg->base, sizeof tg->base, "%s", base) >= sizeof tg->base) {
        ts_tg_close(tg);
        return ts_fail(err, TS_E_USAGE, "Telegram base URL is longer than %zu bytes",
                       sizeof tg->base - 1);
    }
    ts_redact(token, tg->name, sizeof tg->name);
    if (ts_httpc_open(opts, &tg->http, err) != 0) {
        ts_tg_close(tg);
        return -1;
    }
    return *out = tg, 0;
}

void ts_tg_close(ts_tg *tg)
{
    if (tg == NULL)
        return;
    ts_httpc_close(tg->http);
    free(tg->token);
    free(tg);
}

const char *ts_tg_name(const ts_tg *tg) { return tg->name; }

/* POST a JSON body to method; *result (if asked for) is the caller's. */
static int call_body(ts_tg *tg, const char *method, const char *body, cJSON **result,
                     ts_error *err)
{
    char url[TS_TG_URL_MAX], label[128];
    snprintf(label, sizeof label, "telegram %s (bot %s)", method, tg->name);
    if (ts_tg_method_url(tg->base, tg->token, method, url, sizeof url) != 0)
        return ts_fail(err, TS_E_USAGE, "%s: the method URL does not fit in %d bytes", label,
                       TS_TG_URL_MAX);
    ts_httpc_resp resp = {0};
    int rc = ts_httpc_post_json(tg->http, url, label, body, ts_tg_retry_after_ms, &resp, err);
    if (rc == 0) {
        cJSON *res;
        rc = ts_tg_parse_reply(resp.status, resp.body.s, resp.body.len, label, &res, NULL, err);
        if (rc != 0 && resp.attempts > 1)
            ts_error_context(err, "after %d attempts", resp.attempts);
        if (rc == 0 && result != NULL)
            *result = res;
        else
            cJSON_Delete(res);
    }
    ts_buf_free(&resp.body);
    return rc;
}

int ts_tg_call(ts_tg *tg, const char *method, const cJSON *params, cJSON **result,
               ts_error *err)
{
    char *body = params ? cJSON_PrintUnformatted(params) : strdup("{}");
    if (body == NULL)
        return ts_fail(err, TS_E_NOMEM, "telegram %s (bot %s): out of memory building the request",
                       method, tg->name);
    int rc = call_body(tg, method, body, result, err);
    free(body);
    return rc;
}

/* ---- requests of the sending methods ---------------------------------------------- */

/* Finish p (consumed) into the request: reply_markup from kb, the JSON body. */
static int request(ts_tg_req *r, const char *method, cJSON *p, const ts_kb *kb, ts_error *err)
{
    *r = (ts_tg_req){.method = method};
    int rc = p == NULL ? ts_fail(err, TS_E_NOMEM, "telegram %s: out of memory", method) : 0;
    if (rc == 0 && kb != NULL && kb->bad[0] != '\0')
        rc = ts_fail(err, TS_E_INVALID, "telegram %s: %s", method, kb->bad);
    if (rc == 0 && kb != NULL && kb->rows != NULL) {
        cJSON *m = cJSON_AddObjectToObject(p, "reply_markup");
        if (m == NULL || !cJSON_AddItemToObject(m, "inline_keyboard", cJSON_Duplicate(kb->rows, 1)))
            rc = ts_fail(err, TS_E_NOMEM, "telegram %s: out of memory", method);
    }
    if (rc == 0 && (r->body = cJSON_PrintUnformatted(p)) == NULL)
        rc = ts_fail(err, TS_E_NOMEM, "telegram %s: out of memory", method);
    cJSON_Delete(p);
    return rc;
}

static cJSON *params_chat(int64_t chat_id)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddNumberToObject(p, "chat_id", (double)chat_id);
    return p;
}

int ts_tg_req_send_message(ts_tg_req *r, int64_t chat_id, const char *text, const ts_kb *kb,
                           ts_error *err)
{
    cJSON *p = params_chat(chat_id);
    cJSON_AddStringToObject(p, "text", text);
    return request(r, "sendMessage", p, kb, err);
}

int ts_tg_req_edit_message_text(ts_tg_req *r, int64_t chat_id, int64_t message_id,
                                const char *text, const ts_kb *kb, ts_error *err)
{
    cJSON *p = params_chat(chat_id);
    cJSON_AddNumberToObject(p, "message_id", (double)message_id);
    cJSON_AddStringToObject(p, "text", text);
    return request(r, "editMessageText", p, kb, err);
}

int ts_tg_req_answer_callback_query(ts_tg_req *r, const char *callback_query_id,
                                    const char *text, int show_alert, ts_error *err)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "callback_query_id", callback_query_id);
    if (text != NULL)
        cJSON_AddStringToObject(p, "text", text);
    if (show_alert)
        cJSON_AddTrueToObject(p, "show_alert");
    return request(r, "answerCallbackQuery", p, NULL, err);
}

int ts_tg_req_send_photo(ts_tg_req *r, int64_t chat_id, const char *file_id, const char *caption,
                         const ts_kb *kb, ts_error *err)
{
    cJSON *p = params_chat(chat_id);
    cJSON_AddStringToObject(p, "photo", file_id);
    if (caption != NULL)
        cJSON_AddStringToObject(p, "caption", caption);
    return request(r, "sendPhoto", p, kb, err);
}

int ts_tg_req_copy_message(ts_tg_req *r, int64_t chat_id, int64_t from_chat_id,
                           int64_t message_id, const char *caption, const ts_kb *kb,
                           ts_error *err)
{
    cJSON *p = params_chat(chat_id);
    cJSON_AddNumberToObject(p, "from_chat_id", (double)from_chat_id);
    cJSON_AddNumberToObject(p, "message_id", (double)message_id);
    if (caption != NULL)
        cJSON_AddStringToObject(p, "caption", caption);
    return request(r, "copyMessage", p, kb, err);
}

/* ---- the blocking sending calls: a request, sent; the new message's id if asked ---- */

static int send_req(ts_tg *tg, ts_tg_req *r, int rc, int64_t *message_id, ts_error *err)
{
    cJSON *res = NULL;
    if (rc == 0)
        rc = call_body(tg, r->method, r->body, &res, err);
    if (rc == 0 && message_id != NULL) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(res, "message_id");
        *message_id = cJSON_IsNumber(id) ? (int64_t)id->valuedouble : 0;
    }
    cJSON_Delete(res);
    free(r->body);
    return rc;
}

int ts_tg_send_message(ts_tg *tg, int64_t chat_id, const char *text, const ts_kb *kb,
                       int64_t *message_id, ts_error *err)
{
    ts_tg_req r;
    int rc = ts_tg_req_send_message(&r, chat_id, text, kb, err);
    return send_req(tg, &r, rc, message_id, err);
}

int ts_tg_edit_message_text(ts_tg *tg, int64_t chat_id, int64_t message_id, const char *text,
                            const ts_kb *kb, ts_error *err)
{
    ts_tg_req r;
    int rc = ts_tg_req_edit_message_text(&r, chat_id, message_id, text, kb, err);
    return send_req(tg, &r, rc, NULL, err);
}

int ts_tg_answer_callback_query(ts_tg *tg, const char *callback_query_id, const char *text,
                                int show_alert, ts_error *err)
{
    ts_tg_req r;
    int rc = ts_tg_req_answer_callback_query(&r, callback_query_id, text, show_alert, err);
    return send_req(tg, &r, rc, NULL, err);
}

int ts_tg_send_photo(ts_tg *tg, int64_t chat_id, const char *file_id, const char *caption,
                     const ts_kb *kb, int64_t *message_id, ts_error *err)
{
    ts_tg_req r;
    int rc = ts_tg_req_send_photo(&r, chat_id, file_id, caption, kb, err);
    return send_req(tg, &r, rc, message_id, err);
}

int ts_tg_copy_message(ts_tg *tg, int64_t chat_id, int64_t from_chat_id, int64_t message_id,
                       const char *caption, const ts_kb *kb, int64_t *new_message_id,
                       ts_error *err)
{
    ts_tg_req r;
    int rc = ts_tg_req_copy_message(&r, chat_id, from_chat_id, message_id, caption, kb, err);
    return send_req(tg, &r, rc, new_message_id, err);
}

int ts_tg_get_updates(ts_tg *tg, int64_t offset, int timeout_s, int limit, cJSON **updates,
                      ts_error *err)
{
    cJSON *p = updates_params(offset, timeout_s, limit, ts_tg_allowed_updates);
    if (p == NULL)
        return ts_fail(err, TS_E_NOMEM, "telegram getUpdates: out of memory");
    int rc = ts_tg_call(tg, "getUpdates", p, updates, err);
    cJSON_Delete(p);
    return rc;
}
