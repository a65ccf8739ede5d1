/* ts_registry.c: the served bots by the stages of 1.5 and 2.5 (see ts_registry.h). */
#include "ts_registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_log.h"
#include "ts_repo.h"

struct ts_registry {
    const ts_config *cfg;
    ts_shim *sh;
    ts_bot_settings *v;     /* the current set; settings[i].info mirrors infos[i] */
    ts_bot_info *infos;
    int n;
};

ts_registry *ts_registry_new(const ts_config *cfg, ts_shim *sh)
{
    ts_registry *r = calloc(1, sizeof *r);
    if (r != NULL) {
        r->cfg = cfg;
        r->sh = sh;
    }
    return r;
}

static void set_free(ts_bot_settings *v, ts_bot_info *infos, int n)
{
    for (int i = 0; i < n; i++)
        free((char *)v[i].info.token);
    free(v);
    free(infos);
}

void ts_registry_free(ts_registry *r)
{
    if (r == NULL)
        return;
    set_free(r->v, r->infos, r->n);
    free(r);
}

static int stage_is(ts_shim *sh, const char *inc, ts_stage want)
{
    ts_stage st;
    int64_t version;
    return ts_shim_stage(sh, inc, &st, &version) == 0 && st == want;
}

/* The configured token as the master bot. */
static int add_configured(const ts_registry *r, ts_bot_settings *s)
{
    *s = (ts_bot_settings){.info = {.bot_id = ts_shim_master_bot_id(r->sh), .is_master = 1,
                                    .admin_chat_id = r->cfg->admin_chat_id,
                                    .language = ts_lang_of(r->cfg->default_language)}};
    snprintf(s->merchant, sizeof s->merchant, "%s", r->cfg->zarinpal_merchant);
    return (s->info.token = strdup(r->cfg->bot_token)) != NULL ? 0 : -1;
}

static int add_row(const ts_registry *r, const ts_bot *b, ts_bot_settings *s)
{
    int master = b->id == ts_shim_master_bot_id(r->sh);
    *s = (ts_bot_settings){.info = {.bot_id = b->id, .is_master = master,
                                    .admin_chat_id = b->admin_chat_id,
                                    .language = ts_lang_of(b->default_language)}};
    snprintf(s->merchant, sizeof s->merchant, "%s", b->zarinpal_enabled ? b->zarinpal_merchant_id : "");
    if (master) {   /* the legacy deployment's settings live in the configuration */
        if (s->info.admin_chat_id == 0)
            s->info.admin_chat_id = r->cfg->admin_chat_id;
        if (s->merchant[0] == '\0')
            snprintf(s->merchant, sizeof s->merchant, "%s", r->cfg->zarinpal_merchant);
    }
    return (s->info.token = strdup(b->telegram_bot_token)) != NULL ? 0 : -1;
}

static void log_dropped(const char *token, const char *why)
{
    char red[64];
    ts_log(TS_LOG_WARN, "bot_not_served", "bot=%s reason=%s", ts_redact(token, red, sizeof red),
           why);
}

/* Read the set from `bots` in one unit of work; *v gets it (count *n). */
static int read_bots(ts_registry *r, int multi, ts_bot_settings **v, int *n, ts_error *err)
{
    ts_ctx ctx = ts_shim_master(r->sh);
    ts_tx *tx;
    ts_result *res = NULL;
    ts_bot one;
    int rows, rc;
    *v = NULL;
    *n = 0;
    if (ts_shim_begin(r->sh, &ctx, &tx, err) != 0)
        return -1;
    rc = multi ? ts_repo_bot_list_active(tx, &res, err)
               : ts_repo_bot_by_telegram_token(tx, r->cfg->bot_token, &one, err);
    if (rc < 0 || ts_tx_commit(tx, err) != 0) {
        if (rc < 0)
            ts_tx_rollback(tx);
        ts_result_free(res);
        return -1;
    }
    rows = multi ? ts_result_count(res) : rc;
    if (!multi && rc == 1 && !one.is_active) {
        log_dropped(r->cfg->bot_token, "inactive");
        rows = 0;
    } else if (!multi && rc == 0) {
        log_dropped(r->cfg->bot_token, "unknown_token");
    }
    if (rows > 0 && (*v = calloc((size_t)rows, sizeof **v)) == NULL) {
        ts_result_free(res);
        return ts_fail(err, TS_E_NOMEM, "out of memory reading the bots");
    }
    for (int i = 0; i < rows; i++) {
        if (multi)
            ts_repo_bot_from(res, i, &one);
        if (add_row(r, &one, &(*v)[*n]) == 0)
            (*n)++;
    }
    ts_result_free(res);
    return 0;
}

int ts_registry_refresh(ts_registry *r, const ts_bot_info **bots, int *n, ts_error *err)
{
    ts_bot_settings *v = NULL;
    int k = 0;
    int context = stage_is(r->sh, "1.5", TS_STAGE_ON) && !stage_is(r->sh, "1.1", TS_STAGE_LEGACY);
    int multi = context && stage_is(r->sh, "2.5", TS_STAGE_ON);
    if (context && read_bots(r, multi, &v, &k, err) != 0)
        return -1;
    if (!context || (multi && k == 0)) {
        free(v);
        if ((v = calloc(1, sizeof *v)) == NULL || add_configured(r, &v[0]) != 0) {
            free(v);
            return ts_fail(err, TS_E_NOMEM, "out of memory listing the bots");
        }
        k = 1;
    }
    ts_bot_info *infos = calloc((size_t)k + 1, sizeof *infos);
    if (infos == NULL) {
        set_free(v, NULL, k);
        return ts_fail(err, TS_E_NOMEM, "out of memory listing the bots");
    }
    for (int i = 0; i < k; i++)
        infos[i] = v[i].info;
    set_free(r->v, r->infos, r->n);
    r->v = v;
    r->infos = infos;
    r->n = k;
    *bots = infos;
    *n = k;
    return 0;
}

const ts_bot_settings *ts_registry_find(const ts_registry *r, int64_t bot_id)
{
    for (int i = 0; i < r->n; i++)
        if (r->v[i].info.bot_id == bot_id)
            return &r->v[i];
    return NULL;
}
