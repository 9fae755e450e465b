#include "tests/providers/plan_match.hpp"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <regex>
#include <set>

#include "core/math.hpp"
#include "core/plan.hpp"
#include "core/text.hpp"
#include "providers/offline_tools.hpp"
#include "providers/planner.hpp"

namespace eventide::quality {

namespace {

struct step {
  std::string tool;
  std::map<std::string, std::string> args; // key args, references written "@k.path"
  std::set<int> deps;                      // positions from 1
};
using plan = std::vector<step>;

// Replaces every match of `re` in `text` with `replace(match)`.
std::string substitute(const std::string& text, const std::regex& re,
                       const std::function<std::string(const std::smatch&)>& replace) {
  std::string out;
  auto last = text.cbegin();
  for (std::sregex_iterator it(text.begin(), text.end(), re), end; it != end; ++it) {
    out.append(last, text.cbegin() + it->position());
    out += replace(*it);
    last = text.cbegin() + it->position() + it->length();
  }
  return out.append(last, text.cend());
}

const std::regex fixture_ref(R"(@(\d+)((?:\.[A-Za-z0-9_\[\]]+)*))");
const std::regex placeholder(R"(\{\{\s*steps\.([A-Za-z0-9_-]+)\.result([.\[][^}\s]*)?\s*\}\})");

std::string lower(const std::string& s) { return core::lower(s); }

// The catalog names that occur in `text`, joined with "+" ("" for none).
std::string products_named(const std::string& text, const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names)
    if (lower(text).find(lower(n)) != std::string::npos)
      out += (out.empty() ? "" : "+") + n;
  return out;
}

std::string text_of(const json::value& v) {
  if (v.IsString())
    return v.GetString();
  if (v.IsNumber())
    return json::format_number(v.GetDouble());
  return v.IsNull() ? "" : json::dump(v);
}

// An expected plan as the fixture writes it.
plan from_fixture(const json::value& steps) {
  plan out;
  for (const auto& s : steps.GetArray()) {
    step st;
    for (const auto& m : s.GetObject()) {
      std::string key = m.name.GetString();
      if (key == "tool") {
        st.tool = m.value.GetString();
        continue;
      }
      std::string all; // every string of the member, for its references
      if (m.value.IsArray())
        for (const auto& x : m.value.GetArray())
          all += text_of(x) + " ";
      else
        st.args[key] = all = text_of(m.value);
      for (std::sregex_iterator it(all.begin(), all.end(), fixture_ref), end; it != end; ++it)
        st.deps.insert(std::stoi((*it)[1]));
    }
    out.push_back(std::move(st));
  }
  return out;
}

// A plan from the planner, reduced the same way.
plan from_planner(const json::value& doc, const std::vector<std::string>& names) {
  std::map<std::string, int> position;
  for (const auto& s : doc["steps"].GetArray())
    position.emplace(s["id"].GetString(), static_cast<int>(position.size()) + 1);
  plan out;
  for (const auto& s : doc["steps"].GetArray()) {
    step st;
    st.tool = s["tool"].GetString();
    // "{{steps.s2.result.price}}" -> "@2.price"; every placeholder is a dependency.
    auto rewrite = [&](const std::string& text) {
      return substitute(text, placeholder, [&](const std::smatch& m) {
        int k = position.count(m[1]) ? position[m[1]] : 0;
        st.deps.insert(k);
        return "@" + std::to_string(k) + m[2].str();
      });
    };
    std::function<void(const json::value&)> walk = [&](const json::value& v) {
      if (v.IsString())
        rewrite(v.GetString());
      else if (v.IsArray())
        for (const auto& x : v.GetArray())
          walk(x);
      else if (v.IsObject())
        for (const auto& m : v.GetObject())
          walk(m.value);
    };
    const auto& args = s["args"];
    walk(args);
    if (s.HasMember("dependsOn"))
      for (const auto& d : s["dependsOn"].GetArray())
        st.deps.insert(position.count(d.GetString()) ? position[d.GetString()] : 0);
    auto arg = [&](const char* key, const char* absent) -> std::string {
      return args.HasMember(key) ? rewrite(text_of(args[key])) : absent;
    };
    if (st.tool == "getProductInformation")
      st.args["product"] = products_named(arg("query", ""), names);
    if (st.tool == "exchangeRate")
      st.args = {{"from", arg("from", "")}, {"to", arg("to", "")}, {"amount", arg("amount", "1")}};
    if (st.tool == "math")
      st.args["expression"] = arg("expression", "");
    if (st.tool == "weather") {
      st.args["city"] = arg("city", "");
      if (args.HasMember("date"))
        st.args["date"] = arg("date", "");
    }
    out.push_back(std::move(st));
  }
  return out;
}

uint32_t fnv(const std::string& s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s)
    h = (h ^ c) * 16777619u;
  return h;
}

