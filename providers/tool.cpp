#include "providers/tool.hpp"

#include <cstdlib>
#include <mutex>
#include <string>

#include <fcntl.h>
#include <unistd.h>

namespace eventide::providers {

namespace {

// One write(2) per line on an O_APPEND descriptor: lines from several processes (or runners)
// never interleave, and a line is in the file as soon as write returns, even if the process is
// killed right after (the page cache outlives it). The variable is read on every run so that
// one test process can point it at a fresh file per test; unset (production), a run costs that
// look-up and nothing else. Set, the write is a small append to the page cache, cheap enough
// for tools that run on the scheduler.
void append_effect(const std::string& line) {
  const char* path = std::getenv("EVENTIDE_EFFECT_LOG");
  if (!path || !*path)
    return;
  static std::mutex mutex;
  static std::string open_path;
  static int fd = -1;
  std::lock_guard<std::mutex> guard{mutex};
  if (open_path != path) {
    if (fd >= 0)
      ::close(fd);
    fd = ::open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    open_path = path;
  }
  if (fd < 0)
    return;
  auto n = ::write(fd, line.data(), line.size());
  (void) n; // a test aid: a failed write shows as a missing line, which the test reports
}

} // namespace

tool_output tool::run(const std::string& invocation_id, int attempt, const std::string& args_json) {
  auto out = invoke_for(invocation_id, args_json);
  append_effect(name() + " " + invocation_id + " " + std::to_string(attempt) + "\n");
  return out;
}

} // namespace eventide::providers
