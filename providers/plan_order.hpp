// Orders in a question (DESIGN §15): "Order 2 Tidal Buds and ship them to Berlin", "Buy a
// Kestrel S5 and pay in EUR". The offline planner turns one into the shop's steps: place the
// order, convert its total when the user names another currency, charge it, and book the
// shipment after the payment.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "providers/plan_builder.hpp"
#include "providers/planner.hpp"

namespace eventide::providers {

struct order_request {
  std::string product;  // as the catalog names it
  double quantity = 1;  // as written: the shop refuses 0, negatives and fractions itself
  std::string city;     // empty: no shipment asked
  std::string currency; // empty: pay in the product's own currency
};

/// The order a question places, or nullopt when it does not place one: it starts with an order
/// verb (order, buy, purchase; after "please" or "can you"), names one catalog product after
/// it, and does not ask a price ("Buy 2 Sonora Studio: total in USD?" is a price question).
std::optional<order_request> order_in(const std::string& question, const planner_context& ctx);

/// The order's steps: placeOrder, [exchangeRate of the total], chargePayment, [shipOrder after
/// the payment].
void add_order_steps(const order_request& order, plan_builder& plan);

/// An order of the cheaper (or dearer) of two or more products: "Buy the cheaper of the Aurora
/// X1 and the Nimbus Pro and ship it to Berlin". The plan looks the prices up and then decides
/// (DESIGN §14); the revision orders the one chosen (providers/revise.cpp).
struct order_choice {
  std::vector<std::string> products; // as the catalog names them, in the question's order
  bool cheapest = true;
  order_request order; // product empty: the one chosen
};
std::optional<order_choice> order_choice_in(const std::string& question, const planner_context& ctx);

} // namespace eventide::providers
