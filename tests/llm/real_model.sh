#!/usr/bin/env bash
# llm.real_model: the whole pipeline (`eventide ask` on the embedded log) with a real model
# behind the OpenAI-compatible provider, for planning, ragGeneration and synthesis.
# Opt-in: it needs EVENTIDE_LLM_URL and EVENTIDE_LLM_MODEL, which
#   eval "$(bash scripts/llm-test-env.sh start)"
# sets (llama.cpp's server with SmolLM2-135M-Instruct; EVENTIDE_LLM_TESTS=1 scripts/test.sh
# starts it). Without them it reports skipped (77), or fails under EVENTIDE_REQUIRE_LLM=1.
#
# What it asserts is what holds for any model, a 135M one included; how good the plans and
# answers are is measured by bench/llm_bench.sh, not here:
#   - every conversation ends (an answer, or a failure explained) well within the timeout;
#   - a plan the model made is recorded with provider, model and its token counts; a plan it
#     could not make ends in the offline planner's plan, with the model's reason in the log
#     (chain openai,offline), or in PlanningFailed carrying that reason (chain openai alone);
#     the reason must be an invalid plan, not a transport failure: the model was asked;
#   - the LLM's answers (synthesis, ragGeneration) carry provider, model and token counts, and
#     `eventide trace` sums exactly the tokens the events record.
set -euo pipefail
bin=$1
fail() { echo "FAIL: $*" >&2; exit 1; }

if [ -z "${EVENTIDE_LLM_URL:-}" ] || [ -z "${EVENTIDE_LLM_MODEL:-}" ]; then
  [ "${EVENTIDE_REQUIRE_LLM:-}" = 1 ] && fail "no LLM server (EVENTIDE_LLM_URL unset)"
  echo "SKIP: no LLM server; eval \"\$(bash scripts/llm-test-env.sh start)\" first"
  exit 77
fi
models=$(curl -sf --max-time 10 "$EVENTIDE_LLM_URL/v1/models") \
  || fail "the LLM server at $EVENTIDE_LLM_URL does not answer /v1/models"
grep -q "\"id\":\"$EVENTIDE_LLM_MODEL\"" <<<"$models" \
  || fail "the server at $EVENTIDE_LLM_URL does not serve '$EVENTIDE_LLM_MODEL': $models"

dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
# One slow reply must not be retried or cut: a 135M model on one thread writes ~30-60 tokens/s
# and a plan that goes wrong runs to the server's 512-token cap, twice (one repair round).
llm=(--openai-url "$EVENTIDE_LLM_URL" --openai-model "$EVENTIDE_LLM_MODEL"
     --llm-timeout-ms 300000 --http-max-attempts 1 --timeout 900)

# ask NAME ARGS...: runs one question with --json into $dir/NAME.json and its own data dir
# $dir/NAME; exit 0 (answered) and 1 (failed, explained) both end the conversation.
ask() {
  local name=$1 rc=0 started=$SECONDS; shift
  "$bin" ask --data-dir "$dir/$name" --json "${llm[@]}" "$@" > "$dir/$name.json" || rc=$?
  echo "$name: exit $rc in $((SECONDS - started)) s"
  [ "$rc" -le 1 ] || fail "$name: exit $rc (3 = no answer within --timeout): $(tail -c 2000 "$dir/$name.json")"
  conv=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['conversationId'])" "$dir/$name.json")
  # The trace of the same conversation from the log, for its token total.
  "$bin" trace "$conv" --data-dir "$dir/$name" > "$dir/$name.trace" || fail "$name: trace failed"
}

