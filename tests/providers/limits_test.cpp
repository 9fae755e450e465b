// Per-provider limits (DESIGN §15): calls over a limit wait, none is dropped, and the counters
// say how many waited and for how long.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "core/prometheus.hpp"
#include "providers/limits.hpp"

using namespace eventide::providers;
using namespace std::chrono;

TEST_CASE("limits: at most N calls in flight, the others wait their turn", "[limits]") {
  provider_limits limits({{"shop", {2, 0}}});
  std::atomic<int> inside{0}, most{0}, done{0};
  std::vector<std::thread> calls;
  for (int i = 0; i < 6; ++i)
    calls.emplace_back([&] {
      auto permit = limits.acquire("shop");
      int now = ++inside;
      for (int seen = most.load(); now > seen && !most.compare_exchange_weak(seen, now);)
        ;
      std::this_thread::sleep_for(milliseconds(30));
      --inside;
      ++done;
    });
  for (auto& t : calls)
    t.join();
  CHECK(done == 6); // none dropped
  CHECK(most == 2);
  auto st = limits.stats().at("shop");
  CHECK(st.granted == 6);
  CHECK(st.delayed >= 4);
  CHECK(st.waited_ms >= 4 * 25);
  CHECK(st.in_flight == 0);
  CHECK(st.waiting == 0);
  CHECK(limits.stats().count("ollama") == 0);
  auto unlimited = limits.acquire("ollama"); // not configured: counted, never held
  CHECK(limits.stats().at("ollama").in_flight == 1);
}

TEST_CASE("limits: a rate of N a second lets a burst through, then spaces the calls", "[limits]") {
  provider_limits limits({{"ollama", {0, 20}}});
  auto start = steady_clock::now();
  for (int i = 0; i < 25; ++i)
    limits.acquire("ollama");
  auto took = duration_cast<milliseconds>(steady_clock::now() - start).count();
  CHECK(took >= 5 * 50 - 20); // 20 at once, then 5 more at 50 ms each
  CHECK(took < 2000);
  auto st = limits.stats().at("ollama");
  CHECK(st.granted == 25);
  CHECK(st.delayed == 5);
}

TEST_CASE("limits: option values, and what health and /metrics show", "[limits]") {
  auto parsed = parse_provider_numbers("provider-rate", "ollama=2, shop=0.5");
  REQUIRE(parsed.ok());
  CHECK(parsed->at("ollama") == 2);
  CHECK(parsed->at("shop") == 0.5);
  CHECK(parse_provider_numbers("provider-rate", "ollama").error()
        == "provider-rate: 'ollama' is not PROVIDER=NUMBER (a number >= 0)");
  CHECK_FALSE(parse_provider_numbers("provider-rate", "shop=-1").ok());
  CHECK_FALSE(parse_provider_numbers("provider-rate", "=3").ok());
  auto text = eventide::core::prometheus_text(
    R"({"node":"n1","limits":{"shop":{"maxInFlight":2,"ratePerSecond":0.5,"inFlight":1,"waiting":3,"granted":9,"delayed":4,"waitedMs":1200}}})");
  REQUIRE(text.ok());
  CHECK(text->find("eventide_provider_max_in_flight{node=\"n1\",provider=\"shop\"} 2\n") != std::string::npos);
  CHECK(text->find("eventide_provider_rate_per_second{node=\"n1\",provider=\"shop\"} 0.5\n") != std::string::npos);
  CHECK(text->find("eventide_provider_waiting{node=\"n1\",provider=\"shop\"} 3\n") != std::string::npos);
  CHECK(text->find("eventide_provider_waited_ms_total{node=\"n1\",provider=\"shop\"} 1200\n") != std::string::npos);
}
