/*
 * ts_repo_bots.c: the bot registry (increment 1.3, table bots of 1.1), and
 * each bot's feature flags and configuration (increment 2.4; the master's come
 * from legacy system_settings until then).
 *
 * bots is not a tenant table: any context reads it, since resolving the bot an
 * update arrived on happens before there is a bot context. Who may change which
 * bot is the management API's decision (it authenticates by api token).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "ts_repo_int.h"

void ts_repo_bot_from(const ts_result *r, int row, ts_bot *b)
{
    b->id = ts_result_int(r, row, "id");
    REPO_TEXT(r, row, "name", b->name);
    REPO_TEXT(r, row, "telegram_bot_token", b->telegram_bot_token);
    REPO_TEXT(r, row, "api_token_hash", b->api_token_hash);
    b->is_master = repo_bool(r, row, "is_master");
    b->is_active = repo_bool(r, row, "is_active");
    b->card_to_card_enabled = repo_bool(r, row, "card_to_card_enabled");
    b->zarinpal_enabled = repo_bool(r, row, "zarinpal_enabled");
    b->zarinpal_sandbox = repo_bool(r, row, "zarinpal_sandbox");
    REPO_TEXT(r, row, "zarinpal_merchant_id", b->zarinpal_merchant_id);
    REPO_TEXT(r, row, "default_language", b->default_language);
    REPO_TEXT(r, row, "support_username", b->support_username);
    b->admin_chat_id = ts_result_int(r, row, "admin_chat_id");
    b->admin_topic_id = ts_result_int(r, row, "admin_topic_id");
    b->card_receipt_topic_id = ts_result_int(r, row, "card_receipt_topic_id");
    b->notification_group_id = ts_result_int(r, row, "notification_group_id");
    b->notification_topic_id = ts_result_int(r, row, "notification_topic_id");
    b->wallet_balance_kopeks = ts_result_int(r, row, "wallet_balance_kopeks");
    b->traffic_sold_bytes = ts_result_int(r, row, "traffic_sold_bytes");
    b->traffic_consumed_bytes = ts_result_int(r, row, "traffic_consumed_bytes");
}

static int bot_find(ts_tx *tx, const ts_cond *c, ts_bot *out, ts_error *err)
{
    ts_result *r;
    int rc = repo_one(tx, "bots", c, 1, "id", &r, err);
    if (rc == 1) {
        ts_repo_bot_from(r, 0, out);
        ts_result_free(r);
    }
    return rc;
}

/* A fresh api token and its hash. */
static int new_api_token(char api_token[TS_REPO_API_TOKEN_SIZE], char hash[65], ts_error *err)
{
    unsigned char rnd[32];
    if (repo_random(rnd, sizeof rnd, err))
        return -1;
    memcpy(api_token, "tsk_", 4);
    repo_hex(rnd, sizeof rnd, api_token + 4);
    return repo_sha256_hex(api_token, hash, err);
}

int ts_repo_bot_create(ts_tx *tx, const ts_bot_new *b, int64_t *id,
                       char api_token[TS_REPO_API_TOKEN_SIZE], ts_error *err)
{
    char hash[65], now[TS_TIME_MAX];
    ts_set v[7];
    int n = 0;
    if (new_api_token(api_token, hash, err))
        return -1;
    repo_now(now);
    v[n++] = (ts_set){"name", ts_text(b->name)};
    v[n++] = (ts_set){"telegram_bot_token", ts_text(b->telegram_bot_token)};
    v[n++] = (ts_set){"api_token_hash", ts_text(hash)};
    v[n++] = (ts_set){"created_at", ts_time(now)};
    v[n++] = (ts_set){"updated_at", ts_time(now)};
    if (b->default_language)
        v[n++] = (ts_set){"default_language", ts_text(b->default_language)};
    if (b->admin_chat_id)
        v[n++] = (ts_set){"admin_chat_id", ts_int(b->admin_chat_id)};
    if (ts_tx_insert(tx, "bots", v, n, id, err)) {
        memset(api_token, 0, TS_REPO_API_TOKEN_SIZE); /* never handed out for a bot not made */
        return -1;
    }
    return 0;
}

