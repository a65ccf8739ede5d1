/*
 * embed.c: an application embedding the installed shim, built by
 * tests/install/check.sh through pkg-config against the installed headers and
 * library only. It counts the master bot's users through the shim on the store
 * pair given on the command line and prints the library's version.
 */
#include <inttypes.h>
#include <stdio.h>

#include <ts_log.h>
#include <ts_repo.h>
#include <ts_shim.h>
#include <ts_version.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: embed LEGACY_URL NEW_URL\n");
        return 2;
    }
    ts_shim_config cfg = {.legacy_url = argv[1], .new_url = argv[2], .program = "embed",
                          .shadow_fraction = -1};
    ts_shim *sh = NULL;
    ts_tx *tx = NULL;
    ts_error err;
    int64_t users = -1;
    ts_log_set_level(TS_LOG_WARN);
    if (ts_shim_open(&cfg, &sh, &err) == 0) {
        ts_ctx ctx = ts_shim_master(sh);
        if (ts_shim_begin(sh, &ctx, &tx, &err) == 0) {
            if (ts_repo_user_count(tx, &users, &err) != 0)
                ts_tx_rollback(tx);
            else if (ts_tx_commit(tx, &err) != 0)
                users = -1;
        }
    }
    ts_shim_close(sh);
    if (users < 0) {
        fprintf(stderr, "embed: %s\n", err.msg);
        return 1;
    }
    printf("tenantshift %s: %" PRId64 " users\n", TS_VERSION, users);
    return 0;
}
