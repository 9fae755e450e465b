// pipeline_bench --console-load: the embedded pipeline's 100-concurrent throughput with and
// without the console serving 50 clients, each on the event stream and fetching the list.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/pipeline_driver.hpp"
#include "console/api.hpp"
#include "net/http_server.hpp"
#include "storage/embedded_log.hpp"
#include "tests/e2e/harness.hpp"

namespace eventide::bench {

using namespace eventide::testing;

namespace {

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
} // namespace

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

} // namespace eventide::bench
