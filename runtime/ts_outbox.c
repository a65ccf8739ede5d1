/* ts_outbox.c: per-bot reply queues sent on the poller's curl multi handle. */
#include "ts_outbox.h"

#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "ts_clock.h"
#include "ts_log.h"

#define OUTBOX_INFLIGHT 16   /* requests of one bot in flight at once */
#define OUTBOX_WINDOW 64     /* queued requests of one bot a pump looks at */
#define OUTBOX_IDLE 32       /* easy handles kept for reuse */

typedef struct req {
    ts_xfer x;               /* first: the transfer's CURLOPT_PRIVATE */
    struct ts_sendq *q;
    struct req *next;
    int64_t chat;            /* order key; 0: none (a button's answer) */
    uint64_t group;          /* order key: the replies of one put go one after another */
    ts_tg_req r;
    ts_buf resp;
    int attempts, busy;
    long long not_before;    /* ts_clock_ms() before which it is not (re)sent */
} req;

struct ts_sendq {
    ts_outbox *o;
    ts_sendq *next;          /* the outbox's list */
    char *token;
    char name[64];           /* redacted token */
    req *head, *tail;
    int n, inflight;
    uint64_t groups;         /* puts so far */
    long long not_before;    /* a 429: the whole bot waits */
};

struct ts_outbox {
    ts_poller *p;
    char base[TS_TG_URL_MAX / 2];
    ts_httpc_opts retry;
    struct curl_slist *headers;
    ts_sendq *queues;
    CURL *idle[OUTBOX_IDLE];
    int nidle;
};

int ts_outbox_open(ts_poller *p, const char *base, const ts_httpc_opts *retry, ts_outbox **out,
                   ts_error *err)
{
    ts_outbox *o = calloc(1, sizeof *o);
    if (o == NULL ||
        (o->headers = curl_slist_append(NULL, "Content-Type: application/json")) == NULL) {
        free(o);
        return ts_fail(err, TS_E_NOMEM, "out of memory creating the reply queues");
    }
    o->p = p;
    o->retry = ts_httpc_defaults(retry);
    snprintf(o->base, sizeof o->base, "%s", base ? base : TS_TG_DEFAULT_URL);
    return *out = o, 0;
}

void ts_outbox_close(ts_outbox *o)
{
    if (o == NULL)
        return;
    while (o->queues != NULL)
        ts_sendq_close(o->queues);
    for (int i = 0; i < o->nidle; i++)
        curl_easy_cleanup(o->idle[i]);
    curl_slist_free_all(o->headers);
    free(o);
}

/* ---- one request --------------------------------------------------------------- */

static void req_free(req *r)
{
    free(r->r.body);
    ts_buf_free(&r->resp);
    free(r);
}

/* Give the easy handle back (kept for reuse while there is room). */
static void release(ts_outbox *o, req *r)
{
    if (o->nidle < OUTBOX_IDLE)
        o->idle[o->nidle++] = r->x.easy;
    else
        curl_easy_cleanup(r->x.easy);
    r->x.easy = NULL;
    r->busy = 0;
    r->q->inflight--;
}

/* Take r out of its queue and free it. */
static void req_drop(req *r)
{
    ts_sendq *q = r->q;
    req **pp = &q->head, *prev = NULL;
    while (*pp != r)
        prev = *pp, pp = &(*pp)->next;
    *pp = r->next;
    if (q->tail == r)
        q->tail = prev;
    q->n--;
    req_free(r);
}

static size_t collect(char *ptr, size_t size, size_t nm, void *arg)
{
    ts_buf_add(arg, ptr, size * nm);
    return ((ts_buf *)arg)->oom ? 0 : size * nm;
}

static void label_of(const req *r, char *out, size_t n)
{
    snprintf(out, n, "telegram %s (bot %s)", r->r.method, r->q->name);
}

static void log_failed(const req *r, const ts_error *err)
{
    char q[1100];
    ts_log(TS_LOG_WARN, "reply_failed", "bot=%s chat_id=%" PRId64 " attempts=%d code=%s error=%s",
           r->q->name, r->chat, r->attempts, ts_code_name(err->code),
           ts_log_value(err->msg, q, sizeof q));
}

/* A transfer finished (already off the multi handle): done, retried later, or failed. */
static void req_done(ts_xfer *x, CURLcode rc)
{
    req *r = (req *)x;
    ts_sendq *q = r->q;
    char label[128];
    long status = 0;
    ts_error err;
    if (rc == CURLE_OK)
        curl_easy_getinfo(r->x.easy, CURLINFO_RESPONSE_CODE, &status);
    release(q->o, r);
    label_of(r, label, sizeof label);
    if (rc == CURLE_WRITE_ERROR) {   /* our collect: out of memory */
        ts_fail(&err, TS_E_NOMEM, "%s: out of memory reading the response", label);
        log_failed(r, &err);
        return req_drop(r);
    }
    int wait = ts_httpc_retry_wait(&q->o->retry, label, r->attempts, status, r->resp.s,
                                   r->resp.len, ts_tg_retry_after_ms);
    if (wait >= 0) {
        r->not_before = ts_clock_ms() + wait;
        if (status == 429)
            q->not_before = r->not_before;
        return;
    }
    cJSON *res = NULL;
    if (rc != CURLE_OK)
        /* curl's message may name the host, never the path with the token */
        ts_fail(&err, TS_E_CONN, "%s: %s (check the base URL and the network)", label,
                curl_easy_strerror(rc));
    if (rc != CURLE_OK ||
        ts_tg_parse_reply(status, r->resp.s, r->resp.len, label, &res, NULL, &err) != 0)
        log_failed(r, &err);
    cJSON_Delete(res);
    req_drop(r);
}

