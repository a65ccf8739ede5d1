/* test_runtime_tg.c: the Telegram client against the fake Bot API server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_telegram.h"
#include "ts_log.h"
#include "ts_tg.h"

#define TOKEN "123456:AAsecretSECRETsecret_-x"

typedef struct sleeps {
    int n;
    int ms[16];
} sleeps;

/* Waits are recorded, not slept: tests assert what was asked, not wall time. */
static void record_sleep(void *arg, int ms)
{
    sleeps *s = arg;
    if (s->n < 16)
        s->ms[s->n++] = ms;
}

typedef struct fixture {
    fake_telegram *ft;
    ts_tg *tg;
    sleeps slept;
    char *log;
    size_t loglen;
    FILE *logf;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    ts_error err;
    f->ft = fake_telegram_start();
    if (f->ft == NULL)
        return -1;
    ts_httpc_opts o = {.timeout_ms = 5000, .sleep_ms = record_sleep, .sleep_arg = &f->slept};
    if (ts_tg_open(fake_telegram_url(f->ft), TOKEN, &o, &f->tg, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    f->logf = open_memstream(&f->log, &f->loglen);
    ts_log_set_stream(f->logf);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ts_log_set_stream(NULL);
    fclose(f->logf);
    /* no log line, whatever the test did, may hold the token's secret */
    int leaked = f->log != NULL && strstr(f->log, "secret") != NULL;
    free(f->log);
    ts_tg_close(f->tg);
    fake_telegram_stop(f->ft);
    free(f);
    return leaked ? -1 : 0;
}

static const char *str_at(const cJSON *o, const char *path0, const char *path1)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, path0);
    if (path1 != NULL)
        v = cJSON_GetObjectItemCaseSensitive(v, path1);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void test_send_with_keyboard(void **state)
{
    fixture *f = *state;
    ts_error err;
    ts_kb kb = {0};
    ts_kb_button(&kb, "Plans", "plans");
    ts_kb_button(&kb, "Balance", "balance");
    ts_kb_row(&kb);
    ts_kb_url(&kb, "Pay", "https://pay.example/x");
    int64_t mid = 0;
    assert_int_equal(ts_tg_send_message(f->tg, -1001234567890LL, "سلام", &kb, &mid, &err), 0);
    ts_kb_free(&kb);
    assert_true(mid > 0);

    cJSON *b = fake_telegram_body(f->ft, "sendMessage", TOKEN, -1);
    assert_non_null(b);
    assert_string_equal(str_at(b, "text", NULL), "سلام");
    assert_true(cJSON_GetObjectItem(b, "chat_id")->valuedouble == -1001234567890.0);
    const cJSON *rows = cJSON_GetObjectItem(cJSON_GetObjectItem(b, "reply_markup"),
                                            "inline_keyboard");
    assert_int_equal(cJSON_GetArraySize(rows), 2);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetArrayItem(rows, 0)), 2);
    const cJSON *b1 = cJSON_GetArrayItem(cJSON_GetArrayItem(rows, 0), 1);
    assert_string_equal(str_at(b1, "callback_data", NULL), "balance");
    const cJSON *pay = cJSON_GetArrayItem(cJSON_GetArrayItem(rows, 1), 0);
    assert_string_equal(str_at(pay, "url", NULL), "https://pay.example/x");
    cJSON_Delete(b);
    assert_int_equal(f->slept.n, 0);
}

