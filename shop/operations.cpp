// The shop's effects: placing and cancelling orders, charging and refunding payments, booking
// and cancelling shipments. Each checks its request against the store and, when it applies,
// adds its writes and its effect record to the mutation (written in one batch by service.cpp).
#include <cstdlib>

#include "core/text.hpp"
#include "shop/service_internal.hpp"

namespace eventide::shop {

namespace {

// A non-blank string member, or nullopt.
std::optional<std::string> required_text(const json::value& body, const char* member) {
  auto v = json::get_string(body, member);
  if (!v || core::trim(*v).empty())
    return std::nullopt;
  return v;
}

reply missing_field(const char* member, const char* what) {
  return error_reply(400, "bad_request", std::string("\"") + member + "\" must be " + what);
}

reply unknown_order(const std::string& id) {
  return error_reply(404, "unknown_order", "unknown order '" + printable(id) + "'");
}

// An order with an active shipment cannot be cancelled or refunded: the goods are on their way.
std::optional<reply> refuse_if_shipped(const shop_service::impl& shop, const std::string& order_id) {
  if (auto shipment = shop.get("shipped/" + order_id))
    return error_reply(409, "shipped", "order " + order_id + " has an active shipment " + *shipment
                                           + "; cancel the shipment first");
  return std::nullopt;
}

} // namespace

reply place_order(mutation& m, const json::value& body) {
  auto name = required_text(body, "product");
  if (!name)
    return missing_field("product", "a product id or name");
  auto q = body.FindMember("quantity");
  if (q == body.MemberEnd() || !q->value.IsInt64() || q->value.GetInt64() <= 0)
    return missing_field("quantity", "a whole number above 0");
  std::string customer;
  if (auto c = body.FindMember("customer"); c != body.MemberEnd()) {
    if (!c->value.IsString())
      return missing_field("customer", "a string");
    customer.assign(c->value.GetString(), c->value.GetStringLength());
  }
  auto product = m.shop.find_product(*name);
  if (!product)
    return error_reply(404, "unknown_product", "unknown product '" + *name + "'");
  long long quantity = q->value.GetInt64();
  long long stock = m.shop.number_at("stock/" + product->id);
  if (quantity > stock)
    return error_reply(409, "out_of_stock",
                       (stock == 0 ? product->name + " is out of stock"
                                   : "only " + std::to_string(stock) + " " + product->name + " left")
                           + ", " + std::to_string(quantity) + " asked");
  order_record o{m.next_id("o"), product->id, product->name, product->currency, customer,
                 quantity, product->price, product->price * quantity, "placed"};
  m.put("order/" + o.id, to_json(o));
  m.put("stock/" + product->id, std::to_string(stock - quantity));
  m.effect("order_placed", o.id);
  return reply{201, to_json(o)};
}

reply cancel_order(mutation& m, const std::string& order_id) {
  auto o = m.shop.order(order_id);
  if (!o)
    return unknown_order(order_id);
  if (o->status == "cancelled")
    return reply{200, to_json(*o)}; // already done: same answer, stock restored only once
  if (auto refused = refuse_if_shipped(m.shop, order_id))
    return *refused;
  o->status = "cancelled";
  m.put("order/" + o->id, to_json(*o));
  m.put("stock/" + o->product, std::to_string(m.shop.number_at("stock/" + o->product) + o->quantity));
  m.effect("order_cancelled", o->id);
  return reply{200, to_json(*o)};
}

reply charge_payment(mutation& m, const json::value& body) {
  auto order_id = required_text(body, "orderId");
  if (!order_id)
    return missing_field("orderId", "an order id");
  auto a = body.FindMember("amount");
  if (a == body.MemberEnd() || !a->value.IsNumber())
    return missing_field("amount", "a number");
  auto amount = to_cents(a->value.GetDouble());
  if (!amount || *amount <= 0)
    return missing_field("amount", "above 0");
  auto currency_given = required_text(body, "currency");
  if (!currency_given)
    return missing_field("currency", "a currency code like USD");
  auto currency = core::trim(*currency_given);
  for (auto& c : currency)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));

  const auto& rates = m.shop.rates;
  auto o = m.shop.order(*order_id);
  if (!o)
    return unknown_order(*order_id);
  if (!rates.knows(currency))
    return error_reply(400, "unknown_currency", "unknown currency '" + *currency_given + "'");
  if (o->status == "cancelled")
    return error_reply(409, "order_cancelled", "order " + o->id + " is cancelled");
  if (auto paid = m.shop.get("paid/" + o->id))
    return error_reply(409, "already_paid", "order " + o->id + " is already paid (" + *paid + ")");
  auto expected = rates.convert(o->total, o->currency, currency);
  if (!expected)
    throw store_failure{"cannot convert " + o->currency + " to " + currency};
  if (std::llabs(*amount - *expected) > 1) // a cent of rounding either way
    return error_reply(400, "amount_mismatch",
                       "amount " + format_cents(*amount) + " " + currency + " does not match order "
                           + o->id + ": expected " + format_cents(*expected) + " " + currency);
  auto usd = rates.convert(*amount, currency, "USD");
  if (!usd)
    throw store_failure{"cannot convert " + currency + " to USD"};
  if (*usd > m.shop.card_limit)
    return error_reply(402, "card_declined",
                       "card declined: " + format_cents(*usd) + " USD is over the limit of "
                           + format_cents(m.shop.card_limit) + " USD");
  payment_record p{m.next_id("p"), o->id, currency, *amount, "charged"};
  m.put("payment/" + p.id, to_json(p));
  m.put("paid/" + o->id, p.id);
  m.effect("payment_charged", p.id);
  return reply{201, to_json(p)};
}

