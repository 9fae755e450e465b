#!/usr/bin/env bash
# kill -9 mid-plan, then `eventide resume` on the same data dir finishes the conversation with
# no duplicate tool effect and no second answer -- checked on the raw records of the log and on
# the tool runs counted where they happen (EVENTIDE_EFFECT_LOG).
set -euo pipefail
bin=$1
dir=$(mktemp -d); trap 'kill -9 $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; cat "$dir/ask.out" >&2 || true; exit 1; }
logcheck() { python3 "$(dirname "$0")/../lib/logcheck.py" "$@"; }
export EVENTIDE_EFFECT_LOG=$dir/effects.log

# The exchange-rate worker is not running in this process: the plan waits at s2.
"$bin" ask "How much does the Aurora X1 cost in EUR including 19% VAT?" --data-dir "$dir" \
  --roles router,orchestrator,aggregator,synthesis,worker-getProductInformation,worker-math \
  --timeout 60 > "$dir/ask.out" 2>&1 &
pid=$!
for _ in $(seq 1 200); do
  grep -q 'ToolInvocationRequested  s2 exchangeRate' "$dir/ask.out" && break
  sleep 0.05
done
grep -q 'ToolInvocationRequested  s2 exchangeRate' "$dir/ask.out" || fail "s2 never requested"
kill -9 "$pid"; wait "$pid" 2>/dev/null || true
grep -q FinalAnswerSynthesized "$dir/ask.out" && fail "answered before the crash"

out=$("$bin" resume --data-dir "$dir" --timeout 30) || fail "resume failed: $out"
grep -q "resuming 1 unanswered conversation" <<<"$out" || fail "resume header: $out"
grep -q "1422.09" <<<"$out" || fail "resumed answer: $out"

out=$("$bin" resume --data-dir "$dir")
grep -q "nothing to resume" <<<"$out" || fail "second resume: $out"
"$bin" dump --data-dir "$dir" > "$dir/log.dump"
logcheck once "$dir/log.dump" FinalAnswerSynthesized || fail "not answered exactly once"
conv=$(sed -n 's/^conversation \([^ ]*\) on .*/\1/p' "$dir/ask.out")
for s in s1 s2 s3; do
  [ "$(logcheck count "$dir/log.dump" "$conv" ToolInvocationRequested $s)" = 1 ] || fail "$s not requested once"
done
logcheck effects "$dir/log.dump" "$dir/effects.log" || fail "a tool ran more than once"
[ "$(wc -l < "$dir/effects.log")" = 3 ] || fail "expected 3 tool runs: $(cat "$dir/effects.log")"
# The ledger lists what it recorded per invocation id (not how often a tool ran).
out=$("$bin" ledger --data-dir "$dir")
for s in s1 s2 s3; do grep -qx "$conv/1/$s attempt=1 ok" <<<"$out" || fail "ledger: $out"; done
grep -qx "3 recorded results" <<<"$out" || fail "ledger count: $out"
out=$("$bin" dlq list --data-dir "$dir")
grep -q "^0 dead letters" <<<"$out" || fail "dead letters after restart: $out"
echo "cli restart: ok"
