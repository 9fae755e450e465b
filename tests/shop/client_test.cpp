// The shop over HTTP: net::http_server with the shop's handler, http_shop_client and
// in_process_shop_client; keep-alive, limits and malformed requests on a raw socket.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "net/http_server.hpp"
#include "shop/client.hpp"
#include "shop/http_handler.hpp"
#include "tests/shop/shop_fixture.hpp"

using namespace eventide;
using eventide::testing::shop_fixture;

namespace {

// A shop from shop_fixture, shared with an HTTP server on an ephemeral loopback port.
struct http_shop {
  shop_fixture f;
  std::shared_ptr<shop::shop_service> shop;
  std::unique_ptr<net::http_server> server;

  http_shop() {
    f.open();
    shop = std::move(f.shop);
    auto started = net::http_server::start(shop::shop_server_settings("127.0.0.1", 0),
                                           shop::make_shop_http_handler(shop));
    INFO((started.ok() ? std::string() : started.error()));
    REQUIRE(started.ok());
    server = std::move(started.value());
  }
};

// A loopback TCP connection for writing raw requests and reading raw responses.
struct raw_connection {
  int fd = -1;
  explicit raw_connection(int port) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~raw_connection() { ::close(fd); }
  void send(const std::string& data) {
    REQUIRE(::send(fd, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size()));
  }
  // Ends our side (the server closes a refused request's connection once it sees that).
  void finish() { ::shutdown(fd, SHUT_WR); }
  // Everything until the peer closes (or 5 s pass).
  std::string read_all() {
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;)
      out.append(buf, static_cast<size_t>(n));
    return out;
  }
  // One response: the head and Content-Length bytes of body.
  std::string read_response() {
    std::string out;
    char c;
    while (out.find("\r\n\r\n") == std::string::npos && ::recv(fd, &c, 1, 0) == 1)
      out += c;
    auto at = out.find("Content-Length: ");
    REQUIRE(at != std::string::npos);
    auto length = std::stoul(out.substr(at + 16));
    std::string body(length, '\0');
    size_t got = 0;
    while (got < length) {
      auto n = ::recv(fd, body.data() + got, length - got, 0);
      REQUIRE(n > 0);
      got += static_cast<size_t>(n);
    }
    return out + body;
  }
};

} // namespace

TEST_CASE("shop over HTTP: an order, its replay with the header, effects counted", "[shop]") {
  http_shop s;
  shop::http_shop_client client(s.server->url() + "/");
  CHECK(client.describe() == s.server->url());
  auto body = R"({"product":"Tidal Buds","quantity":2})";
  auto placed = client.call({"POST", "/orders", "inv-1", body});
  CHECK(placed.status == 201);
  CHECK(placed.body.rfind(R"({"orderId":"o-1","product":"tidal-buds")", 0) == 0);
  CHECK_FALSE(placed.replayed);
  auto again = client.call({"POST", "/orders", "inv-1", body});
  CHECK(again.status == 201);
  CHECK(again.body == placed.body);
  CHECK(again.replayed);
  auto effects = client.call({"GET", "/effects", "", ""});
  CHECK(effects.status == 200);
  CHECK(effects.body == R"([{"seq":1,"kind":"order_placed","id":"o-1","idempotencyKey":"inv-1"}])");
  CHECK(client.call({"POST", "/orders", "", body}).status == 400); // no key
  auto lost = client.call({"GET", "/nowhere", "", ""});
  CHECK(lost.status == 404);
  CHECK(lost.body == R"({"error":"not_found","message":"no route GET /nowhere"})");
  // Over the body limit: the server refuses it before the shop sees it.
  auto huge = client.call({"POST", "/orders", "inv-2", std::string(70 * 1024, 'x')});
  CHECK(huge.status == 413);
  CHECK(huge.body.find("body_too_large") != std::string::npos);
  CHECK(client.call({"GET", "/health", "", ""}).status == 200); // the client recovers

  shop::in_process_shop_client local(s.shop);
  auto local_replay = local.call({"POST", "/orders", "inv-1", body});
  CHECK(local_replay.replayed);
  CHECK(local_replay.body == placed.body);
}

