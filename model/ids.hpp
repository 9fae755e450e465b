// Strong types for ids and offsets (Redpanda's named_type habit): a partition can't be passed
// where an offset is expected, and an invocation id is made one way only.
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>
#include <cstdlib>
#include <string>
#include <utility>
#include <string_view>

namespace eventide {

template <class T, class Tag>
class named_type {
 public:
  using value_type = T;
  named_type() = default;
  explicit named_type(T v) : v_(std::move(v)) {}
  const T& get() const noexcept { return v_; }
  friend bool operator==(const named_type& a, const named_type& b) { return a.v_ == b.v_; }
  friend bool operator!=(const named_type& a, const named_type& b) { return a.v_ != b.v_; }
  friend bool operator<(const named_type& a, const named_type& b) { return a.v_ < b.v_; }
  friend std::ostream& operator<<(std::ostream& os, const named_type& x) { return os << x.v_; }

 private:
  T v_{};
};

using invocation_id = named_type<std::string, struct invocation_id_tag>;

/// A number with a meaning: made from a raw number only explicitly, so that an offset is never
/// passed where a partition (or a count) is expected; read back as the raw number anywhere
/// (arithmetic, comparisons, containers, printing), which keeps offset arithmetic plain.
template <class T, class Tag>
class named_number {
 public:
  constexpr named_number() = default;
  constexpr explicit named_number(T v) : v_(v) {}
  constexpr operator T() const noexcept { return v_; }
  constexpr T get() const noexcept { return v_; }

 private:
  T v_{};
};

/// A partition of a topic (Kafka's int32).
using partition_id = named_number<int32_t, struct partition_id_tag>;
/// An offset in a partition (Kafka's int64); a committed offset is the next one to read.
using log_offset = named_number<int64_t, struct log_offset_tag>;

/// The prefix of every deterministic id of one turn of a conversation (DESIGN §13): the
/// conversation id for turn 1 (the spelling of logs written before turns), "<conversation>/t<n>"
/// for turn n > 1. Ids of a turn are "<scope>/query", "<scope>/plan/1", "<scope>/answer", ...
inline std::string turn_scope(const std::string& conversation, int turn) {
  return turn <= 1 ? conversation : conversation + "/t" + std::to_string(turn);
}

/// The conversation and turn of a turn_scope() text (a conversation id holds no '/').
inline std::pair<std::string, int> split_turn_scope(const std::string& scope) {
  auto slash = scope.find("/t");
  if (slash == std::string::npos)
    return {scope, 1};
  return {scope.substr(0, slash), std::atoi(scope.c_str() + slash + 2)};
}

/// The deterministic id of a tool invocation: <turn scope>/planVersion/stepId (`scope` is
/// turn_scope(conversation, turn)).
inline invocation_id make_invocation_id(const std::string& scope, int plan_version,
                                        const std::string& step) {
  return invocation_id{scope + "/" + std::to_string(plan_version) + "/" + step};
}

/// The deterministic id of the compensation (DESIGN §15) of step `step`'s effect:
/// <turn scope>/compensate/stepId. One per step and turn: a step id is unique across the
/// turn's plan versions, and compensations are never compensated. An operator's retry of a
/// saga that stopped (round n > 0) is a new invocation, <turn scope>/compensate-<n>/stepId,
/// so the shop takes it as a new request instead of replaying the refusal.
inline invocation_id make_compensation_id(const std::string& scope, const std::string& step,
                                          int round = 0) {
  return invocation_id{scope + "/compensate" + (round > 0 ? "-" + std::to_string(round) : "")
                       + "/" + step};
}

/// Whether `id` (an event id, a causation id, an invocation id) was derived from conversation
/// `conversation`: "<conversation>/<rest>" with a non-empty rest. A conversation id holds no
/// '/' (events::check_ownership refuses one that does), so the first segment names the owner.
inline bool owned_by(std::string_view id, std::string_view conversation) {
  return id.size() > conversation.size() + 1 && id.substr(0, conversation.size()) == conversation
         && id[conversation.size()] == '/';
}

/// Whether `invocation` is an id make_invocation_id (or make_compensation_id) gives step `step`
/// of `conversation`: "<conversation>/<plan>/<step>" with a non-empty, all-digit <plan> part, or
/// "compensate". Keep it in step with their spelling (tests/model/ids_test.cpp checks they agree).
inline bool is_invocation_of(std::string_view invocation, std::string_view conversation,
                             std::string_view step) {
  if (!owned_by(invocation, conversation) || step.empty())
    return false;
  auto rest = invocation.substr(conversation.size() + 1); // "<plan>/<step>"
  if (rest.size() <= step.size() + 1 || rest.substr(rest.size() - step.size()) != step
      || rest[rest.size() - step.size() - 1] != '/')
    return false;
  // <plan> is the plan version's digits: "c/t2/1/s1" is turn 2's, not turn 1's ("c").
  auto plan = rest.substr(0, rest.size() - step.size() - 1);
  if (plan.substr(0, 11) == "compensate-" && plan.size() > 11)
    plan = plan.substr(11); // a retry round: digits follow
  else if (plan == "compensate")
    return true;
  return !plan.empty() && plan.find_first_not_of("0123456789") == std::string_view::npos;
}

} // namespace eventide

namespace std {
template <class T, class Tag>
struct hash<eventide::named_type<T, Tag>> {
  size_t operator()(const eventide::named_type<T, Tag>& x) const { return hash<T>{}(x.get()); }
};
template <class T, class Tag>
struct hash<eventide::named_number<T, Tag>> {
  size_t operator()(eventide::named_number<T, Tag> x) const { return hash<T>{}(x.get()); }
};
} // namespace std
