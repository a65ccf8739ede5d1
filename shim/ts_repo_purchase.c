/*
 * ts_repo_purchase.c: a purchase paid from the balance (increment 2.3): the
 * debit, the subscription, its transaction, the referrer's reward and the
 * tenant's wallet in one unit of work. It uses users, bots, subscriptions and
 * referrals; none of them uses it.
 */
#include <stdint.h>
#include <string.h>

#include "ts_repo_int.h"

#define TS_GIB ((int64_t)1 << 30)   /* a plan's traffic_limit_gb in traffic_sold_bytes */

int ts_repo_purchase(ts_tx *tx, const ts_purchase *p, ts_purchase_result *out, ts_error *err)
{
    ts_subscription s;
    int already, rc;
    memset(out, 0, sizeof *out);
    if (p->price_kopeks < 0 || p->period_days <= 0)
        return ts_fail(err, TS_E_INVALID, "a purchase of %lld days for %lld kopeks: give a "
                       "period and a price that are not negative", (long long)p->period_days,
                       (long long)p->price_kopeks);
    if (p->traffic_limit_gb < 0 || p->traffic_limit_gb > INT64_MAX / TS_GIB)
        return ts_fail(err, TS_E_INVALID, "a purchase of %lld GB: give a traffic limit from 0 "
                       "(unlimited) to %lld", (long long)p->traffic_limit_gb,
                       (long long)(INT64_MAX / TS_GIB));
    if ((rc = ts_repo_user_debit(tx, p->user_id, p->price_kopeks, err)) <= 0)
        return rc;
    /* The tenant's users pay the tenant: its wallet grows in this same unit,
       so a purchase and its credit commit or roll back together. */
    const ts_ctx *ctx = ts_tx_ctx(tx);
    if (!ctx->is_master &&
        (rc = ts_repo_bot_wallet_credit(tx, ctx->bot_id, p->price_kopeks,
                                        p->traffic_limit_gb * TS_GIB, err)) != 1)
        return rc < 0 ? -1 : ts_fail(err, TS_E_NOTFOUND, "bot %lld of this unit of work is "
                                     "not registered", (long long)ctx->bot_id);
    /* A paid plan extends the paid subscription running now; after a trial
       (or none) it starts a new one. */
    if ((rc = ts_repo_sub_active(tx, p->user_id, &s, err)) < 0)
        return -1;
    if (rc == 1 && !s.is_trial) {
        out->subscription_id = s.id;
        if (ts_repo_sub_extend(tx, s.id, p->period_days, err) < 0)
            return -1;
    } else {
        ts_subscription_new ns = {p->user_id, 0, p->period_days, p->traffic_limit_gb,
                                  p->device_limit};
        if (ts_repo_sub_create(tx, &ns, &out->subscription_id, err))
            return -1;
    }
    ts_txn_new t = {p->user_id, "subscription_payment", p->price_kopeks, "subscription purchase",
                    "balance", NULL, 1};
    if (ts_repo_txn_create(tx, &t, &out->transaction_id, &already, err) ||
        ts_repo_referral_first_payment(tx, p->user_id, p->price_kopeks, p->referral_percent,
                                       out->transaction_id, &out->referral_reward_kopeks, err) < 0)
        return -1;
    return 1;
}
