/* ts_check.c: the invariants, read from the live catalogs (see ts_check.h). */
#include "ts_check.h"

#include <stdlib.h>
#include <string.h>

#include "ts_schema.h"

/* ---- the catalog --------------------------------------------------------------- */

/* Rows of (kind p|u|f, columns, referenced table, referenced columns), column
   lists comma-separated in key order. */
static const char pg_keys_sql[] =
    "WITH t AS (SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
    "ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2) "
    "SELECT k.contype::text, "
    "(SELECT string_agg(a.attname, ',' ORDER BY u.o) FROM unnest(k.conkey) WITH ORDINALITY u(n, o) "
    " JOIN pg_catalog.pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n), "
    "coalesce(r.relname::text, ''), "
    "coalesce((SELECT string_agg(a.attname, ',' ORDER BY u.o) FROM unnest(k.confkey) WITH "
    " ORDINALITY u(n, o) JOIN pg_catalog.pg_attribute a ON a.attrelid = k.confrelid AND "
    " a.attnum = u.n), '') "
    "FROM pg_catalog.pg_constraint k JOIN t ON t.oid = k.conrelid "
    "LEFT JOIN pg_catalog.pg_class r ON r.oid = k.confrelid WHERE k.contype IN ('p', 'u', 'f') "
    "UNION ALL "
    /* Unique indexes made without a constraint count as uniques too. */
    "SELECT 'u', (SELECT string_agg(a.attname, ',' ORDER BY u.o) FROM unnest(i.indkey::int2[]) "
    " WITH ORDINALITY u(n, o) JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND "
    " a.attnum = u.n), '', '' "
    "FROM pg_catalog.pg_index i JOIN t ON t.oid = i.indrelid WHERE i.indisunique AND NOT "
    "i.indisprimary AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k WHERE "
    "k.conindid = i.indexrelid AND k.contype IN ('p', 'u'))";

static const char sq_keys_sql[] =
    "SELECT 'p', (SELECT group_concat(name, ',') FROM (SELECT name FROM pragma_table_info($2, $1) "
    " WHERE pk > 0 ORDER BY pk)), '', '' "
    "WHERE EXISTS (SELECT 1 FROM pragma_table_info($2, $1) WHERE pk > 0) "
    "UNION ALL "
    "SELECT 'u', (SELECT group_concat(name, ',') FROM (SELECT name FROM "
    " pragma_index_info(il.name, $1) ORDER BY seqno)), '', '' "
    "FROM pragma_index_list($2, $1) il WHERE il.\"unique\" AND il.origin <> 'pk' "
    "UNION ALL "
    "SELECT 'f', group_concat(\"from\", ','), \"table\", group_concat(\"to\", ',') FROM "
    "(SELECT * FROM pragma_foreign_key_list($2, $1) ORDER BY id, seq) GROUP BY id";

static const char pg_botid_sql[] =
    "SELECT data_type, CASE WHEN is_nullable = 'NO' THEN 1 ELSE 0 END "
    "FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 "
    "AND column_name = 'bot_id'";

static const char sq_botid_sql[] =
    "SELECT lower(type), \"notnull\" FROM pragma_table_info($2, $1) WHERE name = 'bot_id'";

static void copy_text(char *out, size_t n, ts_value v)
{
    snprintf(out, n, "%.*s", v.type == TS_TEXT ? (int)v.len : 0, v.type == TS_TEXT ? v.s : "");
}

