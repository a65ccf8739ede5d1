/*
 * ts_convo.h: what the bot is waiting for from a user (the next message is a
 * receipt, a promo code, a ticket...).
 *
 * Kept in memory, per (bot, Telegram user), with a TTL and a fixed capacity
 * (the oldest entry in a probe window gives way): a conversation step is not
 * business data, and losing it on a restart only means the user presses the
 * button again. A handler never changes it directly: it names the next state
 * in its result and the dispatcher applies it after the commit, so a rolled
 * back or redelivered update leaves the conversation as it was.
 */
#ifndef TS_CONVO_H
#define TS_CONVO_H

#include <stdint.h>

typedef enum ts_convo_kind {
    TS_CONVO_NONE = 0,
    TS_CONVO_RECEIPT,        /* a card-to-card receipt: a = amount, b = card id */
    TS_CONVO_PROMO,          /* a promo code */
    TS_CONVO_TICKET,         /* the first message of a new ticket */
    TS_CONVO_TICKET_REPLY    /* a reply to ticket a */
} ts_convo_kind;

typedef struct ts_convo_state {
    ts_convo_kind kind;
    int64_t a, b;
} ts_convo_state;

typedef struct ts_convo ts_convo;

/* capacity is rounded up to a power of two; NULL when out of memory. */
ts_convo *ts_convo_new(int capacity, int ttl_s);
void ts_convo_free(ts_convo *c);

/* The state of (bot, user); TS_CONVO_NONE when none or expired. */
ts_convo_state ts_convo_get(ts_convo *c, int64_t bot_id, int64_t user_id);
/* Set it (kind NONE clears it). */
void ts_convo_set(ts_convo *c, int64_t bot_id, int64_t user_id, ts_convo_state st);

#endif
