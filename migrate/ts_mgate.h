/*
 * ts_mgate.h: what a stage change needs, checked and explained.
 *
 * Every move checks the transition (ts_stage_check_transition) and the
 * dependencies: forward, an increment cannot pass the stage of a data
 * increment it depends on, and a behaviour increment turns on only when the
 * data increments it depends on are at read_new or later and the behaviour
 * ones are on; backward, an increment cannot go below the stage of a data
 * increment that depends on it, nor below read_new while a behaviour
 * increment that depends on it is on, and not below read_new while it holds
 * orphans (unless they are exported).
 *
 * Forward gates by transition:
 *   expanded -> dual_write   the increment's new tables exist (sequences are
 *                            raised in the same change, ts_mstage.h)
 *   dual_write -> shadow     backfill finished; the increment's diff is clean
 *   shadow -> read_new       >= --min-compared shadow reads, zero mismatches
 *   read_new -> new_only     no pending drift journal entry; no live process lagging
 *   new_only -> contracted   --confirm; --soak passed; zero legacy access since
 *                            new_only began; the diff clean (ts_mops.c replays
 *                            the change journal before it)
 */
#ifndef TS_MGATE_H
#define TS_MGATE_H

#include "ts_mig.h"

#define TS_MGATE_MAX 8

typedef struct ts_gate {
    const char *name;
    int ok;
    char why[768];
} ts_gate;

typedef struct ts_gates {
    ts_gate g[TS_MGATE_MAX];
    int n;
} ts_gates;

/* Gates of moving st to `to` (forward or back). run_diff 0 skips the diff gate
   (reported as not run). */
int ts_mgate_check(ts_mig *g, ts_inc_state *states, const ts_inc_state *st, ts_stage to,
                   int run_diff, ts_gates *out, ts_error *err);

/* The first failing gate, NULL when all pass. */
const ts_gate *ts_mgate_failed(const ts_gates *gs);
/* A TS_E_STATE error made of every failing gate. */
int ts_mgate_refuse(const ts_gates *gs, const ts_inc_state *st, ts_stage to, ts_error *err);

/* Diff one increment; *clean, and summary gets "users: 2 missing, ..." when not. */
int ts_mgate_diff(ts_mig *g, const ts_increment *inc, int *clean, ts_buf *summary, ts_error *err);

/* Shadow reads compared and mismatched for inc since its stage changed. */
int ts_mgate_shadow(ts_mig *g, const ts_inc_state *st, int64_t *compared, int64_t *mismatched,
                    ts_error *err);

/* 1 when every backfill of inc is finished; *rows_done / *rows_total summed. */
int ts_mgate_backfill_done(ts_mig *g, const ts_increment *inc, int *done, int64_t *rows_done,
                           int64_t *rows_total, ts_error *err);

/* Legacy reads and writes of inc's tables since new_only began (soak evidence);
   who gets the processes that made them. */
int ts_mgate_legacy_access(ts_mig *g, const ts_inc_state *st, int64_t *count, ts_buf *who,
                           ts_error *err);

/* Record the soak baseline: each live process's legacy access counters for
   inc's tables now (called right after the move to new_only). */
int ts_mgate_soak_baseline(ts_mig *g, const ts_inc_state *st, ts_error *err);

#endif
