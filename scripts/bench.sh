#!/usr/bin/env bash
# Runs every benchmark and writes a Markdown report (default bench/report.md): pipeline latency
# and throughput on the embedded log and on a throwaway Kafka broker (scripts/kafka-test-env.sh:
# Kafka 4.1.1, or the 0.9 floor with KAFKA_TEST_VERSION=0.9), each next to the one-hop floor
# measured in the same run; on Kafka also the documented multi-process deployment (every role
# its own `eventide node`, bench/multiprocess.sh) with threads and RSS per node; replay and
# restart against log length, memory per conversation and per node, and the quality figures
# on the labelled sets. Installs and builds what it needs.
#
#   bash scripts/bench.sh [--quick] [--full] [--no-kafka] [--llm] [--compare] [--out FILE]
#     --compare   ends the report with every figure's ratio to the committed bench/report.md
#                 (bench/compare.py; 2x worse or better is marked), so it shows in the diff
#     --quick     fewer samples (a few minutes in all)
#     --full      adds the 1M-event replay (about a minute more)
#     --no-kafka  embedded log only
#     --llm       adds a real model (bench/llm_bench.sh --rag --synthesis 10: SmolLM2-135M on
#                 one thread: planning on the held-out set, RAG, synthesis; ~35 minutes more)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
quick=() full=0 kafka=1 llm=0 compare=0 out=$root/bench/report.md
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=(--quick) ;;
    --full) full=1 ;;
    --no-kafka) kafka=0 ;;
    --llm) llm=1 ;;
    --compare) compare=1 ;;
    --out) out=$2; shift ;;
    *) echo "bench.sh: unknown option '$1' (see the header of scripts/bench.sh)" >&2; exit 2 ;;
  esac
  shift
done
step() { echo "[bench] $*" >&2; }

bash scripts/build.sh >&2
bin=$root/build
work=$(mktemp -d)
cleanup() {
  [ -n "${node_pid:-}" ] && kill "$node_pid" 2>/dev/null || true
  [ -n "${KAFKA_ENV_DIR:-}" ] && bash "$root/scripts/kafka-test-env.sh" stop "$KAFKA_ENV_DIR" >&2 || true
  rm -rf "$work"
}
trap cleanup EXIT

report=$work/report.md
{
  echo "# Eventide benchmark report"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)," \
       "$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)," \
       "$(uname -sr). Offline providers$([ "$llm" = 1 ] && echo ", except the real model at the end" || echo " throughout")."
  echo
} > "$report"

step "pipeline on the embedded log"
"$bin/bench/pipeline_bench" "${quick[@]}" >> "$report"
step "the console under load (embedded log)"
"$bin/bench/pipeline_bench" "${quick[@]}" --console-load >> "$report"

if [ "$kafka" = 1 ]; then
  step "pipeline on Kafka ${KAFKA_TEST_VERSION:-4} (throwaway broker)"
  bash scripts/kafka-test-env.sh install >&2
  eval "$(bash scripts/kafka-test-env.sh start)"
  if [ -z "$KAFKA_VERSION_FALLBACK" ]; then
    # Transactions (the default) against idempotent producers with deduplication: the cost.
    "$bin/bench/pipeline_bench" "${quick[@]}" --kafka "$KAFKA_BOOTSTRAP" --kafka-version "" \
      --kafka-label "Kafka $KAFKA_BROKER_VERSION, exactly-once (transactions)" >> "$report"
    "$bin/bench/pipeline_bench" "${quick[@]}" --kafka "$KAFKA_BOOTSTRAP" --kafka-version "" \
      --no-exactly-once \
      --kafka-label "Kafka $KAFKA_BROKER_VERSION, idempotent producers + deduplication" >> "$report"
  else
    "$bin/bench/pipeline_bench" "${quick[@]}" --kafka "$KAFKA_BOOTSTRAP" \
      --kafka-version "$KAFKA_VERSION_FALLBACK" --kafka-label "Kafka $KAFKA_BROKER_VERSION" >> "$report"
  fi
  # The same questions against every role as its own process (both modes on a modern broker),
  # then idle all-roles nodes for reference.
  step "pipeline on Kafka $KAFKA_BROKER_VERSION, every role its own process"
  KAFKA_BROKER_VERSION=$KAFKA_BROKER_VERSION KAFKA_ENV_DIR=$KAFKA_ENV_DIR \
    bash bench/multiprocess.sh "${quick[@]}" --build "$bin" --bootstrap "$KAFKA_BOOTSTRAP" \
    --kafka-version "$KAFKA_VERSION_FALLBACK" >> "$report"
