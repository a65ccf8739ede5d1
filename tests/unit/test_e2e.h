/*
 * test_e2e.h: the end-to-end harness: a store pair at chosen stages, the real
 * handler stack (ts_app on the shim, in ts_bot's event loop on a thread)
 * against fake Telegram and fake Zarinpal servers, and helpers to drive it one
 * update at a time and read back what the bot said. Include after <cmocka.h>.
 */
#ifndef TEST_E2E_H
#define TEST_E2E_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fake_telegram.h"
#include "fake_zarinpal.h"
#include "ts_app.h"
#include "ts_bot.h"
#include "ts_repo.h"
#include "ts_test.h"

#define E2E_ADMIN 9000
#define E2E_MERCHANT "00000000-0000-0000-0000-000000000001"
#define E2E_PUBLIC "http://bot.example"

typedef struct e2e {
    ts_test_pair pair;
    fake_telegram *ft;
    fake_zarinpal *fz;
    char env_legacy[1100], env_new[1100];
    ts_config cfg;
    ts_shim *sh;
    ts_app *app;
    ts_bot *bot;
    pthread_t loop;
    int running;
    volatile sig_atomic_t stop, kill;
    int run_rc;
    const char *bots_refresh;   /* TS_BOTS_REFRESH; NULL = default */
    const char *reconcile, *reconcile_age;   /* TS_ZARINPAL_RECONCILE(_AGE); NULL = default */
} e2e;

static e2e *e2e_current;
static int e2e_msg_seq;   /* message and callback ids: the same in every run */

static const char *e2e_env(const char *name)
{
    e2e *e = e2e_current;
    if (strcmp(name, "TS_TELEGRAM_URL") == 0) return fake_telegram_url(e->ft);
    if (strcmp(name, "TS_ZARINPAL_URL") == 0) return fake_zarinpal_url(e->fz);
    if (strcmp(name, "TS_ZARINPAL_MERCHANT") == 0) return E2E_MERCHANT;
    if (strcmp(name, "TS_PUBLIC_URL") == 0) return E2E_PUBLIC;
    if (strcmp(name, "TS_BOT_TOKEN") == 0) return TS_TEST_MASTER_TOKEN;
    if (strcmp(name, "TS_LEGACY_URL") == 0) return e->pair.legacy.url;
    if (strcmp(name, "TS_NEW_URL") == 0) return e->pair.nw.url;
    if (strcmp(name, "TS_HTTP_PORT") == 0) return "0";
    if (strcmp(name, "TS_POLL_TIMEOUT") == 0) return "1";
    if (strcmp(name, "TS_ADMIN_CHAT_ID") == 0) return "9000";
    if (strcmp(name, "TS_BOTS_REFRESH") == 0) return e->bots_refresh;
    if (strcmp(name, "TS_ZARINPAL_RECONCILE") == 0) return e->reconcile;
    if (strcmp(name, "TS_ZARINPAL_STALE") == 0) return e->reconcile_age;
    if (strcmp(name, "TS_LOG_LEVEL") == 0) return "error";
    return NULL;
}

/* The data increments, and the stage each gets for a test stage. Zarinpal
   payments have no legacy table: 3.3 is at least expanded (which routes like
   legacy) so the Zarinpal flow has somewhere to live. */
static const char *const e2e_data_incs[] = {"2.1", "2.3", "2.4", "3.2", "3.3"};

static inline int e2e_pair(e2e *e, ts_pair_kind kind, const char *stage)
{
    memset(e, 0, sizeof *e);
    e2e_msg_seq = 1000;
    if (ts_test_pair_make(kind, &e->pair))
        return -1;
    ts_test_set_stage(e->pair.nw.url, "1.1", "expanded");
    for (size_t i = 0; i < sizeof e2e_data_incs / sizeof e2e_data_incs[0]; i++)
        ts_test_set_stage(e->pair.nw.url, e2e_data_incs[i],
                          strcmp(e2e_data_incs[i], "3.3") == 0 && strcmp(stage, "legacy") == 0
                              ? "expanded" : stage);
    return 0;
}

