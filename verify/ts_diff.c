/* ts_diff.c: chunked, checksummed, resumable comparison of the two stores. */
#include "ts_diff.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ts_clock.h"
#include "ts_log.h"
#include "ts_rowjson.h"
#include "ts_vside.h"

int ts_diff_select(const ts_manifest *m, const char *const *ids, int nids,
                   const ts_increment **out, int *nout, ts_error *err)
{
    *nout = 0;
    for (int i = 0; i < nids; i++) {
        const ts_increment *inc = ts_manifest_find(m, ids[i]);
        if (inc == NULL || inc->kind != TS_INC_DATA) {
            char known[512] = "";
            for (int k = 0; k < ts_manifest_count(m); k++)
                if (ts_manifest_at(m, k)->kind == TS_INC_DATA)
                    snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s",
                             known[0] ? ", " : "", ts_manifest_at(m, k)->id);
            return ts_fail(err, TS_E_USAGE, "increment '%.40s' %s: the data increments are %s",
                           ids[i], inc ? "is a behaviour increment and moves no rows"
                                       : "is not in the manifest", known);
        }
    }
    /* Manifest (dependency) order, whatever order the ids came in. */
    for (int k = 0; k < ts_manifest_count(m); k++) {
        const ts_increment *inc = ts_manifest_at(m, k);
        int want = nids == 0 && inc->kind == TS_INC_DATA;
        for (int i = 0; i < nids && !want; i++)
            want = strcmp(ids[i], inc->id) == 0;
        if (want)
            out[(*nout)++] = inc;
    }
    return 0;
}

/* ---- counts -------------------------------------------------------------------- */

static int count_new(ts_store *nw, const ts_vplan *p, int64_t *n, ts_error *err)
{
    char qt[TS_QNAME_MAX], q[TS_IDENT_MAX + 3], sql[TS_QNAME_MAX + TS_IDENT_MAX + 40];
    const ts_table *t = p->tm->target;
    if (ts_store_table(nw, t->name, qt, err))
        return -1;
    if (p->bot_col < 0) {
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", qt);
        return ts_store_query_int(nw, sql, NULL, 0, n, err) < 0 ? -1 : 0;
    }
    if (ts_quote_ident(t->cols[p->bot_col].name, q, err))
        return -1;
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE %s = $1", qt, q);
    return ts_store_query_int(nw, sql, &p->bot, 1, n, err) < 0 ? -1 : 0;
}

/* Rows the map accepts: its filter looks at one column, so count per value. */
static int count_legacy(ts_store *legacy, const ts_tmap *tm, int64_t *n, ts_error *err)
{
    char qt[TS_QNAME_MAX], q[TS_IDENT_MAX + 3], sql[TS_QNAME_MAX + 2 * TS_IDENT_MAX + 48];
    ts_rows *r;
    int rc;
    *n = 0;
    if (ts_store_table(legacy, tm->legacy->name, qt, err))
        return -1;
    if (tm->where_col < 0) {
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", qt);
        return ts_store_query_int(legacy, sql, NULL, 0, n, err) < 0 ? -1 : 0;
    }
    if (ts_quote_ident(tm->legacy->cols[tm->where_col].name, q, err))
        return -1;
    snprintf(sql, sizeof sql, "SELECT %s, count(*) FROM %s GROUP BY %s", q, qt, q);
    ts_value *row = calloc((size_t)tm->legacy->ncols, sizeof *row);
    if (row == NULL)
        return ts_fail(err, TS_E_NOMEM, "out of memory counting rows");
    if (ts_store_query(legacy, sql, NULL, 0, &r, err)) {
        free(row);
        return -1;
    }
    while ((rc = ts_rows_next(r, err)) == 1) {
        row[tm->where_col] = ts_rows_get(r, 0);
        if (ts_tmap_accepts(tm, row))
            *n += ts_rows_get(r, 1).i;
    }
    ts_rows_close(r);
    free(row);
    return rc < 0 ? -1 : 0;
}

