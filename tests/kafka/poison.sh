#!/usr/bin/env bash
# Poison input on a real Kafka broker: thousands of bad records (random bytes, truncated
# JSON, wrong types, unknown event types, schema-invalid data, a ~1 MB value, missing keys) on
# every topic. Every one lands in the DLQ with a reason, from every group that reads its topic;
# no node exits; a normal conversation asked during the storm completes.
set -euo pipefail
bin=$1
source "$(dirname "$0")/lib.sh"
require_broker
begin_test po 3
per_topic=${POISON_PER_TOPIC:-1000}

nodes=(router orchestrator aggregator synthesis workers)
for n in "${nodes[@]}"; do
  case $n in workers) start_node workers workers.ini --roles workers ;; *) start_node "$n" "$n.ini" ;; esac
done
wait_ready "${nodes[@]}"

delim="@@EVENTIDE-RECORD-END@@"
# fuzz.py TOPIC N KEYED -> records "key\tvalue<delim>" (KEYED=0: value only, for missing keys)
cat > "$work/fuzz.py" <<'PY'
import json, random, sys
topic, n, keyed, delim = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4]
rng = random.Random(hash(topic) & 0xffff)
def envelope(t, data, subject="p1"):
    return {"specversion": "1.0", "id": f"x{rng.randrange(10**9)}", "type": t, "source": "fuzz",
            "time": "2026-11-21T10:00:00.000Z", "subject": subject,
            "datacontenttype": "application/json", "data": data}
good = envelope("UserQueryReceived", {"conversationId": "p1", "userId": "u", "query": "hi", "receivedAt": 1})
kinds = [
  lambda: bytes(rng.randrange(1, 256) for _ in range(rng.randrange(1, 200))).replace(b"\t", b" ")
                                                                           .replace(b"@", b"#"),
  lambda: json.dumps(good).encode()[: rng.randrange(1, 120)],
  lambda: json.dumps(envelope("ToolInvocationRequested", {"invocationId": 7, "attempt": "one",
          "stepId": [], "tool": None, "args": "x", "deadline": "soon"})).encode(),
  lambda: json.dumps(envelope(rng.choice(["TeleportRequested", "", "planGenerated", "DROP TABLE"]), {})).encode(),
  lambda: json.dumps(envelope("PlanGenerated", {"planVersion": 0, "plan": {"steps": []}})).encode(),
  lambda: json.dumps({"specversion": "0.3", "type": "UserQueryReceived"}).encode(),
  lambda: b"[1, 2, 3]",
  lambda: b"",
]
out = sys.stdout.buffer
for i in range(n):
    value = kinds[i % len(kinds)]()
    if keyed:
        out.write(f"p{i % 17}\t".encode())
    out.write(value + delim.encode())
if keyed:  # one ~1 MB value (below the broker's message.max.bytes)
    out.write(b"big\t" + b'{"pad":"' + b"x" * 990000 + b'"}' + delim.encode())
    # Nested 200,000 levels deep (a recursive parser runs out of stack): the whole record, and
    # the data of an otherwise valid envelope. Written as bytes: json.dumps would recurse too.
    deep = 200000
    out.write(b"deep1\t" + b"[" * deep + b"]" * deep + delim.encode())
    head = json.dumps(envelope("UserQueryReceived", {}, "deep2")).encode()[:-3]  # ..."data":
    out.write(b"deep2\t" + head + b'{"conversationId":"deep2","x":' + b"[" * deep + b"]" * deep
              + b"}}" + delim.encode())
