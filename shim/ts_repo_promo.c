/* ts_repo_promo.c: promo codes and their uses, promo groups, referral earnings
   (increments 2.1 and 3.2). */
#include <string.h>

#include "ts_repo_int.h"

/* ---- promo groups ------------------------------------------------------------ */

static void promo_group_from(const ts_result *r, int row, ts_promo_group *g)
{
    g->id = ts_result_int(r, row, "id");
    REPO_TEXT(r, row, "name", g->name);
    g->priority = ts_result_int(r, row, "priority");
    g->server_discount_percent = ts_result_int(r, row, "server_discount_percent");
    g->traffic_discount_percent = ts_result_int(r, row, "traffic_discount_percent");
    g->device_discount_percent = ts_result_int(r, row, "device_discount_percent");
    g->is_default = repo_bool(r, row, "is_default");
}

static int promo_group_find(ts_tx *tx, const ts_cond *c, ts_promo_group *out, ts_error *err)
{
    ts_result *r;
    int rc = repo_one(tx, "promo_groups", c, 1, "id", &r, err);
    if (rc == 1) {
        promo_group_from(r, 0, out);
        ts_result_free(r);
    }
    return rc;
}

int ts_repo_promo_group_create(ts_tx *tx, const char *name, int is_default, int64_t *id,
                               ts_error *err)
{
    char now[TS_TIME_MAX];
    repo_now(now);
    ts_set v[4] = {{"name", ts_text(name)}, {"is_default", ts_bool(is_default)},
                   {"created_at", ts_time(now)}, {"updated_at", ts_time(now)}};
    return ts_tx_insert(tx, "promo_groups", v, 4, id, err);
}

int ts_repo_promo_group_get(ts_tx *tx, int64_t id, ts_promo_group *out, ts_error *err)
{
    ts_cond c = {"id", ts_int(id)};
    return promo_group_find(tx, &c, out, err);
}

int ts_repo_promo_group_default(ts_tx *tx, ts_promo_group *out, ts_error *err)
{
    ts_cond c = {"is_default", ts_bool(1)};
    return promo_group_find(tx, &c, out, err);
}

/* ---- promo codes ------------------------------------------------------------------ */

static void promo_from(const ts_result *r, int row, ts_promocode *p)
{
    p->id = ts_result_int(r, row, "id");
    REPO_TEXT(r, row, "code", p->code);
    REPO_TEXT(r, row, "type", p->type);
    p->balance_bonus_kopeks = ts_result_int(r, row, "balance_bonus_kopeks");
    p->subscription_days = ts_result_int(r, row, "subscription_days");
    p->max_uses = ts_result_int(r, row, "max_uses");
    p->current_uses = ts_result_int(r, row, "current_uses");
    REPO_TEXT(r, row, "valid_from", p->valid_from);
    REPO_TEXT(r, row, "valid_until", p->valid_until);
    p->is_active = repo_bool(r, row, "is_active");
}

int ts_repo_promo_create(ts_tx *tx, const ts_promocode_new *p, int64_t *id, ts_error *err)
{
    char now[TS_TIME_MAX];
    ts_set v[11];
    int n = 0;
    repo_now(now);
    v[n++] = (ts_set){"code", ts_text(p->code)};
    v[n++] = (ts_set){"type", ts_text(p->type)};
    v[n++] = (ts_set){"balance_bonus_kopeks", ts_int(p->balance_bonus_kopeks)};
    v[n++] = (ts_set){"subscription_days", ts_int(p->subscription_days)};
    v[n++] = (ts_set){"valid_from", ts_time(p->valid_from)};
    v[n++] = (ts_set){"valid_until", ts_time(p->valid_until)};
    v[n++] = (ts_set){"created_at", ts_time(now)};
    v[n++] = (ts_set){"updated_at", ts_time(now)};
    if (p->max_uses)
        v[n++] = (ts_set){"max_uses", ts_int(p->max_uses)};
    if (p->created_by)
        v[n++] = (ts_set){"created_by", ts_int(p->created_by)};
    return ts_tx_insert(tx, "promocodes", v, n, id, err);
}

/* The code's row; with lock, held until the unit ends (uses are counted from it). */
static int promo_lookup(ts_tx *tx, const char *code, int lock, ts_promocode *out, ts_error *err)
{
    ts_cond c = {"code", ts_text(code)};
    ts_result *r;
    int rc = lock ? repo_lock_one(tx, "promocodes", &c, 1, &r, err)
                  : repo_one(tx, "promocodes", &c, 1, NULL, &r, err);
    if (rc == 1) {
        promo_from(r, 0, out);
        ts_result_free(r);
    }
    return rc;
}

int ts_repo_promo_find(ts_tx *tx, const char *code, ts_promocode *out, ts_error *err)
{
    return promo_lookup(tx, code, 0, out, err);
}

const char *ts_promo_outcome_name(ts_promo_outcome o)
{
    static const char *const names[] = {"applied", "unknown", "inactive", "not_yet_valid",
                                        "expired", "used_up", "already_used"};
    return (unsigned)o < sizeof names / sizeof names[0] ? names[o] : "?";
}

/* Whether the code may be used at now_us: *o stays TS_PROMO_APPLIED when it may. */
static int promo_window(const ts_promocode *p, int64_t now_us, ts_promo_outcome *o, ts_error *err)
{
    int64_t from = 0, until = 0;
    if ((p->valid_from[0] && repo_time_us(p->valid_from, &from, err)) ||
        (p->valid_until[0] && repo_time_us(p->valid_until, &until, err)))
        return -1;
    *o = !p->is_active                           ? TS_PROMO_INACTIVE
         : p->valid_from[0] && now_us < from     ? TS_PROMO_NOT_YET_VALID
         : p->valid_until[0] && now_us >= until  ? TS_PROMO_EXPIRED
                                                 : TS_PROMO_APPLIED;
    return 0;
}

