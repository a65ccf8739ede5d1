/*
 * ts_canon.h: the canonical row encoding and its SHA-256 digests.
 *
 * Two stores hold the same data when their rows encode to the same bytes,
 * whichever engine they came from. The encoding is what verify's checksums,
 * the fixture digests and anything else that compares stores hash, so it is
 * fixed here once and documented byte for byte:
 *
 *   row    := 'R' u64(ncols) value{ncols}
 *   value  := 'N'                          NULL
 *           | 'B' 0x00|0x01                boolean (any nonzero is true)
 *           | 'I' i64                      integer, two's complement
 *           | 'D' u64(bits)                IEEE-754 binary64 bits, see below
 *           | 'S' u64(len) bytes           text (UTF-8 as stored)
 *           | 'T' u64(len) bytes           timestamp in canonical text (ts_value.h)
 *           | 'X' u64(len) bytes           blob
 *
 * u64 and i64 are 8 bytes big-endian. Every value carries its type tag and
 * every variable-length value its length, so NULL, '', 'NULL', 0 and false all
 * differ, 12 differs from '12', and ('ab', 'c') differs from ('a', 'bc').
 *
 * Doubles hash their exact bits, so 0.1 and 0.1 + 1e-17 differ, with two
 * normalizations: -0.0 becomes +0.0 (SQLite stores an integral REAL as an
 * integer and reads -0.0 back as 0.0, PostgreSQL keeps the sign) and every
 * NaN becomes the quiet NaN 0x7ff8000000000000.
 *
 * Timestamps are re-canonicalized on the way in, so legacy SQLite text such as
 * "2024-01-02 03:04:05.5" hashes like PostgreSQL's timestamptz of that
 * instant; text that is no timestamp at all is hashed as it is.
 *
 * Engines differ in what type a value comes back as. Given the declared type
 * of each column, the encoder folds the differences before encoding:
 *   TS_COL_ID, TS_COL_INT  an integral double in int64 range is an integer
 *   TS_COL_DOUBLE          an integer is a double (SQLite hands back integers
 *                          for REAL values written as integers by other tools)
 *   TS_COL_BOOL            an integer is a boolean (0 false, else true)
 *   TS_COL_TIME            text is a timestamp
 * Without declared types (types == NULL) values are encoded as they are.
 */
#ifndef TS_CANON_H
#define TS_CANON_H

#include <stdint.h>

#include "ts_buf.h"
#include "ts_error.h"
#include "ts_schema.h"
#include "ts_store.h"
#include "ts_value.h"

/* Hex SHA-256 plus NUL. */
#define TS_DIGEST_HEX 65

/* The value as the encoder sees it in a column declared as type. */
ts_value ts_canon_coerce(const ts_value *v, ts_coltype type);

/* Append the encoding of one row of n values; types (may be NULL) are the
   columns' declared types. Check b->oom afterwards. */
void ts_canon_row(ts_buf *b, const ts_value *vals, const ts_coltype *types, int n);

/*
 * A streaming SHA-256 over encoded rows: the digest of a row sequence is the
 * SHA-256 of the concatenation of their encodings, so a chunked checksum is
 * a hasher per chunk, and the same rows in the same order always give the
 * same digest however they were fetched.
 */
typedef struct ts_hasher {
    void *md;        /* EVP_MD_CTX */
    ts_buf row;      /* scratch for one encoded row */
    int64_t rows;
} ts_hasher;

int ts_hasher_init(ts_hasher *h, ts_error *err);
int ts_hasher_row(ts_hasher *h, const ts_value *vals, const ts_coltype *types, int n,
                  ts_error *err);
/* Write the hex digest into hex[TS_DIGEST_HEX] and release h. */
int ts_hasher_final(ts_hasher *h, char hex[TS_DIGEST_HEX], ts_error *err);
/* Release h without a digest (error paths); safe on a zeroed or finished h. */
void ts_hasher_free(ts_hasher *h);

typedef struct ts_digest {
    int64_t rows;
    char hex[TS_DIGEST_HEX];
} ts_digest;

/*
 * Read every row of table t (its declared columns, in declared order) from s,
 * ordered by its primary key, and digest them. Text key columns are ordered
 * by bytes on both engines (COLLATE "C" on PostgreSQL, SQLite's BINARY), which
 * for UTF-8 is code point order. Keys of type TS_COL_TIME would not sort alike
 * (SQLite sorts their text) and are refused.
 */
int ts_canon_table_digest(ts_store *s, const ts_table *t, ts_digest *out, ts_error *err);

#endif
