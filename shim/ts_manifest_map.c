/*
 * ts_manifest_map.c: convert rows between a legacy table and its new table,
 * as one table mapping of the manifest says.
 *
 * Text the conversion makes (formatted ids, JSON encoded and decoded values)
 * goes into the caller's ts_buf. The buffer may move while it grows, so a
 * produced value first records its offset (s == NULL, i = offset) and gets its
 * pointer only once the whole row is done (resolve_text).
 */
#include "ts_manifest.h"
#include "ts_rowjson.h"

#include <cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- produced text ------------------------------------------------------ */

static void produced(ts_value *v, const ts_buf *text, size_t start)
{
    *v = (ts_value){TS_TEXT};
    v->i = (int64_t)start;
    v->len = text->len - start;
}

static int resolve_text(ts_value *row, int n, ts_buf *text, ts_error *err)
{
    if (text->oom)
        return ts_fail(err, TS_E_NOMEM, "out of memory converting a row");
    for (int i = 0; i < n; i++)
        if (row[i].type == TS_TEXT && row[i].s == NULL) {
            row[i].s = text->s + row[i].i;
            row[i].i = 0;
        }
    return 0;
}

/* The input row must not borrow from the buffer the output is written to:
   resetting it would pull the input from under the conversion. */
static int check_input(const ts_value *row, int n, const ts_buf *text, ts_error *err)
{
    for (int i = 0; i < n && text->s; i++)
        if (row[i].type != TS_NULL && row[i].s >= text->s && row[i].s < text->s + text->cap)
            return ts_fail(err, TS_E_INTERNAL, "converting a row whose text lives in the output "
                           "buffer: give the conversion back a buffer of its own");
    return 0;
}

/* ---- describing a row in errors ------------------------------------------ */

/* "id=7" or "bot_id=1, feature_key='x'": the row's key, for messages. */
static const char *describe(const ts_table *t, const int *cols, int n, const ts_value *row,
                            char *out, size_t size)
{
    char v[64];
    out[0] = '\0';
    for (int i = 0; i < n; i++)
        snprintf(out + strlen(out), size - strlen(out), "%s%s=%s", i ? ", " : "",
                 t->cols[cols[i]].name, ts_value_format(&row[cols[i]], v, sizeof v));
    return out;
}

static int row_fail(const ts_table *t, const int *key, int nkey, const ts_value *row,
                    const char *col, ts_error *err, const char *what)
{
    char k[256];
    return ts_fail(err, TS_E_INVALID, "%s row (%s) column %s: %s", t->name,
                   describe(t, key, nkey, row, k, sizeof k), col, what);
}

/* ---- value maps ----------------------------------------------------------- */

static int valmap_find(const ts_valmap *vm, const ts_value *v)
{
    for (int i = 0; i < vm->n; i++)
        if (ts_value_equal(&vm->keys[i], v))
            return i;
    return -1;
}

/* The first legacy key with this value: maps may send several legacy spellings
   to one value ('1', 'on', 'true'), and the first is the one legacy gets back. */
static int valmap_rfind(const ts_valmap *vm, const ts_value *v)
{
    for (int i = 0; i < vm->n; i++)
        if (ts_value_equal(&vm->vals[i], v))
            return i;
    return -1;
}

int ts_tmap_accepts(const ts_tmap *tm, const ts_value *legacy_row)
{
    if (tm->where_col < 0)
        return 1;
    const ts_value *v = &legacy_row[tm->where_col];
    int in = v->type == TS_TEXT && valmap_find(tm->where_map, v) >= 0;
    return in == tm->where_in;
}

/* ---- JSON strings ---------------------------------------------------------- */

/*
 * A JSON value back to legacy text: a string gives its content, null gives
 * NULL, anything else (a number, true, an object a tenant stored) its JSON
 * text unchanged, which is how legacy would spell it.
 */
