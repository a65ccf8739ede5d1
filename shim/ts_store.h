/*
 * ts_store.h: one interface over SQLite and PostgreSQL.
 *
 * A store is a URL:
 *     sqlite:PATH            a database file (created when missing)
 *     sqlite::memory:        a private in-memory database
 *     postgresql://...       libpq conninfo URI; postgres:// works too
 *     ...?schema=NAME        PostgreSQL only: the store's tables live in schema NAME
 *
 * A store is a namespace on a connection. Two stores that name the same database
 * (PostgreSQL: same server and database, different schemas; SQLite: two files, the
 * second ATTACHed to the first) can share one connection, which is what lets the
 * shim dual-write both in ONE transaction. ts_store_open_beside() does that.
 *
 * SQL is written once for both engines with $1, $2, ... placeholders and table
 * names produced by ts_store_table() (schema-qualified and quoted). Only bound
 * parameters carry values; only validated identifiers are spliced into SQL.
 *
 * Results are iterated row by row and never buffered whole: PostgreSQL queries
 * run in single-row mode, so while a ts_rows is open its connection serves no
 * other statement. Close it (or read it to the end) first.
 */
#ifndef TS_STORE_H
#define TS_STORE_H

#include <stdint.h>

#include "ts_buf.h"
#include "ts_error.h"
#include "ts_value.h"

typedef enum ts_engine { TS_ENGINE_SQLITE = 1, TS_ENGINE_PG = 2 } ts_engine;

typedef struct ts_store ts_store;
typedef struct ts_rows ts_rows;
typedef struct ts_bulk ts_bulk;

/* Longest identifier accepted (PostgreSQL's NAMEDATALEN - 1). */
#define TS_IDENT_MAX 63
/* Buffer size that always holds a quoted, schema-qualified table name. */
#define TS_QNAME_MAX (2 * (2 * TS_IDENT_MAX + 2) + 2)

int ts_store_open(const char *url, ts_store **out, ts_error *err);
/* Check a store URL's syntax without opening it: 0, or -1 with ts_store_open's
   error for it (TS_E_INVALID, TS_E_USAGE when empty); err may be NULL. */
int ts_store_url_check(const char *url, ts_error *err);

/*
 * Open url sharing base's connection when both name the same database and the
 * engine can make one transaction span both (PostgreSQL: always; SQLite: when
 * both files use a rollback journal, not WAL); otherwise open it on its own
 * connection. ts_store_shares_txn() tells which happened.
 */
int ts_store_open_beside(ts_store *base, const char *url, ts_store **out, ts_error *err);
int ts_store_shares_txn(const ts_store *a, const ts_store *b);

void ts_store_close(ts_store *s);

ts_engine ts_store_engine(const ts_store *s);
const char *ts_store_engine_name(const ts_store *s);
/* The server's version number: PostgreSQL's server_version_num (150004),
   SQLite's library version (3040001). */
int ts_store_server_version(const ts_store *s);
/* The URL with any password masked: safe for logs and reports. */
const char *ts_store_url(const ts_store *s);
/* Any URL (of a store not opened) masked the same way into out[n]; returns out. */
const char *ts_url_mask(const char *url, char *out, size_t n);
/* Schema for PostgreSQL (default "public"), attached alias or "main" for SQLite. */
const char *ts_store_schema(const ts_store *s);

/* 1 when name is a plain identifier: [A-Za-z_][A-Za-z0-9_]*, at most TS_IDENT_MAX. */
int ts_ident_valid(const char *name);
/* Write the quoted, schema-qualified name of table into out[TS_QNAME_MAX]. */
int ts_store_table(const ts_store *s, const char *table, char *out, ts_error *err);
/* The SQL text fmt with the quoted, schema-qualified name of table at its one
   %s, into sql (emptied first): 0, or -1 (a bad name, out of memory). */
int ts_store_sql(const ts_store *s, const char *table, const char *fmt, ts_buf *sql,
                 ts_error *err);
/* ts_store_exec and ts_store_query_int of the statement ts_store_sql makes. */
int ts_store_exec_sql(ts_store *s, const char *table, const char *fmt, const ts_value *params,
                      int nparams, int64_t *changes, ts_error *err);
int ts_store_query_int_sql(ts_store *s, const char *table, const char *fmt,
                           const ts_value *params, int nparams, int64_t *out, ts_error *err);
/* Write the quoted name of the connection's temporary table `table` into
   out[TS_QNAME_MAX]: "pg_temp"."table" on PostgreSQL, "temp"."table" on SQLite.
   It lives as long as the connection (session), seen by no other. */
int ts_store_temp_table(const ts_store *s, const char *table, char *out, ts_error *err);
/* Write "name" (double quotes, validated) into out, which holds TS_IDENT_MAX + 3. */
int ts_quote_ident(const char *name, char *out, ts_error *err);

/* Run one statement with parameters; *changes (may be NULL) gets the rows it changed. */
int ts_store_exec(ts_store *s, const char *sql, const ts_value *params, int nparams,
                  int64_t *changes, ts_error *err);
/* Run a script of several statements without parameters (DDL). */
int ts_store_script(ts_store *s, const char *sql, ts_error *err);

/* Start a query; iterate with ts_rows_next. */
int ts_store_query(ts_store *s, const char *sql, const ts_value *params, int nparams,
                   ts_rows **out, ts_error *err);
/*
 * Start a query without waiting for it: on PostgreSQL the statement is sent
 * and the server works on it while the caller uses another connection; a bad
 * statement then fails at the first ts_rows_next, and the columns are known
 * from there. Elsewhere the same as ts_store_query.
 */
int ts_store_query_deferred(ts_store *s, const char *sql, const ts_value *params, int nparams,
                            ts_rows **out, ts_error *err);
