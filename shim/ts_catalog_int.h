/*
 * ts_catalog_int.h: what the two catalog readers (ts_catalog_pg.c,
 * ts_catalog_sqlite.c) share: a builder that collects tables piece by piece
 * and turns them into a ts_schema, and the problem list of things that
 * cannot be carried. Not installed.
 */
#ifndef TS_CATALOG_INT_H
#define TS_CATALOG_INT_H

#include "ts_catalog.h"
#include "ts_problems.h"

/* A table being collected. Strings live in the builder's arena. */
typedef struct cat_table {
    char *name;
    ts_column *cols;
    int ncols, capcols;
    char *pk;                  /* comma-separated, or NULL */
    ts_fk *fks;
    int nfks, capfks;
    ts_index *idx;
    int nidx, capidx;
    const char **checks, **check_names;
    int nchecks, capchecks, capnames;   /* two arrays grow apart: one capacity each */
    int oid;                   /* PostgreSQL: pg_class oid, to group catalog rows */
} cat_table;

typedef struct cat_builder {
    ts_engine engine;
    ts_arena arena;            /* becomes the schema's */
    cat_table *t;
    int n, cap;
    ts_problems problems;      /* what cannot be carried, all of it */
    int oom;
} cat_builder;

/* A copy in the builder's arena. */
char *cat_str(cat_builder *b, const char *s, size_t len);
/* Add a table; NULL on out of memory (b->oom). */
cat_table *cat_add_table(cat_builder *b, const char *name, size_t len);
cat_table *cat_find(cat_builder *b, const char *name);
int cat_add_column(cat_builder *b, cat_table *t, const ts_column *c);
int cat_add_fk(cat_builder *b, cat_table *t, const ts_fk *fk);
int cat_add_index(cat_builder *b, cat_table *t, const ts_index *ix);
int cat_add_check(cat_builder *b, cat_table *t, const char *name, const char *expr);

/* Order, check and hand over the schema (or fail with every problem);
   frees the builder either way. */
int cat_finish(cat_builder *b, const char *name, ts_schema **out, ts_error *err);
void cat_abort(cat_builder *b);

int ts_catalog_read_pg(ts_store *s, cat_builder *b, ts_error *err);
int ts_catalog_read_sqlite(ts_store *s, cat_builder *b, ts_error *err);
int ts_catalog_fingerprint_pg(ts_store *s, char out[80], ts_error *err);
int ts_catalog_fingerprint_sqlite(ts_store *s, char out[80], ts_error *err);

#endif
