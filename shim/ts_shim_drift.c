/*
 * ts_shim_drift.c: a running shim notices a legacy column that came after it
 * read the tables (ts_shim_int.h).
 *
 * The real bot adds columns to its tables when it starts. A shim that read
 * the tables before writes rows without that column: legacy keeps its
 * default, the twin in new never gets the value, and nothing says so until a
 * diff. So the tick compares the legacy tables with the manifest the shim
 * carries, and writes of an increment whose table changed are refused while
 * they would reach both stores (dual_write to read_new), saying what to do:
 * 'ts-migrate sync' carries the column, a restart makes the shim carry it.
 * At legacy nothing is lost (legacy alone is written, as the bot wrote it);
 * reads are never refused.
 */
#include "ts_shim_int.h"

#include <stdlib.h>
#include <string.h>

#include "ts_catalog.h"
#include "ts_log.h"

/* How often the fingerprint is asked: a few milliseconds on PostgreSQL. */
#define DRIFT_CHECK_MS 2000

/* The first live column of a table increment inc moves that its map lacks. */
static const char *added_column(const ts_increment *inc, const ts_schema *live, char *out,
                                size_t n)
{
    for (int t = 0; t < inc->ntmaps; t++) {
        const ts_table *want = inc->tmaps[t].legacy, *have = ts_schema_table(live, want->name);
        for (int c = 0; have && c < have->ncols; c++)
            if (ts_table_column(want, have->cols[c].name) == NULL) {
                snprintf(out, n, "%s.%s", want->name, have->cols[c].name);
                return out;
            }
    }
    return NULL;
}

int ts_shim_drift_check(ts_shim *sh, int64_t now, ts_error *err)
{
    char fp[80], what[2 * TS_IDENT_MAX + 2];
    ts_schema *live;
    if (sh->legacy_fp[0] && now - sh->drift_checked_ms < DRIFT_CHECK_MS)
        return 0;
    sh->drift_checked_ms = now;
    if (ts_catalog_fingerprint(sh->legacy, fp, err))
        return -1;
    if (sh->legacy_fp[0] == '\0' || strcmp(fp, sh->legacy_fp) == 0) {
        memcpy(sh->legacy_fp, fp, sizeof fp); /* the first look: the tables the shim read */
        return 0;
    }
    if (sh->drifted == NULL && (sh->drifted = calloc((size_t)sh->nstates + 1, sizeof *sh->drifted)) == NULL)
        return ts_fail(err, TS_E_NOMEM, "out of memory");
    if (ts_catalog_read(sh->legacy, "legacy", &live, err))
        return -1;
    for (int i = 0; i < sh->nstates; i++) {
        const char *col = added_column(sh->states[i].inc, live, what, sizeof what);
        if (col == NULL || sh->drifted[i] != NULL)
            continue;
        if ((sh->drifted[i] = strdup(col)) == NULL)
            break;
        ts_log(TS_LOG_ERROR, "legacy_column_added", "increment=%s column=%s note=\"its writes are "
               "refused while both stores are written: run 'ts-migrate sync %s', then restart "
               "%s\"", sh->states[i].inc->id, col, sh->states[i].inc->id, sh->program);
    }
    ts_schema_free(live);
    memcpy(sh->legacy_fp, fp, sizeof fp);
    return 0;
}

int ts_shim_drift_refuse(const ts_shim *sh, int si, ts_stage stage, ts_error *err)
{
    if (sh->drifted == NULL || sh->drifted[si] == NULL || stage < TS_STAGE_DUAL_WRITE ||
        stage > TS_STAGE_READ_NEW)
        return 0;
    return ts_fail(err, TS_E_SCHEMA, "increment %s: column %s was added to the legacy store "
                   "after %s read its tables, so this write could not carry it into the new "
                   "store: run 'ts-migrate sync %s', then restart %s", sh->states[si].inc->id,
                   sh->drifted[si], sh->program, sh->states[si].inc->id, sh->program);
}

void ts_shim_drift_free(ts_shim *sh)
{
    for (int i = 0; sh->drifted && i < sh->nstates; i++)
        free(sh->drifted[i]);
    free(sh->drifted);
    sh->drifted = NULL;
}
