/*
 * ts_backfill.h: copy an increment's legacy rows into the new store while
 * the bot keeps writing both (stage dual_write).
 *
 * Each table map is copied in keyset chunks by the legacy primary key
 * (--batch rows), through the manifest mapping, with a checkpoint per chunk
 * in ts_backfill (last_key: the chunk's last legacy key as ts_rowjson,
 * rows_done / rows_total) committed in the same new-store transaction as the
 * chunk's rows, so a run killed at any point resumes after the last chunk it
 * committed and never copies a row twice.
 *
 * The rule that keeps live dual-writes from being overwritten with older data:
 *  1. backfill only inserts rows the new store does not have
 *     (INSERT ... ON CONFLICT (primary key) DO NOTHING, or from a staging table
 *     into PostgreSQL INSERT ... WHERE NOT EXISTS, where a row that arrives
 *     meanwhile fails the chunk and it is retried; the chunk goes through a
 *     temporary staging table or, on one PostgreSQL connection, one statement:
 *     see ts_backfill.c). It never updates a row. From dual_write on,
 *     every change to a legacy row is also written to new, so a row new
 *     already has is at least as recent as the copy backfill read;
 *  2. a chunk's legacy rows are read under a lock held until its new-store
 *     insert commits: in one transaction with SELECT ... FOR SHARE when both
 *     stores share a PostgreSQL connection, in SQLite's write transaction
 *     (BEGIN IMMEDIATE) when legacy is SQLite, and with the legacy transaction
 *     left open around the new-store commit when the stores are separate. A
 *     row updated or deleted while its chunk is copied therefore waits for the
 *     copy and its dual-write then updates or deletes the copy: a deleted row
 *     is never resurrected, an update never lost.
 *
 * Foreign keys of a staged chunk on PostgreSQL are checked once per chunk,
 * not once per row: the chunk's transaction runs with SET LOCAL
 * session_replication_role = replica (no per-row RI triggers), and one
 * statement then takes, per foreign key, the distinct values the staged rows
 * refer to and locks the referenced rows FOR KEY SHARE -- what the per-row
 * check does, once per value. A value with no referenced row fails the chunk
 * (TS_E_CONSTRAINT, nothing of it committed), as the per-row check would.
 * Setting that parameter takes a superuser or, on PostgreSQL 15+, GRANT SET ON
 * PARAMETER session_replication_role; without it the per-row checks stay.
 *
 * Self references (users.referred_by_id, a deferred foreign key) may point
 * into later chunks: a reference beyond the chunk's last key is inserted as
 * NULL, and a second pass over the legacy rows whose reference is above their
 * own key sets it, under the same lock discipline. The table's checkpoint is
 * finished only after that pass.
 */
#ifndef TS_BACKFILL_H
#define TS_BACKFILL_H

#include <signal.h>

#include "ts_mig.h"
#include "ts_mlock.h"

#define TS_BACKFILL_BATCH_DEFAULT 5000

/* Set from a signal handler: stop after the chunk in flight. */
extern volatile sig_atomic_t ts_backfill_stop;

/* Test hook: called with "chunk_start" (the chunk's transactions open, nothing
   read yet), "chunk_read" (legacy rows read and locked, the chunk not
   committed; on a shared PostgreSQL connection its one statement has also
   inserted it) and "chunk_committed", and the new table. NULL in production. */
extern void (*ts_backfill_hook)(const char *point, const char *table);

/* How a staged chunk's foreign keys are checked where the set-based checks are
   allowed: the values gathered by the client and sent as arrays (the
   default; keys of integer columns), or a server-side statement over the
   chunk's rows (other keys), or per row. Tests compare the three. */
typedef enum ts_backfill_fk {
    TS_BACKFILL_FK_PER_ROW,
    TS_BACKFILL_FK_SERVER,
    TS_BACKFILL_FK_GATHERED
} ts_backfill_fk;
extern ts_backfill_fk ts_backfill_fk_checks;

/* Backfill every table map of inc; the increment must be at dual_write and its
   data dependencies backfilled. */
int ts_backfill_run(ts_mig *g, ts_mlock *lock, const ts_increment *inc, ts_error *err);

#endif
