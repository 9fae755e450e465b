// Fuzz target "llm_repair": what the router does with a language model's output. The first
// byte picks the layer the rest enters at (byte % 3):
//   0  the model's text: providers::plan_from_reply (extract_json_object, {"plan": ...}
//      unwrapping, field filtering, "plan" schema, core::parse_plan);
//   1  an Ollama /api/chat HTTP body, read by the real Ollama client through a fake transport;
//   2  an OpenAI /v1/chat/completions HTTP body, likewise;
// for 1 and 2 a reply's text then goes through plan_from_reply too. Properties: a repaired plan
// passes core::parse_plan, and an extracted object is a JSON object found in the text.
#include <cstdint>
#include <memory>
#include <string>

#include "core/json.hpp"
#include "core/plan.hpp"
#include "providers/llm.hpp"
#include "providers/llm_planner.hpp"
#include "tests/fuzz/fuzz.hpp"

using namespace eventide;
using namespace eventide::providers;

namespace {

void repair(const std::string& text) {
  auto object = extract_json_object(text);
  if (object) {
    FUZZ_CHECK(text.find(object.value()) != std::string::npos, "extracted object is in the text");
    auto doc = json::parse(object.value());
    FUZZ_CHECK(doc && doc->IsObject(), "extracted text is a JSON object");
  }
  auto plan = plan_from_reply(text);
  if (plan) {
    auto parsed = core::parse_plan(plan.value());
    FUZZ_CHECK(parsed.ok(), "a repaired plan is valid: " + parsed.error());
  }
}

std::string body; // what the fake server answers

std::unique_ptr<llm_client> client(bool openai) {
  retry_policy retry;
  retry.max_attempts = 1;
  breaker_policy breaker;
  breaker.failure_threshold = 1 << 30;
  clock_hooks clock{[] { return int64_t{0}; }, [](int64_t) {}};
  http_transport transport = [](const http_request&) -> outcome<http_response> {
    http_response r;
    r.status = 200;
    r.body = body;
    return r;
  };
  auto http = std::make_shared<resilient_http>(retry, breaker, nullptr, clock, transport);
  llm_endpoint endpoint{"http://fuzz", "m", "e", "", 1, 1};
  return openai ? make_openai_client(endpoint, http) : make_ollama_client(endpoint, http);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  int layer = data[0] % 3;
  if (layer == 0) {
    repair(rest);
    return 0;
  }
  body = std::move(rest);
  static auto ollama = client(false);
  static auto openai = client(true);
  chat_request request{{{"user", "q"}}, true, 0};
  auto reply = (layer == 1 ? ollama : openai)->chat(request);
  if (reply)
    repair(reply->text);
  return 0;
}
