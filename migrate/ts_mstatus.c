/* ts_mstatus.c: status, plan and the audit trail, as text or JSON. */
#include "ts_mstatus.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ts_conform.h"
#include "ts_mgate.h"
#include "ts_mlock.h"
#include "ts_mproc.h"
#include "ts_shim_int.h"

#define MAX_TABLES TS_INCREMENT_MAX_TABLES

static void print_json(ts_mig *g, cJSON *doc)
{
    char *s = cJSON_Print(doc);
    if (s)
        fprintf(g->out, "%s\n", s);
    free(s);
}

/* Rows per second and seconds left of a backfill row set, from its timestamps. */
static int backfill_json(ts_mig *g, const ts_increment *inc, cJSON *arr, ts_buf *text, ts_error *err)
{
    char qt[TS_QNAME_MAX], sql[TS_QNAME_MAX + 192];
    ts_value p = ts_text(inc->id);
    ts_rows *r;
    int rc;
    if (ts_store_table(g->nw, "ts_backfill", qt, err))
        return -1;
    snprintf(sql, sizeof sql, "SELECT table_name, rows_done, rows_total, started_at, updated_at, "
             "finished_at FROM %s WHERE increment_id = $1 ORDER BY table_name", qt);
    if (ts_store_query(g->nw, sql, &p, 1, &r, err))
        return -1;
    while ((rc = ts_rows_next(r, err)) == 1) {
        ts_value t = ts_rows_get(r, 0), s = ts_rows_get(r, 3), u = ts_rows_get(r, 4);
        int64_t done = ts_rows_get(r, 1).i, total = ts_rows_get(r, 2).i, t0 = 0, t1 = 0;
        int finished = ts_rows_get(r, 5).type != TS_NULL;
        char name[TS_IDENT_MAX + 1], ts0[TS_TIME_MAX], ts1[TS_TIME_MAX];
        snprintf(name, sizeof name, "%.*s", (int)t.len, t.s);
        snprintf(ts0, sizeof ts0, "%.*s", s.type == TS_NULL ? 0 : (int)s.len, s.s ? s.s : "");
        snprintf(ts1, sizeof ts1, "%.*s", u.type == TS_NULL ? 0 : (int)u.len, u.s ? u.s : "");
        ts_time_to_unix(ts0, &t0, NULL);
        ts_time_to_unix(ts1, &t1, NULL);
        double rate = t1 > t0 ? (double)done / (double)(t1 - t0) : 0;
        int64_t eta = finished ? 0 : rate > 0 ? (int64_t)((double)(total - done) / rate) : -1;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "table", name);
        cJSON_AddNumberToObject(o, "rows_done", (double)done);
        cJSON_AddNumberToObject(o, "rows_total", (double)total);
        cJSON_AddNumberToObject(o, "rate", rate);
        cJSON_AddNumberToObject(o, "eta_s", (double)eta);
        cJSON_AddBoolToObject(o, "finished", finished);
        cJSON_AddItemToArray(arr, o);
        ts_buf_printf(text, "%s%s %lld/%lld%s", text->len ? ", " : "", name, (long long)done,
                      (long long)total, finished ? " done" : "");
        if (!finished && eta >= 0)
            ts_buf_printf(text, " %.0f rows/s ETA %llds", rate, (long long)eta);
    }
    ts_rows_close(r);
    return rc < 0 ? -1 : 0;
}

typedef struct proc_ctx {
    cJSON *arr;
    ts_mig *g;
} proc_ctx;

static int proc_one(void *vctx, const ts_mproc *p, ts_error *err)
{
    proc_ctx *c = vctx;
    cJSON *o = cJSON_CreateObject();
    (void)err;
    cJSON_AddStringToObject(o, "id", p->id);
    cJSON_AddStringToObject(o, "host", p->host);
    cJSON_AddNumberToObject(o, "pid", (double)p->pid);
    cJSON_AddStringToObject(o, "program", p->program);
    cJSON_AddStringToObject(o, "heartbeat_at", p->heartbeat);
    cJSON_AddBoolToObject(o, "live", p->live);
    cJSON_AddBoolToObject(o, "kill_switch", p->kill_switch);
    cJSON_AddItemToObject(o, "versions", p->versions ? cJSON_Duplicate(p->versions, 1)
                                                     : cJSON_CreateObject());
    cJSON_AddItemToArray(c->arr, o);
    if (!c->g->o.json) {
        char *v = p->versions ? cJSON_PrintUnformatted(p->versions) : NULL;
        fprintf(c->g->out, "  %s pid %lld (%s) heartbeat %s %s%s versions %s\n", p->host,
                (long long)p->pid, p->program, p->heartbeat, p->live ? "live" : "STALE",
                p->kill_switch ? " KILL-SWITCH-ON (reads and writes legacy-first)" : "",
                v ? v : "{}");
        free(v);
    }
    return 0;
}

