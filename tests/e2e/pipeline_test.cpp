// End-to-end: the whole pipeline in one process on the embedded log with offline providers.
// Every scenario asserts the exact answer values and the exact event sequence.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <thread>

#include "storage/dead_letter.hpp"
#include "storage/kv_store.hpp"
#include "tests/e2e/harness.hpp"

using namespace eventide;
using namespace eventide::testing;

namespace {

double number_at(const json::document& d, const char* path) {
  auto v = json::find_path(d, path);
  REQUIRE(v != nullptr);
  REQUIRE(v->IsNumber());
  return v->GetDouble();
}

std::string string_at(const json::document& d, const char* path) {
  auto v = json::find_path(d, path);
  REQUIRE(v != nullptr);
  REQUIRE(v->IsString());
  return v->GetString();
}

std::vector<std::string> requested_steps(const conversation_trace& t) {
  std::vector<std::string> out;
  for (auto& e : t.tool_requests) {
    auto& r = std::get<events::tool_invocation_requested>(e.data);
    out.push_back(r.step_id + ":" + r.tool + ":" + std::to_string(r.attempt));
  }
  return out;
}

const events::tool_invocation_requested& request_of(const conversation_trace& t,
                                                    const std::string& step) {
  for (auto& e : t.tool_requests)
    if (auto r = std::get_if<events::tool_invocation_requested>(&e.data); r && r->step_id == step)
      return *r;
  FAIL("no request for step " << step);
  throw 0;
}

// For parallel steps the interleaving of results is not fixed; what is fixed: the plan comes
// first, each step's result precedes its completion, PlanCompleted follows every completion,
// and the answer comes last.
void require_causal_order(const std::vector<std::string>& seq, const std::vector<std::string>& steps) {
  REQUIRE(seq.size() == 2 * steps.size() + 3);
  REQUIRE(seq.front() == "PlanGenerated");
  REQUIRE(seq[seq.size() - 2] == "PlanCompleted");
  REQUIRE(seq.back() == "FinalAnswerSynthesized");
  for (auto& s : steps) {
    auto r = std::find(seq.begin(), seq.end(), "ToolInvocationResulted:" + s);
    auto c = std::find(seq.begin(), seq.end(), "PlanStepCompleted:" + s);
    REQUIRE(r != seq.end());
    REQUIRE(c != seq.end());
    REQUIRE(r < c);
  }
}

} // namespace

TEST_CASE("e2e: product price converted to another currency plus VAT (3 sequential steps)") {
  temp_dir dir;
  pipeline p{dir.path};
  auto t = p.ask("conv-vat", "How much does the Aurora X1 cost in EUR including 19% VAT?");
  REQUIRE(t.answer() != nullptr);
  CHECK(t.sequence()
        == three_step_sequence());
  CHECK(requested_steps(t)
        == std::vector<std::string>{"s1:getProductInformation:1", "s2:exchangeRate:1", "s3:math:1"});
  // Placeholders were resolved with their JSON types: the amount is a number.
  auto args = json::parse(request_of(t, "s2").args_json);
  REQUIRE(args);
  CHECK(string_at(*args, "from") == "USD");
  CHECK(string_at(*args, "to") == "EUR");
  CHECK(number_at(*args, "amount") == 1299.0);
  auto product = t.result_of("s1");
  CHECK(string_at(product, "name") == "Aurora X1");
  CHECK(number_at(product, "price") == 1299.0);
  CHECK(string_at(product, "source") == "products/aurora-x1.md");
  auto fx = t.result_of("s2");
  CHECK(number_at(fx, "converted") == Approx(1195.03).margin(1e-9)); // 1299 / 1.0870
  auto total = t.result_of("s3");
  CHECK(number_at(total, "value") == Approx(1195.03 * 1.19).epsilon(1e-12));
  auto& answer = *t.answer();
  CHECK(answer.answer.find("1422.09") != std::string::npos);
  CHECK(std::count(answer.citations.begin(), answer.citations.end(), "products/aurora-x1.md") == 1);
  CHECK_FALSE(answer.failed);
}

