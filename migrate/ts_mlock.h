/*
 * ts_mlock.h: one operator at a time.
 *
 * PostgreSQL: a session advisory lock (pg_try_advisory_lock) keyed by the new
 * store's schema; it dies with the holder's connection. SQLite: a lease row in
 * ts_lock, taken under BEGIN IMMEDIATE, renewed by ts_mlock_beat; it expires
 * when its heartbeat is older than the TTL, or at once when its holder was on
 * this host and its pid is gone. On both, the ts_lock row says who holds it:
 * a second operator is refused with TS_E_LOCKED and
 *     locked by <actor>@<host> pid <pid> since <time> (<command>)
 */
#ifndef TS_MLOCK_H
#define TS_MLOCK_H

#include "ts_mig.h"

typedef struct ts_mlock {
    ts_mig *g;
    int held;
    int64_t key;        /* PostgreSQL advisory lock key */
    int64_t beat_ms;    /* last lease renewal */
} ts_mlock;

int ts_mlock_acquire(ts_mlock *l, ts_mig *g, const char *command, ts_error *err);
/* Renew the lease (every few seconds at most; cheap to call often). Fails
   when the lease was taken away (unlock --force). */
int ts_mlock_beat(ts_mlock *l, ts_error *err);
/* Inside the caller's transaction on the new store: 0 while this run still
   holds the lock, TS_E_LOCKED when it was taken away (unlock --force, an
   expired lease, a PostgreSQL session lost and reopened). A chunk of a
   backfill checks it before it writes, in its transaction, so none commits
   after the lock is gone. 0 for a lock never acquired (dry run, C API). */
int ts_mlock_check(ts_mlock *l, ts_error *err);
void ts_mlock_release(ts_mlock *l);

/* Who holds the lock, as the refusal says it; "" when nobody. */
int ts_mlock_holder(ts_mig *g, char *out, size_t n, ts_error *err);
/* Break the lock whoever holds it; *was gets the holder (may be ""). */
int ts_mlock_break(ts_mig *g, char *was, size_t n, ts_error *err);

#endif
