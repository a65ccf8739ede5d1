/* ts_h_topup.c: the top-up menu and card-to-card (increment 3.3, cards of 1.1):
   card, receipt, admin approval or rejection. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ts_handlers.h"
#include "ts_log.h"

/* The amounts offered; a button with any other amount is refused (forged data). */
static const int64_t amounts[] = {50000, 100000, 200000, 500000};
#define NAMOUNTS ((int)(sizeof amounts / sizeof amounts[0]))

int ts_topup_amount_valid(int64_t amount)
{
    for (int i = 0; i < NAMOUNTS; i++)
        if (amounts[i] == amount)
            return 1;
    return 0;
}

int ts_topup_amounts(ts_hctx *h, ts_cb_action action, ts_error *err)
{
    ts_kb kb = {0};
    char data[TS_TG_CALLBACK_DATA_MAX + 1], label[32];
    for (int i = 0; i < NAMOUNTS; i++) {
        ts_cb cb = {.action = action, .num = amounts[i]};
        if (i % 2 == 0)
            ts_kb_row(&kb);
        ts_kb_button(&kb, hx_money(amounts[i], label), ts_cb_format(&cb, data, sizeof data));
    }
    hx_back_kb(&kb, h->lang);
    return hx_show(h, TS_T_TOPUP_AMOUNT, NULL, 0, &kb, err);
}

int ts_h_topup(ts_hctx *h, ts_error *err)
{
    ts_kb kb = {0};
    ts_kb_row(&kb);
    hx_button(&kb, h->lang, TS_T_BTN_C2C, TS_CB_C2C, 0);
    hx_button(&kb, h->lang, TS_T_BTN_ZARINPAL, TS_CB_ZARINPAL, 0);
    hx_back_kb(&kb, h->lang);
    return hx_show(h, TS_T_TOPUP, NULL, 0, &kb, err);
}

int ts_h_c2c(ts_hctx *h, int64_t amount, ts_error *err)
{
    ts_card card;
    char money[32];
    int on = hx_feature(h, "card_to_card", err);
    if (on <= 0)
        return on;
    if (!hx_stage_ready(h, "1.1", TS_STAGE_EXPANDED) || !hx_new_payments_ready(h))
        return 0;
    if (amount == 0)
        return ts_topup_amounts(h, TS_CB_C2C, err);
    if (!ts_topup_amount_valid(amount))
        return hx_answer(h, TS_T_NOT_AVAILABLE, NULL, 0, err);
    int rc = ts_repo_card_pick(h->tx, &h->svc->pick, &card, err);
    if (rc <= 0)
        return rc < 0 ? -1 : hx_answer(h, TS_T_NOT_AVAILABLE, NULL, 0, err);
    const ts_text_arg a[] = {{"amount", hx_money(amount, money)},
                             {"card", card.card_number},
                             {"holder", card.card_holder_name}};
    ts_kb kb = {0};
    hx_back_kb(&kb, h->lang);
    h->next = (ts_convo_state){TS_CONVO_RECEIPT, amount, card.id};
    return hx_show(h, TS_T_C2C_INSTRUCTIONS, a, 3, &kb, err);
}

/* The admin chat's notice of a receipt, with approve / reject buttons. */
static int notify_admin(ts_hctx *h, const ts_c2c_payment *p, ts_error *err)
{
    ts_buf t = {0};
    ts_kb kb = {0};
    char user_id[24], money[32];
    ts_lang lang = h->bot->language;
    if (h->bot->admin_chat_id == 0) {
        ts_log(TS_LOG_WARN, "c2c_no_admin_chat", "bot_id=%" PRId64 " payment_id=%" PRId64,
               h->bot->bot_id, p->id);
        return 0;   /* stays pending; listed by the admin tools */
    }
    const char *who = h->u->from.username[0] ? h->u->from.username : h->u->from.first_name;
    const ts_text_arg a[] = {{"tracking", p->tracking_number},
                             {"user", who},
                             {"user_id", hx_int(h->u->from.id, user_id)},
                             {"amount", hx_money(p->amount_kopeks, money)}};
    if (hx_render(&t, TS_T_C2C_ADMIN_NOTICE, lang, a, 4, err) != 0)
        return -1;
    if (p->receipt_text[0] != '\0')
        ts_buf_printf(&t, "\n\n%s", p->receipt_text);
    ts_kb_row(&kb);
    hx_button(&kb, lang, TS_T_BTN_APPROVE, TS_CB_APPROVE, p->id);
    hx_button(&kb, lang, TS_T_BTN_REJECT, TS_CB_REJECT, p->id);
    if (p->receipt_image_file_id[0] != '\0' && t.len <= 1024)
        ts_replies_photo(h->out, h->bot->admin_chat_id, p->receipt_image_file_id, t.s, &kb);
    else if (p->receipt_image_file_id[0] != '\0') {   /* a caption holds 1024 characters */
        ts_replies_photo(h->out, h->bot->admin_chat_id, p->receipt_image_file_id, NULL, NULL);
        ts_replies_send(h->out, h->bot->admin_chat_id, t.s, &kb);
    } else
        ts_replies_send(h->out, h->bot->admin_chat_id, t.s, &kb);
    ts_kb_free(&kb);
    ts_buf_free(&t);
    return 0;
}

