/*
 * ts_store_pg.c: the PostgreSQL driver, on libpq.
 *
 * Parameters go out as text (blobs as binary) with their types left to the
 * server. Results come back as text in single-row mode, so a query holds one row
 * in memory however large the table, and are mapped to ts_value by column type.
 * Every session runs in UTC with ISO dates, so timestamps print one way, and with
 * extra_float_digits=3, so doubles print with enough digits to round-trip.
 */
#include "ts_clock.h"
#include "ts_store_driver.h"

#include "ts_log.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libpq-fe.h>

/* Type OIDs, from PostgreSQL's catalog/pg_type_d.h (fixed since forever). */
enum {
    OID_BOOL = 16,
    OID_BYTEA = 17,
    OID_INT8 = 20,
    OID_INT2 = 21,
    OID_INT4 = 23,
    OID_OID = 26,
    OID_FLOAT4 = 700,
    OID_FLOAT8 = 701,
    OID_TIMESTAMP = 1114,
    OID_TIMESTAMPTZ = 1184,
    OID_NUMERIC = 1700
};

/* COPY data goes to libpq in batches of about this size. */
#define COPY_BATCH (64 * 1024)

/* Statements prepared on a connection, by their text (see prepared()). */
#define STMT_CACHE 256

typedef struct pg_stmt {
    uint64_t hash;
    char *sql;
    int np;
} pg_stmt;

/* Reconnect attempts after a lost connection back off from the first to the
   last delay, doubling; statements in between fail at once (TS_E_CONN). */
#define RECONNECT_FIRST_MS 100
#define RECONNECT_MAX_MS 1000

/* A statement that sets session state, run again on every new connection. */
typedef struct pg_setting {
    char *sql;
    char *param;    /* its one parameter, NULL when none */
} pg_setting;

#define MAX_SETTINGS 16

typedef struct pg_conn {
    ts_conn base;   /* first: the ts_conn * ts_store.c holds is a pg_conn * */
    PGconn *pg;
    int copying;    /* a COPY FROM STDIN holds the connection */
    pg_stmt stmts[STMT_CACHE];   /* prepared as "ts_s<index>" */
    int nstmts;
    pg_setting settings[MAX_SETTINGS];   /* session state, in the order it was set */
    int nsettings;
    char *display;          /* the URL with the password masked, for the log */
    int failures;           /* reconnect attempts failed since the connection was lost */
    int64_t retry_at;       /* no reconnect attempt before (ts_clock_ms) */
} pg_conn;

typedef struct pg_rows {
    ts_rows base;
    pg_conn *c;
    char *sql;          /* for error messages */
    PGresult *head;     /* first result: column names and types; kept until close */
    PGresult *cur;      /* a later row's result, or NULL */
    PGresult *row;      /* the current row (head or cur), NULL when none */
    int started, done;
    int ncols;                    /* 0 until the first result is in (rows_start) */
    void *cols;                   /* one block for the four arrays below */
    ts_type *types;
    ts_value *vals;               /* the current row, decoded */
    unsigned char **blobs;        /* unescaped bytea of the current row */
    char (*times)[TS_TIME_MAX];   /* canonical timestamps of the current row */
} pg_rows;

typedef struct pg_bulk {
    ts_bulk base;
    pg_conn *c;
    char *sql;
    int ncols;
    char *buf;
    size_t len, cap;
} pg_bulk;

static pg_conn *PG(ts_conn *c) { return (pg_conn *)c; }

/* libpq messages end in a newline and may span lines: make them one line,
   each run of white space one blank. */
static void one_line(char *s)
{
    char *o = s;
    for (const char *p = s; *p; p++) {
        int space = *p == ' ' || *p == '\n' || *p == '\r' || *p == '\t';
        if (!space)
            *o++ = *p;
        else if (o > s && o[-1] != ' ')
            *o++ = ' ';
    }
    if (o > s && o[-1] == ' ')
        o--;
    *o = '\0';
}

/* The start of sql on one line, cut at a character boundary. */
static void sql_excerpt(const char *sql, char *out, size_t n)
{
    size_t len = strlen(sql), max = n - 4;
    if (len <= max) {
        memcpy(out, sql, len + 1);
    } else {
        while (max > 0 && ((unsigned char)sql[max] & 0xC0) == 0x80)
            max--;
        memcpy(out, sql, max);
        memcpy(out + max, "...", 4);
    }
    one_line(out);
}

static int state_is(const char *state, const char *code)
{
    return state != NULL && strncmp(state, code, strlen(code)) == 0;
}

/*
 * Fill err from a failed statement. res may be NULL when libpq itself failed;
 * then its connection message is used. A lost connection is told apart from a
 * statement error by the connection status, whatever the SQLSTATE says.
 */
static int pg_fail(pg_conn *c, const PGresult *res, const char *sql, ts_error *err)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
    const char *severity = res ? PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED) : NULL;
    const char *todo = "check the statement against the schema";
    char msg[512], ex[100];
    ts_code code = TS_E_STORE;

    snprintf(msg, sizeof msg, "%s", primary ? primary : PQerrorMessage(c->pg));
    one_line(msg);
    sql_excerpt(sql, ex, sizeof ex);
    /* 57P0x: the server shuts down, ended this session or lost its database.
       FATAL (or PANIC) ends the session whatever the SQLSTATE (25P03, an idle
       transaction timed out, say); libpq may not have read the end of file yet. */
    int fatal = severity != NULL &&
                (strcmp(severity, "FATAL") == 0 || strcmp(severity, "PANIC") == 0);
    if (PQstatus(c->pg) == CONNECTION_BAD || fatal || state_is(state, "08") ||
        state_is(state, "57P0")) {
        code = TS_E_CONN;
        c->base.lost++;
        todo = "the connection to the server is lost: roll back and retry (the store "
               "reconnects by itself)";
    } else if (state_is(state, "23")) {
        code = TS_E_CONSTRAINT;
        todo = "the row conflicts with the data or a constraint: fix or skip it";
    } else if (state_is(state, "40001") || state_is(state, "40P01") || state_is(state, "55P03") ||
               state_is(state, "57014")) { /* 57014: statement_timeout */
        code = TS_E_BUSY;
        todo = "another transaction got in the way: roll back and retry";
    }
    ts_fail(err, code, "postgresql: %s%s%s%s [%s%s] in: %s; %s", msg, detail ? " (" : "",
            detail ? detail : "", detail ? ")" : "", state ? "SQLSTATE " : "",
            state ? state : "no SQLSTATE", ex, todo);
    if (err != NULL && state != NULL)
        snprintf(err->sqlstate, sizeof err->sqlstate, "%s", state);
    return -1;
}

