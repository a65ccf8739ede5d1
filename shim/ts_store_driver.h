/*
 * ts_store_driver.h: what an engine driver implements (internal to shim/).
 *
 * ts_store.c parses URLs, owns the store namespaces, validates identifiers and
 * tracks transaction state; a driver owns one connection and speaks its engine.
 * Several stores may point at one ts_conn (reference counted).
 */
#ifndef TS_STORE_DRIVER_H
#define TS_STORE_DRIVER_H

#include "ts_store.h"

typedef struct ts_conn ts_conn;
typedef struct ts_driver ts_driver;

/* A parsed store URL. */
typedef struct ts_url {
    ts_engine engine;
    char *target;   /* SQLite: file path or ":memory:"; PostgreSQL: conninfo without schema= */
    char *schema;   /* NULL when not given */
    char *display;  /* URL with the password masked */
} ts_url;

int ts_url_parse(const char *url, ts_url *out, ts_error *err);
void ts_url_free(ts_url *u);

struct ts_conn {
    const ts_driver *drv;
    int refs;
    int in_txn;
    ts_rows *open_rows;  /* PostgreSQL: the query holding the connection */
    unsigned long lost;  /* times the driver found the connection lost (ts_store_losses) */
};

struct ts_store {
    ts_conn *conn;
    ts_url url;
    char *schema;   /* namespace used to qualify names: PG schema or SQLite db alias */
};

struct ts_rows {
    ts_store *store;
};

struct ts_bulk {
    ts_store *store;
    int ncols;
    int own_txn;    /* bulk began the transaction and commits it */
};

struct ts_driver {
    const char *name;
    ts_engine engine;
    int (*open)(const ts_url *url, ts_conn **out, ts_error *err);
    void (*close)(ts_conn *c);
    /* Prepare the namespace of a store opened on c (PG: create schema if missing and
       set search_path for standalone use; SQLite: ATTACH). */
    int (*attach)(ts_conn *c, ts_store *s, int shared, ts_error *err);
    /* Same database? Decides whether open_beside shares the connection. */
    int (*same_database)(ts_conn *c, const ts_url *base, const ts_url *other);
    int (*exec)(ts_conn *c, const char *sql, const ts_value *p, int np, int64_t *changes,
                ts_error *err);
    int (*script)(ts_conn *c, const char *sql, ts_error *err);
    /* Run sql, then COMMIT the open transaction, in one round trip. NULL: the
       engine has no round trips to save (ts_store.c runs the two in turn). */
    int (*exec_commit)(ts_conn *c, const char *sql, const ts_value *p, int np, ts_error *err);
    int (*query)(ts_conn *c, ts_store *s, const char *sql, const ts_value *p, int np,
                 ts_rows **out, ts_error *err);
    /* Send the query and return: its first result is waited for by the first
       next. NULL: ts_store.c runs it as query does. */
    int (*query_deferred)(ts_conn *c, ts_store *s, const char *sql, const ts_value *p, int np,
                          ts_rows **out, ts_error *err);
    int (*next)(ts_rows *r, ts_error *err);
    int (*ncols)(const ts_rows *r);
    const char *(*colname)(const ts_rows *r, int col);
    ts_value (*get)(const ts_rows *r, int col);
    void (*rows_close)(ts_rows *r);
    int (*bulk_begin)(ts_conn *c, ts_store *s, const char *qtable, const char *const *cols,
                      int ncols, ts_bulk **out, ts_error *err);
    int (*bulk_add)(ts_bulk *b, const ts_value *row, ts_error *err);
    int (*bulk_finish)(ts_bulk *b, ts_error *err);  /* frees b on success and failure */
    void (*bulk_abort)(ts_bulk *b);                   /* frees b */
    int (*table_exists)(ts_conn *c, const ts_store *s, const char *table, int *exists,
                        ts_error *err);
    int (*next_id)(ts_conn *c, const ts_store *s, const char *table, int64_t *id,
                   ts_error *err);
    int (*id_floor)(ts_conn *c, const ts_store *s, const char *table, int64_t floor,
                    ts_error *err);
    /* The server's version (PostgreSQL: server_version_num; SQLite: the library's). */
    int (*server_version)(ts_conn *c);
    /* Bound every later statement of the current transaction to ms (0: no bound). */
    int (*statement_timeout)(ts_conn *c, int ms, ts_error *err);
    /* Subscribe to a notification channel; take pending notifications (count in *n).
       NULL on engines without notifications. */
    int (*listen)(ts_conn *c, const char *channel, ts_error *err);
    int (*notified)(ts_conn *c, int *n, ts_error *err);
    /* See ts_store_check. NULL: the connection cannot be lost (SQLite). */
    int (*check)(ts_conn *c, ts_error *err);
};

extern const ts_driver ts_driver_sqlite;
extern const ts_driver ts_driver_pg;

#endif
