/*
 * test_e2e_robust.c: the real handler stack under the conditions a live bot
 * meets: two bots in one process with isolated data and a bot deactivated at
 * runtime; a crash after the commit and before the offset advanced (the
 * redelivered update changes nothing); 429 from Telegram; malformed updates;
 * the flag cache invalidated by a flag set through the bot and by a stage
 * change; /stats counts and the journal gauge of /metrics; group commit (a
 * poll's updates in one unit of work, a failing one sending them one by one).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_e2e.h"

#define T TS_TEST_MASTER_TOKEN
#define TENANT "2000:TENANT-token"
#define USER 101

/* A unit of work on a second shim (another process, an operator). */
static void side_flag(e2e *e, const char *key, int on)
{
    ts_shim *sh;
    ts_tx *tx;
    ts_error err;
    ts_shim_config sc = {.legacy_url = e->pair.legacy.url, .new_url = e->pair.nw.url,
                         .program = "operator"};
    ts_ctx ctx = {1, 1};
    e2e_check(ts_shim_open(&sc, &sh, &err), &err, "operator shim");
    e2e_check(ts_shim_begin(sh, &ctx, &tx, &err), &err, "begin");
    e2e_check(ts_repo_flag_set(tx, key, on, NULL, &err), &err, "flag");
    e2e_check(ts_tx_commit(tx, &err), &err, "commit");
    ts_shim_close(sh);
}

static void side_bot_active(e2e *e, int64_t bot, int on)
{
    ts_shim *sh;
    ts_tx *tx;
    ts_error err;
    ts_shim_config sc = {.legacy_url = e->pair.legacy.url, .new_url = e->pair.nw.url,
                         .program = "operator"};
    ts_ctx ctx = {1, 1};
    e2e_check(ts_shim_open(&sc, &sh, &err), &err, "operator shim");
    e2e_check(ts_shim_begin(sh, &ctx, &tx, &err), &err, "begin");
    assert_int_equal(ts_repo_bot_set_active(tx, bot, on, &err), 1);
    e2e_check(ts_tx_commit(tx, &err), &err, "commit");
    ts_shim_close(sh);
}

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
    ts_buf_add(arg, p, size * n);
    return size * n;
}

/* GET the bot's /metrics into out. */
static void metrics(e2e *e, ts_buf *out)
{
    char url[96];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", ts_bot_http_port(e->bot));
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_cleanup(c);
}

static int has_text(e2e *e, const char *needle)
{
    ts_buf t = {0};
    e2e_transcript(e, &t);
    int found = t.s != NULL && strstr(t.s, needle) != NULL;
    ts_buf_free(&t);
    return found;
}

