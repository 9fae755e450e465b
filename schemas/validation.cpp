#include "schemas/validation.hpp"

// RapidJSON 1.1's built-in regex keeps match state inside the compiled pattern, so one
// SchemaDocument could not be shared by threads; std::regex matching is const and safe.
// (Defining only this macro is what makes schema.h pick std::regex, in 1.1 and later.)
#define RAPIDJSON_SCHEMA_USE_INTERNALREGEX 0
#include <rapidjson/schema.h>
#if !RAPIDJSON_SCHEMA_USE_STDREGEX
#error "schema patterns must be matched with std::regex (see above)"
#endif
#include <rapidjson/stringbuffer.h>

#include <map>
#include <memory>

#include "schemas/embedded_schemas.hpp"

namespace eventide::events {

namespace {

struct compiled_schema {
  // The schema JSON with remote $refs inlined; kept to explain violations in words.
  std::unique_ptr<json::document> source;
  std::unique_ptr<rapidjson::SchemaDocument> schema;
  std::string load_error; // set when the embedded text is broken (a build bug)
};

using schema_map = std::map<std::string, compiled_schema, std::less<>>;

const detail::embedded_schema* find_embedded(std::string_view name) {
  for (size_t i = 0; i < detail::embedded_schema_count; ++i)
    if (name == detail::embedded_schemas[i].name)
      return &detail::embedded_schemas[i];
  return nullptr;
}

// Replaces {"$ref": "plan.schema.json"} with a copy of that embedded schema, so each schema
// file stays the single source of truth while validation needs no remote-document provider
// and violation pointers stay inside one document.
outcome<void> inline_refs(json::value& v, json::allocator& alloc, int depth) {
  if (depth > 8)
    return fail("$ref nesting deeper than 8 (a cycle?)");
  if (v.IsArray()) {
    for (auto& item : v.GetArray())
      if (auto r = inline_refs(item, alloc, depth); !r)
        return r;
    return {};
  }
  if (!v.IsObject())
    return {};
  auto ref = v.FindMember("$ref");
  if (ref != v.MemberEnd() && ref->value.IsString() && ref->value.GetString()[0] != '#') {
    std::string target = ref->value.GetString();
    const std::string suffix = ".schema.json";
    if (target.size() > suffix.size()
        && target.compare(target.size() - suffix.size(), suffix.size(), suffix) == 0)
      target.resize(target.size() - suffix.size());
    const auto* embedded = find_embedded(target);
    if (!embedded)
      return fail("$ref to unknown schema '" + std::string(ref->value.GetString()) + "'");
    auto parsed = json::parse(embedded->text);
    if (!parsed)
      return fail("$ref '" + target + "': " + parsed.error());
    json::value copy(*parsed, alloc);
    copy.RemoveMember("$schema");
    copy.RemoveMember("id");
    if (auto r = inline_refs(copy, alloc, depth + 1); !r)
      return r;
    // A description next to the $ref explains this use (oneOf alternatives are named by it).
    auto description = v.FindMember("description");
    if (description != v.MemberEnd()) {
      copy.RemoveMember("description");
      copy.AddMember("description", json::value(description->value, alloc), alloc);
    }
    v = copy;
    return {};
  }
  for (auto& member : v.GetObject())
    if (auto r = inline_refs(member.value, alloc, depth); !r)
      return r;
  return {};
}

schema_map compile_all() {
  schema_map schemas;
  for (size_t i = 0; i < detail::embedded_schema_count; ++i) {
    const auto& embedded = detail::embedded_schemas[i];
    auto& entry = schemas[embedded.name];
    auto parsed = json::parse(embedded.text);
    if (!parsed) {
      entry.load_error = parsed.error();
      continue;
    }
    entry.source = std::make_unique<json::document>(std::move(parsed.value()));
    if (auto r = inline_refs(*entry.source, entry.source->GetAllocator(), 0); !r) {
      entry.load_error = r.error();
      continue;
    }
    entry.schema = std::make_unique<rapidjson::SchemaDocument>(*entry.source);
  }
  return schemas;
}

const schema_map& compiled() {
  static const schema_map schemas = compile_all(); // thread-safe one-time initialisation
  return schemas;
}

std::string pointer_text(const rapidjson::Pointer& p) {
  rapidjson::StringBuffer buf;
  p.Stringify(buf);
  return std::string(buf.GetString(), buf.GetSize());
}

// Compact JSON of a value, shortened for messages.
std::string shown(const json::value& v) {
  constexpr size_t limit = 60;
  std::string text = json::dump(v);
  if (text.size() > limit)
    text = text.substr(0, limit) + "...";
  return text;
}

const char* kind_of(const json::value& v) {
  if (v.IsNull())
    return "null";
  if (v.IsBool())
    return "boolean";
  if (v.IsInt64() || v.IsUint64())
    return "integer";
  if (v.IsNumber())
    return "number";
  if (v.IsString())
    return "string";
  if (v.IsArray())
    return "array";
  return "object";
}

size_t code_points(const json::value& s) {
  size_t n = 0;
  for (rapidjson::SizeType i = 0; i < s.GetStringLength(); ++i)
    if ((static_cast<unsigned char>(s.GetString()[i]) & 0xC0) != 0x80)
      ++n;
  return n;
}

const json::value* member(const json::value* obj, const char* name) {
  if (!obj || !obj->IsObject())
    return nullptr;
  auto it = obj->FindMember(name);
  return it == obj->MemberEnd() ? nullptr : &it->value;
}

std::string rule_text(const json::value* rule, const char* keyword) {
  const json::value* r = member(rule, keyword);
  return r ? json::to_text(*r) : "?";
}

// Words for one violation: `rule` is the schema object that failed, `at` the instance value.
// Keywords RapidJSON 1.1 reports are covered; anything else is named as is.
std::string explain(const std::string& keyword, const json::value* rule, const json::value* at) {
  if (keyword == "required") {
    if (const json::value* names = member(rule, "required"); names && names->IsArray())
      for (const auto& name : names->GetArray())
        if (name.IsString() && at && at->IsObject() && !at->HasMember(name.GetString()))
          return std::string("missing required property '") + name.GetString() + "'";
    return "missing a required property";
  }
  if (keyword == "type") {
    std::string expected;
    if (const json::value* type = member(rule, "type"); type && type->IsArray()) {
      for (const auto& t : type->GetArray())
        expected += (expected.empty() ? "" : " or ") + json::to_text(t);
    } else {
      expected = rule_text(rule, "type");
    }
    return "expected " + expected + ", got " + (at ? kind_of(*at) : "nothing") + " (type)";
  }
  if (keyword == "enum")
    return "value " + (at ? shown(*at) : std::string("?")) + " is not one of "
           + (member(rule, "enum") ? shown(*member(rule, "enum")) : "?") + " (enum)";
  if (keyword == "minimum")
    return "value " + (at ? shown(*at) : "?") + " is below minimum " + rule_text(rule, "minimum")
           + " (minimum)";
  if (keyword == "maximum")
    return "value " + (at ? shown(*at) : "?") + " is above maximum " + rule_text(rule, "maximum")
           + " (maximum)";
  if (keyword == "minLength" || keyword == "maxLength") {
    std::string length = at && at->IsString() ? std::to_string(code_points(*at)) : "?";
    return "string length " + length + (keyword == "minLength" ? " is below " : " is above ")
           + keyword + " " + rule_text(rule, keyword.c_str());
  }
  if (keyword == "minItems" || keyword == "maxItems") {
    std::string count = at && at->IsArray() ? std::to_string(at->Size()) : "?";
    return "array of " + count + " items" + (keyword == "minItems" ? " is below " : " is above ")
           + keyword + " " + rule_text(rule, keyword.c_str());
  }
  if (keyword == "pattern")
    return "string " + (at ? shown(*at) : "?") + " does not match pattern '"
           + rule_text(rule, "pattern") + "' (pattern)";
  if (keyword == "oneOf" || keyword == "anyOf") {
    std::string alternatives;
    if (const json::value* list = member(rule, keyword.c_str()); list && list->IsArray())
      for (const auto& alternative : list->GetArray())
        if (const json::value* d = member(&alternative, "description"); d && d->IsString())
          alternatives += (alternatives.empty() ? "" : " | ") + std::string(d->GetString());
    std::string text = keyword == "oneOf" ? "matches not exactly one of the alternatives"
                                          : "matches none of the alternatives";
    if (!alternatives.empty())
      text += " [" + alternatives + "]";
    return text + " (" + keyword + ")";
  }
  if (keyword == "not")
    return "matches a forbidden schema (not)";
  return "violates '" + keyword + "'";
}

} // namespace

std::vector<std::string> schema_names() {
  std::vector<std::string> names;
  for (const auto& entry : compiled())
    names.push_back(entry.first);
  return names;
}

bool has_schema(std::string_view name) { return compiled().count(name) > 0; }

std::string dataschema_for(std::string_view type) {
  return "schemas/" + std::string(type) + ".schema.json";
}

outcome<void> validate(std::string_view name, const json::value& v, std::string_view where) {
  const auto& schemas = compiled();
  auto it = schemas.find(name);
  if (it == schemas.end())
    return fail("no schema named '" + std::string(name) + "'");
  const compiled_schema& entry = it->second;
  if (!entry.schema)
    return fail("schema '" + std::string(name) + "' failed to load: " + entry.load_error);

  rapidjson::SchemaValidator validator(*entry.schema);
  if (v.Accept(validator))
    return {};

  const std::string keyword = validator.GetInvalidSchemaKeyword();
  const rapidjson::Pointer instance_pointer = validator.GetInvalidDocumentPointer();
  const json::value* rule = validator.GetInvalidSchemaPointer().Get(*entry.source);
  std::string location, detail;
  if (keyword == "additionalProperties" && instance_pointer.GetTokenCount() > 0) {
    // RapidJSON points at the unexpected key itself; report it on the object that holds it.
    const size_t parent_length = instance_pointer.GetTokenCount() - 1;
    const auto& key = instance_pointer.GetTokens()[parent_length];
    detail = "unknown property '" + std::string(key.name, key.length) + "' (additionalProperties)";
    location = pointer_text(rapidjson::Pointer(instance_pointer.GetTokens(), parent_length));
  } else {
    detail = explain(keyword, rule, instance_pointer.Get(v));
    location = pointer_text(instance_pointer);
  }
  location = std::string(where) + location;
  return fail("schema violation at " + (location.empty() ? std::string("(root)") : location) + ": "
              + detail);
}

} // namespace eventide::events
