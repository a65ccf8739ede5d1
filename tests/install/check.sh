#!/bin/sh
# check.sh: `make install` and `make uninstall`, as a user of the installed tree.
#
# Run by `make install-check` (part of `make check`) from the repository root,
# with MAKE, CC and SAN_FLAGS (the sanitizer flags of the build, or empty) set.
#   1. make install PREFIX=<temp>: the programs run, the shared library has its
#      soname, only the public headers are there, each man page renders cleanly,
#      the systemd unit verifies (when systemd-analyze is there);
#   2. tests/install/embed.c is built through pkg-config against the installed
#      library (shared, then static) and run on a store pair made by the
#      installed ts-fixtures and ts-migrate;
#   3. make uninstall leaves no file behind; then the same with DESTDIR staging.
# Prints one line per check; exits non-zero on the first failure.
set -eu
: "${MAKE:=make}" "${CC:=cc}" "${SAN_FLAGS:=}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ts-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
fail() { echo "install-check: FAILED: $*" >&2; exit 1; }
ok() { echo "install-check: ok   $*"; }

$MAKE -s install PREFIX="$prefix" >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; fail "make install"; }
lib=$prefix/lib
for p in ts-bot ts-migrate ts-admin ts-verify ts-fixtures; do
    "$prefix/bin/$p" --version | grep -q "^$p " || fail "$p --version"
    [ -f "$prefix/share/man/man1/$p.1" ] || fail "no man page for $p"
done
ok "programs in $prefix/bin run"

soname=$(objdump -p "$lib/libtsshim.so" | awk '$1 == "SONAME" { print $2 }')
[ "$soname" = libtsshim.so.0 ] || fail "soname of libtsshim.so is '$soname', want libtsshim.so.0"
[ -f "$lib/libtsshim.a" ] || fail "no static library"
ok "libtsshim.so (soname $soname) and libtsshim.a"

headers=$(cd "$prefix/include/tenantshift" && ls | tr '\n' ' ')
want="ts_arena.h ts_buf.h ts_error.h ts_log.h ts_manifest.h ts_repo.h ts_schema.h ts_shim.h ts_stage.h ts_store.h ts_value.h ts_version.h "
[ "$headers" = "$want" ] || fail "installed headers: $headers; want: $want"
# Each public header compiles on its own, with nothing but the installed ones.
for h in $headers; do
    printf '#include <%s>\n' "$h" | $CC -std=c11 -Wall -Wextra -Werror -fsyntax-only \
        -I"$prefix/include/tenantshift" -x c - || fail "$h does not compile on its own"
done
ok "public headers only ($(echo "$headers" | wc -w)), each self-contained"

for page in "$prefix"/share/man/man1/*.1; do
    warn=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null || true)
    [ -z "$warn" ] || fail "$(basename "$page"): $warn"
done
ok "man pages render without warnings"

unit=$prefix/lib/systemd/system/ts-bot.service
grep -q "^ExecStart=$prefix/bin/ts-bot --config $prefix/etc/tenantshift/ts-bot.json$" "$unit" ||
    fail "ts-bot.service does not start the installed ts-bot: $(grep ExecStart= "$unit")"
[ -f "$prefix/etc/tenantshift/ts-bot.json.example" ] || fail "no example configuration"
if command -v systemd-analyze >/dev/null 2>&1; then
    # Documentation=man:ts-bot(1) must resolve: to the page just installed.
    out=$(MANPATH=$prefix/share/man systemd-analyze verify "$unit" 2>&1) || fail "systemd-analyze verify: $out"
fi
# The example configuration is valid (with the token from the environment, as the unit has it).
TS_BOT_TOKEN=123456:example-token "$prefix/bin/ts-bot" --check-config \
    "$prefix/etc/tenantshift/ts-bot.json.example" >/dev/null || fail "the example configuration is refused"
ok "systemd unit and example configuration"

export PKG_CONFIG_PATH="$lib/pkgconfig"
[ "$(pkg-config --modversion tenantshift)" = "$(sed -n 's/^#define TS_VERSION "\(.*\)"/\1/p' shim/ts_version.h)" ] ||
    fail "pkg-config --modversion tenantshift"
legacy=sqlite:$tmp/legacy.db new=sqlite:$tmp/new.db
"$prefix/bin/ts-fixtures" gen --seed 3 --users 25 --out "$legacy" 2>/dev/null
"$prefix/bin/ts-migrate" --legacy "$legacy" --new "$new" init >/dev/null 2>&1 || fail "ts-migrate init"
# shellcheck disable=SC2046
$CC -std=c11 -Wall -Wextra -Werror $SAN_FLAGS -o "$tmp/embed" tests/install/embed.c \
    $(pkg-config --cflags --libs tenantshift) -Wl,-rpath,"$lib" || fail "building against libtsshim.so"
ldd "$tmp/embed" | grep -q "libtsshim.so.0 => $lib/" || fail "embed is not linked to the installed libtsshim.so"
out=$("$tmp/embed" "$legacy" "$new") || fail "embed (shared) failed: $out"
[ "$out" = "tenantshift $(pkg-config --modversion tenantshift): 25 users" ] || fail "embed printed: $out"
ok "a program built with pkg-config against libtsshim.so runs: $out"

static=$(pkg-config --static --libs tenantshift | sed 's/-ltsshim/-Wl,-Bstatic -ltsshim -Wl,-Bdynamic/')
# shellcheck disable=SC2046,SC2086
$CC -std=c11 -Wall -Wextra -Werror $SAN_FLAGS -o "$tmp/embed-static" tests/install/embed.c \
    $(pkg-config --cflags tenantshift) $static || fail "building against libtsshim.a"
! ldd "$tmp/embed-static" | grep -q libtsshim || fail "embed-static links libtsshim.so"
out=$("$tmp/embed-static" "$legacy" "$new") || fail "embed (static) failed: $out"
ok "the same with pkg-config --static against libtsshim.a"

$MAKE -s uninstall PREFIX="$prefix" >/dev/null
left=$(find "$prefix" -type f -o -type l)
[ -z "$left" ] || fail "make uninstall left: $left"
ok "make uninstall removes every file"

stage=$tmp/stage
$MAKE -s install DESTDIR="$stage" PREFIX=/usr >/dev/null
[ -x "$stage/usr/bin/ts-migrate" ] && [ -f "$stage/etc/tenantshift/ts-bot.json.example" ] ||
    fail "DESTDIR=$stage PREFIX=/usr: not staged under $stage/usr and $stage/etc"
grep -q '^prefix=/usr$' "$stage/usr/lib/pkgconfig/tenantshift.pc" || fail "tenantshift.pc under DESTDIR"
$MAKE -s uninstall DESTDIR="$stage" PREFIX=/usr >/dev/null
left=$(find "$stage" -type f -o -type l)
[ -z "$left" ] || fail "make uninstall DESTDIR=... left: $left"
ok "DESTDIR staging (PREFIX=/usr, configuration in /etc) installs and uninstalls"
