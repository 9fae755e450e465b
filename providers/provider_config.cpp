#include "providers/provider_config.hpp"
#include "providers/chroma_store.hpp"
#include "core/text.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <type_traits>

namespace eventide::providers {

using core::trim;

namespace {

const std::vector<std::string> known_providers = {"ollama", "openai", "offline"};

bool uses(const std::vector<std::string>& chain, const std::string& provider) {
  return std::find(chain.begin(), chain.end(), provider) != chain.end();
}

outcome<int64_t> parse_int(std::string_view key, std::string_view value, int64_t min, int64_t max) {
  std::string text = trim(value);
  errno = 0;
  char* end = nullptr;
  long long n = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE || n < min || n > max)
    return fail(std::string(key) + ": expected an integer from " + std::to_string(min) + " to "
                + std::to_string(max) + ", got '" + std::string(value) + "'");
  return static_cast<int64_t>(n);
}

outcome<double> parse_double(std::string_view key, std::string_view value, double min, double max) {
  std::string text = trim(value);
  char* end = nullptr;
  double d = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(d >= min && d <= max))
    return fail(std::string(key) + ": expected a number from " + std::to_string(min) + " to "
                + std::to_string(max) + ", got '" + std::string(value) + "'");
  return d;
}

} // namespace

bool offline_only(const std::vector<std::string>& chain) {
  return chain.size() == 1 && chain[0] == "offline";
}

outcome<std::vector<std::string>> parse_chain(std::string_view text) {
  std::vector<std::string> chain;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    auto comma = text.find(',', pos);
    if (comma == std::string_view::npos)
      comma = text.size();
    std::string name = trim(text.substr(pos, comma - pos));
    pos = comma + 1;
    if (name.empty())
      return fail("provider chain '" + std::string(text) + "': empty provider name");
    if (!uses(known_providers, name))
      return fail("provider chain '" + std::string(text) + "': unknown provider '" + name
                  + "' (known: ollama, openai, offline)");
    if (uses(chain, name))
      return fail("provider chain '" + std::string(text) + "': '" + name + "' appears twice");
    chain.push_back(name);
  }
  return chain;
}

const std::vector<std::string>& provider_option_keys() {
  static const std::vector<std::string> keys = {
      "llm-planning-chain", "llm-chat-chain", "llm-rag-chain", "llm-synthesis-chain",
      "llm-embeddings-chain", "ollama-url", "ollama-model", "ollama-embedding-model",
      "openai-url", "openai-model", "openai-embedding-model", "openai-api-key",
      "llm-connect-timeout-ms", "llm-timeout-ms", "http-max-attempts", "http-retry-base-ms",
      "http-retry-max-ms", "http-max-retry-after-ms", "breaker-failure-threshold",
      "breaker-open-ms", "tools-mode", "weather-url", "exchange-url", "tools-timeout-ms",
      "embedding-cache-dir",
      "hybrid-bm25-weight", "vector-store", "chroma-url", "chroma-tenant", "chroma-database",
      "chroma-collection", "chroma-timeout-ms", "provider-concurrency", "provider-rate"};
  return keys;
}

