// The Ollama and OpenAI-compatible clients against the loopback test server: exact request
// bodies and headers, reply parsing, token usage, and clear failures for bad replies.
#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "core/plan.hpp"
#include "providers/llm.hpp"
#include "tests/tools/http_test_server.hpp"

using namespace eventide;
using namespace eventide::providers;
using eventide::testing::http_test_server;

namespace {

std::shared_ptr<resilient_http> quick_http(int attempts = 2) {
  retry_policy p;
  p.max_attempts = attempts;
  p.backoff = {1, 2, 2.0};
  return std::make_shared<resilient_http>(p, breaker_policy{});
}

llm_endpoint endpoint(const http_test_server& server, std::string model, std::string embedding,
                      std::string key = "") {
  return llm_endpoint{server.url() + "/", std::move(model), std::move(embedding), std::move(key),
                      2000, 5000};
}

chat_request planner_request(bool json_output, double temperature) {
  chat_request r;
  r.messages = {{"system", "You plan.\nLine \"two\"."}, {"user", "hi"}};
  r.json_output = json_output;
  r.temperature = temperature;
  return r;
}

} // namespace

TEST_CASE("ollama chat: exact request body and reply with token counts", "[llm]") {
  http_test_server server;
  server.enqueue("/api/chat", {200,
                               R"({"model":"llama3.1:8b","created_at":"2026-11-20T10:00:00Z",)"
                               R"("message":{"role":"assistant","content":"hello there"},"done":true,)"
                               R"("prompt_eval_count":12,"eval_count":5})",
                               {}, 0});
  auto client = make_ollama_client(endpoint(server, "llama3.1:8b", "nomic-embed-text"), quick_http());
  CHECK(client->name() == "ollama");
  CHECK(describe(*client) == "ollama (llama3.1:8b)");
  auto reply = client->chat(planner_request(true, 0));
  REQUIRE(reply.ok());
  CHECK(reply->text == "hello there");
  CHECK(reply->provider == "ollama");
  CHECK(reply->model == "llama3.1:8b");
  CHECK(reply->prompt_tokens == 12);
  CHECK(reply->completion_tokens == 5);
  CHECK(reply->ms >= 0);

  auto seen = server.requests("/api/chat");
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].method == "POST");
  CHECK(seen[0].header("Content-Type") == "application/json");
  CHECK(seen[0].header("Authorization").empty());
  CHECK(seen[0].body
        == R"({"model":"llama3.1:8b","messages":[{"role":"system","content":"You plan.\nLine \"two\"."},)"
           R"({"role":"user","content":"hi"}],"stream":false,"format":"json","options":{"temperature":0}})");
}

TEST_CASE("ollama chat without JSON output omits format, tokens may be missing", "[llm]") {
  http_test_server server;
  server.enqueue("/api/chat", {200, R"({"message":{"role":"assistant","content":"ok"},"done":true})", {}, 0});
  auto client = make_ollama_client(endpoint(server, "m", "e"), quick_http());
  auto reply = client->chat(planner_request(false, 0.7));
  REQUIRE(reply.ok());
  CHECK(reply->prompt_tokens == -1);
  CHECK(reply->completion_tokens == -1);
  CHECK(server.requests("/api/chat")[0].body
        == R"({"model":"m","messages":[{"role":"system","content":"You plan.\nLine \"two\"."},)"
           R"({"role":"user","content":"hi"}],"stream":false,"options":{"temperature":0.7}})");
}

TEST_CASE("ollama embeddings: exact request body and vector", "[llm]") {
  http_test_server server;
  server.enqueue("/api/embeddings", {200, R"({"embedding":[0.5,-0.25,1]})", {}, 0});
  auto client = make_ollama_client(endpoint(server, "llama3.1:8b", "nomic-embed-text"), quick_http());
  auto v = client->embed("battery life");
  REQUIRE(v.ok());
  CHECK(*v == std::vector<float>{0.5f, -0.25f, 1.0f});
  CHECK(server.requests("/api/embeddings")[0].body == R"({"model":"nomic-embed-text","prompt":"battery life"})");
}

