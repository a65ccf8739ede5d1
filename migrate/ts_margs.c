/* ts_margs.c: options, config file and environment of ts-migrate; exit codes. */
#include "ts_margs.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ts_backfill.h"
#include "ts_log.h"

const char ts_migrate_usage[] =
    "usage: ts-migrate [OPTIONS] COMMAND [ID]\n"
    "\n"
    "Commands:\n"
    "  init              prepare a store pair: control plane, journals, increments (idempotent)\n"
    "  status            every increment: stage, version, backfill, shadow reads, legacy access;\n"
    "                    journal, lock, processes (--audit N: the last N audit rows instead)\n"
    "  plan              each increment's next step and its gates, pass or fail, and why\n"
    "  advance ID        one stage forward through the gates (--to STAGE: assert the target)\n"
    "  backfill ID       copy legacy rows into new at dual_write; resumable\n"
    "  sync ID           legacy columns added after ID made its new tables: add them to new\n"
    "                    and copy their values (expanded to read_new)\n"
    "  rollback ID       back to --to STAGE (default: one stage); from new_only replays the\n"
    "                    change journal into legacy and diffs\n"
    "  contract ID       new_only -> contracted with --confirm: legacy tables renamed\n"
    "                    _retired_<time>_<name>; --drop drops them (also later)\n"
    "  repair            replay pending journal entries\n"
    "  unlock --force    break the operator lock (audited)\n"
    "  help [COMMAND]    what a command does, its options and exit codes\n"
    "  manifest check    every legacy table and column the manifest does not account for,\n"
    "                    every column it carries that the legacy store lacks, every type\n"
    "                    change; exit 1 when there is any (init, advance, backfill and\n"
    "                    ts-verify refuse then)\n"
    "  manifest draft    a manifest for the legacy store as it is, on stdout (only --legacy\n"
    "                    needed): every table in an increment, keys from primary keys\n"
    "\n"
    "Stores and identity:\n"
    "  --legacy URL      legacy store (default $TS_LEGACY_URL)\n"
    "  --new URL         new store (default $TS_NEW_URL); sqlite:PATH, postgresql://...[?schema=S]\n"
    "  --config FILE     JSON {\"legacy\",\"new\",\"manifest\",\"actor\",\"master_token\"}\n"
    "  --manifest FILE   increment manifest (default: compiled in)\n"
    "  --actor NAME      who runs this (default user@host)\n"
    "  --reason TEXT     recorded with the stage change and in the audit\n"
    "  --master-token T  the master bot's Telegram token, for 'advance 1.1' (or $TS_MASTER_TOKEN)\n"
    "  --master-name N   its name (default master)\n"
    "\n"
    "Output and safety:\n"
    "  --json            status, plan and audit as JSON\n"
    "  --dry-run         print the exact steps and SQL, change nothing\n"
    "  --force           go on past processes that do not acknowledge (audited)\n"
    "  --confirm         required by contract\n"
    "  --drop            contract: drop the retired legacy tables\n"
    "  --export-orphans FILE  rollback below read_new: write rows legacy cannot hold (JSON lines)\n"
    "\n"
    "Tuning:\n"
    "  --batch N         backfill rows per chunk (default 5000)\n"
    "  --max-rate R      backfill rows per second (default unlimited)\n"
    "  --throttle-file F backfill pauses while F exists\n"
    "  --ack-timeout S   seconds to wait for processes to apply a stage change (default 30)\n"
    "  --liveness S      a heartbeat older than S seconds is a stale process (default 10)\n"
    "  --min-compared N  shadow reads needed before read_new (default 10000)\n"
    "  --soak D          new_only time before contract: 3600, 90m, 24h, 2d (default 24h)\n"
    "  --lock-ttl S      SQLite lock lease expiry (default 60)\n"
    "  --help, --version\n"
    "\n"
    "Exit codes:\n"
    "  0  done                      4  stage changed; a live process did not apply it\n"
    "  1  failed (see the message)  5  the increment's diff is not clean\n"
    "  2  usage or configuration (also: the store refused the user, password or database)\n"
    "  6  another operator changed the increment first\n"
    "  3  refused: transition, dependency, gate, orphans, missing --confirm,\n"
    "     a legacy store the manifest does not account for\n"
    "  7  a store is unreachable or busy: retry     8  interrupted; backfill resumes\n"
    "  75 locked by another operator (the message names the holder)\n";

