// rclone's configuration file for one FUSE mount: the remote "volume" of the given type.
// rclone wants some secrets "obscured" (its reversible AES-CTR scheme, not protection: the file
// is root-only); the agent obscures them itself so no secret passes through an argv.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace batchai {

// rclone's obscure(): base64url(iv || AES-256-CTR(rclone's fixed key, iv, text)), no padding.
Result<std::string> rclone_obscure(const std::string& text);

// "[volume]\nkey = value\n..." for the given settings; values must be on one line.
Result<std::string> rclone_config(const std::vector<std::pair<std::string, std::string>>& settings);

}  // namespace batchai