outcome<void> set_provider_option(provider_config& c, std::string_view key, std::string_view value) {
  auto set_chain = [&](std::vector<std::string>& chain) -> outcome<void> {
    auto parsed = parse_chain(value);
    if (!parsed)
      return fail(std::string(key) + ": " + parsed.error());
    chain = std::move(parsed.value());
    return {};
  };
  auto set_int = [&](auto& field, int64_t min, int64_t max) -> outcome<void> {
    auto n = parse_int(key, value, min, max);
    if (!n)
      return fail(n.error());
    field = static_cast<std::remove_reference_t<decltype(field)>>(*n);
    return {};
  };
  std::string text = trim(value);

  if (key == "llm-planning-chain") return set_chain(c.planning_chain);
  if (key == "llm-chat-chain") return set_chain(c.chat_chain);
  if (key == "llm-rag-chain") return set_chain(c.rag_chain);
  if (key == "llm-synthesis-chain") return set_chain(c.synthesis_chain);
  if (key == "llm-embeddings-chain") return set_chain(c.embeddings_chain);
  if (key == "ollama-url") return c.ollama_url = text, outcome<void>{};
  if (key == "ollama-model") return c.ollama_model = text, outcome<void>{};
  if (key == "ollama-embedding-model") return c.ollama_embedding_model = text, outcome<void>{};
  if (key == "openai-url") return c.openai_url = text, outcome<void>{};
  if (key == "openai-model") return c.openai_model = text, outcome<void>{};
  if (key == "openai-embedding-model") return c.openai_embedding_model = text, outcome<void>{};
  if (key == "openai-api-key") return c.openai_api_key = text, outcome<void>{};
  if (key == "llm-connect-timeout-ms") return set_int(c.connect_timeout_ms, 1, 600000);
  if (key == "llm-timeout-ms") return set_int(c.timeout_ms, 1, 3600000);
  if (key == "http-max-attempts") return set_int(c.retry.max_attempts, 1, 100);
  if (key == "http-retry-base-ms") return set_int(c.retry.backoff.base_ms, 0, 3600000);
  if (key == "http-retry-max-ms") return set_int(c.retry.backoff.max_ms, 0, 3600000);
  if (key == "http-max-retry-after-ms") return set_int(c.retry.max_retry_after_ms, 0, 3600000);
  if (key == "breaker-failure-threshold") return set_int(c.breaker.failure_threshold, 1, 1000);
  if (key == "breaker-open-ms") return set_int(c.breaker.open_ms, 0, 3600000);
  if (key == "tools-mode") {
    if (text != "offline" && text != "http")
      return fail("tools-mode: expected 'offline' or 'http', got '" + text + "'");
    c.tools_mode = text;
    return {};
  }
  if (key == "weather-url") return c.weather_url = text, outcome<void>{};
  if (key == "exchange-url") return c.exchange_url = text, outcome<void>{};
  if (key == "tools-timeout-ms") return set_int(c.tools_timeout_ms, 1, 600000);
  if (key == "embedding-cache-dir") return c.embedding_cache_dir = text, outcome<void>{};
  if (key == "hybrid-bm25-weight") {
    auto d = parse_double(key, value, 0, 1);
    if (!d)
      return fail(d.error());
    c.hybrid_bm25_weight = *d;
    return {};
  }
  if (key == "vector-store") {
    if (text != "embedded" && text != "chroma")
      return fail("vector-store: expected 'embedded' or 'chroma', got '" + text + "'");
    c.vector_store = text;
    return {};
  }
  if (key == "chroma-url") {
    if (text.rfind("http://", 0) != 0 && text.rfind("https://", 0) != 0)
      return fail("chroma-url: expected an http:// or https:// URL, got '" + text + "'");
    c.chroma_url = text;
    return {};
  }
  if (key == "chroma-tenant") return c.chroma_tenant = text, outcome<void>{};
  if (key == "chroma-database") return c.chroma_database = text, outcome<void>{};
  if (key == "chroma-collection") {
    if (auto ok = check_chroma_collection_prefix(text); !ok)
      return fail("chroma-collection: " + ok.error());
    c.chroma_collection = text;
    return {};
  }
  if (key == "chroma-timeout-ms") return set_int(c.chroma_timeout_ms, 1, 600000);
  if (key == "provider-concurrency" || key == "provider-rate") {
    auto parsed = parse_provider_numbers(std::string(key), text);
    if (!parsed)
      return fail(parsed.error());
    (key == "provider-rate" ? c.provider_rate : c.provider_concurrency) = std::move(*parsed);
    return {};
  }
  return fail("unknown provider option '" + std::string(key) + "'");
}

