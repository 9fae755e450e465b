// The shop's settings from the command line, shared by `eventide shop serve` and the nodes
// that run the shop in-process (the embedded default): its store in DATA_DIR/shop.
#pragma once

#include "options.hpp"
#include "shop/service.hpp"

namespace eventide::cli {

/// From --data-dir, --products, --card-limit and --ship-to; a bad value is a usage_error.
shop::shop_settings shop_settings_of(const options& cfg);

} // namespace eventide::cli
