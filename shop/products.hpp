// What the shop reads at start: the products (names, prices, initial stock) from the
// front matter of products/*.md, and the exchange rates it checks foreign-currency payments with.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/outcome.hpp"
#include "shop/money.hpp"

namespace eventide::shop {

struct shop_product {
  std::string id, name, currency;
  cents price = 0;
  long long initial_stock = 0; // the `stock:` line; 0 when absent
};

/// The front matter of every products/*.md except README.md, sorted by id. Needs id, name,
/// price and currency; `stock`, when present, must be a whole number >= 0. Other keys are
/// ignored (they are the catalog's). Fails naming the file on a malformed one.
outcome<std::vector<shop_product>> load_shop_products(const std::string& dir);

/// Rates as config/exchange-rates.json has them: units of each currency per one `base`.
struct exchange_rates {
  std::string base;
  std::map<std::string, double> per_base; // the base itself included, at 1

  bool knows(const std::string& currency) const { return per_base.count(currency) > 0; }
  /// `amount` of `from` in `to`, rounded to the cent; nullopt when either is unknown.
  std::optional<cents> convert(cents amount, const std::string& from, const std::string& to) const;
};

/// Reads {"base": "EUR", "rates": {"USD": 1.087, ...}}; every rate must be a positive number.
outcome<exchange_rates> load_exchange_rates(const std::string& file);

} // namespace eventide::shop
