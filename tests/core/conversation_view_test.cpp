// The console's folds (core/conversation_view): list summaries, paging, one conversation's view
// and the JSON of docs/http-api.md.
#include <catch2/catch.hpp>

#include "core/conversation_view.hpp"
#include "core/json.hpp"

using namespace eventide;
using namespace eventide::core;

namespace {

events::event make(const std::string& conv, const std::string& id, int64_t t, events::payload p,
                   const std::string& cause = "") {
  events::event e;
  e.subject = conv;
  e.id = conv + "/" + id;
  e.time_ms = t;
  e.causation_id = cause.empty() ? "" : conv + "/" + cause;
  e.data = std::move(p);
  return e;
}

events::user_query_received question(const std::string& conv, const std::string& q, int turn = 1) {
  events::user_query_received u{conv, "u", q, 0};
  u.turn = turn;
  return u;
}

const char* const two_steps = R"({"steps":[
  {"id":"s1","tool":"getProductInformation","args":{"query":"Aurora X1"}},
  {"id":"s2","tool":"exchangeRate","args":{"from":"USD","to":"EUR","amount":"{{steps.s1.result.price}}"}}]})";

events::plan_generated plan(const char* json, int turn = 1) {
  events::plan_generated g;
  g.plan_json = json;
  g.planner_provider = "offline";
  g.planner_model = "rule-based";
  g.turn = turn;
  return g;
}

events::final_answer_synthesized answer(const std::string& text, bool failed = false, int turn = 1) {
  events::final_answer_synthesized a;
  a.answer = text;
  a.failed = failed;
  a.turn = turn;
  return a;
}

events::tool_invocation_requested request(const std::string& step, const std::string& tool,
                                          int attempt = 1) {
  events::tool_invocation_requested r;
  r.step_id = step;
  r.tool = tool;
  r.attempt = attempt;
  r.args_json = "{}";
  return r;
}

events::tool_invocation_resulted result(const std::string& step, const std::string& tool, bool ok,
                                        int attempt = 1) {
  events::tool_invocation_resulted r;
  r.step_id = step;
  r.tool = tool;
  r.ok = ok;
  r.attempt = attempt;
  r.result_json = ok ? "{\"price\":1299}" : "null";
  r.error = ok ? "" : "timed out";
  r.retryable = !ok;
  return r;
}

} // namespace

TEST_CASE("conversation summary: the latest turn's state, question, latency and plan size",
          "[console]") {
  conversation_summary s;
  s.id = "c1";
  CHECK(s.state() == conversation_status::running);
  s.apply(make("c1", "q1", 1000, question("c1", "What does the Aurora X1 cost in EUR?")));
  s.apply(make("c1", "plan1", 1002, plan(two_steps)));
  CHECK(s.state() == conversation_status::running);
  CHECK(s.latest()->plan_steps == 2);

  events::approval_requested ask;
  ask.step_id = "s2";
  ask.tool = "exchangeRate";
  ask.reason = "over the limit";
  ask.expires_at = 9000;
  s.apply(make("c1", "approval", 1003, ask));
  CHECK(s.state() == conversation_status::waiting);
  events::approval_granted yes;
  yes.step_id = "s2";
  s.apply(make("c1", "granted", 1004, yes));
  CHECK(s.state() == conversation_status::running);
  // A late duplicate of the request does not make it wait again.
  s.apply(make("c1", "approval", 1003, ask));
  CHECK(s.state() == conversation_status::running);

  s.apply(make("c1", "answer", 1010, answer("1195.03 EUR")));
  CHECK(s.state() == conversation_status::answered);
  auto j = json::parse(summary_json(s));
  REQUIRE(j);
  CHECK(json::dump(*j)
        == R"({"id":"c1","state":"answered","question":"What does the Aurora X1 cost in EUR?",)"
           R"("turns":1,"startedAt":1000,"updatedAt":1010,"latencyMs":10,"planSteps":2,"events":6})");

  // The next turn is the conversation's state now.
  s.apply(make("c1", "q2", 2000, question("c1", "And in GBP?", 2)));
  CHECK(s.state() == conversation_status::running);
  CHECK(s.latest()->question == "And in GBP?");
  CHECK(json::parse(summary_json(s))->operator[]("latencyMs").IsNull());
  events::turn_cancelled cancelled;
  cancelled.turn = 2;
  s.apply(make("c1", "cancelled", 2001, cancelled));
  CHECK(s.state() == conversation_status::cancelled);

  conversation_summary f;
  f.apply(make("c2", "q", 1, question("c2", "x")));
  f.apply(make("c2", "answer", 5, answer("could not", true)));
  CHECK(f.state() == conversation_status::failed);
}

