// LLM generalChat, ragGeneration and synthesis: provider/model/tokens in results, citation
// checks, and fallback along the chain to the offline implementations.
#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "core/json.hpp"
#include "providers/llm_tools.hpp"
#include "tests/tools/http_test_server.hpp"

using namespace eventide;
using namespace eventide::providers;
using eventide::testing::http_test_server;
using eventide::testing::scripted_response;

namespace {

const std::string products_dir = EVENTIDE_SOURCE_DIR "/products";

std::shared_ptr<provider_runtime> runtime_for(const http_test_server& server) {
  provider_config c;
  c.ollama_url = server.url();
  c.ollama_model = "llama3.1:8b";
  c.openai_url = server.url();
  c.openai_model = "gpt-4o-mini";
  c.retry.max_attempts = 1;
  c.timeout_ms = 5000;
  return make_provider_runtime(c);
}

scripted_response ollama_says(const std::string& content, int prompt_tokens, int completion_tokens) {
  json::document d(rapidjson::kObjectType);
  auto& a = d.GetAllocator();
  json::value message(rapidjson::kObjectType);
  message.AddMember("role", "assistant", a);
  message.AddMember("content", json::str(content, a), a);
  d.AddMember("message", message, a);
  d.AddMember("prompt_eval_count", prompt_tokens, a);
  d.AddMember("eval_count", completion_tokens, a);
  return {200, json::dump(d), {}, 0};
}

scripted_response openai_says(const std::string& content, int prompt_tokens, int completion_tokens) {
  json::document d(rapidjson::kObjectType);
  auto& a = d.GetAllocator();
  json::value message(rapidjson::kObjectType);
  message.AddMember("content", json::str(content, a), a);
  json::value choice(rapidjson::kObjectType);
  choice.AddMember("message", message, a);
  json::value choices(rapidjson::kArrayType);
  choices.PushBack(choice, a);
  d.AddMember("choices", choices, a);
  json::value usage(rapidjson::kObjectType);
  usage.AddMember("prompt_tokens", prompt_tokens, a);
  usage.AddMember("completion_tokens", completion_tokens, a);
  d.AddMember("usage", usage, a);
  return {200, json::dump(d), {}, 0};
}

json::document parsed(const std::string& text) {
  auto d = json::parse(text);
  REQUIRE(d.ok());
  return std::move(d).value();
}

std::string first_message(const std::string& body, std::size_t index) {
  auto d = parsed(body);
  return d["messages"][static_cast<rapidjson::SizeType>(index)]["content"].GetString();
}

} // namespace

TEST_CASE("generalChat answers through the chat chain with token usage", "[llm][tools]") {
  http_test_server server;
  auto rt = runtime_for(server);
  server.enqueue("/api/chat", ollama_says("  Hi! Ask me about the Aurora X1.  ", 210, 14));
  auto chat = make_llm_chat_tool(rt->chain({"ollama", "offline"}), {"Aurora X1", "Nimbus Pro"});
  CHECK(chat->name() == "generalChat");
  auto out = chat->invoke(R"({"message":"hello"})");
  REQUIRE(out.ok);
  CHECK(out.result_json
        == R"({"answer":"Hi! Ask me about the Aurora X1.","provider":"ollama","model":"llama3.1:8b",)"
           R"("tokens":{"prompt":210,"completion":14},"offline":false})");
  auto seen = server.requests("/api/chat");
  REQUIRE(seen.size() == 1);
  std::string system = first_message(seen[0].body, 0);
  CHECK(system.rfind("You are the conversational voice of Eventide", 0) == 0);
  CHECK(system.find("a product catalog (Aurora X1, Nimbus Pro)") != std::string::npos);
  CHECK(system.find("User: hello") != std::string::npos);
  CHECK(first_message(seen[0].body, 1) == "hello");
  CHECK(parsed(seen[0].body).HasMember("format") == false);
}

