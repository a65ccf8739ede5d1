/* ts_vside.c: one side of a table comparison, paged in key order. */
#include "ts_vside.h"

#include <stdlib.h>
#include <string.h>

static int same_order_class(ts_coltype a, ts_coltype b)
{
    int ia = a == TS_COL_ID || a == TS_COL_INT, ib = b == TS_COL_ID || b == TS_COL_INT;
    return (ia && ib) || (a == TS_COL_TEXT && b == TS_COL_TEXT);
}

int ts_vplan_make(const ts_tmap *tm, ts_vplan *p, ts_error *err)
{
    const ts_table *nt = tm->target;
    memset(p, 0, sizeof *p);
    p->tm = tm;
    p->bot_col = -1;
    p->ordered = 1;
    if (nt->ncols > (int)(sizeof p->cols / sizeof p->cols[0]))
        return ts_fail(err, TS_E_INTERNAL, "table %s has more columns than verify handles",
                       nt->name);
    for (int i = 0; i < tm->nnew_key; i++) {
        int c = tm->new_key[i];
        const ts_colrule *r = &tm->rules[c];
        if (r->src == TS_SRC_CONST) {
            p->bot_col = c;
            p->bot = r->value;
            continue;
        }
        ts_coltype t = nt->cols[c].type;
        if (t != TS_COL_ID && t != TS_COL_INT && t != TS_COL_TEXT)
            return ts_fail(err, TS_E_INVALID,
                           "table %s: key column %s is neither integer nor text, which the two "
                           "engines do not sort alike: key the map by another column",
                           nt->name, nt->cols[c].name);
        if (r->src != TS_SRC_COPY || !same_order_class(tm->legacy->cols[r->from].type, t))
            p->ordered = 0;
        p->cols[p->ncols] = c;
        p->types[p->ncols++] = t;
    }
    p->nkey = p->ncols;
    for (int c = 0; c < nt->ncols; c++) {
        int in_key = 0;
        for (int k = 0; k < p->nkey; k++)
            in_key |= p->cols[k] == c;
        if (in_key || c == p->bot_col || !ts_tmap_fills(tm, c))
            continue;
        p->cols[p->ncols] = c;
        p->types[p->ncols++] = nt->cols[c].type;
    }
    return 0;
}

/* ---- SQL -------------------------------------------------------------------- */

/* The key columns, each "col" or "col" COLLATE "C" (text on PostgreSQL). */
static int key_list(ts_buf *b, const ts_vside *sd, ts_error *err)
{
    const ts_vplan *p = sd->p;
    const ts_table *t = sd->legacy ? p->tm->legacy : p->tm->target;
    int pg = ts_store_engine(sd->s) == TS_ENGINE_PG;
    char q[TS_IDENT_MAX + 3];
    for (int k = 0; k < p->nkey; k++) {
        const ts_column *c = &t->cols[sd->legacy ? p->tm->key[k] : p->cols[k]];
        if (ts_quote_ident(c->name, q, err))
            return -1;
        ts_buf_printf(b, "%s%s%s", k ? ", " : "", q,
                      pg && c->type == TS_COL_TEXT ? " COLLATE \"C\"" : "");
    }
    return 0;
}

/*
 * SELECT cols FROM t [WHERE bot = $1] [AND (key) > ($k...)] ORDER BY key LIMIT $n,
 * or without order and limit for a side read whole (memory mode).
 */
