// Which providers serve each use (planning, chat, RAG, synthesis, embeddings), how to reach
// them, and the runtime that owns the shared resilient_http and LLM clients built from it.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/outcome.hpp"
#include "providers/limits.hpp"
#include "providers/llm.hpp"
#include "providers/resilience.hpp"

namespace eventide::providers {

struct provider_config {
  // Chains: tried in order; names are "ollama", "openai" or "offline".
  std::vector<std::string> planning_chain{"offline"};
  std::vector<std::string> chat_chain{"offline"};
  std::vector<std::string> rag_chain{"offline"};
  std::vector<std::string> synthesis_chain{"offline"};
  std::vector<std::string> embeddings_chain{"offline"}; // "offline": BM25 only

  std::string ollama_url = "http://127.0.0.1:11434";
  std::string ollama_model = "llama3.1:8b";
  std::string ollama_embedding_model = "nomic-embed-text";
  std::string openai_url = "https://api.openai.com";
  std::string openai_model = "gpt-4o-mini";
  std::string openai_embedding_model = "text-embedding-3-small";
  std::string openai_api_key; // empty: $OPENAI_API_KEY (may be empty too: no Authorization)

  long connect_timeout_ms = 2000;
  long timeout_ms = 30000; // per request; LLM generation can be slow
  retry_policy retry;
  breaker_policy breaker;

  std::string tools_mode = "offline"; // weather/exchangeRate: "offline" | "http"
  std::string weather_url = "https://api.open-meteo.com";
  std::string exchange_url = "https://api.frankfurter.app";
  long tools_timeout_ms = 10000; // per request of the HTTP weather/exchange tools

  std::string embedding_cache_dir;   // where hybrid retrieval caches chunk vectors
  double hybrid_bm25_weight = 0.5;   // hybrid score = w * bm25/max_bm25 + (1 - w) * cosine

  // Where hybrid retrieval stores and searches the chunk vectors: "embedded" (in process) or
  // "chroma" (a ChromaDB server; the vectors still come from the embeddings chain).
  std::string vector_store = "embedded";
  std::string chroma_url = "http://127.0.0.1:8000";
  std::string chroma_tenant = "default_tenant";
  std::string chroma_database = "default_database";
  // Collections are named "<prefix>-<catalog fingerprint>-<embedder hash>"; the stale ones
  // with this prefix are deleted when the catalog or the model changes.
  std::string chroma_collection = "eventide-products";
  long chroma_timeout_ms = 10000; // per request to Chroma

  // Limits per provider of this process (DESIGN §15): calls in flight and calls a second,
  // "ollama=2,shop=8" ("" = none). Providers: ollama, openai, weather, exchange, chroma, shop.
  std::map<std::string, double> provider_concurrency;
  std::map<std::string, double> provider_rate;
};

/// "ollama, openai,offline" -> {"ollama","openai","offline"}. Fails on an empty chain, an
/// unknown name (naming it and the known ones) or a name given twice.
outcome<std::vector<std::string>> parse_chain(std::string_view text);

/// Whether a chain is offline alone (then the plain offline provider serves, no runtime).
bool offline_only(const std::vector<std::string>& chain);

/// Sets one option from its CLI/INI spelling, e.g. ("llm-planning-chain", "ollama,offline"),
/// ("http-max-attempts", "3"). Fails naming the key on an unknown key or a bad value.
outcome<void> set_provider_option(provider_config& config, std::string_view key,
                                  std::string_view value);

/// Every key set_provider_option accepts, in documentation order.
const std::vector<std::string>& provider_option_keys();

/// Checks cross-field rules: tools_mode, non-empty URLs/models for providers that are used,
/// timeouts and weights in range, a vector store that can be fed (chroma needs an embedder).
outcome<void> check_provider_config(const provider_config& config);

/// The key to send: the configured one, else $OPENAI_API_KEY, else "".
std::string effective_openai_key(const provider_config& config);

/// One provider of a chain; `client` is null for "offline".
struct chain_link {
  std::string provider;
  std::shared_ptr<llm_client> client;
};
using llm_chain = std::vector<chain_link>;

/// What a process needs to call providers: one resilient_http (one breaker per provider and
/// model), one client per provider, and the chains per use. Thread-safe to share.
struct provider_runtime {
  provider_config config;
  std::shared_ptr<resilient_http> http;
  std::shared_ptr<llm_client> ollama;
  std::shared_ptr<llm_client> openai;
  std::shared_ptr<provider_limits> limits; // shared by http and the shop tools

  llm_chain chain(const std::vector<std::string>& names) const;
  llm_chain planning() const { return chain(config.planning_chain); }
  llm_chain chat() const { return chain(config.chat_chain); }
  llm_chain rag() const { return chain(config.rag_chain); }
  llm_chain synthesis() const { return chain(config.synthesis_chain); }
  llm_chain embeddings() const { return chain(config.embeddings_chain); }
};

/// Builds the runtime; `observer` gets resilience events (retries, breaker transitions).
/// `clock`/`transport` are for tests.
std::shared_ptr<provider_runtime> make_provider_runtime(
    const provider_config& config, std::function<void(const std::string&)> observer = {},
    clock_hooks clock = {}, http_transport transport = {});

} // namespace eventide::providers
