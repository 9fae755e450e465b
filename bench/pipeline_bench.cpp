// Pipeline benchmark with offline providers: end-to-end latency per plan size next to the raw
// one-hop produce->consume floor measured in the same run on the same log, and throughput with
// 1, 10 and 100 concurrent conversations. Every role runs in this process, over the embedded
// log or (with --kafka) over a Kafka broker; with --external PREFIX no role runs here: the
// questions go to `eventide node` processes already serving the topics PREFIX* on the broker
// (bench/multiprocess.sh starts them). Prints a Markdown report.
//
//   pipeline_bench [--quick] [--kafka BOOTSTRAP [--kafka-version V] [--kafka-label TEXT]
//                  [--kafka-property K=V]... [--no-exactly-once]
//                  [--external PREFIX [--external-label TEXT]]]
//   pipeline_bench --console-load [--quick]
//   (--console-load: the embedded pipeline's 100-concurrent throughput with and without the
//    console serving 50 clients, each on the event stream and fetching the list every second;
//   --kafka-version: empty = a modern broker, the default; 0.9.0.1 for Kafka 0.9;
//    --no-exactly-once: idempotent producers and deduplication instead of transactions;
//    --external-label: how the roles are deployed, for the report's text)
// Here: the command line, the floor, where a conversation's time goes, the runs. The console
// load is in console_load.cpp, the components table in components.cpp, what they share in
// pipeline_driver.hpp.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "actors/logging.hpp"
#include "bench/pipeline_driver.hpp"
#include "storage/kafka_log.hpp"
#include "tests/e2e/harness.hpp"

using namespace eventide;
using namespace eventide::bench;
using namespace eventide::testing;

namespace {

// One produce -> consume hop: the floor every pipeline hop pays on this log. The consumer
// blocks in poll() on its own thread, as a consumer bridge does, so the hop includes waking it.
// `other_readers` more consumers read the same topic, each on its own thread, as the other
// groups of a pipeline topic do: every record is fetched and handed to each of them too.
stats one_hop(storage::log& log, const std::string& topic, int n, int other_readers = 0) {
  auto c = tail(log, topic);
  std::atomic<int64_t> consumed_ns{0};
  std::atomic<bool> stop{false};
  std::string error;
  std::vector<std::unique_ptr<storage::consumer>> others;
  for (int i = 0; i < other_readers; ++i)
    others.push_back(tail(log, topic));
  std::vector<std::thread> other_threads;
  for (auto& o : others)
    other_threads.emplace_back([&stop, &o] {
      while (!stop && o->poll(16, std::chrono::milliseconds(50)))
        ;
    });
  std::thread reader([&] {
    while (!stop) {
      auto b = c->poll(16, std::chrono::milliseconds(50));
      if (!b) {
        error = b.error();
        return;
      }
      if (!b->empty())
        consumed_ns = clock_type::now().time_since_epoch().count();
    }
  });
  std::vector<double> lat;
  for (int i = 0; i < n + 20 && error.empty(); ++i) { // the first 20 warm up connections
    consumed_ns = 0;
    auto t0 = clock_type::now();
    log.produce(topic, "k" + std::to_string(i % 7), "x", [](outcome<storage::position> r) {
      if (!r)
        die(r.error());
    });
    while (consumed_ns == 0) {
      log.serve(std::chrono::milliseconds(0));
      std::this_thread::yield();
    }
    double ms = (consumed_ns - t0.time_since_epoch().count()) / 1e6;
    if (i >= 20)
      lat.push_back(ms);
  }
  stop = true;
  reader.join();
  for (auto& t : other_threads)
    t.join();
  if (!error.empty())
    die(error);
  return summarize(lat);
}

// The consumer groups of every role "all" hosts that read `topic` (role_table()).
int groups_reading(std::string topics::*topic) {
  int n = 0;
  for (const auto& r : role_table())
    if (!r.optional && !r.group.empty()
        && std::find(r.reads.begin(), r.reads.end(), topic) != r.reads.end())
      ++n;
  return n;
}

// The "type" of an event's text ("" if it has none).
std::string type_of(const std::string& text) {
  const std::string key = "\"type\":\"";
  auto at = text.find(key);
  if (at == std::string::npos)
    return "";
  at += key.size();
  return text.substr(at, text.find('"', at) - at);
}

// Where a conversation's time goes: the time from one record the driver reads on
// conversation-events to the next (the first from the question), per pair of event types,
// with the log hops between them.
class segments {
 public:
  void add(const std::vector<std::pair<std::string, double>>& seen) {
    std::string from = "question";
    double at = 0;
    for (const auto& [type, ms] : seen) {
      auto label = from + " -> " + type;
      auto it = std::find_if(rows_.begin(), rows_.end(),
                             [&](const row& r) { return r.label == label; });
      if (it == rows_.end())
        it = rows_.insert(rows_.end(), row{label, hops_between(from, type), {}});
      it->ms.push_back(ms - at);
      from = type;
      at = ms;
    }
  }

