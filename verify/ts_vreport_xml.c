/*
 * ts_vreport_xml.c: the renderings for machines and browsers: JUnit XML for CI
 * and one standalone HTML page (inline CSS, no scripts, readable offline).
 * Both escape every text that came from a store.
 */
#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "ts_version.h"
#include "ts_vreport.h"

static void esc(FILE *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '&': fputs("&amp;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\'': fputs("&#39;", out); break;
        default:
            /* XML 1.0 has no place for other control characters. */
            if ((unsigned char)*s >= 0x20 || *s == '\n' || *s == '\t')
                fputc(*s, out);
        }
    }
}

static int64_t differences(const ts_vtable *t)
{
    return t->c.kinds[TS_DK_MISSING] + t->c.kinds[TS_DK_EXTRA] + t->c.kinds[TS_DK_CHANGED];
}

/* One difference as a line of text: "changed id=7: username legacy "a" new "b"". */
static void diff_line(FILE *out, const char *json)
{
    cJSON *d = cJSON_Parse(json);
    const cJSON *k, *c;
    char *s;
    if (d == NULL) {
        esc(out, json);
        return;
    }
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(d, "kind");
    esc(out, cJSON_IsString(kind) ? kind->valuestring : "?");
    fputc(' ', out);
    cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(d, "key"))
    {
        s = cJSON_PrintUnformatted(k);
        esc(out, k->string);
        fputc('=', out);
        esc(out, s ? s : "?");
        fputc(' ', out);
        free(s);
    }
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(d, "columns"))
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(c, "column");
        char *l = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(c, "legacy"));
        char *n = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(c, "new"));
        fputs("| ", out);
        esc(out, cJSON_IsString(name) ? name->valuestring : "?");
        fputs(": legacy ", out);
        esc(out, l ? l : "?");
        fputs(", new ", out);
        esc(out, n ? n : "?");
        fputc(' ', out);
        free(l);
        free(n);
    }
    cJSON_Delete(d);
}

static void table_name(FILE *out, const ts_vtable *t)
{
    esc(out, t->increment);
    fputc(' ', out);
    if (strcmp(t->legacy, t->target) != 0 && t->legacy[0]) {
        esc(out, t->legacy);
        fputs(" -&gt; ", out);
    }
    esc(out, t->target);
}

/* A table that differs or was not compared to the end. */
static int table_bad(const ts_vtable *t) { return differences(t) > 0 || !t->done; }

/* Bad ones in pass 0, good ones in pass 1: what needs acting on comes first. */
static int in_pass(int bad, int pass) { return pass == 0 ? bad : !bad; }

/* A skipped increment that was named on the command line fails the run. */
static int inc_failed(const ts_vinc *v) { return v->named && v->skipped[0]; }

typedef struct totals {
    int tests, failures, skipped;
} totals;

static totals count(const ts_vreport *r)
{
    totals n = {r->ntables + r->ninvs + ts_vreport_nothing_compared(r), 0, 0};
    for (int i = 0; i < r->ntables; i++)
        n.failures += table_bad(&r->tables[i]);
    for (int i = 0; i < r->ninvs; i++)
        n.failures += !r->invs[i].ok;
    for (int i = 0; i < r->nincs; i++) {
        n.tests += r->incs[i].skipped[0] != 0;
        n.failures += inc_failed(&r->incs[i]);
        n.skipped += r->incs[i].skipped[0] && !inc_failed(&r->incs[i]);
    }
    n.tests += r->nignored;
    n.skipped += r->nignored;
    n.failures += ts_vreport_nothing_compared(r);
    return n;
}

static void junit_table(FILE *out, const ts_vtable *t)
{
    fputs("<testcase classname=\"ts-verify.diff.", out);
    esc(out, t->increment);
    fputs("\" name=\"", out);
    table_name(out, t);
    fprintf(out, "\" time=\"%.3f\">\n", t->seconds);
    if (table_bad(t)) {
        fprintf(out, "<failure type=\"%s\" message=\"%lld missing, %lld extra, %lld changed%s\">",
                differences(t) ? "differences" : "incomplete",
                (long long)t->c.kinds[TS_DK_MISSING], (long long)t->c.kinds[TS_DK_EXTRA],
                (long long)t->c.kinds[TS_DK_CHANGED], t->done ? "" : "; not compared to the end");
        for (int k = 0; k < t->nfirst; k++) {
            diff_line(out, t->first[k]);
            fputc('\n', out);
        }
        if (differences(t) > t->nfirst)
            fprintf(out, "(%d of %lld rows listed: the JSON report has every one)\n", t->nfirst,
                    (long long)differences(t));
        fputs("</failure>\n", out);
    }
    fprintf(out, "<system-out>%lld rows compared, %lld matching, %lld pending</system-out>\n"
            "</testcase>\n", (long long)t->c.legacy, (long long)t->c.matching,
            (long long)t->c.kinds[TS_DK_PENDING]);
}

