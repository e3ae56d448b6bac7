// The cluster's admin account (userAccountSettings, reference §2): a user with sudo rights on
// every node, for SSH. Created or updated idempotently under a root directory ("/" on a node,
// a throw-away root in tests): useradd, the SSH public key in ~/.ssh/authorized_keys (0600, the
// user's), the password hashed by the agent (yescrypt) and handed to `chpasswd -e` on its stdin:
// never in an argv, a log or a file of the agent.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/job_error.hpp"
#include "common/result.hpp"

namespace batchai {

struct AdminAccount {
  std::string user;
  std::optional<std::string> ssh_public_key;
  std::optional<std::string> password;  // secret
};

// From nodeSetup.userAccountSettings; nullopt when there is none. Errors name the field.
Result<std::optional<AdminAccount>> admin_account_from(const nlohmann::json& node_setup);

// Creates or updates the account below root. Returns what was done, or the error.
Result<std::string> ensure_admin_account(const AdminAccount& account, const std::string& root);

}  // namespace batchai
