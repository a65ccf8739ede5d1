/*
 * ts_shim.h: the data layer the bot uses for all data access.
 *
 * The shim speaks the NEW schema's shape everywhere: callers name new tables
 * and new columns, and the shim routes each operation by the stage of the
 * increment that owns the table (ts_stage_route), translating to and from the
 * legacy shape through the manifest when the legacy store is involved. So a
 * repository is written once, against the multi-tenant model, and keeps
 * working at every stage.
 *
 * Writes. The primary side executes the statement (and assigns ids); every
 * row it changed comes back (RETURNING) and is mapped to the secondary's
 * shape and upserted there, or deleted there by key. When both stores share
 * one connection (ts_store_shares_txn) that happens in the same transaction;
 * otherwise the secondary write is recorded in ts_journal inside the
 * primary's transaction (an outbox), applied after the commit and marked
 * done; entries a crash or an outage left pending are replayed by
 * ts_shim_repair, idempotently and in id order. Master rows keep their
 * primary key on both sides.
 *
 * Fencing. Each transaction reads the version of every increment it touches
 * in the control store (a shared row lock on PostgreSQL, the write lock on
 * SQLite) and compares it with the version the process routed with; a
 * mismatch fails the operation with TS_E_STALE after refreshing the cached
 * stages, and the caller retries the whole unit of work, which then routes
 * by the new stage. A stage change (an UPDATE of that row) therefore waits
 * for in-flight writes and is seen by every later one.
 *
 * Tenancy. A context names the bot. The legacy store holds only the master
 * bot's rows: a non-master context on an operation that would touch legacy is
 * refused (TS_E_STATE), never written without a tenant. bot_id is always part
 * of every new-store condition and every new-store row.
 */
#ifndef TS_SHIM_H
#define TS_SHIM_H

#include <stdint.h>

#include "ts_error.h"
#include "ts_manifest.h"
#include "ts_stage.h"
#include "ts_store.h"
#include "ts_value.h"

typedef struct ts_shim ts_shim;
typedef struct ts_tx ts_tx;
typedef struct ts_result ts_result;

typedef struct ts_shim_config {
    const char *legacy_url;
    const char *new_url;
    const char *manifest_path;     /* NULL: the manifest compiled in */
    const char *program;           /* recorded in ts_processes ("ts-bot") */
    int poll_ms;                   /* stage refresh interval; 0 = 500 */
    double shadow_fraction;        /* of reads compared at shadow; < 0 = 1.0 */
    int shadow_timeout_ms;         /* a shadow read never delays past this; 0 = 200 */
    const char *kill_switch_file;  /* its existence forces legacy-first; NULL = none */
    int heartbeat_ms;              /* 0 = 1000 */
} ts_shim_config;

/* A bot context: whose rows an operation reads and writes. */
typedef struct ts_ctx {
    int64_t bot_id;
    int is_master;
} ts_ctx;

int ts_shim_open(const ts_shim_config *cfg, ts_shim **out, ts_error *err);
void ts_shim_close(ts_shim *sh);

const ts_manifest *ts_shim_manifest(const ts_shim *sh);
ts_store *ts_shim_legacy(ts_shim *sh);
ts_store *ts_shim_new(ts_shim *sh);
int64_t ts_shim_master_bot_id(const ts_shim *sh);
/* The master bot's context. */
ts_ctx ts_shim_master(const ts_shim *sh);

/* Cached stage and version of an increment; -1 when unknown. */
int ts_shim_stage(const ts_shim *sh, const char *increment_id, ts_stage *stage, int64_t *version);

/*
 * Housekeeping the owner calls from its loop (every few hundred ms): refresh
 * stages when due, heartbeat with the applied versions and access counters,
 * replay pending journal entries, check the kill switch file.
 */
int ts_shim_tick(ts_shim *sh, ts_error *err);
/* Re-read the stages now. */
int ts_shim_refresh(ts_shim *sh, ts_error *err);
/* Turn the kill switch on or off in this process (SIGUSR1 handlers set a flag
   the owner passes on here). */
void ts_shim_set_kill_switch(ts_shim *sh, int on);
int ts_shim_kill_switch(const ts_shim *sh);

/*
 * 0 when every store this process needs now is up (reconnecting a lost one,
 * see ts_store_check); -1 naming the one that is down. Legacy is needed while
 * an increment reads or writes it first; new while the kill switch is off (it
 * holds the stages and the fencing versions) or an increment reads or writes
 * it first.
 */
int ts_shim_health(ts_shim *sh, ts_error *err);

/* Lost connections of the legacy and new stores so far (ts_store_losses): a
   unit of work that failed while this changed is to be run again. */
unsigned long ts_shim_losses(const ts_shim *sh);

/* Journal entries not yet applied: drift entries of both stores, and the change
   journal (writes at new_only waiting for a possible rollback). */
int ts_shim_pending(ts_shim *sh, int64_t *drift, int64_t *change, ts_error *err);