  void print(double hop_p50) const {
    if (rows_.empty())
      return;
    std::printf("\nWhere the 3-step conversation's time goes (from each record of the conversation "
                "the driver reads on conversation-events to the next; p50 over the conversations):\n\n");
    std::printf("| from -> to | hops | p50 ms | p95 ms | p50 per hop / hop p50 |\n");
    std::printf("|---|---|---|---|---|\n");
    for (const auto& r : rows_) {
      auto st = summarize(r.ms);
      if (r.hops == 0)
        std::printf("| %s | 0 (written together) | %.2f | %.2f | |\n", r.label.c_str(), st.p50,
                    st.p95);
      else
        std::printf("| %s | %d | %.2f | %.2f | %.1fx |\n", r.label.c_str(), r.hops, st.p50,
                    st.p95, st.p50 / r.hops / hop_p50);
    }
  }

 private:
  // Log hops from a record of `from` to the next of `to`: the orchestrator writes a step's
  // completion with the next step's request (and the last one's with the plan's completion),
  // a result follows a request on tool-invocation-requests, an answer the request to
  // synthesize on user-commands.
  static int hops_between(const std::string& from, const std::string& to) {
    if (to == "ToolInvocationResulted")
      return from == "PlanStepCompleted" ? 1 : 2;
    if (to == "PlanCompleted")
      return from == "PlanStepCompleted" ? 0 : 1;
    return to == "FinalAnswerSynthesized" ? 2 : 1;
  }

