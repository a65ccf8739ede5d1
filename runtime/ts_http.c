/* ts_http.c: routes of the HTTP endpoint, on libmicrohttpd in external-epoll mode. */
#include "ts_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ts_log.h"
#include "ts_zarinpal.h"

struct ts_http {
    struct MHD_Daemon *d;
    ts_http_opts o;
    int port;
    int fd;
};

static void mhd_log(void *arg, const char *fmt, va_list ap)
{
    char msg[512], q[600];
    (void)arg;
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    ts_log(TS_LOG_WARN, "http_server", "error=%s", ts_log_value(msg, q, sizeof q));
}

static void say(ts_http_reply *r, int status, const char *text)
{
    r->status = status;
    ts_buf_puts(&r->body, text);
}

/* /zarinpal/callback/<bot_id>: check everything before the owner sees it. */
static void zarinpal(ts_http *h, struct MHD_Connection *c, const char *tail, ts_http_reply *r)
{
    const char *auth = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "Authority");
    const char *status = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "Status");
    char *end;
    errno = 0;
    long long bot_id = strtoll(tail, &end, 10);
    if (*tail == '\0' || *end != '\0' || errno != 0 || strspn(tail, "0123456789") != strlen(tail))
        return say(r, 404, "unknown bot in the callback path\n");
    if (auth == NULL || *auth == '\0' || strlen(auth) > TS_ZP_AUTHORITY_MAX ||
        strspn(auth, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") !=
            strlen(auth))
        return say(r, 400, "bad or missing Authority\n");
    if (status == NULL || (strcmp(status, "OK") != 0 && strcmp(status, "NOK") != 0))
        return say(r, 400, "Status must be OK or NOK\n");
    if (h->o.on_zarinpal == NULL)
        return say(r, 503, "payments are not available yet\n");
    if (h->o.on_zarinpal(h->o.zarinpal_arg, (int64_t)bot_id, auth, strcmp(status, "OK") == 0,
                         r) != 0) {
        ts_buf_reset(&r->body);
        say(r, 500, "the payment could not be checked now: reload this page in a minute\n");
    }
}

static void route(ts_http *h, struct MHD_Connection *c, const char *url, ts_http_reply *r)
{
    static const char zp[] = "/zarinpal/callback/";
    ts_error e;
    if (strcmp(url, "/healthz") == 0 && h->o.health != NULL && h->o.health(h->o.health_arg, &e) != 0) {
        r->status = 503;
        ts_buf_printf(&r->body, "unhealthy: %s\n", e.msg);
    } else if (strcmp(url, "/healthz") == 0)
        say(r, 200, "ok\n");
    else if (strcmp(url, "/metrics") == 0 && h->o.metrics != NULL) {
        r->content_type = "text/plain; version=0.0.4; charset=utf-8";
        ts_metrics_render(h->o.metrics, &r->body);
    } else if (strncmp(url, zp, sizeof zp - 1) == 0)
        zarinpal(h, c, url + sizeof zp - 1, r);
    else
        say(r, 404, "not found\n");
}

/* One request's state between libmicrohttpd's calls: its body so far. */
typedef struct req_state {
    ts_buf body;
    int too_big;
} req_state;

static const char api_prefix[] = "/api/v1";

static int is_api(const char *url)
{
    size_t n = sizeof api_prefix - 1;
    return strncmp(url, api_prefix, n) == 0 && (url[n] == '/' || url[n] == '\0');
}

/* X-API-Token, else the credential of Authorization: Bearer. */
static const char *api_token(struct MHD_Connection *c)
{
    const char *t = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-API-Token");
    const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (t != NULL || a == NULL || strncasecmp(a, "Bearer ", 7) != 0)
        return t;
    for (a += 7; *a == ' '; a++)
        ;
    return a;
}

static void client_address(struct MHD_Connection *c, char *out, size_t n)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    snprintf(out, n, "unknown");
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)n);
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)n);
}

typedef struct query_state {
    ts_http_param p[TS_HTTP_QUERY_MAX];
    int n, over;
} query_state;

static enum MHD_Result query_param(void *arg, enum MHD_ValueKind kind, const char *name,
                                   const char *value)
{
    query_state *q = arg;
    (void)kind;
    if (q->n == TS_HTTP_QUERY_MAX) {
        q->over = 1;
        return MHD_NO;
    }
    q->p[q->n++] = (ts_http_param){name, value ? value : ""};
    return MHD_YES;
}

static void api(ts_http *h, struct MHD_Connection *c, const char *method, const char *url,
                req_state *st, ts_http_reply *r)
{
    char client[INET6_ADDRSTRLEN];
    r->content_type = "application/json";
    if (h->o.on_api == NULL) {
        say(r, 404, "{\"error\":\"not_found\",\"message\":\"the management API is not served\"}\n");
        return;
    }
    if (st->body.oom) {
        say(r, 500, "{\"error\":\"internal\",\"message\":\"out of memory\"}\n");
        return;
    }
    if (st->too_big) {
        ts_buf_printf(&r->body, "{\"error\":\"too_large\",\"message\":\"the body is over %d "
                      "bytes\"}\n", TS_HTTP_BODY_MAX);
        r->status = 413;
        return;
    }
    query_state q = {0};
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, query_param, &q);
    if (q.over) {
        ts_buf_printf(&r->body, "{\"error\":\"bad_request\",\"message\":\"more than %d query "
                      "parameters\"}\n", TS_HTTP_QUERY_MAX);
        r->status = 400;
        return;
    }
    client_address(c, client, sizeof client);
    ts_http_request req = {method, url + sizeof api_prefix - 1, st->body.s ? st->body.s : "",
                           st->body.len, api_token(c), client, q.p, q.n};
    h->o.on_api(h->o.api_arg, &req, r);
}

