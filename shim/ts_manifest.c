/*
 * ts_manifest.c: load and validate the increment manifest.
 *
 * The parsed cJSON tree stays alive inside the manifest and every name, key
 * and reason points into it; the arrays built from it come from a small pool
 * freed in one go. So a load that fails anywhere frees everything with one
 * ts_manifest_free, and nothing is ever partially loaded.
 *
 * Row conversion (ts_tmap_to_new, ts_tmap_to_legacy) is in ts_manifest_map.c.
 */
#include "ts_manifest.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ts_catalog.h"

/* The plan has about thirty increments; the bound keeps dependency checks
   (a reachability matrix) small and recursion shallow on hostile input. */
#define MAX_INCREMENTS 256

/* Generated from shim/manifest.json by the Makefile. */
extern const char ts_manifest_default_json[];

typedef struct block {
    struct block *next;
    alignas(max_align_t) unsigned char data[];
} block;

struct ts_manifest {
    cJSON *root;
    block *blocks;
    int nconsts;
    const char **const_names;
    ts_value *consts;
    int nmaps;
    ts_valmap *maps;
    int ninc;
    ts_increment *incs;             /* file order */
    const ts_increment **order;     /* dependency order */
    unsigned char *reach;           /* reach[a * ninc + b]: a depends on b, transitively */
    const cJSON *ignored;           /* legacy tables not moved: name -> reason (or NULL) */
    char *text;                     /* the JSON it was loaded from */
    const ts_schema *legacy_sc;     /* what its tables were resolved against: the */
    const ts_schema *new_sc;        /* declarations, or those adopted from a live store */
    ts_schema *live;                /* the live catalog adopted (NULL: the declarations) */
    ts_arena adopted;               /* the adopted schemas */
};

/* Everything the loader needs while it reads one table mapping. */
typedef struct tload {
    ts_manifest *m;
    ts_tmap *tm;
    ts_colrule *rules;
    int *restore;
    const char **drop;
    char where[320];
} tload;

static void *pool_alloc(ts_manifest *m, size_t n, size_t size)
{
    if (size != 0 && n > (SIZE_MAX - sizeof(block)) / size)
        return NULL;
    block *b = calloc(1, sizeof(block) + n * size + 1);
    if (b == NULL)
        return NULL;
    b->next = m->blocks;
    m->blocks = b;
    return b->data;
}

void ts_manifest_free(ts_manifest *m)
{
    if (m == NULL)
        return;
    while (m->blocks) {
        block *next = m->blocks->next;
        free(m->blocks);
        m->blocks = next;
    }
    cJSON_Delete(m->root);
    free(m->text);
    ts_arena_free(&m->adopted);
    ts_schema_free(m->live);
    free(m);
}

static int oom(ts_error *err)
{
    return ts_fail(err, TS_E_NOMEM, "out of memory loading the manifest");
}

/* ---- generic JSON checks --------------------------------------------------- */

static int count_children(const cJSON *j)
{
    int n = 0;
    for (const cJSON *c = j ? j->child : NULL; c; c = c->next)
        n++;
    return n;
}

static int in_list(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return 1;
    return 0;
}

static int check_string(const char *s, const char *what, const char *where, ts_error *err)
{
    if (strlen(s) > TS_MANIFEST_STR_MAX)
        return ts_fail(err, TS_E_INVALID, "%s: %s is longer than %d bytes: shorten it",
                       where, what, TS_MANIFEST_STR_MAX);
    return 0;
}

/*
 * j must be an object with distinct member names (cJSON keeps duplicates, and
 * a silently shadowed entry is a bug waiting), each in allowed (NULL: any).
 */
static int check_object(const cJSON *j, const char *const *allowed, const char *where,
                        ts_error *err)
{
    if (!cJSON_IsObject(j))
        return ts_fail(err, TS_E_INVALID, "%s: must be a JSON object", where);
    for (const cJSON *c = j->child; c; c = c->next) {
        if (check_string(c->string, "a field name", where, err))
            return -1;
        for (const cJSON *d = j->child; d != c; d = d->next)
            if (strcmp(d->string, c->string) == 0)
                return ts_fail(err, TS_E_INVALID, "%s: \"%s\" appears twice: keep one",
                               where, c->string);
        if (allowed && !in_list(allowed, c->string)) {
            char names[256] = "";
            for (const char *const *a = allowed; *a; a++)
                snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                         a == allowed ? "" : ", ", *a);
            return ts_fail(err, TS_E_INVALID, "%s: unknown field \"%s\": the fields are %s",
                           where, c->string, names);
        }
    }
    return 0;
}

/* The string member name of obj into *out; NULL when absent and optional. */
static int get_string(const cJSON *obj, const char *name, int required, const char *where,
                      const char **out, ts_error *err)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, name);
    *out = NULL;
    if (j == NULL)
        return required ? ts_fail(err, TS_E_INVALID, "%s: \"%s\" is missing: add it", where, name)
                        : 0;
    if (!cJSON_IsString(j))
        return ts_fail(err, TS_E_INVALID, "%s: \"%s\" must be a string", where, name);
    if (check_string(j->valuestring, name, where, err))
        return -1;
    *out = j->valuestring;
    return 0;
}

static int check_ident(const char *s, const char *what, const char *where, ts_error *err)
{
    if (ts_ident_valid(s))
        return 0;
    return ts_fail(err, TS_E_INVALID,
                   "%s: %s \"%.80s\" is not a plain identifier: use [A-Za-z_][A-Za-z0-9_]*, "
                   "at most %d characters", where, what, s, TS_IDENT_MAX);
}

/* An array member of obj; absent and optional gives NULL. */
static int get_array(const cJSON *obj, const char *name, int required, const char *where,
                     const cJSON **out, ts_error *err)
{
    *out = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (*out == NULL)
        return required ? ts_fail(err, TS_E_INVALID, "%s: \"%s\" is missing: add it", where, name)
                        : 0;
    if (!cJSON_IsArray(*out))
        return ts_fail(err, TS_E_INVALID, "%s: \"%s\" must be an array", where, name);
    return 0;
}

/* Every element of array a is a string naming a distinct plain identifier. */
static int check_ident_array(const cJSON *a, const char *what, const char *where, ts_error *err)
{
    for (const cJSON *c = a ? a->child : NULL; c; c = c->next) {
        if (!cJSON_IsString(c))
            return ts_fail(err, TS_E_INVALID, "%s: every %s must be a string", where, what);
        if (check_string(c->valuestring, what, where, err) ||
            check_ident(c->valuestring, what, where, err))
            return -1;
        for (const cJSON *d = a->child; d != c; d = d->next)
            if (strcmp(d->valuestring, c->valuestring) == 0)
                return ts_fail(err, TS_E_INVALID, "%s: %s \"%s\" is listed twice: keep one",
                               where, what, c->valuestring);
    }
    return 0;
}

/* A JSON scalar usable as a constant or a value map value: integer, text, bool. */
static int get_scalar(const cJSON *j, const char *where, ts_value *out, ts_error *err)
{
    if (cJSON_IsString(j)) {
        if (check_string(j->valuestring, "the value", where, err))
            return -1;
        *out = ts_text(j->valuestring);
        return 0;
    }
    if (cJSON_IsBool(j)) {
        *out = ts_bool(cJSON_IsTrue(j));
        return 0;
    }
    /* Integers only, and only those a double holds exactly. */
    if (cJSON_IsNumber(j) && j->valuedouble == floor(j->valuedouble) &&
        fabs(j->valuedouble) <= 9007199254740992.0) {
        *out = ts_int((int64_t)j->valuedouble);
        return 0;
    }
    return ts_fail(err, TS_E_INVALID,
                   "%s: must be a string, an integer (at most 2^53) or true/false", where);
}

