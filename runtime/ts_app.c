/* ts_app.c: units of work per batch of updates, the Zarinpal callback, the shim's metrics. */
#include "ts_app.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ts_api.h"
#include "ts_clock.h"
#include "ts_convo.h"
#include "ts_flags.h"
#include "ts_handlers.h"
#include "ts_log.h"
#include "ts_registry.h"
#include "ts_schema.h"

#define CONVO_CAPACITY 65536
#define CONVO_TTL_S 1800
#define CALLBACK_ATTEMPTS 3
#define RECONCILE_BATCH 20   /* payments per bot and pass: the pass blocks the loop */

struct ts_app {
    ts_services svc;
    ts_registry *reg;
    ts_convo *convo;
    ts_api *api;
    ts_bot *bot;
    const ts_bot_info *bots;     /* the served set of the last refresh (the registry's) */
    int nbots;
    long long next_reconcile;    /* ts_clock_ms; 0: at the first tick (start-up) */
};

int ts_app_open(const ts_config *cfg, ts_shim *sh, const ts_app_opts *opts, ts_app **out,
                ts_error *err)
{
    ts_app *a = calloc(1, sizeof *a);
    if (a == NULL)
        return ts_fail(err, TS_E_NOMEM, "out of memory starting the bot");
    a->svc.cfg = cfg;
    a->svc.sh = sh;
    a->svc.pick.seed = opts ? opts->card_seed : NULL;
    if ((a->svc.flags = ts_flags_new(cfg->flag_cache_ttl_s)) == NULL ||
        (a->reg = ts_registry_new(cfg, sh)) == NULL ||
        (a->convo = ts_convo_new(CONVO_CAPACITY, CONVO_TTL_S)) == NULL ||
        (a->api = ts_api_new(sh)) == NULL) {
        ts_app_close(a);
        return ts_fail(err, TS_E_NOMEM, "out of memory starting the bot");
    }
    if (ts_zp_open(cfg->zarinpal_url, opts ? opts->http : NULL, &a->svc.zp, err) != 0) {
        ts_app_close(a);
        return -1;
    }
    *out = a;
    return 0;
}

void ts_app_close(ts_app *a)
{
    if (a == NULL)
        return;
    ts_zp_close(a->svc.zp);
    ts_convo_free(a->convo);
    ts_api_free(a->api);
    ts_registry_free(a->reg);
    ts_flags_free(a->svc.flags);
    free(a);
}

void ts_app_attach(ts_app *a, ts_bot *b) { a->bot = b; }

/* ---- updates ------------------------------------------------------------------------ */

/*
 * Group commit: ts_bot hands a poll's updates for one bot (up to TS_POLL_BATCH)
 * to handle_batch, which runs them in one unit of work; handle is a batch of
 * one. Each update records (bot_id, update_id) in that transaction first, so
 * one handled before changes nothing and exactly-once holds per update; an
 * update sees the conversation state an earlier one of its sender in the batch
 * left. Replies, conversation states and flag-cache drops wait for the commit.
 * Any error rolls the whole batch back; ts_bot then redelivers it (retryable)
 * or runs its updates one by one, so one bad update never fails the others.
 * A flag change ends the batch that way too: the cache would hide it from the
 * updates after it. A batch that failed while a store connection was lost is
 * retryable whatever its error says (a statement's own error may be what the
 * server said on its way down, or what a half-done unit ran into after the
 * loss): dropping its updates there would lose them to a restart.
 */

static void drop_replies(ts_replies *out)
{
    ts_replies_free(out);
    *out = (ts_replies){0};
}

