/*
 * ts_repo_payments.c: card-to-card payments (increment 3.3) and Zarinpal
 * payments (a new table of 1.1). Both settle the same way: a conditional
 * move out of 'pending' on the payment's own row that only one caller can
 * win, then a completed deposit transaction and the balance credit, in the
 * caller's unit of work.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_repo_int.h"

/*
 * Record the deposit of a payment whose move out of 'pending' this unit just
 * won, and credit the user; *txn_id gets it. The won transition is what says
 * "not credited yet", so a deposit already holding (method, external_id)
 * belongs to something else (legacy data reuses external ids): that fails the
 * unit rather than settling the payment without its money.
 */
static int settle(ts_tx *tx, int64_t user_id, int64_t amount, const char *method,
                  const char *external_id, const char *table, int64_t payment_id,
                  int64_t *txn_id, ts_error *err)
{
    int already;
    ts_txn_new t = {user_id, "deposit", amount, "balance top-up", method, external_id, 1};
    ts_set link = {"transaction_id", ts_int(0)};
    if (ts_repo_txn_create(tx, &t, txn_id, &already, err))
        return -1;
    if (already)
        return ts_fail(err, TS_E_CONSTRAINT, "%s payment %" PRId64 ": a deposit with external id "
                       "%s is already recorded (transaction %" PRId64 "), so nothing was credited",
                       method, payment_id, external_id, *txn_id);
    link.val = ts_int(*txn_id);
    if (repo_update_id(tx, table, payment_id, &link, 1, err) < 0 ||
        ts_repo_user_add_balance(tx, user_id, amount, err) < 0)
        return -1;
    return 0;
}

/* ---- card to card -------------------------------------------------------------- */

void ts_repo_c2c_from(const ts_result *r, int row, ts_c2c_payment *p)
{
    p->id = ts_result_int(r, row, "id");
    p->user_id = ts_result_int(r, row, "user_id");
    p->transaction_id = ts_result_int(r, row, "transaction_id");
    p->card_id = ts_result_int(r, row, "card_id");
    p->amount_kopeks = ts_result_int(r, row, "amount_kopeks");
    REPO_TEXT(r, row, "tracking_number", p->tracking_number);
    REPO_TEXT(r, row, "receipt_type", p->receipt_type);
    REPO_TEXT(r, row, "receipt_text", p->receipt_text);
    REPO_TEXT(r, row, "receipt_image_file_id", p->receipt_image_file_id);
    REPO_TEXT(r, row, "status", p->status);
    p->admin_reviewed_by = ts_result_int(r, row, "admin_reviewed_by");
    REPO_TEXT(r, row, "admin_reviewed_at", p->admin_reviewed_at);
    REPO_TEXT(r, row, "admin_notes", p->admin_notes);
}

/* The manifest's "C2C%016X" of the id: one spelling for legacy and new rows. */
static void tracking_of(int64_t id, char out[TS_REPO_TRACKING_SIZE])
{
    snprintf(out, TS_REPO_TRACKING_SIZE, "C2C%016" PRIX64, (uint64_t)id);
}

/*
 * The tracking number derives from the id, which the insert assigns, so the
 * row goes in with a unique placeholder and gets its number right after, in
 * the same unit. (While legacy is primary the manifest derives it on the new
 * side anyway and the second step just carries the row over again.)
 */
int ts_repo_c2c_create(ts_tx *tx, const ts_c2c_new *p, int64_t *id,
                       char tracking[TS_REPO_TRACKING_SIZE], ts_error *err)
{
    unsigned char rnd[8];
    char now[TS_TIME_MAX], hex[17], placeholder[TS_REPO_TRACKING_SIZE];
    ts_set v[9];
    int n = 0;
    const char *type = p->receipt_text && p->receipt_image_file_id ? "both"
                       : p->receipt_image_file_id                  ? "image"
                       : p->receipt_text                           ? "text"
                                                                   : NULL;
    if (type == NULL)
        return ts_fail(err, TS_E_INVALID, "a card-to-card payment needs a receipt: a text, an "
                       "image or both");
    if (repo_random(rnd, sizeof rnd, err))
        return -1;
    repo_hex(rnd, sizeof rnd, hex);
    snprintf(placeholder, sizeof placeholder, "TMP%s", hex);
    repo_now(now);
    v[n++] = (ts_set){"user_id", ts_int(p->user_id)};
    v[n++] = (ts_set){"amount_kopeks", ts_int(p->amount_kopeks)};
    v[n++] = (ts_set){"tracking_number", ts_text(placeholder)};
    v[n++] = (ts_set){"receipt_type", ts_text(type)};
    v[n++] = (ts_set){"receipt_text", ts_text(p->receipt_text)};
    v[n++] = (ts_set){"receipt_image_file_id", ts_text(p->receipt_image_file_id)};
    v[n++] = (ts_set){"status", ts_text("pending")};
    v[n++] = (ts_set){"created_at", ts_time(now)};
    if (p->card_id)
        v[n++] = (ts_set){"card_id", ts_int(p->card_id)};
    if (ts_tx_insert(tx, "card_to_card_payments", v, n, id, err))
        return -1;
    tracking_of(*id, tracking);
    ts_set t = {"tracking_number", ts_text(tracking)};
    return repo_update_id(tx, "card_to_card_payments", *id, &t, 1, err) < 0 ? -1 : 0;
}