static inline void e2e_check(int rc, const ts_error *err, const char *what)
{
    if (rc < 0)
        fail_msg("%s: %s", what, err->msg);
}

/* Open the shim (and the fakes when not yet started). */
/* A read_new SQLite pair serving every active bot (1.5 and 2.5 on, the bot
   list re-read every second); 0, or 1 when it cannot be made (skip). */
static inline int e2e_multibot_pair(e2e *e)
{
    if (e2e_pair(e, TS_PAIR_SQLITE, "read_new") != 0)
        return 1;
    ts_test_set_stage(e->pair.nw.url, "1.5", "on");
    ts_test_set_stage(e->pair.nw.url, "2.5", "on");
    e->bots_refresh = "1";
    return 0;
}

static inline void e2e_open_shim(e2e *e)
{
    ts_error err;
    ts_shim_config sc = {.legacy_url = e->pair.legacy.url, .new_url = e->pair.nw.url,
                         .program = "test_e2e", .shadow_fraction = 1.0};
    if (e->ft == NULL) {
        e->ft = fake_telegram_start();
        e->fz = fake_zarinpal_start();
        assert_non_null(e->ft);
        assert_non_null(e->fz);
    }
    e2e_check(ts_shim_open(&sc, &e->sh, &err), &err, "shim open");
}

/* Seed a bot's catalogue: two plans, a card, promo codes, flags on. */
static inline void e2e_seed(e2e *e, int64_t bot_id, const char *promo)
{
    ts_error err;
    ts_tx *tx;
    ts_ctx ctx = {bot_id, bot_id == ts_shim_master_bot_id(e->sh)};
    static const char *const flags[] = {"card_to_card", "zarinpal", "promo_codes",
                                        "referral_program", "support_tickets",
                                        "trial_subscription"};
    e2e_check(ts_shim_begin(e->sh, &ctx, &tx, &err), &err, "begin");
    ts_plan p1 = {.name = "Bronze", .period_days = 30, .price_kopeks = 90000,
                  .traffic_limit_gb = 50, .device_limit = 1, .is_active = 1, .sort_order = 1};
    ts_plan p2 = {.name = "Gold", .period_days = 90, .price_kopeks = 250000,
                  .traffic_limit_gb = 200, .device_limit = 3, .is_active = 1, .sort_order = 2};
    int64_t id;
    e2e_check(ts_repo_plan_create(tx, &p1, &id, &err), &err, "plan");
    e2e_check(ts_repo_plan_create(tx, &p2, &id, &err), &err, "plan");
    ts_card_new c = {"6037-9911-2233-4455", "Sara Ahmadi", NULL, 0, 0};
    e2e_check(ts_repo_card_create(tx, &c, &id, &err), &err, "card");
    ts_promocode_new pb = {.code = promo, .type = "balance", .balance_bonus_kopeks = 20000,
                           .max_uses = 100};
    e2e_check(ts_repo_promo_create(tx, &pb, &id, &err), &err, "promo");
    ts_promocode_new pd = {.code = "DAYS7", .type = "subscription_days", .subscription_days = 7,
                           .max_uses = 100};
    e2e_check(ts_repo_promo_create(tx, &pd, &id, &err), &err, "promo");
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        e2e_check(ts_repo_flag_set(tx, flags[i], 1, NULL, &err), &err, flags[i]);
    e2e_check(ts_tx_commit(tx, &err), &err, "commit seed");
}

static void *e2e_loop(void *arg)
{
    e2e *e = arg;
    ts_error err;
    e->run_rc = ts_bot_run(e->bot, &e->stop, &e->kill, &err);
    if (e->run_rc != 0)
        fprintf(stderr, "ts_bot_run: %s\n", err.msg);
    return NULL;
}