static void test_two_bots_isolated(void **state)
{
    (void)state;
    e2e e;
    ts_error err;
    ts_tx *tx;
    int64_t tenant;
    char api[TS_REPO_API_TOKEN_SIZE];
    if (e2e_multibot_pair(&e) != 0)
        skip();
    e2e_open_shim(&e);
    ts_ctx master = ts_shim_master(e.sh);
    e2e_check(ts_shim_begin(e.sh, &master, &tx, &err), &err, "begin");
    ts_bot_new nb = {"tenant", TENANT, "en", 9100};
    e2e_check(ts_repo_bot_create(tx, &nb, &tenant, api, &err), &err, "tenant bot");
    e2e_check(ts_tx_commit(tx, &err), &err, "commit");
    e2e_seed(&e, 1, "BONUS");
    e2e_seed(&e, tenant, "TENANTBONUS");
    e2e_start(&e);
    /* the same Telegram user on both bots: two users, two balances */
    e2e_text(&e, T, USER, "en", "/start");
    e2e_text(&e, TENANT, USER, "en", "/start");
    e2e_text(&e, TENANT, USER, "en", "/promo TENANTBONUS");
    e2e_text(&e, T, USER, "en", "/promo TENANTBONUS");      /* not the master's code */
    assert_true(has_text(&e, "Promo code applied: 20,000"));
    assert_true(has_text(&e, "This promo code does not exist."));
    e2e_button(&e, TENANT, USER, "en", "c2c:100000");
    e2e_text(&e, TENANT, USER, "en", "photo:tenant-receipt");
    /* the master's admin cannot approve the tenant's payment, the tenant's can */
    int64_t pid = ts_test_int(e.pair.nw.url, "SELECT id FROM card_to_card_payments");
    char data[32];
    snprintf(data, sizeof data, "approve:%lld", (long long)pid);
    e2e_button(&e, T, E2E_ADMIN, "en", data);
    assert_int_equal(ts_test_int(e.pair.nw.url, "SELECT count(*) FROM card_to_card_payments "
                                                "WHERE status = 'pending'"), 1);
    e2e_button(&e, TENANT, 9100, "en", data);
    assert_true(has_text(&e, "approved: 100,000 added. Balance: 120,000."));
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT balance_kopeks FROM users WHERE bot_id = %lld", (long long)tenant);
    assert_int_equal(ts_test_int(e.pair.nw.url, sql), 120000);
    assert_int_equal(ts_test_int(e.pair.nw.url, "SELECT balance_kopeks FROM users WHERE bot_id = 1"), 0);
    /* legacy holds the master's users only (the user and the master's admin) */
    assert_int_equal(ts_test_int(e.pair.legacy.url, "SELECT count(*) FROM users"), 2);
    assert_int_equal(ts_test_int(e.pair.nw.url, "SELECT count(*) FROM users"), 4);
    /* deactivated: no longer polled, within the refresh interval */
    side_bot_active(&e, tenant, 0);
    e2e_sleep_ms(1600);
    fake_telegram_push(e.ft, TENANT, "{\"message\":{\"message_id\":5,\"from\":{\"id\":101,"
                                     "\"first_name\":\"U\"},\"chat\":{\"id\":101,\"type\":\"private\"},"
                                     "\"text\":\"/balance\"}}");
    e2e_sleep_ms(800);
    assert_int_equal(fake_telegram_pending(e.ft, TENANT), 1);
    /* active again: the queued update is served */
    side_bot_active(&e, tenant, 1);
    e2e_drain(&e, TENANT);
    assert_true(has_text(&e, "Your balance: 120,000."));
    e2e_close(&e);
}

/* One update through the app's handler, as a process that then dies. */
static void handle_once(e2e *e, ts_app *app, const char *json, int *nreplies)
{
    ts_update u;
    ts_error err;
    ts_replies r = {0};
    ts_bot_hooks h = ts_app_hooks(app);
    const ts_bot_info *bots;
    int n;
    assert_int_equal(h.list_bots(h.arg, &bots, &n, &err), 0);   /* the served set */
    ts_bot_ctx ctx = {.bot_id = 1, .is_master = 1, .admin_chat_id = E2E_ADMIN,
                      .language = TS_LANG_EN, .name = "1000:****"};
    assert_int_equal(ts_update_parse_text(json, strlen(json), &u, &err), 0);
    assert_int_equal(h.handler.handle(h.handler.arg, &ctx, &u, &r, &err), 0);
    *nreplies = r.n;
    ts_replies_free(&r);
    ts_update_free(&u);
    (void)e;
}

