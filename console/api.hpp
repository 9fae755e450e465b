// The HTTP API of docs/http-api.md and the console page, as one request handler: every node's
// HTTP port and `eventide console` serve it. Reads come from the live feed (list, approvals,
// dead letters, metrics, stream) or straight from the log (one conversation, its events);
// writes go to the log like the CLI's (a question, an approval decision, a redrive).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "console/feed.hpp"
#include "net/http_server.hpp"
#include "storage/log.hpp"

namespace eventide::console {

struct api_settings {
  std::string topic_prefix;
  std::string node_id;      // in the source of the events it writes
  std::string default_user = "console"; // the userId of questions and decisions naming none
  bool loopback = true;     // bound to loopback: writes need no token
  std::string token;        // off loopback, writes need "Authorization: Bearer <token>"
  /// The node's health JSON for /health and /metrics; unset: those paths are 404.
  std::function<std::string()> health;
};

class api {
 public:
  api(std::shared_ptr<storage::log> log, api_settings settings);

  /// Answers one request; never throws.
  net::http_reply handle(const net::http_request& rq);

  /// The live projection, started on first use (a node that is only scraped for metrics never
  /// reads the whole log).
  outcome<feed*> live();

 private:
  net::http_reply route(const net::http_request& rq);
  net::http_reply list_conversations(const net::http_request& rq);
  net::http_reply one_conversation(const std::string& id, bool raw_events);
  net::http_reply ask(const net::http_request& rq);
  net::http_reply decide(const std::string& conversation, const std::string& step,
                         const net::http_request& rq);
  net::http_reply dead_letters(const net::http_request& rq, const std::string& address,
                               bool redrive);
  net::http_reply metrics();
  net::http_reply stream(const net::http_request& rq);
  net::http_reply check_write(const net::http_request& rq) const;

  std::shared_ptr<storage::log> log_;
  api_settings settings_;
  topics topics_;
  feed feed_;
  std::mutex redrive_mu_;
};

} // namespace eventide::console
