/* ts_mgate.c: dependency checks and the gates of each transition. */
#include "ts_mgate.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "ts_diff.h"
#include "ts_mexpand.h"
#include "ts_mproc.h"
#include "ts_shim_int.h"

#define MAX_TABLES TS_INCREMENT_MAX_TABLES

static ts_gate *add(ts_gates *gs, const char *name, int ok, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static ts_gate *add(ts_gates *gs, const char *name, int ok, const char *fmt, ...)
{
    ts_gate *gt = &gs->g[gs->n < TS_MGATE_MAX ? gs->n++ : TS_MGATE_MAX - 1];
    va_list ap;
    gt->name = name;
    gt->ok = ok;
    va_start(ap, fmt);
    vsnprintf(gt->why, sizeof gt->why, fmt, ap);
    va_end(ap);
    return gt;
}

const ts_gate *ts_mgate_failed(const ts_gates *gs)
{
    for (int i = 0; i < gs->n; i++)
        if (!gs->g[i].ok)
            return &gs->g[i];
    return NULL;
}

int ts_mgate_refuse(const ts_gates *gs, const ts_inc_state *st, ts_stage to, ts_error *err)
{
    ts_buf b = {0};
    for (int i = 0; i < gs->n; i++)
        if (!gs->g[i].ok)
            ts_buf_printf(&b, "%s%s: %s", b.len ? "; " : "", gs->g[i].name, gs->g[i].why);
    ts_fail(err, TS_E_STATE, "refused: increment %s cannot move from %s to %s: %s", st->inc->id,
            ts_stage_name(st->stage), ts_stage_name(to), b.s ? b.s : "?");
    ts_buf_free(&b);
    return -1;
}

/* ---- dependencies ------------------------------------------------------------- */

static const ts_inc_state *state_of(ts_mig *g, ts_inc_state *states, const ts_increment *inc)
{
    for (int i = 0; i < ts_manifest_count(g->m); i++)
        if (states[i].inc == inc)
            return &states[i];
    return NULL;
}

/*
 * Stages up to read_new write legacy, stages from dual_write write new. A
 * row's references must resolve in every store it is written to, so for X
 * depending on P (X's rows refer to P's): X writes new only when P does, and
 * X writes legacy only when P does -- the second matters where P has legacy
 * tables. So new_only is entered children first (every dependent already
 * there) and left parents first (every dependency back at read_new); an
 * increment with no legacy tables (1.1's new-only tables) never holds that up.
 * The plan walked new_only parents first, which let a read_new increment's
 * legacy twin refer to rows its new_only parent no longer wrote there: the
 * bot's unit of work failed on legacy's foreign key.
 */
static int writes_legacy(const ts_inc_state *x)
{
    return x->inc->kind == TS_INC_DATA && x->inc->ntmaps > 0 && x->stage <= TS_STAGE_READ_NEW;
}

static void deps_forward(ts_mig *g, ts_inc_state *states, const ts_inc_state *st, ts_stage to,
                         ts_gates *gs)
{
    ts_buf why = {0};
    int behaviour = st->inc->kind == TS_INC_BEHAVIOUR;
    for (int i = 0; i < st->inc->ndeps; i++) {
        const ts_inc_state *d = state_of(g, states, st->inc->deps[i]);
        int dbeh = d->inc->kind == TS_INC_BEHAVIOUR;
        ts_stage need = dbeh          ? TS_STAGE_ON
                        : behaviour   ? TS_STAGE_READ_NEW
                        : to == TS_STAGE_NEW_ONLY ? TS_STAGE_READ_NEW : to;
        int ok = dbeh ? d->stage == TS_STAGE_ON : d->stage >= need;
        if (!ok)
            ts_buf_printf(&why, "%s%s (%s) is at %s and must be at %s%s first", why.len ? "; " : "",
                          d->inc->id, d->inc->name, ts_stage_name(d->stage), ts_stage_name(need),
                          dbeh ? "" : " or later");
    }
    /* Leaving legacy: no dependent may still write legacy rows that refer to ours. */
    for (int i = 0; to == TS_STAGE_NEW_ONLY && st->inc->ntmaps > 0 && i < ts_manifest_count(g->m);
         i++) {
        const ts_inc_state *x = &states[i];
        if (x != st && ts_manifest_depends_on(g->m, x->inc, st->inc) && writes_legacy(x))
            ts_buf_printf(&why, "%s%s (%s) depends on it and still writes legacy (at %s): move it "
                          "to new_only first", why.len ? "; " : "", x->inc->id, x->inc->name,
                          ts_stage_name(x->stage));
    }
    add(gs, "dependencies", why.len == 0, "%s", why.len ? why.s : "every increment it depends on is far enough");
    ts_buf_free(&why);
}

static void deps_backward(ts_mig *g, ts_inc_state *states, const ts_inc_state *st, ts_stage to,
                          ts_gates *gs)
{
    ts_buf why = {0};
    for (int i = 0; i < ts_manifest_count(g->m); i++) {
        const ts_inc_state *x = &states[i];
        if (x == st || !ts_manifest_depends_on(g->m, x->inc, st->inc))
            continue;
        if (x->inc->kind == TS_INC_BEHAVIOUR) {
            int blocks = x->stage == TS_STAGE_ON &&
                         (st->inc->kind == TS_INC_BEHAVIOUR ? to == TS_STAGE_OFF
                                                            : to < TS_STAGE_READ_NEW);
            if (blocks)
                ts_buf_printf(&why, "%s%s (%s) depends on it and is on: turn it off first",
                              why.len ? "; " : "", x->inc->id, x->inc->name);
        } else if (x->stage > to && !(st->stage == TS_STAGE_NEW_ONLY && to == TS_STAGE_READ_NEW)) {
            /* (From new_only to read_new dependents may stay at new_only: they
               write no legacy rows that could refer to ours.) */
            ts_buf_printf(&why, "%s%s (%s) depends on it and is at %s: roll it back to %s or "
                          "lower first", why.len ? "; " : "", x->inc->id, x->inc->name,
                          ts_stage_name(x->stage), ts_stage_name(to));
        }
    }
    /* Writing legacy again: what our legacy rows refer to must be written there too. */
    for (int i = 0; st->stage == TS_STAGE_NEW_ONLY && to <= TS_STAGE_READ_NEW &&
                    st->inc->kind == TS_INC_DATA && i < st->inc->ndeps; i++) {
        const ts_inc_state *d = state_of(g, states, st->inc->deps[i]);
        if (d->inc->kind == TS_INC_DATA && d->inc->ntmaps > 0 && !writes_legacy(d))
            ts_buf_printf(&why, "%s%s (%s), which it depends on, is at %s and writes no legacy "
                          "rows: roll it back to read_new first", why.len ? "; " : "",
                          d->inc->id, d->inc->name, ts_stage_name(d->stage));
    }
    add(gs, "dependents", why.len == 0, "%s", why.len ? why.s : "no increment depending on it is further");
    ts_buf_free(&why);
}

/* ---- measurements ------------------------------------------------------------- */

int ts_mgate_diff(ts_mig *g, const ts_increment *inc, int *clean, ts_buf *summary, ts_error *err)
{
    ts_vreport r;
    ts_vlog lg;
    ts_diff_opts o = {TS_DIFF_CHUNK_DEFAULT, 0};
    *clean = 1;
    if (inc->ntmaps == 0)
        return 0;
    /* ts_diff_run keeps a page of one side open while it reads the other, which one
       shared PostgreSQL connection cannot do: the diff gets connections of its own. */
    ts_store *l, *n = NULL;
    if (ts_store_open(g->o.legacy_url, &l, err) || ts_store_open(g->o.new_url, &n, err)) {
        ts_store_close(l);
        return -1;
    }
    ts_vreport_init(&r, "diff", 3);
    if (ts_vlog_open(&lg, NULL, 0, ts_store_url(l), ts_store_url(n), o.chunk, err)) {
        ts_vreport_free(&r);
        ts_store_close(l);
        ts_store_close(n);
        return -1;
    }
    r.all = ts_vlog_source(&lg);
    int rc = ts_diff_run(l, n, &inc, 1, &o, &r, &lg, err);
    if (rc == 0) {
        *clean = ts_vreport_clean(&r);
        for (int i = 0; summary && i < r.ntables; i++) {
            const ts_vtable *t = &r.tables[i];
            int64_t m = t->c.kinds[TS_DK_MISSING], x = t->c.kinds[TS_DK_EXTRA],
                    c = t->c.kinds[TS_DK_CHANGED];
            if (m || x || c)
                ts_buf_printf(summary, "%s%s: %lld missing, %lld extra, %lld changed (first: %s)",
                              summary->len ? "; " : "", t->target, (long long)m, (long long)x,
                              (long long)c, t->nfirst ? t->first[0] : "-");
        }
    }
    ts_vlog_close(&lg);
    ts_vreport_free(&r);
    ts_store_close(l);
    ts_store_close(n);
    if (rc)
        ts_error_context(err, "diff of increment %s", inc->id);
    return rc;
}

int ts_mgate_backfill_done(ts_mig *g, const ts_increment *inc, int *done, int64_t *rows_done,
                           int64_t *rows_total, ts_error *err)
{
    char qt[TS_QNAME_MAX], sql[TS_QNAME_MAX + 160];
    *done = 1;
    *rows_done = *rows_total = 0;
    if (ts_store_table(g->nw, "ts_backfill", qt, err))
        return -1;
    snprintf(sql, sizeof sql, "SELECT rows_done, rows_total, finished_at FROM %s "
             "WHERE increment_id = $1 AND table_name = $2", qt);
    for (int i = 0; i < inc->ntmaps; i++) {
        ts_value p[2] = {ts_text(inc->id), ts_text(inc->tmaps[i].target->name)};
        ts_rows *r;
        if (ts_store_query(g->nw, sql, p, 2, &r, err))
            return -1;
        int rc = ts_rows_next(r, err);
        if (rc == 1) {
            *rows_done += ts_rows_get(r, 0).i;
            *rows_total += ts_rows_get(r, 1).i;
            if (ts_rows_get(r, 2).type == TS_NULL)
                *done = 0;
        } else {
            *done = 0;
        }
        ts_rows_close(r);
        if (rc < 0)
            return -1;
    }
    return 0;
}

typedef struct sum_ctx {
    const char *tables[MAX_TABLES];
    int n;
    const char *field;
    int64_t sum;
    const cJSON *baseline;
    ts_buf *who;
} sum_ctx;

static int sum_one(void *vctx, const ts_mproc *p, ts_error *err)
{
    sum_ctx *c = vctx;
    (void)err;
    if (c->field) {
        c->sum += ts_mproc_counter(p, c->tables, c->n, c->field);
        return 0;
    }
    /* Legacy access since the baseline. */
    int64_t now = ts_mproc_counter(p, c->tables, c->n, "legacy_reads") +
                  ts_mproc_counter(p, c->tables, c->n, "legacy_writes");
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(c->baseline, p->id);
    int64_t delta = now - (cJSON_IsNumber(b) ? (int64_t)b->valuedouble : 0);
    if (delta > 0) {
        c->sum += delta;
        if (c->who)
            ts_buf_printf(c->who, "%s%s pid %lld (%s): %lld", c->who->len ? ", " : "", p->host,
                          (long long)p->pid, p->program, (long long)delta);
    }
    return 0;
}

int ts_mgate_shadow(ts_mig *g, const ts_inc_state *st, int64_t *compared, int64_t *mismatched,
                    ts_error *err)
{
    sum_ctx c = {{0}, 0, "shadow_compared", 0, NULL, NULL};
    char qt[TS_QNAME_MAX], sql[TS_QNAME_MAX + 96];
    c.n = ts_mig_tables(g->m, st->inc, 1, c.tables, MAX_TABLES);
    if (ts_mproc_each(g, sum_one, &c, err))
        return -1;
    *compared = c.sum;
    ts_value p[2] = {ts_text(st->inc->id), ts_time(st->changed_at[0] ? st->changed_at : NULL)};
    if (ts_store_table(g->nw, "ts_mismatches", qt, err))
        return -1;
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE increment_id = $1%s", qt,
             st->changed_at[0] ? " AND detected_at >= $2" : "");
    return ts_store_query_int(g->nw, sql, p, st->changed_at[0] ? 2 : 1, mismatched, err) < 0 ? -1 : 0;
}

