/* ts_repo_users.c: users and processed Telegram updates (increment 2.1). */
#include <stdlib.h>
#include <string.h>

#include "ts_repo_int.h"

static void user_from(const ts_result *r, int row, ts_user *u)
{
    u->id = ts_result_int(r, row, "id");
    u->telegram_id = ts_result_int(r, row, "telegram_id");
    REPO_TEXT(r, row, "username", u->username);
    REPO_TEXT(r, row, "first_name", u->first_name);
    REPO_TEXT(r, row, "last_name", u->last_name);
    REPO_TEXT(r, row, "status", u->status);
    REPO_TEXT(r, row, "language", u->language);
    u->balance_kopeks = ts_result_int(r, row, "balance_kopeks");
    u->used_promocodes = ts_result_int(r, row, "used_promocodes");
    u->has_had_paid_subscription = repo_bool(r, row, "has_had_paid_subscription");
    u->referred_by_id = ts_result_int(r, row, "referred_by_id");
    REPO_TEXT(r, row, "referral_code", u->referral_code);
    u->promo_group_id = ts_result_int(r, row, "promo_group_id");
    REPO_TEXT(r, row, "created_at", u->created_at);
    REPO_TEXT(r, row, "last_activity", u->last_activity);
}

static int user_find(ts_tx *tx, const ts_cond *c, ts_user *out, ts_error *err)
{
    ts_result *r;
    int rc = repo_one(tx, "users", c, 1, NULL, &r, err);
    if (rc == 1) {
        user_from(r, 0, out);
        ts_result_free(r);
    }
    return rc;
}

int ts_repo_user_get(ts_tx *tx, int64_t id, ts_user *out, ts_error *err)
{
    ts_cond c = {"id", ts_int(id)};
    return user_find(tx, &c, out, err);
}

int ts_repo_user_by_telegram(ts_tx *tx, int64_t telegram_id, ts_user *out, ts_error *err)
{
    ts_cond c = {"telegram_id", ts_int(telegram_id)};
    return user_find(tx, &c, out, err);
}

int ts_repo_user_by_referral_code(ts_tx *tx, const char *code, ts_user *out, ts_error *err)
{
    if (code == NULL || *code == '\0')
        return 0; /* NULL would match every user without a code */
    ts_cond c = {"referral_code", ts_text(code)};
    return user_find(tx, &c, out, err);
}

/*
 * 60 random bits as 12 Crockford base32 characters (no I, L, O, U: easy to
 * type from a shared link). Random rather than derived from the id because
 * the id is assigned by the insert that must already carry the code; at 60
 * bits a collision inside one bot is negligible, and the unique key
 * (bot_id, referral_code) backs it.
 */
static int referral_code(char out[TS_REPO_REFCODE_SIZE], ts_error *err)
{
    static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    unsigned char b[8];
    uint64_t bits = 0;
    if (repo_random(b, sizeof b, err))
        return -1;
    for (size_t i = 0; i < sizeof b; i++)
        bits = bits << 8 | b[i];
    for (int i = 0; i < TS_REPO_REFCODE_SIZE - 1; i++, bits >>= 5)
        out[i] = alphabet[bits & 31];
    out[TS_REPO_REFCODE_SIZE - 1] = '\0';
    return 0;
}

int ts_repo_user_create(ts_tx *tx, const ts_user_new *u, int64_t *id,
                        char code_out[TS_REPO_REFCODE_SIZE], ts_error *err)
{
    char code[TS_REPO_REFCODE_SIZE], now[TS_TIME_MAX];
    ts_set v[12];
    int n = 0;
    if (referral_code(code, err))
        return -1;
    repo_now(now);
    v[n++] = (ts_set){"referral_code", ts_text(code)};
    v[n++] = (ts_set){"created_at", ts_time(now)};
    v[n++] = (ts_set){"updated_at", ts_time(now)};
    v[n++] = (ts_set){"last_activity", ts_time(now)};
    if (u->telegram_id)
        v[n++] = (ts_set){"telegram_id", ts_int(u->telegram_id)};
    if (u->username)
        v[n++] = (ts_set){"username", ts_text(u->username)};
    if (u->first_name)
        v[n++] = (ts_set){"first_name", ts_text(u->first_name)};
    if (u->last_name)
        v[n++] = (ts_set){"last_name", ts_text(u->last_name)};
    if (u->language)
        v[n++] = (ts_set){"language", ts_text(u->language)};
    if (u->referred_by_id)
        v[n++] = (ts_set){"referred_by_id", ts_int(u->referred_by_id)};
    if (u->promo_group_id)
        v[n++] = (ts_set){"promo_group_id", ts_int(u->promo_group_id)};
    if (ts_tx_insert(tx, "users", v, n, id, err))
        return -1;
    if (code_out)
        memcpy(code_out, code, sizeof code);
    return 0;
}

