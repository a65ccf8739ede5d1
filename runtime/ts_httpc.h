/*
 * ts_httpc.h: blocking JSON-over-HTTP POST with bounded retries, on libcurl.
 *
 * The one place the outgoing clients (Telegram's sending methods, Zarinpal)
 * talk HTTP. A network error, a 5xx or a 429 is retried with exponential
 * backoff up to max_attempts; a 429 waits what the server asked for when the
 * caller can read it from the body (Telegram: parameters.retry_after). Any
 * other status is a final answer handed back to the caller to interpret.
 *
 * URLs may hold secrets (a Telegram token): errors and logs name the call by
 * the caller's label, never by its URL.
 */
#ifndef TS_HTTPC_H
#define TS_HTTPC_H

#include <stddef.h>

#include "ts_buf.h"
#include "ts_error.h"

typedef struct ts_httpc ts_httpc;

typedef struct ts_httpc_opts {
    long timeout_ms;          /* per attempt; 0 = 30000 */
    int max_attempts;         /* 0 = 4 */
    int backoff_ms;           /* first retry delay, doubled per retry; 0 = 250 */
    int max_backoff_ms;       /* 0 = 8000 */
    int max_retry_after_ms;   /* a 429 asking to wait longer fails instead; 0 = 30000 */
    /* How to wait between attempts; NULL = nanosleep. Tests record instead. */
    void (*sleep_ms)(void *arg, int ms);
    void *sleep_arg;
} ts_httpc_opts;

/* How long a 429 body asks to wait, in ms; -1 when it does not say. */
typedef int (*ts_httpc_retry_after_fn)(const char *body, size_t len);

typedef struct ts_httpc_resp {
    long status;      /* HTTP status of the final attempt */
    int attempts;     /* attempts made */
    ts_buf body;      /* final attempt's body; free with ts_buf_free */
} ts_httpc_resp;

/* opts (may be NULL) with every unset field at its default. */
ts_httpc_opts ts_httpc_defaults(const ts_httpc_opts *opts);

/*
 * The retry rule, for this client and for transfers on an event loop: after
 * attempt (from 1) ended with status (0: a network error) and body, the ms to
 * wait before the next attempt (the retry is logged), or -1 when the answer is
 * final (not a network error, 5xx or 429; attempts used up; a 429 asking
 * longer than max_retry_after_ms). o must have its defaults.
 */
int ts_httpc_retry_wait(const ts_httpc_opts *o, const char *label, int attempt, long status,
                        const char *body, size_t len, ts_httpc_retry_after_fn retry_after);

/* opts may be NULL (defaults). */
int ts_httpc_open(const ts_httpc_opts *opts, ts_httpc **out, ts_error *err);
void ts_httpc_close(ts_httpc *h);

/*
 * POST body (JSON) to url. 0 when any HTTP response came back (resp->status
 * says which: possibly a 5xx or 429 left after the last attempt); -1 with
 * TS_E_CONN when the last attempt failed at the network level.
 */
int ts_httpc_post_json(ts_httpc *h, const char *url, const char *label, const char *body,
                       ts_httpc_retry_after_fn retry_after, ts_httpc_resp *resp, ts_error *err);

/* Exponential backoff: base * 2^(attempt-1), capped (attempt counts from 1). */
int ts_backoff_ms(int base_ms, int max_ms, int attempt);

#endif