/* ---- constants and value maps ----------------------------------------------- */

static int load_constants(ts_manifest *m, const cJSON *j, ts_error *err)
{
    char where[TS_MANIFEST_STR_MAX + 32];
    if (j == NULL)
        return 0;
    if (check_object(j, NULL, "constants", err))
        return -1;
    m->nconsts = count_children(j);
    m->const_names = pool_alloc(m, (size_t)m->nconsts, sizeof *m->const_names);
    m->consts = pool_alloc(m, (size_t)m->nconsts, sizeof *m->consts);
    if (m->const_names == NULL || m->consts == NULL)
        return oom(err);
    int i = 0;
    for (const cJSON *c = j->child; c; c = c->next, i++) {
        snprintf(where, sizeof where, "constant \"%s\"", c->string);
        if (check_ident(c->string, "the name", where, err) ||
            get_scalar(c, where, &m->consts[i], err))
            return -1;
        m->const_names[i] = c->string;
    }
    return 0;
}

static int load_valmap(ts_manifest *m, const cJSON *j, ts_valmap *vm, ts_error *err)
{
    char where[2 * TS_MANIFEST_STR_MAX + 64];
    snprintf(where, sizeof where, "value map \"%s\"", j->string);
    if (check_ident(j->string, "the name", where, err) || check_object(j, NULL, where, err))
        return -1;
    int n = count_children(j);
    if (n == 0)
        return ts_fail(err, TS_E_INVALID, "%s: is empty: give it at least one legacy value",
                       where);
    ts_value *keys = pool_alloc(m, (size_t)n, sizeof *keys);
    ts_value *vals = pool_alloc(m, (size_t)n, sizeof *vals);
    if (keys == NULL || vals == NULL)
        return oom(err);
    int i = 0;
    for (const cJSON *c = j->child; c; c = c->next, i++) {
        snprintf(where, sizeof where, "value map \"%s\" entry \"%s\"", j->string, c->string);
        keys[i] = ts_text(c->string);
        if (get_scalar(c, where, &vals[i], err))
            return -1;
        if (vals[i].type != vals[0].type)
            return ts_fail(err, TS_E_INVALID,
                           "%s: every value of a map must have the same type as the first",
                           where);
    }
    *vm = (ts_valmap){j->string, n, keys, vals, 1};
    for (int a = 0; a < n; a++)
        for (int b = 0; b < a; b++)
            if (ts_value_equal(&vals[a], &vals[b]))
                vm->injective = 0;
    return 0;
}

static int load_valmaps(ts_manifest *m, const cJSON *j, ts_error *err)
{
    if (j == NULL)
        return 0;
    if (check_object(j, NULL, "value_maps", err))
        return -1;
    m->nmaps = count_children(j);
    m->maps = pool_alloc(m, (size_t)m->nmaps, sizeof *m->maps);
    if (m->maps == NULL)
        return oom(err);
    int i = 0;
    for (const cJSON *c = j->child; c; c = c->next)
        if (load_valmap(m, c, &m->maps[i++], err))
            return -1;
    return 0;
}

static const ts_valmap *find_valmap(const ts_manifest *m, const char *name)
{
    for (int i = 0; i < m->nmaps; i++)
        if (strcmp(m->maps[i].name, name) == 0)
            return &m->maps[i];
    return NULL;
}

const ts_value *ts_manifest_constant(const ts_manifest *m, const char *name)
{
    for (int i = 0; i < m->nconsts; i++)
        if (strcmp(m->const_names[i], name) == 0)
            return &m->consts[i];
    return NULL;
}

/* ---- column rules ----------------------------------------------------------- */

static int is_integer(ts_coltype t) { return t == TS_COL_ID || t == TS_COL_INT; }

static size_t utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

/* A constant or map value can be stored in column c as it is. */
static int check_fits(const ts_value *v, const ts_column *c, const char *what,
                      const char *where, ts_error *err)
{
    /* Text is how a store takes times, dates, UUIDs and exact decimals too. */
    int ok = (v->type == TS_INT && (is_integer(c->type) || c->type == TS_COL_DOUBLE ||
                                    c->type == TS_COL_NUMERIC)) ||
             (v->type == TS_BOOL && c->type == TS_COL_BOOL) ||
             (v->type == TS_TEXT && c->type != TS_COL_ID && c->type != TS_COL_INT &&
              c->type != TS_COL_BOOL && c->type != TS_COL_DOUBLE && c->type != TS_COL_BLOB);
    if (!ok)
        return ts_fail(err, TS_E_INVALID, "%s: %s does not fit the %s column: give a %s value",
                       where, what, ts_coltype_name(c->type), ts_coltype_name(c->type));
    if (v->type == TS_TEXT && c->maxlen > 0 && utf8_chars(v->s, v->len) > (size_t)c->maxlen)
        return ts_fail(err, TS_E_INVALID, "%s: %s is longer than the column's %d characters",
                       where, what, c->maxlen);
    if (v->type == TS_TEXT && c->type == TS_COL_JSON) {
        cJSON *parsed = cJSON_ParseWithLength(v->s, v->len);
        cJSON_Delete(parsed);
        if (parsed == NULL)
            return ts_fail(err, TS_E_INVALID, "%s: %s is not valid JSON for the json column",
                           where, what);
    }
    return 0;
}

/*
 * "C2C%016X": a literal prefix, one integer conversion (%d, %x or %X, with an
 * optional zero-padded width %0N), a literal suffix. Nothing else: the format
 * comes from a file and must never reach printf as it is.
 */
static int parse_format(ts_manifest *m, const char *f, ts_colrule *r)
{
    const char *p = strchr(f, '%'), *q;
    int width = 0;
    if (p == NULL)
        return -1;
    q = p + 1;
    if (*q == '0')
        for (q++; *q >= '0' && *q <= '9' && width <= 20; q++)
            width = width * 10 + (*q - '0');
    if ((*q != 'd' && *q != 'x' && *q != 'X') || width > 20 || strchr(q + 1, '%'))
        return -1;
    char *prefix = pool_alloc(m, (size_t)(p - f) + 1, 1);
    if (prefix == NULL)
        return -1;
    memcpy(prefix, f, (size_t)(p - f));
    r->prefix = prefix;
    r->suffix = q + 1;
    r->width = width;
    r->conv = *q;
    return 0;
}

static int format_maxlen(const ts_colrule *r)
{
    int digits = r->conv == 'd' ? 20 : 16; /* "-9223372036854775808", 16 hex digits */
    return (int)(strlen(r->prefix) + strlen(r->suffix)) + (r->width > digits ? r->width : digits);
}

/* The legacy column a rule reads ("from"), checked against the legacy table. */
static int rule_from(tload *L, const char *from, ts_colrule *r, const char *where, ts_error *err)
{
    if (check_ident(from, "\"from\"", where, err))
        return -1;
    r->from = ts_table_column_index(L->tm->legacy, from);
    if (r->from < 0)
        return ts_fail(err, TS_E_INVALID,
                       "%s: legacy table %s has no column \"%s\": fix \"from\"",
                       where, L->tm->legacy->name, from);
    return 0;
}

static int check_copy_types(const ts_column *lc, const ts_column *nc, const char *where,
                            ts_error *err)
{
    if (lc->type == nc->type || (is_integer(lc->type) && is_integer(nc->type)))
        return 0;
    return ts_fail(err, TS_E_INVALID,
                   "%s: legacy column %s is %s but the new column is %s: "
                   "copy a column of the same type or translate it with a value map",
                   where, lc->name, ts_coltype_name(lc->type), ts_coltype_name(nc->type));
}

