/*
 * ts_mops.h: the commands that change an increment or the stores.
 *
 *   init       control plane and journals (ts_control_init); idempotent
 *   advance    one step forward through its gates (ts_mgate.h); at expand
 *              the increment's tables are created (ts_mexpand.h)
 *   rollback   back to --to (default: one stage): from new_only first to
 *              read_new, then the change journal replayed into legacy and the
 *              diff run; below read_new orphans are refused or exported; below
 *              dual_write the new copies are emptied or dropped
 *   contract   new_only -> contracted with --confirm; legacy tables renamed
 *              _retired_<UTC yyyymmddhhmmss>_<name>; --drop drops them (on a
 *              contracted increment: drops what an earlier contract retired)
 *   repair     replay pending journal entries
 *   unlock     --force: break the operator lock
 * Each prints what it did on g->out and fills g->audit_* for the audit row.
 */
#ifndef TS_MOPS_H
#define TS_MOPS_H

#include "ts_mig.h"
#include "ts_mlock.h"

int ts_mops_init(ts_mig *g, ts_error *err);
int ts_mops_advance(ts_mig *g, ts_mlock *l, const char *id, ts_error *err);
int ts_mops_rollback(ts_mig *g, ts_mlock *l, const char *id, ts_error *err);
int ts_mops_contract(ts_mig *g, ts_mlock *l, const char *id, ts_error *err);
int ts_mops_repair(ts_mig *g, ts_error *err);
int ts_mops_unlock(ts_mig *g, ts_error *err);

#endif
