# Shared by the real-broker tests: broker check, topics with a unique prefix, node processes,
# checks on the raw records of the log (tests/lib/logcheck.py).
# Needs KAFKA_BOOTSTRAP, KAFKA_ENV_DIR and KAFKA_VERSION_FALLBACK from scripts/kafka-test-env.sh
# (scripts/test.sh sets them and EVENTIDE_REQUIRE_KAFKA=1; without a broker the tests skip, or
# fail when required). KAFKA_VERSION_FALLBACK is empty on a modern broker (Kafka 4) and 0.9.0.1
# on the 0.9 floor.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# kcat as the Java client partitions (murmur2); a 0.9 broker must be named, it cannot say.
KCAT_ARGS=(-X topic.partitioner=murmur2_random)
if [ -n "${KAFKA_VERSION_FALLBACK:-}" ]; then
  KCAT_ARGS+=(-X api.version.request=false -X "broker.version.fallback=$KAFKA_VERSION_FALLBACK")
fi

fail() { echo "FAIL: $*" >&2; exit 1; }

require_broker() {
  if [ -z "${KAFKA_BOOTSTRAP:-}" ] || [ -z "${KAFKA_ENV_DIR:-}" ]; then
    [ "${EVENTIDE_REQUIRE_KAFKA:-}" = 1 ] && fail "no Kafka broker (KAFKA_BOOTSTRAP unset)"
    echo "SKIP: no Kafka broker; run through scripts/test.sh"; exit 77
  fi
}

# make_topics PREFIX PARTITIONS. A modern broker gets no topics here: the first `eventide`
# process that uses one creates it with the admin API (CreateTopics, --partitions of
# kafka_args), as a deployment does. Kafka 0.9 has no such API: the script creates them.
make_topics() {
  topic_partitions=$2
  [ -n "${KAFKA_VERSION_FALLBACK:-}" ] || return 0
  bash "$root/scripts/kafka-test-env.sh" create-topics "$KAFKA_ENV_DIR" "$2" \
    "$1user-commands" "$1conversation-events" "$1tool-invocation-requests" \
    "$1dead-letter-queue" >/dev/null 2>&1 || fail "cannot create topics"
}

# begin_test TAG PARTITIONS: a work dir ($work; on exit every node is stopped and it is
# removed), the four topics under a unique prefix ($prefix), and the effect log that every node
# started from here appends its tool runs to ($EVENTIDE_EFFECT_LOG).
begin_test() {
  work=$(mktemp -d)
  prefix="$1$$r$RANDOM-"
  # EVENTIDE_KEEP_TEST_WORK=1 keeps the work dir (nodes' output, data dirs) for a post-mortem.
  trap 'stop_all_nodes; if [ -n "${EVENTIDE_KEEP_TEST_WORK:-}" ]; then echo "work dir kept: $work" >&2; else rm -rf "$work"; fi' EXIT
  export EVENTIDE_EFFECT_LOG=$work/effects.log
  make_topics "$prefix" "$2"
}

# The options every process of one test shares (--kafka-version= is empty on a modern broker).
kafka_args() { # PREFIX
  echo "--brokers $KAFKA_BOOTSTRAP --kafka-version=${KAFKA_VERSION_FALLBACK:-}" \
       "--topic-prefix $1 --session-timeout-ms 6000 --partitions ${topic_partitions:-3}"
}

# start_node NAME CONFIG [extra args...]: starts `eventide node`, records its PID in $work/NAME.pid
# and, once it exits, its exit status in $work/NAME.rc. Output in $work/NAME.out; a restarted
# node's earlier lives are kept in $work/NAME.history.
start_node() {
  local name=$1 config=$2; shift 2
  rm -f "$work/$name.pid" "$work/$name.rc"
  [ -f "$work/$name.out" ] && cat "$work/$name.out" >> "$work/$name.history" && rm "$work/$name.out"
  # shellcheck disable=SC2046
  ( "$bin" node --config "$root/config/$config" $(kafka_args "$prefix") --node-id "$name" \
      --data-dir "$work/$name" --log-level warning "$@" > "$work/$name.out" 2>&1 &
    echo $! > "$work/$name.pid.tmp" && mv "$work/$name.pid.tmp" "$work/$name.pid"
    rc=0; wait $! || rc=$?; echo $rc > "$work/$name.rc.tmp" && mv "$work/$name.rc.tmp" "$work/$name.rc" ) &
  disown $! # killed on purpose; no job-control noise
  for _ in $(seq 1 100); do [ -f "$work/$name.pid" ] && return; sleep 0.01; done
  fail "node $name did not start"
}