static void test_crash_after_commit_redelivery(void **state)
{
    (void)state;
    e2e e;
    ts_error err;
    ts_app *dead;
    int n;
    if (e2e_pair(&e, TS_PAIR_SQLITE, "dual_write") != 0)
        skip();
    e2e_open_shim(&e);
    e2e_seed(&e, 1, "BONUS");
    e2e_current = &e;
    assert_int_equal(ts_config_load(NULL, e2e_env, &e.cfg, &err), 0);
    const char *start = "{\"update_id\":7001,\"message\":{\"message_id\":1,\"from\":{\"id\":101,"
                        "\"first_name\":\"U\",\"language_code\":\"en\"},\"chat\":{\"id\":101,"
                        "\"type\":\"private\"},\"text\":\"/start\"}}";
    const char *promo = "{\"update_id\":7002,\"message\":{\"message_id\":2,\"from\":{\"id\":101,"
                        "\"first_name\":\"U\",\"language_code\":\"en\"},\"chat\":{\"id\":101,"
                        "\"type\":\"private\"},\"text\":\"/promo BONUS\"}}";
    /* the first process commits both updates, then dies before confirming
       their offsets: Telegram still holds them */
    e2e_check(ts_app_open(&e.cfg, e.sh, NULL, &dead, &err), &err, "app");
    handle_once(&e, dead, start, &n);
    assert_int_equal(n, 2);   /* welcome, trial */
    handle_once(&e, dead, promo, &n);
    assert_int_equal(n, 1);
    ts_app_close(dead);
    ts_config_free(&e.cfg);
    fake_telegram_push(e.ft, T, start);
    fake_telegram_push(e.ft, T, promo);
    /* the restarted process gets them again: nothing changes, nothing is sent */
    e2e_start(&e);
    e2e_drain(&e, T);
    assert_int_equal(fake_telegram_count(e.ft, "sendMessage", NULL), 0);
    e2e_button(&e, T, 101, "en", "balance");
    assert_true(has_text(&e, "Your balance: 20,000."));
    e2e_stop(&e);
    assert_int_equal(ts_test_int(e.pair.legacy.url, "SELECT count(*) FROM promocode_uses"), 1);
    assert_int_equal(ts_test_int(e.pair.nw.url, "SELECT count(*) FROM promocode_uses"), 1);
    assert_int_equal(ts_test_int(e.pair.legacy.url, "SELECT count(*) FROM ts_processed_updates"), 3);
    e2e_close(&e);
}

