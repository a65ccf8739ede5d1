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
tmp=
cleanup() {
    if [ -n "$tmp" ]; then
        sh "$here/pg/cluster.sh" stop "$tmp/pg" >/dev/null 2>&1
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ts-bench.XXXXXX") || exit 1
chmod 711 "$tmp"
TS_TEST_PG_URL=$(sh "$here/pg/cluster.sh" start "$tmp/pg") || {
    echo "run.sh: could not start PostgreSQL" >&2
    exit 1
}
export TS_TEST_PG_URL TMPDIR="$tmp" TS_LOG_LEVEL="${TS_LOG_LEVEL:-warn}"
rc=0
for bin in "$bins"/*; do
    [ -f "$bin" ] && [ -x "$bin" ] || continue
    echo "== $(basename "$bin")"
    # shellcheck disable=SC2086 # TS_BENCH_ARGS is a word list on purpose
    "$bin" ${TS_BENCH_ARGS:-} || rc=1
done
exit $rc
