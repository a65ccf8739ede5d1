/*
 * ts_repo.h: the repositories, everything the bot reads and writes, on top of
 * the shim's units of work (ts_shim.h).
 *
 * Every function takes the unit of work it runs in; the unit carries the bot
 * context, so a repository never names bot_id and never sees another bot's
 * rows. Nothing here commits: a handler begins a unit, calls repositories,
 * and commits or rolls back the whole, so a payment approval, its transaction
 * and the balance credit land together or not at all.
 *
 * Conventions:
 *   - lookups return 1 found (out filled), 0 not found, -1 error;
 *   - conditional transitions (approve, mark paid, complete...) return 1 when
 *     this call made the change, 0 when the row was no longer in the state
 *     the transition starts from (a second approval, a repeated callback), so
 *     the caller can answer "already done" without an error; -1 with
 *     TS_E_NOTFOUND when there is no such row at all;
 *   - other calls return 0 or -1 with ts_error filled;
 *   - structs copy their strings into fixed arrays sized for the column's
 *     declared length in UTF-8 (TS_REPO_TEXT), so they need no freeing;
 *     lists come back as ts_result (new-schema column names), with a _from
 *     function per struct to read one row of it;
 *   - a NULL integer reads as 0 (ids start at 1), a NULL text as "".
 *
 * Stages. Columns that exist only in the new schema (bot configuration JSON
 * of a flag, a payment's card_id...) are dropped by legacy while legacy is
 * primary; see each function. Tenant bots need their increments at read_new
 * or later (the shim refuses otherwise); the master bot works at every stage.
 */
#ifndef TS_REPO_H
#define TS_REPO_H

#include <stddef.h>
#include <stdint.h>

#include "ts_shim.h"

/* Bytes for a column of n characters of UTF-8, with its NUL. */
#define TS_REPO_TEXT(n) (4 * (n) + 1)

/* ---- users ------------------------------------------------------------ */

typedef struct ts_user {
    int64_t id;
    int64_t telegram_id;
    char username[TS_REPO_TEXT(255)];
    char first_name[TS_REPO_TEXT(255)];
    char last_name[TS_REPO_TEXT(255)];
    char status[TS_REPO_TEXT(20)];  /* active | blocked | deleted */
    char language[TS_REPO_TEXT(5)];
    int64_t balance_kopeks;
    int64_t used_promocodes;
    int has_had_paid_subscription;
    int64_t referred_by_id;
    char referral_code[TS_REPO_TEXT(32)];
    int64_t promo_group_id;
    char created_at[TS_TIME_MAX];
    char last_activity[TS_TIME_MAX];
} ts_user;

typedef struct ts_user_new {
    int64_t telegram_id;            /* 0: none */
    const char *username, *first_name, *last_name; /* NULL: none */
    const char *language;           /* NULL: the write default */
    int64_t referred_by_id;         /* 0: none */
    int64_t promo_group_id;         /* 0: none */
} ts_user_new;

/* A generated referral code: 12 characters of Crockford base32 (60 random bits). */
#define TS_REPO_REFCODE_SIZE 13

int ts_repo_user_get(ts_tx *tx, int64_t id, ts_user *out, ts_error *err);
int ts_repo_user_by_telegram(ts_tx *tx, int64_t telegram_id, ts_user *out, ts_error *err);
int ts_repo_user_by_referral_code(ts_tx *tx, const char *code, ts_user *out, ts_error *err);
/* Create a user with a fresh random referral code (code may be NULL). */
int ts_repo_user_create(ts_tx *tx, const ts_user_new *u, int64_t *id,
                        char code[TS_REPO_REFCODE_SIZE], ts_error *err);
/*
 * Set profile fields: username, first_name, last_name, status, language,
 * promo_group_id, referred_by_id, telegram_id, last_activity (others,
 * such as the balance, have their own calls). updated_at follows.
 * 1 updated, 0 no such user.
 */