# check NAME PLANNING-CHAIN [synth] [math45]: the Python checks below on $dir/NAME.json, its
# eventide.log and its trace. synth: the synthesis chain starts with openai; math45: the
# offline planner's plan computes 45.
check() {
  python3 - "$dir" "$EVENTIDE_LLM_MODEL" "$@" <<'PY' || fail "$1: see above"
import json, re, sys
base, model, name, chain, *want = sys.argv[1:]
doc = json.load(open(f"{base}/{name}.json"))
conv, events = doc["conversationId"], doc["events"]
try:  # written on the first warning
    log = open(f"{base}/{name}/eventide.log").read()
except FileNotFoundError:
    log = ""
trace = open(f"{base}/{name}.trace").read()
types = [e["type"] for e in events]
by_type = lambda t: [e["data"] for e in events if e["type"] == t]
problems = []
def check(cond, what):
    if not cond:
        problems.append(what)
def has_tokens(d, who):
    t = d.get("tokens")
    check(t and t["prompt"] > 0 and t["completion"] > 0, f"{who}: no token counts: {d}")
    return (t["prompt"], t["completion"]) if t else (0, 0)
# The model's reason for not planning must be about the plan it wrote.
invalid = re.escape(f"openai ({model}): invalid plan after one repair round: ")

check(types.count("FinalAnswerSynthesized") == 1 and types[-1] == "FinalAnswerSynthesized",
      f"not one final answer at the end: {types}")
prompt = completion = 0
fell_back = False
planned = by_type("PlanGenerated")
if planned:
    p = planned[0]
    who = p["planner"]["provider"]
    print(f"{name}: planned by {who}/{p['planner']['model']} in {p['planningMs']} ms"
          + (f", tokens {p['tokens']}" if "tokens" in p else ""))
    if who == "openai":
        check(p["planner"]["model"] == model, f"planner model {p['planner']['model']}")
        pt, ct = has_tokens(p, "PlanGenerated")
        prompt, completion = prompt + pt, completion + ct
    else:
        check(who == "offline" and chain.endswith("offline"), f"planned by {who}, chain {chain}")
        check("tokens" not in p, f"offline plan with tokens: {p}")
        fell = re.search(rf"planner fell back conversationId={conv}: (.*)", log)
        if chain.startswith("openai"):
            check(fell, f"the offline plan has no fallback reason in eventide.log")
        else:
            check(not fell, f"fell back with no LLM in the chain: {fell}")
        fell_back = bool(fell)
        if fell:
            print(f"{name}: fell back: {fell.group(1)[:300]}")
            check(re.match(invalid, fell.group(1)), f"fell back for another reason: {fell.group(1)}")
else:
    f = by_type("PlanningFailed")
    check(len(f) == 1 and chain == "openai", f"no plan and no PlanningFailed: {types}")
    if f:
        errors = f[0]["providerErrors"]
        print(f"{name}: PlanningFailed: {errors}")
        check(len(errors) == 1 and re.match(invalid, errors[0]), f"providerErrors {errors}")
        check(f[0]["reason"] == "every planner failed: " + errors[0], f"reason {f[0]['reason']}")
        answer = by_type("FinalAnswerSynthesized")
        check(answer and answer[0]["failed"], "a failed plan's answer is not marked failed")

for r in by_type("ToolInvocationResulted"):
    res = r.get("result") or {}
    if r["tool"] == "ragGeneration":
        print(f"{name}: ragGeneration by {res.get('provider')}: {str(res.get('answer'))[:200]!r}")
        if res.get("provider") == "openai":
            check(res.get("model") == model, f"ragGeneration model {res.get('model')}")
            pt, ct = has_tokens(res, "ragGeneration")
            prompt, completion = prompt + pt, completion + ct
        else:
            # Refused for what the model wrote (no citation, empty), not for a transport error.
            errs = res.get("providerErrors", [])
            check(res.get("provider") == "offline" and errs
                  and re.match(re.escape(f"openai ({model}): ") + "(answer cites none|empty answer)", errs[0]),
                  f"ragGeneration fell back without the model's reason: {res}")
            print(f"{name}: ragGeneration fell back: {errs}")

if "math45" in want and fell_back:
    check(any(r["tool"] == "math" and r["status"] == "ok" and (r.get("result") or {}).get("value") == 45
              for r in by_type("ToolInvocationResulted")), "the offline plan did not compute 45")
a = by_type("FinalAnswerSynthesized")[-1] if "FinalAnswerSynthesized" in types else {}
print(f"{name}: answer by {a.get('provider')}/{a.get('model')} tokens {a.get('tokens')}: {a.get('answer', '')[:200]!r}")
if "synth" in want:
    check(a.get("provider") == "openai" and a.get("model") == model, f"synthesis by {a.get('provider')}")
    pt, ct = has_tokens(a, "FinalAnswerSynthesized")
    prompt, completion = prompt + pt, completion + ct
    check(a.get("answer", "").strip(), "empty answer")
if prompt or completion:
    line = f"LLM tokens: {prompt} prompt + {completion} completion = {prompt + completion}"
    check(line in trace, f"trace does not say '{line}':\n{trace}")
else:
    check("LLM tokens" not in trace, f"trace counts tokens no event has:\n{trace}")
if problems:
    print("\n".join(f"{name}: {p}" for p in problems), file=sys.stderr)
    sys.exit(1)
PY
}

# 1. Planning with fallback and synthesis by the model. The offline planner's plan for this
#    question is one math step whose value is 45, so a fallback is checked end to end.
ask plan_synth "What is 15% of 240 plus 3^2?" \
  --llm-planning-chain openai,offline --llm-synthesis-chain openai,offline
check plan_synth openai,offline synth math45

# 2. Planning by the model alone: its plan (recorded with its tokens; SmolLM2-135M's plan for
#    this question was valid in the bench, though wrong), or PlanningFailed with its reason;
#    either way an answer (offline synthesis).
ask plan_only "Aurora X1 in pounds with a 15% discount" --llm-planning-chain openai
check plan_only openai

# 3. A grounded question answered by the model's ragGeneration (cited), or by the offline one
#    with the model's reason; offline planning and synthesis.
ask rag "What is the battery life of the Aurora X1?" --llm-rag-chain openai,offline
check rag offline
echo "llm real_model: ok"
