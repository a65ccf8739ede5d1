/* test_runtime_bot.c: the process core end to end against the fake Bot API (no data). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_telegram.h"
#include "ts_bot.h"

#define TOKEN "4242:botTOKEN"
#define FROM(lang) "\"from\":{\"id\":42,\"first_name\":\"Sara\",\"language_code\":\"" lang "\"}"
#define CHAT "\"chat\":{\"id\":42,\"type\":\"private\"}"

typedef struct fx {
    fake_telegram *ft;
    ts_config cfg;
    ts_bot *bot;
    pthread_t loop;
    volatile sig_atomic_t stop, kill;
    int run_rc;
    int kill_calls, handled, refuse;   /* refuse: retryable failures still to give */
    const char *fail_code;             /* "fatal": a non-retryable failure */
} fx;

static fx *current;
static const char *env(const char *name)
{
    if (strcmp(name, "TS_TELEGRAM_URL") == 0) return fake_telegram_url(current->ft);
    if (strcmp(name, "TS_BOT_TOKEN") == 0) return TOKEN;
    if (strcmp(name, "TS_LEGACY_URL") == 0) return "sqlite::memory:";
    if (strcmp(name, "TS_NEW_URL") == 0) return "sqlite::memory:";
    if (strcmp(name, "TS_HTTP_PORT") == 0) return "0";
    if (strcmp(name, "TS_POLL_TIMEOUT") == 0) return "1";
    return NULL;
}

static void *loop(void *arg)
{
    fx *f = arg;
    ts_error err;
    f->run_rc = ts_bot_run(f->bot, &f->stop, &f->kill, &err);
    return NULL;
}

static void on_kill(void *arg, int on) { ((fx *)arg)->kill_calls += on; }

static int counting(void *arg, const ts_bot_ctx *bot, const ts_update *u, ts_replies *out,
                    ts_error *err)
{
    fx *f = arg;
    if (f->refuse > 0) {
        f->refuse--;
        return ts_fail(err, TS_E_BUSY, "store busy");
    }
    if (f->fail_code != NULL)
        return ts_fail(err, TS_E_INVALID, "broken handler");
    f->handled++;
    ts_replies_send(out, u->chat_id, bot->is_master ? "master" : "tenant", NULL);
    return 0;
}

/* A data-free menu: welcome and the menu keyboard for messages, "not
   available" for buttons; in the user's language. */
static int menu_only(void *arg, const ts_bot_ctx *bot, const ts_update *u, ts_replies *out,
                     ts_error *err)
{
    (void)arg;
    ts_lang lang = u->from.language[0] ? ts_lang_of(u->from.language) : bot->language;
    const ts_text_arg who[] = {{"name", u->from.first_name}};
    ts_buf b = {0};
    ts_kb kb = {0};
    int rc = ts_text_render(u->kind == TS_UPDATE_CALLBACK ? TS_T_NOT_AVAILABLE : TS_T_WELCOME, lang,
                            who, 1, &b, err);
    if (rc == 0 && u->kind == TS_UPDATE_CALLBACK) {
        ts_replies_answer(out, u->callback_id, b.s, 0);
    } else if (rc == 0) {
        for (int i = 0; i < 6; i++) {
            if (i % 2 == 0)
                ts_kb_row(&kb);
            ts_kb_button(&kb, "x", "menu");
        }
        ts_replies_send(out, u->chat_id, b.s, &kb);
    }
    ts_buf_free(&b);
    return rc;
}

/* Each message's text back to its chat. */
static int echo(void *arg, const ts_bot_ctx *bot, const ts_update *u, ts_replies *out,
                ts_error *err)
{
    (void)arg, (void)bot, (void)err;
    ts_replies_send(out, u->chat_id, u->text ? u->text : "", NULL);
    return 0;
}

/* Updates queued before the loop starts come in one batch. */
static const char *const *prepushed;

static int start(void **state, ts_handler h)
{
    fx *f = calloc(1, sizeof *f);
    ts_error err;
    current = f;
    f->ft = fake_telegram_start();
    if (f->ft == NULL || ts_config_load(NULL, env, &f->cfg, &err) != 0)
        return fprintf(stderr, "%s\n", err.msg), -1;
    if (h.handle == counting)
        h.arg = f;
    ts_bot_hooks hooks = {.handler = h, .kill_switch = on_kill, .arg = f};
    if (ts_bot_open(&f->cfg, &hooks, &f->bot, &err) != 0)
        return fprintf(stderr, "%s\n", err.msg), -1;
    for (int i = 0; prepushed != NULL && prepushed[i] != NULL; i++)
        fake_telegram_push(f->ft, TOKEN, prepushed[i]);
    prepushed = NULL;
    pthread_create(&f->loop, NULL, loop, f);
    *state = f;
    return 0;
}

static int setup_demo(void **state) { return start(state, (ts_handler){.handle = menu_only}); }
static int setup_counting(void **state) { return start(state, (ts_handler){.handle = counting}); }

