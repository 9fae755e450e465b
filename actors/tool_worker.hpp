// The worker roles, one per tool kind: a worker reads the tool requests of its tool and hands
// each to one of its tool runners, which executes it at most once per attempt (a ledger records
// every result) and returns the ToolInvocationResulted the worker publishes. The tools
// themselves are built by providers::tool_factory (providers/tool_factory.hpp).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "actors/fwd.hpp"
#include "storage/kv_store.hpp"
#include "core/outcome.hpp"
#include "providers/tool.hpp"
#include "providers/tool_factory.hpp"

namespace eventide {

struct tool_runner_state {
  std::shared_ptr<storage::kv_store> ledger;
  std::string source;
  static inline constexpr const char* name = "tool-runner";
};

/// A runner owns its tool instance: tools need not be thread-safe. Spawn it detached when the
/// tool may block.
tool_runner_actor::behavior_type
tool_runner(tool_runner_actor::stateful_pointer<tool_runner_state> self,
            std::shared_ptr<providers::tool> tool_ptr, std::shared_ptr<storage::kv_store> ledger,
            std::string source);

struct worker_state {
  std::string tool;
  std::vector<tool_runner_actor> runners;
  size_t next = 0;
  producer_actor producer;
  static inline constexpr const char* name = "worker";
};

/// Hands the requests for `tool` to its runners in turn; ignores every other record.
role_actor::behavior_type worker(role_actor::stateful_pointer<worker_state> self,
                                 std::string tool, std::vector<tool_runner_actor> runners,
                                 producer_actor producer);

/// A worker for `tool` with `concurrency` runners (at least one), each with its own tool from
/// `tools`. Every runner spawned is appended to `spawned` (the node stops them), also when a
/// later tool cannot be built.
outcome<role_actor> spawn_worker(caf::actor_system& sys, const std::string& tool,
                                 providers::tool_factory& tools, size_t concurrency,
                                 std::shared_ptr<storage::kv_store> ledger, std::string source,
                                 producer_actor producer, std::vector<caf::actor>& spawned);

} // namespace eventide
