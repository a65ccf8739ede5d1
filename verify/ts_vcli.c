/* ts_vcli.c: the ts-verify command line. */
#include "ts_vcli.h"

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ts_canary.h"
#include "ts_check.h"
#include "ts_clock.h"
#include "ts_conform.h"
#include "ts_diff.h"
#include "ts_log.h"
#include "ts_manifest.h"
#include "ts_version.h"
#include "ts_vstage.h"

const char ts_verify_usage[] =
    "usage: ts-verify [OPTIONS] COMMAND [ARGS]\n"
    "\n"
    "Commands:\n"
    "  diff [ID...]   compare legacy rows (mapped through the manifest) with the master\n"
    "                 bot's rows in the new store; every data increment, or the IDs given\n"
    "  check          check the invariants: no NULL bot_id, bot_id in every PK, unique\n"
    "                 and tenant FK, one active master bot, sequences above legacy,\n"
    "                 no stuck journal entry, Citus readiness\n"
    "  canary         create a temporary second bot with rows, check that master reads\n"
    "                 (verify's and every shim repository read) never return them and\n"
    "                 composite uniques accept both, remove it\n"
    "\n"
    "Stores:\n"
    "  --legacy URL   legacy store (default $TS_LEGACY_URL)\n"
    "  --new URL      new store (default $TS_NEW_URL)\n"
    "                 sqlite:PATH or postgresql://HOST/DB[?schema=NAME]\n"
    "  --manifest FILE  increment manifest (default: the one compiled in)\n"
    "\n"
    "Reports (text on stdout by default):\n"
    "  --limit N      print at most N differing rows in the text report (default 50)\n"
    "  --json         the complete report as JSON on stdout, every difference included\n"
    "  --out FILE     also write the complete JSON report to FILE\n"
    "  --junit FILE   JUnit XML: a testcase per table and per invariant\n"
    "  --html FILE    one standalone HTML page\n"
    "\n"
    "diff:\n"
    "  --chunk N      rows per chunk and side (default 2000)\n"
    "  --checkpoint FILE  log every chunk to FILE (refused when it exists)\n"
    "  --resume       continue the diff logged in --checkpoint FILE\n"
    "  --max-chunks N stop after N chunks (continue later with --resume)\n"
    "check:\n"
    "  --journal-max-age SECONDS  longest a journal entry may stay pending (default 300)\n"
    "\n"
    "  --help, --version\n"
    "\n"
    "Increments at a stage without the tables a command needs (legacy: no new\n"
    "tables yet; contracted, for diff: legacy retired) are skipped and named in\n"
    "every report.\n"
    "\n"
    "Exit codes: 0 clean; 1 differences or violations found (or a diff stopped by\n"
    "--max-chunks, diff and check refused a legacy store with tables or columns\n"
    "the manifest does not account for, an increment named on the command line was\n"
    "skipped at its stage, or a diff compared nothing at all: nothing is clean that\n"
    "was not compared); 2 usage or configuration error; 3 a store is unreachable.\n";

typedef struct vargs {
    const char *command;
    char **ids;
    int nids;
    const char *legacy, *fresh, *manifest;
    int64_t limit;
    int json;
    const char *out, *junit, *html, *checkpoint;
    int resume;
    ts_diff_opts diff;
    ts_check_opts check;
} vargs;

static int parse_int(const char *s, const char *opt, int64_t min, int64_t *out, ts_error *err)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *s == '\0' || *end != '\0' || v < min)
        return ts_fail(err, TS_E_USAGE, "%s wants an integer of at least %lld, not '%.40s'",
                       opt, (long long)min, s);
    *out = v;
    return 0;
}

enum { O_LEGACY = 256, O_NEW, O_MANIFEST, O_LIMIT, O_JSON, O_OUT, O_JUNIT, O_HTML, O_CHUNK,
       O_CHECKPOINT, O_RESUME, O_MAX_CHUNKS, O_JOURNAL_AGE, O_HELP, O_VERSION };

