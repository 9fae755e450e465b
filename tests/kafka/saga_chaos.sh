#!/usr/bin/env bash
# Sagas under chaos on a real Kafka broker, with the shop as its own process (issue 16). The
# shop (`eventide shop serve`, its own RocksDB store) and every role run as separate processes:
# router, orchestrator, aggregator, synthesis, a node with the read-only worker the orders need
# (exchangeRate) and a node with the six shop workers (`--shop-url`). 110 orders are written
# over ~30 s, each its own conversation: orders placed, paid and shipped (some paid in another
# currency), orders that cannot be shipped (Atlantis: the saga refunds, then cancels), orders
# over the card limit (declined: the saga cancels) and one out of stock. While they run:
#   - the shop-workers node dies between a tool's effect and its ledger write
#     (EVENTIDE_CRASH_AT=after-effect:<n>, n varying; exit 86 checked), again and again: the
#     window only the shop's Idempotency-Key covers;
#   - the orchestrator is kill -9ed right after a compensation request is committed, and the
#     saga is proven to span the kill: a compensation request written before it, and the
#     PlanCompensated written after it (Kafka CreateTime; the dead process cannot write);
#   - router, aggregator, synthesis and the exchangeRate node are each kill -9ed once, and the
#     shop itself once (its store is durable; the workers retry with the same key).
# Then, on evidence outside the code under test:
#   - the raw records of the log: every conversation answered exactly once (records, not ids;
#     on Kafka 4 no record written twice), no dead letter;
#   - the shop's own store (GET /effects, /stock, /orders, /payments, /shipments from the
#     shop process, and `shop stock` once it is stopped): exactly the effects each order's kind
#     implies, each idempotency key applied once, every id the answers quote is that effect's
#     record, and stock = initial stock - what the orders that stayed placed took;
#   - each answer is the expected one for its kind, amounts and currency conversions exact;
#   - tool runs counted where they run (EVENTIDE_EFFECT_LOG, one file per life of the shop
#     workers): every (invocation, attempt) ran once, except that a run in a life that then died
#     at the after-effect crash point is followed by one more in a later life (the crashing
#     invocation, and any other the dying process had between effect and ledger write), and
#     every crashing invocation was re-run; the shop answered each re-run from its key store;
#   - the kills happened: >= 3 after-effect crashes (exit 86), >= 1 orchestrator kill during a
#     saga, the shop and the four other nodes killed (exit 137).
set -euo pipefail
bin=$1
source "$(dirname "$0")/lib.sh"
require_broker
# The proofs need record timestamps (Kafka 0.10+) and transactions (0.11+): the test brokers of
# scripts/test.sh are Kafka 4; on the 0.9 floor only the contract suite runs.
if [ -n "${KAFKA_VERSION_FALLBACK:-}" ]; then
  echo "SKIP: saga chaos needs a modern broker (record timestamps, transactions)"; exit 77
fi
begin_test sc 3
t_start=$SECONDS
say() { echo "saga chaos [$((SECONDS - t_start)) s]: $*" >&2; }
seconds=${SAGA_CHAOS_SECONDS:-30}
min_crashes=3

# start_process NAME CMD...: start_node's bookkeeping for any command (the shop, kcat readers):
# PID in $work/NAME.pid, exit status in $work/NAME.rc, output in $work/NAME.out (earlier lives
# in NAME.history), stopped by stop_node and at exit like a node.
start_process() {
  local name=$1; shift
  rm -f "$work/$name.pid" "$work/$name.rc"
  [ -f "$work/$name.out" ] && cat "$work/$name.out" >> "$work/$name.history" && rm "$work/$name.out"
  ( "$@" > "$work/$name.out" 2>&1 &
    echo $! > "$work/$name.pid.tmp" && mv "$work/$name.pid.tmp" "$work/$name.pid"
    rc=0; wait $! || rc=$?; echo $rc > "$work/$name.rc.tmp" && mv "$work/$name.rc.tmp" "$work/$name.rc" ) &
  disown $!
  for _ in $(seq 1 100); do [ -f "$work/$name.pid" ] && return; sleep 0.01; done
  fail "$name did not start"
}

