/*
 * ts_schema.c: look up tables and columns, order tables, render DDL per engine, apply it
 * once. Which tables there are is ts_schema_derive.c's.
 */
#include "ts_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ts_arena.h"
#include "ts_buf.h"

int ts_schema_is_own(const char *table)
{
    if (strncmp(table, "sqlite_", 7) == 0 || strcmp(table, "ts_schema_version") == 0 ||
        strcmp(table, "ts_sequences") == 0)
        return 1;
    return ts_schema_table(ts_schema_control(), table) != NULL ||
           ts_schema_table(ts_schema_journal(), table) != NULL;
}

int ts_schema_is_runtime(const char *table)
{
    return strncmp(table, "ts_", 3) == 0 && ts_schema_table(ts_schema_declared(), table) != NULL;
}

void ts_schema_free(ts_schema *sc)
{
    if (sc == NULL)
        return;
    ts_arena a = sc->arena;
    ts_arena_free(&a); /* sc itself lives in its arena */
}


const ts_table *ts_schema_table(const ts_schema *sc, const char *name)
{
    for (int i = 0; i < sc->ntables; i++)
        if (strcmp(sc->tables[i].name, name) == 0)
            return &sc->tables[i];
    return NULL;
}

int ts_table_column_index(const ts_table *t, const char *name)
{
    for (int i = 0; i < t->ncols; i++)
        if (strcmp(t->cols[i].name, name) == 0)
            return i;
    return -1;
}

const ts_column *ts_table_column(const ts_table *t, const char *name)
{
    int i = ts_table_column_index(t, name);
    return i < 0 ? NULL : &t->cols[i];
}

static int find_table(const ts_table *tables, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(tables[i].name, name) == 0)
            return i;
    return -1;
}

/* Repeatedly place, in name order, the first table whose references are all
   placed; when a cycle leaves none, the first remaining one. Quadratic in
   the tables of one database, which are a few hundred at most. */
int ts_schema_order(ts_table *tables, int n)
{
    unsigned char *placed = calloc((size_t)n + 1, 1);
    ts_table *sorted = calloc((size_t)n + 1, sizeof *sorted);
    if (placed == NULL || sorted == NULL) {
        free(placed);
        free(sorted);
        return -1;
    }
    for (int k = 0; k < n; k++) {
        int pick = -1, first = -1;
        for (int i = 0; i < n; i++) {
            if (placed[i])
                continue;
            if (first < 0 || strcmp(tables[i].name, tables[first].name) < 0)
                first = i;
            int ready = 1;
            for (int f = 0; f < tables[i].nfks && ready; f++) {
                int r = find_table(tables, n, tables[i].fks[f].table);
                ready = r < 0 || r == i || placed[r];
            }
            if (ready && (pick < 0 || strcmp(tables[i].name, tables[pick].name) < 0))
                pick = i;
        }
        if (pick < 0)
            pick = first;
        placed[pick] = 1;
        sorted[k] = tables[pick];
    }
    memcpy(tables, sorted, (size_t)n * sizeof *tables);
    free(placed);
    free(sorted);
    return 0;
}

const char *ts_coltype_name(ts_coltype t)
{
    switch (t) {
    case TS_COL_ID: return "id";
    case TS_COL_INT: return "integer";
    case TS_COL_DOUBLE: return "double";
    case TS_COL_NUMERIC: return "numeric";
    case TS_COL_TEXT: return "text";
    case TS_COL_BOOL: return "bool";
    case TS_COL_TIMESTAMP: return "timestamp";
    case TS_COL_TIME: return "time";
    case TS_COL_DATE: return "date";
    case TS_COL_TIMEOFDAY: return "time of day";
    case TS_COL_JSON: return "json";
    case TS_COL_UUID: return "uuid";
    case TS_COL_BLOB: return "blob";
    case TS_COL_OTHER: return "other";
    }
    return "?";
}

/* ---- DDL ---------------------------------------------------------------- */

/* Quote every name of a comma-separated list. Declared lists are trusted
   (compiled in), but quoting keeps reserved words such as "key" safe. */
int ts_schema_list_next(const char **p, char *name, size_t size)
{
    const char *s = *p;
    while (*s == ' ')
        s++;
    size_t n = strcspn(s, ",");
    const char *e = s + n;
    while (e > s && e[-1] == ' ')
        e--;
    if (e == s || (size_t)(e - s) >= size)
        return 0;
    memcpy(name, s, (size_t)(e - s));
    name[e - s] = '\0';
    *p = s + n + (s[n] == ',');
    return 1;
}

