#include <catch2/catch.hpp>

#include <string>

#include "storage/dead_letter.hpp"
#include "core/json.hpp"
#include "tests/storage/embedded_log_fixture.hpp"
#include "tests/temp_dir.hpp"

using namespace eventide;
using namespace eventide::storage;

namespace {

record sample_record(std::string value, std::string key = "conv-42") {
  record r;
  r.topic = "conversation-events";
  r.partition = partition_id{4};
  r.offset = log_offset{1234};
  r.key = std::move(key);
  r.value = std::move(value);
  return r;
}

dead_letter round_trip(const dead_letter& letter) {
  auto decoded = decode_dead_letter(encode_dead_letter(letter));
  REQUIRE(decoded.ok());
  return decoded.value();
}

void require_same(const dead_letter& a, const dead_letter& b) {
  CHECK(a.reason == b.reason);
  CHECK(a.source_topic == b.source_topic);
  CHECK(a.partition == b.partition);
  CHECK(a.offset == b.offset);
  CHECK(a.consumer_group == b.consumer_group);
  CHECK(a.key == b.key);
  CHECK(a.value == b.value);
  CHECK(a.value_encoding == b.value_encoding);
  CHECK(a.value_size == b.value_size);
  CHECK(a.recorded_at_ms == b.recorded_at_ms);
  CHECK(a.node == b.node);
}

} // namespace

TEST_CASE("dead letter keeps a UTF-8 value as text", "[dead_letter]") {
  std::string value = R"({"type":"PlanGenerated","note":"héllo ✓ 🚀"})";
  auto letter = make_dead_letter(sample_record(value), "orchestrator", "schema: missing id",
                                 "node-a", 1700000000123);
  CHECK(letter.value_encoding == "utf8");
  CHECK(letter.value == value);
  CHECK(letter.value_size == static_cast<int64_t>(value.size()));
  CHECK(letter.source_topic == "conversation-events");
  CHECK(letter.partition == 4);
  CHECK(letter.offset == 1234);
  CHECK(letter.consumer_group == "orchestrator");
  CHECK(letter.key == "conv-42");
  CHECK(letter.reason == "schema: missing id");
  CHECK(letter.node == "node-a");
  CHECK(letter.recorded_at_ms == 1700000000123);

  std::string text = encode_dead_letter(letter);
  auto doc = json::parse(text);
  REQUIRE(doc.ok());
  const auto& obj = doc.value();
  CHECK(json::get_string(obj, "reason") == std::optional<std::string>("schema: missing id"));
  CHECK(json::get_string(obj, "sourceTopic") == std::optional<std::string>("conversation-events"));
  CHECK(json::get_int(obj, "partition") == std::optional<int64_t>(4));
  CHECK(json::get_int(obj, "offset") == std::optional<int64_t>(1234));
  CHECK(json::get_string(obj, "consumerGroup") == std::optional<std::string>("orchestrator"));
  CHECK(json::get_string(obj, "key") == std::optional<std::string>("conv-42"));
  CHECK(json::get_string(obj, "value") == std::optional<std::string>(value));
  CHECK(json::get_string(obj, "valueEncoding") == std::optional<std::string>("utf8"));
  CHECK(json::get_int(obj, "valueSize") == std::optional<int64_t>(value.size()));
  CHECK(json::get_int(obj, "recordedAtMs") == std::optional<int64_t>(1700000000123));
  CHECK(json::get_string(obj, "node") == std::optional<std::string>("node-a"));
  CHECK_FALSE(obj.HasMember("keyEncoding"));

  require_same(round_trip(letter), letter);
  auto original = original_value(letter);
  REQUIRE(original.ok());
  CHECK(original.value() == value);
}

TEST_CASE("dead letter stores binary values as base64 and redrives them exactly",
          "[dead_letter]") {
  std::string binary("\x00\x01\xff\xfe{not json", 13);
  auto letter = make_dead_letter(sample_record(binary), "router", "invalid JSON", "n1", 5);
  CHECK(letter.value_encoding == "base64");
  CHECK(letter.value == base64_encode(binary));
  CHECK(letter.value_size == 13);
  auto back = round_trip(letter);
  require_same(back, letter);
  auto original = original_value(back);
  REQUIRE(original.ok());
  CHECK(original.value() == binary);

  // Malformed UTF-8 forms count as binary: overlong, surrogate, above U+10FFFF, truncated.
  for (std::string bad : {std::string("\xC0\xAF"), std::string("\xED\xA0\x80"),
                          std::string("\xF4\x90\x80\x80"), std::string("ok\xE2\x82")}) {
    CHECK_FALSE(is_valid_utf8(bad));
    CHECK(make_dead_letter(sample_record(bad), "g", "r", "n", 0).value_encoding == "base64");
  }
  CHECK(is_valid_utf8("plain ascii"));
  CHECK(is_valid_utf8("\xE2\x82\xAC \xF0\x9F\x9A\x80")); // € and 🚀
}