/* Put r on the multi handle; -1 when it could not start (out of memory). */
static int req_start(ts_outbox *o, req *r)
{
    char url[TS_TG_URL_MAX];
    CURL *c = o->nidle > 0 ? o->idle[--o->nidle] : curl_easy_init();
    if (c == NULL || ts_tg_method_url(o->base, r->q->token, r->r.method, url, sizeof url) != 0) {
        if (c != NULL)
            o->idle[o->nidle++] = c;
        return -1;
    }
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);   /* copied by libcurl */
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->r.body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, o->headers);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->resp);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, o->retry.timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    ts_buf_reset(&r->resp);
    r->x.easy = c;
    r->q->inflight++;
    r->busy = 1;
    if (ts_poller_add(o->p, &r->x, NULL) != 0) {
        release(o, r);
        return -1;
    }
    return 0;
}

/* ---- queues ------------------------------------------------------------------- */

int ts_sendq_open(ts_outbox *o, const char *token, ts_sendq **out, ts_error *err)
{
    if (ts_tg_token_check(token, err) != 0)
        return -1;
    ts_sendq *q = calloc(1, sizeof *q);
    if (q == NULL || (q->token = strdup(token)) == NULL) {
        free(q);
        return ts_fail(err, TS_E_NOMEM, "out of memory creating a reply queue");
    }
    q->o = o;
    ts_redact(token, q->name, sizeof q->name);
    q->next = o->queues;
    o->queues = q;
    return *out = q, 0;
}

void ts_sendq_close(ts_sendq *q)
{
    if (q == NULL)
        return;
    ts_outbox *o = q->o;
    if (q->n > 0)
        ts_log(TS_LOG_WARN, "replies_dropped", "bot=%s count=%d", q->name, q->n);
    while (q->head != NULL) {
        req *r = q->head;
        q->head = r->next;
        if (r->busy) {
            ts_poller_remove(o->p, &r->x);
            release(o, r);
        }
        req_free(r);
    }
    ts_sendq **pp = &o->queues;
    while (*pp != q)
        pp = &(*pp)->next;
    *pp = q->next;
    free(q->token);
    free(q);
}

int ts_sendq_put(ts_sendq *q, const ts_replies *rs)
{
    int lost = rs->oom;
    q->groups++;
    if (rs->oom)
        ts_log(TS_LOG_ERROR, "reply_lost", "bot=%s reason=out_of_memory", q->name);
    for (int i = 0; i < rs->n; i++) {
        ts_error err;
        req *r = calloc(1, sizeof *r);
        if (r == NULL) {
            ts_fail(&err, TS_E_NOMEM, "out of memory queueing a reply");
        } else if (ts_reply_request(&rs->v[i], &r->r, &err) == 0) {
            r->x.done = req_done;
            r->q = q;
            r->chat = rs->v[i].chat_id;
            r->group = q->groups;
            if (q->tail != NULL)
                q->tail->next = r;
            else
                q->head = r;
            q->tail = r;
            q->n++;
            continue;
        }
        free(r);
        lost++;
        char m[1100];
        ts_log(TS_LOG_WARN, "reply_failed", "bot=%s chat_id=%" PRId64 " attempts=0 code=%s "
               "error=%s", q->name, rs->v[i].chat_id, ts_code_name(err.code),
               ts_log_value(err.msg, m, sizeof m));
    }
    return lost;
}

int ts_sendq_pending(const ts_sendq *q) { return q->n; }

int ts_outbox_pending(const ts_outbox *o)
{
    int n = 0;
    for (const ts_sendq *q = o->queues; q != NULL; q = q->next)
        n += q->n;
    return n;
}

/* Start what q may send now; the earliest retry due into *due. */
static void pump_queue(ts_outbox *o, ts_sendq *q, long long now, long long *due)
{
    /* chats and groups with an earlier request still pending */
    int64_t chats[OUTBOX_WINDOW];
    uint64_t groups[OUTBOX_WINDOW];
    int nchats = 0, ngroups = 0, k = 0;
    if (q->not_before > now) {
        if (q->not_before < *due)
            *due = q->not_before;
        return;
    }
    for (req *r = q->head, *next; r != NULL && k < OUTBOX_WINDOW &&
                                  q->inflight < OUTBOX_INFLIGHT; r = next, k++) {
        next = r->next;
        int chat_blocked = 0, group_blocked = 0;
        for (int i = 0; i < nchats && !chat_blocked; i++)
            chat_blocked = chats[i] == r->chat;
        for (int i = 0; i < ngroups && !group_blocked; i++)
            group_blocked = groups[i] == r->group;
        if (r->chat != 0 && !chat_blocked)
            chats[nchats++] = r->chat;
        if (!group_blocked)
            groups[ngroups++] = r->group;
        if (chat_blocked || group_blocked || r->busy)
            continue;
        if (r->not_before > now) {
            if (r->not_before < *due)
                *due = r->not_before;
            continue;
        }
        r->attempts++;
        if (req_start(o, r) == 0)
            continue;
        if (r->attempts < o->retry.max_attempts) {
            r->not_before = now + ts_backoff_ms(o->retry.backoff_ms, o->retry.max_backoff_ms,
                                                r->attempts);
            continue;
        }
        ts_error err;
        ts_fail(&err, TS_E_NOMEM, "telegram %s: could not start the request (out of memory)",
                r->r.method);
        log_failed(r, &err);
        req_drop(r);
    }
}

int ts_outbox_pump(ts_outbox *o)
{
    long long now = ts_clock_ms(), due = LLONG_MAX;
    for (ts_sendq *q = o->queues; q != NULL; q = q->next)
        pump_queue(o, q, now, &due);
    return due == LLONG_MAX ? INT_MAX : due - now > INT_MAX ? INT_MAX : (int)(due - now);
}
