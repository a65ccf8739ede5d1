/* ts_vlog.c: the diff's append-only log (format in ts_vlog.h). */
#include "ts_vlog.h"

#include <cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int io_fail(ts_vlog *lg, ts_error *err, const char *what)
{
    return ts_fail(err, TS_E_IO, "checkpoint %s: %s: %s", lg->path[0] ? lg->path : "(temporary)",
                   what, strerror(errno));
}

static void json_str(ts_buf *b, const char *s)
{
    ts_buf_puts(b, "\"");
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            ts_buf_add(b, "\\", 1);
        if ((unsigned char)*s >= 0x20)
            ts_buf_add(b, s, 1);
    }
    ts_buf_puts(b, "\"");
}

static int put_line(ts_vlog *lg, ts_buf *b, ts_error *err)
{
    int rc = 0;
    ts_buf_puts(b, "\n");
    if (b->oom)
        rc = ts_fail(err, TS_E_NOMEM, "out of memory writing the checkpoint");
    else if (fwrite(b->s, 1, b->len, lg->f) != b->len || fflush(lg->f) != 0)
        rc = io_fail(lg, err, "cannot write");
    ts_buf_free(b);
    return rc;
}

static void header(ts_buf *b, const char *legacy_url, const char *new_url, int chunk)
{
    ts_buf_puts(b, "{\"run\":\"diff\",\"legacy\":");
    json_str(b, legacy_url);
    ts_buf_puts(b, ",\"new\":");
    json_str(b, new_url);
    ts_buf_printf(b, ",\"chunk\":%d}", chunk);
}

/* Keep the complete lines of a resumed log; a last line cut short by a crash goes. */
static int drop_partial_line(ts_vlog *lg, ts_error *err)
{
    long keep = 0, pos = 0;
    int c;
    rewind(lg->f);
    while ((c = fgetc(lg->f)) != EOF) {
        pos++;
        if (c == '\n')
            keep = pos;
    }
    if (keep != pos && (fflush(lg->f) != 0 || ftruncate(fileno(lg->f), keep) != 0))
        return io_fail(lg, err, "cannot drop an incomplete last line");
    return fseek(lg->f, 0, SEEK_END) == 0 ? 0 : io_fail(lg, err, "cannot seek");
}

int ts_vlog_open(ts_vlog *lg, const char *path, int resume, const char *legacy_url,
                 const char *new_url, int chunk, ts_error *err)
{
    ts_buf h = {0};
    memset(lg, 0, sizeof *lg);
    if (path == NULL) {
        if (resume)
            return ts_fail(err, TS_E_USAGE, "--resume needs --checkpoint FILE: the file a "
                           "stopped diff wrote");
        lg->f = tmpfile();
        if (lg->f == NULL)
            return io_fail(lg, err, "cannot create a temporary file (set TMPDIR)");
        header(&h, legacy_url, new_url, chunk);
        return put_line(lg, &h, err);
    }
    snprintf(lg->path, sizeof lg->path, "%s", path);
    if (!resume) {
        lg->f = fopen(path, "wx+");
        if (lg->f == NULL && errno == EEXIST)
            return ts_fail(err, TS_E_USAGE, "checkpoint %s exists: continue that diff with "
                           "--resume, or remove the file to start over", path);
        if (lg->f == NULL)
            return io_fail(lg, err, "cannot create");
        header(&h, legacy_url, new_url, chunk);
        return put_line(lg, &h, err);
    }
    lg->f = fopen(path, "r+");
    if (lg->f == NULL)
        return io_fail(lg, err, "cannot open for --resume");
    char *line = NULL;
    size_t cap = 0;
    int ok = getline(&line, &cap, lg->f) > 0;
    header(&h, legacy_url, new_url, chunk);
    ok = ok && !h.oom && strncmp(line, h.s, h.len) == 0 && line[h.len] == '\n';
    free(line);
    ts_buf_free(&h);
    if (!ok) {
        ts_vlog_close(lg);
        return ts_fail(err, TS_E_USAGE, "checkpoint %s is not from a diff of these stores with "
                       "--chunk %d: resume with the same --legacy, --new and --chunk, or start "
                       "over without --resume", path, chunk);
    }
    if (drop_partial_line(lg, err)) {
        ts_vlog_close(lg);
        return -1;
    }
    return 0;
}

void ts_vlog_close(ts_vlog *lg)
{
    if (lg->f != NULL)
        fclose(lg->f);
    lg->f = NULL;
}

static void table_id(ts_buf *b, const ts_vtable *t)
{
    ts_buf_puts(b, "{\"inc\":");
    json_str(b, t->increment);
    ts_buf_puts(b, ",\"table\":");
    json_str(b, t->target);
}

int ts_vlog_table(ts_vlog *lg, const ts_vtable *t, ts_error *err)
{
    ts_buf b = {0};
    table_id(&b, t);
    ts_buf_puts(&b, ",\"legacy_table\":");
    json_str(&b, t->legacy);
    ts_buf_printf(&b, ",\"count_legacy\":%lld,\"count_new\":%lld}", (long long)t->count_legacy,
                  (long long)t->count_new);
    return put_line(lg, &b, err);
}

static const char *const counter_names[] = {"missing", "extra", "changed", "pending"};

int ts_vlog_chunk(ts_vlog *lg, const ts_vtable *t, const char *after, const ts_vcount *c,
                  const char *diffs, ts_error *err)
{
    ts_buf b = {0};
    table_id(&b, t);
    ts_buf_printf(&b, ",\"after\":%s,\"legacy\":%lld,\"new\":%lld,\"matching\":%lld", after,
                  (long long)c->legacy, (long long)c->fresh, (long long)c->matching);
    for (int k = 0; k < TS_DK_COUNT; k++)
        ts_buf_printf(&b, ",\"%s\":%lld", counter_names[k], (long long)c->kinds[k]);
    ts_buf_printf(&b, ",\"differing\":%lld,\"diffs\":%s}", (long long)c->chunks_differing, diffs);
    return put_line(lg, &b, err);
}