/* The latest baseline recorded for inc (args of a soak_baseline audit row), or NULL. */
static cJSON *load_baseline(ts_mig *g, const char *inc_id, ts_error *err)
{
    char qt[TS_QNAME_MAX], sql[TS_QNAME_MAX + 160], buf[4200];
    ts_value p = ts_text(inc_id);
    if (ts_store_table(g->nw, "ts_audit", qt, err))
        return NULL;
    snprintf(sql, sizeof sql, "SELECT args FROM %s WHERE command = 'soak_baseline' AND "
             "increment_id = $1 ORDER BY id DESC LIMIT 1", qt);
    int rc = ts_store_query_text(g->nw, sql, &p, 1, buf, sizeof buf, err);
    return rc == 1 ? cJSON_Parse(buf) : NULL;
}

int ts_mgate_legacy_access(ts_mig *g, const ts_inc_state *st, int64_t *count, ts_buf *who,
                           ts_error *err)
{
    sum_ctx c = {{0}, 0, NULL, 0, NULL, who};
    cJSON *base = load_baseline(g, st->inc->id, err);
    c.n = ts_mig_tables(g->m, st->inc, 1, c.tables, MAX_TABLES);
    c.baseline = base;
    int rc = ts_mproc_each(g, sum_one, &c, err);
    cJSON_Delete(base);
    *count = c.sum;
    return rc;
}

