// The planner chain: LLM plans through prompts/router.md, cleaning and validation of replies,
// exactly one repair round, fallback ollama -> openai -> offline with every reason kept.
#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <string>

#include "core/json.hpp"
#include "core/plan.hpp"
#include "providers/llm_planner.hpp"
#include "tests/tools/http_test_server.hpp"

using namespace eventide;
using namespace eventide::providers;
using eventide::testing::http_test_server;
using eventide::testing::scripted_response;

namespace {

const planner_context& catalog() {
  static const planner_context ctx{{"Aurora X1", "Nimbus Pro"}};
  return ctx;
}

struct fixture {
  http_test_server server;
  std::atomic<int64_t> now{1'000'000};
  std::shared_ptr<provider_runtime> runtime;

  explicit fixture(std::vector<std::string> chain) {
    provider_config c;
    c.planning_chain = std::move(chain);
    c.ollama_url = server.url();
    c.ollama_model = "llama3.1:8b";
    c.openai_url = server.url();
    c.openai_model = "gpt-4o-mini";
    c.openai_api_key = "sk-test";
    c.retry.max_attempts = 2;
    c.retry.backoff = {1, 2, 2.0};
    c.timeout_ms = 5000;
    runtime = make_provider_runtime(c, {}, {[this] { return now.load(); }, [this](int64_t ms) { now += ms; }});
  }
};

// An Ollama /api/chat reply whose message content is `content`.
scripted_response ollama_says(const std::string& content, int prompt_tokens, int completion_tokens) {
  json::document d(rapidjson::kObjectType);
  auto& a = d.GetAllocator();
  json::value message(rapidjson::kObjectType);
  message.AddMember("role", "assistant", a);
  message.AddMember("content", json::str(content, a), a);
  d.AddMember("message", message, a);
  d.AddMember("done", true, a);
  d.AddMember("prompt_eval_count", prompt_tokens, a);
  d.AddMember("eval_count", completion_tokens, a);
  return {200, json::dump(d), {}, 0};
}

scripted_response openai_says(const std::string& content) {
  json::document d(rapidjson::kObjectType);
  auto& a = d.GetAllocator();
  json::value message(rapidjson::kObjectType);
  message.AddMember("role", "assistant", a);
  message.AddMember("content", json::str(content, a), a);
  json::value choice(rapidjson::kObjectType);
  choice.AddMember("message", message, a);
  json::value choices(rapidjson::kArrayType);
  choices.PushBack(choice, a);
  d.AddMember("choices", choices, a);
  return {200, json::dump(d), {}, 0};
}

// The messages of a recorded chat request body.
std::vector<std::pair<std::string, std::string>> messages_of(const std::string& body) {
  std::vector<std::pair<std::string, std::string>> out;
  auto doc = json::parse(body);
  if (!doc)
    return out;
  for (const auto& m : (*doc)["messages"].GetArray())
    out.emplace_back(m["role"].GetString(), m["content"].GetString());
  return out;
}

const std::string valid_plan =
    R"({"steps":[{"id":"s1","tool":"getProductInformation","args":{"query":"Aurora X1 price"}},)"
    R"({"id":"s2","tool":"exchangeRate","args":{"from":"{{steps.s1.result.currency}}","to":"EUR",)"
    R"("amount":"{{steps.s1.result.price}}"}}],"finalAnswerRequired":true})";

} // namespace

