#!/usr/bin/env bash
# The documented multi-process deployment on Kafka, measured: every role of `eventide roles`
# (router, orchestrator, aggregator, synthesis, one worker per tool, metrics) as its own
# `eventide node` process with its own data dir, on fresh topics. Per mode it waits until every
# consumer group owns its partitions, records each node's threads and RSS (/proc/PID/status)
# idle, runs `pipeline_bench --external` (the in-process run's scenarios and tables, this time
# against the nodes), records threads and RSS again, and stops the nodes with SIGTERM. At the
# end, one idle node with every role on the embedded log and on Kafka, for reference. Prints
# Markdown (the style of bench/report.md) on stdout, progress on stderr.
#
#   bash bench/multiprocess.sh [--quick] [--mode exactly-once|idempotent]... [--build DIR]
#                              [--bootstrap HOST:PORT] [--kafka-version V]
#     --quick      fewer samples (pipeline_bench --quick)
#     --mode       exactly-once: transactions (the nodes' default); idempotent: idempotent
#                  producers + deduplication (--kafka-exactly-once=false). Default: both on a
#                  modern broker, idempotent alone on Kafka 0.9 (it has no transactions)
#     --build      the build directory with apps/eventide and bench/pipeline_bench (build)
#     --bootstrap  default $KAFKA_BOOTSTRAP; --kafka-version default $KAFKA_VERSION_FALLBACK
#                  ("" = modern broker). With KAFKA_ENV_DIR set on a 0.9 broker the topics are
#                  created first (0.9 has no CreateTopics API).
# The broker comes from scripts/kafka-test-env.sh (eval "$(bash scripts/kafka-test-env.sh start)";
# KAFKA_BROKER_VERSION names it in the headings).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
quick=() modes=() build=$root/build
bootstrap=${KAFKA_BOOTSTRAP:-} kafka_version=${KAFKA_VERSION_FALLBACK:-}
die() { echo "multiprocess.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=(--quick) ;;
    --mode)
      [ $# -ge 2 ] || die "--mode needs exactly-once or idempotent"
      case $2 in exactly-once|idempotent) modes+=("$2") ;; *) die "unknown mode '$2' (exactly-once or idempotent)" ;; esac
      shift ;;
    --build) [ $# -ge 2 ] && [ -d "$2" ] || die "--build needs an existing build directory"; build=$(cd "$2" && pwd); shift ;;
    --bootstrap) [ $# -ge 2 ] || die "--bootstrap needs HOST:PORT"; bootstrap=$2; shift ;;
    --kafka-version) [ $# -ge 2 ] || die "--kafka-version needs a value (\"\" = modern)"; kafka_version=$2; shift ;;
    *) die "unknown option '$1' (see the header of bench/multiprocess.sh)" ;;
  esac
  shift
