/* ts_vstage.c: what each ts-verify command skips at which stage (see ts_vstage.h). */
#include "ts_vstage.h"

#include <stdlib.h>
#include <string.h>

#include "ts_control.h"

/* Why command cannot look at an increment at stage st, into out; 0 when it can. */
static int skip_reason(const char *command, ts_stage st, char *out, size_t n)
{
    if (st == TS_STAGE_LEGACY)
        snprintf(out, n, "at legacy, its new tables do not exist yet");
    else if (st == TS_STAGE_EXPANDED && strcmp(command, "diff") == 0)
        /* Every row would read as missing: a diff of an empty copy says nothing. */
        snprintf(out, n, "at expanded, nothing is copied into its new tables before dual_write");
    else if (st == TS_STAGE_CONTRACTED && strcmp(command, "diff") == 0)
        snprintf(out, n, "at contracted, its legacy tables are retired: there is nothing to "
                 "compare the new tables with");
    else
        return 0;
    return 1;
}

int ts_vstage_load(ts_vreport *r, ts_store *nw, const ts_manifest *m, ts_error *err)
{
    int n = ts_manifest_count(m), rc = 0;
    ts_inc_state *states = calloc((size_t)n + 1, sizeof *states);
    if (states == NULL)
        return ts_fail(err, TS_E_NOMEM, "out of memory reading the stages");
    if (ts_control_load(nw, m, states, err)) {
        free(states);
        return -1;
    }
    for (int i = 0; i < n && rc == 0; i++) {
        const ts_increment *inc = states[i].inc;
        char why[160];
        if (inc->kind != TS_INC_DATA)
            continue;
        int skip = skip_reason(r->command, states[i].stage, why, sizeof why);
        if (ts_vreport_add_inc(r, inc->id, inc->name, states[i].stage, inc->ntmaps,
                               skip ? why : NULL) == NULL)
            rc = ts_fail(err, TS_E_NOMEM, "out of memory reading the stages");
    }
    free(states);
    return rc;
}

void ts_vstage_named(ts_vreport *r, const char *id)
{
    for (int i = 0; i < r->nincs; i++)
        if (strcmp(r->incs[i].id, id) == 0)
            r->incs[i].named = 1;
}

void ts_vstage_attribute(ts_vreport *r, const ts_manifest *m)
{
    for (int i = 0; i < r->ninvs; i++) {
        const ts_increment *inc = ts_manifest_owner(m, r->invs[i].subject);
        if (inc != NULL)
            snprintf(r->invs[i].increment, sizeof r->invs[i].increment, "%s", inc->id);
    }
}