int ts_repo_user_update(ts_tx *tx, int64_t id, const ts_set *fields, int nfields, ts_error *err);
/* balance += delta in one statement (no lost update). 1 done, 0 no such user. */
int ts_repo_user_add_balance(ts_tx *tx, int64_t id, int64_t delta, ts_error *err);
/* balance -= amount only if it stays >= 0. 1 debited, 0 not enough (or no user). */
int ts_repo_user_debit(ts_tx *tx, int64_t id, int64_t amount, ts_error *err);
/* Flip has_had_paid_subscription to true. 1 when this call flipped it (the
   user's first payment), 0 when it was already set. */
int ts_repo_user_mark_paid(ts_tx *tx, int64_t id, ts_error *err);

/* A keyset cursor over users in id order; start zeroed. */
typedef struct ts_user_cursor {
    int64_t after_id;   /* last id handed out */
    int64_t seen;       /* rows handed out so far */
} ts_user_cursor;
/* The next page: at most page_size (1 to 1000) users with an id above the
   cursor's, in *users (malloc'd, free it; NULL when *n is 0, the end). One
   keyset read whatever the page number. Advances the cursor. */
int ts_repo_user_page(ts_tx *tx, ts_user_cursor *cur, int page_size, ts_user **users, int *n,
                      ts_error *err);
/* Users of the bot. */
int ts_repo_user_count(ts_tx *tx, int64_t *count, ts_error *err);
/* Users whose referrer is referrer_id. */
int ts_repo_user_referred_count(ts_tx *tx, int64_t referrer_id, int64_t *count, ts_error *err);

/* ---- promo groups ------------------------------------------------------- */

typedef struct ts_promo_group {
    int64_t id;
    char name[TS_REPO_TEXT(255)];
    int64_t priority;
    int64_t server_discount_percent, traffic_discount_percent, device_discount_percent;
    int is_default;
} ts_promo_group;

int ts_repo_promo_group_create(ts_tx *tx, const char *name, int is_default, int64_t *id,
                               ts_error *err);
int ts_repo_promo_group_get(ts_tx *tx, int64_t id, ts_promo_group *out, ts_error *err);
/* The bot's default group (the lowest id among is_default ones). */
int ts_repo_promo_group_default(ts_tx *tx, ts_promo_group *out, ts_error *err);

/* ---- subscriptions and transactions ----------------------------------------- */

typedef struct ts_subscription {
    int64_t id, user_id;
    char status[TS_REPO_TEXT(20)];  /* trial | active | expired | disabled */
    int is_trial;
    char start_date[TS_TIME_MAX], end_date[TS_TIME_MAX];
    int64_t traffic_limit_gb;
    double traffic_used_gb;
    int64_t device_limit;
    int autopay_enabled;
    char subscription_url[TS_REPO_TEXT(1024)];
} ts_subscription;

typedef struct ts_subscription_new {
    int64_t user_id;
    int is_trial;                   /* trial: status 'trial'; else 'active' */
    int64_t days;                   /* from now */
    int64_t traffic_limit_gb;
    int64_t device_limit;           /* 0: 1 */
} ts_subscription_new;

/* Start the user's subscription: a user has one, so an existing row (a trial,
   an expired one) is taken over, keeping its id. */
int ts_repo_sub_create(ts_tx *tx, const ts_subscription_new *s, int64_t *id, ts_error *err);
int ts_repo_sub_get(ts_tx *tx, int64_t id, ts_subscription *out, ts_error *err);
/* The user's newest trial or active subscription that has not ended. */
int ts_repo_sub_active(ts_tx *tx, int64_t user_id, ts_subscription *out, ts_error *err);
/* The bot's trial or active subscriptions that have not ended. */
int ts_repo_sub_active_count(ts_tx *tx, int64_t *count, ts_error *err);
/* end_date = max(end_date, now) + days; an expired one becomes active.
   The row is locked first, so two extensions add up. 1 done, 0 no such row. */
int ts_repo_sub_extend(ts_tx *tx, int64_t id, int64_t days, ts_error *err);

