// http_call against the loopback test server, and resilient_http's retry, Retry-After,
// deadline and circuit-breaker rules. Backoff sleeps go through an injected clock, so the
// tests take real time only for the HTTP timeouts they exercise.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "providers/http.hpp"
#include "providers/resilience.hpp"
#include "tests/tools/http_test_server.hpp"

using namespace eventide;
using namespace eventide::providers;
using eventide::testing::http_test_server;
using eventide::testing::scripted_response;

namespace {

// A clock that only moves when slept on; records every sleep.
struct fake_clock {
  std::atomic<int64_t> now{1'000'000};
  std::vector<int64_t> sleeps;
  clock_hooks hooks() {
    return {[this] { return now.load(); }, [this](int64_t ms) {
              sleeps.push_back(ms);
              now += ms;
            }};
  }
};

retry_policy quick_retries(int attempts) {
  retry_policy p;
  p.max_attempts = attempts;
  p.backoff = {10, 40, 2.0};
  p.max_retry_after_ms = 5000;
  return p;
}

http_request get(const std::string& url, long timeout_ms = 2000) {
  http_request r;
  r.method = "GET";
  r.url = url;
  r.timeout_ms = timeout_ms;
  return r;
}

// A port nothing listens on: a server that has been started and stopped again.
int closed_port() {
  http_test_server s;
  int port = s.port();
  s.stop();
  return port;
}

} // namespace

TEST_CASE("http_call sends method, headers and body and returns status, headers, body", "[http]") {
  http_test_server server;
  server.enqueue("/echo", {201, R"({"ok":true})", {{"X-Reply", "yes"}}, 0});
  http_request r;
  r.url = server.url() + "/echo?x=1";
  r.headers = {{"Content-Type", "application/json"}, {"X-Custom", "a b"}};
  r.body = R"({"hello":"world"})";
  auto response = http_call(r);
  REQUIRE(response.ok());
  CHECK(response->status == 201);
  CHECK(response->body == R"({"ok":true})");
  CHECK(response->header("x-reply") == "yes");
  CHECK(response->header("missing").empty());
  auto seen = server.requests();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].method == "POST");
  CHECK(seen[0].path == "/echo");
  CHECK(seen[0].query == "x=1");
  CHECK(seen[0].body == R"({"hello":"world"})");
  CHECK(seen[0].header("X-Custom") == "a b");
  CHECK(seen[0].header("Content-Type") == "application/json");
}

TEST_CASE("http_call names connect failures and timeouts with the URL", "[http]") {
  std::string url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/api/chat";
  auto refused = http_call(get(url));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().rfind("connect failed: " + url + ": ", 0) == 0);
  CHECK_FALSE(is_timeout_failure(refused.error()));

  http_test_server server;
  server.set_default("/slow", {200, "{}", {}, 400});
  auto slow = http_call(get(server.url() + "/slow", 100));
  REQUIRE_FALSE(slow.ok());
  CHECK(slow.error() == "timed out after 100 ms: " + server.url() + "/slow");
  CHECK(is_timeout_failure(slow.error()));
}

TEST_CASE("url helpers", "[http]") {
  CHECK(url_host("https://api.open-meteo.com/v1/forecast?x=1") == "api.open-meteo.com");
  CHECK(url_host("http://user:pw@127.0.0.1:8080/x") == "127.0.0.1");
  CHECK(url_host("http://[::1]:80/") == "[::1]");
  CHECK(url_encode("a b&c=d/é") == "a%20b%26c%3Dd%2F%C3%A9");
  CHECK(url_encode("USD-1.5_~") == "USD-1.5_~");
}

TEST_CASE("resilient_http: success needs one request", "[http][resilience]") {
  http_test_server server;
  server.enqueue("/x", {200, "fine", {}, 0});
  fake_clock clock;
  resilient_http http(quick_retries(3), {}, {}, clock.hooks());
  auto r = http.call("svc", get(server.url() + "/x"));
  REQUIRE(r.ok());
  CHECK(r->body == "fine");
  auto s = http.stats("svc");
  CHECK(s.calls == 1);
  CHECK(s.requests == 1);
  CHECK(s.retries == 0);
  CHECK(s.failures == 0);
  CHECK(s.breaker == "closed");
  CHECK(clock.sleeps.empty());
}

