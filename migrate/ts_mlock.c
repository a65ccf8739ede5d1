/* ts_mlock.c: the operator lock: PostgreSQL advisory lock, SQLite lease row. */
#include "ts_mlock.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ts_clock.h"

#define LOCK_NAME "migrate"
#define BEAT_EVERY_MS 2000

static int is_pg(const ts_mig *g) { return ts_store_engine(g->nw) == TS_ENGINE_PG; }

/* FNV-1a of the new store's schema: one lock per migration, not per database. */
static int64_t lock_key(const ts_mig *g)
{
    uint64_t h = 1469598103934665603ull;
    const char *s = ts_store_schema(g->nw);
    for (const char *p = "tenantshift:migrate:"; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    for (; s && *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (int64_t)h;
}

typedef struct holder {
    int found;
    char actor[256], host[256], command[256], since[TS_TIME_MAX], beat[TS_TIME_MAX];
    int64_t pid;
} holder;

static void copy_text(ts_value v, char *out, size_t n)
{
    snprintf(out, n, "%.*s", v.type == TS_NULL ? 0 : (int)v.len, v.s ? v.s : "");
}

static int read_holder(ts_mig *g, holder *h, ts_error *err)
{
    char qt[TS_QNAME_MAX], sql[TS_QNAME_MAX + 128];
    ts_rows *r;
    ts_value p = ts_text(LOCK_NAME);
    memset(h, 0, sizeof *h);
    if (ts_store_table(g->nw, "ts_lock", qt, err))
        return -1;
    snprintf(sql, sizeof sql, "SELECT actor, host, pid, command, acquired_at, heartbeat_at "
             "FROM %s WHERE name = $1", qt);
    if (ts_store_query(g->nw, sql, &p, 1, &r, err))
        return -1;
    int rc = ts_rows_next(r, err);
    if (rc == 1) {
        h->found = 1;
        copy_text(ts_rows_get(r, 0), h->actor, sizeof h->actor);
        copy_text(ts_rows_get(r, 1), h->host, sizeof h->host);
        h->pid = ts_rows_get(r, 2).i;
        copy_text(ts_rows_get(r, 3), h->command, sizeof h->command);
        copy_text(ts_rows_get(r, 4), h->since, sizeof h->since);
        copy_text(ts_rows_get(r, 5), h->beat, sizeof h->beat);
    }
    ts_rows_close(r);
    return rc < 0 ? -1 : 0;
}

static void describe(const holder *h, char *out, size_t n)
{
    size_t la = strlen(h->actor), lh = strlen(h->host);
    /* The default actor is user@host already: do not say the host twice. */
    int has_host = la > lh && h->actor[la - lh - 1] == '@' && strcmp(h->actor + la - lh, h->host) == 0;
    snprintf(out, n, "locked by %s%s%s pid %lld since %s (%s)", h->actor, has_host ? "" : "@",
             has_host ? "" : h->host, (long long)h->pid, h->since, h->command);
}

/* A lease nobody renews: expired, or its holder is a dead process of this host. */
static int lease_dead(const ts_mig *g, const holder *h)
{
    int64_t beat;
    if (ts_time_to_unix(h->beat, &beat, NULL) == 0 && ts_mig_now() - beat > g->o.lock_ttl_s)
        return 1;
    return strcmp(h->host, g->host) == 0 && h->pid > 0 && kill((pid_t)h->pid, 0) != 0 &&
           errno == ESRCH;
}

static int write_row(ts_mig *g, const char *command, ts_error *err)
{
    char qt[TS_QNAME_MAX], sql[TS_QNAME_MAX + 320], now[TS_TIME_MAX];
    ts_time_now(now);
    ts_value p[6] = {ts_text(LOCK_NAME), ts_text(g->actor), ts_text(g->host),
                     ts_int((int64_t)getpid()), ts_text(command), ts_text(now)};
    if (ts_store_table(g->nw, "ts_lock", qt, err))
        return -1;
    snprintf(sql, sizeof sql,
             "INSERT INTO %s (name, actor, host, pid, command, acquired_at, heartbeat_at) "
             "VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (name) DO UPDATE SET "
             "actor = excluded.actor, host = excluded.host, pid = excluded.pid, "
             "command = excluded.command, acquired_at = excluded.acquired_at, "
             "heartbeat_at = excluded.heartbeat_at", qt);
    return ts_store_exec(g->nw, sql, p, 6, NULL, err);
}

/* pg_locks rows of the advisory lock of g: $1, $2 its two halves (see advisory_key). */
#define ADVISORY_LOCK "pg_catalog.pg_locks WHERE locktype = 'advisory' AND granted AND " \
                      "classid::bigint = $1 AND objid::bigint = $2 AND objsubid = 1"

static void advisory_key(const ts_mig *g, ts_value k[2])
{
    k[0] = ts_int((int64_t)((uint64_t)lock_key(g) >> 32));
    k[1] = ts_int(lock_key(g) & 0xffffffff);
}

static int lock_lost(ts_mlock *l, ts_error *err)
{
    l->held = 0;
    return ts_fail(err, TS_E_LOCKED, "the migration lock was taken away from this run "
                   "(unlock --force, or the lease expired): stopped; check 'ts-migrate status'");
}

static int refuse(ts_mig *g, ts_error *err)
{
    holder h;
    char who[1200];
    if (read_holder(g, &h, err))
        return -1;
    if (!h.found)
        return ts_fail(err, TS_E_LOCKED, "locked by another session of %s (advisory lock): "
                       "wait for it, or 'ts-migrate unlock --force' if it is stuck",
                       ts_store_url(g->nw));
    describe(&h, who, sizeof who);
    return ts_fail(err, TS_E_LOCKED, "%s: wait for it to finish, or if that process is gone "
                   "and its lease has not expired, 'ts-migrate unlock --force'", who);
}

int ts_mlock_acquire(ts_mlock *l, ts_mig *g, const char *command, ts_error *err)
{
    memset(l, 0, sizeof *l);
    l->g = g;
    l->key = lock_key(g);
    if (is_pg(g)) {
        ts_value k = ts_int(l->key);
        int64_t got = 0;
        if (ts_store_query_int(g->nw, "SELECT pg_try_advisory_lock($1)::int", &k, 1, &got, err) < 0)
            return -1;
        if (!got)
            return refuse(g, err);
        l->held = 1;
        if (write_row(g, command, err)) {
            ts_mlock_release(l);
            return -1;
        }
        return 0;
    }
    holder h;
    if (ts_store_begin(g->nw, err))
        return -1;
    if (read_holder(g, &h, err))
        goto fail;
    if (h.found && !lease_dead(g, &h)) {
        ts_store_rollback(g->nw, NULL);
        return refuse(g, err);
    }
    if (write_row(g, command, err) || ts_store_commit(g->nw, err))
        goto fail;
    l->held = 1;
    l->beat_ms = ts_clock_ms();
    return 0;
fail:
    ts_store_rollback(g->nw, NULL);
    return -1;
}

int ts_mlock_beat(ts_mlock *l, ts_error *err)
{
    if (!l->held || is_pg(l->g) || ts_clock_ms() - l->beat_ms < BEAT_EVERY_MS)
        return 0;
    char qt[TS_QNAME_MAX], sql[TS_QNAME_MAX + 128], now[TS_TIME_MAX];
    int64_t changed = 0;
    ts_time_now(now);
    ts_value p[4] = {ts_text(now), ts_text(LOCK_NAME), ts_text(l->g->host), ts_int((int64_t)getpid())};
    if (ts_store_table(l->g->nw, "ts_lock", qt, err))
        return -1;
    snprintf(sql, sizeof sql, "UPDATE %s SET heartbeat_at = $1 WHERE name = $2 AND host = $3 "
             "AND pid = $4", qt);
    if (ts_store_exec(l->g->nw, sql, p, 4, &changed, err))
        return -1;
    if (changed != 1)
        return lock_lost(l, err);
    l->beat_ms = ts_clock_ms();
    return 0;
}

int ts_mlock_check(ts_mlock *l, ts_error *err)
{
    char qt[TS_QNAME_MAX], sql[TS_QNAME_MAX + 128];
    int64_t n = 0;
    if (l->g == NULL)
        return 0;   /* never taken: a dry run, or a C-API caller that serializes itself */
    if (!l->held)
        return lock_lost(l, err);
    if (is_pg(l->g)) {
        /* A session lock: a new session after a lost connection does not hold it. */
        ts_value k[2];
        advisory_key(l->g, k);
        if (ts_store_query_int(l->g->nw, "SELECT count(*) FROM " ADVISORY_LOCK
                               " AND pid = pg_catalog.pg_backend_pid()", k, 2, &n, err) < 0)
            return -1;
    } else {
        ts_value p[3] = {ts_text(LOCK_NAME), ts_text(l->g->host), ts_int((int64_t)getpid())};
        if (ts_store_table(l->g->nw, "ts_lock", qt, err))
            return -1;
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE name = $1 AND host = $2 AND "
                 "pid = $3", qt);
        if (ts_store_query_int(l->g->nw, sql, p, 3, &n, err) < 0)
            return -1;
    }
    return n == 1 ? 0 : lock_lost(l, err);
}

void ts_mlock_release(ts_mlock *l)
{
    char qt[TS_QNAME_MAX], sql[TS_QNAME_MAX + 96];
    ts_error err;
    if (!l->held)
        return;
    ts_value p[3] = {ts_text(LOCK_NAME), ts_text(l->g->host), ts_int((int64_t)getpid())};
    if (ts_store_table(l->g->nw, "ts_lock", qt, &err) == 0) {
        snprintf(sql, sizeof sql, "DELETE FROM %s WHERE name = $1 AND host = $2 AND pid = $3", qt);
        ts_store_exec(l->g->nw, sql, p, 3, NULL, &err);
    }
    if (is_pg(l->g)) {
        ts_value k = ts_int(l->key);
        int64_t v;
        ts_store_query_int(l->g->nw, "SELECT pg_advisory_unlock($1)::int", &k, 1, &v, &err);
    }
    l->held = 0;
}

int ts_mlock_holder(ts_mig *g, char *out, size_t n, ts_error *err)
{
    holder h;
    int exists;
    out[0] = '\0';
    if (ts_store_table_exists(g->nw, "ts_lock", &exists, err) || !exists)
        return exists ? 0 : -1;
    if (read_holder(g, &h, err))
        return -1;
    if (!h.found)
        return 0;
    if (is_pg(g)) {
        /* The row outlives a holder that died; the advisory lock does not. */
        ts_value k[2];
        int64_t held = 0;
        advisory_key(g, k);
        if (ts_store_query_int(g->nw, "SELECT count(*) FROM " ADVISORY_LOCK, k, 2, &held, err) < 0)
            return -1;
        if (!held)
            return 0;
    } else if (lease_dead(g, &h)) {
        return 0;
    }
    describe(&h, out, n);
    return 0;
}

int ts_mlock_break(ts_mig *g, char *was, size_t n, ts_error *err)
{
    char qt[TS_QNAME_MAX], sql[TS_QNAME_MAX + 64];
    ts_value name = ts_text(LOCK_NAME);
    if (ts_mlock_holder(g, was, n, err))
        return -1;
    if (is_pg(g)) {
        ts_value k[2];
        int64_t v;
        advisory_key(g, k);
        if (ts_store_query_int(g->nw, "SELECT count(pg_catalog.pg_terminate_backend(pid)) FROM "
                               ADVISORY_LOCK, k, 2, &v, err) < 0)
            return -1;
    }
    if (ts_store_table(g->nw, "ts_lock", qt, err))
        return -1;
    snprintf(sql, sizeof sql, "DELETE FROM %s WHERE name = $1", qt);
    return ts_store_exec(g->nw, sql, &name, 1, NULL, err);
}
