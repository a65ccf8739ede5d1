/*
 * ts_mdraft.c: ts-migrate manifest draft (ts_mdraft.h).
 *
 * Increments are the strongly connected components of the live tables'
 * foreign keys: tables that refer to each other in a cycle must be written
 * to the same store at every moment, so they move together; every other
 * table moves on its own, after the increments it refers to (its "depends").
 * That is the finest split the stage rules allow; an operator may merge
 * increments that the bot writes in one unit of work.
 */
#include "ts_mdraft.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ts_catalog.h"

typedef struct graph {
    const ts_schema *sc;
    int n;
    int *comp;            /* per table: its component, -1 while unvisited */
    int *index, *low, *stack, depth, top, ncomp;
    unsigned char *on;    /* on the stack */
} graph;

static int table_at(const ts_schema *sc, const char *name)
{
    for (int i = 0; i < sc->ntables; i++)
        if (strcmp(sc->tables[i].name, name) == 0)
            return i;
    return -1;
}

/* Tarjan's algorithm; depth of recursion is bounded by the table count. */
static void strong(graph *g, int v)
{
    g->index[v] = g->low[v] = g->depth++;
    g->stack[g->top++] = v;
    g->on[v] = 1;
    const ts_table *t = &g->sc->tables[v];
    for (int f = 0; f < t->nfks; f++) {
        int w = table_at(g->sc, t->fks[f].table);
        if (w < 0)
            continue;
        if (g->index[w] < 0) {
            strong(g, w);
            if (g->low[w] < g->low[v])
                g->low[v] = g->low[w];
        } else if (g->on[w] && g->index[w] < g->low[v]) {
            g->low[v] = g->index[w];
        }
    }
    if (g->low[v] == g->index[v]) {
        int w;
        do {
            w = g->stack[--g->top];
            g->on[w] = 0;
            g->comp[w] = g->ncomp;
        } while (w != v);
        g->ncomp++;
    }
}

/* The key rows are found by: the primary key, else a unique of NOT NULL
   columns; NULL when the table has neither. */
static const char *key_of(const ts_table *t)
{
    if (t->pk && *t->pk)
        return t->pk;
    for (int u = 0; t->uniques && t->uniques[u]; u++) {
        const char *p = t->uniques[u];
        char name[TS_IDENT_MAX + 1];
        int all = 1;
        while (ts_schema_list_next(&p, name, sizeof name)) {
            const ts_column *c = ts_table_column(t, name);
            all &= c != NULL && c->notnull;
        }
        if (all)
            return t->uniques[u];
    }
    return NULL;
}

static cJSON *key_array(const char *list)
{
    cJSON *a = cJSON_CreateArray();
    char name[TS_IDENT_MAX + 1];
    while (a && ts_schema_list_next(&list, name, sizeof name))
        cJSON_AddItemToArray(a, cJSON_CreateString(name));
    return a;
}

/* "server_squads" -> "server-squads": an increment's name. */
static cJSON *inc_name(const char *table)
{
    char n[TS_IDENT_MAX + 1];
    size_t i = 0;
    for (; table[i] && i < TS_IDENT_MAX; i++)
        n[i] = (char)tolower((unsigned char)table[i]);
    n[i] = '\0';
    return cJSON_CreateString(n);
}

/* The new tables without a legacy twin that refer to nothing but each other
   (bots and its own tables): what every drafted increment depends on. */
static cJSON *tenant_tables(void)
{
    const ts_schema *nw = ts_schema_new(), *legacy = ts_schema_legacy();
    cJSON *inc = cJSON_CreateObject(), *creates = cJSON_CreateArray();
    cJSON_AddStringToObject(inc, "id", "1.1");
    cJSON_AddStringToObject(inc, "name", "tenant-tables");
    cJSON_AddStringToObject(inc, "kind", "data");
    for (int i = 0; i < nw->ntables; i++) {
        const ts_table *t = &nw->tables[i];
        int own = ts_schema_table(legacy, t->name) == NULL;
        for (int f = 0; own && f < t->nfks; f++)
            own = ts_schema_table(legacy, t->fks[f].table) == NULL;
        if (own)
            cJSON_AddItemToArray(creates, cJSON_CreateString(t->name));
    }
    cJSON_AddItemToObject(inc, "creates", creates);
    return inc;
}

