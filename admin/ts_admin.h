/*
 * ts_admin.h: ts-admin, the operator CLI for tenants: bots, their feature
 * flags and configuration, wallets, plans and payment cards, on the stores directly (through the
 * shim and the repositories, as ts-bot reads and writes them).
 *
 * Store, config-file, actor and audit handling are ts-migrate's (ts_margs.h),
 * so one config file and one environment serve both; the migration lock is
 * not taken: tenant operations are units of work like any handler's.
 */
#ifndef TS_ADMIN_H
#define TS_ADMIN_H

#include <stdint.h>
#include <stdio.h>

#include "ts_margs.h"
#include "ts_shim.h"
#include "ts_tenant.h"

/* Exit codes: ts-migrate's where they mean the same (ts_mig.h), and 4. */
enum { TS_ADMIN_EXIT_NOTFOUND = 4 };   /* no such bot, plan or card */

typedef struct ts_admin_args {
    ts_margs m;                    /* the shared options; m.command is "bot create" etc. */
    const char *noun, *verb;       /* "bot" "create" */
    ts_tenant_op op;               /* what it does: ID, KEY, values, fields, --token (or
                                      $TS_TENANT_TOKEN for bot create), --confirm */
    char command[32];
    const char *field_opt[TS_TENANT_MAX_FIELDS];   /* the option of each field, as given */
    int64_t order[256];            /* plans order: the ids */
    int64_t limit;                 /* --limit */
} ts_admin_args;

extern const char ts_admin_usage[];
extern const struct option ts_admin_longopts[];

int ts_admin_parse(int argc, char **argv, ts_admin_args *a, ts_error *err);
void ts_admin_free(ts_admin_args *a);

/* Run the parsed command on an open shim; results to out. *note gets what the
   audit row adds (the bot created), never a secret. */
int ts_admin_run(ts_shim *sh, const ts_admin_args *a, FILE *out, ts_buf *note, ts_error *err);

/* The exit code for a failed command. */
int ts_admin_exit_code(const ts_error *err);

#endif
