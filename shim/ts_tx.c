/*
 * ts_tx.c: units of work. Each operation names a new-schema table; the
 * increment that owns it decides, by its stage, which side answers reads,
 * which side is written first (the primary) and whether the other side follows
 * (the secondary). See ts_shim.h for the whole story.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_canon.h"
#include "ts_clock.h"
#include "ts_log.h"
#include "ts_rowjson.h"
#include "ts_shim_int.h"
#include "ts_vec.h"

#define MAX_ARGS 64

struct ts_result {
    const ts_table *t;
    ts_value **rows;
    int n, cap;
};

struct ts_tx {
    ts_shim *sh;
    ts_ctx ctx;
    int open_legacy, open_new;     /* a transaction is open on that side's connection */
    unsigned char *fenced;         /* per increment (state index): already fenced */
    unsigned char *written;        /* per new-schema table: written (shadow skips it) */
    struct entry_ref {             /* journal entries to finish after commit */
        int64_t id;
        ts_side side;              /* the store holding it (the primary) */
        int written;               /* the twin is already in: only settle the entry */
    } *entries;
    int nentries, capentries;
    ts_twins twins;                /* shared PostgreSQL: twin writes held until needed */
    ts_side twins_side;            /* the side they go to */
    ts_buf text, text2, sql;       /* scratch */
};

/* Everything an operation needs to know about its table. */
typedef struct route_info {
    const ts_table *nt;     /* the new table named by the caller */
    const ts_tmap *tm;      /* its legacy mapping, NULL for new-only tables */
    int table_index;        /* in the new schema */
    int si;                 /* state index of the owning increment */
    ts_route r;
} route_info;

/* ---- small helpers ------------------------------------------------------- */

static int col_index(const ts_table *t, const char *name, ts_error *err)
{
    int i = name ? ts_table_column_index(t, name) : -1;
    if (i < 0)
        return ts_fail(err, TS_E_INVALID, "table %s has no column '%.64s'", t->name,
                       name ? name : "(null)");
    return i;
}

static int side_open(ts_tx *tx, ts_side side, ts_error *err)
{
    ts_shim *sh = tx->sh;
    int *open = side == TS_SIDE_LEGACY ? &tx->open_legacy : &tx->open_new;
    if (*open)
        return 0;
    if (ts_store_begin(side == TS_SIDE_LEGACY ? sh->legacy : sh->nw, err))
        return -1;
    *open = 1;
    if (sh->shared)
        tx->open_legacy = tx->open_new = 1;
    return 0;
}

static ts_store *store_of(ts_tx *tx, ts_side side)
{
    return side == TS_SIDE_LEGACY ? tx->sh->legacy : tx->sh->nw;
}

static void count_access(ts_tx *tx, const route_info *ri, ts_side side, int write, int64_t n)
{
    ts_access *a = &tx->sh->access[ri->table_index];
    if (side == TS_SIDE_LEGACY)
        *(write ? &a->legacy_writes : &a->legacy_reads) += n;
    else
        *(write ? &a->new_writes : &a->new_reads) += n;
}

/* ---- routing ------------------------------------------------------------- */

static int resolve(ts_tx *tx, const char *table, int writing, route_info *ri, ts_error *err)
{
    ts_shim *sh = tx->sh;
    const ts_schema *sc = ts_manifest_new_schema(sh->m);
    memset(ri, 0, sizeof *ri);
    ri->nt = table ? ts_schema_table(sc, table) : NULL;
    if (ri->nt == NULL)
        return ts_fail(err, TS_E_INVALID, "unknown table '%.64s': name a table of the "
                       "multi-tenant schema", table ? table : "(null)");
    ri->table_index = (int)(ri->nt - sc->tables);
    const ts_increment *inc = ts_manifest_owner(sh->m, table);
    if (inc == NULL || (ri->si = ts_shim_state_index(sh, inc)) < 0)
        return ts_fail(err, TS_E_INVALID, "table %s belongs to no increment of the manifest", table);
    ts_stage st = sh->states[ri->si].stage;
    ri->tm = ts_manifest_tmap_for_new(sh->m, table);
    if (ri->tm == NULL) {
        if (st == TS_STAGE_LEGACY)
            return ts_fail(err, TS_E_STATE, "table %s is created by increment %s, which is still at "
                           "legacy: advance it to expanded first", table, inc->id);
        ri->r = (ts_route){TS_SIDE_NEW, TS_SIDE_NONE, TS_SIDE_NEW, 0, 0};
    } else {
        ri->r = ts_stage_route(st, ts_shim_kill_active(sh));
    }
    if (ri->nt->tenant && !tx->ctx.is_master) {
        /* Tenant bots' rows live only in the new store. */
        if (ri->r.primary == TS_SIDE_LEGACY || ri->r.read == TS_SIDE_LEGACY)
            return ts_fail(err, TS_E_STATE,
                           "bot %lld is not the master bot, and increment %s is at %s, where "
                           "legacy still %s table %s, which holds no other bot: advance the "
                           "increment to read_new first",
                           (long long)tx->ctx.bot_id, inc->id, ts_stage_name(st),
                           writing ? "takes the writes of" : "answers the reads of", table);
        if (ri->r.secondary == TS_SIDE_LEGACY)
            ri->r.secondary = TS_SIDE_NONE;
        ri->r.change_journal = 0;
        ri->r.shadow = 0;
    }
    return 0;
}

/*
 * Check, inside the transaction, that the increment still has the version the
 * process routed with; PostgreSQL holds a share lock on its row until commit,
 * so a stage change waits for this write. With the kill switch on the control
 * store may be down: fencing is off, and the route is legacy-first anyway.
 */
static int fence(ts_tx *tx, const route_info *ri, ts_error *err)
{
    ts_shim *sh = tx->sh;
    int64_t v;
    if (tx->fenced[ri->si] || ts_shim_kill_active(sh))
        return 0;
    if (side_open(tx, TS_SIDE_NEW, err) ||
        ts_control_version(sh->nw, sh->states[ri->si].inc->id, 1, &v, err))
        return -1;
    if (v != sh->states[ri->si].version) {
        int64_t had = sh->states[ri->si].version;
        ts_error ignore;
        ts_shim_refresh(sh, &ignore);
        return ts_fail(err, TS_E_STALE,
                       "increment %s moved from version %lld to %lld while this unit of work was "
                       "routed: roll back and run it again (it will take the new route)",
                       sh->states[ri->si].inc->id, (long long)had, (long long)v);
    }
    tx->fenced[ri->si] = 1;
    return 0;
}

/* ---- units of work -------------------------------------------------------- */

int ts_shim_begin(ts_shim *sh, const ts_ctx *ctx, ts_tx **out, ts_error *err)
{
    *out = NULL;
    if (sh->in_tx)
        return ts_fail(err, TS_E_STATE, "a unit of work is already open on this shim: "
                       "commit or roll it back first (one shim per thread)");
    if (ctx == NULL || ctx->bot_id <= 0)
        return ts_fail(err, TS_E_INVALID, "no bot context: every unit of work names its bot");
    if (ctx->is_master != (ctx->bot_id == sh->master_bot_id))
        return ts_fail(err, TS_E_INVALID, "bot %lld %s the master bot (%lld): fix the context",
                       (long long)ctx->bot_id, ctx->is_master ? "is marked master but is not" : "is",
                       (long long)sh->master_bot_id);
    if (ts_shim_refresh_due(sh, ts_clock_ms())) {
        ts_error e;
        if (ts_shim_refresh(sh, &e)) /* keep the cached stages; fencing still guards writes */
            ts_log(TS_LOG_DEBUG, "stage_refresh_failed", "error=\"%s\"", e.msg);
    }
    ts_tx *tx = calloc(1, sizeof *tx);
    unsigned char *fenced = calloc((size_t)sh->nstates + 1, 1);
    unsigned char *written = calloc((size_t)ts_manifest_new_schema(sh->m)->ntables + 1, 1);
    if (tx == NULL || fenced == NULL || written == NULL) {
        free(tx);
        free(fenced);
        free(written);
        return ts_fail(err, TS_E_NOMEM, "out of memory starting a unit of work");
    }
    tx->fenced = fenced;
    tx->written = written;
    tx->sh = sh;
    tx->ctx = *ctx;
    sh->in_tx = 1;
    *out = tx;
    return 0;
}