TEST_CASE("e2e: product price in another currency cites the product file") {
  temp_dir dir;
  pipeline p{dir.path};
  auto t = p.ask("conv-eur", "What does the Aurora X1 cost in euros?");
  REQUIRE(t.answer() != nullptr);
  CHECK(t.sequence()
        == std::vector<std::string>{"PlanGenerated", "ToolInvocationResulted:s1",
                                    "PlanStepCompleted:s1", "ToolInvocationResulted:s2",
                                    "PlanStepCompleted:s2", "PlanCompleted",
                                    "FinalAnswerSynthesized"});
  CHECK(number_at(t.result_of("s2"), "converted") == Approx(1195.03).margin(1e-9));
  CHECK(t.answer()->answer.find("1195.03 EUR") != std::string::npos);
  CHECK(std::find(t.answer()->citations.begin(), t.answer()->citations.end(),
                  "products/aurora-x1.md") != t.answer()->citations.end());
}

TEST_CASE("e2e: weather and exchange rate run in parallel") {
  temp_dir dir;
  pipeline p{dir.path};
  auto t = p.ask("conv-par", "What's the weather in Berlin and the USD to EUR rate?");
  REQUIRE(t.answer() != nullptr);
  require_causal_order(t.sequence(), {"s1", "s2"});
  // Both steps were requested before any result came back: they ran in parallel.
  REQUIRE(t.tool_requests.size() == 2);
  auto first_result_time = INT64_MAX;
  for (auto& e : t.conversation_events)
    if (std::holds_alternative<events::tool_invocation_resulted>(e.data))
      first_result_time = std::min(first_result_time, e.time_ms);
  CHECK(t.tool_requests[1].time_ms <= first_result_time);
  CHECK(t.tool_requests[0].causation_id == t.tool_requests[1].causation_id);
  auto weather = t.result_of("s1");
  CHECK(string_at(weather, "city") == "Berlin");
  CHECK(number_at(weather, "temperatureC") == 9.5);
  CHECK(string_at(weather, "condition") == "light rain");
  CHECK(number_at(t.result_of("s2"), "rate") == Approx(0.919963).margin(1e-6));
  CHECK(t.answer()->answer.find("Berlin") != std::string::npos);
  CHECK(t.answer()->answer.find("0.919963") != std::string::npos);
}

TEST_CASE("e2e: comparing two products' prices runs lookups in parallel, then math") {
  temp_dir dir;
  pipeline p{dir.path};
  auto t = p.ask("conv-cmp", "How much more expensive is the Nimbus Pro than the Aurora X1?");
  REQUIRE(t.answer() != nullptr);
  // s3 converts the second price into the first one's currency (a rate of 1 here, but the
  // planner cannot know currencies in advance); s4 subtracts.
  CHECK(requested_steps(t)
        == std::vector<std::string>{"s1:getProductInformation:1", "s2:getProductInformation:1",
                                    "s3:exchangeRate:1", "s4:math:1"});
  auto seq = t.sequence();
  REQUIRE(seq.size() == 11);
  CHECK(seq.front() == "PlanGenerated");
  CHECK(std::vector<std::string>(seq.begin() + 5, seq.end())
        == std::vector<std::string>{"ToolInvocationResulted:s3", "PlanStepCompleted:s3",
                                    "ToolInvocationResulted:s4", "PlanStepCompleted:s4",
                                    "PlanCompleted", "FinalAnswerSynthesized"});
  CHECK(number_at(t.result_of("s1"), "price") == 1849.0);
  CHECK(number_at(t.result_of("s2"), "price") == 1299.0);
  CHECK(number_at(t.result_of("s3"), "converted") == 1299.0);
  CHECK(number_at(t.result_of("s4"), "value") == 550.0);
  CHECK(t.answer()->answer.rfind("The Nimbus Pro costs 550 USD more than the Aurora X1 (1849 - 1299).", 0)
        == 0);
}

