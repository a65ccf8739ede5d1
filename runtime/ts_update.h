/*
 * ts_update.h: one Telegram update, read and validated.
 *
 * ts-bot handles two kinds: a message (text, or a photo with an optional
 * caption, from a user in a chat) and a callback query (a button press whose
 * data follows the bot's grammar below). Everything else, and anything
 * malformed (not JSON, a missing or mistyped field, text over Telegram's
 * limits, invalid UTF-8, callback data the bot never sends), is refused with
 * an error naming the field, so the caller logs it, acknowledges the update
 * and moves on: one bad update never stops a bot.
 *
 * Callback data grammar: "action" or "action:arg", arg a decimal int64 or a
 * word of [A-Za-z0-9_-]; the actions and their argument kinds are the table
 * in ts_update.c (ts_cb_action below, in the same order).
 */
#ifndef TS_UPDATE_H
#define TS_UPDATE_H

#include <cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "ts_error.h"

#define TS_TEXT_MAX_UNITS 4096     /* message text, in UTF-16 units as Telegram counts */
#define TS_CAPTION_MAX_UNITS 1024

typedef enum ts_update_kind { TS_UPDATE_NONE, TS_UPDATE_MESSAGE, TS_UPDATE_CALLBACK } ts_update_kind;

typedef enum ts_cb_action {
    TS_CB_MENU,        /* menu */
    TS_CB_PLANS,       /* plans */
    TS_CB_BUY,         /* buy:<plan id> */
    TS_CB_BALANCE,     /* balance */
    TS_CB_HISTORY,     /* history */
    TS_CB_TOPUP,       /* topup */
    TS_CB_C2C,         /* c2c:<amount> */
    TS_CB_ZARINPAL,    /* zp:<amount> */
    TS_CB_PROMO,       /* promo */
    TS_CB_REFERRAL,    /* ref */
    TS_CB_TICKETS,     /* tickets */
    TS_CB_TICKET_NEW,  /* tnew */
    TS_CB_TICKET,      /* ticket:<id> */
    TS_CB_TICKET_CLOSE,/* tclose:<id> */
    TS_CB_APPROVE,     /* approve:<payment id> (admin) */
    TS_CB_REJECT,      /* reject:<payment id> (admin) */
    TS_CB_LANG,        /* lang:<fa|en> */
    TS_CB__COUNT
} ts_cb_action;

typedef struct ts_cb {
    ts_cb_action action;
    int64_t num;       /* the argument of int actions */
    char word[24];     /* the argument of word actions */
} ts_cb;

typedef struct ts_tg_user {
    int64_t id;
    int is_bot;
    char username[40];     /* "" when the user has none */
    char first_name[260];
    char last_name[260];
    char language[16];     /* IETF tag as the client sent it, "" when absent */
} ts_tg_user;

typedef struct ts_update {
    int64_t update_id;     /* -1 until read */
    ts_update_kind kind;
    ts_tg_user from;
    int64_t chat_id;
    int64_t message_id;    /* the message, or the message the pressed button is on */
    char *text;            /* text or caption, NULL when none; owned */
    char photo[256];       /* file_id of the largest size, "" when no photo */
    char command[33];      /* "start" for "/start@bot REF", "" when not a command */
    const char *args;      /* into text: what follows the command ("REF"), "" when nothing */
    char callback_id[72];  /* callback queries */
    ts_cb cb;
} ts_update;

/*
 * Read update j into u. 0 when it is a well-formed message or callback query;
 * -1 (TS_E_INVALID) naming what is wrong otherwise. Either way u holds what
 * was read before the problem (update_id, kind, callback_id) so the caller can
 * acknowledge the update and stop a button's spinner; free with ts_update_free.
 */
int ts_update_parse(const cJSON *j, ts_update *u, ts_error *err);
/* The same from JSON text (a malformed text is refused, not fatal). */
int ts_update_parse_text(const char *json, size_t len, ts_update *u, ts_error *err);
void ts_update_free(ts_update *u);

/*
 * The "result" list of a getUpdates body that does not parse whole, element
 * by element: one update with an escape cJSON refuses (a lone \ud800) or
 * nested deeper than cJSON's limit must not make every update of the batch
 * unreadable and the bot stuck on it. Each element that still does not parse
 * becomes {"update_id": N, TS_UPDATE_UNREADABLE: why}, which ts_update_parse
 * refuses naming N, so the caller logs and acknowledges it; an element without
 * a readable update_id is left out (the ids after it move the offset past it).
 * NULL when the body is no ok reply with a complete result list.
 */
cJSON *ts_updates_salvage(const char *body, size_t len);
#define TS_UPDATE_UNREADABLE "ts_unreadable"

/* Callback data of a button: parse what came back, format what is sent. */
int ts_cb_parse(const char *data, ts_cb *cb, ts_error *err);
/* "buy:12"; out needs 65 bytes (the Bot API's 64 + NUL). */
const char *ts_cb_format(const ts_cb *cb, char *out, size_t n);
const char *ts_cb_name(ts_cb_action a);

#endif
