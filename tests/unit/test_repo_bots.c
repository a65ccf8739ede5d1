/*
 * test_repo_bots.c: the bot registry and api tokens, payment cards and the
 * four rotation strategies, plans, and tenant isolation through the
 * repositories, on the three store pairs with the data increments at read_new
 * (where tenant bots are served).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "test_repo.h"

#define M 1

static int64_t make_bot(repo_fx *fx, const char *token, char api[TS_REPO_API_TOKEN_SIZE])
{
    int64_t id;
    ts_bot_new b = {"tenant", token, NULL, -100123};
    ts_tx *tx = repo_begin(fx, M);
    EXPECT(fx, ts_repo_bot_create(tx, &b, &id, api, &fx->err), 0);
    repo_commit(fx, tx);
    return id;
}

static void test_bots(void **state)
{
    repo_fx *fx = *state;
    char api[TS_REPO_API_TOKEN_SIZE], hash_where[128];
    ts_bot b;
    ts_result *r;
    int64_t id = make_bot(fx, "2000:TENANT-token", api);
    assert_int_equal(strlen(api), 68);
    assert_memory_equal(api, "tsk_", 4);
    /* Only the hash is stored: no column holds the token itself. */
    snprintf(hash_where, sizeof hash_where, "api_token_hash = '%s'", api);
    assert_int_equal(repo_count(fx->pair.nw.url, "bots", hash_where), 0);
    assert_int_equal(repo_count(fx->pair.nw.url, "bots", "length(api_token_hash) = 64"), 1);

    ts_tx *tx = repo_begin(fx, M);
    EXPECT(fx, ts_repo_bot_by_api_token(tx, api, &b, &fx->err), 1);
    assert_int_equal(b.id, id);
    api[10] = api[10] == 'a' ? 'b' : 'a';
    EXPECT(fx, ts_repo_bot_by_api_token(tx, api, &b, &fx->err), 0);
    EXPECT(fx, ts_repo_bot_by_telegram_token(tx, "2000:TENANT-token", &b, &fx->err), 1);
    assert_int_equal(b.id, id);
    assert_string_equal(b.default_language, "fa");
    assert_int_equal(b.admin_chat_id, -100123);
    EXPECT(fx, ts_repo_bot_get(tx, id, &b, &fx->err), 1);
    assert_false(b.is_master);
    EXPECT(fx, ts_repo_bot_master(tx, &b, &fx->err), 1);
    assert_int_equal(b.id, M);
    assert_string_equal(b.telegram_bot_token, TS_TEST_MASTER_TOKEN);

    ts_set f[2] = {{"support_username", ts_text("help_bot")}, {"zarinpal_enabled", ts_bool(1)}};
    EXPECT(fx, ts_repo_bot_update(tx, id, f, 2, &fx->err), 1);
    ts_set bad = {"api_token_hash", ts_text("x")};
    EXPECT(fx, ts_repo_bot_update(tx, id, &bad, 1, &fx->err), -1);
    EXPECT(fx, ts_repo_bot_get(tx, id, &b, &fx->err), 1);
    assert_string_equal(b.support_username, "help_bot");
    assert_true(b.zarinpal_enabled);
    EXPECT(fx, ts_repo_bot_list_active(tx, &r, &fx->err), 0);
    assert_int_equal(ts_result_count(r), 2);
    ts_result_free(r);
    EXPECT(fx, ts_repo_bot_set_active(tx, id, 0, &fx->err), 1);
    EXPECT(fx, ts_repo_bot_list_active(tx, &r, &fx->err), 0);
    assert_int_equal(ts_result_count(r), 1);
    ts_result_free(r);
    EXPECT(fx, ts_repo_bot_delete(tx, M, &fx->err), -1);
    assert_int_equal(fx->err.code, TS_E_STATE);
    repo_commit(fx, tx);
}

