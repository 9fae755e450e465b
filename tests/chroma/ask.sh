#!/usr/bin/env bash
# `eventide ask` with `--vector-store chroma` as a user runs it, against the real Chroma server
# (CHROMA_URL, started by scripts/test.sh) and a toy OpenAI-compatible embedding server
# (tests/tools/toy_embeddings_server.py): the worker builds the collection from the catalog,
# getProductInformation ranks through Chroma and answers as with the embedded store, and with
# Chroma unreachable the question is still answered, by BM25, saying why.
# Skipped (77) without CHROMA_URL; failed instead under EVENTIDE_REQUIRE_CHROMA=1.
set -euo pipefail
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
fail() { echo "FAIL: $*" >&2; exit 1; }
unavailable() {
  if [ "${EVENTIDE_REQUIRE_CHROMA:-}" = 1 ]; then fail "EVENTIDE_REQUIRE_CHROMA=1 but $*"; fi
  echo "SKIP: $*"; exit 77
}
[ -n "${CHROMA_URL:-}" ] || unavailable "CHROMA_URL is not set (no Chroma server to test against)"
curl -fsS -m 5 "$CHROMA_URL/api/v2/heartbeat" >/dev/null 2>&1 \
  || unavailable "Chroma at $CHROMA_URL does not answer"

dir=$(mktemp -d)
prefix="cli$$"
api="$CHROMA_URL/api/v2/tenants/default_tenant/databases/default_database/collections"
embedder=""
cleanup() {
  [ -z "$embedder" ] || kill "$embedder" 2>/dev/null || true
  # This run's collections.
  for name in $(curl -fsS "$api?limit=1000" 2>/dev/null | python3 -c '
import json, sys
for c in json.load(sys.stdin):
    if c["name"].startswith(sys.argv[1] + "-"):
        print(c["name"])' "$prefix" 2>/dev/null); do
    curl -fsS -X DELETE "$api/$name" >/dev/null 2>&1 || true
  done
  rm -rf "$dir"
}
trap cleanup EXIT

# The embedding server: it prints PORT=<n> once it listens and lives until its stdin closes.
mkfifo "$dir/embedder.in"
python3 "$here/../tools/toy_embeddings_server.py" < "$dir/embedder.in" > "$dir/embedder.out" 2>&1 &
embedder=$!
exec 7>"$dir/embedder.in" # held open: the server's stdin
for _ in $(seq 100); do grep -q '^PORT=' "$dir/embedder.out" && break; sleep 0.1; done
port=$(sed -n 's/^PORT=//p' "$dir/embedder.out")
[ -n "$port" ] || fail "embedding server did not start: $(cat "$dir/embedder.out")"

embeddings=(--llm-embeddings-chain openai,offline --openai-url "http://127.0.0.1:$port"
            --openai-embedding-model toy-hash-256 --http-max-attempts 1)
question="What is the battery life of the Aurora X1?"

# The getProductInformation result of a --json trace, and the answer.
product_result() {
  python3 - "$1" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
results = [e["data"]["result"] for e in doc["events"]
           if e["type"] == "ToolInvocationResulted" and e["data"]["tool"] == "getProductInformation"]
assert len(results) == 1, results
r = results[0]
answer = [e["data"]["answer"] for e in doc["events"] if e["type"] == "FinalAnswerSynthesized"]
print(json.dumps({"name": r["name"], "retrieval": r["retrieval"], "vectorStore": r.get("vectorStore"),
                  "fallback": r.get("retrievalFallback", ""),
                  "chunks": [[c["id"], c["score"]] for c in r["chunks"]], "answer": answer}))
PY
}

"$bin" ask "$question" --json --data-dir "$dir/chroma" "${embeddings[@]}" \
  --vector-store chroma --chroma-url "$CHROMA_URL" --chroma-collection "$prefix" > "$dir/chroma.json" \
  || fail "ask with chroma exited $?"
"$bin" ask "$question" --json --data-dir "$dir/embedded" "${embeddings[@]}" \
  --vector-store embedded > "$dir/embedded.json" || fail "ask with the embedded store exited $?"
via_chroma=$(product_result "$dir/chroma.json")
via_embedded=$(product_result "$dir/embedded.json")
python3 - "$via_chroma" "$via_embedded" <<'PY' || fail "chroma vs embedded: $via_chroma / $via_embedded"
import json, sys
c, e = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert c["retrieval"] == "hybrid" and c["vectorStore"] == "chroma" and c["fallback"] == "", c
assert e["retrieval"] == "hybrid" and e["vectorStore"] == "embedded", e
assert c["name"] == e["name"] == "Aurora X1", (c, e)
assert [i for i, _ in c["chunks"]] == [i for i, _ in e["chunks"]], (c["chunks"], e["chunks"])
assert all(abs(a[1] - b[1]) <= 1e-4 for a, b in zip(c["chunks"], e["chunks"])), (c, e)
assert c["answer"] == e["answer"] and "14 hours" in c["answer"][0], (c["answer"], e["answer"])
PY

# Chroma holds one collection of this run, with one record per chunk of the catalog.
python3 - "$api" "$prefix" <<'PY' || fail "collection check"
import json, sys, urllib.request
api, prefix = sys.argv[1], sys.argv[2]
ours = [c for c in json.load(urllib.request.urlopen(api + "?limit=1000")) if c["name"].startswith(prefix + "-")]
assert len(ours) == 1, [c["name"] for c in ours]
md = ours[0]["metadata"]
assert md["eventide:provider"] == "openai" and md["eventide:model"] == "toy-hash-256", md
count = json.load(urllib.request.urlopen(api + "/" + ours[0]["id"] + "/count"))
assert str(count) == md["eventide:chunks"], (count, md)
print("collection", ours[0]["name"], "holds", count, "records")
PY
grep -q "chroma vector store" "$dir/chroma/eventide.log" \
  || fail "no hybrid retrieval line in the log: $(cat "$dir/chroma/eventide.log")"

# Chroma unreachable: the question is still answered, by BM25, and the result says why.
dead=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" ask "$question" --json --data-dir "$dir/down" "${embeddings[@]}" --vector-store chroma \
  --chroma-url "http://127.0.0.1:$dead" --chroma-collection "$prefix" > "$dir/down.json" \
  || fail "ask with Chroma down exited $?"
down=$(product_result "$dir/down.json")
python3 - "$down" "$dead" <<'PY' || fail "Chroma down: $down"
import json, sys
d = json.loads(sys.argv[1])
assert d["retrieval"] == "bm25" and d["vectorStore"] == "chroma", d
# Chroma was down from the start: the collection could not be built, and the reason says so.
assert d["fallback"].startswith("chroma unavailable: collection cli"), d
assert "connect failed: http://127.0.0.1:%s/api/v2/" % sys.argv[2] in d["fallback"], d
assert "14 hours" in d["answer"][0], d
PY
grep -q "hybrid retrieval: chroma unavailable, queries are ranked by BM25 until it answers" \
  "$dir/down/eventide.log" || fail "no warning for Chroma down: $(cat "$dir/down/eventide.log")"
echo "chroma ask: ok"