int ts_repo_bot_issue_api_token(ts_tx *tx, int64_t id, char api_token[TS_REPO_API_TOKEN_SIZE],
                                ts_error *err)
{
    char hash[65], now[TS_TIME_MAX];
    if (new_api_token(api_token, hash, err))
        return -1;
    repo_now(now);
    ts_set v[] = {{"api_token_hash", ts_text(hash)}, {"updated_at", ts_time(now)}};
    int rc = repo_update_id(tx, "bots", id, v, 2, err);
    if (rc != 1)
        memset(api_token, 0, TS_REPO_API_TOKEN_SIZE);
    return rc;
}

int ts_repo_bot_get(ts_tx *tx, int64_t id, ts_bot *out, ts_error *err)
{
    ts_cond c = {"id", ts_int(id)};
    return bot_find(tx, &c, out, err);
}

int ts_repo_bot_by_telegram_token(ts_tx *tx, const char *token, ts_bot *out, ts_error *err)
{
    ts_cond c = {"telegram_bot_token", ts_text(token)};
    return token ? bot_find(tx, &c, out, err) : 0;
}

int ts_repo_bot_by_api_token(ts_tx *tx, const char *api_token, ts_bot *out, ts_error *err)
{
    char hash[65];
    if (api_token == NULL || *api_token == '\0')
        return 0;
    if (repo_sha256_hex(api_token, hash, err))
        return -1;
    ts_cond c = {"api_token_hash", ts_text(hash)};
    int rc = bot_find(tx, &c, out, err);
    /* The store matched on the hash; the check that decides is constant-time,
       so how long it takes says nothing about how much of a guess was right. */
    if (rc == 1 && (strlen(out->api_token_hash) != 64 ||
                    CRYPTO_memcmp(out->api_token_hash, hash, 64) != 0))
        rc = 0;
    return rc;
}

int ts_repo_bot_master(ts_tx *tx, ts_bot *out, ts_error *err)
{
    ts_cond c = {"is_master", ts_bool(1)};
    return bot_find(tx, &c, out, err);
}

int ts_repo_bot_list_active(ts_tx *tx, ts_result **out, ts_error *err)
{
    ts_cond c = {"is_active", ts_bool(1)};
    return ts_tx_select(tx, "bots", &c, 1, "id", 0, out, err);
}

int ts_repo_bot_list(ts_tx *tx, ts_result **out, ts_error *err)
{
    return ts_tx_select(tx, "bots", NULL, 0, "id", 0, out, err);
}

int ts_repo_bot_page(ts_tx *tx, int64_t after, int limit, ts_result **out, ts_error *err)
{
    return repo_page(tx, "bots", after, limit, out, err);
}

int ts_repo_bot_wallet_credit(ts_tx *tx, int64_t id, int64_t kopeks, int64_t traffic_bytes,
                              ts_error *err)
{
    ts_set s[2] = {{"wallet_balance_kopeks", ts_int(kopeks), 1},
                   {"traffic_sold_bytes", ts_int(traffic_bytes), 1}};
    return repo_update_id(tx, "bots", id, s, 2, err);
}

int ts_repo_bot_update(ts_tx *tx, int64_t id, const ts_set *fields, int nfields, ts_error *err)
{
    static const char *const allowed[] = {
        "name", "telegram_bot_token", "card_to_card_enabled", "card_receipt_topic_id",
        "zarinpal_enabled", "zarinpal_merchant_id", "zarinpal_sandbox", "default_language",
        "support_username", "admin_chat_id", "admin_topic_id", "notification_group_id",
        "notification_topic_id", NULL};
    return repo_update_fields(tx, "bots", id, fields, nfields, allowed, 1, err);
}

int ts_repo_bot_set_active(ts_tx *tx, int64_t id, int active, ts_error *err)
{
    char now[TS_TIME_MAX];
    repo_now(now);
    ts_set s[2] = {{"is_active", ts_bool(active)}, {"updated_at", ts_time(now)}};
    return repo_update_id(tx, "bots", id, s, 2, err);
}

int ts_repo_bot_delete(ts_tx *tx, int64_t id, ts_error *err)
{
    ts_bot b;
    int rc = ts_repo_bot_get(tx, id, &b, err);
    if (rc <= 0)
        return rc;
    if (b.is_master)
        return ts_fail(err, TS_E_STATE, "bot %lld is the master bot: its rows are the legacy "
                       "data and it cannot be deleted (deactivate it instead)", (long long)id);
    /* Every tenant table references bots ON DELETE CASCADE. */
    return repo_delete_id(tx, "bots", id, err);
}