#define ECHO(chat, text) "{\"message\":{\"message_id\":1," FROM("en") ",\"chat\":{\"id\":" #chat \
                         ",\"type\":\"private\"},\"text\":\"" text "\"}}"
static const char *const two_chats[] = {ECHO(42, "a1"), ECHO(43, "b1"), ECHO(42, "a2"),
                                        ECHO(43, "b2"), ECHO(42, "a3"), NULL};

static int setup_echo(void **state)
{
    prepushed = two_chats;
    return start(state, (ts_handler){.handle = echo});
}

static int teardown(void **state)
{
    fx *f = *state;
    f->stop = 1;
    pthread_join(f->loop, NULL);
    int rc = f->run_rc;
    ts_bot_close(f->bot);
    ts_config_free(&f->cfg);
    fake_telegram_stop(f->ft);
    free(f);
    return rc;   /* ts_bot_run returns 0 after a stop */
}

static void test_demo_start_and_menu(void **state)
{
    fx *f = *state;
    fake_telegram_push(f->ft, TOKEN, "{\"message\":{\"message_id\":1," FROM("fa") "," CHAT
                                     ",\"text\":\"/start ref1\"}}");
    assert_int_equal(fake_telegram_wait(f->ft, "sendMessage", TOKEN, 1, 5000), 1);
    cJSON *b = fake_telegram_body(f->ft, "sendMessage", TOKEN, -1);
    assert_string_equal(cJSON_GetObjectItem(b, "text")->valuestring,
                        "Sara عزیز، خوش آمدید! از منوی زیر انتخاب کنید.");
    const cJSON *rows = cJSON_GetObjectItem(cJSON_GetObjectItem(b, "reply_markup"),
                                            "inline_keyboard");
    assert_int_equal(cJSON_GetArraySize(rows), 3);
    cJSON_Delete(b);
    /* a button the demo does not serve: answered "not available" in the user's language */
    fake_telegram_push(f->ft, TOKEN, "{\"callback_query\":{\"id\":\"q1\"," FROM("en-US")
                                     ",\"message\":{\"message_id\":1," CHAT "},\"data\":\"plans\"}}");
    assert_int_equal(fake_telegram_wait(f->ft, "answerCallbackQuery", TOKEN, 1, 5000), 1);
    b = fake_telegram_body(f->ft, "answerCallbackQuery", TOKEN, -1);
    assert_string_equal(cJSON_GetObjectItem(b, "text")->valuestring,
                        "This feature is not available right now.");
    cJSON_Delete(b);
}

static void test_malformed_skipped_not_stalled(void **state)
{
    fx *f = *state;
    char big[5200];
    fake_telegram_push_raw(f->ft, TOKEN, 500, "{\"update_id\":500,\"message\":{\"chat\":{}}}");
    fake_telegram_push_raw(f->ft, TOKEN, 501, "{\"update_id\":501,\"message\":{\"message_id\":1,"
                           FROM("en") "," CHAT ",\"text\":\"\xC3\x28\"}}");
    fake_telegram_push(f->ft, TOKEN, "{\"update_id\":502,\"callback_query\":{\"id\":\"q9\","
                       FROM("en") ",\"message\":{\"message_id\":1," CHAT "},"
                       "\"data\":\"drop_tables\"}}");
    int k = snprintf(big, sizeof big, "{\"update_id\":503,\"message\":{\"message_id\":1," FROM("en")
                     "," CHAT ",\"text\":\"");
    memset(big + k, 'x', 5000);
    strcpy(big + k + 5000, "\"}}");
    fake_telegram_push_raw(f->ft, TOKEN, 503, big);
    fake_telegram_push(f->ft, TOKEN, "{\"update_id\":504,\"message\":{\"message_id\":2,"
                       FROM("en") "," CHAT ",\"text\":\"/menu\"}}");
    /* the good update after four bad ones is served */
    assert_int_equal(fake_telegram_wait(f->ft, "sendMessage", TOKEN, 1, 5000), 1);
    cJSON *b = fake_telegram_body(f->ft, "sendMessage", TOKEN, -1);
    assert_non_null(strstr(cJSON_GetObjectItem(b, "text")->valuestring, "Welcome, Sara"));
    cJSON_Delete(b);
    /* the refused button press still had its spinner stopped, without text */
    b = fake_telegram_body(f->ft, "answerCallbackQuery", TOKEN, -1);
    assert_string_equal(cJSON_GetObjectItem(b, "callback_query_id")->valuestring, "q9");
    assert_null(cJSON_GetObjectItem(b, "text"));
    cJSON_Delete(b);
}

