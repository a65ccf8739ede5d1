/* ts_typemap.c: declared types, their classes and the SQLite -> PostgreSQL map. */
#include "ts_typemap.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The name of a declared type, upper-cased with single spaces ("DOUBLE PRECISION"),
   and the text inside its parentheses ("10,2"), both without surrounding space. */
static void split_decl(const char *decl, char *name, size_t nsize, char *args, size_t asize)
{
    size_t n = 0, a = 0;
    const char *p = decl;
    int space = 0;
    while (*p && *p != '(' && n + 1 < nsize) {
        if (isspace((unsigned char)*p)) {
            space = n > 0;
        } else {
            if (space && n + 2 < nsize)
                name[n++] = ' ';
            space = 0;
            name[n++] = (char)toupper((unsigned char)*p);
        }
        p++;
    }
    name[n] = '\0';
    if (*p == '(') {
        for (p++; *p && *p != ')' && a + 1 < asize; p++)
            if (!isspace((unsigned char)*p))
                args[a++] = *p;
    }
    args[a] = '\0';
}

static int first_number(const char *args)
{
    return args[0] >= '0' && args[0] <= '9' ? atoi(args) : 0;
}

typedef struct sqlite_name {
    const char *name;
    ts_coltype type;
    const char *pg;     /* PostgreSQL spelling; "%s" takes the arguments */
    int sized;          /* the argument is a character length */
} sqlite_name;

/* Names SQLAlchemy and hand-written SQLite schemas use, most specific first. */
static const sqlite_name names[] = {
    {"BIGINT", TS_COL_INT, "bigint"},
    {"INT8", TS_COL_INT, "bigint"},
    {"UNSIGNED BIG INT", TS_COL_INT, "bigint"},
    {"SMALLINT", TS_COL_INT, "smallint"},
    {"INT2", TS_COL_INT, "smallint"},
    {"TINYINT", TS_COL_INT, "smallint"},
    {"MEDIUMINT", TS_COL_INT, "integer"},
    {"INTEGER", TS_COL_INT, "integer"},
    {"INT", TS_COL_INT, "integer"},
    {"INT4", TS_COL_INT, "integer"},
    {"BOOLEAN", TS_COL_BOOL, "boolean"},
    {"BOOL", TS_COL_BOOL, "boolean"},
    {"DATETIME", TS_COL_TIMESTAMP, "timestamp without time zone"},
    {"TIMESTAMP", TS_COL_TIMESTAMP, "timestamp without time zone"},
    {"TIMESTAMP WITHOUT TIME ZONE", TS_COL_TIMESTAMP, "timestamp without time zone"},
    {"TIMESTAMPTZ", TS_COL_TIME, "timestamp with time zone"},
    {"TIMESTAMP WITH TIME ZONE", TS_COL_TIME, "timestamp with time zone"},
    {"DATE", TS_COL_DATE, "date"},
    {"TIME", TS_COL_TIMEOFDAY, "time without time zone"},
    {"REAL", TS_COL_DOUBLE, "double precision"},
    {"FLOAT", TS_COL_DOUBLE, "double precision"},
    {"DOUBLE", TS_COL_DOUBLE, "double precision"},
    {"DOUBLE PRECISION", TS_COL_DOUBLE, "double precision"},
    {"NUMERIC", TS_COL_NUMERIC, "numeric%s"},
    {"DECIMAL", TS_COL_NUMERIC, "numeric%s"},
    {"VARCHAR", TS_COL_TEXT, "character varying%s", 1},
    {"CHARACTER VARYING", TS_COL_TEXT, "character varying%s", 1},
    {"NVARCHAR", TS_COL_TEXT, "character varying%s", 1},
    {"VARYING CHARACTER", TS_COL_TEXT, "character varying%s", 1},
    {"NATIVE CHARACTER", TS_COL_TEXT, "character varying%s", 1},
    /* PostgreSQL's char(n) pads with spaces, SQLite keeps the value as it is. */
    {"CHAR", TS_COL_TEXT, "character varying%s", 1},
    {"CHARACTER", TS_COL_TEXT, "character varying%s", 1},
    {"NCHAR", TS_COL_TEXT, "character varying%s", 1},
    {"TEXT", TS_COL_TEXT, "text"},
    {"CLOB", TS_COL_TEXT, "text"},
    {"STRING", TS_COL_TEXT, "text"},
    {"JSON", TS_COL_JSON, "json"},
    {"JSONB", TS_COL_JSON, "jsonb"},
    {"UUID", TS_COL_UUID, "uuid"},
    {"BLOB", TS_COL_BLOB, "bytea"},
    {"BYTEA", TS_COL_BLOB, "bytea"},
};

int ts_typemap_sqlite(const char *decl, ts_coltype *type, int *maxlen, char *pg, size_t size,
                      ts_error *err)
{
    char name[64], args[64], paren[80] = "";
    split_decl(decl ? decl : "", name, sizeof name, args, sizeof args);
    if (args[0])
        snprintf(paren, sizeof paren, "(%s)", args);
    *maxlen = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(names[i].name, name) == 0) {
            *type = names[i].type;
            if (names[i].sized)
                *maxlen = first_number(args);
            snprintf(pg, size, names[i].pg, paren);
            return 0;
        }
    if (name[0] == '\0')
        return ts_fail(err, TS_E_INVALID, "the column is declared without a type, so its values "
                       "may be of any kind and no store type holds them faithfully: declare a "
                       "type for it in the legacy database");
    /* SQLite's own affinity rules (https://sqlite.org/datatype3.html 3.1). */
    if (strstr(name, "INT")) {
        *type = TS_COL_INT;
        snprintf(pg, size, "bigint");
    } else if (strstr(name, "CHAR") || strstr(name, "CLOB") || strstr(name, "TEXT")) {
        *type = TS_COL_TEXT;
        snprintf(pg, size, "text");
    } else if (strstr(name, "BLOB")) {
        *type = TS_COL_BLOB;
        snprintf(pg, size, "bytea");
    } else if (strstr(name, "REAL") || strstr(name, "FLOA") || strstr(name, "DOUB")) {
        *type = TS_COL_DOUBLE;
        snprintf(pg, size, "double precision");
    } else {
        *type = TS_COL_NUMERIC;
        snprintf(pg, size, "numeric");
    }
    return 0;
}

