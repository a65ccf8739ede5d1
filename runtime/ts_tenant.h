/*
 * ts_tenant.h: the tenant operations (bots, their feature flags and
 * configuration, their wallets, plans and payment cards) as one unit of work each, with their input
 * checks and their JSON results: what ts-admin (the CLI) and the management
 * API (ts_api.h) both do, so the two cannot drift apart.
 */
#ifndef TS_TENANT_H
#define TS_TENANT_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "ts_buf.h"
#include "ts_repo.h"
#include "ts_shim.h"

#define TS_TENANT_MAX_FIELDS 16   /* bot fields one create or update sets */
#define TS_TENANT_FLAG_KEY_MAX 64
#define TS_TENANT_CONFIG_KEY_MAX 100
#define TS_TENANT_PAGE_MAX 200    /* a list page holds at most this many */
#define TS_TENANT_PAGE_DEFAULT 50 /* the API's page when no limit is given */

typedef enum ts_tenant_verb {
    TS_TENANT_BOT_CREATE, TS_TENANT_BOT_LIST, TS_TENANT_BOT_SHOW, TS_TENANT_BOT_UPDATE,
    TS_TENANT_BOT_ACTIVATE, TS_TENANT_BOT_DEACTIVATE, TS_TENANT_BOT_DELETE, TS_TENANT_BOT_TOKEN,
    TS_TENANT_FLAG_LIST, TS_TENANT_FLAG_GET, TS_TENANT_FLAG_SET, TS_TENANT_FLAG_UNSET,
    TS_TENANT_CONFIG_LIST, TS_TENANT_CONFIG_GET, TS_TENANT_CONFIG_SET, TS_TENANT_CONFIG_UNSET,
    TS_TENANT_WALLET,
    TS_TENANT_PLAN_LIST, TS_TENANT_PLAN_CREATE, TS_TENANT_PLAN_GET, TS_TENANT_PLAN_UPDATE,
    TS_TENANT_PLAN_DELETE, TS_TENANT_PLAN_ACTIVATE, TS_TENANT_PLAN_DEACTIVATE,
    TS_TENANT_PLAN_ORDER,
    TS_TENANT_CARD_LIST, TS_TENANT_CARD_CREATE, TS_TENANT_CARD_GET, TS_TENANT_CARD_UPDATE,
    TS_TENANT_CARD_DELETE, TS_TENANT_CARD_ROTATION, TS_TENANT_CARD_ROTATE, TS_TENANT_CARD_STATS
} ts_tenant_verb;

/* What a field belongs to: bots (ts_repo_bot_update), plans (ts_repo_plan_update) or
   payment cards (ts_repo_card_update). */
typedef enum ts_tenant_entity { TS_TENANT_BOT, TS_TENANT_PLAN, TS_TENANT_CARD } ts_tenant_entity;
/* "bot", "plan", "card". */
const char *ts_tenant_entity_name(ts_tenant_entity e);

/* One operation, its input checked (ts_tenant_check_*). */
typedef struct ts_tenant_op {
    ts_tenant_verb verb;
    int64_t bot_id;                 /* the bot it is about; 0 for create and list */
    int64_t only_bot;               /* list: just this bot (a tenant's view); 0: every bot */
    int64_t item_id;                /* the plan or the card */
    int64_t after;                  /* bot and card list: the page after this id (0: first) */
    int limit;                      /* bot and card list: at most this many (0: all) */
    const char *strategy;           /* card rotate: the rotation strategy */
    int64_t interval;               /* card rotate: its minutes (0: keep each card's) */
    const int64_t *order;           /* plan order: the plan ids, first shown first */
    int norder;
    const char *key;                /* flag or configuration key */
    int enabled;                    /* flag set */
    const char *json;               /* flag set: config (NULL keeps it); config set: value */
    const char *token;              /* the Telegram token: create (required), update */
    ts_set fields[TS_TENANT_MAX_FIELDS];  /* the bot's or the plan's */
    int nfields;
    int confirm;                    /* delete: the caller asked for the cascade explicitly */
} ts_tenant_op;

typedef enum ts_tenant_kind { TS_TENANT_INT, TS_TENANT_BOOL, TS_TENANT_TEXT } ts_tenant_kind;
/* The kind of field col of e; -1 when col is no settable field. */
int ts_tenant_field_kind(ts_tenant_entity e, const char *col);
/* Check a text field's value (what names it in the message). */
int ts_tenant_check_field(const char *col, const char *what, const char *s, ts_error *err);
/* Check an integer field's value against its least value. */
int ts_tenant_check_int(ts_tenant_entity e, const char *col, int64_t v, ts_error *err);
int ts_tenant_check_token(const char *token, ts_error *err);
int ts_tenant_check_key(int flag, const char *key, ts_error *err);
int ts_tenant_check_json(const char *what, const char *s, ts_error *err);
/* round_robin, random, time_based or weighted. */
int ts_tenant_check_strategy(const char *strategy, ts_error *err);
/* A card number as logs and answers show it: "****" and its last four digits. */
const char *ts_tenant_mask_card(const char *number, char *out, size_t n);

/*
 * Lists of bots and cards are pages in id order (keyset: the page after the
 * id `after`), {"items": [...], "next": id or null}: next is the after of the
 * following page, null on the last.
 *
 * Run op in its own unit of work (again once when a stage changed under it).
 * *result gets the JSON to show (free it); *note what an audit row adds (the
 * bot created or deleted), never a secret. Bot create and token hand the api
 * token out once, in the result's "api_token".
 */
int ts_tenant_run(ts_shim *sh, const ts_tenant_op *op, cJSON **result, ts_buf *note,
                  ts_error *err);

#endif
