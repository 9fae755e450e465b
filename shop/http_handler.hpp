// The shop service on HTTP: maps net::http_request to shop_request (the Idempotency-Key
// header) and shop_response back (Idempotent-Replayed: true on a replay).
#pragma once

#include <memory>

#include "net/http_server.hpp"
#include "shop/service.hpp"

namespace eventide::shop {

/// The handler to give net::http_server::start.
net::http_handler make_shop_http_handler(std::shared_ptr<shop_service> shop);

/// Server settings fit for the shop: `host`, `port`, and the shop's body limit.
net::http_server_settings shop_server_settings(std::string host, int port);

} // namespace eventide::shop
