#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <set>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "storage/embedded_log.hpp"
#include "tests/temp_dir.hpp"

extern char** environ;

using namespace eventide;
using namespace eventide::storage;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

using testing::temp_dir;

std::unique_ptr<storage::log> open_log(const std::string& dir, int32_t partitions = 3) {
  embedded_options options;
  options.dir = dir;
  options.partitions = partitions;
  auto opened = open_embedded_log(options);
  REQUIRE(opened.ok());
  return std::move(opened).value();
}

position produce_sync(storage::log& l, const std::string& topic, const std::string& key,
                      const std::string& value) {
  std::optional<outcome<position>> delivered;
  l.produce(topic, key, value, [&](outcome<position> p) { delivered.emplace(std::move(p)); });
  REQUIRE(delivered.has_value()); // the embedded log delivers inline
  REQUIRE(delivered->ok());
  return delivered->value();
}

// A key that the murmur2 partitioner sends to `partition`.
std::string key_for_partition(int32_t partition, int32_t partitions) {
  for (int i = 0;; ++i) {
    std::string key = "key-" + std::to_string(i);
    if (partition_for_key(key, partitions) == partition)
      return key;
  }
}

// Polls until `count` records arrived or two seconds passed.
std::vector<record> poll_n(consumer& c, size_t count) {
  std::vector<record> all;
  auto deadline = steady::now() + 2s;
  while (all.size() < count && steady::now() < deadline) {
    auto batch = c.poll(count - all.size(), 50ms);
    REQUIRE(batch.ok());
    for (auto& r : batch.value())
      all.push_back(std::move(r));
  }
  return all;
}

// Polls until a poll comes back empty.
std::vector<record> drain(consumer& c) {
  std::vector<record> all;
  for (;;) {
    auto batch = c.poll(100, 50ms);
    REQUIRE(batch.ok());
    if (batch.value().empty())
      return all;
    for (auto& r : batch.value())
      all.push_back(std::move(r));
  }
}

std::set<topic_partition> as_set(const std::vector<topic_partition>& v) {
  return {v.begin(), v.end()};
}

std::vector<topic_partition> partitions_of(const std::string& topic, int32_t n) {
  std::vector<topic_partition> out;
  for (int32_t p = 0; p < n; ++p)
    out.push_back({topic, p});
  return out;
}

} // namespace

TEST_CASE("embedded log assigns contiguous offsets per partition by key hash", "[embedded]") {
  temp_dir dir;
  auto l = open_log(dir.path, 3);
  CHECK(l->describe() == "embedded:" + dir.path);

  std::map<int32_t, int64_t> next;
  for (int i = 0; i < 30; ++i) {
    std::string key = "conv-" + std::to_string(i % 10);
    auto pos = produce_sync(*l, "events", key, "v" + std::to_string(i));
    CHECK(pos.partition == partition_for_key(key, 3));
    CHECK(pos.offset == next[pos.partition]++); // 0, 1, 2, ... in every partition
  }
  auto count = l->partition_count("events");
  REQUIRE(count.ok());
  CHECK(count.value() == 3);
  int64_t total = 0;
  for (int32_t p = 0; p < 3; ++p) {
    auto wm = l->query_watermarks({"events", p});
    REQUIRE(wm.ok());
    CHECK(wm.value().low == 0);
    CHECK(wm.value().high == next[p]);
    total += wm.value().high;
  }
  CHECK(total == 30);

  // Asking about a new topic creates it, like a broker with auto-create.
  auto fresh = l->partition_count("fresh");
  REQUIRE(fresh.ok());
  CHECK(fresh.value() == 3);
  CHECK(l->query_watermarks({"fresh", 2}).value().high == 0);
  CHECK_FALSE(l->partition_count("bad topic name!").ok());
  auto bad_partition = l->query_watermarks({"events", 3});
  REQUIRE_FALSE(bad_partition.ok());
  CHECK(bad_partition.error() == "embedded log: topic 'events' has no partition 3 (it has 3)");
  l->serve(0ms); // deliveries already ran inline
  CHECK(l->flush(0ms).ok());
}

