// Service SAS tokens signed with the account key (HMAC-SHA256): for one blob container (the FUSE
// driver's config holds a token for that container only, never the account key itself) and for
// one blob (the control plane's download links of job files in a container).
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

// "<endpoint>/<container>/<blob>?sv=...&sr=b&sp=...&sig=..." granting `permissions` ("r": read)
// on that one blob until expiry_unix_s; blob is '/'-separated, each name percent-encoded in the
// URL and signed as it is.
Result<std::string> blob_sas_url(const std::string& endpoint, const std::string& account,
                                 const std::string& account_key, const std::string& container,
                                 const std::string& blob, std::int64_t expiry_unix_s,
                                 const std::string& permissions = "r");

// text with every SAS signature ("sig=...") blanked: drivers quote whole URLs in their errors.
std::string redact_sas(std::string text);

}  // namespace batchai
