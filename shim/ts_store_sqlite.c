/*
 * ts_store_sqlite.c: the SQLite driver.
 *
 * Parameters are written $1, $2, ... as for PostgreSQL; SQLite treats "$1" as a
 * named parameter, so values are bound by name, which keeps reuse and any order
 * of placeholders correct. Booleans are stored as 0/1 in BOOLEAN columns.
 * Timestamps are stored as the text SQLAlchemy writes and reads on SQLite
 * ("2024-01-31 12:00:00.000000", UTC, no zone): the bot whose database this is
 * cannot parse ISO "T...Z" text, and would fail on every row tenantshift wrote.
 * Read back, TIMESTAMP columns come canonical (ts_time_canon), as from
 * PostgreSQL; the declared column type tells the reader which ts_type to hand
 * back.
 */
#include "ts_clock.h"
#include "ts_store_driver.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct sq_conn {
    ts_conn base;
    sqlite3 *db;
    char *path;
    int attached;   /* counter for ATTACH aliases */
    int64_t deadline_ms;  /* statements past it are interrupted; 0 = none */
} sq_conn;

typedef struct sq_rows {
    ts_rows base;
    sqlite3_stmt *stmt;
    int ncols;
    int done;       /* stepped to the end: sqlite3_step would start over */
    ts_type *decl;  /* per column: TS_BOOL, TS_TIME or TS_NULL (use the storage class) */
    char (*times)[TS_TIME_MAX];   /* per column: the current row's canonical timestamp */
} sq_rows;

typedef struct sq_bulk {
    ts_bulk base;
    sqlite3_stmt *stmt;
    int ncols;
} sq_bulk;

static sq_conn *SQ(ts_conn *c) { return (sq_conn *)c; }

static ts_code code_for(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_CONSTRAINT: return TS_E_CONSTRAINT;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_INTERRUPT: return TS_E_BUSY;
    case SQLITE_CANTOPEN:
    case SQLITE_NOTADB: return TS_E_CONN;
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_READONLY: return TS_E_IO;
    case SQLITE_NOMEM: return TS_E_NOMEM;
    case SQLITE_TOOBIG:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE: return TS_E_INVALID;
    default: return TS_E_STORE;
    }
}

static int fail_db(sqlite3 *db, int rc, const char *sql, ts_error *err)
{
    int ext = db ? sqlite3_extended_errcode(db) : rc;
    ts_fail(err, code_for(rc), "sqlite: %s (code %d) in: %.120s%s",
            db ? sqlite3_errmsg(db) : sqlite3_errstr(rc), ext, sql ? sql : "",
            sql && strlen(sql) > 120 ? "..." : "");
    if (err)
        err->engine_code = ext;
    return -1;
}

static int sq_open(const ts_url *url, ts_conn **out, ts_error *err)
{
    sq_conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return ts_fail(err, TS_E_NOMEM, "out of memory opening SQLite");
    int rc = sqlite3_open_v2(url->target, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        fail_db(c->db, rc, NULL, err);
        ts_error_context(err, "cannot open SQLite file '%s' (check the path and permissions)",
                         url->target);
        sqlite3_close(c->db);
        free(c);
        return -1;
    }
    c->path = strdup(url->target);
    c->base.drv = &ts_driver_sqlite;
    sqlite3_busy_timeout(c->db, 5000);
    sqlite3_extended_result_codes(c->db, 1);
    /* A double-quoted name that is no column must be an error, never the string
       literal SQLite would otherwise take it for ("email" read as 'email'). */
    sqlite3_db_config(c->db, SQLITE_DBCONFIG_DQS_DML, 0, (int *)NULL);
    sqlite3_db_config(c->db, SQLITE_DBCONFIG_DQS_DDL, 0, (int *)NULL);
    /* Foreign keys are off by default in SQLite; the schemas rely on them. */
    rc = sqlite3_exec(c->db, "PRAGMA foreign_keys=ON", NULL, NULL, NULL);
    if (rc != SQLITE_OK || c->path == NULL) {
        fail_db(c->db, rc, "PRAGMA foreign_keys=ON", err);
        sqlite3_close(c->db);
        free(c->path);
        free(c);
        return -1;
    }
    *out = &c->base;
    return 0;
}

static void sq_close(ts_conn *c)
{
    sqlite3_close(SQ(c)->db);
    free(SQ(c)->path);
    free(c);
}

