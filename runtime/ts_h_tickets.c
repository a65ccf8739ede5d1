/* ts_h_tickets.c: support tickets (increment 3.2): list, open, reply, close,
   and the admins' answers. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_handlers.h"
#include "ts_log.h"

#define TICKETS_SHOWN 10
#define TITLE_CHARS 60

static int line(ts_buf *out, ts_lang lang, const ts_ticket *t, ts_error *err)
{
    char id[24];
    const ts_text_arg a[] = {{"id", hx_int(t->id, id)}, {"title", t->title}, {"status", t->status}};
    return hx_render(out, TS_T_TICKET_LINE, lang, a, 3, err);
}

int ts_h_tickets(ts_hctx *h, ts_error *err)
{
    ts_result *r;
    ts_kb kb = {0};
    ts_buf label = {0};
    int rc = hx_feature(h, "support_tickets", err);
    if (rc <= 0)
        return rc;
    if (ts_repo_ticket_list_user(h->tx, h->user.id, TICKETS_SHOWN, &r, err) != 0)
        return -1;
    int n = ts_result_count(r);
    for (int i = 0; i < n && rc >= 0; i++) {
        ts_ticket t;
        char data[TS_TG_CALLBACK_DATA_MAX + 1];
        ts_repo_ticket_from(r, i, &t);
        ts_cb cb = {.action = TS_CB_TICKET, .num = t.id};
        if ((rc = line(&label, h->lang, &t, err)) == 0) {
            ts_kb_row(&kb);
            ts_kb_button(&kb, label.s, ts_cb_format(&cb, data, sizeof data));
        }
    }
    ts_result_free(r);
    ts_buf_free(&label);
    if (rc < 0) {
        ts_kb_free(&kb);
        return -1;
    }
    ts_kb_row(&kb);
    hx_button(&kb, h->lang, TS_T_BTN_TICKET_NEW, TS_CB_TICKET_NEW, 0);
    hx_back_kb(&kb, h->lang);
    return hx_show(h, n > 0 ? TS_T_TICKETS : TS_T_TICKETS_EMPTY, NULL, 0, &kb, err);
}

int ts_h_ticket_new(ts_hctx *h, ts_error *err)
{
    int rc = hx_feature(h, "support_tickets", err);
    if (rc <= 0)
        return rc;
    h->next = (ts_convo_state){TS_CONVO_TICKET, 0, 0};
    return hx_show(h, TS_T_TICKET_PROMPT, NULL, 0, NULL, err);
}

/* The sender's own ticket id: 1, or 0 with "not available" answered. */
static int own_ticket(ts_hctx *h, int64_t id, ts_ticket *t, ts_error *err)
{
    int rc = ts_repo_ticket_get(h->tx, id, t, err);
    if (rc < 0)
        return -1;
    if (rc == 0 || t->user_id != h->user.id)
        return hx_answer(h, TS_T_NOT_AVAILABLE, NULL, 0, err) == 0 ? 0 : -1;
    return 1;
}

/* The ticket and its messages; the next message of the sender is a reply. */
int ts_h_ticket_show(ts_hctx *h, int64_t ticket_id, ts_error *err)
{
    ts_ticket t;
    ts_result *r;
    ts_buf text = {0};
    int rc = hx_feature(h, "support_tickets", err);
    if (rc <= 0 || (rc = own_ticket(h, ticket_id, &t, err)) <= 0)
        return rc;
    if (ts_repo_ticket_messages(h->tx, ticket_id, &r, err) != 0)
        return -1;
    if (line(&text, h->lang, &t, err) != 0) {
        ts_result_free(r);
        return -1;
    }
    for (int i = 0; i < ts_result_count(r); i++) {
        const char *m = ts_result_text(r, i, "message_text");
        ts_buf_printf(&text, "\n%s %s", ts_result_int(r, i, "is_from_admin") ? "<<" : ">>",
                      m ? m : "");
    }
    ts_result_free(r);
    if (text.len > 4000)   /* Telegram's limit is 4096 characters: keep the head */
        text.s[text.len = 4000] = '\0';
    ts_kb kb = {0};
    if (strcmp(t.status, "closed") != 0) {
        ts_kb_row(&kb);
        hx_button(&kb, h->lang, TS_T_BTN_TICKET_CLOSE, TS_CB_TICKET_CLOSE, t.id);
        h->next = (ts_convo_state){TS_CONVO_TICKET_REPLY, t.id, 0};
    }
    hx_back_kb(&kb, h->lang);
    if (h->u->kind == TS_UPDATE_CALLBACK) {
        ts_replies_edit(h->out, h->u->chat_id, h->u->message_id, text.s, &kb);
        ts_replies_answer(h->out, h->u->callback_id, NULL, 0);
    } else {
        ts_replies_send(h->out, h->u->chat_id, text.s, &kb);
    }
    ts_kb_free(&kb);
    ts_buf_free(&text);
    return 0;
}

