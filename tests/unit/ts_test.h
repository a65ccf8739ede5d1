/*
 * ts_test.h: support shared by the cmocka tests in tests/unit.
 *
 * Store tests run on every engine available: a fresh SQLite file always, and
 * PostgreSQL when TS_TEST_PG_URL names a server (tests/run.sh starts one), in a
 * fresh schema so tests never see each other's tables. With TS_TEST_REQUIRE_PG=1
 * a missing TS_TEST_PG_URL fails the test instead of skipping PostgreSQL.
 *
 * Include after <cmocka.h> and its prerequisites.
 */
#ifndef TS_TEST_H
#define TS_TEST_H

#include <stddef.h>

#include "ts_store.h"

#define TS_TEST_MAX_ENGINES 2

typedef struct ts_test_target {
    ts_engine engine;
    char url[1024];
    char path[512];   /* SQLite file to remove afterwards; "" for PostgreSQL */
    char schema[64];  /* PostgreSQL schema to drop afterwards; "" for SQLite */
} ts_test_target;

/*
 * Prepare a fresh store URL on engine. Returns 0, or 1 when the engine is not
 * available (PostgreSQL without TS_TEST_PG_URL): the caller skips.
 */
int ts_test_store_url(ts_engine engine, ts_test_target *t);

/* Fill t with every available engine; returns how many. */
int ts_test_store_urls(ts_test_target t[TS_TEST_MAX_ENGINES]);

/* Remove what ts_test_store_url made: the SQLite file, the PostgreSQL schema. */
void ts_test_target_cleanup(ts_test_target *t);

/* A new empty file under $TMPDIR (or /tmp) named tenantshift-*suffix, path in out. */
void ts_test_temp_path(char *out, size_t n, const char *suffix);

/* Remove a SQLite database file and its journal, WAL and shared-memory files. */
void ts_test_remove_db(const char *path);

#endif
