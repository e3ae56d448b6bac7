// Secrets out of what users read back, as Batch AI did: secret values, storage account keys and
// passwords become null; everything else is shown as given.
#pragma once

#include <nlohmann/json.hpp>

namespace batchai::cp {

// A job document's properties: secrets[].value, containerSettings' registry password, and the
// accountKey of every mount volume's credentials.
nlohmann::json redact_job_properties(nlohmann::json props);

// A cluster's nodeSetup (mount volumes, setupTask.secrets) and userAccountSettings
// (adminUserPassword).
nlohmann::json redact_node_setup(nlohmann::json node_setup);
nlohmann::json redact_user_account(nlohmann::json settings);

}  // namespace batchai::cp
