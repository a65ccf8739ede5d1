/* ts_poller.c: one curl multi handle, one getUpdates long poll per bot. */
#include "ts_poller.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ts_buf.h"
#include "ts_clock.h"
#include "ts_httpc.h"
#include "ts_log.h"
#include "ts_tg.h"
#include "ts_update.h"
#include "ts_vec.h"

typedef struct pbot {
    ts_xfer x;                /* first: the transfer's CURLOPT_PRIVATE */
    struct ts_poller *p;
    int64_t bot_id;
    char *token;
    char name[64];            /* redacted token */
    char url[TS_TG_URL_MAX];  /* holds the token: never logged */
    int busy;                 /* a request is on the multi handle */
    char *body;               /* request body, alive while busy */
    ts_buf resp;
    int64_t offset;           /* next offset to ask for */
    int64_t sent_offset;      /* offset of the last request Telegram answered */
    int64_t asked_offset;     /* offset of the request in flight */
    int failures;       /* Telegram's failures in a row: they set its backoff */
    int redeliveries;   /* updates not committed in a row: their own, shorter, backoff */
    long long not_before;     /* ts_clock_ms() before which no poll starts */
    int keep;                 /* reconcile mark */
} pbot;

struct ts_poller {
    ts_poller_opts o;
    char base[TS_TG_URL_MAX / 2];
    CURLM *multi;
    struct curl_slist *headers;
    pbot **bots;
    int n, cap;
    int confirming;           /* draining: finished polls are not dispatched */
};

int ts_poller_open(const ts_poller_opts *opts, ts_poller **out, ts_error *err)
{
    ts_poller *p = calloc(1, sizeof *p);
    if (p == NULL || (p->multi = curl_multi_init()) == NULL ||
        (p->headers = curl_slist_append(NULL, "Content-Type: application/json")) == NULL) {
        ts_poller_close(p);
        return ts_fail(err, TS_E_NOMEM, "out of memory creating the poller");
    }
    p->o = *opts;
    if (p->o.timeout_s == 0) p->o.timeout_s = 25;
    if (p->o.timeout_s < 0) p->o.timeout_s = 0;
    if (p->o.limit <= 0) p->o.limit = 100;
    if (p->o.backoff_ms <= 0) p->o.backoff_ms = 500;
    if (p->o.max_backoff_ms <= 0) p->o.max_backoff_ms = 30000;
    snprintf(p->base, sizeof p->base, "%s", opts->base_url ? opts->base_url : TS_TG_DEFAULT_URL);
    return *out = p, 0;
}

static void bot_abort(ts_poller *p, pbot *b)
{
    if (b->busy)
        ts_poller_remove(p, &b->x);
    b->busy = 0;
    free(b->body);
    b->body = NULL;
}

static void bot_free(ts_poller *p, pbot *b)
{
    bot_abort(p, b);
    curl_easy_cleanup(b->x.easy);
    ts_buf_free(&b->resp);
    free(b->token);
    free(b);
}

void ts_poller_close(ts_poller *p)
{
    if (p == NULL)
        return;
    for (int i = 0; i < p->n; i++)
        bot_free(p, p->bots[i]);
    free(p->bots);
    curl_multi_cleanup(p->multi);
    curl_slist_free_all(p->headers);
    free(p);
}

int ts_poller_count(const ts_poller *p) { return p->n; }

static int find(const ts_poller *p, int64_t bot_id)
{
    for (int i = 0; i < p->n; i++)
        if (p->bots[i]->bot_id == bot_id)
            return i;
    return -1;
}

int64_t ts_poller_offset(const ts_poller *p, int64_t bot_id)
{
    int i = find(p, bot_id);
    return i < 0 ? -1 : p->bots[i]->offset;
}

static void bot_drop(ts_poller *p, int i)
{
    ts_log(TS_LOG_INFO, "bot_stopped", "bot_id=%" PRId64 " bot=%s", p->bots[i]->bot_id,
           p->bots[i]->name);
    bot_free(p, p->bots[i]);
    memmove(&p->bots[i], &p->bots[i + 1], (size_t)(p->n - i - 1) * sizeof *p->bots);
    p->n--;
}