/* The connection serves one statement at a time: refuse while it is held. */
static int pg_idle(pg_conn *c, ts_error *err)
{
    if (c->base.open_rows != NULL)
        return ts_fail(err, TS_E_STATE,
                       "postgresql: a query result is still being read on this connection: "
                       "read it to the end or close it before the next statement");
    if (c->copying)
        return ts_fail(err, TS_E_STATE,
                       "postgresql: a bulk load is in progress on this connection: "
                       "finish or abort it before the next statement");
    return 0;
}

/* Read and drop what is left of the current statement's results. */
static void drain(pg_conn *c)
{
    PGresult *res;
    while ((res = PQgetResult(c->pg)) != NULL)
        PQclear(res);
}

/* Doubles as PostgreSQL reads them back exactly; it spells the specials its own way. */
static void format_double(double d, char *out, size_t n)
{
    if (isnan(d))
        snprintf(out, n, "NaN");
    else if (isinf(d))
        snprintf(out, n, "%s", d > 0 ? "Infinity" : "-Infinity");
    else
        snprintf(out, n, "%.17g", d);
}

/* Text can not hold NUL in PostgreSQL; say so instead of cutting the value short. */
static int check_text(const ts_value *v, int k, ts_error *err)
{
    if (memchr(v->s, '\0', v->len) != NULL)
        return ts_fail(err, TS_E_INVALID,
                       "postgresql: text value %d contains a NUL byte, which PostgreSQL text "
                       "can not store: strip it or store the value as a blob", k);
    return 0;
}

/* Parameters in libpq's form. Everything lives in one block, freed with free(mem). */
typedef struct pg_params {
    const char **values;
    int *lengths, *formats;
    void *mem;
} pg_params;

static int params_make(const ts_value *p, int np, pg_params *out, ts_error *err)
{
    size_t scratch = 0;
    char *s;

    for (int i = 0; i < np; i++) {
        if (p[i].type == TS_TEXT) {
            if (check_text(&p[i], i + 1, err))
                return -1;
            scratch += p[i].len + 1;
        } else if (p[i].type != TS_NULL && p[i].type != TS_BLOB) {
            scratch += 32; /* a number, bool or canonical timestamp */
        }
    }
    out->mem = malloc((size_t)np * (sizeof(char *) + 2 * sizeof(int)) + scratch + 1);
    if (out->mem == NULL)
        return ts_fail(err, TS_E_NOMEM, "postgresql: out of memory binding %d parameters", np);
    out->values = out->mem;
    out->lengths = (int *)(out->values + np);
    out->formats = out->lengths + np;
    s = (char *)(out->formats + np);
    for (int i = 0; i < np; i++) {
        const ts_value *v = &p[i];
        out->values[i] = s;
        out->lengths[i] = 0;
        out->formats[i] = 0;
        switch (v->type) {
        case TS_NULL: out->values[i] = NULL; continue;
        case TS_INT: snprintf(s, 32, "%" PRId64, v->i); break;
        case TS_DOUBLE: format_double(v->d, s, 32); break;
        case TS_BOOL: snprintf(s, 32, "%s", v->i ? "true" : "false"); break;
        case TS_TEXT:
            memcpy(s, v->s, v->len);
            s[v->len] = '\0';
            break;
        case TS_TIME:
            /* The same check as SQLite, so both engines accept the same values. */
            if (ts_time_canon(v->s, v->len, s, err)) {
                free(out->mem);
                return -1;
            }
            break;
        case TS_BLOB:
            out->values[i] = v->len ? v->s : "";
            out->lengths[i] = (int)v->len;
            out->formats[i] = 1;
            continue;
        default:
            free(out->mem);
            return ts_fail(err, TS_E_INTERNAL, "postgresql: unknown value type %d", (int)v->type);
        }
        s += strlen(s) + 1;
    }
    return 0;
}

/* The password in a URI ("user:secret@") or keyword conninfo ("password=secret"). */
static const char *find_password(const char *target, size_t *len)
{
    const char *auth = strstr(target, "://");
    if (auth != NULL) {
        auth += 3;
        size_t n = strcspn(auth, "/?");
        const char *at = memchr(auth, '@', n);
        const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
        if (colon != NULL && at > colon + 1) {
            *len = (size_t)(at - colon - 1);
            return colon + 1;
        }
    }
    const char *pw = strstr(target, "password=");
    if (pw != NULL) {
        pw += 9;
        *len = strcspn(pw, "& ");
        return *len ? pw : NULL;
    }
    return NULL;
}

/* Copy msg to out with the password of target masked: libpq quotes malformed
   parts of a URI in its messages, and that part may be the password. */
static void mask_password(const char *msg, const char *target, char *out, size_t n)
{
    size_t pwlen = 0, o = 0;
    const char *pw = find_password(target, &pwlen);

    while (*msg && o + 1 < n) {
        if (pw != NULL && strncmp(msg, pw, pwlen) == 0) {
            o += (size_t)snprintf(out + o, n - o, "****");
            msg += pwlen;
        } else {
            out[o++] = *msg++;
        }
    }
    out[o < n ? o : n - 1] = '\0';
}

/* Server notices ("drop cascades to ...") go to the debug log, not raw to stderr. */
static void on_notice(void *arg, const char *message)
{
    char line[512], quoted[1100];
    (void)arg;
    snprintf(line, sizeof line, "%s", message);
    one_line(line);
    ts_log(TS_LOG_DEBUG, "pg_notice", "message=%s", ts_log_value(line, quoted, sizeof quoted));
}

/* Remember a statement that sets session state (the first time only), so a
   new connection after a lost one gets it too. */