typedef struct ts_txn_new {
    int64_t user_id;
    const char *type;               /* deposit | withdrawal | subscription_payment | refund |
                                       referral_reward */
    int64_t amount_kopeks;
    const char *description;        /* NULL: none */
    const char *payment_method;     /* NULL: none */
    const char *external_id;        /* NULL: none */
    int completed;                  /* completed now, or pending */
} ts_txn_new;

/*
 * Record a transaction. With an external id and a payment method, the pair is
 * unique: when it is already recorded, *already is set, *id gets the existing
 * transaction and nothing is written (a redelivered payment notification is
 * not an error the user sees).
 */
int ts_repo_txn_create(ts_tx *tx, const ts_txn_new *t, int64_t *id, int *already, ts_error *err);
/* Mark a pending transaction completed. 1 done, 0 already completed. */
int ts_repo_txn_complete(ts_tx *tx, int64_t id, ts_error *err);
/* The user's newest transactions first. */
int ts_repo_txn_list(ts_tx *tx, int64_t user_id, int limit, ts_result **out, ts_error *err);

/* ---- promo codes and referrals ------------------------------------------------ */

typedef struct ts_promocode {
    int64_t id;
    char code[TS_REPO_TEXT(50)];
    char type[TS_REPO_TEXT(32)];    /* balance | subscription_days | trial_subscription */
    int64_t balance_bonus_kopeks, subscription_days, max_uses, current_uses;
    char valid_from[TS_TIME_MAX], valid_until[TS_TIME_MAX]; /* "" = open */
    int is_active;
} ts_promocode;

typedef struct ts_promocode_new {
    const char *code, *type;
    int64_t balance_bonus_kopeks, subscription_days;
    int64_t max_uses;               /* 0: the column default (1) */
    const char *valid_from, *valid_until; /* canonical timestamps, NULL: open */
    int64_t created_by;             /* user id, 0: none */
} ts_promocode_new;

typedef enum ts_promo_outcome {
    TS_PROMO_APPLIED = 0,
    TS_PROMO_UNKNOWN,               /* no such code */
    TS_PROMO_INACTIVE,
    TS_PROMO_NOT_YET_VALID,
    TS_PROMO_EXPIRED,
    TS_PROMO_USED_UP,               /* max_uses reached */
    TS_PROMO_ALREADY_USED           /* by this user */
} ts_promo_outcome;

int ts_repo_promo_create(ts_tx *tx, const ts_promocode_new *p, int64_t *id, ts_error *err);
int ts_repo_promo_find(ts_tx *tx, const char *code, ts_promocode *out, ts_error *err);
/*
 * Apply a code for a user, all or nothing inside the unit: check it (active,
 * validity window at now_unix, 0 = the clock; uses left; not used by this user
 * before), count the use, record it in promocode_uses, and give the bonus:
 * balance credit, or subscription days (the active subscription extended, else
 * a new one; a trial code makes a trial). Refusals are outcomes, not errors.
 */
int ts_repo_promo_apply(ts_tx *tx, const char *code, int64_t user_id, int64_t now_unix,
                        ts_promo_outcome *outcome, ts_error *err);
const char *ts_promo_outcome_name(ts_promo_outcome o);

/*
 * The referred user's first payment (base_kopeks): marks the user as having
 * paid (ts_repo_user_mark_paid) and, when that was the first time and the user
 * has a referrer, records a referral earning of percent% of base, a completed
 * referral_reward transaction and credits the referrer. Exactly once per user,
 * since the flag flips once. *reward gets the amount paid (0: none).
 */
int ts_repo_referral_first_payment(ts_tx *tx, int64_t user_id, int64_t base_kopeks, int percent,
                                   int64_t transaction_id, int64_t *reward, ts_error *err);
/* Earnings of a referrer, newest first. */
int ts_repo_referral_earnings(ts_tx *tx, int64_t referrer_id, int limit, ts_result **out,
                              ts_error *err);

