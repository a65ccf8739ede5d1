/* ts_vreport.c: the report model, and its text and JSON renderings. */
#include "ts_vreport.h"

#include <cJSON.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ts_buf.h"
#include "ts_version.h"

static const char *const kind_names[TS_DK_COUNT] = {"missing", "extra", "changed", "pending"};

const char *ts_vkind_name(int kind) { return kind_names[kind]; }

void ts_vreport_init(ts_vreport *r, const char *command, int keep)
{
    memset(r, 0, sizeof *r);
    r->command = command;
    r->keep = keep;
}

static void free_strings(char **s, int n)
{
    for (int i = 0; i < n; i++)
        free(s[i]);
    free(s);
}

void ts_vreport_free(ts_vreport *r)
{
    for (int i = 0; i < r->ntables; i++) {
        free_strings(r->tables[i].first, r->tables[i].nfirst);
        free(r->tables[i].after);
    }
    for (int i = 0; i < r->ninvs; i++)
        free_strings(r->invs[i].violations, r->invs[i].nviolations);
    free(r->tables);
    free(r->invs);
    free(r->incs);
    free(r->ignored);
    memset(r, 0, sizeof *r);
}

int ts_vreport_ignored(ts_vreport *r, const char *table, const char *reason)
{
    struct ts_vignored *v = realloc(r->ignored, (size_t)(r->nignored + 1) * sizeof *v);
    if (v == NULL)
        return -1;
    r->ignored = v;
    snprintf(v[r->nignored].table, sizeof v->table, "%s", table);
    snprintf(v[r->nignored].reason, sizeof v->reason, "%s", reason);
    r->nignored++;
    return 0;
}

ts_vtable *ts_vreport_table(ts_vreport *r, const char *increment, const char *legacy,
                            const char *target)
{
    for (int i = 0; i < r->ntables; i++)
        if (strcmp(r->tables[i].increment, increment) == 0 &&
            strcmp(r->tables[i].target, target) == 0)
            return &r->tables[i];
    ts_vtable *t = realloc(r->tables, (size_t)(r->ntables + 1) * sizeof *t);
    if (t == NULL)
        return NULL;
    r->tables = t;
    t = &r->tables[r->ntables++];
    memset(t, 0, sizeof *t);
    snprintf(t->increment, sizeof t->increment, "%s", increment);
    snprintf(t->legacy, sizeof t->legacy, "%s", legacy);
    snprintf(t->target, sizeof t->target, "%s", target);
    return t;
}

static int push_string(char ***list, int *n, const char *s)
{
    char *copy = strdup(s);
    char **l = copy ? realloc(*list, (size_t)(*n + 1) * sizeof *l) : NULL;
    if (l == NULL) {
        free(copy);
        return -1;
    }
    l[(*n)++] = copy;
    *list = l;
    return 0;
}

int ts_vreport_diff(ts_vreport *r, ts_vtable *t, int kind, const char *json, ts_error *err)
{
    t->c.kinds[kind]++;
    if (t->nfirst < r->keep && push_string(&t->first, &t->nfirst, json))
        return ts_fail(err, TS_E_NOMEM, "out of memory keeping a difference");
    return 0;
}

ts_vinv *ts_vreport_inv(ts_vreport *r, const char *name, const char *subject)
{
    ts_vinv *v = realloc(r->invs, (size_t)(r->ninvs + 1) * sizeof *v);
    if (v == NULL)
        return NULL;
    r->invs = v;
    v = &r->invs[r->ninvs++];
    memset(v, 0, sizeof *v);
    snprintf(v->name, sizeof v->name, "%s", name);
    snprintf(v->subject, sizeof v->subject, "%s", subject);
    v->ok = 1;
    return v;
}

int ts_vinv_violation(ts_vinv *inv, ts_error *err, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    inv->ok = 0;
    if (push_string(&inv->violations, &inv->nviolations, msg))
        return ts_fail(err, TS_E_NOMEM, "out of memory recording a violation");
    return 0;
}

