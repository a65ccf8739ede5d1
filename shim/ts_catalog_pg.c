/*
 * ts_catalog_pg.c: a PostgreSQL schema's tables, from pg_catalog.
 *
 * Four queries for the whole namespace (tables, columns, constraints,
 * indexes with their keys), each one row per thing, so a wide database costs
 * the same round trips as a small one. They run with search_path set to
 * pg_catalog alone (inside a savepoint or a transaction of their own that is
 * rolled back), so format_type() and pg_get_expr() qualify every user type
 * and sequence: the spelling is valid wherever the new tables are created.
 */
#include "ts_catalog_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_typemap.h"

static int64_t int_of(ts_rows *r, int col) { return ts_rows_get(r, col).i; }

static int bool_of(ts_rows *r, int col)
{
    ts_value v = ts_rows_get(r, col);
    return v.type != TS_NULL && v.i != 0;
}

static char *text_dup(cat_builder *b, ts_rows *r, int col)
{
    ts_value v = ts_rows_get(r, col);
    return v.type == TS_NULL ? NULL : cat_str(b, v.s ? v.s : "", v.len);
}

static char char_of(ts_rows *r, int col)
{
    ts_value v = ts_rows_get(r, col);
    return v.type == TS_TEXT && v.len > 0 ? v.s[0] : '\0';
}

static cat_table *by_oid(cat_builder *b, int64_t oid)
{
    for (int i = 0; i < b->n; i++)
        if (b->t[i].oid == (int)oid)
            return &b->t[i];
    return NULL;
}

static const char *const tables_sql =
    "SELECT c.oid::int8, c.relname, c.relkind::text FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'f') AND NOT c.relispartition "
    "ORDER BY c.relname";

static int read_tables(ts_store *s, cat_builder *b, const ts_value *ns, ts_error *err)
{
    ts_rows *r;
    int rc;
    if (ts_store_query(s, tables_sql, ns, 1, &r, err))
        return -1;
    while ((rc = ts_rows_next(r, err)) == 1) {
        ts_value name = ts_rows_get(r, 1);
        char kind = char_of(r, 2);
        if (ts_schema_is_own(name.s))
            continue;
        cat_table *t = cat_add_table(b, name.s, name.len);
        if (t == NULL)
            break;
        t->oid = (int)int_of(r, 0);
        if (kind != 'r')
            ts_problems_add(&b->problems, "table %s is %s, which tenantshift does not carry: "
                            "make it a plain table or leave it out of the migration (\"ignored\" "
                            "in the manifest)", t->name,
                            kind == 'p' ? "partitioned" : "a foreign table");
    }
    ts_rows_close(r);
    return rc < 0 ? -1 : 0;
}

static const char *const columns_sql =
    "SELECT a.attrelid::int8, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
    "pg_get_expr(d.adbin, d.adrelid), a.attidentity::text, a.attgenerated::text, "
    "t.typtype::text, t.typcategory::text, "
    "CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END, "
    "bt.typcategory::text, "
    "pg_get_serial_sequence(quote_ident(n.nspname) || '.' || quote_ident(c.relname), "
    "a.attname) IS NOT NULL "
    "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
    "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_type t ON t.oid = a.atttypid "
    "LEFT JOIN pg_type bt ON bt.oid = t.typbasetype "
    "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
    "WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'f') AND a.attnum > 0 "
    "AND NOT a.attisdropped ORDER BY a.attrelid, a.attnum";

