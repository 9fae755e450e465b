#!/usr/bin/env bash
# Generated hostile records on the embedded log (issue 12): 10,000 records mutated field by
# field from a real run (tests/hostile/gen_records.py: nesting up to 500,000 levels, records
# over the 1 MiB bound and one of 10 MB, invalid and overlong UTF-8, NUL bytes, number extremes,
# repeated keys, key/subject/conversationId/invocation mismatches, wrong types in every field,
# valid events on other topics, unknown tools, garbage), written to every topic; then one node
# with every role (and the metrics projection) reads them all. Asserted: the node never exits
# (it stops on SIGTERM with status 0), every record is dead-lettered with a reason or handled
# by every group that reads it, exactly as expected for its kind (tests/hostile/check_run.py),
# and control questions -- three in the storm, three asked afterwards by fresh processes on the
# same log -- are each answered exactly once with the answer of a clean run.
set -euo pipefail
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
dir=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
count=${HOSTILE_COUNT:-10000}
t0=$SECONDS

seed_run "$bin" "$dir/seed"
python3 "$here/gen_records.py" "$dir/seed/seed.dump" "$dir/gen" --count "$count" --seed "${HOSTILE_SEED:-12}" \
  --controls "${control_questions[@]}" || fail "generator"
"$bin" produce "$dir/gen/records.txt" --data-dir "$dir/run" > "$dir/positions.txt" \
  || fail "produce: $(tail -3 "$dir/positions.txt")"
echo "seed run, $count records generated and written: $((SECONDS - t0)) s"

"$bin" node --roles all,metrics --data-dir "$dir/run" --log-level error \
  > "$dir/node.out" 2> "$dir/node.err" &
pid=$!
# Quiescent: every bridge live, nothing in flight, and the counters unchanged over three health
# writes (one a second).
prev= same=0
for _ in $(seq 1 120); do
  sleep 0.5
  kill -0 "$pid" 2>/dev/null || { wait "$pid" && rc=0 || rc=$?; fail "the node exited ($rc): $(tail -5 "$dir/node.err")"; }
  cur=$(python3 - "$dir/run/health.json" <<'PY' 2>/dev/null || true
import json, sys
h = json.load(open(sys.argv[1]))
b = h["bridges"]
if all(x["live"] for x in b) and not any(x["inFlight"] for x in b):
    print(h["time"], sum(x["handled"] for x in b), sum(x["deadLettered"] for x in b))
PY
)
  [ -z "$cur" ] && { same=0; continue; }
  read -r at counters <<<"$cur"
  [ "$at" = "${prev_at:-}" ] && continue
  prev_at=$at
  if [ "$counters" = "$prev" ]; then same=$((same + 1)); else same=0; fi
  prev=$counters
  [ "$same" -ge 2 ] && break
done
[ "$same" -ge 2 ] || fail "the node did not settle in 60 s: $cur"
kill -0 "$pid" 2>/dev/null || fail "the node exited"
kill -TERM "$pid"
rc=0; wait "$pid" || rc=$?
pid=
[ "$rc" -eq 0 ] || fail "the node exited with status $rc on SIGTERM: $(tail -5 "$dir/node.err")"
grep -q "^eventide node node-1 stopped" "$dir/node.out" || fail "no stop line"
echo "node over the storm (settled, stopped): $((SECONDS - t0)) s; health: $counters (acknowledged, dead-lettered)"
# Consumer lag now, before anything else runs: every group acknowledged every record.
"$bin" stats --json --data-dir "$dir/run" > "$dir/stats.json"

# Control questions asked afterwards, each by a fresh process restoring every role from the log.
controls=()
i=0
for q in "${control_questions[@]}"; do
  i=$((i + 1))
  controls+=(--control "control-$i=$q")
  out=$("$bin" ask "$q" --data-dir "$dir/run" --timeout 60 2>> "$dir/ask.err") \
    || fail "control question '$q': $out $(tail -3 "$dir/ask.err")"
  conv=$(sed -n 's/^conversation \([^ ]*\) on .*/\1/p' <<<"$out" | head -1)
  [ -n "$conv" ] || fail "no conversation id: $out"
  controls+=(--control "$conv=$q")
done

# The log after the control questions: no generated record was dead-lettered again by the
# restarted groups (their replay stays below the committed offsets), and the answers.
"$bin" dump --data-dir "$dir/run" > "$dir/log.dump"
python3 "$here/check_run.py" --manifest "$dir/gen/manifest.jsonl" --positions "$dir/positions.txt" \
  --dump "$dir/log.dump" --stats "$dir/stats.json" --seed-dump "$dir/seed/seed.dump" \
  "${controls[@]}" || fail "the records were not all dead-lettered or handled as expected"
echo "hostile records on the embedded log: ok ($((SECONDS - t0)) s, node exits: 0)"