TEST_CASE("embedded log rejects topic names Kafka would reject", "[embedded]") {
  temp_dir dir;
  auto l = open_log(dir.path);
  std::optional<outcome<position>> delivered;
  l->produce("bad/topic", "k", "v", [&](outcome<position> p) { delivered.emplace(std::move(p)); });
  REQUIRE(delivered.has_value());
  REQUIRE_FALSE(delivered->ok());
  CHECK(delivered->error().find("may only contain letters, digits") != std::string::npos);
  CHECK_FALSE(l->subscribe("g", {""}, offset_reset::earliest).ok());
  CHECK_FALSE(l->subscribe("", {"t"}, offset_reset::earliest).ok());
}

TEST_CASE("embedded log polls records in offset order with their key, value and time",
          "[embedded]") {
  temp_dir dir;
  auto l = open_log(dir.path, 3);
  auto before = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  std::map<std::string, std::vector<std::string>> sent; // per key, in produce order
  for (int i = 0; i < 60; ++i) {
    std::string key = "k" + std::to_string(i % 7);
    std::string value = "value-" + std::to_string(i);
    produce_sync(*l, "events", key, value);
    sent[key].push_back(value);
  }
  auto c = l->subscribe("readers", {"events"}, offset_reset::earliest);
  REQUIRE(c.ok());
  auto records = poll_n(*c.value(), 60);
  REQUIRE(records.size() == 60);

  std::map<int32_t, int64_t> expected_offset;
  std::map<std::string, std::vector<std::string>> received;
  for (const auto& r : records) {
    CHECK(r.topic == "events");
    CHECK(r.partition == partition_for_key(r.key, 3));
    CHECK(r.offset == expected_offset[r.partition]++);
    CHECK(r.timestamp_ms >= before);
    received[r.key].push_back(r.value);
  }
  CHECK(received == sent);
  for (int32_t p = 0; p < 3; ++p)
    CHECK(c.value()->position_of({"events", p}) == std::optional<int64_t>(expected_offset[p]));
  // Nothing more to read: a short poll times out empty.
  auto empty = c.value()->poll(10, 20ms);
  REQUIRE(empty.ok());
  CHECK(empty.value().empty());
}

TEST_CASE("embedded log poll shares a batch fairly between partitions", "[embedded]") {
  temp_dir dir;
  auto l = open_log(dir.path, 3);
  for (int32_t p = 0; p < 3; ++p)
    for (int i = 0; i < 10; ++i)
      produce_sync(*l, "events", key_for_partition(p, 3), "p" + std::to_string(p));
  auto c = l->assign({{{"events", 0}, log_offset{0}},
                      {{"events", 1}, log_offset{0}},
                      {{"events", 2}, log_offset{0}}});
  REQUIRE(c.ok());
  for (int round = 0; round < 3; ++round) {
    auto batch = c.value()->poll(6, 100ms);
    REQUIRE(batch.ok());
    REQUIRE(batch.value().size() == 6);
    std::map<int32_t, int> per_partition;
    for (const auto& r : batch.value())
      ++per_partition[r.partition];
    CHECK(per_partition == std::map<int32_t, int>{{0, 2}, {1, 2}, {2, 2}});
  }
  // Batches smaller than the partition count rotate the partition served first.
  std::set<int32_t> served;
  for (int round = 0; round < 3; ++round) {
    auto one = c.value()->poll(1, 100ms);
    REQUIRE(one.ok());
    REQUIRE(one.value().size() == 1);
    served.insert(one.value()[0].partition);
  }
  CHECK(served == std::set<int32_t>{0, 1, 2});
}

