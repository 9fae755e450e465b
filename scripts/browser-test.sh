#!/usr/bin/env bash
# The console in a real headless browser: usage scripts/browser-test.sh BUILD_DIR
#
# --install: only installs (scripts/test.sh does it before the suite); exit 77 when it cannot.
# Installs what it needs (Debian's chromium via apt when root or passwordless sudo; playwright-
# core by `npm ci` in tests/browser, kept while package-lock.json is unchanged), prepares a data
# dir on the embedded log with known conversations, one dead letter that redriving answers and
# two purchases waiting for approval (the test approves one, rejects the other), starts
# `eventide console --port 0` on it, runs tests/browser/console.test.mjs against it and stops
# the console. Exit: the test's (0 pass, 1 fail), 77 ("skipped: ...") when no browser or
# no playwright-core can be installed. SCREENSHOT=FILE: where the conversation page's PNG goes
# [BUILD_DIR/console-screenshot.png].
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
install_only=0
[ "${1:-}" = --install ] && install_only=1
if [ $install_only = 0 ]; then
  build=$(cd "${1:?usage: scripts/browser-test.sh BUILD_DIR | --install}" && pwd)
  bin=$build/apps/eventide
  [ -x "$bin" ] || { echo "FAIL: no eventide binary at $bin" >&2; exit 1; }
fi
# Where the test command installed the browser (EVENTIDE_REQUIRE_BROWSER=1), a missing one is
# a failure, not a skip.
skip() {
  if [ "${EVENTIDE_REQUIRE_BROWSER:-}" = 1 ]; then echo "FAIL: $*" >&2; exit 1; fi
  echo "skipped: $*"; exit 77
}
say() { echo "[browser-test] $*" >&2; }

# -- what the test needs ----------------------------------------------------------------------
chromium=${CHROMIUM:-/usr/bin/chromium}
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif sudo -n true 2>/dev/null; then sudo "$@"; else return 1; fi; }
apt_install() { # PACKAGE...: quietly, with one `apt-get update` retry when the lists are stale
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >&2 \
    || { as_root apt-get update -q >&2 && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >&2; }
}
if [ ! -x "$chromium" ]; then
  say "installing chromium (apt)"
  apt_install chromium || true
  [ -x "$chromium" ] || skip "no browser at $chromium and it could not be installed (apt-get install chromium needs root or sudo)"
fi
if ! command -v npm >/dev/null; then
  apt_install nodejs npm || true
  command -v npm >/dev/null || skip "no npm to install playwright-core"