static enum MHD_Result respond(struct MHD_Connection *c, const char *url, ts_http_reply *r)
{
    if (r->body.oom) {
        ts_buf_reset(&r->body);
        say(r, 500, "out of memory\n");
    }
    size_t len = r->body.len;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, len ? ts_buf_take(&r->body) : NULL,
                                        len ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    ts_buf_free(&r->body);
    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type",
                            r->content_type ? r->content_type : "text/plain; charset=utf-8");
    if (r->retry_after > 0) {
        char v[24];
        snprintf(v, sizeof v, "%d", r->retry_after);
        MHD_add_response_header(resp, "Retry-After", v);
    }
    enum MHD_Result rc = MHD_queue_response(c, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    if (r->status >= 500)
        ts_log(TS_LOG_WARN, "http_error", "path=%.64s status=%d", url, r->status);
    return rc;
}

/*
 * libmicrohttpd calls this first with the headers (*state NULL), then with
 * each piece of the body (*upload_size > 0), then once more with none: the
 * API answers then. A body over the limit is refused at once when
 * Content-Length says so, else its rest is read and dropped and 413 answered.
 */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **state)
{
    ts_http *h = cls;
    ts_http_reply r = {.status = 200};
    req_state *st = *state;
    (void)version;
    if (is_api(url)) {
        if (st == NULL) {
            const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
            if ((st = calloc(1, sizeof *st)) == NULL)
                return MHD_NO;
            *state = st;
            st->too_big = cl != NULL && strtoull(cl, NULL, 10) > TS_HTTP_BODY_MAX;
            if (!st->too_big)
                return MHD_YES;
        } else if (*upload_size > 0) {
            if (!st->too_big && st->body.len + *upload_size <= TS_HTTP_BODY_MAX)
                ts_buf_add(&st->body, upload, *upload_size);
            else
                st->too_big = 1;
            *upload_size = 0;
            return MHD_YES;
        }
        api(h, c, method, url, st, &r);
    } else if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        say(&r, 405, "only GET is served\n");
    } else {
        route(h, c, url, &r);
    }
    return respond(c, url, &r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **state,
                         enum MHD_RequestTerminationCode why)
{
    req_state *st = *state;
    (void)cls, (void)c, (void)why;
    if (st != NULL) {
        ts_buf_free(&st->body);
        free(st);
        *state = NULL;
    }
}

int ts_http_start(const ts_http_opts *opts, ts_http **out, ts_error *err)
{
    const char *listen = opts->listen ? opts->listen : "127.0.0.1";
    struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)opts->port)};
    struct sockaddr_in s4 = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opts->port)};
    unsigned flags = MHD_USE_EPOLL;
    const struct sockaddr *sa = (const struct sockaddr *)&s4;
    if (inet_pton(AF_INET, listen, &s4.sin_addr) != 1) {
        if (inet_pton(AF_INET6, listen, &s6.sin6_addr) != 1)
            return ts_fail(err, TS_E_USAGE, "HTTP listen address \"%s\" is not an IP address",
                           listen);
        sa = (const struct sockaddr *)&s6;
        flags |= MHD_USE_IPv6;
    }
    ts_http *h = calloc(1, sizeof *h);
    if (h == NULL)
        return ts_fail(err, TS_E_NOMEM, "out of memory starting the HTTP endpoint");
    h->o = *opts;
    h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR, sa,
                            MHD_OPTION_CONNECTION_TIMEOUT, 10U, MHD_OPTION_NOTIFY_COMPLETED,
                            on_completed, NULL, MHD_OPTION_EXTERNAL_LOGGER,
                            mhd_log, NULL, MHD_OPTION_END);
    if (h->d == NULL) {
        free(h);
        return ts_fail(err, TS_E_IO,
                       "cannot serve HTTP on %s:%d (port in use or not allowed): set http_port "
                       "to a free port, or 0 for any", listen, opts->port);
    }
    h->port = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT)->port;
    h->fd = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD)->epoll_fd;
    ts_log(TS_LOG_INFO, "http_listening", "address=%s port=%d", listen, h->port);
    return *out = h, 0;
}

void ts_http_stop(ts_http *h)
{
    if (h == NULL)
        return;
    MHD_stop_daemon(h->d);
    free(h);
}

int ts_http_port(const ts_http *h) { return h->port; }
int ts_http_fd(const ts_http *h) { return h->fd; }

void ts_http_run(ts_http *h, int timeout_ms)
{
    if (timeout_ms > 0) {
        struct pollfd p = {.fd = h->fd, .events = POLLIN};
        poll(&p, 1, timeout_ms);
    }
    MHD_run(h->d);
}
