// The shop: orders, payments, shipments and stock, i.e. the effects agents' tools have, kept
// outside the event log in the shop's own RocksDB store. Transport-free: a request in, a
// response out (shop/http_handler.hpp puts it on HTTP; the API is in docs/shop-api.md).
//
// Every POST carries an idempotency key. Its effect, the ids it drew and the key's record (the
// request's fingerprint and the response) are written in ONE atomic batch, so a crash leaves
// either all of them or none: a retry with the same key replays the first answer, never a
// second effect.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "core/outcome.hpp"

namespace eventide::shop {

struct shop_request {
  std::string method; // "GET" or "POST"
  std::string path;   // "/orders", "/orders/o-1/cancel" (a "?query" is ignored)
  std::string idempotency_key; // required for POST
  std::string body;            // JSON for POST /orders, /payments, /shipments
};

struct shop_response {
  int status = 0;        // HTTP status; 0 from a shop_client = no answer (transport failure)
  std::string body;      // JSON; for status 0 the reason the call failed
  bool replayed = false; // the stored answer of an earlier request with the same key
};

/// The ten cities the shop ships to unless told otherwise (Berlin, London, ..., Sydney).
std::vector<std::string> default_shipping_cities();

struct shop_settings {
  std::string data_dir;            // the shop's store (created when missing)
  std::string products_dir;        // products/*.md: id, name, price, currency, stock
  std::string exchange_rates_file; // config/exchange-rates.json
  double card_limit_usd = 2000;    // a charge worth more (in USD) is declined
  std::vector<std::string> shipping_cities = default_shipping_cities();
};

/// Requests over these bounds are refused (413, 400) before anything else.
constexpr std::size_t max_body_bytes = 64 * 1024;
constexpr std::size_t max_idempotency_key_length = 255;

class shop_service {
 public:
  /// Opens (or creates) the store, reads products and rates, and seeds the stock of every
  /// product that has none in the store yet (all of them on a new data dir); afterwards the
  /// store is the truth. Fails with a clear reason (store locked by another process, a
  /// malformed product file, unreadable rates, a non-positive card limit).
  static outcome<std::unique_ptr<shop_service>> open(shop_settings settings);
  ~shop_service();
  shop_service(const shop_service&) = delete;
  shop_service& operator=(const shop_service&) = delete;

  /// Answers one request (docs/shop-api.md). Requests are handled one at a time. Never
  /// throws: a store failure is a 500 {"error":"store_failed"} that changed nothing.
  shop_response handle(const shop_request& request);

  const shop_settings& settings() const;

  struct impl;

 private:
  explicit shop_service(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace eventide::shop
