// The JSON Schemas (schemas/validation.cpp): every embedded schema against its fixture documents
// in tests/fixtures/events/<Schema>/ (valid-*.json must pass, invalid-*.json must fail with
// exactly the reason in the matching invalid-*.reason file; adding a fixture adds a case),
// concurrent use, and bounded patterns.
#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <functional>
#include <thread>

#include "core/json.hpp"
#include "schemas/codec.hpp"
#include "schemas/validation.hpp"
#include "tests/schemas/event_fixtures.hpp"

using namespace eventide;
using namespace eventide::events;
using namespace eventide::testing;

// ---- fixtures ------------------------------------------------------------------------------

TEST_CASE("every embedded schema has valid and invalid fixtures", "[codec][schema]") {
  auto names = schema_names();
  REQUIRE(names.size() == type_names().size() + 3); // + envelope, plan, compensations
  CHECK(has_schema("envelope"));
  CHECK(has_schema("plan"));
  CHECK(has_schema("compensations"));
  for (const auto& type : type_names())
    CHECK(has_schema(type));
  for (const auto& name : names) {
    INFO("schema " << name);
    CHECK(fixtures(fixtures_root / name, "valid-").size() >= 1);
    CHECK(fixtures(fixtures_root / name, "invalid-").size() >= 4);
  }
}

TEST_CASE("valid fixtures pass and survive a re-encode", "[codec][schema]") {
  size_t checked = 0;
  for (const auto& name : schema_names()) {
    for (const auto& path : fixtures(fixtures_root / name, "valid-")) {
      INFO("fixture " << path.string());
      std::string text = read_file(path);
      ++checked;
      if (name == "plan" || name == "compensations") { // parts of events, not events
        auto doc = json::parse(text);
        REQUIRE(doc.ok());
        auto valid = validate(name, doc.value());
        CHECK(valid.ok());
        if (!valid)
          FAIL_CHECK(valid.error());
        continue;
      }
      auto decoded = decode(text);
      if (!decoded) {
        FAIL_CHECK(decoded.error());
        continue;
      }
      if (name != "envelope")
        CHECK(type_name(decoded->data) == name);
      auto encoded = encode(decoded.value());
      if (!encoded)
        FAIL(encoded.error());
      auto again = decode(encoded.value());
      REQUIRE(again.ok());
      auto encoded_again = encode(again.value());
      REQUIRE(encoded_again.ok());
      CHECK(encoded_again.value() == encoded.value());
    }
  }
  CHECK(checked >= 2 * schema_names().size());
}

TEST_CASE("invalid fixtures fail with the expected reason", "[codec][schema]") {
  size_t checked = 0;
  for (const auto& name : schema_names()) {
    for (const auto& path : fixtures(fixtures_root / name, "invalid-")) {
      INFO("fixture " << path.string());
      fs::path reason_file = path;
      reason_file.replace_extension(".reason");
      REQUIRE(fs::exists(reason_file));
      const std::string expected = trimmed(read_file(reason_file));
      const std::string text = read_file(path);
      ++checked;
      // CHECK, not REQUIRE: one broken fixture should not hide the others.
      if (name == "plan" || name == "compensations") {
        auto doc = json::parse(text);
        REQUIRE(doc.ok());
        auto valid = validate(name, doc.value());
        CHECK_FALSE(valid.ok());
        if (!valid)
          CHECK(valid.error() == expected);
      } else {
        auto decoded = decode(text);
        CHECK_FALSE(decoded.ok());
        if (!decoded)
          CHECK(decoded.error() == expected);
      }
    }
  }
  CHECK(checked >= 4 * schema_names().size());
}

// ---- concurrency ---------------------------------------------------------------------------

TEST_CASE("schemas are shared safely by concurrent decoders", "[codec][schema]") {
  const std::string good = read_file(fixtures_root / "PlanGenerated" / "valid-design-plan.json");
  const std::string bad =
      read_file(fixtures_root / "PlanGenerated" / "invalid-step-id-pattern.json");
  const std::string bad_reason =
      trimmed(read_file(fixtures_root / "PlanGenerated" / "invalid-step-id-pattern.reason"));
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 300; ++i) {
        if (!decode(good).ok())
          ++wrong;
        auto r = decode(bad);
        if (r.ok() || r.error() != bad_reason)
          ++wrong;
      }
    });
  for (auto& t : threads)
    t.join();
  CHECK(wrong == 0);
}

// ---- bounded patterns ---------------------------------------------------------------------

TEST_CASE("every schema pattern is bounded by a maxLength", "[codec][schema]") {
  // Guards the maxLength fix (codec_test.cpp: a pattern-checked string of 200000 characters)
  // for schemas added later: an unbounded pattern is a poison record.
  std::function<void(const json::value&, const std::string&)> walk =
      [&](const json::value& v, const std::string& where) {
        if (v.IsObject()) {
          if (v.HasMember("pattern")) {
            INFO(where);
            REQUIRE(v.HasMember("maxLength"));
            CHECK(v["maxLength"].GetInt() <= 256);
          }
          for (const auto& m : v.GetObject())
            walk(m.value, where + "/" + m.name.GetString());
        } else if (v.IsArray()) {
          for (rapidjson::SizeType i = 0; i < v.Size(); ++i)
            walk(v[i], where + "/" + std::to_string(i));
        }
      };
  int files = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(EVENTIDE_SOURCE_DIR) / "schemas")) {
    if (entry.path().string().find(".schema.json") == std::string::npos)
      continue;
    auto doc = json::parse(read_file(entry.path()));
    REQUIRE(doc.ok());
    walk(doc.value(), entry.path().filename().string());
    ++files;
  }
  CHECK(files == static_cast<int>(schema_names().size()));
}