static int remember(pg_conn *c, const char *sql, const char *param, ts_error *err)
{
    for (int i = 0; i < c->nsettings; i++)
        if (strcmp(c->settings[i].sql, sql) == 0 &&
            (param ? c->settings[i].param && strcmp(c->settings[i].param, param) == 0
                   : c->settings[i].param == NULL))
            return 0;
    if (c->nsettings == MAX_SETTINGS)
        return ts_fail(err, TS_E_INTERNAL, "postgresql: more than %d session settings on one "
                       "connection", MAX_SETTINGS);
    pg_setting *st = &c->settings[c->nsettings];
    st->sql = strdup(sql);
    st->param = param ? strdup(param) : NULL;
    if (st->sql == NULL || (param && st->param == NULL)) {
        free(st->sql);
        free(st->param);
        return ts_fail(err, TS_E_NOMEM, "postgresql: out of memory");
    }
    c->nsettings++;
    return 0;
}

/* Run the remembered session settings on the connection, in order. */
static int apply_settings(pg_conn *c, ts_error *err)
{
    for (int i = 0; i < c->nsettings; i++) {
        const pg_setting *st = &c->settings[i];
        const char *v[1] = {st->param};
        /* Without a parameter as a simple query, which may hold several statements. */
        PGresult *res = st->param ? PQexecParams(c->pg, st->sql, 1, NULL, v, NULL, NULL, 0)
                                  : PQexec(c->pg, st->sql);
        ExecStatusType rs = PQresultStatus(res);
        if (rs != PGRES_COMMAND_OK && rs != PGRES_TUPLES_OK) {
            pg_fail(c, res, st->sql, err);
            PQclear(res);
            return -1;
        }
        PQclear(res);
    }
    return 0;
}

static void forget_statements(pg_conn *c)
{
    for (int i = 0; i < c->nstmts; i++)
        free(c->stmts[i].sql);
    c->nstmts = 0;
}

/*
 * The server dropped the connection (restart, crash, network): open it again
 * with the same parameters and session settings. Attempts back off from
 * RECONNECT_FIRST_MS to RECONNECT_MAX_MS; in between, and when an attempt
 * fails, the caller gets TS_E_CONN at once (retryable: its unit of work runs
 * again later). Prepared statements died with the old session.
 */
static int reconnect(pg_conn *c, ts_error *err)
{
    char msg[600], quoted[700];
    int64_t now = ts_clock_ms();
    if (now < c->retry_at)
        return ts_fail(err, TS_E_CONN, "postgresql: the connection to %s is lost and the "
                       "server did not answer the last attempt; the next one is in %lld ms: "
                       "retry then (check that the server is running)", c->display,
                       (long long)(c->retry_at - now));
    if (c->failures == 0) {
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(c->pg));
        one_line(msg);
        ts_log(TS_LOG_WARN, "pg_connection_lost", "store=%s error=%s", c->display,
               ts_log_value(msg, quoted, sizeof quoted));
    }
    forget_statements(c);
    PQreset(c->pg);
    if (PQstatus(c->pg) != CONNECTION_OK) {
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(c->pg));
        one_line(msg);
        ts_fail(err, TS_E_CONN, "postgresql: reconnecting to %s failed: %s; check that the "
                "server is running (retried by itself)", c->display, msg);
    } else if (apply_settings(c, err) == 0) {
        ts_log(TS_LOG_WARN, "pg_reconnected", "store=%s attempts=%d", c->display,
               c->failures + 1);
        c->failures = 0;
        c->retry_at = 0;
        return 0;
    }
    c->failures++;
    int wait = RECONNECT_FIRST_MS;
    for (int i = 1; i < c->failures && wait < RECONNECT_MAX_MS; i++)
        wait *= 2;
    c->retry_at = now + (wait < RECONNECT_MAX_MS ? wait : RECONNECT_MAX_MS);
    return -1;
}

/*
 * Before a statement: the connection is free, and alive as far as can be told
 * without a round trip. Outside a transaction, what the server sent meanwhile
 * is read first (a restart or a terminated session shows as end of file), and
 * a lost connection is opened again. Inside one the transaction died with the
 * connection: the caller rolls back and runs its unit of work again.
 */
static int pg_ready(pg_conn *c, ts_error *err)
{
    if (pg_idle(c, err))
        return -1;
    /* A terminated session is a FATAL message, then end of file on the next read. */
    for (int i = 0; i < 2 && !c->base.in_txn && PQstatus(c->pg) == CONNECTION_OK; i++)
        PQconsumeInput(c->pg);
    if (PQstatus(c->pg) == CONNECTION_OK)
        return 0;
    c->base.lost++;   /* see ts_store_losses */
    if (c->base.in_txn)
        return ts_fail(err, TS_E_CONN, "postgresql: the connection to %s was lost inside a "
                       "transaction, which the server rolled back: roll back and run the unit "
                       "of work again", c->display);
    return reconnect(c, err);
}

static void pg_free(pg_conn *c)
{
    PQfinish(c->pg);
    forget_statements(c);
    for (int i = 0; i < c->nsettings; i++) {
        free(c->settings[i].sql);
        free(c->settings[i].param);
    }
    free(c->display);
    free(c);
}

/*
 * Why a connection attempt failed. The server refusing who we are (a wrong or
 * missing password, no pg_hba.conf entry, no such role or database) does not go
 * away by retrying: TS_E_AUTH. Anything else (refused, timed out, starting up,
 * too many clients) may: TS_E_CONN. libpq keeps the server's SQLSTATE of a failed
 * connection to itself, so its message tells the two apart.
 */
static ts_code connect_failure(PGconn *pg, const char **todo)
{
    static const char *const refused[] = {"authentication failed", "no password supplied",
                                          "pg_hba.conf", "does not exist", NULL};
    *todo = "check that the server is running and that host and port in the URL are right; "
            "then retry";
    if (pg == NULL)
        return TS_E_NOMEM;
    int auth = PQconnectionNeedsPassword(pg);
    for (int i = 0; !auth && refused[i]; i++)
        auth = strstr(PQerrorMessage(pg), refused[i]) != NULL;
    if (!auth)
        return TS_E_CONN;
    *todo = "the server refused the user, password or database of the URL: fix them (retrying "
            "does not help)";
    return TS_E_AUTH;
}

