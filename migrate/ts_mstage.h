/*
 * ts_mstage.h: one stage change of one increment, both phases.
 *
 * Phase one is a compare-and-set on ts_increments (ts_control_set_stage) in a
 * transaction that also raises the id sequences of whichever side becomes the
 * id-assigning primary: new-store sequences above the legacy maximum when new
 * tables appear or new becomes primary (expanded, dual_write, read_new), legacy
 * sequences above the master bot's new maximum when legacy becomes primary again
 * (a rollback from read_new or later to below it). When both stores share a
 * connection this is one transaction, and the UPDATE of the version row waits
 * for in-flight fenced writes, so the maximum read after it is final; across
 * stores a margin covers the writes that land in between.
 * Phase two waits for every live process to apply the new version (ts_mproc.h).
 */
#ifndef TS_MSTAGE_H
#define TS_MSTAGE_H

#include "ts_mig.h"
#include "ts_mlock.h"

/* Ids left free above the other side's maximum when the stores do not share a transaction. */
#define TS_MSTAGE_FLOOR_MARGIN 1000

/* Move st to `to`; st gets the new stage and version. */
int ts_mstage_change(ts_mig *g, ts_mlock *l, ts_inc_state *st, ts_stage to, ts_error *err);

/* Raise the new store's sequences of inc's tables above the legacy maximum. */
int ts_mstage_floor_new(ts_mig *g, const ts_increment *inc, ts_error *err);

#endif
