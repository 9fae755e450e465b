// Approvals and cancellation end to end on the embedded log (issue 16, DESIGN §15): a charge
// over the threshold waits for a person; approved it runs, rejected or timed out it fails and
// the order is cancelled; a turn cancelled mid-plan starts nothing new and undoes what it did.
// The shop's effects are read from its own store after the pipeline stopped.
#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <thread>

#include "core/event_ids.hpp"
#include "tests/e2e/harness.hpp"
#include "tests/e2e/shop_store.hpp"

using namespace eventide;
using namespace eventide::testing;

namespace {

std::vector<std::string> shop_effects(const std::string& data_dir) {
  return read_shop(data_dir).effects;
}

// Waits (in the background) until the conversation shows `type`, then writes `p` for it.
std::future<void> when_seen(pipeline& p, const std::string& conversation, const char* type,
                            events::payload what) {
  return std::async(std::launch::async, [&p, conversation, type, what] {
    for (int i = 0; i < 500; ++i) {
      if (p.read(conversation).count(type) > 0) {
        events::event e;
        e.subject = conversation;
        e.source = "eventide/test";
        e.time_ms = now_ms();
        e.data = what;
        e.id = core::deterministic_id(conversation, e.data) + "/1";
        p.produce(e);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
}

std::string first_line(const conversation_trace& t) {
  REQUIRE(t.answer());
  return t.answer()->answer.substr(0, t.answer()->answer.find('\n'));
}

} // namespace

TEST_CASE("e2e: a charge over the threshold runs once the asker approves it", "[approval]") {
  temp_dir dir;
  {
    node_options opts;
    opts.shop.card_limit_usd = 10000; // the card would take it: the approval decides
    pipeline p{dir.path, opts};
    auto decided = when_seen(p, "yes", "ApprovalRequested",
                             events::approval_submitted{"s2", true, "tester", "for the team"});
    auto t = p.ask("yes", "Buy 2 Nimbus Pro");
    decided.get();
    INFO(t.answer()->answer);
    CHECK(first_line(t) == "Done: ordered 2 x Nimbus Pro (order o-1, 3698 USD); charged 3698 USD (payment p-1).");
    auto seq = t.sequence();
    auto at = [&](const std::string& type) {
      return std::find(seq.begin(), seq.end(), type) - seq.begin();
    };
    CHECK(at("ApprovalRequested") < at("ApprovalSubmitted"));
    CHECK(at("ApprovalSubmitted") < at("ApprovalGranted"));
    CHECK(at("ApprovalGranted") < at("ToolInvocationResulted:s2"));
    CHECK(t.count("ApprovalGranted") == 1);
  }
  CHECK(shop_effects(dir.path) == std::vector<std::string>{"order_placed yes/1/s1",
                                                           "payment_charged yes/1/s2"});
}

TEST_CASE("e2e: a rejected charge never runs and the order is cancelled", "[approval]") {
  temp_dir dir;
  {
    pipeline p{dir.path};
    auto decided = when_seen(p, "no", "ApprovalRequested",
                             events::approval_submitted{"s2", false, "tester", "too expensive"});
    auto t = p.ask("no", "Buy 2 Nimbus Pro");
    decided.get();
    CHECK(first_line(t)
          == "I could not complete this request: step s2 (chargePayment) was not run: approval "
             "denied by tester: too expensive. Done before that: ordered 2 x Nimbus Pro (order "
             "o-1, 3698 USD). Undone: cancelled order o-1 (items back in stock).");
    CHECK(t.count("ApprovalDenied") == 1);
    CHECK(t.count("PlanCompensated") == 1);
  }
  CHECK(shop_effects(dir.path) == std::vector<std::string>{"order_placed no/1/s1",
                                                           "order_cancelled no/compensate/s1"});
}

TEST_CASE("e2e: an approval nobody decides times out as a denial", "[approval]") {
  temp_dir dir;
  {
    node_options opts;
    opts.policy.approval_timeout_ms = 300;
    pipeline p{dir.path, opts};
    auto t = p.ask("late", "Buy 2 Nimbus Pro");
    CHECK(first_line(t)
          == "I could not complete this request: step s2 (chargePayment) was not run: no decision "
             "within approval-timeout (300 ms). Done before that: ordered 2 x Nimbus Pro (order o-1, "
             "3698 USD). Undone: cancelled order o-1 (items back in stock).");
    for (auto& e : t.conversation_events)
      if (auto d = std::get_if<events::approval_denied>(&e.data))
        CHECK(d->user_id.empty());
  }
  CHECK(shop_effects(dir.path) == std::vector<std::string>{"order_placed late/1/s1",
                                                           "order_cancelled late/compensate/s1"});
}

TEST_CASE("e2e: a decision from someone else is dead-lettered and the step keeps waiting", "[approval]") {
  temp_dir dir;
  node_options opts;
  opts.policy.approval_timeout_ms = 1500;
  pipeline p{dir.path, opts};
  auto forged = when_seen(p, "who", "ApprovalRequested",
                          events::approval_submitted{"s2", true, "mallory", ""});
  auto t = p.ask("who", "Buy 2 Nimbus Pro");
  forged.get();
  CHECK(t.count("ApprovalGranted") == 0);
  CHECK(t.count("ApprovalDenied") == 1); // the timeout, not mallory
  CHECK(t.count("ToolInvocationResulted") == 2); // the order and its cancellation: no charge
}

TEST_CASE("e2e: a turn cancelled while it waits starts nothing new and undoes the order", "[cancel]") {
  temp_dir dir;
  {
    pipeline p{dir.path};
    auto stop = when_seen(p, "stop", "ApprovalRequested",
                          events::cancel_requested{"tester", "changed my mind"});
    auto t = p.ask("stop", "Buy 2 Nimbus Pro and ship them to Berlin");
    stop.get();
    CHECK(first_line(t)
          == "I could not complete this request: the turn was cancelled by tester: changed my "
             "mind. Done before that: ordered 2 x Nimbus Pro (order o-1, 3698 USD). Undone: "
             "cancelled order o-1 (items back in stock).");
    CHECK(t.count("TurnCancelled") == 1);
    for (auto& e : t.tool_requests)
      if (auto r = std::get_if<events::tool_invocation_requested>(&e.data))
        CHECK((r->tool == "placeOrder" || r->tool == "cancelOrder"));
  }
  CHECK(shop_effects(dir.path) == std::vector<std::string>{"order_placed stop/1/s1",
                                                           "order_cancelled stop/compensate/s1"});
}
