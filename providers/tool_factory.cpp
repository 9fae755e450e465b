#include "providers/tool_factory.hpp"

#include "providers/chroma_store.hpp"
#include "providers/http_tools.hpp"
#include "providers/llm_tools.hpp"
#include "providers/offline_tools.hpp"
#include "providers/planner.hpp"

namespace eventide::providers {

tool_factory::tool_factory(std::string resources, std::string data_dir, provider_config config,
                           std::shared_ptr<provider_runtime> runtime,
                           std::function<void(const std::string&)> warn)
  : resources_(std::move(resources)),
    data_dir_(std::move(data_dir)),
    config_(std::move(config)),
    runtime_(std::move(runtime)),
    warn_(std::move(warn)) {
}

outcome<std::unique_ptr<tool>> tool_factory::make(const std::string& name) {
  if (extra_)
    if (auto made = extra_(name))
      return made;
  auto& root = resources_;
  auto& pc = config_;
  auto products = root + "/products";
  // The hybrid retriever serves getProductInformation, and ragGeneration when an LLM answers
  // (the offline one has its own extractive retrieval).
  bool retrieves = name == "getProductInformation"
                   || (name == "ragGeneration" && !offline_only(pc.rag_chain));
  if (retrieves) {
    if (!offline_only(pc.embeddings_chain) && !retriever_) {
      auto cache = pc.embedding_cache_dir.empty() ? data_dir_ + "/embeddings"
                                                  : pc.embedding_cache_dir;
      // A copy of the callback, not `this`: the retriever logs at search time, long after the
      // factory (a local of node start-up) is gone.
      auto log = [warn = warn_](const std::string& m) {
        if (warn)
          warn("retrieval: " + m);
      };
      std::shared_ptr<vector_store> store; // null: the embedded one
      if (pc.vector_store == "chroma") {
        chroma_settings chroma;
        chroma.url = pc.chroma_url;
        chroma.tenant = pc.chroma_tenant;
        chroma.database = pc.chroma_database;
        chroma.collection_prefix = pc.chroma_collection;
        chroma.connect_timeout_ms = pc.connect_timeout_ms;
        chroma.timeout_ms = pc.chroma_timeout_ms;
        store = std::make_shared<chroma_vector_store>(chroma, runtime_->http, log);
      }
      auto r = open_retriever(products, runtime_->embeddings(), cache, pc.hybrid_bm25_weight, log,
                              nullptr, store);
      if (!r)
        return fail(r.error());
      retriever_ = *r;
    }
  }
  if (name == "getProductInformation")
    return retriever_ ? make_product_info_tool(retriever_) : make_product_info_tool(products);
  if (name == "ragGeneration")
    return offline_only(pc.rag_chain) ? make_offline_rag_tool(products)
                                      : make_llm_rag_tool(runtime_->rag(), products, retriever_);
  if (name == "generalChat")
    return offline_only(pc.chat_chain)
             ? make_offline_chat_tool()
             : make_llm_chat_tool(runtime_->chat(), load_product_names(products));
  if (name == "math")
    return make_math_tool();
  if (name == "weather")
    return make_weather_tool(*runtime_, root + "/config/weather-sample.json");
  if (name == "exchangeRate")
    return make_exchange_tool(*runtime_, root + "/config/exchange-rates.json");
  return offline_only(pc.synthesis_chain) ? make_offline_synthesis_tool()
                                          : make_llm_synthesis_tool(runtime_->synthesis());
}

} // namespace eventide::providers