TEST_CASE("conversation summary: records in any order across topics give the same summary",
          "[console]") {
  std::vector<events::event> in_order = {
    make("c1", "q1", 1000, question("c1", "What is 2+3?")),
    make("c1", "plan1", 1001, plan(two_steps)),
    make("c1", "answer", 1005, answer("5")),
  };
  conversation_summary a, b;
  for (auto& e : in_order)
    a.apply(e);
  for (auto it = in_order.rbegin(); it != in_order.rend(); ++it)
    b.apply(*it);
  CHECK(summary_json(a) == summary_json(b));
  CHECK(a.started_at == 1000);
  // A revision adds its steps once, whatever repeats.
  events::plan_revised r;
  r.plan_version = 2;
  r.plan_json = R"({"steps":[{"id":"s3","tool":"math","args":{"expression":"1+1"}}]})";
  a.apply(make("c1", "rev", 1003, r));
  a.apply(make("c1", "rev", 1003, r));
  CHECK(a.latest()->plan_steps == 3);
  CHECK(a.events == 5); // every record counts
}

TEST_CASE("conversation index: newest first, paged by cursor, filtered by state", "[console]") {
  conversation_index index;
  for (int i = 1; i <= 5; ++i) {
    auto c = "c" + std::to_string(i);
    index.apply(make(c, "q", 100 * i, question(c, "q" + std::to_string(i))));
    if (i % 2)
      index.apply(make(c, "a", 100 * i + 5, answer("a")));
  }
  index.apply(make("c0", "q", 300, question("c0", "same start as c3"))); // a tie, by id
  auto ids = [](const conversation_index::page& p) {
    std::vector<std::string> out;
    for (auto* s : p.items)
      out.push_back(s->id);
    return out;
  };
  auto all = index.list(std::nullopt, 10, "");
  REQUIRE(all);
  CHECK(ids(*all) == std::vector<std::string>{"c5", "c4", "c3", "c0", "c2", "c1"});
  CHECK(all->total == 6);
  CHECK_FALSE(all->next);

  std::vector<std::string> paged;
  std::string cursor;
  int pages = 0;
  do {
    auto p = index.list(std::nullopt, 4, cursor);
    REQUIRE(p);
    for (auto& id : ids(*p))
      paged.push_back(id);
    cursor = p->next.value_or("");
    ++pages;
  } while (!cursor.empty());
  CHECK(pages == 2);
  CHECK(paged == ids(*all));

  auto answered = index.list(conversation_status::answered, 2, "");
  REQUIRE(answered);
  CHECK(ids(*answered) == std::vector<std::string>{"c5", "c3"});
  CHECK(answered->total == 3);
  REQUIRE(answered->next);
  auto rest = index.list(conversation_status::answered, 2, *answered->next);
  CHECK(ids(*rest) == std::vector<std::string>{"c1"});

  // A record older than the conversation's first one moves it down the list.
  index.apply(make("c5", "old", 50, plan(two_steps)));
  CHECK(ids(*index.list(std::nullopt, 1, "")) == std::vector<std::string>{"c4"});

  for (auto bad : {"x", "12", ".c1", "12.", "1a.c1", "99999999999999999999.c1"})
    CHECK_FALSE(index.list(std::nullopt, 5, bad));
  CHECK(index.find("c3") != nullptr);
  CHECK(index.find("nope") == nullptr);
}

TEST_CASE("conversation index: pending approvals are those of turns still running", "[console]") {
  conversation_index index;
  events::approval_requested ask;
  ask.step_id = "s2";
  ask.tool = "placeOrder";
  ask.args_json = R"({"product":"Aurora X1"})";
  ask.reason = "charge over 500 USD";
  ask.expires_at = 5000;
  index.apply(make("c1", "q", 10, question("c1", "buy")));
  index.apply(make("c1", "ask", 20, ask));
  index.apply(make("c2", "q", 11, question("c2", "buy too")));
  index.apply(make("c2", "ask", 15, ask));
  index.apply(make("c2", "answer", 30, answer("denied", true))); // ended: no longer pending
  auto pending = index.pending_approvals();
  REQUIRE(pending.size() == 1);
  CHECK(pending[0].conversation == "c1");
  CHECK(json::dump(*json::parse(approvals_json(pending)))
        == R"({"approvals":[{"conversationId":"c1","turn":1,"step":"s2","tool":"placeOrder",)"
           R"("args":{"product":"Aurora X1"},"reason":"charge over 500 USD","expiresAt":5000}]})");
}

