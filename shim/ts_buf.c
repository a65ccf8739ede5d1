/* ts_buf.c: growable strings. */
#include "ts_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int grow(ts_buf *b, size_t extra)
{
    if (b->oom)
        return -1;
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->s, cap);
    if (p == NULL) {
        b->oom = 1;
        return -1;
    }
    b->s = p;
    b->cap = cap;
    return 0;
}

void ts_buf_add(ts_buf *b, const char *s, size_t n)
{
    if (grow(b, n))
        return;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void ts_buf_puts(ts_buf *b, const char *s) { ts_buf_add(b, s, strlen(s)); }

void ts_buf_printf(ts_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || grow(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

char *ts_buf_take(ts_buf *b)
{
    char *s = b->oom ? NULL : b->s;
    if (s == NULL && !b->oom)
        s = calloc(1, 1);
    if (b->oom)
        free(b->s);
    memset(b, 0, sizeof *b);
    return s;
}

void ts_buf_reset(ts_buf *b)
{
    b->len = 0;
    b->oom = 0;
    if (b->s)
        b->s[0] = '\0';
}

void ts_buf_free(ts_buf *b)
{
    free(b->s);
    memset(b, 0, sizeof *b);
}
