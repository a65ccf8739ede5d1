/* ts_bot.c: the event loop, the served bots and the dispatch of one update. */
#include "ts_bot.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ts_clock.h"
#include "ts_log.h"
#include "ts_outbox.h"
#include "ts_poller.h"

#define TURN_MS 250    /* the loop's housekeeping rhythm */
#define STOP_MS 2000   /* at a stop: for the replies still queued, then for the offsets */

typedef struct served {
    ts_bot_ctx ctx;
    char *token;
    char name[64];
    ts_sendq *replies;
} served;

struct ts_bot {
    ts_bot_hooks h;
    const ts_config *cfg;
    ts_bot_info master;       /* the list when the owner has none */
    served *bots;
    int nbots;
    ts_poller *poller;
    ts_outbox *outbox;
    int stopping;             /* no more polls: the replies go out, then the offsets */
    ts_http *http;
    ts_metrics *metrics;
    long long next_refresh;
};

static served *served_of(ts_bot *b, int64_t bot_id)
{
    for (int i = 0; i < b->nbots; i++)
        if (b->bots[i].ctx.bot_id == bot_id)
            return &b->bots[i];
    return NULL;
}

static void served_free(served *s)
{
    ts_sendq_close(s->replies);
    free(s->token);
}

/* A bot polls again once its replies to the last batch are out (so a
   confirmed offset means its replies went, and a slow Telegram slows the
   bot's intake instead of growing its queue). */
static int may_poll(void *arg, int64_t bot_id)
{
    ts_bot *b = arg;
    served *s = served_of(b, bot_id);
    return !b->stopping && (s == NULL || ts_sendq_pending(s->replies) == 0);
}

/* ---- dispatch ----------------------------------------------------------------- */

static void log_skip(const served *s, const ts_update *u, const ts_error *err)
{
    char q[1100];
    ts_log(TS_LOG_WARN, "update_skipped", "bot_id=%" PRId64 " update_id=%" PRId64 " reason=%s",
           s->ctx.bot_id, u->update_id, ts_log_value(err->msg, q, sizeof q));
}

/* The user learns something went wrong; the details are in the log. */
static void apologize(const served *s, const ts_update *u)
{
    ts_replies r = {0};
    ts_buf t = {0};
    ts_text_render(TS_T_ERROR, u->from.language[0] ? ts_lang_of(u->from.language)
                                                   : s->ctx.language, NULL, 0, &t, NULL);
    if (u->kind == TS_UPDATE_CALLBACK)
        ts_replies_answer(&r, u->callback_id, t.s, 1);
    else
        ts_replies_send(&r, u->chat_id, t.s, NULL);
    ts_sendq_put(s->replies, &r);
    ts_replies_free(&r);
    ts_buf_free(&t);
}

