#include "actors/crash_point.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include <unistd.h>

namespace eventide {

namespace {

struct armed {
  std::optional<core::crash_spec> spec;
  std::string error; // a bad EVENTIDE_CRASH_AT; never armed then
};

const armed& setting() {
  static const armed a = [] {
    armed r;
    const char* env = std::getenv("EVENTIDE_CRASH_AT");
    if (!env || !*env)
      return r;
    auto spec = core::parse_crash_spec(env);
    if (spec)
      r.spec = *spec;
    else
      r.error = "EVENTIDE_CRASH_AT: " + spec.error();
    return r;
  }();
  return a;
}

std::atomic<uint64_t> hits{0};

struct armed_record {
  std::optional<core::record_crash_spec> spec;
  std::string error;
};

const armed_record& record_setting() {
  static const armed_record a = [] {
    armed_record r;
    const char* env = std::getenv("EVENTIDE_CRASH_ON_RECORD");
    if (!env || !*env)
      return r;
    auto spec = core::parse_record_crash_spec(env);
    if (spec)
      r.spec = *spec;
    else
      r.error = "EVENTIDE_CRASH_ON_RECORD: " + spec.error();
    return r;
  }();
  return a;
}

} // namespace

outcome<void> check_crash_setting() {
  const auto& a = setting();
  if (!a.error.empty())
    return fail(a.error);
  if (const auto& r = record_setting(); !r.error.empty())
    return fail(r.error);
  return {};
}

void crash_point(core::crash_site site, const char* context) {
  const auto& a = setting();
  if (!a.spec || a.spec->site != site)
    return;
  if (hits.fetch_add(1) + 1 != a.spec->nth)
    return;
  const auto& name = core::crash_site_names()[static_cast<size_t>(site)];
  std::fprintf(stderr, "eventide: crash point %s:%llu hit (%s), exiting with status %d\n",
               name.c_str(), static_cast<unsigned long long>(a.spec->nth), context,
               crash_exit_code);
  std::fflush(stderr);
  _exit(crash_exit_code);
}

void crash_on_record(const std::string& group, const std::string& value, const std::string& topic,
                     int32_t partition, int64_t offset) {
  const auto& a = record_setting();
  if (!a.spec || a.spec->group != group || value.find(a.spec->substring) == std::string::npos)
    return;
  std::fprintf(stderr, "eventide: crash on record hit (group %s, %s/%d@%lld), exiting with status %d\n",
               group.c_str(), topic.c_str(), partition, static_cast<long long>(offset),
               crash_exit_code);
  std::fflush(stderr);
  _exit(crash_exit_code);
}

} // namespace eventide