static int sq_attach(ts_conn *c, ts_store *s, int shared, ts_error *err)
{
    char alias[32], sql[96];
    sqlite3_stmt *st;
    if (!shared) {
        s->schema = strdup("main");
        return s->schema ? 0 : ts_fail(err, TS_E_NOMEM, "out of memory");
    }
    snprintf(alias, sizeof alias, "ts_db%d", ++SQ(c)->attached);
    snprintf(sql, sizeof sql, "ATTACH DATABASE $1 AS \"%s\"", alias);
    int rc = sqlite3_prepare_v2(SQ(c)->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, s->url.target, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
    }
    if (rc != SQLITE_DONE && rc != SQLITE_OK)
        return fail_db(SQ(c)->db, rc, sql, err);
    s->schema = strdup(alias);
    return s->schema ? 0 : ts_fail(err, TS_E_NOMEM, "out of memory");
}

/* journal_mode of an open connection's main database, or of a file. */
static int is_wal(sqlite3 *db)
{
    sqlite3_stmt *st;
    int wal = 0;
    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            wal = sqlite3_stricmp((const char *)sqlite3_column_text(st, 0), "wal") == 0;
        sqlite3_finalize(st);
    }
    return wal;
}

static int file_is_wal(const char *path)
{
    sqlite3 *db;
    int wal = 0;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK)
        wal = is_wal(db);
    sqlite3_close(db);
    return wal;
}

/*
 * Two SQLite files can share one transaction when the second is ATTACHed and
 * neither runs in WAL mode: a multi-file commit is atomic only with rollback
 * journals (https://sqlite.org/lang_attach.html). In WAL mode they stay apart
 * and the shim falls back to its journal.
 */
static int sq_same_database(ts_conn *c, const ts_url *base, const ts_url *other)
{
    if (strcmp(base->target, ":memory:") == 0 || strcmp(other->target, ":memory:") == 0 ||
        strcmp(base->target, other->target) == 0)
        return 0;
    return !is_wal(SQ(c)->db) && !file_is_wal(other->target);
}

/* Canonical "2024-01-31T12:00:00.5Z" as SQLAlchemy's "2024-01-31 12:00:00.500000", in place
   (TS_TIME_MAX holds either); infinity and -infinity stay as they are. */
static void sqlalchemy_time(char *t)
{
    size_t n = strlen(t);
    if (n < 20 || t[10] != 'T' || t[n - 1] != 'Z')
        return;
    t[10] = ' ';
    t[--n] = '\0';
    if (n == 19)
        t[n++] = '.';
    while (n < 26)
        t[n++] = '0';
    t[n] = '\0';
}

/* Bind params by name "$N"; every placeholder of the statement must be one of them. */
static int bind_all(sqlite3 *db, sqlite3_stmt *st, const ts_value *p, int np, const char *sql,
                    ts_error *err)
{
    int count = sqlite3_bind_parameter_count(st);
    for (int k = 1; k <= count; k++) {
        const char *name = sqlite3_bind_parameter_name(st, k);
        char *end;
        long n = name && name[0] == '$' ? strtol(name + 1, &end, 10) : 0;
        if (n < 1 || n > np || *end != '\0')
            return ts_fail(err, TS_E_INTERNAL,
                           "sqlite: placeholder %s has no value (%d given) in: %.120s",
                           name ? name : "?", np, sql);
        const ts_value *v = &p[n - 1];
        int rc;
        char canon[TS_TIME_MAX];
        switch (v->type) {
        case TS_NULL: rc = sqlite3_bind_null(st, k); break;
        case TS_INT:
        case TS_BOOL: rc = sqlite3_bind_int64(st, k, v->i); break;
        case TS_DOUBLE: rc = sqlite3_bind_double(st, k, v->d); break;
        case TS_TEXT: rc = sqlite3_bind_text64(st, k, v->s, v->len, SQLITE_TRANSIENT, SQLITE_UTF8); break;
        case TS_BLOB: rc = sqlite3_bind_blob64(st, k, v->len ? v->s : "", v->len, SQLITE_TRANSIENT); break;
        case TS_TIME:
            if (ts_time_canon(v->s, v->len, canon, err))
                return -1;
            sqlalchemy_time(canon);
            rc = sqlite3_bind_text(st, k, canon, -1, SQLITE_TRANSIENT);
            break;
        default: return ts_fail(err, TS_E_INTERNAL, "sqlite: unknown value type %d", v->type);
        }
        if (rc != SQLITE_OK)
            return fail_db(db, rc, sql, err);
    }
    return 0;
}

