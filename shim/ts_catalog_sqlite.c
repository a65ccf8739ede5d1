/*
 * ts_catalog_sqlite.c: a SQLite database's tables, from its catalog.
 *
 * The pragma table functions (pragma_table_xinfo, pragma_index_list,
 * pragma_index_xinfo, pragma_foreign_key_list) give columns, keys, indexes
 * and foreign keys with bound parameters. What SQLite keeps only in the
 * CREATE TABLE statement (CHECK expressions, constraint names, AUTOINCREMENT,
 * DEFERRABLE) is taken from that text with a small tokenizer that knows
 * SQLite's quoting; expressions are copied from the source as written.
 */
#include "ts_catalog_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ts_typemap.h"
#include "ts_vec.h"

/* ---- tokens of a CREATE statement ---------------------------------------------- */

typedef struct tok {
    const char *s;   /* in the statement's text */
    size_t len;
    char kind;       /* 'w' word or quoted name, '\'' string, '(' ')' ',' or other punctuation */
} tok;

typedef struct toks {
    tok *v;
    int n, cap;
} toks;

static int tokenize(const char *sql, toks *out)
{
    const char *p = sql;
    while (*p) {
        tok t = {p, 0, 0};
        if (isspace((unsigned char)*p)) {
            p++;
            continue;
        }
        if (p[0] == '-' && p[1] == '-') {
            while (*p && *p != '\n')
                p++;
            continue;
        }
        if (p[0] == '/' && p[1] == '*') {
            const char *e = strstr(p + 2, "*/");
            p = e ? e + 2 : p + strlen(p);
            continue;
        }
        if (*p == '\'' || *p == '"' || *p == '`' || *p == '[') {
            char close = *p == '[' ? ']' : *p;
            const char *q = p + 1;
            for (; *q; q++)
                if (*q == close) {
                    if (close != ']' && q[1] == close)
                        q++; /* doubled quote */
                    else
                        break;
                }
            t.kind = *p == '\'' ? '\'' : 'w';
            t.len = (size_t)(q - p) + (*q != '\0');
            p += t.len;
        } else if (isalnum((unsigned char)*p) || *p == '_' || (unsigned char)*p >= 0x80) {
            while (isalnum((unsigned char)*p) || *p == '_' || *p == '$' ||
                   (unsigned char)*p >= 0x80)
                p++;
            t.kind = 'w';
            t.len = (size_t)(p - t.s);
        } else {
            t.kind = *p;
            t.len = 1;
            p++;
        }
        if (ts_vec_reserve((void **)&out->v, &out->cap, out->n + 1, sizeof *out->v))
            return -1;
        out->v[out->n++] = t;
    }
    return 0;
}

static int is_word(const tok *t, const char *w)
{
    return t->kind == 'w' && strlen(w) == t->len && strncasecmp(t->s, w, t->len) == 0;
}

/* A name token without its quotes, into out[size]. */
static void tok_name(const tok *t, char *out, size_t size)
{
    const char *s = t->s;
    size_t n = t->len;
    if (n >= 2 && (s[0] == '"' || s[0] == '`' || s[0] == '[')) {
        s++;
        n -= 2;
    }
    snprintf(out, size, "%.*s", (int)n, s);
}

/* The index of the token closing the parenthesis opened at i. */
static int closing(const toks *tk, int i, int end)
{
    int depth = 0;
    for (int k = i; k < end; k++) {
        if (tk->v[k].kind == '(')
            depth++;
        else if (tk->v[k].kind == ')' && --depth == 0)
            return k;
    }
    return end - 1;
}

/* The source text from the token after open up to close, as written. */
static char *inner_text(cat_builder *b, const toks *tk, int open, int close)
{
    if (close <= open + 1)
        return cat_str(b, "", 0);
    const char *s = tk->v[open + 1].s, *e = tk->v[close].s;
    while (e > s && isspace((unsigned char)e[-1]))
        e--;
    return cat_str(b, s, (size_t)(e - s));
}

/* What only the CREATE TABLE text says about one table. */
typedef struct named_cols {
    char *name;           /* constraint name */
    char cols[512];       /* "a, b" */
    int deferrable, deferred;
} named_cols;

typedef struct create_info {
    int without_rowid;
    char autoinc_col[TS_IDENT_MAX * 2 + 2];   /* as the column names column_item reads */
    named_cols *uniq, *fk;
    int nuniq, capuniq, nfk, capfk;
} create_info;

