/*
 * ts_mstatus.h: the read-only commands: status, plan, status --audit N,
 * manifest check.
 * Text tables for people, --json (one document) for scripts.
 */
#ifndef TS_MSTATUS_H
#define TS_MSTATUS_H

#include "ts_mig.h"

int ts_mstatus_status(ts_mig *g, ts_error *err);
int ts_mstatus_plan(ts_mig *g, ts_error *err);
int ts_mstatus_audit(ts_mig *g, int n, ts_error *err);
/* Every difference between the manifest and the legacy store's catalog
   (ts_conform.h), one per line; exit 1 when there is any. */
int ts_mstatus_manifest_check(ts_mig *g, ts_error *err);

#endif
