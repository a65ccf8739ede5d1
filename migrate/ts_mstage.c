/* ts_mstage.c: compare-and-set of a stage with its sequence floors, then acknowledgements. */
#include "ts_mstage.h"

#include <string.h>

#include "ts_mproc.h"

/* 1 when the tables of a map carry an integer "id" key on both sides. */
static int has_ids(const ts_tmap *tm)
{
    const ts_column *l = ts_table_column(tm->legacy, "id"), *n = ts_table_column(tm->target, "id");
    return l && n && l->type == TS_COL_ID && n->type == TS_COL_ID && strcmp(tm->legacy->pk, "id") == 0;
}

static int floor_one(ts_mig *g, ts_store *s, const char *table, int64_t floor, ts_error *err)
{
    if (g->o.dry_run) {
        ts_mig_step(g, "raise the id sequence of %s table %s to at least %lld",
                    s == g->legacy ? "legacy" : "new", table, (long long)floor);
        return 0;
    }
    if (ts_store_id_floor(s, table, floor, err)) {
        ts_error_context(err, "raising the id sequence of %s", table);
        return -1;
    }
    return 0;
}

/* Raise the id sequences of the side that is to assign ids (to_new: new, else
   legacy) above the other side's maximum. */
static int floor_side(ts_mig *g, const ts_increment *inc, int to_new, ts_error *err)
{
    int64_t margin = g->shared ? 0 : TS_MSTAGE_FLOOR_MARGIN;
    for (int i = 0; i < inc->ntmaps; i++) {
        const ts_tmap *tm = &inc->tmaps[i];
        int64_t max;
        if (!has_ids(tm))
            continue;
        if (ts_mig_max_id(g, to_new ? g->legacy : g->nw,
                          to_new ? tm->legacy->name : tm->target->name, !to_new, &max, err) ||
            floor_one(g, to_new ? g->nw : g->legacy, to_new ? tm->target->name : tm->legacy->name,
                      max + margin, err))
            return -1;
    }
    return 0;
}

int ts_mstage_floor_new(ts_mig *g, const ts_increment *inc, ts_error *err)
{
    return floor_side(g, inc, 1, err);
}

static int set_stage(ts_mig *g, ts_inc_state *st, ts_stage to, ts_error *err)
{
    if (g->o.dry_run) {
        fprintf(g->out, "  sql new: UPDATE ts_increments SET stage = '%s', version = %lld, "
                "changed_at = now, changed_by = '%s' WHERE id = '%s' AND stage = '%s' AND "
                "version = %lld\n", ts_stage_name(to), (long long)st->version + 1, g->actor,
                st->inc->id, ts_stage_name(st->stage), (long long)st->version);
        return 0;
    }
    return ts_control_set_stage(g->nw, st->inc->id, st->stage, st->version, to, g->actor,
                                g->o.reason ? g->o.reason : "", err);
}

int ts_mstage_change(ts_mig *g, ts_mlock *l, ts_inc_state *st, ts_stage to, ts_error *err)
{
    ts_stage from = st->stage;
    int new_floor = to == TS_STAGE_EXPANDED || to == TS_STAGE_DUAL_WRITE || to == TS_STAGE_READ_NEW;
    int legacy_floor = from >= TS_STAGE_READ_NEW && to < TS_STAGE_READ_NEW &&
                       !ts_stage_is_behaviour(to);
    new_floor = new_floor && to > from;

    ts_mig_step(g, "increment %s: %s -> %s (version %lld -> %lld)", st->inc->id,
                ts_stage_name(from), ts_stage_name(to), (long long)st->version,
                (long long)st->version + 1);
    if (!g->o.dry_run && ts_store_begin(g->nw, err))
        return -1;
    /* The compare-and-set first: on PostgreSQL its row lock waits for in-flight
       fenced writes, so the maxima read below are final. */
    if (set_stage(g, st, to, err) || (new_floor && ts_mstage_floor_new(g, st->inc, err)) ||
        (legacy_floor && floor_side(g, st->inc, 0, err)) ||
        (!g->o.dry_run && ts_store_commit(g->nw, err))) {
        if (!g->o.dry_run)
            ts_store_rollback(g->nw, NULL);
        if (err->code == TS_E_STALE)
            g->exit_hint = TS_EXIT_STALE;
        return -1;
    }
    st->stage = to;
    st->version++;
    return ts_mproc_wait(g, l, st->inc->id, st->version, err);
}
