// ask: plans and answers a question, printing every event live and then the answer.
#include <iomanip>
#include <iostream>
#include <memory>

#include <boost/uuid/uuid.hpp>
#include <boost/uuid/uuid_generators.hpp>
#include <boost/uuid/uuid_io.hpp>
#include <caf/actor_system.hpp>

#include "actors/node.hpp"
#include "commands.hpp"
#include "follow.hpp"
#include "log_io.hpp"
#include "roles.hpp"
#include "schemas/codec.hpp"

namespace eventide::cli {

namespace {

// A random (version 4) UUID, 8-4-4-4-12 lowercase hex.
std::string new_conversation_id() {
  return boost::uuids::to_string(boost::uuids::random_generator()());
}

} // namespace

int run_ask(const options& cfg, const command_line& cl, caf::actor_system_config& system_config) {
  if (cl.positionals.size() != 1)
    throw usage_error{"ask takes exactly one question in quotes: eventide ask \"...\""};
  auto question = cl.positionals[0];
  if (question.find_first_not_of(" \t\r\n") == std::string::npos)
    throw usage_error{"the question is empty"};
  if (question.size() > 4000)
    throw usage_error{"the question is longer than 4000 characters"};
  start_logging(cfg, "warning", cfg.data_dir + "/eventide.log");
  auto log = open_log(cfg);
  caf::actor_system sys{system_config};
  // On the embedded log every role runs in this process by default (a subset simulates roles
  // that are down); on Kafka, `ask` is only the ingress unless --roles says otherwise.
  std::unique_ptr<node> n;
  auto roles = cfg.roles.empty() && cfg.brokers.empty() ? std::string("all") : cfg.roles;
  if (!roles.empty()) {
    n = std::make_unique<node>(sys, log, make_node_options(cfg, parse_roles(roles)));
    if (auto r = n->start(); !r)
      die(exit_usage, r.error());
  }

  follower f;
  f.conversation = new_conversation_id();
  f.json = cfg.json;
  topics t(cfg.topic_prefix);
  std::vector<std::pair<storage::topic_partition, log_offset>> start;
  for (auto& topic : {t.conversation_events, t.tool_requests}) {
    auto parts = log->partition_count(topic);
    if (!parts)
      die(exit_failed, parts.error());
    storage::topic_partition tp{topic, storage::partition_for_key(f.conversation, *parts)};
    auto wm = log->query_watermarks(tp);
    start.emplace_back(tp, wm ? wm->high : 0);
  }
  auto consumer = log->assign(start);
  if (!consumer)
    die(exit_failed, consumer.error());
  f.consumer = std::move(*consumer);

  events::event q;
  q.subject = f.conversation;
  q.data = events::user_query_received{f.conversation, cfg.user, question, now_ms()};
  q.id = f.conversation + "/query";
  q.source = "eventide/ingress/" + cfg.node_id;
  q.time_ms = now_ms();
  f.started_ms = q.time_ms;
  auto bytes = events::encode(q);
  if (!bytes)
    die(exit_usage, "cannot ask this question: " + bytes.error());
  if (!cfg.json)
    std::cout << "conversation " << f.conversation << " on " << log->describe() << std::endl;
  if (auto r = produce_one(*log, t.user_commands, f.conversation, *bytes,
                           events::cloudevents_headers(q));
      !r)
    die(exit_failed, "could not write the question to the log: " + r.error());
  if (!cfg.json)
    std::cout << "[    0.0 ms] " << std::left << std::setw(24) << "UserQueryReceived"
              << summarize(q) << std::endl;
  auto rc = follow(f, std::chrono::seconds(cfg.timeout));
  if (n)
    n->stop();
  return rc;
}

} // namespace eventide::cli