static void info_free(create_info *ci)
{
    free(ci->uniq);
    free(ci->fk);
}

/* "(a, b)" starting at token i: the names as "a, b". */
static int name_list(const toks *tk, int i, int end, char *out, size_t size)
{
    out[0] = '\0';
    if (i >= end || tk->v[i].kind != '(')
        return i;
    int close = closing(tk, i, end);
    for (int k = i + 1; k < close; k++)
        if (tk->v[k].kind == 'w') {
            char n[TS_IDENT_MAX * 2 + 2];
            tok_name(&tk->v[k], n, sizeof n);
            snprintf(out + strlen(out), size - strlen(out), "%s%s", out[0] ? ", " : "", n);
            /* skip COLLATE x / ASC / DESC after a name */
            while (k + 1 < close && tk->v[k + 1].kind != ',')
                k++;
        }
    return close + 1;
}

/* DEFERRABLE [INITIALLY DEFERRED|IMMEDIATE] among tokens [i, end). */
static void deferral(const toks *tk, int i, int end, int *deferrable, int *deferred)
{
    for (int k = i; k < end; k++)
        if (is_word(&tk->v[k], "DEFERRABLE") && !(k > i && is_word(&tk->v[k - 1], "NOT"))) {
            *deferrable = 1;
            *deferred = k + 2 < end && is_word(&tk->v[k + 1], "INITIALLY") &&
                        is_word(&tk->v[k + 2], "DEFERRED");
        }
}

static int add_named(named_cols **v, int *n, int *cap, const named_cols *x)
{
    if (ts_vec_reserve((void **)v, cap, *n + 1, sizeof **v))
        return -1;
    (*v)[(*n)++] = *x;
    return 0;
}

/* One column definition [i, end): its CHECKs, AUTOINCREMENT, generated-ness,
   REFERENCES clause. */
static int column_item(cat_builder *b, cat_table *t, create_info *ci, const toks *tk, int i,
                       int end)
{
    char col[TS_IDENT_MAX * 2 + 2];
    char *cname = NULL;
    tok_name(&tk->v[i], col, sizeof col);
    for (int k = i + 1; k < end; k++) {
        const tok *w = &tk->v[k];
        if (is_word(w, "CONSTRAINT") && k + 1 < end) {
            char n[TS_IDENT_MAX * 2 + 2];
            tok_name(&tk->v[++k], n, sizeof n);
            cname = cat_str(b, n, strlen(n));
        } else if (is_word(w, "CHECK") && k + 1 < end && tk->v[k + 1].kind == '(') {
            int close = closing(tk, k + 1, end);
            if (cat_add_check(b, t, cname, inner_text(b, tk, k + 1, close)))
                return -1;
            cname = NULL;
            k = close;
        } else if (is_word(w, "AUTOINCREMENT")) {
            snprintf(ci->autoinc_col, sizeof ci->autoinc_col, "%s", col);
        } else if (is_word(w, "GENERATED") || (is_word(w, "AS") && k + 1 < end &&
                                                tk->v[k + 1].kind == '(')) {
            ts_problems_add(&b->problems, "column %s.%s is a generated column, which tenantshift "
                            "does not carry: make it a plain column in the legacy database",
                            t->name, col);
            return 0;
        } else if (is_word(w, "REFERENCES")) {
            named_cols fk = {cname};
            snprintf(fk.cols, sizeof fk.cols, "%s", col);
            deferral(tk, k, end, &fk.deferrable, &fk.deferred);
            if (add_named(&ci->fk, &ci->nfk, &ci->capfk, &fk))
                return -1;
            cname = NULL;
        } else if (w->kind == '(') {
            k = closing(tk, k, end); /* a type's (n) or a DEFAULT (expr) */
        }
    }
    return 0;
}

/* One table constraint [i, end), its CONSTRAINT name already taken. */
static int constraint_item(cat_builder *b, cat_table *t, create_info *ci, const toks *tk, int i,
                           int end, char *cname)
{
    const tok *w = &tk->v[i];
    if (is_word(w, "CHECK") && i + 1 < end && tk->v[i + 1].kind == '(')
        return cat_add_check(b, t, cname, inner_text(b, tk, i + 1, closing(tk, i + 1, end)));
    if (is_word(w, "UNIQUE")) {
        named_cols u = {cname};
        name_list(tk, i + 1, end, u.cols, sizeof u.cols);
        return add_named(&ci->uniq, &ci->nuniq, &ci->capuniq, &u);
    }
    if (is_word(w, "FOREIGN") && i + 2 < end && is_word(&tk->v[i + 1], "KEY")) {
        named_cols fk = {cname};
        int k = name_list(tk, i + 2, end, fk.cols, sizeof fk.cols);
        deferral(tk, k, end, &fk.deferrable, &fk.deferred);
        return add_named(&ci->fk, &ci->nfk, &ci->capfk, &fk);
    }
    return 0; /* PRIMARY KEY: pragma_table_xinfo has it */
}

