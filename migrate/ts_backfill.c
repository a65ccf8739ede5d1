/*
 * ts_backfill.c: keyset-chunked, checkpointed, lock-disciplined copy of legacy rows.
 *
 * The rule (ts_backfill.h) fixes what a chunk is: legacy rows read in key
 * order after the checkpoint's key, locked until the chunk's new-store
 * transaction commits, inserted into new only where new lacks them (ON
 * CONFLICT DO NOTHING), the checkpoint updated in that same transaction. How a
 * chunk travels is the part tuned for speed (tests/bench/bench_backfill.c):
 *
 *  - Both stores on one PostgreSQL connection, and every column the table map
 *    fills is a legacy column or a constant (no row filter, value map, format
 *    or JSON): the chunk never leaves the server. One statement per chunk,
 *        WITH c AS MATERIALIZED (SELECT ... FROM legacy WHERE key > $k
 *                                ORDER BY key LIMIT batch FOR SHARE),
 *             m AS (INSERT INTO new (...) SELECT $const, c.col, ... FROM c
 *                   ON CONFLICT (pk) DO NOTHING)
 *        SELECT last key, (SELECT count(*) FROM c) FROM c ORDER BY key DESC LIMIT 1
 *    then the checkpoint and the commit. Constants are bound parameters.
 *  - Otherwise each chunk's legacy rows are read (PostgreSQL: FOR SHARE;
 *    SQLite: inside BEGIN IMMEDIATE), mapped by ts_tmap_to_new, bulk-loaded
 *    into a temporary staging table of the new store's connection (COPY FROM
 *    STDIN on PostgreSQL, one prepared INSERT on SQLite: ts_bulk_begin_temp),
 *    moved with one INSERT INTO new SELECT ... FROM staging ON CONFLICT (pk) DO
 *    NOTHING, and the staging table emptied, all in the chunk's new-store
 *    transaction, so a failed chunk leaves nothing staged (PostgreSQL empties
 *    it at commit, ON COMMIT DELETE ROWS, which is cheaper than a TRUNCATE
 *    and its new file per chunk; SQLite runs DELETE).
 *    The staging table (the filled columns of new, their types, no
 *    constraints) is created once per table and run, and dropped at its end;
 *    being temporary, it also goes with the connection when a run is killed.
 *  - Self references: pass 1 nulls a reference above the row's own key (in
 *    SQL: CASE WHEN ref > key), which may not be in new yet; pass 2 reads,
 *    under the same lock discipline, exactly those legacy rows (reference above
 *    their own key) and sets them with ONE statement per chunk (UPDATE new AS t
 *    SET ref = s.ref FROM staging / the locked chunk WHERE t.key = s.key), not
 *    one UPDATE per row.
 *  - Separate stores: the legacy rows stream into the staging COPY as they are
 *    read, so the new server parses the chunk while the client still reads
 *    legacy. One shared connection cannot read and COPY at once: there the
 *    chunk is read into memory first.
 *  - The legacy chunk query is a keyset range on the primary key
 *    (WHERE key > $k ORDER BY key LIMIT batch): an index range scan that stops
 *    after batch rows, read row by row (PostgreSQL single-row mode).
 */
#include "ts_backfill.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ts_clock.h"
#include "ts_log.h"
#include "ts_mgate.h"
#include "ts_rowjson.h"
#include "ts_shim_int.h"
#include "ts_vec.h"

#define RETRIES 5
#define STAGE "ts_backfill_stage" /* the connection's temporary staging table */

volatile sig_atomic_t ts_backfill_stop;
void (*ts_backfill_hook)(const char *point, const char *table);
ts_backfill_fk ts_backfill_fk_checks = TS_BACKFILL_FK_GATHERED;

/* One table map's copy. */
typedef struct bf {
    ts_mig *g;
    ts_mlock *lock;
    const ts_tmap *tm;
    const ts_table *lt, *nt;
    int fill[256], nfill;      /* new columns written, in order */
    const char *fill_names[256];
    int self_col;              /* new column of a self reference, -1 none */
    int self_from;             /* its legacy column */
    ts_buf sel, sel_after;     /* the legacy chunk query, first and after a key */
    ts_buf move;               /* staging -> new: the insert (pass 1) or the update (pass 2) */
    ts_buf fkcheck;            /* set-based foreign-key check of the staged chunk, "" none */
    ts_buf fkcheck_range;      /* the same over new's rows of a key range (copy_direct) */
    int nfk;                   /* foreign keys it checks (one result column each) */
    /* Keys of integer columns only: the chunk's referenced values are gathered
       here while it streams, and checked as arrays (fkcheck_arrays), so the
       server never scans the chunk's rows for them. */
    struct fkvals {
        int ncols, col[8];     /* the key's columns in new */
        int64_t *v;            /* n tuples of ncols values */
        size_t n, cap;
    } fkv[16];
    int nfkv;                  /* keys gathered; 0: the server-side checks run */
    ts_buf fkcheck_arrays;
    int copy_direct;           /* pass 1 may COPY straight into new (see copy_direct_possible) */
    ts_buf endq, endq_after;   /* legacy: the key batch rows on, from the start / after $1 */
    ts_buf range_used;         /* new: 1 when it holds a key of ($2, $3] of bot $1 */
    int direct;                /* one statement per chunk on the shared connection */
    ts_value params[16 + 256]; /* constants (direct), then the key to continue after */
    int nconst;
    char stage[TS_QNAME_MAX];  /* the staging table, quoted */
    int staged;                /* it exists */
    char last_key[4096];       /* ts_rowjson of the last legacy key done; "" none */
    int64_t done, total, run_rows;
    int64_t t0_ms;
    int tty;
    /* the chunk */
    ts_value **rows;           /* owned legacy rows */
    int nrows, cap;
} bf;

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void free_rows(bf *b)
{
    for (int i = 0; i < b->nrows; i++)
        ts_rowio_free(b->rows[i], b->lt->ncols);
    b->nrows = 0;
}

static const char *key_name(const bf *b, int k) { return b->lt->cols[b->tm->key[k]].name; }

/* ---- SQL ------------------------------------------------------------------------ */

/* The legacy chunk query: all columns, keyset after $1.. (after) or from the start,
   optionally only rows whose self reference points above their own key (pass 2). */
static int build_select(bf *b, ts_buf *out, int after, int pass2, ts_error *err)
{
    char qt[TS_QNAME_MAX];
    int pg = ts_store_engine(b->g->legacy) == TS_ENGINE_PG, nk = b->tm->nkey;
    if (ts_store_table(b->g->legacy, b->lt->name, qt, err))
        return -1;
    ts_buf_puts(out, "SELECT ");
    ts_rowio_columns(out, b->lt);
    ts_buf_printf(out, " FROM %s", qt);
    if (after) {
        ts_buf_puts(out, nk > 1 ? " WHERE (" : " WHERE ");
        for (int k = 0; k < nk; k++)
            ts_buf_printf(out, "%s\"%s\"", k ? ", " : "", key_name(b, k));
        ts_buf_puts(out, nk > 1 ? ") > (" : " > ");
        for (int k = 0; k < nk; k++)
            ts_buf_printf(out, "%s$%d", k ? ", " : "", b->nconst + k + 1);
        ts_buf_puts(out, nk > 1 ? ")" : "");
    }
    if (pass2)
        ts_buf_printf(out, "%s\"%s\" > \"%s\"", after ? " AND " : " WHERE ",
                      b->lt->cols[b->self_from].name, key_name(b, 0));
    ts_buf_puts(out, " ORDER BY ");
    for (int k = 0; k < nk; k++)
        ts_buf_printf(out, "%s\"%s\"", k ? ", " : "", key_name(b, k));
    ts_buf_printf(out, " LIMIT %d%s", b->g->o.batch, pg ? " FOR SHARE" : "");
    return out->oom ? ts_fail(err, TS_E_NOMEM, "out of memory") : 0;
}

