/*
 * ts_canary.c: bot isolation proven with a temporary second bot (see ts_canary.h).
 *
 * Two phases, because the shim reads on connections of its own:
 *
 * Verify's own reads and the composite uniques run in ONE transaction on
 * verify's connection that is always rolled back: the reads there see the
 * canary rows, and nothing of that phase can outlive the run. It also notes
 * the keys of the rows it cloned.
 *
 * The shim's reads cannot see an uncommitted canary (and on SQLite a unit of
 * work waits for the write lock such a transaction holds), so for them the
 * same canary is committed, read through, and deleted again. Its rows belong
 * to an inactive bot that is not the master: nothing serves it, and every
 * read that filters by bot, diff included, passes over it. The removal runs
 * whatever failed before it, and at the start of every run, for a canary
 * left by a run that was killed.
 *
 * No id is drawn from a sequence: clones keep their master row's ids, which
 * is also what tests the composite uniques (the same natural key under two
 * bots). A read leaks when its result changes once the canary exists: each
 * read is recorded before the canary is created and again after.
 */
#include "ts_canary.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ts_canon.h"
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

static int reads_plan(const ts_manifest *m, const ts_vreport *r, read_set *rs, ts_error *err)
{
    rs->n = 0;
    for (int i = 0; i < ts_manifest_count(m); i++) {
        const ts_increment *inc = ts_manifest_at(m, i);
        for (int k = 0; k < inc->ntmaps && rs->n < 64 && !ts_vreport_skipped(r, inc->id); k++)
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
static int clone_one(ts_store *nw, const ts_schema *sc, const ts_table *t, int64_t master,
                     ts_error *err)
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
        const ts_table *ref = ts_schema_table(sc, fk->table);
        int fc[8], rc[8], n;
        if (ref == NULL || ts_schema_fk_columns(t, fk, ref, fc, rc, 8, &n)) {
            ts_fail(err, TS_E_INTERNAL, "table %s: foreign key (%s) is not declared", t->name,
                    fk->cols);
            goto fail;
        }
        ts_buf_printf(&sql, " AND (");
        int first = 1;
        ts_buf cond = {0}, isnull = {0};
        for (int k = 0; k < n; k++) {
            const char *ca = t->cols[fc[k]].name, *cb = ref->cols[rc[k]].name;
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
   a refused clone is a unique that does not take the same key under two bots,
   reported when r is given. */
static int clone_all(ts_store *nw, const ts_schema *sc, int64_t master, ts_vreport *r,
                     ts_error *err)
{
    for (int i = 0; i < sc->ntables; i++) {
        const ts_table *t = &sc->tables[i];
        ts_vinv *inv = NULL;
        int exists = 0;
        if (t->tenant && ts_store_table_exists(nw, t->name, &exists, err))
            return -1;
        if (!exists)
            continue;
        if (r && (inv = ts_vreport_inv(r, "canary_composite_unique", t->name)) == NULL)
            return ts_fail(err, TS_E_NOMEM, "out of memory");
        if (ts_store_savepoint(nw, "canary_clone", err))
            return -1;
        int rc = clone_one(nw, sc, t, master, err);
        if (rc < 0 && err->code != TS_E_CONSTRAINT)
            return -1;
        if (rc < 0) {
            if ((inv && ts_vinv_violation(inv, err, "%s refused a master row cloned under another "
                                          "bot: a unique or key lacks bot_id (%s)", t->name,
                                          err->msg)) ||
                ts_store_rollback_to(nw, "canary_clone", err))
                return -1;
        } else if (rc == 0 && inv) {
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


/* ---- the keys the shim's reads are given ------------------------------------ */

#define KEY_INT(table, col, field) {table, col, offsetof(ts_canary_keys, field), 0}
#define KEY_TEXT(table, col, field) \
    {table, col, offsetof(ts_canary_keys, field), sizeof(((ts_canary_keys *)0)->field)}

static const struct key_spec {
    const char *table, *col;
    size_t at, text;        /* offset in ts_canary_keys; text: its size, 0 for an integer */
} key_specs[] = {
    KEY_INT("users", "id", user_id),
    KEY_INT("users", "telegram_id", telegram_id),
    KEY_INT("users", "referred_by_id", referrer_id),
    KEY_TEXT("users", "referral_code", referral_code),
    KEY_INT("promo_groups", "id", promo_group_id),
    KEY_INT("subscriptions", "id", sub_id),
    KEY_INT("transactions", "user_id", txn_user_id),
    KEY_TEXT("promocodes", "code", promo_code),
    KEY_INT("referral_earnings", "user_id", earner_id),
    KEY_INT("tickets", "id", ticket_id),
    KEY_INT("tickets", "user_id", ticket_user_id),
    KEY_TEXT("tickets", "status", ticket_status),
    KEY_INT("card_to_card_payments", "id", c2c_id),
    KEY_TEXT("card_to_card_payments", "tracking_number", tracking),
    KEY_TEXT("zarinpal_payments", "zarinpal_authority", authority),
    KEY_TEXT("bot_feature_flags", "feature_key", flag_key),
    KEY_TEXT("bot_configurations", "config_key", config_key),
    KEY_INT("tenant_payment_cards", "id", card_id),
    KEY_INT("bot_plans", "id", plan_id),
};

/* The smallest value of each key column among the canary's rows. */
static int keys_collect(ts_store *nw, ts_canary_keys *k, ts_error *err)
{
    ts_value p = ts_int(TS_CANARY_BOT_ID);
    memset(k, 0, sizeof *k);
    for (size_t i = 0; i < sizeof key_specs / sizeof key_specs[0]; i++) {
        const struct key_spec *ks = &key_specs[i];
        char qt[TS_QNAME_MAX], sql[TS_QNAME_MAX + 160];
        int exists, rc;
        if (ts_store_table_exists(nw, ks->table, &exists, err))
            return -1;
        if (!exists)
            continue;
        if (ts_store_table(nw, ks->table, qt, err))
            return -1;
        snprintf(sql, sizeof sql, "SELECT \"%s\" FROM %s WHERE bot_id = $1 AND \"%s\" IS NOT NULL "
                 "ORDER BY 1 LIMIT 1", ks->col, qt, ks->col);
        char *field = (char *)k + ks->at;
        rc = ks->text ? ts_store_query_text(nw, sql, &p, 1, field, ks->text, err)
                      : ts_store_query_int(nw, sql, &p, 1, (int64_t *)(void *)field, err);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* ---- the shim's master reads ---------------------------------------------------------- */

#define LIST_MAX 1000

/* A lookup's answer (1 / 0) and, when found, the struct it filled. */
static int struct_out(ts_buf *out, int rc, const void *v, size_t n)
{
    char found = (char)rc;
    if (rc < 0)
        return -1;
    ts_buf_add(out, &found, 1);
    if (rc == 1)
        ts_buf_add(out, (const char *)v, n);
    return 0;
}

/* Every row of a list, bot_id included, in the canonical encoding. */
static int list_out(ts_buf *out, const char *table, ts_result *r, ts_error *err)
{
    const ts_table *t = ts_schema_table(ts_schema_new(), table);
    ts_value vals[64];
    ts_coltype types[64];
    if (t == NULL || t->ncols > 64) {
        ts_result_free(r);
        return ts_fail(err, TS_E_INTERNAL, "canary: no list encoding for table %s", table);
    }
    for (int c = 0; c < t->ncols; c++)
        types[c] = t->cols[c].type;
    for (int i = 0; i < ts_result_count(r); i++) {
        for (int c = 0; c < t->ncols; c++)
            vals[c] = ts_result_get(r, i, t->cols[c].name);
        ts_canon_row(out, vals, types, t->ncols);
    }
    ts_result_free(r);
    return 0;
}

static void count_out(ts_buf *out, int64_t n) { ts_buf_add(out, (const char *)&n, sizeof n); }

#define READ_FN(name) \
    static int name(ts_tx *tx, const ts_canary_keys *k, ts_buf *out, ts_error *err)

/* A lookup filling a struct of type type through call (which names it v). */
#define STRUCT_READ(name, type, call)           \
    READ_FN(name)                               \
    {                                           \
        type v;                                 \
        (void)k;                                \
        memset(&v, 0, sizeof v);                \
        return struct_out(out, call, &v, sizeof v); \
    }

/* A list of table's rows through call (which names it r). */
#define LIST_READ(name, table, call)            \
    READ_FN(name)                               \
    {                                           \
        ts_result *r;                           \
        (void)k;                                \
        return call ? -1 : list_out(out, table, r, err); \
    }

/* A count through call (which names it n). */
#define COUNT_READ(name, call)                  \
    READ_FN(name)                               \
    {                                           \
        int64_t n;                              \
        (void)k;                                \
        if (call)                               \
            return -1;                          \
        count_out(out, n);                      \
        return 0;                               \
    }

STRUCT_READ(user_get, ts_user, ts_repo_user_get(tx, k->user_id, &v, err))
STRUCT_READ(user_by_telegram, ts_user, ts_repo_user_by_telegram(tx, k->telegram_id, &v, err))
STRUCT_READ(user_by_referral_code, ts_user,
            ts_repo_user_by_referral_code(tx, k->referral_code, &v, err))
COUNT_READ(user_count, ts_repo_user_count(tx, &n, err))
COUNT_READ(user_referred_count, ts_repo_user_referred_count(tx, k->referrer_id, &n, err))
STRUCT_READ(promo_group_get, ts_promo_group,
            ts_repo_promo_group_get(tx, k->promo_group_id, &v, err))
STRUCT_READ(promo_group_default, ts_promo_group, ts_repo_promo_group_default(tx, &v, err))
STRUCT_READ(sub_get, ts_subscription, ts_repo_sub_get(tx, k->sub_id, &v, err))
STRUCT_READ(sub_active, ts_subscription, ts_repo_sub_active(tx, k->user_id, &v, err))
COUNT_READ(sub_active_count, ts_repo_sub_active_count(tx, &n, err))
LIST_READ(txn_list, "transactions", ts_repo_txn_list(tx, k->txn_user_id, LIST_MAX, &r, err))
STRUCT_READ(promo_find, ts_promocode, ts_repo_promo_find(tx, k->promo_code, &v, err))
LIST_READ(referral_earnings, "referral_earnings",
          ts_repo_referral_earnings(tx, k->earner_id, LIST_MAX, &r, err))
STRUCT_READ(ticket_get, ts_ticket, ts_repo_ticket_get(tx, k->ticket_id, &v, err))
LIST_READ(ticket_list_user, "tickets",
          ts_repo_ticket_list_user(tx, k->ticket_user_id, LIST_MAX, &r, err))
LIST_READ(ticket_list_status, "tickets",
          ts_repo_ticket_list_status(tx, k->ticket_status, LIST_MAX, &r, err))
LIST_READ(ticket_messages, "ticket_messages", ts_repo_ticket_messages(tx, k->ticket_id, &r, err))
STRUCT_READ(c2c_get, ts_c2c_payment, ts_repo_c2c_get(tx, k->c2c_id, &v, err))
STRUCT_READ(c2c_by_tracking, ts_c2c_payment, ts_repo_c2c_by_tracking(tx, k->tracking, &v, err))
LIST_READ(c2c_list_pending, "card_to_card_payments",
          ts_repo_c2c_list_pending(tx, LIST_MAX, &r, err))
STRUCT_READ(zarinpal_by_authority, ts_zarinpal_payment,
            ts_repo_zarinpal_by_authority(tx, k->authority, &v, err))
LIST_READ(flag_list, "bot_feature_flags", ts_repo_flag_list(tx, &r, err))
LIST_READ(config_list, "bot_configurations", ts_repo_config_list(tx, &r, err))
STRUCT_READ(card_get, ts_card, ts_repo_card_get(tx, k->card_id, &v, err))
LIST_READ(card_list, "tenant_payment_cards", ts_repo_card_list(tx, 0, &r, err))
STRUCT_READ(plan_get, ts_plan, ts_repo_plan_get(tx, k->plan_id, &v, err))
LIST_READ(plan_list_active, "bot_plans", ts_repo_plan_list_active(tx, &r, err))

READ_FN(user_page)
{
    ts_user_cursor cur = {0};
    ts_user *page;
    int n;
    (void)k;
    if (ts_repo_user_page(tx, &cur, LIST_MAX, &page, &n, err))
        return -1;
    for (int i = 0; i < n; i++)
        ts_buf_add(out, (const char *)&page[i], sizeof page[i]);
    free(page);
    return 0;
}

/* A found flag or configuration and its JSON (or enabled state). */
static int keyed_out(ts_buf *out, int rc, int enabled, char *json)
{
    int r = struct_out(out, rc, &enabled, sizeof enabled);
    if (rc == 1)
        ts_buf_puts(out, json);
    free(json);
    return r;
}

READ_FN(flag_get)
{
    int enabled = 0;
    char *config = NULL;
    int rc = ts_repo_flag_get(tx, k->flag_key, &enabled, &config, err);
    return keyed_out(out, rc, enabled, config);
}

READ_FN(config_get)
{
    char *json = NULL;
    int rc = ts_repo_config_get(tx, k->config_key, &json, err);
    return keyed_out(out, rc, 0, json);
}

COUNT_READ(flag_enabled, (n = ts_repo_flag_enabled(tx, k->flag_key, err)) < 0)

#define READ(fn) {"ts_repo_" #fn, fn}

const ts_canary_read ts_canary_reads[] = {
    READ(user_get),          READ(user_by_telegram),      READ(user_by_referral_code),
    READ(user_page),         READ(user_count),            READ(user_referred_count),
    READ(promo_group_get),   READ(promo_group_default),   READ(sub_get),
    READ(sub_active),        READ(sub_active_count),      READ(txn_list),
    READ(promo_find),        READ(referral_earnings),     READ(ticket_get),
    READ(ticket_list_user),  READ(ticket_list_status),    READ(ticket_messages),
    READ(c2c_get),           READ(c2c_by_tracking),       READ(c2c_list_pending),
    READ(zarinpal_by_authority), READ(flag_get),          READ(flag_enabled),
    READ(flag_list),         READ(config_get),            READ(config_list),
    READ(card_get),          READ(card_list),             READ(plan_get),
    READ(plan_list_active),
};
const int ts_canary_nreads = (int)(sizeof ts_canary_reads / sizeof ts_canary_reads[0]);

/* Each read in a master unit of its own (a failed statement aborts a PostgreSQL
   transaction), rolled back: reads change nothing. */
static int shim_reads(ts_shim *sh, const ts_canary_read *reads, int nreads,
                      const ts_canary_keys *k, ts_buf *outs, ts_error *err)
{
    ts_ctx master = ts_shim_master(sh);
    for (int i = 0; i < nreads; i++) {
        ts_tx *tx;
        ts_buf_reset(&outs[i]);
        if (ts_shim_begin(sh, &master, &tx, err))
            return -1;
        int rc = reads[i].fn(tx, k, &outs[i], err);
        ts_tx_rollback(tx);
        if (rc && err->code != TS_E_STATE) {
            ts_error_context(err, "canary read %s", reads[i].name);
            return -1;
        }
        if (rc)
            ts_buf_puts(&outs[i], "refused by the stage");
        if (outs[i].oom)
            return ts_fail(err, TS_E_NOMEM, "out of memory in canary read %s", reads[i].name);
    }
    return 0;
}

static int compare_shim_reads(const ts_canary_read *reads, int nreads, const ts_buf *before,
                              const ts_buf *after, ts_vreport *r, ts_error *err)
{
    for (int i = 0; i < nreads; i++) {
        ts_vinv *inv = ts_vreport_inv(r, "canary_shim_read", reads[i].name);
        if (inv == NULL)
            return ts_fail(err, TS_E_NOMEM, "out of memory");
        if ((before[i].len != after[i].len ||
             (before[i].len && memcmp(before[i].s, after[i].s, before[i].len) != 0)) &&
            ts_vinv_violation(inv, err, "%s for the master bot returned something else once the "
                              "canary bot had rows: it let a canary row through", reads[i].name))
            return -1;
    }
    return 0;
}

/* ---- creating and removing the canary ---------------------------------------------- */

static int create(ts_store *nw, const ts_schema *sc, int64_t master, ts_vreport *r,
                  ts_error *err)
{
    return add_canary_bot(nw, err) || clone_all(nw, sc, master, r, err) ? -1 : 0;
}

/* The canary's rows in every table, children first, then its bot: deleted
   (one transaction) or counted; *n gets how many there were. */
static int canary_rows(ts_store *nw, const ts_schema *sc, int remove, int64_t *n, ts_error *err)
{
    ts_value p = ts_int(TS_CANARY_BOT_ID);
    ts_error rb;
    *n = 0;
    if (remove && ts_store_begin(nw, err))
        return -1;
    for (int i = sc->ntables - 1; i >= 0; i--) {
        const ts_table *t = &sc->tables[i];
        char qt[TS_QNAME_MAX], sql[TS_QNAME_MAX + 64];
        int exists = 0;
        int64_t rows = 0;
        if (!t->tenant && strcmp(t->name, "bots") != 0)
            continue;
        if (ts_store_table_exists(nw, t->name, &exists, err) ||
            (exists && ts_store_table(nw, t->name, qt, err)))
            goto fail;
        if (!exists)
            continue;
        snprintf(sql, sizeof sql, "%s FROM %s WHERE %s = $1", remove ? "DELETE" : "SELECT count(*)",
                 qt, t->tenant ? "bot_id" : "id");
        if (remove ? ts_store_exec(nw, sql, &p, 1, &rows, err)
                   : ts_store_query_int(nw, sql, &p, 1, &rows, err) < 0)
            goto fail;
        *n += rows;
    }
    return remove ? ts_store_commit(nw, err) : 0;
fail:
    if (remove)
        ts_store_rollback(nw, &rb);
    ts_error_context(err, "%s the rows of canary bot %lld", remove ? "removing" : "counting",
                     (long long)TS_CANARY_BOT_ID);
    return -1;
}

/* ---- the run -------------------------------------------------------------------------------- */

/* Phase one, rolled back: verify's reads before and with the canary, the
   composite uniques, and the keys of the rows the canary holds. */
static int phase_uncommitted(ts_store *nw, const ts_manifest *m, int64_t master, ts_vreport *r,
                             ts_canary_keys *keys, ts_error *err)
{
    ts_error rb;
    read_set *before = calloc(2, sizeof *before), *after = before + 1;
    if (before == NULL)
        return ts_fail(err, TS_E_NOMEM, "out of memory starting the canary");
    int rc = reads_plan(m, r, before, err) || reads_plan(m, r, after, err) || ts_store_begin(nw, err)
                 ? -1 : 0;
    if (rc == 0) {
        rc = reads_run(nw, before, err) || create(nw, ts_manifest_new_schema(m), master, r, err) ||
             reads_run(nw, after, err) || compare_reads(before, after, r, err) ||
             keys_collect(nw, keys, err) ? -1 : 0;
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
    return rc;
}

/* Phase two: the shim's reads before the canary and with it committed. The
   caller removes the canary, whatever this returns. */
static int phase_committed(ts_store *nw, ts_shim *sh, const ts_canary_read *reads, int nreads,
                           const ts_canary_keys *keys, ts_vreport *r, ts_error *err)
{
    ts_error rb;
    ts_buf *before = calloc((size_t)(2 * nreads + 1), sizeof *before), *after = before + nreads;
    if (before == NULL)
        return ts_fail(err, TS_E_NOMEM, "out of memory starting the canary");
    int rc = shim_reads(sh, reads, nreads, keys, before, err) || ts_store_begin(nw, err) ? -1 : 0;
    if (rc == 0) {
        rc = create(nw, ts_manifest_new_schema(ts_shim_manifest(sh)), ts_shim_master_bot_id(sh), NULL,
                    err) ? -1 : ts_store_commit(nw, err);
        if (rc)
            ts_store_rollback(nw, &rb);
    }
    if (rc == 0)
        rc = shim_reads(sh, reads, nreads, keys, after, err) ||
             compare_shim_reads(reads, nreads, before, after, r, err) ? -1 : 0;
    for (int i = 0; i < 2 * nreads; i++)
        ts_buf_free(&before[i]);
    free(before);
    return rc;
}

int ts_canary_run(ts_store *nw, ts_shim *sh, const ts_canary_read *reads, int nreads,
                  ts_vreport *r, ts_error *err)
{
    ts_canary_keys keys;
    ts_error rm;
    int64_t n;
    const ts_schema *sc = ts_manifest_new_schema(ts_shim_manifest(sh));
    const ts_increment *bots = ts_manifest_owner(ts_shim_manifest(sh), "bots");
    /* No bots table yet: no canary bot can exist (the report names the skip). */
    if (bots != NULL && ts_vreport_skipped(r, bots->id))
        return 0;
    /* A canary a killed run left behind would make every read "change". */
    if (canary_rows(nw, sc, 1, &n, err))
        return -1;
    int rc = phase_uncommitted(nw, ts_shim_manifest(sh), ts_shim_master_bot_id(sh), r, &keys,
                               err) ||
             phase_committed(nw, sh, reads, nreads, &keys, r, err) ? -1 : 0;
    /* Removed, also after a failure; a first error is the one reported. */
    if (canary_rows(nw, sc, 1, &n, &rm)) {
        if (rc == 0)
            *err = rm;
        return -1;
    }
    if (rc)
        return -1;
    ts_vinv *gone = ts_vreport_inv(r, "canary_removed", "bots");
    if (gone == NULL)
        return ts_fail(err, TS_E_NOMEM, "out of memory");
    if (canary_rows(nw, sc, 0, &n, err))
        return -1;
    return n ? ts_vinv_violation(gone, err, "%lld canary row(s) were still there after the "
                                 "canary was removed", (long long)n)
             : 0;
}
