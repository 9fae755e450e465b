#!/usr/bin/env bash
# Effects from the command line on the embedded log (issue 16): an order is placed, paid and
# shipped in the in-process shop; one that cannot be shipped is undone; the shop's own store
# (`shop stock`, read after the runs) shows the stock that adds up; `compensations` lists a
# saga that stopped with an effect left, and only that one.
set -euo pipefail
bin=$1
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
stock_of() { "$bin" shop stock --data-dir "$dir" | awk -v p="$1" '$1 == p { print $2 }'; }

conv_of() { sed -n 's/^conversation \([^ ]*\) on .*/\1/p' <<<"$1"; }
out=$("$bin" ask "Order 3 Tidal Buds and ship them to Vienna" --data-dir "$dir")
order_out=$out
grep -qx 'Done: ordered 3 x Tidal Buds (order o-1, 387 GBP); charged 387 GBP (payment p-1); booked shipping of order o-1 to Vienna (shipment s-1).' <<<"$out" \
  || fail "order: $out"
[ "$(stock_of tidal-buds)" = 37 ] || fail "stock after the order: $(stock_of tidal-buds)"

out=$("$bin" ask "Please order 2 Tidal Buds and deliver them to Atlantis" --data-dir "$dir") && fail "a failed turn exits 0"
grep -q 'Undone: refunded payment p-2 (258 GBP); cancelled order o-2 (items back in stock).$' <<<"$out" \
  || fail "compensated order: $out"
grep -q 'PlanCompensated  *s2 chargePayment undone by refundPayment, s1 placeOrder undone by cancelOrder$' <<<"$out" \
  || fail "PlanCompensated line: $out"
[ "$(stock_of tidal-buds)" = 37 ] || fail "stock after the undone order: $(stock_of tidal-buds)"

# A budget: the shipment would be the third tool invocation of a turn allowed two.
out=$("$bin" ask "Order 1 Tidal Buds and ship them to Paris" --max-turn-invocations 2 --data-dir "$dir") \
  && fail "a turn over budget exits 0"
grep -qx 'I could not complete this request: budget exceeded: one more tool invocation after 2, max-turn-invocations is 2. Done before that: ordered 1 x Tidal Buds (order o-3, 129 GBP); charged 129 GBP (payment p-3). Undone: refunded payment p-3 (129 GBP); cancelled order o-3 (items back in stock).' <<<"$out" \
  || fail "budget answer: $out"
[ "$(stock_of tidal-buds)" = 37 ] || fail "stock after the turn over budget: $(stock_of tidal-buds)"

out=$("$bin" compensations --data-dir "$dir")
[ "$out" = "no saga stopped with effects left" ] || fail "compensations before: $out"

# A plan written by hand whose compensation names a shipment that does not exist: the saga
# stops, the order stays placed, and `compensations` says so.
now=$(date -u +%Y-%m-%dT%H:%M:%S.000Z)
printf '%s' '{"specversion":"1.0","id":"kept/query","type":"UserQueryReceived","source":"eventide/cli-test","time":"'"$now"'","subject":"kept","datacontenttype":"application/json","data":{"conversationId":"kept","userId":"u","query":"Order a Kestrel S5 and ship it to Atlantis","receivedAt":1}}' \
  | "$bin" produce user-commands kept - --data-dir "$dir" > /dev/null
printf '%s' '{"specversion":"1.0","id":"kept/plan/1","type":"PlanGenerated","source":"eventide/cli-test","time":"'"$now"'","subject":"kept","datacontenttype":"application/json","data":{"planVersion":1,"plan":{"steps":[{"id":"s1","tool":"placeOrder","args":{"product":"Kestrel S5","quantity":1},"compensation":{"tool":"cancelShipment","args":{"shipmentId":"s-999"}}},{"id":"s2","tool":"shipOrder","args":{"orderId":"{{steps.s1.result.orderId}}","city":"Atlantis"}}]},"planner":{"provider":"hand","model":"written"},"planningMs":0}}' \
  | "$bin" produce conversation-events kept - --data-dir "$dir" > /dev/null
out=$("$bin" resume --data-dir "$dir" 2>&1) || true
grep -q "Not undone: s1 (placeOrder): its cancelShipment failed: unknown_shipment: unknown shipment 's-999'" <<<"$out" \
  || fail "answer of the stopped saga: $out"
out=$("$bin" compensations --data-dir "$dir")
expected="kept turn 1: compensation cancelShipment of step s1 failed: unknown_shipment: unknown shipment 's-999'
  left: s1 placeOrder (cancelShipment failed: unknown_shipment: unknown shipment 's-999')"
[ "$out" = "$expected" ] || fail "compensations after: $out"
[ "$(stock_of kestrel-s5)" = 5 ] || fail "the kept order's stock: $(stock_of kestrel-s5)"

# A retry runs what is left again under a new invocation id; here it fails again (the shipment
# still does not exist), and the listing shows the new round.
out=$("$bin" compensations retry kept --data-dir "$dir") && fail "a retry that fails exits 0"
grep -q 'ToolInvocationRequested  *s1 cancelShipment attempt 1 {"shipmentId":"s-999"}$' <<<"$out" \
  || fail "retry request: $out"
grep -q 'CompensationFailed ' <<<"$out" || fail "retry end: $out"
"$bin" dump conversation-events --data-dir "$dir" | grep -q '"invocationId":"kept/compensate-1/s1"' \
  || fail "the retry's invocation id"
[ "$("$bin" compensations --data-dir "$dir")" = "$expected" ] || fail "compensations after the retry"
set +e
err=$("$bin" compensations retry "$(conv_of "$order_out")" --data-dir "$dir" 2>&1 >/dev/null); rc=$?
set -e
[ "$rc" = 1 ] && grep -q "refused (orchestrator): turn 1 already ended$" <<<"$err" \
  || fail "retry of a saga that did not stop: rc=$rc $err"

set +e
err=$("$bin" compensations retry-everything --data-dir "$dir" 2>&1); rc=$?
set -e
[ "$rc" = 2 ] && [ "$(wc -l <<<"$err")" = 1 ] || fail "bad subcommand: rc=$rc $err"
echo "saga cli ok"