int ts_check_catalog_read(ts_store *s, const char *table, ts_catalog_table *out, int *exists,
                    ts_error *err)
{
    int pg = ts_store_engine(s) == TS_ENGINE_PG, rc;
    ts_value p[2] = {ts_text(ts_store_schema(s)), ts_text(table)};
    ts_rows *r;
    memset(out, 0, sizeof *out);
    if (ts_store_table_exists(s, table, exists, err) || !*exists)
        return *exists ? -1 : 0;
    if (ts_store_query(s, pg ? pg_keys_sql : sq_keys_sql, p, 2, &r, err))
        return -1;
    while ((rc = ts_rows_next(r, err)) == 1) {
        ts_value kind = ts_rows_get(r, 0);
        char k = kind.len ? kind.s[0] : '?';
        if (k == 'p') {
            copy_text(out->pk, sizeof out->pk, ts_rows_get(r, 1));
        } else if (k == 'u' && out->nuniques < 16) {
            copy_text(out->uniques[out->nuniques++], sizeof out->uniques[0], ts_rows_get(r, 1));
        } else if (k == 'f' && out->nfks < 16) {
            copy_text(out->fks[out->nfks].cols, sizeof out->fks[0].cols, ts_rows_get(r, 1));
            copy_text(out->fks[out->nfks].table, sizeof out->fks[0].table, ts_rows_get(r, 2));
            copy_text(out->fks[out->nfks].ref_cols, sizeof out->fks[0].ref_cols, ts_rows_get(r, 3));
            out->nfks++;
        }
    }
    ts_rows_close(r);
    if (rc < 0 || ts_store_query(s, pg ? pg_botid_sql : sq_botid_sql, p, 2, &r, err))
        return -1;
    if ((rc = ts_rows_next(r, err)) == 1) {
        out->has_bot_id = 1;
        copy_text(out->bot_id_type, sizeof out->bot_id_type, ts_rows_get(r, 0));
        out->bot_id_notnull = ts_rows_get(r, 1).i != 0;
    }
    ts_rows_close(r);
    return rc < 0 ? -1 : 0;
}

/* Position of bot_id in a comma-separated column list, -1 when absent. */
static int bot_id_at(const char *list)
{
    int i = 0;
    for (const char *p = list; *p; i++) {
        size_t n = strcspn(p, ",");
        if (n == 6 && strncmp(p, "bot_id", 6) == 0)
            return i;
        p += n + (p[n] == ',');
    }
    return -1;
}

/* ---- the invariants -------------------------------------------------------------- */

#define INV(r, name, subject, inv)                                                     \
    ts_vinv *inv = ts_vreport_inv(r, name, subject);                                   \
    if (inv == NULL)                                                                   \
        return ts_fail(err, TS_E_NOMEM, "out of memory recording an invariant")

static int no_null_bot_id(ts_store *nw, const ts_table *t, const ts_catalog_table *c,
                          ts_vreport *r, ts_error *err)
{
    char qt[TS_QNAME_MAX], sql[TS_QNAME_MAX + 64];
    int64_t n;
    INV(r, "no_null_bot_id", t->name, inv);
    if (!c->has_bot_id)
        return ts_vinv_violation(inv, err, "%s has no bot_id column", t->name);
    if (!c->bot_id_notnull && ts_vinv_violation(inv, err, "%s.bot_id accepts NULL: declare it "
                                                "NOT NULL", t->name))
        return -1;
    if (ts_store_table(nw, t->name, qt, err))
        return -1;
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE bot_id IS NULL", qt);
    if (ts_store_query_int(nw, sql, NULL, 0, &n, err) < 0)
        return -1;
    return n ? ts_vinv_violation(inv, err, "%lld row(s) of %s have no bot_id", (long long)n,
                                 t->name) : 0;
}

static int keys_include_bot_id(const ts_table *t, const ts_catalog_table *c, ts_vinv *inv,
                               ts_error *err)
{
    if (c->pk[0] == '\0' && ts_vinv_violation(inv, err, "%s has no primary key", t->name))
        return -1;
    if (c->pk[0] && bot_id_at(c->pk) < 0 &&
        ts_vinv_violation(inv, err, "primary key of %s (%s) lacks bot_id", t->name, c->pk))
        return -1;
    for (int u = 0; u < c->nuniques; u++)
        if (bot_id_at(c->uniques[u]) < 0 &&
            ts_vinv_violation(inv, err, "unique (%s) of %s lacks bot_id", c->uniques[u], t->name))
            return -1;
    return 0;
}

/* FKs between tenant tables carry bot_id to bot_id, so no reference crosses bots. */
static int fks_within_bot(const ts_schema *sc, const ts_table *t, const ts_catalog_table *c,
                          ts_vinv *inv, ts_error *err)
{
    for (int f = 0; f < c->nfks; f++) {
        const ts_table *ref = ts_schema_table(sc, c->fks[f].table);
        if (ref == NULL || !ref->tenant)
            continue;
        int a = bot_id_at(c->fks[f].cols), b = bot_id_at(c->fks[f].ref_cols);
        if ((a < 0 || a != b) &&
            ts_vinv_violation(inv, err, "foreign key %s (%s) -> %s (%s) does not pair bot_id "
                              "with bot_id, so a row may reference another bot's row", t->name,
                              c->fks[f].cols, c->fks[f].table, c->fks[f].ref_cols))
            return -1;
    }
    return 0;
}

