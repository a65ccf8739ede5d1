/* ts_repo_subs.c: subscriptions and transactions (increment 2.3). */
#include <stdint.h>
#include <string.h>

#include "ts_repo_int.h"

static void sub_from(const ts_result *r, int row, ts_subscription *s)
{
    s->id = ts_result_int(r, row, "id");
    s->user_id = ts_result_int(r, row, "user_id");
    REPO_TEXT(r, row, "status", s->status);
    s->is_trial = repo_bool(r, row, "is_trial");
    REPO_TEXT(r, row, "start_date", s->start_date);
    REPO_TEXT(r, row, "end_date", s->end_date);
    s->traffic_limit_gb = ts_result_int(r, row, "traffic_limit_gb");
    s->traffic_used_gb = repo_double(r, row, "traffic_used_gb");
    s->device_limit = ts_result_int(r, row, "device_limit");
    s->autopay_enabled = repo_bool(r, row, "autopay_enabled");
    REPO_TEXT(r, row, "subscription_url", s->subscription_url);
}

/*
 * A user has one subscription (the real bot's subscriptions.user_id is
 * unique): a new one takes the row over when there is one, locked first so
 * two starts do not both insert.
 */
int ts_repo_sub_create(ts_tx *tx, const ts_subscription_new *s, int64_t *id, ts_error *err)
{
    char now[TS_TIME_MAX], end[TS_TIME_MAX];
    ts_set v[10];
    ts_cond mine = {"user_id", ts_int(s->user_id)};
    ts_result *r;
    int n = 0, rc;
    if (s->days <= 0)
        return ts_fail(err, TS_E_INVALID, "a subscription of %lld days: give at least 1 day",
                       (long long)s->days);
    repo_now(now);
    if (repo_time_extend(now, s->days * 86400, end, err))
        return -1;
    if ((rc = repo_lock_one(tx, "subscriptions", &mine, 1, &r, err)) < 0)
        return -1;
    if (rc == 1) {
        *id = ts_result_int(r, 0, "id");
        ts_result_free(r);
    }
    if (rc == 0)
        v[n++] = (ts_set){"user_id", ts_int(s->user_id)};
    v[n++] = (ts_set){"status", ts_text(s->is_trial ? "trial" : "active")};
    v[n++] = (ts_set){"is_trial", ts_bool(s->is_trial)};
    v[n++] = (ts_set){"start_date", ts_time(now)};
    v[n++] = (ts_set){"end_date", ts_time(end)};
    v[n++] = (ts_set){"traffic_limit_gb", ts_int(s->traffic_limit_gb)};
    v[n++] = (ts_set){"updated_at", ts_time(now)};
    v[n++] = (ts_set){"device_limit", ts_int(s->device_limit ? s->device_limit : 1)};
    if (rc == 1)
        return repo_update_id(tx, "subscriptions", *id, v, n, err) < 0 ? -1 : 0;
    v[n++] = (ts_set){"created_at", ts_time(now)};
    return ts_tx_insert(tx, "subscriptions", v, n, id, err);
}

int ts_repo_sub_get(ts_tx *tx, int64_t id, ts_subscription *out, ts_error *err)
{
    ts_cond c = {"id", ts_int(id)};
    ts_result *r;
    int rc = repo_one(tx, "subscriptions", &c, 1, NULL, &r, err);
    if (rc == 1) {
        sub_from(r, 0, out);
        ts_result_free(r);
    }
    return rc;
}

/*
 * Conditions of a running subscription: neither expired, disabled nor
 * pending (the real bot's other statuses: trial and active), and an end date
 * after now. SQLite compares the canonical text: exact to the second.
 */
#define LIVE_CONDS 4

static void live_conds(ts_cond c[LIVE_CONDS], const char *now)
{
    c[0] = (ts_cond){"status", ts_text("expired"), TS_OP_NE};
    c[1] = (ts_cond){"status", ts_text("disabled"), TS_OP_NE};
    c[2] = (ts_cond){"status", ts_text("pending"), TS_OP_NE};
    c[3] = (ts_cond){"end_date", ts_time(now), TS_OP_GT};
}

