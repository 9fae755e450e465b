#include "shop/tools.hpp"

#include <algorithm>
#include <cctype>
#include <optional>

#include "core/json.hpp"
#include "providers/tool_args.hpp"

namespace eventide::shop {
namespace {

// How a tool's args become a shop request: a POST of the args to a fixed path, or a POST to
// the path of the one id it names.
struct shop_route {
  const char* tool;
  const char* path;     // "/orders", or "/orders/{}/cancel" with the id put in place of {}
  const char* id_arg;   // the arg holding that id; nullptr: the args are the body
};

constexpr shop_route routes[] = {
  {"placeOrder", "/orders", nullptr},
  {"chargePayment", "/payments", nullptr},
  {"shipOrder", "/shipments", nullptr},
  {"cancelOrder", "/orders/{}/cancel", "orderId"},
  {"refundPayment", "/payments/{}/refund", "paymentId"},
  {"cancelShipment", "/shipments/{}/cancel", "shipmentId"},
};

const shop_route* route_of(const std::string& name) {
  for (const auto& r : routes)
    if (name == r.tool)
      return &r;
  return nullptr;
}

// An id goes into a URL path: only the characters the shop's ids are made of.
bool plain_id(const std::string& id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

using providers::tool_output;

class shop_tool final : public providers::tool {
 public:
  shop_tool(const shop_route& route, std::shared_ptr<shop_client> shop,
            std::shared_ptr<providers::provider_limits> limits)
      : route_(route), shop_(std::move(shop)), limits_(std::move(limits)) {}

  std::string name() const override { return route_.tool; }

  tool_output invoke(const std::string&) override {
    return tool_output::permanent_error(name() + ": an effect runs only for an invocation "
                                        "(its id is the Idempotency-Key)");
  }

  tool_output invoke_for(const std::string& invocation_id, const std::string& args_json) override {
    auto args = providers::parse_tool_args(name(), args_json);
    if (!args)
      return tool_output::permanent_error(args.error());
    shop_request request;
    request.method = "POST";
    request.idempotency_key = invocation_id;
    request.path = route_.path;
    if (route_.id_arg) {
      auto id = json::get_string(*args, route_.id_arg);
      if (!id || !plain_id(*id))
        return tool_output::permanent_error(name() + ": '" + route_.id_arg
                                            + "' must be a shop id such as o-12");
      request.path.replace(request.path.find("{}"), 2, *id);
      request.body = "{}";
    } else {
      request.body = args_json;
    }
    std::optional<providers::provider_limits::permit> permit;
    if (limits_)
      permit.emplace(limits_->acquire("shop")); // waits; never drops the call
    auto response = shop_->call(request);
    if (is_transport_failure(response))
      return tool_output::transient_error("shop " + shop_->describe() + " did not answer: "
                                          + response.body);
    auto body = json::parse(response.body);
    if (response.status >= 200 && response.status < 300 && body && body->IsObject()) {
      auto& a = body->GetAllocator();
      body->RemoveMember("source");
      body->RemoveMember("offline");
      if (shop_->describe() == "in-process") {
        body->AddMember("offline", true, a);
        body->AddMember("label", "in-process shop (offline)", a);
      } else {
        body->AddMember("source", json::str("shop " + shop_->describe(), a), a);
      }
      return tool_output::success(json::dump(*body));
    }
    std::string why = "HTTP " + std::to_string(response.status);
    if (body && body->IsObject()) {
      auto error = json::get_string(*body, "error").value_or("");
      auto message = json::get_string(*body, "message").value_or("");
      if (!error.empty())
        why = error + (message.empty() ? "" : ": " + message);
    }
    if (response.status >= 500 || response.status == 429)
      return tool_output::transient_error("shop: " + why);
    return tool_output::permanent_error(why);
  }

 private:
  const shop_route& route_;
  std::shared_ptr<shop_client> shop_;
  std::shared_ptr<providers::provider_limits> limits_;
};

} // namespace

bool is_shop_tool(const std::string& name) { return route_of(name) != nullptr; }

std::unique_ptr<providers::tool> make_shop_tool(const std::string& name,
                                     std::shared_ptr<shop_client> shop,
                                     std::shared_ptr<providers::provider_limits> limits) {
  const shop_route* route = route_of(name);
  if (!route || !shop)
    return nullptr;
  return std::make_unique<shop_tool>(*route, std::move(shop), std::move(limits));
}

} // namespace eventide::shop