TEST_CASE("openai chat with a key: bearer header, response_format, usage", "[llm]") {
  http_test_server server;
  server.enqueue("/v1/chat/completions",
                 {200,
                  R"({"id":"c1","object":"chat.completion","model":"gpt-4o-mini-2024-07-18",)"
                  R"("choices":[{"index":0,"message":{"role":"assistant","content":"{\"a\":1}"},)"
                  R"("finish_reason":"stop"}],"usage":{"prompt_tokens":30,"completion_tokens":7,"total_tokens":37}})",
                  {}, 0});
  auto client = make_openai_client(endpoint(server, "gpt-4o-mini", "text-embedding-3-small", "sk-test"),
                                   quick_http());
  auto reply = client->chat(planner_request(true, 0.2));
  REQUIRE(reply.ok());
  CHECK(reply->text == R"({"a":1})");
  CHECK(reply->provider == "openai");
  CHECK(reply->model == "gpt-4o-mini");
  CHECK(reply->prompt_tokens == 30);
  CHECK(reply->completion_tokens == 7);
  auto seen = server.requests("/v1/chat/completions");
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].header("Authorization") == "Bearer sk-test");
  CHECK(seen[0].body
        == R"({"model":"gpt-4o-mini","messages":[{"role":"system","content":"You plan.\nLine \"two\"."},)"
           R"({"role":"user","content":"hi"}],"temperature":0.2,"response_format":{"type":"json_object"}})");
}

TEST_CASE("openai chat without a key sends no Authorization, a /v1 base URL is accepted", "[llm]") {
  http_test_server server;
  server.enqueue("/v1/chat/completions",
                 {200, R"({"choices":[{"message":{"role":"assistant","content":"plain"}}]})", {}, 0});
  llm_endpoint e = endpoint(server, "local-model", "emb");
  e.url = server.url() + "/v1";
  auto client = make_openai_client(e, quick_http());
  auto reply = client->chat(planner_request(false, 0));
  REQUIRE(reply.ok());
  CHECK(reply->text == "plain");
  CHECK(reply->prompt_tokens == -1);
  auto seen = server.requests("/v1/chat/completions");
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].header("Authorization").empty());
  CHECK(seen[0].body
        == R"({"model":"local-model","messages":[{"role":"system","content":"You plan.\nLine \"two\"."},)"
           R"({"role":"user","content":"hi"}],"temperature":0})");
}

TEST_CASE("openai embeddings: exact request body, with and without key", "[llm]") {
  http_test_server server;
  server.set_default("/v1/embeddings", {200, R"({"object":"list","data":[{"index":0,"embedding":[1,2.5]}]})", {}, 0});
  auto keyed = make_openai_client(endpoint(server, "m", "text-embedding-3-small", "sk-1"), quick_http());
  auto plain = make_openai_client(endpoint(server, "m", "text-embedding-3-small"), quick_http());
  auto a = keyed->embed("hello");
  auto b = plain->embed("hello");
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(*a == std::vector<float>{1.0f, 2.5f});
  auto seen = server.requests("/v1/embeddings");
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].body == R"({"model":"text-embedding-3-small","input":"hello"})");
  CHECK(seen[0].header("Authorization") == "Bearer sk-1");
  CHECK(seen[1].body == seen[0].body);
  CHECK(seen[1].header("Authorization").empty());
}

