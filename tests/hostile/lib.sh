# Shared by the generated-record suites (tests/hostile/records.sh on the embedded log,
# tests/kafka/hostile.sh on the real broker): the seed run and the control questions.
hostile_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Questions of the seed run: between them every event type and every tool (PlanFailed for
# Atlantis, PlanningFailed for a blank question written by hand, PlanRevisionRequested and
# PlanRevised for the choice by price, PlanCompensated for the order shipped to Atlantis,
# CompensationFailed for a plan written by hand whose compensation names no shipment, the
# approval events and TurnCancelled for orders over the approval threshold, decided by the CLI),
# and the control questions.
seed_questions=(
  "What is 15% of 240 plus 3^2?"
  "How much does the Aurora X1 cost in EUR including 19% VAT?"
  "What is the battery life of the Aurora X1?"
  "Give me a summary of the weather in Paris and Tokyo"
  "Hello!"
  "What is the weather in Atlantis?"
  "What is 6 times 7?"
  "Which is cheaper, the Aurora X1 or the Nimbus Pro, and what does that one cost in JPY?"
  "Order 2 Tidal Buds, pay in EUR and ship them to Atlantis"
)
# Asked after the storm: their answers must be exactly the seed run's.
control_questions=(
  "What is 15% of 240 plus 3^2?"
  "How much does the Aurora X1 cost in EUR including 19% VAT?"
  "What is 6 times 7?"
)

# seed_run BIN DIR: a clean run on the embedded log in DIR; its dump in DIR/seed.dump.
seed_run() {
  local bin=$1 dir=$2 q
  for q in "${seed_questions[@]}"; do
    "$bin" ask "$q" --data-dir "$dir" > /dev/null 2>&1 || true # Atlantis fails on purpose
  done
  printf '%s' '{"specversion":"1.0","id":"seed-blank/query","type":"UserQueryReceived","source":"eventide/hostile-test","time":"2026-11-20T10:00:00.000Z","subject":"seed-blank","datacontenttype":"application/json","data":{"conversationId":"seed-blank","userId":"u","query":"   ","receivedAt":1}}' \
    | "$bin" produce user-commands seed-blank - --data-dir "$dir" > /dev/null
  local now
  now=$(date -u +%Y-%m-%dT%H:%M:%S.000Z) # a plan's turn times out from its record's time
  printf '%s' '{"specversion":"1.0","id":"seed-saga/query","type":"UserQueryReceived","source":"eventide/hostile-test","time":"'"$now"'","subject":"seed-saga","datacontenttype":"application/json","data":{"conversationId":"seed-saga","userId":"u","query":"Order a Kestrel S5 and ship it to Atlantis","receivedAt":1}}' \
    | "$bin" produce user-commands seed-saga - --data-dir "$dir" > /dev/null
  printf '%s' '{"specversion":"1.0","id":"seed-saga/plan/1","type":"PlanGenerated","source":"eventide/hostile-test","time":"'"$now"'","subject":"seed-saga","datacontenttype":"application/json","data":{"planVersion":1,"plan":{"steps":[{"id":"s1","tool":"placeOrder","args":{"product":"Kestrel S5","quantity":1},"compensation":{"tool":"cancelShipment","args":{"shipmentId":"s-999"}}},{"id":"s2","tool":"shipOrder","args":{"orderId":"{{steps.s1.result.orderId}}","city":"Atlantis"}}]},"planner":{"provider":"hand","model":"written"},"planningMs":0}}' \
    | "$bin" produce conversation-events seed-saga - --data-dir "$dir" > /dev/null
  "$bin" resume --data-dir "$dir" > /dev/null 2>&1 || true # planning and a compensation fail on purpose
  "$bin" compensations retry seed-saga --data-dir "$dir" > /dev/null 2>&1 || true # fails again
  # Approvals (granted, denied) and a cancellation: each order waits for a person first.
  local verb conv
  for verb in approve reject cancel; do
    conv=$( { "$bin" ask "Buy 1 Nimbus Pro" --data-dir "$dir" --timeout 2 2>/dev/null || true; } \
             | sed -n 's/^conversation \([^ ]*\) on .*/\1/p')
    "$bin" "$verb" "$conv" --data-dir "$dir" > /dev/null 2>&1 || true
  done
  "$bin" dump --data-dir "$dir" > "$dir/seed.dump"
}
