/* ts_demo.c: the data-free menu handler (see ts_demo.h). */
#include "ts_demo.h"

#include <string.h>

static ts_lang lang_of(const ts_bot_ctx *bot, const ts_update *u)
{
    return u->from.language[0] ? ts_lang_of(u->from.language) : bot->language;
}

static const char *text(ts_buf *b, ts_text_id id, ts_lang lang, const ts_text_arg *args, int n,
                        ts_error *err)
{
    ts_buf_reset(b);
    return ts_text_render(id, lang, args, n, b, err) == 0 && b->s ? b->s : NULL;
}

/* The main menu's buttons, labelled in lang. */
static void menu_kb(ts_kb *kb, ts_lang lang)
{
    static const struct {
        ts_text_id label;
        ts_cb_action action;
    } items[] = {{TS_T_BTN_PLANS, TS_CB_PLANS},     {TS_T_BTN_BALANCE, TS_CB_BALANCE},
                 {TS_T_BTN_TOPUP, TS_CB_TOPUP},     {TS_T_BTN_PROMO, TS_CB_PROMO},
                 {TS_T_BTN_REFERRAL, TS_CB_REFERRAL}, {TS_T_BTN_TICKETS, TS_CB_TICKETS}};
    char data[65];
    for (size_t i = 0; i < sizeof items / sizeof items[0]; i++) {
        if (i % 2 == 0)
            ts_kb_row(kb);
        ts_cb cb = {.action = items[i].action};
        ts_kb_button(kb, ts_text_template(items[i].label, lang),
                     ts_cb_format(&cb, data, sizeof data));
    }
}

static int handle(void *arg, const ts_bot_ctx *bot, const ts_update *u, ts_replies *out,
                  ts_error *err)
{
    (void)arg;
    ts_lang lang = lang_of(bot, u);
    ts_buf b = {0};
    ts_kb kb = {0};
    const ts_text_arg who[] = {{"name", u->from.first_name}};
    int rc = 0;
    if (u->kind == TS_UPDATE_CALLBACK && u->cb.action == TS_CB_MENU) {
        menu_kb(&kb, lang);
        const ts_text_arg bal[] = {{"balance", "-"}};
        if (text(&b, TS_T_MENU, lang, bal, 1, err) == NULL)
            rc = -1;
        else {
            ts_replies_edit(out, u->chat_id, u->message_id, b.s, &kb);
            ts_replies_answer(out, u->callback_id, NULL, 0);
        }
    } else if (u->kind == TS_UPDATE_CALLBACK) {
        if (text(&b, TS_T_NOT_AVAILABLE, lang, NULL, 0, err) == NULL)
            rc = -1;
        else
            ts_replies_answer(out, u->callback_id, b.s, 0);
    } else {
        int start = strcmp(u->command, "start") == 0 || strcmp(u->command, "menu") == 0;
        menu_kb(&kb, lang);
        if (text(&b, start ? TS_T_WELCOME : TS_T_UNKNOWN_COMMAND, lang, who, 1, err) == NULL)
            rc = -1;
        else
            ts_replies_send(out, u->chat_id, b.s, &kb);
    }
    ts_kb_free(&kb);
    ts_buf_free(&b);
    return rc;
}

ts_handler ts_demo_handler(void) { return (ts_handler){.handle = handle}; }