/* Start the real stack: config, app, bot, the loop on a thread. */
static inline void e2e_start(e2e *e)
{
    ts_error err;
    static uint64_t seed = 42;
    static const ts_httpc_opts quick = {.max_attempts = 3, .backoff_ms = 10,
                                        .timeout_ms = 5000};
    e2e_current = e;
    if (ts_config_load(NULL, e2e_env, &e->cfg, &err) != 0)
        fail_msg("config: %s", err.msg);
    ts_app_opts o = {.http = &quick, .card_seed = &seed};
    e2e_check(ts_app_open(&e->cfg, e->sh, &o, &e->app, &err), &err, "app open");
    ts_bot_hooks hooks = ts_app_hooks(e->app);
    e2e_check(ts_bot_open(&e->cfg, &hooks, &e->bot, &err), &err, "bot open");
    ts_app_attach(e->app, e->bot);
    e->stop = 0;
    pthread_create(&e->loop, NULL, e2e_loop, e);
    e->running = 1;
}

static inline void e2e_stop(e2e *e)
{
    if (e->running) {
        e->stop = 1;
        pthread_join(e->loop, NULL);
        e->running = 0;
        assert_int_equal(e->run_rc, 0);
    }
    ts_bot_close(e->bot);
    ts_app_close(e->app);
    ts_config_free(&e->cfg);
    e->bot = NULL;
    e->app = NULL;
}

static inline void e2e_close(e2e *e)
{
    e2e_stop(e);
    ts_shim_close(e->sh);
    fake_telegram_stop(e->ft);
    fake_zarinpal_stop(e->fz);
    ts_test_pair_cleanup(&e->pair);
}

static inline void e2e_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* Wait until every update queued for token was handled and acknowledged. */
static inline void e2e_drain(e2e *e, const char *token)
{
    for (int i = 0; i < 2000 && fake_telegram_pending(e->ft, token) > 0; i++)
        e2e_sleep_ms(2);
    assert_int_equal(fake_telegram_pending(e->ft, token), 0);
}


/* A text message from user to the bot; waits until it is handled. */
static inline void e2e_text(e2e *e, const char *token, int64_t user, const char *lang,
                            const char *text)
{
    cJSON *u = cJSON_CreateObject(), *m = cJSON_AddObjectToObject(u, "message");
    cJSON_AddNumberToObject(m, "message_id", e2e_msg_seq++);
    cJSON *from = cJSON_AddObjectToObject(m, "from");
    cJSON_AddNumberToObject(from, "id", (double)user);
    cJSON_AddStringToObject(from, "first_name", user == E2E_ADMIN ? "Admin" : "User");
    cJSON_AddStringToObject(from, "language_code", lang);
    cJSON *chat = cJSON_AddObjectToObject(m, "chat");
    cJSON_AddNumberToObject(chat, "id", (double)user);
    cJSON_AddStringToObject(chat, "type", "private");
    if (strncmp(text, "photo:", 6) == 0) {
        cJSON *ph = cJSON_AddArrayToObject(m, "photo"), *size = cJSON_CreateObject();
        cJSON_AddStringToObject(size, "file_id", text + 6);
        cJSON_AddStringToObject(size, "file_unique_id", "u1");
        cJSON_AddNumberToObject(size, "width", 800);
        cJSON_AddNumberToObject(size, "height", 600);
        cJSON_AddItemToArray(ph, size);
    } else {
        cJSON_AddStringToObject(m, "text", text);
    }
    char *json = cJSON_PrintUnformatted(u);
    fake_telegram_push(e->ft, token, json);
    free(json);
    cJSON_Delete(u);
    e2e_drain(e, token);
}

