// What a role's reader refuses among records that decode (actors/node.hpp, refusal()): events
// on another topic than their type's, and requests for a tool no tool group serves.
#include <catch2/catch.hpp>

#include "actors/node.hpp"
#include "core/event_ids.hpp"

using namespace eventide;

namespace {

events::event event_of(events::payload p) {
  events::event e;
  e.subject = "c1";
  e.id = core::deterministic_id("c1", p);
  e.source = "eventide/test";
  e.data = std::move(p);
  return e;
}

storage::record on(const std::string& topic) {
  storage::record r;
  r.topic = topic;
  r.key = "c1";
  return r;
}

events::tool_invocation_requested request(const std::string& tool) {
  return {"c1/1/s1", 1, "s1", tool, "{}", 0};
}

} // namespace

TEST_CASE("refusal: an event belongs on its type's topic", "[refusal]") {
  auto plan = event_of(events::plan_generated{1, "{}", "offline", "rule-based", 0});
  auto& router = role_spec_of("router");
  CHECK_FALSE(refusal(role_spec_of("orchestrator"), "", on("conversation-events"), plan));
  CHECK(refusal(router, "", on("user-commands"), plan)
        == std::optional<std::string>{"PlanGenerated belongs on 'conversation-events', not on "
                                      "'user-commands'"});
  // With a topic prefix, the names in the reason are without it.
  CHECK(refusal(router, "t1-", on("t1-user-commands"), plan)
        == std::optional<std::string>{"PlanGenerated belongs on 'conversation-events', not on "
                                      "'user-commands'"});
  CHECK_FALSE(refusal(router, "t1-", on("t1-conversation-events"), plan));
  auto req = event_of(request("math"));
  CHECK(refusal(role_spec_of("worker-math"), "", on("conversation-events"), req)
        == std::optional<std::string>{"ToolInvocationRequested belongs on "
                                      "'tool-invocation-requests', not on 'conversation-events'"});
}

TEST_CASE("refusal: the orchestrator's reader refuses a request for a tool nobody serves",
          "[refusal]") {
  auto& orchestrator = role_spec_of("orchestrator");
  for (auto& w : worker_roles()) {
    INFO(w);
    CHECK_FALSE(refusal(orchestrator, "", on("tool-invocation-requests"),
                        event_of(request(w.substr(7)))));
  }
  auto why = refusal(orchestrator, "", on("tool-invocation-requests"), event_of(request("teleport")));
  REQUIRE(why);
  CHECK(*why == "no tool group serves tool 'teleport' (served: getProductInformation, "
                "ragGeneration, generalChat, math, weather, exchangeRate, "
                "orchestrationSynthesis, placeOrder, chargePayment, shipOrder, cancelOrder, "
                "refundPayment, cancelShipment)");
  // Tool groups pass over other tools' requests before decoding (peek_requested_tool); what
  // reaches them is refused only for its topic.
  CHECK_FALSE(refusal(role_spec_of("worker-math"), "", on("tool-invocation-requests"),
                      event_of(request("teleport"))));
}