/* 1: a row is ready; 0: no more rows; -1: error (err set). */
int ts_rows_next(ts_rows *r, ts_error *err);
int ts_rows_ncols(const ts_rows *r);
const char *ts_rows_name(const ts_rows *r, int col);
/* The value of col in the current row: valid until the next ts_rows_next or close. */
ts_value ts_rows_get(const ts_rows *r, int col);
void ts_rows_close(ts_rows *r);

/*
 * Run a query expected to return at most one row and copy its first column.
 * Returns 1 when a row came back, 0 when none; text is copied into buf.
 */
int ts_store_query_int(ts_store *s, const char *sql, const ts_value *params, int nparams,
                       int64_t *out, ts_error *err);
int ts_store_query_text(ts_store *s, const char *sql, const ts_value *params, int nparams,
                        char *buf, size_t bufsize, ts_error *err);

/*
 * Run fn in the caller's open transaction, or in one of its own that commits
 * when fn returns 0 and rolls back otherwise.
 */
int ts_store_atomically(ts_store *s, int (*fn)(ts_store *s, void *arg, ts_error *err), void *arg,
                        ts_error *err);

/* Transactions. begin fails when one is open; savepoints nest inside. */
int ts_store_begin(ts_store *s, ts_error *err);
int ts_store_commit(ts_store *s, ts_error *err);
int ts_store_rollback(ts_store *s, ts_error *err);
/*
 * Open read-only transactions on a and b (two connections) that see one
 * moment of both where the engines allow it, *consistent then 1: two SQLite
 * files with rollback journals (a's read lock is taken first and held, and a
 * writer of both files cannot commit without it), or two PostgreSQL
 * connections to one database (b imports a's exported snapshot). Otherwise
 * (WAL, two servers, mixed engines) each sees its own latest state. End both
 * with ts_store_rollback. A SQLite writer of both files waits while they are
 * open: keep them short.
 */
int ts_store_read_together(ts_store *a, ts_store *b, int *consistent, ts_error *err);
/*
 * Run one last statement of the open transaction and commit it: on PostgreSQL
 * both go out together (pipeline mode), so the statement costs no round trip
 * of its own. On failure of either, nothing of the transaction is committed
 * and it is over.
 */
int ts_store_exec_commit(ts_store *s, const char *sql, const ts_value *params, int nparams,
                         ts_error *err);
int ts_store_in_txn(const ts_store *s);
int ts_store_savepoint(ts_store *s, const char *name, ts_error *err);
int ts_store_release(ts_store *s, const char *name, ts_error *err);
int ts_store_rollback_to(ts_store *s, const char *name, ts_error *err);

/*
 * Bulk load rows into table (unqualified name; the store's schema applies):
 * COPY FROM STDIN on PostgreSQL, one prepared INSERT on SQLite. Runs inside the
 * caller's transaction when one is open, otherwise in its own, committed by
 * ts_bulk_finish. ts_bulk_abort discards what was not committed.
 */
int ts_bulk_begin(ts_store *s, const char *table, const char *const *cols, int ncols,
                  ts_bulk **out, ts_error *err);
/* The same into a temporary table of the connection (see ts_store_temp_table). */
int ts_bulk_begin_temp(ts_store *s, const char *table, const char *const *cols, int ncols,
                       ts_bulk **out, ts_error *err);
int ts_bulk_add(ts_bulk *b, const ts_value *row, ts_error *err);
int ts_bulk_finish(ts_bulk *b, ts_error *err);
void ts_bulk_abort(ts_bulk *b);

/* 1 when table exists in the store's schema. */
int ts_store_table_exists(ts_store *s, const char *table, int *exists, ts_error *err);

/*
 * Sequences for tables whose id the application assigns (tables with a
 * composite primary key). PostgreSQL: the column's identity sequence;
 * SQLite: a row in ts_sequences (legacy tables: sqlite_sequence).
 * next_id takes the next value; id_floor raises the sequence so the next value
 * is above floor (never lowers it).
 */
int ts_store_next_id(ts_store *s, const char *table, int64_t *id, ts_error *err);
int ts_store_id_floor(ts_store *s, const char *table, int64_t floor, ts_error *err);

/*
 * Bound the run time of the following statements to ms milliseconds (0 lifts
 * the bound); a statement over it fails with TS_E_BUSY. Must be called inside
 * a transaction: on PostgreSQL the bound ends with it (statement_timeout,
 * transaction-local), on SQLite it lasts until lifted (a progress handler).
 */
int ts_store_statement_timeout(ts_store *s, int ms, ts_error *err);

/*
 * Change notifications (PostgreSQL LISTEN/NOTIFY; on SQLite these do nothing
 * and callers rely on polling). ts_store_notify sends one on commit of the
 * current transaction; ts_store_notified counts what arrived since the last
 * call without waiting.
 */
int ts_store_listen(ts_store *s, const char *channel, ts_error *err);
int ts_store_notify(ts_store *s, const char *channel, const char *payload, ts_error *err);
int ts_store_notified(ts_store *s, int *n, ts_error *err);

/*
 * 0 when the store's connection is up as far as is known without a round trip.
 * A connection the server dropped is opened again by the next statement run
 * outside a transaction (with its session settings; attempts back off up to
 * a second); this tries that now. -1 (TS_E_CONN) while the server is down.
 */
int ts_store_check(ts_store *s, ts_error *err);

/*
 * How many times the store's connection was found lost so far (a statement
 * failed with TS_E_CONN, or a dropped connection was noticed before one). Only
 * its changes mean something: a unit of work that failed while it changed may
 * have failed because of the loss, whatever its error says.
 */
unsigned long ts_store_losses(const ts_store *s);

#endif
