/* ts_canon.c: the canonical row encoding (format in ts_canon.h) and SHA-256 over it. */
#include "ts_canon.h"

#include <cJSON.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ts_value ts_canon_coerce(const ts_value *v, ts_coltype type)
{
    switch (type) {
    case TS_COL_ID:
    case TS_COL_INT:
        /* 2^63 itself is not an int64: the bound is exclusive. */
        if (v->type == TS_DOUBLE && v->d == trunc(v->d) && v->d >= -9223372036854775808.0 &&
            v->d < 9223372036854775808.0)
            return ts_int((int64_t)v->d);
        break;
    case TS_COL_DOUBLE:
    case TS_COL_NUMERIC: /* SQLite keeps an integral NUMERIC as an integer */
        if (v->type == TS_INT)
            return ts_double((double)v->i);
        break;
    case TS_COL_BOOL:
        if (v->type == TS_INT)
            return ts_bool(v->i != 0);
        break;
    case TS_COL_TIME:
    case TS_COL_TIMESTAMP:
        if (v->type == TS_TEXT) {
            ts_value t = *v;
            t.type = TS_TIME;
            return t;
        }
        break;
    case TS_COL_TEXT:
        /* SQLite lets a TEXT column hold a BLOB; its bytes copied into a text
           column elsewhere are the same value, not a change to report forever. */
        if (v->type == TS_BLOB) {
            ts_value t = *v;
            t.type = TS_TEXT;
            return t;
        }
        break;
    default:   /* json and what only a catalog names: as stored */
        break;
    }
    return *v;
}

static void put_u64(ts_buf *b, char tag, uint64_t x)
{
    char o[9];
    o[0] = tag;
    for (int i = 0; i < 8; i++)
        o[1 + i] = (char)(x >> (56 - 8 * i));
    ts_buf_add(b, o, sizeof o);
}

static void put_bytes(ts_buf *b, char tag, const char *s, size_t len)
{
    put_u64(b, tag, len);
    ts_buf_add(b, s, len);
}

static uint64_t double_bits(double d)
{
    uint64_t bits;
    if (d == 0.0)
        d = 0.0; /* -0.0 compares equal to 0.0: this drops the sign */
    if (isnan(d))
        return UINT64_C(0x7ff8000000000000);
    memcpy(&bits, &d, sizeof bits);
    return bits;
}

static void put_value(ts_buf *b, const ts_value *v)
{
    char canon[TS_TIME_MAX], tag[2] = {0};
    switch (v->type) {
    case TS_NULL: ts_buf_add(b, "N", 1); return;
    case TS_BOOL:
        tag[0] = 'B';
        tag[1] = v->i != 0;
        ts_buf_add(b, tag, 2);
        return;
    case TS_INT: put_u64(b, 'I', (uint64_t)v->i); return;
    case TS_DOUBLE: put_u64(b, 'D', double_bits(v->d)); return;
    case TS_TEXT: put_bytes(b, 'S', v->s, v->len); return;
    case TS_BLOB: put_bytes(b, 'X', v->s, v->len); return;
    case TS_TIME:
        if (ts_time_canon(v->s, v->len, canon, NULL) == 0)
            put_bytes(b, 'T', canon, strlen(canon));
        else
            put_bytes(b, 'T', v->s, v->len);
        return;
    }
}

/* Objects' members in byte order of their names, at every depth. */
static void sort_members(cJSON *j)
{
    for (cJSON *c = j->child; c; c = c->next)
        sort_members(c);
    if (!cJSON_IsObject(j) || j->child == NULL)
        return;
    cJSON *sorted = NULL, *next;
    for (cJSON *c = j->child; c; c = next) { /* insertion sort of a short list */
        next = c->next;
        cJSON **at = &sorted;
        while (*at && strcmp((*at)->string, c->string) <= 0)
            at = &(*at)->next;
        c->next = *at;
        *at = c;
    }
    cJSON *last = NULL;
    for (cJSON *c = sorted; c; last = c, c = c->next)
        c->prev = last;
    sorted->prev = last; /* cJSON keeps the last member in the first one's prev */
    j->child = sorted;
}

/* A JSON column's value as JSON: whitespace and the order of object members
   do not count, values do (numbers by their double value). Text that is not
   JSON is encoded as it is. */
static void put_json(ts_buf *b, const ts_value *v)
{
    cJSON *j = cJSON_ParseWithLength(v->s, v->len);
    char *text = NULL;
    if (j != NULL) {
        sort_members(j);
        text = cJSON_PrintUnformatted(j);
    }
    if (text != NULL)
        put_bytes(b, 'S', text, strlen(text));
    else
        put_bytes(b, 'S', v->s, v->len);
    free(text);
    cJSON_Delete(j);
}

void ts_canon_row(ts_buf *b, const ts_value *vals, const ts_coltype *types, int n)
{
    put_u64(b, 'R', (uint64_t)n);
    for (int i = 0; i < n; i++) {
        if (types != NULL && types[i] == TS_COL_JSON && vals[i].type == TS_TEXT) {
            put_json(b, &vals[i]);
        } else if (types != NULL) {
            ts_value v = ts_canon_coerce(&vals[i], types[i]);
            put_value(b, &v);
        } else {
            put_value(b, &vals[i]);
        }
    }
}

/* ---- hashing ------------------------------------------------------------- */