enum {
    O_TOKEN = TS_OPT_COMMON_END, O_MNAME, O_DRY, O_FORCE, O_CONFIRM, O_DROP, O_ORPHANS, O_TO,
    O_BATCH, O_RATE, O_THROTTLE, O_ACK, O_LIVE, O_MINCMP, O_SOAK, O_TTL, O_AUDIT
};

const struct option ts_migrate_longopts[] = {
    TS_MARGS_COMMON_OPTIONS,
    {"master-token", 1, 0, O_TOKEN}, {"master-name", 1, 0, O_MNAME},
    {"dry-run", 0, 0, O_DRY}, {"force", 0, 0, O_FORCE}, {"confirm", 0, 0, O_CONFIRM},
    {"drop", 0, 0, O_DROP}, {"export-orphans", 1, 0, O_ORPHANS}, {"to", 1, 0, O_TO},
    {"batch", 1, 0, O_BATCH}, {"max-rate", 1, 0, O_RATE}, {"throttle-file", 1, 0, O_THROTTLE},
    {"ack-timeout", 1, 0, O_ACK}, {"liveness", 1, 0, O_LIVE}, {"min-compared", 1, 0, O_MINCMP},
    {"soak", 1, 0, O_SOAK}, {"lock-ttl", 1, 0, O_TTL}, {"audit", 1, 0, O_AUDIT}, {0, 0, 0, 0},
};

static int number(const char *opt, const char *s, double lo, double hi, double *out, ts_error *err)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || v < lo || v > hi)
        return ts_fail(err, TS_E_USAGE, "--%s '%.40s': expected a number from %g to %g", opt, s, lo, hi);
    *out = v;
    return 0;
}

/* 3600, 90s, 90m, 24h, 2d -> seconds */
static int duration(const char *s, int64_t *out, ts_error *err)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    double mul = *end == 'd' ? 86400 : *end == 'h' ? 3600 : *end == 'm' ? 60 : 1;
    if (errno || end == s || v < 0 || (*end && (strchr("smhd", *end) == NULL || end[1])))
        return ts_fail(err, TS_E_USAGE, "--soak '%.40s': expected seconds or a duration such as "
                       "90m, 24h or 2d", s);
    *out = (int64_t)(v * mul);
    return 0;
}

