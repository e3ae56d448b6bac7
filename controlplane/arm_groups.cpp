// Subscriptions and resource groups (Microsoft.Resources): the one subscription this control
// plane serves, and the groups that Batch AI's workspaces live in.
#include "common/time.hpp"
#include "controlplane/arm_handlers.hpp"
#include "controlplane/names.hpp"
#include "controlplane/workspaces.hpp"

namespace batchai::cp {

using nlohmann::json;

namespace {

json subscription_view() {
  return {{"id", std::string("/subscriptions/") + kSubscription},
          {"subscriptionId", kSubscription},
          {"tenantId", kTenant},
          {"displayName", "batchai-agent local control plane"},
          {"state", "Enabled"},
          {"subscriptionPolicies",
           {{"locationPlacementId", "Public_2014-09-01"},
            {"quotaId", "Local"},
            {"spendingLimit", "Off"}}},
          {"authorizationSource", "RoleBased"}};
}

json group_view(const ResourceGroupRecord& g) {
  return {{"id", group_resource_id(g.name)},
          {"name", g.name},
          {"type", "Microsoft.Resources/resourceGroups"},
          {"location", g.location},
          {"tags", g.tags},
          {"properties", {{"provisioningState", "Succeeded"}}}};
}

// Locations: a short word, as Azure's (eastus, westeurope, local).
bool is_valid_location(const std::string& l) {
  if (l.empty() || l.size() > 64) return false;
  for (char c : l) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == ' ' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::optional<ApiError> check_location_and_tags(const json& body, bool location_required) {
  if (body.contains("location") || location_required) {
    if (!body.contains("location") || !body["location"].is_string() ||
        !is_valid_location(body["location"].get<std::string>())) {
      return bad_request("InvalidRequestContent",
                         "location: must be a location name (1 to 64 letters, digits, '-', ' ')");
    }
  }
  if (body.contains("tags") && !body["tags"].is_null()) {
    const json& tags = body["tags"];
    if (!tags.is_object() || tags.size() > 50) {
      return bad_request("InvalidRequestContent", "tags: must be an object of at most 50 tags");
    }
    for (const auto& [key, value] : tags.items()) {
      if (key.size() > 512 || !value.is_string() || value.get<std::string>().size() > 256) {
        return bad_request("InvalidRequestContent",
                           "tags: a name is at most 512 characters, a value a string of at "
                           "most 256");
      }
    }
  }
  return std::nullopt;
}

void arm_list_subscriptions(const ServerContext& ctx, const ArmRequest& req,
                            httplib::Response& res) {
  send_list(ctx, req, res, json::array({subscription_view()}));
}

void arm_get_subscription(const ServerContext&, const ArmRequest&, httplib::Response& res) {
  send_json(res, 200, subscription_view());
}

void arm_list_groups(const ServerContext& ctx, const ArmRequest& req, httplib::Response& res) {
  auto groups = ctx.store.read([](const State& s) {
    json out = json::array();
    for (const auto& [key, g] : s.resource_groups) out.push_back(group_view(g));
    return out;
  });
  send_list(ctx, req, res, groups);
}

void arm_get_group(const ServerContext& ctx, const ArmRequest& req, httplib::Response& res) {
  const std::string key = lower_ascii(*req.path.resource_group);
  auto view = ctx.store.read([&](const State& s) -> std::optional<json> {
    auto it = s.resource_groups.find(key);
    if (it == s.resource_groups.end()) return std::nullopt;
    return group_view(it->second);
  });
  if (!view) {
    return send_error(
        res, not_found("ResourceGroupNotFound",
                       "Resource group '" + *req.path.resource_group + "' could not be found."));
  }
  // HEAD (az group exists) is answered 204 as Azure does, with no body.
  if (req.http.method == "HEAD") return send_no_content(res);
  send_json(res, 200, *view);
}

void arm_put_group(const ServerContext& ctx, const ArmRequest& req, httplib::Response& res) {
  auto body = body_object(req.http);
  if (auto* e = std::get_if<ApiError>(&body)) return send_error(res, *e);
  const json& b = std::get<json>(body);
  const bool patch = req.http.method == "PATCH";
  if (auto e = check_location_and_tags(b, !patch)) return send_error(res, *e);
  const std::string& name = *req.path.resource_group;
  const std::string key = lower_ascii(name);
  bool created = false;
  bool missing = false;
  bool full = false;
  json view;
  auto saved = ctx.store.modify([&](State& s, Events& events) {
    auto it = s.resource_groups.find(key);
    if (it == s.resource_groups.end()) {
      if (patch) return !(missing = true);
      if (s.resource_groups.size() >= kMaxArmObjects) return !(full = true);
      created = true;
      it = s.resource_groups.emplace(key, ResourceGroupRecord{name, "", nullptr, wall_ms()}).first;
      events.push_back("resource group " + name + ": created");
    }
    if (b.contains("location")) it->second.location = b["location"].get<std::string>();
    if (b.contains("tags")) it->second.tags = b["tags"];
    view = group_view(it->second);
    return true;
  });
  if (full) return send_error(res, quota_exceeded("resource groups"));
  if (missing) {
    return send_error(res, not_found("ResourceGroupNotFound",
                                     "Resource group '" + name + "' could not be found."));
  }
  if (!saved) return send_not_saved(res);
  send_json(res, created ? 201 : 200, view);
}

void arm_delete_group(const ServerContext& ctx, const ArmRequest& req, httplib::Response& res) {
  const std::string key = lower_ascii(*req.path.resource_group);
  bool found = false;
  auto saved = ctx.store.modify([&](State& s, Events& events) {
    found = s.resource_groups.count(key) != 0;
    if (found) delete_group(s, key, wall_ms(), events);
    return found;
  });
  if (!found) {
    return send_error(
        res, not_found("ResourceGroupNotFound",
                       "Resource group '" + *req.path.resource_group + "' could not be found."));
  }
  if (!saved) return send_not_saved(res);
  res.status = 200;
}

}  // namespace batchai::cp
