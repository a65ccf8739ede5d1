/*
 * ts_journal.c: the drift journal (outbox of cross-store dual-writes) and the
 * change journal (writes made at new_only, replayed into legacy on rollback).
 *
 * An entry names a row of the primary by its primary key. Applying it copies
 * the row's CURRENT state from the primary, read under a row lock, to the
 * other store (or deletes it there when the primary no longer has it), then
 * removes the entry and every older entry of the same row, all in one primary
 * transaction. So a replay is idempotent, entries of one row can be applied in
 * any number of passes, and two writers of one row can never make the other
 * store go back in time: the later apply always copies the later state.
 */
#include "ts_journal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_log.h"
#include "ts_rowio.h"
#include "ts_rowjson.h"
#include "ts_schema.h"

#define REPLAY_BATCH 256

static ts_store *side_store(const ts_journal_stores *js, ts_side side)
{
    return side == TS_SIDE_LEGACY ? js->legacy : js->nw;
}

int ts_journal_append(ts_store *primary, const char *kind, const char *increment_id,
                      const char *table, const char *row_key, const char *op,
                      const char *row_image, int64_t version, ts_side target, int64_t *id,
                      ts_error *err)
{
    char now[TS_TIME_MAX];
    ts_time_now(now);
    ts_value p[9] = {ts_text(kind), ts_text(increment_id), ts_text(table), ts_text(row_key),
                     ts_text(op), ts_text(row_image), ts_int(version),
                     ts_text(target == TS_SIDE_LEGACY ? "legacy" : "new"), ts_text(now)};
    int rc = ts_store_query_int_sql(primary, "ts_journal",
                                    "INSERT INTO %s (kind, increment_id, table_name, row_key, op, "
                                    "row_image, version, target, status, created_at) "
                                    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9) "
                                    "RETURNING id", p, 9, id, err);
    return rc == 1 ? 0 : rc < 0 ? -1 : ts_fail(err, TS_E_INTERNAL, "journal insert returned no id");
}

int ts_journal_pending(ts_store *s, const char *kind, int64_t *count, ts_error *err)
{
    ts_value p = ts_text(kind);
    return ts_store_query_int_sql(s, "ts_journal",
                                  "SELECT count(*) FROM %s WHERE kind = $1 AND status = 'pending'",
                                  &p, 1, count, err) < 0 ? -1 : 0;
}

int ts_journal_stuck(ts_store *s, int64_t *count, ts_buf *first, ts_error *err)
{
    ts_buf sql = {0};
    ts_rows *r;
    int rc = -1;
    if (ts_store_query_int_sql(s, "ts_journal",
                               "SELECT count(*) FROM %s WHERE status = 'pending' AND attempts > 0",
                               NULL, 0, count, err) < 0)
        goto out;
    rc = 0;
    if (*count == 0)
        goto out;
    if (ts_store_sql(s, "ts_journal",
                     "SELECT id, kind, table_name, row_key, last_error, attempts FROM %s "
                     "WHERE status = 'pending' AND attempts > 0 ORDER BY id LIMIT 1", &sql, err) ||
        ts_store_query(s, sql.s, NULL, 0, &r, err)) {
        rc = -1;
        goto out;
    }
    rc = ts_rows_next(r, err);
    if (rc == 1) {
        ts_value v[6];
        for (int i = 0; i < 6; i++)
            v[i] = ts_rows_get(r, i);
        ts_buf_printf(first, "entry %lld (%.*s, %.*s %.*s) failed %lld times: %.*s",
                      (long long)v[0].i, (int)v[1].len, v[1].s, (int)v[2].len, v[2].s,
                      (int)v[3].len, v[3].s, (long long)v[5].i,
                      v[4].type == TS_TEXT ? (int)v[4].len : 1, v[4].type == TS_TEXT ? v[4].s : "?");
    }
    ts_rows_close(r);
out:
    ts_buf_free(&sql);
    return rc < 0 ? -1 : 0;
}

/* One journal entry as read back. */
typedef struct entry {
    char table[TS_IDENT_MAX + 1], target[8];
    char *row_key, *row_image;
    int found;
} entry;

