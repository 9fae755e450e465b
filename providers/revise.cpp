#include "providers/revise.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>
#include <vector>

#include "core/json.hpp"
#include "core/plan.hpp"
#include "providers/numbers.hpp"
#include "providers/plan_order.hpp"

namespace eventide::providers {

namespace {

// A product the question chooses among, with what its lookup observed.
struct candidate {
  std::string step;
  std::string name;
  double price = 0;
  std::string currency;
  std::optional<double> converted; // into the asked currency, by an earlier revision
};

std::string result_ref(const std::string& step, const std::string& path) {
  return "{{steps." + step + ".result." + path + "}}";
}

revision_result finish_turn(std::string why) {
  revision_result r;
  r.rationale = std::move(why);
  return r;
}

std::string priced(double v, const std::string& currency) {
  return format_money(v) + " " + currency;
}

// The product lookups of a plan and what they found, with the conversions into `currency` an
// earlier revision made of them; `ids` gets every step id the plan used.
std::vector<candidate> candidates_of(const core::plan& plan, const json::value& observed,
                                     const std::string& currency, std::set<std::string>& ids) {
  std::vector<candidate> found;
  for (const auto& step : plan.steps) {
    ids.insert(step.id);
    const json::value* result = json::find_path(observed, step.id);
    if (!result || !result->IsObject())
      continue;
    if (step.tool == "getProductInformation") {
      auto price = json::get_number(*result, "price");
      auto cur = json::get_string(*result, "currency");
      auto name = json::get_string(*result, "name");
      if (price && cur && name)
        found.push_back({step.id, *name, *price, *cur, std::nullopt});
    } else if (step.tool == "exchangeRate") {
      auto args = json::parse(step.args_json);
      auto converted = json::get_number(*result, "converted");
      if (!args || !converted || json::get_string(*args, "to").value_or("") != currency)
        continue;
      for (auto& c : found)
        if (json::get_string(*args, "amount").value_or("") == result_ref(c.step, "price"))
          c.converted = converted;
    }
  }
  return found;
}

// "Buy the cheaper of A and B ...": convert the prices to one currency first when they differ,
// then order the one chosen with the order's steps.
revision_result revise_order_choice(const order_choice& choice, std::vector<candidate> found,
                                    std::set<std::string> ids) {
  const std::string currency =
    choice.order.currency.empty() ? found.front().currency : choice.order.currency;
  const char* which = choice.cheapest ? "cheaper" : "more expensive";
  auto value = [&](const candidate& c) {
    return c.currency == currency ? c.price : c.converted.value_or(c.price);
  };
  bool comparable = std::all_of(found.begin(), found.end(), [&](const candidate& c) {
    return c.currency == currency || c.converted;
  });
  plan_builder plan(static_cast<int>(ids.size()) + 1);
  revision_result r;
  if (!comparable) {
    std::string currencies;
    for (auto& c : found) {
      if (currencies.find(c.currency) == std::string::npos)
        currencies += (currencies.empty() ? "" : ", ") + c.currency;
      if (c.currency != currency && !c.converted)
        plan.add("exchangeRate", {{"from", result_ref(c.step, "currency")}, {"to", currency},
                                  {"amount", result_ref(c.step, "price")}});
    }
    plan.then_decide();
    r.rationale = "the prices are in different currencies (" + currencies + "): converting them to "
                  + currency + " to compare";
    r.plan_json = plan.text();
    return r;
  }
  auto best = std::min_element(found.begin(), found.end(), [&](const candidate& x, const candidate& y) {
    return choice.cheapest ? value(x) < value(y) : value(x) > value(y);
  });
  std::string others;
  for (auto& c : found)
    if (c.step != best->step)
      others += (others.empty() ? "" : ", ") + priced(value(c), currency) + " for the " + c.name;
  r.rationale = "the " + best->name + " is " + which + ": " + priced(value(*best), currency)
                + " against " + others + "; ordering it";
  order_request order = choice.order;
  order.product = best->name;
  add_order_steps(order, plan);
  r.plan_json = plan.text();
  return r;
}

} // namespace

outcome<revision_result> revise_offline(const revision_input& in, const planner_context& ctx) {
  if (!in.failed_step.empty())
    return finish_turn("offline there is no other way to get what step " + in.failed_step
                  + " was for: " + in.reason);
  auto order = order_choice_in(in.question, ctx);
  auto choice = price_choice_of(in.question, ctx);
  if (!choice && !order)
    return finish_turn("nothing more to look up offline");
  auto plan = core::parse_plan(in.plan_json);
  auto observed = json::parse(in.observations_json);
  if (!plan || !observed || !observed->IsObject())
    return finish_turn("the plan or its results do not read as expected");

  std::set<std::string> ids;
  if (order) {
    // Conversions are into the order's currency, or the first product's when none is named.
    auto probe = candidates_of(*plan, *observed, "", ids);
    if (probe.size() < 2)
      return finish_turn("fewer than two prices were found to choose from");
    const std::string currency =
      order->order.currency.empty() ? probe.front().currency : order->order.currency;
    ids.clear();
    auto found = candidates_of(*plan, *observed, currency, ids); // fills ids: before the call
    return revise_order_choice(*order, std::move(found), ids);
  }
  // The product lookups and what they found; conversions an earlier revision made of them.
  std::vector<candidate> found = candidates_of(*plan, *observed, choice->currency, ids);
  if (found.size() < 2)
    return finish_turn("fewer than two prices were found to choose from");

  const char* which = choice->cheapest ? "cheaper" : "more expensive";
  auto better = [&](double a, double b) { return choice->cheapest ? a < b : a > b; };
  auto fresh_id = [&] {
    for (int n = static_cast<int>(ids.size()) + 1;; ++n)
      if (auto id = "s" + std::to_string(n); !ids.count(id)) {
        ids.insert(id);
        return id;
      }
  };
  auto step_object = [](json::document& doc, const std::string& id, const candidate& c,
                        const std::string& to) {
    auto& a = doc.GetAllocator();
    json::value args(rapidjson::kObjectType);
    args.AddMember("from", json::str(result_ref(c.step, "currency"), a), a);
    args.AddMember("to", json::str(to, a), a);
    args.AddMember("amount", json::str(result_ref(c.step, "price"), a), a);
    json::value step(rapidjson::kObjectType);
    step.AddMember("id", json::str(id, a), a);
    step.AddMember("tool", "exchangeRate", a);
    step.AddMember("args", args, a);
    return step;
  };

  bool all_converted = std::all_of(found.begin(), found.end(),
                                   [](const candidate& c) { return c.converted.has_value(); });
  if (all_converted) {
    // An earlier revision converted every price: the choice is made, the answer is in.
    auto best = std::min_element(found.begin(), found.end(), [&](const candidate& a, const candidate& b) {
      return better(*a.converted, *b.converted);
    });
    std::string others;
    for (auto& c : found)
      if (c.step != best->step)
        others += (others.empty() ? "" : ", ") + priced(*c.converted, choice->currency) + " ("
                  + priced(c.price, c.currency) + ") for the " + c.name;
    return finish_turn("the " + best->name + " is " + which + ": "
                       + priced(*best->converted, choice->currency) + " ("
                       + priced(best->price, best->currency) + ") against " + others);
  }
  bool one_currency = std::all_of(found.begin(), found.end(), [&](const candidate& c) {
    return c.currency == found.front().currency;
  });
  json::document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  json::value steps(rapidjson::kArrayType);
  revision_result r;
  if (one_currency) {
    auto best = std::min_element(found.begin(), found.end(), [&](const candidate& x, const candidate& y) {
      return better(x.price, y.price);
    });
    std::string others;
    for (auto& c : found)
      if (c.step != best->step)
        others += (others.empty() ? "" : ", ") + priced(c.price, c.currency) + " for the " + c.name;
    r.rationale = "the " + best->name + " is " + which + ": " + priced(best->price, best->currency)
                  + " against " + others;
    if (best->currency == choice->currency)
      return finish_turn(r.rationale); // already in the currency asked for
    steps.PushBack(step_object(doc, fresh_id(), *best, choice->currency), a);
  } else {
    // Prices in different currencies compare only once converted: convert them all, then
    // decide again.
    std::string currencies;
    for (auto& c : found) {
      if (currencies.find(c.currency) == std::string::npos)
        currencies += (currencies.empty() ? "" : ", ") + c.currency;
      if (!c.converted)
        steps.PushBack(step_object(doc, fresh_id(), c, choice->currency), a);
    }
    r.rationale = "the prices are in different currencies (" + currencies + "): converting them to "
                  + choice->currency + " to compare";
    doc.AddMember("next", "replan", a);
  }
  doc.AddMember("steps", steps, a);
  r.plan_json = json::dump(doc);
  return r;
}

} // namespace eventide::providers