typedef struct base_ctx {
    const char *tables[MAX_TABLES];
    int n;
    cJSON *obj;
} base_ctx;

static int base_one(void *vctx, const ts_mproc *p, ts_error *err)
{
    base_ctx *c = vctx;
    int64_t v = ts_mproc_counter(p, c->tables, c->n, "legacy_reads") +
                ts_mproc_counter(p, c->tables, c->n, "legacy_writes");
    /* Processes with no legacy access are left out: absent means zero. */
    if (v && cJSON_AddNumberToObject(c->obj, p->id, (double)v) == NULL)
        return ts_fail(err, TS_E_NOMEM, "out of memory");
    return 0;
}

int ts_mgate_soak_baseline(ts_mig *g, const ts_inc_state *st, ts_error *err)
{
    base_ctx c = {{0}, 0, cJSON_CreateObject()};
    if (c.obj == NULL)
        return ts_fail(err, TS_E_NOMEM, "out of memory");
    c.n = ts_mig_tables(g->m, st->inc, 1, c.tables, MAX_TABLES);
    int rc = ts_mproc_each(g, base_one, &c, err);
    char *json = rc ? NULL : cJSON_PrintUnformatted(c.obj);
    cJSON_Delete(c.obj);
    if (rc)
        return -1;
    if (json == NULL || strlen(json) > 4000) {
        free(json);
        return ts_fail(err, TS_E_STATE, "too many processes with legacy access to record a soak "
                       "baseline for %s: restart them (new processes start at zero)", st->inc->id);
    }
    ts_mig_step(g, "record the soak baseline of %s: %s", st->inc->id, json);
    ts_audit_entry a = {g->actor, g->host, "soak_baseline", json, st->inc->id, NULL, "new_only",
                        "ok", NULL, (int64_t)getpid(), 0};
    rc = g->o.dry_run ? 0 : ts_control_audit(g->nw, &a, err);
    free(json);
    return rc;
}