/* ---- the backfill watermark ----------------------------------------------------- */

/* A backfill of the table still running: rows above its last_key are pending. */
static int load_watermark(ts_store *nw, const ts_vplan *p, ts_vside *legacy, ts_error *err)
{
    char qt[TS_QNAME_MAX], sql[TS_QNAME_MAX + 160], json[4096];
    int exists;
    const ts_tmap *tm = p->tm;
    ts_value params[3] = {ts_text(tm->inc->id), ts_text(tm->legacy->name),
                          ts_text(tm->target->name)};
    if (ts_store_table_exists(nw, "ts_backfill", &exists, err))
        return -1;
    if (!exists)
        return 0;
    if (ts_store_table(nw, "ts_backfill", qt, err))
        return -1;
    snprintf(sql, sizeof sql, "SELECT last_key FROM %s WHERE increment_id = $1 "
             "AND table_name IN ($2, $3) AND finished_at IS NULL", qt);
    ts_rows *rows;
    if (ts_store_query(nw, sql, params, 3, &rows, err))
        return -1;
    int rc = ts_rows_next(rows, err);
    ts_value v = rc == 1 ? ts_rows_get(rows, 0) : ts_null();
    int started = rc == 1 && v.type == TS_NULL;   /* started, nothing copied yet */
    if (rc == 1 && v.type != TS_NULL)
        snprintf(json, sizeof json, "%.*s", (int)v.len, v.s);
    ts_rows_close(rows);
    if (rc <= 0 || started)
        return rc < 0 ? -1 : started ? ts_vside_set_watermark(legacy, NULL, 1, err) : 0;
    ts_value key[128];
    ts_buf text = {0};
    rc = ts_rowjson_decode(json, key, p->nkey, &text, err);
    if (rc == 0)
        rc = ts_vside_set_watermark(legacy, key, 0, err);
    else
        ts_error_context(err, "ts_backfill.last_key of increment %s table %s", tm->inc->id,
                         tm->legacy->name);
    ts_buf_free(&text);
    return rc;
}

/* ---- one chunk ------------------------------------------------------------------- */

typedef struct chunk {
    ts_vreport *r;
    ts_vtable *t;
    const ts_vplan *p;
    ts_vcount c;           /* this chunk's counters */
    ts_buf diffs;          /* this chunk's differences, a JSON array */
    ts_buf one;            /* one difference */
} chunk;

static const char *col_name(const ts_vplan *p, int i)
{
    return p->tm->target->cols[p->cols[i]].name;
}

static void put_key(chunk *ch, const ts_value *vals)
{
    ts_buf_puts(&ch->one, ",\"key\":{");
    for (int k = 0; k < ch->p->nkey; k++) {
        ts_buf_printf(&ch->one, "%s\"%s\":", k ? "," : "", col_name(ch->p, k));
        ts_vvalue_json(&ch->one, &vals[k]);
    }
    ts_buf_puts(&ch->one, "}");
}