static const char *cfg_str(const cJSON *cfg, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int load_config(ts_margs *a, const char *path, ts_error *err)
{
    FILE *f = fopen(path, "rb");
    ts_buf b = {0};
    char chunk[4096];
    size_t n;
    if (f == NULL)
        return ts_fail(err, TS_E_USAGE, "--config %s: %s", path, strerror(errno));
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        ts_buf_printf(&b, "%.*s", (int)n, chunk);
    fclose(f);
    cJSON *cfg = b.s ? cJSON_Parse(b.s) : NULL;
    ts_buf_free(&b);
    if (!cJSON_IsObject(cfg)) {
        cJSON_Delete(cfg);
        return ts_fail(err, TS_E_USAGE, "--config %s: not a JSON object", path);
    }
    static const char *const known[] = {"legacy", "new", "manifest", "actor", "master_token", NULL};
    for (const cJSON *c = cfg->child; c; c = c->next) {
        int ok = 0;
        for (int i = 0; known[i]; i++)
            ok |= strcmp(c->string, known[i]) == 0;
        if (!ok || !cJSON_IsString(c)) {
            ts_fail(err, TS_E_USAGE, "--config %s: key \"%s\" is %s: use legacy, new, manifest, "
                    "actor, master_token (strings)", path, c->string, ok ? "not a string" : "unknown");
            cJSON_Delete(cfg);
            return -1;
        }
    }
    a->config = cfg;
    return 0;
}

static const char *first(const char *a, const char *b, const char *c)
{
    return a ? a : b ? b : c;
}

/* A store URL the parser refuses is the operator's to fix: a usage error. */
static int check_url(const char *url, const char *where, ts_error *err)
{
    if (url == NULL || ts_store_url_check(url, err) == 0)
        return 0;
    if (err->code != TS_E_NOMEM)
        err->code = TS_E_USAGE;
    ts_error_context(err, "%s", where);
    return -1;
}

/* --to names a stage of some increment; whether it fits this one is checked with the increment. */
static int check_stage(const char *name, ts_error *err)
{
    ts_stage st;
    if (name == NULL || ts_stage_parse(name, 0, &st, err) == 0 || ts_stage_parse(name, 1, &st, err) == 0)
        return 0;
    return ts_fail(err, TS_E_USAGE, "--to: unknown stage '%.40s': data increments take legacy, "
                   "expanded, dual_write, shadow, read_new, new_only or contracted; behaviour "
                   "increments off or on", name);
}

/* What each command does, its options and exit codes, for 'ts-migrate help COMMAND'. */
static const struct {
    const char *command, *text;
} command_help[] = {
    {"init", "ts-migrate init: prepare a store pair: the control plane and the journal in the new\n"
     "store, the journal in the legacy store, every increment of the manifest registered at legacy.\n"
     "Idempotent. The only command (with manifest check) that may create the new store.\n"
     "Refused (exit 3) when the legacy store has tables or columns the manifest does not account for.\n"},
    {"status", "ts-migrate status [--json] [--audit N]: every increment's stage, version, backfill,\n"
     "shadow reads and legacy access; journal, lock, processes (their kill switches). Reads only:\n"
     "not audited. --audit N: the last N audit rows instead.\n"},
    {"plan", "ts-migrate plan [--json]: each increment's next step and its gates, pass or fail, and\n"
     "why. Reads only: not audited.\n"},
    {"advance", "ts-migrate advance ID [--to STAGE] [--force] [--reason TEXT] [--dry-run]: one stage\n"
     "forward through the gates (dependencies, backfill, diff, shadow evidence, acknowledgements).\n"
     "advance 1.1 needs --master-token. Exit 3 refused (every failing gate named), 4 a live process\n"
     "did not apply the change, 5 the diff is not clean, 6 another operator moved it first.\n"},
    {"backfill", "ts-migrate backfill ID [--batch N] [--max-rate R] [--throttle-file F] [--dry-run]:\n"
     "copy legacy rows into new at dual_write, chunk by chunk; resumable after a kill (exit 8 on a\n"
     "signal). Stops when the legacy tables change under it (a column added: run sync).\n"},
    {"sync", "ts-migrate sync ID [--dry-run]: legacy columns added after ID made its new tables:\n"
     "ALTER TABLE ... ADD COLUMN in new, then their values copied from legacy in key order. Between\n"
     "expanded and read_new (exit 3 otherwise). Restart ts-bot afterwards.\n"},
    {"rollback", "ts-migrate rollback ID [--to STAGE] [--force] [--export-orphans FILE] [--dry-run]:\n"
     "back one stage, or to --to; from new_only the change journal is replayed into legacy and the\n"
     "increment diffed. Refused (exit 3) with rows legacy cannot hold, unless exported.\n"},
    {"contract", "ts-migrate contract ID --confirm [--drop] [--soak D]: new_only -> contracted after\n"
     "the soak, zero legacy access and a clean diff; legacy tables renamed _retired_<time>_<name>\n"
     "(--drop drops them).\n"},
    {"repair", "ts-migrate repair: replay pending journal entries (drift both ways; change entries of\n"
     "increments below new_only).\n"},
    {"unlock", "ts-migrate unlock --force: break another operator's lock (audited).\n"},
    {"manifest", "ts-migrate manifest check: every legacy table and column the manifest does not\n"
     "account for, one per line (exit 1 when any).\n"
     "ts-migrate --legacy URL manifest draft: a manifest for the legacy store as it is, on stdout.\n"},
};

const char *ts_margs_command_help(const char *command)
{
    for (size_t i = 0; i < sizeof command_help / sizeof command_help[0]; i++)
        if (strcmp(command_help[i].command, command) == 0)
            return command_help[i].text;
    return NULL;
}

int ts_margs_parse(int argc, char **argv, ts_margs *a, ts_error *err)
{
    ts_mig_opts *o = &a->o;
    double v;
    int c;
    memset(a, 0, sizeof *a);
    o->batch = TS_BACKFILL_BATCH_DEFAULT;
    o->ack_timeout_ms = 30000;
    o->liveness_ms = 10000;
    o->min_compared = 10000;
    o->soak_s = 86400;
    o->lock_ttl_s = 60;
    /* A column added mid-backfill stops it within a second; asking every
       chunk would cost a few percent of a PostgreSQL backfill. */
    o->recheck_ms = 1000;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", ts_migrate_longopts, NULL)) != -1) {
        int common = ts_margs_common(a, c, optarg, err);
        if (common < 0)
            return -1;
        if (common)
            continue;
        switch (c) {
        case O_TOKEN: a->given.master_token = optarg; break;
        case O_MNAME: o->master_name = optarg; break;
        case O_DRY: o->dry_run = 1; break;
        case O_FORCE: o->force = 1; break;
        case O_CONFIRM: o->confirm = 1; break;
        case O_DROP: o->drop = 1; break;
        case O_ORPHANS: o->export_orphans = optarg; break;
        case O_TO: o->to_stage = optarg; break;
        case O_THROTTLE: o->throttle_file = optarg; break;
        case O_BATCH:
            if (number("batch", optarg, 1, 1000000, &v, err))
                return -1;
            o->batch = (int)v;
            break;
        case O_RATE:
            if (number("max-rate", optarg, 0, 1e12, &v, err))
                return -1;
            o->max_rate = v;
            break;
        case O_ACK:
            if (number("ack-timeout", optarg, 0, 86400, &v, err))
                return -1;
            o->ack_timeout_ms = (int)(v * 1000);
            break;
        case O_LIVE:
            if (number("liveness", optarg, 0.1, 86400, &v, err))
                return -1;
            o->liveness_ms = (int)(v * 1000);
            break;
        case O_MINCMP:
            if (number("min-compared", optarg, 0, 1e15, &v, err))
                return -1;
            o->min_compared = (int64_t)v;
            break;
        case O_SOAK:
            if (duration(optarg, &o->soak_s, err))
                return -1;
            break;
        case O_TTL:
            if (number("lock-ttl", optarg, 1, 86400, &v, err))
                return -1;
            o->lock_ttl_s = (int)v;
            break;
        case O_AUDIT:
            if (number("audit", optarg, 1, 100000, &v, err))
                return -1;
            o->audit_n = (int)v;
            break;
        case 'h': a->help = 1; break;
        default:
            return ts_fail(err, TS_E_USAGE, "unknown or incomplete option '%s': see --help",
                           argv[optind - 1]);
        }
    }
    if (a->help || a->version)
        return 0;
    if (optind >= argc)
        return ts_fail(err, TS_E_USAGE, "no command: see --help");
    a->command = argv[optind++];
    if (optind < argc)
        a->id = argv[optind++];
    if (strcmp(a->command, "help") == 0) { /* ts-migrate help [COMMAND] */
        a->help = 1;
        a->help_topic = a->id;
        return 0;
    }
    if (optind < argc)
        return ts_fail(err, TS_E_USAGE, "unexpected argument '%s': one command and at most one "
                       "increment id", argv[optind]);
    static const char *const with_id[] = {"advance", "backfill", "sync", "rollback", "contract",
                                          "manifest", NULL};
    static const char *const without[] = {"init", "status", "plan", "repair", "unlock", NULL};
    int needs = -1;
    for (int i = 0; with_id[i]; i++)
        needs = strcmp(a->command, with_id[i]) == 0 ? 1 : needs;
    for (int i = 0; without[i]; i++)
        needs = strcmp(a->command, without[i]) == 0 ? 0 : needs;
    if (needs < 0)
        return ts_fail(err, TS_E_USAGE, "unknown command '%.40s': see --help", a->command);
    if (strcmp(a->command, "manifest") == 0 && a->id == NULL)
        return ts_fail(err, TS_E_USAGE, "manifest needs what to do: ts-migrate manifest check, "
                       "or ts-migrate manifest draft");
    if (needs != (a->id != NULL))
        return ts_fail(err, TS_E_USAGE, needs ? "%s needs an increment id: ts-migrate %s ID"
                                              : "%s takes no increment id", a->command, a->command);
    if (ts_margs_stores(a, err))
        return -1;
    return check_stage(o->to_stage, err);
}