static int build_sql(ts_vside *sd, ts_buf *b, int after, ts_error *err)
{
    const ts_vplan *p = sd->p;
    const ts_table *t = sd->legacy ? p->tm->legacy : p->tm->target;
    char qt[TS_QNAME_MAX], q[TS_IDENT_MAX + 3];
    int np = 0;

    if (ts_store_table(sd->s, t->name, qt, err))
        return -1;
    ts_buf_puts(b, "SELECT ");
    int n = sd->legacy ? t->ncols : p->ncols;
    for (int i = 0; i < n; i++) {
        if (ts_quote_ident(t->cols[sd->legacy ? i : p->cols[i]].name, q, err))
            return -1;
        ts_buf_printf(b, "%s%s", i ? ", " : "", q);
    }
    ts_buf_printf(b, " FROM %s", qt);
    const char *glue = " WHERE ";
    if (!sd->legacy && p->bot_col >= 0) {
        if (ts_quote_ident(t->cols[p->bot_col].name, q, err))
            return -1;
        ts_buf_printf(b, "%s%s = $%d", glue, q, ++np);
        glue = " AND ";
    }
    if (!p->ordered)
        return b->oom ? ts_fail(err, TS_E_NOMEM, "out of memory building a query") : 0;
    if (after) {
        ts_buf_printf(b, "%s(", glue);
        if (key_list(b, sd, err))
            return -1;
        ts_buf_puts(b, ") > (");
        for (int k = 0; k < p->nkey; k++)
            ts_buf_printf(b, "%s$%d", k ? ", " : "", ++np);
        ts_buf_puts(b, ")");
    }
    ts_buf_puts(b, " ORDER BY ");
    if (key_list(b, sd, err))
        return -1;
    ts_buf_printf(b, " LIMIT $%d", ++np);
    return b->oom ? ts_fail(err, TS_E_NOMEM, "out of memory building a query") : 0;
}

int ts_vside_open(ts_vside *sd, const ts_vplan *p, ts_store *s, int legacy, int chunk,
                  ts_error *err)
{
    memset(sd, 0, sizeof *sd);
    sd->p = p;
    sd->s = s;
    sd->legacy = legacy;
    sd->chunk = chunk;
    ts_vrows_init(&sd->rows, p->nkey);
    /* Legacy: the legacy row, then the projected new row in the same array. */
    int nv = legacy && p->tm->legacy->ncols > p->ncols ? p->tm->legacy->ncols : p->ncols;
    sd->vals = calloc((size_t)nv, sizeof *sd->vals);
    sd->newrow = calloc((size_t)p->tm->target->ncols, sizeof *sd->newrow);
    if (sd->vals == NULL || sd->newrow == NULL) {
        ts_vside_close(sd);
        return ts_fail(err, TS_E_NOMEM, "out of memory opening a table for comparison");
    }
    if (build_sql(sd, &sd->sql_first, 0, err) || build_sql(sd, &sd->sql_after, 1, err)) {
        ts_vside_close(sd);
        return -1;
    }
    return 0;
}

void ts_vside_close(ts_vside *sd)
{
    ts_buf_free(&sd->sql_first);
    ts_buf_free(&sd->sql_after);
    ts_vrows_free(&sd->rows);
    ts_buf_free(&sd->last);
    ts_buf_free(&sd->wm);
    ts_buf_free(&sd->text);
    ts_buf_free(&sd->keybuf);
    free(sd->vals);
    free(sd->newrow);
    memset(sd, 0, sizeof *sd);
}

/* Encode the legacy key of the current legacy row (or a watermark) into out. */
static void encode_key(const ts_vside *sd, const ts_value *key, ts_buf *out)
{
    ts_buf_reset(out);
    ts_canon_row(out, key, sd->p->types, sd->p->nkey);
}

int ts_vside_set_watermark(ts_vside *sd, const ts_value *key, int all_pending, ts_error *err)
{
    sd->all_pending = all_pending;
    sd->has_wm = key != NULL;
    if (key != NULL) {
        encode_key(sd, key, &sd->wm);
        if (sd->wm.oom)
            return ts_fail(err, TS_E_NOMEM, "out of memory reading a backfill watermark");
    }
    return 0;
}

/* Take the current result row into the side's rows; *raw_key gets the row's key
   values in legacy terms (for the page bound and the watermark). */
