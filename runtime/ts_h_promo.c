/* ts_h_promo.c: promo codes (increment 3.2): ask for one, apply it. */
#include <string.h>

#include "ts_handlers.h"

/* The answer to each refusal. */
static ts_text_id refusal(ts_promo_outcome o)
{
    switch (o) {
    case TS_PROMO_ALREADY_USED: return TS_T_PROMO_USED;
    case TS_PROMO_NOT_YET_VALID:
    case TS_PROMO_EXPIRED:
    case TS_PROMO_USED_UP: return TS_T_PROMO_EXPIRED;
    default: return TS_T_PROMO_INVALID;
    }
}

int ts_h_promo(ts_hctx *h, const char *code, ts_error *err)
{
    ts_promocode pc;
    ts_promo_outcome o;
    char amount[32], days[24];
    int on = hx_feature(h, "promo_codes", err);
    if (on <= 0)
        return on;
    if (code == NULL || code[0] == '\0') {
        h->next = (ts_convo_state){TS_CONVO_PROMO, 0, 0};
        ts_kb kb = {0};
        hx_back_kb(&kb, h->lang);
        return hx_show(h, TS_T_PROMO_PROMPT, NULL, 0, &kb, err);
    }
    h->next = (ts_convo_state){TS_CONVO_NONE, 0, 0};
    int found = strlen(code) < sizeof pc.code ? ts_repo_promo_find(h->tx, code, &pc, err) : 0;
    if (found < 0 || (found == 1 && ts_repo_promo_apply(h->tx, code, h->user.id, 0, &o, err) != 0))
        return -1;
    if (found == 0 || o != TS_PROMO_APPLIED)
        return hx_answer(h, found == 0 ? TS_T_PROMO_INVALID : refusal(o), NULL, 0, err);
    const ts_text_arg a[] = {{"amount", hx_money(pc.balance_bonus_kopeks, amount)},
                             {"days", hx_int(pc.subscription_days, days)}};
    return hx_answer(h, strcmp(pc.type, "balance") == 0 ? TS_T_PROMO_OK_BALANCE
                                                        : TS_T_PROMO_OK_DAYS, a, 2, err);
}