static int parse_create(cat_builder *b, cat_table *t, const char *sql, create_info *ci)
{
    toks tk = {0};
    int rc = -1;
    memset(ci, 0, sizeof *ci);
    if (tokenize(sql, &tk))
        goto out;
    int open = 0;
    while (open < tk.n && tk.v[open].kind != '(')
        open++;
    int close = open < tk.n ? closing(&tk, open, tk.n) : tk.n;
    ci->without_rowid = close + 2 < tk.n && is_word(&tk.v[close + 1], "WITHOUT") &&
                        is_word(&tk.v[close + 2], "ROWID");
    for (int i = open + 1; i < close;) {
        int depth = 0, e = i;
        for (; e < close; e++) {
            if (tk.v[e].kind == '(')
                depth++;
            else if (tk.v[e].kind == ')')
                depth--;
            else if (tk.v[e].kind == ',' && depth == 0)
                break;
        }
        if (e > i) {
            const tok *w = &tk.v[i];
            char *cname = NULL;
            int k = i;
            if (is_word(w, "CONSTRAINT") && i + 2 < e) {
                char n[TS_IDENT_MAX * 2 + 2];
                tok_name(&tk.v[i + 1], n, sizeof n);
                cname = cat_str(b, n, strlen(n));
                k = i + 2;
            }
            const tok *first = &tk.v[k];
            int table_level = cname || is_word(first, "PRIMARY") || is_word(first, "UNIQUE") ||
                              is_word(first, "CHECK") || is_word(first, "FOREIGN");
            if (table_level ? constraint_item(b, t, ci, &tk, k, e, cname)
                            : column_item(b, t, ci, &tk, i, e))
                goto out;
        }
        i = e + 1;
    }
    rc = 0;
out:
    free(tk.v);
    return rc;
}

/* ---- the pragmas ------------------------------------------------------------- */

static int text_of(ts_rows *r, int col, char *out, size_t size)
{
    ts_value v = ts_rows_get(r, col);
    if (v.type == TS_NULL) {
        out[0] = '\0';
        return 0;
    }
    snprintf(out, size, "%.*s", (int)v.len, v.s);
    return 1;
}

static char *text_dup(cat_builder *b, ts_rows *r, int col)
{
    ts_value v = ts_rows_get(r, col);
    return v.type == TS_NULL ? NULL : cat_str(b, v.s ? v.s : "", v.len);
}