/* Commit h[0..n)'s transaction tx, then what only committed work may change. */
static int finish(ts_app *a, ts_tx *tx, const ts_hctx *h, int n, ts_error *err)
{
    for (int i = 0; i < n; i++)
        if (h[i].out->oom) {
            ts_tx_rollback(tx);
            return ts_fail(err, TS_E_NOMEM, "out of memory building the replies");
        }
    if (ts_tx_commit(tx, err) != 0)
        return -1;
    for (int i = 0; i < n; i++) {
        const ts_hctx *x = &h[i];
        /* Field by field: the struct's padding bytes are not part of the state. */
        if (x->u != NULL && (x->next.kind != x->convo.kind || x->next.a != x->convo.a ||
                             x->next.b != x->convo.b))
            ts_convo_set(a->convo, x->bot->bot_id, x->u->from.id, x->next);
        if (x->flags_changed)
            ts_flags_invalidate(a->svc.flags, x->bot->bot_id);
    }
    return 0;
}

/* The state the sender of h[i] is in: as the batch's last update of theirs left it. */
static ts_convo_state convo_of(ts_app *a, const ts_hctx *h, int i)
{
    for (int j = i - 1; j >= 0; j--)
        if (h[j].u != NULL && h[j].u->from.id == h[i].u->from.id)
            return h[j].next;
    return ts_convo_get(a->convo, h[i].bot->bot_id, h[i].u->from.id);
}

/* u in h[i].tx; h[i].u stays NULL when it was handled before (a redelivery). */
static int run(ts_app *a, ts_hctx *h, int i, const ts_update *u, ts_error *err)
{
    int rc = ts_repo_update_record(h[i].tx, u->update_id, err);
    if (rc <= 0)   /* 0: handled before: change nothing, send nothing */
        return rc;
    h[i].u = u;
    h[i].lang = u->from.language[0] ? ts_lang_of(u->from.language) : h[i].bot->language;
    h[i].convo = convo_of(a, h, i);
    rc = ts_h_register(&h[i], strcmp(u->command, "start") == 0 ? u->args : NULL, err);
    if (rc == 0) {
        h[i].lang = ts_lang_of(h[i].user.language);
        rc = ts_h_route(&h[i], err);
    }
    return rc;
}

static int handle_batch(void *arg, const ts_bot_ctx *bot, const ts_update *u, int n,
                        ts_replies *out, ts_error *err)
{
    ts_app *a = arg;
    const ts_bot_settings *s = ts_registry_find(a->reg, bot->bot_id);
    ts_ctx ctx = {bot->bot_id, bot->is_master};
    ts_hctx *h = calloc((size_t)n, sizeof *h);
    ts_tx *tx = NULL;
    int rc = 0;
    unsigned long losses = ts_shim_losses(a->svc.sh);
    if (h == NULL)
        return ts_fail(err, TS_E_NOMEM, "out of memory handling updates");
    for (int i = 0; i < n && rc == 0; i++) {
        h[i] = (ts_hctx){.svc = &a->svc, .bot = bot, .settings = s, .out = &out[i]};
        if (s == NULL || u[i].from.is_bot) {   /* dropped between refreshes; bots talking to bots */
            ts_log(TS_LOG_INFO, "update_dropped", "bot_id=%" PRId64 " update_id=%" PRId64
                   " reason=%s", bot->bot_id, u[i].update_id,
                   s == NULL ? "bot_not_served" : "from_bot");
            continue;
        }
        if (tx == NULL)
            rc = ts_shim_begin(a->svc.sh, &ctx, &tx, err);
        h[i].tx = tx;
        if (rc == 0)
            rc = run(a, h, i, &u[i], err);
        if (rc == 0 && h[i].flags_changed && i < n - 1)
            rc = ts_fail(err, TS_E_STATE, "feature flags changed inside a batch");
    }
    if (tx != NULL && rc != 0)
        ts_tx_rollback(tx);
    else if (tx != NULL)
        rc = finish(a, tx, h, n, err);
    for (int i = 0; i < n && rc != 0; i++)
        drop_replies(&out[i]);
    free(h);
    if (rc != 0 && !ts_error_retryable(err) && ts_shim_losses(a->svc.sh) != losses) {
        ts_error_context(err, "a store connection was lost during this unit of work, which "
                         "runs again");
        err->code = TS_E_CONN;
    }
    return rc;
}

