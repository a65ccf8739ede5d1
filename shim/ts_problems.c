/* ts_problems.c: a list of problem descriptions and the one error it makes. */
#include "ts_problems.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_vec.h"

void ts_problems_add(ts_problems *p, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (ts_vec_reserve((void **)&p->v, &p->cap, p->n + 1, sizeof *p->v)) {
        p->oom = 1;
        return;
    }
    if ((p->v[p->n] = strdup(buf)) == NULL)
        p->oom = 1;
    else
        p->n++;
}

int ts_problems_fail(const ts_problems *p, ts_error *err, ts_code code, const char *what,
                     const char *hint)
{
    if (p->n == 0 && !p->oom)
        return 0;
    if (p->oom)
        return ts_fail(err, TS_E_NOMEM, "%s: out of memory listing problems", what);
    char msg[sizeof err->msg];
    size_t len = (size_t)snprintf(msg, sizeof msg, "%s: %d problem%s: ", what, p->n,
                                  p->n == 1 ? "" : "s");
    int shown = 0;
    /* Leave room for the tail that says how many more there are. */
    size_t room = sizeof msg - (hint ? strlen(hint) : 0) - 48;
    for (; shown < p->n && len < room; shown++) {
        size_t item = strlen(p->v[shown]) + 2;
        if (shown > 0 && len + item >= room)
            break;
        len += (size_t)snprintf(msg + len, sizeof msg - len, "%s%s", shown ? "; " : "",
                                p->v[shown]);
    }
    if (len >= sizeof msg)
        len = sizeof msg - 1;
    if (shown < p->n)
        snprintf(msg + len, sizeof msg - len, " (and %d more%s%s)", p->n - shown,
                 hint ? ": " : "", hint ? hint : "");
    else if (hint)
        snprintf(msg + len, sizeof msg - len, " (%s)", hint);
    return ts_fail(err, code, "%s", msg);
}

void ts_problems_free(ts_problems *p)
{
    for (int i = 0; i < p->n; i++)
        free(p->v[i]);
    free(p->v);
    memset(p, 0, sizeof *p);
}
