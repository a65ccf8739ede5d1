/* ts_conform.c: the live legacy catalog against what the manifest moves (ts_conform.h). */
#include "ts_conform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_catalog.h"
#include "ts_stage.h"

/* The increment that moves legacy table name and its map, NULL when none does. */
static const ts_tmap *mover(const ts_manifest *m, const char *name, int *inc)
{
    for (int i = 0; i < ts_manifest_count(m); i++) {
        const ts_increment *in = ts_manifest_at(m, i);
        for (int t = 0; t < in->ntmaps; t++)
            if (strcmp(in->tmaps[t].legacy->name, name) == 0) {
                *inc = i;
                return &in->tmaps[t];
            }
    }
    return NULL;
}

/*
 * Whether a live column of class live holds the values the manifest carries
 * as declared. SQLite keeps timestamps and JSON as text and booleans as
 * integers, so its catalog may name those classes; a text column where
 * integers are expected is never right.
 */
static int kind_fits(ts_coltype declared, ts_coltype live, ts_engine e)
{
    int sqlite = e == TS_ENGINE_SQLITE;
    switch (declared) {
    case TS_COL_ID:
    case TS_COL_INT: return live == TS_COL_INT;
    case TS_COL_DOUBLE: return live == TS_COL_DOUBLE || live == TS_COL_NUMERIC;
    case TS_COL_TEXT: return live == TS_COL_TEXT || live == TS_COL_UUID;
    case TS_COL_BOOL: return live == TS_COL_BOOL || (sqlite && live == TS_COL_INT);
    case TS_COL_TIME:
        return live == TS_COL_TIME || live == TS_COL_TIMESTAMP || (sqlite && live == TS_COL_TEXT);
    case TS_COL_JSON: return live == TS_COL_JSON || (sqlite && live == TS_COL_TEXT);
    default: return live == declared;
    }
}

/* Two comma-separated column lists name the same columns in the same order. */
static int same_list(const char *a, const char *b)
{
    char x[TS_IDENT_MAX + 1], y[TS_IDENT_MAX + 1];
    if (a == NULL || b == NULL)
        return a == b;
    for (;;) {
        int more_a = ts_schema_list_next(&a, x, sizeof x);
        int more_b = ts_schema_list_next(&b, y, sizeof y);
        if (more_a != more_b)
            return 0;
        if (!more_a)
            return 1;
        if (strcmp(x, y) != 0)
            return 0;
    }
}

static void compare_table(const ts_tmap *tm, const ts_table *live, ts_engine e,
                          ts_problems *out)
{
    const ts_table *want = tm->legacy;
    const char *inc = tm->inc->id;
    for (int c = 0; c < live->ncols; c++) {
        const ts_column *lc = &live->cols[c];
        int wi = ts_table_column_index(want, lc->name);
        const ts_column *wc = wi < 0 ? NULL : &want->cols[wi];
        /* Carried (restored from some new column) or dropped with a reason. */
        if (wc == NULL || (tm->restore[wi] < 0 && tm->drop_reason[wi] == NULL)) {
            ts_problems_add(out, "column %s.%s (%s) is not accounted for: increment %s would "
                            "leave its values behind", live->name, lc->name, lc->sqltype, inc);
            continue;
        }
        if (!kind_fits(wc->type, lc->type, e))
            ts_problems_add(out, "column %s.%s is %s in the legacy store, but the manifest "
                            "carries it as %s", live->name, lc->name, lc->sqltype,
                            ts_coltype_name(wc->type));
        else if (wc->notnull && !lc->notnull)
            ts_problems_add(out, "column %s.%s allows NULL in the legacy store, but the "
                            "manifest declares it NOT NULL (the new table would refuse "
                            "those rows)", live->name, lc->name);
    }
    for (int c = 0; c < want->ncols; c++)
        if (ts_table_column(live, want->cols[c].name) == NULL)
            ts_problems_add(out, "column %s.%s, which increment %s carries, is not in the "
                            "legacy store", want->name, want->cols[c].name, inc);
    /* Rows are found by the manifest's key: the live primary key or a unique. */
    ts_buf key = {0};
    for (int k = 0; k < tm->nkey; k++)
        ts_buf_printf(&key, "%s%s", k ? ", " : "", want->cols[tm->key[k]].name);
    int found = key.s && same_list(key.s, live->pk);
    for (int u = 0; !found && key.s && live->uniques && live->uniques[u]; u++)
        found = same_list(key.s, live->uniques[u]);
    if (!found)
        ts_problems_add(out, "table %s: the manifest finds rows by (%s), which is neither the "
                        "primary key (%s) nor a unique key in the legacy store", live->name,
                        key.s ? key.s : "", live->pk ? live->pk : "none");
    ts_buf_free(&key);
}

