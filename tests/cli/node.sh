#!/usr/bin/env bash
# `eventide node` on the embedded log: a readiness line, health.json every second (every
# bridge live, counters, provider limits), a clean stop on SIGTERM.
set -euo pipefail
bin=$1
dir=$(mktemp -d); trap 'kill -9 $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; cat "$dir/out" "$dir/err" >&2 || true; exit 1; }

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# (The readiness line is on stdout, log lines on stderr: one file for both could interleave them.)
"$bin" node --roles all --data-dir "$dir" --metrics-port "$port" \
  --provider-concurrency "shop=2,ollama=1" --provider-rate "shop=50" > "$dir/out" 2> "$dir/err" &
pid=$!
for _ in $(seq 1 100); do [ -s "$dir/health.json" ] && break; sleep 0.1; done
grep -q "^eventide node node-1 ready: roles=aggregator,orchestrator,router,synthesis,worker-" "$dir/out" \
  || fail "no readiness line"
sleep 1.2 # the next health write sees every bridge after its first poll
python3 - "$dir/health.json" <<'PY' || fail "health.json"
import json, sys
h = json.load(open(sys.argv[1]))
assert h["node"] == "node-1" and h["log"].startswith("embedded:") and h["logError"] == "", h
groups = sorted(b["group"] for b in h["bridges"])
assert len(groups) == 17 and "orchestrator" in groups and "tool-math" in groups, groups
assert all(b["live"] and b["lastError"] == "" and b["inFlight"] == 0 for b in h["bridges"]), h
assert h["producer"]["failed"] == 0, h
# Per-provider limits (issue 16): configured, nothing in flight or waiting yet.
assert h["limits"]["shop"] == {"maxInFlight": 2, "ratePerSecond": 50.0, "inFlight": 0, "waiting": 0,
                               "granted": 0, "delayed": 0, "waitedMs": 0}, h["limits"]
assert h["limits"]["ollama"]["maxInFlight"] == 1, h["limits"]
PY
# Prometheus text on loopback.
python3 - "$port" <<'PY' || fail "metrics endpoint"
import sys, urllib.request, urllib.error
base = f"http://127.0.0.1:{sys.argv[1]}"
text = urllib.request.urlopen(base + "/metrics", timeout=5).read().decode()
assert 'eventide_group_live{node="node-1",group="orchestrator"} 1' in text, text
assert 'eventide_records_handled_total{node="node-1",group="tool-math"} 0' in text, text
assert "# TYPE eventide_dead_letters_total counter" in text, text
assert 'eventide_provider_max_in_flight{node="node-1",provider="shop"} 2' in text, text
assert 'eventide_provider_rate_per_second{node="node-1",provider="shop"} 50' in text, text
try:
    urllib.request.urlopen(base + "/other", timeout=5)
    raise SystemExit("expected 404")
except urllib.error.HTTPError as e:
    assert e.code == 404
# The health JSON over HTTP too (issue 18: the endpoint is Boost.Beast's), read-only.
import json
with urllib.request.urlopen(base + "/health", timeout=5) as r:
    assert r.headers["Content-Type"] == "application/json", r.headers
    h = json.loads(r.read())
assert h["node"] == "node-1" and "producer" in h, h
try:
    urllib.request.urlopen(urllib.request.Request(base + "/metrics", data=b"x", method="POST"),
                           timeout=5)
    raise SystemExit("expected 405")
except urllib.error.HTTPError as e:
    assert e.code == 405 and e.headers["Allow"] == "GET", (e.code, e.headers)
# The console on the node's port (docs/http-api.md): the page, and a question asked through
# the API answered by this node's roles.
with urllib.request.urlopen(base + "/", timeout=5) as r:
    assert r.headers["Content-Type"].startswith("text/html"), r.headers
req = urllib.request.Request(base + "/api/conversations", data=b'{"question":"What is 2+3?"}',
                             headers={"Content-Type": "application/json"}, method="POST")
with urllib.request.urlopen(req, timeout=5) as r:
    assert r.status == 202
    conv = json.loads(r.read())["conversationId"]
import time
for _ in range(100):
    d = json.loads(urllib.request.urlopen(base + "/api/conversations/" + conv, timeout=5).read())
    if d["state"] == "answered":
        break
    time.sleep(0.1)
assert d["turns"][0]["answer"].startswith("The answer is 5"), d
lst = json.loads(urllib.request.urlopen(base + "/api/conversations", timeout=5).read())
assert [c["id"] for c in lst["conversations"]] == [conv], lst
PY
kill -TERM "$pid"
for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "node did not stop on SIGTERM"
wait "$pid" || fail "node exited non-zero on SIGTERM"
grep -q "^eventide node node-1 stopped" "$dir/out" || fail "no stop line"
echo "cli node: ok"
