// The event codec (schemas/codec.cpp): encode, decode, the catalog, ownership, headers and the
// records a reader must refuse. The schema fixtures are in validation_test.cpp, times in
// rfc3339_test.cpp.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <thread>

#include "core/json.hpp"
#include "schemas/codec.hpp"
#include "schemas/validation.hpp"
#include "tests/schemas/event_fixtures.hpp"

namespace fs = std::filesystem;
using namespace eventide;
using namespace eventide::events;
using namespace eventide::testing;

namespace {

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

event make_event(payload p) {
  event e;
  e.id = "c42/evt-1";
  e.source = "eventide/test/n1";
  e.time_ms = 1795168800123;
  e.subject = "c42";
  e.causation_id = "c42/evt-0";
  e.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  e.data = std::move(p);
  return e;
}

const char* design_plan =
    R"({"steps":[{"id":"s1","tool":"getProductInformation","args":{"query":"Aurora X1"}},)"
    R"({"id":"s2","tool":"exchangeRate","args":{"from":"USD","to":"EUR",)"
    R"("amount":"{{steps.s1.result.price}}"},"dependsOn":["s1"]}],"finalAnswerRequired":true})";

// One sample of every payload type, with every field away from its default.
std::vector<payload> samples() {
  std::vector<payload> out;
  out.push_back(user_query_received{"c42", "u7", "Was kostet der Aurora X1 in EUR? \xC3\xA9",
                                    1795168800000});
  out.push_back(synthesize_final_answer_requested{"What does it cost?", 2, design_plan,
                                                  R"({"s1":{"price":1299.5}})",
                                                  "step s2: timed out", "s2"});
  out.push_back(synthesize_final_answer_requested{"Fly me", 0, "null", "{}",
                                                  "no planner produced a plan", ""});
  out.push_back(plan_generated{3, design_plan, "openai", "gpt-x", 845});
  out.push_back(planning_failed{"no valid plan", {"openai: HTTP 503", "offline: no rule"}});
  out.push_back(tool_invocation_resulted{"c42/3/s1", 2, "s1", "getProductInformation", true,
                                         R"({"chunks":[{"score":1.5,"text":"x"}]})", "", false,
                                         17});
  out.push_back(tool_invocation_resulted{"c42/3/s2", 1, "s2", "exchangeRate", false, "null",
                                         "rate service timed out", true, 5000});
  out.push_back(plan_step_completed{"s2", "error", 3});
  out.push_back(plan_completed{3, R"({"s1":[1,"two",null],"s2":1195.54})"});
  out.push_back(plan_failed{3, "s2", "step s2: timed out", R"({"s1":{"price":1299.5}})", false});
  out.push_back(final_answer_synthesized{"It costs 1195.54 EUR [1].", "offline", "template",
                                         {"products/aurora-x1.md", "config/rates.json"}, true});
  out.push_back(tool_invocation_requested{"c42/3/s2", 2, "s2", "exchangeRate",
                                          R"({"from":"USD","to":"EUR","amount":1299.5})",
                                          1795168830123});
  out.push_back(plan_revision_requested{3, "step s2 (exchangeRate) failed after 3 attempts: rate service down",
                                        "s2", R"({"s1":{"price":1299.5,"currency":"USD"}})"});
  out.push_back(plan_revision_requested{1, "the plan asks what comes next after its last step", "",
                                        "{}"});
  out.push_back(plan_revised{4,
                             R"({"steps":[{"id":"s4","tool":"math","args":{"expression":"{{steps.s1.result.price}} * 2"}}],"next":"replan"})",
                             "s1 alone is enough", "ollama", "llama3.1:8b", 512, 380, 24});
  out.push_back(plan_revised{5, "null", "nothing more to look up", "offline", "rule-based", 0});
  const std::string undone =
    R"([{"stepId":"s2","tool":"chargePayment","compensation":"refundPayment","invocationId":"c42/compensate/s2","status":"done","result":{"paymentId":"p-1"}},)"
    R"({"stepId":"s1","tool":"placeOrder","compensation":"cancelOrder","invocationId":"c42/compensate/s1","status":"not_run"}])";
  out.push_back(plan_compensated{3, 0, undone});
  out.push_back(plan_compensated{3, 2, undone});
  out.push_back(compensation_failed{3, 1, undone, "s1", "compensation cancelOrder of step s1 failed: shipped"});
  out.push_back(compensation_retry_requested{"ops", "the shop is back"});
  synthesize_final_answer_requested saga{"Order 2 Tidal Buds", 1, design_plan, "{}",
                                         "step s3 failed", "s3"};
  saga.compensations_json = undone;
  out.push_back(saga);
  out.push_back(approval_requested{2, "s2", "chargePayment", R"({"orderId":"o-1","amount":3698})",
                                   "the amount is above the threshold", 1795168830123});
  out.push_back(approval_submitted{"s2", true, "alice", "fine"});
  out.push_back(approval_submitted{"s2", false, "bob", ""});
  out.push_back(approval_granted{"s2", "alice", "fine"});
  out.push_back(approval_denied{"s2", "", "no decision within approval-timeout (60 s)"});
  out.push_back(cancel_requested{"alice", "changed my mind"});
  out.push_back(turn_cancelled{"alice", ""});
  plan_generated asked{3, design_plan, "offline", "rule-based", 1};
  asked.asked_by = "alice";
  out.push_back(asked);
  return out;
}

} // namespace

