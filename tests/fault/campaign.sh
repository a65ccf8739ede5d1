#!/bin/sh
# campaign.sh: a bounded fault campaign against ts-bot, loopback only.
#
#   sh tests/fault/campaign.sh            (TS_FAULT_SECONDS, default 30)
#
# A generated legacy dataset on SQLite/SQLite, live traffic from ts-traffic
# (a fake Telegram + Zarinpal playing users: /start with referral codes,
# purchases, card-to-card top-ups an admin approves, Zarinpal payments, promo
# codes, tickets), and ts-bot killed with SIGKILL at random moments and
# restarted, again and again, while every data increment is walked through
# expanded, dual_write (+ backfill), shadow, read_new and, for subscriptions,
# promos and payments, new_only and back: the stages mix. At the end the traffic
# stops and the bot confirms everything, and the campaign checks:
#
#   - every update sent was confirmed, and every confirmed update was
#     applied exactly once (one ts_processed_updates row each, no more);
#   - no update failed (a failed update is one a user lost);
#   - every user the traffic created has the balance its completed
#     transactions add up to;
#   - every approved card receipt has exactly one deposit, its own;
#     (these two for the users the traffic created: the generated history is
#     awkward on purpose)
#   - ts-verify diff is clean.
#
# Exits 1 naming what did not hold; the logs stay in the printed directory.
# `make check` runs it for 30 s, `make fault` for 300 s (TS_FAULT_SECONDS).
set -eu
cd "$(dirname "$0")/../.."
. scripts/traffic.sh
secs=${TS_FAULT_SECONDS:-30}
users=${TS_FAULT_USERS:-300}
dir=$(mktemp -d "${TMPDIR:-/tmp}/ts-fault.XXXXXX")
export TS_LEGACY_URL="sqlite:$dir/legacy.db"
export TS_NEW_URL="sqlite:$dir/new.db"
export TS_MASTER_TOKEN="100000:fault-campaign-token"

say() { printf 'fault: %s\n' "$*"; }
fail() {
    say "FAILED: $* (logs in $dir)"
    exit 1
}
# A process that stopped acknowledging (the killed bot) is stale after 2 s; a
# stage change that a live process did not apply in time (exit 4) still
# happened, so the walk goes on.
migrate() {
    rc=0
    bin/ts-migrate --actor fault --liveness 2 --ack-timeout 30 --min-compared 0 "$@" \
        >>"$dir/migrate.log" 2>&1 || rc=$?
    [ "$rc" -eq 0 ] || [ "$rc" -eq 4 ] || fail "ts-migrate $* exited $rc"
}
# The bot may hold a lock for a moment: wait for it as ts-bot does.
sql() { sqlite3 -cmd ".timeout 10000" "${2:-$dir/legacy.db}" "$1"; }

