/*
 * ts_shim.c: the shim object: stores, cached stages, housekeeping (refresh,
 * heartbeat, journal repair, kill switch), access counters, shadow mismatches.
 * Units of work are in ts_tx.c, the journal in ts_journal.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ts_clock.h"
#include "ts_log.h"
#include "ts_rowjson.h"
#include "ts_shim_int.h"
#include "ts_vec.h"

#define MAX_QUEUED_MISMATCHES 1000

void (*ts_shim_fault_hook)(const char *point);

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static void free_mismatches(ts_shim *sh)
{
    for (int i = 0; i < sh->nmismatches; i++) {
        ts_mismatch *mm = &sh->mismatches[i];
        free(mm->increment_id), free(mm->table), free(mm->row_key), free(mm->column);
        free(mm->legacy_value), free(mm->new_value);
    }
    sh->nmismatches = 0;
}

void ts_shim_close(ts_shim *sh)
{
    ts_error err;
    if (sh == NULL)
        return;
    /* A clean stop leaves no process row for operators to wait on. */
    if (sh->nw && sh->process_id[0] && ts_control_forget_process(sh->nw, sh->process_id, &err))
        ts_log(TS_LOG_WARN, "shim_forget_failed", "error=\"%s\"", err.msg);
    free_mismatches(sh);
    free(sh->mismatches);
    ts_shim_drift_free(sh);
    ts_store_close(sh->shadow);
    ts_store_close(sh->nw);
    ts_store_close(sh->legacy);
    ts_manifest_free(sh->m);
    free(sh->states);
    free(sh->access);
    free(sh->backfilled);
    free(sh->may_pull);
    free(sh->legacy_url), free(sh->new_url), free(sh->kill_file), free(sh->program);
    free(sh);
}

/*
 * Shadow reads on PostgreSQL get a connection of their own: one round trip
 * each (no savepoint, no timeout set and reset around every read), and a
 * slow or locked new store stops at the session's statement_timeout.
 */
static int open_shadow(ts_shim *sh, ts_error *err)
{
    char sql[64];
    if (ts_store_open(sh->new_url, &sh->shadow, err))
        return -1;
    snprintf(sql, sizeof sql, "SET statement_timeout = %d", sh->shadow_timeout_ms);
    return ts_store_exec(sh->shadow, sql, NULL, 0, NULL, err);
}