int ts_margs_common(ts_margs *a, int c, const char *arg, ts_error *err)
{
    switch (c) {
    case TS_OPT_LEGACY: a->given.legacy = arg; break;
    case TS_OPT_NEW: a->given.fresh = arg; break;
    case TS_OPT_CONFIG: a->o.config_path = arg; break;
    case TS_OPT_MANIFEST: a->given.manifest = arg; break;
    case TS_OPT_ACTOR: a->given.actor = arg; break;
    case TS_OPT_REASON:
        ts_buf_reset(&a->reason);
        ts_margs_mask(arg, &a->reason);
        if (a->reason.oom)
            return ts_fail(err, TS_E_NOMEM, "out of memory reading --reason");
        a->o.reason = a->reason.s ? a->reason.s : "";
        break;
    case TS_OPT_JSON: a->o.json = 1; break;
    case TS_OPT_HELP: a->help = 1; break;
    case TS_OPT_VERSION: a->version = 1; break;
    default: return 0;
    }
    return 1;
}

int ts_margs_stores(ts_margs *a, ts_error *err)
{
    ts_mig_opts *o = &a->o;
    if (o->config_path && load_config(a, o->config_path, err))
        return -1;
    const cJSON *cfg = a->config;
    o->legacy_url = first(a->given.legacy, cfg_str(cfg, "legacy"), getenv("TS_LEGACY_URL"));
    o->new_url = first(a->given.fresh, cfg_str(cfg, "new"), getenv("TS_NEW_URL"));
    o->manifest_path = first(a->given.manifest, cfg_str(cfg, "manifest"), NULL);
    o->actor = first(a->given.actor, cfg_str(cfg, "actor"), NULL);
    o->master_token = first(a->given.master_token, cfg_str(cfg, "master_token"),
                            getenv("TS_MASTER_TOKEN"));
    if (check_url(o->legacy_url, "legacy store (--legacy, the config's \"legacy\" or "
                  "TS_LEGACY_URL)", err) ||
        check_url(o->new_url, "new store (--new, the config's \"new\" or TS_NEW_URL)", err))
        return -1;
    return 0;
}

