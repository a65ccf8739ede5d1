/* ts_test.c: fresh stores and temp files for the unit tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ts_test.h"

void ts_test_temp_path(char *out, size_t n, const char *suffix)
{
    const char *dir = getenv("TMPDIR");
    int fd;

    snprintf(out, n, "%s/tenantshift-XXXXXX%s", dir && *dir ? dir : "/tmp", suffix);
    fd = mkstemps(out, (int)strlen(suffix));
    if (fd < 0)
        fail_msg("cannot create a temp file %s: set TMPDIR to a writable directory", out);
    close(fd);
}

void ts_test_remove_db(const char *path)
{
    static const char *const ext[] = {"", "-journal", "-wal", "-shm"};
    char p[600];

    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
        snprintf(p, sizeof p, "%s%s", path, ext[i]);
        unlink(p);
    }
}

int ts_test_store_url(ts_engine engine, ts_test_target *t)
{
    static unsigned counter;
    const char *pg = getenv("TS_TEST_PG_URL");
    const char *require = getenv("TS_TEST_REQUIRE_PG");

    memset(t, 0, sizeof *t);
    t->engine = engine;
    if (engine == TS_ENGINE_SQLITE) {
        ts_test_temp_path(t->path, sizeof t->path, ".db");
        snprintf(t->url, sizeof t->url, "sqlite:%s", t->path);
        return 0;
    }
    if (pg == NULL || *pg == '\0') {
        if (require != NULL && strcmp(require, "1") == 0)
            fail_msg("TS_TEST_REQUIRE_PG=1 but TS_TEST_PG_URL is not set: run the tests "
                     "with tests/run.sh, which starts a PostgreSQL cluster");
        return 1;
    }
    /* pid, time and a counter: unique within a run and across runs on one server. */
    snprintf(t->schema, sizeof t->schema, "t_%ld_%ld_%u", (long)getpid(), (long)time(NULL),
             counter++);
    snprintf(t->url, sizeof t->url, "%s%cschema=%s", pg, strchr(pg, '?') ? '&' : '?',
             t->schema);
    return 0;
}

int ts_test_store_urls(ts_test_target t[TS_TEST_MAX_ENGINES])
{
    int n = 0;

    if (ts_test_store_url(TS_ENGINE_SQLITE, &t[n]) == 0)
        n++;
    if (ts_test_store_url(TS_ENGINE_PG, &t[n]) == 0)
        n++;
    return n;
}

void ts_test_target_cleanup(ts_test_target *t)
{
    if (t->path[0] != '\0')
        ts_test_remove_db(t->path);
    if (t->schema[0] != '\0') {
        /* Best effort: the schema may be gone with its server (a lost-connection test). */
        ts_store *s;
        ts_error err;
        char q[TS_IDENT_MAX + 3], sql[TS_IDENT_MAX + 32];
        if (ts_store_open(t->url, &s, &err) == 0) {
            if (ts_quote_ident(t->schema, q, &err) == 0) {
                snprintf(sql, sizeof sql, "DROP SCHEMA %s CASCADE", q);
                ts_store_script(s, sql, &err);
            }
            ts_store_close(s);
        }
    }
    memset(t, 0, sizeof *t);
}
