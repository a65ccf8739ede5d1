/*
 * ts_canary.c: bot isolation proven with a temporary second bot (see ts_canary.h).
 *
 * The whole canary lives in ONE transaction that is always rolled back: the
 * reads run on the same connection, so they see the canary rows, and nothing
 * can outlive the run, not even when verify is killed half way (the server or
 * SQLite drops an unfinished transaction). No id is drawn from a sequence:
 * clones keep their master row's ids, which is also what tests the composite
 * uniques (the same natural key under two bots).
 *
 * A master read leaks when its result changes once the canary exists: each
 * read is digested before the canary is created and again after.
 */
#include "ts_canary.h"

#include <stdlib.h>
#include <string.h>

#include "ts_diff.h"
#include "ts_vside.h"

/* One master read, as diff performs it: every row of the map's new table for
   the master bot, paged by key; its row count and its pages' digests. */
static int master_read(ts_store *nw, const ts_vplan *p, int64_t *rows, ts_buf *digests,
                       ts_error *err)
{
    ts_vside sd;
    ts_buf after = {0};
    char hex[TS_DIGEST_HEX];
    int rc = ts_vside_open(&sd, p, nw, 0, TS_DIFF_CHUNK_DEFAULT, err);
    *rows = 0;
    ts_buf_reset(digests);
    while (rc == 0) {
        rc = ts_vside_page(&sd, after.len ? (unsigned char *)after.s : NULL, after.len, err) ||
             ts_vrows_digest(&sd.rows, sd.from, sd.to, hex, err) ? -1 : 0;
        if (rc)
            break;
        ts_buf_puts(digests, hex);
        *rows += (int64_t)(sd.to - sd.from);
        if (sd.exhausted)
            break;
        ts_buf_reset(&after);
        ts_buf_add(&after, sd.last.s, sd.last.len);
    }
    if (rc == 0 && (digests->oom || after.oom))
        rc = ts_fail(err, TS_E_NOMEM, "out of memory reading %s", p->tm->target->name);
    ts_vside_close(&sd);
    ts_buf_free(&after);
    return rc;
}

/* Every map of every data increment: the reads the canary repeats. */
typedef struct read_set {
    int n;
    ts_vplan plans[64];
    int64_t rows[64];
    ts_buf digests[64];
} read_set;

static int reads_plan(const ts_manifest *m, read_set *rs, ts_error *err)
{
    rs->n = 0;
    for (int i = 0; i < ts_manifest_count(m); i++) {
        const ts_increment *inc = ts_manifest_at(m, i);
        for (int k = 0; k < inc->ntmaps && rs->n < 64; k++)
            if (ts_vplan_make(&inc->tmaps[k], &rs->plans[rs->n++], err))
                return -1;
    }
    return 0;
}

static int reads_run(ts_store *nw, read_set *rs, ts_error *err)
{
    for (int i = 0; i < rs->n; i++)
        if (master_read(nw, &rs->plans[i], &rs->rows[i], &rs->digests[i], err))
            return -1;
    return 0;
}

/*
 * Clone one master row of table t under the canary bot: the first row (by
 * key) whose references the canary already has, so the clone keeps every
 * reference inside the canary bot. Returns 1 cloned, 0 no such row, -1 error
 * (a constraint error is left to the caller).
 */