# -- the shop, its own process on a port of its own; restarted on the same port ---------------
shop_port=0
start_shop() {
  start_process shop "$bin" shop serve --port "$shop_port" --data-dir "$work/shopdata"
  for _ in $(seq 1 200); do
    grep -q '^shop: listening on ' "$work/shop.out" 2>/dev/null && break
    [ -f "$work/shop.rc" ] && fail "the shop exited: $(cat "$work/shop.out")"
    sleep 0.02
  done
  shop_url=$(sed -n 's/^shop: listening on \(http:[^ ]*\) .*/\1/p' "$work/shop.out")
  [ -n "$shop_url" ] || fail "the shop did not listen: $(cat "$work/shop.out")"
  shop_port=${shop_url##*:}
}
start_shop
curl -sSf "$shop_url/stock" > "$work/stock.initial.json" || fail "GET /stock"

# -- every role its own process ----------------------------------------------------------------
shop_roles=worker-placeOrder,worker-chargePayment,worker-shipOrder,worker-cancelOrder,worker-refundPayment,worker-cancelShipment
# Deadlines far away: a step re-requested after a missed deadline would be a second request for
# a reason other than the kills (the tool-run count below attributes every re-run to a crash).
# More attempts than the default 3: the shop is kept down on purpose until a call has failed on
# it, and a step whose calls fail meanwhile must outlast that (with the default, the 3 attempts
# are spent in about 0.5 s and orders fail at random; compensations retry up to 50 times).
orchestrator_args=(--step-timeout-ms 300000 --max-attempts 8)
# No approvals (a charge worth more than approval-threshold would wait for a person): every
# charge here is decided by the shop's card limit, so declined ones must reach the shop.
orchestrator_args+=(--approval-threshold 1000000)
start_role() { # NAME: as it runs normally, on its data dir
  case $1 in
    router|aggregator|synthesis) start_node "$1" "$1.ini" ;;
    orchestrator) start_node orchestrator orchestrator.ini "${orchestrator_args[@]}" ;;
    readers) start_node readers workers.ini --roles worker-exchangeRate ;;
    shopworkers) # each life its own effect log: a re-run is told apart by the life that ran it
      local life; life="$work/effects.shopworkers.$(date +%s%N).log"
      echo "$life" > "$work/shopworkers.life"
      EVENTIDE_EFFECT_LOG=$life start_node shopworkers workers.ini --roles "$shop_roles" --shop-url "$shop_url" ;;
  esac
}
for r in router orchestrator aggregator synthesis readers; do start_role "$r"; done
n_first=$((1 + RANDOM % 4))
wait_ready router orchestrator aggregator synthesis readers
EVENTIDE_CRASH_AT=after-effect:$n_first start_role shopworkers
wait_ready shopworkers

# Committed records as they come (read_committed, kcat's default), with their Kafka CreateTime:
# how the drivers see compensations start and end, and the timestamps that prove when.
tail_topic() { # NAME TOPIC
  start_process "$1" kcat -b "$KAFKA_BOOTSTRAP" "${KCAT_ARGS[@]}" -C -t "$prefix$2" -o beginning -u -q \
    -f 'R %T %k %s\n'
}
tail_topic requests tool-invocation-requests
tail_topic events conversation-events

# -- the orders ---------------------------------------------------------------------------------
# Per product, every order that places it (successes, Atlantis ones and declined ones, which hold
# their units until the saga gives them back) takes no more than the stock, so that no order
# depends on another one's timing; the one out-of-stock order asks 2 of a product that has 1.
python3 - "$root" "$prefix" "$work/orders.json" "$RANDOM" <<'PY' || fail "cannot plan the orders"
import json, random, sys, glob, os
root, prefix, out, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
rng = random.Random(seed)
catalog = {}
for path in glob.glob(os.path.join(root, "products", "*.md")):
    pid = os.path.basename(path)[:-3]
    front = {}
    with open(path) as f:
        lines = f.read().split("\n")
    if lines[0] != "---":
        continue
    for line in lines[1:lines.index("---", 1)]:
        k, _, v = line.partition(":")
        front[k.strip()] = v.strip()
    if "stock" in front:
        catalog[pid] = {"name": front["name"], "price": front["price"],
                        "currency": front["currency"], "stock": int(front["stock"])}
cities = ["Berlin", "London", "Paris", "Madrid", "Rome", "Vienna", "Amsterdam", "New York",
          "Tokyo", "Sydney"]