/* A tenant's rows go with it; the master's stay. */
static void test_bot_delete_cascades(void **state)
{
    repo_fx *fx = *state;
    char api[TS_REPO_API_TOKEN_SIZE], code[TS_REPO_REFCODE_SIZE];
    int64_t bot = make_bot(fx, "2001:GOING-away", api), u, u2, tid, cid;
    ts_tx *tx = repo_begin(fx, bot);
    ts_user_new nu = {31, "t", NULL, NULL, NULL, 0, 0};
    EXPECT(fx, ts_repo_user_create(tx, &nu, &u, code, &fx->err), 0);
    ts_user_new nu2 = {32, "t2", NULL, NULL, NULL, u, 0}; /* referred by u */
    EXPECT(fx, ts_repo_user_create(tx, &nu2, &u2, NULL, &fx->err), 0);
    ts_ticket_text m = {"hi", NULL, NULL};
    EXPECT(fx, ts_repo_ticket_open(tx, u2, "t", NULL, &m, &tid, &fx->err), 0);
    ts_card_new c = {"6037-0000", "Holder", NULL, 0, 0};
    EXPECT(fx, ts_repo_card_create(tx, &c, &cid, &fx->err), 0);
    EXPECT(fx, ts_repo_flag_set(tx, "card_to_card", 1, "{}", &fx->err), 0);
    repo_commit(fx, tx);

    char where[64];
    snprintf(where, sizeof where, "bot_id = %lld", (long long)bot);
    assert_int_equal(repo_count(fx->pair.nw.url, "users", where), 2);
    tx = repo_begin(fx, M);
    EXPECT(fx, ts_repo_bot_delete(tx, bot, &fx->err), 1);
    EXPECT(fx, ts_repo_bot_delete(tx, bot, &fx->err), 0);
    repo_commit(fx, tx);
    static const char *const tables[] = {"users", "tickets", "ticket_messages",
                                         "tenant_payment_cards", "bot_feature_flags"};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
        assert_int_equal(repo_count(fx->pair.nw.url, tables[i], where), 0);
    assert_int_equal(repo_count(fx->pair.nw.url, "bots", "id = 1"), 1);
}

static int64_t make_card(repo_fx *fx, ts_tx *tx, const char *number, const char *strategy,
                         int64_t weight)
{
    int64_t id;
    ts_card_new c = {number, "Card Holder", strategy, 0, weight};
    EXPECT(fx, ts_repo_card_create(tx, &c, &id, &fx->err), 0);
    return id;
}

static int64_t pick(repo_fx *fx, ts_tx *tx, const ts_card_pick *o)
{
    ts_card c;
    EXPECT(fx, ts_repo_card_pick(tx, o, &c, &fx->err), 1);
    return c.id;
}

