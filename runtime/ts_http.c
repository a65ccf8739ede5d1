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

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **state)
{
    ts_http *h = cls;
    ts_http_reply r = {.status = 200};
    (void)version, (void)upload, (void)upload_size, (void)state;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        say(&r, 405, "only GET is served\n");
    else
        route(h, c, url, &r);
    if (r.body.oom) {
        ts_buf_reset(&r.body);
        say(&r, 500, "out of memory\n");
    }
    size_t len = r.body.len;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, len ? ts_buf_take(&r.body) : NULL,
                                        len ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    ts_buf_free(&r.body);
    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type",
                            r.content_type ? r.content_type : "text/plain; charset=utf-8");
    enum MHD_Result rc = MHD_queue_response(c, (unsigned)r.status, resp);
    MHD_destroy_response(resp);
    if (r.status >= 500)
        ts_log(TS_LOG_WARN, "http_error", "path=%.64s status=%d", url, r.status);
    return rc;
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
                            MHD_OPTION_CONNECTION_TIMEOUT, 10U, MHD_OPTION_EXTERNAL_LOGGER,
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
