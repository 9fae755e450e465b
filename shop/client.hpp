// How tools reach the shop: in the same process (tests, a single binary) or over HTTP (the
// shop as its own process). Both answer with a shop_response; status 0 means the shop gave no
// answer (connection refused, timeout, ...), with the reason in body: the caller may retry
// with the same idempotency key, which is safe by the shop's design.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "shop/service.hpp"

namespace eventide::shop {

class shop_client {
 public:
  virtual ~shop_client() = default;
  /// The shop's answer, or status 0 and the reason when there was none. Thread-safe.
  virtual shop_response call(const shop_request& request) = 0;
  /// Where the shop is, for messages: "in-process", "http://127.0.0.1:8700".
  virtual std::string describe() const = 0;
};

/// Calls a shop_service of this process directly.
class in_process_shop_client : public shop_client {
 public:
  explicit in_process_shop_client(std::shared_ptr<shop_service> shop) : shop_(std::move(shop)) {}
  shop_response call(const shop_request& request) override { return shop_->handle(request); }
  std::string describe() const override { return "in-process"; }

 private:
  std::shared_ptr<shop_service> shop_;
};

struct http_shop_client_settings {
  long connect_timeout_ms = 2000;
  long timeout_ms = 10000; // whole exchange, connect included
};

/// Calls the shop over HTTP (libcurl); connections are kept alive between calls.
class http_shop_client : public shop_client {
 public:
  /// `base_url`: "http://127.0.0.1:8700" (a trailing slash is dropped).
  explicit http_shop_client(std::string base_url, http_shop_client_settings settings = {});
  ~http_shop_client() override;
  shop_response call(const shop_request& request) override;
  std::string describe() const override { return base_url_; }

 private:
  struct handles; // idle curl handles, reused for keep-alive
  std::string base_url_;
  http_shop_client_settings settings_;
  std::unique_ptr<handles> handles_;
};

/// True for the status a shop_client gives when the shop did not answer.
inline bool is_transport_failure(const shop_response& r) { return r.status == 0; }

} // namespace eventide::shop
