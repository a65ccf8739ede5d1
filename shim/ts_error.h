/*
 * ts_error.h: the one error type of tenantshift.
 *
 * Every fallible function returns an int status (0 success, -1 failure) and, on
 * failure, fills a caller-owned ts_error with a code and a message that says what
 * was wrong, with context, and what to do. Engine errors also carry the engine's
 * own code (SQLite result code or PostgreSQL SQLSTATE).
 */
#ifndef TS_ERROR_H
#define TS_ERROR_H

#include <stdarg.h>

typedef enum ts_code {
    TS_OK = 0,
    TS_E_USAGE,      /* bad command line or configuration */
    TS_E_INVALID,    /* bad input: manifest, URL, value, identifier, UTF-8 */
    TS_E_NOTFOUND,   /* the thing asked for does not exist */
    TS_E_CONSTRAINT, /* unique, foreign key, not-null or check violation */
    TS_E_CONN,       /* store unreachable or connection lost: retryable */
    TS_E_BUSY,       /* store locked by another writer: retryable */
    TS_E_STALE,      /* write routed with a stale stage version: retryable */
    TS_E_LOCKED,     /* another operator holds the migration lock */
    TS_E_STATE,      /* illegal transition or operation for the current state */
    TS_E_SCHEMA,     /* a live store's tables differ from what the manifest accounts for */
    TS_E_STORE,      /* any other engine error */
    TS_E_IO,         /* file system */
    TS_E_NOMEM,
    TS_E_INTERNAL,   /* a bug: an assumption of the code did not hold */
    TS_E_AUTH        /* the store refused the credentials, the role or the database: not
                        retryable, fix the configuration */
} ts_code;

typedef struct ts_error {
    ts_code code;
    int engine_code;   /* SQLite extended result code, 0 when not from SQLite */
    char sqlstate[6];  /* PostgreSQL SQLSTATE, "" when not from PostgreSQL */
    char msg[1024];
} ts_error;

/* Fill err (may be NULL) and return -1, so callers can `return ts_fail(...)`. */
int ts_fail(ts_error *err, ts_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int ts_vfail(ts_error *err, ts_code code, const char *fmt, va_list ap);

/* Prepend context ("loading manifest x.json: ") to an error already set. */
void ts_error_context(ts_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void ts_error_clear(ts_error *err);

/* True for errors a caller may retry after backing off or re-routing. */
int ts_error_retryable(const ts_error *err);

/* Short stable name of a code, for logs and JSON ("constraint", "conn", ...). */
const char *ts_code_name(ts_code code);

#endif
