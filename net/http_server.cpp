// The HTTP/1.1 server of http_server.hpp on Boost.Beast: an acceptor and one strand per
// connection on a small pool of threads. All Beast code of the project lives in this file.
#include "net/http_server.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace eventide::net {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

bool same_name(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x))
                  == std::tolower(static_cast<unsigned char>(y));
         });
}

// The status for a request the parser refused; 0 when the connection just ended or timed out
// (nothing to answer).
int status_for_read_error(const beast::error_code& ec) {
  if (ec == bhttp::error::body_limit)
    return 413;
  if (ec == bhttp::error::header_limit)
    return 431;
  if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message
      || ec == beast::error::timeout || ec == asio::error::operation_aborted
      || ec == asio::error::eof || ec == asio::error::connection_reset
      || ec == asio::error::bad_descriptor)
    return 0;
  if (ec.category() == beast::error_code(bhttp::error::bad_method).category())
    return 400; // bad method, target, version, header, chunk, content length...
  return 0;     // a socket error: the peer is gone
}

// The JSON answer to a request refused while reading it.
std::string error_body(int status, const http_server_settings& limits) {
  if (status == 413)
    return "{\"error\":\"body_too_large\",\"message\":\"the body is over "
           + std::to_string(limits.body_limit) + " bytes\"}";
  if (status == 431)
    return "{\"error\":\"headers_too_large\",\"message\":\"the request head is over "
           + std::to_string(limits.header_limit) + " bytes\"}";
  return "{\"error\":\"bad_request\",\"message\":\"malformed HTTP request\"}";
}

} // namespace

// Named (not anonymous): http_server::impl holds a server_state.
namespace http_server_detail {

struct server_state;

// One connection: read a request, answer it, and again while keep-alive lasts.
class session : public std::enable_shared_from_this<session> {
 public:
  session(tcp::socket socket, server_state& server)
      : stream_(std::move(socket)), server_(server) {}

  void start();
  // From stop(): closes the connection unless a request is being answered (that one finishes
  // and then closes, since the server is stopping).
  void request_stop();

 private:
  void read_request();
  void on_header(beast::error_code ec);
  void on_body(beast::error_code ec);
  void answer();
  void send(int status, bool keep_alive, std::function<void(bhttp::response<bhttp::string_body>&)> fill);
  void on_write(bool keep_alive, beast::error_code ec);
  void linger();
  void drain();
  void close();
  void start_stream(std::shared_ptr<event_stream> events);
  void flush_stream();
  void watch_peer();

  beast::tcp_stream stream_;
  server_state& server_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<bhttp::response<bhttp::string_body>> response_;
  bool busy_ = false;   // between a complete request and its answer written
  bool unread_ = false; // the request was refused before all of it was read
  std::shared_ptr<event_stream> events_; // while answering with server-sent events
  std::string chunk_;                    // the events being written
  bool writing_ = false;
  char discard_[4096];
};

struct server_state {
  http_server_settings settings;
  http_handler handler;
  asio::io_context ioc;
  tcp::acceptor acceptor;
  std::atomic<bool> stopping{false};
  std::mutex mu;
  std::map<session*, std::weak_ptr<session>> sessions;
  std::vector<std::thread> threads;
  int port = 0;

  server_state(http_server_settings s, http_handler h)
      : settings(std::move(s)), handler(std::move(h)), ioc(std::max(1, settings.threads)),
        acceptor(asio::make_strand(ioc)) {}

  void accept_next() {
    acceptor.async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open())
        return; // stopped
      if (!ec)
        admit(std::move(socket));
      accept_next();
    });
  }

  void admit(tcp::socket socket) {
    auto s = std::make_shared<session>(std::move(socket), *this);
    {
      std::lock_guard<std::mutex> lk(mu);
      if (stopping || sessions.size() >= settings.max_connections)
        return; // s closes its socket when dropped here
      sessions.emplace(s.get(), s);
    }
    s->start();
  }

  void forget(session* s) {
    std::lock_guard<std::mutex> lk(mu);
    sessions.erase(s);
  }
};

