#include "core/placeholders.hpp"

#include <algorithm>
#include <cctype>
#include <optional>

#include "core/json.hpp"

namespace eventide::core {
namespace {

// One `{{ ... }}` occurrence that names a step result.
struct placeholder {
  size_t begin = 0;     // offset of "{{" in the string
  size_t end = 0;       // offset just past "}}"
  std::string text;     // as written, for error messages
  std::string step_ref; // "s1", "step_0", ...
  std::string path;     // inside the result; empty = whole result
};

bool is_id_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

// Splits "<id>.result.<path>" (or, after "steps.", also "<id>" and "<id>.<path>").
// Returns false when the text is not a step reference at all, e.g. "{{name}}" in prose.
bool parse_reference(std::string_view inner, placeholder& out) {
  bool steps_form = inner.substr(0, 6) == "steps.";
  if (steps_form)
    inner.remove_prefix(6);
  size_t id_len = 0;
  while (id_len < inner.size() && is_id_char(inner[id_len]))
    ++id_len;
  if (id_len == 0)
    return false;
  out.step_ref = std::string(inner.substr(0, id_len));
  auto rest = inner.substr(id_len);
  auto boundary = [](std::string_view s, size_t at) {
    return at == s.size() || s[at] == '.' || s[at] == '[';
  };
  if (rest.substr(0, 7) == ".result" && boundary(rest, 7)) {
    rest.remove_prefix(7);
  } else if (!steps_form) {
    return false; // "{{user.name}}" is prose, not a reference
  } else if (!rest.empty() && !boundary(rest, 0)) {
    return false;
  }
  if (!rest.empty() && rest.front() == '.')
    rest.remove_prefix(1);
  out.path = std::string(rest);
  return true;
}

std::vector<placeholder> find_placeholders(std::string_view s) {
  std::vector<placeholder> found;
  size_t from = 0;
  while ((from = s.find("{{", from)) != std::string_view::npos) {
    auto close = s.find("}}", from + 2);
    if (close == std::string_view::npos)
      break;
    placeholder p;
    p.begin = from;
    p.end = close + 2;
    p.text = std::string(s.substr(from, p.end - from));
    if (parse_reference(trim(s.substr(from + 2, close - from - 2)), p)) {
      from = p.end;
      found.push_back(std::move(p));
    } else {
      from += 2;
    }
  }
  return found;
}

// Exact id first; otherwise the LLM spellings step_<n> / step<n> as a 0-based plan index.
std::optional<std::string> resolve_step(const std::string& ref, const std::vector<std::string>& ids) {
  if (std::find(ids.begin(), ids.end(), ref) != ids.end())
    return ref;
  std::string_view digits(ref);
  if (digits.substr(0, 5) == "step_")
    digits.remove_prefix(5);
  else if (digits.substr(0, 4) == "step")
    digits.remove_prefix(4);
  else
    return std::nullopt;
  if (digits.empty() || digits.size() > 6
      || !std::all_of(digits.begin(), digits.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
    return std::nullopt;
  size_t index = std::stoul(std::string(digits));
  if (index >= ids.size())
    return std::nullopt;
  return ids[index];
}

outcome<std::string> step_of(const placeholder& p, const std::vector<std::string>& ids) {
  auto id = resolve_step(p.step_ref, ids);
  if (!id)
    return fail("placeholder '" + p.text + "' refers to unknown step '" + p.step_ref + "'");
  return *id;
}

// Calls visit(string value) for every string value (not object keys) in the tree.
template <class F>
outcome<void> each_string(json::value& v, F&& visit) {
  if (v.IsString())
    return visit(v);
  if (v.IsObject()) {
    for (auto& m : v.GetObject())
      if (auto r = each_string(m.value, visit); !r)
        return r;
  } else if (v.IsArray()) {
    for (auto& item : v.GetArray())
      if (auto r = each_string(item, visit); !r)
        return r;
  }
  return {};
}

class resolver {
 public:
  resolver(const std::map<std::string, std::string>& results, const std::vector<std::string>& ids,
           json::allocator& alloc)
      : results_(results), ids_(ids), alloc_(alloc) {}

  outcome<void> operator()(json::value& v) {
    std::string s(v.GetString(), v.GetStringLength());
    auto found = find_placeholders(s);
    if (found.empty())
      return {};
    // Whole-string placeholder (surrounding blanks allowed): keep the value's JSON type.
    if (found.size() == 1 && trim(std::string_view(s).substr(0, found[0].begin)).empty()
        && trim(std::string_view(s).substr(found[0].end)).empty()) {
      auto target = lookup(found[0]);
      if (!target)
        return fail(target.error());
      v.CopyFrom(**target, alloc_);
      return {};
    }
    std::string text;
    size_t copied = 0;
    for (const auto& p : found) {
      auto target = lookup(p);
      if (!target)
        return fail(target.error());
      text.append(s, copied, p.begin - copied);
      text += json::to_text(**target);
      copied = p.end;
    }
    text.append(s, copied, std::string::npos);
    v = json::str(text, alloc_);
    return {};
  }

 private:
  outcome<const json::value*> lookup(const placeholder& p) {
    auto id = step_of(p, ids_);
    if (!id)
      return fail(id.error());
    auto parsed = parsed_.find(*id);
    if (parsed == parsed_.end()) {
      auto result = results_.find(*id);
      if (result == results_.end())
        return fail("placeholder '" + p.text + "': step '" + *id + "' has no result yet");
      auto doc = json::parse(result->second);
      if (!doc)
        return fail("placeholder '" + p.text + "': result of step '" + *id
                    + "' is not valid JSON (" + doc.error() + ")");
      parsed = parsed_.emplace(*id, std::move(doc).value()).first;
    }
    const json::value* target = json::find_path(parsed->second, p.path);
    if (!target)
      return fail("placeholder '" + p.text + "': path '" + p.path + "' not found in result of step '"
                  + *id + "'");
    return target;
  }

  const std::map<std::string, std::string>& results_;
  const std::vector<std::string>& ids_;
  json::allocator& alloc_;
  std::map<std::string, json::document> parsed_;
};

} // namespace

outcome<std::vector<std::string>> referenced_steps(std::string_view args_json,
                                                   const std::vector<std::string>& step_ids) {
  auto doc = json::parse(args_json);
  if (!doc)
    return fail("args are not valid JSON: " + doc.error());
  std::vector<std::string> refs;
  auto r = each_string(doc.value(), [&](json::value& v) -> outcome<void> {
    for (const auto& p : find_placeholders(std::string_view(v.GetString(), v.GetStringLength()))) {
      auto id = step_of(p, step_ids);
      if (!id)
        return fail(id.error());
      if (std::find(refs.begin(), refs.end(), *id) == refs.end())
        refs.push_back(*id);
    }
    return {};
  });
  if (!r)
    return fail(r.error());
  return refs;
}

outcome<std::string> resolve_placeholders(std::string_view args_json,
                                          const std::map<std::string, std::string>& results,
                                          const std::vector<std::string>& step_ids) {
  // Fast path: no placeholder syntax at all leaves the text exactly as it was.
  if (args_json.find("{{") == std::string_view::npos)
    return std::string(args_json);
  auto doc = json::parse(args_json);
  if (!doc)
    return fail("args are not valid JSON: " + doc.error());
  resolver resolve(results, step_ids, doc->GetAllocator());
  auto r = each_string(doc.value(), resolve);
  if (!r)
    return fail(r.error());
  return json::dump(doc.value());
}

} // namespace eventide::core
