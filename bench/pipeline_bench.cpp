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
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <sys/resource.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "actors/logging.hpp"
#include "console/api.hpp"
#include "net/http_server.hpp"
#include "storage/embedded_log.hpp"
#include "schemas/codec.hpp"
#include "storage/kafka_log.hpp"
#include "providers/offline_tools.hpp"
#include "providers/planner.hpp"
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

[[noreturn]] void die(const std::string& what) {
  throw std::runtime_error(what);
}

// Reads every partition of `topic` from its current end.
std::unique_ptr<storage::consumer> tail(storage::log& log, const std::string& topic) {
  auto parts = log.partition_count(topic);
  if (!parts)
    die(parts.error());
  std::vector<std::pair<storage::topic_partition, log_offset>> start;
  for (int32_t p = 0; p < *parts; ++p) {
    storage::topic_partition tp{topic, p};
    auto wm = log.query_watermarks(tp);
    if (!wm)
      die(wm.error());
    start.emplace_back(tp, wm->high);
  }
  auto c = log.assign(start);
  if (!c)
    die(c.error());
  return std::move(*c);
}

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

// Writes questions and follows the answers on one long-lived consumer, so the measurement is
// the pipeline's and not the cost of setting up a reader per question.
class driver {
 public:
  driver(storage::log& log, const topics& names, const std::string& run)
    : log_(log), names_(names), run_(run) {
    follow_ = tail(log, names.conversation_events);
  }

  void ask(const std::string& id, const char* question) {
    events::event q;
    q.subject = id;
    q.id = id + "/query";
    q.source = "bench";
    q.time_ms = now_ms();
    q.data = events::user_query_received{id, "bench", question, q.time_ms};
    auto bytes = events::encode(q);
    if (!bytes)
      die(bytes.error());
    log_.produce(names_.user_commands, id, *bytes, [](outcome<storage::position> r) {
      if (!r)
        die(r.error());
    });
  }

  // Calls on_answer(conversation) for every answer until `until` returns true.
  template <class OnAnswer, class Until>
  size_t follow(OnAnswer on_answer, Until until) {
    size_t events = 0;
    auto idle_since = clock_type::now();
    while (!until()) {
      log_.serve(std::chrono::milliseconds(0));
      auto b = follow_->poll(512, std::chrono::milliseconds(5));
      if (!b)
        die(b.error());
      if (b->empty() && ms_since(idle_since) > 30000)
        die("no answer within 30 s (run " + run_ + ")");
      for (auto& rec : *b) {
        idle_since = clock_type::now();
        ++events;
        if (watch)
          watch(rec);
        if (rec.value.find("\"type\":\"FinalAnswerSynthesized\"") != std::string::npos)
          on_answer(rec.key);
      }
    }
    return events;
  }

  std::string next_id() { return run_ + "-" + std::to_string(n_++); }

  std::function<void(const storage::record&)> watch; // if set, sees every record followed

 private:
  storage::log& log_;
  topics names_;
  std::string run_;
  std::unique_ptr<storage::consumer> follow_;
  int n_ = 0;
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

// A loopback connection that sends `request` and reads what comes back, on its own thread.
class load_client {
 public:
  // `repeat_ms` > 0: sends the request again that often on the same keep-alive connection (the
  // list); 0: sends it once and reads the stream until stopped.
  load_client(int port, std::string request, int repeat_ms)
      : request_(std::move(request)), repeat_ms_(repeat_ms) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      die("cannot connect to the console");
    timeval tv{0, repeat_ms_ > 0 ? 250000 : 500000}; // how soon the thread sees stop_
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    thread_ = std::thread([this] { run(); });
  }
  ~load_client() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  size_t events() const { return events_; }    // stream: "event: " lines read
  size_t answers() const { return answers_; }  // list: complete 200 answers read
  bool closed() const { return closed_; }      // the server closed the connection

