/*
 * ts_arena.c: a bump allocator over chained blocks, freed together.
 *
 * Small allocations are carved out of 16 KiB blocks; one larger than a
 * quarter block gets a block of its own, so little space is wasted.
 */
#include "ts_arena.h"

#include <stdalign.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 16384
#define ALIGN (alignof(max_align_t))

struct ts_arena_block {
    struct ts_arena_block *next;
    size_t used, cap;
    alignas(max_align_t) unsigned char data[];
};

static struct ts_arena_block *new_block(ts_arena *a, size_t cap)
{
    struct ts_arena_block *b = calloc(1, sizeof *b + cap);
    if (b == NULL) {
        a->oom = 1;
        return NULL;
    }
    b->cap = cap;
    return b;
}

void *ts_arena_alloc(ts_arena *a, size_t n, size_t size)
{
    if (size != 0 && n > (SIZE_MAX - sizeof(struct ts_arena_block) - 2 * ALIGN) / size) {
        a->oom = 1;
        return NULL;
    }
    /* At least one byte: zero-sized arrays still get a distinct, valid pointer. */
    size_t want = (n * size + ALIGN) / ALIGN * ALIGN;
    struct ts_arena_block *b = a->blocks;
    if (want > BLOCK / 4) {
        /* Its own block, kept behind the current one so that stays in use. */
        struct ts_arena_block *big = new_block(a, want);
        if (big == NULL)
            return NULL;
        big->used = want;
        if (b) {
            big->next = b->next;
            b->next = big;
        } else {
            a->blocks = big;
        }
        return big->data;
    }
    if (b == NULL || b->cap - b->used < want) {
        if ((b = new_block(a, BLOCK)) == NULL)
            return NULL;
        b->next = a->blocks;
        a->blocks = b;
    }
    void *p = b->data + b->used;
    b->used += want;
    return p; /* calloc'd, and never handed out twice: already zero */
}

char *ts_arena_strndup(ts_arena *a, const char *s, size_t len)
{
    if (s == NULL)
        return NULL;
    char *p = ts_arena_alloc(a, len + 1, 1);
    if (p != NULL)
        memcpy(p, s, len);
    return p;
}

char *ts_arena_strdup(ts_arena *a, const char *s)
{
    return s ? ts_arena_strndup(a, s, strlen(s)) : NULL;
}

char *ts_arena_printf(ts_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        a->oom = 1;
        return NULL;
    }
    char *p = ts_arena_alloc(a, (size_t)n + 1, 1);
    if (p != NULL) {
        va_start(ap, fmt);
        vsnprintf(p, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    return p;
}

void ts_arena_free(ts_arena *a)
{
    while (a->blocks) {
        struct ts_arena_block *next = a->blocks->next;
        free(a->blocks);
        a->blocks = next;
    }
    a->oom = 0;
}
