// The log contract: every case runs against each backend (embedded, mock cluster, real Kafka)
// through storage::log only. Cases hold for any partition count >= 1. Consumer groups with
// several members are in group_contract_test.cpp.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "tests/contract/backends.hpp"
#include "tests/contract/contract.hpp"

using namespace eventide;
using namespace eventide::storage;
using namespace std::chrono_literals;
using namespace contract;
using steady = std::chrono::steady_clock;

namespace {

// ---- cases ------------------------------------------------------------------------------

void ordering_per_key(log_fixture& f) {
  auto& log = f.log();
  const std::string topic = f.make_topic("order");
  const int32_t partitions = partitions_of(log, topic);
  std::vector<key_value> records;
  for (int i = 0; i < 1000; ++i) {
    std::string key = "key-" + std::to_string(i % 20);
    records.push_back({key, key + "#" + std::to_string(i / 20)});
  }
  auto acks = produce_all(log, topic, records);
  std::map<std::string, position> ack_of_value;
  for (size_t i = 0; i < records.size(); ++i) {
    // Java-compatible partitioning, so every client agrees where a key lives.
    REQUIRE(acks[i].partition == partition_for_key(records[i].first, partitions));
    ack_of_value[records[i].second] = acks[i];
  }

  auto c = log.subscribe(group_name("order"), {topic}, offset_reset::earliest);
  REQUIRE(c.ok());
  auto got = consume(**c, records.size(), f.rebalance_wait() + 30s);
  REQUIRE(got.size() == records.size());

  std::map<std::string, int> next_seq;
  std::map<int32_t, int64_t> last_offset;
  for (const auto& r : got) {
    REQUIRE(r.topic == topic);
    REQUIRE(r.partition == partition_for_key(r.key, partitions));
    auto hash = r.value.find('#');
    REQUIRE(hash != std::string::npos);
    REQUIRE(r.value.substr(0, hash) == r.key);
    REQUIRE(std::stoi(r.value.substr(hash + 1)) == next_seq[r.key]++); // in order, no gaps
    auto ack = ack_of_value.at(r.value);
    REQUIRE(ack.partition == r.partition);
    REQUIRE(ack.offset == r.offset); // read where the acknowledgement said it was written
    if (last_offset.count(r.partition))
      REQUIRE(r.offset > last_offset[r.partition]);
    last_offset[r.partition] = r.offset;
  }
  REQUIRE(next_seq.size() == 20);
  for (const auto& [key, seq] : next_seq)
    REQUIRE(seq == 50);
}

void delivery_acknowledgement(log_fixture& f) {
  auto& log = f.log();
  const std::string topic = f.make_topic("ack");
  const int32_t partitions = partitions_of(log, topic);
  std::map<int32_t, int64_t> high_before;
  for (const auto& tp : all_partitions(topic, partitions)) {
    auto w = log.query_watermarks(tp);
    INFO((w.ok() ? "" : w.error()));
    REQUIRE(w.ok());
    REQUIRE(w->low == 0);
    REQUIRE(w->high == 0); // a fresh topic
    high_before[tp.partition] = w->high;
  }
  std::vector<key_value> records;
  for (int i = 0; i < 60; ++i)
    records.push_back({"k" + std::to_string(i % 6), "v" + std::to_string(i)});
  auto acks = produce_all(log, topic, records);

  std::set<std::pair<int32_t, int64_t>> distinct;
  std::map<int32_t, std::vector<int64_t>> offsets;
  std::map<std::string, int64_t> last_of_key;
  for (size_t i = 0; i < acks.size(); ++i) {
    REQUIRE(distinct.insert({acks[i].partition, acks[i].offset}).second);
    offsets[acks[i].partition].push_back(acks[i].offset);
    const auto& key = records[i].first;
    if (last_of_key.count(key))
      REQUIRE(acks[i].offset > last_of_key[key]); // produce order within a key
    last_of_key[key] = acks[i].offset;
  }
  for (const auto& tp : all_partitions(topic, partitions)) {
    auto& got = offsets[tp.partition];
    std::sort(got.begin(), got.end());
    for (size_t i = 0; i < got.size(); ++i)
      REQUIRE(got[i] == high_before[tp.partition] + static_cast<int64_t>(i)); // dense
    auto w = log.query_watermarks(tp);
    REQUIRE(w.ok());
    REQUIRE(w->high == high_before[tp.partition] + static_cast<int64_t>(got.size()));
  }

  // A record that cannot be written is acknowledged once, with a failure.
  int failures = 0;
  log.produce("", "k", "v", [&](outcome<position> p) {
    REQUIRE_FALSE(p.ok());
    REQUIRE_FALSE(p.error().empty());
    ++failures;
  });
  (void)log.flush(10s);
  REQUIRE(failures == 1);
}

void watermarks_per_partition(log_fixture& f) {
  auto& log = f.log();
  const std::string topic = f.make_topic("wm");
  const int32_t partitions = partitions_of(log, topic);
  std::vector<key_value> records(7, {"w", "x"});
  produce_all(log, topic, records);
  const int32_t written = partition_for_key("w", partitions);
  for (const auto& tp : all_partitions(topic, partitions)) {
    auto w = log.query_watermarks(tp);
    REQUIRE(w.ok());
    REQUIRE(w->low == 0);
    REQUIRE(w->high == (tp.partition == written ? 7 : 0));
  }
  auto missing = log.query_watermarks({topic, partitions});
  REQUIRE_FALSE(missing.ok());
  REQUIRE(missing.error().find(topic) != std::string::npos);
}

void group_commit_and_resume(log_fixture& f) {
  auto& log = f.log();
  const std::string topic = f.make_topic("resume");
  const int32_t partitions = partitions_of(log, topic);
  std::vector<key_value> records;
  for (int i = 0; i < 40; ++i)
    records.push_back({"c" + std::to_string(i % 8), std::to_string(i)});
  auto acks = produce_all(log, topic, records);
  const std::string group = group_name("resume");

  std::set<std::pair<int32_t, int64_t>> handled;
  std::map<int32_t, int64_t> next_of;
  {
    auto c = log.subscribe(group, {topic}, offset_reset::earliest);
    REQUIRE(c.ok());
    const auto deadline = steady::now() + f.rebalance_wait() + 30s;
    while (handled.size() < 20 && steady::now() < deadline) {
      auto batch = (*c)->poll(7, 100ms);
      REQUIRE(batch.ok());
      REQUIRE(batch->size() <= 7);
      // Handle only up to 20 even when the batch holds more: the rest must come again.
      for (const auto& r : *batch) {
        if (handled.size() == 20)
          break;
        REQUIRE(handled.insert({r.partition, r.offset}).second);
        next_of[r.partition] = r.offset + 1;
      }
    }
    REQUIRE(handled.size() == 20);
    for (const auto& [p, next] : next_of) {
      auto ok = (*c)->commit({topic, p}, log_offset{next});
      INFO((ok.ok() ? "" : ok.error()));
      REQUIRE(ok.ok());
    }
    for (const auto& tp : all_partitions(topic, partitions)) {
      auto committed = log.committed(group, tp);
      INFO((committed.ok() ? "" : committed.error()));
      REQUIRE(committed.ok());
      if (next_of.count(tp.partition))
        REQUIRE(*committed == std::optional<int64_t>(next_of[tp.partition]));
      else
        REQUIRE_FALSE(committed->has_value());
    }
    (*c)->close();
  }

  auto c = log.subscribe(group, {topic}, offset_reset::earliest);
  REQUIRE(c.ok());
  auto rest = consume(**c, 20, f.rebalance_wait() + 30s);
  REQUIRE(rest.size() == 20);
  std::map<int32_t, int64_t> first_of;
  for (const auto& r : rest) {
    REQUIRE(handled.insert({r.partition, r.offset}).second); // nothing read twice
    if (!first_of.count(r.partition))
      first_of[r.partition] = r.offset;
  }
  for (const auto& [p, first] : first_of)
    REQUIRE(first == (next_of.count(p) ? next_of[p] : 0)); // exactly after the commit
  std::set<std::pair<int32_t, int64_t>> produced;
  for (const auto& a : acks)
    produced.insert({a.partition, a.offset});
  REQUIRE(handled == produced);
}

void offset_reset_for_new_group(log_fixture& f) {
  auto& log = f.log();
  const std::string topic = f.make_topic("reset");
  const int32_t partitions = partitions_of(log, topic);
  std::vector<key_value> old_records;
  for (int i = 0; i < 10; ++i)
    old_records.push_back({"r" + std::to_string(i % 5), "old-" + std::to_string(i)});
  produce_all(log, topic, old_records);

  auto earliest = log.subscribe(group_name("early"), {topic}, offset_reset::earliest);
  REQUIRE(earliest.ok());
  auto early_got = consume(**earliest, 10, f.rebalance_wait() + 30s);
  REQUIRE(early_got.size() == 10);
  for (const auto& r : early_got)
    REQUIRE(r.value.rfind("old-", 0) == 0);

  auto latest = log.subscribe(group_name("late"), {topic}, offset_reset::latest);
  REQUIRE(latest.ok());
  std::vector<record> before;
  wait_for_assignment(**latest, static_cast<size_t>(partitions), f.rebalance_wait(), &before);
  REQUIRE(before.empty()); // "latest" skips what was already there
  for (const auto& tp : all_partitions(topic, partitions)) {
    auto w = log.query_watermarks(tp);
    REQUIRE(w.ok());
    REQUIRE((*latest)->position_of(tp) == std::optional<int64_t>(w->high));
  }
  std::vector<key_value> new_records;
  for (int i = 0; i < 5; ++i)
    new_records.push_back({"r" + std::to_string(i), "new-" + std::to_string(i)});
  produce_all(log, topic, new_records);
  auto late_got = consume(**latest, 5);
  REQUIRE(late_got.size() == 5);
  for (const auto& r : late_got)
    REQUIRE(r.value.rfind("new-", 0) == 0);
  // The earliest group simply continues.
  auto early_more = consume(**earliest, 5);
  REQUIRE(early_more.size() == 5);
}

void seek_back_and_reread(log_fixture& f) {
  auto& log = f.log();
  const std::string topic = f.make_topic("seek");
  const int32_t partitions = partitions_of(log, topic);
  std::vector<key_value> records;
  for (int i = 0; i < 10; ++i)
    records.push_back({"s", "s" + std::to_string(i)});
  produce_all(log, topic, records);
  const topic_partition tp{topic, partition_for_key("s", partitions)};

  auto c = log.subscribe(group_name("seek"), {topic}, offset_reset::earliest);
  REQUIRE(c.ok());
  auto first = consume(**c, 10, f.rebalance_wait() + 30s);
  REQUIRE(first.size() == 10);
  REQUIRE((*c)->position_of(tp) == std::optional<int64_t>(10));

  auto sought = (*c)->seek(tp, log_offset{3});
  INFO((sought.ok() ? "" : sought.error()));
  REQUIRE(sought.ok());
  REQUIRE((*c)->position_of(tp) == std::optional<int64_t>(3));
  auto again = consume(**c, 7);
  REQUIRE(again.size() == 7);
  for (size_t i = 0; i < again.size(); ++i) {
    REQUIRE(again[i].offset == static_cast<int64_t>(3 + i));
    REQUIRE(again[i].value == "s" + std::to_string(3 + i));
    REQUIRE(again[i].key == "s");
  }
  REQUIRE((*c)->position_of(tp) == std::optional<int64_t>(10));

  REQUIRE((*c)->seek(tp, log_offset{10}).ok()); // the end is a valid position
  auto past_end = (*c)->seek(tp, log_offset{11});
  REQUIRE_FALSE(past_end.ok());
  REQUIRE(past_end.error().find("11") != std::string::npos);
  REQUIRE_FALSE((*c)->seek({topic + "-other", 0}, log_offset{0}).ok()); // not assigned
}

void assign_from_offsets(log_fixture& f) {
  auto& log = f.log();
  const std::string topic = f.make_topic("assign");
  const int32_t partitions = partitions_of(log, topic);
  std::vector<key_value> records;
  for (int i = 0; i < 10; ++i)
    records.push_back({"a", "a" + std::to_string(i)});
  produce_all(log, topic, records);
  const topic_partition tp{topic, partition_for_key("a", partitions)};

  auto c = log.assign({{tp, log_offset{4}}});
  INFO((c.ok() ? "" : c.error()));
  REQUIRE(c.ok());
  REQUIRE((*c)->assignment() == std::vector<topic_partition>{tp});
  REQUIRE((*c)->position_of(tp) == std::optional<int64_t>(4));
  auto got = consume(**c, 6);
  REQUIRE(got.size() == 6);
  for (size_t i = 0; i < got.size(); ++i) {
    REQUIRE(got[i].offset == static_cast<int64_t>(4 + i));
    REQUIRE(got[i].value == "a" + std::to_string(4 + i));
  }
  REQUIRE((*c)->position_of(tp) == std::optional<int64_t>(10));
  REQUIRE((*c)->commit(tp, log_offset{10}).ok()); // no group: accepted and ignored

  REQUIRE_FALSE(log.assign({{tp, log_offset{11}}}).ok());           // beyond the high watermark
  // The same partition twice.
  REQUIRE_FALSE(log.assign({{tp, log_offset{0}}, {tp, log_offset{0}}}).ok());
  REQUIRE_FALSE(log.assign({{{topic, partitions}, log_offset{0}}}).ok()); // no such partition
}

void pause_and_resume(log_fixture& f) {
  auto& log = f.log();
  const std::string topic = f.make_topic("pause");
  const int32_t partitions = partitions_of(log, topic);
  std::vector<key_value> records;
  for (int i = 0; i < 5; ++i)
    records.push_back({"p", "p" + std::to_string(i)});
  produce_all(log, topic, records);
  const topic_partition tp{topic, partition_for_key("p", partitions)};

  auto c = log.assign({{tp, log_offset{0}}});
  REQUIRE(c.ok());
  (*c)->pause(tp);
  REQUIRE(consume(**c, 0, 0ms, 700ms).empty()); // paused: nothing comes
  REQUIRE((*c)->position_of(tp) == std::optional<int64_t>(0));
  REQUIRE((*c)->assignment() == std::vector<topic_partition>{tp}); // still assigned
  (*c)->resume(tp);
  auto got = consume(**c, 5);
  REQUIRE(got.size() == 5);
  for (size_t i = 0; i < got.size(); ++i)
    REQUIRE(got[i].offset == static_cast<int64_t>(i));

  (*c)->pause(tp);
  produce_all(log, topic, {{"p", "p5"}, {"p", "p6"}, {"p", "p7"}});
  REQUIRE(consume(**c, 0, 0ms, 700ms).empty());
  (*c)->resume(tp);
  auto more = consume(**c, 3);
  REQUIRE(more.size() == 3);
  for (size_t i = 0; i < more.size(); ++i) {
    REQUIRE(more[i].offset == static_cast<int64_t>(5 + i));
    REQUIRE(more[i].value == "p" + std::to_string(5 + i));
  }
}

void wakeup_interrupts_poll(log_fixture& f) {
  auto& log = f.log();
  const std::string topic = f.make_topic("wake");
  auto c = log.assign({{{topic, 0}, log_offset{0}}});
  REQUIRE(c.ok());
  // Let a Kafka consumer settle its assignment so the only early return is the wakeup.
  REQUIRE(consume(**c, 0, 0ms, 500ms).empty());

  std::thread waker([&] {
    std::this_thread::sleep_for(200ms);
    (*c)->wakeup();
  });
  const auto start = steady::now();
  auto got = (*c)->poll(10, 10s);
  const auto took = steady::now() - start;
  waker.join();
  REQUIRE(got.ok());
  REQUIRE(got->empty());
  REQUIRE(took >= 150ms);
  REQUIRE(took < 3s);

  // A wakeup while nobody polls makes the next poll return at once.
  (*c)->wakeup();
  const auto again = steady::now();
  auto quick = (*c)->poll(10, 10s);
  REQUIRE(quick.ok());
  REQUIRE(steady::now() - again < 3s);
}

// Not a contract, a measurement: one produce -> consume hop, reported with WARN.
void produce_to_consume_latency(log_fixture& f, const char* backend) {
  auto& log = f.log();
  const std::string topic = f.make_topic("latency");
  const int32_t partitions = partitions_of(log, topic);
  const topic_partition tp{topic, partition_for_key("lat", partitions)};
  produce_all(log, topic, {{"lat", "warm-up"}});
  auto c = log.assign({{tp, log_offset{1}}});
  REQUIRE(c.ok());
  REQUIRE(consume(**c, 0, 0ms, 300ms).empty());
  std::vector<double> hops_ms;
  for (int i = 0; i < 200; ++i) {
    const auto start = steady::now();
    log.produce(topic, "lat", std::to_string(i), [](outcome<position> p) { REQUIRE(p.ok()); });
    std::vector<record> got;
    while (got.empty() && steady::now() - start < 5s) {
      auto batch = (*c)->poll(1, 1s);
      REQUIRE(batch.ok());
      got = std::move(*batch);
    }
    REQUIRE(got.size() == 1);
    REQUIRE(got[0].value == std::to_string(i));
    hops_ms.push_back(std::chrono::duration<double, std::milli>(steady::now() - start).count());
    log.serve(0ms);
  }
  REQUIRE(log.flush(10s).ok());
  std::sort(hops_ms.begin(), hops_ms.end());
  const double p50 = hops_ms[hops_ms.size() / 2], p99 = hops_ms[hops_ms.size() * 99 / 100];
  WARN(backend << " produce->consume latency over 200 hops: p50 " << p50 << " ms, p99 " << p99
               << " ms");
  REQUIRE(p50 < 250.0);
}


} // namespace