/* The table's increment is at a stage without its new tables (ts_vstage.h). */
static int skipped(const ts_vreport *r, const ts_manifest *m, const char *table)
{
    const ts_increment *inc = ts_manifest_owner(m, table);
    return inc != NULL && ts_vreport_skipped(r, inc->id) != NULL;
}

static int tenant_table(ts_store *nw, const ts_schema *sc, const ts_table *t,
                        const char *bots_type, ts_vreport *r, ts_error *err)
{
    ts_catalog_table c;
    int exists;
    if (ts_check_catalog_read(nw, t->name, &c, &exists, err))
        return -1;
    if (!exists)
        return 0; /* its increment is not expanded yet */
    if (no_null_bot_id(nw, t, &c, r, err))
        return -1;
    INV(r, "pk_includes_bot_id", t->name, keys);
    if (keys_include_bot_id(t, &c, keys, err))
        return -1;
    INV(r, "fk_within_bot", t->name, fks);
    if (fks_within_bot(sc, t, &c, fks, err))
        return -1;
    /* Citus: bot_id is the distribution column; co-location needs it in every
       key and every FK among tenant tables, and of one type everywhere. */
    INV(r, "citus_ready", t->name, citus);
    if (keys_include_bot_id(t, &c, citus, err) || fks_within_bot(sc, t, &c, citus, err))
        return -1;
    if (c.has_bot_id && strcmp(c.bot_id_type, bots_type) != 0)
        return ts_vinv_violation(citus, err, "%s.bot_id is %s but bots.id is %s: co-located "
                                 "tables need one distribution column type", t->name,
                                 c.bot_id_type, bots_type);
    return 0;
}

/* Shared tables become Citus reference tables; a reference table may not
   reference a distributed one. */
static int reference_tables(ts_store *nw, const ts_manifest *m, ts_vreport *r, char *bots_type,
                            size_t n, ts_error *err)
{
    const ts_schema *sc = ts_manifest_new_schema(m);
    char list[96] = "reference tables:";
    for (int i = 0; i < sc->ntables; i++)
        if (!sc->tables[i].tenant)
            snprintf(list + strlen(list), sizeof list - strlen(list), " %s", sc->tables[i].name);
    INV(r, "citus_ready", list, inv);
    for (int i = 0; i < sc->ntables; i++) {
        const ts_table *t = &sc->tables[i];
        ts_catalog_table c;
        int exists;
        if (t->tenant || skipped(r, m, t->name))
            continue;
        if (ts_check_catalog_read(nw, t->name, &c, &exists, err))
            return -1;
        if (strcmp(t->name, "bots") == 0) {
            /* bots.id has no bot_id column: read its type the same way. */
            char sql[256];
            ts_value p[2] = {ts_text(ts_store_schema(nw)), ts_text("bots")};
            snprintf(sql, sizeof sql, ts_store_engine(nw) == TS_ENGINE_PG ?
                     "SELECT data_type FROM information_schema.columns WHERE table_schema = $1 "
                     "AND table_name = $2 AND column_name = 'id'" :
                     "SELECT lower(type) FROM pragma_table_info($2, $1) WHERE name = 'id'");
            if (ts_store_query_text(nw, sql, p, 2, bots_type, n, err) < 0)
                return -1;
        }
        for (int f = 0; f < c.nfks; f++) {
            const ts_table *ref = ts_schema_table(sc, c.fks[f].table);
            if (ref && ref->tenant &&
                ts_vinv_violation(inv, err, "shared table %s references tenant table %s: a "
                                  "reference table cannot reference a distributed one",
                                  t->name, c.fks[f].table))
                return -1;
        }
    }
    return 0;
}