/* Report one row: kind, key, and for a changed row each differing column. */
static int emit(chunk *ch, int kind, const ts_vrows *lrs, size_t li, const ts_vrows *nrs,
                size_t ni, ts_error *err)
{
    const ts_vplan *p = ch->p;
    ts_value lv[128], nv[128];
    const unsigned char *lrow = lrs ? ts_vrows_at(lrs, li) : NULL;
    const unsigned char *nrow = nrs ? ts_vrows_at(nrs, ni) : NULL;
    if (lrow)
        ts_vrow_decode(lrow, lrs->rows[li].len, lv, p->ncols);
    if (nrow)
        ts_vrow_decode(nrow, nrs->rows[ni].len, nv, p->ncols);
    ts_buf_reset(&ch->one);
    ts_buf_printf(&ch->one, "{\"kind\":\"%s\"", ts_vkind_name(kind));
    put_key(ch, lrow ? lv : nv);
    if (kind == TS_DK_CHANGED) {
        int n = 0;
        ts_buf_puts(&ch->one, ",\"columns\":[");
        for (int c = p->nkey; c < p->ncols; c++) {
            const unsigned char *a, *b;
            size_t alen, blen;
            if (ts_vrow_span(lrow, lrs->rows[li].len, c, &a, &alen) ||
                ts_vrow_span(nrow, nrs->rows[ni].len, c, &b, &blen))
                return ts_fail(err, TS_E_INTERNAL, "a held row does not decode");
            if (alen == blen && memcmp(a, b, alen) == 0)
                continue;
            ts_buf_printf(&ch->one, "%s{\"column\":\"%s\",\"legacy\":", n++ ? "," : "",
                          col_name(p, c));
            ts_vvalue_json(&ch->one, &lv[c]);
            ts_buf_puts(&ch->one, ",\"new\":");
            ts_vvalue_json(&ch->one, &nv[c]);
            ts_buf_puts(&ch->one, "}");
        }
        ts_buf_puts(&ch->one, "]");
    }
    ts_buf_puts(&ch->one, "}");
    ts_buf_printf(&ch->diffs, "%s%s", ch->diffs.len > 1 ? "," : "", ch->one.s);
    if (ch->one.oom || ch->diffs.oom)
        return ts_fail(err, TS_E_NOMEM, "out of memory reporting a difference");
    ch->c.kinds[kind]++;
    return ts_vreport_diff(ch->r, ch->t, kind, ch->one.s, err);
}

static int row_equal(const ts_vrows *a, size_t i, const ts_vrows *b, size_t j)
{
    return a->rows[i].len == b->rows[j].len &&
           memcmp(ts_vrows_at(a, i), ts_vrows_at(b, j), a->rows[i].len) == 0;
}

/* Compare legacy rows [lf, lt) with new rows [nf, nt), both in key order. */
static int compare_chunk(chunk *ch, const ts_vrows *L, size_t lf, size_t lt, const ts_vrows *N,
                         size_t nf, size_t nt, ts_error *err)
{
    char ld[TS_DIGEST_HEX], nd[TS_DIGEST_HEX];
    int nkey = ch->p->nkey;
    ch->c.legacy = (int64_t)(lt - lf);
    ch->c.fresh = (int64_t)(nt - nf);
    if (ts_vrows_digest(L, lf, lt, ld, err) || ts_vrows_digest(N, nf, nt, nd, err))
        return -1;
    if (strcmp(ld, nd) == 0) {
        ch->c.matching = ch->c.legacy;
        return 0;
    }
    ch->c.chunks_differing = 1;
    size_t i = lf, j = nf;
    while (i < lt || j < nt) {
        int c = i == lt ? 1 : j == nt ? -1
                : ts_vrow_keycmp(ts_vrows_at(L, i), L->rows[i].len, ts_vrows_at(N, j),
                                 N->rows[j].len, nkey);
        int rc = 0;
        if (c < 0) {
            rc = emit(ch, L->rows[i].pending ? TS_DK_PENDING : TS_DK_MISSING, L, i, NULL, 0, err);
            i++;
        } else if (c > 0) {
            rc = emit(ch, TS_DK_EXTRA, NULL, 0, N, j, err);
            j++;
        } else {
            if (row_equal(L, i, N, j))
                ch->c.matching++;
            else
                rc = emit(ch, TS_DK_CHANGED, L, i, N, j, err);
            i++;
            j++;
        }
        if (rc)
            return -1;
    }
    return 0;
}

/* ---- one table --------------------------------------------------------------------- */

