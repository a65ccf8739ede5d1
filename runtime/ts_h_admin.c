/* ts_h_admin.c: the admin commands /stats, /flags and /stage. */
#include <stdio.h>
#include <string.h>

#include "ts_handlers.h"

#define PENDING_CAP 1000

int ts_h_stats(ts_hctx *h, ts_error *err)
{
    ts_result *r;
    int64_t nusers, nsubs;
    char users[24], subs[24], pending[24];
    int rc = hx_admin_only(h, err);
    if (rc <= 0)
        return rc;
    if (ts_repo_user_count(h->tx, &nusers, err) != 0 ||
        ts_repo_sub_active_count(h->tx, &nsubs, err) != 0 ||
        ts_repo_c2c_list_pending(h->tx, PENDING_CAP, &r, err) != 0)
        return -1;
    int n = ts_result_count(r);
    ts_result_free(r);
    snprintf(pending, sizeof pending, "%d%s", n, n >= PENDING_CAP ? "+" : "");
    const ts_text_arg a[] = {{"users", hx_int(nusers, users)},
                             {"subscriptions", hx_int(nsubs, subs)},
                             {"pending", pending}};
    return hx_show(h, TS_T_ADMIN_STATS, a, 3, NULL, err);
}

/* "/flags KEY on|off" sets a flag; "/flags" lists them. */
int ts_h_flags(ts_hctx *h, ts_error *err)
{
    char key[64], value[8];
    ts_result *r;
    ts_buf lines = {0};
    int rc = hx_admin_only(h, err);
    if (rc <= 0)
        return rc;
    if (sscanf(h->u->args, "%63s %7s", key, value) == 2) {
        int on = strcmp(value, "on") == 0;
        if (!on && strcmp(value, "off") != 0)
            return hx_answer(h, TS_T_UNKNOWN_COMMAND, NULL, 0, err);
        if (ts_repo_flag_set(h->tx, key, on, NULL, err) != 0)
            return -1;
        h->flags_changed = 1;
    }
    if (ts_repo_flag_list(h->tx, &r, err) != 0)
        return -1;
    for (int i = 0; i < ts_result_count(r); i++) {
        const char *k = ts_result_text(r, i, "feature_key");
        ts_buf_printf(&lines, "%s%s: %s", i ? "\n" : "", k ? k : "?",
                      ts_result_int(r, i, "enabled") ? "on" : "off");
    }
    ts_result_free(r);
    const ts_text_arg a[] = {{"flags", lines.s ? lines.s : "-"}};
    rc = hx_show(h, TS_T_ADMIN_FLAGS, a, 1, NULL, err);
    ts_buf_free(&lines);
    return rc;
}

/* Every increment's stage and version as this process routes by them. */
int ts_h_stage(ts_hctx *h, ts_error *err)
{
    const ts_manifest *m = ts_shim_manifest(h->svc->sh);
    ts_buf lines = {0};
    int rc = hx_admin_only(h, err);
    if (rc <= 0)
        return rc;
    for (int i = 0; i < ts_manifest_count(m); i++) {
        const ts_increment *inc = ts_manifest_at(m, i);
        ts_stage st;
        int64_t v;
        if (ts_shim_stage(h->svc->sh, inc->id, &st, &v) == 0)
            ts_buf_printf(&lines, "%s%s %s: %s (v%lld)", i ? "\n" : "", inc->id, inc->name,
                          ts_stage_name(st), (long long)v);
    }
    if (ts_shim_kill_switch(h->svc->sh))
        ts_buf_puts(&lines, "\nkill switch: on");
    const ts_text_arg a[] = {{"stages", lines.s ? lines.s : "-"}};
    rc = hx_show(h, TS_T_ADMIN_STAGE, a, 1, NULL, err);
    ts_buf_free(&lines);
    return rc;
}
