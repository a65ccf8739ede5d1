/*
 * ts_shim_int.h: what the shim's modules share (ts_shim.c, ts_tx.c,
 * ts_journal.c, ts_shadow.c). Not installed.
 */
#ifndef TS_SHIM_INT_H
#define TS_SHIM_INT_H

#include <stdint.h>

#include "ts_buf.h"
#include "ts_control.h"
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

    ts_mismatch *mismatches;    /* waiting for the next tick */
    int nmismatches, capmismatches;
    int in_tx;                  /* one unit of work at a time */
};

/* 1 when the cached stages should be re-read: the poll interval passed, or a
   stage change was announced. */
int ts_shim_refresh_due(ts_shim *sh, int64_t now);

/* The index of an increment in sh->states, -1 when unknown. */
int ts_shim_state_index(const ts_shim *sh, const ts_increment *inc);
int ts_shim_kill_active(const ts_shim *sh);
/* The access counters of a new-schema table, NULL for a name not in it. */
ts_access *ts_shim_counters(ts_shim *sh, const char *new_table);

/* Queue a mismatch for ts_mismatches (written at the next tick). */
void ts_shim_add_mismatch(ts_shim *sh, const char *increment_id, const char *table,
                          const char *row_key, const char *column, const char *legacy_value,
                          const char *new_value);
/* Write queued mismatches; on failure they stay queued (bounded). */
int ts_shim_flush_mismatches(ts_shim *sh, ts_error *err);

/* ---- the journal (ts_journal.c) ---------------------------------------- */

/*
 * The twin of a row on the other side: row of tm's legacy table -> new
 * (to_new) or the reverse, with include[c] set for the columns the twin
 * write carries; extra (new shape, may be NULL) supplies non-NULL values of
 * new-only columns. twin and include hold the twin table's column count.
 */
int ts_twin_row(const ts_tmap *tm, int to_new, const ts_value *row, const ts_value *extra,
                ts_value *twin, int *include, ts_buf *text, ts_error *err);

/* The image of a row an entry carries: {"table": NAME, "row": [typed values]}. */
void ts_journal_image(ts_buf *b, const ts_table *t, const ts_value *row);

/* Journal a secondary write inside the primary's open transaction; *id gets the entry. */
int ts_journal_append(ts_store *primary, const char *kind, const char *increment_id,
                      const char *table, const char *row_key, const char *op,
                      const char *row_image, int64_t version, ts_side target, int64_t *id,
                      ts_error *err);

/*
 * Apply one pending entry of primary's journal to the other store: re-read the
 * row's current state from the primary under a row lock, write it to the
 * target (upsert, or delete when the row is gone), and mark the entry and
 * every older pending entry of the same row done, in one primary transaction.
 * Applying the current state rather than the logged image makes replays
 * idempotent and keeps two writers of one row from overtaking each other.
 */
int ts_journal_apply(ts_shim *sh, ts_side primary_side, int64_t id, ts_error *err);

/* Remove one entry whose row is known to be in place on both sides. */
int ts_journal_settle(ts_store *primary, int64_t id, ts_error *err);

/* Apply the pending entries of one kind ("drift" or "change") of the journal
   in the given store: rows that exist parents first, rows that are gone
   children first, again while passes make progress. Entries that cannot
   apply stay pending with their error; the replay then fails naming the first
   and how many. A lost connection ends it at once. */
int ts_journal_replay(ts_shim *sh, ts_side primary_side, const char *kind, int64_t *applied,
                      ts_error *err);
/* The same for the entries of the named increments only (NULL-terminated). */
int ts_journal_replay_of(ts_shim *sh, ts_side primary_side, const char *kind,
                         const char *const *increments, int64_t *applied, ts_error *err);

int ts_journal_pending(ts_store *s, const char *kind, int64_t *count, ts_error *err);
/* Pending entries that failed to apply at least once; the oldest described in
   first (id, kind, table, key, attempts, last error) when there is one. */
int ts_journal_stuck(ts_store *s, int64_t *count, ts_buf *first, ts_error *err);

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

/* ---- rows in and out of stores (ts_rowio.c) ------------------------------- */

/* Upsert a full row image into table t of store s on its primary key, with the
   columns whose include[] is set (NULL: all). */
int ts_rowio_upsert(ts_store *s, const ts_table *t, const ts_value *row, const int *include,
                    ts_error *err);
/* Delete the row of table t whose key columns (keycols) equal row's. */
int ts_rowio_delete(ts_store *s, const ts_table *t, const int *keycols, int nkey,
                    const ts_value *row, ts_error *err);
/* Read the row of t whose keycols equal key (values in keycols order) into a
   copy owned by *out (free with ts_rowio_free); returns 1 found, 0 not, -1. */
int ts_rowio_get(ts_store *s, const ts_table *t, const int *keycols, int nkey,
                 const ts_value *key, int lock, ts_value **out, ts_error *err);
void ts_rowio_free(ts_value *row, int n);
/* Deep copy of n values (text and blobs duplicated). */
ts_value *ts_rowio_copy(const ts_value *row, int n);
/* The "SELECT c1, c2, ..." column list of t, quoted. */
void ts_rowio_columns(ts_buf *b, const ts_table *t);
/* The index of the primary key columns of t (ts_table.pk), count in *n. */
int ts_rowio_pk(const ts_table *t, int *cols, int *n);

#endif