static int read_entry(ts_store *p, int64_t id, entry *e, ts_error *err)
{
    ts_buf sql = {0};
    ts_rows *r;
    ts_value key = ts_int(id);
    memset(e, 0, sizeof *e);
    int rc = ts_store_sql(p, "ts_journal",
                          "SELECT table_name, target, row_key, row_image FROM %s "
                          "WHERE id = $1 AND status = 'pending'", &sql, err) ||
             ts_store_query(p, sql.s, &key, 1, &r, err);
    ts_buf_free(&sql);
    if (rc)
        return -1;
    rc = ts_rows_next(r, err);
    if (rc == 1) {
        ts_value t = ts_rows_get(r, 0), g = ts_rows_get(r, 1), k = ts_rows_get(r, 2),
                 im = ts_rows_get(r, 3);
        snprintf(e->table, sizeof e->table, "%.*s", (int)t.len, t.s);
        snprintf(e->target, sizeof e->target, "%.*s", (int)g.len, g.s);
        e->row_key = strndup(k.s, k.len);
        e->row_image = im.type == TS_NULL ? NULL : strndup(im.s, im.len);
        e->found = 1;
        if (e->row_key == NULL)
            rc = ts_fail(err, TS_E_NOMEM, "out of memory reading journal entry %lld", (long long)id);
    }
    ts_rows_close(r);
    return rc < 0 ? -1 : 0;
}

static void entry_free(entry *e)
{
    free(e->row_key);
    free(e->row_image);
}

/* The image an entry carries: {"table": NAME, "row": [typed values]}. */
void ts_journal_image(ts_buf *b, const ts_table *t, const ts_value *row)
{
    ts_buf_printf(b, "{\"table\":\"%s\",\"row\":", t->name);
    ts_rowjson_encode(b, row, t->ncols);
    ts_buf_puts(b, "}");
}

/* Decode an image into the table it names (in schema sc) and a row owned by *row. */
static int decode_image(const char *image, const ts_schema *sc, const ts_table **t,
                        ts_value **row, ts_buf *text, ts_error *err)
{
    char name[TS_IDENT_MAX + 1];
    const char *p = image ? strstr(image, "\"row\":") : NULL;
    *row = NULL;
    if (image == NULL || sscanf(image, "{\"table\":\"%63[A-Za-z0-9_]\"", name) != 1 || p == NULL ||
        (*t = ts_schema_table(sc, name)) == NULL)
        return ts_fail(err, TS_E_INVALID, "journal image '%.80s' names no %s table",
                       image ? image : "(none)", sc->name);
    size_t len = strlen(p + 6);
    char *arr = strndup(p + 6, len ? len - 1 : 0); /* drop the closing brace */
    *row = calloc((size_t)(*t)->ncols + 1, sizeof **row);
    int rc = arr && *row ? ts_rowjson_decode(arr, *row, (*t)->ncols, text, err)
                         : ts_fail(err, TS_E_NOMEM, "out of memory");
    free(arr);
    if (rc) {
        free(*row);
        *row = NULL;
    }
    return rc;
}

int ts_twin_row(const ts_tmap *tm, int to_new, const ts_value *row, const ts_value *extra,
                ts_value *twin, int *include, ts_buf *text, ts_error *err)
{
    const ts_table *t = to_new ? tm->target : tm->legacy;
    if (to_new ? ts_tmap_to_new(tm, row, twin, text, err) : ts_tmap_to_legacy(tm, row, twin, text, err))
        return -1;
    for (int c = 0; c < t->ncols; c++) {
        include[c] = to_new ? ts_tmap_fills(tm, c) : ts_tmap_restores(tm, c);
        /* New-only columns cannot live in legacy: they travel separately. */
        if (to_new && !include[c] && extra && extra[c].type != TS_NULL) {
            twin[c] = extra[c];
            include[c] = 1;
        }
    }
    return 0;
}

