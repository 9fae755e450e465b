// What the plan-state tests share (plan_state_*_test.cpp): the design plan, results and
// requests of conversation "c1", a harness that feeds a fold and collects what it decides, and
// the digest of a fold after a snapshot round trip.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "core/backoff.hpp"
#include "core/plan_state.hpp"
#include "model/ids.hpp"
#include "schemas/codec.hpp"

namespace eventide::testing {

using namespace eventide::core;

inline const std::string conv = "c1";

inline const char* const design_plan = R"({ "steps": [
    { "id": "s1", "tool": "getProductInformation", "args": { "query": "Aurora X1 laptop price" } },
    { "id": "s2", "tool": "exchangeRate",
      "args": { "from": "USD", "to": "EUR", "amount": "{{steps.s1.result.price}}" } },
    { "id": "s3", "tool": "weather", "args": { "city": "Berlin" } } ],
  "finalAnswerRequired": true })";

inline std::string inv(const std::string& step, int version = 1) {
  return make_invocation_id(conv, version, step).get();
}

inline events::tool_invocation_resulted ok_result(const std::string& step,
                                                  const std::string& tool,
                                                  const std::string& result, int attempt = 1) {
  events::tool_invocation_resulted r;
  r.invocation_id = inv(step);
  r.attempt = attempt;
  r.step_id = step;
  r.tool = tool;
  r.ok = true;
  r.result_json = result;
  return r;
}

inline events::tool_invocation_resulted error_result(const std::string& step,
                                                     const std::string& tool,
                                                     const std::string& error, bool retryable,
                                                     int attempt) {
  events::tool_invocation_resulted r;
  r.invocation_id = inv(step);
  r.attempt = attempt;
  r.step_id = step;
  r.tool = tool;
  r.ok = false;
  r.result_json = "null";
  r.error = error;
  r.retryable = retryable;
  return r;
}

// Drives one live state the way the orchestrator actor does, and records the log it produces:
// every input event and every decided event (which comes back from the log and is applied).
struct harness {
  explicit harness(orchestration_policy p = {}) : policy(p), live(conv, p) {}

  orchestration_policy policy;
  conversation_state live;
  std::vector<events::event> log;

  events::event wrap(events::payload p, int64_t t) {
    return events::event{"e" + std::to_string(log.size() + 1), "eventide/test/n1", t, conv, "", "",
                         std::move(p)};
  }

  void feed(events::payload p, int64_t t) {
    log.push_back(wrap(std::move(p), t));
    live.apply(log.back());
  }

  void plan(const std::string& plan_json, int version = 1, int64_t t = 0) {
    events::plan_generated g;
    g.plan_version = version;
    g.plan_json = plan_json;
    g.planner_provider = "offline";
    feed(g, t);
  }

  std::vector<events::payload> decide(int64_t now) {
    auto out = live.decide(now);
    // Everything decided is already in the state: applying it from the log changes nothing.
    auto before = live.digest();
    for (const auto& p : out) {
      log.push_back(wrap(p, now));
      live.apply(log.back());
    }
    CHECK(live.digest() == before);
    return out;
  }

  std::string replay_digest(const std::vector<events::event>& events) const {
    conversation_state fresh(conv, policy);
    for (const auto& e : events)
      fresh.apply(e);
    return fresh.digest();
  }
};

// The digest of a fold after a trip through its snapshot (with the real codec); the restored
// fold's snapshot is the same text.
inline std::string snapshot_digest(const conversation_state& s, const orchestration_policy& p) {
  auto text = s.snapshot([](const events::event& e) {
    auto r = events::encode(e);
    REQUIRE(r.ok());
    return *r;
  });
  auto back = conversation_state::restore(conv, p, text,
                                          [](std::string_view b) { return events::decode(b); });
  REQUIRE(back.ok());
  CHECK(back->snapshot([](const events::event& e) { return events::encode(e).value(); }) == text);
  return back->digest();
}

template <class T>
inline const T& as(const events::payload& p) {
  const T* v = std::get_if<T>(&p);
  REQUIRE(v != nullptr);
  return *v;
}

inline const step_state& step(const conversation_state& s, const std::string& id) {
  auto it = std::find_if(s.steps().begin(), s.steps().end(),
                         [&](const step_state& x) { return x.step.id == id; });
  REQUIRE(it != s.steps().end());
  return *it;
}

} // namespace eventide::testing
