#!/usr/bin/env bash
# Crash where it hurts, on a real Kafka broker: one scenario per crash point
# (EVENTIDE_CRASH_AT, README "Crash points"). In each, one node is started with the point armed,
# one question is asked, the node dies in that window (exit 86, checked), is restarted without
# it, and then, on the raw records of the log, what the README promises at that point holds:
# the right answer, exactly one answer, no event id repeated with other bytes, every step
# requested once -- and the tool runs, counted where the tool runs (EVENTIDE_EFFECT_LOG), are
# exactly what the README says for that point (once, or twice after a crash between a tool's
# effect and its ledger write: that window re-runs the tool).
# (before-effect, a worker dying with its request in flight, is scenario 1 of resilience.sh.)
# On a modern broker every role writes in Kafka transactions (exactly-once, the default): what a
# node produced before it died is aborted, never read, so the log holds no record twice at all
# (logcheck unique), and before-commit, the window between a transaction's last record and its
# commit, is tested on each kind of role.
set -euo pipefail
bin=$1
source "$(dirname "$0")/lib.sh"
require_broker
begin_test cp 3

others=worker-getProductInformation,worker-ragGeneration,worker-generalChat,worker-weather,worker-exchangeRate,worker-orchestrationSynthesis
# Deadlines far away: a re-request after a missed deadline would be a second request of a step
# for a reason other than the crash.
orchestrator_args=(--step-timeout-ms 300000)
start_node router router.ini
start_node orchestrator orchestrator.ini "${orchestrator_args[@]}"
start_node aggregator aggregator.ini
start_node synthesis synthesis.ini
start_node workers workers.ini --roles "$others"
start_node worker-math workers.ini --roles worker-math
wait_ready router orchestrator aggregator synthesis workers worker-math

vat="How much does the Aurora X1 cost in EUR including 19% VAT?"
eos=$([ -z "${KAFKA_VERSION_FALLBACK:-}" ] && echo 1 || echo 0) # transactions (Kafka 0.11+)

restart() { # NAME: the node as it runs normally (nothing armed), on the same data dir
  case $1 in
    router) start_node router router.ini ;;
    orchestrator) start_node orchestrator orchestrator.ini "${orchestrator_args[@]}" ;;
    workers) start_node workers workers.ini --roles "$others" ;;
    worker-math) start_node worker-math workers.ini --roles worker-math ;;
  esac
  wait_ready "$1"
}

arm() { # NAME POINT: restarts NAME with POINT armed
  stop_node "$1"
  case $1 in
    router) EVENTIDE_CRASH_AT=$2 start_node router router.ini ;;
    orchestrator) EVENTIDE_CRASH_AT=$2 start_node orchestrator orchestrator.ini "${orchestrator_args[@]}" ;;
    workers) EVENTIDE_CRASH_AT=$2 start_node workers workers.ini --roles "$others" ;;
    worker-math) EVENTIDE_CRASH_AT=$2 start_node worker-math workers.ini --roles worker-math ;;
  esac
  wait_ready "$1"
}

# expect_vat_answer NAME CONV: the answer is right, each step requested and resulted once, and
# the whole log still holds exactly-once.
expect_vat_answer() {
  wait_ask "$1"
  grep -q "1422.09" "$work/$1.ask" || fail "$1: wrong answer: $(cat "$work/$1.ask")"
  sleep 1 # room for late duplicates
  dump_log
  logcheck expect "$work/log.dump" "$2" FinalAnswerSynthesized=1 \
    ToolInvocationRequested:s{1,2,3}=1 ToolInvocationResulted:s{1,2,3}=1 || fail "$1: not once"
  if [ "$eos" = 1 ]; then logcheck unique "$work/log.dump" >&2 || fail "$1: a record written twice"; fi
}

