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
#include "schemas/rfc3339.hpp"
#include "schemas/validation.hpp"

namespace eventide::events {

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

// ---- reading data ------------------------------------------------------------------------------
//
// After schema validation every member a reader asks for exists with the right type. The
// accessors check it anyway: decode_handled() reads records without validating them, and a
// record that is not what it should be must fail the read, never crash it (RapidJSON's
// accessors do not check in a release build).

// A member missing, or of another type than the reader expects, at `where`.
struct shape_error {
  std::string where;
};

const json::value& member(const json::value& obj, const char* key) {
  if (!obj.IsObject())
    throw shape_error{key};
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd())
    throw shape_error{key};
  return it->value;
}

const json::value& object_member(const json::value& obj, const char* key) {
  const json::value& v = member(obj, key);
  if (!v.IsObject())
    throw shape_error{key};
  return v;
}

std::string text(const json::value& data, const char* key) {
  const json::value& v = member(data, key);
  if (!v.IsString())
    throw shape_error{key};
  return std::string(v.GetString(), v.GetStringLength());
}
int int32(const json::value& data, const char* key) {
  const json::value& v = member(data, key);
  if (!v.IsInt())
    throw shape_error{key};
  return v.GetInt();
}
int64_t int64(const json::value& data, const char* key) {
  const json::value& v = member(data, key);
  if (!v.IsInt64())
    throw shape_error{key};
  return v.GetInt64();
}
bool boolean(const json::value& data, const char* key) {
  const json::value& v = member(data, key);
  if (!v.IsBool())
    throw shape_error{key};
  return v.GetBool();
}
std::string compact(const json::value& data, const char* key) {
  return json::dump(member(data, key));
}
std::vector<std::string> texts(const json::value& data, const char* key) {
  const json::value& list = member(data, key);
  if (!list.IsArray())
    throw shape_error{key};
  std::vector<std::string> out;
  for (const auto& item : list.GetArray()) {
    if (!item.IsString())
      throw shape_error{key};
    out.emplace_back(item.GetString(), item.GetStringLength());
  }
  return out;
}

void read_tokens(const json::value& d, int& prompt, int& completion) {
  if (d.HasMember("tokens")) {
    const json::value& tokens = object_member(d, "tokens");
    prompt = int32(tokens, "prompt");
    completion = int32(tokens, "completion");
  }
}

void read(const json::value& d, user_query_received& p) {
  p.conversation_id = text(d, "conversationId");
  p.user_id = text(d, "userId");
  p.query = text(d, "query");
  p.received_at = int64(d, "receivedAt");
}

void read(const json::value& d, synthesize_final_answer_requested& p) {
  p.query = text(d, "query");
  p.plan_version = int32(d, "planVersion");
  p.plan_json = compact(d, "plan");
  p.results_json = compact(d, "results");
  p.failure = text(d, "failure");
  p.failed_step = text(d, "failedStep");
  if (d.HasMember("decisions"))
    p.decisions = texts(d, "decisions");
  if (d.HasMember("compensations"))
    p.compensations_json = compact(d, "compensations");
}

void read(const json::value& d, plan_generated& p) {
  p.plan_version = int32(d, "planVersion");
  p.plan_json = compact(d, "plan");
  p.planner_provider = text(object_member(d, "planner"), "provider");
  p.planner_model = text(object_member(d, "planner"), "model");
  p.planning_ms = int64(d, "planningMs");
  read_tokens(d, p.prompt_tokens, p.completion_tokens);
  if (d.HasMember("resolvedQuery"))
    p.resolved_query = text(d, "resolvedQuery");
  if (d.HasMember("askedBy"))
    p.asked_by = text(d, "askedBy");
}

void read(const json::value& d, planning_failed& p) {
  p.reason = text(d, "reason");
  p.provider_errors = texts(d, "providerErrors");
}

void read(const json::value& d, tool_invocation_requested& p) {
  p.invocation_id = text(d, "invocationId");
  p.attempt = int32(d, "attempt");
  p.step_id = text(d, "stepId");
  p.tool = text(d, "tool");
  p.args_json = compact(d, "args");
  p.deadline = int64(d, "deadline");
}

void read(const json::value& d, tool_invocation_resulted& p) {
  p.invocation_id = text(d, "invocationId");
  p.attempt = int32(d, "attempt");
  p.step_id = text(d, "stepId");
  p.tool = text(d, "tool");
  p.ok = text(d, "status") == "ok";
  p.result_json = compact(d, "result");
  p.error = p.ok ? "" : text(d, "error");
  p.retryable = boolean(d, "retryable");
  p.worker_ms = int64(d, "workerMs");
}

void read(const json::value& d, plan_step_completed& p) {
  p.step_id = text(d, "stepId");
  p.status = text(d, "status");
  p.attempts = int32(d, "attempts");
}

void read(const json::value& d, plan_completed& p) {
  p.plan_version = int32(d, "planVersion");
  p.results_json = compact(d, "results");
}

