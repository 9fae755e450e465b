// The shop service on HTTP (see http_handler.hpp).
#include "shop/http_handler.hpp"

namespace eventide::shop {

net::http_handler make_shop_http_handler(std::shared_ptr<shop_service> shop) {
  return [shop](const net::http_request& in) {
    shop_request req{in.method, in.path, in.header("Idempotency-Key"), in.body};
    auto res = shop->handle(req);
    net::http_reply out;
    out.status = res.status;
    out.body = std::move(res.body);
    if (res.replayed)
      out.headers.emplace_back("Idempotent-Replayed", "true");
    return out;
  };
}

net::http_server_settings shop_server_settings(std::string host, int port) {
  net::http_server_settings s;
  s.host = std::move(host);
  s.port = port;
  s.body_limit = max_body_bytes;
  return s;
}

} // namespace eventide::shop
