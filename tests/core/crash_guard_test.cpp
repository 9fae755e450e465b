// The crash-loop guard's decisions (core/crash_guard.hpp): notes, strikes, quarantine, file
// names. Its files and gate (actors/crash_guard.hpp) are tested in tests/actors/crash_guard_test.cpp.
#include <catch2/catch.hpp>

#include "core/crash_guard.hpp"

using namespace eventide;
using namespace eventide::core;

namespace {

const partition_ref p0{"user-commands", 0};
const partition_ref p1{"user-commands", 1};

crash_note batch(uint64_t run, std::vector<offset_run> runs) {
  crash_note n;
  n.run = run;
  n.runs = std::move(runs);
  return n;
}

crash_note alone(uint64_t run, partition_ref at, int64_t offset) {
  crash_note n;
  n.run = run;
  n.alone = true;
  n.runs.push_back({std::move(at), offset, offset});
  return n;
}

} // namespace

TEST_CASE("crash guard: in-flight offsets are noted as runs", "[crash-guard]") {
  crash_note n;
  add_in_flight(n, p0, {3, 4, 5, 9, 11, 12});
  add_in_flight(n, p1, {});
  add_in_flight(n, p1, {7});
  REQUIRE(n.runs.size() == 4);
  CHECK((n.runs[0].first == 3 && n.runs[0].last == 5));
  CHECK((n.runs[1].first == 9 && n.runs[1].last == 9));
  CHECK((n.runs[2].first == 11 && n.runs[2].last == 12));
  CHECK((n.runs[3].at == p1 && n.runs[3].first == 7));
  CHECK(n.records() == 7);
}

TEST_CASE("crash guard: a note round-trips, cleared, torn and foreign bytes are told apart",
          "[crash-guard]") {
  auto n = batch(0xfeedbeefcafe1234ull, {{p0, 3, 5}, {{"tool-invocation-requests", 2}, 17, 17}});
  auto bytes = encode_note(n);
  auto back = decode_note(bytes);
  REQUIRE(back);
  REQUIRE(*back);
  CHECK(**back == n);
  auto a = alone(7, p1, 42);
  auto back_alone = decode_note(encode_note(a));
  REQUIRE((back_alone && *back_alone));
  CHECK((*back_alone)->alone);
  CHECK(**back_alone == a);
  // A longer older note behind a shorter new one (pwrite at offset 0 leaves its tail).
  auto longer = encode_note(batch(1, {{p0, 1, 1}, {p0, 3, 3}, {p0, 5, 5}, {p0, 7, 7}}));
  auto overwritten = longer;
  overwritten.replace(0, bytes.size(), bytes);
  auto back_over = decode_note(overwritten);
  REQUIRE((back_over && *back_over));
  CHECK(**back_over == n);

  auto none = decode_note("");
  REQUIRE(none);
  CHECK_FALSE(*none);
  auto cleared = decode_note(encode_cleared_note(9));
  REQUIRE(cleared);
  CHECK_FALSE(*cleared);
  auto cleared_over_old = longer;
  auto c = encode_cleared_note(9);
  cleared_over_old.replace(0, c.size(), c);
  auto back_cleared = decode_note(cleared_over_old);
  REQUIRE(back_cleared);
  CHECK_FALSE(*back_cleared);

  auto cut = decode_note(bytes.substr(0, bytes.size() - 3));
  REQUIRE_FALSE(cut);
  CHECK(cut.error().find("cut short") != std::string::npos);
  auto flipped = bytes;
  flipped[flipped.size() - 2] ^= 1;
  auto torn = decode_note(flipped);
  REQUIRE_FALSE(torn);
  CHECK(torn.error().find("checksum") != std::string::npos);
  CHECK_FALSE(decode_note("hello, this is not a crash note at all"));
}