/* Check a {"from", ...} rule's source and target types. */
static int check_rule_types(tload *L, const ts_colrule *r, const ts_column *nc,
                            const char *where, ts_error *err)
{
    const ts_column *lc = &L->tm->legacy->cols[r->from];
    switch (r->src) {
    case TS_SRC_COPY:
        return check_copy_types(lc, nc, where, err);
    case TS_SRC_MAP:
        if (lc->type != TS_COL_TEXT)
            return ts_fail(err, TS_E_INVALID, "%s: value maps translate text, and legacy "
                           "column %s is %s", where, lc->name, ts_coltype_name(lc->type));
        for (int i = 0; i < r->map->n; i++)
            if (check_fits(&r->map->vals[i], nc, "a value of the map", where, err))
                return -1;
        return 0;
    case TS_SRC_FORMAT:
        if (!is_integer(lc->type) || nc->type != TS_COL_TEXT)
            return ts_fail(err, TS_E_INVALID, "%s: \"format\" makes text of an integer: "
                           "legacy column %s is %s and the new column %s",
                           where, lc->name, ts_coltype_name(lc->type), ts_coltype_name(nc->type));
        if (nc->maxlen > 0 && format_maxlen(r) > nc->maxlen)
            return ts_fail(err, TS_E_INVALID, "%s: \"format\" can make %d characters, more "
                           "than the column's %d: shorten it", where, format_maxlen(r),
                           nc->maxlen);
        return 0;
    case TS_SRC_JSON:
        if (lc->type != TS_COL_TEXT || nc->type != TS_COL_JSON)
            return ts_fail(err, TS_E_INVALID, "%s: \"json\" encodes a text column into a json "
                           "column: legacy column %s is %s and the new column %s",
                           where, lc->name, ts_coltype_name(lc->type), ts_coltype_name(nc->type));
        return 0;
    default:
        return 0;
    }
}

/* {"const": NAME} or {"value": LITERAL}. */
static int load_const_rule(tload *L, const cJSON *j, ts_colrule *r, const ts_column *nc,
                           const char *where, ts_error *err)
{
    const char *name;
    const cJSON *lit = cJSON_GetObjectItemCaseSensitive(j, "value");
    r->src = TS_SRC_CONST;
    if (lit != NULL) {
        if (get_scalar(lit, where, &r->value, err))
            return -1;
        return check_fits(&r->value, nc, "the value", where, err);
    }
    if (get_string(j, "const", 1, where, &name, err))
        return -1;
    const ts_value *v = ts_manifest_constant(L->m, name);
    if (v == NULL)
        return ts_fail(err, TS_E_INVALID, "%s: constant \"%s\" is not defined: add it under "
                       "\"constants\" or fix the name", where, name);
    r->value = *v;
    return check_fits(&r->value, nc, "the constant", where, err);
}

static int load_rule(tload *L, const cJSON *j, ts_error *err)
{
    static const char *const fields[] = {"from", "map", "format", "json", "const", "value", NULL};
    char where[TS_MANIFEST_STR_MAX + 400];
    const char *from, *map, *format, *json;

    snprintf(where, sizeof where, "%s column \"%s\"", L->where, j->string);
    if (check_ident(j->string, "the new column", where, err) ||
        check_object(j, fields, where, err))
        return -1;
    int col = ts_table_column_index(L->tm->target, j->string);
    if (col < 0)
        return ts_fail(err, TS_E_INVALID, "%s: new table %s has no such column: fix the name",
                       where, L->tm->target->name);
    const ts_column *nc = &L->tm->target->cols[col];
    ts_colrule *r = &L->rules[col];
    int nfields = count_children(j);
    int consts = (cJSON_GetObjectItemCaseSensitive(j, "const") != NULL) +
                 (cJSON_GetObjectItemCaseSensitive(j, "value") != NULL);
    if (get_string(j, "from", 0, where, &from, err) || get_string(j, "map", 0, where, &map, err) ||
        get_string(j, "format", 0, where, &format, err) ||
        get_string(j, "json", 0, where, &json, err))
        return -1;
    if (!(consts == 1 && nfields == 1) && !(from != NULL && nfields <= 2))
        return ts_fail(err, TS_E_INVALID,
                       "%s: give exactly one source: {\"from\"}, {\"from\", \"map\"}, "
                       "{\"from\", \"format\"}, {\"from\", \"json\"}, {\"const\"} or {\"value\"}",
                       where);
    if (consts)
        return load_const_rule(L, j, r, nc, where, err);
    if (rule_from(L, from, r, where, err))
        return -1;
    r->src = map ? TS_SRC_MAP : format ? TS_SRC_FORMAT : json ? TS_SRC_JSON : TS_SRC_COPY;
    if (map && (r->map = find_valmap(L->m, map)) == NULL)
        return ts_fail(err, TS_E_INVALID, "%s: value map \"%s\" is not defined: add it under "
                       "\"value_maps\" or fix the name", where, map);
    if (json && strcmp(json, "string") != 0)
        return ts_fail(err, TS_E_INVALID, "%s: \"json\" must be \"string\", the only "
                       "encoding there is", where);
    if (format && parse_format(L->m, format, r))
        return ts_fail(err, TS_E_INVALID, "%s: format \"%s\" is not a prefix, one %%d, %%x or "
                       "%%X (optionally %%0N for N zero-padded digits) and a suffix",
                       where, format);
    return check_rule_types(L, r, nc, where, err);
}

/*
 * 1 when column is one of the real bot's columns of legacy table table
 * (ts_schema_legacy): a drop or a write default for it is for the bot's
 * databases that have it, and a store of an older bot, which does not, has
 * nothing for it to do. Any other unknown name is a mistake to report.
 */
static int bot_column(const char *table, const char *column)
{
    const ts_table *t = ts_schema_table(ts_schema_legacy(), table);
    return t != NULL && ts_table_column(t, column) != NULL;
}

/* ---- one table mapping --------------------------------------------------------- */

static int load_drops(tload *L, const cJSON *j, ts_error *err)
{
    char where[TS_MANIFEST_STR_MAX + 400];
    if (j == NULL)
        return 0;
    snprintf(where, sizeof where, "%s \"drop\"", L->where);
    if (check_object(j, NULL, where, err))
        return -1;
    for (const cJSON *c = j->child; c; c = c->next) {
        snprintf(where, sizeof where, "%s drop \"%s\"", L->where, c->string);
        if (check_ident(c->string, "the legacy column", where, err))
            return -1;
        int col = ts_table_column_index(L->tm->legacy, c->string);
        if (col < 0 && bot_column(L->tm->legacy->name, c->string))
            continue;
        if (col < 0)
            return ts_fail(err, TS_E_INVALID, "%s: legacy table %s has no such column: fix the "
                           "name", where, L->tm->legacy->name);
        if (!cJSON_IsString(c) || c->valuestring[0] == '\0')
            return ts_fail(err, TS_E_INVALID, "%s: give the reason for dropping it as a "
                           "non-empty string (rollback and audits read it)", where);
        if (check_string(c->valuestring, "the reason", where, err))
            return -1;
        const ts_column *lc = &L->tm->legacy->cols[col];
        /* A generated id is no value a rolled back row needs to bring. */
        if (lc->notnull && lc->dflt == NULL && lc->type != TS_COL_ID && lc->identity == TS_IDENT_NONE)
            return ts_fail(err, TS_E_INVALID, "%s: the legacy column is NOT NULL without a "
                           "default, so rolled back rows could not be written: map it instead",
                           where);
        L->drop[col] = c->valuestring;
    }
    return 0;
}

/* "write_defaults": {"column": value}: what an insert that leaves a column of
   the new table out writes there (and, through the mapping, in legacy). */
