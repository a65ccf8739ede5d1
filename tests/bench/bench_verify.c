/*
 * bench_verify.c: ts-verify diff against what an operator would do by hand.
 *
 *   1. same PostgreSQL, N identical users: diff of increment 2.1 versus
 *      SELECT count(*) FROM (legacy EXCEPT ALL new) plus the reverse;
 *   2. the same with 100 scattered differences, versus the identical case;
 *   3. legacy SQLite, new PostgreSQL: diff versus a dump-sort-diff pipeline
 *      (sqlite3 CSV | sort, psql COPY | sort, diff).
 * Prints times and ratios; asserts nothing about time.
 *
 *   bench_verify [USERS]     default 1000000; PostgreSQL from TS_TEST_PG_URL
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_support.h"
#include "ts_diff.h"
#include "ts_schema.h"

/* Every column of the real bot's users: the diff compares them all, so EXCEPT ALL does too. */
#define COLS "id, telegram_id, username, first_name, last_name, status, language, " \
             "balance_kopeks, used_promocodes, has_had_paid_subscription, referred_by_id, " \
             "referral_code, created_at, updated_at, last_activity, remnawave_uuid, " \
             "lifetime_used_traffic_bytes, auto_promo_group_assigned, " \
             "auto_promo_group_threshold_kopeks, referral_commission_percent, " \
             "promo_offer_discount_percent, promo_offer_discount_source, " \
             "promo_offer_discount_expires_at, last_remnawave_sync, trojan_password, vless_uuid, " \
             "ss_password, has_made_first_topup, promo_group_id"

static void die(const char *what, const ts_error *err)
{
    fprintf(stderr, "bench_verify: %s: %s\n", what, err ? err->msg : "failed");
    exit(1); /* a benchmark program: nothing to unwind */
}

static ts_store *open_store(const char *url)
{
    ts_store *s;
    ts_error err;
    if (ts_store_open(url, &s, &err))
        die(url, &err);
    return s;
}

static void run(ts_store *s, const char *sql)
{
    ts_error err;
    if (ts_store_script(s, sql, &err))
        die(sql, &err);
}

/* N synthetic users, bulk loaded: a few NULLs, unicode, fractions of seconds. */
static void load_users(ts_store *s, int64_t n)
{
    static const char *const cols[] = {"id", "telegram_id", "username", "first_name", "last_name",
                                       "status", "language", "balance_kopeks", "used_promocodes",
                                       "has_had_paid_subscription", "referral_code", "remnawave_uuid",
                                       "created_at", "auto_promo_group_assigned",
                                       "auto_promo_group_threshold_kopeks",
                                       "promo_offer_discount_percent", "has_made_first_topup"};
    ts_bulk *b;
    ts_error err;
    char user[32], first[48], code[32], uuid[48], at[TS_TIME_MAX];
    if (ts_bulk_begin(s, "users", cols, 17, &b, &err))
        die("bulk users", &err);
    for (int64_t i = 1; i <= n; i++) {
        snprintf(user, sizeof user, "user%lld", (long long)i);
        snprintf(first, sizeof first, "%s %lld", i % 7 ? "Anna" : "\xd8\xb9\xd9\x84\xdb\x8c", (long long)i);
        snprintf(code, sizeof code, "R%lld", (long long)i);
        snprintf(uuid, sizeof uuid, "uuid-%lld", (long long)i);
        ts_time_from_unix(1700000000 + i * 37, (int32_t)(i % 1000) * 1000, at);
        ts_value row[17] = {ts_int(i), ts_int(100000000 + i), ts_text(user),
                            ts_text(first), i % 3 ? ts_null() : ts_text(""), ts_text("active"),
                            ts_text("fa"), ts_int(i * 13 % 100000), ts_int(i % 4),
                            ts_bool(i % 2), ts_text(code), i % 11 ? ts_text(uuid) : ts_null(),
                            ts_time(at), ts_bool(i % 5 == 0), ts_int(i * 100), ts_int(i % 30),
                            ts_bool(i % 3 == 0)};
        if (ts_bulk_add(b, row, &err))
            die("bulk users", &err);
    }
    if (ts_bulk_finish(b, &err))
        die("bulk users", &err);
}

static double time_diff(ts_store *legacy, ts_store *nw, const ts_manifest *m, int64_t *diffs)
{
    const ts_increment *inc = ts_manifest_find(m, "2.1");
    return bench_diff(legacy, nw, &inc, 1, diffs);
}

static double time_except(ts_store *s, const char *ls, const char *ns)
{
    char sql[1024];
    int64_t a, b;
    ts_error err;
    double t = bench_now();
    snprintf(sql, sizeof sql, "SELECT count(*) FROM (SELECT " COLS " FROM %s.users EXCEPT ALL "
             "SELECT " COLS " FROM %s.users WHERE bot_id = 1) x", ls, ns);
    if (ts_store_query_int(s, sql, NULL, 0, &a, &err) < 0)
        die("except", &err);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM (SELECT " COLS " FROM %s.users WHERE bot_id = 1 "
             "EXCEPT ALL SELECT " COLS " FROM %s.users) x", ns, ls);
    if (ts_store_query_int(s, sql, NULL, 0, &b, &err) < 0)
        die("except", &err);
    return bench_now() - t;
}

