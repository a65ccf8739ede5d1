/* test_runtime_update.c: reading updates; malformed ones are refused with a reason, never fatal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_buf.h"
#include "ts_update.h"

#define FROM "\"from\":{\"id\":42,\"is_bot\":false,\"first_name\":\"Ali\",\"last_name\":\"رضایی\"," \
             "\"username\":\"ali\",\"language_code\":\"fa\"}"
#define CHAT "\"chat\":{\"id\":42,\"type\":\"private\"}"

static int parse(const char *json, ts_update *u, ts_error *err)
{
    return ts_update_parse_text(json, strlen(json), u, err);
}

static void test_text_message(void **state)
{
    (void)state;
    ts_update u;
    ts_error err;
    assert_int_equal(parse("{\"update_id\":7,\"message\":{\"message_id\":3," FROM "," CHAT
                           ",\"text\":\"/start@my_bot REF123\"}}", &u, &err), 0);
    assert_int_equal(u.update_id, 7);
    assert_int_equal(u.kind, TS_UPDATE_MESSAGE);
    assert_int_equal(u.from.id, 42);
    assert_string_equal(u.from.username, "ali");
    assert_string_equal(u.from.first_name, "Ali");
    assert_string_equal(u.from.last_name, "رضایی");
    assert_string_equal(u.from.language, "fa");
    assert_int_equal(u.chat_id, 42);
    assert_int_equal(u.message_id, 3);
    assert_string_equal(u.text, "/start@my_bot REF123");
    assert_string_equal(u.command, "start");
    assert_string_equal(u.args, "REF123");
    ts_update_free(&u);
}

static void test_photo_with_caption(void **state)
{
    (void)state;
    ts_update u;
    ts_error err;
    assert_int_equal(parse("{\"update_id\":8,\"message\":{\"message_id\":4," FROM "," CHAT
                           ",\"photo\":[{\"file_id\":\"small\"},{\"file_id\":\"BIG\"}],"
                           "\"caption\":\"receipt 500000\"}}", &u, &err), 0);
    assert_string_equal(u.photo, "BIG");
    assert_string_equal(u.text, "receipt 500000");
    assert_string_equal(u.command, "");
    ts_update_free(&u);
}

static void test_callback(void **state)
{
    (void)state;
    ts_update u;
    ts_error err;
    assert_int_equal(parse("{\"update_id\":9,\"callback_query\":{\"id\":\"cb1\"," FROM
                           ",\"message\":{\"message_id\":5," CHAT "},\"data\":\"buy:12\"}}",
                           &u, &err), 0);
    assert_int_equal(u.kind, TS_UPDATE_CALLBACK);
    assert_string_equal(u.callback_id, "cb1");
    assert_int_equal(u.cb.action, TS_CB_BUY);
    assert_int_equal(u.cb.num, 12);
    assert_int_equal(u.message_id, 5);
    assert_int_equal(u.chat_id, 42);
    assert_null(u.text);
    ts_update_free(&u);
}

static void expect_bad(const char *json, int64_t update_id, const char *why)
{
    ts_update u;
    ts_error err;
    if (parse(json, &u, &err) != -1)
        fail_msg("accepted: %s", json);
    assert_int_equal(err.code, TS_E_INVALID);
    if (strstr(err.msg, why) == NULL)
        fail_msg("error \"%s\" does not say \"%s\"", err.msg, why);
    assert_int_equal(u.update_id, update_id);
    ts_update_free(&u);
}

static void test_malformed(void **state)
{
    (void)state;
    expect_bad("{\"update_id\":1,\"message\":", -1, "not valid JSON");
    expect_bad("[1,2]", -1, "not a JSON object");
    expect_bad("{\"message\":{}}", -1, "update.update_id is missing");
    expect_bad("{\"update_id\":1.5}", -1, "not an integer");
    expect_bad("{\"update_id\":2,\"message\":{\"message_id\":1," FROM "}}", 2,
               "message.chat is missing");
    expect_bad("{\"update_id\":3,\"message\":{\"message_id\":1," CHAT "}}", 3,
               "message.from is missing");
    expect_bad("{\"update_id\":4,\"message\":{\"message_id\":1," FROM "," CHAT
               ",\"text\":17}}", 4, "message.text is not a string");
    expect_bad("{\"update_id\":5,\"edited_message\":{}}", 5,
               "update type \"edited_message\" is not served");
    expect_bad("{\"update_id\":6,\"message\":{\"message_id\":1," FROM "," CHAT
               ",\"photo\":[]}}", 6, "message.photo");
}

/* Ids from 2^53 on cannot be told apart as doubles: refused, never rounded. */
static void test_big_ids(void **state)
{
    (void)state;
    ts_update u;
    ts_error err;
    assert_int_equal(parse("{\"update_id\":9,\"message\":{\"message_id\":1,\"from\":{\"id\":"
                           "9007199254740991,\"first_name\":\"A\"}," CHAT ",\"text\":\"hi\"}}",
                           &u, &err), 0);
    assert_int_equal(u.from.id, INT64_C(9007199254740991));
    ts_update_free(&u);
    expect_bad("{\"update_id\":10,\"message\":{\"message_id\":1,\"from\":{\"id\":"
               "9007199254740993,\"first_name\":\"A\"}," CHAT ",\"text\":\"hi\"}}", 10,
               "message.from.id is at least 2^53 in magnitude (read as 9007199254740992)");
    expect_bad("{\"update_id\":11,\"message\":{\"message_id\":1,\"from\":{\"id\":"
               "9007199254740992,\"first_name\":\"A\"}," CHAT ",\"text\":\"hi\"}}", 11,
               "cannot be read exactly");
    expect_bad("{\"update_id\":12,\"message\":{\"message_id\":1," FROM ",\"chat\":{\"id\":"
               "-9007199254740993}}}", 12, "message.chat.id is at least 2^53");
}

