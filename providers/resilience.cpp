#include "providers/resilience.hpp"

#include <optional>

#include <algorithm>
#include <chrono>
#include <thread>

namespace eventide::providers {

namespace {

int64_t wall_clock_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string status_failure(const http_request& request, const http_response& response) {
  std::string text = "HTTP " + std::to_string(response.status) + " from " + request.url;
  if (!response.body.empty())
    text += ": " + body_start(response.body);
  return text;
}

} // namespace

resilient_http::resilient_http(retry_policy retry, breaker_policy breaker,
                               std::function<void(const std::string&)> observer,
                               clock_hooks clock, http_transport transport)
    : retry_(retry), breaker_policy_(breaker), observer_(std::move(observer)),
      clock_(std::move(clock)), transport_(std::move(transport)) {
  if (!clock_.now_ms)
    clock_.now_ms = wall_clock_ms;
  if (!clock_.sleep_ms)
    clock_.sleep_ms = [](int64_t ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); };
  if (!transport_)
    transport_ = http_call;
  retry_.max_attempts = std::max(retry_.max_attempts, 1);
}

resilient_http::endpoint& resilient_http::endpoint_for(const std::string& key) {
  auto it = endpoints_.find(key);
  if (it == endpoints_.end())
    it = endpoints_
             .emplace(key, endpoint{core::circuit_breaker(breaker_policy_.failure_threshold,
                                                          breaker_policy_.open_ms),
                                    {}})
             .first;
  return it->second;
}

void resilient_http::note(const std::string& line) const {
  if (observer_)
    observer_(line);
}

void resilient_http::report(const std::string& key, bool success) {
  std::string transition;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto& ep = endpoint_for(key);
    int64_t now = clock_.now_ms();
    auto before = ep.breaker.current(now);
    if (success)
      ep.breaker.on_success(now);
    else
      ep.breaker.on_failure(now);
    auto after = ep.breaker.current(now);
    if (before != after)
      transition = "circuit " + key + ": " + core::to_string(before) + " -> " + core::to_string(after)
                   + (success ? "" : " after " + std::to_string(ep.breaker.consecutive_failures())
                                         + " consecutive failures");
  }
  if (!transition.empty())
    note(transition);
}

outcome<http_response> resilient_http::call(const std::string& key, http_request request,
                                            int64_t deadline_ms) {
  // The provider's limits hold the call (never drop it) until it may go; the slot is held
  // for the whole call, retries included.
  std::optional<provider_limits::permit> permit;
  if (limits_)
    permit.emplace(limits_->acquire(key.substr(0, key.find('/'))));
  uint64_t call_number = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++endpoint_for(key).stats.calls;
    call_number = ++call_counter_;
  }
  auto give_up = [&](std::string why) -> outcome<http_response> {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++endpoint_for(key).stats.failures;
    }
    note(why);
    return fail(std::move(why));
  };

  std::string last_error;
  for (int attempt = 1;; ++attempt) {
    int64_t now = clock_.now_ms();
    if (deadline_ms > 0 && now >= deadline_ms)
      return give_up("deadline passed for " + key
                     + (last_error.empty() ? "" : " (last error: " + last_error + ")"));

    // Ask the breaker; an open -> half-open move is logged so the trial is visible.
    bool allowed = false;
    std::string transition;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto& ep = endpoint_for(key);
      auto before = ep.breaker.current(now);
      allowed = ep.breaker.allow(now);
      if (before == core::circuit_breaker::state::half_open && allowed)
        transition = "circuit " + key + ": half-open trial request";
      if (allowed) {
        ++ep.stats.requests;
        if (attempt > 1)
          ++ep.stats.retries;
      } else {
        ++ep.stats.short_circuits;
      }
    }
    if (!transition.empty())
      note(transition);
    if (!allowed)
      return give_up("circuit open for " + key
                     + (last_error.empty() ? "" : " (last error: " + last_error + ")"));

    http_request attempt_request = request;
    if (deadline_ms > 0) {
      long left = static_cast<long>(std::max<int64_t>(deadline_ms - now, 1));
      attempt_request.timeout_ms = std::min(attempt_request.timeout_ms, left);
      attempt_request.connect_timeout_ms = std::min(attempt_request.connect_timeout_ms, left);
    }
    auto result = transport_(attempt_request);

    std::string error;
    int64_t retry_after_ms = -1;
    if (!result) {
      error = result.error();
    } else if (result->status == 429 || result->status >= 500) {
      error = status_failure(request, *result);
      retry_after_ms = core::parse_retry_after_ms(result->header("Retry-After"), clock_.now_ms());
    } else if (result->status >= 400) {
      report(key, true); // the service is up; the request itself is wrong, so never retried
      return give_up(status_failure(request, *result));
    } else {
      report(key, true);
      return std::move(result).value();
    }
    report(key, false);
    last_error = error;

    if (attempt >= retry_.max_attempts)
      return give_up(key + ": giving up after " + std::to_string(attempt) + " attempt"
                     + (attempt == 1 ? "" : "s") + ": " + error);
    int64_t delay = core::backoff_delay_ms(retry_.backoff, attempt,
                                           key + "#" + std::to_string(call_number));
    if (retry_after_ms >= 0)
      delay = std::max(delay, std::min(retry_after_ms, retry_.max_retry_after_ms));
    if (deadline_ms > 0 && clock_.now_ms() + delay >= deadline_ms)
      return give_up(key + ": deadline leaves no time to retry after attempt "
                     + std::to_string(attempt) + ": " + error);
    note(key + ": attempt " + std::to_string(attempt) + "/" + std::to_string(retry_.max_attempts)
         + " failed (" + error + "); retrying in " + std::to_string(delay) + " ms");
    clock_.sleep_ms(delay);
  }
}

endpoint_stats resilient_http::stats(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = endpoints_.find(key);
  if (it == endpoints_.end())
    return {};
  endpoint_stats out = it->second.stats;
  out.breaker = core::to_string(it->second.breaker.current(clock_.now_ms()));
  return out;
}

std::map<std::string, endpoint_stats> resilient_http::all_stats() const {
  std::map<std::string, endpoint_stats> out;
  std::lock_guard<std::mutex> lock(mu_);
  int64_t now = clock_.now_ms();
  for (const auto& [key, ep] : endpoints_) {
    out[key] = ep.stats;
    out[key].breaker = core::to_string(ep.breaker.current(now));
  }
  return out;
}

std::string body_start(std::string_view body) {
  std::string out;
  for (char c : body.substr(0, 200))
    out += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  if (body.size() > 200)
    out += "...";
  return out;
}

} // namespace eventide::providers