void session::start() {
  asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read_request(); });
}

void session::request_stop() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] {
    if (!self->busy_ || self->events_)
      self->close(); // an event stream has no end to wait for
  });
}

void session::read_request() {
  if (server_.stopping) {
    close();
    return;
  }
  parser_.emplace();
  parser_->body_limit(server_.settings.body_limit);
  parser_->header_limit(static_cast<std::uint32_t>(server_.settings.header_limit));
  stream_.expires_after(server_.settings.read_timeout);
  bhttp::async_read_header(stream_, buffer_, *parser_,
                           [self = shared_from_this()](beast::error_code ec, std::size_t) {
                             self->on_header(ec);
                           });
}

void session::on_header(beast::error_code ec) {
  if (ec) {
    on_body(ec);
    return;
  }
  if (parser_->is_done()) {
    answer();
    return;
  }
  auto read_body = [self = shared_from_this()] {
    bhttp::async_read(self->stream_, self->buffer_, *self->parser_,
                      [self](beast::error_code e, std::size_t) { self->on_body(e); });
  };
  // A client that waits for "100 Continue" before sending its body (curl does for large ones).
  if (same_name(std::string(parser_->get()[bhttp::field::expect]), "100-continue")) {
    auto cont = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, 11);
    bhttp::async_write(stream_, *cont, [self = shared_from_this(), cont, read_body](
                                           beast::error_code e, std::size_t) {
      if (e)
        self->close();
      else
        read_body();
    });
    return;
  }
  read_body();
}

void session::on_body(beast::error_code ec) {
  if (!ec) {
    answer();
    return;
  }
  int status = status_for_read_error(ec);
  if (status == 0) {
    close();
    return;
  }
  // The rest of a refused request is not read: answer, then drain and close (linger()).
  unread_ = true;
  send(status, false, [&](auto& res) {
    res.set(bhttp::field::content_type, "application/json");
    res.body() = error_body(status, server_.settings);
  });
}

void session::answer() {
  busy_ = true;
  const auto& msg = parser_->get();
  http_request req;
  req.method = std::string(msg.method_string());
  req.target = std::string(msg.target());
  auto q = req.target.find('?');
  req.path = req.target.substr(0, q);
  req.query = q == std::string::npos ? "" : req.target.substr(q + 1);
  for (const auto& field : msg)
    req.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  req.body = msg.body();
  bool keep_alive = msg.keep_alive();

  http_reply reply;
  try {
    reply = server_.handler(req);
  } catch (const std::exception&) {
    reply = http_reply{500, "application/json", {},
                       "{\"error\":\"internal\",\"message\":\"handler failed\"}", nullptr};
  }
  if (reply.status < 100 || reply.status > 999)
    reply = http_reply{500, "application/json", {},
                       "{\"error\":\"internal\",\"message\":\"handler gave an invalid status\"}", nullptr};
  if (reply.stream && reply.status == 200) {
    start_stream(std::move(reply.stream));
    return;
  }
  send(reply.status, keep_alive && !server_.stopping, [&reply](auto& res) {
    if (!reply.content_type.empty())
      res.set(bhttp::field::content_type, reply.content_type);
    for (auto& [name, value] : reply.headers)
      res.insert(name, value);
    res.body() = std::move(reply.body);
  });
}

void session::send(int status, bool keep_alive,
                   std::function<void(bhttp::response<bhttp::string_body>&)> fill) {
  busy_ = true;
  response_.emplace();
  auto& res = *response_;
  res.version(11);
  res.result(static_cast<unsigned>(status));
  res.set(bhttp::field::server, "eventide");
  fill(res);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  stream_.expires_after(server_.settings.read_timeout);
  bhttp::async_write(stream_, res,
                     [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
                       self->on_write(keep_alive, ec);
                     });
}

void session::on_write(bool keep_alive, beast::error_code ec) {
  busy_ = false;
  response_.reset();
  if (!ec && unread_) {
    linger();
    return;
  }
  if (ec || !keep_alive || server_.stopping) {
    close();
    return;
  }
  read_request();
}