// Step k's canonical text: tool, key args and, recursively, the steps it depends on.
std::string label(const plan& p, int k) {
  if (k < 1 || k > static_cast<int>(p.size()))
    return "(no step " + std::to_string(k) + ")";
  const step& s = p[k - 1];
  auto ref = [&](const std::smatch& m) {
    int dep = std::stoi(m[1]);
    return dep < k ? label(p, dep) + m[2].str() : "(forward reference)";
  };
  std::string out = s.tool + "(";
  for (const auto& [key, value] : s.args) {
    std::string v = substitute(lower(value), fixture_ref, ref);
    if (s.tool == "math") { // by value: each reference becomes a number fixed by its text
      auto number = [&](const std::smatch& m) {
        return "(" + std::to_string(1 + fnv(ref(m)) % 100000 / 100.0) + ")";
      };
      auto result = core::evaluate(substitute(value, fixture_ref, number));
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.9g", result ? *result : 0.0);
      v = result ? buf : "error: " + result.error();
    }
    out += key + "=" + v + ";";
  }
  std::vector<std::string> deps;
  for (int d : s.deps)
    deps.push_back(d < k ? label(p, d) : "(forward reference)");
  std::sort(deps.begin(), deps.end());
  out += ")<-[";
  for (const auto& d : deps)
    out += d + ",";
  return out + "]";
}

std::multiset<std::string> signature(const plan& p) {
  std::multiset<std::string> out;
  for (int k = 1; k <= static_cast<int>(p.size()); ++k)
    out.insert(label(p, k));
  return out;
}

// Whether the plan brings in a product the question does not name.
bool substitutes(const std::string& question, const json::value& doc,
                 const std::vector<std::string>& names, providers::tool& lookup) {
  for (const auto& s : doc["steps"].GetArray()) {
    std::string args = json::dump(s["args"]);
    for (const auto& n : names)
      if (lower(args).find(lower(n)) != std::string::npos
          && lower(question).find(lower(n)) == std::string::npos)
        return true;
    if (std::string(s["tool"].GetString()) == "getProductInformation"
        && products_named(args, names).empty() && lookup.invoke(args).ok)
      return true; // the lookup returned some catalog product for the unknown one
  }
  return false;
}

} // namespace

plan_matcher::plan_matcher(const std::string& products_dir)
    : names_(providers::load_product_names(products_dir)),
      lookup_(providers::make_product_info_tool(products_dir)) {}

std::string plan_matcher::unknown_label(const json::value& item) const {
  auto check = [&](const json::value& plan) -> std::string {
    for (const auto& s : plan.GetArray())
      if (s.HasMember("product") && s["product"].IsString()
          && std::count(names_.begin(), names_.end(), s["product"].GetString()) != 1)
        return s["product"].GetString();
    return "";
  };
  if (item.HasMember("plan"))
    return check(item["plan"]);
  if (item.HasMember("plans"))
    for (const auto& alternative : item["plans"].GetArray())
      if (auto bad = check(alternative); !bad.empty())
        return bad;
  return "";
}

bool plan_matcher::matches(const json::value& item, const outcome<std::string>& planned) const {
  std::string question = item["question"].GetString();
  std::optional<json::document> doc;
  if (planned && core::parse_plan(*planned))
    doc = std::move(json::parse(*planned).value());
  if (item.HasMember("unknown_product"))
    return !planned || (doc && !substitutes(question, *doc, names_, *lookup_));
  if (!doc)
    return false;
  auto got = signature(from_planner(*doc, names_));
  if (item.HasMember("plan"))
    return signature(from_fixture(item["plan"])) == got;
  for (const auto& alternative : item["plans"].GetArray())
    if (signature(from_fixture(alternative)) == got)
      return true;
  return false;
}

std::string plan_matcher::wanted(const json::value& item) {
  return json::dump(item.HasMember("plan")    ? item["plan"]
                    : item.HasMember("plans") ? item["plans"]
                                              : item["unknown_product"]);
}

} // namespace eventide::quality
