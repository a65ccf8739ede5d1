/* ts_control.c: stages, versions, audit and heartbeats in the control tables. */
#include "ts_control.h"

#include <stdio.h>
#include <string.h>

#include "ts_schema.h"

/* The runtime's own legacy tables the manifest moves (ts_schema_is_runtime). */
static int create_runtime_tables(ts_store *legacy, const ts_manifest *m, ts_error *err)
{
    const ts_schema *sc = ts_manifest_legacy_schema(m);
    const char *names[8];
    int n = 0;
    for (int i = 0; i < sc->ntables && n < (int)(sizeof names / sizeof *names); i++)
        if (ts_schema_is_runtime(sc->tables[i].name) && ts_manifest_owner(m, sc->tables[i].name))
            names[n++] = sc->tables[i].name;
    return n ? ts_schema_apply_tables(legacy, sc, names, n, err) : 0;
}

int ts_control_init(ts_store *legacy, ts_store *nw, const ts_manifest *m, ts_error *err)
{
    ts_buf sql = {0};
    int rc = 0;
    if (ts_schema_apply(nw, ts_schema_control(), err) || ts_schema_apply(nw, ts_schema_journal(), err) ||
        ts_schema_apply(legacy, ts_schema_journal(), err) || create_runtime_tables(legacy, m, err))
        return -1;
    if (ts_store_sql(nw, "ts_increments",
                     "INSERT INTO %s (id, stage, version) VALUES ($1, $2, 1) ON CONFLICT (id) DO NOTHING",
                     &sql, err))
        return -1;
    for (int i = 0; i < ts_manifest_count(m) && rc == 0; i++) {
        const ts_increment *inc = ts_manifest_at(m, i);
        ts_stage first = inc->kind == TS_INC_BEHAVIOUR ? TS_STAGE_OFF : TS_STAGE_LEGACY;
        ts_value p[2] = {ts_text(inc->id), ts_text(ts_stage_name(first))};
        if ((rc = ts_store_exec(nw, sql.s, p, 2, NULL, err)))
            ts_error_context(err, "registering increment %s", inc->id);
    }
    ts_buf_free(&sql);
    return rc;
}

int ts_control_load(ts_store *nw, const ts_manifest *m, ts_inc_state *states, ts_error *err)
{
    ts_buf sql = {0};
    ts_rows *r;
    int n = ts_manifest_count(m), rc;
    for (int i = 0; i < n; i++)
        states[i] = (ts_inc_state){ts_manifest_at(m, i), TS_STAGE_LEGACY, 0, ""};
    rc = ts_store_sql(nw, "ts_increments", "SELECT id, stage, version, changed_at FROM %s", &sql,
                      err) ||
         ts_store_query(nw, sql.s, NULL, 0, &r, err);
    ts_buf_free(&sql);
    if (rc)
        return -1;
    while ((rc = ts_rows_next(r, err)) == 1) {
        ts_value id = ts_rows_get(r, 0), stage = ts_rows_get(r, 1), at = ts_rows_get(r, 3);
        char idbuf[TS_INCREMENT_ID_MAX + 1], stagebuf[32];
        snprintf(idbuf, sizeof idbuf, "%.*s", (int)id.len, id.s);
        snprintf(stagebuf, sizeof stagebuf, "%.*s", (int)stage.len, stage.s);
        for (int i = 0; i < n; i++) {
            if (strcmp(states[i].inc->id, idbuf) != 0)
                continue;
            if (ts_stage_parse(stagebuf, states[i].inc->kind == TS_INC_BEHAVIOUR, &states[i].stage,
                               err)) {
                ts_error_context(err, "ts_increments row %s", idbuf);
                ts_rows_close(r);
                return -1;
            }
            states[i].version = ts_rows_get(r, 2).i;
            if (at.type != TS_NULL)
                snprintf(states[i].changed_at, TS_TIME_MAX, "%.*s", (int)at.len, at.s);
        }
    }
    ts_rows_close(r);
    if (rc < 0)
        return -1;
    for (int i = 0; i < n; i++)
        if (states[i].version == 0)
            return ts_fail(err, TS_E_STATE,
                           "increment %s has no row in ts_increments of %s: run 'ts-migrate init' first",
                           states[i].inc->id, ts_store_url(nw));
    return 0;
}