/*
 * The statement that moves a staged chunk into new, into b->move. Pass 1 on
 * PostgreSQL: INSERT INTO new (cols) SELECT cols FROM stage s WHERE NOT EXISTS
 * (the row in new by key) -- ON CONFLICT DO NOTHING would say the same, but
 * its speculative insertion costs about half again per row (measured: 260 ms
 * against 171 ms for 50,000 transactions). The rows are the chunk's, locked in
 * legacy, so no dual-write can insert one of them meanwhile; should another
 * writer do it anyway, the insert fails with a unique violation instead of
 * skipping the row, and the chunk is retried (move_failed). On SQLite, whose
 * conflict clause costs nothing and whose write lock excludes other writers:
 * INSERT ... ON CONFLICT (pk) DO NOTHING. Pass 2: UPDATE new AS t SET ref =
 * s.ref FROM stage AS s WHERE t.key = s.key.
 */
static int build_move(bf *b, int pass2, ts_error *err)
{
    char qt[TS_QNAME_MAX];
    ts_buf_reset(&b->move);
    if (ts_store_table(b->g->nw, b->nt->name, qt, err))
        return -1;
    if (pass2) {
        ts_buf_printf(&b->move, "UPDATE %s AS t SET \"%s\" = s.\"%s\" FROM %s AS s WHERE ", qt,
                      b->nt->cols[b->self_col].name, b->nt->cols[b->self_col].name, b->stage);
        for (int k = 0; k < b->tm->nnew_key; k++) {
            const char *c = b->nt->cols[b->tm->new_key[k]].name;
            ts_buf_printf(&b->move, "%st.\"%s\" = s.\"%s\"", k ? " AND " : "", c, c);
        }
    } else {
        ts_buf cols = {0};
        for (int i = 0; i < b->nfill; i++)
            ts_buf_printf(&cols, "%s\"%s\"", i ? ", " : "", b->fill_names[i]);
        ts_buf_printf(&b->move, "INSERT INTO %s (%s) SELECT %s FROM %s AS s WHERE ", qt, cols.s,
                      cols.s, b->stage);
        if (ts_store_engine(b->g->nw) == TS_ENGINE_PG) {
            char col[TS_IDENT_MAX + 1];
            const char *p = b->nt->pk;
            ts_buf_printf(&b->move, "NOT EXISTS (SELECT 1 FROM %s AS t WHERE ", qt);
            for (int k = 0; ts_schema_list_next(&p, col, sizeof col); k++)
                ts_buf_printf(&b->move, "%st.\"%s\" = s.\"%s\"", k ? " AND " : "", col, col);
            ts_buf_puts(&b->move, ")");
        } else {
            /* WHERE true: without it SQLite would read ON CONFLICT as a join's ON. */
            ts_buf_puts(&b->move, "true ON CONFLICT (");
            ts_schema_quote_list(&b->move, b->nt->pk);
            ts_buf_puts(&b->move, ") DO NOTHING");
        }
        if (cols.oom)
            b->move.oom = 1;
        ts_buf_free(&cols);
    }
    return b->move.oom ? ts_fail(err, TS_E_NOMEM, "out of memory") : 0;
}

/* The staging table: the filled columns of new, their types, no constraints.
   In a temporary table of the new store's connection, so it is private to
   this run and goes with it, however the run ends. */
static int stage_ddl(bf *b, ts_buf *out, ts_error *err)
{
    char qt[TS_QNAME_MAX];
    if (ts_store_table(b->g->nw, b->nt->name, qt, err))
        return -1;
    ts_buf_printf(out, "CREATE TEMP TABLE %s%s AS SELECT ", b->stage,
                  ts_store_engine(b->g->nw) == TS_ENGINE_PG ? " ON COMMIT DELETE ROWS" : "");
    for (int i = 0; i < b->nfill; i++)
        ts_buf_printf(out, "%s\"%s\"", i ? ", " : "", b->fill_names[i]);
    ts_buf_printf(out, " FROM %s WHERE false", qt);
    return out->oom ? ts_fail(err, TS_E_NOMEM, "out of memory") : 0;
}

static int stage_create(bf *b, ts_error *err)
{
    char sql[TS_QNAME_MAX + 32];
    ts_buf ddl = {0};
    int rc = stage_ddl(b, &ddl, err);
    snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS %s", b->stage);
    if (rc == 0 && (ts_store_exec(b->g->nw, sql, NULL, 0, NULL, err) ||
                    ts_store_exec(b->g->nw, ddl.s, NULL, 0, NULL, err)))
        rc = -1;
    ts_buf_free(&ddl);
    b->staged = rc == 0;
    return rc;
}

/* Best effort: a temporary table also goes with the connection. */
static void stage_drop(bf *b)
{
    char sql[TS_QNAME_MAX + 32];
    ts_error ignored;
    if (!b->staged)
        return;
    snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS %s", b->stage);
    ts_store_exec(b->g->nw, sql, NULL, 0, NULL, &ignored);
    b->staged = 0;
}

/* ---- set-based foreign-key checks (PostgreSQL staging) ------------------------------- */

static int staged_col(const bf *b, const char *name)
{
    for (int i = 0; i < b->nfill; i++)
        if (strcmp(b->fill_names[i], name) == 0)
            return 1;
    return 0;
}

/*
 * One statement checking every foreign key of the new table over the chunk:
 * per key, d<n> = the distinct non-null values the chunk's rows refer to
 * (MATCH SIMPLE: a NULL column means no reference), l<n> = the referenced rows
 * found, each by an index probe and locked FOR KEY SHARE as the per-row check
 * locks it; each result column is d<n> - l<n>, the values with nothing to
 * refer to. The values come from source (the staging table, or new's rows of
 * the chunk's key range) or, with source NULL, from the client, which
 * gathers them while the chunk streams (b->fkv) and binds one bigint array per
 * column, zipped by unnest, so the server never rescans the chunk. Returns 1
 * when a key cannot be checked that way (a column the mapping leaves to its
 * default; gathered, a column that is not an integer).
 */
