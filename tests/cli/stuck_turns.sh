#!/usr/bin/env bash
# Every turn ends (issue 12): a plan that can never progress ends in PlanFailed, exactly once,
# also when it is already in the log as the orchestrator starts; and a turn that waits on a
# request nobody answers fails after turn-timeout-ms.
set -euo pipefail
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# A PlanGenerated whose steps depend on each other: s1 through a placeholder, s2 by dependsOn.
cyclic_json() { # CONV -> $dir/rec.json
  python3 - "$1" > "$dir/rec.json" <<'PY'
import json, sys
c = sys.argv[1]
print(json.dumps({
  "specversion": "1.0", "id": c + "/plan/1", "type": "PlanGenerated",
  "source": "eventide/router/test", "time": "2026-12-02T04:40:08.411Z", "subject": c,
  "datacontenttype": "application/json", "dataschema": "schemas/PlanGenerated.schema.json",
  "causationid": c + "/query",
  "data": {"planVersion": 1, "planner": {"provider": "offline", "model": "rule-based"},
           "planningMs": 0,
           "plan": {"steps": [
             {"id": "s1", "tool": "math", "args": {"expression": "1+{{steps.s2.result.value}}"}},
             {"id": "s2", "tool": "math", "args": {"expression": "2"}, "dependsOn": ["s1"]}]}}},
  separators=(",", ":")))
PY
}
write_cyclic() { # CONV
  cyclic_json "$1"
  "$bin" produce conversation-events "$1" "$dir/rec.json" --data-dir "$dir/log" > /dev/null
}

# Waits until the running node has produced N events and read them back (30 s at most): the
# embedded log has one process at a time, so its health file is the window.
wait_produced() { # N
  for _ in $(seq 300); do
    python3 - "$dir/log/health.json" "$1" <<'PY' 2>/dev/null && return 0
import json, sys
h = json.load(open(sys.argv[1])); n = int(sys.argv[2])
b = h["bridges"][0]
assert h["producer"]["produced"] >= n and b["handled"] >= 2 * n and b["inFlight"] == 0
PY
    sleep 0.1
  done
  fail "the orchestrator did not produce $1 events: $(cat "$dir/log/health.json" 2>&1)"
}

check_failed_once() {
  "$bin" dump conversation-events --data-dir "$dir/log" > "$dir/log.dump"
  python3 "$here/../lib/logcheck.py" once "$dir/log.dump" PlanFailed "$@" \
    || fail "not exactly one PlanFailed each"
  python3 - "$here/../lib" "$dir/log.dump" "$@" <<'PY' || fail "PlanFailed reason"
import sys
sys.path.insert(0, sys.argv[1])
import logcheck
for r in logcheck.read(sys.argv[2]):
    if r.event and r.event["type"] == "PlanFailed" and r.event["subject"] in sys.argv[3:]:
        assert r.event["data"]["reason"] == "invalid plan: cycle: s1 -> s2 -> s1", r.event
PY
}

start_orchestrator() {
  "$bin" node --roles orchestrator --data-dir "$dir/log" --log-level error &
  pids+=($!)
}
stop_orchestrator() {
  kill "${pids[-1]}"
  wait "${pids[-1]}" || fail "orchestrator exit status $?"
  unset 'pids[-1]'
}

# 1. Already in the log when the orchestrator starts: folded in restore mode. It used to be
#    compacted as finished before its PlanFailed was written, and never failed (restart and
#    resume did not help: the finished marker was in the store).
restored=()
for i in $(seq 10); do restored+=("restored-$i"); write_cyclic "restored-$i"; done
# A backlog behind them (one more cyclic plan, repeated byte for byte) keeps the orchestrator
# restoring long after their folds are done: the order in which the PlanFailed used to be lost.
cyclic_json filler
for _ in $(seq 3000); do printf 'conversation-events\tfiller\t%s\n' "$(cat "$dir/rec.json")"; done \
  > "$dir/backlog.txt"
"$bin" produce "$dir/backlog.txt" --data-dir "$dir/log" > /dev/null
start_orchestrator
wait_produced 10
stop_orchestrator
check_failed_once "${restored[@]}"

# A restart changes nothing: no second PlanFailed for any of them. (Written while the
# orchestrator is live and the machine is busy: tests/e2e/stuck_turns_test.cpp, in process,
# since the embedded log has one process at a time.)
start_orchestrator
sleep 1
stop_orchestrator
check_failed_once "${restored[@]}"

# 3. A request nobody answers (no weather worker runs) is re-requested every step-timeout-ms;
#    turn-timeout-ms ends the turn with the reason, and the user gets an answer.
set +e
out=$("$bin" ask "What's the weather in Berlin?" --data-dir "$dir/timeout" \
        --roles router,orchestrator,aggregator,synthesis,worker-math \
        --step-timeout-ms 500 --turn-timeout-ms 2000); rc=$?
set -e
[ "$rc" -eq 1 ] || fail "timed-out turn exit $rc: $out"
grep -q "^I could not complete this request: turn timed out: no progress for 2 s (turn-timeout-ms); step s1 (weather) still waiting after [0-9] attempts$" <<<"$out" \
  || fail "turn timeout answer: $out"
"$bin" dump --data-dir "$dir/timeout" > "$dir/timeout.dump"
python3 "$here/../lib/logcheck.py" once "$dir/timeout.dump" PlanFailed || fail "one PlanFailed"
python3 "$here/../lib/logcheck.py" once "$dir/timeout.dump" FinalAnswerSynthesized || fail "one answer"
echo "cli stuck_turns: ok"
