// Fuzz target "envelope": a record's bytes exactly as every consumer group reads them.
// events::decode runs the JSON parse (depth bound, UTF-8 check), the NUL scan, envelope and
// per-type schema validation (RapidJSON + std::regex patterns), the RFC 3339 time parser and the
// typed readers; peek_requested_tool is the tool groups' cheap pre-read; decode_handled is the
// replay's read without the schema validations, on the same bytes (under ASan/UBSan: its typed
// reads check every member). Properties: a decoded event encodes again, and the re-encoded
// record decodes to the same text; decode_handled reads what decode reads as decode does, and
// fails with decode's reason.
#include <cstdint>
#include <string_view>

#include "schemas/codec.hpp"
#include "tests/fuzz/fuzz.hpp"

using namespace eventide;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  (void)events::peek_requested_tool(bytes);
  auto decoded = events::decode(bytes);
  auto handled = events::decode_handled(bytes);
  if (!decoded) {
    FUZZ_CHECK(handled.ok() || handled.error() == decoded.error(),
               "decode_handled must fail with decode's reason: " + handled.error());
    return 0;
  }
  FUZZ_CHECK(handled.ok(), "decode_handled must read what decode reads: " + handled.error());
  auto encoded = events::encode(decoded.value());
  FUZZ_CHECK(encoded.ok(), "a decoded event must encode: " + encoded.error());
  auto handled_encoded = events::encode(handled.value());
  FUZZ_CHECK(handled_encoded.ok() && handled_encoded.value() == encoded.value(),
             "decode_handled must read the event decode reads");
  auto again = events::decode(encoded.value());
  FUZZ_CHECK(again.ok(), "an encoded event must decode: " + again.error());
  auto encoded_again = events::encode(again.value());
  FUZZ_CHECK(encoded_again.ok() && encoded_again.value() == encoded.value(),
             "encode(decode(encode(e))) must equal encode(e)");
  return 0;
}