static int read_columns(ts_store *s, cat_builder *b, const ts_value *ns, ts_error *err)
{
    ts_rows *r;
    int rc;
    if (ts_store_query(s, columns_sql, ns, 1, &r, err))
        return -1;
    while ((rc = ts_rows_next(r, err)) == 1) {
        cat_table *t = by_oid(b, int_of(r, 0));
        if (t == NULL)
            continue; /* tenantshift's own */
        ts_column c = {0};
        c.name = text_dup(b, r, 1);
        c.sqltype = text_dup(b, r, 2);
        c.dialect = TS_ENGINE_PG;
        c.notnull = bool_of(r, 3);
        c.dflt = text_dup(b, r, 4);
        char identity = char_of(r, 5), generated = char_of(r, 6), typtype = char_of(r, 7);
        char category = char_of(r, 8);
        const char *base = ts_rows_get(r, 9).s;
        if (c.name == NULL || c.sqltype == NULL)
            break;
        /* A domain compares like its base type; its name keeps its checks. */
        if (typtype == 'd' && base)
            ts_typemap_pg(base, 'b', char_of(r, 10), &c.type, &c.maxlen);
        else
            ts_typemap_pg(c.sqltype, typtype, category, &c.type, &c.maxlen);
        if (identity == 'a' || identity == 'd') {
            c.identity = identity == 'a' ? TS_IDENT_ALWAYS : TS_IDENT_DEFAULT;
        } else if (bool_of(r, 11) && c.dflt && strncmp(c.dflt, "nextval(", 8) == 0) {
            /* serial: the new table gets an identity column of its own, not a
               default on the legacy table's sequence. */
            c.identity = TS_IDENT_DEFAULT;
            c.dflt = NULL;
        }
        if (generated != '\0')
            ts_problems_add(&b->problems, "column %s.%s is a generated column, which tenantshift "
                            "does not carry: make it a plain column", t->name, c.name);
        if (cat_add_column(b, t, &c))
            break;
    }
    ts_rows_close(r);
    return rc < 0 ? -1 : 0;
}

/* The names of a constraint's columns, in key order, comma-separated. */
#define KEY_NAMES(arr, rel)                                                                     \
    "array_to_string(ARRAY(SELECT a.attname FROM unnest(" arr ") WITH ORDINALITY k(num, i) "   \
    "JOIN pg_attribute a ON a.attrelid = " rel " AND a.attnum = k.num ORDER BY k.i), ', ')"

static const char *constraints_sql(int pg15)
{
    return pg15 ? "SELECT con.conrelid::int8, con.conname, con.contype::text, "
                  KEY_NAMES("con.conkey", "con.conrelid") ", fc.relname, fn.nspname, "
                  KEY_NAMES("con.confkey", "con.confrelid") ", con.confdeltype::text, "
                  "con.confupdtype::text, con.condeferrable, con.condeferred, "
                  "pg_get_constraintdef(con.oid), "
                  KEY_NAMES("con.confdelsetcols", "con.conrelid") " "
                  "FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid "
                  "JOIN pg_namespace n ON n.oid = c.relnamespace "
                  "LEFT JOIN pg_class fc ON fc.oid = con.confrelid "
                  "LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace "
                  "WHERE n.nspname = $1 ORDER BY c.relname, con.conname"
                : "SELECT con.conrelid::int8, con.conname, con.contype::text, "
                  KEY_NAMES("con.conkey", "con.conrelid") ", fc.relname, fn.nspname, "
                  KEY_NAMES("con.confkey", "con.confrelid") ", con.confdeltype::text, "
                  "con.confupdtype::text, con.condeferrable, con.condeferred, "
                  "pg_get_constraintdef(con.oid), NULL "
                  "FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid "
                  "JOIN pg_namespace n ON n.oid = c.relnamespace "
                  "LEFT JOIN pg_class fc ON fc.oid = con.confrelid "
                  "LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace "
                  "WHERE n.nspname = $1 ORDER BY c.relname, con.conname";
}

static const char *fk_action(char code)
{
    switch (code) {
    case 'r': return "RESTRICT";
    case 'c': return "CASCADE";
    case 'n': return "SET NULL";
    case 'd': return "SET DEFAULT";
    default: return NULL; /* 'a': NO ACTION */
    }
}

/* Split "a, b" into an index's key array. */
static int plain_keys(cat_builder *b, const char *list, ts_index *ix)
{
    int n = ts_schema_list_count(list);
    const char **keys = ts_arena_alloc(&b->arena, (size_t)n + 1, sizeof *keys);
    char name[TS_IDENT_MAX + 1];
    if (keys == NULL)
        return -1;
    for (int k = 0; ts_schema_list_next(&list, name, sizeof name); k++)
        keys[k] = cat_str(b, name, strlen(name));
    ix->keys = keys;
    ix->nkeys = n;
    return 0;
}

/* "CHECK ((x > 0)) NOT VALID" -> "(x > 0)". */
static char *check_expr(cat_builder *b, const char *def)
{
    const char *s = def + (strncmp(def, "CHECK ", 6) == 0 ? 6 : 0);
    size_t n = strlen(s);
    const char *nv = strstr(s, " NOT VALID");
    if (nv && nv[10] == '\0')
        n = (size_t)(nv - s);
    if (n >= 2 && s[0] == '(' && s[n - 1] == ')')
        s++, n -= 2;
    return cat_str(b, s, n);
}