static int read_columns(ts_store *s, cat_builder *b, cat_table *t, const create_info *ci,
                        ts_error *err)
{
    ts_value p[2] = {ts_text(t->name), ts_text(ts_store_schema(s))};
    ts_rows *r;
    int rc, npk = 0;
    char pkcols[32][TS_IDENT_MAX + 1];
    if (ts_store_query(s, "SELECT name, type, \"notnull\", dflt_value, pk, hidden "
                          "FROM pragma_table_xinfo($1, $2) ORDER BY cid", p, 2, &r, err))
        return -1;
    while ((rc = ts_rows_next(r, err)) == 1) {
        ts_column c = {0};
        char decl[256];
        c.name = text_dup(b, r, 0);
        text_of(r, 1, decl, sizeof decl);
        c.sqltype = cat_str(b, decl, strlen(decl));
        c.dialect = TS_ENGINE_SQLITE;
        c.notnull = ts_rows_get(r, 2).i != 0;
        c.dflt = text_dup(b, r, 3);
        int pk = (int)ts_rows_get(r, 4).i;
        int64_t hidden = ts_rows_get(r, 5).i;
        if (c.name == NULL)
            break;
        if (hidden == 2 || hidden == 3) {
            ts_problems_add(&b->problems, "column %s.%s is a generated column, which "
                            "tenantshift does not carry: make it a plain column", t->name, c.name);
            continue;
        }
        ts_error terr;
        if (ts_typemap_sqlite(decl, &c.type, &c.maxlen, &terr))
            ts_problems_add(&b->problems, "column %s.%s: %s", t->name, c.name, terr.msg);
        if (pk > 0 && pk <= 32)
            snprintf(pkcols[pk - 1], sizeof pkcols[0], "%s", c.name);
        npk = pk > npk ? pk : npk;
        if (cat_add_column(b, t, &c))
            break;
    }
    ts_rows_close(r);
    if (rc < 0)
        return -1;
    if (npk > 32)
        return ts_fail(err, TS_E_INVALID, "table %s has a primary key of %d columns, more than "
                       "the 32 tenantshift handles", t->name, npk);
    if (npk > 0) {
        ts_buf list = {0};
        for (int k = 0; k < npk; k++)
            ts_buf_printf(&list, "%s%s", k ? ", " : "", pkcols[k]);
        t->pk = list.oom ? NULL : cat_str(b, list.s, list.len);
        ts_buf_free(&list);
    }
    /* The rowid alias: ids the store generates (SQLite's INTEGER PRIMARY KEY).
       It never holds NULL (a NULL inserted there asks for a new id), whatever
       table_xinfo's notnull says. */
    for (int i = 0; npk == 1 && t->pk && !ci->without_rowid && i < t->ncols; i++) {
        ts_column *c = &t->cols[i];
        if (strcmp(c->name, t->pk) == 0 && strcasecmp(c->sqltype, "INTEGER") == 0) {
            c->identity = strcasecmp(ci->autoinc_col, c->name) == 0 ? TS_IDENT_AUTOINC
                                                                    : TS_IDENT_DEFAULT;
            c->notnull = 1;
        }
    }
    return 0;
}

/* The predicate of a partial index: the text after its top-level WHERE. */
static char *partial_where(ts_store *s, cat_builder *b, const char *index, ts_error *err)
{
    char sql[160], *text = NULL;
    ts_value p = ts_text(index);
    ts_rows *r;
    snprintf(sql, sizeof sql, "SELECT sql FROM \"%s\".sqlite_master WHERE type = 'index' AND "
             "name = $1", ts_store_schema(s));
    if (ts_store_query(s, sql, &p, 1, &r, err))
        return NULL;
    if (ts_rows_next(r, err) == 1) {
        ts_value v = ts_rows_get(r, 0);
        char *src = v.type == TS_TEXT ? strndup(v.s, v.len) : NULL;
        toks tk = {0};
        if (src && tokenize(src, &tk) == 0) {
            int depth = 0;
            for (int k = 0; k < tk.n; k++) {
                depth += tk.v[k].kind == '(' ? 1 : tk.v[k].kind == ')' ? -1 : 0;
                if (depth == 0 && is_word(&tk.v[k], "WHERE") && k + 1 < tk.n) {
                    const char *st = tk.v[k + 1].s;
                    size_t len = strlen(st);
                    while (len && (isspace((unsigned char)st[len - 1]) || st[len - 1] == ';'))
                        len--;
                    text = cat_str(b, st, len);
                    break;
                }
            }
        }
        free(tk.v);
        free(src);
    }
    ts_rows_close(r);
    return text;
}

static int read_index_keys(ts_store *s, cat_builder *b, cat_table *t, const char *index,
                           ts_index *ix, ts_error *err)
{
    ts_value p[2] = {ts_text(index), ts_text(ts_store_schema(s))};
    ts_rows *r;
    int rc, n = 0, kcap = 0, dcap = 0;
    const char **keys = NULL;
    unsigned char *desc = NULL;
    if (ts_store_query(s, "SELECT cid, name, \"desc\" FROM pragma_index_xinfo($1, $2) "
                          "WHERE key = 1 ORDER BY seqno", p, 2, &r, err))
        return -1;
    while ((rc = ts_rows_next(r, err)) == 1) {
        if (ts_vec_reserve((void **)&keys, &kcap, n + 1, sizeof *keys) ||
            ts_vec_reserve((void **)&desc, &dcap, n + 1, sizeof *desc)) {
            rc = ts_fail(err, TS_E_NOMEM, "out of memory");
            break;
        }
        if (ts_rows_get(r, 0).i < 0) {
            ts_problems_add(&b->problems, "index %s of table %s has an expression key, which "
                            "tenantshift does not carry from SQLite: drop it or index columns",
                            index, t->name);
            break;
        }
        keys[n] = text_dup(b, r, 1);
        desc[n] = ts_rows_get(r, 2).i != 0;
        n++;
    }
    ts_rows_close(r);
    if (rc >= 0) {
        const char **k = ts_arena_alloc(&b->arena, (size_t)n + 1, sizeof *k);
        unsigned char *d = ts_arena_alloc(&b->arena, (size_t)n + 1, 1);
        if (k && d) {
            memcpy(k, keys, (size_t)n * sizeof *k);
            memcpy(d, desc, (size_t)n);
        }
        ix->keys = k;
        ix->desc = d;
        ix->nkeys = n;
    }
    free(keys);
    free(desc);
    return rc < 0 ? -1 : 0;
}