static int load_write_defaults(tload *L, const cJSON *j, ts_error *err)
{
    char where[TS_MANIFEST_STR_MAX + 400];
    ts_value *d = pool_alloc(L->m, (size_t)L->tm->target->ncols, sizeof *d);
    if (d == NULL)
        return oom(err);
    L->tm->write_default = d;
    if (j == NULL)
        return 0;
    snprintf(where, sizeof where, "%s \"write_defaults\"", L->where);
    if (check_object(j, NULL, where, err))
        return -1;
    for (const cJSON *c = j->child; c; c = c->next) {
        snprintf(where, sizeof where, "%s write default \"%s\"", L->where, c->string);
        if (check_ident(c->string, "the column", where, err))
            return -1;
        int col = ts_table_column_index(L->tm->target, c->string);
        if (col < 0 && bot_column(L->tm->legacy->name, c->string))
            continue;
        if (col < 0)
            return ts_fail(err, TS_E_INVALID, "%s: new table %s has no such column: fix the "
                           "name", where, L->tm->target->name);
        if (strcmp(c->string, "bot_id") == 0)
            return ts_fail(err, TS_E_INVALID, "%s: bot_id comes from the unit of work's bot; "
                           "remove it", where);
        if (get_scalar(c, where, &d[col], err) ||
            check_fits(&d[col], &L->tm->target->cols[col], "the value", where, err))
            return -1;
    }
    return 0;
}

/* Fill every new column the file did not: same-name legacy column, else bot_id. */
static int implicit_rules(tload *L, ts_error *err)
{
    const ts_table *lt = L->tm->legacy, *nt = L->tm->target;
    char where[TS_MANIFEST_STR_MAX + 400];
    for (int i = 0; i < nt->ncols; i++) {
        ts_colrule *r = &L->rules[i];
        int from = ts_table_column_index(lt, nt->cols[i].name);
        if (r->src != TS_SRC_NONE)
            continue;
        snprintf(where, sizeof where, "%s column \"%s\"", L->where, nt->cols[i].name);
        if (from >= 0 && L->drop[from] == NULL) {
            *r = (ts_colrule){TS_SRC_COPY, from};
            if (check_copy_types(&lt->cols[from], &nt->cols[i], where, err))
                return -1;
        } else if (strcmp(nt->cols[i].name, "bot_id") == 0) {
            const ts_value *v = ts_manifest_constant(L->m, "master_bot_id");
            if (v == NULL)
                return ts_fail(err, TS_E_INVALID, "%s: bot_id of legacy rows comes from the "
                               "constant \"master_bot_id\", which is not defined: add it under "
                               "\"constants\"", where);
            *r = (ts_colrule){TS_SRC_CONST, -1};
            r->value = *v;
            if (check_fits(v, &nt->cols[i], "the constant", where, err))
                return -1;
        } else if (nt->cols[i].notnull && nt->cols[i].dflt == NULL) {
            return ts_fail(err, TS_E_INVALID, "%s: NOT NULL without a default, and nothing fills "
                           "it: add a rule for it under \"columns\"", where);
        }
    }
    return 0;
}

/*
 * Every legacy column is carried or dropped (no silent data loss), and each
 * carried one can be restored: the first new column that copies, maps or
 * JSON-encodes it is where rollback reads it back from.
 */
static int restore_columns(tload *L, ts_error *err)
{
    const ts_table *lt = L->tm->legacy, *nt = L->tm->target;
    for (int c = 0; c < lt->ncols; c++) {
        int read = 0;
        L->restore[c] = -1;
        for (int i = 0; i < nt->ncols; i++) {
            const ts_colrule *r = &L->rules[i];
            if (r->from != c || r->src == TS_SRC_NONE || r->src == TS_SRC_CONST)
                continue;
            read = 1;
            if (r->src != TS_SRC_FORMAT && L->restore[c] < 0)
                L->restore[c] = i;
        }
        if (L->drop[c] != NULL && read)
            return ts_fail(err, TS_E_INVALID, "%s: legacy column %s is dropped and also read: "
                           "remove it from \"drop\" or stop reading it", L->where,
                           lt->cols[c].name);
        /* A live column no declaration names, with no new column to go to:
           ts_conform names it as not accounted for, with every other difference. */
        if (L->drop[c] == NULL && !read && lt->cols[c].dialect != 0)
            continue;
        if (L->drop[c] == NULL && !read)
            return ts_fail(err, TS_E_INVALID, "%s: legacy column %s is neither mapped nor "
                           "dropped: map it to a new column or add it to \"drop\" with the "
                           "reason (no silent data loss)", L->where, lt->cols[c].name);
        if (L->drop[c] == NULL && L->restore[c] < 0)
            return ts_fail(err, TS_E_INVALID, "%s: legacy column %s only feeds one-way (format) "
                           "columns, so rollback could not restore it: also copy it somewhere",
                           L->where, lt->cols[c].name);
    }
    return 0;
}

/* 1 when the comma-separated column list names exactly the columns cols[0..n). */
static int list_is(const ts_table *t, const char *list, const int *cols, int n)
{
    int count = 0;
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ", ");
        int found = 0;
        for (int i = 0; i < n && len; i++)
            found |= strlen(t->cols[cols[i]].name) == len &&
                     strncmp(t->cols[cols[i]].name, p, len) == 0;
        if (len && !found)
            return 0;
        count += len > 0;
        p += len;
        p += strspn(p, ", ");
    }
    return count == n;
}

static int load_key(tload *L, const cJSON *tj, ts_error *err)
{
    const cJSON *key;
    ts_tmap *tm = L->tm;
    const ts_table *nt = tm->target;
    if (get_array(tj, "key", 1, L->where, &key, err) ||
        check_ident_array(key, "key column", L->where, err))
        return -1;
    tm->nkey = count_children(key);
    if (tm->nkey == 0)
        return ts_fail(err, TS_E_INVALID, "%s: \"key\" is empty: name the legacy key columns",
                       L->where);
    int *k = pool_alloc(L->m, (size_t)tm->nkey, sizeof *k);
    int *nk = pool_alloc(L->m, (size_t)tm->nkey + 1, sizeof *nk);
    if (k == NULL || nk == NULL)
        return oom(err);
    int bot = ts_table_column_index(nt, "bot_id");
    tm->nnew_key = 0;
    if (bot >= 0 && L->rules[bot].src == TS_SRC_CONST)
        nk[tm->nnew_key++] = bot;
    int i = 0;
    for (const cJSON *c = key->child; c; c = c->next, i++) {
        k[i] = ts_table_column_index(tm->legacy, c->valuestring);
        if (k[i] < 0)
            return ts_fail(err, TS_E_INVALID, "%s: key column \"%s\" is not a column of legacy "
                           "table %s", L->where, c->valuestring, tm->legacy->name);
        int to = L->restore[k[i]];
        if (to < 0 || L->rules[to].src == TS_SRC_JSON ||
            (L->rules[to].src == TS_SRC_MAP && !L->rules[to].map->injective))
            return ts_fail(err, TS_E_INVALID, "%s: key column %s is not mapped to a new column "
                           "by a copy, a rename or a one-to-one value map: map it so rows can "
                           "be found in both stores", L->where, c->valuestring);
        nk[tm->nnew_key++] = to;
    }
    tm->key = k;
    tm->new_key = nk;
    int unique = list_is(nt, nt->pk, nk, tm->nnew_key);
    for (int u = 0; nt->uniques && nt->uniques[u] && !unique; u++)
        unique = list_is(nt, nt->uniques[u], nk, tm->nnew_key);
    if (!unique)
        return ts_fail(err, TS_E_INVALID, "%s: the key maps to columns that are neither the "
                       "primary key (%s) nor a unique of %s, so backfill could not upsert: "
                       "fix \"key\"", L->where, nt->pk, nt->name);
    return 0;
}

