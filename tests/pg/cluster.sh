#!/bin/sh
# cluster.sh: a throwaway PostgreSQL cluster for tests.
#
#   cluster.sh start DIR   create a cluster in DIR (made if missing), start it and
#                          print its URL on stdout
#   cluster.sh stop DIR    stop it at once and delete DIR
#   cluster.sh restart DIR fast|immediate
#                          restart the server of DIR (same port), as an operator would
#   cluster.sh pause DIR   stop the server of DIR (fast shutdown), keeping its data
#   cluster.sh resume DIR  start it again on its port
#
# Tuned for speed, not durability: fsync and friends are off, and it is reachable
# only through a unix socket in DIR and 127.0.0.1. Every role logs in without a
# password (trust) except ts_password_user, which needs one (scram-sha-256): the
# tests of a wrong password create that role. PostgreSQL refuses to run as
# root, so under root the server runs as the unprivileged user nobody.
# TS_PG_SHARED_BUFFERS overrides the small default (benchmarks size it like a
# server whose working set fits).
set -eu

usage() {
    echo "usage: $0 start|stop|pause|resume DIR, or $0 restart DIR fast|immediate" >&2
    exit 2
}
[ $# -eq 2 ] || [ $# -eq 3 ] || usage
cmd=$1
dir=$2
mode=${3:-}

die() {
    echo "cluster.sh: $*" >&2
    exit 1
}

bindir=/usr/lib/postgresql/15/bin
[ -x "$bindir/initdb" ] || bindir=$(pg_config --bindir 2>/dev/null) || true
[ -x "$bindir/initdb" ] ||
    die "PostgreSQL server binaries not found: install postgresql-15 (make deps)"

if [ "$(id -u)" -eq 0 ]; then
    pguser=nobody
    as_pg() { (cd / && runuser -u nobody -- "$@"); }
else
    pguser=$(id -un)
    as_pg() { "$@"; }
fi

# A random port in 20000-60000 that no one listens on over TCP.
pick_port() {
    while :; do
        n=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
        port=$((20000 + n % 40001))
        if ! ss -Hltn "sport = :$port" 2>/dev/null | grep -q .; then
            echo "$port"
            return
        fi
    done
}

start() {
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    # The unix socket path must fit sockaddr_un (107 bytes).
    [ ${#dir} -le 80 ] || die "$dir is too long for a unix socket path: use a shorter DIR"
    [ ! -e "$dir/data" ] || die "$dir/data exists: stop that cluster first or pick another DIR"
    if [ "$pguser" = nobody ]; then
        chown nobody "$dir"
        as_pg test -w "$dir" ||
            die "user nobody cannot write $dir: make its parent directories searchable (chmod o+x)"
    fi
    # Marks DIR as ours, so stop never deletes a directory it did not make.
    : >"$dir/.ts-cluster"

    as_pg "$bindir/initdb" -D "$dir/data" -U "$pguser" --auth=trust -E UTF8 \
        --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
        as_pg "$bindir/initdb" -D "$dir/data" -U "$pguser" --auth=trust -E UTF8 \
            --locale=C >"$dir/initdb.log" 2>&1 ||
        die "initdb failed, see $dir/initdb.log: $(tail -n 3 "$dir/initdb.log")"
    { printf 'local all ts_password_user scram-sha-256\nhost all ts_password_user 127.0.0.1/32 scram-sha-256\n'
      cat "$dir/data/pg_hba.conf"; } >"$dir/pg_hba.conf"
    as_pg cp "$dir/pg_hba.conf" "$dir/data/pg_hba.conf"
    cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
fsync = off
full_page_writes = off
synchronous_commit = off
max_connections = 50
shared_buffers = ${TS_PG_SHARED_BUFFERS:-32MB}
EOF
    # Another process can take the port between the check and the bind: retry.
    tries=0
    while :; do
        port=$(pick_port)
        if as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
            -o "-p $port" start >/dev/null 2>&1; then
            break
        fi
        tries=$((tries + 1))
        [ $tries -lt 5 ] || die "server did not start, see $dir/server.log: $(tail -n 3 "$dir/server.log")"
    done
    "$bindir/pg_isready" -q -h "$dir" -p "$port" -t 30 ||
        die "server started but does not accept connections, see $dir/server.log"
    echo "$port" >"$dir/port"
    echo "postgresql:///postgres?host=$dir&port=$port&user=$pguser"
}

stop() {
    [ -d "$dir" ] || return 0
    [ -e "$dir/.ts-cluster" ] || die "$dir was not made by cluster.sh start: not deleting it"
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_pg "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
        # pg_ctl failed (say, data dir damaged): kill the postmaster we started.
        if [ -f "$dir/data/postmaster.pid" ]; then
            pid=$(head -n 1 "$dir/data/postmaster.pid")
            kill -9 "$pid" 2>/dev/null || true
        fi
    fi
    rm -rf "$dir"
}

ours() {
    [ -e "$dir/.ts-cluster" ] && [ -f "$dir/port" ] || die "$dir is not a cluster made by cluster.sh start"
}

restart() {
    ours
    case $mode in fast | immediate) ;; *) usage ;; esac
    # pg_ctl restart starts the server with the options of its last start (the port).
    as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m "$mode" -w -t 60 restart \
        >/dev/null 2>&1 || die "restart failed, see $dir/server.log: $(tail -n 3 "$dir/server.log")"
}

pause() {
    ours
    as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 ||
        die "stop failed, see $dir/server.log: $(tail -n 3 "$dir/server.log")"
}

resume() {
    ours
    as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $(cat "$dir/port")" start >/dev/null 2>&1 ||
        die "start failed, see $dir/server.log: $(tail -n 3 "$dir/server.log")"
}

case $cmd in
start) start ;;
stop) stop ;;
restart) restart ;;
pause) pause ;;
resume) resume ;;
*) usage ;;
esac