// ---- catalog -------------------------------------------------------------------------------

TEST_CASE("type names and topics follow the catalog", "[codec]") {
  const std::vector<std::string> expected = {
      "UserQueryReceived",      "PlanGenerated",         "PlanningFailed",
      "ToolInvocationRequested", "ToolInvocationResulted", "PlanStepCompleted",
      "PlanCompleted",          "PlanFailed",            "SynthesizeFinalAnswerRequested",
      "FinalAnswerSynthesized", "PlanRevisionRequested", "PlanRevised",
      "PlanCompensated",        "CompensationFailed",    "ApprovalRequested",
      "ApprovalSubmitted",      "ApprovalGranted",       "ApprovalDenied",
      "CancelRequested",        "TurnCancelled",         "CompensationRetryRequested"};
  CHECK(type_names() == expected);

  CHECK(std::string(type_name(user_query_received{})) == "UserQueryReceived");
  CHECK(std::string(type_name(tool_invocation_requested{})) == "ToolInvocationRequested");
  CHECK(std::string(type_name(synthesize_final_answer_requested{}))
        == "SynthesizeFinalAnswerRequested");

  CHECK(std::string(topic_of(user_query_received{})) == "user-commands");
  CHECK(std::string(topic_of(synthesize_final_answer_requested{})) == "user-commands");
  CHECK(std::string(topic_of(tool_invocation_requested{})) == "tool-invocation-requests");
  for (const payload& p : {payload(plan_generated{}), payload(planning_failed{}),
                           payload(tool_invocation_resulted{}), payload(plan_step_completed{}),
                           payload(plan_completed{}), payload(plan_failed{}),
                           payload(final_answer_synthesized{}),
                           payload(plan_revision_requested{}), payload(plan_revised{}),
                           payload(plan_compensated{}), payload(compensation_failed{}),
                           payload(compensation_retry_requested{}),
                           payload(approval_requested{}), payload(approval_submitted{}),
                           payload(approval_granted{}), payload(approval_denied{}),
                           payload(cancel_requested{}), payload(turn_cancelled{})})
    CHECK(std::string(topic_of(p)) == "conversation-events");

  CHECK(dataschema_for("PlanGenerated") == "schemas/PlanGenerated.schema.json");
  CHECK_FALSE(has_schema("PlanExploded"));
  auto missing = validate("PlanExploded", json::value(rapidjson::kObjectType));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error() == "no schema named 'PlanExploded'");
}

// ---- encode / decode -----------------------------------------------------------------------

TEST_CASE("every type round-trips encode -> decode -> encode", "[codec]") {
  for (const auto& p : samples()) {
    INFO("type " << type_name(p));
    event e = make_event(p);
    if (std::holds_alternative<user_query_received>(p))
      e.subject = std::get<user_query_received>(p).conversation_id;
    auto first = encode(e);
    if (!first)
      FAIL(first.error());
    auto decoded = decode(first.value());
    if (!decoded)
      FAIL(decoded.error());
    CHECK(decoded->id == e.id);
    CHECK(decoded->source == e.source);
    CHECK(decoded->time_ms == e.time_ms);
    CHECK(decoded->subject == e.subject);
    CHECK(decoded->causation_id == e.causation_id);
    CHECK(decoded->traceparent == e.traceparent);
    CHECK(decoded->data.index() == p.index());
    auto second = encode(decoded.value());
    REQUIRE(second.ok());
    CHECK(second.value() == first.value());
  }
}

TEST_CASE("encode writes the envelope and camelCase data with JSON values", "[codec]") {
  plan_generated p{3, design_plan, "openai", "gpt-x", 845};
  auto text = encode(make_event(p));
  REQUIRE(text.ok());
  auto doc = json::parse(text.value());
  REQUIRE(doc.ok());
  const auto& d = doc.value();
  CHECK(json::get_string(d, "specversion") == "1.0");
  CHECK(json::get_string(d, "type") == "PlanGenerated");
  CHECK(json::get_string(d, "time") == "2026-11-20T10:00:00.123Z");
  CHECK(json::get_string(d, "subject") == "c42");
  CHECK(json::get_string(d, "datacontenttype") == "application/json");
  CHECK(json::get_string(d, "dataschema") == "schemas/PlanGenerated.schema.json");
  CHECK(json::get_string(d, "causationid") == "c42/evt-0");
  const json::value* data = json::find_path(d, "data");
  REQUIRE(data);
  CHECK(json::get_int(*data, "planVersion") == 3);
  CHECK(json::get_int(*data, "planningMs") == 845);
  REQUIRE(json::find_path(*data, "plan"));
  CHECK(json::find_path(*data, "plan")->IsObject()); // a JSON value, not a string
  CHECK(json::dump(*json::find_path(*data, "plan")) == design_plan);
  CHECK(json::get_string(*json::find_path(*data, "planner"), "provider") == "openai");
  CHECK(json::get_string(*json::find_path(*data, "planner"), "model") == "gpt-x");
  CHECK(data->MemberCount() == 4);

  // Optional attributes are left out when empty.
  event bare = make_event(plan_step_completed{"s1", "ok", 1});
  bare.causation_id.clear();
  bare.traceparent.clear();
  auto bare_text = encode(bare);
  REQUIRE(bare_text.ok());
  CHECK(bare_text->find("causationid") == std::string::npos);
  CHECK(bare_text->find("traceparent") == std::string::npos);
  auto bare_back = decode(bare_text.value());
  REQUIRE(bare_back.ok());
  CHECK(bare_back->causation_id.empty());
  CHECK(bare_back->traceparent.empty());
}

