// The console's HTTP API (api.hpp, docs/http-api.md).
#include "console/api.hpp"

#include <boost/uuid/uuid.hpp>
#include <boost/uuid/uuid_generators.hpp>
#include <boost/uuid/uuid_io.hpp>

#include "actors/metrics_role.hpp"
#include "console/assets.hpp"
#include "core/event_ids.hpp"
#include "core/json.hpp"
#include "core/prometheus.hpp"
#include "model/ids.hpp"
#include "schemas/codec.hpp"
#include "storage/log_io.hpp"

namespace eventide::console {

namespace {

net::http_reply json_reply(int status, std::string body) {
  net::http_reply r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

net::http_reply error_reply(int status, const char* code, const std::string& message) {
  return json_reply(status, "{\"error\":" + json::quote(code) + ",\"message\":"
                              + json::quote(message) + "}");
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

// %XX decoding of a path segment or query value; nullopt for a malformed escape or a NUL.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9')
      return c - '0';
    if (c >= 'a' && c <= 'f')
      return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
      return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size())
        return std::nullopt;
      int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
      if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
        return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (plus_is_space && s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

// The query's parameters; nullopt when one is malformed.
std::optional<std::map<std::string, std::string>> parse_query(const std::string& q) {
  std::map<std::string, std::string> out;
  size_t at = 0;
  while (at < q.size()) {
    auto amp = q.find('&', at);
    auto part = std::string_view(q).substr(at, amp == std::string::npos ? std::string::npos
                                                                        : amp - at);
    at = amp == std::string::npos ? q.size() : amp + 1;
    if (part.empty())
      continue;
    auto eq = part.find('=');
    auto k = percent_decode(part.substr(0, eq), true);
    auto v = percent_decode(eq == std::string::npos ? std::string_view() : part.substr(eq + 1),
                            true);
    if (!k || !v)
      return std::nullopt;
    out[*k] = *v;
  }
  return out;
}

// A conversation id the log can key (as `ask --conversation` checks it).
bool valid_conversation_id(const std::string& id) {
  return !id.empty() && id.size() <= 200 && id.find('/') == std::string::npos
         && id.find_first_of(" \t\r\n") == std::string::npos;
}

// A topic, group or position without the deployment's topic prefix.
std::string unprefixed(const std::string& prefix, const std::string& name) {
  return !prefix.empty() && name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
}

std::string where(const std::string& topic, const storage::position& p) {
  return topic + "/" + std::to_string(p.partition) + "@" + std::to_string(p.offset);
}

} // namespace

api::api(std::shared_ptr<storage::log> log, api_settings settings)
    : log_(log), settings_(std::move(settings)), topics_(settings_.topic_prefix),
      feed_(std::move(log), settings_.topic_prefix) {}

outcome<feed*> api::live() {
  if (auto r = feed_.start(); !r)
    return fail(r.error());
  // What the log held when the feed started is read before the first answer (bounded: a huge
  // log answers with what is read so far, and the list fills in).
  feed_.wait_caught_up(std::chrono::seconds(10));
  return &feed_;
}

net::http_reply api::handle(const net::http_request& rq) {
  try {
    return route(rq);
  } catch (const std::exception& e) {
    return error_reply(500, "internal", e.what());
  }
}

net::http_reply api::check_write(const net::http_request& rq) const {
  if (settings_.loopback)
    return {0, "", {}, "", nullptr};
  if (settings_.token.empty())
    return error_reply(403, "writes_disabled",
                       "this server is bound off loopback and EVENTIDE_HTTP_TOKEN is not set");
  if (rq.header("Authorization") != "Bearer " + settings_.token) {
    auto r = error_reply(401, "unauthorized", "writes need Authorization: Bearer <token>");
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  }
  return {0, "", {}, "", nullptr};
}

net::http_reply api::route(const net::http_request& rq) {
  // The path's segments, each percent-decoded ("/api/conversations/c%2F1" is one segment).
  std::vector<std::string> seg;
  size_t at = 1;
  while (at <= rq.path.size()) {
    auto slash = rq.path.find('/', at);
    auto raw = rq.path.substr(at, slash == std::string::npos ? std::string::npos : slash - at);
    auto s = percent_decode(raw, false);
    if (!s)
      return error_reply(400, "bad_request", "malformed percent-encoding in the path");
    seg.push_back(std::move(*s));
    if (slash == std::string::npos)
      break;
    at = slash + 1;
  }
  if (!seg.empty() && seg.back().empty() && seg.size() > 1)
    seg.pop_back(); // a trailing slash
  auto allow = [&](const char* methods) {
    auto r = error_reply(405, "method_not_allowed", "allowed: " + std::string(methods));
    r.headers.emplace_back("Allow", methods);
    return r;
  };
  const bool get = rq.method == "GET" || rq.method == "HEAD";
  const bool post = rq.method == "POST";
  auto n = seg.size();
  // The page and its assets.
  if (rq.path == "/" || (n == 2 && seg[0] == "assets")) {
    if (!get)
      return allow("GET");
    auto a = find_asset(rq.path == "/" ? "index.html" : seg[1]);
    if (!a || (n == 2 && seg[1] == "index.html"))
      return error_reply(404, "not_found", "no asset " + rq.path);
    net::http_reply r;
    r.content_type = std::string(a->content_type);
    r.body = std::string(a->body);
    r.headers.emplace_back("Cache-Control", "no-cache");
    return r;
  }
  if (n == 1 && (seg[0] == "metrics" || seg[0] == "health") && settings_.health) {
    if (!get)
      return allow("GET");
    net::http_reply r;
    if (seg[0] == "health") {
      r.body = settings_.health();
    } else {
      auto text = core::prometheus_text(settings_.health());
      r.content_type = "text/plain; version=0.0.4";
      r.body = text ? *text : "# " + text.error() + "\n";
    }
    return r;
  }
  if (n < 2 || seg[0] != "api")
    return error_reply(404, "not_found", "no route " + rq.path);
  const auto& what = seg[1];
  if (what == "conversations") {
    if (n == 2) {
      if (get)
        return list_conversations(rq);
      if (post)
        return ask(rq);
      return allow("GET, POST");
    }
    if (!valid_conversation_id(seg[2]))
      return error_reply(400, "bad_request", "'" + seg[2] + "' is not a conversation id");
    if (n == 3 || (n == 4 && seg[3] == "events")) {
      if (!get)
        return allow("GET");
      return one_conversation(seg[2], n == 4);
    }
    if (n == 5 && seg[3] == "approvals") {
      if (!post)
        return allow("POST");
      return decide(seg[2], seg[4], rq);
    }
  } else if (what == "dead-letters") {
    if (n == 2) {
      if (!get)
        return allow("GET");
      return dead_letters(rq, "", false);
    }
    if (n == 3 && !get)
      return allow("GET");
    if (n == 3)
      return dead_letters(rq, seg[2], false);
    if (n == 4 && seg[3] == "redrive") {
      if (!post)
        return allow("POST");
      return dead_letters(rq, seg[2], true);
    }
  } else if (n == 2 && what == "approvals") {
    if (!get)
      return allow("GET");
    auto f = live();
    if (!f)
      return error_reply(503, "unavailable", f.error());
    return json_reply(200, (*f)->read([](auto& index, auto&, auto&) {
      return core::approvals_json(index.pending_approvals());
    }));
  } else if (n == 2 && what == "metrics") {
    if (!get)
      return allow("GET");
    return metrics();
  } else if (n == 2 && what == "stream") {
    if (!get)
      return allow("GET");
    return stream(rq);
  }
  return error_reply(404, "not_found", "no route " + rq.path);
}

net::http_reply api::list_conversations(const net::http_request& rq) {
  auto q = parse_query(rq.query);
  if (!q)
    return error_reply(400, "bad_request", "malformed query string");
  std::optional<core::conversation_status> state;
  size_t limit = 50;
  std::string cursor;
  for (auto& [k, v] : *q) {
    if (k == "state") {
      state = core::parse_conversation_status(v);
      if (!state)
        return error_reply(400, "bad_request",
                           "state is one of running, waiting, answered, failed, cancelled");
    } else if (k == "limit") {
      if (v.empty() || v.size() > 3 || v.find_first_not_of("0123456789") != std::string::npos
          || std::stoi(v) < 1 || std::stoi(v) > 500)
        return error_reply(400, "bad_request", "limit is a number from 1 to 500");
      limit = static_cast<size_t>(std::stoi(v));
    } else if (k == "cursor") {
      cursor = v;
    } else {
      return error_reply(400, "bad_request", "unknown parameter '" + k + "'");
    }
  }
  auto f = live();
  if (!f)
    return error_reply(503, "unavailable", f.error());
  return (*f)->read([&](const core::conversation_index& index, auto&, auto&) {
    auto page = index.list(state, limit, cursor);
    if (!page)
      return error_reply(400, "bad_request", page.error());
    std::string body = "{\"conversations\":[";
    for (size_t i = 0; i < page->items.size(); ++i)
      body += (i ? "," : "") + core::summary_json(*page->items[i]);
    body += "],\"total\":" + std::to_string(page->total) + ",\"next\":"
            + (page->next ? json::quote(*page->next) : "null") + "}";
    return json_reply(200, std::move(body));
  });
}

net::http_reply api::one_conversation(const std::string& id, bool raw_events) {
  std::vector<core::located_event> found;
  auto r = storage::read_topics_to_end(
    *log_, {topics_.user_commands, topics_.conversation_events, topics_.tool_requests},
    [&](const storage::record& rec) {
      if (auto ev = events::decode(rec.value)) {
        found.push_back({unprefixed(settings_.topic_prefix, rec.topic), rec.partition, rec.offset, std::move(*ev), rec.value});
      }
    },
    id);
  if (!r)
    return error_reply(503, "unavailable", r.error());
  if (found.empty())
    return error_reply(404, "not_found", "no conversation " + id);
  auto view = core::build_conversation_view(id, std::move(found));
  return json_reply(200, raw_events ? core::events_json(view) : core::conversation_json(view));
}

net::http_reply api::ask(const net::http_request& rq) {
  if (auto denied = check_write(rq); denied.status)
    return denied;
  auto body = json::parse(rq.body);
  if (!body || !body->IsObject())
    return error_reply(400, "bad_request", "the body is a JSON object {\"question\": ...}");
  auto question = json::get_string(*body, "question");
  if (!question)
    return error_reply(400, "bad_request", "question (a string) is missing");
  if (question->find_first_not_of(" \t\r\n") == std::string::npos)
    return error_reply(422, "unprocessable", "the question is empty");
  if (question->size() > 4000)
    return error_reply(422, "unprocessable", "the question is longer than 4000 characters");
  auto user = json::get_string(*body, "user").value_or(settings_.default_user);
  std::string conversation;
  int turn = 1;
  if (body->HasMember("conversationId")) {
    auto c = json::get_string(*body, "conversationId");
    if (!c || !valid_conversation_id(*c))
      return error_reply(400, "bad_request", "conversationId is not a conversation id");
    conversation = *c;
    // A follow-up: the turn after the highest one asked (from the log, like `ask`).
    int last = 0;
    auto r = storage::read_topics_to_end(*log_, {topics_.user_commands},
                                         [&](const storage::record& rec) {
                                           auto ev = events::decode(rec.value);
                                           if (ev && std::holds_alternative<events::user_query_received>(ev->data))
                                             last = std::max(last, events::turn_of(ev->data));
                                         },
                                         conversation);
    if (!r)
      return error_reply(503, "unavailable", r.error());
    if (last == 0)
      return error_reply(404, "not_found", "no conversation " + conversation);
    turn = last + 1;
  } else {
    conversation = boost::uuids::to_string(boost::uuids::random_generator()());
  }
  events::event q;
  q.subject = conversation;
  events::user_query_received asked{conversation, user, *question, now_ms()};
  asked.turn = turn;
  q.data = std::move(asked);
  q.id = turn_scope(conversation, turn) + "/query";
  q.source = "eventide/console/" + settings_.node_id;
  q.time_ms = now_ms();
  auto bytes = events::encode(q);
  if (!bytes)
    return error_reply(422, "unprocessable", "cannot ask this question: " + bytes.error());
  auto written = storage::produce_one(*log_, topics_.user_commands, conversation, *bytes,
                                      events::cloudevents_headers(q));
  if (!written)
    return error_reply(503, "unavailable", "could not write to the log: " + written.error());
  return json_reply(202, "{\"conversationId\":" + json::quote(conversation)
                           + ",\"turn\":" + std::to_string(turn) + ",\"position\":"
                           + json::quote(where("user-commands", *written)) + "}");
}

net::http_reply api::decide(const std::string& conversation, const std::string& step,
                            const net::http_request& rq) {
  if (auto denied = check_write(rq); denied.status)
    return denied;
  auto body = json::parse(rq.body);
  if (!body || !body->IsObject())
    return error_reply(400, "bad_request", "the body is a JSON object {\"approve\": true|false}");
  auto approve = json::get_bool(*body, "approve");
  if (!approve)
    return error_reply(400, "bad_request", "approve (true or false) is missing");
  if (step.empty() || step.size() > 200)
    return error_reply(400, "bad_request", "'" + step + "' is not a step id");
  auto f = live();
  if (!f)
    return error_reply(503, "unavailable", f.error());
  // The turn the decision is for: the step's pending approval, else the latest turn (the
  // orchestrator then says why it cannot be decided, like `eventide approve` with a step).
  auto turn = (*f)->read([&](const core::conversation_index& index, auto&, auto&) {
    auto s = index.find(conversation);
    if (!s || s->turns.empty())
      return 0;
    for (auto& [n, t] : s->turns)
      if (t.approvals.count(step))
        return n;
    return s->turns.rbegin()->first;
  });
  if (turn == 0)
    return error_reply(404, "not_found", "no conversation " + conversation);
  events::approval_submitted decision;
  decision.step_id = step;
  decision.approve = *approve;
  decision.user_id = json::get_string(*body, "user").value_or(settings_.default_user);
  decision.reason = json::get_string(*body, "reason").value_or("");
  decision.turn = turn;
  events::event e;
  e.subject = conversation;
  e.data = std::move(decision);
  e.id = core::deterministic_id(conversation, e.data) + "/"
         + boost::uuids::to_string(boost::uuids::random_generator()());
  e.source = "eventide/console/" + settings_.node_id;
  e.time_ms = now_ms();
  auto bytes = events::encode(e);
  if (!bytes)
    return error_reply(400, "bad_request", "cannot write this decision: " + bytes.error());
  auto topic = settings_.topic_prefix + events::topic_of(e.data);
  auto written = storage::produce_one(*log_, topic, conversation, *bytes,
                                      events::cloudevents_headers(e));
  if (!written)
    return error_reply(503, "unavailable", "could not write to the log: " + written.error());
  return json_reply(202, "{\"position\":"
                           + json::quote(where(events::topic_of(e.data), *written)) + "}");
}

net::http_reply api::dead_letters(const net::http_request& rq, const std::string& address,
                                  bool redrive) {
  auto f = live();
  if (!f)
    return error_reply(503, "unavailable", f.error());
  auto entry_json = [&](const storage::dead_letter_entry& e, bool with_record) {
    auto& l = e.letter;
    std::string s = "{\"address\":" + json::quote(e.address())
                    + ",\"sourceTopic\":" + json::quote(unprefixed(settings_.topic_prefix, l.source_topic))
                    + ",\"partition\":" + std::to_string(l.partition)
                    + ",\"offset\":" + std::to_string(l.offset)
                    + ",\"group\":" + json::quote(unprefixed(settings_.topic_prefix, l.consumer_group))
                    + ",\"key\":" + json::quote(l.key) + ",\"reason\":" + json::quote(l.reason)
                    + ",\"recordedAt\":" + std::to_string(l.recorded_at_ms) + ",\"redrivenTo\":"
                    + (e.redriven_to.empty() ? "null"
                                           : json::quote(unprefixed(settings_.topic_prefix, e.redriven_to)));
    if (with_record)
      s += ",\"record\":" + e.raw;
    return s + "}";
  };
  if (address.empty())
    return (*f)->read([&](auto&, const storage::dead_letter_list& list, auto&) {
      std::string body = "{\"deadLetters\":[";
      bool first = true;
      for (auto& e : list.entries()) {
        body += (first ? "" : ",") + entry_json(e, false);
        first = false;
      }
      return json_reply(200, body + "]}");
    });
  auto at = storage::parse_dead_letter_address(address);
  if (!at)
    return error_reply(400, "bad_request",
                       "a dead letter is addressed as PARTITION:OFFSET, got '" + address + "'");
  auto entry = (*f)->read([&](auto&, const storage::dead_letter_list& list, auto&) {
    auto e = list.find(at->first, at->second);
    return e ? std::optional<storage::dead_letter_entry>(*e) : std::nullopt;
  });
  if (!entry)
    return error_reply(404, "not_found", "no dead letter at " + address);
  if (!redrive)
    return json_reply(200, entry_json(*entry, true));
  if (auto denied = check_write(rq); denied.status)
    return denied;
  // Decided on the log itself, not on the feed (which reads every 100 ms), and one redrive at
  // a time: a second click must find the first one's marker.
  std::lock_guard<std::mutex> one_at_a_time(redrive_mu_);
  storage::dead_letter_list now;
  if (auto r = storage::read_topics_to_end(*log_, {topics_.dead_letters},
                                           [&](const storage::record& rec) { now.apply(rec); });
      !r)
    return error_reply(503, "unavailable", r.error());
  if (auto e = now.find(at->first, at->second))
    entry = *e;
  if (!entry->redriven_to.empty())
    return error_reply(409, "conflict", "dead letter " + address + " was already redriven to "
                                          + entry->redriven_to);
  // The original bytes, or a fixed version: {"value": "..."} (like `dlq redrive P:O FILE`).
  bool fixed = false;
  outcome<std::string> value = fail("");
  if (rq.body.find_first_not_of(" \t\r\n") != std::string::npos) {
    auto body = json::parse(rq.body);
    auto v = body && body->IsObject() ? json::get_string(*body, "value") : std::nullopt;
    if (!v)
      return error_reply(400, "bad_request",
                         "the body is empty or {\"value\": \"the fixed record\"}");
    value = *v;
    fixed = true;
  } else {
    value = storage::original_value(entry->letter);
    if (!value)
      return error_reply(422, "unprocessable", value.error() + " (redrive a fixed value)");
  }
  if (auto ev = events::decode(*value); !ev)
    return error_reply(422, "unprocessable", "the record would be dead-lettered again: "
                                               + ev.error() + " (redrive a fixed value)");
  auto to = storage::redrive_dead_letter(*log_, *entry, *value, fixed, topics_.dead_letters,
                                         now_ms());
  if (!to)
    return error_reply(503, "unavailable", to.error());
  return json_reply(200, "{\"redrivenTo\":" + json::quote(unprefixed(settings_.topic_prefix, *to))
                           + "}");
}

net::http_reply api::metrics() {
  auto f = live();
  if (!f)
    return error_reply(503, "unavailable", f.error());
  auto report = (*f)->read([](auto&, auto&, const core::metrics_fold& m) { return m.report(); });
  auto lag = consumer_lag(*log_, settings_.topic_prefix, pipeline_groups(topics_));
  core::rate_window span;
  span.add(report.first_ms, {});
  span.add(report.last_ms, report.events_by_topic);
  return json_reply(200, json::dump(core::metrics_json(report, lag, span.per_second())));
}

net::http_reply api::stream(const net::http_request& rq) {
  auto q = parse_query(rq.query);
  if (!q)
    return error_reply(400, "bad_request", "malformed query string");
  stream_filter filter;
  for (auto& [k, v] : *q) {
    if (k == "conversation" && valid_conversation_id(v))
      filter.conversation = v;
    else if (k == "topic" && (v == "user-commands" || v == "conversation-events"
                              || v == "tool-invocation-requests" || v == "dead-letter-queue"))
      filter.topic = v;
    else if (k == "records" && (v == "all" || v == "none"))
      filter.records = v == "all";
    else
      return error_reply(400, "bad_request",
                         "the stream takes conversation=ID, topic=T (user-commands, "
                         "conversation-events, tool-invocation-requests, dead-letter-queue) and "
                         "records=all|none");
  }
  auto f = live();
  if (!f)
    return error_reply(503, "unavailable", f.error());
  net::http_reply r;
  r.stream = std::make_shared<net::event_stream>();
  r.stream->push_comment("connected");
  (*f)->subscribe(r.stream, std::move(filter));
  return r;
}

} // namespace eventide::console