TEST_CASE("malformed or incomplete replies fail clearly and are not retried", "[llm]") {
  http_test_server server;
  auto ollama = make_ollama_client(endpoint(server, "llama3.1:8b", "nomic"), quick_http(3));
  auto openai = make_openai_client(endpoint(server, "gpt-4o-mini", "emb"), quick_http(3));

  SECTION("not JSON") {
    server.set_default("/api/chat", {200, "this is not json", {}, 0});
    auto r = ollama->chat(planner_request(true, 0));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().rfind("ollama (llama3.1:8b): reply is not JSON (", 0) == 0);
    CHECK(r.error().find("this is not json") != std::string::npos);
    CHECK(server.request_count("/api/chat") == 1);
  }
  SECTION("missing message content") {
    server.set_default("/api/chat", {200, R"({"done":true})", {}, 0});
    auto r = ollama->chat(planner_request(true, 0));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error() == R"(ollama (llama3.1:8b): reply has no message.content: {"done":true})");
  }
  SECTION("empty choices") {
    server.set_default("/v1/chat/completions", {200, R"({"choices":[]})", {}, 0});
    auto r = openai->chat(planner_request(false, 0));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error() == R"(openai (gpt-4o-mini): reply has no choices[0].message.content: {"choices":[]})");
    CHECK(server.request_count("/v1/chat/completions") == 1);
  }
  SECTION("embedding without numbers") {
    server.set_default("/api/embeddings", {200, R"({"embedding":[]})", {}, 0});
    auto r = ollama->embed("x");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error() == R"(ollama (nomic): reply has no non-empty 'embedding' array: {"embedding":[]})");
  }
  SECTION("401 is reported with the body and not retried") {
    server.set_default("/v1/chat/completions", {401, R"({"error":{"message":"bad key"}})", {}, 0});
    auto r = openai->chat(planner_request(false, 0));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error() == "openai (gpt-4o-mini): HTTP 401 from " + server.url()
                           + R"(/v1/chat/completions: {"error":{"message":"bad key"}})");
    CHECK(server.request_count("/v1/chat/completions") == 1);
  }
  SECTION("5xx is retried by the transport policy") {
    server.enqueue("/api/chat", {502, "", {}, 0});
    server.enqueue("/api/chat", {200, R"({"message":{"content":"ok"}})", {}, 0});
    auto r = ollama->chat(planner_request(false, 0));
    REQUIRE(r.ok());
    CHECK(server.request_count("/api/chat") == 2);
  }
}

TEST_CASE("prompt helpers", "[llm]") {
  SECTION("render_prompt replaces only the given names, in one pass") {
    std::string out = render_prompt("Q: {{query}} P: {{product_names}} keep {{steps.s1.result.price}} {{query}}",
                                    {{"query", "is {{product_names}} here?"}, {"product_names", "A, B"}});
    CHECK(out == "Q: is {{product_names}} here? P: A, B keep {{steps.s1.result.price}} is {{product_names}} here?");
  }
  SECTION("load_prompt strips the documentation comment") {
    auto router = load_prompt("router.md");
    REQUIRE(router.ok());
    CHECK(router->rfind("You are the planner of Eventide", 0) == 0);
    CHECK(router->find("<!--") == std::string::npos);
    CHECK(router->find("{{steps.s1.result.price}}") != std::string::npos);
    // The planner is told about every tool of the catalog, the shop's included.
    for (const auto& tool : core::tool_catalog())
      CHECK(router->find("| `" + tool.name + "` |") != std::string::npos);
    auto missing = load_prompt("nope.md");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().rfind("cannot read prompt ", 0) == 0);
  }
  SECTION("extract_json_object tolerates fences and prose") {
    auto fenced = extract_json_object("Sure! Here it is:\n```json\n{\"a\":{\"b\":\"}\"}}\n```\nDone.");
    REQUIRE(fenced.ok());
    CHECK(*fenced == R"({"a":{"b":"}"}})");
    auto second = extract_json_object("{not json} then {\"x\":1}");
    REQUIRE(second.ok());
    CHECK(*second == R"({"x":1})");
    auto none = extract_json_object("no object here");
    REQUIRE_FALSE(none.ok());
    CHECK(none.error() == "reply contains no JSON object: no object here");
  }
}
