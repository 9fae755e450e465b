// Asking one turn of a conversation: write the question, follow the turn to its answer.
#include "ingress.hpp"

#include <algorithm>
#include <iomanip>
#include <iostream>

#include <boost/uuid/uuid.hpp>
#include <boost/uuid/uuid_generators.hpp>
#include <boost/uuid/uuid_io.hpp>

#include "actors/node.hpp"
#include "follow.hpp"
#include "log_io.hpp"
#include "model/ids.hpp"
#include "schemas/codec.hpp"

namespace eventide::cli {

std::string new_conversation_id() {
  return boost::uuids::to_string(boost::uuids::random_generator()());
}

void check_question(const std::string& question) {
  if (question.find_first_not_of(" \t\r\n") == std::string::npos)
    throw usage_error{"the question is empty"};
  if (question.size() > 4000)
    throw usage_error{"the question is longer than 4000 characters"};
}

void check_conversation_id(const std::string& conversation) {
  if (conversation.empty() || conversation.size() > 200
      || conversation.find('/') != std::string::npos
      || conversation.find_first_of(" \t\r\n") != std::string::npos)
    throw usage_error{"'" + conversation
                      + "' is not a conversation id (1 to 200 characters, no '/' or spaces)"};
}

int next_turn(storage::log& log, const options& cfg, const std::string& conversation) {
  int last = 0;
  read_to_end(log, {topics(cfg.topic_prefix).user_commands},
              [&](const storage::record& rec) {
                auto ev = events::decode(rec.value);
                if (ev && std::holds_alternative<events::user_query_received>(ev->data))
                  last = std::max(last, events::turn_of(ev->data));
              },
              conversation);
  return last == 0 ? 0 : last + 1;
}

int ask_turn(storage::log& log, const options& cfg, const std::string& conversation, int turn,
             const std::string& question, std::chrono::seconds timeout) {
  follower f;
  f.conversation = conversation;
  f.turn = turn;
  f.json = cfg.json;
  topics t(cfg.topic_prefix);
  f.dead_letter_topic = t.dead_letters;
  f.question_topic = t.user_commands;
  // Read from the end of now: only what this turn does from here on is shown.
  std::vector<std::pair<storage::topic_partition, log_offset>> start;
  for (auto& topic : {t.conversation_events, t.tool_requests, t.dead_letters}) {
    auto parts = log.partition_count(topic);
    if (!parts)
      die(exit_failed, parts.error());
    storage::topic_partition tp{topic, storage::partition_for_key(conversation, *parts)};
    auto wm = log.query_watermarks(tp);
    start.emplace_back(tp, wm ? wm->high : 0);
  }
  auto consumer = log.assign(start);
  if (!consumer)
    die(exit_failed, consumer.error());
  f.consumer = std::move(*consumer);

  events::event q;
  q.subject = conversation;
  events::user_query_received asked{conversation, cfg.user, question, now_ms()};
  asked.turn = turn;
  q.data = std::move(asked);
  q.id = turn_scope(conversation, turn) + "/query";
  q.source = "eventide/ingress/" + cfg.node_id;
  q.time_ms = now_ms();
  f.started_ms = q.time_ms;
  auto bytes = events::encode(q);
  if (!bytes)
    die(exit_usage, "cannot ask this question: " + bytes.error());
  if (!cfg.json)
    std::cout << "conversation " << conversation << " on " << log.describe()
              << (turn == 1 ? std::string() : ", turn " + std::to_string(turn)) << std::endl;
  auto written = produce_one(log, t.user_commands, conversation, *bytes,
                             events::cloudevents_headers(q));
  if (!written)
    die(exit_failed, "could not write the question to the log: " + written.error());
  f.question = *written;
  if (!cfg.json)
    std::cout << "[    0.0 ms] " << std::left << std::setw(24) << "UserQueryReceived"
              << summarize(q) << std::endl;
  return follow(f, timeout);
}

} // namespace eventide::cli
