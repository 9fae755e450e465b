#!/usr/bin/env bash
# chroma-test-env.sh — a throwaway ChromaDB server on 127.0.0.1, for Eventide's Chroma tests
# and benchmarks and for trying `vector-store = chroma` by hand. The server is PyPI's chromadb
# (pinned below; `chroma run`, its Rust server), installed into a virtualenv in the cache; it
# stores in a temporary directory and only ever listens on loopback.
#
#   chroma-test-env.sh install                      # once; idempotent (~50 s, ~520 MB)
#   eval "$(chroma-test-env.sh start)"              # sets CHROMA_URL, CHROMA_ENV_DIR,
#                                                   #   CHROMA_VERSION
#   chroma-test-env.sh stop-server  "$CHROMA_ENV_DIR"   # server down, data kept
#   chroma-test-env.sh start-server "$CHROMA_ENV_DIR"   # up again on the same port and data
#   chroma-test-env.sh status "$CHROMA_ENV_DIR"     # exit 0 only if the server answers
#   chroma-test-env.sh stop "$CHROMA_ENV_DIR"       # kills the server, deletes the directory
#
# Environment: CHROMA_PORT (38000) is where the search for a free port starts; TMPDIR is where
# the environment directory is made; CHROMA_PYTHON (python3) makes the virtualenv.
set -euo pipefail

readonly CHROMA_VERSION=1.5.9
readonly CACHE_ROOT=${XDG_CACHE_HOME:-$HOME/.cache}
readonly CACHE_DIR=$CACHE_ROOT/eventide-chroma-$CHROMA_VERSION
readonly VENV=$CACHE_DIR/venv
readonly STAMP=$VENV/.eventide-installed      # written last: an interrupted install is redone
readonly LOCK_FILE=$CACHE_ROOT/eventide-chroma-test-env.lock
readonly ENV_MARKER=chroma-test-env.env       # marks a directory this script made

say() { echo "[chroma-test-env] $*" >&2; }
die() { say "$*"; exit 1; }

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
  exit 2
}

# --- install ---------------------------------------------------------------------------------

installed() { [ -f "$STAMP" ] && [ -x "$VENV/bin/chroma" ]; }

install_packages() {
  local missing=()
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  command -v "${CHROMA_PYTHON:-python3}" >/dev/null 2>&1 || missing+=(python3)
  # Debian's python3 makes virtualenvs only with python3-venv.
  if ! "${CHROMA_PYTHON:-python3}" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    missing+=(python3-venv)
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    say "installing ${missing[*]}"
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >&2
  fi
}

install() {
  installed && return 0
  install_packages
  mkdir -p "$CACHE_ROOT"
  exec 8>"$LOCK_FILE.install"
  flock 8
  if ! installed; then
    # A virtualenv cannot be moved after it is made, so it is made in place; the stamp written
    # at the end tells a complete one from an interrupted one, which is made again.
    rm -rf "$VENV"
    mkdir -p "$CACHE_DIR"
    say "installing chromadb==$CHROMA_VERSION from PyPI into $VENV"
    "${CHROMA_PYTHON:-python3}" -m venv "$VENV" >&2 || { rm -rf "$VENV"; die "python3 -m venv failed"; }
    if ! PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV/bin/pip" install -q "chromadb==$CHROMA_VERSION" >&2; then
      rm -rf "$VENV"
      die "pip could not install chromadb==$CHROMA_VERSION"
    fi
    [ -x "$VENV/bin/chroma" ] || { rm -rf "$VENV"; die "chromadb installed no 'chroma' command"; }
    echo "$CHROMA_VERSION" > "$STAMP"
    say "chromadb $CHROMA_VERSION installed"
  fi
  flock -u 8
  exec 8>&-
}

