/*
 * ts_vreport.h: what a ts-verify run found, and its renderings.
 *
 * A report holds, per compared table, the counters and the first differences
 * (as JSON objects, the same text the checkpoint log and --json carry), and
 * per invariant of `check` / `canary` whether it held and each violation.
 * The complete list of differences is never held in memory: it lives in the
 * run's log (ts_vlog.h), and the renderers that print all of it read it back.
 *
 * One difference, as JSON:
 *   {"kind":"changed","key":{"id":7},
 *    "columns":[{"column":"username","legacy":"anna","new":"anna "}]}
 *   kind: missing (in legacy, not in new), extra (in new, not in legacy),
 *         changed (both, columns differ), pending (in legacy above a running
 *         backfill's watermark, not yet in new: not a difference)
 */
#ifndef TS_VREPORT_H
#define TS_VREPORT_H

#include <stdint.h>
#include <stdio.h>

#include "ts_error.h"

struct ts_vlog;

enum { TS_DK_MISSING, TS_DK_EXTRA, TS_DK_CHANGED, TS_DK_PENDING, TS_DK_COUNT };

typedef struct ts_vcount {
    int64_t legacy, fresh;      /* rows compared on each side ("new" is a C++ word) */
    int64_t matching;
    int64_t kinds[TS_DK_COUNT];
    int64_t chunks, chunks_differing;
} ts_vcount;

typedef struct ts_vtable {
    char increment[24];
    char legacy[64], target[64];   /* legacy table -> new table */
    int64_t count_legacy, count_new;   /* the counts taken first */
    ts_vcount c;
    int done;                      /* compared to the end */
    char *after;                   /* resumed: the last key done (ts_rowjson), or NULL */
    char **first;                  /* the first differences, JSON text */
    int nfirst;
} ts_vtable;

typedef struct ts_vinv {
    char name[48];          /* "no_null_bot_id", "pk_includes_bot_id", ... */
    char subject[96];       /* the table, sequence or "store" it was checked on */
    int ok;
    char **violations;
    int nviolations;
} ts_vinv;

typedef struct ts_vreport {
    const char *command;        /* "diff", "check", "canary" */
    char legacy_url[512], new_url[512];   /* passwords masked */
    ts_vtable *tables;
    int ntables;
    ts_vinv *invs;
    int ninvs;
    int keep;                   /* differences kept in memory per table */
    int stopped;                /* diff stopped early (--max-chunks): resume it */
    struct ts_vlog *log;        /* where every difference is, or NULL */
} ts_vreport;

void ts_vreport_init(ts_vreport *r, const char *command, int keep);
void ts_vreport_free(ts_vreport *r);

/* The table entry for (increment, new table), made when missing; NULL on OOM. */
ts_vtable *ts_vreport_table(ts_vreport *r, const char *increment, const char *legacy,
                            const char *target);
/* Count a difference of kind and keep its JSON when fewer than keep are kept. */
int ts_vreport_diff(ts_vreport *r, ts_vtable *t, int kind, const char *json, ts_error *err);

/* An invariant result; add violations with ts_vinv_violation. */
ts_vinv *ts_vreport_inv(ts_vreport *r, const char *name, const char *subject);
int ts_vinv_violation(ts_vinv *inv, ts_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* 1 when nothing differs and every invariant holds (pending rows are not differences). */
int ts_vreport_clean(const ts_vreport *r);

const char *ts_vkind_name(int kind);

/* Renderings. limit caps the differences printed (text; < 0: all). */
int ts_vreport_text(const ts_vreport *r, FILE *out, int64_t limit, ts_error *err);
/* The complete report as one JSON document, every difference included. */
int ts_vreport_json(const ts_vreport *r, FILE *out, ts_error *err);
/* JUnit XML: a testcase per table and per invariant. */
int ts_vreport_junit(const ts_vreport *r, FILE *out, ts_error *err);
/* One standalone HTML page: inline CSS, no scripts. */
int ts_vreport_html(const ts_vreport *r, FILE *out, ts_error *err);

#endif