int ts_schema_list_count(const char *cols)
{
    char name[TS_IDENT_MAX + 1];
    int n = 0;
    while (cols && ts_schema_list_next(&cols, name, sizeof name))
        n++;
    return n;
}

int ts_schema_fk_columns(const ts_table *t, const ts_fk *fk, const ts_table *rt, int *cols,
                         int *refs, int max, int *n)
{
    char c[TS_IDENT_MAX + 1], r[TS_IDENT_MAX + 1];
    const char *cp = fk->cols, *rp = fk->ref_cols;
    *n = 0;
    while (ts_schema_list_next(&cp, c, sizeof c) && ts_schema_list_next(&rp, r, sizeof r)) {
        if (*n == max || (cols[*n] = ts_table_column_index(t, c)) < 0 ||
            (refs[*n] = ts_table_column_index(rt, r)) < 0)
            return -1;
        ++*n;
    }
    return *cp || *rp || *n == 0 ? -1 : 0;
}

void ts_schema_quote_list(ts_buf *b, const char *cols)
{
    char name[TS_IDENT_MAX + 1];
    for (int i = 0; ts_schema_list_next(&cols, name, sizeof name); i++)
        ts_buf_printf(b, "%s\"%s\"", i ? ", " : "", name);
}

static const char *type_sql(ts_coltype t, ts_engine e)
{
    int pg = e == TS_ENGINE_PG;
    switch (t) {
    case TS_COL_ID:
    case TS_COL_INT: return pg ? "BIGINT" : "INTEGER";
    case TS_COL_DOUBLE: return pg ? "DOUBLE PRECISION" : "REAL";
    case TS_COL_TEXT: return "TEXT";
    case TS_COL_BOOL: return "BOOLEAN";
    case TS_COL_TIME: return pg ? "TIMESTAMPTZ" : "TIMESTAMP";
    case TS_COL_JSON: return pg ? "JSON" : "TEXT";
    default: break;   /* classes only a catalog reports: built-in tables have none */
    }
    return "TEXT";
}

/* "bot_id, user_id" -> "bot_id_user_id" */
static void squash(const char *cols, char *out, size_t n)
{
    size_t k = 0;
    for (const char *p = cols; *p && k + 1 < n; p++)
        if (*p != ' ')
            out[k++] = *p == ',' ? '_' : *p;
    out[k] = '\0';
}


/* The type of a column read from a catalog, for engine e: as declared when e
   is the engine it was read from, else the type of e that holds the same
   values (docs/architecture.md, "Types across engines"). */
static void live_type(ts_buf *b, const ts_column *c, ts_engine e)
{
    int pg = e == TS_ENGINE_PG;
    if (c->dialect == e) {
        ts_buf_puts(b, c->sqltype);
        return;
    }
    switch (c->type) {
    case TS_COL_ID:
    case TS_COL_INT: ts_buf_puts(b, "BIGINT"); return;
    case TS_COL_DOUBLE: ts_buf_puts(b, pg ? "DOUBLE PRECISION" : "FLOAT"); return;
    case TS_COL_BOOL: ts_buf_puts(b, "BOOLEAN"); return;
    /* The SQLite driver reads a TIMESTAMP column as a point in time (UTC)
       and DATETIME, SQLAlchemy's spelling, as the wall clock it holds. */
    case TS_COL_TIME: ts_buf_puts(b, pg ? "TIMESTAMPTZ" : "TIMESTAMP"); return;
    case TS_COL_TIMESTAMP: ts_buf_puts(b, pg ? "TIMESTAMP" : "DATETIME"); return;
    case TS_COL_DATE: ts_buf_puts(b, "DATE"); return;
    case TS_COL_TIMEOFDAY: ts_buf_puts(b, "TIME"); return;
    case TS_COL_NUMERIC: ts_buf_puts(b, "NUMERIC"); return;
    case TS_COL_JSON: ts_buf_puts(b, "JSON"); return;
    case TS_COL_UUID: ts_buf_puts(b, pg ? "UUID" : "VARCHAR(36)"); return;
    case TS_COL_BLOB: ts_buf_puts(b, pg ? "BYTEA" : "BLOB"); return;
    case TS_COL_TEXT:
        if (c->maxlen > 0) {
            ts_buf_printf(b, "VARCHAR(%d)", c->maxlen);
            return;
        }
        break;
    case TS_COL_OTHER: break;
    }
    ts_buf_puts(b, "TEXT");
}

