/*
 * fake_http.h: the HTTP server under the test fakes (fake_telegram,
 * fake_zarinpal) and ts-traffic: libmicrohttpd on loopback only.
 */
#ifndef FAKE_HTTP_H
#define FAKE_HTTP_H

/*
 * The server under both fakes: JSON over POST on 127.0.0.1, port (0: any free one),
 * one thread per connection (so a handler may block, as a long poll does).
 * The handler gets the path and the body and returns the status it filled
 * out for. 0, or -1 when it cannot listen (the reason goes to stderr).
 */
struct MHD_Daemon;
struct ts_buf;
typedef int (*fake_http_fn)(void *arg, const char *path, const char *body, struct ts_buf *out);
typedef struct fake_http {
    struct MHD_Daemon *d;
    fake_http_fn fn;
    void *arg;
    char url[64];   /* "http://127.0.0.1:PORT" */
} fake_http;
int fake_http_start(fake_http *h, int port, fake_http_fn fn, void *arg);
void fake_http_stop(fake_http *h);

#endif