/* ---- purchases -------------------------------------------------------------------- */

/* A purchase paid from the balance: debit, subscription (the active paid one
   extended, or a new one), a completed subscription_payment transaction, on
   the user's first payment the referrer's reward, and in a tenant bot (not the
   master) the credit of that bot's wallet (ts_repo_bot_wallet_credit): all in
   the caller's unit of work. */
typedef struct ts_purchase {
    int64_t user_id;
    int64_t period_days, price_kopeks, traffic_limit_gb, device_limit;
    int referral_percent;           /* of the price, paid to the referrer once */
} ts_purchase;

typedef struct ts_purchase_result {
    int64_t subscription_id, transaction_id;
    int64_t referral_reward_kopeks; /* 0: none paid */
} ts_purchase_result;

/* 1 done, 0 not enough balance (nothing written). */
int ts_repo_purchase(ts_tx *tx, const ts_purchase *p, ts_purchase_result *out, ts_error *err);

/* ---- tickets ---------------------------------------------------------------------- */

typedef struct ts_ticket {
    int64_t id, user_id;
    char title[TS_REPO_TEXT(255)];
    char status[TS_REPO_TEXT(20)];  /* open | answered | closed */
    char priority[TS_REPO_TEXT(20)];
    char created_at[TS_TIME_MAX], updated_at[TS_TIME_MAX], closed_at[TS_TIME_MAX];
} ts_ticket;

typedef struct ts_ticket_message {
    int64_t id, ticket_id, user_id;
    char message_text[TS_REPO_TEXT(4096)];
    int is_from_admin, has_media;
    char media_type[TS_REPO_TEXT(20)], media_file_id[TS_REPO_TEXT(255)];
    char created_at[TS_TIME_MAX];
} ts_ticket_message;

/* A message body: text and an optional attachment (NULL media_type: none). */
typedef struct ts_ticket_text {
    const char *text, *media_type, *media_file_id;
} ts_ticket_text;

/* Open a ticket with its first message; priority NULL: normal. */
int ts_repo_ticket_open(ts_tx *tx, int64_t user_id, const char *title, const char *priority,
                        const ts_ticket_text *first, int64_t *ticket_id, ts_error *err);
int ts_repo_ticket_get(ts_tx *tx, int64_t id, ts_ticket *out, ts_error *err);
/* The owner writes: the ticket is open again. 1 added, 0 the ticket is closed. */
int ts_repo_ticket_reply(ts_tx *tx, int64_t ticket_id, const ts_ticket_text *m, int64_t *msg_id,
                         ts_error *err);
/* An admin (a user of this bot) answers: the ticket becomes answered. 1 / 0 as above. */
int ts_repo_ticket_admin_reply(ts_tx *tx, int64_t ticket_id, int64_t admin_user_id,
                               const ts_ticket_text *m, int64_t *msg_id, ts_error *err);
/* 1 closed now, 0 already closed. */
int ts_repo_ticket_close(ts_tx *tx, int64_t id, ts_error *err);
/* A user's tickets, newest first; tickets in a status (admin queue), oldest first. */
int ts_repo_ticket_list_user(ts_tx *tx, int64_t user_id, int limit, ts_result **out, ts_error *err);
int ts_repo_ticket_list_status(ts_tx *tx, const char *status, int limit, ts_result **out,
                               ts_error *err);
/* The messages of a ticket in order. */
int ts_repo_ticket_messages(ts_tx *tx, int64_t ticket_id, ts_result **out, ts_error *err);
void ts_repo_ticket_from(const ts_result *r, int row, ts_ticket *out);
void ts_repo_ticket_message_from(const ts_result *r, int row, ts_ticket_message *out);

/* ---- card-to-card payments ------------------------------------------------------------ */

/* 'C2C' + 16 uppercase hex digits of the payment id, as the manifest derives it. */
#define TS_REPO_TRACKING_SIZE 20