/* A catalog default that means the same on engine e: as declared on its own
   engine; across engines only what both spell alike (numbers, strings, the
   current time, booleans as TRUE/FALSE). Anything else is left out
   (docs/architecture.md): tenantshift's own writes fill every column they carry. */
static void live_default(ts_buf *b, const ts_column *c, ts_engine e)
{
    const char *d = c->dflt;
    if (d == NULL)
        return;
    if (c->dialect == e) {
        ts_buf_printf(b, " DEFAULT %s", d);
        return;
    }
    while (*d == '(')
        d++;
    size_t n = strcspn(d, ")");
    if (c->type == TS_COL_BOOL) {
        int t = (n == 1 && d[0] == '1') || (n == 4 && strncasecmp(d, "true", 4) == 0) ||
                (n == 6 && strncasecmp(d, "'true'", 6) == 0);
        int f = (n == 1 && d[0] == '0') || (n == 5 && strncasecmp(d, "false", 5) == 0) ||
                (n == 7 && strncasecmp(d, "'false'", 7) == 0);
        if (t || f)
            ts_buf_puts(b, t ? " DEFAULT TRUE" : " DEFAULT FALSE");
        return;
    }
    if ((n == 17 && strncasecmp(d, "CURRENT_TIMESTAMP", 17) == 0) ||
        (n == 5 && strncasecmp(d, "now()", 5) == 0))
        ts_buf_puts(b, " DEFAULT CURRENT_TIMESTAMP");
    else if (strspn(d, "-0123456789.") == strlen(d) && *d)
        ts_buf_printf(b, " DEFAULT %s", d);
    else if (d[0] == '\'' && strchr(d + 1, '\'') == d + strlen(d) - 1 && strstr(d, "::") == NULL)
        ts_buf_printf(b, " DEFAULT %s", d);
}

static void render_column(ts_buf *b, const ts_table *t, const ts_column *c, ts_engine e)
{
    int single_pk = strcmp(t->pk, c->name) == 0;
    ts_buf_printf(b, "  \"%s\" ", c->name);
    if (c->type == TS_COL_ID && e == TS_ENGINE_SQLITE && single_pk) {
        /* AUTOINCREMENT: ids are never reused, and sqlite_sequence is a
           counter tenantshift can raise (ts_store_id_floor). */
        ts_buf_puts(b, "INTEGER PRIMARY KEY AUTOINCREMENT");
        return;
    }
    if (c->dialect != 0 && c->type != TS_COL_ID) {
        live_type(b, c, e);
        if (c->notnull)
            ts_buf_puts(b, " NOT NULL");
        live_default(b, c, e);
        return;
    }
    ts_buf_puts(b, type_sql(c->type, e));
    if (c->type == TS_COL_ID && e == TS_ENGINE_PG)
        ts_buf_puts(b, " GENERATED BY DEFAULT AS IDENTITY");
    if (c->notnull)
        ts_buf_puts(b, " NOT NULL");
    if (c->dflt && c->dialect == 0)
        ts_buf_printf(b, " DEFAULT %s", c->dflt);
    if (c->maxlen > 0 && c->dialect == 0)
        ts_buf_printf(b, " CHECK (length(\"%s\") <= %d)", c->name, c->maxlen);
    if (c->type == TS_COL_JSON && e == TS_ENGINE_SQLITE)
        /* json_valid(NULL) is 0 in SQLite 3.40: let NULL through explicitly. */
        ts_buf_printf(b, " CHECK (\"%s\" IS NULL OR json_valid(\"%s\"))", c->name, c->name);
    if (c->check)
        ts_buf_printf(b, " CHECK (%s)", c->check);
}

/* Name of table t in schema (NULL: unqualified). */
static void qname(ts_buf *b, const char *schema, const char *t)
{
    if (schema)
        ts_buf_printf(b, "\"%s\".", schema);
    ts_buf_printf(b, "\"%s\"", t);
}

