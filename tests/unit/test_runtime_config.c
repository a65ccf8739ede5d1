/* test_runtime_config.c: config file, environment overrides, one message per bad key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ts_config.h"
#include "ts_schema.h"
#include "ts_schema_def.h"
#include "ts_test.h"

#define GOOD "{\"legacy_url\":\"sqlite:/tmp/l.db\",\"new_url\":\"postgresql://u@h/db?schema=mt\"," \
             "\"bot_token\":\"123:secretTOKEN\",\"http_port\":8081,\"admin_chat_id\":-1001234567890}"

static const char *env_vals[16][2];

static const char *fake_env(const char *name)
{
    for (int i = 0; i < 16 && env_vals[i][0]; i++)
        if (strcmp(env_vals[i][0], name) == 0)
            return env_vals[i][1];
    return NULL;
}

static void set_env(int i, const char *name, const char *value)
{
    env_vals[i][0] = name;
    env_vals[i][1] = value;
    env_vals[i + 1][0] = NULL;
}

static char path[512];

static int setup(void **state)
{
    (void)state;
    ts_test_temp_path(path, sizeof path, "-config.json");
    env_vals[0][0] = NULL;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    return 0;
}

static void write_file(const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_good_file_and_defaults(void **state)
{
    (void)state;
    ts_config c;
    ts_error err;
    write_file(GOOD);
    if (ts_config_load(path, fake_env, &c, &err) != 0)
        fail_msg("%s", err.msg);
    assert_string_equal(c.legacy_url, "sqlite:/tmp/l.db");
    assert_string_equal(c.bot_token, "123:secretTOKEN");
    assert_int_equal(c.http_port, 8081);
    assert_true(c.admin_chat_id == -1001234567890LL);
    assert_int_equal(c.flag_cache_ttl_s, 60);
    assert_int_equal(c.poll_timeout_s, 25);
    assert_string_equal(c.telegram_url, "https://api.telegram.org");
    assert_string_equal(c.default_language, "fa");
    assert_string_equal(c.http_listen, "127.0.0.1");
    assert_string_equal(c.kill_switch_file, "");
    assert_true(c.shadow_fraction == 1.0);
    ts_config_free(&c);
}

static void test_env_overrides(void **state)
{
    (void)state;
    ts_config c;
    ts_error err;
    write_file(GOOD);
    set_env(0, "TS_HTTP_PORT", "9090");
    set_env(1, "TS_TELEGRAM_URL", "http://127.0.0.1:5555");
    set_env(2, "TS_ZARINPAL_MERCHANT", "00000000-0000-0000-0000-000000000000");
    set_env(3, "TS_SHADOW_FRACTION", "0.25");
    assert_int_equal(ts_config_load(path, fake_env, &c, &err), 0);
    assert_int_equal(c.http_port, 9090);
    assert_string_equal(c.telegram_url, "http://127.0.0.1:5555");
    assert_true(c.shadow_fraction == 0.25);
    assert_int_equal(strlen(c.zarinpal_merchant), 36);
    ts_config_free(&c);
    /* environment only, no file */
    set_env(0, "TS_LEGACY_URL", "sqlite::memory:");
    set_env(1, "TS_NEW_URL", "sqlite:/tmp/n.db");
    set_env(2, "TS_BOT_TOKEN", "1:x");
    assert_int_equal(ts_config_load(NULL, fake_env, &c, &err), 0);
    ts_config_free(&c);
}

static void expect(const ts_error *err, const char *what)
{
    if (strstr(err->msg, what) == NULL)
        fail_msg("\"%s\" not in:\n%s", what, err->msg);
}

