// The shop service: opening the store, routing, the idempotency keys, and the GET routes.
#include "shop/service_internal.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>

#include "core/text.hpp"

namespace eventide::shop {

namespace {

enum class route_kind {
  none, health, stock_all, stock_one, effects,
  order_place, order_get, order_cancel,
  payment_charge, payment_get, payment_refund,
  shipment_book, shipment_get, shipment_cancel,
};

struct route {
  route_kind kind = route_kind::none;
  const char* method = "";
  std::string arg; // the id in the path
};

int hex_digit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

std::string percent_decoded(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    int hi = s[i] == '%' && i + 2 < s.size() ? hex_digit(s[i + 1]) : -1;
    int lo = hi >= 0 ? hex_digit(s[i + 2]) : -1;
    if (lo >= 0) {
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += s[i]; // not an escape: kept as sent
    }
  }
  return out;
}

// The path's segments (query dropped, empty segments skipped), percent-decoded.
std::vector<std::string> segments_of(std::string_view path) {
  path = path.substr(0, path.find('?'));
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= path.size()) {
    auto slash = path.find('/', start);
    auto end = slash == std::string_view::npos ? path.size() : slash;
    if (end > start)
      out.push_back(percent_decoded(path.substr(start, end - start)));
    start = end + 1;
  }
  return out;
}

route match_route(const std::vector<std::string>& seg) {
  auto n = seg.size();
  if (n == 0)
    return {};
  const auto& head = seg[0];
  if (n == 1 && head == "health")
    return {route_kind::health, "GET", ""};
  if (n == 1 && head == "effects")
    return {route_kind::effects, "GET", ""};
  if (head == "stock" && n <= 2)
    return n == 1 ? route{route_kind::stock_all, "GET", ""} : route{route_kind::stock_one, "GET", seg[1]};
  struct family {
    const char* name;
    route_kind create, get, action;
    const char* action_name;
  };
  static const family families[] = {
    {"orders", route_kind::order_place, route_kind::order_get, route_kind::order_cancel, "cancel"},
    {"payments", route_kind::payment_charge, route_kind::payment_get, route_kind::payment_refund, "refund"},
    {"shipments", route_kind::shipment_book, route_kind::shipment_get, route_kind::shipment_cancel, "cancel"},
  };
  for (const auto& f : families) {
    if (head != f.name)
      continue;
    if (n == 1)
      return {f.create, "POST", ""};
    if (n == 2)
      return {f.get, "GET", seg[1]};
    if (n == 3 && seg[2] == f.action_name)
      return {f.action, "POST", seg[1]};
  }
  return {};
}

// What a key remembers of a request: method, path and body (canonical JSON when it parses, so
// a client that re-serializes the same object is still "the same request").
std::string fingerprint(const shop_request& r) {
  std::string body = r.body;
  if (auto doc = json::parse(r.body); doc)
    body = json::dump(*doc);
  return r.method + " " + r.path.substr(0, r.path.find('?')) + "\n" + body;
}

bool valid_key(const std::string& key) {
  for (char c : key)
    if (c < 0x20 || c > 0x7e)
      return false;
  return true;
}

std::string padded(long long seq) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%016lld", seq);
  return buf;
}

reply get_record(const std::optional<std::string>& json, const char* what, const std::string& id) {
  if (!json)
    return error_reply(404, std::string("unknown_") + what,
                       std::string("unknown ") + what + " '" + printable(id) + "'");
  return reply{200, *json};
}

stock_line stock_line_of(const shop_service::impl& shop, const shop_product& p) {
  return stock_line{p.id, p.name, shop.number_at("stock/" + p.id)};
}

reply answer_get(shop_service::impl& shop, const route& r) {
  switch (r.kind) {
    case route_kind::health:
      return reply{200, "{\"status\":\"ok\"}"};
    case route_kind::stock_all: {
      std::vector<stock_line> lines;
      for (const auto& p : shop.products)
        lines.push_back(stock_line_of(shop, p));
      return reply{200, to_json(lines)};
    }
    case route_kind::stock_one: {
      auto p = shop.find_product(r.arg);
      if (!p)
        return error_reply(404, "unknown_product", "unknown product '" + printable(r.arg) + "'");
      return reply{200, to_json(stock_line_of(shop, *p))};
    }
    case route_kind::effects: {
      std::string list = "[";
      auto scanned = shop.store->scan("effect/", [&](const std::string&, const std::string& v) {
        list += (list.size() > 1 ? "," : "") + v;
      });
      if (!scanned)
        throw store_failure{scanned.error()};
      return reply{200, list + "]"};
    }
    case route_kind::order_get:
      return get_record(shop.get("order/" + r.arg), "order", r.arg);
    case route_kind::payment_get:
      return get_record(shop.get("payment/" + r.arg), "payment", r.arg);
    case route_kind::shipment_get:
      return get_record(shop.get("shipment/" + r.arg), "shipment", r.arg);
    default:
      return error_reply(404, "not_found", "no such route");
  }
}