typedef struct ts_c2c_payment {
    int64_t id, user_id, transaction_id, card_id, amount_kopeks;
    char tracking_number[TS_REPO_TRACKING_SIZE];
    char receipt_type[TS_REPO_TEXT(10)];   /* image | text | both */
    char receipt_text[TS_REPO_TEXT(4096)];
    char receipt_image_file_id[TS_REPO_TEXT(255)];
    char status[TS_REPO_TEXT(20)];         /* pending | approved | rejected | cancelled */
    int64_t admin_reviewed_by;             /* the reviewer's telegram id */
    char admin_reviewed_at[TS_TIME_MAX];
    char admin_notes[TS_REPO_TEXT(1024)];
} ts_c2c_payment;

typedef struct ts_c2c_new {
    int64_t user_id, amount_kopeks;
    int64_t card_id;                /* 0: none; new-store only (legacy has no card ids) */
    const char *receipt_text, *receipt_image_file_id; /* at least one */
} ts_c2c_new;

int ts_repo_c2c_create(ts_tx *tx, const ts_c2c_new *p, int64_t *id,
                       char tracking[TS_REPO_TRACKING_SIZE], ts_error *err);
int ts_repo_c2c_get(ts_tx *tx, int64_t id, ts_c2c_payment *out, ts_error *err);
int ts_repo_c2c_by_tracking(ts_tx *tx, const char *tracking, ts_c2c_payment *out, ts_error *err);
/* Pending -> approved: a completed deposit transaction, the user credited.
   1 approved now, 0 no longer pending. */
int ts_repo_c2c_approve(ts_tx *tx, int64_t id, int64_t reviewer_telegram_id,
                        int64_t *transaction_id, ts_error *err);
/* Pending -> rejected with the reviewer and a reason. 1 / 0 as above. */
int ts_repo_c2c_reject(ts_tx *tx, int64_t id, int64_t reviewer_telegram_id, const char *notes,
                       ts_error *err);
/* Pending payments, oldest first. */
int ts_repo_c2c_list_pending(ts_tx *tx, int limit, ts_result **out, ts_error *err);
void ts_repo_c2c_from(const ts_result *r, int row, ts_c2c_payment *out);

/* ---- Zarinpal payments ------------------------------------------------------------------ */

typedef struct ts_zarinpal_payment {
    int64_t id, user_id, transaction_id, amount_kopeks;
    char authority[TS_REPO_TEXT(64)];
    char ref_id[TS_REPO_TEXT(64)];
    char status[TS_REPO_TEXT(20)];  /* pending | paid | failed | cancelled */
    char callback_url[TS_REPO_TEXT(1024)];
    char paid_at[TS_TIME_MAX];
} ts_zarinpal_payment;

int ts_repo_zarinpal_create(ts_tx *tx, int64_t user_id, int64_t amount_kopeks,
                            const char *authority, const char *callback_url, int64_t *id,
                            ts_error *err);
int ts_repo_zarinpal_by_authority(ts_tx *tx, const char *authority, ts_zarinpal_payment *out,
                                  ts_error *err);
int ts_repo_zarinpal_get(ts_tx *tx, int64_t id, ts_zarinpal_payment *out, ts_error *err);
/* The ids of pending payments created more than age_s seconds ago, oldest
   first, at most max of them into ids; *n how many. */
int ts_repo_zarinpal_stale(ts_tx *tx, int64_t age_s, int max, int64_t *ids, int *n,
                           ts_error *err);
/*
 * Pending -> paid with the gateway's ref_id, and the credit, in the caller's
 * unit: a compare-and-set on the payment's own row (id, status 'pending') that
 * one unit wins; the winner records a completed deposit (payment_method
 * 'zarinpal', external_id "ZP" and the id in 16 hex digits), links it
 * (transaction_id) and credits the user. 1 paid now, 0 no longer pending
 * (settled before: nothing credited); a deposit already holding that external
 * id fails it (TS_E_CONSTRAINT) rather than settle without the money.
 */
int ts_repo_zarinpal_mark_paid(ts_tx *tx, int64_t id, const char *ref_id, int64_t *transaction_id,
                               ts_error *err);
