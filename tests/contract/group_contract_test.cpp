// The log contract for consumer groups with several members, on every backend: members split
// the partitions and hand them over without loss or duplicates, and a member that commits
// after every record keeps its membership.
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
using namespace contract;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

// Two members of one group: disjoint assignments covering all partitions; when one leaves the
// other takes over. Each commits what it handled in its revocation listener (and before
// closing), so nothing is lost or read twice across handovers. Where the backend refuses commits
// during a rebalance (the mock), members also commit after every batch, as the consumer bridge
// does, and records are produced only while the group is stable.
void rebalance_between_members(log_fixture& f) {
  auto& log = f.log();
  const std::string topic = f.make_topic("rebalance");
  const int32_t partitions = partitions_of(log, topic);
  const auto every = all_partitions(topic, partitions);
  const std::set<topic_partition> everything(every.begin(), every.end());
  const std::string group = group_name("rebalance");
  const bool commit_each_batch = !f.commits_during_rebalance();

  struct member {
    std::unique_ptr<consumer> c;
    std::map<topic_partition, int64_t> next; // handled but not yet committed
    void commit_handled(const std::vector<topic_partition>& tps) {
      for (const auto& tp : tps) {
        auto it = next.find(tp);
        if (it == next.end())
          continue;
        auto ok = c->commit(tp, log_offset{it->second});
        INFO((ok.ok() ? "" : ok.error()));
        REQUIRE(ok.ok());
        next.erase(it);
      }
    }
    void commit_all_handled() {
      std::vector<topic_partition> tps;
      for (const auto& [tp, offset] : next)
        tps.push_back(tp);
      commit_handled(tps);
    }
  };
  std::map<std::pair<int32_t, int64_t>, std::string> handled; // each record once
  std::vector<std::string> duplicates;
  auto open_member = [&](member& m) {
    auto c = log.subscribe(group, {topic}, offset_reset::earliest);
    REQUIRE(c.ok());
    m.c = std::move(c).value();
    m.c->set_rebalance_listener(
      [&m](const std::vector<topic_partition>& revoked, const std::vector<topic_partition>&) {
        m.commit_handled(revoked);
      });
  };
  auto poll_member = [&](member& m) {
    auto batch = m.c->poll(50, 50ms);
    INFO((batch.ok() ? "" : batch.error()));
    REQUIRE(batch.ok());
    for (const auto& r : *batch) {
      if (!handled.emplace(std::make_pair(r.partition, r.offset), r.value).second)
        duplicates.push_back(r.value);
      m.next[{r.topic, r.partition}] = r.offset + 1;
    }
    if (commit_each_batch)
      m.commit_all_handled();
  };
  auto assigned = [](member& m) {
    auto a = m.c->assignment();
    return std::set<topic_partition>(a.begin(), a.end());
  };
  auto produce_batch = [&](const std::string& tag) {
    std::vector<key_value> records;
    for (int i = 0; i < 60; ++i)
      records.push_back({"m" + std::to_string(i % 12), tag + "-" + std::to_string(i)});
    produce_all(log, topic, records);
  };

  member a, b;
  // Where commits are refused during a rebalance, the first records come only once the group
  // is stable: a member that read them while the second one joined could not commit them, and
  // the new owner would read them again. (Under load the join takes long enough for that.)
  bool produced_b1 = !commit_each_batch;
  if (produced_b1)
    produce_batch("b1");
  open_member(a);
  open_member(b);

  // Phase 1: both joined; the split is disjoint and covers everything.
  auto deadline = steady::now() + 2 * f.rebalance_wait();
  bool split = false;
  while (steady::now() < deadline) {
    poll_member(a);
    poll_member(b);
    auto in_a = assigned(a), in_b = assigned(b);
    for (const auto& tp : in_a)
      REQUIRE_FALSE(in_b.count(tp)); // never two owners
    std::set<topic_partition> both(in_a);
    both.insert(in_b.begin(), in_b.end());
    const bool shared = partitions < 2 || (!in_a.empty() && !in_b.empty());
    if (both == everything && shared && handled.size() >= 60) {
      split = true;
      break;
    }
    if (both == everything && shared && !produced_b1) {
      produce_batch("b1");
      produced_b1 = true;
    }
  }
  REQUIRE(split);

  // Phase 2: more records flow to both members.
  produce_batch("b2");
  deadline = steady::now() + f.rebalance_wait();
  while (handled.size() < 120 && steady::now() < deadline) {
    poll_member(a);
    poll_member(b);
  }
  REQUIRE(handled.size() == 120);

  // Phase 3: the member holding partitions (a, when both do) leaves; the other takes all.
  member& leaving = assigned(a).empty() ? b : a;
  member& staying = &leaving == &a ? b : a;
  leaving.commit_all_handled(); // what a clean shutdown does
  leaving.c->close();
  deadline = steady::now() + 2 * f.rebalance_wait();
  while (assigned(staying) != everything && steady::now() < deadline)
    poll_member(staying);
  REQUIRE(assigned(staying) == everything);
  produce_batch("b3");
  deadline = steady::now() + f.rebalance_wait();
  while (handled.size() < 180 && steady::now() < deadline)
    poll_member(staying);
  auto tail = consume(*staying.c, 0, 0ms, 500ms);
  REQUIRE(tail.empty());

  INFO("duplicates: " << duplicates.size());
  REQUIRE(duplicates.empty());
  REQUIRE(handled.size() == 180);
  std::set<std::string> values;
  for (const auto& [where, value] : handled)
    values.insert(value);
  REQUIRE(values.size() == 180);
}