static int handle(void *arg, const ts_bot_ctx *bot, const ts_update *u, ts_replies *out,
                  ts_error *err)
{
    return handle_batch(arg, bot, u, 1, out, err);
}

/* ---- Zarinpal: the callback and reconciliation --------------------------------------- */

/* What settles: a callback (authority, with the payer's OK or not) or the
   reconciliation of a pending payment (authority NULL, payment_id). */
typedef struct zp_event {
    const char *authority;
    int ok;
    int64_t payment_id;
} zp_event;

static int zarinpal_once(ts_app *a, const ts_bot_ctx *bot, const ts_bot_settings *s,
                         const zp_event *ev, ts_zp_outcome *o, ts_replies *out, ts_error *err)
{
    ts_ctx ctx = {bot->bot_id, bot->is_master};
    ts_hctx h = {.svc = &a->svc, .bot = bot, .settings = s, .out = out, .lang = bot->language};
    if (ts_shim_begin(a->svc.sh, &ctx, &h.tx, err) != 0)
        return -1;
    int rc = ev->authority ? ts_h_zarinpal_callback(&h, ev->authority, ev->ok, o, err)
                           : ts_h_zarinpal_reconcile(&h, ev->payment_id, o, err);
    if (rc != 0) {
        ts_tx_rollback(h.tx);
        return -1;
    }
    return finish(a, h.tx, &h, 1, err);
}

/* One unit of work per attempt, retried on retryable errors; the payer's
   messages go out once it committed. */
static int zarinpal_settle(ts_app *a, const ts_bot_ctx *bot, const ts_bot_settings *s,
                           const zp_event *ev, ts_zp_outcome *o, ts_error *err)
{
    ts_replies out = {0};
    int rc = -1;
    for (int i = 0; i < CALLBACK_ATTEMPTS && rc != 0; i++) {
        drop_replies(&out);
        if ((rc = zarinpal_once(a, bot, s, ev, o, &out, err)) != 0 && !ts_error_retryable(err))
            break;
    }
    if (rc == 0)
        ts_bot_deliver(a->bot, bot->bot_id, &out);
    drop_replies(&out);
    return rc;
}

static int on_zarinpal(void *arg, int64_t bot_id, const char *authority, int ok,
                       ts_http_reply *reply)
{
    ts_app *a = arg;
    const ts_bot_settings *s = ts_registry_find(a->reg, bot_id);
    const ts_bot_ctx *bot = a->bot ? ts_bot_context(a->bot, bot_id) : NULL;
    ts_error err;
    ts_zp_outcome o = TS_ZP_FAILED;
    char q[1100];
    if (s == NULL || bot == NULL) {
        reply->status = 404;
        ts_buf_puts(&reply->body, "unknown bot\n");
        return 0;
    }
    zp_event ev = {authority, ok, 0};
    int rc = zarinpal_settle(a, bot, s, &ev, &o, &err);
    if (rc != 0) {
        ts_log(err.code == TS_E_NOTFOUND ? TS_LOG_WARN : TS_LOG_ERROR, "zarinpal_callback_failed",
               "bot_id=%" PRId64 " code=%s error=%s", bot_id, ts_code_name(err.code),
               ts_log_value(err.msg, q, sizeof q));
        reply->status = err.code == TS_E_NOTFOUND ? 404 : 500;
    }
    int paid = rc == 0 && (o == TS_ZP_CREDITED || o == TS_ZP_WAS_PAID);
    ts_error ignore;
    return ts_text_render(paid ? TS_T_ZARINPAL_PAGE_OK : TS_T_ZARINPAL_PAGE_FAILED,
                          bot->language, NULL, 0, &reply->body, &ignore) == 0 ? 0 : -1;
}

/*
 * Reconciliation: a payment whose callback never came (the bot was down, the
 * payer closed the page) stays pending; once older than
 * zarinpal_stale_s it is settled as if the payer had come back with
 * OK, so the gateway's verify decides, through the same path. The feature flag
 * is not asked: a payment made while it was on is settled anyway.
 */