static int parse_args(int argc, char **argv, vargs *a, ts_error *err)
{
    static const struct option opts[] = {
        {"legacy", required_argument, 0, O_LEGACY},
        {"new", required_argument, 0, O_NEW},
        {"manifest", required_argument, 0, O_MANIFEST},
        {"limit", required_argument, 0, O_LIMIT},
        {"json", no_argument, 0, O_JSON},
        {"out", required_argument, 0, O_OUT},
        {"junit", required_argument, 0, O_JUNIT},
        {"html", required_argument, 0, O_HTML},
        {"chunk", required_argument, 0, O_CHUNK},
        {"checkpoint", required_argument, 0, O_CHECKPOINT},
        {"resume", no_argument, 0, O_RESUME},
        {"max-chunks", required_argument, 0, O_MAX_CHUNKS},
        {"journal-max-age", required_argument, 0, O_JOURNAL_AGE},
        {"help", no_argument, 0, O_HELP},
        {"version", no_argument, 0, O_VERSION},
        {0, 0, 0, 0},
    };
    int64_t v;
    int c;
    memset(a, 0, sizeof *a);
    a->limit = 50;
    a->diff.chunk = TS_DIFF_CHUNK_DEFAULT;
    a->check.journal_max_age = TS_CHECK_JOURNAL_AGE_DEFAULT;
    a->legacy = getenv("TS_LEGACY_URL");
    a->fresh = getenv("TS_NEW_URL");
    optind = 0; /* GNU: start over, so the parser can run more than once (tests) */
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_LEGACY: a->legacy = optarg; break;
        case O_NEW: a->fresh = optarg; break;
        case O_MANIFEST: a->manifest = optarg; break;
        case O_LIMIT:
            if (parse_int(optarg, "--limit", 0, &a->limit, err))
                return -1;
            break;
        case O_JSON: a->json = 1; break;
        case O_OUT: a->out = optarg; break;
        case O_JUNIT: a->junit = optarg; break;
        case O_HTML: a->html = optarg; break;
        case O_CHUNK:
            if (parse_int(optarg, "--chunk", 1, &v, err) || (v > 1000000 && ts_fail(err,
                TS_E_USAGE, "--chunk %lld is larger than 1000000 rows", (long long)v)))
                return -1;
            a->diff.chunk = (int)v;
            break;
        case O_CHECKPOINT: a->checkpoint = optarg; break;
        case O_RESUME: a->resume = 1; break;
        case O_MAX_CHUNKS:
            if (parse_int(optarg, "--max-chunks", 1, &a->diff.max_chunks, err))
                return -1;
            break;
        case O_JOURNAL_AGE:
            if (parse_int(optarg, "--journal-max-age", 0, &a->check.journal_max_age, err))
                return -1;
            break;
        case 'h':
        case O_HELP: a->command = "help"; return 0;
        case O_VERSION: a->command = "version"; return 0;
        default:
            return ts_fail(err, TS_E_USAGE, "unknown or incomplete option '%.60s': see "
                           "ts-verify --help", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return ts_fail(err, TS_E_USAGE, "no command given: use diff, check or canary "
                       "(ts-verify --help)");
    a->command = argv[optind];
    a->ids = argv + optind + 1;
    a->nids = argc - optind - 1;
    if (strcmp(a->command, "diff") != 0 && strcmp(a->command, "check") != 0 &&
        strcmp(a->command, "canary") != 0)
        return ts_fail(err, TS_E_USAGE, "unknown command '%.40s': use diff, check or canary",
                       a->command);
    if (strcmp(a->command, "diff") != 0 && a->nids > 0)
        return ts_fail(err, TS_E_USAGE, "%s takes no arguments (got '%.40s')", a->command,
                       a->ids[0]);
    if (a->resume && a->checkpoint == NULL)
        return ts_fail(err, TS_E_USAGE, "--resume needs --checkpoint FILE: the file the "
                       "stopped diff wrote");
    if (a->legacy == NULL || *a->legacy == '\0')
        return ts_fail(err, TS_E_USAGE, "no legacy store: give --legacy URL or set TS_LEGACY_URL");
    if (a->fresh == NULL || *a->fresh == '\0')
        return ts_fail(err, TS_E_USAGE, "no new store: give --new URL or set TS_NEW_URL");
    return 0;
}

/*
 * Open a store verify only reads from (canary writes the new one). The SQLite
 * driver creates missing files, which here would hide a wrong path behind an
 * empty store: a file that is not there is unreachable.
 */
static int open_store(const char *url, const char *which, ts_store **s, ts_error *err)
{
    if (strncmp(url, "sqlite:", 7) == 0 && strcmp(url + 7, ":memory:") != 0 &&
        access(url + 7, F_OK) != 0)
        return ts_fail(err, TS_E_CONN, "%s store sqlite:%s: the file does not exist: check "
                       "the path", which, url + 7);
    if (ts_store_open(url, s, err)) {
        ts_error_context(err, "%s store", which);
        return -1;
    }
    return 0;
}

static int need_schema(ts_store *s, const ts_schema *sc, const char *which, ts_error *err)
{
    int version;
    if (ts_schema_applied_version(s, sc, &version, err))
        return -1;
    if (version == 0)
        return ts_fail(err, TS_E_USAGE, "the %s store %s has no %s schema: point --%s at the "
                       "right store, or prepare it with 'ts-migrate init'", which, ts_store_url(s),
                       sc->name, which);
    return 0;
}

static int write_file(const char *path, const ts_vreport *r,
                      int (*render)(const ts_vreport *, FILE *, ts_error *), ts_error *err)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return ts_fail(err, TS_E_IO, "cannot write report %s: %s", path, strerror(errno));
    int rc = render(r, f, err);
    if (fclose(f) != 0 && rc == 0)
        rc = ts_fail(err, TS_E_IO, "cannot write report %s: %s", path, strerror(errno));
    return rc;
}