static int load_where(tload *L, const cJSON *tj, ts_error *err)
{
    static const char *const fields[] = {"column", "in", "not_in", NULL};
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(tj, "where");
    char where[TS_MANIFEST_STR_MAX + 400];
    const char *col, *in, *not_in;
    L->tm->where_col = -1;
    if (j == NULL)
        return 0;
    snprintf(where, sizeof where, "%s \"where\"", L->where);
    if (check_object(j, fields, where, err) || get_string(j, "column", 1, where, &col, err) ||
        get_string(j, "in", 0, where, &in, err) || get_string(j, "not_in", 0, where, &not_in, err))
        return -1;
    if ((in == NULL) == (not_in == NULL))
        return ts_fail(err, TS_E_INVALID, "%s: give exactly one of \"in\" and \"not_in\"", where);
    L->tm->where_col = ts_table_column_index(L->tm->legacy, col);
    if (L->tm->where_col < 0 || L->tm->legacy->cols[L->tm->where_col].type != TS_COL_TEXT)
        return ts_fail(err, TS_E_INVALID, "%s: \"%s\" is not a text column of legacy table %s",
                       where, col, L->tm->legacy->name);
    L->tm->where_in = in != NULL;
    L->tm->where_map = find_valmap(L->m, in ? in : not_in);
    if (L->tm->where_map == NULL)
        return ts_fail(err, TS_E_INVALID, "%s: value map \"%s\" is not defined: add it under "
                       "\"value_maps\" or fix the name", where, in ? in : not_in);
    return 0;
}

static int load_table_names(tload *L, const cJSON *tj, ts_error *err)
{
    const char *legacy, *target;
    if (get_string(tj, "legacy", 1, L->where, &legacy, err) ||
        get_string(tj, "new", 1, L->where, &target, err) ||
        check_ident(legacy, "legacy table", L->where, err) ||
        check_ident(target, "new table", L->where, err))
        return -1;
    L->tm->legacy = ts_schema_table(L->m->legacy_sc, legacy);
    if (L->tm->legacy == NULL)
        return ts_fail(err, TS_E_INVALID, "%s: \"%s\" is not a legacy table: fix \"legacy\"",
                       L->where, legacy);
    L->tm->target = ts_schema_table(L->m->new_sc, target);
    if (L->tm->target == NULL)
        return ts_fail(err, TS_E_INVALID, "%s: \"%s\" is not a table of the new schema: fix "
                       "\"new\"", L->where, target);
    return 0;
}

static int load_tmap(ts_manifest *m, const ts_increment *inc, const cJSON *tj, int index,
                     ts_tmap *tm, ts_error *err)
{
    static const char *const fields[] = {"legacy", "new", "key", "columns", "drop", "where",
                                         "write_defaults", NULL};
    tload L = {m, tm};
    snprintf(L.where, sizeof L.where, "increment \"%s\" table #%d", inc->id, index + 1);
    tm->inc = inc;
    if (check_object(tj, fields, L.where, err) || load_table_names(&L, tj, err))
        return -1;
    snprintf(L.where, sizeof L.where, "increment \"%s\" table %s -> %s", inc->id,
             tm->legacy->name, tm->target->name);

    L.rules = pool_alloc(m, (size_t)tm->target->ncols, sizeof *L.rules);
    L.restore = pool_alloc(m, (size_t)tm->legacy->ncols, sizeof *L.restore);
    L.drop = pool_alloc(m, (size_t)tm->legacy->ncols, sizeof *L.drop);
    if (L.rules == NULL || L.restore == NULL || L.drop == NULL)
        return oom(err);
    for (int i = 0; i < tm->target->ncols; i++)
        L.rules[i].from = -1;

    const cJSON *cols = cJSON_GetObjectItemCaseSensitive(tj, "columns");
    char where[TS_MANIFEST_STR_MAX + 400];
    snprintf(where, sizeof where, "%s \"columns\"", L.where);
    if (cols != NULL && check_object(cols, NULL, where, err))
        return -1;
    for (const cJSON *c = cols ? cols->child : NULL; c; c = c->next)
        if (load_rule(&L, c, err))
            return -1;
    if (load_drops(&L, cJSON_GetObjectItemCaseSensitive(tj, "drop"), err) ||
        load_write_defaults(&L, cJSON_GetObjectItemCaseSensitive(tj, "write_defaults"), err) ||
        implicit_rules(&L, err) || restore_columns(&L, err) || load_key(&L, tj, err) ||
        load_where(&L, tj, err))
        return -1;
    tm->rules = L.rules;
    tm->restore = L.restore;
    tm->drop_reason = L.drop;
    return 0;
}

/* ---- increments ------------------------------------------------------------------ */

/* "2.1", "2.3a": the plan's numbering. */
static int increment_id_valid(const char *s)
{
    size_t n = strlen(s), i = 0;
    if (n == 0 || n > TS_INCREMENT_ID_MAX)
        return 0;
    while (i < n) {
        size_t digits = strspn(s + i, "0123456789");
        if (digits == 0)
            return 0;
        i += digits;
        if (s[i] == '.')
            i++;
        else if (s[i] >= 'a' && s[i] <= 'z' && i + 1 == n)
            return 1;
        else if (s[i] != '\0')
            return 0;
    }
    return s[n - 1] != '.';
}

/* "tenant-tables": lower-case words joined by '-' or '_'. */
static int increment_name_valid(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= TS_IDENT_MAX && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-_") == n;
}

static int load_creates(ts_manifest *m, ts_increment *inc, const cJSON *j, const char *where,
                        ts_error *err)
{
    if (check_ident_array(j, "created table", where, err))
        return -1;
    inc->ncreates = count_children(j);
    const ts_table **t = pool_alloc(m, (size_t)inc->ncreates, sizeof *t);
    if (t == NULL)
        return oom(err);
    int i = 0;
    for (const cJSON *c = j ? j->child : NULL; c; c = c->next, i++) {
        t[i] = ts_schema_table(m->new_sc, c->valuestring);
        if (t[i] == NULL)
            return ts_fail(err, TS_E_INVALID, "%s: created table \"%s\" is not a table of the new "
                           "schema: fix the name", where, c->valuestring);
        if (ts_schema_table(m->legacy_sc, c->valuestring) != NULL)
            return ts_fail(err, TS_E_INVALID, "%s: \"%s\" has a legacy twin and is made by the "
                           "increment that maps it: list only new-only tables in \"creates\"",
                           where, c->valuestring);
    }
    inc->creates = t;
    return 0;
}

static int load_tmaps(ts_manifest *m, ts_increment *inc, const cJSON *j, ts_error *err)
{
    inc->ntmaps = count_children(j);
    ts_tmap *tms = pool_alloc(m, (size_t)inc->ntmaps, sizeof *tms);
    if (tms == NULL)
        return oom(err);
    int i = 0;
    for (const cJSON *c = j ? j->child : NULL; c; c = c->next, i++)
        if (load_tmap(m, inc, c, i, &tms[i], err))
            return -1;
    inc->tmaps = tms;
    return 0;
}

/* Reads everything of one increment but its dependencies, which *deps keeps
   for resolve_deps once every id is known. */