int ts_control_version(ts_store *nw, const char *increment_id, int lock, int64_t *version,
                       ts_error *err)
{
    ts_value p = ts_text(increment_id);
    int pg_lock = lock && ts_store_engine(nw) == TS_ENGINE_PG;
    int rc = ts_store_query_int_sql(nw, "ts_increments",
                                    pg_lock ? "SELECT version FROM %s WHERE id = $1 FOR SHARE"
                                            : "SELECT version FROM %s WHERE id = $1",
                                    &p, 1, version, err);
    if (rc == 0)
        return ts_fail(err, TS_E_STATE, "increment %s is not registered in %s: run 'ts-migrate init'",
                       increment_id, ts_store_url(nw));
    return rc < 0 ? -1 : 0;
}

int ts_control_set_stage(ts_store *nw, const char *increment_id, ts_stage from, int64_t expected,
                         ts_stage to, const char *actor, const char *reason, ts_error *err)
{
    char now[TS_TIME_MAX];
    int64_t changed = 0;
    ts_time_now(now);
    ts_value p[7] = {ts_text(ts_stage_name(to)), ts_int(expected + 1), ts_text(now), ts_text(actor),
                     ts_text(reason), ts_text(increment_id), ts_text(ts_stage_name(from))};
    if (ts_store_exec_sql(nw, "ts_increments",
                          "UPDATE %s SET stage = $1, version = $2, changed_at = $3, changed_by = $4, "
                          "reason = $5 WHERE id = $6 AND stage = $7 AND version = $2 - 1",
                          p, 7, &changed, err))
        return -1;
    /* Processes listening refresh at once (on commit) instead of at their next poll. */
    if (changed == 1 && ts_store_notify(nw, TS_STAGE_CHANNEL, increment_id, err))
        return -1;
    if (changed != 1)
        return ts_fail(err, TS_E_STALE,
                       "increment %s is no longer at %s version %lld: another operator changed it; "
                       "run 'ts-migrate status' and decide again",
                       increment_id, ts_stage_name(from), (long long)expected);
    return 0;
}

int ts_control_audit(ts_store *nw, const ts_audit_entry *a, ts_error *err)
{
    char now[TS_TIME_MAX];
    ts_time_now(now);
    ts_value p[12] = {ts_text(now), ts_text(a->actor ? a->actor : "unknown"), ts_text(a->host),
                      ts_int(a->pid), ts_text(a->command ? a->command : "unknown"), ts_text(a->args),
                      ts_text(a->increment_id), ts_text(a->from_stage), ts_text(a->to_stage),
                      ts_text(a->result ? a->result : "unknown"), ts_text(a->error),
                      ts_int(a->duration_ms)};
    return ts_store_exec_sql(nw, "ts_audit",
                             "INSERT INTO %s (at, actor, host, pid, command, args, increment_id, "
                             "from_stage, to_stage, result, error, duration_ms) "
                             "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                             p, 12, NULL, err);
}

int ts_control_heartbeat(ts_store *nw, const ts_heartbeat *hb, ts_error *err)
{
    char now[TS_TIME_MAX];
    ts_time_now(now);
    ts_value p[9] = {ts_text(hb->id), ts_text(hb->host), ts_int(hb->pid), ts_text(hb->program),
                     ts_text(hb->started_at), ts_text(now), ts_text(hb->versions ? hb->versions : "{}"),
                     ts_text(hb->counters ? hb->counters : "{}"), ts_bool(hb->kill_switch)};
    return ts_store_exec_sql(nw, "ts_processes",
                             "INSERT INTO %s (id, host, pid, program, started_at, heartbeat_at, "
                             "versions, counters, kill_switch) "
                             "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
                             "ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, "
                             "versions = excluded.versions, counters = excluded.counters, "
                             "kill_switch = excluded.kill_switch",
                             p, 9, NULL, err);
}

int ts_control_forget_process(ts_store *nw, const char *id, ts_error *err)
{
    ts_value p = ts_text(id);
    return ts_store_exec_sql(nw, "ts_processes", "DELETE FROM %s WHERE id = $1", &p, 1, NULL, err);
}
