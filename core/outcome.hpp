// outcome<T>: a value or a failure with a human-readable reason. Pure code returns this instead
// of throwing so callers (actors, CLI) decide how to report: DLQ, PlanFailed, one-line exit.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace eventide {

struct failure {
  std::string reason;
};

inline failure fail(std::string reason) { return failure{std::move(reason)}; }

template <class T>
class [[nodiscard]] outcome {
 public:
  outcome(T value) : v_(std::move(value)) {}
  outcome(failure f) : v_(std::move(f)) {}

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const std::string& error() const { return std::get<1>(v_).reason; }
  failure take_failure() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, failure> v_;
};

template <>
class [[nodiscard]] outcome<void> {
 public:
  outcome() = default;
  outcome(failure f) : ok_(false), reason_(std::move(f.reason)) {}
  bool ok() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  const std::string& error() const { return reason_; }

 private:
  bool ok_ = true;
  std::string reason_;
};

} // namespace eventide
