/* ts_rowjson.c: exact JSON for typed values. */
#include "ts_rowjson.h"

#include <cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ts_json_string(ts_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    ts_buf_add(b, "\"", 1);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            ts_buf_add(b, esc, 2);
        } else if (c < 0x20 || c == 0x7f) {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            ts_buf_add(b, esc, 6);
        } else {
            ts_buf_add(b, (const char *)&s[i], 1);
        }
    }
    ts_buf_add(b, "\"", 1);
}

void ts_rowjson_value(ts_buf *b, const ts_value *v)
{
    static const char hex[] = "0123456789abcdef";
    switch (v->type) {
    case TS_NULL: ts_buf_puts(b, "null"); break;
    case TS_INT: ts_buf_printf(b, "{\"i\":\"%" PRId64 "\"}", v->i); break;
    case TS_BOOL: ts_buf_printf(b, "{\"b\":%s}", v->i ? "true" : "false"); break;
    case TS_DOUBLE: ts_buf_printf(b, "{\"d\":\"%a\"}", v->d); break;
    case TS_TEXT:
    case TS_TIME:
        ts_buf_puts(b, v->type == TS_TEXT ? "{\"s\":" : "{\"t\":");
        ts_json_string(b, v->s, v->len);
        ts_buf_puts(b, "}");
        break;
    case TS_BLOB:
        ts_buf_puts(b, "{\"x\":\"");
        for (size_t i = 0; i < v->len; i++) {
            char h[2] = {hex[(unsigned char)v->s[i] >> 4], hex[(unsigned char)v->s[i] & 15]};
            ts_buf_add(b, h, 2);
        }
        ts_buf_puts(b, "\"}");
        break;
    }
}

void ts_rowjson_encode(ts_buf *b, const ts_value *vals, int n)
{
    ts_buf_puts(b, "[");
    for (int i = 0; i < n; i++) {
        if (i)
            ts_buf_puts(b, ",");
        ts_rowjson_value(b, &vals[i]);
    }
    ts_buf_puts(b, "]");
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decode one element; text positions are recorded as offsets, since text may move. */
static int decode_one(const cJSON *e, ts_value *v, size_t *offset, ts_buf *text)
{
    memset(v, 0, sizeof *v);
    *offset = (size_t)-1;
    if (cJSON_IsNull(e))
        return 0;
    const cJSON *c = e->child;
    if (!cJSON_IsObject(e) || c == NULL || c->next != NULL || c->string == NULL)
        return -1;
    const char *k = c->string, *s = cJSON_IsString(c) ? c->valuestring : NULL;
    char *end;
    if (strcmp(k, "b") == 0 && cJSON_IsBool(c)) {
        *v = ts_bool(cJSON_IsTrue(c));
    } else if (s == NULL) {
        return -1;
    } else if (strcmp(k, "i") == 0) {
        v->type = TS_INT;
        v->i = strtoll(s, &end, 10);
        return *s && *end == '\0' ? 0 : -1;
    } else if (strcmp(k, "d") == 0) {
        v->type = TS_DOUBLE;
        v->d = strtod(s, &end);
        return *s && *end == '\0' ? 0 : -1;
    } else if (strcmp(k, "s") == 0 || strcmp(k, "t") == 0) {
        v->type = k[0] == 's' ? TS_TEXT : TS_TIME;
        v->len = strlen(s);
        *offset = text->len;
        ts_buf_add(text, s, v->len);
        ts_buf_add(text, "", 1);
    } else if (strcmp(k, "x") == 0) {
        size_t n = strlen(s);
        if (n % 2)
            return -1;
        v->type = TS_BLOB;
        v->len = n / 2;
        *offset = text->len;
        for (size_t i = 0; i < n; i += 2) {
            int hi = hexval(s[i]), lo = hexval(s[i + 1]);
            if (hi < 0 || lo < 0)
                return -1;
            char byte = (char)(hi << 4 | lo);
            ts_buf_add(text, &byte, 1);
        }
    } else {
        return -1;
    }
    return 0;
}

int ts_rowjson_decode(const char *json, ts_value *vals, int n, ts_buf *text, ts_error *err)
{
    cJSON *root = cJSON_Parse(json);
    size_t *offsets = calloc((size_t)n + 1, sizeof *offsets);
    int i = 0, rc = -1;
    ts_buf_reset(text);
    if (root == NULL || offsets == NULL || !cJSON_IsArray(root) || cJSON_GetArraySize(root) != n)
        goto out;
    for (const cJSON *e = root->child; e; e = e->next, i++)
        if (decode_one(e, &vals[i], &offsets[i], text))
            goto out;
    if (text->oom)
        goto out;
    for (i = 0; i < n; i++)
        if (offsets[i] != (size_t)-1)
            vals[i].s = text->s + offsets[i];
    rc = 0;
out:
    cJSON_Delete(root);
    free(offsets);
    if (rc)
        ts_fail(err, TS_E_INVALID, "journal row '%.80s' is not a JSON array of %d typed values",
                json ? json : "", n);
    return rc;
}