static int read_constraints(ts_store *s, cat_builder *b, const ts_value *ns, ts_error *err)
{
    ts_rows *r;
    int rc;
    int pg15 = ts_store_server_version(s) >= 150000;
    if (ts_store_query(s, constraints_sql(pg15), ns, 1, &r, err))
        return -1;
    while ((rc = ts_rows_next(r, err)) == 1) {
        cat_table *t = by_oid(b, int_of(r, 0));
        if (t == NULL)
            continue;
        char *name = text_dup(b, r, 1), kind = char_of(r, 2), *cols = text_dup(b, r, 3);
        if (kind == 'p') {
            t->pk = cols;
        } else if (kind == 'u') {
            ts_index ix = {name, 0, NULL, NULL, NULL, 1, 1};
            if (plain_keys(b, cols ? cols : "", &ix) || cat_add_index(b, t, &ix))
                break;
        } else if (kind == 'f') {
            const char *ns_ref = ts_rows_get(r, 5).s;
            if (ns_ref && strcmp(ns_ref, ns->s) != 0) {
                ts_problems_add(&b->problems, "table %s refers to %s.%s in another schema, which "
                                "would not move with it: move that table into %s or drop the "
                                "reference", t->name, ns_ref, ts_rows_get(r, 4).s, ns->s);
                continue;
            }
            ts_fk fk = {cols, text_dup(b, r, 4), text_dup(b, r, 6), fk_action(char_of(r, 7)),
                        bool_of(r, 10), name, fk_action(char_of(r, 8)), bool_of(r, 9),
                        NULL};
            const ts_value setcols = ts_rows_get(r, 12);
            if (setcols.type == TS_TEXT && setcols.len > 0)
                fk.set_cols = cat_str(b, setcols.s, setcols.len);
            if (cat_add_fk(b, t, &fk))
                break;
        } else if (kind == 'c') {
            const char *def = ts_rows_get(r, 11).s;
            if (cat_add_check(b, t, name, check_expr(b, def ? def : "")))
                break;
        } else if (kind == 'x') {
            ts_problems_add(&b->problems, "table %s has the exclusion constraint %s, which "
                            "tenantshift does not carry: drop it or replace it", t->name, name);
        }
        /* 't' (constraint triggers) belong to whoever made them; not carried. */
    }
    ts_rows_close(r);
    return rc < 0 ? -1 : 0;
}

static const char *const indexes_sql =
    "SELECT i.indrelid::int8, i.indexrelid::int8, ic.relname, i.indisunique, am.amname, "
    "pg_get_expr(i.indpred, i.indrelid, true), i.indnkeyatts "
    "FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid "
    "JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
    "JOIN pg_am am ON am.oid = ic.relam "
    "WHERE n.nspname = $1 AND NOT EXISTS "
    "(SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid AND con.conrelid = i.indrelid) "
    "ORDER BY c.relname, ic.relname";

/* One row per key of those indexes: the column's name, or the expression. */
static const char *const keys_sql =
    "SELECT i.indexrelid::int8, k, i.indkey[k - 1] = 0, "
    "coalesce(a.attname, pg_get_indexdef(i.indexrelid, k, true)), "
    "(i.indoption[k - 1] & 1) = 1 "
    "FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "CROSS JOIN LATERAL generate_series(1, i.indnkeyatts) k "
    "LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[k - 1] "
    "AND i.indkey[k - 1] <> 0 "
    "WHERE n.nspname = $1 ORDER BY i.indexrelid, k";

typedef struct pg_index_row {
    int64_t oid;
    cat_table *t;
    ts_index ix;
} pg_index_row;

