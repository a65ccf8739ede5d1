/*
 * ts_outbox.h: replies delivered without blocking the event loop.
 *
 * Each served bot has a queue of Bot API requests (ts_reply_request of every
 * reply, in the order the handlers produced them). ts_outbox_pump starts what
 * may go now as transfers on the poller's curl multi handle; the step that sees
 * one finish hands it back here. Up to OUTBOX_INFLIGHT requests of a bot are in
 * flight at once, but a request never overtakes an earlier one of the same chat
 * or of the same put (one update's replies): a chat sees its replies in order
 * (an edit after the message it edits), and an update's replies go in the
 * order its handler gave them (the user's answer, then the admin's notice).
 * Replies of different updates to different chats go in parallel.
 *
 * Retries as ts_httpc does them, on timers instead of sleeps: a network error
 * or a 5xx is retried after an exponential backoff, a 429 after its
 * retry_after (and the whole bot's queue waits that long: Telegram limits the
 * bot), at most max_attempts in all; any other answer is final. A reply that
 * fails for good is logged (reply_failed, the bot's token redacted) and
 * dropped; other chats and other bots never wait for it.
 */
#ifndef TS_OUTBOX_H
#define TS_OUTBOX_H

#include <stdint.h>

#include "ts_httpc.h"
#include "ts_poller.h"
#include "ts_reply.h"

typedef struct ts_outbox ts_outbox;
typedef struct ts_sendq ts_sendq;   /* one bot's queue */

/* base NULL = TS_TG_DEFAULT_URL; retry NULL = ts_httpc's defaults (its
   timeout_ms, max_attempts, backoff_ms, max_backoff_ms, max_retry_after_ms;
   sleep_ms is not used). The poller must outlive the outbox. */
int ts_outbox_open(ts_poller *p, const char *base, const ts_httpc_opts *retry, ts_outbox **out,
                   ts_error *err);
/* Aborts what is in flight; what is queued is dropped (logged). */
void ts_outbox_close(ts_outbox *o);

/* A bot's queue; token is checked and copied (it only ever goes into URL paths). */
int ts_sendq_open(ts_outbox *o, const char *token, ts_sendq **out, ts_error *err);
void ts_sendq_close(ts_sendq *q);   /* like ts_outbox_close, for one bot */

/* Queue r's replies in order; how many could not be queued (out of memory,
   a malformed keyboard: logged), 0 when all were. */
int ts_sendq_put(ts_sendq *q, const ts_replies *r);
/* Requests of the bot queued or in flight. */
int ts_sendq_pending(const ts_sendq *q);

/* Start what may go now; returns the ms until a retry is due (for the loop's
   wait; INT_MAX when none waits). */
int ts_outbox_pump(ts_outbox *o);
/* Requests queued or in flight, over all bots. */
int ts_outbox_pending(const ts_outbox *o);

#endif