/* Rows of a page up to and including key hi (NULL: all of them). */
static size_t page_end(const ts_vside *sd, const ts_buf *hi, int nkey)
{
    size_t e = sd->from;
    while (e < sd->to && (hi == NULL || ts_vrow_keycmp(ts_vrows_at(&sd->rows, e),
                                                       sd->rows.rows[e].len,
                                                       (unsigned char *)hi->s, hi->len,
                                                       nkey) <= 0))
        e++;
    return e;
}

static void add_counts(ts_vcount *to, const ts_vcount *c)
{
    to->legacy += c->legacy;
    to->fresh += c->fresh;
    to->matching += c->matching;
    to->chunks++;
    to->chunks_differing += c->chunks_differing;
}

/* The key as ts_rowjson text, for the log. */
static void key_json(const ts_buf *key, int nkey, ts_buf *out)
{
    ts_value k[128];
    ts_buf_reset(out);
    if (key == NULL) {
        ts_buf_puts(out, "null");
        return;
    }
    ts_vrow_decode((unsigned char *)key->s, key->len, k, nkey);
    ts_rowjson_encode(out, k, nkey);
}

/* The resumed table's last key, re-encoded canonically. */
static int resume_point(const ts_vtable *t, const ts_vplan *p, ts_buf *after, ts_error *err)
{
    ts_value k[128];
    ts_buf text = {0};
    int rc = ts_rowjson_decode(t->after, k, p->nkey, &text, err);
    if (rc == 0)
        ts_canon_row(after, k, p->types, p->nkey);
    ts_buf_free(&text);
    if (rc)
        ts_error_context(err, "checkpoint of table %s", t->target);
    return rc;
}

typedef struct table_run {
    ts_vside L, N;
    chunk ch;
    ts_buf after, hi, keytext;
    double t0;             /* when this run started the table (monotonic seconds) */
    int64_t rows0;         /* rows done before (a resumed table) */
    double snap_t0;        /* when the open read transactions began; 0: none open */
} table_run;

/* Rows of the larger side: what a table's progress is measured in. */
static int64_t rows_of(int64_t legacy, int64_t fresh) { return legacy > fresh ? legacy : fresh; }

/* The progress line on a terminal: rewritten in place, ended when the table is. */
static void progress(const table_run *tr, int final)
{
    const ts_vtable *t = tr->ch.t;
    int64_t total = rows_of(t->count_legacy, t->count_new), done = rows_of(t->c.legacy, t->c.fresh);
    double secs = ts_clock_seconds() - tr->t0;
    double rate = secs > 0 ? (double)(done - tr->rows0) / secs : 0;
    int64_t left = total > done ? total - done : 0;
    char eta[32] = "?";
    if (rate > 0 || left == 0)
        snprintf(eta, sizeof eta, "%llds", (long long)(rate > 0 ? (double)left / rate : 0));
    fprintf(stderr, "\r%s %-22s %lld/%lld rows %3d%% %.0f rows/s ETA %s   %s", t->increment,
            t->target, (long long)done, (long long)total,
            total ? (int)(100 * (done < total ? done : total) / total) : 100, rate, eta,
            final ? "\n" : "");
    fflush(stderr);
}

/*
 * Pages are read in transactions that see one moment of both stores where the
 * engines allow (ts_store_read_together): a unit of work the bot commits to
 * both between the two reads would otherwise show as a row missing on one
 * side while live traffic runs. A pair of transactions serves the pages of
 * SNAPSHOT_SPAN seconds, then the next pair begins: opening one per page cost
 * a fifth of a diff's time, and a SQLite writer waits for a span at most.
 */
#define SNAPSHOT_SPAN 0.05

static void end_snapshot(table_run *tr)
{
    if (tr->snap_t0 > 0) {
        ts_store_rollback(tr->N.s, NULL);
        ts_store_rollback(tr->L.s, NULL);
        tr->snap_t0 = 0;
    }
}

