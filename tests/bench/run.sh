#!/bin/sh
# run.sh DIR: run every benchmark binary in DIR against a throwaway PostgreSQL.
#
# Starts a cluster (tests/pg/cluster.sh), exports TS_TEST_PG_URL, runs each
# executable in DIR with $TS_BENCH_ARGS (e.g. a smaller row count), prints
# what they print, and always removes the cluster and the temp dir.
#
# With two or more CPUs the server runs on the last one and the benchmarks
# (and what they start: ts-bot, pgloader) on the others, as a database on its
# own host would. Unpinned, the scheduler sometimes puts a client and its
# server backend on one CPU (a round trip is then a context switch) and
# sometimes not (an idle-CPU wakeup, 2-3x slower on a VM), per connection and
# at random, so one configuration of a ratio could win by placement alone.
set -u
[ $# -eq 1 ] && [ -d "$1" ] || {
    echo "usage: $0 DIR_OF_BENCH_BINARIES" >&2
    exit 2
}
bins=$(cd "$1" && pwd)
# The benchmarks' tables (about 100 MB at their default sizes) fit in the
# server's buffers, as a production working set would; the tests' 32 MB would
# make every run a test of eviction timing instead.
export TS_PG_SHARED_BUFFERS="${TS_PG_SHARED_BUFFERS:-256MB}"
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/pg/session.sh"
pg_session_start ts-bench
export TS_LOG_LEVEL="${TS_LOG_LEVEL:-warn}"
pin=
last=$(($(nproc 2>/dev/null || echo 1) - 1))
if [ "$last" -ge 1 ] && command -v taskset >/dev/null 2>&1; then
    pm=$(head -1 "$TMPDIR/pg/data/postmaster.pid")
    # The postmaster and its helpers; backends inherit the postmaster's CPU.
    for pid in $pm $(pgrep -P "$pm"); do
        taskset -a -p -c "$last" "$pid" >/dev/null
    done
    pin="taskset -c 0-$((last - 1))"
    echo "bench: server on CPU $last, benchmarks on CPUs 0-$((last - 1))"
fi
rc=0
for bin in "$bins"/*; do
    [ -f "$bin" ] && [ -x "$bin" ] || continue
    echo "== $(basename "$bin")"
    # shellcheck disable=SC2086 # $pin and TS_BENCH_ARGS are word lists on purpose
    $pin "$bin" ${TS_BENCH_ARGS:-} || rc=1
done
exit $rc