static int load_increment(ts_manifest *m, const cJSON *j, int index, ts_increment *inc,
                          const cJSON **deps, ts_error *err)
{
    static const char *const fields[] = {"id", "name", "kind", "depends", "creates", "tables",
                                         NULL};
    char where[TS_MANIFEST_STR_MAX + 64];
    const char *kind;
    const cJSON *creates, *tables;

    snprintf(where, sizeof where, "increment #%d", index + 1);
    if (check_object(j, fields, where, err) || get_string(j, "id", 1, where, &inc->id, err))
        return -1;
    if (!increment_id_valid(inc->id))
        return ts_fail(err, TS_E_INVALID, "%s: id \"%.40s\" is not an id of the plan: use digits "
                       "and dots with an optional letter (\"2.3a\"), at most %d characters",
                       where, inc->id, TS_INCREMENT_ID_MAX);
    snprintf(where, sizeof where, "increment \"%s\"", inc->id);
    for (ts_increment *o = m->incs; o < inc; o++)
        if (strcmp(o->id, inc->id) == 0)
            return ts_fail(err, TS_E_INVALID, "%s: the id is used twice (increments #%d and "
                           "#%d): give each increment its own id", where,
                           (int)(o - m->incs) + 1, index + 1);
    if (get_string(j, "name", 1, where, &inc->name, err) ||
        get_string(j, "kind", 1, where, &kind, err) ||
        get_array(j, "depends", 0, where, deps, err))
        return -1;
    if (!increment_name_valid(inc->name))
        return ts_fail(err, TS_E_INVALID, "%s: name \"%.80s\" must be lower-case letters, digits, "
                       "'-' and '_', at most %d characters", where, inc->name, TS_IDENT_MAX);
    if (strcmp(kind, "data") == 0)
        inc->kind = TS_INC_DATA;
    else if (strcmp(kind, "behaviour") == 0)
        inc->kind = TS_INC_BEHAVIOUR;
    else
        return ts_fail(err, TS_E_INVALID, "%s: unknown kind \"%.40s\": use \"data\" or "
                       "\"behaviour\"", where, kind);
    if (get_array(j, "creates", 0, where, &creates, err) ||
        get_array(j, "tables", 0, where, &tables, err))
        return -1;
    if (inc->kind == TS_INC_BEHAVIOUR && (creates || tables))
        return ts_fail(err, TS_E_INVALID, "%s: a behaviour increment switches code and moves no "
                       "tables: remove \"creates\" and \"tables\", or make it kind \"data\"",
                       where);
    if (inc->kind == TS_INC_DATA && count_children(creates) + count_children(tables) == 0)
        return ts_fail(err, TS_E_INVALID, "%s: a data increment needs \"tables\" or \"creates\"",
                       where);
    if (count_children(creates) + count_children(tables) > TS_INCREMENT_MAX_TABLES)
        return ts_fail(err, TS_E_INVALID, "%s: creates and maps %d tables, more than the %d one "
                       "increment may: split it into increments", where,
                       count_children(creates) + count_children(tables), TS_INCREMENT_MAX_TABLES);
    return load_creates(m, inc, creates, where, err) || load_tmaps(m, inc, tables, err);
}

/* ---- the whole manifest --------------------------------------------------------- */

static ts_increment *find_increment(const ts_manifest *m, const char *id)
{
    for (int i = 0; i < m->ninc; i++)
        if (strcmp(m->incs[i].id, id) == 0)
            return &m->incs[i];
    return NULL;
}

static int resolve_deps(ts_manifest *m, const cJSON *const *depj, ts_error *err)
{
    for (int i = 0; i < m->ninc; i++) {
        ts_increment *inc = &m->incs[i];
        inc->ndeps = count_children(depj[i]);
        const ts_increment **deps = pool_alloc(m, (size_t)inc->ndeps, sizeof *deps);
        if (deps == NULL)
            return oom(err);
        int k = 0;
        for (const cJSON *c = depj[i] ? depj[i]->child : NULL; c; c = c->next, k++) {
            if (!cJSON_IsString(c))
                return ts_fail(err, TS_E_INVALID, "increment \"%s\": every entry of \"depends\" "
                               "must be an increment id string", inc->id);
            deps[k] = find_increment(m, c->valuestring);
            if (deps[k] == NULL)
                return ts_fail(err, TS_E_INVALID, "increment \"%s\": depends on \"%.40s\", which "
                               "is not in the manifest: add that increment or fix the id",
                               inc->id, c->valuestring);
            for (int d = 0; d < k; d++)
                if (deps[d] == deps[k])
                    return ts_fail(err, TS_E_INVALID, "increment \"%s\": depends on \"%s\" "
                                   "twice: keep one", inc->id, deps[k]->id);
        }
        inc->deps = deps;
    }
    return 0;
}

static int inc_index(const ts_manifest *m, const ts_increment *inc)
{
    return (int)(inc - m->incs);
}

/*
 * Depth-first from increment i: emits it after everything it depends on (the
 * dependency order), fills its row of the reachability matrix, and names the
 * cycle when the path comes back to an increment still on it.
 */
static int visit(ts_manifest *m, int i, unsigned char *state, int *path, int depth, int *n,
                 ts_error *err)
{
    const ts_increment *inc = &m->incs[i];
    path[depth] = i;
    if (state[i] == 2)
        return 0;
    if (state[i] == 1) {
        char cycle[512] = "";
        int from = 0;
        while (path[from] != i)
            from++;
        for (int k = from; k <= depth; k++)
            snprintf(cycle + strlen(cycle), sizeof cycle - strlen(cycle), "%s%s",
                     k == from ? "" : " -> ", m->incs[path[k]].id);
        return ts_fail(err, TS_E_INVALID, "dependency cycle %s: no increment may depend on "
                       "itself, even through others: remove one of these dependencies", cycle);
    }
    state[i] = 1;
    for (int d = 0; d < inc->ndeps; d++) {
        int j = inc_index(m, inc->deps[d]);
        if (visit(m, j, state, path, depth + 1, n, err))
            return -1;
        m->reach[i * m->ninc + j] = 1;
        for (int k = 0; k < m->ninc; k++)
            m->reach[i * m->ninc + k] |= m->reach[j * m->ninc + k];
    }
    state[i] = 2;
    m->order[(*n)++] = inc;
    return 0;
}

static int order_increments(ts_manifest *m, ts_error *err)
{
    unsigned char *state = pool_alloc(m, (size_t)m->ninc, 1);
    int *path = pool_alloc(m, (size_t)m->ninc + 1, sizeof *path);
    int n = 0;
    if (state == NULL || path == NULL)
        return oom(err);
    for (int i = 0; i < m->ninc; i++)
        if (visit(m, i, state, path, 0, &n, err))
            return -1;
    return 0;
}

int ts_manifest_depends_on(const ts_manifest *m, const ts_increment *a, const ts_increment *b)
{
    return m->reach[inc_index(m, a) * m->ninc + inc_index(m, b)];
}

static const ts_increment *creator_of(const ts_manifest *m, const ts_table *t)
{
    for (int i = 0; i < m->ninc; i++)
        for (int c = 0; c < m->incs[i].ncreates; c++)
            if (m->incs[i].creates[c] == t)
                return &m->incs[i];
    return NULL;
}

/* Each legacy table moves with one increment, each new table is filled by one
   mapping and created once, before (or with) the increment that fills it. */
