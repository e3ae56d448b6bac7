// The minimal Microsoft.Storage provider: the accounts of --storage-accounts, listed, shown,
// "created" (bound to the resource group the create names; an account the file does not list
// cannot be made) and their keys listed (controlplane/storage_accounts.hpp).
#include "controlplane/arm_handlers.hpp"
#include "controlplane/names.hpp"

namespace batchai::cp {

using nlohmann::json;

namespace {

// The group the account is in: where it was created, else where the file puts it; "" when
// neither (the account is not shown until it is created).
std::string group_of(const State& s, const StorageAccount& a) {
  auto it = s.storage_account_groups.find(a.name);
  return it != s.storage_account_groups.end() ? it->second : a.resource_group;
}

json account_view(const StorageAccount& a, const std::string& group) {
  json endpoints = json::object();
  if (!a.blob_endpoint.empty()) endpoints["blob"] = a.blob_endpoint;
  if (!a.file_endpoint.empty()) endpoints["file"] = a.file_endpoint;
  return {
      {"id", group_resource_id(group) + "/providers/Microsoft.Storage/storageAccounts/" + a.name},
      {"name", a.name},
      {"type", "Microsoft.Storage/storageAccounts"},
      {"location", a.location},
      {"kind", "StorageV2"},
      {"sku", {{"name", "Standard_LRS"}, {"tier", "Standard"}}},
      {"tags", json::object()},
      {"properties",
       {{"provisioningState", "Succeeded"},
        {"primaryEndpoints", endpoints},
        {"primaryLocation", a.location},
        {"statusOfPrimary", "available"}}}};
}

const StorageAccount* find_account(const ServerContext& ctx, const std::string& name) {
  return ctx.storage_accounts ? ctx.storage_accounts->find(name) : nullptr;
}

ApiError account_not_found(const std::string& name) {
  return resource_not_found("Microsoft.Storage/storageAccounts/" + name);
}

// The account of the path, if it is in the path's group.
const StorageAccount* account_in_group(const ServerContext& ctx, const ArmRequest& req) {
  const auto* a = find_account(ctx, req.path.name_of("storageaccounts"));
  if (!a) return nullptr;
  const std::string group = ctx.store.read([&](const State& s) { return group_of(s, *a); });
  return lower_ascii(group) == lower_ascii(req.path.resource_group.value_or("")) && !group.empty()
             ? a
             : nullptr;
}

}  // namespace

void arm_list_storage_accounts(const ServerContext& ctx, const ArmRequest& req,
                               httplib::Response& res) {
  json list = json::array();
  if (ctx.storage_accounts) {
    ctx.store.read([&](const State& s) {
      for (const auto& a : ctx.storage_accounts->all()) {
        const std::string group = group_of(s, a);
        if (group.empty()) continue;
        if (req.path.resource_group &&
            lower_ascii(group) != lower_ascii(*req.path.resource_group)) {
          continue;
        }
        list.push_back(account_view(a, group));
      }
      return 0;
    });
  }
  send_list(ctx, req, res, list);
}

void arm_get_storage_account(const ServerContext& ctx, const ArmRequest& req,
                             httplib::Response& res) {
  const auto* a = account_in_group(ctx, req);
  if (!a) return send_error(res, account_not_found(req.path.name_of("storageaccounts")));
  send_json(res, 200, account_view(*a, *req.path.resource_group));
}

void arm_put_storage_account(const ServerContext& ctx, const ArmRequest& req,
                             httplib::Response& res) {
  const std::string& name = req.path.name_of("storageaccounts");
  if (!req.path.resource_group) return send_error(res, account_not_found(name));
  const auto* a = find_account(ctx, name);
  if (!a) {
    return send_error(res, bad_request("StorageAccountNotOffered",
                                       "this control plane offers only the storage accounts its "
                                       "--storage-accounts file lists, and " +
                                           name.substr(0, 64) + " is not one of them"));
  }
  const std::string& group = *req.path.resource_group;
  std::optional<ApiError> error;
  auto saved = ctx.store.modify([&](State& s, Events& events) {
    if (!s.resource_groups.count(lower_ascii(group))) {
      error =
          not_found("ResourceGroupNotFound", "Resource group '" + group + "' could not be found.");
      return false;
    }
    const std::string current = group_of(s, *a);
    if (!current.empty() && lower_ascii(current) != lower_ascii(group)) {
      error = conflict("StorageAccountAlreadyTaken", "The storage account named " + name +
                                                         " is already taken (it is in "
                                                         "the resource group " +
                                                         current + ").");
      return false;
    }
    if (current == group) return false;
    s.storage_account_groups[name] = group;
    events.push_back("storage account " + name + ": created in " + group);
    return true;
  });
  if (error) return send_error(res, *error);
  if (!saved) return send_not_saved(res);
  send_json(res, 200, account_view(*a, group));
}

void arm_list_storage_keys(const ServerContext& ctx, const ArmRequest& req,
                           httplib::Response& res) {
  const auto* a = account_in_group(ctx, req);
  if (!a) return send_error(res, account_not_found(req.path.name_of("storageaccounts")));
  send_json(
      res, 200,
      {{"keys", json::array({{{"keyName", "key1"}, {"value", a->key}, {"permissions", "FULL"}}})}});
}

void arm_check_storage_name(const ServerContext& ctx, const ArmRequest& req,
                            httplib::Response& res) {
  auto body = body_object(req.http);
  if (auto* e = std::get_if<ApiError>(&body)) return send_error(res, *e);
  const json& b = std::get<json>(body);
  const std::string name =
      b.contains("name") && b["name"].is_string() ? b["name"].get<std::string>() : "";
  if (!is_valid_storage_account_name(name)) {
    return send_json(res, 200,
                     {{"nameAvailable", false},
                      {"reason", "AccountNameInvalid"},
                      {"message",
                       "a storage account name is 3 to 24 lower-case "
                       "letters and digits"}});
  }
  const auto* a = find_account(ctx, name);
  const bool free = a && ctx.store.read([&](const State& s) { return group_of(s, *a).empty(); });
  send_json(res, 200,
            {{"nameAvailable", free},
             {"reason", free ? "" : "AlreadyExists"},
             {"message", free ? "" : "this control plane cannot make that account"}});
}

}  // namespace batchai::cp
