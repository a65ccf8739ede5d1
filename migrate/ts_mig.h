/*
 * ts_mig.h: what every ts-migrate command shares: its options, the two stores
 * and the manifest, the actor, and the --dry-run discipline.
 *
 * Dry run: every write a command would make goes through ts_mig_exec (or is
 * announced with ts_mig_step), which prints the step and the exact SQL with
 * its parameters instead of running it; reads still run, so gates and plans
 * are real.
 */
#ifndef TS_MIG_H
#define TS_MIG_H

#include <stdint.h>
#include <stdio.h>

#include "ts_buf.h"
#include "ts_control.h"
#include "ts_manifest.h"
#include "ts_store.h"

/* Exit codes of ts-migrate (also in --help and docs/runbook.md). */
enum {
    TS_EXIT_OK = 0,
    TS_EXIT_FAILED = 1,     /* an error: store, file, bug; the message says what */
    TS_EXIT_USAGE = 2,      /* bad command line or configuration */
    TS_EXIT_REFUSED = 3,    /* illegal transition, dependency, gate, orphans, no --confirm */
    TS_EXIT_NOACK = 4,      /* the stage changed but a live process did not apply it */
    TS_EXIT_UNCLEAN = 5,    /* the increment's diff is not clean */
    TS_EXIT_STALE = 6,      /* another operator changed the increment first */
    TS_EXIT_UNAVAILABLE = 7, /* a store is unreachable or busy: retry */
    TS_EXIT_STOPPED = 8,    /* interrupted (signal); a backfill resumes from its checkpoint */
    TS_EXIT_LOCKED = 75     /* another operator holds the migration lock */
};

typedef struct ts_mig_opts {
    const char *legacy_url, *new_url, *manifest_path, *config_path;
    const char *actor, *reason, *master_token, *master_name;
    int json, dry_run, force, confirm, drop;
    int makes_new;                /* init (and manifest check): the new store may not exist yet */
    const char *to_stage;         /* advance / rollback --to */
    const char *export_orphans;   /* rollback --export-orphans FILE */
    int batch;                    /* backfill rows per chunk */
    double max_rate;              /* backfill rows/s, 0 = unlimited */
    const char *throttle_file;    /* backfill pauses while it exists */
    int ack_timeout_ms;           /* two-phase wait per stage change */
    int liveness_ms;              /* a heartbeat older than this is a stale process */
    int64_t min_compared;         /* shadow -> read_new */
    int64_t soak_s;               /* new_only -> contracted */
    int lock_ttl_s;               /* SQLite lease expiry */
    int audit_n;                  /* status --audit N */
    int recheck_ms;               /* ts_mig_recheck asks at most this often (0: every call) */
} ts_mig_opts;

typedef struct ts_mig {
    ts_mig_opts o;
    ts_manifest *m;
    ts_store *legacy, *nw;
    int shared;                   /* one connection: a transaction spans both stores */
    int64_t master;               /* the master bot id (manifest constant) */
    char actor[256], host[256];
    FILE *out;                    /* results and dry-run steps */
    ts_buf notes;                 /* extra words for the audit row (forced past ...) */
    int exit_hint;                /* an exit code more precise than the error's code */
    /* What the audit row says the command acted on ("" when nothing). */
    char audit_inc[TS_INCREMENT_ID_MAX + 1], audit_from[16], audit_to[16];
    char legacy_tables[80];       /* ts_catalog_fingerprint of legacy when it last conformed */
    int64_t legacy_asked_ms;      /* when ts_mig_recheck last asked (monotonic) */
} ts_mig;

/* Who runs a command: actor is given, else user@host (USER or the passwd
   entry); host is this machine's name. ts-admin audits the same way. */
void ts_mig_whoami(const char *given, char actor[256], char host[256]);

/* Load the manifest and open both stores (new beside legacy). */
int ts_mig_open(ts_mig *g, const ts_mig_opts *o, ts_error *err);
void ts_mig_close(ts_mig *g);

/* Run a write, or print it under --dry-run. */
int ts_mig_exec(ts_mig *g, ts_store *s, const char *sql, const ts_value *p, int n,
                int64_t *changes, ts_error *err);
/* Announce a step: printed under --dry-run, logged otherwise. */
void ts_mig_step(ts_mig *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append to the audit notes. */
void ts_mig_note(ts_mig *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * The legacy store holds what the manifest moves (ts_conform.h): refused with
 * TS_E_SCHEMA and every difference named otherwise. ts_mig_recheck runs the
 * check again only when legacy's tables changed since (a fingerprint: a few
 * milliseconds on PostgreSQL, so asked at most every o.recheck_ms), so a long
 * command can ask between chunks: a column added meanwhile stops it.
 */
int ts_mig_conform(ts_mig *g, ts_error *err);
int ts_mig_recheck(ts_mig *g, ts_error *err);

/* Every increment's state, ts_manifest order (free with free()). */
int ts_mig_states(ts_mig *g, ts_inc_state **out, ts_error *err);
/* The state of one increment in states; NULL (with err) when the id is unknown. */
ts_inc_state *ts_mig_find(ts_mig *g, ts_inc_state *states, const char *id, ts_error *err);

/*
 * The new tables an increment makes at expand and drops when rolled back to
 * legacy: what it "creates" plus the bot_id twins of the legacy tables it maps
 * (tables created by a dependency it fills are not its own). With all set,
 * every new table it touches: made or filled. Returns the count (<= max).
 */
int ts_mig_tables(const ts_manifest *m, const ts_increment *inc, int all, const char **names,
                  int max);

/* max(id) of a table (0 when empty); master_only restricts it to the master bot's rows. */
int ts_mig_max_id(ts_mig *g, ts_store *s, const char *table, int master_only, int64_t *out,
                  ts_error *err);

/* Seconds since the epoch, now. */
int64_t ts_mig_now(void);

#endif
