/*
 * ts_check.h: `ts-verify check`: the invariants of the architecture, read from
 * the live catalogs (information_schema and pg_catalog on PostgreSQL, pragma
 * table_info / index_list / foreign_key_list on SQLite), not from the declared
 * schema, so a hand-made change to a store is caught.
 *
 *   no_null_bot_id        no tenant row lacks bot_id
 *   pk_includes_bot_id    every PK and unique of a tenant table includes bot_id
 *   fk_within_bot         every FK between tenant tables includes bot_id on both
 *                         ends, at the same position
 *   one_master_bot        exactly one active master bot, and it is the
 *                         manifest's master_bot_id
 *   sequence_above_legacy every new-store id sequence is above the legacy
 *                         table's largest id (read without drawing a value)
 *   journal_not_stuck     no ts_journal entry pending longer than the limit,
 *                         in either store
 *   citus_ready           distribution column bot_id in every PK and unique,
 *                         tenant tables co-locatable (FKs among them include
 *                         bot_id), shared tables listed as reference tables
 * Each result is a ts_vinv in the report, with every violation named.
 */
#ifndef TS_CHECK_H
#define TS_CHECK_H

#include <stdint.h>

#include "ts_manifest.h"
#include "ts_store.h"
#include "ts_vreport.h"

#define TS_CHECK_JOURNAL_AGE_DEFAULT 300

typedef struct ts_check_opts {
    int64_t journal_max_age;   /* seconds a journal entry may stay pending */
} ts_check_opts;

int ts_check_run(ts_store *legacy, ts_store *nw, const ts_manifest *m, const ts_check_opts *o,
                 ts_vreport *r, ts_error *err);

/* The catalog's view of one table: its keys and references, as column lists. */
typedef struct ts_catalog_table {
    char pk[256];            /* "bot_id,id"; "" without one */
    char uniques[16][256];
    int nuniques;
    struct {
        char cols[256], table[64], ref_cols[256];
    } fks[16];
    int nfks;
    int has_bot_id, bot_id_notnull;
    char bot_id_type[32];    /* as the catalog names it: "bigint", "integer" */
} ts_catalog_table;

/* Read a table's keys from the live catalog of s; *exists 0 when it has none. */
int ts_check_catalog_read(ts_store *s, const char *table, ts_catalog_table *out, int *exists,
                    ts_error *err);

#endif