static int render(const vargs *a, const ts_vreport *r, FILE *out, ts_error *err)
{
    if ((a->json ? ts_vreport_json(r, out, err) : ts_vreport_text(r, out, a->limit, err)) ||
        (a->out && write_file(a->out, r, ts_vreport_json, err)) ||
        (a->junit && write_file(a->junit, r, ts_vreport_junit, err)) ||
        (a->html && write_file(a->html, r, ts_vreport_html, err)))
        return -1;
    return 0;
}

static int run_diff(const vargs *a, ts_store *legacy, ts_store *nw, const ts_manifest *m,
                    ts_vreport *r, ts_vlog *lg, ts_error *err)
{
    const ts_increment **incs = calloc((size_t)ts_manifest_count(m) + 1, sizeof *incs);
    int ninc, rc = -1;
    if (incs == NULL)
        return ts_fail(err, TS_E_NOMEM, "out of memory");
    if (ts_diff_select(m, (const char *const *)a->ids, a->nids, incs, &ninc, err) == 0 &&
        ts_vlog_open(lg, a->checkpoint, a->resume, ts_store_url(legacy), ts_store_url(nw),
                     a->diff.chunk, err) == 0) {
        r->all = ts_vlog_source(lg);
        rc = (a->resume ? ts_vlog_replay(lg, r, err) : 0) ||
             ts_diff_run(legacy, nw, incs, ninc, &a->diff, r, lg, err) ? -1 : 0;
    }
    free(incs);
    return rc;
}

/* The canary reads through a shim of its own, as the master bot does. */
static int run_canary(const vargs *a, ts_store *nw, ts_vreport *r, ts_error *err)
{
    ts_shim_config cfg = {a->legacy, a->fresh, a->manifest, "ts-verify"};
    ts_shim *sh;
    cfg.shadow_fraction = 0; /* the caller gets legacy's answer anyway */
    if (ts_shim_open(&cfg, &sh, err))
        return -1;
    int rc = ts_canary_run(nw, sh, ts_canary_reads, ts_canary_nreads, r, err);
    ts_shim_close(sh);
    return rc;
}

static int run(const vargs *a, ts_vreport *r, FILE *out, ts_error *err)
{
    ts_manifest *m = NULL;
    ts_store *legacy = NULL, *nw = NULL;
    ts_vlog lg = {0};
    int rc = -1;

    double t0 = ts_clock_seconds();
    ts_time_now(r->started);
    int canary = strcmp(a->command, "canary") == 0;
    /* The legacy store is the bot's own database: it need not have been made by
       tenantshift, so only the new store must carry its schema record. The
       manifest is read against its live tables (ts_manifest_load_live). */
    if (a->legacy && open_store(a->legacy, "legacy", &legacy, err))
        goto done;
    if (legacy ? ts_manifest_load_live(a->manifest, legacy, &m, err)
               : a->manifest ? ts_manifest_load_file(a->manifest, &m, err)
                             : ts_manifest_load_default(&m, err)) {
        if (err->code == TS_E_INVALID || err->code == TS_E_IO)
            err->code = TS_E_USAGE;
        goto done;
    }
    if (canary) { /* the canary reads through a shim of its own */
        ts_store_close(legacy);
        legacy = NULL;
    }
    if (open_store(a->fresh, "new", &nw, err) || need_schema(nw, ts_schema_control(), "new", err))
        goto done;
    if (legacy)
        snprintf(r->legacy_url, sizeof r->legacy_url, "%s", ts_store_url(legacy));
    snprintf(r->new_url, sizeof r->new_url, "%s", ts_store_url(nw));
    /* diff and check compare what the manifest carries: a legacy column it
       does not know would be data no one compared (ts_conform.h). */
    if (!canary && ts_conform_require(legacy, nw, m, err))
        goto done;
    /* ... and the tables it ignores on purpose are named as not compared. */
    for (int i = 0; !canary && i < ts_manifest_nignored(m); i++) {
        const char *why, *table = ts_manifest_ignored_at(m, i, &why);
        if (ts_vreport_ignored(r, table, why)) {
            ts_fail(err, TS_E_NOMEM, "out of memory");
            goto done;
        }
    }
    /* Stages decide what each command can look at (ts_vstage.h). */
    if (ts_vstage_load(r, nw, m, err))
        goto done;
    for (int i = 0; i < a->nids; i++)
        ts_vstage_named(r, a->ids[i]);
    if (strcmp(a->command, "diff") == 0)
        rc = run_diff(a, legacy, nw, m, r, &lg, err);
    else if (strcmp(a->command, "check") == 0)
        rc = ts_check_run(legacy, nw, m, &a->check, r, err);
    else
        rc = run_canary(a, nw, r, err);
    ts_vstage_attribute(r, m);
    r->seconds = ts_clock_seconds() - t0;
    if (rc == 0)
        rc = render(a, r, out, err);
done:
    ts_vlog_close(&lg);
    ts_store_close(legacy);
    ts_store_close(nw);
    ts_manifest_free(m);
    return rc;
}

