/*
 * ts_repo_int.h: helpers the repository modules (ts_repo_*.c) share. Not
 * installed.
 */
#ifndef TS_REPO_INT_H
#define TS_REPO_INT_H

#include <stddef.h>
#include <stdint.h>

#include "ts_repo.h"

/* Reading result columns: text copied into dst ("" for NULL); bools and
   doubles whichever way the engine returned them. */
void repo_text(const ts_result *r, int row, const char *col, char *dst, size_t n);
#define REPO_TEXT(r, row, col, dst) repo_text(r, row, col, dst, sizeof(dst))
int repo_bool(const ts_result *r, int row, const char *col);
double repo_double(const ts_result *r, int row, const char *col);

/* The first row of table matching where (ordered by order_by, NULL: key):
   1 with *out set (free it), 0 none, -1 error. */
int repo_one(ts_tx *tx, const char *table, const ts_cond *where, int nwhere,
             const char *order_by, ts_result **out, ts_error *err);
/* The same, taking the row lock of what it returns until the unit ends
   (ts_tx_select_for_update): a check in C that follows sees the latest state,
   and no one changes the row before this unit commits. */
int repo_lock_one(ts_tx *tx, const char *table, const ts_cond *where, int nwhere,
                  ts_result **out, ts_error *err);

/* A keyset page of table in id order: the rows with id > after (0: from the
   first), at most limit of them (0: all). */
int repo_page(ts_tx *tx, const char *table, int64_t after, int limit, ts_result **out,
              ts_error *err);

/* UPDATE ... WHERE id = id: 1 changed, 0 no such row. */
int repo_update_id(ts_tx *tx, const char *table, int64_t id, const ts_set *sets, int nsets,
                   ts_error *err);
/* DELETE ... WHERE id = id: 1 deleted, 0 no such row. */
int repo_delete_id(ts_tx *tx, const char *table, int64_t id, ts_error *err);

/*
 * Update caller-chosen fields of the row with this id, refusing any column
 * not in allowed (NULL-terminated): what names the thing for the message.
 * With stamp, updated_at = now follows. 1 updated, 0 no such row.
 */
int repo_update_fields(ts_tx *tx, const char *table, int64_t id, const ts_set *fields,
                       int nfields, const char *const *allowed, int stamp, ts_error *err);

/*
 * A conditional state change: UPDATE table SET sets WHERE where (which names
 * the row and the state it must be in). 1 when it changed the row; when not,
 * 0 if the row named by exists[0..nexists) is there (no longer in that state),
 * -1 with TS_E_NOTFOUND if not (what names it in the message).
 */
int repo_transition(ts_tx *tx, const char *table, const ts_cond *where, int nwhere,
                    const ts_set *sets, int nsets, const ts_cond *exists, int nexists,
                    const char *what, ts_error *err);

/* Time. */
void repo_now(char out[TS_TIME_MAX]);
/* Microseconds since the epoch of a canonical timestamp. */
int repo_time_us(const char *t, int64_t *us, ts_error *err);
void repo_time_from_us(int64_t us, char out[TS_TIME_MAX]);
/* out = max(base, now) + secs; base NULL or "" counts as now. */
int repo_time_extend(const char *base, int64_t secs, char out[TS_TIME_MAX], ts_error *err);

/* OpenSSL randomness and hashing. */
int repo_random(void *buf, size_t n, ts_error *err);
void repo_hex(const unsigned char *p, size_t n, char *out); /* 2n + 1 bytes, lowercase */
int repo_sha256_hex(const char *s, char out[65], ts_error *err);

#endif