static void tx_free(ts_tx *tx)
{
    tx->sh->in_tx = 0;
    free(tx->fenced);
    free(tx->written);
    free(tx->entries);
    ts_twins_free(&tx->twins);
    ts_buf_free(&tx->text);
    ts_buf_free(&tx->text2);
    ts_buf_free(&tx->sql);
    free(tx);
}

void ts_tx_rollback(ts_tx *tx)
{
    if (tx == NULL)
        return;
    if (tx->open_legacy)
        ts_store_rollback(tx->sh->legacy, NULL);
    if (tx->open_new && !tx->sh->shared)
        ts_store_rollback(tx->sh->nw, NULL);
    tx_free(tx);
}

/* Write the held twins now: before COMMIT, and before this unit touches their side. */
static int flush_twins(ts_tx *tx, ts_error *err)
{
    if (tx->twins.n == 0)
        return 0;
    return ts_twins_flush(&tx->twins, store_of(tx, tx->twins_side), 0, err);
}

int ts_tx_commit(ts_tx *tx, ts_error *err)
{
    ts_shim *sh = tx->sh;
    /* Shared connection: the last twin statement and COMMIT go out together. */
    int together = sh->shared && tx->twins.n > 0;
    if (together ? ts_twins_flush(&tx->twins, store_of(tx, tx->twins_side), 1, err)
                 : flush_twins(tx, err)) {
        ts_tx_rollback(tx);
        return -1;
    }
    /* Legacy first: the new side holds the fencing lock until legacy is in. */
    if (tx->open_legacy && !together && ts_store_commit(sh->legacy, err)) {
        ts_tx_rollback(tx);
        return -1;
    }
    tx->open_legacy = 0;
    if (ts_shim_fault_hook)
        ts_shim_fault_hook("after_primary_commit");
    if (tx->open_new && !sh->shared && ts_store_commit(sh->nw, err)) {
        /* Legacy is committed: its journal entries carry its writes over later. */
        ts_log(TS_LOG_ERROR, "commit_split", "error=\"%s\" note=\"legacy committed, new did not; "
               "journal entries will be replayed\"", err->msg);
        tx->open_new = 0;
        tx_free(tx);
        return -1;
    }
    tx->open_new = 0;
    if (ts_shim_fault_hook && tx->nentries)
        ts_shim_fault_hook("before_journal_settle");
    /* Cross-store secondaries: apply now; what fails stays pending for repair. */
    ts_journal_stores js = ts_shim_journal(sh);
    for (int i = 0; i < tx->nentries; i++) {
        struct entry_ref *r = &tx->entries[i];
        ts_error e;
        ts_store *s = r->side == TS_SIDE_LEGACY ? sh->legacy : sh->nw;
        if (r->written ? ts_journal_settle(s, r->id, &e) : ts_journal_apply(&js, r->side, r->id, &e))
            ts_log(TS_LOG_WARN, "journal_apply_deferred", "entry=%lld error=\"%s\"",
                   (long long)r->id, e.msg);
    }
    tx_free(tx);
    return 0;
}

static int remember_entry(ts_tx *tx, ts_side side, int64_t id, int written, ts_error *err)
{
    if (ts_vec_reserve((void **)&tx->entries, &tx->capentries, tx->nentries + 1,
                       sizeof *tx->entries))
        return ts_fail(err, TS_E_NOMEM, "out of memory");
    tx->entries[tx->nentries++] = (struct entry_ref){id, side, written};
    return 0;
}

/* ---- the secondary side --------------------------------------------------- */

/* JSON of the primary key of row (table t). */
static void key_json(ts_buf *b, const ts_table *t, const ts_value *row)
{
    int pk[8], n;
    ts_value key[8];
    ts_rowio_pk(t, pk, &n);
    for (int k = 0; k < n; k++)
        key[k] = row[pk[k]];
    ts_rowjson_encode(b, key, n);
}

/* Write a twin bound for side inside this unit: held for the unit's one
   statement on PostgreSQL, upserted at once elsewhere. */
static int write_twin(ts_tx *tx, ts_side side, const ts_table *st, const ts_value *srow,
                      const int *include, int deleted, ts_error *err)
{
    ts_store *s = store_of(tx, side);
    int pk[8], npk;
    if (ts_store_engine(s) == TS_ENGINE_PG) {
        /* Twins bound for the other side (increments at other stages) go out first. */
        if (tx->twins.n && tx->twins_side != side && flush_twins(tx, err))
            return -1;
        tx->twins_side = side;
        if (side_open(tx, side, err) || ts_twins_add(&tx->twins, st, srow, include, deleted, err))
            return -1;
        return tx->twins.n >= TS_TWINS_MAX ? flush_twins(tx, err) : 0;
    }
    if (side_open(tx, side, err))
        return -1;
    if (!deleted)
        return ts_rowio_upsert(s, st, srow, include, err);
    if (ts_rowio_row_key(st, include, pk, &npk))
        return ts_fail(err, TS_E_INTERNAL, "table %s: the row deleted has no primary or unique "
                       "key to find its twin by", st->name);
    return ts_rowio_delete(s, st, pk, npk, srow, err);
}

static int pull_parents(ts_tx *tx, const ts_table *nt, const ts_value *row, int depth,
                        ts_error *err);

/* Copy into new the legacy row of tm whose new key columns refc hold refv. */
static int pull_row(ts_tx *tx, const ts_tmap *tm, const int *refc, const ts_value *refv, int n,
                    int depth, ts_error *err)
{
    ts_shim *sh = tx->sh;
    const ts_table *lt = tm->legacy, *rt = tm->target;
    ts_value lkey[8], *lrow = NULL, *twin = NULL;
    ts_buf text = {0}; /* the twin's mapped text: the caller's scratch holds its own row */
    int *include = NULL, rc = -1;
    if (depth >= 32)
        return ts_fail(err, TS_E_STATE, "table %s: a chain of more than 32 references to rows the "
                       "backfill has not copied yet: run 'ts-migrate backfill %s' first",
                       rt->name, tm->inc->id);
    /* The legacy key: each legacy key column is copied into one of the referenced columns. */
    for (int k = 0; k < tm->nkey; k++) {
        int j = -1;
        for (int i = 0; i < n && j < 0; i++)
            if (tm->rules[refc[i]].src == TS_SRC_COPY && tm->rules[refc[i]].from == tm->key[k])
                j = i;
        if (j < 0)
            return 0; /* not a key legacy can be asked by: new's foreign key will answer */
        lkey[k] = refv[j];
    }
    /* Locked: the row cannot change or go before this unit commits. */
    int found = ts_rowio_get(sh->legacy, lt, tm->key, tm->nkey, lkey, 1, &lrow, err);
    if (found <= 0)
        return found; /* not in legacy either: new's foreign key will answer */
    twin = calloc((size_t)rt->ncols, sizeof *twin);
    include = calloc((size_t)rt->ncols, sizeof *include);
    if (twin == NULL || include == NULL)
        ts_fail(err, TS_E_NOMEM, "out of memory");
    else if (ts_twin_row(tm, 1, lrow, NULL, twin, include, &text, err) == 0 &&
             pull_parents(tx, rt, twin, depth + 1, err) == 0 &&
             write_twin(tx, TS_SIDE_NEW, rt, twin, include, 0, err) == 0) {
        ts_access *a = &sh->access[rt - ts_manifest_new_schema(sh->m)->tables];
        a->legacy_reads++;
        a->new_writes++;
        ts_log(TS_LOG_DEBUG, "parent_copied", "table=%s note=\"referenced before the backfill "
               "reached it\"", rt->name);
        rc = 0;
    }
    ts_rowio_free(lrow, lt->ncols);
    free(twin);
    free(include);
    ts_buf_free(&text);
    return rc;
}

