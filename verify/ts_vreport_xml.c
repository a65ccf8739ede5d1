/*
 * ts_vreport_xml.c: the renderings for machines and browsers: JUnit XML for CI
 * and one standalone HTML page (inline CSS, no scripts, readable offline).
 * Both escape every text that came from a store.
 */
#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

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

int ts_vreport_junit(const ts_vreport *r, FILE *out, ts_error *err)
{
    int failures = 0;
    for (int i = 0; i < r->ntables; i++)
        failures += differences(&r->tables[i]) > 0 || !r->tables[i].done;
    for (int i = 0; i < r->ninvs; i++)
        failures += !r->invs[i].ok;
    fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n"
            "<testsuite name=\"ts-verify %s\" tests=\"%d\" failures=\"%d\">\n", r->command,
            r->ntables + r->ninvs, failures);
    for (int i = 0; i < r->ntables; i++) {
        const ts_vtable *t = &r->tables[i];
        fputs("<testcase classname=\"diff\" name=\"", out);
        table_name(out, t);
        fputs("\">\n", out);
        if (differences(t) > 0 || !t->done) {
            fprintf(out, "<failure message=\"%lld missing, %lld extra, %lld changed%s\">",
                    (long long)t->c.kinds[TS_DK_MISSING], (long long)t->c.kinds[TS_DK_EXTRA],
                    (long long)t->c.kinds[TS_DK_CHANGED], t->done ? "" : "; not compared to the end");
            for (int k = 0; k < t->nfirst; k++) {
                diff_line(out, t->first[k]);
                fputc('\n', out);
            }
            fputs("</failure>\n", out);
        }
        fprintf(out, "<system-out>%lld rows compared, %lld matching, %lld pending</system-out>\n"
                "</testcase>\n", (long long)t->c.legacy, (long long)t->c.matching,
                (long long)t->c.kinds[TS_DK_PENDING]);
    }
    for (int i = 0; i < r->ninvs; i++) {
        const ts_vinv *v = &r->invs[i];
        fputs("<testcase classname=\"", out);
        esc(out, r->command);
        fputs("\" name=\"", out);
        esc(out, v->name);
        fputc(' ', out);
        esc(out, v->subject);
        fputs("\">", out);
        if (!v->ok) {
            fprintf(out, "<failure message=\"%d violation(s)\">", v->nviolations);
            for (int k = 0; k < v->nviolations; k++) {
                esc(out, v->violations[k]);
                fputc('\n', out);
            }
            fputs("</failure>", out);
        }
        fputs("</testcase>\n", out);
    }
    fputs("</testsuite>\n</testsuites>\n", out);
    return ferror(out) ? ts_fail(err, TS_E_IO, "writing the JUnit report failed") : 0;
}

static const char css[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}"
    "h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em}"
    ".clean{color:#176f2c}.dirty{color:#b3261e}"
    "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;"
    "text-align:left;vertical-align:top}th{background:#f3f3f3}"
    ".bar{display:flex;width:40em;height:1em;border:1px solid #999;margin:.3em 0}"
    ".bar span{display:block;height:100%}"
    ".m{background:#3a9a50}.mi{background:#d9534f}.ex{background:#f0ad4e}.ch{background:#5b7fd6}"
    ".pe{background:#bbb}code{font-family:ui-monospace,monospace;white-space:pre-wrap}";

static void bar(FILE *out, const ts_vtable *t)
{
    static const char *const cls[] = {"mi", "ex", "ch", "pe"};
    double total = (double)t->c.matching;
    for (int k = 0; k < TS_DK_COUNT; k++)
        total += (double)t->c.kinds[k];
    fputs("<div class=\"bar\">", out);
    if (total > 0) {
        fprintf(out, "<span class=\"m\" style=\"width:%.3f%%\"></span>",
                100.0 * (double)t->c.matching / total);
        for (int k = 0; k < TS_DK_COUNT; k++)
            fprintf(out, "<span class=\"%s\" style=\"width:%.3f%%\"></span>", cls[k],
                    100.0 * (double)t->c.kinds[k] / total);
    }
    fputs("</div>", out);
}

int ts_vreport_html(const ts_vreport *r, FILE *out, ts_error *err)
{
    int clean = ts_vreport_clean(r);
    fprintf(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>ts-verify %s</title><style>%s</style></head><body>\n", r->command, css);
    fprintf(out, "<h1>ts-verify %s: <span class=\"%s\">%s</span></h1>\n<p>legacy <code>",
            r->command, clean ? "clean" : "dirty", clean ? "clean" : "NOT CLEAN");
    esc(out, r->legacy_url);
    fputs("</code><br>new <code>", out);
    esc(out, r->new_url);
    fputs("</code></p>\n", out);
    if (r->stopped)
        fputs("<p class=\"dirty\">Stopped before the end: continue with --resume.</p>\n", out);
    if (r->ntables > 0)
        fputs("<p>Bars: <span class=\"clean\">matching</span>, missing (red), extra (orange), "
              "changed (blue), pending (grey).</p>\n", out);
    for (int i = 0; i < r->ntables; i++) {
        const ts_vtable *t = &r->tables[i];
        fputs("<h2>", out);
        table_name(out, t);
        fprintf(out, " <span class=\"%s\">%s</span></h2>\n",
                differences(t) || !t->done ? "dirty" : "clean",
                differences(t) ? "different" : t->done ? "same" : "incomplete");
        bar(out, t);
        fprintf(out, "<table><tr><th>legacy rows</th><th>new rows</th><th>matching</th>"
                "<th>missing</th><th>extra</th><th>changed</th><th>pending</th></tr>"
                "<tr><td>%lld</td><td>%lld</td><td>%lld</td><td>%lld</td><td>%lld</td>"
                "<td>%lld</td><td>%lld</td></tr></table>\n", (long long)t->c.legacy,
                (long long)t->c.fresh, (long long)t->c.matching,
                (long long)t->c.kinds[TS_DK_MISSING], (long long)t->c.kinds[TS_DK_EXTRA],
                (long long)t->c.kinds[TS_DK_CHANGED], (long long)t->c.kinds[TS_DK_PENDING]);
        if (t->nfirst > 0) {
            fputs("<table><tr><th>first differing rows</th></tr>\n", out);
            for (int k = 0; k < t->nfirst && k < 20; k++) {
                fputs("<tr><td><code>", out);
                diff_line(out, t->first[k]);
                fputs("</code></td></tr>\n", out);
            }
            fputs("</table>\n", out);
        }
    }
    if (r->ninvs > 0) {
        fputs("<h2>Invariants</h2>\n<table><tr><th>invariant</th><th>subject</th><th>result</th>"
              "</tr>\n", out);
        for (int i = 0; i < r->ninvs; i++) {
            const ts_vinv *v = &r->invs[i];
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