# aborted CONV: records of CONV that only a read_uncommitted reader sees (transactions the
# crashes aborted): proof that a crash hit between a produce and its commit.
aborted() {
  local t all=0 seen=0
  for t in user-commands conversation-events tool-invocation-requests; do
    all=$((all + $(kcat -b "$KAFKA_BOOTSTRAP" "${KCAT_ARGS[@]}" -C -t "$prefix$t" -o beginning -e -q \
                     -X isolation.level=read_uncommitted -f '%k\n' | grep -c "^$1\$" || true)))
    seen=$((seen + $(kcat -b "$KAFKA_BOOTSTRAP" "${KCAT_ARGS[@]}" -C -t "$prefix$t" -o beginning -e -q \
                      -X isolation.level=read_committed -f '%k\n' | grep -c "^$1\$" || true)))
  done
  echo $((all - seen))
}

runs() { logcheck runs "$EVENTIDE_EFFECT_LOG" "$1"; }

each_tool_ran_once() { # CONV LABEL
  local s
  for s in s1 s2 s3; do [ "$(runs "$1/1/$s")" = 1 ] || fail "$2: $s's tool ran $(runs "$1/1/$s") times"; done
}

# ask_until_crash NAME POINT NODE: asks the VAT question as NAME and waits for NODE to die at
# POINT; sets $conv.
ask_until_crash() {
  ask_bg "$1" "$vat"
  conv=$(conversation_of "$1")
  wait_crash "$3" "$2"
}

# -- after-effect: the math tool ran, its ledger write did not happen -----------------------------
arm worker-math after-effect
ask_until_crash ae after-effect worker-math
[ "$(runs "$conv/1/s3")" = 1 ] || fail "after-effect: s3's tool did not run before the crash"
[ "$(count_events "$conv" ToolInvocationResulted s3)" = 0 ] || fail "after-effect: a result without a ledger write"
restart worker-math
expect_vat_answer ae "$conv"
# The documented gap: the request is delivered again and the tool runs again. Harmless for the
# offline tools (pure functions); an external effect without an idempotency key happens twice.
[ "$(runs "$conv/1/s3")" = 2 ] || fail "after-effect: expected the re-run the README documents, got $(runs "$conv/1/s3") runs"
echo "after-effect: ok (the tool ran twice, one result, one answer: the documented re-run)"

# -- after-produce, worker: the result is in the log, the request was not acknowledged -----------
arm workers after-produce:1
ask_until_crash ap after-produce workers
# Durable and visible without transactions; written into the open transaction with them, which
# the crash aborts.
[ "$(count_events "$conv" ToolInvocationResulted s1)" = $((1 - eos)) ] || fail "after-produce: s1's result is not where it should be"
restart workers
expect_vat_answer ap "$conv"
# The request was delivered again and the ledger answered it with the recorded event, byte for
# byte (count_events fails on any other repeat); the tool did not run again. With transactions
# the first copy was aborted: one record.
[ "$(count_records "$conv" ToolInvocationResulted s1)" = $((2 - eos)) ] || fail "after-produce: the redelivered request was not answered from the ledger"
[ "$(runs "$conv/1/s1")" = 1 ] || fail "after-produce: s1's tool ran again"
echo "after-produce (worker): ok (redelivered request answered from the ledger; $((2 - eos)) record(s); tool ran once)"

# -- after-produce, orchestrator: its request is in the log, the plan record is not acknowledged -
arm orchestrator after-produce:1
ask_until_crash op after-produce orchestrator
[ "$(count_events "$conv" ToolInvocationRequested s1)" = $((1 - eos)) ] || fail "orchestrator after-produce: s1's request is not where it should be"
restart orchestrator
expect_vat_answer op "$conv"
each_tool_ran_once "$conv" "orchestrator after-produce"
echo "after-produce (orchestrator): ok (replay saw its own request: nothing requested twice)"

