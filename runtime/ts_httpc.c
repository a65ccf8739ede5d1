/* ts_httpc.c: JSON POST with bounded retries on one reused curl easy handle. */
#include "ts_httpc.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <time.h>

#include "ts_log.h"

struct ts_httpc {
    CURL *curl;
    struct curl_slist *headers;
    ts_httpc_opts o;
};

int ts_backoff_ms(int base_ms, int max_ms, int attempt)
{
    long long d = base_ms;
    for (int i = 1; i < attempt && d < max_ms; i++)
        d *= 2;
    return d > max_ms ? max_ms : (int)d;
}

static void real_sleep(void *arg, int ms)
{
    (void)arg;
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
    ts_buf_add(arg, p, size * n);
    return ((ts_buf *)arg)->oom ? 0 : size * n;
}

ts_httpc_opts ts_httpc_defaults(const ts_httpc_opts *opts)
{
    ts_httpc_opts o = opts != NULL ? *opts : (ts_httpc_opts){0};
    if (o.timeout_ms <= 0) o.timeout_ms = 30000;
    if (o.max_attempts <= 0) o.max_attempts = 4;
    if (o.backoff_ms <= 0) o.backoff_ms = 250;
    if (o.max_backoff_ms <= 0) o.max_backoff_ms = 8000;
    if (o.max_retry_after_ms <= 0) o.max_retry_after_ms = 30000;
    if (o.sleep_ms == NULL) o.sleep_ms = real_sleep;
    return o;
}

int ts_httpc_retry_wait(const ts_httpc_opts *o, const char *label, int attempt, long status,
                        const char *body, size_t len, ts_httpc_retry_after_fn retry_after)
{
    char q[256];
    if ((status != 0 && status < 500 && status != 429) || attempt >= o->max_attempts)
        return -1;
    int wait = ts_backoff_ms(o->backoff_ms, o->max_backoff_ms, attempt);
    if (status == 429 && retry_after != NULL) {
        int asked = retry_after(body ? body : "", body ? len : 0);
        if (asked > o->max_retry_after_ms) {
            ts_log(TS_LOG_WARN, "http_retry_after_too_long", "call=%s wait_ms=%d max_ms=%d",
                   ts_log_value(label, q, sizeof q), asked, o->max_retry_after_ms);
            return -1;   /* the 429 is the final answer */
        }
        if (asked >= 0)
            wait = asked;
    }
    ts_log(TS_LOG_WARN, "http_retry", "call=%s attempt=%d status=%ld wait_ms=%d",
           ts_log_value(label, q, sizeof q), attempt, status, wait);
    return wait;
}

int ts_httpc_open(const ts_httpc_opts *opts, ts_httpc **out, ts_error *err)
{
    ts_httpc *h = calloc(1, sizeof *h);
    if (h == NULL)
        return ts_fail(err, TS_E_NOMEM, "out of memory creating an HTTP client");
    h->o = ts_httpc_defaults(opts);
    h->curl = curl_easy_init();
    h->headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (h->curl == NULL || h->headers == NULL) {
        ts_httpc_close(h);
        return ts_fail(err, TS_E_NOMEM, "libcurl could not create a handle (out of memory)");
    }
    return *out = h, 0;
}

void ts_httpc_close(ts_httpc *h)
{
    if (h == NULL)
        return;
    curl_easy_cleanup(h->curl);
    curl_slist_free_all(h->headers);
    free(h);
}

/* One attempt: 0 with *status; -1 network error (retryable); -2 out of memory. */
static int attempt(ts_httpc *h, const char *url, const char *label, const char *body,
                   long *status, ts_buf *resp, ts_error *err)
{
    char cerr[CURL_ERROR_SIZE] = "";
    CURL *c = h->curl;
    *status = 0;
    ts_buf_reset(resp);
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->headers);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->o.timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_WRITE_ERROR)
        return ts_fail(err, TS_E_NOMEM, "%s: out of memory reading the response", label), -2;
    if (rc != CURLE_OK)
        /* curl's message may quote the URL's host, never its path with the token */
        return ts_fail(err, TS_E_CONN, "%s: %s (check the base URL and the network)", label,
                       *cerr ? cerr : curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    if (resp->s == NULL)
        ts_buf_add(resp, "", 0);
    return 0;
}

int ts_httpc_post_json(ts_httpc *h, const char *url, const char *label, const char *body,
                       ts_httpc_retry_after_fn retry_after, ts_httpc_resp *resp, ts_error *err)
{
    resp->status = 0;
    resp->attempts = 0;
    for (int n = 1;; n++) {
        int rc = attempt(h, url, label, body, &resp->status, &resp->body, err);
        resp->attempts = n;
        if (rc == -2)
            return -1;
        int wait = ts_httpc_retry_wait(&h->o, label, n, resp->status, resp->body.s,
                                       resp->body.len, retry_after);
        if (wait < 0)
            break;
        h->o.sleep_ms(h->o.sleep_arg, wait);
    }
    if (resp->status == 0)
        ts_error_context(err, "gave up after %d attempts", resp->attempts);
    return resp->status == 0 ? -1 : 0;
}