/* Each strategy in a bot of its own, so their cards do not mix. */
static void test_card_rotation(void **state)
{
    repo_fx *fx = *state;
    char api[TS_REPO_API_TOKEN_SIZE];
    ts_card c;
    int64_t rr = make_bot(fx, "3001:RR", api), tb = make_bot(fx, "3002:TB", api);
    int64_t rnd = make_bot(fx, "3003:RND", api), wt = make_bot(fx, "3004:WT", api);

    /* round robin: every card once per cycle, least recently used first */
    ts_tx *tx = repo_begin(fx, rr);
    EXPECT(fx, ts_repo_card_pick(tx, NULL, &c, &fx->err), 0); /* no cards yet */
    int64_t a = make_card(fx, tx, "1111", NULL, 0), b = make_card(fx, tx, "2222", NULL, 0);
    int64_t d = make_card(fx, tx, "3333", NULL, 0);
    int64_t want[] = {a, b, d, a, b, d, a};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        assert_int_equal(pick(fx, tx, NULL), want[i]);
    ts_set off = {"is_active", ts_bool(0)};
    EXPECT(fx, ts_repo_card_update(tx, b, &off, 1, &fx->err), 1);
    assert_int_equal(pick(fx, tx, NULL), d);
    assert_int_equal(pick(fx, tx, NULL), a);
    EXPECT(fx, ts_repo_card_get(tx, a, &c, &fx->err), 1);
    assert_int_equal(c.current_usage_count, 4);
    assert_true(c.last_used_at[0] != '\0');
    repo_commit(fx, tx);

    /* time based: one card per 30-minute window, then the next */
    tx = repo_begin(fx, tb);
    a = make_card(fx, tx, "1111", "time_based", 0);
    b = make_card(fx, tx, "2222", "time_based", 0);
    ts_set every = {"rotation_interval_minutes", ts_int(30)};
    EXPECT(fx, ts_repo_card_update(tx, a, &every, 1, &fx->err), 1);
    ts_card_pick t0 = {1800 * 1000, NULL}, t1 = {1800 * 1000 + 1799, NULL},
                 t2 = {1800 * 1001, NULL};
    assert_int_equal(pick(fx, tx, &t0), a);
    assert_int_equal(pick(fx, tx, &t1), a);
    assert_int_equal(pick(fx, tx, &t2), b);
    repo_commit(fx, tx);

    /* random: reproducible from a seed, and every card comes up */
    tx = repo_begin(fx, rnd);
    int64_t ids[3] = {make_card(fx, tx, "1", "random", 0), make_card(fx, tx, "2", "random", 0),
                      make_card(fx, tx, "3", "random", 0)};
    uint64_t s1 = 7, s2 = 7;
    ts_card_pick p1 = {0, &s1}, p2 = {0, &s2};
    int seen[3] = {0};
    for (int i = 0; i < 30; i++) {
        int64_t x = pick(fx, tx, &p1);
        assert_int_equal(x, pick(fx, tx, &p2));
        for (int k = 0; k < 3; k++)
            seen[k] += x == ids[k];
    }
    assert_true(seen[0] && seen[1] && seen[2]);
    pick(fx, tx, NULL); /* OpenSSL's draw */
    repo_commit(fx, tx);

    /* weighted: the card that works wins most picks */
    tx = repo_begin(fx, wt);
    int64_t good = make_card(fx, tx, "1", "weighted", 1), bad = make_card(fx, tx, "2", "weighted", 1);
    for (int i = 0; i < 9; i++) {
        EXPECT(fx, ts_repo_card_record(tx, good, 1, &fx->err), 0);
        EXPECT(fx, ts_repo_card_record(tx, bad, 0, &fx->err), 0);
    }
    EXPECT(fx, ts_repo_card_record(tx, good, 0, &fx->err), 0);
    EXPECT(fx, ts_repo_card_record(tx, bad, 1, &fx->err), 0);
    EXPECT(fx, ts_repo_card_record(tx, 99999, 1, &fx->err), -1);
    uint64_t seed = 42;
    ts_card_pick pw = {0, &seed};
    int goods = 0;
    for (int i = 0; i < 200; i++)
        goods += pick(fx, tx, &pw) == good;
    /* scores 0.9 vs 0.1: expect ~180 of 200 */
    assert_in_range(goods, 160, 198);
    EXPECT(fx, ts_repo_card_get(tx, bad, &c, &fx->err), 1);
    assert_int_equal(c.success_count, 1);
    assert_int_equal(c.failure_count, 9);
    ts_result *r;
    EXPECT(fx, ts_repo_card_list(tx, 0, &r, &fx->err), 0);
    assert_int_equal(ts_result_count(r), 2);
    ts_result_free(r);
    EXPECT(fx, ts_repo_card_delete(tx, bad, &fx->err), 1);
    EXPECT(fx, ts_repo_card_get(tx, bad, &c, &fx->err), 0);
    repo_commit(fx, tx);
}