int ts_mstatus_status(ts_mig *g, ts_error *err)
{
    ts_inc_state *states;
    cJSON *doc = cJSON_CreateObject(), *incs = cJSON_AddArrayToObject(doc, "increments");
    int rc = -1;
    int64_t dl = 0, dn = 0, ch = 0;
    char holder[1200];
    if (ts_mig_states(g, &states, err)) {
        cJSON_Delete(doc);
        return -1;
    }
    if (!g->o.json)
        fprintf(g->out, "%-5s %-20s %-11s %-4s %-21s %s\n", "id", "name", "stage", "ver", "since",
                "backfill / shadow / legacy access");
    for (int i = 0; i < ts_manifest_count(g->m); i++) {
        const ts_inc_state *st = &states[i];
        cJSON *o = cJSON_CreateObject(), *bf = cJSON_CreateArray();
        ts_buf text = {0};
        int64_t compared = 0, mism = 0, access = 0;
        cJSON_AddStringToObject(o, "id", st->inc->id);
        cJSON_AddStringToObject(o, "name", st->inc->name);
        cJSON_AddStringToObject(o, "stage", ts_stage_name(st->stage));
        cJSON_AddNumberToObject(o, "version", (double)st->version);
        cJSON_AddStringToObject(o, "changed_at", st->changed_at);
        cJSON_AddItemToObject(o, "backfill", bf);
        cJSON_AddItemToArray(incs, o);
        if (st->inc->kind == TS_INC_DATA &&
            (backfill_json(g, st->inc, bf, &text, err) ||
             ts_mgate_shadow(g, st, &compared, &mism, err) ||
             ts_mgate_legacy_access(g, st, &access, NULL, err))) {
            ts_buf_free(&text);
            goto out;
        }
        cJSON_AddNumberToObject(o, "shadow_compared", (double)compared);
        cJSON_AddNumberToObject(o, "shadow_mismatched", (double)mism);
        cJSON_AddNumberToObject(o, "legacy_access_since_new_only", (double)access);
        if (!g->o.json)
            fprintf(g->out, "%-5s %-20s %-11s %-4lld %-21s %s%sshadow %lld/%lld mismatched%s\n",
                    st->inc->id, st->inc->name, ts_stage_name(st->stage), (long long)st->version,
                    st->changed_at[0] ? st->changed_at : "-", text.len ? text.s : "",
                    text.len ? "; " : "", (long long)mism, (long long)compared,
                    st->stage == TS_STAGE_NEW_ONLY ? "" : "");
        if (!g->o.json && st->stage == TS_STAGE_NEW_ONLY)
            fprintf(g->out, "      legacy access since new_only: %lld\n", (long long)access);
        ts_buf_free(&text);
    }
    if (ts_journal_pending(g->legacy, "drift", &dl, err) || ts_journal_pending(g->nw, "drift", &dn, err) ||
        ts_journal_pending(g->nw, "change", &ch, err) || ts_mlock_holder(g, holder, sizeof holder, err))
        goto out;
    int64_t sl = 0, sn = 0;
    ts_buf first = {0}, other = {0};   /* the oldest stuck entry of either journal */
    rc = ts_journal_stuck(g->nw, &sn, &first, err) ||
         ts_journal_stuck(g->legacy, &sl, first.len ? &other : &first, err);
    ts_buf_free(&other);
    if (rc) {
        rc = -1;
        ts_buf_free(&first);
        goto out;
    }
    cJSON *j = cJSON_AddObjectToObject(doc, "journal_pending");
    cJSON_AddNumberToObject(j, "drift_legacy", (double)dl);
    cJSON_AddNumberToObject(j, "drift_new", (double)dn);
    cJSON_AddNumberToObject(j, "change", (double)ch);
    cJSON_AddNumberToObject(j, "stuck", (double)(sl + sn));
    if (first.len)
        cJSON_AddStringToObject(j, "first_stuck", first.s);
    cJSON_AddStringToObject(doc, "lock", holder[0] ? holder : "free");
    if (!g->o.json) {
        fprintf(g->out, "journal pending: drift legacy %lld, drift new %lld, change %lld\n",
                (long long)dl, (long long)dn, (long long)ch);
        if (sl + sn)
            fprintf(g->out, "journal stuck: %lld entries do not apply; the first: %s\n",
                    (long long)(sl + sn), first.s);
        fprintf(g->out, "lock: %s\nprocesses:\n", holder[0] ? holder : "free");
    }
    ts_buf_free(&first);
    proc_ctx pc = {cJSON_AddArrayToObject(doc, "processes"), g};
    if (ts_mproc_each(g, proc_one, &pc, err))
        goto out;
    if (g->o.json)
        print_json(g, doc);
    rc = 0;
out:
    cJSON_Delete(doc);
    free(states);
    return rc;
}

