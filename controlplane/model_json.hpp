// The state file: the whole State as one JSON document (format 1).
#pragma once

#include <string>

#include "common/result.hpp"
#include "controlplane/model.hpp"

namespace batchai::cp {

std::string state_to_text(const State& state);
Result<State> state_from_text(const std::string& text);

}  // namespace batchai::cp