static int build_fkcheck(bf *b, ts_buf *o, const char *source, ts_error *err)
{
    const ts_schema *sc = ts_manifest_new_schema(b->g->m);
    char qt[TS_QNAME_MAX];
    int param = 0;
    ts_buf_reset(o);
    if (b->nt->nfks > 16)
        return 1;
    for (int f = 0; f < b->nt->nfks; f++) {
        const ts_fk *fk = &b->nt->fks[f];
        const ts_table *rt = ts_schema_table(sc, fk->table);
        int cols[8], refs[8], n;
        if (rt == NULL || ts_schema_fk_columns(b->nt, fk, rt, cols, refs, 8, &n))
            return 1;
        for (int k = 0; k < n; k++)
            if (!staged_col(b, b->nt->cols[cols[k]].name) ||
                (source == NULL && b->nt->cols[cols[k]].type != TS_COL_ID &&
                 b->nt->cols[cols[k]].type != TS_COL_INT))
                return 1;
        if (ts_store_table(b->g->nw, fk->table, qt, err))
            return -1;
        ts_buf_printf(o, "%sd%d AS (SELECT ", f ? ", " : "WITH ", f);
        if (source != NULL) {
            ts_buf_puts(o, "DISTINCT ");
            for (int k = 0; k < n; k++)
                ts_buf_printf(o, "%s\"%s\"", k ? ", " : "", b->nt->cols[cols[k]].name);
            ts_buf_printf(o, " FROM %s WHERE ", source);
            for (int k = 0; k < n; k++)
                ts_buf_printf(o, "%s\"%s\" IS NOT NULL", k ? " AND " : "",
                              b->nt->cols[cols[k]].name);
        } else {
            b->fkv[f].ncols = n;
            memcpy(b->fkv[f].col, cols, sizeof cols);
            ts_buf_puts(o, "* FROM unnest(");
            for (int k = 0; k < n; k++)
                ts_buf_printf(o, "%s$%d::bigint[]", k ? ", " : "", ++param);
            ts_buf_puts(o, ") AS d(");
            for (int k = 0; k < n; k++)
                ts_buf_printf(o, "%s\"%s\"", k ? ", " : "", b->nt->cols[cols[k]].name);
            ts_buf_puts(o, ")");
        }
        /* LATERAL: one index probe per value, never a scan of the referenced table. */
        ts_buf_printf(o, "), l%d AS (SELECT 1 FROM d%d CROSS JOIN LATERAL (SELECT 1 FROM %s p "
                      "WHERE ", f, f, qt);
        for (int k = 0; k < n; k++)
            ts_buf_printf(o, "%sp.\"%s\" = d%d.\"%s\"", k ? " AND " : "", rt->cols[refs[k]].name,
                          f, b->nt->cols[cols[k]].name);
        ts_buf_puts(o, " FOR KEY SHARE) x)");
    }
    for (int f = 0; f < b->nt->nfks; f++)
        ts_buf_printf(o, "%s(SELECT count(*) FROM d%d) - (SELECT count(*) FROM l%d)",
                      f ? ", " : " SELECT ", f, f);
    return o->oom ? ts_fail(err, TS_E_NOMEM, "out of memory") : 0;
}

/*
 * Can this run's chunk transactions switch off the per-row RI triggers? Asked
 * once per table, in a transaction of its own that is rolled back.
 */
static int replica_allowed(bf *b)
{
    ts_store *nw = b->g->nw;
    ts_error e;
    if (ts_backfill_fk_checks == TS_BACKFILL_FK_PER_ROW || ts_store_in_txn(nw) ||
        ts_store_begin(nw, &e))
        return 0;
    int ok = ts_store_exec(nw, "SET LOCAL session_replication_role = replica", NULL, 0, NULL,
                           &e) == 0;
    ts_store_rollback(nw, NULL);
    if (!ok)
        ts_log(TS_LOG_INFO, "backfill_fk_checks", "table=%s mode=per_row note=\"set-based "
               "checks need a superuser or GRANT SET ON PARAMETER session_replication_role\" "
               "error=\"%s\"", b->nt->name, e.msg);
    return ok;
}

/* Run the check of the staged chunk; a value with nothing to refer to fails it. */
static int check_fks(bf *b, const char *sql, const ts_value *p, int np, ts_error *err)
{
    ts_rows *r;
    int rc;
    if (ts_store_query(b->g->nw, sql, p, np, &r, err))
        return -1;
    if ((rc = ts_rows_next(r, err)) == 1)
        for (int f = 0; f < b->nfk && rc == 1; f++) {
            int64_t missing = ts_rows_get(r, f).i;
            if (missing > 0) {
                const ts_fk *fk = &b->nt->fks[f];
                rc = ts_fail(err, TS_E_CONSTRAINT,
                             "%lld distinct value(s) of %s (%s) in the chunk ending at key %s "
                             "have no row in %s (%s): backfill the increment that owns %s "
                             "first, or fix the legacy rows that point nowhere",
                             (long long)missing, b->nt->name, fk->cols, b->last_key, fk->table,
                             fk->ref_cols, fk->table);
            }
        }
    ts_rows_close(r);
    return rc < 0 ? -1 : 0;
}

/* Gather the values a row of the chunk (new shape) refers to. */
static int gather_fks(bf *b, const ts_value *nrow, ts_error *err)
{
    for (int f = 0; f < b->nfkv; f++) {
        struct fkvals *fv = &b->fkv[f];
        int null = 0;
        for (int k = 0; k < fv->ncols; k++)
            null |= nrow[fv->col[k]].type == TS_NULL;
        if (null) /* MATCH SIMPLE: refers to nothing */
            continue;
        if (fv->n == fv->cap) {
            size_t cap = fv->cap ? 2 * fv->cap : 1024;
            int64_t *v = realloc(fv->v, cap * (size_t)fv->ncols * sizeof *v);
            if (v == NULL)
                return ts_fail(err, TS_E_NOMEM, "out of memory gathering foreign keys");
            fv->v = v;
            fv->cap = cap;
        }
        for (int k = 0; k < fv->ncols; k++)
            fv->v[fv->n * (size_t)fv->ncols + (size_t)k] = nrow[fv->col[k]].i;
        fv->n++;
    }
    return 0;
}

static int cmp_tuple(const void *a, const void *b, void *width)
{
    const int64_t *x = a, *y = b;
    for (int k = 0; k < *(int *)width; k++)
        if (x[k] != y[k])
            return x[k] < y[k] ? -1 : 1;
    return 0;
}

/* Check the gathered values: each key's distinct tuples, as arrays. */
static int check_fk_arrays(bf *b, ts_error *err)
{
    ts_buf text[128];
    ts_value p[128];
    int np = 0, rc;
    for (int f = 0; f < b->nfkv; f++) {
        struct fkvals *fv = &b->fkv[f];
        size_t w = (size_t)fv->ncols, n = 0;
        qsort_r(fv->v, fv->n, w * sizeof *fv->v, cmp_tuple, &fv->ncols);
        for (size_t i = 0; i < fv->n; i++) /* distinct, in place */
            if (n == 0 || cmp_tuple(fv->v + (n - 1) * w, fv->v + i * w, &fv->ncols) != 0)
                memmove(fv->v + n++ * w, fv->v + i * w, w * sizeof *fv->v);
        for (int k = 0; k < fv->ncols; k++, np++) {
            memset(&text[np], 0, sizeof text[np]);
            ts_buf_puts(&text[np], "{");
            for (size_t i = 0; i < n; i++)
                ts_buf_printf(&text[np], "%s%lld", i ? "," : "", (long long)fv->v[i * w + (size_t)k]);
            ts_buf_puts(&text[np], "}");
            p[np] = ts_text(text[np].s);
        }
        fv->n = 0;
    }
    int oom = 0;
    for (int i = 0; i < np; i++)
        oom |= text[i].oom;
    rc = oom ? ts_fail(err, TS_E_NOMEM, "out of memory checking foreign keys")
             : check_fks(b, b->fkcheck_arrays.s, p, np, err);
    for (int i = 0; i < np; i++)
        ts_buf_free(&text[i]);
    return rc;
}