int ts_vlog_done(ts_vlog *lg, const ts_vtable *t, ts_error *err)
{
    ts_buf b = {0};
    table_id(&b, t);
    ts_buf_puts(&b, ",\"done\":true}");
    return put_line(lg, &b, err);
}

/* ---- reading back --------------------------------------------------------- */

typedef int (*line_fn)(void *ctx, cJSON *j, ts_error *err);

/* Parse every line after the header and hand it to fn; the position is kept. */
static int each_line(ts_vlog *lg, line_fn fn, void *ctx, ts_error *err)
{
    char *line = NULL;
    size_t cap = 0;
    int rc = 0, first = 1;
    long end = ftell(lg->f);
    if (end < 0 || fflush(lg->f) != 0)
        return io_fail(lg, err, "cannot read back");
    rewind(lg->f);
    while (rc == 0 && ftell(lg->f) < end && getline(&line, &cap, lg->f) > 0) {
        if (first) {
            first = 0;
            continue;
        }
        cJSON *j = cJSON_Parse(line);
        if (j == NULL) {
            rc = ts_fail(err, TS_E_INVALID, "checkpoint %s holds a line that is not JSON: it "
                         "was not written by ts-verify; start over without --resume",
                         lg->path[0] ? lg->path : "(temporary)");
            break;
        }
        rc = fn(ctx, j, err);
        cJSON_Delete(j);
    }
    free(line);
    if (fseek(lg->f, end, SEEK_SET) != 0 && rc == 0)
        rc = io_fail(lg, err, "cannot seek");
    return rc;
}

static const char *str_of(const cJSON *j, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static int64_t int_of(const cJSON *j, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

static int replay_line(void *ctx, cJSON *j, ts_error *err)
{
    ts_vreport *r = ctx;
    const cJSON *diffs = cJSON_GetObjectItemCaseSensitive(j, "diffs");
    const cJSON *after = cJSON_GetObjectItemCaseSensitive(j, "after");
    ts_vtable *t = ts_vreport_table(r, str_of(j, "inc"), str_of(j, "legacy_table"),
                                    str_of(j, "table"));
    if (t == NULL)
        return ts_fail(err, TS_E_NOMEM, "out of memory reading the checkpoint");
    if (cJSON_GetObjectItemCaseSensitive(j, "count_legacy") != NULL) {
        t->count_legacy = int_of(j, "count_legacy");
        t->count_new = int_of(j, "count_new");
        return 0;
    }
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "done"))) {
        t->done = 1;
        return 0;
    }
    t->c.legacy += int_of(j, "legacy");
    t->c.fresh += int_of(j, "new");
    t->c.matching += int_of(j, "matching");
    t->c.chunks++;
    t->c.chunks_differing += int_of(j, "differing");
    /* Kinds are counted again as the kept differences are replayed. */
    const cJSON *d;
    cJSON_ArrayForEach(d, diffs)
    {
        const char *kind = str_of(d, "kind");
        char *text = cJSON_PrintUnformatted(d);
        int k = 0;
        while (k < TS_DK_COUNT && strcmp(ts_vkind_name(k), kind) != 0)
            k++;
        int rc = text == NULL ? ts_fail(err, TS_E_NOMEM, "out of memory reading the checkpoint")
                 : k == TS_DK_COUNT ? ts_fail(err, TS_E_INVALID, "checkpoint: unknown kind '%s'",
                                              kind)
                                    : ts_vreport_diff(r, t, k, text, err);
        free(text);
        if (rc)
            return -1;
    }
    free(t->after);
    t->after = cJSON_PrintUnformatted(after);
    return t->after == NULL ? ts_fail(err, TS_E_NOMEM, "out of memory reading the checkpoint") : 0;
}

int ts_vlog_replay(ts_vlog *lg, ts_vreport *r, ts_error *err)
{
    return each_line(lg, replay_line, r, err);
}

typedef struct each_ctx {
    const char *increment, *target;
    int (*fn)(void *ctx, const char *json, ts_error *err);
    void *ctx;
} each_ctx;

static int diff_line(void *ctx, cJSON *j, ts_error *err)
{
    each_ctx *e = ctx;
    const cJSON *d, *diffs = cJSON_GetObjectItemCaseSensitive(j, "diffs");
    if (diffs == NULL || strcmp(str_of(j, "inc"), e->increment) != 0 ||
        strcmp(str_of(j, "table"), e->target) != 0)
        return 0;
    cJSON_ArrayForEach(d, diffs)
    {
        char *text = cJSON_PrintUnformatted(d);
        int rc = text ? e->fn(e->ctx, text, err)
                      : ts_fail(err, TS_E_NOMEM, "out of memory reading the checkpoint");
        free(text);
        if (rc)
            return -1;
    }
    return 0;
}

int ts_vlog_each_diff(ts_vlog *lg, const char *increment, const char *target, ts_vdiff_fn fn,
                      void *ctx, ts_error *err)
{
    each_ctx e = {increment, target, fn, ctx};
    return each_line(lg, diff_line, &e, err);
}

static int source_each(void *src, const char *increment, const char *target, ts_vdiff_fn fn,
                       void *ctx, ts_error *err)
{
    return ts_vlog_each_diff(src, increment, target, fn, ctx, err);
}

ts_vsource ts_vlog_source(ts_vlog *lg) { return (ts_vsource){source_each, lg}; }
