/* ts_mig.c: the shared context of ts-migrate commands, and dry-run. */
#include "ts_mig.h"

#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ts_catalog.h"
#include "ts_clock.h"
#include "ts_conform.h"
#include "ts_log.h"

int64_t ts_mig_now(void) { return (int64_t)time(NULL); }

void ts_mig_whoami(const char *given, char actor[256], char host[256])
{
    memset(host, 0, 256);
    gethostname(host, 255);
    if (given && *given) {
        snprintf(actor, 256, "%s", given);
    } else {
        const struct passwd *pw = getpwuid(getuid());
        const char *u = getenv("USER");
        u = u && *u ? u : pw ? pw->pw_name : "unknown";
        snprintf(actor, 256, "%s@%s", u, host);
    }
}

/* A SQLite file that is not there (opening it would create it). */
static int sqlite_missing(const char *url)
{
    return strncmp(url, "sqlite:", 7) == 0 && strcmp(url + 7, ":memory:") != 0 &&
           access(url + 7, F_OK) != 0;
}

/* Before init the new store has no control plane: every command but init
   (and manifest check) says so, instead of failing on a table it lacks. */
static int need_control_plane(ts_mig *g, ts_error *err)
{
    int version;
    if (ts_schema_applied_version(g->nw, ts_schema_control(), &version, err))
        return -1;
    return version ? 0 : ts_fail(err, TS_E_STATE, "the new store %s has no control plane yet: "
                                 "run 'ts-migrate init' first", ts_store_url(g->nw));
}

int ts_mig_open(ts_mig *g, const ts_mig_opts *o, ts_error *err)
{
    memset(g, 0, sizeof *g);
    g->o = *o;
    g->out = stdout;
    ts_mig_whoami(o->actor, g->actor, g->host);
    if (o->legacy_url == NULL || o->new_url == NULL)
        return ts_fail(err, TS_E_USAGE, "both stores are needed: --legacy URL and --new URL, "
                       "TS_LEGACY_URL and TS_NEW_URL, or --config FILE");
    /* The legacy store is the bot's database: a mistyped path must not make
       an empty one. The new store is made by init. */
    if (sqlite_missing(o->legacy_url))
        return ts_fail(err, TS_E_USAGE, "the legacy store %s does not exist: check the path "
                       "(tenantshift never creates the bot's database)", o->legacy_url);
    if (!o->makes_new && sqlite_missing(o->new_url))
        return ts_fail(err, TS_E_STATE, "the new store %s does not exist yet: run 'ts-migrate "
                       "init' first (it makes it)", o->new_url);
    /* The manifest is read against the legacy store's live tables. */
    if (ts_store_open(o->legacy_url, &g->legacy, err) ||
        ts_manifest_load_live(o->manifest_path, g->legacy, &g->m, err))
        return -1;
    const ts_value *master = ts_manifest_constant(g->m, "master_bot_id");
    if (master == NULL || master->type != TS_INT)
        return ts_fail(err, TS_E_INVALID, "the manifest defines no integer constant master_bot_id");
    g->master = master->i;
    if (ts_store_open_beside(g->legacy, o->new_url, &g->nw, err) ||
        (!o->makes_new && need_control_plane(g, err)))
        return -1;
    g->shared = ts_store_shares_txn(g->legacy, g->nw);
    return 0;
}

int ts_mig_conform(ts_mig *g, ts_error *err)
{
    char fp[sizeof g->legacy_tables];
    if (ts_catalog_fingerprint(g->legacy, fp, err) || ts_conform_require(g->legacy, g->nw, g->m, err))
        return -1;
    memcpy(g->legacy_tables, fp, sizeof fp);
    return 0;
}

int ts_mig_recheck(ts_mig *g, ts_error *err)
{
    char fp[sizeof g->legacy_tables];
    int64_t now = ts_clock_ms();
    if (g->legacy_tables[0] && now - g->legacy_asked_ms < g->o.recheck_ms)
        return 0;
    g->legacy_asked_ms = now;
    if (ts_catalog_fingerprint(g->legacy, fp, err))
        return -1;
    if (strcmp(fp, g->legacy_tables) == 0)
        return 0;
    ts_log(TS_LOG_WARN, "legacy_tables_changed", "store=%s note=\"checking them against the "
           "manifest again\"", ts_store_url(g->legacy));
    return ts_mig_conform(g, err);
}

