/*
 * ts_value.h: typed values that cross the store interface.
 *
 * Values are plain structs that borrow their text: a value read from a row is
 * valid until the row iterator moves on; a value passed as a parameter must
 * stay valid for the duration of the call.
 *
 * Timestamps travel as ISO-8601 UTC text in one canonical form,
 *     YYYY-MM-DDTHH:MM:SS[.ffffff]Z   (fraction without trailing zeros)
 * so the same instant reads back byte-identical from SQLite (stored as that
 * text) and PostgreSQL (timestamptz, rendered into that text by the driver).
 */
#ifndef TS_VALUE_H
#define TS_VALUE_H

#include <stddef.h>
#include <stdint.h>

#include "ts_error.h"

typedef enum ts_type {
    TS_NULL = 0,
    TS_INT,    /* int64 */
    TS_DOUBLE,
    TS_TEXT,   /* UTF-8, not necessarily NUL-terminated: use len */
    TS_BLOB,
    TS_BOOL,
    TS_TIME    /* canonical timestamp text, see above */
} ts_type;

typedef struct ts_value {
    ts_type type;
    int64_t i;       /* TS_INT, TS_BOOL (0 or 1) */
    double d;        /* TS_DOUBLE */
    const char *s;   /* TS_TEXT, TS_BLOB, TS_TIME */
    size_t len;
} ts_value;

/* Longest canonical timestamp plus NUL. */
#define TS_TIME_MAX 32

static inline ts_value ts_null(void) { ts_value v = {0}; return v; }
static inline ts_value ts_int(int64_t i) { ts_value v = {0}; v.type = TS_INT; v.i = i; return v; }
static inline ts_value ts_double(double d) { ts_value v = {0}; v.type = TS_DOUBLE; v.d = d; return v; }
static inline ts_value ts_bool(int b) { ts_value v = {0}; v.type = TS_BOOL; v.i = b != 0; return v; }
ts_value ts_text(const char *s);              /* NULL s gives TS_NULL */
ts_value ts_textn(const char *s, size_t len);
ts_value ts_blob(const void *p, size_t len);
ts_value ts_time(const char *canonical);      /* NULL gives TS_NULL */

/*
 * Parse a timestamp in canonical form or in the forms engines print
 * ("2024-01-02 03:04:05+00", "2024-01-02 03:04:05.5+03:30", "...Z", no zone = UTC)
 * and write the canonical UTC form into out[TS_TIME_MAX].
 */
int ts_time_canon(const char *in, size_t len, char out[TS_TIME_MAX], ts_error *err);

/* Canonical text of a unix time in seconds plus microseconds (0 to 999999). */
void ts_time_from_unix(int64_t secs, int32_t usec, char out[TS_TIME_MAX]);
/* Seconds since the epoch of a canonical timestamp (fraction dropped). */
int ts_time_to_unix(const char *canonical, int64_t *secs, ts_error *err);
/* The current time, canonical. */
void ts_time_now(char out[TS_TIME_MAX]);

/* 1 when s[0..len) is well-formed UTF-8 (no overlongs, no surrogates). */
int ts_utf8_valid(const char *s, size_t len);

/* Compare two values for equality the way verify and shadow reads do:
   same type class and same content; NULL equals only NULL; '' is not NULL. */
int ts_value_equal(const ts_value *a, const ts_value *b);

/* Printable rendering for reports and logs (text quoted, NULL as NULL);
   truncated to fit n bytes. Returns out. */
char *ts_value_format(const ts_value *v, char *out, size_t n);

#endif