PY
expected_per_topic=$((per_topic + 1 + 2 + 3)) # fuzzed + the big one + 2 deep + 3 unkeyed valid events
for t in user-commands conversation-events tool-invocation-requests; do
  python3 "$work/fuzz.py" "$t" "$per_topic" 1 "$delim" \
    | kcat -b "$KAFKA_BOOTSTRAP" "${KCAT_ARGS[@]}" -X message.max.bytes=1048576 -P \
        -t "$prefix$t" -K $'\t' -D "$delim"
  # Missing key: otherwise valid events with no key at all.
  for i in 1 2 3; do
    printf '%s' "{\"specversion\":\"1.0\",\"id\":\"nokey$i\",\"type\":\"UserQueryReceived\",\"source\":\"fuzz\",\"time\":\"2026-11-21T10:00:00.000Z\",\"subject\":\"nk$i\",\"datacontenttype\":\"application/json\",\"data\":{\"conversationId\":\"nk$i\",\"userId\":\"u\",\"query\":\"hi\",\"receivedAt\":1}}$delim"
  done | kcat -b "$KAFKA_BOOTSTRAP" "${KCAT_ARGS[@]}" -P -t "$prefix$t" -D "$delim"
done

# A normal conversation during the storm.
# shellcheck disable=SC2046
out=$("$bin" ask "What is 6 times 7?" $(kafka_args "$prefix") --data-dir "$work/ingress" --timeout 120) \
  || fail "conversation during the storm: $out"
grep -q "The answer is 42" <<<"$out" || fail "wrong answer during the storm: $out"

# Every poison record is dead-lettered by every group reading its topic, with a reason.
groups_uc="router aggregator synthesis"
groups_ce="orchestrator aggregator synthesis"
groups_tr="orchestrator tool-getProductInformation tool-ragGeneration tool-generalChat tool-math tool-weather tool-exchangeRate tool-orchestrationSynthesis tool-placeOrder tool-chargePayment tool-shipOrder tool-cancelOrder tool-refundPayment tool-cancelShipment"
expected=$(( expected_per_topic * (3 + 3 + 14) ))
for _ in $(seq 1 120); do
  n=$(kcat -b "$KAFKA_BOOTSTRAP" "${KCAT_ARGS[@]}" -C -t "${prefix}dead-letter-queue" -o beginning -e -q \
        -X fetch.message.max.bytes=2000000 -f 'x\n' 2>/dev/null | wc -l)
  [ "$n" -ge "$expected" ] && break
  sleep 1
done
kcat -b "$KAFKA_BOOTSTRAP" "${KCAT_ARGS[@]}" -C -t "${prefix}dead-letter-queue" -o beginning -e -q \
  -X fetch.message.max.bytes=2000000 -f '%s\n' 2>/dev/null > "$work/dlq.jsonl"
python3 - "$work/dlq.jsonl" "$prefix" "$expected_per_topic" "$groups_uc" "$groups_ce" "$groups_tr" <<'PY' \
  || fail "dead letters"
import json, sys, collections
path, prefix, per_topic = sys.argv[1], sys.argv[2], int(sys.argv[3])
groups = {"user-commands": sys.argv[4].split(), "conversation-events": sys.argv[5].split(),
          "tool-invocation-requests": sys.argv[6].split()}
count = collections.Counter()
reasons = collections.Counter()
for line in open(path):
    dl = json.loads(line)
    assert dl["reason"], dl
    count[(dl["sourceTopic"], dl["consumerGroup"])] += 1
    reasons[dl["reason"].split(":")[0][:40]] += 1
for topic, gs in groups.items():
    for g in gs:
        got = count[(prefix + topic, prefix + g)]
        assert got == per_topic, f"{topic} group {g}: {got} dead letters, expected {per_topic}"
total = sum(count.values())
print(f"{total} dead letters, {per_topic} per topic and group; reasons:")
for r, n in reasons.most_common(8):
    print(f"  {n:6d}  {r}")
PY

# Records, not ids: the storm made no event id repeat with other bytes.
dump_log
logcheck check "$work/log.dump" >&2 || fail "the log breaks exactly-once"

# No node exited.
for n in "${nodes[@]}"; do kill -0 "$(cat "$work/$n.pid")" 2>/dev/null || fail "node $n exited"; done
echo "poison on Kafka: ok"