TEST_CASE("e2e: math question answers 45, and says it was answered offline") {
  temp_dir dir;
  pipeline p{dir.path};
  auto t = p.ask("conv-math", "What is 15% of 240 plus 3^2?");
  REQUIRE(t.answer() != nullptr);
  CHECK(t.sequence()
        == std::vector<std::string>{"PlanGenerated", "ToolInvocationResulted:s1",
                                    "PlanStepCompleted:s1", "PlanCompleted",
                                    "FinalAnswerSynthesized"});
  CHECK(number_at(t.result_of("s1"), "value") == 45.0);
  CHECK(t.answer()->answer
        == "The answer is 45 (15/100*240 + 3^2).\n"
           "Details:\n"
           "- s1 math: 15/100*240 + 3^2 = 45\n"
           "Note: answered offline; no LLM or live service was used.");
}

TEST_CASE("e2e: a quantity written as a word multiplies the price") {
  temp_dir dir;
  pipeline p{dir.path};
  auto t = p.ask("conv-two", "How much do two Tidal Buds cost?");
  REQUIRE(t.answer() != nullptr);
  CHECK(requested_steps(t) == std::vector<std::string>{"s1:getProductInformation:1", "s2:math:1"});
  CHECK(t.answer()->answer
        == "The answer is 258 GBP (129 * 2).\n"
           "Details:\n"
           "- s1 getProductInformation: Tidal Buds costs 129 GBP (source: products/tidal-buds.md)\n"
           "- s2 math: 129 * 2 = 258\n"
           "Note: answered offline with sample data; no LLM or live service was used.");
  CHECK_FALSE(t.answer()->failed);
}

TEST_CASE("e2e: an unknown product is said to be unknown, with the nearest catalog name") {
  temp_dir dir;
  pipeline p{dir.path};
  auto t = p.ask("conv-x2", "How much does the Aurora X2 cost?");
  REQUIRE(t.answer() != nullptr);
  // One lookup, no quantity read from "X2", and no other product's price.
  CHECK(requested_steps(t) == std::vector<std::string>{"s1:getProductInformation:1"});
  CHECK(t.sequence()
        == std::vector<std::string>{"PlanGenerated", "ToolInvocationResulted:s1",
                                    "PlanStepCompleted:s1", "PlanFailed",
                                    "FinalAnswerSynthesized"});
  CHECK(t.answer()->answer
        == "I could not complete this request: step s1 (getProductInformation) failed after 1 "
           "attempt: unknown product 'Aurora X2'; nearest known: Aurora X1\n"
           "Details:\n"
           "- s1 getProductInformation: failed\n"
           "Note: answered offline; no LLM or live service was used.");
  CHECK(t.answer()->failed);
}

TEST_CASE("e2e: an unknown currency is said to be unknown, never replaced") {
  temp_dir dir;
  pipeline p{dir.path};
  auto t = p.ask("conv-xyz", "Convert 100 XYZ to EUR");
  REQUIRE(t.answer() != nullptr);
  CHECK(requested_steps(t) == std::vector<std::string>{"s1:exchangeRate:1"});
  CHECK(t.answer()->answer
        == "I could not complete this request: step s1 (exchangeRate) failed after 1 attempt: "
           "exchangeRate: unknown currency 'XYZ'; known: EUR, USD, GBP, JPY, CHF, CAD, AUD, CNY, "
           "INR, SEK, NOK, DKK, PLN, NZD, SGD, HKD, KRW, MXN, BRL, ZAR\n"
           "Details:\n"
           "- s1 exchangeRate: failed\n"
           "Note: answered offline; no LLM or live service was used.");
  CHECK(t.answer()->failed);
}

TEST_CASE("e2e: RAG answer about one product is grounded and cited") {
  temp_dir dir;
  pipeline p{dir.path};
  auto t = p.ask("conv-rag", "What is the battery life of the Aurora X1?");
  REQUIRE(t.answer() != nullptr);
  CHECK(t.sequence()
        == std::vector<std::string>{"PlanGenerated", "ToolInvocationResulted:s1",
                                    "PlanStepCompleted:s1", "ToolInvocationResulted:s2",
                                    "PlanStepCompleted:s2", "PlanCompleted",
                                    "FinalAnswerSynthesized"});
  CHECK(requested_steps(t)
        == std::vector<std::string>{"s1:getProductInformation:1", "s2:ragGeneration:1"});
  auto rag = t.result_of("s2");
  CHECK(string_at(rag, "answer").find("14 hours") != std::string::npos);
  CHECK(string_at(rag, "citations[0]") == "products/aurora-x1.md");
  CHECK(t.answer()->answer.find("14 hours") != std::string::npos);
  CHECK(std::find(t.answer()->citations.begin(), t.answer()->citations.end(),
                  "products/aurora-x1.md") != t.answer()->citations.end());
}

