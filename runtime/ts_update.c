/* ts_update.c: reading and validating Telegram updates. */
#include "ts_update.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_value.h"

typedef enum { ARG_NONE, ARG_INT, ARG_WORD } arg_kind;

static const struct {
    const char *name;
    arg_kind arg;
} actions[TS_CB__COUNT] = {
    [TS_CB_MENU] = {"menu", ARG_NONE},          [TS_CB_PLANS] = {"plans", ARG_NONE},
    [TS_CB_BUY] = {"buy", ARG_INT},             [TS_CB_BALANCE] = {"balance", ARG_NONE},
    [TS_CB_HISTORY] = {"history", ARG_NONE},    [TS_CB_TOPUP] = {"topup", ARG_NONE},
    [TS_CB_C2C] = {"c2c", ARG_INT},             [TS_CB_ZARINPAL] = {"zp", ARG_INT},
    [TS_CB_PROMO] = {"promo", ARG_NONE},        [TS_CB_REFERRAL] = {"ref", ARG_NONE},
    [TS_CB_TICKETS] = {"tickets", ARG_NONE},    [TS_CB_TICKET_NEW] = {"tnew", ARG_NONE},
    [TS_CB_TICKET] = {"ticket", ARG_INT},       [TS_CB_TICKET_CLOSE] = {"tclose", ARG_INT},
    [TS_CB_APPROVE] = {"approve", ARG_INT},     [TS_CB_REJECT] = {"reject", ARG_INT},
    [TS_CB_LANG] = {"lang", ARG_WORD},
};

const char *ts_cb_name(ts_cb_action a)
{
    return a >= 0 && a < TS_CB__COUNT ? actions[a].name : "?";
}

/* Strict decimal int64: optional '-', digits only, no overflow. */
static int parse_i64(const char *s, int64_t *out)
{
    char *end;
    if (*s == '\0' || strspn(s + (*s == '-'), "0123456789") != strlen(s + (*s == '-')))
        return -1;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    return *out = v, 0;
}

int ts_cb_parse(const char *data, ts_cb *cb, ts_error *err)
{
    memset(cb, 0, sizeof *cb);
    size_t len = strlen(data), name_len = strcspn(data, ":");
    if (len == 0 || len > 64)
        return ts_fail(err, TS_E_INVALID, "callback data is empty or longer than 64 bytes");
    const char *arg = data[name_len] == ':' ? data + name_len + 1 : NULL;
    for (int a = 0; a < TS_CB__COUNT; a++) {
        if (strlen(actions[a].name) != name_len || strncmp(actions[a].name, data, name_len) != 0)
            continue;
        cb->action = (ts_cb_action)a;
        if (actions[a].arg == ARG_NONE && arg == NULL)
            return 0;
        if (actions[a].arg == ARG_INT && arg != NULL && parse_i64(arg, &cb->num) == 0)
            return 0;
        if (actions[a].arg == ARG_WORD && arg != NULL && *arg != '\0' &&
            strlen(arg) < sizeof cb->word &&
            arg[strspn(arg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")] ==
                '\0') {
            memcpy(cb->word, arg, strlen(arg) + 1);
            return 0;
        }
        return ts_fail(err, TS_E_INVALID, "callback data \"%.64s\": action %s takes %s", data,
                       actions[a].name,
                       actions[a].arg == ARG_NONE ? "no argument"
                       : actions[a].arg == ARG_INT ? "an integer argument"
                                                   : "a word argument");
    }
    return ts_fail(err, TS_E_INVALID, "callback data \"%.64s\": unknown action", data);
}

const char *ts_cb_format(const ts_cb *cb, char *out, size_t n)
{
    arg_kind k = cb->action < TS_CB__COUNT ? actions[cb->action].arg : ARG_NONE;
    if (k == ARG_INT)
        snprintf(out, n, "%s:%" PRId64, ts_cb_name(cb->action), cb->num);
    else if (k == ARG_WORD)
        snprintf(out, n, "%s:%s", ts_cb_name(cb->action), cb->word);
    else
        snprintf(out, n, "%s", ts_cb_name(cb->action));
    return out;
}

/* ---- reading JSON ------------------------------------------------------------ */

/*
 * Integers in updates fit in 52 bits (Bot API). cJSON reads numbers as
 * doubles, exact below 2^53 in magnitude; from 2^53 on two JSON integers read
 * as one double (9007199254740993 as ...992), so such an id is refused, never
 * rounded.
 */
static int get_i64(const cJSON *o, const char *key, const char *where, int64_t *out, ts_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v))
        return ts_fail(err, TS_E_INVALID, "%s.%s is missing or not a number", where, key);
    double d = v->valuedouble;
    if (d >= 9007199254740992.0 || d <= -9007199254740992.0)
        return ts_fail(err, TS_E_INVALID, "%s.%s is at least 2^53 in magnitude (read as %.0f), "
                       "which cannot be read exactly (Telegram ids fit in 52 bits): refused",
                       where, key, d);
    if (d != (double)(int64_t)d)
        return ts_fail(err, TS_E_INVALID, "%s.%s is not an integer id", where, key);
    return *out = (int64_t)d, 0;
}