static void poll_done(ts_xfer *x, CURLcode rc);

int ts_poller_add(ts_poller *p, ts_xfer *x, ts_error *err)
{
    curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
    CURLMcode mc = curl_multi_add_handle(p->multi, x->easy);
    return mc == CURLM_OK ? 0 : ts_fail(err, TS_E_NOMEM, "libcurl could not start a request: %s",
                                        curl_multi_strerror(mc));
}

void ts_poller_remove(ts_poller *p, ts_xfer *x) { curl_multi_remove_handle(p->multi, x->easy); }

static int bot_add(ts_poller *p, const ts_poll_bot *spec, ts_error *err)
{
    if (ts_vec_reserve((void **)&p->bots, &p->cap, p->n + 1, sizeof *p->bots))
        return ts_fail(err, TS_E_NOMEM, "out of memory adding a bot to the poller");
    pbot *b = calloc(1, sizeof *b);
    if (b == NULL || (b->token = strdup(spec->token)) == NULL ||
        (b->x.easy = curl_easy_init()) == NULL) {
        if (b != NULL)
            free(b->token);
        free(b);
        return ts_fail(err, TS_E_NOMEM, "out of memory adding a bot to the poller");
    }
    b->x.done = poll_done;
    b->p = p;
    b->bot_id = spec->bot_id;
    b->keep = 1;
    ts_redact(spec->token, b->name, sizeof b->name);
    if (ts_tg_method_url(p->base, b->token, "getUpdates", b->url, sizeof b->url) != 0) {
        bot_free(p, b);
        return ts_fail(err, TS_E_USAGE, "Telegram base URL too long for bot %s", b->name);
    }
    p->bots[p->n++] = b;
    ts_log(TS_LOG_INFO, "bot_polling", "bot_id=%" PRId64 " bot=%s", b->bot_id, b->name);
    return 0;
}

int ts_poller_set_bots(ts_poller *p, const ts_poll_bot *bots, int n, ts_error *err)
{
    char red[64];
    for (int i = 0; i < p->n; i++)
        p->bots[i]->keep = 0;
    for (int i = 0; i < n; i++) {
        int k = find(p, bots[i].bot_id);
        pbot *b = k < 0 ? NULL : p->bots[k];
        if (!ts_tg_token_valid(bots[i].token)) {
            ts_log(TS_LOG_WARN, "bot_token_malformed", "bot_id=%" PRId64 " bot=%s action=skipped",
                   bots[i].bot_id, ts_redact(bots[i].token, red, sizeof red));
            continue;
        }
        if (b != NULL && b->keep) {
            ts_log(TS_LOG_WARN, "bot_duplicate", "bot_id=%" PRId64 " action=skipped",
                   bots[i].bot_id);
            continue;
        }
        if (b != NULL && strcmp(b->token, bots[i].token) == 0) {
            b->keep = 1;
            continue;
        }
        if (b != NULL)
            bot_drop(p, k);   /* a new token: start over with it */
        if (bot_add(p, &bots[i], err) != 0)
            return -1;
    }
    for (int i = p->n - 1; i >= 0; i--)
        if (!p->bots[i]->keep)
            bot_drop(p, i);
    return 0;
}

static size_t collect(char *ptr, size_t size, size_t nm, void *arg)
{
    ts_buf_add(arg, ptr, size * nm);
    return ((ts_buf *)arg)->oom ? 0 : size * nm;
}

/* Start a getUpdates for b; timeout_s 0 and limit 1 make it a bare offset confirmation. */
static int bot_start(ts_poller *p, pbot *b, int timeout_s, int limit)
{
    b->body = ts_tg_get_updates_body(b->offset, timeout_s, limit, ts_tg_allowed_updates);
    if (b->body == NULL)
        return -1;
    ts_buf_reset(&b->resp);
    CURL *c = b->x.easy;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, b->url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, b->body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b->resp);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    /* the server holds the request timeout_s; allow that plus a margin */
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_s * 1000 + 10000);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, p->headers);
    if (ts_poller_add(p, &b->x, NULL) != 0) {
        free(b->body);
        b->body = NULL;
        return -1;
    }
    b->asked_offset = b->offset;
    b->busy = 1;
    return 0;
}

