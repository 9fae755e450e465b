// Server-sent events on net::http_server: what is pushed after a client connected reaches it,
// a client that falls behind is dropped, a client that leaves closes its stream, and stop()
// ends every stream.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <thread>

#include <catch2/catch.hpp>

#include "net/http_server.hpp"

using namespace eventide;

namespace {

// A plain socket reading what the server sends.
struct stream_reader {
  int fd = -1;
  explicit stream_reader(int port) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string rq = "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n";
    REQUIRE(::send(fd, rq.data(), rq.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(rq.size()));
  }
  ~stream_reader() { close(); }
  void close() {
    if (fd >= 0)
      ::close(fd);
    fd = -1;
  }
  std::string got;
  // Reads until `text` has arrived (true) or the peer closed / 5 s passed (false).
  bool read_until(const std::string& text) {
    char buf[4096];
    while (got.find(text) == std::string::npos) {
      auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0)
        return false;
      got.append(buf, static_cast<size_t>(n));
    }
    return true;
  }
  // True when the server closed the connection within 5 s.
  bool closed_by_server() {
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) != 0;) {
      if (n < 0)
        return false;
      got.append(buf, static_cast<size_t>(n));
    }
    return true;
  }
};

// A handler that answers /stream with a stream it keeps for the test.
struct stream_server {
  std::mutex mu;
  std::vector<std::shared_ptr<net::event_stream>> streams;
  std::unique_ptr<net::http_server> server;
  stream_server() {
    auto s = net::http_server::start({}, [this](const net::http_request& rq) {
      net::http_reply r;
      if (rq.path != "/stream") {
        r.status = 404;
        return r;
      }
      r.stream = std::make_shared<net::event_stream>();
      std::lock_guard<std::mutex> lk(mu);
      streams.push_back(r.stream);
      return r;
    });
    REQUIRE(s.ok());
    server = std::move(*s);
  }
  std::shared_ptr<net::event_stream> wait_stream(size_t n) {
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard<std::mutex> lk(mu);
        if (streams.size() >= n)
          return streams[n - 1];
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL("no stream opened");
    return nullptr;
  }
};

} // namespace

TEST_CASE("event_stream: events pushed after the client connected reach it, framed", "[net]") {
  stream_server s;
  stream_reader c(s.server->port());
  auto st = s.wait_stream(1);
  REQUIRE(c.read_until("\r\n\r\n"));
  CHECK(c.got.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(c.got.find("Content-Type: text/event-stream\r\n") != std::string::npos);
  CHECK(c.got.find("Cache-Control: no-cache\r\n") != std::string::npos);
  CHECK(c.got.find("Transfer-Encoding: chunked\r\n") != std::string::npos);
  CHECK(st->push("record", R"({"n":1})"));
  REQUIRE(c.read_until("event: record\ndata: {\"n\":1}\n\n"));
  CHECK(st->push_comment("keep-alive"));
  for (int i = 2; i <= 50; ++i)
    st->push("record", "{\"n\":" + std::to_string(i) + "}");
  REQUIRE(c.read_until("data: {\"n\":50}\n\n"));
  CHECK(c.got.find(": keep-alive\n\n") != std::string::npos);
  // In order, each once.
  size_t at = 0;
  for (int i = 1; i <= 50; ++i) {
    auto next = c.got.find("data: {\"n\":" + std::to_string(i) + "}\n", at);
    REQUIRE(next != std::string::npos);
    at = next + 1;
  }
  // close() ends the stream: the last chunk, then the connection closes.
  st->close();
  CHECK(c.closed_by_server());
  CHECK(c.got.find("\r\n0\r\n\r\n") != std::string::npos);
  CHECK_FALSE(st->push("record", "{}"));
}

TEST_CASE("event_stream: a client that leaves closes its stream, and stop() ends the others",
          "[net]") {
  stream_server s;
  stream_reader leaving(s.server->port());
  auto gone = s.wait_stream(1);
  stream_reader staying(s.server->port());
  auto kept = s.wait_stream(2);
  REQUIRE(leaving.read_until("\r\n\r\n"));
  leaving.close();
  for (int i = 0; i < 200 && !gone->closed(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(gone->closed());
  CHECK_FALSE(gone->push("record", "{}"));
  CHECK(kept->push("record", "{}"));
  REQUIRE(staying.read_until("data: {}\n\n"));
  auto before = std::chrono::steady_clock::now();
  s.server->stop();
  CHECK(std::chrono::steady_clock::now() - before < std::chrono::seconds(2));
  CHECK(staying.closed_by_server());
  CHECK(kept->closed());
}

TEST_CASE("event_stream: a client that falls too far behind is dropped", "[net]") {
  net::event_stream st(54); // bytes; no server: nothing takes what is queued
  CHECK(st.push("e", "1"));  // 18 bytes each
  CHECK(st.push("e", "2"));
  CHECK(st.push("e", "3"));
  CHECK_FALSE(st.push("e", "4")); // the fourth would be over the bound: closed
  CHECK(st.closed());
  bool finished = false;
  CHECK(st.take(finished).empty()); // what was queued is dropped with it
  CHECK(finished);

  // A reader that takes keeps the stream open however much goes through it.
  net::event_stream ok(54);
  for (int i = 0; i < 100; ++i) {
    REQUIRE(ok.push("e", std::to_string(i)));
    bool done = false;
    CHECK(ok.take(done) == "event: e\ndata: " + std::to_string(i) + "\n\n");
    CHECK_FALSE(done);
  }
}