/* 1 when cols is the leading part of the table's primary key (already indexed). */
static int pk_prefix(const ts_table *t, const char *cols)
{
    size_t n = strlen(cols);
    return strncmp(t->pk, cols, n) == 0 && (t->pk[n] == '\0' || t->pk[n] == ',');
}

/* Start the next item of a CREATE TABLE's list. */
static void item(ts_buf *b, int *n)
{
    ts_buf_puts(b, (*n)++ ? ",\n" : "");
}

/* A catalog index that is not one of the table's plain uniques (those are
   rendered as UNIQUE constraints): partial, expression, or not unique. */
static int index_apart(const ts_index *ix)
{
    int plain = ix->unique && ix->where == NULL;
    for (int k = 0; plain && k < ix->nkeys; k++)
        plain = !(ix->expr && ix->expr[k]);
    return !plain;
}

/* CREATE INDEX for the catalog indexes of t: only on the engine they were
   read from, whose SQL their expressions and predicates are. */
static void render_indexes(ts_buf *b, const char *schema, const ts_table *t, ts_engine e)
{
    for (int i = 0; t->dialect == e && i < t->nindexes; i++) {
        const ts_index *ix = &t->indexes[i];
        if (!index_apart(ix))
            continue;
        ts_buf_printf(b, "CREATE %sINDEX IF NOT EXISTS ", ix->unique ? "UNIQUE " : "");
        char name[TS_IDENT_MAX + 1];
        if (ix->name)
            snprintf(name, sizeof name, "%s", ix->name);
        else
            snprintf(name, sizeof name, "%s_%d_idx", t->name, i);
        if (e == TS_ENGINE_SQLITE) {
            qname(b, schema, name);
            ts_buf_printf(b, " ON \"%s\"", t->name);
        } else {
            ts_buf_printf(b, "\"%s\" ON ", name);
            qname(b, schema, t->name);
            if (ix->method)
                ts_buf_printf(b, " USING %s", ix->method);
        }
        ts_buf_puts(b, " (");
        for (int k = 0; k < ix->nkeys; k++) {
            int ex = ix->expr && ix->expr[k];
            ts_buf_printf(b, ex ? "%s%s" : "%s\"%s\"", k ? ", " : "", ix->keys[k]);
            if (ix->desc && ix->desc[k])
                ts_buf_puts(b, " DESC");
        }
        ts_buf_puts(b, ")");
        if (ix->where)
            ts_buf_printf(b, " WHERE %s", ix->where);
        ts_buf_puts(b, ";\n");
    }
}

/* FOREIGN KEY (...) REFERENCES ...: as a table constraint. */
static void render_fk(ts_buf *b, const char *schema, const ts_fk *f, ts_engine e)
{
    ts_buf_puts(b, "FOREIGN KEY (");
    ts_schema_quote_list(b, f->cols);
    ts_buf_puts(b, ") REFERENCES ");
    /* SQLite resolves REFERENCES inside the table's own database and
       rejects a qualified name; PostgreSQL needs the schema. */
    qname(b, e == TS_ENGINE_SQLITE ? NULL : schema, f->table);
    ts_buf_puts(b, " (");
    ts_schema_quote_list(b, f->ref_cols);
    ts_buf_puts(b, ")");
    if (f->on_delete)
        ts_buf_printf(b, " ON DELETE %s", f->on_delete);
    if (f->deferred)
        ts_buf_puts(b, " DEFERRABLE INITIALLY DEFERRED");
}

/* later(t, fk, arg): 1 when fk of t is to be added after every table is made. */
typedef int (*fk_later_fn)(const ts_table *t, const ts_fk *fk, void *arg);

