/* ts_convo.c: conversation states in a bounded open-addressed table. */
#include "ts_convo.h"

#include <stdlib.h>
#include <time.h>

#include "ts_clock.h"

#define PROBE 8   /* slots a key may live in; the oldest of them is evicted when full */

typedef struct slot {
    int64_t bot_id, user_id;
    long long expires;   /* 0: empty */
    ts_convo_state st;
} slot;

struct ts_convo {
    slot *v;
    size_t mask;
    int ttl_s;
};

ts_convo *ts_convo_new(int capacity, int ttl_s)
{
    size_t n = PROBE;
    while (n < (size_t)capacity)
        n <<= 1;
    ts_convo *c = calloc(1, sizeof *c);
    if (c == NULL || (c->v = calloc(n, sizeof *c->v)) == NULL) {
        free(c);
        return NULL;
    }
    c->mask = n - 1;
    c->ttl_s = ttl_s;
    return c;
}

void ts_convo_free(ts_convo *c)
{
    if (c != NULL)
        free(c->v);
    free(c);
}

static size_t home(const ts_convo *c, int64_t bot_id, int64_t user_id)
{
    uint64_t h = (uint64_t)user_id * 0x9E3779B97F4A7C15ull ^ (uint64_t)bot_id * 0xC2B2AE3D27D4EB4Full;
    return (size_t)(h ^ (h >> 29)) & c->mask;
}

static slot *find(ts_convo *c, int64_t bot_id, int64_t user_id)
{
    size_t h = home(c, bot_id, user_id);
    for (size_t i = 0; i < PROBE; i++) {
        slot *s = &c->v[(h + i) & c->mask];
        if (s->expires != 0 && s->bot_id == bot_id && s->user_id == user_id)
            return s;
    }
    return NULL;
}

ts_convo_state ts_convo_get(ts_convo *c, int64_t bot_id, int64_t user_id)
{
    slot *s = find(c, bot_id, user_id);
    if (s == NULL || s->expires <= ts_clock_ms() / 1000)
        return (ts_convo_state){TS_CONVO_NONE, 0, 0};
    return s->st;
}

void ts_convo_set(ts_convo *c, int64_t bot_id, int64_t user_id, ts_convo_state st)
{
    slot *s = find(c, bot_id, user_id);
    if (st.kind == TS_CONVO_NONE) {
        if (s != NULL)
            s->expires = 0;
        return;
    }
    if (s == NULL) {   /* an empty slot, else the one closest to expiry */
        size_t h = home(c, bot_id, user_id);
        for (size_t i = 0; i < PROBE; i++) {
            slot *t = &c->v[(h + i) & c->mask];
            if (s == NULL || t->expires < s->expires)
                s = t;
        }
    }
    *s = (slot){bot_id, user_id, ts_clock_ms() / 1000 + c->ttl_s, st};
}