static void test_edit_answer_photo_copy(void **state)
{
    fixture *f = *state;
    ts_error err;
    char seq[256];
    int64_t id = 0;
    assert_int_equal(ts_tg_edit_message_text(f->tg, 42, 7, "edited", NULL, &err), 0);
    assert_int_equal(ts_tg_answer_callback_query(f->tg, "cbq-1", "done", 1, &err), 0);
    assert_int_equal(ts_tg_send_photo(f->tg, -100, "FILEID", "receipt C2C1", NULL, &id, &err), 0);
    assert_true(id > 0);
    assert_int_equal(ts_tg_copy_message(f->tg, -100, 42, 9, "from user 42", NULL, &id, &err), 0);
    assert_string_equal(fake_telegram_sequence(f->ft, seq, sizeof seq),
                        "editMessageText,answerCallbackQuery,sendPhoto,copyMessage");

    cJSON *e = fake_telegram_body(f->ft, "editMessageText", NULL, 0);
    assert_int_equal((int)cJSON_GetObjectItem(e, "message_id")->valuedouble, 7);
    assert_string_equal(str_at(e, "text", NULL), "edited");
    cJSON_Delete(e);
    cJSON *a = fake_telegram_body(f->ft, "answerCallbackQuery", NULL, 0);
    assert_string_equal(str_at(a, "callback_query_id", NULL), "cbq-1");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(a, "show_alert")));
    cJSON_Delete(a);
    cJSON *p = fake_telegram_body(f->ft, "sendPhoto", NULL, 0);
    assert_string_equal(str_at(p, "photo", NULL), "FILEID");
    assert_string_equal(str_at(p, "caption", NULL), "receipt C2C1");
    cJSON_Delete(p);
    cJSON *c = fake_telegram_body(f->ft, "copyMessage", NULL, 0);
    assert_int_equal((int)cJSON_GetObjectItem(c, "from_chat_id")->valuedouble, 42);
    cJSON_Delete(c);
}

static void test_retries_5xx(void **state)
{
    fixture *f = *state;
    ts_error err;
    fake_telegram_fail(f->ft, NULL, "sendMessage", 502, 0, 2);
    assert_int_equal(ts_tg_send_message(f->tg, 1, "x", NULL, NULL, &err), 0);
    assert_int_equal(fake_telegram_count(f->ft, "sendMessage", NULL), 3);
    /* exponential: 250 then 500 ms (the defaults) */
    assert_int_equal(f->slept.n, 2);
    assert_int_equal(f->slept.ms[0], 250);
    assert_int_equal(f->slept.ms[1], 500);
}

static void test_5xx_bounded(void **state)
{
    fixture *f = *state;
    ts_error err;
    fake_telegram_fail(f->ft, NULL, "sendMessage", 500, 0, 100);
    assert_int_equal(ts_tg_send_message(f->tg, 1, "x", NULL, NULL, &err), -1);
    assert_int_equal(fake_telegram_count(f->ft, "sendMessage", NULL), 4);
    assert_int_equal(err.code, TS_E_CONN);
    assert_non_null(strstr(err.msg, "Injected failure 500"));
    assert_non_null(strstr(err.msg, "after 4 attempts"));
    assert_non_null(strstr(err.msg, "123456:****"));
    assert_null(strstr(err.msg, "secret"));
}

static void test_429_retry_after(void **state)
{
    fixture *f = *state;
    ts_error err;
    fake_telegram_fail(f->ft, TOKEN, "sendMessage", 429, 3, 1);
    assert_int_equal(ts_tg_send_message(f->tg, 1, "x", NULL, NULL, &err), 0);
    assert_int_equal(fake_telegram_count(f->ft, "sendMessage", NULL), 2);
    assert_int_equal(f->slept.n, 1);
    assert_int_equal(f->slept.ms[0], 3000);   /* what Telegram asked, not the backoff */
}

static void test_429_too_long_fails_fast(void **state)
{
    fixture *f = *state;
    ts_error err;
    fake_telegram_fail(f->ft, TOKEN, "sendMessage", 429, 3600, 1);
    assert_int_equal(ts_tg_send_message(f->tg, 1, "x", NULL, NULL, &err), -1);
    assert_int_equal(err.code, TS_E_BUSY);
    assert_true(ts_error_retryable(&err));
    assert_non_null(strstr(err.msg, "retry after 3600"));
    assert_int_equal(fake_telegram_count(f->ft, "sendMessage", NULL), 1);
    assert_int_equal(f->slept.n, 0);
}

static void test_4xx_not_retried(void **state)
{
    fixture *f = *state;
    ts_error err;
    fake_telegram_fail(f->ft, NULL, "sendMessage", 400, 0, 1);
    assert_int_equal(ts_tg_send_message(f->tg, 1, "x", NULL, NULL, &err), -1);
    assert_int_equal(err.code, TS_E_INVALID);
    assert_non_null(strstr(err.msg, "Telegram error 400: Injected failure 400"));
    assert_int_equal(fake_telegram_count(f->ft, "sendMessage", NULL), 1);
}