TEST_CASE("decode builds the typed payloads field by field", "[codec]") {
  SECTION("ToolInvocationResulted ok and error") {
    auto ok = decode(read_file(fixtures_root / "ToolInvocationResulted" / "valid-ok.json"));
    REQUIRE(ok.ok());
    CHECK(ok->id == "c1/ToolInvocationResulted");
    CHECK(ok->source == "eventide/test/n1");
    CHECK(ok->time_ms == 1795168800123);
    CHECK(ok->subject == "c1");
    const auto& r = std::get<tool_invocation_resulted>(ok->data);
    CHECK(r.invocation_id == "c1/1/s2");
    CHECK(r.attempt == 1);
    CHECK(r.step_id == "s2");
    CHECK(r.tool == "exchangeRate");
    CHECK(r.ok);
    CHECK(r.result_json == R"({"amount":1195.54,"currency":"EUR","rateDate":"2026-11-19"})");
    CHECK(r.error.empty());
    CHECK_FALSE(r.retryable);
    CHECK(r.worker_ms == 3);

    auto err = decode(read_file(fixtures_root / "ToolInvocationResulted" / "valid-error.json"));
    REQUIRE(err.ok());
    const auto& f = std::get<tool_invocation_resulted>(err->data);
    CHECK_FALSE(f.ok);
    CHECK(f.attempt == 2);
    CHECK(f.result_json == "null");
    CHECK(f.error == "rate service timed out");
    CHECK(f.retryable);
    CHECK(f.worker_ms == 5000);
  }
  SECTION("PlanGenerated") {
    auto e = decode(read_file(fixtures_root / "PlanGenerated" / "valid-design-plan.json"));
    REQUIRE(e.ok());
    const auto& p = std::get<plan_generated>(e->data);
    CHECK(p.plan_version == 1);
    CHECK(p.planner_provider == "offline");
    CHECK(p.planner_model == "rules-v1");
    CHECK(p.planning_ms == 12);
    auto fixture = json::parse(read_file(fixtures_root / "PlanGenerated" / "valid-design-plan.json"));
    REQUIRE(fixture.ok());
    CHECK(p.plan_json == json::dump(*json::find_path(fixture.value(), "data.plan"))); // compact
    CHECK(starts_with(p.plan_json, R"({"steps":[{"id":"s1","tool":"getProductInformation",)"));
  }
  SECTION("SynthesizeFinalAnswerRequested after planning failed") {
    auto e = decode(
        read_file(fixtures_root / "SynthesizeFinalAnswerRequested" / "valid-planning-failed.json"));
    REQUIRE(e.ok());
    const auto& s = std::get<synthesize_final_answer_requested>(e->data);
    CHECK(s.query == "Book me a flight");
    CHECK(s.plan_version == 0);
    CHECK(s.plan_json == "null");
    CHECK(s.results_json == "{}");
    CHECK(s.failure == "no planner produced a valid plan");
    CHECK(s.failed_step.empty());
  }
  SECTION("UserQueryReceived, PlanFailed, FinalAnswerSynthesized, PlanningFailed") {
    auto q = decode(read_file(fixtures_root / "UserQueryReceived" / "valid-basic.json"));
    REQUIRE(q.ok());
    const auto& u = std::get<user_query_received>(q->data);
    CHECK(u.conversation_id == "c1");
    CHECK(u.user_id == "u1");
    CHECK(u.query == "What does the Aurora X1 cost in EUR?");
    CHECK(u.received_at == 1795168800123);

    auto pf = decode(read_file(fixtures_root / "PlanFailed" / "valid-step-failed.json"));
    REQUIRE(pf.ok());
    const auto& f = std::get<plan_failed>(pf->data);
    CHECK(f.plan_version == 1);
    CHECK(f.failed_step == "s2");
    CHECK(f.partial_results_json == R"({"s1":{"price":1299.5}})");
    CHECK(f.compensation_done);

    auto fa = decode(read_file(fixtures_root / "FinalAnswerSynthesized" / "valid-basic.json"));
    REQUIRE(fa.ok());
    const auto& a = std::get<final_answer_synthesized>(fa->data);
    CHECK(a.provider == "offline");
    CHECK(a.model == "template");
    CHECK(a.citations == std::vector<std::string>{"products/aurora-x1.md#price"});
    CHECK_FALSE(a.failed);

    auto pl = decode(read_file(fixtures_root / "PlanningFailed" / "valid-basic.json"));
    REQUIRE(pl.ok());
    CHECK(std::get<planning_failed>(pl->data).provider_errors
          == std::vector<std::string>{"openai: HTTP 503", "offline: no rule matched"});
  }
  SECTION("an offset time is normalised to UTC") {
    auto e = decode(read_file(fixtures_root / "envelope" / "valid-offset-time.json"));
    REQUIRE(e.ok());
    CHECK(e->time_ms == 1795168800500);
    auto text = encode(e.value());
    REQUIRE(text.ok());
    CHECK(text->find(R"("time":"2026-11-20T10:00:00.500Z")") != std::string::npos);
  }
}