int ts_hasher_init(ts_hasher *h, ts_error *err)
{
    memset(h, 0, sizeof *h);
    h->md = EVP_MD_CTX_new();
    if (h->md == NULL || EVP_DigestInit_ex(h->md, EVP_sha256(), NULL) != 1) {
        ts_hasher_free(h);
        return ts_fail(err, TS_E_INTERNAL, "OpenSSL could not start a SHA-256 digest");
    }
    return 0;
}

int ts_hasher_row(ts_hasher *h, const ts_value *vals, const ts_coltype *types, int n,
                  ts_error *err)
{
    ts_buf_reset(&h->row);
    ts_canon_row(&h->row, vals, types, n);
    if (h->row.oom)
        return ts_fail(err, TS_E_NOMEM, "out of memory encoding a row for its digest");
    if (EVP_DigestUpdate(h->md, h->row.s, h->row.len) != 1)
        return ts_fail(err, TS_E_INTERNAL, "OpenSSL SHA-256 update failed");
    h->rows++;
    return 0;
}

int ts_hasher_final(ts_hasher *h, char hex[TS_DIGEST_HEX], ts_error *err)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    int ok = EVP_DigestFinal_ex(h->md, md, &n) == 1 && n == 32;
    ts_hasher_free(h);
    if (!ok)
        return ts_fail(err, TS_E_INTERNAL, "OpenSSL SHA-256 final failed");
    for (unsigned i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return 0;
}

void ts_hasher_free(ts_hasher *h)
{
    EVP_MD_CTX_free(h->md);
    h->md = NULL;
    ts_buf_free(&h->row);
}

/* ---- table digest -------------------------------------------------------- */

/* SELECT every declared column FROM the table ORDER BY its key, byte order for text. */
static int digest_sql(ts_store *s, const ts_table *t, ts_buf *sql, ts_error *err)
{
    char qt[TS_QNAME_MAX], q[TS_IDENT_MAX + 3], name[TS_IDENT_MAX + 1];
    int pg = ts_store_engine(s) == TS_ENGINE_PG;

    if (ts_store_table(s, t->name, qt, err))
        return -1;
    ts_buf_puts(sql, "SELECT ");
    for (int i = 0; i < t->ncols; i++) {
        if (ts_quote_ident(t->cols[i].name, q, err))
            return -1;
        ts_buf_printf(sql, "%s%s", i ? ", " : "", q);
    }
    ts_buf_printf(sql, " FROM %s ORDER BY ", qt);
    for (const char *p = t->pk; *p;) {
        size_t n = strcspn(p, ",");
        const char *a = p, *e = p + n;
        while (a < e && *a == ' ')
            a++;
        while (e > a && e[-1] == ' ')
            e--;
        snprintf(name, sizeof name, "%.*s", (int)(e - a), a);
        const ts_column *c = ts_table_column(t, name);
        if (c == NULL || ts_quote_ident(name, q, err))
            return ts_fail(err, TS_E_INTERNAL, "table %s: key column '%s' is not declared",
                           t->name, name);
        if (c->type == TS_COL_TIME)
            return ts_fail(err, TS_E_INVALID,
                           "table %s: key column %s is a timestamp, which SQLite and "
                           "PostgreSQL do not sort alike: digest it by another key",
                           t->name, name);
        ts_buf_printf(sql, "%s%s%s", p == t->pk ? "" : ", ", q,
                      pg && c->type == TS_COL_TEXT ? " COLLATE \"C\"" : "");
        p += n;
        if (*p == ',')
            p++;
    }
    return sql->oom ? ts_fail(err, TS_E_NOMEM, "out of memory building a digest query") : 0;
}

int ts_canon_table_digest(ts_store *s, const ts_table *t, ts_digest *out, ts_error *err)
{
    ts_buf sql = {0};
    ts_rows *rows = NULL;
    ts_hasher h = {0};
    ts_value *vals = malloc((size_t)t->ncols * sizeof *vals);
    ts_coltype *types = malloc((size_t)t->ncols * sizeof *types);
    int rc;

    if (vals == NULL || types == NULL) {
        ts_fail(err, TS_E_NOMEM, "out of memory starting a digest");
        goto fail;
    }
    for (int i = 0; i < t->ncols; i++)
        types[i] = t->cols[i].type;
    if (digest_sql(s, t, &sql, err) || ts_store_query(s, sql.s, NULL, 0, &rows, err) ||
        ts_hasher_init(&h, err))
        goto fail;
    while ((rc = ts_rows_next(rows, err)) == 1) {
        for (int i = 0; i < t->ncols; i++)
            vals[i] = ts_rows_get(rows, i);
        if (ts_hasher_row(&h, vals, types, t->ncols, err))
            goto fail;
    }
    if (rc < 0)
        goto fail;
    ts_rows_close(rows);
    rows = NULL;
    out->rows = h.rows;
    if (ts_hasher_final(&h, out->hex, err))
        goto fail;
    free(vals);
    free(types);
    ts_buf_free(&sql);
    return 0;
fail:
    if (rows)
        ts_rows_close(rows);
    ts_hasher_free(&h);
    free(vals);
    free(types);
    ts_buf_free(&sql);
    ts_error_context(err, "digest of table %s in %s", t->name, ts_store_url(s));
    return -1;
}
