/*
 * ts_schema_derive.c: which tables each schema has.
 *
 * The project's legacy schema is the real bot's (fixtures/real-schema/, the
 * SQLite DDL compiled in): it is loaded into an in-memory SQLite database
 * and read back through the catalog code, as any live store is, and the
 * repositories' declarations (ts_schema_def.c) are overlaid on it. A live
 * legacy store is adopted the same way (ts_schema_adopt), so every live
 * column and table the manifest moves is carried. The new schema is derived
 * from the legacy one (a bot_id twin of every tenant table).
 */
#include "ts_schema.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_catalog.h"
#include "ts_schema_def.h"

static ts_schema declared_s, control_s, journal_s;
static const ts_schema *legacy_s, *new_s;
static ts_schema *real_s;       /* the real schema's catalog, read once */
static ts_arena project_arena;  /* the project's schemas: kept for the life of the process */
/* Two: reading the real schema's catalog asks ts_schema_is_own, which needs
   the control and journal schemas. */
static pthread_once_t once_fixed = PTHREAD_ONCE_INIT, once_project = PTHREAD_ONCE_INIT;

/* "a, b" -> "bot_id, a, b" */
static const char *with_bot_id(ts_arena *a, const char *cols)
{
    return ts_arena_printf(a, "bot_id, %s", cols);
}

/* The twin of a catalog index: bot_id leads it, as every key of a twin. */
static void derive_index(ts_arena *a, const ts_index *li, ts_index *ni)
{
    const char **keys = ts_arena_alloc(a, (size_t)li->nkeys + 1, sizeof *keys);
    unsigned char *expr = ts_arena_alloc(a, (size_t)li->nkeys + 1, 1);
    unsigned char *desc = ts_arena_alloc(a, (size_t)li->nkeys + 1, 1);
    *ni = *li;
    if (keys == NULL || expr == NULL || desc == NULL)
        return; /* a->oom is set: the caller gives up */
    keys[0] = "bot_id";
    for (int k = 0; k < li->nkeys; k++) {
        keys[k + 1] = li->keys[k];
        expr[k + 1] = li->expr ? li->expr[k] : 0;
        desc[k + 1] = li->desc ? li->desc[k] : 0;
    }
    ni->nkeys = li->nkeys + 1;
    ni->keys = keys;
    ni->expr = expr;
    ni->desc = desc;
}

/*
 * The bot_id twin of a legacy tenant table: bot_id first, bot_id leading the
 * primary key, every unique, every index and every foreign key (so no key or
 * reference can cross bots), and rows cascade when their bot is deleted.
 *
 * ON DELETE SET NULL cannot carry over: on a composite key it would null
 * bot_id too (SQLite has no column list for SET NULL). Those references become
 * NO ACTION, and the repositories clear them before deleting the referenced
 * row. RESTRICT becomes NO ACTION too (the same check, at statement end).
 */
static void derive_twin(ts_arena *a, const ts_table *lt, ts_table *nt)
{
    ts_column *cols = ts_arena_alloc(a, (size_t)lt->ncols + 1, sizeof *cols);
    ts_fk *fks = ts_arena_alloc(a, (size_t)lt->nfks + 1, sizeof *fks);
    ts_index *idx = ts_arena_alloc(a, (size_t)lt->nindexes + 1, sizeof *idx);
    int nu = 0;
    while (lt->uniques && lt->uniques[nu])
        nu++;
    const char **uniq = ts_arena_alloc(a, (size_t)nu + 1, sizeof *uniq);
    if (cols == NULL || fks == NULL || idx == NULL || uniq == NULL)
        return;

    cols[0] = (ts_column){"bot_id", TS_COL_INT, 1};
    memcpy(cols + 1, lt->cols, (size_t)lt->ncols * sizeof *cols);
    fks[0] = (ts_fk){"bot_id", "bots", "id", "CASCADE", 0};
    for (int i = 0; i < lt->nfks; i++) {
        const ts_fk *f = &lt->fks[i];
        /* A self reference is checked at commit: a referral chain loads in
           any order (the real bot's users.referred_by_id is immediate). */
        fks[i + 1] = (ts_fk){with_bot_id(a, f->cols), f->table, with_bot_id(a, f->ref_cols),
                             f->on_delete && strcmp(f->on_delete, "CASCADE") == 0 ? "CASCADE" : NULL,
                             f->deferred || strcmp(f->table, lt->name) == 0};
    }
    for (int i = 0; i < nu; i++)
        uniq[i] = with_bot_id(a, lt->uniques[i]);
    for (int i = 0; i < lt->nindexes; i++)
        derive_index(a, &lt->indexes[i], &idx[i]);
    *nt = (ts_table){lt->name, cols, lt->ncols + 1, with_bot_id(a, lt->pk), nu ? uniq : NULL, fks,
                     lt->nfks + 1, 1, lt->nindexes ? idx : NULL, lt->nindexes, lt->checks,
                     lt->check_names, lt->dialect};
}

