/* ts_h_plans.c: the plans (table bot_plans of 1.1) and a purchase from the balance. */
#include "ts_handlers.h"

int ts_h_plans(ts_hctx *h, ts_error *err)
{
    ts_result *r;
    ts_kb kb = {0};
    ts_buf label = {0};
    if (!hx_stage_ready(h, "1.1", TS_STAGE_EXPANDED))
        return 0;
    if (ts_repo_plan_list_active(h->tx, &r, err) != 0)
        return -1;
    int n = ts_result_count(r), rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        ts_plan p;
        char days[24], price[32];
        ts_repo_plan_from(r, i, &p);
        const ts_text_arg a[] = {{"plan", p.name},
                                 {"days", hx_int(p.period_days, days)},
                                 {"price", hx_money(p.price_kopeks, price)}};
        char data[TS_TG_CALLBACK_DATA_MAX + 1];
        ts_cb cb = {.action = TS_CB_BUY, .num = p.id};
        if ((rc = hx_render(&label, TS_T_PLAN_BUTTON, h->lang, a, 3, err)) == 0) {
            ts_kb_row(&kb);
            ts_kb_button(&kb, label.s, ts_cb_format(&cb, data, sizeof data));
        }
    }
    ts_result_free(r);
    ts_buf_free(&label);
    if (rc != 0) {
        ts_kb_free(&kb);
        return -1;
    }
    hx_back_kb(&kb, h->lang);
    return hx_show(h, n > 0 ? TS_T_PLANS : TS_T_PLANS_EMPTY, NULL, 0, &kb, err);
}

int ts_h_buy(ts_hctx *h, int64_t plan_id, ts_error *err)
{
    ts_plan p;
    ts_purchase_result res;
    ts_subscription s;
    char price[32], bal[32], until[16];
    ts_kb kb = {0};
    if (!hx_stage_ready(h, "1.1", TS_STAGE_EXPANDED))
        return 0;
    int rc = ts_repo_plan_get(h->tx, plan_id, &p, err);
    if (rc < 0)
        return -1;
    if (rc == 0 || !p.is_active)   /* a stale button, or another bot's plan id */
        return hx_answer(h, TS_T_NOT_AVAILABLE, NULL, 0, err);
    int percent = hx_referral_percent(h, err);
    if (percent < 0)
        return -1;
    ts_purchase buy = {h->user.id, p.period_days, p.price_kopeks, p.traffic_limit_gb,
                       p.device_limit, percent};
    if ((rc = ts_repo_purchase(h->tx, &buy, &res, err)) < 0)
        return -1;
    hx_back_kb(&kb, h->lang);
    if (rc == 0) {
        const ts_text_arg a[] = {{"price", hx_money(p.price_kopeks, price)},
                                 {"balance", hx_money(h->user.balance_kopeks, bal)}};
        return hx_show(h, TS_T_PURCHASE_INSUFFICIENT, a, 2, &kb, err);
    }
    if (ts_repo_sub_get(h->tx, res.subscription_id, &s, err) != 1) {
        ts_kb_free(&kb);
        return -1;
    }
    const ts_text_arg a[] = {{"plan", p.name},
                             {"until", hx_date(s.end_date, until)},
                             {"balance", hx_money(h->user.balance_kopeks - p.price_kopeks, bal)}};
    if (hx_show(h, TS_T_PURCHASE_OK, a, 3, &kb, err) != 0)
        return -1;
    return hx_referral_notify(h, h->user.id, res.referral_reward_kopeks, err);
}