// Closing a socket with unread bytes makes the kernel send a reset, which can destroy the answer
// before the client reads it (a 413 while the client still sends its body). So: end our side,
// read and drop what still comes for a short while, then close.
void session::linger() {
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream_.expires_after(std::chrono::seconds(2));
  drain();
}

void session::drain() {
  stream_.async_read_some(asio::buffer(discard_),
                          [self = shared_from_this()](beast::error_code ec, std::size_t) {
                            if (ec)
                              self->close();
                            else
                              self->drain();
                          });
}

// Server-sent events: the head (chunked, no keep-alive), then each batch of queued events as one
// chunk, woken by the stream. Nothing more is read from the client: a read that completes
// means it went away (or broke the protocol), and ends the stream.
void session::start_stream(std::shared_ptr<event_stream> events) {
  events_ = std::move(events);
  auto res = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::ok, 11);
  res->set(bhttp::field::server, "eventide");
  res->set(bhttp::field::content_type, "text/event-stream");
  res->set(bhttp::field::cache_control, "no-cache");
  res->keep_alive(false);
  res->chunked(true);
  auto sr = std::make_shared<bhttp::response_serializer<bhttp::empty_body>>(*res);
  stream_.expires_never(); // a stream is idle between events; keep-alives find dead peers
  writing_ = true;
  bhttp::async_write_header(stream_, *sr, [self = shared_from_this(), res, sr](
                                             beast::error_code ec, std::size_t) {
    self->writing_ = false;
    if (ec) {
      self->close();
      return;
    }
    std::weak_ptr<session> weak = self;
    auto executor = self->stream_.get_executor();
    self->events_->on_ready([weak, executor] {
      if (auto s = weak.lock())
        asio::post(executor, [s] { s->flush_stream(); });
    });
    self->watch_peer();
    self->flush_stream();
  });
}

void session::flush_stream() {
  if (!events_ || writing_)
    return;
  bool finished = false;
  chunk_ = events_->take(finished);
  if (chunk_.empty()) {
    if (finished) {
      writing_ = true;
      asio::async_write(stream_, bhttp::make_chunk_last(),
                        [self = shared_from_this()](beast::error_code, std::size_t) {
                          self->close();
                        });
    }
    return;
  }
  writing_ = true;
  asio::async_write(stream_, bhttp::make_chunk(asio::buffer(chunk_)),
                    [self = shared_from_this()](beast::error_code ec, std::size_t) {
                      self->writing_ = false;
                      if (ec)
                        self->close();
                      else
                        self->flush_stream();
                    });
}

void session::watch_peer() {
  stream_.async_read_some(asio::buffer(discard_),
                          [self = shared_from_this()](beast::error_code, std::size_t) {
                            self->close();
                          });
}

void session::close() {
  if (events_) {
    events_->close();
    events_->on_ready(nullptr);
  }
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.socket().close(ignored);
  server_.forget(this);
}

} // namespace http_server_detail

using http_server_detail::server_state;
using http_server_detail::session;

bool event_stream::queue(std::string_view frames) {
  std::function<void()> wake;
  bool open = true;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (closed_)
      return false;
    if (pending_.size() + frames.size() > max_queued_) {
      // Too far behind: drop it rather than hold an unbounded backlog for it.
      closed_ = true;
      pending_.clear();
    } else {
      pending_.append(frames);
    }
    open = !closed_;
    if (!signalled_ && ready_) {
      signalled_ = true;
      wake = ready_;
    }
  }
  if (wake)
    wake();
  return open;
}

void event_stream::frame(std::string& out, std::string_view event, std::string_view data) {
  out.append("event: ").append(event).append("\ndata: ").append(data).append("\n\n");
}

bool event_stream::push(std::string_view event, std::string_view data) {
  std::string f;
  frame(f, event, data);
  return queue(f);
}

bool event_stream::push_frames(std::string_view frames) { return queue(frames); }

