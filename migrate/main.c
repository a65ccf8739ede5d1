/* ts-migrate: the operator CLI: status, plan, advance, backfill, rollback, repair, contract. */
#include <stdio.h>
#include <string.h>

#include "ts_version.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: ts-migrate [--help] [--version]\n"
                 "ts-migrate: the operator CLI: status, plan, advance, backfill, rollback, repair, contract.\n"
                 "Not built yet in this release: see README.md for what works.\n");
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("ts-migrate %s\n", TS_VERSION);
        return 0;
    }
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    usage(stderr);
    return 2;
}