reply refund_payment(mutation& m, const std::string& payment_id) {
  auto p = m.shop.payment(payment_id);
  if (!p)
    return error_reply(404, "unknown_payment", "unknown payment '" + printable(payment_id) + "'");
  if (p->status == "refunded")
    return reply{200, to_json(*p)}; // refunded once only
  if (auto refused = refuse_if_shipped(m.shop, p->order_id))
    return *refused;
  p->status = "refunded";
  m.put("payment/" + p->id, to_json(*p));
  if (m.shop.get("paid/" + p->order_id) == p->id)
    m.deletes.push_back("paid/" + p->order_id);
  m.effect("payment_refunded", p->id);
  return reply{200, to_json(*p)};
}

reply book_shipment(mutation& m, const json::value& body) {
  auto order_id = required_text(body, "orderId");
  if (!order_id)
    return missing_field("orderId", "an order id");
  auto city = required_text(body, "city");
  if (!city)
    return missing_field("city", "a city name");
  auto o = m.shop.order(*order_id);
  if (!o)
    return unknown_order(*order_id);
  auto served = m.shop.find_city(*city);
  if (!served)
    return error_reply(422, "no_shipping", "no shipping to " + core::trim(*city));
  if (o->status == "cancelled")
    return error_reply(409, "order_cancelled", "order " + o->id + " is cancelled");
  if (!m.shop.get("paid/" + o->id))
    return error_reply(409, "not_paid", "order " + o->id + " is not paid");
  if (auto shipped = m.shop.get("shipped/" + o->id))
    return error_reply(409, "already_shipped",
                       "order " + o->id + " already has shipment " + *shipped);
  shipment_record s{m.next_id("s"), o->id, *served, "booked"};
  m.put("shipment/" + s.id, to_json(s));
  m.put("shipped/" + o->id, s.id);
  m.effect("shipment_booked", s.id);
  return reply{201, to_json(s)};
}

reply cancel_shipment(mutation& m, const std::string& shipment_id) {
  auto s = m.shop.shipment(shipment_id);
  if (!s)
    return error_reply(404, "unknown_shipment", "unknown shipment '" + printable(shipment_id) + "'");
  if (s->status == "cancelled")
    return reply{200, to_json(*s)};
  s->status = "cancelled";
  m.put("shipment/" + s->id, to_json(*s));
  if (m.shop.get("shipped/" + s->order_id) == s->id)
    m.deletes.push_back("shipped/" + s->order_id);
  m.effect("shipment_cancelled", s->id);
  return reply{200, to_json(*s)};
}

} // namespace eventide::shop
