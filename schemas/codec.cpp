// Encoding and decoding of the CloudEvents envelope and the typed payloads of model/events.hpp.
// Data fields are camelCase (see the *.schema.json files); JSON-valued struct fields hold
// compact JSON text and travel as JSON values, never as strings.
#include "schemas/codec.hpp"

#include <algorithm>
#include <iterator>
#include <type_traits>

#include "core/json.hpp"
#include "core/text.hpp"
#include "model/ids.hpp"
#include "schemas/payload_read.hpp"
#include "schemas/rfc3339.hpp"
#include "schemas/validation.hpp"

namespace eventide::events {

using detail::catalog_entry;
using detail::find_type;
using detail::int32;
using detail::object_member;
using detail::optional_text;
using detail::shape_error;
using detail::text;

namespace {

constexpr size_t max_record_bytes = 1 << 20; // 1 MiB, larger records go to the DLQ

// ---- writing data ------------------------------------------------------------------------------

// Builds one data object; JSON-text fields that do not parse fail with the struct field's name.
class data_writer {
 public:
  explicit data_writer(json::allocator& alloc) : alloc_(alloc), data_(rapidjson::kObjectType) {}

  /// A writer for a nested object, added with object().
  data_writer nested() { return data_writer(alloc_); }

  data_writer& text(const char* key, const std::string& s) {
    data_.AddMember(rapidjson::StringRef(key), json::str(s, alloc_), alloc_);
    return *this;
  }
  data_writer& integer(const char* key, int64_t n) {
    data_.AddMember(rapidjson::StringRef(key), json::value(n), alloc_);
    return *this;
  }
  data_writer& boolean(const char* key, bool b) {
    data_.AddMember(rapidjson::StringRef(key), json::value(b), alloc_);
    return *this;
  }
  data_writer& texts(const char* key, const std::vector<std::string>& list) {
    json::value array(rapidjson::kArrayType);
    for (const auto& s : list)
      array.PushBack(json::str(s, alloc_), alloc_);
    data_.AddMember(rapidjson::StringRef(key), array, alloc_);
    return *this;
  }
  data_writer& embedded(const char* key, const std::string& json_text, const char* field) {
    auto parsed = json::parse(json_text);
    if (!parsed) {
      if (error_.empty())
        error_ = std::string(field) + " is not valid JSON (" + parsed.error() + ")";
      return *this;
    }
    data_.AddMember(rapidjson::StringRef(key), json::value(*parsed, alloc_), alloc_);
    return *this;
  }
  data_writer& object(const char* key, data_writer& inner) {
    if (error_.empty())
      error_ = inner.error_;
    data_.AddMember(rapidjson::StringRef(key), inner.data_, alloc_);
    return *this;
  }

  outcome<json::value> finish() {
    if (!error_.empty())
      return fail(error_);
    return std::move(data_);
  }