static void render_table(ts_buf *b, const char *schema, const ts_table *t, ts_engine e,
                         fk_later_fn later, void *arg)
{
    int sqlite = e == TS_ENGINE_SQLITE;
    const ts_column *id = ts_table_column(t, t->pk);
    int inline_pk = sqlite && id != NULL && id->type == TS_COL_ID;
    int n = 0;

    ts_buf_puts(b, "CREATE TABLE IF NOT EXISTS ");
    qname(b, schema, t->name);
    ts_buf_puts(b, " (\n");
    for (int i = 0; i < t->ncols; i++) {
        item(b, &n);
        render_column(b, t, &t->cols[i], e);
    }
    if (!inline_pk) {
        item(b, &n);
        ts_buf_puts(b, "  PRIMARY KEY (");
        ts_schema_quote_list(b, t->pk);
        ts_buf_puts(b, ")");
    }
    for (int i = 0; t->uniques && t->uniques[i]; i++) {
        item(b, &n);
        ts_buf_puts(b, "  UNIQUE (");
        ts_schema_quote_list(b, t->uniques[i]);
        ts_buf_puts(b, ")");
    }
    /* A catalog's CHECKs are SQL of the engine they were read from. */
    for (int i = 0; t->dialect == e && t->checks && t->checks[i]; i++) {
        item(b, &n);
        ts_buf_printf(b, "  CHECK (%s)", t->checks[i]);
    }
    for (int i = 0; i < t->nfks; i++) {
        if (later && later(t, &t->fks[i], arg))
            continue; /* the caller adds it once the referenced table is there */
        item(b, &n);
        ts_buf_puts(b, "  ");
        render_fk(b, schema, &t->fks[i], e);
    }
    ts_buf_puts(b, "\n);\n");

    /* Index every foreign key's columns: lookups by user, cascades. */
    for (int i = 0; i < t->nfks; i++) {
        char idx[TS_IDENT_MAX + 1], cols[TS_IDENT_MAX + 1], name[2 * TS_IDENT_MAX + 8];
        if (pk_prefix(t, t->fks[i].cols))
            continue;
        squash(t->fks[i].cols, cols, sizeof cols);
        /* An identifier holds TS_IDENT_MAX bytes: a longer name is cut there, as
           PostgreSQL cuts it, so both engines name the index alike. */
        snprintf(name, sizeof name, "%s_%s_idx", t->name, cols);
        snprintf(idx, sizeof idx, "%.*s", TS_IDENT_MAX, name);
        ts_buf_puts(b, "CREATE INDEX IF NOT EXISTS ");
        if (sqlite) {
            qname(b, schema, idx);
            ts_buf_printf(b, " ON \"%s\" (", t->name);
        } else {
            ts_buf_printf(b, "\"%s\" ON ", idx);
            qname(b, schema, t->name);
            ts_buf_puts(b, " (");
        }
        ts_schema_quote_list(b, t->fks[i].cols);
        ts_buf_puts(b, ");\n");
    }
    render_indexes(b, schema, t, e);
}

/* 1 when table t is one of names[0..n); names NULL selects every table. */
static int selected(const ts_table *t, const char *const *names, int n)
{
    for (int i = 0; names && i < n; i++)
        if (strcmp(names[i], t->name) == 0)
            return 1;
    return names == NULL;
}

/* A reference to a table made after this one (tables whose references form
   a cycle): PostgreSQL checks REFERENCES when the table is made, SQLite only
   when rows are written. */
typedef struct order_ctx {
    const ts_schema *sc;
    ts_engine e;
} order_ctx;

static int made_later(const ts_table *t, const ts_fk *fk, void *arg)
{
    const order_ctx *o = arg;
    if (o->e == TS_ENGINE_SQLITE || strcmp(fk->table, t->name) == 0)
        return 0;
    const ts_table *r = ts_schema_table(o->sc, fk->table);
    return r != NULL && r > t;
}

/* CREATE statements of the selected tables, in schema (dependency) order;
   then the references of a cycle, once both ends exist. */
static char *render_some(const ts_schema *sc, const char *const *names, int n, const char *schema,
                         ts_engine e)
{
    ts_buf b = {0};
    order_ctx o = {sc, e};
    for (int i = 0; i < sc->ntables; i++)
        if (selected(&sc->tables[i], names, n))
            render_table(&b, schema, &sc->tables[i], e, made_later, &o);
    for (int i = 0; i < sc->ntables; i++) {
        const ts_table *t = &sc->tables[i];
        for (int f = 0; selected(t, names, n) && f < t->nfks; f++)
            if (made_later(t, &t->fks[f], &o)) {
                ts_buf_puts(&b, "ALTER TABLE ");
                qname(&b, schema, t->name);
                ts_buf_puts(&b, " ADD ");
                render_fk(&b, schema, &t->fks[f], e);
                ts_buf_puts(&b, ";\n");
            }
    }
    return ts_buf_take(&b);
}

static char *render(const ts_schema *sc, const char *schema, ts_engine e)
{
    return render_some(sc, NULL, 0, schema, e);
}

/* DROP statements of the selected tables, in reverse schema order
   (referencing tables first). PostgreSQL drops them in one statement, so
   tables whose references form a cycle go together; SQLite does not check
   references when it drops. */
