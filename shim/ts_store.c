/* ts_store.c: store URLs, namespaces, identifiers, transactions; dispatch to drivers. */
#include "ts_store_driver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char *dupn(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static char *dup(const char *s) { return dupn(s, strlen(s)); }

void ts_url_free(ts_url *u)
{
    free(u->target);
    free(u->schema);
    free(u->display);
    memset(u, 0, sizeof *u);
}

/* Replace the bytes [from, to) of a heap string with "****". */
static char *mask_span(char *s, size_t from, size_t to)
{
    size_t n = strlen(s);
    char *out = malloc(n - (to - from) + 5);
    if (out != NULL)
        sprintf(out, "%.*s****%s", (int)from, s, s + to);
    free(s);
    return out;
}

/* Mask "user:secret@" in a URI and any "password=secret" parameter. */
static char *mask_password(const char *url)
{
    char *out = dup(url);
    if (out == NULL)
        return NULL;
    char *scheme = strstr(out, "://");
    if (scheme != NULL) {
        char *auth = scheme + 3;
        size_t authlen = strcspn(auth, "/?");
        char *at = memchr(auth, '@', authlen);
        char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
        if (colon != NULL)
            out = mask_span(out, (size_t)(colon + 1 - out), (size_t)(at - out));
    }
    char *pw = out ? strstr(out, "password=") : NULL;
    if (pw != NULL) {
        size_t v = (size_t)(pw + 9 - out);
        out = mask_span(out, v, v + strcspn(out + v, "&; "));
    }
    return out;
}

/* Remove the schema= parameter from a PostgreSQL URI, keeping the others. */
static int split_pg_schema(const char *url, ts_url *u, ts_error *err)
{
    const char *q = strchr(url, '?');
    size_t base = q ? (size_t)(q - url) : strlen(url);
    size_t cap = strlen(url) + 1;
    char *target = malloc(cap);
    if (target == NULL)
        return ts_fail(err, TS_E_NOMEM, "out of memory parsing store URL");
    memcpy(target, url, base);
    size_t n = base;
    char sep = '?';
    while (q != NULL) {
        const char *p = q + 1, *e = p + strcspn(p, "&");
        if (e - p > 7 && strncmp(p, "schema=", 7) == 0) {
            free(u->schema);
            u->schema = dupn(p + 7, (size_t)(e - p - 7));
            if (u->schema == NULL || !ts_ident_valid(u->schema)) {
                free(target);
                return ts_fail(err, TS_E_INVALID,
                               "schema '%.*s' in store URL is not a plain identifier: "
                               "use letters, digits and _ (at most %d)",
                               (int)(e - p - 7), p + 7, TS_IDENT_MAX);
            }
        } else if (e > p) {
            target[n++] = sep;
            memcpy(target + n, p, (size_t)(e - p));
            n += (size_t)(e - p);
            sep = '&';
        }
        q = *e ? e : NULL;
    }
    target[n] = '\0';
    u->target = target;
    return 0;
}

int ts_url_parse(const char *url, ts_url *u, ts_error *err)
{
    memset(u, 0, sizeof *u);
    if (url == NULL || *url == '\0')
        return ts_fail(err, TS_E_USAGE,
                       "no store URL given: use sqlite:PATH or postgresql://HOST/DB[?schema=NAME]");
    if (!ts_utf8_valid(url, strlen(url)) || strlen(url) > 4096)
        return ts_fail(err, TS_E_INVALID, "store URL is not valid UTF-8 or longer than 4096 bytes");
    if (strncmp(url, "sqlite:", 7) == 0) {
        const char *path = url + 7;
        if (strchr(path, '?') != NULL)
            return ts_fail(err, TS_E_INVALID,
                           "store URL '%s': SQLite URLs take no parameters; SQLite has no "
                           "schemas, so put the new store in its own file", url);
        if (*path == '\0')
            return ts_fail(err, TS_E_INVALID,
                           "store URL 'sqlite:' names no file: use sqlite:PATH or sqlite::memory:");
        u->engine = TS_ENGINE_SQLITE;
        u->target = dup(path);
    } else if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0) {
        u->engine = TS_ENGINE_PG;
        if (split_pg_schema(url, u, err)) {
            ts_url_free(u);
            return -1;
        }
    } else {
        char shown[48];
        snprintf(shown, sizeof shown, "%.40s", url);
        return ts_fail(err, TS_E_INVALID,
                       "store URL '%s%s' has an unknown scheme: use sqlite:PATH, sqlite::memory: "
                       "or postgresql://HOST/DB[?schema=NAME]", shown, strlen(url) > 40 ? "..." : "");
    }
    u->display = mask_password(url);
    if (u->target == NULL || u->display == NULL) {
        ts_url_free(u);
        return ts_fail(err, TS_E_NOMEM, "out of memory parsing store URL");
    }
    return 0;
}

