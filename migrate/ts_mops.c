/* ts_mops.c: init, advance, rollback, contract, repair, unlock. */
#include "ts_mops.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ts_mexpand.h"
#include "ts_mgate.h"
#include "ts_mstage.h"
#include "ts_shim.h"
#include "ts_shim_int.h"

static void audit_of(ts_mig *g, const ts_inc_state *st, ts_stage to)
{
    snprintf(g->audit_inc, sizeof g->audit_inc, "%s", st->inc->id);
    snprintf(g->audit_from, sizeof g->audit_from, "%s", ts_stage_name(st->stage));
    snprintf(g->audit_to, sizeof g->audit_to, "%s", ts_stage_name(to));
}

int ts_mops_init(ts_mig *g, ts_error *err)
{
    ts_mig_step(g, "create the control plane and the journal in %s, the journal in %s, and "
                "register %d increments", ts_store_url(g->nw), ts_store_url(g->legacy),
                ts_manifest_count(g->m));
    if (g->o.dry_run)
        return 0;
    if (ts_control_init(g->legacy, g->nw, g->m, err))
        return -1;
    fprintf(g->out, "initialized: control plane in %s, %d increments registered\n",
            ts_store_url(g->nw), ts_manifest_count(g->m));
    return 0;
}

static int open_shim(ts_mig *g, ts_shim **sh, ts_error *err)
{
    ts_shim_config cfg = {g->o.legacy_url, g->o.new_url, g->o.manifest_path, "ts-migrate"};
    cfg.shadow_fraction = -1;
    return ts_shim_open(&cfg, sh, err);
}

/* Replay the change journal (writes made at new_only) into legacy. */
static int replay_changes(ts_mig *g, int64_t *applied, ts_error *err)
{
    ts_shim *sh;
    *applied = 0;
    if (g->o.dry_run) {
        int64_t n = 0;
        if (ts_journal_pending(g->nw, "change", &n, err))
            return -1;
        ts_mig_step(g, "replay %lld change journal entries into legacy (current row state, "
                    "oldest first)", (long long)n);
        return 0;
    }
    if (open_shim(g, &sh, err))
        return -1;
    ts_journal_stores js = ts_shim_journal(sh);
    int rc = ts_journal_replay(&js, TS_SIDE_NEW, "change", applied, err);
    ts_shim_close(sh);
    return rc;
}

static int load(ts_mig *g, const char *id, ts_inc_state **states, ts_inc_state **st, ts_error *err)
{
    if (ts_mig_states(g, states, err))
        return -1;
    if ((*st = ts_mig_find(g, *states, id, err)) == NULL) {
        free(*states);
        return -1;
    }
    return 0;
}

static int parse_to(ts_mig *g, const ts_inc_state *st, ts_stage dflt, ts_stage *to, ts_error *err)
{
    *to = dflt;
    if (g->o.to_stage == NULL)
        return 0;
    if (ts_stage_parse(g->o.to_stage, st->inc->kind == TS_INC_BEHAVIOUR, to, err) == 0)
        return 0;
    err->code = TS_E_USAGE; /* a data stage for a behaviour increment, or the other way round */
    ts_error_context(err, "--to for %s (%s)", st->inc->id, st->inc->name);
    return -1;
}

static int gates_or_refuse(ts_mig *g, ts_inc_state *states, ts_inc_state *st, ts_stage to,
                           int run_diff, ts_error *err)
{
    ts_gates gs;
    if (ts_mgate_check(g, states, st, to, run_diff, &gs, err))
        return -1;
    return ts_mgate_failed(&gs) ? ts_mgate_refuse(&gs, st, to, err) : 0;
}

int ts_mops_advance(ts_mig *g, ts_mlock *l, const char *id, ts_error *err)
{
    ts_inc_state *states, *st;
    ts_stage to;
    int rc = -1;
    if (load(g, id, &states, &st, err))
        return -1;
    int next = ts_stage_next(st->stage);
    if (parse_to(g, st, next < 0 ? st->stage : (ts_stage)next, &to, err))
        goto out;
    audit_of(g, st, to);
    if (to == TS_STAGE_CONTRACTED && st->stage == TS_STAGE_NEW_ONLY) {
        ts_fail(err, TS_E_STATE, "refused: new_only -> contracted retires the legacy tables: use "
                "'ts-migrate contract %s --confirm'", st->inc->id);
        goto out;
    }
    if (gates_or_refuse(g, states, st, to, 1, err))
        goto out;
    if (to == TS_STAGE_EXPANDED && ts_mexpand_create(g, st->inc, err))
        goto out;
    if (ts_mstage_change(g, l, st, to, err))
        goto out;
    if (to == TS_STAGE_NEW_ONLY && ts_mgate_soak_baseline(g, st, err))
        goto out;
    fprintf(g->out, "%s %s: %s -> %s (version %lld)\n", g->o.dry_run ? "would move" : "moved",
            st->inc->id, g->audit_from, g->audit_to, (long long)st->version);
    rc = 0;
out:
    free(states);
    return rc;
}

