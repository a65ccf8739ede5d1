/*
 * ts_reply.h: what a handler answers, as data.
 *
 * Handlers do not call Telegram: they return a list of replies (send, edit,
 * answer a button, send or copy a photo), which the runtime queues for
 * delivery (ts_outbox) after the handler's transaction committed. So a handler is testable without a
 * network, a rolled-back update sends nothing, and ts-verify can compare the
 * replies of two stages as values.
 */
#ifndef TS_REPLY_H
#define TS_REPLY_H

#include <stdint.h>

#include "ts_error.h"
#include "ts_tg.h"

typedef enum ts_reply_kind {
    TS_REPLY_SEND,     /* sendMessage chat text [kb] */
    TS_REPLY_EDIT,     /* editMessageText chat message_id text [kb] */
    TS_REPLY_ANSWER,   /* answerCallbackQuery ref=callback id [text] [alert] */
    TS_REPLY_PHOTO,    /* sendPhoto chat ref=file_id [text=caption] [kb] */
    TS_REPLY_COPY      /* copyMessage chat from_chat message_id [text=caption] [kb] */
} ts_reply_kind;

typedef struct ts_reply {
    ts_reply_kind kind;
    int64_t chat_id, message_id, from_chat_id;
    char *text;        /* owned; NULL when none */
    char *ref;         /* owned: callback query id or photo file_id */
    int alert;
    ts_kb kb;          /* owned */
} ts_reply;

typedef struct ts_replies {
    ts_reply *v;
    int n, cap;
    int oom;           /* an add failed: the list is incomplete */
} ts_replies;

/* Each add takes over kb (may be NULL) and leaves *kb empty. */
void ts_replies_send(ts_replies *r, int64_t chat_id, const char *text, ts_kb *kb);
void ts_replies_edit(ts_replies *r, int64_t chat_id, int64_t message_id, const char *text,
                     ts_kb *kb);
void ts_replies_answer(ts_replies *r, const char *callback_id, const char *text, int alert);
void ts_replies_photo(ts_replies *r, int64_t chat_id, const char *file_id, const char *caption,
                      ts_kb *kb);
void ts_replies_copy(ts_replies *r, int64_t chat_id, int64_t from_chat_id, int64_t message_id,
                     const char *caption, ts_kb *kb);
void ts_replies_free(ts_replies *r);

/* The Bot API request that delivers x (ts_outbox sends it). */
int ts_reply_request(const ts_reply *x, ts_tg_req *r, ts_error *err);

#endif
