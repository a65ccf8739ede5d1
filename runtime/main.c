/* ts-bot: the multi-bot Telegram runtime on the tenantshift shim. */
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ts_app.h"
#include "ts_bot.h"
#include "ts_config.h"
#include "ts_conform.h"
#include "ts_log.h"
#include "ts_version.h"

static volatile sig_atomic_t stop_requested, kill_requested;

static void on_stop(int sig) { (void)sig, stop_requested = 1; }
static void on_kill(int sig) { (void)sig, kill_requested = 1; }

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ts-bot [--config FILE]          serve the bots\n"
            "       ts-bot --check-config FILE      validate FILE (and the environment), exit\n"
            "       ts-bot --help | --version\n"
            "\n"
            "ts-bot long-polls every bot in one process and answers through the tenantshift\n"
            "shim (legacy and new stores, routed by each increment's stage); it serves\n"
            "/healthz, /metrics and the Zarinpal callback over HTTP. See docs/bot.md.\n"
            "\n"
            "Configuration: a JSON object of the keys below; each environment variable\n"
            "overrides its key.\n");
    ts_config_print_keys(out);
    fprintf(out, "\nSignals: SIGTERM/SIGINT finish the update in hand, confirm offsets, exit 0;\n"
                 "SIGUSR1 turns the kill switch on (reads back to legacy) in this process.\n"
                 "Exit status: 0 ok, 1 runtime failure, 2 usage or configuration error (also: a\n"
                 "store refused the user, password or database; restarting does not help).\n");
}

static const char *env(const char *name) { return getenv(name); }

/*
 * The legacy store's tables against the manifest the shim routes by
 * (ts_conform.h): 0 conforms, 1 does not (err says where), 2 not checked (a
 * store that is not there yet: err says why).
 */
static int check_tables(const ts_config *cfg, ts_error *err)
{
    ts_store *legacy = NULL, *nw = NULL;
    ts_manifest *m = NULL;
    /* Opening a SQLite file that is not there would create it. */
    if (strncmp(cfg->legacy_url, "sqlite:", 7) == 0 && access(cfg->legacy_url + 7, F_OK) != 0) {
        ts_fail(err, TS_E_CONN, "the legacy store %s does not exist yet", cfg->legacy_url);
        return 2;
    }
    /* A new store not made yet has no contracted increments to tell. */
    int new_there = strncmp(cfg->new_url, "sqlite:", 7) != 0 || access(cfg->new_url + 7, F_OK) == 0;
    if (ts_store_open(cfg->legacy_url, &legacy, err) ||
        (new_there && ts_store_open_beside(legacy, cfg->new_url, &nw, err))) {
        ts_store_close(legacy);
        return 2;
    }
    ts_problems p = {0};
    int rc = ts_manifest_load_live(cfg->manifest[0] ? cfg->manifest : NULL, legacy, &m, err) ||
                     ts_conform_collect(legacy, nw, m, &p, err) ||
                     ts_conform_repositories(legacy, m, &p, err)
                 ? -1
                 : ts_problems_fail(&p, err, TS_E_SCHEMA, "the legacy store does not match what "
                                    "ts-bot and the manifest need", "account for each, then "
                                    "check again");
    ts_problems_free(&p);
    ts_manifest_free(m);
    ts_store_close(nw);
    ts_store_close(legacy);
    return rc ? (err->code == TS_E_SCHEMA ? 1 : 2) : 0;
}

static int check_config(const char *path)
{
    ts_config cfg;
    ts_error err;
    if (ts_config_load(path, env, &cfg, &err) != 0) {
        fprintf(stderr, "ts-bot: %s\n", err.msg);
        ts_config_free(&cfg);
        return 2;
    }
    int tables = check_tables(&cfg, &err);
    ts_config_free(&cfg);
    if (tables == 1) {
        fprintf(stderr, "ts-bot: %s: %s\n", path, err.msg);
        return 2;
    }
    printf("ts-bot: %s is valid", path);
    if (tables == 2)
        printf("; the stores' tables were not checked: %s\n", err.msg);
    else
        printf(", and the manifest accounts for every table and column of the legacy store\n");
    return 0;
}

static int serve(const char *path)
{
    ts_config cfg;
    ts_error err;
    if (ts_config_load(path, env, &cfg, &err) != 0) {
        fprintf(stderr, "ts-bot: %s\n", err.msg);
        ts_config_free(&cfg);
        return 2;
    }
    ts_log_set_level((ts_log_level)ts_log_parse_level(cfg.log_level));
    struct sigaction sa = {.sa_handler = on_stop};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_kill;
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);   /* a peer closing a socket is an error code, not a death */

    ts_shim_config sc = {.legacy_url = cfg.legacy_url,
                         .new_url = cfg.new_url,
                         .program = "ts-bot",
                         .shadow_fraction = cfg.shadow_fraction,
                         .shadow_timeout_ms = cfg.shadow_timeout_ms,
                         .kill_switch_file = cfg.kill_switch_file[0] ? cfg.kill_switch_file : NULL,
                         .manifest_path = cfg.manifest[0] ? cfg.manifest : NULL};
    ts_shim *sh = NULL;
    ts_app *app = NULL;
    ts_bot *bot = NULL;
    int rc = -1;
    if (ts_shim_open(&sc, &sh, &err) == 0 && ts_app_open(&cfg, sh, NULL, &app, &err) == 0) {
        ts_bot_hooks hooks = ts_app_hooks(app);
        if (ts_bot_open(&cfg, &hooks, &bot, &err) == 0) {
            ts_app_attach(app, bot);
            rc = ts_bot_run(bot, &stop_requested, &kill_requested, &err);
        }
    }
    if (rc != 0) {
        fprintf(stderr, "ts-bot: %s\n", err.msg);
        /* A configuration the stores refuse does not get better by restarting. */
        rc = err.code == TS_E_USAGE || err.code == TS_E_AUTH ? 2 : 1;
    }
    /* Everything in hand was committed before ts_bot_run returned; closing the
       shim removes this process from ts_processes. */
    ts_bot_close(bot);
    ts_app_close(app);
    ts_shim_close(sh);
    ts_config_free(&cfg);
    return rc;
}

int main(int argc, char **argv)
{
    const char *config = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--version") == 0) {
            printf("ts-bot %s\n", TS_VERSION);
            return 0;
        }
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--check-config") == 0 && i + 1 < argc) {
            curl_global_init(CURL_GLOBAL_DEFAULT);
            int rc = check_config(argv[i + 1]);
            curl_global_cleanup();
            return rc;
        }
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            config = argv[++i];
        else {
            fprintf(stderr, "ts-bot: unknown or incomplete argument \"%s\"\n\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = serve(config);
    curl_global_cleanup();
    return rc;
}
