#include "core/plan.hpp"

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <optional>
#include <tuple>

#include "core/json.hpp"
#include "core/placeholders.hpp"

namespace eventide::core {
namespace {

constexpr size_t max_plan_steps = 20;

bool valid_step_id(const std::string& id) {
  return !id.empty() && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::optional<std::string> first_unknown_member(const json::value& obj,
                                                const std::vector<std::string>& allowed) {
  for (const auto& m : obj.GetObject()) {
    std::string name(m.name.GetString(), m.name.GetStringLength());
    if (!contains(allowed, name))
      return name;
  }
  return std::nullopt;
}

// Depth-first search over depends_on edges; returns the first cycle found as "a -> b -> a".
std::string find_cycle(const std::vector<plan_step>& steps) {
  std::map<std::string, const plan_step*> by_id;
  for (const auto& s : steps)
    by_id[s.id] = &s;
  enum class mark { unvisited, on_path, done };
  std::map<std::string, mark> marks;
  std::vector<std::string> path;
  std::string cycle;

  std::function<bool(const std::string&)> visit = [&](const std::string& id) {
    marks[id] = mark::on_path;
    path.push_back(id);
    for (const auto& dep : by_id[id]->depends_on) {
      if (!by_id.count(dep))
        continue; // a step of an earlier plan version: done, no edge back
      if (marks[dep] == mark::on_path) {
        auto start = std::find(path.begin(), path.end(), dep);
        for (auto it = start; it != path.end(); ++it)
          cycle += *it + " -> ";
        cycle += dep;
        return true;
      }
      if (marks[dep] == mark::unvisited && visit(dep))
        return true;
    }
    path.pop_back();
    marks[id] = mark::done;
    return false;
  };
  for (const auto& s : steps)
    if (marks[s.id] == mark::unvisited && visit(s.id))
      return cycle;
  return {};
}

// Args of `tool` are checked against its catalog entry: every required one, nothing unknown.
std::optional<std::string> bad_args(const json::value& args, const tool_spec& tool) {
  for (const auto& required : tool.required_args) {
    auto a = args.FindMember(required.c_str());
    if (a == args.MemberEnd() || a->value.IsNull())
      return "tool '" + tool.name + "' requires arg '" + required + "'";
  }
  for (const auto& m : args.GetObject()) {
    std::string name(m.name.GetString(), m.name.GetStringLength());
    if (!contains(tool.required_args, name) && !contains(tool.optional_args, name))
      return "unexpected arg '" + name + "' for tool '" + tool.name + "'";
  }
  return std::nullopt;
}

// What undoes a step of `tool`: the step's own "compensation" {tool, args}, else the catalog's
// (args read from the step's result). ("", "{}") when nothing does.
outcome<std::pair<std::string, std::string>>
compensation_of(const json::value& step, const tool_spec& tool, const std::string& step_id) {
  auto it = step.FindMember("compensation");
  if (it == step.MemberEnd()) {
    if (tool.compensation.empty())
      return std::pair<std::string, std::string>{"", "{}"};
    json::document args;
    args.SetObject();
    for (const auto& [arg, field] : tool.compensation_args)
      args.AddMember(json::str(arg, args.GetAllocator()),
                     json::str("{{steps." + step_id + ".result." + field + "}}", args.GetAllocator()),
                     args.GetAllocator());
    return std::pair<std::string, std::string>{tool.compensation, json::dump(args)};
  }
  const auto& c = it->value;
  if (!tool.effect)
    return fail("compensation given for tool '" + tool.name + "', which has no effect to undo");
  if (!c.IsObject())
    return fail("'compensation' must be an object {\"tool\", \"args\"}");
  if (auto unknown = first_unknown_member(c, {"tool", "args"}))
    return fail("compensation: unknown field '" + *unknown + "'");
  auto name = json::get_string(c, "tool");
  if (!name)
    return fail("compensation: 'tool' must be a string");
  const tool_spec* undo = find_tool(*name);
  if (!undo)
    return fail("compensation: unknown tool '" + *name + "'");
  if (!undo->effect || !undo->compensation.empty())
    return fail("compensation: '" + *name + "' does not undo anything");
  auto args = c.FindMember("args");
  if (args == c.MemberEnd() || !args->value.IsObject())
    return fail("compensation: 'args' must be an object");
  if (auto bad = bad_args(args->value, *undo))
    return fail("compensation: " + *bad);
  return std::pair<std::string, std::string>{undo->name, json::dump(args->value)};
}

} // namespace

const std::vector<tool_spec>& tool_catalog() {
  static const std::vector<tool_spec> catalog = [] {
    std::vector<tool_spec> tools;
    auto tool = [&](std::string name, std::vector<std::string> required,
                    std::vector<std::string> optional, std::string description) -> tool_spec& {
      tool_spec t;
      t.name = std::move(name);
      t.required_args = std::move(required);
      t.optional_args = std::move(optional);
      t.description = std::move(description);
      return tools.emplace_back(std::move(t));
    };
    tool("getProductInformation", {"query"}, {"topK"},
         "Search the product catalog; returns the best matching chunks with scores and product fields.");
    tool("ragGeneration", {"query"}, {"context"},
         "Answer a question grounded in retrieved product text, with citations.");
    tool("generalChat", {"message"}, {}, "General conversation answer from a language model.");
    tool("math", {"expression"}, {},
         "Evaluate an arithmetic expression (+ - * / % ^, parentheses, sqrt, min, max, ...).");
    tool("weather", {"city"}, {"date"}, "Current weather (or forecast for a date) for a city.");
    tool("exchangeRate", {"from", "to"}, {"amount"},
         "Convert an amount between currencies (ISO codes like USD, EUR).");
    tool("orchestrationSynthesis", {"query"}, {"results"},
         "Write the final answer to the query from the results of earlier steps.");
    // The shop's tools (DESIGN §15): each changes the shop's store; each of the first three is
    // undone by one of the last three.
    auto effect = [&](tool_spec& t, std::string undo = {},
                      std::vector<std::pair<std::string, std::string>> undo_args = {},
                      approval_policy approval = approval_policy::never) {
      t.effect = true;
      t.compensation = std::move(undo);
      t.compensation_args = std::move(undo_args);
      t.approval = approval;
    };
    effect(tool("placeOrder", {"product", "quantity"}, {"customer"},
                "Order a quantity of a product from the shop (takes it from stock); returns orderId, total and currency."),
           "cancelOrder", {{"orderId", "orderId"}});
    effect(tool("chargePayment", {"orderId", "amount", "currency"}, {},
                "Charge the card for an order: amount is the order total in the given currency."),
           "refundPayment", {{"paymentId", "paymentId"}}, approval_policy::above_threshold);
    effect(tool("shipOrder", {"orderId", "city"}, {}, "Book the shipment of a paid order to a city."),
           "cancelShipment", {{"shipmentId", "shipmentId"}});
    effect(tool("cancelOrder", {"orderId"}, {}, "Cancel an order and put its items back in stock."));
    effect(tool("refundPayment", {"paymentId"}, {}, "Refund a payment."));
    effect(tool("cancelShipment", {"shipmentId"}, {}, "Cancel a booked shipment."));
    return tools;
  }();
  return catalog;
}

const tool_spec* find_tool(std::string_view name) {
  for (const auto& t : tool_catalog())
    if (t.name == name)
      return &t;
  return nullptr;
}

outcome<plan> parse_plan(std::string_view plan_json, const std::vector<std::string>& earlier) {
  auto doc = json::parse(plan_json);
  if (!doc)
    return fail("plan is not valid JSON: " + doc.error());
  const json::value& root = doc.value();
  if (!root.IsObject())
    return fail("plan must be a JSON object");

  // Same fields as schemas/plan.schema.json, so a plan that passes here also passes the
  // PlanGenerated schema when it is produced.
  if (auto unknown = first_unknown_member(root, {"steps", "finalAnswerRequired", "next"}))
    return fail("plan: unknown field '" + *unknown + "'");

  plan result;
  if (auto it = root.FindMember("finalAnswerRequired"); it != root.MemberEnd()) {
    if (!it->value.IsBool())
      return fail("plan: 'finalAnswerRequired' must be a boolean");
    result.final_answer_required = it->value.GetBool();
  }
  if (root.HasMember("next")) {
    auto next = json::get_string(root, "next");
    if (!next || (*next != "finish" && *next != "replan"))
      return fail("plan: 'next' must be \"finish\" or \"replan\"");
    result.replan = *next == "replan";
  }

  auto steps_it = root.FindMember("steps");
  if (steps_it == root.MemberEnd() || !steps_it->value.IsArray())
    return fail("plan: 'steps' must be an array");
  const auto& steps = steps_it->value.GetArray();
  if (steps.Empty())
    return fail("plan: 'steps' must not be empty");
  if (steps.Size() > max_plan_steps)
    return fail("plan: too many steps (" + std::to_string(steps.Size()) + ", at most "
                + std::to_string(max_plan_steps) + ")");

  // Pass 1: shape, ids, tools and args of every step.
  std::vector<std::string> ids;
  for (rapidjson::SizeType i = 0; i < steps.Size(); ++i) {
    const auto& s = steps[i];
    std::string where = "step #" + std::to_string(i + 1);
    if (!s.IsObject())
      return fail(where + ": must be an object");
    auto id = json::get_string(s, "id");
    if (!id || id->empty())
      return fail(where + ": 'id' must be a non-empty string");
    if (id->size() > max_step_id_length)
      return fail(where + ": id is longer than " + std::to_string(max_step_id_length)
                  + " characters");
    if (!valid_step_id(*id))
      return fail(where + ": id '" + *id + "' may only contain letters, digits, '_' and '-'");
    where = "step " + *id;
    if (contains(ids, *id))
      return fail(where + ": duplicate id");
    if (contains(earlier, *id))
      return fail(where + ": id already used by an earlier plan version");
    if (auto unknown = first_unknown_member(
          s, {"id", "tool", "args", "dependsOn", "onError", "compensation", "approval"}))
      return fail(where + ": unknown field '" + *unknown + "'");
    ids.push_back(*id);

    plan_step step;
    step.id = *id;
    if (s.HasMember("onError")) {
      auto on_error = json::get_string(s, "onError");
      if (!on_error || (*on_error != "fail" && *on_error != "replan"))
        return fail(where + ": 'onError' must be \"fail\" or \"replan\"");
      step.replan_on_error = *on_error == "replan";
    }
    auto tool_name = json::get_string(s, "tool");
    if (!tool_name)
      return fail(where + ": 'tool' must be a string");
    const tool_spec* tool = find_tool(*tool_name);
    if (!tool)
      return fail(where + ": unknown tool '" + *tool_name + "'");
    step.tool = tool->name;

    auto args_it = s.FindMember("args");
    if (args_it == s.MemberEnd() || !args_it->value.IsObject())
      return fail(where + ": 'args' must be an object");
    const auto& args = args_it->value;
    if (auto bad = bad_args(args, *tool))
      return fail(where + ": " + *bad);
    step.args_json = json::dump(args);
    if (s.HasMember("approval")) {
      auto approval = json::get_string(s, "approval");
      if (!approval || *approval != "required")
        return fail(where + ": 'approval' must be \"required\"");
      step.approval_required = true;
    }
    if (auto undo = compensation_of(s, *tool, step.id); !undo)
      return fail(where + ": " + undo.error());
    else
      std::tie(step.compensation_tool, step.compensation_args_json) = std::move(*undo);

    if (auto dep_it = s.FindMember("dependsOn"); dep_it != s.MemberEnd()) {
      if (!dep_it->value.IsArray())
        return fail(where + ": 'dependsOn' must be an array of step ids");
      for (const auto& d : dep_it->value.GetArray()) {
        if (!d.IsString())
          return fail(where + ": 'dependsOn' must be an array of step ids");
        std::string dep(d.GetString(), d.GetStringLength());
        if (!contains(step.depends_on, dep))
          step.depends_on.push_back(dep);
      }
    }
    result.steps.push_back(std::move(step));
  }

  // Pass 2: dependencies, explicit and implied by placeholders, now that all ids are known.
  auto known = ids;
  known.insert(known.end(), earlier.begin(), earlier.end());
  for (auto& step : result.steps) {
    auto refs = referenced_steps(step.args_json, known);
    if (!refs)
      return fail("step " + step.id + ": " + refs.error());
    for (const auto& r : *refs)
      if (!contains(step.depends_on, r))
        step.depends_on.push_back(r);
    // A compensation runs after its own step and may read every result of the turn, so its
    // placeholders name the step itself or any known step; they add no dependency.
    if (auto undo_refs = referenced_steps(step.compensation_args_json, known); !undo_refs)
      return fail("step " + step.id + ": compensation: " + undo_refs.error());
    for (const auto& dep : step.depends_on) {
      if (dep == step.id)
        return fail("step " + step.id + ": depends on itself");
      if (!contains(known, dep))
        return fail("step " + step.id + ": depends on unknown step '" + dep + "'");
    }
  }

  if (auto cycle = find_cycle(result.steps); !cycle.empty())
    return fail("cycle: " + cycle);
  return result;
}

std::string merge_revision(std::string_view plan_json, std::string_view revision_json) {
  auto base = json::parse(plan_json);
  if (!base || !base->IsObject() || !base->HasMember("steps") || !(*base)["steps"].IsArray())
    return std::string(plan_json);
  auto& a = base->GetAllocator();
  base->RemoveMember("next");
  auto revision = json::parse(revision_json);
  if (revision && revision->IsObject()) {
    if (auto steps = revision->FindMember("steps");
        steps != revision->MemberEnd() && steps->value.IsArray())
      for (auto& step : steps->value.GetArray())
        (*base)["steps"].PushBack(json::value(step, a), a);
    if (auto next = revision->FindMember("next"); next != revision->MemberEnd())
      base->AddMember("next", json::value(next->value, a), a);
  }
  return json::dump(*base);
}

} // namespace eventide::core
