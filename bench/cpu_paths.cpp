// The CPU-bound paths, each run a given number of times, for instruction counts under
// valgrind's callgrind (bench/instructions.sh): counts repeat exactly on a noisy machine where
// times move 2x. One path per run:
//
//   cpu_paths decode|plan|fold|live|replay N
//     decode  events::decode of a PlanGenerated record (parse, checks, schema validation, read)
//     plan    the offline planner on a 3-step question (catalog loaded once, before the loop)
//     fold    a 3-step conversation through the orchestrator's fold: every apply and decide
//     live    a 3-step conversation as the live orchestrator handles it: per record apply,
//             decide, encode what it decided (the records it writes) and take the snapshot it
//             stores before acknowledging (decisions not yet read back included); what it
//             decided comes back as records, each handled the same way
//     replay  a 3-step conversation's records as the orchestrator restores them from below its
//             committed offset: read each without validating it (decode_handled) and fold it;
//             per call, all of the conversation's records
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <string>
#include <vector>

#include "core/event_ids.hpp"
#include "core/plan_state.hpp"
#include "providers/planner.hpp"
#include "providers/tool.hpp"
#include "schemas/codec.hpp"

using namespace eventide;

namespace {

const std::string conv = "3f2a9c4e-1b7d-4e0a-9d2c-5b8e7f6a1c3d";
const std::string plan_json =
  R"({"steps":[{"id":"s1","tool":"getProductInformation","args":{"query":"Aurora X1 price"}},)"
  R"({"id":"s2","tool":"exchangeRate","args":{"from":"USD","to":"EUR","amount":"{{steps.s1.result.price}}"}},)"
  R"({"id":"s3","tool":"math","args":{"expression":"{{steps.s2.result.converted}} * 1.19"}}],"finalAnswerRequired":true})";

events::event make(events::payload p, int64_t t = 1795168800123) {
  events::event e;
  e.subject = conv;
  e.id = core::deterministic_id(conv, p);
  e.source = "eventide/bench/n1";
  e.time_ms = t;
  e.data = std::move(p);
  return e;
}

events::tool_invocation_resulted result(const std::string& step, const std::string& tool,
                                        const std::string& json) {
  return {conv + "/1/" + step, 1, step, tool, true, json, "", false, 0};
}

// One conversation's life in the fold; returns the events decided (so nothing is optimized away).
size_t fold_once() {
  core::conversation_state s(conv);
  size_t decided = 0;
  auto feed = [&](events::payload p, int64_t t) {
    s.apply(make(std::move(p), t));
    for (auto& d : s.decide(t)) {
      s.apply(make(d, t));
      ++decided;
    }
  };
  feed(events::plan_generated{1, plan_json, "offline", "rule-based", 0}, 1000);
  feed(result("s1", "getProductInformation", R"({"name":"Aurora X1","price":1299,"currency":"USD"})"), 1010);
  feed(result("s2", "exchangeRate", R"({"converted":1195.03,"to":"EUR"})"), 1020);
  feed(result("s3", "math", R"({"value":1422.09})"), 1030);
  return decided;
}

// One conversation's life in the live orchestrator (actors/conversation.cpp); returns the
// bytes it wrote (records and snapshots).
size_t live_once() {
  core::conversation_state s(conv);
  size_t written = 0;
  std::deque<events::event> back; // decided, written, not read back yet
  auto handle = [&](events::event e, int64_t t) {
    s.apply(e);
    for (auto& d : s.decide(t)) {
      back.push_back(make(d, t));
      written += events::encode_or_empty(back.back()).size();
    }
    written += s.snapshot(events::encode_or_empty).size();
  };
  auto feed = [&](events::payload p, int64_t t) {
    handle(make(std::move(p), t), t);
    while (!back.empty()) {
      auto e = std::move(back.front());
      back.pop_front();
      handle(std::move(e), t);
    }
  };
  feed(events::plan_generated{1, plan_json, "offline", "rule-based", 0}, 1000);
  feed(result("s1", "getProductInformation", R"({"name":"Aurora X1","price":1299,"currency":"USD"})"), 1010);
  feed(result("s2", "exchangeRate", R"({"converted":1195.03,"to":"EUR"})"), 1020);
  feed(result("s3", "math", R"({"value":1422.09})"), 1030);
  return written;
}

// The records of one 3-step conversation, as the log holds them (encoded once, outside the loop).
std::vector<std::string> conversation_records() {
  std::vector<std::string> out;
  core::conversation_state s(conv);
  auto put = [&](events::payload p, int64_t t) {
    auto e = make(std::move(p), t);
    out.push_back(*events::encode(e));
    s.apply(e);
  };
  put(events::plan_generated{1, plan_json, "offline", "rule-based", 0}, 1000);
  const std::pair<const char*, const char*> results[] = {
    {"getProductInformation", R"({"name":"Aurora X1","price":1299,"currency":"USD"})"},
    {"exchangeRate", R"({"converted":1195.03,"to":"EUR"})"},
    {"math", R"({"value":1422.09})"}};
  int64_t t = 1000;
  for (size_t i = 0; !s.finished(); ++i) {
    t += 10;
    std::vector<events::tool_invocation_requested> requests;
    for (auto& d : s.decide(t)) {
      if (auto r = std::get_if<events::tool_invocation_requested>(&d))
        requests.push_back(*r);
      put(d, t);
    }
    for (auto& r : requests)
      put(result(r.step_id, r.tool, results[std::min<size_t>(i, 2)].second), t);
  }
  return out;
}

size_t replay_once(const std::vector<std::string>& records) {
  core::conversation_state s(conv);
  size_t applied = 0;
  for (const auto& r : records) {
    auto e = events::decode_handled(r);
    if (!e)
      std::abort();
    s.apply(*e);
    ++applied;
  }
  return applied + s.finished();
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: cpu_paths decode|plan|fold|live|replay N\n");
    return 2;
  }
  const std::string path = argv[1];
  const long n = std::atol(argv[2]);
  size_t sink = 0;
  if (path == "decode") {
    auto record = events::encode(make(events::plan_generated{1, plan_json, "offline", "rule-based", 2}));
    for (long i = 0; i < n; ++i)
      sink += events::decode(*record).ok();
  } else if (path == "plan") {
    auto ctx = providers::load_planner_context(providers::resource_root() + "/products");
    for (long i = 0; i < n; ++i)
      sink += providers::plan_offline("How much does the Aurora X1 cost in EUR including 19% VAT?", ctx)
                ->size();
  } else if (path == "fold") {
    for (long i = 0; i < n; ++i)
      sink += fold_once();
  } else if (path == "live") {
    for (long i = 0; i < n; ++i)
      sink += live_once();
  } else if (path == "replay") {
    auto records = conversation_records();
    for (long i = 0; i < n; ++i)
      sink += replay_once(records);
  } else {
    std::fprintf(stderr, "cpu_paths: unknown path '%s'\n", path.c_str());
    return 2;
  }
  std::printf("%zu\n", sink);
  return 0;
}