reply answer_post(mutation& m, const route& r, const std::string& body) {
  switch (r.kind) {
    case route_kind::order_cancel:
      return cancel_order(m, r.arg);
    case route_kind::payment_refund:
      return refund_payment(m, r.arg);
    case route_kind::shipment_cancel:
      return cancel_shipment(m, r.arg);
    default:
      break;
  }
  auto doc = json::parse(body);
  if (!doc)
    return error_reply(400, "bad_request", "body is not valid JSON: " + doc.error());
  if (!doc->IsObject())
    return error_reply(400, "bad_request", "body must be a JSON object");
  switch (r.kind) {
    case route_kind::order_place:
      return place_order(m, *doc);
    case route_kind::payment_charge:
      return charge_payment(m, *doc);
    case route_kind::shipment_book:
      return book_shipment(m, *doc);
    default:
      return error_reply(404, "not_found", "no such route");
  }
}

shop_response respond(const reply& r) { return shop_response{r.status, r.body, false}; }

} // namespace

std::vector<std::string> default_shipping_cities() {
  return {"Berlin", "London", "Paris", "Madrid", "Rome",
          "Vienna", "Amsterdam", "New York", "Tokyo", "Sydney"};
}

std::string printable(std::string_view text) {
  std::string out(text);
  for (auto& c : out)
    if (c < 0x20 || c > 0x7e)
      c = '?';
  return out;
}

std::optional<std::string> shop_service::impl::get(const std::string& key) const {
  auto v = store->get(key);
  if (!v)
    throw store_failure{v.error()};
  return *v;
}

long long shop_service::impl::number_at(const std::string& key) const {
  auto v = get(key);
  if (!v)
    return 0;
  try {
    return std::stoll(*v);
  } catch (const std::exception&) {
    throw store_failure{"damaged number at " + key};
  }
}

std::optional<order_record> shop_service::impl::order(const std::string& id) const {
  auto text = get("order/" + id);
  if (!text)
    return std::nullopt;
  if (auto o = order_from_json(*text))
    return o;
  throw store_failure{"damaged order record " + id};
}

std::optional<payment_record> shop_service::impl::payment(const std::string& id) const {
  auto text = get("payment/" + id);
  if (!text)
    return std::nullopt;
  if (auto p = payment_from_json(*text))
    return p;
  throw store_failure{"damaged payment record " + id};
}

std::optional<shipment_record> shop_service::impl::shipment(const std::string& id) const {
  auto text = get("shipment/" + id);
  if (!text)
    return std::nullopt;
  if (auto s = shipment_from_json(*text))
    return s;
  throw store_failure{"damaged shipment record " + id};
}

const shop_product* shop_service::impl::find_product(std::string_view id_or_name) const {
  for (const auto& p : products)
    if (p.id == id_or_name)
      return &p;
  auto wanted = core::lower(core::trim(id_or_name));
  for (const auto& p : products)
    if (core::lower(p.name) == wanted || p.id == wanted)
      return &p;
  return nullptr;
}

std::optional<std::string> shop_service::impl::find_city(std::string_view city) const {
  auto wanted = core::lower(core::trim(city));
  for (const auto& c : settings.shipping_cities)
    if (core::lower(c) == wanted)
      return c;
  return std::nullopt;
}

std::string mutation::next_id(const std::string& prefix) {
  auto key = "counter/" + prefix;
  auto n = shop.number_at(key) + 1;
  put(key, std::to_string(n));
  return prefix + "-" + std::to_string(n);
}

void mutation::effect(const std::string& kind, const std::string& id) {
  auto seq = shop.number_at("counter/effect") + 1;
  put("counter/effect", std::to_string(seq));
  put("effect/" + padded(seq), to_json(effect_record{seq, kind, id, idempotency_key}));
}

