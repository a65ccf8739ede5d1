/* test_runtime_poller.c: many bots in one loop, offsets moved by acknowledgement only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_telegram.h"
#include "ts_clock.h"
#include "ts_httpc.h"
#include "ts_log.h"
#include "ts_poller.h"

#define TA "111:tokenA"
#define TB "222:tokenB"

typedef struct seen {
    int n;
    int64_t bot[64];
    int64_t id[64];
    int64_t refuse_id;    /* answer RETRY to this update ... */
    int refusals;         /* ... this many times */
    int nbatch;
    int batch[8];         /* the sizes on_batch got */
    ts_poll_verdict says[8];   /* its verdicts in turn (zero: ACK) */
} seen;

static ts_poll_verdict on_update(void *arg, int64_t bot_id, const cJSON *u)
{
    seen *s = arg;
    int64_t id = (int64_t)cJSON_GetObjectItem(u, "update_id")->valuedouble;
    if (s->n < 64) {
        s->bot[s->n] = bot_id;
        s->id[s->n++] = id;
    }
    if (id == s->refuse_id && s->refusals > 0) {
        s->refusals--;
        return TS_POLL_RETRY;
    }
    return TS_POLL_ACK;
}

/* Every update of the batch is seen, whatever the verdict. */
static ts_poll_verdict on_batch(void *arg, int64_t bot_id, const cJSON *const *u, int n)
{
    seen *s = arg;
    for (int i = 0; i < n; i++)
        on_update(arg, bot_id, u[i]);
    assert_true(s->nbatch < 8);
    s->batch[s->nbatch] = n;
    return s->says[s->nbatch++];
}

typedef struct fx {
    fake_telegram *ft;
    ts_poller *p;
    seen s;
} fx;

static int open_with(void **state, ts_poll_batch_fn batch, int max_backoff_ms)
{
    fx *f = calloc(1, sizeof *f);
    ts_error err;
    f->ft = fake_telegram_start();
    ts_poller_opts o = {.base_url = fake_telegram_url(f->ft), .timeout_s = 2, .backoff_ms = 20,
                        .max_backoff_ms = max_backoff_ms, .on_update = on_update,
                        .on_batch = batch, .arg = &f->s};
    if (f->ft == NULL || ts_poller_open(&o, &f->p, &err) != 0)
        return -1;
    *state = f;
    return 0;
}

static int setup(void **state) { return open_with(state, NULL, 100); }
static int setup_batch(void **state) { return open_with(state, on_batch, 100); }
static int setup_long_backoff(void **state) { return open_with(state, NULL, 5000); }

static int teardown(void **state)
{
    fx *f = *state;
    ts_poller_close(f->p);
    fake_telegram_stop(f->ft);
    free(f);
    return 0;
}

static void set_bots(fx *f, int with_a, int with_b)
{
    ts_poll_bot bots[2];
    int n = 0;
    ts_error err;
    if (with_a)
        bots[n++] = (ts_poll_bot){1, TA};
    if (with_b)
        bots[n++] = (ts_poll_bot){2, TB};
    assert_int_equal(ts_poller_set_bots(f->p, bots, n, &err), 0);
}

/* Step until `want` updates were seen or 5 s passed. */
static void run_until(fx *f, int want)
{
    ts_error err;
    long long until = ts_clock_ms() + 5000;
    while (f->s.n < want && ts_clock_ms() < until)
        assert_int_equal(ts_poller_step(f->p, NULL, 0, 50, &err), 0);
    if (f->s.n < want)
        fail_msg("saw %d updates, wanted %d", f->s.n, want);
}

static void run_ms(fx *f, int ms)
{
    ts_error err;
    long long until = ts_clock_ms() + ms;
    while (ts_clock_ms() < until)
        assert_int_equal(ts_poller_step(f->p, NULL, 0, 20, &err), 0);
}

static int64_t push(fx *f, const char *token, const char *text)
{
    char j[128];
    snprintf(j, sizeof j, "{\"message\":{\"text\":\"%s\"}}", text);
    return fake_telegram_push(f->ft, token, j);
}