TEST_CASE("conversation view: steps with retries and timings, critical path, trace order",
          "[console]") {
  std::vector<located_event> evs;
  auto add = [&](const std::string& topic, int64_t offset, events::event e) {
    evs.push_back({topic, 0, offset, e, "{\"id\":\"" + e.id + "\"}"});
  };
  // Given out of order, as reading three topics gives them.
  add("conversation-events", 1, make("c1", "r2", 1009, result("s2", "exchangeRate", true), "req2"));
  add("tool-invocation-requests", 0, make("c1", "req1", 1002, request("s1", "getProductInformation"), "plan"));
  add("user-commands", 0, make("c1", "q", 1000, question("c1", "Aurora X1 in EUR?")));
  add("conversation-events", 0, make("c1", "plan", 1001, plan(two_steps), "q"));
  add("conversation-events", 2, make("c1", "r1", 1004, result("s1", "getProductInformation", true), "req1"));
  add("tool-invocation-requests", 1, make("c1", "req2", 1004, request("s2", "exchangeRate"), "r1"));
  add("conversation-events", 3, make("c1", "r2-fail", 1006, result("s2", "exchangeRate", false), "req2"));
  add("tool-invocation-requests", 2, make("c1", "req2b", 1007, request("s2", "exchangeRate", 2), "r2-fail"));
  add("conversation-events", 4, make("c1", "answer", 1012, answer("1195.03 EUR"), "r2"));

  auto v = build_conversation_view("c1", evs);
  // Trace order: by time; within a millisecond the cause first (r1 before req2 at 1004).
  std::vector<std::string> order;
  for (auto& e : v.events)
    order.push_back(e.ev.id.substr(3));
  CHECK(order == std::vector<std::string>{"q", "plan", "req1", "r1", "req2", "r2-fail", "req2b",
                                          "r2", "answer"});
  REQUIRE(v.turns.size() == 1);
  auto& t = v.turns[0];
  CHECK(t.question == "Aurora X1 in EUR?");
  CHECK(t.answer == "1195.03 EUR");
  REQUIRE(t.steps.size() == 2);
  CHECK(t.steps[0].status == "done");
  CHECK(*t.steps[0].requested_at == 1002);
  CHECK(*t.steps[0].resulted_at == 1004);
  // s2: first requested at 1004, its second attempt answered at 1009.
  CHECK(t.steps[1].status == "done");
  CHECK(t.steps[1].attempts == 2);
  CHECK(*t.steps[1].requested_at == 1004);
  CHECK(*t.steps[1].resulted_at == 1009);
  CHECK(t.steps[1].error.empty());
  CHECK(t.steps[1].depends_on == std::vector<std::string>{"s1"});
  CHECK(t.critical_path == std::vector<std::string>{"s1", "s2"});

  auto j = json::parse(conversation_json(v));
  REQUIRE(j);
  CHECK(json::get_string(*j, "state") == "answered");
  auto& s2 = (*j)["turns"][0]["steps"][1];
  CHECK(json::dump(s2)
        == R"({"id":"s2","tool":"exchangeRate","dependsOn":["s1"],"requestedAt":1004,)"
           R"("resultedAt":1009,"durationMs":5,"status":"done","attempts":2,"error":""})");
  CHECK((*j)["turns"][0]["latencyMs"].GetInt64() == 12);
  auto raw = json::parse(events_json(v));
  REQUIRE(raw);
  CHECK((*raw)["events"].Size() == 9);
  CHECK(json::dump((*raw)["events"][0])
        == R"({"position":"user-commands/0@0","topic":"user-commands","partition":0,"offset":0,)"
           R"("type":"UserQueryReceived","id":"c1/q","causationId":"","time":1000,)"
           R"("event":{"id":"c1/q"}})");
}

TEST_CASE("conversation view: a step still running, one never requested, one that failed",
          "[console]") {
  const char* three = R"({"steps":[{"id":"a","tool":"weather","args":{"city":"Paris"}},
    {"id":"b","tool":"weather","args":{"city":"Rome"}},
    {"id":"c","tool":"math","args":{"expression":"1+1"},"dependsOn":["a","b"]}]})";
  std::vector<located_event> evs;
  auto add = [&](events::event e) { evs.push_back({"conversation-events", 0, 0, e, "{}"}); };
  add(make("c9", "q", 0, question("c9", "<b>weather</b> \"quoted\"\nnext line")));
  add(make("c9", "plan", 1, plan(three)));
  add(make("c9", "ra", 2, request("a", "weather")));
  add(make("c9", "rb", 2, request("b", "weather")));
  add(make("c9", "xb", 3, result("b", "weather", false)));
  events::plan_step_completed failed;
  failed.step_id = "b";
  failed.status = "error";
  add(make("c9", "cb", 4, failed));
  auto v = build_conversation_view("c9", evs);
  auto& t = v.turns.at(0);
  CHECK(t.steps[0].status == "running");
  CHECK(t.steps[1].status == "failed");
  CHECK(t.steps[1].error == "timed out");
  CHECK(t.steps[2].status == "planned");
  CHECK_FALSE(t.steps[2].requested_at);
  CHECK(v.summary.state() == conversation_status::running);
  // Text from the log is JSON-escaped, whatever it holds.
  auto j = json::parse(conversation_json(v));
  REQUIRE(j);
  CHECK(json::get_string((*j)["turns"][0], "question") == "<b>weather</b> \"quoted\"\nnext line");
  CHECK((*j)["turns"][0]["answer"].IsNull());
  CHECK((*j)["turns"][0]["steps"][2]["requestedAt"].IsNull());
}
