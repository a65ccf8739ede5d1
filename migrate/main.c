/* ts-migrate: the operator CLI: status, plan, advance, backfill, sync, rollback, repair, contract. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ts_backfill.h"
#include "ts_clock.h"
#include "ts_log.h"
#include "ts_margs.h"
#include "ts_mlock.h"
#include "ts_mdraft.h"
#include "ts_mops.h"
#include "ts_msync.h"
#include "ts_mstatus.h"
#include "ts_version.h"

static void on_signal(int sig)
{
    (void)sig;
    ts_backfill_stop = 1;
}

static int run(ts_mig *g, const ts_margs *a, ts_error *err)
{
    const char *c = a->command;
    if (strcmp(c, "manifest") == 0)
        return strcmp(a->id, "check") == 0
                   ? ts_mstatus_manifest_check(g, err)
                   : ts_fail(err, TS_E_USAGE, "unknown manifest command '%.20s': use "
                             "'ts-migrate manifest check' or 'ts-migrate manifest draft'", a->id);
    /* What moves or compares rows first makes sure the manifest accounts for
       every legacy table and column (ts_conform.h); rollback, repair and
       contract do not: undoing must work whatever was added meanwhile. */
    int moves = strcmp(c, "init") == 0 || strcmp(c, "advance") == 0 || strcmp(c, "backfill") == 0;
    if (moves && ts_mig_conform(g, err))
        return -1;
    if (strcmp(c, "init") == 0)
        return ts_mops_init(g, err);
    if (strcmp(c, "status") == 0)
        return a->o.audit_n ? ts_mstatus_audit(g, a->o.audit_n, err) : ts_mstatus_status(g, err);
    if (strcmp(c, "plan") == 0)
        return ts_mstatus_plan(g, err);
    if (strcmp(c, "unlock") == 0)
        return ts_mops_unlock(g, err);

    ts_mlock lock = {0};
    char what[160];
    snprintf(what, sizeof what, "%s%s%s", c, a->id ? " " : "", a->id ? a->id : "");
    /* A dry run changes nothing, so it neither needs nor blocks the lock. */
    if (!g->o.dry_run && ts_mlock_acquire(&lock, g, what, err))
        return -1;
    int rc;
    if (strcmp(c, "advance") == 0)
        rc = ts_mops_advance(g, &lock, a->id, err);
    else if (strcmp(c, "rollback") == 0)
        rc = ts_mops_rollback(g, &lock, a->id, err);
    else if (strcmp(c, "contract") == 0)
        rc = ts_mops_contract(g, &lock, a->id, err);
    else if (strcmp(c, "repair") == 0)
        rc = ts_mops_repair(g, err);
    else if (strcmp(c, "sync") == 0)
        rc = ts_msync_run(g, a->id, err);
    else {
        const ts_increment *inc = ts_manifest_find(g->m, a->id);
        snprintf(g->audit_inc, sizeof g->audit_inc, "%s", a->id);
        rc = inc ? ts_backfill_run(g, &lock, inc, err)
                 : ts_fail(err, TS_E_USAGE, "unknown increment '%.20s': see 'ts-migrate status'", a->id);
    }
    ts_mlock_release(&lock);
    return rc;
}

static void audit(ts_mig *g, const ts_margs *a, int argc, char **argv, int rc, const ts_error *e,
                  int64_t ms)
{
    /* What only reads (status, plan, manifest check) would bury the changes
       under a watched status: the audit is of what was done or refused. */
    if (strcmp(a->command, "status") == 0 || strcmp(a->command, "plan") == 0 ||
        strcmp(a->command, "manifest") == 0)
        return;
    ts_buf args = {0}, msg = {0};
    ts_error err;
    int version;
    /* Before init (manifest check, an init refused) there is no ts_audit to write to. */
    if (ts_schema_applied_version(g->nw, ts_schema_control(), &version, &err) == 0 &&
        version == 0) {
        ts_log(TS_LOG_INFO, "not_audited", "command=%s note=\"the new store has no control plane "
               "yet (ts-migrate init makes it)\"", a->command);
        return;
    }
    ts_margs_redacted(argc, argv, ts_migrate_longopts, &args);
    if (rc)
        ts_buf_puts(&msg, e->msg);
    if (g->notes.len)
        ts_buf_printf(&msg, "%s%s", msg.len ? "; " : "", g->notes.s);
    const char *result = g->o.dry_run ? "dry_run"
                         : rc == 0     ? "ok"
                         : e->code == TS_E_STATE || e->code == TS_E_USAGE ||
                                   e->code == TS_E_LOCKED || e->code == TS_E_SCHEMA
                             ? "refused" : "failed";
    if (rc && g->exit_hint == TS_EXIT_NOACK)
        result = "failed";
    ts_audit_entry en = {g->actor, g->host, a->command, args.s, g->audit_inc[0] ? g->audit_inc : NULL,
                         g->audit_from[0] ? g->audit_from : NULL, g->audit_to[0] ? g->audit_to : NULL,
                         result, msg.len ? msg.s : NULL, (int64_t)getpid(), ms};
    if (ts_control_audit(g->nw, &en, &err))
        ts_log(TS_LOG_WARN, "audit_failed", "error=\"%s\" note=\"the command ran; its audit row "
               "could not be written\"", err.msg);
    ts_buf_free(&args);
    ts_buf_free(&msg);
}

int main(int argc, char **argv)
{
    ts_margs a;
    ts_mig g;
    ts_error err;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    if (ts_margs_parse(argc, argv, &a, &err)) {
        fprintf(stderr, "ts-migrate: %s\n", err.msg);
        ts_margs_free(&a);
        return TS_EXIT_USAGE;
    }
    if (a.help && a.help_topic) {
        const char *text = ts_margs_command_help(a.help_topic);
        if (text)
            fputs(text, stdout);
        else
            fprintf(stderr, "ts-migrate: no command '%.40s': see ts-migrate --help\n", a.help_topic);
        ts_margs_free(&a);
        return text ? 0 : TS_EXIT_USAGE;
    }
    if (a.help || a.version) {
        fputs(a.help ? ts_migrate_usage : "ts-migrate " TS_VERSION "\n", stdout);
        ts_margs_free(&a);
        return 0;
    }
    /* A draft reads only the legacy store, whose tables the built-in
       manifest may not fit at all: before anything loads a manifest. */
    if (strcmp(a.command, "manifest") == 0 && strcmp(a.id, "draft") == 0) {
        int drc = ts_mdraft_run(a.o.legacy_url, stdout, &err);
        if (drc)
            fprintf(stderr, "ts-migrate: %s\n", err.msg);
        ts_margs_free(&a);
        return drc ? ts_margs_exit_code(&err, 0) : 0;
    }
    int64_t t0 = ts_clock_ms();
    a.o.makes_new = strcmp(a.command, "init") == 0 || strcmp(a.command, "manifest") == 0;
    int rc = ts_mig_open(&g, &a.o, &err);
    int opened = g.nw != NULL;
    if (rc == 0)
        rc = run(&g, &a, &err);
    if (opened)
        audit(&g, &a, argc, argv, rc, &err, ts_clock_ms() - t0);
    int code = rc ? ts_margs_exit_code(&err, g.exit_hint) : 0;
    if (rc)
        fprintf(stderr, "ts-migrate: %s\n", err.msg);
    ts_mig_close(&g);
    ts_margs_free(&a);
    return code;
}
