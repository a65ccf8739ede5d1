/*
 * test_e2e_zarinpal.c: Zarinpal payments are credited once, through the real
 * handler stack at dual_write (legacy primary for the money, zarinpal_payments
 * in the new store), on SQLite and PostgreSQL:
 *   - an old deposit holding the authority a new payment gets (legacy data
 *     reuses them) does not stop the new payment's credit;
 *   - repeated and simultaneous callbacks credit once;
 *   - reconciliation settles a payment whose callback never came, at start-up
 *     and periodically, marks an unpaid one failed, leaves one pending while
 *     the gateway is down, and never credits one the callback already paid.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_e2e.h"

#define T TS_TEST_MASTER_TOKEN
#define OMID 102
#define OLD_USER 301

static void start(e2e *e, ts_pair_kind kind)
{
    if (e2e_pair(e, kind, "dual_write") != 0)
        skip();
    e2e_open_shim(e);
    e2e_seed(e, 1, "BONUS");
}

/* The authority fake Zarinpal issues for its nth payment request. */
static void authority_of(int nth, char out[40])
{
    snprintf(out, 40, "A%035d", nth);
}

/* Omid asks to pay amount through Zarinpal (the link; nobody pays yet). */
static void ask_to_pay(e2e *e, int64_t amount)
{
    char data[32];
    snprintf(data, sizeof data, "zp:%lld", (long long)amount);
    e2e_button(e, T, OMID, "en", data);
}

static int64_t balance(e2e *e, int64_t telegram_id)
{
    char sql[128];   /* at dual_write legacy is primary for users */
    snprintf(sql, sizeof sql, "SELECT balance_kopeks FROM users WHERE telegram_id = %lld",
             (long long)telegram_id);
    return ts_test_int(e->pair.legacy.url, sql);
}

static int64_t payments(e2e *e, const char *authority, const char *status)
{
    char sql[192];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM zarinpal_payments WHERE zarinpal_authority "
             "= '%s' AND status = '%s'", authority, status);
    return ts_test_int(e->pair.nw.url, sql);
}

/* Messages the bot sent whose text holds what. */
static int said(e2e *e, const char *what)
{
    int n = 0, total = fake_telegram_count(e->ft, "sendMessage", NULL);
    for (int i = 0; i < total; i++) {
        cJSON *b = fake_telegram_body(e->ft, "sendMessage", NULL, i);
        const cJSON *t = cJSON_GetObjectItem(b, "text");
        n += cJSON_IsString(t) && strstr(t->valuestring, what) != NULL;
        cJSON_Delete(b);
    }
    return n;
}

/* Wait (at most 10 s) until no payment is pending. */
static void wait_settled(e2e *e)
{
    for (int i = 0; i < 1000; i++) {
        if (ts_test_int(e->pair.nw.url,
                        "SELECT count(*) FROM zarinpal_payments WHERE status = 'pending'") == 0)
            return;
        e2e_sleep_ms(10);
    }
    fail_msg("Zarinpal payments still pending after 10 s");
}

/* The callback, which must answer 200 with page. */
static void callback(e2e *e, const char *authority, int ok, const char *page)
{
    ts_buf b = {0};
    assert_int_equal(e2e_zarinpal_page(e, 1, authority, ok, &b), 200);
    if (b.s == NULL || strstr(b.s, page) == NULL)
        fail_msg("callback for %s: the page says %s, want %s", authority, b.s ? b.s : "nothing",
                 page);
    ts_buf_free(&b);
}

#define PAGE_OK "پرداخت تأیید شد"   /* the bot's language (fa): the payer's browser */
#define PAID "Payment received"        /* Omid's (en) */
#define FAILED "nothing was charged"

/* An old, paid deposit holds the authority the gateway gives the new payment;
   the old code took it for this payment's credit (paid, balance unchanged). */
static void authority_reused(ts_pair_kind kind)
{
    e2e e;
    ts_error err;
    ts_tx *tx;
    ts_ctx ctx = {1, 1};
    char auth[40];
    int64_t old_user, old_txn;
    int already;
    start(&e, kind);
    authority_of(1, auth);
    e2e_check(ts_shim_begin(e.sh, &ctx, &tx, &err), &err, "begin");
    ts_user_new u = {OLD_USER, "old", "Old", NULL, "en", 0, 0};
    e2e_check(ts_repo_user_create(tx, &u, &old_user, NULL, &err), &err, "old user");
    ts_txn_new t = {old_user, "deposit", 7000, "balance top-up", "zarinpal", auth, 1};
    e2e_check(ts_repo_txn_create(tx, &t, &old_txn, &already, &err), &err, "old deposit");
    e2e_check(ts_tx_commit(tx, &err), &err, "commit");
    e2e_start(&e);
    e2e_text(&e, T, OMID, "en", "/start");
    ask_to_pay(&e, 200000);
    callback(&e, auth, 1, PAGE_OK);
    assert_int_equal(balance(&e, OMID), 200000);
    assert_int_equal(payments(&e, auth, "paid"), 1);
    /* again: the same page, nothing more credited or said */
    callback(&e, auth, 1, PAGE_OK);
    e2e_stop(&e);
    assert_int_equal(balance(&e, OMID), 200000);
    assert_int_equal(balance(&e, OLD_USER), 0);
    assert_int_equal(said(&e, PAID), 1);
    assert_int_equal(ts_test_int(e.pair.legacy.url, "SELECT count(*) FROM transactions WHERE "
                                 "type = 'deposit' AND payment_method = 'zarinpal'"), 2);
    e2e_close(&e);
}

