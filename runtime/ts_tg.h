/*
 * ts_tg.h: the Telegram Bot API, as much of it as ts-bot uses.
 *
 * Two layers. The protocol helpers (method URLs, the getUpdates body, the
 * requests of the sending methods, reading a reply) are shared with the event
 * loop, which runs getUpdates (ts_poller) and the replies (ts_outbox) on a
 * curl multi handle. The client (ts_tg) sends the same requests blocking,
 * through ts_httpc: 5xx and network errors are retried with backoff, 429 waits
 * parameters.retry_after, attempts are bounded. A refused call fails with
 * Telegram's description.
 *
 * The token travels only in the URL path (as the Bot API requires); logs and
 * errors show it redacted ("123456:****").
 */
#ifndef TS_TG_H
#define TS_TG_H

#include <cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "ts_error.h"
#include "ts_httpc.h"

#define TS_TG_DEFAULT_URL "https://api.telegram.org"
#define TS_TG_CALLBACK_DATA_MAX 64   /* bytes, Bot API limit */
#define TS_TG_URL_MAX 512

/* ---- inline keyboards ---------------------------------------------------- */

/*
 * A small builder for reply_markup.inline_keyboard. Errors (oversized callback
 * data, empty text, out of memory) are sticky: the first is kept in bad and
 * the call that sends the keyboard fails with it.
 */
typedef struct ts_kb {
    cJSON *rows;      /* array of arrays of buttons; NULL until the first row */
    char bad[160];    /* "" while well-formed */
} ts_kb;

void ts_kb_row(ts_kb *kb);   /* start a new row */
/* A callback button in the current row (a row is started if there is none). */
void ts_kb_button(ts_kb *kb, const char *text, const char *callback_data);
void ts_kb_url(ts_kb *kb, const char *text, const char *url);
void ts_kb_free(ts_kb *kb);  /* back to the empty keyboard */

/* ---- protocol ------------------------------------------------------------ */

/* 1 when token looks like "<digits>:<[A-Za-z0-9_-]+>" (so it is safe in a URL path). */
int ts_tg_token_valid(const char *token);
/* The same as a status: -1 with an error naming the token redacted. */
int ts_tg_token_check(const char *token, ts_error *err);

/* "<base>/bot<token>/<method>"; -1 when it does not fit. */
int ts_tg_method_url(const char *base, const char *token, const char *method, char *out,
                     size_t n);

/* The getUpdates body; offset 0 is left out (Telegram: from the oldest unconfirmed). */
char *ts_tg_get_updates_body(int64_t offset, int timeout_s, int limit,
                             const char *const *allowed_updates);

/* The update types ts-bot asks for: message, callback_query; NULL-terminated. */
extern const char *const ts_tg_allowed_updates[];

/*
 * Read a Bot API reply. 0 with *result (detached, caller frees) when ok:true;
 * else -1 with an error carrying Telegram's description and a hint, and
 * *retry_after_s set from parameters.retry_after (else 0). label names the call.
 */
int ts_tg_parse_reply(long status, const char *body, size_t len, const char *label,
                      cJSON **result, int *retry_after_s, ts_error *err);

/* For ts_httpc: parameters.retry_after of a 429 body, in ms; -1 when absent. */
int ts_tg_retry_after_ms(const char *body, size_t len);

/* ---- requests of the sending methods ---------------------------------------- */

/* A call built, not sent: the method and its JSON body (the caller frees body;
   NULL after a failure). Text is plain (no parse_mode); kb may be NULL and a
   malformed one fails the build with the builder's error. */
typedef struct ts_tg_req {
    const char *method;   /* static */
    char *body;
} ts_tg_req;

int ts_tg_req_send_message(ts_tg_req *r, int64_t chat_id, const char *text, const ts_kb *kb,
                           ts_error *err);
int ts_tg_req_edit_message_text(ts_tg_req *r, int64_t chat_id, int64_t message_id,
                                const char *text, const ts_kb *kb, ts_error *err);
/* text NULL: just stop the button's spinner. */
int ts_tg_req_answer_callback_query(ts_tg_req *r, const char *callback_query_id,
                                    const char *text, int show_alert, ts_error *err);
/* Re-send a photo by file_id (a receipt to the admin chat), with caption and buttons. */
int ts_tg_req_send_photo(ts_tg_req *r, int64_t chat_id, const char *file_id, const char *caption,
                         const ts_kb *kb, ts_error *err);
/* Copy any message (photo, text, both) from one chat to another. */
int ts_tg_req_copy_message(ts_tg_req *r, int64_t chat_id, int64_t from_chat_id,
                           int64_t message_id, const char *caption, const ts_kb *kb,
                           ts_error *err);

/* ---- the blocking client ---------------------------------------------------- */

typedef struct ts_tg ts_tg;

/* base NULL = TS_TG_DEFAULT_URL; opts NULL = ts_httpc defaults. */
int ts_tg_open(const char *base, const char *token, const ts_httpc_opts *opts, ts_tg **out,
               ts_error *err);
void ts_tg_close(ts_tg *tg);
/* The token redacted, for logs. */
const char *ts_tg_name(const ts_tg *tg);

/* Any method: params (may be NULL) is not consumed; *result (if asked for) is the caller's. */
int ts_tg_call(ts_tg *tg, const char *method, const cJSON *params, cJSON **result,
               ts_error *err);

/* The requests above, sent; message_id outputs may be NULL. */
int ts_tg_send_message(ts_tg *tg, int64_t chat_id, const char *text, const ts_kb *kb,
                       int64_t *message_id, ts_error *err);
int ts_tg_edit_message_text(ts_tg *tg, int64_t chat_id, int64_t message_id, const char *text,
                            const ts_kb *kb, ts_error *err);
int ts_tg_answer_callback_query(ts_tg *tg, const char *callback_query_id, const char *text,
                                int show_alert, ts_error *err);
int ts_tg_send_photo(ts_tg *tg, int64_t chat_id, const char *file_id, const char *caption,
                     const ts_kb *kb, int64_t *message_id, ts_error *err);
int ts_tg_copy_message(ts_tg *tg, int64_t chat_id, int64_t from_chat_id, int64_t message_id,
                       const char *caption, const ts_kb *kb, int64_t *new_message_id,
                       ts_error *err);
/* Blocking getUpdates; *updates is the result array (caller frees). */
int ts_tg_get_updates(ts_tg *tg, int64_t offset, int timeout_s, int limit, cJSON **updates,
                      ts_error *err);

#endif