/* A Telegram bot token: digits, a colon, a long secret. */
static int is_token(const char *s)
{
    size_t id = strspn(s, "0123456789");
    return id > 0 && s[id] == ':' && strlen(s + id + 1) >= 20;
}

/* The command line for reports: passwords in URLs and tokens masked. */
static void command_line(int argc, char **argv, char *out, size_t n)
{
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < argc && len < n; i++) {
        char masked[1024];
        const char *eq = strncmp(argv[i], "--", 2) == 0 ? strchr(argv[i], '=') : NULL;
        const char *val = eq ? eq + 1 : argv[i];
        if (is_token(val))
            ts_redact(val, masked, sizeof masked);
        else
            ts_url_mask(val, masked, sizeof masked);
        len += (size_t)snprintf(out + len, n - len, "%s%.*s%s", i ? " " : "",
                                eq ? (int)(val - argv[i]) : 0, argv[i], masked);
    }
}

int ts_verify_main(int argc, char **argv, FILE *out, FILE *errout)
{
    vargs a;
    ts_error err = {0};
    ts_vreport r;

    if (parse_args(argc, argv, &a, &err)) {
        fprintf(errout, "ts-verify: %s\n", err.msg);
        return TS_VEXIT_USAGE;
    }
    if (strcmp(a.command, "help") == 0) {
        fputs(ts_verify_usage, out);
        return TS_VEXIT_CLEAN;
    }
    if (strcmp(a.command, "version") == 0) {
        fprintf(out, "ts-verify %s\n", TS_VERSION);
        return TS_VEXIT_CLEAN;
    }
    /* Kept differences: what the text report prints, and the HTML page's first rows. */
    ts_vreport_init(&r, a.command, a.limit > 100 ? (int)(a.limit > 100000 ? 100000 : a.limit)
                                                 : 100);
    command_line(argc, argv, r.cmdline, sizeof r.cmdline);
    a.diff.tty = isatty(STDERR_FILENO);
    int rc = run(&a, &r, out, &err);
    int code = rc == 0 ? (ts_vreport_clean(&r) ? TS_VEXIT_CLEAN : TS_VEXIT_DIFF)
               : err.code == TS_E_CONN   ? TS_VEXIT_UNREACHABLE
               : err.code == TS_E_SCHEMA ? TS_VEXIT_DIFF
                                         : TS_VEXIT_USAGE;
    if (rc != 0)
        fprintf(errout, "ts-verify %s: %s\n", a.command, err.msg);
    for (int i = 0; rc == 0 && i < r.nincs; i++)
        if (r.incs[i].named && r.incs[i].skipped[0])
            fprintf(errout, "ts-verify %s: increment %s was not compared: %s (exit 1: what was "
                    "asked for was not verified)\n", a.command, r.incs[i].id, r.incs[i].skipped);
    if (rc == 0 && ts_vreport_nothing_compared(&r))
        fprintf(errout, "ts-verify %s: nothing compared: every increment is at a stage without "
                "the tables a diff needs\n", a.command);
    ts_vreport_free(&r);
    return code;
}
