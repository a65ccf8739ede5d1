/*
 * ts_schema.h: the three schemas tenantshift knows, declared once as data.
 *
 *   legacy   the single-tenant bot's tables (reference.md), no bot_id
 *   new      the multi-tenant tables: the seven of increment 1.1 and a bot_id
 *            version of every legacy tenant table; every PK and unique of a
 *            tenant table includes bot_id, every FK between tenant tables too
 *   control  tenantshift's control plane, kept in the new store
 *   journal  the drift/change journal, in both stores (it lives in whichever
 *            store is primary, inside the primary's transaction)
 *
 * The declarations render to DDL for SQLite and PostgreSQL, and they are what
 * the manifest loader validates table and column names against, what the
 * generator fills and what verify's invariant checks compare the catalog with.
 */
#ifndef TS_SCHEMA_H
#define TS_SCHEMA_H

#include "ts_buf.h"
#include "ts_store.h"

typedef enum ts_coltype {
    TS_COL_ID,      /* int64 row id: generated in legacy tables, application-assigned
                       (sequence) in tables with a composite key */
    TS_COL_INT,     /* int64 */
    TS_COL_DOUBLE,
    TS_COL_TEXT,
    TS_COL_BOOL,
    TS_COL_TIME,    /* timestamptz / canonical ISO-8601 text */
    TS_COL_JSON     /* json text, kept byte for byte */
} ts_coltype;

typedef struct ts_column {
    const char *name;
    ts_coltype type;
    int notnull;
    int maxlen;           /* characters, 0 = unlimited; enforced by a CHECK on both engines */
    const char *dflt;     /* SQL literal valid on both engines, or NULL */
    const char *check;    /* extra CHECK expression on this column, or NULL */
} ts_column;

typedef struct ts_fk {
    const char *cols;      /* comma-separated, e.g. "bot_id, user_id" */
    const char *table;     /* referenced table, same schema */
    const char *ref_cols;
    const char *on_delete; /* "CASCADE", "SET NULL" or NULL (no action) */
    int deferred;          /* DEFERRABLE INITIALLY DEFERRED (self references, cycles) */
} ts_fk;

typedef struct ts_table {
    const char *name;
    const ts_column *cols;
    int ncols;
    const char *pk;                 /* comma-separated key columns */
    const char *const *uniques;     /* NULL-terminated list of comma-separated column lists */
    const ts_fk *fks;
    int nfks;
    int tenant;                     /* owned by a bot: carries bot_id (new schema) */
} ts_table;

typedef struct ts_schema {
    const char *name;   /* "legacy", "new", "control" */
    int version;        /* recorded in ts_schema_version when applied */
    const ts_table *tables;
    int ntables;
} ts_schema;

/* The schemas; the new one is derived on first use (thread-safe). */
const ts_schema *ts_schema_legacy(void);
const ts_schema *ts_schema_new(void);
const ts_schema *ts_schema_control(void);   /* control plane, new store */
const ts_schema *ts_schema_journal(void);   /* ts_journal, in both stores */

const ts_table *ts_schema_table(const ts_schema *sc, const char *name);
const ts_column *ts_table_column(const ts_table *t, const char *name);
int ts_table_column_index(const ts_table *t, const char *name);

/*
 * Create the schema's tables in the store when missing and record
 * (name, version) in ts_schema_version, in one transaction. Applying the same
 * version again changes nothing; a store recorded at a newer version is refused.
 */
int ts_schema_apply(ts_store *s, const ts_schema *sc, ts_error *err);

/* The version recorded for sc in the store, 0 when never applied. */
int ts_schema_applied_version(ts_store *s, const ts_schema *sc, int *version, ts_error *err);

/*
 * Part of a schema, for migrations that create tables increment by increment:
 * create the named tables of sc when missing (in schema order, so references
 * resolve), or drop them (referencing tables first). In the caller's
 * transaction when one is open, else in one of their own. Nothing is recorded
 * in ts_schema_version: a schema applied in parts is at no version, and a
 * later ts_schema_apply creates whatever is still missing.
 */
int ts_schema_apply_tables(ts_store *s, const ts_schema *sc, const char *const *names, int n,
                           ts_error *err);
int ts_schema_drop_tables(ts_store *s, const ts_schema *sc, const char *const *names, int n,
                          ts_error *err);
/* The statements the two above run on store s (malloc'd; for --dry-run). */
int ts_schema_tables_ddl(const ts_schema *sc, const char *const *names, int n, int drop,
                         ts_store *s, char **out, ts_error *err);

/* Append the names of a declared comma-separated column list ("bot_id, id"),
   each double-quoted ("bot_id", "id"). */
void ts_schema_quote_list(ts_buf *b, const char *cols);
/* Take the next name of a comma-separated column list at *p into name
   (spaces trimmed) and move *p past it: 1 when one was taken; 0 at the end
   of the list or when the name does not fit in size. */
int ts_schema_list_next(const char **p, char *name, size_t size);
/* The columns of foreign key fk of table t, as indexes into t (cols) and
   into the referenced table rt (refs), at most max; -1 when a name is not a
   column of its table or the key is wider than max. */
int ts_schema_fk_columns(const ts_table *t, const ts_fk *fk, const ts_table *rt, int *cols,
                         int *refs, int max, int *n);

/* The CREATE statements for one engine (malloc'd; for --dry-run and docs). */
int ts_schema_ddl(const ts_schema *sc, ts_engine engine, char **out, ts_error *err);

#endif