# (kind, product, quantity, count, pay-in currency or None, ship)
mix = [
    ("done", "tidal-buds", 2, 8, None, True), ("done", "harbor-speaker", 1, 10, None, True),
    ("done", "sonora-studio", 2, 5, None, True), ("done", "vertex-pulse", 1, 8, None, True),
    ("done", "slate-tab-11", 1, 6, None, True), ("done", "slate-tab-11", 1, 4, "USD", True),
    ("done", "aurora-x1", 1, 3, None, True), ("done", "clarity-27q", 1, 5, None, True),
    ("done", "kestrel-s5", 1, 4, None, True), ("done", "harbor-speaker", 1, 5, "EUR", True),
    ("done", "tidal-buds", 1, 6, None, False), ("done", "sonora-studio", 1, 5, None, False),
    ("done", "inkwell-paper", 2, 8, None, False), ("done", "zephyr-phone-8", 1, 1, None, False),
    ("done", "aurora-x1", 1, 6, "EUR", False), ("done", "vertex-pulse", 1, 1, "CHF", True),
    ("compensated", "tidal-buds", 2, 6, None, True), ("compensated", "harbor-speaker", 1, 4, None, True),
    ("compensated", "vertex-pulse", 1, 4, None, True), ("compensated", "inkwell-paper", 2, 3, None, True),
    ("compensated", "sonora-studio", 1, 2, "EUR", True),
    ("declined", "lumen-m50", 2, 3, None, False), ("declined", "lumen-m50", 2, 1, "GBP", False),
    ("declined", "nimbus-pro", 2, 1, None, False),
    ("out_of_stock", "zephyr-phone-8", 2, 1, None, False),
]
held = {}
for kind, pid, q, n, _, _ in mix:
    if kind != "out_of_stock":
        held[pid] = held.get(pid, 0) + q * n
for pid, units in held.items():
    assert units <= catalog[pid]["stock"], (pid, units, catalog[pid]["stock"])
orders = []
for kind, pid, q, n, cur, ship in mix:
    for _ in range(n):
        name = catalog[pid]["name"]
        pron = "it" if q == 1 else "them"
        city = "Atlantis" if kind == "compensated" else rng.choice(cities) if ship else None
        verb = rng.choice(["Order", "Buy", "Please order", "Purchase", "Could you order"])
        q_text = f"{verb} {q} {name}"
        if cur:
            q_text += f", pay in {cur}"
        if city:
            q_text += (" and " if cur else " and ") + rng.choice(["ship", "send", "deliver"]) \
                      + f" {pron} to {city}"
        orders.append({"kind": kind, "product": pid, "quantity": q, "pay": cur, "city": city,
                       "query": q_text})
rng.shuffle(orders)
for i, o in enumerate(orders):
    o["conv"] = f"{prefix}o{i}"
json.dump({"seed": seed, "catalog": catalog, "orders": orders}, open(out, "w"), indent=1)
PY
total=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["orders"]))' "$work/orders.json")

# Writer: the orders spread over $seconds, with kcat, as a client would.
python3 - "$work/orders.json" "$seconds" <<'PY' | kcat -b "$KAFKA_BOOTSTRAP" "${KCAT_ARGS[@]}" -P -t "${prefix}user-commands" -K '|' &
import json, sys, time
orders, seconds = json.load(open(sys.argv[1]))["orders"], float(sys.argv[2])
for o in orders:
    conv = o["conv"]
    ev = {"specversion": "1.0", "id": conv + "/query", "type": "UserQueryReceived",
          "source": "saga-chaos", "time": "2026-11-21T10:00:00.000Z", "subject": conv,
          "datacontenttype": "application/json",
          "data": {"conversationId": conv, "userId": "chaos", "query": o["query"], "receivedAt": 0}}
    print(conv + "|" + json.dumps(ev, separators=(",", ":")), flush=True)
    time.sleep(seconds / len(orders))
PY
writer=$!
writing() { kill -0 "$writer" 2>/dev/null; }

answered() { # how many of the orders have a FinalAnswerSynthesized (committed) so far
  grep '"type":"FinalAnswerSynthesized"' "$work/events.out" | awk '{print $3}' | sort -u | wc -l
}

