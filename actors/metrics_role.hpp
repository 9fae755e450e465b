// The metrics role: the metrics projection (core/metrics.hpp) kept running over the log and
// exported through node::health() (and so Prometheus, core::prometheus_text). On every start
// it reads all four topics from their first stored offset, with no consumer group: the
// projection is rebuilt from the log, nothing is committed, nothing is written. Not part of
// "all": a node hosts it only when asked to (`eventide node --roles metrics`).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "actors/node.hpp"
#include "core/metrics.hpp"

namespace eventide {

/// A consumer group of the pipeline and the topics (prefix applied) it reads.
struct consumer_group {
  std::string name; // without the topic prefix
  std::vector<std::string> topics;
};

/// The groups node::impl::start subscribes, in role_table() order (actors/node.hpp): router,
/// orchestrator, aggregator, synthesis and tool-<name> for each worker kind.
std::vector<consumer_group> pipeline_groups(const topics& t);

/// Consumer lag per group: high watermark minus committed offset, summed over the group's
/// partitions (a partition it never committed counts from its low watermark). Groups that never
/// committed anything are left out. Blocks on the log (on Kafka a request per partition and
/// group). `error`, when given, receives the first failure; failed partitions are skipped.
std::map<std::string, int64_t> consumer_lag(storage::log& log, const std::string& topic_prefix,
                                            const std::vector<consumer_group>& groups,
                                            std::string* error = nullptr);

/// Folds one record of the four topics into `fold`: an event of an event topic, a dead letter
/// of the DLQ (counted by its group, prefix removed). A record that is neither is counted as
/// undecodable and the reason returned; redrive markers on the DLQ are skipped. `decoded`: the
/// record's events::decode result when the caller has it already.
outcome<void> fold_record(core::metrics_fold& fold, const storage::record& rec, const topics& t,
                          const std::string& topic_prefix,
                          const outcome<events::event>* decoded = nullptr);

/// Folds a polled batch with each partition's records in log order, merged across partitions
/// so that an event whose cause is in the batch comes after it, else by event time. A poll
/// returns partitions one after the other, so without this an effect often comes before its
/// cause from another topic (and gives no per-role sample). Across batches nothing waits.
/// Returns the number of undecodable records; `on_undecodable` gets each with its reason.
/// `decoded`: events::decode of each record of the batch (none for dead letters) when the
/// caller has them already; they are moved from.
size_t fold_batch(core::metrics_fold& fold, const std::vector<storage::record>& batch,
                  const topics& t, const std::string& topic_prefix,
                  const std::function<void(const storage::record&, const std::string&)>& on_undecodable,
                  std::vector<std::optional<outcome<events::event>>>* decoded = nullptr);

struct metrics_role_config {
  std::shared_ptr<storage::log> log;
  std::string topic_prefix;
  size_t window = 1024;    // latency samples per series behind the percentiles
  size_t recent = 1 << 16; // event ids and unpaired entries remembered (core::metrics_fold)
  std::chrono::milliseconds poll_timeout{100};  // the longest a health request waits
  std::chrono::milliseconds lag_interval{2000}; // consumer lag and rate samples
  int64_t rate_window_ms = 10000;               // events/s per topic over this trailing window
};

/// Spawns the role detached (polling and the lag queries block); a metrics_actor (fwd.hpp).
/// Without CAF's headers here, so plain unit tests can use the functions above.
caf::actor spawn_metrics_role(caf::actor_system& sys, metrics_role_config cfg);

} // namespace eventide