static void test_two_bots_offsets(void **state)
{
    fx *f = *state;
    set_bots(f, 1, 1);
    int64_t a1 = push(f, TA, "a1"), a2 = push(f, TA, "a2"), b1 = push(f, TB, "b1");
    run_until(f, 3);
    /* per bot in order; both bots share one loop */
    int64_t last_a = -1;
    int nb = 0;
    for (int i = 0; i < f->s.n; i++) {
        if (f->s.bot[i] == 1) {
            assert_true(f->s.id[i] > last_a);
            last_a = f->s.id[i];
        } else {
            assert_int_equal(f->s.id[i], b1);
            nb++;
        }
    }
    assert_int_equal(last_a, a2);
    assert_int_equal(nb, 1);
    assert_int_equal(ts_poller_offset(f->p, 1), a2 + 1);
    assert_int_equal(ts_poller_offset(f->p, 2), b1 + 1);
    assert_int_equal(ts_poller_offset(f->p, 3), -1);
    /* the next polls carry the offsets, which confirms the updates to Telegram */
    run_ms(f, 200);
    assert_true(fake_telegram_count(f->ft, "getUpdates", TA) >= 2);
    assert_int_equal(fake_telegram_pending(f->ft, TA), 0);
    assert_int_equal(fake_telegram_pending(f->ft, TB), 0);
    cJSON *body = fake_telegram_body(f->ft, "getUpdates", TA, -1);
    assert_int_equal((int64_t)cJSON_GetObjectItem(body, "offset")->valuedouble, a2 + 1);
    cJSON_Delete(body);
    (void)a1;
}

static void test_retry_redelivers(void **state)
{
    fx *f = *state;
    set_bots(f, 1, 0);
    int64_t a1 = push(f, TA, "a1"), a2 = push(f, TA, "a2"), a3 = push(f, TA, "a3");
    f->s.refuse_id = a2;
    f->s.refusals = 2;
    run_until(f, 5);   /* a1, a2 (refused), a2 (refused), a2, a3 */
    assert_int_equal(f->s.id[0], a1);
    assert_int_equal(f->s.id[1], a2);
    assert_int_equal(f->s.id[2], a2);
    assert_int_equal(f->s.id[3], a2);
    assert_int_equal(f->s.id[4], a3);
    /* a3 was never handed out before a2 was acknowledged */
    assert_int_equal(ts_poller_offset(f->p, 1), a3 + 1);
}

/* Redeliveries while a store is down (6 here) do not count as Telegram
   failures: the first getUpdates failure after them waits the first step of
   the backoff (20 ms), not the seventh (1.28 s). Read from the wait the
   poller logs, not from a clock. */
static void test_redeliveries_do_not_raise_the_backoff(void **state)
{
    fx *f = *state;
    char line[1024];
    int found = 0;
    set_bots(f, 1, 0);
    int64_t a1 = push(f, TA, "a1");
    f->s.refuse_id = a1;
    f->s.refusals = 6;
    run_until(f, 6);
    FILE *log = tmpfile();
    assert_non_null(log);
    ts_log_set_stream(log);
    fake_telegram_fail(f->ft, TA, "getUpdates", 502, 0, 1);
    run_until(f, 7);   /* the 6th redelivery wait, the failure, then a1 */
    ts_log_set_stream(stderr);
    assert_int_equal(ts_poller_offset(f->p, 1), a1 + 1);
    rewind(log);
    while (fgets(line, sizeof line, log))
        if (strstr(line, "event=poll_failed") && !strstr(line, "not committed")) {
            found = 1;
            if (!strstr(line, "failures=1 wait_ms=20 "))
                fail_msg("the Telegram failure after 6 redeliveries waited as: %s", line);
        }
    fclose(log);
    assert_true(found);
}

static void test_bots_added_and_removed(void **state)
{
    fx *f = *state;
    set_bots(f, 1, 0);
    push(f, TB, "b-early");
    push(f, TA, "a1");
    run_until(f, 1);
    run_ms(f, 100);
    assert_int_equal(f->s.n, 1);                 /* B is not polled yet */
    assert_int_equal(fake_telegram_count(f->ft, "getUpdates", TB), 0);
    set_bots(f, 1, 1);                           /* B added without a restart */
    run_until(f, 2);
    assert_int_equal(f->s.bot[1], 2);
    set_bots(f, 0, 1);                           /* A deactivated */
    assert_int_equal(ts_poller_count(f->p), 1);
    int polls_a = fake_telegram_count(f->ft, "getUpdates", TA);
    push(f, TA, "a-late");
    push(f, TB, "b2");
    run_until(f, 3);
    run_ms(f, 100);
    assert_int_equal(f->s.n, 3);
    assert_int_equal(f->s.bot[2], 2);
    assert_int_equal(fake_telegram_count(f->ft, "getUpdates", TA), polls_a);
    assert_int_equal(fake_telegram_pending(f->ft, TA), 1);
    /* a malformed token is left out, the rest still reconciled */
    ts_error err;
    ts_poll_bot bad[2] = {{2, TB}, {3, "not-a-token"}};
    assert_int_equal(ts_poller_set_bots(f->p, bad, 2, &err), 0);
    assert_int_equal(ts_poller_count(f->p), 1);
}

