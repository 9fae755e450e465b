#!/usr/bin/env bash
# Quick start, command 2: installs what is missing, builds, starts two throwaway brokers
# (scripts/kafka-test-env.sh) and runs the whole suite under ctest, 60 s of fuzzing per
# libFuzzer target included (EVENTIDE_FUZZ_SECONDS):
#   - Apache Kafka 4.1.1 (KRaft) for every real-broker test (KAFKA_BOOTSTRAP);
#   - Apache Kafka 0.9.0.1, the compatibility floor, for a second run of the log contract's
#     real-broker cases (ctest entry contract09, KAFKA09_BOOTSTRAP).
# Both brokers are stopped on exit, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bash scripts/build.sh
# The fuzz targets' own clang + sanitizer tree (installs clang-14 if missing); the fuzz.* tests
# then only run it.
bash scripts/fuzz.sh --build-only
KAFKA_TEST_VERSION=4 bash scripts/kafka-test-env.sh install >&2
KAFKA_TEST_VERSION=0.9 bash scripts/kafka-test-env.sh install >&2

env_dirs=()
stop_brokers() { # both at once: each JVM takes a few seconds to exit
  local d
  for d in "${env_dirs[@]}"; do bash "$root/scripts/kafka-test-env.sh" stop "$d" >&2 & done
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
