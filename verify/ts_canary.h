/*
 * ts_canary.h: `ts-verify canary`: prove bot isolation with a temporary bot.
 *
 * In one run:
 *  1. a canary bot is created in the new store (is_master false, inactive, a
 *     token no Telegram bot has), and for every tenant table that holds master
 *     rows, one of them is cloned under the canary bot: same natural key, so
 *     every composite unique must accept the same key under both bots;
 *     rows are cloned parents first, so references stay inside the canary;
 *  2. every master-bot read verify performs (the per-table reads of the diff,
 *     the count queries) runs again, and any canary row it returns is a
 *     violation; so is a clone the store refused (a unique without bot_id);
 *  3. the canary is removed: its rows by bot_id, table by table, children
 *     first, then the bot; this runs also when a step above failed, and its
 *     own failure is reported.
 * When the shim's repositories exist, their master reads belong in step 2:
 * ts_canary_reads lists what is run, one function per read.
 */
#ifndef TS_CANARY_H
#define TS_CANARY_H

#include "ts_manifest.h"
#include "ts_store.h"
#include "ts_vreport.h"

/* The canary bot's id: far above any real bot id, and refused when taken. */
#define TS_CANARY_BOT_ID INT64_C(9000000000000000001)

int ts_canary_run(ts_store *nw, const ts_manifest *m, ts_vreport *r, ts_error *err);

#endif