int ts_shim_open(const ts_shim_config *cfg, ts_shim **out, ts_error *err)
{
    ts_shim *sh = calloc(1, sizeof *sh);
    *out = NULL;
    if (sh == NULL)
        return ts_fail(err, TS_E_NOMEM, "out of memory opening the shim");
    sh->legacy_url = dup_or_null(cfg->legacy_url);
    sh->new_url = dup_or_null(cfg->new_url);
    sh->kill_file = dup_or_null(cfg->kill_switch_file);
    sh->program = strdup(cfg->program ? cfg->program : "tenantshift");
    sh->poll_ms = cfg->poll_ms > 0 ? cfg->poll_ms : 500;
    sh->heartbeat_ms = cfg->heartbeat_ms > 0 ? cfg->heartbeat_ms : 1000;
    sh->shadow_timeout_ms = cfg->shadow_timeout_ms > 0 ? cfg->shadow_timeout_ms : 200;
    sh->shadow_fraction = cfg->shadow_fraction < 0 ? 1.0 : cfg->shadow_fraction;
    if (sh->shadow_fraction > 1.0) {
        ts_shim_close(sh);
        return ts_fail(err, TS_E_USAGE, "shadow fraction %g is above 1: use a value in [0, 1]",
                       cfg->shadow_fraction);
    }
    if (cfg->legacy_url == NULL || cfg->new_url == NULL) {
        ts_shim_close(sh);
        return ts_fail(err, TS_E_USAGE, "both a legacy and a new store URL are needed "
                       "(--legacy/--new, or TS_LEGACY_URL/TS_NEW_URL)");
    }
    if (ts_store_open(cfg->legacy_url, &sh->legacy, err) ||
        ts_manifest_load_live(cfg->manifest_path, sh->legacy, &sh->m, err) ||
        ts_store_open_beside(sh->legacy, cfg->new_url, &sh->nw, err))
        goto fail;
    sh->shared = ts_store_shares_txn(sh->legacy, sh->nw);
    if (ts_store_engine(sh->nw) == TS_ENGINE_PG && sh->shadow_fraction > 0 && open_shadow(sh, err))
        goto fail;

    const ts_value *master = ts_manifest_constant(sh->m, "master_bot_id");
    if (master == NULL || master->type != TS_INT) {
        ts_fail(err, TS_E_INVALID, "the manifest defines no integer constant master_bot_id");
        goto fail;
    }
    sh->master_bot_id = master->i;
    sh->nstates = ts_manifest_count(sh->m);
    sh->states = calloc((size_t)sh->nstates, sizeof *sh->states);
    sh->access = calloc((size_t)ts_manifest_new_schema(sh->m)->ntables, sizeof *sh->access);
    sh->backfilled = calloc((size_t)ts_manifest_new_schema(sh->m)->ntables, sizeof *sh->backfilled);
    sh->may_pull = calloc((size_t)ts_manifest_new_schema(sh->m)->ntables, sizeof *sh->may_pull);
    if (sh->states == NULL || sh->access == NULL || sh->backfilled == NULL ||
        sh->may_pull == NULL) {
        ts_fail(err, TS_E_NOMEM, "out of memory opening the shim");
        goto fail;
    }

    gethostname(sh->host, sizeof sh->host - 1);
    ts_time_now(sh->started_at);
    snprintf(sh->process_id, sizeof sh->process_id, "%s:%ld:%s", sh->host, (long)getpid(),
             sh->started_at);
    sh->rng = (uint64_t)ts_clock_ms() * 0x9E3779B97F4A7C15ull ^ (uint64_t)getpid();

    /* The tables as the manifest was just read against them: what a later
       look at legacy is compared with (ts_shim_drift.c). */
    if (ts_store_listen(sh->nw, TS_STAGE_CHANNEL, err) || ts_shim_refresh(sh, err) ||
        ts_shim_drift_check(sh, ts_clock_ms(), err))
        goto fail;
    ts_log(TS_LOG_INFO, "shim_open", "legacy=%s new=%s one_transaction=%s process=%s",
           ts_store_url(sh->legacy), ts_store_url(sh->nw), sh->shared ? "yes" : "no",
           sh->process_id);
    *out = sh;
    return 0;
fail:
    ts_error_context(err, "opening the shim");
    ts_shim_close(sh);
    return -1;
}

const ts_manifest *ts_shim_manifest(const ts_shim *sh) { return sh->m; }
ts_store *ts_shim_legacy(ts_shim *sh) { return sh->legacy; }
ts_store *ts_shim_new(ts_shim *sh) { return sh->nw; }
int64_t ts_shim_master_bot_id(const ts_shim *sh) { return sh->master_bot_id; }

ts_ctx ts_shim_master(const ts_shim *sh)
{
    return (ts_ctx){sh->master_bot_id, 1};
}

int ts_shim_state_index(const ts_shim *sh, const ts_increment *inc)
{
    for (int i = 0; i < sh->nstates; i++)
        if (sh->states[i].inc == inc)
            return i;
    return -1;
}

int ts_shim_stage(const ts_shim *sh, const char *increment_id, ts_stage *stage, int64_t *version)
{
    const ts_increment *inc = ts_manifest_find(sh->m, increment_id);
    int i = inc ? ts_shim_state_index(sh, inc) : -1;
    if (i < 0)
        return -1;
    *stage = sh->states[i].stage;
    *version = sh->states[i].version;
    return 0;
}

int ts_shim_refresh_due(ts_shim *sh, int64_t now)
{
    int notes = 0;
    ts_error ignore;
    if (now - sh->refreshed_ms >= sh->poll_ms)
        return 1;
    /* A NOTIFY from an operator's stage change: refresh now, not at the poll. */
    return ts_store_notified(sh->nw, &notes, &ignore) == 0 && notes > 0;
}

/* Which tables' backfills have finished: from then on new holds every legacy
   row of them, and a twin's references into them need no checking; and so
   which tables may refer to a row new lacks, decided here once per refresh
   instead of per write. */