static void table_run_free(table_run *tr)
{
    end_snapshot(tr);
    ts_vside_close(&tr->L);
    ts_vside_close(&tr->N);
    ts_buf_free(&tr->ch.diffs);
    ts_buf_free(&tr->ch.one);
    ts_buf_free(&tr->after);
    ts_buf_free(&tr->hi);
    ts_buf_free(&tr->keytext);
}

/*
 * Read the next page of both sides at once: they are two connections (often
 * two engines), so the legacy page is read on a thread of its own while this
 * one reads the new page. On two cores this halves a chunk's wall time.
 */
typedef struct page_job {
    ts_vside *sd;
    const ts_buf *after;
    int rc;
    ts_error err;
} page_job;

static void *page_thread(void *arg)
{
    page_job *j = arg;
    j->rc = ts_vside_page(j->sd, j->after->len ? (unsigned char *)j->after->s : NULL,
                          j->after->len, &j->err);
    return NULL;
}

static int pages(table_run *tr, ts_error *err)
{
    page_job lj = {&tr->L, &tr->after, 0, {0}};
    pthread_t t;
    int consistent;
    if (tr->snap_t0 > 0 && ts_clock_seconds() - tr->snap_t0 > SNAPSHOT_SPAN)
        end_snapshot(tr);
    if (tr->snap_t0 == 0) {
        if (ts_store_read_together(tr->L.s, tr->N.s, &consistent, err))
            return -1;
        tr->snap_t0 = ts_clock_seconds();
    }
    int threaded = pthread_create(&t, NULL, page_thread, &lj) == 0;
    if (!threaded)
        page_thread(&lj);
    int rc = ts_vside_page(&tr->N, tr->after.len ? (unsigned char *)tr->after.s : NULL,
                           tr->after.len, err);
    if (threaded)
        pthread_join(t, NULL);
    if (lj.rc || rc)
        end_snapshot(tr);
    if (lj.rc) {
        *err = lj.err;
        return -1;
    }
    return rc;
}

/* Run chunks until the table ends (1) or the run's chunk budget does (0). */
static int chunks(table_run *tr, const ts_vplan *p, const ts_diff_opts *o, ts_vlog *lg,
                  int64_t *budget, ts_error *err)
{
    ts_vtable *t = tr->ch.t;
    for (;;) {
        if (*budget == 0)
            return 0;
        if (pages(tr, err))
            return -1;
        /* The chunk ends at the smaller last key of the two pages: both sides
           are complete up to there. A side at its end does not bound it. */
        const ts_buf *hi = NULL;
        if (!tr->L.exhausted)
            hi = &tr->L.last;
        if (!tr->N.exhausted &&
            (hi == NULL || ts_vrow_keycmp((unsigned char *)tr->N.last.s, tr->N.last.len,
                                          (unsigned char *)hi->s, hi->len, p->nkey) < 0))
            hi = &tr->N.last;
        ts_buf_reset(&tr->hi);
        if (hi != NULL)
            ts_buf_add(&tr->hi, hi->s, hi->len);
        memset(&tr->ch.c, 0, sizeof tr->ch.c);
        ts_buf_reset(&tr->ch.diffs);
        ts_buf_puts(&tr->ch.diffs, "[");
        if (compare_chunk(&tr->ch, &tr->L.rows, tr->L.from,
                          page_end(&tr->L, hi ? &tr->hi : NULL, p->nkey), &tr->N.rows,
                          tr->N.from, page_end(&tr->N, hi ? &tr->hi : NULL, p->nkey), err))
            return -1;
        ts_buf_puts(&tr->ch.diffs, "]");
        add_counts(&t->c, &tr->ch.c);
        key_json(hi ? &tr->hi : NULL, p->nkey, &tr->keytext);
        if (tr->hi.oom || tr->keytext.oom || tr->ch.diffs.oom)
            return ts_fail(err, TS_E_NOMEM, "out of memory comparing a chunk");
        if (ts_vlog_chunk(lg, t, tr->keytext.s, &tr->ch.c, tr->ch.diffs.s, err))
            return -1;
        if (o->tty)
            progress(tr, 0);
        if (*budget > 0)
            --*budget;
        if (hi == NULL)
            return 1;
        ts_buf_reset(&tr->after);
        ts_buf_add(&tr->after, tr->hi.s, tr->hi.len);
    }
}