TEST_CASE("dead letter keeps only a base64 prefix of values above 64 KiB", "[dead_letter]") {
  std::string exactly_limit(64 * 1024, 'x');
  auto whole = make_dead_letter(sample_record(exactly_limit), "g", "too slow", "n", 1);
  CHECK(whole.value_encoding == "utf8");
  CHECK(whole.value == exactly_limit);

  std::string huge(100 * 1024, 'y');
  huge[0] = 'A';
  huge[4095] = 'Z';
  huge[4096] = 'Q'; // just past the kept prefix
  auto letter = make_dead_letter(sample_record(huge), "g", "handler failed", "n", 2);
  CHECK(letter.value_encoding == "base64-prefix");
  CHECK(letter.value_size == 100 * 1024);
  auto prefix = base64_decode(letter.value);
  REQUIRE(prefix.ok());
  REQUIRE(prefix.value().size() == 4096);
  CHECK(prefix.value() == huge.substr(0, 4096));

  auto back = round_trip(letter);
  require_same(back, letter);
  auto original = original_value(back);
  REQUIRE_FALSE(original.ok());
  CHECK(original.error().find("base64-prefix") != std::string::npos);
  CHECK(original.error().find("conversation-events/4@1234") != std::string::npos);

  std::string binary_huge(64 * 1024 + 1, '\xff');
  CHECK(make_dead_letter(sample_record(binary_huge), "g", "r", "n", 0).value_encoding
        == "base64-prefix");
}

TEST_CASE("dead letter keeps binary keys exactly and sanitizes text fields", "[dead_letter]") {
  std::string key("\xff\x00k", 3);
  auto letter = make_dead_letter(sample_record("v", key), "g", "bad \xC3 byte", "n", 3);
  std::string text = encode_dead_letter(letter);
  auto doc = json::parse(text);
  REQUIRE(doc.ok()); // still valid JSON despite the bad byte in reason
  CHECK(json::get_string(doc.value(), "keyEncoding") == std::optional<std::string>("base64"));
  CHECK(json::get_string(doc.value(), "key") == std::optional<std::string>(base64_encode(key)));
  CHECK(json::get_string(doc.value(), "reason")
        == std::optional<std::string>("bad \xEF\xBF\xBD byte"));

  auto back = decode_dead_letter(text);
  REQUIRE(back.ok());
  CHECK(back.value().key == key);
}

TEST_CASE("decode_dead_letter names what is wrong", "[dead_letter]") {
  auto good = make_dead_letter(sample_record("v"), "g", "r", "n", 9);
  auto doc = json::parse(encode_dead_letter(good));
  REQUIRE(doc.ok());

  SECTION("missing member") {
    doc.value().RemoveMember("sourceTopic");
    auto r = decode_dead_letter(json::dump(doc.value()));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error() == "dead letter: member 'sourceTopic' is missing or not a string");
  }
  SECTION("wrong type") {
    doc.value()["offset"].SetString("12");
    auto r = decode_dead_letter(json::dump(doc.value()));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error() == "dead letter: member 'offset' is missing or not an integer");
  }
  SECTION("unknown value encoding") {
    doc.value()["valueEncoding"].SetString("rot13");
    auto r = decode_dead_letter(json::dump(doc.value()));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().find("valueEncoding") != std::string::npos);
    CHECK(r.error().find("rot13") != std::string::npos);
  }
  SECTION("not JSON or not an object") {
    CHECK_FALSE(decode_dead_letter("{oops").ok());
    auto r = decode_dead_letter("[1,2]");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error() == "dead letter: expected a JSON object");
  }
  SECTION("base64 value that does not match valueSize") {
    dead_letter letter = good;
    letter.value_encoding = "base64";
    letter.value = base64_encode("abc");
    letter.value_size = 4;
    auto r = original_value(letter);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().find("valueSize") != std::string::npos);
  }
}

