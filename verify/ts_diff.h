/*
 * ts_diff.h: `ts-verify diff`: legacy rows (mapped through the manifest) against
 * the master bot's rows in the new store, table by table.
 *
 * For each table map of each selected data increment:
 *  1. counts first: legacy rows the map accepts, new rows of the master bot;
 *  2. both sides are read in key order in chunks (ts_vside.h); a chunk covers
 *     the same key range on both sides (up to the smaller of the two pages'
 *     last keys), and each side's chunk is digested (SHA-256 of the canonical
 *     encoding, ts_canon.h). Equal digests: the chunk matches;
 *  3. a chunk whose digests differ is resolved to rows by merging its two
 *     sides by key, and rows present on both sides are compared column by
 *     column: every differing key is reported as missing, extra or changed
 *     (with each differing column and both values);
 *  4. after every chunk a line goes to the log (ts_vlog.h): the checkpoint
 *     --resume continues from, and the complete list of differences.
 *
 * Stage-aware: while a backfill of the table runs (ts_backfill row with
 * finished_at NULL), legacy rows above its watermark (last_key) that new does
 * not have yet are reported as pending, not as missing.
 */
#ifndef TS_DIFF_H
#define TS_DIFF_H

#include <stdint.h>

#include "ts_manifest.h"
#include "ts_store.h"
#include "ts_vlog.h"
#include "ts_vreport.h"

#define TS_DIFF_CHUNK_DEFAULT 2000

typedef struct ts_diff_opts {
    int chunk;            /* rows per chunk and side */
    int64_t max_chunks;   /* stop after this many chunks in this run; 0: no limit */
    int tty;              /* stderr is a terminal: a progress line (rows/s, ETA) on it per
                             chunk; otherwise one ts_log line per table */
} ts_diff_opts;

/*
 * Resolve increment ids to data increments: none given selects every data
 * increment of the manifest. An unknown id or a behaviour increment is a
 * TS_E_USAGE error naming the ids that exist.
 */
int ts_diff_select(const ts_manifest *m, const char *const *ids, int nids,
                   const ts_increment **out, int *nout, ts_error *err);

/*
 * Diff the increments into r, logging to lg (which r->all should name,
 * ts_vlog_source, so renderers find every difference). Tables already done in a replayed log are
 * skipped; a table left part way continues after its last chunk. Increments r
 * says are skipped at their stage (ts_vreport_skipped) are not read at all.
 */
int ts_diff_run(ts_store *legacy, ts_store *nw, const ts_increment *const *incs, int ninc,
                const ts_diff_opts *o, ts_vreport *r, ts_vlog *lg, ts_error *err);

#endif
