#!/usr/bin/env bash
# Crash-loop guard on a real Kafka broker (README "Crash-loop guard"). Eight questions and one
# record that kills the router whenever it is handed to it (EVENTIDE_CRASH_ON_RECORD) are
# written with `eventide produce` before the "front" node starts; it hosts the router with the
# aggregator and synthesis, the two other groups that read user-commands, so their records are in flight with
# the poison at every crash too. The front node is started again after every crash (exit 86)
# until it stays up: it must have crashed exactly 3 times; the poison is then the only dead
# letter (router, "crashed the node 3 times"), and every question, before and after, is
# answered exactly once (raw records; tools run once each, EVENTIDE_EFFECT_LOG).
set -euo pipefail
bin=$1
source "$(dirname "$0")/lib.sh"
require_broker
begin_test cl 3
trigger=CRASH-THE-ROUTER

start_node orchestrator orchestrator.ini
start_node workers workers.ini --roles workers
wait_ready orchestrator workers

query() { # ID QUESTION -> a records-file line "user-commands<TAB>key<TAB>value" of a UserQueryReceived
  printf 'user-commands\t%s\t{"specversion":"1.0","id":"%s/query","type":"UserQueryReceived","source":"test","time":"2026-11-21T10:00:00.000Z","subject":"%s","datacontenttype":"application/json","data":{"conversationId":"%s","userId":"u","query":"%s","receivedAt":0}}\n' \
    "$1" "$1" "$1" "$1" "$2"
}
# The poison first, then eight questions in its partition: every one of them is in flight with
# it at the first crash, and none is handed to the router before it (a router that dies after
# planning a question and before committing it plans it again, with other bytes).
mapfile -t before < <(python3 "$root/tests/lib/keys.py" like poison 3 8 q)
{
  query poison "What is 2+2? $trigger"
  i=0
  for q in "${before[@]}"; do i=$((i + 1)); query "$q" "What is $i+$i?"; done
} > "$work/questions.txt"
# Written by `eventide produce`, which creates the topic with the admin API on a modern broker
# (kcat would meet a missing topic there: the test broker does not auto-create).
# shellcheck disable=SC2046
"$bin" produce "$work/questions.txt" $(kafka_args "$prefix") > /dev/null \
  || fail "cannot write the questions"
dump_log
where=$(awk -F'\t' '$1 == "user-commands" && $4 == "poison" {print $2 "@" $3}' "$work/log.dump")
[ "$where" = "$(python3 "$root/tests/lib/keys.py" partition poison 3)@0" ] \
  || fail "the poison is at '$where', expected first in its partition"

front() { # the router with the aggregator and synthesis; the poison armed
  EVENTIDE_CRASH_ON_RECORD="${prefix}router:$trigger" \
    start_node front router.ini --roles router,aggregator,synthesis "$@"
}
health_ok() { # the front node's health.json: the router took all nine commands, no suspect left
  python3 - "$work/front/health.json" <<'PY' 2>/dev/null
import json, sys
h = json.load(open(sys.argv[1]))
b = {x["group"].split("-", 1)[1]: x for x in h["bridges"]}
ok = b["router"]["handled"] >= 9 and all(x.get("suspects", 0) == 0 for x in h["bridges"])
sys.exit(0 if ok else 1)
PY
}

crashes=0 run=0 stable=0
t0=$(date +%s)
while [ $run -lt 6 ]; do
  run=$((run + 1))
  rm -f "$work/front/health.json"
  front
  state=
  for _ in $(seq 1 900); do
    if [ -f "$work/front.rc" ]; then state=exited; break; fi
    if health_ok; then state=stable; break; fi
    sleep 0.1
  done
  cp "$work/front.out" "$work/front.run$run"
  if [ "$state" = exited ]; then
    [ "$(cat "$work/front.rc")" = 86 ] || fail "run $run exited with $(cat "$work/front.rc"): $(tail -5 "$work/front.out")"
    grep -q "crash on record hit (group ${prefix}router, ${prefix}user-commands/${where%@*}@${where#*@})" "$work/front.out" \
      || fail "run $run died elsewhere: $(tail -5 "$work/front.out")"
    rm -f "$work/front.pid"
    crashes=$((crashes + 1))
    continue
  fi
  [ "$state" = stable ] || fail "run $run neither crashed nor took its records within 90 s: $(tail -5 "$work/front.out")"
  stable=$run
  break
done
[ $stable -gt 0 ] || fail "the front node never stayed up ($crashes crashes)"
[ $crashes = 3 ] || fail "crashed $crashes times, expected exactly 3 (crash-loop-limit)"
echo "front node: crashed $crashes times, up for good at start $stable ($(( $(date +%s) - t0 )) s)"
# Starts 3 and 4 blamed the poison alone (the note a suspect handled alone leaves).
for r in 3 4; do
  grep -q "the last run died with 1 record(s) handled alone in ${prefix}router: ${prefix}user-commands/${where%@*}@${where#*@};" "$work/front.run$r" \
    || fail "start $r: the crash before it was not pinned on the poison alone"
done

wait_answers() { # CONV...: each has its FinalAnswerSynthesized (60 s)
  local c
  for _ in $(seq 1 120); do
    dump_log
    for c in "$@"; do
      [ "$(logcheck count "$work/log.dump" "$c" FinalAnswerSynthesized)" = 1 ] || continue 2
    done
    return 0
  done
  fail "not answered: $*"
}
wait_answers "${before[@]}"

# A question after, with the front node still armed: answered, and no further crash.
ask_bg after "What is 6*7?"
conv=$(conversation_of after)
wait_ask after
grep -q "The answer is 42" "$work/after.ask" || fail "answer after: $(cat "$work/after.ask")"
[ -f "$work/front.rc" ] && fail "the front node exited after the guard dead-lettered the poison"

sleep 1 # room for late duplicates
dump_log
logcheck check "$work/log.dump" >&2 || fail "the log breaks exactly-once"
logcheck once "$work/log.dump" FinalAnswerSynthesized "${before[@]}" "$conv" >&2 \
  || fail "not every question answered exactly once"
logcheck effects "$work/log.dump" "$work/effects.log" >&2 || fail "a tool ran more than once"
[ "$(logcheck count "$work/log.dump" poison PlanGenerated)" = 0 ] || fail "the poison was planned"
python3 - "$root/tests/lib" "$work/log.dump" "$prefix" "${before[@]}" <<'PY' || fail "dead letters or answers"
import json, sys
sys.path.insert(0, sys.argv[1])
import logcheck
records, prefix = logcheck.read(sys.argv[2]), sys.argv[3]
letters = [json.loads(r.value) for r in records if r.topic == "dead-letter-queue"]
assert len(letters) == 1, f"{len(letters)} dead letters (innocents dead-lettered?): {letters}"
dl = letters[0]
assert dl["consumerGroup"] == prefix + "router" and dl["key"] == "poison", dl
assert dl["reason"] == "crashed the node 3 times", dl["reason"]
answers = {r.key: r.event["data"]["answer"] for r in records
           if r.event and r.event["type"] == "FinalAnswerSynthesized"}
for i, q in enumerate(sys.argv[4:], 1):
    assert answers[q].startswith(f"The answer is {i + i} ({i}+{i})."), (q, answers.get(q))
print("1 dead letter: router, key poison, 'crashed the node 3 times'; 8 questions answered right")
PY
echo "crash-loop guard on Kafka: ok"