/* Pending -> failed. 1 / 0 as above. */
int ts_repo_zarinpal_mark_failed(ts_tx *tx, int64_t id, ts_error *err);

/* ---- payment cards and their rotation ---------------------------------------------------- */

typedef struct ts_card {
    int64_t id;
    char card_number[TS_REPO_TEXT(32)];
    char card_holder_name[TS_REPO_TEXT(255)];
    char rotation_strategy[TS_REPO_TEXT(20)]; /* round_robin | random | time_based | weighted */
    int64_t rotation_interval_minutes, weight, success_count, failure_count;
    int is_active;
    char last_used_at[TS_TIME_MAX];
    int64_t current_usage_count;
} ts_card;

typedef struct ts_card_new {
    const char *card_number, *card_holder_name;
    const char *rotation_strategy;  /* NULL: round_robin */
    int64_t rotation_interval_minutes; /* 0: 60 */
    int64_t weight;                 /* 0: 1 */
} ts_card_new;

/* Choices for a pick; a zeroed struct is production. */
typedef struct ts_card_pick {
    int64_t now_unix;               /* 0: the clock (time_based) */
    uint64_t *seed;                 /* random and weighted draw from it (and advance it);
                                       NULL: OpenSSL RAND_bytes */
} ts_card_pick;

int ts_repo_card_create(ts_tx *tx, const ts_card_new *c, int64_t *id, ts_error *err);
int ts_repo_card_get(ts_tx *tx, int64_t id, ts_card *out, ts_error *err);
/* The bot's cards in id order (active ones only when active_only). */
int ts_repo_card_list(ts_tx *tx, int active_only, ts_result **out, ts_error *err);
/* A keyset page of the bot's cards, as ts_repo_bot_page. */
int ts_repo_card_page(ts_tx *tx, int64_t after, int limit, ts_result **out, ts_error *err);
/* Set card_number, card_holder_name, rotation_strategy, rotation_interval_minutes,
   weight, is_active. 1 updated, 0 no such card. */
int ts_repo_card_update(ts_tx *tx, int64_t id, const ts_set *fields, int nfields, ts_error *err);
int ts_repo_card_delete(ts_tx *tx, int64_t id, ts_error *err);
/*
 * Pick the card to show, by the strategy of the bot's cards (the strategy of
 * the lowest-id active card; a bot uses one strategy):
 *   round_robin  least recently used (never used first, then by id);
 *   random       uniform;
 *   time_based   the same card for rotation_interval_minutes, then the next;
 *   weighted     drawn in proportion to weight x success rate
 *                (success / (success + failure), 1 for a card with no history).
 * The pick's last_used_at and current_usage_count are updated. 1 picked, 0 the
 * bot has no active card.
 */
int ts_repo_card_pick(ts_tx *tx, const ts_card_pick *opts, ts_card *out, ts_error *err);
/* The bot's rotation: strategy and interval of every card of the bot (a bot
   uses one strategy); interval_minutes 0 keeps each card's. *changed: cards. */
int ts_repo_card_set_rotation(ts_tx *tx, const char *strategy, int64_t interval_minutes,
                              int64_t *changed, ts_error *err);
/* The bot's rotation as ts_repo_card_pick uses it: the lowest-id active card's
   (else the lowest-id card's; round_robin, 60 when the bot has no card).
   strategy holds TS_REPO_TEXT(20). 1 from a card, 0 the default. */
int ts_repo_card_rotation(ts_tx *tx, char *strategy, size_t n, int64_t *interval_minutes,
                          ts_error *err);
/* The approved card-to-card payments through card id: how many, how much.
   card_id exists only in the new store: this needs increment 3.3 reading new. */
int ts_repo_card_approved(ts_tx *tx, int64_t id, int64_t *payments, int64_t *kopeks,
                          ts_error *err);
