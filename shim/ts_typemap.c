/* ts_typemap.c: what the declared types of a catalog hold (see ts_typemap.h). */
#include "ts_typemap.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

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
    int sized;          /* the argument is a character length */
} sqlite_name;

/* Names SQLAlchemy and hand-written SQLite schemas use, most specific first. */
static const sqlite_name names[] = {
    {"BIGINT", TS_COL_INT},
    {"INT8", TS_COL_INT},
    {"UNSIGNED BIG INT", TS_COL_INT},
    {"SMALLINT", TS_COL_INT},
    {"INT2", TS_COL_INT},
    {"TINYINT", TS_COL_INT},
    {"MEDIUMINT", TS_COL_INT},
    {"INTEGER", TS_COL_INT},
    {"INT", TS_COL_INT},
    {"INT4", TS_COL_INT},
    {"BOOLEAN", TS_COL_BOOL},
    {"BOOL", TS_COL_BOOL},
    {"DATETIME", TS_COL_TIMESTAMP},
    {"TIMESTAMP", TS_COL_TIMESTAMP},
    {"TIMESTAMP WITHOUT TIME ZONE", TS_COL_TIMESTAMP},
    {"TIMESTAMPTZ", TS_COL_TIME},
    {"TIMESTAMP WITH TIME ZONE", TS_COL_TIME},
    {"DATE", TS_COL_DATE},
    {"TIME", TS_COL_TIMEOFDAY},
    {"REAL", TS_COL_DOUBLE},
    {"FLOAT", TS_COL_DOUBLE},
    {"DOUBLE", TS_COL_DOUBLE},
    {"DOUBLE PRECISION", TS_COL_DOUBLE},
    {"NUMERIC", TS_COL_NUMERIC},
    {"DECIMAL", TS_COL_NUMERIC},
    {"VARCHAR", TS_COL_TEXT, 1},
    {"CHARACTER VARYING", TS_COL_TEXT, 1},
    {"NVARCHAR", TS_COL_TEXT, 1},
    {"VARYING CHARACTER", TS_COL_TEXT, 1},
    {"NATIVE CHARACTER", TS_COL_TEXT, 1},
    /* PostgreSQL's char(n) pads with spaces, SQLite keeps the value as it is. */
    {"CHAR", TS_COL_TEXT, 1},
    {"CHARACTER", TS_COL_TEXT, 1},
    {"NCHAR", TS_COL_TEXT, 1},
    {"TEXT", TS_COL_TEXT},
    {"CLOB", TS_COL_TEXT},
    {"STRING", TS_COL_TEXT},
    {"JSON", TS_COL_JSON},
    {"JSONB", TS_COL_JSON},
    {"UUID", TS_COL_UUID},
    {"BLOB", TS_COL_BLOB},
    {"BYTEA", TS_COL_BLOB},
};

int ts_typemap_sqlite(const char *decl, ts_coltype *type, int *maxlen, ts_error *err)
{
    char name[64], args[64];
    split_decl(decl ? decl : "", name, sizeof name, args, sizeof args);
    *maxlen = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(names[i].name, name) == 0) {
            *type = names[i].type;
            if (names[i].sized)
                *maxlen = first_number(args);
            return 0;
        }
    if (name[0] == '\0')
        return ts_fail(err, TS_E_INVALID, "the column is declared without a type, so its values "
                       "may be of any kind and no store type holds them faithfully: declare a "
                       "type for it in the legacy database");
    /* SQLite's own affinity rules (https://sqlite.org/datatype3.html 3.1). */
    if (strstr(name, "INT"))
        *type = TS_COL_INT;
    else if (strstr(name, "CHAR") || strstr(name, "CLOB") || strstr(name, "TEXT"))
        *type = TS_COL_TEXT;
    else if (strstr(name, "BLOB"))
        *type = TS_COL_BLOB;
    else if (strstr(name, "REAL") || strstr(name, "FLOA") || strstr(name, "DOUB"))
        *type = TS_COL_DOUBLE;
    else
        *type = TS_COL_NUMERIC;
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