/* With lock, the row is held until the unit ends. */
static int c2c_find(ts_tx *tx, int64_t id, int lock, ts_c2c_payment *out, ts_error *err)
{
    ts_cond c = {"id", ts_int(id)};
    ts_result *r;
    int rc = lock ? repo_lock_one(tx, "card_to_card_payments", &c, 1, &r, err)
                  : repo_one(tx, "card_to_card_payments", &c, 1, NULL, &r, err);
    if (rc == 1) {
        ts_repo_c2c_from(r, 0, out);
        ts_result_free(r);
    }
    return rc;
}

int ts_repo_c2c_get(ts_tx *tx, int64_t id, ts_c2c_payment *out, ts_error *err)
{
    return c2c_find(tx, id, 0, out, err);
}

/* The number names the id, so the lookup is by id: that works while legacy
   answers too (legacy has no tracking_number column). */
int ts_repo_c2c_by_tracking(ts_tx *tx, const char *tracking, ts_c2c_payment *out, ts_error *err)
{
    char *end;
    if (tracking == NULL || strncmp(tracking, "C2C", 3) != 0 || strlen(tracking) != 19)
        return 0;
    uint64_t id = strtoull(tracking + 3, &end, 16);
    if (*end != '\0' || id == 0 || id > INT64_MAX)
        return 0;
    int rc = c2c_find(tx, (int64_t)id, 0, out, err);
    return rc == 1 && strcmp(out->tracking_number, tracking) != 0 ? 0 : rc;
}

/* Move a pending payment to status with the reviewer: 1 done (*p is the
   payment as it was), 0 no longer pending, -1 (TS_E_NOTFOUND: no such payment).
   The row is locked and checked here rather than by a conditional update: the
   settlement needs its amount and user, and a second reviewer waits for the
   lock, then sees the new status. */
static int c2c_review(ts_tx *tx, int64_t id, const char *status, int64_t reviewer,
                      const char *notes, ts_c2c_payment *p, ts_error *err)
{
    char now[TS_TIME_MAX];
    int rc = c2c_find(tx, id, 1, p, err);
    if (rc == 0)
        return ts_fail(err, TS_E_NOTFOUND, "card-to-card payment %lld: no such payment of this "
                       "bot", (long long)id);
    if (rc < 0)
        return -1;
    if (strcmp(p->status, "pending") != 0)
        return 0;
    repo_now(now);
    ts_set s[4] = {{"status", ts_text(status)},
                   {"admin_reviewed_by", ts_int(reviewer)},
                   {"admin_reviewed_at", ts_time(now)},
                   {"admin_notes", ts_text(notes)}};
    return repo_update_id(tx, "card_to_card_payments", id, s, notes ? 4 : 3, err);
}

int ts_repo_c2c_approve(ts_tx *tx, int64_t id, int64_t reviewer_telegram_id,
                        int64_t *transaction_id, ts_error *err)
{
    ts_c2c_payment p;
    int rc = c2c_review(tx, id, "approved", reviewer_telegram_id, NULL, &p, err);
    if (rc <= 0)
        return rc;
    return settle(tx, p.user_id, p.amount_kopeks, "card_to_card", p.tracking_number,
                  "card_to_card_payments", id, transaction_id, err) ? -1 : 1;
}

int ts_repo_c2c_reject(ts_tx *tx, int64_t id, int64_t reviewer_telegram_id, const char *notes,
                       ts_error *err)
{
    ts_c2c_payment p;
    return c2c_review(tx, id, "rejected", reviewer_telegram_id, notes, &p, err);
}

int ts_repo_c2c_list_pending(ts_tx *tx, int limit, ts_result **out, ts_error *err)
{
    ts_cond c = {"status", ts_text("pending")};
    return ts_tx_select(tx, "card_to_card_payments", &c, 1, "id", limit, out, err);
}

/* ---- Zarinpal -------------------------------------------------------------------------- */

static void zarinpal_from(const ts_result *r, int row, ts_zarinpal_payment *p)
{
    p->id = ts_result_int(r, row, "id");
    p->user_id = ts_result_int(r, row, "user_id");
    p->transaction_id = ts_result_int(r, row, "transaction_id");
    p->amount_kopeks = ts_result_int(r, row, "amount_kopeks");
    REPO_TEXT(r, row, "zarinpal_authority", p->authority);
    REPO_TEXT(r, row, "zarinpal_ref_id", p->ref_id);
    REPO_TEXT(r, row, "status", p->status);
    REPO_TEXT(r, row, "callback_url", p->callback_url);
    REPO_TEXT(r, row, "paid_at", p->paid_at);
}