/* <testcase classname="ts-verify.COMMAND" name="FIRST SECOND"> */
static void testcase_open(FILE *out, const ts_vreport *r, const char *first, const char *second)
{
    fputs("<testcase classname=\"ts-verify.", out);
    esc(out, r->command);
    fputs("\" name=\"", out);
    esc(out, first);
    fputc(' ', out);
    esc(out, second);
    fputs("\">", out);
}

static void junit_inv(FILE *out, const ts_vreport *r, const ts_vinv *v)
{
    testcase_open(out, r, v->name, v->subject);
    if (!v->ok) {
        fputs("<failure type=\"", out);
        esc(out, v->name);
        fprintf(out, "\" message=\"%d violation(s)\">", v->nviolations);
        for (int k = 0; k < v->nviolations; k++) {
            esc(out, v->violations[k]);
            fputc('\n', out);
        }
        fputs("</failure>", out);
    }
    fputs("</testcase>\n", out);
}

static void junit_inc(FILE *out, const ts_vreport *r, const ts_vinc *v)
{
    testcase_open(out, r, v->id, v->name);
    fputs(inc_failed(v) ? "<failure type=\"not_compared\" message=\"" : "<skipped message=\"", out);
    esc(out, v->skipped);
    fputs(inc_failed(v) ? "\">named on the command line, but not compared</failure>" : "\"/>", out);
    fputs("</testcase>\n", out);
}

/* Shared by <testsuites> and <testsuite>: Jenkins reads the one, GitLab the other. */
static void junit_counts(FILE *out, const ts_vreport *r, totals n)
{
    fprintf(out, " tests=\"%d\" failures=\"%d\" errors=\"0\" skipped=\"%d\" time=\"%.3f\"", n.tests,
            n.failures, n.skipped, r->seconds);
    /* xs:dateTime without a zone, as the JUnit schema has it (the time is UTC). */
    if (r->started[0])
        fprintf(out, " timestamp=\"%.19s\"", r->started);
}

int ts_vreport_junit(const ts_vreport *r, FILE *out, ts_error *err)
{
    totals n = count(r);
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"ts-verify\"", out);
    junit_counts(out, r, n);
    fprintf(out, ">\n<testsuite name=\"ts-verify %s\"", r->command);
    junit_counts(out, r, n);
    fprintf(out, ">\n<properties>\n<property name=\"version\" value=\"%s\"/>\n"
            "<property name=\"command_line\" value=\"", TS_VERSION);
    esc(out, r->cmdline);
    fputs("\"/>\n<property name=\"legacy\" value=\"", out);
    esc(out, r->legacy_url);
    fputs("\"/>\n<property name=\"new\" value=\"", out);
    esc(out, r->new_url);
    fputs("\"/>\n</properties>\n", out);
    if (ts_vreport_nothing_compared(r))
        fputs("<testcase classname=\"ts-verify.diff\" name=\"nothing compared\"><failure "
              "type=\"nothing_compared\" message=\"every increment was skipped at its stage\"/>"
              "</testcase>\n", out);
    for (int i = 0; i < r->nignored; i++) {
        testcase_open(out, r, "ignored", r->ignored[i].table);
        fputs("<skipped message=\"not compared: the manifest ignores it: ", out);
        esc(out, r->ignored[i].reason);
        fputs("\"/></testcase>\n", out);
    }
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < r->nincs; i++)
            if (r->incs[i].skipped[0] && in_pass(inc_failed(&r->incs[i]), pass))
                junit_inc(out, r, &r->incs[i]);
        for (int i = 0; i < r->ntables; i++)
            if (in_pass(table_bad(&r->tables[i]), pass))
                junit_table(out, &r->tables[i]);
        for (int i = 0; i < r->ninvs; i++)
            if (in_pass(!r->invs[i].ok, pass))
                junit_inv(out, r, &r->invs[i]);
    }
    fputs("</testsuite>\n</testsuites>\n", out);
    return ferror(out) ? ts_fail(err, TS_E_IO, "writing the JUnit report failed") : 0;
}

