#!/usr/bin/env bash
# Rehydration and resilience on a real Kafka broker, with every role in its own process:
#  1. worker crash: the math worker dies while s3's request is in flight (crash point
#     before-effect: it received the request, the tool has not run); no progress while it is
#     down; restart; the plan completes; s3's tool ran once;
#  2. orchestrator crash + lost store: kill -9 mid-plan, delete its data dir, restart; full
#     replay yields the same state digest as before the crash; no step runs twice;
#  3. duplicates: a ToolInvocationRequested and a ToolInvocationResulted sent again: one effect,
#     the plan advances once, one answer;
#  4. broker restart mid-run, down longer than the group session (6 s): no conversation lost,
#     none answered twice. On a modern broker the roles' open transactions abort (their members
#     left the group) and each bridge rewinds its partitions and reads them again.
# Afterwards, on the raw records: no event id repeats with other bytes, one answer per
# conversation, every tool run (counted where it ran, EVENTIDE_EFFECT_LOG) exactly once.
set -euo pipefail
bin=$1
source "$(dirname "$0")/lib.sh"
require_broker
begin_test rs 3

others=worker-getProductInformation,worker-ragGeneration,worker-generalChat,worker-weather,worker-exchangeRate,worker-orchestrationSynthesis
start_node router router.ini
# Deadlines far away: the digest comparison must not race a deadline re-request.
start_node orchestrator orchestrator.ini --step-timeout-ms 300000
start_node aggregator aggregator.ini
start_node synthesis synthesis.ini
start_node workers workers.ini --roles "$others"
EVENTIDE_CRASH_AT=before-effect start_node worker-math workers.ini --roles worker-math
wait_ready router orchestrator aggregator synthesis workers worker-math

vat="How much does the Aurora X1 cost in EUR including 19% VAT?"

# -- 1. worker crash ------------------------------------------------------------------------------
ask_bg w1 "$vat"
conv=$(conversation_of w1)
wait_crash worker-math before-effect
grep -q "crash point before-effect:1 hit ($conv/1/s3)" "$work/worker-math.out" \
  || fail "the math worker did not die with s3 in flight: $(tail -3 "$work/worker-math.out")"
[ "$(count_events "$conv" ToolInvocationRequested s3)" = 1 ] || fail "s3 was not requested once"
sleep 2 # the plan must not move while the math worker is down
[ "$(count_events "$conv" ToolInvocationResulted s3)" = 0 ] || fail "s3 resulted with its worker down"
[ "$(count_events "$conv" PlanCompleted)" = 0 ] || fail "plan completed with a worker down"
start_node worker-math workers.ini --roles worker-math
wait_ready worker-math
wait_ask w1
grep -q "1422.09" "$work/w1.ask" || fail "worker crash answer: $(cat "$work/w1.ask")"
[ "$(logcheck runs "$EVENTIDE_EFFECT_LOG" "$conv/1/s3")" = 1 ] || fail "s3's tool did not run exactly once"
echo "1. worker crash: ok (died with s3 in flight; after the restart s3 ran once)"

# -- 2. orchestrator crash with a lost store ----------------------------------------------------
stop_node worker-math KILL
ask_bg o1 "$vat"
conv=$(conversation_of o1)
wait_events "$conv" ToolInvocationRequested s3 || fail "s3 was never requested"
orchestrator_digest "$work/before.txt" "$conv"
stop_node orchestrator KILL
rm -rf "$work/orchestrator" # the lost store: everything comes back from the log
start_node orchestrator orchestrator.ini --step-timeout-ms 300000
wait_ready orchestrator
same_digest_after_replay "$work/before.txt" "$conv"
start_node worker-math workers.ini --roles worker-math
wait_ready worker-math
wait_ask o1
dump_log
logcheck expect "$work/log.dump" "$conv" ToolInvocationRequested:s{1,2,3}=1 \
  || fail "a step requested twice after restore"
echo "2. orchestrator crash + lost store: ok (state digest identical after a full replay)"

# -- 3. duplicates ------------------------------------------------------------------------------
dump_log
resend() { # TOPIC TYPE STEP: writes the conversation's first such record again, byte for byte
  # shellcheck disable=SC2046
  logcheck value "$work/log.dump" "$conv" "$2" "$3" \
    | "$bin" produce "$1" "$conv" - $(kafka_args "$prefix") >/dev/null || fail "cannot re-send $2 $3"
}
resend tool-invocation-requests ToolInvocationRequested s1
resend conversation-events ToolInvocationResulted s2
sleep 2
dump_log
# One event each (count_events and expect fail on any id repeated with other bytes, so the
# ledger's answer to the duplicate request must be the recorded event, byte for byte).
logcheck expect "$work/log.dump" "$conv" FinalAnswerSynthesized=1 PlanCompleted=1 \
  PlanStepCompleted:s2=1 ToolInvocationResulted:s1=1 || fail "a duplicate had a second effect"
[ "$(logcheck records "$work/log.dump" "$conv" ToolInvocationResulted s1)" -ge 2 ] \
  || fail "the ledger did not answer the duplicate request"
[ "$(logcheck runs "$EVENTIDE_EFFECT_LOG" "$conv/1/s1")" = 1 ] || fail "the duplicate request ran the tool again"
echo "3. duplicates: ok"

# -- 4. broker restart mid-run ------------------------------------------------------------------
for i in $(seq 1 8); do ask_bg b$i "What is $i plus 100?"; done
# Down once every question is in the log (ask prints it when it reads it back): a question
# still unwritten when the broker goes would only test ask's own 10 s delivery timeout.
for i in $(seq 1 8); do
  for _ in $(seq 1 200); do grep -q UserQueryReceived "$work/b$i.ask" 2>/dev/null && break; sleep 0.05; done
done
down_at=$(date +%s)
bash "$root/scripts/kafka-test-env.sh" stop-broker "$KAFKA_ENV_DIR" >&2
# librdkafka's errors are not swallowed: the nodes' health shows them while the broker is down.
for _ in $(seq 1 50); do
  python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["logError"] else 1)' \
    "$work/orchestrator/health.json" 2>/dev/null && break
  sleep 0.2
done
python3 -c 'import json,sys; e = json.load(open(sys.argv[1]))["logError"]; print("health while the broker is down:", e); sys.exit(0 if e else 1)' \
  "$work/orchestrator/health.json" || fail "broker outage not visible in health.json"
while [ $(($(date +%s) - down_at)) -lt 8 ]; do sleep 0.2; done # past the group session
bash "$root/scripts/kafka-test-env.sh" start-broker "$KAFKA_ENV_DIR" >&2
convs=()
for i in $(seq 1 8); do
  wait_ask b$i
  grep -q "The answer is $((i + 100))" "$work/b$i.ask" || fail "broker restart answer $i"
  convs+=("$(conversation_of b$i)")
done
dump_log
logcheck once "$work/log.dump" FinalAnswerSynthesized "${convs[@]}" >&2 || fail "not answered once each"
# A bridge busy past the health request's 2 s (a transaction commit while the broker comes
# back) reports {"error": ...} for that write: count what the others saw.
aborted=$(python3 -c 'import json,sys; print(sum(b.get("abortedTransactions", 0) for f in sys.argv[1:] for b in json.load(open(f))["bridges"]))' \
  "$work"/*/health.json)
echo "4. broker restart: ok ($aborted transactions aborted and rewound)"

sleep 1 # room for late duplicates
check_log
echo "log: one answer per conversation, no decision twice, every tool run once"
echo "resilience on Kafka: ok"
