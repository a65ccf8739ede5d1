/* fake_telegram.c: the local Bot API server of the tests (see fake_telegram.h). */
#include "fake_telegram.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ts_buf.h"

#define TOKEN_MAX 128

typedef struct upd {
    char token[TOKEN_MAX];
    int64_t id;
    char *text;
} upd;

typedef struct call {
    char method[48];
    char token[TOKEN_MAX];
    char *body;
} call;

typedef struct fail {
    char method[48];
    char token[TOKEN_MAX];   /* "" = any */
    int status, retry_after, times;
} fail;

typedef struct tok {
    char token[TOKEN_MAX];
    int64_t next_id;
    char *next_body;
} tok;

struct fake_telegram {
    fake_http http;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stopping;
    upd *upds; int nupds, capupds;
    call *calls; int ncalls, capcalls;
    fail fails[16]; int nfails;
    tok toks[32]; int ntoks;
    int64_t next_message_id;
};

static void *grow(void *p, int *cap, int need, size_t size)
{
    if (need <= *cap)
        return p;
    int c = *cap ? *cap * 2 : 16;
    void *q = realloc(p, (size_t)c * size);
    if (q == NULL)
        abort();   /* a test fake: out of memory is not a case to handle */
    *cap = c;
    return q;
}

static tok *token_of(fake_telegram *ft, const char *token)
{
    for (int i = 0; i < ft->ntoks; i++)
        if (strcmp(ft->toks[i].token, token) == 0)
            return &ft->toks[i];
    if (ft->ntoks == (int)(sizeof ft->toks / sizeof ft->toks[0]))
        abort();
    tok *t = &ft->toks[ft->ntoks++];
    snprintf(t->token, sizeof t->token, "%s", token);
    t->next_id = 100;
    t->next_body = NULL;
    return t;
}

static void queue(fake_telegram *ft, const char *token, int64_t id, char *text)
{
    ft->upds = grow(ft->upds, &ft->capupds, ft->nupds + 1, sizeof *ft->upds);
    upd *u = &ft->upds[ft->nupds++];
    snprintf(u->token, sizeof u->token, "%s", token);
    u->id = id;
    u->text = text;
    tok *t = token_of(ft, token);
    if (id >= t->next_id)
        t->next_id = id + 1;
    pthread_cond_broadcast(&ft->cv);
}

int64_t fake_telegram_push(fake_telegram *ft, const char *token, const char *update_json)
{
    cJSON *j = cJSON_Parse(update_json);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return -1;
    }
    pthread_mutex_lock(&ft->mu);
    const cJSON *idj = cJSON_GetObjectItemCaseSensitive(j, "update_id");
    int64_t id = cJSON_IsNumber(idj) ? (int64_t)idj->valuedouble : token_of(ft, token)->next_id;
    if (!cJSON_IsNumber(idj))
        cJSON_AddNumberToObject(j, "update_id", (double)id);
    queue(ft, token, id, cJSON_PrintUnformatted(j));
    pthread_mutex_unlock(&ft->mu);
    cJSON_Delete(j);
    return id;
}

void fake_telegram_push_raw(fake_telegram *ft, const char *token, int64_t id, const char *text)
{
    pthread_mutex_lock(&ft->mu);
    queue(ft, token, id, strdup(text));
    pthread_mutex_unlock(&ft->mu);
}

void fake_telegram_next_body(fake_telegram *ft, const char *token, const char *body)
{
    pthread_mutex_lock(&ft->mu);
    tok *t = token_of(ft, token);
    free(t->next_body);
    t->next_body = strdup(body);
    pthread_cond_broadcast(&ft->cv);
    pthread_mutex_unlock(&ft->mu);
}

void fake_telegram_fail(fake_telegram *ft, const char *token, const char *method, int status,
                        int retry_after, int times)
{
    pthread_mutex_lock(&ft->mu);
    if (ft->nfails == (int)(sizeof ft->fails / sizeof ft->fails[0]))
        abort();
    fail *f = &ft->fails[ft->nfails++];
    snprintf(f->method, sizeof f->method, "%s", method);
    snprintf(f->token, sizeof f->token, "%s", token ? token : "");
    f->status = status;
    f->retry_after = retry_after;
    f->times = times;
    pthread_mutex_unlock(&ft->mu);
}

static int matches(const call *c, const char *method, const char *token)
{
    return (method == NULL || strcmp(c->method, method) == 0) &&
           (token == NULL || strcmp(c->token, token) == 0);
}

