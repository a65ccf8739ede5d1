/*
 * ts_catalog.c: the engine-independent half of reading a catalog: collecting
 * tables, checking what can be carried, ordering by references.
 */
#include "ts_catalog_int.h"

#include <stdlib.h>
#include <string.h>

#include "ts_vec.h"

char *cat_str(cat_builder *b, const char *s, size_t len)
{
    char *p = ts_arena_strndup(&b->arena, s, len);
    if (p == NULL && s != NULL)
        b->oom = 1;
    return p;
}

cat_table *cat_add_table(cat_builder *b, const char *name, size_t len)
{
    if (ts_vec_reserve((void **)&b->t, &b->cap, b->n + 1, sizeof *b->t)) {
        b->oom = 1;
        return NULL;
    }
    cat_table *t = &b->t[b->n++];
    memset(t, 0, sizeof *t);
    t->name = cat_str(b, name, len);
    return t->name ? t : NULL;
}

cat_table *cat_find(cat_builder *b, const char *name)
{
    for (int i = 0; i < b->n; i++)
        if (strcmp(b->t[i].name, name) == 0)
            return &b->t[i];
    return NULL;
}

int cat_add_column(cat_builder *b, cat_table *t, const ts_column *c)
{
    if (ts_vec_reserve((void **)&t->cols, &t->capcols, t->ncols + 1, sizeof *t->cols))
        return b->oom = 1, -1;
    t->cols[t->ncols++] = *c;
    return 0;
}

int cat_add_fk(cat_builder *b, cat_table *t, const ts_fk *fk)
{
    if (ts_vec_reserve((void **)&t->fks, &t->capfks, t->nfks + 1, sizeof *t->fks))
        return b->oom = 1, -1;
    t->fks[t->nfks++] = *fk;
    return 0;
}

int cat_add_index(cat_builder *b, cat_table *t, const ts_index *ix)
{
    if (ts_vec_reserve((void **)&t->idx, &t->capidx, t->nidx + 1, sizeof *t->idx))
        return b->oom = 1, -1;
    t->idx[t->nidx++] = *ix;
    return 0;
}

int cat_add_check(cat_builder *b, cat_table *t, const char *name, const char *expr)
{
    if (ts_vec_reserve((void **)&t->checks, &t->capchecks, t->nchecks + 2, sizeof *t->checks) ||
        ts_vec_reserve((void **)&t->check_names, &t->capnames, t->nchecks + 2,
                       sizeof *t->check_names))
        return b->oom = 1, -1;
    t->checks[t->nchecks] = expr;
    t->check_names[t->nchecks++] = name;
    return 0;
}

static void free_tables(cat_builder *b)
{
    for (int i = 0; i < b->n; i++) {
        free(b->t[i].cols);
        free(b->t[i].fks);
        free(b->t[i].idx);
        free(b->t[i].checks);
        free(b->t[i].check_names);
    }
    free(b->t);
    b->t = NULL;
    b->n = b->cap = 0;
}

void cat_abort(cat_builder *b)
{
    free_tables(b);
    ts_problems_free(&b->problems);
    ts_arena_free(&b->arena);
}

/* Names are spliced into SQL quoted, and only plain identifiers are. */
static void check_names(cat_builder *b)
{
    for (int i = 0; i < b->n; i++) {
        cat_table *t = &b->t[i];
        if (!ts_ident_valid(t->name))
            ts_problems_add(&b->problems, "table \"%.80s\" has a name that is no plain identifier "
                            "([A-Za-z_][A-Za-z0-9_]*, at most %d characters): rename it",
                            t->name, TS_IDENT_MAX);
        for (int c = 0; c < t->ncols; c++)
            if (!ts_ident_valid(t->cols[c].name))
                ts_problems_add(&b->problems, "column %s.\"%.80s\" has a name that is no plain "
                                "identifier: rename it", t->name, t->cols[c].name);
    }
}

/* Every full unique key of plain columns, as a comma-separated list. */
static const char *const *uniques_of(cat_builder *b, const cat_table *t)
{
    int n = 0;
    const char **u = ts_arena_alloc(&b->arena, (size_t)t->nidx + 1, sizeof *u);
    if (u == NULL)
        return b->oom = 1, NULL;
    for (int i = 0; i < t->nidx; i++) {
        const ts_index *ix = &t->idx[i];
        int plain = ix->unique && ix->where == NULL;
        for (int k = 0; plain && k < ix->nkeys; k++)
            plain = !(ix->expr && ix->expr[k]);
        if (!plain)
            continue;
        ts_buf list = {0};
        for (int k = 0; k < ix->nkeys; k++)
            ts_buf_printf(&list, "%s%s", k ? ", " : "", ix->keys[k]);
        u[n++] = list.oom ? NULL : cat_str(b, list.s, list.len);
        ts_buf_free(&list);
        if (u[n - 1] == NULL)
            return b->oom = 1, NULL;
    }
    return n ? u : NULL;
}