/* A payment left pending by this pass (payment_id 0: the listing failed); 1
   when the cause is passing (the gateway or a store unreachable). */
static int unsettled(const ts_bot_ctx *bot, int64_t payment_id, const ts_error *err)
{
    char q[1100];
    int later = ts_error_retryable(err);
    ts_log(later ? TS_LOG_WARN : TS_LOG_ERROR,
           later ? "zarinpal_reconcile_deferred" : "zarinpal_reconcile_failed",
           "bot_id=%" PRId64 " payment_id=%" PRId64 " code=%s error=%s", bot->bot_id, payment_id,
           ts_code_name(err->code), ts_log_value(err->msg, q, sizeof q));
    return later;
}

static void reconcile_bot(ts_app *a, const ts_bot_ctx *bot, const ts_bot_settings *s)
{
    ts_ctx ctx = {bot->bot_id, bot->is_master};
    ts_tx *tx = NULL;
    ts_error err;
    int64_t ids[RECONCILE_BATCH];
    int n = 0;
    if (ts_shim_begin(a->svc.sh, &ctx, &tx, &err) != 0 ||
        ts_repo_zarinpal_stale(tx, a->svc.cfg->zarinpal_stale_s, RECONCILE_BATCH, ids, &n,
                               &err) != 0) {
        ts_tx_rollback(tx);
        unsettled(bot, 0, &err);
        return;
    }
    ts_tx_rollback(tx);   /* it only read */
    for (int i = 0; i < n; i++) {
        zp_event ev = {NULL, 1, ids[i]};
        ts_zp_outcome o;
        if (zarinpal_settle(a, bot, s, &ev, &o, &err) == 0)
            ts_log(TS_LOG_INFO, "zarinpal_reconciled", "bot_id=%" PRId64 " payment_id=%" PRId64
                   " result=%s", bot->bot_id, ids[i], ts_zp_outcome_name(o));
        else if (unsettled(bot, ids[i], &err))
            break;   /* the others would wait the same: all are left for the next pass */
    }
}

static void reconcile(ts_app *a)
{
    /* Without 3.3 expanded there is no zarinpal_payments table to look at. */
    if (a->bot == NULL || !hx_stage_at_least(a->svc.sh, "3.3", TS_STAGE_EXPANDED))
        return;
    for (int i = 0; i < a->nbots; i++) {
        const ts_bot_settings *s = ts_registry_find(a->reg, a->bots[i].bot_id);
        const ts_bot_ctx *bot = ts_bot_context(a->bot, a->bots[i].bot_id);
        if (s != NULL && bot != NULL && s->merchant[0] != '\0')
            reconcile_bot(a, bot, s);
    }
}

/* ---- housekeeping and metrics ------------------------------------------------------------ */

static int list_bots(void *arg, const ts_bot_info **bots, int *n, ts_error *err)
{
    ts_app *a = arg;
    if (ts_registry_refresh(a->reg, bots, n, err) != 0)
        return -1;   /* the registry keeps the set it had */
    a->bots = *bots;
    a->nbots = *n;
    return 0;
}

/* The shim's housekeeping; every zarinpal_reconcile_s (and at the first tick,
   so at start-up) the Zarinpal reconciliation. */
static int tick(void *arg, ts_error *err)
{
    ts_app *a = arg;
    int rc = ts_shim_tick(a->svc.sh, err);
    if (ts_clock_ms() >= a->next_reconcile) {
        a->next_reconcile = ts_clock_ms() + (long long)a->svc.cfg->zarinpal_reconcile_s * 1000;
        reconcile(a);
    }
    return rc;
}

static int health(void *arg, ts_error *err) { return ts_shim_health(((ts_app *)arg)->svc.sh, err); }

static void kill_switch(void *arg, int on) { ts_shim_set_kill_switch(((ts_app *)arg)->svc.sh, on); }