// A member that commits asynchronously after every record, faster than the group coordinator
// answers, keeps its membership, and its latest commit lands soon after it stops. On Kafka 4
// every OffsetCommit waits for the coordinator's batched append (group.coordinator.append.
// linger.ms, 5 ms) and a connection's requests are answered in order, so a commit per record
// queued up seconds of commits in front of the heartbeats: the session timed out and the
// group rebalanced over and over (found by the pipeline benchmark at 100 concurrent
// conversations).
void commit_flood_keeps_membership(log_fixture& f) {
  auto& log = f.log();
  const std::string topic = f.make_topic("flood");
  const int32_t partitions = partitions_of(log, topic);
  const std::string group = group_name("flood");
  auto c = log.subscribe(group, {topic}, offset_reset::earliest);
  REQUIRE(c.ok());
  int revocations = 0;
  (*c)->set_rebalance_listener(
    [&](const std::vector<topic_partition>& revoked, const std::vector<topic_partition>&) {
      revocations += static_cast<int>(revoked.size());
    });
  wait_for_assignment(**c, static_cast<size_t>(partitions), f.rebalance_wait());
  const topic_partition tp{topic, 0};
  // Longer than the backend's session timeout (6 s on Kafka and the mock; the embedded log has
  // no sessions: 1 s). Offsets beyond the end are fine: a commit only records where the group
  // would resume.
  int64_t next = 0;
  const auto until = steady::now() + std::max<std::chrono::milliseconds>(
                                       1s, f.session_timeout() + 2s);
  while (steady::now() < until) { // at most a thousand commits a second, one per poll
    auto ok = (*c)->commit_async(tp, log_offset{++next});
    INFO((ok.ok() ? "" : ok.error()));
    REQUIRE(ok.ok());
    auto batch = (*c)->poll(100, 0ms); // serves the group's events and commit results
    REQUIRE(batch.ok());
    std::this_thread::sleep_for(1ms);
  }
  REQUIRE(revocations == 0);
  REQUIRE((*c)->assignment().size() == static_cast<size_t>(partitions));
  // The latest commit reaches the group within a few seconds (not after a long queue).
  const auto landed_by = steady::now() + 3s;
  std::optional<int64_t> seen;
  while (steady::now() < landed_by) {
    auto got = log.committed(group, tp);
    REQUIRE(got.ok());
    seen = *got;
    if (seen == next)
      break;
    REQUIRE((*c)->poll(100, 50ms).ok());
  }
  INFO("committed " << (seen ? std::to_string(*seen) : "nothing") << ", last asked "
       << next);
  REQUIRE(seen == next);
}

} // namespace

LOG_CONTRACT("two members split a group and hand over without loss or duplicates",
             rebalance_between_members)
LOG_CONTRACT("a member committing after every record keeps its membership",
             commit_flood_keeps_membership)