TEST_CASE("plan_from_reply keeps only plan fields and validates", "[llm][planner]") {
  SECTION("fences, prose, extra fields and a {plan: ...} wrapper") {
    auto plan = plan_from_reply(
        "Here is the plan:\n```json\n{\"reasoning\":\"price then convert\",\"plan\":{\"steps\":[{\"id\":\"s1\","
        "\"tool\":\"math\",\"args\":{\"expression\":\"2+2\"},\"why\":\"sum\"}],\"finalAnswerRequired\":true,"
        "\"confidence\":0.9}}\n```");
    REQUIRE(plan.ok());
    CHECK(*plan == R"({"steps":[{"id":"s1","tool":"math","args":{"expression":"2+2"}}],"finalAnswerRequired":true})");
  }
  SECTION("dependsOn is kept") {
    auto plan = plan_from_reply(
        R"({"steps":[{"id":"a","tool":"math","args":{"expression":"1"}},{"id":"b","tool":"math","args":{"expression":"2"},"dependsOn":["a"]}]})");
    REQUIRE(plan.ok());
    CHECK(*plan == R"({"steps":[{"id":"a","tool":"math","args":{"expression":"1"}},{"id":"b","tool":"math","args":{"expression":"2"},"dependsOn":["a"]}]})");
  }
  SECTION("schema and plan rule violations are reported") {
    auto no_args = plan_from_reply(R"({"steps":[{"id":"s1","tool":"math"}]})");
    REQUIRE_FALSE(no_args.ok());
    CHECK(no_args.error().find("args") != std::string::npos);
    auto unknown = plan_from_reply(R"({"steps":[{"id":"s1","tool":"fly","args":{}}]})");
    REQUIRE_FALSE(unknown.ok());
    CHECK(unknown.error() == "step s1: unknown tool 'fly'");
    auto prose = plan_from_reply("I cannot help with that.");
    REQUIRE_FALSE(prose.ok());
    CHECK(prose.error() == "reply contains no JSON object: I cannot help with that.");
  }
}

TEST_CASE("an LLM plan is used when valid, with the documented prompt", "[llm][planner]") {
  fixture f({"ollama", "offline"});
  f.server.enqueue("/api/chat", ollama_says(valid_plan, 812, 64));
  auto result = plan_with_chain("What does the Aurora X1 cost in euros?", f.runtime->planning(), catalog());
  REQUIRE(result.ok());
  CHECK(result->provider == "ollama");
  CHECK(result->model == "llama3.1:8b");
  CHECK(result->prompt_tokens == 812);
  CHECK(result->completion_tokens == 64);
  CHECK(result->repair_rounds == 0);
  CHECK(result->errors.empty());
  CHECK(result->plan_json == valid_plan);

  auto seen = f.server.requests("/api/chat");
  REQUIRE(seen.size() == 1);
  auto body = json::parse(seen[0].body);
  REQUIRE(body.ok());
  CHECK(json::get_string(*body, "format") == std::string("json"));
  auto messages = messages_of(seen[0].body);
  REQUIRE(messages.size() == 2);
  CHECK(messages[0].first == "system");
  const std::string& prompt = messages[0].second;
  CHECK(prompt.rfind("You are the planner of Eventide", 0) == 0);
  CHECK(prompt.find("Products in the catalog: Aurora X1, Nimbus Pro.") != std::string::npos);
  CHECK(prompt.find("Question: What does the Aurora X1 cost in euros?") != std::string::npos);
  CHECK(prompt.find("{{steps.s1.result.price}}") != std::string::npos); // placeholders untouched
  CHECK(prompt.find("{{query}}") == std::string::npos);
  CHECK(prompt.find("{{product_names}}") == std::string::npos);
  CHECK(messages[1] == std::make_pair(std::string("user"), std::string("What does the Aurora X1 cost in euros?")));
}

TEST_CASE("an invalid plan gets exactly one repair round carrying the validation error", "[llm][planner]") {
  fixture f({"ollama", "offline"});
  const std::string bad = R"({"steps":[{"id":"s1","tool":"fly","args":{"to":"Mars"}}]})";
  f.server.enqueue("/api/chat", ollama_says(bad, 100, 10));
  f.server.enqueue("/api/chat",
                   ollama_says("```json\n{\"steps\":[{\"id\":\"s1\",\"tool\":\"math\",\"args\":{\"expression\":\"2+2\"}}],"
                               "\"finalAnswerRequired\":true,\"reasoning\":\"simple\"}\n```",
                               120, 12));
  auto result = plan_with_chain("What is 2+2?", f.runtime->planning(), catalog());
  REQUIRE(result.ok());
  CHECK(result->provider == "ollama");
  CHECK(result->repair_rounds == 1);
  CHECK(result->prompt_tokens == 220);
  CHECK(result->completion_tokens == 22);
  CHECK(result->plan_json == R"({"steps":[{"id":"s1","tool":"math","args":{"expression":"2+2"}}],"finalAnswerRequired":true})");

  auto seen = f.server.requests("/api/chat");
  REQUIRE(seen.size() == 2);
  auto repair = messages_of(seen[1].body);
  REQUIRE(repair.size() == 4);
  CHECK(repair[2] == std::make_pair(std::string("assistant"), bad));
  CHECK(repair[3].first == "user");
  CHECK(repair[3].second.rfind("That plan is invalid: step s1: unknown tool 'fly'\n", 0) == 0);
}

