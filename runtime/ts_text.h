/*
 * ts_text.h: the message catalogue, every text ts-bot sends, in fa and en.
 *
 * A text is a template with named placeholders ("{balance}"), filled by
 * ts_text_render with values inserted verbatim: a value is never read as a
 * template or a format, and a missing value is an error, never "(null)".
 * Texts are sent as plain text (no parse_mode), so values need no escaping.
 */
#ifndef TS_TEXT_H
#define TS_TEXT_H

#include "ts_buf.h"
#include "ts_error.h"

typedef enum ts_text_id {
    TS_T_WELCOME, TS_T_MENU, TS_T_BTN_PLANS, TS_T_BTN_BALANCE, TS_T_BTN_TOPUP, TS_T_BTN_PROMO,
    TS_T_BTN_REFERRAL, TS_T_BTN_TICKETS, TS_T_BTN_BACK,
    TS_T_PLANS, TS_T_PLAN_BUTTON, TS_T_PLANS_EMPTY, TS_T_PURCHASE_OK, TS_T_PURCHASE_INSUFFICIENT,
    TS_T_TRIAL_STARTED,
    TS_T_BALANCE, TS_T_HISTORY, TS_T_HISTORY_LINE, TS_T_HISTORY_EMPTY,
    TS_T_TOPUP, TS_T_BTN_C2C, TS_T_BTN_ZARINPAL, TS_T_TOPUP_AMOUNT,
    TS_T_C2C_INSTRUCTIONS, TS_T_C2C_RECEIPT_RECEIVED, TS_T_C2C_ADMIN_NOTICE, TS_T_BTN_APPROVE,
    TS_T_BTN_REJECT, TS_T_C2C_APPROVED, TS_T_C2C_REJECTED, TS_T_C2C_ALREADY_PROCESSED,
    TS_T_ZARINPAL_LINK, TS_T_BTN_PAY, TS_T_ZARINPAL_PAID, TS_T_ZARINPAL_FAILED,
    TS_T_ZARINPAL_PAGE_OK, TS_T_ZARINPAL_PAGE_FAILED,
    TS_T_PROMO_PROMPT, TS_T_PROMO_OK_BALANCE, TS_T_PROMO_OK_DAYS, TS_T_PROMO_INVALID,
    TS_T_PROMO_EXPIRED, TS_T_PROMO_USED,
    TS_T_REFERRAL, TS_T_REFERRAL_REWARD,
    TS_T_TICKETS, TS_T_TICKET_LINE, TS_T_TICKETS_EMPTY, TS_T_BTN_TICKET_NEW, TS_T_BTN_TICKET_CLOSE, TS_T_TICKET_PROMPT,
    TS_T_TICKET_OPENED, TS_T_TICKET_REPLY_RECEIVED, TS_T_TICKET_ADMIN_REPLY, TS_T_TICKET_CLOSED,
    TS_T_ADMIN_STATS, TS_T_ADMIN_FLAGS, TS_T_ADMIN_STAGE, TS_T_ADMIN_ONLY,
    TS_T_NOT_AVAILABLE, TS_T_UNKNOWN_COMMAND, TS_T_ERROR, TS_T_ERROR_RETRY,
    TS_T__COUNT
} ts_text_id;

typedef enum ts_lang { TS_LANG_EN, TS_LANG_FA, TS_LANG__COUNT } ts_lang;

/* A Telegram language code ("fa", "fa-IR", "en-US", "ru") to a catalogue
   language: fa for fa*, en for everything else. */
ts_lang ts_lang_of(const char *code);
const char *ts_lang_name(ts_lang lang);

/* The key of a text ("welcome") and back; -1 when no such key. */
const char *ts_text_key(ts_text_id id);
int ts_text_find(const char *key, ts_text_id *out);

/* The template in lang, or in en when lang has none. */
const char *ts_text_template(ts_text_id id, ts_lang lang);

typedef struct ts_text_arg {
    const char *name;
    const char *value;
} ts_text_arg;

/* Append the filled text to out; -1 naming the placeholder that had no value. */
int ts_text_render(ts_text_id id, ts_lang lang, const ts_text_arg *args, int nargs, ts_buf *out,
                   ts_error *err);

#endif
