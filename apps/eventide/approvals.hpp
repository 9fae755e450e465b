// The approvals waiting for a person (DESIGN §15), read from the log: `approvals` lists them,
// `approve`/`reject` find the one a decision is for.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "options.hpp"
#include "storage/log.hpp"

namespace eventide::cli {

struct pending_approval {
  std::string conversation;
  int turn = 1;
  std::string step;
  std::string tool;
  std::string args_json;
  std::string reason;
  int64_t expires_at = 0;
};

/// ApprovalRequested records with no ApprovalGranted/ApprovalDenied after them, in a turn that
/// has not ended, oldest first; only `conversation`'s when given.
std::vector<pending_approval> pending_approvals(storage::log& log, const options& cfg,
                                                const std::string& conversation = "");

} // namespace eventide::cli
