/*
 * ts_flags.h: per-bot feature flags (increment 2.4) with a short-lived cache.
 *
 * A bot's flags are read as one list through the repositories (which answer
 * from legacy system_settings or bot_feature_flags by the stage of 2.4) and
 * kept for ttl_s. The cache entry also remembers the 2.4 version and the kill
 * switch it was read under: when either differs (a stage change, a rollback,
 * the kill switch), the next lookup reads again. A flag set through the bot
 * drops its bot's entry (ts_flags_invalidate, after the commit).
 *
 * A flag that does not exist is off (the plan's default: enabled false).
 */
#ifndef TS_FLAGS_H
#define TS_FLAGS_H

#include <stdint.h>

#include "ts_shim.h"

typedef struct ts_flags ts_flags;

ts_flags *ts_flags_new(int ttl_s);   /* NULL when out of memory */
void ts_flags_free(ts_flags *f);

/* 1 on, 0 off or absent, -1 error; reads in tx (the update's unit) when stale. */
int ts_flags_enabled(ts_flags *f, ts_shim *sh, ts_tx *tx, int64_t bot_id, const char *key,
                     ts_error *err);
void ts_flags_invalidate(ts_flags *f, int64_t bot_id);

/* Lookups answered from the cache / by a read, since start (for tests and metrics). */
void ts_flags_stats(const ts_flags *f, int64_t *hits, int64_t *loads);

#endif