bool event_stream::push_comment(std::string_view text) {
  return queue(std::string(": ").append(text).append("\n\n"));
}

void event_stream::close() {
  std::function<void()> wake;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (closed_)
      return;
    closed_ = true;
    if (!signalled_ && ready_) {
      signalled_ = true;
      wake = ready_;
    }
  }
  if (wake)
    wake();
}

bool event_stream::closed() const {
  std::lock_guard<std::mutex> lk(mu_);
  return closed_;
}

std::string event_stream::take(bool& finished) {
  std::lock_guard<std::mutex> lk(mu_);
  signalled_ = false;
  std::string out;
  out.swap(pending_);
  finished = closed_;
  return out;
}

void event_stream::on_ready(std::function<void()> f) {
  std::function<void()> wake;
  {
    std::lock_guard<std::mutex> lk(mu_);
    ready_ = std::move(f);
    signalled_ = false;
    if (ready_ && (!pending_.empty() || closed_)) {
      signalled_ = true;
      wake = ready_;
    }
  }
  if (wake)
    wake();
}

std::string http_request::header(std::string_view name) const {
  for (auto& [n, v] : headers)
    if (same_name(n, name))
      return v;
  return "";
}

bool http_request::has_header(std::string_view name) const {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const http_field& h) { return same_name(h.first, name); });
}

std::string_view status_reason(int status) {
  auto r = bhttp::obsolete_reason(static_cast<bhttp::status>(status));
  return std::string_view(r.data(), r.size());
}

struct http_server::impl {
  std::unique_ptr<server_state> state;
  std::once_flag stopped;
};

http_server::http_server(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

http_server::~http_server() { stop(); }

outcome<std::unique_ptr<http_server>> http_server::start(http_server_settings settings,
                                                         http_handler handler) {
  if (settings.port < 0 || settings.port > 65535)
    return fail("port " + std::to_string(settings.port) + " is not between 0 and 65535");
  if (!handler)
    return fail("http_server needs a handler");
  auto state = std::make_unique<server_state>(std::move(settings), std::move(handler));
  auto& s = *state;
  std::string where = s.settings.host + ":" + std::to_string(s.settings.port);
  beast::error_code ec;
  tcp::resolver resolver(s.ioc);
  auto endpoints = resolver.resolve(s.settings.host, std::to_string(s.settings.port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || endpoints.empty())
    return fail("cannot listen on " + where + ": unknown host (" + ec.message() + ")");
  tcp::endpoint endpoint = endpoints.begin()->endpoint();
  s.acceptor.open(endpoint.protocol(), ec);
  if (!ec)
    s.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec)
    s.acceptor.bind(endpoint, ec);
  if (!ec)
    s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return fail("cannot listen on " + where + ": " + ec.message());
  s.port = s.acceptor.local_endpoint().port();
  s.accept_next();
  for (int i = 0; i < std::max(1, s.settings.threads); ++i)
    s.threads.emplace_back([&s] { s.ioc.run(); });
  auto p = std::make_unique<impl>();
  p->state = std::move(state);
  return std::unique_ptr<http_server>(new http_server(std::move(p)));
}

int http_server::port() const { return impl_->state->port; }

std::string http_server::url() const {
  auto& host = impl_->state->settings.host;
  bool v6 = host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port());
}

void http_server::stop() {
  std::call_once(impl_->stopped, [this] {
    auto& s = *impl_->state;
    std::vector<std::shared_ptr<session>> live;
    {
      std::lock_guard<std::mutex> lk(s.mu);
      s.stopping = true;
      for (auto& [raw, weak] : s.sessions)
        if (auto p = weak.lock())
          live.push_back(std::move(p));
    }
    asio::post(s.acceptor.get_executor(), [&s] {
      beast::error_code ignored;
      s.acceptor.close(ignored);
    });
    for (auto& p : live)
      p->request_stop();
    live.clear();
    // run() returns once the acceptor and every connection are closed.
    for (auto& t : s.threads)
      t.join();
    s.threads.clear();
  });
}

} // namespace eventide::net