static int diff_table(ts_store *legacy, ts_store *nw, const ts_tmap *tm, const ts_diff_opts *o,
                      ts_vreport *r, ts_vlog *lg, int64_t *budget, ts_error *err)
{
    ts_vplan p;
    table_run tr;
    ts_vtable *t = ts_vreport_table(r, tm->inc->id, tm->legacy->name, tm->target->name);
    memset(&tr, 0, sizeof tr);
    if (t == NULL)
        return ts_fail(err, TS_E_NOMEM, "out of memory starting table %s", tm->target->name);
    if (t->done)
        return 0;
    if (ts_vplan_make(tm, &p, err) || count_legacy(legacy, tm, &t->count_legacy, err) ||
        count_new(nw, &p, &t->count_new, err) || ts_vlog_table(lg, t, err))
        goto fail;
    tr.ch = (chunk){r, t, &p};
    if (ts_vside_open(&tr.L, &p, legacy, 1, o->chunk, err) ||
        ts_vside_open(&tr.N, &p, nw, 0, o->chunk, err) || load_watermark(nw, &p, &tr.L, err) ||
        (t->after != NULL && strcmp(t->after, "null") != 0 && resume_point(t, &p, &tr.after, err)))
        goto fail;
    tr.t0 = ts_clock_seconds();
    tr.rows0 = rows_of(t->c.legacy, t->c.fresh);
    int rc = chunks(&tr, &p, o, lg, budget, err);
    if (rc < 0)
        goto fail;
    t->seconds += ts_clock_seconds() - tr.t0;
    if (o->tty)
        progress(&tr, 1);
    if (rc == 1) {
        t->done = 1;
        if (ts_vlog_done(lg, t, err))
            goto fail;
        if (!o->tty)
            ts_log(TS_LOG_INFO, "diff_table", "increment=%s table=%s legacy=%lld new=%lld "
                   "missing=%lld extra=%lld changed=%lld pending=%lld seconds=%.3f "
                   "rows_per_s=%.0f", t->increment, t->target, (long long)t->c.legacy,
                   (long long)t->c.fresh, (long long)t->c.kinds[TS_DK_MISSING],
                   (long long)t->c.kinds[TS_DK_EXTRA], (long long)t->c.kinds[TS_DK_CHANGED],
                   (long long)t->c.kinds[TS_DK_PENDING], t->seconds,
                   t->seconds > 0 ? (double)rows_of(t->c.legacy, t->c.fresh) / t->seconds : 0);
    }
    table_run_free(&tr);
    return 0;
fail:
    table_run_free(&tr);
    ts_error_context(err, "diff of %s -> %s (increment %s)", tm->legacy->name, tm->target->name,
                     tm->inc->id);
    return -1;
}

int ts_diff_run(ts_store *legacy, ts_store *nw, const ts_increment *const *incs, int ninc,
                const ts_diff_opts *o, ts_vreport *r, ts_vlog *lg, ts_error *err)
{
    int64_t budget = o->max_chunks > 0 ? o->max_chunks : -1;
    for (int i = 0; i < ninc; i++)
        for (int k = 0; k < incs[i]->ntmaps && !ts_vreport_skipped(r, incs[i]->id); k++) {
            const ts_tmap *tm = &incs[i]->tmaps[k];
            if (diff_table(legacy, nw, tm, o, r, lg, &budget, err))
                return -1;
            if (!ts_vreport_table(r, tm->inc->id, tm->legacy->name, tm->target->name)->done) {
                r->stopped = 1;
                return 0;
            }
        }
    return 0;
}