TEST_CASE("generalChat falls back to the offline tool and says why", "[llm][tools]") {
  http_test_server server;
  auto rt = runtime_for(server);
  server.set_default("/api/chat", {500, "gpu on fire", {}, 0});
  auto chat = make_llm_chat_tool(rt->chain({"ollama", "offline"}), {"Aurora X1"});
  CHECK(chat->may_block()); // an LLM call: its runner gets a thread
  auto out = chat->invoke(R"({"message":"hello"})");
  REQUIRE(out.ok);
  auto d = parsed(out.result_json);
  CHECK(json::get_string(d, "provider") == std::string("offline"));
  CHECK(json::get_string(d, "model") == std::string("rule-based"));
  CHECK(json::get_bool(d, "offline") == true);
  CHECK(json::get_string(d, "answer")->rfind("Hello!", 0) == 0);
  REQUIRE(d["providerErrors"].Size() == 1);
  CHECK(std::string(d["providerErrors"][0].GetString())
        == "ollama (llama3.1:8b): ollama/llama3.1:8b: giving up after 1 attempt: HTTP 500 from "
               + server.url() + "/api/chat: gpu on fire");

  SECTION("without offline in the chain the failure is transient and names each provider") {
    auto strict = make_llm_chat_tool(rt->chain({"ollama"}), {"Aurora X1"});
    auto failed = strict->invoke(R"({"message":"hello"})");
    REQUIRE_FALSE(failed.ok);
    CHECK(failed.retryable);
    CHECK(failed.error.rfind("generalChat: every provider failed: ollama (llama3.1:8b): ", 0) == 0);
  }
  SECTION("bad args are permanent and send nothing") {
    auto bad = chat->invoke(R"({"msg":"hello"})");
    REQUIRE_FALSE(bad.ok);
    CHECK_FALSE(bad.retryable);
    CHECK(bad.error == "generalChat: missing required string arg 'message'");
    CHECK(server.request_count("/api/chat") == 1);
  }
}

TEST_CASE("ragGeneration retrieves, prompts with sourced passages and keeps citations", "[llm][tools]") {
  http_test_server server;
  auto rt = runtime_for(server);
  server.enqueue("/v1/chat/completions",
                 openai_says("The Aurora X1 battery lasts up to 14 hours. [products/aurora-x1.md]", 400, 20));
  auto rag = make_llm_rag_tool(rt->chain({"openai", "offline"}), products_dir);
  auto out = rag->invoke(R"({"query":"How long does the Aurora X1 battery last?"})");
  REQUIRE(out.ok);
  CHECK(out.result_json
        == R"({"query":"How long does the Aurora X1 battery last?","answer":"The Aurora X1 battery lasts up to 14 hours. [products/aurora-x1.md]",)"
           R"("citations":["products/aurora-x1.md"],"provider":"openai","model":"gpt-4o-mini",)"
           R"("tokens":{"prompt":400,"completion":20},"offline":false,"method":"llm"})");
  auto seen = server.requests("/v1/chat/completions");
  REQUIRE(seen.size() == 1);
  std::string prompt = first_message(seen[0].body, 0);
  CHECK(prompt.rfind("Answer the question using only the passages below.", 0) == 0);
  CHECK(prompt.find("[products/aurora-x1.md]\nAurora X1 — ") != std::string::npos);
  CHECK(prompt.find("Question: How long does the Aurora X1 battery last?") != std::string::npos);
  CHECK(prompt.find("{{context}}") == std::string::npos);
}

