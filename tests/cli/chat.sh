#!/usr/bin/env bash
# Turns from the command line: `ask --conversation ID` adds the next turn to a conversation, and
# `chat` asks line by line in one (follow-ups resolve against the turns before), with /trace,
# /new, /quit and end of input. Exact answers; bad ids get one line and exit 2.
set -euo pipefail
bin=$1
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

out=$("$bin" ask "How much do the Tidal Buds cost?" --data-dir "$dir")
conv=$(sed -n 's/^conversation \([^ ]*\) on .*/\1/p' <<<"$out")
[ -n "$conv" ] || fail "no conversation id: $out"
grep -qx 'The Tidal Buds costs 129 GBP.' <<<"$out" || fail "turn 1: $out"

out=$("$bin" ask --conversation "$conv" "and in EUR?" --data-dir "$dir")
grep -q "^conversation $conv on .*, turn 2\$" <<<"$out" || fail "turn 2 header: $out"
grep -qx 'The Tidal Buds costs 149.13 EUR (129 GBP at 1.15607).' <<<"$out" || fail "turn 2: $out"

# chat resumes the conversation: the next line is turn 3, a follow-up of turn 2.
out=$(printf 'for 3 of them?\n/trace\n/quit\nnever asked\n' \
      | "$bin" chat --conversation "$conv" --data-dir "$dir")
grep -q "^conversation $conv on .*, turn 3\$" <<<"$out" || fail "chat turn 3 header: $out"
grep -qx 'The answer is 447.39 EUR (149.13 \* 3).' <<<"$out" || fail "chat turn 3: $out"
grep -qx 'turn 2: "and in EUR?", planned as "How much do the Tidal Buds cost in EUR?"' <<<"$out" \
  || fail "/trace turn 2: $out"
grep -q '^turn 3: "for 3 of them?", planned as ' <<<"$out" || fail "/trace turn 3: $out"
grep -q 'never asked' <<<"$out" && fail "a line after /quit was asked: $out"
grep -qx "conversation $conv (resume it with \`eventide chat --conversation $conv\`)" <<<"$out" \
  || fail "chat end line: $out"

# The log has exactly one question and one answer per turn, in turn order.
"$bin" dump user-commands conversation-events --data-dir "$dir" > "$dir/dump.tsv"
python3 - "$dir/dump.tsv" "$conv" <<'PY'
import json, re, sys
conv = sys.argv[2]
def unescape(s):
    return re.sub(r"\\([tnr\\])", lambda m: {"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}[m.group(1)], s)
seen = []
for line in open(sys.argv[1], encoding="utf-8"):
    topic, part, off, key, value = line.rstrip("\n").split("\t", 4)
    if key != conv:
        continue
    e = json.loads(unescape(value))
    if e["type"] in ("UserQueryReceived", "PlanGenerated", "FinalAnswerSynthesized"):
        seen.append((e["data"].get("turn", 1), e["type"], e["time"]))
turns = [(t, ty) for t, ty, _ in sorted(seen, key=lambda x: x[2])]
for t in (1, 2, 3):
    for ty in ("UserQueryReceived", "PlanGenerated", "FinalAnswerSynthesized"):
        n = turns.count((t, ty))
        assert n == 1, f"turn {t} {ty}: {n} records"
answers = [t for t, ty in turns if ty == "FinalAnswerSynthesized"]
assert answers == [1, 2, 3], answers
PY

# /new starts another conversation; an unknown command is said to be unknown; end of input ends.
out=$(printf '/bogus\n/new\nWhat is 2 + 2?\n' | "$bin" chat --data-dir "$dir")
grep -q '^unknown command /bogus; ' <<<"$out" || fail "unknown chat command: $out"
[ "$(grep -c '^conversation ' <<<"$out")" -ge 3 ] || fail "/new: $out"
grep -qx 'The answer is 4 (2 + 2).' <<<"$out" || fail "chat after /new: $out"

# The agent loop from the command line: the decision is the answer's first sentence, and the
# trace shows the revision and every step of the turn under one DAG.
out=$("$bin" ask "Which is cheaper, the Aurora X1 or the Nimbus Pro, and what does that one cost in JPY?" --data-dir "$dir")
grep -q '^The Aurora X1 is cheaper: 1299 USD against 1849 USD for the Nimbus Pro\. .*The Aurora X1 costs 194132.98 JPY (1299 USD at 149.448)\.$' <<<"$out" \
  || fail "agent loop answer: $out"
pick=$(sed -n 's/^conversation \([^ ]*\) on .*/\1/p' <<<"$out")
out=$("$bin" trace "$pick" --data-dir "$dir")
grep -qx 'revised v2 by offline/rule-based: the Aurora X1 is cheaper: 1299 USD against 1849 USD for the Nimbus Pro' <<<"$out" \
  || fail "trace of the revision: $out"
grep -q '^  s3   exchangeRate  *<- s1 ' <<<"$out" || fail "trace of the revised DAG: $out"
grep -q 'PlanRevisionRequested' <<<"$out" || fail "trace events: $out"

# Bad use: one line on stderr, exit 2.
for args in "--conversation no-such-conversation" "--conversation a/b"; do
  set +e
  err=$("$bin" ask $args "and in GBP?" --data-dir "$dir" 2>&1 >/dev/null); rc=$?
  set -e
  [ "$rc" -eq 2 ] || fail "ask $args: exit $rc"
  [ "$(wc -l <<<"$err")" -eq 1 ] || fail "ask $args: more than one line: $err"
done
grep -q "unknown conversation no-such-conversation" <<<"$("$bin" ask --conversation no-such-conversation x --data-dir "$dir" 2>&1 || true)" \
  || fail "unknown conversation message"
set +e
"$bin" chat --json --data-dir "$dir" </dev/null >/dev/null 2>&1; rc=$?
set -e
[ "$rc" -eq 2 ] || fail "chat --json: exit $rc"
echo "chat: ok"
