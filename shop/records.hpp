// The shop's records (orders, payments, shipments, effects, idempotency keys) and their JSON:
// the text the API answers with is the text the store holds, so a replay is byte-identical.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shop/money.hpp"

namespace eventide::shop {

struct order_record {
  std::string id, product, name, currency, customer; // customer "" = not given
  long long quantity = 0;
  cents unit_price = 0, total = 0;
  std::string status; // placed | cancelled
};

struct payment_record {
  std::string id, order_id, currency;
  cents amount = 0;
  std::string status; // charged | refunded
};

struct shipment_record {
  std::string id, order_id, city;
  std::string status; // booked | cancelled
};

struct effect_record {
  long long seq = 0;
  std::string kind; // order_placed, order_cancelled, payment_charged, ...
  std::string id, idempotency_key;
};

/// What a key answered: the request it was first used with (method, path, body as
/// fingerprint) and the response given then.
struct key_record {
  std::string request;
  int status = 0;
  std::string body;
};

struct stock_line {
  std::string product, name;
  long long stock = 0;
};

std::string to_json(const order_record& o);
std::string to_json(const payment_record& p);
std::string to_json(const shipment_record& s);
std::string to_json(const effect_record& e);
std::string to_json(const stock_line& s);
/// {"products":[...]}
std::string to_json(const std::vector<stock_line>& lines);

/// nullopt when the text is not such a record (a damaged store).
std::optional<order_record> order_from_json(std::string_view text);
std::optional<payment_record> payment_from_json(std::string_view text);
std::optional<shipment_record> shipment_from_json(std::string_view text);

/// A key record as stored: "<status>\n<request bytes>\n<request><body>", binary-safe (the
/// request may hold any bytes a client sent).
std::string encode_key_record(const key_record& k);
std::optional<key_record> decode_key_record(std::string_view text);

/// {"error":CODE,"message":MESSAGE}
std::string error_json(std::string_view code, std::string_view message);

} // namespace eventide::shop
