#!/usr/bin/env bash
# The metrics role end to end on the embedded log: three questions with `eventide ask`, a poison
# event and a DLQ record that is no dead letter, one node with every role plus metrics until the
# groups have read everything, then `eventide node --roles metrics` alone, scraped over HTTP.
# Every value is exact, and equal to what `eventide stats --json` reports for the same log.
# (The embedded log belongs to one process at a time: each step ends before the next starts.)
set -euo pipefail
bin=$1
dir=$(mktemp -d)
pid=""
trap '[ -z "$pid" ] || kill -9 "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
out="$dir/ask.out" # output of the current step; each process gets its own file
fail() { echo "FAIL: $*" >&2; cat "$out" "$out.log" >&2 2>/dev/null || true; exit 1; }
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
stop_node() {
  kill -TERM "$pid"
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && fail "node did not stop on SIGTERM"
  wait "$pid" || fail "node exited non-zero on SIGTERM"
  pid=""
}

# (No `cmd | grep -q` under pipefail: grep may exit before cmd has written everything.)
grep -qx metrics <<<"$("$bin" roles)" || fail "\`eventide roles\` does not list metrics"
set +e
err=$("$bin" node --roles metrics --data-dir "$dir" --metrics-port 1 --metrics-address nowhere 2>&1)
rc=$?
set -e
[ "$rc" -eq 2 ] && [ "$err" = "eventide: eventide.metrics-address 'nowhere' is not an IPv4 address" ] \
  || fail "bad --metrics-address: status $rc: $err"

# Plans: math | getProductInformation -> exchangeRate -> math | weather || exchangeRate.
"$bin" ask "What is 15% of 240 plus 3^2?" --data-dir "$dir" > "$out" || fail "ask 1"
"$bin" ask "How much does the Aurora X1 cost in EUR including 19% VAT?" --data-dir "$dir" \
  > "$out" || fail "ask 2"
"$bin" ask "What's the weather in Berlin and the USD to EUR rate?" --data-dir "$dir" \
  > "$out" || fail "ask 3"
printf '{not json' | "$bin" produce conversation-events poison - --data-dir "$dir" > /dev/null
printf 'not a dead letter' | "$bin" produce dead-letter-queue poison - --data-dir "$dir" > /dev/null

# `ask` stops at its answer, before every group has read the last records, and nobody has read
# the poison yet. A node with every role (and the metrics role, to watch) catches them up: it
# stops once the projection shows every group without lag and the poison dead-lettered by the
# three groups that read conversation-events.
out="$dir/all.out"
# (The readiness line is on stdout, log lines on stderr: one file for both could interleave them.)
"$bin" node --roles all,metrics --data-dir "$dir" > "$out" 2> "$out.log" &
pid=$!
for _ in $(seq 1 100); do grep -qs "ready:" "$out" && break; sleep 0.1; done
grep -q "^eventide node node-1 ready: roles=aggregator,metrics,orchestrator,router," "$out" \
  || fail "no readiness line with the metrics role"
python3 - "$dir/health.json" <<'PY' || fail "the groups did not catch up"
import json, sys, time
deadline = time.time() + 30
while True:
    try:
        m = json.load(open(sys.argv[1])).get("metrics", {})
    except (OSError, ValueError):
        m = {}
    lag = m.get("consumerLag", {})
    if (len(lag) == 17 and set(lag.values()) == {0}
            and sum(m.get("deadLetters", {}).values()) == 4):
        break
    if time.time() > deadline:
        raise SystemExit(f"metrics: {m}")
    time.sleep(0.2)
PY
stop_node

"$bin" stats --json --data-dir "$dir" > "$dir/stats.json" || fail "stats --json"

port=$(free_port)
out="$dir/metrics.out"
"$bin" node --roles metrics --data-dir "$dir" --metrics-port "$port" > "$out" 2> "$out.log" &
pid=$!
for _ in $(seq 1 100); do grep -qs "ready:" "$out" && break; sleep 0.1; done
grep -q "^eventide node node-1 ready: roles=metrics log=embedded:" "$out" \
  || fail "no readiness line"
python3 - "$port" "$dir/stats.json" <<'PY' || fail "metrics endpoint"
import json, re, sys, time, urllib.request
url = f"http://127.0.0.1:{sys.argv[1]}/metrics"
stats = json.load(open(sys.argv[2]))
deadline = time.time() + 20
while True:
    text = urllib.request.urlopen(url, timeout=5).read().decode()
    # Live (caught up) with the first consumer lag query and rate sample behind it.
    if ("eventide_metrics_projection_live 1\n" in text and "eventide_consumer_lag{" in text
            and "eventide_events_per_second{" in text):
        break
    if time.time() > deadline:
        raise SystemExit("the projection did not go live:\n" + text)
    time.sleep(0.2)