int ts_mops_rollback(ts_mig *g, ts_mlock *l, const char *id, ts_error *err)
{
    ts_inc_state *states, *st;
    ts_stage to;
    int rc = -1;
    if (load(g, id, &states, &st, err))
        return -1;
    ts_stage dflt = st->stage == TS_STAGE_ON ? TS_STAGE_OFF
                    : st->stage > TS_STAGE_LEGACY && st->stage <= TS_STAGE_CONTRACTED
                        ? (ts_stage)(st->stage - 1) : st->stage;
    if (parse_to(g, st, dflt, &to, err))
        goto out;
    audit_of(g, st, to);
    if (to > st->stage || (st->stage == TS_STAGE_OFF && to == TS_STAGE_ON)) {
        ts_fail(err, TS_E_STATE, "refused: %s is forward from %s: use 'ts-migrate advance %s'",
                ts_stage_name(to), ts_stage_name(st->stage), st->inc->id);
        goto out;
    }
    if (gates_or_refuse(g, states, st, to, 0, err))
        goto out;
    if (g->o.export_orphans && st->inc->kind == TS_INC_DATA && to < TS_STAGE_READ_NEW) {
        int64_t n;
        if (ts_mexpand_export(g, st->inc, g->o.export_orphans, &n, err))
            goto out;
        if (!g->o.dry_run)
            fprintf(g->out, "exported %lld orphan rows to %s\n", (long long)n, g->o.export_orphans);
        ts_mig_note(g, "exported %lld orphan rows to %s", (long long)n, g->o.export_orphans);
    }
    if (st->stage == TS_STAGE_NEW_ONLY) {
        int64_t applied;
        int clean;
        ts_buf sum = {0};
        /* read_new first: every process dual-writes again, so nothing written after
           the replay can be missing from legacy. */
        if (ts_mstage_change(g, l, st, TS_STAGE_READ_NEW, err) || replay_changes(g, &applied, err))
            goto out;
        fprintf(g->out, "replayed %lld change journal entries into legacy\n", (long long)applied);
        if (!g->o.dry_run) {
            if (ts_mgate_diff(g, st->inc, &clean, &sum, err)) {
                ts_buf_free(&sum);
                goto out;
            }
            if (!clean) {
                g->exit_hint = TS_EXIT_UNCLEAN;
                ts_fail(err, TS_E_STATE, "increment %s is back at read_new (legacy is written "
                        "again), but its diff is not clean after the replay: %s. Stopped there: "
                        "inspect with 'ts-verify diff %s' before going lower", st->inc->id, sum.s,
                        st->inc->id);
                ts_buf_free(&sum);
                goto out;
            }
            fprintf(g->out, "diff of %s: clean\n", st->inc->id);
        }
        ts_buf_free(&sum);
    }
    if (st->stage != to && ts_mstage_change(g, l, st, to, err))
        goto out;
    if (st->inc->kind == TS_INC_DATA && to < TS_STAGE_DUAL_WRITE &&
        ts_mexpand_shrink(g, st->inc, to, err))
        goto out;
    fprintf(g->out, "%s %s: %s -> %s (version %lld)\n", g->o.dry_run ? "would roll back" : "rolled back",
            st->inc->id, g->audit_from, g->audit_to, (long long)st->version);
    rc = 0;
out:
    free(states);
    return rc;
}

/* ---- contract ------------------------------------------------------------------- */

/* Names of the tables of a store's namespace (catalog), one call each. */
static int each_table(ts_mig *g, ts_store *s, int (*fn)(void *ctx, const char *name), void *ctx,
                      ts_error *err)
{
    char q[TS_QNAME_MAX], sql[TS_QNAME_MAX + 128];
    ts_value p = ts_text(ts_store_schema(s));
    ts_rows *r;
    int rc, pg = ts_store_engine(s) == TS_ENGINE_PG, stop = 0;
    (void)g;
    if (pg) {
        snprintf(sql, sizeof sql, "SELECT table_name FROM information_schema.tables "
                 "WHERE table_schema = $1");
    } else {
        if (ts_store_table(s, "sqlite_master", q, err))
            return -1;
        snprintf(sql, sizeof sql, "SELECT name FROM %s WHERE type = 'table'", q);
    }
    if (ts_store_query(s, sql, &p, pg, &r, err))
        return -1;
    while (!stop && (rc = ts_rows_next(r, err)) == 1) {
        char name[TS_IDENT_MAX + 1];
        ts_value v = ts_rows_get(r, 0);
        snprintf(name, sizeof name, "%.*s", (int)v.len, v.s);
        stop = fn(ctx, name);
    }
    ts_rows_close(r);
    return rc < 0 ? -1 : 0;
}