static int check_ownership(const ts_manifest *m, ts_error *err)
{
    for (int i = 0; i < m->ninc; i++) {
        const ts_increment *inc = &m->incs[i];
        for (int c = 0; c < inc->ncreates; c++) {
            const ts_increment *first = creator_of(m, inc->creates[c]);
            if (first != inc)
                return ts_fail(err, TS_E_INVALID, "increment \"%s\": table %s is already created "
                               "by increment \"%s\": create it once", inc->id,
                               inc->creates[c]->name, first->id);
        }
        for (int t = 0; t < inc->ntmaps; t++) {
            const ts_tmap *a = &inc->tmaps[t];
            for (int j = 0; j <= i; j++)
                for (int u = 0; u < (j == i ? t : m->incs[j].ntmaps); u++) {
                    const ts_tmap *b = &m->incs[j].tmaps[u];
                    if (b->target == a->target)
                        return ts_fail(err, TS_E_INVALID, "new table %s is filled by increment "
                                       "\"%s\" (from %s) and increment \"%s\" (from %s): fill "
                                       "each new table from one mapping", a->target->name,
                                       b->inc->id, b->legacy->name, inc->id, a->legacy->name);
                    if (b->legacy == a->legacy && j != i)
                        return ts_fail(err, TS_E_INVALID, "legacy table %s is mapped by "
                                       "increments \"%s\" and \"%s\": a table moves with exactly "
                                       "one increment", a->legacy->name, b->inc->id, inc->id);
                }
            if (ts_schema_table(m->legacy_sc, a->target->name) != NULL)
                continue; /* a legacy twin: made by the increment that maps it */
            const ts_increment *maker = creator_of(m, a->target);
            if (maker != inc && (maker == NULL || !ts_manifest_depends_on(m, inc, maker)))
                return ts_fail(err, TS_E_INVALID, "increment \"%s\" table %s -> %s: no increment "
                               "it depends on (nor itself) creates %s: add it to \"creates\" "
                               "there or add the dependency", inc->id, a->legacy->name,
                               a->target->name, a->target->name);
        }
    }
    return 0;
}

/*
 * A row filter only makes sense as one half of a split: the same legacy table
 * mapped twice in one increment, "in" and "not_in" the same value map on the
 * same column, so every legacy row goes exactly one way.
 */
static int check_splits(const ts_increment *inc, ts_error *err)
{
    for (int t = 0; t < inc->ntmaps; t++) {
        const ts_tmap *a = &inc->tmaps[t], *other = NULL;
        int n = 0;
        for (int u = 0; u < inc->ntmaps; u++)
            if (u != t && inc->tmaps[u].legacy == a->legacy) {
                other = &inc->tmaps[u];
                n++;
            }
        if (n == 0 && a->where_col >= 0)
            return ts_fail(err, TS_E_INVALID, "increment \"%s\" table %s -> %s: the \"where\" "
                           "filter would leave the other rows of %s behind: map them with the "
                           "opposite filter too, or remove the filter", inc->id, a->legacy->name,
                           a->target->name, a->legacy->name);
        if (n > 1 || (n == 1 && (a->where_col < 0 || other->where_col != a->where_col ||
                                 other->where_map != a->where_map ||
                                 other->where_in == a->where_in)))
            return ts_fail(err, TS_E_INVALID, "increment \"%s\": legacy table %s is split over "
                           "%d mappings: split a table in two at most, with opposite filters "
                           "(\"in\" and \"not_in\") on the same column and value map, so every "
                           "row goes exactly one way", inc->id, a->legacy->name, n + 1);
    }
    return 0;
}

static int load_increments(ts_manifest *m, const cJSON *j, ts_error *err)
{
    m->ninc = count_children(j);
    if (m->ninc == 0)
        return ts_fail(err, TS_E_INVALID, "the manifest lists no increments: add them under "
                       "\"increments\"");
    if (m->ninc > MAX_INCREMENTS)
        return ts_fail(err, TS_E_INVALID, "the manifest lists %d increments, more than the %d "
                       "allowed", m->ninc, MAX_INCREMENTS);
    const cJSON **depj = pool_alloc(m, (size_t)m->ninc, sizeof *depj);
    m->incs = pool_alloc(m, (size_t)m->ninc, sizeof *m->incs);
    m->order = pool_alloc(m, (size_t)m->ninc, sizeof *m->order);
    m->reach = pool_alloc(m, (size_t)m->ninc * (size_t)m->ninc, 1);
    if (depj == NULL || m->incs == NULL || m->order == NULL || m->reach == NULL)
        return oom(err);
    int i = 0;
    for (const cJSON *c = j->child; c; c = c->next, i++)
        if (load_increment(m, c, i, &m->incs[i], &depj[i], err))
            return -1;
    if (resolve_deps(m, depj, err) || order_increments(m, err) || check_ownership(m, err))
        return -1;
    for (i = 0; i < m->ninc; i++)
        if (check_splits(&m->incs[i], err))
            return -1;
    return 0;
}

/* The increment that moves legacy table name, NULL when none does. */
static const ts_increment *mover_of(const ts_manifest *m, const char *name)
{
    for (int i = 0; i < m->ninc; i++)
        for (int t = 0; t < m->incs[i].ntmaps; t++)
            if (strcmp(m->incs[i].tmaps[t].legacy->name, name) == 0)
                return &m->incs[i];
    return NULL;
}

/* "ignored": {"table": "why it is not moved", ...}: legacy tables that stay
   behind on purpose. A reason is required, so a table is never left out by
   accident, and a table an increment moves cannot be ignored as well. */
static int load_ignored(ts_manifest *m, const cJSON *j, ts_error *err)
{
    char where[TS_MANIFEST_STR_MAX + 32];
    if (j == NULL)
        return 0;
    if (check_object(j, NULL, "ignored", err))
        return -1;
    for (const cJSON *c = j->child; c; c = c->next) {
        snprintf(where, sizeof where, "ignored table \"%s\"", c->string);
        if (check_ident(c->string, "the table name", where, err))
            return -1;
        if (!cJSON_IsString(c) || c->valuestring[0] == '\0')
            return ts_fail(err, TS_E_INVALID, "%s: the value must say why it is not moved "
                           "(a non-empty string)", where);
        if (check_string(c->valuestring, "the reason", where, err))
            return -1;
        const ts_increment *mover = mover_of(m, c->string);
        if (mover != NULL)
            return ts_fail(err, TS_E_INVALID, "%s: increment %s moves it: remove it from "
                           "\"ignored\" or from the increment", where, mover->id);
    }
    m->ignored = j;
    return 0;
}

static int load_root(ts_manifest *m, ts_error *err)
{
    static const char *const fields[] = {"format", "constants", "value_maps", "increments",
                                         "ignored", NULL};
    const cJSON *format = cJSON_GetObjectItemCaseSensitive(m->root, "format");
    const cJSON *incs;
    if (check_object(m->root, fields, "the manifest", err))
        return -1;
    if (!cJSON_IsNumber(format) || format->valuedouble != 1)
        return ts_fail(err, TS_E_INVALID, "the manifest: \"format\" must be 1, the format this "
                       "build reads");
    if (load_constants(m, cJSON_GetObjectItemCaseSensitive(m->root, "constants"), err) ||
        load_valmaps(m, cJSON_GetObjectItemCaseSensitive(m->root, "value_maps"), err) ||
        get_array(m->root, "increments", 1, "the manifest", &incs, err) ||
        load_increments(m, incs, err))
        return -1;
    return load_ignored(m, cJSON_GetObjectItemCaseSensitive(m->root, "ignored"), err);
}

/* Line by line, so the message can say where (no UTF-8 sequence spans a '\n'). */
static int check_utf8(const char *text, size_t len, ts_error *err)
{
    const char *p = text, *end = text + len;
    for (int line = 1; p < end; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (!ts_utf8_valid(p, n))
            return ts_fail(err, TS_E_INVALID, "the manifest is not valid UTF-8 at line %d: "
                           "save it as UTF-8", line);
        p += n + 1;
    }
    return 0;
}

static int syntax_error(const char *text, const char *at, ts_error *err)
{
    int line = 1, col = 1;
    for (const char *p = text; at && p < at; p++, col++)
        if (*p == '\n') {
            line++;
            col = 0;
        }
    return ts_fail(err, TS_E_INVALID, "the manifest is not valid JSON: error at line %d column "
                   "%d: fix the syntax there", line, col);
}