int ts_h_c2c_receipt(ts_hctx *h, ts_error *err)
{
    const ts_update *u = h->u;
    int64_t id;
    char tracking[TS_REPO_TRACKING_SIZE];
    ts_c2c_payment p;
    ts_c2c_new n = {h->user.id, h->convo.a, h->convo.b,
                    u->text && u->text[0] ? u->text : NULL, u->photo[0] ? u->photo : NULL};
    if (n.receipt_text == NULL && n.receipt_image_file_id == NULL)
        return hx_answer(h, TS_T_UNKNOWN_COMMAND, NULL, 0, err);
    /* The stages may have moved back since the amount was chosen. */
    if (!hx_new_payments_ready(h)) {
        h->next = (ts_convo_state){TS_CONVO_NONE, 0, 0};
        return 0;
    }
    if (ts_repo_c2c_create(h->tx, &n, &id, tracking, err) != 0 ||
        ts_repo_c2c_get(h->tx, id, &p, err) != 1)
        return -1;
    h->next = (ts_convo_state){TS_CONVO_NONE, 0, 0};
    const ts_text_arg a[] = {{"tracking", tracking}};
    if (hx_send_to(h, u->chat_id, h->lang, TS_T_C2C_RECEIPT_RECEIVED, a, 1, NULL, err) != 0)
        return -1;
    return notify_admin(h, &p, err);
}

int ts_h_c2c_review(ts_hctx *h, int approve, int64_t payment_id, ts_error *err)
{
    ts_c2c_payment p;
    ts_user owner;
    int64_t txn = 0, reward = 0;
    char money[32], bal[32];
    int rc = hx_admin_only(h, err);
    if (rc <= 0 || !hx_new_payments_ready(h))
        return rc < 0 ? -1 : 0;
    rc = approve ? ts_repo_c2c_approve(h->tx, payment_id, h->u->from.id, &txn, err)
                 : ts_repo_c2c_reject(h->tx, payment_id, h->u->from.id, "rejected by an admin", err);
    if (rc < 0 && err->code == TS_E_NOTFOUND)   /* not this bot's payment */
        return hx_answer(h, TS_T_NOT_AVAILABLE, NULL, 0, err);
    if (rc < 0 || ts_repo_c2c_get(h->tx, payment_id, &p, err) != 1)
        return -1;
    const ts_text_arg t[] = {{"tracking", p.tracking_number}};
    if (rc == 0)
        return hx_answer(h, TS_T_C2C_ALREADY_PROCESSED, t, 1, err);
    if (approve) {
        int percent = hx_referral_percent(h, err);
        if (percent < 0 ||
            ts_repo_referral_first_payment(h->tx, p.user_id, p.amount_kopeks, percent, txn,
                                           &reward, err) < 0 ||
            (p.card_id != 0 && ts_repo_card_record(h->tx, p.card_id, 1, err) != 0))
            return -1;
    }
    if (ts_repo_user_get(h->tx, p.user_id, &owner, err) != 1)
        return -1;
    /* The admin's button press: a toast naming the outcome. */
    ts_buf note = {0};
    if (hx_render(&note, approve ? TS_T_BTN_APPROVE : TS_T_BTN_REJECT, h->lang, NULL, 0, err) != 0)
        return -1;
    ts_buf_printf(&note, ": %s", p.tracking_number);
    if (h->u->kind == TS_UPDATE_CALLBACK)
        ts_replies_answer(h->out, h->u->callback_id, note.s, 0);
    ts_buf_free(&note);
    if (owner.telegram_id == 0)
        return 0;
    const ts_text_arg a[] = {{"tracking", p.tracking_number},
                             {"amount", hx_money(p.amount_kopeks, money)},
                             {"balance", hx_money(owner.balance_kopeks, bal)}};
    if (hx_send_to(h, owner.telegram_id, ts_lang_of(owner.language),
                   approve ? TS_T_C2C_APPROVED : TS_T_C2C_REJECTED, a, approve ? 3 : 1, NULL,
                   err) != 0)
        return -1;
    return hx_referral_notify(h, p.user_id, reward, err);
}
