#include "controlplane/arm_path.hpp"

#include "common/fs.hpp"

namespace batchai::cp {

std::string lower_ascii(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string ArmPath::kind() const {
  std::string out = provider;
  for (const auto& [type, name] : resources) out += "/" + type;
  if (!tail.empty()) out += ":" + tail;
  return out;
}

const std::string& ArmPath::name_of(std::string_view type) const {
  static const std::string kNone;
  for (const auto& [t, name] : resources) {
    if (t == type) return name;
  }
  return kNone;
}

std::optional<ArmPath> parse_arm_path(std::string_view path) {
  if (path.size() > kMaxArmPathBytes) return std::nullopt;
  const auto seg = split_path(path);
  if (seg.empty() || seg.size() > kMaxArmSegments || lower_ascii(seg[0]) != "subscriptions") {
    return std::nullopt;
  }
  ArmPath p;
  std::size_t i = 1;
  if (i < seg.size()) p.subscription = seg[i++];
  if (i < seg.size() && lower_ascii(seg[i]) == "resourcegroups") {
    p.groups = true;
    ++i;
    if (i < seg.size()) p.resource_group = seg[i++];
  }
  if (i == seg.size()) return p;
  if (lower_ascii(seg[i]) != "providers" || i + 1 >= seg.size()) return std::nullopt;
  // .../resourceGroups/providers/... names no group: not a path.
  if (p.groups && !p.resource_group) return std::nullopt;
  p.provider = lower_ascii(seg[i + 1]);
  for (i += 2; i < seg.size(); i += 2) {
    if (i + 1 == seg.size()) {
      p.tail = lower_ascii(seg[i]);
    } else {
      p.resources.emplace_back(lower_ascii(seg[i]), seg[i + 1]);
    }
  }
  return p;
}

}  // namespace batchai::cp
