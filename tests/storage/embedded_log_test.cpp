// The embedded log (storage/embedded_log.cpp): offsets, polling, topic names, reopening,
// concurrency, directory locks and kill -9. Its consumers are in embedded_consumer_test.cpp.
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
#include "tests/storage/embedded_log_fixture.hpp"
#include "tests/temp_dir.hpp"

extern char** environ;

using namespace eventide;
using namespace eventide::storage;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

using namespace eventide::testing;

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
