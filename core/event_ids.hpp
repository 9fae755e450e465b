// Deterministic event ids: the same decision always gets the same id, so a duplicate produced
// after a crash is recognisable downstream (DESIGN §1.3).
#pragma once

#include <string>

#include "model/events.hpp"

namespace eventide::core {

/// e.g. "<conv>/plan/1", "<conv>/1/s2/request/3", "<conv>/1/s2/result/3", "<conv>/answer" for
/// turn 1; later turns put their scope in front: "<conv>/t2/plan/1", "<conv>/t2/answer"
/// (turn_scope, model/ids.hpp).
std::string deterministic_id(const std::string& conversation, const events::payload& p);

} // namespace eventide::core