static const ts_driver *driver_for(ts_engine e)
{
    return e == TS_ENGINE_PG ? &ts_driver_pg : &ts_driver_sqlite;
}

static void conn_release(ts_conn *c)
{
    if (c != NULL && --c->refs == 0)
        c->drv->close(c);
}

static int store_new(ts_conn *conn, ts_url *url, int shared, ts_store **out, ts_error *err)
{
    ts_store *s = calloc(1, sizeof *s);
    if (s == NULL) {
        ts_url_free(url);
        return ts_fail(err, TS_E_NOMEM, "out of memory opening store");
    }
    s->conn = conn;
    s->url = *url;
    conn->refs++;
    if (conn->drv->attach(conn, s, shared, err)) {
        ts_error_context(err, "opening store %s", s->url.display);
        ts_store_close(s);
        return -1;
    }
    *out = s;
    return 0;
}

int ts_store_open(const char *url, ts_store **out, ts_error *err)
{
    ts_url u;
    ts_conn *conn;
    *out = NULL;
    if (ts_url_parse(url, &u, err))
        return -1;
    if (driver_for(u.engine)->open(&u, &conn, err)) {
        ts_error_context(err, "opening store %s", u.display);
        ts_url_free(&u);
        return -1;
    }
    conn->refs = 1; /* ours until the store takes its own */
    int rc = store_new(conn, &u, 0, out, err);
    conn_release(conn);
    return rc;
}

int ts_store_url_check(const char *url, ts_error *err)
{
    ts_url u;
    if (ts_url_parse(url, &u, err))
        return -1;
    ts_url_free(&u);
    return 0;
}

int ts_store_open_beside(ts_store *base, const char *url, ts_store **out, ts_error *err)
{
    ts_url u;
    *out = NULL;
    if (ts_url_parse(url, &u, err))
        return -1;
    if (u.engine == base->url.engine && base->conn->drv->same_database(base->conn, &base->url, &u))
        return store_new(base->conn, &u, 1, out, err);
    ts_url_free(&u);
    return ts_store_open(url, out, err);
}

int ts_store_shares_txn(const ts_store *a, const ts_store *b)
{
    return a->conn == b->conn;
}

void ts_store_close(ts_store *s)
{
    if (s == NULL)
        return;
    conn_release(s->conn);
    ts_url_free(&s->url);
    free(s->schema);
    free(s);
}

ts_engine ts_store_engine(const ts_store *s) { return s->url.engine; }
const char *ts_store_engine_name(const ts_store *s) { return s->conn->drv->name; }

int ts_store_server_version(const ts_store *s) { return s->conn->drv->server_version(s->conn); }
const char *ts_store_url(const ts_store *s) { return s->url.display; }

const char *ts_url_mask(const char *url, char *out, size_t n)
{
    char *masked = mask_password(url);
    /* Out of memory: show nothing of it rather than the secret. */
    snprintf(out, n, "%s", masked ? masked : "****");
    free(masked);
    return out;
}
const char *ts_store_schema(const ts_store *s) { return s->schema; }

