/*
 * ts_vec.h: the one growable-array helper.
 *
 *     if (ts_vec_reserve((void **)&a->items, &a->cap, a->n + 1, sizeof *a->items))
 *         return ts_fail(err, TS_E_NOMEM, ...);
 *     a->items[a->n++] = item;
 *
 * Doubles the capacity (from 8) until `need` elements fit; the array keeps its
 * contents when growing fails.
 */
#ifndef TS_VEC_H
#define TS_VEC_H

#include <stddef.h>
#include <stdlib.h>

static inline int ts_vec_reserve(void **v, int *cap, int need, size_t size)
{
    if (need <= *cap)
        return 0;
    int c = *cap ? *cap : 8;
    while (c < need)
        c *= 2;
    void *p = realloc(*v, (size_t)c * size);
    if (p == NULL)
        return -1;
    *v = p;
    *cap = c;
    return 0;
}

#endif