/* The set-based checks this table can have: b->nfk keys server-side over the
   staging table, and b->nfkv of them gathered by the client. */
static int set_based_fks(bf *b, ts_error *err)
{
    int rc = build_fkcheck(b, &b->fkcheck, b->stage, err);
    if (rc < 0)
        return -1;
    b->nfk = rc == 0 ? b->nt->nfks : 0;
    if (b->nfk == 0 || ts_backfill_fk_checks != TS_BACKFILL_FK_GATHERED)
        return 0;
    if ((rc = build_fkcheck(b, &b->fkcheck_arrays, NULL, err)) < 0)
        return -1;
    b->nfkv = rc == 0 ? b->nfk : 0;
    return 0;
}

/* ---- COPY straight into new (separate stores, PostgreSQL) ------------------------------ */

/*
 * A chunk whose key range new holds none of can be COPYed into the table
 * itself: nothing to skip, so no staging table and no INSERT ... SELECT (the
 * server's work on the chunk about halves). That takes a key new can be
 * asked about by range: one integer legacy key, copied into new's primary key
 * after the bot_id constant.
 */
static int copy_direct_possible(const bf *b)
{
    const ts_tmap *tm = b->tm;
    int pk[8], npk;
    return !b->direct && !b->g->shared && ts_store_engine(b->g->nw) == TS_ENGINE_PG &&
           tm->nkey == 1 && b->lt->cols[tm->key[0]].type == TS_COL_ID && tm->nnew_key == 2 &&
           tm->rules[tm->new_key[0]].src == TS_SRC_CONST &&
           tm->rules[tm->new_key[0]].value.type == TS_INT &&
           tm->rules[tm->new_key[1]].src == TS_SRC_COPY &&
           tm->rules[tm->new_key[1]].from == tm->key[0] && ts_rowio_pk(b->nt, pk, &npk) == 0 &&
           npk == 2 && pk[0] == tm->new_key[0] && pk[1] == tm->new_key[1];
}

/* The statements of the copy-direct path: the chunk's end key in legacy, whether
   new holds a key of the range, and the foreign-key check over that range. */
static int build_copy_direct(bf *b, ts_error *err)
{
    char lq[TS_QNAME_MAX], nq[TS_QNAME_MAX];
    const char *key = key_name(b, 0), *bot = b->nt->cols[b->tm->new_key[0]].name,
               *id = b->nt->cols[b->tm->new_key[1]].name;
    ts_buf range = {0};
    if (ts_store_table(b->g->legacy, b->lt->name, lq, err) ||
        ts_store_table(b->g->nw, b->nt->name, nq, err))
        return -1;
    ts_buf_printf(&b->endq, "SELECT \"%s\" FROM %s ORDER BY \"%s\" LIMIT 1 OFFSET %d", key, lq,
                  key, b->g->o.batch - 1);
    ts_buf_printf(&b->endq_after, "SELECT \"%s\" FROM %s WHERE \"%s\" > $1 ORDER BY \"%s\" "
                  "LIMIT 1 OFFSET %d", key, lq, key, key, b->g->o.batch - 1);
    ts_buf_printf(&range, "(SELECT * FROM %s WHERE \"%s\" = $1 AND \"%s\" > $2 AND \"%s\" <= $3) "
                  "AS r", nq, bot, id, id);
    ts_buf_printf(&b->range_used, "SELECT count(*) FROM (SELECT 1 FROM %s LIMIT 1) AS x",
                  range.s ? range.s : "");
    int rc = range.oom ? ts_fail(err, TS_E_NOMEM, "out of memory") : 0;
    if (rc == 0 && b->nfk && build_fkcheck(b, &b->fkcheck_range, range.s, err) < 0)
        rc = -1;
    ts_buf_free(&range);
    return rc == 0 && (b->endq.oom || b->endq_after.oom || b->range_used.oom)
               ? ts_fail(err, TS_E_NOMEM, "out of memory") : rc;
}

/*
 * Pass 1 of a copy-direct table: the chunk's key range (after, end], end being
 * the key batch rows on (or the largest key when fewer remain); *direct = 1
 * when new holds none of it. p gets the range check's parameters, which the
 * foreign-key check takes too.
 */
static int copy_direct_range(bf *b, ts_value p[3], int *direct, ts_error *err)
{
    ts_buf ktext = {0};
    ts_value after = ts_int(INT64_MIN);
    int64_t end = INT64_MAX, used = 1;
    int rc = 0;
    *direct = 0;
    if (b->last_key[0] && ts_rowjson_decode(b->last_key, &after, 1, &ktext, err))
        rc = -1;
    if (rc == 0) {
        int got = b->last_key[0] ? ts_store_query_int(b->g->legacy, b->endq_after.s, &after, 1,
                                                      &end, err)
                                 : ts_store_query_int(b->g->legacy, b->endq.s, NULL, 0, &end, err);
        if (got < 0)
            rc = -1;
        else if (got == 0)
            end = INT64_MAX;
    }
    p[0] = b->tm->rules[b->tm->new_key[0]].value;
    p[1] = ts_int(after.i);
    p[2] = ts_int(end);
    if (rc == 0 && ts_store_query_int(b->g->nw, b->range_used.s, p, 3, &used, err) < 0)
        rc = -1;
    ts_buf_free(&ktext);
    *direct = rc == 0 && used == 0;
    return rc;
}

/* ---- one statement per chunk (same PostgreSQL connection) ----------------------------- */

/* When both stores share a PostgreSQL connection and every filled column is a
   legacy column or a constant (no row filter, value map, format or JSON, whose
   SQL would be a second implementation of the manifest), the chunk never
   leaves the server. */
static int direct_possible(const bf *b)
{
    if (!b->g->shared || ts_store_engine(b->g->nw) != TS_ENGINE_PG || b->tm->where_col >= 0)
        return 0;
    for (int i = 0; i < b->nfill; i++) {
        ts_colsrc src = b->tm->rules[b->fill[i]].src;
        if (src != TS_SRC_COPY && src != TS_SRC_CONST)
            return 0;
    }
    return 1;
}

/* New column col as SQL over the locked chunk c: the legacy column or the
   constant's parameter (the constants are $1..$nconst, in fill order). */
static void direct_expr(bf *b, ts_buf *out, int col, int pass1)
{
    const ts_colrule *r = &b->tm->rules[col];
    const char *from = r->src == TS_SRC_COPY ? b->lt->cols[r->from].name : NULL;
    if (from == NULL) {
        int k = 0;
        while (b->fill[k] != col)
            k++;
        int param = 1;
        for (int i = 0; i < k; i++)
            param += b->tm->rules[b->fill[i]].src == TS_SRC_CONST;
        ts_buf_printf(out, "$%d", param);
    } else if (pass1 && col == b->self_col) {
        /* A reference above the row's own key may not be in new yet (pass 2 sets it). */
        ts_buf_printf(out, "CASE WHEN c.\"%s\" > c.\"%s\" THEN NULL ELSE c.\"%s\" END", from,
                      key_name(b, 0), from);
    } else {
        ts_buf_printf(out, "c.\"%s\"", from);
    }
}

/* WITH c AS MATERIALIZED (the locked legacy chunk), m AS (its move into new)
   SELECT the chunk's last key and its row count. */