static int json_decode(const ts_value *v, ts_value *out, ts_buf *text)
{
    cJSON *j = cJSON_ParseWithLength(v->s, v->len);
    if (j == NULL)
        return -1;
    if (cJSON_IsString(j)) {
        size_t start = text->len;
        ts_buf_add(text, j->valuestring, strlen(j->valuestring));
        produced(out, text, start);
    } else if (cJSON_IsNull(j)) {
        *out = ts_null();
    } else {
        *out = ts_textn(v->s, v->len);
    }
    cJSON_Delete(j);
    return 0;
}

/* ---- legacy -> new ---------------------------------------------------------- */

static void format_int(const ts_colrule *r, int64_t i, ts_buf *text)
{
    if (r->conv == 'd')
        ts_buf_printf(text, "%s%0*" PRId64 "%s", r->prefix, r->width, i, r->suffix);
    else if (r->conv == 'x')
        ts_buf_printf(text, "%s%0*" PRIx64 "%s", r->prefix, r->width, (uint64_t)i, r->suffix);
    else
        ts_buf_printf(text, "%s%0*" PRIX64 "%s", r->prefix, r->width, (uint64_t)i, r->suffix);
}

static int fill_column(const ts_tmap *tm, int col, const ts_value *legacy_row, ts_value *out,
                       ts_buf *text, ts_error *err)
{
    const ts_colrule *r = &tm->rules[col];
    const ts_value *src = r->from >= 0 ? &legacy_row[r->from] : NULL;
    const char *from = r->from >= 0 ? tm->legacy->cols[r->from].name : "";
    size_t start = text->len;
    char msg[512], v[96];

    *out = ts_null();
    switch (r->src) {
    case TS_SRC_NONE:
        return 0;
    case TS_SRC_CONST:
        *out = r->value;
        return 0;
    case TS_SRC_COPY:
        *out = *src;
        return 0;
    case TS_SRC_JSON:
        if (src->type == TS_NULL) {
            ts_buf_puts(text, "null"); /* NULL stays apart from '' (which is "") */
            produced(out, text, start);
            return 0;
        }
        break;
    case TS_SRC_MAP:
    case TS_SRC_FORMAT:
        if (src->type == TS_NULL)
            return 0;
        break;
    }
    if (r->src == TS_SRC_JSON) {
        if (src->type != TS_TEXT)
            return row_fail(tm->legacy, tm->key, tm->nkey, legacy_row, from, err,
                            "text is needed to encode it as a JSON string: fix the row");
        ts_json_string(text, src->s, src->len);
        produced(out, text, start);
        return 0;
    }
    if (r->src == TS_SRC_FORMAT) {
        if (src->type != TS_INT)
            return row_fail(tm->legacy, tm->key, tm->nkey, legacy_row, from, err,
                            "an integer is needed to format it: fix the row");
        format_int(r, src->i, text);
        produced(out, text, start);
        return 0;
    }
    int k = valmap_find(r->map, src);
    if (k < 0) {
        snprintf(msg, sizeof msg, "%s is not in value map %s: add it to the map in the "
                 "manifest or correct the row", ts_value_format(src, v, sizeof v), r->map->name);
        return row_fail(tm->legacy, tm->key, tm->nkey, legacy_row, from, err, msg);
    }
    *out = r->map->vals[k];
    return 0;
}

int ts_tmap_to_new(const ts_tmap *tm, const ts_value *legacy_row, ts_value *new_row,
                   ts_buf *text, ts_error *err)
{
    const ts_table *nt = tm->target;
    if (check_input(legacy_row, tm->legacy->ncols, text, err))
        return -1;
    ts_buf_reset(text);
    for (int i = 0; i < nt->ncols; i++) {
        if (fill_column(tm, i, legacy_row, &new_row[i], text, err))
            return -1;
        if (new_row[i].type == TS_NULL && nt->cols[i].notnull && tm->rules[i].src != TS_SRC_NONE)
            return row_fail(tm->legacy, tm->key, tm->nkey, legacy_row,
                            tm->legacy->cols[tm->rules[i].from].name, err,
                            "is NULL, but the new column it fills is NOT NULL: fix the row");
    }
    return resolve_text(new_row, nt->ncols, text, err);
}

/* ---- new -> legacy ---------------------------------------------------------- */