/*
 * A twin about to go to new while legacy is primary (dual_write, shadow) may
 * refer to rows the backfill has not copied yet: new would refuse it (foreign
 * key) and the bot's unit of work with it. Until the referenced table's
 * backfill has finished, each referenced row new lacks is copied first, in its
 * current legacy state read under lock and with its own references first, as
 * the backfill would copy it (which then skips it). After the backfill this
 * costs nothing: new holds every legacy row.
 */
static int pull_parents(ts_tx *tx, const ts_table *nt, const ts_value *row, int depth,
                        ts_error *err)
{
    ts_shim *sh = tx->sh;
    const ts_schema *sc = ts_manifest_new_schema(sh->m);
    if (!sh->may_pull[nt - sc->tables]) /* the common case: nothing to look up */
        return 0;
    for (int f = 0; f < nt->nfks; f++) {
        const ts_fk *fk = &nt->fks[f];
        const ts_table *rt = ts_schema_table(sc, fk->table);
        const ts_tmap *tm = rt ? ts_manifest_tmap_for_new(sh->m, rt->name) : NULL;
        if (tm == NULL || sh->backfilled[rt - sc->tables])
            continue;
        /* The referenced key, as columns of rt; MATCH SIMPLE: a NULL refers to nothing. */
        int cols[8], refc[8], n, null = 0, self = rt == nt;
        ts_value refv[8];
        if (ts_schema_fk_columns(nt, fk, rt, cols, refc, 8, &n))
            return ts_fail(err, TS_E_INTERNAL, "table %s: foreign key (%s) is not declared",
                           nt->name, fk->cols);
        for (int k = 0; k < n; k++) {
            refv[k] = row[cols[k]];
            null |= refv[k].type == TS_NULL;
            self &= ts_value_equal(&row[refc[k]], &refv[k]);
        }
        if (null || self || ts_twins_holds(&tx->twins, rt, refc, refv, n))
            continue;
        ts_value *have = NULL;
        if (side_open(tx, TS_SIDE_NEW, err))
            return -1;
        int found = ts_rowio_get(sh->nw, rt, refc, n, refv, 0, &have, err);
        ts_rowio_free(have, rt->ncols);
        if (found < 0)
            return -1;
        if (found == 0 && pull_row(tx, tm, refc, refv, n, depth, err))
            return -1;
    }
    return 0;
}

/*
 * Carry one row the primary wrote (post-image `prow` of table `pt`, or the
 * deleted row when `deleted`) to the secondary: directly inside this
 * transaction when both stores share it, else through the primary's journal.
 * `extra` holds new-only column values (new shape) to carry along (may be NULL;
 * NULL values are not carried: legacy-primary stages cannot clear a new-only column).
 */
static int follow(ts_tx *tx, const route_info *ri, ts_side primary, const ts_table *pt,
                  const ts_value *prow, int deleted, const ts_value *extra,
                  ts_error *err)
{
    ts_shim *sh = tx->sh;
    const ts_tmap *tm = ri->tm;
    int to_new = primary == TS_SIDE_LEGACY;
    const ts_table *st = to_new ? tm->target : tm->legacy;
    ts_value *srow = calloc((size_t)st->ncols, sizeof *srow);
    int *include = calloc((size_t)st->ncols, sizeof *include);
    int rc = -1;
    ts_buf scratch = {0};

    if (srow == NULL || include == NULL) {
        ts_fail(err, TS_E_NOMEM, "out of memory");
        goto out;
    }
    if (ts_twin_row(tm, to_new, prow, to_new ? extra : NULL, srow, include, &tx->text2, err))
        goto out;
    /*
     * Write the twin inside this unit when the other side's transaction is
     * ours to use: always when shared; on separate stores for the new side
     * (its transaction is open for fencing), so later statements of the unit
     * see the row (references from new-only tables, reads). New commits after
     * legacy, so a twin never outlives its primary row. Not for a legacy twin
     * on separate stores: legacy commits first, and a new commit that then
     * failed would leave a twin with no primary.
     */
    int direct = sh->shared || (to_new && !ts_shim_kill_active(sh));
    ts_side side = to_new ? TS_SIDE_NEW : TS_SIDE_LEGACY;
    if (direct)
        rc = (to_new && !deleted && pull_parents(tx, st, srow, 0, err)) ||
             write_twin(tx, side, st, srow, include, deleted, err) ? -1 : 0;
    if (!sh->shared && (!direct || rc == 0)) {
        int64_t id;
        ts_buf key = {0};
        key_json(&key, pt, prow);
        ts_journal_image(&scratch, st, srow);
        rc = key.oom || scratch.oom ? ts_fail(err, TS_E_NOMEM, "out of memory")
             : ts_journal_append(store_of(tx, primary), "drift", tm->inc->id, pt->name, key.s,
                                 deleted ? "delete" : "upsert", scratch.s,
                                 sh->states[ri->si].version, to_new ? TS_SIDE_NEW : TS_SIDE_LEGACY,
                                 &id, err);
        ts_buf_free(&key);
        /* Kept until both commits: a new commit that fails leaves it for repair. */
        if (rc == 0)
            rc = remember_entry(tx, primary, id, direct, err);
    }
    if (rc == 0)
        count_access(tx, ri, to_new ? TS_SIDE_NEW : TS_SIDE_LEGACY, 1, 1);
out:
    if (rc)
        ts_error_context(err, "writing the %s twin of a %s row", to_new ? "new" : "legacy", pt->name);
    free(srow);
    free(include);
    ts_buf_free(&scratch);
    return rc;
}

/* At new_only: remember the master row for a replay into legacy on rollback. */
static int journal_change(ts_tx *tx, const route_info *ri, const ts_value *nrow, int deleted,
                          ts_error *err)
{
    ts_shim *sh = tx->sh;
    const ts_tmap *tm = ri->tm;
    ts_value *lrow = calloc((size_t)tm->legacy->ncols, sizeof *lrow);
    ts_buf key = {0}, image = {0};
    int64_t id;
    int rc = -1;
    if (lrow == NULL) {
        return ts_fail(err, TS_E_NOMEM, "out of memory");
    }
    if (ts_tmap_to_legacy(tm, nrow, lrow, &tx->text2, err) == 0) {
        key_json(&key, ri->nt, nrow);
        ts_journal_image(&image, tm->legacy, lrow);
        rc = key.oom || image.oom
                 ? ts_fail(err, TS_E_NOMEM, "out of memory")
                 : ts_journal_append(sh->nw, "change", tm->inc->id, ri->nt->name, key.s,
                                     deleted ? "delete" : "upsert", image.s,
                                     sh->states[ri->si].version, TS_SIDE_LEGACY, &id, err);
    }
    free(lrow);
    ts_buf_free(&key);
    ts_buf_free(&image);
    return rc;
}

/* ---- building statements ---------------------------------------------------- */

/* A statement under construction: SQL text and its parameters. */
typedef struct stmt {
    ts_buf *sql;
    ts_value args[MAX_ARGS];
    int nargs;
} stmt;

static int arg(stmt *s, ts_value v, ts_error *err)
{
    if (s->nargs >= MAX_ARGS)
        return ts_fail(err, TS_E_INVALID, "too many values in one operation (at most %d)", MAX_ARGS);
    s->args[s->nargs++] = v;
    ts_buf_printf(s->sql, "$%d", s->nargs);
    return 0;
}

/*
 * Translate (new column name, value) to the side that executes: the same on
 * the new side; through the manifest on the legacy side. Translated text
 * lives in `keep` (one buffer per value, freed by the caller).
 */
typedef struct colval {
    int col;          /* column index in the executing side's table */
    ts_value v;
    ts_op op;         /* conditions only */
} colval;