/* Copy the primary's current row `cur` of table pt (NULL: gone) to the other store. */
static int copy_row(const ts_journal_stores *js, ts_side primary, const ts_table *pt, const ts_value *cur,
                    const entry *e, ts_error *err)
{
    int to_new = primary == TS_SIDE_LEGACY, rc = -1, pk[8], npk;
    ts_store *target = to_new ? js->nw : js->legacy;
    ts_buf text = {0}, itext = {0};
    const ts_table *it = NULL;
    ts_value *image = NULL, *twin = NULL;
    int *include = NULL;

    if (e->row_image && decode_image(e->row_image, to_new ? ts_manifest_new_schema(js->m) : ts_manifest_legacy_schema(js->m),
                                     &it, &image, &itext, err))
        goto out;
    if (cur == NULL) {
        /* Gone from the primary: delete its twin, known by the image's key. */
        rc = image == NULL ? 0 : ts_rowio_pk(it, pk, &npk) ? -1
                                 : ts_rowio_delete(target, it, pk, npk, image, err);
        goto out;
    }
    const ts_tmap *tm = to_new ? ts_manifest_route(js->m, pt->name, cur)
                               : ts_manifest_tmap_for_new(js->m, pt->name);
    if (tm == NULL) {
        rc = ts_fail(err, TS_E_STATE, "a %s row of %s has no mapping in the manifest to replay by",
                     pt->name, to_new ? "legacy" : "new");
        goto out;
    }
    const ts_table *tt = to_new ? tm->target : tm->legacy;
    twin = calloc((size_t)tt->ncols, sizeof *twin);
    include = calloc((size_t)tt->ncols, sizeof *include);
    if (twin == NULL || include == NULL)
        rc = ts_fail(err, TS_E_NOMEM, "out of memory");
    else if (ts_twin_row(tm, to_new, cur, it == tt ? image : NULL, twin, include, &text, err) == 0)
        rc = ts_rowio_upsert(target, tt, twin, include, err);
out:
    free(twin);
    free(include);
    free(image);
    ts_buf_free(&text);
    ts_buf_free(&itext);
    return rc;
}

/* Remove the entry and the older entries of the same row. */
static int settle(ts_store *p, int64_t id, const entry *e, ts_error *err)
{
    ts_value v[4] = {ts_int(id), ts_text(e->table), ts_text(e->row_key), ts_text(e->target)};
    return ts_store_exec_sql(p, "ts_journal",
                             "DELETE FROM %s WHERE id <= $1 AND table_name = $2 AND row_key = $3 "
                             "AND target = $4", v, 4, NULL, err);
}

int ts_journal_settle(ts_store *p, int64_t id, ts_error *err)
{
    ts_value v = ts_int(id);
    return ts_store_exec_sql(p, "ts_journal", "DELETE FROM %s WHERE id = $1", &v, 1, NULL, err);
}

static int note_failure(ts_store *p, int64_t id, const char *msg)
{
    ts_value v[2] = {ts_text(msg), ts_int(id)};
    return ts_store_exec_sql(p, "ts_journal",
                             "UPDATE %s SET attempts = attempts + 1, last_error = $1 WHERE id = $2",
                             v, 2, NULL, NULL);
}

/*
 * Apply entry id. With only_present, an entry whose row is gone from the
 * primary is left pending (*deferred = 1): deletes wait until every row that
 * may still reference the row in the target has been copied.
 */