TEST_CASE("ragGeneration uses given context and rejects answers without citations", "[llm][tools]") {
  http_test_server server;
  auto rt = runtime_for(server);
  server.enqueue("/api/chat", ollama_says("It lasts about a day.", 50, 6));
  auto rag = make_llm_rag_tool(rt->chain({"ollama", "offline"}), products_dir);
  auto out = rag->invoke(
      R"({"query":"battery life","context":[{"id":"x#1","text":"Gadget — Battery\nThe gadget battery lasts 9 hours.","source":"products/gadget.md"}]})");
  REQUIRE(out.ok);
  auto d = parsed(out.result_json);
  CHECK(json::get_string(d, "provider") == std::string("offline"));
  CHECK(json::get_string(d, "model") == std::string("extractive"));
  CHECK(json::get_string(d, "answer") == std::string("The gadget battery lasts 9 hours. [products/gadget.md]"));
  REQUIRE(d["providerErrors"].Size() == 1);
  CHECK(std::string(d["providerErrors"][0].GetString())
        == "ollama (llama3.1:8b): answer cites none of the passage sources: It lasts about a day.");
  std::string prompt = first_message(server.requests("/api/chat")[0].body, 0);
  CHECK(prompt.find("Passages:\n[products/gadget.md]\nGadget — Battery\nThe gadget battery lasts 9 hours.\n")
        != std::string::npos);
}

TEST_CASE("ragGeneration accepts the documented no-answer reply", "[llm][tools]") {
  http_test_server server;
  auto rt = runtime_for(server);
  server.enqueue("/api/chat",
                 ollama_says("The product information I have does not answer this question.", 50, 9));
  auto rag = make_llm_rag_tool(rt->chain({"ollama"}), products_dir);
  auto out = rag->invoke(R"({"query":"Who founded the company?"})");
  REQUIRE(out.ok);
  auto d = parsed(out.result_json);
  CHECK(json::get_string(d, "provider") == std::string("ollama"));
  CHECK(d["citations"].Size() == 0);
}

TEST_CASE("synthesize_with_chain: LLM answer with citations and tokens, else offline", "[llm][synthesis]") {
  http_test_server server;
  auto rt = runtime_for(server);
  synthesis_input in;
  in.query = "What does the Aurora X1 cost in euros?";
  in.plan_json = R"({"steps":[{"id":"s1","tool":"getProductInformation","args":{"query":"Aurora X1 price"}}]})";
  in.results_json =
      R"({"s1":{"name":"Aurora X1","price":1299,"currency":"USD","source":"products/aurora-x1.md"},)"
      R"("s2":{"from":"USD","to":"EUR","rate":0.92,"converted":1195.08,"source":"config/exchange-rates.json","offline":true}})";

  SECTION("LLM") {
    server.enqueue("/v1/chat/completions",
                   openai_says("The Aurora X1 costs about 1195.08 EUR (offline sample rates). "
                               "[products/aurora-x1.md] [config/exchange-rates.json]",
                               900, 40));
    auto out = synthesize_with_chain(in, rt->chain({"openai", "offline"}));
    CHECK(out.provider == "openai");
    CHECK(out.model == "gpt-4o-mini");
    CHECK(out.prompt_tokens == 900);
    CHECK(out.completion_tokens == 40);
    CHECK(out.errors.empty());
    CHECK(out.output.answer.rfind("The Aurora X1 costs about 1195.08 EUR", 0) == 0);
    CHECK(out.output.citations == std::vector<std::string>{"products/aurora-x1.md", "config/exchange-rates.json"});
    std::string prompt = first_message(server.requests("/v1/chat/completions")[0].body, 0);
    CHECK(prompt.rfind("You write the final answer of Eventide", 0) == 0);
    CHECK(prompt.find("Question: " + in.query) != std::string::npos);
    CHECK(prompt.find("Plan:\n" + in.plan_json) != std::string::npos);
    CHECK(prompt.find("Results by step:\n" + in.results_json) != std::string::npos);
    CHECK(prompt.find("{{failure}}") == std::string::npos);
  }
  SECTION("every LLM fails: the template answers, even without offline in the chain") {
    server.set_default("/v1/chat/completions", {503, "", {}, 0});
    auto out = synthesize_with_chain(in, rt->chain({"openai"}));
    CHECK(out.provider == "offline");
    CHECK(out.model == "template");
    REQUIRE(out.errors.size() == 1);
    CHECK(out.errors[0].rfind("openai (gpt-4o-mini): ", 0) == 0);
    auto offline = synthesize_offline(in);
    CHECK(out.output.answer == offline.answer);
    CHECK(out.output.citations == offline.citations);
  }
}

TEST_CASE("orchestrationSynthesis tool through the chain", "[llm][tools]") {
  http_test_server server;
  auto rt = runtime_for(server);
  server.enqueue("/api/chat", ollama_says("It is 4. [context]", 30, 3));
  auto tool = make_llm_synthesis_tool(rt->chain({"ollama", "offline"}));
  auto out = tool->invoke(R"({"query":"What is 2+2?","results":{"s1":{"expression":"2+2","value":4}}})");
  REQUIRE(out.ok);
  CHECK(out.result_json
        == R"({"answer":"It is 4. [context]","citations":[],"provider":"ollama","model":"llama3.1:8b",)"
           R"("tokens":{"prompt":30,"completion":3},"offline":false})");
}