static const char css[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}"
    "h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em}"
    ".clean{color:#176f2c}.dirty{color:#b3261e;font-weight:bold}.skip{color:#777}"
    "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;"
    "text-align:left;vertical-align:top}th{background:#f3f3f3}td.n{text-align:right}"
    "tr.total td{font-weight:bold;border-top:2px solid #999}"
    ".bar{display:flex;width:40em;height:1em;border:1px solid #999;margin:.3em 0}"
    /* Failures keep their true share, but never less than a visible sliver;
       matching takes what is left. */
    ".bar span{display:block;height:100%;flex:0 0 auto;min-width:4px}.bar span.m{flex:1 1 0;"
    "min-width:0}"
    ".m{background:#3a9a50}.mi{background:#d9534f}.ex{background:#f0ad4e}.ch{background:#5b7fd6}"
    ".pe{background:#bbb}code{font-family:ui-monospace,monospace;white-space:pre-wrap}";

/* 10040 as "10,040". */
static void num(FILE *out, int64_t v)
{
    char d[24];
    int n = snprintf(d, sizeof d, "%lld", (long long)(v < 0 ? -v : v));
    if (v < 0)
        fputc('-', out);
    for (int i = 0; i < n; i++) {
        fputc(d[i], out);
        if ((n - i - 1) % 3 == 0 && i < n - 1)
            fputc(',', out);
    }
}

static void num_cell(FILE *out, int64_t v)
{
    fputs("<td class=\"n\">", out);
    num(out, v);
    fputs("</td>", out);
}

static int64_t rows_compared(const ts_vtable *t)
{
    return t->c.legacy > t->c.fresh ? t->c.legacy : t->c.fresh;
}

static void bar(FILE *out, const ts_vtable *t)
{
    static const char *const cls[] = {"mi", "ex", "ch", "pe"};
    int64_t total = t->c.matching, bad = differences(t);
    for (int k = 0; k < TS_DK_COUNT; k++)
        total += t->c.kinds[k];
    fputs("<div class=\"bar\">", out);
    if (total > 0) {
        fputs("<span class=\"m\"></span>", out);
        for (int k = 0; k < TS_DK_COUNT; k++)
            if (t->c.kinds[k] > 0)
                fprintf(out, "<span class=\"%s\" style=\"width:%.3f%%\" title=\"%s\"></span>",
                        cls[k], 100.0 * (double)t->c.kinds[k] / (double)total, ts_vkind_name(k));
    }
    fputs("</div>\n<p>", out);
    num(out, bad);
    fputs(" of ", out);
    num(out, total);
    fprintf(out, " rows differ (%.2f%%)</p>\n", total ? 100.0 * (double)bad / (double)total : 0.0);
}

static void html_table(FILE *out, const ts_vtable *t)
{
    int shown = t->nfirst < 20 ? t->nfirst : 20;
    fputs("<h2>", out);
    table_name(out, t);
    fprintf(out, " <span class=\"%s\">%s</span></h2>\n", table_bad(t) ? "dirty" : "clean",
            differences(t) ? "different" : t->done ? "same" : "incomplete");
    bar(out, t);
    fputs("<table><tr><th>legacy rows</th><th>new rows</th><th>matching</th><th>missing</th>"
          "<th>extra</th><th>changed</th><th>pending</th></tr><tr>", out);
    num_cell(out, t->c.legacy);
    num_cell(out, t->c.fresh);
    num_cell(out, t->c.matching);
    for (int k = 0; k < TS_DK_COUNT; k++)
        num_cell(out, t->c.kinds[k]);
    fputs("</tr></table>\n", out);
    if (shown == 0)
        return;
    fputs("<p>", out);
    num(out, shown);
    fputs(" of ", out);
    num(out, differences(t) + t->c.kinds[TS_DK_PENDING]);
    fputs(" rows listed (the JSON report, --out FILE, has every one)</p>\n"
          "<table><tr><th>differing rows</th></tr>\n", out);
    for (int k = 0; k < shown; k++) {
        fputs("<tr><td><code>", out);
        diff_line(out, t->first[k]);
        fputs("</code></td></tr>\n", out);
    }
    fputs("</table>\n", out);
}

/* One row of the summary: an increment's tables (inc NULL: the invariants of no increment). */
static void summary_row(FILE *out, const ts_vreport *r, const ts_vinc *inc, int64_t sum[4])
{
    int64_t tables = 0, rows = 0, diffs = 0, viol = 0;
    const char *id = inc ? inc->id : "";
    for (int i = 0; i < r->ntables; i++)
        if (strcmp(r->tables[i].increment, id) == 0) {
            tables++;
            rows += rows_compared(&r->tables[i]);
            diffs += differences(&r->tables[i]);
        }
    for (int i = 0; i < r->ninvs; i++)
        if (strcmp(r->invs[i].increment, id) == 0)
            viol += r->invs[i].nviolations;
    if (inc == NULL && viol == 0 && !r->ninvs)
        return;
    fputs("<tr><td>", out);
    if (inc) {
        esc(out, inc->id);
        fputc(' ', out);
        esc(out, inc->name);
        fprintf(out, "</td><td>%s</td>", ts_stage_name(inc->stage));
    } else {
        fputs("store-wide</td><td></td>", out);
    }
    if (inc && inc->skipped[0]) {
        fprintf(out, "<td class=\"%s\">%s: ", inc_failed(inc) ? "dirty" : "skip",
                inc_failed(inc) ? "NOT compared (named)" : "skipped");
        esc(out, inc->skipped);
    } else {
        int bad = diffs > 0 || viol > 0;
        fprintf(out, "<td class=\"%s\">%s", bad ? "dirty" : "clean", bad ? "FAIL" : "ok");
    }
    fputs("</td>", out);
    num_cell(out, inc && inc->skipped[0] ? inc->ntables : tables);
    num_cell(out, rows);
    num_cell(out, diffs);
    num_cell(out, viol);
    fputs("</tr>\n", out);
    sum[0] += tables, sum[1] += rows, sum[2] += diffs, sum[3] += viol;
}

