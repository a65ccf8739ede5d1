/*
 * ts_log.h: one line per event, key=value, with a level.
 *
 *   ts=2026-11-26T17:20:37.123Z level=info event=backfill_chunk increment=2.1 rows=5000
 *
 * Messages go to stderr (or the stream set by ts_log_set_stream). The threshold
 * comes from TS_LOG_LEVEL (debug, info, warn, error; default info) unless set.
 * Secrets never reach a log line in full: pass them through ts_redact first.
 */
#ifndef TS_LOG_H
#define TS_LOG_H

#include <stddef.h>
#include <stdio.h>

typedef enum ts_log_level { TS_LOG_DEBUG, TS_LOG_INFO, TS_LOG_WARN, TS_LOG_ERROR } ts_log_level;

void ts_log(ts_log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void ts_log_set_level(ts_log_level level);
void ts_log_set_stream(FILE *stream);
int ts_log_enabled(ts_log_level level);
/* Parse "debug", "info", "warn", "error"; -1 when unknown. */
int ts_log_parse_level(const char *name);

/*
 * A value safe to put after key=: returned as is when it has no space, quote,
 * '=' or control character, else double-quoted with escapes into out.
 */
const char *ts_log_value(const char *s, char *out, size_t n);

/*
 * Mask a secret for logs and reports: a Telegram token "123456:ABC...xyz" keeps
 * its public bot id ("123456:****"); anything else keeps its first 3
 * characters when it is long enough to not give itself away ("abc****").
 */
const char *ts_redact(const char *secret, char *out, size_t n);

#endif