/* ---- the gates ------------------------------------------------------------------ */

static int gate_tables(ts_mig *g, const ts_inc_state *st, ts_gates *gs, ts_error *err)
{
    const char *names[MAX_TABLES];
    ts_buf miss = {0};
    int n = ts_mig_tables(g->m, st->inc, 1, names, MAX_TABLES);
    for (int i = 0; i < n; i++) {
        int yes;
        if (ts_store_table_exists(g->nw, names[i], &yes, err)) {
            ts_buf_free(&miss);
            return -1;
        }
        if (!yes)
            ts_buf_printf(&miss, "%s%s", miss.len ? ", " : "", names[i]);
    }
    add(gs, "ddl", miss.len == 0, miss.len ? "missing in the new store: %s (roll back to legacy "
        "and advance again to re-create them)" : "the increment's new tables exist", miss.s);
    ts_buf_free(&miss);
    return 0;
}

static int gate_backfill_and_diff(ts_mig *g, const ts_inc_state *st, int run_diff, ts_gates *gs,
                                  ts_error *err)
{
    int done, clean;
    int64_t rd, rt;
    if (ts_mgate_backfill_done(g, st->inc, &done, &rd, &rt, err))
        return -1;
    add(gs, "backfill", done, done ? "finished (%lld rows)" : "not finished (%lld of about %lld "
        "rows): run 'ts-migrate backfill %s'", (long long)rd, (long long)rt, st->inc->id);
    if (!run_diff) {
        add(gs, "diff", 1, "not run (plan --diff runs it)");
        return 0;
    }
    if (!done) {
        add(gs, "diff", 0, "not run until the backfill is finished");
        return 0;
    }
    ts_buf sum = {0};
    if (ts_mgate_diff(g, st->inc, &clean, &sum, err)) {
        ts_buf_free(&sum);
        return -1;
    }
    add(gs, "diff", clean, clean ? "clean" : "%s: look with 'ts-verify diff %s'", sum.s, st->inc->id);
    ts_buf_free(&sum);
    return 0;
}

