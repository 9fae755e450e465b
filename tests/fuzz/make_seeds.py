#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora, derived from the test fixtures, into OUT/<target>/.

    python3 tests/fuzz/make_seeds.py build-fuzz/seeds [TARGET...]   # default: all targets

Called by scripts/fuzz.sh before every run, so new fixtures become seeds without a commit here.
Sources: tests/fixtures/events/** (every envelope, valid and invalid), the plans inside them,
tests/fixtures/planner_labelled.json (math expressions), the math unit tests' expressions and
the placeholder spellings of tests/core/placeholders_test.cpp. Hand-written seeds live in
tests/fuzz/seeds/<target>/ and are passed to libFuzzer as they are.
"""
import hashlib
import json
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
SEP = "\x1f"  # placeholders target: ARGS SEP RESULTS SEP EXTRA_IDS
TARGETS = ("envelope", "plan", "placeholders", "math", "llm_repair")
WANTED = set(TARGETS)


def load(path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None


def write(out, target, data):
    if target not in WANTED:
        return
    if isinstance(data, str):
        data = data.encode("utf-8")
    d = out / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def compact(v):
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


def main():
    global WANTED
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "build-fuzz/seeds")
    if len(sys.argv) > 2:
        WANTED = set(sys.argv[2:])
    # Only the targets asked for: ctest runs targets in parallel, each regenerating its own.
    for t in WANTED:
        shutil.rmtree(out / t, ignore_errors=True)

    events = sorted((FIXTURES / "events").glob("*/*.json"))
    plans, results, args, expressions = [], [], [], set()

    for path in events:
        text = path.read_bytes()
        doc = load(path)
        if path.parent.name == "plan":
            write(out, "plan", text)
            if isinstance(doc, dict):
                plans.append(doc)
            continue
        write(out, "envelope", text)
        data = doc.get("data") if isinstance(doc, dict) else None
        if not isinstance(data, dict):
            continue
        if isinstance(data.get("plan"), dict):
            plans.append(data["plan"])
            write(out, "plan", compact(data["plan"]))
        for key in ("results", "partialResults"):
            if isinstance(data.get(key), dict):
                results.append(data[key])
        if isinstance(data.get("args"), dict):
            args.append(data["args"])

    for plan in plans:
        for step in plan.get("steps", []) if isinstance(plan.get("steps"), list) else []:
            if isinstance(step, dict) and isinstance(step.get("args"), dict):
                args.append(step["args"])
                e = step["args"].get("expression")
                if isinstance(e, str):
                    expressions.add(e)

    # Math: labelled planner questions' expressions and the unit tests' literals.
    labelled = load(FIXTURES / "planner_labelled.json") or []
    for item in labelled:
        for step in item.get("plan", []) if isinstance(item, dict) else []:
            if isinstance(step, dict) and isinstance(step.get("expression"), str):
                expressions.add(step["expression"])
    math_test = (ROOT / "tests" / "core" / "math_test.cpp").read_text(encoding="utf-8")
    for lit in re.findall(r'(?:value_of|error_of|evaluate)\("((?:[^"\\]|\\.)*)"\)', math_test):
        try:
            expressions.add(bytes(lit, "utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8"))
        except (UnicodeDecodeError, UnicodeEncodeError):
            pass
    for e in sorted(expressions):
        write(out, "math", e)

    # Placeholders: every step's args against every results object (ids in plan order), plus
    # the spellings the unit tests use against the first results object.
    spellings = sorted(set(re.findall(r"\{\{[^{}\"]*\}\}",
                                      (ROOT / "tests" / "core" / "placeholders_test.cpp")
                                      .read_text(encoding="utf-8"))))
    results = results or [{}]
    for a in args:
        for r in results:
            write(out, "placeholders", compact(a) + SEP + compact(r))
    for s in spellings:
        for r in results[:3]:
            write(out, "placeholders", compact({"query": s, "n": [s, "x " + s]}) + SEP + compact(r)
                  + SEP + "step1,b,calc,fx,p")

    # LLM repair: each plan as a model might write it, and inside Ollama and OpenAI replies.
    for plan in plans:
        text = json.dumps(plan, indent=2)
        for reply in (text,
                      "Here is the plan:\n```json\n" + text + "\n```\nLet me know.",
                      compact({"plan": plan, "reasoning": "because"}),
                      "{not json} " + compact(plan)):
            write(out, "llm_repair", "0" + reply)
        write(out, "llm_repair", "1" + compact({"model": "m", "message": {"role": "assistant",
                                                "content": text}, "done": True,
                                                "prompt_eval_count": 10, "eval_count": 5}))
        write(out, "llm_repair", "2" + compact({"choices": [{"message": {"role": "assistant",
                                                "content": text}}],
                                                "usage": {"prompt_tokens": 10,
                                                          "completion_tokens": 5}}))

    counts = {t: len(list((out / t).iterdir())) if (out / t).is_dir() else 0
              for t in TARGETS if t in WANTED}
    print("[fuzz] seeds from tests/fixtures: "
          + ", ".join(f"{t} {n}" for t, n in counts.items()), file=sys.stderr)


if __name__ == "__main__":
    main()