ts_vinc *ts_vreport_add_inc(ts_vreport *r, const char *id, const char *name, ts_stage stage,
                            int ntables, const char *skipped)
{
    ts_vinc *v = realloc(r->incs, (size_t)(r->nincs + 1) * sizeof *v);
    if (v == NULL)
        return NULL;
    r->incs = v;
    v = &r->incs[r->nincs++];
    memset(v, 0, sizeof *v);
    snprintf(v->id, sizeof v->id, "%s", id);
    snprintf(v->name, sizeof v->name, "%s", name);
    snprintf(v->skipped, sizeof v->skipped, "%s", skipped ? skipped : "");
    v->stage = stage;
    v->ntables = ntables;
    return v;
}

const ts_vinc *ts_vreport_find_inc(const ts_vreport *r, const char *id)
{
    for (int i = 0; i < r->nincs; i++)
        if (strcmp(r->incs[i].id, id) == 0)
            return &r->incs[i];
    return NULL;
}

const char *ts_vreport_skipped(const ts_vreport *r, const char *id)
{
    const ts_vinc *v = ts_vreport_find_inc(r, id);
    return v && v->skipped[0] ? v->skipped : NULL;
}

static int64_t differences(const ts_vtable *t)
{
    return t->c.kinds[TS_DK_MISSING] + t->c.kinds[TS_DK_EXTRA] + t->c.kinds[TS_DK_CHANGED];
}

int ts_vreport_nothing_compared(const ts_vreport *r)
{
    return strcmp(r->command, "diff") == 0 && r->ntables == 0;
}

int ts_vreport_clean(const ts_vreport *r)
{
    if (r->stopped || ts_vreport_nothing_compared(r))
        return 0;
    for (int i = 0; i < r->nincs; i++)
        if (r->incs[i].named && r->incs[i].skipped[0])
            return 0;
    for (int i = 0; i < r->ntables; i++)
        if (differences(&r->tables[i]) > 0)
            return 0;
    for (int i = 0; i < r->ninvs; i++)
        if (!r->invs[i].ok)
            return 0;
    return 1;
}

/* ---- text ------------------------------------------------------------------ */

static void print_json_value(FILE *out, const cJSON *v)
{
    char *s = cJSON_PrintUnformatted(v);
    fputs(s ? s : "?", out);
    free(s);
}

/* "id=7" or "bot_id=1, feature_key=\"x\"". */
static void print_key(FILE *out, const cJSON *key)
{
    const cJSON *k;
    int first = 1;
    cJSON_ArrayForEach(k, key)
    {
        fprintf(out, "%s%s=", first ? "" : ", ", k->string);
        print_json_value(out, k);
        first = 0;
    }
}

static void print_diff(FILE *out, const char *json)
{
    cJSON *d = cJSON_Parse(json);
    const cJSON *c, *kind = cJSON_GetObjectItemCaseSensitive(d, "kind");
    if (d == NULL) {
        fprintf(out, "    %s\n", json);
        return;
    }
    fprintf(out, "    %-8s ", cJSON_IsString(kind) ? kind->valuestring : "?");
    print_key(out, cJSON_GetObjectItemCaseSensitive(d, "key"));
    fputc('\n', out);
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(d, "columns"))
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(c, "column");
        fprintf(out, "             %s: legacy ", cJSON_IsString(name) ? name->valuestring : "?");
        print_json_value(out, cJSON_GetObjectItemCaseSensitive(c, "legacy"));
        fputs(", new ", out);
        print_json_value(out, cJSON_GetObjectItemCaseSensitive(c, "new"));
        fputc('\n', out);
    }
    cJSON_Delete(d);
}

static void table_title(FILE *out, const ts_vtable *t)
{
    if (strcmp(t->legacy, t->target) == 0 || t->legacy[0] == '\0')
        fprintf(out, "%s %s", t->increment, t->target);
    else
        fprintf(out, "%s %s -> %s", t->increment, t->legacy, t->target);
}

static int inv_failed_first(const ts_vinv *v, int pass) { return pass == 0 ? !v->ok : v->ok; }