# --- helpers ---------------------------------------------------------------------------------

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_for() { # SECONDS COMMAND...: polls COMMAND every 0.1 s until it succeeds or time runs out
  local deadline=$(( $(date +%s) + $1 )); shift
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

server_ready() {
  curl -fsS -m 2 "http://127.0.0.1:$CHROMA_PORT/api/v2/heartbeat" 2>/dev/null | grep -q heartbeat
}
server_ready_or_dead() { server_ready || ! running "$ENV_DIR/chroma.pid"; }

load_env() {
  local dir=${1:?environment directory missing (the CHROMA_ENV_DIR printed by start)}
  [ -f "$dir/$ENV_MARKER" ] || die "$dir is not a chroma-test-env directory"
  # shellcheck disable=SC1090
  . "$dir/$ENV_MARKER"
}

write_env() {
  cat > "$1/$ENV_MARKER" <<EOF
ENV_DIR=$1
CHROMA_PORT=$CHROMA_PORT
EOF
}

start_server() {
  local dir=$1
  running "$dir/chroma.pid" && die "server already running (pid $(cat "$dir/chroma.pid"))"
  if port_in_use "$CHROMA_PORT"; then say "port $CHROMA_PORT is taken by another process"; return 1; fi
  # No telemetry (nothing outside loopback is reachable anyway).
  ANONYMIZED_TELEMETRY=False nohup "$VENV/bin/chroma" run --path "$dir/data" \
    --host 127.0.0.1 --port "$CHROMA_PORT" </dev/null >>"$dir/chroma.log" 2>&1 8>&- 9>&- &
  echo $! > "$dir/chroma.pid"
  wait_for 60 server_ready_or_dead || true
  server_ready || { say "chroma did not start"; tail -20 "$dir/chroma.log" >&2; return 1; }
}

stop_server() {
  local pidfile=$1/chroma.pid pid
  if running "$pidfile"; then
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    if ! wait_for 10 not_alive "$pid"; then
      say "pid $pid ignored SIGTERM; killing it"
      kill -9 "$pid" 2>/dev/null || true
      wait_for 5 not_alive "$pid" || say "pid $pid still alive after SIGKILL"
    fi
  fi
  rm -f "$pidfile"
}

not_alive() { ! kill -0 "$1" 2>/dev/null; }

# --- commands --------------------------------------------------------------------------------

start() {
  installed || install
  local dir="" started=0 attempt tries=0
  CHROMA_PORT=${CHROMA_PORT:-38000}
  # Parallel runs pick and bind ports under one lock so they never choose the same free port.
  mkdir -p "$CACHE_ROOT"
  exec 9>"$LOCK_FILE"
  flock 9
  for attempt in 1 2 3; do
    while port_in_use "$CHROMA_PORT"; do
      tries=$((tries + 1))
      [ "$tries" -lt 100 ] || { say "no free port near $CHROMA_PORT"; break 2; }
      CHROMA_PORT=$((CHROMA_PORT + 1))
    done
    dir=$(mktemp -d "${TMPDIR:-/tmp}/chroma-test-env.XXXXXX")
    ENV_DIR=$dir
    write_env "$dir"
    start_server "$dir" && { started=1; break; }
    stop "$dir"
    say "start on port $CHROMA_PORT failed (attempt $attempt of 3)"
    CHROMA_PORT=$((CHROMA_PORT + 1))
  done
  flock -u 9
  exec 9>&-
  [ "$started" = 1 ] || die "chroma $CHROMA_VERSION did not start"
  say "chroma $CHROMA_VERSION at http://127.0.0.1:$CHROMA_PORT, dir $dir"
  echo "export CHROMA_URL=http://127.0.0.1:$CHROMA_PORT CHROMA_ENV_DIR=$dir CHROMA_VERSION=$CHROMA_VERSION"
}

stop() {
  local dir=${1:?environment directory missing}
  [ -f "$dir/$ENV_MARKER" ] || die "$dir is not a chroma-test-env directory; not touching it"
  stop_server "$dir"
  rm -rf "$dir"
}

status() {
  load_env "$1"
  if running "$ENV_DIR/chroma.pid" && server_ready; then
    echo "chroma $CHROMA_VERSION http://127.0.0.1:$CHROMA_PORT running (pid $(cat "$ENV_DIR/chroma.pid"))"
  else
    echo "chroma $CHROMA_VERSION http://127.0.0.1:$CHROMA_PORT stopped"
    return 1
  fi
}

case "${1:-}" in
  install) install ;;
  installed) installed ;;
  start) start ;;
  stop) stop "${2:-}" ;;
  stop-server) load_env "${2:-}"; stop_server "$ENV_DIR" ;;
  start-server) load_env "${2:-}"; installed || die "chromadb is not installed"; start_server "$ENV_DIR" ;;
  status) status "${2:-}" ;;
  *) usage ;;
esac