static int load_backfilled(ts_shim *sh, ts_error *err)
{
    const ts_schema *sc = ts_manifest_new_schema(sh->m);
    char qt[TS_QNAME_MAX], sql[TS_QNAME_MAX + 80];
    ts_rows *r;
    int rc;
    if (ts_store_table(sh->nw, "ts_backfill", qt, err))
        return -1;
    snprintf(sql, sizeof sql, "SELECT table_name FROM %s WHERE finished_at IS NOT NULL", qt);
    if (ts_store_query(sh->nw, sql, NULL, 0, &r, err))
        return -1;
    memset(sh->backfilled, 0, (size_t)sc->ntables);
    while ((rc = ts_rows_next(r, err)) == 1) {
        ts_value v = ts_rows_get(r, 0);
        char name[TS_IDENT_MAX + 1];
        snprintf(name, sizeof name, "%.*s", (int)v.len, v.s ? v.s : "");
        const ts_table *t = ts_schema_table(sc, name);
        if (t != NULL)
            sh->backfilled[t - sc->tables] = 1;
    }
    ts_rows_close(r);
    for (int t = 0; t < sc->ntables; t++) {
        sh->may_pull[t] = 0;
        for (int f = 0; f < sc->tables[t].nfks; f++) {
            const ts_table *rt = ts_schema_table(sc, sc->tables[t].fks[f].table);
            sh->may_pull[t] |= rt != NULL && !sh->backfilled[rt - sc->tables] &&
                               ts_manifest_tmap_for_new(sh->m, rt->name) != NULL;
        }
    }
    return rc < 0 ? -1 : 0;
}

int ts_shim_refresh(ts_shim *sh, ts_error *err)
{
    ts_inc_state *fresh = calloc((size_t)sh->nstates, sizeof *fresh);
    if (fresh == NULL)
        return ts_fail(err, TS_E_NOMEM, "out of memory refreshing stages");
    if (ts_control_load(sh->nw, sh->m, fresh, err)) {
        free(fresh);
        return -1;
    }
    for (int i = 0; i < sh->nstates; i++)
        if (fresh[i].version != sh->states[i].version) {
            if (sh->states[i].version != 0)
                ts_log(TS_LOG_INFO, "stage_applied", "increment=%s stage=%s version=%lld",
                       fresh[i].inc->id, ts_stage_name(fresh[i].stage), (long long)fresh[i].version);
            sh->versions_changed = 1;
        }
    memcpy(sh->states, fresh, (size_t)sh->nstates * sizeof *fresh);
    free(fresh);
    sh->refreshed_ms = ts_clock_ms();
    return load_backfilled(sh, err);
}

/* ---- kill switch ---------------------------------------------------------- */

void ts_shim_set_kill_switch(ts_shim *sh, int on) { sh->kill_flag = on != 0; }

static void check_kill_file(ts_shim *sh)
{
    struct stat st;
    sh->kill_file_on = sh->kill_file && stat(sh->kill_file, &st) == 0;
    int on = ts_shim_kill_active(sh);
    if (on != sh->kill_logged) {
        if (on)
            ts_log(TS_LOG_ERROR, "kill_switch_on",
                   "file=%s note=\"reads from legacy and legacy-first writes for every increment "
                   "not past read_new; fencing off\"", sh->kill_file ? sh->kill_file : "-");
        else
            ts_log(TS_LOG_WARN, "kill_switch_off", "note=\"stages route normally again\"");
        sh->kill_logged = on;
        sh->versions_changed = 1;
    }
}

int ts_shim_kill_active(const ts_shim *sh) { return sh->kill_flag || sh->kill_file_on; }
int ts_shim_kill_switch(const ts_shim *sh) { return ts_shim_kill_active(sh); }

/* ---- health ------------------------------------------------------------- */

int ts_shim_health(ts_shim *sh, ts_error *err)
{
    int kill = ts_shim_kill_active(sh), need[2] = {0, !kill};   /* legacy, new */
    for (int i = 0; i < sh->nstates; i++) {
        if (sh->states[i].inc->kind != TS_INC_DATA || sh->states[i].inc->ntmaps == 0)
            continue;
        ts_route r = ts_stage_route(sh->states[i].stage, kill);
        need[0] |= r.primary == TS_SIDE_LEGACY || r.read == TS_SIDE_LEGACY;
        need[1] |= r.primary == TS_SIDE_NEW || r.read == TS_SIDE_NEW;
    }
    ts_store *st[2] = {sh->legacy, sh->nw};
    for (int k = 0; k < 2; k++)
        if (need[k] && ts_store_check(st[k], err) != 0) {
            ts_error_context(err, "the %s store is down", k == 0 ? "legacy" : "new");
            return -1;
        }
    return 0;
}