static void test_every_bad_key_named(void **state)
{
    (void)state;
    ts_config c;
    ts_error err;
    write_file("{\"legacy_url\":\"mysql://x\",\"new_url\":\"sqlite:n.db\","
               "\"bot_token\":\"123:supersecret/../\",\"htp_port\":1,"
               "\"http_port\":70000,\"poll_timeout_s\":\"30\",\"telegram_url\":\"ftp://x\","
               "\"shadow_fraction\":1.5,\"default_language\":\"ru\",\"flag_cache_ttl_s\":1.5,"
               "\"http_listen\":\"localhost\",\"zarinpal_merchant\":\"merchant-secret-id-xyz\"}");
    assert_int_equal(ts_config_load(path, fake_env, &c, &err), -1);
    assert_int_equal(err.code, TS_E_USAGE);
    expect(&err, "11 problems");
    expect(&err, "key \"legacy_url\": \"mysql://x\" is not a store URL");
    expect(&err, "key \"bot_token\": 123:**** is not a bot token");
    expect(&err, "key \"htp_port\": unknown key");
    expect(&err, "key \"http_port\": 70000 is out of range 0..65535");
    expect(&err, "key \"poll_timeout_s\": expected a number, got a string");
    expect(&err, "key \"telegram_url\": \"ftp://x\" is not an http:// or https:// URL");
    expect(&err, "key \"shadow_fraction\": 1.5 is out of range 0..1");
    expect(&err, "key \"default_language\": \"ru\" is not fa|en");
    expect(&err, "key \"flag_cache_ttl_s\": 1.5 is not an integer");
    expect(&err, "key \"http_listen\": \"localhost\" is not an IPv4 or IPv6 address");
    expect(&err, "key \"zarinpal_merchant\": mer**** is not a Zarinpal merchant id");
    assert_null(strstr(err.msg, "supersecret"));
    assert_null(strstr(err.msg, "merchant-secret"));
    ts_config_free(&c);
}

static void test_required_and_env_errors(void **state)
{
    (void)state;
    ts_config c;
    ts_error err;
    write_file("{}");
    set_env(0, "TS_HTTP_PORT", "80a");
    assert_int_equal(ts_config_load(path, fake_env, &c, &err), -1);
    expect(&err, "4 problems");
    expect(&err, "key \"legacy_url\" is required: set it in the file or in TS_LEGACY_URL");
    expect(&err, "key \"bot_token\" is required");
    expect(&err, "environment TS_HTTP_PORT: \"80a\" is not a number");
    ts_config_free(&c);
}

static void test_bad_json_and_missing_file(void **state)
{
    (void)state;
    ts_config c;
    ts_error err;
    write_file("{\n  \"legacy_url\": \"sqlite:x\",\n  oops\n}");
    assert_int_equal(ts_config_load(path, fake_env, &c, &err), -1);
    expect(&err, "not valid JSON near line 3");
    ts_config_free(&c);
    write_file("[1]");
    assert_int_equal(ts_config_load(path, fake_env, &c, &err), -1);
    expect(&err, "one JSON object");
    ts_config_free(&c);
    assert_int_equal(ts_config_load("/nonexistent/ts.json", fake_env, &c, &err), -1);
    assert_int_equal(err.code, TS_E_IO);
    expect(&err, "cannot read config file /nonexistent/ts.json");
    ts_config_free(&c);
}

/* A store URL the shim would refuse at open is refused here already. */
static void test_store_url_checked_like_the_shim(void **state)
{
    (void)state;
    ts_config c;
    ts_error err;
    write_file("{\"legacy_url\":\"sqlite:\",\"new_url\":\"postgresql:///db?schema=bad-name\","
               "\"bot_token\":\"123:secretTOKEN\"}");
    assert_int_equal(ts_config_load(path, fake_env, &c, &err), -1);
    assert_int_equal(err.code, TS_E_USAGE);
    expect(&err, "2 problems");
    expect(&err, "key \"legacy_url\": \"sqlite:\" is not a store URL");
    expect(&err, "key \"new_url\": \"postgresql:///db?schema=bad-name\" is not a store URL");
    ts_config_free(&c);
}