/* bots, then the twins of the tenant tables (in legacy order, which respects
   their references), then the remaining new-only tables, which reference both. */
static int derive_new(ts_arena *a, const ts_schema *legacy, ts_schema *nw)
{
    ts_table *t = ts_arena_alloc(a, (size_t)(legacy->ntables + ts_new_own_ntables), sizeof *t);
    if (t == NULL)
        return -1;
    int n = 0;
    t[n++] = ts_new_own_tables[0];
    for (int i = 0; i < legacy->ntables; i++)
        if (legacy->tables[i].tenant)
            derive_twin(a, &legacy->tables[i], &t[n++]);
    for (int i = 1; i < ts_new_own_ntables; i++)
        t[n++] = ts_new_own_tables[i];
    *nw = (ts_schema){"new", 1, t, n};
    return a->oom ? -1 : 0;
}

static void build_fixed(void)
{
    declared_s = (ts_schema){"legacy", 1, ts_declared_tables, ts_declared_ntables};
    control_s = (ts_schema){"control", 1, ts_control_tables, ts_control_ntables};
    journal_s = (ts_schema){"journal", 1, ts_journal_tables, ts_journal_ntables};
}

static int adopt(const ts_schema *live, const ts_schema *known, ts_arena *a,
                 const ts_schema **legacy, const ts_schema **nw, ts_error *err);

static void build_project(void)
{
    ts_store *s = NULL;
    ts_error err = {0};
    if (ts_store_open("sqlite::memory:", &s, &err) || ts_store_script(s, ts_real_schema_sqlite, &err) ||
        ts_catalog_read(s, "legacy", &real_s, &err) ||
        adopt(real_s, ts_schema_declared(), &project_arena, &legacy_s, &new_s, &err)) {
        /* Compiled-in data that a test reads on every build: only memory can fail here. */
        fprintf(stderr, "tenantshift: reading the built-in legacy schema: %s\n", err.msg);
        abort();
    }
    ts_store_close(s);
}

const ts_schema *ts_schema_declared(void) { pthread_once(&once_fixed, build_fixed); return &declared_s; }
const ts_schema *ts_schema_legacy(void) { pthread_once(&once_project, build_project); return legacy_s; }
const ts_schema *ts_schema_new(void) { pthread_once(&once_project, build_project); return new_s; }
const ts_schema *ts_schema_control(void) { pthread_once(&once_fixed, build_fixed); return &control_s; }
const ts_schema *ts_schema_journal(void) { pthread_once(&once_fixed, build_fixed); return &journal_s; }

/* ---- a live legacy store adopted ------------------------------------------- */

/* A live column as a twin carries it: a generated integer key becomes an id
   (TS_COL_ID), assigned by tenantshift's sequences in the composite-key twin
   as the declared ids are; everything else exactly as the catalog says. */
static ts_column adopted_column(const ts_table *lt, const ts_column *c)
{
    ts_column out = *c;
    if (c->identity != TS_IDENT_NONE && c->type == TS_COL_INT && strcmp(lt->pk, c->name) == 0)
        out.type = TS_COL_ID;
    return out;
}

/*
 * The declared table d as the live table lt has it. In *legacy: each declared
 * column the live table has, as the store has it (its type aside: the
 * declared kind is how the repositories read and write it), and every live
 * column d does not
 * declare, as the catalog says. *twin is the same with the declared columns
 * the live table lacks kept too: the new table has them (the bot's code
 * writes them), and only new ever holds their values.
 */
