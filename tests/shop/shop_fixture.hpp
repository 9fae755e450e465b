// A shop on a fresh data dir with three known products (tests/shop/*_test.cpp):
//   tidal-buds  Tidal Buds  129.00 GBP  stock 2
//   aurora-x1   Aurora X1  1299.00 USD  stock 5
//   nimbus-pro  Nimbus Pro 1849.00 EUR  stock 0
// and the bundled exchange rates (EUR base: USD 1.0870, GBP 0.8650).
#pragma once

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "shop/service.hpp"
#include "tests/temp_dir.hpp"

namespace eventide::testing {

inline void write_shop_product(const std::string& dir, const std::string& id,
                               const std::string& name, const std::string& price,
                               const std::string& currency, const std::string& stock) {
  std::ofstream(dir + "/" + id + ".md")
      << "---\nid: " << id << "\nname: " << name << "\ncategory: gadget\nprice: " << price
      << "\ncurrency: " << currency << "\nbrand: Test\n" << (stock.empty() ? "" : "stock: " + stock + "\n")
      << "---\n# " << name << "\nA product for the shop tests.\n";
}

struct shop_fixture {
  temp_dir dir{"eventide-shop"};
  shop::shop_settings settings;
  std::unique_ptr<shop::shop_service> shop;

  shop_fixture() {
    auto products = dir.path + "/products";
    std::filesystem::create_directories(products);
    write_shop_product(products, "tidal-buds", "Tidal Buds", "129.00", "GBP", "2");
    write_shop_product(products, "aurora-x1", "Aurora X1", "1299.00", "USD", "5");
    write_shop_product(products, "nimbus-pro", "Nimbus Pro", "1849.00", "EUR", "0");
    std::ofstream(products + "/README.md") << "not a product\n";
    settings.data_dir = dir.path + "/store";
    settings.products_dir = products;
    settings.exchange_rates_file = EVENTIDE_SOURCE_DIR "/config/exchange-rates.json";
  }

  /// Opens the shop with `settings` (again, after close()).
  shop::shop_service& open() {
    auto opened = shop::shop_service::open(settings);
    INFO((opened.ok() ? std::string() : opened.error()));
    REQUIRE(opened.ok());
    shop = std::move(opened.value());
    return *shop;
  }
  void close() { shop.reset(); }

  shop::shop_response post(const std::string& path, const std::string& key,
                           const std::string& body = "") {
    return shop->handle(shop::shop_request{"POST", path, key, body});
  }
  shop::shop_response get(const std::string& path) {
    return shop->handle(shop::shop_request{"GET", path, "", ""});
  }
  long long stock(const std::string& product) {
    auto r = get("/stock/" + product);
    REQUIRE(r.status == 200);
    auto at = r.body.find("\"stock\":");
    REQUIRE(at != std::string::npos);
    return std::stoll(r.body.substr(at + 8));
  }
  /// How many effects of `kind` /effects lists.
  int effects(const std::string& kind) {
    auto body = get("/effects").body;
    int n = 0;
    for (auto at = body.find("\"kind\":\"" + kind + "\""); at != std::string::npos;
         at = body.find("\"kind\":\"" + kind + "\"", at + 1))
      ++n;
    return n;
  }
};

} // namespace eventide::testing