int ts_conform_legacy(ts_store *legacy, const ts_manifest *m, const unsigned char *retired,
                      ts_problems *out, ts_error *err)
{
    ts_schema *live;
    if (ts_catalog_read(legacy, "legacy", &live, err))
        return -1;
    ts_engine e = ts_store_engine(legacy);
    /* The tables that move first: what they would lose matters most, and an
       error message shows only the first problems. */
    for (int i = 0; i < live->ntables; i++) {
        const ts_table *lt = &live->tables[i];
        int inc;
        const ts_tmap *tm = mover(m, lt->name, &inc);
        if (tm != NULL && !(retired && retired[inc]))
            compare_table(tm, lt, e, out);
    }
    for (int i = 0; i < live->ntables; i++) {
        const ts_table *lt = &live->tables[i];
        int inc;
        if (mover(m, lt->name, &inc) == NULL && strncmp(lt->name, "_retired_", 9) != 0 &&
            ts_manifest_ignored(m, lt->name) == NULL)
            ts_problems_add(out, "table %s (%d columns) is not accounted for: move it in an "
                            "increment, or list it under \"ignored\" with the reason",
                            lt->name, lt->ncols);
    }
    /* Tables the manifest moves that are not there; each named once. */
    for (int i = 0; i < ts_manifest_count(m); i++) {
        const ts_increment *in = ts_manifest_at(m, i);
        for (int t = 0; t < in->ntmaps && !(retired && retired[i]); t++) {
            const char *name = in->tmaps[t].legacy->name;
            int first = 1;
            for (int u = 0; u < t; u++)
                first &= strcmp(in->tmaps[u].legacy->name, name) != 0;
            /* tenantshift's own (ts_processed_updates) is init's to create. */
            if (first && ts_schema_table(live, name) == NULL && !ts_schema_is_runtime(name))
                ts_problems_add(out, "table %s, which increment %s moves, is not in the "
                                "legacy store", name, in->id);
        }
    }
    ts_schema_free(live);
    return 0;
}

int ts_conform_new(ts_store *nw, const ts_manifest *m, const unsigned char *retired,
                   ts_problems *out, ts_error *err)
{
    ts_schema *live;
    if (nw == NULL)
        return 0;
    if (ts_catalog_read(nw, "new", &live, err))
        return -1;
    for (int i = 0; i < ts_manifest_count(m); i++) {
        const ts_increment *in = ts_manifest_at(m, i);
        for (int t = 0; t < in->ntmaps && !(retired && retired[i]); t++) {
            const ts_table *want = in->tmaps[t].target;
            const ts_table *have = ts_schema_table(live, want->name);
            for (int c = 0; have && c < want->ncols; c++)
                if (ts_table_column(have, want->cols[c].name) == NULL)
                    ts_problems_add(out, "column %s.%s is in the legacy store but not in the new "
                                    "store's %s, which increment %s made before the column came: "
                                    "run 'ts-migrate sync %s' (it adds the column to new and "
                                    "copies its values)", want->name, want->cols[c].name,
                                    want->name, in->id, in->id);
        }
    }
    ts_schema_free(live);
    return 0;
}