static void test_429_and_malformed(void **state)
{
    (void)state;
    e2e e;
    char big[5300];
    if (e2e_pair(&e, TS_PAIR_SQLITE, "legacy") != 0)
        skip();
    e2e_open_shim(&e);
    e2e_seed(&e, 1, "BONUS");
    e2e_start(&e);
    /* Telegram says "too many requests" to a reply and to a poll: both wait */
    fake_telegram_fail(e.ft, T, "sendMessage", 429, 1, 1);
    e2e_text(&e, T, USER, "en", "/start");
    assert_true(has_text(&e, "Welcome, User!"));
    fake_telegram_fail(e.ft, T, "getUpdates", 429, 1, 1);
    e2e_sleep_ms(300);
    e2e_text(&e, T, USER, "en", "/balance");
    assert_true(has_text(&e, "Your balance: 0."));
    /* a getUpdates answer that is not JSON: the poll fails, backs off, recovers */
    fake_telegram_next_body(e.ft, T, "{\"ok\":true,\"result\":[{not json");
    e2e_text(&e, T, USER, "en", "/menu");
    /* malformed updates: logged and skipped, the next one is served */
    fake_telegram_push_raw(e.ft, T, 901, "{\"update_id\":901,\"message\":{\"chat\":{}}}");
    fake_telegram_push_raw(e.ft, T, 902, "{\"update_id\":902,\"message\":{\"message_id\":1,"
                           "\"from\":{\"id\":101,\"first_name\":\"U\"},\"chat\":{\"id\":101,"
                           "\"type\":\"private\"},\"text\":\"\xC3\x28\"}}");
    int k = snprintf(big, sizeof big, "{\"update_id\":903,\"message\":{\"message_id\":1,\"from\":"
                     "{\"id\":101,\"first_name\":\"U\"},\"chat\":{\"id\":101,\"type\":"
                     "\"private\"},\"text\":\"");
    memset(big + k, 'x', 5000);
    strcpy(big + k + 5000, "\"}}");
    fake_telegram_push_raw(e.ft, T, 903, big);
    fake_telegram_push(e.ft, T, "{\"update_id\":904,\"callback_query\":{\"id\":\"bad\",\"from\":"
                                "{\"id\":101,\"first_name\":\"U\"},\"message\":{\"message_id\":1,"
                                "\"chat\":{\"id\":101,\"type\":\"private\"}},\"data\":\"buy:1;DROP\"}}");
    /* one update cJSON cannot read (a lone surrogate escape, nesting past its
       limit) does not make the batch unreadable; an id past 2^53 is refused */
    fake_telegram_push_raw(e.ft, T, 905, "{\"update_id\":905,\"message\":{\"message_id\":1,"
                           "\"from\":{\"id\":101,\"first_name\":\"U\"},\"chat\":{\"id\":101,"
                           "\"type\":\"private\"},\"text\":\"\\ud800\"}}");
    ts_buf deep = {0};
    ts_buf_puts(&deep, "{\"update_id\":906,\"message\":{\"x\":");
    for (int i = 0; i < 2000; i++)
        ts_buf_puts(&deep, "[");
    for (int i = 0; i < 2000; i++)
        ts_buf_puts(&deep, "]");
    ts_buf_puts(&deep, "}}");
    fake_telegram_push_raw(e.ft, T, 906, deep.s);
    ts_buf_free(&deep);
    fake_telegram_push_raw(e.ft, T, 907, "{\"update_id\":907,\"message\":{\"message_id\":1,"
                           "\"from\":{\"id\":9007199254740993,\"first_name\":\"U\"},\"chat\":"
                           "{\"id\":101,\"type\":\"private\"},\"text\":\"/start\"}}");
    e2e_button(&e, T, USER, "en", "menu");
    assert_true(has_text(&e, "Main menu. Your balance: 0."));
    e2e_stop(&e);
    /* only the served updates were recorded */
    assert_int_equal(ts_test_int(e.pair.legacy.url, "SELECT count(*) FROM ts_processed_updates "
                                                    "WHERE update_id BETWEEN 900 AND 907"), 0);
    assert_int_equal(ts_test_int(e.pair.legacy.url, "SELECT count(*) FROM ts_processed_updates"), 4);
    e2e_close(&e);
}

static void test_flag_cache_invalidation(void **state)
{
    (void)state;
    e2e e;
    if (e2e_pair(&e, TS_PAIR_SQLITE, "legacy") != 0)
        skip();
    e2e_open_shim(&e);
    e2e_seed(&e, 1, "BONUS");
    e2e_start(&e);
    e2e_text(&e, T, USER, "en", "/start");
    e2e_button(&e, T, USER, "en", "promo");
    assert_true(has_text(&e, "Send your promo code."));
    /* set through the bot: seen at once */
    e2e_text(&e, T, E2E_ADMIN, "en", "/flags promo_codes off");
    assert_true(has_text(&e, "promo_codes: off"));
    e2e_button(&e, T, USER, "en", "promo");
    char *t = e2e_last_text(&e, "answerCallbackQuery");
    assert_string_equal(t, "This feature is not available right now.");
    free(t);
    /* set by someone else: the cache (TTL 60 s) still answers ... */
    side_flag(&e, "promo_codes", 1);
    e2e_text(&e, T, USER, "en", "/promo BONUS");
    t = e2e_last_text(&e, "sendMessage");
    assert_string_equal(t, "This feature is not available right now.");
    free(t);
    /* ... until a stage change of 2.4 is seen */
    ts_test_set_stage(e.pair.nw.url, "2.4", "legacy");   /* version + 1 */
    e2e_sleep_ms(800);
    e2e_text(&e, T, USER, "en", "/promo BONUS");
    t = e2e_last_text(&e, "sendMessage");
    assert_string_equal(t, "Promo code applied: 20,000 added to your balance.");
    free(t);
    /* the admin's counts: the user (with a trial) and the admin (without) */
    e2e_text(&e, T, E2E_ADMIN, "en", "/stats");
    t = e2e_last_text(&e, "sendMessage");
    assert_string_equal(t, "Users: 2\nActive subscriptions: 1\nPending receipts: 0");
    free(t);
    /* the journal gauge comes from the shim: nothing pending at legacy */
    ts_buf m = {0};
    metrics(&e, &m);
    assert_non_null(m.s);
    assert_non_null(strstr(m.s, "ts_journal_pending{kind=\"drift\"} 0\n"));
    assert_non_null(strstr(m.s, "ts_journal_pending{kind=\"change\"} 0\n"));
    ts_buf_free(&m);
    e2e_close(&e);
}

