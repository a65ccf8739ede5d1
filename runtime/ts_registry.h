/*
 * ts_registry.h: which bots this process serves, and each one's settings
 * (bot context, increments 1.5 and 2.5). It is ts_bot's list_bots hook.
 *
 *   1.5 bot-context off (or 1.1 still at legacy, so `bots` is not readable):
 *       the configured token, as the master bot (master_bot_id), with the
 *       configuration's admin chat, language and Zarinpal merchant;
 *   1.5 on, 2.5 multi-bot off: the `bots` row of the configured token, if it
 *       is active (an unknown or inactive token serves nothing, logged);
 *   2.5 on: every active row of `bots` (none at all: the configured token, as
 *       the plan's fallback).
 * The master bot is the row of master_bot_id; its empty settings fall back to
 * the configuration's. Re-read every bots_refresh_s by the event loop, so a
 * bot added, deactivated or deleted is picked up without a restart.
 */
#ifndef TS_REGISTRY_H
#define TS_REGISTRY_H

#include "ts_bot.h"
#include "ts_config.h"
#include "ts_repo.h"
#include "ts_shim.h"

/* A served bot's settings beyond its ts_bot_info. */
typedef struct ts_bot_settings {
    ts_bot_info info;          /* token owned by the registry */
    char merchant[TS_REPO_TEXT(64)];   /* Zarinpal merchant id (a secret, as
                                          ts_bot.zarinpal_merchant_id), "" = Zarinpal off */
} ts_bot_settings;

typedef struct ts_registry ts_registry;

ts_registry *ts_registry_new(const ts_config *cfg, ts_shim *sh);   /* NULL: out of memory */
void ts_registry_free(ts_registry *r);

/* Re-read the served set (the list_bots hook). */
int ts_registry_refresh(ts_registry *r, const ts_bot_info **bots, int *n, ts_error *err);

/* The settings of a served bot; NULL when it is not served. */
const ts_bot_settings *ts_registry_find(const ts_registry *r, int64_t bot_id);

#endif
