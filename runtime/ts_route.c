/* ts_route.c: which handler answers an update. */
#include <string.h>

#include "ts_handlers.h"

static int unknown(ts_hctx *h, ts_error *err)
{
    ts_kb kb = {0};
    hx_menu_kb(&kb, h->lang);
    return hx_show(h, TS_T_UNKNOWN_COMMAND, NULL, 0, &kb, err);
}

static int callback(ts_hctx *h, ts_error *err)
{
    const ts_cb *cb = &h->u->cb;
    switch (cb->action) {
    case TS_CB_MENU: return ts_h_menu(h, err);
    case TS_CB_PLANS: return ts_h_plans(h, err);
    case TS_CB_BUY: return ts_h_buy(h, cb->num, err);
    case TS_CB_BALANCE: return ts_h_balance(h, err);
    case TS_CB_HISTORY: return ts_h_history(h, err);
    case TS_CB_TOPUP: return ts_h_topup(h, err);
    case TS_CB_C2C: return ts_h_c2c(h, cb->num, err);
    case TS_CB_ZARINPAL: return ts_h_zarinpal(h, cb->num, err);
    case TS_CB_PROMO: return ts_h_promo(h, NULL, err);
    case TS_CB_REFERRAL: return ts_h_referral(h, err);
    case TS_CB_TICKETS: return ts_h_tickets(h, err);
    case TS_CB_TICKET_NEW: return ts_h_ticket_new(h, err);
    case TS_CB_TICKET: return ts_h_ticket_show(h, cb->num, err);
    case TS_CB_TICKET_CLOSE: return ts_h_ticket_close(h, cb->num, err);
    case TS_CB_APPROVE: return ts_h_c2c_review(h, 1, cb->num, err);
    case TS_CB_REJECT: return ts_h_c2c_review(h, 0, cb->num, err);
    case TS_CB_LANG: return ts_h_lang(h, err);
    case TS_CB__COUNT: break;
    }
    return hx_answer(h, TS_T_NOT_AVAILABLE, NULL, 0, err);
}

static const struct {
    const char *name;
    int (*fn)(ts_hctx *h, ts_error *err);
} commands[] = {
    {"start", ts_h_start},     {"menu", ts_h_menu},       {"plans", ts_h_plans},
    {"balance", ts_h_balance}, {"history", ts_h_history}, {"topup", ts_h_topup},
    {"referral", ts_h_referral}, {"tickets", ts_h_tickets}, {"stats", ts_h_stats},
    {"flags", ts_h_flags},     {"stage", ts_h_stage},     {"reply", ts_h_admin_reply},
};

static int command(ts_hctx *h, ts_error *err)
{
    if (strcmp(h->u->command, "promo") == 0)
        return ts_h_promo(h, h->u->args, err);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(h->u->command, commands[i].name) == 0)
            return commands[i].fn(h, err);
    return unknown(h, err);
}

int ts_h_route(ts_hctx *h, ts_error *err)
{
    /* Navigating (a button, a command) abandons what the bot was waiting for;
       a handler that waits for something names it again. */
    int navigating = h->u->kind == TS_UPDATE_CALLBACK || h->u->command[0] != '\0';
    h->next = navigating ? (ts_convo_state){TS_CONVO_NONE, 0, 0} : h->convo;
    if (h->u->kind == TS_UPDATE_CALLBACK)
        return callback(h, err);
    if (navigating)
        return command(h, err);
    switch (h->convo.kind) {
    case TS_CONVO_RECEIPT: return ts_h_c2c_receipt(h, err);
    case TS_CONVO_PROMO: return ts_h_promo(h, h->u->text ? h->u->text : "", err);
    case TS_CONVO_TICKET:
    case TS_CONVO_TICKET_REPLY: return ts_h_ticket_text(h, err);
    case TS_CONVO_NONE: break;
    }
    return unknown(h, err);
}