outcome<void> check_provider_config(const provider_config& c) {
  const std::vector<const std::vector<std::string>*> chains = {
      &c.planning_chain, &c.chat_chain, &c.rag_chain, &c.synthesis_chain, &c.embeddings_chain};
  bool ollama = false, openai = false;
  for (const auto* chain : chains) {
    if (chain->empty())
      return fail("provider config: every chain needs at least one provider");
    for (const auto& name : *chain)
      if (!uses(known_providers, name))
        return fail("provider config: unknown provider '" + name + "'");
    ollama = ollama || uses(*chain, "ollama");
    openai = openai || uses(*chain, "openai");
  }
  if (ollama && (c.ollama_url.empty() || c.ollama_model.empty()))
    return fail("provider config: ollama is in a chain but ollama-url or ollama-model is empty");
  if (openai && (c.openai_url.empty() || c.openai_model.empty()))
    return fail("provider config: openai is in a chain but openai-url or openai-model is empty");
  if (uses(c.embeddings_chain, "ollama") && c.ollama_embedding_model.empty())
    return fail("provider config: ollama-embedding-model is empty");
  if (uses(c.embeddings_chain, "openai") && c.openai_embedding_model.empty())
    return fail("provider config: openai-embedding-model is empty");
  if (c.tools_mode != "offline" && c.tools_mode != "http")
    return fail("provider config: tools-mode must be 'offline' or 'http', got '" + c.tools_mode + "'");
  if (c.tools_mode == "http" && (c.weather_url.empty() || c.exchange_url.empty()))
    return fail("provider config: tools-mode 'http' needs weather-url and exchange-url");
  if (c.connect_timeout_ms <= 0 || c.timeout_ms <= 0 || c.tools_timeout_ms <= 0)
    return fail("provider config: timeouts must be positive");
  if (c.retry.max_attempts < 1)
    return fail("provider config: http-max-attempts must be at least 1");
  if (!(c.hybrid_bm25_weight >= 0 && c.hybrid_bm25_weight <= 1))
    return fail("provider config: hybrid-bm25-weight must be within 0..1");
  if (c.vector_store != "embedded" && c.vector_store != "chroma")
    return fail("provider config: vector-store must be 'embedded' or 'chroma', got '"
                + c.vector_store + "'");
  if (c.vector_store == "chroma") {
    if (offline_only(c.embeddings_chain))
      return fail("provider config: vector-store 'chroma' needs an embedder in "
                  "llm-embeddings-chain (Chroma stores and searches the vectors Eventide computes)");
    if (c.chroma_url.empty() || c.chroma_tenant.empty() || c.chroma_database.empty())
      return fail("provider config: vector-store 'chroma' needs chroma-url, chroma-tenant and "
                  "chroma-database");
    if (auto ok = check_chroma_collection_prefix(c.chroma_collection); !ok)
      return fail("provider config: chroma-collection: " + ok.error());
    if (c.chroma_timeout_ms <= 0)
      return fail("provider config: timeouts must be positive");
  }
  return {};
}

std::string effective_openai_key(const provider_config& c) {
  if (!c.openai_api_key.empty())
    return c.openai_api_key;
  const char* env = std::getenv("OPENAI_API_KEY");
  return env ? env : "";
}

llm_chain provider_runtime::chain(const std::vector<std::string>& names) const {
  llm_chain out;
  for (const auto& name : names) {
    if (name == "ollama")
      out.push_back({name, ollama});
    else if (name == "openai")
      out.push_back({name, openai});
    else if (name == "offline")
      out.push_back({name, nullptr});
  }
  return out;
}

std::shared_ptr<provider_runtime> make_provider_runtime(
    const provider_config& config, std::function<void(const std::string&)> observer,
    clock_hooks clock, http_transport transport) {
  auto rt = std::make_shared<provider_runtime>();
  rt->config = config;
  rt->http = std::make_shared<resilient_http>(config.retry, config.breaker, std::move(observer),
                                              std::move(clock), std::move(transport));
  llm_endpoint ollama{config.ollama_url, config.ollama_model, config.ollama_embedding_model, "",
                      config.connect_timeout_ms, config.timeout_ms};
  llm_endpoint openai{config.openai_url, config.openai_model, config.openai_embedding_model,
                      effective_openai_key(config), config.connect_timeout_ms, config.timeout_ms};
  rt->ollama = make_ollama_client(std::move(ollama), rt->http);
  rt->openai = make_openai_client(std::move(openai), rt->http);
  std::map<std::string, provider_limit> limits;
  for (const auto& [name, n] : config.provider_concurrency)
    limits[name].max_in_flight = static_cast<int>(n);
  for (const auto& [name, r] : config.provider_rate)
    limits[name].rate_per_s = r;
  rt->limits = std::make_shared<provider_limits>(std::move(limits));
  rt->http->set_limits(rt->limits);
  return rt;
}

} // namespace eventide::providers