static void summary(FILE *out, const ts_vreport *r)
{
    int64_t sum[4] = {0, 0, 0, 0};
    fputs("<h2>Summary</h2>\n<table><tr><th>increment</th><th>stage</th><th>result</th>"
          "<th>tables</th><th>rows compared</th><th>differences</th><th>violations</th></tr>\n",
          out);
    for (int i = 0; i < r->nincs; i++)
        summary_row(out, r, &r->incs[i], sum);
    summary_row(out, r, NULL, sum);
    fputs("<tr class=\"total\"><td colspan=\"3\">total</td>", out);
    for (int k = 0; k < 4; k++)
        num_cell(out, sum[k]);
    fputs("</tr></table>\n", out);
    for (int i = 0; i < r->nignored; i++) {
        fputs("<p>Not compared: legacy table <code>", out);
        esc(out, r->ignored[i].table);
        fputs("</code>, which the manifest ignores (", out);
        esc(out, r->ignored[i].reason);
        fputs(").</p>\n", out);
    }
}

int ts_vreport_html(const ts_vreport *r, FILE *out, ts_error *err)
{
    int clean = ts_vreport_clean(r), nothing = ts_vreport_nothing_compared(r);
    fprintf(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>ts-verify %s</title><style>%s</style></head><body>\n", r->command, css);
    fprintf(out, "<h1>ts-verify %s: <span class=\"%s\">%s</span></h1>\n<table>"
            "<tr><th>time</th><td>", r->command, clean ? "clean" : "dirty",
            nothing ? "nothing compared" : clean ? "clean" : "NOT CLEAN");
    esc(out, r->started);
    fprintf(out, " (UTC), %.1f s</td></tr>\n<tr><th>version</th><td>ts-verify %s</td></tr>\n"
            "<tr><th>command line</th><td><code>", r->seconds, TS_VERSION);
    esc(out, r->cmdline);
    fputs("</code></td></tr>\n<tr><th>legacy</th><td><code>", out);
    esc(out, r->legacy_url);
    fputs("</code></td></tr>\n<tr><th>new</th><td><code>", out);
    esc(out, r->new_url);
    fputs("</code></td></tr></table>\n", out);
    if (r->stopped)
        fputs("<p class=\"dirty\">Stopped before the end: continue with --resume.</p>\n", out);
    summary(out, r);
    if (r->ntables > 0)
        fputs("<p>Bars: <span class=\"clean\">matching</span>, missing (red), extra (orange), "
              "changed (blue), pending (grey); differing tables first.</p>\n", out);
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < r->ntables; i++)
            if (in_pass(table_bad(&r->tables[i]), pass))
                html_table(out, &r->tables[i]);
    if (r->ninvs > 0) {
        fputs("<h2>Invariants (failed first)</h2>\n<table><tr><th>invariant</th><th>subject</th>"
              "<th>result</th></tr>\n", out);
        for (int pass = 0; pass < 2; pass++)
            for (int i = 0; i < r->ninvs; i++) {
                const ts_vinv *v = &r->invs[i];
                if (!in_pass(!v->ok, pass))
                    continue;
                fputs("<tr><td>", out);
                esc(out, v->name);
                fputs("</td><td>", out);
                esc(out, v->subject);
                fprintf(out, "</td><td class=\"%s\">%s", v->ok ? "clean" : "dirty",
                        v->ok ? "ok" : "FAIL");
                for (int k = 0; k < v->nviolations; k++) {
                    fputs("<br>", out);
                    esc(out, v->violations[k]);
                }
                fputs("</td></tr>\n", out);
            }
        fputs("</table>\n", out);
    }
    fputs("</body></html>\n", out);
    return ferror(out) ? ts_fail(err, TS_E_IO, "writing the HTML report failed") : 0;
}
