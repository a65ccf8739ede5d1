#!/bin/sh
# Install the Debian packages tenantshift builds, tests and benchmarks with, when missing.
# Safe to run again: it does nothing when everything is there.
set -eu
PKGS="build-essential pkg-config libsqlite3-dev sqlite3 libpq-dev postgresql-15 postgresql-client-15
libcjson-dev libcurl4-openssl-dev libcmocka-dev libssl-dev libmicrohttpd-dev valgrind pgloader"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "error: missing Debian packages:$missing" >&2
    echo "hint: run 'sudo make deps' (or apt-get install$missing) and try again" >&2
    exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