TEST_CASE("encode rejects events that break the schemas", "[codec]") {
  SECTION("a plan step without a tool") {
    plan_generated p{1, R"({"steps":[{"id":"s1","args":{}}]})", "offline", "", 1};
    auto r = encode(make_event(p));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error()
          == "encode PlanGenerated: schema violation at /data/plan/steps/0: missing required "
             "property 'tool'");
  }
  SECTION("JSON text fields must hold JSON") {
    tool_invocation_requested t{"c42/1/s1", 1, "s1", "math", "{expression: 1}", 0};
    auto r = encode(make_event(t));
    REQUIRE_FALSE(r.ok());
    CHECK(starts_with(r.error(),
                      "encode ToolInvocationRequested: args_json is not valid JSON (invalid JSON "
                      "at byte 1: "));
  }
  SECTION("an empty envelope id") {
    event e = make_event(plan_step_completed{"s1", "ok", 1});
    e.id.clear();
    auto r = encode(e);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error()
          == "encode PlanStepCompleted: schema violation at /id: string length 0 is below "
             "minLength 1");
  }
  SECTION("a failed tool result must carry null as its result") {
    tool_invocation_resulted t{"c42/1/s1", 1, "s1", "math", false, "{}", "division by zero",
                               false, 1};
    auto r = encode(make_event(t));
    REQUIRE_FALSE(r.ok());
    CHECK(starts_with(r.error(),
                      "encode ToolInvocationResulted: schema violation at /data: matches not "
                      "exactly one of the alternatives"));
  }
  SECTION("a step status outside ok/error") {
    auto r = encode(make_event(plan_step_completed{"s1", "done", 1}));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error()
          == "encode PlanStepCompleted: schema violation at /data/status: value \"done\" is not "
             "one of [\"ok\",\"error\"] (enum)");
  }
  SECTION("the subject must be the conversation id") {
    event e = make_event(user_query_received{"c1", "u1", "hi", 5});
    e.subject = "c2";
    auto r = encode(e);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error() == "encode UserQueryReceived: subject 'c2' differs from data.conversationId 'c1'");
  }
  SECTION("an encoded record over 1 MiB") {
    final_answer_synthesized a{std::string(2 << 20, 'a'), "offline", "", {}, false};
    auto r = encode(make_event(a));
    REQUIRE_FALSE(r.ok());
    CHECK(starts_with(r.error(), "encode FinalAnswerSynthesized: record too large ("));
  }
}

TEST_CASE("decode rejects malformed records with a DLQ-ready reason", "[codec]") {
  auto good = encode(make_event(plan_step_completed{"s1", "ok", 1}));
  REQUIRE(good.ok());

  SECTION("empty input") {
    auto r = decode("");
    REQUIRE_FALSE(r.ok());
    CHECK(starts_with(r.error(), "invalid JSON at byte 0: "));
  }
  SECTION("garbage bytes") {
    const std::string garbage("\xff\xfe\x00\x01garbage", 11);
    auto r = decode(garbage);
    REQUIRE_FALSE(r.ok());
    CHECK(starts_with(r.error(), "invalid JSON at byte 0: "));
  }
  SECTION("truncated JSON") {
    const std::string half = good->substr(0, good->size() / 2);
    auto r = decode(half);
    REQUIRE_FALSE(r.ok());
    CHECK(starts_with(r.error(), "invalid JSON at byte "));
  }
  SECTION("trailing garbage after the object") {
    auto r = decode(good.value() + " x");
    REQUIRE_FALSE(r.ok());
    CHECK(starts_with(r.error(), "invalid JSON at byte " + std::to_string(good->size() + 1)));
  }
  SECTION("not an object") {
    auto r = decode("\"PlanStepCompleted\"");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error() == "not a JSON object");
  }
  SECTION("a 2 MiB value") {
    std::string big = R"({"specversion":"1.0","data":{"answer":")" + std::string(2 << 20, 'x')
                      + "\"}}";
    auto r = decode(big);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error() == "record too large (" + std::to_string(big.size()) + " bytes)");
  }
  SECTION("exactly 1 MiB is still accepted, one byte more is not") {
    std::string padded = good.value() + std::string((1 << 20) - good->size(), ' ');
    REQUIRE(padded.size() == 1u << 20);
    CHECK(decode(padded).ok());
    auto r = decode(padded + " ");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error() == "record too large (1048577 bytes)");
  }
  SECTION("unknown type") {
    const std::string type = R"("type":"PlanStepCompleted")";
    const std::string dataschema = R"("dataschema":"schemas/PlanStepCompleted.schema.json",)";
    std::string text = good.value();
    text.replace(text.find(type), type.size(), R"("type":"PlanExploded")");
    text.erase(text.find(dataschema), dataschema.size());
    auto r = decode(text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error() == "unknown event type 'PlanExploded'");
  }
}

// ---- peeking at the addressed tool -----------------------------------------------------------

