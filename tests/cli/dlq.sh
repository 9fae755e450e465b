#!/usr/bin/env bash
# Dead-letter tooling: a poison record is dead-lettered by every group reading its topic; `dlq
# list` filters; `dlq redrive` refuses what would fail again, re-submits a fixed record, records
# that it did, and the redriven question is answered.
set -euo pipefail
bin=$1
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

printf '{"specversion":"1.0","id":"k1/query","type":"UserQueryReceived"' > "$dir/truncated"
# (Outputs are captured before grep -q: with pipefail, grep exiting at its first match could
# fail the writer with SIGPIPE.)
out=$("$bin" produce user-commands k1 "$dir/truncated" --data-dir "$dir")
grep -q '^user-commands/' <<<"$out" \
  || fail "produce"
"$bin" ask "What is 1+1?" --data-dir "$dir" > /dev/null || fail "ask during poison"

out=$("$bin" dlq list --data-dir "$dir")
grep -q "^3 dead letters" <<<"$out" || fail "expected 3 dead letters (router, aggregator, synthesis): $out"
for g in router aggregator synthesis; do
  grep -q "group=$g  key=k1  invalid JSON at byte" <<<"$out" || fail "no dead letter from $g: $out"
done
out=$("$bin" dlq list group=router --data-dir "$dir")
grep -q "^1 dead letter$" <<<"$out" || fail "group filter: $out"
addr=$(awk '{print $1; exit}' <<<"$out")
"$bin" dlq show "$addr" --data-dir "$dir" | python3 -c '
import json, sys; d = json.load(sys.stdin)
assert d["consumerGroup"] == "router" and d["sourceTopic"] == "user-commands" and d["key"] == "k1", d' \
  || fail "dlq show"

set +e; err=$("$bin" dlq redrive "$addr" --data-dir "$dir" 2>&1); rc=$?; set -e
[ $rc -eq 1 ] && grep -q "would be dead-lettered again" <<<"$err" || fail "unfixed redrive: $err"

cat > "$dir/fixed.json" <<'JSON'
{"specversion":"1.0","id":"k1/query","type":"UserQueryReceived","source":"fixed","time":"2026-11-21T10:00:00.000Z","subject":"k1","datacontenttype":"application/json","data":{"conversationId":"k1","userId":"u","query":"What is 2+2?","receivedAt":0}}
JSON
out=$("$bin" dlq redrive "$addr" "$dir/fixed.json" --data-dir "$dir")
grep -q "^redrove $addr to user-commands/" <<<"$out" \
  || fail "redrive"
out=$("$bin" dlq list group=router --data-dir "$dir")
grep -q "\[redriven to user-commands/" <<<"$out" || fail "not marked redriven: $out"
set +e; err=$("$bin" dlq redrive "$addr" "$dir/fixed.json" --data-dir "$dir" 2>&1); rc=$?; set -e
[ $rc -eq 1 ] && grep -q "already redriven" <<<"$err" || fail "second redrive: $err"

out=$("$bin" resume --data-dir "$dir" --timeout 30) || fail "resume: $out"
grep -q "conversation k1:" <<<"$out" && grep -q "The answer is 4" <<<"$out" || fail "redriven question: $out"
# Restarts replay the poison record (restore mode) but do not dead-letter it again.
out=$("$bin" dlq list --data-dir "$dir")
grep -q "^3 dead letters" <<<"$out" || fail "a replay dead-lettered again: $out"
echo "cli dlq: ok"