# -- driver 1: the shop workers die between effect and ledger write, again and again ----------
# Each armed life dies at its n-th after-effect hit. The next life runs unarmed until the crash
# guard has handled the records the crash left in flight (each alone, and forgiven), then stops
# cleanly and is armed again: no record collects a second strike, so the guard dead-letters
# nothing (checked: no dead letter).
suspects_handled() { # the shop workers' crash guard is done with what the last crash left
  for _ in $(seq 1 300); do
    grep -q "every suspect handled" "$work/shopworkers.out" && return 0
    sleep 0.1
  done
  return 1
}
crash_driver() {
  local k=0 n=$n_first line
  while :; do
    # The armed life: wait for its crash (or for the orders to run out).
    for _ in $(seq 1 600); do
      [ -f "$work/shopworkers.rc" ] && break
      if ! writing && [ "$(answered)" -ge "$total" ]; then break; fi
      sleep 0.1
    done
    if [ ! -f "$work/shopworkers.rc" ]; then
      stop_node shopworkers; start_role shopworkers; wait_ready shopworkers; return 0
    fi
    [ "$(rc_of shopworkers)" = 86 ] \
      || fail "the shop workers exited $(rc_of shopworkers), not at the crash point: $(tail -5 "$work/shopworkers.out")"
    line=$(grep -o "crash point after-effect:$n hit ([^)]*)" "$work/shopworkers.out") \
      || fail "the shop workers died elsewhere: $(tail -5 "$work/shopworkers.out")"
    k=$((k + 1))
    echo "$(cat "$work/shopworkers.life") $(sed 's/.*(\(.*\))$/\1/' <<<"$line")" >> "$work/crashes.txt"
    say "shop workers died at after-effect:$n (${line##*(}"
    rm -f "$work/shopworkers.pid"
    start_role shopworkers
    wait_ready shopworkers
    suspects_handled || fail "the shop workers' crash guard still has suspects after 30 s"
    # Armed again while orders still come or wait; the last life stays unarmed.
    if [ $k -ge 5 ] || { ! writing && [ "$(answered)" -ge $((total - 5)) ]; }; then return 0; fi
    n=$((1 + (n + RANDOM % 3) % 4))
    stop_node shopworkers
    [ "$(rc_of shopworkers)" = 0 ] || fail "the shop workers did not stop cleanly"
    EVENTIDE_CRASH_AT=after-effect:$n start_role shopworkers # may die before it says ready
  done
}

# -- driver 2: kill -9 the orchestrator in a saga, the shop, and every other node once ---------
# rc_of NAME: the exit status the node's wrapper wrote; waits for it (stop_node gives up after
# 2 s, which a loaded machine can exceed), so that nothing is restarted before it is there.
rc_of() {
  for _ in $(seq 1 500); do [ -f "$work/$1.rc" ] && break; sleep 0.02; done
  cat "$work/$1.rc" 2>/dev/null || echo "none"
}
kill9() { # NAME: kill -9, exit status checked
  stop_node "$1" KILL
  local rc; rc=$(rc_of "$1")
  [ "$rc" = 137 ] || fail "$1 did not die by kill -9 (exit $rc)"
  echo "$1" >> "$work/kills.txt"
  say "kill -9 $1"
}
# saga_kill: waits for a compensation request to be committed, kill -9s the orchestrator at
# once, restarts it, and waits for that saga's PlanCompensated: written after the kill
# (CreateTime) means the saga spanned it. Tried again on the next saga if it had finished.
saga_kill() {
  local seen conv t_kill t_done
  for _ in 1 2 3 4; do
    seen=$(wc -l < "$work/requests.out")
    conv=""
    for _ in $(seq 1 2250); do
      conv=$(tail -n +$((seen + 1)) "$work/requests.out" | grep -m1 '/compensate/' | awk '{print $3}') || true
      [ -n "$conv" ] && break
      sleep 0.02
    done
    [ -n "$conv" ] || fail "no compensation request within 45 s"
    t_kill=$(date +%s%3N)
    kill9 orchestrator
    echo "$t_kill $conv" >> "$work/orchestrator-kills.txt"
    sleep 0.$((RANDOM % 5 + 3))
    start_role orchestrator
    wait_ready orchestrator
    t_done=""
    for _ in $(seq 1 300); do
      t_done=$(awk -v c="$conv" '$3 == c && /"type":"PlanCompensated"/ {print $2; exit}' "$work/events.out")
      [ -n "$t_done" ] && break
      sleep 0.1
    done
    [ -n "$t_done" ] || fail "saga of $conv not compensated 30 s after the orchestrator's restart"
    if [ "$t_done" -gt "$t_kill" ]; then
      say "orchestrator killed during the saga of $conv (PlanCompensated $((t_done - t_kill)) ms after the kill)"
      return 0
    fi
    say "the saga of $conv was done before the kill; again"
    sleep 2
  done
}
# shop_kill: kill -9 the shop while the shop workers are busy, keep it down until a call of
# theirs has failed on it (they may be between lives: at most 10 s), and start it again at once
# on the same port and store. The failed calls come back as retryable errors and are requested
# again with the same invocation id, i.e. the same Idempotency-Key.
shop_kill() {
  local seen
  for _ in $(seq 1 300); do # a shop worker's result just now, and no crash pending
    seen=$(wc -l < "$work/events.out")
    sleep 0.1
    [ ! -f "$work/shopworkers.rc" ] && tail -n +$((seen + 1)) "$work/events.out" \
      | grep -q '"source":"eventide/worker-[a-zA-Z]*/shopworkers"' && break
  done
  seen=$(wc -l < "$work/events.out")
  local t_down; t_down=$(date +%s%3N)
  kill9 shop
  for _ in $(seq 1 100); do
    tail -n +$((seen + 1)) "$work/events.out" | grep -q 'did not answer' && break
    sleep 0.1
  done
  start_shop
  echo "$(( $(date +%s%3N) - t_down ))" > "$work/shop-down-ms"
  say "shop back after $(cat "$work/shop-down-ms") ms"
}
chaos_driver() {
  local others victim
  mapfile -t others < <(printf '%s\n' router aggregator synthesis readers | shuf)
  # The shop early, while orders still come in numbers; the orchestrator when sagas run.
  for victim in "${others[0]}" shop saga "${others[1]}" "${others[2]}" "${others[3]}"; do
    sleep $((2 + RANDOM % 3)).$((RANDOM % 10))
    case $victim in
      saga) saga_kill ;;
      shop) shop_kill ;;
      *) kill9 "$victim"; sleep 0.$((RANDOM % 9 + 1)); start_role "$victim"; wait_ready "$victim" ;;
    esac
  done
}