/* Load text, resolving its tables against legacy_sc and new_sc. */
static int load_against(const char *text, const ts_schema *legacy_sc, const ts_schema *new_sc,
                        ts_manifest **out, ts_error *err)
{
    size_t len = strlen(text);
    const char *end = NULL;
    *out = NULL;
    if (len > TS_MANIFEST_MAX_BYTES)
        return ts_fail(err, TS_E_INVALID, "the manifest is %zu bytes, more than the %d a "
                       "manifest may have", len, TS_MANIFEST_MAX_BYTES);
    if (check_utf8(text, len, err))
        return -1;
    ts_manifest *m = calloc(1, sizeof *m);
    if (m == NULL || (m->text = strdup(text)) == NULL) {
        free(m);
        return oom(err);
    }
    m->legacy_sc = legacy_sc;
    m->new_sc = new_sc;
    m->root = cJSON_ParseWithOpts(text, &end, 1);
    if (m->root == NULL) {
        ts_manifest_free(m);
        return syntax_error(text, end, err);
    }
    if (load_root(m, err)) {
        ts_manifest_free(m);
        return -1;
    }
    *out = m;
    return 0;
}

int ts_manifest_load_json(const char *text, ts_manifest **out, ts_error *err)
{
    return load_against(text, ts_schema_legacy(), ts_schema_new(), out, err);
}

const ts_schema *ts_manifest_legacy_schema(const ts_manifest *m) { return m->legacy_sc; }
const ts_schema *ts_manifest_new_schema(const ts_manifest *m) { return m->new_sc; }

int ts_manifest_load_default(ts_manifest **out, ts_error *err)
{
    if (ts_manifest_load_json(ts_manifest_default_json, out, err) == 0)
        return 0;
    ts_error_context(err, "the built-in manifest (shim/manifest.json)");
    return -1;
}

/* The text of manifest file path (malloc'd). */
static int read_file(const char *path, char **text, ts_error *err)
{
    *text = NULL;
    /* Non-blocking, so a FIFO (or a device) is refused instead of waiting
       forever for a writer; a manifest is a regular file. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return ts_fail(err, TS_E_IO, "cannot open manifest %s: %s: check the path", path,
                       strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return ts_fail(err, TS_E_INVALID, "manifest %s is not a regular file (a pipe, device or "
                       "directory): give the path of the manifest's JSON file", path);
    }
    FILE *f = fdopen(fd, "rb");
    if (f == NULL) {
        close(fd);
        return oom(err);
    }
    /* One byte more than allowed, so load_against sees an oversized file as such. */
    char *buf = malloc(TS_MANIFEST_MAX_BYTES + 2);
    if (buf == NULL) {
        fclose(f);
        return oom(err);
    }
    size_t n = fread(buf, 1, TS_MANIFEST_MAX_BYTES + 1, f);
    int failed = ferror(f);
    fclose(f);
    buf[n] = '\0';
    if (failed || strlen(buf) != n) {
        size_t nul = strlen(buf);
        free(buf);
        return failed ? ts_fail(err, TS_E_IO, "manifest %s: reading failed: check the file", path)
                      : ts_fail(err, TS_E_INVALID, "manifest %s: contains a NUL byte at offset "
                                "%zu: a manifest is JSON text", path, nul);
    }
    *text = buf;
    return 0;
}

int ts_manifest_load_file(const char *path, ts_manifest **out, ts_error *err)
{
    char *text;
    *out = NULL;
    if (read_file(path, &text, err))
        return -1;
    int rc = ts_manifest_load_json(text, out, err);
    free(text);
    if (rc)
        ts_error_context(err, "manifest %s", path);
    return rc;
}

int ts_manifest_load_live(const char *path, ts_store *legacy, ts_manifest **out, ts_error *err)
{
    char *text = NULL;
    ts_schema *live = NULL;
    ts_arena a = {0};
    const ts_schema *lsc = NULL, *nsc = NULL;
    *out = NULL;
    if (path && read_file(path, &text, err))
        return -1;
    if (ts_catalog_read(legacy, "legacy", &live, err) ||
        ts_schema_adopt(live, &a, &lsc, &nsc, err)) {
        ts_error_context(err, "reading the tables of the legacy store %s", ts_store_url(legacy));
        goto fail;
    }
    /* With nothing beyond the declarations, they are the schemas. */
    if (load_against(text ? text : ts_manifest_default_json, lsc ? lsc : ts_schema_legacy(),
                     nsc ? nsc : ts_schema_new(), out, err)) {
        ts_error_context(err, "%s%s, read against the tables of %s",
                         path ? "manifest " : "the built-in manifest (shim/manifest.json)",
                         path ? path : "", ts_store_url(legacy));
        goto fail;
    }
    free(text);
    if (lsc == NULL) {
        ts_arena_free(&a);
        ts_schema_free(live);
    } else {
        (*out)->live = live;
        (*out)->adopted = a;
    }
    return 0;
fail:
    free(text);
    ts_arena_free(&a);
    ts_schema_free(live);
    return -1;
}

/* ---- lookups -------------------------------------------------------------------- */

int ts_manifest_count(const ts_manifest *m) { return m->ninc; }

const ts_increment *ts_manifest_at(const ts_manifest *m, int i)
{
    return i >= 0 && i < m->ninc ? m->order[i] : NULL;
}

const ts_increment *ts_manifest_find(const ts_manifest *m, const char *id)
{
    return find_increment(m, id);
}

int ts_manifest_nignored(const ts_manifest *m) { return m->ignored ? count_children(m->ignored) : 0; }

const char *ts_manifest_ignored_at(const ts_manifest *m, int i, const char **reason)
{
    const cJSON *c = m->ignored ? m->ignored->child : NULL;
    for (; c && i > 0; i--)
        c = c->next;
    *reason = c ? c->valuestring : NULL;
    return c ? c->string : NULL;
}

const char *ts_manifest_ignored(const ts_manifest *m, const char *table)
{
    const cJSON *r = m->ignored ? cJSON_GetObjectItemCaseSensitive(m->ignored, table) : NULL;
    return r ? r->valuestring : NULL;
}

const ts_increment *ts_manifest_owner(const ts_manifest *m, const char *table)
{
    for (int i = 0; i < m->ninc; i++)
        for (int t = 0; t < m->incs[i].ntmaps; t++) {
            const ts_tmap *tm = &m->incs[i].tmaps[t];
            if (strcmp(tm->legacy->name, table) == 0 || strcmp(tm->target->name, table) == 0)
                return &m->incs[i];
        }
    const ts_table *t = ts_schema_table(m->new_sc, table);
    return t ? creator_of(m, t) : NULL;
}

const ts_tmap *ts_manifest_route(const ts_manifest *m, const char *legacy_table,
                                 const ts_value *legacy_row)
{
    for (int i = 0; i < m->ninc; i++)
        for (int t = 0; t < m->incs[i].ntmaps; t++) {
            const ts_tmap *tm = &m->incs[i].tmaps[t];
            if (strcmp(tm->legacy->name, legacy_table) == 0 && ts_tmap_accepts(tm, legacy_row))
                return tm;
        }
    return NULL;
}

const ts_tmap *ts_manifest_tmap_for_new(const ts_manifest *m, const char *new_table)
{
    for (int i = 0; i < m->ninc; i++)
        for (int t = 0; t < m->incs[i].ntmaps; t++)
            if (strcmp(m->incs[i].tmaps[t].target->name, new_table) == 0)
                return &m->incs[i].tmaps[t];
    return NULL;
}