static int clone_one(ts_store *nw, const ts_table *t, int64_t master, ts_error *err)
{
    char qt[TS_QNAME_MAX], q[TS_IDENT_MAX + 3];
    ts_buf sql = {0}, cols = {0};
    ts_value p[2] = {ts_int(TS_CANARY_BOT_ID), ts_int(master)};
    int64_t changed = 0;
    if (ts_store_table(nw, t->name, qt, err))
        return -1;
    for (int i = 0; i < t->ncols; i++) {
        if (ts_quote_ident(t->cols[i].name, q, err))
            goto fail;
        ts_buf_printf(&cols, "%s%s", i ? ", " : "", q);
    }
    ts_buf_printf(&sql, "INSERT INTO %s (%s) SELECT ", qt, cols.s);
    for (int i = 0; i < t->ncols; i++) {
        if (ts_quote_ident(t->cols[i].name, q, err))
            goto fail;
        if (strcmp(t->cols[i].name, "bot_id") == 0)
            ts_buf_printf(&sql, "%s$1", i ? ", " : "");
        else
            ts_buf_printf(&sql, "%ss.%s", i ? ", " : "", q);
    }
    ts_buf_printf(&sql, " FROM %s s WHERE s.bot_id = $2", qt);
    /* References other than to bots must find their row under the canary. */
    for (int f = 0; f < t->nfks; f++) {
        const ts_fk *fk = &t->fks[f];
        char rt[TS_QNAME_MAX];
        if (strcmp(fk->table, "bots") == 0)
            continue;
        if (ts_store_table(nw, fk->table, rt, err))
            goto fail;
        ts_buf_printf(&sql, " AND (");
        const char *a = fk->cols, *b = fk->ref_cols;
        int first = 1;
        ts_buf cond = {0}, isnull = {0};
        while (*a && *b) {
            size_t na = strcspn(a, ","), nb = strcspn(b, ",");
            char ca[TS_IDENT_MAX + 1], cb[TS_IDENT_MAX + 1];
            snprintf(ca, sizeof ca, "%.*s", (int)na, a);
            snprintf(cb, sizeof cb, "%.*s", (int)nb, b);
            a += na + (a[na] == ',');
            b += nb + (b[nb] == ',');
            while (*a == ' ')
                a++;
            while (*b == ' ')
                b++;
            if (strcmp(ca, "bot_id") == 0)
                continue;
            ts_buf_printf(&isnull, "%ss.\"%s\" IS NULL", first ? "" : " OR ", ca);
            ts_buf_printf(&cond, " AND r.\"%s\" = s.\"%s\"", cb, ca);
            first = 0;
        }
        ts_buf_printf(&sql, "%s OR EXISTS (SELECT 1 FROM %s r WHERE r.bot_id = $1%s))",
                      isnull.s ? isnull.s : "FALSE", rt, cond.s ? cond.s : "");
        ts_buf_free(&cond);
        ts_buf_free(&isnull);
    }
    ts_buf_puts(&sql, " ORDER BY ");
    for (const char *k = t->pk; *k;) {
        size_t n = strcspn(k, ",");
        ts_buf_printf(&sql, "%ss.\"%.*s\"", k == t->pk ? "" : ", ", (int)n, k);
        k += n;
        while (*k == ',' || *k == ' ')
            k++;
    }
    ts_buf_puts(&sql, " LIMIT 1");
    if (sql.oom) {
        ts_fail(err, TS_E_NOMEM, "out of memory cloning a row");
        goto fail;
    }
    int rc = ts_store_exec(nw, sql.s, p, 2, &changed, err);
    ts_buf_free(&sql);
    ts_buf_free(&cols);
    return rc ? -1 : changed > 0;
fail:
    ts_buf_free(&sql);
    ts_buf_free(&cols);
    return -1;
}

static int add_canary_bot(ts_store *nw, ts_error *err)
{
    char qt[TS_QNAME_MAX], sql[TS_QNAME_MAX + 200];
    ts_value p = ts_int(TS_CANARY_BOT_ID);
    if (ts_store_table(nw, "bots", qt, err))
        return -1;
    /* Inactive, not master, a token no Telegram bot has: nothing serves it. */
    snprintf(sql, sizeof sql, "INSERT INTO %s (id, name, telegram_bot_token, is_master, is_active) "
             "VALUES ($1, 'ts-verify canary', 'ts-verify-canary', FALSE, FALSE)", qt);
    return ts_store_exec(nw, sql, &p, 1, NULL, err);
}

/* Clone rows under the canary, table by table, parents first (schema order);
   a refused clone is a unique that does not take the same key under two bots. */