# -- after-snapshot: a conversation's snapshot is stored, the record is not acknowledged ---------
arm orchestrator after-snapshot:2
ask_until_crash as after-snapshot orchestrator
restart orchestrator
expect_vat_answer as "$conv"
each_tool_ran_once "$conv" "after-snapshot"
echo "after-snapshot: ok (the record folded again onto its own snapshot changed nothing)"

# -- after-result: s1's result is folded, s2's request not produced -----------------------------
arm orchestrator after-result:1
ask_until_crash ar after-result orchestrator
[ "$(count_events "$conv" ToolInvocationRequested s2)" = 0 ] || fail "after-result: s2 requested before the crash"
restart orchestrator
expect_vat_answer ar "$conv"
each_tool_ran_once "$conv" "after-result"
echo "after-result: ok (the decision lost in the crash was made once, after the restart)"

# -- mid-restore: the orchestrator dies while replaying a lost store ------------------------------
stop_node worker-math # the plan waits at s3, so the restore has a running conversation
ask_bg mr "$vat"
conv=$(conversation_of mr)
wait_events "$conv" ToolInvocationRequested s3 || fail "mid-restore: s3 never requested"
stop_node orchestrator KILL
rm -rf "$work/orchestrator" # a lost store: the restore replays every record from offset 0
EVENTIDE_CRASH_AT=mid-restore:3 start_node orchestrator orchestrator.ini "${orchestrator_args[@]}"
wait_crash orchestrator mid-restore
restart orchestrator
restart worker-math
expect_vat_answer mr "$conv"
each_tool_ran_once "$conv" "mid-restore"
echo "mid-restore: ok (a restore cut short is redone; nothing requested twice)"

# -- after-snapshot, router: turn 2's question is in the router's memory store, not acknowledged --
ask_bg t1 "How much do the Tidal Buds cost?"
conv=$(conversation_of t1)
wait_ask t1
arm router after-snapshot:1
ask_bg t2 "and in EUR?" --conversation "$conv"
wait_crash router after-snapshot
grep -q "crash point after-snapshot:1 hit ($conv)" "$work/router.out" \
  || fail "router after-snapshot: died elsewhere: $(tail -3 "$work/router.out")"
[ "$(count_events "$conv" PlanGenerated)" = 1 ] || fail "router after-snapshot: turn 2 planned before the crash"
restart router
wait_ask t2
grep -qx 'The Tidal Buds costs 149.13 EUR (129 GBP at 1.15607).' "$work/t2.ask" \
  || fail "router after-snapshot: turn 2 answer: $(cat "$work/t2.ask")"
sleep 1 # room for late duplicates
dump_log
logcheck expect "$work/log.dump" "$conv" UserQueryReceived=2 PlanGenerated=2 FinalAnswerSynthesized=2 \
  || fail "router after-snapshot: not one plan and one answer per turn"
echo "after-snapshot (router): ok (turn 2 planned once after the restart, as its follow-up)"

# -- kill -9, router, in the agent loop: the revision request is written while it is down ---------
pick="Which is cheaper, the Aurora X1 or the Nimbus Pro, and what does that one cost in JPY?"
stop_node workers # the lookups wait until the router is gone
ask_bg al "$pick"
conv=$(conversation_of al)
wait_events "$conv" PlanGenerated || fail "agent loop: no plan"
stop_node router KILL
restart workers
wait_events "$conv" PlanRevisionRequested || fail "agent loop: no revision request"
sleep 1
[ "$(count_events "$conv" PlanRevised)" = 0 ] || fail "agent loop: revised with the router down"
restart router
wait_ask al
grep -q "^The Aurora X1 is cheaper: 1299 USD against 1849 USD for the Nimbus Pro\. .*The Aurora X1 costs 194132.98 JPY" "$work/al.ask" \
  || fail "agent loop: answer: $(cat "$work/al.ask")"
sleep 1 # room for late duplicates
dump_log
logcheck expect "$work/log.dump" "$conv" PlanGenerated=1 PlanRevisionRequested=1 PlanRevised=1 \
  ToolInvocationRequested:s{1,2,3}=1 FinalAnswerSynthesized=1 || fail "agent loop: not once"
