/*
 * ts_typemap.h: what a declared column type means, per engine, and how a
 * SQLite definition is spelled in PostgreSQL.
 *
 * SQLite accepts any type name and keeps only an affinity; the names the
 * application declared (SQLAlchemy writes VARCHAR(255), DATETIME, BOOLEAN,
 * JSON, FLOAT) are what says what a column holds. PostgreSQL names are read
 * from format_type() and are already exact. The cross-engine map gives a
 * SQLite column the PostgreSQL type the same application would have declared
 * there (the table in docs/architecture.md), so values keep their meaning:
 * INTEGER stays integer (a SQLite value beyond it is refused by the new store,
 * row named), DATETIME becomes timestamp without time zone, CHAR(n) becomes
 * varchar(n) (PostgreSQL would pad it).
 */
#ifndef TS_TYPEMAP_H
#define TS_TYPEMAP_H

#include <stddef.h>

#include "ts_error.h"
#include "ts_schema.h"

/* A SQLite declared type: its class, its length bound (VARCHAR(n)), and the
   PostgreSQL type it maps to (into pg[size]). Fails for a column declared
   without any type, whose values may be of any kind. */
int ts_typemap_sqlite(const char *decl, ts_coltype *type, int *maxlen, char *pg, size_t size,
                      ts_error *err);

/* The class and length bound of a PostgreSQL type as format_type() prints it
   ("character varying(255)", "timestamp without time zone", "integer[]");
   typtype and category are pg_type's typtype and typcategory of the
   column's type (for enums, domains, arrays). */
void ts_typemap_pg(const char *formatted, char typtype, char category, ts_coltype *type,
                   int *maxlen);

/* A SQLite DEFAULT expression as PostgreSQL SQL for a column of class type
   (literals, NULL and CURRENT_TIMESTAMP / _DATE / _TIME; booleans 0/1 become
   false/true), into out[size]. Fails for anything else: say which column. */
int ts_typemap_sqlite_default(const char *dflt, ts_coltype type, char *out, size_t size,
                              ts_error *err);

#endif
