/*
 * ts_vstage.h: which increments a ts-verify command can look at, by stage.
 *
 * Stages come from the new store's control plane (ts_control_load). What a
 * command needs of an increment:
 *   diff    its new tables (made at expanded, dropped on the way back to
 *           legacy) and its legacy tables (retired at contracted);
 *   check   its new tables;
 *   canary  its new tables.
 * An increment that lacks them is skipped, with the reason in the report; it
 * is never an error, so every command works at every stage. At expanded the
 * new tables exist but nothing has filled them yet: diff compares them and
 * reports every row missing, which is the truth.
 */
#ifndef TS_VSTAGE_H
#define TS_VSTAGE_H

#include "ts_manifest.h"
#include "ts_store.h"
#include "ts_vreport.h"

/*
 * Read the stage of every data increment of m into r (ts_vreport_add_inc),
 * each with the reason r->command skips it at that stage, if any. A store
 * without ts_increments rows fails (TS_E_STATE: run ts-migrate init).
 */
int ts_vstage_load(ts_vreport *r, ts_store *nw, const ts_manifest *m, ts_error *err);

/* Mark the increment whose id is given as named on the command line. */
void ts_vstage_named(ts_vreport *r, const char *id);

/* Name the increment of each invariant whose subject is a table of m. */
void ts_vstage_attribute(ts_vreport *r, const ts_manifest *m);

#endif