TEST_CASE("resilient_http: a 500 is retried exactly once before the success", "[http][resilience]") {
  http_test_server server;
  server.enqueue("/x", {500, "boom", {}, 0});
  server.enqueue("/x", {200, "fine", {}, 0});
  fake_clock clock;
  std::vector<std::string> notes;
  resilient_http http(quick_retries(3), {}, [&](const std::string& n) { notes.push_back(n); },
                      clock.hooks());
  auto r = http.call("svc", get(server.url() + "/x"));
  REQUIRE(r.ok());
  CHECK(r->body == "fine");
  CHECK(server.request_count("/x") == 2);
  auto s = http.stats("svc");
  CHECK(s.requests == 2);
  CHECK(s.retries == 1);
  CHECK(s.failures == 0);
  REQUIRE(clock.sleeps.size() == 1);
  CHECK(clock.sleeps[0] >= 0);
  CHECK(clock.sleeps[0] <= 10); // full jitter within base_ms for the first retry
  REQUIRE(notes.size() == 1);
  CHECK(notes[0].find("svc: attempt 1/3 failed (HTTP 500 from " + server.url() + "/x: boom)") == 0);
}

TEST_CASE("resilient_http: 429 with Retry-After waits at least that long", "[http][resilience]") {
  http_test_server server;
  server.enqueue("/x", {429, "slow down", {{"Retry-After", "1"}}, 0});
  server.enqueue("/x", {200, "fine", {}, 0});
  fake_clock clock;
  resilient_http http(quick_retries(3), {}, {}, clock.hooks());
  int64_t start = clock.now;
  auto r = http.call("svc", get(server.url() + "/x"));
  REQUIRE(r.ok());
  CHECK(server.request_count("/x") == 2);
  REQUIRE(clock.sleeps.size() == 1);
  CHECK(clock.sleeps[0] == 1000); // Retry-After beats the (smaller) backoff
  CHECK(clock.now - start >= 1000);
}

TEST_CASE("resilient_http: Retry-After is capped by max_retry_after_ms", "[http][resilience]") {
  http_test_server server;
  server.enqueue("/x", {503, "", {{"Retry-After", "120"}}, 0});
  server.enqueue("/x", {200, "fine", {}, 0});
  fake_clock clock;
  resilient_http http(quick_retries(2), {}, {}, clock.hooks());
  REQUIRE(http.call("svc", get(server.url() + "/x")).ok());
  REQUIRE(clock.sleeps.size() == 1);
  CHECK(clock.sleeps[0] == 5000);
}

TEST_CASE("resilient_http: other 4xx are not retried", "[http][resilience]") {
  http_test_server server;
  server.set_default("/x", {404, R"({"error":"model not found"})", {}, 0});
  fake_clock clock;
  resilient_http http(quick_retries(3), {}, {}, clock.hooks());
  auto r = http.call("svc", get(server.url() + "/x"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error() == "HTTP 404 from " + server.url() + R"(/x: {"error":"model not found"})");
  CHECK(server.request_count("/x") == 1);
  CHECK(http.stats("svc").failures == 1);
  CHECK(http.stats("svc").breaker == "closed"); // a 4xx says the service is up
}

TEST_CASE("resilient_http: timeouts are retried, then the call gives up", "[http][resilience]") {
  http_test_server server;
  server.set_default("/slow", {200, "{}", {}, 400});
  fake_clock clock;
  resilient_http http(quick_retries(2), {}, {}, clock.hooks());
  auto r = http.call("svc", get(server.url() + "/slow", 100));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error() == "svc: giving up after 2 attempts: timed out after 100 ms: " + server.url() + "/slow");
  CHECK(server.request_count("/slow") == 2);
  CHECK(http.stats("svc").retries == 1);
}

TEST_CASE("resilient_http: the deadline bounds retries and request timeouts", "[http][resilience]") {
  http_test_server server;
  server.set_default("/x", {500, "", {{"Retry-After", "1"}}, 0});
  fake_clock clock;
  resilient_http http(quick_retries(5), {}, {}, clock.hooks());

  SECTION("no retry that cannot finish before the deadline") {
    auto r = http.call("svc", get(server.url() + "/x"), clock.now + 500);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error() == "svc: deadline leaves no time to retry after attempt 1: HTTP 500 from "
                           + server.url() + "/x");
    CHECK(server.request_count("/x") == 1);
    CHECK(clock.sleeps.empty());
  }
  SECTION("a passed deadline sends nothing") {
    auto r = http.call("svc", get(server.url() + "/x"), clock.now - 1);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error() == "deadline passed for svc");
    CHECK(server.request_count("/x") == 0);
  }
  SECTION("a request's timeout is cut to the time left") {
    std::vector<long> timeouts;
    resilient_http recording(quick_retries(1), {}, {}, clock.hooks(), [&](const http_request& req) {
      timeouts.push_back(req.timeout_ms);
      return http_call(req);
    });
    auto r = recording.call("svc", get(server.url() + "/x", 30000), clock.now + 250);
    REQUIRE_FALSE(r.ok());
    REQUIRE(timeouts.size() == 1);
    CHECK(timeouts[0] == 250);
  }
}

