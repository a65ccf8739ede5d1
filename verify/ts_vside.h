/*
 * ts_vside.h: one side of a table comparison, read in key order, a page at a time.
 *
 * A plan says what is compared for one table map of the manifest: the new
 * table's columns the manifest fills (key first), less the bot_id constant,
 * which selects the master bot's rows instead of being compared.
 *
 * The legacy side reads legacy rows, drops those the map's row filter refuses
 * and maps the rest through ts_tmap_to_new; the new side reads the master
 * bot's rows. Both come out as canonical encodings of the same columns, so a
 * chunk's bytes (and digest) are equal exactly when its rows are.
 *
 * When the key mapping keeps the order (every key column copied or renamed,
 * integer to integer or text to text), both sides are keyset-paged in SQL:
 * WHERE key > last ORDER BY key LIMIT n, never holding more than a page. When
 * it does not (a key translated by a value map, as system_settings.key ->
 * bot_feature_flags.feature_key), legacy order says nothing about new order:
 * such a table is read whole, sorted in memory by the new key and paged from
 * there; these are small settings tables, and the read is capped.
 */
#ifndef TS_VSIDE_H
#define TS_VSIDE_H

#include "ts_manifest.h"
#include "ts_store.h"
#include "ts_vrows.h"

/* Most rows a side whose key order is not kept may hold in memory. */
#define TS_VSIDE_MEMORY_MAX 1000000

typedef struct ts_vplan {
    const ts_tmap *tm;
    int ncols;
    int cols[128];            /* target column indexes, key first */
    ts_coltype types[128];
    int nkey;
    int bot_col;              /* target column holding the constant bot_id, -1 none */
    ts_value bot;
    int ordered;              /* key order kept: stream both sides */
} ts_vplan;

int ts_vplan_make(const ts_tmap *tm, ts_vplan *p, ts_error *err);

typedef struct ts_vside {
    const ts_vplan *p;
    ts_store *s;
    int legacy;
    int chunk;
    ts_buf sql_first, sql_after;   /* first page, page after a key */
    ts_vrows rows;                 /* the page (ordered) or the whole table (memory) */
    int loaded;                    /* memory mode: rows hold the table */
    size_t from, to;               /* the current page within rows */
    ts_buf last;                   /* encoding of the last key the page covered */
    int exhausted;                 /* the page reached the end of the table */
    ts_buf wm;                     /* legacy: encoded backfill watermark */
    int has_wm, all_pending;
    ts_value *vals, *newrow;
    ts_buf text, keybuf;
} ts_vside;

int ts_vside_open(ts_vside *sd, const ts_vplan *p, ts_store *s, int legacy, int chunk,
                  ts_error *err);
void ts_vside_close(ts_vside *sd);

/*
 * Legacy side only: rows whose legacy key is above watermark (an encoded key,
 * NULL: every row) are flagged pending: a running backfill has not reached them.
 */
int ts_vside_set_watermark(ts_vside *sd, const ts_value *key, int all_pending, ts_error *err);

/* Read the page after key `after` (an encoded key row, NULL: from the start). */
int ts_vside_page(ts_vside *sd, const unsigned char *after, size_t after_len, ts_error *err);

#endif