int ts_repo_zarinpal_create(ts_tx *tx, int64_t user_id, int64_t amount_kopeks,
                            const char *authority, const char *callback_url, int64_t *id,
                            ts_error *err)
{
    char now[TS_TIME_MAX];
    repo_now(now);
    ts_set v[6] = {{"user_id", ts_int(user_id)},
                   {"amount_kopeks", ts_int(amount_kopeks)},
                   {"zarinpal_authority", ts_text(authority)},
                   {"status", ts_text("pending")},
                   {"callback_url", ts_text(callback_url)},
                   {"created_at", ts_time(now)}};
    return ts_tx_insert(tx, "zarinpal_payments", v, 6, id, err);
}

static int zarinpal_one(ts_tx *tx, const ts_cond *c, ts_zarinpal_payment *out, ts_error *err)
{
    ts_result *r;
    int rc = repo_one(tx, "zarinpal_payments", c, 1, NULL, &r, err);
    if (rc == 1) {
        zarinpal_from(r, 0, out);
        ts_result_free(r);
    }
    return rc;
}

int ts_repo_zarinpal_by_authority(ts_tx *tx, const char *authority, ts_zarinpal_payment *out,
                                  ts_error *err)
{
    ts_cond c = {"zarinpal_authority", ts_text(authority)};
    return zarinpal_one(tx, &c, out, err);
}

int ts_repo_zarinpal_get(ts_tx *tx, int64_t id, ts_zarinpal_payment *out, ts_error *err)
{
    ts_cond c = {"id", ts_int(id)};
    return zarinpal_one(tx, &c, out, err);
}

int ts_repo_zarinpal_stale(ts_tx *tx, int64_t age_s, int max, int64_t *ids, int *n,
                           ts_error *err)
{
    char now[TS_TIME_MAX], before[TS_TIME_MAX];
    int64_t us;
    ts_result *r;
    repo_now(now);
    if (repo_time_us(now, &us, err))
        return -1;
    repo_time_from_us(us - age_s * 1000000, before);
    ts_cond c[2] = {{"status", ts_text("pending")}, {"created_at", ts_time(before), TS_OP_LT}};
    if (ts_tx_select(tx, "zarinpal_payments", c, 2, "id", max, &r, err))
        return -1;
    *n = ts_result_count(r);
    for (int i = 0; i < *n; i++)
        ids[i] = ts_result_int(r, i, "id");
    ts_result_free(r);
    return 0;
}

/* Move the pending payment id to status (with ref_id and paid_at when paid):
   the compare-and-set on the payment's own row that only one unit wins. */
static int zarinpal_settle_state(ts_tx *tx, int64_t id, const char *status, const char *ref_id,
                                 ts_error *err)
{
    char now[TS_TIME_MAX];
    repo_now(now);
    ts_cond c[2] = {{"id", ts_int(id)}, {"status", ts_text("pending")}};
    ts_set s[3] = {{"status", ts_text(status)},
                   {"zarinpal_ref_id", ts_text(ref_id)},
                   {"paid_at", ts_time(now)}};
    return repo_transition(tx, "zarinpal_payments", c, 2, s, ref_id ? 3 : 1, c, 1,
                           "Zarinpal payment", err);
}

int ts_repo_zarinpal_mark_paid(ts_tx *tx, int64_t id, const char *ref_id, int64_t *transaction_id,
                               ts_error *err)
{
    ts_zarinpal_payment p;
    char deposit[24];
    if (ref_id == NULL || *ref_id == '\0')
        return ts_fail(err, TS_E_INVALID, "a paid Zarinpal payment needs the gateway's ref_id");
    int rc = zarinpal_settle_state(tx, id, "paid", ref_id, err);
    if (rc <= 0)
        return rc;
    if ((rc = ts_repo_zarinpal_get(tx, id, &p, err)) <= 0)
        return rc < 0 ? -1 : ts_fail(err, TS_E_INTERNAL, "Zarinpal payment vanished");
    /* The deposit is named by the payment's id, not by its authority: the
       gateway's authorities repeat across legacy data and sandboxes. */
    snprintf(deposit, sizeof deposit, "ZP%016" PRIX64, (uint64_t)id);
    return settle(tx, p.user_id, p.amount_kopeks, "zarinpal", deposit, "zarinpal_payments", id,
                  transaction_id, err) ? -1 : 1;
}

int ts_repo_zarinpal_mark_failed(ts_tx *tx, int64_t id, ts_error *err)
{
    return zarinpal_settle_state(tx, id, "failed", NULL, err);
}
