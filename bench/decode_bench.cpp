// Decode micro-benchmark: events::decode (parse, depth/UTF-8/NUL/duplicate-key checks, schema
// validation, typed read) over records of every type as the pipeline writes them, and
// json::parse alone over large objects (the duplicate-key check must stay O(n log n)).
//
//   decode_bench [SECONDS_PER_CASE]      default 1
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "core/event_ids.hpp"
#include "core/json.hpp"
#include "schemas/codec.hpp"

using namespace eventide;
using clock_type = std::chrono::steady_clock;

namespace {

events::event make(events::payload p) {
  events::event e;
  e.subject = "3f2a9c4e-1b7d-4e0a-9d2c-5b8e7f6a1c3d";
  e.id = core::deterministic_id(e.subject, p);
  e.source = "eventide/bench/n1";
  e.time_ms = 1795168800123;
  e.causation_id = e.subject + "/plan/1";
  e.data = std::move(p);
  return e;
}

std::vector<std::string> typical_records() {
  const std::string conv = "3f2a9c4e-1b7d-4e0a-9d2c-5b8e7f6a1c3d";
  const std::string plan =
    R"({"steps":[{"id":"s1","tool":"getProductInformation","args":{"query":"Aurora X1 price"}},)"
    R"({"id":"s2","tool":"exchangeRate","args":{"from":"USD","to":"EUR","amount":"{{steps.s1.result.price}}"},"dependsOn":["s1"]},)"
    R"({"id":"s3","tool":"math","args":{"expression":"{{steps.s2.result.amount}} * 1.19"},"dependsOn":["s2"]}],"finalAnswerRequired":true})";
  const std::string results = R"({"s1":{"name":"Aurora X1","price":1299,"currency":"USD"},)"
                              R"("s2":{"amount":1195.03,"currency":"EUR"},"s3":{"value":1422.09}})";
  std::vector<events::payload> ps = {
    events::user_query_received{conv, "u1", "How much does the Aurora X1 cost in EUR including 19% VAT?", 1795168800000},
    events::plan_generated{1, plan, "offline", "rule-based", 2},
    events::tool_invocation_requested{conv + "/1/s2", 1, "s2", "exchangeRate",
                                      R"({"from":"USD","to":"EUR","amount":1299})", 1795168830123},
    events::tool_invocation_resulted{conv + "/1/s2", 1, "s2", "exchangeRate", true,
                                     R"({"amount":1195.03,"currency":"EUR","rateDate":"2026-11-19"})",
                                     "", false, 0},
    events::plan_step_completed{"s2", "ok", 1},
    events::plan_completed{1, results},
    events::synthesize_final_answer_requested{"How much does the Aurora X1 cost?", 1, plan, results, "", ""},
    events::final_answer_synthesized{"The answer is 1422.09 EUR.", "offline", "template",
                                     {"products/aurora-x1.md"}, false},
  };
  std::vector<std::string> out;
  for (auto& p : ps) {
    auto bytes = events::encode(make(p));
    if (!bytes) {
      std::fprintf(stderr, "encode: %s\n", bytes.error().c_str());
      std::exit(1);
    }
    out.push_back(*bytes);
  }
  return out;
}

// An object of n members "k0".."k<n-1>" (distinct keys), as compact JSON.
std::string wide_object(size_t n) {
  std::string s = "{";
  for (size_t i = 0; i < n; ++i) {
    if (i)
      s += ',';
    s += "\"k" + std::to_string(i * 7919 % (n * 10)) + "_" + std::to_string(i) + "\":" + std::to_string(i);
  }
  return s + "}";
}

// Runs f for about `seconds`; returns calls per second.
double rate(double seconds, const std::function<void()>& f) {
  size_t n = 0;
  auto start = clock_type::now();
  double elapsed = 0;
  do {
    for (int i = 0; i < 16; ++i)
      f();
    n += 16;
    elapsed = std::chrono::duration<double>(clock_type::now() - start).count();
  } while (elapsed < seconds);
  return n / elapsed;
}

} // namespace

int main(int argc, char** argv) {
  double seconds = argc > 1 ? std::atof(argv[1]) : 1.0;
  auto records = typical_records();
  size_t bytes = 0;
  for (auto& r : records)
    bytes += r.size();
  size_t failures = 0;
  auto per_set = rate(seconds, [&] {
    for (auto& r : records)
      failures += !events::decode(r);
  });
  if (failures) {
    std::fprintf(stderr, "%zu decode failures\n", failures);
    return 1;
  }
  std::printf("decode, 8 typical records (%zu bytes on average): %.0f records/s, %.1f MB/s\n",
              bytes / records.size(), per_set * records.size(), per_set * bytes / 1e6);
  for (size_t n : {1000u, 30000u}) {
    auto text = wide_object(n);
    auto per = rate(seconds, [&] { failures += !json::parse(text); });
    std::printf("json::parse, one object of %zu members (%zu bytes): %.1f parses/s, %.1f MB/s\n",
                n, text.size(), per, per * text.size() / 1e6);
  }
  return failures ? 1 : 0;
}
