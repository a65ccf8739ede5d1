/*
 * ts_margs.h: the ts-migrate command line: options, config file, environment.
 *
 * Precedence: command-line option, then the --config FILE (JSON object with
 * "legacy", "new", "manifest", "actor", "master_token"), then the environment
 * (TS_LEGACY_URL, TS_NEW_URL, TS_MASTER_TOKEN), then defaults.
 */
#ifndef TS_MARGS_H
#define TS_MARGS_H

#include <getopt.h>

#include "ts_buf.h"
#include "ts_mig.h"

typedef struct ts_margs {
    ts_mig_opts o;
    const char *command, *id;
    int help, version;
    const char *help_topic;        /* ts-migrate help COMMAND */
    void *config;          /* the parsed config file (cJSON), owns its strings */
    ts_buf reason;         /* --reason as kept: secrets masked (ts_margs_mask) */
    /* What the command line gave, before the config file and the environment. */
    struct { const char *legacy, *fresh, *manifest, *actor, *master_token; } given;
} ts_margs;

extern const char ts_migrate_usage[];
/* The help of one command ("advance"), NULL when there is no such command. */
const char *ts_margs_command_help(const char *command);
extern const struct option ts_migrate_longopts[];

int ts_margs_parse(int argc, char **argv, ts_margs *a, ts_error *err);
void ts_margs_free(ts_margs *a);

/*
 * The options every operator CLI takes alike (ts-migrate, ts-admin): stores,
 * config file, manifest, actor, reason, --json, --help, --version. A program's
 * getopt table starts with TS_MARGS_COMMON_OPTIONS, numbers its own options
 * from TS_OPT_COMMON_END, hands each option to ts_margs_common first, and ends
 * with ts_margs_stores, so the same config file and environment serve both.
 */
enum {
    TS_OPT_LEGACY = 256, TS_OPT_NEW, TS_OPT_CONFIG, TS_OPT_MANIFEST, TS_OPT_ACTOR,
    TS_OPT_REASON, TS_OPT_JSON, TS_OPT_HELP, TS_OPT_VERSION, TS_OPT_COMMON_END
};
#define TS_MARGS_COMMON_OPTIONS                                                              \
    {"legacy", 1, 0, TS_OPT_LEGACY}, {"new", 1, 0, TS_OPT_NEW}, {"config", 1, 0, TS_OPT_CONFIG}, \
    {"manifest", 1, 0, TS_OPT_MANIFEST}, {"actor", 1, 0, TS_OPT_ACTOR},                       \
    {"reason", 1, 0, TS_OPT_REASON}, {"json", 0, 0, TS_OPT_JSON}, {"help", 0, 0, TS_OPT_HELP}, \
    {"version", 0, 0, TS_OPT_VERSION}
/* 1 when c was a common option (taken into a), 0 when not one, -1 error. */
int ts_margs_common(ts_margs *a, int c, const char *arg, ts_error *err);
/* Resolve the stores, manifest, actor and master token by precedence (command
   line, --config file, environment) and check the store URLs. */
int ts_margs_stores(ts_margs *a, ts_error *err);

/* The command line as the audit keeps it: secrets masked (tokens, URL passwords,
   the value of --master-token, --token and --zarinpal-merchant, also abbreviated
   as getopt_long takes them from opts, the program's option table). */
void ts_margs_redacted(int argc, char **argv, const struct option *opts, ts_buf *out);

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