int ts_ident_valid(const char *name)
{
    size_t n = 0;
    if (name == NULL || !((*name >= 'A' && *name <= 'Z') || (*name >= 'a' && *name <= 'z') || *name == '_'))
        return 0;
    for (const char *p = name; *p; p++, n++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '_'))
            return 0;
    return n <= TS_IDENT_MAX;
}

int ts_quote_ident(const char *name, char *out, ts_error *err)
{
    if (!ts_ident_valid(name))
        return ts_fail(err, TS_E_INVALID,
                       "'%.64s' is not a valid identifier: use letters, digits and _ "
                       "(at most %d, not starting with a digit)", name ? name : "(null)", TS_IDENT_MAX);
    snprintf(out, TS_IDENT_MAX + 3, "\"%s\"", name);
    return 0;
}

int ts_store_table(const ts_store *s, const char *table, char *out, ts_error *err)
{
    char qs[TS_IDENT_MAX + 3], qt[TS_IDENT_MAX + 3];
    if (ts_quote_ident(s->schema, qs, err) || ts_quote_ident(table, qt, err))
        return -1;
    snprintf(out, TS_QNAME_MAX, "%s.%s", qs, qt);
    return 0;
}

int ts_store_sql(const ts_store *s, const char *table, const char *fmt, ts_buf *sql,
                 ts_error *err)
{
    char qt[TS_QNAME_MAX];
    if (ts_store_table(s, table, qt, err))
        return -1;
    ts_buf_reset(sql);
    ts_buf_printf(sql, fmt, qt);
    return sql->oom ? ts_fail(err, TS_E_NOMEM, "out of memory building SQL on %s", table) : 0;
}

int ts_store_exec_sql(ts_store *s, const char *table, const char *fmt, const ts_value *params,
                      int nparams, int64_t *changes, ts_error *err)
{
    ts_buf sql = {0};
    int rc = ts_store_sql(s, table, fmt, &sql, err) ||
             ts_store_exec(s, sql.s, params, nparams, changes, err);
    ts_buf_free(&sql);
    return rc ? -1 : 0;
}

int ts_store_query_int_sql(ts_store *s, const char *table, const char *fmt,
                           const ts_value *params, int nparams, int64_t *out, ts_error *err)
{
    ts_buf sql = {0};
    int rc = ts_store_sql(s, table, fmt, &sql, err);
    if (rc == 0)
        rc = ts_store_query_int(s, sql.s, params, nparams, out, err);
    ts_buf_free(&sql);
    return rc;
}

/* Text parameters must be UTF-8: SQLite would store anything, PostgreSQL would
   refuse it with a less helpful message. */
static int check_params(const ts_value *params, int n, ts_error *err)
{
    for (int i = 0; i < n; i++)
        if (params[i].type == TS_TEXT && !ts_utf8_valid(params[i].s, params[i].len))
            return ts_fail(err, TS_E_INVALID,
                           "value $%d is not valid UTF-8: send text as UTF-8 (binary data "
                           "belongs in a blob)", i + 1);
    return 0;
}

static int check_free(ts_store *s, ts_error *err)
{
    if (s->conn->open_rows != NULL)
        return ts_fail(err, TS_E_STATE,
                       "store %s: a query is still being read on this connection; close it first",
                       s->url.display);
    return 0;
}

int ts_store_exec(ts_store *s, const char *sql, const ts_value *params, int nparams,
                  int64_t *changes, ts_error *err)
{
    if (check_free(s, err) || check_params(params, nparams, err))
        return -1;
    return s->conn->drv->exec(s->conn, sql, params, nparams, changes, err);
}

int ts_store_script(ts_store *s, const char *sql, ts_error *err)
{
    if (check_free(s, err))
        return -1;
    return s->conn->drv->script(s->conn, sql, err);
}

