/*
 * ts_bot.h: the ts-bot process core: one event loop serving many bots.
 *
 * Each turn of the loop: the replies that may go are started (ts_outbox), the
 * poller waits (at most 250 ms, or until a reply's retry is due) on every
 * bot's long poll, the replies in flight and the HTTP endpoint, hands each
 * update to dispatch, serves HTTP, then runs the owner's housekeeping (tick: the shim's stage refresh,
 * heartbeat, journal replay) and, every bots_refresh_s, re-reads the bots to
 * serve. Everything runs on this one thread.
 *
 * Dispatch of one update: parse (ts_update); a malformed one is logged,
 * counted as skipped and acknowledged (a refused button press still gets its
 * spinner stopped). Otherwise the handler runs with the bot's context and
 * returns replies; then:
 *   0                       replies queued for the bot, update acknowledged
 *   -1, retryable error     nothing sent, not acknowledged: redelivered
 *                           after the bot's backoff (commit failed, stale route)
 *   -1, other error         logged, the user gets the "error" text, acknowledged
 * The exactly-once handlers record (bot_id, update_id) in the transaction of
 * their writes and return 0 for an update they find already recorded.
 *
 * Group commit: with a handle_batch, the poller's updates for one bot (up to
 * its TS_POLL_BATCH) go to it together and are acknowledged together after its
 * commit; their replies are queued in order. A retryable error retries the
 * batch; an unparsable update or any other error runs them one by one as above.
 *
 * Replies go out on the loop's multi handle without blocking it, in order per
 * chat (ts_outbox). A bot's next getUpdates starts once its replies to the
 * last batch are out, so a confirmed offset means the replies went too.
 *
 * Stop: *stop set (SIGTERM) ends the loop after the batch in hand; the
 * queued replies are sent (at most 2 s), the acknowledged offsets are confirmed to Telegram (ts_poller_drain) and
 * ts_bot_run returns 0. *kill set (SIGUSR1) is passed on to the owner's
 * kill_switch hook once.
 */
#ifndef TS_BOT_H
#define TS_BOT_H

#include <signal.h>
#include <stdint.h>

#include "ts_config.h"
#include "ts_http.h"
#include "ts_metrics.h"
#include "ts_reply.h"
#include "ts_text.h"
#include "ts_tg.h"
#include "ts_update.h"

/* A bot to serve, as the owner lists it (strings are copied). */
typedef struct ts_bot_info {
    int64_t bot_id;
    const char *token;
    int is_master;
    int64_t admin_chat_id;     /* 0 = none */
    ts_lang language;          /* for users whose client language is neither fa nor en */
} ts_bot_info;

/* The context a handler gets: which bot, and how to reach it. */
typedef struct ts_bot_ctx {
    int64_t bot_id;
    int is_master;
    int64_t admin_chat_id;
    ts_lang language;
    const char *name;          /* the token redacted, for logs */
} ts_bot_ctx;

typedef struct ts_handler {
    int (*handle)(void *arg, const ts_bot_ctx *bot, const ts_update *u, ts_replies *out,
                  ts_error *err);
    /* Optional: u[0..n) (n >= 2) as one unit of work, out[i] for u[i]. 0: all
       committed; -1 (nothing committed, out empty): a retryable error is
       redelivered, any other sends the updates to handle one by one. */
    int (*handle_batch)(void *arg, const ts_bot_ctx *bot, const ts_update *u, int n,
                        ts_replies *out, ts_error *err);
    void *arg;
} ts_handler;

typedef struct ts_bot_hooks {
    ts_handler handler;                      /* required */
    /* The bots to serve; the array stays valid until the next call. NULL: the
       master bot from the configuration, with bot_id 0 until the store says. */
    int (*list_bots)(void *arg, const ts_bot_info **bots, int *n, ts_error *err);
    int (*tick)(void *arg, ts_error *err);   /* housekeeping; errors are logged */
    void (*kill_switch)(void *arg, int on);
    ts_zarinpal_fn on_zarinpal;              /* the HTTP callback route */
    ts_api_fn on_api;                        /* /api/v1/: the management API; NULL: 404 */
    int (*health)(void *arg, ts_error *err); /* /healthz: 0 healthy; NULL: always */
    ts_metrics_hook metrics;                 /* more families for /metrics */
    void *arg;                               /* for all the hooks above */
    ts_httpc_opts http;                      /* how replies retry (sleep_ms unused) */
} ts_bot_hooks;

typedef struct ts_bot ts_bot;

/* Starts the HTTP endpoint (cfg->http_listen/http_port) and the poller. */
int ts_bot_open(const ts_config *cfg, const ts_bot_hooks *hooks, ts_bot **out, ts_error *err);
void ts_bot_close(ts_bot *b);
int ts_bot_http_port(const ts_bot *b);

/* The context of a served bot; NULL when it is not served. */
const ts_bot_ctx *ts_bot_context(ts_bot *b, int64_t bot_id);
/* Queue replies of a served bot outside an update (a payment callback); how
   many could not be queued, -1 when the bot is not served. */
int ts_bot_deliver(ts_bot *b, int64_t bot_id, const ts_replies *r);

/* The loop; returns 0 after a stop, -1 when it cannot go on. */
int ts_bot_run(ts_bot *b, volatile sig_atomic_t *stop, volatile sig_atomic_t *kill,
               ts_error *err);

#endif
