#!/usr/bin/env bash
# Approvals and cancellation from the command line on the embedded log (issue 16): a charge
# over the approval threshold waits; `approvals` lists it; a decision by someone else, for an
# unknown step or after the turn ended is refused by the orchestrator with the reason (exit 1);
# `approve`, `reject`, `cancel`, chat's inline question and Ctrl-C in `ask` decide; the answers
# say what happened, and the shop's own store shows the stock that follows.
set -euo pipefail
bin=$1
dir=$(mktemp -d); pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
export USER=alice # the asker, and by default the only one who may decide
stock_of() { "$bin" shop stock --data-dir "$dir" | awk -v p="$1" '$1 == p { print $2 }'; }
conv_of() { sed -n 's/^conversation \([^ ]*\) on .*/\1/p' <<<"$1"; }
ask_pending() { # asks, returns once the approval is requested (the turn waits in the log)
  local out
  out=$("$bin" ask "$1" --data-dir "$dir" --timeout 2 < /dev/null 2>&1) || true
  grep -q "ApprovalRequested" <<<"$out" || fail "no approval asked for '$1': $out"
  conv_of "$out"
}

c1=$(ask_pending "Buy 1 Nimbus Pro and ship it to Rome")
out=$("$bin" approvals --data-dir "$dir")
expected="$c1 turn 1 step s2 chargePayment {\"orderId\":\"o-1\",\"amount\":1849.0,\"currency\":\"USD\"}"
[ "$(head -1 <<<"$out")" = "$expected" ] || fail "approvals: $out"
grep -q '^  the amount 1849.00 USD is above the approval threshold of 1000.00 USD; expires in 23 h 59 min' <<<"$out" \
  || fail "approvals reason: $out"

set +e
err=$("$bin" approve "$c1" --user mallory --data-dir "$dir" 2>&1 >/dev/null); rc=$?
set -e
[ "$rc" = 1 ] || fail "mallory's approval: rc=$rc"
grep -qx "eventide: the ApprovalSubmitted was refused (orchestrator): user 'mallory' may not decide: only 'alice', who asked, may (or the configured approvers)" <<<"$err" \
  || fail "mallory's refusal: $err"
set +e
err=$("$bin" approve "$c1" s9 --data-dir "$dir" 2>&1 >/dev/null); rc=$?
set -e
[ "$rc" = 1 ] && grep -q "refused (orchestrator): no step 's9' in turn 1$" <<<"$err" || fail "unknown step: rc=$rc $err"

out=$("$bin" approve "$c1" --reason "for the office" --data-dir "$dir")
grep -q 'ApprovalGranted  *s2 by alice: for the office$' <<<"$out" || fail "granted: $out"
grep -qx 'Done: ordered 1 x Nimbus Pro (order o-1, 1849 USD); charged 1849 USD (payment p-1); booked shipping of order o-1 to Rome (shipment s-1).' <<<"$out" \
  || fail "approved answer: $out"
[ "$("$bin" approvals --data-dir "$dir")" = "no approval is pending" ] || fail "still pending"
set +e
err=$("$bin" reject "$c1" s2 --data-dir "$dir" 2>&1 >/dev/null); rc=$?
set -e
[ "$rc" = 1 ] && grep -q "refused (orchestrator): turn 1 already ended$" <<<"$err" || fail "decision after the end: rc=$rc $err"

c2=$(ask_pending "Buy 1 Nimbus Pro")
out=$("$bin" reject "$c2" --reason "not this month" --data-dir "$dir") && fail "a rejected turn exits 0"
grep -q '^I could not complete this request: step s2 (chargePayment) was not run: approval denied by alice: not this month. Done before that: ordered 1 x Nimbus Pro (order o-2, 1849 USD). Undone: cancelled order o-2 (items back in stock).$' <<<"$out" \
  || fail "rejected answer: $out"

c3=$(ask_pending "Buy 1 Nimbus Pro")
out=$("$bin" cancel "$c3" --reason "wrong product" --data-dir "$dir") && fail "a cancelled turn exits 0"
grep -q 'TurnCancelled  *by alice: wrong product$' <<<"$out" || fail "cancelled: $out"
grep -q '^I could not complete this request: the turn was cancelled by alice: wrong product. ' <<<"$out" \
  || fail "cancelled answer: $out"
set +e
err=$("$bin" cancel "$c3" --data-dir "$dir" 2>&1 >/dev/null); rc=$?
set -e
[ "$rc" = 1 ] && grep -q "refused (orchestrator): turn 1 already ended$" <<<"$err" || fail "second cancel: rc=$rc $err"

# chat asks inline; "n" rejects.
out=$(printf 'Buy 1 Nimbus Pro\nn\n/quit\n' | "$bin" chat --data-dir "$dir" --timeout 20)
grep -q 'approve s2 (chargePayment {"orderId":"o-4","amount":1849.0,"currency":"USD"})? \[y/N\]' <<<"$out" \
  || fail "chat's question: $out"
grep -q 'approval denied by alice: asked in chat' <<<"$out" || fail "chat's rejection: $out"

# Ctrl-C in ask, answered yes on stdin: the turn is cancelled, the order undone.
mkfifo "$dir/in"
"$bin" ask "Buy 1 Nimbus Pro" --data-dir "$dir" --timeout 20 < "$dir/in" > "$dir/out" 2>&1 &
pid=$!
exec 3> "$dir/in"
for _ in $(seq 1 100); do grep -qs ApprovalRequested "$dir/out" && break; sleep 0.1; done
kill -INT "$pid"
sleep 0.3
echo y >&3
wait "$pid" && fail "a cancelled ask exits 0" || true
pid=
exec 3>&-
grep -q 'cancel turn 1 of .*? \[y/N\]' "$dir/out" || fail "Ctrl-C's question: $(cat "$dir/out")"
grep -q '^I could not complete this request: the turn was cancelled by alice: interrupted (Ctrl-C).' "$dir/out" \
  || fail "Ctrl-C's answer: $(cat "$dir/out")"

# Stock: only the approved order is still placed (nimbus-pro 3 - 1).
[ "$(stock_of nimbus-pro)" = 2 ] || fail "nimbus-pro stock: $(stock_of nimbus-pro)"

set +e
err=$("$bin" approve --data-dir "$dir" 2>&1); rc=$?
set -e
[ "$rc" = 2 ] && [ "$(wc -l <<<"$err")" = 1 ] || fail "approve without an id: rc=$rc $err"
set +e
err=$("$bin" approve "$c1" --data-dir "$dir" 2>&1); rc=$?
set -e
[ "$rc" = 2 ] && [ "$err" = "eventide: no approval is pending in conversation $c1" ] || fail "nothing pending: rc=$rc $err"
echo "approvals cli ok"