int ts_store_query(ts_store *s, const char *sql, const ts_value *params, int nparams,
                   ts_rows **out, ts_error *err)
{
    *out = NULL;
    if (check_free(s, err) || check_params(params, nparams, err))
        return -1;
    return s->conn->drv->query(s->conn, s, sql, params, nparams, out, err);
}

int ts_store_query_deferred(ts_store *s, const char *sql, const ts_value *params, int nparams,
                            ts_rows **out, ts_error *err)
{
    *out = NULL;
    if (check_free(s, err) || check_params(params, nparams, err))
        return -1;
    if (s->conn->drv->query_deferred == NULL)
        return s->conn->drv->query(s->conn, s, sql, params, nparams, out, err);
    return s->conn->drv->query_deferred(s->conn, s, sql, params, nparams, out, err);
}

int ts_rows_next(ts_rows *r, ts_error *err) { return r->store->conn->drv->next(r, err); }
int ts_rows_ncols(const ts_rows *r) { return r->store->conn->drv->ncols(r); }
const char *ts_rows_name(const ts_rows *r, int col) { return r->store->conn->drv->colname(r, col); }
ts_value ts_rows_get(const ts_rows *r, int col) { return r->store->conn->drv->get(r, col); }

void ts_rows_close(ts_rows *r)
{
    if (r != NULL)
        r->store->conn->drv->rows_close(r);
}

/* Run a query and hand its first row to fn; returns 1 (row), 0 (none) or -1. */
static int query_first(ts_store *s, const char *sql, const ts_value *params, int nparams,
                       void (*fn)(const ts_value *, void *), void *arg, ts_error *err)
{
    ts_rows *r;
    if (ts_store_query(s, sql, params, nparams, &r, err))
        return -1;
    int rc = ts_rows_next(r, err);
    if (rc == 1) {
        ts_value v = ts_rows_get(r, 0);
        fn(&v, arg);
    }
    ts_rows_close(r);
    return rc;
}

static void take_int(const ts_value *v, void *arg)
{
    *(int64_t *)arg = v->type == TS_DOUBLE ? (int64_t)v->d : v->i;
}

int ts_store_query_int(ts_store *s, const char *sql, const ts_value *params, int nparams,
                       int64_t *out, ts_error *err)
{
    *out = 0;
    return query_first(s, sql, params, nparams, take_int, out, err);
}

struct text_buf {
    char *buf;
    size_t size;
};

static void take_text(const ts_value *v, void *arg)
{
    struct text_buf *t = arg;
    if (v->type == TS_TEXT || v->type == TS_TIME)
        snprintf(t->buf, t->size, "%.*s", (int)v->len, v->s);
    else
        ts_value_format(v, t->buf, t->size);
}

int ts_store_query_text(ts_store *s, const char *sql, const ts_value *params, int nparams,
                        char *buf, size_t bufsize, ts_error *err)
{
    struct text_buf t = {buf, bufsize};
    if (bufsize > 0)
        buf[0] = '\0';
    return query_first(s, sql, params, nparams, take_text, &t, err);
}

int ts_store_in_txn(const ts_store *s) { return s->conn->in_txn; }

unsigned long ts_store_losses(const ts_store *s) { return s->conn->lost; }

int ts_store_atomically(ts_store *s, int (*fn)(ts_store *s, void *arg, ts_error *err), void *arg,
                        ts_error *err)
{
    if (s->conn->in_txn)
        return fn(s, arg, err);
    if (ts_store_begin(s, err))
        return -1;
    if (fn(s, arg, err)) {
        ts_store_rollback(s, NULL);
        return -1;
    }
    return ts_store_commit(s, err);
}

int ts_store_begin(ts_store *s, ts_error *err)
{
    if (s->conn->in_txn)
        return ts_fail(err, TS_E_INTERNAL,
                       "store %s: a transaction is already open on this connection", s->url.display);
    /* SQLite: IMMEDIATE takes the write lock up front, so two writers wait for
       each other (busy timeout) instead of failing at their first write. */
    if (ts_store_exec(s, s->url.engine == TS_ENGINE_SQLITE ? "BEGIN IMMEDIATE" : "BEGIN", NULL, 0,
                      NULL, err))
        return -1;
    s->conn->in_txn = 1;
    return 0;
}

