#!/usr/bin/env bash
# Quick start, command 1: installs what is missing, builds, and answers a question end to end on
# the embedded log with the offline providers (no broker, no network, no LLM needed).
#   scripts/ask.sh                       # the example question
#   scripts/ask.sh "Compare the Aurora X1 and the Nimbus Pro"
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
question=${1:-"How much does the Aurora X1 cost in EUR including 19% VAT?"}
shift || true
exec build/apps/eventide ask "$question" --data-dir "${EVENTIDE_DATA:-.eventide}" "$@"
