#!/usr/bin/env bash
# Instructions per call of the CPU-bound paths (bench/cpu_paths.cpp) under valgrind's callgrind:
# each path runs once and N + 1 times, and the difference in instructions (Ir) over N is one
# call, start-up and first-call costs (regexes compiled, schemas loaded) excluded. The counts repeat exactly run to run, where times on this shared machine
# move 2x: a change in them is a change in the code. Prints a Markdown table.
#
#   bash bench/instructions.sh BUILD_DIR [N]     N defaults to 200
set -euo pipefail
build=${1:?usage: instructions.sh BUILD_DIR [N]}
n=${2:-200}
bin=$build/bench/cpu_paths
command -v valgrind > /dev/null || { echo "instructions.sh: valgrind is not installed" >&2; exit 1; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
ir() { # PATH N -> total instructions of the run
  valgrind --tool=callgrind --callgrind-out-file="$work/out" "$bin" "$1" "$2" > /dev/null 2> "$work/err" \
    || { cat "$work/err" >&2; exit 1; }
  sed -n 's/^summary: //p' "$work/out"
}
echo "| path | instructions per call (callgrind Ir) |"
echo "|---|---|"
for path in decode plan fold live replay; do
  base=$(ir "$path" 1)
  total=$(ir "$path" $((n + 1)))
  echo "| $path | $(( (total - base) / n )) |"
done
