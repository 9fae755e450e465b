#!/usr/bin/env bash
# Crash-loop guard on the embedded log (README "Crash-loop guard"): a record that kills the
# router whenever it is handed to it (EVENTIDE_CRASH_ON_RECORD) sits among eight questions
# written before the node starts. The node is started again after every crash (exit 86) until
# it stays up. It must have crashed exactly 3 times (crash-loop-limit); the record is then in
# the DLQ, written by the router, with "crashed the node 3 times"; the innocent questions that
# were in flight with it are not dead-lettered, and every question, before and after, is
# answered exactly once (raw records of the log, tests/lib/logcheck.py).
set -euo pipefail
bin=$1
dir=$(mktemp -d); pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; for f in "$dir"/run*.err; do [ -f "$f" ] && { echo "--- $f" >&2; tail -20 "$f" >&2; }; done; exit 1; }
logcheck() { python3 "$(dirname "$0")/../lib/logcheck.py" "$@"; }
data=$dir/data
trigger=CRASH-THE-ROUTER
export EVENTIDE_CRASH_ON_RECORD="router:$trigger"

query() { # ID QUESTION: writes the question as a raw UserQueryReceived record
  cat > "$dir/$1.json" <<JSON
{"specversion":"1.0","id":"$1/query","type":"UserQueryReceived","source":"test","time":"2026-11-21T10:00:00.000Z","subject":"$1","datacontenttype":"application/json","data":{"conversationId":"$1","userId":"u","query":"$2","receivedAt":0}}
JSON
  out=$("$bin" produce user-commands "$1" "$dir/$1.json" --data-dir "$data") || fail "produce $1: $out"
}
# The poison first, then eight questions in its partition: every one of them is in flight with
# it at the first crash, and none is handed to the router before it (a router that dies after
# planning a question and before committing it plans it again, with other bytes).
mapfile -t before < <(python3 "$(dirname "$0")/../lib/keys.py" like poison 3 8 q)
query poison "What is 2+2? $trigger"
i=0
for q in "${before[@]}"; do i=$((i + 1)); query "$q" "What is $i+$i?"; done
"$bin" dump user-commands --data-dir "$data" > "$dir/commands.dump"
where=$(awk -F'\t' '$4 == "poison" {print $2 "@" $3}' "$dir/commands.dump")
[ "$where" = "$(python3 "$(dirname "$0")/../lib/keys.py" partition poison 3)@0" ] \
  || fail "the poison is at $where, expected first in its partition"
ppart=${where%@*}; poff=${where#*@}
[ "$(awk -F'\t' -v p="$ppart" '$2 == p' "$dir/commands.dump" | wc -l)" = 9 ] \
  || fail "the questions are not all in the poison's partition"

# health FIELD-CHECK: a python expression over h (health.json) that must hold.
health() {
  python3 - "$data/health.json" "$1" <<'PY' 2>/dev/null
import json, sys
h = json.load(open(sys.argv[1]))
b = {x["group"]: x for x in h["bridges"]}
sys.exit(0 if eval(sys.argv[2]) else 1)
PY
}

crashes=0 run=0 stable=0
while [ $run -lt 6 ]; do
  run=$((run + 1))
  rm -f "$data/health.json"
  "$bin" node --roles all --data-dir "$data" > "$dir/run$run.out" 2> "$dir/run$run.err" &
  pid=$!
  # Up for good: the router took all nine commands, nothing is in flight or suspect anywhere,
  # and two health writes a second apart agree.
  state=running prev=
  for _ in $(seq 1 600); do
    if ! kill -0 "$pid" 2>/dev/null; then state=exited; break; fi
    if health 'b["router"]["handled"] >= 9 and all(x["inFlight"] == 0 and x.get("suspects", 0) == 0 for x in h["bridges"])'; then
      now=$(python3 -c 'import json,sys; h=json.load(open(sys.argv[1])); print([(x["group"], x["handled"]) for x in h["bridges"]])' "$data/health.json")
      [ "$now" = "$prev" ] && { state=stable; break; }
      prev=$now
      sleep 1
    fi
    sleep 0.1
  done
  if [ $state = exited ]; then
    rc=0; wait "$pid" || rc=$?; pid=
    [ $rc = 86 ] || fail "run $run exited with $rc, expected 86 (a crash on the record)"
    grep -q "crash on record hit (group router, user-commands/$ppart@$poff)" "$dir/run$run.err" \
      || fail "run $run died elsewhere"
    crashes=$((crashes + 1))
    continue
  fi
  [ $state = stable ] || fail "run $run neither crashed nor settled within 60 s"
  stable=$run
  break
done
[ $stable -gt 0 ] || fail "the node never stayed up ($crashes crashes)"
[ $crashes = 3 ] || fail "crashed $crashes times, expected exactly 3 (crash-loop-limit)"
# Run 2 took in run 1's note: the whole batch in flight, the poison and innocent neighbours.
grep -q "the last run died with [0-9]* record(s) in flight in router:" "$dir/run2.err" \
  || fail "run 2 did not take in the note of run 1"
n=$(sed -n 's/.*the last run died with \([0-9]*\) record(s) in flight in router:.*/\1/p' "$dir/run2.err" | head -1)
[ "$n" -gt 1 ] || fail "only $n record in flight at the first crash: no innocent neighbour to protect"
# Runs 3 and 4 each blamed exactly the poison: it was alone in flight.
for r in 3 4; do
  grep -q "the last run died with 1 record(s) handled alone in router: user-commands/$ppart@$poff;" "$dir/run$r.err" \
    || fail "run $r: the crash before it was not pinned on the poison alone"
done
grep -q "every suspect handled; records are handed out in batches again" "$dir/run$stable.err" \
  || fail "the quarantine did not end"

kill -TERM "$pid"; rc=0; wait "$pid" || rc=$?; pid=
[ $rc = 0 ] || fail "node exited $rc on SIGTERM"

out=$("$bin" dlq list --data-dir "$data")
grep -q "^1 dead letter$" <<<"$out" || fail "expected exactly one dead letter (innocents dead-lettered?): $out"
grep -q "group=router  key=poison  crashed the node 3 times" <<<"$out" || fail "dead letter: $out"

# A question after: answered, and the node does not crash again (the trigger is still set).
out=$("$bin" ask "What is 6*7?" --data-dir "$data" --timeout 30) || fail "ask after: $out"
grep -q "42" <<<"$out" || fail "answer after: $out"
after=$(sed -n 's/^conversation \([^ ]*\) on .*/\1/p' <<<"$out")

"$bin" dump --data-dir "$data" > "$dir/log.dump"
logcheck check "$dir/log.dump" > /dev/null || fail "an event repeated with other bytes"
logcheck once "$dir/log.dump" FinalAnswerSynthesized "${before[@]}" "$after" \
  || fail "not every question answered exactly once"
[ "$(logcheck count "$dir/log.dump" poison PlanGenerated)" = 0 ] || fail "the poison was planned"
python3 - "$(dirname "$0")/../lib" "$dir/log.dump" "${before[@]}" <<'PY' || fail "wrong answers"
import sys
sys.path.insert(0, sys.argv[1])
import logcheck
answers = {r.key: r.event["data"]["answer"] for r in logcheck.read(sys.argv[2])
           if r.event and r.event["type"] == "FinalAnswerSynthesized"}
for i, q in enumerate(sys.argv[3:], 1):
    want = f"The answer is {i + i} ({i}+{i})."
    assert answers.get(q, "").startswith(want), (q, answers.get(q))
PY
echo "cli crashloop: ok (3 crashes, then the poison dead-lettered alone; $((${#before[@]} + 1)) questions answered once)"
