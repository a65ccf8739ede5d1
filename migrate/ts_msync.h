/*
 * ts_msync.h: ts-migrate sync ID: carry legacy columns that came after the
 * increment made its new tables into them (ALTER TABLE ... ADD COLUMN, then
 * the values copied from legacy in key order through the manifest's rules).
 * Allowed from expanded to read_new; --dry-run prints the ALTERs and the
 * UPDATE. Idempotent: a column new has already is left alone.
 */
#ifndef TS_MSYNC_H
#define TS_MSYNC_H

#include "ts_mig.h"

int ts_msync_run(ts_mig *g, const char *id, ts_error *err);

#endif