crash_driver & driver1=$!
chaos_driver & driver2=$!
wait $driver2 || fail "the chaos driver failed"
wait $driver1 || fail "the crash driver failed"
wait $writer || fail "the writer failed"

# Settle: every order answered (a kill -9ed member's partitions wait out its session).
for _ in $(seq 1 120); do
  [ "$(answered)" -ge "$total" ] && break
  sleep 0.5
done
[ "$(answered)" -ge "$total" ] || fail "only $(answered) of $total orders answered"
say "$total orders answered"
sleep 2 # room for late duplicates
dump_log
logcheck once "$work/log.dump" FinalAnswerSynthesized >&2 || fail "not exactly one answer per order"
if [ -z "${KAFKA_VERSION_FALLBACK:-}" ]; then
  logcheck unique "$work/log.dump" >&2 || fail "a record was written twice despite transactions"
fi
curl -sSf "$shop_url/effects" > "$work/effects.json" || fail "GET /effects"
curl -sSf "$shop_url/stock" > "$work/stock.json" || fail "GET /stock"

# -- the checks on the log, the shop's own store and the effect log ----------------------------
python3 - "$work" "$root" "$shop_url" > "$work/figures.txt" <<'PY' || fail "saga chaos check failed"
import collections, glob, json, os, re, sys, urllib.error, urllib.request
from decimal import Decimal, ROUND_HALF_UP
work, root, shop = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path.insert(0, os.path.join(root, "tests", "lib"))
import logcheck
plan = json.load(open(f"{work}/orders.json"))
catalog, orders = plan["catalog"], plan["orders"]
rates = {"EUR": Decimal(1)}
rates.update({k: Decimal(str(v)) for k, v in
              json.load(open(os.path.join(root, "config", "exchange-rates.json")))["rates"].items()})
errors = []
def check(ok, what):
    if not ok:
        errors.append(what)

def cents(x):
    return Decimal(x).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
def convert(amount, frm, to):  # docs/shop-api.md: amount / rate[from] * rate[to], to the cent
    return cents(amount / rates[frm] * rates[to])
def money(d):  # as the answers write amounts: whole numbers bare, else two decimals
    return str(int(d)) if d == d.to_integral_value() else f"{d:.2f}"
def get(path):  # a record as the shop process has it ({} when it does not know it)
    try:
        with urllib.request.urlopen(shop + path, timeout=10) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        errors.append(f"GET {path}: HTTP {e.code} {e.read()[:200]!r}")
        return {}

# The raw records: exactly one answer per order (logcheck once ran on the same dump), no dead
# letter, every result from a run.
records = logcheck.read(f"{work}/log.dump")
logcheck.check(records)
answers = {}
for r in records:
    if r.event and r.event["type"] == "FinalAnswerSynthesized":
        answers.setdefault(r.key, []).append(r.event["data"]["answer"])