static ts_poll_verdict on_update(void *arg, int64_t bot_id, const cJSON *j)
{
    ts_bot *b = arg;
    served *s = served_of(b, bot_id);
    ts_update u;
    ts_error err;
    char q[1100];
    if (s == NULL)   /* the poller and this list are reconciled together: a bug */
        return ts_log(TS_LOG_ERROR, "update_for_unknown_bot", "bot_id=%" PRId64, bot_id),
               TS_POLL_ACK;
    if (ts_update_parse(j, &u, &err) != 0) {
        log_skip(s, &u, &err);
        ts_metrics_update(b->metrics, bot_id, TS_OUT_SKIPPED, -1);
        if (u.kind == TS_UPDATE_CALLBACK && u.callback_id[0] != '\0') {
            ts_replies r = {0};
            ts_replies_answer(&r, u.callback_id, NULL, 0);   /* stop the spinner */
            ts_sendq_put(s->replies, &r);
            ts_replies_free(&r);
        }
        ts_update_free(&u);
        return TS_POLL_ACK;
    }
    ts_replies r = {0};
    long long t0 = ts_clock_ms();
    int rc = b->h.handler.handle(b->h.handler.arg, &s->ctx, &u, &r, &err);
    double secs = (double)(ts_clock_ms() - t0) / 1000.0;
    ts_poll_verdict v = TS_POLL_ACK;
    if (rc == 0) {
        ts_sendq_put(s->replies, &r);
        ts_metrics_update(b->metrics, bot_id, TS_OUT_HANDLED, secs);
    } else if (ts_error_retryable(&err)) {
        ts_log(TS_LOG_WARN, "update_retry", "bot_id=%" PRId64 " update_id=%" PRId64
               " code=%s error=%s", bot_id, u.update_id, ts_code_name(err.code),
               ts_log_value(err.msg, q, sizeof q));
        ts_metrics_update(b->metrics, bot_id, TS_OUT_RETRIED, secs);
        v = TS_POLL_RETRY;
    } else {
        ts_log(TS_LOG_ERROR, "update_failed", "bot_id=%" PRId64 " update_id=%" PRId64
               " code=%s error=%s", bot_id, u.update_id, ts_code_name(err.code),
               ts_log_value(err.msg, q, sizeof q));
        ts_metrics_update(b->metrics, bot_id, TS_OUT_FAILED, secs);
        apologize(s, &u);
    }
    ts_replies_free(&r);
    ts_update_free(&u);
    return v;
}

/* A batch the handler commits as one; an update it cannot parse, or a
   non-retryable error (the batch rolled back), sends them one by one to on_update. */
static ts_poll_verdict on_batch(void *arg, int64_t bot_id, const cJSON *const *j, int n)
{
    ts_bot *b = arg;
    served *s = served_of(b, bot_id);
    ts_update u[TS_POLL_BATCH];
    ts_replies r[TS_POLL_BATCH] = {{0}};
    ts_error err;
    char q[1100];
    int k, ok = s != NULL;   /* u[0..k) to free */
    ts_poll_verdict v = TS_POLL_SPLIT;
    for (k = 0; ok && k < n; k++)
        ok = ts_update_parse(j[k], &u[k], &err) == 0;
    if (ok) {
        long long t0 = ts_clock_ms();
        int rc = b->h.handler.handle_batch(b->h.handler.arg, &s->ctx, u, n, r, &err);
        double secs = (double)(ts_clock_ms() - t0) / 1000.0;
        v = rc == 0 ? TS_POLL_ACK : ts_error_retryable(&err) ? TS_POLL_RETRY : TS_POLL_SPLIT;
        for (int i = 0; i < n && v != TS_POLL_SPLIT; i++) {
            if (v == TS_POLL_ACK)
                ts_sendq_put(s->replies, &r[i]);
            ts_metrics_update(b->metrics, bot_id, v == TS_POLL_ACK ? TS_OUT_HANDLED
                                                                   : TS_OUT_RETRIED, secs);
        }
        if (v != TS_POLL_ACK)
            ts_log(v == TS_POLL_RETRY ? TS_LOG_WARN : TS_LOG_INFO,
                   v == TS_POLL_RETRY ? "batch_retry" : "batch_split",
                   "bot_id=%" PRId64 " update_ids=%" PRId64 "..%" PRId64 " code=%s error=%s",
                   bot_id, u[0].update_id, u[n - 1].update_id, ts_code_name(err.code),
                   ts_log_value(err.msg, q, sizeof q));
    }
    for (int i = 0; i < n; i++)
        ts_replies_free(&r[i]);
    for (int i = 0; i < k; i++)
        ts_update_free(&u[i]);
    return v;
}

/* ---- the served set ------------------------------------------------------------- */

static int config_bots(void *arg, const ts_bot_info **bots, int *n, ts_error *err)
{
    ts_bot *b = arg;
    (void)err;
    *bots = &b->master;
    *n = 1;
    return 0;
}