static int read_indexes(ts_store *s, cat_builder *b, cat_table *t, const create_info *ci,
                        ts_error *err)
{
    ts_value p[2] = {ts_text(t->name), ts_text(ts_store_schema(s))};
    ts_rows *r;
    int rc;
    /* Collected first: each index needs queries of its own on the connection. */
    struct ixrow {
        char name[256], origin[4];
        int unique, partial;
    } *rows = NULL;
    int n = 0, cap = 0;
    if (ts_store_query(s, "SELECT name, \"unique\", origin, partial FROM pragma_index_list($1, $2) "
                          "ORDER BY name", p, 2, &r, err))
        return -1;
    while ((rc = ts_rows_next(r, err)) == 1) {
        if (ts_vec_reserve((void **)&rows, &cap, n + 1, sizeof *rows)) {
            rc = ts_fail(err, TS_E_NOMEM, "out of memory");
            break;
        }
        text_of(r, 0, rows[n].name, sizeof rows[n].name);
        rows[n].unique = ts_rows_get(r, 1).i != 0;
        text_of(r, 2, rows[n].origin, sizeof rows[n].origin);
        rows[n].partial = ts_rows_get(r, 3).i != 0;
        n++;
    }
    ts_rows_close(r);
    for (int i = 0; rc >= 0 && i < n; i++) {
        if (strcmp(rows[i].origin, "pk") == 0)
            continue;
        ts_index ix = {0};
        ix.unique = rows[i].unique;
        ix.constraint = strcmp(rows[i].origin, "u") == 0;
        if (read_index_keys(s, b, t, rows[i].name, &ix, err)) {
            rc = -1;
            break;
        }
        if (ix.constraint) {
            /* SQLite names the index itself; the constraint's own name, if it
               has one, is in the CREATE TABLE text. */
            ts_buf list = {0};
            for (int k = 0; k < ix.nkeys; k++)
                ts_buf_printf(&list, "%s%s", k ? ", " : "", ix.keys[k]);
            for (int u = 0; list.s && u < ci->nuniq; u++)
                if (strcasecmp(ci->uniq[u].cols, list.s) == 0)
                    ix.name = ci->uniq[u].name;
            ts_buf_free(&list);
        } else {
            ix.name = cat_str(b, rows[i].name, strlen(rows[i].name));
            if (rows[i].partial && (ix.where = partial_where(s, b, rows[i].name, err)) == NULL) {
                rc = -1;
                break;
            }
        }
        if (cat_add_index(b, t, &ix))
            rc = -1;
    }
    free(rows);
    return rc < 0 ? -1 : 0;
}

static const char *action(cat_builder *b, ts_rows *r, int col)
{
    char a[32];
    text_of(r, col, a, sizeof a);
    if (a[0] == '\0' || strcasecmp(a, "NO ACTION") == 0)
        return NULL;
    return cat_str(b, a, strlen(a));
}