letters = [r for r in records if r.topic.endswith("dead-letter-queue")]
check(not letters, f"{len(letters)} dead letters: {[r.value[:200] for r in letters[:3]]}")

# The shop's own record of what happened.
effects = json.load(open(f"{work}/effects.json"))
by_key = collections.defaultdict(list)
for e in effects:
    by_key[e["idempotencyKey"]].append(e)
twice = {k: v for k, v in by_key.items() if len(v) != 1}
check(not twice, f"idempotency keys applied more than once: {list(twice.items())[:5]}")

N = r"(\d+) attempts?"
expected_keys = {}
kinds = collections.Counter()
placed_units = collections.Counter()
for o in orders:
    conv, kind, pid, q = o["conv"], o["kind"], o["product"], o["quantity"]
    kinds[kind] += 1
    got = answers.get(conv, [])
    if len(got) != 1:
        errors.append(f"{conv}: {len(got)} answers")
        continue
    answer = got[0].split("\n")[0]
    p = catalog[pid]
    name, cur = p["name"], p["currency"]
    total = Decimal(p["price"]) * q
    pay_cur = o["pay"] or cur
    amount = convert(total, cur, pay_cur) if o["pay"] else total
    ex = 1 if o["pay"] else 0             # the exchangeRate step shifts the later ids
    pay_step, ship_step = f"s{2 + ex}", f"s{3 + ex}"
    ordered = re.escape(f"ordered {q} x {name} (order ") + r"(o-\d+)" + re.escape(f", {money(total)} {cur})")
    charged = re.escape(f"charged {money(amount)} {pay_cur} (payment ") + r"(p-\d+)" + re.escape(")")
    failed = re.escape("I could not complete this request: step ")
    keys = {}
    if kind == "done":
        rx = "^" + re.escape("Done: ") + ordered + "; " + charged
        if o["city"]:
            rx += re.escape(f"; booked shipping of order ") + r"\1" + re.escape(f" to {o['city']} (shipment ") \
                  + r"(s-\d+)" + re.escape(")")
        rx += r"\.$"
    elif kind == "compensated":
        rx = ("^" + failed + re.escape(f"{ship_step} (shipOrder)")
              + " failed after " + N + re.escape(": no_shipping: no shipping to Atlantis. Done before that: ")
              + ordered.replace("(o-", "(?P<o>o-", 1) + "; " + charged.replace("(p-", "(?P<p>p-", 1)
              + re.escape(". Undone: refunded payment ") + r"(?P=p)" + re.escape(f" ({money(amount)} {pay_cur}); cancelled order ")
              + r"(?P=o)" + re.escape(" (items back in stock).") + "$")
    elif kind == "declined":
        usd = convert(amount, pay_cur, "USD")
        rx = ("^" + failed + re.escape(f"{pay_step} (chargePayment)") + " failed after " + N
              + re.escape(f": card_declined: card declined: {usd:.2f} USD is over the limit of 2000.00 USD. Done before that: ")
              + ordered.replace("(o-", "(?P<o>o-", 1)
              + re.escape(". Undone: cancelled order ") + r"(?P=o)" + re.escape(" (items back in stock).") + "$")
    else:
        rx = ("^" + failed + re.escape("s1 (placeOrder)") + " failed after " + N + re.escape(": out_of_stock: ")
              + "(" + re.escape(f"only 1 {name} left, {q} asked") + "|" + re.escape(f"{name} is out of stock, {q} asked") + ")$")
    m = re.match(rx, answer)
    if not m:
        errors.append(f"{conv} ({kind}, {o['query']!r}): unexpected answer: {answer}")
        continue
    ids = [g for g in m.groups() if g and re.match(r"^[ops]-\d+$", g)]
    oid = next((g for g in ids if g.startswith("o-")), None)
    pay = next((g for g in ids if g.startswith("p-")), None)
    shipment = next((g for g in ids if g.startswith("s-")), None)
    # The effects this order's kind implies, keyed by invocation id, with the record ids the
    # answer quotes; and those records as the shop has them now.
    if kind != "out_of_stock":
        keys[f"{conv}/1/s1"] = ("order_placed", oid)
        order = get(f"/orders/{oid}")
        check(order.get("product") == pid and order.get("quantity") == q
              and order.get("status") == ("placed" if kind == "done" else "cancelled"),
              f"{conv} ({kind}): order {oid} is {order}, asked {q} x {pid}")
    if kind in ("done", "compensated"):
        keys[f"{conv}/1/{pay_step}"] = ("payment_charged", pay)
        payment = get(f"/payments/{pay}")
        check(payment.get("orderId") == oid and cents(str(payment.get("amount", 0))) == amount
              and payment.get("currency") == pay_cur
              and payment.get("status") == ("charged" if kind == "done" else "refunded"),
              f"{conv} ({kind}): payment {pay} is {payment}, expected {amount} {pay_cur} for {oid}")
    if kind == "compensated":
        keys[f"{conv}/compensate/{pay_step}"] = ("payment_refunded", pay)
    if kind in ("compensated", "declined"):
        keys[f"{conv}/compensate/s1"] = ("order_cancelled", oid)
    if shipment:
        keys[f"{conv}/1/{ship_step}"] = ("shipment_booked", shipment)
        s = get(f"/shipments/{shipment}")
        check(s.get("orderId") == oid and s.get("city") == o["city"] and s.get("status") == "booked",
              f"{conv}: shipment {shipment} is {s}")
    if kind == "done":
        placed_units[pid] += q
    expected_keys.update(keys)

