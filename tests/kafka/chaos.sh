#!/usr/bin/env bash
# Chaos on a real Kafka broker: 200 conversations are written over ~30 s while a driver
# kill -9s a random node every few seconds and restarts it on the same data dir. Afterwards,
# on the raw records of the log: every conversation has exactly one FinalAnswerSynthesized with
# the right value, no event id repeats with other bytes, and every tool ran exactly once per
# invocation, counted where the tool ran (EVENTIDE_EFFECT_LOG), not by the worker's ledger; and
# on a modern broker (transactions) no record at all is written twice.
set -euo pipefail
bin=$1
source "$(dirname "$0")/lib.sh"
require_broker
begin_test ch 3
total=${CHAOS_CONVERSATIONS:-200}
seconds=${CHAOS_SECONDS:-30}

nodes=(router orchestrator aggregator synthesis workers)
start_all() {
  local n
  for n in "$@"; do
    case $n in workers) start_node workers workers.ini --roles workers ;;
               *) start_node "$n" "$n.ini" ;; esac
  done
}
start_all "${nodes[@]}"
wait_ready "${nodes[@]}"

# Writer: conversation i asks for i*3+1, spread over the chaos period.
python3 - "$total" "$seconds" "$prefix" <<'PY' | while IFS= read -r line; do
import sys, time, json
total, seconds, prefix = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
for i in range(total):
    conv = f"{prefix}c{i}"
    ev = {"specversion": "1.0", "id": conv + "/query", "type": "UserQueryReceived",
          "source": "chaos", "time": "2026-11-21T10:00:00.000Z", "subject": conv,
          "datacontenttype": "application/json",
          "data": {"conversationId": conv, "userId": "chaos",
                   "query": f"What is {i} times 3 plus 1?", "receivedAt": 0}}
    print(conv + "|" + json.dumps(ev, separators=(",", ":")), flush=True)
    time.sleep(seconds / total)
PY
  printf '%s\n' "$line"
done | kcat -b "$KAFKA_BOOTSTRAP" "${KCAT_ARGS[@]}" -P -t "${prefix}user-commands" -K '|' &
writer=$!

# Driver: kill -9 a random node every 3-5 s, restart it after a short pause.
kills=0
order=()
end=$((SECONDS + seconds))
while [ $SECONDS -lt $end ]; do
  sleep $((3 + RANDOM % 3))
  # A shuffled rotation: every node is killed at least once per ${#nodes[@]} kills.
  if [ ${#order[@]} -eq 0 ]; then mapfile -t order < <(printf '%s\n' "${nodes[@]}" | shuf); fi
  victim=${order[0]}; order=("${order[@]:1}")
  stop_node "$victim" KILL
  kills=$((kills + 1))
  echo "chaos: kill -9 $victim" >&2
  sleep 0.$((RANDOM % 9 + 1))
  start_all "$victim"
done
wait $writer
wait_ready "${nodes[@]}"

# Settle: every conversation answered (group rejoins after kill -9 wait out the session timeout).
check() {
  dump_log
  python3 - "$work/log.dump" "$total" "$prefix" "$root/tests/lib" <<'PY'
import sys
sys.path.insert(0, sys.argv[4])
import logcheck
path, total, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
records = logcheck.read(path)
logcheck.check(records) # no event id repeated with other bytes
answers = {}
for r in records:
    if r.event and r.event["type"] == "FinalAnswerSynthesized":
        answers.setdefault(r.key, set()).add(r.value)
missing = [i for i in range(total) if f"{prefix}c{i}" not in answers]
if missing:
    print(f"waiting: {len(missing)} unanswered", file=sys.stderr)
    sys.exit(3)
twice = {k: len(v) for k, v in answers.items() if len(v) != 1}
assert not twice, f"answered more than once: {twice}"
for i in range(total):
    a = next(iter(answers[f"{prefix}c{i}"]))
    assert f'"answer":"The answer is {i * 3 + 1} ' in a, (i, a)
print(f"{total} conversations, exactly one correct answer each")
PY
}
ok=0
for _ in $(seq 1 60); do
  set +e; check; rc=$?; set -e
  [ $rc -eq 0 ] && { ok=1; break; }
  [ $rc -eq 3 ] || fail "chaos check failed"
  sleep 2
done
[ $ok = 1 ] || fail "conversations still unanswered after chaos"
sleep 2 # room for late duplicates
check_log
runs=$(wc -l < "$work/effects.log")
[ "$runs" -eq "$total" ] || fail "expected $total tool runs, found $runs"
eos=""
if [ -z "${KAFKA_VERSION_FALLBACK:-}" ]; then
  # Exactly-once on the log (Kafka transactions, on by default): not one record written twice,
  # byte-identical or not. What the kills cut off inside a transaction is in the log as aborted
  # records, which only a read_uncommitted reader sees: counted to show what was at stake.
  logcheck unique "$work/log.dump" >&2 || fail "a record was written twice despite transactions"
  aborted=0
  for t in user-commands conversation-events tool-invocation-requests dead-letter-queue; do
    all=$(kcat -b "$KAFKA_BOOTSTRAP" "${KCAT_ARGS[@]}" -C -t "$prefix$t" -o beginning -e -q \
            -X isolation.level=read_uncommitted -f '%o\n' | wc -l)
    seen=$(kcat -b "$KAFKA_BOOTSTRAP" "${KCAT_ARGS[@]}" -C -t "$prefix$t" -o beginning -e -q \
             -X isolation.level=read_committed -f '%o\n' | wc -l)
    aborted=$((aborted + all - seen))
  done
  eos=", 0 records written twice, $aborted aborted records left by the kills"
fi
echo "chaos on Kafka: ok ($kills kill -9s, $total conversations, $runs tool runs, each once$eos)"