 private:
  void send() {
    if (::send(fd_, request_.data(), request_.size(), MSG_NOSIGNAL) < 0)
      closed_ = true;
  }
  void run() {
    send();
    auto next = clock_type::now() + std::chrono::milliseconds(repeat_ms_);
    std::string buf(65536, '\0');
    std::string pending; // the list: what is read of the current answer
    while (!stop_ && !closed_) {
      auto n = ::recv(fd_, buf.data(), buf.size(), 0);
      if (n == 0) {
        closed_ = true;
        break;
      }
      if (n > 0) {
        std::string_view got(buf.data(), static_cast<size_t>(n));
        if (repeat_ms_ == 0) {
          for (size_t at = 0; (at = got.find("event: ", at)) != std::string_view::npos; ++at)
            ++events_;
        } else {
          pending.append(got);
          // One answer: its head, then Content-Length bytes.
          auto head = pending.find("\r\n\r\n");
          auto cl = pending.find("Content-Length: ");
          if (head != std::string::npos && cl != std::string::npos && cl < head) {
            auto length = std::stoul(pending.substr(cl + 16));
            if (pending.size() >= head + 4 + length) {
              if (pending.rfind("HTTP/1.1 200", 0) == 0)
                ++answers_;
              pending.erase(0, head + 4 + length);
            }
          }
        }
      }
      if (repeat_ms_ > 0 && clock_type::now() >= next) {
        send();
        next += std::chrono::milliseconds(repeat_ms_);
      }
    }
  }

  int fd_ = -1;
  std::string request_;
  int repeat_ms_;
  std::thread thread_;
  std::atomic<bool> stop_{false}, closed_{false};
  std::atomic<size_t> events_{0}, answers_{0};
};

// The console's cost to the pipeline it watches: 100 concurrent 3-step conversations with no
// console, then with the console serving 50 clients, alternately, three times each. Clients as
// the console's list page uses it (summaries only on the stream, the list of 50 fetched every
// second), then as a firehose (every record of the log to every client).
void console_load(bool quick) {
  const int clients = 50, rounds = quick ? 2 : 7, total = quick ? 200 : 1000;
  temp_dir dir;
  storage::embedded_options eo;
  eo.dir = dir.path + "/log";
  auto opened = storage::open_embedded_log(eo);
  if (!opened)
    die(opened.error());
  std::shared_ptr<storage::log> log(std::move(*opened));
  pipeline p{dir.path, log};
  topics names{""};
  driver d(*log, names, "load");
  // Conversations/s of one burst, and the process's CPU (user + system) per conversation.
  auto cpu_ms = [] {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3
           + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e3;
  };
  double cpu_per_conversation = 0;
  auto burst = [&] {
    int launched = 0, answered = 0;
    auto c0 = cpu_ms();
    auto t0 = clock_type::now();
    for (; launched < 100; ++launched)
      d.ask(d.next_id(), scenarios[1].question);
    d.follow(
      [&](const std::string&) {
        ++answered;
        if (launched < total) {
          d.ask(d.next_id(), scenarios[1].question);
          ++launched;
        }
      },
      [&] { return answered >= total; });
    auto rate = total / (ms_since(t0) / 1000.0);
    cpu_per_conversation = (cpu_ms() - c0) / total;
    return rate;
  };
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  };
  auto list = [](const std::vector<double>& v) {
    std::string s;
    for (auto x : v)
      s += (s.empty() ? "" : ", ") + std::to_string(static_cast<int>(x + 0.5));
    return s;
  };
  burst(); // warm up
  std::printf("## Console under load (embedded log, every role in one process)\n\n");
  std::printf("%d conversations (3-step) at 100 concurrent per burst; bursts alternately without "
              "and with the console serving %d clients (in this process, on loopback), %d of "
              "each; %u cores. The clients' own threads share the 2 cores.\n\n",
              total, clients, rounds, std::thread::hardware_concurrency());
  std::printf("| clients | conversations/s without console (median; bursts) | with console | "
              "drop | CPU ms per conversation without / with (median) | stream events per "
              "client per burst | list answers | streams dropped |\n"
              "|---|---|---|---|---|---|---|---|\n");
  struct mode {
    const char* name;
    const char* stream;
  };
  for (auto m : {mode{"the list page's: /api/stream?records=none + /api/conversations?limit=50 "
                      "every second",
                      "/api/stream?records=none"},
                 mode{"firehose: /api/stream (every record) + the list every second",
                      "/api/stream"}}) {
    std::vector<double> without, with, cpu_without, cpu_with;
    size_t delivered = 0, lists = 0, dropped = 0;
    for (int r = 0; r < rounds; ++r) {
      without.push_back(burst());
      cpu_without.push_back(cpu_per_conversation);
      console::api_settings settings;
      console::api api(log, settings);
      if (auto f = api.live(); !f)
        die(f.error());
      net::http_server_settings hs;
      hs.threads = 2; // as `eventide console` and nodes serve
      auto server = net::http_server::start(hs, [&](const net::http_request& rq) {
        return api.handle(rq);
      });
      if (!server)
        die(server.error());
      std::vector<std::unique_ptr<load_client>> streams, listers;
      for (int i = 0; i < clients; ++i) {
        streams.push_back(std::make_unique<load_client>(
          (*server)->port(), std::string("GET ") + m.stream + " HTTP/1.1\r\nHost: x\r\n\r\n", 0));
        listers.push_back(std::make_unique<load_client>(
          (*server)->port(), "GET /api/conversations?limit=50 HTTP/1.1\r\nHost: x\r\n\r\n",
          1000));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      with.push_back(burst());
      cpu_with.push_back(cpu_per_conversation);
      std::this_thread::sleep_for(std::chrono::milliseconds(500)); // the last events reach them
      for (auto& c : streams) {
        delivered += c->events();
        dropped += c->closed();
      }
      for (auto& c : listers)
        lists += c->answers();
      streams.clear();
      listers.clear();
      (*server)->stop();
    }
    double a = median(without), b = median(with);
    std::printf("| %s | %.0f (%s) | %.0f (%s) | %.1f%% | %.2f / %.2f | %.0f | %zu | %zu |\n",
                m.name, a, list(without).c_str(), b, list(with).c_str(), 100.0 * (a - b) / a,
                median(cpu_without), median(cpu_with),
                static_cast<double>(delivered) / clients / rounds, lists, dropped);
    std::fflush(stdout);
  }
  std::printf("\n");
}