static int build_direct(bf *b, ts_buf *out, int after, int pass2, ts_error *err)
{
    char qt[TS_QNAME_MAX];
    ts_buf sel = {0};
    int nk = b->tm->nkey;
    if (build_select(b, &sel, after, pass2, err) || ts_store_table(b->g->nw, b->nt->name, qt, err)) {
        ts_buf_free(&sel);
        return -1;
    }
    ts_buf_printf(out, "WITH c AS MATERIALIZED (%s), m AS (", sel.s);
    ts_buf_free(&sel);
    if (pass2) {
        ts_buf_printf(out, "UPDATE %s AS t SET \"%s\" = c.\"%s\" FROM c WHERE ", qt,
                      b->nt->cols[b->self_col].name, b->lt->cols[b->self_from].name);
        for (int k = 0; k < b->tm->nnew_key; k++) {
            ts_buf_printf(out, "%st.\"%s\" = ", k ? " AND " : "",
                          b->nt->cols[b->tm->new_key[k]].name);
            direct_expr(b, out, b->tm->new_key[k], 0);
        }
    } else {
        ts_buf_printf(out, "INSERT INTO %s (", qt);
        for (int i = 0; i < b->nfill; i++)
            ts_buf_printf(out, "%s\"%s\"", i ? ", " : "", b->fill_names[i]);
        ts_buf_puts(out, ") SELECT ");
        for (int i = 0; i < b->nfill; i++) {
            ts_buf_puts(out, i ? ", " : "");
            direct_expr(b, out, b->fill[i], 1);
        }
        ts_buf_puts(out, " FROM c ON CONFLICT (");
        ts_schema_quote_list(out, b->nt->pk);
        ts_buf_puts(out, ") DO NOTHING");
    }
    ts_buf_puts(out, ") SELECT ");
    for (int k = 0; k < nk; k++)
        ts_buf_printf(out, "\"%s\", ", key_name(b, k));
    ts_buf_puts(out, "(SELECT count(*) FROM c) FROM c ORDER BY ");
    for (int k = 0; k < nk; k++)
        ts_buf_printf(out, "%s\"%s\" DESC", k ? ", " : "", key_name(b, k));
    ts_buf_puts(out, " LIMIT 1");
    return out->oom ? ts_fail(err, TS_E_NOMEM, "out of memory") : 0;
}

/* The chunk queries of a pass: plain selects, or the direct statements. */
static int build_pass(bf *b, int pass2, ts_error *err)
{
    ts_buf_reset(&b->sel);
    ts_buf_reset(&b->sel_after);
    if (b->direct)
        return build_direct(b, &b->sel, 0, pass2, err) || build_direct(b, &b->sel_after, 1, pass2, err);
    return build_select(b, &b->sel, 0, pass2, err) || build_select(b, &b->sel_after, 1, pass2, err) ||
           build_move(b, pass2, err);
}

/* ---- the checkpoint ---------------------------------------------------------------- */

static int load_checkpoint(bf *b, int *finished, ts_error *err)
{
    char qt[TS_QNAME_MAX], lq[TS_QNAME_MAX], sql[2 * TS_QNAME_MAX + 256], now[TS_TIME_MAX];
    ts_value p[4] = {ts_text(b->tm->inc->id), ts_text(b->nt->name)};
    ts_rows *r;
    *finished = 0;
    b->last_key[0] = '\0';
    if (ts_store_table(b->g->nw, "ts_backfill", qt, err))
        return -1;
    snprintf(sql, sizeof sql, "SELECT last_key, rows_done, rows_total, finished_at FROM %s "
             "WHERE increment_id = $1 AND table_name = $2", qt);
    if (ts_store_query(b->g->nw, sql, p, 2, &r, err))
        return -1;
    int rc = ts_rows_next(r, err);
    if (rc == 1) {
        ts_value k = ts_rows_get(r, 0);
        if (k.type != TS_NULL)
            snprintf(b->last_key, sizeof b->last_key, "%.*s", (int)k.len, k.s);
        b->done = ts_rows_get(r, 1).i;
        b->total = ts_rows_get(r, 2).i;
        *finished = ts_rows_get(r, 3).type != TS_NULL;
    }
    ts_rows_close(r);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    /* First run: the total is the legacy row count now (progress only). */
    if (ts_store_table(b->g->legacy, b->lt->name, lq, err))
        return -1;
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", lq);
    if (ts_store_query_int(b->g->legacy, sql, NULL, 0, &b->total, err) < 0)
        return -1;
    ts_time_now(now);
    p[2] = ts_int(b->total);
    p[3] = ts_text(now);
    snprintf(sql, sizeof sql, "INSERT INTO %s (increment_id, table_name, rows_done, rows_total, "
             "started_at, updated_at) VALUES ($1, $2, 0, $3, $4, $4)", qt);
    b->done = 0;
    return ts_mig_exec(b->g, b->g->nw, sql, p, 4, NULL, err);
}

static int save_checkpoint(bf *b, int64_t rows, int finished, ts_error *err)
{
    char qt[TS_QNAME_MAX], sql[TS_QNAME_MAX + 200], now[TS_TIME_MAX];
    ts_time_now(now);
    ts_value p[5] = {ts_text(b->last_key[0] ? b->last_key : NULL), ts_int(rows), ts_text(now),
                     ts_text(b->tm->inc->id), ts_text(b->nt->name)};
    if (ts_store_table(b->g->nw, "ts_backfill", qt, err))
        return -1;
    snprintf(sql, sizeof sql, "UPDATE %s SET last_key = $1, rows_done = rows_done + $2, "
             "updated_at = $3%s WHERE increment_id = $4 AND table_name = $5", qt,
             finished ? ", finished_at = $3" : "");
    return ts_store_exec(b->g->nw, sql, p, 5, NULL, err);
}

/* ---- one chunk ------------------------------------------------------------------------ */

/* The chunk's last legacy key, as the checkpoint keeps it. */
static void remember_key(bf *b, const ts_value *key)
{
    ts_buf j = {0};
    ts_rowjson_encode(&j, key, b->tm->nkey);
    snprintf(b->last_key, sizeof b->last_key, "%s", j.s ? j.s : "");
    ts_buf_free(&j);
}

/* Start the pass's chunk query on legacy, after the checkpoint's key. */
static int chunk_query(bf *b, ts_rows **r, ts_buf *ktext, ts_error *err)
{
    int after = b->last_key[0] != '\0', nk = b->tm->nkey;
    if (after && ts_rowjson_decode(b->last_key, b->params + b->nconst, nk, ktext, err))
        return -1;
    return ts_store_query(b->g->legacy, after ? b->sel_after.s : b->sel.s, b->params,
                          b->nconst + (after ? nk : 0), r, err);
}

/* Direct: the chunk's one statement has copied it; its one row says the last
   key and how many rows. *got: legacy rows in the chunk. */
static int direct_chunk(bf *b, int *got, ts_error *err)
{
    ts_buf ktext = {0};
    ts_rows *r;
    ts_value row[17];
    int rc, nk = b->tm->nkey;
    *got = 0;
    if (chunk_query(b, &r, &ktext, err)) {
        ts_buf_free(&ktext);
        return -1;
    }
    while ((rc = ts_rows_next(r, err)) == 1) {
        for (int c = 0; c <= nk; c++)
            row[c] = ts_rows_get(r, c);
        remember_key(b, row);
        *got = (int)row[nk].i;
    }
    ts_rows_close(r);
    ts_buf_free(&ktext);
    return rc < 0 ? -1 : 0;
}