typedef struct caller {
    e2e *e;
    const char *authority;
    long status;
} caller;

static void *call_back(void *arg)
{
    caller *c = arg;
    c->status = e2e_zarinpal_callback(c->e, 1, c->authority, 1);
    return NULL;
}

/* Callbacks for one payment at the same moment: one credit, both pages ok. */
static void simultaneous_callbacks(ts_pair_kind kind)
{
    e2e e;
    char auth[40];
    pthread_t th[4];
    caller c[4];
    start(&e, kind);
    e2e_start(&e);
    e2e_text(&e, T, OMID, "en", "/start");
    ask_to_pay(&e, 50000);
    authority_of(1, auth);
    for (int i = 0; i < 4; i++) {
        c[i] = (caller){&e, auth, 0};
        pthread_create(&th[i], NULL, call_back, &c[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(c[i].status, 200);
    }
    e2e_stop(&e);
    assert_int_equal(balance(&e, OMID), 50000);
    assert_int_equal(said(&e, PAID), 1);
    e2e_close(&e);
}

/* The payer paid while the bot was down, so the callback never came: the
   start-up pass credits it; the callback arriving late credits nothing. */
static void reconciled_at_start(ts_pair_kind kind)
{
    e2e e;
    char auth[40];
    start(&e, kind);
    e2e_start(&e);
    e2e_text(&e, T, OMID, "en", "/start");
    ask_to_pay(&e, 200000);
    e2e_stop(&e);
    authority_of(1, auth);
    assert_int_equal(payments(&e, auth, "pending"), 1);
    e2e_sleep_ms(1100);   /* older than the age below */
    e.reconcile_age = "1";
    e2e_start(&e);
    wait_settled(&e);
    assert_int_equal(payments(&e, auth, "paid"), 1);
    assert_int_equal(balance(&e, OMID), 200000);
    callback(&e, auth, 1, PAGE_OK);
    e2e_stop(&e);
    assert_int_equal(balance(&e, OMID), 200000);
    assert_int_equal(said(&e, PAID), 1);
    e2e_close(&e);
}

/* The periodic pass: the first verify calls find the gateway down (left
   pending, retried), then one payment paid and one never paid (failed); a
   payment the callback paid first is not touched. */
static void reconciled_periodically(ts_pair_kind kind)
{
    e2e e;
    char unpaid[40], paid[40], by_callback[40];
    start(&e, kind);
    e.reconcile = "1";
    e.reconcile_age = "1";
    e2e_start(&e);
    e2e_text(&e, T, OMID, "en", "/start");
    authority_of(1, by_callback);
    authority_of(2, unpaid);
    authority_of(3, paid);
    ask_to_pay(&e, 100000);
    callback(&e, by_callback, 1, PAGE_OK);
    /* one pass's attempts at its first payment: 3 units x 3 HTTP attempts */
    fake_zarinpal_fail(e.fz, "verify", 502, 0, 9);
    int verifies = fake_zarinpal_count(e.fz, "verify");
    ask_to_pay(&e, 50000);
    fake_zarinpal_set_paid(e.fz, unpaid, 0);
    ask_to_pay(&e, 200000);
    wait_settled(&e);
    e2e_stop(&e);
    assert_true(fake_zarinpal_count(e.fz, "verify") >= verifies + 9 + 2);
    assert_int_equal(payments(&e, by_callback, "paid"), 1);
    assert_int_equal(payments(&e, unpaid, "failed"), 1);
    assert_int_equal(payments(&e, paid, "paid"), 1);
    assert_int_equal(balance(&e, OMID), 300000);
    assert_int_equal(said(&e, PAID), 2);
    assert_int_equal(said(&e, FAILED), 1);
    e2e_close(&e);
}

#define BOTH(name)                                                                   \
    static void test_##name##_sqlite(void **state) { (void)state; name(TS_PAIR_SQLITE); } \
    static void test_##name##_postgresql(void **state) { (void)state; name(TS_PAIR_PG); }
BOTH(authority_reused)
BOTH(simultaneous_callbacks)
BOTH(reconciled_at_start)
BOTH(reconciled_periodically)

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_authority_reused_sqlite),
        cmocka_unit_test(test_authority_reused_postgresql),
        cmocka_unit_test(test_simultaneous_callbacks_sqlite),
        cmocka_unit_test(test_simultaneous_callbacks_postgresql),
        cmocka_unit_test(test_reconciled_at_start_sqlite),
        cmocka_unit_test(test_reconciled_at_start_postgresql),
        cmocka_unit_test(test_reconciled_periodically_sqlite),
        cmocka_unit_test(test_reconciled_periodically_postgresql),
    };
    int rc = cmocka_run_group_tests_name("e2e_zarinpal", tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