void ts_margs_free(ts_margs *a)
{
    cJSON_Delete(a->config);
    a->config = NULL;
    ts_buf_free(&a->reason);
}

#define TOKEN_SECRET_MIN 30   /* a bot token: digits, ':', 30 or more of [A-Za-z0-9_-] */

/* The length of the bot token at p, 0 when none starts there (also inside a
   word: ".../bot123456:AAE.../getMe" is how tokens leak). */
static size_t token_at(const char *p)
{
    size_t d = strspn(p, "0123456789");
    if (d == 0 || p[d] != ':')
        return 0;
    size_t n = strspn(p + d + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-");
    return n >= TOKEN_SECRET_MIN ? d + 1 + n : 0;
}

/* At "://user:PASS@": the offset of PASS and its length in *n; 0 when none. */
static size_t url_password_at(const char *p, size_t *n)
{
    if (strncmp(p, "://", 3) != 0)
        return 0;
    size_t len = strcspn(p + 3, "/?# \t\r\n");
    const char *at = memchr(p + 3, '@', len);
    const char *colon = at ? memchr(p + 3, ':', (size_t)(at - p - 3)) : NULL;
    if (colon == NULL)
        return 0;
    *n = (size_t)(at - colon - 1);
    return (size_t)(colon + 1 - p);
}

void ts_margs_mask(const char *s, ts_buf *out)
{
    while (*s) {
        char red[64];
        size_t n = token_at(s), off;
        if (n > 0) {
            ts_buf_puts(out, ts_redact(s, red, sizeof red));   /* "123456:****" */
            s += n;
        } else if ((off = url_password_at(s, &n)) > 0) {
            ts_buf_printf(out, "%.*s****", (int)off, s);
            s += off + n;
        } else if (strncmp(s, "password=", 9) == 0) {
            ts_buf_puts(out, "password=****");
            s += 9 + strcspn(s + 9, "& \t\r\n");
        } else {
            /* up to the next place a secret may start */
            n = 1 + strcspn(s + 1, "0123456789:p");
            ts_buf_add(out, s, n);
            s += n;
        }
    }
}

/* The options whose value is a secret. */
static const char *const secret_opts[] = {"master-token", "token", "zarinpal-merchant",
                                          "card-number", NULL};

/* The length of "--NAME" (before any '=') when it names a secret option of
   opts, else 0. Resolved as getopt_long does: an exact name, else the one
   option it is a prefix of ("--tok" is --token; "--to" is ts-migrate's --to). */
static size_t secret_opt(const char *s, const struct option *opts)
{
    if (strncmp(s, "--", 2) != 0)
        return 0;
    size_t n = strcspn(s + 2, "=");
    const char *name = NULL;
    int prefixes = 0;
    for (int i = 0; n > 0 && opts[i].name; i++) {
        if (strncmp(s + 2, opts[i].name, n) != 0)
            continue;
        if (strlen(opts[i].name) == n) {
            name = opts[i].name;
            prefixes = 1;
            break;
        }
        name = opts[i].name;
        prefixes++;
    }
    for (int i = 0; prefixes == 1 && secret_opts[i]; i++)
        if (strcmp(name, secret_opts[i]) == 0)
            return n + 2;
    return 0;
}

void ts_margs_redacted(int argc, char **argv, const struct option *opts, ts_buf *out)
{
    int secret_next = 0;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        char red[64];
        size_t n = secret_next ? 0 : secret_opt(s, opts);
        if (i > 1)
            ts_buf_puts(out, " ");
        if (secret_next) {
            ts_buf_puts(out, ts_redact(s, red, sizeof red));
            secret_next = 0;
        } else if (n > 0 && s[n] == '=') {
            ts_buf_printf(out, "%.*s%s", (int)n + 1, s, ts_redact(s + n + 1, red, sizeof red));
        } else {
            secret_next = n > 0;
            ts_margs_mask(s, out);
        }
    }
}

int ts_margs_exit_code(const ts_error *err, int hint)
{
    if (hint)
        return hint;
    switch (err->code) {
    case TS_E_USAGE:
    case TS_E_AUTH: return TS_EXIT_USAGE;
    case TS_E_STATE:
    case TS_E_SCHEMA: return TS_EXIT_REFUSED;
    case TS_E_LOCKED: return TS_EXIT_LOCKED;
    case TS_E_STALE: return TS_EXIT_STALE;
    case TS_E_CONN:
    case TS_E_BUSY: return TS_EXIT_UNAVAILABLE;
    default: return TS_EXIT_FAILED;
    }
}