int ts_conform_repositories(ts_store *legacy, const ts_manifest *m, ts_problems *out,
                            ts_error *err)
{
    const ts_schema *decl = ts_schema_declared();
    ts_schema *live;
    if (ts_catalog_read(legacy, "legacy", &live, err))
        return -1;
    for (int i = 0; i < live->ntables; i++) {
        const ts_table *lt = &live->tables[i], *dt = ts_schema_table(decl, lt->name);
        int inc;
        const ts_tmap *tm = mover(m, lt->name, &inc);
        if (dt == NULL || tm == NULL)
            continue;
        for (int c = 0; c < dt->ncols; c++)
            if (ts_table_column(lt, dt->cols[c].name) == NULL)
                ts_problems_add(out, "ts-bot writes column %s.%s, which the legacy store lacks: "
                                "add the column to the legacy table", lt->name, dt->cols[c].name);
        for (int c = 0; c < lt->ncols; c++) {
            const ts_column *lc = &lt->cols[c];
            int li = ts_table_column_index(tm->legacy, lc->name);
            int nc = li >= 0 ? tm->restore[li] : -1;
            int defaulted = nc >= 0 && tm->write_default[nc].type != TS_NULL;
            const ts_column *dc = ts_table_column(dt, lc->name);
            /* The repositories leave such a column to its default when they
               insert: the store must have one, or the manifest must. */
            if (dc != NULL && dc->dflt != NULL && lc->dflt == NULL && !defaulted)
                ts_problems_add(out, "ts-bot leaves column %s.%s to its default (%s) when it "
                                "inserts, and the legacy store has none: give it a write default "
                                "in the manifest (\"write_defaults\": {\"%s\": ...} in the "
                                "table's mapping)", lt->name, lc->name, dc->dflt, lc->name);
            if (lc->notnull && lc->dflt == NULL && lc->identity == TS_IDENT_NONE &&
                dc == NULL && !defaulted)
                ts_problems_add(out, "ts-bot does not set column %s.%s, which is NOT NULL without "
                                "a default in the legacy store, so every row it inserts there "
                                "would be refused: give it a write default in the manifest "
                                "(\"write_defaults\": {\"%s\": ...} in the table's mapping) or a "
                                "DEFAULT in the legacy store", lt->name, lc->name, lc->name);
        }
    }
    ts_schema_free(live);
    return 0;
}

int ts_conform_retired(ts_store *nw, const ts_manifest *m, unsigned char *retired,
                       ts_error *err)
{
    int n = ts_manifest_count(m), version;
    memset(retired, 0, (size_t)n);
    if (nw == NULL)
        return 0;
    if (ts_schema_applied_version(nw, ts_schema_control(), &version, err))
        return -1;
    if (version == 0)
        return 0;
    /* Only the contracted ones: an increment not registered yet is not. */
    char qt[TS_QNAME_MAX], sql[TS_QNAME_MAX + 64];
    ts_rows *r;
    ts_value stage = ts_text(ts_stage_name(TS_STAGE_CONTRACTED));
    if (ts_store_table(nw, "ts_increments", qt, err))
        return -1;
    snprintf(sql, sizeof sql, "SELECT id FROM %s WHERE stage = $1", qt);
    if (ts_store_query(nw, sql, &stage, 1, &r, err))
        return -1;
    int rc;
    while ((rc = ts_rows_next(r, err)) == 1) {
        ts_value id = ts_rows_get(r, 0);
        for (int i = 0; i < n; i++) {
            const char *inc = ts_manifest_at(m, i)->id;
            if (id.type == TS_TEXT && strlen(inc) == id.len && memcmp(inc, id.s, id.len) == 0)
                retired[i] = 1;
        }
    }
    ts_rows_close(r);
    return rc < 0 ? -1 : 0;
}

int ts_conform_collect(ts_store *legacy, ts_store *nw, const ts_manifest *m, ts_problems *out,
                       ts_error *err)
{
    unsigned char *retired = calloc((size_t)ts_manifest_count(m) + 1, 1);
    if (retired == NULL)
        return ts_fail(err, TS_E_NOMEM, "out of memory checking the legacy tables");
    int rc = ts_conform_retired(nw, m, retired, err) ||
                     ts_conform_legacy(legacy, m, retired, out, err) ||
                     ts_conform_new(nw, m, retired, out, err)
                 ? -1 : 0;
    free(retired);
    if (rc == 0 && out->oom)
        rc = ts_fail(err, TS_E_NOMEM, "out of memory listing the differences");
    return rc;
}

int ts_conform_require(ts_store *legacy, ts_store *nw, const ts_manifest *m, ts_error *err)
{
    ts_problems p = {0};
    int rc = ts_conform_collect(legacy, nw, m, &p, err)
                 ? -1
                 : ts_problems_fail(&p, err, TS_E_SCHEMA,
                                    "the legacy store does not match the manifest",
                                    "'ts-migrate manifest check' lists them all; account for "
                                    "each in the manifest (--manifest FILE), then run again");
    ts_problems_free(&p);
    return rc;
}
