/*
 * ts_poller.h: long polling for many bots in one event loop.
 *
 * One curl multi handle runs one getUpdates long poll per bot. The owner calls
 * ts_poller_step from its loop; a step starts the polls that are due, waits
 * (curl_multi_poll, also on the owner's extra descriptors, at most timeout_ms
 * so the owner keeps its housekeeping rhythm) and hands every update that came
 * back to the owner's callback, one bot's updates in update_id order.
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
 * Single-threaded: call nothing of a poller from inside its callback.
 */
#ifndef TS_POLLER_H
#define TS_POLLER_H

#include <cJSON.h>
#include <curl/curl.h>
#include <stdint.h>

#include "ts_error.h"

typedef struct ts_poller ts_poller;

typedef enum ts_poll_verdict { TS_POLL_ACK, TS_POLL_RETRY } ts_poll_verdict;

typedef ts_poll_verdict (*ts_poll_fn)(void *arg, int64_t bot_id, const cJSON *update);

typedef struct ts_poller_opts {
    const char *base_url;   /* Telegram; NULL = TS_TG_DEFAULT_URL */
    int timeout_s;          /* getUpdates long-poll timeout; 0 = 25 (negative: 0, no hold) */
    int limit;              /* updates per poll; 0 = 100 */
    int backoff_ms;         /* first backoff of a failing bot; 0 = 500 */
    int max_backoff_ms;     /* 0 = 30000 */
    ts_poll_fn on_update;
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

/* The next offset bot_id will ask for (its last acknowledged update + 1, or 0);
   -1 when the bot is not polled. */
int64_t ts_poller_offset(const ts_poller *p, int64_t bot_id);

/*
 * Shutdown: abort the long polls, then tell Telegram the acknowledged offsets
 * (a getUpdates with timeout 0 for each bot that acknowledged updates since its
 * last poll), so they are not redelivered at the next start. Waits at most
 * timeout_ms; what is not confirmed is redelivered and deduplicated later.
 */
void ts_poller_drain(ts_poller *p, int timeout_ms);

#endif