  struct row {
    std::string label;
    int hops;
    std::vector<double> ms;
  };
  std::vector<row> rows_;
};

// `deployment` says where the roles run (the report's text); `prefix` is the topics' prefix.
void run(storage::log& log, const std::string& backend, const std::string& deployment,
         const std::string& run_id, const std::string& prefix, bool quick) {
  int n = quick ? 50 : 300;
  auto hop = one_hop(log, prefix + "bench-hop", quick ? 200 : 1000);
  std::printf("## %s\n\n", backend.c_str());
  std::printf("%d sequential conversations per scenario after 20 warm-up runs; %s; %u cores.\n\n",
              n, deployment.c_str(), std::thread::hardware_concurrency());
  std::printf("One produce->consume hop: p50 %.3f ms, p95 %.3f ms, p99 %.3f ms\n\n", hop.p50,
              hop.p95, hop.p99);
  std::printf("| scenario | steps | seq. hops | p50 ms | p95 ms | p99 ms | hops x hop p50 ms | "
              "p50 / (hops x hop p50) |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  driver d(log, topics{prefix}, run_id);
  segments three_step;
  for (auto& s : scenarios) {
    std::vector<double> lat;
    for (int i = 0; i < n + 20; ++i) {
      auto id = d.next_id();
      auto t0 = clock_type::now();
      std::vector<std::pair<std::string, double>> seen; // the conversation's records, in order
      if (s.steps == 3)
        d.watch = [&](const storage::record& rec) {
          if (rec.key == id)
            seen.emplace_back(type_of(rec.value), ms_since(t0));
        };
      d.ask(id, s.question);
      bool answered = false;
      d.follow([&](const std::string& conv) { answered = answered || conv == id; },
               [&] { return answered; });
      d.watch = nullptr;
      if (i >= 20) {
        lat.push_back(ms_since(t0));
        three_step.add(seen);
      }
    }
    auto st = summarize(lat);
    double floor = s.hops * hop.p50;
    std::printf("| %s | %d | %d | %.2f | %.2f | %.2f | %.2f | %.1fx |\n", s.name, s.steps, s.hops,
                st.p50, st.p95, st.p99, floor, st.p50 / floor);
    std::fflush(stdout);
  }
  // A tool request is read by every tool kind's group and the orchestrator's: each hop pays
  // for the readers it does not go to.
  const int readers = groups_reading(&topics::tool_requests);
  auto crowded = one_hop(log, prefix + "bench-hop-shared", quick ? 200 : 1000, readers - 1);
  std::printf("\nOne produce->consume hop with %d other readers of the topic, as a tool request "
              "has (every tool kind's group and the orchestrator's): p50 %.3f ms, p95 %.3f ms, "
              "p99 %.3f ms (p50 %.1fx the hop alone)\n",
              readers - 1, crowded.p50, crowded.p95, crowded.p99, crowded.p50 / hop.p50);
  three_step.print(hop.p50);

  std::printf("\n| concurrent conversations (3-step) | conversations/s | events/s | wall s |\n");
  std::printf("|---|---|---|---|\n");
  for (int concurrency : {1, 10, 100}) {
    int total = quick ? std::max(concurrency, 100) : std::max(concurrency * 4, 400);
    int launched = 0, answered = 0;
    auto launch = [&] {
      d.ask(d.next_id(), scenarios[1].question);
      ++launched;
    };
    auto t0 = clock_type::now();
    for (int i = 0; i < concurrency; ++i)
      launch();
    auto seen = d.follow(
      [&](const std::string&) {
        ++answered;
        if (launched < total)
          launch();
      },
      [&] { return answered >= total; });
    double secs = ms_since(t0) / 1000.0;
    // conversation-events seen + the requests and commands on the other two topics
    // (3 requests + query + synthesize per conversation).
    double all_events = static_cast<double>(seen) + total * 5.0;
    std::printf("| %d | %.0f | %.0f | %.2f |\n", concurrency, total / secs, all_events / secs, secs);
    std::fflush(stdout);
  }
  std::printf("\n");
}
} // namespace

int main(int argc, char** argv) {
  bool quick = false;
  std::string kafka, kafka_version, kafka_label, external, external_label;
  bool external_given = false;
  std::vector<std::string> kafka_properties;
  bool exactly_once = true, load = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick")
      quick = true;
    else if (a == "--console-load")
      load = true;
    else if (a == "--kafka" && i + 1 < argc)
      kafka = argv[++i];
    else if (a == "--kafka-version" && i + 1 < argc)
      kafka_version = argv[++i];
    else if (a == "--kafka-label" && i + 1 < argc)
      kafka_label = argv[++i];
    else if (a == "--kafka-property" && i + 1 < argc) // K=V over the defaults, repeatable
      kafka_properties.emplace_back(argv[++i]);
    else if (a == "--no-exactly-once")
      exactly_once = false;
    else if (a == "--external" && i + 1 < argc) {
      external = argv[++i];
      external_given = true;
    } else if (a == "--external-label" && i + 1 < argc)
      external_label = argv[++i];
    else {
      std::fprintf(stderr, "usage: pipeline_bench [--quick] [--kafka BOOTSTRAP "
                           "[--kafka-version V] [--kafka-label TEXT] [--kafka-property K=V]... "
                           "[--no-exactly-once] [--external PREFIX [--external-label TEXT]]] | "
                           "pipeline_bench --console-load [--quick]\n");
      return 2;
    }
  }
  // The nodes of an external run own their topics: the prefix names them, so it must be given,
  // and there is no broker-less external run (the embedded log belongs to one process).
  if (external_given && kafka.empty()) {
    std::fprintf(stderr, "pipeline_bench: --external needs --kafka BOOTSTRAP\n");
    return 2;
  }
  if (external_given && external.empty()) {
    std::fprintf(stderr, "pipeline_bench: --external needs the nodes' topic prefix (not empty)\n");
    return 2;
  }
  if (external_given && !exactly_once) {
    std::fprintf(stderr, "pipeline_bench: --no-exactly-once is a setting of the nodes in an "
                         "--external run (eventide node --kafka-exactly-once false)\n");
    return 2;
  }
  if (!external_label.empty() && !external_given) {
    std::fprintf(stderr, "pipeline_bench: --external-label is for --external runs only\n");
    return 2;
  }
  if (load && (!kafka.empty() || external_given)) {
    std::fprintf(stderr, "pipeline_bench: --console-load runs on the embedded log only\n");
    return 2;
  }
  try {
    init_logging("error");
    if (load) {
      console_load(quick);
      return 0;
    }
    temp_dir dir;
    auto run_id = "b" + std::to_string(now_ms());
    if (kafka.empty()) {
      components(quick);
      pipeline p{dir.path};
      run(p.log(), "Embedded log (RocksDB)", "every role in one process", run_id, "", quick);
    } else {
      storage::kafka_options ko;
      ko.brokers = kafka;
      ko.broker_version_fallback = kafka_version;
      ko.partitions = 3;
      ko.session_timeout_ms = 6000;
      ko.exactly_once = exactly_once;
      for (const auto& kv : kafka_properties)
        if (auto eq = kv.find('='); eq != std::string::npos)
          ko.extra.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
      auto log = storage::open_kafka_log(ko);
      if (!log)
        die(log.error());
      if (kafka_label.empty())
        kafka_label = kafka_version.empty() ? "Kafka" : "Kafka " + kafka_version;
      if (external_given) {
        // No roles here: the caller started the nodes and waited until they own their
        // partitions. This process is only the ingress and the reader of the answers.
        if (external_label.empty())
          external_label = "every role in its own process";
        run(**log, kafka_label + " at " + kafka, external_label, run_id, external, quick);
        return 0;
      }
      node_options o;
      o.topic_prefix = run_id + "-"; // fresh topics: nothing to replay
      pipeline p{dir.path, std::shared_ptr<storage::log>(std::move(*log)), o};
      // Wait until every group owns its partitions: the first questions would otherwise
      // measure the join.
      std::this_thread::sleep_for(std::chrono::seconds(8));
      run(p.log(), kafka_label + " at " + kafka, "every role in one process", run_id,
          o.topic_prefix, quick);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pipeline_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}