TEST_CASE("a plan still invalid after the repair round moves on to the next provider", "[llm][planner]") {
  fixture f({"ollama", "offline"});
  f.server.set_default("/api/chat", ollama_says(R"({"steps":[]})", 1, 1));
  auto result = plan_with_chain("What is 2+2?", f.runtime->planning(), catalog());
  REQUIRE(result.ok());
  CHECK(f.server.request_count("/api/chat") == 2); // one plan round + one repair round
  CHECK(result->provider == "offline");
  CHECK(result->model == "rule-based");
  REQUIRE(result->errors.size() == 1);
  CHECK(result->errors[0].rfind("ollama (llama3.1:8b): invalid plan after one repair round: schema violation", 0) == 0);
  CHECK(core::parse_plan(result->plan_json).ok());
}

TEST_CASE("chain fallback ollama -> openai -> offline collects every reason", "[llm][planner]") {
  fixture f({"ollama", "openai", "offline"});
  f.server.set_default("/api/chat", {503, "overloaded", {}, 0});
  f.server.set_default("/v1/chat/completions", openai_says("I think you should check the price."));
  std::vector<std::string> reasons;
  auto result = plan_with_chain("What is 2+2?", f.runtime->planning(), catalog(), {}, &reasons);
  REQUIRE(result.ok());
  CHECK(result->provider == "offline");
  CHECK(f.server.request_count("/api/chat") == 2);             // retried once, then gave up
  CHECK(f.server.request_count("/v1/chat/completions") == 2);  // plan + repair
  REQUIRE(result->errors.size() == 2);
  CHECK(result->errors[0] == "ollama (llama3.1:8b): ollama/llama3.1:8b: giving up after 2 attempts: HTTP 503 from "
                                 + f.server.url() + "/api/chat: overloaded");
  CHECK(result->errors[1] == "openai (gpt-4o-mini): invalid plan after one repair round: reply contains no "
                                 "JSON object: I think you should check the price.");
  CHECK(reasons == result->errors);
  CHECK(f.server.requests("/v1/chat/completions")[0].header("Authorization") == "Bearer sk-test");
}

TEST_CASE("when every planner fails the failure lists each provider", "[llm][planner]") {
  fixture f({"ollama", "offline"});
  f.server.set_default("/api/chat", {500, "", {}, 0});
  std::vector<std::string> reasons;
  auto result = plan_with_chain("   ", f.runtime->planning(), catalog(), {}, &reasons);
  REQUIRE_FALSE(result.ok());
  REQUIRE(reasons.size() == 2);
  CHECK(reasons[0].rfind("ollama (llama3.1:8b): ", 0) == 0);
  CHECK(reasons[1] == "offline: empty question");
  CHECK(result.error() == "every planner failed: " + reasons[0] + "; " + reasons[1]);
}

TEST_CASE("the default chain plans offline without any request", "[llm][planner]") {
  fixture f({"offline"});
  auto result = plan_with_chain("What is 15% of 240?", f.runtime->planning(), catalog());
  REQUIRE(result.ok());
  CHECK(result->provider == "offline");
  CHECK(result->prompt_tokens == -1);
  CHECK(f.server.requests().empty());
}

namespace {

core::turn_memory answered(int turn, std::string question, std::string resolved, std::string answer) {
  core::turn_memory t;
  t.turn = turn;
  t.question = std::move(question);
  t.resolved = std::move(resolved);
  t.answer = std::move(answer);
  t.status = core::turn_status::answered;
  return t;
}

} // namespace