TEST_CASE("embedded log survives close and reopen", "[embedded]") {
  temp_dir dir;
  std::vector<position> written;
  {
    auto l = open_log(dir.path, 4);
    for (int i = 0; i < 20; ++i)
      written.push_back(produce_sync(*l, "events", "k" + std::to_string(i), std::to_string(i)));
    auto c = l->subscribe("g", {"events"}, offset_reset::earliest);
    REQUIRE(c.ok());
    auto got = poll_n(*c.value(), 20);
    REQUIRE(got.size() == 20);
    REQUIRE(c.value()->commit({"events", 1}, log_offset{2}).ok());
    c.value()->close();
  }
  // Reopen with a different default: existing topics keep their partition count.
  auto l = open_log(dir.path, 9);
  auto count = l->partition_count("events");
  REQUIRE(count.ok());
  CHECK(count.value() == 4);
  auto commit = l->committed("g", {"events", 1});
  REQUIRE(commit.ok());
  CHECK(commit.value() == std::optional<int64_t>(2));
  auto none = l->committed("g", {"events", 0});
  REQUIRE(none.ok());
  CHECK_FALSE(none.value().has_value());

  std::map<int32_t, int64_t> high;
  for (const auto& p : written)
    high[p.partition] = std::max(high[p.partition], p.offset + 1);
  for (int32_t p = 0; p < 4; ++p) {
    auto wm = l->query_watermarks({"events", p});
    REQUIRE(wm.ok());
    CHECK(wm.value().high == high[p]);
  }
  // Appends continue after the recovered high watermark.
  auto next = produce_sync(*l, "events", "k0", "again");
  CHECK(next.offset == high[next.partition]);

  auto c = l->assign({{{"events", next.partition}, log_offset{0}}});
  REQUIRE(c.ok());
  auto records = poll_n(*c.value(), static_cast<size_t>(high[next.partition] + 1));
  REQUIRE(records.size() == static_cast<size_t>(high[next.partition] + 1));
  CHECK(records.back().value == "again");
  for (size_t i = 0; i < records.size(); ++i)
    CHECK(records[i].offset == static_cast<int64_t>(i));
}

TEST_CASE("embedded log group resumes from its committed offset", "[embedded]") {
  temp_dir dir;
  auto l = open_log(dir.path, 1);
  for (int i = 0; i < 10; ++i)
    produce_sync(*l, "events", "k", std::to_string(i));
  {
    auto c = l->subscribe("g", {"events"}, offset_reset::earliest);
    REQUIRE(c.ok());
    auto got = poll_n(*c.value(), 4);
    REQUIRE(got.size() == 4);
    CHECK(got.front().value == "0");
    REQUIRE(c.value()->commit({"events", 0}, log_offset{4}).ok());
    // Read further without committing: those must be read again after a restart.
    REQUIRE(poll_n(*c.value(), 3).size() == 3);
  }
  auto committed = l->committed("g", {"events", 0});
  REQUIRE(committed.ok());
  CHECK(committed.value() == std::optional<int64_t>(4));

  auto c = l->subscribe("g", {"events"}, offset_reset::latest); // commit wins over reset
  REQUIRE(c.ok());
  auto got = poll_n(*c.value(), 6);
  REQUIRE(got.size() == 6);
  CHECK(got.front().offset == 4);
  CHECK(got.front().value == "4");
  CHECK(got.back().offset == 9);
}

TEST_CASE("embedded log offset reset earliest vs latest", "[embedded]") {
  temp_dir dir;
  auto l = open_log(dir.path, 1);
  for (int i = 0; i < 5; ++i)
    produce_sync(*l, "events", "k", "old" + std::to_string(i));
  auto early = l->subscribe("early", {"events"}, offset_reset::earliest);
  auto late = l->subscribe("late", {"events"}, offset_reset::latest);
  REQUIRE(early.ok());
  REQUIRE(late.ok());
  CHECK(poll_n(*early.value(), 5).size() == 5);
  auto nothing = late.value()->poll(10, 30ms);
  REQUIRE(nothing.ok());
  CHECK(nothing.value().empty());
  CHECK(late.value()->position_of({"events", 0}) == std::optional<int64_t>(5));

  produce_sync(*l, "events", "k", "new");
  auto fresh = poll_n(*late.value(), 1);
  REQUIRE(fresh.size() == 1);
  CHECK(fresh[0].value == "new");
  CHECK(fresh[0].offset == 5);
}

TEST_CASE("embedded log seek moves the read position", "[embedded]") {
  temp_dir dir;
  auto l = open_log(dir.path, 1);
  for (int i = 0; i < 5; ++i)
    produce_sync(*l, "events", "k", std::to_string(i));
  auto c = l->assign({{{"events", 0}, log_offset{0}}});
  REQUIRE(c.ok());
  REQUIRE(poll_n(*c.value(), 5).size() == 5);
  CHECK(c.value()->position_of({"events", 0}) == std::optional<int64_t>(5));

  REQUIRE(c.value()->seek({"events", 0}, log_offset{2}).ok());
  CHECK(c.value()->position_of({"events", 0}) == std::optional<int64_t>(2));
  auto again = poll_n(*c.value(), 3);
  REQUIRE(again.size() == 3);
  CHECK(again[0].value == "2");
  CHECK(again[2].value == "4");

  CHECK_FALSE(c.value()->seek({"events", 0}, log_offset{6}).ok()); // past the high watermark
  CHECK_FALSE(c.value()->seek({"events", 0}, log_offset{-1}).ok());
  CHECK_FALSE(c.value()->seek({"other", 0}, log_offset{0}).ok()); // not assigned
  CHECK_FALSE(c.value()->position_of({"other", 0}).has_value());
}