/* A getUpdates body one update of which cJSON cannot read: the others are read,
   the bad ones stand in with their update_id and are refused naming it. */
static void test_salvage(void **state)
{
    (void)state;
    ts_buf b = {0};
    ts_update u;
    ts_error err;
    const char *good = "{\"update_id\":%d,\"message\":{\"message_id\":1," FROM "," CHAT
                       ",\"text\":\"a \\\"quoted]\\\" }{ text\"}}";
    ts_buf_puts(&b, "{\"ok\":true,\"result\":[");
    ts_buf_printf(&b, good, 20);
    ts_buf_puts(&b, ",{\"update_id\":21,\"message\":{\"message_id\":1," FROM "," CHAT
                    ",\"text\":\"\\ud800\"}},");
    ts_buf_puts(&b, "{\"update_id\":22,\"message\":{\"x\":");   /* nested 3000 deep */
    for (int i = 0; i < 3000; i++)
        ts_buf_puts(&b, "[");
    for (int i = 0; i < 3000; i++)
        ts_buf_puts(&b, "]");
    ts_buf_puts(&b, "}}, ");
    ts_buf_printf(&b, good, 23);
    ts_buf_puts(&b, ", {\"no_id\":\"\\udc00\"}]}");
    assert_null(cJSON_ParseWithLength(b.s, b.len));   /* the whole body does not parse */

    cJSON *a = ts_updates_salvage(b.s, b.len);
    assert_non_null(a);
    assert_int_equal(cJSON_GetArraySize(a), 4);   /* the element without an id is left out */
    static const int ids[] = {20, 21, 22, 23}, ok[] = {1, 0, 0, 1};
    for (int i = 0; i < 4; i++) {
        int rc = ts_update_parse(cJSON_GetArrayItem(a, i), &u, &err);
        assert_int_equal(u.update_id, ids[i]);
        assert_int_equal(rc, ok[i] ? 0 : -1);
        if (ok[i])
            assert_string_equal(u.text, "a \"quoted]\" }{ text");
        else if (strstr(err.msg, "could not be read") == NULL)
            fail_msg("unexpected reason: %s", err.msg);
        ts_update_free(&u);
    }
    cJSON_Delete(a);

    /* cut short, garbled, not ok, no list: not taken apart */
    static const char *const refused[] = {
        "{\"ok\":true,\"result\":[{\"update_id\":1,\"message\":{", "{this is not json",
        "{\"ok\":false,\"result\":[]}", "{\"ok\":true,\"result\":{}}", "", "[]"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        assert_null(ts_updates_salvage(refused[i], strlen(refused[i])));
    ts_buf_free(&b);
}

static void test_huge_text(void **state)
{
    (void)state;
    ts_buf b = {0};
    ts_update u;
    ts_error err;
    ts_buf_puts(&b, "{\"update_id\":10,\"message\":{\"message_id\":1," FROM "," CHAT ",\"text\":\"");
    size_t head = b.len;
    for (int i = 0; i < 4096; i++)
        ts_buf_puts(&b, "x");
    ts_buf_puts(&b, "\"}}");
    assert_int_equal(ts_update_parse_text(b.s, b.len, &u, &err), 0);   /* exactly the limit */
    ts_update_free(&u);
    b.len = head;
    for (int i = 0; i < 4097; i++)
        ts_buf_puts(&b, "x");
    ts_buf_puts(&b, "\"}}");
    assert_int_equal(ts_update_parse_text(b.s, b.len, &u, &err), -1);
    assert_non_null(strstr(err.msg, "message.text is longer than Telegram allows (4096"));
    assert_int_equal(u.update_id, 10);
    ts_update_free(&u);
    /* 2100 emoji are 4200 UTF-16 units: over, though fewer than 4096 code points */
    b.len = head;
    for (int i = 0; i < 2100; i++)
        ts_buf_puts(&b, "\xF0\x9F\x98\x80");
    ts_buf_puts(&b, "\"}}");
    assert_int_equal(ts_update_parse_text(b.s, b.len, &u, &err), -1);
    ts_update_free(&u);
    ts_buf_free(&b);
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    expect_bad("{\"update_id\":11,\"message\":{\"message_id\":1," FROM "," CHAT
               ",\"text\":\"bad \xC3\x28 byte\"}}", 11, "message.text is not valid UTF-8");
    expect_bad("{\"update_id\":12,\"message\":{\"message_id\":1,\"from\":{\"id\":1,"
               "\"first_name\":\"\xED\xA0\x80\"}," CHAT ",\"text\":\"hi\"}}", 12,
               "message.from.first_name is not valid UTF-8");
}

static void test_unknown_callback(void **state)
{
    (void)state;
    ts_update u;
    ts_error err;
    const char *cases[] = {"drop_tables", "buy", "buy:12x", "menu:1", "lang:f a", "buy:99999999999999999999"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char json[512];
        snprintf(json, sizeof json,
                 "{\"update_id\":13,\"callback_query\":{\"id\":\"cbX\"," FROM
                 ",\"message\":{\"message_id\":5," CHAT "},\"data\":\"%s\"}}", cases[i]);
        if (parse(json, &u, &err) != -1)
            fail_msg("callback data \"%s\" accepted", cases[i]);
        assert_non_null(strstr(err.msg, "callback data"));
        /* enough is kept to acknowledge the update and stop the spinner */
        assert_int_equal(u.kind, TS_UPDATE_CALLBACK);
        assert_string_equal(u.callback_id, "cbX");
        ts_update_free(&u);
    }
}

static void test_cb_round_trip(void **state)
{
    (void)state;
    ts_error err;
    char out[65];
    for (int a = 0; a < TS_CB__COUNT; a++) {
        ts_cb cb = {.action = (ts_cb_action)a, .num = -77}, back;
        snprintf(cb.word, sizeof cb.word, "en");
        assert_int_equal(ts_cb_parse(ts_cb_format(&cb, out, sizeof out), &back, &err), 0);
        assert_int_equal(back.action, a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_message),   cmocka_unit_test(test_photo_with_caption),
        cmocka_unit_test(test_callback),       cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_huge_text),      cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_unknown_callback), cmocka_unit_test(test_cb_round_trip),
        cmocka_unit_test(test_big_ids),        cmocka_unit_test(test_salvage),
    };
    return cmocka_run_group_tests_name("runtime_update", tests, NULL, NULL);
}