TEST_CASE("http_server: keep-alive, malformed and oversized requests on a raw socket", "[shop]") {
  http_shop s;
  {
    raw_connection c(s.server->port());
    c.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    auto first = c.read_response();
    CHECK(first.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(first.find(R"({"status":"ok"})") != std::string::npos);
    // The same connection serves the next request.
    c.send("POST /orders HTTP/1.1\r\nHost: x\r\nIdempotency-Key: raw-1\r\nContent-Length: 36\r\n"
           "Connection: close\r\n\r\n{\"product\":\"aurora-x1\",\"quantity\":1}");
    auto second = c.read_all();
    CHECK(second.rfind("HTTP/1.1 201 Created\r\n", 0) == 0);
    CHECK(second.find("Connection: close") != std::string::npos);
    CHECK(second.find(R"("orderId":"o-1")") != std::string::npos);
  }
  {
    raw_connection c(s.server->port());
    c.send("THIS IS NOT HTTP\r\n\r\n");
    c.finish();
    CHECK(c.read_all().rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0);
  }
  {
    raw_connection c(s.server->port());
    c.send("POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n");
    c.finish();
    CHECK(c.read_all().rfind("HTTP/1.1 413 Payload Too Large\r\n", 0) == 0);
  }
  {
    raw_connection c(s.server->port());
    c.send("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n");
    c.finish();
    CHECK(c.read_all().rfind("HTTP/1.1 431 ", 0) == 0);
  }
  {
    raw_connection c(s.server->port());
    c.send("POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n");
    c.finish();
    CHECK(c.read_all().rfind("HTTP/1.1 400 ", 0) == 0);
  }
  // An idle keep-alive connection does not hold stop() up.
  raw_connection idle(s.server->port());
  idle.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(idle.read_response().rfind("HTTP/1.1 200", 0) == 0);
  auto before = std::chrono::steady_clock::now();
  s.server->stop();
  CHECK(std::chrono::steady_clock::now() - before < std::chrono::seconds(2));
  CHECK(idle.read_all().empty()); // closed by the server
}

TEST_CASE("http_shop_client: no answer is status 0 with the reason, not an HTTP status", "[shop]") {
  int port = 0;
  {
    auto server = net::http_server::start({}, [](const net::http_request&) { return net::http_reply{}; });
    REQUIRE(server.ok());
    port = (*server)->port();
  } // stopped: nothing listens there now
  shop::http_shop_client client("http://127.0.0.1:" + std::to_string(port));
  auto r = client.call({"POST", "/orders", "k", "{}"});
  CHECK(r.status == 0);
  CHECK(shop::is_transport_failure(r));
  CHECK(r.body.rfind("connect failed: http://127.0.0.1:" + std::to_string(port) + "/orders", 0) == 0);

  // A handler slower than the client's timeout.
  auto slow = net::http_server::start({}, [](const net::http_request&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    return net::http_reply{200, "application/json", {}, "{}"};
  });
  REQUIRE(slow.ok());
  shop::http_shop_client impatient((*slow)->url(), {1000, 200});
  auto late = impatient.call({"GET", "/health", "", ""});
  CHECK(late.status == 0);
  CHECK(late.body.rfind("timed out: ", 0) == 0);
}

TEST_CASE("http_server: the handler sees method, path, query, headers and body", "[shop]") {
  net::http_request seen;
  auto server = net::http_server::start({}, [&](const net::http_request& r) {
    seen = r;
    return net::http_reply{418, "text/plain", {{"X-Reply", "yes"}}, "teapot"};
  });
  REQUIRE(server.ok());
  CHECK((*server)->url() == "http://127.0.0.1:" + std::to_string((*server)->port()));
  raw_connection c((*server)->port());
  c.send("PUT /a/b?x=1&y=2 HTTP/1.1\r\nHost: x\r\nX-Thing: One\r\nContent-Length: 3\r\n"
         "Connection: close\r\n\r\nabc");
  auto reply = c.read_all();
  CHECK(reply.rfind("HTTP/1.1 418 ", 0) == 0);
  CHECK(reply.find("X-Reply: yes\r\n") != std::string::npos);
  CHECK(reply.find("Content-Type: text/plain\r\n") != std::string::npos);
  CHECK(reply.substr(reply.size() - 6) == "teapot");
  CHECK(seen.method == "PUT");
  CHECK(seen.target == "/a/b?x=1&y=2");
  CHECK(seen.path == "/a/b");
  CHECK(seen.query == "x=1&y=2");
  CHECK(seen.header("x-thing") == "One");
  CHECK(seen.has_header("HOST"));
  CHECK_FALSE(seen.has_header("X-Missing"));
  CHECK(seen.body == "abc");

  auto taken = net::http_server::start({"127.0.0.1", (*server)->port()}, [](const net::http_request&) {
    return net::http_reply{};
  });
  REQUIRE_FALSE(taken.ok());
  CHECK(taken.error().find("cannot listen on 127.0.0.1:") == 0);
}
