// shop: `shop serve` runs the shop service (shop/service.hpp) over HTTP until SIGTERM/SIGINT;
// `shop stock` prints the stock its store holds.
#include <csignal>
#include <filesystem>
#include <iostream>
#include <memory>
#include <pthread.h>

#include "commands.hpp"
#include "shop_settings.hpp"
#include "core/text.hpp"
#include "net/http_server.hpp"
#include "shop/http_handler.hpp"
#include "shop/service.hpp"
#include "storage/kv_store.hpp"

namespace eventide::cli {

namespace {

constexpr const char* shop_usage =
    "usage: eventide shop serve [--port P] [--host H] [--data-dir D] [--card-limit USD] "
    "[--ship-to \"Berlin,London\"] [--products DIR] | eventide shop stock [--data-dir D]";

std::string shop_store_dir(const options& cfg) { return cfg.data_dir + "/shop"; }

std::vector<std::string> cities_of(const std::string& list) {
  std::vector<std::string> cities;
  std::size_t start = 0;
  while (start <= list.size()) {
    auto comma = list.find(',', start);
    auto end = comma == std::string::npos ? list.size() : comma;
    auto city = core::trim(list.substr(start, end - start));
    if (city.empty())
      throw usage_error{"--ship-to: empty city name in '" + list + "'"};
    cities.push_back(city);
    start = end + 1;
  }
  return cities;
}

} // namespace

shop::shop_settings shop_settings_of(const options& cfg) {
  if (!(cfg.card_limit > 0))
    throw usage_error{"eventide.card-limit must be a positive number of USD"};
  shop::shop_settings settings;
  settings.data_dir = shop_store_dir(cfg);
  settings.products_dir = cfg.products.empty() ? cfg.resources + "/products" : cfg.products;
  settings.exchange_rates_file = cfg.resources + "/config/exchange-rates.json";
  settings.card_limit_usd = cfg.card_limit;
  if (!cfg.ship_to.empty())
    settings.shipping_cities = cities_of(cfg.ship_to);
  return settings;
}

namespace {

int serve(const options& cfg) {
  if (cfg.port < 0 || cfg.port > 65535)
    throw usage_error{"eventide.port must be between 0 (ephemeral) and 65535"};
  auto settings = shop_settings_of(cfg);

  // SIGINT/SIGTERM are taken by sigwait below: blocked before any thread (RocksDB's, the
  // server's) starts, so that every thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto service = shop::shop_service::open(settings);
  if (!service)
    die(exit_failed, "shop: " + service.error());
  std::shared_ptr<shop::shop_service> shop = std::move(*service);
  auto server = net::http_server::start(shop::shop_server_settings(cfg.host, cfg.port),
                                        shop::make_shop_http_handler(shop));
  if (!server)
    die(exit_failed, "shop: " + server.error());
  std::cout << "shop: listening on " << (*server)->url() << " (data dir " << cfg.data_dir << ")"
            << std::endl;
  int signal = 0;
  sigwait(&stop_signals, &signal);
  (*server)->stop();
  std::cout << "shop: stopped (" << (signal == SIGINT ? "SIGINT" : "SIGTERM") << ")" << std::endl;
  return exit_ok;
}

int stock(const options& cfg) {
  auto dir = shop_store_dir(cfg);
  if (!std::filesystem::exists(dir))
    die(exit_failed, "no shop store at " + dir);
  auto kv = storage::kv_store::open(dir);
  if (!kv)
    die(exit_failed, kv.error());
  auto r = (*kv)->scan("stock/", [](const std::string& k, const std::string& v) {
    std::cout << k.substr(6) << " " << v << "\n";
  });
  if (!r)
    die(exit_failed, r.error());
  std::cout.flush();
  return exit_ok;
}

} // namespace

int run_shop(const options& cfg, const command_line& cl, caf::actor_system_config&) {
  if (cl.positionals.size() != 1)
    throw usage_error{shop_usage};
  const auto& sub = cl.positionals[0];
  if (sub == "serve")
    return serve(cfg);
  if (sub == "stock")
    return stock(cfg);
  throw usage_error{"unknown shop command '" + sub + "' (serve, stock)"};
}

} // namespace eventide::cli