TEST_CASE("embedded log poll blocks until data or timeout", "[embedded]") {
  temp_dir dir;
  auto l = open_log(dir.path, 3);
  auto c = l->subscribe("g", {"events"}, offset_reset::earliest);
  REQUIRE(c.ok());

  auto start = steady::now();
  auto empty = c.value()->poll(10, 150ms);
  auto waited = steady::now() - start;
  REQUIRE(empty.ok());
  CHECK(empty.value().empty());
  CHECK(waited >= 150ms);

  std::atomic<int64_t> produced_at{0};
  std::thread producer([&] {
    std::this_thread::sleep_for(100ms);
    produced_at = steady::now().time_since_epoch().count();
    l->produce("events", "k", "hello", nullptr); // no Catch assertions off the main thread
  });
  start = steady::now();
  auto got = c.value()->poll(10, 5s);
  auto returned_at = steady::now();
  producer.join();
  REQUIRE(got.ok());
  REQUIRE(got.value().size() == 1);
  CHECK(got.value()[0].value == "hello");
  auto latency = returned_at - steady::time_point(steady::duration(produced_at.load()));
  CHECK(latency < 50ms);
  CHECK(returned_at - start < 2s);
}

TEST_CASE("embedded log wakeup interrupts a blocked poll", "[embedded]") {
  temp_dir dir;
  auto l = open_log(dir.path, 3);
  auto c = l->subscribe("g", {"events"}, offset_reset::earliest);
  REQUIRE(c.ok());
  consumer& cons = *c.value();

  std::thread waker([&] {
    std::this_thread::sleep_for(50ms);
    cons.wakeup();
  });
  auto start = steady::now();
  auto got = cons.poll(10, 10s);
  auto waited = steady::now() - start;
  waker.join();
  REQUIRE(got.ok());
  CHECK(got.value().empty());
  CHECK(waited < 2s);

  // A wakeup while not polling makes the next poll return at once.
  cons.wakeup();
  start = steady::now();
  REQUIRE(cons.poll(10, 10s).ok());
  CHECK(steady::now() - start < 1s);
  // ...and only that one.
  start = steady::now();
  REQUIRE(cons.poll(10, 60ms).ok());
  CHECK(steady::now() - start >= 60ms);
}

TEST_CASE("embedded log pause and resume a partition", "[embedded]") {
  temp_dir dir;
  auto l = open_log(dir.path, 2);
  std::string k0 = key_for_partition(0, 2), k1 = key_for_partition(1, 2);
  for (int i = 0; i < 3; ++i) {
    produce_sync(*l, "events", k0, "zero");
    produce_sync(*l, "events", k1, "one");
  }
  auto c = l->assign({{{"events", 0}, log_offset{0}}, {{"events", 1}, log_offset{0}}});
  REQUIRE(c.ok());
  c.value()->pause({"events", 0});
  auto got = poll_n(*c.value(), 3);
  REQUIRE(got.size() == 3);
  for (const auto& r : got)
    CHECK(r.partition == 1);
  auto nothing = c.value()->poll(10, 30ms);
  REQUIRE(nothing.ok());
  CHECK(nothing.value().empty());
  CHECK(c.value()->assignment().size() == 2); // paused, not unassigned

  c.value()->resume({"events", 0});
  auto rest = poll_n(*c.value(), 3);
  REQUIRE(rest.size() == 3);
  for (const auto& r : rest)
    CHECK(r.partition == 0);
}