TEST_CASE("e2e: RAG comparison of two products cites both") {
  temp_dir dir;
  pipeline p{dir.path};
  auto t = p.ask("conv-rag2", "Which has better battery life, Aurora X1 or Nimbus Pro?");
  REQUIRE(t.answer() != nullptr);
  require_causal_order(t.sequence(), {"s1", "s2", "s3"});
  CHECK(requested_steps(t)
        == std::vector<std::string>{"s1:getProductInformation:1", "s2:getProductInformation:1",
                                    "s3:ragGeneration:1"});
  auto rag = t.result_of("s3");
  auto answer = string_at(rag, "answer");
  CHECK(answer.find("14 hours") != std::string::npos);
  CHECK(answer.find("10 hours") != std::string::npos);
  auto& cites = t.answer()->citations;
  CHECK(std::find(cites.begin(), cites.end(), "products/aurora-x1.md") != cites.end());
  CHECK(std::find(cites.begin(), cites.end(), "products/nimbus-pro.md") != cites.end());
}

TEST_CASE("e2e: a question that cannot be answered fails with an explanation") {
  temp_dir dir;
  pipeline p{dir.path};
  auto t = p.ask("conv-bad", "What is the weather in Atlantis?");
  REQUIRE(t.answer() != nullptr);
  CHECK(t.sequence()
        == std::vector<std::string>{"PlanGenerated", "ToolInvocationResulted:s1",
                                    "PlanStepCompleted:s1", "PlanFailed",
                                    "FinalAnswerSynthesized"});
  CHECK(t.answer()->answer
        == "I could not complete this request: step s1 (weather) failed after 1 attempt: weather: "
           "unknown city 'Atlantis'; known: Amsterdam, Beijing, Berlin, Dubai, London, Madrid, "
           "Mumbai, New York, Paris, Rome, San Francisco, Singapore, Stockholm, Sydney, Tokyo, "
           "Toronto, Vienna, Zurich\n"
           "Details:\n"
           "- s1 weather: failed\n"
           "Note: answered offline; no LLM or live service was used.");
  CHECK(t.answer()->failed);
}

