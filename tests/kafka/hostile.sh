#!/usr/bin/env bash
# Generated hostile records through the real Kafka 0.9 broker (issue 12): a sample of 1,000
# records from tests/hostile/gen_records.py (every category; records up to 900 kB, a Kafka
# message's limit being about 1 MB, so nesting up to 400,000 levels and keys of 600 kB), written
# with `eventide produce RECORDS_FILE` to every topic while the roles run as separate node
# processes (and a metrics node reads the whole log). Asserted as on the embedded log
# (tests/hostile/records.sh): no node exits (each stops on SIGTERM with status 0), every record
# dead-lettered with a reason or handled by every group reading it, as expected for its kind,
# every group's lag 0, and the control questions -- three in the storm, three asked afterwards --
# answered exactly once with the answers of a clean run. Then the orchestrator loses its store
# and replays the storm: its state digest is the one before, its log says it passed over exactly
# as many letters as the dead-letter topic holds for it, and it letters nothing again.
set -euo pipefail
bin=$1
source "$(dirname "$0")/lib.sh"
source "$root/tests/hostile/lib.sh"
require_broker
begin_test ho 3
count=${HOSTILE_KAFKA_COUNT:-1000}
t0=$SECONDS

seed_run "$bin" "$work/seed" # on the embedded log: only its records are used
python3 "$hostile_dir/gen_records.py" "$work/seed/seed.dump" "$work/gen" --count "$count" \
  --seed "${HOSTILE_SEED:-13}" --max-bytes 900000 --controls "${control_questions[@]}" \
  || fail "generator"

nodes=(router orchestrator aggregator synthesis workers metrics)
for n in "${nodes[@]}"; do
  case $n in
    workers) start_node workers workers.ini --roles workers ;;
    metrics) start_node metrics metrics.ini --roles metrics ;;
    *) start_node "$n" "$n.ini" ;;
  esac
done
wait_ready "${nodes[@]}"
# shellcheck disable=SC2046
"$bin" produce "$work/gen/records.txt" $(kafka_args "$prefix") > "$work/positions.txt" \
  2> "$work/produce.err" || fail "produce: $(tail -3 "$work/produce.err")"
echo "seed run, $count records generated and written to the broker: $((SECONDS - t0)) s"

# Quiescent: every bridge of every node live with nothing in flight, and the counters unchanged
# over three rounds of health writes.
prev= same=0
for _ in $(seq 1 240); do
  sleep 0.5
  for n in "${nodes[@]}"; do
    kill -0 "$(cat "$work/$n.pid")" 2>/dev/null || fail "node $n exited: $(tail -5 "$work/$n.out")"
  done
  cur=$(python3 - "$work" router orchestrator aggregator synthesis workers <<'PY' 2>/dev/null || true
import json, sys
total, times = [0, 0], []
for n in sys.argv[2:]:
    h = json.load(open(f"{sys.argv[1]}/{n}/health.json"))
    b = h["bridges"]
    if not b or not all(x["live"] for x in b) or any(x["inFlight"] for x in b):
        sys.exit(0)
    total[0] += sum(x["handled"] for x in b)
    total[1] += sum(x["deadLettered"] for x in b)
    times.append(str(h["time"]))
print(",".join(times), *total)
PY
)
  [ -z "$cur" ] && { same=0; continue; }
  read -r at counters <<<"$cur"
  [ "$at" = "${prev_at:-}" ] && continue
  prev_at=$at
  if [ "$counters" = "$prev" ] && [ "${counters%% *}" != 0 ]; then same=$((same + 1)); else same=0; fi
  prev=$counters
  [ "$same" -ge 3 ] && break
done
[ "$same" -ge 3 ] || fail "the nodes did not settle in 120 s: $cur"
# shellcheck disable=SC2046
"$bin" stats --json $(kafka_args "$prefix") > "$work/stats.json" || fail "stats"
echo "nodes over the storm (settled): $((SECONDS - t0)) s; health: $counters (acknowledged, dead-lettered)"

controls=()
i=0
for q in "${control_questions[@]}"; do
  i=$((i + 1))
  controls+=(--control "control-$i=$q")
  # shellcheck disable=SC2046
  out=$("$bin" ask "$q" $(kafka_args "$prefix") --data-dir "$work/ingress" --timeout 60 2>> "$work/ask.err") \
    || fail "control question '$q': $out $(tail -3 "$work/ask.err")"
  conv=$(sed -n 's/^conversation \([^ ]*\) on .*/\1/p' <<<"$out" | head -1)
  [ -n "$conv" ] || fail "no conversation id: $out"
  controls+=(--control "$conv=$q")
done
# The answers of the questions asked afterwards are in the log when ask returns; the records
# after them (the aggregator's and synthesis' own reads) do not matter here.
dump_log
python3 "$hostile_dir/check_run.py" --manifest "$work/gen/manifest.jsonl" \
  --positions "$work/positions.txt" --dump "$work/log.dump" --stats "$work/stats.json" \
  --prefix "$prefix" --seed-dump "$work/seed/seed.dump" "${controls[@]}" \
  || fail "the records were not all dead-lettered or handled as expected"

# The orchestrator loses its store and replays the storm: below its committed offsets it passes
# over what it dead-lettered (read from the dead-letter topic first) and reads the rest without
# validating it again. Its state is what it was, and nothing is dead-lettered again.
letters_of_orchestrator() { # the orchestrator group's dead letters, counted as records
  # shellcheck disable=SC2046
  "$bin" dlq list group=orchestrator $(kafka_args "$prefix") | sed -n 's/^\([0-9]*\) dead letters*$/\1/p'
}
letters=$(letters_of_orchestrator)
[ "${letters:-0}" -gt 0 ] || fail "the orchestrator dead-lettered nothing of the storm"
orchestrator_digest "$work/before.txt"
stop_node orchestrator KILL
rm -rf "$work/orchestrator"
start_node orchestrator orchestrator.ini --log-level info
wait_ready orchestrator
same_digest_after_replay "$work/before.txt"
grep -q "group=${prefix}orchestrator replays without validation but for its $letters dead letter(s)" \
  "$work/orchestrator.out" \
  || fail "the replay did not pass over its $letters letters: $(grep -i "replays" "$work/orchestrator.out")"
[ "$(letters_of_orchestrator)" = "$letters" ] || fail "the replay dead-lettered again"
echo "lost-store replay of the storm: state digest identical, $letters letters passed over, none new"

for n in "${nodes[@]}"; do
  pid=$(cat "$work/$n.pid")
  kill -0 "$pid" 2>/dev/null || fail "node $n exited"
  kill -TERM "$pid"
done
for n in "${nodes[@]}"; do
  for _ in $(seq 1 150); do [ -f "$work/$n.rc" ] && break; sleep 0.1; done
  [ "$(cat "$work/$n.rc" 2>/dev/null)" = 0 ] \
    || fail "node $n exited with status $(cat "$work/$n.rc" 2>/dev/null) on SIGTERM: $(tail -5 "$work/$n.out")"
  rm -f "$work/$n.pid"
done
echo "hostile records on Kafka: ok ($((SECONDS - t0)) s, node exits: 0)"
