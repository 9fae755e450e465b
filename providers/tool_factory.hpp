// Builds the tool a worker runs from the provider settings: offline chains keep the plain
// offline tools (providers/offline_tools.hpp); anything else goes through the runtime.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/outcome.hpp"
#include "providers/hybrid_retrieval.hpp"
#include "providers/provider_config.hpp"
#include "providers/tool.hpp"

namespace eventide::providers {

class tool_factory {
 public:
  /// `resources` holds products/ and config/; `data_dir` the default embedding cache; `warn`
  /// receives retrieval warnings (e.g. hybrid falling back to BM25).
  tool_factory(std::string resources, std::string data_dir, provider_config config,
               std::shared_ptr<provider_runtime> runtime,
               std::function<void(const std::string&)> warn);

  /// A new instance of tool `name` (getProductInformation, ragGeneration, generalChat, math,
  /// weather, exchangeRate, anything else: orchestrationSynthesis). The retriever of the
  /// product tools is opened once and shared by every instance.
  outcome<std::unique_ptr<tool>> make(const std::string& name);

  /// Tools built outside providers/ (the shop's, shop/tools.hpp), asked first: a null from
  /// `make` means "not one of mine".
  void add_tools(std::function<std::unique_ptr<tool>(const std::string&)> make) {
    extra_ = std::move(make);
  }

 private:
  std::function<std::unique_ptr<tool>(const std::string&)> extra_;
  std::string resources_;
  std::string data_dir_;
  provider_config config_;
  std::shared_ptr<provider_runtime> runtime_;
  std::function<void(const std::string&)> warn_;
  std::shared_ptr<const product_retriever> retriever_; // hybrid, when configured
};

} // namespace eventide::providers
