#!/usr/bin/env bash
# Quick start, command 2: installs what is missing, builds, starts two throwaway brokers
# (scripts/kafka-test-env.sh) and runs the whole suite under ctest, 60 s of fuzzing per
# libFuzzer target included (EVENTIDE_FUZZ_SECONDS):
#   - Apache Kafka 4.1.1 (KRaft) for every real-broker test (KAFKA_BOOTSTRAP);
#   - Apache Kafka 0.9.0.1, the compatibility floor, for a second run of the log contract's
#     real-broker cases (ctest entry contract09, KAFKA09_BOOTSTRAP).
# and a throwaway ChromaDB server (scripts/chroma-test-env.sh, CHROMA_URL) for the chroma.*
# tests, and Debian's chromium with playwright-core (npm) for the console's browser test.
# Brokers and Chroma are stopped on exit, whatever happens. Where chromadb or the browser
# cannot be installed (no PyPI, no npm), those tests report skipped; once installed, they must
# pass.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bash scripts/build.sh
# The fuzz targets' own clang + sanitizer tree (installs clang-14 if missing); the fuzz.* tests
# then only run it.
bash scripts/fuzz.sh --build-only
KAFKA_TEST_VERSION=4 bash scripts/kafka-test-env.sh install >&2
KAFKA_TEST_VERSION=0.9 bash scripts/kafka-test-env.sh install >&2

# chromadb from PyPI into a cached virtualenv; without it the chroma.* tests skip.
chroma_installed=1
bash scripts/chroma-test-env.sh install >&2 || {
  chroma_installed=0
  echo "[test] chromadb could not be installed: the chroma.* tests will report skipped" >&2
}

# Debian's chromium and playwright-core (npm) for the console's browser test; where they cannot
# be installed browser.console reports skipped, once installed it must pass.
if bash scripts/browser-test.sh --install >&2; then
  export EVENTIDE_REQUIRE_BROWSER=1
else
  echo "[test] no headless browser could be installed: browser.console will report skipped" >&2
fi

env_dirs=()
chroma_dir=""
stop_brokers() { # all at once: each JVM takes a few seconds to exit
  local d
  for d in "${env_dirs[@]}"; do bash "$root/scripts/kafka-test-env.sh" stop "$d" >&2 & done
  [ -z "$chroma_dir" ] || bash "$root/scripts/chroma-test-env.sh" stop "$chroma_dir" >&2 &
  wait || true
}
trap stop_brokers EXIT
trap 'exit 130' INT   # the EXIT trap runs on these too
trap 'exit 143' TERM

started=$(KAFKA_TEST_VERSION=0.9 bash scripts/kafka-test-env.sh start)
eval "$started"
env_dirs+=("$KAFKA_ENV_DIR")
KAFKA09_BOOTSTRAP=$KAFKA_BOOTSTRAP
started=$(KAFKA_TEST_VERSION=4 bash scripts/kafka-test-env.sh start)
eval "$started"
env_dirs+=("$KAFKA_ENV_DIR")
export KAFKA_BOOTSTRAP KAFKA_ENV_DIR KAFKA_VERSION_FALLBACK KAFKA_BROKER_VERSION KAFKA09_BOOTSTRAP
export EVENTIDE_REQUIRE_KAFKA=1 # broker tests fail instead of skipping
echo "[test] Kafka $KAFKA_BROKER_VERSION at $KAFKA_BOOTSTRAP; Kafka 0.9.0.1 (contract09) at $KAFKA09_BOOTSTRAP" >&2
if [ "$chroma_installed" = 1 ]; then
  started=$(bash scripts/chroma-test-env.sh start)
  eval "$started"
  chroma_dir=$CHROMA_ENV_DIR
  export CHROMA_URL CHROMA_ENV_DIR CHROMA_VERSION
  export EVENTIDE_REQUIRE_CHROMA=1 # installed: the chroma tests fail instead of skipping
  echo "[test] Chroma $CHROMA_VERSION at $CHROMA_URL" >&2
fi
cd build
# Opt-in: EVENTIDE_LLM_TESTS=1 also starts a real model (scripts/llm-test-env.sh: SmolLM2-135M
# on one thread) for llm.real_model, about 2 minutes; without it that test reports skipped.
if [ "${EVENTIDE_LLM_TESTS:-}" = 1 ]; then
  llm_dir=""
  trap 'stop_brokers; [ -z "$llm_dir" ] || bash "$root/scripts/llm-test-env.sh" stop "$llm_dir" >&2 || true' EXIT
  started=$(bash "$root/scripts/llm-test-env.sh" start)
  eval "$started"
  llm_dir=$LLM_ENV_DIR
  export EVENTIDE_LLM_URL EVENTIDE_LLM_MODEL EVENTIDE_REQUIRE_LLM=1
fi
ctest --output-on-failure --timeout 600 -j "${EVENTIDE_JOBS:-2}" "$@"
