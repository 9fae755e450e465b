// read_topics_to_end and produce_one (log_io.hpp).
#include "storage/log_io.hpp"

#include <map>
#include <optional>

namespace eventide::storage {

outcome<void> read_topics_to_end(log& l, const std::vector<std::string>& topics,
                          const std::function<void(const record&)>& f, const std::string& key) {
  std::vector<std::pair<topic_partition, log_offset>> start;
  std::map<topic_partition, log_offset> ends;
  for (auto& topic : topics) {
    auto parts = l.partition_count(topic);
    if (!parts)
      return fail("cannot read " + topic + ": " + parts.error());
    for (int32_t p = 0; p < *parts; ++p) {
      if (!key.empty() && p != partition_for_key(key, *parts))
        continue;
      topic_partition tp{topic, p};
      auto wm = l.query_watermarks(tp);
      if (!wm)
        return fail("cannot read " + to_string(tp) + ": " + wm.error());
      if (wm->high > wm->low) {
        start.emplace_back(tp, wm->low);
        ends[tp] = wm->high;
      }
    }
  }
  if (start.empty())
    return {};
  auto c = l.assign(start);
  if (!c)
    return fail(c.error());
  while (true) {
    bool done = true;
    for (auto& [tp, end] : ends)
      if ((*c)->position_of(tp).value_or(end) < end)
        done = false;
    if (done)
      return {};
    auto batch = (*c)->poll(1024, std::chrono::milliseconds(100));
    if (!batch)
      return fail("reading the log failed: " + batch.error());
    for (auto& rec : *batch)
      if (key.empty() || rec.key == key)
        f(rec);
  }
}

outcome<position> produce_one(log& l, const std::string& topic, const std::string& key,
                              const std::string& value, const record_headers& headers) {
  std::optional<outcome<position>> result;
  l.produce_with_headers(topic, key, value, headers,
                         [&](outcome<position> r) { result = std::move(r); });
  if (auto fl = l.flush(std::chrono::seconds(10)); !fl)
    return fail(fl.error());
  if (!result)
    return fail("no delivery report");
  return std::move(*result);
}

} // namespace eventide::storage
