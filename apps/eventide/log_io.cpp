// The log as the commands use it: open it, read topics to their end, produce one record.
#include "log_io.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>

#include "core/text.hpp"
#include "storage/embedded_log.hpp"
#include "storage/kafka_log.hpp"

namespace eventide::cli {

std::shared_ptr<storage::log> open_log(const options& cfg) {
  if (!cfg.brokers.empty()) {
    storage::kafka_options ko;
    ko.brokers = cfg.brokers;
    ko.broker_version_fallback = cfg.kafka_version;
    ko.partitions = cfg.partitions;
    ko.retention_ms = cfg.kafka_retention_ms;
    ko.create_topics = cfg.kafka_version.empty(); // Kafka 0.9 has no CreateTopics API
    ko.session_timeout_ms = cfg.session_timeout_ms;
    ko.exactly_once = cfg.kafka_exactly_once;
    ko.client_id = "eventide-" + cfg.node_id;
    for (const auto& item : core::split_list(cfg.kafka_properties)) {
      auto eq = item.find('=');
      if (eq == std::string::npos || eq == 0)
        die(exit_usage, "eventide.kafka-properties: '" + item + "' is not KEY=VALUE");
      ko.extra.emplace_back(core::trim(item.substr(0, eq)), core::trim(item.substr(eq + 1)));
    }
    auto l = storage::open_kafka_log(ko);
    if (!l)
      die(exit_usage, l.error());
    return std::shared_ptr<storage::log>(std::move(*l));
  }
  storage::embedded_options eo;
  eo.dir = cfg.data_dir + "/log";
  eo.partitions = cfg.partitions;
  auto l = storage::open_embedded_log(eo);
  if (!l)
    die(exit_usage, l.error());
  return std::shared_ptr<storage::log>(std::move(*l));
}

void read_to_end(storage::log& log, const std::vector<std::string>& topic_names,
                 const std::function<void(const storage::record&)>& f,
                 const std::string& key) {
  std::vector<std::pair<storage::topic_partition, log_offset>> start;
  std::map<storage::topic_partition, log_offset> ends;
  // A topic or partition that cannot be looked up is an error, never skipped: a reader that
  // silently reads less would make a missing record look like none was written.
  for (auto& topic : topic_names) {
    auto parts = log.partition_count(topic);
    if (!parts)
      die(exit_failed, "cannot read " + topic + ": " + parts.error());
    for (int32_t p = 0; p < *parts; ++p) {
      if (!key.empty() && p != storage::partition_for_key(key, *parts))
        continue;
      storage::topic_partition tp{topic, p};
      auto wm = log.query_watermarks(tp);
      if (!wm)
        die(exit_failed, "cannot read " + topic + "/" + std::to_string(p) + ": " + wm.error());
      if (wm->high > wm->low) {
        start.emplace_back(tp, wm->low);
        ends[tp] = wm->high;
      }
    }
  }
  if (start.empty())
    return;
  auto c = log.assign(start);
  if (!c)
    die(exit_failed, c.error());
  while (true) {
    bool done = true;
    for (auto& [tp, end] : ends)
      if ((*c)->position_of(tp).value_or(end) < end)
        done = false;
    if (done)
      return;
    auto batch = (*c)->poll(1024, std::chrono::milliseconds(100));
    if (!batch)
      die(exit_failed, "reading the log failed: " + batch.error());
    for (auto& rec : *batch)
      if (key.empty() || rec.key == key)
        f(rec);
  }
}

outcome<storage::position> produce_one(storage::log& log, const std::string& topic,
                                      const std::string& key, const std::string& value,
                                      const storage::record_headers& headers) {
  std::optional<outcome<storage::position>> result;
  log.produce_with_headers(topic, key, value, headers,
                           [&](outcome<storage::position> r) { result = std::move(r); });
  if (auto fl = log.flush(std::chrono::seconds(10)); !fl)
    return fail(fl.error());
  if (!result)
    return fail("no delivery report");
  return std::move(*result);
}

} // namespace eventide::cli