static int translate(ts_tx *tx, const route_info *ri, ts_side side, const char *name,
                     const ts_value *v, colval *out, ts_buf *keep, ts_error *err)
{
    int nc = col_index(ri->nt, name, err);
    if (nc < 0)
        return -1;
    if (side == TS_SIDE_NEW) {
        *out = (colval){nc, *v};
        return 0;
    }
    ts_value lv;
    int lc;
    if (ts_tmap_restore_value(ri->tm, nc, v, &lc, &lv, &tx->text, err))
        return -1;
    /* Copy translated text out of the shared scratch buffer. */
    if (lv.type == TS_TEXT || lv.type == TS_TIME || lv.type == TS_BLOB) {
        size_t at = keep->len;
        ts_buf_add(keep, lv.s ? lv.s : "", lv.len);
        ts_buf_add(keep, "", 1);
        lv.i = (int64_t)at;
        lv.s = NULL; /* resolved once keep stops growing */
    }
    *out = (colval){lc, lv};
    return 0;
}

static void resolve_kept(colval *cv, int n, const ts_buf *keep)
{
    for (int i = 0; i < n; i++)
        if ((cv[i].v.type == TS_TEXT || cv[i].v.type == TS_TIME || cv[i].v.type == TS_BLOB) &&
            cv[i].v.s == NULL) {
            cv[i].v.s = keep->s + cv[i].v.i;
            cv[i].v.i = 0;
        }
}

/* " WHERE bot_id = $n AND c = $m ..." for the executing side. */
static int where_clause(ts_tx *tx, const route_info *ri, ts_side side, const colval *conds, int n,
                        stmt *s, ts_error *err)
{
    const ts_table *t = side == TS_SIDE_NEW ? ri->nt : ri->tm->legacy;
    int any = 0;
    if (side == TS_SIDE_NEW && ri->nt->tenant) {
        ts_buf_puts(s->sql, " WHERE \"bot_id\" = ");
        if (arg(s, ts_int(tx->ctx.bot_id), err))
            return -1;
        any = 1;
    }
    static const char *const ops[] = {" = ", " < ", " <= ", " > ", " >= ", " <> "};
    for (int i = 0; i < n; i++) {
        ts_buf_printf(s->sql, "%s\"%s\"", any++ ? " AND " : " WHERE ", t->cols[conds[i].col].name);
        if (conds[i].v.type == TS_NULL) {
            ts_buf_puts(s->sql, conds[i].op == TS_OP_NE ? " IS NOT NULL" : " IS NULL");
        } else {
            ts_buf_puts(s->sql, ops[conds[i].op]);
            if (arg(s, conds[i].v, err))
                return -1;
        }
    }
    /* Legacy rows of a split table: only those this mapping owns. */
    if (side == TS_SIDE_LEGACY && ri->tm->where_col >= 0) {
        const ts_valmap *vm = ri->tm->where_map;
        ts_buf_printf(s->sql, "%s\"%s\" %sIN (", any++ ? " AND " : " WHERE ",
                      t->cols[ri->tm->where_col].name, ri->tm->where_in ? "" : "NOT ");
        for (int k = 0; k < vm->n; k++) {
            if (k)
                ts_buf_puts(s->sql, ", ");
            if (arg(s, vm->keys[k], err))
                return -1;
        }
        ts_buf_puts(s->sql, ")");
    }
    return 0;
}

static int translate_all(ts_tx *tx, const route_info *ri, ts_side side, const ts_cond *conds,
                         int n, colval *out, ts_buf *keep, ts_error *err)
{
    if (n > MAX_ARGS / 2)
        return ts_fail(err, TS_E_INVALID, "too many conditions (at most %d)", MAX_ARGS / 2);
    for (int i = 0; i < n; i++) {
        if (conds[i].col && strcmp(conds[i].col, "bot_id") == 0)
            return ts_fail(err, TS_E_INVALID, "conditions name no bot_id: the context's bot is "
                           "always applied");
        if ((unsigned)conds[i].op > TS_OP_NE)
            return ts_fail(err, TS_E_INVALID, "condition on %s: unknown operator %d",
                           conds[i].col ? conds[i].col : "?", (int)conds[i].op);
        if (translate(tx, ri, side, conds[i].col, &conds[i].val, &out[i], keep, err))
            return -1;
        /* Ordering survives only a plain copy: a value map or a format orders otherwise. */
        if (conds[i].op != TS_OP_EQ && side == TS_SIDE_LEGACY &&
            ri->tm->rules[col_index(ri->nt, conds[i].col, err)].src != TS_SRC_COPY)
            return ts_fail(err, TS_E_STATE, "cannot compare %s.%s by order while legacy answers: "
                           "its legacy value is translated", ri->nt->name, conds[i].col);
        out[i].op = conds[i].op;
    }
    return 0;
}

/*
 * Start "<VERB> FROM table WHERE ..." on a side: translate the conditions,
 * then write verb (with the table's columns when columns is set) and the
 * where clause into tx->sql. Translated text lives in keep.
 */
static int where_stmt(ts_tx *tx, const route_info *ri, ts_side side, ts_store *on,
                      const char *verb, int columns, const ts_cond *where, int nwhere,
                      stmt *st, ts_buf *keep, ts_error *err)
{
    colval cv[MAX_ARGS];
    char qt[TS_QNAME_MAX];
    const ts_table *t = side == TS_SIDE_NEW ? ri->nt : ri->tm->legacy;
    if (translate_all(tx, ri, side, where, nwhere, cv, keep, err) ||
        ts_store_table(on, t->name, qt, err))
        return -1;
    resolve_kept(cv, nwhere, keep);
    ts_buf_reset(&tx->sql);
    ts_buf_puts(&tx->sql, verb);
    if (columns) {
        ts_buf_puts(&tx->sql, " ");
        ts_rowio_columns(&tx->sql, t);
    }
    ts_buf_printf(&tx->sql, " FROM %s", qt);
    return where_clause(tx, ri, side, cv, nwhere, st, err);
}

/* Run a statement that returns whole rows of table t (RETURNING or SELECT),
   calling fn on each. */
typedef int (*row_fn)(ts_tx *tx, const route_info *ri, const ts_table *t, const ts_value *row,
                      void *arg, ts_error *err);

/* Read every row of r (then closed), copy them out, and hand each to fn. */
static int consume_rows(ts_tx *tx, ts_rows *r, const ts_table *t, row_fn fn, void *fnarg,
                        int64_t *nrows, ts_error *err, const route_info *ri)
{
    int rc;
    ts_value *row = calloc((size_t)t->ncols, sizeof *row);
    /* Rows are copied out before fn runs: fn writes on the same connection. */
    ts_value **copies = NULL;
    int n = 0, cap = 0;
    if (row == NULL) {
        ts_rows_close(r);
        return ts_fail(err, TS_E_NOMEM, "out of memory");
    }
    while ((rc = ts_rows_next(r, err)) == 1) {
        for (int i = 0; i < t->ncols; i++)
            row[i] = ts_rows_get(r, i);
        if (ts_vec_reserve((void **)&copies, &cap, n + 1, sizeof *copies)) {
            rc = ts_fail(err, TS_E_NOMEM, "out of memory");
            break;
        }
        if ((copies[n] = ts_rowio_copy(row, t->ncols)) == NULL) {
            rc = ts_fail(err, TS_E_NOMEM, "out of memory");
            break;
        }
        n++;
    }
    ts_rows_close(r);
    free(row);
    for (int i = 0; rc == 0 && i < n; i++)
        if (fn && fn(tx, ri, t, copies[i], fnarg, err))
            rc = -1;
    for (int i = 0; i < n; i++)
        ts_rowio_free(copies[i], t->ncols);
    free(copies);
    if (nrows)
        *nrows = n;
    return rc < 0 ? -1 : 0;
}

