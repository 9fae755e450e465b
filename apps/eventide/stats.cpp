// stats: latency, events, consumer lag and dead letters over the whole log (--json: as JSON).
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "actors/metrics_role.hpp"
#include "commands.hpp"
#include "core/json.hpp"
#include "core/metrics.hpp"
#include "log_io.hpp"

namespace eventide::cli {

// The metrics projection over the whole log, plus consumer lag per group (high watermark minus
// committed offset, summed over the group's partitions): the metrics role's fold, run once.
int run_stats(const options& cfg, const command_line& cl, caf::actor_system_config&) {
  if (!cl.positionals.empty())
    throw usage_error{"usage: eventide stats [--json]"};
  start_logging(cfg, "warning");
  auto log = open_log(cfg);
  topics t(cfg.topic_prefix);
  core::metrics_fold fold; // every latency sample: the log is read once
  // Folded in batches like the metrics role does (event-time order across partitions).
  std::vector<storage::record> batch;
  auto fold_pending = [&] {
    fold_batch(fold, batch, t, cfg.topic_prefix, [](const storage::record&, const std::string&) {});
    batch.clear();
  };
  read_to_end(*log, {t.user_commands, t.conversation_events, t.tool_requests, t.dead_letters},
              [&](const storage::record& rec) {
                batch.push_back(rec);
                if (batch.size() == 1024)
                  fold_pending();
              });
  fold_pending();
  auto r = fold.report();
  auto lag = consumer_lag(*log, cfg.topic_prefix, pipeline_groups(t));
  // Events/s per topic over the time span of the events (the role uses a trailing window).
  core::rate_window span;
  span.add(r.first_ms, {});
  span.add(r.last_ms, r.events_by_topic);
  auto lat = [](const core::latency_summary& l) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "%6zu  %8.1f %8.1f %8.1f %8.1f %8.1f", l.count, l.mean_ms,
                  l.p50_ms, l.p95_ms, l.p99_ms, l.max_ms);
    return std::string(buf);
  };
  if (cfg.json) {
    std::cout << json::dump(core::metrics_json(r, lag, span.per_second())) << std::endl;
    return exit_ok;
  }
  std::cout << "conversations: " << r.conversations << " (" << r.answered << " answered, "
            << r.failed << " of them failed, " << r.open << " open)\n";
  std::printf("\n%-30s %6s  %8s %8s %8s %8s %8s\n", "latency (ms)", "count", "mean", "p50", "p95",
              "p99", "max");
  std::printf("%-30s %s\n", "question -> answer", lat(r.end_to_end).c_str());
  for (auto& [tool, l] : r.per_tool)
    std::printf("%-30s %s\n", tool.c_str(), lat(l).c_str());
  std::printf("\n%-30s %6s  %8s %8s %8s %8s %8s\n", "processing (ms)", "count", "mean", "p50",
              "p95", "p99", "max");
  for (auto& [role, l] : r.per_role)
    std::printf("%-30s %s\n", role.c_str(), lat(l).c_str());
  std::cout << "\nevents: ";
  size_t n = 0;
  for (auto& [type, c] : r.events_by_type)
    n += c;
  std::printf("%zu (%.0f/s over their time span); tool errors %zu, retries %zu\n", n,
              r.events_per_second, r.tool_errors, r.retries);
  for (auto& [topic, c] : r.events_by_topic)
    std::printf("  %-28s %8zu\n", topic.c_str(), c);
  std::cout << "\nconsumer lag (records not yet committed):\n";
  for (auto& [g, l] : lag)
    std::printf("  %-28s %8lld\n", g.c_str(), static_cast<long long>(l));
  std::cout << "\ndead letters:";
  if (r.dead_letters_by_group.empty())
    std::cout << " none";
  std::cout << "\n";
  for (auto& [g, c] : r.dead_letters_by_group)
    std::printf("  %-28s %8zu\n", g.c_str(), c);
  if (!r.undecodable_by_topic.empty()) {
    std::cout << "\nundecodable records (dead-lettered by the groups that read them):\n";
    for (auto& [topic, c] : r.undecodable_by_topic)
      std::printf("  %-28s %8zu\n", topic.c_str(), c);
  }
  return exit_ok;
}

} // namespace eventide::cli