int ts_repo_user_update(ts_tx *tx, int64_t id, const ts_set *fields, int nfields, ts_error *err)
{
    static const char *const allowed[] = {"username", "first_name", "last_name", "status",
                                          "language", "promo_group_id", "referred_by_id",
                                          "telegram_id", "last_activity", NULL};
    return repo_update_fields(tx, "users", id, fields, nfields, allowed, 1, err);
}

int ts_repo_user_add_balance(ts_tx *tx, int64_t id, int64_t delta, ts_error *err)
{
    ts_set s = {"balance_kopeks", ts_int(delta), 1};
    return repo_update_id(tx, "users", id, &s, 1, err);
}

/* One conditional statement: the balance is compared where it is changed, so
   two debits cannot both pass a check made before either wrote. */
int ts_repo_user_debit(ts_tx *tx, int64_t id, int64_t amount, ts_error *err)
{
    if (amount < 0)
        return ts_fail(err, TS_E_INVALID, "a debit of %lld kopeks: give a positive amount "
                       "(credits use ts_repo_user_add_balance)", (long long)amount);
    ts_cond c[2] = {{"id", ts_int(id)}, {"balance_kopeks", ts_int(amount), TS_OP_GE}};
    ts_set s = {"balance_kopeks", ts_int(-amount), 1};
    int64_t changed = 0;
    if (ts_tx_update(tx, "users", c, 2, &s, 1, &changed, err))
        return -1;
    return changed > 0;
}

int ts_repo_user_mark_paid(ts_tx *tx, int64_t id, ts_error *err)
{
    ts_cond c[2] = {{"id", ts_int(id)}, {"has_had_paid_subscription", ts_bool(0)}};
    ts_set s = {"has_had_paid_subscription", ts_bool(1)};
    int64_t changed = 0;
    if (ts_tx_update(tx, "users", c, 2, &s, 1, &changed, err))
        return -1;
    return changed > 0;
}

int ts_repo_user_page(ts_tx *tx, ts_user_cursor *cur, int page_size, ts_user **users, int *n,
                      ts_error *err)
{
    ts_cond after = {"id", ts_int(cur->after_id), TS_OP_GT};
    ts_result *r;
    *users = NULL;
    *n = 0;
    if (page_size <= 0 || page_size > 1000)
        return ts_fail(err, TS_E_INVALID, "page size %d: use 1 to 1000", page_size);
    if (ts_tx_select(tx, "users", &after, 1, "id", page_size, &r, err))
        return -1;
    int count = ts_result_count(r);
    if (count > 0 && (*users = calloc((size_t)count, sizeof **users)) == NULL) {
        ts_result_free(r);
        return ts_fail(err, TS_E_NOMEM, "out of memory for a page of %d users", count);
    }
    for (int i = 0; i < count; i++)
        user_from(r, i, &(*users)[i]);
    ts_result_free(r);
    if (count > 0) {
        cur->after_id = (*users)[count - 1].id;
        cur->seen += count;
    }
    *n = count;
    return 0;
}

int ts_repo_user_count(ts_tx *tx, int64_t *count, ts_error *err)
{
    return ts_tx_count(tx, "users", NULL, 0, count, err);
}

int ts_repo_user_referred_count(ts_tx *tx, int64_t referrer_id, int64_t *count, ts_error *err)
{
    ts_cond c = {"referred_by_id", ts_int(referrer_id)};
    return ts_tx_count(tx, "users", &c, 1, count, err);
}

/* ---- processed updates ----------------------------------------------------------- */

/* The key (bot_id, update_id) decides: a redelivery, in this process or another,
   inserts nothing, and the unit of work goes on without an error. */
int ts_repo_update_record(ts_tx *tx, int64_t update_id, ts_error *err)
{
    char now[TS_TIME_MAX];
    int inserted;
    repo_now(now);
    ts_set v[2] = {{"update_id", ts_int(update_id)}, {"processed_at", ts_time(now)}};
    if (ts_tx_insert_if_absent(tx, "ts_processed_updates", v, 2, &inserted, NULL, err))
        return -1;
    return inserted;
}
