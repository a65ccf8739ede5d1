/*
 * fake_telegram.h: a local Bot API server for tests (libmicrohttpd on
 * 127.0.0.1, a free port, one thread per connection).
 *
 * Per token it keeps a queue of updates served by getUpdates the way Telegram
 * does: updates below the request's offset are confirmed and dropped, the rest
 * are returned (up to limit); with none pending the request is held until one
 * is pushed or the request's timeout passes. Every call is recorded (method,
 * token, JSON body) for assertions. Failures can be injected per method: a
 * status (5xx, 429 with parameters.retry_after) for the next N calls, or one
 * raw getUpdates body (malformed JSON). Sending methods answer like Telegram
 * with a fresh message_id.
 */
#ifndef FAKE_TELEGRAM_H
#define FAKE_TELEGRAM_H

#include <cJSON.h>
#include <stddef.h>
#include <stdint.h>

typedef struct fake_telegram fake_telegram;

#include "fake_http.h"

/* NULL when the server cannot start (the reason goes to stderr). */
fake_telegram *fake_telegram_start(void);
void fake_telegram_stop(fake_telegram *ft);
/* "http://127.0.0.1:PORT": the base URL for ts_tg / the poller. */
const char *fake_telegram_url(const fake_telegram *ft);

/*
 * Queue an update for token. update_json is sent as is when it carries an
 * update_id; a JSON object without one gets the token's next id. Returns the
 * update_id (-1 when update_json is not JSON and has no id: use push_raw).
 */
int64_t fake_telegram_push(fake_telegram *ft, const char *token, const char *update_json);
/* Queue text verbatim with this id (bad JSON, invalid UTF-8 as bytes). */
void fake_telegram_push_raw(fake_telegram *ft, const char *token, int64_t update_id,
                            const char *text);
/* The next getUpdates of token gets this body, whole, with HTTP 200. */
void fake_telegram_next_body(fake_telegram *ft, const char *token, const char *body);
/*
 * The next `times` calls of method (token NULL = any token) fail with status;
 * a 429 carries parameters.retry_after = retry_after.
 */
void fake_telegram_fail(fake_telegram *ft, const char *token, const char *method, int status,
                        int retry_after, int times);

/* Calls recorded so far matching method / token (NULL = any). */
int fake_telegram_count(fake_telegram *ft, const char *method, const char *token);
/* Wait up to timeout_ms until count(method, token) >= n; returns the count. */
int fake_telegram_wait(fake_telegram *ft, const char *method, const char *token, int n,
                       int timeout_ms);
/* Body of the nth matching call (negative: from the end, -1 = last); caller frees. */
cJSON *fake_telegram_body(fake_telegram *ft, const char *method, const char *token, int nth);
/* Methods of every call except getUpdates, in order, comma-separated, into out. */
const char *fake_telegram_sequence(fake_telegram *ft, char *out, size_t n);
/* Updates still queued for token (not yet confirmed by an offset). */
int fake_telegram_pending(fake_telegram *ft, const char *token);

#endif
