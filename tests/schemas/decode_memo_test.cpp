// The process's decode memo (schemas/decode_memo.cpp): bytes this process encoded are read
// without validating them again; bytes from anywhere else are validated.
#include <catch2/catch.hpp>

#include <string>

#include "schemas/codec.hpp"
#include "schemas/decode_memo.hpp"

using namespace eventide::events;

namespace {

// Each test uses its own conversation id: the memo is the process's and outlives a test.
event step_completed(const std::string& conversation) {
  event e;
  e.id = conversation + "/evt-1";
  e.source = "eventide/test/n1";
  e.time_ms = 1795168800123;
  e.subject = conversation;
  e.data = plan_step_completed{"s1", "ok", 1};
  return e;
}

} // namespace

TEST_CASE("decode memo: a record this process encoded reads as decode() reads it") {
  auto bytes = encode(step_completed("memo-a"));
  REQUIRE(bytes);
  note_encoded(*bytes);
  auto shared = decode_shared(*bytes);
  REQUIRE(shared);
  auto plain = decode(*bytes);
  REQUIRE(plain);
  CHECK(*encode(*shared) == *encode(*plain));
  auto again = decode_shared(*bytes); // now from the memo
  REQUIRE(again);
  CHECK(*encode(*again) == *encode(*plain));
}

TEST_CASE("decode memo: bytes nobody here encoded are validated, however close to a record that was") {
  auto bytes = encode(step_completed("memo-b"));
  REQUIRE(bytes);
  note_encoded(*bytes);
  // The same record with a step id its schema refuses: it reads, but breaks a rule.
  auto tampered = *bytes;
  const std::string from = R"("stepId":"s1")";
  tampered.replace(tampered.find(from), from.size(), R"("stepId":"s 1")");
  auto r = decode_shared(tampered);
  REQUIRE_FALSE(r);
  CHECK(r.error() == decode(tampered).error());
  CHECK(r.error().find("schema violation at /data/stepId") == 0);
  // What the mark does: the same bytes, noted as encoded here, are not validated again (the
  // producer vouches for them; only encode() output is ever noted).
  note_encoded(tampered);
  CHECK(decode_shared(tampered).ok());
}