TEST_CASE("embedded log group members split partitions and rebalance", "[embedded]") {
  temp_dir dir;
  auto l = open_log(dir.path, 6);
  const auto all = as_set(partitions_of("events", 6));

  struct seen {
    std::vector<std::pair<std::set<topic_partition>, std::set<topic_partition>>> calls;
  };
  seen calls1, calls2;
  auto first = l->subscribe("workers", {"events"}, offset_reset::earliest);
  REQUIRE(first.ok());
  consumer& c1 = *first.value();
  c1.set_rebalance_listener([&](const auto& revoked, const auto& assigned) {
    calls1.calls.push_back({as_set(revoked), as_set(assigned)});
    for (const auto& tp : revoked) // commit what was handled before giving it away
      REQUIRE(c1.commit(tp, *c1.position_of(tp)).ok());
  });
  CHECK(c1.assignment().empty()); // assignment arrives with the first poll
  REQUIRE(c1.poll(10, 0ms).ok());
  REQUIRE(calls1.calls.size() == 1);
  CHECK(calls1.calls[0].first.empty());
  CHECK(calls1.calls[0].second == all);
  CHECK(as_set(c1.assignment()) == all);

  // Records everywhere; the first member reads them all and so will commit them on revoke.
  for (int i = 0; i < 60; ++i)
    produce_sync(*l, "events", "k" + std::to_string(i), "old");
  REQUIRE(poll_n(c1, 60).size() == 60);

  auto second = l->subscribe("workers", {"events"}, offset_reset::earliest);
  REQUIRE(second.ok());
  consumer& c2 = *second.value();
  c2.set_rebalance_listener([&](const auto& revoked, const auto& assigned) {
    calls2.calls.push_back({as_set(revoked), as_set(assigned)});
  });
  // The second member waits for the first to release its share.
  auto early = c2.poll(10, 20ms);
  REQUIRE(early.ok());
  CHECK(early.value().empty());
  CHECK(c2.assignment().empty());

  REQUIRE(c1.poll(10, 0ms).ok());
  REQUIRE(calls1.calls.size() == 2);
  const auto revoked = calls1.calls[1].first;
  CHECK(revoked.size() == 3);
  CHECK(calls1.calls[1].second.empty());

  REQUIRE(c2.poll(10, 0ms).ok());
  REQUIRE(calls2.calls.size() == 1);
  CHECK(calls2.calls[0].first.empty());
  CHECK(calls2.calls[0].second == revoked);

  auto a1 = as_set(c1.assignment()), a2 = as_set(c2.assignment());
  CHECK(a1.size() == 3);
  CHECK(a2 == revoked);
  std::set<topic_partition> both;
  both.insert(a1.begin(), a1.end());
  both.insert(a2.begin(), a2.end());
  CHECK(both == all); // together they cover everything...
  for (const auto& tp : a1)
    CHECK_FALSE(a2.count(tp)); // ...and never share a partition

  // The second member starts where the first committed, so old records are not re-read.
  for (const auto& tp : a2) {
    auto wm = l->query_watermarks(tp);
    REQUIRE(wm.ok());
    CHECK(c2.position_of(tp) == std::optional<int64_t>(wm.value().high));
  }
  for (int i = 0; i < 60; ++i)
    produce_sync(*l, "events", "k" + std::to_string(i), "new");
  auto got1 = drain(c1);
  auto got2 = drain(c2);
  CHECK(got1.size() + got2.size() == 60);
  for (const auto& r : got1)
    CHECK(a1.count({r.topic, r.partition}));
  for (const auto& r : got2) {
    CHECK(a2.count({r.topic, r.partition}));
    CHECK(r.value == "new");
  }

  // When the second member leaves, the first gets everything back.
  c2.close();
  REQUIRE(c1.poll(10, 0ms).ok());
  REQUIRE(calls1.calls.size() == 3);
  CHECK(calls1.calls[2].first.empty());
  CHECK(calls1.calls[2].second == revoked);
  CHECK(as_set(c1.assignment()) == all);
  CHECK_FALSE(c2.poll(1, 0ms).ok()); // closed
}

TEST_CASE("embedded log hands a released partition to a member blocked in poll",
          "[embedded]") {
  temp_dir dir;
  auto l = open_log(dir.path, 2);
  auto first = l->subscribe("g", {"events"}, offset_reset::earliest);
  REQUIRE(first.ok());
  REQUIRE(first.value()->poll(1, 0ms).ok());
  CHECK(first.value()->assignment().size() == 2);

  auto second = l->subscribe("g", {"events"}, offset_reset::earliest);
  REQUIRE(second.ok());
  std::vector<topic_partition> assigned;
  std::atomic<bool> listener_ran{false};
  second.value()->set_rebalance_listener([&](const auto&, const auto& a) {
    assigned.insert(assigned.end(), a.begin(), a.end());
    listener_ran = true;
  });
  bool polled_ok = false;
  std::thread other([&] { polled_ok = second.value()->poll(10, 10s).ok(); });
  std::this_thread::sleep_for(30ms);
  first.value()->close(); // releases both; the blocked member takes them inside its poll
  auto start = steady::now();
  while (!listener_ran && steady::now() - start < 2s)
    std::this_thread::sleep_for(1ms);
  CHECK(listener_ran);
  second.value()->wakeup(); // no records will come; end the poll
  other.join();
  CHECK(polled_ok);
  CHECK(as_set(assigned) == as_set(partitions_of("events", 2)));
}

