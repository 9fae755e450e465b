#!/usr/bin/env bash
# The console's HTTP API (docs/http-api.md) against a data dir with known conversations: exact
# values of every endpoint, compared with what the CLI reads from the same log (dump, dlq list);
# the SSE stream delivering records written after the client connected; a dead letter redriven
# and answered; bad requests answered with the documented 4xx; writes off loopback need the
# bearer token.
set -euo pipefail
bin=$1
dir=$(mktemp -d); pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$dir/console.err" ] && tail -20 "$dir/console.err" >&2; exit 1; }
data=$dir/data

# Known conversations: a question that crashed the router once and was dead-lettered by the
# crash-loop guard (its record is valid: redriving it gets it
# answered), two answered questions, and a truncated record (dead-lettered by every group that reads it).
cat > "$dir/poison.json" <<'JSON'
{"specversion":"1.0","id":"poison-1/query","type":"UserQueryReceived","source":"test","time":"2026-11-21T10:00:00.000Z","subject":"poison-1","datacontenttype":"application/json","data":{"conversationId":"poison-1","userId":"u-CRASH-THE-ROUTER","query":"What is 6*7?","receivedAt":0}}
JSON
"$bin" produce user-commands poison-1 "$dir/poison.json" --data-dir "$data" > /dev/null
for run in 1 2; do # crashes once (exit 86), then dead-letters the record that crashed it
  set +e
  EVENTIDE_CRASH_ON_RECORD="router:CRASH-THE-ROUTER" timeout 5 "$bin" node --roles all \
    --data-dir "$data" --crash-loop-limit 1 > /dev/null 2>&1
  rc=$?; set -e
  [ $run = 1 ] && [ $rc != 86 ] && fail "the router did not crash on the poison (rc $rc)"
done
# (First, in a log of its own: with a limit of 1 any record in flight at the crash would be
# dead-lettered with it.)
"$bin" ask "What is 2+3?" --data-dir "$data" > /dev/null
"$bin" ask "What is the weather in Paris?" --data-dir "$data" > /dev/null
printf '{"specversion":"1.0","id":"k1/query"' > "$dir/truncated"
"$bin" produce user-commands k1 "$dir/truncated" --data-dir "$data" > /dev/null
"$bin" ask "What is 1+1?" --data-dir "$data" > /dev/null # the roles read past the truncated record
"$bin" dump --data-dir "$data" > "$dir/dump.txt"
"$bin" dlq list --data-dir "$data" > "$dir/dlq.txt"

start_console() { # [ENV=VALUE...] -- ARGS: starts it and sets $url
  "$@" > "$dir/console.out" 2> "$dir/console.err" &
  pid=$!
  url=
  for _ in $(seq 1 100); do
    url=$(grep -o 'http://[^ ]*/' "$dir/console.out" || true)
    [ -n "$url" ] && break
    kill -0 "$pid" 2>/dev/null || fail "the console exited"
    sleep 0.1
  done
  [ -n "$url" ] || fail "the console did not say where it serves"
}
stop_console() { kill "$pid"; wait "$pid" || fail "the console did not stop cleanly"; pid=; }

stock_of() { "$bin" shop stock --data-dir "$data" | awk -v p="$1" '$1 == p { print $2 }'; }
nimbus=$(stock_of nimbus-pro)
start_console "$bin" console --data-dir "$data" --port 0
export URL=$url DIR=$dir

# Every read endpoint, exact values.
python3 - <<'PY' || fail "reads"
import json, os, urllib.request, urllib.error
url, d = os.environ["URL"], os.environ["DIR"]
def get(path):
    try:
        with urllib.request.urlopen(url + path.lstrip("/")) as r:
            return r.status, r.headers.get("Content-Type"), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read()
def get_json(path, status=200):
    code, ctype, body = get(path)
    assert code == status, (path, code, body)
    assert ctype == "application/json", (path, ctype)
    return json.loads(body)

