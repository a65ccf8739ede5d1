/* ts_flags.c: the per-bot flag cache (see ts_flags.h). */
#include "ts_flags.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ts_clock.h"
#include "ts_repo.h"
#include "ts_vec.h"

#define FLAGS_INC "2.4"

typedef struct flag {
    char *key;
    int on;
} flag;

typedef struct entry {
    int64_t bot_id;
    long long loaded_ms;   /* 0: not loaded */
    int64_t version;
    int kill;
    flag *v;
    int n;
} entry;

struct ts_flags {
    int ttl_ms;
    entry *e;
    int n, cap;
    int64_t hits, loads;
};

ts_flags *ts_flags_new(int ttl_s)
{
    ts_flags *f = calloc(1, sizeof *f);
    if (f != NULL)
        f->ttl_ms = ttl_s * 1000;
    return f;
}

static void entry_clear(entry *e)
{
    for (int i = 0; i < e->n; i++)
        free(e->v[i].key);
    free(e->v);
    e->v = NULL;
    e->n = 0;
    e->loaded_ms = 0;
}

void ts_flags_free(ts_flags *f)
{
    if (f == NULL)
        return;
    for (int i = 0; i < f->n; i++)
        entry_clear(&f->e[i]);
    free(f->e);
    free(f);
}

static entry *entry_of(ts_flags *f, int64_t bot_id)
{
    for (int i = 0; i < f->n; i++)
        if (f->e[i].bot_id == bot_id)
            return &f->e[i];
    if (ts_vec_reserve((void **)&f->e, &f->cap, f->n + 1, sizeof *f->e))
        return NULL;
    f->e[f->n] = (entry){.bot_id = bot_id};
    return &f->e[f->n++];
}

static int load(entry *e, ts_tx *tx, int64_t version, int kill, ts_error *err)
{
    ts_result *r;
    if (ts_repo_flag_list(tx, &r, err) != 0)
        return -1;
    entry_clear(e);
    int n = ts_result_count(r);
    if (n > 0 && (e->v = calloc((size_t)n, sizeof *e->v)) == NULL) {
        ts_result_free(r);
        return ts_fail(err, TS_E_NOMEM, "out of memory caching feature flags");
    }
    for (int i = 0; i < n; i++) {
        const char *k = ts_result_text(r, i, "feature_key");
        if (k == NULL || (e->v[e->n].key = strdup(k)) == NULL)
            continue;
        e->v[e->n++].on = ts_result_int(r, i, "enabled") != 0;
    }
    ts_result_free(r);
    e->loaded_ms = ts_clock_ms();
    e->version = version;
    e->kill = kill;
    return 0;
}

int ts_flags_enabled(ts_flags *f, ts_shim *sh, ts_tx *tx, int64_t bot_id, const char *key,
                     ts_error *err)
{
    ts_stage st;
    int64_t version = -1;
    int kill = ts_shim_kill_switch(sh);
    entry *e = entry_of(f, bot_id);
    if (e == NULL)
        return ts_fail(err, TS_E_NOMEM, "out of memory caching feature flags");
    ts_shim_stage(sh, FLAGS_INC, &st, &version);
    if (e->loaded_ms == 0 || ts_clock_ms() - e->loaded_ms >= f->ttl_ms || e->version != version ||
        e->kill != kill) {
        if (load(e, tx, version, kill, err) != 0)
            return -1;
        f->loads++;
    } else {
        f->hits++;
    }
    for (int i = 0; i < e->n; i++)
        if (strcmp(e->v[i].key, key) == 0)
            return e->v[i].on;
    return 0;
}

void ts_flags_invalidate(ts_flags *f, int64_t bot_id)
{
    for (int i = 0; i < f->n; i++)
        if (f->e[i].bot_id == bot_id)
            entry_clear(&f->e[i]);
}

void ts_flags_stats(const ts_flags *f, int64_t *hits, int64_t *loads)
{
    *hits = f->hits;
    *loads = f->loads;
}