/* Read the rest of r into b->rows (owned copies) and close it. */
static int buffer_rows(bf *b, ts_rows *r, ts_error *err)
{
    ts_value row[256];
    int rc;
    while ((rc = ts_rows_next(r, err)) == 1) {
        for (int c = 0; c < b->lt->ncols; c++)
            row[c] = ts_rows_get(r, c);
        if (ts_vec_reserve((void **)&b->rows, &b->cap, b->nrows + 1, sizeof *b->rows)) {
            rc = ts_fail(err, TS_E_NOMEM, "out of memory reading a chunk of %s", b->lt->name);
            break;
        }
        if ((b->rows[b->nrows] = ts_rowio_copy(row, b->lt->ncols)) == NULL) {
            rc = ts_fail(err, TS_E_NOMEM, "out of memory reading a chunk of %s", b->lt->name);
            break;
        }
        b->nrows++;
    }
    ts_rows_close(r);
    return rc < 0 ? -1 : 0;
}

/* A row of the chunk inserted into new meanwhile (a unique violation of the
   insert or COPY) makes the chunk retryable: the next attempt skips it. */
static int retry_on_conflict(ts_error *err)
{
    if (strcmp(err->sqlstate, "23505") == 0) {
        err->code = TS_E_BUSY;
        ts_error_context(err, "a row of this chunk reached new while it was copied (or a unique "
                         "key of new refuses a legacy row): retrying the chunk");
    }
    return -1;
}

/* Make the key values kv (a row's, gone at the next row) own their bytes, in
   keep, reused row after row: no allocation per row once it is big enough. */
static int keep_key(ts_value *kv, int nk, ts_buf *keep)
{
    size_t off[16];
    ts_buf_reset(keep);
    for (int k = 0; k < nk; k++) {
        off[k] = keep->len;
        if (kv[k].s != NULL) {
            ts_buf_add(keep, kv[k].s, kv[k].len);
            ts_buf_add(keep, "", 1); /* text stays NUL-terminated */
        }
    }
    for (int k = 0; k < nk && !keep->oom; k++)
        if (kv[k].s != NULL)
            kv[k].s = keep->s + off[k];
    return keep->oom ? -1 : 0;
}

/* Map one legacy row into the load (begun at the first row): the staging
   table, or with into_table new's table itself. */
static int stage_row(bf *b, const ts_value *row, int pass2, int into_table, ts_bulk **bulk,
                     ts_buf *text, ts_error *err)
{
    ts_value nrow[256], vals[256];
    if (!ts_tmap_accepts(b->tm, row))
        return 0;
    if (*bulk == NULL &&
        (into_table ? ts_bulk_begin(b->g->nw, b->nt->name, b->fill_names, b->nfill, bulk, err)
                    : ts_bulk_begin_temp(b->g->nw, STAGE, b->fill_names, b->nfill, bulk, err)))
        return -1;
    if (ts_tmap_to_new(b->tm, row, nrow, text, err)) {
        /* Name the row, so the operator can find and fix it in legacy. */
        ts_buf key = {0};
        for (int k = 0; k < b->tm->nkey; k++) {
            char v[96];
            const ts_value *kv = &row[b->tm->key[k]];
            ts_buf_printf(&key, "%s%s=%s", k ? ", " : "", b->lt->cols[b->tm->key[k]].name,
                          ts_value_format(kv, v, sizeof v));
        }
        ts_error_context(err, "legacy row of %s with %s", b->lt->name, key.oom ? "?" : key.s);
        ts_buf_free(&key);
        return -1;
    }
    /* Pass 1: a reference above the row's own key may not be in new yet (pass 2 sets it). */
    if (!pass2 && b->self_col >= 0 && nrow[b->self_col].type == TS_INT &&
        nrow[b->self_col].i > row[b->tm->key[0]].i)
        nrow[b->self_col] = ts_null();
    for (int c = 0; c < b->nfill; c++)
        vals[c] = nrow[b->fill[c]];
    return (b->nfkv && gather_fks(b, nrow, err)) ? -1 : ts_bulk_add(*bulk, vals, err);
}

/*
 * The staged chunk: legacy rows read (and locked) after the checkpoint's key,
 * mapped into the staging table (COPY on PostgreSQL, one prepared INSERT on
 * SQLite), moved into new with one statement, foreign keys checked where they
 * are checked per chunk, the staging table emptied -- all in the chunk's
 * new-store transaction. *got: legacy rows read.
 */
static int stage_chunk(bf *b, int pass2, int *got, ts_error *err)
{
    ts_buf ktext = {0}, text = {0};
    ts_bulk *bulk = NULL;
    ts_rows *r = NULL;
    ts_buf keep = {0};
    ts_value row[256], last[16], range[3];
    int nk = b->tm->nkey, rc = 0, i = 0, into_table = 0;
    *got = 0;
    for (int f = 0; f < b->nfkv; f++) /* a retried chunk gathers again */
        b->fkv[f].n = 0;
    /* Foreign keys per chunk: no per-row RI triggers until this transaction ends. */
    if ((b->nfk && ts_store_exec(b->g->nw, "SET LOCAL session_replication_role = replica", NULL,
                                 0, NULL, err)) ||
        (!pass2 && b->copy_direct && copy_direct_range(b, range, &into_table, err)) ||
        chunk_query(b, &r, &ktext, err) || (b->g->shared && buffer_rows(b, r, err))) {
        ts_buf_free(&ktext);
        return -1;
    }
    for (;;) {
        const ts_value *cur;
        if (b->g->shared) { /* buffered: the connection was needed for the COPY */
            if (i == b->nrows)
                break;
            cur = b->rows[i++];
        } else {
            if ((rc = ts_rows_next(r, err)) != 1)
                break;
            for (int c = 0; c < b->lt->ncols; c++)
                row[c] = ts_rows_get(r, c);
            cur = row;
        }
        (*got)++;
        for (int k = 0; k < nk; k++)
            last[k] = cur[b->tm->key[k]];
        if (keep_key(last, nk, &keep))
            rc = ts_fail(err, TS_E_NOMEM, "out of memory reading a chunk of %s", b->lt->name);
        if (rc < 0 || (rc = stage_row(b, cur, pass2, into_table, &bulk, &text, err)) < 0)
            break;
    }
    if (!b->g->shared)
        ts_rows_close(r);
    ts_buf_free(&ktext);
    ts_buf_free(&text);
    if (rc < 0) {
        if (bulk)
            ts_bulk_abort(bulk);
        ts_buf_free(&keep);
        return -1;
    }
    if (*got > 0)
        remember_key(b, last);
    ts_buf_free(&keep);
    if (ts_backfill_hook)
        ts_backfill_hook("chunk_read", b->nt->name);
    if (bulk == NULL)
        return 0;
    if (into_table)
        return ts_bulk_finish(bulk, err) ? retry_on_conflict(err)
               : b->nfkv ? check_fk_arrays(b, err)
               : b->nfk ? check_fks(b, b->fkcheck_range.s, range, 3, err) : 0;
    /* PostgreSQL empties the staging table at commit (ON COMMIT DELETE ROWS). */
    char clear[TS_QNAME_MAX + 16];
    snprintf(clear, sizeof clear, "DELETE FROM %s", b->stage);
    if (ts_bulk_finish(bulk, err))
        return -1;
    if (ts_store_exec(b->g->nw, b->move.s, NULL, 0, NULL, err))
        return retry_on_conflict(err);
    return (b->nfkv ? check_fk_arrays(b, err)
                    : b->nfk && check_fks(b, b->fkcheck.s, NULL, 0, err)) ||
           (ts_store_engine(b->g->nw) != TS_ENGINE_PG &&
            ts_store_exec(b->g->nw, clear, NULL, 0, NULL, err)) ? -1 : 0;
}