static int prepare(sqlite3 *db, const char *sql, const ts_value *p, int np, sqlite3_stmt **st,
                   ts_error *err)
{
    int rc = sqlite3_prepare_v2(db, sql, -1, st, NULL);
    if (rc != SQLITE_OK)
        return fail_db(db, rc, sql, err);
    if (bind_all(db, *st, p, np, sql, err)) {
        sqlite3_finalize(*st);
        return -1;
    }
    return 0;
}

static int sq_exec(ts_conn *c, const char *sql, const ts_value *p, int np, int64_t *changes,
                   ts_error *err)
{
    sqlite3 *db = SQ(c)->db;
    sqlite3_stmt *st;
    int rc;
    if (prepare(db, sql, p, np, &st, err))
        return -1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ;
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return fail_db(db, rc, sql, err);
    if (changes)
        *changes = sqlite3_changes64(db);
    return 0;
}

static int sq_script(ts_conn *c, const char *sql, ts_error *err)
{
    int rc = sqlite3_exec(SQ(c)->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : fail_db(SQ(c)->db, rc, sql, err);
}

static ts_type decl_type(const char *decl)
{
    if (decl == NULL)
        return TS_NULL;
    if (sqlite3_stricmp(decl, "BOOLEAN") == 0)
        return TS_BOOL;
    if (sqlite3_strnicmp(decl, "TIMESTAMP", 9) == 0)
        return TS_TIME;
    return TS_NULL;
}

static int sq_query(ts_conn *c, ts_store *s, const char *sql, const ts_value *p, int np,
                    ts_rows **out, ts_error *err)
{
    sq_rows *r = calloc(1, sizeof *r);
    if (r == NULL)
        return ts_fail(err, TS_E_NOMEM, "out of memory starting a query");
    if (prepare(SQ(c)->db, sql, p, np, &r->stmt, err)) {
        free(r);
        return -1;
    }
    r->base.store = s;
    r->ncols = sqlite3_column_count(r->stmt);
    r->decl = calloc((size_t)r->ncols + 1, sizeof *r->decl);
    r->times = calloc((size_t)r->ncols + 1, sizeof *r->times);
    if (r->decl == NULL || r->times == NULL) {
        sqlite3_finalize(r->stmt);
        free(r->decl);
        free(r->times);
        free(r);
        return ts_fail(err, TS_E_NOMEM, "out of memory starting a query");
    }
    for (int i = 0; i < r->ncols; i++)
        r->decl[i] = decl_type(sqlite3_column_decltype(r->stmt, i));
    *out = &r->base;
    return 0;
}

static int sq_next(ts_rows *rows, ts_error *err)
{
    sq_rows *r = (sq_rows *)rows;
    if (r->done)
        return 0;
    int rc = sqlite3_step(r->stmt);
    if (rc == SQLITE_ROW)
        return 1;
    r->done = 1;
    if (rc == SQLITE_DONE)
        return 0;
    return fail_db(sqlite3_db_handle(r->stmt), rc, sqlite3_sql(r->stmt), err);
}

static int sq_ncols(const ts_rows *rows) { return ((const sq_rows *)rows)->ncols; }

static const char *sq_colname(const ts_rows *rows, int col)
{
    return sqlite3_column_name(((const sq_rows *)rows)->stmt, col);
}

static ts_value sq_get(const ts_rows *rows, int col)
{
    const sq_rows *r = (const sq_rows *)rows;
    sqlite3_stmt *st = r->stmt;
    ts_value v = {0};
    if (col < 0 || col >= r->ncols)
        return v;
    switch (sqlite3_column_type(st, col)) {
    case SQLITE_NULL: return v;
    case SQLITE_INTEGER:
        v = ts_int(sqlite3_column_int64(st, col));
        if (r->decl[col] == TS_BOOL)
            v.type = TS_BOOL;
        return v;
    case SQLITE_FLOAT: return ts_double(sqlite3_column_double(st, col));
    case SQLITE_BLOB:
        v.type = TS_BLOB;
        v.s = sqlite3_column_blob(st, col);
        v.len = (size_t)sqlite3_column_bytes(st, col);
        return v;
    default:
        v.type = r->decl[col] == TS_TIME ? TS_TIME : TS_TEXT;
        v.s = (const char *)sqlite3_column_text(st, col);
        v.len = (size_t)sqlite3_column_bytes(st, col);
        /* Canonical, as PostgreSQL's come; text that is no timestamp stays as stored. */
        if (v.type == TS_TIME && ts_time_canon(v.s, v.len, r->times[col], NULL) == 0) {
            v.s = r->times[col];
            v.len = strlen(r->times[col]);
        }
        return v;
    }
}

static void sq_rows_close(ts_rows *rows)
{
    sq_rows *r = (sq_rows *)rows;
    sqlite3_finalize(r->stmt);
    free(r->decl);
    free(r->times);
    free(r);
}

static int sq_bulk_begin(ts_conn *c, ts_store *s, const char *qtable, const char *const *cols,
                         int ncols, ts_bulk **out, ts_error *err)
{
    (void)s;
    size_t cap = strlen(qtable) + 64 + (size_t)ncols * (TS_IDENT_MAX + 16);
    char *sql = malloc(cap);
    sq_bulk *b = calloc(1, sizeof *b);
    if (sql == NULL || b == NULL) {
        free(sql);
        free(b);
        return ts_fail(err, TS_E_NOMEM, "out of memory starting a bulk load");
    }
    size_t n = (size_t)snprintf(sql, cap, "INSERT INTO %s (", qtable);
    for (int i = 0; i < ncols; i++)
        n += (size_t)snprintf(sql + n, cap - n, "%s\"%s\"", i ? ", " : "", cols[i]);
    n += (size_t)snprintf(sql + n, cap - n, ") VALUES (");
    for (int i = 0; i < ncols; i++)
        n += (size_t)snprintf(sql + n, cap - n, "%s$%d", i ? ", " : "", i + 1);
    snprintf(sql + n, cap - n, ")");
    int rc = sqlite3_prepare_v2(SQ(c)->db, sql, -1, &b->stmt, NULL);
    if (rc != SQLITE_OK) {
        fail_db(SQ(c)->db, rc, sql, err);
        free(sql);
        free(b);
        return -1;
    }
    free(sql);
    b->ncols = ncols;
    *out = &b->base;
    return 0;
}

static int sq_bulk_add(ts_bulk *bulk, const ts_value *row, ts_error *err)
{
    sq_bulk *b = (sq_bulk *)bulk;
    sqlite3 *db = sqlite3_db_handle(b->stmt);
    if (bind_all(db, b->stmt, row, b->ncols, sqlite3_sql(b->stmt), err))
        return -1;
    int rc = sqlite3_step(b->stmt);
    sqlite3_reset(b->stmt);
    return rc == SQLITE_DONE ? 0 : fail_db(db, rc, sqlite3_sql(b->stmt), err);
}

static void sq_bulk_abort(ts_bulk *bulk)
{
    sqlite3_finalize(((sq_bulk *)bulk)->stmt);
    free(bulk);
}

static int sq_bulk_finish(ts_bulk *bulk, ts_error *err)
{
    (void)err;
    sq_bulk_abort(bulk); /* every row was already stepped; only the statement remains */
    return 0;
}

static int sq_table_exists(ts_conn *c, const ts_store *s, const char *table, int *exists,
                           ts_error *err)
{
    char sql[160];
    int64_t one;
    ts_value p = ts_text(table);
    snprintf(sql, sizeof sql, "SELECT 1 FROM \"%s\".sqlite_master WHERE type = 'table' AND name = $1",
             s->schema);
    (void)c;
    int rc = ts_store_query_int((ts_store *)s, sql, &p, 1, &one, err);
    if (rc < 0)
        return -1;
    *exists = rc;
    return 0;
}

/*
 * Application-assigned ids. Tables declared AUTOINCREMENT keep their counter in
 * sqlite_sequence (SQLite's own, which also moves when a larger id is inserted
 * explicitly); other tables use ts_sequences, created on first use.
 */
static int is_autoincrement(ts_store *s, const char *table, int *yes, ts_error *err)
{
    char sql[200];
    int64_t one;
    ts_value p = ts_text(table);
    snprintf(sql, sizeof sql,
             "SELECT 1 FROM \"%s\".sqlite_master WHERE type = 'table' AND name = $1 "
             "AND sql LIKE '%%AUTOINCREMENT%%'", s->schema);
    int rc = ts_store_query_int(s, sql, &p, 1, &one, err);
    *yes = rc == 1;
    return rc < 0 ? -1 : 0;
}

/* Move the counter of table to at least floor (floor 0 with bump=1: advance by one),
   and report the resulting value. */
static int sq_sequence(ts_store *s, const char *table, int64_t floor, int bump, int64_t *value,
                       ts_error *err)
{
    char sql[512], qt[TS_QNAME_MAX];
    int autoinc;
    ts_value p[3] = {ts_text(table), ts_int(floor), ts_int(bump)};
    if (ts_store_table(s, table, qt, err) || is_autoincrement(s, table, &autoinc, err))
        return -1;
    const char *seq = autoinc ? "sqlite_sequence" : "ts_sequences";
    const char *col = autoinc ? "seq" : "value";
    if (!autoinc) {
        snprintf(sql, sizeof sql,
                 "CREATE TABLE IF NOT EXISTS \"%s\".ts_sequences "
                 "(name TEXT PRIMARY KEY, value INTEGER NOT NULL)", s->schema);
        if (ts_store_exec(s, sql, NULL, 0, NULL, err))
            return -1;
    }
    /* Start from the larger of the stored counter and the table's max id. */
    snprintf(sql, sizeof sql,
             "INSERT INTO \"%s\".%s (name, %s) SELECT $1, (SELECT coalesce(max(id), 0) FROM %s) "
             "WHERE NOT EXISTS (SELECT 1 FROM \"%s\".%s WHERE name = $1)",
             s->schema, seq, col, qt, s->schema, seq);
    if (ts_store_exec(s, sql, p, 1, NULL, err))
        return -1;
    snprintf(sql, sizeof sql,
             "UPDATE \"%s\".%s SET %s = max(%s + $3, $2) WHERE name = $1 RETURNING %s",
             s->schema, seq, col, col, col);
    int rc = ts_store_query_int(s, sql, p, 3, value, err);
    if (rc == 0)
        return ts_fail(err, TS_E_INTERNAL, "sqlite: no sequence row for table %s", table);
    return rc < 0 ? -1 : 0;
}

static int sq_next_id(ts_conn *c, const ts_store *s, const char *table, int64_t *id, ts_error *err)
{
    (void)c;
    return sq_sequence((ts_store *)s, table, 0, 1, id, err);
}

static int sq_id_floor(ts_conn *c, const ts_store *s, const char *table, int64_t floor,
                       ts_error *err)
{
    int64_t v;
    (void)c;
    return sq_sequence((ts_store *)s, table, floor, 0, &v, err);
}

/* Called every few thousand VM steps: a non-zero return interrupts the statement. */
static int past_deadline(void *arg)
{
    sq_conn *c = arg;
    return c->deadline_ms && ts_clock_ms() > c->deadline_ms;
}

static int sq_server_version(ts_conn *c)
{
    (void)c;
    return sqlite3_libversion_number();
}

static int sq_statement_timeout(ts_conn *c, int ms, ts_error *err)
{
    (void)err;
    SQ(c)->deadline_ms = ms ? ts_clock_ms() + ms : 0;
    sqlite3_progress_handler(SQ(c)->db, ms ? 1000 : 0, ms ? past_deadline : NULL, c);
    /* A lock held by another connection is waited for within the same bound. */
    sqlite3_busy_timeout(SQ(c)->db, ms ? ms : 5000);
    return 0;
}

const ts_driver ts_driver_sqlite = {
    .name = "sqlite",
    .engine = TS_ENGINE_SQLITE,
    .open = sq_open,
    .close = sq_close,
    .attach = sq_attach,
    .same_database = sq_same_database,
    .exec = sq_exec,
    .script = sq_script,
    .query = sq_query,
    .next = sq_next,
    .ncols = sq_ncols,
    .colname = sq_colname,
    .get = sq_get,
    .rows_close = sq_rows_close,
    .bulk_begin = sq_bulk_begin,
    .bulk_add = sq_bulk_add,
    .bulk_finish = sq_bulk_finish,
    .bulk_abort = sq_bulk_abort,
    .table_exists = sq_table_exists,
    .next_id = sq_next_id,
    .id_floor = sq_id_floor,
    .server_version = sq_server_version,
    .statement_timeout = sq_statement_timeout,
};
