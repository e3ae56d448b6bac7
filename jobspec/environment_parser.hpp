// environmentVariables and secrets (reference §1): lists of {name, value} read the same way for a
// job document and a cluster's setupTask. Names follow the environment's rules, are defined once
// across both lists, and never take a variable the agent sets itself (AZ_BATCHAI_*, AZ_BATCH_*,
// TF_CONFIG). A secret must carry its value: Key Vault references are the control plane's to
// resolve.
#pragma once

#include <vector>

#include "common/diagnostics.hpp"
#include "common/json_reader.hpp"
#include "jobspec/job_spec.hpp"

namespace batchai {

// Reads parent.environmentVariables into variables and parent.secrets into secrets.
void read_environment(JsonReader& parent, std::vector<NameValue>& variables,
                      std::vector<NameValue>& secrets, Diagnostics& d);

}  // namespace batchai
