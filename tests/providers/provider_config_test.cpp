// Provider configuration: chain parsing, CLI/INI options, cross-field checks and the runtime's
// chains of shared clients.
#include <catch2/catch.hpp>

#include <cstdlib>

#include "providers/provider_config.hpp"

using namespace eventide;
using namespace eventide::providers;

TEST_CASE("parse_chain validates provider names", "[provider][config]") {
  auto chain = parse_chain(" ollama, openai ,offline ");
  REQUIRE(chain.ok());
  CHECK(*chain == std::vector<std::string>{"ollama", "openai", "offline"});
  CHECK(*parse_chain("offline") == std::vector<std::string>{"offline"});

  auto unknown = parse_chain("ollama,claude");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error() == "provider chain 'ollama,claude': unknown provider 'claude' (known: ollama, openai, offline)");
  auto twice = parse_chain("ollama,ollama");
  REQUIRE_FALSE(twice.ok());
  CHECK(twice.error() == "provider chain 'ollama,ollama': 'ollama' appears twice");
  CHECK_FALSE(parse_chain("").ok());
  CHECK_FALSE(parse_chain("ollama,").ok());
  CHECK(parse_chain("ollama,,offline").error() == "provider chain 'ollama,,offline': empty provider name");
}

TEST_CASE("defaults are fully offline", "[provider][config]") {
  provider_config c;
  for (const auto* chain : {&c.planning_chain, &c.chat_chain, &c.rag_chain, &c.synthesis_chain, &c.embeddings_chain})
    CHECK(*chain == std::vector<std::string>{"offline"});
  CHECK(c.tools_mode == "offline");
  CHECK(check_provider_config(c).ok());
}

TEST_CASE("set_provider_option sets every documented key and rejects bad values", "[provider][config]") {
  provider_config c;
  REQUIRE(set_provider_option(c, "llm-planning-chain", "ollama,openai,offline").ok());
  REQUIRE(set_provider_option(c, "llm-chat-chain", "openai").ok());
  REQUIRE(set_provider_option(c, "llm-embeddings-chain", "ollama,offline").ok());
  REQUIRE(set_provider_option(c, "ollama-url", " http://ollama:11434 ").ok());
  REQUIRE(set_provider_option(c, "openai-model", "gpt-4.1-mini").ok());
  REQUIRE(set_provider_option(c, "http-max-attempts", "4").ok());
  REQUIRE(set_provider_option(c, "http-retry-base-ms", "50").ok());
  REQUIRE(set_provider_option(c, "breaker-open-ms", "1500").ok());
  REQUIRE(set_provider_option(c, "tools-mode", "http").ok());
  REQUIRE(set_provider_option(c, "hybrid-bm25-weight", "0.25").ok());
  REQUIRE(set_provider_option(c, "tools-timeout-ms", "2500").ok());
  CHECK(c.planning_chain == std::vector<std::string>{"ollama", "openai", "offline"});
  CHECK(c.chat_chain == std::vector<std::string>{"openai"});
  CHECK(c.embeddings_chain == std::vector<std::string>{"ollama", "offline"});
  CHECK(c.ollama_url == "http://ollama:11434");
  CHECK(c.openai_model == "gpt-4.1-mini");
  CHECK(c.retry.max_attempts == 4);
  CHECK(c.retry.backoff.base_ms == 50);
  CHECK(c.breaker.open_ms == 1500);
  CHECK(c.tools_mode == "http");
  CHECK(c.hybrid_bm25_weight == 0.25);
  CHECK(c.tools_timeout_ms == 2500);
  CHECK(check_provider_config(c).ok());

  CHECK(set_provider_option(c, "http-max-attempts", "0").error()
        == "http-max-attempts: expected an integer from 1 to 100, got '0'");
  CHECK(set_provider_option(c, "llm-timeout-ms", "fast").error()
        == "llm-timeout-ms: expected an integer from 1 to 3600000, got 'fast'");
  CHECK(set_provider_option(c, "tools-mode", "live").error() == "tools-mode: expected 'offline' or 'http', got 'live'");
  CHECK(set_provider_option(c, "llm-rag-chain", "gpt").error()
        == "llm-rag-chain: provider chain 'gpt': unknown provider 'gpt' (known: ollama, openai, offline)");
  CHECK(set_provider_option(c, "hybrid-bm25-weight", "1.5").ok() == false);
  CHECK(set_provider_option(c, "no-such-key", "1").error() == "unknown provider option 'no-such-key'");
  for (const auto& key : provider_option_keys())
    CHECK(set_provider_option(c, key, "").error() != "unknown provider option '" + key + "'");
}

TEST_CASE("check_provider_config enforces cross-field rules", "[provider][config]") {
  provider_config c;
  c.planning_chain = {"ollama", "offline"};
  c.ollama_model = "";
  CHECK(check_provider_config(c).error()
        == "provider config: ollama is in a chain but ollama-url or ollama-model is empty");
  c.ollama_model = "m";
  c.embeddings_chain = {"openai"};
  c.openai_embedding_model = "";
  CHECK(check_provider_config(c).error() == "provider config: openai-embedding-model is empty");
  c.embeddings_chain = {"offline"};
  c.tools_mode = "http";
  c.weather_url = "";
  CHECK(check_provider_config(c).error() == "provider config: tools-mode 'http' needs weather-url and exchange-url");
}

TEST_CASE("the API key comes from the config, else from OPENAI_API_KEY", "[provider][config]") {
  provider_config c;
  const char* saved = std::getenv("OPENAI_API_KEY");
  std::string restore = saved ? saved : "";
  ::setenv("OPENAI_API_KEY", "sk-env", 1);
  CHECK(effective_openai_key(c) == "sk-env");
  c.openai_api_key = "sk-config";
  CHECK(effective_openai_key(c) == "sk-config");
  ::unsetenv("OPENAI_API_KEY");
  c.openai_api_key.clear();
  CHECK(effective_openai_key(c).empty());
  if (saved)
    ::setenv("OPENAI_API_KEY", restore.c_str(), 1);
}

TEST_CASE("the runtime's chains share one client per provider", "[provider][config]") {
  provider_config c;
  c.planning_chain = {"openai", "ollama", "offline"};
  c.chat_chain = {"ollama"};
  auto rt = make_provider_runtime(c);
  auto planning = rt->planning();
  REQUIRE(planning.size() == 3);
  CHECK(planning[0].provider == "openai");
  CHECK(planning[0].client == rt->openai);
  CHECK(planning[1].client == rt->ollama);
  CHECK(planning[2].provider == "offline");
  CHECK(planning[2].client == nullptr);
  CHECK(rt->chat()[0].client == rt->ollama);
  CHECK(rt->ollama->model() == "llama3.1:8b");
  CHECK(rt->openai->embedding_model() == "text-embedding-3-small");
  CHECK(rt->synthesis().size() == 1);
}
