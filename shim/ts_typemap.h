/*
 * ts_typemap.h: what a declared column type holds, per engine.
 *
 * SQLite accepts any type name and keeps only an affinity; the names the
 * application declared (SQLAlchemy writes VARCHAR(255), DATETIME, BOOLEAN,
 * JSON, FLOAT) are what says what a column holds. PostgreSQL names are read
 * from format_type() and are already exact. The class is what ts_conform
 * compares with the kind of value the manifest carries.
 */
#ifndef TS_TYPEMAP_H
#define TS_TYPEMAP_H

#include "ts_error.h"
#include "ts_schema.h"

/* A SQLite declared type: its class and its length bound (VARCHAR(n)). Fails
   for a column declared without any type, whose values may be of any kind. */
int ts_typemap_sqlite(const char *decl, ts_coltype *type, int *maxlen, ts_error *err);

/* The class and length bound of a PostgreSQL type as format_type() prints it
   ("character varying(255)", "timestamp without time zone", "integer[]");
   typtype and category are pg_type's typtype and typcategory of the
   column's type (for enums, domains, arrays). */
void ts_typemap_pg(const char *formatted, char typtype, char category, ts_coltype *type,
                   int *maxlen);

#endif