TEST_CASE("crash guard: strikes, the limit and the quarantine decide each record",
          "[crash-guard]") {
  CHECK(judge(0, 3, true) == crash_verdict::handle);
  CHECK(judge(0, 3, false) == crash_verdict::handle);
  CHECK(judge(1, 3, true) == crash_verdict::alone);
  CHECK(judge(2, 3, true) == crash_verdict::alone);
  CHECK(judge(2, 3, false) == crash_verdict::handle); // suspects outside a quarantine: batches
  CHECK(judge(3, 3, true) == crash_verdict::dead_letter);
  CHECK(judge(3, 3, false) == crash_verdict::dead_letter);
  CHECK(judge(7, 3, false) == crash_verdict::dead_letter); // a limit lowered between runs
  CHECK(judge(1, 1, true) == crash_verdict::dead_letter);
  CHECK(judge(5, 0, true) == crash_verdict::handle);       // limit 0: the guard is off
  CHECK(crash_loop_reason(3) == "crashed the node 3 times");
  CHECK(crash_loop_reason(1) == "crashed the node 1 time");
}

TEST_CASE("crash guard: a note counts once per run, whatever the order of files and crashes",
          "[crash-guard]") {
  strike_table t;
  CHECK(t.empty());
  CHECK(t.apply(batch(11, {{p0, 2, 4}, {p1, 9, 9}})));
  CHECK(t.size() == 4);
  CHECK(t.of(p0, 3) == 1);
  CHECK(t.of(p0, 5) == 0);
  CHECK(t.of(p1, 9) == 1);
  CHECK(t.applied_run() == 11);
  // The same note again (a crash after the strikes were stored, before the note was cleared).
  CHECK_FALSE(t.apply(batch(11, {{p0, 2, 4}, {p1, 9, 9}})));
  CHECK(t.of(p0, 3) == 1);
  CHECK(t.apply(alone(12, p0, 3)));
  CHECK(t.of(p0, 3) == 2);
  CHECK(t.judge(p0, 3, 3, true) == crash_verdict::alone);
  CHECK(t.apply(alone(13, p0, 3)));
  CHECK(t.judge(p0, 3, 3, true) == crash_verdict::dead_letter);
  CHECK(t.judge(p0, 2, 3, true) == crash_verdict::alone);
  CHECK(t.judge(p0, 5, 3, true) == crash_verdict::handle);
}

TEST_CASE("crash guard: settling forgives a suspect and remembers a dead letter", "[crash-guard]") {
  strike_table t;
  t.apply(batch(1, {{p0, 0, 2}}));
  t.apply(alone(2, p0, 1));
  t.apply(alone(3, p0, 1));
  CHECK(t.has_suspects());
  CHECK(t.suspects(p0) == std::set<int64_t>{0, 1, 2});
  CHECK(t.settle(p0, 0, 3)); // handled alone without a crash: innocent
  CHECK(t.of(p0, 0) == 0);
  CHECK_FALSE(t.dead_lettered(p0, 1));
  CHECK(t.settle(p0, 1, 3)); // its dead letter was written: kept, marked
  CHECK(t.of(p0, 1) == 3);
  CHECK(t.dead_lettered(p0, 1));
  CHECK_FALSE(t.settle(p0, 1, 3));
  CHECK(t.suspects(p0) == std::set<int64_t>{2});
  CHECK(t.settle(p0, 2, 3));
  CHECK_FALSE(t.has_suspects());
  CHECK_FALSE(t.empty()); // the dead-lettered record stays, so a replay passes over it
  CHECK_FALSE(t.settle(p1, 4, 3));
}

TEST_CASE("crash guard: strikes outside what an assignment reads are dropped", "[crash-guard]") {
  strike_table t;
  t.apply(batch(1, {{p0, 10, 20}, {p1, 5, 5}}));
  CHECK_FALSE(t.forget_outside(p0, std::nullopt, std::nullopt));
  CHECK(t.forget_outside(p0, 13, 19)); // committed at 13; the log ends before 19
  CHECK(t.suspects(p0) == std::set<int64_t>{13, 14, 15, 16, 17, 18});
  CHECK(t.forget_outside(p1, 6, std::nullopt));
  CHECK_FALSE(t.has(p1));
  CHECK(t.forget_outside(p0, 100, std::nullopt));
  CHECK(t.empty());
}