TEST_CASE("peek_requested_tool names the tool of a request without validating it", "[codec]") {
  const std::string valid =
      read_file(fixtures_root / "ToolInvocationRequested" / "valid-basic.json");
  auto decoded = decode(valid);
  REQUIRE(decoded.ok());
  CHECK(peek_requested_tool(valid) == std::get<tool_invocation_requested>(decoded->data).tool);
  // Whitespace and member order do not matter; validity beyond type and tool does not either.
  CHECK(peek_requested_tool(R"( { "data" : { "tool" : "weather" , "args": 3 },
                                  "type" : "ToolInvocationRequested" } )") == "weather");
  // Anything else is left to the full decode (and so to the dead-letter queue).
  CHECK_FALSE(peek_requested_tool(R"({"type":"ToolInvocationRequested","data":{"tool":null}})"));
  CHECK_FALSE(peek_requested_tool(R"({"type":"ToolInvocationRequested","data":{}})"));
  // The type is compared whole: a NUL does not cut it to "ToolInvocationRequested".
  CHECK_FALSE(peek_requested_tool(R"({"type":"ToolInvocationRequested\u0000x","data":{"tool":"math"}})"));
  CHECK_FALSE(peek_requested_tool(R"({"type":"ToolInvocationRequested","data":"math"})"));
  CHECK_FALSE(peek_requested_tool(R"({"type":"PlanGenerated","data":{"tool":"math"}})"));
  CHECK_FALSE(peek_requested_tool(R"({"type":"ToolInvocationRequested","data":{"tool":"ma)"));
  CHECK_FALSE(peek_requested_tool("[1, 2, 3]"));
  CHECK_FALSE(peek_requested_tool(""));
}

TEST_CASE("a record nested 200,000 levels deep is refused with the depth bound", "[codec]") {
  const size_t deep = 200000;
  std::string data_deep = R"({"specversion":"1.0","id":"d","type":"UserQueryReceived",)"
                          R"("source":"s","time":"2026-11-20T10:00:00.123Z","subject":"c",)"
                          R"("datacontenttype":"application/json","data":{"x":)"
                          + std::string(deep, '[') + std::string(deep, ']') + "}}";
  for (const auto& bytes : {std::string(deep, '{'), data_deep}) {
    auto ev = events::decode(bytes);
    REQUIRE_FALSE(ev);
    CHECK(ev.error().find("JSON nested deeper than 64 levels") == 0);
    CHECK_FALSE(events::peek_requested_tool(bytes));
  }
}

TEST_CASE("a record with a NUL in its text or with invalid UTF-8 is refused", "[codec]") {
  std::string head = R"({"specversion":"1.0","id":"c/query","type":"UserQueryReceived","source":"s",)"
                     R"("time":"2026-11-20T10:00:00.123Z","subject":"c",)"
                     R"("datacontenttype":"application/json","data":{"conversationId":"c",)"
                     R"("userId":"u","receivedAt":1,"query":)";
  auto nul = events::decode(head + R"("What is 2+3\u0000*1000?"}})");
  REQUIRE_FALSE(nul);
  CHECK(nul.error() == "text with a NUL character at /data/query");
  auto utf8 = events::decode(head + "\"caf\xc3\x28\"}}");
  REQUIRE_FALSE(utf8);
  CHECK(utf8.error().find("Invalid encoding") != std::string::npos);
  CHECK(events::decode(head + "\"caf\xc3\xa9?\"}}")); // valid UTF-8 passes
}

// Found with the envelope fuzz target (tests/fuzz/regressions/envelope/): schema patterns are
// matched with std::regex, which recurses once per character, so a 30,000-character stepId
// overflowed an 8 MiB stack and killed every node that read the record. Each pattern-checked
// string now has a maxLength, which RapidJSON checks before the pattern.
TEST_CASE("a pattern-checked string of 200000 characters is refused by its length", "[codec]") {
  const std::string huge(200000, '1');
  auto with = [](std::string text, const std::string& from, const std::string& to) {
    auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    return text.replace(at, from.size(), to);
  };
  auto step = encode(make_event(plan_step_completed{"s1", "ok", 1}));
  REQUIRE(step.ok());
  auto r = decode(with(step.value(), R"("stepId":"s1")", R"("stepId":")" + huge + "\""));
  REQUIRE_FALSE(r);
  CHECK(r.error() == "schema violation at /data/stepId: string length 200000 is above maxLength 64");
  r = decode(with(step.value(), R"(.123Z")", "." + huge + "Z\""));
  REQUIRE_FALSE(r);
  CHECK(r.error() == "schema violation at /time: string length 200021 is above maxLength 64");
  r = decode(with(step.value(), "schemas/PlanStepCompleted", "schemas/" + huge));
  REQUIRE_FALSE(r);
  CHECK(r.error() == "schema violation at /dataschema: string length 200020 is above maxLength 128");

  tool_invocation_requested request{"c42/1/s1", 1, "s1", "math", R"({"expression":"1"})", 5};
  auto req = encode(make_event(request));
  REQUIRE(req.ok());
  r = decode(with(req.value(), R"("stepId":"s1")", R"("stepId":")" + huge + "\""));
  REQUIRE_FALSE(r);
  CHECK(r.error() == "schema violation at /data/stepId: string length 200000 is above maxLength 64");

  auto plan = json::parse(R"({"steps":[{"id":"s1","tool":"math","args":{"expression":"1"},)"
                          R"("dependsOn":[")" + huge + R"("]}]})");
  REQUIRE(plan.ok());
  auto v = validate("plan", plan.value());
  REQUIRE_FALSE(v);
  CHECK(v.error() == "schema violation at /steps/0/dependsOn/0: string length 200000 is above maxLength 64");
}

