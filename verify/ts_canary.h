/*
 * ts_canary.h: `ts-verify canary`: prove bot isolation with a temporary bot.
 *
 * In one run:
 *  1. a canary bot is created in the new store (is_master false, inactive, a
 *     token no Telegram bot has), and for every tenant table that holds master
 *     rows, one of them is cloned under the canary bot: same primary and
 *     natural key, so every composite unique must accept the same key under
 *     both bots (a refused clone is a violation); rows are cloned parents
 *     first, so references stay inside the canary. This step, and the
 *     master-bot reads verify performs itself (the per-table reads of the
 *     diff), run in one transaction that is always rolled back;
 *  2. the shim's master reads (ts_canary_reads: every read of ts_repo.h a
 *     master bot uses), given the keys of the canary's rows, run once before
 *     the canary exists and once with it committed (the shim reads on
 *     connections of its own, which see only committed rows); any change in
 *     what a read returns is a canary row it let through;
 *  3. the canary is removed: its rows by bot_id, table by table, children
 *     first, then the bot. That runs also when a step above failed, and first
 *     thing in every run (a run killed in step 2 leaves the canary behind);
 *     then no canary row may be left.
 */
#ifndef TS_CANARY_H
#define TS_CANARY_H

#include "ts_buf.h"
#include "ts_repo.h"
#include "ts_store.h"
#include "ts_vreport.h"

/* The canary bot's id: far above any real bot id, and refused when taken. */
#define TS_CANARY_BOT_ID INT64_C(9000000000000000001)

/* Keys of rows the canary holds (and the master too: clones keep their keys);
   0 or "" where the canary has no row of that table. */
typedef struct ts_canary_keys {
    int64_t user_id, telegram_id, referrer_id, promo_group_id, sub_id, txn_user_id;
    int64_t earner_id, ticket_id, ticket_user_id, c2c_id, card_id, plan_id;
    char referral_code[TS_REPO_TEXT(32)];
    char promo_code[TS_REPO_TEXT(50)];
    char ticket_status[TS_REPO_TEXT(20)];
    char tracking[TS_REPO_TRACKING_SIZE];
    char authority[TS_REPO_TEXT(64)];
    char flag_key[TS_REPO_TEXT(64)];
    char config_key[TS_REPO_TEXT(100)];
} ts_canary_keys;

/*
 * One master read through the repositories, in the master's unit of work tx:
 * appends what the read returned to out (compared byte for byte before the
 * canary and with it). A read the stage refuses (TS_E_STATE) is recorded as
 * refused, not failed.
 */
typedef int (*ts_canary_read_fn)(ts_tx *tx, const ts_canary_keys *k, ts_buf *out,
                                 ts_error *err);

typedef struct ts_canary_read {
    const char *name;       /* the repository call: the subject of canary_shim_read */
    ts_canary_read_fn fn;
} ts_canary_read;

/* Every master read of ts_repo.h. */
extern const ts_canary_read ts_canary_reads[];
extern const int ts_canary_nreads;

/* Run the canary against the shim's new store nw (a connection of verify's own,
   not the shim's), with the shim's reads in reads[0..nreads). */
int ts_canary_run(ts_store *nw, ts_shim *sh, const ts_canary_read *reads, int nreads,
                  ts_vreport *r, ts_error *err);

#endif