static int apply(const ts_journal_stores *js, ts_side primary, int64_t id, int only_present, int *deferred,
                 ts_error *err)
{
    ts_store *p = side_store(js, primary);
    const ts_schema *sc = primary == TS_SIDE_LEGACY ? ts_manifest_legacy_schema(js->m) : ts_manifest_new_schema(js->m);
    entry e;
    ts_value *cur = NULL, *key = NULL;
    ts_buf ktext = {0};
    int pk[8], npk, rc = -1;
    const ts_table *pt = NULL;

    *deferred = 0;
    if (ts_store_begin(p, err))
        return -1;
    if (read_entry(p, id, &e, err))
        goto out;
    if (!e.found) { /* applied meanwhile, with an older or newer entry of its row */
        rc = 0;
        goto out;
    }
    if ((pt = ts_schema_table(sc, e.table)) == NULL || ts_rowio_pk(pt, pk, &npk)) {
        ts_fail(err, TS_E_INVALID, "journal entry %lld names unknown table %s", (long long)id, e.table);
        goto out;
    }
    key = calloc((size_t)npk, sizeof *key);
    if (key == NULL || ts_rowjson_decode(e.row_key, key, npk, &ktext, err) ||
        ts_rowio_get(p, pt, pk, npk, key, 1, &cur, err) < 0)
        goto out;
    if (cur == NULL && only_present) {
        *deferred = 1;
        rc = 0;
        goto out;
    }
    rc = copy_row(js, primary, pt, cur, &e, err);
    if (rc == 0 && js->fault)
        js->fault("after_secondary_write");
    if (rc == 0)
        rc = settle(p, id, &e, err);
out:
    if (rc == 0 && (*deferred || !e.found)) {
        ts_store_rollback(p, NULL);
    } else if (rc == 0) {
        rc = ts_store_commit(p, err);
    } else {
        ts_error keep = *err;
        ts_store_rollback(p, NULL);
        if (e.found)
            note_failure(p, id, keep.msg);
        *err = keep;
        if (e.found)
            ts_error_context(err, "applying journal entry %lld (%s %.200s)", (long long)id,
                             e.table, e.row_key);
        else
            ts_error_context(err, "applying journal entry %lld", (long long)id);
    }
    if (e.found)
        entry_free(&e);
    ts_rowio_free(cur, pt ? pt->ncols : 0);
    free(key);
    ts_buf_free(&ktext);
    return rc;
}

int ts_journal_apply(const ts_journal_stores *js, ts_side primary, int64_t id, ts_error *err)
{
    int deferred;
    return apply(js, primary, id, 0, &deferred, err);
}

/* What one replay has done so far. */
typedef struct replay {
    const ts_journal_stores *js;
    ts_side primary;
    ts_value kind;
    ts_buf sql;          /* the pending entries of one table after an id, oldest first */
    int64_t applied;
    int progress;        /* an entry applied in this pass */
    int64_t failed;      /* entries that did not apply in this pass */
    ts_error first;      /* why the first of them did not */
    const char *const *only;   /* replay entries of these increments only; NULL: all */
} replay;

static int wanted(const replay *r, ts_value inc)
{
    if (r->only == NULL)
        return 1;
    for (const char *const *i = r->only; *i; i++)
        if (inc.type == TS_TEXT && strlen(*i) == inc.len && memcmp(*i, inc.s, inc.len) == 0)
            return 1;
    return 0;
}

/* Every pending entry of table (upserts only: only_present), oldest first. An
   entry that fails is noted and passed over; a lost connection ends the replay. */
static int replay_table(replay *r, const char *table, int only_present, ts_error *err)
{
    ts_store *p = side_store(r->js, r->primary);
    int64_t after = 0;
    for (;;) {
        int64_t ids[REPLAY_BATCH];
        ts_value v[3] = {r->kind, ts_text(table), ts_int(after)};
        ts_rows *rows;
        int n = 0, rc = 0;
        if (ts_store_query(p, r->sql.s, v, 3, &rows, err))
            return -1;
        unsigned char skip[REPLAY_BATCH];
        while (n < REPLAY_BATCH && (rc = ts_rows_next(rows, err)) == 1) {
            skip[n] = !wanted(r, ts_rows_get(rows, 1));
            ids[n++] = ts_rows_get(rows, 0).i;
        }
        ts_rows_close(rows);
        if (rc < 0)
            return -1;
        for (int i = 0; i < n; i++) {
            ts_error e;
            int deferred;
            after = ids[i];
            if (skip[i])
                continue;
            if (apply(r->js, r->primary, ids[i], only_present, &deferred, &e) == 0) {
                r->applied += !deferred;
                r->progress |= !deferred;
            } else if (ts_error_retryable(&e)) {
                *err = e;
                return -1;
            } else if (!only_present && r->failed++ == 0) {
                r->first = e;   /* counted once: the second walk tries every entry left */
            }
        }
        if (n < REPLAY_BATCH)
            return 0;
    }
}

/* The tables with pending entries of the replay's kind, in the primary schema's
   order (a table after the tables it references); NULL-terminated, malloc'd. */
