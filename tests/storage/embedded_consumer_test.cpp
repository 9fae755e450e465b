// The embedded log's consumers (storage/embedded_consumer.cpp): groups, commits, resets, seeks,
// blocking polls, wakeups, pauses, rebalances and fixed assignments.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "storage/embedded_log.hpp"
#include "tests/storage/embedded_log_fixture.hpp"
#include "tests/temp_dir.hpp"

using namespace eventide;
using namespace eventide::storage;
using namespace eventide::testing;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

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

TEST_CASE("embedded consumer notifies of what its next poll may return, and only that",
          "[embedded]") {
  // Consumer bridges on the embedded log do not wait in poll(): they sleep until notified
  // (consumer::set_notify), so a missing notification is a hop that never happens.
  temp_dir dir;
  auto l = open_log(dir.path, 2);
  REQUIRE(l->notifies_consumers());
  produce_sync(*l, "other", "k", "x"); // the topics exist before anyone subscribes
  produce_sync(*l, "events", key_for_partition(0, 2), "before");
  auto a = l->subscribe("g", {"events"}, offset_reset::earliest);
  REQUIRE(a.ok());
  std::atomic<int> notified{0};
  REQUIRE(a.value()->set_notify([&] { ++notified; }));
  CHECK(poll_n(*a.value(), 1).size() == 1); // takes partitions 0 and 1
  notified = 0;

  produce_sync(*l, "events", key_for_partition(1, 2), "owned");
  CHECK(notified == 1);
  produce_sync(*l, "other", "k", "not subscribed");
  CHECK(notified == 1);
  auto got = a.value()->poll(10, 0ms);
  REQUIRE(got.ok());
  REQUIRE(got->size() == 1);
  CHECK(got->front().value == "owned");

  // A second member: the group rebalances, and the first member must poll to give partition 1 up.
  auto b = l->subscribe("g", {"events"}, offset_reset::earliest);
  REQUIRE(b.ok());
  CHECK(notified >= 2);
  REQUIRE(a.value()->poll(10, 0ms).ok()); // hands partition 1 over
  REQUIRE(b.value()->poll(10, 0ms).ok());
  REQUIRE(a.value()->assignment().size() == 1);
  const auto mine = a.value()->assignment().front();
  const auto theirs = mine.partition == 0 ? 1 : 0;
  notified = 0;
  produce_sync(*l, "events", key_for_partition(theirs, 2), "theirs");
  CHECK(notified == 0);
  produce_sync(*l, "events", key_for_partition(mine.partition, 2), "mine");
  CHECK(notified == 1);

  // Resume of a paused partition and wakeup() notify as well.
  a.value()->pause(mine);
  a.value()->resume(mine);
  CHECK(notified == 2);
  a.value()->wakeup();
  CHECK(notified == 3);
  a.value()->close();
  produce_sync(*l, "events", key_for_partition(mine.partition, 2), "after close");
  CHECK(notified == 3);
}
