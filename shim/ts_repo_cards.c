/* ts_repo_cards.c: the bot's payment cards and their rotation (increment 1.4b / 2.4a),
   and its plans (1.4c). Both tables exist only in the new store (increment 1.1). */
#include <stdio.h>
#include <string.h>

#include "ts_repo_int.h"

void ts_repo_card_from(const ts_result *r, int row, ts_card *c)
{
    c->id = ts_result_int(r, row, "id");
    REPO_TEXT(r, row, "card_number", c->card_number);
    REPO_TEXT(r, row, "card_holder_name", c->card_holder_name);
    REPO_TEXT(r, row, "rotation_strategy", c->rotation_strategy);
    c->rotation_interval_minutes = ts_result_int(r, row, "rotation_interval_minutes");
    c->weight = ts_result_int(r, row, "weight");
    c->success_count = ts_result_int(r, row, "success_count");
    c->failure_count = ts_result_int(r, row, "failure_count");
    c->is_active = repo_bool(r, row, "is_active");
    REPO_TEXT(r, row, "last_used_at", c->last_used_at);
    c->current_usage_count = ts_result_int(r, row, "current_usage_count");
}

int ts_repo_card_create(ts_tx *tx, const ts_card_new *c, int64_t *id, ts_error *err)
{
    ts_set v[5] = {{"card_number", ts_text(c->card_number)},
                   {"card_holder_name", ts_text(c->card_holder_name)},
                   {"rotation_strategy", ts_text(c->rotation_strategy ? c->rotation_strategy
                                                                      : "round_robin")},
                   {"rotation_interval_minutes",
                    ts_int(c->rotation_interval_minutes ? c->rotation_interval_minutes : 60)},
                   {"weight", ts_int(c->weight ? c->weight : 1)}};
    return ts_tx_insert(tx, "tenant_payment_cards", v, 5, id, err);
}

int ts_repo_card_get(ts_tx *tx, int64_t id, ts_card *out, ts_error *err)
{
    ts_cond c = {"id", ts_int(id)};
    ts_result *r;
    int rc = repo_one(tx, "tenant_payment_cards", &c, 1, NULL, &r, err);
    if (rc == 1) {
        ts_repo_card_from(r, 0, out);
        ts_result_free(r);
    }
    return rc;
}

int ts_repo_card_list(ts_tx *tx, int active_only, ts_result **out, ts_error *err)
{
    ts_cond c = {"is_active", ts_bool(1)};
    return ts_tx_select(tx, "tenant_payment_cards", &c, active_only ? 1 : 0, "id", 0, out, err);
}

int ts_repo_card_page(ts_tx *tx, int64_t after, int limit, ts_result **out, ts_error *err)
{
    return repo_page(tx, "tenant_payment_cards", after, limit, out, err);
}

int ts_repo_card_set_rotation(ts_tx *tx, const char *strategy, int64_t interval_minutes,
                              int64_t *changed, ts_error *err)
{
    ts_set s[2] = {{"rotation_strategy", ts_text(strategy)},
                   {"rotation_interval_minutes", ts_int(interval_minutes)}};
    *changed = 0;
    return ts_tx_update(tx, "tenant_payment_cards", NULL, 0, s, interval_minutes > 0 ? 2 : 1,
                        changed, err);
}

int ts_repo_card_rotation(ts_tx *tx, char *strategy, size_t n, int64_t *interval_minutes,
                          ts_error *err)
{
    ts_cond active = {"is_active", ts_bool(1)};
    ts_result *r;
    int rc = repo_one(tx, "tenant_payment_cards", &active, 1, "id", &r, err);
    if (rc == 0)
        rc = repo_one(tx, "tenant_payment_cards", NULL, 0, "id", &r, err);
    if (rc < 0)
        return -1;
    snprintf(strategy, n, "%s", rc ? ts_result_text(r, 0, "rotation_strategy") : "round_robin");
    *interval_minutes = rc ? ts_result_int(r, 0, "rotation_interval_minutes") : 60;
    if (rc)
        ts_result_free(r);
    return rc;
}

#define APPROVED_PAGE 500

int ts_repo_card_approved(ts_tx *tx, int64_t id, int64_t *payments, int64_t *kopeks,
                          ts_error *err)
{
    /* summed a page at a time in id order: bounded memory however many */
    ts_cond c[3] = {{"card_id", ts_int(id)}, {"status", ts_text("approved")},
                    {"id", ts_int(0), TS_OP_GT}};
    *payments = *kopeks = 0;
    for (;;) {
        ts_result *r;
        if (ts_tx_select(tx, "card_to_card_payments", c, 3, "id", APPROVED_PAGE, &r, err))
            return -1;
        int n = ts_result_count(r);
        for (int i = 0; i < n; i++)
            *kopeks += ts_result_int(r, i, "amount_kopeks");
        *payments += n;
        if (n > 0)
            c[2].val = ts_int(ts_result_int(r, n - 1, "id"));
        ts_result_free(r);
        if (n < APPROVED_PAGE)
            return 0;
    }
}