static int pg_open(const ts_url *url, ts_conn **out, ts_error *err)
{
    /* Keywords after dbname override the URI, those before it are defaults. */
    static const char *const keys[] = {"connect_timeout", "fallback_application_name", "dbname",
                                       "client_encoding", NULL};
    const char *vals[] = {"10", "tenantshift", url->target, "UTF8", NULL};
    PQconninfoOption *opts;
    char *perr = NULL, msg[600];
    pg_conn *c;

    *out = NULL;
    /* A malformed URL is the user's to fix, not a connection failure to retry. */
    opts = PQconninfoParse(url->target, &perr);
    if (opts == NULL) {
        mask_password(perr ? perr : "out of memory", url->target, msg, sizeof msg);
        one_line(msg);
        PQfreemem(perr);
        return ts_fail(err, TS_E_INVALID, "malformed PostgreSQL URL: %s; see the libpq "
                       "connection URI format (postgresql://USER@HOST:PORT/DB?PARAM=VALUE)", msg);
    }
    PQconninfoFree(opts);
    c = calloc(1, sizeof *c);
    if (c == NULL || (c->display = strdup(url->display)) == NULL) {
        free(c);
        return ts_fail(err, TS_E_NOMEM, "postgresql: out of memory opening a connection");
    }
    c->pg = PQconnectdbParams(keys, vals, 1);
    if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK) {
        const char *todo;
        ts_code code = connect_failure(c->pg, &todo);
        mask_password(c->pg ? PQerrorMessage(c->pg) : "out of memory", url->target, msg, sizeof msg);
        one_line(msg);
        ts_fail(err, code, "cannot connect to PostgreSQL: %s; %s", msg, todo);
        pg_free(c);
        return -1;
    }
    PQsetNoticeProcessor(c->pg, on_notice, NULL);
    if (remember(c, "SET TimeZone = 'UTC'; SET DateStyle = 'ISO'; SET extra_float_digits = 3",
                 NULL, err) || apply_settings(c, err)) {
        pg_free(c);
        return -1;
    }
    c->base.drv = &ts_driver_pg;
    c->base.refs = 1; /* the opener's; ts_store_open drops it once the store holds one */
    *out = &c->base;
    return 0;
}

static void pg_close(ts_conn *c) { pg_free(PG(c)); }

/* FNV-1a: statement texts are short and few; any decent spread will do. */
static uint64_t text_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Statements worth preparing: data statements the shim runs again and again. */
static int cacheable(const char *sql)
{
    static const char *const verbs[] = {"SELECT", "INSERT", "UPDATE", "DELETE", "WITH"};
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (strncasecmp(sql, verbs[i], strlen(verbs[i])) == 0)
            return 1;
    return 0;
}

/*
 * The name of sql prepared on this connection, preparing it on first use.
 * Parsing and planning each statement again dominated the server's time
 * (the shim sends the same few shapes all day), so each connection keeps up
 * to STMT_CACHE of them; past that, and for other statements, *name is ""
 * and the caller sends the text as before. Prepared statements are session
 * objects: a ROLLBACK does not undo them, and PostgreSQL re-plans them when a
 * table they use is dropped and created again.
 */
static int prepared(pg_conn *c, const char *sql, int np, char name[16], ts_error *err)
{
    uint64_t h = text_hash(sql);
    name[0] = '\0';
    for (int i = 0; i < c->nstmts; i++)
        if (c->stmts[i].hash == h && c->stmts[i].np == np && strcmp(c->stmts[i].sql, sql) == 0) {
            snprintf(name, 16, "ts_s%d", i);
            return 0;
        }
    if (c->nstmts == STMT_CACHE || !cacheable(sql))
        return 0;
    char *copy = strdup(sql);
    if (copy == NULL)
        return 0;
    snprintf(name, 16, "ts_s%d", c->nstmts);
    PGresult *res = PQprepare(c->pg, name, sql, np, NULL);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        pg_fail(c, res, sql, err);
        PQclear(res);
        free(copy);
        return -1;
    }
    PQclear(res);
    c->stmts[c->nstmts++] = (pg_stmt){h, copy, np};
    return 0;
}

/* Run a statement to completion on a free connection and hand back its result. */
static int run(pg_conn *c, const char *sql, const ts_value *p, int np, PGresult **out,
               ts_error *err)
{
    pg_params pp;
    PGresult *res;

    char name[16];
    *out = NULL;
    if (pg_ready(c, err) || prepared(c, sql, np, name, err) || params_make(p, np, &pp, err))
        return -1;
    res = name[0] ? PQexecPrepared(c->pg, name, np, pp.values, pp.lengths, pp.formats, 0)
                  : PQexecParams(c->pg, sql, np, NULL, pp.values, pp.lengths, pp.formats, 0);
    free(pp.mem);
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
        pg_fail(c, res, sql, err);
        PQclear(res);
        return -1;
    }
    *out = res;
    return 0;
}

static int pg_attach(ts_conn *conn, ts_store *s, int shared, ts_error *err)
{
    pg_conn *c = PG(conn);
    char q[TS_IDENT_MAX + 3], sql[TS_IDENT_MAX + 40];
    PGresult *res;
    int missing;

    s->schema = strdup(s->url.schema ? s->url.schema : "public");
    if (s->schema == NULL)
        return ts_fail(err, TS_E_NOMEM, "postgresql: out of memory");
    if (ts_quote_ident(s->schema, q, err))
        return -1;
    ts_value name = ts_text(s->schema);
    /* Look first: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege even
       when the schema exists, which a store user need not have. */
    if (run(c, "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1", &name, 1, &res, err))
        return -1;
    missing = PQntuples(res) == 0;
    PQclear(res);
    if (missing) {
        snprintf(sql, sizeof sql, "CREATE SCHEMA IF NOT EXISTS %s", q);
        if (run(c, sql, NULL, 0, &res, err))
            return -1;
        PQclear(res);
    }
    if (shared)
        return 0; /* the connection belongs to the base store; names are qualified */
    /* Only this schema: an unqualified name must never resolve to another
       store's table of the same name (legacy and new share table names). */
    static const char set_path[] = "SELECT pg_catalog.set_config('search_path', $1, false)";
    ts_value path = ts_text(q);
    if (run(c, set_path, &path, 1, &res, err))
        return -1;
    PQclear(res);
    return remember(c, set_path, q, err);
}

static int pg_same_database(ts_conn *c, const ts_url *base, const ts_url *other)
{
    (void)c;
    return other->engine == TS_ENGINE_PG && strcmp(base->target, other->target) == 0;
}