/* Build the draft of schema sc: increments in dependency order. */
static cJSON *draft(const ts_schema *sc, graph *g)
{
    cJSON *root = cJSON_CreateObject(), *incs = cJSON_CreateArray();
    cJSON *ignored = cJSON_CreateObject(), *consts = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "format", 1);
    cJSON_AddNumberToObject(consts, "master_bot_id", 1);
    cJSON_AddItemToObject(root, "constants", consts);
    cJSON_AddItemToArray(incs, tenant_tables());
    /* Tarjan numbers a component after every component it refers to, so
       component order is dependency order. */
    char (*ids)[16] = calloc((size_t)g->ncomp + 1, sizeof *ids);
    int made = 0;
    for (int c = 0; ids && c < g->ncomp; c++) {
        cJSON *inc = NULL, *tables = NULL, *deps = NULL;
        for (int i = 0; i < sc->ntables; i++) {
            const ts_table *t = &sc->tables[i];
            if (g->comp[i] != c)
                continue;
            const char *key = key_of(t);
            const ts_table *decl = ts_schema_table(ts_schema_declared(), t->name);
            if (decl != NULL && ts_schema_table(ts_schema_new(), t->name) == NULL) {
                cJSON_AddStringToObject(ignored, t->name, "tenantshift declares a new table of "
                                        "another shape for it: map it as the built-in manifest "
                                        "does, or keep it here");
                continue;
            }
            if (key == NULL) {
                cJSON_AddStringToObject(ignored, t->name, "no primary key and no unique key of "
                                        "NOT NULL columns, so its rows cannot be found: give it a "
                                        "primary key and draft again");
                continue;
            }
            if (inc == NULL) {
                snprintf(ids[c], sizeof ids[c], "2.%d", ++made);
                inc = cJSON_CreateObject();
                cJSON_AddStringToObject(inc, "id", ids[c]);
                cJSON_AddItemToObject(inc, "name", inc_name(t->name));
                cJSON_AddStringToObject(inc, "kind", "data");
                deps = cJSON_AddArrayToObject(inc, "depends");
                cJSON_AddItemToArray(deps, cJSON_CreateString("1.1"));
                tables = cJSON_AddArrayToObject(inc, "tables");
            }
            cJSON *tm = cJSON_CreateObject();
            cJSON_AddStringToObject(tm, "legacy", t->name);
            cJSON_AddStringToObject(tm, "new", t->name);
            cJSON_AddItemToObject(tm, "key", key_array(key));
            cJSON_AddItemToArray(tables, tm);
            for (int f = 0; f < t->nfks; f++) {
                int r = table_at(sc, t->fks[f].table);
                if (r < 0 || g->comp[r] == c || ids[g->comp[r]][0] == '\0')
                    continue;
                int seen = 0;
                for (cJSON *d = deps->child; d; d = d->next)
                    seen |= strcmp(d->valuestring, ids[g->comp[r]]) == 0;
                if (!seen)
                    cJSON_AddItemToArray(deps, cJSON_CreateString(ids[g->comp[r]]));
            }
        }
        if (inc)
            cJSON_AddItemToArray(incs, inc);
    }
    free(ids);
    cJSON_AddItemToObject(root, "increments", incs);
    cJSON_AddItemToObject(root, "ignored", ignored);
    return root;
}

int ts_mdraft_run(const char *legacy_url, FILE *out, ts_error *err)
{
    ts_store *s = NULL;
    ts_schema *live = NULL;
    graph g = {0};
    int rc = -1;
    if (legacy_url == NULL)
        return ts_fail(err, TS_E_USAGE, "manifest draft reads the legacy store: --legacy URL, "
                       "TS_LEGACY_URL or --config FILE");
    if (ts_store_open(legacy_url, &s, err) || ts_catalog_read(s, "legacy", &live, err))
        goto out;
    g.sc = live;
    g.n = live->ntables;
    g.comp = malloc(((size_t)g.n + 1) * sizeof *g.comp);
    g.index = malloc(((size_t)g.n + 1) * sizeof *g.index);
    g.low = malloc(((size_t)g.n + 1) * sizeof *g.low);
    g.stack = malloc(((size_t)g.n + 1) * sizeof *g.stack);
    g.on = calloc((size_t)g.n + 1, 1);
    if (!g.comp || !g.index || !g.low || !g.stack || !g.on) {
        ts_fail(err, TS_E_NOMEM, "out of memory drafting the manifest");
        goto out;
    }
    for (int i = 0; i < g.n; i++)
        g.comp[i] = g.index[i] = -1;
    for (int i = 0; i < g.n; i++)
        if (g.index[i] < 0 && strncmp(live->tables[i].name, "_retired_", 9) != 0)
            strong(&g, i);
    cJSON *doc = draft(live, &g);
    char *text = doc ? cJSON_Print(doc) : NULL;
    cJSON_Delete(doc);
    if (text == NULL) {
        ts_fail(err, TS_E_NOMEM, "out of memory drafting the manifest");
        goto out;
    }
    fprintf(out, "%s\n", text);
    free(text);
    rc = 0;
out:
    free(g.comp);
    free(g.index);
    free(g.low);
    free(g.stack);
    free(g.on);
    ts_schema_free(live);
    ts_store_close(s);
    return rc;
}