static int take_row(ts_vside *sd, ts_rows *r, ts_error *err)
{
    const ts_vplan *p = sd->p;
    const ts_tmap *tm = p->tm;
    ts_value key[128];

    if (!sd->legacy) {
        for (int i = 0; i < p->ncols; i++)
            sd->vals[i] = ts_rows_get(r, i);
        for (int k = 0; k < p->nkey; k++)
            if (sd->vals[k].type == TS_NULL)
                return ts_fail(err, TS_E_INVALID, "table %s has a row whose key column %s is "
                               "NULL: verify pairs rows by key; fix the row",
                               tm->target->name, tm->target->cols[p->cols[k]].name);
        encode_key(sd, sd->vals, &sd->last);
        return ts_vrows_add(&sd->rows, sd->vals, p->types, p->ncols, 0, err);
    }
    for (int i = 0; i < tm->legacy->ncols; i++)
        sd->vals[i] = ts_rows_get(r, i);
    for (int k = 0; k < p->nkey; k++)
        key[k] = sd->vals[tm->key[k]];
    encode_key(sd, key, &sd->last);
    if (!ts_tmap_accepts(tm, sd->vals))
        return 0;
    int pending = sd->all_pending ||
                  (sd->has_wm && ts_vrow_keycmp((unsigned char *)sd->last.s, sd->last.len,
                                                (unsigned char *)sd->wm.s, sd->wm.len,
                                                p->nkey) > 0);
    if (ts_tmap_to_new(tm, sd->vals, sd->newrow, &sd->text, err))
        return -1;
    for (int i = 0; i < p->ncols; i++)
        sd->vals[i] = sd->newrow[p->cols[i]];
    return ts_vrows_add(&sd->rows, sd->vals, p->types, p->ncols, pending, err);
}

/* Run sql with params and take every row it returns; *n gets the raw row count. */
static int read_rows(ts_vside *sd, const char *sql, const ts_value *params, int np, size_t *n,
                     ts_error *err)
{
    ts_rows *r;
    int rc;
    *n = 0;
    if (ts_store_query(sd->s, sql, params, np, &r, err))
        return -1;
    while ((rc = ts_rows_next(r, err)) == 1) {
        if (take_row(sd, r, err)) {
            ts_rows_close(r);
            return -1;
        }
        if (!sd->p->ordered && sd->rows.n > TS_VSIDE_MEMORY_MAX) {
            ts_rows_close(r);
            return ts_fail(err, TS_E_INVALID,
                           "table %s holds more than %d rows, and its key mapping does not keep "
                           "the key order, so it is compared in memory: key the map by a "
                           "copied column", sd->legacy ? sd->p->tm->legacy->name :
                           sd->p->tm->target->name, TS_VSIDE_MEMORY_MAX);
        }
        ++*n;
    }
    ts_rows_close(r);
    return rc < 0 ? -1 : 0;
}

/* Memory mode: the whole table, sorted, then windows of it. */
static int memory_page(ts_vside *sd, const unsigned char *after, size_t after_len, ts_error *err)
{
    ts_vrows *rs = &sd->rows;
    size_t n;
    if (!sd->loaded) {
        ts_value bot = sd->p->bot;
        int np = !sd->legacy && sd->p->bot_col >= 0;
        if (read_rows(sd, sd->sql_first.s, &bot, np, &n, err))
            return -1;
        ts_vrows_sort(rs);
        sd->loaded = 1;
    }
    /* First row above `after`: binary search. */
    size_t lo = 0, hi = rs->n;
    while (after != NULL && lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ts_vrow_keycmp(ts_vrows_at(rs, mid), rs->rows[mid].len, after, after_len,
                           rs->nkey) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    sd->from = lo;
    sd->to = rs->n - lo > (size_t)sd->chunk ? lo + (size_t)sd->chunk : rs->n;
    sd->exhausted = sd->to == rs->n;
    ts_buf_reset(&sd->last);
    if (sd->to > sd->from) {
        ts_value key[128];
        ts_vrow_decode(ts_vrows_at(rs, sd->to - 1), rs->rows[sd->to - 1].len, key, rs->nkey);
        encode_key(sd, key, &sd->last);
    }
    return 0;
}

int ts_vside_page(ts_vside *sd, const unsigned char *after, size_t after_len, ts_error *err)
{
    const ts_vplan *p = sd->p;
    ts_value params[130];
    int np = 0;
    size_t n;

    if (!p->ordered)
        return memory_page(sd, after, after_len, err);
    if (!sd->legacy && p->bot_col >= 0)
        params[np++] = p->bot;
    if (after != NULL)
        np += ts_vrow_decode(after, after_len, params + np, p->nkey);
    params[np++] = ts_int(sd->chunk);
    ts_vrows_reset(&sd->rows);
    ts_buf_reset(&sd->last);
    if (read_rows(sd, after ? sd->sql_after.s : sd->sql_first.s, params, np, &n, err))
        return -1;
    sd->from = 0;
    sd->to = sd->rows.n;
    sd->exhausted = n < (size_t)sd->chunk;
    return 0;
}