static int restore_column(const ts_tmap *tm, int col, const ts_value *new_row, ts_value *out,
                          ts_buf *text, ts_error *err)
{
    int from = tm->restore[col];
    const ts_colrule *r = from >= 0 ? &tm->rules[from] : NULL;
    const ts_value *v = from >= 0 ? &new_row[from] : NULL;
    const char *name = from >= 0 ? tm->target->cols[from].name : "";
    char msg[512], buf[96];

    *out = ts_null();
    if (r == NULL || v->type == TS_NULL)
        return 0;
    if (r->src == TS_SRC_COPY) {
        *out = *v;
        return 0;
    }
    if (r->src == TS_SRC_JSON) {
        if (v->type == TS_TEXT && json_decode(v, out, text) == 0)
            return 0;
        return row_fail(tm->target, tm->new_key, tm->nnew_key, new_row, name, err,
                        "is not valid JSON: fix the row in the new store");
    }
    int k = valmap_rfind(r->map, v);
    if (k < 0) {
        snprintf(msg, sizeof msg, "%s is no value of value map %s, so legacy has no word for "
                 "it: add a legacy spelling to the map or correct the row",
                 ts_value_format(v, buf, sizeof buf), r->map->name);
        return row_fail(tm->target, tm->new_key, tm->nnew_key, new_row, name, err, msg);
    }
    *out = r->map->keys[k];
    return 0;
}

int ts_tmap_to_legacy(const ts_tmap *tm, const ts_value *new_row, ts_value *legacy_row,
                      ts_buf *text, ts_error *err)
{
    const ts_table *lt = tm->legacy;
    char k[256];
    if (check_input(new_row, tm->target->ncols, text, err))
        return -1;
    ts_buf_reset(text);
    for (int c = 0; c < lt->ncols; c++) {
        if (restore_column(tm, c, new_row, &legacy_row[c], text, err))
            return -1;
        if (legacy_row[c].type == TS_NULL && lt->cols[c].notnull && tm->restore[c] >= 0)
            return row_fail(tm->target, tm->new_key, tm->nnew_key, new_row,
                            tm->target->cols[tm->restore[c]].name, err,
                            "is NULL, but the legacy column it restores is NOT NULL: fix the "
                            "row in the new store");
    }
    if (resolve_text(legacy_row, lt->ncols, text, err))
        return -1;
    if (!ts_tmap_accepts(tm, legacy_row))
        return ts_fail(err, TS_E_INVALID, "%s row (%s): as a legacy %s row it would %sbelong to "
                       "value map %s, so legacy would route it to the other mapping: move the "
                       "row to the matching new table", tm->target->name,
                       describe(tm->target, tm->new_key, tm->nnew_key, new_row, k, sizeof k),
                       lt->name, tm->where_in ? "not " : "", tm->where_map->name);
    return 0;
}

int ts_tmap_restore_value(const ts_tmap *tm, int new_col, const ts_value *v, int *legacy_col,
                          ts_value *out, ts_buf *text, ts_error *err)
{
    *legacy_col = -1;
    for (int c = 0; c < tm->legacy->ncols; c++)
        if (tm->restore[c] == new_col)
            *legacy_col = c;
    if (*legacy_col < 0)
        return ts_fail(err, TS_E_STATE,
                       "column %s.%s has no legacy counterpart in increment %s, so it cannot be "
                       "used while legacy answers for the table",
                       tm->target->name, tm->target->cols[new_col].name, tm->inc->id);
    /* restore_column reads the new row at new_col only: a one-value row will do. */
    ts_value *row = calloc((size_t)tm->target->ncols, sizeof *row);
    if (row == NULL)
        return ts_fail(err, TS_E_NOMEM, "out of memory");
    row[new_col] = *v;
    ts_buf_reset(text);
    int rc = restore_column(tm, *legacy_col, row, out, text, err);
    free(row);
    return rc ? -1 : resolve_text(out, 1, text, err);
}

int ts_tmap_fills(const ts_tmap *tm, int col) { return tm->rules[col].src != TS_SRC_NONE; }

int ts_tmap_restores(const ts_tmap *tm, int col) { return tm->restore[col] >= 0; }
