// Building a plan's JSON step by step (the offline planner and reviser): ids s1, s2, ... in
// the order added, args as strings, numbers or lists of strings, placeholders made by ref().
#pragma once

#include <cmath>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/json.hpp"

namespace eventide::providers {

using arg_value = std::variant<std::string, double, std::vector<std::string>>;
using args_list = std::vector<std::pair<std::string, arg_value>>;

class plan_builder {
 public:
  /// Ids from s<first>: a revision continues after the ids its plan used.
  explicit plan_builder(int first = 1)
      : doc_(rapidjson::kObjectType), steps_(rapidjson::kArrayType), first_(first) {}

  /// Appends a step and returns its id (s1, s2, ...). `after`: steps it waits for beyond those
  /// its placeholders name (a shipment after the payment).
  std::string add(const std::string& tool, const args_list& args,
                  const std::vector<std::string>& after = {}) {
    auto& a = doc_.GetAllocator();
    std::string id = "s" + std::to_string(first_ + static_cast<int>(ids_.size()));
    json::value args_obj(rapidjson::kObjectType);
    for (auto& [key, val] : args)
      args_obj.AddMember(json::str(key, a), to_json(val), a);
    json::value step(rapidjson::kObjectType);
    step.AddMember("id", json::str(id, a), a);
    step.AddMember("tool", json::str(tool, a), a);
    step.AddMember("args", args_obj, a);
    if (!after.empty())
      step.AddMember("dependsOn", to_json(after), a);
    steps_.PushBack(step, a);
    ids_.push_back(id);
    tools_.push_back(tool);
    return id;
  }

  const std::vector<std::string>& ids() const { return ids_; }
  const std::vector<std::string>& tools() const { return tools_; }

  // After the last step the router decides what comes next ("next": "replan").
  void then_decide() { replan_ = true; }

  std::string text() {
    auto& a = doc_.GetAllocator();
    doc_.AddMember("steps", steps_, a);
    doc_.AddMember("finalAnswerRequired", true, a);
    if (replan_)
      doc_.AddMember("next", "replan", a);
    return json::dump(doc_);
  }

 private:
  json::value to_json(const arg_value& v) {
    auto& a = doc_.GetAllocator();
    if (auto* s = std::get_if<std::string>(&v))
      return json::str(*s, a);
    if (auto* d = std::get_if<double>(&v)) {
      if (*d == std::floor(*d) && std::fabs(*d) < 9e15)
        return json::value(static_cast<int64_t>(*d));
      return json::value(*d);
    }
    json::value arr(rapidjson::kArrayType);
    for (auto& s : std::get<std::vector<std::string>>(v))
      arr.PushBack(json::str(s, a), a);
    return arr;
  }

  json::document doc_;
  json::value steps_;
  std::vector<std::string> ids_;
  std::vector<std::string> tools_;
  bool replan_ = false;
  int first_ = 1;
};

/// The placeholder of step `id`'s result, or of a field of it: {{steps.s1.result.price}}.
inline std::string ref(const std::string& id, const std::string& path = {}) {
  return "{{steps." + id + ".result" + (path.empty() ? "" : "." + path) + "}}";
}

} // namespace eventide::providers