/* ---- feature flags --------------------------------------------------------------------- */

/* The first row of a keyed per-bot table, its column col copied (malloc) into *out. */
static int keyed_get(ts_tx *tx, const char *table, const char *keycol, const char *key,
                     const char *col, char **out, int *enabled, ts_error *err)
{
    ts_cond c = {keycol, ts_text(key)};
    ts_result *r;
    int rc = repo_one(tx, table, &c, 1, NULL, &r, err);
    if (rc != 1)
        return rc;
    if (enabled)
        *enabled = repo_bool(r, 0, "enabled");
    if (out) {
        const char *v = ts_result_text(r, 0, col);
        if ((*out = strdup(v ? v : "null")) == NULL)
            rc = ts_fail(err, TS_E_NOMEM, "out of memory");
    }
    ts_result_free(r);
    return rc;
}

static int keyed_delete(ts_tx *tx, const char *table, const char *keycol, const char *key,
                        ts_error *err)
{
    ts_cond c = {keycol, ts_text(key)};
    int64_t changed = 0;
    if (ts_tx_delete(tx, table, &c, 1, &changed, err))
        return -1;
    return changed > 0;
}

int ts_repo_flag_get(ts_tx *tx, const char *key, int *enabled, char **config, ts_error *err)
{
    return keyed_get(tx, "bot_feature_flags", "feature_key", key, "config", config, enabled, err);
}

int ts_repo_flag_enabled(ts_tx *tx, const char *key, ts_error *err)
{
    int enabled = 0;
    int rc = ts_repo_flag_get(tx, key, &enabled, NULL, err);
    return rc < 0 ? -1 : rc == 1 && enabled;
}

int ts_repo_flag_set(ts_tx *tx, const char *key, int enabled, const char *config, ts_error *err)
{
    ts_set v[3] = {{"feature_key", ts_text(key)}, {"enabled", ts_bool(enabled)},
                   {"config", ts_text(config)}};
    char *stored = NULL;
    if (ts_tx_upsert(tx, "bot_feature_flags", v, config ? 3 : 2, err))
        return -1;
    if (config == NULL || strcmp(config, "{}") == 0)
        return 0;
    /* While legacy is primary the manifest fills config with '{}' and drops
       the caller's: read it back rather than lose it silently. */
    int rc = ts_repo_flag_get(tx, key, NULL, &stored, err);
    if (rc == 1 && strcmp(stored, config) != 0)
        rc = ts_fail(err, TS_E_STATE, "feature flag %s: its config is kept only in the new "
                     "store, and legacy is still primary for increment 2.4: advance 2.4 to "
                     "read_new first, or set the flag without config", key);
    free(stored);
    return rc < 0 ? -1 : 0;
}

int ts_repo_flag_list(ts_tx *tx, ts_result **out, ts_error *err)
{
    return ts_tx_select(tx, "bot_feature_flags", NULL, 0, "feature_key", 0, out, err);
}

int ts_repo_flag_delete(ts_tx *tx, const char *key, ts_error *err)
{
    return keyed_delete(tx, "bot_feature_flags", "feature_key", key, err);
}

/* ---- configuration ------------------------------------------------------------------------ */

int ts_repo_config_get(ts_tx *tx, const char *key, char **json, ts_error *err)
{
    return keyed_get(tx, "bot_configurations", "config_key", key, "config_value", json, NULL, err);
}

int ts_repo_config_set(ts_tx *tx, const char *key, const char *json, ts_error *err)
{
    if (json == NULL)
        return ts_fail(err, TS_E_INVALID, "configuration %s: give a JSON value (delete it to "
                       "unset it)", key);
    ts_set v[2] = {{"config_key", ts_text(key)}, {"config_value", ts_text(json)}};
    return ts_tx_upsert(tx, "bot_configurations", v, 2, err);
}

int ts_repo_config_list(ts_tx *tx, ts_result **out, ts_error *err)
{
    return ts_tx_select(tx, "bot_configurations", NULL, 0, "config_key", 0, out, err);
}

int ts_repo_config_delete(ts_tx *tx, const char *key, ts_error *err)
{
    return keyed_delete(tx, "bot_configurations", "config_key", key, err);
}
