# Shared by the real-broker tests: broker check, topics with a unique prefix, node processes.
# Needs KAFKA_BOOTSTRAP and KAFKA_ENV_DIR from scripts/kafka-test-env.sh (scripts/test.sh sets
# them and EVENTIDE_REQUIRE_KAFKA=1; without a broker the tests skip, or fail when required).
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
KCAT_09=(-X api.version.request=false -X broker.version.fallback=0.9.0.1
         -X topic.partitioner=murmur2_random)

fail() { echo "FAIL: $*" >&2; exit 1; }

require_broker() {
  if [ -z "${KAFKA_BOOTSTRAP:-}" ] || [ -z "${KAFKA_ENV_DIR:-}" ]; then
    [ "${EVENTIDE_REQUIRE_KAFKA:-}" = 1 ] && fail "no Kafka broker (KAFKA_BOOTSTRAP unset)"
    echo "SKIP: no Kafka broker; run through scripts/test.sh"; exit 77
  fi
}

# make_topics PREFIX PARTITIONS
make_topics() {
  bash "$root/scripts/kafka-test-env.sh" create-topics "$KAFKA_ENV_DIR" "$2" \
    "$1user-commands" "$1conversation-events" "$1tool-invocation-requests" \
    "$1dead-letter-queue" >/dev/null 2>&1 || fail "cannot create topics"
}

# The options every process of one test shares.
kafka_args() { # PREFIX
  echo "--brokers $KAFKA_BOOTSTRAP --kafka-version 0.9.0.1 --topic-prefix $1 --session-timeout-ms 6000"
}

# start_node NAME CONFIG [extra args...]: starts `eventide node`, records its PID in $work/NAME.pid
start_node() {
  local name=$1 config=$2; shift 2
  # shellcheck disable=SC2046
  "$bin" node --config "$root/config/$config" $(kafka_args "$prefix") --node-id "$name" \
    --data-dir "$work/$name" --log-level warning "$@" > "$work/$name.out" 2>&1 &
  echo $! > "$work/$name.pid"
  disown $! # killed on purpose; no job-control noise
}

wait_ready() { # NAME...
  local n
  for n in "$@"; do
    for _ in $(seq 1 600); do
      grep -q "ready:" "$work/$n.out" 2>/dev/null && break
      kill -0 "$(cat "$work/$n.pid")" 2>/dev/null || fail "node $n died: $(cat "$work/$n.out")"
      sleep 0.1
    done
    if ! grep -q "ready:" "$work/$n.out"; then
      echo "--- node $n (pid $(cat "$work/$n.pid")) printed:" >&2; cat "$work/$n.out" >&2
      bash "$root/scripts/kafka-test-env.sh" status "$KAFKA_ENV_DIR" >&2 || true
      fail "node $n not ready within 60 s"
    fi
  done
}

stop_node() { # NAME [signal]
  local pid; pid=$(cat "$work/$1.pid" 2>/dev/null) || return 0
  kill "-${2:-TERM}" "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$work/$1.pid"
}

stop_all_nodes() {
  local f
  for f in "$work"/*.pid; do [ -e "$f" ] && stop_node "$(basename "$f" .pid)"; done
  return 0
}

# Every record of a topic as "key<TAB>value" lines, read from the beginning to the end.
dump_topic() { # TOPIC
  kcat -b "$KAFKA_BOOTSTRAP" "${KCAT_09[@]}" -C -t "$1" -o beginning -e -q -f '%k\t%s\n' 2>/dev/null
}

# ask_bg NAME QUESTION: runs `eventide ask` in the background; output in $work/NAME.ask,
# exit status in $work/NAME.rc when done.
ask_bg() {
  # shellcheck disable=SC2046
  ( "$bin" ask "$2" $(kafka_args "$prefix") --data-dir "$work/ingress" --timeout 120 \
      > "$work/$1.ask" 2>&1; echo $? > "$work/$1.rc" ) &
}

conversation_of() { # NAME -> the conversation id ask_bg printed first
  for _ in $(seq 1 100); do
    local id; id=$(sed -n 's/^conversation \([^ ]*\) on .*/\1/p' "$work/$1.ask" 2>/dev/null)
    [ -n "$id" ] && { echo "$id"; return; }
    sleep 0.05
  done
  fail "ask $1 printed no conversation id"
}

wait_ask() { # NAME: waits for the background ask; fails unless it exited 0
  for _ in $(seq 1 1200); do [ -f "$work/$1.rc" ] && break; sleep 0.1; done
  [ "$(cat "$work/$1.rc" 2>/dev/null)" = 0 ] || fail "ask $1 did not answer: $(cat "$work/$1.ask")"
}

# count_events CONVERSATION TYPE [STEP]: distinct events (by id) of that type in
# conversation-events and tool-invocation-requests, optionally for one step. A record written
# twice by a producer retry (Kafka 0.9 has no idempotent producer) is one event: consumers
# dedupe by id. count_records counts records instead.
count_events() { count_in_log distinct "$@"; }
count_records() { count_in_log records "$@"; }
count_in_log() {
  { dump_topic "${prefix}conversation-events"; dump_topic "${prefix}tool-invocation-requests"; } \
    | python3 -c '
import json, sys
mode, conv, typ = sys.argv[1], sys.argv[2], sys.argv[3]
step = sys.argv[4] if len(sys.argv) > 4 else None
ids, n = set(), 0
for line in sys.stdin:
    key, _, value = line.rstrip("\n").partition("\t")
    if key != conv:
        continue
    ev = json.loads(value)
    if ev["type"] == typ and (step is None or ev["data"].get("stepId") == step):
        ids.add(ev["id"])
        n += 1
print(len(ids) if mode == "distinct" else n)' "$@"
}
