// Bridge actors between the log and a role (DESIGN §7).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/fwd.hpp"

namespace eventide {

class group_crash_guard;

struct consumer_bridge_config {
  std::shared_ptr<storage::log> log;
  std::string group;
  std::vector<std::string> topics;      // full names (prefix applied)
  std::string dead_letter_topic;
  std::string node_id;
  storage::offset_reset reset = storage::offset_reset::earliest;
  /// Kafka Streams style restore: on assignment, read each partition up to its high watermark
  /// in restore mode, then tell the role to go live.
  bool restore = false;
  /// With restore: whether the role's store already reflects a partition up to the group's
  /// committed offset (then replay starts there, else at offset 0). Called from the bridge's
  /// thread, once per partition number and assignment. Null: always from offset 0.
  std::function<bool(int32_t partition)> store_covers;
  /// Records for which this returns true are acknowledged without decoding: they are addressed
  /// to another role that shares the topic (tool requests for another tool). Null: none.
  std::function<bool(const storage::record&)> skip;
  /// The crash-loop guard of this group (actors/crash_guard.hpp): notes what is in flight before
  /// handing it out, dead-letters records that crashed the node `limit` times, and hands out
  /// suspects alone during a quarantine. Null: no guard.
  std::shared_ptr<group_crash_guard> guard;
  /// A reason for which this role refuses a record that decoded, if it does: the record is
  /// dead-lettered with it like one that does not decode (and a replay below the committed
  /// offset does not letter it again). Null: none.
  std::function<std::optional<std::string>(const storage::record&, const events::event&)> refuse;
  /// Without transactions, offsets are committed at most this often: a crash re-reads at most
  /// that much more (the roles are idempotent), and a burst costs one commit per partition
  /// instead of one per poll cycle (the embedded log writes each commit to RocksDB).
  int64_t commit_interval_ms = 100;
  size_t max_in_flight = 256;  // records handed to the role and not yet acknowledged
  // The same while the role restores: it folds and acknowledges at once and emits nothing;
  // with 256 a replay waited for acknowledgements (replay_bench 100000, medians of five runs:
  // first reading 62k -> 82k events/s, lost-store replay 93k -> 127k; README, design notes).
  size_t max_in_flight_restoring = 4096;
  size_t max_batch = 128;      // records per poll
};

/// The node's producer bridge (detached unless the log delivers inline: serve() may block).
producer_actor spawn_producer(caf::actor_system& sys, std::shared_ptr<storage::log> log,
                              std::string topic_prefix);

/// A consumer bridge feeding `role`: on the scheduler when the log notifies it and never
/// blocks (the embedded log), detached otherwise (poll blocks). Commits an offset only after
/// the role acknowledged every record before it; dead-letters what cannot be decoded or handled.
caf::actor spawn_consumer_bridge(caf::actor_system& sys, consumer_bridge_config cfg,
                                 role_actor role, producer_actor producer);

/// Wall clock in ms since the epoch.
int64_t now_ms();

} // namespace eventide
