// The shop's tools (DESIGN §15): placeOrder, chargePayment, shipOrder and the compensations
// that undo them, cancelOrder, refundPayment, cancelShipment. Each is one call of the shop's
// HTTP API (docs/shop-api.md) with the invocation id as its Idempotency-Key, through a
// shop_client: the shop in this process (the embedded default, offline) or a shop server.
#pragma once

#include <memory>
#include <string>

#include "providers/limits.hpp"
#include "providers/tool.hpp"
#include "shop/client.hpp"

namespace eventide::shop {

/// Whether `name` is one of the six shop tools.
bool is_shop_tool(const std::string& name);

/// The shop tool `name` (null for another name). Its result is the shop's answer (an order, payment or shipment) with
/// "source" (where the shop is) and, for the in-process shop, "offline": true. A refusal by the
/// shop (4xx: out of stock, card declined, no shipping, ...) is a permanent error
/// "<error>: <message>"; no answer, a 5xx or a 429 is retryable (the same key makes it safe).
/// `limits` (optional): each call waits for the "shop" provider's limits first.
std::unique_ptr<providers::tool> make_shop_tool(const std::string& name,
                                     std::shared_ptr<shop_client> shop,
                                     std::shared_ptr<providers::provider_limits> limits = nullptr);

} // namespace eventide::shop