static int pg_exec(ts_conn *conn, const char *sql, const ts_value *p, int np, int64_t *changes,
                   ts_error *err)
{
    PGresult *res;

    if (run(PG(conn), sql, p, np, &res, err))
        return -1;
    /* COMMIT of a transaction an earlier statement aborted "succeeds" with the
       tag ROLLBACK: nothing was committed, and saying 0 would have the caller
       acknowledge work that is gone (an update dropped). */
    if (strcasecmp(sql, "COMMIT") == 0 && strcmp(PQcmdStatus(res), "ROLLBACK") == 0) {
        PQclear(res);
        return ts_fail(err, TS_E_STORE, "postgresql: the server rolled the transaction back "
                       "instead of committing it (an earlier statement of it failed): nothing "
                       "was committed; run the unit of work again");
    }
    if (changes != NULL)
        *changes = strtoll(PQcmdTuples(res), NULL, 10); /* "" for statements without a count */
    PQclear(res);
    /* A SET outside a transaction is session state: a new connection needs it too. */
    if (!conn->in_txn && np == 0 && strncasecmp(sql, "SET ", 4) == 0)
        return remember(PG(conn), sql, NULL, err);
    return 0;
}

/* Send sql with its parameters, prepared when the cache takes it; the caller
   reads the results. */
static int send_statement(pg_conn *c, const char *sql, const ts_value *p, int np, ts_error *err)
{
    pg_params pp;
    char name[16];
    if (prepared(c, sql, np, name, err) || params_make(p, np, &pp, err))
        return -1;
    int sent = name[0] ? PQsendQueryPrepared(c->pg, name, np, pp.values, pp.lengths, pp.formats, 0)
                       : PQsendQueryParams(c->pg, sql, np, NULL, pp.values, pp.lengths,
                                           pp.formats, 0);
    free(pp.mem);
    return sent ? 0 : pg_fail(c, NULL, sql, err);
}

/*
 * The statement and COMMIT in one pipeline, one Sync: one round trip. When the
 * statement fails the server skips COMMIT (PGRES_PIPELINE_ABORTED) and the
 * transaction stays aborted for the caller's ROLLBACK; the first error is the
 * one reported.
 */
static int pg_exec_commit(ts_conn *conn, const char *sql, const ts_value *p, int np,
                          ts_error *err)
{
    static const char *const what[2] = {NULL, "COMMIT"};
    pg_conn *c = PG(conn);
    PGresult *res, *failed = NULL;
    const char *failed_sql = NULL;
    char name[16];

    /* Prepared first: PQprepare waits for its answer, which a pipeline cannot. */
    if (pg_ready(c, err) || prepared(c, sql, np, name, err))
        return -1;
    if (!PQenterPipelineMode(c->pg))
        return pg_fail(c, NULL, sql, err);
    int rc = send_statement(c, sql, p, np, err);
    if (rc == 0 && (!PQsendQueryParams(c->pg, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) ||
                    !PQpipelineSync(c->pg)))
        rc = pg_fail(c, NULL, "COMMIT", err);
    if (rc) {
        drain(c);
        PQexitPipelineMode(c->pg);
        return -1;
    }
    /* Each statement's results end with NULL; the Sync's result comes last. */
    for (int q = 0; q < 2; q++)
        while ((res = PQgetResult(c->pg)) != NULL) {
            ExecStatusType st = PQresultStatus(res);
            /* SINGLE_TUPLE: libpq may carry single-row mode over from the
               connection's last query; the rows are not wanted either way. */
            if (failed == NULL && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK &&
                st != PGRES_SINGLE_TUPLE && st != PGRES_PIPELINE_ABORTED) {
                failed = res;
                failed_sql = what[q] ? what[q] : sql;
            } else {
                PQclear(res);
            }
        }
    while ((res = PQgetResult(c->pg)) != NULL) {
        int sync = PQresultStatus(res) == PGRES_PIPELINE_SYNC;
        PQclear(res);
        if (sync)
            break;
    }
    if (!PQexitPipelineMode(c->pg) && failed == NULL)
        return pg_fail(c, NULL, sql, err);
    if (failed != NULL) {
        pg_fail(c, failed, failed_sql, err);
        PQclear(failed);
        return -1;
    }
    return 0;
}

static int pg_script(ts_conn *conn, const char *sql, ts_error *err)
{
    pg_conn *c = PG(conn);
    PGresult *res;
    ExecStatusType st;

    if (pg_ready(c, err))
        return -1;
    /* Several statements in one simple query: one implicit transaction when none is open. */
    res = PQexec(c->pg, sql);
    st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
        pg_fail(c, res, sql, err);
        PQclear(res);
        return -1;
    }
    PQclear(res);
    return 0;
}

static ts_type type_of(Oid oid)
{
    switch (oid) {
    case OID_BOOL: return TS_BOOL;
    case OID_INT2:
    case OID_INT4:
    case OID_INT8:
    case OID_OID: return TS_INT;
    case OID_FLOAT4:
    case OID_FLOAT8:
    case OID_NUMERIC: return TS_DOUBLE;
    case OID_TIMESTAMP:
    case OID_TIMESTAMPTZ: return TS_TIME;
    case OID_BYTEA: return TS_BLOB;
    default: return TS_TEXT;
    }
}

/* Free what the current row's values point into. */
static void row_release(pg_rows *r)
{
    for (int i = 0; i < r->ncols; i++) {
        if (r->blobs[i] != NULL) {
            PQfreemem(r->blobs[i]);
            r->blobs[i] = NULL;
        }
    }
    if (r->cur != NULL) {
        PQclear(r->cur);
        r->cur = NULL;
    }
    r->row = NULL;
}

/* The statement is over: free the connection for the next one. */
static void rows_finish(pg_rows *r)
{
    row_release(r);
    drain(r->c);
    r->done = 1;
    if (r->c->base.open_rows == &r->base)
        r->c->base.open_rows = NULL;
}

