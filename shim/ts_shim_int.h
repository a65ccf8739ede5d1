/*
 * ts_shim_int.h: what the shim's modules share (ts_shim.c, ts_tx.c,
 * ts_twins.c). Not installed. The journal (ts_journal.h) and rows in and out
 * of stores (ts_rowio.h) have headers of their own and know no ts_shim.
 */
#ifndef TS_SHIM_INT_H
#define TS_SHIM_INT_H

#include <stdint.h>

#include "ts_buf.h"
#include "ts_control.h"
#include "ts_journal.h"
#include "ts_rowio.h"
#include "ts_shim.h"

/* A shadow-read difference waiting to be written to ts_mismatches. */
typedef struct ts_mismatch {
    char *increment_id, *table, *row_key, *column, *legacy_value, *new_value;
    char detected_at[TS_TIME_MAX];
} ts_mismatch;

struct ts_shim {
    char *legacy_url, *new_url, *kill_file, *program;
    int poll_ms, shadow_timeout_ms, heartbeat_ms;
    double shadow_fraction;

    ts_manifest *m;
    ts_store *legacy, *nw;
    int shared;                 /* one connection: dual-writes are one transaction */
    ts_store *shadow;           /* PostgreSQL: a connection of its own for shadow reads,
                                   bounded by a session statement_timeout; NULL: shadow
                                   reads run on nw inside a savepoint (SQLite) */
    int64_t master_bot_id;

    ts_inc_state *states;       /* per manifest increment, same order */
    int nstates;
    int64_t refreshed_ms, heartbeat_ms_at;
    int versions_changed;       /* heartbeat soon: someone waits for our acknowledgement */

    int kill_flag;              /* set through ts_shim_set_kill_switch */
    int kill_file_on;           /* the kill switch file exists */
    int kill_logged;            /* the state last logged, to log changes once */

    ts_access *access;          /* per table of the new schema */
    unsigned char *backfilled;  /* per table of the new schema: its backfill finished
                                   (ts_backfill), so new holds every legacy row of it */
    unsigned char *may_pull;    /* per table of the new schema: it refers to a mapped
                                   table not backfilled yet (ts_tx.c pull_parents) */
    char host[128], started_at[TS_TIME_MAX];
    char process_id[128 + 24 + TS_TIME_MAX];   /* host:pid:started_at */
    uint64_t rng;               /* shadow sampling */

    /* A legacy column added after the shim read the tables: its writes could
       not carry it (ts_shim_drift.c). */
    char legacy_fp[80];         /* ts_catalog_fingerprint when last compared */
    int64_t drift_checked_ms;
    char **drifted;             /* per increment: "table.column" that came, or NULL */

    ts_mismatch *mismatches;    /* waiting for the next tick */
    int nmismatches, capmismatches;
    int in_tx;                  /* one unit of work at a time */
};

/* 1 when the cached stages should be re-read: the poll interval passed, or a
   stage change was announced. */
int ts_shim_refresh_due(ts_shim *sh, int64_t now);

/* Compare the legacy tables with those the shim read when it opened (at most
   every few seconds; a fingerprint first): an increment whose legacy table
   gained a column gets drifted[i]. ts_shim_drift_refuse fails a write of such
   an increment while both stores are written. */
int ts_shim_drift_check(ts_shim *sh, int64_t now, ts_error *err);
int ts_shim_drift_refuse(const ts_shim *sh, int si, ts_stage stage, ts_error *err);
void ts_shim_drift_free(ts_shim *sh);

/* The index of an increment in sh->states, -1 when unknown. */
int ts_shim_state_index(const ts_shim *sh, const ts_increment *inc);
int ts_shim_kill_active(const ts_shim *sh);
/* The access counters of a new-schema table, NULL for a name not in it. */
ts_access *ts_shim_counters(ts_shim *sh, const char *new_table);

/* The stores and manifest the shim's journal entries move rows between. */
static inline ts_journal_stores ts_shim_journal(const ts_shim *sh)
{
    return (ts_journal_stores){sh->legacy, sh->nw, sh->m, ts_shim_fault_hook};
}

/* Queue a mismatch for ts_mismatches (written at the next tick). */
void ts_shim_add_mismatch(ts_shim *sh, const char *increment_id, const char *table,
                          const char *row_key, const char *column, const char *legacy_value,
                          const char *new_value);
/* Write queued mismatches; on failure they stay queued (bounded). */
int ts_shim_flush_mismatches(ts_shim *sh, ts_error *err);

/* ---- twin writes held until needed (ts_twins.c) ---------------------------- */

typedef struct ts_twin ts_twin;
typedef struct ts_twins {
    ts_twin *v;
    int n, cap;
} ts_twins;

/* Flush when this many rows wait, so one statement stays within its parameters. */
#define TS_TWINS_MAX 500

/* Hold a twin write (row of table t, columns include[], or a delete by key);
   the latest write of a row replaces an earlier one. */
int ts_twins_add(ts_twins *tw, const ts_table *t, const ts_value *row, const int *include,
                 int deleted, ts_error *err);
/* Write every held twin to s in as few statements as fit (one, normally).
   commit: the last of them also commits s's transaction, in the same round
   trip; on failure that transaction is over (nothing of it committed). */
int ts_twins_flush(ts_twins *tw, ts_store *s, int commit, ts_error *err);
/* 1 when a held, not deleted twin of t has vals in columns cols. */
int ts_twins_holds(const ts_twins *tw, const ts_table *t, const int *cols, const ts_value *vals,
                   int n);
void ts_twins_reset(ts_twins *tw);
void ts_twins_free(ts_twins *tw);

#endif
