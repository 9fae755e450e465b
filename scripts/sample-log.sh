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
  "$bin" ask "$2" --data-dir "$data" || echo "(exit status $?)"
  echo '```'; echo
}
{
  echo "# Sample execution log"; echo
  echo "Real output of \`scripts/sample-log.sh\` ($(date -u +%Y-%m-%d), embedded log, offline"
  echo "providers). Times are producer wall-clock offsets from the question, in ms."; echo
  run "Orchestration 1: price -> currency conversion -> math (3 sequential steps)" \
      "How much does the Aurora X1 cost in EUR including 19% VAT?"
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
  echo '```'
} > "$out"
echo "wrote $out"
