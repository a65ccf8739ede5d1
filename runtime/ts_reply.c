/* ts_reply.c: the reply list and the Bot API request of each reply. */
#include "ts_reply.h"

#include <stdlib.h>
#include <string.h>

#include "ts_vec.h"


static ts_reply *add(ts_replies *r, ts_reply_kind kind, const char *text, const char *ref,
                     ts_kb *kb)
{
    if (ts_vec_reserve((void **)&r->v, &r->cap, r->n + 1, sizeof *r->v))
        goto oom;
    ts_reply *x = &r->v[r->n];
    *x = (ts_reply){.kind = kind};
    if ((text && (x->text = strdup(text)) == NULL) || (ref && (x->ref = strdup(ref)) == NULL)) {
        free(x->text);
        goto oom;
    }
    if (kb != NULL) {
        x->kb = *kb;
        *kb = (ts_kb){0};
    }
    r->n++;
    return x;
oom:
    r->oom = 1;
    if (kb != NULL)
        ts_kb_free(kb);
    return NULL;
}

void ts_replies_send(ts_replies *r, int64_t chat_id, const char *text, ts_kb *kb)
{
    ts_reply *x = add(r, TS_REPLY_SEND, text, NULL, kb);
    if (x)
        x->chat_id = chat_id;
}

void ts_replies_edit(ts_replies *r, int64_t chat_id, int64_t message_id, const char *text,
                     ts_kb *kb)
{
    ts_reply *x = add(r, TS_REPLY_EDIT, text, NULL, kb);
    if (x)
        x->chat_id = chat_id, x->message_id = message_id;
}

void ts_replies_answer(ts_replies *r, const char *callback_id, const char *text, int alert)
{
    ts_reply *x = add(r, TS_REPLY_ANSWER, text, callback_id, NULL);
    if (x)
        x->alert = alert;
}

void ts_replies_photo(ts_replies *r, int64_t chat_id, const char *file_id, const char *caption,
                      ts_kb *kb)
{
    ts_reply *x = add(r, TS_REPLY_PHOTO, caption, file_id, kb);
    if (x)
        x->chat_id = chat_id;
}

void ts_replies_copy(ts_replies *r, int64_t chat_id, int64_t from_chat_id, int64_t message_id,
                     const char *caption, ts_kb *kb)
{
    ts_reply *x = add(r, TS_REPLY_COPY, caption, NULL, kb);
    if (x)
        x->chat_id = chat_id, x->from_chat_id = from_chat_id, x->message_id = message_id;
}

void ts_replies_free(ts_replies *r)
{
    for (int i = 0; i < r->n; i++) {
        free(r->v[i].text);
        free(r->v[i].ref);
        ts_kb_free(&r->v[i].kb);
    }
    free(r->v);
    *r = (ts_replies){0};
}

int ts_reply_request(const ts_reply *x, ts_tg_req *r, ts_error *err)
{
    switch (x->kind) {
    case TS_REPLY_SEND:
        return ts_tg_req_send_message(r, x->chat_id, x->text, &x->kb, err);
    case TS_REPLY_EDIT:
        return ts_tg_req_edit_message_text(r, x->chat_id, x->message_id, x->text, &x->kb, err);
    case TS_REPLY_ANSWER:
        return ts_tg_req_answer_callback_query(r, x->ref, x->text, x->alert, err);
    case TS_REPLY_PHOTO:
        return ts_tg_req_send_photo(r, x->chat_id, x->ref, x->text, &x->kb, err);
    case TS_REPLY_COPY:
        return ts_tg_req_copy_message(r, x->chat_id, x->from_chat_id, x->message_id, x->text,
                                      &x->kb, err);
    }
    *r = (ts_tg_req){0};
    return ts_fail(err, TS_E_INTERNAL, "reply of unknown kind %d", (int)x->kind);
}
