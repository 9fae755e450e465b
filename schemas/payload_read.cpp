// The typed readers of the event payloads (model/events.hpp) from their JSON data, and the
// catalog of event types: the reading half of the codec (schemas/codec.cpp decodes with them).
#include "schemas/payload_read.hpp"

#include <iterator>

#include "core/json.hpp"

namespace eventide::events::detail {

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

std::string optional_text(const json::value& obj, const char* key) {
  return obj.HasMember(key) ? text(obj, key) : std::string();
}

namespace {

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

} // namespace

const catalog_entry* find_type(std::string_view name) {
  for (const auto& e : catalog)
    if (name == e.name)
      return &e;
  return nullptr;
}

} // namespace eventide::events::detail