/* UTF-16 units of valid UTF-8 s (Telegram's unit for length limits). */
static size_t utf16_units(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xC0) != 0x80)
            n += *p >= 0xF0 ? 2 : 1;
    return n;
}

/*
 * An optional string field: NULL when absent; -1 when mistyped, not UTF-8,
 * over max_units or (for fixed buffers) over cap bytes.
 */
static int get_str(const cJSON *o, const char *key, const char *where, size_t max_units,
                   size_t cap, const char **out, ts_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    *out = NULL;
    if (v == NULL)
        return 0;
    if (!cJSON_IsString(v))
        return ts_fail(err, TS_E_INVALID, "%s.%s is not a string", where, key);
    size_t len = strlen(v->valuestring);
    if (!ts_utf8_valid(v->valuestring, len))
        return ts_fail(err, TS_E_INVALID, "%s.%s is not valid UTF-8", where, key);
    if ((cap > 0 && len >= cap) || utf16_units(v->valuestring) > max_units)
        return ts_fail(err, TS_E_INVALID, "%s.%s is longer than Telegram allows (%zu characters)",
                       where, key, max_units);
    *out = v->valuestring;
    return 0;
}

static int copy_str(const cJSON *o, const char *key, const char *where, char *dst, size_t cap,
                    size_t max_units, ts_error *err)
{
    const char *s;
    if (get_str(o, key, where, max_units, cap, &s, err) != 0)
        return -1;
    snprintf(dst, cap, "%s", s ? s : "");
    return 0;
}

static int read_user(const cJSON *o, const char *where, ts_tg_user *u, ts_error *err)
{
    char w[48];
    snprintf(w, sizeof w, "%s.from", where);
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, "from");
    if (!cJSON_IsObject(f))
        return ts_fail(err, TS_E_INVALID, "%s is missing (updates from channels are not served)",
                       w);
    u->is_bot = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "is_bot"));
    if (get_i64(f, "id", w, &u->id, err) != 0 ||
        copy_str(f, "first_name", w, u->first_name, sizeof u->first_name, 64, err) != 0 ||
        copy_str(f, "last_name", w, u->last_name, sizeof u->last_name, 64, err) != 0 ||
        copy_str(f, "username", w, u->username, sizeof u->username, 32, err) != 0 ||
        copy_str(f, "language_code", w, u->language, sizeof u->language, 15, err) != 0)
        return -1;
    return 0;
}

static int read_chat(const cJSON *msg, const char *where, int64_t *chat_id, ts_error *err)
{
    char w[48];
    snprintf(w, sizeof w, "%s.chat", where);
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(msg, "chat");
    if (!cJSON_IsObject(c))
        return ts_fail(err, TS_E_INVALID, "%s is missing", w);
    return get_i64(c, "id", w, chat_id, err);
}

/* "/start@bot REF" -> command "start", args "REF". */
static void split_command(ts_update *u)
{
    u->args = "";
    if (u->text == NULL || u->text[0] != '/')
        return;
    size_t n = strcspn(u->text + 1, " @\n");
    if (n == 0 || n >= sizeof u->command)
        return;
    memcpy(u->command, u->text + 1, n);
    u->command[n] = '\0';
    const char *rest = u->text + 1 + n;
    rest += strcspn(rest, " \n");   /* skip "@botname" */
    u->args = rest + strspn(rest, " \n");
}

