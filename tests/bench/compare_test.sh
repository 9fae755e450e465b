#!/usr/bin/env bash
# bench/compare.py on two small reports: exact ratios, the 2x marks, rows matched by section and
# first cell, hop lines (with and without other readers), figures only in one report counted.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
cat > "$dir/old.md" <<'MD'
# Eventide benchmark report

## Embedded log (RocksDB)

One produce->consume hop: p50 0.014 ms, p95 0.017 ms, p99 0.025 ms

One produce->consume hop with 13 other readers of the topic: p50 0.100 ms, p95 0.120 ms (p50 7.1x the hop alone)

| scenario | steps | p50 ms | p50 / (hops x hop p50) |
|---|---|---|---|
| 1-step (math) | 1 | 1.05 | 12.8x |
| 3-step (product -> exchange -> math) | 3 | 2.57 | 18.7x |

| concurrent conversations (3-step) | conversations/s |
|---|---|
| 100 | 826 |
| 10 | 631 |
MD
cat > "$dir/new.md" <<'MD'
# Eventide benchmark report

## Embedded log (RocksDB)

One produce->consume hop: p50 0.014 ms, p95 0.034 ms, p99 0.025 ms

One produce->consume hop with 13 other readers of the topic: p50 0.050 ms, p95 0.120 ms (p50 3.6x the hop alone)

| scenario | steps | p50 ms | p50 / (hops x hop p50) |
|---|---|---|---|
| 1-step (math) | 1 | 1.05 | 12.8x |
| 3-step (product -> exchange -> math) | 3 | 0.90 | 6.4x |

| concurrent conversations (3-step) | conversations/s |
|---|---|
| 100 | 2100 |
| 1 | 400 |
MD
got=$(python3 "$here/bench/compare.py" "$dir/old.md" "$dir/new.md")
expected='12 figures compared, 5 changed by 2x or more (marked); 1 new, 1 gone.

| section | row | figure | before | now | now / before |
|---|---|---|---|---|---|
| Embedded log (RocksDB) | one hop | p50 ms | 0.014 | 0.014 | 1.00 |
| Embedded log (RocksDB) | one hop | p95 ms | 0.017 | 0.034 | **2.00** |
| Embedded log (RocksDB) | one hop | p99 ms | 0.025 | 0.025 | 1.00 |
| Embedded log (RocksDB) | One produce->consume hop with 13 other readers of the topic | p50 ms | 0.1 | 0.05 | **0.50** |
| Embedded log (RocksDB) | One produce->consume hop with 13 other readers of the topic | p95 ms | 0.12 | 0.12 | 1.00 |
| Embedded log (RocksDB) | 1-step (math) | steps | 1 | 1 | 1.00 |
| Embedded log (RocksDB) | 1-step (math) | p50 ms | 1.05 | 1.05 | 1.00 |
| Embedded log (RocksDB) | 1-step (math) | p50 / (hops x hop p50) | 12.8 | 12.8 | 1.00 |
| Embedded log (RocksDB) | 3-step (product -> exchange -> math) | steps | 3 | 3 | 1.00 |
| Embedded log (RocksDB) | 3-step (product -> exchange -> math) | p50 ms | 2.57 | 0.9 | **0.35** |
| Embedded log (RocksDB) | 3-step (product -> exchange -> math) | p50 / (hops x hop p50) | 18.7 | 6.4 | **0.34** |
| Embedded log (RocksDB) | 100 | conversations/s | 826 | 2100 | **2.54** |'
if [ "$got" != "$expected" ]; then
  diff <(echo "$expected") <(echo "$got") >&2 || true
  echo "FAIL: compare output" >&2
  exit 1
fi
echo "bench compare ok"