// Mean time per call of each piece of work a pipeline event carries: what a role spends besides
// moving records. One thread, warm caches.
void components(bool quick) {
  const int n = quick ? 200 : 2000;
  auto time_it = [&](const char* what, const char* provider, auto&& call) {
    call(); // warm up (lazy loads)
    auto t0 = clock_type::now();
    for (int i = 0; i < n; ++i)
      call();
    double ms = ms_since(t0) / n;
    std::printf("| %s | %s | %.3f | %.0f |\n", what, provider, ms, 1000.0 / ms);
  };
  auto root = providers::resource_root();
  auto ctx = providers::load_planner_context(root + "/products");
  auto product = providers::make_product_info_tool(root + "/products");
  auto rag = providers::make_offline_rag_tool(root + "/products");
  auto math = providers::make_math_tool();
  auto exchange = providers::make_offline_exchange_tool(root + "/config/exchange-rates.json");
  auto synthesis = providers::make_offline_synthesis_tool();
  auto must = [](const providers::tool_output& out) {
    if (!out.ok)
      die(out.error);
  };
  events::event ev;
  ev.id = "c1/1/s1/request/1";
  ev.source = "eventide/orchestrator/node-1";
  ev.time_ms = now_ms();
  ev.subject = "c1";
  ev.data = events::tool_invocation_requested{"c1/1/s1", 1, "s1", "exchangeRate",
                                              R"({"from":"USD","to":"EUR","amount":1299})",
                                              ev.time_ms + 30000};
  auto bytes = events::encode(ev);
  if (!bytes)
    die(bytes.error());
  std::printf("## Components (one thread, mean per call)\n\n");
  std::printf("| work | provider | ms per call | calls/s |\n|---|---|---|---|\n");
  time_it("plan a 3-step question", "offline rule-based planner", [&] {
    if (!providers::plan_offline(scenarios[1].question, ctx))
      die("planning failed");
  });
  time_it("getProductInformation", "offline BM25", [&] {
    must(product->invoke(R"({"query":"Aurora X1 price"})"));
  });
  time_it("ragGeneration", "offline BM25 + extractive answer", [&] {
    must(rag->invoke(R"({"query":"Which laptop has the longest battery life?"})"));
  });
  time_it("exchangeRate", "offline dated rate table", [&] {
    must(exchange->invoke(R"({"from":"USD","to":"EUR","amount":1299})"));
  });
  time_it("math", "offline expression evaluator", [&] {
    must(math->invoke(R"({"expression":"1195.03 * 1.19"})"));
  });
  time_it("orchestrationSynthesis", "offline template synthesis", [&] {
    must(synthesis->invoke(
      R"({"query":"How much does the Aurora X1 cost in EUR including 19% VAT?","results":{"s1":{"name":"Aurora X1","price":1299,"currency":"USD"},"s3":{"value":1422.09}}})"));
  });
  time_it("encode + validate an event", "RapidJSON + JSON Schema", [&] {
    if (!events::encode(ev))
      die("encode failed");
  });
  time_it("decode + validate an event", "RapidJSON + JSON Schema", [&] {
    if (!events::decode(*bytes))
      die("decode failed");
  });
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