/* Queue an update from user for the bot's next poll: a text, or a button when
   text starts with "cb:". */
static void queue(e2e *e, int64_t user, const char *text)
{
    char json[512];
    int cb = strncmp(text, "cb:", 3) == 0;
    snprintf(json, sizeof json,
             "{\"%s\":{%s\"from\":{\"id\":%lld,\"first_name\":\"User\",\"language_code\":"
             "\"en\"},\"message\":{\"message_id\":1,\"chat\":{\"id\":%lld,\"type\":\"private\"}},"
             "\"%s\":\"%s\",\"chat\":{\"id\":%lld,\"type\":\"private\"}}}",
             cb ? "callback_query" : "message", cb ? "\"id\":\"cb\"," : "\"message_id\":2,",
             (long long)user, (long long)user, cb ? "data" : "text", cb ? text + 3 : text,
             (long long)user);
    fake_telegram_push(e->ft, T, json);
}

static void test_group_commit(void **state)
{
    (void)state;
    e2e e;
    if (e2e_pair(&e, TS_PAIR_SQLITE, "legacy") != 0)
        skip();
    e2e_open_shim(&e);
    e2e_seed(&e, 1, "BONUS");
    /* one poll, one unit of work: the promo code typed after the button finds
       the state the button left, though neither was committed yet */
    queue(&e, 101, "/start");
    queue(&e, 101, "cb:promo");
    queue(&e, 101, "BONUS");
    queue(&e, 102, "/start");
    e2e_start(&e);
    e2e_drain(&e, T);
    e2e_stop(&e);
    assert_true(has_text(&e, "Promo code applied: 20,000 added to your balance."));
    assert_int_equal(ts_test_int(e.pair.legacy.url, "SELECT count(*) FROM promocode_uses"), 1);
    assert_int_equal(ts_test_int(e.pair.legacy.url, "SELECT count(*) FROM ts_processed_updates"), 4);
    /* a poison update fails its batch: the updates go one by one, the others
       are served and only the poisoned user gets the error text */
    ts_test_exec(e.pair.legacy.url, "CREATE TRIGGER poison BEFORE INSERT ON users "
                                    "WHEN NEW.telegram_id = 666 BEGIN SELECT RAISE(ABORT, 'poison'); END");
    queue(&e, 103, "/start");
    queue(&e, 666, "/start");
    queue(&e, 104, "/start");
    e2e_start(&e);
    e2e_drain(&e, T);
    e2e_stop(&e);
    assert_true(has_text(&e, "Something went wrong on our side."));
    assert_int_equal(ts_test_int(e.pair.legacy.url, "SELECT count(*) FROM users"), 4);
    assert_int_equal(ts_test_int(e.pair.legacy.url, "SELECT count(*) FROM ts_processed_updates"), 6);
    e2e_close(&e);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_bots_isolated),
        cmocka_unit_test(test_crash_after_commit_redelivery),
        cmocka_unit_test(test_429_and_malformed),
        cmocka_unit_test(test_flag_cache_invalidation),
        cmocka_unit_test(test_group_commit),
    };
    int rc = cmocka_run_group_tests_name("e2e_robust", tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
