#include "core/answer_folds.hpp"

#include <type_traits>

#include "core/plan.hpp"

namespace eventide::core {

void aggregation_fold::apply(const events::event& e) {
  std::visit(
    [&](const auto& d) {
      using T = std::decay_t<decltype(d)>;
      if constexpr (std::is_same_v<T, events::user_query_received>) {
        if (!query_)
          query_ = d.query;
      } else if constexpr (std::is_same_v<T, events::plan_generated>) {
        if (d.plan_version > plan_version_) {
          plan_version_ = d.plan_version;
          plan_json_ = d.plan_json;
        }
        // A follow-up is answered as the question it stands for ("and in GBP?" -> "What does
        // the Aurora X1 cost in GBP?"), whichever of the two records is read first.
        if (!d.resolved_query.empty())
          query_ = d.resolved_query;
      } else if constexpr (std::is_same_v<T, events::plan_revised>) {
        // The answer is written from every step of the turn, whichever version added it.
        if (d.plan_version == plan_version_ + 1) {
          plan_version_ = d.plan_version;
          plan_json_ = merge_revision(plan_json_, d.plan_json);
          if (!d.rationale.empty())
            decisions_.push_back(d.rationale);
        }
      } else if constexpr (std::is_same_v<T, events::plan_completed>) {
        if (!terminal_) {
          events::synthesize_final_answer_requested r;
          r.plan_version = d.plan_version;
          r.results_json = d.results_json;
          terminal_ = r;
        }
      } else if constexpr (std::is_same_v<T, events::plan_failed>) {
        if (!terminal_) {
          events::synthesize_final_answer_requested r;
          r.plan_version = d.plan_version;
          r.results_json = d.partial_results_json;
          r.failure = d.reason;
          r.failed_step = d.failed_step;
          terminal_ = r;
        }
        // Effects to undo: the answer waits for the saga, to say what was undone.
        saga_pending_ = saga_pending_ || !d.compensation_done;
      } else if constexpr (std::is_same_v<T, events::plan_compensated>
                           || std::is_same_v<T, events::compensation_failed>) {
        saga_ended_ = true;
        compensations_json_ = d.compensations_json;
      } else if constexpr (std::is_same_v<T, events::planning_failed>) {
        if (!terminal_) {
          events::synthesize_final_answer_requested r;
          r.results_json = "{}";
          r.failure = "planning failed: " + d.reason;
          terminal_ = r;
        }
      } else if constexpr (std::is_same_v<T, events::synthesize_final_answer_requested>) {
        requested_ = true;
      }
    },
    e.data);
}

std::optional<events::payload> aggregation_fold::decide() {
  if (requested_ || !terminal_ || !query_ || (saga_pending_ && !saga_ended_))
    return std::nullopt;
  auto r = *terminal_;
  r.compensations_json = compensations_json_;
  r.query = *query_;
  // The plan that produced the results; "null" when planning failed.
  r.plan_json = r.plan_version > 0 ? plan_json_ : "null";
  r.decisions = decisions_;
  requested_ = true;
  return events::payload{std::move(r)};
}

void synthesis_fold::apply(const events::event& e) {
  if (auto r = std::get_if<events::synthesize_final_answer_requested>(&e.data)) {
    if (!request_)
      request_ = *r;
  } else if (std::holds_alternative<events::final_answer_synthesized>(e.data)) {
    answered_ = true;
  }
}

std::optional<events::synthesize_final_answer_requested> synthesis_fold::pending() const {
  if (answered_ || !request_)
    return std::nullopt;
  return request_;
}

bool should_execute(const std::optional<ledger_entry>& recorded, int requested_attempt) {
  if (!recorded)
    return true;
  if (recorded->ok || !recorded->retryable)
    return false;
  return requested_attempt > recorded->attempt;
}

} // namespace eventide::core