static int gate_shadow(ts_mig *g, const ts_inc_state *st, ts_gates *gs, ts_error *err)
{
    int64_t compared, mismatched;
    if (st->inc->ntmaps == 0) {
        add(gs, "shadow_reads", 1, "no mapped tables: nothing to compare");
        return 0;
    }
    if (ts_mgate_shadow(g, st, &compared, &mismatched, err))
        return -1;
    add(gs, "shadow_reads", compared >= g->o.min_compared && mismatched == 0,
        "%lld compared (need %lld), %lld mismatched since %s%s", (long long)compared,
        (long long)g->o.min_compared, (long long)mismatched, st->changed_at[0] ? st->changed_at : "-",
        mismatched ? ": see ts_mismatches, fix the cause, roll back to dual_write and backfill" : "");
    return 0;
}

static int gate_journal_and_lag(ts_mig *g, const ts_inc_state *st, ts_gates *gs, ts_error *err)
{
    int64_t pl = 0, pn = 0;
    int lag;
    ts_buf names = {0};
    if (ts_journal_pending(g->legacy, "drift", &pl, err) || ts_journal_pending(g->nw, "drift", &pn, err))
        return -1;
    add(gs, "journal", pl + pn == 0, pl + pn ? "%lld drift entries pending (legacy %lld, new %lld): "
        "run 'ts-migrate repair'" : "no drift entry pending", (long long)(pl + pn), (long long)pl,
        (long long)pn);
    if (ts_mproc_lagging(g, st->inc->id, st->version, &lag, &names, err)) {
        ts_buf_free(&names);
        return -1;
    }
    add(gs, "processes", lag == 0, lag ? "lagging behind version %lld: %s" : "every live process "
        "applied version %lld", (long long)st->version, names.s);
    ts_buf_free(&names);
    return 0;
}