// Found with the envelope fuzz target: each record decoded, but the event it gave could not be
// encoded and decoded again (invalid UTF-8, a result cut to "" by json::dump). Now each is a
// dead letter at the first reader, with the byte where it goes wrong.
TEST_CASE("a record with a lone surrogate escape or an infinite number is refused", "[codec]") {
  std::string head = R"({"specversion":"1.0","id":"n","type":"UserQueryReceived","source":"s",)"
                     R"("time":"2026-11-20T10:00:00.123Z","subject":"c",)"
                     R"("datacontenttype":"application/json","data":{"conversationId":"c",)"
                     R"("userId":"u","receivedAt":1,"query":)";
  auto surrogate = decode(head + R"("why \ude00?"}})");
  REQUIRE_FALSE(surrogate);
  // The offset is where the reader stopped: just past the string that holds the escape.
  CHECK(surrogate.error() == "invalid JSON at byte " + std::to_string(head.size() + 13)
                                 + ": The surrogate pair in string is invalid.");

  tool_invocation_resulted result{"c42/1/s1", 1, "s1", "math", true, "42", "", false, 3};
  auto good = encode(make_event(result));
  REQUIRE(good.ok());
  std::string text = good.value();
  text.replace(text.find(R"("result":42)"), 11, R"("result":9e308)");
  auto infinite = decode(text);
  REQUIRE_FALSE(infinite);
  CHECK(infinite.error().find("Number too big to be stored in double.") != std::string::npos);
}

// ---- ownership -------------------------------------------------------------------------------

TEST_CASE("decode and encode refuse references to another conversation", "[codec][ownership]") {
  // The hijack: written under c42, naming c7's invocation. A worker would run c7's step and
  // record c42's result in c7's ledger entry.
  event req = make_event(tool_invocation_requested{"c7/1/s1", 1, "s1", "math",
                                                   R"({"expression":"1+1"})", 1795168830123});
  const std::string reason =
    "data.invocationId 'c7/1/s1' does not belong to conversation 'c42' (expected "
    "'c42/<planVersion>/s1')";
  CHECK(check_ownership(req).error() == reason);
  CHECK(encode(req).error() == "encode ToolInvocationRequested: " + reason);
  // The same bytes with the check bypassed (the envelope as another producer writes it).
  req.data = tool_invocation_requested{"c42/1/s1", 1, "s1", "math", R"({"expression":"1+1"})",
                                       1795168830123};
  auto good = encode(req);
  REQUIRE(good);
  std::string forged = *good;
  forged.replace(forged.find("\"c42/1/s1\""), 10, "\"c7/1/s1\"");
  auto r = decode(forged);
  REQUIRE_FALSE(r);
  CHECK(r.error() == reason);

  event res = make_event(tool_invocation_resulted{"c7/1/s1", 1, "s1", "math", true, "{}", "",
                                                  false, 0});
  CHECK(check_ownership(res).error()
        == "data.invocationId 'c7/1/s1' does not belong to conversation 'c42' (expected "
           "'c42/<planVersion>/s1')");

  event foreign_id = make_event(plan_step_completed{"s1", "ok", 1});
  foreign_id.id = "c7/step/s1/completed";
  CHECK(check_ownership(foreign_id).error()
        == "id 'c7/step/s1/completed' does not belong to conversation 'c42' (expected 'c42/...')");
  event foreign_cause = make_event(plan_step_completed{"s1", "ok", 1});
  foreign_cause.causation_id = "c7/1/s1/result/1";
  CHECK(check_ownership(foreign_cause).error()
        == "causationid 'c7/1/s1/result/1' does not belong to conversation 'c42' (expected "
           "'c42/...')");
  event no_cause = make_event(plan_step_completed{"s1", "ok", 1});
  no_cause.causation_id.clear();
  CHECK(check_ownership(no_cause));
  // A '/' in a conversation id would make "a/b/query" belong to both "a" and "a/b".
  event slash = make_event(plan_step_completed{"s1", "ok", 1});
  slash.subject = "c42/x";
  slash.id = "c42/x/step/s1/completed";
  CHECK(check_ownership(slash).error() == "subject 'c42/x' is not a conversation id (it contains '/')");
  // A megabyte-long id is named in the reason by its first 128 bytes.
  event long_id = make_event(plan_step_completed{"s1", "ok", 1});
  long_id.id = std::string(1 << 20, 'z');
  CHECK(check_ownership(long_id).error()
        == "id '" + std::string(128, 'z') + "...' does not belong to conversation 'c42' (expected 'c42/...')");
}

TEST_CASE("turn: written only when not 1, absent reads as 1, invocation ids per turn", "[codec][turns]") {
  // Turn 1 is spelled as before turns existed: old logs and new turn-1 records are the same.
  event first = make_event(user_query_received{"c42", "u1", "hello", 1795168800123});
  auto bytes1 = encode(first);
  REQUIRE(bytes1);
  CHECK(bytes1->find("\"turn\"") == std::string::npos);
  auto back1 = decode(*bytes1);
  REQUIRE(back1);
  CHECK(turn_of(back1->data) == 1);

  user_query_received q{"c42", "u1", "and in GBP?", 1795168800123};
  q.turn = 3;
  auto bytes3 = encode(make_event(q));
  REQUIRE(bytes3);
  CHECK(bytes3->find("\"turn\":3") != std::string::npos);
  auto back3 = decode(*bytes3);
  REQUIRE(back3);
  CHECK(turn_of(back3->data) == 3);
  CHECK(*encode(*back3) == *bytes3);

  // A request of turn 2 must carry turn 2's invocation id: turn 1's would be another step.
  tool_invocation_requested req{"c42/t2/1/s1", 1, "s1", "math", R"({"expression":"1+1"})",
                                1795168830123};
  req.turn = 2;
  CHECK(encode(make_event(req)));
  req.invocation_id = "c42/1/s1";
  CHECK(check_ownership(make_event(req)).error()
        == "data.invocationId 'c42/1/s1' does not belong to conversation 'c42' (expected "
           "'c42/t2/<planVersion>/s1')");

  // The schema bounds the turn.
  std::string zero = *bytes3;
  zero.replace(zero.find("\"turn\":3"), 8, "\"turn\":0");
  CHECK_FALSE(decode(zero));
}

