#!/usr/bin/env bash
# Quick start, command 2: installs what is missing, builds, and runs the whole test suite
# (unit, actor, end-to-end and CLI tests) under ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
cd build
ctest --output-on-failure --timeout 300 -j "${EVENTIDE_JOBS:-2}" "$@"
