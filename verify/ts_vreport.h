/*
 * ts_vreport.h: what a ts-verify run found, and its renderings.
 *
 * A report holds, per compared table, the counters and the first differences
 * (as JSON objects, the same text the checkpoint log and --json carry), and
 * per invariant of `check` / `canary` whether it held and each violation.
 * The complete list of differences is never held in memory: it lives in the
 * run's log (ts_vlog.h), and the renderers that print all of it read it back
 * through ts_vreport.all.
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
#include "ts_stage.h"
#include "ts_value.h"

/* Called with each difference of a table (JSON text), in order. */
typedef int (*ts_vdiff_fn)(void *ctx, const char *json, ts_error *err);

/*
 * Where every difference of a run is kept: each(src, ...) calls fn with each
 * difference of one table, in order. The run's log is one (ts_vlog_source).
 */
typedef struct ts_vsource {
    int (*each)(void *src, const char *increment, const char *target, ts_vdiff_fn fn,
                void *ctx, ts_error *err);
    void *src;
} ts_vsource;

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
    double seconds;                /* time spent comparing it (this run) */
    char *after;                   /* resumed: the last key done (ts_rowjson), or NULL */
    char **first;                  /* the first differences, JSON text */
    int nfirst;
} ts_vtable;

typedef struct ts_vinv {
    char name[48];          /* "no_null_bot_id", "pk_includes_bot_id", ... */
    char subject[96];       /* the table, sequence or "store" it was checked on */
    char increment[24];     /* the increment owning the subject table, "" for none */
    int ok;
    char **violations;
    int nviolations;
} ts_vinv;

/*
 * A data increment as the run saw it: its stage (from the new store's control
 * plane) and, when the command could not compare it at that stage, why
 * (ts_vstage.h). named: given on the command line, so not comparing it is a
 * failure, not a note.
 */
typedef struct ts_vinc {
    char id[24], name[64];
    ts_stage stage;
    int ntables;                /* tables it maps */
    char skipped[160];          /* "" when compared */
    int named;
} ts_vinc;

typedef struct ts_vreport {
    const char *command;        /* "diff", "check", "canary" */
    char legacy_url[512], new_url[512];   /* passwords masked */
    char cmdline[2048];         /* the command line, secrets masked ("" unknown) */
    char started[TS_TIME_MAX];  /* when the run started (UTC), "" unknown */
    double seconds;             /* how long it ran */
    ts_vinc *incs;              /* empty when stages were not read (library use) */
    int nincs;
    ts_vtable *tables;
    int ntables;
    ts_vinv *invs;
    int ninvs;
    /* Legacy tables the manifest declares "ignored": present, never compared. */
    struct ts_vignored {
        char table[64], reason[256];
    } *ignored;
    int nignored;
    int keep;                   /* differences kept in memory per table */
    int stopped;                /* diff stopped early (--max-chunks): resume it */
    ts_vsource all;             /* where every difference is; each NULL: only those kept */
} ts_vreport;

void ts_vreport_init(ts_vreport *r, const char *command, int keep);
/* Record a legacy table the run does not compare, and why; -1 on out of memory. */
int ts_vreport_ignored(ts_vreport *r, const char *table, const char *reason);
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

/* Record an increment's stage; skipped NULL when the command compares it. */
ts_vinc *ts_vreport_add_inc(ts_vreport *r, const char *id, const char *name, ts_stage stage,
                            int ntables, const char *skipped);
/* The increment's entry, NULL when its stage was not read. */
const ts_vinc *ts_vreport_find_inc(const ts_vreport *r, const char *id);
/* Why increment id is not compared in this run, NULL when it is (or unknown). */
const char *ts_vreport_skipped(const ts_vreport *r, const char *id);

/*
 * 1 when the run is clean: nothing differs, every invariant holds (pending
 * rows are not differences), and nothing that had to be compared was left
 * out: a diff stopped early, an increment named on the command line that was
 * skipped, a diff that compared no table at all.
 */
int ts_vreport_clean(const ts_vreport *r);
/* A diff that compared no table (every increment skipped). */
int ts_vreport_nothing_compared(const ts_vreport *r);

const char *ts_vkind_name(int kind);

/* Renderings. limit caps the differences printed (text; < 0: all). */
int ts_vreport_text(const ts_vreport *r, FILE *out, int64_t limit, ts_error *err);
/* The complete report as one JSON document, every difference included. */
int ts_vreport_json(const ts_vreport *r, FILE *out, ts_error *err);
/* JUnit XML: a testcase per table, per invariant and per skipped increment. */
int ts_vreport_junit(const ts_vreport *r, FILE *out, ts_error *err);
/* One standalone HTML page: inline CSS, no scripts. */
int ts_vreport_html(const ts_vreport *r, FILE *out, ts_error *err);

#endif