# The log as the CLI reads it: every record by conversation (key), on the three event topics.
records = {}
for line in open(d + "/dump.txt"):
    topic, part, off, key, value = line.rstrip("\n").split("\t", 4)
    if topic in ("user-commands", "conversation-events", "tool-invocation-requests"):
        records.setdefault(key, []).append(f"{topic}/{part}@{off}")

lst = get_json("/api/conversations")
convs = lst["conversations"]
by_q = {c["question"]: c for c in convs}
assert lst["total"] == 4 and lst["next"] is None and len(convs) == 4, lst
assert [c["startedAt"] for c in convs] == sorted((c["startedAt"] for c in convs), reverse=True)
math = by_q["What is 2+3?"]
assert math["state"] == "answered" and math["turns"] == 1 and math["planSteps"] == 1, math
assert math["events"] == len(records[math["id"]]), (math, records[math["id"]])
assert by_q["What is 6*7?"]["state"] == "running"
assert by_q["What is 6*7?"]["id"] == "poison-1"
assert by_q["What is the weather in Paris?"]["state"] == "answered"
# k1's truncated record is not an event: no conversation.
assert "k1" not in {c["id"] for c in convs}

assert get_json("/api/conversations?state=answered")["total"] == 3
assert get_json("/api/conversations?state=running")["conversations"][0]["id"] == "poison-1"
assert get_json("/api/conversations?state=failed") == {"conversations": [], "total": 0, "next": None}
# Paging: two pages of two, then nothing; together the whole list in order.
p1 = get_json("/api/conversations?limit=2")
p2 = get_json("/api/conversations?limit=2&cursor=" + urllib.parse.quote(p1["next"]))
assert len(p1["conversations"]) == 2 and len(p2["conversations"]) == 2 and p2["next"] is None
assert p1["conversations"] + p2["conversations"] == convs
# Bad paging and filters: 400 with the documented error code.
for q in ("limit=0", "limit=501", "limit=x", "limit=", "cursor=nonsense", "state=done", "page=2", "limit=%zz"):
    assert get_json("/api/conversations?" + q, 400)["error"] == "bad_request", q

one = get_json("/api/conversations/" + math["id"])
t = one["turns"]
assert one["id"] == math["id"] and one["state"] == "answered" and len(t) == 1, one
t = t[0]
assert t["question"] == "What is 2+3?" and t["answer"].startswith("The answer is 5 (2+3)."), t
assert t["latencyMs"] == t["answeredAt"] - t["askedAt"] == math["latencyMs"], t
assert t["plan"]["version"] == 1 and t["plan"]["provider"] == "offline", t
assert [(s["id"], s["tool"], s["dependsOn"], s["status"], s["attempts"]) for s in t["steps"]] == \
    [("s1", "math", [], "done", 1)], t["steps"]
s1 = t["steps"][0]
assert s1["durationMs"] == s1["resultedAt"] - s1["requestedAt"] >= 0 and t["criticalPath"] == ["s1"]
evs = get_json("/api/conversations/" + math["id"] + "/events")
assert sorted(e["position"] for e in evs["events"]) == sorted(records[math["id"]]), evs
types = [e["type"] for e in evs["events"]]
assert types[0] == "UserQueryReceived" and types[-1] == "FinalAnswerSynthesized", types
ids = {e["id"] for e in evs["events"]}
assert all(e["causationId"] in ids for e in evs["events"][1:]), "a cause outside the conversation"
assert all(e["event"]["subject"] == math["id"] for e in evs["events"])
assert get_json("/api/conversations/no-such-conversation", 404)["error"] == "not_found"
assert get_json("/api/conversations/no-such/events", 404)["error"] == "not_found"
assert get_json("/api/conversations/a%20b", 400)["error"] == "bad_request"