/* Re-read the bots; keep the clients of unchanged ones, then reconcile the poller. */
static int refresh(ts_bot *b, ts_error *err)
{
    const ts_bot_info *list;
    int n;
    int rc = b->h.list_bots ? b->h.list_bots(b->h.arg, &list, &n, err)
                            : config_bots(b, &list, &n, err);
    if (rc != 0)
        return -1;
    served *next = calloc((size_t)n + 1, sizeof *next);
    ts_poll_bot *polled = calloc((size_t)n + 1, sizeof *polled);
    int k = 0;
    if (next == NULL || polled == NULL) {
        free(next);
        free(polled);
        return ts_fail(err, TS_E_NOMEM, "out of memory refreshing the bots");
    }
    for (int i = 0; i < n; i++) {
        served *old = served_of(b, list[i].bot_id);
        served *s = &next[k];
        if (old != NULL && strcmp(old->token, list[i].token) == 0) {
            *s = *old;
            *old = (served){.ctx.bot_id = INT64_MIN};   /* moved */
        } else if (ts_sendq_open(b->outbox, list[i].token, &s->replies, err) != 0 ||
                   ((s->token = strdup(list[i].token)) == NULL &&
                    ts_fail(err, TS_E_NOMEM, "out of memory") != 0)) {
            char q[1100];
            ts_log(TS_LOG_WARN, "bot_not_served", "bot_id=%" PRId64 " error=%s", list[i].bot_id,
                   ts_log_value(err->msg, q, sizeof q));
            served_free(s);
            *s = (served){0};
            continue;
        }
        s->ctx.bot_id = list[i].bot_id;
        s->ctx.is_master = list[i].is_master;
        s->ctx.admin_chat_id = list[i].admin_chat_id;
        s->ctx.language = list[i].language;
        ts_redact(s->token, s->name, sizeof s->name);
        s->ctx.name = s->name;
        polled[k] = (ts_poll_bot){s->ctx.bot_id, s->token};
        k++;
    }
    for (int i = 0; i < b->nbots; i++)
        if (b->bots[i].token != NULL)
            served_free(&b->bots[i]);
    free(b->bots);
    b->bots = next;
    b->nbots = k;
    for (int i = 0; i < k; i++)   /* the copies moved: their name pointers too */
        b->bots[i].ctx.name = b->bots[i].name;
    rc = ts_poller_set_bots(b->poller, polled, k, err);
    free(polled);
    return rc;
}

/* ---- lifecycle ----------------------------------------------------------------- */

int ts_bot_open(const ts_config *cfg, const ts_bot_hooks *hooks, ts_bot **out, ts_error *err)
{
    if (hooks->handler.handle == NULL)
        return ts_fail(err, TS_E_INTERNAL, "ts_bot_open: no update handler");
    ts_bot *b = calloc(1, sizeof *b);
    if (b == NULL || (b->metrics = ts_metrics_new()) == NULL) {
        free(b);
        return ts_fail(err, TS_E_NOMEM, "out of memory starting ts-bot");
    }
    b->h = *hooks;
    b->cfg = cfg;
    b->master = (ts_bot_info){.bot_id = 0, .token = cfg->bot_token, .is_master = 1,
                              .admin_chat_id = cfg->admin_chat_id,
                              .language = ts_lang_of(cfg->default_language)};
    ts_metrics_set_hook(b->metrics, hooks->metrics, hooks->arg);
    ts_poller_opts po = {.base_url = cfg->telegram_url,
                         .timeout_s = cfg->poll_timeout_s ? cfg->poll_timeout_s : -1,
                         .on_update = on_update,
                         .on_batch = hooks->handler.handle_batch ? on_batch : NULL,
                         .may_poll = may_poll, .arg = b};
    ts_http_opts ho = {.listen = cfg->http_listen, .port = cfg->http_port, .metrics = b->metrics,
                       .on_zarinpal = hooks->on_zarinpal, .zarinpal_arg = hooks->arg,
                       .on_api = hooks->on_api, .api_arg = hooks->arg,
                       .health = hooks->health, .health_arg = hooks->arg};
    if (ts_poller_open(&po, &b->poller, err) != 0 ||
        ts_outbox_open(b->poller, cfg->telegram_url, &hooks->http, &b->outbox, err) != 0 ||
        ts_http_start(&ho, &b->http, err) != 0) {
        ts_bot_close(b);
        return -1;
    }
    return *out = b, 0;
}