TEST_CASE("PlanGenerated carries a follow-up's resolved question only when there is one", "[codec][turns]") {
  plan_generated g{1, R"({"steps":[{"id":"s1","tool":"math","args":{"expression":"1+1"}}]})", "offline", "rule-based", 3};
  auto plain = encode(make_event(g));
  REQUIRE(plain);
  CHECK(plain->find("resolvedQuery") == std::string::npos);
  g.resolved_query = "What does the Aurora X1 cost in GBP?";
  g.turn = 2;
  auto bytes = encode(make_event(g));
  REQUIRE(bytes);
  CHECK(bytes->find(R"("resolvedQuery":"What does the Aurora X1 cost in GBP?")") != std::string::npos);
  auto back = decode(*bytes);
  REQUIRE(back);
  CHECK(std::get<plan_generated>(back->data).resolved_query == g.resolved_query);
  std::string empty = *bytes;
  empty.replace(empty.find(g.resolved_query), g.resolved_query.size(), "");
  CHECK_FALSE(decode(empty)); // minLength 1: absent means "as asked"
}

TEST_CASE("encode refuses a record its readers would refuse for its depth", "[codec]") {
  // A tool result may be within the bound on its own and not inside its record (data.result
  // is two levels down): the worker reports such a result as an invalid result instead.
  auto result = [](int levels) {
    return make_event(tool_invocation_resulted{"c42/1/s1", 1, "s1", "math", true,
                                               std::string(levels, '[') + std::string(levels, ']'),
                                               "", false, 0});
  };
  REQUIRE(json::parse(std::string(63, '[') + std::string(63, ']')));
  auto r = encode(result(63));
  REQUIRE_FALSE(r);
  CHECK(starts_with(r.error(), "encode ToolInvocationResulted: record nested deeper than 64 "
                               "levels (at byte "));
  auto ok = encode(result(62)); // the record's object and data, then 62: 64 levels
  REQUIRE(ok);
  CHECK(decode(*ok));
}

TEST_CASE("CloudEvents attributes as Kafka headers, binary-mode names", "[codec]") {
  events::event e;
  e.id = "c1/plan/1";
  e.source = "eventide/router/node-1";
  e.time_ms = 1796169600123; // 2026-12-02T00:00:00.123Z
  e.subject = "c1";
  e.causation_id = "c1/query";
  e.data = events::plan_generated{
    1, R"({"steps":[{"id":"s1","tool":"math","args":{"expression":"1+1"}}]})", "offline",
    "rule-based", 0};
  using h = std::vector<std::pair<std::string, std::string>>;
  CHECK(events::cloudevents_headers(e)
        == h{{"ce_specversion", "1.0"},
             {"ce_id", "c1/plan/1"},
             {"ce_source", "eventide/router/node-1"},
             {"ce_type", "PlanGenerated"},
             {"ce_time", "2026-12-02T00:00:00.123Z"},
             {"ce_subject", "c1"},
             {"ce_dataschema", "schemas/PlanGenerated.schema.json"},
             {"ce_causationid", "c1/query"},
             {"content-type", "application/cloudevents+json; charset=UTF-8"}});
  // The body keeps the same attributes (structured mode): a header never disagrees with it.
  auto body = events::encode(e);
  INFO((body ? "" : body.error()));
  REQUIRE(body);
  auto doc = json::parse(*body);
  REQUIRE(doc);
  for (auto& [name, value] : events::cloudevents_headers(e))
    if (name.rfind("ce_", 0) == 0)
      CHECK(json::get_string(*doc, name.substr(3).c_str()).value_or("<absent>") == value);
}

// ---- decode_handled: a replay's reader, without the schema validations ----------------------