static int read_indexes(ts_store *s, cat_builder *b, const ts_value *ns, ts_error *err)
{
    ts_rows *r;
    int rc, n = 0, cap = 0;
    pg_index_row *rows = NULL;
    if (ts_store_query(s, indexes_sql, ns, 1, &r, err))
        return -1;
    while ((rc = ts_rows_next(r, err)) == 1) {
        cat_table *t = by_oid(b, int_of(r, 0));
        if (t == NULL)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            pg_index_row *p = realloc(rows, (size_t)cap * sizeof *p);
            if (p == NULL) {
                rc = ts_fail(err, TS_E_NOMEM, "out of memory");
                break;
            }
            rows = p;
        }
        pg_index_row *x = &rows[n++];
        memset(x, 0, sizeof *x);
        x->oid = int_of(r, 1);
        x->t = t;
        x->ix.name = text_dup(b, r, 2);
        x->ix.unique = bool_of(r, 3);
        const char *am = ts_rows_get(r, 4).s;
        x->ix.method = am && strcmp(am, "btree") != 0 ? cat_str(b, am, strlen(am)) : NULL;
        x->ix.where = text_dup(b, r, 5);
        x->ix.nkeys = (int)int_of(r, 6);
        x->ix.keys = ts_arena_alloc(&b->arena, (size_t)x->ix.nkeys + 1, sizeof *x->ix.keys);
        x->ix.expr = ts_arena_alloc(&b->arena, (size_t)x->ix.nkeys + 1, 1);
        x->ix.desc = ts_arena_alloc(&b->arena, (size_t)x->ix.nkeys + 1, 1);
    }
    ts_rows_close(r);
    if (rc >= 0 && ts_store_query(s, keys_sql, ns, 1, &r, err) == 0) {
        while ((rc = ts_rows_next(r, err)) == 1) {
            int64_t oid = int_of(r, 0);
            int k = (int)int_of(r, 1) - 1, at = 0;
            while (at < n && rows[at].oid != oid)
                at++;
            if (at == n || k < 0 || k >= rows[at].ix.nkeys || rows[at].ix.keys == NULL)
                continue; /* a key of a constraint's index: read with the constraint */
            ts_index *ix = &rows[at].ix;
            ((const char **)ix->keys)[k] = text_dup(b, r, 3);
            ((unsigned char *)ix->expr)[k] = (unsigned char)bool_of(r, 2);
            ((unsigned char *)ix->desc)[k] = (unsigned char)bool_of(r, 4);
        }
        ts_rows_close(r);
    } else if (rc >= 0) {
        rc = -1;
    }
    for (int i = 0; rc >= 0 && i < n; i++)
        if (cat_add_index(b, rows[i].t, &rows[i].ix))
            rc = -1;
    free(rows);
    return rc < 0 ? -1 : 0;
}

/* Read everything with search_path = pg_catalog, undone afterwards. */
int ts_catalog_read_pg(ts_store *s, cat_builder *b, ts_error *err)
{
    ts_value ns = ts_text(ts_store_schema(s));
    int own = !ts_store_in_txn(s), rc;
    if (own ? ts_store_begin(s, err) : ts_store_savepoint(s, "ts_catalog", err))
        return -1;
    rc = ts_store_exec(s, "SET LOCAL search_path = pg_catalog", NULL, 0, NULL, err) ||
                 read_tables(s, b, &ns, err) || read_columns(s, b, &ns, err) ||
                 read_constraints(s, b, &ns, err) || read_indexes(s, b, &ns, err)
             ? -1
             : 0;
    if (own) {
        ts_store_rollback(s, rc ? NULL : err);
    } else {
        ts_store_rollback_to(s, "ts_catalog", NULL);
        ts_store_release(s, "ts_catalog", NULL);
    }
    if (rc == 0 && b->oom)
        return ts_fail(err, TS_E_NOMEM, "out of memory reading the catalog");
    return rc;
}

/* Every column's name, type, nullability, identity and default, and the oids
   of every constraint and index (a new one gets a new oid): any change of a
   table changes the digest. */
static const char *const fingerprint_sql =
    "SELECT md5(coalesce(string_agg(x, '|' ORDER BY x), '')) FROM ("
    "SELECT concat_ws(':', c.relname || '.' || a.attname, a.atttypid::text, a.atttypmod::text, "
    "a.attnotnull::text, a.attidentity::text, coalesce(pg_get_expr(d.adbin, d.adrelid), '')) AS x "
    "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
    "WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'f') AND a.attnum > 0 "
    "AND NOT a.attisdropped "
    "UNION ALL SELECT 'c:' || con.oid::text FROM pg_constraint con "
    "JOIN pg_namespace n ON n.oid = con.connamespace WHERE n.nspname = $1 "
    "UNION ALL SELECT 'i:' || c.oid::text FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'i') s";

int ts_catalog_fingerprint_pg(ts_store *s, char out[80], ts_error *err)
{
    ts_value ns = ts_text(ts_store_schema(s));
    char hex[40];
    if (ts_store_query_text(s, fingerprint_sql, &ns, 1, hex, sizeof hex, err) < 0)
        return -1;
    snprintf(out, 80, "pg:%s", hex);
    return 0;
}