applied = {k: (v[0]["kind"], v[0]["id"]) for k, v in by_key.items()}
for k, want in expected_keys.items():
    check(applied.get(k) == want, f"shop effect for key {k}: {applied.get(k)}, expected {want}")
extra = sorted(set(applied) - set(expected_keys))
check(not extra, f"{len(extra)} shop effects no order implies: {[(k, applied[k]) for k in extra[:5]]}")
by_kind = collections.Counter(e["kind"] for e in effects)

# Stock: what the shop holds = its initial stock - what the orders that stayed placed took.
initial = {p["product"]: p["stock"] for p in json.load(open(f"{work}/stock.initial.json"))["products"]}
final = {p["product"]: p["stock"] for p in json.load(open(f"{work}/stock.json"))["products"]}
for pid, p in catalog.items():
    check(initial.get(pid) == p["stock"], f"initial stock of {pid}: {initial.get(pid)}, front matter {p['stock']}")
for pid in initial:
    check(final.get(pid) == initial[pid] - placed_units[pid],
          f"stock of {pid}: {final.get(pid)}, expected {initial[pid]} - {placed_units[pid]}")

# Tool runs where they ran (EVENTIDE_EFFECT_LOG; one file per life of the shop workers): every
# (invocation, attempt) ran once, except that a run in a life that then died at the after-effect
# crash point may be followed by one more in a later life: the crashing invocation, and any other
# one the dying process had in the same window (effect done, ledger not written). The shop
# answered those re-runs from its key store: no key applied twice (above).
crashed_lives = {}
for line in open(f"{work}/crashes.txt") if os.path.exists(f"{work}/crashes.txt") else []:
    life, inv = line.split()
    crashed_lives[os.path.basename(life)] = inv
lives = sorted(glob.glob(f"{work}/effects.shopworkers.*.log"), key=lambda p: int(p.split(".")[-2]))
ran = collections.defaultdict(list)  # (invocation, attempt) -> the lives that ran it, in order
for path in lives + [f"{work}/effects.log"]:
    for line in open(path) if os.path.exists(path) else []:
        tool, inv, attempt = line.split()
        ran[(inv, int(attempt))].append(os.path.basename(path))
reruns = collateral = 0
for (inv, attempt), where in ran.items():
    earlier = where[:-1]
    check(all(l in crashed_lives for l in earlier) and len(set(earlier)) == len(earlier),
          f"{inv} attempt {attempt} ran {len(where)} times, in lives {where}; crashed lives: {sorted(crashed_lives)}")
    reruns += len(earlier)
    collateral += sum(1 for l in earlier if crashed_lives.get(l) != inv)
for life, inv in crashed_lives.items():
    check(any(l[:-1].count(life) for (i, _), l in ran.items() if i == inv),
          f"{inv}: the crash in {life} was not followed by a re-run")
results = {(r.event["data"]["invocationId"], r.event["data"]["attempt"]) for r in records
           if r.event and r.event["type"] == "ToolInvocationResulted" and r.topic.endswith("conversation-events")}
missing = sorted(results - set(ran))
check(not missing, f"results without a tool run: {missing[:5]}")
crashed = set(crashed_lives.values())
# Each crash hit after the shop had applied the effect (when the answer was an effect).
crash_after_effect = sum(1 for inv in crashed if inv in applied)
# The shop kill: calls that found the shop down came back retryable and were asked again.
retried = sum(1 for r in records if r.event and r.event["type"] == "ToolInvocationResulted"
              and r.event["data"].get("retryable") and "did not answer" in r.event["data"].get("error", ""))
