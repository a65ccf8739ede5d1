/*
 * ts_mstatus.h: the read-only commands: status, plan, status --audit N.
 * Text tables for people, --json (one document) for scripts.
 */
#ifndef TS_MSTATUS_H
#define TS_MSTATUS_H

#include "ts_mig.h"

int ts_mstatus_status(ts_mig *g, ts_error *err);
int ts_mstatus_plan(ts_mig *g, ts_error *err);
int ts_mstatus_audit(ts_mig *g, int n, ts_error *err);

#endif
