// Asking one turn of a conversation: write the question, follow the turn to its answer.
#include "ingress.hpp"

#include <algorithm>

#include <caf/actor_system.hpp>
#include <atomic>
#include <csignal>
#include <functional>
#include <iomanip>
#include <iostream>

#include <boost/uuid/uuid.hpp>
#include <boost/uuid/uuid_generators.hpp>
#include <boost/uuid/uuid_io.hpp>

#include "actors/node.hpp"
#include "core/event_ids.hpp"
#include "core/text.hpp"
#include "follow.hpp"
#include "roles.hpp"
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

namespace {

// The conversation's partitions of the topics a turn is followed on, from their end of now.
std::unique_ptr<storage::consumer> consumer_from_now(storage::log& log, const topics& t,
                                                     const std::string& conversation) {
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
  return std::move(*consumer);
}

} // namespace

int latest_turn(storage::log& log, const options& cfg, const std::string& conversation) {
  const int turn = next_turn(log, cfg, conversation) - 1;
  if (turn < 1)
    die(exit_usage, "unknown conversation " + conversation + " in " + log.describe());
  return turn;
}

namespace {

events::event command_event(const options& cfg, const std::string& conversation,
                            events::payload p) {
  events::event e;
  e.subject = conversation;
  e.data = std::move(p);
  e.id = core::deterministic_id(conversation, e.data) + "/" + new_conversation_id();
  e.source = "eventide/ingress/" + cfg.node_id;
  e.time_ms = now_ms();
  return e;
}

} // namespace

int submit_command(std::shared_ptr<storage::log> log, const options& cfg,
                   caf::actor_system_config& system_config, const std::string& conversation,
                   events::payload command, std::vector<std::string> until) {
  caf::actor_system sys{system_config};
  auto n = start_ingress_roles(sys, log, cfg);
  auto e = command_event(cfg, conversation, std::move(command));
  topics t(cfg.topic_prefix);
  follower f;
  f.conversation = conversation;
  f.turn = events::turn_of(e.data);
  f.json = cfg.json;
  f.dead_letter_topic = t.dead_letters;
  f.question_topic = cfg.topic_prefix + events::topic_of(e.data);
  f.what = std::string("the ") + events::type_name(e.data);
  f.until = std::move(until);
  f.consumer = consumer_from_now(*log, t, conversation);
  f.started_ms = e.time_ms;
  auto bytes = events::encode(e);
  if (!bytes)
    die(exit_usage, std::string("cannot write this ") + events::type_name(e.data) + ": "
                      + bytes.error());
  auto written = produce_one(*log, f.question_topic, conversation, *bytes,
                             events::cloudevents_headers(e));
  if (!written)
    die(exit_failed, "could not write to the log: " + written.error());
  f.question = *written;
  auto rc = follow(f, std::chrono::seconds(cfg.timeout));
  if (n)
    n->stop();
  return rc;
}

namespace {

std::atomic<bool> interrupted{false};

extern "C" void note_interrupt(int) { interrupted = true; }

// Ctrl-C once: the prompt; twice: the default (the process ends), so one can always get out.
void arm_interrupt() {
  struct sigaction sa {};
  sa.sa_handler = note_interrupt;
  sa.sa_flags = SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
}

bool ask_yes(std::istream& in, const std::string& question) {
  std::cout << question << " [y/N] " << std::flush;
  std::string line;
  if (!std::getline(in, line))
    return false;
  auto answer = core::trim(line);
  return answer == "y" || answer == "Y" || answer == "yes";
}

// Writes a person's command of the turn being asked (Ctrl-C's cancellation, chat's decision).
void write_command(storage::log& log, const options& cfg, const std::string& conversation,
                   events::payload p) {
  auto e = command_event(cfg, conversation, std::move(p));
  auto bytes = events::encode(e);
  if (!bytes) {
    std::cerr << "eventide: cannot write " << events::type_name(e.data) << ": " << bytes.error()
              << std::endl;
    return;
  }
  auto written = produce_one(log, topics(cfg.topic_prefix).conversation_events, conversation,
                             *bytes, events::cloudevents_headers(e));
  if (!written)
    std::cerr << "eventide: could not write to the log: " << written.error() << std::endl;
}

} // namespace

int ask_turn(storage::log& log, const options& cfg, const std::string& conversation, int turn,
             const std::string& question, std::chrono::seconds timeout, turn_prompts prompts) {
  follower f;
  if (prompts.input) {
    interrupted = false;
    arm_interrupt();
    f.on_tick = [&, turn] {
      if (!interrupted.exchange(false))
        return;
      if (ask_yes(*prompts.input,
                  "\ncancel turn " + std::to_string(turn) + " of " + conversation + "?")) {
        events::cancel_requested stop{cfg.user, "interrupted (Ctrl-C)"};
        stop.turn = turn;
        write_command(log, cfg, conversation, stop);
      }
      arm_interrupt();
    };
  }
  if (prompts.input && prompts.approvals)
    f.on_event = [&, turn](const events::event& e) {
      auto a = std::get_if<events::approval_requested>(&e.data);
      if (!a)
        return;
      bool yes = ask_yes(*prompts.input,
                         "approve " + a->step_id + " (" + a->tool + " " + a->args_json + ")?");
      events::approval_submitted decision{a->step_id, yes, cfg.user, "asked in chat"};
      decision.turn = turn;
      write_command(log, cfg, conversation, decision);
    };
  // Ctrl-C has its default again once the turn is followed.
  struct restore_sigint {
    bool armed;
    ~restore_sigint() {
      if (armed)
        signal(SIGINT, SIG_DFL);
    }
  } restore{prompts.input != nullptr};
  f.conversation = conversation;
  f.turn = turn;
  f.json = cfg.json;
  topics t(cfg.topic_prefix);
  f.dead_letter_topic = t.dead_letters;
  f.question_topic = t.user_commands;
  // Read from the end of now: only what this turn does from here on is shown.
  f.consumer = consumer_from_now(log, t, conversation);

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