void ts_typemap_pg(const char *f, char typtype, char category, ts_coltype *type, int *maxlen)
{
    *maxlen = 0;
    if (category == 'A') {
        *type = TS_COL_OTHER; /* arrays compare as PostgreSQL prints them */
        return;
    }
    if (typtype == 'e') {
        *type = TS_COL_TEXT;
        return;
    }
    if (!strcmp(f, "smallint") || !strcmp(f, "integer") || !strcmp(f, "bigint") ||
        !strcmp(f, "oid"))
        *type = TS_COL_INT;
    else if (!strcmp(f, "real") || !strcmp(f, "double precision"))
        *type = TS_COL_DOUBLE;
    else if (!strncmp(f, "numeric", 7))
        *type = TS_COL_NUMERIC;
    else if (!strcmp(f, "boolean"))
        *type = TS_COL_BOOL;
    else if (!strncmp(f, "timestamp", 9))
        *type = strstr(f, "with time zone") && !strstr(f, "without") ? TS_COL_TIME
                                                                      : TS_COL_TIMESTAMP;
    else if (!strcmp(f, "date"))
        *type = TS_COL_DATE;
    else if (!strncmp(f, "time", 4))
        *type = TS_COL_TIMEOFDAY;
    else if (!strcmp(f, "json") || !strcmp(f, "jsonb"))
        *type = TS_COL_JSON;
    else if (!strcmp(f, "uuid"))
        *type = TS_COL_UUID;
    else if (!strcmp(f, "bytea"))
        *type = TS_COL_BLOB;
    else if (!strncmp(f, "character varying", 17) || !strncmp(f, "character", 9) ||
             !strcmp(f, "text") || !strcmp(f, "name") || !strcmp(f, "citext"))
        *type = TS_COL_TEXT;
    else
        *type = category == 'S' ? TS_COL_TEXT : category == 'N' ? TS_COL_NUMERIC
                                                                : TS_COL_OTHER;
    const char *paren = strchr(f, '(');
    if (*type == TS_COL_TEXT && paren && !strncmp(f, "character", 9))
        *maxlen = atoi(paren + 1);
}

/* s[0..n) is a number: [+-]digits[.digits][e[+-]digits]. */
static int is_number(const char *s, size_t n)
{
    size_t i = 0, digits = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        i++;
    for (; i < n && isdigit((unsigned char)s[i]); i++)
        digits++;
    if (i < n && s[i] == '.')
        for (i++; i < n && isdigit((unsigned char)s[i]); i++)
            digits++;
    if (digits && i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= n || !isdigit((unsigned char)s[i]))
            return 0;
        while (i < n && isdigit((unsigned char)s[i]))
            i++;
    }
    return digits > 0 && i == n;
}

/* s[0..n) is one SQL string literal ('it''s'). */
static int is_string(const char *s, size_t n)
{
    if (n < 2 || s[0] != '\'' || s[n - 1] != '\'')
        return 0;
    for (size_t i = 1; i + 1 < n; i++)
        if (s[i] == '\'' && s[++i] != '\'')
            return 0;
    return 1;
}

int ts_typemap_sqlite_default(const char *dflt, ts_coltype type, char *out, size_t size,
                              ts_error *err)
{
    const char *s = dflt;
    size_t n = strlen(s);
    /* Unwrap (expr) and surrounding space. */
    for (;;) {
        while (n && isspace((unsigned char)*s))
            s++, n--;
        while (n && isspace((unsigned char)s[n - 1]))
            n--;
        if (n >= 2 && s[0] == '(' && s[n - 1] == ')')
            s++, n -= 2;
        else
            break;
    }
    static const char *const words[] = {"NULL", "TRUE", "FALSE", "CURRENT_TIMESTAMP",
                                        "CURRENT_DATE", "CURRENT_TIME"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strlen(words[i]) == n && strncasecmp(s, words[i], n) == 0) {
            snprintf(out, size, "%s", words[i]);
            return 0;
        }
    if (type == TS_COL_BOOL && n == 1 && (s[0] == '0' || s[0] == '1')) {
        snprintf(out, size, "%s", s[0] == '1' ? "true" : "false");
        return 0;
    }
    if ((is_number(s, n) && type != TS_COL_BOOL) || is_string(s, n)) {
        if (n + 1 > size)
            return ts_fail(err, TS_E_INVALID, "its default is longer than %zu bytes", size - 1);
        memcpy(out, s, n);
        out[n] = '\0';
        return 0;
    }
    return ts_fail(err, TS_E_INVALID, "its default (%.80s) is SQLite SQL that PostgreSQL may not "
                   "run the same way; only literals, NULL and CURRENT_TIMESTAMP/_DATE/_TIME are "
                   "carried across engines: give the column a literal default in the legacy "
                   "database, or drop the default there", dflt);
}
