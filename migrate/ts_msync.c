/*
 * ts_msync.c: ts-migrate sync ID (ts_msync.h).
 *
 * The real bot adds columns to its own tables when it starts, so a legacy
 * column may appear after its increment made the new tables. Writes and
 * backfill of that increment are refused then (ts_conform_new); sync adds the
 * column to each new table that lacks it and copies its values from legacy,
 * chunk by chunk in key order, through the manifest's rules for the row (a
 * rename or value map applies as in the backfill).
 */
#include "ts_msync.h"

#include <stdlib.h>
#include <string.h>

#include "ts_catalog.h"
#include "ts_log.h"
#include "ts_rowio.h"
#include "ts_vec.h"

/* The columns of want that have lacks, as indexes into want; their count. */
static int missing(const ts_table *want, const ts_table *have, int *cols, int max)
{
    int n = 0;
    for (int c = 0; c < want->ncols && n < max; c++)
        if (ts_table_column(have, want->cols[c].name) == NULL)
            cols[n++] = c;
    return n;
}

/* UPDATE new SET the added columns WHERE the row's new key. */
static int update_sql(ts_mig *g, const ts_tmap *tm, const int *cols, int n, ts_buf *sql,
                      ts_error *err)
{
    char qt[TS_QNAME_MAX];
    if (ts_store_table(g->nw, tm->target->name, qt, err))
        return -1;
    ts_buf_printf(sql, "UPDATE %s SET ", qt);
    for (int i = 0; i < n; i++)
        ts_buf_printf(sql, "%s\"%s\" = $%d", i ? ", " : "", tm->target->cols[cols[i]].name, i + 1);
    for (int k = 0; k < tm->nnew_key; k++)
        ts_buf_printf(sql, "%s\"%s\" = $%d", k ? " AND " : " WHERE ",
                      tm->target->cols[tm->new_key[k]].name, n + k + 1);
    return sql->oom ? ts_fail(err, TS_E_NOMEM, "out of memory") : 0;
}

/* SELECT every legacy column of the rows after the last key, in key order. */
static int select_sql(ts_mig *g, const ts_tmap *tm, int after, int batch, ts_buf *sql,
                      ts_error *err)
{
    char qt[TS_QNAME_MAX];
    if (ts_store_table(g->legacy, tm->legacy->name, qt, err))
        return -1;
    ts_buf_puts(sql, "SELECT ");
    ts_rowio_columns(sql, tm->legacy);
    ts_buf_printf(sql, " FROM %s", qt);
    if (after) {
        ts_buf_puts(sql, " WHERE (");
        for (int k = 0; k < tm->nkey; k++)
            ts_buf_printf(sql, "%s\"%s\"", k ? ", " : "", tm->legacy->cols[tm->key[k]].name);
        ts_buf_puts(sql, ") > (");
        for (int k = 0; k < tm->nkey; k++)
            ts_buf_printf(sql, "%s$%d", k ? ", " : "", k + 1);
        ts_buf_puts(sql, ")");
    }
    ts_buf_puts(sql, " ORDER BY ");
    for (int k = 0; k < tm->nkey; k++)
        ts_buf_printf(sql, "%s\"%s\"", k ? ", " : "", tm->legacy->cols[tm->key[k]].name);
    ts_buf_printf(sql, " LIMIT %d", batch);
    return sql->oom ? ts_fail(err, TS_E_NOMEM, "out of memory") : 0;
}

typedef struct chunk {
    ts_value **rows;
    int n, cap;
} chunk;

static void chunk_free(chunk *c, int ncols)
{
    for (int i = 0; i < c->n; i++)
        ts_rowio_free(c->rows[i], ncols);
    c->n = 0;
}

/* Read the next chunk of legacy rows (a shared connection serves one
   statement at a time, so the rows are held before new is written). */
static int read_chunk(ts_mig *g, const ts_tmap *tm, const ts_value *last, int batch, chunk *c,
                      ts_error *err)
{
    ts_buf sql = {0};
    ts_value *key = calloc((size_t)tm->nkey + (size_t)tm->legacy->ncols, sizeof *key);
    ts_value *row = key + tm->nkey;
    ts_rows *r;
    int rc;
    if (key == NULL)
        return ts_fail(err, TS_E_NOMEM, "out of memory reading legacy rows");
    for (int k = 0; last && k < tm->nkey; k++)
        key[k] = last[tm->key[k]];
    if (select_sql(g, tm, last != NULL, batch, &sql, err) ||
        ts_store_query(g->legacy, sql.s, key, last ? tm->nkey : 0, &r, err)) {
        ts_buf_free(&sql);
        free(key);
        return -1;
    }
    ts_buf_free(&sql);
    while ((rc = ts_rows_next(r, err)) == 1) {
        for (int i = 0; i < tm->legacy->ncols; i++)
            row[i] = ts_rows_get(r, i);
        if (ts_vec_reserve((void **)&c->rows, &c->cap, c->n + 1, sizeof *c->rows) ||
            (c->rows[c->n] = ts_rowio_copy(row, tm->legacy->ncols)) == NULL) {
            rc = ts_fail(err, TS_E_NOMEM, "out of memory reading legacy rows");
            break;
        }
        c->n++;
    }
    ts_rows_close(r);
    free(key);
    return rc < 0 ? -1 : 0;
}

