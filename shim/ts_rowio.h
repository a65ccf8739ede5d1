/* ts_rowio.h: rows of a schema table in and out of a store, by primary key. Not installed. */
#ifndef TS_ROWIO_H
#define TS_ROWIO_H

#include "ts_buf.h"
#include "ts_error.h"
#include "ts_schema.h"
#include "ts_store.h"
#include "ts_value.h"

/* Upsert a full row image into table t of store s on its key
   (ts_rowio_row_key), with the columns whose include[] is set (NULL: all). */
int ts_rowio_upsert(ts_store *s, const ts_table *t, const ts_value *row, const int *include,
                    ts_error *err);
/* Delete the row of table t whose key columns (keycols) equal row's. */
int ts_rowio_delete(ts_store *s, const ts_table *t, const int *keycols, int nkey,
                    const ts_value *row, ts_error *err);
/* Read the row of t whose keycols equal key (values in keycols order) into a
   copy owned by *out (free with ts_rowio_free); returns 1 found, 0 not, -1. */
int ts_rowio_get(ts_store *s, const ts_table *t, const int *keycols, int nkey,
                 const ts_value *key, int lock, ts_value **out, ts_error *err);
void ts_rowio_free(ts_value *row, int n);
/* Deep copy of n values (text and blobs duplicated). */
ts_value *ts_rowio_copy(const ts_value *row, int n);
/* The "SELECT c1, c2, ..." column list of t, quoted. */
void ts_rowio_columns(ts_buf *b, const ts_table *t);
/* The index of the primary key columns of t (ts_table.pk), count in *n. */
int ts_rowio_pk(const ts_table *t, int *cols, int *n);
/* The key a row with the columns include[] (NULL: all) is found by: the
   primary key, else the first unique key all of whose columns it has (a
   legacy table's generated id a mapping does not carry, as system_settings.id
   with the rows keyed by key). -1 when it has none. */
int ts_rowio_row_key(const ts_table *t, const int *include, int *cols, int *n);

#endif