int ts_store_commit(ts_store *s, ts_error *err)
{
    if (!s->conn->in_txn)
        return ts_fail(err, TS_E_INTERNAL, "store %s: commit without a transaction", s->url.display);
    if (ts_store_exec(s, "COMMIT", NULL, 0, NULL, err)) {
        /* A failed COMMIT (deferred constraint, lost connection) ends the
           transaction on PostgreSQL; make SQLite agree so state stays known. */
        ts_error keep = *err;
        s->conn->drv->exec(s->conn, "ROLLBACK", NULL, 0, NULL, NULL);
        s->conn->in_txn = 0;
        *err = keep;
        return -1;
    }
    s->conn->in_txn = 0;
    return 0;
}

int ts_store_exec_commit(ts_store *s, const char *sql, const ts_value *params, int nparams,
                         ts_error *err)
{
    if (!s->conn->in_txn)
        return ts_fail(err, TS_E_INTERNAL, "store %s: commit without a transaction", s->url.display);
    if (check_free(s, err) || check_params(params, nparams, err)) {
        ts_store_rollback(s, NULL);
        return -1;
    }
    if (s->conn->drv->exec_commit == NULL) {
        if (ts_store_exec(s, sql, params, nparams, NULL, err)) {
            ts_store_rollback(s, NULL);
            return -1;
        }
        return ts_store_commit(s, err);
    }
    if (s->conn->drv->exec_commit(s->conn, sql, params, nparams, err)) {
        /* The statement failed (the transaction is aborted) or COMMIT did (it
           is over): ROLLBACK settles both. */
        s->conn->drv->exec(s->conn, "ROLLBACK", NULL, 0, NULL, NULL);
        s->conn->in_txn = 0;
        return -1;
    }
    s->conn->in_txn = 0;
    return 0;
}

int ts_store_rollback(ts_store *s, ts_error *err)
{
    if (!s->conn->in_txn)
        return 0;
    s->conn->in_txn = 0;
    return ts_store_exec(s, "ROLLBACK", NULL, 0, NULL, err);
}

static int begin_read(ts_store *s, ts_error *err)
{
    if (s->conn->in_txn)
        return ts_fail(err, TS_E_INTERNAL,
                       "store %s: a transaction is already open on this connection", s->url.display);
    if (ts_store_exec(s, s->url.engine == TS_ENGINE_PG
                             ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN",
                      NULL, 0, NULL, err))
        return -1;
    s->conn->in_txn = 1;
    return 0;
}

/* SQLite takes a read lock at a transaction's first read, not at BEGIN. */
static int sqlite_read_lock(ts_store *s, int *wal, ts_error *err)
{
    char sql[TS_QNAME_MAX + 64], mode[16] = "";
    int64_t n;
    snprintf(sql, sizeof sql, "SELECT count(*) FROM \"%s\".sqlite_master", s->schema);
    if (ts_store_query_int(s, sql, NULL, 0, &n, err) < 0)
        return -1;
    snprintf(sql, sizeof sql, "PRAGMA \"%s\".journal_mode", s->schema);
    if (ts_store_query_text(s, sql, NULL, 0, mode, sizeof mode, err) < 0)
        return -1;
    *wal = strcmp(mode, "wal") == 0;
    return 0;
}