static int read_message(const cJSON *m, ts_update *u, ts_error *err)
{
    const char *text, *caption;
    u->kind = TS_UPDATE_MESSAGE;
    if (get_i64(m, "message_id", "message", &u->message_id, err) != 0 ||
        read_chat(m, "message", &u->chat_id, err) != 0 ||
        read_user(m, "message", &u->from, err) != 0 ||
        get_str(m, "text", "message", TS_TEXT_MAX_UNITS, 0, &text, err) != 0 ||
        get_str(m, "caption", "message", TS_CAPTION_MAX_UNITS, 0, &caption, err) != 0)
        return -1;
    const cJSON *photos = cJSON_GetObjectItemCaseSensitive(m, "photo");
    if (photos != NULL) {
        /* sizes come smallest first: the last is the original */
        const cJSON *big = cJSON_GetArrayItem(photos, cJSON_GetArraySize(photos) - 1);
        if (!cJSON_IsArray(photos) || big == NULL)
            return ts_fail(err, TS_E_INVALID, "message.photo is not a list of sizes");
        if (copy_str(big, "file_id", "message.photo[]", u->photo, sizeof u->photo, 255, err) != 0)
            return -1;
        if (u->photo[0] == '\0')
            return ts_fail(err, TS_E_INVALID, "message.photo[].file_id is missing");
    }
    const char *t = text ? text : caption;
    if (t != NULL && (u->text = strdup(t)) == NULL)
        return ts_fail(err, TS_E_NOMEM, "out of memory reading a message");
    split_command(u);
    return 0;
}

static int read_callback(const cJSON *q, ts_update *u, ts_error *err)
{
    const char *data;
    u->kind = TS_UPDATE_CALLBACK;
    if (copy_str(q, "id", "callback_query", u->callback_id, sizeof u->callback_id, 64, err) != 0)
        return -1;
    if (u->callback_id[0] == '\0')
        return ts_fail(err, TS_E_INVALID, "callback_query.id is missing");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(q, "message");
    if (!cJSON_IsObject(m))
        return ts_fail(err, TS_E_INVALID,
                       "callback_query.message is missing (inline-mode buttons are not served)");
    if (read_user(q, "callback_query", &u->from, err) != 0 ||
        read_chat(m, "callback_query.message", &u->chat_id, err) != 0 ||
        get_i64(m, "message_id", "callback_query.message", &u->message_id, err) != 0 ||
        get_str(q, "data", "callback_query", 64, 65, &data, err) != 0)
        return -1;
    if (data == NULL)
        return ts_fail(err, TS_E_INVALID, "callback_query.data is missing (game buttons are not served)");
    return ts_cb_parse(data, &u->cb, err);
}

int ts_update_parse(const cJSON *j, ts_update *u, ts_error *err)
{
    memset(u, 0, sizeof *u);
    u->update_id = -1;
    u->args = "";
    if (!cJSON_IsObject(j))
        return ts_fail(err, TS_E_INVALID, "update is not a JSON object");
    if (get_i64(j, "update_id", "update", &u->update_id, err) != 0)
        return -1;
    const cJSON *bad = cJSON_GetObjectItemCaseSensitive(j, TS_UPDATE_UNREADABLE);
    if (cJSON_IsString(bad))
        return ts_fail(err, TS_E_INVALID, "update %" PRId64 " could not be read: %s",
                       u->update_id, bad->valuestring);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(j, "callback_query");
    if (cJSON_IsObject(m))
        return read_message(m, u, err);
    if (cJSON_IsObject(q))
        return read_callback(q, u, err);
    const cJSON *kind = j->child;
    while (kind != NULL && strcmp(kind->string, "update_id") == 0)
        kind = kind->next;
    return ts_fail(err, TS_E_INVALID, "update type \"%s\" is not served (message and "
                   "callback_query are)", kind && kind->string ? kind->string : "?");
}

int ts_update_parse_text(const char *json, size_t len, ts_update *u, ts_error *err)
{
    cJSON *j = cJSON_ParseWithLength(json, len);
    if (j == NULL) {
        memset(u, 0, sizeof *u);
        u->update_id = -1;
        u->args = "";
        return ts_fail(err, TS_E_INVALID, "update is not valid JSON (%zu bytes)", len);
    }
    int rc = ts_update_parse(j, u, err);
    cJSON_Delete(j);
    return rc;
}