/* bin/ts-bot (or $TS_BOT_BIN) with args; returns its exit code, output in out. */
static int bot(char *out, size_t n, const char *a1, const char *a2)
{
    const char *b = getenv("TS_BOT_BIN");
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "%s %s %s 2>&1", b && *b ? b : "bin/ts-bot", a1, a2);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    out[fread(out, 1, n - 1, p)] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* ts-bot's exit codes (docs/bot.md): 2 for what restarting cannot fix, 1 otherwise. */
static void test_bot_exit_codes(void **state)
{
    (void)state;
    char out[8192], cfg[1800], url[1400];
    write_file("{\"legacy_url\":\"mysql://db/bot\",\"new_url\":\"sqlite::memory:\","
               "\"bot_token\":\"123:secretTOKEN\"}");
    assert_int_equal(bot(out, sizeof out, "--check-config", path), 2);
    assert_non_null(strstr(out, "is not a store URL"));
    assert_int_equal(bot(out, sizeof out, "--config", path), 2);
    assert_int_equal(bot(out, sizeof out, "--frobnicate", ""), 2);
    /* Unreachable: a runtime failure, worth a restart. */
    write_file("{\"legacy_url\":\"postgresql://127.0.0.1:1/bot\",\"new_url\":"
               "\"postgresql://127.0.0.1:1/bot?schema=mt\",\"bot_token\":\"123:secretTOKEN\"}");
    assert_int_equal(bot(out, sizeof out, "--config", path), 1);
    assert_non_null(strstr(out, "cannot connect to PostgreSQL"));
    /* A wrong password: configuration, 2. */
    if (ts_test_pg_auth_url("wr0ngpw", NULL, url, sizeof url) == 0) {
        assert_true(snprintf(cfg, sizeof cfg, "{\"legacy_url\":\"%s\",\"new_url\":\"%s&schema=mt\","
                             "\"bot_token\":\"123:secretTOKEN\"}", url, url) < (int)sizeof cfg);
        write_file(cfg);
        assert_int_equal(bot(out, sizeof out, "--config", path), 2);
        assert_non_null(strstr(out, "password authentication failed"));
        assert_null(strstr(out, "wr0ngpw"));
    }
}

/* ts-bot --check-config on a configuration of these two SQLite files. */
static int check_stores(const char *legacy, const char *fresh, char *out, size_t n)
{
    char cfg[1400];
    snprintf(cfg, sizeof cfg, "{\"legacy_url\":\"sqlite:%s\",\"new_url\":\"sqlite:%s\","
             "\"bot_token\":\"123:secretTOKEN\"}", legacy, fresh);
    write_file(cfg);
    return bot(out, n, "--check-config", path);
}

/* --check-config reads the legacy store's catalog: the real bot's schema
   passes; a store not made yet is said to be unchecked; a legacy table
   without a column ts-bot writes, or with a NOT NULL column it cannot fill,
   is refused with both named. */
static void test_check_config_reads_the_legacy_tables(void **state)
{
    (void)state;
    static char out[65536];
    char db[512], fresh[512], url[600];
    ts_store *s;
    ts_error err;
    ts_test_temp_path(db, sizeof db, ".db");
    ts_test_temp_path(fresh, sizeof fresh, ".db");
    unlink(fresh);
    snprintf(url, sizeof url, "sqlite:%s", db);
    ts_test_load_real_schema(url);

    assert_int_equal(check_stores(db, fresh, out, sizeof out), 0);
    assert_non_null(strstr(out, "the manifest accounts for every table and column"));
    assert_int_equal(access(fresh, F_OK), -1);   /* checking created nothing */

    assert_int_equal(check_stores(fresh, db, out, sizeof out), 0);
    assert_non_null(strstr(out, "does not exist yet"));
    assert_int_equal(access(fresh, F_OK), -1);
    ts_test_remove_db(db);

    /* The real schema without users.last_activity and with a NOT NULL column
       nobody gives a value: both named, though the manifest carries them. */
    const char *at = strstr(ts_real_schema_sqlite, "\tlast_activity DATETIME, \n");
    assert_non_null(at);
    ts_buf b = {0};
    ts_buf_add(&b, ts_real_schema_sqlite, (size_t)(at - ts_real_schema_sqlite));
    ts_buf_puts(&b, "\tvip_level INTEGER NOT NULL, \n");
    ts_buf_puts(&b, at + strlen("\tlast_activity DATETIME, \n"));
    if (ts_store_open(url, &s, &err) || ts_store_script(s, b.s, &err))
        fail_msg("legacy schema: %s", err.msg);
    ts_store_close(s);
    ts_buf_free(&b);
    assert_int_equal(check_stores(db, fresh, out, sizeof out), 2);
    assert_non_null(strstr(out, "2 problems: ts-bot writes column users.last_activity, which the "
                                "legacy store lacks: add the column to the legacy table; ts-bot "
                                "does not set column users.vip_level, which is NOT NULL without "
                                "a default in the legacy store"));
    ts_test_remove_db(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_good_file_and_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_overrides, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_bad_key_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_required_and_env_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_json_and_missing_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_url_checked_like_the_shim, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bot_exit_codes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_config_reads_the_legacy_tables, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name("runtime_config", tests, NULL, NULL);
}
