#!/usr/bin/env bash
# The log contract's real-broker cases once more, on the compatibility floor: the Kafka 0.9.0.1
# broker that scripts/test.sh starts next to the Kafka 4 one (KAFKA09_BOOTSTRAP). Cases tagged
# [modern] need what 0.9 lacks (the admin API) and are left out. One process runs them all.
#   floor.sh CONTRACT_TESTS_BINARY
set -euo pipefail
if [ -z "${KAFKA09_BOOTSTRAP:-}" ]; then
  if [ "${EVENTIDE_REQUIRE_KAFKA:-}" = 1 ]; then
    echo "FAIL: EVENTIDE_REQUIRE_KAFKA=1 but no Kafka 0.9 broker (KAFKA09_BOOTSTRAP is not set)"
    exit 1
  fi
  echo "SKIP: no Kafka 0.9 broker (KAFKA09_BOOTSTRAP is not set); run through scripts/test.sh"
  exit 77
fi
KAFKA_BOOTSTRAP=$KAFKA09_BOOTSTRAP KAFKA_VERSION_FALLBACK=0.9.0.1 \
  exec "$1" "[contract][kafka]~[modern]"
