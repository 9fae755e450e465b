// Planner quality on labelled questions (tests/fixtures/planner_labelled.json), per split. The
// figures asserted are in quality_figures.hpp (the README reports them).
//
// "Exact plan" compares plans as DAGs, not bytes. Each step is reduced to its tool, its key
// args and the steps it depends on; step ids, step order, topK and query wording do not count:
//   getProductInformation  the catalog product its query names ("" when it names none: a
//                          search over the whole catalog)
//   exchangeRate           from, to, amount (default 1)
//   math                   the expression's value, every reference replaced by a fixed number
//   weather                city (any case) and date
//   other tools            only their dependencies
// In the fixture "@k.path" refers to step k (from 1), as {{steps.sk.result.path}} does in a plan.
// An item may list several acceptable plans ("plans"). Items with "unknown_product" name a
// product the catalog lacks; they pass when planning refuses, or when no step names a catalog
// product the question does not name and every lookup naming no catalog product fails when run:
// the plan never substitutes another product.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>

#include "core/json.hpp"
#include "core/math.hpp"
#include "core/plan.hpp"
#include "core/text.hpp"
#include "providers/offline_tools.hpp"
#include "providers/planner.hpp"
#include "tests/unit/quality_figures.hpp"

using namespace eventide;

namespace {

const std::string products_dir = EVENTIDE_SOURCE_DIR "/products";

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

TEST_CASE("planner_eval: exact-plan accuracy per split (tune, heldout)", "[planner][quality]") {
  std::ifstream in(EVENTIDE_FIXTURES "/planner_labelled.json");
  std::stringstream text;
  text << in.rdbuf();
  auto items = json::parse(text.str());
  REQUIRE(items.ok());
  const auto names = providers::load_product_names(products_dir);
  REQUIRE(names.size() == 12);
  const providers::planner_context ctx{names};
  auto lookup = providers::make_product_info_tool(products_dir);

  std::map<std::string, int> total, exact;
  int unknown_total = 0, unknown_ok = 0;
  for (const auto& item : items->GetArray()) {
    std::string question = item["question"].GetString(), split = item["split"].GetString();
    ++total[split];
    auto planned = providers::plan_offline(question, ctx);
    std::optional<json::document> doc;
    if (planned && core::parse_plan(*planned))
      doc = std::move(json::parse(*planned).value());

    bool ok = false;
    if (item.HasMember("unknown_product")) {
      ++unknown_total;
      ok = !planned || (doc && !substitutes(question, *doc, names, *lookup));
      unknown_ok += ok;
    } else if (doc) {
      auto got = signature(from_planner(*doc, names));
      std::vector<const json::value*> wanted;
      if (item.HasMember("plan"))
        wanted.push_back(&item["plan"]);
      else
        for (const auto& alternative : item["plans"].GetArray())
          wanted.push_back(&alternative);
      for (const auto* w : wanted) {
        for (const auto& s : w->GetArray()) // labels must name real products
          if (s.HasMember("product") && s["product"].IsString())
            REQUIRE(std::count(names.begin(), names.end(), s["product"].GetString()) == 1);
        ok = ok || signature(from_fixture(*w)) == got;
      }
    }
    exact[split] += ok;
    if (!ok)
      std::cout << "planner_eval miss [" << split << "] " << question.substr(0, 100) << "\n  got: "
                << (planned ? *planned : "planning failed: " + planned.error()) << "\n  want: "
                << json::dump(item.HasMember("plan") ? item["plan"]
                              : item.HasMember("plans") ? item["plans"] : item["unknown_product"])
                << "\n";
  }
  std::cout << "planner exact plans: tune " << exact["tune"] << "/" << total["tune"] << ", heldout "
            << exact["heldout"] << "/" << total["heldout"] << " (unknown products never substituted: "
            << unknown_ok << "/" << unknown_total << ")\n";
  CHECK(total["tune"] == quality::planner_tune_total);
  CHECK(total["heldout"] == quality::planner_heldout_total);
  CHECK(exact["tune"] == quality::planner_tune_exact);
  CHECK(exact["heldout"] == quality::planner_heldout_exact);
}