static void test_retryable_failure_redelivers(void **state)
{
    fx *f = *state;
    f->refuse = 2;
    fake_telegram_push(f->ft, TOKEN, "{\"message\":{\"message_id\":1," FROM("en") "," CHAT
                                     ",\"text\":\"hi\"}}");
    assert_int_equal(fake_telegram_wait(f->ft, "sendMessage", TOKEN, 1, 5000), 1);
    assert_int_equal(f->handled, 1);   /* after two refusals, once */
    cJSON *b = fake_telegram_body(f->ft, "sendMessage", TOKEN, -1);
    assert_string_equal(cJSON_GetObjectItem(b, "text")->valuestring, "master");
    cJSON_Delete(b);
}

static void test_fatal_failure_apologizes(void **state)
{
    fx *f = *state;
    f->fail_code = "fatal";
    fake_telegram_push(f->ft, TOKEN, "{\"message\":{\"message_id\":1," FROM("fa") "," CHAT
                                     ",\"text\":\"hi\"}}");
    assert_int_equal(fake_telegram_wait(f->ft, "sendMessage", TOKEN, 1, 5000), 1);
    cJSON *b = fake_telegram_body(f->ft, "sendMessage", TOKEN, -1);
    assert_non_null(strstr(cJSON_GetObjectItem(b, "text")->valuestring, "مشکلی از سمت ما"));
    cJSON_Delete(b);
    /* acknowledged: not handed out again */
    fake_telegram_wait(f->ft, "getUpdates", TOKEN, 4, 3000);
    assert_int_equal(fake_telegram_count(f->ft, "sendMessage", TOKEN), 1);
}

static void test_kill_signal_and_stop_confirms(void **state)
{
    fx *f = *state;
    f->kill = 1;
    int64_t id = fake_telegram_push(f->ft, TOKEN, "{\"message\":{\"message_id\":1," FROM("en")
                                                  "," CHAT ",\"text\":\"hi\"}}");
    assert_int_equal(fake_telegram_wait(f->ft, "sendMessage", TOKEN, 1, 5000), 1);
    f->stop = 1;
    pthread_join(f->loop, NULL);
    assert_int_equal(f->kill_calls, 1);
    assert_int_equal(f->run_rc, 0);
    cJSON *b = fake_telegram_body(f->ft, "getUpdates", TOKEN, -1);
    assert_int_equal((int64_t)cJSON_GetObjectItem(b, "offset")->valuedouble, id + 1);
    cJSON_Delete(b);
    assert_int_equal(fake_telegram_pending(f->ft, TOKEN), 0);
}

/* The texts chat got, in the order Telegram saw them, a retried one once. */
static void chat_texts(fx *f, int64_t chat, char *out, size_t n)
{
    out[0] = '\0';
    for (int i = 0; i < fake_telegram_count(f->ft, "sendMessage", TOKEN); i++) {
        cJSON *b = fake_telegram_body(f->ft, "sendMessage", TOKEN, i);
        const char *t = cJSON_GetObjectItem(b, "text")->valuestring;
        size_t len = strlen(out);
        if ((int64_t)cJSON_GetObjectItem(b, "chat_id")->valuedouble == chat &&
            (len < 2 || strcmp(out + len - 2, t) != 0))
            snprintf(out + len, n - len, "%s", t);
        cJSON_Delete(b);
    }
}

static void test_replies_in_order_per_chat_through_retries(void **state)
{
    fx *f = *state;
    char got[64];
    /* the first two sends fail (5xx, then a 429 that pauses the bot's queue) and are
       retried on the loop; a chat's later replies wait for its earlier ones */
    fake_telegram_fail(f->ft, TOKEN, "sendMessage", 502, 0, 1);
    fake_telegram_fail(f->ft, TOKEN, "sendMessage", 429, 1, 1);
    assert_int_equal(fake_telegram_wait(f->ft, "sendMessage", TOKEN, 7, 10000), 7);
    chat_texts(f, 42, got, sizeof got);
    assert_string_equal(got, "a1a2a3");
    chat_texts(f, 43, got, sizeof got);
    assert_string_equal(got, "b1b2");
    /* the offsets were confirmed after the replies went */
    for (int i = 0; i < 200 && fake_telegram_pending(f->ft, TOKEN) > 0; i++)
        usleep(10000);
    assert_int_equal(fake_telegram_pending(f->ft, TOKEN), 0);
}

static int teardown_joined(void **state)
{
    fx *f = *state;
    int rc = f->run_rc;
    ts_bot_close(f->bot);
    ts_config_free(&f->cfg);
    fake_telegram_stop(f->ft);
    free(f);
    return rc;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_demo_start_and_menu, setup_demo, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_skipped_not_stalled, setup_demo, teardown),
        cmocka_unit_test_setup_teardown(test_retryable_failure_redelivers, setup_counting,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_fatal_failure_apologizes, setup_counting, teardown),
        cmocka_unit_test_setup_teardown(test_kill_signal_and_stop_confirms, setup_counting,
                                        teardown_joined),
        cmocka_unit_test_setup_teardown(test_replies_in_order_per_chat_through_retries,
                                        setup_echo, teardown),
    };
    return cmocka_run_group_tests_name("runtime_bot", tests, NULL, NULL);
}
