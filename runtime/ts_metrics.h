/*
 * ts_metrics.h: ts-bot's counters and their Prometheus text exposition.
 *
 * The runtime counts updates per bot and outcome and times each handler
 * (one histogram for all bots, so the series count does not grow with bots).
 * What the runtime cannot know (shim reads and writes per store, pending
 * journal entries, applied stage versions) the owner appends through a hook,
 * with the same sample writers so the format stays one. Single-threaded: the
 * event loop both counts and serves /metrics.
 */
#ifndef TS_METRICS_H
#define TS_METRICS_H

#include <stdint.h>

#include "ts_buf.h"

typedef enum ts_outcome {
    TS_OUT_HANDLED,    /* handler ran and committed */
    TS_OUT_SKIPPED,    /* malformed or unknown: logged and acknowledged */
    TS_OUT_FAILED,     /* handler failed for good: acknowledged */
    TS_OUT_RETRIED,    /* not committed: redelivered */
    TS_OUT__COUNT
} ts_outcome;

typedef struct ts_metrics ts_metrics;

/* Appends the owner's families to out (see ts_prom_* below). */
typedef void (*ts_metrics_hook)(void *arg, ts_buf *out);

ts_metrics *ts_metrics_new(void);   /* NULL when out of memory */
void ts_metrics_free(ts_metrics *m);
void ts_metrics_set_hook(ts_metrics *m, ts_metrics_hook hook, void *arg);

/* One update of bot_id with its outcome; seconds < 0 when no handler ran. */
void ts_metrics_update(ts_metrics *m, int64_t bot_id, ts_outcome outcome, double seconds);

/* The whole exposition (text format 0.0.4). */
void ts_metrics_render(const ts_metrics *m, ts_buf *out);

/* Writers for the hook: a family header, then its samples. labels is
   "key=\"value\",..." built with ts_prom_label, or NULL. */
void ts_prom_family(ts_buf *out, const char *name, const char *type, const char *help);
void ts_prom_sample(ts_buf *out, const char *name, const char *labels, double value);
/* Append key="value" (escaped, comma-separated after the first) to labels. */
void ts_prom_label(ts_buf *labels, const char *key, const char *value);

#endif