int ts_repo_sub_active(ts_tx *tx, int64_t user_id, ts_subscription *out, ts_error *err)
{
    ts_cond c[LIVE_CONDS + 1];
    ts_result *r;
    char now[TS_TIME_MAX];
    repo_now(now);
    live_conds(c, now);
    c[LIVE_CONDS] = (ts_cond){"user_id", ts_int(user_id)};
    int rc = repo_one(tx, "subscriptions", c, LIVE_CONDS + 1, "id DESC", &r, err);
    if (rc == 1) {
        sub_from(r, 0, out);
        ts_result_free(r);
    }
    return rc;
}

int ts_repo_sub_active_count(ts_tx *tx, int64_t *count, ts_error *err)
{
    ts_cond c[LIVE_CONDS];
    char now[TS_TIME_MAX];
    repo_now(now);
    live_conds(c, now);
    return ts_tx_count(tx, "subscriptions", c, LIVE_CONDS, count, err);
}

int ts_repo_sub_extend(ts_tx *tx, int64_t id, int64_t days, ts_error *err)
{
    char end[TS_TIME_MAX];
    ts_cond c = {"id", ts_int(id)};
    ts_subscription s;
    ts_result *r;
    if (days <= 0)
        return ts_fail(err, TS_E_INVALID, "extending by %lld days: give at least 1 day",
                       (long long)days);
    /* Locked: a second extension waits, then reads this one's end date (no lost days). */
    int rc = repo_lock_one(tx, "subscriptions", &c, 1, &r, err);
    if (rc <= 0)
        return rc;
    sub_from(r, 0, &s);
    ts_result_free(r);
    if (repo_time_extend(s.end_date, days * 86400, end, err))
        return -1;
    ts_set v[2] = {{"end_date", ts_time(end)},
                   {"status", ts_text(strcmp(s.status, "expired") == 0 ? "active" : s.status)}};
    return repo_update_id(tx, "subscriptions", id, v, 2, err);
}

/* ---- transactions ------------------------------------------------------------------ */

/*
 * A deposit is recorded once per (external_id, payment_method): the real
 * bot's transactions have no unique key on them, so the pair is looked for
 * first. Its callers hold the row of the payment being settled (or the
 * update's record) for the unit, so no two units record the same pair at once.
 */
int ts_repo_txn_create(ts_tx *tx, const ts_txn_new *t, int64_t *id, int *already, ts_error *err)
{
    char now[TS_TIME_MAX];
    ts_set v[9];
    int n = 0;
    *already = 0;
    if (t->external_id != NULL) {
        ts_cond c[2] = {{"external_id", ts_text(t->external_id)},
                        {"payment_method", ts_text(t->payment_method)}};
        ts_result *r;
        int found = repo_one(tx, "transactions", c, 2, NULL, &r, err);
        if (found == 1)
            *id = ts_result_int(r, 0, "id");
        ts_result_free(r);
        if (found != 0) {
            *already = found == 1;
            return found < 0 ? -1 : 0;
        }
    }
    repo_now(now);
    v[n++] = (ts_set){"user_id", ts_int(t->user_id)};
    v[n++] = (ts_set){"type", ts_text(t->type)};
    v[n++] = (ts_set){"amount_kopeks", ts_int(t->amount_kopeks)};
    v[n++] = (ts_set){"description", ts_text(t->description)};
    v[n++] = (ts_set){"payment_method", ts_text(t->payment_method)};
    v[n++] = (ts_set){"external_id", ts_text(t->external_id)};
    v[n++] = (ts_set){"is_completed", ts_bool(t->completed)};
    v[n++] = (ts_set){"created_at", ts_time(now)};
    v[n++] = (ts_set){"completed_at", t->completed ? ts_time(now) : ts_null()};
    return ts_tx_insert(tx, "transactions", v, n, id, err);
}

int ts_repo_txn_complete(ts_tx *tx, int64_t id, ts_error *err)
{
    char now[TS_TIME_MAX];
    repo_now(now);
    ts_cond c[2] = {{"id", ts_int(id)}, {"is_completed", ts_bool(0)}};
    ts_set s[2] = {{"is_completed", ts_bool(1)}, {"completed_at", ts_time(now)}};
    return repo_transition(tx, "transactions", c, 2, s, 2, c, 1, "transaction", err);
}

int ts_repo_txn_list(ts_tx *tx, int64_t user_id, int limit, ts_result **out, ts_error *err)
{
    ts_cond c = {"user_id", ts_int(user_id)};
    return ts_tx_select(tx, "transactions", &c, 1, "id DESC", limit, out, err);
}