void read(const json::value& d, plan_failed& p) {
  p.plan_version = int32(d, "planVersion");
  p.failed_step = text(d, "failedStep");
  p.reason = text(d, "reason");
  p.partial_results_json = compact(d, "partialResults");
  p.compensation_done = boolean(d, "compensationDone");
}

void read(const json::value& d, final_answer_synthesized& p) {
  p.answer = text(d, "answer");
  p.provider = text(d, "provider");
  p.model = text(d, "model");
  p.citations = texts(d, "citations");
  p.failed = boolean(d, "failed");
  read_tokens(d, p.prompt_tokens, p.completion_tokens);
}

void read(const json::value& d, plan_revision_requested& p) {
  p.plan_version = int32(d, "planVersion");
  p.reason = text(d, "reason");
  if (d.HasMember("failedStep"))
    p.failed_step = text(d, "failedStep");
  p.observations_json = compact(d, "observations");
}

void read(const json::value& d, plan_revised& p) {
  p.plan_version = int32(d, "planVersion");
  p.plan_json = d.HasMember("plan") ? compact(d, "plan") : "null";
  p.rationale = text(d, "rationale");
  p.planner_provider = text(object_member(d, "planner"), "provider");
  p.planner_model = text(object_member(d, "planner"), "model");
  p.planning_ms = int64(d, "planningMs");
  read_tokens(d, p.prompt_tokens, p.completion_tokens);
}

void read(const json::value& d, plan_compensated& p) {
  p.plan_version = int32(d, "planVersion");
  p.compensations_json = compact(d, "compensations");
  if (d.HasMember("round"))
    p.round = int32(d, "round");
}

void read(const json::value& d, compensation_failed& p) {
  p.plan_version = int32(d, "planVersion");
  p.compensations_json = compact(d, "compensations");
  p.failed_step = text(d, "failedStep");
  p.error = text(d, "error");
  if (d.HasMember("round"))
    p.round = int32(d, "round");
}

void read(const json::value& d, approval_requested& p) {
  p.plan_version = int32(d, "planVersion");
  p.step_id = text(d, "stepId");
  p.tool = text(d, "tool");
  p.args_json = compact(d, "args");
  p.reason = text(d, "reason");
  p.expires_at = int64(d, "expiresAt");
}

void read(const json::value& d, approval_submitted& p) {
  p.step_id = text(d, "stepId");
  p.approve = text(d, "decision") == "approve";
  p.user_id = text(d, "userId");
  if (d.HasMember("reason"))
    p.reason = text(d, "reason");
}

template <class Decision>
void read_decision(const json::value& d, Decision& p) {
  p.step_id = text(d, "stepId");
  p.user_id = text(d, "userId");
  if (d.HasMember("reason"))
    p.reason = text(d, "reason");
}
void read(const json::value& d, approval_granted& p) { read_decision(d, p); }
void read(const json::value& d, approval_denied& p) { read_decision(d, p); }

template <class Cancel>
void read_cancel(const json::value& d, Cancel& p) {
  p.user_id = text(d, "userId");
  if (d.HasMember("reason"))
    p.reason = text(d, "reason");
}
void read(const json::value& d, cancel_requested& p) { read_cancel(d, p); }
void read(const json::value& d, compensation_retry_requested& p) { read_cancel(d, p); }
void read(const json::value& d, turn_cancelled& p) { read_cancel(d, p); }

// ---- catalog --------------------------------------------------------------------------------

struct catalog_entry {
  const char* name;
  payload (*read)(const json::value& data);
};

template <class T>
payload read_as(const json::value& data) {
  T p;
  read(data, p);
  return p;
}

template <class T>
constexpr catalog_entry entry() {
  return {event_traits<T>::name, &read_as<T>};
}

// DESIGN §4 order.
const catalog_entry catalog[] = {
    entry<user_query_received>(),      entry<plan_generated>(),
    entry<planning_failed>(),          entry<tool_invocation_requested>(),
    entry<tool_invocation_resulted>(), entry<plan_step_completed>(),
    entry<plan_completed>(),           entry<plan_failed>(),
    entry<synthesize_final_answer_requested>(), entry<final_answer_synthesized>(),
    entry<plan_revision_requested>(),  entry<plan_revised>(),
    entry<plan_compensated>(),         entry<compensation_failed>(),
    entry<approval_requested>(),       entry<approval_submitted>(),
    entry<approval_granted>(),         entry<approval_denied>(),
    entry<cancel_requested>(),         entry<turn_cancelled>(),
    entry<compensation_retry_requested>(),
};
static_assert(std::size(catalog) == std::variant_size_v<payload>,
              "every payload type needs a catalog entry");

const catalog_entry* find_type(std::string_view name) {
  for (const auto& e : catalog)
    if (name == e.name)
      return &e;
  return nullptr;
}

std::string optional_text(const json::value& obj, const char* key) {
  return obj.HasMember(key) ? text(obj, key) : std::string();
}

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