TEST_CASE("memory_for_prompt: the earlier turns, newest kept first within the token budget", "[llm][planner][turns]") {
  auto t1 = answered(1, "How much do the Tidal Buds cost?", "", "The Tidal Buds costs 129 GBP.\nNote: answered offline.");
  auto t2 = answered(2, "and in EUR?", "How much do the Tidal Buds cost in EUR?",
                     "The Tidal Buds costs 149.13 EUR (129 GBP at 1.15607).");
  CHECK(memory_for_prompt({}, 800) == "(none: this is the first question of the conversation)");
  CHECK(memory_for_prompt({&t1, &t2}, 800)
        == "Turn 1: How much do the Tidal Buds cost?\n"
           "  answer: The Tidal Buds costs 129 GBP. Note: answered offline.\n"
           "Turn 2: and in EUR?\n"
           "  planned as: How much do the Tidal Buds cost in EUR?\n"
           "  answer: The Tidal Buds costs 149.13 EUR (129 GBP at 1.15607).");
  // 40 tokens (160 bytes): turn 2 whole (138 bytes), turn 1 no longer fits.
  CHECK(memory_for_prompt({&t1, &t2}, 40)
        == "(1 earlier turn left out)\n"
           "Turn 2: and in EUR?\n"
           "  planned as: How much do the Tidal Buds cost in EUR?\n"
           "  answer: The Tidal Buds costs 149.13 EUR (129 GBP at 1.15607).");
  // A long answer is cut first: the turn stays, shortened, where the whole would not fit.
  auto long_answer = answered(3, "Tell me about the Aurora X1", "", std::string(3000, 'x'));
  auto cut = memory_for_prompt({&long_answer}, 100);
  CHECK(cut == "Turn 3: Tell me about the Aurora X1\n  answer: " + std::string(80, 'x') + "...");
  CHECK(memory_for_prompt({&t1, &t2}, 0) == "(2 earlier turns left out)");
  auto failed = answered(4, "What is the weather in Atlantis?", "", "");
  failed.failed = true;
  CHECK(memory_for_prompt({&failed}, 800)
        == "Turn 4: What is the weather in Atlantis?\n  answer (failed): (failed, no answer)");
}

TEST_CASE("the LLM planner's prompt carries the conversation so far", "[llm][planner][turns]") {
  fixture f({"ollama"});
  f.server.enqueue("/api/chat", ollama_says(valid_plan, 900, 64));
  f.server.enqueue("/api/chat", ollama_says(valid_plan, 700, 64));
  auto t1 = answered(1, "How much does the Aurora X1 cost?", "", "The Aurora X1 costs 1299 USD.");
  planning_options with_memory;
  with_memory.conversation = memory_for_prompt({&t1}, 800);
  REQUIRE(plan_with_chain("and in euros?", f.runtime->planning(), catalog(), with_memory).ok());
  REQUIRE(plan_with_chain("What does the Aurora X1 cost?", f.runtime->planning(), catalog()).ok());
  auto seen = f.server.requests("/api/chat");
  REQUIRE(seen.size() == 2);
  auto follow_up = messages_of(seen[0].body);
  auto first = messages_of(seen[1].body);
  REQUIRE(follow_up.size() == 2);
  REQUIRE(first.size() == 2);
  const std::string section = "## The conversation so far\n\n";
  CHECK(follow_up[0].second.find(section + "Turn 1: How much does the Aurora X1 cost?\n"
                                 "  answer: The Aurora X1 costs 1299 USD.\n")
        != std::string::npos);
  CHECK(first[0].second.find(section + "(none: this is the first question of the conversation)\n")
        != std::string::npos);
  CHECK(follow_up[0].second.find("{{conversation}}") == std::string::npos);
  CHECK(follow_up[1].second == "and in euros?");
}