int ts_repo_card_update(ts_tx *tx, int64_t id, const ts_set *fields, int nfields, ts_error *err)
{
    static const char *const allowed[] = {"card_number", "card_holder_name", "rotation_strategy",
                                          "rotation_interval_minutes", "weight", "is_active", NULL};
    return repo_update_fields(tx, "tenant_payment_cards", id, fields, nfields, allowed, 0, err);
}

int ts_repo_card_delete(ts_tx *tx, int64_t id, ts_error *err)
{
    /* Payments keep their history: the reference to the card goes, the row
       stays. card_id exists only in the new store, so while legacy answers for
       increment 3.3 this fails; cards are deactivated (is_active) until then. */
    ts_cond c = {"card_id", ts_int(id)};
    ts_set s = {"card_id", ts_null()};
    if (ts_tx_update(tx, "card_to_card_payments", &c, 1, &s, 1, NULL, err)) {
        ts_error_context(err, "deleting card %lld (deactivate it instead until increment 3.3 "
                         "reads new)", (long long)id);
        return -1;
    }
    return repo_delete_id(tx, "tenant_payment_cards", id, err);
}

int ts_repo_card_record(ts_tx *tx, int64_t id, int success, ts_error *err)
{
    ts_set s = {success ? "success_count" : "failure_count", ts_int(1), 1};
    int rc = repo_update_id(tx, "tenant_payment_cards", id, &s, 1, err);
    return rc == 0 ? ts_fail(err, TS_E_NOTFOUND, "card %lld: no such card of this bot",
                             (long long)id)
                   : rc < 0 ? -1 : 0;
}

/* ---- rotation ---------------------------------------------------------------------- */