int ts_vreport_text(const ts_vreport *r, FILE *out, int64_t limit, ts_error *err)
{
    int64_t shown = 0, total = 0, bad_tables = 0, violations = 0;
    int skipped = 0;
    fprintf(out, "ts-verify %s: legacy %s, new %s\n", r->command, r->legacy_url, r->new_url);
    for (int i = 0; i < r->nincs; i++) {
        const ts_vinc *v = &r->incs[i];
        if (v->skipped[0])
            fprintf(out, "%s %s: skipped: %s%s\n", v->id, v->name, v->skipped,
                    v->named ? " (named on the command line: NOT CLEAN)" : "");
        skipped += v->skipped[0] != 0;
    }
    for (int i = 0; i < r->nignored; i++)
        fprintf(out, "table %s: not compared: the manifest ignores it (%s)\n",
                r->ignored[i].table, r->ignored[i].reason);
    for (int i = 0; i < r->ntables; i++) {
        const ts_vtable *t = &r->tables[i];
        int64_t n = differences(t);
        table_title(out, t);
        fprintf(out, ": %s\n", n ? "DIFFERENT" : !t->done ? "INCOMPLETE" : "same");
        fprintf(out, "    counts: legacy %lld, new %lld; compared %lld / %lld rows in %lld chunks "
                "(%lld differing)\n", (long long)t->count_legacy, (long long)t->count_new,
                (long long)t->c.legacy, (long long)t->c.fresh, (long long)t->c.chunks,
                (long long)t->c.chunks_differing);
        fprintf(out, "    %lld matching, %lld missing, %lld extra, %lld changed, %lld pending\n",
                (long long)t->c.matching, (long long)t->c.kinds[TS_DK_MISSING],
                (long long)t->c.kinds[TS_DK_EXTRA], (long long)t->c.kinds[TS_DK_CHANGED],
                (long long)t->c.kinds[TS_DK_PENDING]);
        for (int k = 0; k < t->nfirst && (limit < 0 || shown < limit); k++, shown++)
            print_diff(out, t->first[k]);
        total += n + t->c.kinds[TS_DK_PENDING];
        bad_tables += n > 0;
    }
    if (total > shown)
        fprintf(out, "(%lld of %lld rows listed: --json or --out FILE has every one)\n",
                (long long)shown, (long long)total);
    /* FAILs first: what an operator must act on is at the top. */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < r->ninvs; i++) {
            const ts_vinv *v = &r->invs[i];
            if (!inv_failed_first(v, pass))
                continue;
            fprintf(out, "%-4s %s %s\n", v->ok ? "ok" : "FAIL", v->name, v->subject);
            for (int k = 0; k < v->nviolations; k++)
                fprintf(out, "     - %s\n", v->violations[k]);
            violations += v->nviolations;
        }
    if (r->stopped)
        fprintf(out, "STOPPED before the end (--max-chunks): continue with --resume\n");
    if (ts_vreport_nothing_compared(r))
        fprintf(out, "result: nothing compared (%d increment(s) skipped): NOT CLEAN\n", skipped);
    else
        fprintf(out, "result: %s (%lld table(s) differing, %lld violation(s), %d increment(s) "
                "skipped)\n", ts_vreport_clean(r) ? "clean" : "NOT CLEAN", (long long)bad_tables,
                (long long)violations, skipped);
    if (ferror(out))
        return ts_fail(err, TS_E_IO, "writing the report failed");
    return 0;
}

/* ---- JSON ------------------------------------------------------------------ */

static void put_json_string(FILE *out, const char *s)
{
    cJSON *j = cJSON_CreateString(s);
    print_json_value(out, j);
    cJSON_Delete(j);
}

typedef struct list_ctx {
    FILE *out;
    int n;
} list_ctx;

static int put_diff(void *ctx, const char *json, ts_error *err)
{
    list_ctx *l = ctx;
    (void)err;
    fprintf(l->out, "%s%s", l->n++ ? "," : "", json);
    return 0;
}