static int one_master_bot(ts_store *nw, const ts_manifest *m, ts_vreport *r, ts_error *err)
{
    char qt[TS_QNAME_MAX], sql[TS_QNAME_MAX + 96];
    const ts_value *master = ts_manifest_constant(m, "master_bot_id");
    ts_rows *rows;
    int rc, n = 0, found = 0;
    char ids[256] = "";
    INV(r, "one_master_bot", "bots", inv);
    if (ts_store_table(nw, "bots", qt, err))
        return -1;
    snprintf(sql, sizeof sql, "SELECT id FROM %s WHERE is_master AND is_active ORDER BY id", qt);
    if (ts_store_query(nw, sql, NULL, 0, &rows, err))
        return -1;
    while ((rc = ts_rows_next(rows, err)) == 1) {
        int64_t id = ts_rows_get(rows, 0).i;
        n++;
        found |= master && master->type == TS_INT && master->i == id;
        snprintf(ids + strlen(ids), sizeof ids - strlen(ids), "%s%lld", n > 1 ? ", " : "",
                 (long long)id);
    }
    ts_rows_close(rows);
    if (rc < 0)
        return -1;
    if (n != 1)
        return ts_vinv_violation(inv, err, "%d active master bots (%s): there must be exactly one",
                                 n, n ? ids : "none");
    if (!found)
        return ts_vinv_violation(inv, err, "the active master bot is %s, but the manifest's "
                                 "master_bot_id is another", ids);
    return 0;
}

/*
 * The value the table's id sequence stands at, read without drawing one:
 * PostgreSQL's pg_sequence_last_value (NULL before the first nextval: 0);
 * SQLite's ts_sequences row, or, before the first ts_store_next_id, the
 * table's largest id, which is where that first call starts the counter.
 */
static int sequence_value(ts_store *nw, const char *table, int64_t *v, int *missing,
                          ts_error *err)
{
    char qt[TS_QNAME_MAX];
    *missing = 0;
    if (ts_store_table(nw, table, qt, err))
        return -1;
    if (ts_store_engine(nw) == TS_ENGINE_PG) {
        ts_value p = ts_text(qt);
        int64_t has;
        if (ts_store_query_int(nw, "SELECT count(pg_catalog.pg_get_serial_sequence($1, 'id'))",
                               &p, 1, &has, err) < 0)
            return -1;
        if (!has) {
            *missing = 1;
            return 0;
        }
        return ts_store_query_int(nw, "SELECT coalesce(pg_catalog.pg_sequence_last_value("
                                  "pg_catalog.pg_get_serial_sequence($1, 'id')::regclass), 0)",
                                  &p, 1, v, err) < 0 ? -1 : 0;
    }
    char seq[TS_QNAME_MAX];
    int exists;
    ts_value p = ts_text(table);
    if (ts_store_table_exists(nw, "ts_sequences", &exists, err) ||
        ts_store_table(nw, "ts_sequences", seq, err))
        return -1;
    ts_buf q = {0};
    if (exists)
        ts_buf_printf(&q, "SELECT coalesce((SELECT value FROM %s WHERE name = $1), "
                      "(SELECT coalesce(max(id), 0) FROM %s))", seq, qt);
    else
        ts_buf_printf(&q, "SELECT coalesce(max(id), 0) FROM %s WHERE $1 = $1", qt);
    int rc = q.oom ? ts_fail(err, TS_E_NOMEM, "out of memory reading the sequence of %s", table)
                   : ts_store_query_int(nw, q.s, &p, 1, v, err);
    ts_buf_free(&q);
    return rc < 0 ? -1 : 0;
}