/* ---- a getUpdates body cJSON cannot parse whole -------------------------------------- */

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* The end of the JSON value at p, tracking only strings and nesting (no
   recursion, no depth limit); NULL when it does not end before end. */
static const char *skip_value(const char *p, const char *end)
{
    size_t depth = 0;
    if (p >= end)
        return NULL;
    do {
        if (*p == '"') {
            for (p++; p < end && *p != '"'; p++)
                if (*p == '\\')
                    p++;
            if (p >= end)
                return NULL;
            p++;
        } else if (*p == '{' || *p == '[') {
            depth++, p++;
        } else if (*p == '}' || *p == ']') {
            if (depth == 0)
                return NULL;
            depth--, p++;
        } else if (depth == 0) {
            /* a scalar: up to the next delimiter */
            while (p < end && strchr(",]} \t\r\n", *p) == NULL)
                p++;
        } else {
            p++;
        }
    } while (depth > 0 && p < end);
    return depth == 0 ? p : NULL;
}

/* The value of key in the object at obj (its own members only); NULL when absent. */
static const char *find_key(const char *obj, const char *end, const char *key)
{
    const char *p = skip_ws(obj, end);
    size_t klen = strlen(key);
    if (p >= end || *p != '{')
        return NULL;
    for (p = skip_ws(p + 1, end); p < end && *p == '"';) {
        const char *k = p + 1, *e = skip_value(p, end), *v;
        if (e == NULL || (v = skip_ws(e, end)) >= end || *v != ':')
            return NULL;
        v = skip_ws(v + 1, end);
        if ((size_t)(e - 1 - k) == klen && memcmp(k, key, klen) == 0)
            return v;
        if ((p = skip_value(v, end)) == NULL)
            return NULL;
        p = skip_ws(p, end);
        if (p >= end || *p != ',')
            return NULL;
        p = skip_ws(p + 1, end);
    }
    return NULL;
}

/* The stand-in for an element that does not parse: its update_id read from the
   text, so it can be acknowledged; NULL when it has none. */
static cJSON *stand_in(const char *p, const char *e)
{
    const char *v = find_key(p, e, "update_id");
    char digits[24];
    int64_t id;
    size_t n = v ? strspn(v, "0123456789") : 0;
    if (n == 0 || n >= sizeof digits || v + n > e)
        return NULL;
    memcpy(digits, v, n);
    digits[n] = '\0';
    if (parse_i64(digits, &id) != 0)
        return NULL;
    cJSON *o = cJSON_CreateObject();
    if (o != NULL && (cJSON_AddNumberToObject(o, "update_id", (double)id) == NULL ||
                      cJSON_AddStringToObject(o, TS_UPDATE_UNREADABLE,
                                              "it is not JSON cJSON can read (an escape of half "
                                              "a UTF-16 pair, nesting deeper than "
                                              "CJSON_NESTING_LIMIT, a broken value)") == NULL)) {
        cJSON_Delete(o);
        o = NULL;
    }
    return o;
}

cJSON *ts_updates_salvage(const char *body, size_t len)
{
    const char *end = body + len;
    const char *ok = find_key(body, end, "ok"), *p = find_key(body, end, "result");
    if (ok == NULL || (size_t)(end - ok) < 4 || memcmp(ok, "true", 4) != 0 || p == NULL ||
        *p != '[')
        return NULL;
    cJSON *out = cJSON_CreateArray();
    for (p = skip_ws(p + 1, end); out != NULL && p < end && *p != ']';) {
        const char *e = skip_value(p, end);
        if (e == NULL)
            break;
        cJSON *u = cJSON_ParseWithLength(p, (size_t)(e - p));
        if (u == NULL)
            u = stand_in(p, e);
        if (u != NULL)
            cJSON_AddItemToArray(out, u);   /* an element without an id: later ids move past it */
        p = skip_ws(e, end);
        if (p < end && *p == ',')
            p = skip_ws(p + 1, end);
    }
    if (p >= end || *p != ']') {   /* cut short or garbled: not a body to take apart */
        cJSON_Delete(out);
        return NULL;
    }
    return out;
}

void ts_update_free(ts_update *u)
{
    free(u->text);
    u->text = NULL;
    u->args = "";
}