TEST_CASE("crash guard: the strike table round-trips and refuses what it did not write",
          "[crash-guard]") {
  strike_table t;
  t.apply(batch(0xabcdef0123456789ull, {{p0, 1, 2}, {{"conversation-events", 5}, 77, 77}}));
  t.apply(alone(2, p0, 2));
  t.apply(alone(3, p0, 2));
  t.settle(p0, 2, 3);
  auto text = t.encode();
  auto back = strike_table::decode(text);
  REQUIRE(back);
  CHECK(back->encode() == text);
  CHECK(back->applied_run() == 3);
  CHECK(back->of(p0, 2) == 3);
  CHECK(back->dead_lettered(p0, 2));
  CHECK(back->of({"conversation-events", 5}, 77) == 1);
  CHECK_FALSE(strike_table::decode(""));
  CHECK_FALSE(strike_table::decode("something else\n"));
  auto bad = strike_table::decode("eventide crash strikes 1\nuser-commands\t0\tx\t1\n");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().find("bad strike table line") != std::string::npos);
  CHECK_FALSE(strike_table::decode("eventide crash strikes 1\nuser-commands\t0\t4\t0\n"));
}

TEST_CASE("crash guard: a group is in quarantine until its assignment is seen and its suspects "
          "have passed", "[crash-guard]") {
  suspect_tracker none;
  CHECK(none.done());
  suspect_tracker t(true);
  CHECK_FALSE(t.done()); // it cannot know which suspects are its own yet
  t.assigned(p0, {4, 7});
  t.assigned(p1, {});
  t.assignment_seen();
  CHECK_FALSE(t.done());
  CHECK(t.pending() == 2);
  t.passed(p0, 3);
  CHECK(t.pending() == 2);
  t.passed(p0, 5); // offset 4 passed (or was skipped over: it will not come again)
  CHECK(t.pending() == 1);
  t.passed(p1, 100);
  CHECK_FALSE(t.done());
  t.passed(p0, 7);
  CHECK(t.done());
  suspect_tracker r(true);
  r.assigned(p0, {1});
  r.assignment_seen();
  r.revoked(p0); // another member owns it now
  CHECK(r.done());
}

TEST_CASE("crash guard: a record that kills the node each time is dead-lettered after the "
          "limit, its innocent neighbours are not", "[crash-guard]") {
  // Run 1 hands out one batch: q1 q2 POISON q3 on partition 0 and q4 on partition 1, and dies.
  const int64_t poison = 2;
  strike_table t;
  t.apply(batch(1, {{p0, 0, 3}, {p1, 0, 0}}));
  uint32_t crashes = 1;
  uint64_t run = 1;
  std::set<std::pair<int32_t, int64_t>> dead_lettered;
  for (;;) {
    ++run;
    suspect_tracker s(t.has_suspects());
    s.assigned(p0, t.suspects(p0));
    s.assigned(p1, t.suspects(p1));
    s.assignment_seen();
    bool died = false;
    // Quarantine: each record with strikes alone, in order; a crash blames exactly it.
    for (auto [at, offset] : std::vector<std::pair<partition_ref, int64_t>>{
           {p1, 0}, {p0, 0}, {p0, 1}, {p0, 2}, {p0, 3}}) {
      switch (t.judge(at, offset, 3, !s.done())) {
        case crash_verdict::dead_letter:
          dead_lettered.insert({at.partition, offset});
          break;
        case crash_verdict::alone:
          if (at == p0 && offset == poison) {
            t.apply(alone(run, at, offset)); // the next start takes in the note it left
            died = true;
          }
          break;
        case crash_verdict::handle:
          REQUIRE_FALSE((at == p0 && offset == poison)); // never in a batch again
          break;
      }
      if (died)
        break;
      t.settle(at, offset, 3);
      s.passed(at, offset);
    }
    if (!died)
      break;
    ++crashes;
    REQUIRE(crashes <= 3);
  }
  CHECK(crashes == 3);
  CHECK(dead_lettered == std::set<std::pair<int32_t, int64_t>>{{0, poison}});
  CHECK(t.dead_lettered(p0, poison));
  CHECK_FALSE(t.has_suspects());
  CHECK(t.size() == 1); // innocents forgiven; the poison kept so replays pass over it
}

TEST_CASE("crash guard: group names become safe file names", "[crash-guard]") {
  CHECK(group_file_name("tool-math") == "tool-math");
  CHECK(group_file_name("cp123r4-router") == "cp123r4-router");
  CHECK(group_file_name("a/b c") == "a%2Fb%20c");
  CHECK(group_file_name("..") == "%..");
  CHECK(group_file_name("") == "%");
}
