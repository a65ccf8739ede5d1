/* ts-bot: the multi-bot Telegram runtime on the tenantshift shim. */
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_bot.h"
#include "ts_config.h"
#include "ts_demo.h"
#include "ts_log.h"
#include "ts_version.h"

static volatile sig_atomic_t stop_requested, kill_requested;

static void on_stop(int sig) { (void)sig, stop_requested = 1; }
static void on_kill(int sig) { (void)sig, kill_requested = 1; }

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ts-bot --demo [--config FILE]   serve the bots with the data-free menu\n"
            "       ts-bot --check-config FILE      validate FILE (and the environment), exit\n"
            "       ts-bot --help | --version\n"
            "\n"
            "ts-bot long-polls every bot in one process, serves /healthz, /metrics and the\n"
            "Zarinpal callback over HTTP. The data-backed handlers are not built yet in this\n"
            "release: --demo runs the transport with a menu that stores nothing.\n"
            "\n"
            "Configuration: a JSON object of the keys below; each environment variable\n"
            "overrides its key.\n");
    ts_config_print_keys(out);
    fprintf(out, "\nSignals: SIGTERM/SIGINT finish the update in hand, confirm offsets, exit 0;\n"
                 "SIGUSR1 turns the kill switch on (reads back to legacy) in this process.\n"
                 "Exit status: 0 ok, 1 runtime failure, 2 usage or configuration error.\n");
}

static const char *env(const char *name) { return getenv(name); }

static int check_config(const char *path)
{
    ts_config cfg;
    ts_error err;
    int rc = ts_config_load(path, env, &cfg, &err);
    ts_config_free(&cfg);
    if (rc != 0) {
        fprintf(stderr, "ts-bot: %s\n", err.msg);
        return 2;
    }
    printf("ts-bot: %s is valid\n", path);
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

    ts_bot_hooks hooks = {.handler = ts_demo_handler()};
    ts_bot *bot;
    int rc = 1;
    if (ts_bot_open(&cfg, &hooks, &bot, &err) == 0) {
        rc = ts_bot_run(bot, &stop_requested, &kill_requested, &err) == 0 ? 0 : 1;
        ts_bot_close(bot);
    }
    if (rc != 0)
        fprintf(stderr, "ts-bot: %s\n", err.msg);
    ts_config_free(&cfg);
    return rc;
}

int main(int argc, char **argv)
{
    const char *config = NULL;
    int demo = 0;
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
        else if (strcmp(argv[i], "--demo") == 0)
            demo = 1;
        else {
            fprintf(stderr, "ts-bot: unknown or incomplete argument \"%s\"\n\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!demo) {
        fprintf(stderr, "ts-bot: the data-backed handlers are not built yet: run with --demo to "
                        "serve the data-free menu\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = serve(config);
    curl_global_cleanup();
    return rc;
}