fi

step "replay and restart"
sizes=(10000 100000)
[ "$full" = 1 ] && sizes+=(1000000)
{
  echo "## Replay and restart (orchestrator, embedded log)"
  echo
  echo "Conversations are 3-step plans; every tenth is left waiting on a step (running)."
  echo
  "$bin/bench/replay_bench" "${sizes[@]}"
  echo
} >> "$report"

step "memory per conversation"
{
  echo "## Memory"
  echo
  echo "Heap in use (tcmalloc's allocated bytes) of the orchestrator after a restart that loads N running"
  echo "conversations into actors, then after every one passivated into the snapshot store."
  echo
  "$bin/bench/replay_bench" --memory 10000
  echo
} >> "$report"

# Resident memory of an idle node with every role, after it answered nothing and after a run.
rss_of() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
wait_ready() {
  for _ in $(seq 1 200); do grep -q " ready: " "$1" && return 0; sleep 0.1; done
  echo "bench.sh: node did not get ready: $(cat "$1")" >&2; exit 1
}
step "memory per node"
"$bin/apps/eventide" node --roles all --data-dir "$work/node" > "$work/node.out" 2>&1 &
node_pid=$!
wait_ready "$work/node.out"
sleep 1
idle_embedded=$(rss_of "$node_pid")
kill "$node_pid"; wait "$node_pid" || true; node_pid=
{
  echo "| node | roles | log | RSS MiB, idle |"
  echo "|---|---|---|---|"
  echo "| eventide node | all $("$bin/apps/eventide" roles | grep -vc '^metrics$') | embedded | $idle_embedded |"
} >> "$report"
if [ "$kafka" = 1 ]; then
  for roles in all orchestrator worker-math; do
    "$bin/apps/eventide" node --roles "$roles" --data-dir "$work/k-$roles" \
      --brokers "$KAFKA_BOOTSTRAP" --kafka-version "$KAFKA_VERSION_FALLBACK" \
      --topic-prefix "bench$$-" > "$work/k-$roles.out" 2>&1 &
    node_pid=$!
    wait_ready "$work/k-$roles.out"
    sleep 1
    echo "| eventide node | $roles | Kafka | $(rss_of "$node_pid") |" >> "$report"
    kill "$node_pid"; wait "$node_pid" || true; node_pid=
  done
fi
echo >> "$report"

if command -v valgrind > /dev/null; then
  step "instructions per call (callgrind)"
  {
    echo "## Instructions per call (valgrind callgrind; repeat exactly, unlike times)"
    echo
    bash bench/instructions.sh "$bin" 200
    echo
  } >> "$report"
fi

step "quality on the labelled sets"
{
  echo "## Quality (labelled sets in tests/fixtures/, tune and held-out splits)"
  echo
  "$bin/tests/unit_tests" "[quality]" 2>/dev/null \
    | grep -E "^(planner exact plans|top-1 accuracy, |ragGeneration answers)" | sed 's/^/- /'
  echo
} >> "$report"

if [ "$llm" = 1 ]; then
  step "a real model (bench/llm_bench.sh)"
  bash bench/llm_bench.sh --rag --synthesis 10 >> "$report"
fi

if [ "$compare" = 1 ]; then
  step "against the committed report"
  if git show HEAD:bench/report.md > "$work/committed.md" 2>/dev/null; then
    {
      echo "## Against the committed report (commit $(git rev-parse --short HEAD))"
      echo
      python3 bench/compare.py "$work/committed.md" "$report"
      echo
    } > "$work/compare.md"
    cat "$work/compare.md" >> "$report"
  else
    step "no committed bench/report.md to compare with"
  fi
fi

cp "$report" "$out"
cat "$report"
step "report written to $out"
