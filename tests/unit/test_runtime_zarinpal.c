/* test_runtime_zarinpal.c: the Zarinpal client against the fake gateway. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_zarinpal.h"
#include "ts_log.h"
#include "ts_zarinpal.h"

#define MERCHANT "abcdef12-3456-7890-abcd-ef1234567890"

static void no_sleep(void *arg, int ms)
{
    (void)ms;
    ++*(int *)arg;
}

typedef struct fx {
    fake_zarinpal *fz;
    ts_zp *zp;
    int sleeps;
    char *log;
    size_t loglen;
    FILE *logf;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    ts_error err;
    f->fz = fake_zarinpal_start();
    ts_httpc_opts o = {.timeout_ms = 5000, .sleep_ms = no_sleep, .sleep_arg = &f->sleeps};
    if (f->fz == NULL || ts_zp_open(fake_zarinpal_url(f->fz), &o, &f->zp, &err) != 0)
        return -1;
    f->logf = open_memstream(&f->log, &f->loglen);
    ts_log_set_stream(f->logf);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    ts_log_set_stream(NULL);
    fclose(f->logf);
    int leaked = f->log != NULL && strstr(f->log, MERCHANT) != NULL;
    free(f->log);
    ts_zp_close(f->zp);
    fake_zarinpal_stop(f->fz);
    free(f);
    return leaked ? -1 : 0;
}

static void test_request_and_start_pay(void **state)
{
    fx *f = *state;
    ts_error err;
    char auth[TS_ZP_AUTHORITY_MAX + 1], url[256], want[256];
    assert_int_equal(ts_zp_request(f->zp, MERCHANT, 500000, "https://bot.example/zarinpal/"
                                   "callback/1", "top-up 500000", auth, &err), 0);
    assert_int_equal(strlen(auth), 36);
    assert_int_equal(ts_zp_start_pay_url(f->zp, auth, url, sizeof url), 0);
    snprintf(want, sizeof want, "%s/pg/StartPay/%s", fake_zarinpal_url(f->fz), auth);
    assert_string_equal(url, want);
    cJSON *b = fake_zarinpal_body(f->fz, "request", -1);
    assert_string_equal(cJSON_GetObjectItem(b, "merchant_id")->valuestring, MERCHANT);
    assert_int_equal((int)cJSON_GetObjectItem(b, "amount")->valuedouble, 500000);
    assert_string_equal(cJSON_GetObjectItem(b, "callback_url")->valuestring,
                        "https://bot.example/zarinpal/callback/1");
    assert_string_equal(cJSON_GetObjectItem(b, "description")->valuestring, "top-up 500000");
    cJSON_Delete(b);
}

static void test_verify_100_then_101(void **state)
{
    fx *f = *state;
    ts_error err;
    char auth[TS_ZP_AUTHORITY_MAX + 1];
    ts_zp_verified v;
    assert_int_equal(ts_zp_request(f->zp, MERCHANT, 1000, "https://x/cb", "d", auth, &err), 0);
    assert_int_equal(ts_zp_verify(f->zp, MERCHANT, auth, 1000, &v, &err), 0);
    assert_false(v.already);
    assert_true(v.ref_id > 0);
    int64_t ref = v.ref_id;
    /* a repeated callback verifies again: 101, same reference */
    assert_int_equal(ts_zp_verify(f->zp, MERCHANT, auth, 1000, &v, &err), 0);
    assert_true(v.already);
    assert_int_equal(v.ref_id, ref);
    cJSON *b = fake_zarinpal_body(f->fz, "verify", -1);
    assert_string_equal(cJSON_GetObjectItem(b, "authority")->valuestring, auth);
    cJSON_Delete(b);
}

static void test_refusals(void **state)
{
    fx *f = *state;
    ts_error err;
    char auth[TS_ZP_AUTHORITY_MAX + 1];
    ts_zp_verified v;
    assert_int_equal(ts_zp_request(f->zp, MERCHANT, 1000, "https://x/cb", "d", auth, &err), 0);
    assert_int_equal(ts_zp_verify(f->zp, MERCHANT, auth, 999, &v, &err), -1);
    assert_int_equal(err.code, TS_E_INVALID);
    assert_non_null(strstr(err.msg, "code -50"));
    assert_non_null(strstr(err.msg, "merchant abc****"));
    assert_null(strstr(err.msg, MERCHANT));
    fake_zarinpal_fail(f->fz, "verify", 200, TS_ZP_CODE_NOT_PAID, 1);
    assert_int_equal(ts_zp_verify(f->zp, MERCHANT, auth, 1000, &v, &err), -1);
    assert_int_equal(err.code, TS_E_STATE);
    assert_int_equal(ts_zp_request(f->zp, "short", 1000, "https://x/cb", "d", auth, &err), -1);
    assert_non_null(strstr(err.msg, "code -9"));
    assert_null(strstr(err.msg, "short"));
    assert_int_equal(f->sleeps, 0);   /* refusals are answers, not retried */
}

static void test_5xx_retried_and_bounded(void **state)
{
    fx *f = *state;
    ts_error err;
    char auth[TS_ZP_AUTHORITY_MAX + 1];
    fake_zarinpal_fail(f->fz, "request", 502, 0, 2);
    assert_int_equal(ts_zp_request(f->zp, MERCHANT, 1000, "https://x/cb", "d", auth, &err), 0);
    assert_int_equal(fake_zarinpal_count(f->fz, "request"), 3);
    assert_int_equal(f->sleeps, 2);
    fake_zarinpal_fail(f->fz, "verify", 503, 0, 10);
    ts_zp_verified v;
    assert_int_equal(ts_zp_verify(f->zp, MERCHANT, auth, 1000, &v, &err), -1);
    assert_int_equal(err.code, TS_E_CONN);
    assert_int_equal(fake_zarinpal_count(f->fz, "verify"), 4);
    assert_non_null(strstr(err.msg, "HTTP 503"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_request_and_start_pay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_100_then_101, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_5xx_retried_and_bounded, setup, teardown),
    };
    return cmocka_run_group_tests_name("runtime_zarinpal", tests, NULL, NULL);
}
