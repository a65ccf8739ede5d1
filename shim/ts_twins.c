/*
 * ts_twins.c: twin writes held back until they are needed, then written in
 * one statement.
 *
 * On a shared PostgreSQL connection a dual-write would cost one more round
 * trip per write (the twin's upsert after the primary's RETURNING). Instead
 * the twins of a unit of work are collected, the latest image per row wins
 * (an update after an insert of the same row is one upsert), and they are
 * written in ONE statement of data-modifying CTEs, one per (table, kind,
 * column set):
 *
 *   WITH t1 AS (INSERT INTO s.users (...) VALUES (...), (...)
 *               ON CONFLICT (bot_id, id) DO UPDATE SET ...),
 *        t2 AS (DELETE FROM s.tickets WHERE (bot_id, id) IN ((...), ...))
 *   SELECT 1
 *
 * The unit flushes them before any statement that reads or writes the
 * twins' side (a new-only table referencing a twin, a read of that side), so
 * nothing inside the unit ever sees the difference, and at its end together
 * with its COMMIT (ts_store_exec_commit: one round trip for both);
 * PostgreSQL checks the foreign keys of the one statement at its end, so the
 * order of the CTEs does not matter. A failure there fails the unit.
 */
#include <stdlib.h>
#include <string.h>

#include "ts_shim_int.h"
#include "ts_vec.h"

#define MAX_PARAMS 30000 /* below PostgreSQL's 65535 per statement, with room;
                            ts_tx flushes every TS_TWINS_MAX rows, so a group fits */

struct ts_twin {
    const ts_table *t;
    ts_value *row;       /* the twin's full row (deep copy) */
    int *include;        /* columns the write carries */
    int deleted;
};

static int same_key(const ts_twin *a, const ts_table *t, const ts_value *row)
{
    int pk[8], n;
    if (a->t != t || ts_rowio_row_key(t, a->include, pk, &n))
        return 0;
    for (int k = 0; k < n; k++)
        if (!ts_value_equal(&a->row[pk[k]], &row[pk[k]]))
            return 0;
    return 1;
}

static void twin_clear(ts_twin *w)
{
    ts_rowio_free(w->row, w->t->ncols);
    free(w->include);
    memset(w, 0, sizeof *w);
}

int ts_twins_add(ts_twins *tw, const ts_table *t, const ts_value *row, const int *include,
                 int deleted, ts_error *err)
{
    ts_twin *w = NULL;
    int key[8], nkey;
    if (ts_rowio_row_key(t, include, key, &nkey))
        return ts_fail(err, TS_E_INTERNAL, "table %s: the row written has no primary or unique "
                       "key to find its twin by", t->name);
    for (int i = 0; i < tw->n; i++)
        if (same_key(&tw->v[i], t, row))
            w = &tw->v[i];
    ts_value *copy = ts_rowio_copy(row, t->ncols);
    int *inc = calloc((size_t)t->ncols, sizeof *inc);
    if (copy == NULL || inc == NULL) {
        ts_rowio_free(copy, t->ncols);
        free(inc);
        return ts_fail(err, TS_E_NOMEM, "out of memory");
    }
    for (int c = 0; c < t->ncols; c++)
        inc[c] = include[c];
    if (w != NULL) {
        /* The later image wins; columns only the earlier write carried
           (new-only values) stay, unless the row is now deleted. */
        for (int c = 0; c < t->ncols && !deleted && !w->deleted; c++)
            if (!inc[c] && w->include[c]) {
                /* Move the value over: the old entry is cleared just below. */
                if (copy[c].type == TS_TEXT || copy[c].type == TS_TIME || copy[c].type == TS_BLOB)
                    free((char *)copy[c].s);
                copy[c] = w->row[c];
                w->row[c] = ts_null();
                inc[c] = 1;
            }
        twin_clear(w);
    } else {
        if (ts_vec_reserve((void **)&tw->v, &tw->cap, tw->n + 1, sizeof *tw->v)) {
            ts_rowio_free(copy, t->ncols);
            free(inc);
            return ts_fail(err, TS_E_NOMEM, "out of memory");
        }
        w = &tw->v[tw->n++];
    }
    *w = (ts_twin){t, copy, inc, deleted};
    return 0;
}

int ts_twins_holds(const ts_twins *tw, const ts_table *t, const int *cols, const ts_value *vals,
                   int n)
{
    for (int i = 0; i < tw->n; i++) {
        const ts_twin *w = &tw->v[i];
        int same = w->t == t && !w->deleted;
        for (int k = 0; k < n && same; k++)
            same = w->include[cols[k]] && ts_value_equal(&w->row[cols[k]], &vals[k]);
        if (same)
            return 1;
    }
    return 0;
}

void ts_twins_reset(ts_twins *tw)
{
    for (int i = 0; i < tw->n; i++)
        twin_clear(&tw->v[i]);
    tw->n = 0;
}

void ts_twins_free(ts_twins *tw)
{
    ts_twins_reset(tw);
    free(tw->v);
    memset(tw, 0, sizeof *tw);
}

