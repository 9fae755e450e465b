// The event codec: CloudEvents envelope and typed payloads (model/events.hpp) to and from
// JSON, validated against the embedded schemas, and the Kafka headers of an event.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/outcome.hpp"
#include "model/events.hpp"

namespace eventide::events {

/// Builds the JSON text of an event and validates it against the envelope schema and the
/// payload's schema; a failure means a producer bug and names the violated rule.
outcome<std::string> encode(const event& e);

/// encode(e), or "" when it fails: for the orchestrator's snapshot, which keeps in-flight
/// decisions as event texts (an empty one fails the restore, and the conversation is read
/// again from the log instead).
std::string encode_or_empty(const event& e);

/// The event's CloudEvents attributes as Kafka headers, binary-mode names (Kafka protocol
/// binding): ce_specversion, ce_id, ce_source, ce_type, ce_time, ce_subject, ce_dataschema and
/// the extensions ce_causationid and ce_traceparent when set, plus content-type
/// "application/cloudevents+json; charset=UTF-8" because the value stays the structured event.
/// Lets standard tooling route on the type without parsing the value.
std::vector<std::pair<std::string, std::string>> cloudevents_headers(const event& e);

/// Parses bytes, validates envelope and data against their schemas, and builds the typed event.
/// The failure reason is suitable for the dead-letter queue ("invalid JSON at byte 3: ...",
/// "unknown event type 'Foo'", "schema violation in data at /plan: required property ...").
outcome<event> decode(std::string_view bytes);

/// decode() without the schema validations (two thirds of decode's instructions), for a record
/// its reader handled before: one below its group's committed offset that the group did not
/// dead-letter (storage::read_group_letters). Everything else decode() checks is checked (size,
/// depth, UTF-8, repeated keys, NUL, type, subject, ownership), and every member is read with
/// its type checked, so any input fails or reads, never crashes. Where decode() succeeds both
/// give the same event; where decode_handled() fails it gives decode()'s reason. A record that
/// reads but breaks a schema rule is returned: the caller vouches that it was validated.
outcome<event> decode_handled(std::string_view bytes);

/// Whether every reference an event carries belongs to its conversation (the subject): the
/// subject holds no '/', and the event id, the causation id and the invocation id of a request
/// or result are derived from it ("<conv>/...", "<conv>/<planVersion>/<stepId>", see
/// model/ids.hpp). A record written under conversation A that names B's invocation would
/// otherwise run B's step and fill B's ledger entry with A's result. decode() and encode()
/// refuse such events with this reason ("data.invocationId 'B/1/s1' does not belong to
/// conversation 'A' (expected 'A/<planVersion>/s1')").
outcome<void> check_ownership(const event& e);

/// The tool a ToolInvocationRequested record names, read without validating it; nullopt when
/// the bytes are not such a record with a string `data.tool`. Lets a tool's consumer group
/// pass over requests for other tools cheaply (the addressed group validates them).
std::optional<std::string> peek_requested_tool(std::string_view bytes);

} // namespace eventide::events
