/* ts-admin: the operator CLI for tenants: bots, flags, configuration, wallets. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ts_admin.h"
#include "ts_clock.h"
#include "ts_control.h"
#include "ts_log.h"
#include "ts_version.h"

/* Every command that reached the stores leaves a row in ts_audit, as
   ts-migrate's do: the command line with its secrets masked. */
static void audit(ts_shim *sh, const ts_admin_args *a, int argc, char **argv, int rc,
                  const ts_error *e, const ts_buf *note, int64_t ms)
{
    ts_buf args = {0}, msg = {0};
    char actor[256], host[256];
    ts_error err;
    ts_mig_whoami(a->m.o.actor, actor, host);
    ts_margs_redacted(argc, argv, ts_admin_longopts, &args);
    if (rc)
        ts_margs_mask(e->msg, &msg);
    if (note->len)
        ts_buf_printf(&msg, "%s%s", msg.len ? "; " : "", note->s);
    if (a->m.o.reason)
        ts_buf_printf(&msg, "%sreason: %s", msg.len ? "; " : "", a->m.o.reason);
    int code = rc ? ts_admin_exit_code(e) : 0;
    const char *result = rc == 0 ? "ok" : code == TS_EXIT_REFUSED || code == TS_EXIT_USAGE
                                              ? "refused" : "failed";
    ts_audit_entry en = {actor, host, a->command, args.s, NULL, NULL, NULL, result,
                         msg.len ? msg.s : NULL, (int64_t)getpid(), ms};
    if (ts_control_audit(ts_shim_new(sh), &en, &err))
        ts_log(TS_LOG_WARN, "audit_failed", "error=\"%s\" note=\"the command ran; its audit row "
               "could not be written\"", err.msg);
    ts_buf_free(&args);
    ts_buf_free(&msg);
}

int main(int argc, char **argv)
{
    ts_admin_args a;
    ts_error err;
    ts_shim *sh = NULL;
    ts_buf note = {0};
    if (ts_admin_parse(argc, argv, &a, &err)) {
        fprintf(stderr, "ts-admin: %s\n", err.msg);
        ts_admin_free(&a);
        return ts_admin_exit_code(&err);
    }
    if (a.m.help || a.m.version) {
        fputs(a.m.help ? ts_admin_usage : "ts-admin " TS_VERSION "\n", stdout);
        ts_admin_free(&a);
        return 0;
    }
    int64_t t0 = ts_clock_ms();
    ts_shim_config sc = {.legacy_url = a.m.o.legacy_url, .new_url = a.m.o.new_url,
                         .manifest_path = a.m.o.manifest_path, .program = "ts-admin"};
    int rc = a.m.o.legacy_url == NULL || a.m.o.new_url == NULL
                 ? ts_fail(&err, TS_E_USAGE, "both stores are needed: --legacy URL and --new "
                           "URL, TS_LEGACY_URL and TS_NEW_URL, or --config FILE")
                 : ts_shim_open(&sc, &sh, &err);
    if (rc == 0) {
        rc = ts_admin_run(sh, &a, stdout, &note, &err);
        audit(sh, &a, argc, argv, rc, &err, &note, ts_clock_ms() - t0);
    }
    int code = rc ? ts_admin_exit_code(&err) : 0;
    if (rc)
        fprintf(stderr, "ts-admin: %s\n", err.msg);
    ts_shim_close(sh);
    ts_buf_free(&note);
    ts_admin_free(&a);
    return code;
}
