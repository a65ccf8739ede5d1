#!/bin/sh
# run.sh DIR: run every benchmark binary in DIR against a throwaway PostgreSQL.
#
# Starts a cluster (tests/pg/cluster.sh), exports TS_TEST_PG_URL, runs each
# executable in DIR with $TS_BENCH_ARGS (e.g. a smaller row count), prints
# what they print, and always removes the cluster and the temp dir.
set -u
[ $# -eq 1 ] && [ -d "$1" ] || {
    echo "usage: $0 DIR_OF_BENCH_BINARIES" >&2
    exit 2
}
bins=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/pg/session.sh"
pg_session_start ts-bench
export TS_LOG_LEVEL="${TS_LOG_LEVEL:-warn}"
rc=0
for bin in "$bins"/*; do
    [ -f "$bin" ] && [ -x "$bin" ] || continue
    echo "== $(basename "$bin")"
    # shellcheck disable=SC2086 # TS_BENCH_ARGS is a word list on purpose
    "$bin" ${TS_BENCH_ARGS:-} || rc=1
done
exit $rc