unsigned long ts_shim_losses(const ts_shim *sh)
{
    return ts_store_losses(sh->legacy) + (sh->shared ? 0 : ts_store_losses(sh->nw));
}

/* ---- counters ------------------------------------------------------------- */

ts_access *ts_shim_counters(ts_shim *sh, const char *new_table)
{
    const ts_schema *sc = ts_manifest_new_schema(sh->m);
    for (int i = 0; i < sc->ntables; i++)
        if (strcmp(sc->tables[i].name, new_table) == 0)
            return &sh->access[i];
    return NULL;
}

int ts_shim_access(const ts_shim *sh, const char *table, ts_access *out)
{
    ts_access *a = ts_shim_counters((ts_shim *)sh, table);
    if (a == NULL)
        return -1;
    *out = *a;
    return 0;
}

static void counters_json(const ts_shim *sh, ts_buf *b)
{
    const ts_schema *sc = ts_manifest_new_schema(sh->m);
    int n = 0;
    ts_buf_puts(b, "{");
    for (int i = 0; i < sc->ntables; i++) {
        const ts_access *a = &sh->access[i];
        if (!a->legacy_reads && !a->legacy_writes && !a->new_reads && !a->new_writes)
            continue;
        ts_buf_printf(b, "%s\"%s\":{\"legacy_reads\":%lld,\"legacy_writes\":%lld,"
                      "\"new_reads\":%lld,\"new_writes\":%lld,\"shadow_compared\":%lld,"
                      "\"shadow_mismatched\":%lld}",
                      n++ ? "," : "", sc->tables[i].name, (long long)a->legacy_reads,
                      (long long)a->legacy_writes, (long long)a->new_reads,
                      (long long)a->new_writes, (long long)a->shadow_compared,
                      (long long)a->shadow_mismatched);
    }
    ts_buf_puts(b, "}");
}

static int heartbeat(ts_shim *sh, ts_error *err)
{
    ts_buf versions = {0}, counters = {0};
    ts_buf_puts(&versions, "{");
    for (int i = 0; i < sh->nstates; i++)
        ts_buf_printf(&versions, "%s\"%s\":%lld", i ? "," : "", sh->states[i].inc->id,
                      (long long)sh->states[i].version);
    ts_buf_puts(&versions, "}");
    counters_json(sh, &counters);
    ts_heartbeat hb = {sh->process_id, sh->host, (int64_t)getpid(), sh->program, sh->started_at,
                       versions.s, counters.s, ts_shim_kill_active(sh)};
    int rc = versions.oom || counters.oom ? ts_fail(err, TS_E_NOMEM, "out of memory")
                                          : ts_control_heartbeat(sh->nw, &hb, err);
    ts_buf_free(&versions);
    ts_buf_free(&counters);
    if (rc == 0) {
        sh->heartbeat_ms_at = ts_clock_ms();
        sh->versions_changed = 0;
    }
    return rc;
}

int ts_shim_tick(ts_shim *sh, ts_error *err)
{
    int64_t now = ts_clock_ms(), applied = 0;
    int failed = 0;
    ts_error e;
    if (sh->in_tx)
        return ts_fail(err, TS_E_STATE, "ts_shim_tick inside a unit of work: commit or roll back first");
    check_kill_file(sh);
    /* Each duty is tried on its own: a new store that is down must not stop
       the others, and the kill switch keeps the caller serving meanwhile. */
    if (ts_shim_refresh_due(sh, now) && ts_shim_refresh(sh, &e)) {
        ts_log(TS_LOG_WARN, "stage_refresh_failed", "error=\"%s\"", e.msg);
        *err = e, failed = 1;
    }
    if ((sh->versions_changed || now - sh->heartbeat_ms_at >= sh->heartbeat_ms) && heartbeat(sh, &e)) {
        ts_log(TS_LOG_WARN, "heartbeat_failed", "error=\"%s\"", e.msg);
        *err = e, failed = 1;
    }
    if (ts_shim_drift_check(sh, now, &e)) {
        ts_log(TS_LOG_WARN, "legacy_tables_unchecked", "error=\"%s\"", e.msg);
        *err = e, failed = 1;
    }
    if (ts_shim_flush_mismatches(sh, &e)) {
        ts_log(TS_LOG_WARN, "mismatch_flush_failed", "error=\"%s\"", e.msg);
        *err = e, failed = 1;
    }
    ts_journal_stores js = ts_shim_journal(sh);
    if (ts_journal_replay(&js, TS_SIDE_LEGACY, "drift", &applied, &e) ||
        ts_journal_replay(&js, TS_SIDE_NEW, "drift", &applied, &e)) {
        ts_log(TS_LOG_WARN, "journal_repair_failed", "error=\"%s\"", e.msg);
        *err = e, failed = 1;
    }
    if (applied)
        ts_log(TS_LOG_INFO, "journal_repaired", "entries=%lld", (long long)applied);
    return failed ? -1 : 0;
}

