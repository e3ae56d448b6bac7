// A path of the resource-manager API, split into what it names:
//   /subscriptions[/{sub}[/resourceGroups[/{rg}]][/providers/{namespace}/{type}/{name}/...]]
// Keywords and types are matched case-insensitively (az writes /resourcegroups/, the SDK
// /resourceGroups/; Azure accepts both) and returned lower case; names keep their case. Empty
// segments (a doubled slash from a base URL with a trailing slash) are skipped.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace batchai::cp {

struct ArmPath {
  std::optional<std::string> subscription;    // none: /subscriptions itself
  bool groups = false;                        // .../resourceGroups[/{rg}]
  std::optional<std::string> resource_group;  // the group named
  std::string provider;                       // lower case, e.g. "microsoft.batchai"; "" if none
  // (type, name) pairs below the provider, types lower case: [("workspaces", "ws"), ...].
  std::vector<std::pair<std::string, std::string>> resources;
  // A last segment without a name: a collection (GET .../jobs) or an action (POST .../terminate),
  // lower case; "" when the path ends with a name.
  std::string tail;

  // The kind of what the path names: the provider and types joined by '/', then ":" and the
  // tail when there is one, e.g. "microsoft.batchai/workspaces/experiments:jobs".
  std::string kind() const;
  // The name of the resource of that type in the path ("" when absent).
  const std::string& name_of(std::string_view type) const;
};

inline constexpr std::size_t kMaxArmPathBytes = 2048;
inline constexpr std::size_t kMaxArmSegments = 24;

// None when the path is not of that shape (too long, a segment missing, an odd keyword).
std::optional<ArmPath> parse_arm_path(std::string_view path);

std::string lower_ascii(std::string_view text);

}  // namespace batchai::cp
