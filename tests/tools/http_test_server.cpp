#include "tests/tools/http_test_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <stdexcept>

namespace eventide::testing {

namespace {

std::string lower(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos)
    return {};
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

const char* reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

void send_all(int fd, const std::string& data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0)
      return; // the client gave up (e.g. its timeout): nothing left to do
    sent += static_cast<std::size_t>(n);
  }
}

// Reads one request: headers up to the blank line, then Content-Length bytes of body.
bool read_request(int fd, recorded_request& out) {
  std::string data;
  char buf[4096];
  std::size_t header_end = std::string::npos;
  while ((header_end = data.find("\r\n\r\n")) == std::string::npos) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0)
      return false;
    data.append(buf, static_cast<std::size_t>(n));
  }
  std::string head = data.substr(0, header_end);
  std::string body = data.substr(header_end + 4);
  auto line_end = head.find("\r\n");
  std::string request_line = head.substr(0, line_end);
  auto sp1 = request_line.find(' ');
  auto sp2 = request_line.find(' ', sp1 + 1);
  if (sp1 == std::string::npos || sp2 == std::string::npos)
    return false;
  out.method = request_line.substr(0, sp1);
  out.target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  auto q = out.target.find('?');
  out.path = out.target.substr(0, q);
  out.query = q == std::string::npos ? "" : out.target.substr(q + 1);
  std::size_t length = 0;
  std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    auto end = head.find("\r\n", pos);
    if (end == std::string::npos)
      end = head.size();
    std::string line = head.substr(pos, end - pos);
    pos = end + 2;
    auto colon = line.find(':');
    if (colon == std::string::npos)
      continue;
    std::string name = trim(line.substr(0, colon)), value = trim(line.substr(colon + 1));
    if (lower(name) == "content-length")
      length = static_cast<std::size_t>(std::strtoul(value.c_str(), nullptr, 10));
    out.headers.emplace_back(name, value);
  }
  while (body.size() < length) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0)
      return false;
    body.append(buf, static_cast<std::size_t>(n));
  }
  out.body = body.substr(0, length);
  return true;
}

} // namespace

std::string recorded_request::header(const std::string& name) const {
  for (const auto& [key, value] : headers)
    if (lower(key) == lower(name))
      return value;
  return {};
}

http_test_server::http_test_server() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (listen_fd_ < 0)
    throw std::runtime_error("http_test_server: socket() failed");
  int yes = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0
      || ::listen(listen_fd_, 64) != 0
      || ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(listen_fd_);
    throw std::runtime_error("http_test_server: cannot listen on 127.0.0.1");
  }
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

http_test_server::~http_test_server() { stop(); }

std::string http_test_server::url() const { return "http://127.0.0.1:" + std::to_string(port_); }

void http_test_server::enqueue(const std::string& path, scripted_response response) {
  std::lock_guard<std::mutex> lock(mu_);
  queued_[path].push_back(std::move(response));
}

void http_test_server::set_default(const std::string& path, scripted_response response) {
  std::lock_guard<std::mutex> lock(mu_);
  defaults_[path] = std::move(response);
}

void http_test_server::set_handler(const std::string& path, handler h) {
  std::lock_guard<std::mutex> lock(mu_);
  handlers_[path] = std::move(h);
}

std::vector<recorded_request> http_test_server::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

std::vector<recorded_request> http_test_server::requests(const std::string& path) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<recorded_request> out;
  for (const auto& r : requests_)
    if (r.path == path)
      out.push_back(r);
  return out;
}

void http_test_server::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_)
      return;
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (acceptor_.joinable())
    acceptor_.join();
  ::close(listen_fd_);
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    threads.swap(connections_);
  }
  for (auto& t : threads)
    t.join();
}

void http_test_server::accept_loop() {
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_)
        return;
    }
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0)
      continue;
    int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0)
      continue;
    timeval tv{5, 0}; // a stuck client cannot hold a connection thread forever
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::lock_guard<std::mutex> lock(mu_);
    connections_.emplace_back([this, fd] { serve(fd); });
  }
}

scripted_response http_test_server::respond_to(const recorded_request& request) {
  handler h;
  {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(request);
    if (auto q = queued_.find(request.path); q != queued_.end() && !q->second.empty()) {
      auto r = std::move(q->second.front());
      q->second.pop_front();
      return r;
    }
    if (auto d = defaults_.find(request.path); d != defaults_.end())
      return d->second;
    if (auto it = handlers_.find(request.path); it != handlers_.end())
      h = it->second;
  }
  if (h)
    return h(request);
  return scripted_response{404, R"({"error":"no scripted response for )" + request.path + R"("})", {}, 0};
}

void http_test_server::serve(int fd) {
  recorded_request request;
  if (read_request(fd, request)) {
    scripted_response response = respond_to(request);
    if (response.delay_ms > 0) {
      std::unique_lock<std::mutex> lock(mu_);
      stop_cv_.wait_for(lock, std::chrono::milliseconds(response.delay_ms), [this] { return stopping_; });
    }
    std::string out = "HTTP/1.1 " + std::to_string(response.status) + " "
                      + reason_phrase(response.status) + "\r\n";
    bool has_type = false;
    for (const auto& [key, value] : response.headers) {
      out += key + ": " + value + "\r\n";
      has_type = has_type || lower(key) == "content-type";
    }
    if (!has_type)
      out += "Content-Type: application/json\r\n";
    out += "Content-Length: " + std::to_string(response.body.size()) + "\r\nConnection: close\r\n\r\n";
    out += response.body;
    send_all(fd, out);
  }
  ::shutdown(fd, SHUT_RDWR);
  ::close(fd);
}

} // namespace eventide::testing