static void test_plans(void **state)
{
    repo_fx *fx = *state;
    ts_plan p = {0, "Monthly", 30, 150000, 100, 2, 1, 2}, got;
    ts_plan q = {0, "Weekly", 7, 50000, 20, 1, 1, 1};
    ts_plan hidden = {0, "Old", 90, 300000, 0, 0, 0, 0};
    int64_t a, b, h;
    ts_result *r;
    ts_tx *tx = repo_begin(fx, M);
    EXPECT(fx, ts_repo_plan_create(tx, &p, &a, &fx->err), 0);
    EXPECT(fx, ts_repo_plan_create(tx, &q, &b, &fx->err), 0);
    EXPECT(fx, ts_repo_plan_create(tx, &hidden, &h, &fx->err), 0);
    EXPECT(fx, ts_repo_plan_list_active(tx, &r, &fx->err), 0);
    assert_int_equal(ts_result_count(r), 2);
    ts_repo_plan_from(r, 0, &got);
    assert_int_equal(got.id, b); /* sort_order 1 first */
    ts_result_free(r);
    ts_set price = {"price_kopeks", ts_int(140000)};
    EXPECT(fx, ts_repo_plan_update(tx, a, &price, 1, &fx->err), 1);
    EXPECT(fx, ts_repo_plan_get(tx, a, &got, &fx->err), 1);
    assert_int_equal(got.price_kopeks, 140000);
    assert_int_equal(got.device_limit, 2);
    EXPECT(fx, ts_repo_plan_delete(tx, h, &fx->err), 1);
    EXPECT(fx, ts_repo_plan_get(tx, h, &got, &fx->err), 0);
    repo_commit(fx, tx);
}

/* Every repository under a tenant context sees its bot's rows only, both ways. */
static void test_tenant_isolation(void **state)
{
    repo_fx *fx = *state;
    char api[TS_REPO_API_TOKEN_SIZE], tr[TS_REPO_TRACKING_SIZE];
    int64_t bot = make_bot(fx, "4001:ISOLATED", api), mu, tu, tid, pid, cid, plan;
    ts_user u;
    ts_ticket t;
    ts_c2c_payment p;
    ts_card c;
    ts_plan pl;
    ts_result *r;

    ts_tx *tx = repo_begin(fx, M);
    ts_user_new nm = {5555, "master-user", NULL, NULL, NULL, 0, 0};
    EXPECT(fx, ts_repo_user_create(tx, &nm, &mu, NULL, &fx->err), 0);
    EXPECT(fx, ts_repo_update_record(tx, 900, &fx->err), 1);
    repo_commit(fx, tx);

    tx = repo_begin(fx, bot);
    /* The same telegram id is another person in another bot. */
    EXPECT(fx, ts_repo_user_by_telegram(tx, 5555, &u, &fx->err), 0);
    EXPECT(fx, ts_repo_user_get(tx, mu, &u, &fx->err), 0);
    ts_user_new nt = {5555, "tenant-user", NULL, NULL, NULL, 0, 0};
    EXPECT(fx, ts_repo_user_create(tx, &nt, &tu, NULL, &fx->err), 0);
    EXPECT(fx, ts_repo_update_record(tx, 900, &fx->err), 1); /* its own update ids */
    ts_ticket_text m = {"tenant ticket", NULL, NULL};
    EXPECT(fx, ts_repo_ticket_open(tx, tu, "x", "high", &m, &tid, &fx->err), 0);
    ts_c2c_new cn = {tu, 700, 0, "receipt", NULL};
    EXPECT(fx, ts_repo_c2c_create(tx, &cn, &pid, tr, &fx->err), 0);
    cid = make_card(fx, tx, "9999", NULL, 0);
    ts_plan tp = {0, "Tenant plan", 30, 1, 0, 0, 1, 0};
    EXPECT(fx, ts_repo_plan_create(tx, &tp, &plan, &fx->err), 0);
    EXPECT(fx, ts_repo_flag_set(tx, "tenant_only_key", 1, "{\"x\":1}", &fx->err), 0);
    EXPECT(fx, ts_repo_config_set(tx, "greeting", "{\"fa\":\"درود\"}", &fx->err), 0);
    repo_commit(fx, tx);

    tx = repo_begin(fx, M);
    EXPECT(fx, ts_repo_user_by_telegram(tx, 5555, &u, &fx->err), 1);
    assert_string_equal(u.username, "master-user");
    if (tu != mu)
        EXPECT(fx, ts_repo_user_get(tx, tu, &u, &fx->err), 0);
    EXPECT(fx, ts_repo_ticket_get(tx, tid, &t, &fx->err), 0);
    EXPECT(fx, ts_repo_c2c_by_tracking(tx, tr, &p, &fx->err), 0);
    EXPECT(fx, ts_repo_c2c_approve(tx, pid, 1, &tid, &fx->err), -1); /* not the master's */
    assert_int_equal(fx->err.code, TS_E_NOTFOUND);
    EXPECT(fx, ts_repo_card_get(tx, cid, &c, &fx->err), 0);
    EXPECT(fx, ts_repo_card_pick(tx, NULL, &c, &fx->err), 0);
    EXPECT(fx, ts_repo_plan_get(tx, plan, &pl, &fx->err), 0);
    EXPECT(fx, ts_repo_flag_enabled(tx, "tenant_only_key", &fx->err), 0);
    EXPECT(fx, ts_repo_config_list(tx, &r, &fx->err), 0);
    assert_int_equal(ts_result_count(r), 0);
    ts_result_free(r);
    repo_commit(fx, tx);

    tx = repo_begin(fx, bot);
    EXPECT(fx, ts_repo_user_by_telegram(tx, 5555, &u, &fx->err), 1);
    assert_string_equal(u.username, "tenant-user");
    EXPECT(fx, ts_repo_ticket_list_user(tx, tu, 10, &r, &fx->err), 0);
    assert_int_equal(ts_result_count(r), 1);
    ts_result_free(r);
    EXPECT(fx, ts_repo_c2c_approve(tx, pid, 1, &tid, &fx->err), 1);
    EXPECT(fx, ts_repo_user_get(tx, tu, &u, &fx->err), 1);
    assert_int_equal(u.balance_kopeks, 700);
    EXPECT(fx, ts_repo_flag_enabled(tx, "tenant_only_key", &fx->err), 1);
    repo_commit(fx, tx);
    /* Nothing of the tenant's reached legacy. */
    assert_int_equal(repo_count(fx->pair.legacy.url, "users", "username = 'tenant-user'"), 0);
}