TEST_CASE("e2e: poison records on every topic go to the DLQ while a conversation completes") {
  temp_dir dir;
  pipeline p{dir.path};
  auto& n = p.names();
  struct poison {
    std::string topic, key, value, reason;
  };
  std::string garbage("\x00\xff\xfe garbage \x01", 14);
  std::string unknown_type = R"({"specversion":"1.0","id":"x1","type":"TeleportRequested",)"
                             R"("source":"eventide/test","time":"2026-11-20T10:00:00.123Z",)"
                             R"("subject":"poison-4","datacontenttype":"application/json","data":{}})";
  std::string schema_invalid = R"({"specversion":"1.0","id":"x2","type":"UserQueryReceived",)"
                               R"("source":"eventide/test","time":"2026-11-20T10:00:00.123Z",)"
                               R"("subject":"poison-3","datacontenttype":"application/json",)"
                               R"("data":{"conversationId":"poison-3","userId":"u","receivedAt":1}})";
  // Nested 200,000 levels deep: a recursive parser runs out of stack on it (it used to kill every
  // node that read it, again at every restart). Once as the whole record, once inside data.
  const size_t deep = 200000;
  std::string deep_array = std::string(deep, '[') + std::string(deep, ']');
  std::string deep_data = R"({"specversion":"1.0","id":"x3","type":"UserQueryReceived",)"
                          R"("source":"eventide/test","time":"2026-11-20T10:00:00.123Z",)"
                          R"("subject":"poison-6","datacontenttype":"application/json",)"
                          R"("data":{"conversationId":"poison-6","x":)" + deep_array + "}}";
  std::vector<poison> poisons;
  for (auto& topic : {n.user_commands, n.conversation_events, n.tool_requests}) {
    poisons.push_back({topic, "poison-5", deep_array, "nested deeper than 64 levels"});
    poisons.push_back({topic, "poison-6", deep_data, "nested deeper than 64 levels"});
    poisons.push_back({topic, "poison-1", garbage, "invalid JSON"});
    poisons.push_back({topic, "poison-2", "{\"specversion\": \"1.0\", \"id\": ", "invalid JSON"});
    poisons.push_back({topic, "poison-3", schema_invalid, "schema"});
    poisons.push_back({topic, "poison-4", unknown_type, "unknown event type"});
  }
  // A valid event without a key: every record must be keyed by its conversation.
  std::string unkeyed = R"({"specversion":"1.0","id":"nk/query","type":"UserQueryReceived",)"
                        R"("source":"eventide/test","time":"2026-11-20T10:00:00.123Z",)"
                        R"("subject":"nk","datacontenttype":"application/json",)"
                        R"("data":{"conversationId":"nk","userId":"u","query":"hi","receivedAt":1}})";
  poisons.push_back({n.user_commands, "", unkeyed, "record has no key"});
  for (auto& x : poisons)
    p.produce_raw(x.topic, x.key, x.value);
  auto t = p.ask("conv-after-poison", "What is 2 + 3 * 4?");
  REQUIRE(t.answer() != nullptr);
  CHECK(number_at(t.result_of("s1"), "value") == 14.0);

  // Groups reading each topic: each bridge dead-letters what it cannot decode.
  std::map<std::string, std::set<std::string>> readers = {
    {n.user_commands, {"router", "aggregator", "synthesis"}},
    {n.conversation_events, {"router", "orchestrator", "aggregator", "synthesis"}},
    {n.tool_requests, {"orchestrator"}}};
  for (auto& w : worker_roles())
    readers[n.tool_requests].insert("tool-" + w.substr(7));
  // (topic, key, group) -> reason
  std::map<std::tuple<std::string, std::string, std::string>, std::string> letters;
  auto parts = p.log().partition_count(n.dead_letters);
  REQUIRE(parts);
  std::vector<std::pair<storage::topic_partition, log_offset>> start;
  for (int32_t i = 0; i < *parts; ++i)
    start.emplace_back(storage::topic_partition{n.dead_letters, i}, 0);
  auto c = p.log().assign(start);
  REQUIRE(c);
  size_t expected = 0;
  for (auto& x : poisons)
    expected += readers[x.topic].size();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (letters.size() < expected && std::chrono::steady_clock::now() < deadline) {
    auto batch = (*c)->poll(256, std::chrono::milliseconds(50));
    REQUIRE(batch);
    for (auto& rec : *batch) {
      auto dl = storage::decode_dead_letter(rec.value);
      REQUIRE(dl);
      letters[{dl->source_topic, dl->key, dl->consumer_group}] = dl->reason;
      CHECK(dl->offset >= 0);
      CHECK_FALSE(dl->value.empty());
    }
  }
  CHECK(letters.size() == expected);
  for (auto& x : poisons)
    for (auto& g : readers[x.topic]) {
      auto it = letters.find({x.topic, x.key, g});
      INFO(x.topic << " " << x.key << " group " << g);
      REQUIRE(it != letters.end());
      CHECK(it->second.find(x.reason) != std::string::npos);
    }
}