static int row_decode(pg_rows *r, ts_error *err)
{
    const PGresult *res = r->row;

    for (int i = 0; i < r->ncols; i++) {
        ts_value *v = &r->vals[i];
        const char *s = PQgetvalue(res, 0, i);
        size_t len = (size_t)PQgetlength(res, 0, i), n;

        *v = ts_null();
        if (PQgetisnull(res, 0, i))
            continue;
        switch (r->types[i]) {
        case TS_BOOL: *v = ts_bool(s[0] == 't'); break;
        case TS_INT: *v = ts_int(strtoll(s, NULL, 10)); break;
        case TS_DOUBLE: *v = ts_double(strtod(s, NULL)); break; /* reads NaN, Infinity too */
        case TS_TIME:
            if (ts_time_canon(s, len, r->times[i], err)) {
                ts_error_context(err, "postgresql: column %s", PQfname(res, i));
                return -1;
            }
            *v = ts_time(r->times[i]);
            break;
        case TS_BLOB:
            r->blobs[i] = PQunescapeBytea((const unsigned char *)s, &n);
            if (r->blobs[i] == NULL)
                return ts_fail(err, TS_E_NOMEM, "postgresql: out of memory reading a bytea");
            *v = ts_blob(r->blobs[i], n);
            break;
        default: *v = ts_textn(s, len); break;
        }
    }
    return 0;
}

/* The rows struct with a copy of its statement (for error messages). */
static pg_rows *rows_alloc(const char *sql)
{
    size_t sqlen = strlen(sql) + 1;
    pg_rows *r = calloc(1, sizeof(pg_rows) + sqlen);
    if (r == NULL)
        return NULL;
    r->sql = (char *)(r + 1);
    memcpy(r->sql, sql, sqlen);
    return r;
}

/*
 * Take the statement's first result: a bad statement fails here, and the
 * columns are known from here on. One block holds the per-column arrays,
 * ordered by alignment: values, pointers, enums, then bytes.
 */
static int rows_start(pg_rows *r, ts_error *err)
{
    PGresult *res = PQgetResult(r->c->pg);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK) {
        pg_fail(r->c, res, r->sql, err);
        PQclear(res);
        rows_finish(r);
        return -1;
    }
    size_t nc = (size_t)PQnfields(res);
    r->cols = calloc(1, nc * (sizeof(ts_value) + sizeof(unsigned char *) + sizeof(ts_type) +
                              TS_TIME_MAX) + 1);
    if (r->cols == NULL) {
        PQclear(res);
        rows_finish(r);
        return ts_fail(err, TS_E_NOMEM, "postgresql: out of memory starting a query");
    }
    r->vals = r->cols;
    r->blobs = (unsigned char **)(r->vals + nc);
    r->types = (ts_type *)(r->blobs + nc);
    r->times = (char (*)[TS_TIME_MAX])(r->types + nc);
    r->ncols = (int)nc;
    for (int i = 0; i < r->ncols; i++)
        r->types[i] = type_of(PQftype(res, i));
    r->head = res;
    return 0;
}

/*
 * Send the statement; the connection is held by the rows until they are read
 * or closed. Unless deferred, wait for the first result here, so a bad
 * statement fails at query time; deferred, the server works on it while the
 * caller does something else, and the first pg_next waits.
 */
static int query_send(ts_conn *conn, ts_store *s, const char *sql, const ts_value *p, int np,
                      int deferred, ts_rows **out, ts_error *err)
{
    pg_conn *c = PG(conn);
    pg_rows *r;

    *out = NULL;
    if (pg_ready(c, err) || send_statement(c, sql, p, np, err))
        return -1;
    /* Must come before the first PQgetResult. */
    PQsetSingleRowMode(c->pg);
    if ((r = rows_alloc(sql)) == NULL) {
        drain(c);
        return ts_fail(err, TS_E_NOMEM, "postgresql: out of memory starting a query");
    }
    r->base.store = s;
    r->c = c;
    c->base.open_rows = &r->base;
    if (!deferred && rows_start(r, err)) {
        free(r);
        return -1;
    }
    *out = &r->base;
    return 0;
}

static int pg_query(ts_conn *conn, ts_store *s, const char *sql, const ts_value *p, int np,
                    ts_rows **out, ts_error *err)
{
    return query_send(conn, s, sql, p, np, 0, out, err);
}

static int pg_query_deferred(ts_conn *conn, ts_store *s, const char *sql, const ts_value *p,
                             int np, ts_rows **out, ts_error *err)
{
    return query_send(conn, s, sql, p, np, 1, out, err);
}

static int pg_next(ts_rows *rows, ts_error *err)
{
    pg_rows *r = (pg_rows *)rows;
    PGresult *res;

    if (r->done)
        return 0;
    if (r->head == NULL && rows_start(r, err)) /* deferred: its first result */
        return -1;
    row_release(r);
    if (!r->started) {
        r->started = 1;
        res = r->head;
    } else {
        res = r->cur = PQgetResult(r->c->pg);
    }
    switch (PQresultStatus(res)) {
    case PGRES_SINGLE_TUPLE:
        r->row = res;
        return row_decode(r, err) ? -1 : 1;
    case PGRES_TUPLES_OK: /* the empty result that ends a single-row query */
        rows_finish(r);
        return 0;
    default:
        pg_fail(r->c, res, r->sql, err);
        rows_finish(r);
        return -1;
    }
}

static int pg_ncols(const ts_rows *rows) { return ((const pg_rows *)rows)->ncols; }

static const char *pg_colname(const ts_rows *rows, int col)
{
    const pg_rows *r = (const pg_rows *)rows;
    return col >= 0 && col < r->ncols ? PQfname(r->head, col) : NULL;
}

static ts_value pg_get(const ts_rows *rows, int col)
{
    const pg_rows *r = (const pg_rows *)rows;
    return r->row != NULL && col >= 0 && col < r->ncols ? r->vals[col] : ts_null();
}

/*
 * Closing early reads the rest of the result and drops it. Cancelling would be
 * faster on a huge result but aborts the caller's open transaction; queries
 * that stop early on purpose should say LIMIT.
 */
static void pg_rows_close(ts_rows *rows)
{
    pg_rows *r = (pg_rows *)rows;

    if (!r->done)
        rows_finish(r);
    PQclear(r->head);
    free(r->cols);
    free(r);
}

