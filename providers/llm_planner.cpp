#include "providers/llm_planner.hpp"

#include <chrono>

#include "core/json.hpp"
#include "core/plan.hpp"
#include "core/text.hpp"
#include "providers/http.hpp"
#include "schemas/validation.hpp"

namespace eventide::providers {

namespace {

// Adds a round's token count to a total where -1 means "nothing reported yet".
void add_tokens(int& total, int round) {
  if (round >= 0)
    total = (total < 0 ? 0 : total) + round;
}

// Copies only the members a plan may have; the schema rejects anything else ("reasoning",
// "explanation", ...), which models like to add.
json::document plan_fields(const json::value& object) {
  json::document out(rapidjson::kObjectType);
  auto& a = out.GetAllocator();
  if (auto steps = object.FindMember("steps"); steps != object.MemberEnd()) {
    if (steps->value.IsArray()) {
      json::value list(rapidjson::kArrayType);
      for (const auto& step : steps->value.GetArray()) {
        if (!step.IsObject()) {
          list.PushBack(json::value(step, a), a); // left for the validator to report
          continue;
        }
        json::value kept(rapidjson::kObjectType);
        for (const char* field : {"id", "tool", "args", "dependsOn", "onError"})
          if (auto m = step.FindMember(field); m != step.MemberEnd())
            kept.AddMember(json::value(field, a), json::value(m->value, a), a);
        list.PushBack(kept, a);
      }
      out.AddMember("steps", list, a);
    } else {
      out.AddMember("steps", json::value(steps->value, a), a);
    }
  }
  for (const char* field : {"finalAnswerRequired", "next"})
    if (auto f = object.FindMember(field); f != object.MemberEnd())
      out.AddMember(json::value(field, a), json::value(f->value, a), a);
  return out;
}

struct llm_attempt {
  llm_reply reply;
  std::string plan_json;
  int prompt_tokens = -1, completion_tokens = -1;
  int repair_rounds = 0;
};

// One LLM provider: a plan round and, when its plan is invalid, one repair round.
outcome<llm_attempt> plan_with_llm(llm_client& client, const std::string& query,
                                   const planner_context& ctx, const planning_options& options) {
  auto templ = load_prompt("router.md", options.prompts_dir);
  if (!templ)
    return fail(describe(client) + ": " + templ.error());
  std::string names = core::join(ctx.product_names, ", ");
  chat_request request;
  request.json_output = true;
  request.messages = {
      {"system", render_prompt(*templ, {{"query", query},
                                        {"product_names", names},
                                        {"conversation", options.conversation.empty()
                                                           ? memory_for_prompt({}, 0)
                                                           : options.conversation}})},
      {"user", query}};

  llm_attempt attempt;
  for (int round = 0; round < 2; ++round) {
    auto reply = client.chat(request, options.deadline_ms);
    if (!reply)
      return fail(reply.error()); // names provider and model already
    add_tokens(attempt.prompt_tokens, reply->prompt_tokens);
    add_tokens(attempt.completion_tokens, reply->completion_tokens);
    attempt.repair_rounds = round;
    auto plan = plan_from_reply(reply->text);
    if (plan) {
      attempt.reply = std::move(reply.value());
      attempt.plan_json = std::move(plan.value());
      return attempt;
    }
    if (round == 1)
      return fail(describe(client) + ": invalid plan after one repair round: " + plan.error());
    request.messages.push_back({"assistant", reply->text});
    request.messages.push_back(
        {"user", "That plan is invalid: " + plan.error()
                     + "\nReply with the corrected plan: exactly one JSON object in the plan "
                       "format above, no prose, no Markdown fences."});
  }
  return fail(describe(client) + ": no plan"); // not reached: round 1 always returns
}

// The first JSON object of a model's reply (fences and prose around it tolerated), parsed.
outcome<json::document> reply_object(const std::string& reply) {
  auto object = extract_json_object(reply);
  if (!object)
    return fail(object.error());
  return json::parse(*object);
}

// The plan members of `root` as plan JSON, valid against the plan schema and core::parse_plan
// (a revision's with the ids of the steps before it).
outcome<std::string> valid_plan_text(const json::value& root, const std::vector<std::string>& earlier) {
  json::document plan = plan_fields(root);
  if (auto valid = events::validate("plan", plan); !valid)
    return fail(valid.error());
  std::string text = json::dump(plan);
  if (auto parsed = core::parse_plan(text, earlier); !parsed)
    return fail(parsed.error());
  return text;
}

} // namespace

outcome<std::string> plan_from_reply(const std::string& reply) {
  auto doc = reply_object(reply);
  if (!doc)
    return fail(doc.error());
  const json::value* root = &doc.value();
  if (!root->HasMember("steps") && root->HasMember("plan") && (*root)["plan"].IsObject())
    root = &(*root)["plan"];
  return valid_plan_text(*root, {});
}

outcome<revision_reply> revision_from_reply(const std::string& reply,
                                            const std::vector<std::string>& earlier) {
  auto doc = reply_object(reply);
  if (!doc)
    return fail(doc.error());
  if (!doc->IsObject())
    return fail("the reply is not a JSON object");
  revision_reply out;
  out.rationale = core::shorten(core::one_line(json::get_string(*doc, "rationale").value_or("")), 4000);
  if (json::get_bool(*doc, "finish").value_or(false)) {
    out.plan_json = "null";
    return out;
  }
  auto plan = valid_plan_text(*doc, earlier);
  if (!plan)
    return fail(plan.error());
  out.plan_json = std::move(*plan);
  return out;
}

outcome<revision_result> revise_with_chain(const revision_input& in, const llm_chain& chain,
                                           const planner_context& ctx,
                                           const planning_options& options,
                                           std::vector<std::string>* provider_errors) {
  int64_t start = steady_ms();
  std::vector<std::string> errors;
  auto done = [&](outcome<revision_result> r) {
    if (provider_errors)
      *provider_errors = errors;
    if (r)
      r->ms = steady_ms() - start;
    return r;
  };
  std::vector<std::string> earlier;
  if (auto plan = core::parse_plan(in.plan_json))
    for (auto& step : plan->steps)
      earlier.push_back(step.id);
  for (const auto& link : chain) {
    if (!link.client) {
      auto r = revise_offline(in, ctx);
      if (r)
        return done(std::move(r));
      errors.push_back("offline: " + r.error());
      continue;
    }
    auto& client = *link.client;
    auto templ = load_prompt("router_revise.md", options.prompts_dir);
    if (!templ) {
      errors.push_back(describe(client) + ": " + templ.error());
      continue;
    }
    chat_request request;
    request.json_output = true;
    request.messages = {
        {"system", render_prompt(*templ, {{"query", in.question},
                                          {"product_names", core::join(ctx.product_names, ", ")},
                                          {"plan", in.plan_json},
                                          {"observations", in.observations_json},
                                          {"reason", in.reason}})},
        {"user", in.question}};
    revision_result result;
    result.provider = client.name();
    result.model = client.model();
    std::string failure;
    for (int round = 0; round < 2; ++round) {
      auto reply = client.chat(request, options.deadline_ms);
      if (!reply) {
        failure = reply.error();
        break;
      }
      add_tokens(result.prompt_tokens, reply->prompt_tokens);
      add_tokens(result.completion_tokens, reply->completion_tokens);
      auto revision = revision_from_reply(reply->text, earlier);
      if (revision) {
        result.plan_json = revision->plan_json;
        result.rationale = revision->rationale;
        return done(result);
      }
      failure = describe(client) + ": invalid revision" + (round ? " after one repair round: " : ": ")
                + revision.error();
      request.messages.push_back({"assistant", reply->text});
      request.messages.push_back(
          {"user", "That revision is invalid: " + revision.error()
                       + "\nReply with the corrected JSON object only."});
    }
    errors.push_back(failure);
  }
  if (errors.empty())
    return done(fail("every reviser failed: the planning chain is empty"));
  return done(fail("every reviser failed: " + core::join(errors, "; ")));
}

namespace {

// One turn for the prompt; its question and answer cut to `max_bytes` each.
std::string turn_block(const core::turn_memory& t, size_t max_bytes) {
  std::string s = "Turn " + std::to_string(t.turn) + ": " + core::shorten(core::one_line(t.question), max_bytes) + "\n";
  if (!t.resolved.empty() && t.resolved != t.question)
    s += "  planned as: " + core::shorten(core::one_line(t.resolved), max_bytes) + "\n";
  std::string answer = t.answer.empty() ? (t.failed ? "(failed, no answer)" : "(no answer)")
                                        : core::one_line(t.answer);
  s += std::string("  answer") + (t.failed ? " (failed)" : "") + ": "
       + core::shorten(answer, max_bytes) + "\n";
  return s;
}

} // namespace

std::string memory_for_prompt(const std::vector<const core::turn_memory*>& history,
                              size_t max_tokens) {
  if (history.empty())
    return "(none: this is the first question of the conversation)";
  const size_t budget = max_tokens * 4; // bytes: about 4 per token for English text
  std::vector<std::string> kept;        // newest first
  size_t used = 0;
  for (auto it = history.rbegin(); it != history.rend(); ++it) {
    // A turn whole (answers cut at 600 bytes), else shortened, else it and all older ones go.
    auto block = turn_block(**it, 600);
    if (used + block.size() > budget)
      block = turn_block(**it, 80);
    if (used + block.size() > budget)
      break;
    used += block.size();
    kept.push_back(std::move(block));
  }
  std::string out;
  if (auto left_out = history.size() - kept.size(); left_out > 0)
    out += "(" + std::to_string(left_out) + (left_out == 1 ? " earlier turn" : " earlier turns")
           + " left out)\n";
  for (auto it = kept.rbegin(); it != kept.rend(); ++it)
    out += *it;
  if (!out.empty() && out.back() == '\n')
    out.pop_back();
  return out;
}

outcome<planning_result> plan_with_chain(const std::string& query, const llm_chain& chain,
                                         const planner_context& ctx,
                                         const planning_options& options,
                                         std::vector<std::string>* provider_errors) {
  int64_t start = steady_ms();
  std::vector<std::string> errors;
  for (const auto& link : chain) {
    if (!link.client) {
      auto plan = plan_offline(query, ctx);
      if (!plan) {
        errors.push_back("offline: " + plan.error());
        continue;
      }
      planning_result result;
      result.plan_json = std::move(plan.value());
      result.provider = "offline";
      result.model = "rule-based";
      result.ms = steady_ms() - start;
      result.errors = errors;
      if (provider_errors)
        *provider_errors = errors;
      return result;
    }
    auto attempt = plan_with_llm(*link.client, query, ctx, options);
    if (!attempt) {
      errors.push_back(attempt.error());
      continue;
    }
    planning_result result;
    result.plan_json = std::move(attempt->plan_json);
    result.provider = link.client->name();
    result.model = link.client->model();
    result.ms = steady_ms() - start;
    result.prompt_tokens = attempt->prompt_tokens;
    result.completion_tokens = attempt->completion_tokens;
    result.repair_rounds = attempt->repair_rounds;
    result.errors = errors;
    if (provider_errors)
      *provider_errors = errors;
    return result;
  }
  if (provider_errors)
    *provider_errors = errors;
  if (errors.empty())
    return fail("every planner failed: the planning chain is empty");
  return fail("every planner failed: " + core::join(errors, "; "));
}

} // namespace eventide::providers
