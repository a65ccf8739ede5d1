/*
 * ts_schema_def.c: the tables, as data.
 *
 * The legacy schema is not here: it is the real bot's (fixtures/real-schema/,
 * compiled in and read through the catalog code, ts_schema_derive.c), and
 * every program reads the live store's catalog on top of it. What is declared
 * here for the legacy tables is what ts-bot's repositories rely on: the
 * columns they read and write, with the values the application gives a
 * column an insert leaves out (the real bot keeps its defaults in Python,
 * not in the store). The new schema's tenant tables are derived from the
 * legacy ones (bot_id first, in every key and reference); only the tables
 * with no legacy twin are declared for it.
 */
#include "ts_schema_def.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define NN 1 /* NOT NULL */

/* ---- legacy: what ts-bot's repositories use ------------------------------ */

static const ts_column promo_groups_cols[] = {
    {"id", TS_COL_ID, NN},
    {"name", TS_COL_TEXT, NN, 255},
    {"priority", TS_COL_INT, NN, 0, "0"},
    {"server_discount_percent", TS_COL_INT, NN, 0, "0"},
    {"traffic_discount_percent", TS_COL_INT, NN, 0, "0"},
    {"device_discount_percent", TS_COL_INT, NN, 0, "0"},
    {"period_discounts", TS_COL_JSON},
    {"is_default", TS_COL_BOOL, NN, 0, "FALSE"},
    {"created_at", TS_COL_TIME},
    {"updated_at", TS_COL_TIME},
};

static const ts_column users_cols[] = {
    {"id", TS_COL_ID, NN},
    {"telegram_id", TS_COL_INT},
    {"username", TS_COL_TEXT, 0, 255},
    {"first_name", TS_COL_TEXT, 0, 255},
    {"last_name", TS_COL_TEXT, 0, 255},
    {"status", TS_COL_TEXT, NN, 20, "'active'"},
    {"language", TS_COL_TEXT, NN, 5, "'ru'"},
    {"balance_kopeks", TS_COL_INT, NN, 0, "0"},
    {"used_promocodes", TS_COL_INT, NN, 0, "0"},
    {"has_had_paid_subscription", TS_COL_BOOL, NN, 0, "FALSE"},
    {"referred_by_id", TS_COL_INT},
    {"referral_code", TS_COL_TEXT, 0, 20},
    {"promo_group_id", TS_COL_INT},
    {"created_at", TS_COL_TIME},
    {"updated_at", TS_COL_TIME},
    {"last_activity", TS_COL_TIME},
};

static const ts_column subscriptions_cols[] = {
    {"id", TS_COL_ID, NN},
    {"user_id", TS_COL_INT, NN},
    {"status", TS_COL_TEXT, NN, 20, "'trial'"},
    {"is_trial", TS_COL_BOOL, NN, 0, "FALSE"},
    {"start_date", TS_COL_TIME},
    {"end_date", TS_COL_TIME},
    {"traffic_limit_gb", TS_COL_INT, NN, 0, "0"},
    {"traffic_used_gb", TS_COL_DOUBLE, NN, 0, "0"},
    {"device_limit", TS_COL_INT, NN, 0, "1"},
    {"autopay_enabled", TS_COL_BOOL, NN, 0, "FALSE"},
    {"autopay_days_before", TS_COL_INT, NN, 0, "3"},
    {"subscription_url", TS_COL_TEXT},
    {"created_at", TS_COL_TIME},
    {"updated_at", TS_COL_TIME},
};

static const ts_column transactions_cols[] = {
    {"id", TS_COL_ID, NN},
    {"user_id", TS_COL_INT, NN},
    {"type", TS_COL_TEXT, NN, 50},
    {"amount_kopeks", TS_COL_INT, NN},
    {"description", TS_COL_TEXT},
    {"payment_method", TS_COL_TEXT, 0, 50},
    {"external_id", TS_COL_TEXT, 0, 255},
    {"is_completed", TS_COL_BOOL, NN, 0, "TRUE"},
    {"created_at", TS_COL_TIME},
    {"completed_at", TS_COL_TIME},
};