/* Count a payment through the card as a success or a failure. */
int ts_repo_card_record(ts_tx *tx, int64_t id, int success, ts_error *err);
void ts_repo_card_from(const ts_result *r, int row, ts_card *out);

/* ---- plans ---------------------------------------------------------------------------------- */

typedef struct ts_plan {
    int64_t id;
    char name[TS_REPO_TEXT(255)];
    int64_t period_days, price_kopeks, traffic_limit_gb, device_limit;
    int is_active;
    int64_t sort_order;
} ts_plan;

/* Create from p (id ignored). */
int ts_repo_plan_create(ts_tx *tx, const ts_plan *p, int64_t *id, ts_error *err);
int ts_repo_plan_get(ts_tx *tx, int64_t id, ts_plan *out, ts_error *err);
/* Active plans by sort_order. */
int ts_repo_plan_list_active(ts_tx *tx, ts_result **out, ts_error *err);
/* Every plan of the bot, active or not, by sort_order. */
int ts_repo_plan_list(ts_tx *tx, ts_result **out, ts_error *err);
/* Set name, period_days, price_kopeks, traffic_limit_gb, device_limit, is_active,
   sort_order. 1 updated, 0 no such plan. */
int ts_repo_plan_update(ts_tx *tx, int64_t id, const ts_set *fields, int nfields, ts_error *err);
int ts_repo_plan_delete(ts_tx *tx, int64_t id, ts_error *err);
void ts_repo_plan_from(const ts_result *r, int row, ts_plan *out);

/* ---- bots ------------------------------------------------------------------------------------- */

/* An api token: "tsk_" + 64 hex digits (32 random bytes), with its NUL. */
#define TS_REPO_API_TOKEN_SIZE 69

typedef struct ts_bot {
    int64_t id;
    char name[TS_REPO_TEXT(255)];
    char telegram_bot_token[TS_REPO_TEXT(255)]; /* a secret: ts_redact before logging */
    char api_token_hash[65];        /* hex SHA-256 of the api token; "" when none was issued */
    int is_master, is_active;
    int card_to_card_enabled, zarinpal_enabled, zarinpal_sandbox;
    char zarinpal_merchant_id[TS_REPO_TEXT(64)]; /* a secret */
    char default_language[TS_REPO_TEXT(5)];
    char support_username[TS_REPO_TEXT(255)];
    int64_t admin_chat_id, admin_topic_id, card_receipt_topic_id;
    int64_t notification_group_id, notification_topic_id;
    int64_t wallet_balance_kopeks;  /* the tenant's earnings from its users' purchases */
    int64_t traffic_sold_bytes, traffic_consumed_bytes;
} ts_bot;

typedef struct ts_bot_new {
    const char *name, *telegram_bot_token;
    const char *default_language;   /* NULL: 'fa' */
    int64_t admin_chat_id;          /* 0: none */
} ts_bot_new;

/*
 * Register a bot. Its api token is generated here and handed out once in
 * api_token; only its SHA-256 (hex) is stored.
 */
int ts_repo_bot_create(ts_tx *tx, const ts_bot_new *b, int64_t *id,
                       char api_token[TS_REPO_API_TOKEN_SIZE], ts_error *err);
int ts_repo_bot_get(ts_tx *tx, int64_t id, ts_bot *out, ts_error *err);
int ts_repo_bot_by_telegram_token(ts_tx *tx, const char *token, ts_bot *out, ts_error *err);
/* A new api token for bot id, replacing the one it had (the master bot has
   none until one is issued); handed out once in api_token, only its hash is
   stored. 1 issued, 0 no such bot. */
int ts_repo_bot_issue_api_token(ts_tx *tx, int64_t id, char api_token[TS_REPO_API_TOKEN_SIZE],
                                ts_error *err);
/* The bot whose api token this is: looked up by its SHA-256, the stored hash
   then compared in constant time. */