static int pending_tables(replay *r, const ts_schema *sc, const ts_table ***out, int *n,
                          ts_error *err)
{
    ts_store *p = side_store(r->js, r->primary);
    ts_buf sql = {0};
    ts_rows *rows;
    int rc = -1;
    unsigned char *has = calloc((size_t)sc->ntables + 1, 1);
    const ts_table **list = calloc((size_t)sc->ntables + 1, sizeof *list);
    *out = NULL;
    *n = 0;
    if (has == NULL || list == NULL) {
        ts_fail(err, TS_E_NOMEM, "out of memory replaying the journal");
        goto done;
    }
    if (ts_store_sql(p, "ts_journal",
                     "SELECT DISTINCT table_name FROM %s WHERE kind = $1 AND status = 'pending'",
                     &sql, err) ||
        ts_store_query(p, sql.s, &r->kind, 1, &rows, err))
        goto done;
    while ((rc = ts_rows_next(rows, err)) == 1) {
        ts_value t = ts_rows_get(rows, 0);
        char name[TS_IDENT_MAX + 1];
        snprintf(name, sizeof name, "%.*s", (int)t.len, t.s);
        const ts_table *tt = ts_schema_table(sc, name);
        if (tt == NULL) {
            rc = ts_fail(err, TS_E_INVALID, "the %s journal has entries of %s, which is not a "
                         "table of the %s schema: they cannot be replayed", r->kind.s, name,
                         sc->name);
            break;
        }
        has[tt - sc->tables] = 1;
    }
    ts_rows_close(rows);
    if (rc == 0) {
        for (int i = 0; i < sc->ntables; i++)
            if (has[i])
                list[(*n)++] = &sc->tables[i];
        *out = list;
        list = NULL;
    }
done:
    ts_buf_free(&sql);
    free(has);
    free(list);
    return rc < 0 ? -1 : 0;
}

/*
 * Foreign keys decide the order: rows that exist are copied parents first,
 * then rows that are gone are deleted children first, so the target never
 * holds a reference to a row it lacks. What still fails (a reference within
 * one table to a row copied later, a cycle) is tried again in another pass
 * while passes make progress; entries that never apply stay pending with
 * their error and are reported, the first one named.
 */
int ts_journal_replay_of(const ts_journal_stores *js, ts_side primary, const char *kind,
                         const char *const *increments, int64_t *applied, ts_error *err)
{
    const ts_schema *sc = primary == TS_SIDE_LEGACY ? ts_manifest_legacy_schema(js->m) : ts_manifest_new_schema(js->m);
    replay r = {js, primary, ts_text(kind)};
    r.only = increments;
    int rc = ts_store_sql(side_store(js, primary), "ts_journal",
                          "SELECT id, increment_id FROM %s WHERE kind = $1 AND "
                          "status = 'pending' AND table_name = $2 AND id > $3 ORDER BY id",
                          &r.sql, err);
    ts_buf_printf(&r.sql, " LIMIT %d", REPLAY_BATCH);
    if (rc == 0 && r.sql.oom)
        rc = ts_fail(err, TS_E_NOMEM, "out of memory replaying the journal");
    while (rc == 0) {
        const ts_table **tables;
        int n;
        if (pending_tables(&r, sc, &tables, &n, err)) {
            rc = -1;
            break;
        }
        r.progress = 0;
        r.failed = 0;
        for (int i = 0; rc == 0 && i < n; i++)
            rc = replay_table(&r, tables[i]->name, 1, err);
        for (int i = n - 1; rc == 0 && i >= 0; i--)
            rc = replay_table(&r, tables[i]->name, 0, err);
        free(tables);
        *applied += r.applied;
        r.applied = 0;
        if (rc || r.failed == 0)
            break;
        if (!r.progress) {
            *err = r.first;
            ts_error_context(err, "%lld %s journal entr%s cannot be applied and stay pending "
                             "('ts-migrate status' shows them; fix the cause, then 'ts-migrate "
                             "repair'); the first", (long long)r.failed, kind,
                             r.failed == 1 ? "y" : "ies");
            rc = -1;
        }
    }
    ts_buf_free(&r.sql);
    return rc ? -1 : 0;
}

int ts_journal_replay(const ts_journal_stores *js, ts_side primary, const char *kind,
                      int64_t *applied, ts_error *err)
{
    return ts_journal_replay_of(js, primary, kind, NULL, applied, err);
}