int ts_mstatus_plan(ts_mig *g, ts_error *err)
{
    ts_inc_state *states;
    cJSON *doc = cJSON_CreateArray();
    int rc = -1;
    if (ts_mig_states(g, &states, err)) {
        cJSON_Delete(doc);
        return -1;
    }
    for (int i = 0; i < ts_manifest_count(g->m); i++) {
        const ts_inc_state *st = &states[i];
        int next = ts_stage_next(st->stage);
        cJSON *o = cJSON_CreateObject(), *ga = cJSON_CreateArray();
        cJSON_AddStringToObject(o, "id", st->inc->id);
        cJSON_AddStringToObject(o, "stage", ts_stage_name(st->stage));
        cJSON_AddItemToArray(doc, o);
        if (next < 0) {
            cJSON_AddNullToObject(o, "next");
            cJSON_Delete(ga);
            if (!g->o.json)
                fprintf(g->out, "%s %s: %s, nothing further\n", st->inc->id, st->inc->name,
                        ts_stage_name(st->stage));
            continue;
        }
        ts_gates gs;
        ts_stage to = (ts_stage)next;
        if (ts_mgate_check(g, states, st, to, 1, &gs, err)) {
            cJSON_Delete(ga);
            goto out;
        }
        const char *cmd = to == TS_STAGE_CONTRACTED ? "contract" : "advance";
        int ok = ts_mgate_failed(&gs) == NULL;
        cJSON_AddStringToObject(o, "next", ts_stage_name(to));
        cJSON_AddStringToObject(o, "command", cmd);
        cJSON_AddBoolToObject(o, "ready", ok);
        cJSON_AddItemToObject(o, "gates", ga);
        if (!g->o.json)
            fprintf(g->out, "%s %s: %s -> %s: %s ('ts-migrate %s %s%s')\n", st->inc->id,
                    st->inc->name, ts_stage_name(st->stage), ts_stage_name(to),
                    ok ? "ready" : "blocked", cmd, st->inc->id,
                    to == TS_STAGE_CONTRACTED ? " --confirm" : "");
        for (int k = 0; k < gs.n; k++) {
            cJSON *go = cJSON_CreateObject();
            cJSON_AddStringToObject(go, "gate", gs.g[k].name);
            cJSON_AddBoolToObject(go, "pass", gs.g[k].ok);
            cJSON_AddStringToObject(go, "why", gs.g[k].why);
            cJSON_AddItemToArray(ga, go);
            if (!g->o.json)
                fprintf(g->out, "    [%s] %-13s %s\n", gs.g[k].ok ? "pass" : "FAIL", gs.g[k].name,
                        gs.g[k].why);
        }
    }
    if (g->o.json)
        print_json(g, doc);
    rc = 0;
out:
    cJSON_Delete(doc);
    free(states);
    return rc;
}