TEST_CASE("e2e: restart mid-plan finishes the conversation with no duplicate tool effect") {
  temp_dir dir;
  effect_log effects{dir.path + "/effects.log"};
  std::string conv = "conv-restart";
  {
    // The exchange-rate worker is down: the plan stops after s1 with s2 requested.
    node_options partial;
    partial.roles = {"router", "orchestrator", "aggregator", "synthesis",
                     "worker-getProductInformation", "worker-math"};
    pipeline p{dir.path, partial};
    auto t = p.ask(conv, "How much does the Aurora X1 cost in EUR including 19% VAT?",
                   std::chrono::milliseconds(300));
    // Wait (bounded) until the plan reached s2 and s1's completion is in the log.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline
           && (t.tool_requests.size() < 2 || t.conversation_events.size() < 3)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      t = p.read(conv);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200)); // nothing more may come
    t = p.read(conv);
    CHECK(t.answer() == nullptr);
    CHECK(t.sequence()
          == std::vector<std::string>{"PlanGenerated", "ToolInvocationResulted:s1",
                                      "PlanStepCompleted:s1"});
    CHECK(requested_steps(t)
          == std::vector<std::string>{"s1:getProductInformation:1", "s2:exchangeRate:1"});
  } // node stopped, log closed: like a crash after PlanGenerated, minus the lost in-memory state
  {
    pipeline p{dir.path};
    auto t = p.await_answer(conv); // and 300 ms of room for any duplicate
    REQUIRE(t.answer() != nullptr);
    CHECK(t.sequence()
          == three_step_sequence());
    // s2 was not requested again: the restored orchestrator knew it had asked already.
    CHECK(requested_steps(t)
          == std::vector<std::string>{"s1:getProductInformation:1", "s2:exchangeRate:1",
                                      "s3:math:1"});
    CHECK(t.answer()->answer.find("1422.09") != std::string::npos);
  }
  // One tool run per invocation id, counted where the tools ran (not by the workers' ledger).
  for (auto step : {"s1", "s2", "s3"})
    CHECK(effects.runs(conv + "/1/" + step) == 1);
}

TEST_CASE("e2e: duplicate request and result records have one effect and one answer") {
  temp_dir dir;
  effect_log effects{dir.path + "/effects.log"};
  pipeline p{dir.path};
  std::string conv = "conv-dup";
  auto t = p.ask(conv, "What is 15% of 240 plus 3^2?");
  REQUIRE(t.answer() != nullptr);
  // Redeliver the request and the result as at-least-once delivery may.
  p.produce(t.tool_requests.at(0));
  for (auto& e : t.conversation_events)
    if (std::holds_alternative<events::tool_invocation_resulted>(e.data))
      p.produce(e);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto after = p.read(conv);
  CHECK(after.count("FinalAnswerSynthesized") == 1);
  CHECK(after.count("PlanCompleted") == 1);
  CHECK(after.count("PlanStepCompleted") == 1);
  CHECK(after.count("ToolInvocationRequested") == 2);  // the original and our duplicate
  CHECK(after.count("ToolInvocationResulted") == 3);   // original, ours, and the ledger's replay
  // read() threw if the ledger's replay were not byte-identical to the recorded result.
  CHECK(effects.runs(conv + "/1/s1") == 1);           // the duplicate request ran no tool
}

TEST_CASE("e2e: offsets held back by the commit interval are committed soon, with nothing new "
          "to read") {
  // Without transactions a bridge commits at most every 100 ms; what the interval holds back
  // goes with a timer. Without it, a group whose last record came within the interval would
  // commit only at its next poll (the driven bridge's once-a-second poll, or never on a quiet
  // log), and a restart would read it again.
  temp_dir dir;
  pipeline p{dir.path};
  for (auto id : {"commit-1", "commit-2"}) {
    auto t = p.ask(id, "What is 6 times 7?", std::chrono::seconds(10),
                   std::chrono::milliseconds(0));
    REQUIRE(t.answer() != nullptr);
  }
  const std::vector<std::pair<std::string, std::vector<std::string>>> readers = {
    {p.names().conversation_events, {"router", "orchestrator", "aggregator", "synthesis"}},
    {p.names().tool_requests, {"orchestrator", "tool-math"}}};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(600);
  std::string behind;
  do {
    behind.clear();
    for (auto& [topic, groups] : readers) {
      auto parts = p.log().partition_count(topic);
      REQUIRE(parts);
      for (int32_t i = 0; i < *parts; ++i) {
        storage::topic_partition tp{topic, i};
        auto high = p.log().query_watermarks(tp)->high;
        for (auto& g : groups) {
          auto committed = p.log().committed(g, tp);
          REQUIRE(committed);
          if (high > 0 && (!*committed || **committed < high))
            behind += " " + g + "@" + topic + "/" + std::to_string(i);
        }
      }
    }
    if (behind.empty())
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  } while (std::chrono::steady_clock::now() < deadline);
  INFO("groups still behind 600 ms after the last answer:" << behind);
  CHECK(behind.empty());
}