/* The bonus of a code: balance, or days on the running subscription (a new
   one when none runs; a trial code makes a trial). */
static int promo_give(ts_tx *tx, const ts_promocode *p, int64_t user_id, ts_error *err)
{
    if (strcmp(p->type, "balance") == 0) {
        int64_t tid;
        int already;
        ts_txn_new t = {user_id, "deposit", p->balance_bonus_kopeks, "promo code", "promocode",
                        NULL, 1};
        int rc = ts_repo_user_add_balance(tx, user_id, p->balance_bonus_kopeks, err);
        if (rc == 0)
            return ts_fail(err, TS_E_NOTFOUND, "promo code for user %lld: no such user of this "
                           "bot", (long long)user_id);
        return rc < 0 ? -1 : ts_repo_txn_create(tx, &t, &tid, &already, err);
    }
    int trial = strcmp(p->type, "trial_subscription") == 0;
    ts_subscription s;
    int rc = trial ? 0 : ts_repo_sub_active(tx, user_id, &s, err);
    if (rc == 1)
        return ts_repo_sub_extend(tx, s.id, p->subscription_days, err) < 0 ? -1 : 0;
    int64_t id;
    ts_subscription_new ns = {user_id, trial, p->subscription_days, 0, 0};
    return rc < 0 ? -1 : ts_repo_sub_create(tx, &ns, &id, err);
}

/*
 * The code's row is locked first, so concurrent uses are counted one after the
 * other against max_uses, and once per user is decided under that lock too:
 * the real bot's promocode_uses has no unique key on (user_id,
 * promocode_id), so the use is looked for before it is inserted.
 */
int ts_repo_promo_apply(ts_tx *tx, const char *code, int64_t user_id, int64_t now_unix,
                        ts_promo_outcome *outcome, ts_error *err)
{
    ts_promocode p;
    char now[TS_TIME_MAX];
    int64_t now_us;
    int rc;
    repo_now(now);
    if (repo_time_us(now, &now_us, err))
        return -1;
    if (now_unix)
        now_us = now_unix * 1000000;
    *outcome = TS_PROMO_UNKNOWN;
    if ((rc = promo_lookup(tx, code, 1, &p, err)) <= 0)
        return rc;
    if (promo_window(&p, now_us, outcome, err))
        return -1;
    if (*outcome != TS_PROMO_APPLIED)
        return 0;
    ts_cond c[2] = {{"user_id", ts_int(user_id)}, {"promocode_id", ts_int(p.id)}};
    ts_result *r;
    if ((rc = repo_one(tx, "promocode_uses", c, 2, NULL, &r, err)) < 0)
        return -1;
    ts_result_free(r);
    if (rc || p.current_uses >= p.max_uses) {
        *outcome = rc ? TS_PROMO_ALREADY_USED : TS_PROMO_USED_UP;
        return 0;
    }
    ts_set use[3] = {{"promocode_id", ts_int(p.id)}, {"user_id", ts_int(user_id)},
                     {"used_at", ts_time(now)}};
    if (ts_tx_insert(tx, "promocode_uses", use, 3, NULL, err))
        return -1;
    ts_set taken = {"current_uses", ts_int(1), 1}, count = {"used_promocodes", ts_int(1), 1};
    if (repo_update_id(tx, "promocodes", p.id, &taken, 1, err) < 0 ||
        promo_give(tx, &p, user_id, err) ||
        repo_update_id(tx, "users", user_id, &count, 1, err) < 0)
        return -1;
    return 0;
}

/* ---- referral earnings ------------------------------------------------------------------- */

int ts_repo_referral_first_payment(ts_tx *tx, int64_t user_id, int64_t base_kopeks, int percent,
                                   int64_t transaction_id, int64_t *reward, ts_error *err)
{
    ts_user u;
    char now[TS_TIME_MAX];
    int64_t tid;
    int already, rc;
    *reward = 0;
    if ((rc = ts_repo_user_mark_paid(tx, user_id, err)) <= 0)
        return rc;
    if ((rc = ts_repo_user_get(tx, user_id, &u, err)) <= 0)
        return rc;
    int64_t amount = base_kopeks * percent / 100;
    if (u.referred_by_id == 0 || u.referred_by_id == user_id || amount <= 0)
        return 0;
    repo_now(now);
    ts_set e[6] = {{"user_id", ts_int(u.referred_by_id)},
                   {"referral_id", ts_int(user_id)},
                   {"amount_kopeks", ts_int(amount)},
                   {"reason", ts_text("first_payment")},
                   {"referral_transaction_id", transaction_id ? ts_int(transaction_id) : ts_null()},
                   {"created_at", ts_time(now)}};
    ts_txn_new t = {u.referred_by_id, "referral_reward", amount, "referral reward", NULL, NULL, 1};
    if (ts_tx_insert(tx, "referral_earnings", e, 6, NULL, err) ||
        ts_repo_txn_create(tx, &t, &tid, &already, err) ||
        ts_repo_user_add_balance(tx, u.referred_by_id, amount, err) < 0)
        return -1;
    *reward = amount;
    return 1;
}

int ts_repo_referral_earnings(ts_tx *tx, int64_t referrer_id, int limit, ts_result **out,
                              ts_error *err)
{
    ts_cond c = {"user_id", ts_int(referrer_id)};
    return ts_tx_select(tx, "referral_earnings", &c, 1, "id DESC", limit, out, err);
}
