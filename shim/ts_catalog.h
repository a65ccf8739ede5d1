/*
 * ts_catalog.h: a live store's tables, as its engine describes them.
 *
 * The legacy database is never described in tenantshift's code: every
 * program reads it from the store's own catalog when it starts (PostgreSQL's
 * pg_catalog; SQLite's PRAGMA table_xinfo, index_list, index_xinfo,
 * foreign_key_list and the CREATE statements for CHECKs and constraint
 * names). What comes back is exact: types as the engine spells them, NOT
 * NULL, defaults, primary keys, unique constraints and unique indexes
 * (partial ones too), foreign keys with their actions and deferrability,
 * CHECKs, other indexes, identity and serial columns, enum and domain types.
 *
 * What tenantshift cannot carry faithfully is refused with every instance
 * named (a table or column name that is no plain identifier, a column
 * without a type in SQLite, a generated column, a foreign key into another
 * schema, an expression index in SQLite), never silently skipped.
 */
#ifndef TS_CATALOG_H
#define TS_CATALOG_H

#include "ts_error.h"
#include "ts_schema.h"
#include "ts_store.h"

/*
 * Every table of the store's namespace except tenantshift's own
 * (ts_schema_is_own), ordered so that a table comes after the tables it
 * references (cycles and self references aside), ties by name. *out is
 * named name and freed with ts_schema_free.
 */
int ts_catalog_read(ts_store *s, const char *name, ts_schema **out, ts_error *err);

/*
 * A short text that changes whenever the namespace's tables change (a
 * column added, a type altered, an index dropped), cheap enough to ask every
 * few seconds: SQLite's schema_version, a digest of PostgreSQL's catalog rows
 * for the namespace. out holds 80 bytes.
 */
int ts_catalog_fingerprint(ts_store *s, char out[80], ts_error *err);

#endif
