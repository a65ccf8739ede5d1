/* ts_vrows.c: chunks of canonically encoded rows; decoding and key order. */
#include "ts_rowjson.h"
#include "ts_vrows.h"

#include <inttypes.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ts_vrows_init(ts_vrows *rs, int nkey)
{
    memset(rs, 0, sizeof *rs);
    rs->nkey = nkey;
}

void ts_vrows_reset(ts_vrows *rs)
{
    ts_buf_reset(&rs->bytes);
    rs->n = 0;
}

void ts_vrows_free(ts_vrows *rs)
{
    ts_buf_free(&rs->bytes);
    free(rs->rows);
    memset(rs, 0, sizeof *rs);
}

int ts_vrows_add(ts_vrows *rs, const ts_value *vals, const ts_coltype *types, int n, int pending,
                 ts_error *err)
{
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? 2 * rs->cap : 256;
        ts_vrow *r = realloc(rs->rows, cap * sizeof *r);
        if (r == NULL)
            return ts_fail(err, TS_E_NOMEM, "out of memory holding a chunk of rows");
        rs->rows = r;
        rs->cap = cap;
    }
    size_t off = rs->bytes.len;
    ts_canon_row(&rs->bytes, vals, types, n);
    if (rs->bytes.oom)
        return ts_fail(err, TS_E_NOMEM, "out of memory holding a chunk of rows");
    rs->rows[rs->n++] = (ts_vrow){off, rs->bytes.len - off, pending};
    return 0;
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t x = 0;
    for (int i = 0; i < 8; i++)
        x = x << 8 | p[i];
    return x;
}

/* Decode the value at *p (bounded by end) and move past it; -1 when malformed. */
static int next_value(const unsigned char **p, const unsigned char *end, ts_value *v)
{
    const unsigned char *q = *p;
    uint64_t len;
    if (q >= end)
        return -1;
    switch (*q) {
    case 'N': *v = ts_null(); *p = q + 1; return 0;
    case 'B':
        if (end - q < 2)
            return -1;
        *v = ts_bool(q[1]);
        *p = q + 2;
        return 0;
    case 'I':
    case 'D':
        if (end - q < 9)
            return -1;
        len = get_u64(q + 1);
        if (*q == 'I') {
            *v = ts_int((int64_t)len);
        } else {
            double d;
            memcpy(&d, &len, sizeof d);
            *v = ts_double(d);
        }
        *p = q + 9;
        return 0;
    case 'S':
    case 'T':
    case 'X':
        if (end - q < 9 || (len = get_u64(q + 1)) > (uint64_t)(end - q - 9))
            return -1;
        v->type = *q == 'S' ? TS_TEXT : *q == 'T' ? TS_TIME : TS_BLOB;
        v->s = (const char *)q + 9;
        v->len = (size_t)len;
        *p = q + 9 + len;
        return 0;
    }
    return -1;
}

int ts_vrow_decode(const unsigned char *row, size_t len, ts_value *vals, int max)
{
    const unsigned char *p = row + 9, *end = row + len;
    int n = (int)get_u64(row + 1), i;
    for (i = 0; i < n && i < max; i++)
        if (next_value(&p, end, &vals[i]))
            break;
    return i;
}

int ts_vrow_span(const unsigned char *row, size_t len, int col, const unsigned char **at,
                 size_t *n)
{
    const unsigned char *p = row + 9, *end = row + len;
    ts_value v;
    for (int i = 0; i < col; i++)
        if (next_value(&p, end, &v))
            return -1;
    *at = p;
    if (next_value(&p, end, &v))
        return -1;
    *n = (size_t)(p - *at);
    return 0;
}

/* Integers numerically, text and blobs by bytes then length; values of
   different types (never in one key column) by their type. */
static int value_cmp(const ts_value *a, const ts_value *b)
{
    if (a->type != b->type)
        return a->type < b->type ? -1 : 1;
    switch (a->type) {
    case TS_NULL: return 0;
    case TS_INT:
    case TS_BOOL: return (a->i > b->i) - (a->i < b->i);
    case TS_DOUBLE: return (a->d > b->d) - (a->d < b->d);
    default: {
        size_t n = a->len < b->len ? a->len : b->len;
        int c = n ? memcmp(a->s, b->s, n) : 0;
        return c ? c : (a->len > b->len) - (a->len < b->len);
    }
    }
}

int ts_vrow_keycmp(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen,
                   int nkey)
{
    const unsigned char *p = a + 9, *q = b + 9;
    for (int i = 0; i < nkey; i++) {
        ts_value x, y;
        if (next_value(&p, a + alen, &x) || next_value(&q, b + blen, &y))
            return 0;
        int c = value_cmp(&x, &y);
        if (c)
            return c;
    }
    return 0;
}

static int row_cmp(const void *x, const void *y, void *arg)
{
    const ts_vrows *rs = arg;
    const ts_vrow *a = x, *b = y;
    return ts_vrow_keycmp((const unsigned char *)rs->bytes.s + a->off, a->len,
                          (const unsigned char *)rs->bytes.s + b->off, b->len, rs->nkey);
}

void ts_vrows_sort(ts_vrows *rs)
{
    if (rs->n > 1)
        qsort_r(rs->rows, rs->n, sizeof *rs->rows, row_cmp, rs);
}

int ts_vrows_digest(const ts_vrows *rs, size_t from, size_t to, char hex[TS_DIGEST_HEX],
                    ts_error *err)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
    /* Rows of a set sit back to back in key order unless sorted in memory,
       so hash row by row rather than assume one span. */
    for (size_t i = from; ok && i < to; i++)
        ok = EVP_DigestUpdate(ctx, ts_vrows_at(rs, i), rs->rows[i].len) == 1;
    ok = ok && EVP_DigestFinal_ex(ctx, md, &n) == 1 && n == 32;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return ts_fail(err, TS_E_INTERNAL, "OpenSSL SHA-256 of a chunk failed");
    for (unsigned i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return 0;
}

void ts_vvalue_json(ts_buf *b, const ts_value *v)
{
    static const char hex[] = "0123456789abcdef";
    char num[40];
    switch (v->type) {
    case TS_NULL: ts_buf_puts(b, "null"); return;
    case TS_BOOL: ts_buf_puts(b, v->i ? "true" : "false"); return;
    case TS_INT:
        /* Beyond 2^53 a JSON reader's double would round it: keep it exact as text. */
        ts_buf_printf(b, v->i > (INT64_C(1) << 53) || v->i < -(INT64_C(1) << 53) ?
                      "\"%" PRId64 "\"" : "%" PRId64, v->i);
        return;
    case TS_DOUBLE:
        snprintf(num, sizeof num, "%.17g", v->d);
        if (isfinite(v->d))
            ts_buf_puts(b, num);
        else
            ts_json_string(b, num, strlen(num));
        return;
    case TS_TEXT:
    case TS_TIME: ts_json_string(b, v->s, v->len); return;
    case TS_BLOB:
        ts_buf_puts(b, "\"\\\\x");
        for (size_t i = 0; i < v->len; i++) {
            char h[2] = {hex[(unsigned char)v->s[i] >> 4], hex[(unsigned char)v->s[i] & 15]};
            ts_buf_add(b, h, 2);
        }
        ts_buf_puts(b, "\"");
        return;
    }
}
