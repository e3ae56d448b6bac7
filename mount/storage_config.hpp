// Reading the storage settings (docs/mounts.md) from JSON: the daemon's "storage" object and
// run-job's --storage-config file share this reader. Errors name the setting.
#pragma once

#include <string>

#include "common/diagnostics.hpp"
#include "common/json_reader.hpp"
#include "mount/storage_settings.hpp"

namespace batchai {

// Reads the settings from r (an object reader); unknown keys are reported by the caller's
// warn_unknown on r.
StorageSettings read_storage_settings(JsonReader& r, Diagnostics& d);

// Reads a file holding just the storage object.
StorageSettings load_storage_settings(const std::string& path, Diagnostics& d);

}  // namespace batchai