TEST_CASE("embedded log rejects commits for partitions a member does not own", "[embedded]") {
  temp_dir dir;
  auto l = open_log(dir.path, 2);
  auto c = l->subscribe("g", {"events"}, offset_reset::earliest);
  REQUIRE(c.ok());
  // The assignment is not yet taken in poll().
  auto early = c.value()->commit({"events", 0}, log_offset{1});
  REQUIRE_FALSE(early.ok());
  CHECK(early.error().find("not assigned to this member") != std::string::npos);
  REQUIRE(c.value()->poll(1, 0ms).ok());
  CHECK(c.value()->commit({"events", 0}, log_offset{1}).ok());
  CHECK_FALSE(c.value()->commit({"events", 0}, log_offset{-1}).ok());
  CHECK_FALSE(c.value()->commit({"other", 0}, log_offset{1}).ok());
}

TEST_CASE("embedded log assign() reads fixed partitions without a group", "[embedded]") {
  temp_dir dir;
  auto l = open_log(dir.path, 2);
  std::string k1 = key_for_partition(1, 2);
  for (int i = 0; i < 5; ++i)
    produce_sync(*l, "events", k1, std::to_string(i));
  produce_sync(*l, "events", key_for_partition(0, 2), "elsewhere");

  auto c = l->assign({{{"events", 1}, log_offset{3}}});
  REQUIRE(c.ok());
  CHECK(c.value()->assignment() == std::vector<topic_partition>{{"events", 1}});
  auto got = poll_n(*c.value(), 2);
  REQUIRE(got.size() == 2);
  CHECK(got[0].offset == 3);
  CHECK(got[1].value == "4");
  CHECK(c.value()->commit({"events", 1}, log_offset{5}).ok()); // no group: nothing to commit
  auto nothing = c.value()->poll(10, 20ms);
  REQUIRE(nothing.ok());
  CHECK(nothing.value().empty()); // partition 0 is not assigned

  CHECK_FALSE(l->assign({{{"events", 1}, log_offset{6}}}).ok()); // beyond the high watermark
  CHECK_FALSE(l->assign({{{"events", 2}, log_offset{0}}}).ok()); // no such partition
  // twice
  CHECK_FALSE(l->assign({{{"events", 1}, log_offset{0}}, {{"events", 1}, log_offset{1}}}).ok());
}

TEST_CASE("embedded log delivers every record once with concurrent producers", "[embedded]") {
  temp_dir dir;
  auto l = open_log(dir.path, 4);
  auto c = l->subscribe("g", {"events"}, offset_reset::earliest);
  REQUIRE(c.ok());
  constexpr int producers = 4, per_producer = 250;
  std::vector<record> received;
  std::thread reader([&] {
    auto deadline = steady::now() + 10s;
    while (received.size() < producers * per_producer && steady::now() < deadline) {
      auto batch = c.value()->poll(100, 100ms);
      if (!batch.ok())
        return;
      for (auto& r : batch.value())
        received.push_back(std::move(r));
    }
  });
  std::vector<std::thread> writers;
  for (int w = 0; w < producers; ++w)
    writers.emplace_back([&l, w] {
      for (int i = 0; i < per_producer; ++i)
        l->produce("events", "w" + std::to_string(w), std::to_string(i), nullptr);
    });
  for (auto& t : writers)
    t.join();
  reader.join();
  REQUIRE(received.size() == producers * per_producer);
  std::map<std::string, int> next_value;
  std::map<int32_t, int64_t> next_offset;
  for (const auto& r : received) {
    CHECK(r.offset == next_offset[r.partition]++);
    CHECK(r.value == std::to_string(next_value[r.key]++)); // each writer's order is kept
  }
}