int ts_vreport_json(const ts_vreport *r, FILE *out, ts_error *err)
{
    fprintf(out, "{\"command\":");
    put_json_string(out, r->command);
    fprintf(out, ",\"legacy\":");
    put_json_string(out, r->legacy_url);
    fprintf(out, ",\"new\":");
    put_json_string(out, r->new_url);
    fprintf(out, ",\"command_line\":");
    put_json_string(out, r->cmdline);
    fprintf(out, ",\"started\":");
    put_json_string(out, r->started);
    fprintf(out, ",\"seconds\":%.3f,\"version\":", r->seconds);
    put_json_string(out, TS_VERSION);
    fprintf(out, ",\"clean\":%s,\"nothing_compared\":%s,\"stopped\":%s,\"increments\":[",
            ts_vreport_clean(r) ? "true" : "false",
            ts_vreport_nothing_compared(r) ? "true" : "false", r->stopped ? "true" : "false");
    for (int i = 0; i < r->nincs; i++) {
        const ts_vinc *v = &r->incs[i];
        fprintf(out, "%s{\"id\":", i ? "," : "");
        put_json_string(out, v->id);
        fprintf(out, ",\"name\":");
        put_json_string(out, v->name);
        fprintf(out, ",\"stage\":\"%s\",\"tables\":%d,\"named\":%s,\"skipped\":",
                ts_stage_name(v->stage), v->ntables, v->named ? "true" : "false");
        if (v->skipped[0])
            put_json_string(out, v->skipped);
        else
            fputs("null", out);
        fputs("}", out);
    }
    fprintf(out, "],\"ignored\":[");
    for (int i = 0; i < r->nignored; i++) {
        fprintf(out, "%s{\"table\":", i ? "," : "");
        put_json_string(out, r->ignored[i].table);
        fputs(",\"reason\":", out);
        put_json_string(out, r->ignored[i].reason);
        fputs("}", out);
    }
    fprintf(out, "],\"tables\":[");
    for (int i = 0; i < r->ntables; i++) {
        const ts_vtable *t = &r->tables[i];
        fprintf(out, "%s{\"increment\":", i ? "," : "");
        put_json_string(out, t->increment);
        fprintf(out, ",\"legacy_table\":");
        put_json_string(out, t->legacy);
        fprintf(out, ",\"table\":");
        put_json_string(out, t->target);
        fprintf(out, ",\"done\":%s,\"count_legacy\":%lld,\"count_new\":%lld,\"legacy_rows\":%lld,"
                "\"new_rows\":%lld,\"matching\":%lld", t->done ? "true" : "false",
                (long long)t->count_legacy, (long long)t->count_new, (long long)t->c.legacy,
                (long long)t->c.fresh, (long long)t->c.matching);
        for (int k = 0; k < TS_DK_COUNT; k++)
            fprintf(out, ",\"%s\":%lld", kind_names[k], (long long)t->c.kinds[k]);
        fprintf(out, ",\"chunks\":%lld,\"chunks_differing\":%lld,\"seconds\":%.3f,"
                "\"differences\":[", (long long)t->c.chunks, (long long)t->c.chunks_differing,
                t->seconds);
        list_ctx l = {out, 0};
        if (r->all.each != NULL) {
            if (r->all.each(r->all.src, t->increment, t->target, put_diff, &l, err))
                return -1;
        } else {
            for (int k = 0; k < t->nfirst; k++)
                put_diff(&l, t->first[k], err);
        }
        fprintf(out, "]}");
    }
    fprintf(out, "],\"invariants\":[");
    for (int i = 0; i < r->ninvs; i++) {
        const ts_vinv *v = &r->invs[i];
        fprintf(out, "%s{\"name\":", i ? "," : "");
        put_json_string(out, v->name);
        fprintf(out, ",\"subject\":");
        put_json_string(out, v->subject);
        fprintf(out, ",\"increment\":");
        put_json_string(out, v->increment);
        fprintf(out, ",\"ok\":%s,\"violations\":[", v->ok ? "true" : "false");
        for (int k = 0; k < v->nviolations; k++) {
            fputs(k ? "," : "", out);
            put_json_string(out, v->violations[k]);
        }
        fprintf(out, "]}");
    }
    fprintf(out, "]}\n");
    if (ferror(out))
        return ts_fail(err, TS_E_IO, "writing the JSON report failed");
    return 0;
}