static void test_failing_bot_does_not_stall_others(void **state)
{
    fx *f = *state;
    fake_telegram_fail(f->ft, TA, "getUpdates", 502, 0, 3);
    fake_telegram_next_body(f->ft, TB, "{this is not json");
    set_bots(f, 1, 1);
    push(f, TA, "a1");
    push(f, TB, "b1");
    run_until(f, 2);
    /* both recovered: A after three 502s, B after a malformed reply */
    assert_true(fake_telegram_count(f->ft, "getUpdates", TA) >= 4);
    assert_int_equal(f->s.bot[0] + f->s.bot[1], 3);
}

static void test_429_backs_off_that_bot(void **state)
{
    fx *f = *state;
    fake_telegram_fail(f->ft, TA, "getUpdates", 429, 1, 1);
    set_bots(f, 1, 1);
    push(f, TB, "b1");
    run_until(f, 1);
    assert_int_equal(f->s.bot[0], 2);   /* B served while A waits out retry_after */
    run_ms(f, 300);
    assert_int_equal(fake_telegram_count(f->ft, "getUpdates", TA), 1);
    push(f, TA, "a1");
    run_until(f, 2);
    assert_int_equal(fake_telegram_count(f->ft, "getUpdates", TA), 2);
}

static void test_step_keeps_rhythm(void **state)
{
    fx *f = *state;
    ts_error err;
    set_bots(f, 1, 1);   /* both polls held by the server for 2 s */
    long long t0 = ts_clock_ms();
    assert_int_equal(ts_poller_step(f->p, NULL, 0, 100, &err), 0);
    assert_true(ts_clock_ms() - t0 < 1000);
}

static void test_drain_confirms_offsets(void **state)
{
    fx *f = *state;
    set_bots(f, 1, 0);
    int64_t a1 = push(f, TA, "a1");
    run_until(f, 1);
    /* stop right after the acknowledgement, before another poll carried it */
    ts_poller_drain(f->p, 2000);
    cJSON *body = fake_telegram_body(f->ft, "getUpdates", TA, -1);
    assert_int_equal((int64_t)cJSON_GetObjectItem(body, "offset")->valuedouble, a1 + 1);
    cJSON_Delete(body);
    assert_int_equal(fake_telegram_pending(f->ft, TA), 0);
}

/* A poll's updates go to on_batch together: RETRY redelivers them all, SPLIT
   hands them to on_update one by one, ACK acknowledges them all; a lone update
   goes to on_update. */
static void test_batches(void **state)
{
    fx *f = *state;
    int64_t a1 = push(f, TA, "a1"), a2 = push(f, TA, "a2");
    f->s.says[0] = TS_POLL_RETRY;
    f->s.says[1] = TS_POLL_SPLIT;
    set_bots(f, 1, 0);   /* after the pushes: the first poll gets both */
    run_until(f, 6);     /* a1 a2 (retry), a1 a2 (split), a1, a2 */
    assert_int_equal(ts_poller_offset(f->p, 1), a2 + 1);
    assert_int_equal(f->s.nbatch, 2);
    assert_int_equal(f->s.id[4], a1);
    assert_int_equal(f->s.id[5], a2);
    int64_t a3 = push(f, TA, "a3");
    run_until(f, 7);
    assert_int_equal(f->s.nbatch, 2);
    assert_int_equal(ts_poller_offset(f->p, 1), a3 + 1);
}

/* At most TS_POLL_BATCH updates at a time; the rest follow. */
static void test_batch_bound(void **state)
{
    fx *f = *state;
    int64_t first = push(f, TA, "m");
    for (int i = 0; i < TS_POLL_BATCH; i++)
        push(f, TA, "m");
    set_bots(f, 1, 0);
    run_until(f, TS_POLL_BATCH + 1);
    assert_int_equal(f->s.nbatch, 1);
    assert_int_equal(f->s.batch[0], TS_POLL_BATCH);
    assert_int_equal(ts_poller_offset(f->p, 1), first + TS_POLL_BATCH + 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_two_bots_offsets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_redelivers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redeliveries_do_not_raise_the_backoff,
                                        setup_long_backoff, teardown),
        cmocka_unit_test_setup_teardown(test_bots_added_and_removed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failing_bot_does_not_stall_others, setup, teardown),
        cmocka_unit_test_setup_teardown(test_429_backs_off_that_bot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_step_keeps_rhythm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drain_confirms_offsets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batches, setup_batch, teardown),
        cmocka_unit_test_setup_teardown(test_batch_bound, setup_batch, teardown),
    };
    return cmocka_run_group_tests_name("runtime_poller", tests, NULL, NULL);
}
