/*
 * ts_rowio.c: whole rows in and out of one store, by primary key. The journal
 * and the secondary side of dual-writes use these; backfill and rollback
 * replay share them.
 */
#include "ts_rowio.h"

#include <stdlib.h>
#include <string.h>

#define TS_MAX_KEY 8

int ts_rowio_pk(const ts_table *t, int *cols, int *n)
{
    const char *p = t->pk;
    char name[TS_IDENT_MAX + 1];
    *n = 0;
    while (ts_schema_list_next(&p, name, sizeof name)) {
        if (*n >= TS_MAX_KEY || (cols[(*n)++] = ts_table_column_index(t, name)) < 0)
            return -1;
    }
    return *p ? -1 : 0; /* a name too long to take */
}

/* The columns of list (comma-separated) into cols, when every one is in the row. */
static int key_in_row(const ts_table *t, const char *list, const int *include, int *cols, int *n)
{
    char name[TS_IDENT_MAX + 1];
    *n = 0;
    while (ts_schema_list_next(&list, name, sizeof name)) {
        int c = ts_table_column_index(t, name);
        if (*n >= TS_MAX_KEY || c < 0 || (include && !include[c]))
            return -1;
        cols[(*n)++] = c;
    }
    return *list ? -1 : 0;
}

int ts_rowio_row_key(const ts_table *t, const int *include, int *cols, int *n)
{
    if (key_in_row(t, t->pk, include, cols, n) == 0)
        return 0;
    for (int u = 0; t->uniques && t->uniques[u]; u++)
        if (key_in_row(t, t->uniques[u], include, cols, n) == 0)
            return 0;
    return -1;
}

void ts_rowio_columns(ts_buf *b, const ts_table *t)
{
    for (int i = 0; i < t->ncols; i++)
        ts_buf_printf(b, "%s\"%s\"", i ? ", " : "", t->cols[i].name);
}

/* " WHERE k1 = $o+1 AND k2 = $o+2 ..." */
static void key_where(ts_buf *b, const ts_table *t, const int *keycols, int nkey, int offset)
{
    for (int k = 0; k < nkey; k++)
        ts_buf_printf(b, "%s\"%s\" = $%d", k ? " AND " : " WHERE ", t->cols[keycols[k]].name,
                      offset + k + 1);
}

int ts_rowio_upsert(ts_store *s, const ts_table *t, const ts_value *row, const int *include,
                    ts_error *err)
{
    char qt[TS_QNAME_MAX];
    int pk[TS_MAX_KEY], npk, n = 0, sets = 0, rc;
    ts_buf b = {0};
    ts_value *params = calloc((size_t)t->ncols, sizeof *params);
    if (params == NULL)
        return ts_fail(err, TS_E_NOMEM, "out of memory writing a %s row", t->name);
    if (ts_store_table(s, t->name, qt, err) || ts_rowio_row_key(t, include, pk, &npk)) {
        free(params);
        return ts_fail(err, TS_E_INTERNAL, "table %s: the row written has no primary or unique "
                       "key to find its twin by", t->name);
    }
    ts_buf_printf(&b, "INSERT INTO %s (", qt);
    for (int i = 0; i < t->ncols; i++)
        if (include == NULL || include[i]) {
            ts_buf_printf(&b, "%s\"%s\"", n ? ", " : "", t->cols[i].name);
            params[n++] = row[i];
        }
    ts_buf_puts(&b, ") VALUES (");
    for (int i = 0; i < n; i++)
        ts_buf_printf(&b, "%s$%d", i ? ", " : "", i + 1);
    ts_buf_puts(&b, ") ON CONFLICT (");
    for (int k = 0; k < npk; k++)
        ts_buf_printf(&b, "%s\"%s\"", k ? ", " : "", t->cols[pk[k]].name);
    ts_buf_puts(&b, ") DO ");
    for (int i = 0; i < t->ncols; i++) {
        int is_key = 0;
        for (int k = 0; k < npk; k++)
            is_key |= pk[k] == i;
        if (is_key || (include && !include[i]))
            continue;
        ts_buf_printf(&b, "%s\"%s\" = excluded.\"%s\"", sets++ ? ", " : "UPDATE SET ",
                      t->cols[i].name, t->cols[i].name);
    }
    if (sets == 0)
        ts_buf_puts(&b, "NOTHING");
    rc = b.oom ? ts_fail(err, TS_E_NOMEM, "out of memory") : ts_store_exec(s, b.s, params, n, NULL, err);
    ts_buf_free(&b);
    free(params);
    return rc;
}

