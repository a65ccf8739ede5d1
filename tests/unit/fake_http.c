/* fake_http.c: the loopback JSON server the fakes and ts-traffic answer on. */
#include "fake_http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ts_buf.h"

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *verb, const char *version, const char *upload,
                                  size_t *upload_size, void **state)
{
    fake_http *fh = cls;
    (void)verb, (void)version;
    if (*state == NULL) {
        *state = calloc(1, sizeof(ts_buf));
        return *state ? MHD_YES : MHD_NO;
    }
    ts_buf *in = *state;
    if (*upload_size > 0) {
        ts_buf_add(in, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    ts_buf out = {0};
    int status = fh->fn(fh->arg, url, in->s ? in->s : "{}", &out);
    size_t len = out.len;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, ts_buf_take(&out), MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result rc = MHD_queue_response(conn, (unsigned)status, r);
    MHD_destroy_response(r);
    return rc;
}

static void on_done(void *cls, struct MHD_Connection *conn, void **state,
                    enum MHD_RequestTerminationCode why)
{
    (void)cls, (void)conn, (void)why;
    if (*state != NULL) {
        ts_buf_free(*state);
        free(*state);
        *state = NULL;
    }
}

int fake_http_start(fake_http *h, int port, fake_http_fn fn, void *arg)
{
    h->fn = fn;
    h->arg = arg;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    h->d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG, 0,
        NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_NOTIFY_COMPLETED,
        on_done, NULL, MHD_OPTION_END);
    if (h->d == NULL) {
        fprintf(stderr, "fake server: libmicrohttpd could not listen on 127.0.0.1:%d\n", port);
        return -1;
    }
    snprintf(h->url, sizeof h->url, "http://127.0.0.1:%u",
             (unsigned)MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT)->port);
    return 0;
}

void fake_http_stop(fake_http *h)
{
    if (h->d != NULL)
        MHD_stop_daemon(h->d);
    h->d = NULL;
}