/* A button press from user on message 1 of their chat. */
static inline void e2e_button(e2e *e, const char *token, int64_t user, const char *lang,
                              const char *data)
{
    char json[1024];
    snprintf(json, sizeof json,
             "{\"callback_query\":{\"id\":\"cb%d\",\"from\":{\"id\":%lld,\"first_name\":\"User\","
             "\"language_code\":\"%s\"},\"message\":{\"message_id\":1,\"chat\":{\"id\":%lld,"
             "\"type\":\"private\"}},\"data\":\"%s\"}}",
             e2e_msg_seq++, (long long)user, lang, (long long)user, data);
    fake_telegram_push(e->ft, token, json);
    e2e_drain(e, token);
}

static size_t e2e_body_write(char *p, size_t size, size_t n, void *arg)
{
    if (arg != NULL)
        ts_buf_add(arg, p, size * n);
    return size * n;
}

/* GET path of the bot's HTTP endpoint, the body into body (NULL: dropped);
   returns the HTTP status (0: no answer). */
static inline long e2e_get_body(e2e *e, const char *path, ts_buf *body)
{
    char url[256];
    long status = 0;
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", ts_bot_http_port(e->bot), path);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, e2e_body_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    return status;
}

static inline long e2e_get(e2e *e, const char *path) { return e2e_get_body(e, path, NULL); }

/* GET the bot's Zarinpal callback, the page into page (NULL: dropped);
   returns the HTTP status. */
static inline long e2e_zarinpal_page(e2e *e, int64_t bot_id, const char *authority, int ok,
                                     ts_buf *page)
{
    char path[192];
    snprintf(path, sizeof path, "/zarinpal/callback/%lld?Authority=%s&Status=%s",
             (long long)bot_id, authority, ok ? "OK" : "NOK");
    return e2e_get_body(e, path, page);
}

static inline long e2e_zarinpal_callback(e2e *e, int64_t bot_id, const char *authority, int ok)
{
    return e2e_zarinpal_page(e, bot_id, authority, ok, NULL);
}

/* Replace every from in b by to. */
static inline void e2e_replace(ts_buf *b, const char *from, const char *to)
{
    ts_buf r = {0};
    const char *p = b->s ? b->s : "", *hit;
    while ((hit = strstr(p, from)) != NULL) {
        ts_buf_add(&r, p, (size_t)(hit - p));
        ts_buf_puts(&r, to);
        p = hit + strlen(from);
    }
    ts_buf_puts(&r, p);
    ts_buf_free(b);
    *b = r;
}

/* Every call the bot made (but getUpdates), in order, one JSON body a line,
   into out; base URLs of the fakes replaced so two runs compare. */
static inline void e2e_transcript(e2e *e, ts_buf *out)
{
    static const char *const methods[] = {"sendMessage", "editMessageText", "answerCallbackQuery",
                                          "sendPhoto", "copyMessage"};
    int nth[5] = {0};
    char *seq = malloc(1 << 20);
    fake_telegram_sequence(e->ft, seq, 1 << 20);
    for (char *m = strtok(seq, ","); m != NULL; m = strtok(NULL, ",")) {
        for (int k = 0; k < 5; k++) {
            if (strcmp(m, methods[k]) != 0)
                continue;
            cJSON *b = fake_telegram_body(e->ft, m, NULL, nth[k]++);
            char *s = cJSON_PrintUnformatted(b);
            ts_buf_printf(out, "%s %s\n", m, s);
            free(s);
            cJSON_Delete(b);
        }
    }
    free(seq);
    e2e_replace(out, fake_zarinpal_url(e->fz), "http://zarinpal.fake");
}

/* The text of the last call of method (caller frees); NULL when none. */
static inline char *e2e_last_text(e2e *e, const char *method)
{
    cJSON *b = fake_telegram_body(e->ft, method, NULL, -1);
    const cJSON *t = b ? cJSON_GetObjectItem(b, "text") : NULL;
    char *s = t && cJSON_IsString(t) ? strdup(t->valuestring) : NULL;
    cJSON_Delete(b);
    return s;
}

#endif
