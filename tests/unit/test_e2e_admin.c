/*
 * test_e2e_admin.c: a bot created with ts-admin (the program, as an operator
 * runs it) while ts-bot runs is served at the next registry refresh, without
 * a restart, and apart from the master bot.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_e2e.h"

#define MASTER TS_TEST_MASTER_TOKEN
#define TENANT "7100:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawC"
#define USER 101

static void test_cli_bot_served_without_restart(void **state)
{
    (void)state;
    e2e e;
    char *out, *err;
    if (e2e_multibot_pair(&e) != 0)
        skip();
    e2e_open_shim(&e);
    e2e_seed(&e, 1, "BONUS");
    e2e_start(&e);
    e2e_text(&e, MASTER, USER, "en", "/start");
    int master_replies = fake_telegram_count(e.ft, "sendMessage", MASTER);
    assert_true(master_replies > 0);

    const char *argv[] = {"bin/ts-admin", "--json", "--legacy", e.pair.legacy.url, "--new",
                          e.pair.nw.url, "bot", "create", "--name", "Shop", "--language", "en",
                          NULL};
    const char *env[] = {"TS_TENANT_TOKEN=" TENANT, NULL};
    assert_int_equal(ts_test_run(argv, env, &out, &err), 0);
    cJSON *j = cJSON_Parse(out);
    int64_t tenant = (int64_t)cJSON_GetObjectItem(j, "id")->valuedouble;
    cJSON_Delete(j);
    free(out);
    free(err);

    /* the running bot picks it up at its next refresh (every second here) */
    e2e_sleep_ms(1500);
    e2e_text(&e, TENANT, USER, "en", "/start");
    assert_true(fake_telegram_wait(e.ft, "sendMessage", TENANT, 1, 5000) >= 1);
    /* isolated: the same Telegram user is a user of each bot, the master's
       unchanged and nothing of the tenant's in legacy */
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM users WHERE bot_id = %lld", (long long)tenant);
    assert_int_equal(ts_test_int(e.pair.nw.url, sql), 1);
    assert_int_equal(ts_test_int(e.pair.nw.url, "SELECT count(*) FROM users WHERE bot_id = 1"), 1);
    assert_int_equal(ts_test_int(e.pair.legacy.url, "SELECT count(*) FROM users"), 1);
    assert_int_equal(fake_telegram_count(e.ft, "sendMessage", MASTER), master_replies);
    e2e_close(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_bot_served_without_restart),
    };
    return cmocka_run_group_tests_name("e2e admin", tests, NULL, NULL);
}