int ts_h_ticket_close(ts_hctx *h, int64_t ticket_id, ts_error *err)
{
    ts_ticket t;
    char id[24];
    int rc = hx_feature(h, "support_tickets", err);
    if (rc <= 0 || (rc = own_ticket(h, ticket_id, &t, err)) <= 0)
        return rc;
    if (ts_repo_ticket_close(h->tx, ticket_id, err) < 0)
        return -1;
    h->next = (ts_convo_state){TS_CONVO_NONE, 0, 0};
    const ts_text_arg a[] = {{"id", hx_int(ticket_id, id)}};
    ts_kb kb = {0};
    hx_back_kb(&kb, h->lang);
    return hx_show(h, TS_T_TICKET_CLOSED, a, 1, &kb, err);
}

/* The admin chat learns of a new ticket or a user's reply. */
static int notify_admin(ts_hctx *h, const ts_ticket *t, const char *text, ts_error *err)
{
    if (h->bot->admin_chat_id == 0)
        return 0;
    ts_buf b = {0};
    if (line(&b, h->bot->language, t, err) != 0)
        return -1;
    ts_buf_printf(&b, "\n%s\n/reply %" PRId64 " ...", text, t->id);
    ts_replies_send(h->out, h->bot->admin_chat_id, b.s, NULL);
    ts_buf_free(&b);
    return 0;
}

/* A title from the first line of the text, cut at a character boundary. */
static void title_of(const char *text, char *out, size_t n)
{
    size_t len = strcspn(text, "\n"), chars = 0, i = 0;
    while (i < len && i < n - 1) {
        size_t step = 1;
        while (i + step < len && ((unsigned char)text[i + step] & 0xC0) == 0x80)
            step++;
        if (chars == TITLE_CHARS || i + step > n - 1)
            break;
        i += step;
        chars++;
    }
    memcpy(out, text, i);
    out[i] = '\0';
}

int ts_h_ticket_text(ts_hctx *h, ts_error *err)
{
    const char *text = h->u->text ? h->u->text : "";
    ts_ticket_text m = {text, h->u->photo[0] ? "photo" : NULL, h->u->photo[0] ? h->u->photo : NULL};
    char id[24], title[4 * TITLE_CHARS + 1];
    int64_t tid = h->convo.a, mid;
    int rc = hx_feature(h, "support_tickets", err);
    if (rc <= 0)
        return rc;
    if (text[0] == '\0')
        return hx_answer(h, TS_T_TICKET_PROMPT, NULL, 0, err);
    h->next = (ts_convo_state){TS_CONVO_NONE, 0, 0};
    title_of(text, title, sizeof title);
    if (h->convo.kind == TS_CONVO_TICKET) {
        if (ts_repo_ticket_open(h->tx, h->user.id, title[0] ? title : "-", NULL, &m, &tid, err) != 0)
            return -1;
        rc = 1;
    } else if ((rc = ts_repo_ticket_reply(h->tx, tid, &m, &mid, err)) < 0) {
        return -1;
    }
    const ts_text_arg a[] = {{"id", hx_int(tid, id)}};
    ts_text_id answer = h->convo.kind == TS_CONVO_TICKET ? TS_T_TICKET_OPENED
                        : rc == 1                         ? TS_T_TICKET_REPLY_RECEIVED
                                                          : TS_T_TICKET_CLOSED;
    if (hx_send_to(h, h->u->chat_id, h->lang, answer, a, 1, NULL, err) != 0)
        return -1;
    if (rc != 1)
        return 0;
    h->next = (ts_convo_state){TS_CONVO_TICKET_REPLY, tid, 0};
    ts_ticket t;
    if (ts_repo_ticket_get(h->tx, tid, &t, err) != 1)
        return -1;
    return notify_admin(h, &t, text, err);
}

int ts_h_admin_reply(ts_hctx *h, ts_error *err)
{
    char *end;
    char id[24];
    ts_ticket t;
    ts_user owner;
    int64_t mid;
    int rc = hx_admin_only(h, err);
    if (rc <= 0)
        return rc;
    long long tid = strtoll(h->u->args, &end, 10);
    const char *text = end + strspn(end, " \n");
    if (end == h->u->args || *text == '\0' || (rc = ts_repo_ticket_get(h->tx, tid, &t, err)) == 0)
        return hx_answer(h, TS_T_UNKNOWN_COMMAND, NULL, 0, err);
    ts_ticket_text m = {text, NULL, NULL};
    if (rc < 0 || (rc = ts_repo_ticket_admin_reply(h->tx, tid, h->user.id, &m, &mid, err)) < 0 ||
        ts_repo_user_get(h->tx, t.user_id, &owner, err) < 0)
        return -1;
    const ts_text_arg a[] = {{"id", hx_int(tid, id)}, {"text", text}};
    if (hx_answer(h, rc == 1 ? TS_T_TICKET_REPLY_RECEIVED : TS_T_TICKET_CLOSED, a, 1, err) != 0)
        return -1;
    if (rc == 0 || owner.telegram_id == 0)
        return 0;
    return hx_send_to(h, owner.telegram_id, ts_lang_of(owner.language), TS_T_TICKET_ADMIN_REPLY, a,
                      2, NULL, err);
}