/* "_retired_<14 digits>_<name>" */
static int is_retired_of(const char *t, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(t, "_retired_", 9) != 0 || strlen(t) != 9 + 14 + 1 + n)
        return 0;
    for (int i = 9; i < 23; i++)
        if (t[i] < '0' || t[i] > '9')
            return 0;
    return t[23] == '_' && strcmp(t + 24, name) == 0;
}

typedef struct find_ctx {
    const char *name;
    int live;                 /* the table under its own name exists */
    char retired[8][TS_IDENT_MAX + 1];
    int nretired;
} find_ctx;

static int find_one(void *vctx, const char *t)
{
    find_ctx *c = vctx;
    if (strcmp(t, c->name) == 0)
        c->live = 1;
    else if (is_retired_of(t, c->name) && c->nretired < 8)
        snprintf(c->retired[c->nretired++], TS_IDENT_MAX + 1, "%s", t);
    return 0;
}

static int find_table(ts_mig *g, const char *name, find_ctx *c, ts_error *err)
{
    memset(c, 0, sizeof *c);
    c->name = name;
    return each_table(g, g->legacy, find_one, c, err);
}

/* A legacy table outside inc, live or retired, whose foreign key references t. */
static int referenced_by(ts_mig *g, const ts_increment *inc, const char *t, char *by, size_t n,
                         ts_error *err)
{
    const ts_schema *sc = ts_manifest_legacy_schema(g->m);
    by[0] = '\0';
    for (int i = 0; i < sc->ntables; i++) {
        const ts_table *u = &sc->tables[i];
        const ts_increment *owner = ts_manifest_owner(g->m, u->name);
        int refs = 0;
        for (int f = 0; f < u->nfks; f++)
            refs |= strcmp(u->fks[f].table, t) == 0 && strcmp(u->name, t) != 0;
        if (!refs || owner == inc)
            continue;
        find_ctx c;
        if (find_table(g, u->name, &c, err))
            return -1;
        if (c.live || c.nretired) {
            snprintf(by, n, "%s (increment %s)", u->name, owner ? owner->id : "-");
            return 0;
        }
    }
    return 0;
}

/* Drop every retired copy of inc's legacy tables that nothing references. */
static int drop_retired(ts_mig *g, const ts_increment *inc, ts_error *err)
{
    for (int i = inc->ntmaps - 1; i >= 0; i--) {
        const char *name = inc->tmaps[i].legacy->name;
        char by[128], q[TS_QNAME_MAX], sql[TS_QNAME_MAX + 32];
        find_ctx c;
        if (i + 1 < inc->ntmaps && strcmp(inc->tmaps[i + 1].legacy->name, name) == 0)
            continue; /* a table split over two maps */
        if (find_table(g, name, &c, err) || referenced_by(g, inc, name, by, sizeof by, err))
            return -1;
        for (int k = 0; k < c.nretired; k++) {
            if (by[0]) {
                fprintf(g->out, "kept %s: %s references %s; drop it after contracting that "
                        "increment with 'ts-migrate contract %s --drop --confirm'\n",
                        c.retired[k], by, name, inc->id);
                continue;
            }
            if (ts_store_table(g->legacy, c.retired[k], q, err))
                return -1;
            snprintf(sql, sizeof sql, "DROP TABLE %s", q);
            if (ts_mig_exec(g, g->legacy, sql, NULL, 0, NULL, err))
                return -1;
            fprintf(g->out, "dropped %s\n", c.retired[k]);
        }
    }
    return 0;
}

static int retire(ts_mig *g, const ts_increment *inc, ts_error *err)
{
    char stamp[16];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%d%H%M%S", &tm);
    for (int i = 0; i < inc->ntmaps; i++) {
        const char *name = inc->tmaps[i].legacy->name;
        char q[TS_QNAME_MAX], to[TS_IDENT_MAX + 3], nm[TS_IDENT_MAX + 1], sql[2 * TS_QNAME_MAX + 32];
        find_ctx c;
        if (find_table(g, name, &c, err))
            return -1;
        if (!c.live)
            continue; /* retired already (a split table), or never there */
        snprintf(nm, sizeof nm, "_retired_%s_%s", stamp, name);
        if (ts_store_table(g->legacy, name, q, err) || ts_quote_ident(nm, to, err))
            return -1;
        snprintf(sql, sizeof sql, "ALTER TABLE %s RENAME TO %s", q, to);
        if (ts_mig_exec(g, g->legacy, sql, NULL, 0, NULL, err))
            return -1;
        fprintf(g->out, "retired legacy %s as %s\n", name, nm);
    }
    return 0;
}