/* Make room for n more bytes in the COPY buffer. */
static int bulk_reserve(pg_bulk *b, size_t n, ts_error *err)
{
    if (b->len + n <= b->cap)
        return 0;
    size_t cap = b->cap;
    while (cap < b->len + n)
        cap *= 2;
    char *p = realloc(b->buf, cap);
    if (p == NULL)
        return ts_fail(err, TS_E_NOMEM, "postgresql: out of memory buffering a bulk load");
    b->buf = p;
    b->cap = cap;
    return 0;
}

static int bulk_flush(pg_bulk *b, ts_error *err)
{
    if (b->len > 0 && PQputCopyData(b->c->pg, b->buf, (int)b->len) != 1)
        return pg_fail(b->c, NULL, b->sql, err);
    b->len = 0;
    return 0;
}

static void bulk_free(pg_bulk *b)
{
    b->c->copying = 0;
    free(b->buf);
    free(b->sql);
    free(b);
}

static int pg_bulk_begin(ts_conn *conn, ts_store *s, const char *qtable, const char *const *cols,
                         int ncols, ts_bulk **out, ts_error *err)
{
    pg_conn *c = PG(conn);
    size_t cap = strlen(qtable) + 48 + (size_t)ncols * (TS_IDENT_MAX + 5), n;
    pg_bulk *b;
    PGresult *res;
    char q[TS_IDENT_MAX + 3];

    (void)s;
    *out = NULL;
    if (pg_ready(c, err))
        return -1;
    b = calloc(1, sizeof *b);
    if (b == NULL || (b->sql = malloc(cap)) == NULL || (b->buf = malloc(COPY_BATCH)) == NULL) {
        if (b != NULL)
            free(b->sql);
        free(b);
        return ts_fail(err, TS_E_NOMEM, "postgresql: out of memory starting a bulk load");
    }
    b->c = c;
    b->ncols = ncols;
    b->cap = COPY_BATCH;
    n = (size_t)snprintf(b->sql, cap, "COPY %s (", qtable);
    for (int i = 0; i < ncols; i++) {
        if (ts_quote_ident(cols[i], q, err)) {
            bulk_free(b);
            return -1;
        }
        n += (size_t)snprintf(b->sql + n, cap - n, "%s%s", i ? ", " : "", q);
    }
    snprintf(b->sql + n, cap - n, ") FROM STDIN");
    res = PQexec(c->pg, b->sql);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        pg_fail(c, res, b->sql, err);
        PQclear(res);
        drain(c);
        bulk_free(b);
        return -1;
    }
    PQclear(res);
    c->copying = 1;
    *out = &b->base;
    return 0;
}

/* Append one field in COPY text format. */
static int copy_field(pg_bulk *b, const ts_value *v, int k, ts_error *err)
{
    static const char hex[] = "0123456789abcdef";
    char *o;

    switch (v->type) {
    case TS_NULL:
        if (bulk_reserve(b, 2, err))
            return -1;
        memcpy(b->buf + b->len, "\\N", 2);
        b->len += 2;
        return 0;
    case TS_INT:
    case TS_DOUBLE:
    case TS_BOOL:
    case TS_TIME:
        if (bulk_reserve(b, 32, err))
            return -1;
        o = b->buf + b->len;
        if (v->type == TS_INT)
            snprintf(o, 32, "%" PRId64, v->i);
        else if (v->type == TS_DOUBLE)
            format_double(v->d, o, 32);
        else if (v->type == TS_BOOL)
            snprintf(o, 32, "%s", v->i ? "t" : "f");
        else if (ts_time_canon(v->s, v->len, o, err)) /* canonical text needs no escaping */
            return -1;
        b->len += strlen(o);
        return 0;
    case TS_TEXT:
        if (check_text(v, k, err) || bulk_reserve(b, 2 * v->len, err))
            return -1;
        o = b->buf + b->len;
        for (size_t i = 0; i < v->len; i++) {
            char ch = v->s[i];
            if (ch == '\\' || ch == '\t' || ch == '\n' || ch == '\r') {
                *o++ = '\\';
                ch = ch == '\t' ? 't' : ch == '\n' ? 'n' : ch == '\r' ? 'r' : '\\';
            }
            *o++ = ch;
        }
        b->len = (size_t)(o - b->buf);
        return 0;
    case TS_BLOB:
        /* bytea's hex input "\x0a1b...", its backslash doubled by COPY's escaping. */
        if (bulk_reserve(b, 3 + 2 * v->len, err))
            return -1;
        o = b->buf + b->len;
        memcpy(o, "\\\\x", 3);
        o += 3;
        for (size_t i = 0; i < v->len; i++) {
            unsigned char byte = (unsigned char)v->s[i];
            *o++ = hex[byte >> 4];
            *o++ = hex[byte & 15];
        }
        b->len = (size_t)(o - b->buf);
        return 0;
    }
    return ts_fail(err, TS_E_INTERNAL, "postgresql: unknown value type %d", (int)v->type);
}

static int pg_bulk_add(ts_bulk *bulk, const ts_value *row, ts_error *err)
{
    pg_bulk *b = (pg_bulk *)bulk;
    size_t start = b->len;

    for (int i = 0; i < b->ncols; i++) {
        if (copy_field(b, &row[i], i + 1, err) || bulk_reserve(b, 1, err)) {
            b->len = start; /* drop the half-written row; the load can go on */
            return -1;
        }
        b->buf[b->len++] = i + 1 < b->ncols ? '\t' : '\n';
    }
    return b->len >= COPY_BATCH ? bulk_flush(b, err) : 0;
}

static int pg_bulk_finish(ts_bulk *bulk, ts_error *err)
{
    pg_bulk *b = (pg_bulk *)bulk;
    pg_conn *c = b->c;
    PGresult *res;
    int rc = bulk_flush(b, err);

    if (PQputCopyEnd(c->pg, rc ? "tenantshift: sending the data failed" : NULL) != 1 && rc == 0)
        rc = pg_fail(c, NULL, b->sql, err);
    /* The server's verdict on the whole COPY: constraint errors show up here. */
    while ((res = PQgetResult(c->pg)) != NULL) {
        if (rc == 0 && PQresultStatus(res) != PGRES_COMMAND_OK)
            rc = pg_fail(c, res, b->sql, err);
        PQclear(res);
    }
    bulk_free(b);
    return rc;
}

/* Ending COPY with an error message makes the server discard it; in a caller's
   transaction that aborts the transaction, which the caller must roll back. */