done
[ -n "$bootstrap" ] || die "no broker: give --bootstrap or set KAFKA_BOOTSTRAP (scripts/kafka-test-env.sh start)"
eventide=$build/apps/eventide pipeline_bench=$build/bench/pipeline_bench
[ -x "$eventide" ] && [ -x "$pipeline_bench" ] || die "build $build/apps/eventide and $build/bench/pipeline_bench first"
if [ ${#modes[@]} = 0 ]; then
  if [ -z "$kafka_version" ]; then modes=(exactly-once idempotent); else modes=(idempotent); fi
fi
broker="Kafka ${KAFKA_BROKER_VERSION:-${kafka_version:-(modern)}}"
partitions=3 # as pipeline_bench's in-process Kafka run
step() { echo "[multiprocess] $*" >&2; }

work=$(mktemp -d)
declare -A pid_of=() # node name -> PID of the nodes running now
stop_nodes() {       # SIGTERM to every running node, then wait (a node commits and leaves its group)
  local n
  for n in "${!pid_of[@]}"; do kill -TERM "${pid_of[$n]}" 2>/dev/null || true; done
  for n in "${!pid_of[@]}"; do wait "${pid_of[$n]}" 2>/dev/null || true; done
  pid_of=()
}
cleanup() { stop_nodes; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# threads and RSS MiB of a running process; librdkafka's threads are named rdk:*, one rdk:main
# per client handle (what issue 17's thread counts are mostly made of)
threads_of() { awk '/^Threads:/ {print $2}' "/proc/$1/status"; }
rdk_threads_of() { cat /proc/"$1"/task/*/comm 2>/dev/null | grep -c '^rdk:' || true; }
rdk_clients_of() { cat /proc/"$1"/task/*/comm 2>/dev/null | grep -cx 'rdk:main' || true; }
rss_of() { awk '/^VmRSS:/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
# user + system CPU ticks of a process so far (/proc/PID/stat fields 14 and 15; the command
# name in field 2 may hold spaces, so count from its closing parenthesis)
cpu_ticks_of() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# The deployment file of a role (config/), as a user starts it.
config_of() {
  if [ -f "$root/config/$1.ini" ]; then echo "$root/config/$1.ini"
  elif [[ $1 == worker-* ]]; then echo "$root/config/workers.ini"
  else die "no deployment file for role $1 in config/"; fi
}

# start_node NAME ROLES [node options...]: in the background, output in $work/NAME.out.
start_node() {
  local name=$1 roles=$2; shift 2
  "$eventide" node --roles "$roles" --node-id "$name" --data-dir "$work/$name" \
    --log-level warning "$@" > "$work/$name.out" 2>&1 &
  pid_of[$name]=$!
}

wait_ready() { # NAME...
  local n
  for n in "$@"; do
    for _ in $(seq 1 600); do
      grep -q " ready: " "$work/$n.out" 2>/dev/null && break
      kill -0 "${pid_of[$n]}" 2>/dev/null || { echo "multiprocess.sh: node $n exited: $(tail -5 "$work/$n.out")" >&2; exit 1; }
      sleep 0.1
    done
    grep -q " ready: " "$work/$n.out" || { echo "multiprocess.sh: node $n not ready within 60 s: $(tail -5 "$work/$n.out")" >&2; exit 1; }
  done
}

# Waits until every consumer bridge of the nodes (their health.json, written every second) is
# live and owns whole topics: with one member per group, each group's member holds every
# partition of what it reads (a multiple of the partition count). Then the first questions do
# not measure a join.
wait_owned() { # NAME...
  local dirs=() n
  for n in "$@"; do dirs+=("$work/$n"); done
  for _ in $(seq 1 120); do
    python3 - "$partitions" "${dirs[@]}" <<'PY' && return 0
import json, sys
parts = int(sys.argv[1])
for d in sys.argv[2:]:
    try:
        bridges = json.load(open(d + "/health.json"))["bridges"]
    except (OSError, ValueError, KeyError):
        sys.exit(1)
    for b in bridges:
        if "error" in b or not b.get("live") or b.get("partitions", 0) == 0 or b["partitions"] % parts:
            sys.exit(1)
sys.exit(0)
PY
    sleep 0.5
  done
  echo "multiprocess.sh: the groups did not own their partitions within 60 s" >&2
  exit 1
}

# stop_all: SIGTERM to each node, at once; prints "N of M exited 0 within S s" and, past 30 s,
# kills what is left (reported).
stop_all() {
  local n t0 ok=0 total=${#pid_of[@]} late=()
  t0=$(date +%s.%N)
  for n in "${!pid_of[@]}"; do kill -TERM "${pid_of[$n]}" 2>/dev/null || true; done
  for n in "${!pid_of[@]}"; do
    for _ in $(seq 1 300); do kill -0 "${pid_of[$n]}" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "${pid_of[$n]}" 2>/dev/null; then late+=("$n"); kill -9 "${pid_of[$n]}" 2>/dev/null || true; fi
    rc=0; wait "${pid_of[$n]}" 2>/dev/null || rc=$?
    [ "$rc" = 0 ] && ok=$((ok + 1))
  done
  pid_of=()
  echo "Stopped with SIGTERM: $ok of $total nodes exited 0, all within $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}') s$([ ${#late[@]} = 0 ] || echo "; killed after 30 s: ${late[*]}")."
}

roles=()
while read -r r; do roles+=("$r"); done < <("$eventide" roles)
[ ${#roles[@]} -gt 0 ] || die "eventide roles listed no role"

for mode in "${modes[@]}"; do
  prefix="mp$$-$mode-$RANDOM-" # fresh topics: nothing to replay
  common=(--brokers "$bootstrap" --kafka-version="$kafka_version" --topic-prefix "$prefix"
          --partitions "$partitions" --session-timeout-ms 6000)
  [ "$mode" = idempotent ] && common+=(--kafka-exactly-once=false)
  case $mode in
    exactly-once) label="$broker, exactly-once (transactions)" ;;
    idempotent) label="$broker, idempotent producers + deduplication" ;;
  esac
  [ -n "$kafka_version" ] && label=$broker # 0.9: no transactions, no choice
  if [ -n "$kafka_version" ] && [ -n "${KAFKA_ENV_DIR:-}" ]; then
    bash "$root/scripts/kafka-test-env.sh" create-topics "$KAFKA_ENV_DIR" "$partitions" \
      "${prefix}user-commands" "${prefix}conversation-events" "${prefix}tool-invocation-requests" \
      "${prefix}dead-letter-queue" >&2
  fi

  step "$label: ${#roles[@]} nodes, one per role"
  for r in "${roles[@]}"; do
    extra=()
    [ "$r" = metrics ] && extra=(--metrics-port "$(free_port)") # 9464 may be taken
    start_node "$r" "$r" --config "$(config_of "$r")" "${common[@]}" "${extra[@]}"
  done
  wait_ready "${roles[@]}"
  wait_owned "${roles[@]}"
  sleep 2 # settled: the first health write after the joins, caches warm
  declare -A idle_threads=() idle_rss=() idle_rdk=() idle_clients=() ticks0=()
  for r in "${roles[@]}"; do
    p=${pid_of[$r]}
    idle_threads[$r]=$(threads_of "$p") idle_rss[$r]=$(rss_of "$p")
    idle_rdk[$r]=$(rdk_threads_of "$p") idle_clients[$r]=$(rdk_clients_of "$p")
    ticks0[$r]=$(cpu_ticks_of "$p")
  done

  # The broker's CPU too, when this machine runs it (kafka-test-env.sh's pid file).
  broker_ticks0="" broker_pid=$(cat "${KAFKA_ENV_DIR:-/nonexistent}/kafka.pid" 2>/dev/null || true)
  [ -n "$broker_pid" ] && [ -r "/proc/$broker_pid/stat" ] && broker_ticks0=$(cpu_ticks_of "$broker_pid")
  step "$label: pipeline_bench --external ${quick[*]}"
  bench_t0=$(date +%s.%N)
  rm -f "$work/bench.cpu"
  timed=() # GNU time (Debian's `time`) for the bench's own CPU, where installed
  [ -x /usr/bin/time ] && timed=(/usr/bin/time -f "%U %S" -o "$work/bench.cpu")
  "${timed[@]}" "$pipeline_bench" "${quick[@]}" --kafka "$bootstrap" --kafka-version "$kafka_version" \
    --kafka-label "$label, every role its own process" --external "$prefix" \
    --external-label "every role its own \`eventide node\` process (${#roles[@]} nodes), the questions asked from one more" \
    > "$work/bench.md"
  bench_t1=$(date +%s.%N)
  sed '$ { /^$/d }' "$work/bench.md" # its trailing blank line: the node table follows
  echo
  # CPU seconds each node spent during the run (its idle polling included): where the cores went
  echo "| node | threads idle | librdkafka threads idle | librdkafka clients | RSS MiB idle | threads after the run | RSS MiB after the run | CPU s during the run |"
  echo "|---|---|---|---|---|---|---|---|"
  ti=0 ta=0 ri=0 ra=0 tk=0 tc=0 cpu=0
  hz=$(getconf CLK_TCK)
  for r in "${roles[@]}"; do
    t=$(threads_of "${pid_of[$r]}") m=$(rss_of "${pid_of[$r]}") c=$(($(cpu_ticks_of "${pid_of[$r]}") - ticks0[$r]))
    echo "| $r | ${idle_threads[$r]} | ${idle_rdk[$r]} | ${idle_clients[$r]} | ${idle_rss[$r]} | $t | $m | $(awk -v c="$c" -v hz="$hz" 'BEGIN {printf "%.1f", c / hz}') |"
    ti=$((ti + idle_threads[$r])) ta=$((ta + t)) tk=$((tk + idle_rdk[$r])) tc=$((tc + idle_clients[$r])) cpu=$((cpu + c))
    ri=$(awk -v a="$ri" -v b="${idle_rss[$r]}" 'BEGIN {printf "%.1f", a + b}')
    ra=$(awk -v a="$ra" -v b="$m" 'BEGIN {printf "%.1f", a + b}')
  done
  echo "| all ${#roles[@]} nodes | $ti | $tk | $tc | $ri | $ta | $ra | $(awk -v c="$cpu" -v hz="$hz" 'BEGIN {printf "%.1f", c / hz}') |"
  echo
  echo -n "Wall time of the run $(awk -v a="$bench_t0" -v b="$bench_t1" 'BEGIN {printf "%.0f", b - a}') s on $(nproc) cores"
  [ -f "$work/bench.cpu" ] && echo -n "; CPU besides the nodes: pipeline_bench (questions, answers, the one-hop floor) $(awk '{printf "%.1f", $1 + $2}' "$work/bench.cpu") s"
  if [ -n "${broker_ticks0:-}" ] && [ -r "/proc/$broker_pid/stat" ]; then
    echo -n ", the broker $(awk -v c="$(($(cpu_ticks_of "$broker_pid") - broker_ticks0))" -v hz="$hz" 'BEGIN {printf "%.1f", c / hz}') s"
  fi
  echo "."
  echo
  step "$label: stopping the nodes"
  stop_all
  echo
done

# For reference: one node hosting every role ("all": every role but metrics), idle, on the
# embedded log and on Kafka in each mode.
idle_row() { # NAME LABEL: the table row of a running node
  local p=${pid_of[$1]}
  echo "| $2 | $(threads_of "$p") | $(rdk_threads_of "$p") | $(rdk_clients_of "$p") | $(rss_of "$p") |"
}
step "idle all-roles nodes"
echo "## Idle node with every role (one process)"
echo
echo "\`eventide node --roles all\` ($("$eventide" roles | grep -vc '^metrics$') roles) on fresh topics, measured 2 s after its groups own their partitions."
echo
echo "| log | threads idle | librdkafka threads idle | librdkafka clients | RSS MiB idle |"
echo "|---|---|---|---|---|"
start_node all-embedded all --partitions "$partitions"
wait_ready all-embedded
wait_owned all-embedded
sleep 2
idle_row all-embedded "embedded (RocksDB)"
stop_all > /dev/null
for mode in "${modes[@]}"; do
  prefix="mp$$-all-$mode-$RANDOM-"
  if [ -n "$kafka_version" ] && [ -n "${KAFKA_ENV_DIR:-}" ]; then
    bash "$root/scripts/kafka-test-env.sh" create-topics "$KAFKA_ENV_DIR" "$partitions" \
      "${prefix}user-commands" "${prefix}conversation-events" "${prefix}tool-invocation-requests" \
      "${prefix}dead-letter-queue" >&2
  fi
  args=(--brokers "$bootstrap" --kafka-version="$kafka_version" --topic-prefix "$prefix"
        --partitions "$partitions" --session-timeout-ms 6000)
  [ "$mode" = idempotent ] && args+=(--kafka-exactly-once=false)
  rm -rf "$work/all-kafka"
  start_node all-kafka all "${args[@]}"
  wait_ready all-kafka
  wait_owned all-kafka
  sleep 2
  case $mode in
    exactly-once) idle_row all-kafka "$broker, exactly-once (transactions)" ;;
    idempotent) idle_row all-kafka "$broker$([ -n "$kafka_version" ] || echo ", idempotent producers + deduplication")" ;;
  esac
  stop_all > /dev/null
done
echo
