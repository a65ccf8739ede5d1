/*
 * test_e2e_restart.c: the real handler stack while its PostgreSQL restarts
 * (fast and immediate shutdown) under traffic and is stopped for 10 s: nothing
 * lost or doubled, service resumes by itself within 5 s of the server's
 * return, /healthz says 503 while a store the bot needs is down. With the kill
 * switch on and legacy SQLite primary, the bot keeps serving while the new
 * store is down and the new store catches up from the journal afterwards.
 *
 * Restarts the cluster tests/run.sh started (TS_TEST_PG_DIR, TS_TEST_PG_CLUSTER).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_e2e.h"
#include "ts_clock.h"

#define T TS_TEST_MASTER_TOKEN
#define RESUME_MS 5000     /* service is back within this of the server's return */
#define OUTAGE_S 10        /* how long the server stays stopped */

typedef struct pusher {
    e2e *e;
    pthread_t th;
    volatile int stop;
    int pushed;            /* /start updates from users FIRST_USER.. */
} pusher;

#define FIRST_USER 5000

/* 0 when the cluster can be restarted from here; 1 skip. */
static int cluster_available(void)
{
    if (getenv("TS_TEST_PG_DIR") != NULL && getenv("TS_TEST_PG_CLUSTER") != NULL)
        return 0;
    const char *require = getenv("TS_TEST_REQUIRE_PG");
    if (require != NULL && strcmp(require, "1") == 0)
        fail_msg("TS_TEST_REQUIRE_PG=1 but TS_TEST_PG_DIR / TS_TEST_PG_CLUSTER are not set: "
                 "run the tests through tests/run.sh");
    return 1;
}

static int paused;   /* the server is stopped: a failing test must not leave it so */

/* cluster.sh CMD on the test cluster (restart takes a mode). */
static int cluster_run(const char *cmd, const char *mode)
{
    char line[1024];
    snprintf(line, sizeof line, "sh '%s' %s '%s' %s", getenv("TS_TEST_PG_CLUSTER"), cmd,
             getenv("TS_TEST_PG_DIR"), mode ? mode : "");
    int rc = system(line);
    if (rc == 0 && strcmp(cmd, "pause") == 0)
        paused = 1;
    if (rc == 0 && strcmp(cmd, "resume") == 0)
        paused = 0;
    return rc;
}

static void cluster(const char *cmd, const char *mode)
{
    assert_int_equal(cluster_run(cmd, mode), 0);
}

static int resume_server(void **state)
{
    (void)state;
    return paused ? cluster_run("resume", NULL) : 0;
}

/* The test cluster runs with synchronous_commit off, which loses the last
   acknowledged commits at an immediate shutdown (a crash): a server whose
   durability is off would lose updates whatever the bot did. The bot's
   sessions turn it on. */
static void durable(ts_test_target *t)
{
    if (t->engine == TS_ENGINE_PG)
        strncat(t->url, "&options=-csynchronous_commit%3Don", sizeof t->url - strlen(t->url) - 1);
}

static void *push_loop(void *arg)
{
    pusher *p = arg;
    while (!p->stop) {
        char json[512];
        long long user = FIRST_USER + p->pushed;
        snprintf(json, sizeof json,
                 "{\"message\":{\"message_id\":1,\"from\":{\"id\":%lld,\"first_name\":\"U\","
                 "\"language_code\":\"en\"},\"chat\":{\"id\":%lld,\"type\":\"private\"},"
                 "\"text\":\"/start\"}}", user, user);
        fake_telegram_push(p->e->ft, T, json);
        p->pushed++;
        e2e_sleep_ms(15);
    }
    return NULL;
}

static void push_start(pusher *p)
{
    p->stop = 0;
    pthread_create(&p->th, NULL, push_loop, p);
}

static void push_stop(pusher *p)
{
    p->stop = 1;
    pthread_join(p->th, NULL);
}

/* The server is back: milliseconds until the bot answers again (a reply goes
   out), at most RESUME_MS; then until every queued update is handled and
   acknowledged (*drain_ms), at most DRAIN_MS. */
#define DRAIN_MS 60000
static long long time_to_resume(e2e *e, long long *drain_ms)
{
    long long t0 = ts_clock_ms(), resumed = -1;
    int sent = fake_telegram_count(e->ft, "sendMessage", T);
    while (fake_telegram_pending(e->ft, T) > 0) {
        if (resumed < 0 && fake_telegram_count(e->ft, "sendMessage", T) > sent)
            resumed = ts_clock_ms() - t0;
        if (resumed < 0 && ts_clock_ms() - t0 > RESUME_MS)
            fail_msg("no update handled %d ms after the server came back", RESUME_MS);
        if (ts_clock_ms() - t0 > DRAIN_MS)
            fail_msg("%d updates still pending %d ms after the server came back",
                     fake_telegram_pending(e->ft, T), DRAIN_MS);
        e2e_sleep_ms(5);
    }
    *drain_ms = ts_clock_ms() - t0;
    return resumed < 0 ? *drain_ms : resumed;
}

/* When a store misses users, name the first one missing and whether its update
   was recorded as processed (handled and committed without its user) or not
   (acknowledged without a commit), so a failure says which way it was lost. */
