#include "providers/limits.hpp"

#include <chrono>
#include <cstdlib>

#include "core/text.hpp"

namespace eventide::providers {
namespace {

int64_t limits_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

} // namespace

provider_limits::provider_limits(std::map<std::string, provider_limit> limits)
    : limits_(std::move(limits)) {}

provider_limits::state& provider_limits::state_for(const std::string& provider) {
  auto it = states_.find(provider);
  if (it == states_.end()) {
    state s;
    if (auto l = limits_.find(provider); l != limits_.end()) {
      s.stats.limit = l->second;
      s.bucket = core::token_bucket(l->second.rate_per_s, l->second.rate_per_s);
    }
    it = states_.emplace(provider, std::move(s)).first;
  }
  return it->second;
}

provider_limits::permit provider_limits::acquire(const std::string& provider) {
  std::unique_lock<std::mutex> lock(mu_);
  auto& s = state_for(provider);
  const int64_t start = limits_clock_ms();
  bool waited = false;
  ++s.stats.waiting;
  while (true) {
    bool slot = s.stats.limit.max_in_flight <= 0 || s.stats.in_flight < s.stats.limit.max_in_flight;
    if (slot) {
      int64_t now = limits_clock_ms();
      if (s.bucket.take(now))
        break;
      waited = true;
      freed_.wait_for(lock, std::chrono::milliseconds(s.bucket.wait_ms(now)));
    } else {
      waited = true;
      freed_.wait(lock);
    }
  }
  --s.stats.waiting;
  ++s.stats.in_flight;
  ++s.stats.granted;
  if (waited) {
    ++s.stats.delayed;
    s.stats.waited_ms += limits_clock_ms() - start;
  }
  return permit(this, provider);
}

void provider_limits::release(const std::string& provider) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    --state_for(provider).stats.in_flight;
  }
  freed_.notify_all();
}

provider_limits::permit::~permit() {
  if (owner_)
    owner_->release(provider_);
}

std::map<std::string, limit_stats> provider_limits::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<std::string, limit_stats> out;
  for (const auto& [name, limit] : limits_)
    out[name].limit = limit; // configured, even before the first call
  for (const auto& [name, s] : states_)
    out[name] = s.stats;
  return out;
}

outcome<std::map<std::string, double>> parse_provider_numbers(const std::string& what,
                                                              const std::string& list) {
  std::map<std::string, double> out;
  for (const auto& item : core::split_list(list)) {
    auto eq = item.find('=');
    std::string name = eq == std::string::npos ? "" : core::trim(item.substr(0, eq));
    std::string value = eq == std::string::npos ? "" : core::trim(item.substr(eq + 1));
    char* end = nullptr;
    double v = std::strtod(value.c_str(), &end);
    if (name.empty() || value.empty() || end != value.c_str() + value.size() || !(v >= 0))
      return fail(what + ": '" + item + "' is not PROVIDER=NUMBER (a number >= 0)");
    out[name] = v;
  }
  return out;
}

} // namespace eventide::providers
