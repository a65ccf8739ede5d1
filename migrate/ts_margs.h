/*
 * ts_margs.h: the ts-migrate command line: options, config file, environment.
 *
 * Precedence: command-line option, then the --config FILE (JSON object with
 * "legacy", "new", "manifest", "actor", "master_token"), then the environment
 * (TS_LEGACY_URL, TS_NEW_URL, TS_MASTER_TOKEN), then defaults.
 */
#ifndef TS_MARGS_H
#define TS_MARGS_H

#include "ts_buf.h"
#include "ts_mig.h"

typedef struct ts_margs {
    ts_mig_opts o;
    const char *command, *id;
    int help, version;
    void *config;          /* the parsed config file (cJSON), owns its strings */
    ts_buf reason;         /* --reason as kept: secrets masked (ts_margs_mask) */
} ts_margs;

extern const char ts_migrate_usage[];

int ts_margs_parse(int argc, char **argv, ts_margs *a, ts_error *err);
void ts_margs_free(ts_margs *a);

/* The command line as the audit keeps it: secrets masked (tokens, URL passwords). */
void ts_margs_redacted(int argc, char **argv, ts_buf *out);

/*
 * Free text (an operator's --reason, an argument) with the secrets in it
 * masked wherever they are: Telegram bot tokens (digits:[A-Za-z0-9_-]{30,},
 * through ts_redact, which keeps the public bot id), URL passwords
 * (scheme://user:PASS@) and password=... parameters.
 */
void ts_margs_mask(const char *s, ts_buf *out);

/* The exit code for a failed command. */
int ts_margs_exit_code(const ts_error *err, int hint);

#endif