static void report_missing(const ts_test_target *t, const char *side, int pushed)
{
    char q[400];
    snprintf(q, sizeof q, "SELECT count(*) FROM users WHERE telegram_id >= %d", FIRST_USER);
    long long have = ts_test_int(t->url, q);
    if (have == pushed)
        return;
    snprintf(q, sizeof q, "SELECT COALESCE(min(g), -1) FROM generate_series(%d, %d) g WHERE NOT "
             "EXISTS (SELECT 1 FROM users WHERE telegram_id = g)", FIRST_USER,
             FIRST_USER + pushed - 1);
    long long first = ts_test_int(t->url, q);
    /* the pusher's updates are the only ones of a fake Telegram whose ids
       start at 100: ids count up with its users */
    snprintf(q, sizeof q, "SELECT count(*) FROM ts_processed_updates WHERE update_id = %lld",
             100 + first - FIRST_USER);
    print_message("%s store: %lld of %d users; first missing telegram_id %lld, its update "
                  "%s in ts_processed_updates\n", side, have, pushed, first,
                  first >= 0 && ts_test_int(t->url, q) > 0 ? "is" : "is not");
}

/* Wait up to limit_ms for /healthz to answer want. */
static void health_becomes(e2e *e, long want, long long limit_ms)
{
    long long t0 = ts_clock_ms();
    long got;
    while ((got = e2e_get(e, "/healthz")) != want) {
        if (ts_clock_ms() - t0 > limit_ms)
            fail_msg("/healthz answered %ld, not %ld, for %lld ms", got, want, limit_ms);
        e2e_sleep_ms(50);
    }
}

static void test_pg_restarts_under_traffic(void **state)
{
    (void)state;
    e2e e;
    pusher p = {.e = &e};
    if (cluster_available() != 0 || e2e_pair(&e, TS_PAIR_PG, "dual_write") != 0)
        skip();
    durable(&e.pair.legacy);
    durable(&e.pair.nw);
    e2e_open_shim(&e);
    e2e_seed(&e, 1, "BONUS");
    e2e_start(&e);
    assert_int_equal(e2e_get(&e, "/healthz"), 200);

    static const char *const modes[] = {"immediate", "fast"};
    for (int i = 0; i < 2; i++) {
        push_start(&p);
        e2e_sleep_ms(300);
        cluster("restart", modes[i]);
        push_stop(&p);
        long long drain, ms = time_to_resume(&e, &drain);
        print_message("restart -m %s: serving %lld ms after the server was back, backlog "
                      "done after %lld ms\n", modes[i], ms, drain);
        health_becomes(&e, 200, RESUME_MS);
    }

    push_start(&p);
    e2e_sleep_ms(300);
    cluster("pause", NULL);
    health_becomes(&e, 503, 3000);
    e2e_sleep_ms(OUTAGE_S * 1000);
    assert_true(fake_telegram_pending(e.ft, T) > 0);   /* nothing was served meanwhile */
    assert_int_equal(e2e_get(&e, "/healthz"), 503);
    cluster("resume", NULL);
    push_stop(&p);
    long long drain, ms = time_to_resume(&e, &drain);
    print_message("stopped %d s: serving %lld ms after the server was back, backlog of %d "
                  "updates done after %lld ms\n", OUTAGE_S, ms, p.pushed, drain);
    health_becomes(&e, 200, RESUME_MS);
    e2e_stop(&e);

    /* every update exactly once, on both sides of the dual-write */
    report_missing(&e.pair.legacy, "legacy", p.pushed);
    report_missing(&e.pair.nw, "new", p.pushed);
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM users WHERE telegram_id >= %d", FIRST_USER);
    assert_int_equal(ts_test_int(e.pair.legacy.url, sql), p.pushed);
    assert_int_equal(ts_test_int(e.pair.nw.url, sql), p.pushed);
    assert_int_equal(ts_test_int(e.pair.legacy.url, "SELECT count(*) FROM ts_processed_updates"),
                     p.pushed);
    e2e_close(&e);
}

/* Legacy SQLite primary (dual_write), new PostgreSQL stopped, kill switch on:
   the bot serves from legacy, /healthz stays 200, and the new store gets the
   journaled writes once it is back. */
static void test_kill_switch_serves_without_new(void **state)
{
    (void)state;
    e2e e;
    pusher p = {.e = &e};
    if (cluster_available() != 0 || e2e_pair(&e, TS_PAIR_CROSS, "dual_write") != 0)
        skip();
    e2e_open_shim(&e);
    e2e_seed(&e, 1, "BONUS");
    e2e_start(&e);
    e.kill = 1;
    e2e_sleep_ms(600);   /* a turn of the loop applies it */
    cluster("pause", NULL);
    push_start(&p);
    e2e_sleep_ms(2000);
    push_stop(&p);
    long long drain;
    time_to_resume(&e, &drain);   /* served while new is down */
    assert_int_equal(e2e_get(&e, "/healthz"), 200);
    cluster("resume", NULL);
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM users WHERE telegram_id >= %d", FIRST_USER);
    long long t0 = ts_clock_ms();
    while (ts_test_int(e.pair.nw.url, sql) < p.pushed && ts_clock_ms() - t0 < RESUME_MS)
        e2e_sleep_ms(100);
    e2e_stop(&e);
    assert_int_equal(ts_test_int(e.pair.legacy.url, sql), p.pushed);
    assert_int_equal(ts_test_int(e.pair.nw.url, sql), p.pushed);
    e2e_close(&e);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_pg_restarts_under_traffic, resume_server),
        cmocka_unit_test_teardown(test_kill_switch_serves_without_new, resume_server),
    };
    int rc = cmocka_run_group_tests_name("e2e_restart", tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
