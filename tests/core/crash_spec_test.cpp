#include <catch2/catch.hpp>

#include "core/crash_spec.hpp"

using namespace eventide::core;

TEST_CASE("crash spec: a point, optionally with the hit to die at", "[crash]") {
  auto a = parse_crash_spec("after-effect");
  REQUIRE(a);
  CHECK(a->site == crash_site::after_effect);
  CHECK(a->nth == 1);
  auto b = parse_crash_spec("mid-restore:5");
  REQUIRE(b);
  CHECK(b->site == crash_site::mid_restore);
  CHECK(b->nth == 5);
  for (size_t i = 0; i < crash_site_names().size(); ++i) {
    auto s = parse_crash_spec(crash_site_names()[i]);
    REQUIRE(s);
    CHECK(static_cast<size_t>(s->site) == i);
  }
}

TEST_CASE("crash spec: bad settings say what is wrong", "[crash]") {
  auto unknown = parse_crash_spec("after-lunch");
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error()
        == "unknown crash point 'after-lunch' (known: before-effect, after-effect, after-produce, "
           "after-snapshot, mid-restore, after-result, before-commit)");
  for (auto bad : {"after-effect:", "after-effect:0", "after-effect:x", "after-effect:2x",
                   "after-effect:-1"}) {
    INFO(bad);
    auto r = parse_crash_spec(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().find("positive integer") != std::string::npos);
  }
}

TEST_CASE("crash spec: a record that crashes one group", "[crash]") {
  auto a = parse_record_crash_spec("router:CRASH-ME");
  REQUIRE(a);
  CHECK(a->group == "router");
  CHECK(a->substring == "CRASH-ME");
  auto b = parse_record_crash_spec("cl1-tool-math:\"query\":\"boom\"");
  REQUIRE(b);
  CHECK(b->group == "cl1-tool-math");
  CHECK(b->substring == "\"query\":\"boom\"");
  for (auto bad : {"", "router", "router:", ":boom"}) {
    INFO(bad);
    auto r = parse_record_crash_spec(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().find("expected <group>:<substring>") != std::string::npos);
  }
}