int ts_repo_bot_by_api_token(ts_tx *tx, const char *api_token, ts_bot *out, ts_error *err);
int ts_repo_bot_master(ts_tx *tx, ts_bot *out, ts_error *err);
/* Active bots in id order. */
int ts_repo_bot_list_active(ts_tx *tx, ts_result **out, ts_error *err);
/* Set name, telegram_bot_token, card_to_card_enabled, card_receipt_topic_id,
   zarinpal_enabled, zarinpal_merchant_id, zarinpal_sandbox, default_language,
   support_username, admin_chat_id, admin_topic_id, notification_group_id,
   notification_topic_id. 1 updated, 0 no such bot. */
int ts_repo_bot_update(ts_tx *tx, int64_t id, const ts_set *fields, int nfields, ts_error *err);
int ts_repo_bot_set_active(ts_tx *tx, int64_t id, int active, ts_error *err);
/* Delete a tenant bot and, by cascade, every row it owns. The master bot is
   refused (its rows are the legacy data). 1 deleted, 0 no such bot. */
int ts_repo_bot_delete(ts_tx *tx, int64_t id, ts_error *err);
void ts_repo_bot_from(const ts_result *r, int row, ts_bot *out);
/* Every bot, master included, in id order. */
int ts_repo_bot_list(ts_tx *tx, ts_result **out, ts_error *err);
/* A keyset page of the bots: id > after (0: from the first) in id order, at
   most limit (0: all). Stable while bots come and go: a bot there for the
   whole walk is on exactly one page. */
int ts_repo_bot_page(ts_tx *tx, int64_t after, int limit, ts_result **out, ts_error *err);
/*
 * wallet_balance_kopeks += kopeks and traffic_sold_bytes += traffic_bytes of
 * bot id, in one UPDATE ... SET col = col + $1 (concurrent purchases lose no
 * credit). 1 credited, 0 no such bot.
 */
int ts_repo_bot_wallet_credit(ts_tx *tx, int64_t id, int64_t kopeks, int64_t traffic_bytes,
                              ts_error *err);

/* ---- feature flags and configuration ------------------------------------------------------------ */

/* 1 found (*enabled set; config, when not NULL, gets the JSON in a malloc'd
   string to free), 0 no such flag. */
int ts_repo_flag_get(ts_tx *tx, const char *key, int *enabled, char **config, ts_error *err);
/* 1 enabled, 0 disabled or absent, -1 error. */
int ts_repo_flag_enabled(ts_tx *tx, const char *key, ts_error *err);
/*
 * Create or change a flag; config NULL keeps the stored one ('{}' for a new
 * flag). Config JSON exists only in the new store: while legacy is primary for
 * increment 2.4, a config other than '{}' is refused (TS_E_STATE). The master
 * bot's flags are written to legacy system_settings until 2.4 is at new_only,
 * so until then its keys must be in the manifest's feature_keys map.
 */
int ts_repo_flag_set(ts_tx *tx, const char *key, int enabled, const char *config, ts_error *err);
int ts_repo_flag_list(ts_tx *tx, ts_result **out, ts_error *err);
/* 1 deleted, 0 no such flag. */
int ts_repo_flag_delete(ts_tx *tx, const char *key, ts_error *err);

/* 1 found (*json malloc'd, free it), 0 not set. */
int ts_repo_config_get(ts_tx *tx, const char *key, char **json, ts_error *err);
/* json is a JSON text. While legacy answers for 2.4, values read back as JSON
   strings of legacy's text (legacy stores text). */
int ts_repo_config_set(ts_tx *tx, const char *key, const char *json, ts_error *err);
int ts_repo_config_list(ts_tx *tx, ts_result **out, ts_error *err);
int ts_repo_config_delete(ts_tx *tx, const char *key, ts_error *err);

/* ---- processed updates --------------------------------------------------------------------------- */

/*
 * Record that this bot handles Telegram update update_id, first thing in the
 * update's unit of work. 1 recorded (handle the update), 0 already processed
 * (a redelivery: change nothing, commit or roll back the empty unit).
 */
int ts_repo_update_record(ts_tx *tx, int64_t update_id, ts_error *err);

#endif