static int run_rows(ts_tx *tx, ts_store *s, const ts_table *t, stmt *st, row_fn fn, void *fnarg,
                    int64_t *nrows, ts_error *err, const route_info *ri)
{
    ts_rows *r;
    if (st->sql->oom)
        return ts_fail(err, TS_E_NOMEM, "out of memory");
    if (ts_store_query(s, st->sql->s, st->args, st->nargs, &r, err))
        return -1;
    return consume_rows(tx, r, t, fn, fnarg, nrows, err, ri);
}

/* ---- writes ------------------------------------------------------------------ */

/* What to do with each row the primary returns. */
typedef struct after {
    ts_side primary;
    int deleted;
    const ts_value *extra;     /* new-only values (new shape) set by the caller */
    int id_col;                /* capture the first row's id (-1: no) */
    int64_t id;
} after;

static int after_row(ts_tx *tx, const route_info *ri, const ts_table *t, const ts_value *row,
                     void *p, ts_error *err)
{
    after *a = p;
    if (a->id_col >= 0) {
        a->id = row[a->id_col].i;
        a->id_col = -1;
    }
    if (ri->tm && ri->r.secondary != TS_SIDE_NONE &&
        follow(tx, ri, a->primary, t, row, a->deleted, a->extra, err))
        return -1;
    if (ri->tm && ri->r.change_journal && journal_change(tx, ri, row, a->deleted, err))
        return -1;
    return 0;
}

/* Run a primary write that returns its rows, carrying each to the secondary. */
static int run_write(ts_tx *tx, const route_info *ri, ts_side p, const ts_table *pt, stmt *st,
                     after *a, int64_t *changed, ts_error *err)
{
    int64_t n = 0;
    int rc = run_rows(tx, store_of(tx, p), pt, st, after_row, a, &n, err, ri);
    if (rc == 0) {
        count_access(tx, ri, p, 1, n);
        if (changed)
            *changed = n;
    }
    return rc;
}

/* Prepare a write: route, fence, open the primary and (when shared) secondary. */
static int write_prepare(ts_tx *tx, const char *table, route_info *ri, ts_error *err)
{
    if (resolve(tx, table, 1, ri, err) ||
        (ri->tm && ts_shim_drift_refuse(tx->sh, ri->si, tx->sh->states[ri->si].stage, err)) ||
        fence(tx, ri, err) || side_open(tx, ri->r.primary, err))
        return -1;
    if (tx->twins.n && ri->r.primary == tx->twins_side && flush_twins(tx, err))
        return -1;
    if (ri->r.secondary != TS_SIDE_NONE && tx->sh->shared && side_open(tx, ri->r.secondary, err))
        return -1;
    tx->written[ri->table_index] = 1;
    return 0;
}

/* New-only columns (no legacy counterpart) among vals, in new-column order. */
static int split_new_only(const route_info *ri, const ts_set *vals, int n, ts_value *extra,
                          int *is_new_only, ts_error *err)
{
    for (int i = 0; i < n; i++) {
        int nc = col_index(ri->nt, vals[i].col, err), restored = 0;
        if (nc < 0)
            return -1;
        for (int c = 0; c < ri->tm->legacy->ncols; c++)
            restored |= ri->tm->restore[c] == nc;
        is_new_only[i] = !restored;
        if (!restored) {
            if (vals[i].add)
                return ts_fail(err, TS_E_STATE, "cannot add to %s.%s while legacy is primary: "
                               "it exists only in the new store", ri->nt->name, vals[i].col);
            extra[nc] = vals[i].val;
        }
    }
    return 0;
}

/*
 * The manifest's write defaults of the columns the insert leaves out (a NOT
 * NULL column the application does not know: the real bot's tables have no
 * server-side defaults), appended to cv. On legacy a column only new has is
 * left to the twin.
 */
static int write_defaults(ts_tx *tx, const route_info *ri, ts_side p, const ts_set *vals,
                          int nvals, colval *cv, int *ncv, ts_buf *keep, ts_error *err)
{
    const ts_tmap *tm = ri->tm;
    for (int c = 0; tm && tm->write_default && c < ri->nt->ncols; c++) {
        const char *name = ri->nt->cols[c].name;
        int given = 0;
        if (tm->write_default[c].type == TS_NULL)
            continue;
        for (int i = 0; i < nvals && !given; i++)
            given = strcmp(vals[i].col, name) == 0;
        if (given || (p == TS_SIDE_LEGACY && !ts_tmap_fills(tm, c)))
            continue;
        if (*ncv == MAX_ARGS)
            return ts_fail(err, TS_E_INTERNAL, "table %s is too wide", ri->nt->name);
        if (translate(tx, ri, p, name, &tm->write_default[c], &cv[(*ncv)++], keep, err))
            return -1;
    }
    return 0;
}

/* pull_parents for a row of a new-only table given as column values. */
static int new_only_parents(ts_tx *tx, const route_info *ri, const colval *cv, int ncv, ts_error *err)
{
    ts_value row[MAX_ARGS] = {{0}};
    for (int i = 0; i < ncv; i++)
        row[cv[i].col] = cv[i].v;
    /* A parent copied is held with the unit's twins on PostgreSQL: written
       before the row that refers to it. */
    return pull_parents(tx, ri->nt, row, 0, err) || (tx->twins.n && flush_twins(tx, err)) ? -1 : 0;
}

/* How an insert meets an existing row with the same key. */
typedef enum conflict { CONFLICT_FAIL, CONFLICT_UPDATE, CONFLICT_SKIP } conflict;