static void pg_bulk_abort(ts_bulk *bulk)
{
    pg_bulk *b = (pg_bulk *)bulk;

    PQputCopyEnd(b->c->pg, "tenantshift: bulk load aborted");
    drain(b->c);
    bulk_free(b);
}

static int pg_table_exists(ts_conn *c, const ts_store *s, const char *table, int *exists,
                           ts_error *err)
{
    ts_value p[2] = {ts_text(s->schema), ts_text(table)};
    PGresult *res;

    /* Ordinary and partitioned tables, like SQLite's type = 'table'. */
    if (run(PG(c),
            "SELECT 1 FROM pg_catalog.pg_class c "
            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')",
            p, 2, &res, err))
        return -1;
    *exists = PQntuples(res) > 0;
    PQclear(res);
    return 0;
}

/* Run a one-value query on the id sequence of table; *isnull says the value was NULL. */
static int seq_query(pg_conn *c, const ts_store *s, const char *table, const char *sql,
                     const ts_value *extra, int64_t *value, int *isnull, ts_error *err)
{
    char qt[TS_QNAME_MAX];
    ts_value p[2];
    PGresult *res;

    if (ts_store_table(s, table, qt, err))
        return -1;
    p[0] = ts_text(qt);
    if (extra != NULL)
        p[1] = *extra;
    if (run(c, sql, p, extra ? 2 : 1, &res, err))
        return -1;
    *isnull = PQntuples(res) == 0 || PQgetisnull(res, 0, 0);
    *value = *isnull ? 0 : strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return 0;
}

static int no_sequence(const char *table, ts_error *err)
{
    return ts_fail(err, TS_E_NOTFOUND,
                   "postgresql: table %s has no sequence on column id: declare id as BIGSERIAL "
                   "or GENERATED BY DEFAULT AS IDENTITY", table);
}

static int pg_next_id(ts_conn *c, const ts_store *s, const char *table, int64_t *id,
                      ts_error *err)
{
    int isnull;

    if (seq_query(PG(c), s, table, "SELECT nextval(pg_catalog.pg_get_serial_sequence($1, 'id'))",
                  NULL, id, &isnull, err))
        return -1;
    return isnull ? no_sequence(table, err) : 0;
}

/*
 * Raise the sequence so its next value is above floor. It writes only when it
 * must raise, so a floor already passed never races with other sessions'
 * nextval; setval is not monotonic, so it could only lower the sequence if
 * others drew it past floor in the instant between the check and the setval.
 * pg_sequence_last_value is NULL until the first nextval; then seqstart is next.
 */
static int pg_id_floor(ts_conn *c, const ts_store *s, const char *table, int64_t floor,
                       ts_error *err)
{
    ts_value f = ts_int(floor);
    int64_t v;
    int isnull;

    if (seq_query(PG(c), s, table,
                  "SELECT 1 WHERE pg_catalog.pg_get_serial_sequence($1, 'id') IS NOT NULL", NULL,
                  &v, &isnull, err))
        return -1;
    if (isnull)
        return no_sequence(table, err);
    return seq_query(PG(c), s, table,
                     "SELECT pg_catalog.setval(q.seqrelid, $2, true) "
                     "FROM pg_catalog.pg_sequence q "
                     "WHERE q.seqrelid = pg_catalog.pg_get_serial_sequence($1, 'id')::regclass "
                     "AND COALESCE(pg_catalog.pg_sequence_last_value(q.seqrelid) + q.seqincrement, "
                     "q.seqstart) <= $2",
                     &f, &v, &isnull, err);
}

static int pg_listen(ts_conn *c, const char *channel, ts_error *err)
{
    char sql[TS_IDENT_MAX + 16];
    snprintf(sql, sizeof sql, "LISTEN \"%s\"", channel); /* channel validated by ts_store.c */
    return pg_exec(c, sql, NULL, 0, NULL, err) || remember(PG(c), sql, NULL, err) ? -1 : 0;
}

static int pg_notified(ts_conn *conn, int *n, ts_error *err)
{
    pg_conn *c = PG(conn);
    PGnotify *note;
    /* Reads what the server sent without blocking; a broken connection shows here. */
    if (pg_ready(c, err))
        return -1;
    if (!PQconsumeInput(c->pg))
        return ts_fail(err, TS_E_CONN, "postgresql: reading notifications: %s",
                       PQerrorMessage(c->pg));
    while ((note = PQnotifies(c->pg)) != NULL) {
        (*n)++;
        PQfreemem(note);
    }
    return 0;
}

static int pg_check(ts_conn *conn, ts_error *err)
{
    pg_conn *c = PG(conn);
    if (c->base.open_rows != NULL || c->copying)
        return 0;   /* in use: its statement finds out */
    return pg_ready(c, err);
}

static int pg_server_version(ts_conn *c) { return PQserverVersion(PG(c)->pg); }

static int pg_statement_timeout(ts_conn *c, int ms, ts_error *err)
{
    char v[24];
    snprintf(v, sizeof v, "%d", ms);
    ts_value p = ts_text(v);
    /* set_config(..., true) is SET LOCAL: the bound ends with the transaction. */
    return pg_exec(c, "SELECT set_config('statement_timeout', $1, true)", &p, 1, NULL, err);
}

const ts_driver ts_driver_pg = {
    .name = "postgresql",
    .engine = TS_ENGINE_PG,
    .open = pg_open,
    .close = pg_close,
    .attach = pg_attach,
    .same_database = pg_same_database,
    .exec = pg_exec,
    .script = pg_script,
    .exec_commit = pg_exec_commit,
    .query = pg_query,
    .query_deferred = pg_query_deferred,
    .next = pg_next,
    .ncols = pg_ncols,
    .colname = pg_colname,
    .get = pg_get,
    .rows_close = pg_rows_close,
    .bulk_begin = pg_bulk_begin,
    .bulk_add = pg_bulk_add,
    .bulk_finish = pg_bulk_finish,
    .bulk_abort = pg_bulk_abort,
    .table_exists = pg_table_exists,
    .next_id = pg_next_id,
    .id_floor = pg_id_floor,
    .server_version = pg_server_version,
    .statement_timeout = pg_statement_timeout,
    .listen = pg_listen,
    .notified = pg_notified,
    .check = pg_check,
};
