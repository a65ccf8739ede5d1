/* ts_h_balance.c: the balance and the last transactions. */
#include "ts_handlers.h"

#define HISTORY_LINES 10

int ts_h_balance(ts_hctx *h, ts_error *err)
{
    char bal[32];
    ts_kb kb = {0};
    const ts_text_arg a[] = {{"balance", hx_money(h->user.balance_kopeks, bal)}};
    ts_kb_row(&kb);
    hx_button(&kb, h->lang, TS_T_BTN_TOPUP, TS_CB_TOPUP, 0);
    hx_button(&kb, h->lang, TS_T_BTN_BALANCE, TS_CB_HISTORY, 0);
    hx_back_kb(&kb, h->lang);
    return hx_show(h, TS_T_BALANCE, a, 1, &kb, err);
}

int ts_h_history(ts_hctx *h, ts_error *err)
{
    ts_result *r;
    ts_buf lines = {0}, line = {0};
    ts_kb kb = {0};
    int rc = 0;
    if (ts_repo_txn_list(h->tx, h->user.id, HISTORY_LINES, &r, err) != 0)
        return -1;
    int n = ts_result_count(r);
    for (int i = 0; i < n && rc == 0; i++) {
        char date[16], amount[32];
        const char *type = ts_result_text(r, i, "type");
        const ts_text_arg a[] = {{"date", hx_date(ts_result_text(r, i, "created_at"), date)},
                                 {"kind", type ? type : "-"},
                                 {"amount", hx_money(ts_result_int(r, i, "amount_kopeks"), amount)}};
        if ((rc = hx_render(&line, TS_T_HISTORY_LINE, h->lang, a, 3, err)) == 0)
            ts_buf_printf(&lines, "%s%s", i ? "\n" : "", line.s);
    }
    ts_result_free(r);
    ts_buf_free(&line);
    if (rc == 0) {
        const ts_text_arg a[] = {{"lines", lines.s ? lines.s : ""}};
        hx_back_kb(&kb, h->lang);
        rc = hx_show(h, n > 0 ? TS_T_HISTORY : TS_T_HISTORY_EMPTY, a, 1, &kb, err);
    }
    ts_buf_free(&lines);
    return rc;
}
