// The shop's own record of what happened, read from its store after the pipeline stopped:
// effects are counted where they happen, never from what the workers wrote.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "core/json.hpp"
#include "providers/tool.hpp"
#include "shop/service.hpp"
#include "storage/kv_store.hpp"

namespace eventide::testing {

struct shop_view {
  std::vector<std::string> effects; // "kind idempotencyKey", oldest first
  std::map<std::string, int64_t> stock;
};

inline shop_view read_shop(const std::string& data_dir) {
  const std::string dir = data_dir + "/shop";
  REQUIRE(storage::kv_store::wait_until_closed(dir, std::chrono::seconds(10)));
  shop::shop_settings settings;
  settings.data_dir = dir;
  settings.products_dir = providers::resource_root() + "/products";
  settings.exchange_rates_file = providers::resource_root() + "/config/exchange-rates.json";
  auto opened = shop::shop_service::open(settings);
  REQUIRE(opened.ok());
  auto& shop = **opened;
  shop_view v;
  auto effects = json::parse(shop.handle({"GET", "/effects", "", ""}).body);
  REQUIRE(effects.ok());
  for (auto& e : effects->GetArray())
    v.effects.push_back(json::get_string(e, "kind").value_or("?") + " "
                        + json::get_string(e, "idempotencyKey").value_or("?"));
  auto stock = json::parse(shop.handle({"GET", "/stock", "", ""}).body);
  REQUIRE(stock.ok());
  for (auto& p : (*stock)["products"].GetArray())
    v.stock[json::get_string(p, "product").value_or("?")] = json::get_int(p, "stock").value_or(-1);
  return v;
}

} // namespace eventide::testing
