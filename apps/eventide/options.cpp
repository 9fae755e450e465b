// What a command runs with: the help text of the options, fatal errors, logging.
#include "options.hpp"

#include <cstdlib>
#include <iostream>

#include "actors/logging.hpp"

namespace eventide::cli {

const char* const options_text = R"(options (config key eventide.NAME; on the command line --NAME VALUE):
  --config FILE          deployment file (CAF INI with an [eventide] group)
  --data-dir DIR         embedded log and node-local stores   [$EVENTIDE_DATA or ./.eventide]
  --brokers LIST         Kafka bootstrap servers (empty = embedded log)
  --topic-prefix P       prefix for every topic name
  --partitions N         partitions of new topics              [3]
  --roles LIST           roles to run (comma separated, "all", "workers"; "all" leaves
                         out "metrics", name it to add it)       [ask: all]
  --node-id ID           node name in event sources            [node-1]
  --json                 `ask`: print the full event trace as JSON
  --timeout SECONDS      `ask`/`resume`: give up waiting after  [60]
  --user ID              `ask`, `approve`, `reject`, `cancel`: user id [$USER]
  --reason TEXT          `approve`, `reject`, `cancel`: why (optional)
  --conversation ID      `ask`/`chat`: add the next turn to this conversation
  --log-level LEVEL      trace|debug|info|warning|error         [warning; node: info]
  --max-attempts N       attempts of a step with retryable errors [3]
  --approval-threshold USD  a chargePayment worth more (in USD) waits for a person's
                         approval (`eventide approve|reject`) [1000]
  --approval-timeout-ms N  no decision on an approval by then is a denial [86400000]
  --approvers LIST       who may approve steps and cancel turns, comma separated [the
                         user who asked]
  --max-turn-invocations N, --max-turn-tokens N, --max-turn-cost-usd X, --max-turn-ms N
                         budgets per turn: tool invocations, LLM tokens (as the log
                         reports them), their cost, wall time from the plan; exceeding one
                         fails the turn and undoes what it did [0 = none]
  --llm-prices LIST      USD per 1,000 tokens by model, e.g. "gpt-4o-mini=0.0006" (for
                         --max-turn-cost-usd; models not listed cost 0)
  --max-plan-revisions N plan revisions per turn: a plan that says "then decide" (or a
                         step that may be re-planned) asks the router again, at most N
                         times; one more fails the turn with that reason  [3]
  --step-timeout-ms MS   re-request a step with no result after [30000]
  --turn-timeout-ms MS   fail a turn with no progress (a result) for [300000; 0 = never]
  --retry-base-ms MS     retry backoff base                     [200]
  --retry-max-ms MS      retry backoff cap                      [10000]
  --tool-concurrency N   detached runners per worker kind       [2]
  --passivate-after-ms MS  idle running conversations leave memory [60000; 0 = never]
  --memory-turns N       answered turns the router remembers per conversation (follow-ups
                         resolve against them)                  [8]
  --memory-tokens N      at most this many of them (estimated at 4 bytes a token) go into
                         an LLM planner's prompt; newest first  [800]
  --crash-loop-limit N   dead-letter a record that was in flight at N crashes of the
                         node ("crashed the node N times")  [3; 0 = off]
  --metrics-port PORT    node: Prometheus text at http://ADDRESS:PORT/metrics [0 = off]
  --metrics-address A    node: the address it listens on         [127.0.0.1]
  --resources DIR        root of products/, config/, prompts/   [source tree]
  --kafka-version V      broker.version.fallback (0.9.0.1 for Kafka 0.9; empty = modern)
  --session-timeout-ms MS  Kafka consumer group session timeout   [10000]
  --kafka-retention-ms MS  retention.ms of the topics eventide creates on a modern broker
                         with the admin API                     [-1 = forever]
  --kafka-exactly-once[=false]  each role commits its outputs and input offsets in one
                         Kafka transaction (brokers 0.11+; false: deduplication only) [true]
  --kafka-properties LIST  librdkafka properties over the defaults, K=V,... ; a
                         "consumer." or "producer." prefix sends one to that kind of
                         handle only, e.g. "consumer.fetch.wait.max.ms=10" (the default
                         wait is 100 ms; a broker answers a waiting fetch as soon as data
                         arrives, librdkafka's mock cluster waits it out)
  --shop-url URL         where the shop tools (placeOrder, ...) reach the shop, e.g.
                         http://127.0.0.1:8700 (`eventide shop serve`) [in this process,
                         its store in DATA_DIR/shop, offline]
  --port PORT            `shop serve`: the port it listens on     [0 = ephemeral]
  --host ADDRESS         `shop serve`: the address it listens on  [127.0.0.1]
  --card-limit USD       the shop (served or in-process): a charge worth more is declined
                         (whole USD) [2000]
  --ship-to LIST         the shop: cities it ships to, comma separated [Berlin, London,
                         Paris, Madrid, Rome, Vienna, Amsterdam, New York, Tokyo, Sydney]
  --products DIR         the shop: products (prices, initial stock) [RESOURCES/products]

LLM and HTTP providers (all offline unless set; see README "Providers"):
  --llm-planning-chain, --llm-chat-chain, --llm-rag-chain, --llm-synthesis-chain,
  --llm-embeddings-chain LIST   e.g. "ollama,openai,offline"
  --ollama-url, --ollama-model, --openai-url, --openai-model, --openai-api-key
                         (default $OPENAI_API_KEY), --tools-mode offline|http,
  --weather-url, --exchange-url, --llm-timeout-ms, --http-max-attempts,
  --breaker-failure-threshold, --breaker-open-ms, ... (`eventide help` lists the core ones)
  --hybrid-bm25-weight W hybrid score = W * bm25/max + (1 - W) * cosine   [0.5]
  --vector-store S       where hybrid retrieval keeps the chunk vectors: embedded | chroma
                         (chroma needs --llm-embeddings-chain; Chroma stores and searches
                         the vectors Eventide computes)                  [embedded]
  --chroma-url URL       ChromaDB server (REST API v2, chromadb 1.x)     [http://127.0.0.1:8000]
  --chroma-collection P  collection prefix: P-<catalog hash>-<embedder hash> [eventide-products]
  --chroma-tenant, --chroma-database, --chroma-timeout-ms   [default_tenant, default_database, 10000]

exit status: 0 answered, 1 the conversation failed, 2 usage or config error, 3 timeout
)";

[[noreturn]] void die(int code, const std::string& message) {
  std::cerr << "eventide: " << message << std::endl;
  std::exit(code);
}

void start_logging(const options& cfg, const char* default_level, const std::string& file) {
  init_logging(cfg.log_level.empty() ? default_level : cfg.log_level, file);
}

} // namespace eventide::cli
