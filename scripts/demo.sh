#!/bin/sh
# demo.sh: the main job end to end on the embedded SQLite default.
# Today: generate a legacy dataset and print its digest; each later stage of the
# migration joins this script as it is built (see README.md, Status).
set -eu
cd "$(dirname "$0")/.."
dir=${TS_DEMO_DIR:-demo}
users=${TS_DEMO_USERS:-10000}
rm -rf "$dir"
mkdir -p "$dir"
echo "== generating a legacy dataset of $users users in $dir/legacy.db"
bin/ts-fixtures gen --seed 42 --users "$users" --out "sqlite:$dir/legacy.db"
echo "== digest of the legacy store"
bin/ts-fixtures digest --url "sqlite:$dir/legacy.db"
