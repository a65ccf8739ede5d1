/*
 * ts_mproc.h: the processes in ts_processes, as ts-migrate sees them.
 *
 * A process is live when its heartbeat is newer than the liveness window
 * (--liveness, default 10 s); stale ones are listed, never waited on. The
 * two-phase stage change waits until every live process reports the new
 * version of the increment in its versions JSON.
 */
#ifndef TS_MPROC_H
#define TS_MPROC_H

#include <cjson/cJSON.h>

#include "ts_mig.h"
#include "ts_mlock.h"

typedef struct ts_mproc {
    char id[160], host[256], program[64], heartbeat[TS_TIME_MAX];
    int64_t pid;
    int live;
    int kill_switch;         /* its kill switch is on: stages up to read_new route legacy-first */
    const cJSON *versions;   /* increment id -> applied version */
    const cJSON *counters;   /* table -> {legacy_reads, legacy_writes, shadow_compared, ...} */
} ts_mproc;

/* Call fn for every row of ts_processes; fn returns non-zero to fail the walk. */
int ts_mproc_each(ts_mig *g, int (*fn)(void *ctx, const ts_mproc *p, ts_error *err), void *ctx,
                  ts_error *err);

/* The version of inc a process reports, -1 when none. */
int64_t ts_mproc_applied(const ts_mproc *p, const char *inc_id);
/* A counter summed over the given new tables of one process. */
int64_t ts_mproc_counter(const ts_mproc *p, const char *const *tables, int n, const char *field);

/*
 * Live processes that have not applied inc at version: *count of them and a
 * description "host pid N (program) reports V" of each in names (may be NULL).
 */
int ts_mproc_lagging(ts_mig *g, const char *inc_id, int64_t version, int *count, ts_buf *names,
                     ts_error *err);

/*
 * The second phase of a stage change: wait up to --ack-timeout for every live
 * process to report version. Stale processes are listed. On timeout the
 * lagging ones are named in a TS_E_STATE error (g->exit_hint = TS_EXIT_NOACK),
 * unless --force, which records them in the audit notes and goes on.
 */
int ts_mproc_wait(ts_mig *g, ts_mlock *lock, const char *inc_id, int64_t version, ts_error *err);

#endif