static int overlay_table(ts_arena *a, const ts_table *d, const ts_table *lt, ts_table *legacy,
                         ts_table *twin)
{
    size_t max = (size_t)(d->ncols + lt->ncols) + 1;
    ts_column *lcols = ts_arena_alloc(a, max, sizeof *lcols);
    ts_column *tcols = ts_arena_alloc(a, max, sizeof *tcols);
    if (lcols == NULL || tcols == NULL)
        return -1;
    int nl = 0, nt = 0;
    for (int i = 0; i < d->ncols; i++) {
        const ts_column *lc = ts_table_column(lt, d->cols[i].name);
        ts_column c = d->cols[i];
        /* What the store allows and defaults, the new table allows and
           defaults: it must take every row the store holds, and an insert
           must get the same value from both (the declared default is the
           application's: the manifest's write defaults supply it). */
        if (lc != NULL) {
            c.notnull = lc->notnull;
            c.maxlen = lc->maxlen;
            if (lc->dflt == NULL) /* the declared one, in both engines' SQL, where it has one */
                c.dflt = NULL;
            c.check = NULL;
            lcols[nl++] = c;
        }
        tcols[nt++] = c;
    }
    for (int i = 0; i < lt->ncols; i++)
        if (ts_table_column(d, lt->cols[i].name) == NULL)
            lcols[nl++] = tcols[nt++] = adopted_column(lt, &lt->cols[i]);
    /* Keys, references, CHECKs and indexes as the store has them: the new
       table must take every row legacy holds (a unique the store does not
       have would refuse its legal duplicates). */
    *legacy = *twin = *lt;
    legacy->tenant = twin->tenant = d->tenant;
    legacy->cols = lcols;
    legacy->ncols = nl;
    twin->cols = tcols;
    twin->ncols = nt;
    return 0;
}

/* A live table no declaration names, whole: a tenant table (its twin carries bot_id). */
static int live_table(ts_arena *a, const ts_table *lt, ts_table *out)
{
    ts_column *cols = ts_arena_alloc(a, (size_t)lt->ncols + 1, sizeof *cols);
    if (cols == NULL)
        return -1;
    for (int i = 0; i < lt->ncols; i++)
        cols[i] = adopted_column(lt, &lt->cols[i]);
    *out = *lt;
    out->cols = cols;
    out->tenant = 1;
    return 0;
}

/* live adopted; a table of known (with the declarations in it) that the
   store lacks is kept as known has it. */
static int adopt(const ts_schema *live, const ts_schema *known, ts_arena *a,
                 const ts_schema **legacy, const ts_schema **nw, ts_error *err)
{
    const ts_schema *decl = ts_schema_declared();
    size_t max = (size_t)(known->ntables + live->ntables) + 1;
    /* twins[i] is what the twin of legacy table t[i] is derived from. */
    ts_table *t = ts_arena_alloc(a, max, sizeof *t), *twins = ts_arena_alloc(a, max, sizeof *twins);
    ts_schema *lsc = ts_arena_alloc(a, 1, sizeof *lsc), *nsc = ts_arena_alloc(a, 1, sizeof *nsc);
    ts_schema src;
    int n = 0;
    *legacy = *nw = NULL;
    if (t == NULL || twins == NULL || lsc == NULL || nsc == NULL)
        return ts_fail(err, TS_E_NOMEM, "out of memory adopting the legacy store's tables");
    /* In the catalog's order, which is by references. */
    for (int i = 0; i < live->ntables; i++) {
        const ts_table *lt = &live->tables[i], *d = ts_schema_table(decl, lt->name);
        /* _retired_<time>_<name>: what contract left behind, moved already. */
        if (strncmp(lt->name, "_retired_", 9) == 0)
            continue;
        if (d != NULL ? overlay_table(a, d, lt, &t[n], &twins[n]) : live_table(a, lt, &t[n]))
            return ts_fail(err, TS_E_NOMEM, "out of memory adopting the legacy store's tables");
        if (d == NULL)
            twins[n] = t[n];
        n++;
    }
    /* A table the project knows that the store lacks stays as known, so the
       manifest still reads: ts_conform names it (an older bot's database),
       init creates it (tenantshift's own ts_processed_updates), or contract
       retired it. */
    for (int i = 0; i < known->ntables; i++)
        if (ts_schema_table(live, known->tables[i].name) == NULL) {
            t[n] = twins[n] = known->tables[i];
            n++;
        }
    *lsc = (ts_schema){"legacy", 1, t, n};
    src = (ts_schema){"legacy", 1, twins, n};
    if (derive_new(a, &src, nsc))
        return ts_fail(err, TS_E_NOMEM, "out of memory deriving the new tables");
    *legacy = lsc;
    *nw = nsc;
    return 0;
}

int ts_schema_adopt(const ts_schema *live, ts_arena *a, const ts_schema **legacy,
                    const ts_schema **nw, ts_error *err)
{
    return adopt(live, ts_schema_legacy(), a, legacy, nw, err);
}