/* Replay pending journal entries in both stores; counts what it applied. */
int ts_shim_repair(ts_shim *sh, int64_t *applied, int64_t *pending_left, ts_error *err);

/* ---- units of work ------------------------------------------------------ */

int ts_shim_begin(ts_shim *sh, const ts_ctx *ctx, ts_tx **out, ts_error *err);
/* Commit, then apply the journal entries of cross-store writes. Frees tx. */
int ts_tx_commit(ts_tx *tx, ts_error *err);
/* Roll back and free tx (NULL is fine). */
void ts_tx_rollback(ts_tx *tx);

/* Comparison of a condition; EQ is the zero value, so {col, val} means equality. */
typedef enum ts_op { TS_OP_EQ = 0, TS_OP_LT, TS_OP_LE, TS_OP_GT, TS_OP_GE, TS_OP_NE } ts_op;

/*
 * Conditions are joined by AND; bot_id is added by the shim. A NULL value
 * matches IS NULL (IS NOT NULL with TS_OP_NE). Order comparisons need a column
 * legacy holds as a plain copy while legacy answers.
 */
typedef struct ts_cond {
    const char *col;
    ts_value val;
    ts_op op;
} ts_cond;

/* One assignment of an update: SET col = val, or SET col = col + val (add). */
typedef struct ts_set {
    const char *col;
    ts_value val;
    int add;
} ts_set;

/*
 * Insert one row into a new-schema table; cols must not include bot_id (the
 * context's) and may include id (else the primary assigns it). *id gets the
 * row's id when the table has one (may be NULL).
 */
int ts_tx_insert(ts_tx *tx, const char *table, const ts_set *vals, int nvals, int64_t *id,
                 ts_error *err);
/* Insert unless a row with the same primary key or unique key exists: *inserted
   is 0 then and nothing changed (how a redelivered update or a duplicate
   external id is recognised without failing the unit of work). */
int ts_tx_insert_if_absent(ts_tx *tx, const char *table, const ts_set *vals, int nvals,
                           int *inserted, int64_t *id, ts_error *err);
/* Insert or, on conflict with the table's primary key, update the given columns. */
int ts_tx_upsert(ts_tx *tx, const char *table, const ts_set *vals, int nvals, ts_error *err);
int ts_tx_update(ts_tx *tx, const char *table, const ts_cond *where, int nwhere,
                 const ts_set *sets, int nsets, int64_t *changed, ts_error *err);
int ts_tx_delete(ts_tx *tx, const char *table, const ts_cond *where, int nwhere,
                 int64_t *changed, ts_error *err);

/*
 * Select rows of a new-schema table (all columns, new shape). order_by is a
 * column name with an optional " DESC" (validated), or NULL; limit 0 = none.
 * The result is copied and owned by the caller: small result sets only (a
 * repository's page), never a table scan.
 */
int ts_tx_select(ts_tx *tx, const char *table, const ts_cond *where, int nwhere,
                 const char *order_by, int limit, ts_result **out, ts_error *err);

/* The same, locking the rows it returns until the unit of work ends (FOR UPDATE
   on PostgreSQL; SQLite's write transaction excludes other writers anyway). */
int ts_tx_select_for_update(ts_tx *tx, const char *table, const ts_cond *where, int nwhere,
                            const char *order_by, int limit, ts_result **out, ts_error *err);

/* The unit of work's bot context. */
const ts_ctx *ts_tx_ctx(const ts_tx *tx);
/* The route a table takes in this unit of work (after the kill switch and the
   context's tenancy), or an error when the context may not use it. */
int ts_tx_route(ts_tx *tx, const char *table, ts_route *route, ts_error *err);

/* Count the rows a select with these conditions would return (read side). */
int ts_tx_count(ts_tx *tx, const char *table, const ts_cond *where, int nwhere, int64_t *count,
                ts_error *err);

int ts_result_count(const ts_result *r);
/* Value of column col (name in the new table) of row i; NULL value when absent. */
ts_value ts_result_get(const ts_result *r, int row, const char *col);
int64_t ts_result_int(const ts_result *r, int row, const char *col);
const char *ts_result_text(const ts_result *r, int row, const char *col); /* NULL for NULL */
void ts_result_free(ts_result *r);

/* ---- counters ---------------------------------------------------------- */

/* Reads and writes this process sent to each side of a table, since start. */
typedef struct ts_access {
    int64_t legacy_reads, legacy_writes, new_reads, new_writes;
    int64_t shadow_compared, shadow_mismatched, shadow_skipped;
} ts_access;

int ts_shim_access(const ts_shim *sh, const char *table, ts_access *out);

/*
 * Fault injection for crash tests: when set, called at named points of the
 * write path ("after_primary_commit": legacy is committed, new not yet, and no
 * journal entry applied; "before_journal_settle": both committed, the unit's
 * journal entries not yet settled; "after_secondary_write": a replayed entry's
 * row is written to the other store, the entry not yet removed). Process-wide; NULL in
 * production.
 */
extern void (*ts_shim_fault_hook)(const char *point);

#endif
