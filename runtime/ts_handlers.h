/*
 * ts_handlers.h: the data-backed handlers of ts-bot and what they share.
 *
 * A handler runs inside the update's unit of work (ts_app opened it and
 * recorded the update first) with the sender registered; it reads and writes
 * through the repositories only, adds its replies to h->out (delivered after
 * the commit) and names the next conversation state in h->next. A refusal the
 * user should see (not enough balance, a used promo code) is a reply, not an
 * error; -1 is for failures, and rolls the whole update back.
 */
#ifndef TS_HANDLERS_H
#define TS_HANDLERS_H

#include "ts_bot.h"
#include "ts_config.h"
#include "ts_convo.h"
#include "ts_flags.h"
#include "ts_registry.h"
#include "ts_repo.h"
#include "ts_zarinpal.h"

/* What handlers use besides the unit of work; owned by ts_app. */
typedef struct ts_services {
    const ts_config *cfg;
    ts_shim *sh;
    ts_flags *flags;
    ts_zp *zp;
    ts_card_pick pick;         /* zeroed in production; tests seed it */
} ts_services;

typedef struct ts_hctx {
    const ts_services *svc;
    const ts_bot_ctx *bot;
    const ts_bot_settings *settings;
    const ts_update *u;
    ts_tx *tx;
    ts_replies *out;
    ts_lang lang;              /* the user's */
    ts_user user;              /* the sender, registered */
    int registered_now;        /* this update registered the sender */
    ts_convo_state convo;      /* what the bot was waiting for */
    ts_convo_state next;       /* applied after the commit */
    int flags_changed;         /* drop the bot's flag cache after the commit */
} ts_hctx;

/* ---- shared helpers (ts_hctx.c) -------------------------------------------- */

/* Render a catalogue text into out (reset first); -1 on a missing placeholder. */
int hx_render(ts_buf *out, ts_text_id id, ts_lang lang, const ts_text_arg *a, int n,
              ts_error *err);
/* Answer the update with a text: a callback edits its message (and stops the
   spinner), a message gets a new message. Takes over kb. */
int hx_show(ts_hctx *h, ts_text_id id, const ts_text_arg *a, int n, ts_kb *kb, ts_error *err);
/* A message to another chat (the admin chat, a referrer) in lang. Takes over kb. */
int hx_send_to(ts_hctx *h, int64_t chat_id, ts_lang lang, ts_text_id id, const ts_text_arg *a,
               int n, ts_kb *kb, ts_error *err);
/* A callback's answer (a toast, or an alert); for a message, a new message. */
int hx_answer(ts_hctx *h, ts_text_id id, const ts_text_arg *a, int n, ts_error *err);

/* 1 on; 0 off, and the "not available" answer is given; -1 error. */
int hx_feature(ts_hctx *h, const char *key, ts_error *err);
/* 1 when data increment inc is at stage min or later (expanded: its new
   tables exist), and not yet past contracted. */
int hx_stage_at_least(ts_shim *sh, const char *inc, ts_stage min);
/* The same; when not, 0 and the "not available" answer is given. */
int hx_stage_ready(ts_hctx *h, const char *inc, ts_stage min);
/* Card-to-card and Zarinpal payments can be stored (else says "not available"). */
int hx_new_payments_ready(ts_hctx *h);
int hx_is_admin(const ts_hctx *h);
/* 1 admin; 0 not, and "admins only" is answered; -1 error. */
int hx_admin_only(ts_hctx *h, ts_error *err);

/* Money as digits with thousands separators; a timestamp's date. */
const char *hx_money(int64_t v, char out[32]);
const char *hx_date(const char *timestamp, char out[16]);
const char *hx_int(int64_t v, char out[24]);

void hx_button(ts_kb *kb, ts_lang lang, ts_text_id label, ts_cb_action action, int64_t num);
void hx_menu_kb(ts_kb *kb, ts_lang lang);
void hx_back_kb(ts_kb *kb, ts_lang lang);