static const ts_column promocodes_cols[] = {
    {"id", TS_COL_ID, NN},
    {"code", TS_COL_TEXT, NN, 50},
    {"type", TS_COL_TEXT, NN, 50},
    {"balance_bonus_kopeks", TS_COL_INT, NN, 0, "0"},
    {"subscription_days", TS_COL_INT, NN, 0, "0"},
    {"max_uses", TS_COL_INT, NN, 0, "1"},
    {"current_uses", TS_COL_INT, NN, 0, "0"},
    {"valid_from", TS_COL_TIME},
    {"valid_until", TS_COL_TIME},
    {"is_active", TS_COL_BOOL, NN, 0, "TRUE"},
    {"created_by", TS_COL_INT},
    {"promo_group_id", TS_COL_INT},
    {"created_at", TS_COL_TIME},
    {"updated_at", TS_COL_TIME},
};

static const ts_column promocode_uses_cols[] = {
    {"id", TS_COL_ID, NN},
    {"promocode_id", TS_COL_INT, NN},
    {"user_id", TS_COL_INT, NN},
    {"used_at", TS_COL_TIME},
};

static const ts_column referral_earnings_cols[] = {
    {"id", TS_COL_ID, NN},
    {"user_id", TS_COL_INT, NN},
    {"referral_id", TS_COL_INT, NN},
    {"amount_kopeks", TS_COL_INT, NN},
    {"reason", TS_COL_TEXT, NN, 100},
    {"referral_transaction_id", TS_COL_INT},
    {"created_at", TS_COL_TIME},
};

static const ts_column tickets_cols[] = {
    {"id", TS_COL_ID, NN},
    {"user_id", TS_COL_INT, NN},
    {"title", TS_COL_TEXT, NN, 255},
    {"status", TS_COL_TEXT, NN, 20, "'open'"},
    {"priority", TS_COL_TEXT, NN, 20, "'normal'"},
    {"created_at", TS_COL_TIME},
    {"updated_at", TS_COL_TIME},
    {"closed_at", TS_COL_TIME},
};

static const ts_column ticket_messages_cols[] = {
    {"id", TS_COL_ID, NN},
    {"ticket_id", TS_COL_INT, NN},
    {"user_id", TS_COL_INT, NN},
    {"message_text", TS_COL_TEXT, NN},
    {"is_from_admin", TS_COL_BOOL, NN, 0, "FALSE"},
    {"has_media", TS_COL_BOOL, NN, 0, "FALSE"},
    {"media_type", TS_COL_TEXT, 0, 20},
    {"media_file_id", TS_COL_TEXT, 0, 255},
    {"created_at", TS_COL_TIME},
};

static const ts_column system_settings_cols[] = {
    {"id", TS_COL_ID, NN},
    {"key", TS_COL_TEXT, NN, 255},
    {"value", TS_COL_TEXT},
};

/* tenantshift's own, the one legacy table the bot's schema lacks (init
   creates it): an update's (update_id) recorded with its writes, so a
   redelivered Telegram update changes nothing. */
static const ts_column processed_updates_cols[] = {
    {"update_id", TS_COL_INT, NN},
    {"processed_at", TS_COL_TIME, NN},
};

