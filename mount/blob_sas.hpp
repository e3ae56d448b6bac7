// A service SAS for one blob container, signed with the account key (HMAC-SHA256), so the FUSE
// driver's config holds a token for that container only, never the account key itself.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.hpp"

namespace batchai {

// "<endpoint>/<container>?sv=...&sig=..." granting read, add, create, write, delete and list
// until expiry_unix_s. endpoint is the blob service URL (https://<account>.blob.core.windows.net,
// or http://127.0.0.1:10000/<account> for Azurite). An account key that is not base64 is an error.
// `permissions` are the service's letters ("rl": read and list; "racwdl": a read-write mount).
Result<std::string> container_sas_url(const std::string& endpoint, const std::string& account,
                                      const std::string& account_key, const std::string& container,
                                      std::int64_t expiry_unix_s,
                                      const std::string& permissions = "racwdl");

// text with every SAS signature ("sig=...") blanked: drivers quote whole URLs in their errors.
std::string redact_sas(std::string text);

}  // namespace batchai
