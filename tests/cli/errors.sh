#!/usr/bin/env bash
# Bad command lines and bad config: one clear line on stderr and exit status 2, never a crash.
set -euo pipefail
bin=$1
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

expect() { # expected-substring args...
  local want=$1; shift
  set +e; err=$("$bin" "$@" 2>&1 >/dev/null); rc=$?; set -e
  [ "$rc" -eq 2 ] || fail "exit $rc for: $* ($err)"
  [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || fail "not one line for: $*: $err"
  grep -qF -- "$want" <<<"$err" || fail "expected '$want' for: $*, got: $err"
}

set +e; "$bin" >/dev/null 2>&1; rc=$?; set -e; [ "$rc" -eq 2 ] || fail "no args exit $rc"
expect "unknown command 'fly'" fly
expect "exactly one question" ask --data-dir "$dir"
expect "the question is empty" ask "   " --data-dir "$dir"
expect "unknown option --bogus" ask "hi" --bogus 1
expect "--timeout needs a value" ask "hi" --timeout
expect "bad option" ask "hi" --partitions abc --data-dir "$dir"
expect "partitions must be between 1 and 256" ask "hi" --partitions 0 --data-dir "$dir"
expect "kafka-retention-ms must be -1 (keep forever) or positive" ask "hi" --kafka-retention-ms 0 --data-dir "$dir"
expect "unknown role 'routr'" node --roles routr --data-dir "$dir"
expect "no roles given" node --data-dir "$dir"
expect "does not exist" ask "hi" --config "$dir/missing.ini"
printf '[eventide]\npartitionz=3\n' > "$dir/typo.ini"
expect "unknown key eventide.partitionz" ask "hi" --config "$dir/typo.ini"
printf '[eventide]\npartitions="many"\n' > "$dir/type.ini"
expect "eventide.partitions" ask "hi" --config "$dir/type.ini"
expect "llm-planning-chain" ask "hi" --llm-planning-chain "ollama,gpt5" --data-dir "$dir"
expect "vector-store: expected 'embedded' or 'chroma', got 'qdrant'" ask "hi" --vector-store qdrant --data-dir "$dir"
expect "vector-store 'chroma' needs an embedder in llm-embeddings-chain" ask "hi" --vector-store chroma --data-dir "$dir"
expect "chroma-url: expected an http:// or https:// URL, got 'localhost:8000'" ask "hi" --chroma-url localhost:8000 --data-dir "$dir"
printf '[eventide]\nvector-store="chroma"\nllm-embeddings-chain="ollama,offline"\nchroma-collection="my shop"\n' > "$dir/chroma.ini"
expect "chroma-collection: 'my shop' may hold only letters, digits, '.', '_' and '-'" ask "hi" --config "$dir/chroma.ini" --data-dir "$dir"
expect "metrics-port must be between 0 (off) and 65535" node --roles all --metrics-port 70000 --data-dir "$dir"
expect "unknown log level 'loud'" ask "hi" --log-level loud --data-dir "$dir"
expect "resume is for the embedded log" resume --brokers 127.0.0.1:1 --data-dir "$dir"
expect "addressed as PARTITION:OFFSET" dlq show abc --data-dir "$dir"
expect "unknown filter 'colour=red'" dlq list colour=red --data-dir "$dir"
EVENTIDE_CRASH_AT=after-lunch expect "unknown crash point 'after-lunch'" ask "hi" --data-dir "$dir"
EVENTIDE_CRASH_AT=after-effect:0 expect "must be a positive integer" ask "hi" --data-dir "$dir"
EVENTIDE_CRASH_ON_RECORD=router expect "EVENTIDE_CRASH_ON_RECORD: expected <group>:<substring>" ask "hi" --data-dir "$dir"
expect "crash-loop-limit must be between 0 (off) and 1000" node --roles all --crash-loop-limit -1 --data-dir "$dir"
expect "eventide.kafka-properties: 'nokey' is not KEY=VALUE" dump --brokers 127.0.0.1:1 --kafka-properties nokey
expect "eventide.max-turn-cost-usd must be a number of USD >= 0, not 'lots'" ask "hi" --max-turn-cost-usd lots --data-dir "$dir"
expect "eventide.llm-prices: 'gpt' is not MODEL=USD_PER_1K_TOKENS" ask "hi" --llm-prices gpt --data-dir "$dir"
expect "provider-rate: 'shop=-1' is not PROVIDER=NUMBER (a number >= 0)" ask "hi" --provider-rate shop=-1 --data-dir "$dir"
expect "eventide.approval-timeout-ms must be >= 1" ask "hi" --approval-timeout-ms 0 --data-dir "$dir"
echo "cli errors: ok"