/* One chunk under the lock rule: read and lock legacy rows, write new, commit new,
   then release legacy. *got: rows read. */
static int chunk_once(bf *b, int pass2, int *got, ts_error *err)
{
    ts_mig *g = b->g;
    int rc = -1;
    char saved[sizeof b->last_key];
    memcpy(saved, b->last_key, sizeof saved);
    *got = 0;
    if (ts_store_begin(g->legacy, err))
        return -1;
    if (!g->shared && ts_store_begin(g->nw, err)) {
        ts_store_rollback(g->legacy, NULL);
        return -1;
    }
    /* In the chunk's new-store transaction, which holds it to the commit: a
       SQLite lease row cannot be taken meanwhile, a PostgreSQL session that
       loses its lock loses the transaction too. */
    if (ts_mlock_check(b->lock, err))
        goto out;
    /* A column the bot added to legacy since the last chunk would be missing
       from every row copied from now on: stop before this one. */
    if (ts_mig_recheck(g, err)) {
        ts_error_context(err, "backfill of %s stopped after %lld rows of %s (the checkpoint is "
                         "kept: resume once the manifest accounts for it)", b->tm->inc->id,
                         (long long)b->done, b->lt->name);
        goto out;
    }
    if (ts_backfill_hook)
        ts_backfill_hook("chunk_start", b->nt->name);
    if (b->direct) {
        if (direct_chunk(b, got, err))
            goto out;
        if (ts_backfill_hook)
            ts_backfill_hook("chunk_read", b->nt->name);
    } else if (stage_chunk(b, pass2, got, err)) {
        goto out;
    }
    if (!pass2 && save_checkpoint(b, *got, 0, err))
        goto out;
    /* New first: the legacy locks stay until the copy is durable. */
    if (!g->shared && ts_store_commit(g->nw, err))
        goto out;
    rc = ts_store_commit(g->legacy, err);
out:
    if (rc) {
        if (!g->shared)
            ts_store_rollback(g->nw, NULL);
        ts_store_rollback(g->legacy, NULL);
        memcpy(b->last_key, saved, sizeof saved);
        *got = 0;
    }
    free_rows(b);
    return rc;
}

static int chunk(bf *b, int pass2, int *got, ts_error *err)
{
    for (int attempt = 0;; attempt++) {
        if (chunk_once(b, pass2, got, err) == 0)
            return 0;
        if (!ts_error_retryable(err) || attempt + 1 >= RETRIES)
            return -1;
        ts_log(TS_LOG_WARN, "backfill_retry", "table=%s attempt=%d error=\"%s\"", b->nt->name,
               attempt + 1, err->msg);
        sleep_ms(200LL << attempt);
    }
}

/* ---- pacing and progress -------------------------------------------------------------- */

static void progress(bf *b, int final)
{
    double secs = (double)(ts_clock_ms() - b->t0_ms) / 1000.0;
    double rate = secs > 0 ? (double)b->run_rows / secs : 0;
    int64_t left = b->total > b->done ? b->total - b->done : 0;
    int64_t eta = rate > 0 ? (int64_t)((double)left / rate) : -1;
    if (b->tty) {
        int pct = b->total ? (int)(100 * (b->done < b->total ? b->done : b->total) / b->total) : 100;
        char bar[31];
        memset(bar, '#', (size_t)(pct * 30 / 100));
        memset(bar + pct * 30 / 100, '.', (size_t)(30 - pct * 30 / 100));
        bar[30] = '\0';
        fprintf(stderr, "\r%s %-22s [%s] %3d%% %lld/%lld %.0f rows/s ETA %llds   %s",
                b->tm->inc->id, b->nt->name, bar, pct, (long long)b->done, (long long)b->total,
                rate, (long long)(eta < 0 ? 0 : eta), final ? "\n" : "");
    } else {
        fprintf(stderr, "backfill increment=%s table=%s rows_done=%lld rows_total=%lld "
                "rate=%.0f eta_s=%lld%s\n", b->tm->inc->id, b->nt->name, (long long)b->done,
                (long long)b->total, rate, (long long)eta, final ? " finished=1" : "");
    }
    fflush(stderr);
}

/* Wait for the throttle file to go and the rate to allow the next chunk; 0 to go on. */
static int pace(bf *b, ts_error *err)
{
    struct stat st;
    int paused = 0;
    while (b->g->o.throttle_file && stat(b->g->o.throttle_file, &st) == 0 && !ts_backfill_stop) {
        if (!paused++)
            ts_log(TS_LOG_INFO, "backfill_paused", "throttle_file=%s note=\"remove it to resume\"",
                   b->g->o.throttle_file);
        if (ts_mlock_beat(b->lock, err))
            return -1;
        sleep_ms(250);
    }
    if (paused)
        ts_log(TS_LOG_INFO, "backfill_resumed", "table=%s", b->nt->name);
    if (b->g->o.max_rate > 0) {
        int64_t due = (int64_t)((double)b->run_rows * 1000.0 / b->g->o.max_rate);
        int64_t spent = ts_clock_ms() - b->t0_ms;
        if (due > spent)
            sleep_ms(due - spent);
    }
    if (ts_backfill_stop) {
        b->g->exit_hint = TS_EXIT_STOPPED;
        return ts_fail(err, TS_E_STATE, "stopped by a signal at %s of %s after %lld rows: run "
                       "'ts-migrate backfill %s' to resume from the checkpoint", b->nt->name,
                       b->tm->inc->id, (long long)b->done, b->tm->inc->id);
    }
    return ts_mlock_beat(b->lock, err);
}

/* ---- a table ---------------------------------------------------------------------- */

static int setup(bf *b, ts_error *err)
{
    const ts_tmap *tm = b->tm;
    b->self_col = b->self_from = -1;
    for (int c = 0; c < b->nt->ncols; c++)
        if (ts_tmap_fills(tm, c)) {
            b->fill_names[b->nfill] = b->nt->cols[c].name;
            b->fill[b->nfill++] = c;
        }
    for (int f = 0; f < b->lt->nfks; f++) {
        const ts_fk *fk = &b->lt->fks[f];
        /* Tables come after the tables they refer to, but for a cycle. */
        const ts_table *rt = ts_schema_table(ts_manifest_legacy_schema(b->g->m), fk->table);
        if (rt != NULL && rt > b->lt)
            return ts_fail(err, TS_E_INVALID, "tables %s and %s refer to each other, and the "
                           "backfill copies one table at a time, so it cannot carry a cycle of "
                           "references between tables: list one of them under \"ignored\" or "
                           "drop one reference of the cycle in the legacy store", b->lt->name,
                           rt->name);
        if (strcmp(fk->table, b->lt->name) != 0)
            continue;
        int from = ts_table_column_index(b->lt, fk->cols);
        if (from < 0 || tm->nkey != 1 || strcmp(fk->ref_cols, key_name(b, 0)) != 0 ||
            b->lt->cols[tm->key[0]].type != TS_COL_ID)
            return ts_fail(err, TS_E_INVALID, "table %s: only a one-column self reference to an "
                           "integer key can be backfilled", b->lt->name);
        for (int c = 0; c < b->nt->ncols; c++)
            if (tm->rules[c].src == TS_SRC_COPY && tm->rules[c].from == from) {
                b->self_col = c;
                b->self_from = from;
            }
    }
    if (tm->nkey > 16 || b->lt->ncols > 256 || b->nt->ncols > 256)
        return ts_fail(err, TS_E_INVALID, "table %s is too wide to backfill", b->lt->name);
    if (ts_store_temp_table(b->g->nw, STAGE, b->stage, err))
        return -1;
    if ((b->direct = direct_possible(b)))
        for (int i = 0; i < b->nfill; i++)
            if (tm->rules[b->fill[i]].src == TS_SRC_CONST)
                b->params[b->nconst++] = tm->rules[b->fill[i]].value;
    return 0;
}

