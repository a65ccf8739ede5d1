/* test_runtime_text.c: every text in both languages, same placeholders, safe filling. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_text.h"
#include "ts_value.h"

/* The placeholders of a template, sorted, as "a,b,c". */
static void placeholders(const char *t, char *out, size_t n)
{
    char names[16][32];
    int k = 0;
    for (const char *p = strchr(t, '{'); p != NULL && k < 16; p = strchr(p + 1, '{')) {
        const char *close = strchr(p, '}');
        assert_non_null(close);
        assert_true(close - p - 1 > 0 && close - p - 1 < 32);
        snprintf(names[k++], 32, "%.*s", (int)(close - p - 1), p + 1);
    }
    qsort(names, (size_t)k, sizeof names[0], (int (*)(const void *, const void *))strcmp);
    out[0] = '\0';
    for (int i = 0; i < k; i++)
        snprintf(out + strlen(out), n - strlen(out), "%s%s", i ? "," : "", names[i]);
}

static void test_every_key_in_both_languages(void **state)
{
    (void)state;
    for (int i = 0; i < TS_T__COUNT; i++) {
        const char *key = ts_text_key((ts_text_id)i);
        ts_text_id back;
        if (key == NULL || strcmp(key, "?") == 0)
            fail_msg("text %d has no key", i);
        assert_int_equal(strspn(key, "abcdefghijklmnopqrstuvwxyz0123456789_"), strlen(key));
        assert_int_equal(ts_text_find(key, &back), 0);
        assert_int_equal(back, i);   /* keys are unique */
        const char *en = ts_text_template((ts_text_id)i, TS_LANG_EN);
        const char *fa = ts_text_template((ts_text_id)i, TS_LANG_FA);
        if (en[0] == '\0' || fa[0] == '\0')
            fail_msg("text %s is empty in a language", key);
        /* the Persian text has Persian letters, unless it is only placeholders */
        if (strspn(fa, "#{}() :_abcdefghijklmnopqrstuvwxyz") == strlen(fa) &&
            strspn(en, "#{}() :_abcdefghijklmnopqrstuvwxyz") != strlen(en))
            fail_msg("text %s has no Persian version", key);
        assert_true(ts_utf8_valid(fa, strlen(fa)));
        char pe[256], pf[256];
        placeholders(en, pe, sizeof pe);
        placeholders(fa, pf, sizeof pf);
        if (strcmp(pe, pf) != 0)
            fail_msg("text %s: en has {%s}, fa has {%s}", key, pe, pf);
    }
    ts_text_id x;
    assert_int_equal(ts_text_find("no_such_text", &x), -1);
}

static void test_render_safely(void **state)
{
    (void)state;
    ts_buf b = {0};
    ts_error err;
    /* a value that looks like a placeholder or a format stays literal */
    ts_text_arg a[] = {{"name", "{balance} %s%n"}};
    assert_int_equal(ts_text_render(TS_T_WELCOME, TS_LANG_EN, a, 1, &b, &err), 0);
    assert_string_equal(b.s, "Welcome, {balance} %s%n! Choose what you need from the menu below.");
    ts_buf_reset(&b);
    assert_int_equal(ts_text_render(TS_T_BALANCE, TS_LANG_FA,
                                    (ts_text_arg[]){{"balance", "۵۰٬۰۰۰ تومان"}}, 1, &b, &err), 0);
    assert_string_equal(b.s, "موجودی شما: ۵۰٬۰۰۰ تومان.");
    ts_buf_reset(&b);
    assert_int_equal(ts_text_render(TS_T_PURCHASE_OK, TS_LANG_EN, a, 1, &b, &err), -1);
    assert_non_null(strstr(err.msg, "text purchase_ok (en): no value for {"));
    ts_buf_free(&b);
}

static void test_language_choice(void **state)
{
    (void)state;
    assert_int_equal(ts_lang_of("fa"), TS_LANG_FA);
    assert_int_equal(ts_lang_of("fa-IR"), TS_LANG_FA);
    assert_int_equal(ts_lang_of("en-US"), TS_LANG_EN);
    assert_int_equal(ts_lang_of("ru"), TS_LANG_EN);   /* unknown: en */
    assert_int_equal(ts_lang_of("far"), TS_LANG_EN);
    assert_int_equal(ts_lang_of(NULL), TS_LANG_EN);
    assert_string_equal(ts_text_template(TS_T_BTN_BACK, (ts_lang)7), "Back");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_key_in_both_languages),
        cmocka_unit_test(test_render_safely),
        cmocka_unit_test(test_language_choice),
    };
    return cmocka_run_group_tests_name("runtime_text", tests, NULL, NULL);
}
