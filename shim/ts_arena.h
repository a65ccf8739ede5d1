/*
 * ts_arena.h: memory that lives and dies with one object.
 *
 * A schema read from a catalog or a loaded manifest is a web of small
 * structs and strings that all share one lifetime. They are allocated from
 * an arena and released together, so a load that fails half way frees
 * everything with one call and nothing needs its own free.
 */
#ifndef TS_ARENA_H
#define TS_ARENA_H

#include <stddef.h>

typedef struct ts_arena {
    struct ts_arena_block *blocks;
    int oom;     /* an allocation failed: the object being built is incomplete */
} ts_arena;

/* n zeroed elements of size bytes, aligned for any type; NULL (and oom set)
   when out of memory or when n * size overflows. */
void *ts_arena_alloc(ts_arena *a, size_t n, size_t size);
/* A copy of s[0..len) with a NUL after it; NULL for a NULL s. */
char *ts_arena_strndup(ts_arena *a, const char *s, size_t len);
char *ts_arena_strdup(ts_arena *a, const char *s);
/* printf into the arena. */
char *ts_arena_printf(ts_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Release every allocation; the arena is empty and usable again. */
void ts_arena_free(ts_arena *a);

#endif