/* An update the owner could not commit (a store down or restarting) is asked
   for again at most this long after the last try, whatever the backoff for
   Telegram's failures: service resumes within about a second of the store's
   return. */
#define REDELIVER_MAX_MS 1000

/* Wait before b's next poll: the count-th try in a row of its kind (a counter
   of b's), backing off up to max_ms, or retry_after_s when Telegram says. The
   two kinds count apart: redeliveries while a store was down must not leave
   the first Telegram failure after it waiting the full backoff. */
static void bot_wait(ts_poller *p, pbot *b, int *count, const char *why, int max_ms,
                     int retry_after_s)
{
    ++*count;
    int wait = retry_after_s > 0 ? retry_after_s * 1000
                                 : ts_backoff_ms(p->o.backoff_ms, max_ms, *count);
    b->not_before = ts_clock_ms() + wait;
    char q[600];
    ts_log(TS_LOG_WARN, "poll_failed", "bot_id=%" PRId64 " bot=%s failures=%d wait_ms=%d error=%s",
           b->bot_id, b->name, *count, wait, ts_log_value(why, q, sizeof q));
}

static void bot_failed(ts_poller *p, pbot *b, const char *why, int retry_after_s)
{
    bot_wait(p, b, &b->failures, why, p->o.max_backoff_ms, retry_after_s);
}

/* Hand batch[0..n) (their ids in ids) to the owner; -1 when one was not acknowledged. */
static int deliver(ts_poller *p, pbot *b, const cJSON *const *batch, const int64_t *ids, int n)
{
    ts_poll_verdict v = n > 1 && p->o.on_batch != NULL
                            ? p->o.on_batch(p->o.arg, b->bot_id, batch, n) : TS_POLL_SPLIT;
    for (int i = 0; i < n && v != TS_POLL_RETRY; i++) {
        if (v == TS_POLL_SPLIT && p->o.on_update(p->o.arg, b->bot_id, batch[i]) == TS_POLL_RETRY)
            v = TS_POLL_RETRY;
        else
            b->offset = ids[i] + 1;
    }
    if (v != TS_POLL_RETRY)
        return 0;
    bot_wait(p, b, &b->redeliveries, "an update was not committed: it will be redelivered",
             p->o.max_backoff_ms < REDELIVER_MAX_MS ? p->o.max_backoff_ms : REDELIVER_MAX_MS, 0);
    return -1;
}

/* Hand b's updates to the owner in order, at most TS_POLL_BATCH at a time,
   until one is not acknowledged. */
static void dispatch(ts_poller *p, pbot *b, const cJSON *updates)
{
    const cJSON *batch[TS_POLL_BATCH];
    int64_t ids[TS_POLL_BATCH];
    int n = 0;
    const cJSON *u;
    cJSON_ArrayForEach(u, updates) {
        const cJSON *idj = cJSON_GetObjectItemCaseSensitive(u, "update_id");
        if (!cJSON_IsNumber(idj)) {
            /* no id to acknowledge: Telegram never sends this; later ids move past it */
            ts_log(TS_LOG_WARN, "update_without_id", "bot_id=%" PRId64 " action=skipped",
                   b->bot_id);
            continue;
        }
        int64_t id = (int64_t)idj->valuedouble;
        if (id < b->offset)
            continue;   /* already acknowledged */
        batch[n] = u;
        ids[n++] = id;
        if (n < TS_POLL_BATCH)
            continue;
        if (deliver(p, b, batch, ids, n) != 0)
            return;
        n = 0;
    }
    if (n > 0 && deliver(p, b, batch, ids, n) != 0)
        return;
    b->failures = 0;
    b->redeliveries = 0;
}