/* A uniform 64-bit draw: splitmix64 over a caller's seed (reproducible), else OpenSSL. */
static int draw(const ts_card_pick *o, uint64_t *out, ts_error *err)
{
    if (o->seed == NULL)
        return repo_random(out, sizeof *out, err);
    uint64_t z = (*o->seed += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    *out = z ^ (z >> 31);
    return 0;
}

/* Index of the least recently used card: never used first, then oldest, then lowest id. */
static int pick_lru(const int64_t *used_us, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (used_us[i] < used_us[best])
            best = i;
    return best;
}

/* weight x success rate; a card with no history counts as fully successful. */
static double card_score(const ts_result *r, int i)
{
    int64_t ok = ts_result_int(r, i, "success_count"), bad = ts_result_int(r, i, "failure_count");
    int64_t w = ts_result_int(r, i, "weight");
    double rate = ok + bad > 0 ? (double)ok / (double)(ok + bad) : 1.0;
    return w > 0 ? (double)w * rate : 0.0;
}

static int pick_weighted(const ts_result *r, int n, uint64_t u)
{
    double total = 0, x;
    for (int i = 0; i < n; i++)
        total += card_score(r, i);
    if (total <= 0) /* every card failing: fall back to a uniform draw */
        return (int)(u % (uint64_t)n);
    x = (double)(u >> 11) / (double)(1ull << 53) * total;
    for (int i = 0; i < n; i++) {
        double s = card_score(r, i);
        if (x < s)
            return i;
        x -= s;
    }
    return n - 1;
}

#define MAX_CARDS 256

int ts_repo_card_pick(ts_tx *tx, const ts_card_pick *opts, ts_card *out, ts_error *err)
{
    static const ts_card_pick production = {0};
    ts_result *r;
    int64_t used_us[MAX_CARDS], max_us = 0, now_us;
    char now[TS_TIME_MAX];
    uint64_t u = 0;
    int pick = 0, rc = -1;
    if (opts == NULL)
        opts = &production;
    /* The active cards are locked: concurrent picks take turns, so each sees
       the last one's last_used_at (round robin never shows one card twice). */
    ts_cond active = {"is_active", ts_bool(1)};
    repo_now(now);
    if (repo_time_us(now, &now_us, err) ||
        ts_tx_select_for_update(tx, "tenant_payment_cards", &active, 1, "id", 0, &r, err))
        return -1;
    int n = ts_result_count(r);
    if (n == 0 || n > MAX_CARDS) {
        ts_result_free(r);
        return n == 0 ? 0 : ts_fail(err, TS_E_INVALID, "more than %d active cards: deactivate "
                                    "some", MAX_CARDS);
    }
    for (int i = 0; i < n; i++) {
        const char *t = ts_result_text(r, i, "last_used_at");
        used_us[i] = INT64_MIN;
        if (t && repo_time_us(t, &used_us[i], err))
            goto out;
        if (used_us[i] > max_us)
            max_us = used_us[i];
    }
    const char *strategy = ts_result_text(r, 0, "rotation_strategy");
    if (strcmp(strategy, "round_robin") == 0) {
        pick = pick_lru(used_us, n);
    } else if (strcmp(strategy, "time_based") == 0) {
        int64_t minutes = ts_result_int(r, 0, "rotation_interval_minutes");
        int64_t t = opts->now_unix ? opts->now_unix : now_us / 1000000;
        pick = (int)((t / ((minutes > 0 ? minutes : 60) * 60)) % n);
    } else {
        if (draw(opts, &u, err))
            goto out;
        pick = strcmp(strategy, "weighted") == 0 ? pick_weighted(r, n, u) : (int)(u % (uint64_t)n);
    }
    /* Strictly after every earlier use, so least-recently-used order never ties
       (two picks within one clock tick would otherwise). */
    repo_time_from_us(now_us > max_us ? now_us : max_us + 1, now);
    ts_repo_card_from(r, pick, out);
    ts_set s[2] = {{"last_used_at", ts_time(now)}, {"current_usage_count", ts_int(1), 1}};
    if (repo_update_id(tx, "tenant_payment_cards", out->id, s, 2, err) < 0)
        goto out;
    memcpy(out->last_used_at, now, sizeof now);
    out->current_usage_count++;
    rc = 1;
out:
    ts_result_free(r);
    return rc;
}

/* ---- plans ------------------------------------------------------------------------------ */

void ts_repo_plan_from(const ts_result *r, int row, ts_plan *p)
{
    p->id = ts_result_int(r, row, "id");
    REPO_TEXT(r, row, "name", p->name);
    p->period_days = ts_result_int(r, row, "period_days");
    p->price_kopeks = ts_result_int(r, row, "price_kopeks");
    p->traffic_limit_gb = ts_result_int(r, row, "traffic_limit_gb");
    p->device_limit = ts_result_int(r, row, "device_limit");
    p->is_active = repo_bool(r, row, "is_active");
    p->sort_order = ts_result_int(r, row, "sort_order");
}

int ts_repo_plan_create(ts_tx *tx, const ts_plan *p, int64_t *id, ts_error *err)
{
    ts_set v[7] = {{"name", ts_text(p->name)},
                   {"period_days", ts_int(p->period_days)},
                   {"price_kopeks", ts_int(p->price_kopeks)},
                   {"traffic_limit_gb", ts_int(p->traffic_limit_gb)},
                   {"device_limit", ts_int(p->device_limit ? p->device_limit : 1)},
                   {"is_active", ts_bool(p->is_active)},
                   {"sort_order", ts_int(p->sort_order)}};
    return ts_tx_insert(tx, "bot_plans", v, 7, id, err);
}

int ts_repo_plan_get(ts_tx *tx, int64_t id, ts_plan *out, ts_error *err)
{
    ts_cond c = {"id", ts_int(id)};
    ts_result *r;
    int rc = repo_one(tx, "bot_plans", &c, 1, NULL, &r, err);
    if (rc == 1) {
        ts_repo_plan_from(r, 0, out);
        ts_result_free(r);
    }
    return rc;
}

int ts_repo_plan_list_active(ts_tx *tx, ts_result **out, ts_error *err)
{
    ts_cond c = {"is_active", ts_bool(1)};
    return ts_tx_select(tx, "bot_plans", &c, 1, "sort_order", 0, out, err);
}

int ts_repo_plan_list(ts_tx *tx, ts_result **out, ts_error *err)
{
    return ts_tx_select(tx, "bot_plans", NULL, 0, "sort_order", 0, out, err);
}

int ts_repo_plan_update(ts_tx *tx, int64_t id, const ts_set *fields, int nfields, ts_error *err)
{
    static const char *const allowed[] = {"name", "period_days", "price_kopeks",
                                          "traffic_limit_gb", "device_limit", "is_active",
                                          "sort_order", NULL};
    return repo_update_fields(tx, "bot_plans", id, fields, nfields, allowed, 0, err);
}

int ts_repo_plan_delete(ts_tx *tx, int64_t id, ts_error *err)
{
    return repo_delete_id(tx, "bot_plans", id, err);
}
