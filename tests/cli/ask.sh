#!/usr/bin/env bash
# `eventide ask` as a user runs it: answers, live progress, --json trace, exit codes.
set -euo pipefail
bin=$1
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

out=$("$bin" ask "What is 15% of 240 plus 3^2?" --data-dir "$dir")
grep -q '^The answer is 45 ' <<<"$out" || fail "math answer: $out"
grep -qx 'Note: answered offline; no LLM or live service was used.' <<<"$out" || fail "math offline note: $out"
for t in UserQueryReceived PlanGenerated ToolInvocationRequested ToolInvocationResulted \
         PlanStepCompleted PlanCompleted FinalAnswerSynthesized; do
  grep -q "ms\] $t" <<<"$out" || fail "no live $t line: $out"
done

out=$("$bin" ask "What does the Aurora X1 cost in euros?" --data-dir "$dir")
grep -q '1195.03 EUR' <<<"$out" || fail "converted price: $out"
grep -q 'Sources:.*products/aurora-x1.md' <<<"$out" || fail "citation: $out"

"$bin" ask "What's the weather in Berlin and the USD to EUR rate?" --data-dir "$dir" --json > "$dir/trace.json"
python3 - "$dir/trace.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
types = [e["type"] for e in doc["events"]]
assert types[0] == "PlanGenerated" and types[-1] == "FinalAnswerSynthesized", types
assert types.count("ToolInvocationRequested") == 2, types
assert all(e["subject"] == doc["conversationId"] for e in doc["events"])
PY

# A failed conversation still gets an explained answer, and a non-zero exit.
set +e
out=$("$bin" ask "What is the weather in Atlantis?" --data-dir "$dir"); rc=$?
set -e
[ "$rc" -eq 1 ] || fail "failed conversation exit $rc"
grep -q "I could not complete this request" <<<"$out" || fail "failure explanation: $out"
# trace: the timeline of a conversation from the log, with its plan and critical path.
conv=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['conversationId'])" "$dir/trace.json")
out=$("$bin" trace "$conv" --data-dir "$dir")
grep -q "^conversation $conv: 11 events" <<<"$out" || fail "trace header: $out"
grep -q "SynthesizeFinalAnswerRequested" <<<"$out" || fail "trace misses user-commands: $out"
grep -q "^critical path: s[12]$" <<<"$out" || fail "critical path: $out"
set +e; "$bin" trace no-such-conversation --data-dir "$dir" >/dev/null 2>&1; rc=$?; set -e
[ "$rc" -eq 1 ] || fail "trace of unknown conversation exit $rc"
# stats: the metrics projection over this data dir (4 conversations asked above, 1 failed).
out=$("$bin" stats --data-dir "$dir")
grep -q "^conversations: 4 (4 answered, 1 of them failed, 0 open)" <<<"$out" || fail "stats: $out"
grep -q "^question -> answer" <<<"$out" && grep -q "^math " <<<"$out" || fail "stats latency: $out"
"$bin" stats --data-dir "$dir" --json | python3 -c '
import json, sys; d = json.load(sys.stdin)
assert d["answered"] == 4 and d["endToEnd"]["count"] == 4, d
assert d["tools"]["math"]["count"] == 1 and d["tools"]["weather"]["count"] == 2, d["tools"]
# ask stops as soon as it has the answer, so a group may not have committed the last
# conversation yet: at most its 14 records.
assert all(0 <= lag <= 14 for lag in d["consumerLag"].values()), d["consumerLag"]
assert d["eventsByType"]["FinalAnswerSynthesized"] == 4, d' || fail "stats --json"
# Unknown entities are named with the nearest known ones, never replaced; number words count.
# (A data dir of their own keeps the stats above exact.)
set +e
out=$("$bin" ask "How much does the Aurora X2 cost?" --data-dir "$dir/entities"); rc=$?
set -e
[ "$rc" -eq 1 ] || fail "unknown product exit $rc: $out"
grep -q "unknown product 'Aurora X2'; nearest known: Aurora X1$" <<<"$out" || fail "unknown product: $out"
if grep -q '2598' <<<"$out"; then fail "unknown product priced as another: $out"; fi
out=$("$bin" ask "How much do two Tidal Buds cost?" --data-dir "$dir/entities")
grep -qx 'The answer is 258 GBP (129 \* 2).' <<<"$out" || fail "number word quantity: $out"
# Records, not ids: every conversation asked above has exactly one answer in the log, and no
# event id repeats with other bytes.
"$bin" dump --data-dir "$dir" > "$dir/log.dump"
python3 "$(dirname "$0")/../lib/logcheck.py" once "$dir/log.dump" FinalAnswerSynthesized \
  || fail "not exactly one answer per conversation"
echo "cli ask: ok"