static void metrics(void *arg, ts_buf *out)
{
    ts_app *a = arg;
    ts_shim *sh = a->svc.sh;
    const ts_manifest *m = ts_shim_manifest(sh);
    const ts_schema *sc = ts_manifest_new_schema(m);
    ts_buf l = {0};
    ts_prom_family(out, "ts_shim_ops_total", "counter",
                   "Reads and writes the shim sent to each store, per new-schema table");
    for (int i = 0; i < sc->ntables; i++) {
        ts_access ac;
        const char *t = sc->tables[i].name;
        if (ts_shim_access(sh, t, &ac) != 0)
            continue;
        const struct { const char *store, *op; int64_t v; } s[] = {
            {"legacy", "read", ac.legacy_reads}, {"legacy", "write", ac.legacy_writes},
            {"new", "read", ac.new_reads},       {"new", "write", ac.new_writes}};
        for (size_t k = 0; k < sizeof s / sizeof s[0]; k++) {
            if (s[k].v == 0)
                continue;
            ts_buf_reset(&l);
            ts_prom_label(&l, "table", t);
            ts_prom_label(&l, "store", s[k].store);
            ts_prom_label(&l, "op", s[k].op);
            ts_prom_sample(out, "ts_shim_ops_total", l.s, (double)s[k].v);
        }
    }
    int64_t drift = -1, change = -1;
    ts_error err;
    if (ts_shim_pending(sh, &drift, &change, &err) != 0) {
        char q[1100];
        ts_log(TS_LOG_WARN, "metrics_journal_failed", "error=%s",
               ts_log_value(err.msg, q, sizeof q));
    }
    ts_prom_family(out, "ts_journal_pending", "gauge",
                   "Journal entries not yet applied (kind drift: the other store's copy; change: "
                   "writes at new_only kept for a rollback); -1 when they could not be read");
    ts_prom_sample(out, "ts_journal_pending", "kind=\"drift\"", (double)drift);
    ts_prom_sample(out, "ts_journal_pending", "kind=\"change\"", (double)change);
    ts_prom_family(out, "ts_stage_version", "gauge",
                   "Applied version of each increment; label stage is its stage");
    for (int i = 0; i < ts_manifest_count(m); i++) {
        const ts_increment *inc = ts_manifest_at(m, i);
        ts_stage st;
        int64_t v;
        if (ts_shim_stage(sh, inc->id, &st, &v) != 0)
            continue;
        ts_buf_reset(&l);
        ts_prom_label(&l, "increment", inc->id);
        ts_prom_label(&l, "stage", ts_stage_name(st));
        ts_prom_sample(out, "ts_stage_version", l.s, (double)v);
    }
    ts_prom_family(out, "ts_kill_switch", "gauge", "1 when the kill switch is on");
    ts_prom_sample(out, "ts_kill_switch", NULL, ts_shim_kill_switch(sh));
    int64_t hits, loads;
    ts_flags_stats(a->svc.flags, &hits, &loads);
    ts_prom_family(out, "ts_flag_cache_total", "counter", "Feature-flag lookups by result");
    ts_prom_sample(out, "ts_flag_cache_total", "result=\"hit\"", (double)hits);
    ts_prom_sample(out, "ts_flag_cache_total", "result=\"load\"", (double)loads);
    ts_buf_free(&l);
}

static void on_api(void *arg, const ts_http_request *req, ts_http_reply *reply)
{
    ts_app *a = arg;
    ts_api_handle(a->api, req, reply);
}

ts_bot_hooks ts_app_hooks(ts_app *a)
{
    return (ts_bot_hooks){.handler = {.handle = handle, .handle_batch = handle_batch, .arg = a},
                          .list_bots = list_bots,
                          .tick = tick,
                          .kill_switch = kill_switch,
                          .on_zarinpal = on_zarinpal,
                          .on_api = on_api,
                          .health = health,
                          .metrics = metrics,
                          .arg = a};
}