pids=
cleanup() {
    for p in $pids $(cat "$dir/bot.pid" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# A random number of milliseconds in [lo, hi).
rand_ms() { echo $(($1 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % ($2 - $1))); }

bin/ts-fixtures gen --seed 7 --users "$users" --out "$TS_LEGACY_URL" >/dev/null 2>&1 ||
    fail "ts-fixtures gen"
migrate init
base=$(sql "SELECT coalesce(max(id), 0) FROM users")
# The traffic's promo code, usable by every user once.
sql "UPDATE promocodes SET type = 'balance', balance_bonus_kopeks = 10000, max_uses = 1000000,
     current_uses = 0, valid_from = NULL, valid_until = NULL, is_active = 1 WHERE code = 'WELCOME'"

"${TS_TRAFFIC:-build/tools/ts-traffic}" --token "$TS_MASTER_TOKEN" --users 40 --rate 60 --duration 3600 \
    --mix full --admin 424242 --replies "$dir/replies.jsonl" >"$dir/traffic.out" \
    2>"$dir/traffic.log" &
traffic=$!
pids="$pids $traffic"
bot_config "$dir/bot.json" "$(traffic_wait "$dir")"
start_bot() {
    bin/ts-bot --config "$dir/bot.json" >>"$dir/bot.log" 2>&1 &
    echo $! >"$dir/bot.pid"
}
start_bot

# The chaos: SIGKILL the bot every 0.3-1.5 s for $secs seconds, restart it at once.
(
    kills=0
    end=$(($(date +%s) + secs))
    while [ "$(date +%s)" -lt "$end" ]; do
        ms=$(rand_ms 300 1500)
        sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
        kill -9 "$(cat "$dir/bot.pid")" 2>/dev/null || true
        wait "$(cat "$dir/bot.pid")" 2>/dev/null || true
        kills=$((kills + 1))
        start_bot
    done
    echo "$kills" >"$dir/kills"
) &
chaos=$!
pids="$pids $chaos"

# The walk, while the chaos runs: every increment forward, then three of them
# to new_only while the others stay at read_new, and back.
data="1.1 2.1 2.3 2.4 3.2 3.3"
for id in $data; do migrate advance "$id" --to expanded; done
# A plan to buy and a card to top up by, in the master bot's new tables.
sql "INSERT INTO bot_plans (bot_id, id, name, period_days, price_kopeks)
    VALUES (1, 1, '30 days', 30, 50000);
    INSERT INTO tenant_payment_cards (bot_id, id, card_number, card_holder_name)
    VALUES (1, 1, '6104337812345678', 'Fault Campaign')" "$dir/new.db"
for id in $data; do migrate advance "$id" --to dual_write; done
for id in $data; do migrate backfill "$id"; done
for stage in shadow read_new; do
    for id in $data; do migrate advance "$id" --to "$stage"; done
done
# new_only children first, then back parents first (docs/architecture.md).
for id in 3.3 3.2 2.3; do migrate advance "$id" --to new_only; done
sleep 2
for id in 2.3 3.2 3.3; do migrate rollback "$id" --to read_new; done

wait "$chaos" || true
kill -0 "$(cat "$dir/bot.pid")" 2>/dev/null || start_bot
kill -USR1 "$traffic"   # stop the traffic; serve until the bot confirmed it all
wait "$traffic" || true
kill -TERM "$(cat "$dir/bot.pid")" 2>/dev/null || true
wait "$(cat "$dir/bot.pid")" 2>/dev/null || true

summary=$(tail -n 1 "$dir/traffic.out")
sent=$(echo "$summary" | sed -n 's/.*updates_sent=\([0-9]*\).*/\1/p')
confirmed=$(echo "$summary" | sed -n 's/.* confirmed=\([0-9]*\).*/\1/p')
kills=$(cat "$dir/kills")
[ -n "$sent" ] && [ "$sent" -gt 0 ] || fail "the traffic sent nothing: $summary"
say "$kills kills of ts-bot in ${secs} s; $sent updates sent, $confirmed confirmed"

[ "$confirmed" -eq "$sent" ] || fail "$((sent - confirmed)) updates were never confirmed"
processed=$(sql "SELECT count(*) FROM ts_processed_updates")
[ "$processed" -eq "$sent" ] ||
    fail "$processed updates applied for $sent sent (each must apply exactly once)"
failed=$(grep -c 'event=update_failed' "$dir/bot.log" || true)
[ "$failed" -eq 0 ] || fail "$failed updates failed (grep update_failed $dir/bot.log)"
bad=$(sql "SELECT count(*) FROM users u WHERE u.id > $base AND u.balance_kopeks <> (SELECT
    coalesce(sum(CASE WHEN t.type IN ('deposit', 'referral_reward', 'refund') THEN t.amount_kopeks
    ELSE -t.amount_kopeks END), 0) FROM transactions t WHERE t.user_id = u.id AND t.is_completed)")
[ "$bad" -eq 0 ] || fail "$bad users' balances differ from their transactions"
# Card-to-card payments are new in the plan: their table is in the new store
# only, their deposits in whichever store 2.3 writes (legacy, at the end).
c2c="ATTACH '$dir/new.db' AS nw; SELECT count(*) FROM nw.card_to_card_payments r WHERE r.bot_id = 1
    AND r.user_id > $base"
bad=$(sql "$c2c AND r.status = 'approved' AND (SELECT count(*) FROM transactions t
    WHERE t.id = r.transaction_id AND t.type = 'deposit' AND t.user_id = r.user_id) <> 1")
[ "$bad" -eq 0 ] || fail "$bad approved receipts without exactly one deposit of their own"
bad=$(sql "ATTACH '$dir/new.db' AS nw; SELECT count(*) FROM (SELECT transaction_id FROM
    nw.card_to_card_payments WHERE bot_id = 1 AND user_id > $base AND transaction_id IS NOT NULL
    GROUP BY transaction_id HAVING count(*) > 1)")
[ "$bad" -eq 0 ] || fail "$bad deposits credit more than one receipt"
approved=$(sql "$c2c AND r.status = 'approved'")
bin/ts-verify diff >"$dir/diff.txt" 2>&1 || fail "ts-verify diff: $(tail -n 1 "$dir/diff.txt")"
say "ok: every update applied once, balances match, $approved approved receipts with one deposit each, diff clean"
[ -n "${TS_FAULT_KEEP:-}" ] && say "kept $dir" || rm -rf "$dir"