static int insert_rows(ts_tx *tx, const char *table, const ts_set *vals, int nvals,
                       conflict on_conflict, int64_t *id_out, int64_t *inserted, ts_error *err)
{
    route_info ri;
    colval cv[MAX_ARGS];
    ts_value extra[MAX_ARGS] = {{0}};
    int new_only[MAX_ARGS] = {0}, ncv = 0, rc = -1;
    ts_buf keep = {0};
    stmt st = {&tx->sql};
    char qt[TS_QNAME_MAX];
    int64_t idval = 0;

    if (nvals < 0 || nvals > MAX_ARGS / 2)
        return ts_fail(err, TS_E_INVALID, "between 0 and %d values per row", MAX_ARGS / 2);
    if (write_prepare(tx, table, &ri, err))
        return -1;
    ts_side p = ri.r.primary;
    const ts_table *pt = p == TS_SIDE_NEW ? ri.nt : ri.tm->legacy;
    if (ri.nt->ncols > MAX_ARGS)
        return ts_fail(err, TS_E_INTERNAL, "table %s is too wide", table);
    if (p == TS_SIDE_LEGACY &&
        split_new_only(&ri, vals, nvals, extra, new_only, err))
        return -1;
    for (int i = 0; i < nvals; i++) {
        if (vals[i].add)
            return ts_fail(err, TS_E_INVALID, "an insert sets values; it cannot add to %s", vals[i].col);
        if (strcmp(vals[i].col, "bot_id") == 0)
            return ts_fail(err, TS_E_INVALID, "rows take the context's bot_id: leave bot_id out");
        if (new_only[i])
            continue;
        if (translate(tx, &ri, p, vals[i].col, &vals[i].val, &cv[ncv++], &keep, err))
            goto out;
    }
    int ngiven = ncv;
    if (write_defaults(tx, &ri, p, vals, nvals, cv, &ncv, &keep, err))
        goto out;
    resolve_kept(cv, ncv, &keep);
    if (p == TS_SIDE_NEW && ri.nt->tenant)
        cv[ncv++] = (colval){ts_table_column_index(ri.nt, "bot_id"), ts_int(tx->ctx.bot_id)};
    /* A table only new has (card_to_card_payments) may refer to a row the
       backfill has not copied yet (a user from before dual_write): copied
       first, as a twin's parents are. */
    if (ri.tm == NULL && new_only_parents(tx, &ri, cv, ncv, err))
        goto out;

    /* Composite-key tables get their id from the sequence on SQLite (PostgreSQL's
       identity default does it there). */
    int idc = ts_table_column_index(pt, "id"), has_id = 0;
    for (int i = 0; i < ncv; i++)
        has_id |= cv[i].col == idc;
    if (idc >= 0 && !has_id && p == TS_SIDE_NEW && strcmp(pt->pk, "id") != 0 &&
        pt->cols[idc].type == TS_COL_ID && ts_store_engine(store_of(tx, p)) == TS_ENGINE_SQLITE) {
        if (ts_store_next_id(store_of(tx, p), pt->name, &idval, err))
            goto out;
        cv[ncv++] = (colval){idc, ts_int(idval)};
    }

    if (ts_store_table(store_of(tx, p), pt->name, qt, err))
        goto out;
    ts_buf_reset(&tx->sql);
    if (ncv == 0) {
        ts_buf_printf(&tx->sql, "INSERT INTO %s DEFAULT VALUES", qt);
    } else {
        ts_buf_printf(&tx->sql, "INSERT INTO %s (", qt);
        for (int i = 0; i < ncv; i++)
            ts_buf_printf(&tx->sql, "%s\"%s\"", i ? ", " : "", pt->cols[cv[i].col].name);
        ts_buf_puts(&tx->sql, ") VALUES (");
        for (int i = 0; i < ncv; i++) {
            if (i)
                ts_buf_puts(&tx->sql, ", ");
            if (arg(&st, cv[i].v, err))
                goto out;
        }
        ts_buf_puts(&tx->sql, ")");
    }
    if (on_conflict == CONFLICT_SKIP)
        ts_buf_puts(&tx->sql, " ON CONFLICT DO NOTHING");
    if (on_conflict == CONFLICT_UPDATE) {
        int pk[8], npk, sets = 0, given[MAX_ARGS] = {0};
        for (int i = 0; i < ncv; i++)
            given[cv[i].col] = 1;
        if (ts_rowio_row_key(pt, given, pk, &npk)) {
            ts_fail(err, TS_E_INVALID, "table %s: an upsert must give the primary key or a "
                    "unique key", pt->name);
            goto out;
        }
        ts_buf_puts(&tx->sql, " ON CONFLICT (");
        for (int k = 0; k < npk; k++)
            ts_buf_printf(&tx->sql, "%s\"%s\"", k ? ", " : "", pt->cols[pk[k]].name);
        ts_buf_puts(&tx->sql, ") DO ");
        for (int i = 0; i < ngiven; i++) { /* a write default never overwrites */
            int key = 0;
            for (int k = 0; k < npk; k++)
                key |= pk[k] == cv[i].col;
            if (!key)
                ts_buf_printf(&tx->sql, "%s\"%s\" = excluded.\"%s\"", sets++ ? ", " : "UPDATE SET ",
                              pt->cols[cv[i].col].name, pt->cols[cv[i].col].name);
        }
        if (!sets) /* nothing to change: still return the row */
            ts_buf_printf(&tx->sql, "UPDATE SET \"%s\" = excluded.\"%s\"", pt->cols[pk[0]].name,
                          pt->cols[pk[0]].name);
    }
    ts_buf_puts(&tx->sql, " RETURNING ");
    ts_rowio_columns(&tx->sql, pt);

    after a = {p, 0, extra, idc, 0};
    rc = run_write(tx, &ri, p, pt, &st, &a, inserted, err);
    if (rc == 0 && id_out)
        *id_out = a.id;
out:
    ts_buf_free(&keep);
    return rc;
}

int ts_tx_insert(ts_tx *tx, const char *table, const ts_set *vals, int nvals, int64_t *id,
                 ts_error *err)
{
    return insert_rows(tx, table, vals, nvals, CONFLICT_FAIL, id, NULL, err);
}

int ts_tx_insert_if_absent(ts_tx *tx, const char *table, const ts_set *vals, int nvals,
                           int *inserted, int64_t *id, ts_error *err)
{
    int64_t n = 0;
    int rc = insert_rows(tx, table, vals, nvals, CONFLICT_SKIP, id, &n, err);
    *inserted = n > 0;
    return rc;
}

int ts_tx_upsert(ts_tx *tx, const char *table, const ts_set *vals, int nvals, ts_error *err)
{
    return insert_rows(tx, table, vals, nvals, CONFLICT_UPDATE, NULL, NULL, err);
}

const ts_ctx *ts_tx_ctx(const ts_tx *tx) { return &tx->ctx; }

int ts_tx_route(ts_tx *tx, const char *table, ts_route *route, ts_error *err)
{
    route_info ri;
    if (resolve(tx, table, 0, &ri, err))
        return -1;
    *route = ri.r;
    return 0;
}

int ts_tx_update(ts_tx *tx, const char *table, const ts_cond *where, int nwhere,
                 const ts_set *sets, int nsets, int64_t *changed, ts_error *err)
{
    route_info ri;
    colval cv[MAX_ARGS], sv[MAX_ARGS];
    ts_value extra[MAX_ARGS] = {{0}};
    int new_only[MAX_ARGS] = {0}, nsv = 0, rc = -1;
    ts_buf keep = {0};
    stmt st = {&tx->sql};
    char qt[TS_QNAME_MAX];

    if (nsets <= 0 || nsets > MAX_ARGS / 2)
        return ts_fail(err, TS_E_INVALID, "an update sets between 1 and %d columns", MAX_ARGS / 2);
    if (write_prepare(tx, table, &ri, err))
        return -1;
    ts_side p = ri.r.primary;
    const ts_table *pt = p == TS_SIDE_NEW ? ri.nt : ri.tm->legacy;
    if (p == TS_SIDE_LEGACY && split_new_only(&ri, sets, nsets, extra, new_only, err))
        return -1;
    if (translate_all(tx, &ri, p, where, nwhere, cv, &keep, err))
        goto out;
    for (int i = 0; i < nsets; i++) {
        if (strcmp(sets[i].col, "bot_id") == 0) {
            ts_fail(err, TS_E_INVALID, "bot_id of a row cannot change: rows stay with their bot");
            goto out;
        }
        if (!new_only[i] && translate(tx, &ri, p, sets[i].col, &sets[i].val, &sv[nsv++], &keep, err))
            goto out;
    }
    resolve_kept(cv, nwhere, &keep);
    resolve_kept(sv, nsv, &keep);
    if (ts_store_table(store_of(tx, p), pt->name, qt, err))
        goto out;
    ts_buf_reset(&tx->sql);
    if (nsv == 0) {
        /* Only new-only columns change: legacy rows stay; read them to carry over. */
        ts_buf_puts(&tx->sql, "SELECT ");
        ts_rowio_columns(&tx->sql, pt);
        ts_buf_printf(&tx->sql, " FROM %s", qt);
    } else {
        ts_buf_printf(&tx->sql, "UPDATE %s SET ", qt);
        for (int i = 0, k = 0; i < nsets; i++) {
            if (new_only[i])
                continue;
            const char *c = pt->cols[sv[k].col].name;
            if (sets[i].add)
                ts_buf_printf(&tx->sql, "%s\"%s\" = \"%s\" + ", k ? ", " : "", c, c);
            else
                ts_buf_printf(&tx->sql, "%s\"%s\" = ", k ? ", " : "", c);
            if (arg(&st, sv[k++].v, err))
                goto out;
        }
    }
    if (where_clause(tx, &ri, p, cv, nwhere, &st, err))
        goto out;
    if (nsv) {
        ts_buf_puts(&tx->sql, " RETURNING ");
        ts_rowio_columns(&tx->sql, pt);
    }
    after a = {p, 0, extra, -1, 0};
    rc = run_write(tx, &ri, p, pt, &st, &a, changed, err);
out:
    ts_buf_free(&keep);
    return rc;
}

