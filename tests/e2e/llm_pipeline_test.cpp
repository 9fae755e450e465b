// End to end with a configured LLM: the loopback test server plays Ollama. The question is
// planned by the "LLM", executed by the workers, and synthesized by the "LLM"; when the server
// fails, the chains fall back to the offline providers and the conversation still ends with an
// answer.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <thread>

#include "tests/e2e/harness.hpp"
#include "tests/tools/http_test_server.hpp"

using namespace eventide;
using namespace eventide::testing;

namespace {

std::string ollama_reply(const std::string& content) {
  json::document d;
  d.SetObject();
  auto& a = d.GetAllocator();
  json::value msg(rapidjson::kObjectType);
  msg.AddMember("role", "assistant", a);
  msg.AddMember("content", json::str(content, a), a);
  d.AddMember("model", "test-llm", a);
  d.AddMember("message", msg, a);
  d.AddMember("done", true, a);
  d.AddMember("prompt_eval_count", 120, a);
  d.AddMember("eval_count", 30, a);
  return json::dump(d);
}

bool is_planning(const recorded_request& r) {
  return r.body.find("You are the planner of Eventide") != std::string::npos;
}

node_options llm_options(const http_test_server& server) {
  node_options o;
  o.providers.planning_chain = {"ollama", "offline"};
  o.providers.synthesis_chain = {"ollama", "offline"};
  o.providers.ollama_url = server.url();
  o.providers.ollama_model = "test-llm";
  o.providers.timeout_ms = 2000;
  o.providers.retry.max_attempts = 2;
  o.providers.retry.backoff.base_ms = 5;
  o.providers.retry.backoff.max_ms = 20;
  return o;
}

const events::plan_generated* plan_of(const conversation_trace& t) {
  for (auto& e : t.conversation_events)
    if (auto p = std::get_if<events::plan_generated>(&e.data))
      return p;
  return nullptr;
}

} // namespace

TEST_CASE("e2e: an LLM plans and synthesizes, workers execute its plan") {
  http_test_server server;
  // A plan in an LLM's style: prose around it, a field the schema does not know.
  server.set_handler("/api/chat", [](const recorded_request& r) {
    if (is_planning(r))
      return scripted_response{200, ollama_reply(
        "Here is the plan:\n```json\n{\"reasoning\":\"percent then power\",\"steps\":["
        "{\"id\":\"pct\",\"tool\":\"math\",\"args\":{\"expression\":\"0.15*240\"}},"
        "{\"id\":\"sum\",\"tool\":\"math\",\"args\":{\"expression\":\"{{pct.result.value}} + 3^2\"}}]}\n```"), {}, 0};
    return scripted_response{200, ollama_reply("15% of 240 is 36; adding 3^2 gives 45."), {}, 0};
  });
  temp_dir dir;
  auto p = std::make_unique<pipeline>(dir.path, llm_options(server));
  auto t = p->ask("llm-1", "What is 15% of 240 plus 3^2?");
  REQUIRE(t.answer() != nullptr);
  auto plan = plan_of(t);
  REQUIRE(plan != nullptr);
  CHECK(plan->planner_provider == "ollama");
  CHECK(plan->planner_model == "test-llm");
  CHECK(plan->plan_json.find("reasoning") == std::string::npos); // extras dropped
  CHECK(plan->prompt_tokens == 120); // usage reported by the provider is kept
  CHECK(plan->completion_tokens == 30);
  CHECK(t.sequence()
        == std::vector<std::string>{"PlanGenerated", "ToolInvocationResulted:pct",
                                    "PlanStepCompleted:pct", "ToolInvocationResulted:sum",
                                    "PlanStepCompleted:sum", "PlanCompleted",
                                    "FinalAnswerSynthesized"});
  // The LLM spelling {{pct.result.value}} was resolved with its type.
  auto sum = t.result_of("sum");
  CHECK(json::find_path(sum, "value")->GetDouble() == 45.0);
  CHECK(t.answer()->provider == "ollama");
  CHECK(t.answer()->model == "test-llm");
  CHECK(t.answer()->answer == "15% of 240 is 36; adding 3^2 gives 45.");
  CHECK(t.answer()->prompt_tokens == 120);
  CHECK(t.answer()->completion_tokens == 30);
  // Exactly the two calls, the planning one carrying the question.
  auto calls = server.requests("/api/chat");
  REQUIRE(calls.size() == 2);
  CHECK(is_planning(calls[0]));
  CHECK(calls[0].body.find("What is 15% of 240 plus 3^2?") != std::string::npos);
  CHECK(calls[0].body.find("\"format\":\"json\"") != std::string::npos);

  // `eventide trace` sums the conversation's LLM usage: planning 120+30, synthesis 120+30.
  p.reset(); // releases the log for the CLI
  std::string cmd = std::string(EVENTIDE_BINARY) + " trace llm-1 --data-dir " + dir.path;
  std::string out;
  if (FILE* f = ::popen(cmd.c_str(), "r")) {
    char buf[512];
    while (::fgets(buf, sizeof buf, f))
      out += buf;
    CHECK(::pclose(f) == 0);
  }
  CHECK(out.find("LLM tokens: 240 prompt + 60 completion = 300") != std::string::npos);
}

