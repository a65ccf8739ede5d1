/* ts_mproc.c: process rows, acknowledgements and access counters. */
#include "ts_mproc.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ts_log.h"

#define POLL_MS 200

static void copy_text(ts_value v, char *out, size_t n)
{
    snprintf(out, n, "%.*s", v.type == TS_NULL ? 0 : (int)v.len, v.s ? v.s : "");
}

static cJSON *parse_json(ts_value v)
{
    if (v.type == TS_NULL)
        return NULL;
    return cJSON_ParseWithLength(v.s, v.len);
}

int ts_mproc_each(ts_mig *g, int (*fn)(void *ctx, const ts_mproc *p, ts_error *err), void *ctx,
                  ts_error *err)
{
    char qt[TS_QNAME_MAX], sql[TS_QNAME_MAX + 128];
    ts_rows *r;
    int rc, frc = 0;
    int64_t now = ts_mig_now();
    if (ts_store_table(g->nw, "ts_processes", qt, err))
        return -1;
    snprintf(sql, sizeof sql, "SELECT id, host, pid, program, heartbeat_at, versions, counters, "
             "kill_switch FROM %s ORDER BY host, pid", qt);
    if (ts_store_query(g->nw, sql, NULL, 0, &r, err))
        return -1;
    while (frc == 0 && (rc = ts_rows_next(r, err)) == 1) {
        ts_mproc p;
        int64_t beat = 0;
        memset(&p, 0, sizeof p);
        copy_text(ts_rows_get(r, 0), p.id, sizeof p.id);
        copy_text(ts_rows_get(r, 1), p.host, sizeof p.host);
        p.pid = ts_rows_get(r, 2).i;
        copy_text(ts_rows_get(r, 3), p.program, sizeof p.program);
        copy_text(ts_rows_get(r, 4), p.heartbeat, sizeof p.heartbeat);
        p.live = ts_time_to_unix(p.heartbeat, &beat, NULL) == 0 &&
                 (now - beat) * 1000 <= g->o.liveness_ms;
        ts_value ks = ts_rows_get(r, 7);
        p.kill_switch = (ks.type == TS_BOOL || ks.type == TS_INT) && ks.i != 0;
        cJSON *v = parse_json(ts_rows_get(r, 5)), *c = parse_json(ts_rows_get(r, 6));
        p.versions = v;
        p.counters = c;
        frc = fn(ctx, &p, err);
        cJSON_Delete(v);
        cJSON_Delete(c);
    }
    ts_rows_close(r);
    return frc || rc < 0 ? -1 : 0;
}

int64_t ts_mproc_applied(const ts_mproc *p, const char *inc_id)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(p->versions, inc_id);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : -1;
}

int64_t ts_mproc_counter(const ts_mproc *p, const char *const *tables, int n, const char *field)
{
    int64_t sum = 0;
    for (int i = 0; i < n; i++) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(p->counters, tables[i]);
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(t, field);
        if (cJSON_IsNumber(v))
            sum += (int64_t)v->valuedouble;
    }
    return sum;
}

typedef struct lag_ctx {
    const char *inc_id;
    int64_t version;
    int count, stale;
    ts_buf *names, *stale_names;
} lag_ctx;

static int lag_one(void *vctx, const ts_mproc *p, ts_error *err)
{
    lag_ctx *c = vctx;
    int64_t applied = ts_mproc_applied(p, c->inc_id);
    (void)err;
    if (!p->live) {
        c->stale++;
        if (c->stale_names)
            ts_buf_printf(c->stale_names, "%s%s pid %lld (%s) last heartbeat %s",
                          c->stale > 1 ? ", " : "", p->host, (long long)p->pid, p->program,
                          p->heartbeat);
        return 0;
    }
    if (applied >= c->version)
        return 0;
    c->count++;
    if (c->names)
        ts_buf_printf(c->names, "%s%s pid %lld (%s) reports version %lld", c->count > 1 ? ", " : "",
                      p->host, (long long)p->pid, p->program, (long long)applied);
    return 0;
}

int ts_mproc_lagging(ts_mig *g, const char *inc_id, int64_t version, int *count, ts_buf *names,
                     ts_error *err)
{
    lag_ctx c = {inc_id, version, 0, 0, names, NULL};
    int rc = ts_mproc_each(g, lag_one, &c, err);
    *count = c.count;
    return rc;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int ts_mproc_wait(ts_mig *g, ts_mlock *lock, const char *inc_id, int64_t version, ts_error *err)
{
    int waited = 0;
    if (g->o.dry_run) {
        ts_mig_step(g, "wait up to %d ms until every live process reports %s version %lld",
                    g->o.ack_timeout_ms, inc_id, (long long)version);
        return 0;
    }
    for (;;) {
        ts_buf names = {0}, stale = {0};
        lag_ctx c = {inc_id, version, 0, 0, &names, &stale};
        if (ts_mproc_each(g, lag_one, &c, err) || ts_mlock_beat(lock, err)) {
            ts_buf_free(&names);
            ts_buf_free(&stale);
            return -1;
        }
        if (c.count == 0 || waited >= g->o.ack_timeout_ms) {
            if (c.stale)
                ts_log(TS_LOG_WARN, "stale_processes", "increment=%s count=%d note=\"not waited "
                       "on: heartbeat older than %d ms\" processes=\"%s\"", inc_id, c.stale,
                       g->o.liveness_ms, stale.s);
            int rc = 0;
            if (c.count && g->o.force) {
                ts_mig_note(g, "forced past %d process(es) that did not apply %s version %lld: %s",
                            c.count, inc_id, (long long)version, names.s);
            } else if (c.count) {
                g->exit_hint = TS_EXIT_NOACK;
                rc = ts_fail(err, TS_E_STATE,
                             "increment %s is now at version %lld, but %d live process(es) did not "
                             "apply it within %d ms: %s. Their writes are fenced (refused as stale) "
                             "until they do. Check or restart them; then 'ts-migrate status'; or "
                             "roll back; --force goes on without them",
                             inc_id, (long long)version, c.count, g->o.ack_timeout_ms, names.s);
            }
            ts_buf_free(&names);
            ts_buf_free(&stale);
            return rc;
        }
        ts_buf_free(&names);
        ts_buf_free(&stale);
        sleep_ms(POLL_MS);
        waited += POLL_MS;
    }
}