static int sequences_above_legacy(ts_store *legacy, ts_store *nw, const ts_manifest *m,
                                  ts_vreport *r, ts_error *err)
{
    for (int i = 0; i < ts_manifest_count(m); i++) {
        const ts_increment *inc = ts_manifest_at(m, i);
        for (int k = 0; k < inc->ntmaps; k++) {
            const ts_tmap *tm = &inc->tmaps[k];
            const ts_column *lc = ts_table_column(tm->legacy, "id");
            const ts_column *nc = ts_table_column(tm->target, "id");
            char qt[TS_QNAME_MAX], sql[TS_QNAME_MAX + 48];
            int64_t max, seq;
            int exists, missing;
            const ts_vinc *vi = ts_vreport_find_inc(r, inc->id);
            /* Contracted: legacy is retired and gets no id any more. */
            if (lc == NULL || nc == NULL || nc->type != TS_COL_ID ||
                (vi && (vi->skipped[0] || vi->stage == TS_STAGE_CONTRACTED)))
                continue;
            if (ts_store_table_exists(nw, tm->target->name, &exists, err))
                return -1;
            if (!exists)
                continue;
            INV(r, "sequence_above_legacy", tm->target->name, inv);
            if (ts_store_table(legacy, tm->legacy->name, qt, err))
                return -1;
            snprintf(sql, sizeof sql, "SELECT coalesce(max(id), 0) FROM %s", qt);
            if (ts_store_query_int(legacy, sql, NULL, 0, &max, err) < 0 ||
                sequence_value(nw, tm->target->name, &seq, &missing, err))
                return -1;
            if (missing) {
                if (ts_vinv_violation(inv, err, "%s.id has no sequence", tm->target->name))
                    return -1;
            } else if (seq < max &&
                       ts_vinv_violation(inv, err, "the id sequence of %s stands at %lld, below "
                                         "legacy %s's largest id %lld: raise it "
                                         "(ts_store_id_floor) before new rows get ids",
                                         tm->target->name, (long long)seq, tm->legacy->name,
                                         (long long)max))
                return -1;
        }
    }
    return 0;
}

static int journal_not_stuck(ts_store *s, const char *which, int64_t max_age, ts_vreport *r,
                             ts_error *err)
{
    char qt[TS_QNAME_MAX], sql[TS_QNAME_MAX + 160], cutoff[TS_TIME_MAX], now[TS_TIME_MAX];
    char subject[64];
    int64_t secs;
    int exists, rc;
    ts_rows *rows;
    if (ts_store_table_exists(s, "ts_journal", &exists, err))
        return -1;
    if (!exists)
        return 0;
    snprintf(subject, sizeof subject, "ts_journal (%s store)", which);
    INV(r, "journal_not_stuck", subject, inv);
    ts_time_now(now);
    if (ts_time_to_unix(now, &secs, err) || ts_store_table(s, "ts_journal", qt, err))
        return -1;
    ts_time_from_unix(secs - max_age, 0, cutoff);
    ts_value p = ts_time(cutoff);
    snprintf(sql, sizeof sql, "SELECT id, table_name, op, created_at FROM %s WHERE status = "
             "'pending' AND created_at < $1 ORDER BY id", qt);
    if (ts_store_query(s, sql, &p, 1, &rows, err))
        return -1;
    while ((rc = ts_rows_next(rows, err)) == 1) {
        ts_value t = ts_rows_get(rows, 1), op = ts_rows_get(rows, 2), at = ts_rows_get(rows, 3);
        if (ts_vinv_violation(inv, err, "entry %lld (%.*s %.*s) pending since %.*s, longer than "
                              "%llds: run ts-migrate repair", (long long)ts_rows_get(rows, 0).i,
                              (int)op.len, op.s, (int)t.len, t.s, (int)at.len, at.s,
                              (long long)max_age)) {
            rc = -1;
            break;
        }
    }
    ts_rows_close(rows);
    return rc < 0 ? -1 : 0;
}

int ts_check_run(ts_store *legacy, ts_store *nw, const ts_manifest *m, const ts_check_opts *o,
                 ts_vreport *r, ts_error *err)
{
    const ts_schema *sc = ts_manifest_new_schema(m);
    char bots_type[32] = "";
    if (reference_tables(nw, m, r, bots_type, sizeof bots_type, err))
        return -1;
    for (int i = 0; i < sc->ntables; i++)
        if (sc->tables[i].tenant && !skipped(r, m, sc->tables[i].name) &&
            tenant_table(nw, sc, &sc->tables[i], bots_type, r, err))
            return -1;
    if ((!skipped(r, m, "bots") && one_master_bot(nw, m, r, err)) ||
        sequences_above_legacy(legacy, nw, m, r, err) ||
        journal_not_stuck(nw, "new", o->journal_max_age, r, err) ||
        journal_not_stuck(legacy, "legacy", o->journal_max_age, r, err))
        return -1;
    return 0;
}