int ts_shim_pending(ts_shim *sh, int64_t *drift, int64_t *change, ts_error *err)
{
    int64_t l = 0, n = 0;
    if (ts_journal_pending(sh->legacy, "drift", &l, err) ||
        ts_journal_pending(sh->nw, "drift", &n, err) ||
        ts_journal_pending(sh->nw, "change", change, err))
        return -1;
    *drift = l + n;
    return 0;
}

int ts_shim_repair(ts_shim *sh, int64_t *applied, int64_t *pending_left, ts_error *err)
{
    int64_t a = 0, left_l = 0, left_n = 0;
    ts_journal_stores js = ts_shim_journal(sh);
    if (ts_journal_replay(&js, TS_SIDE_LEGACY, "drift", &a, err) ||
        ts_journal_replay(&js, TS_SIDE_NEW, "drift", &a, err) ||
        ts_journal_pending(sh->legacy, "drift", &left_l, err) ||
        ts_journal_pending(sh->nw, "drift", &left_n, err))
        return -1;
    *applied = a;
    *pending_left = left_l + left_n;
    return 0;
}

/* ---- shadow mismatches ---------------------------------------------------- */

void ts_shim_add_mismatch(ts_shim *sh, const char *increment_id, const char *table,
                          const char *row_key, const char *column, const char *legacy_value,
                          const char *new_value)
{
    if (sh->nmismatches >= MAX_QUEUED_MISMATCHES) {
        ts_log(TS_LOG_WARN, "mismatch_dropped", "table=%s reason=queue_full", table);
        return;
    }
    if (ts_vec_reserve((void **)&sh->mismatches, &sh->capmismatches, sh->nmismatches + 1,
                       sizeof *sh->mismatches))
        return;
    ts_mismatch *mm = &sh->mismatches[sh->nmismatches++];
    mm->increment_id = strdup(increment_id);
    mm->table = strdup(table);
    mm->row_key = strdup(row_key);
    mm->column = dup_or_null(column);
    mm->legacy_value = dup_or_null(legacy_value);
    mm->new_value = dup_or_null(new_value);
    ts_time_now(mm->detected_at);
    ts_log(TS_LOG_WARN, "shadow_mismatch", "increment=%s table=%s key=%s column=%s", increment_id,
           table, row_key, column ? column : "-");
}

int ts_shim_flush_mismatches(ts_shim *sh, ts_error *err)
{
    ts_buf sql = {0};
    int rc = -1;
    if (sh->nmismatches == 0)
        return 0;
    if (ts_store_sql(sh->nw, "ts_mismatches",
                     "INSERT INTO %s (increment_id, table_name, row_key, column_name, legacy_value, "
                     "new_value, detected_at, process_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                     &sql, err) ||
        ts_store_begin(sh->nw, err))
        goto out;
    for (int i = 0; i < sh->nmismatches; i++) {
        ts_mismatch *mm = &sh->mismatches[i];
        ts_value p[8] = {ts_text(mm->increment_id), ts_text(mm->table), ts_text(mm->row_key),
                         ts_text(mm->column), ts_text(mm->legacy_value), ts_text(mm->new_value),
                         ts_text(mm->detected_at), ts_text(sh->process_id)};
        if (ts_store_exec(sh->nw, sql.s, p, 8, NULL, err)) {
            ts_store_rollback(sh->nw, NULL);
            goto out;
        }
    }
    if (ts_store_commit(sh->nw, err))
        goto out;
    free_mismatches(sh);
    rc = 0;
out:
    ts_buf_free(&sql);
    return rc;
}