/* Tell the sender's referrer about a reward just paid (reward 0: nothing). */
int hx_referral_notify(ts_hctx *h, int64_t user_id, int64_t reward, ts_error *err);
/* The referral percent this bot pays now (0 when the program is off). */
int hx_referral_percent(ts_hctx *h, ts_error *err);

/* ---- handlers ------------------------------------------------------------------- */

/* Register the sender when new (with the referrer of ref_code, may be ""). */
int ts_h_register(ts_hctx *h, const char *ref_code, ts_error *err);
int ts_h_start(ts_hctx *h, ts_error *err);       /* /start [code]: welcome, trial, menu */
int ts_h_menu(ts_hctx *h, ts_error *err);
int ts_h_lang(ts_hctx *h, ts_error *err);
int ts_h_referral(ts_hctx *h, ts_error *err);

int ts_h_plans(ts_hctx *h, ts_error *err);
int ts_h_buy(ts_hctx *h, int64_t plan_id, ts_error *err);

int ts_h_balance(ts_hctx *h, ts_error *err);
int ts_h_history(ts_hctx *h, ts_error *err);

int ts_h_topup(ts_hctx *h, ts_error *err);
/* The amounts a top-up offers (a button with another amount was forged), and
   "choose an amount" with a button per amount for action (c2c / zp). */
int ts_topup_amount_valid(int64_t amount);
int ts_topup_amounts(ts_hctx *h, ts_cb_action action, ts_error *err);
int ts_h_c2c(ts_hctx *h, int64_t amount, ts_error *err);          /* 0: choose an amount */
int ts_h_c2c_receipt(ts_hctx *h, ts_error *err);                   /* the awaited receipt */
int ts_h_c2c_review(ts_hctx *h, int approve, int64_t payment_id, ts_error *err);

int ts_h_zarinpal(ts_hctx *h, int64_t amount, ts_error *err);     /* 0: choose an amount */
/* How a Zarinpal payment ended up: settled now, or found settled before. */
typedef enum ts_zp_outcome {
    TS_ZP_CREDITED, TS_ZP_WAS_PAID, TS_ZP_FAILED, TS_ZP_WAS_FAILED
} ts_zp_outcome;
const char *ts_zp_outcome_name(ts_zp_outcome o);   /* for logs */
/*
 * The gateway's callback for a payment of this bot (no update: h->u is NULL,
 * the payer is told by a message): verify a paid one with the gateway, settle
 * it once (a repeated or concurrent callback credits nothing), or mark it
 * failed. The gateway unreachable: -1 (TS_E_CONN), the payment left pending.
 */
int ts_h_zarinpal_callback(ts_hctx *h, const char *authority, int ok, ts_zp_outcome *out,
                           ts_error *err);
/* Reconciliation of payment id, still pending (its callback never came): the
   same as a callback that says OK, so the gateway's verify decides. */
int ts_h_zarinpal_reconcile(ts_hctx *h, int64_t payment_id, ts_zp_outcome *out, ts_error *err);

int ts_h_promo(ts_hctx *h, const char *code, ts_error *err);      /* NULL/"": ask for it */

int ts_h_tickets(ts_hctx *h, ts_error *err);
int ts_h_ticket_new(ts_hctx *h, ts_error *err);
int ts_h_ticket_show(ts_hctx *h, int64_t ticket_id, ts_error *err);
int ts_h_ticket_close(ts_hctx *h, int64_t ticket_id, ts_error *err);
int ts_h_ticket_text(ts_hctx *h, ts_error *err);                   /* awaited ticket text */
int ts_h_admin_reply(ts_hctx *h, ts_error *err);                   /* /reply ID TEXT */

int ts_h_stats(ts_hctx *h, ts_error *err);
int ts_h_flags(ts_hctx *h, ts_error *err);                         /* /flags [KEY on|off] */
int ts_h_stage(ts_hctx *h, ts_error *err);

/* Route one update to its handler (ts_route.c). */
int ts_h_route(ts_hctx *h, ts_error *err);

#endif
