/*
 * ts_control.h: the control plane in the new store.
 *
 * ts_increments holds each increment's stage and version; the version goes up
 * by one with every change, and every change is a compare-and-set on the
 * version the operator read, so two operators can never both apply a change.
 * ts_audit records every attempted command; ts_processes is where each running
 * process reports the versions it has applied (its acknowledgement in the
 * two-phase stage change) and its access counters.
 */
#ifndef TS_CONTROL_H
#define TS_CONTROL_H

#include <stdint.h>

#include "ts_manifest.h"
#include "ts_stage.h"
#include "ts_store.h"

/* The notification channel stage changes are announced on (PostgreSQL). */
#define TS_STAGE_CHANNEL "ts_stage"

typedef struct ts_inc_state {
    const ts_increment *inc;
    ts_stage stage;
    int64_t version;
    char changed_at[TS_TIME_MAX];   /* "" when never changed */
} ts_inc_state;

/*
 * Make a store pair ready for tenantshift: the control plane and the journal
 * in the new store, the journal in the legacy store, and a ts_increments row
 * for every increment of the manifest (legacy / off, version 1) that has none.
 * Idempotent.
 */
int ts_control_init(ts_store *legacy, ts_store *nw, const ts_manifest *m, ts_error *err);

/* Read every increment's state; states[i] matches ts_manifest_at(m, i). An
   increment without a row is an error that says to run init. */
int ts_control_load(ts_store *nw, const ts_manifest *m, ts_inc_state *states, ts_error *err);

/*
 * The version of one increment, read inside the caller's transaction. With
 * lock set, PostgreSQL takes a share lock on the row (FOR SHARE), so a stage
 * change waits for this transaction; SQLite's write transaction already
 * excludes it.
 */
int ts_control_version(ts_store *nw, const char *increment_id, int lock, int64_t *version,
                       ts_error *err);

/*
 * Move an increment from stage `from` at version `expected` to stage `to`,
 * version expected + 1. Fails with TS_E_STALE when the row is no longer at
 * (from, expected): someone else changed it first. Runs in the caller's
 * transaction when one is open, else in its own.
 */
int ts_control_set_stage(ts_store *nw, const char *increment_id, ts_stage from, int64_t expected,
                         ts_stage to, const char *actor, const char *reason, ts_error *err);

/* One row of ts_audit. Text fields may be NULL. */
typedef struct ts_audit_entry {
    const char *actor, *host, *command, *args, *increment_id, *from_stage, *to_stage;
    const char *result;      /* "ok", "refused", "failed", "dry_run" */
    const char *error;
    int64_t pid, duration_ms;
} ts_audit_entry;

int ts_control_audit(ts_store *nw, const ts_audit_entry *a, ts_error *err);

/* A process's heartbeat: upserted into ts_processes. */
typedef struct ts_heartbeat {
    const char *id;          /* host:pid:start */
    const char *host;
    int64_t pid;
    const char *program;
    const char *started_at;
    const char *versions;    /* JSON object: increment id -> applied version */
    const char *counters;    /* JSON object: table -> access counters */
    int kill_switch;
} ts_heartbeat;

int ts_control_heartbeat(ts_store *nw, const ts_heartbeat *hb, ts_error *err);
/* Remove a process's row (clean shutdown). */
int ts_control_forget_process(ts_store *nw, const char *id, ts_error *err);

#endif