static int backfill_table(ts_mig *g, ts_mlock *lock, const ts_tmap *tm, ts_error *err)
{
    bf b;
    int finished, got, rc = -1;
    memset(&b, 0, sizeof b);
    b.g = g;
    b.lock = lock;
    b.tm = tm;
    b.lt = tm->legacy;
    b.nt = tm->target;
    b.tty = isatty(2);
    if (setup(&b, err) || load_checkpoint(&b, &finished, err))
        goto out;
    if (finished) {
        ts_mig_step(g, "%s %s: already finished (%lld rows)", tm->inc->id, b.nt->name, (long long)b.done);
        rc = 0;
        goto out;
    }
    if (build_pass(&b, 0, err))
        goto out;
    /* Staged chunks on PostgreSQL: foreign keys checked per chunk where allowed. */
    if (!b.direct && ts_store_engine(g->nw) == TS_ENGINE_PG && replica_allowed(&b) &&
        set_based_fks(&b, err))
        goto out;
    if ((b.copy_direct = copy_direct_possible(&b)) && build_copy_direct(&b, err))
        goto out;
    if (g->o.dry_run) {
        ts_buf ddl = {0};
        ts_mig_step(g, "copy %s -> %s in chunks of %d after key %s (about %lld rows)", b.lt->name,
                    b.nt->name, g->o.batch, b.last_key[0] ? b.last_key : "(start)",
                    (long long)(b.total - b.done));
        rc = b.direct ? 0 : stage_ddl(&b, &ddl, err);
        if (rc == 0 && b.direct)
            fprintf(g->out, "  sql (per chunk, one transaction, legacy rows locked until its "
                    "commit): %s\n", b.sel_after.s);
        else if (rc == 0)
            fprintf(g->out, "  sql new (once): %s\n"
                    "  sql legacy (per chunk, locked until the new commit): %s\n"
                    "  new (per chunk): the mapped rows into %s (%s), then: %s; then emptied\n",
                    ddl.s, b.sel_after.s, b.stage,
                    ts_store_engine(g->nw) == TS_ENGINE_PG ? "COPY FROM STDIN" : "prepared INSERT",
                    b.move.s);
        if (rc == 0 && b.copy_direct)
            fprintf(g->out, "  new (per chunk whose key range new holds none of, instead): COPY "
                    "FROM STDIN into %s itself; the range's end: %s; new's keys in it: %s\n",
                    b.nt->name, b.endq_after.s, b.range_used.s);
        if (rc == 0 && b.nfk)
            fprintf(g->out, "  foreign keys (per chunk, with SET LOCAL session_replication_role = "
                    "replica; each column must be 0%s): %s\n",
                    b.nfkv ? "; $n: the chunk's distinct values, gathered as it streams" : "",
                    b.nfkv ? b.fkcheck_arrays.s : b.fkcheck.s);
        ts_buf_free(&ddl);
        goto out;
    }
    if (!b.direct && stage_create(&b, err))
        goto out;
    b.t0_ms = ts_clock_ms();
    do {
        if (pace(&b, err) || chunk(&b, 0, &got, err))
            goto out;
        b.done += got;
        b.run_rows += got;
        if (ts_backfill_hook)
            ts_backfill_hook("chunk_committed", b.nt->name);
        progress(&b, 0);
    } while (got == g->o.batch);

    char pass1_key[sizeof b.last_key];
    memcpy(pass1_key, b.last_key, sizeof pass1_key);
    if (b.self_col >= 0) {
        b.last_key[0] = '\0';
        if (build_pass(&b, 1, err))
            goto out;
        do {
            if (pace(&b, err) || chunk(&b, 1, &got, err))
                goto out;
        } while (got == g->o.batch);
    }
    memcpy(b.last_key, pass1_key, sizeof pass1_key);
    if (save_checkpoint(&b, 0, 1, err))
        goto out;
    progress(&b, 1);
    rc = 0;
out:
    stage_drop(&b);
    free_rows(&b);
    free(b.rows);
    ts_buf_free(&b.sel);
    ts_buf_free(&b.sel_after);
    ts_buf_free(&b.move);
    ts_buf_free(&b.fkcheck);
    ts_buf_free(&b.fkcheck_range);
    ts_buf_free(&b.fkcheck_arrays);
    for (int f = 0; f < 16; f++)
        free(b.fkv[f].v);
    ts_buf_free(&b.endq);
    ts_buf_free(&b.endq_after);
    ts_buf_free(&b.range_used);
    if (rc)
        ts_error_context(err, "backfill of %s -> %s", tm->legacy->name, tm->target->name);
    return rc;
}

/* ---- an increment ---------------------------------------------------------------------- */

int ts_backfill_run(ts_mig *g, ts_mlock *lock, const ts_increment *inc, ts_error *err)
{
    ts_inc_state *states;
    if (inc->kind != TS_INC_DATA)
        return ts_fail(err, TS_E_USAGE, "increment %s (%s) is a behaviour increment: it has no "
                       "data to backfill", inc->id, inc->name);
    if (ts_mig_states(g, &states, err))
        return -1;
    int rc = 0;
    for (int i = 0; rc == 0 && i < ts_manifest_count(g->m); i++) {
        const ts_inc_state *st = &states[i];
        if (st->inc == inc && st->stage != TS_STAGE_DUAL_WRITE)
            rc = ts_fail(err, TS_E_STATE, "refused: increment %s is at %s; backfill runs at "
                         "dual_write (every write reaches both stores): %s", inc->id,
                         ts_stage_name(st->stage), st->stage < TS_STAGE_DUAL_WRITE
                             ? "advance it first" : "its backfill is behind it already");
        /* Rows of a dependency must be in new before rows that reference them. */
        if (st->inc != inc && st->inc->kind == TS_INC_DATA &&
            ts_manifest_depends_on(g->m, inc, st->inc) && st->stage <= TS_STAGE_DUAL_WRITE) {
            int done;
            int64_t d, t;
            rc = ts_mgate_backfill_done(g, st->inc, &done, &d, &t, err);
            if (rc == 0 && !done)
                rc = ts_fail(err, TS_E_STATE, "refused: increment %s depends on %s, whose backfill "
                             "is not finished: run 'ts-migrate backfill %s' first", inc->id,
                             st->inc->id, st->inc->id);
        }
    }
    free(states);
    for (int i = 0; rc == 0 && i < inc->ntmaps; i++)
        rc = backfill_table(g, lock, &inc->tmaps[i], err);
    return rc;
}
