/*
 * ts_mexpand.h: the new store's objects of one increment: made at expand,
 * emptied or dropped on the way back, and the rows that cannot go back.
 *
 * Expand creates the tables the increment makes (ts_mig_tables) and, for the
 * increment that creates bots, the master bot's row from the configured
 * token (api_token_hash NULL: the master bot has no management API token
 * until one is issued).
 *
 * Below dual_write nothing writes the new store any more, so its copies go
 * stale at once: a rollback to expanded deletes the master bot's rows of the
 * increment's filled tables and forgets the backfill checkpoints (a later
 * backfill, which only inserts missing rows, must not meet stale rows); a
 * rollback to legacy drops the tables the increment made.
 *
 * Orphans: rows the legacy store cannot hold: other bots' rows of mapped
 * tables, every row but the master bot's of bots, and every row of the
 * new-only tables. A rollback below read_new refuses while they exist unless
 * they are exported first (JSON lines).
 */
#ifndef TS_MEXPAND_H
#define TS_MEXPAND_H

#include "ts_mig.h"

int ts_mexpand_create(ts_mig *g, const ts_increment *inc, ts_error *err);
/* to: TS_STAGE_EXPANDED (empty the filled tables) or TS_STAGE_LEGACY (drop). */
int ts_mexpand_shrink(ts_mig *g, const ts_increment *inc, ts_stage to, ts_error *err);

/* Count the orphans of inc; per-table counts go to detail ("bots=2, users=10"). */
int ts_mexpand_orphans(ts_mig *g, const ts_increment *inc, int64_t *count, ts_buf *detail,
                       ts_error *err);
/* Write them to path, one JSON object per line: {"table":T,"row":{col: value}}. */
int ts_mexpand_export(ts_mig *g, const ts_increment *inc, const char *path, int64_t *written,
                      ts_error *err);

#endif