check(retried >= 1, "no shop call failed while the shop was down")

# The orchestrator kills: a saga spans a kill when a compensation request of it was written
# before the kill and its PlanCompensated after (Kafka CreateTime from the committed tails).
def tail(name):
    out = []
    for line in open(f"{work}/{name}.out", errors="replace"):
        parts = line.rstrip("\n").split(" ", 3)
        if len(parts) == 4 and parts[0] == "R":
            out.append((int(parts[1]), parts[2], parts[3]))
    return out
comp_req = collections.defaultdict(list)
for ts, key, v in tail("requests"):
    if "/compensate/" in v:
        comp_req[key].append(ts)
done_at = collections.defaultdict(list)
for ts, key, v in tail("events"):
    if '"type":"PlanCompensated"' in v:
        done_at[key].append(ts)
kills = [l.split() for l in open(f"{work}/orchestrator-kills.txt")] if os.path.exists(f"{work}/orchestrator-kills.txt") else []
spanned = set()
for t_kill, _ in kills:
    t_kill = int(t_kill)
    for conv, ts in comp_req.items():
        if min(ts) < t_kill and any(d > t_kill for d in done_at.get(conv, [])):
            spanned.add(conv)
check(len(spanned) >= 1, f"no saga spanned an orchestrator kill ({len(kills)} kills)")

if errors:
    print(f"{len(errors)} problem(s):", file=sys.stderr)
    for e in errors[:30]:
        print("  " + e, file=sys.stderr)
    sys.exit(1)
print(f"n_orders={len(orders)} n_done={kinds['done']} n_compensated={kinds['compensated']} "
      f"n_declined={kinds['declined']} n_out_of_stock={kinds['out_of_stock']} "
      f"n_effects={len(effects)} n_placed={by_kind['order_placed']} n_charged={by_kind['payment_charged']} "
      f"n_refunded={by_kind['payment_refunded']} n_cancelled={by_kind['order_cancelled']} "
      f"n_shipped={by_kind['shipment_booked']} n_crash_after_effect={crash_after_effect} "
      f"n_sagas_across_kill={len(spanned)} n_orchestrator_kills={len(kills)} n_transient={retried} "
      f"n_reruns={reruns} n_collateral={collateral}")
PY
eval "$(tr ' ' '\n' < "$work/figures.txt")"

# The store on disk agrees once the shop has stopped (SIGTERM: exit 0).
stop_node shop
[ "$(rc_of shop)" = 0 ] || fail "the shop did not stop cleanly: $(tail -3 "$work/shop.out")"
"$bin" shop stock --data-dir "$work/shopdata" > "$work/stock.txt" || fail "shop stock"
python3 - "$work/stock.json" "$work/stock.txt" <<'PY' || fail "shop stock disagrees with GET /stock"
import json, sys
served = {p["product"]: p["stock"] for p in json.load(open(sys.argv[1]))["products"]}
stored = {l.split()[0]: int(l.split()[1]) for l in open(sys.argv[2]) if l.strip()}
assert served == stored, (served, stored)
PY

crashes=$(cat "$work/crashes.txt" 2>/dev/null | wc -l)
[ "$crashes" -ge "$min_crashes" ] || fail "only $crashes after-effect crashes (want >= $min_crashes)"
for n in router aggregator synthesis readers shop; do
  grep -qx "$n" "$work/kills.txt" || fail "$n was never killed"
done
echo "saga chaos on Kafka: ok ($n_orders orders: $n_done done, $n_compensated compensated," \
  "$n_declined declined, $n_out_of_stock out of stock; kills: $crashes shop workers at after-effect" \
  "(exit 86; $n_crash_after_effect right after the shop applied the effect, the others after a" \
  "refusal; $n_reruns re-runs, $n_collateral of them other calls caught in the same window, answered" \
  "from the shop's keys), $n_orchestrator_kills orchestrator ($n_sagas_across_kill saga(s) across it)," \
  "shop, router, aggregator, synthesis, exchangeRate (exit 137); shop: $n_effects effects, each key" \
  "once ($n_placed placed, $n_charged charged, $n_refunded refunded, $n_cancelled cancelled," \
  "$n_shipped shipped), stock exact; $n_transient calls failed on the dead shop (down" \
  "$(cat "$work/shop-down-ms") ms) and were retried with their keys; $((SECONDS - t_start)) s)"