# Dead letters: the same as `eventide dlq list`.
cli = [l.split()[0] for l in open(d + "/dlq.txt") if ":" in l.split()[0]]
dl = get_json("/api/dead-letters")["deadLetters"]
assert [x["address"] for x in dl] == cli and len(dl) == 4, (dl, cli)
crash = [x for x in dl if x["key"] == "poison-1"]
assert len(crash) == 1 and crash[0]["group"] == "router" and crash[0]["redrivenTo"] is None
assert crash[0]["reason"] == "crashed the node 1 time", crash
full = get_json("/api/dead-letters/" + crash[0]["address"])
assert full["record"]["consumerGroup"] == "router" and full["record"]["key"] == "poison-1", full
assert get_json("/api/dead-letters/9:9999", 404)["error"] == "not_found"
assert get_json("/api/dead-letters/x:1", 400)["error"] == "bad_request"

m = get_json("/api/metrics")
assert m["conversations"] == 4 and m["answered"] == 3 and "math" in m["tools"], m
assert get_json("/api/approvals") == {"approvals": []}
code, ctype, body = get("/")
assert code == 200 and ctype.startswith("text/html") and b"/assets/app.js" in body
code, ctype, body = get("/assets/app.js")
assert code == 200 and ctype.startswith("text/javascript"), (code, ctype)
assert get("/health")[0] == 200 and get("/metrics")[0] == 200
open(d + "/crash-address", "w").write(crash[0]["address"])
open(d + "/truncated-address", "w").write([x for x in dl if x["key"] == "k1"][0]["address"])
open(d + "/math-id", "w").write(math["id"])
PY

# Bad requests on the wire: path traversal, oversized head, wrong method.
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
[ "$(code --path-as-is "${url}assets/../../etc/passwd")" = 404 ] || fail "path traversal"
[ "$(code "${url}assets/%2e%2e%2f%2e%2e%2fetc%2fpasswd")" = 404 ] || fail "encoded traversal"
[ "$(code "${url}assets/index.html/..")" = 404 ] || fail "asset dot-dot"
big=$(head -c 20000 /dev/zero | tr '\0' a)
[ "$(code -H "X-Big: $big" "${url}api/conversations")" = 431 ] || fail "oversized head"
[ "$(code -X DELETE "${url}api/conversations")" = 405 ] || fail "DELETE"
curl -s -D - -o /dev/null -X PUT "${url}api/dead-letters" | grep -qi '^allow: GET' || fail "Allow"