void ts_bot_close(ts_bot *b)
{
    if (b == NULL)
        return;
    ts_http_stop(b->http);
    for (int i = 0; i < b->nbots; i++)
        served_free(&b->bots[i]);
    free(b->bots);
    ts_outbox_close(b->outbox);   /* before the poller its transfers are on */
    ts_poller_close(b->poller);
    ts_metrics_free(b->metrics);
    free(b);
}

int ts_bot_http_port(const ts_bot *b) { return ts_http_port(b->http); }

const ts_bot_ctx *ts_bot_context(ts_bot *b, int64_t bot_id)
{
    served *s = served_of(b, bot_id);
    return s ? &s->ctx : NULL;
}

int ts_bot_deliver(ts_bot *b, int64_t bot_id, const ts_replies *r)
{
    served *s = served_of(b, bot_id);
    return s ? ts_sendq_put(s->replies, r) : -1;
}

/* One turn: replies that may go, the polls and HTTP; at most TURN_MS. */
static int turn(ts_bot *b, struct curl_waitfd *httpfd, ts_error *err)
{
    int due = ts_outbox_pump(b->outbox);
    if (ts_poller_step(b->poller, httpfd, 1, due < TURN_MS ? due : TURN_MS, err) != 0)
        return -1;
    ts_http_run(b->http, 0);
    return 0;
}

int ts_bot_run(ts_bot *b, volatile sig_atomic_t *stop, volatile sig_atomic_t *kill,
               ts_error *err)
{
    char q[1100];
    int killed = 0;
    struct curl_waitfd httpfd = {.fd = ts_http_fd(b->http), .events = CURL_WAIT_POLLIN};
    if (refresh(b, err) != 0)
        return -1;   /* at start a bad bot list is fatal: nothing to serve */
    ts_log(TS_LOG_INFO, "bot_started", "bots=%d http_port=%d", b->nbots, ts_http_port(b->http));
    b->next_refresh = ts_clock_ms() + (long long)b->cfg->bots_refresh_s * 1000;
    while (!*stop) {
        if (kill != NULL && *kill && !killed) {
            killed = 1;
            ts_log(TS_LOG_WARN, "kill_switch", "source=signal");
            if (b->h.kill_switch)
                b->h.kill_switch(b->h.arg, 1);
        }
        if (turn(b, &httpfd, err) != 0)
            return -1;
        ts_error e;
        if (b->h.tick != NULL && b->h.tick(b->h.arg, &e) != 0)
            ts_log(TS_LOG_WARN, "tick_failed", "error=%s", ts_log_value(e.msg, q, sizeof q));
        if (ts_clock_ms() >= b->next_refresh) {
            b->next_refresh = ts_clock_ms() + (long long)b->cfg->bots_refresh_s * 1000;
            if (refresh(b, &e) != 0)   /* keep serving the bots we have */
                ts_log(TS_LOG_WARN, "bots_refresh_failed", "error=%s",
                       ts_log_value(e.msg, q, sizeof q));
        }
    }
    ts_log(TS_LOG_INFO, "bot_stopping", "bots=%d", b->nbots);
    b->stopping = 1;
    long long until = ts_clock_ms() + STOP_MS;
    while (ts_outbox_pending(b->outbox) > 0 && ts_clock_ms() < until)
        if (turn(b, &httpfd, err) != 0)
            return -1;
    ts_poller_drain(b->poller, STOP_MS);
    b->stopping = 0;
    return 0;
}
