/* ts_metrics.c: update counters per bot, the handler latency histogram, exposition. */
#include "ts_metrics.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "ts_vec.h"

static const double bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define NB (sizeof bounds / sizeof bounds[0])

typedef struct bot_count {
    int64_t bot_id;
    uint64_t n[TS_OUT__COUNT];
} bot_count;

struct ts_metrics {
    bot_count *bots;
    int nbots, cap;
    uint64_t buckets[NB];   /* cumulative at render time, per-bucket here */
    uint64_t count;
    double sum;
    ts_metrics_hook hook;
    void *hook_arg;
};

static const char *const outcome_names[TS_OUT__COUNT] = {"handled", "skipped", "failed",
                                                         "retried"};

ts_metrics *ts_metrics_new(void) { return calloc(1, sizeof(ts_metrics)); }

void ts_metrics_free(ts_metrics *m)
{
    if (m != NULL)
        free(m->bots);
    free(m);
}

void ts_metrics_set_hook(ts_metrics *m, ts_metrics_hook hook, void *arg)
{
    m->hook = hook;
    m->hook_arg = arg;
}

static bot_count *bot_of(ts_metrics *m, int64_t bot_id)
{
    for (int i = 0; i < m->nbots; i++)
        if (m->bots[i].bot_id == bot_id)
            return &m->bots[i];
    if (ts_vec_reserve((void **)&m->bots, &m->cap, m->nbots + 1, sizeof *m->bots))
        return NULL;   /* the count is lost, nothing else */
    bot_count *b = &m->bots[m->nbots++];
    *b = (bot_count){.bot_id = bot_id};
    return b;
}

void ts_metrics_update(ts_metrics *m, int64_t bot_id, ts_outcome outcome, double seconds)
{
    bot_count *b = bot_of(m, bot_id);
    if (b != NULL && outcome >= 0 && outcome < TS_OUT__COUNT)
        b->n[outcome]++;
    if (seconds < 0)
        return;
    m->count++;
    m->sum += seconds;
    for (size_t i = 0; i < NB; i++)
        if (seconds <= bounds[i]) {
            m->buckets[i]++;
            break;
        }
}

void ts_prom_family(ts_buf *out, const char *name, const char *type, const char *help)
{
    ts_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void ts_prom_sample(ts_buf *out, const char *name, const char *labels, double value)
{
    if (labels != NULL && *labels)
        ts_buf_printf(out, "%s{%s} %.17g\n", name, labels, value);
    else
        ts_buf_printf(out, "%s %.17g\n", name, value);
}

void ts_prom_label(ts_buf *labels, const char *key, const char *value)
{
    ts_buf_printf(labels, "%s%s=\"", labels->len ? "," : "", key);
    for (const char *p = value; *p; p++) {
        if (*p == '\\' || *p == '"')
            ts_buf_printf(labels, "\\%c", *p);
        else if (*p == '\n')
            ts_buf_puts(labels, "\\n");
        else
            ts_buf_add(labels, p, 1);
    }
    ts_buf_puts(labels, "\"");
}

void ts_metrics_render(const ts_metrics *m, ts_buf *out)
{
    ts_buf labels = {0};
    char id[24];
    ts_prom_family(out, "ts_updates_total", "counter", "Telegram updates by bot and outcome.");
    for (int i = 0; i < m->nbots; i++)
        for (int o = 0; o < TS_OUT__COUNT; o++) {
            ts_buf_reset(&labels);
            snprintf(id, sizeof id, "%" PRId64, m->bots[i].bot_id);
            ts_prom_label(&labels, "bot_id", id);
            ts_prom_label(&labels, "outcome", outcome_names[o]);
            ts_prom_sample(out, "ts_updates_total", labels.s, (double)m->bots[i].n[o]);
        }
    ts_prom_family(out, "ts_handler_seconds", "histogram", "Time to handle one update.");
    uint64_t cum = 0;
    for (size_t i = 0; i < NB; i++) {
        char le[32];
        cum += m->buckets[i];
        snprintf(le, sizeof le, "le=\"%g\"", bounds[i]);
        ts_prom_sample(out, "ts_handler_seconds_bucket", le, (double)cum);
    }
    ts_prom_sample(out, "ts_handler_seconds_bucket", "le=\"+Inf\"", (double)m->count);
    ts_prom_sample(out, "ts_handler_seconds_sum", NULL, m->sum);
    ts_prom_sample(out, "ts_handler_seconds_count", NULL, (double)m->count);
    ts_buf_free(&labels);
    if (m->hook != NULL)
        m->hook(m->hook_arg, out);
}