TEST_CASE("base64 follows RFC 4648", "[dead_letter]") {
  // RFC 4648 §10 test vectors.
  const std::pair<std::string, std::string> vectors[] = {
    {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},     {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    CHECK(base64_encode(plain) == encoded);
    auto decoded = base64_decode(encoded);
    REQUIRE(decoded.ok());
    CHECK(decoded.value() == plain);
  }
  CHECK(base64_encode(std::string("\xfb\xff", 2)) == "+/8=");
  CHECK_FALSE(base64_decode("Zm9").ok());   // length not a multiple of 4
  CHECK_FALSE(base64_decode("Zm9*").ok());  // invalid character
  CHECK_FALSE(base64_decode("Z=9v").ok());  // padding in the middle
}

TEST_CASE("dead letter topic name", "[dead_letter]") {
  CHECK(std::string(dead_letter_topic) == "dead-letter-queue");
}

TEST_CASE("a dead letter stays small whatever the record's key and reason", "[dead_letter]") {
  // On Kafka a letter over the message size limit could never be written: the group would
  // stay on the record for good. A 900 kB key and a reason quoting it are cut.
  std::string key(900000, 'k');
  std::string reason = "record key '" + key + "' differs from subject 'c'";
  auto letter = make_dead_letter(sample_record(std::string(900000, 'v'), key), "orchestrator",
                                 reason, "node-a", 1);
  CHECK(letter.key == std::string(4096, 'k'));
  CHECK(letter.key_size == 900000);
  CHECK(letter.reason == "record key '" + std::string(4096 - 12, 'k') + "...");
  auto text = encode_dead_letter(letter);
  CHECK(text.size() < 20000);
  auto back = round_trip(letter);
  require_same(letter, back);
  CHECK(back.key_size == 900000);
  auto key_back = original_key(back);
  REQUIRE_FALSE(key_back);
  CHECK(key_back.error() == "dead letter keeps only the first 4096 of 900000 key bytes; read the "
                            "original at conversation-events/4@1234");
  // Keys up to 4 KiB stay whole (and redrive exactly).
  auto small = make_dead_letter(sample_record("x", std::string(4096, 'k')), "g", "r", "n", 1);
  CHECK(small.key_size == -1);
  CHECK(*original_key(round_trip(small)) == std::string(4096, 'k'));
}

TEST_CASE("read_group_letters: the offsets one group dead-lettered, per source partition",
          "[dead_letter]") {
  testing::temp_dir dir;
  auto l = testing::open_log(dir.path);
  const std::string dlq = "dead-letter-queue";
  auto none = read_group_letters(*l, dlq, "orchestrator", std::chrono::seconds(5));
  REQUIRE(none);
  CHECK(none->empty()); // no letter yet: nothing to pass over

  auto letter = [&](const std::string& topic, int32_t partition, int64_t offset,
                    const std::string& group) {
    record r = sample_record("{}", "k" + std::to_string(offset));
    r.topic = topic;
    r.partition = partition_id{partition};
    r.offset = log_offset{offset};
    auto dl = make_dead_letter(r, group, "schema violation", "n1", 1);
    testing::produce_sync(*l, dlq, dl.key, encode_dead_letter(dl));
  };
  letter("conversation-events", 0, 7, "orchestrator");
  letter("conversation-events", 0, 9, "orchestrator");
  letter("conversation-events", 2, 7, "orchestrator");
  letter("tool-requests", 1, 3, "orchestrator");
  letter("conversation-events", 1, 5, "aggregator"); // another group's
  // A redrive's marker and a record that is no letter at all name no offset.
  testing::produce_sync(*l, dlq, "k7", R"({"redriveOf":"0:0","to":"x/0@1","fixed":false,"at":1})");
  testing::produce_sync(*l, dlq, "k8", "not a letter");

  auto got = read_group_letters(*l, dlq, "orchestrator", std::chrono::seconds(5));
  REQUIRE(got);
  offsets_by_partition expected = {{{"conversation-events", 0}, {7, 9}},
                                   {{"conversation-events", 2}, {7}},
                                   {{"tool-requests", 1}, {3}}};
  CHECK(*got == expected);
  auto other = read_group_letters(*l, dlq, "aggregator", std::chrono::seconds(5));
  REQUIRE(other);
  CHECK(*other == offsets_by_partition{{{"conversation-events", 1}, {5}}});
}
