/*
 * ts_vlog.h: the diff's log: its checkpoints and the complete list of differences.
 *
 * One JSON object per line, appended and flushed as each chunk is done:
 *   {"run":"diff","legacy":URL,"new":URL,"chunk":N}          first line
 *   {"inc":"2.1","table":"users","count_legacy":N,"count_new":N}   a table starts
 *   {"inc":"2.1","table":"users","after":[{"i":"2000"}],
 *    "legacy":N,"new":N,"matching":N,"missing":N,"extra":N,"changed":N,
 *    "pending":N,"differing":0|1,"diffs":[...]}             a chunk is done
 *   {"inc":"2.1","table":"users","done":true}              a table is done
 * "after" is the last key the chunk covered (ts_rowjson, exact), "diffs" the
 * chunk's differences in the report's form (ts_vreport.h).
 *
 * So the log is the checkpoint: --resume reads it back (counters, the kept
 * differences, the last key per table) and continues after the last complete
 * chunk; a line cut short by a crash is dropped. It is also where renderers
 * find every difference without holding them in memory. Without --checkpoint
 * the log is an anonymous temporary file.
 */
#ifndef TS_VLOG_H
#define TS_VLOG_H

#include <stdint.h>
#include <stdio.h>

#include "ts_buf.h"
#include "ts_vreport.h"

typedef struct ts_vlog {
    FILE *f;
    char path[1024];       /* "" for the temporary file */
} ts_vlog;

/*
 * Open the log. path NULL: a temporary file. resume: path must exist and its
 * first line name the same stores and chunk size; otherwise the file is
 * created (and refused when it exists, so no checkpoint is overwritten).
 */
int ts_vlog_open(ts_vlog *lg, const char *path, int resume, const char *legacy_url,
                 const char *new_url, int chunk, ts_error *err);
void ts_vlog_close(ts_vlog *lg);

int ts_vlog_table(ts_vlog *lg, const ts_vtable *t, ts_error *err);
/* after: ts_rowjson array of the last key covered; diffs: a JSON array. */
int ts_vlog_chunk(ts_vlog *lg, const ts_vtable *t, const char *after, const ts_vcount *c,
                  const char *diffs, ts_error *err);
int ts_vlog_done(ts_vlog *lg, const ts_vtable *t, ts_error *err);

/* Replay a resumed log into r: tables, counters, kept differences, and for
   each table not done the last key done (ts_vtable.after). */
int ts_vlog_replay(ts_vlog *lg, ts_vreport *r, ts_error *err);

/* Call fn with each difference (JSON text) of one table, in order. */
int ts_vlog_each_diff(ts_vlog *lg, const char *increment, const char *target, ts_vdiff_fn fn,
                      void *ctx, ts_error *err);
/* The log as the report's source of every difference (ts_vreport.all). */
ts_vsource ts_vlog_source(ts_vlog *lg);

#endif
