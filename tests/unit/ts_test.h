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

/*
 * A URL of the test server as the role ts_password_user, which must give its
 * password (tests/pg/cluster.sh sets that up; the role is created here, with the
 * password "right"): password NULL gives none. dbname NULL keeps the server's.
 * Returns 0, or 1 when PostgreSQL is not available (the caller skips).
 */
int ts_test_pg_auth_url(const char *password, const char *dbname, char *out, size_t n);

/* Remove what ts_test_store_url made: the SQLite file, the PostgreSQL schema. */
void ts_test_target_cleanup(ts_test_target *t);

/* A new empty file under $TMPDIR (or /tmp) named tenantshift-*suffix, path in out. */
void ts_test_temp_path(char *out, size_t n, const char *suffix);

/* Remove a SQLite database file and its journal, WAL and shared-memory files. */
void ts_test_remove_db(const char *path);

/*
 * A legacy and a new store ready for the shim: legacy schema in one, new
 * schema, control plane and journal in the other, every increment registered
 * (at legacy / off), the master bot in bots.
 *   TS_PAIR_SQLITE  two SQLite files (the new one ATTACHed: one transaction)
 *   TS_PAIR_PG      two schemas of one PostgreSQL database (one transaction)
 *   TS_PAIR_CROSS   legacy SQLite, new PostgreSQL (journal)
 */
typedef enum ts_pair_kind { TS_PAIR_SQLITE, TS_PAIR_PG, TS_PAIR_CROSS } ts_pair_kind;

typedef struct ts_test_pair {
    ts_pair_kind kind;
    ts_test_target legacy, nw;
} ts_test_pair;

#define TS_TEST_MASTER_TOKEN "1000:MASTER-secret-token"

/* 0 ready, 1 PostgreSQL unavailable (skip); fails the test on errors. */
int ts_test_pair_make(ts_pair_kind kind, ts_test_pair *p);
void ts_test_pair_cleanup(ts_test_pair *p);
const char *ts_test_pair_name(ts_pair_kind kind);

/* Set an increment's stage directly (version + 1), as an operator's advance would. */
void ts_test_set_stage(const char *new_url, const char *increment_id, const char *stage);

/* Run SQL on a store URL and return the first column of the first row as int
   (-1 when no row); fails the test on errors. */
int64_t ts_test_int(const char *url, const char *sql);
/* Run SQL on a store URL; fails the test on errors. */
void ts_test_exec(const char *url, const char *sql);

/*
 * A cmocka fixture of one fresh store: ts_test_setup_sqlite / _pg put a
 * ts_test_store_fx in *state (the PostgreSQL one fails the setup when the
 * engine is not available), ts_test_teardown_store closes and removes it.
 */
typedef struct ts_test_store_fx {
    ts_test_target target;
    ts_store *store;
} ts_test_store_fx;
int ts_test_setup_sqlite(void **state);
int ts_test_setup_pg(void **state);
int ts_test_teardown_store(void **state);

/*
 * Run a program of the repository (bin/ts-admin...; tests run from its root)
 * with args (NULL-terminated, args[0] the path) and env entries "NAME=value"
 * added (NULL: none); its stdout and stderr into out and errout (NUL-ended,
 * malloc'd, free them). Returns the exit status; fails the test when it
 * cannot be run or dies on a signal.
 */
int ts_test_run(const char *const *args, const char *const *env, char **out, char **errout);

/* A file of the repository (tests run from its root), malloc'd; fails the test when unreadable. */
char *ts_test_read_file(const char *path);
/* Create the real bot's 48 tables (fixtures/real-schema) in the store at url. */
void ts_test_load_real_schema(const char *url);

/* The real bot's NOT NULL users columns without a default (its application
   fills them), and values for them: what a raw INSERT INTO users needs. */
#define TS_TEST_USER_REQUIRED "has_had_paid_subscription, auto_promo_group_assigned, " \
                              "auto_promo_group_threshold_kopeks, promo_offer_discount_percent, " \
                              "has_made_first_topup"
#define TS_TEST_USER_REQUIRED_VALUES "FALSE, FALSE, 0, 0, FALSE"

#endif