int ts_tx_delete(ts_tx *tx, const char *table, const ts_cond *where, int nwhere,
                 int64_t *changed, ts_error *err)
{
    route_info ri;
    ts_buf keep = {0};
    stmt st = {&tx->sql};
    int rc = -1;

    if (write_prepare(tx, table, &ri, err))
        return -1;
    ts_side p = ri.r.primary;
    const ts_table *pt = p == TS_SIDE_NEW ? ri.nt : ri.tm->legacy;
    if (where_stmt(tx, &ri, p, store_of(tx, p), "DELETE", 0, where, nwhere, &st, &keep, err) == 0) {
        ts_buf_puts(&tx->sql, " RETURNING ");
        ts_rowio_columns(&tx->sql, pt);
        after a = {p, 1, NULL, -1, 0};
        rc = run_write(tx, &ri, p, pt, &st, &a, changed, err);
    }
    ts_buf_free(&keep);
    return rc;
}

/* ---- reads ---------------------------------------------------------------------- */

static int result_add(ts_result *res, const ts_value *row, ts_error *err)
{
    if (ts_vec_reserve((void **)&res->rows, &res->cap, res->n + 1, sizeof *res->rows))
        return ts_fail(err, TS_E_NOMEM, "out of memory");
    if ((res->rows[res->n] = ts_rowio_copy(row, res->t->ncols)) == NULL)
        return ts_fail(err, TS_E_NOMEM, "out of memory");
    res->n++;
    return 0;
}

/* Collect rows of the executing side into a new-shaped result. */
typedef struct collect {
    ts_result *res;
    ts_side side;
} collect;

static int collect_row(ts_tx *tx, const route_info *ri, const ts_table *t, const ts_value *row,
                       void *p, ts_error *err)
{
    collect *c = p;
    (void)t;
    if (c->side == TS_SIDE_NEW)
        return result_add(c->res, row, err);
    ts_value *nrow = calloc((size_t)ri->nt->ncols, sizeof *nrow);
    if (nrow == NULL)
        return ts_fail(err, TS_E_NOMEM, "out of memory");
    int rc = ts_tmap_to_new(ri->tm, row, nrow, &tx->text2, err) ? -1 : result_add(c->res, nrow, err);
    free(nrow);
    return rc;
}

/* "col" or "col DESC" (new shape) -> ORDER BY on the executing side, keys as tie-breakers. */
static int order_clause(ts_tx *tx, const route_info *ri, ts_side side, const char *order_by,
                        stmt *st, ts_error *err)
{
    const ts_table *t = side == TS_SIDE_NEW ? ri->nt : ri->tm->legacy;
    int pk[8], npk, first = 1;
    if (order_by) {
        char name[TS_IDENT_MAX + 1];
        const char *sp = strchr(order_by, ' ');
        size_t len = sp ? (size_t)(sp - order_by) : strlen(order_by);
        int desc = sp && strcmp(sp, " DESC") == 0;
        if (len > TS_IDENT_MAX || (sp && !desc && strcmp(sp, " ASC") != 0))
            return ts_fail(err, TS_E_INVALID, "order '%.80s': use a column name with an optional "
                           "ASC or DESC", order_by);
        memcpy(name, order_by, len);
        name[len] = '\0';
        int nc = col_index(ri->nt, name, err), c = nc;
        if (nc < 0)
            return -1;
        if (side == TS_SIDE_LEGACY) {
            c = -1;
            for (int k = 0; k < t->ncols; k++)
                if (ri->tm->restore[k] == nc)
                    c = k;
            if (c < 0)
                return ts_fail(err, TS_E_STATE, "cannot order %s by %s while legacy answers: it "
                               "has no legacy counterpart", ri->nt->name, name);
        }
        ts_buf_printf(st->sql, " ORDER BY \"%s\"%s", t->cols[c].name, desc ? " DESC" : "");
        first = 0;
    }
    (void)tx;
    ts_rowio_pk(t, pk, &npk);
    for (int k = 0; k < npk; k++)
        ts_buf_printf(st->sql, "%s\"%s\"", first && k == 0 ? " ORDER BY " : ", ", t->cols[pk[k]].name);
    return 0;
}

/* The SELECT of an operation on side, into tx->sql and st. */
static int select_stmt(ts_tx *tx, const route_info *ri, ts_side side, ts_store *on,
                       const ts_cond *where, int nwhere, const char *order_by, int limit, int lock,
                       stmt *st, ts_buf *keep, ts_error *err)
{
    if (where_stmt(tx, ri, side, on, "SELECT", 1, where, nwhere, st, keep, err) ||
        order_clause(tx, ri, side, order_by, st, err))
        return -1;
    if (limit > 0)
        ts_buf_printf(&tx->sql, " LIMIT %d", limit);
    /* SQLite has no row locks: its write transaction already excludes writers. */
    if (lock && ts_store_engine(on) == TS_ENGINE_PG)
        ts_buf_puts(&tx->sql, " FOR UPDATE");
    return 0;
}

static int select_side(ts_tx *tx, const route_info *ri, ts_side side, const ts_cond *where,
                       int nwhere, const char *order_by, int limit, int lock, ts_result *res,
                       ts_error *err, ts_store *on)
{
    ts_buf keep = {0};
    stmt st = {&tx->sql};
    collect c = {res, side};
    int rc = select_stmt(tx, ri, side, on, where, nwhere, order_by, limit, lock, &st, &keep, err)
                 ? -1
                 : run_rows(tx, on, side == TS_SIDE_NEW ? ri->nt : ri->tm->legacy, &st,
                            collect_row, &c, NULL, err, ri);
    if (rc == 0)
        count_access(tx, ri, side, 0, 1);
    ts_buf_free(&keep);
    return rc;
}

static int sampled(ts_shim *sh)
{
    /* xorshift64: cheap, and sampling needs no quality beyond that. */
    sh->rng ^= sh->rng << 13;
    sh->rng ^= sh->rng >> 7;
    sh->rng ^= sh->rng << 17;
    return (double)(sh->rng >> 11) / (double)(1ull << 53) < sh->shadow_fraction;
}

/* The JSON of a new-shaped row's key under the mapping (for mismatch records). */
static void new_key_json(ts_buf *b, const ts_tmap *tm, const ts_value *row)
{
    ts_value kv[8];
    int n = tm->nnew_key < 8 ? tm->nnew_key : 8;
    for (int k = 0; k < n; k++)
        kv[k] = row[tm->new_key[k]];
    ts_buf_reset(b);
    ts_rowjson_encode(b, kv, n);
}

/* Compare what legacy answered (new shape) with what new answers, per key. */
static void compare_results(ts_tx *tx, const route_info *ri, const ts_result *lr,
                            const ts_result *nr)
{
    const ts_tmap *tm = ri->tm;
    ts_access *a = &tx->sh->access[ri->table_index];
    char lv[256], nv[256];
    int *matched = calloc((size_t)nr->n + 1, sizeof *matched), bad = 0;
    ts_buf key = {0};
    for (int i = 0; i < lr->n; i++) {
        const ts_value *l = lr->rows[i];
        int j;
        for (j = 0; j < nr->n; j++) {
            int same = 1;
            for (int k = 0; k < tm->nnew_key && same; k++)
                same = ts_value_equal(&l[tm->new_key[k]], &nr->rows[j][tm->new_key[k]]);
            if (same)
                break;
        }
        new_key_json(&key, tm, l);
        if (j == nr->n) {
            ts_shim_add_mismatch(tx->sh, tm->inc->id, ri->nt->name, key.s, NULL, "row", "missing");
            bad = 1;
            continue;
        }
        if (matched)
            matched[j] = 1;
        for (int c = 0; c < ri->nt->ncols; c++) {
            if (!ts_tmap_fills(tm, c))
                continue;
            ts_value x = ts_canon_coerce(&l[c], ri->nt->cols[c].type);
            ts_value y = ts_canon_coerce(&nr->rows[j][c], ri->nt->cols[c].type);
            if (!ts_value_equal(&x, &y)) {
                ts_shim_add_mismatch(tx->sh, tm->inc->id, ri->nt->name, key.s,
                                     ri->nt->cols[c].name, ts_value_format(&x, lv, sizeof lv),
                                     ts_value_format(&y, nv, sizeof nv));
                bad = 1;
            }
        }
    }
    for (int j = 0; matched && j < nr->n; j++)
        if (!matched[j]) {
            new_key_json(&key, tm, nr->rows[j]);
            ts_shim_add_mismatch(tx->sh, tm->inc->id, ri->nt->name, key.s, NULL, "missing", "row");
            bad = 1;
        }
    a->shadow_compared++;
    a->shadow_mismatched += bad;
    free(matched);
    ts_buf_free(&key);
}

