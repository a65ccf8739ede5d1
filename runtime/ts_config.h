/*
 * ts_config.h: ts-bot's configuration, a JSON file plus environment overrides.
 *
 * Every key, its environment variable, type, range and default is one row of
 * the table in ts_config.c; `ts-bot --help` prints that table. Loading checks
 * everything and reports every problem at once, each naming its key (or
 * variable): unknown key, wrong type, out of range, malformed URL or token,
 * missing required key. Secrets (bot token, merchant id) are never echoed.
 */
#ifndef TS_CONFIG_H
#define TS_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "ts_error.h"

typedef struct ts_config {
    char *legacy_url;          /* legacy store (sqlite:PATH, postgresql://...) */
    char *new_url;             /* new store */
    char *bot_token;           /* the master bot */
    char *telegram_url;        /* Bot API base */
    char *zarinpal_url;        /* Zarinpal base */
    char *zarinpal_merchant;   /* the master bot's merchant id; "" = Zarinpal off */
    char *public_url;          /* how Zarinpal reaches our HTTP endpoint; "" = off */
    int zarinpal_reconcile_s;  /* how often pending payments are verified with the gateway */
    int zarinpal_stale_s;   /* ... once they are this old */
    char *http_listen;         /* address the HTTP endpoint binds */
    int http_port;             /* 0 = any free port */
    int poll_timeout_s;        /* getUpdates long-poll timeout */
    int bots_refresh_s;        /* how often the set of active bots is re-read */
    int flag_cache_ttl_s;      /* feature-flag cache TTL */
    char *kill_switch_file;    /* "" = none */
    char *manifest;            /* manifest file; "" = the built-in one */
    double shadow_fraction;    /* of reads shadow-compared at shadow stage */
    int shadow_timeout_ms;
    int64_t admin_chat_id;     /* master bot's admin chat; 0 = none */
    char *default_language;    /* fa | en */
    int trial_days;            /* free trial length */
    int trial_traffic_gb;
    int referral_percent;      /* of a referred user's first payment */
    char *log_level;           /* debug | info | warn | error */
} ts_config;

/* Where environment overrides come from; getenv in the program, a table in tests. */
typedef const char *(*ts_env_fn)(const char *name);

/*
 * Defaults, then the file (path may be NULL: environment only), then the
 * environment. On failure err->msg lists every problem, one per line; *cfg is
 * left filled (free it either way).
 */
int ts_config_load(const char *path, ts_env_fn env, ts_config *cfg, ts_error *err);
void ts_config_free(ts_config *cfg);

/* The keys, their variables, types and defaults, for --help. */
void ts_config_print_keys(FILE *out);

#endif