int ts_rowio_delete(ts_store *s, const ts_table *t, const int *keycols, int nkey,
                    const ts_value *row, ts_error *err)
{
    char qt[TS_QNAME_MAX];
    ts_value key[TS_MAX_KEY];
    ts_buf b = {0};
    if (nkey > TS_MAX_KEY || ts_store_table(s, t->name, qt, err))
        return -1;
    for (int k = 0; k < nkey; k++)
        key[k] = row[keycols[k]];
    ts_buf_printf(&b, "DELETE FROM %s", qt);
    key_where(&b, t, keycols, nkey, 0);
    int rc = b.oom ? ts_fail(err, TS_E_NOMEM, "out of memory") : ts_store_exec(s, b.s, key, nkey, NULL, err);
    ts_buf_free(&b);
    return rc;
}

ts_value *ts_rowio_copy(const ts_value *row, int n)
{
    ts_value *out = calloc((size_t)n + 1, sizeof *out);
    if (out == NULL)
        return NULL;
    for (int i = 0; i < n; i++) {
        out[i] = row[i];
        if (row[i].type == TS_TEXT || row[i].type == TS_TIME || row[i].type == TS_BLOB) {
            char *p = malloc(row[i].len + 1);
            if (p == NULL) {
                ts_rowio_free(out, i);
                return NULL;
            }
            if (row[i].len)
                memcpy(p, row[i].s, row[i].len);
            p[row[i].len] = '\0';
            out[i].s = p;
        }
    }
    return out;
}

void ts_rowio_free(ts_value *row, int n)
{
    if (row == NULL)
        return;
    for (int i = 0; i < n; i++)
        if (row[i].type == TS_TEXT || row[i].type == TS_TIME || row[i].type == TS_BLOB)
            free((char *)row[i].s);
    free(row);
}

int ts_rowio_get(ts_store *s, const ts_table *t, const int *keycols, int nkey,
                 const ts_value *key, int lock, ts_value **out, ts_error *err)
{
    char qt[TS_QNAME_MAX];
    ts_buf b = {0};
    ts_rows *r;
    int rc;
    *out = NULL;
    if (ts_store_table(s, t->name, qt, err))
        return -1;
    ts_buf_puts(&b, "SELECT ");
    ts_rowio_columns(&b, t);
    ts_buf_printf(&b, " FROM %s", qt);
    key_where(&b, t, keycols, nkey, 0);
    /* SQLite has no row locks: its write transaction already excludes writers. */
    if (lock && ts_store_engine(s) == TS_ENGINE_PG)
        ts_buf_puts(&b, " FOR UPDATE");
    if (b.oom) {
        ts_buf_free(&b);
        return ts_fail(err, TS_E_NOMEM, "out of memory");
    }
    rc = ts_store_query(s, b.s, key, nkey, &r, err);
    ts_buf_free(&b);
    if (rc)
        return -1;
    rc = ts_rows_next(r, err);
    if (rc == 1) {
        ts_value *row = calloc((size_t)t->ncols, sizeof *row);
        for (int i = 0; row && i < t->ncols; i++)
            row[i] = ts_rows_get(r, i);
        *out = row ? ts_rowio_copy(row, t->ncols) : NULL;
        free(row);
        if (*out == NULL)
            rc = ts_fail(err, TS_E_NOMEM, "out of memory reading a %s row", t->name);
    }
    ts_rows_close(r);
    return rc;
}