int fake_telegram_count(fake_telegram *ft, const char *method, const char *token)
{
    int n = 0;
    pthread_mutex_lock(&ft->mu);
    for (int i = 0; i < ft->ncalls; i++)
        n += matches(&ft->calls[i], method, token);
    pthread_mutex_unlock(&ft->mu);
    return n;
}

int fake_telegram_wait(fake_telegram *ft, const char *method, const char *token, int n,
                       int timeout_ms)
{
    int got;
    for (int waited = 0; (got = fake_telegram_count(ft, method, token)) < n && waited < timeout_ms;
         waited += 5)
        nanosleep(&(struct timespec){0, 5000000L}, NULL);
    return got;
}

cJSON *fake_telegram_body(fake_telegram *ft, const char *method, const char *token, int nth)
{
    cJSON *out = NULL;
    pthread_mutex_lock(&ft->mu);
    int total = 0;
    for (int i = 0; i < ft->ncalls; i++)
        total += matches(&ft->calls[i], method, token);
    int want = nth < 0 ? total + nth : nth;
    for (int i = 0, k = 0; i < ft->ncalls && out == NULL; i++)
        if (matches(&ft->calls[i], method, token) && k++ == want)
            out = cJSON_Parse(ft->calls[i].body);
    pthread_mutex_unlock(&ft->mu);
    return out;
}

const char *fake_telegram_sequence(fake_telegram *ft, char *out, size_t n)
{
    size_t k = 0;
    out[0] = '\0';
    pthread_mutex_lock(&ft->mu);
    for (int i = 0; i < ft->ncalls; i++)
        if (strcmp(ft->calls[i].method, "getUpdates") != 0 && k < n)
            k += (size_t)snprintf(out + k, n - k, "%s%s", k ? "," : "", ft->calls[i].method);
    pthread_mutex_unlock(&ft->mu);
    return out;
}

int fake_telegram_pending(fake_telegram *ft, const char *token)
{
    int n = 0;
    pthread_mutex_lock(&ft->mu);
    for (int i = 0; i < ft->nupds; i++)
        n += strcmp(ft->upds[i].token, token) == 0;
    pthread_mutex_unlock(&ft->mu);
    return n;
}

/* ---- serving ---------------------------------------------------------------- */

static int64_t num(const cJSON *o, const char *k, int64_t dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : dflt;
}

/* Drop token's updates below offset; append the rest (up to limit) to b. */
static int take_updates(fake_telegram *ft, const char *token, int64_t offset, int limit, ts_buf *b)
{
    int w = 0, n = 0;
    for (int i = 0; i < ft->nupds; i++) {
        upd *u = &ft->upds[i];
        if (strcmp(u->token, token) == 0 && u->id < offset) {
            free(u->text);
            continue;
        }
        ft->upds[w++] = *u;
    }
    ft->nupds = w;
    for (int i = 0; i < ft->nupds && n < limit; i++)
        if (strcmp(ft->upds[i].token, token) == 0) {
            ts_buf_puts(b, n++ ? "," : "");
            ts_buf_puts(b, ft->upds[i].text);
        }
    return n;
}

static void get_updates(fake_telegram *ft, const char *token, const cJSON *req, ts_buf *b)
{
    int64_t offset = num(req, "offset", 0);
    int limit = (int)num(req, "limit", 100);
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += num(req, "timeout", 0);
    pthread_mutex_lock(&ft->mu);
    for (;;) {
        tok *t = token_of(ft, token);
        if (t->next_body != NULL) {
            ts_buf_puts(b, t->next_body);
            free(t->next_body);
            t->next_body = NULL;
            break;
        }
        ts_buf_reset(b);
        ts_buf_puts(b, "{\"ok\":true,\"result\":[");
        if (take_updates(ft, token, offset, limit, b) > 0 || ft->stopping ||
            pthread_cond_timedwait(&ft->cv, &ft->mu, &until) != 0) {
            ts_buf_puts(b, "]}");
            break;
        }
    }
    pthread_mutex_unlock(&ft->mu);
}

/* A sent message as Telegram describes it. */
static void message_result(fake_telegram *ft, const cJSON *req, ts_buf *b)
{
    pthread_mutex_lock(&ft->mu);
    int64_t id = ++ft->next_message_id;
    pthread_mutex_unlock(&ft->mu);
    ts_buf_printf(b, "{\"ok\":true,\"result\":{\"message_id\":%lld,\"date\":0,"
                     "\"chat\":{\"id\":%lld,\"type\":\"private\"}}}",
                  (long long)id, (long long)num(req, "chat_id", 0));
}

