/*
 * ts_mdraft.h: ts-migrate manifest draft: a manifest for the legacy store as
 * its catalog has it, which init accepts unchanged.
 *
 * Every live table is in an increment (tables whose foreign keys form a
 * cycle together, every other table alone, in dependency order, each
 * depending on the increments it refers to and on 1.1, which creates the
 * tenant tables), keyed by its primary key (else a unique key of NOT NULL
 * columns), its new table derived from it. A table without such a key is
 * listed under "ignored" with what to do. Written as JSON to out.
 */
#ifndef TS_MDRAFT_H
#define TS_MDRAFT_H

#include <stdio.h>

#include "ts_error.h"

int ts_mdraft_run(const char *legacy_url, FILE *out, ts_error *err);

#endif
