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
#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ts_control.h"
#include "ts_schema.h"
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

int ts_test_pg_auth_url(const char *password, const char *dbname, char *out, size_t n)
{
    ts_test_target t;
    if (ts_test_store_url(TS_ENGINE_PG, &t))
        return 1;
    const char *pg = getenv("TS_TEST_PG_URL");
    ts_test_exec(pg, "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = "
                     "'ts_password_user') THEN CREATE ROLE ts_password_user LOGIN PASSWORD "
                     "'right'; END IF; END $$");
    /* A later keyword of a libpq URI overrides an earlier one. */
    snprintf(out, n, "%s%cuser=ts_password_user%s%s%s%s", pg, strchr(pg, '?') ? '&' : '?',
             password ? "&password=" : "", password ? password : "", dbname ? "&dbname=" : "",
             dbname ? dbname : "");
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

const char *ts_test_pair_name(ts_pair_kind kind)
{
    return kind == TS_PAIR_SQLITE ? "sqlite" : kind == TS_PAIR_PG ? "postgresql" : "sqlite->postgresql";
}

static ts_store *open_or_fail(const char *url)
{
    ts_store *s;
    ts_error err;
    if (ts_store_open(url, &s, &err))
        fail_msg("open %s: %s", url, err.msg);
    return s;
}

int ts_test_pair_make(ts_pair_kind kind, ts_test_pair *p)
{
    ts_error err;
    ts_manifest *m;
    memset(p, 0, sizeof *p);
    p->kind = kind;
    if (ts_test_store_url(kind == TS_PAIR_PG ? TS_ENGINE_PG : TS_ENGINE_SQLITE, &p->legacy) ||
        ts_test_store_url(kind == TS_PAIR_SQLITE ? TS_ENGINE_SQLITE : TS_ENGINE_PG, &p->nw)) {
        ts_test_pair_cleanup(p);
        return 1;
    }
    ts_store *l = open_or_fail(p->legacy.url), *n = open_or_fail(p->nw.url);
    if (ts_manifest_load_default(&m, &err) || ts_schema_apply(l, ts_schema_legacy(), &err) ||
        ts_schema_apply(n, ts_schema_new(), &err) || ts_control_init(l, n, m, &err))
        fail_msg("preparing %s pair: %s", ts_test_pair_name(kind), err.msg);
    const ts_value *master = ts_manifest_constant(m, "master_bot_id");
    ts_value args[2] = {*master, ts_text(TS_TEST_MASTER_TOKEN)};
    if (ts_store_exec(n, "INSERT INTO bots (id, name, telegram_bot_token, is_master) "
                         "VALUES ($1, 'master', $2, TRUE)", args, 2, NULL, &err) ||
        ts_store_id_floor(n, "bots", master->i, &err))
        fail_msg("master bot: %s", err.msg);
    ts_manifest_free(m);
    ts_store_close(l);
    ts_store_close(n);
    return 0;
}

void ts_test_pair_cleanup(ts_test_pair *p)
{
    ts_test_target_cleanup(&p->legacy);
    ts_test_target_cleanup(&p->nw);
}

void ts_test_exec(const char *url, const char *sql)
{
    ts_error err;
    ts_store *s = open_or_fail(url);
    if (ts_store_script(s, sql, &err))
        fail_msg("%s: %s", sql, err.msg);
    ts_store_close(s);
}

int64_t ts_test_int(const char *url, const char *sql)
{
    ts_error err;
    int64_t v = -1;
    ts_store *s = open_or_fail(url);
    int rc = ts_store_query_int(s, sql, NULL, 0, &v, &err);
    if (rc < 0)
        fail_msg("%s: %s", sql, err.msg);
    ts_store_close(s);
    return rc == 0 ? -1 : v;
}

void ts_test_set_stage(const char *new_url, const char *increment_id, const char *stage)
{
    ts_error err;
    ts_store *s = open_or_fail(new_url);
    ts_value p[2] = {ts_text(stage), ts_text(increment_id)};
    int64_t changed = 0;
    if (ts_store_exec(s, "UPDATE ts_increments SET stage = $1, version = version + 1 WHERE id = $2",
                      p, 2, &changed, &err) || changed != 1)
        fail_msg("set stage of %s to %s: %s", increment_id, stage, changed ? err.msg : "no such increment");
    ts_store_close(s);
}

/* The whole file at path (malloc'd, NUL-terminated); fails the test when unreadable. */
static char *read_whole(const char *path);

int ts_test_run(const char *const *args, const char *const *env, char **out, char **errout)
{
    char po[512], pe[512];
    int status;
    ts_test_temp_path(po, sizeof po, "-run.out");
    ts_test_temp_path(pe, sizeof pe, "-run.err");
    extern char **environ;
    size_t n = 0, k = 0;
    while (environ[n])
        n++;
    for (; env && env[k]; k++)
        ;
    /* the environment is built here: the child only calls what is safe after fork */
    char **envp = calloc(n + k + 1, sizeof *envp);
    assert_non_null(envp);
    if (k)
        memcpy(envp, env, k * sizeof *envp);
    memcpy(envp + k, environ, n * sizeof *envp);   /* the extras first: they win */
    pid_t pid = fork();
    if (pid < 0)
        fail_msg("fork: %s", strerror(errno));
    if (pid == 0) {
        /* the child: only async-signal-safe calls until exec (the test may have threads) */
        int fo = open(po, O_WRONLY | O_TRUNC), fe = open(pe, O_WRONLY | O_TRUNC);
        if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
            _exit(126);
        execve(args[0], (char *const *)args, envp);
        _exit(127);
    }
    int waited = waitpid(pid, &status, 0) == pid;
    free(envp);
    if (!waited || !WIFEXITED(status))
        fail_msg("%s did not exit normally", args[0]);
    *out = read_whole(po);
    *errout = read_whole(pe);
    unlink(po);
    unlink(pe);
    if (WEXITSTATUS(status) == 127)
        fail_msg("%s could not be run (make all first)", args[0]);
    return WEXITSTATUS(status);
}


static char *read_whole(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot read %s (run the tests from the repository root)", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)n + 1);
    if (text == NULL || fread(text, 1, (size_t)n, f) != (size_t)n)
        fail_msg("cannot read %s", path);
    text[n] = '\0';
    fclose(f);
    return text;
}

char *ts_test_read_file(const char *path) { return read_whole(path); }

void ts_test_load_real_schema(const char *url)
{
    ts_error err;
    ts_store *s = open_or_fail(url);
    char *ddl = read_whole(ts_store_engine(s) == TS_ENGINE_PG
                               ? "fixtures/real-schema/remnabot-2025-12-12.pg.sql"
                               : "fixtures/real-schema/remnabot-2025-12-12.sqlite.sql");
    if (ts_store_script(s, ddl, &err))
        fail_msg("loading the real schema into %s: %s", url, err.msg);
    free(ddl);
    ts_store_close(s);
}

static int setup_store(void **state, ts_engine engine)
{
    static ts_test_store_fx f[2];
    ts_test_store_fx *fx = &f[engine == TS_ENGINE_PG];
    ts_error err;
    memset(fx, 0, sizeof *fx);
    int rc = ts_test_store_url(engine, &fx->target);
    if (rc == 1)
        return -1; /* engine unavailable and not required: cmocka reports the setup failure */
    if (rc != 0 || ts_store_open(fx->target.url, &fx->store, &err)) {
        fprintf(stderr, "cannot open %s: %s\n", fx->target.url, err.msg);
        return -1;
    }
    *state = fx;
    return 0;
}

int ts_test_setup_sqlite(void **state) { return setup_store(state, TS_ENGINE_SQLITE); }
int ts_test_setup_pg(void **state) { return setup_store(state, TS_ENGINE_PG); }

int ts_test_teardown_store(void **state)
{
    ts_test_store_fx *fx = *state;
    ts_store_close(fx->store);
    ts_test_target_cleanup(&fx->target);
    return 0;
}