int ts_store_read_together(ts_store *a, ts_store *b, int *consistent, ts_error *err)
{
    int wal_a = 1, wal_b = 1;
    char snap[64] = "", sql[128];
    *consistent = 0;
    if (a->conn == b->conn)
        return ts_fail(err, TS_E_INTERNAL, "ts_store_read_together needs two connections");
    if (begin_read(a, err))
        return -1;
    if (a->url.engine == TS_ENGINE_SQLITE && sqlite_read_lock(a, &wal_a, err))
        goto fail;
    if (a->url.engine == TS_ENGINE_PG && b->url.engine == TS_ENGINE_PG &&
        ts_store_query_text(a, "SELECT pg_export_snapshot()", NULL, 0, snap, sizeof snap, err) < 0)
        goto fail;
    if (begin_read(b, err))
        goto fail;
    if (b->url.engine == TS_ENGINE_SQLITE) {
        if (sqlite_read_lock(b, &wal_b, err))
            goto fail;
        /* Rollback journals: a writer of both files needs both exclusive locks to
           commit, and a's read lock holds since before b's: b sees what a sees. */
        *consistent = a->url.engine == TS_ENGINE_SQLITE && !wal_a && !wal_b;
    } else if (snap[0] && strspn(snap, "0123456789ABCDEF-") == strlen(snap)) {
        /* Another database's snapshot is refused: then each reads its own. */
        snprintf(sql, sizeof sql, "SET TRANSACTION SNAPSHOT '%s'", snap);
        ts_error ignored;
        if (ts_store_exec(b, sql, NULL, 0, NULL, &ignored) == 0) {
            *consistent = 1;
        } else {
            ts_store_rollback(b, NULL);
            if (begin_read(b, err))
                goto fail;
        }
    }
    return 0;
fail:
    ts_store_rollback(b, NULL);
    ts_store_rollback(a, NULL);
    return -1;
}

static int savepoint_cmd(ts_store *s, const char *verb, const char *name, ts_error *err)
{
    char q[TS_IDENT_MAX + 3], sql[128];
    if (!s->conn->in_txn)
        return ts_fail(err, TS_E_INTERNAL, "store %s: %s outside a transaction", s->url.display, verb);
    if (ts_quote_ident(name, q, err))
        return -1;
    snprintf(sql, sizeof sql, "%s %s", verb, q);
    return ts_store_exec(s, sql, NULL, 0, NULL, err);
}

int ts_store_savepoint(ts_store *s, const char *name, ts_error *err)
{
    return savepoint_cmd(s, "SAVEPOINT", name, err);
}

int ts_store_release(ts_store *s, const char *name, ts_error *err)
{
    return savepoint_cmd(s, "RELEASE SAVEPOINT", name, err);
}

int ts_store_rollback_to(ts_store *s, const char *name, ts_error *err)
{
    return savepoint_cmd(s, "ROLLBACK TO SAVEPOINT", name, err);
}

int ts_store_temp_table(const ts_store *s, const char *table, char *out, ts_error *err)
{
    char qt[TS_IDENT_MAX + 3];
    if (ts_quote_ident(table, qt, err))
        return -1;
    snprintf(out, TS_QNAME_MAX, "%s.%s", s->url.engine == TS_ENGINE_PG ? "\"pg_temp\"" : "\"temp\"",
             qt);
    return 0;
}

/* qt: the quoted, qualified table. */
static int bulk_begin(ts_store *s, const char *qt, const char *const *cols, int ncols,
                      ts_bulk **out, ts_error *err)
{
    char qc[TS_IDENT_MAX + 3];
    int own = 0;
    *out = NULL;
    for (int i = 0; i < ncols; i++)
        if (ts_quote_ident(cols[i], qc, err))
            return -1;
    if (!s->conn->in_txn) {
        if (ts_store_begin(s, err))
            return -1;
        own = 1;
    }
    if (s->conn->drv->bulk_begin(s->conn, s, qt, cols, ncols, out, err)) {
        if (own)
            ts_store_rollback(s, NULL);
        return -1;
    }
    (*out)->store = s;
    (*out)->ncols = ncols;
    (*out)->own_txn = own;
    return 0;
}

int ts_bulk_begin(ts_store *s, const char *table, const char *const *cols, int ncols,
                  ts_bulk **out, ts_error *err)
{
    char qt[TS_QNAME_MAX];
    *out = NULL;
    return ts_store_table(s, table, qt, err) ? -1 : bulk_begin(s, qt, cols, ncols, out, err);
}

