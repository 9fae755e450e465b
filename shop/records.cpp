// JSON of the shop's records; amounts are written as numbers with exactly two decimals.
#include "shop/records.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/json.hpp"

namespace eventide::shop {

namespace {

// A JSON object written member by member, in the order the API documents.
class record_writer {
 public:
  record_writer() : w_(buf_) { w_.StartObject(); }
  record_writer& text(const char* key, std::string_view v) {
    w_.Key(key);
    w_.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
    return *this;
  }
  record_writer& number(const char* key, long long v) {
    w_.Key(key);
    w_.Int64(v);
    return *this;
  }
  record_writer& money(const char* key, cents v) {
    auto s = format_cents(v);
    w_.Key(key);
    w_.RawValue(s.data(), s.size(), rapidjson::kNumberType);
    return *this;
  }
  record_writer& raw(const char* key, std::string_view json) {
    w_.Key(key);
    w_.RawValue(json.data(), json.size(), rapidjson::kArrayType);
    return *this;
  }
  std::string done() {
    w_.EndObject();
    return std::string(buf_.GetString(), buf_.GetSize());
  }

 private:
  rapidjson::StringBuffer buf_;
  rapidjson::Writer<rapidjson::StringBuffer> w_;
};

std::optional<cents> money_of(const json::value& obj, const char* key) {
  auto d = json::get_number(obj, key);
  return d ? to_cents(*d) : std::nullopt;
}

} // namespace

std::string to_json(const order_record& o) {
  record_writer w;
  w.text("orderId", o.id).text("product", o.product).text("name", o.name);
  w.number("quantity", o.quantity).money("unitPrice", o.unit_price);
  w.text("currency", o.currency).money("total", o.total);
  if (!o.customer.empty())
    w.text("customer", o.customer);
  return w.text("status", o.status).done();
}

std::string to_json(const payment_record& p) {
  record_writer w;
  w.text("paymentId", p.id).text("orderId", p.order_id).money("amount", p.amount);
  return w.text("currency", p.currency).text("status", p.status).done();
}

std::string to_json(const shipment_record& s) {
  record_writer w;
  w.text("shipmentId", s.id).text("orderId", s.order_id).text("city", s.city);
  return w.text("status", s.status).done();
}

std::string to_json(const effect_record& e) {
  record_writer w;
  w.number("seq", e.seq).text("kind", e.kind).text("id", e.id);
  return w.text("idempotencyKey", e.idempotency_key).done();
}

std::string to_json(const stock_line& s) {
  record_writer w;
  return w.text("product", s.product).text("name", s.name).number("stock", s.stock).done();
}

std::string to_json(const std::vector<stock_line>& lines) {
  std::string list = "[";
  for (const auto& l : lines)
    list += (list.size() > 1 ? "," : "") + to_json(l);
  record_writer w;
  return w.raw("products", list + "]").done();
}

std::string error_json(std::string_view code, std::string_view message) {
  record_writer w;
  return w.text("error", code).text("message", message).done();
}

std::optional<order_record> order_from_json(std::string_view text) {
  auto doc = json::parse(text);
  if (!doc)
    return std::nullopt;
  auto id = json::get_string(*doc, "orderId"), product = json::get_string(*doc, "product"),
       name = json::get_string(*doc, "name"), currency = json::get_string(*doc, "currency"),
       status = json::get_string(*doc, "status");
  auto quantity = json::get_int(*doc, "quantity");
  auto unit = money_of(*doc, "unitPrice"), total = money_of(*doc, "total");
  if (!id || !product || !name || !currency || !status || !quantity || !unit || !total)
    return std::nullopt;
  return order_record{*id, *product, *name, *currency,
                      json::get_string(*doc, "customer").value_or(""), *quantity, *unit, *total,
                      *status};
}

std::optional<payment_record> payment_from_json(std::string_view text) {
  auto doc = json::parse(text);
  if (!doc)
    return std::nullopt;
  auto id = json::get_string(*doc, "paymentId"), order = json::get_string(*doc, "orderId"),
       currency = json::get_string(*doc, "currency"), status = json::get_string(*doc, "status");
  auto amount = money_of(*doc, "amount");
  if (!id || !order || !currency || !status || !amount)
    return std::nullopt;
  return payment_record{*id, *order, *currency, *amount, *status};
}

std::optional<shipment_record> shipment_from_json(std::string_view text) {
  auto doc = json::parse(text);
  if (!doc)
    return std::nullopt;
  auto id = json::get_string(*doc, "shipmentId"), order = json::get_string(*doc, "orderId"),
       city = json::get_string(*doc, "city"), status = json::get_string(*doc, "status");
  if (!id || !order || !city || !status)
    return std::nullopt;
  return shipment_record{*id, *order, *city, *status};
}

std::string encode_key_record(const key_record& k) {
  return std::to_string(k.status) + "\n" + std::to_string(k.request.size()) + "\n" + k.request
         + k.body;
}

std::optional<key_record> decode_key_record(std::string_view text) {
  auto first = text.find('\n');
  auto second = first == std::string_view::npos ? first : text.find('\n', first + 1);
  if (second == std::string_view::npos)
    return std::nullopt;
  try {
    key_record k;
    k.status = std::stoi(std::string(text.substr(0, first)));
    auto size = std::stoull(std::string(text.substr(first + 1, second - first - 1)));
    auto rest = text.substr(second + 1);
    if (size > rest.size())
      return std::nullopt;
    k.request = std::string(rest.substr(0, size));
    k.body = std::string(rest.substr(size));
    return k;
  } catch (const std::exception&) { // not a number: a damaged record
    return std::nullopt;
  }
}

} // namespace eventide::shop
