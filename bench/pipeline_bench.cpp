// Pipeline benchmark on the embedded log with offline providers: end-to-end latency per plan
// size next to the raw one-hop produce->consume floor measured in the same run, and throughput
// with concurrent conversations. Prints a Markdown report.
//
//   pipeline_bench [--quick]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "actors/logging.hpp"
#include "tests/e2e/harness.hpp"

using namespace eventide;
using namespace eventide::testing;
using clock_type = std::chrono::steady_clock;

namespace {

struct stats {
  double p50, p95, p99, mean;
};

stats summarize(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))]; };
  double sum = 0;
  for (auto x : v)
    sum += x;
  return {at(0.50), at(0.95), at(0.99), sum / v.size()};
}

double ms_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

// One produce -> consume hop on the embedded log: the floor every pipeline hop pays.
stats one_hop(bridge::log& log, int n) {
  auto c = log.subscribe("bench-hop", {"bench-hop"}, bridge::offset_reset::latest);
  if (!c)
    throw std::runtime_error(c.error());
  (void) (*c)->poll(1, std::chrono::milliseconds(10)); // join, get the assignment
  std::vector<double> lat;
  for (int i = 0; i < n; ++i) {
    auto t0 = clock_type::now();
    log.produce("bench-hop", "k" + std::to_string(i % 7), "x", [](outcome<bridge::position>) {});
    size_t got = 0;
    while (got == 0) {
      auto b = (*c)->poll(16, std::chrono::milliseconds(100));
      got = b ? b->size() : 0;
    }
    lat.push_back(ms_since(t0));
  }
  return summarize(lat);
}

struct scenario {
  const char* name;
  const char* question;
  int steps;
  int hops; // sequential log hops from question to answer
};

// Hops: query -> plan -> (request -> result) per sequential stage -> completed ->
// synthesize -> answer. Parallel steps share a stage.
const scenario scenarios[] = {
  {"1-step (math)", "What is 15% of 240 plus 3^2?", 1, 6},
  {"3-step (product -> exchange -> math)",
   "How much does the Aurora X1 cost in EUR including 19% VAT?", 3, 10},
  {"5-step (2 products -> 2 conversions -> math)",
   "How much more expensive is the Nimbus Pro than the Aurora X1 in GBP?", 5, 10},
};

} // namespace

int main(int argc, char** argv) {
  bool quick = argc > 1 && std::string(argv[1]) == "--quick";
  int n = quick ? 50 : 300;
  init_logging("error");
  temp_dir dir;
  pipeline p{dir.path};
  std::printf("# Eventide pipeline benchmark (embedded log, offline providers)\n\n");
  std::printf("%d sequential conversations per scenario after 20 warm-up runs; 2 cores.\n\n", n);
  auto hop = one_hop(p.log(), quick ? 200 : 1000);
  std::printf("One produce->consume hop on the embedded log: p50 %.3f ms, p95 %.3f ms, p99 %.3f ms\n\n",
              hop.p50, hop.p95, hop.p99);
  std::printf("| scenario | steps | seq. hops | p50 ms | p95 ms | p99 ms | p50 / (hops x hop p50) |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  int id = 0;
  for (auto& s : scenarios) {
    for (int i = 0; i < 20; ++i)
      p.ask("warm-" + std::to_string(id++), s.question, std::chrono::seconds(10),
            std::chrono::milliseconds(0));
    std::vector<double> lat;
    for (int i = 0; i < n; ++i) {
      auto t0 = clock_type::now();
      auto t = p.ask("lat-" + std::to_string(id++), s.question, std::chrono::seconds(10),
                     std::chrono::milliseconds(0));
      if (!t.answer())
        throw std::runtime_error(std::string("no answer for ") + s.question);
      lat.push_back(ms_since(t0));
    }
    auto st = summarize(lat);
    std::printf("| %s | %d | %d | %.2f | %.2f | %.2f | %.1fx |\n", s.name, s.steps, s.hops, st.p50,
                st.p95, st.p99, st.p50 / (s.hops * hop.p50));
  }

  std::printf("\n| concurrent conversations (3-step) | conversations/s | events/s | wall s |\n");
  std::printf("|---|---|---|---|\n");
  for (int concurrency : {1, 10, 100}) {
    int total = quick ? std::max(concurrency, 100) : std::max(concurrency * 4, 400);
    auto t0 = clock_type::now();
    std::vector<std::string> ids;
    int launched = 0, answered = 0;
    size_t events = 0;
    // Keep `concurrency` conversations in flight: write questions, follow the answers.
    auto c = p.log().subscribe("bench-follow-" + std::to_string(concurrency),
                               {p.names().conversation_events}, bridge::offset_reset::latest);
    (void) (*c)->poll(1, std::chrono::milliseconds(10));
    auto launch = [&] {
      events::event q;
      q.subject = "tp" + std::to_string(concurrency) + "-" + std::to_string(launched++);
      q.id = q.subject + "/query";
      q.source = "bench";
      q.time_ms = now_ms();
      q.data = events::user_query_received{q.subject, "bench", scenarios[1].question, q.time_ms};
      p.produce(q);
    };
    for (int i = 0; i < concurrency; ++i)
      launch();
    while (answered < total) {
      auto b = (*c)->poll(512, std::chrono::milliseconds(1000));
      if (!b || b->empty())
        throw std::runtime_error("throughput run stalled");
      for (auto& rec : *b) {
        ++events;
        if (rec.value.find("\"type\":\"FinalAnswerSynthesized\"") != std::string::npos) {
          ++answered;
          if (launched < total)
            launch();
        }
      }
    }
    double secs = ms_since(t0) / 1000.0;
    // conversation-events seen + the requests and commands on the other two topics
    // (3 requests + query + synthesize per conversation).
    double all_events = static_cast<double>(events) + total * 5.0;
    std::printf("| %d | %.0f | %.0f | %.2f |\n", concurrency, total / secs, all_events / secs, secs);
  }
  return 0;
}