TEST_CASE("revision_from_reply: steps against the earlier ids, or finish", "[llm][planner][agent]") {
  auto finish = revision_from_reply(R"({"rationale":"the Aurora X1 is cheaper","finish":true})", {"s1"});
  REQUIRE(finish.ok());
  CHECK(finish->plan_json == "null");
  CHECK(finish->rationale == "the Aurora X1 is cheaper");
  auto steps = revision_from_reply(
    "Sure:\n```json\n{\"rationale\":\"convert it\",\"steps\":[{\"id\":\"s3\",\"tool\":\"math\",\"args\":{\"expression\":\"{{steps.s1.result.price}} * 2\"},\"why\":\"x\"}],\"next\":\"replan\"}\n```",
    {"s1", "s2"});
  REQUIRE(steps.ok());
  CHECK(steps->plan_json == R"({"steps":[{"id":"s3","tool":"math","args":{"expression":"{{steps.s1.result.price}} * 2"}}],"next":"replan"})");
  auto reused = revision_from_reply(R"({"steps":[{"id":"s1","tool":"math","args":{"expression":"1"}}]})", {"s1"});
  REQUIRE_FALSE(reused.ok());
  CHECK(reused.error() == "step s1: id already used by an earlier plan version");
}

TEST_CASE("revise_with_chain: the LLM sees the observations, an invalid revision gets one repair round", "[llm][planner][agent]") {
  fixture f({"ollama", "offline"});
  f.server.enqueue("/api/chat", ollama_says(R"({"rationale":"x","steps":[{"id":"s1","tool":"math","args":{"expression":"1"}}]})", 500, 20));
  f.server.enqueue("/api/chat", ollama_says(R"({"rationale":"the Aurora X1 is cheaper","steps":[{"id":"s3","tool":"exchangeRate","args":{"from":"{{steps.s1.result.currency}}","to":"JPY","amount":"{{steps.s1.result.price}}"}}]})", 600, 30));
  revision_input in;
  in.question = "Which is cheaper, the Aurora X1 or the Nimbus Pro, and what does that one cost in JPY?";
  in.plan_json = R"({"steps":[{"id":"s1","tool":"getProductInformation","args":{"query":"Aurora X1 price"}},{"id":"s2","tool":"getProductInformation","args":{"query":"Nimbus Pro price"}}],"next":"replan"})";
  in.observations_json = R"({"s1":{"price":1299,"currency":"USD"},"s2":{"price":1849,"currency":"USD"}})";
  in.reason = "the plan asks what comes next after its last step";
  auto r = revise_with_chain(in, f.runtime->planning(), catalog());
  REQUIRE(r.ok());
  CHECK(r->provider == "ollama");
  CHECK(r->rationale == "the Aurora X1 is cheaper");
  CHECK(r->plan_json == R"({"steps":[{"id":"s3","tool":"exchangeRate","args":{"from":"{{steps.s1.result.currency}}","to":"JPY","amount":"{{steps.s1.result.price}}"}}]})");
  CHECK(r->prompt_tokens == 1100);
  CHECK(r->completion_tokens == 50);
  auto seen = f.server.requests("/api/chat");
  REQUIRE(seen.size() == 2);
  auto first = messages_of(seen[0].body);
  REQUIRE(first.size() == 2);
  CHECK(first[0].second.find("What they returned (step id -> result):\n" + in.observations_json) != std::string::npos);
  CHECK(first[0].second.find("Why you are asked: the plan asks what comes next after its last step") != std::string::npos);
  auto repair = messages_of(seen[1].body);
  REQUIRE(repair.size() == 4);
  CHECK(repair[3].second == "That revision is invalid: step s1: id already used by an earlier plan version\nReply with the corrected JSON object only.");

  SECTION("every LLM failing: the offline rules decide") {
    fixture g({"ollama", "offline"});
    g.server.enqueue("/api/chat", {500, "down", {}, 0});
    g.server.enqueue("/api/chat", {500, "down", {}, 0});
    std::vector<std::string> errors;
    auto offline = revise_with_chain(in, g.runtime->planning(), planner_context{{"Aurora X1", "Nimbus Pro"}}, {}, &errors);
    REQUIRE(offline.ok());
    CHECK(offline->provider == "offline");
    REQUIRE(errors.size() == 1);
  }
}