int ts_mops_contract(ts_mig *g, ts_mlock *l, const char *id, ts_error *err)
{
    ts_inc_state *states, *st;
    int rc = -1;
    int64_t applied;
    if (load(g, id, &states, &st, err))
        return -1;
    audit_of(g, st, TS_STAGE_CONTRACTED);
    if (st->inc->kind != TS_INC_DATA) {
        ts_fail(err, TS_E_USAGE, "increment %s is a behaviour increment: nothing to contract", id);
        goto out;
    }
    if (st->stage == TS_STAGE_CONTRACTED && g->o.drop) {
        if (!g->o.confirm) {
            ts_fail(err, TS_E_STATE, "refused: dropping retired legacy tables needs --confirm");
            goto out;
        }
        rc = drop_retired(g, st->inc, err);
        goto out;
    }
    /* The cheap gates first, then the replay and the diff. */
    if (gates_or_refuse(g, states, st, TS_STAGE_CONTRACTED, 0, err) ||
        replay_changes(g, &applied, err) ||
        gates_or_refuse(g, states, st, TS_STAGE_CONTRACTED, !g->o.dry_run, err))
        goto out;
    if (ts_mstage_change(g, l, st, TS_STAGE_CONTRACTED, err) || retire(g, st->inc, err) ||
        (g->o.drop && drop_retired(g, st->inc, err)))
        goto out;
    fprintf(g->out, "%s %s: new_only -> contracted (version %lld)\n",
            g->o.dry_run ? "would contract" : "contracted", st->inc->id, (long long)st->version);
    rc = 0;
out:
    free(states);
    return rc;
}

/* ---- repair, unlock ----------------------------------------------------------------- */

/*
 * Drift entries always; change entries (what a rollback from new_only could
 * not replay into legacy) of the increments below new_only. At new_only they
 * are the journal a later rollback replays, and legacy is not written.
 */
int ts_mops_repair(ts_mig *g, ts_error *err)
{
    ts_shim *sh;
    ts_inc_state *states;
    int64_t drift = 0, change = 0, left = 0, pl = 0, pn = 0, ch = 0;
    int n = ts_manifest_count(g->m), nbelow = 0;
    if (ts_mig_states(g, &states, err))
        return -1;
    const char **below = calloc((size_t)n + 1, sizeof *below);
    if (below == NULL) {
        free(states);
        return ts_fail(err, TS_E_NOMEM, "out of memory");
    }
    for (int i = 0; i < n; i++)
        if (states[i].stage < TS_STAGE_NEW_ONLY)
            below[nbelow++] = states[i].inc->id;
    free(states);
    int rc = -1;
    if (g->o.dry_run) {
        if (ts_journal_pending(g->legacy, "drift", &pl, err) ||
            ts_journal_pending(g->nw, "drift", &pn, err) ||
            ts_journal_pending(g->nw, "change", &ch, err))
            goto out;
        ts_mig_step(g, "replay %lld pending drift entries (legacy %lld, new %lld), and of the %lld "
                    "pending change entries those of increments below new_only", (long long)(pl + pn),
                    (long long)pl, (long long)pn, (long long)ch);
        rc = 0;
        goto out;
    }
    if (open_shim(g, &sh, err))
        goto out;
    ts_journal_stores js = ts_shim_journal(sh);
    rc = ts_shim_repair(sh, &drift, &left, err) ||
                 ts_journal_replay_of(&js, TS_SIDE_NEW, "change", below, &change, err) ||
                 ts_journal_pending(g->nw, "change", &ch, err)
             ? -1 : 0;
    ts_shim_close(sh);
    if (rc == 0) {
        fprintf(g->out, "repair: applied %lld drift and %lld change journal entries; pending: "
                "%lld drift, %lld change%s\n", (long long)drift, (long long)change,
                (long long)left, (long long)ch, ch ? " (of increments at new_only)" : "");
        ts_mig_note(g, "applied %lld drift, %lld change; pending %lld drift, %lld change",
                    (long long)drift, (long long)change, (long long)left, (long long)ch);
    }
out:
    free(below);
    return rc;
}

int ts_mops_unlock(ts_mig *g, ts_error *err)
{
    char was[1200];
    if (!g->o.force)
        return ts_fail(err, TS_E_USAGE, "unlock breaks another operator's lock: add --force "
                       "(it is audited)");
    if (g->o.dry_run) {
        if (ts_mlock_holder(g, was, sizeof was, err))
            return -1;
        ts_mig_step(g, "break the lock (%s)", was[0] ? was : "free");
        return 0;
    }
    if (ts_mlock_break(g, was, sizeof was, err))
        return -1;
    fprintf(g->out, "unlocked (%s)\n", was[0] ? was : "it was free");
    ts_mig_note(g, "broke: %s", was[0] ? was : "free");
    return 0;
}