fi
tests=$root/tests/browser
stamp=$tests/node_modules/.eventide-lock.sha256
want=$(sha256sum "$tests/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "npm ci in tests/browser"
  # playwright-core never downloads a browser; the variable is belt and braces.
  (cd "$tests" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --ignore-scripts >&2) \
    || skip "npm ci in tests/browser failed (no registry?)"
  echo "$want" > "$stamp"
fi

[ $install_only = 1 ] && exit 0

# -- known data -------------------------------------------------------------------------------
dir=$(mktemp -d)
data=$dir/data
node_pid= console_pid=
cleanup() {
  # Only the processes this script started, by their pid.
  for p in $node_pid $console_pid; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; for f in "$dir"/*.err; do [ -s "$f" ] && { echo "--- $f" >&2; tail -20 "$f" >&2; }; done; exit 1; }

# The dead letter: a sound question whose record crashes the router (EVENTIDE_CRASH_ON_RECORD
# matches its userId). With --crash-loop-limit 1 the next start dead-letters it ("crashed the
# node 1 time"); its original value, redriven to a healthy node, is answered.
trigger=browser-test-crash-the-router
cat > "$dir/poison.json" <<JSON
{"specversion":"1.0","id":"redrive-me/query","type":"UserQueryReceived","source":"browser-test","time":"2026-11-21T10:00:00.000Z","subject":"redrive-me","datacontenttype":"application/json","data":{"conversationId":"redrive-me","userId":"$trigger","query":"What is 2+2?","receivedAt":0}}
JSON
"$bin" produce user-commands redrive-me "$dir/poison.json" --data-dir "$data" > /dev/null || fail "produce the poison"
settled() { # the node's health: every bridge idle, no suspect left, the router past the poison
  python3 - "$data/health.json" <<'PY' 2>/dev/null
import json, sys
h = json.load(open(sys.argv[1]))
b = {x["group"]: x for x in h["bridges"]}
ok = b["router"]["handled"] >= 1 and all(x["inFlight"] == 0 and x.get("suspects", 0) == 0 for x in h["bridges"])
sys.exit(0 if ok else 1)
PY
}
for run in 1 2 3; do
  rm -f "$data/health.json"
  EVENTIDE_CRASH_ON_RECORD="router:$trigger" "$bin" node --roles all --data-dir "$data" \
    --crash-loop-limit 1 > "$dir/node$run.out" 2> "$dir/node$run.err" &
  node_pid=$!
  for _ in $(seq 1 300); do
    kill -0 "$node_pid" 2>/dev/null || break
    settled && break
    sleep 0.1
  done
  if kill -0 "$node_pid" 2>/dev/null; then
    kill -TERM "$node_pid"; wait "$node_pid" || true; node_pid=
    break
  fi
  rc=0; wait "$node_pid" || rc=$?; node_pid=
  [ $rc = 86 ] || fail "node run $run exited with $rc, expected 86 (the crash on the poison)"
done
out=$("$bin" dlq list --data-dir "$data")
address=$(awk '/group=router  key=redrive-me/ {print $1; exit}' <<<"$out")
[ -n "$address" ] || fail "the poison was not dead-lettered: $out"
say "dead letter $address (key redrive-me)"

# Known conversations, one plan shape each: one step, a chain, parallel steps, a fan-in, a
# failed step (its dependants stay planned), and a question full of markup.
questions=(
  "What is 2+3?"
  "How much does the Aurora X1 cost in EUR including 19% VAT?"
  "What's the weather in Berlin and the USD to EUR rate?"
  "Compare the Aurora X1 and the Nimbus Pro in EUR"
  "What is the price difference between the Aurora X1 and the Aurora X1 Pro?"
  "What is 6*7? <b>bold</b><img src=x onerror=\"document.title='pwned'\"> & </td>"
)
i=0
for q in "${questions[@]}"; do
  i=$((i + 1))
  # A failed conversation exits 1 and is still a known conversation.
  "$bin" ask "$q" --data-dir "$data" --json --timeout 60 > "$dir/ask$i.json" 2> "$dir/ask$i.err" || true
  printf '%s' "$q" > "$dir/ask$i.question"
done

# Two purchases waiting for a person: the charge (s2, chargePayment) is over the approval
# threshold, so the turn waits for the asker ($USER, or "anonymous" without one; the console's
# decisions are by the same default user). `ask --timeout 2` leaves them waiting in the log. The
# test approves the first (answered: ordered, charged, shipped) and rejects the second (the
# order is undone).
buys=("Buy 1 Nimbus Pro and ship it to Rome" "Buy 1 Nimbus Pro")
waiting=()
for q in "${buys[@]}"; do
  out=$("$bin" ask "$q" --data-dir "$data" --timeout 2 < /dev/null 2> "$dir/buy.err") && fail "'$q' was answered without an approval: $out"
  grep -q '^\[.*\] ApprovalRequested  *s2 chargePayment ' <<<"$out" || fail "no approval asked for '$q': $out"
  c=$(sed -n '1s/^conversation \([^ ]*\) on .*/\1/p' <<<"$out")
  [ -n "$c" ] || fail "no conversation id from '$q': $out"
  waiting+=("$c")
done
say "waiting for approval: ${waiting[*]}"

python3 - "$dir" "$i" "$address" "${buys[0]}" "${waiting[0]}" "${buys[1]}" "${waiting[1]}" \
  > "$dir/expected.json" <<'PY' || fail "the asked conversations"
import json, re, sys
d, n, address = sys.argv[1], int(sys.argv[2]), sys.argv[3]
buys = [(sys.argv[4], sys.argv[5], "approve"), (sys.argv[6], sys.argv[7], "reject")]
convs = []
for i in range(1, n + 1):
    doc = json.load(open(f"{d}/ask{i}.json"))
    steps = {}
    for e in doc["events"]:
        if e["type"] in ("PlanGenerated", "PlanRevised"):
            for s in e["data"]["plan"]["steps"]:
                # Dependencies: explicit dependsOn plus the steps its args' placeholders name.
                refs = re.findall(r"\{\{\s*steps\.([A-Za-z0-9_-]+)\.", json.dumps(s.get("args", {})))
                steps[s["id"]] = {"id": s["id"], "tool": s["tool"],
                                  "dependsOn": sorted(set(s.get("dependsOn", [])) | set(refs))}
    assert steps, f"question {i} has no plan"
    convs.append({"id": doc["conversationId"], "question": open(f"{d}/ask{i}.question").read(),
                  "steps": list(steps.values())})
approvals = [{"conversationId": c, "question": q, "turn": 1, "step": "s2", "tool": "chargePayment",
              "decide": decide} for q, c, decide in buys]
print(json.dumps({"conversations": convs, "deadLetter": {"address": address, "key": "redrive-me"},
                  "approvals": approvals, "newQuestion": "What is 17*3?"}, indent=1))
PY

# -- the console --------------------------------------------------------------------------------
"$bin" console --data-dir "$data" --port 0 > "$dir/console.out" 2> "$dir/console.err" &
console_pid=$!
url=
for _ in $(seq 1 300); do
  url=$(sed -n 's|^console: \(http://[^ ]*\)$|\1|p' "$dir/console.out" | head -1)
  [ -n "$url" ] && break
  kill -0 "$console_pid" 2>/dev/null || fail "eventide console exited before serving"
  sleep 0.1
done
[ -n "$url" ] || fail "eventide console printed no 'console: http://...' line within 30 s"
say "console at $url"

rc=0
CONSOLE_URL=$url EXPECTED_FILE=$dir/expected.json SCREENSHOT=${SCREENSHOT:-$build/console-screenshot.png} \
  CHROMIUM=$chromium node "$tests/console.test.mjs" || rc=$?

kill -TERM "$console_pid" 2>/dev/null || true
for _ in $(seq 1 100); do kill -0 "$console_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$console_pid" 2>/dev/null; then
  say "the console did not stop within 10 s of SIGTERM"
  [ $rc = 0 ] && rc=1
else
  crc=0; wait "$console_pid" || crc=$?
  [ $crc = 0 ] || say "the console exited with $crc on SIGTERM"
fi
console_pid=
if [ $rc = 1 ]; then
  echo "--- console stderr (last 20 lines)" >&2; tail -20 "$dir/console.err" >&2
fi
exit $rc