TEST_CASE("embedded log refuses a directory that is already open in this process",
          "[embedded]") {
  temp_dir dir;
  auto l = open_log(dir.path);
  embedded_options options;
  options.dir = dir.path;
  auto second = open_embedded_log(options);
  REQUIRE_FALSE(second.ok());
  CHECK(second.error()
        == "embedded log at " + dir.path + " is in use by another process (RocksDB lock)");
  l.reset();
  CHECK(open_embedded_log(options).ok()); // free again once closed
}

TEST_CASE("embedded log reports unusable directories", "[embedded]") {
  embedded_options options;
  CHECK_FALSE(open_embedded_log(options).ok()); // no dir
  temp_dir dir;
  std::string file = dir.path + "/plain-file";
  std::FILE* f = std::fopen(file.c_str(), "w");
  REQUIRE(f != nullptr);
  std::fclose(f);
  options.dir = file + "/log";
  auto opened = open_embedded_log(options);
  REQUIRE_FALSE(opened.ok());
  CHECK(opened.error().find(file) != std::string::npos);
  options.dir = dir.path;
  options.partitions = 0;
  CHECK_FALSE(open_embedded_log(options).ok());
}

// Runs only as the child process of the test below: writes records and a commit, says it is
// ready on fd 3, then waits to be killed with SIGKILL.
TEST_CASE("embedded_log_child_writer", "[.]") {
  const char* dir = std::getenv("EVENTIDE_EMBEDDED_CHILD_DIR");
  if (dir == nullptr) {
    SUCCEED("only meaningful as a child process");
    return;
  }
  embedded_options options;
  options.dir = dir;
  options.partitions = 3;
  auto l = open_embedded_log(options);
  if (!l.ok())
    _exit(2);
  for (int i = 0; i < 50; ++i)
    l.value()->produce("crash", "k" + std::to_string(i % 7), std::to_string(i), nullptr);
  auto member = l.value()->subscribe("g", {"crash"}, offset_reset::earliest);
  if (!member.ok() || !member.value()->poll(1, 0ms).ok()
      || !member.value()->commit({"crash", 0}, log_offset{1}).ok())
    _exit(3);
  if (write(3, "r", 1) != 1)
    _exit(4);
  for (;;)
    pause();
}

TEST_CASE("embedded log is locked against other processes and survives kill -9",
          "[embedded]") {
  temp_dir dir;
  int ready[2];
  REQUIRE(pipe2(ready, O_CLOEXEC) == 0);

  std::string env_entry = "EVENTIDE_EMBEDDED_CHILD_DIR=" + dir.path;
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e)
    envp.push_back(*e);
  envp.push_back(env_entry.data());
  envp.push_back(nullptr);
  char exe[] = "/proc/self/exe";
  char test_name[] = "embedded_log_child_writer";
  char* argv[] = {exe, test_name, nullptr};

  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // Only async-signal-safe calls between fork and exec.
    dup2(ready[1], 3); // dup2 clears close-on-exec on the copy
    int null_fd = open("/dev/null", O_WRONLY);
    dup2(null_fd, 1);
    execve(exe, argv, envp.data());
    _exit(127);
  }
  close(ready[1]);
  struct pollfd pfd {ready[0], POLLIN, 0};
  int polled = ::poll(&pfd, 1, 20000);
  char byte = 0;
  bool child_ready = polled == 1 && read(ready[0], &byte, 1) == 1 && byte == 'r';
  close(ready[0]);
  if (!child_ready) {
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    FAIL("child process did not get ready");
  }

  embedded_options options;
  options.dir = dir.path;
  auto locked = open_embedded_log(options);
  REQUIRE_FALSE(locked.ok());
  CHECK(locked.error()
        == "embedded log at " + dir.path + " is in use by another process (RocksDB lock)");

  REQUIRE(kill(child, SIGKILL) == 0);
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);

  // Everything the child was told was delivered is there after the crash.
  auto l = open_log(dir.path);
  int64_t total = 0;
  for (int32_t p = 0; p < 3; ++p) {
    auto wm = l->query_watermarks({"crash", p});
    REQUIRE(wm.ok());
    total += wm.value().high;
  }
  CHECK(total == 50);
  auto commit = l->committed("g", {"crash", 0});
  REQUIRE(commit.ok());
  CHECK(commit.value() == std::optional<int64_t>(1));
}
