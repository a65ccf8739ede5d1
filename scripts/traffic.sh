# traffic.sh: sourced by scripts/demo.sh and tests/fault/campaign.sh: live
# traffic from ts-traffic and the ts-bot configuration that serves it.
#
#   free_port                       a free loopback TCP port
#   traffic_wait DIR                the fake's base URL, once ts-traffic printed it
#                                   to DIR/traffic.out
#   bot_config FILE FAKE [JSON]     ts-bot's configuration for the stores in
#                                   TS_LEGACY_URL / TS_NEW_URL and the master
#                                   token TS_MASTER_TOKEN, against the fake at
#                                   FAKE, plus the JSON members JSON ("k": v, ...)

free_port() {
    while :; do
        p=$((20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000))
        ss -Hltn "sport = :$p" 2>/dev/null | grep -q . || { echo "$p"; return; }
    done
}

traffic_wait() {
    for _ in $(seq 50); do [ -s "$1/traffic.out" ] && break; sleep 0.1; done
    head -n 1 "$1/traffic.out"
}

# The admin chat 424242 is the one ts-traffic approves card receipts in.
bot_config() {
    port=$(free_port)
    cat >"$1" <<EOF2
{"legacy_url": "$TS_LEGACY_URL", "new_url": "$TS_NEW_URL", "bot_token": "$TS_MASTER_TOKEN",
 "telegram_url": "$2", "zarinpal_url": "$2",
 "zarinpal_merchant": "00000000-0000-0000-0000-000000000000",
 "public_url": "http://127.0.0.1:$port", "http_port": $port, "poll_timeout_s": 1,
 "flag_cache_ttl_s": 1, "admin_chat_id": 424242${3:+, $3}}
EOF2
}
