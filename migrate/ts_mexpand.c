/* ts_mexpand.c: per-increment DDL, the master bot row, cleanup, orphans. */
#include "ts_mexpand.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ts_log.h"
#include "ts_rowjson.h"

#define MAX_TABLES TS_INCREMENT_MAX_TABLES

static int exists(ts_mig *g, const char *table, int *yes, ts_error *err)
{
    return ts_store_table_exists(g->nw, table, yes, err);
}

static int make_master(ts_mig *g, ts_error *err)
{
    char qt[TS_QNAME_MAX], sql[TS_QNAME_MAX + 160];
    int64_t have = 0;
    ts_value id = ts_int(g->master);
    if (ts_store_table(g->nw, "bots", qt, err))
        return -1;
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE \"id\" = $1", qt);
    if (!g->o.dry_run && ts_store_query_int(g->nw, sql, &id, 1, &have, err) < 0)
        return -1;
    if (have)
        return 0;
    if (g->o.master_token == NULL || *g->o.master_token == '\0')
        return ts_fail(err, TS_E_USAGE, "the master bot row needs the bot's Telegram token: "
                       "pass --master-token TOKEN or set TS_MASTER_TOKEN (it is stored in "
                       "bots.telegram_bot_token and never printed)");
    ts_value p[3] = {id, ts_text(g->o.master_name ? g->o.master_name : "master"),
                     ts_text(g->o.master_token)};
    snprintf(sql, sizeof sql, "INSERT INTO %s (\"id\", \"name\", \"telegram_bot_token\", "
             "\"is_master\", \"is_active\") VALUES ($1, $2, $3, TRUE, TRUE) "
             "ON CONFLICT (\"id\") DO NOTHING", qt);
    if (g->o.dry_run) {
        char red[64];
        fprintf(g->out, "  sql new: %s  -- $1=%lld, $2='%s', $3=%s\n", sql, (long long)g->master,
                g->o.master_name ? g->o.master_name : "master",
                ts_redact(g->o.master_token, red, sizeof red));
        return 0;
    }
    if (ts_store_exec(g->nw, sql, p, 3, NULL, err))
        return -1;
    /* Bots get ids from the table's sequence: keep it above the master's. */
    return ts_store_id_floor(g->nw, "bots", g->master, err);
}

static int owns_bots(const ts_increment *inc)
{
    for (int i = 0; i < inc->ncreates; i++)
        if (strcmp(inc->creates[i]->name, "bots") == 0)
            return 1;
    return 0;
}

int ts_mexpand_create(ts_mig *g, const ts_increment *inc, ts_error *err)
{
    const char *names[MAX_TABLES];
    int n = ts_mig_tables(g->m, inc, 0, names, MAX_TABLES);
    if (n > 0) {
        ts_mig_step(g, "create the new tables of increment %s (%d)", inc->id, n);
        if (g->o.dry_run) {
            char *ddl;
            if (ts_schema_tables_ddl(ts_manifest_new_schema(g->m), names, n, 0, g->nw, &ddl, err))
                return -1;
            fprintf(g->out, "%s", ddl);
            free(ddl);
        } else if (ts_schema_apply_tables(g->nw, ts_manifest_new_schema(g->m), names, n, err)) {
            return -1;
        }
    }
    if (owns_bots(inc)) {
        ts_mig_step(g, "insert the master bot (id %lld) when missing", (long long)g->master);
        if (make_master(g, err))
            return -1;
    }
    return 0;
}

static int delete_master_rows(ts_mig *g, const char *table, ts_error *err)
{
    char qt[TS_QNAME_MAX], sql[TS_QNAME_MAX + 64];
    ts_value p = ts_int(g->master);
    int yes;
    if (exists(g, table, &yes, err))
        return -1;
    if (!yes)
        return 0;
    if (ts_store_table(g->nw, table, qt, err))
        return -1;
    snprintf(sql, sizeof sql, "DELETE FROM %s WHERE \"bot_id\" = $1", qt);
    return ts_mig_exec(g, g->nw, sql, &p, 1, NULL, err);
}

static int forget_backfill(ts_mig *g, const ts_increment *inc, ts_error *err)
{
    char qt[TS_QNAME_MAX], sql[TS_QNAME_MAX + 64];
    ts_value p = ts_text(inc->id);
    if (ts_store_table(g->nw, "ts_backfill", qt, err))
        return -1;
    snprintf(sql, sizeof sql, "DELETE FROM %s WHERE increment_id = $1", qt);
    return ts_mig_exec(g, g->nw, sql, &p, 1, NULL, err);
}

int ts_mexpand_shrink(ts_mig *g, const ts_increment *inc, ts_stage to, ts_error *err)
{
    const char *made[MAX_TABLES];
    int nmade = to == TS_STAGE_LEGACY ? ts_mig_tables(g->m, inc, 0, made, MAX_TABLES) : 0;
    if (!g->o.dry_run && ts_store_begin(g->nw, err))
        return -1;
    /* Filled tables in reverse map order: referencing rows go first. */
    for (int i = inc->ntmaps - 1; i >= 0; i--) {
        const char *t = inc->tmaps[i].target->name;
        int is_made = 0;
        for (int k = 0; k < nmade; k++)
            is_made |= strcmp(made[k], t) == 0;
        if (!is_made) {
            ts_mig_step(g, "delete the master bot's rows of %s (stale below dual_write)", t);
            if (delete_master_rows(g, t, err))
                goto fail;
        }
    }
    if (forget_backfill(g, inc, err))
        goto fail;
    if (nmade) {
        ts_mig_step(g, "drop the new tables of increment %s (%d)", inc->id, nmade);
        if (g->o.dry_run) {
            char *ddl;
            if (ts_schema_tables_ddl(ts_manifest_new_schema(g->m), made, nmade, 1, g->nw, &ddl, err))
                goto fail;
            fprintf(g->out, "%s", ddl);
            free(ddl);
        } else if (ts_schema_drop_tables(g->nw, ts_manifest_new_schema(g->m), made, nmade, err)) {
            goto fail;
        }
    }
    if (!g->o.dry_run && ts_store_commit(g->nw, err))
        goto fail;
    return 0;
fail:
    if (!g->o.dry_run)
        ts_store_rollback(g->nw, NULL);
    return -1;
}