TEST_CASE("e2e: when the LLM server fails mid-run, the fallback chain still answers") {
  http_test_server server;
  std::atomic<int> calls{0};
  // The plan comes from the LLM; then the server only fails (503), as if it went down.
  server.set_handler("/api/chat", [&](const recorded_request& r) {
    if (is_planning(r) && calls++ == 0)
      return scripted_response{200, ollama_reply(
        R"({"steps":[{"id":"s1","tool":"math","args":{"expression":"6*7"}}]})"), {}, 0};
    return scripted_response{503, "overloaded", {}, 0};
  });
  temp_dir dir;
  pipeline p{dir.path, llm_options(server)};
  auto t = p.ask("llm-2", "What is 6 times 7?");
  REQUIRE(t.answer() != nullptr);
  CHECK(plan_of(t)->planner_provider == "ollama");
  CHECK(t.answer()->provider == "offline"); // synthesis fell back to the template
  CHECK(t.answer()->answer.rfind("The answer is 42", 0) == 0);
  CHECK(server.request_count("/api/chat") == 1 + 2); // planning, then two synthesis attempts

  // With the server gone, planning falls back to the offline planner too.
  server.stop();
  auto t2 = p.ask("llm-3", "What is 6 times 7?");
  REQUIRE(t2.answer() != nullptr);
  CHECK(plan_of(t2)->planner_provider == "offline");
  CHECK(t2.answer()->answer.rfind("The answer is 42", 0) == 0);
}

TEST_CASE("e2e: an LLM plans, observes and revises, and a replay of the log calls it no more", "[agent]") {
  http_test_server server;
  server.set_handler("/api/chat", [](const recorded_request& r) {
    if (r.body.find("deciding what comes next") != std::string::npos)
      return scripted_response{200, ollama_reply(
        R"({"rationale":"the Aurora X1 is cheaper: 1299 USD against 1849 USD","steps":[)"
        R"({"id":"s3","tool":"exchangeRate","args":{"from":"{{steps.s1.result.currency}}","to":"JPY",)"
        R"("amount":"{{steps.s1.result.price}}"}}]})"), {}, 0};
    if (is_planning(r))
      return scripted_response{200, ollama_reply(
        R"({"steps":[{"id":"s1","tool":"getProductInformation","args":{"query":"Aurora X1 price"}},)"
        R"({"id":"s2","tool":"getProductInformation","args":{"query":"Nimbus Pro price"}}],"next":"replan"})"), {}, 0};
    return scripted_response{200, ollama_reply("The Aurora X1 is cheaper; in Japan it costs 194132.98 JPY."), {}, 0};
  });
  temp_dir dir;
  auto p = std::make_unique<pipeline>(dir.path, llm_options(server));
  auto t = p->ask("llm-agent", "Which is cheaper, the Aurora X1 or the Nimbus Pro, and what does that one cost in JPY?");
  REQUIRE(t.answer() != nullptr);
  CHECK(t.answer()->answer == "The Aurora X1 is cheaper; in Japan it costs 194132.98 JPY.");
  // s1 and s2 run in parallel (any order); everything after them, in this order.
  auto seq = t.sequence();
  REQUIRE(seq.size() == 11);
  CHECK(seq[0] == "PlanGenerated");
  std::vector<std::string> lookups(seq.begin() + 1, seq.begin() + 5);
  std::sort(lookups.begin(), lookups.end());
  CHECK(lookups == std::vector<std::string>{"PlanStepCompleted:s1", "PlanStepCompleted:s2",
                                            "ToolInvocationResulted:s1", "ToolInvocationResulted:s2"});
  CHECK(std::vector<std::string>(seq.begin() + 5, seq.end())
        == std::vector<std::string>{"PlanRevisionRequested", "PlanRevised", "ToolInvocationResulted:s3",
                                    "PlanStepCompleted:s3", "PlanCompleted", "FinalAnswerSynthesized"});
  for (auto& e : t.conversation_events)
    if (auto r = std::get_if<events::plan_revised>(&e.data)) {
      CHECK(r->planner_provider == "ollama");
      CHECK(r->rationale == "the Aurora X1 is cheaper: 1299 USD against 1849 USD");
      CHECK(r->prompt_tokens == 120);
    }
  CHECK(json::find_path(t.result_of("s3"), "converted")->GetDouble() == 194132.98);
  auto calls = server.requests("/api/chat");
  REQUIRE(calls.size() == 3); // plan, revision, synthesis
  CHECK(calls[1].body.find("Why you are asked: the plan asks what comes next after its last step")
        != std::string::npos);
  CHECK(calls[1].body.find(R"(\"price\":1849)") != std::string::npos); // the observations
  CHECK(calls[2].body.find("the Aurora X1 is cheaper: 1299 USD against 1849 USD") != std::string::npos);

  // The node-local stores lost: every role replays the log from offset 0. Every decision is
  // in the log already, so no LLM is called again and nothing is decided twice.
  p.reset();
  std::filesystem::remove_all(dir.path + "/router-ledger");
  std::filesystem::remove_all(dir.path + "/orchestrator-store");
  p = std::make_unique<pipeline>(dir.path, llm_options(server));
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  auto again = p->read("llm-agent");
  CHECK(server.requests("/api/chat").size() == 3);
  CHECK(again.count("PlanRevised") == 1);
  CHECK(again.count("FinalAnswerSynthesized") == 1);
  CHECK(again.divergent_repeats().empty());
}