# wait_crash NAME POINT: waits until node NAME died at crash point POINT (EVENTIDE_CRASH_AT).
wait_crash() {
  for _ in $(seq 1 600); do [ -f "$work/$1.rc" ] && break; sleep 0.1; done
  [ "$(cat "$work/$1.rc" 2>/dev/null)" = 86 ] \
    || fail "node $1 did not die at crash point $2 (exit $(cat "$work/$1.rc" 2>/dev/null)): $(tail -5 "$work/$1.out")"
  grep -q "crash point $2:[0-9]* hit" "$work/$1.out" || fail "node $1 died elsewhere: $(tail -5 "$work/$1.out")"
  rm -f "$work/$1.pid"
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
  # The exit status is written by the node's wrapper once it has exited: wait for it, so that
  # nothing writes into $work after this (the EXIT trap removes it).
  for _ in $(seq 1 100); do [ -f "$work/$1.rc" ] && break; sleep 0.02; done
  rm -f "$work/$1.pid"
}

stop_all_nodes() {
  local f
  for f in "$work"/*.pid; do [ -e "$f" ] && stop_node "$(basename "$f" .pid)"; done
  return 0
}

# dump_log [FILE]: every record of the four topics, as `eventide dump` prints them (one line a
# record: topic, partition, offset, key, value), into FILE (default $work/log.dump).
# A few tries: right after a broker restart the metadata may not be back yet.
dump_log() {
  local out=${1:-$work/log.dump} try
  for try in 1 2 3 4 5; do
    # shellcheck disable=SC2046
    "$bin" dump $(kafka_args "$prefix") > "$out.tmp" 2> "$out.err" && { mv "$out.tmp" "$out"; return; }
    sleep 1
  done
  fail "eventide dump failed: $(cat "$out.err")"
}

logcheck() { python3 "$root/tests/lib/logcheck.py" "$@"; }

# orchestrator_digest FILE [CONVERSATION]: the orchestrator node's state digest (SIGUSR1) into
# FILE, once it covers CONVERSATION (if given).
orchestrator_digest() {
  local out="$work/orchestrator/orchestrator-digest.txt"
  rm -f "$out"
  for _ in $(seq 1 100); do
    kill -USR1 "$(cat "$work/orchestrator.pid")"
    sleep 0.2
    if [ -f "$out" ] && { [ -z "${2:-}" ] || grep -q "^$2 " "$out"; }; then
      cp "$out" "$1"; return
    fi
  done
  fail "no orchestrator digest"
}

# same_digest_after_replay BEFORE [CONVERSATION]: fails unless the orchestrator's digest comes
# to equal BEFORE. A digest taken mid-replay (a fold that has read a conversation's tool
# requests but not yet its plan, the partitions restored topic by topic) differs: compare until
# equal, and fail on a difference that stays.
same_digest_after_replay() {
  for _ in $(seq 1 50); do
    orchestrator_digest "$work/after.txt" "${2:-}"
    diff -q "$1" "$work/after.txt" > /dev/null && return
    sleep 0.3
  done
  diff "$1" "$work/after.txt" >&2 || fail "state after the replay differs from before"
}

# ask_bg NAME QUESTION: runs `eventide ask` in the background; output in $work/NAME.ask,
# exit status in $work/NAME.rc when done.
ask_bg() { # NAME QUESTION [ask options...]
  # shellcheck disable=SC2046
  # (set -e is inherited: a failed ask must still write its status, or wait_ask waits 120 s.)
  ( rc=0; "$bin" ask "$2" "${@:3}" $(kafka_args "$prefix") --data-dir "$work/ingress" --timeout 120 \
      > "$work/$1.ask" 2>&1 || rc=$?; echo "$rc" > "$work/$1.rc.tmp"; mv "$work/$1.rc.tmp" "$work/$1.rc" ) &
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

# count_events CONVERSATION TYPE [STEP]: events of that type in the log now, optionally for one
# step. Counts records, not ids: it fails the test if any event id in the log repeats with other
# bytes (a decision made twice); a byte-identical repeat (a producer retry on Kafka 0.9, a
# ledger replay) is one event. count_records counts the records themselves.
count_events() {
  dump_log
  local n; n=$(logcheck count "$work/log.dump" "$@") || fail "the log breaks exactly-once"
  echo "$n"
}
# wait_events CONV TYPE [STEP]: waits (up to 10 s) until CONV has exactly one TYPE event.
wait_events() {
  for _ in $(seq 1 100); do [ "$(count_events "$@")" = 1 ] && return 0; sleep 0.1; done
  [ "$(count_events "$@")" = 1 ]
}
count_records() {
  dump_log
  local n; n=$(logcheck records "$work/log.dump" "$@") || fail "the log breaks exactly-once"
  echo "$n"
}

# check_log: the whole log now: no id repeated with other bytes, one FinalAnswerSynthesized per
# conversation asked, and every tool run of $work/effects.log (EVENTIDE_EFFECT_LOG) exactly once.
check_log() {
  dump_log
  logcheck once "$work/log.dump" FinalAnswerSynthesized >&2 || fail "not exactly one answer each"
  logcheck effects "$work/log.dump" "$work/effects.log" >&2 || fail "a tool ran more than once"
}
