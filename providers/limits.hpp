// Per-provider limits (DESIGN §15): at most N calls in flight and a token-bucket rate, per
// provider of this process ("ollama", "openai", "weather", "shop", ...). A call over a limit
// waits for its turn; it is never dropped. Counters for health.json and /metrics.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/outcome.hpp"
#include "core/token_bucket.hpp"

namespace eventide::providers {

struct provider_limit {
  int max_in_flight = 0;    // 0: no limit
  double rate_per_s = 0;    // 0: no limit; bursts of up to one second's worth
};

struct limit_stats {
  provider_limit limit;
  int in_flight = 0;
  int waiting = 0;
  int64_t granted = 0;   // calls let through
  int64_t delayed = 0;   // of them, calls that had to wait
  int64_t waited_ms = 0; // total time calls waited
};

class provider_limits {
 public:
  /// `limits` by provider name; providers not named are not limited (but still counted).
  explicit provider_limits(std::map<std::string, provider_limit> limits = {});

  /// Holds one of the provider's slots until it is destroyed.
  class permit {
   public:
    permit(permit&& other) noexcept : owner_(other.owner_), provider_(std::move(other.provider_)) {
      other.owner_ = nullptr;
    }
    permit(const permit&) = delete;
    ~permit();

   private:
    friend class provider_limits;
    permit(provider_limits* owner, std::string provider)
        : owner_(owner), provider_(std::move(provider)) {}
    provider_limits* owner_;
    std::string provider_;
  };

  /// Waits until `provider` has a free slot and a token, then takes both.
  permit acquire(const std::string& provider);

  std::map<std::string, limit_stats> stats() const;

 private:
  struct state {
    limit_stats stats;
    core::token_bucket bucket{0, 1};
  };
  state& state_for(const std::string& provider); // requires mu_
  void release(const std::string& provider);

  mutable std::mutex mu_;
  std::condition_variable freed_;
  std::map<std::string, provider_limit> limits_;
  std::map<std::string, state> states_;
};

/// "ollama=2,shop=8" -> by provider (numbers >= 0; `what` names the option in errors).
outcome<std::map<std::string, double>> parse_provider_numbers(const std::string& what,
                                                              const std::string& list);

} // namespace eventide::providers