/*
 * The shadow read: the same select on the new side, bounded by the shadow
 * timeout, so neither its time nor its failure reaches the caller, who gets
 * legacy's answer. On PostgreSQL it runs on the shim's shadow connection
 * (committed state), sent before the legacy read and collected after it, so
 * the two overlap and the caller waits for the slower, not for both;
 * elsewhere it runs after the legacy read inside a savepoint of this unit's
 * new-side transaction.
 */
static int shadow_wanted(ts_tx *tx, const route_info *ri)
{
    ts_shim *sh = tx->sh;
    if (!ri->r.shadow || ri->tm == NULL || !sampled(sh))
        return 0;
    /* A table this unit wrote: its rows are not committed where a shadow
       connection or the journal would see them; comparing would report them. */
    if ((sh->shadow || !sh->shared) && tx->written[ri->table_index]) {
        sh->access[ri->table_index].shadow_skipped++;
        return 0;
    }
    return 1;
}

static int shadow_send(ts_tx *tx, const route_info *ri, const ts_cond *where, int nwhere,
                       const char *order_by, int limit, ts_rows **pending, ts_error *err)
{
    ts_buf keep = {0};
    stmt st = {&tx->sql};
    ts_store *on = tx->sh->shadow;
    int rc = select_stmt(tx, ri, TS_SIDE_NEW, on, where, nwhere, order_by, limit, 0, &st, &keep,
                         err);
    if (rc == 0)
        rc = tx->sql.oom ? ts_fail(err, TS_E_NOMEM, "out of memory")
                         : ts_store_query_deferred(on, tx->sql.s, st.args, st.nargs, pending, err);
    ts_buf_free(&keep);
    return rc;
}

/* pending: the shadow connection's query (NULL when sending failed: e). */
static void shadow_read(ts_tx *tx, const route_info *ri, const ts_cond *where, int nwhere,
                        const char *order_by, int limit, const ts_result *legacy_result,
                        ts_rows *pending, ts_error *e)
{
    ts_shim *sh = tx->sh;
    ts_access *a = &sh->access[ri->table_index];
    ts_result nr = {ri->nt, NULL, 0, 0};
    int ok;
    if (sh->shadow) {
        collect c = {&nr, TS_SIDE_NEW};
        ok = pending != NULL &&
             consume_rows(tx, pending, ri->nt, collect_row, &c, NULL, e, ri) == 0;
        if (ok)
            count_access(tx, ri, TS_SIDE_NEW, 0, 1);
    } else {
        ts_store *nw = sh->nw;
        if (side_open(tx, TS_SIDE_NEW, e) || ts_store_savepoint(nw, "ts_shadow", e)) {
            a->shadow_skipped++;
            return;
        }
        ok = ts_store_statement_timeout(nw, sh->shadow_timeout_ms, e) == 0 &&
             select_side(tx, ri, TS_SIDE_NEW, where, nwhere, order_by, limit, 0, &nr, e, nw) == 0;
        ts_store_statement_timeout(nw, 0, NULL);
        ts_store_rollback_to(nw, "ts_shadow", NULL);
        ts_store_release(nw, "ts_shadow", NULL);
    }
    if (ok) {
        compare_results(tx, ri, legacy_result, &nr);
    } else {
        a->shadow_skipped++;
        ts_log(TS_LOG_DEBUG, "shadow_skipped", "table=%s error=\"%s\"", ri->nt->name, e->msg);
    }
    for (int i = 0; i < nr.n; i++)
        ts_rowio_free(nr.rows[i], ri->nt->ncols);
    free(nr.rows);
}

static int select_rows(ts_tx *tx, const char *table, const ts_cond *where, int nwhere,
                       const char *order_by, int limit, int lock, ts_result **out, ts_error *err)
{
    route_info ri;
    ts_rows *pending = NULL;
    ts_error shadow_err = {0};
    *out = NULL;
    if (resolve(tx, table, lock, &ri, err) || side_open(tx, ri.r.read, err))
        return -1;
    if (tx->twins.n && ri.r.read == tx->twins_side && flush_twins(tx, err))
        return -1;
    ts_result *res = calloc(1, sizeof *res);
    if (res == NULL)
        return ts_fail(err, TS_E_NOMEM, "out of memory");
    res->t = ri.nt;
    int shadow = shadow_wanted(tx, &ri);
    if (shadow && tx->sh->shadow)
        shadow_send(tx, &ri, where, nwhere, order_by, limit, &pending, &shadow_err);
    if (select_side(tx, &ri, ri.r.read, where, nwhere, order_by, limit, lock, res, err,
                    store_of(tx, ri.r.read))) {
        if (pending)
            ts_rows_close(pending);
        ts_result_free(res);
        return -1;
    }
    if (shadow)
        shadow_read(tx, &ri, where, nwhere, order_by, limit, res, pending, &shadow_err);
    *out = res;
    return 0;
}

int ts_tx_select(ts_tx *tx, const char *table, const ts_cond *where, int nwhere,
                 const char *order_by, int limit, ts_result **out, ts_error *err)
{
    return select_rows(tx, table, where, nwhere, order_by, limit, 0, out, err);
}

int ts_tx_select_for_update(ts_tx *tx, const char *table, const ts_cond *where, int nwhere,
                            const char *order_by, int limit, ts_result **out, ts_error *err)
{
    return select_rows(tx, table, where, nwhere, order_by, limit, 1, out, err);
}

int ts_tx_count(ts_tx *tx, const char *table, const ts_cond *where, int nwhere, int64_t *count,
                ts_error *err)
{
    route_info ri;
    ts_buf keep = {0};
    stmt st = {&tx->sql};
    int rc = -1;
    *count = 0;
    if (resolve(tx, table, 0, &ri, err) || side_open(tx, ri.r.read, err))
        return -1;
    if (tx->twins.n && ri.r.read == tx->twins_side && flush_twins(tx, err))
        return -1;
    ts_store *on = store_of(tx, ri.r.read);
    if (where_stmt(tx, &ri, ri.r.read, on, "SELECT count(*)", 0, where, nwhere, &st, &keep,
                   err) == 0) {
        rc = tx->sql.oom ? ts_fail(err, TS_E_NOMEM, "out of memory")
             : ts_store_query_int(on, tx->sql.s, st.args, st.nargs, count, err) < 0 ? -1 : 0;
        if (rc == 0)
            count_access(tx, &ri, ri.r.read, 0, 1);
    }
    ts_buf_free(&keep);
    return rc;
}

int ts_result_count(const ts_result *r) { return r ? r->n : 0; }

ts_value ts_result_get(const ts_result *r, int row, const char *col)
{
    int c = ts_table_column_index(r->t, col);
    if (row < 0 || row >= r->n || c < 0)
        return ts_null();
    return r->rows[row][c];
}

int64_t ts_result_int(const ts_result *r, int row, const char *col)
{
    ts_value v = ts_result_get(r, row, col);
    return v.type == TS_DOUBLE ? (int64_t)v.d : v.i;
}

const char *ts_result_text(const ts_result *r, int row, const char *col)
{
    ts_value v = ts_result_get(r, row, col);
    return v.type == TS_TEXT || v.type == TS_TIME ? v.s : NULL;
}

void ts_result_free(ts_result *r)
{
    if (r == NULL)
        return;
    for (int i = 0; i < r->n; i++)
        ts_rowio_free(r->rows[i], r->t->ncols);
    free(r->rows);
    free(r);
}
