#!/usr/bin/env bash
# Clean-build time of a commit, without ccache, two jobs (as CI builds): CPU (user + sys) and
# wall seconds for the eventide binary (libraries and CLI), then for everything else (tests,
# benchmarks). Prints one Markdown table row per commit given.
#   bash bench/build_time.sh [COMMIT...]   (default: HEAD)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$work/src" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
echo "| commit | eventide: CPU s | wall s | everything else: CPU s | wall s |"
echo "|---|---|---|---|---|"
for commit in "${@:-HEAD}"; do
  git -C "$root" worktree remove --force "$work/src" >/dev/null 2>&1 || true
  git -C "$root" worktree add -f --detach "$work/src" "$commit" >/dev/null 2>&1
  rm -rf "$work/build"
  CCACHE_DISABLE=1 cmake -S "$work/src" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    >/dev/null
  row="| $(git -C "$root" rev-parse --short "$commit")"
  for target in eventide all; do
    /usr/bin/time -f "%U %S %e" -o "$work/time" env CCACHE_DISABLE=1 ninja -C "$work/build" -j2 \
      "$target" >/dev/null
    read -r user sys wall < "$work/time"
    row+=" | $(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.0f", u + s }') | $wall"
  done
  echo "$row |"
done
