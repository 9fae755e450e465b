#!/usr/bin/env bash
# Validates docker-compose.yml without running Docker: installs Debian's docker-compose if it is
# missing, then has it parse and resolve the file (`config -q`). Exit status 0 only for a valid
# file; errors are printed by docker-compose.
#   scripts/check-compose.sh [FILE]        # default: docker-compose.yml at the repository root
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
file=${1:-$root/docker-compose.yml}
[ -f "$file" ] || { echo "[check-compose] $file not found" >&2; exit 1; }

if ! command -v docker-compose >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  echo "[check-compose] installing docker-compose" >&2
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends docker-compose >&2
fi

# `config` needs no daemon; -q prints nothing unless the file is invalid.
if docker-compose -f "$file" config -q; then
  echo "[check-compose] $file is valid" >&2
else
  echo "[check-compose] $file is INVALID" >&2
  exit 1
fi