/* A getUpdates finished (already off the multi handle). */
static void poll_done(ts_xfer *x, CURLcode rc)
{
    pbot *b = (pbot *)x;
    ts_poller *p = b->p;
    long status = 0;
    char label[96];
    ts_error err;
    cJSON *updates;
    int retry_after;
    b->busy = 0;
    free(b->body);
    b->body = NULL;
    if (p->confirming)
        return;
    if (rc != CURLE_OK)
        return bot_failed(p, b, curl_easy_strerror(rc), 0);
    curl_easy_getinfo(b->x.easy, CURLINFO_RESPONSE_CODE, &status);
    snprintf(label, sizeof label, "telegram getUpdates (bot %s)", b->name);
    int bad = ts_tg_parse_reply(status, b->resp.s, b->resp.len, label, &updates, &retry_after, &err);
    /* One bad update must not make the batch unreadable: its updates one by one. */
    if (bad && status == 200 && (updates = ts_updates_salvage(b->resp.s, b->resp.len)) != NULL) {
        ts_log(TS_LOG_WARN, "updates_salvaged", "bot_id=%" PRId64 " bot=%s updates=%d note=\"the "
               "body did not parse whole: its updates were read one by one\"", b->bot_id, b->name,
               cJSON_GetArraySize(updates));
        bad = 0;
    }
    if (bad)
        return bot_failed(p, b, err.msg, retry_after);
    b->sent_offset = b->asked_offset;
    if (!cJSON_IsArray(updates))
        bot_failed(p, b, "getUpdates result is not a list", 0);
    else
        dispatch(p, b, updates);
    cJSON_Delete(updates);
}

/* Hand every finished transfer to its done; how many finished. */
static int reap(ts_poller *p)
{
    CURLMsg *m;
    int left, n = 0;
    while ((m = curl_multi_info_read(p->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        ts_xfer *x;
        CURLcode rc = m->data.result;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        curl_multi_remove_handle(p->multi, x->easy);   /* m is invalid from here */
        x->done(x, rc);
        n++;
    }
    return n;
}

int ts_poller_step(ts_poller *p, struct curl_waitfd *extra, unsigned nextra, int timeout_ms,
                   ts_error *err)
{
    int running;
    long long now = ts_clock_ms(), wake = now + timeout_ms;
    for (int i = 0; i < p->n; i++) {
        pbot *b = p->bots[i];
        int held = p->o.may_poll != NULL && !p->o.may_poll(p->o.arg, b->bot_id);
        if (!b->busy && !held && b->not_before <= now &&
            bot_start(p, b, p->o.timeout_s, p->o.limit) != 0)
            bot_failed(p, b, "could not start a request (out of memory)", 0);
        if (!b->busy && !held && b->not_before < wake)
            wake = b->not_before;
    }
    /* Wait only when nothing finished while sending: a reply that is already
       here must not sit out the timeout. */
    CURLMcode mc = curl_multi_perform(p->multi, &running);
    if (mc == CURLM_OK && reap(p) == 0) {
        mc = curl_multi_poll(p->multi, extra, nextra, wake > now ? (int)(wake - now) : 0, NULL);
        if (mc == CURLM_OK)
            mc = curl_multi_perform(p->multi, &running);
        reap(p);
    }
    if (mc != CURLM_OK)
        return ts_fail(err, TS_E_INTERNAL, "libcurl multi handle failed: %s",
                       curl_multi_strerror(mc));
    return 0;
}

void ts_poller_drain(ts_poller *p, int timeout_ms)
{
    int running = 0;
    p->confirming = 1;
    for (int i = 0; i < p->n; i++) {
        pbot *b = p->bots[i];
        bot_abort(p, b);
        if (b->offset > b->sent_offset && bot_start(p, b, 0, 1) != 0)
            ts_log(TS_LOG_WARN, "offset_not_confirmed", "bot=%s", b->name);
    }
    long long until = ts_clock_ms() + timeout_ms, left;
    while (curl_multi_perform(p->multi, &running) == CURLM_OK && running > 0 &&
           (left = until - ts_clock_ms()) > 0 &&
           curl_multi_poll(p->multi, NULL, 0, (int)left, NULL) == CURLM_OK) {
    }
    reap(p);
    for (int i = 0; i < p->n; i++)
        bot_abort(p, p->bots[i]);   /* whatever did not finish in time */
    p->confirming = 0;
}