static char *render_drop(const ts_schema *sc, const char *const *names, int n, const char *schema,
                         ts_engine e)
{
    ts_buf b = {0};
    int k = 0;
    for (int i = sc->ntables - 1; i >= 0; i--)
        if (selected(&sc->tables[i], names, n)) {
            if (e == TS_ENGINE_SQLITE || k++ == 0)
                ts_buf_puts(&b, "DROP TABLE IF EXISTS ");
            else
                ts_buf_puts(&b, ", ");
            qname(&b, schema, sc->tables[i].name);
            if (e == TS_ENGINE_SQLITE)
                ts_buf_puts(&b, ";\n");
        }
    if (e != TS_ENGINE_SQLITE && k)
        ts_buf_puts(&b, ";\n");
    return ts_buf_take(&b);
}

void ts_schema_add_column_ddl(const ts_table *t, const ts_column *c, ts_store *s, ts_buf *out)
{
    /* The rows already there have no value until it is copied in: NULL is
       allowed (SQLite cannot add NOT NULL without a default, nor tighten later). */
    ts_column nullable = *c;
    nullable.notnull = 0;
    ts_buf_puts(out, "ALTER TABLE ");
    qname(out, ts_store_schema(s), t->name);
    ts_buf_puts(out, " ADD COLUMN");
    render_column(out, t, &nullable, ts_store_engine(s));
}

int ts_schema_ddl(const ts_schema *sc, ts_engine engine, char **out, ts_error *err)
{
    *out = render(sc, NULL, engine);
    return *out ? 0 : ts_fail(err, TS_E_NOMEM, "out of memory rendering the %s schema", sc->name);
}

static int ensure_version_table(ts_store *s, ts_error *err)
{
    char qt[TS_QNAME_MAX], sql[256 + TS_QNAME_MAX];
    if (ts_store_table(s, "ts_schema_version", qt, err))
        return -1;
    snprintf(sql, sizeof sql,
             "CREATE TABLE IF NOT EXISTS %s (name TEXT PRIMARY KEY, version BIGINT NOT NULL, "
             "applied_at TEXT NOT NULL)", qt);
    return ts_store_exec(s, sql, NULL, 0, NULL, err);
}

int ts_schema_applied_version(ts_store *s, const ts_schema *sc, int *version, ts_error *err)
{
    char qt[TS_QNAME_MAX], sql[128 + TS_QNAME_MAX];
    int exists;
    int64_t v = 0;
    ts_value p = ts_text(sc->name);
    *version = 0;
    if (ts_store_table_exists(s, "ts_schema_version", &exists, err))
        return -1;
    if (!exists)
        return 0;
    if (ts_store_table(s, "ts_schema_version", qt, err))
        return -1;
    snprintf(sql, sizeof sql, "SELECT version FROM %s WHERE name = $1", qt);
    if (ts_store_query_int(s, sql, &p, 1, &v, err) < 0)
        return -1;
    *version = (int)v;
    return 0;
}

/*
 * The legacy and the new schema share table names (users, subscriptions, ...),
 * so one namespace can hold only one of them: a new store URL pointing at the
 * legacy store is an operator mistake to stop, not to merge into.
 */
static int check_not_other_side(ts_store *s, const ts_schema *sc, ts_error *err)
{
    /* By name: a schema adopted from a live store (ts_schema_adopt) is the same side. */
    const ts_schema *other = strcmp(sc->name, "legacy") == 0 ? ts_schema_new()
                             : strcmp(sc->name, "new") == 0  ? ts_schema_legacy()
                                                             : NULL;
    int v;
    if (other == NULL || ts_schema_applied_version(s, other, &v, err))
        return other == NULL ? 0 : -1;
    if (v > 0)
        return ts_fail(err, TS_E_STATE,
                       "%s already holds the %s schema: the legacy and the new store must be "
                       "different (another PostgreSQL schema via ?schema=NAME, or another SQLite file)",
                       ts_store_url(s), other->name);
    return 0;
}

