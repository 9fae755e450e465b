// pipeline_bench's components table: the mean time of one call of each piece of work.
#include <cstdio>

#include "bench/pipeline_driver.hpp"
#include "providers/offline_tools.hpp"
#include "providers/planner.hpp"

namespace eventide::bench {

// Mean time per call of each piece of work a pipeline event carries: what a role spends besides
// moving records. One thread, warm caches.
void components(bool quick) {
  const int n = quick ? 200 : 2000;
  auto time_it = [&](const char* what, const char* provider, auto&& call) {
    call(); // warm up (lazy loads)
    auto t0 = clock_type::now();
    for (int i = 0; i < n; ++i)
      call();
    double ms = ms_since(t0) / n;
    std::printf("| %s | %s | %.3f | %.0f |\n", what, provider, ms, 1000.0 / ms);
  };
  auto root = providers::resource_root();
  auto ctx = providers::load_planner_context(root + "/products");
  auto product = providers::make_product_info_tool(root + "/products");
  auto rag = providers::make_offline_rag_tool(root + "/products");
  auto math = providers::make_math_tool();
  auto exchange = providers::make_offline_exchange_tool(root + "/config/exchange-rates.json");
  auto synthesis = providers::make_offline_synthesis_tool();
  auto must = [](const providers::tool_output& out) {
    if (!out.ok)
      die(out.error);
  };
  events::event ev;
  ev.id = "c1/1/s1/request/1";
  ev.source = "eventide/orchestrator/node-1";
  ev.time_ms = now_ms();
  ev.subject = "c1";
  ev.data = events::tool_invocation_requested{"c1/1/s1", 1, "s1", "exchangeRate",
                                              R"({"from":"USD","to":"EUR","amount":1299})",
                                              ev.time_ms + 30000};
  auto bytes = events::encode(ev);
  if (!bytes)
    die(bytes.error());
  std::printf("## Components (one thread, mean per call)\n\n");
  std::printf("| work | provider | ms per call | calls/s |\n|---|---|---|---|\n");
  time_it("plan a 3-step question", "offline rule-based planner", [&] {
    if (!providers::plan_offline(scenarios[1].question, ctx))
      die("planning failed");
  });
  time_it("getProductInformation", "offline BM25", [&] {
    must(product->invoke(R"({"query":"Aurora X1 price"})"));
  });
  time_it("ragGeneration", "offline BM25 + extractive answer", [&] {
    must(rag->invoke(R"({"query":"Which laptop has the longest battery life?"})"));
  });
  time_it("exchangeRate", "offline dated rate table", [&] {
    must(exchange->invoke(R"({"from":"USD","to":"EUR","amount":1299})"));
  });
  time_it("math", "offline expression evaluator", [&] {
    must(math->invoke(R"({"expression":"1195.03 * 1.19"})"));
  });
  time_it("orchestrationSynthesis", "offline template synthesis", [&] {
    must(synthesis->invoke(
      R"({"query":"How much does the Aurora X1 cost in EUR including 19% VAT?","results":{"s1":{"name":"Aurora X1","price":1299,"currency":"USD"},"s3":{"value":1422.09}}})"));
  });
  time_it("encode + validate an event", "RapidJSON + JSON Schema", [&] {
    if (!events::encode(ev))
      die("encode failed");
  });
  time_it("decode + validate an event", "RapidJSON + JSON Schema", [&] {
    if (!events::decode(*bytes))
      die("decode failed");
  });
  std::printf("\n");
}

} // namespace eventide::bench
