/*
 * ts_vcli.h: the ts-verify command line: parse, open stores, run a command,
 * render the report, map the outcome to the exit code.
 *
 * Exit codes:
 *   0  clean: no difference, every invariant holds
 *   1  differences or violations found (or a diff stopped by --max-chunks)
 *   2  usage or configuration error (bad option, bad manifest, unknown
 *      increment, a store without its schema, a checkpoint that does not fit)
 *   3  a store is unreachable
 */
#ifndef TS_VCLI_H
#define TS_VCLI_H

#include <stdio.h>

enum { TS_VEXIT_CLEAN = 0, TS_VEXIT_DIFF = 1, TS_VEXIT_USAGE = 2, TS_VEXIT_UNREACHABLE = 3 };

/* Run ts-verify with argv; the report goes to out, errors to errout. */
int ts_verify_main(int argc, char **argv, FILE *out, FILE *errout);

extern const char ts_verify_usage[];

#endif