int ts_mstatus_audit(ts_mig *g, int n, ts_error *err)
{
    char qt[TS_QNAME_MAX], sql[TS_QNAME_MAX + 256];
    ts_value p = ts_int(n);
    ts_rows *r;
    int rc;
    cJSON *doc = cJSON_CreateArray();
    static const char *const cols[] = {"id", "at", "actor", "host", "pid", "command", "args",
                                       "increment_id", "from_stage", "to_stage", "result",
                                       "error", "duration_ms"};
    if (ts_store_table(g->nw, "ts_audit", qt, err)) {
        cJSON_Delete(doc);
        return -1;
    }
    snprintf(sql, sizeof sql, "SELECT id, at, actor, host, pid, command, args, increment_id, "
             "from_stage, to_stage, result, error, duration_ms FROM %s ORDER BY id DESC LIMIT $1", qt);
    if (ts_store_query(g->nw, sql, &p, 1, &r, err)) {
        cJSON_Delete(doc);
        return -1;
    }
    while ((rc = ts_rows_next(r, err)) == 1) {
        cJSON *o = cJSON_CreateObject();
        char v[4200];
        for (int c = 0; c < 13; c++) {
            ts_value x = ts_rows_get(r, c);
            if (x.type == TS_NULL)
                cJSON_AddNullToObject(o, cols[c]);
            else if (x.type == TS_INT)
                cJSON_AddNumberToObject(o, cols[c], (double)x.i);
            else {
                snprintf(v, sizeof v, "%.*s", (int)x.len, x.s);
                cJSON_AddStringToObject(o, cols[c], v);
            }
        }
        cJSON_AddItemToArray(doc, o);
        if (!g->o.json) {
            const cJSON *e = cJSON_GetObjectItem(o, "error"), *a = cJSON_GetObjectItem(o, "args");
            fprintf(g->out, "%s %s %s %s %s -> %s %s %lldms %s%s%s\n",
                    cJSON_GetObjectItem(o, "at")->valuestring,
                    cJSON_GetObjectItem(o, "actor")->valuestring,
                    cJSON_GetObjectItem(o, "command")->valuestring,
                    cJSON_IsString(a) ? a->valuestring : "",
                    cJSON_IsString(cJSON_GetObjectItem(o, "from_stage"))
                        ? cJSON_GetObjectItem(o, "from_stage")->valuestring : "-",
                    cJSON_IsString(cJSON_GetObjectItem(o, "to_stage"))
                        ? cJSON_GetObjectItem(o, "to_stage")->valuestring : "-",
                    cJSON_GetObjectItem(o, "result")->valuestring,
                    (long long)ts_rows_get(r, 12).i, cJSON_IsString(e) ? "error: " : "",
                    cJSON_IsString(e) ? e->valuestring : "", "");
        }
    }
    ts_rows_close(r);
    if (rc == 0 && g->o.json)
        print_json(g, doc);
    cJSON_Delete(doc);
    return rc < 0 ? -1 : 0;
}

/* ---- manifest check ------------------------------------------------------- */

int ts_mstatus_manifest_check(ts_mig *g, ts_error *err)
{
    ts_problems p = {0};
    int rc = 0;
    if (ts_conform_collect(g->legacy, g->nw, g->m, &p, err)) {
        ts_problems_free(&p);
        return -1;
    }
    if (g->o.json) {
        cJSON *doc = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(doc, "problems");
        cJSON_AddStringToObject(doc, "legacy", ts_store_url(g->legacy));
        for (int i = 0; i < p.n; i++)
            cJSON_AddItemToArray(arr, cJSON_CreateString(p.v[i]));
        print_json(g, doc);
        cJSON_Delete(doc);
    } else {
        for (int i = 0; i < p.n; i++)
            fprintf(g->out, "%s\n", p.v[i]);
        if (p.n == 0)
            fprintf(g->out, "the manifest accounts for every table and column of %s\n",
                    ts_store_url(g->legacy));
    }
    if (p.n) {
        /* Exit 1, as a diff tool does: the lists above are the answer. */
        g->exit_hint = TS_EXIT_FAILED;
        rc = ts_fail(err, TS_E_SCHEMA, "the manifest and the legacy store %s disagree in %d "
                     "place%s (listed above)", ts_store_url(g->legacy), p.n, p.n == 1 ? "" : "s");
    }
    ts_problems_free(&p);
    return rc;
}
