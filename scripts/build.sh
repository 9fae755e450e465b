#!/usr/bin/env bash
# Configures (once) and builds Eventide into build/ with Ninja and ccache, two jobs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh >&2
if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >&2
fi
cmake --build build -j "${EVENTIDE_JOBS:-2}" >&2