#define TABLE(name, pk, uniq, fks, tenant) \
    {#name, name##_cols, N(name##_cols), pk, uniq, fks, tenant}
#define NOFK NULL, 0
#define FKS(x) x, N(x)

/* Keys, uniques and references are the store's (the catalog's), not declared. */
const ts_table ts_declared_tables[] = {
    TABLE(promo_groups, "id", NULL, NOFK, 1),
    TABLE(users, "id", NULL, NOFK, 1),
    TABLE(subscriptions, "id", NULL, NOFK, 1),
    TABLE(transactions, "id", NULL, NOFK, 1),
    TABLE(promocodes, "id", NULL, NOFK, 1),
    TABLE(promocode_uses, "id", NULL, NOFK, 1),
    TABLE(referral_earnings, "id", NULL, NOFK, 1),
    TABLE(tickets, "id", NULL, NOFK, 1),
    TABLE(ticket_messages, "id", NULL, NOFK, 1),
    /* Not a tenant table: increment 2.4 maps its rows into per-bot tables. */
    TABLE(system_settings, "id", NULL, NOFK, 0),
    {"ts_processed_updates", processed_updates_cols, N(processed_updates_cols), "update_id", NULL,
     NOFK, 1},
};
const int ts_declared_ntables = N(ts_declared_tables);

/* ---- new (multi-tenant): the tables of increment 1.1 -------------------- */

static const ts_column bots_cols[] = {
    {"id", TS_COL_ID, NN},
    {"name", TS_COL_TEXT, NN, 255},
    {"telegram_bot_token", TS_COL_TEXT, NN, 255},
    {"api_token_hash", TS_COL_TEXT, 0, 64}, /* hex SHA-256; the token itself is never stored */
    {"is_master", TS_COL_BOOL, NN, 0, "FALSE"},
    {"is_active", TS_COL_BOOL, NN, 0, "TRUE"},
    {"card_to_card_enabled", TS_COL_BOOL, NN, 0, "FALSE"},
    {"card_receipt_topic_id", TS_COL_INT},
    {"zarinpal_enabled", TS_COL_BOOL, NN, 0, "FALSE"},
    {"zarinpal_merchant_id", TS_COL_TEXT, 0, 64},
    {"zarinpal_sandbox", TS_COL_BOOL, NN, 0, "FALSE"},
    {"default_language", TS_COL_TEXT, NN, 5, "'fa'"},
    {"support_username", TS_COL_TEXT, 0, 255},
    {"admin_chat_id", TS_COL_INT},
    {"admin_topic_id", TS_COL_INT},
    {"notification_group_id", TS_COL_INT},
    {"notification_topic_id", TS_COL_INT},
    {"wallet_balance_kopeks", TS_COL_INT, NN, 0, "0"},
    {"traffic_consumed_bytes", TS_COL_INT, NN, 0, "0"},
    {"traffic_sold_bytes", TS_COL_INT, NN, 0, "0"},
    {"created_at", TS_COL_TIME},
    {"updated_at", TS_COL_TIME},
};
static const char *const bots_uniq[] = {"telegram_bot_token", NULL};

static const ts_column bot_feature_flags_cols[] = {
    {"bot_id", TS_COL_INT, NN},
    {"feature_key", TS_COL_TEXT, NN, 64},
    {"enabled", TS_COL_BOOL, NN, 0, "FALSE"},
    {"config", TS_COL_JSON, NN, 0, "'{}'"},
};
static const ts_fk to_bots[] = {{"bot_id", "bots", "id", "CASCADE", 0}};

static const ts_column bot_configurations_cols[] = {
    {"bot_id", TS_COL_INT, NN},
    {"config_key", TS_COL_TEXT, NN, 100},
    {"config_value", TS_COL_JSON, NN},
};

static const ts_column tenant_payment_cards_cols[] = {
    {"id", TS_COL_ID, NN},
    {"bot_id", TS_COL_INT, NN},
    {"card_number", TS_COL_TEXT, NN, 32},
    {"card_holder_name", TS_COL_TEXT, NN, 255},
    {"rotation_strategy", TS_COL_TEXT, NN, 20, "'round_robin'",
     "rotation_strategy IN ('round_robin', 'random', 'time_based', 'weighted')"},
    {"rotation_interval_minutes", TS_COL_INT, NN, 0, "60"},
    {"weight", TS_COL_INT, NN, 0, "1"},
    {"success_count", TS_COL_INT, NN, 0, "0"},
    {"failure_count", TS_COL_INT, NN, 0, "0"},
    {"is_active", TS_COL_BOOL, NN, 0, "TRUE"},
    {"last_used_at", TS_COL_TIME},
    {"current_usage_count", TS_COL_INT, NN, 0, "0"},
};

static const ts_column bot_plans_cols[] = {
    {"id", TS_COL_ID, NN},
    {"bot_id", TS_COL_INT, NN},
    {"name", TS_COL_TEXT, NN, 255},
    {"period_days", TS_COL_INT, NN},
    {"price_kopeks", TS_COL_INT, NN},
    {"traffic_limit_gb", TS_COL_INT, NN, 0, "0"},
    {"device_limit", TS_COL_INT, NN, 0, "1"},
    {"is_active", TS_COL_BOOL, NN, 0, "TRUE"},
    {"sort_order", TS_COL_INT, NN, 0, "0"},
};

static const ts_column card_to_card_payments_cols[] = {
    {"id", TS_COL_ID, NN},
    {"bot_id", TS_COL_INT, NN},
    {"user_id", TS_COL_INT, NN},
    {"transaction_id", TS_COL_INT},
    {"card_id", TS_COL_INT},
    {"amount_kopeks", TS_COL_INT, NN},
    {"tracking_number", TS_COL_TEXT, NN, 19},
    {"receipt_type", TS_COL_TEXT, NN, 10, "'image'", "receipt_type IN ('image', 'text', 'both')"},
    {"receipt_text", TS_COL_TEXT, 0, 4096},
    {"receipt_image_file_id", TS_COL_TEXT, 0, 255},
    {"status", TS_COL_TEXT, NN, 20, "'pending'",
     "status IN ('pending', 'approved', 'rejected', 'cancelled')"},
    {"admin_reviewed_by", TS_COL_INT},
    {"admin_reviewed_at", TS_COL_TIME},
    {"admin_notes", TS_COL_TEXT, 0, 1024},
    {"created_at", TS_COL_TIME},
};
static const char *const card_to_card_payments_uniq[] = {"bot_id, tracking_number", NULL};
static const ts_fk card_to_card_payments_fks[] = {
    {"bot_id", "bots", "id", "CASCADE", 0},
    {"bot_id, user_id", "users", "bot_id, id", "CASCADE", 0},
    {"bot_id, transaction_id", "transactions", "bot_id, id", NULL, 0},
    {"bot_id, card_id", "tenant_payment_cards", "bot_id, id", NULL, 0},
};

static const ts_column zarinpal_payments_cols[] = {
    {"id", TS_COL_ID, NN},
    {"bot_id", TS_COL_INT, NN},
    {"user_id", TS_COL_INT, NN},
    {"transaction_id", TS_COL_INT},
    {"amount_kopeks", TS_COL_INT, NN},
    {"zarinpal_authority", TS_COL_TEXT, NN, 64},
    {"zarinpal_ref_id", TS_COL_TEXT, 0, 64},
    {"status", TS_COL_TEXT, NN, 20, "'pending'", "status IN ('pending', 'paid', 'failed', 'cancelled')"},
    {"callback_url", TS_COL_TEXT, 0, 1024},
    {"created_at", TS_COL_TIME},
    {"paid_at", TS_COL_TIME},
};
static const char *const zarinpal_payments_uniq[] = {"bot_id, zarinpal_authority", NULL};
static const ts_fk zarinpal_payments_fks[] = {
    {"bot_id", "bots", "id", "CASCADE", 0},
    {"bot_id, user_id", "users", "bot_id, id", "CASCADE", 0},
    {"bot_id, transaction_id", "transactions", "bot_id, id", NULL, 0},
};

/* Declared in dependency order: bots first, then what references it; the
   derived tenant tables are placed right after bots by ts_schema.c. */
const ts_table ts_new_own_tables[] = {
    TABLE(bots, "id", bots_uniq, NOFK, 0),
    TABLE(bot_feature_flags, "bot_id, feature_key", NULL, FKS(to_bots), 1),
    TABLE(bot_configurations, "bot_id, config_key", NULL, FKS(to_bots), 1),
    TABLE(tenant_payment_cards, "bot_id, id", NULL, FKS(to_bots), 1),
    TABLE(bot_plans, "bot_id, id", NULL, FKS(to_bots), 1),
    TABLE(card_to_card_payments, "bot_id, id", card_to_card_payments_uniq,
          FKS(card_to_card_payments_fks), 1),
    TABLE(zarinpal_payments, "bot_id, id", zarinpal_payments_uniq, FKS(zarinpal_payments_fks), 1),
};
const int ts_new_own_ntables = N(ts_new_own_tables);

/* ---- control plane (in the new store) ------------------------------------ */

static const ts_column ts_increments_cols[] = {
    {"id", TS_COL_TEXT, NN, 16},
    {"stage", TS_COL_TEXT, NN, 16},
    {"version", TS_COL_INT, NN, 0, "1"},
    {"changed_at", TS_COL_TIME},
    {"changed_by", TS_COL_TEXT, 0, 255},
    {"reason", TS_COL_TEXT, 0, 1024},
};

static const ts_column ts_audit_cols[] = {
    {"id", TS_COL_ID, NN},
    {"at", TS_COL_TIME, NN},
    {"actor", TS_COL_TEXT, NN, 255},
    {"host", TS_COL_TEXT, 0, 255},
    {"pid", TS_COL_INT},
    {"command", TS_COL_TEXT, NN, 64},
    {"args", TS_COL_TEXT, 0, 4096},
    {"increment_id", TS_COL_TEXT, 0, 16},
    {"from_stage", TS_COL_TEXT, 0, 16},
    {"to_stage", TS_COL_TEXT, 0, 16},
    {"result", TS_COL_TEXT, NN, 16},
    {"error", TS_COL_TEXT, 0, 4096},
    {"duration_ms", TS_COL_INT},
};

static const ts_column ts_backfill_cols[] = {
    {"increment_id", TS_COL_TEXT, NN, 16},
    {"table_name", TS_COL_TEXT, NN, 63},
    {"last_key", TS_COL_JSON},           /* the key of the last copied row, JSON array */
    {"rows_done", TS_COL_INT, NN, 0, "0"},
    {"rows_total", TS_COL_INT, NN, 0, "0"},
    {"started_at", TS_COL_TIME},
    {"updated_at", TS_COL_TIME},
    {"finished_at", TS_COL_TIME},
};

static const ts_column ts_mismatches_cols[] = {
    {"id", TS_COL_ID, NN},
    {"increment_id", TS_COL_TEXT, NN, 16},
    {"table_name", TS_COL_TEXT, NN, 63},
    {"row_key", TS_COL_JSON, NN},
    {"column_name", TS_COL_TEXT, 0, 63},
    {"legacy_value", TS_COL_TEXT},
    {"new_value", TS_COL_TEXT},
    {"detected_at", TS_COL_TIME, NN},
    {"process_id", TS_COL_TEXT, 0, 128},
};

static const ts_column ts_processes_cols[] = {
    {"id", TS_COL_TEXT, NN, 128},        /* host:pid:start */
    {"host", TS_COL_TEXT, NN, 255},
    {"pid", TS_COL_INT, NN},
    {"program", TS_COL_TEXT, NN, 64},
    {"started_at", TS_COL_TIME, NN},
    {"heartbeat_at", TS_COL_TIME, NN},
    {"versions", TS_COL_JSON, NN, 0, "'{}'"},   /* increment id -> applied version */
    {"counters", TS_COL_JSON, NN, 0, "'{}'"},   /* legacy/new reads and writes per table */
    {"kill_switch", TS_COL_BOOL, NN, 0, "FALSE"},
};

static const ts_column ts_lock_cols[] = {
    {"name", TS_COL_TEXT, NN, 63},
    {"actor", TS_COL_TEXT, NN, 255},
    {"host", TS_COL_TEXT, NN, 255},
    {"pid", TS_COL_INT, NN},
    {"command", TS_COL_TEXT, NN, 255},
    {"acquired_at", TS_COL_TIME, NN},
    {"heartbeat_at", TS_COL_TIME, NN},
};

const ts_table ts_control_tables[] = {
    TABLE(ts_increments, "id", NULL, NOFK, 0),
    TABLE(ts_audit, "id", NULL, NOFK, 0),
    TABLE(ts_backfill, "increment_id, table_name", NULL, NOFK, 0),
    TABLE(ts_mismatches, "id", NULL, NOFK, 0),
    TABLE(ts_processes, "id", NULL, NOFK, 0),
    TABLE(ts_lock, "name", NULL, NOFK, 0),
};
const int ts_control_ntables = N(ts_control_tables);

/* ---- the journal: in whichever store is primary, so both stores get it --- */

static const ts_column ts_journal_cols[] = {
    {"id", TS_COL_ID, NN},
    {"kind", TS_COL_TEXT, NN, 8, NULL, "kind IN ('drift', 'change')"},
    {"increment_id", TS_COL_TEXT, NN, 16},
    {"table_name", TS_COL_TEXT, NN, 63},
    {"row_key", TS_COL_TEXT, NN, 4096},  /* ts_rowjson text, compared for equality */
    {"op", TS_COL_TEXT, NN, 8, NULL, "op IN ('upsert', 'delete')"},
    {"row_image", TS_COL_JSON},
    {"version", TS_COL_INT, NN},
    {"target", TS_COL_TEXT, NN, 8, NULL, "target IN ('legacy', 'new')"},
    {"status", TS_COL_TEXT, NN, 8, "'pending'", "status IN ('pending', 'done')"},
    {"attempts", TS_COL_INT, NN, 0, "0"},
    {"last_error", TS_COL_TEXT, 0, 1024},
    {"created_at", TS_COL_TIME, NN},
    {"applied_at", TS_COL_TIME},
};

const ts_table ts_journal_tables[] = {
    TABLE(ts_journal, "id", NULL, NOFK, 0),
};
const int ts_journal_ntables = N(ts_journal_tables);
