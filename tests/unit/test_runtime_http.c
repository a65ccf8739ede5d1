/* test_runtime_http.c: /healthz, /metrics format, the Zarinpal callback route. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_http.h"

typedef struct fx {
    ts_http *h;
    ts_metrics *m;
    pthread_t loop;
    volatile int stop;
    int calls;
    int64_t bot_id;
    char authority[80];
    int ok;
} fx;

/* The owner's event loop, in a thread here so the test can be the client. */
static void *loop(void *arg)
{
    fx *f = arg;
    while (!f->stop)
        ts_http_run(f->h, 20);
    return NULL;
}

static int on_zarinpal(void *arg, int64_t bot_id, const char *authority, int ok,
                       ts_http_reply *r)
{
    fx *f = arg;
    f->calls++;
    f->bot_id = bot_id;
    snprintf(f->authority, sizeof f->authority, "%s", authority);
    f->ok = ok;
    if (strcmp(authority, "A0000000000000000000000000000fail") == 0)
        return -1;
    r->content_type = "text/html; charset=utf-8";
    ts_buf_puts(&r->body, ok ? "<p>paid</p>" : "<p>not paid</p>");
    return 0;
}

static void hook(void *arg, ts_buf *out)
{
    (void)arg;
    ts_buf labels = {0};
    ts_prom_family(out, "ts_shim_ops_total", "counter", "Shim operations by store and kind.");
    ts_prom_label(&labels, "store", "legacy");
    ts_prom_label(&labels, "kind", "read \"x\"");
    ts_prom_sample(out, "ts_shim_ops_total", labels.s, 12);
    ts_buf_free(&labels);
}

