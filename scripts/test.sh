#!/usr/bin/env bash
# Quick start, command 2: installs what is missing, builds, starts a throwaway Kafka 0.9 broker
# (scripts/kafka-test-env.sh) for the real-broker tests, and runs the whole suite under ctest,
# 60 s of fuzzing per libFuzzer target included (EVENTIDE_FUZZ_SECONDS).
# The broker is stopped on exit, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bash scripts/build.sh
# The fuzz targets' own clang + sanitizer tree (installs clang-14 if missing); the fuzz.* tests
# then only run it.
bash scripts/fuzz.sh --build-only
bash scripts/kafka-test-env.sh install >&2
eval "$(bash scripts/kafka-test-env.sh start)"
trap 'bash "$root/scripts/kafka-test-env.sh" stop "$KAFKA_ENV_DIR" >&2 || true' EXIT
export KAFKA_BOOTSTRAP KAFKA_ENV_DIR KAFKA_VERSION_FALLBACK
export EVENTIDE_REQUIRE_KAFKA=1 # broker tests fail instead of skipping
echo "[test] Kafka 0.9 broker at $KAFKA_BOOTSTRAP" >&2
cd build
ctest --output-on-failure --timeout 600 -j "${EVENTIDE_JOBS:-2}" "$@"
