/* ts_h_start.c: registration, /start with a referral code, the menu, language, referrals. */
#include <string.h>

#include "ts_handlers.h"

int ts_h_register(ts_hctx *h, const char *ref_code, ts_error *err)
{
    ts_user referrer;
    int64_t id;
    int rc = ts_repo_user_by_telegram(h->tx, h->u->from.id, &h->user, err);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    ts_user_new nu = {.telegram_id = h->u->from.id,
                      .username = h->u->from.username[0] ? h->u->from.username : NULL,
                      .first_name = h->u->from.first_name[0] ? h->u->from.first_name : NULL,
                      .last_name = h->u->from.last_name[0] ? h->u->from.last_name : NULL,
                      .language = ts_lang_name(h->lang)};
    /* An unknown or malformed code registers the user without a referrer. */
    if (ref_code != NULL && ref_code[0] != '\0' && strlen(ref_code) < sizeof referrer.referral_code) {
        if ((rc = ts_repo_user_by_referral_code(h->tx, ref_code, &referrer, err)) < 0)
            return -1;
        if (rc == 1)
            nu.referred_by_id = referrer.id;
    }
    if (ts_repo_user_create(h->tx, &nu, &id, NULL, err) != 0 ||
        ts_repo_user_get(h->tx, id, &h->user, err) != 1)
        return -1;
    h->registered_now = 1;
    return 0;
}

/* The menu text with the balance, and its keyboard. */
static int menu(ts_hctx *h, ts_error *err)
{
    char bal[32];
    ts_kb kb = {0};
    const ts_text_arg a[] = {{"balance", hx_money(h->user.balance_kopeks, bal)}};
    hx_menu_kb(&kb, h->lang);
    return hx_show(h, TS_T_MENU, a, 1, &kb, err);
}

int ts_h_start(ts_hctx *h, ts_error *err)
{
    ts_kb kb = {0};
    const ts_text_arg who[] = {{"name", h->u->from.first_name}};
    hx_menu_kb(&kb, h->lang);
    if (hx_show(h, TS_T_WELCOME, who, 1, &kb, err) != 0)
        return -1;
    if (!h->registered_now)
        return 0;
    int on = ts_flags_enabled(h->svc->flags, h->svc->sh, h->tx, h->bot->bot_id,
                              "trial_subscription", err);
    if (on <= 0)
        return on;
    ts_subscription_new trial = {h->user.id, 1, h->svc->cfg->trial_days,
                                 h->svc->cfg->trial_traffic_gb, 0};
    ts_subscription s;
    int64_t sid;
    char until[16];
    if (ts_repo_sub_create(h->tx, &trial, &sid, err) != 0 || ts_repo_sub_get(h->tx, sid, &s, err) != 1)
        return -1;
    const ts_text_arg a[] = {{"until", hx_date(s.end_date, until)}};
    return hx_send_to(h, h->u->chat_id, h->lang, TS_T_TRIAL_STARTED, a, 1, NULL, err);
}

int ts_h_menu(ts_hctx *h, ts_error *err) { return menu(h, err); }

int ts_h_lang(ts_hctx *h, ts_error *err)
{
    ts_lang lang = ts_lang_of(h->u->cb.word);
    ts_set f = {"language", ts_text(ts_lang_name(lang))};
    if (ts_repo_user_update(h->tx, h->user.id, &f, 1, err) < 0)
        return -1;
    h->lang = lang;
    return menu(h, err);
}

int ts_h_referral(ts_hctx *h, ts_error *err)
{
    int on = hx_feature(h, "referral_program", err);
    if (on <= 0)
        return on;
    /* Invited: users registered with this user's code. Earned: one earning
       row per friend's first payment, so at most one per invited user. */
    ts_result *r;
    int64_t invited;
    if (ts_repo_user_referred_count(h->tx, h->user.id, &invited, err) != 0 ||
        ts_repo_referral_earnings(h->tx, h->user.id, 1000, &r, err) != 0)
        return -1;
    int64_t earned = 0;
    for (int i = 0; i < ts_result_count(r); i++)
        earned += ts_result_int(r, i, "amount_kopeks");
    char link[sizeof "/start " + sizeof h->user.referral_code], count[24], total[32];
    snprintf(link, sizeof link, "/start %s", h->user.referral_code);
    const ts_text_arg a[] = {{"link", link},
                             {"count", hx_int(invited, count)},
                             {"earned", hx_money(earned, total)}};
    ts_result_free(r);
    ts_kb kb = {0};
    hx_back_kb(&kb, h->lang);
    return hx_show(h, TS_T_REFERRAL, a, 3, &kb, err);
}