/* Write the chunk's values of the added columns into new, in one transaction. */
static int write_chunk(ts_mig *g, const ts_tmap *tm, const int *cols, int n, const char *sql,
                       const chunk *c, ts_error *err)
{
    ts_value *nrow = calloc((size_t)(tm->target->ncols + n + tm->nnew_key), sizeof *nrow);
    ts_value *p = nrow + tm->target->ncols;
    ts_buf text = {0};
    ts_error rb;
    if (nrow == NULL)
        return ts_fail(err, TS_E_NOMEM, "out of memory writing new rows");
    if (ts_store_begin(g->nw, err)) {
        free(nrow);
        return -1;
    }
    for (int i = 0; i < c->n; i++) {
        if (!ts_tmap_accepts(tm, c->rows[i]))
            continue;
        if (ts_tmap_to_new(tm, c->rows[i], nrow, &text, err))
            goto fail;
        for (int k = 0; k < n; k++)
            p[k] = nrow[cols[k]];
        for (int k = 0; k < tm->nnew_key; k++)
            p[n + k] = nrow[tm->new_key[k]];
        if (ts_store_exec(g->nw, sql, p, n + tm->nnew_key, NULL, err))
            goto fail;
    }
    ts_buf_free(&text);
    free(nrow);
    return ts_store_commit(g->nw, err);
fail:
    ts_buf_free(&text);
    free(nrow);
    ts_store_rollback(g->nw, &rb);
    return -1;
}

/* Copy the values of the added columns of every legacy row of tm into new. */
static int copy_values(ts_mig *g, const ts_tmap *tm, const int *cols, int n, int64_t *rows,
                       ts_error *err)
{
    int batch = g->o.batch > 0 ? g->o.batch : 5000, rc = 0, chunks = 0;
    ts_buf sql = {0};
    chunk c = {0};
    ts_value *last = NULL;
    *rows = 0;
    if (update_sql(g, tm, cols, n, &sql, err))
        return -1;
    if (g->o.dry_run) {
        ts_mig_step(g, "copy the values of %s into new, %d rows per transaction: %s", tm->legacy->name,
                    batch, sql.s);
        ts_buf_free(&sql);
        return 0;
    }
    for (;;) {
        if ((rc = read_chunk(g, tm, last, batch, &c, err)) != 0 || c.n == 0)
            break;
        if ((rc = write_chunk(g, tm, cols, n, sql.s, &c, err)) != 0)
            break;
        *rows += c.n;
        ts_rowio_free(last, tm->legacy->ncols);
        last = c.rows[c.n - 1];   /* kept: the next chunk starts after its key */
        c.n--;
        chunk_free(&c, tm->legacy->ncols);
        if (++chunks % 10 == 0)
            ts_log(TS_LOG_INFO, "sync_progress", "table=%s rows=%lld", tm->target->name,
                   (long long)*rows);
    }
    chunk_free(&c, tm->legacy->ncols);
    ts_rowio_free(last, tm->legacy->ncols);
    free(c.rows);
    ts_buf_free(&sql);
    return rc;
}

/* Add the columns new lacks to one table and copy their values. */
static int sync_table(ts_mig *g, const ts_tmap *tm, const ts_schema *live, int *added,
                      ts_error *err)
{
    const ts_table *have = ts_schema_table(live, tm->target->name);
    int64_t rows;
    if (have == NULL)
        return 0; /* not made yet */
    int *cols = calloc((size_t)tm->target->ncols + 1, sizeof *cols);
    if (cols == NULL)
        return ts_fail(err, TS_E_NOMEM, "out of memory");
    int n = missing(tm->target, have, cols, tm->target->ncols), rc = -1;
    if (n == 0) {
        free(cols);
        return 0;
    }
    for (int i = 0; i < n; i++) {
        ts_buf ddl = {0};
        ts_schema_add_column_ddl(tm->target, &tm->target->cols[cols[i]], g->nw, &ddl);
        int failed = ddl.oom ? ts_fail(err, TS_E_NOMEM, "out of memory")
                             : ts_mig_exec(g, g->nw, ddl.s, NULL, 0, NULL, err);
        ts_buf_free(&ddl);
        if (failed)
            goto out;
    }
    if (copy_values(g, tm, cols, n, &rows, err)) {
        ts_error_context(err, "copying the values of %d new column(s) of %s", n, tm->target->name);
        goto out;
    }
    for (int i = 0; i < n; i++) {
        if (!g->o.dry_run)
            fprintf(g->out, "synced %s: %s.%s added to new, the values of %lld legacy rows "
                    "copied\n", tm->inc->id, tm->target->name, tm->target->cols[cols[i]].name,
                    (long long)rows);
        ts_mig_note(g, "%s.%s added", tm->target->name, tm->target->cols[cols[i]].name);
    }
    *added += n;
    rc = 0;
out:
    free(cols);
    return rc;
}

int ts_msync_run(ts_mig *g, const char *id, ts_error *err)
{
    ts_inc_state *states, *st;
    ts_schema *live = NULL;
    int added = 0, rc = -1;
    if (ts_mig_states(g, &states, err))
        return -1;
    if ((st = ts_mig_find(g, states, id, err)) == NULL)
        goto out;
    snprintf(g->audit_inc, sizeof g->audit_inc, "%s", id);
    /* The new tables exist from expanded, and legacy is the source of their
       values until new_only. */
    if (st->stage < TS_STAGE_EXPANDED || st->stage > TS_STAGE_READ_NEW) {
        ts_fail(err, TS_E_STATE, "increment %s is at %s: sync carries legacy columns into new "
                "tables between expanded and read_new (before, 'advance' makes the tables with "
                "every column; from new_only on legacy is no longer the source)", id,
                ts_stage_name(st->stage));
        goto out;
    }
    if (ts_catalog_read(g->nw, "new", &live, err))
        goto out;
    for (int t = 0; t < st->inc->ntmaps; t++)
        if (sync_table(g, &st->inc->tmaps[t], live, &added, err))
            goto out;
    if (added == 0 && !g->o.dry_run)
        fprintf(g->out, "%s: the new tables have every column the legacy tables have\n", id);
    rc = 0;
out:
    ts_schema_free(live);
    free(states);
    return rc;
}
