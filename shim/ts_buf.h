/* ts_buf.h: a growable byte string for building SQL, JSON and reports. */
#ifndef TS_BUF_H
#define TS_BUF_H

#include <stddef.h>

typedef struct ts_buf {
    char *s;      /* always NUL-terminated once anything was added; NULL before */
    size_t len;
    size_t cap;
    int oom;      /* an allocation failed: contents are incomplete */
} ts_buf;

void ts_buf_add(ts_buf *b, const char *s, size_t n);
void ts_buf_puts(ts_buf *b, const char *s);
void ts_buf_printf(ts_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hand the string to the caller (never NULL unless oom) and reset b. */
char *ts_buf_take(ts_buf *b);
void ts_buf_reset(ts_buf *b);   /* empty it, keep the allocation */
void ts_buf_free(ts_buf *b);

#endif