shop_response shop_service::impl::answer(const shop_request& request) {
  auto r = match_route(segments_of(request.path));
  if (r.kind == route_kind::none)
    return respond(error_reply(404, "not_found",
                               "no route " + printable(request.method) + " "
                                   + printable(request.path.substr(0, request.path.find('?')))));
  if (request.method != r.method)
    return respond(error_reply(405, "method_not_allowed",
                               std::string("use ") + r.method + " for " + printable(request.path)));
  if (r.method == std::string("GET"))
    return respond(answer_get(*this, r));

  // A POST: bounded, keyed, and answered once per key.
  if (request.body.size() > max_body_bytes)
    return respond(error_reply(413, "body_too_large",
                               "the body is over " + std::to_string(max_body_bytes) + " bytes"));
  const auto& key = request.idempotency_key;
  if (key.empty())
    return respond(error_reply(400, "idempotency_key_required",
                               "every POST needs an Idempotency-Key header"));
  if (key.size() > max_idempotency_key_length || !valid_key(key))
    return respond(error_reply(400, "idempotency_key_invalid",
                               "an Idempotency-Key is 1 to "
                                   + std::to_string(max_idempotency_key_length)
                                   + " printable ASCII characters"));
  auto print = fingerprint(request);
  if (auto stored = get("key/" + key)) {
    auto k = decode_key_record(*stored);
    if (!k)
      throw store_failure{"damaged idempotency record"};
    if (k->request != print)
      return respond(error_reply(422, "idempotency_key_reused",
                                 "this Idempotency-Key was used for another request"));
    return shop_response{k->status, k->body, true};
  }

  mutation m{*this, key, {}, {}};
  auto result = answer_post(m, r, request.body);
  if (result.status >= 500)
    return respond(result); // nothing is remembered for a failure of the shop itself
  m.put("key/" + key, encode_key_record(key_record{print, result.status, result.body}));
  if (auto written = store->write(m.puts, m.deletes); !written)
    throw store_failure{written.error()};
  return respond(result);
}

shop_service::shop_service(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
shop_service::~shop_service() = default;

const shop_settings& shop_service::settings() const { return impl_->settings; }

shop_response shop_service::handle(const shop_request& request) {
  std::lock_guard<std::mutex> lk(impl_->mu);
  try {
    return impl_->answer(request);
  } catch (const store_failure& f) {
    return shop_response{500, error_json("store_failed", f.reason), false};
  }
}

outcome<std::unique_ptr<shop_service>> shop_service::open(shop_settings settings) {
  if (!(settings.card_limit_usd > 0) || !to_cents(settings.card_limit_usd))
    return fail("the card limit must be a positive number of USD");
  if (settings.shipping_cities.empty())
    return fail("the shop needs at least one shipping city");
  auto p = std::make_unique<impl>();
  p->card_limit = *to_cents(settings.card_limit_usd);
  auto products = load_shop_products(settings.products_dir);
  if (!products)
    return std::move(products).take_failure();
  p->products = std::move(*products);
  auto rates = load_exchange_rates(settings.exchange_rates_file);
  if (!rates)
    return std::move(rates).take_failure();
  p->rates = std::move(*rates);
  for (const auto& product : p->products)
    if (!p->rates.knows(product.currency))
      return fail("product " + product.id + " is priced in " + product.currency
                  + ", which the exchange rates do not know");
  if (!p->rates.knows("USD"))
    return fail("the exchange rates have no USD rate (the card limit is in USD)");
  auto store = storage::kv_store::open(settings.data_dir);
  if (!store)
    return std::move(store).take_failure();
  p->store = std::move(*store);
  p->settings = std::move(settings);

  // Seed the stock of products the store has never seen; the store is the truth afterwards.
  std::vector<std::pair<std::string, std::string>> seeds;
  for (const auto& product : p->products) {
    auto have = p->store->get("stock/" + product.id);
    if (!have)
      return std::move(have).take_failure();
    if (!*have)
      seeds.emplace_back("stock/" + product.id, std::to_string(product.initial_stock));
  }
  if (!seeds.empty())
    if (auto r = p->store->put(seeds); !r)
      return fail(r.error());
  return std::unique_ptr<shop_service>(new shop_service(std::move(p)));
}

} // namespace eventide::shop
