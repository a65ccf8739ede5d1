#!/bin/sh
# run.sh DIR: run every test binary in DIR on SQLite and on a throwaway PostgreSQL.
# TS_TEST_SKIP="name ..." leaves those binaries out (named in the output).
#
# Starts a cluster (tests/pg/cluster.sh), exports TS_TEST_PG_URL and
# TS_TEST_REQUIRE_PG=1, runs each executable in DIR (under valgrind when
# TS_VALGRIND=1), and ends with the line "N passed, N failed" counting single
# tests. Exits non-zero when a test failed or a binary failed on its own (crash,
# sanitizer or valgrind error). The cluster and the temp dir are removed however
# the run ends.
set -u

[ $# -eq 1 ] && [ -d "$1" ] || {
    echo "usage: $0 DIR_OF_TEST_BINARIES" >&2
    exit 2
}
bins=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)

. "$here/pg/session.sh"
pg_session_start ts-test
export TS_TEST_REQUIRE_PG=1
tmp=$pg_tmp

spawn=
! command -v setsid >/dev/null 2>&1 || spawn=setsid
run=
if [ "${TS_VALGRIND:-0}" = 1 ]; then
    run="valgrind -q --leak-check=full --error-exitcode=99 --errors-for-leak-kinds=definite,indirect"
fi

passed=0
failed=0
bad_bins=
for bin in "$bins"/*; do
    [ -f "$bin" ] && [ -x "$bin" ] || continue
    name=$(basename "$bin")
    case " ${TS_TEST_SKIP:-} " in
    *" $name "*) echo "== $name: skipped (TS_TEST_SKIP)"; continue ;;
    esac
    log="$tmp/$name.log"
    echo "== $name"
    # In the background so a signal reaches the trap at once instead of after
    # the test ends; setsid gives it a process group of its own to kill.
    $spawn $run "$bin" >"$log" 2>&1 &
    pg_child=$!
    wait "$pg_child"
    rc=$?
    pg_child=
    cat "$log"
    # cmocka prints one summary per group: "[  PASSED  ] N test(s)." and
    # "[  FAILED  ] N test(s), listed below:".
    p=$(awk '/^\[  PASSED  \] [0-9]+ test/ { n += $4 } END { print n + 0 }' "$log")
    f=$(awk '/^\[  FAILED  \] [0-9]+ test\(s\), listed below/ { n += $4 } END { print n + 0 }' "$log")
    if ! grep -q '^\[  PASSED  \] [0-9]* test' "$log"; then
        # No summary at all: it died mid-run; count the tests that got through.
        p=$(grep -c '^\[       OK \]' "$log")
    fi
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        # Exited badly with no failed test: crash, sanitizer, leak. Counts as one.
        f=1
        echo "run.sh: $name exited with status $rc"
    fi
    [ "$f" -eq 0 ] || bad_bins="$bad_bins $name"
    passed=$((passed + p))
    failed=$((failed + f))
done

[ -z "$bad_bins" ] || echo "failing:$bad_bins"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
