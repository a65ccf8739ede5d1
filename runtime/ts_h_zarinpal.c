/* ts_h_zarinpal.c: top-up through Zarinpal (table zarinpal_payments of 3.3):
   the payment link, then the gateway's callback (or the reconciliation of a
   payment whose callback never came) verified and settled once. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ts_handlers.h"
#include "ts_log.h"

int ts_h_zarinpal(ts_hctx *h, int64_t amount, ts_error *err)
{
    char authority[TS_ZP_AUTHORITY_MAX + 1], callback[TS_TG_URL_MAX], pay[TS_TG_URL_MAX];
    char money[32], desc[64];
    int64_t id;
    int on = hx_feature(h, "zarinpal", err);
    if (on <= 0)
        return on;
    /* The payer comes back through our public URL, and the bot needs a merchant. */
    if (h->settings->merchant[0] == '\0' || h->svc->cfg->public_url[0] == '\0')
        return hx_answer(h, TS_T_NOT_AVAILABLE, NULL, 0, err);
    if (!hx_new_payments_ready(h))
        return 0;
    if (amount == 0)
        return ts_topup_amounts(h, TS_CB_ZARINPAL, err);
    if (!ts_topup_amount_valid(amount))
        return hx_answer(h, TS_T_NOT_AVAILABLE, NULL, 0, err);
    snprintf(callback, sizeof callback, "%s/zarinpal/callback/%" PRId64, h->svc->cfg->public_url,
             h->bot->bot_id);
    snprintf(desc, sizeof desc, "balance top-up, user %" PRId64, h->user.id);
    if (ts_zp_request(h->svc->zp, h->settings->merchant, amount, callback, desc, authority,
                      err) != 0 ||
        ts_repo_zarinpal_create(h->tx, h->user.id, amount, authority, callback, &id, err) != 0 ||
        ts_zp_start_pay_url(h->svc->zp, authority, pay, sizeof pay) != 0)
        return -1;
    ts_kb kb = {0};
    ts_kb_row(&kb);
    ts_kb_url(&kb, ts_text_template(TS_T_BTN_PAY, h->lang), pay);
    hx_back_kb(&kb, h->lang);
    const ts_text_arg a[] = {{"amount", hx_money(amount, money)}};
    return hx_show(h, TS_T_ZARINPAL_LINK, a, 1, &kb, err);
}

/* Tell the payer; their language is the stored one. */
static int tell(ts_hctx *h, int64_t user_id, ts_text_id id, const char *ref_id, int64_t amount,
                ts_error *err)
{
    ts_user u;
    char money[32], bal[32];
    int rc = ts_repo_user_get(h->tx, user_id, &u, err);
    if (rc <= 0 || u.telegram_id == 0)
        return rc < 0 ? -1 : 0;
    const ts_text_arg a[] = {{"ref_id", ref_id},
                             {"amount", hx_money(amount, money)},
                             {"balance", hx_money(u.balance_kopeks, bal)}};
    return hx_send_to(h, u.telegram_id, ts_lang_of(u.language), id, a, 3, NULL, err);
}

const char *ts_zp_outcome_name(ts_zp_outcome o)
{
    static const char *const names[] = {"credited", "was_paid", "failed", "was_failed"};
    return names[o];
}

/* A payment that is no longer pending: what it became. */
static ts_zp_outcome was(const ts_zarinpal_payment *p)
{
    return strcmp(p->status, "paid") == 0 ? TS_ZP_WAS_PAID : TS_ZP_WAS_FAILED;
}

/* The one settlement path of callbacks and reconciliation: verify (when the
   payer came back with OK), then move the payment out of pending by its id. */
static int settle(ts_hctx *h, ts_zarinpal_payment *p, int ok, ts_zp_outcome *out, ts_error *err)
{
    ts_zp_verified v;
    char ref[24];
    int64_t txn, reward = 0;
    int rc;
    if (strcmp(p->status, "pending") != 0) {   /* a repeated callback */
        *out = was(p);
        return 0;
    }
    if (ok && ts_zp_verify(h->svc->zp, h->settings->merchant, p->authority, p->amount_kopeks, &v,
                           err) != 0) {
        if (err->code != TS_E_STATE)   /* the gateway unreachable: try again later */
            return -1;
        ok = 0;                        /* the gateway says it was not paid */
    }
    if (!ok)
        rc = ts_repo_zarinpal_mark_failed(h->tx, p->id, err);
    else {
        snprintf(ref, sizeof ref, "%" PRId64, v.ref_id);
        rc = ts_repo_zarinpal_mark_paid(h->tx, p->id, ref, &txn, err);
    }
    if (rc < 0)
        return -1;
    if (rc == 0) {   /* another unit settled it first: read what it made of it */
        if ((rc = ts_repo_zarinpal_get(h->tx, p->id, p, err)) <= 0)
            return rc < 0 ? -1 : ts_fail(err, TS_E_INTERNAL, "Zarinpal payment vanished");
        *out = was(p);
        return 0;
    }
    if (!ok) {
        *out = TS_ZP_FAILED;
        return tell(h, p->user_id, TS_T_ZARINPAL_FAILED, "", p->amount_kopeks, err);
    }
    *out = TS_ZP_CREDITED;
    int percent = hx_referral_percent(h, err);
    if (percent < 0 ||
        ts_repo_referral_first_payment(h->tx, p->user_id, p->amount_kopeks, percent, txn, &reward,
                                       err) < 0 ||
        tell(h, p->user_id, TS_T_ZARINPAL_PAID, ref, p->amount_kopeks, err) != 0)
        return -1;
    return hx_referral_notify(h, p->user_id, reward, err);
}

int ts_h_zarinpal_callback(ts_hctx *h, const char *authority, int ok, ts_zp_outcome *out,
                           ts_error *err)
{
    ts_zarinpal_payment p;
    int rc = ts_repo_zarinpal_by_authority(h->tx, authority, &p, err);
    if (rc <= 0)
        return rc < 0 ? -1 : ts_fail(err, TS_E_NOTFOUND, "no Zarinpal payment of bot %" PRId64
                                     " has this authority", h->bot->bot_id);
    return settle(h, &p, ok, out, err);
}

int ts_h_zarinpal_reconcile(ts_hctx *h, int64_t payment_id, ts_zp_outcome *out, ts_error *err)
{
    ts_zarinpal_payment p;
    int rc = ts_repo_zarinpal_get(h->tx, payment_id, &p, err);
    if (rc <= 0)
        return rc < 0 ? -1 : ts_fail(err, TS_E_NOTFOUND, "no Zarinpal payment %" PRId64
                                     " of bot %" PRId64, payment_id, h->bot->bot_id);
    return settle(h, &p, 1, out, err);
}