int cat_finish(cat_builder *b, const char *name, ts_schema **out, ts_error *err)
{
    *out = NULL;
    check_names(b);
    if (b->oom || b->problems.oom) {
        cat_abort(b);
        return ts_fail(err, TS_E_NOMEM, "out of memory reading the catalog");
    }
    if (b->problems.n) {
        ts_problems_fail(&b->problems, err, TS_E_INVALID,
                         "the store holds what tenantshift cannot carry faithfully", NULL);
        cat_abort(b);
        return -1;
    }
    ts_schema *sc = ts_arena_alloc(&b->arena, 1, sizeof *sc);
    ts_table *tables = ts_arena_alloc(&b->arena, (size_t)b->n + 1, sizeof *tables);
    if (sc == NULL || tables == NULL) {
        cat_abort(b);
        return ts_fail(err, TS_E_NOMEM, "out of memory reading the catalog");
    }
    for (int k = 0; k < b->n; k++) {
        cat_table *t = &b->t[k];
        ts_table *d = &tables[k];
        ts_column *cols = ts_arena_alloc(&b->arena, (size_t)t->ncols + 1, sizeof *cols);
        ts_fk *fks = ts_arena_alloc(&b->arena, (size_t)t->nfks + 1, sizeof *fks);
        ts_index *idx = ts_arena_alloc(&b->arena, (size_t)t->nidx + 1, sizeof *idx);
        const char **checks = NULL, **names = NULL;
        if (t->nchecks) {
            checks = ts_arena_alloc(&b->arena, (size_t)t->nchecks + 1, sizeof *checks);
            names = ts_arena_alloc(&b->arena, (size_t)t->nchecks + 1, sizeof *names);
        }
        if (cols == NULL || fks == NULL || idx == NULL || (t->nchecks && names == NULL)) {
            b->oom = 1;
            break;
        }
        /* memcpy from NULL is undefined even for 0 bytes: empty lists are never allocated. */
        if (t->ncols)
            memcpy(cols, t->cols, (size_t)t->ncols * sizeof *cols);
        if (t->nfks)
            memcpy(fks, t->fks, (size_t)t->nfks * sizeof *fks);
        if (t->nidx)
            memcpy(idx, t->idx, (size_t)t->nidx * sizeof *idx);
        if (t->nchecks) {
            memcpy(checks, t->checks, (size_t)t->nchecks * sizeof *checks);
            memcpy(names, t->check_names, (size_t)t->nchecks * sizeof *names);
        }
        *d = (ts_table){t->name, cols, t->ncols, t->pk, uniques_of(b, t), fks, t->nfks, 0,
                        idx, t->nidx, checks, names, b->engine};
    }
    if (b->oom || ts_schema_order(tables, b->n)) {
        cat_abort(b);
        return ts_fail(err, TS_E_NOMEM, "out of memory reading the catalog");
    }
    sc->name = cat_str(b, name, strlen(name));
    sc->version = 0;
    sc->tables = tables;
    sc->ntables = b->n;
    free_tables(b);
    ts_problems_free(&b->problems);
    sc->arena = b->arena; /* the schema now owns the arena it lives in */
    *out = sc;
    return 0;
}

int ts_catalog_read(ts_store *s, const char *name, ts_schema **out, ts_error *err)
{
    cat_builder b = {ts_store_engine(s)};
    int rc = b.engine == TS_ENGINE_PG ? ts_catalog_read_pg(s, &b, err)
                                      : ts_catalog_read_sqlite(s, &b, err);
    if (rc == 0 && cat_finish(&b, name, out, err) == 0)
        return 0;
    if (rc)
        cat_abort(&b);
    ts_error_context(err, "reading the tables of %s", ts_store_url(s));
    return -1;
}

int ts_catalog_fingerprint(ts_store *s, char out[80], ts_error *err)
{
    return ts_store_engine(s) == TS_ENGINE_PG ? ts_catalog_fingerprint_pg(s, out, err)
                                              : ts_catalog_fingerprint_sqlite(s, out, err);
}