void ts_mig_close(ts_mig *g)
{
    ts_store_close(g->nw);
    ts_store_close(g->legacy);
    ts_manifest_free(g->m);
    ts_buf_free(&g->notes);
    memset(g, 0, sizeof *g);
}

int ts_mig_exec(ts_mig *g, ts_store *s, const char *sql, const ts_value *p, int n,
                int64_t *changes, ts_error *err)
{
    if (!g->o.dry_run)
        return ts_store_exec(s, sql, p, n, changes, err);
    fprintf(g->out, "  sql %s: %s", s == g->legacy ? "legacy" : "new", sql);
    for (int i = 0; i < n; i++) {
        char v[128];
        fprintf(g->out, "%s$%d=%s", i ? ", " : "  -- ", i + 1, ts_value_format(&p[i], v, sizeof v));
    }
    fputc('\n', g->out);
    if (changes)
        *changes = 1; /* a dry run pretends its compare-and-set would succeed */
    return 0;
}

void ts_mig_step(ts_mig *g, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (g->o.dry_run) {
        fprintf(g->out, "step: %s\n", line);
    } else {
        char q[1100];
        ts_log(TS_LOG_INFO, "migrate_step", "actor=%s step=%s", g->actor,
               ts_log_value(line, q, sizeof q));
    }
}

void ts_mig_note(ts_mig *g, const char *fmt, ...)
{
    va_list ap;
    char line[1024];
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    ts_buf_printf(&g->notes, "%s%s", g->notes.len ? "; " : "", line);
}

int ts_mig_states(ts_mig *g, ts_inc_state **out, ts_error *err)
{
    *out = calloc((size_t)ts_manifest_count(g->m), sizeof **out);
    if (*out == NULL)
        return ts_fail(err, TS_E_NOMEM, "out of memory");
    if (ts_control_load(g->nw, g->m, *out, err)) {
        free(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

ts_inc_state *ts_mig_find(ts_mig *g, ts_inc_state *states, const char *id, ts_error *err)
{
    ts_buf ids = {0};
    for (int i = 0; i < ts_manifest_count(g->m); i++) {
        if (id && strcmp(states[i].inc->id, id) == 0) {
            ts_buf_free(&ids);
            return &states[i];
        }
        ts_buf_printf(&ids, "%s%s", i ? ", " : "", states[i].inc->id);
    }
    ts_fail(err, TS_E_USAGE, "unknown increment '%.20s': the manifest has %s", id ? id : "",
            ids.s ? ids.s : "none");
    ts_buf_free(&ids);
    return NULL;
}

static int add_name(const char **names, int n, int max, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return n;
    if (n < max)
        names[n++] = name;
    return n;
}

int ts_mig_tables(const ts_manifest *m, const ts_increment *inc, int all, const char **names,
                  int max)
{
    int n = 0;
    for (int i = 0; i < inc->ncreates; i++)
        n = add_name(names, n, max, inc->creates[i]->name);
    for (int i = 0; i < inc->ntmaps; i++) {
        const ts_table *t = inc->tmaps[i].target;
        if (all || ts_schema_table(ts_manifest_legacy_schema(m), t->name) != NULL)
            n = add_name(names, n, max, t->name);
    }
    return n;
}

int ts_mig_max_id(ts_mig *g, ts_store *s, const char *table, int master_only, int64_t *out,
                  ts_error *err)
{
    char qt[TS_QNAME_MAX], sql[TS_QNAME_MAX + 96];
    ts_value p = ts_int(g->master);
    *out = 0;
    if (ts_store_table(s, table, qt, err))
        return -1;
    snprintf(sql, sizeof sql, "SELECT COALESCE(max(\"id\"), 0) FROM %s%s", qt,
             master_only ? " WHERE \"bot_id\" = $1" : "");
    return ts_store_query_int(s, sql, &p, master_only, out, err) < 0 ? -1 : 0;
}