TEST_CASE("resilient_http: the breaker opens, fails fast, then recovers half-open", "[http][resilience]") {
  http_test_server server;
  server.set_default("/x", {503, "down", {}, 0});
  fake_clock clock;
  std::vector<std::string> notes;
  resilient_http http(quick_retries(1), {2, 5000}, [&](const std::string& n) { notes.push_back(n); },
                      clock.hooks());
  std::string url = server.url() + "/x";

  REQUIRE_FALSE(http.call("ollama/m", get(url)).ok());
  CHECK(http.stats("ollama/m").breaker == "closed");
  REQUIRE_FALSE(http.call("ollama/m", get(url)).ok());
  CHECK(http.stats("ollama/m").breaker == "open");
  CHECK(std::find(notes.begin(), notes.end(),
                  "circuit ollama/m: closed -> open after 2 consecutive failures") != notes.end());
  CHECK(server.request_count("/x") == 2);

  // Open: fail fast, nothing sent.
  auto fast = http.call("ollama/m", get(url));
  REQUIRE_FALSE(fast.ok());
  CHECK(fast.error() == "circuit open for ollama/m");
  CHECK(server.request_count("/x") == 2);
  CHECK(http.stats("ollama/m").short_circuits == 1);
  // Other keys have their own breaker.
  REQUIRE_FALSE(http.call("openai/m", get(url)).ok());
  CHECK(server.request_count("/x") == 3);

  SECTION("a successful half-open trial closes the circuit") {
    clock.now += 5000;
    CHECK(http.stats("ollama/m").breaker == "half-open");
    server.set_default("/x", {200, "back", {}, 0});
    auto trial = http.call("ollama/m", get(url));
    REQUIRE(trial.ok());
    CHECK(trial->body == "back");
    CHECK(http.stats("ollama/m").breaker == "closed");
    CHECK(std::find(notes.begin(), notes.end(), "circuit ollama/m: half-open -> closed") != notes.end());
    CHECK(http.call("ollama/m", get(url)).ok());
    CHECK(server.request_count("/x") == 5);
  }
  SECTION("a failed half-open trial re-opens it at once") {
    clock.now += 5000;
    REQUIRE_FALSE(http.call("ollama/m", get(url)).ok());
    CHECK(server.request_count("/x") == 4);
    CHECK(http.stats("ollama/m").breaker == "open");
    auto again = http.call("ollama/m", get(url));
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().rfind("circuit open for ollama/m", 0) == 0);
    CHECK(server.request_count("/x") == 4);
  }
  auto all = http.all_stats();
  CHECK(all.count("ollama/m") == 1);
  CHECK(all.count("openai/m") == 1);
}

TEST_CASE("resilient_http: retries that open the breaker stop the call early", "[http][resilience]") {
  http_test_server server;
  server.set_default("/x", {500, "", {}, 0});
  fake_clock clock;
  resilient_http http(quick_retries(5), {2, 60000}, {}, clock.hooks());
  auto r = http.call("svc", get(server.url() + "/x"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error() == "circuit open for svc (last error: HTTP 500 from " + server.url() + "/x)");
  CHECK(server.request_count("/x") == 2);
}

TEST_CASE("resilient_http is safe to share between threads", "[http][resilience]") {
  http_test_server server;
  server.set_default("/x", {200, "ok", {}, 0});
  resilient_http http(quick_retries(1));
  std::vector<std::thread> threads;
  std::atomic<int> successes{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i)
        successes += http.call("shared", get(server.url() + "/x")).ok() ? 1 : 0;
    });
  for (auto& t : threads)
    t.join();
  CHECK(successes == 20);
  auto s = http.stats("shared");
  CHECK(s.calls == 20);
  CHECK(s.requests == 20);
  CHECK(server.request_count("/x") == 20);
}
