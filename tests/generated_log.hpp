// A log of orchestrator records written by the real fold, for replay tests and the replay
// benchmark: 3-step plans of math steps, every `running_every`-th conversation left waiting on
// its second step, each conversation's records one after the other.
#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "actors/emit.hpp"
#include "core/plan_state.hpp"
#include "actors/node.hpp" // topics
#include "schemas/codec.hpp"
#include "storage/log.hpp"

namespace eventide::testing {

struct generated_log {
  size_t events = 0, conversations = 0, running = 0;
  /// What an orchestrator that read the whole log holds, as its digest lists it: by turn
  /// scope, "done" or the running fold's digest.
  std::map<std::string, std::string> folds;

  /// The orchestrator's digest text (node::orchestrator_digest) of `folds`.
  std::string digest() const {
    std::string out;
    for (auto& [scope, d] : folds)
      out += scope + " " + d + "\n";
    return out;
  }
};

/// Writes conversations until `target` events are in the orchestrator's two topics, the first
/// at `start_ms`, each next one a millisecond later (a running step's deadline is its request's
/// time plus the default policy's step timeout).
inline generated_log generate_log(storage::log& log, const topics& t, size_t target,
                                  size_t running_every = 10,
                                  int64_t start_ms = 1'700'000'000'000) {
  static const char* plan =
    R"({"steps":[{"id":"s1","tool":"math","args":{"expression":"1+2"}},)"
    R"({"id":"s2","tool":"math","args":{"expression":"{{steps.s1.result.value}}*2"}},)"
    R"({"id":"s3","tool":"math","args":{"expression":"{{steps.s2.result.value}}+1"}}]})";
  generated_log g;
  int64_t now = start_ms;
  auto put = [&](const std::string& conv, events::payload p) {
    auto e = make_event(conv, "generated", "", std::move(p), now);
    auto bytes = events::encode(e);
    if (!bytes)
      throw std::runtime_error(bytes.error());
    auto topic = std::holds_alternative<events::tool_invocation_requested>(e.data)
                   ? t.tool_requests : t.conversation_events;
    log.produce(topic, conv, *bytes, [](outcome<storage::position>) {});
    ++g.events;
    return e;
  };
  while (g.events < target) {
    auto conv = "generated-" + std::to_string(g.conversations++);
    bool stays_running = g.conversations % running_every == 0;
    core::conversation_state fold(conv);
    events::plan_generated planned;
    planned.plan_json = plan;
    planned.planner_provider = planned.planner_model = "generated";
    fold.apply(put(conv, std::move(planned)));
    for (int round = 0; !fold.finished(); ++round) {
      auto out = fold.decide(now += 1);
      std::vector<events::tool_invocation_requested> requests;
      for (auto& p : out) {
        if (auto r = std::get_if<events::tool_invocation_requested>(&p))
          requests.push_back(*r);
        fold.apply(put(conv, std::move(p)));
      }
      if (stays_running && round == 1) {
        ++g.running;
        break;
      }
      for (auto& r : requests)
        fold.apply(put(conv, events::tool_invocation_resulted{r.invocation_id, r.attempt, r.step_id,
                                                              r.tool, true, R"({"value":3})", "",
                                                              false, 0}));
    }
    g.folds[fold.scope()] = fold.finished() ? "done" : fold.digest();
  }
  (void) log.flush(std::chrono::seconds(30));
  return g;
}

} // namespace eventide::testing