/* ---- orphans ---------------------------------------------------------------- */

/* The WHERE clause selecting a table's orphans; "" for all rows. */
static const char *orphan_where(ts_mig *g, const char *table)
{
    if (strcmp(table, "bots") == 0)
        return " WHERE \"id\" <> $1";
    if (ts_manifest_tmap_for_new(g->m, table) != NULL)
        return " WHERE \"bot_id\" <> $1";
    return "";
}

/* Call fn for each orphan table of inc with its SELECT/COUNT tail. */
static int each_orphan_table(ts_mig *g, const ts_increment *inc,
                             int (*fn)(ts_mig *g, const char *table, const char *qt,
                                       const char *where, void *ctx, ts_error *err),
                             void *ctx, ts_error *err)
{
    const char *names[MAX_TABLES];
    int n = ts_mig_tables(g->m, inc, 1, names, MAX_TABLES);
    for (int i = 0; i < n; i++) {
        char qt[TS_QNAME_MAX];
        int yes;
        if (exists(g, names[i], &yes, err))
            return -1;
        if (!yes)
            continue;
        if (ts_store_table(g->nw, names[i], qt, err) ||
            fn(g, names[i], qt, orphan_where(g, names[i]), ctx, err))
            return -1;
    }
    return 0;
}

typedef struct count_ctx {
    int64_t total;
    ts_buf *detail;
} count_ctx;

static int count_one(ts_mig *g, const char *table, const char *qt, const char *where, void *vctx,
                     ts_error *err)
{
    count_ctx *c = vctx;
    char sql[TS_QNAME_MAX + 96];
    int64_t n = 0;
    ts_value p = ts_int(g->master);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s%s", qt, where);
    if (ts_store_query_int(g->nw, sql, &p, *where ? 1 : 0, &n, err) < 0)
        return -1;
    if (n && c->detail)
        ts_buf_printf(c->detail, "%s%s=%lld", c->total ? ", " : "", table, (long long)n);
    c->total += n;
    return 0;
}

int ts_mexpand_orphans(ts_mig *g, const ts_increment *inc, int64_t *count, ts_buf *detail,
                       ts_error *err)
{
    count_ctx c = {0, detail};
    int rc = each_orphan_table(g, inc, count_one, &c, err);
    *count = c.total;
    return rc;
}

typedef struct export_ctx {
    FILE *f;
    int64_t written;
} export_ctx;

static int export_one(ts_mig *g, const char *table, const char *qt, const char *where, void *vctx,
                      ts_error *err)
{
    export_ctx *c = vctx;
    const ts_table *t = ts_schema_table(ts_manifest_new_schema(g->m), table);
    char sql[TS_QNAME_MAX + 2048];
    ts_buf cols = {0}, line = {0};
    ts_rows *r;
    ts_value p = ts_int(g->master);
    int rc;
    for (int i = 0; i < t->ncols; i++)
        ts_buf_printf(&cols, "%s\"%s\"", i ? ", " : "", t->cols[i].name);
    snprintf(sql, sizeof sql, "SELECT %s FROM %s%s", cols.s, qt, where);
    ts_buf_free(&cols);
    if (ts_store_query(g->nw, sql, &p, *where ? 1 : 0, &r, err))
        return -1;
    while ((rc = ts_rows_next(r, err)) == 1) {
        ts_buf_reset(&line);
        ts_buf_printf(&line, "{\"table\":\"%s\",\"row\":{", table);
        for (int i = 0; i < t->ncols; i++) {
            ts_value v = ts_rows_get(r, i);
            ts_buf_printf(&line, "%s\"%s\":", i ? "," : "", t->cols[i].name);
            ts_rowjson_value(&line, &v);
        }
        ts_buf_puts(&line, "}}\n");
        if (line.oom || fwrite(line.s, 1, line.len, c->f) != line.len) {
            rc = ts_fail(err, TS_E_IO, "writing the orphan export: %s", strerror(errno));
            break;
        }
        c->written++;
    }
    ts_rows_close(r);
    ts_buf_free(&line);
    return rc < 0 ? -1 : 0;
}

int ts_mexpand_export(ts_mig *g, const ts_increment *inc, const char *path, int64_t *written,
                      ts_error *err)
{
    export_ctx c = {NULL, 0};
    *written = 0;
    if (g->o.dry_run) {
        ts_mig_step(g, "export the orphans of increment %s to %s", inc->id, path);
        return 0;
    }
    /* Never overwrite an earlier export: it may be the only copy. */
    c.f = fopen(path, "wx");
    if (c.f == NULL)
        return ts_fail(err, TS_E_IO, "cannot create the orphan export %s: %s (an existing file "
                       "is never overwritten: choose a new name)", path, strerror(errno));
    int rc = each_orphan_table(g, inc, export_one, &c, err);
    if (fflush(c.f) != 0 || fsync(fileno(c.f)) != 0)
        rc = rc ? rc : ts_fail(err, TS_E_IO, "writing %s: %s", path, strerror(errno));
    fclose(c.f);
    *written = c.written;
    return rc;
}