 private:
  json::allocator& alloc_;
  json::value data_;
  std::string error_;
};

void write(const user_query_received& p, data_writer& w) {
  w.text("conversationId", p.conversation_id)
      .text("userId", p.user_id)
      .text("query", p.query)
      .integer("receivedAt", p.received_at);
}

void write(const synthesize_final_answer_requested& p, data_writer& w) {
  w.text("query", p.query)
      .integer("planVersion", p.plan_version)
      .embedded("plan", p.plan_json, "plan_json")
      .embedded("results", p.results_json, "results_json")
      .text("failure", p.failure)
      .text("failedStep", p.failed_step);
  if (!p.decisions.empty())
    w.texts("decisions", p.decisions);
  if (!p.compensations_json.empty())
    w.embedded("compensations", p.compensations_json, "compensations_json");
}

// The optional "tokens" object: only when the provider reported usage.
void write_tokens(int prompt, int completion, data_writer& w) {
  if (prompt < 0 && completion < 0)
    return;
  data_writer tokens = w.nested();
  tokens.integer("prompt", std::max(prompt, 0)).integer("completion", std::max(completion, 0));
  w.object("tokens", tokens);
}

void write(const plan_generated& p, data_writer& w) {
  data_writer planner = w.nested();
  planner.text("provider", p.planner_provider).text("model", p.planner_model);
  w.integer("planVersion", p.plan_version)
      .embedded("plan", p.plan_json, "plan_json")
      .object("planner", planner)
      .integer("planningMs", p.planning_ms);
  write_tokens(p.prompt_tokens, p.completion_tokens, w);
  if (!p.resolved_query.empty())
    w.text("resolvedQuery", p.resolved_query);
  if (!p.asked_by.empty())
    w.text("askedBy", p.asked_by);
}

void write(const planning_failed& p, data_writer& w) {
  w.text("reason", p.reason).texts("providerErrors", p.provider_errors);
}

void write(const tool_invocation_requested& p, data_writer& w) {
  w.text("invocationId", p.invocation_id)
      .integer("attempt", p.attempt)
      .text("stepId", p.step_id)
      .text("tool", p.tool)
      .embedded("args", p.args_json, "args_json")
      .integer("deadline", p.deadline);
}

void write(const tool_invocation_resulted& p, data_writer& w) {
  w.text("invocationId", p.invocation_id)
      .integer("attempt", p.attempt)
      .text("stepId", p.step_id)
      .text("tool", p.tool)
      .text("status", p.ok ? "ok" : "error")
      .embedded("result", p.result_json, "result_json");
  if (!p.ok)
    w.text("error", p.error); // the schema forbids `error` on success
  w.boolean("retryable", p.retryable).integer("workerMs", p.worker_ms);
}

void write(const plan_step_completed& p, data_writer& w) {
  w.text("stepId", p.step_id).text("status", p.status).integer("attempts", p.attempts);
}

void write(const plan_completed& p, data_writer& w) {
  w.integer("planVersion", p.plan_version).embedded("results", p.results_json, "results_json");
}

void write(const plan_failed& p, data_writer& w) {
  w.integer("planVersion", p.plan_version)
      .text("failedStep", p.failed_step)
      .text("reason", p.reason)
      .embedded("partialResults", p.partial_results_json, "partial_results_json")
      .boolean("compensationDone", p.compensation_done);
}

void write(const final_answer_synthesized& p, data_writer& w) {
  w.text("answer", p.answer)
      .text("provider", p.provider)
      .text("model", p.model)
      .texts("citations", p.citations)
      .boolean("failed", p.failed);
  write_tokens(p.prompt_tokens, p.completion_tokens, w);
}

void write(const plan_revision_requested& p, data_writer& w) {
  w.integer("planVersion", p.plan_version).text("reason", p.reason);
  if (!p.failed_step.empty())
    w.text("failedStep", p.failed_step);
  w.embedded("observations", p.observations_json, "observations_json");
}

void write(const plan_revised& p, data_writer& w) {
  data_writer planner = w.nested();
  planner.text("provider", p.planner_provider).text("model", p.planner_model);
  w.integer("planVersion", p.plan_version);
  if (p.plan_json != "null") // absent: finish
    w.embedded("plan", p.plan_json, "plan_json");
  w.text("rationale", p.rationale)
      .object("planner", planner)
      .integer("planningMs", p.planning_ms);
  write_tokens(p.prompt_tokens, p.completion_tokens, w);
}

void write(const plan_compensated& p, data_writer& w) {
  w.integer("planVersion", p.plan_version)
      .embedded("compensations", p.compensations_json, "compensations_json");
  if (p.round > 0)
    w.integer("round", p.round);
}

void write(const compensation_failed& p, data_writer& w) {
  w.integer("planVersion", p.plan_version)
      .embedded("compensations", p.compensations_json, "compensations_json")
      .text("failedStep", p.failed_step)
      .text("error", p.error);
  if (p.round > 0)
    w.integer("round", p.round);
}

void write(const approval_requested& p, data_writer& w) {
  w.integer("planVersion", p.plan_version)
      .text("stepId", p.step_id)
      .text("tool", p.tool)
      .embedded("args", p.args_json, "args_json")
      .text("reason", p.reason)
      .integer("expiresAt", p.expires_at);
}

void write(const approval_submitted& p, data_writer& w) {
  w.text("stepId", p.step_id).text("decision", p.approve ? "approve" : "reject").text("userId", p.user_id);
  if (!p.reason.empty())
    w.text("reason", p.reason);
}

// ApprovalGranted, ApprovalDenied: the same fields.
template <class Decision>
void write_decision(const Decision& p, data_writer& w) {
  w.text("stepId", p.step_id).text("userId", p.user_id);
  if (!p.reason.empty())
    w.text("reason", p.reason);
}
void write(const approval_granted& p, data_writer& w) { write_decision(p, w); }
void write(const approval_denied& p, data_writer& w) { write_decision(p, w); }

// CancelRequested, TurnCancelled: the same fields.
template <class Cancel>
void write_cancel(const Cancel& p, data_writer& w) {
  w.text("userId", p.user_id);
  if (!p.reason.empty())
    w.text("reason", p.reason);
}
void write(const cancel_requested& p, data_writer& w) { write_cancel(p, w); }
void write(const compensation_retry_requested& p, data_writer& w) { write_cancel(p, w); }
void write(const turn_cancelled& p, data_writer& w) { write_cancel(p, w); }

// The subject is the conversation id; a command that carries the id too must agree with it.
outcome<void> check_subject(const std::string& subject, const json::value& data) {
  auto conversation = json::get_string(data, "conversationId");
  if (conversation && *conversation != subject)
    return fail("subject '" + subject + "' differs from data.conversationId '" + *conversation
                + "'");
  return {};
}

// The invocation id a request or result carries, with its step.
struct invocation_ref {
  const std::string* id;
  const std::string* step;
};
std::optional<invocation_ref> invocation_of(const payload& p) {
  if (auto r = std::get_if<tool_invocation_requested>(&p))
    return invocation_ref{&r->invocation_id, &r->step_id};
  if (auto r = std::get_if<tool_invocation_resulted>(&p))
    return invocation_ref{&r->invocation_id, &r->step_id};
  return std::nullopt;
}

std::string quoted(std::string_view s) { return "'" + core::shorten(s) + "'"; }

} // namespace

outcome<void> check_ownership(const event& e) {
  const std::string& conv = e.subject;
  if (conv.find('/') != std::string::npos)
    return fail("subject " + quoted(conv) + " is not a conversation id (it contains '/')");
  auto foreign = [&](const char* field, const std::string& id, const std::string& expected) {
    return fail(std::string(field) + " " + quoted(id) + " does not belong to conversation "
                + quoted(conv) + " (expected " + quoted(expected) + ")");
  };
  if (!owned_by(e.id, conv))
    return foreign("id", e.id, conv + "/...");
  if (!e.causation_id.empty() && !owned_by(e.causation_id, conv))
    return foreign("causationid", e.causation_id, conv + "/...");
  const auto scope = turn_scope(conv, turn_of(e.data));
  if (auto inv = invocation_of(e.data); inv && !is_invocation_of(*inv->id, scope, *inv->step))
    return foreign("data.invocationId", *inv->id, scope + "/<planVersion>/" + *inv->step);
  return {};
}

namespace {

outcome<std::string> build(const event& e, const char* type) {
  json::document doc(rapidjson::kObjectType);
  auto& alloc = doc.GetAllocator();
  doc.AddMember("specversion", "1.0", alloc);
  doc.AddMember("id", json::str(e.id, alloc), alloc);
  doc.AddMember("type", rapidjson::StringRef(type), alloc);
  doc.AddMember("source", json::str(e.source, alloc), alloc);
  doc.AddMember("time", json::str(format_time(e.time_ms), alloc), alloc);
  doc.AddMember("subject", json::str(e.subject, alloc), alloc);
  doc.AddMember("datacontenttype", "application/json", alloc);
  doc.AddMember("dataschema", json::str(dataschema_for(type), alloc), alloc);
  if (!e.causation_id.empty())
    doc.AddMember("causationid", json::str(e.causation_id, alloc), alloc);
  if (!e.traceparent.empty())
    doc.AddMember("traceparent", json::str(e.traceparent, alloc), alloc);

  data_writer writer(alloc);
  std::visit([&](const auto& p) { write(p, writer); }, e.data);
  if (auto turn = turn_of(e.data); turn != 1)
    writer.integer("turn", turn); // absent = 1: turn-1 records read as before turns existed
  auto data = writer.finish();
  if (!data)
    return fail(data.error());
  doc.AddMember("data", data.value(), alloc);

  if (auto valid = validate("envelope", doc); !valid)
    return fail(valid.error());
  if (auto valid = validate(type, doc["data"], "/data"); !valid)
    return fail(valid.error());
  if (auto same = check_subject(e.subject, doc["data"]); !same)
    return fail(same.error());
  if (auto owned = check_ownership(e); !owned)
    return fail(owned.error());

  std::string text = json::dump(doc);
  if (text.size() > max_record_bytes)
    return fail("record too large (" + std::to_string(text.size()) + " bytes)");
  // Every part may be within the bound and the whole not (a tool result nested 63 deep sits 2
  // levels down in its record): every reader would refuse such a record, so it is not written.
  if (auto at = json::too_deep(text))
    return fail("record nested deeper than " + std::to_string(json::max_depth)
                + " levels (at byte " + std::to_string(*at) + ")");
  return text;
}

} // namespace

std::vector<std::pair<std::string, std::string>> cloudevents_headers(const event& e) {
  const char* type = type_name(e.data);
  std::vector<std::pair<std::string, std::string>> h = {
    {"ce_specversion", "1.0"},
    {"ce_id", e.id},
    {"ce_source", e.source},
    {"ce_type", type},
    {"ce_time", format_time(e.time_ms)},
    {"ce_subject", e.subject},
    {"ce_dataschema", dataschema_for(type)},
  };
  if (!e.causation_id.empty())
    h.emplace_back("ce_causationid", e.causation_id);
  if (!e.traceparent.empty())
    h.emplace_back("ce_traceparent", e.traceparent);
  h.emplace_back("content-type", "application/cloudevents+json; charset=UTF-8");
  return h;
}

outcome<std::string> encode(const event& e) {
  const char* type = type_name(e.data);
  auto text = build(e, type);
  if (!text)
    return fail("encode " + std::string(type) + ": " + text.error());
  return text;
}

std::string encode_or_empty(const event& e) {
  auto r = encode(e);
  return r ? *r : std::string{};
}

std::optional<std::string> peek_requested_tool(std::string_view bytes) {
  if (bytes.size() > max_record_bytes)
    return std::nullopt;
  auto parsed = json::parse(bytes);
  if (!parsed || !parsed->IsObject())
    return std::nullopt;
  const json::document& doc = *parsed;
  auto type = doc.FindMember("type");
  auto data = doc.FindMember("data");
  if (type == doc.MemberEnd() || !type->value.IsString()
      || std::string_view(type->value.GetString(), type->value.GetStringLength())
           != "ToolInvocationRequested"
      || data == doc.MemberEnd() || !data->value.IsObject())
    return std::nullopt;
  auto tool = data->value.FindMember("tool");
  if (tool == data->value.MemberEnd() || !tool->value.IsString())
    return std::nullopt;
  return std::string(tool->value.GetString(), tool->value.GetStringLength());
}

namespace {

// decode() with `validating`, and decode_handled() without: the two schema validations are all
// that differs.
outcome<event> decode_as(std::string_view bytes, bool validating) {
  if (bytes.size() > max_record_bytes)
    return fail("record too large (" + std::to_string(bytes.size()) + " bytes)");
  auto parsed = json::parse(bytes);
  if (!parsed)
    return fail(parsed.error());
  const json::document& doc = parsed.value();
  if (!doc.IsObject())
    return fail("not a JSON object");
  // A parsed string holds a NUL only from the escape \u0000 (a raw NUL byte fails the parse),
  // so text without that escape needs no walk over the document.
  if (bytes.find("\\u0000") != std::string_view::npos)
    if (auto at = json::find_nul(doc))
      return fail("text with a NUL character at " + (at->empty() ? std::string("/") : *at));
  if (validating)
    if (auto valid = validate("envelope", doc); !valid)
      return fail(valid.error());
  try {
    const std::string type = text(doc, "type");
    const catalog_entry* known = find_type(type);
    if (!known)
      return fail("unknown event type '" + type + "'");
    auto dataschema = json::get_string(doc, "dataschema");
    if (dataschema && *dataschema != dataschema_for(type))
      return fail("dataschema '" + *dataschema + "' does not match type '" + type + "'");
    const json::value& data = object_member(doc, "data");
    if (validating)
      if (auto valid = validate(type, data, "/data"); !valid)
        return fail(valid.error());

    event e;
    e.id = text(doc, "id");
    e.source = text(doc, "source");
    e.subject = text(doc, "subject");
    e.causation_id = optional_text(doc, "causationid");
    e.traceparent = optional_text(doc, "traceparent");
    auto time = parse_time(text(doc, "time"));
    if (!time)
      return fail(time.error());
    e.time_ms = time.value();
    if (auto same = check_subject(e.subject, data); !same)
      return fail(same.error());
    e.data = known->read(data);
    if (data.HasMember("turn")) {
      int turn = int32(data, "turn");
      std::visit([&](auto& p) { p.turn = turn; }, e.data);
    }
    if (auto owned = check_ownership(e); !owned)
      return fail(owned.error());
    return e;
  } catch (const shape_error& bad) {
    // After validation this is a schema that admits what its reader cannot read (a bug).
    return fail("record does not have the shape its reader expects (member '" + bad.where
                + "')");
  }
}

} // namespace

outcome<event> decode(std::string_view bytes) { return decode_as(bytes, true); }

outcome<event> decode_handled(std::string_view bytes) {
  if (auto e = decode_as(bytes, false))
    return e;
  return decode(bytes); // the failure decode() gives, word for word
}

} // namespace eventide::events
