#include "core/wake_hint.hpp"

#include <charconv>
#include <sstream>

namespace eventide::core {

uint64_t policy_fingerprint(const orchestration_policy& p) {
  std::ostringstream s;
  s.precision(17);
  s << p.max_attempts << ' ' << p.max_compensation_attempts << ' ' << p.step_timeout_ms << ' '
    << p.retry_backoff.base_ms << ' ' << p.retry_backoff.max_ms << ' ' << p.retry_backoff.multiplier
    << ' ' << p.turn_timeout_ms << ' ' << p.max_plan_revisions << ' ' << p.approval_threshold_usd
    << ' ' << p.approval_timeout_ms << ' ' << p.max_tool_invocations << ' ' << p.max_llm_tokens
    << ' ' << p.max_cost_usd << ' ' << p.max_wall_ms;
  for (const auto& a : p.approvers)
    s << " a:" << a.size() << ':' << a;
  for (const auto& [model, usd] : p.usd_per_1k_tokens)
    s << " m:" << model.size() << ':' << model << '=' << usd;
  // FNV-1a: the same text gives the same value in every build (std::hash need not).
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : s.str()) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

wake_hint wake_hint_of(const conversation_state& fold, uint64_t policy) {
  if (fold.has_unlogged())
    return {int64_t{0}, policy};
  return {fold.next_wakeup(), policy};
}

std::string encode(const wake_hint& h) {
  char hex[17];
  auto end = std::to_chars(hex, hex + sizeof hex, h.policy, 16).ptr;
  return std::string(hex, end) + "/" + (h.at ? std::to_string(*h.at) : "-");
}

std::optional<wake_hint> decode_wake_hint(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0)
    return std::nullopt;
  wake_hint h;
  auto policy = text.substr(0, slash);
  auto r = std::from_chars(policy.data(), policy.data() + policy.size(), h.policy, 16);
  if (r.ec != std::errc{} || r.ptr != policy.data() + policy.size())
    return std::nullopt;
  auto at = text.substr(slash + 1);
  if (at == "-")
    return h;
  int64_t t = 0;
  r = std::from_chars(at.data(), at.data() + at.size(), t);
  if (at.empty() || r.ec != std::errc{} || r.ptr != at.data() + at.size() || t < 0)
    return std::nullopt;
  h.at = t;
  return h;
}

go_live_load go_live_action(const std::optional<wake_hint>& hint, uint64_t policy, int64_t now_ms) {
  if (!hint || hint->policy != policy)
    return go_live_load::now;
  if (!hint->at)
    return go_live_load::on_record;
  return *hint->at > now_ms ? go_live_load::at_wake : go_live_load::now;
}

} // namespace eventide::core
