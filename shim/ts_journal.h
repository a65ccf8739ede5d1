/*
 * ts_journal.h: the drift journal and the change journal (ts_journal.c), and
 * the twin of a row on the other side. Not installed.
 *
 * The journal works on two stores and the manifest that maps their tables; it
 * knows no shim (ts_shim_journal in ts_shim_int.h hands a shim's over).
 */
#ifndef TS_JOURNAL_H
#define TS_JOURNAL_H

#include <stdint.h>

#include "ts_buf.h"
#include "ts_error.h"
#include "ts_manifest.h"
#include "ts_stage.h"
#include "ts_store.h"
#include "ts_value.h"

/* The stores entries move rows between, the manifest mapping their tables, and
   the crash tests' fault hook (ts_shim_fault_hook; NULL in production). */
typedef struct ts_journal_stores {
    ts_store *legacy, *nw;
    const ts_manifest *m;
    void (*fault)(const char *point);
} ts_journal_stores;

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
int ts_journal_apply(const ts_journal_stores *js, ts_side primary_side, int64_t id,
                     ts_error *err);

/* Remove one entry whose row is known to be in place on both sides. */
int ts_journal_settle(ts_store *primary, int64_t id, ts_error *err);

/* Apply the pending entries of one kind ("drift" or "change") of the journal
   in the given store: rows that exist parents first, rows that are gone
   children first, again while passes make progress. Entries that cannot
   apply stay pending with their error; the replay then fails naming the first
   and how many. A lost connection ends it at once. */
int ts_journal_replay(const ts_journal_stores *js, ts_side primary_side, const char *kind,
                      int64_t *applied, ts_error *err);
/* The same for the entries of the named increments only (NULL-terminated). */
int ts_journal_replay_of(const ts_journal_stores *js, ts_side primary_side, const char *kind,
                         const char *const *increments, int64_t *applied, ts_error *err);

int ts_journal_pending(ts_store *s, const char *kind, int64_t *count, ts_error *err);
/* Pending entries that failed to apply at least once; the oldest described in
   first (id, kind, table, key, attempts, last error) when there is one. */
int ts_journal_stuck(ts_store *s, int64_t *count, ts_buf *first, ts_error *err);

#endif