LOG_CONTRACT("records of a key keep their order in one partition", ordering_per_key)
LOG_CONTRACT("every produce is acknowledged once with a distinct offset", delivery_acknowledgement)
LOG_CONTRACT("watermarks track each partition", watermarks_per_partition)
LOG_CONTRACT("a group resumes exactly after its committed offsets", group_commit_and_resume)
LOG_CONTRACT("a new group starts at earliest or latest", offset_reset_for_new_group)
LOG_CONTRACT("seek moves back and records are read again", seek_back_and_reread)
LOG_CONTRACT("assign reads given partitions from given offsets", assign_from_offsets)
LOG_CONTRACT("pause holds a partition back and resume continues it", pause_and_resume)
LOG_CONTRACT("wakeup makes a blocked poll return", wakeup_interrupts_poll)

TEST_CASE("embedded: produce->consume latency", "[contract][embedded][latency]") {
  run(backend_kind::embedded, [](log_fixture& f) { produce_to_consume_latency(f, "embedded"); });
}
TEST_CASE("mock: produce->consume latency", "[contract][mock][latency]") {
  run(backend_kind::mock, [](log_fixture& f) { produce_to_consume_latency(f, "mock cluster"); });
}
TEST_CASE("kafka: produce->consume latency", "[contract][kafka][latency]") {
  run(backend_kind::kafka, [](log_fixture& f) { produce_to_consume_latency(f, "kafka"); });
}
