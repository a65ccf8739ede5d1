/*
 * ts_http.h: ts-bot's HTTP endpoint on libmicrohttpd.
 *
 *   GET /healthz                 200 "ok": the event loop is serving and the stores it
 *                                needs are up; 503 naming the store that is down
 *   GET /metrics                 Prometheus text (ts_metrics)
 *   GET /zarinpal/callback/<bot_id>?Authority=...&Status=OK|NOK
 *                                checked, then handed to the owner's handler
 *   any method /api/v1/...       the management API (ts_api.h): the request with
 *                                its body (at most TS_HTTP_BODY_MAX bytes, else 413
 *                                before the handler sees it) handed to on_api
 *
 * The daemon runs without a thread of its own (epoll, external polling): the
 * owner waits on ts_http_fd together with its other descriptors and calls
 * ts_http_run, so request handlers run on the event loop's thread and may use
 * the same (single-threaded) data layer as the update handlers. A /healthz
 * answer therefore also proves the loop is not stuck.
 */
#ifndef TS_HTTP_H
#define TS_HTTP_H

#include <stdint.h>

#include "ts_buf.h"
#include "ts_error.h"
#include "ts_metrics.h"

typedef struct ts_http ts_http;

/* What a route handler answers; body is freed by the server. */
typedef struct ts_http_reply {
    int status;                  /* 200 unless set */
    const char *content_type;    /* static string; "text/plain; charset=utf-8" unless set */
    ts_buf body;
    int retry_after;             /* > 0: a Retry-After header of that many seconds */
} ts_http_reply;

#define TS_HTTP_BODY_MAX 65536
#define TS_HTTP_QUERY_MAX 8      /* query parameters an API request may have (else 400) */

/* One parameter of the query string, percent-decoded; value "" when none was given. */
typedef struct ts_http_param {
    const char *name, *value;
} ts_http_param;

/* A request of the management API, valid during the call. */
typedef struct ts_http_request {
    const char *method;          /* GET, POST, PUT, PATCH, DELETE... */
    const char *path;            /* after /api/v1 ("/bots/2"), without the query */
    const char *body;            /* NUL-terminated; "" when none */
    size_t body_len;             /* may be less than strlen when the body holds a NUL */
    const char *token;           /* X-API-Token, else the Authorization: Bearer credential; NULL */
    const char *client;          /* the peer's address, numeric */
    const ts_http_param *query;  /* the query string's parameters, in order */
    int nquery;
} ts_http_request;

typedef void (*ts_api_fn)(void *arg, const ts_http_request *req, ts_http_reply *reply);

/* A checked Zarinpal callback: ok is Status=OK. Return -1 for a 500. */
typedef int (*ts_zarinpal_fn)(void *arg, int64_t bot_id, const char *authority, int ok,
                              ts_http_reply *reply);

typedef struct ts_http_opts {
    const char *listen;          /* IP address; NULL = 127.0.0.1 */
    int port;                    /* 0 = any free port */
    ts_metrics *metrics;         /* may be NULL: /metrics is 404 */
    ts_zarinpal_fn on_zarinpal;  /* NULL: the callback answers 503 */
    void *zarinpal_arg;
    ts_api_fn on_api;            /* NULL: /api/v1/ is 404 */
    void *api_arg;
    /* NULL, or 0 when healthy; -1 with err saying why not (/healthz answers 503). */
    int (*health)(void *arg, ts_error *err);
    void *health_arg;
} ts_http_opts;

int ts_http_start(const ts_http_opts *opts, ts_http **out, ts_error *err);
void ts_http_stop(ts_http *h);
int ts_http_port(const ts_http *h);
/* Readable when there is work: add it to the loop's poll set. */
int ts_http_fd(const ts_http *h);
/* Wait up to timeout_ms for work (0: none), then serve what is ready. */
void ts_http_run(ts_http *h, int timeout_ms);

#endif