# The stream: a client connected before a question sees its records and its summary change to
# answered, pushed (no polling).
curl -sN "${url}api/stream" > "$dir/stream.txt" & spid=$!
curl -sN "${url}api/stream?records=none" > "$dir/summaries.txt" & spid2=$!
curl -sN "${url}api/stream?conversation=$(cat "$dir/math-id")" > "$dir/other.txt" & spid3=$!
curl -sN "${url}api/stream?topic=dead-letter-queue" > "$dir/dlq-stream.txt" & spid4=$!
sleep 0.5
post() { curl -s -w '\n%{http_code}' -H 'Content-Type: application/json' "$@"; }
out=$(post -d '{"question":"What is 7*6?"}' "${url}api/conversations")
[ "$(tail -1 <<<"$out")" = 202 ] || fail "ask: $out"
new=$(head -1 <<<"$out" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["turn"]==1; print(d["conversationId"])')
for _ in $(seq 1 100); do
  grep -q "\"id\":\"$new\",\"state\":\"answered\"" "$dir/stream.txt" && break; sleep 0.1
done
sleep 0.3 # the filtered streams get the same push
kill $spid $spid2 $spid3 $spid4; wait $spid $spid2 $spid3 $spid4 2>/dev/null || true
# Filters: summaries only; another conversation's stream and the dead letters' stay quiet.
grep -q "\"id\":\"$new\",\"state\":\"answered\"" "$dir/summaries.txt" \
  && ! grep -q "^event: record" "$dir/summaries.txt" || fail "records=none: $(head -c 600 "$dir/summaries.txt")"
! grep -q "$new" "$dir/other.txt" || fail "conversation= got another conversation's events"
! grep -q "^event: record" "$dir/dlq-stream.txt" || fail "topic=dead-letter-queue got other records"
for q in "records=some" "topic=nope" "conversation=a%20b" "x=1"; do
  [ "$(code "${url}api/stream?$q")" = 400 ] || fail "stream filter $q"
done
grep -q "\"id\":\"$new\",\"state\":\"answered\",\"question\":\"What is 7\*6?\"" "$dir/stream.txt" \
  || fail "the stream did not deliver the answered conversation: $(head -c 2000 "$dir/stream.txt")"
grep -q "^event: record$" "$dir/stream.txt" && grep -q "\"type\":\"FinalAnswerSynthesized\",\"conversationId\":\"$new\"" "$dir/stream.txt" \
  || fail "no record events in the stream"

# Writes: a follow-up turn; refused questions.
math=$(cat "$dir/math-id")
out=$(post -d "{\"question\":\"And times 10?\",\"conversationId\":\"$math\"}" "${url}api/conversations")
[ "$(tail -1 <<<"$out")" = 202 ] && grep -q '"turn":2' <<<"$out" || fail "follow-up: $out"
[ "$(tail -1 <<<"$(post -d '{"question":"  "}' "${url}api/conversations")")" = 422 ] || fail "empty question"
[ "$(tail -1 <<<"$(post -d '{"question":' "${url}api/conversations")")" = 400 ] || fail "bad JSON"
[ "$(tail -1 <<<"$(post -d '{"question":"x","conversationId":"nope"}' "${url}api/conversations")")" = 404 ] \
  || fail "follow-up of an unknown conversation"

# Redrive: the truncated record would fail again (422); the crash letter is answered once
# redriven (this console runs without the crash trigger); a second redrive is 409.
[ "$(tail -1 <<<"$(post -X POST "${url}api/dead-letters/$(cat "$dir/truncated-address")/redrive")")" = 422 ] \
  || fail "redrive of the truncated record"
out=$(post -X POST "${url}api/dead-letters/$(cat "$dir/crash-address")/redrive")
[ "$(tail -1 <<<"$out")" = 200 ] && grep -q '"redrivenTo":"user-commands/' <<<"$out" || fail "redrive: $out"
[ "$(tail -1 <<<"$(post -X POST "${url}api/dead-letters/$(cat "$dir/crash-address")/redrive")")" = 409 ] \
  || fail "second redrive"
state=
for _ in $(seq 1 100); do
  state=$(curl -s "${url}api/conversations/poison-1" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["state"], d["turns"][0]["answer"])')
  [[ $state == answered* ]] && break; sleep 0.1
done
[[ $state == "answered The answer is 42"* ]] || fail "the redriven question: $state"
curl -s "${url}api/dead-letters" | grep -q '"key":"poison-1","reason":"crashed the node 1 time","recordedAt":[0-9]*,"redrivenTo":"user-commands/' \
  || fail "the letter is not marked redriven"

# Approvals: a charge over the threshold waits for alice (who asked); mallory's decision is
# refused by the orchestrator (a dead letter with the reason), alice's runs the step; the shop's
# own store shows the order.
out=$(post -d '{"question":"Buy 1 Nimbus Pro and ship it to Rome","user":"alice"}' "${url}api/conversations")
[ "$(tail -1 <<<"$out")" = 202 ] || fail "ask to buy: $out"
buy=$(head -1 <<<"$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["conversationId"])')
state=
for _ in $(seq 1 100); do
  state=$(curl -s "${url}api/conversations?state=waiting" | python3 -c 'import json,sys; print(" ".join(c["id"] for c in json.load(sys.stdin)["conversations"]))')
  [ "$state" = "$buy" ] && break; sleep 0.1
done
[ "$state" = "$buy" ] || fail "the purchase is not waiting: $state"
curl -s "${url}api/approvals" | python3 -c "
import json, sys
a = json.load(sys.stdin)['approvals']
assert len(a) == 1, a
a = a[0]
assert (a['conversationId'], a['turn'], a['step'], a['tool']) == ('$buy', 1, 's2', 'chargePayment'), a
assert a['args'] == {'orderId': 'o-1', 'amount': 1849.0, 'currency': 'USD'}, a
assert a['reason'].startswith('the amount 1849.00 USD is above the approval threshold'), a
" || fail "approvals"
curl -s "${url}api/conversations/$buy" | python3 -c "
import json, sys
t = json.load(sys.stdin)['turns'][0]
assert [(a['step'], a['decision']) for a in t['approvals']] == [('s2', 'pending')], t['approvals']
assert [s['status'] for s in t['steps']][:2] == ['done', 'planned'], t['steps']
" || fail "the waiting conversation"
[ "$(tail -1 <<<"$(post -d '{"approve":true,"user":"mallory"}' "${url}api/conversations/$buy/approvals/s2")")" = 202 ] \
  || fail "mallory's decision not written"
refused=
for _ in $(seq 1 100); do
  refused=$(curl -s "${url}api/dead-letters" | python3 -c "import json,sys; print([d['reason'] for d in json.load(sys.stdin)['deadLetters'] if d['key'] == '$buy'])")
  [ "$refused" != "[]" ] && break; sleep 0.1
done
grep -q "user 'mallory' may not decide" <<<"$refused" || fail "mallory's approval was not refused: $refused"
[ "$(tail -1 <<<"$(post -d '{"approve":"yes"}' "${url}api/conversations/$buy/approvals/s2")")" = 400 ] \
  || fail "a decision that is not a boolean"
[ "$(tail -1 <<<"$(post -d '{"approve":true}' "${url}api/conversations/nope/approvals/s2")")" = 404 ] \
  || fail "a decision in an unknown conversation"
[ "$(tail -1 <<<"$(post -d '{"approve":true,"user":"alice","reason":"for the office"}' "${url}api/conversations/$buy/approvals/s2")")" = 202 ] \
  || fail "alice's decision not written"
for _ in $(seq 1 100); do
  state=$(curl -s "${url}api/conversations/$buy" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["state"], d["turns"][0]["answer"])')
  [[ $state == answered* ]] && break; sleep 0.1
done
[[ $state == "answered Done: ordered 1 x Nimbus Pro (order o-1, 1849 USD); charged 1849 USD (payment p-1); booked shipping of order o-1 to Rome (shipment s-1)."* ]] \
  || fail "the approved purchase: $state"
[ "$(curl -s "${url}api/approvals")" = '{"approvals":[]}' ] || fail "still pending"
stop_console
[ "$(stock_of nimbus-pro)" = $((nimbus - 1)) ] || fail "nimbus-pro stock: $(stock_of nimbus-pro), was $nimbus"

# Off loopback: reads are open; writes need EVENTIDE_HTTP_TOKEN's bearer token.
start_console env -u EVENTIDE_HTTP_TOKEN "$bin" console --data-dir "$data" --port 0 --host 0.0.0.0
url=${url/0.0.0.0/127.0.0.1}
[ "$(code "${url}api/conversations")" = 200 ] || fail "read off loopback"
[ "$(code -d '{"question":"x"}' "${url}api/conversations")" = 403 ] || fail "write without a token set"
stop_console
start_console env EVENTIDE_HTTP_TOKEN=s3cret "$bin" console --data-dir "$data" --port 0 --host 0.0.0.0
url=${url/0.0.0.0/127.0.0.1}
[ "$(code -d '{"question":"x"}' "${url}api/conversations")" = 401 ] || fail "write without the token"
[ "$(code -H 'Authorization: Bearer wrong' -d '{"question":"x"}' "${url}api/conversations")" = 401 ] \
  || fail "write with a wrong token"
[ "$(code -H 'Authorization: Bearer s3cret' -d '{"question":"What is 3+3?"}' "${url}api/conversations")" = 202 ] \
  || fail "write with the token"
stop_console

set +e; err=$("$bin" console --data-dir "$data" --host nowhere 2>&1); rc=$?; set -e
[ $rc = 2 ] && [ "$err" = "eventide: eventide.host 'nowhere' is not an IPv4 address" ] \
  || fail "bad --host: $rc $err"
echo "cli console: ok"