def samples(name):
    """{labels: value} of one metric; labels as the text between the braces ("" for none)."""
    out = {}
    for m in re.finditer(r"^" + re.escape(name) + r"(?:\{([^}]*)\})? (\S+)$", text, re.M):
        out[m.group(1) or ""] = float(m.group(2))
    return out

def by(name, label):
    """{label value: value} of a metric with one label."""
    return {re.fullmatch(label + r'="([^"]*)"', k).group(1): v for k, v in samples(name).items()}

def check(what, got, want):
    assert got == want, f"{what}: got {got}, want {want}"

check("conversations", samples("eventide_conversations"),
      {'state="answered"': 3, 'state="failed"': 0, 'state="open"': 0})
check("end-to-end count", samples("eventide_end_to_end_latency_ms_count"), {"": 3})
check("end-to-end sum", samples("eventide_end_to_end_latency_ms_sum"),
      {"": stats["endToEnd"]["sumMs"]})
tools = {"math": 2, "getProductInformation": 1, "exchangeRate": 2, "weather": 1}
check("tool counts", by("eventide_tool_latency_ms_count", "tool"), tools)
check("tool counts in stats", {k: v["count"] for k, v in stats["tools"].items()}, tools)
# Per role, one sample per event with a cause in view (one poll batch here: every cause is).
# The router and workers always name the cause; an orchestrator, aggregator or synthesis emit
# right at go-live names none when the role restored its input (under load), so those counts
# are at most one per event they wrote, and exactly what `stats` counts from the same log.
roles = by("eventide_role_processing_ms_count", "role")
check("role counts = stats", roles, {k: v["count"] for k, v in stats["roles"].items()})
check("causes not in view", stats["causesNotInView"], {})
check("router and worker counts", {k: v for k, v in roles.items() if k == "router" or
                                   k.startswith("worker-")},
      {"router": 3, "worker-math": 2, "worker-getProductInformation": 1,
       "worker-exchangeRate": 2, "worker-weather": 1})
written = {"orchestrator": 15, "aggregator": 3, "synthesis": 3}
assert all(0 < roles.get(r, 0) <= n for r, n in written.items()), roles
groups = ["router", "orchestrator", "aggregator", "synthesis"] + [
    "tool-" + t for t in ["getProductInformation", "ragGeneration", "generalChat", "math",
                          "weather", "exchangeRate", "orchestrationSynthesis", "placeOrder",
                          "chargePayment", "shipOrder", "cancelOrder", "refundPayment",
                          "cancelShipment"]]
check("consumer lag", by("eventide_consumer_lag", "group"), {g: 0 for g in groups})
check("consumer lag in stats", stats["consumerLag"], {g: 0 for g in groups})
events = {"user-commands": 6, "conversation-events": 21, "tool-invocation-requests": 6}
check("events per topic", by("eventide_events_total", "topic"), events)
check("events per topic in stats", stats["eventsByTopic"], events)
check("events/s (no new records)", by("eventide_events_per_second", "topic"),
      {t: 0 for t in events})
# The poison record on conversation-events: each group reading the topic letters it once.
letters = {"router": 1, "orchestrator": 1, "aggregator": 1, "synthesis": 1}
check("dead letters", by("eventide_log_dead_letters_total", "group"), letters)
check("dead letters in stats", stats["deadLetters"], letters)
undecodable = {"conversation-events": 1, "dead-letter-queue": 1}
check("undecodable", by("eventide_undecodable_records_total", "topic"), undecodable)
check("undecodable in stats", stats["undecodable"], undecodable)
check("tool errors", samples("eventide_tool_errors_total"), {"": 0})
check("retries", samples("eventide_step_retries_total"), {"": 0})
# A node that restores may write an event again under load (same id): counted once, as here.
check("duplicates", samples("eventide_duplicate_records_total"), {"": stats["duplicates"]})
# The node's own metrics are still there (a producer, no consumer group).
assert 'eventide_produced_total{node="node-1"} 0' in text, text
assert "eventide_records_handled_total{" not in text, text
PY
records=$(python3 - "$dir/health.json" "$dir/stats.json" <<'PY'
import json, sys
h, stats = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
m = h["metrics"]
assert h["bridges"] == [] and m["live"] is True and m["lastError"] == "", h
# Every record of the four topics: events, redelivered events, undecodable, dead letters.
records = 33 + stats["duplicates"] + 2 + 4
assert m["records"] == records, (m["records"], records)
print(records)
PY
) || fail "health.json"
stop_node
grep -q "metrics role: caught up with the log after $records records (2 undecodable)" "$out.log" \
  || fail "no catch-up log line"
echo "cli metrics: ok"