for s in 1/s1 1/s2 2/s3; do # invocation ids carry the plan version
  [ "$(runs "$conv/$s")" = 1 ] || fail "agent loop: $s's tool ran $(runs "$conv/$s") times"
done
echo "agent loop (router killed): ok (the request written while it was down was answered once after its restart)"

# -- kill -9, orchestrator, in the agent loop: the revision is written while it is down ----------
stop_node workers
ask_bg ao "$pick"
conv=$(conversation_of ao)
wait_events "$conv" PlanGenerated || fail "orchestrator in the loop: no plan"
stop_node router
restart workers
wait_events "$conv" PlanRevisionRequested || fail "orchestrator in the loop: no revision request"
stop_node orchestrator KILL
restart router
wait_events "$conv" PlanRevised || fail "orchestrator in the loop: no revision"
restart orchestrator
wait_ask ao
grep -q "^The Aurora X1 is cheaper: .*194132.98 JPY" "$work/ao.ask" || fail "orchestrator in the loop: answer: $(cat "$work/ao.ask")"
sleep 1
dump_log
logcheck expect "$work/log.dump" "$conv" PlanRevisionRequested=1 PlanRevised=1 \
  ToolInvocationRequested:s{1,2,3}=1 FinalAnswerSynthesized=1 || fail "orchestrator in the loop: not once"
for s in 1/s1 1/s2 2/s3; do
  [ "$(runs "$conv/$s")" = 1 ] || fail "orchestrator in the loop: $s's tool ran $(runs "$conv/$s") times"
done
echo "agent loop (orchestrator killed): ok (the revision written while it was down ran once after its restart)"

# -- kill -9, orchestrator, between turns: turn 2 is asked while it is down ----------------------
ask_bg bt1 "How much do the Tidal Buds cost?"
conv=$(conversation_of bt1)
wait_ask bt1
stop_node orchestrator KILL
ask_bg bt2 "and in EUR?" --conversation "$conv"
restart orchestrator
wait_ask bt2
grep -qx 'The Tidal Buds costs 149.13 EUR (129 GBP at 1.15607).' "$work/bt2.ask" || fail "between turns: $(cat "$work/bt2.ask")"
sleep 1
dump_log
logcheck expect "$work/log.dump" "$conv" UserQueryReceived=2 PlanGenerated=2 PlanCompleted=2 FinalAnswerSynthesized=2 \
  || fail "between turns: not one plan and one answer per turn"
echo "between turns (orchestrator killed): ok (turn 2 answered once after its restart)"

[ "$eos" = 1 ] || { echo "before-commit: not on Kafka ${KAFKA_BROKER_VERSION:-0.9} (no transactions)"; exit 0; }

# -- before-commit: a role's outputs are in its transaction, the commit did not happen ----------
# kill -9 between a transaction's last record and its commit, on each kind of role. The
# transaction is aborted (its records are in the log, unread), the input is read again, and the
# role writes its outputs again, once: the router and the worker from their ledgers, the
# orchestrator from its snapshot (the decisions the log never got are made again, same ids).
before_commit() { # NODE TAG
  arm "$1" before-commit:1
  ask_until_crash "$2" before-commit "$1"
  local lost; lost=$(aborted "$conv")
  [ "$lost" -ge 1 ] || fail "before-commit ($1): no aborted record: the crash did not cut a transaction"
  restart "$1"
  expect_vat_answer "$2" "$conv"
  each_tool_ran_once "$conv" "before-commit ($1)"
  echo "before-commit ($1): ok ($lost record(s) aborted; each written once after the restart)"
}
before_commit router bcr
before_commit orchestrator bco
before_commit workers bcw

dump_log
logcheck once "$work/log.dump" FinalAnswerSynthesized >&2 || fail "not one answer per conversation"
echo "crash points on Kafka: ok"