static int read_fks(ts_store *s, cat_builder *b, cat_table *t, const create_info *ci,
                    ts_error *err)
{
    ts_value p[2] = {ts_text(t->name), ts_text(ts_store_schema(s))};
    ts_rows *r;
    int rc, id = -1;
    ts_buf cols = {0}, refs = {0};
    ts_fk fk = {0};
    int have_to = 1;
    if (ts_store_query(s, "SELECT id, \"table\", \"from\", \"to\", on_update, on_delete "
                          "FROM pragma_foreign_key_list($1, $2) ORDER BY id, seq", p, 2, &r, err))
        return -1;
    for (;;) {
        rc = ts_rows_next(r, err);
        int next = rc == 1 ? (int)ts_rows_get(r, 0).i : -2;
        if (id >= 0 && next != id) {
            /* The previous key is complete. */
            fk.cols = cat_str(b, cols.s, cols.len);
            fk.ref_cols = have_to ? cat_str(b, refs.s, refs.len) : NULL;
            for (int k = 0; k < ci->nfk; k++)
                if (strcasecmp(ci->fk[k].cols, cols.s) == 0) {
                    fk.name = ci->fk[k].name;
                    fk.deferrable = ci->fk[k].deferrable;
                    fk.deferred = ci->fk[k].deferred;
                }
            if (cat_add_fk(b, t, &fk))
                break;
            ts_buf_reset(&cols);
            ts_buf_reset(&refs);
            memset(&fk, 0, sizeof fk);
            have_to = 1;
        }
        if (rc != 1)
            break;
        id = next;
        if (fk.table == NULL) {
            fk.table = text_dup(b, r, 1);
            fk.on_update = action(b, r, 4);
            fk.on_delete = action(b, r, 5);
        }
        char from[256], to[256];
        text_of(r, 2, from, sizeof from);
        have_to &= text_of(r, 3, to, sizeof to);
        ts_buf_printf(&cols, "%s%s", cols.len ? ", " : "", from);
        ts_buf_printf(&refs, "%s%s", refs.len ? ", " : "", to);
    }
    ts_rows_close(r);
    ts_buf_free(&cols);
    ts_buf_free(&refs);
    return rc < 0 ? -1 : 0;
}

int ts_catalog_read_sqlite(ts_store *s, cat_builder *b, ts_error *err)
{
    char sql[160];
    ts_rows *r;
    int rc;
    struct trow {
        char *name, *sql;
    } *rows = NULL;
    int n = 0, cap = 0;
    snprintf(sql, sizeof sql, "SELECT name, sql FROM \"%s\".sqlite_master WHERE type = 'table' "
             "ORDER BY name", ts_store_schema(s));
    if (ts_store_query(s, sql, NULL, 0, &r, err))
        return -1;
    while ((rc = ts_rows_next(r, err)) == 1) {
        char *name = text_dup(b, r, 0);
        if (name == NULL || ts_schema_is_own(name))
            continue;
        if (ts_vec_reserve((void **)&rows, &cap, n + 1, sizeof *rows)) {
            rc = ts_fail(err, TS_E_NOMEM, "out of memory");
            break;
        }
        rows[n].name = name;
        rows[n++].sql = text_dup(b, r, 1);
    }
    ts_rows_close(r);
    for (int i = 0; rc >= 0 && i < n; i++) {
        create_info ci;
        cat_table *t = cat_add_table(b, rows[i].name, strlen(rows[i].name));
        if (t == NULL) {
            rc = ts_fail(err, TS_E_NOMEM, "out of memory");
            break;
        }
        if (!ts_ident_valid(t->name))
            continue; /* cat_finish names it; its pragmas would need its name quoted */
        if (parse_create(b, t, rows[i].sql ? rows[i].sql : "", &ci) ||
            read_columns(s, b, t, &ci, err) || read_indexes(s, b, t, &ci, err) ||
            read_fks(s, b, t, &ci, err))
            rc = -1;
        info_free(&ci);
    }
    free(rows);
    if (rc < 0)
        return -1;
    /* A foreign key that names no columns refers to the primary key. */
    for (int i = 0; i < b->n; i++)
        for (int f = 0; f < b->t[i].nfks; f++) {
            ts_fk *fk = &b->t[i].fks[f];
            cat_table *rt = cat_find(b, fk->table);
            if (fk->ref_cols == NULL)
                fk->ref_cols = rt ? rt->pk : NULL;
            if (fk->ref_cols == NULL || rt == NULL)
                ts_problems_add(&b->problems, "table %s refers to %s, which is not a table of "
                                "this database with a primary key: fix the reference",
                                b->t[i].name, fk->table);
        }
    return b->oom ? ts_fail(err, TS_E_NOMEM, "out of memory reading the catalog") : 0;
}

int ts_catalog_fingerprint_sqlite(ts_store *s, char out[80], ts_error *err)
{
    char sql[96];
    int64_t v = 0;
    snprintf(sql, sizeof sql, "PRAGMA \"%s\".schema_version", ts_store_schema(s));
    if (ts_store_query_int(s, sql, NULL, 0, &v, err) < 0)
        return -1;
    snprintf(out, 80, "sqlite:%lld", (long long)v);
    return 0;
}