static int clone_all(ts_store *nw, int64_t master, ts_vreport *r, ts_error *err)
{
    const ts_schema *sc = ts_schema_new();
    for (int i = 0; i < sc->ntables; i++) {
        const ts_table *t = &sc->tables[i];
        int exists;
        if (!t->tenant || ts_store_table_exists(nw, t->name, &exists, err))
            continue;
        if (!exists)
            continue;
        ts_vinv *inv = ts_vreport_inv(r, "canary_composite_unique", t->name);
        if (inv == NULL || ts_store_savepoint(nw, "canary_clone", err))
            return inv ? -1 : ts_fail(err, TS_E_NOMEM, "out of memory");
        int rc = clone_one(nw, t, master, err);
        if (rc < 0 && err->code != TS_E_CONSTRAINT)
            return -1;
        if (rc < 0) {
            if (ts_vinv_violation(inv, err, "%s refused a master row cloned under another bot: "
                                  "a unique or key lacks bot_id (%s)", t->name, err->msg) ||
                ts_store_rollback_to(nw, "canary_clone", err))
                return -1;
        } else if (rc == 0) {
            /* No master row whose references the canary has: nothing to prove here. */
            snprintf(inv->subject + strlen(inv->subject), sizeof inv->subject - strlen(inv->subject),
                     " (no row to clone)");
        }
        if (ts_store_release(nw, "canary_clone", err))
            return -1;
    }
    return 0;
}

static int compare_reads(const read_set *before, const read_set *after, ts_vreport *r,
                         ts_error *err)
{
    for (int i = 0; i < before->n; i++) {
        ts_vinv *inv = ts_vreport_inv(r, "canary_master_read", before->plans[i].tm->target->name);
        if (inv == NULL)
            return ts_fail(err, TS_E_NOMEM, "out of memory");
        if (before->rows[i] != after->rows[i] ||
            strcmp(before->digests[i].s ? before->digests[i].s : "",
                   after->digests[i].s ? after->digests[i].s : "") != 0) {
            if (ts_vinv_violation(inv, err, "the master read of %s returned %lld row(s) before "
                                  "the canary and %lld with it: it does not filter by bot_id",
                                  before->plans[i].tm->target->name, (long long)before->rows[i],
                                  (long long)after->rows[i]))
                return -1;
        }
    }
    return 0;
}

int ts_canary_run(ts_store *nw, const ts_manifest *m, ts_vreport *r, ts_error *err)
{
    const ts_value *master = ts_manifest_constant(m, "master_bot_id");
    int64_t left;
    char qt[TS_QNAME_MAX], sql[TS_QNAME_MAX + 64];
    ts_error rb;
    if (master == NULL || master->type != TS_INT)
        return ts_fail(err, TS_E_USAGE, "the manifest defines no integer master_bot_id");
    read_set *before = calloc(2, sizeof *before), *after = before + 1;
    if (before == NULL)
        return ts_fail(err, TS_E_NOMEM, "out of memory starting the canary");
    int rc = reads_plan(m, before, err) || reads_plan(m, after, err) || ts_store_begin(nw, err)
                 ? -1 : 0;
    if (rc == 0) {
        rc = reads_run(nw, before, err) || add_canary_bot(nw, err) ||
             clone_all(nw, master->i, r, err) || reads_run(nw, after, err) ||
             compare_reads(before, after, r, err) ? -1 : 0;
        /* Removed, also after a failure: the rollback takes every canary row with it. */
        if (ts_store_rollback(nw, &rb) && rc == 0) {
            *err = rb;
            rc = -1;
        }
    }
    for (int i = 0; i < before->n; i++) {
        ts_buf_free(&before->digests[i]);
        ts_buf_free(&after->digests[i]);
    }
    free(before);
    if (rc)
        return -1;
    ts_vinv *gone = ts_vreport_inv(r, "canary_removed", "bots");
    if (gone == NULL || ts_store_table(nw, "bots", qt, err))
        return gone ? -1 : ts_fail(err, TS_E_NOMEM, "out of memory");
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE id = $1", qt);
    ts_value p = ts_int(TS_CANARY_BOT_ID);
    if (ts_store_query_int(nw, sql, &p, 1, &left, err) < 0)
        return -1;
    return left ? ts_vinv_violation(gone, err, "the canary bot is still there after rollback") : 0;
}