/* ts_schema_apply inside a transaction. */
static int apply_schema(ts_store *s, void *arg, ts_error *err)
{
    const ts_schema *sc = arg;
    char qt[TS_QNAME_MAX], sql[256 + TS_QNAME_MAX], now[TS_TIME_MAX];
    int have;

    if (ensure_version_table(s, err) || ts_schema_applied_version(s, sc, &have, err))
        return -1;
    if (have > sc->version)
        return ts_fail(err, TS_E_STATE,
                       "the %s schema in %s is at version %d, newer than this build's %d: "
                       "use a tenantshift release at least as new as the one that applied it",
                       sc->name, ts_store_url(s), have, sc->version);
    if (have == 0 && check_not_other_side(s, sc, err))
        return -1;
    if (have == sc->version)
        return 0;
    char *ddl = render(sc, ts_store_schema(s), ts_store_engine(s));
    if (ddl == NULL)
        return ts_fail(err, TS_E_NOMEM, "out of memory rendering the %s schema", sc->name);
    int rc = ts_store_script(s, ddl, err);
    free(ddl);
    if (rc)
        return -1;
    ts_time_now(now);
    ts_value p[3] = {ts_text(sc->name), ts_int(sc->version), ts_text(now)};
    if (ts_store_table(s, "ts_schema_version", qt, err))
        return -1;
    snprintf(sql, sizeof sql,
             "INSERT INTO %s (name, version, applied_at) VALUES ($1, $2, $3) "
             "ON CONFLICT (name) DO UPDATE SET version = excluded.version, "
             "applied_at = excluded.applied_at", qt);
    return ts_store_exec(s, sql, p, 3, NULL, err);
}

int ts_schema_apply(ts_store *s, const ts_schema *sc, ts_error *err)
{
    if (ts_store_atomically(s, apply_schema, (void *)sc, err) == 0)
        return 0;
    ts_error_context(err, "applying the %s schema to %s", sc->name, ts_store_url(s));
    return -1;
}

/* ---- part of a schema: the tables of one increment ------------------------ */

static int check_names(const ts_schema *sc, const char *const *names, int n, ts_error *err)
{
    for (int i = 0; i < n; i++)
        if (ts_schema_table(sc, names[i]) == NULL)
            return ts_fail(err, TS_E_INVALID, "table %s is not part of the %s schema",
                           names[i], sc->name);
    return 0;
}

int ts_schema_tables_ddl(const ts_schema *sc, const char *const *names, int n, int drop,
                         ts_store *s, char **out, ts_error *err)
{
    if (check_names(sc, names, n, err))
        return -1;
    *out = drop ? render_drop(sc, names, n, ts_store_schema(s), ts_store_engine(s))
                : render_some(sc, names, n, ts_store_schema(s), ts_store_engine(s));
    return *out ? 0 : ts_fail(err, TS_E_NOMEM, "out of memory rendering %s tables", sc->name);
}

/* What run_tables does, inside a transaction. */
typedef struct tables_job {
    const ts_schema *sc;
    const char *const *names;
    int n, drop;
} tables_job;

static int tables_in_txn(ts_store *s, void *arg, ts_error *err)
{
    const tables_job *j = arg;
    int have = 0, rc;
    char *ddl = NULL;
    /* Creating: the same guard as a whole apply against the other side's schema. */
    if (!j->drop && (ts_schema_applied_version(s, j->sc, &have, err) ||
                     (have == 0 && check_not_other_side(s, j->sc, err))))
        return -1;
    rc = ts_schema_tables_ddl(j->sc, j->names, j->n, j->drop, s, &ddl, err) ||
         ts_store_script(s, ddl, err) ? -1 : 0;
    free(ddl);
    return rc;
}

/* Run the DDL of some tables in the caller's transaction or in one of its own. */
static int run_tables(ts_store *s, const ts_schema *sc, const char *const *names, int n, int drop,
                      ts_error *err)
{
    tables_job j = {sc, names, n, drop};
    if (ts_store_atomically(s, tables_in_txn, &j, err) == 0)
        return 0;
    ts_error_context(err, "%s %d table(s) of the %s schema in %s", drop ? "dropping" : "creating",
                     n, sc->name, ts_store_url(s));
    return -1;
}

int ts_schema_apply_tables(ts_store *s, const ts_schema *sc, const char *const *names, int n,
                           ts_error *err)
{
    return run_tables(s, sc, names, n, 0, err);
}

int ts_schema_drop_tables(ts_store *s, const ts_schema *sc, const char *const *names, int n,
                          ts_error *err)
{
    return run_tables(s, sc, names, n, 1, err);
}
