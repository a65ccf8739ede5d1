/* ts_error.c: filling and describing ts_error. */
#include "ts_error.h"

#include <stdio.h>
#include <string.h>

int ts_vfail(ts_error *err, ts_code code, const char *fmt, va_list ap)
{
    if (err == NULL)
        return -1;
    err->code = code;
    err->engine_code = 0;
    err->sqlstate[0] = '\0';
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    return -1;
}

int ts_fail(ts_error *err, ts_code code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ts_vfail(err, code, fmt, ap);
    va_end(ap);
    return -1;
}

void ts_error_context(ts_error *err, const char *fmt, ...)
{
    char prefix[512], old[sizeof err->msg];
    va_list ap;

    if (err == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    /* The message has a fixed size: what does not fit is cut, and "..." says so. */
    if (snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old) >= (int)sizeof err->msg)
        memcpy(err->msg + sizeof err->msg - 4, "...", 4);
}

void ts_error_clear(ts_error *err)
{
    if (err != NULL)
        memset(err, 0, sizeof *err);
}

int ts_error_retryable(const ts_error *err)
{
    return err != NULL && (err->code == TS_E_CONN || err->code == TS_E_BUSY ||
                           err->code == TS_E_STALE);
}

const char *ts_code_name(ts_code code)
{
    switch (code) {
    case TS_OK: return "ok";
    case TS_E_USAGE: return "usage";
    case TS_E_INVALID: return "invalid";
    case TS_E_NOTFOUND: return "notfound";
    case TS_E_CONSTRAINT: return "constraint";
    case TS_E_CONN: return "conn";
    case TS_E_BUSY: return "busy";
    case TS_E_STALE: return "stale";
    case TS_E_LOCKED: return "locked";
    case TS_E_STATE: return "state";
    case TS_E_SCHEMA: return "schema";
    case TS_E_STORE: return "store";
    case TS_E_IO: return "io";
    case TS_E_NOMEM: return "nomem";
    case TS_E_INTERNAL: return "internal";
    case TS_E_AUTH: return "auth";
    }
    return "unknown";
}
