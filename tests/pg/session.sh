# session.sh: sourced by tests/run.sh and tests/bench/run.sh: a throwaway
# PostgreSQL cluster for the life of the calling script.
#
#   here=<the tests/ directory>
#   . "$here/pg/session.sh"
#   pg_session_start ts-test      # TS_TEST_PG_URL and TMPDIR point at it now;
#                                 # TS_TEST_PG_DIR and TS_TEST_PG_CLUSTER let a test
#                                 # restart it: sh "$TS_TEST_PG_CLUSTER" restart "$TS_TEST_PG_DIR" fast
#   pg_child=$!                   # optional: a child to stop first on exit
#
# The cluster, the child (and its process group) and the temp dir are removed
# however the script ends: normally, failing, or interrupted.

pg_tmp=
pg_child=
pg_here=$here

pg_session_cleanup() {
    trap '' INT TERM # a second ^C must not cut the cleanup short
    if [ -n "$pg_child" ]; then
        kill -TERM "-$pg_child" 2>/dev/null || kill -TERM "$pg_child" 2>/dev/null
        wait "$pg_child" 2>/dev/null
    fi
    if [ -n "$pg_tmp" ]; then
        sh "$pg_here/pg/cluster.sh" stop "$pg_tmp/pg" >/dev/null 2>&1
        rm -rf "$pg_tmp"
    fi
}

pg_session_start() {
    trap pg_session_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    pg_tmp=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX") || exit 1
    # The server may run as nobody (under root): it must reach the cluster dir.
    chmod 711 "$pg_tmp"
    TS_TEST_PG_URL=$(sh "$pg_here/pg/cluster.sh" start "$pg_tmp/pg") || {
        echo "$0: could not start PostgreSQL (see above)" >&2
        exit 1
    }
    # SQLite files of tests and benchmarks go here too, so nothing outlives the run.
    TMPDIR="$pg_tmp"
    TS_TEST_PG_DIR="$pg_tmp/pg"
    TS_TEST_PG_CLUSTER="$pg_here/pg/cluster.sh"
    export TS_TEST_PG_URL TMPDIR TS_TEST_PG_DIR TS_TEST_PG_CLUSTER
}