static void test_bad_keyboard_not_sent(void **state)
{
    fixture *f = *state;
    ts_error err;
    ts_kb kb = {0};
    char data[80];
    memset(data, 'x', sizeof data - 1);
    data[sizeof data - 1] = '\0';
    ts_kb_button(&kb, "ok", "fine");
    ts_kb_button(&kb, "too long", data);
    assert_int_equal(ts_tg_send_message(f->tg, 1, "x", &kb, NULL, &err), -1);
    assert_int_equal(err.code, TS_E_INVALID);
    assert_non_null(strstr(err.msg, "\"too long\": callback data longer than 64 bytes"));
    assert_int_equal(fake_telegram_count(f->ft, NULL, NULL), 0);
    ts_kb_free(&kb);
}

static void test_token_checked_and_redacted(void **state)
{
    (void)state;
    ts_error err;
    ts_tg *tg;
    assert_int_equal(ts_tg_open(NULL, "123:abc/../x", NULL, &tg, &err), -1);
    assert_int_equal(err.code, TS_E_USAGE);
    assert_int_equal(ts_tg_open(NULL, "nodigits:secretsecret", NULL, &tg, &err), -1);
    assert_null(strstr(err.msg, "secretsecret"));
    assert_true(ts_tg_token_valid(TOKEN));
    char url[TS_TG_URL_MAX];
    assert_int_equal(ts_tg_method_url("http://h:1/", "1:a", "getMe", url, sizeof url), 0);
    assert_string_equal(url, "http://h:1/bot1:a/getMe");
}

static void test_network_error(void **state)
{
    fixture *f = *state;
    ts_error err;
    ts_tg *tg;
    /* port 1 on loopback: nothing listens there */
    ts_httpc_opts o = {.max_attempts = 3, .sleep_ms = record_sleep, .sleep_arg = &f->slept};
    assert_int_equal(ts_tg_open("http://127.0.0.1:1", TOKEN, &o, &tg, &err), 0);
    assert_int_equal(ts_tg_send_message(tg, 1, "x", NULL, NULL, &err), -1);
    assert_int_equal(err.code, TS_E_CONN);
    assert_non_null(strstr(err.msg, "gave up after 3 attempts"));
    assert_null(strstr(err.msg, "secret"));
    assert_int_equal(f->slept.n, 2);
    ts_tg_close(tg);
}

static void test_get_updates_offset(void **state)
{
    fixture *f = *state;
    ts_error err;
    cJSON *u;
    int64_t a = fake_telegram_push(f->ft, TOKEN, "{\"message\":{\"text\":\"a\"}}");
    int64_t b = fake_telegram_push(f->ft, TOKEN, "{\"message\":{\"text\":\"b\"}}");
    assert_int_equal(b, a + 1);
    assert_int_equal(ts_tg_get_updates(f->tg, 0, 0, 0, &u, &err), 0);
    assert_int_equal(cJSON_GetArraySize(u), 2);
    cJSON_Delete(u);
    assert_int_equal(ts_tg_get_updates(f->tg, b, 0, 0, &u, &err), 0);
    assert_int_equal(cJSON_GetArraySize(u), 1);
    cJSON_Delete(u);
    assert_int_equal(fake_telegram_pending(f->ft, TOKEN), 1);
    cJSON *body = fake_telegram_body(f->ft, "getUpdates", NULL, -1);
    assert_int_equal((int)cJSON_GetObjectItem(body, "offset")->valuedouble, (int)b);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(body, "allowed_updates")), 2);
    cJSON_Delete(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_send_with_keyboard, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edit_answer_photo_copy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retries_5xx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_5xx_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_429_retry_after, setup, teardown),
        cmocka_unit_test_setup_teardown(test_429_too_long_fails_fast, setup, teardown),
        cmocka_unit_test_setup_teardown(test_4xx_not_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_keyboard_not_sent, setup, teardown),
        cmocka_unit_test(test_token_checked_and_redacted),
        cmocka_unit_test_setup_teardown(test_network_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_updates_offset, setup, teardown),
    };
    return cmocka_run_group_tests_name("runtime_tg", tests, NULL, NULL);
}