static int gate_contract(ts_mig *g, const ts_inc_state *st, int run_diff, ts_gates *gs,
                         ts_error *err)
{
    int64_t since = 0, count;
    ts_buf who = {0};
    add(gs, "confirm", g->o.confirm, g->o.confirm ? "given" : "contract retires the legacy tables "
        "for good: add --confirm");
    ts_time_to_unix(st->changed_at, &since, NULL);
    int64_t age = st->changed_at[0] ? ts_mig_now() - since : 0;
    add(gs, "soak", age >= g->o.soak_s, "at new_only for %llds of the %llds soak (--soak)",
        (long long)age, (long long)g->o.soak_s);
    if (ts_mgate_legacy_access(g, st, &count, &who, err)) {
        ts_buf_free(&who);
        return -1;
    }
    add(gs, "legacy_access", count == 0, count ? "%lld legacy reads/writes since new_only began: %s"
        : "no legacy access since new_only began", (long long)count, who.s);
    ts_buf_free(&who);
    if (!run_diff) {
        add(gs, "diff", 1, "not run (plan --diff runs it)");
        return 0;
    }
    int clean;
    ts_buf sum = {0};
    if (ts_mgate_diff(g, st->inc, &clean, &sum, err)) {
        ts_buf_free(&sum);
        return -1;
    }
    add(gs, "diff", clean, clean ? "clean" : "%s (after replaying the change journal)", sum.s);
    ts_buf_free(&sum);
    return 0;
}

int ts_mgate_check(ts_mig *g, ts_inc_state *states, const ts_inc_state *st, ts_stage to,
                   int run_diff, ts_gates *out, ts_error *err)
{
    ts_error terr;
    memset(out, 0, sizeof *out);
    if (ts_stage_check_transition(st->stage, to, &terr)) {
        add(out, "transition", 0, "%s", terr.msg);
        return 0;
    }
    if (to < st->stage || (st->stage == TS_STAGE_ON && to == TS_STAGE_OFF)) {
        deps_backward(g, states, st, to, out);
        if (st->inc->kind == TS_INC_DATA && to < TS_STAGE_READ_NEW) {
            int64_t n = 0;
            ts_buf detail = {0};
            if (ts_mexpand_orphans(g, st->inc, &n, &detail, err)) {
                ts_buf_free(&detail);
                return -1;
            }
            add(out, "orphans", n == 0 || g->o.export_orphans != NULL,
                n == 0 ? "no row the legacy store cannot hold"
                : g->o.export_orphans ? "%lld rows the legacy store cannot hold (%s) will be "
                                        "exported to %s first"
                                      : "%lld rows the legacy store cannot hold (%s): export them "
                                        "with --export-orphans FILE%s",
                (long long)n, detail.s, g->o.export_orphans ? g->o.export_orphans : "");
            ts_buf_free(&detail);
        }
        /* Below read_new reads come from legacy: a change entry not replayed
           there (a rollback from new_only that stopped) would be lost to them.
           From new_only itself the rollback replays them first. */
        if (st->inc->kind == TS_INC_DATA && to < TS_STAGE_READ_NEW &&
            st->stage != TS_STAGE_NEW_ONLY) {
            int64_t ch = 0;
            if (ts_journal_pending(g->nw, "change", &ch, err))
                return -1;
            add(out, "journal", ch == 0 || g->o.force,
                ch == 0 ? "every change journal entry is in legacy"
                : g->o.force ? "%lld change journal entries are not in legacy; --force: going on "
                               "without them (audited)"
                             : "%lld change journal entries are not in legacy yet: reads from "
                               "legacy would miss them; 'ts-migrate status' shows why they do "
                               "not apply; fix that and run 'ts-migrate repair' (or --force, "
                               "audited)", (long long)ch);
            if (ch && g->o.force)
                ts_mig_note(g, "forced past %lld change journal entries not in legacy",
                            (long long)ch);
        }
        return 0;
    }
    deps_forward(g, states, st, to, out);
    switch (to) {
    case TS_STAGE_DUAL_WRITE:
        return gate_tables(g, st, out, err);
    case TS_STAGE_SHADOW:
        return gate_backfill_and_diff(g, st, run_diff, out, err);
    case TS_STAGE_READ_NEW:
        return gate_shadow(g, st, out, err);
    case TS_STAGE_NEW_ONLY:
        return gate_journal_and_lag(g, st, out, err);
    case TS_STAGE_CONTRACTED:
        return gate_contract(g, st, run_diff, out, err);
    default:
        return 0;
    }
}
