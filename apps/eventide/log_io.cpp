// The log as the commands use it: open it, read topics to their end, produce one record.
#include "log_io.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>

#include "core/text.hpp"
#include "storage/embedded_log.hpp"
#include "storage/kafka_log.hpp"
#include "storage/log_io.hpp"

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
  if (auto r = storage::read_topics_to_end(log, topic_names, f, key); !r)
    die(exit_failed, r.error());
}

} // namespace eventide::cli
