// Offline providers for every tool of DESIGN §5. Each computes its answer from bundled data
// (products/, config/*.json) and labels it as offline/sample data in its result.
#pragma once

#include <memory>
#include <string>

#include "providers/tool.hpp"

namespace eventide::providers {

/// math: {"expression": "..."} -> {"expression", "value"}
std::unique_ptr<tool> make_math_tool();

/// weather: {"city"} -> {"city","temperatureC","condition","windKph","humidity","observedAt",
/// "source":"config/weather-sample.json","offline":true,"label":"offline sample data"}
std::unique_ptr<tool> make_offline_weather_tool(const std::string& sample_file);

/// exchangeRate: {"from","to","amount"?} -> {"from","to","amount","rate","converted","date",
/// "source":"config/exchange-rates.json","offline":true,"label":"offline sample rates of <date>"}
std::unique_ptr<tool> make_offline_exchange_tool(const std::string& rates_file);

/// getProductInformation: {"query","topK"?} -> {"query","name","price","currency","source",
/// "product":{...fields...},"chunks":[{"id","text","score","source"}],"offline":true}
/// where name/price/currency/source are those of the best-matching product.
std::unique_ptr<tool> make_product_info_tool(const std::string& products_dir);

/// ragGeneration: {"query","context"?} -> {"answer","citations":[source...],"offline":true}
/// Extractive: retrieves (or uses the given context chunks) and returns the best sentences.
std::unique_ptr<tool> make_offline_rag_tool(const std::string& products_dir);

/// generalChat: {"message"} -> {"answer","offline":true}
std::unique_ptr<tool> make_offline_chat_tool();

/// orchestrationSynthesis: {"query","results"} -> {"answer","offline":true}
std::unique_ptr<tool> make_offline_synthesis_tool();

} // namespace eventide::providers
