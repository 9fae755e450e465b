#include "providers/plan_order.hpp"

#include <cctype>
#include <regex>

#include "core/text.hpp"

namespace eventide::providers {
namespace {

std::string lowered(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The quantity written just before the product's name: "2", "-2", "two", "a"; 1 when none.
double quantity_before(const std::string& low, size_t product_at) {
  static const std::regex number(R"((-?\d+(?:\.\d+)?|an?|one|two|three|four|five|six|seven|eight|nine|ten)\s+(?:x\s+)?(?:of\s+)?(?:the\s+)?$)");
  std::smatch m;
  std::string head = low.substr(0, product_at);
  if (!std::regex_search(head, m, number))
    return 1;
  static const char* const words[] = {"one", "two", "three", "four", "five",
                                      "six", "seven", "eight", "nine", "ten"};
  std::string q = m.str(1);
  for (int i = 0; i < 10; ++i)
    if (q == words[i])
      return i + 1;
  if (q == "a" || q == "an")
    return 1;
  return std::stod(q);
}

} // namespace

namespace {

// The order verb at the start of an imperative, or nullopt; and whether the question asks a
// price instead ("Buy 2 Sonora Studio: total in USD?").
std::optional<size_t> order_verb_at(const std::string& low) {
  // An imperative only: "I want to buy three Tidal Buds" may be a price question, and an order
  // is not placed on a guess.
  static const std::regex verb(
    R"(^\s*(?:please\s+)?(?:(?:can|could|would) you\s+(?:please\s+)?)?(order|buy|purchase)\b)");
  static const std::regex asks_price(
    R"(\b(how much|how many|total|totals|cost|costs|price|prices|priced|what|what's|which|if i|in order to|order of)\b)");
  std::smatch v;
  if (!std::regex_search(low, v, verb) || std::regex_search(low, asks_price))
    return std::nullopt;
  return static_cast<size_t>(v.position(0));
}

// "ship them to Berlin", "deliver it to Atlantis": the place after "to" as written, so an
// unknown one reaches the shop and is said to be unknown.
std::string destination_in(const std::string& question) {
  static const std::regex ship(
    R"(\b(?:ship|send|deliver)\w*\b(?:\s+\w+){0,3}?\s+to\s+([A-Z][A-Za-z'-]+(?:\s+[A-Z][A-Za-z'-]+)?))");
  std::smatch s;
  return std::regex_search(question, s, ship) ? s.str(1) : std::string();
}

} // namespace

std::optional<order_choice> order_choice_in(const std::string& question, const planner_context& ctx) {
  const std::string low = lowered(question);
  static const std::regex choice(R"(\b(cheaper|cheapest|less expensive|more expensive|dearer|pricier)\b)");
  std::smatch c;
  if (!order_verb_at(low) || !std::regex_search(low, c, choice))
    return std::nullopt;
  auto entities = find_entities(question, ctx);
  if (entities.products.size() < 2)
    return std::nullopt;
  order_choice out;
  out.products = entities.products;
  out.cheapest = c.str(1) == "cheaper" || c.str(1) == "cheapest" || c.str(1) == "less expensive";
  out.order.quantity = quantity_before(low, static_cast<size_t>(c.position(0)));
  out.order.city = destination_in(question);
  if (!entities.currencies.empty())
    out.order.currency = entities.currencies.front();
  return out;
}

std::optional<order_request> order_in(const std::string& question, const planner_context& ctx) {
  const std::string low = lowered(question);
  auto verb_at = order_verb_at(low);
  if (!verb_at)
    return std::nullopt;
  auto entities = find_entities(question, ctx);
  if (entities.products.size() != 1)
    return std::nullopt;
  order_request order;
  order.product = entities.products.front();
  auto at = low.find(lowered(order.product));
  if (at == std::string::npos || at < *verb_at)
    return std::nullopt; // the product comes before the verb: not an order of it
  order.quantity = quantity_before(low, at);
  order.city = destination_in(question);
  if (!entities.currencies.empty())
    order.currency = entities.currencies.front();
  return order;
}

void add_order_steps(const order_request& order, plan_builder& plan) {
  auto placed = plan.add("placeOrder", {{"product", order.product}, {"quantity", order.quantity}});
  std::string amount = ref(placed, "total");
  std::string currency = ref(placed, "currency");
  if (!order.currency.empty()) {
    auto converted = plan.add("exchangeRate", {{"from", ref(placed, "currency")},
                                               {"to", order.currency},
                                               {"amount", ref(placed, "total")}});
    amount = ref(converted, "converted");
    currency = order.currency;
  }
  auto paid = plan.add("chargePayment",
                       {{"orderId", ref(placed, "orderId")}, {"amount", amount}, {"currency", currency}});
  if (!order.city.empty())
    plan.add("shipOrder", {{"orderId", ref(placed, "orderId")}, {"city", order.city}}, {paid});
}

} // namespace eventide::providers
