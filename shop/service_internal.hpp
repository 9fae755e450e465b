// Inside the shop service (service.cpp: store, routing, idempotency; operations.cpp: the
// effects). Not for other folders.
//
// Store keys:
//   stock/<product id>   units left (decimal)        counter/<o|p|s|effect>  last number drawn
//   order/<id>, payment/<id>, shipment/<id>          the record's JSON, as the API shows it
//   paid/<order id>      the order's active charge   shipped/<order id>  its active shipment
//   effect/<seq>         one applied effect (seq zero-padded to 16 digits, so in order)
//   key/<idempotency key>  the request's fingerprint and the response it got
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/json.hpp"
#include "shop/products.hpp"
#include "shop/records.hpp"
#include "shop/service.hpp"
#include "storage/kv_store.hpp"

namespace eventide::shop {

/// A read of the store failed or found a damaged record. Thrown only inside handle(), which
/// turns it into a 500 that changed nothing.
struct store_failure {
  std::string reason;
};

struct reply {
  int status = 200;
  std::string body;
};

inline reply error_reply(int status, std::string_view code, std::string_view message) {
  return reply{status, error_json(code, message)};
}

/// `text` with every byte outside printable ASCII replaced by '?', for echoing path ids.
std::string printable(std::string_view text);

struct shop_service::impl {
  shop_settings settings;
  std::vector<shop_product> products;
  exchange_rates rates;
  cents card_limit = 0;
  std::unique_ptr<storage::kv_store> store;
  std::mutex mu; // one request at a time

  // Reads; they throw store_failure.
  std::optional<std::string> get(const std::string& key) const;
  long long number_at(const std::string& key) const; // 0 when absent
  std::optional<order_record> order(const std::string& id) const;
  std::optional<payment_record> payment(const std::string& id) const;
  std::optional<shipment_record> shipment(const std::string& id) const;

  /// By id, or by name or id ignoring case; nullptr when unknown.
  const shop_product* find_product(std::string_view id_or_name) const;
  /// The served city's name as configured, matched ignoring case and outer blanks.
  std::optional<std::string> find_city(std::string_view city) const;

  shop_response answer(const shop_request& request);
};

/// One POST's writes. They are applied together with the key's record, in one batch.
struct mutation {
  shop_service::impl& shop;
  std::string idempotency_key;
  std::vector<std::pair<std::string, std::string>> puts;
  std::vector<std::string> deletes;

  /// "o-3" for prefix "o": the next number of counter/o (written in this batch).
  std::string next_id(const std::string& prefix);
  /// Records an applied effect (effect/<seq>), under this request's key.
  void effect(const std::string& kind, const std::string& id);
  void put(std::string key, std::string value) { puts.emplace_back(std::move(key), std::move(value)); }
};

// The POST routes (operations.cpp). A reply other than 2xx leaves `m` without writes.
reply place_order(mutation& m, const json::value& body);
reply cancel_order(mutation& m, const std::string& order_id);
reply charge_payment(mutation& m, const json::value& body);
reply refund_payment(mutation& m, const std::string& payment_id);
reply book_shipment(mutation& m, const json::value& body);
reply cancel_shipment(mutation& m, const std::string& shipment_id);

} // namespace eventide::shop
