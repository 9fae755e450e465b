#!/usr/bin/env bash
# `eventide shop serve` as its own process: an order with an Idempotency-Key, kill -9, a restart
# on the same data dir, and the same request again: the first answer replayed byte for byte
# (Idempotent-Replayed: true) and exactly one order_placed effect. SIGTERM stops it with 0; bad
# usage is one line and exit 2.
set -euo pipefail
bin=$1
dir=$(mktemp -d)
pid=""
trap '[ -z "$pid" ] || kill -9 "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; cat "$dir"/*.out "$dir"/*.err >&2 2>/dev/null || true; exit 1; }

# Starts the shop on an ephemeral port; sets pid and url once it says it listens.
start_shop() { # name
  : > "$dir/$1.out"
  "$bin" shop serve --port 0 --data-dir "$dir/data" > "$dir/$1.out" 2> "$dir/$1.err" &
  pid=$!
  for _ in $(seq 1 100); do
    line=$(head -n 1 "$dir/$1.out")
    [ -n "$line" ] && break
    kill -0 "$pid" 2>/dev/null || fail "shop exited before listening"
    sleep 0.1
  done
  [[ "$line" =~ ^shop:\ listening\ on\ (http://127\.0\.0\.1:[0-9]+)\ \(data\ dir\ $dir/data\)$ ]] \
    || fail "unexpected first line: '$line'"
  url=${BASH_REMATCH[1]}
}

order='{"product":"Tidal Buds","quantity":2}'
post_order() { # name: writes name.head and name.body
  curl -sS -D "$dir/$1.head" -o "$dir/$1.body" -X POST -H 'Idempotency-Key: inv-42' \
    -H 'Content-Type: application/json' --data "$order" "$url/orders"
}

start_shop first
post_order first
grep -q '^HTTP/1.1 201' "$dir/first.head" || fail "first order not 201"
grep -qi '^Idempotent-Replayed' "$dir/first.head" && fail "a first answer marked replayed"
kill -9 "$pid"
{ wait "$pid"; } 2>/dev/null || true
pid=""

start_shop second
post_order second
grep -q '^HTTP/1.1 201' "$dir/second.head" || fail "replayed order not 201"
grep -qi '^Idempotent-Replayed: true' "$dir/second.head" || fail "no Idempotent-Replayed header"
cmp -s "$dir/first.body" "$dir/second.body" || fail "replayed body differs"
effects=$(curl -sS "$url/effects")
[ "$(grep -o '"kind":"order_placed"' <<<"$effects" | wc -l)" -eq 1 ] || fail "effects: $effects"
stock=$(curl -sS "$url/stock/tidal-buds")
[ "$stock" = '{"product":"tidal-buds","name":"Tidal Buds","stock":38}' ] || fail "stock: $stock"

# The store belongs to the running shop.
set +e; err=$("$bin" shop stock --data-dir "$dir/data" 2>&1 >/dev/null); rc=$?; set -e
[ "$rc" -eq 1 ] && grep -q "in use by another process" <<<"$err" || fail "shop stock while serving: $rc $err"

kill -TERM "$pid"
for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "shop did not stop on SIGTERM"
wait "$pid" || fail "shop exited non-zero on SIGTERM"
pid=""
grep -qx 'shop: stopped (SIGTERM)' "$dir/second.out" || fail "no stop line"
grep -qx 'tidal-buds 38' <<<"$("$bin" shop stock --data-dir "$dir/data")" || fail "shop stock after stop"

expect_usage() { # expected-substring args...
  local want=$1; shift
  set +e; err=$("$bin" "$@" 2>&1 >/dev/null); rc=$?; set -e
  [ "$rc" -eq 2 ] || fail "exit $rc for: $* ($err)"
  [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || fail "not one line for: $*: $err"
  grep -qF -- "$want" <<<"$err" || fail "expected '$want' for: $*, got: $err"
}
expect_usage "bad option" shop serve --port notanumber --data-dir "$dir"
expect_usage "port must be between 0 (ephemeral) and 65535" shop serve --port 70000 --data-dir "$dir"
expect_usage "unknown shop command 'frobnicate'" shop frobnicate --data-dir "$dir"
expect_usage "usage: eventide shop serve" shop --data-dir "$dir"
expect_usage "card-limit must be a positive number" shop serve --card-limit 0 --data-dir "$dir"
echo "cli shop serve: ok"
