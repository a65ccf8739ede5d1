/*
 * ts_app.h: ts-bot's application: the data-backed handlers on the shim,
 * plugged into the process core (ts_bot) through its hooks.
 *
 * A batch of one bot's updates is one unit of work (group commit, see
 * ts_app.c): ts_shim_begin with the bot's context, per update the (bot_id,
 * update_id) record first (already there: a redelivery, nothing is changed or
 * sent) and the handler's reads and writes, the commit; only then are the
 * replies delivered and the conversation states and flag cache updated. A
 * retryable error (stale route, busy, lost connection) rolls back and asks the
 * poller to redeliver; any other error rolls back and the user gets the
 * "error" text.
 *
 * Hooks: the bots to serve (ts_registry), housekeeping (ts_shim_tick, and at
 * start-up and every zarinpal_reconcile_s the Zarinpal reconciliation),
 * SIGUSR1 (ts_shim_set_kill_switch), the Zarinpal callback (its own unit of
 * work, retried on retryable errors) and /metrics families for the shim.
 */
#ifndef TS_APP_H
#define TS_APP_H

#include "ts_bot.h"
#include "ts_config.h"
#include "ts_shim.h"

typedef struct ts_app ts_app;

typedef struct ts_app_opts {
    const ts_httpc_opts *http;   /* for the Zarinpal client; NULL = defaults */
    uint64_t *card_seed;         /* card rotation draws from it (tests); NULL = random */
} ts_app_opts;

/* cfg and sh are borrowed and must outlive the app. */
int ts_app_open(const ts_config *cfg, ts_shim *sh, const ts_app_opts *opts, ts_app **out,
                ts_error *err);
void ts_app_close(ts_app *a);

/* The hooks for ts_bot_open (arg is the app). */
ts_bot_hooks ts_app_hooks(ts_app *a);
/* The process core, for replies outside an update (a Zarinpal callback). */
void ts_app_attach(ts_app *a, ts_bot *b);

#endif