static int start(void **state, int with_handler)
{
    fx *f = calloc(1, sizeof *f);
    ts_error err;
    f->m = ts_metrics_new();
    ts_metrics_set_hook(f->m, hook, NULL);
    ts_http_opts o = {.port = 0, .metrics = f->m,
                      .on_zarinpal = with_handler ? on_zarinpal : NULL, .zarinpal_arg = f};
    if (ts_http_start(&o, &f->h, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    pthread_create(&f->loop, NULL, loop, f);
    *state = f;
    return 0;
}

static int setup(void **state) { return start(state, 1); }
static int setup_no_handler(void **state) { return start(state, 0); }

static int teardown(void **state)
{
    fx *f = *state;
    f->stop = 1;
    pthread_join(f->loop, NULL);
    ts_http_stop(f->h);
    ts_metrics_free(f->m);
    free(f);
    return 0;
}

static size_t collect(char *p, size_t s, size_t n, void *arg)
{
    ts_buf_add(arg, p, s * n);
    return s * n;
}

/* GET (or POST with post != NULL) path; the status; body into b. */
static long get(fx *f, const char *path, const char *post, ts_buf *b)
{
    char url[256];
    long status = 0;
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", ts_http_port(f->h), path);
    CURL *c = curl_easy_init();
    ts_buf_reset(b);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
    if (post != NULL)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    ts_buf_add(b, "", 0);
    return status;
}

static void test_healthz(void **state)
{
    fx *f = *state;
    ts_buf b = {0};
    assert_int_equal(get(f, "/healthz", NULL, &b), 200);
    assert_string_equal(b.s, "ok\n");
    assert_int_equal(get(f, "/nope", NULL, &b), 404);
    assert_int_equal(get(f, "/healthz", "x=1", &b), 405);
    ts_buf_free(&b);
}

static void test_metrics_format(void **state)
{
    fx *f = *state;
    ts_buf b = {0};
    ts_metrics_update(f->m, 1, TS_OUT_HANDLED, 0.003);
    ts_metrics_update(f->m, 1, TS_OUT_HANDLED, 0.2);
    ts_metrics_update(f->m, 7, TS_OUT_SKIPPED, -1);
    ts_metrics_update(f->m, 7, TS_OUT_HANDLED, 30);
    assert_int_equal(get(f, "/metrics", NULL, &b), 200);
    const char *want[] = {
        "# HELP ts_updates_total Telegram updates by bot and outcome.\n"
        "# TYPE ts_updates_total counter\n",
        "ts_updates_total{bot_id=\"1\",outcome=\"handled\"} 2\n",
        "ts_updates_total{bot_id=\"7\",outcome=\"skipped\"} 1\n",
        "ts_updates_total{bot_id=\"7\",outcome=\"retried\"} 0\n",
        "# TYPE ts_handler_seconds histogram\n",
        "ts_handler_seconds_bucket{le=\"0.005\"} 1\n",
        "ts_handler_seconds_bucket{le=\"0.1\"} 1\n",
        "ts_handler_seconds_bucket{le=\"0.25\"} 2\n",
        "ts_handler_seconds_bucket{le=\"10\"} 2\n",
        "ts_handler_seconds_bucket{le=\"+Inf\"} 3\n",
        "ts_handler_seconds_count 3\n",
        "ts_shim_ops_total{store=\"legacy\",kind=\"read \\\"x\\\"\"} 12\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (strstr(b.s, want[i]) == NULL)
            fail_msg("missing from /metrics:\n%s\n--- got:\n%s", want[i], b.s);
    /* every line is a comment or "name{labels} value" */
    for (char *line = strtok(b.s, "\n"); line; line = strtok(NULL, "\n"))
        assert_true(line[0] == '#' || strchr(line, ' ') != NULL);
    ts_buf_free(&b);
}

static void test_zarinpal_callback(void **state)
{
    fx *f = *state;
    ts_buf b = {0};
    assert_int_equal(get(f, "/zarinpal/callback/12?Authority=A00000000000000000000000000000123456"
                            "&Status=OK", NULL, &b), 200);
    assert_string_equal(b.s, "<p>paid</p>");
    assert_int_equal(f->calls, 1);
    assert_int_equal(f->bot_id, 12);
    assert_string_equal(f->authority, "A00000000000000000000000000000123456");
    assert_int_equal(f->ok, 1);
    assert_int_equal(get(f, "/zarinpal/callback/12?Authority=A1&Status=NOK", NULL, &b), 200);
    assert_int_equal(f->ok, 0);
    /* refused before the handler */
    assert_int_equal(get(f, "/zarinpal/callback/12?Status=OK", NULL, &b), 400);
    assert_int_equal(get(f, "/zarinpal/callback/12?Authority=A1%27--&Status=OK", NULL, &b), 400);
    assert_int_equal(get(f, "/zarinpal/callback/12?Authority=A1&Status=MAYBE", NULL, &b), 400);
    assert_int_equal(get(f, "/zarinpal/callback/x1?Authority=A1&Status=OK", NULL, &b), 404);
    assert_int_equal(get(f, "/zarinpal/callback/?Authority=A1&Status=OK", NULL, &b), 404);
    assert_int_equal(f->calls, 2);
    /* a failing handler is a 500 with a page that says what to do */
    assert_int_equal(get(f, "/zarinpal/callback/1?Authority=A0000000000000000000000000000fail"
                            "&Status=OK", NULL, &b), 500);
    assert_non_null(strstr(b.s, "reload this page"));
    ts_buf_free(&b);
}

static void test_zarinpal_without_handler(void **state)
{
    fx *f = *state;
    ts_buf b = {0};
    assert_int_equal(get(f, "/zarinpal/callback/1?Authority=A1&Status=OK", NULL, &b), 503);
    ts_buf_free(&b);
}

static void test_bad_listen_address(void **state)
{
    (void)state;
    ts_http *h;
    ts_error err;
    ts_http_opts o = {.listen = "localhost"};
    assert_int_equal(ts_http_start(&o, &h, &err), -1);
    assert_non_null(strstr(err.msg, "\"localhost\" is not an IP address"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_healthz, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zarinpal_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zarinpal_without_handler, setup_no_handler, teardown),
        cmocka_unit_test(test_bad_listen_address),
    };
    return cmocka_run_group_tests_name("runtime_http", tests, NULL, NULL);
}
