#!/bin/sh
# run.sh DIR: run every benchmark binary in DIR against a throwaway PostgreSQL.
#
# Starts a cluster (tests/pg/cluster.sh), exports TS_TEST_PG_URL, runs each
# executable in DIR with $TS_BENCH_ARGS (e.g. a smaller row count), prints
# what they print, and always removes the cluster and the temp dir.
#
# Placement, per benchmark. bench_shim and bench_bot time one client's
# operations against the server, round trip by round trip: with two or more
# CPUs the server runs on the last one and the benchmark (and the ts-bot it
# drives) on the others, as a database on its own host would. Unpinned, the
# scheduler puts a connection's backend on the client's CPU (a round trip is
# a context switch) or not (an idle-CPU wakeup, 2-3x slower on a VM), per
# connection and at random, so a stage could win a ratio by placement alone.
# bench_backfill and bench_verify compare bulk tools whose baselines run
# several processes or threads (pgloader, sort): there every process may use
# every CPU. TS_BENCH_PIN lists the pinned ones.
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
last=$(($(nproc 2>/dev/null || echo 1) - 1))
pinned="${TS_BENCH_PIN:-bench_shim bench_bot}"
# The postmaster and its helpers (when pgrep is there to find them) get CPUs
# $1; the backends of later connections inherit the postmaster's.
server_cpus() {
    pm=$(head -1 "$TMPDIR/pg/data/postmaster.pid")
    for pid in $pm $(pgrep -P "$pm" 2>/dev/null); do
        taskset -a -p -c "$1" "$pid" >/dev/null
    done
}
rc=0
for bin in "$bins"/*; do
    [ -f "$bin" ] && [ -x "$bin" ] || continue
    name=$(basename "$bin")
    pin=
    if [ "$last" -ge 1 ] && command -v taskset >/dev/null 2>&1; then
        case " $pinned " in
        *" $name "*)
            server_cpus "$last"
            pin="taskset -c 0-$((last - 1))"
            echo "== $name (server on CPU $last, benchmark on CPUs 0-$((last - 1)))" ;;
        *)
            server_cpus "0-$last"
            echo "== $name (every process on CPUs 0-$last)" ;;
        esac
    else
        echo "== $name"
    fi
    # shellcheck disable=SC2086 # $pin and TS_BENCH_ARGS are word lists on purpose
    $pin "$bin" ${TS_BENCH_ARGS:-} || rc=1
done
exit $rc