/* Below read_new a tenant bot's repositories are refused, not written without a tenant. */
static void test_tenant_refused_below_read_new(void **state)
{
    repo_fx *fx = *state;
    char api[TS_REPO_API_TOKEN_SIZE];
    ts_user u;
    int64_t id, bot = make_bot(fx, "4002:EARLY", api);
    ts_test_set_stage(fx->pair.nw.url, "2.1", "shadow");
    EXPECT(fx, ts_shim_refresh(fx->sh, &fx->err), 0);
    ts_tx *tx = repo_begin(fx, bot);
    EXPECT(fx, ts_repo_user_by_telegram(tx, 1, &u, &fx->err), -1);
    assert_int_equal(fx->err.code, TS_E_STATE);
    ts_user_new nu = {1, NULL, NULL, NULL, NULL, 0, 0};
    EXPECT(fx, ts_repo_user_create(tx, &nu, &id, NULL, &fx->err), -1);
    assert_int_equal(fx->err.code, TS_E_STATE);
    repo_rollback(fx, tx);
    ts_test_set_stage(fx->pair.nw.url, "2.1", "read_new");
    EXPECT(fx, ts_shim_refresh(fx->sh, &fx->err), 0);
}

#define T(fn) cmocka_unit_test_teardown(fn, repo_test_teardown)

static const struct CMUnitTest tests[] = {
    T(test_bots),
    T(test_bot_delete_cascades),
    T(test_card_rotation),
    T(test_plans),
    T(test_tenant_isolation),
    T(test_tenant_refused_below_read_new),
};

int main(void)
{
    return repo_run_groups("repo bots", tests, sizeof tests / sizeof tests[0], 1);
}