int main(int argc, char **argv)
{
    const char *pg = getenv("TS_TEST_PG_URL");
    int64_t n = argc > 1 ? atoll(argv[1]) : 1000000, diffs;
    char lurl[1200], nurl[1200], sqpath[256], cmd[4096];
    ts_error err;
    ts_manifest *m;
    if (pg == NULL || n < 1000) {
        fprintf(stderr, "usage: TS_TEST_PG_URL=postgresql://... bench_verify [USERS >= 1000]\n");
        return 2;
    }
    if (ts_manifest_load_default(&m, &err))
        die("manifest", &err);
    snprintf(lurl, sizeof lurl, "%s%cschema=bench_legacy", pg, strchr(pg, '?') ? '&' : '?');
    snprintf(nurl, sizeof nurl, "%s%cschema=bench_new", pg, strchr(pg, '?') ? '&' : '?');
    ts_store *admin = open_store(pg);
    run(admin, "DROP SCHEMA IF EXISTS bench_legacy CASCADE; DROP SCHEMA IF EXISTS bench_new CASCADE;"
               "CREATE SCHEMA bench_legacy; CREATE SCHEMA bench_new");
    ts_store *legacy = open_store(lurl), *nw = open_store(nurl);
    if (ts_schema_apply(legacy, ts_schema_legacy(), &err) ||
        ts_schema_apply(nw, ts_schema_new(), &err) || ts_schema_apply(nw, ts_schema_control(), &err))
        die("schemas", &err);
    double t = bench_now();
    load_users(legacy, n);
    run(admin, "INSERT INTO bench_new.bots (id, name, telegram_bot_token, is_master) "
               "VALUES (1, 'master', '1:x', TRUE);"
               "INSERT INTO bench_new.users (bot_id, " COLS ") SELECT 1, " COLS
               " FROM bench_legacy.users; ANALYZE bench_legacy.users; ANALYZE bench_new.users");
    printf("setup: %lld users in %.1f s\n", (long long)n, bench_now() - t);

    double d1 = time_diff(legacy, nw, m, &diffs);
    double e1 = time_except(admin, "bench_legacy", "bench_new");
    printf("1. same PostgreSQL, identical: diff %.2f s (%lld differences), EXCEPT ALL both ways "
           "%.2f s: ratio %.2f (goal <= 1.5)\n", d1, (long long)diffs, e1, d1 / e1);

    snprintf(cmd, sizeof cmd, "UPDATE bench_new.users SET balance_kopeks = balance_kopeks + 1 "
             "WHERE id %% %lld = 17", (long long)(n / 100));
    run(admin, cmd);
    double d2 = time_diff(legacy, nw, m, &diffs);
    printf("2. 100 scattered differences: diff %.2f s (%lld differences) vs identical %.2f s: "
           "ratio %.2f (goal <= 1.2)\n", d2, (long long)diffs, d1, d2 / d1);
    run(admin, "UPDATE bench_new.users SET balance_kopeks = balance_kopeks - 1 WHERE id % 10 = 7 AND "
               "balance_kopeks <> (SELECT balance_kopeks FROM bench_legacy.users l WHERE "
               "l.id = bench_new.users.id)");

    /* Cross-engine: the legacy users in SQLite, the same new store. */
    snprintf(sqpath, sizeof sqpath, "%s/bench_verify_%d.db", getenv("TMPDIR") ? getenv("TMPDIR")
             : "/tmp", (int)getpid());
    unlink(sqpath);
    char squrl[300];
    snprintf(squrl, sizeof squrl, "sqlite:%s", sqpath);
    ts_store *sq = open_store(squrl);
    if (ts_schema_apply(sq, ts_schema_legacy(), &err))
        die("sqlite schema", &err);
    load_users(sq, n);
    double d3 = time_diff(sq, nw, m, &diffs);
    const char *pgurl = pg;
    t = bench_now();
    snprintf(cmd, sizeof cmd,
             "sqlite3 -csv '%s' 'SELECT " COLS " FROM users' | sort > '%s.a' && "
             "psql -q '%s' -c 'COPY (SELECT " COLS " FROM bench_new.users WHERE bot_id = 1) "
             "TO STDOUT CSV' | sort > '%s.b' && { diff '%s.a' '%s.b' > /dev/null; true; }",
             sqpath, sqpath, pgurl, sqpath, sqpath, sqpath);
    if (system(cmd) != 0)
        die("dump-sort-diff pipeline", NULL);
    double p3 = bench_now() - t;
    printf("3. SQLite legacy vs PostgreSQL new: diff %.2f s (%lld differences), dump-sort-diff "
           "%.2f s: diff is %.2fx faster (goal >= 2)\n", d3, (long long)diffs, p3, p3 / d3);
    snprintf(cmd, sizeof cmd, "rm -f '%s.a' '%s.b'", sqpath, sqpath);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_verify: could not remove the dumps\n");

    ts_store_close(sq);
    unlink(sqpath);
    ts_store_close(legacy);
    ts_store_close(nw);
    run(admin, "DROP SCHEMA bench_legacy CASCADE; DROP SCHEMA bench_new CASCADE");
    ts_store_close(admin);
    ts_manifest_free(m);
    return 0;
}
