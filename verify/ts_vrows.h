/*
 * ts_vrows.h: rows held by verify, as their canonical encoding (ts_canon.h).
 *
 * A chunk of rows read from one side of a comparison is kept as the bytes
 * ts_canon_row made of it: the bytes are what the chunk digest hashes, what
 * two rows are compared by (byte equality is canonical equality, the same on
 * both engines), and values decode back from them for reports. The first
 * nkey values of every row are its key, in key order.
 *
 * Key order is the order both engines sort by: integers numerically, text by
 * bytes (COLLATE "C" on PostgreSQL, BINARY on SQLite), columns left to right.
 */
#ifndef TS_VROWS_H
#define TS_VROWS_H

#include <stddef.h>
#include <stdint.h>

#include "ts_buf.h"
#include "ts_canon.h"
#include "ts_error.h"
#include "ts_value.h"

typedef struct ts_vrow {
    size_t off, len;   /* the row's encoding in the set's bytes */
    int pending;       /* legacy row above a running backfill's watermark */
} ts_vrow;

typedef struct ts_vrows {
    ts_buf bytes;
    ts_vrow *rows;
    size_t n, cap;
    int nkey;          /* leading key values of every row */
} ts_vrows;

void ts_vrows_init(ts_vrows *rs, int nkey);
void ts_vrows_reset(ts_vrows *rs);
void ts_vrows_free(ts_vrows *rs);

/* Append the encoding of vals[0..n) (declared types, may be NULL). */
int ts_vrows_add(ts_vrows *rs, const ts_value *vals, const ts_coltype *types, int n, int pending,
                 ts_error *err);

static inline const unsigned char *ts_vrows_at(const ts_vrows *rs, size_t i)
{
    return (const unsigned char *)rs->bytes.s + rs->rows[i].off;
}

/* Decode the values of an encoded row into vals[0..max); returns how many.
   Values borrow from the encoding. */
int ts_vrow_decode(const unsigned char *row, size_t len, ts_value *vals, int max);

/* Key order of two encodings whose first nkey values are keys: <0, 0, >0. */
int ts_vrow_keycmp(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen,
                   int nkey);

/* Sort the rows by key (for maps whose key mapping does not keep the order). */
void ts_vrows_sort(ts_vrows *rs);

/* SHA-256 of rows [from, to) in order: ts_hasher's digest of the same rows. */
int ts_vrows_digest(const ts_vrows *rs, size_t from, size_t to, char hex[TS_DIGEST_HEX],
                    ts_error *err);

/* The span of value col inside an encoded row (for column-wise comparison). */
int ts_vrow_span(const unsigned char *row, size_t len, int col, const unsigned char **at,
                 size_t *n);

/* Append v as a plain JSON value (number, string, true/false, null) for reports;
   an int64 beyond 2^53 becomes a string (exact), a non-finite double becomes a string. */
void ts_vvalue_json(ts_buf *b, const ts_value *v);

#endif