int ts_bulk_begin_temp(ts_store *s, const char *table, const char *const *cols, int ncols,
                       ts_bulk **out, ts_error *err)
{
    char qt[TS_QNAME_MAX];
    *out = NULL;
    return ts_store_temp_table(s, table, qt, err) ? -1 : bulk_begin(s, qt, cols, ncols, out, err);
}

int ts_bulk_add(ts_bulk *b, const ts_value *row, ts_error *err)
{
    if (check_params(row, b->ncols, err))
        return -1;
    return b->store->conn->drv->bulk_add(b, row, err);
}

int ts_bulk_finish(ts_bulk *b, ts_error *err)
{
    ts_store *s = b->store;
    int own = b->own_txn;
    if (s->conn->drv->bulk_finish(b, err)) {
        if (own)
            ts_store_rollback(s, NULL);
        return -1;
    }
    return own ? ts_store_commit(s, err) : 0;
}

void ts_bulk_abort(ts_bulk *b)
{
    if (b == NULL)
        return;
    ts_store *s = b->store;
    int own = b->own_txn;
    s->conn->drv->bulk_abort(b);
    if (own)
        ts_store_rollback(s, NULL);
}

int ts_store_table_exists(ts_store *s, const char *table, int *exists, ts_error *err)
{
    *exists = 0;
    if (!ts_ident_valid(table))
        return ts_fail(err, TS_E_INVALID, "'%.64s' is not a valid table name", table);
    if (check_free(s, err))
        return -1;
    return s->conn->drv->table_exists(s->conn, s, table, exists, err);
}

int ts_store_statement_timeout(ts_store *s, int ms, ts_error *err)
{
    if (!s->conn->in_txn)
        return ts_fail(err, TS_E_INTERNAL, "store %s: statement timeout outside a transaction",
                       s->url.display);
    if (check_free(s, err))
        return -1;
    return s->conn->drv->statement_timeout(s->conn, ms < 0 ? 0 : ms, err);
}

int ts_store_listen(ts_store *s, const char *channel, ts_error *err)
{
    if (!ts_ident_valid(channel))
        return ts_fail(err, TS_E_INVALID, "'%.64s' is not a valid channel name", channel);
    return s->conn->drv->listen ? s->conn->drv->listen(s->conn, channel, err) : 0;
}

int ts_store_notify(ts_store *s, const char *channel, const char *payload, ts_error *err)
{
    ts_value p[2] = {ts_text(channel), ts_text(payload ? payload : "")};
    if (s->url.engine != TS_ENGINE_PG)
        return 0;
    return ts_store_exec(s, "SELECT pg_notify($1, $2)", p, 2, NULL, err);
}

int ts_store_notified(ts_store *s, int *n, ts_error *err)
{
    *n = 0;
    if (s->conn->drv->notified == NULL)
        return 0;
    if (check_free(s, err))
        return -1;
    return s->conn->drv->notified(s->conn, n, err);
}

int ts_store_next_id(ts_store *s, const char *table, int64_t *id, ts_error *err)
{
    if (!ts_ident_valid(table))
        return ts_fail(err, TS_E_INVALID, "'%.64s' is not a valid table name", table);
    if (check_free(s, err))
        return -1;
    return s->conn->drv->next_id(s->conn, s, table, id, err);
}

int ts_store_id_floor(ts_store *s, const char *table, int64_t floor, ts_error *err)
{
    if (!ts_ident_valid(table))
        return ts_fail(err, TS_E_INVALID, "'%.64s' is not a valid table name", table);
    if (check_free(s, err))
        return -1;
    return s->conn->drv->id_floor(s->conn, s, table, floor, err);
}

int ts_store_check(ts_store *s, ts_error *err)
{
    return s->conn->drv->check ? s->conn->drv->check(s->conn, err) : 0;
}
