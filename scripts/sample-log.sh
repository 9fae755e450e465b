#!/usr/bin/env bash
# Writes docs/sample-execution-log.md from real runs: three complex orchestrations, two RAG
# questions, a failure, and the crash/resume demo (kill -9 mid-plan, then `eventide resume`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
bin=build/apps/eventide
data=$(mktemp -d); trap 'rm -rf "$data"' EXIT
out=docs/sample-execution-log.md
run() { # title question
  echo "## $1"; echo; echo '```'; echo "\$ eventide ask \"$2\""
  "$bin" ask "$2" --data-dir "$data" | tee "$data/last.out" || echo "(exit status $?)"
  echo '```'; echo
}
{
  echo "# Sample execution log"; echo
  echo "Real output of \`scripts/sample-log.sh\` ($(date -u +%Y-%m-%d), embedded log, offline"
  echo "providers). Times are producer wall-clock offsets from the question, in ms."; echo
  run "Orchestration 1: price -> currency conversion -> math (3 sequential steps)" \
      "How much does the Aurora X1 cost in EUR including 19% VAT?"
  first=$(awk '/^conversation / {print $2; exit}' "$data/last.out")
  echo "## Observability: the trace of orchestration 1"; echo
  echo "\`eventide trace\` rebuilds the conversation from the log: every event with its offset and"
  echo "cause, the plan DAG and the critical path."; echo
  echo '```'; echo "\$ eventide trace $first"
  "$bin" trace "$first" --data-dir "$data"
  echo '```'; echo
  run "Orchestration 2: weather and exchange rate in parallel" \
      "What's the weather in Berlin and the USD to EUR rate?"
  run "Orchestration 3: two lookups in parallel, conversion, difference (4 steps)" \
      "How much more expensive is the Nimbus Pro than the Aurora X1?"
  run "Math" "What is 15% of 240 plus 3^2?"
  run "RAG 1: grounded answer about one product" "What is the battery life of the Aurora X1?"
  run "RAG 2: comparison grounded in two products" \
      "Which has better battery life, Aurora X1 or Nimbus Pro?"
  run "A failing step ends in an explained answer (exit status 1)" "What is the weather in Atlantis?"

  echo "## Resilience: kill -9 mid-plan, then resume"; echo
  echo "The exchange-rate worker is left out of the first process, so the plan waits at s2; the"
  echo "process is killed with SIGKILL; \`eventide resume\` on the same data dir restores every"
  echo "role from the log and finishes the conversation without re-running s1."; echo
  echo '```'
  echo "\$ eventide ask \"How much does the Aurora X1 cost in EUR including 19% VAT?\" --roles router,orchestrator,aggregator,synthesis,worker-getProductInformation,worker-math &"
  "$bin" ask "How much does the Aurora X1 cost in EUR including 19% VAT?" --data-dir "$data" \
    --roles router,orchestrator,aggregator,synthesis,worker-getProductInformation,worker-math \
    --timeout 60 > "$data/ask.out" 2>&1 &
  pid=$!
  for _ in $(seq 1 200); do grep -q 'ToolInvocationRequested  s2' "$data/ask.out" && break; sleep 0.05; done
  kill -9 $pid; wait $pid 2>/dev/null || true
  cat "$data/ask.out"
  echo "\$ kill -9 $pid"
  echo "\$ eventide resume"
  "$bin" resume --data-dir "$data" --timeout 30
  echo "\$ eventide resume"
  "$bin" resume --data-dir "$data"
  echo "\$ eventide dlq list"
  "$bin" dlq list --data-dir "$data"
  echo '```'; echo
  echo "## Observability: stats over the whole log"; echo
  echo '```'; echo "\$ eventide stats"
  "$bin" stats --data-dir "$data"
  echo '```'; echo
  echo "## Observability: the metrics role's Prometheus endpoint (excerpt)"; echo
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$bin" node --roles metrics --data-dir "$data" --metrics-port "$port" > "$data/node.out" 2>&1 &
  node=$!
  for _ in $(seq 1 100); do grep -qs " ready:" "$data/node.out" && break; sleep 0.1; done
  sleep 3 # one lag query and rate window
  echo '```'; echo "\$ eventide node --roles metrics --metrics-port $port &"
  echo "\$ curl -s http://127.0.0.1:$port/metrics | grep -E '^eventide_(conversations|end_to_end|tool_latency_ms\\{tool=\"math|consumer_lag|events_total)'"
  metrics=$(curl -s "http://127.0.0.1:$port/metrics")
  grep -E '^eventide_(conversations|end_to_end|tool_latency_ms\{tool="math|consumer_lag|events_total)' <<<"$metrics"
  echo '```'
  kill "$node"; wait "$node" 2>/dev/null || true
} > "$out"
echo "wrote $out"