/* 1 with the injected failure's body in b when one applies to this call. */
static int injected(fake_telegram *ft, const char *token, const char *method, ts_buf *b,
                    int *status)
{
    int hit = 0;
    pthread_mutex_lock(&ft->mu);
    for (int i = 0; i < ft->nfails && !hit; i++) {
        fail *f = &ft->fails[i];
        if (f->times > 0 && strcmp(f->method, method) == 0 &&
            (f->token[0] == '\0' || strcmp(f->token, token) == 0)) {
            f->times--;
            hit = 1;
            *status = f->status;
            if (f->status == 429)
                ts_buf_printf(b, "{\"ok\":false,\"error_code\":429,\"description\":\"Too Many "
                                 "Requests: retry after %d\",\"parameters\":{\"retry_after\":%d}}",
                              f->retry_after, f->retry_after);
            else
                ts_buf_printf(b, "{\"ok\":false,\"error_code\":%d,\"description\":\"Injected "
                                 "failure %d\"}", f->status, f->status);
        }
    }
    pthread_mutex_unlock(&ft->mu);
    return hit;
}

/* Method call on a token: "/bot<token>/<method>". */
static int on_call(void *arg, const char *url, const char *body, ts_buf *out)
{
    fake_telegram *ft = arg;
    char token[TOKEN_MAX] = "", method[48] = "";
    const char *slash = strncmp(url, "/bot", 4) == 0 ? strchr(url + 4, '/') : NULL;
    if (slash != NULL && (size_t)(slash - url - 4) < sizeof token) {
        memcpy(token, url + 4, (size_t)(slash - url - 4));
        snprintf(method, sizeof method, "%s", slash + 1);
    }
    pthread_mutex_lock(&ft->mu);
    ft->calls = grow(ft->calls, &ft->capcalls, ft->ncalls + 1, sizeof *ft->calls);
    call *c = &ft->calls[ft->ncalls++];
    snprintf(c->method, sizeof c->method, "%s", method);
    snprintf(c->token, sizeof c->token, "%s", token);
    c->body = strdup(body);
    pthread_mutex_unlock(&ft->mu);

    int status = 200;
    cJSON *req = cJSON_Parse(body);
    if (token[0] == '\0' || method[0] == '\0') {
        status = 404;
        ts_buf_puts(out, "{\"ok\":false,\"error_code\":404,\"description\":\"Not Found\"}");
    } else if (injected(ft, token, method, out, &status)) {
    } else if (strcmp(method, "getUpdates") == 0) {
        get_updates(ft, token, req, out);
    } else if (strcmp(method, "sendMessage") == 0 || strcmp(method, "sendPhoto") == 0 ||
               strcmp(method, "editMessageText") == 0 || strcmp(method, "copyMessage") == 0) {
        message_result(ft, req, out);
    } else {
        ts_buf_puts(out, "{\"ok\":true,\"result\":true}");
    }
    cJSON_Delete(req);
    return status;
}

fake_telegram *fake_telegram_start(void)
{
    fake_telegram *ft = calloc(1, sizeof *ft);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&ft->mu, NULL);
    pthread_cond_init(&ft->cv, &ca);
    pthread_condattr_destroy(&ca);
    ft->next_message_id = 1000;
    if (fake_http_start(&ft->http, 0, on_call, ft) != 0) {
        fake_telegram_stop(ft);
        return NULL;
    }
    return ft;
}

void fake_telegram_stop(fake_telegram *ft)
{
    if (ft == NULL)
        return;
    pthread_mutex_lock(&ft->mu);
    ft->stopping = 1;   /* release held long polls */
    pthread_cond_broadcast(&ft->cv);
    pthread_mutex_unlock(&ft->mu);
    fake_http_stop(&ft->http);
    for (int i = 0; i < ft->nupds; i++)
        free(ft->upds[i].text);
    for (int i = 0; i < ft->ncalls; i++)
        free(ft->calls[i].body);
    for (int i = 0; i < ft->ntoks; i++)
        free(ft->toks[i].next_body);
    free(ft->upds);
    free(ft->calls);
    pthread_cond_destroy(&ft->cv);
    pthread_mutex_destroy(&ft->mu);
    free(ft);
}

const char *fake_telegram_url(const fake_telegram *ft) { return ft->http.url; }