namespace {

// The members a reader keeps as JSON text: any JSON value reads, so a mutated one reads too.
bool kept_as_json(const std::string& name) {
  static const std::set<std::string> names = {"plan",   "results",      "args",
                                              "result", "partialResults", "observations",
                                              "compensations"};
  return names.count(name) > 0;
}

// The record with the member `name` of the object at `path` ("" the envelope, "data", ...)
// replaced by `replacement` (or removed when it is empty).
std::string mutated(const std::string& record, const std::string& path, const std::string& name,
                    const std::string& replacement) {
  auto doc = json::parse(record);
  REQUIRE(doc);
  json::value* obj = &doc.value();
  if (!path.empty())
    for (std::string part : {path.substr(0, path.find('/')),
                             path.find('/') == std::string::npos ? "" : path.substr(path.find('/') + 1)})
      if (!part.empty())
        obj = &(*obj)[part.c_str()];
  auto& a = doc->GetAllocator();
  obj->RemoveMember(name.c_str());
  if (!replacement.empty()) {
    auto value = json::parse(replacement);
    REQUIRE(value);
    obj->AddMember(json::str(name, a), json::value(*value, a), a);
  }
  return json::dump(*doc);
}

// make_event(p), under its own conversation for a question.
event sample_event(const payload& p) {
  event e = make_event(p);
  if (std::holds_alternative<user_query_received>(p))
    e.subject = std::get<user_query_received>(p).conversation_id;
  return e;
}

// decode_handled against decode on `bytes`, which is `original` with one member changed
// (`member`, or "" when it is not a mutation): whenever decode reads it, decode_handled gives
// the same event; whenever decode_handled fails, it gives decode's reason; when only
// decode_handled reads it, the change is one its readers never look at, a value of the same
// type (`same_type`: a value outside an enum is a schema rule, not a shape), or one of a member
// kept as JSON text.
void check_handled(const std::string& bytes, const std::string& original,
                   const std::string& member, bool same_type = false) {
  auto strict = decode(bytes);
  auto handled = decode_handled(bytes);
  if (strict) {
    REQUIRE(handled);
    CHECK(encode(*handled).value() == encode(*strict).value());
    return;
  }
  if (!handled) {
    CHECK(handled.error() == strict.error());
    return;
  }
  if (member.empty() || kept_as_json(member) || same_type)
    return;
  auto before = decode(original);
  REQUIRE(before);
  auto read = encode(*handled);
  INFO("decode refused it: " << strict.error());
  REQUIRE(read);
  CHECK(*read == encode(*before).value());
}

} // namespace

TEST_CASE("decode_handled reads every type like decode", "[codec][handled]") {
  for (const auto& p : samples()) {
    auto bytes = encode(sample_event(p));
    REQUIRE(bytes);
    INFO(type_name(p));
    check_handled(*bytes, *bytes, "");
    auto handled = decode_handled(*bytes);
    REQUIRE(handled);
    CHECK(encode(*handled).value() == *bytes);
  }
}

TEST_CASE("decode_handled: every member removed or of another type fails like decode, or is one "
          "its reader does not read", "[codec][handled]") {
  const std::vector<std::string> others = {"null", "7", "-1.5", "4294967296", "\"x\"", "true",
                                           "[]", "[1]", "{}", "{\"a\":1}"};
  size_t tried = 0, refused_both = 0, read_unvalidated = 0;
  for (const auto& p : samples()) {
    auto bytes = encode(sample_event(p));
    REQUIRE(bytes);
    auto doc = json::parse(*bytes);
    REQUIRE(doc);
    // The envelope's members, data's, and those of data's objects one level down.
    std::vector<std::pair<std::string, std::string>> members;
    for (auto& m : doc->GetObject())
      members.emplace_back("", m.name.GetString());
    for (auto& m : (*doc)["data"].GetObject()) {
      members.emplace_back("data", m.name.GetString());
      if (m.value.IsObject() && !kept_as_json(m.name.GetString()))
        for (auto& inner : m.value.GetObject())
          members.emplace_back("data/" + std::string(m.name.GetString()), inner.name.GetString());
    }
    for (auto& [path, name] : members)
      for (auto replacement : others) {
        for (const std::string& with : {replacement, std::string()}) {
          INFO(type_name(p) << " " << path << "/" << name << " = " << (with.empty() ? "(removed)" : with));
          auto changed = mutated(*bytes, path, name, with);
          const json::value* obj = &doc.value();
          if (!path.empty())
            obj = &(*obj)["data"];
          if (path.size() > 5)
            obj = &(*obj)[path.substr(5).c_str()];
          const json::value& was = (*obj)[name.c_str()];
          auto now = json::parse(with.empty() ? "null" : with);
          bool same_type = !with.empty() && now->GetType() == was.GetType()
                           && (!was.IsNumber()
                               || (now->IsInt() == was.IsInt() && now->IsInt64() == was.IsInt64()));
          check_handled(changed, *bytes, path.empty() || path == "data" ? name : path.substr(5),
                        same_type);
          ++tried;
          bool strict = decode(changed).ok(), handled = decode_handled(changed).ok();
          refused_both += !strict && !handled;
          read_unvalidated += !strict && handled;
        }
      }
  }
  // Most changes are refused by both; the rest are members kept as JSON text or never read.
  CHECK(tried > 2000);
  CHECK(refused_both > tried / 2);
  CHECK(read_unvalidated > 0);
}

TEST_CASE("decode_handled: every fixture, valid or not, reads like decode or fails with its "
          "reason", "[codec][handled]") {
  size_t n = 0;
  for (const auto& dir : fs::directory_iterator(fixtures_root))
    for (const auto& prefix : {"valid-", "invalid-"})
      for (const auto& file : fixtures(dir.path(), prefix)) {
        INFO(file.string());
        auto bytes = read_file(file);
        check_handled(bytes, bytes, "");
        ++n;
      }
  CHECK(n > 200);
}

TEST_CASE("decode_handled reads a record that breaks only a schema rule, which decode refuses",
          "[codec][handled]") {
  event e = make_event(plan_step_completed{"s1", "ok", 1});
  auto bytes = encode(e);
  REQUIRE(bytes);
  auto extra = mutated(*bytes, "data", "note", "\"not in the schema\"");
  auto strict = decode(extra);
  REQUIRE_FALSE(strict);
  CHECK(strict.error() == "schema violation at /data: unknown property 'note' (additionalProperties)");
  auto handled = decode_handled(extra);
  REQUIRE(handled);
  CHECK(std::get<plan_step_completed>(handled->data).step_id == "s1");
}
