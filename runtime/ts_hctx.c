/* ts_hctx.c: what the handlers share: replies, feature gates, formatting. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ts_handlers.h"
#include "ts_log.h"

int hx_render(ts_buf *out, ts_text_id id, ts_lang lang, const ts_text_arg *a, int n,
              ts_error *err)
{
    ts_buf_reset(out);
    if (ts_text_render(id, lang, a, n, out, err) != 0)
        return -1;
    if (out->s == NULL)
        ts_buf_puts(out, "");
    return out->oom ? ts_fail(err, TS_E_NOMEM, "out of memory rendering a reply") : 0;
}

int hx_show(ts_hctx *h, ts_text_id id, const ts_text_arg *a, int n, ts_kb *kb, ts_error *err)
{
    ts_buf t = {0};
    int rc = hx_render(&t, id, h->lang, a, n, err);
    if (rc == 0 && h->u->kind == TS_UPDATE_CALLBACK) {
        ts_replies_edit(h->out, h->u->chat_id, h->u->message_id, t.s, kb);
        ts_replies_answer(h->out, h->u->callback_id, NULL, 0);
    } else if (rc == 0) {
        ts_replies_send(h->out, h->u->chat_id, t.s, kb);
    }
    if (kb != NULL)
        ts_kb_free(kb);
    ts_buf_free(&t);
    return rc;
}

int hx_send_to(ts_hctx *h, int64_t chat_id, ts_lang lang, ts_text_id id, const ts_text_arg *a,
               int n, ts_kb *kb, ts_error *err)
{
    ts_buf t = {0};
    int rc = hx_render(&t, id, lang, a, n, err);
    if (rc == 0)
        ts_replies_send(h->out, chat_id, t.s, kb);
    if (kb != NULL)
        ts_kb_free(kb);
    ts_buf_free(&t);
    return rc;
}

int hx_answer(ts_hctx *h, ts_text_id id, const ts_text_arg *a, int n, ts_error *err)
{
    if (h->u->kind != TS_UPDATE_CALLBACK)
        return hx_send_to(h, h->u->chat_id, h->lang, id, a, n, NULL, err);
    ts_buf t = {0};
    int rc = hx_render(&t, id, h->lang, a, n, err);
    if (rc == 0)
        ts_replies_answer(h->out, h->u->callback_id, t.s, 1);
    ts_buf_free(&t);
    return rc;
}

int hx_feature(ts_hctx *h, const char *key, ts_error *err)
{
    int on = ts_flags_enabled(h->svc->flags, h->svc->sh, h->tx, h->bot->bot_id, key, err);
    if (on == 0 && hx_answer(h, TS_T_NOT_AVAILABLE, NULL, 0, err) != 0)
        return -1;
    return on;
}

int hx_stage_at_least(ts_shim *sh, const char *inc, ts_stage min)
{
    ts_stage st;
    int64_t version;
    return ts_shim_stage(sh, inc, &st, &version) == 0 && st >= min && st <= TS_STAGE_CONTRACTED;
}

int hx_stage_ready(ts_hctx *h, const char *inc, ts_stage min)
{
    if (hx_stage_at_least(h->svc->sh, inc, min))
        return 1;
    ts_error ignore;
    hx_answer(h, TS_T_NOT_AVAILABLE, NULL, 0, &ignore);
    return 0;
}

int hx_new_payments_ready(ts_hctx *h)
{
    /* The payment tables of 3.3 (made at its expand) are new: the real bot
       had neither card-to-card nor Zarinpal. Their rows reference users and
       transactions in the new store, written there from 2.3 dual_write on
       (which needs 2.1 there first). */
    return hx_stage_ready(h, "3.3", TS_STAGE_EXPANDED) &&
           hx_stage_ready(h, "2.3", TS_STAGE_DUAL_WRITE);
}

int hx_is_admin(const ts_hctx *h)
{
    return h->bot->admin_chat_id != 0 && h->u->chat_id == h->bot->admin_chat_id;
}

int hx_admin_only(ts_hctx *h, ts_error *err)
{
    if (hx_is_admin(h))
        return 1;
    return hx_answer(h, TS_T_ADMIN_ONLY, NULL, 0, err) == 0 ? 0 : -1;
}

const char *hx_int(int64_t v, char out[24])
{
    snprintf(out, 24, "%" PRId64, v);
    return out;
}

const char *hx_money(int64_t v, char out[32])
{
    char digits[24];
    uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    int n = snprintf(digits, sizeof digits, "%" PRIu64, mag), k = 0;
    if (v < 0)
        out[k++] = '-';
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            out[k++] = ',';
        out[k++] = digits[i];
    }
    out[k] = '\0';
    return out;
}

const char *hx_date(const char *timestamp, char out[16])
{
    snprintf(out, 16, "%.10s", timestamp ? timestamp : "");
    return out;
}

void hx_button(ts_kb *kb, ts_lang lang, ts_text_id label, ts_cb_action action, int64_t num)
{
    char data[TS_TG_CALLBACK_DATA_MAX + 1];
    ts_cb cb = {.action = action, .num = num};
    ts_kb_button(kb, ts_text_template(label, lang), ts_cb_format(&cb, data, sizeof data));
}

void hx_menu_kb(ts_kb *kb, ts_lang lang)
{
    static const struct {
        ts_text_id label;
        ts_cb_action action;
    } items[] = {{TS_T_BTN_PLANS, TS_CB_PLANS},       {TS_T_BTN_BALANCE, TS_CB_BALANCE},
                 {TS_T_BTN_TOPUP, TS_CB_TOPUP},       {TS_T_BTN_PROMO, TS_CB_PROMO},
                 {TS_T_BTN_REFERRAL, TS_CB_REFERRAL}, {TS_T_BTN_TICKETS, TS_CB_TICKETS}};
    for (size_t i = 0; i < sizeof items / sizeof items[0]; i++) {
        if (i % 2 == 0)
            ts_kb_row(kb);
        hx_button(kb, lang, items[i].label, items[i].action, 0);
    }
}

void hx_back_kb(ts_kb *kb, ts_lang lang)
{
    ts_kb_row(kb);
    hx_button(kb, lang, TS_T_BTN_BACK, TS_CB_MENU, 0);
}

int hx_referral_percent(ts_hctx *h, ts_error *err)
{
    int on = ts_flags_enabled(h->svc->flags, h->svc->sh, h->tx, h->bot->bot_id,
                              "referral_program", err);
    return on < 0 ? -1 : on ? h->svc->cfg->referral_percent : 0;
}

int hx_referral_notify(ts_hctx *h, int64_t user_id, int64_t reward, ts_error *err)
{
    ts_user u, referrer;
    char amount[32];
    if (reward <= 0)
        return 0;
    if (user_id != h->user.id && ts_repo_user_get(h->tx, user_id, &u, err) < 0)
        return -1;
    int64_t by = user_id == h->user.id ? h->user.referred_by_id : u.referred_by_id;
    if (by != 0 && ts_repo_user_get(h->tx, by, &referrer, err) < 0)
        return -1;
    if (by == 0 || referrer.telegram_id == 0)
        return 0;   /* a referrer without a Telegram id has no chat to tell */
    const ts_text_arg a[] = {{"amount", hx_money(reward, amount)}};
    return hx_send_to(h, referrer.telegram_id, ts_lang_of(referrer.language),
                      TS_T_REFERRAL_REWARD, a, 1, NULL, err);
}
