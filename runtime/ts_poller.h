/*
 * ts_poller.h: long polling for many bots in one event loop.
 *
 * One curl multi handle runs one getUpdates long poll per bot. The owner calls
 * ts_poller_step from its loop; a step starts the polls that are due, waits
 * (curl_multi_poll, also on the owner's extra descriptors, at most timeout_ms
 * so the owner keeps its housekeeping rhythm) and hands every update that came
 * back to the owner's callback, one bot's updates in update_id order: up to
 * TS_POLL_BATCH of them at a time to on_batch when the owner has one (so it can
 * commit them together), else, or when it asks, one by one to on_update.
 *
 * Offsets: the callback's verdict is the acknowledgement. TS_POLL_ACK means the
 * update is done (its effect committed, or it was refused for good) and the
 * bot's offset moves past it; Telegram forgets it at the next getUpdates.
 * TS_POLL_RETRY means it was not committed: the rest of that batch is left,
 * the bot backs off, and the update comes again. So after a crash an update
 * whose commit was not acknowledged is redelivered, never lost.
 *
 * Bots are keyed by the owner's bot_id; ts_poller_set_bots reconciles the set
 * (added bots start polling, missing ones stop, a changed token restarts the
 * bot). A bot whose polls fail (network, 5xx, 401, 409, bad reply) backs off
 * exponentially, or as long as a 429 asks, without delaying the others.
 *
 * The owner's own transfers (replies, ts_outbox) run on the same multi handle:
 * ts_poller_add starts one, and the step that sees it finish calls its done.
 * A step waits only when nothing has finished yet, so an answer that came back
 * while the step was sending is handled at once, not after timeout_ms.
 *
 * Single-threaded: call nothing of a poller from inside its callbacks (on_update,
 * on_batch, may_poll, a transfer's done) but ts_poller_add and ts_poller_remove from done.
 */
#ifndef TS_POLLER_H
#define TS_POLLER_H

#include <cJSON.h>
#include <curl/curl.h>
#include <stdint.h>

#include "ts_error.h"

typedef struct ts_poller ts_poller;

/* TS_POLL_SPLIT: only from on_batch, see there. */
typedef enum ts_poll_verdict { TS_POLL_ACK, TS_POLL_RETRY, TS_POLL_SPLIT } ts_poll_verdict;

typedef ts_poll_verdict (*ts_poll_fn)(void *arg, int64_t bot_id, const cJSON *update);

/* The most updates one on_batch call gets. */
#define TS_POLL_BATCH 32

/* updates[0..n) of one bot, 2 <= n <= TS_POLL_BATCH, as one: ACK acknowledges
   them all, RETRY none (as for one update), SPLIT hands them to on_update one
   by one. */
typedef ts_poll_verdict (*ts_poll_batch_fn)(void *arg, int64_t bot_id,
                                            const cJSON *const *updates, int n);

/* A transfer of the owner's on the poller's multi handle: easy is set up by the
   owner; done gets curl's result (the transfer is off the handle by then). */
typedef struct ts_xfer {
    CURL *easy;
    void (*done)(struct ts_xfer *x, CURLcode rc);
} ts_xfer;

typedef struct ts_poller_opts {
    const char *base_url;   /* Telegram; NULL = TS_TG_DEFAULT_URL */
    int timeout_s;          /* getUpdates long-poll timeout; 0 = 25 (negative: 0, no hold) */
    int limit;              /* updates per poll; 0 = 100 */
    int backoff_ms;         /* first backoff of a failing bot; 0 = 500 */
    int max_backoff_ms;     /* 0 = 30000 */
    ts_poll_fn on_update;
    ts_poll_batch_fn on_batch;   /* NULL: every update goes to on_update */
    /* May bot_id's next getUpdates start? NULL: always. The owner holds a bot
       back while its replies to the last batch are still going out. */
    int (*may_poll)(void *arg, int64_t bot_id);
    void *arg;
} ts_poller_opts;

typedef struct ts_poll_bot {
    int64_t bot_id;
    const char *token;
} ts_poll_bot;

int ts_poller_open(const ts_poller_opts *opts, ts_poller **out, ts_error *err);
void ts_poller_close(ts_poller *p);

/* Make the polled set exactly bots[0..n); malformed tokens and repeated ids are
   logged and left out. */
int ts_poller_set_bots(ts_poller *p, const ts_poll_bot *bots, int n, ts_error *err);
int ts_poller_count(const ts_poller *p);

/* One turn of the loop; extra (may be NULL) are the owner's descriptors to wake on. */
int ts_poller_step(ts_poller *p, struct curl_waitfd *extra, unsigned nextra, int timeout_ms,
                   ts_error *err);

/* Start x (its easy handle gets x as CURLOPT_PRIVATE); remove aborts one not
   yet done (done is not called). */
int ts_poller_add(ts_poller *p, ts_xfer *x, ts_error *err);
void ts_poller_remove(ts_poller *p, ts_xfer *x);

/* The next offset bot_id will ask for (its last acknowledged update + 1, or 0);
   -1 when the bot is not polled. */
int64_t ts_poller_offset(const ts_poller *p, int64_t bot_id);

/*
 * Shutdown: abort the long polls, then tell Telegram the acknowledged offsets
 * (a getUpdates with timeout 0 for each bot that acknowledged updates since its
 * last poll), so they are not redelivered at the next start. Waits at most
 * timeout_ms, also for the owner's transfers in flight (their done is called);
 * what is not confirmed is redelivered and deduplicated later.
 */
void ts_poller_drain(ts_poller *p, int timeout_ms);

#endif