static int same_group(const ts_twin *a, const ts_twin *b)
{
    if (a->t != b->t || a->deleted != b->deleted)
        return 0;
    for (int c = 0; c < a->t->ncols; c++)
        if (!a->include[c] != !b->include[c])
            return 0;
    return 1;
}

/* One CTE for the twins of group g (first member at index first). */
static void group_sql(ts_buf *sql, ts_store *s, ts_twins *tw, int first, int *done,
                      ts_value *params, int *np)
{
    const ts_twin *g = &tw->v[first];
    const ts_table *t = g->t;
    char qt[TS_QNAME_MAX];
    int pk[8], npk, rows = 0;
    ts_rowio_row_key(t, g->include, pk, &npk); /* checked when the twin was added */
    ts_store_table(s, t->name, qt, NULL);
    if (g->deleted) {
        ts_buf_printf(sql, "DELETE FROM %s WHERE (", qt);
        for (int k = 0; k < npk; k++)
            ts_buf_printf(sql, "%s\"%s\"", k ? ", " : "", t->cols[pk[k]].name);
        ts_buf_puts(sql, ") IN (");
    } else {
        ts_buf_printf(sql, "INSERT INTO %s (", qt);
        for (int c = 0, n = 0; c < t->ncols; c++)
            if (g->include[c])
                ts_buf_printf(sql, "%s\"%s\"", n++ ? ", " : "", t->cols[c].name);
        ts_buf_puts(sql, ") VALUES ");
    }
    for (int i = first; i < tw->n; i++) {
        const ts_twin *w = &tw->v[i];
        if (done[i] || !same_group(g, w))
            continue;
        done[i] = 1;
        ts_buf_puts(sql, rows++ ? ", (" : "(");
        for (int c = 0, n = 0; c < t->ncols; c++) {
            int is_key = 0;
            for (int k = 0; k < npk; k++)
                is_key |= pk[k] == c;
            if (g->deleted ? !is_key : !w->include[c])
                continue;
            params[*np] = w->row[c];
            ts_buf_printf(sql, "%s$%d", n++ ? ", " : "", ++*np);
        }
        ts_buf_puts(sql, ")");
    }
    if (g->deleted) {
        ts_buf_puts(sql, ")");
        return;
    }
    ts_buf_puts(sql, " ON CONFLICT (");
    for (int k = 0; k < npk; k++)
        ts_buf_printf(sql, "%s\"%s\"", k ? ", " : "", t->cols[pk[k]].name);
    ts_buf_puts(sql, ") DO ");
    int sets = 0;
    for (int c = 0; c < t->ncols; c++) {
        int is_key = 0;
        for (int k = 0; k < npk; k++)
            is_key |= pk[k] == c;
        if (!is_key && g->include[c])
            ts_buf_printf(sql, "%s\"%s\" = excluded.\"%s\"", sets++ ? ", " : "UPDATE SET ",
                          t->cols[c].name, t->cols[c].name);
    }
    if (sets == 0)
        ts_buf_puts(sql, "NOTHING");
}

/* Parameters a group would add: a bound for splitting statements. */
static int group_params(const ts_twins *tw, int i)
{
    int n = 0;
    for (int c = 0; c < tw->v[i].t->ncols; c++)
        n += tw->v[i].include[c];
    return n;
}

int ts_twins_flush(ts_twins *tw, ts_store *s, int commit, ts_error *err)
{
    int *done = calloc((size_t)tw->n + 1, sizeof *done), rc = 0;
    ts_value *params = calloc(MAX_PARAMS + 64, sizeof *params);
    ts_buf sql = {0};
    if (done == NULL || params == NULL) {
        free(done);
        free(params);
        return ts_fail(err, TS_E_NOMEM, "out of memory");
    }
    int first = 0;
    if (commit && tw->n == 0)
        rc = ts_store_commit(s, err);
    while (rc == 0 && first < tw->n) {
        int np = 0, ctes = 0;
        ts_buf_reset(&sql);
        ts_buf_puts(&sql, "WITH ");
        for (int i = first; i < tw->n; i++) {
            if (done[i])
                continue;
            /* Groups are whole: a statement holds groups until the bound. */
            int need = 0;
            for (int j = i; j < tw->n; j++)
                if (!done[j] && same_group(&tw->v[i], &tw->v[j]))
                    need += group_params(tw, j);
            if (ctes && np + need > MAX_PARAMS)
                break;
            ts_buf_printf(&sql, "%st%d AS (", ctes ? ", " : "", ctes + 1);
            group_sql(&sql, s, tw, i, done, params, &np);
            ts_buf_puts(&sql, ")");
            ctes++;
        }
        ts_buf_puts(&sql, " SELECT 1");
        while (first < tw->n && done[first])
            first++;
        if (sql.oom)
            rc = ts_fail(err, TS_E_NOMEM, "out of memory");
        else if (commit && first == tw->n)
            rc = ts_store_exec_commit(s, sql.s, params, np, err);
        else
            rc = ts_store_exec(s, sql.s, params, np, NULL, err);
    }
    if (rc)
        ts_error_context(err, "writing the twins of this unit of work");
    ts_twins_reset(tw);
    ts_buf_free(&sql);
    free(params);
    free(done);
    return rc;
}
